// SPDX-License-Identifier: MIT
/*
 * The executor's driver (qx_run) and its shared helpers: emitting series in
 * pieces, regexes, WHERE evaluation and time ranges.  Meta statements live
 * in exec_meta.c, raw SELECT in exec_select.c.
 *
 * Statement life cycle: qx_run parses the whole query first (a parse error
 * executes nothing), then for each statement: a fresh arena, execute, end.
 * A statement that fails ends the query, as in influxd 1.6; the sink is
 * told whether statements were skipped (is_last), because 1.6 words that
 * case differently.  Every series a statement emits goes to the sink before
 * the statement ends, so a chunked answer streams.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/exec_int.h"

#define DEFAULT_CHUNK_ROWS 10000

/* ---- regexes ----------------------------------------------------------- */

static void rx_free(void *arg)
{
    struct qx__rx *rx = arg;
    pcre2_match_data_free(rx->md);
    pcre2_code_free(rx->code);
}

int qx__rx_compile(struct qx__run *r, struct sv src, struct qx__rx **out)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)(src.p ? src.p : ""), src.n,
                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY,
                                     &ec, &eo, NULL);
    if (!code)
        return err_set(r->e, ERR_PARSE, "error parsing regexp: %.*s", SV_FMT(src));
    struct qx__rx *rx = arena_alloc(r->a, sizeof *rx);
    rx->code = code;
    rx->md = pcre2_match_data_create_from_pattern(code, NULL);
    arena_on_cleanup(r->a, rx_free, rx);
    *out = rx;
    return 0;
}

bool qx__rx_match(const struct qx__rx *rx, struct sv s)
{
    return pcre2_match(rx->code, (PCRE2_SPTR)(s.p ? s.p : ""), s.n, 0, 0, rx->md, NULL) >= 0;
}

/* ---- emitting ---------------------------------------------------------- */

int qx__emit(struct qx__run *r, struct sv name, const struct tsdb_tag *tags, size_t ntags,
             const struct sv *cols, size_t ncols, const struct qx_value *vals, size_t nrows)
{
    size_t chunk = r->p->chunk_rows ? r->p->chunk_rows : DEFAULT_CHUNK_ROWS;
    size_t at = 0;
    do {
        size_t n = nrows - at < chunk ? nrows - at : chunk;
        struct qx_series s = {
            .name = name, .tags = tags, .ntags = ntags, .columns = cols, .ncolumns = ncols,
            .values = vals ? vals + at * ncols : NULL, .nrows = n,
            .is_continued = at + n < nrows,
        };
        int rc = r->out->series(r->out, r->stmt_id, &s);
        if (rc) {
            r->sink_rc = rc;
            return ERR_CLOSED;
        }
        at += n;
    } while (at < nrows);
    return 0;
}

int qx__check_time(struct qx__run *r)
{
    if (r->p->is_cancelled && __atomic_load_n(r->p->is_cancelled, __ATOMIC_ACQUIRE))
        return err_set(r->e, ERR_TIMEOUT, "query interrupted");
    /* The deadline is only set with a caller's clock (qx_run): the engine
     * never reads the real clock on its own. */
    if (!r->has_deadline || mono_diff_ns(clk_mono(r->c->clock), r->deadline) < 0)
        return 0;
    return err_set(r->e, ERR_TIMEOUT, "query-timeout limit exceeded");
}

int qx__count_series(struct qx__run *r)
{
    r->series++;
    if (r->c->max_series && r->series > r->c->max_series)
        return err_set(r->e, ERR_LIMIT, "max-select-series limit exceeded: (%" PRIu64 "/%" PRIu64 ")",
                       r->series, r->c->max_series);
    return 0;
}

int qx__count_points(struct qx__run *r, uint64_t n)
{
    r->points += n;
    if (r->c->max_points_scanned && r->points > r->c->max_points_scanned)
        return err_set(r->e, ERR_LIMIT, "max-select-point limit exceeed: (%" PRIu64 "/%" PRIu64 ")",
                       r->points, r->c->max_points_scanned);
    return 0;
}

struct sv qx__db(struct qx__run *r, struct sv explicit_db)
{
    return explicit_db.n ? explicit_db : r->p->db;
}

/* ---- WHERE evaluation ---------------------------------------------------- */

static const struct iql_expr *unparen(const struct iql_expr *x)
{
    while (x && x->kind == IQL_EXPR_PAREN)
        x = x->paren;
    return x;
}

static bool is_time_ref(const struct iql_expr *x)
{
    x = unparen(x);
    return x && x->kind == IQL_EXPR_VARREF && sv_case_eq(x->ref.name, "time");
}

bool qx__cond_has_time(const struct iql_expr *x)
{
    x = unparen(x);
    if (!x)
        return false;
    if (is_time_ref(x))
        return true;
    if (x->kind == IQL_EXPR_BINARY)
        return qx__cond_has_time(x->bin.lhs) || qx__cond_has_time(x->bin.rhs);
    return false;
}

static int collect_rx(struct qx__run *r, const struct iql_expr *x, struct qx__cond *c, size_t cap)
{
    x = unparen(x);
    if (!x)
        return 0;
    if (x->kind == IQL_EXPR_REGEX) {
        if (c->nrx == cap)
            return err_set(r->e, ERR_LIMIT, "too many regular expressions in WHERE");
        c->rx_nodes[c->nrx] = x;
        int rc = qx__rx_compile(r, x->str, &c->rxs[c->nrx]);
        if (rc)
            return rc;
        c->nrx++;
        return 0;
    }
    if (x->kind == IQL_EXPR_BINARY) {
        int rc = collect_rx(r, x->bin.lhs, c, cap);
        return rc ? rc : collect_rx(r, x->bin.rhs, c, cap);
    }
    return 0;
}

int qx__cond_prepare(struct qx__run *r, const struct iql_expr *expr, struct qx__cond *out)
{
    memset(out, 0, sizeof *out);
    out->expr = expr;
    if (!expr)
        return 0;
    /* The parser bounds a query to 2000 binary operators. */
    size_t cap = 2048;
    out->rx_nodes = arena_alloc(r->a, cap * sizeof *out->rx_nodes);
    out->rxs = arena_alloc(r->a, cap * sizeof *out->rxs);
    return collect_rx(r, expr, out, cap);
}

static const struct qx__rx *find_rx(const struct qx__cond *c, const struct iql_expr *x)
{
    for (size_t i = 0; i < c->nrx; i++)
        if (c->rx_nodes[i] == x)
            return c->rxs[i];
    return NULL;
}

static bool tag_lookup(const struct qx__row_env *env, struct sv key, struct sv *out)
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

/* An operand's value.  A reference is a field when the row has that field
 * (or ::field says so), else a tag, and a missing tag is the empty string
 * (1.6: `"nosuchtag" = ''` matches everything). */
static struct qx_value operand(const struct qx__row_env *env, const struct iql_expr *x)
{
    struct qx_value v = { .kind = QX_NULL };
    x = unparen(x);
    switch (x->kind) {
    case IQL_EXPR_VARREF:
        if (x->ref.type != IQL_VT_TAG && env->field) {
            const struct qx_value *f = env->field(env->field_arg, x->ref.name);
            if (f)
                return *f;
            if (x->ref.type == IQL_VT_FIELD || x->ref.type == IQL_VT_FLOAT ||
                x->ref.type == IQL_VT_INTEGER || x->ref.type == IQL_VT_STRING ||
                x->ref.type == IQL_VT_BOOLEAN || x->ref.type == IQL_VT_UNSIGNED)
                return v;
        }
        v.kind = QX_STRING;
        tag_lookup(env, x->ref.name, &v.s);
        return v;
    case IQL_EXPR_STRING:
        v.kind = QX_STRING;
        v.s = x->str;
        return v;
    case IQL_EXPR_INTEGER:
        v.kind = QX_INT;
        v.i = x->i;
        return v;
    case IQL_EXPR_UNSIGNED:
        v.kind = QX_UINT;
        v.u = x->u;
        return v;
    case IQL_EXPR_NUMBER:
        v.kind = QX_FLOAT;
        v.f = x->f;
        return v;
    case IQL_EXPR_BOOL:
        v.kind = QX_BOOL;
        v.b = x->b;
        return v;
    case IQL_EXPR_DURATION:
        v.kind = QX_INT;
        v.i = x->dur_ns;
        return v;
    default:
        return v;
    }
}

static bool is_num(const struct qx_value *v)
{
    return v->kind == QX_FLOAT || v->kind == QX_INT || v->kind == QX_UINT;
}

static double num(const struct qx_value *v)
{
    return v->kind == QX_FLOAT ? v->f : v->kind == QX_INT ? (double)v->i : (double)v->u;
}

static bool cmp_result(int c, enum iql_op op)
{
    switch (op) {
    case IQL_OP_EQ: return c == 0;
    case IQL_OP_NEQ: return c != 0;
    case IQL_OP_LT: return c < 0;
    case IQL_OP_LTE: return c <= 0;
    case IQL_OP_GT: return c > 0;
    case IQL_OP_GTE: return c >= 0;
    default: return false;
    }
}

static bool eval(const struct qx__cond *c, const struct iql_expr *x, const struct qx__row_env *env)
{
    x = unparen(x);
    if (!x)
        return true;
    if (x->kind == IQL_EXPR_BOOL)
        return x->b;
    if (x->kind != IQL_EXPR_BINARY)
        return false;
    enum iql_op op = x->bin.op;
    if (op == IQL_OP_AND)
        return eval(c, x->bin.lhs, env) && eval(c, x->bin.rhs, env);
    if (op == IQL_OP_OR)
        return eval(c, x->bin.lhs, env) || eval(c, x->bin.rhs, env);
    /* Time bounds were taken out as the scan range. */
    if (is_time_ref(x->bin.lhs) || is_time_ref(x->bin.rhs))
        return true;
    if (op == IQL_OP_EQREGEX || op == IQL_OP_NEQREGEX) {
        const struct iql_expr *re = unparen(x->bin.rhs), *lhs = x->bin.lhs;
        if (re->kind != IQL_EXPR_REGEX) {
            re = unparen(x->bin.lhs);
            lhs = x->bin.rhs;
        }
        const struct qx__rx *rx = re->kind == IQL_EXPR_REGEX ? find_rx(c, re) : NULL;
        struct qx_value v = operand(env, lhs);
        if (!rx || v.kind != QX_STRING)
            return false;
        return qx__rx_match(rx, v.s) == (op == IQL_OP_EQREGEX);
    }
    struct qx_value a = operand(env, x->bin.lhs), b = operand(env, x->bin.rhs);
    if (a.kind == QX_NULL || b.kind == QX_NULL)
        return false;
    if (a.kind == QX_STRING && b.kind == QX_STRING) {
        size_t n = a.s.n < b.s.n ? a.s.n : b.s.n;
        int k = n ? memcmp(a.s.p, b.s.p, n) : 0;
        if (k == 0)
            k = a.s.n < b.s.n ? -1 : a.s.n > b.s.n;
        return cmp_result(k, op);
    }
    if (is_num(&a) && is_num(&b)) {
        if (a.kind == QX_INT && b.kind == QX_INT)
            return cmp_result(a.i < b.i ? -1 : a.i > b.i, op);
        double da = num(&a), db = num(&b);
        return cmp_result(da < db ? -1 : da > db, op);
    }
    if (a.kind == QX_BOOL && b.kind == QX_BOOL && (op == IQL_OP_EQ || op == IQL_OP_NEQ))
        return cmp_result(a.b != b.b, op);
    return false;
}

bool qx__cond_eval(const struct qx__cond *c, const struct qx__row_env *env)
{
    return eval(c, c->expr, env);
}

/* ---- time ranges --------------------------------------------------------- */

static int digits(const char **s, const char *end, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*s)++) {
        if (*s >= end || !isdigit((unsigned char)**s))
            return -1;
        v = v * 10 + (**s - '0');
    }
    *out = v;
    return 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* RFC3339 (with optional fraction and offset), "2006-01-02 15:04:05.999"
 * and "2006-01-02", as InfluxQL time strings. */
static int parse_time_string(struct sv str, int64_t *out)
{
    const char *s = str.p, *end = str.p + str.n;
    int y, mo, d, h = 0, mi = 0, se = 0;
    int64_t frac = 0, off = 0;
    if (digits(&s, end, 4, &y) || s >= end || *s++ != '-' || digits(&s, end, 2, &mo) ||
        s >= end || *s++ != '-' || digits(&s, end, 2, &d))
        return -1;
    if (s < end) {
        if (*s != 'T' && *s != ' ')
            return -1;
        s++;
        if (digits(&s, end, 2, &h) || s >= end || *s++ != ':' || digits(&s, end, 2, &mi) ||
            s >= end || *s++ != ':' || digits(&s, end, 2, &se))
            return -1;
        if (s < end && *s == '.') {
            s++;
            int nd = 0;
            while (s < end && isdigit((unsigned char)*s)) {
                if (nd < 9) {
                    frac = frac * 10 + (*s - '0');
                    nd++;
                }
                s++;
            }
            if (nd == 0)
                return -1;
            for (; nd < 9; nd++)
                frac *= 10;
        }
        if (s < end && *s == 'Z') {
            s++;
        } else if (s < end && (*s == '+' || *s == '-')) {
            int sign = *s++ == '-' ? -1 : 1, oh, om;
            if (digits(&s, end, 2, &oh) || s >= end || *s++ != ':' || digits(&s, end, 2, &om))
                return -1;
            off = sign * ((int64_t)oh * 3600 + om * 60);
        }
        if (s != end)
            return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
                   se - off;
    *out = secs * 1000000000 + frac;
    return 0;
}

static int time_value(struct qx__run *r, const struct iql_expr *x, int64_t *out)
{
    x = unparen(x);
    switch (x->kind) {
    case IQL_EXPR_INTEGER:
        *out = x->i;
        return 0;
    case IQL_EXPR_NUMBER:
        *out = (int64_t)x->f;
        return 0;
    case IQL_EXPR_DURATION:
        *out = x->dur_ns;
        return 0;
    case IQL_EXPR_STRING:
        if (parse_time_string(x->str, out) == 0)
            return 0;
        return err_set(r->e, ERR_INVAL, "invalid time string: %.*s", SV_FMT(x->str));
    case IQL_EXPR_CALL:
        if (sv_eq_cstr(x->call.name, "now") && x->call.nargs == 0) {
            *out = r->p->now_ns;
            return 0;
        }
        break;
    case IQL_EXPR_BINARY:
        if (x->bin.op == IQL_OP_ADD || x->bin.op == IQL_OP_SUB) {
            int64_t a, b;
            int rc = time_value(r, x->bin.lhs, &a);
            rc = rc ? rc : time_value(r, x->bin.rhs, &b);
            if (rc)
                return rc;
            *out = x->bin.op == IQL_OP_ADD ? a + b : a - b;
            return 0;
        }
        break;
    default:
        break;
    }
    return err_set(r->e, ERR_INVAL, "invalid time comparison");
}

static int range_walk(struct qx__run *r, const struct iql_expr *x, int64_t *min, int64_t *max)
{
    x = unparen(x);
    if (!x || x->kind != IQL_EXPR_BINARY)
        return 0;
    if (x->bin.op == IQL_OP_AND) {
        int rc = range_walk(r, x->bin.lhs, min, max);
        return rc ? rc : range_walk(r, x->bin.rhs, min, max);
    }
    enum iql_op op = x->bin.op;
    const struct iql_expr *lit;
    if (is_time_ref(x->bin.lhs)) {
        lit = x->bin.rhs;
    } else if (is_time_ref(x->bin.rhs)) {
        lit = x->bin.lhs;
        /* 5 < time is time > 5 */
        op = op == IQL_OP_LT ? IQL_OP_GT : op == IQL_OP_LTE ? IQL_OP_GTE
           : op == IQL_OP_GT ? IQL_OP_LT : op == IQL_OP_GTE ? IQL_OP_LTE : op;
    } else {
        return 0;
    }
    int64_t t;
    int rc = time_value(r, lit, &t);
    if (rc)
        return rc;
    switch (op) {
    case IQL_OP_GT:
        if (t < INT64_MAX && t + 1 > *min)
            *min = t + 1;
        break;
    case IQL_OP_GTE:
        if (t > *min)
            *min = t;
        break;
    case IQL_OP_LT:
        if (t > INT64_MIN && t - 1 < *max)
            *max = t - 1;
        break;
    case IQL_OP_LTE:
        if (t < *max)
            *max = t;
        break;
    case IQL_OP_EQ:
        if (t > *min)
            *min = t;
        if (t < *max)
            *max = t;
        break;
    default:
        return err_set(r->e, ERR_INVAL, "invalid time comparison operator");
    }
    return 0;
}

int qx__time_range(struct qx__run *r, const struct iql_expr *cond, int64_t *min, int64_t *max)
{
    *min = INT64_MIN;
    *max = INT64_MAX;
    return range_walk(r, cond, min, max);
}

/* ---- the driver ------------------------------------------------------------ */

int qx__exec_meta(struct qx__run *r, const struct iql_stmt *s);

static bool is_mutating(enum iql_stmt_kind k)
{
    switch (k) {
    case IQL_STMT_DELETE:
    case IQL_STMT_DROP_SERIES:
    case IQL_STMT_CREATE_DATABASE:
    case IQL_STMT_DROP_DATABASE:
    case IQL_STMT_DROP_MEASUREMENT:
    case IQL_STMT_CREATE_RETENTION_POLICY:
    case IQL_STMT_ALTER_RETENTION_POLICY:
    case IQL_STMT_DROP_RETENTION_POLICY:
    case IQL_STMT_CREATE_USER:
    case IQL_STMT_DROP_USER:
    case IQL_STMT_SET_PASSWORD:
    case IQL_STMT_GRANT:
    case IQL_STMT_REVOKE:
    case IQL_STMT_KILL_QUERY:
    case IQL_STMT_DROP_SHARD:
    case IQL_STMT_DROP_CONTINUOUS_QUERY:
    case IQL_STMT_CREATE_CONTINUOUS_QUERY:
    case IQL_STMT_CREATE_SUBSCRIPTION:
    case IQL_STMT_DROP_SUBSCRIPTION:
        return true;
    default:
        return false;
    }
}

static int exec_stmt(struct qx__run *r, const struct iql_stmt *s)
{
    if (!r->c->db)
        return err_set(r->e, ERR_UNSUPPORTED, "storage is not open");
    if (s->kind == IQL_STMT_SELECT) {
        if (s->select->into)
            return err_set(r->e, ERR_UNSUPPORTED, "SELECT ... INTO is not supported yet");
        if (!s->select->is_raw) {
            bool handled;
            int rc = qx__summary_select(r, s->select, &handled);
            if (handled)
                return rc;
        }
        return qx__exec_select(r, s->select);
    }
    return qx__exec_meta(r, s);
}

int qx_run(const struct qx_ctx *c, const char *q, size_t n, const struct qx_params *p,
           struct qx_sink *out, struct err *e, struct buf *long_msg)
{
    struct sv text = sv_make(q, n);
    /* Go's strings.TrimSpace (ASCII part): influxd trims q before parsing. */
    while (text.n && isspace((unsigned char)text.p[0])) {
        text.p++;
        text.n--;
    }
    while (text.n && isspace((unsigned char)text.p[text.n - 1]))
        text.n--;
    struct arena qa;
    arena_init(&qa, 0, 0);
    struct iql_query *query = NULL;
    int rc = iql_parse(text.p ? text.p : "", text.n, p->params, &qa, &query, e, long_msg);
    if (rc) {
        arena_fini(&qa);
        return rc;
    }
    /* One deadline for the whole query, from the caller's clock. */
    bool has_deadline = c->timeout_ns > 0 && c->clock;
    struct mono_ns deadline = { 0 };
    if (has_deadline)
        deadline = mono_add_ns(clk_mono(c->clock), c->timeout_ns);
    int result = 0;
    for (size_t i = 0; i < query->nstmts; i++) {
        const struct iql_stmt *s = query->stmts[i];
        struct arena sa;
        arena_init(&sa, 0, 0);
        struct err se;
        err_clear(&se);
        struct qx__run r = {
            .c = c, .p = p, .out = out, .stmt_id = (int)i, .a = &sa, .e = &se,
            .deadline = deadline, .has_deadline = has_deadline,
        };
        rc = exec_stmt(&r, s);
        if (r.sink_rc) {
            result = r.sink_rc;
            arena_fini(&sa);
            break;
        }
        struct qx_message msg;
        struct buf mb;
        buf_init(&mb, 0);
        struct qx_stmt_end end = {
            .stmt_id = (int)i, .is_last = i + 1 == query->nstmts,
        };
        if (rc) {
            end.error = se.msg[0] ? se.msg : err_str(rc);
        } else if (p->is_read_only && is_mutating(s->kind)) {
            /* 1.6 runs it anyway and warns, quoting the normalised text. */
            int wr = buf_append_str(&mb, "deprecated use of '");
            wr = wr ? wr : iql_render_stmt(&mb, s);
            wr = wr ? wr : buf_append_str(&mb, "' in a read only context, please use a POST request instead");
            if (wr == 0) {
                msg.level = "warning";
                msg.text = buf_sv(&mb);
                end.messages = &msg;
                end.nmessages = 1;
            }
        }
        int erc = out->end(out, &end);
        buf_fini(&mb);
        arena_fini(&sa);
        if (erc) {
            result = erc;
            break;
        }
        if (rc)
            break;
    }
    arena_fini(&qa);
    return result;
}
