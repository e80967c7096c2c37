// SPDX-License-Identifier: MIT
/*
 * Fuzz target: bytes -> iql_parse.  Any input must parse or fail with a
 * message, never crash, leak or overrun.  A parsed query is rendered,
 * re-parsed and rendered again: the two renderings must be identical,
 * except where InfluxDB's own rendering is not re-parseable (redacted
 * passwords, bare DISTINCT names, function names and SHOW MEASUREMENTS ON
 * databases written without the quotes they need, %v floats in fill(), Go
 * durations in CREATE DATABASE, empty measurement names, INTO ""); then
 * re-parsing may fail but must still not crash.  SELECT statements also go through
 * iql_select_check().  One arena per input, freed at the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/iql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool lossy(const char *t)
{
    return strstr(t, "[REDACTED]") || strstr(t, "DISTINCT ") ||
           (strstr(t, "fill(") && (strstr(t, "e+") || strstr(t, "e-"))) ||
           (strncmp(t, "CREATE DATABASE", 15) == 0 && (strchr(t, '.') || strstr(t, "\xc2\xb5")));
}

static bool lossy_sources(const struct iql_source *src, size_t n);

/* Names InfluxDB writes without quoting are lossy when they need quotes. */
static bool needs_quotes(struct sv name)
{
    struct iql_expr ref = { .kind = IQL_EXPR_VARREF };
    ref.ref.name = name;
    struct buf b;
    buf_init(&b, 0);
    bool q = iql_render_expr(&b, &ref) != 0 || !b.p || b.p[0] == '"';
    buf_fini(&b);
    return q;
}

static bool lossy_expr(const struct iql_expr *x)
{
    if (!x)
        return false;
    switch (x->kind) {
    case IQL_EXPR_CALL:
        if (needs_quotes(x->call.name))
            return true;
        for (size_t i = 0; i < x->call.nargs; i++)
            if (lossy_expr(x->call.args[i]))
                return true;
        return false;
    case IQL_EXPR_BINARY:
        return lossy_expr(x->bin.lhs) || lossy_expr(x->bin.rhs);
    case IQL_EXPR_PAREN:
        return lossy_expr(x->paren);
    default:
        return false;
    }
}

static bool lossy_select(const struct iql_select *s)
{
    if (s->into && s->into->name.n == 0 && !s->into_all_measurements)
        return true;
    for (size_t i = 0; i < s->nfields; i++)
        if (lossy_expr(s->fields[i].expr))
            return true;
    for (size_t i = 0; i < s->ndims; i++)
        if (lossy_expr(s->dims[i]))
            return true;
    return lossy_expr(s->cond) || lossy_sources(s->sources, s->nsources);
}

/* A measurement with an empty name and no regex renders as nothing. */
static bool lossy_sources(const struct iql_source *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (src[i].kind == IQL_SRC_SUBQUERY) {
            if (lossy_select(src[i].sub))
                return true;
        } else if (src[i].m.name.n == 0 && !src[i].m.is_regex) {
            return true;
        }
    }
    return false;
}

static bool lossy_ast(const struct iql_query *q)
{
    for (size_t i = 0; i < q->nstmts; i++) {
        const struct iql_stmt *st = q->stmts[i];
        if (st->select && lossy_select(st->select))
            return true;
        if (lossy_expr(st->show.cond))
            return true;
        for (size_t k = 0; k < st->show.ndims; k++)
            if (lossy_expr(st->show.dims[k]))
                return true;
        if (lossy_sources(st->show.sources, st->show.nsources) ||
            (st->show.with_measurement && lossy_sources(st->show.with_measurement, 1)))
            return true;
        /* Go writes SHOW MEASUREMENTS ON <db> without quoting the name. */
        if (st->kind == IQL_STMT_SHOW_MEASUREMENTS && st->show.db.n && needs_quotes(st->show.db))
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    struct arena a;
    arena_init(&a, 0, 64u << 20);
    struct iql_query *q = NULL;
    struct err e;
    struct buf r1, r2, msg;
    buf_init(&r1, 0);
    buf_init(&r2, 0);
    buf_init(&msg, 0);
    int rc = iql_parse((const char *)data, size, NULL, &a, &q, &e, &msg);
    if (rc == 0) {
        for (size_t i = 0; i < q->nstmts; i++) {
            struct err ce;
            if (q->stmts[i]->select)
                (void)iql_select_check(q->stmts[i]->select, &ce);
        }
        if (iql_render_query(&r1, q) != 0)
            abort();
        struct iql_query *q2 = NULL;
        int rc2 = iql_parse(r1.p ? r1.p : "", r1.len, NULL, &a, &q2, &e, &msg);
        bool lossy_text = (r1.p && lossy(r1.p)) || lossy_ast(q);
        if (rc2 != 0 && !lossy_text)
            abort();
        if (rc2 == 0) {
            if (iql_render_query(&r2, q2) != 0)
                abort();
            if (!lossy_text && (r1.len != r2.len || (r1.len && memcmp(r1.p, r2.p, r1.len))))
                abort();
        }
    } else if (rc == ERR_PARSE && (msg.len == 0 || e.msg[0] == '\0')) {
        abort(); /* every parse error has a message */
    }
    buf_fini(&r1);
    buf_fini(&r2);
    buf_fini(&msg);
    arena_fini(&a);
    return 0;
}
