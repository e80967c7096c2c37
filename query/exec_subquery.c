// SPDX-License-Identifier: MIT
/*
 * Subqueries: SELECT ... FROM (SELECT ...).  Each inner SELECT runs as a
 * statement of its own (through the driver's SELECT path, so it may hold
 * subqueries itself), with the outer WHERE's time range added to its own
 * as influxd 1.6 passes it down; its output rows are written as points into
 * a private scratch store (a tsdb in a temporary directory, removed when
 * the statement ends): series name = measurement, GROUP BY tags = tags,
 * columns = typed fields.  The outer SELECT then runs over that store with
 * all of the executor's machinery (WHERE on tags and fields, GROUP BY,
 * aggregates, math, fill, LIMIT, ...), and its series keep the inner
 * series' names, as in 1.6.
 *
 * Known limit: rows of one inner output series that share a timestamp
 * (a raw inner SELECT merging several series without grouping them apart)
 * are one point in the store, so the outer query sees the last of them.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/exec_int.h"

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static struct iql_expr *int_lit(struct qx__run *r, int64_t v)
{
    struct iql_expr *x = arena_calloc(r->a, sizeof *x);
    x->kind = IQL_EXPR_INTEGER;
    x->i = v;
    return x;
}

static struct iql_expr *bin(struct qx__run *r, enum iql_op op, struct iql_expr *l, struct iql_expr *rr)
{
    struct iql_expr *x = arena_calloc(r->a, sizeof *x);
    x->kind = IQL_EXPR_BINARY;
    x->bin.op = op;
    x->bin.lhs = l;
    x->bin.rhs = rr;
    return x;
}

static struct iql_expr *time_ref(struct qx__run *r)
{
    struct iql_expr *x = arena_calloc(r->a, sizeof *x);
    x->kind = IQL_EXPR_VARREF;
    x->ref.name = SV_LIT("time");
    return x;
}

/* The inner SELECT with the outer range [min, max] ANDed to its WHERE. */
static const struct iql_select *narrowed(struct qx__run *r, const struct iql_select *in,
                                         int64_t min, int64_t max)
{
    if (min == INT64_MIN && max == INT64_MAX)
        return in;
    struct iql_expr *c = in->cond;
    if (min != INT64_MIN) {
        struct iql_expr *t = bin(r, IQL_OP_GTE, time_ref(r), int_lit(r, min));
        c = c ? bin(r, IQL_OP_AND, c, t) : t;
    }
    if (max != INT64_MAX) {
        struct iql_expr *t = bin(r, IQL_OP_LTE, time_ref(r), int_lit(r, max));
        c = c ? bin(r, IQL_OP_AND, c, t) : t;
    }
    struct iql_select *x = arena_alloc(r->a, sizeof *x);
    *x = *in;
    x->cond = c;
    return x;
}

/* A raw inner SELECT hands its rows on with the tags of the series they
 * came from (1.6: an outer GROUP BY or WHERE can use them); reading it
 * GROUP BY * keeps each series apart in the scratch store.  Not under a
 * LIMIT or OFFSET, which count rows of the merged series. */
static const struct iql_select *by_series(struct qx__run *r, const struct iql_select *in)
{
    if (!in->is_raw || in->limit || in->offset || in->slimit || in->soffset)
        return in;
    struct iql_expr *star = arena_calloc(r->a, sizeof *star);
    star->kind = IQL_EXPR_WILDCARD;
    struct iql_expr **dims = arena_alloc(r->a, sizeof *dims);
    dims[0] = star;
    struct iql_select *x = arena_alloc(r->a, sizeof *x);
    *x = *in;
    x->dims = dims;
    x->ndims = 1;
    return x;
}

int qx__exec_subquery(struct qx__run *r, const struct iql_select *s,
                      int (*run)(struct qx__run *r, const struct iql_select *s))
{
    for (size_t i = 0; i < s->nsources; i++)
        if (s->sources[i].kind != IQL_SRC_SUBQUERY)
            return err_set(r->e, ERR_UNSUPPORTED,
                           "a FROM mixing subqueries and measurements is not supported");
    int64_t min, max;
    int rc = qx__time_range(r, s->cond, &min, &max);
    if (rc)
        return rc;

    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/nightjar-subquery-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return err_set(r->e, ERR_IO, "subquery: cannot create a scratch directory");
    struct tsdb *store = NULL;
    struct err te;
    err_clear(&te);
    struct tsdb_opts o = { .dir = dir, .fsync_mode = TSDB_FSYNC_INTERVAL };
    rc = tsdb_open(&o, &store, &te);
    static const struct sv sdb = SV_LIT("subquery");
    if (rc == 0)
        rc = tsdb_create_database(store, sdb, NULL, &te);
    if (rc) {
        rc = err_set(r->e, rc, "subquery: scratch store: %s", te.msg[0] ? te.msg : err_str(rc));
        goto out;
    }
    /* One retention policy per subquery, so that two subqueries yielding
     * the same series and field at one time stay two points. */
    struct iql_source *src = arena_calloc(r->a, s->nsources * sizeof *src);
    for (size_t i = 0; i < s->nsources && rc == 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "s%zu", i);
        struct sv rp = arena_sv_dup(r->a, sv_make(name, strlen(name)));
        struct tsdb_rp_opts ro = { .name = rp, .duration_ns = TSDB_DURATION_INF };
        rc = tsdb_create_retention_policy(store, sdb, &ro, &te);
        if (rc) {
            rc = err_set(r->e, rc, "subquery: scratch store: %s", te.msg[0] ? te.msg : err_str(rc));
            break;
        }
        struct qx__written w;
        rc = qx__write_rows(r, store, sdb, rp, SV_NULL,
                            by_series(r, narrowed(r, s->sources[i].sub, min, max)), run, &w);
        if (rc == 0 && w.dropped)
            rc = err_set(r->e, ERR_TYPE, "%s", w.first_err);
        src[i].kind = IQL_SRC_MEASUREMENT;
        src[i].m.db = sdb;
        src[i].m.rp = rp;
        src[i].m.is_regex = true;
        src[i].m.regex = SV_LIT("");
    }
    if (rc == 0) {
        /* The outer statement over every measurement of the scratch store. */
        struct iql_select *outer = arena_alloc(r->a, sizeof *outer);
        *outer = *s;
        outer->sources = src;
        outer->nsources = s->nsources;
        struct qx_ctx c = *r->c;
        c.db = store;
        c.is_summary_off = true;
        c.is_subquery_outer = true;
        struct qx_params p = *r->p;
        p.db = sdb;
        p.rp = SV_NULL;
        const struct qx_ctx *oc = r->c;
        const struct qx_params *op = r->p;
        r->c = &c;
        r->p = &p;
        rc = run(r, outer);
        r->c = oc;
        r->p = op;
    }
out:
    tsdb_close(&store);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
