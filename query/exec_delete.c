// SPDX-License-Identifier: MIT
/*
 * DROP MEASUREMENT, DROP SERIES and DELETE over tsdb_delete, with influxd
 * 1.6's semantics (each checked against a running influxd 1.6.7; tests in
 * tests/integration/test_query_delete.py):
 *
 *  - The database comes from the statement's FROM or the query's db; none
 *    or an unknown one is `database not found: <db>`.  Every retention
 *    policy of the database is affected (influxd walks all its shards).
 *    FROM names measurements or /regexes/ (unanchored); no FROM is every
 *    measurement.  Nothing to delete is not an error.
 *  - Time conditions anywhere in WHERE (also under OR) are taken out and
 *    intersected into one range, as influxql.ConditionExpr does; DROP
 *    SERIES refuses them (`DROP SERIES doesn't support time in WHERE
 *    clause`).  A bare name as the whole condition is `invalid condition
 *    expression: <name>`.
 *  - The rest selects series per measurement the way 1.6's in-memory
 *    index does (inmem measurement.WalkWhereForSeriesIds / idsForExpr):
 *    `tag = 'v'` (empty v: series without the tag); every other operator
 *    with a string, `<`, `>` included, acts as `!=`; `=~` / `!~` with the
 *    empty-string rule; `_name` compares the measurement name; `tag = tag`.
 *    A comparison on a field of the measurement (by name or ::field), on
 *    anything but a string, regex or tag, or nested arithmetic leaves a
 *    "filter": if any selected series keeps one, the statement fails with
 *    `shard <n>: fields not supported in WHERE clause during deletion`
 *    before anything is deleted (n: the retention policy's id; Nightjar has
 *    no shard ids).
 *  - DELETE also removes series left without points from the index, as
 *    1.6 does; DROP SERIES / DROP MEASUREMENT remove the matched series
 *    whatever their points.
 */
#include <stdlib.h>
#include <string.h>

#include "query/exec_int.h"

static bool is_time_ref(const struct iql_expr *x)
{
    while (x && x->kind == IQL_EXPR_PAREN)
        x = x->paren;
    return x && x->kind == IQL_EXPR_VARREF && sv_case_eq(x->ref.name, "time");
}

static bool is_cmp(enum iql_op op)
{
    switch (op) {
    case IQL_OP_EQ:
    case IQL_OP_NEQ:
    case IQL_OP_LT:
    case IQL_OP_LTE:
    case IQL_OP_GT:
    case IQL_OP_GTE:
    case IQL_OP_EQREGEX:
    case IQL_OP_NEQREGEX:
        return true;
    default:
        return false;
    }
}

/* Removes time comparisons from x, intersecting their ranges into
 * [*min, *max]; returns what is left (NULL: nothing). */
static int strip_time(struct qx__run *r, const struct iql_expr *x, const struct iql_expr **out,
                      int64_t *min, int64_t *max)
{
    *out = NULL;
    while (x && x->kind == IQL_EXPR_PAREN)
        x = x->paren;
    if (!x)
        return 0;
    if (x->kind != IQL_EXPR_BINARY) {
        *out = x;
        return 0;
    }
    if (x->bin.op == IQL_OP_AND || x->bin.op == IQL_OP_OR) {
        const struct iql_expr *l, *rr;
        int rc = strip_time(r, x->bin.lhs, &l, min, max);
        rc = rc ? rc : strip_time(r, x->bin.rhs, &rr, min, max);
        if (rc)
            return rc;
        if (!l || !rr) {
            *out = l ? l : rr;
            return 0;
        }
        struct iql_expr *n = arena_alloc(r->a, sizeof *n);
        *n = *x;
        n->bin.lhs = (struct iql_expr *)l;
        n->bin.rhs = (struct iql_expr *)rr;
        *out = n;
        return 0;
    }
    if (is_cmp(x->bin.op) && (is_time_ref(x->bin.lhs) || is_time_ref(x->bin.rhs))) {
        int64_t a, b;
        int rc = qx__time_range(r, x, &a, &b);
        if (rc)
            return rc;
        if (a > *min)
            *min = a;
        if (b < *max)
            *max = b;
        return 0;
    }
    *out = x;
    return 0;
}

/* ---- series selection (1.6 inmem idsForExpr, per series) ------------------ */

struct fieldset {
    struct sv meas;
    struct sv *keys;
    size_t n, cap;
};

struct del {
    struct qx__run *r;
    const struct iql_stmt *s;
    const struct iql_expr *cond;  /* time-free condition, NULL = all */
    /* measurement selection */
    bool all_meas;
    const struct iql_source *src;
    size_t nsrc;
    struct qx__rx **src_rx;       /* per source, for regex sources */
    struct sv drop_name;          /* DROP MEASUREMENT */
    /* regexes of the condition, by node */
    const struct iql_expr **rx_nodes;
    struct qx__rx **rxs;
    size_t nrx;
    /* field keys per measurement (union over the policies) */
    struct fieldset *fs;
    size_t nfs;
    bool is_failed;
};

struct verdict {
    bool in;   /* the series is selected */
    bool filt; /* with a leftover (field) filter */
};

static const struct fieldset *fields_of(const struct del *d, struct sv meas)
{
    for (size_t i = 0; i < d->nfs; i++)
        if (sv_eq(d->fs[i].meas, meas))
            return &d->fs[i];
    return NULL;
}

static bool has_field(const struct fieldset *f, struct sv key)
{
    for (size_t i = 0; f && i < f->n; i++)
        if (sv_eq(f->keys[i], key))
            return true;
    return false;
}

static bool tag_of(const struct tsdb_series_info *s, struct sv key, struct sv *val)
{
    for (size_t i = 0; i < s->ntags; i++)
        if (sv_eq(s->tags[i].key, key)) {
            *val = s->tags[i].value;
            return true;
        }
    return false;
}

static const struct qx__rx *rx_of(const struct del *d, const struct iql_expr *x)
{
    for (size_t i = 0; i < d->nrx; i++)
        if (d->rx_nodes[i] == x)
            return d->rxs[i];
    return NULL;
}

static bool is_fieldish(const struct iql_expr *ref, const struct fieldset *f)
{
    if (sv_eq_cstr(ref->ref.name, "_name"))
        return false;
    enum iql_vtype t = ref->ref.type;
    return (t == IQL_VT_UNKNOWN && has_field(f, ref->ref.name)) || t == IQL_VT_FIELD ||
           (t != IQL_VT_TAG && t != IQL_VT_UNKNOWN);
}

static struct verdict ids_for_expr(const struct del *d, const struct iql_expr *n,
                                   const struct tsdb_series_info *s, const struct fieldset *f)
{
    const struct verdict all_filtered = { true, true };
    const struct iql_expr *lhs = n->bin.lhs, *rhs = n->bin.rhs;
    if (lhs->kind == IQL_EXPR_BINARY || rhs->kind == IQL_EXPR_BINARY)
        return all_filtered;
    const struct iql_expr *name = lhs, *value = rhs;
    if (name->kind != IQL_EXPR_VARREF) {
        name = rhs;
        value = lhs;
        if (name->kind != IQL_EXPR_VARREF)
            return all_filtered;
    }
    if (is_fieldish(name, f))
        return all_filtered;
    if (value->kind == IQL_EXPR_VARREF && !sv_eq_cstr(value->ref.name, "_name") &&
        ((value->ref.type == IQL_VT_UNKNOWN && has_field(f, value->ref.name)) ||
         name->ref.type == IQL_VT_FIELD ||
         (value->ref.type != IQL_VT_TAG && value->ref.type != IQL_VT_UNKNOWN)))
        return all_filtered;
    enum iql_op op = n->bin.op;
    struct sv v = SV_NULL;
    bool has = tag_of(s, name->ref.name, &v);
    bool is_name = sv_eq_cstr(name->ref.name, "_name");
    struct verdict out = { false, false };
    if (value->kind == IQL_EXPR_STRING) {
        struct sv str = value->str;
        if (is_name) {
            out.in = (op == IQL_OP_EQ && sv_eq(str, s->measurement)) ||
                     (op == IQL_OP_NEQ && !sv_eq(str, s->measurement));
        } else if (op == IQL_OP_EQ) {
            out.in = str.n ? has && sv_eq(v, str) : !has;
        } else {
            /* 1.6.7 treats every other operator as != (observed). */
            out.in = str.n ? !(has && sv_eq(v, str)) : has;
        }
        return out;
    }
    if (value->kind == IQL_EXPR_REGEX) {
        const struct qx__rx *rx = rx_of(d, value);
        if (!rx)
            return out;
        if (is_name) {
            bool m = qx__rx_match(rx, s->measurement);
            out.in = (op == IQL_OP_EQREGEX && m) || (op == IQL_OP_NEQREGEX && !m);
            return out;
        }
        bool empty = qx__rx_match(rx, SV_NULL);
        bool m = has && qx__rx_match(rx, v);
        if (op == IQL_OP_EQREGEX)
            out.in = empty ? (!has || m) : m;
        else if (op == IQL_OP_NEQREGEX)
            out.in = empty ? (has && !m) : !m;
        return out;
    }
    if (value->kind == IQL_EXPR_VARREF) {
        struct sv w = SV_NULL;
        bool both = has && tag_of(s, value->ref.name, &w) && sv_eq(v, w);
        if (op == IQL_OP_EQ)
            out.in = both;
        else if (op == IQL_OP_NEQ)
            out.in = !both;
        return out;
    }
    return all_filtered;
}

static struct verdict walk(const struct del *d, const struct iql_expr *x,
                           const struct tsdb_series_info *s, const struct fieldset *f)
{
    struct verdict none = { false, false };
    if (!x)
        return (struct verdict){ true, false };
    switch (x->kind) {
    case IQL_EXPR_PAREN:
        return walk(d, x->paren, s, f);
    case IQL_EXPR_BOOL:
        return (struct verdict){ x->b, false };
    case IQL_EXPR_BINARY: {
        if (x->bin.op == IQL_OP_AND || x->bin.op == IQL_OP_OR) {
            struct verdict l = walk(d, x->bin.lhs, s, f), r = walk(d, x->bin.rhs, s, f);
            if (x->bin.op == IQL_OP_AND)
                return (struct verdict){ l.in && r.in, l.in && r.in && (l.filt || r.filt) };
            if (l.in && r.in)
                return (struct verdict){ true, l.filt && r.filt };
            return l.in ? l : r;
        }
        struct verdict v = ids_for_expr(d, x, s, f);
        if (!is_cmp(x->bin.op))
            v.filt = false;
        return v;
    }
    default:
        return none;
    }
}

static bool meas_selected(const struct del *d, struct sv m)
{
    if (d->s->kind == IQL_STMT_DROP_MEASUREMENT)
        return sv_eq(m, d->drop_name);
    if (d->all_meas)
        return true;
    for (size_t i = 0; i < d->nsrc; i++) {
        const struct iql_measurement *im = &d->src[i].m;
        if (im->is_regex ? qx__rx_match(d->src_rx[i], m) : sv_eq(im->name, m))
            return true;
    }
    return false;
}

static int match_cb(void *arg, uint64_t rp_id, const struct tsdb_series_info *s)
{
    struct del *d = arg;
    if (!meas_selected(d, s->measurement))
        return 0;
    struct verdict v = walk(d, d->cond, s, fields_of(d, s->measurement));
    if (v.in && v.filt) {
        d->is_failed = true;
        return err_set(d->r->e, ERR_INVAL,
                       "shard %llu: fields not supported in WHERE clause during deletion",
                       (unsigned long long)rp_id);
    }
    return v.in ? 1 : 0;
}

/* ---- preparation ------------------------------------------------------------------ */

static int collect_rx(struct qx__run *r, struct del *d, const struct iql_expr *x)
{
    if (!x)
        return 0;
    switch (x->kind) {
    case IQL_EXPR_PAREN:
        return collect_rx(r, d, x->paren);
    case IQL_EXPR_BINARY: {
        int rc = collect_rx(r, d, x->bin.lhs);
        return rc ? rc : collect_rx(r, d, x->bin.rhs);
    }
    case IQL_EXPR_REGEX: {
        struct qx__rx *rx;
        int rc = qx__rx_compile(r, x->str, &rx);
        if (rc)
            return rc;
        const struct iql_expr **nn = arena_alloc(r->a, (d->nrx + 1) * sizeof *nn);
        struct qx__rx **nr = arena_alloc(r->a, (d->nrx + 1) * sizeof *nr);
        if (d->nrx) {
            memcpy(nn, d->rx_nodes, d->nrx * sizeof *nn);
            memcpy(nr, d->rxs, d->nrx * sizeof *nr);
        }
        nn[d->nrx] = x;
        nr[d->nrx] = rx;
        d->rx_nodes = nn;
        d->rxs = nr;
        d->nrx++;
        return 0;
    }
    default:
        return 0;
    }
}

struct fs_collect {
    struct qx__run *r;
    struct fieldset *f;
};

static int fs_field_cb(void *arg, struct sv key, enum tsdb_type type)
{
    (void)type;
    struct fs_collect *c = arg;
    struct fieldset *f = c->f;
    if (has_field(f, key))
        return 0;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct sv *nk = arena_alloc(c->r->a, cap * sizeof *nk);
        if (f->n)
            memcpy(nk, f->keys, f->n * sizeof *nk);
        f->keys = nk;
        f->cap = cap;
    }
    f->keys[f->n++] = arena_sv_dup(c->r->a, key);
    return 0;
}

struct rp_names {
    struct qx__run *r;
    struct sv db;
    struct sv *names;
    size_t n;
    bool found;
};

static int rp_names_cb(void *arg, const struct tsdb_db_info *di)
{
    struct rp_names *x = arg;
    if (!sv_eq(di->name, x->db))
        return 0;
    x->found = true;
    x->names = arena_alloc(x->r->a, (di->nrps ? di->nrps : 1) * sizeof *x->names);
    for (size_t i = 0; i < di->nrps; i++)
        x->names[x->n++] = arena_sv_dup(x->r->a, di->rps[i].name);
    return 0;
}

struct meas_collect {
    struct qx__run *r;
    struct del *d;
};

static int meas_cb(void *arg, struct sv name)
{
    struct meas_collect *c = arg;
    struct del *d = c->d;
    if (!meas_selected(d, name))
        return 0;
    if (fields_of(d, name))
        return 0;
    struct fieldset *nf = arena_alloc(c->r->a, (d->nfs + 1) * sizeof *nf);
    if (d->nfs)
        memcpy(nf, d->fs, d->nfs * sizeof *nf);
    memset(&nf[d->nfs], 0, sizeof *nf);
    nf[d->nfs].meas = arena_sv_dup(c->r->a, name);
    d->fs = nf;
    d->nfs++;
    return 0;
}

int qx__exec_delete(struct qx__run *r, const struct iql_stmt *s);

int qx__exec_delete(struct qx__run *r, const struct iql_stmt *s)
{
    struct del d;
    memset(&d, 0, sizeof d);
    d.r = r;
    d.s = s;
    struct sv db = qx__db(r, SV_NULL);
    bool is_drop_series = s->kind == IQL_STMT_DROP_SERIES;
    if (s->kind == IQL_STMT_DROP_MEASUREMENT) {
        d.drop_name = s->name;
    } else {
        d.src = s->show.sources;
        d.nsrc = s->show.nsources;
        d.all_meas = d.nsrc == 0;
        for (size_t i = 0; i < d.nsrc; i++) {
            if (d.src[i].kind != IQL_SRC_MEASUREMENT)
                return err_set(r->e, ERR_UNSUPPORTED, "subqueries are not supported here");
            if (d.src[i].m.db.n)
                db = d.src[i].m.db;
        }
        d.src_rx = arena_alloc(r->a, (d.nsrc ? d.nsrc : 1) * sizeof *d.src_rx);
        for (size_t i = 0; i < d.nsrc; i++) {
            d.src_rx[i] = NULL;
            if (d.src[i].m.is_regex) {
                int rc = qx__rx_compile(r, d.src[i].m.regex, &d.src_rx[i]);
                if (rc)
                    return rc;
            }
        }
    }
    const struct iql_expr *cond = s->kind == IQL_STMT_DROP_MEASUREMENT ? NULL : s->show.cond;
    if (is_drop_series && qx__cond_has_time(cond))
        return err_set(r->e, ERR_INVAL, "DROP SERIES doesn't support time in WHERE clause");
    int64_t min = INT64_MIN, max = INT64_MAX;
    /* DELETE checks its condition as SELECT does (influxql.ConditionExpr):
     * "invalid condition expression: 1", bad time literals. */
    if (s->kind == IQL_STMT_DELETE && cond) {
        int64_t a, b;
        int vrc = qx__time_range(r, cond, &a, &b);
        if (vrc)
            return vrc;
    }
    int rc = strip_time(r, cond, &d.cond, &min, &max);
    if (rc)
        return rc;
    if (d.cond && d.cond->kind == IQL_EXPR_VARREF)
        return err_set(r->e, ERR_INVAL, "invalid condition expression: %.*s",
                       SV_FMT(d.cond->ref.name));
    rc = collect_rx(r, &d, d.cond);
    if (rc)
        return rc;
    /* The database and its policies; field keys of the measurements in
     * scope (for "is this name a field"). */
    struct rp_names rps = { .r = r, .db = db };
    if (db.n)
        tsdb_list_databases(r->c->db, rp_names_cb, &rps);
    if (!rps.found)
        return err_set(r->e, ERR_NOTFOUND, "database not found: %.*s", SV_FMT(db));
    for (size_t i = 0; i < rps.n; i++) {
        struct meas_collect mc = { r, &d };
        tsdb_list_measurements(r->c->db, db, rps.names[i], meas_cb, &mc, NULL);
    }
    for (size_t i = 0; i < rps.n; i++)
        for (size_t k = 0; k < d.nfs; k++) {
            struct fs_collect fc = { r, &d.fs[k] };
            tsdb_list_fields(r->c->db, db, rps.names[i], d.fs[k].meas, fs_field_cb, &fc, NULL);
        }
    if (!d.nfs)
        return 0; /* nothing in scope */
    struct tsdb_delete_req req = {
        .dbname = db,
        .rpname = SV_NULL,
        .match = match_cb,
        .arg = &d,
        .min_ts = min,
        .max_ts = max,
        .drop_series = s->kind != IQL_STMT_DELETE,
        .drop_measurement = s->kind == IQL_STMT_DROP_MEASUREMENT,
    };
    if (req.min_ts > req.max_ts && !req.drop_series)
        return 0;
    struct err te;
    err_clear(&te);
    rc = tsdb_delete(r->c->db, &req, NULL, &te);
    if (d.is_failed)
        return rc < 0 ? rc : ERR_INVAL;
    if (rc == ERR_NOTFOUND)
        return err_set(r->e, ERR_NOTFOUND, "database not found: %.*s", SV_FMT(db));
    return rc < 0 ? err_set(r->e, rc, "%s", te.msg) : 0;
}
