// SPDX-License-Identifier: MIT
/*
 * SELECT ... INTO, as influxd 1.6 runs it: the SELECT runs as usual, but
 * its rows become points written into the target measurement (or, with
 * INTO db.rp.:MEASUREMENT, into the measurement each row came from)
 * through tsdb's write API, and the statement answers one series "result"
 * with columns time and written: [[0, points written]].
 *
 * Each output series is one point group: its GROUP BY tags become the
 * points' tags (empty values left out), every non-null column but time a
 * field of the column's type, the row's time the point's time; rows whose
 * columns are all null are not written.  Without GROUP BY tags every point
 * lands in one untagged series (so points of several source series at one
 * time overwrite each other, as in 1.6).  Empty GROUP BY time() buckets are
 * not written under the default fill(null) (no count() zeros); fill(0) and
 * fill(previous) write theirs.  Points the store refuses (a field type
 * conflict) are counted and reported as 1.6 does: "partial write: <first
 * error> dropped=N", after the others were written.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "query/exec_int.h"

struct into {
    struct qx_sink sink;
    struct qx__run *r;
    struct tsdb *store;
    struct sv meas;          /* target measurement; empty: the source's */
    struct tsdb_batch *b;
    struct sv db, rp;
    uint64_t written, dropped;
    char first_err[256];
    int rc;                  /* a hard error (I/O, memory) */
    struct err e;
};

static int commit(struct into *x)
{
    if (!x->b)
        return 0;
    int rc = tsdb_batch_commit(x->b, &x->e);
    tsdb_batch_free(&x->b);
    if (rc)
        return err_set(x->r->e, rc, "%s", x->e.msg[0] ? x->e.msg : err_str(rc));
    return 0;
}

static int start(struct into *x)
{
    int rc = tsdb_batch_new(x->store, x->db, x->rp, x->r->p->now_ns, &x->b, &x->e);
    if (rc)
        return err_set(x->r->e, rc, "%s", x->e.msg[0] ? x->e.msg : err_str(rc));
    return 0;
}

static int add_point(struct into *x, const struct tsdb_point *p)
{
    if (!x->b && (x->rc = start(x)) != 0)
        return x->rc;
    int rc = tsdb_batch_add(x->b, NULL, p, &x->e);
    if (rc == ERR_NOMEM) { /* the batch is full: commit it, start another */
        if ((x->rc = commit(x)) != 0 || (x->rc = start(x)) != 0)
            return x->rc;
        rc = tsdb_batch_add(x->b, NULL, p, &x->e);
    }
    if (rc == 0) {
        x->written++;
        return 0;
    }
    if (rc == ERR_TYPE || rc == ERR_LIMIT || rc == ERR_INVAL) {
        if (x->dropped++ == 0)
            snprintf(x->first_err, sizeof x->first_err, "%s", x->e.msg[0] ? x->e.msg : err_str(rc));
        return 0;
    }
    x->rc = err_set(x->r->e, rc, "%s", x->e.msg[0] ? x->e.msg : err_str(rc));
    return x->rc;
}

static int into_series(struct qx_sink *k, int stmt_id, const struct qx_series *s)
{
    struct into *x = (struct into *)k;
    (void)stmt_id;
    if (x->rc)
        return x->rc;
    struct arena *a = x->r->a;
    struct tsdb_tag *tags = arena_alloc(a, (s->ntags ? s->ntags : 1) * sizeof *tags);
    size_t nt = 0;
    for (size_t i = 0; i < s->ntags; i++)
        if (s->tags[i].value.n)
            tags[nt++] = s->tags[i];
    size_t nc = s->ncolumns;
    struct tsdb_field *f = arena_alloc(a, (nc ? nc : 1) * sizeof *f);
    for (size_t row = 0; row < s->nrows; row++) {
        const struct qx_value *v = s->values + row * nc;
        size_t nf = 0;
        int64_t ts = 0;
        for (size_t c = 0; c < nc; c++) {
            if (c == 0 && sv_eq_cstr(s->columns[0], "time")) {
                ts = v[0].i;
                continue;
            }
            struct tsdb_field *o = &f[nf];
            o->key = s->columns[c];
            switch (v[c].kind) {
            case QX_FLOAT: o->type = TSDB_FLOAT; o->v.f = v[c].f; break;
            case QX_INT: case QX_GOINT: o->type = TSDB_INT; o->v.i = v[c].i; break;
            case QX_UINT: o->type = TSDB_UINT; o->v.u = v[c].u; break;
            case QX_BOOL: o->type = TSDB_BOOL; o->v.b = v[c].b; break;
            case QX_STRING: o->type = TSDB_STRING; o->v.s = v[c].s; break;
            default: continue;
            }
            nf++;
        }
        if (nf == 0)
            continue;
        struct tsdb_point p = {
            .measurement = x->meas.n ? x->meas : s->name,
            .tags = tags, .ntags = nt, .fields = f, .nfields = nf, .ts_ns = ts,
        };
        if (add_point(x, &p) != 0)
            return x->rc;
    }
    return 0;
}

static int into_end(struct qx_sink *k, const struct qx_stmt_end *end)
{
    (void)k;
    (void)end;
    return 0;
}

static bool has_time_dim(const struct iql_select *s)
{
    for (size_t i = 0; i < s->ndims; i++) {
        const struct iql_expr *d = s->dims[i];
        while (d->kind == IQL_EXPR_PAREN)
            d = d->paren;
        if (d->kind == IQL_EXPR_CALL && sv_case_eq(d->call.name, "time"))
            return true;
    }
    return false;
}

int qx__write_rows(struct qx__run *r, struct tsdb *store, struct sv db, struct sv rp, struct sv meas,
                   const struct iql_select *s,
                   int (*run)(struct qx__run *r, const struct iql_select *s),
                   struct qx__written *out)
{
    struct into x = {
        .sink = { .series = into_series, .end = into_end },
        .r = r, .store = store, .db = db, .rp = rp, .meas = meas,
    };
    /* 1.6 passes no empty GROUP BY time() buckets on under the default
     * fill (no count() zeros), into a measurement or an outer query. */
    struct iql_select in = *s;
    if (in.fill == IQL_FILL_NULL && !in.is_raw && has_time_dim(s))
        in.fill = IQL_FILL_NONE;
    struct qx_sink *sink = r->out;
    r->out = &x.sink;
    int rc = run(r, &in);
    r->out = sink;
    int sink_rc = r->sink_rc;
    r->sink_rc = 0;
    if (rc == ERR_CLOSED && sink_rc)
        rc = x.rc;
    int crc = commit(&x);
    out->written = x.written;
    out->dropped = x.dropped;
    memcpy(out->first_err, x.first_err, sizeof out->first_err);
    return rc ? rc : crc;
}

int qx__exec_into(struct qx__run *r, const struct iql_select *s,
                  int (*run)(struct qx__run *r, const struct iql_select *s))
{
    const struct iql_measurement *t = s->into;
    struct sv db = t->db.n ? t->db : r->p->db;
    if (!db.n)
        return err_set(r->e, ERR_INVAL, "database name required");
    struct tsdb_rp_info info;
    struct err te;
    if (tsdb_find_rp(r->c->db, db, SV_NULL, &info, &te) < 0)
        return err_set(r->e, ERR_NOTFOUND, "database not found: %.*s", SV_FMT(db));
    if (t->rp.n && tsdb_find_rp(r->c->db, db, t->rp, &info, &te) < 0)
        return err_set(r->e, ERR_NOTFOUND, "retention policy not found: %.*s", SV_FMT(t->rp));

    struct iql_select inner = *s;
    inner.into = NULL;
    inner.into_all_measurements = false;
    struct qx__written w;
    int rc = qx__write_rows(r, r->c->db, db, t->rp, s->into_all_measurements ? SV_NULL : t->name,
                            &inner, run, &w);
    if (rc)
        return rc;
    if (w.dropped)
        return err_set(r->e, ERR_TYPE, "partial write: %s dropped=%" PRIu64, w.first_err, w.dropped);
    static const struct sv cols[] = { SV_LIT("time"), SV_LIT("written") };
    struct qx_value vals[2] = {
        { .kind = QX_TIME, .i = 0 },
        { .kind = QX_INT, .i = (int64_t)w.written },
    };
    return qx__emit(r, SV_LIT("result"), NULL, 0, cols, 2, vals, 1);
}
