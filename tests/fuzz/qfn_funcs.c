// SPDX-License-Identifier: MIT
/*
 * Fuzz target for query/qfn: the input bytes become a column (type, up to 64
 * points with ascending times that may sit near the int64 limits, values,
 * nulls), a GROUP BY interval and offset, and function arguments.  Every
 * aggregate, integral, fill mode, transformation and arithmetic operator
 * runs over it under ASan/UBSan.  One property is checked as well: a block
 * summary merged from two halves answers exactly like the raw points.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/qfn.h"

#define MAXP 64

struct cursor {
    const uint8_t *p;
    size_t n;
};

static uint64_t take(struct cursor *c, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++) {
        v = (v << 8) | (c->n ? *c->p : 0);
        if (c->n) {
            c->p++;
            c->n--;
        }
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct sv pool[4] = { SV_LIT("a"), SV_LIT("b"), SV_LIT(""), SV_LIT("ab") };
    struct cursor c = { data, size };
    enum qfn_type type = (enum qfn_type)(1 + take(&c, 1) % 5);
    size_t n = (size_t)(take(&c, 1) % (MAXP + 1));
    int64_t ts[MAXP];
    double f[MAXP];
    int64_t iv[MAXP];
    uint64_t u[MAXP];
    bool b[MAXP], isnull[MAXP];
    uint32_t grp[MAXP], gout[MAXP];
    struct sv s[MAXP];
    int64_t t = (int64_t)take(&c, 8);
    for (size_t i = 0; i < n; i++) {
        uint64_t d = take(&c, 2);
        if (i > 0) /* ascending; saturate instead of wrapping */
            t = t > INT64_MAX - (int64_t)d ? INT64_MAX : t + (int64_t)d;
        ts[i] = t;
        uint64_t raw = take(&c, 8);
        memcpy(&f[i], &raw, sizeof f[i]);
        if (f[i] != f[i])
            f[i] = 0; /* the layer's inputs are NaN-free, as influxd's are */
        iv[i] = (int64_t)raw;
        u[i] = raw;
        b[i] = raw & 1;
        s[i] = pool[raw & 3];
        isnull[i] = (raw >> 8) % 7 == 0;
        grp[i] = (uint32_t)(raw >> 16) & 3;
    }
    struct qfn_values in = { .type = type, .n = n, .ts_ns = ts, .is_null = isnull };
    switch (type) {
    case QFN_T_FLOAT: in.v.f = f; break;
    case QFN_T_INT: in.v.i = iv; break;
    case QFN_T_UINT: in.v.u = u; break;
    case QFN_T_BOOL: in.v.b = b; break;
    default: in.v.s = s; break;
    }
    int64_t interval = (int64_t)(take(&c, 4) % 100000) + 1;
    int64_t offset = (int64_t)take(&c, 8);
    struct qfn_args args = { .percentile = (double)(take(&c, 1) % 120),
                             .n = (int64_t)(take(&c, 1) % 10),
                             .unit_ns = (int64_t)take(&c, 2),
                             .seed = take(&c, 8) };
    struct qfn_point out[MAXP + 1];
    size_t nout;
    for (int k = QFN_COUNT; k <= QFN_SAMPLE; k++)
        (void)qfn_aggregate((enum qfn_kind)k, &args, &in, 0, n, 0, out, MAXP, &nout, NULL);
    struct qfn_args gargs = args;
    gargs.group = grp;
    gargs.group_out = gout;
    (void)qfn_aggregate(QFN_TOP, &gargs, &in, 0, n, 0, out, MAXP, &nout, NULL);
    (void)qfn_aggregate(QFN_BOTTOM, &gargs, &in, 0, n, 0, out, MAXP, &nout, NULL);
    struct qfn_buckets bk;
    bool have_b = n > 0 && qfn_bucket_plan(ts[0], ts[n - 1], interval, offset, 1, 4096,
                                           &bk, NULL) == 0;
    (void)qfn_integral(&in, args.unit_ns, NULL, n ? ts[0] : 0, out, MAXP, &nout, NULL);
    if (have_b) {
        (void)qfn_integral(&in, args.unit_ns, &bk, ts[0], out, MAXP + 1, &nout, NULL);
        for (size_t i = 0; i < n; i++)
            if (qfn_bucket_index(&bk, ts[i]) >= bk.n)
                abort(); /* every point of the range has a bucket */
    }

    /* summary of two halves == raw aggregate */
    size_t half = n / 2;
    struct qfn_summary s1, s2;
    qfn_summary_init(&s1, type);
    qfn_summary_init(&s2, type);
    qfn_summary_add(&s1, &in, half, n);
    qfn_summary_add(&s2, &in, 0, half);
    qfn_summary_merge(&s1, &s2);
    static const enum qfn_kind sk[] = { QFN_COUNT, QFN_SUM, QFN_MIN, QFN_MAX,
                                        QFN_FIRST, QFN_LAST, QFN_SPREAD };
    for (size_t k = 0; k < sizeof sk / sizeof sk[0]; k++) {
        struct qfn_point a, r[MAXP];
        int rc1 = qfn_summary_result(sk[k], &s1, 0, &a, NULL);
        int rc2 = qfn_aggregate(sk[k], NULL, &in, 0, n, 0, r, MAXP, &nout, NULL);
        if (rc1 != rc2)
            abort();
        if (rc1 == 0 && (a.is_null != r[0].is_null || a.ts_ns != r[0].ts_ns ||
                         (!a.is_null && type != QFN_T_STRING &&
                          memcmp(&a.v, &r[0].v, sizeof a.v) != 0 &&
                          !(type == QFN_T_FLOAT && sk[k] == QFN_SUM))))
            abort();
    }

    /* fill + transformations over per-point results */
    struct qfn_point rows[MAXP];
    for (size_t i = 0; i < n; i++) {
        memset(&rows[i], 0, sizeof rows[i]);
        rows[i].ts_ns = ts[i];
        rows[i].type = type;
        rows[i].is_null = isnull[i];
        rows[i].v = qfn_values_get(&in, i);
    }
    struct qfn_fill fl = { .mode = (enum qfn_fill_mode)(take(&c, 1) % 5),
                           .is_int = take(&c, 1) & 1, .i = (int64_t)take(&c, 8),
                           .f = (double)(int64_t)take(&c, 8) };
    qfn_fill_column(&fl, type == QFN_T_INT, type, interval, rows, n);
    for (int k = QFN_DERIVATIVE; k <= QFN_ELAPSED; k++) {
        struct qfn_xform x;
        if (qfn_xform_init(&x, (enum qfn_kind)k, &args, interval, fl.is_int, 16, NULL) != 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            struct qfn_point o;
            (void)qfn_xform_push(&x, &rows[i], &o, NULL);
        }
        qfn_xform_fini(&x);
    }
    for (size_t i = 0; i + 1 < n; i++)
        for (int op = QFN_OP_ADD; op <= QFN_OP_MOD; op++)
            (void)qfn_math((enum qfn_op)op, &rows[i], &rows[i + 1]);
    return 0;
}
