// SPDX-License-Identifier: MIT
/*
 * fill() over one column of per-bucket results (spec §5.6).  The column is
 * given in output order, so fill(previous) under ORDER BY time DESC copies
 * from the later bucket, as influxd does.  Linear interpolation uses bucket
 * times, computes in float as influxd's linearFloat does
 * (m * (t - t0) + v0) and truncates integers toward zero afterwards
 * (81 -> -12 over two buckets gives 34).  Strings and booleans cannot be
 * interpolated and stay null; a number fills them with "" and false, which
 * is what Go's cast of a number to those types gives.
 */
#include <string.h>

#include "query/qfn.h"

static void set_number(const struct qfn_fill *f, enum qfn_type t,
                       struct qfn_point *p)
{
    memset(&p->v, 0, sizeof p->v);
    p->is_null = false;
    p->type = t;
    switch (t) {
    case QFN_T_FLOAT: p->v.f = f->is_int ? (double)f->i : f->f; break;
    case QFN_T_INT:
        /* (int64_t) of an out-of-range double is undefined: clamp first. */
        if (f->is_int)
            p->v.i = f->i;
        else if (!(f->f > -9.2e18 && f->f < 9.2e18))
            p->v.i = f->f > 0 ? INT64_MAX : INT64_MIN;
        else
            p->v.i = (int64_t)f->f;
        break;
    case QFN_T_UINT:
        if (f->is_int)
            p->v.u = (uint64_t)f->i;
        else
            p->v.u = f->f > 0 && f->f < 1.8e19 ? (uint64_t)f->f : 0;
        break;
    case QFN_T_BOOL: p->v.b = false; break;
    case QFN_T_STRING: p->v.s = SV_NULL; break;
    case QFN_T_NONE: p->type = QFN_T_FLOAT; p->v.f = f->is_int ? (double)f->i : f->f; break;
    }
}

static double lerp(double t0, double v0, double t1, double v1, double t)
{
    double m = (v1 - v0) / (t1 - t0);
    return m * (t - t0) + v0;
}

static void fill_linear(enum qfn_type t, int64_t interval_ns,
                        struct qfn_point *rows, size_t n)
{
    if (t != QFN_T_FLOAT && t != QFN_T_INT && t != QFN_T_UINT)
        return;
    size_t prev = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].is_null || rows[i].keep_null) {
            prev = rows[i].keep_null ? (size_t)-1 : i;
            continue;
        }
        if (prev == (size_t)-1)
            continue;
        size_t next = i + 1;
        while (next < n && rows[next].is_null && !rows[next].keep_null)
            next++;
        if (next == n)
            return;
        if (rows[next].keep_null) { /* no value to interpolate towards */
            i = next - 1;
            continue;
        }
        for (size_t j = i; j < next; j++) {
            double v = lerp((double)(rows[prev].ts_ns / interval_ns),
                            qfn_to_float(t, rows[prev].v),
                            (double)(rows[next].ts_ns / interval_ns),
                            qfn_to_float(t, rows[next].v),
                            (double)(rows[j].ts_ns / interval_ns));
            struct qfn_fill f = { .mode = QFN_FILL_NUMBER, .f = v };
            set_number(&f, t, &rows[j]);
        }
        i = next - 1;
    }
}

void qfn_fill_column(const struct qfn_fill *f, bool is_count,
                     enum qfn_type col_type, int64_t interval_ns,
                     struct qfn_point *rows, size_t n)
{
    switch (f->mode) {
    case QFN_FILL_NONE:
        return;
    case QFN_FILL_NULL:
        if (!is_count)
            return;
        for (size_t i = 0; i < n; i++) {
            if (rows[i].is_null) {
                struct qfn_fill zero = { .mode = QFN_FILL_NUMBER, .is_int = true };
                set_number(&zero, QFN_T_INT, &rows[i]);
            }
        }
        return;
    case QFN_FILL_NUMBER:
        for (size_t i = 0; i < n; i++)
            if (rows[i].is_null && !rows[i].keep_null)
                set_number(f, col_type, &rows[i]);
        return;
    case QFN_FILL_PREVIOUS: {
        const struct qfn_point *last = NULL;
        for (size_t i = 0; i < n; i++) {
            if (!rows[i].is_null) {
                last = &rows[i];
            } else if (rows[i].keep_null) {
                last = NULL; /* 1.6 carries the Nil point forward */
            } else if (last != NULL) {
                int64_t ts = rows[i].ts_ns;
                rows[i] = *last;
                rows[i].ts_ns = ts;
            }
        }
        return;
    }
    case QFN_FILL_LINEAR:
        fill_linear(col_type, interval_ns > 0 ? interval_ns : 1, rows, n);
        return;
    }
}
