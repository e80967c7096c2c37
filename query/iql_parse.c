// SPDX-License-Identifier: MIT
/*
 * InfluxQL parser, part 1: the token layer, error reporting, expressions and
 * the SELECT statement with its clauses.  Statement dispatch and the meta
 * statements live in iql_parse_stmt.c, regex validation in
 * iql_parse_regex.c.
 *
 * The parser is recursive descent with a three-token unscan ring (see
 * iql_int.h).  Binary expressions are built the way InfluxDB builds them:
 * each new operator descends the right spine of the tree until it meets a
 * node of lower precedence, so operators are left-associative and a
 * parenthesised or unary-minus operand stays atomic.  The result of every
 * rule is allocated in the caller's arena; on error the partial tree is
 * simply left there.
 *
 * Error texts and positions are InfluxDB 1.6's (observed on influxd 1.6.7
 * and recorded in tests/unit/iql_parse_test.c).  Where influxd returns a
 * plain Go error instead of a ParseError the message has no position
 * ("invalid duration", "missing parameter: x"); iql__err_nopos() covers
 * those.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "query/iql_int.h"

/* Deeper nesting than this is refused instead of exhausting the stack, and
 * so are more binary operators than MAX_OPS in one query: expression trees
 * are walked recursively (renderer, checks, executor), and a left-deep
 * chain "a + a + a ..." is as deep as it is long.  InfluxDB has no limit;
 * Grafana's largest queries use a few hundred operators.  Both caps keep a
 * recursive walk under ~4000 frames, within an 8 MiB stack even in ASan -O0
 * builds. */
#define MAX_DEPTH 200
#define MAX_OPS 2000

/* ---- Errors ----------------------------------------------------------- */

static bool err_free(struct iql_parser *p)
{
    return p->rc == 0;
}

static void set_msgv(struct iql_parser *p, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void set_msgv(struct iql_parser *p, const char *fmt, va_list ap)
{
    buf_reset(p->msg);
    if (buf_vappendf(p->msg, fmt, ap) != 0)
        buf_reset(p->msg);
}

static void set_msg(struct iql_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_msg(struct iql_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_msgv(p, fmt, ap);
    va_end(ap);
}

static struct sv tokstr(struct iql_token t)
{
    if (t.lit.n > 0)
        return t.lit;
    return sv_cstr(iql__tok_name(t.tok));
}

int iql__err_expected(struct iql_parser *p, struct iql_token t,
                      const char *const *expected, size_t n)
{
    if (!err_free(p))
        return p->rc;
    p->rc = ERR_PARSE;
    struct sv f = tokstr(t);
    /* buf_append, not %s: a literal can hold a NUL ("'x\\" at end of input
     * is the escape '\\' + EOF rune, which Go prints as a 0 byte). */
    set_msg(p, "found ");
    if (buf_append(p->msg, f.p, f.n) != 0 || buf_append_str(p->msg, ", expected ") != 0)
        buf_reset(p->msg);
    for (size_t i = 0; i < n; i++)
        if (buf_appendf(p->msg, "%s%s", i ? ", " : "", expected[i]) != 0)
            break;
    if (buf_appendf(p->msg, " at line %d, char %d", t.pos.line + 1, t.pos.ch + 1) != 0)
        buf_reset(p->msg);
    return p->rc;
}

int iql__err_expected1(struct iql_parser *p, struct iql_token t, const char *expected)
{
    return iql__err_expected(p, t, &expected, 1);
}

int iql__err_at(struct iql_parser *p, struct iql_pos pos, const char *fmt, ...)
{
    if (!err_free(p))
        return p->rc;
    p->rc = ERR_PARSE;
    va_list ap;
    va_start(ap, fmt);
    set_msgv(p, fmt, ap);
    va_end(ap);
    if (buf_appendf(p->msg, " at line %d, char %d", pos.line + 1, pos.ch + 1) != 0)
        buf_reset(p->msg);
    return p->rc;
}

int iql__err_nopos(struct iql_parser *p, const char *fmt, ...)
{
    if (!err_free(p))
        return p->rc;
    p->rc = ERR_PARSE;
    va_list ap;
    va_start(ap, fmt);
    set_msgv(p, fmt, ap);
    va_end(ap);
    return p->rc;
}

int iql__nomem(struct iql_parser *p)
{
    if (err_free(p)) {
        p->rc = p->a->max_bytes ? ERR_LIMIT : ERR_NOMEM;
        set_msg(p, "%s", p->rc == ERR_LIMIT ? "query too large" : "out of memory");
    }
    return p->rc;
}

/* ---- Allocation helpers ----------------------------------------------- */

static void *alloc0(struct iql_parser *p, size_t n)
{
    void *v = arena_try_alloc(p->a, n);
    if (!v) {
        iql__nomem(p);
        return NULL;
    }
    memset(v, 0, n);
    return v;
}

/* Appends one element to an arena vector, doubling its capacity. */
static int vpush(struct iql_parser *p, void *arrp, size_t *n, size_t *cap,
                 size_t elem, const void *item)
{
    char **arr = arrp;
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        char *na = arena_try_alloc(p->a, ncap * elem);
        if (!na)
            return iql__nomem(p);
        if (*n)
            memcpy(na, *arr, *n * elem);
        *arr = na;
        *cap = ncap;
    }
    memcpy(*arr + *n * elem, item, elem);
    (*n)++;
    return 0;
}

static struct iql_expr *new_expr(struct iql_parser *p, enum iql_expr_kind k)
{
    struct iql_expr *x = alloc0(p, sizeof *x);
    if (x)
        x->kind = k;
    return x;
}

static struct sv dup_sv(struct iql_parser *p, struct sv s)
{
    char *c = arena_try_alloc(p->a, s.n + 1);
    if (!c) {
        iql__nomem(p);
        return sv_make("", 0);
    }
    if (s.n)
        memcpy(c, s.p, s.n);
    c[s.n] = '\0';
    return sv_make(c, s.n);
}

/* ---- Token layer ------------------------------------------------------ */

static const struct iql_param *find_param(const struct iql_parser *p, struct sv name)
{
    if (!p->params)
        return NULL;
    for (size_t i = 0; i < p->params->n; i++)
        if (sv_eq(p->params->v[i].name, name))
            return &p->params->v[i];
    return NULL;
}

/* A bound parameter with a value becomes the token its value stands for;
 * error values stay BOUNDPARAM and fail where they are used. */
static void bind(struct iql_parser *p, struct iql_token *t)
{
    if (t->tok != T_BOUNDPARAM || t->lit.n < 2)
        return;
    const struct iql_param *v = find_param(p, sv_make(t->lit.p + 1, t->lit.n - 1));
    if (!v)
        return;
    switch (v->kind) {
    case IQL_PARAM_STRING: t->tok = T_STRING; break;
    case IQL_PARAM_INTEGER: t->tok = T_INTEGER; break;
    case IQL_PARAM_NUMBER: t->tok = T_NUMBER; break;
    case IQL_PARAM_BOOL:
        t->tok = sv_eq_cstr(v->text, "true") ? T_TRUE : T_FALSE;
        break;
    case IQL_PARAM_IDENT: t->tok = T_IDENT; break;
    case IQL_PARAM_REGEX: t->tok = T_REGEX; break;
    case IQL_PARAM_DURATION: t->tok = T_DURATIONVAL; break;
    case IQL_PARAM_ERROR: return;
    }
    t->lit = dup_sv(p, v->text);
}

static struct iql_token *tcur(struct iql_parser *p)
{
    return &p->ring[(p->i - p->cnt + 3) % 3];
}

static struct iql_token next_with(struct iql_parser *p, bool regex)
{
    if (p->cnt > 0) {
        p->cnt--;
        return *tcur(p);
    }
    p->i = (p->i + 1) % 3;
    struct iql_token t = regex ? iql__scan_regex(p) : iql__scan(p);
    bind(p, &t);
    p->ring[p->i] = t;
    return t;
}

struct iql_token iql__next(struct iql_parser *p)
{
    return next_with(p, false);
}

struct iql_token iql__next_ws(struct iql_parser *p)
{
    for (;;) {
        struct iql_token t = iql__next(p);
        if (t.tok != T_WS && t.tok != T_COMMENT)
            return t;
    }
}

void iql__unscan(struct iql_parser *p)
{
    p->cnt++;
}

void iql__consume_ws(struct iql_parser *p)
{
    if (iql__next(p).tok != T_WS)
        iql__unscan(p);
}

/* ---- Small rules ------------------------------------------------------ */

int iql__parse_ident(struct iql_parser *p, struct sv *out)
{
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_IDENT)
        return iql__err_expected1(p, t, "identifier");
    *out = t.lit;
    return 0;
}

int iql__parse_string(struct iql_parser *p, struct sv *out)
{
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_STRING)
        return iql__err_expected1(p, t, "string");
    *out = t.lit;
    return 0;
}

/* strconv.Atoi / ParseInt semantics on a token of digits. */
static int digits_i64(struct sv s, int64_t *out, bool *overflow)
{
    uint64_t v = 0;
    *overflow = false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            *overflow = true;
            *out = INT64_MAX;
            return 0;
        }
        v = v * 10 + d;
    }
    if (v > (uint64_t)INT64_MAX) {
        *overflow = true;
        *out = INT64_MAX;
        return 0;
    }
    *out = (int64_t)v;
    return 0;
}

int iql__parse_int(struct iql_parser *p, int64_t min, int64_t max, int64_t *out)
{
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_INTEGER)
        return iql__err_expected1(p, t, "integer");
    bool ovf;
    int64_t n;
    digits_i64(t.lit, &n, &ovf);
    if (ovf)
        return iql__err_at(p, t.pos, "strconv.Atoi: parsing \"%.*s\": value out of range",
                           SV_FMT(t.lit));
    if (n < min || n > max)
        return iql__err_at(p, t.pos, "invalid value %lld: must be %lld <= n <= %lld",
                           (long long)n, (long long)min, (long long)max);
    *out = n;
    return 0;
}

int iql__parse_uint64(struct iql_parser *p, uint64_t *out)
{
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_INTEGER)
        return iql__err_expected1(p, t, "integer");
    uint64_t v = 0;
    for (size_t i = 0; i < t.lit.n; i++) {
        unsigned d = (unsigned)(t.lit.p[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return iql__err_at(p, t.pos,
                               "strconv.ParseUint: parsing \"%.*s\": value out of range",
                               SV_FMT(t.lit));
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int duration_err(struct iql_parser *p, struct sv lit, int rc, bool with_pos,
                        struct iql_pos pos)
{
    char msg[200];
    if (rc == ERR_LIMIT) {
        /* Go names the last number and unit it read. */
        size_t end = lit.n, u = end;
        while (u > 0 && !(lit.p[u - 1] >= '0' && lit.p[u - 1] <= '9'))
            u--;
        size_t d = u;
        while (d > 0 && lit.p[d - 1] >= '0' && lit.p[d - 1] <= '9')
            d--;
        long long measure = 0;
        for (size_t k = d; k < u; k++)
            measure = measure * 10 + (lit.p[k] - '0');
        /* "ms"/"ns" are two letters, everything else one rune */
        snprintf(msg, sizeof msg, "overflowed duration %lld%.*s: choose a smaller duration or INF",
                 measure, (int)(end - u), lit.p + u);
    } else {
        snprintf(msg, sizeof msg, "invalid duration");
    }
    if (with_pos)
        return iql__err_at(p, pos, "%s", msg);
    return iql__err_nopos(p, "%s", msg);
}

int iql__parse_duration_tok(struct iql_parser *p, int64_t *out)
{
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_DURATIONVAL && t.tok != T_INF)
        return iql__err_expected1(p, t, "duration");
    if (t.tok == T_INF) {
        *out = 0;
        return 0;
    }
    int rc = iql_parse_duration(t.lit, out);
    if (rc)
        return duration_err(p, t.lit, rc, true, t.pos);
    return 0;
}

int iql__parse_tokens(struct iql_parser *p, const enum iql_tok *toks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct iql_token t = iql__next_ws(p);
        if (t.tok != toks[i])
            return iql__err_expected1(p, t, iql__tok_name(toks[i]));
    }
    return 0;
}

/* ---- Regexes (validation in iql_parse_regex.c) ------------------------ */

int iql__parse_regex(struct iql_parser *p, struct iql_expr **out)
{
    *out = NULL;
    int32_t nr = iql__peek_rune(&p->r);
    if (nr == ' ' || nr == '\t' || nr == '\n')
        iql__consume_ws(p);
    nr = iql__peek_rune(&p->r);
    if (nr == '$') {
        struct iql_token t = iql__next(p);
        iql__unscan(p);
        if (t.tok != T_REGEX)
            return p->rc;
    } else if (nr != '/') {
        return p->rc;
    }
    struct iql_token t = next_with(p, true);
    if (t.tok == T_BADESCAPE)
        return iql__err_at(p, t.pos, "bad escape: %.*s", SV_FMT(t.lit));
    if (t.tok == T_BADREGEX)
        return iql__err_at(p, t.pos, "bad regex: %.*s", SV_FMT(t.lit));
    if (t.tok != T_REGEX)
        return iql__err_expected1(p, t, "regex");
    if (iql__check_regex(p, t.lit, t.pos))
        return p->rc;
    struct iql_expr *x = new_expr(p, IQL_EXPR_REGEX);
    if (!x)
        return p->rc;
    x->str = t.lit;
    *out = x;
    return 0;
}

/* ---- Expressions ------------------------------------------------------ */

static int parse_unary(struct iql_parser *p, struct iql_expr **out);

/* Go's parseSegmentedIdents: ident ("." ident?)*.  More than three
 * segments is an error naming all of them. */
static int parse_segments(struct iql_parser *p, struct sv **segs, size_t *nseg)
{
    struct sv s;
    size_t n = 0, cap = 0;
    *segs = NULL;
    if (iql__parse_ident(p, &s) || vpush(p, segs, &n, &cap, sizeof s, &s))
        return p->rc;
    for (;;) {
        struct iql_token t = iql__next(p);
        if (t.tok != T_DOT) {
            iql__unscan(p);
            break;
        }
        int32_t ch = iql__peek_rune(&p->r);
        if (ch == '/' || ch == ':')
            break;
        if (ch == '.') {
            s = sv_make("", 0);
        } else if (iql__parse_ident(p, &s)) {
            return p->rc;
        }
        if (vpush(p, segs, &n, &cap, sizeof s, &s))
            return p->rc;
    }
    *nseg = n;
    if (n > 3) {
        struct buf b;
        buf_init(&b, 1 << 20);
        if (iql__quote_ident(&b, *segs, n) == 0)
            iql__err_at(p, (struct iql_pos){ 0, 0 }, "too many segments in %s", b.p ? b.p : "");
        else
            iql__nomem(p);
        buf_fini(&b);
        return p->rc;
    }
    return 0;
}

static struct sv join_segments(struct iql_parser *p, const struct sv *segs, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += segs[i].n + (i > 0);
    char *c = arena_try_alloc(p->a, len + 1);
    if (!c) {
        iql__nomem(p);
        return sv_make("", 0);
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            c[o++] = '.';
        if (segs[i].n)
            memcpy(c + o, segs[i].p, segs[i].n);
        o += segs[i].n;
    }
    c[o] = '\0';
    return sv_make(c, o);
}

static int parse_varref(struct iql_parser *p, struct iql_expr **out)
{
    struct sv *segs;
    size_t n;
    if (parse_segments(p, &segs, &n))
        return p->rc;
    enum iql_vtype vt = IQL_VT_UNKNOWN;
    struct iql_token t = iql__next(p);
    if (t.tok == T_DOUBLECOLON) {
        struct iql_token t1 = iql__next(p);
        if (t1.tok == T_IDENT) {
            static const char *const names[] = { "float", "integer", "unsigned", "string",
                                                 "boolean" };
            static const enum iql_vtype types[] = { IQL_VT_FLOAT, IQL_VT_INTEGER,
                                                    IQL_VT_UNSIGNED, IQL_VT_STRING,
                                                    IQL_VT_BOOLEAN };
            for (size_t i = 0; i < 5; i++)
                if (sv_case_eq(t1.lit, names[i]))
                    vt = types[i];
            if (vt == IQL_VT_UNKNOWN) {
                static const char *const exp[] = { "float", "integer", "unsigned", "string",
                                                   "boolean", "field", "tag" };
                return iql__err_expected(p, t1, exp, 7);
            }
        } else if (t1.tok == T_FIELD) {
            vt = IQL_VT_FIELD;
        } else if (t1.tok == T_TAG) {
            vt = IQL_VT_TAG;
        } else {
            static const char *const exp[] = { "float", "integer", "string", "boolean",
                                               "field", "tag" };
            return iql__err_expected(p, t1, exp, 6);
        }
    } else {
        iql__unscan(p);
    }
    struct iql_expr *x = new_expr(p, IQL_EXPR_VARREF);
    if (!x)
        return p->rc;
    x->ref.name = join_segments(p, segs, n);
    x->ref.type = vt;
    *out = x;
    return p->rc;
}

static int push_arg(struct iql_parser *p, struct iql_expr *x, size_t *cap,
                    struct iql_expr *arg)
{
    return vpush(p, &x->call.args, &x->call.nargs, cap, sizeof arg, &arg);
}

/* The name and '(' have been read. */
static int parse_call(struct iql_parser *p, struct sv name, struct iql_expr **out)
{
    struct iql_expr *x = new_expr(p, IQL_EXPR_CALL);
    if (!x)
        return p->rc;
    struct sv low = dup_sv(p, name);
    for (size_t i = 0; i < low.n; i++)
        if (low.p[i] >= 'A' && low.p[i] <= 'Z')
            ((char *)low.p)[i] = (char)(low.p[i] - 'A' + 'a');
    x->call.name = low;
    size_t cap = 0;
    struct iql_expr *arg;
    if (iql__parse_regex(p, &arg))
        return p->rc;
    if (arg) {
        if (push_arg(p, x, &cap, arg))
            return p->rc;
    } else {
        if (iql__next(p).tok == T_RPAREN) {
            *out = x;
            return p->rc;
        }
        iql__unscan(p);
        if (iql__parse_expr(p, &arg) || push_arg(p, x, &cap, arg))
            return p->rc;
    }
    for (;;) {
        if (iql__next_ws(p).tok != T_COMMA) {
            iql__unscan(p);
            break;
        }
        if (iql__parse_regex(p, &arg))
            return p->rc;
        if (!arg && iql__parse_expr(p, &arg))
            return p->rc;
        if (push_arg(p, x, &cap, arg))
            return p->rc;
    }
    struct iql_token t = iql__next(p);
    if (t.tok != T_RPAREN)
        return iql__err_expected1(p, t, ")");
    /* count(DISTINCT x) is count(distinct(x)), as influxd compiles it. */
    for (size_t i = 0; i < x->call.nargs; i++) {
        struct iql_expr *d = x->call.args[i];
        if (d->kind != IQL_EXPR_DISTINCT)
            continue;
        struct iql_expr *call = new_expr(p, IQL_EXPR_CALL), *ref = new_expr(p, IQL_EXPR_VARREF);
        if (!call || !ref)
            return p->rc;
        ref->ref.name = d->str;
        ref->ref.type = IQL_VT_UNKNOWN;
        call->call.name = SV_LIT("distinct");
        size_t dcap = 0;
        if (push_arg(p, call, &dcap, ref))
            return p->rc;
        x->call.args[i] = call;
    }
    *out = x;
    return p->rc;
}

static int parse_number_tok(struct iql_parser *p, struct iql_token t, struct iql_expr **out)
{
    struct iql_expr *x;
    if (t.tok == T_NUMBER) {
        char tmp[64];
        char *s = t.lit.n < sizeof tmp ? tmp : malloc(t.lit.n + 1);
        if (!s)
            return iql__nomem(p);
        memcpy(s, t.lit.p, t.lit.n);
        s[t.lit.n] = '\0';
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        bool bad = end == s || *end != '\0' || isinf(v) || isnan(v);
        if (s != tmp)
            free(s);
        if (bad)
            return iql__err_at(p, t.pos, "unable to parse number");
        if (!(x = new_expr(p, IQL_EXPR_NUMBER)))
            return p->rc;
        x->f = v;
    } else {
        uint64_t v = 0;
        bool ovf = t.lit.n == 0;
        for (size_t i = 0; i < t.lit.n && !ovf; i++) {
            unsigned d = (unsigned)(t.lit.p[i] - '0');
            if (d > 9 || v > (UINT64_MAX - d) / 10)
                ovf = true;
            else
                v = v * 10 + d;
        }
        if (ovf)
            return iql__err_at(p, t.pos, "unable to parse integer");
        if (v > (uint64_t)INT64_MAX) {
            if (!(x = new_expr(p, IQL_EXPR_UNSIGNED)))
                return p->rc;
            x->u = v;
        } else {
            if (!(x = new_expr(p, IQL_EXPR_INTEGER)))
                return p->rc;
            x->i = (int64_t)v;
        }
    }
    *out = x;
    return 0;
}

static int parse_unary_inner(struct iql_parser *p, struct iql_expr **out)
{
    struct iql_token t = iql__next_ws(p);
    if (t.tok == T_LPAREN) {
        struct iql_expr *inner;
        if (iql__parse_expr(p, &inner))
            return p->rc;
        struct iql_token t1 = iql__next_ws(p);
        if (t1.tok != T_RPAREN)
            return iql__err_expected1(p, t1, ")");
        struct iql_expr *x = new_expr(p, IQL_EXPR_PAREN);
        if (!x)
            return p->rc;
        x->paren = inner;
        *out = x;
        return 0;
    }
    iql__unscan(p);
    t = iql__next_ws(p);
    struct iql_expr *x;
    switch (t.tok) {
    case T_IDENT: {
        if (iql__next(p).tok == T_LPAREN)
            return parse_call(p, t.lit, out);
        iql__unscan(p);
        iql__unscan(p);
        return parse_varref(p, out);
    }
    case T_DISTINCT: {
        struct iql_token t0 = iql__next(p);
        if (t0.tok == T_LPAREN)
            return parse_call(p, SV_LIT("distinct"), out);
        if (t0.tok == T_WS) {
            struct iql_token t1 = iql__next_ws(p);
            if (t1.tok != T_IDENT)
                return iql__err_expected1(p, t1, "identifier");
            if (!(x = new_expr(p, IQL_EXPR_DISTINCT)))
                return p->rc;
            x->str = t1.lit;
            *out = x;
            return 0;
        }
        static const char *const exp[] = { "(", "identifier" };
        return iql__err_expected(p, t0, exp, 2);
    }
    case T_STRING:
        if (!(x = new_expr(p, IQL_EXPR_STRING)))
            return p->rc;
        x->str = t.lit;
        *out = x;
        return 0;
    case T_NUMBER:
    case T_INTEGER:
        return parse_number_tok(p, t, out);
    case T_TRUE:
    case T_FALSE:
        if (!(x = new_expr(p, IQL_EXPR_BOOL)))
            return p->rc;
        x->b = t.tok == T_TRUE;
        *out = x;
        return 0;
    case T_DURATIONVAL: {
        int64_t d;
        int rc = iql_parse_duration(t.lit, &d);
        if (rc)
            return duration_err(p, t.lit, rc, false, t.pos);
        if (!(x = new_expr(p, IQL_EXPR_DURATION)))
            return p->rc;
        x->dur_ns = d;
        *out = x;
        return 0;
    }
    case T_MUL: {
        enum iql_vtype w = IQL_VT_UNKNOWN;
        if (iql__next(p).tok == T_DOUBLECOLON) {
            struct iql_token t1 = iql__next(p);
            if (t1.tok == T_FIELD) {
                w = IQL_VT_FIELD;
            } else if (t1.tok == T_TAG) {
                w = IQL_VT_TAG;
            } else {
                static const char *const exp[] = { "field", "tag" };
                return iql__err_expected(p, t1, exp, 2);
            }
        } else {
            iql__unscan(p);
        }
        if (!(x = new_expr(p, IQL_EXPR_WILDCARD)))
            return p->rc;
        x->wild = w;
        *out = x;
        return 0;
    }
    case T_REGEX:
        if (iql__check_regex(p, t.lit, t.pos))
            return p->rc;
        if (!(x = new_expr(p, IQL_EXPR_REGEX)))
            return p->rc;
        x->str = t.lit;
        *out = x;
        return 0;
    case T_BOUNDPARAM: {
        struct sv k = t.lit.n ? sv_make(t.lit.p + 1, t.lit.n - 1) : t.lit;
        if (k.n == 0)
            return iql__err_nopos(p, "empty bound parameter");
        const struct iql_param *v = find_param(p, k);
        if (!v)
            return iql__err_nopos(p, "missing parameter: %.*s", SV_FMT(k));
        /* an unbindable value (influxd 1.6 words it this way) */
        return iql__err_nopos(p, "missing parameter: %.*s", SV_FMT(v->text));
    }
    case T_ADD:
    case T_SUB: {
        int mul = t.tok == T_SUB ? -1 : 1;
        struct iql_token t0 = iql__next_ws(p);
        switch (t0.tok) {
        case T_NUMBER: case T_INTEGER: case T_DURATIONVAL: case T_LPAREN: case T_IDENT:
            break;
        default: {
            static const char *const exp[] = { "identifier", "number", "duration", "(" };
            return iql__err_expected(p, t0, exp, 4);
        }
        }
        iql__unscan(p);
        struct iql_expr *lit;
        if (parse_unary(p, &lit))
            return p->rc;
        switch (lit->kind) {
        case IQL_EXPR_NUMBER:
            lit->f *= mul;
            break;
        case IQL_EXPR_INTEGER:
            lit->i *= mul;
            break;
        case IQL_EXPR_UNSIGNED:
            if (mul < 0) {
                if (lit->u == (uint64_t)INT64_MAX + 1) {
                    lit->kind = IQL_EXPR_INTEGER;
                    lit->i = INT64_MIN;
                    break;
                }
                return iql__err_nopos(p, "constant -%llu underflows int64",
                                      (unsigned long long)lit->u);
            }
            break;
        case IQL_EXPR_DURATION:
            lit->dur_ns = (int64_t)((uint64_t)lit->dur_ns * (uint64_t)(int64_t)mul);
            break;
        case IQL_EXPR_VARREF: case IQL_EXPR_CALL: case IQL_EXPR_PAREN: {
            struct iql_expr *one = new_expr(p, IQL_EXPR_INTEGER);
            if (!one || !(x = new_expr(p, IQL_EXPR_BINARY)))
                return p->rc;
            one->i = mul;
            x->bin.op = IQL_OP_MUL;
            x->bin.lhs = one;
            x->bin.rhs = lit;
            *out = x;
            return 0;
        }
        default:
            /* A bound parameter can turn the IDENT into anything; Go panics. */
            return iql__err_nopos(p, "unexpected literal after unary %s",
                                  mul < 0 ? "-" : "+");
        }
        *out = lit;
        return 0;
    }
    default: {
        static const char *const exp[] = { "identifier", "string", "number", "bool" };
        return iql__err_expected(p, t, exp, 4);
    }
    }
}

static int parse_unary(struct iql_parser *p, struct iql_expr **out)
{
    if (++p->depth > MAX_DEPTH) {
        p->depth--;
        return iql__err_nopos(p, "query too deeply nested (more than %d levels)", MAX_DEPTH);
    }
    int rc = parse_unary_inner(p, out);
    p->depth--;
    return rc ? rc : p->rc;
}

int iql__parse_expr(struct iql_parser *p, struct iql_expr **out)
{
    struct iql_expr root = { .kind = IQL_EXPR_BINARY };
    if (parse_unary(p, &root.bin.rhs))
        return p->rc;
    for (;;) {
        struct iql_token t = iql__next_ws(p);
        if (!iql__is_operator(t.tok)) {
            iql__unscan(p);
            *out = root.bin.rhs;
            return 0;
        }
        struct iql_expr *rhs;
        if (t.tok == T_EQREGEX || t.tok == T_NEQREGEX) {
            if (iql__parse_regex(p, &rhs))
                return p->rc;
            if (!rhs) {
                struct iql_token t1 = iql__next_ws(p);
                return iql__err_expected1(p, t1, "regex");
            }
        } else if (parse_unary(p, &rhs)) {
            return p->rc;
        }
        if (++p->nops > MAX_OPS)
            return iql__err_nopos(p, "query too complex (more than %d operators)", MAX_OPS);
        int prec = iql__precedence(t.tok);
        for (struct iql_expr *node = &root;;) {
            struct iql_expr *r = node->bin.rhs;
            if (r->kind != IQL_EXPR_BINARY ||
                iql__precedence(iql__op_tok(r->bin.op)) >= prec) {
                struct iql_expr *b = new_expr(p, IQL_EXPR_BINARY);
                if (!b)
                    return p->rc;
                b->bin.op = iql__tok_op(t.tok);
                b->bin.lhs = r;
                b->bin.rhs = rhs;
                node->bin.rhs = b;
                break;
            }
            node = r;
        }
    }
}

/* ---- SELECT clauses --------------------------------------------------- */

/* InfluxDB refuses comparison and logical operators in the select list and
 * reports the last one met in a pre-order walk that does not descend into
 * an offending node. */
static void find_bad_op(const struct iql_expr *x, enum iql_op *bad)
{
    if (!x)
        return;
    switch (x->kind) {
    case IQL_EXPR_BINARY:
        switch (x->bin.op) {
        case IQL_OP_EQ: case IQL_OP_NEQ: case IQL_OP_EQREGEX: case IQL_OP_NEQREGEX:
        case IQL_OP_LT: case IQL_OP_LTE: case IQL_OP_GT: case IQL_OP_GTE:
        case IQL_OP_AND: case IQL_OP_OR:
            *bad = x->bin.op;
            return;
        default:
            break;
        }
        find_bad_op(x->bin.lhs, bad);
        find_bad_op(x->bin.rhs, bad);
        return;
    case IQL_EXPR_PAREN:
        find_bad_op(x->paren, bad);
        return;
    case IQL_EXPR_CALL:
        for (size_t i = 0; i < x->call.nargs; i++)
            find_bad_op(x->call.args[i], bad);
        return;
    default:
        return;
    }
}

static int parse_alias(struct iql_parser *p, struct sv *alias)
{
    *alias = sv_make("", 0);
    if (iql__next_ws(p).tok != T_AS) {
        iql__unscan(p);
        return 0;
    }
    return iql__parse_ident(p, alias);
}

static int parse_field(struct iql_parser *p, struct iql_field *f)
{
    if (iql__parse_regex(p, &f->expr))
        return p->rc;
    if (!f->expr) {
        struct iql_token t = iql__next_ws(p);
        iql__unscan(p);
        if (iql__parse_expr(p, &f->expr))
            return p->rc;
        enum iql_op bad = IQL_OP_NONE;
        find_bad_op(f->expr, &bad);
        if (bad != IQL_OP_NONE)
            return iql__err_nopos(p, "invalid operator %s in SELECT clause at line %d, char %d; "
                                  "operator is intended for WHERE clause",
                                  iql__tok_name(iql__op_tok(bad)), t.pos.line + 1, t.pos.ch + 1);
    }
    if (parse_alias(p, &f->alias))
        return p->rc;
    iql__consume_ws(p);
    return 0;
}

static int parse_fields(struct iql_parser *p, struct iql_select *s)
{
    size_t cap = 0;
    for (;;) {
        struct iql_field f = { 0 };
        if (parse_field(p, &f) ||
            vpush(p, &s->fields, &s->nfields, &cap, sizeof f, &f))
            return p->rc;
        if (iql__next(p).tok != T_COMMA) {
            iql__unscan(p);
            return 0;
        }
    }
}

static int parse_target(struct iql_parser *p, int tr, struct iql_select *s)
{
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_INTO) {
        if (tr == IQL_TARGET_REQUIRED)
            return iql__err_expected1(p, t, "INTO");
        iql__unscan(p);
        return 0;
    }
    struct sv *segs;
    size_t n;
    if (parse_segments(p, &segs, &n))
        return p->rc;
    if (n < 3 && iql__peek_rune(&p->r) == ':') {
        static const enum iql_tok toks[] = { T_COLON, T_MEASUREMENT };
        if (iql__parse_tokens(p, toks, 2))
            return p->rc;
        struct sv empty = sv_make("", 0);
        size_t cap = n;
        if (vpush(p, &segs, &n, &cap, sizeof empty, &empty))
            return p->rc;
        s->into_all_measurements = true;
    }
    struct iql_measurement *m = alloc0(p, sizeof *m);
    if (!m)
        return p->rc;
    m->db = m->rp = m->name = m->regex = sv_make("", 0);
    if (n == 1) {
        m->name = segs[0];
    } else if (n == 2) {
        m->rp = segs[0], m->name = segs[1];
    } else {
        m->db = segs[0], m->rp = segs[1], m->name = segs[2];
    }
    s->into = m;
    return 0;
}

int iql__parse_source(struct iql_parser *p, bool subqueries, struct iql_source *out)
{
    struct iql_measurement *m = &out->m;
    out->kind = IQL_SRC_MEASUREMENT;
    m->db = m->rp = m->name = m->regex = sv_make("", 0);
    struct iql_expr *re;
    if (iql__parse_regex(p, &re))
        return p->rc;
    if (re) {
        m->regex = re->str;
        m->is_regex = true;
        return 0;
    }
    if (subqueries) {
        if (iql__next_ws(p).tok == T_LPAREN) {
            static const enum iql_tok sel[] = { T_SELECT };
            static const enum iql_tok rp[] = { T_RPAREN };
            if (++p->depth > MAX_DEPTH) {
                p->depth--;
                return iql__err_nopos(p, "query too deeply nested (more than %d levels)",
                                      MAX_DEPTH);
            }
            int rc = iql__parse_tokens(p, sel, 1);
            if (!rc)
                rc = iql__parse_select(p, IQL_TARGET_SUBQUERY, &out->sub);
            p->depth--;
            if (rc || iql__parse_tokens(p, rp, 1))
                return p->rc;
            out->kind = IQL_SRC_SUBQUERY;
            return 0;
        }
        iql__unscan(p);
    }
    struct sv *segs;
    size_t n;
    if (parse_segments(p, &segs, &n))
        return p->rc;
    if (n == 3) {
        m->db = segs[0], m->rp = segs[1], m->name = segs[2];
        return 0;
    }
    if (iql__parse_regex(p, &re))
        return p->rc;
    if (re) {
        m->regex = re->str;
        m->is_regex = true;
    }
    if (n == 1) {
        if (re)
            m->rp = segs[0];
        else
            m->name = segs[0];
    } else {
        if (re)
            m->db = segs[0], m->rp = segs[1];
        else
            m->rp = segs[0], m->name = segs[1];
    }
    return 0;
}

int iql__parse_sources(struct iql_parser *p, bool subqueries, struct iql_source **out,
                       size_t *n)
{
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    for (;;) {
        struct iql_source s = { 0 };
        if (iql__parse_source(p, subqueries, &s) || vpush(p, out, n, &cap, sizeof s, &s))
            return p->rc;
        if (iql__next_ws(p).tok != T_COMMA) {
            iql__unscan(p);
            return 0;
        }
    }
}

int iql__parse_condition(struct iql_parser *p, struct iql_expr **out)
{
    *out = NULL;
    if (iql__next_ws(p).tok != T_WHERE) {
        iql__unscan(p);
        return 0;
    }
    return iql__parse_expr(p, out);
}

int iql__parse_dimensions(struct iql_parser *p, struct iql_expr ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (iql__next_ws(p).tok != T_GROUP) {
        iql__unscan(p);
        return 0;
    }
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_BY)
        return iql__err_expected1(p, t, "BY");
    size_t cap = 0;
    for (;;) {
        struct iql_expr *d;
        if (iql__parse_regex(p, &d))
            return p->rc;
        if (!d) {
            if (iql__parse_expr(p, &d))
                return p->rc;
            iql__consume_ws(p);
        }
        if (vpush(p, out, n, &cap, sizeof d, &d))
            return p->rc;
        if (iql__next(p).tok != T_COMMA) {
            iql__unscan(p);
            return 0;
        }
    }
}

static bool next_is_call(struct iql_parser *p, const char *name)
{
    struct iql_token t = iql__next_ws(p);
    iql__unscan(p);
    return t.tok == T_IDENT && sv_case_eq(t.lit, name);
}

static int parse_fill(struct iql_parser *p, struct iql_select *s)
{
    if (!next_is_call(p, "fill"))
        return 0;
    struct iql_expr *x;
    if (iql__parse_expr(p, &x))
        return p->rc;
    if (x->kind != IQL_EXPR_CALL)
        return iql__err_nopos(p, "fill must be a function call");
    if (x->call.nargs != 1)
        return iql__err_nopos(p, "fill requires an argument, e.g.: 0, null, none, previous, linear");
    const struct iql_expr *a = x->call.args[0];
    /* Go compares the argument's String(): a bare or quoted identifier. */
    if (a->kind == IQL_EXPR_VARREF && a->ref.type == IQL_VT_UNKNOWN) {
        if (sv_eq_cstr(a->ref.name, "null")) {
            s->fill = IQL_FILL_NULL;
            return 0;
        }
        if (sv_eq_cstr(a->ref.name, "none")) {
            s->fill = IQL_FILL_NONE;
            return 0;
        }
        if (sv_eq_cstr(a->ref.name, "previous")) {
            s->fill = IQL_FILL_PREVIOUS;
            return 0;
        }
        if (sv_eq_cstr(a->ref.name, "linear")) {
            s->fill = IQL_FILL_LINEAR;
            return 0;
        }
    }
    if (a->kind == IQL_EXPR_INTEGER) {
        s->fill = IQL_FILL_NUMBER;
        s->fill_is_int = true;
        s->fill_i = a->i;
        return 0;
    }
    if (a->kind == IQL_EXPR_NUMBER) {
        s->fill = IQL_FILL_NUMBER;
        s->fill_f = a->f;
        return 0;
    }
    return iql__err_nopos(p, "expected number argument in fill()");
}

static int parse_sort_field(struct iql_parser *p, struct iql_sort *f)
{
    if (iql__parse_ident(p, &f->name))
        return p->rc;
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_ASC && t.tok != T_DESC) {
        iql__unscan(p);
        f->asc = true;
    } else {
        f->asc = t.tok == T_ASC;
    }
    return 0;
}

int iql__parse_order_by(struct iql_parser *p, struct iql_sort **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (iql__next_ws(p).tok != T_ORDER) {
        iql__unscan(p);
        return 0;
    }
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_BY)
        return iql__err_expected1(p, t, "BY");
    size_t cap = 0;
    struct iql_sort f = { sv_make("", 0), true };
    t = iql__next_ws(p);
    if (t.tok == T_ASC || t.tok == T_DESC) {
        f.asc = t.tok == T_ASC;
    } else if (t.tok == T_IDENT) {
        iql__unscan(p);
        if (parse_sort_field(p, &f))
            return p->rc;
        if (!sv_eq_cstr(t.lit, "time"))
            return iql__err_nopos(p, "only ORDER BY time supported at this time");
    } else {
        static const char *const exp[] = { "identifier", "ASC", "DESC" };
        return iql__err_expected(p, t, exp, 3);
    }
    if (vpush(p, out, n, &cap, sizeof f, &f))
        return p->rc;
    for (;;) {
        if (iql__next_ws(p).tok != T_COMMA) {
            iql__unscan(p);
            break;
        }
        if (parse_sort_field(p, &f) || vpush(p, out, n, &cap, sizeof f, &f))
            return p->rc;
    }
    if (*n > 1)
        return iql__err_nopos(p, "only ORDER BY time supported at this time");
    return 0;
}

int iql__parse_opt_int(struct iql_parser *p, enum iql_tok tok, int64_t *out)
{
    *out = 0;
    if (iql__next_ws(p).tok != tok) {
        iql__unscan(p);
        return 0;
    }
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_INTEGER)
        return iql__err_expected1(p, t, "integer");
    bool ovf;
    digits_i64(t.lit, out, &ovf); /* Go ignores the range error: MaxInt64 */
    return 0;
}

/* Go's time.LoadLocation, against the system zoneinfo database. */
static bool zone_exists(struct sv name)
{
    if (name.n == 0 || sv_eq_cstr(name, "UTC") || sv_eq_cstr(name, "Local"))
        return true;
    if (name.p[0] == '/' || name.p[0] == '\\' || name.n > 200 ||
        memchr(name.p, '\0', name.n))
        return false;
    for (size_t i = 0; i + 1 < name.n; i++)
        if (name.p[i] == '.' && name.p[i + 1] == '.')
            return false;
    char path[256];
    const char *dir = getenv("ZONEINFO");
    snprintf(path, sizeof path, "%s/%.*s", dir && *dir ? dir : "/usr/share/zoneinfo",
             SV_FMT(name));
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char magic[4];
    bool ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    fclose(f);
    return ok;
}

static int parse_location(struct iql_parser *p, struct sv *tz)
{
    *tz = sv_make("", 0);
    if (!next_is_call(p, "tz"))
        return 0;
    struct iql_expr *x;
    if (iql__parse_expr(p, &x))
        return p->rc;
    if (x->kind != IQL_EXPR_CALL)
        return iql__err_nopos(p, "tz must be a function call");
    if (x->call.nargs != 1)
        return iql__err_nopos(p, "tz requires exactly one argument");
    const struct iql_expr *a = x->call.args[0];
    if (a->kind != IQL_EXPR_STRING)
        return iql__err_nopos(p, "expected string argument in tz()");
    if (!zone_exists(a->str))
        return iql__err_nopos(p, "unable to find time zone %.*s", SV_FMT(a->str));
    *tz = a->str.n ? a->str : sv_make("UTC", 3);
    return 0;
}

static bool has_call(const struct iql_expr *x)
{
    if (!x)
        return false;
    switch (x->kind) {
    case IQL_EXPR_CALL:
        return true;
    case IQL_EXPR_BINARY:
        return has_call(x->bin.lhs) || has_call(x->bin.rhs);
    case IQL_EXPR_PAREN:
        return has_call(x->paren);
    default:
        return false;
    }
}

/* Whether dimension d is time(<duration>[, <duration>]) with a duration
 * <= 0; *is_time tells whether d is a time(<duration>...) call at all. */
static bool is_empty_time_dim(const struct iql_expr *d, bool *is_time)
{
    *is_time = d->kind == IQL_EXPR_CALL && sv_case_eq(d->call.name, "time") &&
               (d->call.nargs == 1 || d->call.nargs == 2) &&
               d->call.args[0]->kind == IQL_EXPR_DURATION;
    return *is_time && d->call.args[0]->dur_ns <= 0 &&
           (d->call.nargs == 1 || d->call.args[1]->kind == IQL_EXPR_DURATION);
}

/* GROUP BY time(0s) (or a negative interval) groups nothing in influxd:
 * its executor takes the first time() dimension's interval and groups only
 * when it is positive, so the statement runs as if no time() dimension
 * were there (observed: one row stamped 0 for an aggregate, raw rows for a
 * raw query, and time(0s), time(1h) groups nothing either).  When the first
 * time() dimension is empty, drop every time(<duration>...) dimension; a
 * later empty one after a positive one stays, for 1.6's "multiple time
 * dimensions not allowed". */
static void drop_empty_time_dims(struct iql_select *s)
{
    bool drop = false, seen_time = false;
    size_t o = 0;
    for (size_t i = 0; i < s->ndims; i++) {
        bool is_time;
        bool is_empty = is_empty_time_dim(s->dims[i], &is_time);
        if (is_time && !seen_time) {
            seen_time = true;
            drop = is_empty;
        }
        if (is_time && drop)
            continue;
        s->dims[o++] = s->dims[i];
    }
    s->ndims = o;
}

int iql__parse_select(struct iql_parser *p, int tr, struct iql_select **out)
{
    struct iql_select *s = alloc0(p, sizeof *s);
    if (!s)
        return p->rc;
    s->tz = sv_make("", 0);
    if (parse_fields(p, s) || parse_target(p, tr, s))
        return p->rc;
    struct iql_token t = iql__next_ws(p);
    if (t.tok != T_FROM)
        return iql__err_expected1(p, t, "FROM");
    if (iql__parse_sources(p, true, &s->sources, &s->nsources) ||
        iql__parse_condition(p, &s->cond) ||
        iql__parse_dimensions(p, &s->dims, &s->ndims) ||
        parse_fill(p, s) ||
        iql__parse_order_by(p, &s->sort, &s->nsort) ||
        iql__parse_opt_int(p, T_LIMIT, &s->limit) ||
        iql__parse_opt_int(p, T_OFFSET, &s->offset) ||
        iql__parse_opt_int(p, T_SLIMIT, &s->slimit) ||
        iql__parse_opt_int(p, T_SOFFSET, &s->soffset) ||
        parse_location(p, &s->tz))
        return p->rc;
    drop_empty_time_dims(s);
    s->is_raw = true;
    for (size_t i = 0; i < s->nfields; i++)
        if (has_call(s->fields[i].expr))
            s->is_raw = false;
    *out = s;
    return p->rc;
}

/* ---- Entry point ------------------------------------------------------ */

int iql_parse(const char *q, size_t n, const struct iql_params *params, struct arena *a,
              struct iql_query **out, struct err *e, struct buf *long_msg)
{
    struct buf msg;
    buf_init(&msg, 1 << 20);
    struct iql_parser p;
    memset(&p, 0, sizeof p);
    iql__reader_init(&p.r, q ? q : "", q ? n : 0);
    p.a = a;
    p.params = params;
    p.msg = &msg;
    *out = NULL;

    struct iql_query *qy = alloc0(&p, sizeof *qy);
    size_t cap = 0;
    bool semi = true;
    while (qy && p.rc == 0) {
        struct iql_token t = iql__next_ws(&p);
        if (p.rc)
            break;
        if (t.tok == T_EOF)
            break;
        if (t.tok == T_SEMICOLON) {
            semi = true;
            continue;
        }
        if (!semi) {
            iql__err_expected1(&p, t, ";");
            break;
        }
        iql__unscan(&p);
        struct iql_stmt *st = NULL;
        if (iql__parse_statement(&p, &st))
            break;
        if (!st) {
            iql__err_nopos(&p, "internal error: statement without result");
            break;
        }
        if (vpush(&p, &qy->stmts, &qy->nstmts, &cap, sizeof st, &st))
            break;
        semi = false;
    }
    int rc = p.rc;
    if (rc == 0 && !qy)
        rc = ERR_NOMEM;
    if (rc) {
        if (long_msg) {
            buf_reset(long_msg);
            if (msg.len && buf_append(long_msg, msg.p, msg.len) != 0)
                buf_reset(long_msg);
        }
        err_set(e, rc, "%s", msg.p ? msg.p : err_str(rc));
    } else {
        err_clear(e);
        *out = qy;
    }
    buf_fini(&msg);
    return rc;
}
