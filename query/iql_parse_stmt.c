// SPDX-License-Identifier: MIT
/*
 * InfluxQL parser, part 2: statement dispatch and every statement other
 * than SELECT.
 *
 * Dispatch is a keyword tree (SHOW -> TAG -> VALUES ...).  When a keyword is
 * missing, the error lists the keywords accepted at that point in the order
 * influxd 1.6 lists them, e.g. "found foo, expected CONTINUOUS, DATABASE,
 * USER, RETENTION, SUBSCRIPTION".  Clause order inside each statement is
 * fixed, as in InfluxDB: SHOW TAG VALUES ON db FROM m WITH KEY ... WHERE ...
 * ORDER BY ... LIMIT ... OFFSET ....
 *
 * CREATE CONTINUOUS QUERY checks what influxd checks at parse time: an INTO
 * clause, GROUP BY time(...) for aggregates, and RESAMPLE FOR not shorter
 * than the interval.
 */
#include <string.h>

#include "query/iql_int.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct iql_stmt *new_stmt(struct iql_parser *p, enum iql_stmt_kind k)
{
    struct iql_stmt *s = arena_try_alloc(p->a, sizeof *s);
    if (!s) {
        iql__nomem(p);
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->kind = k;
    s->name = sv_make("", 0);
    s->show.db = s->show.module = sv_make("", 0);
    s->rp.name = s->rp.db = sv_make("", 0);
    s->user.name = s->user.password = s->user.db = sv_make("", 0);
    s->kill.host = sv_make("", 0);
    return s;
}

/* Reads the next keyword and returns it if it is one of want[], otherwise
 * reports "found X, expected <names>" and returns T_ILLEGAL. */
static enum iql_tok expect_one(struct iql_parser *p, const enum iql_tok *want, size_t n)
{
    struct iql_token t = iql__next_ws(p);
    for (size_t i = 0; i < n; i++)
        if (t.tok == want[i])
            return t.tok;
    const char *names[20];
    for (size_t i = 0; i < n && i < N(names); i++)
        names[i] = iql__tok_name(want[i]);
    iql__err_expected(p, t, names, n < N(names) ? n : N(names));
    return T_ILLEGAL;
}

static bool accept(struct iql_parser *p, enum iql_tok tok)
{
    if (iql__next_ws(p).tok == tok)
        return true;
    iql__unscan(p);
    return false;
}

static int opt_on_db(struct iql_parser *p, struct sv *db)
{
    if (accept(p, T_ON))
        return iql__parse_ident(p, db);
    return 0;
}

static int opt_from(struct iql_parser *p, struct iql_show *sh)
{
    if (accept(p, T_FROM))
        return iql__parse_sources(p, false, &sh->sources, &sh->nsources);
    return 0;
}

static int limit_offset(struct iql_parser *p, struct iql_show *sh)
{
    if (iql__parse_opt_int(p, T_LIMIT, &sh->limit) ||
        iql__parse_opt_int(p, T_OFFSET, &sh->offset))
        return p->rc;
    return 0;
}

/* SHOW {MEASUREMENT|SERIES|TAG KEY|TAG VALUES|FIELD KEY} [EXACT] CARDINALITY
 * [ON db] [FROM ...] [WITH KEY ...] [WHERE ...] [GROUP BY ...] [LIMIT] [OFFSET];
 * the keywords up to CARDINALITY are consumed. */
static int cardinality_tail(struct iql_parser *p, struct iql_stmt *s, bool tag_values);

static int parse_tag_key_expr(struct iql_parser *p, struct iql_show *sh)
{
    static const enum iql_tok wk[] = { T_WITH, T_KEY };
    if (iql__parse_tokens(p, wk, 2))
        return p->rc;
    struct iql_token t = iql__next_ws(p);
    if (t.tok == T_IN) {
        struct iql_token t1 = iql__next_ws(p);
        if (t1.tok != T_LPAREN)
            return iql__err_expected1(p, t1, "(");
        struct iql_expr *x = arena_try_alloc(p->a, sizeof *x);
        if (!x)
            return iql__nomem(p);
        memset(x, 0, sizeof *x);
        x->kind = IQL_EXPR_LIST;
        size_t cap = 0;
        for (;;) {
            struct sv id;
            if (iql__parse_ident(p, &id))
                return p->rc;
            if (x->list.n == cap) {
                size_t ncap = cap ? cap * 2 : 4;
                struct sv *nv = arena_try_alloc(p->a, ncap * sizeof *nv);
                if (!nv)
                    return iql__nomem(p);
                if (x->list.n)
                    memcpy(nv, x->list.vals, x->list.n * sizeof *nv);
                x->list.vals = nv;
                cap = ncap;
            }
            x->list.vals[x->list.n++] = id;
            if (!accept(p, T_COMMA))
                break;
        }
        t1 = iql__next_ws(p);
        if (t1.tok != T_RPAREN)
            return iql__err_expected1(p, t1, ")");
        sh->key_op = IQL_OP_IN;
        sh->key_expr = x;
        return 0;
    }
    if (t.tok == T_EQ || t.tok == T_NEQ) {
        struct sv id;
        if (iql__parse_ident(p, &id))
            return p->rc;
        struct iql_expr *x = arena_try_alloc(p->a, sizeof *x);
        if (!x)
            return iql__nomem(p);
        memset(x, 0, sizeof *x);
        x->kind = IQL_EXPR_STRING;
        x->str = id;
        sh->key_op = iql__tok_op(t.tok);
        sh->key_expr = x;
        return 0;
    }
    if (t.tok == T_EQREGEX || t.tok == T_NEQREGEX) {
        struct iql_expr *re;
        if (iql__parse_regex(p, &re))
            return p->rc;
        if (!re) {
            struct iql_token t1 = iql__next_ws(p);
            return iql__err_expected1(p, t1, "regex");
        }
        sh->key_op = iql__tok_op(t.tok);
        sh->key_expr = re;
        return 0;
    }
    static const char *const exp[] = { "IN", "=", "=~" };
    return iql__err_expected(p, t, exp, 3);
}

static int cardinality_tail(struct iql_parser *p, struct iql_stmt *s, bool tag_values)
{
    struct iql_show *sh = &s->show;
    if (opt_on_db(p, &sh->db) || opt_from(p, sh))
        return p->rc;
    if (tag_values && parse_tag_key_expr(p, sh))
        return p->rc;
    if (iql__parse_condition(p, &sh->cond) ||
        iql__parse_dimensions(p, &sh->dims, &sh->ndims) || limit_offset(p, sh))
        return p->rc;
    return 0;
}

/* After "SHOW TAG KEY" / "SHOW FIELD KEY": [EXACT] CARDINALITY. */
static int key_cardinality(struct iql_parser *p, enum iql_stmt_kind k, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, k);
    if (!s)
        return p->rc;
    static const char *const both[] = { "EXACT", "CARDINALITY" };
    size_t skip = 0;
    if (accept(p, T_EXACT)) {
        s->show.exact = true;
        skip = 1;
    }
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_CARDINALITY)
        return iql__err_expected(p, t, both + skip, 2 - skip);
    if (cardinality_tail(p, s, false))
        return p->rc;
    *out = s;
    return 0;
}

static int show_series(struct iql_parser *p, struct iql_stmt **out)
{
    bool exact = accept(p, T_EXACT);
    if (accept(p, T_CARDINALITY)) {
        struct iql_stmt *s = new_stmt(p, IQL_STMT_SHOW_SERIES_CARDINALITY);
        if (!s)
            return p->rc;
        s->show.exact = exact;
        if (cardinality_tail(p, s, false))
            return p->rc;
        *out = s;
        return 0;
    }
    struct iql_stmt *s = new_stmt(p, IQL_STMT_SHOW_SERIES);
    if (!s)
        return p->rc;
    struct iql_show *sh = &s->show;
    if (opt_on_db(p, &sh->db) || opt_from(p, sh) || iql__parse_condition(p, &sh->cond) ||
        iql__parse_order_by(p, &sh->sort, &sh->nsort) || limit_offset(p, sh))
        return p->rc;
    *out = s;
    return 0;
}

static int show_measurements(struct iql_parser *p, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, IQL_STMT_SHOW_MEASUREMENTS);
    if (!s)
        return p->rc;
    struct iql_show *sh = &s->show;
    if (opt_on_db(p, &sh->db))
        return p->rc;
    if (accept(p, T_WITH)) {
        static const enum iql_tok m[] = { T_MEASUREMENT };
        if (iql__parse_tokens(p, m, 1))
            return p->rc;
        struct iql_token t = iql__next_ws(p);
        if (t.tok != T_EQ && t.tok != T_EQREGEX) {
            static const char *const exp[] = { "=", "=~" };
            return iql__err_expected(p, t, exp, 2);
        }
        sh->with_measurement = arena_try_alloc(p->a, sizeof *sh->with_measurement);
        if (!sh->with_measurement)
            return iql__nomem(p);
        memset(sh->with_measurement, 0, sizeof *sh->with_measurement);
        if (iql__parse_source(p, false, sh->with_measurement))
            return p->rc;
    }
    if (iql__parse_condition(p, &sh->cond) || iql__parse_order_by(p, &sh->sort, &sh->nsort) ||
        limit_offset(p, sh))
        return p->rc;
    *out = s;
    return 0;
}

static int show_tag_keys(struct iql_parser *p, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, IQL_STMT_SHOW_TAG_KEYS);
    if (!s)
        return p->rc;
    struct iql_show *sh = &s->show;
    if (opt_on_db(p, &sh->db) || opt_from(p, sh) || iql__parse_condition(p, &sh->cond) ||
        iql__parse_order_by(p, &sh->sort, &sh->nsort) || limit_offset(p, sh) ||
        iql__parse_opt_int(p, T_SLIMIT, &sh->slimit) ||
        iql__parse_opt_int(p, T_SOFFSET, &sh->soffset))
        return p->rc;
    *out = s;
    return 0;
}

static int show_tag_values(struct iql_parser *p, struct iql_stmt **out)
{
    struct iql_token t = iql__next_ws(p);
    if (t.tok == T_EXACT || t.tok == T_CARDINALITY) {
        struct iql_stmt *s = new_stmt(p, IQL_STMT_SHOW_TAG_VALUES_CARDINALITY);
        if (!s)
            return p->rc;
        if (t.tok == T_EXACT) {
            s->show.exact = true;
            struct iql_token t1 = iql__next_ws(p);
            if (t1.tok != T_CARDINALITY)
                return iql__err_expected1(p, t1, "CARDINALITY");
        }
        if (cardinality_tail(p, s, true))
            return p->rc;
        *out = s;
        return 0;
    }
    iql__unscan(p);
    struct iql_stmt *s = new_stmt(p, IQL_STMT_SHOW_TAG_VALUES);
    if (!s)
        return p->rc;
    struct iql_show *sh = &s->show;
    if (opt_on_db(p, &sh->db) || opt_from(p, sh) || parse_tag_key_expr(p, sh) ||
        iql__parse_condition(p, &sh->cond) || iql__parse_order_by(p, &sh->sort, &sh->nsort) ||
        limit_offset(p, sh))
        return p->rc;
    *out = s;
    return 0;
}

static int show_field_keys(struct iql_parser *p, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, IQL_STMT_SHOW_FIELD_KEYS);
    if (!s)
        return p->rc;
    struct iql_show *sh = &s->show;
    if (opt_on_db(p, &sh->db) || opt_from(p, sh) ||
        iql__parse_order_by(p, &sh->sort, &sh->nsort) || limit_offset(p, sh))
        return p->rc;
    *out = s;
    return 0;
}

static int simple(struct iql_parser *p, enum iql_stmt_kind k, struct iql_stmt **out)
{
    *out = new_stmt(p, k);
    return p->rc;
}

static int opt_for_module(struct iql_parser *p, enum iql_stmt_kind k, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, k);
    if (!s)
        return p->rc;
    if (accept(p, T_FOR) && iql__parse_string(p, &s->show.module))
        return p->rc;
    *out = s;
    return 0;
}

static int parse_show(struct iql_parser *p, struct iql_stmt **out)
{
    static const enum iql_tok kids[] = {
        T_CONTINUOUS, T_DATABASES, T_DIAGNOSTICS, T_FIELD, T_GRANTS, T_MEASUREMENT,
        T_MEASUREMENTS, T_QUERIES, T_RETENTION, T_SERIES, T_SHARD, T_SHARDS, T_STATS,
        T_SUBSCRIPTIONS, T_TAG, T_USERS,
    };
    switch (expect_one(p, kids, N(kids))) {
    case T_CONTINUOUS: {
        static const enum iql_tok q[] = { T_QUERIES };
        if (expect_one(p, q, 1) == T_ILLEGAL)
            return p->rc;
        return simple(p, IQL_STMT_SHOW_CONTINUOUS_QUERIES, out);
    }
    case T_DATABASES:
        return simple(p, IQL_STMT_SHOW_DATABASES, out);
    case T_DIAGNOSTICS:
        return opt_for_module(p, IQL_STMT_SHOW_DIAGNOSTICS, out);
    case T_FIELD: {
        static const enum iql_tok k[] = { T_KEY, T_KEYS };
        switch (expect_one(p, k, N(k))) {
        case T_KEY:
            return key_cardinality(p, IQL_STMT_SHOW_FIELD_KEY_CARDINALITY, out);
        case T_KEYS:
            return show_field_keys(p, out);
        default:
            return p->rc;
        }
    }
    case T_GRANTS: {
        static const enum iql_tok f[] = { T_FOR };
        if (expect_one(p, f, 1) == T_ILLEGAL)
            return p->rc;
        struct iql_stmt *s = new_stmt(p, IQL_STMT_SHOW_GRANTS);
        if (!s || iql__parse_ident(p, &s->user.name))
            return p->rc;
        *out = s;
        return 0;
    }
    case T_MEASUREMENT: {
        static const enum iql_tok k[] = { T_EXACT, T_CARDINALITY };
        enum iql_tok t = expect_one(p, k, N(k));
        if (t == T_ILLEGAL)
            return p->rc;
        struct iql_stmt *s = new_stmt(p, IQL_STMT_SHOW_MEASUREMENT_CARDINALITY);
        if (!s)
            return p->rc;
        if (t == T_EXACT) {
            s->show.exact = true;
            struct iql_token t1 = iql__next_ws(p);
            if (t1.tok != T_CARDINALITY)
                return iql__err_expected1(p, t1, "CARDINALITY");
        }
        if (cardinality_tail(p, s, false))
            return p->rc;
        *out = s;
        return 0;
    }
    case T_MEASUREMENTS:
        return show_measurements(p, out);
    case T_QUERIES:
        return simple(p, IQL_STMT_SHOW_QUERIES, out);
    case T_RETENTION: {
        static const enum iql_tok k[] = { T_POLICIES };
        if (expect_one(p, k, 1) == T_ILLEGAL)
            return p->rc;
        struct iql_stmt *s = new_stmt(p, IQL_STMT_SHOW_RETENTION_POLICIES);
        if (!s || opt_on_db(p, &s->show.db))
            return p->rc;
        *out = s;
        return 0;
    }
    case T_SERIES:
        return show_series(p, out);
    case T_SHARD: {
        static const enum iql_tok k[] = { T_GROUPS };
        if (expect_one(p, k, 1) == T_ILLEGAL)
            return p->rc;
        return simple(p, IQL_STMT_SHOW_SHARD_GROUPS, out);
    }
    case T_SHARDS:
        return simple(p, IQL_STMT_SHOW_SHARDS, out);
    case T_STATS:
        return opt_for_module(p, IQL_STMT_SHOW_STATS, out);
    case T_SUBSCRIPTIONS:
        return simple(p, IQL_STMT_SHOW_SUBSCRIPTIONS, out);
    case T_TAG: {
        static const enum iql_tok k[] = { T_KEY, T_KEYS, T_VALUES };
        switch (expect_one(p, k, N(k))) {
        case T_KEY:
            return key_cardinality(p, IQL_STMT_SHOW_TAG_KEY_CARDINALITY, out);
        case T_KEYS:
            return show_tag_keys(p, out);
        case T_VALUES:
            return show_tag_values(p, out);
        default:
            return p->rc;
        }
    }
    case T_USERS:
        return simple(p, IQL_STMT_SHOW_USERS, out);
    default:
        return p->rc;
    }
}

static int create_database(struct iql_parser *p, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, IQL_STMT_CREATE_DATABASE);
    if (!s || iql__parse_ident(p, &s->name))
        return p->rc;
    struct iql_rp *rp = &s->rp;
    if (accept(p, T_WITH)) {
        struct iql_token t = iql__next_ws(p);
        if (t.tok != T_DURATION && t.tok != T_NAME && t.tok != T_REPLICATION &&
            t.tok != T_SHARD) {
            static const char *const exp[] = { "DURATION", "NAME", "REPLICATION", "SHARD" };
            return iql__err_expected(p, t, exp, 4);
        }
        iql__unscan(p);
        rp->is_set = true;
        if (accept(p, T_DURATION)) {
            if (iql__parse_duration_tok(p, &rp->duration_ns))
                return p->rc;
            rp->has_duration = true;
        }
        if (accept(p, T_REPLICATION)) {
            if (iql__parse_int(p, 1, INT32_MAX, &rp->replication))
                return p->rc;
            rp->has_replication = true;
        }
        if (accept(p, T_SHARD)) {
            struct iql_token t1 = iql__next_ws(p);
            if (t1.tok != T_DURATION)
                return iql__err_expected1(p, t1, "DURATION");
            if (iql__parse_duration_tok(p, &rp->shard_ns))
                return p->rc;
            rp->has_shard = true;
        }
        if (accept(p, T_NAME) && iql__parse_ident(p, &rp->name))
            return p->rc;
    }
    *out = s;
    return 0;
}

/* SHARD DURATION <d>, refusing INF; SHARD has been read. */
static int shard_duration(struct iql_parser *p, struct iql_rp *rp)
{
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_DURATION)
        return iql__err_expected1(p, t, "DURATION");
    t = iql__next_ws(p);
    if (t.tok == T_INF)
        return iql__err_at(p, t.pos, "invalid duration INF for shard duration");
    iql__unscan(p);
    if (iql__parse_duration_tok(p, &rp->shard_ns))
        return p->rc;
    rp->has_shard = true;
    return 0;
}

static int create_rp(struct iql_parser *p, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, IQL_STMT_CREATE_RETENTION_POLICY);
    struct iql_rp *rp = s ? &s->rp : NULL;
    if (!s || iql__parse_ident(p, &rp->name))
        return p->rc;
    static const enum iql_tok on[] = { T_ON }, dur[] = { T_DURATION }, rep[] = { T_REPLICATION };
    if (expect_one(p, on, 1) == T_ILLEGAL || iql__parse_ident(p, &rp->db) ||
        expect_one(p, dur, 1) == T_ILLEGAL || iql__parse_duration_tok(p, &rp->duration_ns) ||
        expect_one(p, rep, 1) == T_ILLEGAL ||
        iql__parse_int(p, 1, INT32_MAX, &rp->replication))
        return p->rc;
    rp->is_set = rp->has_duration = rp->has_replication = true;
    if (accept(p, T_SHARD) && shard_duration(p, rp))
        return p->rc;
    if (accept(p, T_DEFAULT))
        rp->is_default = true;
    *out = s;
    return 0;
}

static int alter_rp(struct iql_parser *p, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, IQL_STMT_ALTER_RETENTION_POLICY);
    if (!s)
        return p->rc;
    struct iql_rp *rp = &s->rp;
    struct iql_token t = iql__next_ws(p);
    if (t.tok == T_DEFAULT)
        rp->name = sv_make("default", 7);
    else if (t.tok == T_IDENT)
        rp->name = t.lit;
    else
        return iql__err_expected1(p, t, "identifier");
    static const enum iql_tok on[] = { T_ON };
    if (expect_one(p, on, 1) == T_ILLEGAL || iql__parse_ident(p, &rp->db))
        return p->rc;
    bool seen_dur = false, seen_rep = false, seen_shard = false, seen_def = false;
    for (int k = 0;; k++) {
        t = iql__next_ws(p);
        bool *seen = t.tok == T_DURATION ? &seen_dur : t.tok == T_REPLICATION ? &seen_rep
                   : t.tok == T_SHARD ? &seen_shard : t.tok == T_DEFAULT ? &seen_def : NULL;
        if (seen && *seen)
            return iql__err_at(p, t.pos, "found duplicate %s option", iql__tok_name(t.tok));
        if (!seen) {
            if (k == 0) {
                static const char *const exp[] = { "DURATION", "REPLICATION", "SHARD",
                                                   "DEFAULT" };
                return iql__err_expected(p, t, exp, 4);
            }
            iql__unscan(p);
            break;
        }
        *seen = true;
        if (t.tok == T_DURATION) {
            if (iql__parse_duration_tok(p, &rp->duration_ns))
                return p->rc;
            rp->has_duration = true;
        } else if (t.tok == T_REPLICATION) {
            if (iql__parse_int(p, 1, INT32_MAX, &rp->replication))
                return p->rc;
            rp->has_replication = true;
        } else if (t.tok == T_SHARD) {
            if (shard_duration(p, rp))
                return p->rc;
        } else {
            rp->is_default = true;
        }
    }
    *out = s;
    return 0;
}

/* Shared by DELETE and DROP SERIES: [FROM sources] [WHERE cond], at least one. */
static int delete_like(struct iql_parser *p, enum iql_stmt_kind k, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, k);
    if (!s)
        return p->rc;
    struct iql_show *sh = &s->show;
    struct iql_token first = iql__next_ws(p);
    if (first.tok == T_FROM) {
        if (iql__parse_sources(p, false, &sh->sources, &sh->nsources))
            return p->rc;
        const char *bad = NULL;
        for (size_t i = 0; i < sh->nsources; i++) {
            if (sh->sources[i].m.db.n)
                bad = "database not supported";
            if (sh->sources[i].m.rp.n)
                bad = "retention policy not supported";
        }
        if (bad)
            return iql__err_at(p, (struct iql_pos){ 0, 0 }, "%s", bad);
    } else {
        iql__unscan(p);
    }
    if (iql__parse_condition(p, &sh->cond))
        return p->rc;
    if (!sh->cond && !sh->sources) {
        static const char *const exp[] = { "FROM", "WHERE" };
        return iql__err_expected(p, first, exp, 2);
    }
    *out = s;
    return 0;
}

static int parse_privilege(struct iql_parser *p, enum iql_priv *priv)
{
    struct iql_token t = iql__next_ws(p);
    switch (t.tok) {
    case T_READ:
        *priv = IQL_PRIV_READ;
        return 0;
    case T_WRITE:
        *priv = IQL_PRIV_WRITE;
        return 0;
    case T_ALL:
        accept(p, T_PRIVILEGES);
        *priv = IQL_PRIV_ALL;
        return 0;
    default: {
        static const char *const exp[] = { "READ", "WRITE", "ALL [PRIVILEGES]" };
        return iql__err_expected(p, t, exp, 3);
    }
    }
}

/* GRANT priv ON db TO user | GRANT ALL [PRIVILEGES] TO user, and REVOKE
 * with FROM in place of TO. */
static int grant_revoke(struct iql_parser *p, bool grant, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, grant ? IQL_STMT_GRANT : IQL_STMT_REVOKE);
    if (!s || parse_privilege(p, &s->user.priv))
        return p->rc;
    enum iql_tok to = grant ? T_TO : T_FROM;
    struct iql_token t = iql__next_ws(p);
    if (t.tok == T_ON) {
        if (iql__parse_ident(p, &s->user.db))
            return p->rc;
        struct iql_token t1 = iql__next_ws(p);
        if (t1.tok != to)
            return iql__err_expected1(p, t1, iql__tok_name(to));
        if (iql__parse_ident(p, &s->user.name))
            return p->rc;
        *out = s;
        return 0;
    }
    if (t.tok == to) {
        if (s->user.priv != IQL_PRIV_ALL)
            return iql__err_expected1(p, t, "ON");
        s->user.admin = true;
        if (iql__parse_ident(p, &s->user.name))
            return p->rc;
        *out = s;
        return 0;
    }
    if (s->user.priv == IQL_PRIV_ALL) {
        const char *exp[] = { "ON", iql__tok_name(to) };
        return iql__err_expected(p, t, exp, 2);
    }
    return iql__err_expected1(p, t, "ON");
}

/* ON db.rp, with no white space around the dot (Go scans it raw). */
static int on_db_dot_rp(struct iql_parser *p, struct iql_stmt *s)
{
    static const enum iql_tok on[] = { T_ON };
    if (expect_one(p, on, 1) == T_ILLEGAL || iql__parse_ident(p, &s->rp.db))
        return p->rc;
    struct iql_token t = iql__next(p);
    if (t.tok != T_DOT)
        return iql__err_expected1(p, t, ".");
    return iql__parse_ident(p, &s->rp.name);
}

static int resample_dur(struct iql_parser *p, int64_t *out)
{
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_DURATIONVAL)
        return iql__err_expected1(p, t, "duration");
    iql__unscan(p);
    return iql__parse_duration_tok(p, out);
}

static int create_cq(struct iql_parser *p, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, IQL_STMT_CREATE_CONTINUOUS_QUERY);
    static const enum iql_tok on[] = { T_ON }, begin[] = { T_BEGIN, T_SELECT };
    if (!s || iql__parse_ident(p, &s->name) || expect_one(p, on, 1) == T_ILLEGAL ||
        iql__parse_ident(p, &s->rp.db))
        return p->rc;
    if (accept(p, T_RESAMPLE)) {
        if (accept(p, T_EVERY) && resample_dur(p, &s->resample.every_ns))
            return p->rc;
        if (accept(p, T_FOR) && resample_dur(p, &s->resample.for_ns))
            return p->rc;
        if (s->resample.every_ns == 0 && s->resample.for_ns == 0) {
            struct iql_token t = iql__next_ws(p);
            static const char *const exp[] = { "EVERY", "FOR" };
            return iql__err_expected(p, t, exp, 2);
        }
    }
    if (iql__parse_tokens(p, begin, 2) ||
        iql__parse_select(p, IQL_TARGET_REQUIRED, &s->select))
        return p->rc;
    /* The GROUP BY interval of an aggregate CQ, as GroupByInterval() finds it. */
    int64_t interval = 0;
    const char *why = NULL;
    for (size_t i = 0; i < s->select->ndims; i++) {
        const struct iql_expr *d = s->select->dims[i];
        if (d->kind != IQL_EXPR_CALL || !sv_eq_cstr(d->call.name, "time"))
            continue;
        if (d->call.nargs < 1 || d->call.nargs > 2)
            why = "time dimension expected 1 or 2 arguments";
        else if (d->call.args[0]->kind != IQL_EXPR_DURATION)
            why = "time dimension must have duration argument";
        else
            interval = d->call.args[0]->dur_ns;
        break;
    }
    if (!s->select->is_raw && (interval == 0 || why)) {
        /* influxd rewinds two tokens to point at what ended the SELECT */
        iql__unscan(p);
        iql__unscan(p);
        struct iql_token t = iql__next_ws(p);
        const char *exp[] = { "GROUP BY time(...)", why };
        return iql__err_expected(p, t, exp, why ? 2 : 1);
    }
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_END)
        return iql__err_expected1(p, t, "END");
    if (why)
        return iql__err_nopos(p, "%s", why);
    if (s->resample.for_ns != 0) {
        int64_t iv = interval;
        if (s->resample.every_ns != 0 && s->resample.every_ns > iv)
            iv = s->resample.every_ns;
        if (iv > s->resample.for_ns) {
            char a[48], b[48];
            iql_format_duration(iv, a, sizeof a);
            iql_format_duration(s->resample.for_ns, b, sizeof b);
            return iql__err_nopos(p, "FOR duration must be >= GROUP BY time duration: must be "
                                     "a minimum of %s, got %s", a, b);
        }
    }
    *out = s;
    return 0;
}

static int create_subscription(struct iql_parser *p, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, IQL_STMT_CREATE_SUBSCRIPTION);
    static const enum iql_tok dst[] = { T_DESTINATIONS }, mode[] = { T_ALL, T_ANY };
    if (!s || iql__parse_ident(p, &s->name) || on_db_dot_rp(p, s) ||
        expect_one(p, dst, 1) == T_ILLEGAL)
        return p->rc;
    enum iql_tok m = expect_one(p, mode, 2);
    if (m == T_ILLEGAL)
        return p->rc;
    s->sub.mode_any = m == T_ANY;
    size_t cap = 0;
    for (;;) {
        struct sv d;
        if (iql__parse_string(p, &d))
            return p->rc;
        if (s->sub.ndests == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            struct sv *nv = arena_try_alloc(p->a, ncap * sizeof *nv);
            if (!nv)
                return iql__nomem(p);
            if (s->sub.ndests)
                memcpy(nv, s->sub.dests, s->sub.ndests * sizeof *nv);
            s->sub.dests = nv;
            cap = ncap;
        }
        s->sub.dests[s->sub.ndests++] = d;
        if (!accept(p, T_COMMA))
            break;
    }
    *out = s;
    return 0;
}

static int parse_create(struct iql_parser *p, struct iql_stmt **out)
{
    static const enum iql_tok kids[] = { T_CONTINUOUS, T_DATABASE, T_USER, T_RETENTION,
                                         T_SUBSCRIPTION };
    switch (expect_one(p, kids, N(kids))) {
    case T_CONTINUOUS: {
        static const enum iql_tok q[] = { T_QUERY };
        if (expect_one(p, q, 1) == T_ILLEGAL)
            return p->rc;
        return create_cq(p, out);
    }
    case T_DATABASE:
        return create_database(p, out);
    case T_USER: {
        struct iql_stmt *s = new_stmt(p, IQL_STMT_CREATE_USER);
        static const enum iql_tok wp[] = { T_WITH, T_PASSWORD };
        if (!s || iql__parse_ident(p, &s->user.name) || iql__parse_tokens(p, wp, 2) ||
            iql__parse_string(p, &s->user.password))
            return p->rc;
        if (accept(p, T_WITH)) {
            static const enum iql_tok ap[] = { T_ALL, T_PRIVILEGES };
            if (iql__parse_tokens(p, ap, 2))
                return p->rc;
            s->user.admin = true;
        }
        *out = s;
        return 0;
    }
    case T_RETENTION: {
        static const enum iql_tok k[] = { T_POLICY };
        if (expect_one(p, k, 1) == T_ILLEGAL)
            return p->rc;
        return create_rp(p, out);
    }
    case T_SUBSCRIPTION:
        return create_subscription(p, out);
    default:
        return p->rc;
    }
}

static int name_stmt(struct iql_parser *p, enum iql_stmt_kind k, struct iql_stmt **out)
{
    struct iql_stmt *s = new_stmt(p, k);
    if (!s || iql__parse_ident(p, &s->name))
        return p->rc;
    *out = s;
    return 0;
}

static int parse_drop(struct iql_parser *p, struct iql_stmt **out)
{
    static const enum iql_tok kids[] = { T_CONTINUOUS, T_DATABASE, T_MEASUREMENT, T_RETENTION,
                                         T_SERIES, T_SHARD, T_SUBSCRIPTION, T_USER };
    static const enum iql_tok on[] = { T_ON };
    switch (expect_one(p, kids, N(kids))) {
    case T_CONTINUOUS: {
        static const enum iql_tok q[] = { T_QUERY };
        struct iql_stmt *s;
        if (expect_one(p, q, 1) == T_ILLEGAL ||
            !(s = new_stmt(p, IQL_STMT_DROP_CONTINUOUS_QUERY)) ||
            iql__parse_ident(p, &s->name) || expect_one(p, on, 1) == T_ILLEGAL ||
            iql__parse_ident(p, &s->rp.db))
            return p->rc;
        *out = s;
        return 0;
    }
    case T_DATABASE:
        return name_stmt(p, IQL_STMT_DROP_DATABASE, out);
    case T_MEASUREMENT:
        return name_stmt(p, IQL_STMT_DROP_MEASUREMENT, out);
    case T_RETENTION: {
        static const enum iql_tok k[] = { T_POLICY };
        struct iql_stmt *s;
        if (expect_one(p, k, 1) == T_ILLEGAL ||
            !(s = new_stmt(p, IQL_STMT_DROP_RETENTION_POLICY)) ||
            iql__parse_ident(p, &s->rp.name) || expect_one(p, on, 1) == T_ILLEGAL ||
            iql__parse_ident(p, &s->rp.db))
            return p->rc;
        *out = s;
        return 0;
    }
    case T_SERIES:
        return delete_like(p, IQL_STMT_DROP_SERIES, out);
    case T_SHARD: {
        struct iql_stmt *s = new_stmt(p, IQL_STMT_DROP_SHARD);
        if (!s || iql__parse_uint64(p, &s->kill.qid))
            return p->rc;
        *out = s;
        return 0;
    }
    case T_SUBSCRIPTION: {
        struct iql_stmt *s = new_stmt(p, IQL_STMT_DROP_SUBSCRIPTION);
        if (!s || iql__parse_ident(p, &s->name) || on_db_dot_rp(p, s))
            return p->rc;
        *out = s;
        return 0;
    }
    case T_USER: {
        struct iql_stmt *s = new_stmt(p, IQL_STMT_DROP_USER);
        if (!s || iql__parse_ident(p, &s->user.name))
            return p->rc;
        *out = s;
        return 0;
    }
    default:
        return p->rc;
    }
}

int iql__parse_statement(struct iql_parser *p, struct iql_stmt **out)
{
    static const enum iql_tok top[] = { T_SELECT, T_DELETE, T_SHOW, T_CREATE, T_DROP,
                                        T_EXPLAIN, T_GRANT, T_REVOKE, T_ALTER, T_SET,
                                        T_KILL };
    *out = NULL;
    switch (expect_one(p, top, N(top))) {
    case T_SELECT: {
        struct iql_stmt *s = new_stmt(p, IQL_STMT_SELECT);
        if (!s || iql__parse_select(p, IQL_TARGET_NOT_REQUIRED, &s->select))
            return p->rc;
        *out = s;
        return 0;
    }
    case T_DELETE:
        return delete_like(p, IQL_STMT_DELETE, out);
    case T_SHOW:
        return parse_show(p, out);
    case T_CREATE:
        return parse_create(p, out);
    case T_DROP:
        return parse_drop(p, out);
    case T_EXPLAIN: {
        struct iql_stmt *s = new_stmt(p, IQL_STMT_EXPLAIN);
        if (!s)
            return p->rc;
        s->explain_analyze = accept(p, T_ANALYZE);
        struct iql_token t = iql__next_ws(p);
        if (t.tok != T_SELECT)
            return iql__err_expected1(p, t, "SELECT");
        if (iql__parse_select(p, IQL_TARGET_NOT_REQUIRED, &s->select))
            return p->rc;
        *out = s;
        return 0;
    }
    case T_GRANT:
        return grant_revoke(p, true, out);
    case T_REVOKE:
        return grant_revoke(p, false, out);
    case T_ALTER: {
        static const enum iql_tok r[] = { T_RETENTION }, k[] = { T_POLICY };
        if (expect_one(p, r, 1) == T_ILLEGAL || expect_one(p, k, 1) == T_ILLEGAL)
            return p->rc;
        return alter_rp(p, out);
    }
    case T_SET: {
        static const enum iql_tok pw[] = { T_PASSWORD }, f[] = { T_FOR };
        struct iql_stmt *s;
        if (expect_one(p, pw, 1) == T_ILLEGAL || expect_one(p, f, 1) == T_ILLEGAL ||
            !(s = new_stmt(p, IQL_STMT_SET_PASSWORD)) || iql__parse_ident(p, &s->user.name))
            return p->rc;
        struct iql_token t = iql__next_ws(p);
        if (t.tok != T_EQ)
            return iql__err_expected1(p, t, "=");
        if (iql__parse_string(p, &s->user.password))
            return p->rc;
        *out = s;
        return 0;
    }
    case T_KILL: {
        static const enum iql_tok q[] = { T_QUERY };
        struct iql_stmt *s;
        if (expect_one(p, q, 1) == T_ILLEGAL || !(s = new_stmt(p, IQL_STMT_KILL_QUERY)) ||
            iql__parse_uint64(p, &s->kill.qid))
            return p->rc;
        if (accept(p, T_ON) && iql__parse_ident(p, &s->kill.host))
            return p->rc;
        *out = s;
        return 0;
    }
    default:
        return p->rc;
    }
}
