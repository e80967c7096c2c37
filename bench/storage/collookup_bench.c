// SPDX-License-Identifier: MIT
/*
 * collookup_bench: cost of finding one column in a part block, part format
 * 3 against 4 (issue #4 opsbytes; the query profile had get_col_head, the
 * per-column header walk, at 4-7 % of a 1,000-series query).  Not a test;
 * built by bench/CMakeLists.txt.
 *
 *   collookup_bench [--series N] [--fields F] [--reps R]
 *
 * Writes N series (default 2,000) of 1,080 rows on a 10 s grid with F
 * float fields (default 10, ops-like 1-2 decimal values) into an in-memory
 * part of each version, verifies it, then times R passes (default 9) of
 *   summary: tsdb__block_col_summary of the last field in every block
 *            (the summary path of a query: headers only),
 *   first / last: tsdb__block_read_only of the first / last field in every
 *            block (decodes that column and the time column).
 * Prints the median and best pass in ns per block of thread CPU time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tsdb/tsdb_int.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int sink_cb(void *arg, const int64_t *ts, size_t nrows, const struct tsdb__bcol *col)
{
    uint64_t *acc = arg;
    *acc += (uint64_t)ts[nrows - 1] + col->vals[col->count - 1].u;
    return 0;
}

int main(int argc, char **argv)
{
    size_t nser = 2000, nf = 10, reps = 9;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--series"))
            nser = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--fields"))
            nf = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--reps"))
            reps = strtoul(argv[i + 1], NULL, 10);
    }
    enum { NR = 1080 };
    static int64_t ts[NR];
    uint64_t *vals = malloc(nf * NR * sizeof *vals);
    char (*names)[32] = malloc(nf * 32);
    struct tsdb__pcol *cols = calloc(nf, sizeof *cols);
    for (size_t f = 0; f < nf; f++) {
        snprintf(names[f], 32, "field_%zu_ms", f);
        cols[f] = (struct tsdb__pcol){ sv_cstr(names[f]), TSDB_FLOAT, NULL, vals + f * NR, NULL };
    }
    printf("%-8s %-8s %12s %12s   (ns per block, %zu blocks, %zu fields, %d rows)\n", "version",
           "path", "median", "best", nser, nf, NR);
    for (uint32_t ver = 3; ver <= 4; ver++) {
        struct tsdb__pw w;
        struct err e;
        if (tsdb__pw_init_version(&w, ver))
            return 1;
        for (size_t s = 0; s < nser; s++) {
            for (size_t r = 0; r < NR; r++) {
                ts[r] = 1700000000000000000LL + (int64_t)r * 10000000000LL;
                for (size_t f = 0; f < nf; f++) {
                    double d = (double)(rnd() % (f & 1 ? 100000 : 10000)) / (f & 1 ? 10 : 100);
                    memcpy(&vals[f * NR + r], &d, 8);
                }
            }
            if (tsdb__pw_add(&w, s + 1, ts, NR, cols, nf, &e))
                return fprintf(stderr, "%s\n", e.msg), 1;
        }
        if (tsdb__pw_finish(&w, 1, &e))
            return 1;
        struct tsdb__pinfo pi;
        const uint8_t *p = (const uint8_t *)w.out.p;
        if (tsdb__part_verify(p, w.out.len, "bench.tsp", &pi, &e))
            return fprintf(stderr, "%s\n", e.msg), 1;
        struct codec_ctx *cc = codec_ctx_new();
        struct tsdb__bscratch *sc = malloc(sizeof *sc);
        static const char *const paths[] = { "summary", "first", "last" };
        double *t = malloc(reps * sizeof *t);
        uint64_t acc = 0;
        for (int path = 0; path < 3; path++) {
            struct sv key = path == 1 ? cols[0].key : cols[nf - 1].key;
            for (size_t rep = 0; rep < reps; rep++) {
                double t0 = now_s();
                for (size_t b = 0; b < pi.nents; b++) {
                    const struct tsdb__bent *be = &pi.ents[b];
                    int rc;
                    if (path == 0) {
                        struct tsdb__bcol col;
                        rc = tsdb__block_col_summary(p + be->off, be->len, key, &col,
                                                     "bench.tsp", be->off, &e);
                        acc += col.count;
                        rc = rc == 1 ? 0 : -1;
                    } else {
                        rc = tsdb__block_read_only(cc, sc, p + be->off, be->len, "bench.tsp",
                                                   be->off, key, sink_cb, &acc, &e);
                    }
                    if (rc)
                        return fprintf(stderr, "read: %s\n", e.msg), 1;
                }
                t[rep] = (now_s() - t0) * 1e9 / (double)pi.nents;
            }
            qsort(t, reps, sizeof *t, cmp_d);
            printf("%-8u %-8s %12.1f %12.1f\n", ver, paths[path], t[reps / 2], t[0]);
        }
        printf("%-8u part bytes %zu (%.3f B/value)%s\n", ver, w.out.len,
               (double)w.out.len / (double)(nser * nf * NR), acc == 42 ? " " : "");
        free(t);
        free(sc);
        codec_ctx_free(cc);
        tsdb__pinfo_fini(&pi);
        tsdb__pw_fini(&w);
    }
    free(vals);
    free(names);
    free(cols);
    return 0;
}
