// SPDX-License-Identifier: MIT
/*
 * Transformations fed one point at a time (spec §5.9): derivative,
 * non_negative_derivative, difference, non_negative_difference,
 * moving_average, cumulative_sum and elapsed.  Each output is stamped with
 * the time of the point that produced it.  Null points (fill(null) buckets)
 * are skipped entirely, so a transformation spans the gap; other fills run
 * before the transformation.  The first point yields nothing (except for
 * cumulative_sum), moving_average(n) yields nothing for its first n-1
 * points, and the non_negative_ variants drop negative results.
 * Units: derivative divides by (dt / unit); elapsed is dt / unit in integer
 * division (80s with unit 7s gives 11).  Under ORDER BY time DESC the points
 * arrive newest first: derivative still divides by a positive step, elapsed
 * turns negative, difference is simply this value minus the previous one.
 */
#include <stdlib.h>
#include <string.h>

#include "query/qfn.h"

size_t qfn_xform_extra_intervals(enum qfn_kind kind, const struct qfn_args *a)
{
    switch (kind) {
    case QFN_DERIVATIVE: case QFN_NON_NEGATIVE_DERIVATIVE:
    case QFN_DIFFERENCE: case QFN_NON_NEGATIVE_DIFFERENCE: case QFN_ELAPSED:
        return 1;
    case QFN_MOVING_AVERAGE:
        /* 1.6 widens moving_average(agg, n) by one interval too: it
         * computes the n-1 extra intervals after building its input
         * (observed: moving_average(mean(v), 3) first answers in the second
         * bucket of the range). */
        (void)a;
        return 1;
    default:
        return 0;
    }
}

int qfn_xform_init(struct qfn_xform *x, enum qfn_kind kind,
                   const struct qfn_args *args, int64_t default_unit_ns,
                   bool is_descending, size_t max_window, struct err *e)
{
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->is_descending = is_descending;
    int64_t unit = args != NULL ? args->unit_ns : 0;
    switch (kind) {
    case QFN_DERIVATIVE: case QFN_NON_NEGATIVE_DERIVATIVE:
        x->unit_ns = unit > 0 ? unit : default_unit_ns > 0 ? default_unit_ns
                                                           : 1000000000;
        return 0;
    case QFN_ELAPSED:
        x->unit_ns = unit > 0 ? unit : 1;
        return 0;
    case QFN_DIFFERENCE: case QFN_NON_NEGATIVE_DIFFERENCE:
    case QFN_CUMULATIVE_SUM:
        return 0;
    case QFN_MOVING_AVERAGE: {
        int64_t n = args != NULL ? args->n : 0;
        if (n < 1)
            return err_set(e, ERR_INVAL, "moving_average window must be "
                           "greater than 1, got %lld", (long long)n);
        if ((uint64_t)n > max_window)
            return err_set(e, ERR_LIMIT, "moving_average window %lld is above "
                           "the limit of %zu", (long long)n, max_window);
        x->window = (size_t)n;
        x->ring = calloc(x->window, sizeof *x->ring);
        if (x->ring == NULL)
            return err_set(e, ERR_NOMEM, "moving_average: out of memory");
        return 0;
    }
    default:
        return err_set(e, ERR_INVAL, "%s is not a transformation",
                       qfn_kind_name(kind));
    }
}

void qfn_xform_fini(struct qfn_xform *x)
{
    free(x->ring);
    x->ring = NULL;
}

static bool numeric(enum qfn_type t)
{
    return t == QFN_T_FLOAT || t == QFN_T_INT || t == QFN_T_UINT;
}

/* b - a in the type (integers wrap as in Go). */
static union qfn_val sub(enum qfn_type t, union qfn_val b, union qfn_val a)
{
    union qfn_val r;
    memset(&r, 0, sizeof r);
    if (t == QFN_T_FLOAT)
        r.f = b.f - a.f;
    else if (t == QFN_T_INT)
        r.i = (int64_t)((uint64_t)b.i - (uint64_t)a.i);
    else
        r.u = b.u - a.u;
    return r;
}

static bool negative(enum qfn_type t, union qfn_val v)
{
    return (t == QFN_T_FLOAT && v.f < 0) || (t == QFN_T_INT && v.i < 0);
}

/* The name influxd's type error gives the transformation (observed:
 * "unsupported moving average iterator type", non_negative_ variants as
 * their plain form). */
static const char *iterator_name(enum qfn_kind k)
{
    switch (k) {
    case QFN_NON_NEGATIVE_DERIVATIVE: return "derivative";
    case QFN_NON_NEGATIVE_DIFFERENCE: return "difference";
    case QFN_MOVING_AVERAGE: return "moving average";
    case QFN_CUMULATIVE_SUM: return "cumulative sum";
    default: return qfn_kind_name(k);
    }
}

int qfn_xform_push(struct qfn_xform *x, const struct qfn_point *in,
                   struct qfn_point *out, struct err *e)
{
    if (in->is_null)
        return 0;
    enum qfn_type t = in->type;
    if (x->kind != QFN_ELAPSED && !numeric(t))
        return err_set(e, ERR_TYPE, "unsupported %s iterator type: "
                       "*query.%sInterruptIterator", iterator_name(x->kind),
                       t == QFN_T_STRING ? "string" : "boolean");
    memset(out, 0, sizeof *out);
    out->ts_ns = in->ts_ns;
    bool had = x->has_prev;
    struct qfn_point prev = x->prev;
    /* derivative and difference ignore a point with the previous point's
     * time and keep the earlier one (observed with two series merged);
     * elapsed, moving_average and cumulative_sum take every point. */
    bool same_time = had && in->ts_ns == prev.ts_ns;
    bool keeps_first = x->kind == QFN_DERIVATIVE ||
                       x->kind == QFN_NON_NEGATIVE_DERIVATIVE ||
                       x->kind == QFN_DIFFERENCE ||
                       x->kind == QFN_NON_NEGATIVE_DIFFERENCE;
    if (same_time && keeps_first)
        return 0;
    x->has_prev = true;
    x->prev = *in;
    switch (x->kind) {
    case QFN_DERIVATIVE: case QFN_NON_NEGATIVE_DERIVATIVE: {
        if (!had)
            return 0;
        /* Descending output still divides by a positive time step. */
        /* Integers subtract in (wrapping) int64 first, as influxd does:
         * from -INT64_MAX to INT64_MAX over 10s is -0.2/s, observed. */
        union qfn_val d = sub(t, in->v, prev.v);
        double dv = t == QFN_T_FLOAT ? d.f
                    : t == QFN_T_INT ? (double)d.i : (double)d.u;
        int64_t step = x->is_descending ? prev.ts_ns - in->ts_ns
                                        : in->ts_ns - prev.ts_ns;
        double dt = (double)step / (double)x->unit_ns;
        out->type = QFN_T_FLOAT;
        out->v.f = dv / dt;
        if (x->kind == QFN_NON_NEGATIVE_DERIVATIVE && out->v.f < 0)
            return 0;
        return 1;
    }
    case QFN_DIFFERENCE: case QFN_NON_NEGATIVE_DIFFERENCE:
        if (!had)
            return 0;
        out->type = t;
        out->v = sub(t, in->v, prev.v);
        if (x->kind == QFN_NON_NEGATIVE_DIFFERENCE && negative(t, out->v))
            return 0;
        return 1;
    case QFN_ELAPSED: {
        if (!had)
            return 0;
        /* Signed: descending order gives negative values, as on influxd.
         * The difference is taken in 128 bits so no pair of times can
         * overflow; the quotient is truncated toward zero like Go's. */
        __int128 d = (__int128)in->ts_ns - prev.ts_ns;
        out->type = QFN_T_INT;
        out->v.i = (int64_t)(d / x->unit_ns);
        return 1;
    }
    case QFN_CUMULATIVE_SUM:
        out->type = t;
        if (!had)
            x->acc = in->v;
        else if (t == QFN_T_FLOAT)
            x->acc.f += in->v.f;
        else if (t == QFN_T_INT)
            x->acc.i = (int64_t)((uint64_t)x->acc.i + (uint64_t)in->v.i);
        else
            x->acc.u += in->v.u;
        out->v = x->acc;
        return 1;
    case QFN_MOVING_AVERAGE: {
        /* A running sum, like influxd's reducer (integers summed exactly,
         * in wrapping int64), so float rounding matches it. */
        if (x->ring_n == x->window) {
            union qfn_val old = x->ring[x->ring_pos];
            if (t == QFN_T_FLOAT)
                x->acc.f -= old.f;
            else
                x->acc.u -= old.u; /* int and uint wrap alike in uint64 */
        } else {
            x->ring_n++;
        }
        x->ring[x->ring_pos] = in->v;
        if (t == QFN_T_FLOAT)
            x->acc.f += in->v.f;
        else
            x->acc.u += in->v.u;
        x->ring_pos = (x->ring_pos + 1) % x->window;
        if (x->ring_n < x->window)
            return 0;
        out->type = QFN_T_FLOAT;
        out->v.f = (t == QFN_T_FLOAT  ? x->acc.f
                    : t == QFN_T_INT ? (double)x->acc.i
                                     : (double)x->acc.u) /
                   (double)x->window;
        return 1;
    }
    default:
        return err_set(e, ERR_INVAL, "%s is not a transformation",
                       qfn_kind_name(x->kind));
    }
}
