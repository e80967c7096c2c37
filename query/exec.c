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
    size_t chunk = r->p->chunk_rows ? r->p->chunk_rows : QX__DEFAULT_CHUNK_ROWS;
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

/* A trial (qx_params.is_trial) is over: the caller runs the query again. */
static int over_trial(struct qx__run *r)
{
    r->is_over_trial = true;
    return err_set(r->e, ERR_AGAIN, "too large for a trial");
}

int qx__check_time(struct qx__run *r)
{
    if (r->p->is_cancelled && __atomic_load_n(r->p->is_cancelled, __ATOMIC_ACQUIRE))
        return err_set(r->e, ERR_TIMEOUT, "query interrupted");
    if (r->is_over_trial ||
        (r->has_trial_deadline && mono_diff_ns(clk_mono(r->c->clock), r->trial_deadline) >= 0))
        return over_trial(r);
    /* The deadline is only set with a caller's clock (qx_run): the engine
     * never reads the real clock on its own. */
    if (!r->has_deadline || mono_diff_ns(clk_mono(r->c->clock), r->deadline) < 0)
        return 0;
    return err_set(r->e, ERR_TIMEOUT, "query-timeout limit exceeded");
}

int qx__count_series(struct qx__run *r)
{
    r->series++;
    if (r->p->is_trial && r->series > QX_TRIAL_MAX_SERIES)
        return over_trial(r);
    if (r->c->max_series && r->series > r->c->max_series)
        return err_set(r->e, ERR_LIMIT, "max-select-series limit exceeded: (%" PRIu64 "/%" PRIu64 ")",
                       r->series, r->c->max_series);
    return 0;
}

int qx__count_points(struct qx__run *r, uint64_t n)
{
    r->points += n;
    if (r->p->is_trial && r->points > QX_TRIAL_MAX_POINTS)
        return over_trial(r);
    if (r->c->max_points_scanned && r->points > r->c->max_points_scanned)
        return err_set(r->e, ERR_LIMIT, "max-select-point limit exceeed: (%" PRIu64 "/%" PRIu64 ")",
                       r->points, r->c->max_points_scanned);
    return 0;
}

struct sv qx__db(struct qx__run *r, struct sv explicit_db)
{
    return explicit_db.n ? explicit_db : r->p->db;
}

/* ---- GROUP BY /regex/ ---------------------------------------------------- */

struct names {
    struct arena *a;
    struct sv *v;
    size_t n, cap;
};

static int names_cb(void *arg, struct sv name)
{
    struct names *l = arg;
    for (size_t i = 0; i < l->n; i++)
        if (sv_eq(l->v[i], name))
            return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct sv *v = arena_alloc(l->a, cap * sizeof *v);
        if (l->n)
            memcpy(v, l->v, l->n * sizeof *v);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = arena_sv_dup(l->a, name);
    return 0;
}

/* influxd expands a regex dimension into the tag keys of the statement's
 * measurements that it matches (union over the sources).  *out is s, or a
 * copy with plain tag dimensions. */
static int expand_regex_dims(struct qx__run *r, const struct iql_select *s,
                             const struct iql_select **out)
{
    *out = s;
    bool any = false;
    for (size_t i = 0; i < s->ndims; i++) {
        const struct iql_expr *d = s->dims[i];
        while (d->kind == IQL_EXPR_PAREN)
            d = d->paren;
        any = any || d->kind == IQL_EXPR_REGEX;
    }
    if (!any)
        return 0;
    struct names keys = { .a = r->a };
    for (size_t i = 0; i < s->nsources; i++) {
        const struct iql_source *so = &s->sources[i];
        if (so->kind != IQL_SRC_MEASUREMENT)
            continue;
        struct sv db = qx__db(r, so->m.db), rp = so->m.rp.n ? so->m.rp : r->p->rp;
        struct names ms = { .a = r->a };
        if (so->m.is_regex) {
            struct qx__rx *rx;
            int rc = qx__rx_compile(r, so->m.regex, &rx);
            if (rc)
                return rc;
            struct names all = { .a = r->a };
            tsdb_list_measurements(r->c->db, db, rp, names_cb, &all, NULL);
            for (size_t j = 0; j < all.n; j++)
                if (qx__rx_match(rx, all.v[j]))
                    names_cb(&ms, all.v[j]);
        } else {
            names_cb(&ms, so->m.name);
        }
        for (size_t j = 0; j < ms.n; j++)
            tsdb_list_tag_keys(r->c->db, db, rp, ms.v[j], names_cb, &keys, NULL);
    }
    struct iql_expr **dims = arena_alloc(r->a, (s->ndims + keys.n + 1) * sizeof *dims);
    size_t nd = 0;
    for (size_t i = 0; i < s->ndims; i++) {
        const struct iql_expr *d = s->dims[i];
        while (d->kind == IQL_EXPR_PAREN)
            d = d->paren;
        if (d->kind != IQL_EXPR_REGEX) {
            dims[nd++] = s->dims[i];
            continue;
        }
        struct qx__rx *rx;
        int rc = qx__rx_compile(r, d->str, &rx);
        if (rc)
            return rc;
        for (size_t k = 0; k < keys.n; k++) {
            if (!qx__rx_match(rx, keys.v[k]))
                continue;
            struct iql_expr *x = arena_calloc(r->a, sizeof *x);
            x->kind = IQL_EXPR_VARREF;
            x->ref.name = keys.v[k];
            dims[nd++] = x;
        }
    }
    struct iql_select *c = arena_alloc(r->a, sizeof *c);
    *c = *s;
    c->dims = dims;
    c->ndims = nd;
    *out = c;
    return 0;
}

/* ---- the driver ------------------------------------------------------------ */

int qx__exec_meta(struct qx__run *r, const struct iql_stmt *s);

struct rp_find {
    struct arena *a;
    struct sv db, rp;
};

static int rp_find_cb(void *arg, const struct tsdb_db_info *d)
{
    struct rp_find *f = arg;
    if (!sv_eq(d->name, f->db))
        return 0;
    for (size_t i = 0; i < d->nrps; i++)
        if (d->rps[i].is_default)
            f->rp = arena_sv_dup(f->a, d->rps[i].name);
    return 0;
}

/* The default retention policy's name of db (empty when db is unknown). */
static struct sv default_rp(struct qx__run *r, struct sv db)
{
    struct rp_find f = { .a = r->a, .db = db };
    if (db.n)
        tsdb_list_databases(r->c->db, rp_find_cb, &f);
    return f.rp;
}

/* s as influxd renders it in its read-only warning: sources and the INTO
 * target with their database and retention policy filled in. */
static const struct iql_stmt *normalized(struct qx__run *r, const struct iql_stmt *s)
{
    if (s->kind != IQL_STMT_SELECT || !s->select->into || !r->c->db)
        return s;
    const struct iql_select *sel = s->select;
    struct iql_select *c = arena_alloc(r->a, sizeof *c);
    *c = *sel;
    struct iql_source *src = arena_alloc(r->a, (sel->nsources ? sel->nsources : 1) * sizeof *src);
    for (size_t i = 0; i < sel->nsources; i++) {
        src[i] = sel->sources[i];
        if (src[i].kind != IQL_SRC_MEASUREMENT)
            continue;
        if (!src[i].m.db.n)
            src[i].m.db = r->p->db;
        if (!src[i].m.rp.n)
            src[i].m.rp = r->p->rp.n ? r->p->rp : default_rp(r, src[i].m.db);
    }
    c->sources = src;
    struct iql_measurement *into = arena_alloc(r->a, sizeof *into);
    *into = *sel->into;
    if (!into->db.n)
        into->db = r->p->db;
    if (!into->rp.n)
        into->rp = default_rp(r, into->db);
    c->into = into;
    struct iql_stmt *n = arena_alloc(r->a, sizeof *n);
    *n = *s;
    n->select = c;
    return n;
}

static bool is_mutating(const struct iql_stmt *s)
{
    if (s->kind == IQL_STMT_SELECT)
        return s->select && s->select->into;
    switch (s->kind) {
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

static int exec_select_stmt(struct qx__run *r, const struct iql_select *sel)
{
    for (size_t i = 0; i < sel->nsources; i++)
        if (sel->sources[i].kind == IQL_SRC_SUBQUERY)
            return qx__exec_subquery(r, sel, exec_select_stmt);
    int rc = expand_regex_dims(r, sel, &sel);
    if (rc)
        return rc;
    if (!sel->is_raw) {
        bool handled;
        rc = qx__summary_select(r, sel, &handled);
        if (handled)
            return rc;
    }
    return qx__exec_select(r, sel);
}

static int exec_stmt(struct qx__run *r, const struct iql_stmt *s)
{
    if (!r->c->db)
        return err_set(r->e, ERR_UNSUPPORTED, "storage is not open");
    if (s->kind == IQL_STMT_SELECT) {
        r->tz_name = s->select->tz;
        /* influxd checks the WHERE clause before anything else it reports
         * as a statement error. */
        int64_t min, max;
        int crc = qx__time_range(r, s->select->cond, &min, &max);
        if (crc)
            return crc;
        if (r->p->is_trial) {
            /* A raw read of one series is not interruptible: bound it. */
            int64_t hi = max < r->p->now_ns ? max : r->p->now_ns;
            if (min == INT64_MIN ||
                (hi > min && (uint64_t)hi - (uint64_t)min > (uint64_t)QX_TRIAL_MAX_SPAN_NS))
                return over_trial(r);
        }
        if (s->select->into)
            return qx__exec_into(r, s->select, exec_select_stmt);
        return exec_select_stmt(r, s->select);
    }
    return qx__exec_meta(r, s);
}

/* Statements a trial may run: read-only, and small or bounded by the
 * trial's checks (qx_run's comment). */
static bool is_trial_kind(const struct iql_stmt *s)
{
    if (s->kind == IQL_STMT_SELECT)
        return s->select && !s->select->into;
    return s->kind == IQL_STMT_SHOW_DATABASES || s->kind == IQL_STMT_SHOW_RETENTION_POLICIES;
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
    for (size_t i = 0; p->is_trial && i < query->nstmts; i++) {
        if (!is_trial_kind(query->stmts[i])) {
            arena_fini(&qa);
            return ERR_AGAIN;
        }
    }
    /* One deadline for the whole query, from the caller's clock. */
    bool has_deadline = c->timeout_ns > 0 && c->clock;
    struct mono_ns deadline = { 0 }, trial_deadline = { 0 };
    if (has_deadline)
        deadline = mono_add_ns(clk_mono(c->clock), c->timeout_ns);
    /* A trial reads on the caller's thread alone (no helper thread). */
    struct qx_ctx trial_ctx;
    if (p->is_trial) {
        trial_ctx = *c;
        trial_ctx.read_threads = 1;
        c = &trial_ctx;
    }
    bool has_trial_deadline = p->is_trial && c->clock;
    if (has_trial_deadline)
        trial_deadline = mono_add_ns(clk_mono(c->clock), QX_TRIAL_BUDGET_NS);
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
            .trial_deadline = trial_deadline, .has_trial_deadline = has_trial_deadline,
        };
        rc = exec_stmt(&r, s);
        if (r.is_over_trial) {
            result = ERR_AGAIN;
            arena_fini(&sa);
            break;
        }
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
        } else if (p->is_read_only && is_mutating(s)) {
            /* 1.6 runs it anyway and warns, quoting the normalised text. */
            int wr = buf_append_str(&mb, "deprecated use of '");
            wr = wr ? wr : iql_render_stmt(&mb, normalized(&r, s));
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
