// SPDX-License-Identifier: MIT
/*
 * `nightjar dump --data DIR [--db D] [--rp R] [--start T] [--end T]`: the
 * offline export of stored points as line protocol (config.md "Command
 * line"), in the shape `influx_inspect export` writes, so `influx -import`
 * (or our own /write) loads it back:
 *
 *   # INFLUXDB EXPORT: <start> - <end>
 *   # DDL
 *   CREATE DATABASE "d" WITH DURATION INF NAME "autogen"
 *   CREATE RETENTION POLICY "r" ON "d" DURATION 24h REPLICATION 1
 *   # DML
 *   # CONTEXT-DATABASE: d
 *   # CONTEXT-RETENTION-POLICY: autogen
 *   m,t=a f=1,g="x" 1000000000
 *
 * One line per series and timestamp with every field it has there, times in
 * ns, names escaped by lp_write_point.  Series come in tsdb's id order, each
 * series' rows by time.
 *
 * Safety: the data dir is opened read-only (tsdb_opts.read_only): nothing is
 * created, truncated or removed, a torn WAL tail is reported on stderr and
 * left alone.  A running daemon holds storage.dir/nightjar.lock; dump takes
 * that lock too (without writing to it) and refuses with the holder's pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/strparse.h"
#include "common/xalloc.h"
#include "daemon/server.h"
#include "ingest/lp.h"
#include "tsdb/tsdb.h"

struct dump_rp {
    char *name;
    int64_t duration_ns;
    bool is_default;
};

struct dump_db {
    char *name;
    struct dump_rp *rps;
    size_t nrps;
};

struct dump {
    struct dump_db *dbs;
    size_t ndbs;
    struct buf out;
    struct lp_tag *tags;
    size_t cap_tags;
    struct lp_field *fields;
    size_t cap_fields;
    size_t *idx;
    size_t cap_idx;
    uint64_t lines;
    uint64_t skipped;
    int io_error;
};

static int collect_db(void *arg, const struct tsdb_db_info *d)
{
    struct dump *dp = arg;
    dp->dbs = xrealloc(dp->dbs, (dp->ndbs + 1) * sizeof *dp->dbs);
    struct dump_db *x = &dp->dbs[dp->ndbs++];
    x->name = sv_dup(d->name);
    x->nrps = d->nrps;
    x->rps = xcalloc(d->nrps ? d->nrps : 1, sizeof *x->rps);
    for (size_t i = 0; i < d->nrps; i++) {
        x->rps[i].name = sv_dup(d->rps[i].name);
        x->rps[i].duration_ns = d->rps[i].duration_ns;
        x->rps[i].is_default = d->rps[i].is_default;
    }
    return 0;
}

static int flush_out(struct dump *dp, bool force)
{
    if (dp->io_error)
        return dp->io_error;
    if (!force && dp->out.len < (256u << 10))
        return 0;
    if (dp->out.len && fwrite(dp->out.p, 1, dp->out.len, stdout) != dp->out.len)
        dp->io_error = ERR_IO;
    buf_reset(&dp->out);
    return dp->io_error;
}

static enum lp_type lp_type_of(enum tsdb_type t)
{
    switch (t) {
    case TSDB_INT:
        return LP_INTEGER;
    case TSDB_UINT:
        return LP_UNSIGNED;
    case TSDB_BOOL:
        return LP_BOOLEAN;
    case TSDB_STRING:
        return LP_STRING;
    case TSDB_FLOAT:
        break;
    }
    return LP_FLOAT;
}

/* Merges the fields' time-sorted points into one line per timestamp. */
static int dump_series(void *arg, const struct tsdb_series_info *s, size_t nfields,
                       const struct tsdb_field_points *fields)
{
    struct dump *dp = arg;
    if (s->ntags > dp->cap_tags) {
        dp->cap_tags = s->ntags * 2;
        dp->tags = xrealloc(dp->tags, dp->cap_tags * sizeof *dp->tags);
    }
    if (nfields > dp->cap_fields) {
        dp->cap_fields = nfields * 2;
        dp->fields = xrealloc(dp->fields, dp->cap_fields * sizeof *dp->fields);
        dp->idx = xrealloc(dp->idx, dp->cap_fields * sizeof *dp->idx);
    }
    for (size_t i = 0; i < s->ntags; i++) {
        memset(&dp->tags[i], 0, sizeof dp->tags[i]);
        dp->tags[i].key = s->tags[i].key;
        dp->tags[i].value = s->tags[i].value;
    }
    for (size_t f = 0; f < nfields; f++)
        dp->idx[f] = 0;
    struct lp_point pt;
    memset(&pt, 0, sizeof pt);
    pt.measurement = s->measurement;
    pt.tags = dp->tags;
    pt.ntags = s->ntags;
    pt.fields = dp->fields;
    pt.has_ts = true;
    /* Bounded: every round consumes at least one point. */
    for (;;) {
        bool any = false;
        int64_t t = 0;
        for (size_t f = 0; f < nfields; f++) {
            if (dp->idx[f] >= fields[f].n)
                continue;
            int64_t ft = fields[f].ts_ns[dp->idx[f]];
            if (!any || ft < t)
                t = ft;
            any = true;
        }
        if (!any)
            break;
        size_t n = 0;
        for (size_t f = 0; f < nfields; f++) {
            if (dp->idx[f] >= fields[f].n || fields[f].ts_ns[dp->idx[f]] != t)
                continue;
            const union tsdb_value *v = &fields[f].values[dp->idx[f]];
            struct lp_field *lf = &dp->fields[n++];
            memset(lf, 0, sizeof *lf);
            lf->key = fields[f].key;
            lf->type = lp_type_of(fields[f].type);
            switch (fields[f].type) {
            case TSDB_FLOAT:
                lf->v.f = v->f;
                break;
            case TSDB_INT:
                lf->v.i = v->i;
                break;
            case TSDB_UINT:
                lf->v.u = v->u;
                break;
            case TSDB_BOOL:
                lf->v.b = v->b;
                break;
            case TSDB_STRING:
                lf->v.s = v->s;
                break;
            }
            dp->idx[f]++;
        }
        pt.nfields = n;
        pt.ts_ns = t;
        int rc = lp_write_point(&dp->out, &pt);
        if (rc == ERR_INVAL)
            dp->skipped++; /* not expressible as line protocol (cannot come from /write) */
        else if (rc < 0)
            return rc;
        else
            dp->lines++;
        rc = flush_out(dp, false);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* RFC3339 ("2026-11-29T08:00:00Z", fraction and offset optional parts of
 * the grammar) or integer nanoseconds. */
static int parse_time(const char *s, int64_t *out)
{
    if (strp_i64(sv_cstr(s), out) == 0)
        return 0;
    size_t n = strlen(s);
    int64_t y, mo, d, h, mi, sec;
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
        !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
        !digits(s + 17, 2, &sec) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60)
        return -1;
    size_t i = 19;
    int64_t frac = 0;
    if (s[i] == '.') {
        int64_t scale = 100000000;
        size_t nd = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
            frac += (s[i] - '0') * scale;
            scale /= 10;
        }
        if (nd == 0 || nd > 9)
            return -1;
    }
    int64_t off = 0;
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        off = 0;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int64_t oh, om;
        if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om))
            return -1;
        off = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
    } else {
        return -1;
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    if (secs > INT64_MAX / 1000000000 - 1 || secs < INT64_MIN / 1000000000 + 1)
        return -1;
    *out = secs * 1000000000 + frac;
    return 0;
}

/* RFC3339 in UTC with nanoseconds when not whole seconds, as the export
 * header of influx_inspect shows its range. */
static const char *format_time(int64_t ns, char *out, size_t cap)
{
    int64_t secs = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, cap, "%" PRId64, ns);
        return out;
    }
    size_t n = strlen(out);
    if (frac)
        snprintf(out + n, cap - n, ".%09" PRId64 "Z", frac);
    else
        snprintf(out + n, cap - n, "Z");
    return out;
}

static void put_ident(struct buf *b, const char *s)
{
    (void)buf_append_char(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            (void)buf_append_char(b, '\\');
        (void)buf_append_char(b, *s);
    }
    (void)buf_append_char(b, '"');
}

static void put_duration(struct buf *b, int64_t ns)
{
    if (ns == TSDB_DURATION_INF)
        (void)buf_append_str(b, "INF");
    else if (ns % INT64_C(3600000000000) == 0)
        (void)buf_appendf(b, "%" PRId64 "h", ns / INT64_C(3600000000000));
    else if (ns % INT64_C(1000000000) == 0)
        (void)buf_appendf(b, "%" PRId64 "s", ns / INT64_C(1000000000));
    else
        (void)buf_appendf(b, "%" PRId64 "ns", ns);
}

static void dump_free(struct dump *dp)
{
    for (size_t i = 0; i < dp->ndbs; i++) {
        for (size_t j = 0; j < dp->dbs[i].nrps; j++)
            free(dp->dbs[i].rps[j].name);
        free(dp->dbs[i].rps);
        free(dp->dbs[i].name);
    }
    free(dp->dbs);
    free(dp->tags);
    free(dp->fields);
    free(dp->idx);
    buf_fini(&dp->out);
}

/* Refuses when a daemon holds DIR; takes the daemon's lock without writing
 * to the file.  *fd_out: keep open until done (-1 when there is no lock
 * file, i.e. no daemon ever ran there). */
static int check_daemon_lock(const char *dir, int *fd_out)
{
    char path[4096];
    *fd_out = -1;
    if ((size_t)snprintf(path, sizeof path, "%s/" DATADIR_LOCK_NAME, dir) >= sizeof path) {
        fprintf(stderr, "nightjar dump: path too long\n");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char holder[32] = "";
        ssize_t r = pread(fd, holder, sizeof holder - 1, 0);
        holder[r > 0 ? r : 0] = '\0';
        holder[strcspn(holder, "\r\n")] = '\0';
        close(fd);
        fprintf(stderr,
                "nightjar dump: %s is in use by a running nightjar (pid %s); stop it first "
                "(dump reads the data dir offline)\n",
                dir, holder[0] ? holder : "unknown");
        return -1;
    }
    *fd_out = fd;
    return 0;
}

static const char dump_usage[] =
    "usage: nightjar dump --data DIR [--db D] [--rp R] [--start T] [--end T]\n"
    "  T: RFC3339 (2026-11-29T08:00:00Z) or integer Unix nanoseconds; both inclusive\n";

int dump_main(int argc, char **argv)
{
    const char *dir = NULL, *only_db = NULL, *only_rp = NULL;
    int64_t start = INT64_MIN, end = INT64_MAX;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        const char *v = NULL;
        static const char *const names[] = { "--data", "--db", "--rp", "--start", "--end" };
        size_t k = 0;
        for (; k < 5; k++) {
            size_t n = strlen(names[k]);
            if (!strncmp(a, names[k], n) && (a[n] == '\0' || a[n] == '=')) {
                v = a[n] == '=' ? a + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
                break;
            }
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(dump_usage, stdout);
            return 0;
        }
        if (k == 5 || !v) {
            fprintf(stderr, "nightjar dump: %s \"%s\"\n%s",
                    k == 5 ? "unknown argument" : "missing value for", a, dump_usage);
            return 2;
        }
        if (k == 0)
            dst = &dir;
        else if (k == 1)
            dst = &only_db;
        else if (k == 2)
            dst = &only_rp;
        if (dst) {
            *dst = v;
        } else if (parse_time(v, k == 3 ? &start : &end) < 0) {
            fprintf(stderr, "nightjar dump: %s: \"%s\" is neither RFC3339 nor integer ns\n%s",
                    names[k], v, dump_usage);
            return 2;
        }
    }
    if (!dir || !*dir) {
        fprintf(stderr, "nightjar dump: --data DIR is required\n%s", dump_usage);
        return 2;
    }
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "nightjar dump: %s: not a data directory\n", dir);
        return 1;
    }
    int lock_fd;
    if (check_daemon_lock(dir, &lock_fd) < 0)
        return 1;

    struct tsdb_recovery_report rep;
    struct tsdb_opts o;
    tsdb_opts_init(&o, dir);
    o.read_only = true;
    o.report = &rep;
    struct tsdb *db = NULL;
    struct err e;
    err_clear(&e);
    int rc = tsdb_open(&o, &db, &e);
    if (rc < 0) {
        fprintf(stderr, "nightjar dump: cannot open %s: %s\n", dir, e.msg);
        if (lock_fd >= 0)
            close(lock_fd);
        return 1;
    }
    if (rep.truncated)
        fprintf(stderr,
                "nightjar dump: note: WAL %s has a torn tail at offset %" PRIu64
                " (%" PRIu64 " bytes, %s); exporting what precedes it, file left as is\n",
                rep.file, rep.offset, rep.bytes_dropped, rep.reason);

    struct dump dp;
    memset(&dp, 0, sizeof dp);
    buf_init(&dp.out, 0);
    (void)tsdb_list_databases(db, collect_db, &dp);
    bool found_db = !only_db;
    char t1[40], t2[40];
    (void)buf_appendf(&dp.out, "# INFLUXDB EXPORT: %s - %s\n# DDL\n",
                      format_time(start, t1, sizeof t1), format_time(end, t2, sizeof t2));
    for (size_t i = 0; i < dp.ndbs; i++) {
        struct dump_db *d = &dp.dbs[i];
        if (only_db && strcmp(only_db, d->name))
            continue;
        found_db = true;
        /* The default policy creates the database; the others are added. */
        for (int pass = 0; pass < 2; pass++) {
            for (size_t j = 0; j < d->nrps; j++) {
                struct dump_rp *r = &d->rps[j];
                if (r->is_default != (pass == 0))
                    continue;
                if (pass == 0) {
                    (void)buf_append_str(&dp.out, "CREATE DATABASE ");
                    put_ident(&dp.out, d->name);
                    (void)buf_append_str(&dp.out, " WITH DURATION ");
                    put_duration(&dp.out, r->duration_ns);
                    (void)buf_append_str(&dp.out, " NAME ");
                    put_ident(&dp.out, r->name);
                } else {
                    (void)buf_append_str(&dp.out, "CREATE RETENTION POLICY ");
                    put_ident(&dp.out, r->name);
                    (void)buf_append_str(&dp.out, " ON ");
                    put_ident(&dp.out, d->name);
                    (void)buf_append_str(&dp.out, " DURATION ");
                    put_duration(&dp.out, r->duration_ns);
                    (void)buf_append_str(&dp.out, " REPLICATION 1");
                }
                (void)buf_append_char(&dp.out, '\n');
            }
        }
    }
    (void)buf_append_str(&dp.out, "# DML\n");
    struct tsdb_snapshot *snap = tsdb_snapshot_new(db);
    int status = 0;
    for (size_t i = 0; i < dp.ndbs && status == 0; i++) {
        struct dump_db *d = &dp.dbs[i];
        if (only_db && strcmp(only_db, d->name))
            continue;
        for (size_t j = 0; j < d->nrps && status == 0; j++) {
            struct dump_rp *r = &d->rps[j];
            if (only_rp && strcmp(only_rp, r->name))
                continue;
            (void)buf_appendf(&dp.out, "# CONTEXT-DATABASE: %s\n# CONTEXT-RETENTION-POLICY: %s\n",
                              d->name, r->name);
            err_clear(&e);
            rc = tsdb_snapshot_scan(snap, sv_cstr(d->name), sv_cstr(r->name), sv_make("", 0),
                                    start, end, dump_series, &dp, &e);
            if (rc < 0) {
                fprintf(stderr, "nightjar dump: %s.%s: %s\n", d->name, r->name,
                        e.code ? e.msg : err_str(rc));
                status = 1;
            }
        }
    }
    if (flush_out(&dp, true) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "nightjar dump: write error on stdout: %s\n", strerror(errno));
        status = 1;
    }
    if (status == 0 && !found_db) {
        fprintf(stderr, "nightjar dump: database not found: \"%s\"\n", only_db);
        status = 1;
    }
    if (dp.skipped)
        fprintf(stderr, "nightjar dump: %" PRIu64 " rows not expressible as line protocol "
                        "were skipped\n",
                dp.skipped);
    fprintf(stderr, "nightjar dump: %" PRIu64 " lines\n", dp.lines);
    tsdb_snapshot_free(&snap);
    tsdb_close(&db);
    dump_free(&dp);
    if (lock_fd >= 0)
        close(lock_fd);
    return status;
}
