// SPDX-License-Identifier: MIT
/*
 * Float formatting speed (issue #5, docs/BENCHMARKS.md "Query output and
 * request overhead"): ns per double for common/fmt_float's Go JSON form
 * against the old printf + strtod search (tests/support/fmt_float_ref.h
 * ref_json, the code common/json.c had), on the same inputs in the same run.
 *
 *   build/bench/fmt_float_bench [N]      (default N = 1000000 per input set)
 *
 * Input sets: "query" = values like a 1m mean of a percentage (random
 * doubles in 0..100 rounded to 1..6 decimals, then averaged over 6: typical
 * 15-17-digit means), "short" = 1-4 digit decimals, "bits" = random finite
 * bit patterns.  Each set is formatted once untimed (warm-up), then timed
 * in thread CPU time (CLOCK_THREAD_CPUTIME_ID, so a loaded machine does not
 * count other processes' time); best of 3 runs is printed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fmt_float.h"
#include "tests/support/fmt_float_ref.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next_u64(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dULL;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile size_t sink;

static double run(const double *v, size_t n, int use_ref)
{
    char out[FMT_FIXED_MAX + 1];
    double best = 1e300;
    for (int rep = 0; rep < 3; rep++) {
        size_t total = 0;
        double t0 = now_ns();
        for (size_t i = 0; i < n; i++)
            total += use_ref ? ref_json(v[i], out) : fmt_f64_json(v[i], out);
        double dt = (now_ns() - t0) / (double)n;
        sink += total;
        if (dt < best)
            best = dt;
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    double *v = malloc(n * sizeof *v);
    if (!v)
        return 1;
    static const char *names[] = {"query", "short", "bits"};
    printf("%-6s %12s %12s %8s\n", "set", "fmt_float", "printf+strtod", "speedup");
    for (int set = 0; set < 3; set++) {
        for (size_t i = 0; i < n; i++) {
            if (set == 0) {
                double s = 0;
                for (int k = 0; k < 6; k++) {
                    double p = pow(10, (double)(1 + next_u64() % 6));
                    s += round((double)(next_u64() % 100000000) / 1e6 * p) / p;
                }
                v[i] = s / 6;
            } else if (set == 1) {
                v[i] = (double)(next_u64() % 10000) / pow(10, (double)(next_u64() % 4));
            } else {
                uint64_t b;
                do
                    b = next_u64();
                while (((b >> 52) & 0x7ff) == 0x7ff);
                memcpy(&v[i], &b, sizeof b);
            }
        }
        char out[FMT_FIXED_MAX + 1], ref[512];
        for (size_t i = 0; i < n; i++) { /* warm-up, and the two must agree */
            size_t a = fmt_f64_json(v[i], out), b = ref_json(v[i], ref);
            if (a != b || memcmp(out, ref, a) != 0) {
                uint64_t bits;
                memcpy(&bits, &v[i], sizeof bits);
                if ((bits & ((UINT64_C(1) << 52) - 1)) != 0) { /* powers of two may differ */
                    fprintf(stderr, "mismatch %a: %.*s vs %s\n", v[i], (int)a, out, ref);
                    return 1;
                }
            }
        }
        double fast = run(v, n, 0), slow = run(v, n, 1);
        printf("%-6s %9.1f ns %10.1f ns %7.1fx\n", names[set], fast, slow, slow / fast);
    }
    free(v);
    return 0;
}
