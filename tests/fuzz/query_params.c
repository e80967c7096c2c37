// SPDX-License-Identifier: MIT
/*
 * Fuzz target: bytes -> qx_parse_params_json (query/exec.h), the /query
 * `params` value.  Any input must parse or fail with ERR_PARSE/ERR_LIMIT and
 * a message, never crash, leak or overrun.  When it returns 0 every param
 * must be well-formed (iql.h): a known kind, readable name and text, names
 * unique (a repeated key replaces the earlier one), at most 4096 params, a
 * bool's text "true" or "false", an error's text a message.  The params are
 * then bound into a small query through iql_parse, which must not crash
 * either.  The input is copied to a buffer of exactly its size so any
 * over-read is caught.  One arena per input, freed at the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/exec.h"
#include "query/iql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

/* Touches every byte so ASan sees a view that points outside its memory. */
static void touch(struct sv s)
{
    if (s.n && !s.p)
        abort();
    for (size_t i = 0; i < s.n; i++)
        sink += (unsigned char)s.p[i];
}

static bool plain_name(struct sv s)
{
    if (s.n == 0 || s.n > 32)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static void bind_into_query(const struct iql_params *ps)
{
    struct buf q;
    buf_init(&q, 0);
    size_t used = 0;
    for (size_t i = 0; i < ps->n && used < 8; i++) {
        if (!plain_name(ps->v[i].name))
            continue;
        const struct sv nm = ps->v[i].name;
        (void)buf_appendf(&q, "SELECT $%.*s FROM m WHERE x = $%.*s GROUP BY time($%.*s);",
                          SV_FMT(nm), SV_FMT(nm), SV_FMT(nm));
        (void)buf_appendf(&q, "SELECT v FROM $%.*s WHERE t =~ $%.*s;", SV_FMT(nm), SV_FMT(nm));
        used++;
    }
    if (used) {
        struct arena a;
        arena_init(&a, 0, 0);
        struct iql_query *out = NULL;
        struct err e = { 0 };
        (void)iql_parse(q.p, q.len, ps, &a, &out, &e, NULL);
        arena_fini(&a);
    }
    buf_fini(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (!p)
        abort();
    memcpy(p, data, size);
    struct arena a;
    arena_init(&a, 0, 0);
    struct iql_params ps;
    struct err e = { 0 };
    int rc = qx_parse_params_json(sv_make(p, size), &a, &ps, &e);
    if (rc != 0) {
        if (rc != ERR_PARSE && rc != ERR_LIMIT) {
            fprintf(stderr, "unexpected rc %d\n", rc);
            abort();
        }
        if (!e.msg[0]) {
            fprintf(stderr, "error without a message\n");
            abort();
        }
    } else {
        if (ps.n > 4096 || (ps.n && !ps.v))
            abort();
        for (size_t i = 0; i < ps.n; i++) {
            const struct iql_param *q = &ps.v[i];
            touch(q->name);
            touch(q->text);
            if ((unsigned)q->kind > (unsigned)IQL_PARAM_ERROR) {
                fprintf(stderr, "param %zu: kind %d\n", i, (int)q->kind);
                abort();
            }
            if (q->kind == IQL_PARAM_BOOL && !sv_eq_cstr(q->text, "true") &&
                !sv_eq_cstr(q->text, "false")) {
                fprintf(stderr, "param %zu: bool text %.*s\n", i, SV_FMT(q->text));
                abort();
            }
            if (q->kind == IQL_PARAM_ERROR && q->text.n == 0) {
                fprintf(stderr, "param %zu: error without text\n", i);
                abort();
            }
            for (size_t k = 0; k < i; k++)
                if (sv_eq(ps.v[k].name, q->name)) {
                    fprintf(stderr, "params %zu and %zu: same name\n", k, i);
                    abort();
                }
        }
        bind_into_query(&ps);
    }
    arena_fini(&a);
    free(p);
    return 0;
}
