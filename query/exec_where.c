// SPDX-License-Identifier: MIT
/*
 * WHERE clauses, as influxd 1.6 reads them (observed on the real server):
 *
 *  1. The clause is copied into a small expression tree (struct qx__cx) and
 *     reduced the way influxql.Reduce folds literals: 1 + 1 is 2, 'a' + 'b'
 *     is 'ab', now() - 1h is a time, '2024-01-01' - 1d too, true AND x is x.
 *  2. influxql.ConditionExpr runs over it twice (influxd runs it once when it
 *     compiles the statement and again when it builds the iterators): every
 *     comparison with `time` on one side, found anywhere under AND *and* OR,
 *     leaves the condition and narrows the time range (`x OR time > t`
 *     becomes time range (t, inf) AND x); a leaf that is neither a
 *     comparison nor a boolean is "invalid condition expression: X" (on the
 *     second pass that catches what the first one folded into a literal).
 *  3. Function calls left in the condition must be math functions.
 *  4. Per point, a comparison of a tag with a literal follows the series
 *     index (a missing tag is ''; a tag never equals a number; only =, !=,
 *     =~, !~ match), a tag with a tag matches when both exist and agree, and
 *     everything else is influxql's value evaluation where a point lacking
 *     a field never matches.  A bare arithmetic expression in a boolean
 *     position matches everything, as it does in 1.6.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/exec_agg.h"
#include "query/exec_int.h"

typedef __int128 i128;

/* influxql.MinTime / MaxTime: the extremes a time literal may take. */
#define MIN_TIME ((i128)INT64_MIN + 2)
#define MAX_TIME ((i128)INT64_MAX - 1)
#define NS ((i128)1000000000)

enum cx_kind {
    CX_BOOL, CX_INT, CX_UINT, CX_FLOAT, CX_STR, CX_DUR, CX_TIME, CX_REGEX,
    CX_VAR, CX_CALL, CX_BIN, CX_PAREN, CX_OTHER,
};

struct qx__cx {
    enum cx_kind k;
    bool b;
    int64_t i;          /* CX_INT; CX_DUR (ns) */
    uint64_t u;
    double f;
    i128 t;             /* CX_TIME, ns since the epoch */
    struct sv s;        /* CX_STR; CX_VAR/CX_CALL name */
    enum iql_vtype type;/* CX_VAR */
    enum iql_op op;     /* CX_BIN */
    struct qx__cx *l, *r; /* CX_BIN; CX_PAREN: l */
    struct qx__cx **args; /* CX_CALL */
    size_t nargs;
    struct qx__rx *rx;  /* CX_REGEX */
    const struct iql_expr *src; /* as written (rendering, messages) */
};

/* What reduce may replace: now() and the zone of time strings. */
struct valuer {
    bool has_now;
    int64_t now_ns;
    const struct qx__tz *tz;
};

struct trange {
    bool has_min, has_max;
    i128 min, max;
};

/* ---- building ---------------------------------------------------------- */

static struct qx__cx *cx_new(struct qx__run *r, enum cx_kind k, const struct iql_expr *src)
{
    struct qx__cx *c = arena_calloc(r->a, sizeof *c);
    c->k = k;
    c->src = src;
    return c;
}

static int cx_build(struct qx__run *r, const struct iql_expr *x, struct qx__cx **out)
{
    struct qx__cx *c;
    int rc;
    switch (x->kind) {
    case IQL_EXPR_VARREF:
        c = cx_new(r, CX_VAR, x);
        c->s = x->ref.name;
        c->type = x->ref.type;
        break;
    case IQL_EXPR_CALL:
        c = cx_new(r, CX_CALL, x);
        c->s = x->call.name;
        c->nargs = x->call.nargs;
        c->args = arena_alloc(r->a, (c->nargs ? c->nargs : 1) * sizeof *c->args);
        for (size_t i = 0; i < c->nargs; i++)
            if ((rc = cx_build(r, x->call.args[i], &c->args[i])) != 0)
                return rc;
        break;
    case IQL_EXPR_BINARY:
        c = cx_new(r, CX_BIN, x);
        c->op = x->bin.op;
        if ((rc = cx_build(r, x->bin.lhs, &c->l)) != 0 || (rc = cx_build(r, x->bin.rhs, &c->r)) != 0)
            return rc;
        break;
    case IQL_EXPR_PAREN:
        c = cx_new(r, CX_PAREN, x);
        if ((rc = cx_build(r, x->paren, &c->l)) != 0)
            return rc;
        break;
    case IQL_EXPR_INTEGER:
        c = cx_new(r, CX_INT, x);
        c->i = x->i;
        break;
    case IQL_EXPR_UNSIGNED:
        c = cx_new(r, CX_UINT, x);
        c->u = x->u;
        break;
    case IQL_EXPR_NUMBER:
        c = cx_new(r, CX_FLOAT, x);
        c->f = x->f;
        break;
    case IQL_EXPR_STRING:
        c = cx_new(r, CX_STR, x);
        c->s = x->str;
        break;
    case IQL_EXPR_BOOL:
        c = cx_new(r, CX_BOOL, x);
        c->b = x->b;
        break;
    case IQL_EXPR_DURATION:
        c = cx_new(r, CX_DUR, x);
        c->i = x->dur_ns;
        break;
    case IQL_EXPR_REGEX:
        c = cx_new(r, CX_REGEX, x);
        if ((rc = qx__rx_compile(r, x->str, &c->rx)) != 0)
            return rc;
        break;
    default:
        c = cx_new(r, CX_OTHER, x);
        break;
    }
    *out = c;
    return 0;
}

/* ---- time strings (Go's time.ParseInLocation, as influxql calls it) ------- */

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Local wall time (seconds) in zone tz to UTC, as Go's time.Date does. */
static i128 local_to_utc(const struct qx__tz *tz, int64_t local_s)
{
    if (!tz)
        return (i128)local_s;
    int64_t probe = local_s > INT64_MAX / 1000000000 ? INT64_MAX / 1000000000
                  : local_s < INT64_MIN / 1000000000 ? INT64_MIN / 1000000000 : local_s;
    int64_t off = qx__tz_offset_ns(tz, probe * 1000000000) / 1000000000;
    int64_t utc = local_s - off;
    if (utc > INT64_MIN / 1000000000 && utc < INT64_MAX / 1000000000) {
        int64_t off2 = qx__tz_offset_ns(tz, utc * 1000000000) / 1000000000;
        if (off2 != off)
            utc = local_s - off2;
    }
    return (i128)utc;
}

/* 0 and *out (ns): a time literal; 1: not one (no date at the start);
 * -1: looks like one but does not parse ("invalid timestamp string"). */
static int parse_time_lit(struct sv str, const struct qx__tz *tz, i128 *out)
{
    struct iql_time t;
    int rc = iql_parse_time_string(str, &t);
    if (rc)
        return rc;
    i128 secs = t.has_offset ? (i128)(t.local_s - t.offset_s) : local_to_utc(tz, t.local_s);
    *out = secs * NS + t.frac_ns;
    return 0;
}

/* Go's time.Format(RFC3339) / RFC3339Nano of t (UTC). */
static void format_time(char *b, size_t cap, i128 t, bool nano)
{
    i128 secs = t / NS, ns = t % NS;
    if (ns < 0) {
        ns += NS;
        secs--;
    }
    int64_t days = (int64_t)(secs / 86400), rem = (int64_t)(secs % 86400);
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(b, cap, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d", y, m, d, (int)(rem / 3600),
                     (int)(rem / 60 % 60), (int)(rem % 60));
    if (nano && ns && n > 0 && (size_t)n < cap) {
        char f[16];
        snprintf(f, sizeof f, ".%09d", (int)ns);
        size_t k = strlen(f);
        while (k > 1 && f[k - 1] == '0')
            f[--k] = '\0';
        n += snprintf(b + n, cap - (size_t)n, "%s", f);
    }
    if (n > 0 && (size_t)n < cap)
        snprintf(b + n, cap - (size_t)n, "Z");
}

/* ---- rendering and names -------------------------------------------------- */

static int cx_render(struct buf *b, const struct qx__cx *c)
{
    struct iql_expr tmp;
    memset(&tmp, 0, sizeof tmp);
    switch (c->k) {
    case CX_INT: tmp.kind = IQL_EXPR_INTEGER; tmp.i = c->i; break;
    case CX_UINT: tmp.kind = IQL_EXPR_UNSIGNED; tmp.u = c->u; break;
    case CX_FLOAT: tmp.kind = IQL_EXPR_NUMBER; tmp.f = c->f; break;
    case CX_STR: tmp.kind = IQL_EXPR_STRING; tmp.str = c->s; break;
    case CX_BOOL: tmp.kind = IQL_EXPR_BOOL; tmp.b = c->b; break;
    case CX_DUR: tmp.kind = IQL_EXPR_DURATION; tmp.dur_ns = c->i; break;
    case CX_TIME: {
        char t[64];
        format_time(t, sizeof t, c->t, true);
        return buf_appendf(b, "'%s'", t);
    }
    default:
        return c->src ? iql_render_expr(b, c->src) : 0;
    }
    return iql_render_expr(b, &tmp);
}

static const char *go_type(const struct qx__cx *c)
{
    switch (c->k) {
    case CX_BOOL: return "BooleanLiteral";
    case CX_INT: return "IntegerLiteral";
    case CX_UINT: return "UnsignedLiteral";
    case CX_FLOAT: return "NumberLiteral";
    case CX_STR: return "StringLiteral";
    case CX_DUR: return "DurationLiteral";
    case CX_TIME: return "TimeLiteral";
    case CX_REGEX: return "RegexLiteral";
    case CX_VAR: return "VarRef";
    case CX_CALL: return "Call";
    case CX_BIN: return "BinaryExpr";
    case CX_PAREN: return "ParenExpr";
    default: return "Wildcard";
    }
}

static const char *op_text(enum iql_op op)
{
    switch (op) {
    case IQL_OP_ADD: return "+";
    case IQL_OP_SUB: return "-";
    case IQL_OP_MUL: return "*";
    case IQL_OP_DIV: return "/";
    case IQL_OP_MOD: return "%";
    case IQL_OP_BITAND: return "&";
    case IQL_OP_BITOR: return "|";
    case IQL_OP_BITXOR: return "^";
    case IQL_OP_AND: return "AND";
    case IQL_OP_OR: return "OR";
    case IQL_OP_EQ: return "=";
    case IQL_OP_NEQ: return "!=";
    case IQL_OP_EQREGEX: return "=~";
    case IQL_OP_NEQREGEX: return "!~";
    case IQL_OP_LT: return "<";
    case IQL_OP_LTE: return "<=";
    case IQL_OP_GT: return ">";
    case IQL_OP_GTE: return ">=";
    default: return "?";
    }
}

static bool is_cmp_op(enum iql_op op)
{
    return op == IQL_OP_EQ || op == IQL_OP_NEQ || op == IQL_OP_LT || op == IQL_OP_LTE ||
           op == IQL_OP_GT || op == IQL_OP_GTE || op == IQL_OP_EQREGEX || op == IQL_OP_NEQREGEX;
}

static bool is_arith_op(enum iql_op op)
{
    return op == IQL_OP_ADD || op == IQL_OP_SUB || op == IQL_OP_MUL || op == IQL_OP_DIV ||
           op == IQL_OP_MOD || op == IQL_OP_BITAND || op == IQL_OP_BITOR || op == IQL_OP_BITXOR;
}

/* ---- reduce (influxql.Reduce) --------------------------------------------- */

/* Go's int64(f) on amd64: out of range (and NaN) gives INT64_MIN. */
static int64_t go_f2i(double f)
{
    if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
        return INT64_MIN;
    return (int64_t)f;
}

static struct qx__cx *lit_bool(struct qx__run *r, bool v)
{
    struct qx__cx *c = cx_new(r, CX_BOOL, NULL);
    c->b = v;
    return c;
}

static struct qx__cx *lit_time(struct qx__run *r, i128 t)
{
    struct qx__cx *c = cx_new(r, CX_TIME, NULL);
    c->t = t;
    return c;
}

static struct qx__cx *lit_dur(struct qx__run *r, int64_t d)
{
    struct qx__cx *c = cx_new(r, CX_DUR, NULL);
    c->i = d;
    return c;
}

static struct qx__cx *lit_int(struct qx__run *r, int64_t v)
{
    struct qx__cx *c = cx_new(r, CX_INT, NULL);
    c->i = v;
    return c;
}

static struct qx__cx *lit_float(struct qx__run *r, double v)
{
    struct qx__cx *c = cx_new(r, CX_FLOAT, NULL);
    c->f = v;
    return c;
}

static struct qx__cx *bin_of(struct qx__run *r, enum iql_op op, struct qx__cx *l, struct qx__cx *rr,
                             const struct qx__cx *orig)
{
    if (orig && orig->k == CX_BIN && orig->op == op && orig->l == l && orig->r == rr)
        return (struct qx__cx *)orig;
    struct qx__cx *c = cx_new(r, CX_BIN, NULL);
    c->op = op;
    c->l = l;
    c->r = rr;
    return c;
}

static int cmp3(double a, double b)
{
    return a < b ? -1 : a > b;
}

static struct qx__cx *cmp_lit(struct qx__run *r, enum iql_op op, int c)
{
    switch (op) {
    case IQL_OP_EQ: return lit_bool(r, c == 0);
    case IQL_OP_NEQ: return lit_bool(r, c != 0);
    case IQL_OP_LT: return lit_bool(r, c < 0);
    case IQL_OP_LTE: return lit_bool(r, c <= 0);
    case IQL_OP_GT: return lit_bool(r, c > 0);
    case IQL_OP_GTE: return lit_bool(r, c >= 0);
    default: return NULL;
    }
}

static struct qx__cx *red_time_lhs(struct qx__run *r, enum iql_op op, i128 t, struct qx__cx *rhs,
                                   const struct valuer *v);

/* StringLiteral.ToTimeLiteral: NULL when s is no valid time. */
static struct qx__cx *str_time(struct qx__run *r, const struct qx__cx *s, const struct valuer *v)
{
    i128 t;
    if (parse_time_lit(s->s, v ? v->tz : NULL, &t) != 0)
        return NULL;
    return lit_time(r, t);
}

static struct qx__cx *red_dur_lhs(struct qx__run *r, enum iql_op op, int64_t d, struct qx__cx *rhs,
                                  const struct valuer *v)
{
    switch (rhs->k) {
    case CX_DUR:
        switch (op) {
        case IQL_OP_ADD: return lit_dur(r, (int64_t)((uint64_t)d + (uint64_t)rhs->i));
        case IQL_OP_SUB: return lit_dur(r, (int64_t)((uint64_t)d - (uint64_t)rhs->i));
        case IQL_OP_MUL: return lit_dur(r, (int64_t)((uint64_t)d * (uint64_t)rhs->i));
        case IQL_OP_DIV: return lit_dur(r, rhs->i == 0 ? 0 : rhs->i == -1 ? (int64_t)(0 - (uint64_t)d) : d / rhs->i);
        case IQL_OP_MOD: return lit_dur(r, rhs->i == 0 || rhs->i == -1 ? 0 : d % rhs->i);
        default: return cmp_lit(r, op, d < rhs->i ? -1 : d > rhs->i);
        }
    case CX_FLOAT:
    case CX_INT: {
        int64_t k = rhs->k == CX_INT ? rhs->i : go_f2i(rhs->f);
        if (op == IQL_OP_MUL)
            return lit_dur(r, (int64_t)((uint64_t)d * (uint64_t)k));
        if (op == IQL_OP_DIV)
            return lit_dur(r, k == 0 ? 0 : k == -1 ? (int64_t)(0 - (uint64_t)d) : d / k);
        return NULL;
    }
    case CX_TIME:
        return op == IQL_OP_ADD ? lit_time(r, rhs->t + d) : NULL;
    case CX_STR: {
        struct qx__cx *t = str_time(r, rhs, v);
        return t ? red_dur_lhs(r, op, d, t, v) : NULL;
    }
    default:
        return NULL;
    }
}

static struct qx__cx *red_time_lhs(struct qx__run *r, enum iql_op op, i128 t, struct qx__cx *rhs,
                                   const struct valuer *v)
{
    switch (rhs->k) {
    case CX_DUR:
        return op == IQL_OP_ADD ? lit_time(r, t + rhs->i)
             : op == IQL_OP_SUB ? lit_time(r, t - rhs->i) : NULL;
    case CX_STR: {
        struct qx__cx *x = str_time(r, rhs, v);
        return x ? red_time_lhs(r, op, t, x, v) : NULL;
    }
    case CX_TIME:
        if (op == IQL_OP_SUB)
            return lit_dur(r, (int64_t)(t - rhs->t));
        return cmp_lit(r, op, t < rhs->t ? -1 : t > rhs->t);
    default:
        return NULL;
    }
}

static struct qx__cx *red_num(struct qx__run *r, enum iql_op op, double a, double b)
{
    switch (op) {
    case IQL_OP_ADD: return lit_float(r, a + b);
    case IQL_OP_SUB: return lit_float(r, a - b);
    case IQL_OP_MUL: return lit_float(r, a * b);
    case IQL_OP_DIV: return lit_float(r, b == 0 ? 0 : a / b);
    case IQL_OP_MOD: return lit_float(r, fmod(a, b));
    default: return cmp_lit(r, op, cmp3(a, b));
    }
}

/* Literal op literal; NULL when influxql leaves it a binary expression. */
static struct qx__cx *red_lits(struct qx__run *r, enum iql_op op, struct qx__cx *l, struct qx__cx *rr,
                               const struct valuer *v)
{
    switch (l->k) {
    case CX_BOOL:
        if (rr->k != CX_BOOL)
            return NULL;
        switch (op) {
        case IQL_OP_EQ: return lit_bool(r, l->b == rr->b);
        case IQL_OP_NEQ: return lit_bool(r, l->b != rr->b);
        case IQL_OP_AND: return lit_bool(r, l->b && rr->b);
        case IQL_OP_OR: return lit_bool(r, l->b || rr->b);
        case IQL_OP_BITAND: return lit_bool(r, l->b & rr->b);
        case IQL_OP_BITOR: return lit_bool(r, l->b | rr->b);
        case IQL_OP_BITXOR: return lit_bool(r, l->b ^ rr->b);
        default: return NULL;
        }
    case CX_DUR:
        return red_dur_lhs(r, op, l->i, rr, v);
    case CX_INT:
        switch (rr->k) {
        case CX_FLOAT:
            return red_num(r, op, (double)l->i, rr->f);
        case CX_INT: {
            int64_t a = l->i, b = rr->i;
            switch (op) {
            case IQL_OP_ADD: return lit_int(r, (int64_t)((uint64_t)a + (uint64_t)b));
            case IQL_OP_SUB: return lit_int(r, (int64_t)((uint64_t)a - (uint64_t)b));
            case IQL_OP_MUL: return lit_int(r, (int64_t)((uint64_t)a * (uint64_t)b));
            case IQL_OP_DIV: return lit_float(r, b == 0 ? 0 : (double)a / (double)b);
            case IQL_OP_MOD: return lit_int(r, b == 0 || b == -1 ? 0 : a % b);
            case IQL_OP_BITAND: return lit_int(r, a & b);
            case IQL_OP_BITOR: return lit_int(r, a | b);
            case IQL_OP_BITXOR: return lit_int(r, a ^ b);
            default: return cmp_lit(r, op, a < b ? -1 : a > b);
            }
        }
        case CX_DUR:
            return op == IQL_OP_ADD ? lit_time(r, (i128)l->i + rr->i)
                 : op == IQL_OP_SUB ? lit_time(r, (i128)l->i - rr->i) : NULL;
        case CX_TIME:
            return red_dur_lhs(r, op, l->i, rr, v);
        case CX_STR: {
            struct qx__cx *t = str_time(r, rr, v);
            return t ? red_dur_lhs(r, op, l->i, t, v) : NULL;
        }
        default:
            return NULL;
        }
    case CX_UINT:
        if (rr->k == CX_UINT && (is_cmp_op(op) || op == IQL_OP_ADD || op == IQL_OP_SUB)) {
            uint64_t a = l->u, b = rr->u;
            if (op == IQL_OP_ADD || op == IQL_OP_SUB) {
                struct qx__cx *c = cx_new(r, CX_UINT, NULL);
                c->u = op == IQL_OP_ADD ? a + b : a - b;
                return c;
            }
            return cmp_lit(r, op, a < b ? -1 : a > b);
        }
        return NULL;
    case CX_FLOAT:
        if (rr->k == CX_FLOAT || rr->k == CX_INT)
            return red_num(r, op, l->f, rr->k == CX_FLOAT ? rr->f : (double)rr->i);
        return NULL;
    case CX_STR:
        switch (rr->k) {
        case CX_STR:
            if (op == IQL_OP_ADD) {
                struct qx__cx *c = cx_new(r, CX_STR, NULL);
                char *p = arena_alloc(r->a, l->s.n + rr->s.n + 1);
                if (l->s.n)
                    memcpy(p, l->s.p, l->s.n);
                if (rr->s.n)
                    memcpy(p + l->s.n, rr->s.p, rr->s.n);
                p[l->s.n + rr->s.n] = '\0';
                c->s = sv_make(p, l->s.n + rr->s.n);
                return c;
            }
            if (op == IQL_OP_EQ || op == IQL_OP_NEQ) {
                bool eq = sv_eq(l->s, rr->s);
                struct qx__cx *tl = str_time(r, l, v), *tr = tl ? str_time(r, rr, v) : NULL;
                if (tl && tr)
                    eq = tl->t == tr->t;
                return lit_bool(r, op == IQL_OP_EQ ? eq : !eq);
            } else {
                struct qx__cx *t = str_time(r, l, v);
                return t ? red_time_lhs(r, op, t->t, rr, v) : NULL;
            }
        case CX_DUR:
        case CX_TIME: {
            struct qx__cx *t = str_time(r, l, v);
            return t ? red_time_lhs(r, op, t->t, rr, v) : NULL;
        }
        default:
            return NULL;
        }
    case CX_TIME:
        return red_time_lhs(r, op, l->t, rr, v);
    default:
        return NULL;
    }
}

static bool is_lit_bool(const struct qx__cx *c, bool v)
{
    return c->k == CX_BOOL && c->b == v;
}

static struct qx__cx *reduce(struct qx__run *r, struct qx__cx *c, const struct valuer *v)
{
    switch (c->k) {
    case CX_BIN: {
        struct qx__cx *l = reduce(r, c->l, v), *rr = reduce(r, c->r, v);
        if (c->op == IQL_OP_AND) {
            if (is_lit_bool(l, false) || is_lit_bool(rr, false))
                return lit_bool(r, false);
            if (is_lit_bool(l, true))
                return rr;
            if (is_lit_bool(rr, true))
                return l;
        } else if (c->op == IQL_OP_OR) {
            if (is_lit_bool(l, true) || is_lit_bool(rr, true))
                return lit_bool(r, true);
            if (is_lit_bool(l, false))
                return rr;
            if (is_lit_bool(rr, false))
                return l;
        }
        struct qx__cx *x = red_lits(r, c->op, l, rr, v);
        return x ? x : bin_of(r, c->op, l, rr, c);
    }
    case CX_PAREN: {
        struct qx__cx *x = reduce(r, c->l, v);
        if (x->k != CX_BIN)
            return x;
        if (x == c->l)
            return c;
        struct qx__cx *p = cx_new(r, CX_PAREN, NULL);
        p->l = x;
        return p;
    }
    case CX_CALL: {
        if (v && v->has_now && sv_eq_cstr(c->s, "now") && c->nargs == 0)
            return lit_time(r, v->now_ns);
        bool same = true;
        struct qx__cx **a = arena_alloc(r->a, (c->nargs ? c->nargs : 1) * sizeof *a);
        for (size_t i = 0; i < c->nargs; i++) {
            a[i] = reduce(r, c->args[i], v);
            same = same && a[i] == c->args[i];
        }
        if (same)
            return c;
        struct qx__cx *x = cx_new(r, CX_CALL, c->src);
        *x = *c;
        x->args = a;
        return x;
    }
    default:
        return c;
    }
}

/* ---- ConditionExpr -------------------------------------------------------- */

static bool is_time_var(const struct qx__cx *c)
{
    return c->k == CX_VAR && sv_case_eq(c->s, "time");
}

static void range_min(struct trange *t, i128 v)
{
    if (!t->has_min || v > t->min)
        t->min = v;
    t->has_min = true;
}

static void range_max(struct trange *t, i128 v)
{
    if (!t->has_max || v < t->max)
        t->max = v;
    t->has_max = true;
}

static int time_range_of(struct qx__run *r, enum iql_op op, struct qx__cx *rhs,
                         const struct valuer *v, struct trange *t)
{
    if (rhs->k == CX_STR) {
        if (iql_is_time_string(rhs->s)) {
            i128 x;
            if (parse_time_lit(rhs->s, v->tz, &x) != 0)
                return err_set(r->e, ERR_INVAL, "invalid timestamp string");
            rhs = lit_time(r, x);
        }
    }
    rhs = reduce(r, rhs, v);
    i128 val;
    switch (rhs->k) {
    case CX_TIME: {
        char b[64];
        if (rhs->t > MAX_TIME) {
            format_time(b, sizeof b, rhs->t, false);
            return err_set(r->e, ERR_INVAL, "time %s overflows time literal", b);
        }
        if (rhs->t < MIN_TIME + 1) {
            format_time(b, sizeof b, rhs->t, false);
            return err_set(r->e, ERR_INVAL, "time %s underflows time literal", b);
        }
        val = rhs->t;
        break;
    }
    case CX_DUR:
    case CX_INT:
        val = rhs->i;
        break;
    case CX_FLOAT:
        val = go_f2i(rhs->f);
        break;
    default:
        return err_set(r->e, ERR_INVAL, "invalid operation: time and *influxql.%s are not compatible",
                       go_type(rhs));
    }
    switch (op) {
    case IQL_OP_GT: range_min(t, val + 1); break;
    case IQL_OP_GTE: range_min(t, val); break;
    case IQL_OP_LT: range_max(t, val - 1); break;
    case IQL_OP_LTE: range_max(t, val); break;
    case IQL_OP_EQ:
        range_min(t, val);
        range_max(t, val);
        break;
    default:
        return err_set(r->e, ERR_INVAL, "invalid time comparison operator: %s", op_text(op));
    }
    return 0;
}

static int cond_expr(struct qx__run *r, struct qx__cx *c, const struct valuer *v, struct trange *t,
                     struct qx__cx **out)
{
    int rc;
    *out = NULL;
    switch (c->k) {
    case CX_BIN: {
        if (c->op == IQL_OP_AND || c->op == IQL_OP_OR) {
            struct qx__cx *l, *rr;
            if ((rc = cond_expr(r, c->l, v, t, &l)) != 0 || (rc = cond_expr(r, c->r, v, t, &rr)) != 0)
                return rc;
            if (!rr)
                *out = l;
            else if (!l)
                *out = rr;
            else
                *out = reduce(r, bin_of(r, c->op, l, rr, c), NULL);
            return 0;
        }
        if (is_time_var(c->l))
            return time_range_of(r, c->op, c->r, v, t);
        if (is_time_var(c->r)) {
            enum iql_op op = c->op;
            op = op == IQL_OP_GT ? IQL_OP_LT : op == IQL_OP_LT ? IQL_OP_GT
               : op == IQL_OP_GTE ? IQL_OP_LTE : op == IQL_OP_LTE ? IQL_OP_GTE : op;
            return time_range_of(r, op, c->l, v, t);
        }
        *out = reduce(r, c, v);
        return 0;
    }
    case CX_PAREN: {
        struct qx__cx *x;
        if ((rc = cond_expr(r, c->l, v, t, &x)) != 0)
            return rc;
        if (!x)
            return 0;
        struct qx__cx *p = c;
        if (x != c->l) {
            p = cx_new(r, CX_PAREN, NULL);
            p->l = x;
        }
        *out = reduce(r, p, NULL);
        return 0;
    }
    case CX_BOOL:
        *out = c;
        return 0;
    default: {
        struct buf b;
        buf_init(&b, 0);
        cx_render(&b, c);
        rc = err_set(r->e, ERR_INVAL, "invalid condition expression: %.*s", SV_FMT(buf_sv(&b)));
        buf_fini(&b);
        return rc;
    }
    }
}

static struct qx__cx *strip_top(struct qx__cx *c)
{
    if (c && c->k == CX_PAREN)
        c = c->l;
    if (c && is_lit_bool(c, true))
        return NULL;
    return c;
}

struct math_fn {
    const char *name;
    int nargs;
};

static const struct math_fn MATH_FNS[] = {
    { "abs", 1 }, { "sin", 1 }, { "cos", 1 }, { "tan", 1 }, { "asin", 1 }, { "acos", 1 },
    { "atan", 1 }, { "atan2", 2 }, { "exp", 1 }, { "log", 1 }, { "ln", 1 }, { "log2", 1 },
    { "log10", 1 }, { "sqrt", 1 }, { "pow", 2 }, { "floor", 1 }, { "ceil", 1 }, { "round", 1 },
};

static const struct math_fn *math_fn(struct sv name)
{
    for (size_t i = 0; i < sizeof MATH_FNS / sizeof MATH_FNS[0]; i++)
        if (sv_eq_cstr(name, MATH_FNS[i].name))
            return &MATH_FNS[i];
    return NULL;
}

/* query.validateCondition: calls must be math functions (parentheses are
 * not looked into, as in 1.6). */
static int validate(struct qx__run *r, const struct qx__cx *c)
{
    int rc;
    if (!c)
        return 0;
    if (c->k == CX_BIN)
        return (rc = validate(r, c->l)) != 0 ? rc : validate(r, c->r);
    if (c->k != CX_CALL)
        return 0;
    const struct math_fn *m = math_fn(c->s);
    if (!m) {
        struct buf b;
        buf_init(&b, 0);
        cx_render(&b, c);
        rc = err_set(r->e, ERR_INVAL, "invalid function call in condition: %.*s", SV_FMT(buf_sv(&b)));
        buf_fini(&b);
        return rc;
    }
    if ((int)c->nargs != m->nargs)
        return err_set(r->e, ERR_INVAL, "invalid number of arguments for %.*s, expected %d, got %zu",
                       SV_FMT(c->s), m->nargs, c->nargs);
    for (size_t i = 0; i < c->nargs; i++)
        if ((rc = validate(r, c->args[i])) != 0)
            return rc;
    return 0;
}

/* The whole analysis of a WHERE clause: the remaining condition (NULL:
 * none) and the time range. */
static int analyze(struct qx__run *r, const struct iql_expr *expr, struct qx__cx **out,
                   struct trange *t)
{
    memset(t, 0, sizeof *t);
    *out = NULL;
    if (!expr)
        return 0;
    struct valuer v = { .has_now = true, .now_ns = r->p->now_ns };
    if (r->tz_name.n) {
        struct qx__tz *tz = NULL;
        int rc = qx__tz_load(r, r->tz_name, &tz);
        if (rc)
            return rc;
        v.tz = tz;
    }
    struct qx__cx *c, *c1, *c2;
    int rc = cx_build(r, expr, &c);
    rc = rc ? rc : cond_expr(r, c, &v, t, &c1);
    if (rc)
        return rc;
    c1 = strip_top(c1);
    if ((rc = validate(r, c1)) != 0)
        return rc;
    if (!c1)
        return 0;
    if ((rc = cond_expr(r, c1, &v, t, &c2)) != 0)
        return rc;
    *out = strip_top(c2);
    return 0;
}

static int64_t wrap_ns(i128 v)
{
    return (int64_t)(uint64_t)(unsigned __int128)v;
}

int qx__time_range(struct qx__run *r, const struct iql_expr *cond, int64_t *min, int64_t *max)
{
    struct qx__cx *c;
    struct trange t;
    *min = INT64_MIN;
    *max = INT64_MAX;
    int rc = analyze(r, cond, &c, &t);
    if (rc)
        return rc;
    /* TimeRange.MinTimeNano / MaxTimeNano: an instant outside int64 wraps. */
    if (t.has_min)
        *min = wrap_ns(t.min);
    if (t.has_max)
        *max = wrap_ns(t.max);
    return 0;
}

int qx__cond_prepare(struct qx__run *r, const struct iql_expr *expr, struct qx__cond *out)
{
    memset(out, 0, sizeof *out);
    out->expr = expr;
    struct trange t;
    return analyze(r, expr, &out->root, &t);
}

void qx__cond_set_fields(struct qx__cond *c, const struct sv *names, size_t n)
{
    c->fields = names;
    c->nfields = n;
    c->has_fields = true;
}

static bool cx_has_time(const struct iql_expr *x)
{
    while (x && x->kind == IQL_EXPR_PAREN)
        x = x->paren;
    if (!x)
        return false;
    if (x->kind == IQL_EXPR_VARREF)
        return sv_case_eq(x->ref.name, "time");
    if (x->kind == IQL_EXPR_BINARY)
        return cx_has_time(x->bin.lhs) || cx_has_time(x->bin.rhs);
    return false;
}

bool qx__cond_has_time(const struct iql_expr *x)
{
    return cx_has_time(x);
}

/* ---- evaluation ------------------------------------------------------------ */

/* A value during evaluation: qx_value kinds plus regexes and the
 * literals nothing compares with (durations, times). */
struct ev {
    struct qx_value v;      /* QX_NULL: nil */
    const struct qx__rx *rx; /* set: a regex */
    bool is_other;          /* a duration or time literal */
};

static struct ev ev_nil(void)
{
    struct ev e;
    memset(&e, 0, sizeof e);
    e.v.kind = QX_NULL;
    return e;
}

static struct ev ev_bool(bool b)
{
    struct ev e = ev_nil();
    e.v.kind = QX_BOOL;
    e.v.b = b;
    return e;
}

static struct ev ev_float(double f)
{
    struct ev e = ev_nil();
    e.v.kind = QX_FLOAT;
    e.v.f = f;
    return e;
}

static struct ev ev_int(int64_t i)
{
    struct ev e = ev_nil();
    e.v.kind = QX_INT;
    e.v.i = i;
    return e;
}

static bool tag_find(const struct qx__row_env *env, struct sv key, struct sv *out)
{
    for (size_t i = 0; i < env->ntags; i++) {
        if (sv_eq(env->tags[i].key, key)) {
            *out = env->tags[i].value;
            return true;
        }
    }
    *out = SV_LIT("");
    return false;
}

/* Whether a reference reads a field: a cast says so, else the measurement's
 * field keys (a field wins over a tag of the same name). */
static bool is_field_ref(const struct qx__cond *c, const struct qx__cx *x,
                         const struct qx__row_env *env)
{
    if (x->type == IQL_VT_TAG)
        return false;
    if (x->type != IQL_VT_UNKNOWN)
        return true;
    if (c->has_fields) {
        for (size_t i = 0; i < c->nfields; i++)
            if (sv_eq(c->fields[i], x->s))
                return true;
        return false;
    }
    return env->field && env->field(env->field_arg, x->s) != NULL;
}

static bool type_fits(enum iql_vtype t, enum qx_kind k)
{
    switch (t) {
    case IQL_VT_FLOAT:
    case IQL_VT_INTEGER:
    case IQL_VT_UNSIGNED:
        return k == QX_FLOAT || k == QX_INT || k == QX_UINT;
    case IQL_VT_STRING:
        return k == QX_STRING;
    case IQL_VT_BOOLEAN:
        return k == QX_BOOL;
    default:
        return true;
    }
}

static struct ev ev_var(const struct qx__cond *c, const struct qx__cx *x, const struct qx__row_env *env)
{
    struct ev e = ev_nil();
    if (sv_case_eq(x->s, "time"))
        return e;
    if (is_field_ref(c, x, env)) {
        const struct qx_value *f = env->field ? env->field(env->field_arg, x->s) : NULL;
        if (f && type_fits(x->type, f->kind))
            e.v = *f;
        return e;
    }
    struct sv tv;
    if (tag_find(env, x->s, &tv)) {
        e.v.kind = QX_STRING;
        e.v.s = tv;
    }
    return e;
}

static struct ev ev_expr(const struct qx__cond *c, const struct qx__cx *x, const struct qx__row_env *env);

static bool to_float(const struct ev *e, double *out)
{
    switch (e->v.kind) {
    case QX_FLOAT: *out = e->v.f; return true;
    case QX_INT: *out = (double)e->v.i; return true;
    case QX_UINT: *out = (double)e->v.u; return true;
    default: return false;
    }
}

static struct ev cmp_ev(enum iql_op op, int k)
{
    switch (op) {
    case IQL_OP_EQ: return ev_bool(k == 0);
    case IQL_OP_NEQ: return ev_bool(k != 0);
    case IQL_OP_LT: return ev_bool(k < 0);
    case IQL_OP_LTE: return ev_bool(k <= 0);
    case IQL_OP_GT: return ev_bool(k > 0);
    case IQL_OP_GTE: return ev_bool(k >= 0);
    default: return ev_nil();
    }
}

static struct ev ev_call(const struct qx__cond *c, const struct qx__cx *x, const struct qx__row_env *env)
{
    double a[2] = { 0, 0 };
    bool is_int = false;
    int64_t iv = 0;
    if (x->nargs < 1 || x->nargs > 2)
        return ev_nil();
    for (size_t i = 0; i < x->nargs; i++) {
        /* 1.6 evaluates math functions on references and literals only. */
        if (x->args[i]->k == CX_BIN)
            return ev_nil();
        struct ev e = ev_expr(c, x->args[i], env);
        if (!to_float(&e, &a[i]))
            return ev_nil();
        if (i == 0 && e.v.kind == QX_INT) {
            is_int = true;
            iv = e.v.i;
        }
    }
    if (sv_eq_cstr(x->s, "abs"))
        return is_int ? ev_int(iv < 0 ? (int64_t)(0 - (uint64_t)iv) : iv) : ev_float(fabs(a[0]));
    if (sv_eq_cstr(x->s, "floor"))
        return is_int ? ev_int(iv) : ev_float(floor(a[0]));
    if (sv_eq_cstr(x->s, "ceil"))
        return is_int ? ev_int(iv) : ev_float(ceil(a[0]));
    if (sv_eq_cstr(x->s, "round"))
        return is_int ? ev_int(iv) : ev_float(round(a[0]));
    double r = NAN;
    if (sv_eq_cstr(x->s, "sin")) r = sin(a[0]);
    else if (sv_eq_cstr(x->s, "cos")) r = cos(a[0]);
    else if (sv_eq_cstr(x->s, "tan")) r = tan(a[0]);
    else if (sv_eq_cstr(x->s, "asin")) r = asin(a[0]);
    else if (sv_eq_cstr(x->s, "acos")) r = acos(a[0]);
    else if (sv_eq_cstr(x->s, "atan")) r = atan(a[0]);
    else if (sv_eq_cstr(x->s, "atan2")) r = atan2(a[0], a[1]);
    else if (sv_eq_cstr(x->s, "exp")) r = exp(a[0]);
    else if (sv_eq_cstr(x->s, "ln") || sv_eq_cstr(x->s, "log")) r = log(a[0]);
    else if (sv_eq_cstr(x->s, "log2")) r = log2(a[0]);
    else if (sv_eq_cstr(x->s, "log10")) r = log10(a[0]);
    else if (sv_eq_cstr(x->s, "sqrt")) r = sqrt(a[0]);
    else if (sv_eq_cstr(x->s, "pow")) r = pow(a[0], a[1]);
    else return ev_nil();
    return ev_float(r);
}

/* influxql.ValuerEval.evalBinaryExpr */
static struct ev ev_bin(enum iql_op op, struct ev l, struct ev r)
{
    if (l.v.kind == QX_NULL && !l.rx && !l.is_other && r.v.kind == QX_BOOL)
        l = ev_bool(false);
    else if (r.v.kind == QX_NULL && !r.rx && !r.is_other && l.v.kind == QX_BOOL)
        r = ev_bool(false);
    if (!l.rx && !l.is_other) {
        switch (l.v.kind) {
        case QX_BOOL: {
            bool ok = r.v.kind == QX_BOOL && !r.rx && !r.is_other;
            switch (op) {
            case IQL_OP_AND: return ev_bool(ok && l.v.b && r.v.b);
            case IQL_OP_OR: return ev_bool(ok && (l.v.b || r.v.b));
            case IQL_OP_EQ: return ev_bool(ok && l.v.b == r.v.b);
            case IQL_OP_NEQ: return ev_bool(ok && l.v.b != r.v.b);
            default: break;
            }
            break;
        }
        case QX_FLOAT:
        case QX_INT:
        case QX_UINT: {
            double a = 0, b = 0;
            bool ok = !r.rx && !r.is_other && to_float(&r, &b);
            to_float(&l, &a);
            if (ok && l.v.kind == QX_INT && r.v.kind == QX_INT) {
                int64_t x = l.v.i, y = r.v.i;
                switch (op) {
                case IQL_OP_ADD: return ev_int((int64_t)((uint64_t)x + (uint64_t)y));
                case IQL_OP_SUB: return ev_int((int64_t)((uint64_t)x - (uint64_t)y));
                case IQL_OP_MUL: return ev_int((int64_t)((uint64_t)x * (uint64_t)y));
                case IQL_OP_DIV: return ev_int(y == 0 || (y == -1 && x == INT64_MIN) ? 0 : x / y);
                case IQL_OP_MOD: return ev_int(y == 0 || y == -1 ? 0 : x % y);
                case IQL_OP_BITAND: return ev_int(x & y);
                case IQL_OP_BITOR: return ev_int(x | y);
                case IQL_OP_BITXOR: return ev_int(x ^ y);
                default: return cmp_ev(op, x < y ? -1 : x > y);
                }
            }
            if (ok && l.v.kind == QX_UINT && r.v.kind == QX_UINT) {
                uint64_t x = l.v.u, y = r.v.u;
                struct ev e = ev_nil();
                e.v.kind = QX_UINT;
                switch (op) {
                case IQL_OP_ADD: e.v.u = x + y; return e;
                case IQL_OP_SUB: e.v.u = x - y; return e;
                case IQL_OP_MUL: e.v.u = x * y; return e;
                case IQL_OP_DIV: e.v.u = y ? x / y : 0; return e;
                case IQL_OP_MOD: e.v.u = y ? x % y : 0; return e;
                case IQL_OP_BITAND: e.v.u = x & y; return e;
                case IQL_OP_BITOR: e.v.u = x | y; return e;
                case IQL_OP_BITXOR: e.v.u = x ^ y; return e;
                default: return cmp_ev(op, x < y ? -1 : x > y);
                }
            }
            switch (op) {
            case IQL_OP_EQ: case IQL_OP_NEQ: case IQL_OP_LT: case IQL_OP_LTE:
            case IQL_OP_GT: case IQL_OP_GTE:
                if (!ok)
                    return ev_bool(false);
                return cmp_ev(op, cmp3(a, b));
            case IQL_OP_ADD: return ok ? ev_float(a + b) : ev_nil();
            case IQL_OP_SUB: return ok ? ev_float(a - b) : ev_nil();
            case IQL_OP_MUL: return ok ? ev_float(a * b) : ev_nil();
            case IQL_OP_DIV: return ok ? ev_float(b == 0 ? 0 : a / b) : ev_nil();
            case IQL_OP_MOD: return ok ? ev_float(fmod(a, b)) : ev_nil();
            default: break;
            }
            break;
        }
        case QX_STRING:
            switch (op) {
            case IQL_OP_EQ:
            case IQL_OP_NEQ:
                if (r.v.kind != QX_STRING || r.rx || r.is_other)
                    return ev_nil();
                return ev_bool(sv_eq(l.v.s, r.v.s) == (op == IQL_OP_EQ));
            case IQL_OP_EQREGEX:
            case IQL_OP_NEQREGEX:
                if (!r.rx)
                    return ev_nil();
                return ev_bool(qx__rx_match(r.rx, l.v.s) == (op == IQL_OP_EQREGEX));
            default:
                break;
            }
            break;
        default:
            break;
        }
    }
    switch (op) {
    case IQL_OP_EQ: case IQL_OP_NEQ: case IQL_OP_LT: case IQL_OP_LTE: case IQL_OP_GT:
    case IQL_OP_GTE:
        return ev_bool(false);
    default:
        return ev_nil();
    }
}

static struct ev ev_expr(const struct qx__cond *c, const struct qx__cx *x, const struct qx__row_env *env)
{
    struct ev e = ev_nil();
    switch (x->k) {
    case CX_BOOL: return ev_bool(x->b);
    case CX_INT: return ev_int(x->i);
    case CX_FLOAT: return ev_float(x->f);
    case CX_UINT:
        e.v.kind = QX_UINT;
        e.v.u = x->u;
        return e;
    case CX_STR:
        e.v.kind = QX_STRING;
        e.v.s = x->s;
        return e;
    case CX_DUR:
    case CX_TIME:
        e.is_other = true;
        return e;
    case CX_REGEX:
        e.rx = x->rx;
        return e;
    case CX_VAR: return ev_var(c, x, env);
    case CX_CALL: return ev_call(c, x, env);
    case CX_PAREN: return ev_expr(c, x->l, env);
    case CX_BIN: return ev_bin(x->op, ev_expr(c, x->l, env), ev_expr(c, x->r, env));
    default: return e;
    }
}

static bool is_tag_var(const struct qx__cond *c, const struct qx__cx *x, const struct qx__row_env *env)
{
    return x->k == CX_VAR && !sv_case_eq(x->s, "time") && !is_field_ref(c, x, env);
}

static bool is_literal(const struct qx__cx *x)
{
    return x->k == CX_BOOL || x->k == CX_INT || x->k == CX_UINT || x->k == CX_FLOAT ||
           x->k == CX_STR || x->k == CX_DUR || x->k == CX_TIME || x->k == CX_REGEX;
}

/* A comparison in a boolean position. */
static bool cond_cmp(const struct qx__cond *c, const struct qx__cx *x, const struct qx__row_env *env)
{
    const struct qx__cx *l = x->l, *r = x->r;
    enum iql_op op = x->op;
    bool lt = is_tag_var(c, l, env), rt = is_tag_var(c, r, env);
    if (lt && rt) {
        /* the series index: both tags exist and agree */
        struct sv a, b;
        bool has_a = tag_find(env, l->s, &a), has_b = tag_find(env, r->s, &b);
        bool eq = has_a && has_b && sv_eq(a, b);
        return op == IQL_OP_EQ ? eq : op == IQL_OP_NEQ ? !eq : false;
    }
    if ((lt && is_literal(r)) || (rt && is_literal(l))) {
        const struct qx__cx *tag = lt ? l : r, *lit = lt ? r : l;
        struct sv v;
        tag_find(env, tag->s, &v); /* a missing tag is '' */
        if (lit->k == CX_STR && (op == IQL_OP_EQ || op == IQL_OP_NEQ))
            return sv_eq(v, lit->s) == (op == IQL_OP_EQ);
        if (lit->k == CX_REGEX && (op == IQL_OP_EQREGEX || op == IQL_OP_NEQREGEX))
            return qx__rx_match(lit->rx, v) == (op == IQL_OP_EQREGEX);
        return false;
    }
    struct ev a = ev_expr(c, l, env), b = ev_expr(c, r, env);
    /* A point lacking a field never matches a comparison with it. */
    if ((l->k == CX_VAR && a.v.kind == QX_NULL) || (r->k == CX_VAR && b.v.kind == QX_NULL))
        return false;
    struct ev v = ev_bin(op, a, b);
    return v.v.kind == QX_BOOL && v.v.b;
}

static bool cond_eval(const struct qx__cond *c, const struct qx__cx *x, const struct qx__row_env *env)
{
    switch (x->k) {
    case CX_BOOL:
        return x->b;
    case CX_PAREN:
        return cond_eval(c, x->l, env);
    case CX_BIN:
        if (x->op == IQL_OP_AND)
            return cond_eval(c, x->l, env) && cond_eval(c, x->r, env);
        if (x->op == IQL_OP_OR)
            return cond_eval(c, x->l, env) || cond_eval(c, x->r, env);
        if (is_arith_op(x->op))
            return true; /* 1.6 filters nothing on a bare arithmetic expression */
        return cond_cmp(c, x, env);
    default:
        return false;
    }
}

bool qx__cond_eval(const struct qx__cond *c, const struct qx__row_env *env)
{
    return !c->root || cond_eval(c, c->root, env);
}
