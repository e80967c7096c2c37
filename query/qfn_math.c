// SPDX-License-Identifier: MIT
/*
 * Arithmetic between values (spec §5.9 "Math"), as observed on influxd 1.6:
 * int op int stays int for + - * %, while int / int is float; a float on
 * either side makes the result float; x / 0 is 0 for ints and floats, int %
 * 0 is 0, and float % 0 is NaN in Go, which influxd prints as null.  A null
 * or a string/boolean operand gives null.  Integer + - * wrap like Go's
 * (computed in uint64), and INT64_MIN % -1 is 0 rather than a trap.
 * Unsigned values (our deliberate difference 1; 1.6 has none) stay unsigned
 * between themselves and mix with integers as int64: not comparable with
 * influxd.
 */
#include <math.h>
#include <string.h>

#include "query/qfn.h"

static struct qfn_point null_result(void)
{
    struct qfn_point r;
    memset(&r, 0, sizeof r);
    r.is_null = true;
    r.type = QFN_T_FLOAT;
    return r;
}

static bool numeric(enum qfn_type t)
{
    return t == QFN_T_FLOAT || t == QFN_T_INT || t == QFN_T_UINT;
}

static struct qfn_point int_op(enum qfn_op op, int64_t x, int64_t y)
{
    struct qfn_point r = null_result();
    r.is_null = false;
    r.type = QFN_T_INT;
    switch (op) {
    case QFN_OP_ADD: r.v.i = (int64_t)((uint64_t)x + (uint64_t)y); break;
    case QFN_OP_SUB: r.v.i = (int64_t)((uint64_t)x - (uint64_t)y); break;
    case QFN_OP_MUL: r.v.i = (int64_t)((uint64_t)x * (uint64_t)y); break;
    case QFN_OP_DIV:
        r.type = QFN_T_FLOAT;
        r.v.f = y == 0 ? 0 : (double)x / (double)y;
        break;
    case QFN_OP_MOD:
        r.v.i = (y == 0 || y == -1) ? 0 : x % y;
        break;
    }
    return r;
}

static struct qfn_point float_op(enum qfn_op op, double x, double y)
{
    struct qfn_point r = null_result();
    r.is_null = false;
    switch (op) {
    case QFN_OP_ADD: r.v.f = x + y; break;
    case QFN_OP_SUB: r.v.f = x - y; break;
    case QFN_OP_MUL: r.v.f = x * y; break;
    case QFN_OP_DIV: r.v.f = y == 0 ? 0 : x / y; break;
    case QFN_OP_MOD:
        if (y == 0)
            return null_result();
        r.v.f = fmod(x, y);
        break;
    }
    return r;
}

static struct qfn_point uint_op(enum qfn_op op, uint64_t x, uint64_t y)
{
    struct qfn_point r = null_result();
    r.is_null = false;
    r.type = QFN_T_UINT;
    switch (op) {
    case QFN_OP_ADD: r.v.u = x + y; break;
    case QFN_OP_SUB: r.v.u = x - y; break;
    case QFN_OP_MUL: r.v.u = x * y; break;
    case QFN_OP_DIV:
        r.type = QFN_T_FLOAT;
        r.v.f = y == 0 ? 0 : (double)x / (double)y;
        break;
    case QFN_OP_MOD: r.v.u = y == 0 ? 0 : x % y; break;
    }
    return r;
}

struct qfn_point qfn_math(enum qfn_op op, const struct qfn_point *a,
                          const struct qfn_point *b)
{
    if (a->is_null || b->is_null || !numeric(a->type) || !numeric(b->type))
        return null_result();
    struct qfn_point r;
    if (a->type == QFN_T_FLOAT || b->type == QFN_T_FLOAT)
        r = float_op(op, qfn_to_float(a->type, a->v), qfn_to_float(b->type, b->v));
    else if (a->type == QFN_T_UINT && b->type == QFN_T_UINT)
        r = uint_op(op, a->v.u, b->v.u);
    else
        r = int_op(op, a->type == QFN_T_INT ? a->v.i : (int64_t)a->v.u,
                   b->type == QFN_T_INT ? b->v.i : (int64_t)b->v.u);
    r.ts_ns = a->ts_ns;
    return r;
}
