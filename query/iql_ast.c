// SPDX-License-Identifier: MIT
/*
 * Canonical InfluxQL text for parsed statements, as InfluxDB's String()
 * methods write it: keywords upper case, identifiers quoted only when they
 * must be (keywords, non-identifier characters, empty names), strings in
 * single quotes with \n, \\ and \' escaped, decimal literals with three
 * fraction digits, durations in their largest exact unit, passwords as
 * [REDACTED].  Used by tests, by the fuzz round trip and by messages that
 * quote a statement ("... requires admin privilege").
 *
 * Rendering is not always re-parseable, because InfluxDB's is not either:
 * DISTINCT names are written bare, a measurement with an empty name renders
 * as nothing, float fill values use Go's %v (exponent form from 1e+06) and
 * passwords are redacted.  tests/fuzz/iql_parse.c knows these cases.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/iql_int.h"

static bool ident_needs_quotes(struct sv s)
{
    if (iql__lookup(s) != T_IDENT)
        return true;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        if (i == 0 ? !letter : !(letter || digit))
            return true;
    }
    return false;
}

static int escape_into(struct buf *b, struct sv s, char quote)
{
    int rc = 0;
    for (size_t i = 0; i < s.n && !rc; i++) {
        char c = s.p[i];
        if (c == '\n')
            rc = buf_append(b, "\\n", 2);
        else if (c == '\\')
            rc = buf_append(b, "\\\\", 2);
        else if (c == quote)
            rc = buf_append_char(b, '\\') || buf_append_char(b, c);
        else
            rc = buf_append_char(b, c);
    }
    return rc;
}

int iql__quote_ident(struct buf *b, const struct sv *segs, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        struct sv s = segs[i];
        bool last = i + 1 == n;
        bool q = ident_needs_quotes(s) || (!last && s.n > 0) || ((i == 0 || last) && s.n == 0);
        if (q)
            rc = buf_append_char(b, '"');
        if (!rc)
            rc = escape_into(b, s, '"');
        if (!rc && q)
            rc = buf_append_char(b, '"');
        if (!rc && !last)
            rc = buf_append_char(b, '.');
    }
    return rc;
}

static int qident(struct buf *b, struct sv s)
{
    return iql__quote_ident(b, &s, 1);
}

static int qstring(struct buf *b, struct sv s)
{
    return buf_append_char(b, '\'') || escape_into(b, s, '\'') || buf_append_char(b, '\'');
}

static int dur(struct buf *b, int64_t ns)
{
    char t[48];
    iql_format_duration(ns, t, sizeof t);
    return buf_append_str(b, t);
}

/* Go's time.Duration.String() ("720h0m0s", "1.5s", "100µs"), which 1.6
 * uses for CREATE DATABASE ... WITH DURATION / SHARD DURATION. */
static int go_dur(struct buf *b, int64_t d)
{
    if (d == 0)
        return buf_append_str(b, "0s");
    uint64_t u = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    char out[64];
    const char *sign = d < 0 ? "-" : "";
    if (u < 1000000000ull) {
        uint64_t unit;
        const char *name;
        if (u < 1000) {
            return buf_appendf(b, "%s%lluns", sign, (unsigned long long)u);
        } else if (u < 1000000) {
            unit = 1000, name = "\xc2\xb5s";
        } else {
            unit = 1000000, name = "ms";
        }
        int w = unit == 1000 ? 3 : 6;
        uint64_t ip = u / unit, fp = u % unit;
        int n = snprintf(out, sizeof out, "%llu", (unsigned long long)ip);
        if (fp) {
            n += snprintf(out + n, sizeof out - (size_t)n, ".%0*llu", w, (unsigned long long)fp);
            while (out[n - 1] == '0')
                out[--n] = '\0';
        }
        return buf_appendf(b, "%s%s%s", sign, out, name);
    }
    uint64_t secs = u / 1000000000ull, frac = u % 1000000000ull;
    uint64_t h = secs / 3600, m = secs / 60 % 60, sec = secs % 60;
    int n = 0;
    if (h)
        n += snprintf(out + n, sizeof out - (size_t)n, "%lluh", (unsigned long long)h);
    if (h || m)
        n += snprintf(out + n, sizeof out - (size_t)n, "%llum", (unsigned long long)m);
    n += snprintf(out + n, sizeof out - (size_t)n, "%llu", (unsigned long long)sec);
    if (frac) {
        n += snprintf(out + n, sizeof out - (size_t)n, ".%09llu", (unsigned long long)frac);
        while (out[n - 1] == '0')
            out[--n] = '\0';
    }
    return buf_appendf(b, "%s%ss", sign, out);
}

/* Go's fmt %v for a float64 (strconv 'g', shortest): the fewest digits that
 * read back as v, in %e form when the decimal exponent is < -4 or >= 6. */
static int go_float_v(struct buf *b, double v)
{
    if (isnan(v))
        return buf_append_str(b, "NaN");
    if (isinf(v))
        return buf_append_str(b, v > 0 ? "+Inf" : "-Inf");
    char e[40];
    int prec;
    for (prec = 0; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof e, "%.*e", prec, v);
    /* e = [-]d[.ddd]e[+-]XX */
    char *ep = strchr(e, 'e');
    int exp = atoi(ep + 1);
    if (exp < -4 || exp >= 6) {
        char mant[40];
        size_t ml = (size_t)(ep - e);
        memcpy(mant, e, ml);
        mant[ml] = '\0';
        return buf_appendf(b, "%se%c%02d", mant, exp < 0 ? '-' : '+', abs(exp));
    }
    /* %f with exactly the significant digits: prec+1 digits, exp decides */
    int frac = prec - exp;
    if (frac < 0)
        frac = 0;
    return buf_appendf(b, "%.*f", frac, v);
}

static const char *op_name(enum iql_op op)
{
    return iql__tok_name(iql__op_tok(op));
}

static const char *vtype_name(enum iql_vtype t)
{
    switch (t) {
    case IQL_VT_FLOAT: return "float";
    case IQL_VT_INTEGER: return "integer";
    case IQL_VT_UNSIGNED: return "unsigned";
    case IQL_VT_STRING: return "string";
    case IQL_VT_BOOLEAN: return "boolean";
    case IQL_VT_TAG: return "tag";
    case IQL_VT_FIELD: return "field";
    default: return "unknown";
    }
}

static int regex(struct buf *b, struct sv src)
{
    int rc = buf_append_char(b, '/');
    for (size_t i = 0; i < src.n && !rc; i++)
        rc = src.p[i] == '/' ? buf_append(b, "\\/", 2) : buf_append_char(b, src.p[i]);
    return rc || buf_append_char(b, '/');
}

/* Operator chains are left-deep ("a + b + c" is ((a + b) + c)) and can be
 * thousands of operators long, so the left spine is walked with a loop
 * instead of recursion; right operands are shallow. */
static int render_binary(struct buf *b, const struct iql_expr *x)
{
    size_t n = 0;
    const struct iql_expr *y = x;
    while (y->kind == IQL_EXPR_BINARY) {
        n++;
        y = y->bin.lhs;
    }
    const struct iql_expr **spine = malloc(n * sizeof *spine);
    if (!spine)
        return ERR_LIMIT;
    y = x;
    for (size_t i = n; i-- > 0;) {
        spine[i] = y;
        y = y->bin.lhs;
    }
    int rc = iql_render_expr(b, y);
    for (size_t i = 0; i < n && !rc; i++)
        rc = buf_appendf(b, " %s ", op_name(spine[i]->bin.op)) ||
             iql_render_expr(b, spine[i]->bin.rhs);
    free(spine);
    return rc ? ERR_LIMIT : 0;
}

int iql_render_expr(struct buf *b, const struct iql_expr *x)
{
    if (!x)
        return 0;
    switch (x->kind) {
    case IQL_EXPR_VARREF:
        if (qident(b, x->ref.name))
            return ERR_LIMIT;
        if (x->ref.type != IQL_VT_UNKNOWN)
            return buf_appendf(b, "::%s", vtype_name(x->ref.type));
        return 0;
    case IQL_EXPR_CALL: {
        int rc = buf_append_sv(b, x->call.name) || buf_append_char(b, '(');
        for (size_t i = 0; i < x->call.nargs && !rc; i++) {
            if (i)
                rc = buf_append(b, ", ", 2);
            if (!rc)
                rc = iql_render_expr(b, x->call.args[i]);
        }
        return rc || buf_append_char(b, ')');
    }
    case IQL_EXPR_BINARY:
        return render_binary(b, x);
    case IQL_EXPR_PAREN:
        return buf_append_char(b, '(') || iql_render_expr(b, x->paren) ||
               buf_append_char(b, ')');
    case IQL_EXPR_INTEGER:
        return buf_appendf(b, "%lld", (long long)x->i);
    case IQL_EXPR_UNSIGNED:
        return buf_appendf(b, "%llu", (unsigned long long)x->u);
    case IQL_EXPR_NUMBER:
        return buf_appendf(b, "%.3f", x->f);
    case IQL_EXPR_STRING:
        return qstring(b, x->str);
    case IQL_EXPR_BOOL:
        return buf_append_str(b, x->b ? "true" : "false");
    case IQL_EXPR_DURATION:
        return dur(b, x->dur_ns);
    case IQL_EXPR_REGEX:
        return regex(b, x->str);
    case IQL_EXPR_WILDCARD:
        return buf_append_str(b, x->wild == IQL_VT_FIELD ? "*::field"
                                 : x->wild == IQL_VT_TAG ? "*::tag" : "*");
    case IQL_EXPR_DISTINCT:
        return buf_append_str(b, "DISTINCT ") || buf_append_sv(b, x->str);
    case IQL_EXPR_LIST: {
        int rc = buf_append_char(b, '(');
        for (size_t i = 0; i < x->list.n && !rc; i++) {
            if (i)
                rc = buf_append(b, ", ", 2);
            if (!rc)
                rc = qident(b, x->list.vals[i]);
        }
        return rc || buf_append_char(b, ')');
    }
    }
    return 0;
}

static int measurement(struct buf *b, const struct iql_measurement *m)
{
    int rc = 0;
    if (m->db.n)
        rc = qident(b, m->db) || buf_append_char(b, '.');
    if (!rc && m->rp.n)
        rc = qident(b, m->rp);
    if (!rc && (m->db.n || m->rp.n))
        rc = buf_append_char(b, '.');
    if (!rc && m->name.n)
        rc = qident(b, m->name);
    else if (!rc && m->is_regex)
        rc = regex(b, m->regex);
    return rc;
}

static int sources(struct buf *b, const struct iql_source *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = buf_append(b, ", ", 2);
        if (rc)
            break;
        if (s[i].kind == IQL_SRC_SUBQUERY)
            rc = buf_append_char(b, '(') || iql_render_select(b, s[i].sub) ||
                 buf_append_char(b, ')');
        else
            rc = measurement(b, &s[i].m);
    }
    return rc;
}

static int exprs(struct buf *b, struct iql_expr *const *x, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = (i ? buf_append(b, ", ", 2) : 0) || iql_render_expr(b, x[i]);
    return rc;
}

static int sort_fields(struct buf *b, const struct iql_sort *s, size_t n)
{
    int rc = 0;
    if (n == 0)
        return 0;
    rc = buf_append_str(b, " ORDER BY ");
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = buf_append(b, ", ", 2);
        if (!rc && s[i].name.n)
            rc = buf_append_sv(b, s[i].name) || buf_append_char(b, ' ');
        if (!rc)
            rc = buf_append_str(b, s[i].asc ? "ASC" : "DESC");
    }
    return rc;
}

static int where(struct buf *b, const struct iql_expr *cond)
{
    if (!cond)
        return 0;
    return buf_append_str(b, " WHERE ") || iql_render_expr(b, cond);
}

static int group_by(struct buf *b, struct iql_expr *const *d, size_t n)
{
    if (n == 0)
        return 0;
    return buf_append_str(b, " GROUP BY ") || exprs(b, d, n);
}

static int opt_int(struct buf *b, const char *kw, int64_t v)
{
    return v > 0 ? buf_appendf(b, " %s %lld", kw, (long long)v) : 0;
}

int iql_render_select(struct buf *b, const struct iql_select *s)
{
    int rc = buf_append_str(b, "SELECT ");
    for (size_t i = 0; i < s->nfields && !rc; i++) {
        if (i)
            rc = buf_append(b, ", ", 2);
        if (!rc)
            rc = iql_render_expr(b, s->fields[i].expr);
        if (!rc && s->fields[i].alias.n)
            rc = buf_append_str(b, " AS ") || qident(b, s->fields[i].alias);
    }
    if (!rc && s->into) {
        rc = buf_append_str(b, " INTO ") || measurement(b, s->into);
        if (!rc && s->into->name.n == 0)
            rc = buf_append_str(b, ":MEASUREMENT");
    }
    if (!rc && s->nsources)
        rc = buf_append_str(b, " FROM ") || sources(b, s->sources, s->nsources);
    if (!rc)
        rc = where(b, s->cond) || group_by(b, s->dims, s->ndims);
    if (!rc) {
        switch (s->fill) {
        case IQL_FILL_NONE: rc = buf_append_str(b, " fill(none)"); break;
        case IQL_FILL_LINEAR: rc = buf_append_str(b, " fill(linear)"); break;
        case IQL_FILL_PREVIOUS: rc = buf_append_str(b, " fill(previous)"); break;
        case IQL_FILL_NUMBER:
            rc = buf_append_str(b, " fill(") ||
                 (s->fill_is_int ? buf_appendf(b, "%lld", (long long)s->fill_i)
                                 : go_float_v(b, s->fill_f)) ||
                 buf_append_char(b, ')');
            break;
        case IQL_FILL_NULL: break;
        }
    }
    if (!rc)
        rc = sort_fields(b, s->sort, s->nsort) || opt_int(b, "LIMIT", s->limit) ||
             opt_int(b, "OFFSET", s->offset) || opt_int(b, "SLIMIT", s->slimit) ||
             opt_int(b, "SOFFSET", s->soffset);
    if (!rc && s->tz.n)
        rc = buf_appendf(b, " TZ('%.*s')", SV_FMT(s->tz));
    return rc ? ERR_LIMIT : 0;
}

static int on_db(struct buf *b, struct sv db)
{
    return db.n ? buf_append_str(b, " ON ") || qident(b, db) : 0;
}

static int from(struct buf *b, const struct iql_show *sh)
{
    return sh->sources ? buf_append_str(b, " FROM ") || sources(b, sh->sources, sh->nsources)
                       : 0;
}

static int tag_key(struct buf *b, const struct iql_show *sh)
{
    int rc = buf_append_str(b, " WITH KEY ") ||
             buf_appendf(b, "%s ", op_name(sh->key_op));
    if (rc || !sh->key_expr)
        return rc;
    if (sh->key_expr->kind == IQL_EXPR_STRING)
        return qident(b, sh->key_expr->str);
    return iql_render_expr(b, sh->key_expr);
}

/* The tail shared by the *CARDINALITY statements. */
static int card_tail(struct buf *b, const struct iql_show *sh, bool tag_values)
{
    return on_db(b, sh->db) || from(b, sh) || (tag_values && tag_key(b, sh)) ||
           where(b, sh->cond) || group_by(b, sh->dims, sh->ndims) ||
           opt_int(b, "LIMIT", sh->limit) || opt_int(b, "OFFSET", sh->offset);
}

static const char *priv_name(enum iql_priv p)
{
    switch (p) {
    case IQL_PRIV_READ: return "READ";
    case IQL_PRIV_WRITE: return "WRITE";
    case IQL_PRIV_ALL: return "ALL PRIVILEGES";
    default: return "NO PRIVILEGES";
    }
}

int iql_render_stmt(struct buf *b, const struct iql_stmt *s)
{
    const struct iql_show *sh = &s->show;
    const struct iql_rp *rp = &s->rp;
    int rc = 0;
    switch (s->kind) {
    case IQL_STMT_SELECT:
        return iql_render_select(b, s->select);
    case IQL_STMT_EXPLAIN:
        rc = buf_append_str(b, s->explain_analyze ? "EXPLAIN ANALYZE " : "EXPLAIN ");
        return rc ? rc : iql_render_select(b, s->select);
    case IQL_STMT_DELETE:
    case IQL_STMT_DROP_SERIES:
        rc = buf_append_str(b, s->kind == IQL_STMT_DELETE ? "DELETE" : "DROP SERIES") ||
             from(b, sh) || where(b, sh->cond);
        break;
    case IQL_STMT_SHOW_DATABASES:
        rc = buf_append_str(b, "SHOW DATABASES");
        break;
    case IQL_STMT_SHOW_RETENTION_POLICIES:
        rc = buf_append_str(b, "SHOW RETENTION POLICIES") || on_db(b, sh->db);
        break;
    case IQL_STMT_SHOW_MEASUREMENTS:
        rc = buf_append_str(b, "SHOW MEASUREMENTS");
        /* Go writes this database name unquoted. */
        if (!rc && sh->db.n)
            rc = buf_append_str(b, " ON ") || buf_append_sv(b, sh->db);
        if (!rc && sh->with_measurement)
            rc = buf_append_str(b, sh->with_measurement->m.is_regex ? " WITH MEASUREMENT =~ "
                                                                    : " WITH MEASUREMENT = ") ||
                 sources(b, sh->with_measurement, 1);
        if (!rc)
            rc = where(b, sh->cond) || sort_fields(b, sh->sort, sh->nsort) ||
                 opt_int(b, "LIMIT", sh->limit) || opt_int(b, "OFFSET", sh->offset);
        break;
    case IQL_STMT_SHOW_MEASUREMENT_CARDINALITY:
        rc = buf_append_str(b, sh->exact ? "SHOW MEASUREMENT EXACT CARDINALITY"
                                         : "SHOW MEASUREMENT CARDINALITY") ||
             card_tail(b, sh, false);
        break;
    case IQL_STMT_SHOW_SERIES:
        rc = buf_append_str(b, "SHOW SERIES") || on_db(b, sh->db) || from(b, sh) ||
             where(b, sh->cond) || sort_fields(b, sh->sort, sh->nsort) ||
             opt_int(b, "LIMIT", sh->limit) || opt_int(b, "OFFSET", sh->offset);
        break;
    case IQL_STMT_SHOW_SERIES_CARDINALITY:
        rc = buf_append_str(b, sh->exact ? "SHOW SERIES EXACT CARDINALITY"
                                         : "SHOW SERIES CARDINALITY") ||
             card_tail(b, sh, false);
        break;
    case IQL_STMT_SHOW_TAG_KEYS:
        rc = buf_append_str(b, "SHOW TAG KEYS") || on_db(b, sh->db) || from(b, sh) ||
             where(b, sh->cond) || sort_fields(b, sh->sort, sh->nsort) ||
             opt_int(b, "LIMIT", sh->limit) || opt_int(b, "OFFSET", sh->offset) ||
             opt_int(b, "SLIMIT", sh->slimit) || opt_int(b, "SOFFSET", sh->soffset);
        break;
    case IQL_STMT_SHOW_TAG_KEY_CARDINALITY:
        rc = buf_append_str(b, sh->exact ? "SHOW TAG KEY EXACT CARDINALITY"
                                         : "SHOW TAG KEY CARDINALITY") ||
             card_tail(b, sh, false);
        break;
    case IQL_STMT_SHOW_TAG_VALUES:
        rc = buf_append_str(b, "SHOW TAG VALUES") || on_db(b, sh->db) || from(b, sh) ||
             tag_key(b, sh) || where(b, sh->cond) || sort_fields(b, sh->sort, sh->nsort) ||
             opt_int(b, "LIMIT", sh->limit) || opt_int(b, "OFFSET", sh->offset);
        break;
    case IQL_STMT_SHOW_TAG_VALUES_CARDINALITY:
        rc = buf_append_str(b, sh->exact ? "SHOW TAG VALUES EXACT CARDINALITY"
                                         : "SHOW TAG VALUES CARDINALITY") ||
             card_tail(b, sh, true);
        break;
    case IQL_STMT_SHOW_FIELD_KEYS:
        rc = buf_append_str(b, "SHOW FIELD KEYS") || on_db(b, sh->db) || from(b, sh) ||
             sort_fields(b, sh->sort, sh->nsort) || opt_int(b, "LIMIT", sh->limit) ||
             opt_int(b, "OFFSET", sh->offset);
        break;
    case IQL_STMT_SHOW_FIELD_KEY_CARDINALITY:
        rc = buf_append_str(b, sh->exact ? "SHOW FIELD KEY EXACT CARDINALITY"
                                         : "SHOW FIELD KEY CARDINALITY") ||
             card_tail(b, sh, false);
        break;
    case IQL_STMT_SHOW_USERS:
        rc = buf_append_str(b, "SHOW USERS");
        break;
    case IQL_STMT_SHOW_GRANTS:
        rc = buf_append_str(b, "SHOW GRANTS FOR ") || qident(b, s->user.name);
        break;
    case IQL_STMT_SHOW_QUERIES:
        rc = buf_append_str(b, "SHOW QUERIES");
        break;
    case IQL_STMT_SHOW_STATS:
    case IQL_STMT_SHOW_DIAGNOSTICS:
        rc = buf_append_str(b, s->kind == IQL_STMT_SHOW_STATS ? "SHOW STATS"
                                                               : "SHOW DIAGNOSTICS");
        if (!rc && sh->module.n)
            rc = buf_append_str(b, " FOR ") || qstring(b, sh->module);
        break;
    case IQL_STMT_SHOW_SHARDS:
        rc = buf_append_str(b, "SHOW SHARDS");
        break;
    case IQL_STMT_SHOW_SHARD_GROUPS:
        rc = buf_append_str(b, "SHOW SHARD GROUPS");
        break;
    case IQL_STMT_SHOW_SUBSCRIPTIONS:
        rc = buf_append_str(b, "SHOW SUBSCRIPTIONS");
        break;
    case IQL_STMT_SHOW_CONTINUOUS_QUERIES:
        rc = buf_append_str(b, "SHOW CONTINUOUS QUERIES");
        break;
    case IQL_STMT_CREATE_DATABASE:
        rc = buf_append_str(b, "CREATE DATABASE ") || qident(b, s->name);
        if (!rc && rp->is_set) {
            rc = buf_append_str(b, " WITH");
            if (!rc && rp->has_duration)
                rc = buf_append_str(b, " DURATION ") || go_dur(b, rp->duration_ns);
            if (!rc && rp->has_replication)
                rc = buf_appendf(b, " REPLICATION %lld", (long long)rp->replication);
            if (!rc && rp->shard_ns > 0)
                rc = buf_append_str(b, " SHARD DURATION ") || go_dur(b, rp->shard_ns);
            if (!rc && rp->name.n)
                rc = buf_append_str(b, " NAME ") || qident(b, rp->name);
        }
        break;
    case IQL_STMT_DROP_DATABASE:
        rc = buf_append_str(b, "DROP DATABASE ") || qident(b, s->name);
        break;
    case IQL_STMT_DROP_MEASUREMENT:
        rc = buf_append_str(b, "DROP MEASUREMENT ") || qident(b, s->name);
        break;
    case IQL_STMT_CREATE_RETENTION_POLICY:
        rc = buf_append_str(b, "CREATE RETENTION POLICY ") || qident(b, rp->name) ||
             buf_append_str(b, " ON ") || qident(b, rp->db) ||
             buf_append_str(b, " DURATION ") || dur(b, rp->duration_ns) ||
             buf_appendf(b, " REPLICATION %lld", (long long)rp->replication);
        if (!rc && rp->shard_ns > 0)
            rc = buf_append_str(b, " SHARD DURATION ") || dur(b, rp->shard_ns);
        if (!rc && rp->is_default)
            rc = buf_append_str(b, " DEFAULT");
        break;
    case IQL_STMT_ALTER_RETENTION_POLICY:
        rc = buf_append_str(b, "ALTER RETENTION POLICY ") || qident(b, rp->name) ||
             buf_append_str(b, " ON ") || qident(b, rp->db);
        if (!rc && rp->has_duration)
            rc = buf_append_str(b, " DURATION ") || dur(b, rp->duration_ns);
        if (!rc && rp->has_replication)
            rc = buf_appendf(b, " REPLICATION %lld", (long long)rp->replication);
        if (!rc && rp->has_shard)
            rc = buf_append_str(b, " SHARD DURATION ") || dur(b, rp->shard_ns);
        if (!rc && rp->is_default)
            rc = buf_append_str(b, " DEFAULT");
        break;
    case IQL_STMT_DROP_RETENTION_POLICY:
        rc = buf_append_str(b, "DROP RETENTION POLICY ") || qident(b, rp->name) ||
             buf_append_str(b, " ON ") || qident(b, rp->db);
        break;
    case IQL_STMT_CREATE_USER:
        rc = buf_append_str(b, "CREATE USER ") || qident(b, s->user.name) ||
             buf_append_str(b, " WITH PASSWORD [REDACTED]") ||
             (s->user.admin && buf_append_str(b, " WITH ALL PRIVILEGES"));
        break;
    case IQL_STMT_DROP_USER:
        rc = buf_append_str(b, "DROP USER ") || qident(b, s->user.name);
        break;
    case IQL_STMT_SET_PASSWORD:
        rc = buf_append_str(b, "SET PASSWORD FOR ") || qident(b, s->user.name) ||
             buf_append_str(b, " = [REDACTED]");
        break;
    case IQL_STMT_GRANT:
    case IQL_STMT_REVOKE: {
        bool g = s->kind == IQL_STMT_GRANT;
        if (s->user.admin)
            rc = buf_append_str(b, g ? "GRANT ALL PRIVILEGES TO " : "REVOKE ALL PRIVILEGES FROM ") ||
                 qident(b, s->user.name);
        else
            rc = buf_appendf(b, "%s %s ON ", g ? "GRANT" : "REVOKE", priv_name(s->user.priv)) ||
                 qident(b, s->user.db) || buf_append_str(b, g ? " TO " : " FROM ") ||
                 qident(b, s->user.name);
        break;
    }
    case IQL_STMT_KILL_QUERY:
        rc = buf_appendf(b, "KILL QUERY %llu", (unsigned long long)s->kill.qid);
        if (!rc && s->kill.host.n)
            rc = buf_append_str(b, " ON ") || qident(b, s->kill.host);
        break;
    case IQL_STMT_DROP_SHARD:
        rc = buf_appendf(b, "DROP SHARD %llu", (unsigned long long)s->kill.qid);
        break;
    case IQL_STMT_CREATE_CONTINUOUS_QUERY:
        rc = buf_append_str(b, "CREATE CONTINUOUS QUERY ") || qident(b, s->name) ||
             buf_append_str(b, " ON ") || qident(b, rp->db) || buf_append_char(b, ' ');
        if (!rc && (s->resample.every_ns > 0 || s->resample.for_ns > 0)) {
            rc = buf_append_str(b, "RESAMPLE ");
            if (!rc && s->resample.every_ns > 0)
                rc = buf_append_str(b, "EVERY ") || dur(b, s->resample.every_ns) ||
                     buf_append_char(b, ' ');
            if (!rc && s->resample.for_ns > 0)
                rc = buf_append_str(b, "FOR ") || dur(b, s->resample.for_ns) ||
                     buf_append_char(b, ' ');
        }
        if (!rc)
            rc = buf_append_str(b, "BEGIN ") || iql_render_select(b, s->select) ||
                 buf_append_str(b, " END");
        break;
    case IQL_STMT_CREATE_SUBSCRIPTION:
        rc = buf_append_str(b, "CREATE SUBSCRIPTION ") || qident(b, s->name) ||
             buf_append_str(b, " ON ") || qident(b, rp->db) || buf_append_char(b, '.') ||
             qident(b, rp->name) ||
             buf_append_str(b, s->sub.mode_any ? " DESTINATIONS ANY " : " DESTINATIONS ALL ");
        for (size_t i = 0; i < s->sub.ndests && !rc; i++)
            rc = (i ? buf_append(b, ", ", 2) : 0) || qstring(b, s->sub.dests[i]);
        break;
    case IQL_STMT_DROP_SUBSCRIPTION:
        rc = buf_append_str(b, "DROP SUBSCRIPTION ") || qident(b, s->name) ||
             buf_append_str(b, " ON ") || qident(b, rp->db) || buf_append_char(b, '.') ||
             qident(b, rp->name);
        break;
    case IQL_STMT_DROP_CONTINUOUS_QUERY:
        rc = buf_append_str(b, "DROP CONTINUOUS QUERY ") || qident(b, s->name) ||
             buf_append_str(b, " ON ") || qident(b, rp->db);
        break;
    }
    return rc ? ERR_LIMIT : 0;
}

int iql_render_query(struct buf *b, const struct iql_query *q)
{
    for (size_t i = 0; i < q->nstmts; i++) {
        if (i && buf_append(b, ";\n", 2))
            return ERR_LIMIT;
        int rc = iql_render_stmt(b, q->stmts[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- Required privileges ------------------------------------------------ */

struct privs {
    struct iql_privilege *out;
    size_t cap, n;
};

static void need(struct privs *pv, bool admin, enum iql_priv priv, struct sv db)
{
    if (pv->n < pv->cap)
        pv->out[pv->n] = (struct iql_privilege){ admin, priv, db };
    pv->n++;
}

static void source_privs(struct privs *pv, const struct iql_source *src, size_t n, int depth);

static void select_privs(struct privs *pv, const struct iql_select *s, int depth)
{
    source_privs(pv, s->sources, s->nsources, depth);
    if (s->into)
        need(pv, false, IQL_PRIV_WRITE, s->into->db);
}

static void source_privs(struct privs *pv, const struct iql_source *src, size_t n, int depth)
{
    for (size_t i = 0; i < n; i++) {
        if (src[i].kind == IQL_SRC_SUBQUERY) {
            if (depth < 1000)
                select_privs(pv, src[i].sub, depth + 1);
        } else {
            need(pv, false, IQL_PRIV_READ, src[i].m.db);
        }
    }
}

size_t iql_stmt_privileges(const struct iql_stmt *s, struct iql_privilege *out, size_t cap)
{
    struct privs pv = { out, cap, 0 };
    const struct sv none = sv_make("", 0);
    switch (s->kind) {
    case IQL_STMT_SELECT:
    case IQL_STMT_EXPLAIN:
        select_privs(&pv, s->select, 0);
        break;
    case IQL_STMT_SHOW_DATABASES:
        break;
    case IQL_STMT_SHOW_RETENTION_POLICIES:
    case IQL_STMT_SHOW_MEASUREMENTS:
    case IQL_STMT_SHOW_SERIES:
    case IQL_STMT_SHOW_TAG_KEYS:
    case IQL_STMT_SHOW_TAG_VALUES:
    case IQL_STMT_SHOW_FIELD_KEYS:
        need(&pv, false, IQL_PRIV_READ, s->show.db);
        break;
    case IQL_STMT_SHOW_SERIES_CARDINALITY:
    case IQL_STMT_SHOW_MEASUREMENT_CARDINALITY:
        if (!s->show.exact) {
            need(&pv, false, IQL_PRIV_READ, s->show.db);
            break;
        }
        /* fallthrough */
    case IQL_STMT_SHOW_TAG_KEY_CARDINALITY:
    case IQL_STMT_SHOW_TAG_VALUES_CARDINALITY:
    case IQL_STMT_SHOW_FIELD_KEY_CARDINALITY:
        source_privs(&pv, s->show.sources, s->show.nsources, 0);
        break;
    case IQL_STMT_SHOW_QUERIES:
    case IQL_STMT_SHOW_CONTINUOUS_QUERIES:
        need(&pv, false, IQL_PRIV_READ, none);
        break;
    case IQL_STMT_DELETE:
    case IQL_STMT_DROP_SERIES:
        need(&pv, false, IQL_PRIV_WRITE, none);
        break;
    case IQL_STMT_DROP_RETENTION_POLICY:
    case IQL_STMT_DROP_CONTINUOUS_QUERY:
        need(&pv, false, IQL_PRIV_WRITE, s->rp.db);
        break;
    case IQL_STMT_CREATE_CONTINUOUS_QUERY:
        need(&pv, false, IQL_PRIV_READ, s->rp.db);
        if (s->select->into && s->select->into->db.n)
            need(&pv, false, IQL_PRIV_WRITE, s->select->into->db);
        break;
    default:
        need(&pv, true, IQL_PRIV_ALL, none);
        break;
    }
    return pv.n;
}
