// SPDX-License-Identifier: MIT
/*
 * The write engine: one line-protocol body in, one tsdb batch out, with
 * InfluxDB 1.6's answers (influx-compat.md sections 2.3 and 2.4).
 *
 * ing_write() in order:
 *   1. tsdb_batch_new(db, rp): an unknown database answers 404 at once (1.6
 *      checks it before reading the body); an unknown retention policy is
 *      remembered, because a body whose every line fails to parse answers
 *      400 with the parse errors first, and only then the 500; a failed WAL
 *      answers 503.
 *   2. Each line: lp_next() with one server time for the whole request; a
 *      parse error is formatted with lp_format_error() and kept; a point
 *      goes to tsdb_batch_add() with the series-cache hint.  Storage
 *      rejections (type conflict, "time" keys, retention, key length) are
 *      counted as dropped and the first reason is kept: the batch stays
 *      usable and the point's other fields are not stored (a point is
 *      rejected as a whole, as 1.6 does).
 *   3. tsdb_batch_commit(): returns after the WAL made the batch durable.
 *      A failure acknowledges nothing (500, and 503 for later requests
 *      while the WAL stays failed).
 *   4. The answer: 204; or 400 "partial write: <first storage reason>
 *      dropped=N" (a storage reason hides parse errors, as in 1.6); or 400
 *      "partial write: <parse errors joined by \n> dropped=0"; or 400 with
 *      only the parse errors when nothing parsed.
 *
 * With ING_ALL_OR_NOTHING (UDP) a body with any parse error is not
 * committed at all.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "ingest/ingest.h"
#include "ingest/write_int.h"
#include "tsdb/tsdb.h"

/* Budget of the series cache: about a million typical series keys. */
#define CACHE_MAX_BYTES (128u << 20)

enum { RES_ACCEPTED, RES_PARSE_ERROR, NLINE_RES };
enum { PT_WRITTEN, PT_TYPE, PT_RETENTION, PT_INVALID, NPT_RES };
#define NPROTO 3

struct ing_engine {
    struct tsdb *db;
    const struct clk *clock;
    uint64_t max_pending;
    _Atomic uint64_t pending;
    struct ing__series_cache cache;
    struct metric *lines[NPROTO][NLINE_RES];
    struct metric *points[NPROTO][NPT_RES];
    struct metric_family *requests;
    struct metric *pending_gauge;
    struct metric *hits, *misses;
};

static const char *const proto_names[NPROTO] = { "http", "tcp", "udp" };

static void register_metrics(struct ing_engine *g, struct metrics_registry *r)
{
    if (!r)
        return;
    static const char *const line_res[NLINE_RES] = { "accepted", "parse_error" };
    static const char *const pt_res[NPT_RES] = { "written", "dropped_type_conflict",
                                                 "dropped_retention", "dropped_invalid" };
    struct metric_family *lf =
        metrics_family(r, METRIC_COUNTER, "nightjar_ingest_lines_total",
                       "Line-protocol lines received, by protocol and result.", "proto,result",
                       NULL, 0);
    struct metric_family *pf =
        metrics_family(r, METRIC_COUNTER, "nightjar_ingest_points_total",
                       "Parsed points, by protocol and what storage did with them.",
                       "proto,result", NULL, 0);
    g->requests = metrics_family(r, METRIC_COUNTER, "nightjar_ingest_requests_total",
                                 "Write requests answered, by protocol and HTTP status.",
                                 "proto,status", NULL, 0);
    for (size_t p = 0; p < NPROTO; p++) {
        for (size_t i = 0; lf && i < NLINE_RES; i++)
            g->lines[p][i] = metrics_child2(lf, proto_names[p], line_res[i]);
        for (size_t i = 0; pf && i < NPT_RES; i++)
            g->points[p][i] = metrics_child2(pf, proto_names[p], pt_res[i]);
    }
    g->pending_gauge = metrics_gauge(r, "nightjar_ingest_pending_bytes",
                                     "Bytes of write bodies admitted and not yet finished.");
    g->hits = metrics_counter(r, "nightjar_ingest_series_cache_hits_total",
                              "Points whose series id came from the series cache.");
    g->misses = metrics_counter(r, "nightjar_ingest_series_cache_misses_total",
                                "Points whose series was not in the series cache.");
}

static void madd(struct metric *m, double v)
{
    if (m && v != 0)
        metric_add(m, v);
}

int ing_engine_new(const struct ing_opts *o, struct ing_engine **out, struct err *e)
{
    *out = NULL;
    if (!o->db || !o->clock)
        return err_set(e, ERR_INVAL, "ingest: a store and a clock are required");
    struct ing_engine *g = xcalloc(1, sizeof *g);
    g->db = o->db;
    g->clock = o->clock;
    g->max_pending = o->max_pending_bytes;
    atomic_init(&g->pending, 0);
    ing__cache_init(&g->cache, CACHE_MAX_BYTES);
    register_metrics(g, o->metrics);
    *out = g;
    return 0;
}

void ing_engine_free(struct ing_engine *g)
{
    if (!g)
        return;
    ing__cache_fini(&g->cache);
    free(g);
}

bool ing_pending_acquire(struct ing_engine *g, size_t n)
{
    uint64_t cur = atomic_load(&g->pending);
    for (;;) {
        /* Over budget, unless nothing else is pending (a request bigger
         * than the whole budget must not starve). */
        if (cur != 0 && (cur + n > g->max_pending || cur + n < cur))
            return false;
        if (atomic_compare_exchange_weak(&g->pending, &cur, cur + n))
            break;
    }
    madd(g->pending_gauge, (double)n);
    return true;
}

void ing_pending_release(struct ing_engine *g, size_t n)
{
    atomic_fetch_sub(&g->pending, n);
    madd(g->pending_gauge, -(double)n);
}

uint64_t ing_pending_bytes(const struct ing_engine *g)
{
    return atomic_load(&((struct ing_engine *)g)->pending);
}

/* ---- one request ---------------------------------------------------------- */

struct conv {
    struct tsdb_tag *tags;
    size_t cap_tags;
    struct tsdb_field *fields;
    size_t cap_fields;
    struct buf key; /* db \0 rp \0 raw key */
    size_t prefix_n;
    struct tsdb_point tp; /* the converted point, views into tags/fields */
    uint64_t h;           /* hash of key */
};

static enum tsdb_type tsdb_type_of(enum lp_type t)
{
    switch (t) {
    case LP_INTEGER:
        return TSDB_INT;
    case LP_UNSIGNED:
        return TSDB_UINT;
    case LP_STRING:
        return TSDB_STRING;
    case LP_BOOLEAN:
        return TSDB_BOOL;
    case LP_FLOAT:
        break;
    }
    return TSDB_FLOAT;
}

static void convert(struct conv *c, struct lp_point *pt, struct tsdb_point *out)
{
    if (pt->has_dup_fields)
        (void)lp_point_dedup_fields(pt, NULL); /* on ERR_TYPE tsdb reports the conflict */
    if (pt->ntags > c->cap_tags) {
        c->cap_tags = pt->ntags * 2;
        c->tags = xrealloc(c->tags, c->cap_tags * sizeof *c->tags);
    }
    if (pt->nfields > c->cap_fields) {
        c->cap_fields = pt->nfields * 2;
        c->fields = xrealloc(c->fields, c->cap_fields * sizeof *c->fields);
    }
    for (size_t i = 0; i < pt->ntags; i++) {
        c->tags[i].key = pt->tags[i].key;
        c->tags[i].value = pt->tags[i].value;
    }
    for (size_t i = 0; i < pt->nfields; i++) {
        const struct lp_field *f = &pt->fields[i];
        struct tsdb_field *t = &c->fields[i];
        t->key = f->key;
        t->type = tsdb_type_of(f->type);
        switch (f->type) {
        case LP_FLOAT:
            t->v.f = f->v.f;
            break;
        case LP_INTEGER:
            t->v.i = f->v.i;
            break;
        case LP_UNSIGNED:
            t->v.u = f->v.u;
            break;
        case LP_STRING:
            t->v.s = f->v.s;
            break;
        case LP_BOOLEAN:
            t->v.b = f->v.b;
            break;
        }
    }
    *out = (struct tsdb_point){
        .measurement = pt->measurement,
        .tags = c->tags,
        .ntags = pt->ntags,
        .fields = c->fields,
        .nfields = pt->nfields,
        .ts_ns = pt->ts_ns,
    };
}

static void count_request(struct ing_engine *g, enum ing_proto proto, int status)
{
    if (!g->requests)
        return;
    char s[16];
    snprintf(s, sizeof s, "%d", status);
    madd(metrics_child2(g->requests, proto_names[proto], s), 1);
}

static void set_error(struct ing_result *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(struct ing_result *res, int status, const char *fmt, ...)
{
    res->http_status = status;
    buf_reset(&res->error);
    va_list ap;
    va_start(ap, fmt);
    (void)buf_vappendf(&res->error, fmt, ap);
    va_end(ap);
}

/* Appends s, cut at the buffer's cap rather than failing (a 25 MB body of
 * bad lines makes a long answer; what fits is enough). */
static void append_capped(struct buf *b, struct sv s)
{
    if (buf_append_sv(b, s) == 0)
        return;
    size_t room = b->max_bytes > b->len ? b->max_bytes - b->len : 0;
    if (room)
        (void)buf_append(b, s.p, room < s.n ? room : s.n);
}

/* What adding the points of one request tallies. */
struct adder {
    struct ing_engine *g;
    struct tsdb_batch *b;
    struct ing_result *res;
    /* 1.6 names one storage reason: the first "time" tag key, else the
     * first other rejection in line order (a type conflict, a "time" field,
     * a key too long); retention drops are reported only when nothing else
     * was dropped, and are then the only ones counted (observed on 1.6.7:
     * its shard checks "time" tags in one pass over the points, then fields
     * in a second).  Not copied: 1.6 names a conflict between two points of
     * the request over a field the request itself created even before a
     * "time" tag; telling that from a conflict with stored data would cost
     * a lookup per field. */
    struct err why_tag, why_first;
    size_t n_shard, n_retention, hits, misses;
};

/* Adds converted point c to the batch through the series cache. */
static void add_point(struct adder *a, struct conv *c)
{
    struct ing_engine *g = a->g;
    struct sv key = buf_sv(&c->key);
    uint64_t ref = 0;
    bool hit = ing__cache_get(&g->cache, key, c->h, &ref);
    uint64_t hinted = ref;
    struct err e;
    err_clear(&e);
    struct tsdb_batch_stats before;
    tsdb_batch_stats(a->b, &before);
    int rc = tsdb_batch_add(a->b, &ref, &c->tp, &e);
    if (rc == 0) {
        if (hit && ref == hinted)
            a->hits++;
        else {
            a->misses++;
            ing__cache_put(&g->cache, key, c->h, ref);
        }
        return;
    }
    a->res->dropped++;
    struct tsdb_batch_stats after;
    tsdb_batch_stats(a->b, &after);
    if (after.dropped_retention > before.dropped_retention) {
        a->n_retention++;
        return;
    }
    a->n_shard++;
    struct err *slot =
        rc != ERR_TYPE && strncmp(e.msg, "invalid tag key", 15) == 0 ? &a->why_tag : &a->why_first;
    if (!slot->code)
        *slot = e;
    if (!slot->code)
        slot->code = rc;
}

int ing_write(struct ing_engine *g, enum ing_proto proto, struct sv db, struct sv rp,
              enum lp_precision prec, const char *body, size_t len, unsigned flags,
              struct ing_result *res)
{
    res->http_status = 0;
    buf_reset(&res->error);
    res->lines = res->points_written = res->parse_errors = res->dropped = 0;
    if ((unsigned)proto >= NPROTO)
        proto = ING_PROTO_HTTP;
    if (db.n == 0) {
        set_error(res, 400, "database is required");
        count_request(g, proto, res->http_status);
        return 0;
    }

    int64_t now = clk_wall_ns(g->clock);
    struct err e;
    err_clear(&e);
    struct tsdb_batch *b = NULL;
    int rc = tsdb_batch_new(g->db, db, rp, now, &b, &e);
    bool rp_missing = false;
    struct err rp_err;
    err_clear(&rp_err);
    if (rc == ERR_NOTFOUND && strncmp(e.msg, "retention policy", 16) == 0) {
        rp_missing = true;
        rp_err = e;
    } else if (rc == ERR_NOTFOUND) {
        set_error(res, 404, "%s", e.msg);
        count_request(g, proto, res->http_status);
        return 0;
    } else if (rc < 0) {
        set_error(res, 503, "storage unavailable: %s", e.msg);
        count_request(g, proto, res->http_status);
        return rc;
    }

    struct lp_parser p;
    lp_parser_init(&p, body, len, prec, now, NULL);
    /* Two points in flight: line i is parsed and its cache slot prefetched
     * while line i-1, parsed before, is looked up and added, so the slot's
     * cache miss overlaps the parsing (points are still added in line
     * order). */
    struct conv cv[2] = { { 0 }, { 0 } };
    for (int i = 0; i < 2; i++) {
        buf_init(&cv[i].key, 0);
        (void)buf_append_sv(&cv[i].key, db);
        (void)buf_append_char(&cv[i].key, '\0');
        (void)buf_append_sv(&cv[i].key, rp);
        (void)buf_append_char(&cv[i].key, '\0');
        cv[i].prefix_n = cv[i].key.len;
    }
    struct conv *pend = NULL; /* parsed, not yet added */
    int cur = 0;
    struct buf perr;
    buf_init(&perr, res->error.max_bytes);
    struct adder a = { .g = g, .b = b, .res = res };
    err_clear(&a.why_tag);
    err_clear(&a.why_first);
    size_t npoints = 0;

    for (bool is_eof = false; !is_eof || pend;) {
        struct conv *next = NULL;
        bool is_now = false;
        if (!is_eof) {
            struct lp_point pt;
            err_clear(&e);
            int n = lp_next(&p, &pt, &e);
            if (n == 0) {
                is_eof = true;
            } else {
                res->lines++;
                if (n < 0) {
                    res->parse_errors++;
                    if (perr.len)
                        append_capped(&perr, sv_cstr("\n"));
                    if (n == ERR_PARSE) {
                        struct buf one;
                        buf_init(&one, 0);
                        if (lp_format_error(&p, &one) == 0)
                            append_capped(&perr, buf_sv(&one));
                        buf_fini(&one);
                    } else {
                        append_capped(&perr, sv_cstr(e.msg));
                    }
                    continue;
                }
                npoints++;
                if (!b)
                    continue;
                next = &cv[cur];
                cur ^= 1;
                convert(next, &pt, &next->tp);
                next->key.len = next->prefix_n;
                (void)buf_append_sv(&next->key, pt.raw_key);
                next->h = hash_sv(buf_sv(&next->key));
                ing__cache_prefetch(&g->cache, next->h);
                /* Views into the parser's own scratch die at the next
                 * lp_next(): such a point (a line with escapes or odd
                 * quoting) is added at once, after the older one. */
                is_now = pt.uses_scratch;
            }
        }
        if (pend)
            add_point(&a, pend);
        pend = next;
        if (pend && is_now) {
            add_point(&a, pend);
            pend = NULL;
        }
    }
    lp_parser_fini(&p);
    for (int i = 0; i < 2; i++) {
        free(cv[i].tags);
        free(cv[i].fields);
        buf_fini(&cv[i].key);
    }
    madd(g->hits, (double)a.hits);
    madd(g->misses, (double)a.misses);
    madd(g->lines[proto][RES_ACCEPTED], (double)(res->lines - res->parse_errors));
    madd(g->lines[proto][RES_PARSE_ERROR], (double)res->parse_errors);

    struct tsdb_batch_stats st = { 0 };
    if (b)
        tsdb_batch_stats(b, &st);
    int ret = 0;
    if (npoints == 0 && res->parse_errors) {
        /* Every line failed to parse: the errors alone, no prefix (before
         * the retention policy check, as in 1.6). */
        res->http_status = 400;
        append_capped(&res->error, buf_sv(&perr));
    } else if (rp_missing) {
        /* Even for an empty body, as 1.6 answers. */
        set_error(res, 500, "%s", rp_err.msg);
        madd(g->points[proto][PT_INVALID], (double)npoints);
    } else if (res->lines == 0) {
        res->http_status = 204;
    } else if ((flags & ING_ALL_OR_NOTHING) && res->parse_errors) {
        /* UDP: the datagram is discarded whole. */
        res->http_status = 400;
        append_capped(&res->error, buf_sv(&perr));
        madd(g->points[proto][PT_INVALID], (double)npoints);
        res->dropped = npoints;
    } else {
        err_clear(&e);
        rc = tsdb_batch_commit(b, &e);
        if (rc < 0) {
            /* Once per failure: later writes meet the failed WAL at
             * tsdb_batch_new and answer 503 without reaching here. */
            char q[300];
            log_error("ingest", "msg=\"wal commit failed; writes refused until restart\" err=%s",
                      log_quote(q, sizeof q, e.msg, strlen(e.msg)));
            set_error(res, 500, "write failed: %s", e.msg);
            madd(g->points[proto][PT_INVALID], (double)st.points);
            ret = rc;
        } else {
            res->points_written = st.points;
            if (a.n_shard) {
                const struct err *why = a.why_tag.code ? &a.why_tag : &a.why_first;
                set_error(res, 400, "partial write: %s dropped=%zu", why->msg, a.n_shard);
            } else if (a.n_retention) {
                set_error(res, 400, "partial write: points beyond retention policy dropped=%zu",
                          a.n_retention);
            } else if (res->parse_errors) {
                res->http_status = 400;
                (void)buf_append_str(&res->error, "partial write: ");
                append_capped(&res->error, buf_sv(&perr));
                append_capped(&res->error, sv_cstr(" dropped=0"));
            } else {
                res->http_status = 204;
            }
            madd(g->points[proto][PT_WRITTEN], (double)st.points);
        }
        madd(g->points[proto][PT_TYPE], (double)st.dropped_type);
        madd(g->points[proto][PT_RETENTION], (double)st.dropped_retention);
        madd(g->points[proto][PT_INVALID], (double)st.dropped_invalid);
    }
    tsdb_batch_free(&b);
    buf_fini(&perr);
    count_request(g, proto, res->http_status);
    return ret;
}

int ing_check_database(struct ing_engine *g, struct sv db, struct ing_result *res)
{
    struct tsdb_rp_info info;
    struct err e;
    err_clear(&e);
    if (db.n == 0) {
        set_error(res, 400, "database is required");
        return ERR_INVAL;
    }
    int rc = tsdb_find_rp(g->db, db, sv_make("", 0), &info, &e);
    if (rc == ERR_NOTFOUND && strncmp(e.msg, "database not found", 18) == 0) {
        set_error(res, 404, "%s", e.msg);
        return rc;
    }
    return 0;
}

void ing_count_request(struct ing_engine *g, enum ing_proto proto, int status)
{
    if ((unsigned)proto < NPROTO)
        count_request(g, proto, status);
}
