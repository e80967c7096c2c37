// SPDX-License-Identifier: MIT
/*
 * Compile-time checks of a SELECT, with influxd 1.6's statement error texts
 * (they arrive inside a 200 answer, not as parse errors).  The order of the
 * checks follows influxd's query compiler, so a statement with several
 * problems reports the same one:
 *   0. a measurement named "" ("invalid measurement": influxd's statement
 *      normalisation, which runs before its compiler);
 *   1. GROUP BY dimensions: tags, regexes, * and one time(interval[, offset]);
 *   2. each field in turn (function names, argument counts and kinds,
 *      transformations that need an aggregate or a GROUP BY interval);
 *   3. at least one non-time field;
 *   4. combinations: top/bottom with other calls, fill(none|linear) and
 *      GROUP BY time without a call, distinct() with anything else,
 *      aggregates with raw fields, several selectors with raw fields.
 *   5. then each subquery the same way.
 * Not checked here (the executor must): types of fields (e.g. "unsupported
 * mean iterator type"), time-range conditions ("invalid operation: time and
 * *influxql.StringLiteral are not compatible", "invalid timestamp string"),
 * WHERE expression shapes ("invalid condition expression: x"), databases and
 * retention policies ("retention policy not found: rp") and INTO.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "query/iql_int.h"

struct chk {
    struct err *e;
    int64_t interval_ns;            /* 0: no GROUP BY time */
    size_t ncalls;                  /* aggregate/selector/transform calls */
    bool has_aux;                   /* raw fields, tags or wildcards */
    bool only_selectors;
    bool has_distinct;
    const char *topbottom;
};

static int fail(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct chk *c, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(c->e, ERR_INVAL, "%s", msg);
}

/* Go's %T for the literal kinds a user can write as an argument. */
static const char *go_type(const struct iql_expr *x)
{
    switch (x->kind) {
    case IQL_EXPR_VARREF: return "*influxql.VarRef";
    case IQL_EXPR_CALL: return "*influxql.Call";
    case IQL_EXPR_BINARY: return "*influxql.BinaryExpr";
    case IQL_EXPR_PAREN: return "*influxql.ParenExpr";
    case IQL_EXPR_INTEGER: return "*influxql.IntegerLiteral";
    case IQL_EXPR_UNSIGNED: return "*influxql.UnsignedLiteral";
    case IQL_EXPR_NUMBER: return "*influxql.NumberLiteral";
    case IQL_EXPR_STRING: return "*influxql.StringLiteral";
    case IQL_EXPR_BOOL: return "*influxql.BooleanLiteral";
    case IQL_EXPR_DURATION: return "*influxql.DurationLiteral";
    case IQL_EXPR_REGEX: return "*influxql.RegexLiteral";
    case IQL_EXPR_WILDCARD: return "*influxql.Wildcard";
    case IQL_EXPR_DISTINCT: return "*influxql.Distinct";
    case IQL_EXPR_LIST: return "*influxql.ListLiteral";
    }
    return "";
}

/* The expression as InfluxDB's String() writes it, for messages. */
static const char *expr_text(const struct iql_expr *x, char *out, size_t cap)
{
    struct buf b;
    buf_init(&b, cap > 1 ? cap - 1 : 1);
    if (iql_render_expr(&b, x) == 0 && b.p)
        snprintf(out, cap, "%s", b.p);
    else
        snprintf(out, cap, "?");
    buf_fini(&b);
    return out;
}

static bool name_is(const struct iql_expr *x, const char *n)
{
    return sv_eq_cstr(x->call.name, n);
}

static bool is_math(const struct iql_expr *x)
{
    static const char *const m[] = { "abs", "sin", "cos", "tan", "asin", "acos", "atan",
                                     "atan2", "exp", "log", "ln", "log2", "log10", "sqrt",
                                     "pow", "floor", "ceil", "round" };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (name_is(x, m[i]))
            return true;
    return false;
}

static bool is_selector(const struct iql_expr *x)
{
    static const char *const s[] = { "first", "last", "min", "max", "percentile", "sample",
                                     "top", "bottom" };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (name_is(x, s[i]))
            return true;
    return false;
}

static int compile_expr(struct chk *c, const struct iql_expr *x, bool top);
static int compile_call(struct chk *c, const struct iql_expr *x);

static int nargs_exact(struct chk *c, const struct iql_expr *x, size_t want)
{
    if (x->call.nargs != want)
        return fail(c, "invalid number of arguments for %.*s, expected %zu, got %zu",
                    SV_FMT(x->call.name), want, x->call.nargs);
    return 0;
}

static int nargs_range(struct chk *c, const struct iql_expr *x, size_t lo, size_t hi)
{
    if (x->call.nargs < lo || x->call.nargs > hi)
        return fail(c, "invalid number of arguments for %.*s, expected at least %zu but no "
                    "more than %zu, got %zu", SV_FMT(x->call.name), lo, hi, x->call.nargs);
    return 0;
}

/* distinct() words its argument count errors itself (1.6). */
static int distinct_nargs(struct chk *c, const struct iql_expr *x)
{
    if (x->call.nargs == 0)
        return fail(c, "distinct function requires at least one argument");
    if (x->call.nargs > 1)
        return fail(c, "distinct function can only have one argument");
    return 0;
}

/* The first argument of an aggregate: a field, wildcard or regex (or
 * distinct() inside count()). */
static int field_arg(struct chk *c, const struct iql_expr *call, const struct iql_expr *a)
{
    switch (a->kind) {
    case IQL_EXPR_VARREF:
    case IQL_EXPR_WILDCARD:
    case IQL_EXPR_REGEX:
        return 0;
    case IQL_EXPR_CALL:
        if (name_is(call, "count") && name_is(a, "distinct"))
            return distinct_nargs(c, a);
        /* fallthrough */
    default:
        return fail(c, "expected field argument in %.*s()", SV_FMT(call->call.name));
    }
}

/* The argument of a transformation: an aggregate with GROUP BY time, or a
 * raw field without. */
static int nested(struct chk *c, const struct iql_expr *call, const struct iql_expr *a)
{
    if (a->kind == IQL_EXPR_CALL && !is_math(a)) {
        if (c->interval_ns == 0)
            return fail(c, "%.*s aggregate requires a GROUP BY interval", SV_FMT(call->call.name));
        return compile_call(c, a);
    }
    if (c->interval_ns != 0)
        return fail(c, "aggregate function required inside the call to %.*s",
                    SV_FMT(call->call.name));
    return a->kind == IQL_EXPR_VARREF || a->kind == IQL_EXPR_WILDCARD || a->kind == IQL_EXPR_REGEX
               ? 0
               : compile_expr(c, a, false);
}

static int duration_arg(struct chk *c, const struct iql_expr *call, const struct iql_expr *a)
{
    if (a->kind != IQL_EXPR_DURATION)
        return fail(c, "second argument to %.*s must be a duration, got %s",
                    SV_FMT(call->call.name), go_type(a));
    if (a->dur_ns <= 0) {
        char t[48];
        iql_format_duration(a->dur_ns, t, sizeof t);
        return fail(c, "duration argument must be positive, got %s", t);
    }
    return 0;
}

static int compile_call(struct chk *c, const struct iql_expr *x)
{
    char t[128];
    const struct iql_expr *const *a = (const struct iql_expr *const *)x->call.args;
    size_t n = x->call.nargs;
    int rc;
    if (is_math(x)) {
        for (size_t i = 0; i < n; i++)
            if ((rc = compile_expr(c, a[i], false)))
                return rc;
        return 0;
    }
    c->ncalls++;
    if (!is_selector(x))
        c->only_selectors = false;

    if (name_is(x, "derivative") || name_is(x, "non_negative_derivative") ||
        name_is(x, "elapsed") || name_is(x, "integral")) {
        if ((rc = nargs_range(c, x, 1, 2)))
            return rc;
        if (n == 2 && (rc = duration_arg(c, x, a[1])))
            return rc;
        if (name_is(x, "integral"))
            return field_arg(c, x, a[0]);
        return nested(c, x, a[0]);
    }
    if (name_is(x, "difference") || name_is(x, "non_negative_difference") ||
        name_is(x, "cumulative_sum")) {
        if ((rc = nargs_exact(c, x, 1)))
            return rc;
        return nested(c, x, a[0]);
    }
    if (name_is(x, "moving_average")) {
        if ((rc = nargs_exact(c, x, 2)))
            return rc;
        if (a[1]->kind != IQL_EXPR_INTEGER)
            return fail(c, "second argument for moving_average must be an integer, got %s",
                        go_type(a[1]));
        if (a[1]->i <= 1)
            return fail(c, "moving_average window must be greater than 1, got %lld",
                        (long long)a[1]->i);
        return nested(c, x, a[0]);
    }
    if (name_is(x, "holt_winters") || name_is(x, "holt_winters_with_fit")) {
        if ((rc = nargs_exact(c, x, 3)))
            return rc;
        if (a[0]->kind != IQL_EXPR_CALL)
            return fail(c, "must use aggregate function with %.*s", SV_FMT(x->call.name));
        if (c->interval_ns == 0)
            return fail(c, "%.*s aggregate requires a GROUP BY interval", SV_FMT(x->call.name));
        return compile_call(c, a[0]);
    }
    if (name_is(x, "percentile")) {
        if ((rc = nargs_exact(c, x, 2)))
            return rc;
        if (a[1]->kind != IQL_EXPR_INTEGER && a[1]->kind != IQL_EXPR_NUMBER)
            return fail(c, "expected float argument in percentile()");
        return field_arg(c, x, a[0]);
    }
    if (name_is(x, "sample")) {
        if ((rc = nargs_exact(c, x, 2)))
            return rc;
        if (a[1]->kind != IQL_EXPR_INTEGER)
            return fail(c, "expected integer argument in sample()");
        if (a[1]->i <= 0)
            return fail(c, "sample window must be greater than 1, got %lld", (long long)a[1]->i);
        return field_arg(c, x, a[0]);
    }
    if (name_is(x, "top") || name_is(x, "bottom")) {
        const char *fn = name_is(x, "top") ? "top" : "bottom";
        if (c->topbottom)
            return fail(c, "selector function %s() cannot be combined with other functions",
                        c->topbottom);
        c->topbottom = fn;
        if (n < 2)
            return fail(c, "invalid number of arguments for %s, expected at least 2, got %zu",
                        fn, n);
        const struct iql_expr *last = a[n - 1];
        if (last->kind != IQL_EXPR_INTEGER)
            return fail(c, "expected integer as last argument in %s(), found %s", fn,
                        expr_text(last, t, sizeof t));
        if (last->i <= 0)
            return fail(c, "limit (%lld) in %s function must be at least 1",
                        (long long)last->i, fn);
        for (size_t i = 1; i + 1 < n; i++)
            if (a[i]->kind != IQL_EXPR_VARREF)
                return fail(c, "only fields or tags are allowed in %s(), found %s", fn,
                            expr_text(a[i], t, sizeof t));
        if (a[0]->kind != IQL_EXPR_VARREF)
            return fail(c, "expected first argument to be a field in %s(), found %s", fn,
                        expr_text(a[0], t, sizeof t));
        return 0;
    }
    if (name_is(x, "distinct")) {
        c->has_distinct = true;
        c->only_selectors = false;
        if ((rc = distinct_nargs(c, x)))
            return rc;
        if (a[0]->kind != IQL_EXPR_VARREF)
            return fail(c, "expected field argument in distinct()");
        return 0;
    }
    static const char *const simple[] = { "count", "min", "max", "sum", "first", "last",
                                          "mean", "median", "mode", "stddev", "spread" };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        if (name_is(x, simple[i])) {
            if ((rc = nargs_exact(c, x, 1)))
                return rc;
            return field_arg(c, x, a[0]);
        }
    }
    return fail(c, "undefined function %.*s()", SV_FMT(x->call.name));
}

static bool has_variable(const struct iql_expr *x)
{
    switch (x->kind) {
    case IQL_EXPR_VARREF: case IQL_EXPR_CALL: case IQL_EXPR_WILDCARD: case IQL_EXPR_REGEX:
    case IQL_EXPR_DISTINCT:
        return true;
    case IQL_EXPR_BINARY:
        return has_variable(x->bin.lhs) || has_variable(x->bin.rhs);
    case IQL_EXPR_PAREN:
        return has_variable(x->paren);
    default:
        return false;
    }
}

static int compile_expr(struct chk *c, const struct iql_expr *x, bool top)
{
    int rc;
    switch (x->kind) {
    case IQL_EXPR_VARREF:
    case IQL_EXPR_WILDCARD:
    case IQL_EXPR_REGEX:
        c->has_aux = true;
        return 0;
    case IQL_EXPR_DISTINCT:
        c->ncalls++;
        c->has_distinct = true;
        c->only_selectors = false;
        return 0;
    case IQL_EXPR_CALL:
        return compile_call(c, x);
    case IQL_EXPR_BINARY:
        if (top && !has_variable(x))
            return fail(c, "field must contain at least one variable");
        if ((rc = compile_expr(c, x->bin.lhs, false)))
            return rc;
        return compile_expr(c, x->bin.rhs, false);
    case IQL_EXPR_PAREN:
        return compile_expr(c, x->paren, top);
    default:
        if (top)
            return fail(c, "field must contain at least one variable");
        return 0;
    }
}

static int check_dims(struct chk *c, const struct iql_select *s)
{
    char t[128];
    for (size_t i = 0; i < s->ndims; i++) {
        const struct iql_expr *d = s->dims[i];
        switch (d->kind) {
        case IQL_EXPR_VARREF:
            if (sv_case_eq(d->ref.name, "time"))
                return fail(c, "time() is a function and expects at least one argument");
            continue;
        case IQL_EXPR_WILDCARD:
        case IQL_EXPR_REGEX:
            continue;
        case IQL_EXPR_CALL:
            break;
        default:
            return fail(c, "only time and tag dimensions allowed");
        }
        if (!name_is(d, "time"))
            return fail(c, "only time() calls allowed in dimensions");
        if (d->call.nargs < 1 || d->call.nargs > 2)
            return fail(c, "time dimension expected 1 or 2 arguments");
        if (d->call.args[0]->kind != IQL_EXPR_DURATION)
            return fail(c, "time dimension must have duration argument");
        /* influxd only notices a second time() once the first is non-zero */
        if (c->interval_ns != 0)
            return fail(c, "multiple time dimensions not allowed");
        c->interval_ns = d->call.args[0]->dur_ns;
        if (d->call.nargs == 2) {
            const struct iql_expr *o = d->call.args[1];
            if (o->kind == IQL_EXPR_CALL) {
                if (!name_is(o, "now"))
                    return fail(c, "time dimension offset function must be now()");
                if (o->call.nargs != 0)
                    return fail(c, "time dimension offset now() function requires no arguments");
            } else if (o->kind == IQL_EXPR_STRING) {
                /* 1.6 takes a string for a time when it starts with a date:
                 * an invalid one is "invalid timestamp string", a valid one
                 * is refused later; any other string is not an offset. */
                struct iql_time tm;
                int tr = iql_parse_time_string(o->str, &tm);
                if (tr > 0)
                    return fail(c, "time dimension offset must be duration or now()");
                if (tr < 0)
                    return fail(c, "invalid timestamp string");
                return fail(c, "invalid time dimension offset: %s", expr_text(o, t, sizeof t));
            } else if (o->kind != IQL_EXPR_DURATION) {
                return fail(c, "time dimension offset must be duration or now()");
            }
        }
    }
    return 0;
}

/* One SELECT; subqueries are checked after their outer statement, and a
 * subquery with GROUP BY time and no fill() gets fill(none), as influxd
 * compiles them. */
static int check_select(const struct iql_select *s, bool is_sub, int depth, struct err *e)
{
    struct chk c = { .e = e, .only_selectors = true };
    int rc;
    if ((rc = check_dims(&c, s)))
        return rc;
    enum iql_fill fill = s->fill;
    if (is_sub && fill == IQL_FILL_NULL && c.interval_ns != 0)
        fill = IQL_FILL_NONE;
    size_t nfields = 0;
    for (size_t i = 0; i < s->nfields; i++) {
        const struct iql_expr *x = s->fields[i].expr;
        if (x->kind == IQL_EXPR_VARREF && sv_eq_cstr(x->ref.name, "time"))
            continue;
        nfields++;
        if ((rc = compile_expr(&c, x, true)))
            return rc;
    }
    if (nfields == 0)
        return fail(&c, "at least 1 non-time field must be queried");
    if (c.ncalls > 1 && c.topbottom)
        return fail(&c, "selector function %s() cannot be combined with other functions",
                    c.topbottom);
    if (c.ncalls == 0) {
        if (fill == IQL_FILL_NONE)
            return fail(&c, "fill(none) must be used with a function");
        if (fill == IQL_FILL_LINEAR)
            return fail(&c, "fill(linear) must be used with a function");
        if (c.interval_ns != 0)
            return fail(&c, "GROUP BY requires at least one aggregate function");
    }
    if (c.has_distinct && (c.ncalls != 1 || c.has_aux))
        return fail(&c, "aggregate function distinct() cannot be combined with other functions "
                        "or fields");
    if (c.has_aux && c.ncalls > 0) {
        if (!c.only_selectors)
            return fail(&c, "mixing aggregate and non-aggregate queries is not supported");
        if (c.ncalls > 1)
            return fail(&c, "mixing multiple selector functions with tags or fields is not "
                            "supported");
    }
    for (size_t i = 0; i < s->nsources && depth < 1000; i++)
        if (s->sources[i].kind == IQL_SRC_SUBQUERY &&
            (rc = check_select(s->sources[i].sub, true, depth + 1, e)))
            return rc;
    return 0;
}

/* A FROM "" anywhere in the statement (subqueries included): influxd's
 * statement normalisation rejects it before compiling anything. */
static bool has_empty_measurement(const struct iql_select *s, int depth)
{
    for (size_t i = 0; i < s->nsources; i++) {
        const struct iql_source *src = &s->sources[i];
        if (src->kind == IQL_SRC_MEASUREMENT && !src->m.is_regex && src->m.name.n == 0)
            return true;
        if (src->kind == IQL_SRC_SUBQUERY && depth < 1000 &&
            has_empty_measurement(src->sub, depth + 1))
            return true;
    }
    return false;
}

int iql_select_check(const struct iql_select *s, struct err *e)
{
    err_clear(e);
    if (has_empty_measurement(s, 0))
        return err_set(e, ERR_INVAL, "invalid measurement");
    return check_select(s, false, 0, e);
}
