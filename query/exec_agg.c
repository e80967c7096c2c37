// SPDX-License-Identifier: MIT
/*
 * SELECTs with function calls: aggregates and selectors (count, sum, mean,
 * median, mode, spread, stddev, min, max, first, last, percentile,
 * count(distinct()), distinct, top, bottom, sample, integral), the
 * transformations (derivative, non_negative_derivative, difference,
 * non_negative_difference, moving_average, cumulative_sum, elapsed) over
 * raw fields or over aggregates, and math over all of them and literals,
 * with or without GROUP BY time(interval[, offset]), every fill() mode.
 *
 * exec_select.c does the scanning, WHERE and grouping; this file plans the
 * select list (qx__agg_plan) and gets the merged rows of one output series
 * at a time (qx__agg_series).  Each select-list expression is a tree of
 * nodes; every node yields a list of points in OUTPUT order (descending
 * under ORDER BY time DESC), which is how influxd's iterators run:
 *  - a leaf aggregates its input column per bucket (or over the range), with
 *    fill() applied per call in output order; fill(none) drops the empty
 *    buckets; multi-row calls (distinct, top, bottom, sample) give all their
 *    rows; integral() carries its state across buckets (qfn_integral);
 *  - a transformation pushes its child's non-null points through qfn_xform;
 *  - math joins its operands by time (a literal matches every point);
 *  - the output rows are the union of the columns' times, a column without
 *    a point at a row's time giving null (influxd's emitter does this; it is
 *    why non_negative_derivative's dropped rows show as null next to other
 *    columns).
 * 1.6 quirks reproduced (all observed): a transformation over an aggregate
 * widens its input range by ONE interval before the WHERE lower bound
 * (after the upper one under DESC), moving_average included, and the widened
 * range also feeds points before the lower bound into the first bucket;
 * with no lower bound that widening underflows and the column is empty.  A
 * query whose only distinct call is a selector reports the selected point's
 * time without GROUP BY time (max(v) * 2 too); everything else the range
 * start (0 without one).  An out-of-rank percentile without GROUP BY time
 * gives no row.  top/bottom keep their points' times and come out by time
 * within each bucket even under DESC.
 * Series without points never reach this file, which is how influxd hides
 * empty series.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "query/exec_agg.h"

#define MAX_WINDOW ((size_t)1 << 20) /* moving_average window cap */

/* ---- planning ------------------------------------------------------------- */

struct planner {
    struct qx__run *r;
    const struct iql_select *s;
    struct qx__agg *g;
    size_t cap_in, cap_out;
    struct sv *calls;       /* rendered top-level calls, for "one distinct call" */
    size_t ncalls, cap_calls;
    bool first_call_is_selector;
    struct qx__node *first_leaf_selector;
    size_t nleaves;
};

static const struct iql_expr *unparen(const struct iql_expr *e)
{
    while (e->kind == IQL_EXPR_PAREN)
        e = e->paren;
    return e;
}

static size_t add_input(struct planner *p, struct sv ref, bool is_auto, bool dedupe)
{
    struct qx__agg *g = p->g;
    if (dedupe)
        for (size_t i = 0; i < g->ninputs; i++)
            if (sv_eq(g->inputs[i].ref, ref) && g->inputs[i].is_auto == is_auto)
                return i;
    if (g->ninputs == p->cap_in) {
        p->cap_in = p->cap_in ? p->cap_in * 2 : 8;
        struct qx__agg_input *n = arena_alloc(p->r->a, p->cap_in * sizeof *n);
        if (g->ninputs)
            memcpy(n, g->inputs, g->ninputs * sizeof *n);
        g->inputs = n;
    }
    g->inputs[g->ninputs] = (struct qx__agg_input){ ref, is_auto };
    return g->ninputs++;
}

static void add_out(struct planner *p, struct qx__agg_out o)
{
    struct qx__agg *g = p->g;
    if (g->nouts == p->cap_out) {
        p->cap_out = p->cap_out ? p->cap_out * 2 : 8;
        struct qx__agg_out *n = arena_alloc(p->r->a, p->cap_out * sizeof *n);
        if (g->nouts)
            memcpy(n, g->outs, g->nouts * sizeof *n);
        g->outs = n;
    }
    g->outs[g->nouts++] = o;
}

static struct qx__node *new_node(struct planner *p, enum qx__node_kind k)
{
    struct qx__node *n = arena_calloc(p->r->a, sizeof *n);
    n->kind = k;
    n->stop = arena_calloc(p->r->a, sizeof *n->stop);
    return n;
}

static int number_arg(const struct iql_expr *e, double *out)
{
    e = unparen(e);
    switch (e->kind) {
    case IQL_EXPR_INTEGER: *out = (double)e->i; return 0;
    case IQL_EXPR_NUMBER: *out = e->f; return 0;
    default: return -1;
    }
}

static bool is_xform(enum qfn_kind k)
{
    return k >= QFN_DERIVATIVE && k <= QFN_ELAPSED;
}

/* Widens the range of every leaf under n by ext intervals. */
static void add_ext(struct qx__node *n, size_t ext)
{
    if (!n)
        return;
    switch (n->kind) {
    case QX_N_LEAF: n->ext += ext; break;
    case QX_N_XFORM: add_ext(n->child, ext); break;
    case QX_N_MATH: add_ext(n->lhs, ext); add_ext(n->rhs, ext); break;
    default: break;
    }
}

static int field_of(struct planner *p, const struct iql_expr *call, const struct iql_expr *a,
                    struct sv *out)
{
    a = unparen(a);
    if (a->kind == IQL_EXPR_WILDCARD || a->kind == IQL_EXPR_REGEX)
        /* f(*) left after expansion: inside math, as influxd refuses it */
        return err_set(p->r->e, ERR_INVAL, "unsupported expression with wildcard: %.*s()",
                       SV_FMT(call->call.name));
    if (a->kind != IQL_EXPR_VARREF)
        return err_set(p->r->e, ERR_UNSUPPORTED,
                       "%.*s(): only a field argument is supported yet (no wildcards or regexes)",
                       SV_FMT(call->call.name));
    *out = a->ref.name;
    return 0;
}

static void note_call(struct planner *p, const struct iql_expr *e, bool is_selector)
{
    struct buf b;
    buf_init(&b, 4096);
    struct sv t = SV_NULL;
    if (iql_render_expr(&b, e) == 0)
        t = arena_sv_dup(p->r->a, buf_sv(&b));
    buf_fini(&b);
    for (size_t i = 0; i < p->ncalls; i++)
        if (sv_eq(p->calls[i], t))
            return;
    if (p->ncalls == p->cap_calls) {
        p->cap_calls = p->cap_calls ? p->cap_calls * 2 : 8;
        struct sv *n = arena_alloc(p->r->a, p->cap_calls * sizeof *n);
        if (p->ncalls)
            memcpy(n, p->calls, p->ncalls * sizeof *n);
        p->calls = n;
    }
    if (p->ncalls == 0)
        p->first_call_is_selector = is_selector;
    p->calls[p->ncalls++] = t;
}

static int plan_expr(struct planner *p, const struct iql_expr *e, bool top_call,
                     struct qx__node **out);

static int plan_call(struct planner *p, const struct iql_expr *e, bool top_call,
                     struct qx__node **out)
{
    struct qx__run *r = p->r;
    struct sv name = e->call.name;
    const struct iql_expr *const *a = (const struct iql_expr *const *)e->call.args;
    size_t n = e->call.nargs;
    enum qfn_kind k;
    bool count_distinct = false;
    if (sv_eq_cstr(name, "count") && n == 1 && unparen(a[0])->kind == IQL_EXPR_CALL &&
        sv_eq_cstr(unparen(a[0])->call.name, "distinct")) {
        k = QFN_COUNT_DISTINCT;
        count_distinct = true;
    } else if (sv_eq_cstr(name, "integral")) {
        k = QFN_INTEGRAL;
    } else if (qfn_kind_parse(name, &k) < 0 || k == QFN_COUNT_DISTINCT) {
        return err_set(r->e, ERR_UNSUPPORTED, "function not supported yet: %.*s()",
                       SV_FMT(name));
    }
    if (top_call)
        note_call(p, e, qfn_kind_is_selector(k));
    if (n < 1)
        return err_set(r->e, ERR_INVAL, "invalid number of arguments for %.*s", SV_FMT(name));
    if (is_xform(k)) {
        struct qx__node *x = new_node(p, QX_N_XFORM);
        x->fn = k;
        const struct iql_expr *in = unparen(a[0]);
        if (in->kind == IQL_EXPR_CALL) {
            int rc = plan_expr(p, in, false, &x->child);
            if (rc)
                return rc;
        } else if (in->kind == IQL_EXPR_VARREF && !p->g->has_time) {
            x->child = new_node(p, QX_N_RAW);
            x->child->input = add_input(p, in->ref.name, false, true);
        } else {
            return err_set(r->e, ERR_UNSUPPORTED,
                           "%.*s(): only a field or an aggregate argument is supported yet",
                           SV_FMT(name));
        }
        if ((k == QFN_DERIVATIVE || k == QFN_NON_NEGATIVE_DERIVATIVE || k == QFN_ELAPSED) &&
            n == 2 && unparen(a[1])->kind == IQL_EXPR_DURATION)
            x->args.unit_ns = unparen(a[1])->dur_ns;
        if (k == QFN_MOVING_AVERAGE) {
            double w;
            if (n != 2 || number_arg(a[1], &w) < 0)
                return err_set(r->e, ERR_INVAL, "moving_average window must be an integer");
            x->args.n = (int64_t)w;
        }
        if (p->g->has_time)
            add_ext(x->child, qfn_xform_extra_intervals(k, &x->args));
        *out = x;
        return 0;
    }
    struct qx__node *l = new_node(p, QX_N_LEAF);
    l->fn = k;
    struct sv field;
    int rc = field_of(p, e, count_distinct ? unparen(a[0])->call.args[0] : a[0], &field);
    if (rc)
        return rc;
    l->input = add_input(p, field, false, true);
    switch (k) {
    case QFN_PERCENTILE:
        if (n != 2 || number_arg(a[1], &l->args.percentile) < 0)
            return err_set(r->e, ERR_INVAL, "expected float argument in percentile()");
        break;
    case QFN_SAMPLE: {
        double v;
        if (n != 2 || number_arg(a[1], &v) < 0)
            return err_set(r->e, ERR_INVAL, "expected integer argument in sample()");
        l->args.n = (int64_t)v;
        break;
    }
    case QFN_TOP: case QFN_BOTTOM: {
        double v;
        if (n < 2 || number_arg(a[n - 1], &v) < 0)
            return err_set(r->e, ERR_INVAL, "expected integer as last argument in %s()",
                           qfn_kind_name(k));
        l->args.n = (int64_t)v;
        if (p->s->limit > 0 && l->args.n > p->s->limit)
            return err_set(r->e, ERR_INVAL,
                           "limit (%" PRId64 ") in %s function can not be larger than the LIMIT "
                           "(%" PRId64 ") in the select statement",
                           l->args.n, qfn_kind_name(k), p->s->limit);
        l->ntag_inputs = n - 2;
        for (size_t i = 1; i + 1 < n; i++) {
            const struct iql_expr *t = unparen(a[i]);
            if (t->kind != IQL_EXPR_VARREF)
                return err_set(r->e, ERR_INVAL, "only fields or tags are allowed in %s()",
                               qfn_kind_name(k));
            size_t idx = add_input(p, t->ref.name, true, false);
            if (i == 1)
                l->tag_input = idx;
        }
        break;
    }
    case QFN_INTEGRAL:
        if (n == 2 && unparen(a[1])->kind == IQL_EXPR_DURATION)
            l->args.unit_ns = unparen(a[1])->dur_ns;
        break;
    default:
        if (n != 1)
            return err_set(r->e, ERR_INVAL, "invalid number of arguments for %.*s, expected 1, "
                           "got %zu", SV_FMT(name), n);
        break;
    }
    p->nleaves++;
    if (qfn_kind_is_selector(k) && !p->first_leaf_selector)
        p->first_leaf_selector = l;
    *out = l;
    return 0;
}

static int plan_expr(struct planner *p, const struct iql_expr *e, bool top_call,
                     struct qx__node **out)
{
    e = unparen(e);
    switch (e->kind) {
    case IQL_EXPR_CALL:
        return plan_call(p, e, top_call, out);
    case IQL_EXPR_INTEGER: case IQL_EXPR_NUMBER: case IQL_EXPR_UNSIGNED: {
        struct qx__node *n = new_node(p, QX_N_LIT);
        if (e->kind == IQL_EXPR_INTEGER)
            n->lit = (struct qfn_point){ .type = QFN_T_INT, .v.i = e->i };
        else if (e->kind == IQL_EXPR_UNSIGNED)
            n->lit = (struct qfn_point){ .type = QFN_T_UINT, .v.u = e->u };
        else
            n->lit = (struct qfn_point){ .type = QFN_T_FLOAT, .v.f = e->f };
        *out = n;
        return 0;
    }
    case IQL_EXPR_BINARY: {
        if (e->bin.op < IQL_OP_ADD || e->bin.op > IQL_OP_BITXOR)
            break;
        struct qx__node *n = new_node(p, QX_N_MATH);
        n->op = e->bin.op;
        int rc = plan_expr(p, e->bin.lhs, top_call, &n->lhs);
        rc = rc ? rc : plan_expr(p, e->bin.rhs, top_call, &n->rhs);
        if (rc)
            return rc;
        *out = n;
        return 0;
    }
    default:
        break;
    }
    return err_set(p->r->e, ERR_UNSUPPORTED,
                   "this expression is not supported in an aggregate SELECT yet");
}

/* influxd's column name of an expression: the names of the calls and
 * fields it refers to, joined with '_'. */
static int expr_name(struct buf *b, const struct iql_expr *e)
{
    e = unparen(e);
    switch (e->kind) {
    case IQL_EXPR_VARREF:
        return (b->len ? buf_append_char(b, '_') : 0) || buf_append_sv(b, e->ref.name) ? -1 : 0;
    case IQL_EXPR_DISTINCT:
        return (b->len ? buf_append_char(b, '_') : 0) || buf_append_str(b, "distinct") ? -1 : 0;
    case IQL_EXPR_CALL:
        return (b->len ? buf_append_char(b, '_') : 0) || buf_append_sv(b, e->call.name) ? -1 : 0;
    case IQL_EXPR_BINARY:
        return expr_name(b, e->bin.lhs) || expr_name(b, e->bin.rhs) ? -1 : 0;
    default:
        return 0;
    }
}

/* Output names get _1, _2, ... when taken, as influxd names them. */
static void dedupe_outs(struct qx__run *r, struct qx__agg *g)
{
    for (size_t i = 1; i < g->nouts; i++) {
        struct sv base = g->outs[i].name;
        bool taken = false;
        for (size_t j = 0; j < i && !taken; j++)
            taken = sv_eq(g->outs[j].name, base);
        for (unsigned k = 1; taken; k++) {
            char *s = arena_alloc(r->a, base.n + 24);
            int len = snprintf(s, base.n + 24, "%.*s_%u", SV_FMT(base), k);
            struct sv cand = sv_make(s, len > 0 ? (size_t)len : 0);
            taken = false;
            for (size_t j = 0; j < g->nouts && !taken; j++)
                taken = j != i && sv_eq(g->outs[j].name, cand);
            if (!taken)
                g->outs[i].name = cand;
        }
    }
}

static size_t max_ext(const struct qx__node *n)
{
    if (!n)
        return 0;
    switch (n->kind) {
    case QX_N_LEAF: return n->ext;
    case QX_N_XFORM: return max_ext(n->child);
    case QX_N_MATH: {
        size_t a = max_ext(n->lhs), b = max_ext(n->rhs);
        return a > b ? a : b;
    }
    default: return 0;
    }
}

/* ---- wildcard arguments ----------------------------------------------------- */

/* Whether f accepts fields of type t when expanding f(*) (influxd skips the
 * fields a function cannot read). */
static bool takes_type(enum qfn_kind k, enum tsdb_type t)
{
    bool numeric = t == TSDB_FLOAT || t == TSDB_INT || t == TSDB_UINT;
    switch (k) {
    case QFN_COUNT: case QFN_COUNT_DISTINCT: case QFN_DISTINCT: case QFN_FIRST: case QFN_LAST:
    case QFN_MODE: case QFN_SAMPLE: case QFN_ELAPSED:
        return true;
    default:
        return numeric;
    }
}

static bool kind_of(struct sv name, enum qfn_kind *k)
{
    if (sv_eq_cstr(name, "integral")) {
        *k = QFN_INTEGRAL;
        return true;
    }
    return qfn_kind_parse(name, k) == 0;
}

/* The call inside e whose first argument is a wildcard or regex (e itself
 * or the aggregate inside a transformation), or NULL. */
static const struct iql_expr *wild_call(const struct iql_expr *e, const struct iql_expr **outer)
{
    e = unparen(e);
    *outer = NULL;
    if (e->kind != IQL_EXPR_CALL || e->call.nargs < 1)
        return NULL;
    const struct iql_expr *a = unparen(e->call.args[0]);
    if (a->kind == IQL_EXPR_WILDCARD || a->kind == IQL_EXPR_REGEX)
        return e;
    if (a->kind == IQL_EXPR_CALL && a->call.nargs >= 1) {
        const struct iql_expr *b = unparen(a->call.args[0]);
        if (b->kind == IQL_EXPR_WILDCARD || b->kind == IQL_EXPR_REGEX) {
            *outer = e;
            return a;
        }
    }
    return NULL;
}

static struct iql_expr *with_arg0(struct arena *a, const struct iql_expr *call,
                                  struct iql_expr *arg)
{
    struct iql_expr *c = arena_alloc(a, sizeof *c);
    *c = *call;
    c->call.args = arena_alloc(a, call->call.nargs * sizeof *c->call.args);
    memcpy(c->call.args, call->call.args, call->call.nargs * sizeof *c->call.args);
    c->call.args[0] = arg;
    return c;
}

/* s with every f(*) / f(/re/) field replaced by one f(field) per matching
 * field key (aliased f_field), or s itself when there is none. */
static int expand_wildcards(struct qx__run *r, const struct iql_select *s,
                            const struct qx__field_key *fields, size_t nfields,
                            const struct iql_select **out)
{
    *out = s;
    bool any = false;
    for (size_t i = 0; i < s->nfields && !any; i++) {
        const struct iql_expr *outer;
        any = wild_call(s->fields[i].expr, &outer) != NULL;
    }
    if (!any)
        return 0;
    struct iql_select *n = arena_alloc(r->a, sizeof *n);
    *n = *s;
    size_t cap = s->nfields * (nfields + 1) + 1;
    n->fields = arena_alloc(r->a, cap * sizeof *n->fields);
    n->nfields = 0;
    for (size_t i = 0; i < s->nfields; i++) {
        const struct iql_expr *outer, *call = wild_call(s->fields[i].expr, &outer);
        if (!call) {
            n->fields[n->nfields++] = s->fields[i];
            continue;
        }
        const struct iql_expr *arg = unparen(call->call.args[0]);
        struct qx__rx *rx = NULL;
        if (arg->kind == IQL_EXPR_REGEX) {
            int rc = qx__rx_compile(r, arg->str, &rx);
            if (rc)
                return rc;
        } else if (arg->wild == IQL_VT_TAG) {
            continue; /* *::tag names no field */
        }
        enum qfn_kind ki, ko;
        bool has_ki = kind_of(call->call.name, &ki);
        bool has_ko = outer && kind_of(outer->call.name, &ko);
        for (size_t f = 0; f < nfields; f++) {
            if (rx && !qx__rx_match(rx, fields[f].name))
                continue;
            if ((has_ki && !takes_type(ki, fields[f].type)) ||
                (has_ko && !takes_type(ko, fields[f].type)))
                continue;
            struct iql_expr *ref = arena_calloc(r->a, sizeof *ref);
            ref->kind = IQL_EXPR_VARREF;
            ref->ref.name = fields[f].name;
            struct iql_expr *e = with_arg0(r->a, call, ref);
            if (outer)
                e = with_arg0(r->a, outer, e);
            struct sv fn = outer ? outer->call.name : call->call.name;
            struct sv base = s->fields[i].alias.n ? s->fields[i].alias : fn;
            char *nm = arena_alloc(r->a, base.n + fields[f].name.n + 2);
            memcpy(nm, base.p, base.n);
            nm[base.n] = '_';
            memcpy(nm + base.n + 1, fields[f].name.p, fields[f].name.n);
            nm[base.n + 1 + fields[f].name.n] = '\0';
            n->fields[n->nfields++] = (struct iql_field){
                e, sv_make(nm, base.n + 1 + fields[f].name.n) };
        }
    }
    *out = n;
    return 0;
}

static bool is_group_tag(const struct iql_select *s, struct sv key)
{
    for (size_t i = 0; i < s->ndims; i++) {
        const struct iql_expr *d = unparen(s->dims[i]);
        if (d->kind == IQL_EXPR_WILDCARD || (d->kind == IQL_EXPR_VARREF && sv_eq(d->ref.name, key)))
            return true;
    }
    return false;
}

static int name_cmp(struct sv a, struct sv b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int k = n ? memcmp(a.p, b.p, n) : 0;
    return k ? k : a.n < b.n ? -1 : a.n > b.n;
}

/* `*`, `*::field`, `*::tag` or /re/ next to a lone selector: every field
 * and tag (minus the GROUP BY tags) as aux columns, sorted by name. */
static int plan_aux_wild(struct planner *p, const struct iql_expr *e, const struct qx__keys *keys)
{
    struct qx__run *r = p->r;
    struct qx__rx *rx = NULL;
    if (e->kind == IQL_EXPR_REGEX) {
        int rc = qx__rx_compile(r, e->str, &rx);
        if (rc)
            return rc;
    }
    bool want_f = e->kind == IQL_EXPR_REGEX || e->wild != IQL_VT_TAG;
    bool want_t = e->kind == IQL_EXPR_REGEX || e->wild != IQL_VT_FIELD;
    size_t cap = keys->nfields + keys->ntags + 1, n = 0;
    struct qx__agg_input *v = arena_alloc(r->a, cap * sizeof *v);
    for (size_t i = 0; want_f && i < keys->nfields; i++)
        if (!rx || qx__rx_match(rx, keys->fields[i].name))
            v[n++] = (struct qx__agg_input){ keys->fields[i].name, false };
    for (size_t i = 0; want_t && i < keys->ntags; i++) {
        struct sv t = keys->tags[i];
        if (is_group_tag(p->s, t) || (rx && !qx__rx_match(rx, t)))
            continue;
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = sv_eq(v[k].ref, t);
        if (!dup)
            v[n++] = (struct qx__agg_input){ t, true };
    }
    for (size_t a = 1; a < n; a++) { /* insertion sort by name */
        struct qx__agg_input c = v[a];
        size_t b = a;
        while (b > 0 && name_cmp(v[b - 1].ref, c.ref) > 0) {
            v[b] = v[b - 1];
            b--;
        }
        v[b] = c;
    }
    for (size_t i = 0; i < n; i++) {
        size_t in = add_input(p, v[i].ref, v[i].is_auto, false);
        add_out(p, (struct qx__agg_out){ QX_OUT_AUX, NULL, in, v[i].ref });
    }
    return 0;
}

/* Whether every leaf under n is percentile() of one input (*input). */
static bool pct_leaves(const struct qx__node *n, size_t *input)
{
    switch (n->kind) {
    case QX_N_LEAF:
        if (n->fn != QFN_PERCENTILE || (*input != SIZE_MAX && *input != n->input))
            return false;
        *input = n->input;
        return true;
    case QX_N_MATH:
        return pct_leaves(n->lhs, input) && pct_leaves(n->rhs, input);
    case QX_N_LIT:
        return true;
    default:
        return false;
    }
}

int qx__agg_plan(struct qx__run *r, const struct iql_select *s,
                 const struct qx__field_key *fields, size_t nfields, struct qx__agg *g)
{
    struct qx__keys keys = { fields, nfields, NULL, 0 };
    return qx__agg_plan_keys(r, s, &keys, g);
}

int qx__agg_plan_keys(struct qx__run *r, const struct iql_select *s0,
                      const struct qx__keys *keys, struct qx__agg *g)
{
    const struct iql_select *s;
    int xrc = expand_wildcards(r, s0, keys->fields, keys->nfields, &s);
    if (xrc)
        return xrc;
    memset(g, 0, sizeof *g);
    for (size_t i = 0; i < s->ndims; i++) {
        const struct iql_expr *d = unparen(s->dims[i]);
        if (d->kind != IQL_EXPR_CALL || !sv_case_eq(d->call.name, "time"))
            continue;
        if (d->call.nargs < 1 || d->call.nargs > 2 || d->call.args[0]->kind != IQL_EXPR_DURATION)
            return err_set(r->e, ERR_INVAL, "time dimension expected 1 or 2 arguments");
        g->has_time = true;
        g->interval_ns = d->call.args[0]->dur_ns;
        if (d->call.nargs == 2) {
            const struct iql_expr *o = d->call.args[1];
            if (o->kind == IQL_EXPR_CALL) {
                /* time(d, now()): now() - now().Truncate(d), Go's Truncate
                 * counting from year 1 (62135596800 s before the epoch) */
                __int128 t = (__int128)r->p->now_ns + (__int128)62135596800 * 1000000000;
                __int128 m = d->call.args[0]->dur_ns > 0 ? t % d->call.args[0]->dur_ns : 0;
                g->offset_ns = (int64_t)m;
            } else if (o->kind != IQL_EXPR_DURATION) {
                return err_set(r->e, ERR_UNSUPPORTED, "time dimension offset must be a duration");
            } else {
                g->offset_ns = o->dur_ns;
            }
        }
    }
    if (g->has_time && g->interval_ns <= 0)
        return err_set(r->e, ERR_INVAL, "time dimension must have a positive interval");
    g->is_desc = s->nsort > 0 && !s->sort[0].asc;
    if (g->has_time) {
        g->offset_ns %= g->interval_ns;
        if (g->offset_ns < 0)
            g->offset_ns += g->interval_ns;
    }
    {
        struct qx__tz *tz;
        int rc = qx__tz_load(r, s->tz, &tz);
        if (rc)
            return rc;
        g->tz = g->has_time ? tz : NULL;
        g->out_tz = tz;
    }
    struct planner p = { .r = r, .s = s, .g = g };
    size_t naux = 0;
    for (size_t i = 0; i < s->nfields; i++) {
        const struct iql_field *f = &s->fields[i];
        const struct iql_expr *e = unparen(f->expr);
        if (e->kind == IQL_EXPR_VARREF && sv_case_eq(e->ref.name, "time"))
            continue;
        if (e->kind == IQL_EXPR_WILDCARD || e->kind == IQL_EXPR_REGEX) {
            naux++;
            int rc = plan_aux_wild(&p, e, keys);
            if (rc)
                return rc;
            continue;
        }
        if (e->kind == IQL_EXPR_VARREF) {
            /* a field or tag next to a lone selector: its point's value,
             * in select-list order */
            naux++;
            size_t in = add_input(&p, e->ref.name, e->ref.type != IQL_VT_FIELD, false);
            add_out(&p, (struct qx__agg_out){ QX_OUT_AUX, NULL, in,
                                              f->alias.n ? f->alias : e->ref.name });
            continue;
        }
        struct qx__node *node;
        int rc;
        if (e->kind == IQL_EXPR_DISTINCT) {
            /* SELECT DISTINCT x is distinct(x) */
            note_call(&p, e, false);
            node = new_node(&p, QX_N_LEAF);
            node->fn = QFN_DISTINCT;
            node->input = add_input(&p, e->str, false, true);
            p.nleaves++;
            rc = 0;
        } else {
            rc = plan_expr(&p, e, true, &node);
        }
        if (rc)
            return rc;
        struct sv name = f->alias;
        if (!name.n) {
            struct buf nb;
            buf_init(&nb, 4096);
            if (expr_name(&nb, e) < 0) {
                buf_fini(&nb);
                return err_set(r->e, ERR_NOMEM, "out of memory");
            }
            name = arena_sv_dup(r->a, buf_sv(&nb));
            buf_fini(&nb);
        }
        add_out(&p, (struct qx__agg_out){ QX_OUT_NODE, node, 0, name });
        if (node->kind == QX_N_LEAF && node->ntag_inputs) {
            const struct iql_expr *const *a = (const struct iql_expr *const *)e->call.args;
            for (size_t t = 0; t < node->ntag_inputs; t++)
                add_out(&p, (struct qx__agg_out){ QX_OUT_TAG, NULL, node->tag_input + t,
                                                  unparen(a[t + 1])->ref.name });
        }
        if (g->has_time) {
            size_t m = max_ext(node);
            g->max_ext = m > g->max_ext ? m : g->max_ext;
        }
    }
    g->is_lone_selector = p.ncalls == 1 && p.first_call_is_selector;
    if (p.first_leaf_selector && p.first_leaf_selector->ntag_inputs)
        g->selector = p.first_leaf_selector;
    if (naux) {
        if (!g->is_lone_selector || !p.first_leaf_selector)
            return err_set(r->e, ERR_INVAL,
                           "mixing aggregate and non-aggregate queries is not supported");
        g->selector = p.first_leaf_selector;
    }
    dedupe_outs(r, g);
    /* Observed on 1.6: the first out-of-rank percentile bucket ends the
     * column only when the statement's calls are all percentile() of the
     * same field (alone or under math); next to any other call it does not. */
    size_t pct_input = SIZE_MAX;
    g->pct_stop = true;
    for (size_t o = 0; o < g->nouts && g->pct_stop; o++)
        if (g->outs[o].kind == QX_OUT_NODE)
            g->pct_stop = pct_leaves(g->outs[o].node, &pct_input);
    g->pct_stop = g->pct_stop && pct_input != SIZE_MAX;
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

/* ---- evaluation ---------------------------------------------------------- */

/* Points of one node in output order.  row[i]: the input row a selector's
 * point came from (only for the selector leaf that aux columns read). */
struct plist {
    struct qfn_point *p;
    size_t *row;
    size_t n, cap;
    bool is_lit;
};

struct ev {
    struct qx__run *r;
    const struct iql_select *s;
    const struct qx__agg *g;
    int64_t start, end, stamp;
    bool has_min;
    const int64_t *ts;
    const struct qx_value *const *rows;
    size_t nrows;
};

static void pl_push(struct arena *a, struct plist *l, struct qfn_point p, size_t row)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        struct qfn_point *np = arena_alloc(a, l->cap * sizeof *np);
        size_t *nr = arena_alloc(a, l->cap * sizeof *nr);
        if (l->n) {
            memcpy(np, l->p, l->n * sizeof *np);
            memcpy(nr, l->row, l->n * sizeof *nr);
        }
        l->p = np;
        l->row = nr;
    }
    l->p[l->n] = p;
    l->row[l->n] = row;
    l->n++;
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

static struct qfn_point from_qx(int64_t ts, const struct qx_value *v)
{
    struct qfn_point p = { .ts_ns = ts, .type = qfn_type_of(v->kind), .is_null = true };
    switch (v->kind) {
    case QX_FLOAT: p.v.f = v->f; break;
    case QX_INT: p.v.i = v->i; break;
    case QX_UINT: p.v.u = v->u; break;
    case QX_BOOL: p.v.b = v->b; break;
    case QX_STRING: p.v.s = v->s; break;
    default: return p;
    }
    p.is_null = false;
    return p;
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

/* The values of input c with times in [lo_ns, hi_ns] as a qfn column (one
 * type: the first value's; values of another type are skipped, as a field
 * has one type per shard in influxd).  idx[k]: the row of value k. */
static void build_column(struct arena *a, const struct ev *v, size_t c, int64_t lo_ns,
                         int64_t hi_ns, struct qfn_values *in, size_t **idx_out)
{
    memset(in, 0, sizeof *in);
    size_t nrows = v->nrows;
    for (size_t i = 0; i < nrows && in->type == QFN_T_NONE; i++)
        if (v->ts[i] >= lo_ns && v->ts[i] <= hi_ns)
            in->type = qfn_type_of(v->rows[i][c].kind);
    size_t cap = nrows ? nrows : 1;
    int64_t *t = arena_alloc(a, cap * sizeof *t);
    size_t *idx = arena_alloc(a, cap * sizeof *idx);
    *idx_out = idx;
    in->ts_ns = t;
    if (in->type == QFN_T_NONE)
        return;
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
        const struct qx_value *x = &v->rows[i][c];
        if (v->ts[i] < lo_ns || v->ts[i] > hi_ns || qfn_type_of(x->kind) != in->type)
            continue;
        t[n] = v->ts[i];
        idx[n] = i;
        switch (in->type) {
        case QFN_T_FLOAT: vf[n] = x->f; break;
        case QFN_T_INT: vi[n] = x->i; break;
        case QFN_T_UINT: vu[n] = x->u; break;
        case QFN_T_BOOL: vb[n] = x->b; break;
        case QFN_T_STRING: vs[n] = x->s; break;
        case QFN_T_NONE: break;
        }
        n++;
    }
    in->n = n;
}

static bool is_multi(enum qfn_kind k)
{
    return k == QFN_DISTINCT || k == QFN_TOP || k == QFN_BOTTOM || k == QFN_SAMPLE;
}

/* The column position in [lo, hi) holding point p (a selector's pick). */
static size_t find_pos(const struct qfn_values *in, size_t lo, size_t hi,
                       const struct qfn_point *p)
{
    for (size_t i = lo; i < hi; i++)
        if (in->ts_ns[i] == p->ts_ns &&
            qfn_value_cmp(in->type, qfn_values_get(in, i), p->v) == 0)
            return i;
    return lo < hi ? lo : SIZE_MAX;
}

static void reverse(struct plist *l, size_t from, size_t to)
{
    for (size_t i = from, j = to; i + 1 < j; i++, j--) {
        struct qfn_point t = l->p[i];
        l->p[i] = l->p[j - 1];
        l->p[j - 1] = t;
        size_t rt = l->row[i];
        l->row[i] = l->row[j - 1];
        l->row[j - 1] = rt;
    }
}

/* Group ids of the tag arguments of top/bottom(f, tag..., n) per column
 * position: one id per distinct combination of the tag values (a missing
 * tag differs from an empty one). */
static uint32_t *tag_groups(struct arena *a, const struct ev *v, const struct qx__node *l,
                            const struct qfn_values *in, const size_t *idx)
{
    uint32_t *gid = arena_alloc(a, (in->n ? in->n : 1) * sizeof *gid);
    struct htab h;
    htab_init(&h);
    struct buf k;
    buf_init(&k, 0);
    uint32_t ng = 0;
    for (size_t i = 0; i < in->n; i++) {
        const struct qx_value *row = v->rows[idx[i]];
        buf_reset(&k);
        for (size_t t = 0; t < l->ntag_inputs; t++) {
            const struct qx_value *x = &row[l->tag_input + t];
            if (x->kind == QX_STRING) {
                (void)buf_append_char(&k, 's');
                (void)buf_append_sv(&k, x->s);
            } else {
                (void)buf_append_char(&k, 'n');
            }
            (void)buf_append_char(&k, '\0');
        }
        void *found = htab_find(&h, buf_sv(&k));
        if (!found) {
            found = (void *)(uintptr_t)(++ng);
            htab_put(&h, arena_sv_dup(a, buf_sv(&k)), found);
        }
        gid[i] = (uint32_t)((uintptr_t)found - 1);
    }
    buf_fini(&k);
    htab_fini(&h);
    return gid;
}

/* Start of the bucket holding t. */
static int64_t win_start(const struct qx__agg *g, int64_t t);

bool qx__agg_reads_mode(const struct qx__agg *g)
{
    for (size_t o = 0; o < g->nouts; o++) {
        const struct qx__node *n = g->outs[o].kind == QX_OUT_NODE ? g->outs[o].node : NULL;
        while (n && n->kind == QX_N_XFORM)
            n = n->child;
        if (n && n->kind == QX_N_LEAF && n->fn == QFN_MODE)
            return true;
    }
    return false;
}

static int64_t win_start(const struct qx__agg *g, int64_t t)
{
    if (!g->tz)
        return qfn_bucket_start(t, g->interval_ns, g->offset_ns);
    int64_t s;
    qx__tz_window(g->tz, t, g->interval_ns, g->offset_ns, &s, NULL);
    return s;
}

static int eval_leaf(struct ev *v, const struct qx__node *l, struct plist *out)
{
    struct qx__run *r = v->r;
    const struct qx__agg *g = v->g;
    bool desc = g->is_desc;
    int64_t lo_ns = INT64_MIN, hi_ns = INT64_MAX;
    struct qfn_buckets b = { .n = 1 };
    if (g->has_time) {
        lo_ns = v->start;
        hi_ns = v->end;
        if (l->ext) {
            int64_t w = (int64_t)l->ext * g->interval_ns;
            if (!desc) {
                if (!v->has_min)
                    return 0; /* 1.6: MinTime - interval wraps around: no points */
                lo_ns = lo_ns > INT64_MIN + w ? lo_ns - w : INT64_MIN;
            } else {
                hi_ns = hi_ns < INT64_MAX - w ? hi_ns + w : INT64_MAX;
            }
        }
        int rc = qfn_bucket_plan(lo_ns, hi_ns, g->interval_ns, g->offset_ns, 0, 0, &b, r->e);
        if (rc)
            return rc;
    }
    /* bucket starts, ascending */
    size_t nb = b.n;
    int64_t *bs = NULL;
    if (g->has_time && g->tz && l->fn != QFN_INTEGRAL) {
        /* an offset change moves an edge by less than an interval: at most
         * one bucket more than without the zone, plus its first/last */
        size_t cap = b.n + 2;
        bs = arena_alloc(r->a, cap * sizeof *bs);
        nb = qx__tz_buckets(g->tz, lo_ns, hi_ns, g->interval_ns, g->offset_ns, bs, cap);
        if (nb > cap)
            return err_set(r->e, ERR_LIMIT, "tz(%.*s): more buckets than the interval allows",
                           SV_FMT(v->s->tz));
    } else if (g->has_time) {
        bs = arena_alloc(r->a, (nb ? nb : 1) * sizeof *bs);
        for (size_t k = 0; k < nb; k++)
            bs[k] = qfn_bucket_time(&b, k);
    }
    struct qfn_values in;
    size_t *idx;
    /* Over a subquery (whose rows are not cut at the range's start), an
     * inner bucket that starts before the range still counts in the outer
     * bucket holding it; without GROUP BY time() 1.6 drops it. */
    int64_t col_lo = lo_ns;
    if (r->c->is_subquery_outer)
        col_lo = bs && nb ? bs[0] : g->has_time ? lo_ns : v->start;
    build_column(r->a, v, l->input, col_lo, hi_ns, &in, &idx);
    if (l->fn == QFN_INTEGRAL) {
        if (in.type == QFN_T_NONE)
            return 0;
        size_t cap = (g->has_time ? b.n : 1) + 1;
        struct qfn_point *res = arena_alloc(r->a, cap * sizeof *res);
        size_t nres = 0;
        int rc = qfn_integral(&in, l->args.unit_ns, g->has_time ? &b : NULL, v->stamp, res, cap,
                              &nres, r->e);
        if (rc)
            return rc;
        for (size_t i = 0; i < nres; i++)
            pl_push(r->a, out, res[i], SIZE_MAX);
        if (desc)
            reverse(out, 0, out->n);
        return 0;
    }
    enum qfn_type rt = qfn_result_type(l->fn, in.type);
    if (in.type == QFN_T_NONE || rt == QFN_T_NONE)
        rt = l->fn == QFN_COUNT || l->fn == QFN_COUNT_DISTINCT ? QFN_T_INT : QFN_T_FLOAT;
    bool multi = is_multi(l->fn);
    struct qfn_args args = l->args;
    if (l->ntag_inputs && in.n)
        args.group = tag_groups(r->a, v, l, &in, idx);
    size_t cap = in.n > 1 ? in.n : 1;
    struct qfn_point *res = arena_alloc(r->a, cap * sizeof *res);
    /* buckets in ascending order; bstart[k]: index in out of bucket k */
    size_t *bstart = arena_alloc(r->a, (nb + 1) * sizeof *bstart);
    bool pct = l->fn == QFN_PERCENTILE && l->stop && g->pct_stop;
    if (l->stop && l->stop->ended &&
        (l->stop->cur_rows != (const void *)v->ts || l->stop->cut_whole))
        return 0; /* an earlier series ended 1.6's iterator */
    if (l->stop && r->c->is_subquery_outer && !g->has_time && v->has_min && v->nrows &&
        v->ts[0] < v->start) {
        /* An inner bucket that starts before the outer range: 1.6's reduce
         * iterator (no interval) finds it outside its window, answers
         * nothing and so ends the column; under DESC it reads it last. */
        l->stop->ended = true;
        l->stop->cur_rows = v->ts;
        l->stop->cut_whole = !desc;
        if (!desc)
            return 0;
    }
    /* percentile: out-of-rank buckets that had points (where 1.6 stops) */
    bool *oor = pct ? arena_calloc(r->a, (nb ? nb : 1) * sizeof *oor) : NULL;
    size_t lo = 0;
    for (size_t k = 0; k < nb; k++) {
        if ((k & 0xfff) == 0) {
            int rc = qx__check_time(r);
            if (rc)
                return rc;
        }
        bstart[k] = out->n;
        int64_t bts = g->has_time ? bs[k] : v->stamp;
        size_t hi = in.n;
        if (g->has_time) {
            while (lo < in.n && win_start(g, in.ts_ns[lo]) < bts)
                lo++;
            hi = lo;
            while (hi < in.n && win_start(g, in.ts_ns[hi]) == bts)
                hi++;
        }
        size_t nres = 0;
        if (in.type != QFN_T_NONE) {
            int rc = qfn_aggregate(l->fn, &args, &in, lo, hi, bts, res, cap, &nres, r->e);
            if (rc)
                return rc;
        }
        if (multi && l->fn == QFN_DISTINCT && desc && nres > 1) {
            /* DESC: influxd's reducer keeps the first point it sees of
             * each value, the newest one, and sorts them by time, ascending
             * (observed; ties here by value) */
            int64_t *last = arena_alloc(r->a, nres * sizeof *last);
            for (size_t i = 0; i < nres; i++) {
                last[i] = INT64_MIN;
                for (size_t j = hi; j-- > lo && last[i] == INT64_MIN;)
                    if (qfn_value_cmp(in.type, qfn_values_get(&in, j), res[i].v) == 0)
                        last[i] = in.ts_ns[j];
            }
            for (size_t i = 1; i < nres; i++) { /* stable insertion sort */
                struct qfn_point p = res[i];
                int64_t t = last[i];
                size_t j = i;
                while (j > 0 && (last[j - 1] > t ||
                                 (last[j - 1] == t &&
                                  qfn_value_cmp(in.type, res[j - 1].v, p.v) > 0))) {
                    res[j] = res[j - 1];
                    last[j] = last[j - 1];
                    j--;
                }
                res[j] = p;
                last[j] = t;
            }
        }
        if (multi) {
            for (size_t i = 0; i < nres; i++) {
                size_t pos = find_pos(&in, lo, hi, &res[i]);
                if (l->fn == QFN_DISTINCT)
                    res[i].ts_ns = bts;
                pl_push(r->a, out, res[i], pos == SIZE_MAX ? SIZE_MAX : idx[pos]);
            }
        } else {
            struct qfn_point p = nres ? res[0]
                                      : (struct qfn_point){ .type = rt, .is_null = true };
            size_t row = SIZE_MAX;
            if (!p.is_null && qfn_kind_is_selector(l->fn)) {
                size_t pos = find_pos(&in, lo, hi, &p);
                row = pos == SIZE_MAX ? SIZE_MAX : idx[pos];
            }
            bool own_time = !g->has_time && g->is_lone_selector && !p.is_null;
            if (!own_time)
                p.ts_ns = bts;
            if (p.is_null)
                p.type = rt;
            if (pct && p.is_null && hi > lo)
                oor[k] = true;
            if (!g->has_time && p.is_null && l->fn == QFN_PERCENTILE)
                continue; /* out-of-rank percentile: no row at all */
            pl_push(r->a, out, p, row);
        }
        lo = hi;
    }
    bstart[nb] = out->n;
    if (pct) {
        struct qx__stop *st = l->stop;
        if (st->cur_rows != (const void *)v->ts) {
            /* Buckets in reading order (newest first under DESC): the first
             * with points, the last with points, the first out of rank. */
            size_t first = nb, bad = nb;
            for (size_t j = 0; j < nb; j++) {
                size_t k = desc ? nb - 1 - j : j;
                bool has = oor[k] || (bstart[k + 1] > bstart[k] && !out->p[bstart[k]].is_null);
                if (has && first == nb)
                    first = k;
                if (oor[k] && bad == nb)
                    bad = k;
            }
            st->cut = nb;
            /* without a fill iterator (fill(none), no GROUP BY time()) the
             * first empty answer ends the column */
            if (bad != nb && (g->fill.mode == QFN_FILL_NONE || !g->has_time ||
                              (bad == first && (!st->seen || st->prev_complete)))) {
                st->cut = bad;
                st->ended = true;
            }
            /* the fill iterator is past the last bucket right after a real
             * value there: the next empty answer is then taken for the end */
            size_t lastb = desc ? 0 : nb - 1;
            st->prev_complete = nb > 0 && bstart[lastb + 1] > bstart[lastb] &&
                                !out->p[bstart[lastb]].is_null && st->cut == nb;
            st->seen = true;
            st->cur_rows = v->ts;
        }
        if (st->cut != nb) {
            /* this bucket and the later ones in reading order: nothing, not
             * even fill (buckets are still in ascending order here) */
            if (!desc) {
                out->n = bstart[st->cut];
            } else {
                size_t to = bstart[st->cut + 1];
                memmove(out->p, out->p + to, (out->n - to) * sizeof *out->p);
                memmove(out->row, out->row + to, (out->n - to) * sizeof *out->row);
                out->n -= to;
                for (size_t k = 0; k <= nb; k++)
                    bstart[k] = bstart[k] > to ? bstart[k] - to : 0;
            }
        }
    }
    if (desc) {
        /* buckets newest first; multi-row buckets keep their own order */
        reverse(out, 0, out->n);
        if (multi) {
            for (size_t k = 0; k < nb; k++) {
                size_t from = out->n - bstart[k + 1], to = out->n - bstart[k];
                reverse(out, from, to);
            }
        }
    }
    /* No bucket has a value (percentile out of rank everywhere): 1.6's fill
     * iterator never sees a point of this series, so it fills nothing and
     * the column yields no rows at all. */
    bool none = true;
    for (size_t i = 0; i < out->n && none; i++)
        none = out->p[i].is_null && !out->p[i].keep_null;
    if (none)
        out->n = 0;
    if (!multi) {
        qfn_fill_column(&g->fill, l->fn == QFN_COUNT || l->fn == QFN_COUNT_DISTINCT, rt,
                        g->has_time ? g->interval_ns : 1, out->p, out->n);
        if (g->fill.mode == QFN_FILL_NONE) {
            size_t k = 0;
            for (size_t i = 0; i < out->n; i++) {
                if (out->p[i].is_null && !out->p[i].keep_null)
                    continue;
                out->p[k] = out->p[i];
                out->row[k] = out->row[i];
                k++;
            }
            out->n = k;
        }
    }
    return 0;
}

static int eval_node(struct ev *v, const struct qx__node *n, struct plist *out);

static int eval_xform(struct ev *v, const struct qx__node *n, struct plist *out)
{
    struct plist in = { 0 };
    int rc = eval_node(v, n->child, &in);
    if (rc)
        return rc;
    struct qfn_xform x;
    int64_t unit = v->g->has_time ? v->g->interval_ns : 1000000000;
    rc = qfn_xform_init(&x, n->fn, &n->args, unit, v->g->is_desc, MAX_WINDOW, v->r->e);
    if (rc)
        return rc;
    for (size_t i = 0; i < in.n && rc >= 0; i++) {
        struct qfn_point o;
        rc = qfn_xform_push(&x, &in.p[i], &o, v->r->e);
        if (rc == 1)
            pl_push(v->r->a, out, o, SIZE_MAX);
    }
    qfn_xform_fini(&x);
    return rc < 0 ? rc : 0;
}

static bool before(bool desc, int64_t a, int64_t b)
{
    return desc ? a > b : a < b;
}

static struct qfn_point apply_op(enum iql_op op, const struct qfn_point *a,
                                 const struct qfn_point *b)
{
    switch (op) {
    case IQL_OP_ADD: return qfn_math(QFN_OP_ADD, a, b);
    case IQL_OP_SUB: return qfn_math(QFN_OP_SUB, a, b);
    case IQL_OP_MUL: return qfn_math(QFN_OP_MUL, a, b);
    case IQL_OP_DIV: return qfn_math(QFN_OP_DIV, a, b);
    case IQL_OP_MOD: return qfn_math(QFN_OP_MOD, a, b);
    default: break;
    }
    struct qfn_point r = { .ts_ns = a->ts_ns, .type = QFN_T_INT, .is_null = true,
                           .keep_null = a->keep_null || b->keep_null };
    if (a->is_null || b->is_null || a->type != QFN_T_INT || b->type != QFN_T_INT)
        return r;
    r.keep_null = false;
    r.is_null = false;
    switch (op) {
    case IQL_OP_BITAND: r.v.i = a->v.i & b->v.i; break;
    case IQL_OP_BITOR: r.v.i = a->v.i | b->v.i; break;
    default: r.v.i = a->v.i ^ b->v.i; break;
    }
    return r;
}

static int eval_math(struct ev *v, const struct qx__node *n, struct plist *out)
{
    struct plist a = { 0 }, b = { 0 };
    int rc = eval_node(v, n->lhs, &a);
    rc = rc ? rc : eval_node(v, n->rhs, &b);
    if (rc)
        return rc;
    if (a.is_lit && b.is_lit) {
        out->is_lit = true;
        struct qfn_point p = apply_op(n->op, &a.p[0], &b.p[0]);
        pl_push(v->r->a, out, p, SIZE_MAX);
        return 0;
    }
    if ((a.is_lit && b.n == 0) || (b.is_lit && a.n == 0))
        return 0; /* a literal next to no points: no points */
    bool desc = v->g->is_desc;
    size_t i = 0, j = 0;
    while (i < a.n || j < b.n) {
        struct qfn_point p;
        if (a.is_lit || b.is_lit) {
            struct qfn_point x = a.is_lit ? a.p[0] : a.p[i], y = b.is_lit ? b.p[0] : b.p[j];
            p = apply_op(n->op, &x, &y);
            p.ts_ns = a.is_lit ? y.ts_ns : x.ts_ns;
            if (a.is_lit)
                j++;
            else
                i++;
            if (a.is_lit && j >= b.n)
                i = a.n;
            if (b.is_lit && i >= a.n)
                j = b.n;
        } else if (i < a.n && (j >= b.n || before(desc, a.p[i].ts_ns, b.p[j].ts_ns))) {
            p = (struct qfn_point){ .ts_ns = a.p[i].ts_ns, .type = a.p[i].type, .is_null = true };
            i++;
        } else if (j < b.n && (i >= a.n || before(desc, b.p[j].ts_ns, a.p[i].ts_ns))) {
            p = (struct qfn_point){ .ts_ns = b.p[j].ts_ns, .type = b.p[j].type, .is_null = true };
            j++;
        } else {
            p = apply_op(n->op, &a.p[i], &b.p[j]);
            p.ts_ns = a.p[i].ts_ns;
            i++;
            j++;
        }
        pl_push(v->r->a, out, p, SIZE_MAX);
    }
    return 0;
}

static int eval_node(struct ev *v, const struct qx__node *n, struct plist *out)
{
    switch (n->kind) {
    case QX_N_LEAF:
        return eval_leaf(v, n, out);
    case QX_N_RAW: {
        struct qfn_values in;
        size_t *idx;
        build_column(v->r->a, v, n->input, INT64_MIN, INT64_MAX, &in, &idx);
        for (size_t i = 0; i < in.n; i++) {
            struct qfn_point p = { .ts_ns = in.ts_ns[i], .type = in.type,
                                   .v = qfn_values_get(&in, i) };
            pl_push(v->r->a, out, p, idx[i]);
        }
        if (v->g->is_desc)
            reverse(out, 0, out->n);
        return 0;
    }
    case QX_N_XFORM:
        return eval_xform(v, n, out);
    case QX_N_MATH:
        return eval_math(v, n, out);
    case QX_N_LIT:
        out->is_lit = true;
        pl_push(v->r->a, out, n->lit, SIZE_MAX);
        return 0;
    }
    return 0;
}

int qx__agg_series(struct qx__run *r, const struct iql_select *s, const struct qx__agg *g,
                   int64_t start_ns, int64_t end_ns, bool has_min, int64_t stamp_ns,
                   struct sv meas, const struct tsdb_tag *tags, size_t ntags,
                   const int64_t *ts, const struct qx_value *const *rows, size_t nrows)
{
    struct arena *a = r->a;
    struct ev v = { .r = r, .s = s, .g = g, .start = start_ns, .end = end_ns,
                    .stamp = stamp_ns, .has_min = has_min, .ts = ts, .rows = rows,
                    .nrows = nrows };
    if (g->has_time) {
        /* influxd's first bucket is the one holding the range start */
        struct qfn_buckets b;
        int rc = qfn_bucket_plan(start_ns, end_ns, g->interval_ns, g->offset_ns, 0, 0, &b, r->e);
        if (rc)
            return rc;
    }
    size_t nc = g->nouts;
    struct plist *cols = arena_calloc(a, (nc ? nc : 1) * sizeof *cols);
    struct plist sel = { 0 };
    if (g->selector) {
        int rc = eval_leaf(&v, g->selector, &sel);
        if (rc)
            return rc;
    }
    for (size_t c = 0; c < nc; c++) {
        const struct qx__agg_out *o = &g->outs[c];
        if (o->kind == QX_OUT_NODE) {
            if (o->node == g->selector) {
                cols[c] = sel;
                continue;
            }
            int rc = eval_node(&v, o->node, &cols[c]);
            if (rc)
                return rc;
            if (cols[c].is_lit)
                cols[c].n = 0; /* checked away by iql_select_check: a field needs a variable */
            continue;
        }
        /* tag and aux columns: the selected point's row */
        for (size_t i = 0; i < sel.n; i++) {
            struct qfn_point p = { .ts_ns = sel.p[i].ts_ns, .is_null = true };
            if (sel.row[i] != SIZE_MAX) {
                p = from_qx(sel.p[i].ts_ns, &rows[sel.row[i]][o->input]);
            }
            pl_push(a, &cols[c], p, sel.row[i]);
        }
    }
    /* Rows: the union of the columns' times, in output order. */
    size_t total = 0;
    for (size_t c = 0; c < nc; c++)
        total += cols[c].n;
    size_t ncol = nc + 1;
    struct qx_value *vals = arena_alloc(a, (total ? total : 1) * ncol * sizeof *vals);
    size_t *head = arena_calloc(a, (nc ? nc : 1) * sizeof *head);
    size_t n = 0, seen = 0;
    size_t offset = s->offset > 0 ? (size_t)s->offset : 0;
    struct qx_value absent = { .kind = QX_NULL };
    if (g->fill.mode == QFN_FILL_NUMBER)
        absent = g->fill.is_int ? (struct qx_value){ .kind = QX_INT, .i = g->fill.i }
                                : (struct qx_value){ .kind = QX_FLOAT, .f = g->fill.f };
    for (size_t iter = 0;; iter++) {
        if ((iter & 0xfff) == 0) {
            int rc = qx__check_time(r);
            if (rc)
                return rc;
        }
        bool any = false;
        int64_t t = 0;
        for (size_t c = 0; c < nc; c++) {
            if (head[c] < cols[c].n &&
                (!any || before(g->is_desc, cols[c].p[head[c]].ts_ns, t))) {
                t = cols[c].p[head[c]].ts_ns;
                any = true;
            }
        }
        if (!any)
            break;
        struct qx_value *row = vals + n * ncol;
        row[0] = (struct qx_value){ .kind = QX_TIME, .i = t };
        for (size_t c = 0; c < nc; c++) {
            /* A column with no point at a row the others have: 1.6's
             * IteratorScanner gives it the fill(<number>) value, else null. */
            row[c + 1] = absent;
            if (head[c] < cols[c].n && cols[c].p[head[c]].ts_ns == t)
                row[c + 1] = to_qx(&cols[c].p[head[c]++]);
        }
        if (seen++ < offset)
            continue;
        n++;
        if (s->limit > 0 && n >= (size_t)s->limit)
            break;
    }
    if (n == 0)
        return 0;
    struct sv *names = arena_alloc(a, ncol * sizeof *names);
    names[0] = SV_LIT("time");
    for (size_t c = 0; c < nc; c++)
        names[c + 1] = g->outs[c].name;
    return qx__emit_tz(r, g->out_tz, meas, tags, ntags, names, ncol, vals, n);
}
