// SPDX-License-Identifier: MIT
/*
 * Mergeable summaries: count, sum, min, max, first and last of a column, the
 * state behind count/sum/mean/spread/min/max/first/last.  Storage may keep
 * one per block and the executor merges them instead of reading points; the
 * result is identical to qfn_aggregate() over the raw points because every
 * rule here is order-independent:
 *  - min/max: the smaller/larger value, ties to the earlier time;
 *  - first/last: the earlier/later time, ties on time to the larger value,
 *    except that first() of booleans keeps false (observed on influxd);
 *  - sums wrap through uint64 for integers (Go's int64 overflow), and the
 *    mean of integers divides that wrapped sum, as influxd's does.
 */
#include <string.h>

#include "query/qfn.h"

void qfn_summary_init(struct qfn_summary *s, enum qfn_type type)
{
    memset(s, 0, sizeof *s);
    s->type = type;
    s->min.is_null = s->max.is_null = true;
    s->first.is_null = s->last.is_null = true;
    s->min.type = s->max.type = s->first.type = s->last.type = type;
}

static bool numeric(enum qfn_type t)
{
    return t == QFN_T_FLOAT || t == QFN_T_INT || t == QFN_T_UINT;
}

static void take(struct qfn_summary *s, const struct qfn_point *p)
{
    enum qfn_type t = s->type;
    if (s->min.is_null) {
        s->min = s->max = s->first = s->last = *p;
        return;
    }
    if (numeric(t)) {
        int c = qfn_value_cmp(t, p->v, s->min.v);
        if (c < 0 || (c == 0 && p->ts_ns < s->min.ts_ns))
            s->min = *p;
        c = qfn_value_cmp(t, p->v, s->max.v);
        if (c > 0 || (c == 0 && p->ts_ns < s->max.ts_ns))
            s->max = *p;
    }
    /* Booleans tie the other way for first(): influxd keeps false. */
    int fc = qfn_value_cmp(t, p->v, s->first.v);
    if (p->ts_ns < s->first.ts_ns ||
        (p->ts_ns == s->first.ts_ns && (t == QFN_T_BOOL ? fc < 0 : fc > 0)))
        s->first = *p;
    if (p->ts_ns > s->last.ts_ns ||
        (p->ts_ns == s->last.ts_ns && qfn_value_cmp(t, p->v, s->last.v) > 0))
        s->last = *p;
}

void qfn_summary_add(struct qfn_summary *s, const struct qfn_values *in,
                     size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi && i < in->n; i++) {
        if (in->is_null != NULL && in->is_null[i])
            continue;
        struct qfn_point p = { .ts_ns = in->ts_ns[i], .type = s->type,
                               .v = qfn_values_get(in, i) };
        s->count++;
        switch (s->type) {
        case QFN_T_FLOAT: s->sum.f += p.v.f; break;
        case QFN_T_INT:
            s->sum.i = (int64_t)((uint64_t)s->sum.i + (uint64_t)p.v.i);
            break;
        case QFN_T_UINT: s->sum.u += p.v.u; break;
        default: break;
        }
        take(s, &p);
    }
}

void qfn_summary_merge(struct qfn_summary *dst, const struct qfn_summary *src)
{
    if (src->count == 0)
        return;
    dst->count += src->count;
    switch (dst->type) {
    case QFN_T_FLOAT: dst->sum.f += src->sum.f; break;
    case QFN_T_INT:
        dst->sum.i = (int64_t)((uint64_t)dst->sum.i + (uint64_t)src->sum.i);
        break;
    case QFN_T_UINT: dst->sum.u += src->sum.u; break;
    default: break;
    }
    if (dst->min.is_null) {
        dst->min = src->min;
        dst->max = src->max;
        dst->first = src->first;
        dst->last = src->last;
        return;
    }
    take(dst, &src->first);
    take(dst, &src->last);
    if (numeric(dst->type)) {
        take(dst, &src->min);
        take(dst, &src->max);
    }
}

int qfn_summary_result(enum qfn_kind kind, const struct qfn_summary *s,
                       int64_t bucket_ns, struct qfn_point *out,
                       struct err *e)
{
    switch (kind) {
    case QFN_COUNT: case QFN_SUM: case QFN_MEAN: case QFN_SPREAD:
    case QFN_MIN: case QFN_MAX: case QFN_FIRST: case QFN_LAST:
        break;
    default:
        return err_set(e, ERR_INVAL, "%s cannot be answered from a summary",
                       qfn_kind_name(kind));
    }
    enum qfn_type rt = qfn_result_type(kind, s->type);
    if (rt == QFN_T_NONE)
        return err_set(e, ERR_TYPE, "unsupported %s iterator type: "
                       "*query.%sInterruptIterator", qfn_kind_name(kind),
                       s->type == QFN_T_STRING ? "string" : "boolean");
    memset(out, 0, sizeof *out);
    out->ts_ns = bucket_ns;
    out->type = rt;
    out->is_null = s->count == 0;
    if (out->is_null)
        return 0;
    switch (kind) {
    case QFN_COUNT: out->v.i = (int64_t)s->count; break;
    case QFN_SUM: out->v = s->sum; break;
    case QFN_MEAN:
        /* influxd divides the (wrapping) integer sum: the mean of
         * INT64_MAX and 1 is -2^62, observed. */
        out->v.f = (s->type == QFN_T_FLOAT ? s->sum.f
                    : s->type == QFN_T_INT ? (double)s->sum.i
                                           : (double)s->sum.u) /
                   (double)s->count;
        break;
    case QFN_SPREAD:
        if (rt == QFN_T_FLOAT)
            out->v.f = s->max.v.f - s->min.v.f;
        else if (rt == QFN_T_INT)
            out->v.i = (int64_t)((uint64_t)s->max.v.i - (uint64_t)s->min.v.i);
        else
            out->v.u = s->max.v.u - s->min.v.u;
        break;
    case QFN_MIN: *out = s->min; break;
    case QFN_MAX: *out = s->max; break;
    case QFN_FIRST: *out = s->first; break;
    case QFN_LAST: *out = s->last; break;
    default: break;
    }
    return 0;
}
