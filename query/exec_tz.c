// SPDX-License-Identifier: MIT
/*
 * tz('Area/City') for GROUP BY time(): the zone's UTC offset at an instant,
 * read from the system zoneinfo database (TZif files, the same data Go's
 * time.LoadLocation reads on Debian), and influxd 1.6's bucket arithmetic
 * with a location (IteratorOptions.Window and the fill iterator's stepping,
 * which move a bucket edge by the offset change when it is smaller than the
 * interval: 1d buckets start at local midnight and one of them is 23 or 25
 * hours long).
 *
 * The file is parsed here rather than through localtime_r() because that
 * needs the process-wide TZ variable, which a query running on a worker
 * thread must not change.  Only the transition table is used: the Debian
 * files are "fat" (transitions listed up to 2037); later instants keep the
 * last offset.  The zone name was validated by the parser (no "..", no
 * absolute path); it is checked again here because a file may vanish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/exec_agg.h"

#define TZ_MAX_BYTES (1 << 20)

struct qx__tz {
    int64_t *trans_s;  /* transition instants, ascending */
    uint8_t *idx;      /* type index per transition */
    size_t ntrans;
    int32_t *off_s;    /* UTC offset per type */
    bool *is_dst;
    size_t ntypes;
};

static int parse_tzif(struct arena *a, const unsigned char *d, size_t n, struct qx__tz *z);

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

int qx__tz_parse(struct arena *a, const unsigned char *d, size_t n, struct qx__tz **out)
{
    struct qx__tz *z = arena_calloc(a, sizeof *z);
    *out = NULL;
    if (parse_tzif(a, d, n, z) < 0)
        return ERR_CORRUPT;
    *out = z;
    return 0;
}

static int parse_tzif(struct arena *a, const unsigned char *d, size_t n, struct qx__tz *z)
{
    if (n < 44 || memcmp(d, "TZif", 4) != 0)
        return -1;
    size_t cnt[6];
    for (int i = 0; i < 6; i++)
        cnt[i] = be32(d + 20 + 4 * i);
    size_t tsize = 4, pos = 44;
    if (d[4] >= '2') {
        /* skip the 32-bit block to the 64-bit one */
        size_t v1 = cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0];
        if (v1 > n || pos + v1 + 44 > n || memcmp(d + pos + v1, "TZif", 4) != 0)
            return -1;
        pos += v1;
        for (int i = 0; i < 6; i++)
            cnt[i] = be32(d + pos + 20 + 4 * i);
        pos += 44;
        tsize = 8;
    }
    size_t ntrans = cnt[3], ntypes = cnt[4];
    if (ntypes == 0 || ntypes > 256 || ntrans > 100000 ||
        pos + ntrans * (tsize + 1) + ntypes * 6 > n)
        return -1;
    z->ntrans = ntrans;
    z->ntypes = ntypes;
    z->trans_s = arena_alloc(a, (ntrans ? ntrans : 1) * sizeof *z->trans_s);
    z->idx = arena_alloc(a, ntrans ? ntrans : 1);
    z->off_s = arena_alloc(a, ntypes * sizeof *z->off_s);
    z->is_dst = arena_alloc(a, ntypes * sizeof *z->is_dst);
    for (size_t i = 0; i < ntrans; i++)
        z->trans_s[i] = tsize == 8 ? (int64_t)be64(d + pos + 8 * i)
                                   : (int64_t)(int32_t)be32(d + pos + 4 * i);
    pos += ntrans * tsize;
    for (size_t i = 0; i < ntrans; i++) {
        z->idx[i] = d[pos + i];
        if (z->idx[i] >= ntypes)
            return -1;
    }
    pos += ntrans;
    for (size_t i = 0; i < ntypes; i++) {
        z->off_s[i] = (int32_t)be32(d + pos + 6 * i);
        z->is_dst[i] = d[pos + 6 * i + 4] != 0;
    }
    return 0;
}

int qx__tz_load(struct qx__run *r, struct sv name, struct qx__tz **out)
{
    *out = NULL;
    if (!name.n || sv_eq_cstr(name, "UTC") || sv_eq_cstr(name, "Local"))
        return 0;
    if (name.p[0] == '/' || name.n > 200 || memchr(name.p, '\0', name.n) ||
        strstr(arena_sv_dup(r->a, name).p, ".."))
        return err_set(r->e, ERR_INVAL, "unable to find time zone %.*s", SV_FMT(name));
    char path[512];
    const char *dir = getenv("ZONEINFO");
    snprintf(path, sizeof path, "%s/%.*s", dir && *dir ? dir : "/usr/share/zoneinfo",
             SV_FMT(name));
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(r->e, ERR_INVAL, "unable to find time zone %.*s", SV_FMT(name));
    unsigned char *d = arena_alloc(r->a, TZ_MAX_BYTES);
    size_t n = fread(d, 1, TZ_MAX_BYTES, f);
    fclose(f);
    if (qx__tz_parse(r->a, d, n, out) < 0)
        return err_set(r->e, ERR_INVAL, "unable to find time zone %.*s", SV_FMT(name));
    return 0;
}

int64_t qx__tz_offset_ns(const struct qx__tz *z, int64_t t_ns)
{
    if (!z)
        return 0;
    /* floor division: the second holding t */
    int64_t s = t_ns / 1000000000 - (t_ns % 1000000000 < 0);
    size_t type = 0;
    if (z->ntrans == 0 || s < z->trans_s[0]) {
        /* before the first transition: Go takes the first standard-time type */
        for (size_t i = 0; i < z->ntypes; i++) {
            if (!z->is_dst[i]) {
                type = i;
                break;
            }
        }
    } else {
        size_t lo = 0, hi = z->ntrans; /* last transition <= s */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (z->trans_s[mid] <= s)
                lo = mid;
            else
                hi = mid;
        }
        type = z->idx[lo];
    }
    return (int64_t)z->off_s[type] * 1000000000;
}

static int64_t iabs(int64_t v)
{
    return v < 0 ? -v : v;
}

void qx__tz_window(const struct qx__tz *z, int64_t t, int64_t d, int64_t off, int64_t *start,
                   int64_t *end)
{
    /* influxd 1.6 IteratorOptions.Window with a Location */
    t -= off;
    int64_t zone = qx__tz_offset_ns(z, t);
    int64_t dt = (int64_t)(((__int128)t + zone) % d);
    if (dt < 0)
        dt += d;
    int64_t s = t - dt;
    int64_t so = qx__tz_offset_ns(z, s);
    if (zone - so != 0 && iabs(zone - so) < d)
        s += zone - so;
    s += off;
    int64_t e = t + (d - dt) + off;
    int64_t eo = qx__tz_offset_ns(z, e);
    if (zone != eo) {
        int64_t o = zone - eo;
        if (o > 0) {
            if (e - o > s)
                e -= o;
        } else {
            e -= o;
        }
    }
    *start = s;
    if (end)
        *end = e;
}

size_t qx__tz_buckets(const struct qx__tz *z, int64_t start_ns, int64_t end_ns, int64_t d,
                      int64_t off, int64_t *out, size_t cap)
{
    /* the fill iterator's stepping: + interval, then shift by the offset
     * change seen just before the new edge when it is under an interval */
    int64_t t, last;
    qx__tz_window(z, start_ns, d, off, &t, NULL);
    qx__tz_window(z, end_ns, d, off, &last, NULL);
    int64_t cur = qx__tz_offset_ns(z, t);
    size_t n = 0;
    while (t <= last) {
        if (n == cap)
            return cap + 1; /* more than the caller planned for */
        out[n++] = t;
        if (t > INT64_MAX - d)
            break;
        t += d;
        int64_t o = qx__tz_offset_ns(z, t - 1);
        if (o != cur) {
            if (iabs(cur - o) < d)
                t += cur - o;
            cur = o;
        }
    }
    return n;
}

/* ---- printing times in the zone ------------------------------------------ */

/* A sink that forwards to inner with qx_series.tz set on every piece. */
struct tz_sink {
    struct qx_sink k;
    struct qx_sink *inner;
    const struct qx__tz *tz;
};

static int tz_series(struct qx_sink *k, int stmt_id, const struct qx_series *s)
{
    struct tz_sink *t = (struct tz_sink *)k;
    struct qx_series c = *s;
    c.tz = t->tz;
    return t->inner->series(t->inner, stmt_id, &c);
}

static int tz_end(struct qx_sink *k, const struct qx_stmt_end *end)
{
    struct tz_sink *t = (struct tz_sink *)k;
    return t->inner->end(t->inner, end);
}

int qx__emit_tz(struct qx__run *r, const struct qx__tz *tz, struct sv name,
                const struct tsdb_tag *tags, size_t ntags, const struct sv *cols, size_t ncols,
                const struct qx_value *vals, size_t nrows)
{
    if (!tz)
        return qx__emit(r, name, tags, ntags, cols, ncols, vals, nrows);
    struct tz_sink t = { .k = { .series = tz_series, .end = tz_end }, .inner = r->out, .tz = tz };
    r->out = &t.k;
    int rc = qx__emit(r, name, tags, ntags, cols, ncols, vals, nrows);
    r->out = t.inner;
    return rc;
}
