// SPDX-License-Identifier: MIT
/*
 * SELECT: field and tag columns, `*` and /regex/ in the
 * select list, WHERE on tags, fields and time, GROUP BY tags or *, ORDER BY
 * time DESC, LIMIT/OFFSET per series, SLIMIT/SOFFSET over series.
 *
 * How it runs: for each source measurement (sorted by name), the snapshot
 * is scanned over the WHERE time range; every series whose tags pass the
 * series-level part of the condition becomes a "block" of rows (its fields
 * merged by timestamp, rows kept when the condition holds and at least one
 * selected field has a value).  Blocks are then sorted by (group key, series
 * key); consecutive blocks with the same group key form one output series,
 * whose rows are ordered by time, ties as influxd's per-shard merge heap
 * leaves them (merge_rows).  Column order: the select list as written; `*` expands to
 * the union of the fields and tags of all sources, sorted by name, minus the
 * GROUP BY tags (spec §5.3, observed).
 *
 * SELECTs with calls scan the same way, with one column per input the
 * calls read (qx__agg_plan: a field, or a tag for top(f, tag, n) and the
 * fields next to a lone selector); each output series' merged rows then go
 * to exec_agg.c (qx__agg_series) instead of emit_group.  When a
 * transformation wraps an aggregate the scan range is widened by that many
 * intervals (before the range, after it under DESC), as influxd does.
 *
 * Limits: query.max_series counts blocks, query.max_points_scanned counts
 * field values read; both fail the statement with an error naming the
 * limit.  The whole result of a statement is held in the statement arena
 * before it is emitted (bounded by those limits).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/exec_agg.h"
#include "query/exec_int.h"

enum col_kind { COL_AUTO, COL_FIELD, COL_TAG, COL_EXPR };

struct col {
    struct sv name; /* output column name */
    struct sv ref;  /* field or tag key */
    enum col_kind kind;
    const struct iql_expr *expr; /* COL_EXPR: math over fields and literals */
};

struct row {
    int64_t t;
    size_t seq;              /* block rank, then position: stable merge */
    struct qx_value *vals;   /* ncols, without the time column */
};

struct block {
    struct sv meas;
    struct sv group;         /* group-by tag values joined with '\0' */
    struct sv skey;          /* series key */
    int64_t shard_ns;        /* shard group duration of its policy */
    struct tsdb_tag *gtags;  /* the group's tags (output "tags") */
    size_t ngtags;
    struct row *rows;
    size_t nrows;
};

struct sel {
    struct qx__run *r;
    const struct iql_select *s;
    struct col *cols;
    size_t ncols;
    struct sv *dims;         /* GROUP BY tag keys, sorted */
    size_t ndims;
    bool group_all;          /* GROUP BY * */
    struct sv *all_tags;     /* GROUP BY *: every tag key of the measurement */
    size_t nall_tags;
    struct qx__cond cond;
    bool cond_needs_fields;
    struct sv meas;          /* measurement being scanned */
    int64_t shard_ns;        /* its policy's shard group duration */
    struct block *blocks;
    size_t nblocks, cap;
    /* per-row scratch used by the field lookup */
    const struct tsdb_field_points *fields;
    size_t nfields;
    struct qx_value *cur;    /* nfields values at the current time */
    const struct qx__agg *agg; /* aggregate SELECT: one column per call */
    const struct qx__tz *tz;   /* raw SELECT's tz('...'): NULL for UTC */
};

static int vcmp(struct sv a, struct sv b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int k = n ? memcmp(a.p, b.p, n) : 0;
    return k ? k : a.n < b.n ? -1 : a.n > b.n;
}

static int name_qcmp(const void *a, const void *b)
{
    return vcmp(*(const struct sv *)a, *(const struct sv *)b);
}

struct name_list {
    struct arena *a;
    struct sv *v;
    size_t n, cap;
};

static void nl_push(struct name_list *l, struct sv s)
{
    for (size_t i = 0; i < l->n; i++)
        if (sv_eq(l->v[i], s))
            return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct sv *nv = arena_alloc(l->a, cap * sizeof *nv);
        if (l->n)
            memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = arena_sv_dup(l->a, s);
}

static int nl_cb(void *arg, struct sv name)
{
    nl_push(arg, name);
    return 0;
}

static int nl_field_cb(void *arg, struct sv key, enum tsdb_type t)
{
    (void)t;
    nl_push(arg, key);
    return 0;
}

/* ---- sources -------------------------------------------------------------- */

struct src {
    struct sv db, rp, name;
    int64_t shard_ns; /* the policy's shard group duration */
};

static int resolve_sources(struct qx__run *r, const struct iql_select *s, struct src **out,
                           size_t *nout)
{
    struct src *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < s->nsources; i++) {
        const struct iql_source *so = &s->sources[i];
        if (so->kind != IQL_SRC_MEASUREMENT)
            return err_set(r->e, ERR_UNSUPPORTED, "subqueries are not supported yet");
        struct sv db = qx__db(r, so->m.db), rp = so->m.rp.n ? so->m.rp : r->p->rp;
        if (!db.n)
            return err_set(r->e, ERR_INVAL, "database name required");
        struct tsdb_rp_info info;
        struct err te;
        if (tsdb_find_rp(r->c->db, db, SV_NULL, &info, &te) < 0)
            return err_set(r->e, ERR_NOTFOUND, "database not found: %.*s", SV_FMT(db));
        if (rp.n && tsdb_find_rp(r->c->db, db, rp, &info, &te) < 0)
            return err_set(r->e, ERR_NOTFOUND, "retention policy not found: %.*s", SV_FMT(rp));
        struct name_list names = { .a = r->a };
        if (so->m.is_regex) {
            struct qx__rx *rx;
            int rc = qx__rx_compile(r, so->m.regex, &rx);
            if (rc)
                return rc;
            struct name_list all = { .a = r->a };
            tsdb_list_measurements(r->c->db, db, rp, nl_cb, &all, NULL);
            for (size_t j = 0; j < all.n; j++)
                if (qx__rx_match(rx, all.v[j]))
                    nl_push(&names, all.v[j]);
        } else {
            nl_push(&names, so->m.name);
        }
        for (size_t j = 0; j < names.n; j++) {
            bool dup = false;
            for (size_t k = 0; k < n && !dup; k++)
                dup = sv_eq(v[k].db, db) && sv_eq(v[k].rp, rp) && sv_eq(v[k].name, names.v[j]);
            if (dup)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                struct src *nv = arena_alloc(r->a, cap * sizeof *nv);
                if (n)
                    memcpy(nv, v, n * sizeof *nv);
                v = nv;
            }
            v[n++] = (struct src){ db, rp, names.v[j], info.shard_duration_ns };
        }
    }
    *out = v;
    *nout = n;
    return 0;
}

static bool has_field(const struct tsdb_field_points *f, size_t nf, struct sv key, size_t *idx);

/* ---- math in the select list ---------------------------------------------- */

/* Arithmetic over field references and number literals (no calls). */
static bool is_math(const struct iql_expr *e)
{
    switch (e->kind) {
    case IQL_EXPR_VARREF:
    case IQL_EXPR_INTEGER:
    case IQL_EXPR_UNSIGNED:
    case IQL_EXPR_NUMBER:
        return true;
    case IQL_EXPR_PAREN:
        return is_math(e->paren);
    case IQL_EXPR_BINARY:
        return e->bin.op >= IQL_OP_ADD && e->bin.op <= IQL_OP_BITXOR && is_math(e->bin.lhs) &&
               is_math(e->bin.rhs);
    default:
        return false;
    }
}

/* influxd's column name for an expression: the referenced names joined
 * with '_' ("usage" / 100 -> usage, "a" + "b" -> a_b). */
static int math_name(struct buf *b, const struct iql_expr *e)
{
    switch (e->kind) {
    case IQL_EXPR_VARREF:
        return (b->len ? buf_append_char(b, '_') : 0) || buf_append_sv(b, e->ref.name) ? -1 : 0;
    case IQL_EXPR_PAREN:
        return math_name(b, e->paren);
    case IQL_EXPR_BINARY:
        return math_name(b, e->bin.lhs) || math_name(b, e->bin.rhs) ? -1 : 0;
    default:
        return 0;
    }
}

static struct qx_value math_eval(const struct iql_expr *e, const struct qx_value *(*field)(void *, struct sv),
                                 void *arg)
{
    struct qx_value v = { .kind = QX_NULL };
    switch (e->kind) {
    case IQL_EXPR_VARREF: {
        if (e->ref.type == IQL_VT_TAG)
            return v;
        const struct qx_value *f = field(arg, e->ref.name);
        return f && f->kind != QX_STRING && f->kind != QX_BOOL ? *f : v;
    }
    case IQL_EXPR_INTEGER:
        v.kind = QX_INT;
        v.i = e->i;
        return v;
    case IQL_EXPR_UNSIGNED:
        v.kind = QX_UINT;
        v.u = e->u;
        return v;
    case IQL_EXPR_NUMBER:
        v.kind = QX_FLOAT;
        v.f = e->f;
        return v;
    case IQL_EXPR_PAREN:
        return math_eval(e->paren, field, arg);
    case IQL_EXPR_BINARY:
        break;
    default:
        return v;
    }
    struct qx_value a = math_eval(e->bin.lhs, field, arg), b = math_eval(e->bin.rhs, field, arg);
    if (a.kind == QX_NULL || b.kind == QX_NULL)
        return v;
    enum iql_op op = e->bin.op;
    if (a.kind == QX_INT && b.kind == QX_INT) {
        uint64_t x = (uint64_t)a.i, y = (uint64_t)b.i;
        v.kind = QX_INT;
        switch (op) {
        case IQL_OP_ADD: v.i = (int64_t)(x + y); return v;
        case IQL_OP_SUB: v.i = (int64_t)(x - y); return v;
        case IQL_OP_MUL: v.i = (int64_t)(x * y); return v;
        case IQL_OP_MOD:
            v.i = b.i == 0 || (b.i == -1) ? 0 : a.i % b.i;
            return v;
        case IQL_OP_BITAND: v.i = a.i & b.i; return v;
        case IQL_OP_BITOR: v.i = a.i | b.i; return v;
        case IQL_OP_BITXOR: v.i = a.i ^ b.i; return v;
        case IQL_OP_DIV: /* integer division gives a float (1.6) */
            v.kind = QX_FLOAT;
            v.f = b.i == 0 ? 0 : (double)a.i / (double)b.i;
            return v;
        default:
            v.kind = QX_NULL;
            return v;
        }
    }
    double x = a.kind == QX_FLOAT ? a.f : a.kind == QX_INT ? (double)a.i : (double)a.u;
    double y = b.kind == QX_FLOAT ? b.f : b.kind == QX_INT ? (double)b.i : (double)b.u;
    v.kind = QX_FLOAT;
    switch (op) {
    case IQL_OP_ADD: v.f = x + y; return v;
    case IQL_OP_SUB: v.f = x - y; return v;
    case IQL_OP_MUL: v.f = x * y; return v;
    case IQL_OP_DIV: v.f = y == 0 ? 0 : x / y; return v;
    case IQL_OP_MOD: v.f = y == 0 ? 0 : fmod(x, y); return v;
    default:
        v.kind = QX_NULL;
        return v;
    }
}

/* Whether a math column can have a value in this series. */
static bool math_has_field(const struct iql_expr *e, const struct tsdb_field_points *f, size_t nf)
{
    size_t idx;
    switch (e->kind) {
    case IQL_EXPR_VARREF:
        return e->ref.type != IQL_VT_TAG && has_field(f, nf, e->ref.name, &idx);
    case IQL_EXPR_PAREN:
        return math_has_field(e->paren, f, nf);
    case IQL_EXPR_BINARY:
        return math_has_field(e->bin.lhs, f, nf) || math_has_field(e->bin.rhs, f, nf);
    default:
        return false;
    }
}

/* ---- columns ------------------------------------------------------------ */

static bool is_dim(const struct sel *x, struct sv key)
{
    if (x->group_all)
        return true;
    for (size_t i = 0; i < x->ndims; i++)
        if (sv_eq(x->dims[i], key))
            return true;
    return false;
}

static int build_columns(struct sel *x, const struct src *srcs, size_t nsrc)
{
    struct qx__run *r = x->r;
    const struct iql_select *s = x->s;
    struct name_list fields = { .a = r->a }, tags = { .a = r->a };
    for (size_t i = 0; i < nsrc; i++) {
        tsdb_list_fields(r->c->db, srcs[i].db, srcs[i].rp, srcs[i].name, nl_field_cb, &fields,
                         NULL);
        tsdb_list_tag_keys(r->c->db, srcs[i].db, srcs[i].rp, srcs[i].name, nl_cb, &tags, NULL);
    }
    size_t cap = s->nfields + fields.n + tags.n + 1;
    x->cols = arena_alloc(r->a, cap * sizeof *x->cols);
    if (x->agg) {
        /* one column per input the calls read (names are not output) */
        if (x->agg->ninputs > cap)
            x->cols = arena_alloc(r->a, x->agg->ninputs * sizeof *x->cols);
        for (size_t i = 0; i < x->agg->ninputs; i++) {
            const struct qx__agg_input *in = &x->agg->inputs[i];
            x->cols[x->ncols++] = (struct col){ in->ref, in->ref,
                                                in->is_auto ? COL_AUTO : COL_FIELD, NULL };
        }
        return 0;
    }
    for (size_t i = 0; i < s->nfields; i++) {
        const struct iql_expr *e = s->fields[i].expr;
        while (e->kind == IQL_EXPR_PAREN)
            e = e->paren;
        if (e->kind == IQL_EXPR_VARREF) {
            if (sv_case_eq(e->ref.name, "time"))
                continue;
            enum col_kind k = e->ref.type == IQL_VT_TAG ? COL_TAG
                            : e->ref.type == IQL_VT_UNKNOWN ? COL_AUTO : COL_FIELD;
            struct sv name = s->fields[i].alias.n ? s->fields[i].alias : e->ref.name;
            x->cols[x->ncols++] = (struct col){ name, e->ref.name, k, NULL };
            continue;
        }
        if (e->kind == IQL_EXPR_WILDCARD || e->kind == IQL_EXPR_REGEX) {
            struct qx__rx *rx = NULL;
            if (e->kind == IQL_EXPR_REGEX) {
                int rc = qx__rx_compile(r, e->str, &rx);
                if (rc)
                    return rc;
            }
            /* Fields and tags merged and sorted by name. */
            struct col *tmp = arena_alloc(r->a, (fields.n + tags.n + 1) * sizeof *tmp);
            size_t nt = 0;
            bool want_f = e->kind == IQL_EXPR_REGEX || e->wild != IQL_VT_TAG;
            bool want_t = e->kind == IQL_EXPR_REGEX || e->wild != IQL_VT_FIELD;
            for (size_t j = 0; want_f && j < fields.n; j++)
                if (!rx || qx__rx_match(rx, fields.v[j]))
                    tmp[nt++] = (struct col){ fields.v[j], fields.v[j], COL_FIELD, NULL };
            for (size_t j = 0; want_t && j < tags.n; j++) {
                if (is_dim(x, tags.v[j]) || (rx && !qx__rx_match(rx, tags.v[j])))
                    continue;
                bool dup = false;
                for (size_t k = 0; k < nt && !dup; k++)
                    dup = sv_eq(tmp[k].ref, tags.v[j]);
                if (!dup)
                    tmp[nt++] = (struct col){ tags.v[j], tags.v[j], COL_TAG, NULL };
            }
            /* insertion sort by name: column lists are short */
            for (size_t a = 1; a < nt; a++) {
                struct col c = tmp[a];
                size_t b = a;
                while (b > 0 && vcmp(tmp[b - 1].name, c.name) > 0) {
                    tmp[b] = tmp[b - 1];
                    b--;
                }
                tmp[b] = c;
            }
            if (x->ncols + nt > cap) {
                struct col *nc = arena_alloc(r->a, (x->ncols + nt + cap) * sizeof *nc);
                memcpy(nc, x->cols, x->ncols * sizeof *nc);
                x->cols = nc;
                cap += x->ncols + nt;
            }
            memcpy(x->cols + x->ncols, tmp, nt * sizeof *tmp);
            x->ncols += nt;
            continue;
        }
        if (is_math(e)) {
            struct buf nb;
            buf_init(&nb, 0);
            if (math_name(&nb, e) < 0) {
                buf_fini(&nb);
                return err_set(r->e, ERR_NOMEM, "out of memory");
            }
            struct sv name = s->fields[i].alias.n ? s->fields[i].alias : arena_sv_dup(r->a, buf_sv(&nb));
            buf_fini(&nb);
            if (x->ncols == cap) {
                struct col *nc = arena_alloc(r->a, (cap * 2 + 1) * sizeof *nc);
                memcpy(nc, x->cols, x->ncols * sizeof *nc);
                x->cols = nc;
                cap = cap * 2 + 1;
            }
            x->cols[x->ncols++] = (struct col){ name, SV_NULL, COL_EXPR, e };
            continue;
        }
        return err_set(r->e, ERR_UNSUPPORTED,
                       "only raw field and tag selections and math on them are supported yet "
                       "(no functions)");
    }
    return 0;
}

/* Duplicate output names get _1, _2, ... as influxd names them
 * ("SELECT v, v" -> v, v_1), skipping names already taken. */
static void dedupe_names(struct sel *x)
{
    for (size_t i = 1; i < x->ncols; i++) {
        struct sv base = x->cols[i].name;
        bool taken = false;
        for (size_t j = 0; j < i && !taken; j++)
            taken = sv_eq(x->cols[j].name, base);
        for (unsigned k = 1; taken; k++) {
            char *p = arena_alloc(x->r->a, base.n + 24);
            int n = snprintf(p, base.n + 24, "%.*s_%u", SV_FMT(base), k);
            struct sv cand = sv_make(p, n > 0 ? (size_t)n : 0);
            taken = false;
            for (size_t j = 0; j < x->ncols && !taken; j++)
                taken = j != i && sv_eq(x->cols[j].name, cand);
            if (!taken)
                x->cols[i].name = cand;
        }
    }
}

/* ---- scanning ------------------------------------------------------------ */

static const struct qx_value *field_lookup(void *arg, struct sv name)
{
    struct sel *x = arg;
    for (size_t i = 0; i < x->nfields; i++)
        if (sv_eq(x->fields[i].key, name))
            return x->cur[i].kind == QX_NULL ? NULL : &x->cur[i];
    return NULL;
}

static struct qx_value to_value(struct arena *a, enum tsdb_type t, const union tsdb_value *v)
{
    struct qx_value q = { .kind = QX_NULL };
    switch (t) {
    case TSDB_FLOAT: q.kind = QX_FLOAT; q.f = v->f; break;
    case TSDB_INT: q.kind = QX_INT; q.i = v->i; break;
    case TSDB_UINT: q.kind = QX_UINT; q.u = v->u; break;
    case TSDB_BOOL: q.kind = QX_BOOL; q.b = v->b; break;
    case TSDB_STRING: q.kind = QX_STRING; q.s = arena_sv_dup(a, v->s); break;
    }
    return q;
}

static bool find_tag(const struct tsdb_series_info *s, struct sv key, struct sv *out)
{
    for (size_t i = 0; i < s->ntags; i++) {
        if (sv_eq(s->tags[i].key, key)) {
            *out = s->tags[i].value;
            return true;
        }
    }
    return false;
}

static bool has_field(const struct tsdb_field_points *f, size_t nf, struct sv key, size_t *idx)
{
    for (size_t i = 0; i < nf; i++) {
        if (sv_eq(f[i].key, key)) {
            *idx = i;
            return true;
        }
    }
    return false;
}

static int scan_series(void *arg, const struct tsdb_series_info *si, size_t nfields,
                       const struct tsdb_field_points *fields)
{
    struct sel *x = arg;
    struct qx__run *r = x->r;
    struct arena *a = r->a;
    int rc = qx__check_time(r);
    if (rc)
        return rc;
    /* A condition on tags only is decided once per series. */
    struct qx__row_env env = { .tags = si->tags, .ntags = si->ntags };
    if (!x->cond_needs_fields && !qx__cond_eval(&x->cond, &env))
        return 0;
    if ((rc = qx__count_series(r)) != 0)
        return rc;
    /* Column sources for this series. */
    size_t *fidx = arena_alloc(a, (x->ncols + 1) * sizeof *fidx);
    bool any_field_col = false;
    for (size_t c = 0; c < x->ncols; c++) {
        fidx[c] = SIZE_MAX;
        if (x->cols[c].kind == COL_EXPR)
            any_field_col = any_field_col || math_has_field(x->cols[c].expr, fields, nfields);
        else if (x->cols[c].kind != COL_TAG && has_field(fields, nfields, x->cols[c].ref, &fidx[c]))
            any_field_col = true;
    }
    if (!any_field_col)
        return 0;
    /* Group key and tags. */
    struct block b = { .meas = x->meas, .skey = arena_sv_dup(a, si->key), .shard_ns = x->shard_ns };
    size_t ng = x->group_all ? x->nall_tags : x->ndims;
    b.gtags = arena_alloc(a, (ng ? ng : 1) * sizeof *b.gtags);
    struct buf gk;
    buf_init(&gk, 0);
    for (size_t i = 0; i < ng; i++) {
        struct sv k = x->group_all ? x->all_tags[i] : x->dims[i], v;
        if (!find_tag(si, k, &v))
            v = SV_LIT("");
        b.gtags[i] = (struct tsdb_tag){ arena_sv_dup(a, k), arena_sv_dup(a, v) };
        if (buf_append_sv(&gk, k) || buf_append_char(&gk, '\0') || buf_append_sv(&gk, v) ||
            buf_append_char(&gk, '\0')) {
            buf_fini(&gk);
            return err_set(r->e, ERR_NOMEM, "out of memory");
        }
    }
    b.ngtags = ng;
    b.group = arena_sv_dup(a, buf_sv(&gk));
    buf_fini(&gk);
    /* Merge the fields by time. */
    size_t *pos = arena_calloc(a, (nfields ? nfields : 1) * sizeof *pos);
    x->fields = fields;
    x->nfields = nfields;
    x->cur = arena_alloc(a, (nfields ? nfields : 1) * sizeof *x->cur);
    env.field = field_lookup;
    env.field_arg = x;
    size_t cap = 0, iter = 0;
    for (;;) {
        int64_t t = INT64_MAX;
        bool any = false;
        for (size_t f = 0; f < nfields; f++) {
            if (pos[f] < fields[f].n && (!any || fields[f].ts_ns[pos[f]] < t)) {
                t = fields[f].ts_ns[pos[f]];
                any = true;
            }
        }
        if (!any)
            break;
        for (size_t f = 0; f < nfields; f++) {
            x->cur[f].kind = QX_NULL;
            if (pos[f] < fields[f].n && fields[f].ts_ns[pos[f]] == t) {
                x->cur[f] = to_value(a, fields[f].type, &fields[f].values[pos[f]]);
                pos[f]++;
                r->points++;
            }
        }
        if ((++iter & 0xfff) == 0 && (rc = qx__check_time(r)) != 0)
            return rc; /* long series: poll the deadline now and then */
        if ((rc = qx__count_points(r, 0)) != 0)
            return rc;
        if (x->cond_needs_fields && !qx__cond_eval(&x->cond, &env))
            continue;
        struct qx_value *vals = arena_alloc(a, (x->ncols ? x->ncols : 1) * sizeof *vals);
        bool has_value = false;
        for (size_t c = 0; c < x->ncols; c++) {
            if (x->cols[c].kind == COL_EXPR) {
                vals[c] = math_eval(x->cols[c].expr, field_lookup, x);
                has_value = has_value || vals[c].kind != QX_NULL;
            } else if (fidx[c] != SIZE_MAX) {
                has_value = has_value || x->cur[fidx[c]].kind != QX_NULL;
            }
        }
        if (!has_value)
            continue;
        for (size_t c = 0; c < x->ncols; c++) {
            struct sv tv;
            if (x->cols[c].kind == COL_EXPR)
                continue;
            if (fidx[c] != SIZE_MAX)
                vals[c] = x->cur[fidx[c]];
            else if (x->cols[c].kind != COL_FIELD && find_tag(si, x->cols[c].ref, &tv))
                vals[c] = (struct qx_value){ .kind = QX_STRING, .s = arena_sv_dup(a, tv) };
            else
                vals[c] = (struct qx_value){ .kind = QX_NULL };
        }
        if (b.nrows == cap) {
            cap = cap ? cap * 2 : 64;
            struct row *nr = arena_alloc(a, cap * sizeof *nr);
            if (b.nrows)
                memcpy(nr, b.rows, b.nrows * sizeof *nr);
            b.rows = nr;
        }
        b.rows[b.nrows++] = (struct row){ .t = t, .vals = vals };
    }
    if (b.nrows == 0)
        return 0;
    if (x->nblocks == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 16;
        struct block *nb = arena_alloc(a, x->cap * sizeof *nb);
        if (x->nblocks)
            memcpy(nb, x->blocks, x->nblocks * sizeof *nb);
        x->blocks = nb;
    }
    x->blocks[x->nblocks++] = b;
    return 0;
}

/* Whether the condition reads a field of some source (then it is evaluated
 * per row, else per series). */
static bool refs_field(const struct iql_expr *e, const struct name_list *fields)
{
    while (e && e->kind == IQL_EXPR_PAREN)
        e = e->paren;
    if (!e)
        return false;
    if (e->kind == IQL_EXPR_VARREF) {
        if (e->ref.type == IQL_VT_TAG)
            return false;
        if (e->ref.type != IQL_VT_UNKNOWN)
            return true;
        for (size_t i = 0; i < fields->n; i++)
            if (sv_eq(fields->v[i], e->ref.name))
                return true;
        return false;
    }
    if (e->kind == IQL_EXPR_BINARY)
        return refs_field(e->bin.lhs, fields) || refs_field(e->bin.rhs, fields);
    if (e->kind == IQL_EXPR_CALL)
        for (size_t i = 0; i < e->call.nargs; i++)
            if (refs_field(e->call.args[i], fields))
                return true;
    return false;
}

/* ---- ordering and output ----------------------------------------------------- */

static int block_cmp(const void *pa, const void *pb)
{
    const struct block *a = pa, *b = pb;
    int k = vcmp(a->meas, b->meas);
    k = k ? k : vcmp(a->group, b->group);
    return k ? k : vcmp(a->skey, b->skey);
}

static int row_cmp(const void *pa, const void *pb)
{
    const struct row *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

struct outser {
    size_t first, n; /* blocks */
};

/*
 * The row order of one raw output series, as influxd 1.6 produces it.  Its
 * engine reads each shard group separately and merges that shard's series
 * (in series-key order) with a sorted-merge heap over Go's container/heap
 * (query/iterator.gen.go: sortedMergeHeap, pop(), heap.Init/Pop/Push).  The
 * heap orders by time, then by the "aux" values in the order of their sorted
 * names (only while both are strings), else calls them equal; rows of
 * different series with equal timestamps therefore come out in whatever
 * order Go's sift-up and sift-down leave them.  Shard groups cover disjoint
 * times, so the merges of different shards never interleave.  Simulating the
 * same heap steps gives influxd's order exactly, DESC included (its heap
 * compares the other way; it is not the ascending order reversed).
 */
struct gh_item {
    const struct block *b;
    size_t pos;              /* next row (DESC: the row at pos - 1) */
};

struct gh {
    struct gh_item *v;
    size_t n;
    bool desc;
    const size_t *aux;       /* column index per sorted aux name; SIZE_MAX: unknown */
    size_t naux;
};

static const struct row *gh_row(const struct gh *h, size_t i)
{
    const struct gh_item *it = &h->v[i];
    return &it->b->rows[h->desc ? it->pos - 1 : it->pos];
}

/* sortedMergeHeap.Less within one output series (same name and tags). */
static bool gh_less(const struct gh *h, size_t i, size_t j)
{
    const struct row *x = gh_row(h, i), *y = gh_row(h, j);
    if (x->t != y->t)
        return h->desc ? x->t > y->t : x->t < y->t;
    for (size_t k = 0; k < h->naux; k++) {
        if (h->aux[k] == SIZE_MAX)
            return false;
        const struct qx_value *a = &x->vals[h->aux[k]], *b = &y->vals[h->aux[k]];
        if (a->kind != QX_STRING || b->kind != QX_STRING)
            return false;
        int c = vcmp(a->s, b->s);
        if (c)
            return h->desc ? c > 0 : c < 0;
    }
    return false;
}

static void gh_swap(struct gh *h, size_t i, size_t j)
{
    struct gh_item t = h->v[i];
    h->v[i] = h->v[j];
    h->v[j] = t;
}

/* Go's container/heap down() and up(). */
static void gh_down(struct gh *h, size_t i, size_t n)
{
    for (;;) {
        size_t j = 2 * i + 1;
        if (j >= n)
            break;
        if (j + 1 < n && gh_less(h, j + 1, j))
            j++;
        if (!gh_less(h, j, i))
            break;
        gh_swap(h, i, j);
        i = j;
    }
}

static void gh_up(struct gh *h, size_t j)
{
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (!gh_less(h, j, i))
            break;
        gh_swap(h, i, j);
        j = i;
    }
}

/* Whether item it has a row inside the shard group [lo, hi). */
static bool gh_has(const struct gh *h, const struct gh_item *it, int64_t lo, int64_t hi)
{
    if (h->desc)
        return it->pos > 0 && it->b->rows[it->pos - 1].t >= lo;
    return it->pos < it->b->nrows && it->b->rows[it->pos].t < hi;
}

/* The aux order: the select list's references sorted by name (as influxd
 * sorts opt.Aux), each mapped to its column; math columns read references
 * whose values the rows do not keep (their comparison stops there). */
static void aux_order(struct sel *x, struct gh *h)
{
    struct arena *a = x->r->a;
    struct sv *names = arena_alloc(a, (x->ncols ? x->ncols : 1) * sizeof *names);
    size_t *idx = arena_alloc(a, (x->ncols ? x->ncols : 1) * sizeof *idx);
    size_t n = 0;
    for (size_t c = 0; c < x->ncols; c++) {
        struct sv nm = x->cols[c].kind == COL_EXPR ? x->cols[c].name : x->cols[c].ref;
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = sv_eq(names[k], nm);
        if (dup)
            continue;
        size_t k = n++;
        while (k > 0 && vcmp(names[k - 1], nm) > 0) {
            names[k] = names[k - 1];
            idx[k] = idx[k - 1];
            k--;
        }
        names[k] = nm;
        idx[k] = x->cols[c].kind == COL_EXPR ? SIZE_MAX : c;
    }
    h->aux = idx;
    h->naux = n;
}

/* Rows of blocks[0..nb) in influxd's order (see above) into rows. */
static size_t merge_rows(struct sel *x, const struct block *blocks, size_t nb, bool desc,
                         struct row *rows, bool with_aux)
{
    struct gh h = { .desc = desc };
    h.v = arena_alloc(x->r->a, nb * sizeof *h.v);
    struct gh_item *cur = arena_alloc(x->r->a, nb * sizeof *cur);
    for (size_t i = 0; i < nb; i++)
        cur[i] = (struct gh_item){ &blocks[i], desc ? blocks[i].nrows : 0 };
    if (with_aux)
        aux_order(x, &h); /* else no aux: a call's input points carry none */
    int64_t d = blocks[0].shard_ns > 0 ? blocks[0].shard_ns : INT64_C(604800000000000);
    size_t n = 0;
    for (;;) {
        /* The next shard group: the one holding the earliest (DESC: latest)
         * row not yet taken. */
        bool any = false;
        int64_t t = 0;
        for (size_t i = 0; i < nb; i++) {
            const struct gh_item *it = &cur[i];
            if (desc ? it->pos == 0 : it->pos == it->b->nrows)
                continue;
            int64_t u = it->b->rows[desc ? it->pos - 1 : it->pos].t;
            if (!any || (desc ? u > t : u < t))
                t = u;
            any = true;
        }
        if (!any)
            break;
        int64_t lo = qx__shard_group_start(t, d);
        int64_t hi = lo > INT64_MAX - d ? INT64_MAX : lo + d;
        /* pop(): items in series-key order (reversed under DESC, as the
         * engine reverses its tag sets), those with a point, heap.Init. */
        h.n = 0;
        for (size_t k = 0; k < nb; k++) {
            size_t i = desc ? nb - 1 - k : k;
            if (gh_has(&h, &cur[i], lo, hi))
                h.v[h.n++] = cur[i];
        }
        for (size_t i = h.n / 2; i-- > 0;)
            gh_down(&h, i, h.n);
        while (h.n > 0) {
            /* heap.Pop: swap the root to the end, sift down, take it. */
            gh_swap(&h, 0, h.n - 1);
            gh_down(&h, 0, h.n - 1);
            struct gh_item it = h.v[--h.n];
            rows[n++] = *(desc ? &it.b->rows[it.pos - 1] : &it.b->rows[it.pos]);
            it.pos = desc ? it.pos - 1 : it.pos + 1;
            cur[it.b - blocks] = it;
            if (gh_has(&h, &it, lo, hi)) {
                h.v[h.n++] = it; /* heap.Push */
                gh_up(&h, h.n - 1);
            }
        }
    }
    return n;
}

static int emit_group(struct sel *x, const struct block *blocks, size_t nb, bool desc)
{
    struct qx__run *r = x->r;
    size_t total = 0;
    for (size_t i = 0; i < nb; i++)
        total += blocks[i].nrows;
    struct row *rows = arena_alloc(r->a, (total ? total : 1) * sizeof *rows);
    size_t n = merge_rows(x, blocks, nb, desc, rows, true);
    size_t from = (size_t)x->s->offset < n ? (size_t)x->s->offset : n;
    size_t cnt = n - from;
    if (x->s->limit > 0 && (size_t)x->s->limit < cnt)
        cnt = (size_t)x->s->limit;
    if (cnt == 0)
        return 0;
    size_t nc = x->ncols + 1;
    struct qx_value *vals = arena_alloc(r->a, cnt * nc * sizeof *vals);
    for (size_t i = 0; i < cnt; i++) {
        vals[i * nc] = (struct qx_value){ .kind = QX_TIME, .i = rows[from + i].t };
        memcpy(vals + i * nc + 1, rows[from + i].vals, x->ncols * sizeof *vals);
    }
    struct sv *cols = arena_alloc(r->a, nc * sizeof *cols);
    cols[0] = SV_LIT("time");
    for (size_t c = 0; c < x->ncols; c++)
        cols[c + 1] = x->cols[c].name;
    return qx__emit_tz(r, x->tz, blocks[0].meas, blocks[0].gtags, blocks[0].ngtags, cols, nc, vals, cnt);
}

static bool reads_ordered(const struct qx__node *n)
{
    if (!n)
        return false;
    switch (n->kind) {
    case QX_N_RAW:
        return true;
    case QX_N_LEAF:
        return n->fn == QFN_INTEGRAL;
    case QX_N_XFORM:
        return reads_ordered(n->child);
    case QX_N_MATH:
        return reads_ordered(n->lhs) || reads_ordered(n->rhs);
    default:
        return false;
    }
}

/* Aggregate SELECT: each output series' rows merged by time, handed to
 * qx__agg_series.  Without a WHERE lower bound the range starts at the
 * earliest point of the whole result, without an upper one at now(); the
 * row time without GROUP BY time is the lower bound (0 without one). */
static int emit_agg(struct sel *x, const struct outser *os, size_t from, size_t cnt,
                    int64_t min, int64_t max)
{
    struct qx__run *r = x->r;
    bool desc = x->agg->is_desc;
    int64_t start = min, end = max == INT64_MAX ? r->p->now_ns : max;
    if (min == INT64_MIN) {
        start = INT64_MAX;
        for (size_t i = 0; i < x->nblocks; i++)
            if (x->blocks[i].nrows && x->blocks[i].rows[0].t < start)
                start = x->blocks[i].rows[0].t;
    }
    int64_t stamp = min == INT64_MIN ? 0 : min;
    /* Transformations of raw values and integral() read their input as
     * influxd's sorted merge yields it (opt.Ordered): the first (integral:
     * last) of several points at one time wins, so the heap order counts. */
    bool ordered = false;
    for (size_t o = 0; o < x->agg->nouts && !ordered; o++)
        ordered = x->agg->outs[o].kind == QX_OUT_NODE && reads_ordered(x->agg->outs[o].node);
    /* so does mode(): its tie rule reads the time order, ties included
     * (observed on 1.6) */
    ordered = ordered || qx__agg_reads_mode(x->agg);
    int rc = x->nblocks || min != INT64_MIN ? qx__agg_check_buckets(r, x->agg, start, end) : 0;
    if (rc)
        return rc;
    for (size_t k = 0; k < cnt && rc == 0; k++) {
        size_t g = desc ? from + cnt - 1 - k : from + k;
        const struct block *blocks = x->blocks + os[g].first;
        size_t nb = os[g].n, total = 0;
        for (size_t i = 0; i < nb; i++)
            total += blocks[i].nrows;
        struct row *rows = arena_alloc(r->a, (total ? total : 1) * sizeof *rows);
        size_t n = 0;
        if (nb > 1 && ordered) {
            n = merge_rows(x, blocks, nb, desc, rows, false);
            /* qx__agg_series wants ascending rows and reverses raw input
             * under DESC itself: hand it influxd's DESC order reversed. */
            for (size_t i = 0; desc && i < n / 2; i++) {
                struct row t = rows[i];
                rows[i] = rows[n - 1 - i];
                rows[n - 1 - i] = t;
            }
        } else {
            for (size_t i = 0; i < nb; i++) {
                for (size_t j = 0; j < blocks[i].nrows; j++) {
                    rows[n] = blocks[i].rows[j];
                    rows[n].seq = n;
                    n++;
                }
            }
            if (nb > 1)
                qsort(rows, n, sizeof *rows, row_cmp);
        }
        int64_t *ts = arena_alloc(r->a, (n ? n : 1) * sizeof *ts);
        const struct qx_value **vals = arena_alloc(r->a, (n ? n : 1) * sizeof *vals);
        for (size_t i = 0; i < n; i++) {
            ts[i] = rows[i].t;
            vals[i] = rows[i].vals;
        }
        rc = qx__agg_series(r, x->s, x->agg, start, end, min != INT64_MIN, stamp,
                            blocks[0].meas, blocks[0].gtags, blocks[0].ngtags, ts,
                            (const struct qx_value *const *)vals, n);
    }
    return rc;
}

struct fk_list {
    struct arena *a;
    struct qx__field_key *v;
    size_t n, cap;
};

static int fk_cb(void *arg, struct sv key, enum tsdb_type t)
{
    struct fk_list *l = arg;
    for (size_t i = 0; i < l->n; i++)
        if (sv_eq(l->v[i].name, key))
            return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        struct qx__field_key *nv = arena_alloc(l->a, l->cap * sizeof *nv);
        if (l->n)
            memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
    }
    l->v[l->n++] = (struct qx__field_key){ arena_sv_dup(l->a, key), t };
    return 0;
}

static int fk_qcmp(const void *a, const void *b)
{
    return vcmp(((const struct qx__field_key *)a)->name, ((const struct qx__field_key *)b)->name);
}

/* The field keys of all sources with their types, sorted by name. */
static int field_keys(struct qx__run *r, const struct src *srcs, size_t nsrc,
                      struct qx__field_key **out, size_t *nout)
{
    struct fk_list l = { .a = r->a };
    for (size_t i = 0; i < nsrc; i++)
        tsdb_list_fields(r->c->db, srcs[i].db, srcs[i].rp, srcs[i].name, fk_cb, &l, NULL);
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, fk_qcmp);
    *out = l.v;
    *nout = l.n;
    return 0;
}

int qx__exec_select(struct qx__run *r, const struct iql_select *s)
{
    int rc = iql_select_check(s, r->e);
    if (rc)
        return rc;
    struct qx__agg agg;
    struct sel x = { .r = r, .s = s };
    bool is_agg = !s->is_raw;
    for (size_t i = 0; i < s->nfields; i++)
        is_agg = is_agg || s->fields[i].expr->kind == IQL_EXPR_DISTINCT; /* SELECT DISTINCT x */
    struct src *srcs = NULL;
    size_t nsrc = 0;
    rc = resolve_sources(r, s, &srcs, &nsrc);
    if (rc)
        return rc;
    if (is_agg) {
        struct qx__field_key *fk = NULL;
        size_t nfk = 0;
        rc = field_keys(r, srcs, nsrc, &fk, &nfk);
        struct name_list tk = { .a = r->a };
        for (size_t i = 0; i < nsrc; i++)
            tsdb_list_tag_keys(r->c->db, srcs[i].db, srcs[i].rp, srcs[i].name, nl_cb, &tk, NULL);
        if (tk.n > 1)
            qsort(tk.v, tk.n, sizeof *tk.v, name_qcmp);
        struct qx__keys keys = { fk, nfk, tk.v, tk.n };
        rc = rc ? rc : qx__agg_plan_keys(r, s, &keys, &agg);
        if (rc)
            return rc;
        x.agg = &agg;
    } else {
        struct qx__tz *tz;
        rc = qx__tz_load(r, s->tz, &tz);
        if (rc)
            return rc;
        x.tz = tz;
    }
    x.dims = arena_alloc(r->a, (s->ndims ? s->ndims : 1) * sizeof *x.dims);
    for (size_t i = 0; i < s->ndims; i++) {
        const struct iql_expr *d = s->dims[i];
        while (d->kind == IQL_EXPR_PAREN)
            d = d->paren;
        if (d->kind == IQL_EXPR_WILDCARD) {
            x.group_all = true;
        } else if (d->kind == IQL_EXPR_VARREF) {
            bool dup = false;
            for (size_t k = 0; k < x.ndims && !dup; k++)
                dup = sv_eq(x.dims[k], d->ref.name);
            if (!dup)
                x.dims[x.ndims++] = d->ref.name;
        } else if (x.agg && d->kind == IQL_EXPR_CALL && sv_case_eq(d->call.name, "time")) {
            continue; /* GROUP BY time(): planned by qx__agg_plan */
        } else {
            return err_set(r->e, ERR_UNSUPPORTED, "GROUP BY time and regex dimensions are not supported yet");
        }
    }
    qsort(x.dims, x.ndims, sizeof *x.dims, name_qcmp);
    rc = build_columns(&x, srcs, nsrc);
    if (rc)
        return rc;
    if (!x.agg)
        dedupe_names(&x);
    bool has_field_col = false;
    for (size_t c = 0; c < x.ncols; c++)
        has_field_col = has_field_col || x.cols[c].kind != COL_TAG;
    if (!has_field_col || nsrc == 0)
        return 0; /* selecting only tags returns nothing, as in 1.6 */
    int64_t min, max;
    rc = qx__time_range(r, s->cond, &min, &max);
    rc = rc ? rc : qx__cond_prepare(r, s->cond, &x.cond);
    if (rc)
        return rc;
    struct name_list fields = { .a = r->a };
    for (size_t i = 0; i < nsrc; i++)
        tsdb_list_fields(r->c->db, srcs[i].db, srcs[i].rp, srcs[i].name, nl_field_cb, &fields,
                         NULL);
    x.cond_needs_fields = refs_field(s->cond, &fields);
    qx__cond_set_fields(&x.cond, fields.v, fields.n);
    if (min > max)
        return 0;
    /* Transformations over aggregates read one more interval before the
     * range (after it under DESC), as influxd widens their input. */
    int64_t smin = min, smax = max;
    if (x.agg && x.agg->has_time && x.agg->max_ext) {
        int64_t w = (int64_t)x.agg->max_ext * x.agg->interval_ns;
        if (x.agg->is_desc)
            smax = max == INT64_MAX ? INT64_MAX : max < INT64_MAX - w ? max + w : INT64_MAX;
        else if (min != INT64_MIN)
            smin = min > INT64_MIN + w ? min - w : INT64_MIN;
        if (x.agg->is_desc && max == INT64_MAX)
            smax = INT64_MAX;
    }
    if (r->c->is_subquery_outer)
        smin = INT64_MIN; /* the inner query was narrowed already */
    struct tsdb_snapshot *snap = tsdb_snapshot_new(r->c->db);
    for (size_t i = 0; i < nsrc && rc == 0; i++) {
        x.meas = srcs[i].name;
        x.shard_ns = srcs[i].shard_ns;
        if (x.group_all) {
            /* 1.6 tags every series with all keys of the measurement ("" when absent). */
            struct name_list tk = { .a = r->a };
            tsdb_list_tag_keys(r->c->db, srcs[i].db, srcs[i].rp, srcs[i].name, nl_cb, &tk, NULL);
            x.all_tags = tk.v;
            x.nall_tags = tk.n;
        }
        struct err te;
        rc = tsdb_snapshot_scan(snap, srcs[i].db, srcs[i].rp, srcs[i].name, smin, smax,
                                scan_series, &x, &te);
        if (rc == ERR_NOTFOUND && !r->e->msg[0])
            rc = 0;
    }
    tsdb_snapshot_free(&snap);
    if (rc)
        return rc;
    if (x.nblocks > 1)
        qsort(x.blocks, x.nblocks, sizeof *x.blocks, block_cmp);
    /* Output series: runs of blocks with the same measurement and group. */
    struct outser *os = arena_alloc(r->a, (x.nblocks ? x.nblocks : 1) * sizeof *os);
    size_t nos = 0;
    for (size_t i = 0; i < x.nblocks; i++) {
        if (i == 0 || vcmp(x.blocks[i].meas, x.blocks[i - 1].meas) ||
            vcmp(x.blocks[i].group, x.blocks[i - 1].group))
            os[nos++] = (struct outser){ i, 0 };
        os[nos - 1].n++;
    }
    size_t from = (size_t)s->soffset < nos ? (size_t)s->soffset : nos;
    size_t cnt = nos - from;
    if (s->slimit > 0 && (size_t)s->slimit < cnt)
        cnt = (size_t)s->slimit;
    bool desc = s->nsort > 0 && !s->sort[0].asc;
    if (x.agg)
        return emit_agg(&x, os, from, cnt, min, max);
    for (size_t k = 0; k < cnt && rc == 0; k++) {
        size_t i = desc ? from + cnt - 1 - k : from + k;
        rc = emit_group(&x, x.blocks + os[i].first, os[i].n, desc);
    }
    return rc;
}
