// SPDX-License-Identifier: MIT
/*
 * lp_bench: line-protocol parser throughput on one core.
 *
 *   lp_bench [-r repeats] [-s] [-k] FILE
 *
 * Reads FILE (line protocol, e.g. from shared/bench/gen_lp.py) into memory
 * and parses it `repeats` times (default 5), reporting the best pass by
 * thread CPU time (the machine is shared, so wall time is also printed but
 * is noisy).  Each
 * pass is what the write path pays before touching storage: tokenising,
 * unescaping, number conversion, and the canonical series key of every
 * point built into a reused buffer.  -s forces the faithful (slow) path,
 * -k skips the series key.  Prints MB/s (10^6 bytes), lines/s and fields/s.
 * Not a ctest test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "ingest/lp.h"

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc(n > 0 ? (size_t)n : 1);
    if (!p || (n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n)) {
        fclose(f);
        free(p);
        fprintf(stderr, "%s: read failed\n", path);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

int main(int argc, char **argv)
{
    int repeats = 5, opt;
    bool slow = false, no_key = false;
    while ((opt = getopt(argc, argv, "r:sk")) != -1) {
        switch (opt) {
        case 'r': repeats = atoi(optarg); break;
        case 's': slow = true; break;
        case 'k': no_key = true; break;
        default:
            fprintf(stderr, "usage: %s [-r repeats] [-s] [-k] FILE\n", argv[0]);
            return 2;
        }
    }
    if (optind >= argc || repeats < 1) {
        fprintf(stderr, "usage: %s [-r repeats] [-s] [-k] FILE\n", argv[0]);
        return 2;
    }
    size_t len;
    char *body = slurp(argv[optind], &len);
    if (!body)
        return 1;
    struct lp_parser p;
    lp_parser_init(&p, body, len, LP_PREC_NS, 1704067200000000000LL, NULL);
    if (slow)
        p.flags |= LP_FORCE_SLOW;
    struct buf key;
    buf_init(&key, 0);
    double best = 1e30, best_cpu = 1e30;
    uint64_t lines = 0, fields = 0, errors = 0, sink = 0;
    for (int r = 0; r < repeats; r++) {
        lp_parser_reset(&p, body, len, 1704067200000000000LL);
        lines = fields = errors = 0;
        double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
        struct lp_point pt;
        int rc;
        while ((rc = lp_next(&p, &pt, NULL)) != 0) {
            if (rc < 0) {
                errors++;
                continue;
            }
            lines++;
            fields += pt.nfields;
            sink += (uint64_t)pt.ts_ns;
            if (!no_key) {
                buf_reset(&key);
                if (lp_series_key(&pt, &key) == 0)
                    sink += key.len;
            }
        }
        double dt = now_s(CLOCK_MONOTONIC) - t0, dc = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
        if (dt < best)
            best = dt;
        if (dc < best_cpu)
            best_cpu = dc;
    }
    printf("%s: %.1f MB, best of %d: %.0f MB/s on CPU time (%.3f s), %.0f MB/s wall; "
           "%.2f M lines/s, %.1f M fields/s (CPU time), %llu errors%s%s [sink %llu]\n",
           argv[optind], (double)len / 1e6, repeats, (double)len / 1e6 / best_cpu, best_cpu,
           (double)len / 1e6 / best, (double)lines / 1e6 / best_cpu,
           (double)fields / 1e6 / best_cpu, (unsigned long long)errors,
           slow ? " (faithful path)" : "", no_key ? " (no key)" : "",
           (unsigned long long)sink);
    buf_fini(&key);
    lp_parser_fini(&p);
    free(body);
    return errors ? 1 : 0;
}
