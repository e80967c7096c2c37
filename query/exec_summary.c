// SPDX-License-Identifier: MIT
/*
 * The per-series read path for aggregate SELECTs: count, min, max, spread,
 * first, last, sum and mean per GROUP BY time() bucket or over the whole
 * range.  It reads only the series whose tags pass WHERE (the scan in
 * exec_select.c decodes every series of the measurement), and answers
 * blocks that lie inside one bucket from the summaries part files keep in
 * their block headers (tsdb_reader_summaries) instead of decoding them.
 * Only the blocks that straddle a bucket edge, the head's rows and blocks
 * whose summary cannot answer (NaN inside, another type) are decoded.
 *
 * Exactness.  The answer must be byte-identical to the scan's
 * (tests/unit/query_summary_test.c runs every query with the scan, with the
 * query thread alone and with a helper thread):
 *  - counts, integer sums (wrapping), min and max merge order-independently
 *    in qfn_summary (see qfn_summary.c), so block summaries serve them;
 *  - float sum/mean: the scan adds the points one by one in time order, and
 *    a block's precomputed sum rounds differently, so their points are
 *    added one by one as they arrive (tsdb_reader_summaries hands them
 *    over in time order), never from a summary; the order is the scan's
 *    only inside one series, so every group must hold one series;
 *  - decoded points go into the buckets through typed loops (ADD_RUN) that
 *    make qfn_summary_add's comparisons, NaN included, point by point;
 *  - first/last: a block summary knows the first and last values but only
 *    the block's first and last row times, exact inside one series (its
 *    blocks never overlap anything), so every group must hold one series;
 *  - a lone min/max/first/last without GROUP BY time carries the selected
 *    point's own time, which a summary does not know: declined.
 * Declined too: math, transformations, tag or aux columns, tz(), several or
 * regex sources, WHERE on fields, GROUP BY *, no lower time bound (its start
 * is the earliest point), ORDER BY time DESC with SLIMIT/SOFFSET.
 *
 * Cost.  Every block is decoded once per field read (the scan decodes it
 * once for all fields, then builds rows of every field), so the path is
 * taken when (series read) x (fields read) does not exceed the series of
 * the measurement, or when a probe of the first series' block headers
 * shows most values in blocks inside one bucket.  Declining happens before
 * anything is emitted; exec_select.c then runs.
 *
 * How it runs: list the measurement's series (tsdb_snapshot_series, or the
 * postings of a tag = 'value' conjunct of WHERE), keep
 * those whose tags pass WHERE, sort them by (group key, series key) as
 * exec_select.c orders its output, then group by group (streaming: one
 * group's buckets in memory at a time, or a ring of them with the helper
 * thread, see "a helper thread reading ahead"): per series and field, one
 * tsdb_reader_summaries call over the query range merges every summary
 * of a block that lies inside one bucket and every decoded point into the
 * bucket's qfn_summary; for a block that straddles bucket edges (or whose
 * summary cannot answer) on_summary returns TSDB_SUMMARY_DECODE and its
 * points arrive decoded in the same call.  The group's buckets then become
 * rows the way exec_agg.c's evaluator forms them for plain aggregate
 * columns (newest first under DESC, fill per column, fill(none) dropping a
 * column's empty buckets, columns joined by time, OFFSET/LIMIT).
 *
 * Limits: series with data count against query.max_series, decoded values
 * against query.max_points_scanned (summarised values are not scanned), and
 * the deadline is polled per series.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "query/exec_agg.h"
#include "query/exec_int.h"

struct sser {
    uint64_t id;
    struct sv skey;
    struct sv group;             /* group-by tag values, '\0'-joined */
    struct tsdb_tag *gtags;
    size_t ngtags;
};

/* The statistics the calls on a field read (struct fast.need). */
enum { ST_SUM = 1, ST_MIN = 2, ST_MAX = 4, ST_FIRST = 8, ST_LAST = 16 };

struct fast {
    struct qx__run *r;
    const struct iql_select *s;
    struct qx__agg *g;
    struct sv db, rp, meas;
    struct qx__cond cond;
    struct sv *dims;
    size_t ndims;
    struct sser *ser;
    size_t nser, cap;
    size_t ntotal;               /* series of the measurement, before WHERE */
    size_t nseen;                /* series handed to series_cb */
    /* distinct call fields */
    struct sv *fields;
    enum qfn_type *ftype;        /* QFN_T_NONE: not a field of the measurement */
    bool *count_only;            /* every call on the field is count() */
    bool *in_order;              /* float sum/mean: points added in time order */
    unsigned *need;              /* ST_* bits the calls on the field read */
    size_t nf;
    size_t *call_field;          /* per call: index into fields */
    /* buckets and the scan range */
    struct qfn_buckets b;
    size_t nb;
    int64_t lo, hi;
    int64_t *bend;               /* nb: bucket k's last time the range keeps */
    int64_t stamp;
    struct tsdb_snapshot *snap;
    struct tsdb_reader *rd;      /* the snapshot's decoders and buffers, reused */
    /* the query thread's own reads of a group */
    struct qfn_summary *acc;     /* nf * nb */
    struct qfn_summary *acc0;    /* nf * nb empty ones: a group's start */
    bool *fhas;                  /* nf: a value of the field in the group */
    /* a group's rows, reused from group to group (the sink borrows them
     * for the call only) */
    struct qfn_point *res;       /* nouts * nb */
    struct qx_value *vals;       /* nb * (nouts + 1) */
    struct sv *names;            /* nouts + 1 */
    struct err te;
    /* the sink's row renderer (qx_sink.render_rows), for groups a reader
     * thread turns into rows ahead of the query thread; NULL: none */
    const struct qx_sink *sink;
    int (*render)(const struct qx_sink *k, const struct qx_series *s, struct buf *b);
    size_t chunk_rows;           /* rows per sink call (qx__emit) */
};

/* One thread's reading state: the query thread's, or the helper's. */
struct rstate {
    const struct fast *f;
    struct tsdb_reader *rd;      /* this thread's decoders and buffers */
    struct qfn_summary *acc;     /* the group being read: nf * nb */
    bool *fhas;
    bool is_counted;             /* counts into the statement as it reads */
    const int *stop;             /* not counted: give up when set */
    struct err *e;               /* where errors go */
    struct err own, te;
    size_t cur;                  /* field being read */
    bool has_data;               /* the current series has a selected value */
    bool any;                    /* the group has data */
    uint64_t points, series, blocks; /* what the group read */
    struct qfn_point *res;       /* nouts * nb: a group's columns (group_rows) */
    /* conversion scratch for decoded points */
    void *tmp;
    size_t cap_tmp;
};

static int vcmp(struct sv a, struct sv b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int k = n ? memcmp(a.p, b.p, n) : 0;
    return k ? k : a.n < b.n ? -1 : a.n > b.n;
}

static enum qfn_type qtype(enum tsdb_type t)
{
    switch (t) {
    case TSDB_FLOAT: return QFN_T_FLOAT;
    case TSDB_INT: return QFN_T_INT;
    case TSDB_UINT: return QFN_T_UINT;
    case TSDB_BOOL: return QFN_T_BOOL;
    case TSDB_STRING: return QFN_T_STRING;
    }
    return QFN_T_NONE;
}

/* ---- eligibility ------------------------------------------------------- */

struct ftypes {
    struct fast *f;
    bool is_conflict;
};

static int field_type_cb(void *arg, struct sv key, enum tsdb_type t)
{
    struct ftypes *ft = arg;
    struct fast *f = ft->f;
    for (size_t i = 0; i < f->nf; i++) {
        if (!sv_eq(f->fields[i], key))
            continue;
        if (f->ftype[i] != QFN_T_NONE && f->ftype[i] != qtype(t))
            ft->is_conflict = true;
        f->ftype[i] = qtype(t);
    }
    return 0;
}

struct names {
    struct sv *v;
    size_t n;
    struct arena *a;
    size_t cap;
};

static int name_cb(void *arg, struct sv key, enum tsdb_type t)
{
    (void)t;
    struct names *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct sv *nv = arena_alloc(l->a, cap * sizeof *nv);
        if (l->n)
            memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = arena_sv_dup(l->a, key);
    return 0;
}

struct fkeys {
    struct arena *a;
    struct qx__field_key *v;
    size_t n, cap;
};

/* tsdb_list_fields gives the keys sorted and unique, as the planner wants. */
static int fkey_cb(void *arg, struct sv key, enum tsdb_type t)
{
    struct fkeys *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct qx__field_key *nv = arena_alloc(l->a, cap * sizeof *nv);
        if (l->n)
            memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = (struct qx__field_key){ arena_sv_dup(l->a, key), t };
    return 0;
}

/* Whether the condition reads only tags (and time): unknown references that
 * name a field of the measurement make it per-row. */
static bool cond_is_tags_only(const struct iql_expr *e, const struct names *fields)
{
    while (e && e->kind == IQL_EXPR_PAREN)
        e = e->paren;
    if (!e)
        return true;
    switch (e->kind) {
    case IQL_EXPR_VARREF:
        if (e->ref.type == IQL_VT_TAG)
            return true;
        if (e->ref.type != IQL_VT_UNKNOWN)
            return false;
        for (size_t i = 0; i < fields->n; i++)
            if (sv_eq(fields->v[i], e->ref.name))
                return false;
        return true;
    case IQL_EXPR_BINARY:
        return cond_is_tags_only(e->bin.lhs, fields) && cond_is_tags_only(e->bin.rhs, fields);
    case IQL_EXPR_CALL:
        return sv_eq_cstr(e->call.name, "now") && e->call.nargs == 0;
    default:
        return true;
    }
}

/* Fills f from s and g, or returns false when the fast path cannot answer
 * s exactly (see the header). */
static bool eligible(struct fast *f, int64_t min)
{
    struct qx__run *r = f->r;
    const struct iql_select *s = f->s;
    const struct qx__agg *g = f->g;
    if (r->c->is_summary_off || s->nsources != 1 || min == INT64_MIN)
        return false;
    const struct iql_source *so = &s->sources[0];
    if (so->kind != IQL_SRC_MEASUREMENT || so->m.is_regex)
        return false;
    f->db = qx__db(r, so->m.db);
    f->rp = so->m.rp.n ? so->m.rp : r->p->rp;
    f->meas = so->m.name;
    struct tsdb_rp_info info;
    struct err te;
    if (!f->db.n || tsdb_find_rp(r->c->db, f->db, f->rp, &info, &te) < 0)
        return false;
    if (g->is_desc && (s->slimit > 0 || s->soffset > 0))
        return false;
    /* GROUP BY: tags (no *, no regex) besides time(). */
    f->dims = arena_alloc(r->a, (s->ndims ? s->ndims : 1) * sizeof *f->dims);
    for (size_t i = 0; i < s->ndims; i++) {
        const struct iql_expr *d = s->dims[i];
        while (d->kind == IQL_EXPR_PAREN)
            d = d->paren;
        if (d->kind == IQL_EXPR_CALL && sv_case_eq(d->call.name, "time"))
            continue;
        if (d->kind != IQL_EXPR_VARREF)
            return false;
        bool dup = false;
        for (size_t k = 0; k < f->ndims && !dup; k++)
            dup = sv_eq(f->dims[k], d->ref.name);
        if (!dup)
            f->dims[f->ndims++] = d->ref.name;
    }
    for (size_t i = 1; i < f->ndims; i++) { /* insertion sort: few dims */
        struct sv v = f->dims[i];
        size_t k = i;
        while (k > 0 && vcmp(f->dims[k - 1], v) > 0) {
            f->dims[k] = f->dims[k - 1];
            k--;
        }
        f->dims[k] = v;
    }
    /* Every output a plain aggregate over one field (no math, no
     * transformations, no tag or aux columns, no tz()). */
    if (g->tz || g->nouts == 0)
        return false;
    f->fields = arena_alloc(r->a, g->nouts * sizeof *f->fields);
    f->ftype = arena_calloc(r->a, g->nouts * sizeof *f->ftype);
    f->count_only = arena_alloc(r->a, g->nouts * sizeof *f->count_only);
    f->in_order = arena_calloc(r->a, g->nouts * sizeof *f->in_order);
    f->need = arena_calloc(r->a, g->nouts * sizeof *f->need);
    f->call_field = arena_alloc(r->a, g->nouts * sizeof *f->call_field);
    for (size_t c = 0; c < g->nouts; c++) {
        const struct qx__agg_out *o = &g->outs[c];
        const struct qx__node *n = o->node;
        if (o->kind != QX_OUT_NODE || !n || n->kind != QX_N_LEAF || n->ext || n->ntag_inputs ||
            n->input >= g->ninputs)
            return false;
        struct sv field = g->inputs[n->input].ref;
        size_t k = 0;
        while (k < f->nf && !sv_eq(f->fields[k], field))
            k++;
        if (k == f->nf) {
            f->fields[f->nf] = field;
            f->count_only[f->nf] = true;
            f->nf++;
        }
        f->call_field[c] = k;
        if (n->fn != QFN_COUNT)
            f->count_only[k] = false;
    }
    struct ftypes ft = { .f = f };
    if (tsdb_list_fields(r->c->db, f->db, f->rp, f->meas, field_type_cb, &ft, NULL) < 0 ||
        ft.is_conflict)
        return false;
    for (size_t c = 0; c < g->nouts; c++) {
        enum qfn_type t = f->ftype[f->call_field[c]];
        bool is_num = t == QFN_T_FLOAT || t == QFN_T_INT || t == QFN_T_UINT;
        if (t == QFN_T_NONE)
            return false; /* not a field: the scan may read it as a tag */
        unsigned *need = &f->need[f->call_field[c]];
        switch (g->outs[c].node->fn) {
        case QFN_COUNT:
            break;
        case QFN_SUM:
        case QFN_MEAN:
            *need |= ST_SUM;
            /* Float sums depend on the order of the additions: the points
             * are added one by one in time order, as the scan does, which
             * is the same order only within one series (checked once the
             * groups are known). */
            if (t == QFN_T_FLOAT)
                f->in_order[f->call_field[c]] = true;
            else if (t != QFN_T_INT && t != QFN_T_UINT)
                return false;
            break;
        case QFN_SPREAD:
            if (!is_num)
                return false;
            *need |= ST_MIN | ST_MAX;
            break;
        case QFN_MIN:
        case QFN_MAX:
        case QFN_FIRST:
        case QFN_LAST:
            if (!is_num || (!g->has_time && g->is_lone_selector))
                return false;
            *need |= g->outs[c].node->fn == QFN_MIN   ? ST_MIN
                     : g->outs[c].node->fn == QFN_MAX ? ST_MAX
                     : g->outs[c].node->fn == QFN_FIRST ? ST_FIRST
                                                        : ST_LAST;
            break;
        default:
            return false;
        }
    }
    /* WHERE on tags and time only. */
    struct names fl = { .a = r->a };
    tsdb_list_fields(r->c->db, f->db, f->rp, f->meas, name_cb, &fl, NULL);
    return cond_is_tags_only(s->cond, &fl);
}

/* ---- series and groups --------------------------------------------------- */

static int series_cb(void *arg, const struct tsdb_series_info *si)
{
    struct fast *f = arg;
    struct qx__run *r = f->r;
    struct qx__row_env env = { .tags = si->tags, .ntags = si->ntags };
    f->nseen++;
    if (!qx__cond_eval(&f->cond, &env))
        return 0;
    struct sser x = { .id = si->id, .skey = arena_sv_dup(r->a, si->key), .ngtags = f->ndims };
    x.gtags = arena_alloc(r->a, (f->ndims ? f->ndims : 1) * sizeof *x.gtags);
    struct buf gk;
    buf_init(&gk, 0);
    for (size_t i = 0; i < f->ndims; i++) {
        struct sv v = SV_LIT("");
        for (size_t t = 0; t < si->ntags; t++)
            if (sv_eq(si->tags[t].key, f->dims[i]))
                v = si->tags[t].value;
        x.gtags[i] = (struct tsdb_tag){ f->dims[i], arena_sv_dup(r->a, v) };
        if (buf_append_sv(&gk, f->dims[i]) || buf_append_char(&gk, '\0') ||
            buf_append_sv(&gk, v) || buf_append_char(&gk, '\0')) {
            buf_fini(&gk);
            return err_set(r->e, ERR_NOMEM, "out of memory");
        }
    }
    x.group = arena_sv_dup(r->a, buf_sv(&gk));
    buf_fini(&gk);
    if (f->nser == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        struct sser *nv = arena_alloc(r->a, f->cap * sizeof *nv);
        if (f->nser)
            memcpy(nv, f->ser, f->nser * sizeof *nv);
        f->ser = nv;
    }
    f->ser[f->nser++] = x;
    return 0;
}

static const struct iql_expr *unparen(const struct iql_expr *e)
{
    while (e && e->kind == IQL_EXPR_PAREN)
        e = e->paren;
    return e;
}

/* Finds a tag = 'value' comparison (value not empty) that every match of
 * the condition satisfies: one of its top-level AND operands.  The
 * condition reads tags only (eligible). */
static bool find_tag_eq(const struct iql_expr *e, struct sv *key, struct sv *val)
{
    e = unparen(e);
    if (!e || e->kind != IQL_EXPR_BINARY)
        return false;
    if (e->bin.op == IQL_OP_AND)
        return find_tag_eq(e->bin.lhs, key, val) || find_tag_eq(e->bin.rhs, key, val);
    if (e->bin.op != IQL_OP_EQ)
        return false;
    const struct iql_expr *a = unparen(e->bin.lhs), *b = unparen(e->bin.rhs);
    if (!a || !b || a->kind != IQL_EXPR_VARREF || b->kind != IQL_EXPR_STRING || !b->str.n ||
        a->ref.type == IQL_VT_FIELD || sv_case_eq(a->ref.name, "time"))
        return false;
    *key = a->ref.name;
    *val = b->str;
    return true;
}

static int sser_cmp(const void *pa, const void *pb)
{
    const struct sser *a = pa, *b = pb;
    int k = vcmp(a->group, b->group);
    return k ? k : vcmp(a->skey, b->skey);
}

/* ---- reading one series' field into the group's buckets ------------------- */

/* Bucket of t, SIZE_MAX outside the buckets (or the range). */
static size_t bucket_of(const struct fast *f, int64_t t)
{
    if (t < f->lo || t > f->hi)
        return SIZE_MAX;
    return f->g->has_time ? qfn_bucket_index(&f->b, t) : 0;
}

static union qfn_val qval(enum qfn_type t, const union tsdb_value *v)
{
    union qfn_val q;
    memset(&q, 0, sizeof q);
    switch (t) {
    case QFN_T_FLOAT: q.f = v->f; break;
    case QFN_T_INT: q.i = v->i; break;
    case QFN_T_UINT: q.u = v->u; break;
    case QFN_T_BOOL: q.b = v->b; break;
    case QFN_T_STRING: q.s = v->s; break;
    case QFN_T_NONE: break;
    }
    return q;
}

static int on_summary(void *arg, const struct tsdb_summary *sm)
{
    struct rstate *x = arg;
    const struct fast *f = x->f;
    size_t fi = x->cur;
    enum qfn_type t = f->ftype[fi];
    if (sm->count == 0)
        return 0;
    x->has_data = true;
    size_t k1 = bucket_of(f, sm->min_ts), k2 = bucket_of(f, sm->max_ts);
    bool is_usable = qtype(sm->type) == t && sm->nan_count == 0 && !f->in_order[fi] &&
                     (f->count_only[fi] || sm->has_stats);
    if (is_usable && k1 == k2 && k1 != SIZE_MAX) {
        struct qfn_summary *acc = &x->acc[fi * f->nb + k1];
        x->fhas[fi] = true;
        x->blocks++;
        if (f->count_only[fi]) {
            acc->count += sm->count;
            return 0;
        }
        struct qfn_summary q;
        qfn_summary_init(&q, t);
        q.count = sm->count;
        q.sum = qval(t, &sm->sum);
        q.min = (struct qfn_point){ .ts_ns = sm->min_ts, .type = t, .v = qval(t, &sm->min) };
        q.max = (struct qfn_point){ .ts_ns = sm->min_ts, .type = t, .v = qval(t, &sm->max) };
        q.first = (struct qfn_point){ .ts_ns = sm->min_ts, .type = t, .v = qval(t, &sm->first) };
        q.last = (struct qfn_point){ .ts_ns = sm->max_ts, .type = t, .v = qval(t, &sm->last) };
        qfn_summary_merge(acc, &q);
        return 0;
    }
    if (k1 == SIZE_MAX && k2 == SIZE_MAX && (sm->max_ts < f->lo || sm->min_ts > f->hi))
        return 0;
    return TSDB_SUMMARY_DECODE; /* straddles an edge or cannot answer: its points */
}

static void *scratch(struct rstate *x, size_t bytes)
{
    if (bytes > x->cap_tmp) {
        free(x->tmp);
        x->tmp = malloc(bytes);
        x->cap_tmp = x->tmp ? bytes : 0;
    }
    return x->tmp;
}

/* Adds the points [i, e) of one bucket, in time order, to acc exactly as
 * qfn_summary_add does point by point (the same comparisons, the same
 * left-to-right sum), keeping only the statistics in need: the others are
 * never read (qfn_summary_result reads the kind's own; merges compare each
 * statistic with itself). */
/* The min (is_max false) or max of the points [i, e) merged into *best as
 * qfn_summary_add compares them point by point: a strictly better value
 * wins, an equal one (NaN compares equal to everything there) only with an
 * earlier time.  Without NaN, and with the points in time order, that is
 * the run's best value at its first occurrence, kept when better than
 * *best or equal and earlier: one branch-free pass for the value, one for
 * its place.  With NaN, the point-by-point loop. */
#define RUN_BEST(NAME, T, M, ISNAN)                                                                \
    static void NAME(struct qfn_point *best, const int64_t *ts, const union tsdb_value *v,          \
                     size_t i, size_t e, bool is_max)                                             \
    {                                                                                              \
        T b = best->v.M;                                                                           \
        int64_t bt = best->ts_ns;                                                                  \
        T m = v[i].M;                                                                              \
        bool has_nan = ISNAN(b);                                                                   \
        if (is_max) {                                                                              \
            for (size_t k = i; k < e; k++) {                                                       \
                T x = v[k].M;                                                                      \
                has_nan |= ISNAN(x);                                                               \
                m = x > m ? x : m;                                                                 \
            }                                                                                      \
        } else {                                                                                   \
            for (size_t k = i; k < e; k++) {                                                       \
                T x = v[k].M;                                                                      \
                has_nan |= ISNAN(x);                                                               \
                m = x < m ? x : m;                                                                 \
            }                                                                                      \
        }                                                                                          \
        if (!has_nan) {                                                                            \
            if (is_max ? m < b : m > b)                                                            \
                return;                                                                            \
            size_t k = i;                                                                          \
            while (!(v[k].M == m))                                                                 \
                k++;                                                                               \
            if (m == b && ts[k] >= bt)                                                             \
                return;                                                                            \
            best->v.M = v[k].M;                                                                    \
            best->ts_ns = ts[k];                                                                   \
            return;                                                                                \
        }                                                                                          \
        for (size_t k = i; k < e; k++) {                                                           \
            T x = v[k].M;                                                                          \
            bool is_better = is_max ? x > b : x < b;                                               \
            bool is_worse = is_max ? x < b : x > b;                                                \
            if (is_better || (!is_worse && ts[k] < bt)) {                                          \
                b = x;                                                                             \
                bt = ts[k];                                                                        \
            }                                                                                      \
        }                                                                                          \
        best->v.M = b;                                                                             \
        best->ts_ns = bt;                                                                          \
    }

#define NAN_F(x) ((x) != (x))
#define NAN_NONE(x) ((void)(x), false)
RUN_BEST(run_best_f, double, f, NAN_F)
RUN_BEST(run_best_i, int64_t, i, NAN_NONE)
RUN_BEST(run_best_u, uint64_t, u, NAN_NONE)

#define ADD_RUN(NAME, T, M, SUMSTEP, BEST)                                                                   \
    static void NAME(struct qfn_summary *acc, unsigned need, const int64_t *ts,                   \
                     const union tsdb_value *v, size_t i, size_t e)                               \
    {                                                                                              \
        acc->count += e - i;                                                                       \
        if (need & ST_SUM)                                                                         \
            for (size_t k = i; k < e; k++)                                                         \
                SUMSTEP;                                                                           \
        if (acc->min.is_null) {                                                                    \
            struct qfn_point p = { .ts_ns = ts[i], .type = acc->type, .v.M = v[i].M };             \
            acc->min = acc->max = acc->first = acc->last = p;                                      \
            i++;                                                                                   \
        }                                                                                          \
        if (i == e)                                                                                \
            return;                                                                                \
        if (need & ST_MIN)                                                                         \
            BEST(&acc->min, ts, v, i, e, false);                                               \
        if (need & ST_MAX)                                                                         \
            BEST(&acc->max, ts, v, i, e, true);                                                \
        if (need & ST_FIRST) {                                                                     \
            for (size_t k = i; k < e; k++) {                                                       \
                if (ts[k] < acc->first.ts_ns ||                                                    \
                    (ts[k] == acc->first.ts_ns && v[k].M > acc->first.v.M)) {                      \
                    acc->first.ts_ns = ts[k];                                                      \
                    acc->first.v.M = v[k].M;                                                       \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        if (need & ST_LAST) {                                                                      \
            for (size_t k = i; k < e; k++) {                                                       \
                if (ts[k] > acc->last.ts_ns ||                                                     \
                    (ts[k] == acc->last.ts_ns && v[k].M > acc->last.v.M)) {                        \
                    acc->last.ts_ns = ts[k];                                                       \
                    acc->last.v.M = v[k].M;                                                        \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

ADD_RUN(add_run_f, double, f, acc->sum.f += v[k].f, run_best_f)
ADD_RUN(add_run_i, int64_t, i, acc->sum.i = (int64_t)((uint64_t)acc->sum.i + (uint64_t)v[k].i),
        run_best_i)
ADD_RUN(add_run_u, uint64_t, u, acc->sum.u += v[k].u, run_best_u)

/* Last time of bucket k that the range keeps. */
static int64_t bucket_last(const struct fast *f, size_t k)
{
    if (!f->g->has_time)
        return f->hi;
    __int128 end = (__int128)qfn_bucket_time(&f->b, k) + f->b.interval_ns - 1;
    return end < f->hi ? (int64_t)end : f->hi;
}

static int on_points(void *arg, const struct tsdb_series_info *si, size_t nfields,
                     const struct tsdb_field_points *fields)
{
    (void)si;
    struct rstate *x = arg;
    const struct fast *f = x->f;
    size_t fi = x->cur;
    enum qfn_type t = f->ftype[fi];
    for (size_t j = 0; j < nfields; j++) {
        const struct tsdb_field_points *fp = &fields[j];
        if (!fp->n)
            continue;
        x->has_data = true;
        x->points += fp->n;
        if (x->is_counted) {
            int rc = qx__count_points(f->r, fp->n);
            if (rc)
                return rc;
        }
        if (qtype(fp->type) != t)
            continue; /* another type: skipped, as the slow path's column does */
        const int64_t *ts = fp->ts_ns;
        size_t n = fp->n;
        struct qfn_values in = { .type = t, .n = n, .ts_ns = ts };
        bool is_fast = f->count_only[fi] || t == QFN_T_FLOAT || t == QFN_T_INT || t == QFN_T_UINT;
        if (!is_fast) {
            /* Typed copy of the values for qfn_summary_add. */
            size_t esz = t == QFN_T_STRING ? sizeof(struct sv) : sizeof(bool);
            void *vals = scratch(x, n * esz);
            if (!vals)
                return err_set(x->e, ERR_NOMEM, "out of memory");
            for (size_t i = 0; i < n; i++) {
                if (t == QFN_T_STRING)
                    ((struct sv *)vals)[i] = fp->values[i].s;
                else
                    ((bool *)vals)[i] = fp->values[i].b;
            }
            in.v.f = vals; /* the union's members alias the one buffer */
        }
        /* Points are sorted (and every call later than the last): add
         * them bucket run by bucket run, in time order.  One division finds
         * the first point's bucket; after a run, the next point's is the
         * first later bucket whose end (f->bend) it does not pass. */
        size_t i = 0, k = SIZE_MAX;
        while (i < n) {
            if (k == SIZE_MAX) {
                k = bucket_of(f, ts[i]);
                if (k == SIZE_MAX) {
                    i++;
                    continue;
                }
            }
            int64_t last = f->bend[k];
            size_t e = i + 1;
            while (e < n && ts[e] <= last)
                e++;
            struct qfn_summary *acc = &x->acc[fi * f->nb + k];
            x->fhas[fi] = true;
            if (f->count_only[fi])
                acc->count += e - i;
            else if (t == QFN_T_FLOAT)
                add_run_f(acc, f->need[fi], ts, fp->values, i, e);
            else if (t == QFN_T_INT)
                add_run_i(acc, f->need[fi], ts, fp->values, i, e);
            else if (t == QFN_T_UINT)
                add_run_u(acc, f->need[fi], ts, fp->values, i, e);
            else
                qfn_summary_add(acc, &in, i, e);
            i = e;
            /* Buckets are contiguous: past bucket k's end, ts[i] lies in
             * the first later bucket whose end it does not pass, or past
             * the last bucket (and so are all later points). */
            k++;
            while (k < f->nb && i < n && ts[i] > f->bend[k])
                k++;
            if (k == f->nb)
                break;
        }
    }
    return 0;
}

/* ---- is it worth it? ---------------------------------------------------- */

struct probe {
    struct fast *f;
    uint64_t inside, straddling; /* values in blocks inside one bucket / across edges */
};

static int probe_summary(void *arg, const struct tsdb_summary *sm)
{
    struct probe *p = arg;
    size_t k1 = bucket_of(p->f, sm->min_ts), k2 = bucket_of(p->f, sm->max_ts);
    if (k1 == k2 && k1 != SIZE_MAX)
        p->inside += sm->count;
    else
        p->straddling += sm->count;
    return 0;
}

static int probe_points(void *arg, const struct tsdb_series_info *si, size_t nfields,
                        const struct tsdb_field_points *fields)
{
    (void)arg;
    (void)si;
    (void)nfields;
    (void)fields;
    return 0;
}

/* Whether this path pays (see the header): by series and fields read, else
 * by the block headers of the first few series (most summarised values in
 * blocks inside one bucket). */
static bool worth_it(struct fast *f)
{
    /* The scan decodes every series of the measurement once; this path
     * decodes the chosen ones once per field read. */
    if (f->nser * f->nf <= f->ntotal)
        return true;
    struct probe p = { .f = f };
    for (size_t i = 0; i < f->nser && i < 4; i++) {
        for (size_t fi = 0; fi < f->nf; fi++) {
            struct err te;
            if (f->ftype[fi] != QFN_T_NONE && !f->in_order[fi] &&
                tsdb_reader_summaries(f->rd, f->db, f->rp, f->ser[i].id, f->fields[fi], f->lo,
                                      f->hi, probe_summary, probe_points, &p, &te) != 0)
                return false;
        }
    }
    return p.inside > 0 && p.straddling <= p.inside;
}

static struct qx_value to_value(const struct qfn_point *p)
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

/* Reads field fi of series s into x's buckets. */
static int read_field(struct rstate *x, const struct sser *s, size_t fi)
{
    const struct fast *f = x->f;
    x->cur = fi;
    err_clear(&x->te);
    int rc = tsdb_reader_summaries(x->rd, f->db, f->rp, s->id, f->fields[fi], f->lo, f->hi,
                                   on_summary, on_points, x, &x->te);
    if (rc && !x->e->msg[0])
        err_set(x->e, rc, "%s", x->te.msg[0] ? x->te.msg : err_str(rc));
    return rc;
}

/* Reads the group's series ser[from, to) into x->acc and x->fhas.  Counted
 * (the query thread reading for itself), it polls the deadline per series
 * and counts series and points into the statement as it goes, exactly as a
 * plain sequential run; otherwise it only notes them (x->series, x->points,
 * replayed when the query thread takes the group) and gives up (nonzero)
 * when told to stop or the query is cancelled. */
static int read_group(struct rstate *x, size_t from, size_t to)
{
    const struct fast *f = x->f;
    struct qx__run *r = f->r;
    size_t nb = f->nb;
    memcpy(x->acc, f->acc0, f->nf * nb * sizeof *x->acc);
    memset(x->fhas, 0, f->nf * sizeof *x->fhas);
    x->any = false;
    x->series = x->points = x->blocks = 0;
    for (size_t i = from; i < to; i++) {
        int rc = 0;
        if (x->is_counted)
            rc = qx__check_time(r);
        else if ((x->stop && __atomic_load_n(x->stop, __ATOMIC_ACQUIRE)) ||
                 (r->p->is_cancelled && __atomic_load_n(r->p->is_cancelled, __ATOMIC_ACQUIRE)))
            rc = ERR_TIMEOUT;
        if (rc)
            return rc;
        x->has_data = false;
        for (size_t fi = 0; fi < f->nf && rc == 0; fi++)
            if (f->ftype[fi] != QFN_T_NONE)
                rc = read_field(x, &f->ser[i], fi);
        if (rc)
            return rc;
        if (x->has_data) {
            x->any = true;
            x->series++;
            if (x->is_counted && (rc = qx__count_series(r)) != 0)
                return rc;
        }
    }
    return 0;
}

static void add_stats(const struct fast *f, uint64_t blocks, uint64_t points)
{
    struct qx_stats *st = f->r->p->stats;
    if (!st)
        return;
    __atomic_add_fetch(&st->summary_blocks, blocks, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->points_decoded, points, __ATOMIC_RELAXED);
}

/* A group read into accs/fhas becomes the rows of one output series (vals,
 * *nrows of them): per output, one point per bucket, as exec_agg.c's
 * eval_leaf gives them: newest first under DESC, then filled; fill(none)
 * drops a column's empty buckets, and the columns are joined by time.  res
 * is the calling thread's scratch; any thread (errors go to e). */
static int group_rows(const struct fast *f, struct qfn_point *res, const struct qfn_summary *accs,
                      const bool *fhas, struct qx_value *vals, size_t *nrows, struct err *e)
{
    const struct qx__agg *g = f->g;
    size_t nb = f->nb;
    size_t nc = g->nouts;
    size_t ncol = nc + 1;
    *nrows = 0;
    for (size_t c = 0; c < nc; c++) {
        size_t fi = f->call_field[c];
        enum qfn_kind kind = g->outs[c].node->fn;
        enum qfn_type rt = fhas[fi] ? qfn_result_type(kind, f->ftype[fi])
                         : kind == QFN_COUNT ? QFN_T_INT : QFN_T_FLOAT;
        struct qfn_point *col = res + c * nb;
        for (size_t k = 0; k < nb; k++) {
            size_t bk = g->is_desc ? nb - 1 - k : k;
            int64_t bts = g->has_time ? qfn_bucket_time(&f->b, bk) : f->stamp;
            const struct qfn_summary *acc = &accs[fi * nb + bk];
            col[k] = (struct qfn_point){ .ts_ns = bts, .type = rt, .is_null = true };
            if (acc->count == 0)
                continue;
            if (kind == QFN_COUNT) {
                col[k].is_null = false;
                col[k].v.i = (int64_t)acc->count;
                continue;
            }
            int rc = qfn_summary_result(kind, acc, bts, &col[k], e);
            if (rc)
                return rc;
            col[k].ts_ns = bts; /* selectors: the bucket's time under GROUP BY time */
        }
        qfn_fill_column(&g->fill, kind == QFN_COUNT, rt, g->has_time ? g->interval_ns : 1, col, nb);
    }
    size_t n = 0, seen = 0;
    const struct iql_select *s = f->s;
    size_t offset = s->offset > 0 ? (size_t)s->offset : 0;
    for (size_t k = 0; k < nb; k++) {
        bool has_row = g->fill.mode != QFN_FILL_NONE;
        for (size_t c = 0; c < nc && !has_row; c++)
            has_row = !res[c * nb + k].is_null;
        if (!has_row)
            continue;
        if (seen++ < offset)
            continue;
        struct qx_value *row = vals + n * ncol;
        row[0] = (struct qx_value){ .kind = QX_TIME, .i = res[k].ts_ns };
        for (size_t c = 0; c < nc; c++)
            row[c + 1] = to_value(&res[c * nb + k]);
        n++;
        if (s->limit > 0 && n >= (size_t)s->limit)
            break;
    }
    *nrows = n;
    return 0;
}

/* A reader thread's rows of a group as the sink will print them (*out),
 * when the sink can say (qx_sink.render_rows) and qx__emit would hand them
 * over in one call. */
static bool render_rows(const struct fast *f, const struct qx_value *vals, size_t n,
                        struct buf *out)
{
    if (!f->render || n == 0 || n > f->chunk_rows || f->g->out_tz)
        return false;
    struct qx_series s = { .columns = f->names, .ncolumns = f->g->nouts + 1, .values = vals,
                           .nrows = n };
    buf_reset(out);
    return f->render(f->sink, &s, out) == 0;
}

/* One group's rows to the sink, as one series of the group ser[from, ...);
 * rendered: those rows as the sink prints them (render_rows), or p NULL. */
static int emit_rows(struct fast *f, const struct qx_value *vals, size_t n, size_t from,
                     struct sv rendered)
{
    struct qx__run *r = f->r;
    const struct qx__agg *g = f->g;
    if (n == 0)
        return 0;
    if (!rendered.p)
        return qx__emit_tz(r, g->out_tz, f->meas, f->ser[from].gtags, f->ser[from].ngtags,
                           f->names, g->nouts + 1, vals, n);
    /* What qx__emit does for rows that fit one call. */
    struct qx_series s = { .name = f->meas, .tags = f->ser[from].gtags,
                           .ntags = f->ser[from].ngtags, .columns = f->names,
                           .ncolumns = g->nouts + 1, .values = vals, .nrows = n,
                           .rendered = rendered };
    int rc = r->out->series(r->out, r->stmt_id, &s);
    if (rc) {
        r->sink_rc = rc;
        return ERR_CLOSED;
    }
    return 0;
}

/* ---- a helper thread reading ahead ------------------------------------------ */

/* A large statement's groups are read by the query thread and one helper:
 * both claim the next unread group (in output order) and read it into a
 * slot of a ring of w; the query thread takes the groups in order, emits
 * them, and reads ahead itself while the helper is busy with the group it
 * waits for.  What the helper counted is replayed by the query thread when
 * it takes the group; a group whose replay would cross query.max_series or
 * query.max_points_scanned, or whose read failed or was stopped, is read
 * again by the query thread (counted), so limits, errors and the answer are
 * those of a sequential run, byte for byte. */

/* Groups below this many series are read by the query thread alone. */
#define HELPER_MIN_SERIES 64
/* Bytes of bucket state the ring may hold. */
#define HELPER_RING_BYTES (32u << 20)

struct slot {
    struct qfn_summary *acc; /* nf * nb */
    bool *fhas;              /* nf */
    size_t done;             /* group index + 1 once read, else 0 */
    int rc;                  /* nonzero: the read (or its rows) failed or was stopped */
    bool any;
    uint64_t points, series, blocks;
    /* the group's rows (group_rows), and as the sink prints them */
    struct qx_value *vals;   /* nb * (nouts + 1) */
    size_t nrows;
    struct buf text;
    bool is_rendered;
};

/* A group ready for the sink. */
struct grp {
    bool any;                /* the group has data (counts against SOFFSET/SLIMIT) */
    const struct qx_value *vals;
    size_t nrows;
    struct sv rendered;      /* p NULL: not rendered */
};

struct par {
    struct fast *f;
    const size_t *ga, *gb; /* group k: series ser[ga[k], gb[k]) */
    size_t ng, w;
    struct slot *slots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next;  /* groups claimed (in output order) */
    size_t taken; /* groups the query thread is done with */
    int stop;
    struct rstate hx; /* the helper's */
    pthread_t th;
};

static void fill_slot(struct par *p, struct rstate *x, size_t k)
{
    struct slot *sl = &p->slots[k % p->w];
    x->acc = sl->acc;
    x->fhas = sl->fhas;
    x->is_counted = false;
    x->stop = &p->stop;
    err_clear(&x->own);
    x->e = &x->own;
    sl->rc = read_group(x, p->ga[k], p->gb[k]);
    sl->any = x->any;
    sl->points = x->points;
    sl->series = x->series;
    sl->blocks = x->blocks;
    /* Its rows too, and their text, off the query thread's path (a failure
     * here has the query thread read the group again, errors included). */
    sl->nrows = 0;
    sl->is_rendered = false;
    if (sl->rc == 0 && sl->any) {
        sl->rc = group_rows(p->f, x->res, sl->acc, sl->fhas, sl->vals, &sl->nrows, x->e);
        if (sl->rc == 0)
            sl->is_rendered = render_rows(p->f, sl->vals, sl->nrows, &sl->text);
    }
}

/* Claims the next group when it is free and its slot too (mu held). */
static bool claim(struct par *p, size_t *k)
{
    if (p->stop || p->next >= p->ng || p->next >= p->taken + p->w)
        return false;
    *k = p->next++;
    return true;
}

static void *helper_main(void *arg)
{
    struct par *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop && p->next < p->ng) {
        size_t k;
        if (!claim(p, &k)) {
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        pthread_mutex_unlock(&p->mu);
        fill_slot(p, &p->hx, k);
        pthread_mutex_lock(&p->mu);
        p->slots[k % p->w].done = k + 1;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* The query thread reads group ser[from, to) for itself, counted, into
 * q->acc, and makes its rows unless SOFFSET skips it. */
static int own_group(struct rstate *q, size_t from, size_t to, bool is_skip, struct grp *gr)
{
    const struct fast *f = q->f;
    int rc = read_group(q, from, to);
    add_stats(f, q->blocks, q->points);
    *gr = (struct grp){ .any = q->any, .vals = f->vals };
    if (rc == 0 && q->any && !is_skip)
        rc = group_rows(f, q->res, q->acc, q->fhas, f->vals, &gr->nrows, f->r->e);
    return rc;
}

/* The query thread's turn at group k: the slot read by either thread when
 * clean (see above), else its own counted read into f->acc.  *gr is the
 * group, valid until group_done(p, k); no rows are made for a group that
 * SOFFSET skips (is_skip). */
static int take_group(struct par *p, struct rstate *q, size_t k, bool is_skip, struct grp *gr)
{
    struct fast *f = p->f;
    struct qx__run *r = f->r;
    struct slot *sl = &p->slots[k % p->w];
    bool is_own = false;
    pthread_mutex_lock(&p->mu);
    while (sl->done != k + 1) {
        size_t j;
        if (p->next == k) {
            p->next++;
            is_own = true;
            break;
        }
        if (!claim(p, &j)) {
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        /* The helper is on group k: read ahead meanwhile. */
        pthread_mutex_unlock(&p->mu);
        fill_slot(p, q, j);
        pthread_mutex_lock(&p->mu);
        p->slots[j % p->w].done = j + 1;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    const struct qx_ctx *c = r->c;
    if (!is_own && sl->rc == 0 && (!c->max_series || r->series + sl->series <= c->max_series) &&
        (!c->max_points_scanned || r->points + sl->points <= c->max_points_scanned)) {
        int rc = qx__check_time(r);
        if (rc)
            return rc;
        (void)qx__count_points(r, sl->points); /* below the limits: checked above */
        for (uint64_t i = 0; i < sl->series; i++)
            (void)qx__count_series(r);
        add_stats(f, sl->blocks, sl->points);
        *gr = (struct grp){ .any = sl->any, .vals = sl->vals, .nrows = sl->nrows };
        if (sl->is_rendered)
            gr->rendered = buf_sv(&sl->text);
        return 0;
    }
    q->acc = f->acc;
    q->fhas = f->fhas;
    q->is_counted = true;
    q->stop = NULL;
    q->e = r->e;
    return own_group(q, p->ga[k], p->gb[k], is_skip, gr);
}

static void group_done(struct par *p, size_t k)
{
    pthread_mutex_lock(&p->mu);
    p->taken = k + 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Starts the helper when the statement is large enough (or the context
 * asks for it); NULL: the query thread reads alone. */
static struct par *par_start(struct fast *f, const size_t *ga, const size_t *gb, size_t ng)
{
    struct qx__run *r = f->r;
    unsigned threads = r->c->read_threads;
    if (threads == 1 || ng < 2 || (threads == 0 && f->nser < HELPER_MIN_SERIES))
        return NULL;
    size_t per = f->nf * f->nb * sizeof(struct qfn_summary) + f->nf + 1;
    size_t w = HELPER_RING_BYTES / per;
    if (w > 64)
        w = 64;
    if (w > ng)
        w = ng;
    if (w < 2)
        return NULL;
    struct par *p = arena_calloc(r->a, sizeof *p);
    p->f = f;
    p->ga = ga;
    p->gb = gb;
    p->ng = ng;
    p->w = w;
    p->slots = arena_calloc(r->a, w * sizeof *p->slots);
    for (size_t i = 0; i < w; i++) {
        p->slots[i].acc = arena_alloc(r->a, f->nf * f->nb * sizeof *p->slots[i].acc);
        p->slots[i].fhas = arena_alloc(r->a, (f->nf ? f->nf : 1) * sizeof *p->slots[i].fhas);
        p->slots[i].vals = arena_alloc(r->a, f->nb * (f->g->nouts + 1) * sizeof *p->slots[i].vals);
        buf_init(&p->slots[i].text, 0);
    }
    p->hx = (struct rstate){ .f = f, .rd = tsdb_reader_new(f->snap),
                             .res = arena_alloc(r->a, f->nb * f->g->nouts * sizeof *p->hx.res) };
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->th, NULL, helper_main, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        tsdb_reader_free(&p->hx.rd);
        for (size_t i = 0; i < w; i++)
            buf_fini(&p->slots[i].text);
        return NULL;
    }
    return p;
}

static void par_stop(struct par *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    tsdb_reader_free(&p->hx.rd);
    free(p->hx.tmp);
    for (size_t i = 0; i < p->w; i++)
        buf_fini(&p->slots[i].text);
}

/* ---- the statement ------------------------------------------------------------ */

int qx__summary_select(struct qx__run *r, const struct iql_select *s, bool *handled)
{
    *handled = false;
    struct err saved = *r->e;
    if (iql_select_check(s, r->e) != 0) {
        *r->e = saved;
        return 0;
    }
    /* One plain measurement whose database exists (else the scan answers,
     * errors included); its field keys feed the planner as the scan's do. */
    if (r->c->is_summary_off || s->nsources != 1 || s->sources[0].kind != IQL_SRC_MEASUREMENT ||
        s->sources[0].m.is_regex)
        return 0;
    struct sv db = qx__db(r, s->sources[0].m.db);
    struct sv rp = s->sources[0].m.rp.n ? s->sources[0].m.rp : r->p->rp;
    struct tsdb_rp_info info;
    struct err te;
    if (!db.n || tsdb_find_rp(r->c->db, db, rp, &info, &te) < 0)
        return 0;
    struct fkeys fk = { .a = r->a };
    tsdb_list_fields(r->c->db, db, rp, s->sources[0].m.name, fkey_cb, &fk, NULL);
    struct qx__agg g;
    if (qx__agg_plan(r, s, fk.v, fk.n, &g) != 0) {
        *r->e = saved;
        return 0;
    }
    struct fast f = { .r = r, .s = s, .g = &g };
    int64_t min, max;
    if (qx__time_range(r, s->cond, &min, &max) != 0 || !eligible(&f, min) || min > max ||
        qx__cond_prepare(r, s->cond, &f.cond) != 0) {
        *r->e = saved;
        return 0;
    }
    int64_t end = max == INT64_MAX ? r->p->now_ns : max;
    if (g.has_time && min > end) { /* the scan's corner cases */
        *r->e = saved;
        return 0;
    }
    f.snap = tsdb_snapshot_new(r->c->db);
    f.rd = tsdb_reader_new(f.snap);
    /* A tag = 'value' conjunct of WHERE: only its postings can match (the
     * whole condition is still evaluated on each of them). */
    struct sv tk, tv;
    int rc;
    if (find_tag_eq(s->cond, &tk, &tv)) {
        uint64_t *ids = NULL;
        size_t nids = 0;
        rc = tsdb_postings(r->c->db, f.db, f.rp, f.meas, tk, tv, &ids, &nids, &f.te);
        if (rc == 0) {
            rc = tsdb_snapshot_series_of(f.snap, f.db, f.rp, f.meas, ids, nids, &f.ntotal,
                                         series_cb, &f, &f.te);
        }
        free(ids);
    } else {
        rc = tsdb_snapshot_series(f.snap, f.db, f.rp, f.meas, series_cb, &f, &f.te);
        f.ntotal = f.nseen;
    }
    if (rc) {
        tsdb_reader_free(&f.rd);
        tsdb_snapshot_free(&f.snap);
        *r->e = saved;
        return 0;
    }
    if (f.nser > 1)
        qsort(f.ser, f.nser, sizeof *f.ser, sser_cmp);
    /* first/last need one series per group (see the header). */
    for (size_t c = 0; c < g.nouts; c++) {
        if (g.outs[c].node->fn != QFN_FIRST && g.outs[c].node->fn != QFN_LAST &&
            !f.in_order[f.call_field[c]])
            continue;
        for (size_t i = 1; i < f.nser; i++) {
            if (sv_eq(f.ser[i].group, f.ser[i - 1].group)) {
                tsdb_reader_free(&f.rd);
        tsdb_snapshot_free(&f.snap);
                *r->e = saved;
                return 0;
            }
        }
    }
    f.lo = min;
    f.hi = max;
    f.stamp = min;
    f.nb = 1;
    if (qx__agg_check_buckets(r, &g, min, end) != 0 ||
        (g.has_time && qfn_bucket_plan(min, end, g.interval_ns, g.offset_ns, 0, 0, &f.b, r->e)) ||
        (!r->c->is_summary_forced && !worth_it(&f))) {
        tsdb_reader_free(&f.rd);
        tsdb_snapshot_free(&f.snap);
        *r->e = saved;
        return 0;
    }
    if (g.has_time)
        f.nb = f.b.n;
    f.bend = arena_alloc(r->a, f.nb * sizeof *f.bend);
    for (size_t k = 0; k < f.nb; k++)
        f.bend[k] = bucket_last(&f, k);
    /* From here on the statement is ours, errors included. */
    *handled = true;
    if (r->p->stats)
        __atomic_add_fetch(&r->p->stats->summary_statements, 1, __ATOMIC_RELAXED);
    f.acc = arena_alloc(r->a, f.nf * f.nb * sizeof *f.acc);
    f.acc0 = arena_alloc(r->a, f.nf * f.nb * sizeof *f.acc0);
    for (size_t i = 0; i < f.nf * f.nb; i++)
        qfn_summary_init(&f.acc0[i], f.ftype[i / f.nb]);
    f.fhas = arena_alloc(r->a, (f.nf ? f.nf : 1) * sizeof *f.fhas);
    f.res = arena_alloc(r->a, f.nb * g.nouts * sizeof *f.res);
    f.vals = arena_alloc(r->a, f.nb * (g.nouts + 1) * sizeof *f.vals);
    f.names = arena_alloc(r->a, (g.nouts + 1) * sizeof *f.names);
    f.names[0] = SV_LIT("time");
    for (size_t c = 0; c < g.nouts; c++)
        f.names[c + 1] = g.outs[c].name;
    /* Groups are runs of equal group keys; ORDER BY time DESC emits them
     * last to first, as exec_select.c does. */
    size_t *ga = arena_alloc(r->a, (f.nser ? f.nser : 1) * sizeof *ga);
    size_t *gb = arena_alloc(r->a, (f.nser ? f.nser : 1) * sizeof *gb);
    size_t ng = 0;
    for (size_t i = 0; i < f.nser;) {
        size_t b = i + 1;
        while (b < f.nser && sv_eq(f.ser[b].group, f.ser[i].group))
            b++;
        ga[ng] = i;
        gb[ng++] = b;
        i = b;
    }
    for (size_t k = 0; g.is_desc && k < ng / 2; k++) {
        size_t t = ga[k];
        ga[k] = ga[ng - 1 - k];
        ga[ng - 1 - k] = t;
        t = gb[k];
        gb[k] = gb[ng - 1 - k];
        gb[ng - 1 - k] = t;
    }
    f.sink = r->out;
    f.render = r->out->render_rows;
    f.chunk_rows = r->p->chunk_rows ? r->p->chunk_rows : QX__DEFAULT_CHUNK_ROWS;
    struct rstate q = { .f = &f, .rd = f.rd, .acc = f.acc, .fhas = f.fhas, .is_counted = true,
                        .e = r->e, .res = f.res };
    struct par *p = par_start(&f, ga, gb, ng);
    size_t skipped = 0, emitted_n = 0;
    size_t soffset = s->soffset > 0 ? (size_t)s->soffset : 0;
    for (size_t k = 0; k < ng && rc == 0; k++) {
        if (s->slimit > 0 && emitted_n >= (size_t)s->slimit)
            break;
        /* SOFFSET: groups with data are read, counted and not emitted. */
        bool is_skip = skipped < soffset;
        struct grp gr;
        if (p)
            rc = take_group(p, &q, k, is_skip, &gr);
        else
            rc = own_group(&q, ga[k], gb[k], is_skip, &gr);
        bool any = gr.any;
        if (rc == 0 && any && !is_skip)
            rc = emit_rows(&f, gr.vals, gr.nrows, ga[k], gr.rendered);
        if (rc == 0 && any) {
            if (is_skip)
                skipped++;
            else
                emitted_n++;
        }
        if (p)
            group_done(p, k);
    }
    par_stop(p);
    free(q.tmp);
    tsdb_reader_free(&f.rd);
    tsdb_snapshot_free(&f.snap);
    return rc;
}
