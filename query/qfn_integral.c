// SPDX-License-Identifier: MIT
/*
 * integral(): influxd computes it with one streaming reducer per series that
 * carries its state across GROUP BY time buckets, so it cannot be a per-bucket
 * aggregate.  The reducer keeps the previous point; when a point falls past
 * the current bucket's end it adds the trapezoid up to the edge (the value at
 * the edge interpolated linearly), emits the bucket, moves to the bucket of
 * the new point and goes on from the edge.  Buckets the series skips get no
 * row.  1.6's integer reducer forgets to update the previous value at the
 * edge and uses the interpolated value as the new point's value for that one
 * trapezoid; the float reducer does it right.  Both are reproduced because
 * the differential suite compares with 1.6.  Ascending time only.
 */
#include <string.h>

#include "query/qfn.h"

struct window {
    int64_t start, end;
};

static struct window window_of(const struct qfn_buckets *b, int64_t t,
                               int64_t whole_start)
{
    struct window w = { whole_start, INT64_MAX };
    if (b != NULL) {
        w.start = qfn_bucket_start(t, b->interval_ns, b->offset_ns);
        w.end = w.start > INT64_MAX - b->interval_ns ? INT64_MAX
                                                      : w.start + b->interval_ns;
    }
    return w;
}

static int emit(struct qfn_point *out, size_t out_cap, size_t *nout,
                int64_t ts, double sum, struct err *e)
{
    if (*nout >= out_cap)
        return err_set(e, ERR_LIMIT, "integral: more than %zu rows", out_cap);
    memset(&out[*nout], 0, sizeof out[0]);
    out[*nout].ts_ns = ts;
    out[*nout].type = QFN_T_FLOAT;
    out[*nout].v.f = sum;
    (*nout)++;
    return 0;
}

int qfn_integral(const struct qfn_values *in, int64_t unit_ns,
                 const struct qfn_buckets *b, int64_t range_start_ns,
                 struct qfn_point *out, size_t out_cap, size_t *nout,
                 struct err *e)
{
    *nout = 0;
    if (in->type != QFN_T_FLOAT && in->type != QFN_T_INT &&
        in->type != QFN_T_UINT)
        return err_set(e, ERR_TYPE, "unsupported integral iterator type: "
                       "*query.%sInterruptIterator",
                       in->type == QFN_T_STRING ? "string" : "boolean");
    double unit = unit_ns > 0 ? (double)unit_ns : 1e9;
    bool is_float = in->type == QFN_T_FLOAT;
    /* Without buckets 1.6's float reducer has no window (start 0), its
     * integer reducer one clamped to the query range. */
    int64_t whole_start = is_float ? 0 : range_start_ns;
    bool have_prev = false;
    int64_t prev_t = 0;
    double prev_v = 0, sum = 0;
    struct window w = { 0, 0 };
    for (size_t i = 0; i < in->n; i++) {
        if (in->is_null != NULL && in->is_null[i])
            continue;
        int64_t t = in->ts_ns[i];
        double v = qfn_to_float(in->type, qfn_values_get(in, i));
        if (!have_prev) {
            have_prev = true;
            prev_t = t;
            prev_v = v;
            w = window_of(b, t, whole_start);
            continue;
        }
        if (t == prev_t) {
            prev_v = v;
            continue;
        }
        if (b != NULL && t >= w.end) {
            if (prev_t != w.end) {
                double m = (v - prev_v) / (double)(t - prev_t);
                double edge = m * (double)(w.end - prev_t) + prev_v;
                sum += 0.5 * (edge + prev_v) * ((double)(w.end - prev_t) / unit);
                prev_t = w.end;
                if (is_float)
                    prev_v = edge;
                else
                    v = edge; /* 1.6's integer quirk, see the header */
            }
            int rc = emit(out, out_cap, nout, w.start, sum, e);
            if (rc != 0)
                return rc;
            w = window_of(b, t, whole_start);
            sum = 0;
        }
        sum += 0.5 * (v + prev_v) * ((double)(t - prev_t) / unit);
        prev_t = t;
        prev_v = qfn_to_float(in->type, qfn_values_get(in, i));
    }
    if (have_prev && prev_t != w.start)
        return emit(out, out_cap, nout, w.start, sum, e);
    return 0;
}
