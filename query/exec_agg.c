// SPDX-License-Identifier: MIT
/*
 * Aggregate SELECT: count/sum/mean/median/mode/spread/stddev and the
 * selectors min/max/first/last/percentile over one field each, with or
 * without GROUP BY time(interval[, offset]), and every fill() mode.
 *
 * exec_select.c does the scanning, WHERE and grouping; this file gets the
 * merged rows of one output series at a time and:
 *  1. plans the buckets over the query range (qfn_bucket_plan, which also
 *     enforces max_buckets with influxd's text);
 *  2. builds one qfn column per call from the non-null values of its field
 *     and runs qfn_aggregate() per bucket;
 *  3. stamps the rows: the bucket start under GROUP BY time; otherwise the
 *     selected point's time for a lone selector and the range start (the
 *     WHERE lower bound, 0 without one) for everything else, as 1.6 does;
 *  4. orders the buckets (ORDER BY time DESC reverses them), fills each
 *     column in output order, drops all-null rows under fill(none), applies
 *     OFFSET/LIMIT and emits the series.
 * Series without points never reach this file, which is how influxd hides
 * empty series.  Multi-row functions (distinct, top, bottom, sample),
 * integral, transformations and math over calls are refused for now.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/exec_agg.h"

static int call_arg_number(const struct iql_expr *e, double *out)
{
    while (e->kind == IQL_EXPR_PAREN)
        e = e->paren;
    switch (e->kind) {
    case IQL_EXPR_INTEGER: *out = (double)e->i; return 0;
    case IQL_EXPR_NUMBER: *out = e->f; return 0;
    default: return -1;
    }
}

static int plan_call(struct qx__run *r, const struct iql_field *f, struct qx__agg_call *c)
{
    const struct iql_expr *e = f->expr;
    while (e->kind == IQL_EXPR_PAREN)
        e = e->paren;
    if (e->kind != IQL_EXPR_CALL)
        return err_set(r->e, ERR_UNSUPPORTED,
                       "only function calls on a field are supported in an aggregate SELECT yet");
    if (qfn_kind_parse(e->call.name, &c->kind) < 0)
        return err_set(r->e, ERR_UNSUPPORTED, "function not supported yet: %.*s",
                       SV_FMT(e->call.name));
    switch (c->kind) {
    case QFN_COUNT: case QFN_SUM: case QFN_MEAN: case QFN_MEDIAN: case QFN_MODE:
    case QFN_SPREAD: case QFN_STDDEV: case QFN_MIN: case QFN_MAX: case QFN_FIRST:
    case QFN_LAST: case QFN_PERCENTILE:
        break;
    default:
        return err_set(r->e, ERR_UNSUPPORTED, "function not supported yet: %s()",
                       qfn_kind_name(c->kind));
    }
    size_t want = c->kind == QFN_PERCENTILE ? 2 : 1;
    if (e->call.nargs != want)
        return err_set(r->e, ERR_INVAL, "invalid number of arguments for %s, expected %zu, got %zu",
                       qfn_kind_name(c->kind), want, e->call.nargs);
    const struct iql_expr *a = e->call.args[0];
    while (a->kind == IQL_EXPR_PAREN)
        a = a->paren;
    if (a->kind != IQL_EXPR_VARREF || a->ref.type == IQL_VT_TAG)
        return err_set(r->e, ERR_UNSUPPORTED, "%s() supports only a field argument yet",
                       qfn_kind_name(c->kind));
    memset(&c->args, 0, sizeof c->args);
    if (c->kind == QFN_PERCENTILE && call_arg_number(e->call.args[1], &c->args.percentile) < 0)
        return err_set(r->e, ERR_INVAL, "expected float argument in percentile()");
    c->field = a->ref.name;
    c->name = f->alias.n ? f->alias : sv_cstr(qfn_kind_name(c->kind));
    return 0;
}

int qx__agg_plan(struct qx__run *r, const struct iql_select *s, struct qx__agg *g)
{
    memset(g, 0, sizeof *g);
    g->calls = arena_alloc(r->a, (s->nfields ? s->nfields : 1) * sizeof *g->calls);
    for (size_t i = 0; i < s->nfields; i++) {
        int rc = plan_call(r, &s->fields[i], &g->calls[g->ncalls]);
        if (rc)
            return rc;
        g->ncalls++;
    }
    g->is_lone_selector = g->ncalls == 1 && qfn_kind_is_selector(g->calls[0].kind);
    for (size_t i = 0; i < s->ndims; i++) {
        const struct iql_expr *d = s->dims[i];
        while (d->kind == IQL_EXPR_PAREN)
            d = d->paren;
        if (d->kind != IQL_EXPR_CALL || !sv_case_eq(d->call.name, "time"))
            continue;
        if (d->call.nargs < 1 || d->call.nargs > 2 || d->call.args[0]->kind != IQL_EXPR_DURATION)
            return err_set(r->e, ERR_INVAL, "time dimension expected 1 or 2 arguments");
        g->has_time = true;
        g->interval_ns = d->call.args[0]->dur_ns;
        if (d->call.nargs == 2) {
            const struct iql_expr *o = d->call.args[1];
            if (o->kind != IQL_EXPR_DURATION)
                return err_set(r->e, ERR_UNSUPPORTED, "time dimension offset must be a duration");
            g->offset_ns = o->dur_ns;
        }
    }
    switch (s->fill) {
    case IQL_FILL_NULL: g->fill.mode = QFN_FILL_NULL; break;
    case IQL_FILL_NONE: g->fill.mode = QFN_FILL_NONE; break;
    case IQL_FILL_NUMBER: g->fill.mode = QFN_FILL_NUMBER; break;
    case IQL_FILL_PREVIOUS: g->fill.mode = QFN_FILL_PREVIOUS; break;
    case IQL_FILL_LINEAR: g->fill.mode = QFN_FILL_LINEAR; break;
    }
    g->fill.is_int = s->fill_is_int;
    g->fill.i = s->fill_i;
    g->fill.f = s->fill_is_int ? (double)s->fill_i : s->fill_f;
    return 0;
}

static enum qfn_type qfn_type_of(enum qx_kind k)
{
    switch (k) {
    case QX_FLOAT: return QFN_T_FLOAT;
    case QX_INT: return QFN_T_INT;
    case QX_UINT: return QFN_T_UINT;
    case QX_BOOL: return QFN_T_BOOL;
    case QX_STRING: return QFN_T_STRING;
    default: return QFN_T_NONE;
    }
}

static struct qx_value to_qx(const struct qfn_point *p)
{
    struct qx_value v = { .kind = QX_NULL };
    if (p->is_null)
        return v;
    switch (p->type) {
    case QFN_T_FLOAT: v.kind = QX_FLOAT; v.f = p->v.f; break;
    case QFN_T_INT: v.kind = QX_INT; v.i = p->v.i; break;
    case QFN_T_UINT: v.kind = QX_UINT; v.u = p->v.u; break;
    case QFN_T_BOOL: v.kind = QX_BOOL; v.b = p->v.b; break;
    case QFN_T_STRING: v.kind = QX_STRING; v.s = p->v.s; break;
    case QFN_T_NONE: break;
    }
    return v;
}

/* The non-null values of column c as a qfn column (one type: the first
 * value's; values of another type are skipped, as a field has one type per
 * shard in influxd). */
static void build_column(struct arena *a, size_t c, const int64_t *ts,
                         const struct qx_value *const *rows, size_t nrows,
                         struct qfn_values *in)
{
    memset(in, 0, sizeof *in);
    for (size_t i = 0; i < nrows && in->type == QFN_T_NONE; i++)
        in->type = qfn_type_of(rows[i][c].kind);
    if (in->type == QFN_T_NONE)
        return;
    size_t cap = nrows ? nrows : 1;
    int64_t *t = arena_alloc(a, cap * sizeof *t);
    double *vf = NULL;
    int64_t *vi = NULL;
    uint64_t *vu = NULL;
    bool *vb = NULL;
    struct sv *vs = NULL;
    switch (in->type) {
    case QFN_T_FLOAT: in->v.f = vf = arena_alloc(a, cap * sizeof *vf); break;
    case QFN_T_INT: in->v.i = vi = arena_alloc(a, cap * sizeof *vi); break;
    case QFN_T_UINT: in->v.u = vu = arena_alloc(a, cap * sizeof *vu); break;
    case QFN_T_BOOL: in->v.b = vb = arena_alloc(a, cap * sizeof *vb); break;
    case QFN_T_STRING: in->v.s = vs = arena_alloc(a, cap * sizeof *vs); break;
    case QFN_T_NONE: break;
    }
    size_t n = 0;
    for (size_t i = 0; i < nrows; i++) {
        const struct qx_value *v = &rows[i][c];
        if (qfn_type_of(v->kind) != in->type)
            continue;
        t[n] = ts[i];
        switch (in->type) {
        case QFN_T_FLOAT: vf[n] = v->f; break;
        case QFN_T_INT: vi[n] = v->i; break;
        case QFN_T_UINT: vu[n] = v->u; break;
        case QFN_T_BOOL: vb[n] = v->b; break;
        case QFN_T_STRING: vs[n] = v->s; break;
        case QFN_T_NONE: break;
        }
        n++;
    }
    in->ts_ns = t;
    in->n = n;
}

int qx__agg_check_buckets(struct qx__run *r, const struct qx__agg *g, int64_t start_ns,
                          int64_t end_ns)
{
    if (!g->has_time || start_ns > end_ns)
        return 0;
    /* influxd counts the buckets up to the one holding end - 1. */
    struct qfn_buckets b;
    int64_t lim_end = end_ns > start_ns ? end_ns - 1 : end_ns;
    uint64_t lim = r->c->max_buckets ? r->c->max_buckets : QX_MAX_BUCKETS_DEFAULT;
    size_t max = lim >= SIZE_MAX ? 0 : (size_t)lim; /* qfn: 0 = no limit */
    return qfn_bucket_plan(start_ns, lim_end, g->interval_ns, g->offset_ns, 0, max, &b, r->e);
}

int qx__agg_series(struct qx__run *r, const struct iql_select *s, const struct qx__agg *g,
                   int64_t start_ns, int64_t end_ns, int64_t stamp_ns, struct sv meas,
                   const struct tsdb_tag *tags, size_t ntags, const struct sv *cols,
                   const int64_t *ts, const struct qx_value *const *rows, size_t nrows)
{
    struct arena *a = r->a;
    struct qfn_buckets b = { .n = 1 };
    if (g->has_time) {
        int rc = qfn_bucket_plan(start_ns, end_ns, g->interval_ns, g->offset_ns, 0, 0, &b, r->e);
        if (rc)
            return rc;
    }
    size_t nb = b.n, nc = g->ncalls;
    /* res[c * nb + k]: call c in bucket k (ascending time). */
    struct qfn_point *res = arena_alloc(a, nb * nc * sizeof *res);
    int64_t *row_ts = arena_alloc(a, nb * sizeof *row_ts);
    for (size_t k = 0; k < nb; k++)
        row_ts[k] = g->has_time ? qfn_bucket_time(&b, k) : stamp_ns;
    for (size_t c = 0; c < nc; c++) {
        const struct qx__agg_call *call = &g->calls[c];
        struct qfn_values in;
        build_column(a, c, ts, rows, nrows, &in);
        enum qfn_type rt = qfn_result_type(call->kind, in.type);
        if (in.type == QFN_T_NONE)
            rt = call->kind == QFN_COUNT ? QFN_T_INT : QFN_T_FLOAT;
        size_t lo = 0;
        for (size_t k = 0; k < nb; k++) {
            size_t hi = lo;
            if (g->has_time) {
                /* skip points before bucket k (or before the first one) */
                while (lo < in.n) {
                    size_t bi = qfn_bucket_index(&b, in.ts_ns[lo]);
                    if (bi == SIZE_MAX ? in.ts_ns[lo] >= b.first_ns : bi >= k)
                        break;
                    lo++;
                }
                hi = lo;
                while (hi < in.n && qfn_bucket_index(&b, in.ts_ns[hi]) == k)
                    hi++;
            } else {
                hi = in.n;
            }
            struct qfn_point *out = &res[c * nb + k];
            *out = (struct qfn_point){ .ts_ns = row_ts[k], .type = rt, .is_null = true };
            if (in.type != QFN_T_NONE) {
                size_t nout = 0;
                int rc = qfn_aggregate(call->kind, &call->args, &in, lo, hi, row_ts[k], out, 1,
                                       &nout, r->e);
                if (rc)
                    return rc;
                if (nout == 0)
                    *out = (struct qfn_point){ .ts_ns = row_ts[k], .type = rt, .is_null = true };
            }
            lo = hi;
        }
    }
    if (!g->has_time && g->is_lone_selector && !res[0].is_null)
        row_ts[0] = res[0].ts_ns;
    bool desc = s->nsort > 0 && !s->sort[0].asc;
    if (desc) {
        for (size_t k = 0; k < nb / 2; k++) {
            int64_t t = row_ts[k];
            row_ts[k] = row_ts[nb - 1 - k];
            row_ts[nb - 1 - k] = t;
            for (size_t c = 0; c < nc; c++) {
                struct qfn_point p = res[c * nb + k];
                res[c * nb + k] = res[c * nb + nb - 1 - k];
                res[c * nb + nb - 1 - k] = p;
            }
        }
    }
    for (size_t c = 0; c < nc; c++) {
        enum qfn_kind k = g->calls[c].kind;
        qfn_fill_column(&g->fill, k == QFN_COUNT || k == QFN_COUNT_DISTINCT, res[c * nb].type,
                        g->has_time ? g->interval_ns : 1, res + c * nb, nb);
    }
    /* Rows to emit: all, or under fill(none) those with a value. */
    size_t ncol = nc + 1;
    struct qx_value *vals = arena_alloc(a, nb * ncol * sizeof *vals);
    size_t n = 0, skipped = 0;
    size_t offset = s->offset > 0 ? (size_t)s->offset : 0;
    for (size_t k = 0; k < nb; k++) {
        if ((k & 0xfff) == 0) {
            int rc = qx__check_time(r);
            if (rc)
                return rc;
        }
        bool any = false;
        for (size_t c = 0; c < nc && !any; c++)
            any = !res[c * nb + k].is_null;
        if (!any && g->fill.mode == QFN_FILL_NONE)
            continue;
        if (skipped < offset) {
            skipped++;
            continue;
        }
        if (s->limit > 0 && n >= (size_t)s->limit)
            break;
        struct qx_value *row = vals + n * ncol;
        row[0] = (struct qx_value){ .kind = QX_TIME, .i = row_ts[k] };
        for (size_t c = 0; c < nc; c++)
            row[c + 1] = to_qx(&res[c * nb + k]);
        n++;
    }
    if (n == 0)
        return 0;
    struct sv *names = arena_alloc(a, ncol * sizeof *names);
    names[0] = SV_LIT("time");
    memcpy(names + 1, cols, nc * sizeof *names);
    return qx__emit(r, meas, tags, ntags, names, ncol, vals, n);
}
