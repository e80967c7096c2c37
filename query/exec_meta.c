// SPDX-License-Identifier: MIT
/*
 * Meta statements (SHOW ..., CREATE DATABASE, CREATE RETENTION POLICY) over
 * the tsdb catalog and index, with the result shapes of influxd 1.6
 * (spec influx-compat §5.11, each checked against a running influxd):
 * column names, which series are named, omitted empty series, the quirky
 * "unknown database is empty for SHOW MEASUREMENTS but an error for SHOW TAG
 * KEYS", LIMIT/OFFSET per measurement for TAG KEYS/VALUES.
 *
 * WHERE clauses on tags (and time, per series) are answered by scanning the
 * series of a snapshot: tsdb's listings have no predicates.  SHOW TAG KEYS
 * and TAG VALUES copy 1.6's in-memory index instead: time only decides
 * whether any shard group of the database holds data in the range (then
 * every series counts, else none; any_shard_in_range).  In a chunked
 * answer, the statements 1.6's statement executor answers itself (SHOW
 * DATABASES, RETENTION POLICIES, MEASUREMENTS, TAG KEYS, TAG VALUES) send
 * whole series (emit_whole).  DROP DATABASE,
 * DROP / ALTER RETENTION POLICY call tsdb's catalog functions; DROP
 * MEASUREMENT, DROP SERIES and DELETE are in exec_delete.c.  Statements
 * without an implementation (users) return a per-statement error naming
 * what is missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/exec_int.h"

/* ---- small arena vectors ------------------------------------------------- */

struct svec {
    struct sv *v;
    size_t n, cap;
};

static void svec_push(struct arena *a, struct svec *s, struct sv x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct sv *nv = arena_alloc(a, cap * sizeof *nv);
        if (s->n)
            memcpy(nv, s->v, s->n * sizeof *nv);
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = arena_sv_dup(a, x);
}

static int sv_cmp(struct sv a, struct sv b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int k = n ? memcmp(a.p, b.p, n) : 0;
    return k ? k : a.n < b.n ? -1 : a.n > b.n;
}

static int sv_qcmp(const void *a, const void *b)
{
    return sv_cmp(*(const struct sv *)a, *(const struct sv *)b);
}

/* Sorts and removes duplicates. */
static void svec_sort_uniq(struct svec *s)
{
    if (s->n < 2)
        return;
    qsort(s->v, s->n, sizeof *s->v, sv_qcmp);
    size_t o = 1;
    for (size_t i = 1; i < s->n; i++)
        if (sv_cmp(s->v[i], s->v[o - 1]) != 0)
            s->v[o++] = s->v[i];
    s->n = o;
}

struct push_arg {
    struct arena *a;
    struct svec *s;
};

static int push_name(void *arg, struct sv name)
{
    struct push_arg *p = arg;
    svec_push(p->a, p->s, name);
    return 0;
}

/* ---- databases and sources ---------------------------------------------- */

/* Checks that db (and rp) exist, with influxd's texts. */
static int need_db(struct qx__run *r, struct sv db, struct sv rp)
{
    if (!db.n)
        return err_set(r->e, ERR_INVAL, "database name required");
    struct tsdb_rp_info info;
    struct err te;
    if (tsdb_find_rp(r->c->db, db, SV_NULL, &info, &te) < 0)
        return err_set(r->e, ERR_NOTFOUND, "database not found: %.*s", SV_FMT(db));
    if (rp.n && tsdb_find_rp(r->c->db, db, rp, &info, &te) < 0)
        return err_set(r->e, ERR_NOTFOUND, "retention policy not found: %.*s", SV_FMT(rp));
    return 0;
}

/* The measurements named by sources (all when none), sorted.  db/rp are
 * taken from the first source that names them. */
static int select_measurements(struct qx__run *r, const struct iql_source *src, size_t nsrc,
                               struct sv db, struct sv rp, struct svec *out)
{
    struct svec all = { 0 };
    struct push_arg pa = { r->a, &all };
    int rc = tsdb_list_measurements(r->c->db, db, rp, push_name, &pa, NULL);
    if (rc < 0)
        return rc;
    if (nsrc == 0) {
        *out = all;
        return 0;
    }
    for (size_t i = 0; i < nsrc; i++) {
        if (src[i].kind != IQL_SRC_MEASUREMENT)
            return err_set(r->e, ERR_UNSUPPORTED, "subqueries are not supported here");
        const struct iql_measurement *m = &src[i].m;
        if (m->is_regex) {
            struct qx__rx *rx;
            rc = qx__rx_compile(r, m->regex, &rx);
            if (rc)
                return rc;
            for (size_t j = 0; j < all.n; j++)
                if (qx__rx_match(rx, all.v[j]))
                    svec_push(r->a, out, all.v[j]);
        } else {
            for (size_t j = 0; j < all.n; j++)
                if (sv_eq(all.v[j], m->name))
                    svec_push(r->a, out, m->name);
        }
    }
    svec_sort_uniq(out);
    return 0;
}

static void source_db_rp(struct qx__run *r, const struct iql_source *src, size_t nsrc,
                         struct sv show_db, struct sv *db, struct sv *rp)
{
    *db = qx__db(r, show_db);
    *rp = r->p->rp;
    for (size_t i = 0; i < nsrc; i++) {
        if (src[i].kind != IQL_SRC_MEASUREMENT)
            continue;
        if (src[i].m.db.n)
            *db = src[i].m.db;
        if (src[i].m.rp.n)
            *rp = src[i].m.rp;
        break;
    }
}

/* ---- series scans for WHERE ------------------------------------------------ */

static int any_series(void *arg, const struct tsdb_series_info *s, size_t nfields,
                      const struct tsdb_field_points *fields)
{
    (void)s;
    (void)nfields;
    (void)fields;
    *(bool *)arg = true;
    return 1; /* stop: one is enough */
}

typedef int (*series_visit_cb)(void *arg, const struct tsdb_series_info *s, size_t nfields,
                               const struct tsdb_field_points *fields);

struct scan_arg {
    struct qx__run *r;
    const struct qx__cond *cond;
    series_visit_cb visit;
    void *arg;
    uint64_t nseries;
};

static int scan_cb(void *arg, const struct tsdb_series_info *s, size_t nfields,
                   const struct tsdb_field_points *fields)
{
    struct scan_arg *sa = arg;
    struct qx__row_env env = { .tags = s->tags, .ntags = s->ntags };
    if (!qx__cond_eval(sa->cond, &env))
        return 0;
    if (sa->r->c->max_series && ++sa->nseries > sa->r->c->max_series)
        return err_set(sa->r->e, ERR_LIMIT,
                       "max-select-series limit exceeded: more than %llu series (query.max_series)",
                       (unsigned long long)sa->r->c->max_series);
    int rc = qx__check_time(sa->r);
    return rc ? rc : sa->visit(sa->arg, s, nfields, fields);
}

/* Calls visit for each series of measurement m that matches cond's tag
 * part and has a point in cond's time range (any point when !use_time). */
static int scan_series_t(struct qx__run *r, struct tsdb_snapshot *snap, struct sv db,
                         struct sv rp, struct sv m, const struct iql_expr *cond_expr,
                         bool use_time, series_visit_cb visit, void *arg)
{
    int64_t min = INT64_MIN, max = INT64_MAX;
    int rc = use_time ? qx__time_range(r, cond_expr, &min, &max) : 0;
    struct qx__cond cond;
    rc = rc ? rc : qx__cond_prepare(r, cond_expr, &cond);
    if (rc)
        return rc;
    struct scan_arg sa = { r, &cond, visit, arg, 0 };
    struct err te;
    rc = tsdb_snapshot_scan(snap, db, rp, m, min, max, scan_cb, &sa, &te);
    return rc == ERR_NOTFOUND ? 0 : rc;
}

static int scan_series(struct qx__run *r, struct tsdb_snapshot *snap, struct sv db, struct sv rp,
                       struct sv m, const struct iql_expr *cond_expr, series_visit_cb visit,
                       void *arg)
{
    return scan_series_t(r, snap, db, rp, m, cond_expr, true, visit, arg);
}

/* ---- time in SHOW TAG KEYS / TAG VALUES ------------------------------------ */

/* Seconds from Go's zero time (0001-01-01T00:00:00Z) to the Unix epoch. */
#define GO_ZERO_TO_UNIX_S INT64_C(62135596800)
#define WEEK_NS INT64_C(604800000000000)

int64_t qx__shard_group_start(int64_t t, int64_t d)
{
    int64_t off = (int64_t)(((__int128)GO_ZERO_TO_UNIX_S * 1000000000) % d);
    int64_t m = t % d;
    if (m < 0)
        m += d;
    m = (int64_t)(((__int128)m + off) % d);
    return t < INT64_MIN + m ? INT64_MIN : t - m;
}

struct rp_list {
    struct qx__run *r;
    struct sv db;
    struct sv *names;
    int64_t *shard_ns;
    size_t n;
};

static int rp_list_cb(void *arg, const struct tsdb_db_info *d)
{
    struct rp_list *x = arg;
    if (!sv_eq(d->name, x->db))
        return 0;
    x->names = arena_alloc(x->r->a, (d->nrps ? d->nrps : 1) * sizeof *x->names);
    x->shard_ns = arena_alloc(x->r->a, (d->nrps ? d->nrps : 1) * sizeof *x->shard_ns);
    for (size_t i = 0; i < d->nrps; i++) {
        x->names[i] = arena_sv_dup(x->r->a, d->rps[i].name);
        x->shard_ns[i] = d->rps[i].shard_duration_ns > 0 ? d->rps[i].shard_duration_ns : WEEK_NS;
    }
    x->n = d->nrps;
    return 1;
}

/* SHOW TAG KEYS / TAG VALUES with a time condition, as influxd 1.6 with its
 * (default) in-memory index answers them: the time range only selects
 * shard groups, of every retention policy of db; when at least one holds
 * data, the answer covers every series of the database's index (time is
 * ignored), otherwise it is empty.  Sets *has_data accordingly. */
static int any_shard_in_range(struct qx__run *r, struct tsdb_snapshot *snap, struct sv db,
                              const struct iql_expr *cond, bool *has_data)
{
    int64_t min, max;
    int rc = qx__time_range(r, cond, &min, &max);
    if (rc)
        return rc;
    struct rp_list x = { .r = r, .db = db };
    rc = tsdb_list_databases(r->c->db, rp_list_cb, &x);
    if (rc < 0)
        return err_set(r->e, rc, "cannot list retention policies: %s", err_str(rc));
    *has_data = false;
    for (size_t i = 0; i < x.n && !*has_data; i++) {
        int64_t d = x.shard_ns[i];
        int64_t lo = min == INT64_MIN ? min : qx__shard_group_start(min, d);
        int64_t hi = max;
        if (max != INT64_MAX) {
            hi = qx__shard_group_start(max, d);
            hi = hi > INT64_MAX - d ? INT64_MAX : hi + d - 1;
        }
        if (lo > hi)
            continue;
        struct err te;
        rc = tsdb_snapshot_scan(snap, db, x.names[i], SV_NULL, lo, hi, any_series, has_data, &te);
        if (rc < 0 && rc != ERR_NOTFOUND)
            return err_set(r->e, rc, "%s", te.msg);
    }
    return 0;
}

/* ---- emit helpers ---------------------------------------------------------- */

static struct qx_value vstr(struct sv s)
{
    return (struct qx_value){ .kind = QX_STRING, .s = s };
}

static struct qx_value vint(int64_t i)
{
    return (struct qx_value){ .kind = QX_INT, .i = i };
}

/* Emits a series that 1.6 sends whole (struct qx_series.is_whole): the
 * statements its statement executor answers itself rather than through a
 * rewritten SELECT. */
static int emit_whole(struct qx__run *r, struct sv name, const struct sv *cols, size_t ncols,
                      const struct qx_value *vals, size_t nrows)
{
    struct qx_series s = {
        .name = name, .columns = cols, .ncolumns = ncols, .values = vals, .nrows = nrows,
        .is_whole = true,
    };
    int rc = r->out->series(r->out, r->stmt_id, &s);
    if (rc) {
        r->sink_rc = rc;
        return ERR_CLOSED;
    }
    return 0;
}

/* One column of strings, rows [offset, offset+limit); whole: see emit_whole. */
static int emit_names(struct qx__run *r, struct sv name, const char *col, const struct svec *v,
                      int64_t limit, int64_t offset, bool even_if_empty, bool whole)
{
    size_t from = (size_t)offset < v->n ? (size_t)offset : v->n;
    size_t n = v->n - from;
    if (limit > 0 && (size_t)limit < n)
        n = (size_t)limit;
    if (n == 0 && !even_if_empty)
        return 0;
    struct qx_value *vals = arena_alloc(r->a, (n ? n : 1) * sizeof *vals);
    for (size_t i = 0; i < n; i++)
        vals[i] = vstr(v->v[from + i]);
    struct sv c = sv_cstr(col);
    return whole ? emit_whole(r, name, &c, 1, vals, n) : qx__emit(r, name, NULL, 0, &c, 1, vals, n);
}

/* ---- SHOW DATABASES / RETENTION POLICIES -------------------------------- */

static int db_names_cb(void *arg, const struct tsdb_db_info *d)
{
    push_name(arg, d->name);
    return 0;
}

static int show_databases(struct qx__run *r)
{
    struct svec v = { 0 };
    struct push_arg pa = { r->a, &v };
    tsdb_list_databases(r->c->db, db_names_cb, &pa);
    return emit_names(r, SV_LIT("databases"), "name", &v, 0, 0, true, true);
}

struct rp_rows {
    struct qx__run *r;
    struct sv db;
    bool found;
    struct qx_value *vals;
    size_t nrows;
    struct buf text;
};

static int rp_cb(void *arg, const struct tsdb_db_info *d)
{
    struct rp_rows *x = arg;
    if (!sv_eq(d->name, x->db))
        return 0;
    x->found = true;
    x->vals = arena_alloc(x->r->a, (d->nrps ? d->nrps : 1) * 5 * sizeof *x->vals);
    for (size_t i = 0; i < d->nrps; i++) {
        const struct tsdb_rp_info *p = &d->rps[i];
        struct qx_value *row = x->vals + i * 5;
        struct buf b;
        buf_init(&b, 0);
        int64_t dur = p->duration_ns == TSDB_DURATION_INF ? 0 : p->duration_ns;
        if (qx_append_go_duration(&b, dur) || buf_append_char(&b, '\0') ||
            qx_append_go_duration(&b, p->shard_duration_ns)) {
            buf_fini(&b);
            return ERR_NOMEM;
        }
        char *t = arena_strndup(x->r->a, b.p, b.len);
        size_t n1 = strlen(t);
        row[0] = vstr(arena_sv_dup(x->r->a, p->name));
        row[1] = vstr(sv_make(t, n1));
        row[2] = vstr(sv_make(t + n1 + 1, b.len - n1 - 1));
        row[3] = (struct qx_value){ .kind = QX_GOINT, .i = p->replication ? p->replication : 1 };
        row[4] = (struct qx_value){ .kind = QX_BOOL, .b = p->is_default };
        buf_fini(&b);
    }
    x->nrows = d->nrps;
    return 1;
}

static int show_retention_policies(struct qx__run *r, const struct iql_stmt *s)
{
    struct sv db = qx__db(r, s->show.db);
    if (!db.n)
        return err_set(r->e, ERR_INVAL, "database name required");
    struct rp_rows x = { .r = r, .db = db };
    int rc = tsdb_list_databases(r->c->db, rp_cb, &x);
    if (rc < 0)
        return err_set(r->e, rc, "cannot list retention policies: %s", err_str(rc));
    if (!x.found)
        return err_set(r->e, ERR_NOTFOUND, "database not found: %.*s", SV_FMT(db));
    static const struct sv cols[] = { SV_LIT("name"), SV_LIT("duration"),
                                      SV_LIT("shardGroupDuration"), SV_LIT("replicaN"),
                                      SV_LIT("default") };
    return emit_whole(r, SV_NULL, cols, 5, x.vals, x.nrows);
}

/* ---- SHOW CONTINUOUS QUERIES ------------------------------------------------ */

/* Continuous queries do not exist here: 1.6's answer without any is one
 * series per database (creation order) with columns and no values.  In a
 * chunked answer 1.6 sends them all in one document; here each is its own
 * (whole) document. */
static int show_continuous_queries(struct qx__run *r)
{
    struct svec v = { 0 };
    struct push_arg pa = { r->a, &v };
    tsdb_list_databases(r->c->db, db_names_cb, &pa);
    static const struct sv cols[] = { SV_LIT("name"), SV_LIT("query") };
    int rc = 0;
    for (size_t i = 0; i < v.n && rc == 0; i++)
        rc = qx__emit(r, v.v[i], NULL, 0, cols, 2, NULL, 0);
    return rc;
}

/* ---- SHOW MEASUREMENTS --------------------------------------------------- */

static int show_measurements(struct qx__run *r, const struct iql_stmt *s)
{
    struct sv db = qx__db(r, s->show.db), rp = r->p->rp;
    if (!db.n)
        return err_set(r->e, ERR_INVAL, "database name required");
    if (qx__cond_has_time(s->show.cond))
        return err_set(r->e, ERR_INVAL, "SHOW MEASUREMENTS doesn't support time in WHERE clause");
    struct svec names = { 0 };
    int rc = select_measurements(r, s->show.with_measurement, s->show.with_measurement ? 1 : 0,
                                 db, rp, &names);
    if (rc == ERR_NOTFOUND)
        return 0; /* 1.6: an unknown database lists nothing, no error */
    if (rc)
        return rc;
    if (s->show.cond) {
        struct tsdb_snapshot *snap = tsdb_snapshot_new(r->c->db);
        struct svec kept = { 0 };
        for (size_t i = 0; i < names.n && rc >= 0; i++) {
            bool found = false;
            rc = scan_series(r, snap, db, rp, names.v[i], s->show.cond, any_series, &found);
            if (rc >= 0 && found)
                svec_push(r->a, &kept, names.v[i]);
        }
        tsdb_snapshot_free(&snap);
        if (rc < 0)
            return rc;
        names = kept;
    }
    return emit_names(r, SV_LIT("measurements"), "name", &names, s->show.limit, s->show.offset,
                      false, true);
}

/* ---- SHOW TAG KEYS / TAG VALUES / SERIES (with optional WHERE) ----------- */

struct tag_collect {
    struct qx__run *r;
    struct svec *keys;   /* tag keys seen */
    struct svec *pairs;  /* key\0value of tags seen (TAG VALUES) */
    struct svec *series; /* series keys (SHOW SERIES) */
    uint64_t count;
};

static int collect_tags(void *arg, const struct tsdb_series_info *s, size_t nfields,
                        const struct tsdb_field_points *fields)
{
    (void)nfields;
    (void)fields;
    struct tag_collect *t = arg;
    t->count++;
    for (size_t i = 0; i < s->ntags; i++) {
        if (t->keys)
            svec_push(t->r->a, t->keys, s->tags[i].key);
        if (t->pairs) {
            size_t n = s->tags[i].key.n + 1 + s->tags[i].value.n;
            char *p = arena_alloc(t->r->a, n + 1);
            memcpy(p, s->tags[i].key.p, s->tags[i].key.n);
            p[s->tags[i].key.n] = '\0';
            memcpy(p + s->tags[i].key.n + 1, s->tags[i].value.p, s->tags[i].value.n);
            p[n] = '\0';
            svec_push(t->r->a, t->pairs, sv_make(p, n));
        }
    }
    if (t->series)
        svec_push(t->r->a, t->series, s->key);
    return 0;
}

static int meta_prepare(struct qx__run *r, const struct iql_stmt *s, struct sv *db, struct sv *rp,
                        struct svec *meas)
{
    source_db_rp(r, s->show.sources, s->show.nsources, s->show.db, db, rp);
    int rc = need_db(r, *db, *rp);
    if (rc)
        return rc;
    memset(meas, 0, sizeof *meas);
    rc = select_measurements(r, s->show.sources, s->show.nsources, *db, *rp, meas);
    if (rc == ERR_NOTFOUND)
        return 0;
    return rc;
}

static int show_tag_keys(struct qx__run *r, const struct iql_stmt *s)
{
    struct sv db, rp;
    struct svec meas;
    int rc = meta_prepare(r, s, &db, &rp, &meas);
    if (rc)
        return rc;
    struct tsdb_snapshot *snap = s->show.cond ? tsdb_snapshot_new(r->c->db) : NULL;
    if (snap && qx__cond_has_time(s->show.cond)) {
        bool has_data = false;
        rc = any_shard_in_range(r, snap, db, s->show.cond, &has_data);
        if (rc || !has_data)
            meas.n = 0;
    }
    for (size_t i = 0; i < meas.n && rc >= 0; i++) {
        struct svec keys = { 0 };
        if (snap) {
            struct tag_collect tc = { .r = r, .keys = &keys };
            rc = scan_series_t(r, snap, db, rp, meas.v[i], s->show.cond, false, collect_tags,
                               &tc);
            svec_sort_uniq(&keys);
        } else {
            struct push_arg pa = { r->a, &keys };
            rc = tsdb_list_tag_keys(r->c->db, db, rp, meas.v[i], push_name, &pa, NULL);
            if (rc == ERR_NOTFOUND)
                rc = 0;
        }
        if (rc >= 0)
            rc = emit_names(r, meas.v[i], "tagKey", &keys, s->show.limit, s->show.offset, false,
                            true);
    }
    tsdb_snapshot_free(&snap);
    return rc;
}

static bool key_selected(struct qx__run *r, const struct iql_stmt *s, const struct qx__rx *rx,
                         struct sv key)
{
    (void)r;
    const struct iql_expr *x = s->show.key_expr;
    switch (s->show.key_op) {
    case IQL_OP_EQ:
        return x->kind == IQL_EXPR_STRING || x->kind == IQL_EXPR_VARREF
                   ? sv_eq(key, x->kind == IQL_EXPR_STRING ? x->str : x->ref.name)
                   : false;
    case IQL_OP_NEQ:
        return !sv_eq(key, x->kind == IQL_EXPR_STRING ? x->str : x->ref.name);
    case IQL_OP_EQREGEX:
        return rx && qx__rx_match(rx, key);
    case IQL_OP_NEQREGEX:
        return rx && !qx__rx_match(rx, key);
    case IQL_OP_IN:
        for (size_t i = 0; x->kind == IQL_EXPR_LIST && i < x->list.n; i++)
            if (sv_eq(key, x->list.vals[i]))
                return true;
        return false;
    default:
        return false;
    }
}

static int show_tag_values(struct qx__run *r, const struct iql_stmt *s)
{
    struct sv db, rp;
    struct svec meas;
    int rc = meta_prepare(r, s, &db, &rp, &meas);
    if (rc)
        return rc;
    struct qx__rx *rx = NULL;
    if (s->show.key_expr && s->show.key_expr->kind == IQL_EXPR_REGEX) {
        rc = qx__rx_compile(r, s->show.key_expr->str, &rx);
        if (rc)
            return rc;
    }
    static const struct sv cols[] = { SV_LIT("key"), SV_LIT("value") };
    struct tsdb_snapshot *snap = s->show.cond ? tsdb_snapshot_new(r->c->db) : NULL;
    if (snap && qx__cond_has_time(s->show.cond)) {
        bool has_data = false;
        rc = any_shard_in_range(r, snap, db, s->show.cond, &has_data);
        if (rc || !has_data)
            meas.n = 0;
    }
    for (size_t i = 0; i < meas.n && rc >= 0; i++) {
        struct svec pairs = { 0 };
        if (snap) {
            struct tag_collect tc = { .r = r, .pairs = &pairs };
            rc = scan_series_t(r, snap, db, rp, meas.v[i], s->show.cond, false, collect_tags,
                               &tc);
            svec_sort_uniq(&pairs); /* key\0value sorts by key, then value */
        } else {
            struct svec keys = { 0 };
            struct push_arg pa = { r->a, &keys };
            rc = tsdb_list_tag_keys(r->c->db, db, rp, meas.v[i], push_name, &pa, NULL);
            for (size_t k = 0; rc >= 0 && k < keys.n; k++) {
                if (!key_selected(r, s, rx, keys.v[k]))
                    continue;
                struct svec vals = { 0 };
                struct push_arg pv = { r->a, &vals };
                rc = tsdb_list_tag_values(r->c->db, db, rp, meas.v[i], keys.v[k], push_name, &pv,
                                          NULL);
                for (size_t j = 0; rc >= 0 && j < vals.n; j++) {
                    size_t n = keys.v[k].n + 1 + vals.v[j].n;
                    char *p = arena_alloc(r->a, n + 1);
                    memcpy(p, keys.v[k].p, keys.v[k].n);
                    p[keys.v[k].n] = '\0';
                    memcpy(p + keys.v[k].n + 1, vals.v[j].p, vals.v[j].n);
                    p[n] = '\0';
                    svec_push(r->a, &pairs, sv_make(p, n));
                }
            }
            if (rc == ERR_NOTFOUND)
                rc = 0;
        }
        if (rc < 0)
            break;
        /* Keep the selected keys, then apply OFFSET/LIMIT per measurement. */
        struct qx_value *vals = arena_alloc(r->a, (pairs.n ? pairs.n : 1) * 2 * sizeof *vals);
        size_t n = 0, skipped = 0;
        for (size_t j = 0; j < pairs.n; j++) {
            struct sv key = sv_make(pairs.v[j].p, strlen(pairs.v[j].p));
            if (snap && !key_selected(r, s, rx, key))
                continue;
            if (skipped < (size_t)s->show.offset) {
                skipped++;
                continue;
            }
            if (s->show.limit > 0 && n == (size_t)s->show.limit)
                break;
            vals[2 * n] = vstr(key);
            vals[2 * n + 1] = vstr(sv_make(pairs.v[j].p + key.n + 1, pairs.v[j].n - key.n - 1));
            n++;
        }
        if (n)
            rc = emit_whole(r, meas.v[i], cols, 2, vals, n);
    }
    tsdb_snapshot_free(&snap);
    return rc;
}

/* SHOW SERIES EXACT CARDINALITY (and with FROM or WHERE): influxd 1.6
 * sums per shard, so a series with points in two shard groups counts
 * twice (observed).  Shard groups are the retention policy's shard
 * duration, aligned as qx__shard_group_start() says. */
struct shard_count {
    struct qx__run *r;
    int64_t shard_ns;
    int64_t count;
};

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int count_shards(void *arg, const struct tsdb_series_info *s, size_t nfields,
                        const struct tsdb_field_points *fields)
{
    (void)s;
    struct shard_count *c = arg;
    size_t n = 0;
    for (size_t f = 0; f < nfields; f++)
        n += fields[f].n;
    int64_t *g = malloc((n ? n : 1) * sizeof *g);
    if (!g)
        return err_set(c->r->e, ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t f = 0; f < nfields; f++) {
        for (size_t i = 0; i < fields[f].n; i++) {
            g[k++] = qx__shard_group_start(fields[f].ts_ns[i], c->shard_ns);
        }
    }
    qsort(g, k, sizeof *g, i64_cmp);
    for (size_t i = 0; i < k; i++)
        if (i == 0 || g[i] != g[i - 1])
            c->count++;
    free(g);
    return 0;
}

static int show_series_exact_cardinality(struct qx__run *r, const struct iql_stmt *s,
                                         struct sv db, struct sv rp, const struct svec *meas)
{
    struct tsdb_rp_info info;
    struct err te;
    int rc = tsdb_find_rp(r->c->db, db, rp, &info, &te);
    if (rc < 0)
        return err_set(r->e, rc, "%s", te.msg);
    struct sv col = SV_LIT("count");
    struct tsdb_snapshot *snap = tsdb_snapshot_new(r->c->db);
    for (size_t i = 0; i < meas->n && rc >= 0; i++) {
        struct shard_count c = { r, info.shard_duration_ns > 0 ? info.shard_duration_ns : WEEK_NS,
                                 0 };
        rc = scan_series(r, snap, db, rp, meas->v[i], s->show.cond, count_shards, &c);
        struct qx_value v = vint(c.count);
        if (rc >= 0 && c.count)
            rc = qx__emit(r, meas->v[i], NULL, 0, &col, 1, &v, 1);
    }
    tsdb_snapshot_free(&snap);
    return rc < 0 ? rc : 0;
}

static int show_series(struct qx__run *r, const struct iql_stmt *s)
{
    struct sv db, rp;
    struct svec meas;
    int rc = meta_prepare(r, s, &db, &rp, &meas);
    if (rc)
        return rc;
    struct svec keys = { 0 };
    struct tag_collect tc = { .r = r, .series = &keys };
    struct tsdb_snapshot *snap = tsdb_snapshot_new(r->c->db);
    for (size_t i = 0; i < meas.n && rc >= 0; i++)
        rc = scan_series(r, snap, db, rp, meas.v[i], s->show.cond, collect_tags, &tc);
    tsdb_snapshot_free(&snap);
    if (rc < 0)
        return rc;
    if (s->kind == IQL_STMT_SHOW_SERIES_CARDINALITY) {
        if (s->show.exact || s->show.nsources || s->show.cond)
            return show_series_exact_cardinality(r, s, db, rp, &meas);
        struct qx_value v = vint((int64_t)keys.n);
        struct sv col = SV_LIT("cardinality estimation");
        return qx__emit(r, SV_NULL, NULL, 0, &col, 1, &v, 1);
    }
    svec_sort_uniq(&keys);
    return emit_names(r, SV_NULL, "key", &keys, s->show.limit, s->show.offset, false, false);
}

/* ---- SHOW FIELD KEYS ---------------------------------------------------------- */

struct field_rows {
    struct qx__run *r;
    struct qx_value *vals;
    size_t n, cap;
};

static int field_cb(void *arg, struct sv key, enum tsdb_type type)
{
    struct field_rows *f = arg;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        struct qx_value *nv = arena_alloc(f->r->a, cap * 2 * sizeof *nv);
        if (f->n)
            memcpy(nv, f->vals, f->n * 2 * sizeof *nv);
        f->vals = nv;
        f->cap = cap;
    }
    f->vals[2 * f->n] = vstr(arena_sv_dup(f->r->a, key));
    f->vals[2 * f->n + 1] = vstr(sv_cstr(tsdb_type_name(type)));
    f->n++;
    return 0;
}

static int show_field_keys(struct qx__run *r, const struct iql_stmt *s)
{
    struct sv db, rp;
    struct svec meas;
    int rc = meta_prepare(r, s, &db, &rp, &meas);
    if (rc)
        return rc;
    static const struct sv cols[] = { SV_LIT("fieldKey"), SV_LIT("fieldType") };
    for (size_t i = 0; i < meas.n && rc >= 0; i++) {
        struct field_rows f = { .r = r };
        rc = tsdb_list_fields(r->c->db, db, rp, meas.v[i], field_cb, &f, NULL);
        if (rc == ERR_NOTFOUND)
            rc = 0;
        size_t from = (size_t)s->show.offset < f.n ? (size_t)s->show.offset : f.n;
        size_t n = f.n - from;
        if (s->show.limit > 0 && (size_t)s->show.limit < n)
            n = (size_t)s->show.limit;
        if (rc >= 0 && n)
            rc = qx__emit(r, meas.v[i], NULL, 0, cols, 2, f.vals + 2 * from, n);
    }
    return rc;
}

/* ---- cardinality ------------------------------------------------------------ */

static int show_measurement_cardinality(struct qx__run *r, const struct iql_stmt *s)
{
    struct sv db, rp;
    struct svec meas;
    int rc = meta_prepare(r, s, &db, &rp, &meas);
    if (rc)
        return rc;
    struct qx_value v = vint((int64_t)meas.n);
    /* 1.6 names the exact count (also with FROM / WHERE) "count". */
    struct sv col = s->show.exact || s->show.nsources || s->show.cond
                        ? SV_LIT("count")
                        : SV_LIT("cardinality estimation");
    return qx__emit(r, SV_NULL, NULL, 0, &col, 1, &v, 1);
}

static int count_cb(void *arg, struct sv name)
{
    (void)name;
    (*(int64_t *)arg)++;
    return 0;
}

static int count_field_cb(void *arg, struct sv key, enum tsdb_type type)
{
    (void)type;
    return count_cb(arg, key);
}

/* TAG KEY / FIELD KEY / TAG VALUES cardinality: one series per measurement,
 * column "count". */
static int show_per_measurement_count(struct qx__run *r, const struct iql_stmt *s)
{
    struct sv db, rp;
    struct svec meas;
    int rc = meta_prepare(r, s, &db, &rp, &meas);
    if (rc)
        return rc;
    struct qx__rx *rx = NULL;
    if (s->kind == IQL_STMT_SHOW_TAG_VALUES_CARDINALITY && s->show.key_expr &&
        s->show.key_expr->kind == IQL_EXPR_REGEX) {
        rc = qx__rx_compile(r, s->show.key_expr->str, &rx);
        if (rc)
            return rc;
    }
    struct sv col = SV_LIT("count");
    for (size_t i = 0; i < meas.n && rc >= 0; i++) {
        int64_t n = 0;
        if (s->kind == IQL_STMT_SHOW_FIELD_KEY_CARDINALITY) {
            rc = tsdb_list_fields(r->c->db, db, rp, meas.v[i], count_field_cb, &n, NULL);
        } else if (s->kind == IQL_STMT_SHOW_TAG_KEY_CARDINALITY) {
            rc = tsdb_list_tag_keys(r->c->db, db, rp, meas.v[i], count_cb, &n, NULL);
        } else {
            struct svec keys = { 0 };
            struct push_arg pa = { r->a, &keys };
            rc = tsdb_list_tag_keys(r->c->db, db, rp, meas.v[i], push_name, &pa, NULL);
            for (size_t k = 0; rc >= 0 && k < keys.n; k++)
                if (key_selected(r, s, rx, keys.v[k]))
                    rc = tsdb_list_tag_values(r->c->db, db, rp, meas.v[i], keys.v[k], count_cb,
                                              &n, NULL);
        }
        if (rc == ERR_NOTFOUND)
            rc = 0;
        struct qx_value v = vint(n);
        if (rc >= 0 && n)
            rc = qx__emit(r, meas.v[i], NULL, 0, &col, 1, &v, 1);
    }
    return rc;
}

/* ---- CREATE DATABASE / RETENTION POLICY ------------------------------------ */

#define HOUR_NS INT64_C(3600000000000)

static int check_rp_numbers(struct qx__run *r, int64_t dur, int64_t shard)
{
    if (dur != 0 && dur < HOUR_NS)
        return err_set(r->e, ERR_INVAL, "retention policy duration must be at least 1h0m0s");
    if (dur != 0 && shard > dur)
        return err_set(r->e, ERR_INVAL,
                       "retention policy duration must be greater than the shard duration");
    return 0;
}

/* 1.6 raises a shard duration below 1h to 1h (meta's normalisedShardDuration)
 * before storing or comparing it; 0 leaves the choice to the storage. */
static int64_t normal_shard_ns(int64_t shard)
{
    return shard > 0 && shard < HOUR_NS ? HOUR_NS : shard;
}

static bool same_rp(const struct tsdb_rp_info *have, const struct tsdb_rp_opts *want)
{
    int64_t hd = have->duration_ns == TSDB_DURATION_INF ? 0 : have->duration_ns;
    int64_t wd = want->duration_ns == TSDB_DURATION_INF ? 0 : want->duration_ns;
    uint32_t wr = want->replication ? want->replication : 1;
    return hd == wd && (want->shard_duration_ns == 0 ||
                        want->shard_duration_ns == have->shard_duration_ns) &&
           (have->replication ? have->replication : 1) == wr;
}

static int create_database(struct qx__run *r, const struct iql_stmt *s)
{
    if (s->name.n == 0)
        return err_set(r->e, ERR_INVAL, "invalid name");
    struct tsdb_rp_opts o = { 0 };
    if (s->rp.is_set) {
        o.name = s->rp.name;
        o.duration_ns = s->rp.has_duration ? s->rp.duration_ns : TSDB_DURATION_INF;
        o.shard_duration_ns = normal_shard_ns(s->rp.has_shard ? s->rp.shard_ns : 0);
        o.replication = s->rp.has_replication ? (uint32_t)s->rp.replication : 1;
        int rc = check_rp_numbers(r, o.duration_ns, o.shard_duration_ns);
        if (rc)
            return rc;
    } else {
        /* Deliberate difference 3: storage.retention, not 1.6's INF. */
        o.duration_ns = r->c->default_retention_ns == INT64_MAX ? TSDB_DURATION_INF
                                                                : r->c->default_retention_ns;
        o.shard_duration_ns = r->c->default_shard_ns;
        o.replication = 1;
    }
    o.is_default = true;
    struct err te;
    int rc = tsdb_create_database(r->c->db, s->name, &o, &te);
    if (rc == ERR_EXISTS) {
        if (!s->rp.is_set)
            return 0;
        struct tsdb_rp_info have;
        struct sv name = o.name.n ? o.name : SV_LIT(TSDB_DEFAULT_RP);
        if (tsdb_find_rp(r->c->db, s->name, name, &have, &te) == 0 && same_rp(&have, &o))
            return 0;
        return err_set(r->e, ERR_EXISTS, "retention policy conflicts with an existing policy");
    }
    if (rc < 0)
        return err_set(r->e, rc, "%s", te.msg);
    return 0;
}

static int create_retention_policy(struct qx__run *r, const struct iql_stmt *s)
{
    struct tsdb_rp_opts o = {
        .name = s->rp.name,
        .duration_ns = s->rp.duration_ns,
        .shard_duration_ns = normal_shard_ns(s->rp.has_shard ? s->rp.shard_ns : 0),
        .replication = (uint32_t)(s->rp.replication > 0 ? s->rp.replication : 1),
        .is_default = s->rp.is_default,
    };
    if (o.name.n == 0)
        return err_set(r->e, ERR_INVAL, "invalid name");
    int rc = check_rp_numbers(r, o.duration_ns, o.shard_duration_ns);
    if (rc)
        return rc;
    struct tsdb_rp_info have;
    struct err te;
    if (tsdb_find_rp(r->c->db, s->rp.db, SV_NULL, &have, &te) < 0)
        return err_set(r->e, ERR_NOTFOUND, "database not found: %.*s", SV_FMT(s->rp.db));
    rc = tsdb_create_retention_policy(r->c->db, s->rp.db, &o, &te);
    if (rc == ERR_EXISTS) {
        if (tsdb_find_rp(r->c->db, s->rp.db, o.name, &have, &te) == 0 && same_rp(&have, &o))
            return 0;
        return err_set(r->e, ERR_EXISTS, "retention policy already exists");
    }
    if (rc < 0)
        return err_set(r->e, rc, "%s", te.msg);
    return 0;
}

/* DROP DATABASE / DROP RETENTION POLICY: an empty result, and dropping
 * what does not exist (database or policy) is not an error (1.6, observed). */
static int drop_database(struct qx__run *r, const struct iql_stmt *s)
{
    struct err te;
    int rc = tsdb_drop_database(r->c->db, s->name, &te);
    return rc < 0 ? err_set(r->e, rc, "%s", te.msg) : 0;
}

static int drop_retention_policy(struct qx__run *r, const struct iql_stmt *s)
{
    struct err te;
    int rc = tsdb_drop_retention_policy(r->c->db, s->rp.db, s->rp.name, &te);
    return rc < 0 ? err_set(r->e, rc, "%s", te.msg) : 0;
}

/* ALTER RETENTION POLICY: 1.6 checks the duration's minimum first, then the
 * database and policy, then shard against duration; the messages name the
 * database unquoted (unlike the write path's). */
static int alter_retention_policy(struct qx__run *r, const struct iql_stmt *s)
{
    if (s->rp.has_duration && s->rp.duration_ns != 0 && s->rp.duration_ns < HOUR_NS)
        return err_set(r->e, ERR_INVAL, "retention policy duration must be at least 1h0m0s");
    struct tsdb_rp_alter a = {
        .has_duration = s->rp.has_duration,
        .duration_ns = s->rp.duration_ns,
        .has_shard = s->rp.has_shard,
        .shard_duration_ns = s->rp.shard_ns,
        .has_replication = s->rp.has_replication,
        .replication = (uint32_t)(s->rp.replication > 0 ? s->rp.replication : 1),
        .is_default = s->rp.is_default,
    };
    struct err te;
    int rc = tsdb_alter_retention_policy(r->c->db, s->rp.db, s->rp.name, &a, &te);
    if (rc == ERR_NOTFOUND && strncmp(te.msg, "database not found", 18) == 0)
        return err_set(r->e, ERR_NOTFOUND, "database not found: %.*s", SV_FMT(s->rp.db));
    if (rc == ERR_NOTFOUND)
        return err_set(r->e, ERR_NOTFOUND, "retention policy not found: %.*s",
                       SV_FMT(s->rp.name));
    return rc < 0 ? err_set(r->e, rc, "%s", te.msg) : 0;
}

/* ---- dispatch ------------------------------------------------------------------ */

int qx__exec_meta(struct qx__run *r, const struct iql_stmt *s);
int qx__exec_delete(struct qx__run *r, const struct iql_stmt *s);

int qx__exec_meta(struct qx__run *r, const struct iql_stmt *s)
{
    switch (s->kind) {
    case IQL_STMT_SHOW_DATABASES:
        return show_databases(r);
    case IQL_STMT_SHOW_RETENTION_POLICIES:
        return show_retention_policies(r, s);
    case IQL_STMT_SHOW_MEASUREMENTS:
        return show_measurements(r, s);
    case IQL_STMT_SHOW_MEASUREMENT_CARDINALITY:
        return show_measurement_cardinality(r, s);
    case IQL_STMT_SHOW_TAG_KEYS:
        return show_tag_keys(r, s);
    case IQL_STMT_SHOW_TAG_VALUES:
        return show_tag_values(r, s);
    case IQL_STMT_SHOW_SERIES:
    case IQL_STMT_SHOW_SERIES_CARDINALITY:
        return show_series(r, s);
    case IQL_STMT_SHOW_FIELD_KEYS:
        return show_field_keys(r, s);
    case IQL_STMT_SHOW_TAG_KEY_CARDINALITY:
    case IQL_STMT_SHOW_FIELD_KEY_CARDINALITY:
    case IQL_STMT_SHOW_TAG_VALUES_CARDINALITY:
        return show_per_measurement_count(r, s);
    case IQL_STMT_SHOW_CONTINUOUS_QUERIES:
        return show_continuous_queries(r);
    case IQL_STMT_SHOW_SUBSCRIPTIONS:
        return 0; /* none: an empty result, as 1.6 without subscriptions */
    case IQL_STMT_SHOW_GRANTS:
        /* No users exist (authentication is not implemented). */
        return err_set(r->e, ERR_NOTFOUND, "user not found");
    case IQL_STMT_SHOW_USERS: {
        static const struct sv cols[] = { SV_LIT("user"), SV_LIT("admin") };
        return qx__emit(r, SV_NULL, NULL, 0, cols, 2, NULL, 0);
    }
    case IQL_STMT_CREATE_DATABASE:
        return create_database(r, s);
    case IQL_STMT_CREATE_RETENTION_POLICY:
        return create_retention_policy(r, s);
    case IQL_STMT_DROP_DATABASE:
        return drop_database(r, s);
    case IQL_STMT_DROP_RETENTION_POLICY:
        return drop_retention_policy(r, s);
    case IQL_STMT_ALTER_RETENTION_POLICY:
        return alter_retention_policy(r, s);
    case IQL_STMT_DROP_MEASUREMENT:
    case IQL_STMT_DROP_SERIES:
    case IQL_STMT_DELETE:
        return qx__exec_delete(r, s); /* exec_delete.c */
    default: {
        struct buf b;
        buf_init(&b, 512);
        (void)iql_render_stmt(&b, s);
        err_set(r->e, ERR_UNSUPPORTED, "not supported yet: %.*s",
                (int)(b.len > 160 ? 160 : b.len), b.p ? b.p : "");
        buf_fini(&b);
        return ERR_UNSUPPORTED;
    }
    }
}
