// SPDX-License-Identifier: MIT
/*
 * Aggregates and selectors over one bucket of a typed column, with InfluxDB
 * 1.6's result types and tie rules (spec §5.9, §5.10):
 *  - min/max ties go to the earliest point; first/last ties on time go to
 *    the larger value (first() of booleans: false);
 *  - median of an even count is lo + (hi - lo) / 2 of the two middle values
 *    (integers: float(lo) + float(hi - lo) / 2);
 *  - mode sorts by value in the order Go's sort.Sort leaves equal values
 *    and scans value groups exactly as influxd's *ModeReduceSlice does (so
 *    "all unique" picks the smallest value);
 *    booleans pick true when true is at least as frequent;
 *  - stddev is the sample deviation around a running mean; fewer than two
 *    points give null;
 *  - percentile is nearest rank: i = floor(n * p / 100 + 0.5) - 1;
 *  - top/bottom rank by value then earlier time, and come out in time order
 *    (points at one time in rank order: top larger first, bottom smaller);
 *    with tag arguments each tag combination first contributes its best;
 *  - sample is reservoir sampling driven by a seeded splitmix64, so the same
 *    seed gives the same rows (influxd is random: not comparable).
 * Integer sums and differences wrap through uint64 as Go's do.  Functions
 * that sort take a heap copy of the bucket (ERR_NOMEM when it fails).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "query/qfn.h"

static const char *const kind_names[QFN_KIND_COUNT_] = {
    [QFN_COUNT] = "count", [QFN_COUNT_DISTINCT] = "count_distinct",
    [QFN_SUM] = "sum", [QFN_MEAN] = "mean", [QFN_MEDIAN] = "median",
    [QFN_MODE] = "mode", [QFN_SPREAD] = "spread", [QFN_STDDEV] = "stddev",
    [QFN_DISTINCT] = "distinct", [QFN_INTEGRAL] = "integral",
    [QFN_MIN] = "min", [QFN_MAX] = "max", [QFN_FIRST] = "first",
    [QFN_LAST] = "last", [QFN_PERCENTILE] = "percentile", [QFN_TOP] = "top",
    [QFN_BOTTOM] = "bottom", [QFN_SAMPLE] = "sample",
    [QFN_DERIVATIVE] = "derivative",
    [QFN_NON_NEGATIVE_DERIVATIVE] = "non_negative_derivative",
    [QFN_DIFFERENCE] = "difference",
    [QFN_NON_NEGATIVE_DIFFERENCE] = "non_negative_difference",
    [QFN_MOVING_AVERAGE] = "moving_average",
    [QFN_CUMULATIVE_SUM] = "cumulative_sum", [QFN_ELAPSED] = "elapsed",
};

int qfn_kind_parse(struct sv name, enum qfn_kind *out)
{
    for (int k = 0; k < QFN_KIND_COUNT_; k++) {
        if (sv_eq_cstr(name, kind_names[k])) {
            *out = (enum qfn_kind)k;
            return 0;
        }
    }
    return ERR_NOTFOUND;
}

const char *qfn_kind_name(enum qfn_kind k)
{
    return (unsigned)k < QFN_KIND_COUNT_ ? kind_names[k] : "?";
}

bool qfn_kind_is_selector(enum qfn_kind k)
{
    return k >= QFN_MIN && k <= QFN_SAMPLE;
}

static bool is_numeric(enum qfn_type t)
{
    return t == QFN_T_FLOAT || t == QFN_T_INT || t == QFN_T_UINT;
}

enum qfn_type qfn_result_type(enum qfn_kind k, enum qfn_type in)
{
    switch (k) {
    case QFN_COUNT: case QFN_COUNT_DISTINCT: case QFN_ELAPSED:
        return QFN_T_INT;
    case QFN_DISTINCT: case QFN_MODE: case QFN_FIRST: case QFN_LAST:
    case QFN_SAMPLE:
        return in;
    case QFN_SUM: case QFN_SPREAD: case QFN_MIN: case QFN_MAX:
    case QFN_PERCENTILE: case QFN_TOP: case QFN_BOTTOM: case QFN_DIFFERENCE:
    case QFN_NON_NEGATIVE_DIFFERENCE: case QFN_CUMULATIVE_SUM:
        return is_numeric(in) ? in : QFN_T_NONE;
    case QFN_MEAN: case QFN_MEDIAN: case QFN_STDDEV: case QFN_INTEGRAL:
    case QFN_DERIVATIVE: case QFN_NON_NEGATIVE_DERIVATIVE:
    case QFN_MOVING_AVERAGE:
        return is_numeric(in) ? QFN_T_FLOAT : QFN_T_NONE;
    case QFN_KIND_COUNT_:
        break;
    }
    return QFN_T_NONE;
}

static int type_error(struct err *e, enum qfn_kind k, enum qfn_type t)
{
    const char *it = t == QFN_T_STRING ? "string"
                     : t == QFN_T_BOOL ? "boolean" : "unknown";
    return err_set(e, ERR_TYPE, "unsupported %s iterator type: "
                   "*query.%sInterruptIterator", qfn_kind_name(k), it);
}

static bool is_null_at(const struct qfn_values *in, size_t i)
{
    return in->is_null != NULL && in->is_null[i];
}

union qfn_val qfn_values_get(const struct qfn_values *in, size_t i)
{
    union qfn_val v;
    memset(&v, 0, sizeof v);
    switch (in->type) {
    case QFN_T_FLOAT: v.f = in->v.f[i]; break;
    case QFN_T_INT: v.i = in->v.i[i]; break;
    case QFN_T_UINT: v.u = in->v.u[i]; break;
    case QFN_T_BOOL: v.b = in->v.b[i]; break;
    case QFN_T_STRING: v.s = in->v.s[i]; break;
    case QFN_T_NONE: break;
    }
    return v;
}

double qfn_to_float(enum qfn_type t, union qfn_val v)
{
    switch (t) {
    case QFN_T_FLOAT: return v.f;
    case QFN_T_INT: return (double)v.i;
    case QFN_T_UINT: return (double)v.u;
    default: return 0;
    }
}

/* Three-way value comparison within one type (strings: bytewise, shorter
 * first on a common prefix, as Go compares strings; false < true). */
int qfn_value_cmp(enum qfn_type t, union qfn_val a, union qfn_val b)
{
    switch (t) {
    case QFN_T_FLOAT: return (a.f > b.f) - (a.f < b.f);
    case QFN_T_INT: return (a.i > b.i) - (a.i < b.i);
    case QFN_T_UINT: return (a.u > b.u) - (a.u < b.u);
    case QFN_T_BOOL: return (int)a.b - (int)b.b;
    case QFN_T_STRING: {
        size_t n = a.s.n < b.s.n ? a.s.n : b.s.n;
        int c = n ? memcmp(a.s.p, b.s.p, n) : 0;
        if (c != 0)
            return c < 0 ? -1 : 1;
        return (a.s.n > b.s.n) - (a.s.n < b.s.n);
    }
    case QFN_T_NONE: break;
    }
    return 0;
}

static struct qfn_point mkpt(int64_t ts, enum qfn_type t, union qfn_val v)
{
    return (struct qfn_point){ .ts_ns = ts, .type = t, .is_null = false, .v = v };
}

static struct qfn_point nullpt(int64_t ts, enum qfn_type t)
{
    struct qfn_point p;
    memset(&p, 0, sizeof p);
    p.ts_ns = ts;
    p.type = t;
    p.is_null = true;
    return p;
}

/* Copies the non-null points of in[lo, hi) to a fresh array. */
static struct qfn_point *collect(const struct qfn_values *in, size_t lo,
                                 size_t hi, size_t *n)
{
    size_t cap = hi - lo ? hi - lo : 1;
    struct qfn_point *a = malloc(cap * sizeof *a);
    if (a == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = lo; i < hi; i++)
        if (!is_null_at(in, i))
            a[k++] = mkpt(in->ts_ns[i], in->type, qfn_values_get(in, i));
    *n = k;
    return a;
}

/* qsort has no context argument: the element type travels in the points. */
static int by_value_time(const void *pa, const void *pb)
{
    const struct qfn_point *a = pa, *b = pb;
    int c = qfn_value_cmp(a->type, a->v, b->v);
    if (c != 0)
        return c;
    return (a->ts_ns > b->ts_ns) - (a->ts_ns < b->ts_ns);
}

static int by_value_desc_time(const void *pa, const void *pb)
{
    const struct qfn_point *a = pa, *b = pb;
    int c = qfn_value_cmp(a->type, b->v, a->v);
    if (c != 0)
        return c;
    return (a->ts_ns > b->ts_ns) - (a->ts_ns < b->ts_ns);
}

static int by_time_value(const void *pa, const void *pb)
{
    const struct qfn_point *a = pa, *b = pb;
    if (a->ts_ns != b->ts_ns)
        return a->ts_ns < b->ts_ns ? -1 : 1;
    return qfn_value_cmp(a->type, a->v, b->v);
}

/* top's output order: by time, points at the same time larger first (the
 * rank order influxd's top reducer leaves them in, observed). */
static int by_time_value_desc(const void *pa, const void *pb)
{
    const struct qfn_point *a = pa, *b = pb;
    if (a->ts_ns != b->ts_ns)
        return a->ts_ns < b->ts_ns ? -1 : 1;
    return qfn_value_cmp(a->type, b->v, a->v);
}

struct gpoint {
    struct qfn_point p;
    uint32_t group;
};

static int gp_rank(const struct qfn_point *a, const struct qfn_point *b,
                   bool is_top)
{
    int c = qfn_value_cmp(a->type, a->v, b->v);
    if (c != 0)
        return is_top ? -c : c;
    return (a->ts_ns > b->ts_ns) - (a->ts_ns < b->ts_ns);
}

static int gp_by_group_top(const void *pa, const void *pb)
{
    const struct gpoint *a = pa, *b = pb;
    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    return gp_rank(&a->p, &b->p, true);
}

static int gp_by_group_bottom(const void *pa, const void *pb)
{
    const struct gpoint *a = pa, *b = pb;
    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    return gp_rank(&a->p, &b->p, false);
}

static int gp_rank_top(const void *pa, const void *pb)
{
    const struct gpoint *a = pa, *b = pb;
    return gp_rank(&a->p, &b->p, true);
}

static int gp_rank_bottom(const void *pa, const void *pb)
{
    const struct gpoint *a = pa, *b = pb;
    return gp_rank(&a->p, &b->p, false);
}

static int gp_by_time(const void *pa, const void *pb)
{
    const struct gpoint *a = pa, *b = pb;
    if (a->p.ts_ns != b->p.ts_ns)
        return a->p.ts_ns < b->p.ts_ns ? -1 : 1;
    return qfn_value_cmp(a->p.type, a->p.v, b->p.v);
}

static int gp_by_time_desc(const void *pa, const void *pb)
{
    const struct gpoint *a = pa, *b = pb;
    if (a->p.ts_ns != b->p.ts_ns)
        return a->p.ts_ns < b->p.ts_ns ? -1 : 1;
    return qfn_value_cmp(a->p.type, b->p.v, a->p.v);
}

/* top/bottom with tags: influxd answers them as top(max(v), n) over a
 * GROUP BY of the tags, so each tag combination contributes its best point,
 * then the usual ranking and time order apply.  Rows carry their group
 * into args->group_out when given. */
static int top_grouped(enum qfn_kind kind, const struct qfn_args *args,
                       const struct qfn_values *in, size_t lo, size_t hi,
                       struct qfn_point *out, size_t out_cap, size_t *nout,
                       struct err *e)
{
    bool is_top = kind == QFN_TOP;
    struct gpoint *g = malloc((hi - lo ? hi - lo : 1) * sizeof *g);
    if (g == NULL)
        return err_set(e, ERR_NOMEM, "%s: out of memory", qfn_kind_name(kind));
    size_t k = 0;
    for (size_t i = lo; i < hi; i++) {
        if (is_null_at(in, i))
            continue;
        g[k].p = mkpt(in->ts_ns[i], in->type, qfn_values_get(in, i));
        g[k].group = args->group[i];
        k++;
    }
    qsort(g, k, sizeof *g, is_top ? gp_by_group_top : gp_by_group_bottom);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (i == 0 || g[i].group != g[i - 1].group)
            g[m++] = g[i];
    qsort(g, m, sizeof *g, is_top ? gp_rank_top : gp_rank_bottom);
    size_t want = (size_t)args->n < m ? (size_t)args->n : m;
    if (want > out_cap) {
        free(g);
        return err_set(e, ERR_LIMIT, "%s: %zu rows, room for %zu",
                       qfn_kind_name(kind), want, out_cap);
    }
    qsort(g, want, sizeof *g, is_top ? gp_by_time_desc : gp_by_time);
    for (size_t i = 0; i < want; i++) {
        out[i] = g[i].p;
        if (args->group_out != NULL)
            args->group_out[i] = g[i].group;
    }
    *nout = want;
    free(g);
    return 0;
}

static union qfn_val median_of(const struct qfn_point *a, size_t n)
{
    union qfn_val r;
    const struct qfn_point *lo = &a[n / 2 - (n % 2 == 0)], *hi = &a[n / 2];
    if (n % 2 == 1) {
        r.f = qfn_to_float(a->type, hi->v);
    } else if (a->type == QFN_T_FLOAT) {
        r.f = lo->v.f + (hi->v.f - lo->v.f) / 2;
    } else if (a->type == QFN_T_INT) {
        r.f = (double)lo->v.i +
              (double)(int64_t)((uint64_t)hi->v.i - (uint64_t)lo->v.i) / 2;
    } else {
        r.f = (double)lo->v.u + (double)(hi->v.u - lo->v.u) / 2;
    }
    return r;
}

/* ---- Go's sort.Sort order for mode() --------------------------------------
 *
 * influxd's *ModeReduceSlice sorts the window's points by value alone with
 * sort.Sort, which is not stable, and its tie rule reads the times of the
 * first and last point of each value group as that sort leaves them.  To
 * pick the same value among equally frequent ones we reorder the points as
 * the sort.Sort of the Go that built influxd 1.6.7 (go1.19: pattern-
 * defeating quicksort, insertion sort up to 12 elements) does, comparing by
 * value only. */

struct gsort {
    struct qfn_point *p;
    enum qfn_type type;
};

static bool gs_less(const struct gsort *g, size_t i, size_t j)
{
    return qfn_value_cmp(g->type, g->p[i].v, g->p[j].v) < 0;
}

static void gs_swap(const struct gsort *g, size_t i, size_t j)
{
    struct qfn_point t = g->p[i];
    g->p[i] = g->p[j];
    g->p[j] = t;
}

static void gs_insertion(const struct gsort *g, size_t a, size_t b)
{
    for (size_t i = a + 1; i < b; i++)
        for (size_t j = i; j > a && gs_less(g, j, j - 1); j--)
            gs_swap(g, j, j - 1);
}

static void gs_sift_down(const struct gsort *g, size_t lo, size_t hi, size_t first)
{
    size_t root = lo;
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= hi)
            return;
        if (child + 1 < hi && gs_less(g, first + child, first + child + 1))
            child++;
        if (!gs_less(g, first + root, first + child))
            return;
        gs_swap(g, first + root, first + child);
        root = child;
    }
}

static void gs_heap(const struct gsort *g, size_t a, size_t b)
{
    size_t hi = b - a;
    for (size_t i = (hi - 1) / 2 + 1; i-- > 0;)
        gs_sift_down(g, i, hi, a);
    for (size_t i = hi; i-- > 0;) {
        gs_swap(g, a, a + i);
        gs_sift_down(g, 0, i, a);
    }
}

static unsigned bit_len(size_t n)
{
    unsigned k = 0;
    for (; n; n >>= 1)
        k++;
    return k;
}

static void gs_break_patterns(const struct gsort *g, size_t a, size_t b)
{
    size_t len = b - a;
    if (len < 8)
        return;
    uint64_t rnd = len;
    size_t mod = (size_t)1 << bit_len(len);
    for (size_t i = a + (len / 4) * 2 - 1; i <= a + (len / 4) * 2 + 1; i++) {
        rnd ^= rnd << 13;
        rnd ^= rnd >> 17;
        rnd ^= rnd << 5;
        size_t other = (size_t)rnd & (mod - 1);
        if (other >= len)
            other -= len;
        gs_swap(g, i, a + other);
    }
}

static size_t gs_median(const struct gsort *g, size_t a, size_t b, size_t c, int *swaps)
{
    size_t t;
    if (gs_less(g, b, a)) { (*swaps)++; t = a; a = b; b = t; }
    if (gs_less(g, c, b)) { (*swaps)++; t = b; b = c; c = t; }
    if (gs_less(g, b, a)) { (*swaps)++; t = a; a = b; b = t; }
    (void)c;
    return b;
}

enum { GS_UNKNOWN, GS_INCREASING, GS_DECREASING };

static size_t gs_pivot(const struct gsort *g, size_t a, size_t b, int *hint)
{
    size_t l = b - a;
    int swaps = 0;
    size_t i = a + l / 4 * 1, j = a + l / 4 * 2, k = a + l / 4 * 3;
    if (l >= 8) {
        if (l >= 50) {
            i = gs_median(g, i - 1, i, i + 1, &swaps);
            j = gs_median(g, j - 1, j, j + 1, &swaps);
            k = gs_median(g, k - 1, k, k + 1, &swaps);
        }
        j = gs_median(g, i, j, k, &swaps);
    }
    *hint = swaps == 0 ? GS_INCREASING : swaps == 12 ? GS_DECREASING : GS_UNKNOWN;
    return j;
}

static bool gs_partial_insertion(const struct gsort *g, size_t a, size_t b)
{
    size_t i = a + 1;
    for (int step = 0; step < 5; step++) {
        while (i < b && !gs_less(g, i, i - 1))
            i++;
        if (i == b)
            return true;
        if (b - a < 50)
            return false;
        gs_swap(g, i, i - 1);
        if (i - a >= 2)
            for (size_t j = i - 1; j >= 1 && gs_less(g, j, j - 1); j--)
                gs_swap(g, j, j - 1);
        if (b - i >= 2)
            for (size_t j = i + 1; j < b && gs_less(g, j, j - 1); j++)
                gs_swap(g, j, j - 1);
    }
    return false;
}

/* Indices are signed here: j walks down to a (never below a, as in Go). */
static size_t gs_partition(const struct gsort *g, size_t a, size_t b, size_t pivot, bool *already)
{
    gs_swap(g, a, pivot);
    ptrdiff_t i = (ptrdiff_t)a + 1, j = (ptrdiff_t)b - 1;
    while (i <= j && gs_less(g, (size_t)i, a))
        i++;
    while (i <= j && !gs_less(g, (size_t)j, a))
        j--;
    if (i > j) {
        gs_swap(g, (size_t)j, a);
        *already = true;
        return (size_t)j;
    }
    gs_swap(g, (size_t)i++, (size_t)j--);
    for (;;) {
        while (i <= j && gs_less(g, (size_t)i, a))
            i++;
        while (i <= j && !gs_less(g, (size_t)j, a))
            j--;
        if (i > j)
            break;
        gs_swap(g, (size_t)i++, (size_t)j--);
    }
    gs_swap(g, (size_t)j, a);
    *already = false;
    return (size_t)j;
}

static size_t gs_partition_equal(const struct gsort *g, size_t a, size_t b, size_t pivot)
{
    gs_swap(g, a, pivot);
    ptrdiff_t i = (ptrdiff_t)a + 1, j = (ptrdiff_t)b - 1;
    for (;;) {
        while (i <= j && !gs_less(g, a, (size_t)i))
            i++;
        while (i <= j && gs_less(g, a, (size_t)j))
            j--;
        if (i > j)
            break;
        gs_swap(g, (size_t)i++, (size_t)j--);
    }
    return (size_t)i;
}

static void gs_pdq(const struct gsort *g, size_t a, size_t b, unsigned limit)
{
    bool balanced = true, partitioned = true;
    for (;;) {
        size_t len = b - a;
        if (len <= 12) {
            gs_insertion(g, a, b);
            return;
        }
        if (limit == 0) {
            gs_heap(g, a, b);
            return;
        }
        if (!balanced) {
            gs_break_patterns(g, a, b);
            limit--;
        }
        int hint;
        size_t pivot = gs_pivot(g, a, b, &hint);
        if (hint == GS_DECREASING) {
            for (size_t i = a, j = b - 1; i < j; i++, j--)
                gs_swap(g, i, j);
            pivot = (b - 1) - (pivot - a);
            hint = GS_INCREASING;
        }
        if (balanced && partitioned && hint == GS_INCREASING && gs_partial_insertion(g, a, b))
            return;
        if (a > 0 && !gs_less(g, a - 1, pivot)) {
            a = gs_partition_equal(g, a, b, pivot);
            continue;
        }
        bool already;
        size_t mid = gs_partition(g, a, b, pivot, &already);
        partitioned = already;
        size_t left = mid - a, right = b - mid;
        if (left < right) {
            balanced = left >= len / 8;
            gs_pdq(g, a, mid, limit);
            a = mid + 1;
        } else {
            balanced = right >= len / 8;
            gs_pdq(g, mid + 1, b, limit);
            b = mid;
        }
    }
}

static void go_sort_by_value(struct qfn_point *a, size_t n)
{
    if (n <= 1)
        return;
    struct gsort g = { a, a->type };
    gs_pdq(&g, 0, n, bit_len(n));
}

static union qfn_val mode_of(struct qfn_point *a, size_t n)
{
    if (a->type == QFN_T_BOOL) {
        size_t nt = 0;
        for (size_t i = 0; i < n; i++)
            nt += a[i].v.b;
        union qfn_val r = { .b = nt >= n - nt };
        return n == 1 ? a[0].v : r;
    }
    go_sort_by_value(a, n);
    size_t most_freq = 0, curr_freq = 0;
    union qfn_val curr = a[0].v, most = a[0].v;
    int64_t most_ts = a[0].ts_ns, curr_ts = a[0].ts_ns;
    for (size_t i = 0; i < n; i++) {
        if (qfn_value_cmp(a->type, a[i].v, curr) != 0) {
            curr_freq = 1;
            curr = a[i].v;
            curr_ts = a[i].ts_ns;
            continue;
        }
        curr_freq++;
        if (most_freq > curr_freq ||
            (most_freq == curr_freq && curr_ts > most_ts))
            continue;
        most_freq = curr_freq;
        most = a[i].v;
        most_ts = a[i].ts_ns;
    }
    return most;
}

static void stddev_of(const struct qfn_point *a, size_t n, struct qfn_point *o)
{
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += (qfn_to_float(a->type, a[i].v) - mean) / (double)(i + 1);
    if (n < 2) {
        o->is_null = true;
        o->keep_null = true;
        return;
    }
    double var = 0;
    for (size_t i = 0; i < n; i++) {
        double d = qfn_to_float(a->type, a[i].v) - mean;
        var += d * d;
    }
    o->v.f = sqrt(var / (double)(n - 1));
}

/* Sorted-copy kinds: median, mode, distinct, count_distinct, percentile,
 * top, bottom. */
static int agg_sorted(enum qfn_kind kind, const struct qfn_args *args,
                      const struct qfn_values *in, size_t lo, size_t hi,
                      int64_t bucket_ns, struct qfn_point *out,
                      size_t out_cap, size_t *nout, struct err *e)
{
    enum qfn_type rt = qfn_result_type(kind, in->type);
    size_t n;
    struct qfn_point *a = collect(in, lo, hi, &n);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "%s: out of memory", qfn_kind_name(kind));
    int rc = 0;
    *nout = 0;
    if (n == 0 && kind != QFN_DISTINCT && kind != QFN_TOP &&
        kind != QFN_BOTTOM) {
        out[0] = nullpt(bucket_ns, rt);
        *nout = 1;
        goto done;
    }
    switch (kind) {
    case QFN_MEDIAN:
        qsort(a, n, sizeof *a, by_value_time);
        out[0] = mkpt(bucket_ns, rt, median_of(a, n));
        *nout = 1;
        break;
    case QFN_MODE:
        out[0] = mkpt(bucket_ns, rt, mode_of(a, n));
        *nout = 1;
        break;
    case QFN_PERCENTILE: {
        qsort(a, n, sizeof *a, by_value_time);
        double r = floor((double)n * args->percentile / 100.0 + 0.5) - 1;
        if (r < 0 || r >= (double)n)
            out[0] = nullpt(bucket_ns, rt);
        else
            out[0] = a[(size_t)r];
        *nout = 1;
        break;
    }
    case QFN_DISTINCT: case QFN_COUNT_DISTINCT: {
        /* Sort by value then time: the first of each run is the value's
         * first occurrence. */
        qsort(a, n, sizeof *a, by_value_time);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (i == 0 || qfn_value_cmp(a->type, a[i].v, a[k - 1].v) != 0)
                a[k++] = a[i];
        if (kind == QFN_COUNT_DISTINCT) {
            out[0] = mkpt(bucket_ns, QFN_T_INT, (union qfn_val){ .i = (int64_t)k });
            *nout = 1;
            break;
        }
        if (k > out_cap) {
            rc = err_set(e, ERR_LIMIT, "distinct: %zu values, room for %zu",
                         k, out_cap);
            break;
        }
        qsort(a, k, sizeof *a, by_time_value);
        for (size_t i = 0; i < k; i++) {
            out[i] = a[i];
            out[i].ts_ns = bucket_ns;
        }
        *nout = k;
        break;
    }
    case QFN_TOP: case QFN_BOTTOM: {
        qsort(a, n, sizeof *a, kind == QFN_TOP ? by_value_desc_time
                                                : by_value_time);
        size_t k = (size_t)args->n < n ? (size_t)args->n : n;
        if (k > out_cap) {
            rc = err_set(e, ERR_LIMIT, "%s: %zu rows, room for %zu",
                         qfn_kind_name(kind), k, out_cap);
            break;
        }
        qsort(a, k, sizeof *a, kind == QFN_TOP ? by_time_value_desc : by_time_value);
        memcpy(out, a, k * sizeof *a);
        *nout = k;
        break;
    }
    default:
        rc = err_set(e, ERR_INVAL, "%s is not a sorted aggregate",
                     qfn_kind_name(kind));
        break;
    }
done:
    free(a);
    return rc;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int agg_sample(const struct qfn_args *args, const struct qfn_values *in,
                      size_t lo, size_t hi, struct qfn_point *out,
                      size_t out_cap, size_t *nout, struct err *e)
{
    size_t want = (size_t)args->n, avail = 0;
    for (size_t i = lo; i < hi; i++)
        avail += !is_null_at(in, i);
    if (want > avail)
        want = avail; /* sample(v, 1000) over 3 points gives the 3 */
    if (want > out_cap)
        return err_set(e, ERR_LIMIT, "sample: %zu rows, room for %zu", want,
                       out_cap);
    uint64_t seed = args->seed;
    size_t k = 0, seen = 0;
    for (size_t i = lo; i < hi; i++) {
        if (is_null_at(in, i))
            continue;
        struct qfn_point p = mkpt(in->ts_ns[i], in->type, qfn_values_get(in, i));
        seen++;
        if (k < want) {
            out[k++] = p;
            continue;
        }
        uint64_t r = splitmix64(&seed) % seen;
        if (r < want)
            out[r] = p;
    }
    qsort(out, k, sizeof *out, by_time_value);
    *nout = k;
    return 0;
}

int qfn_aggregate(enum qfn_kind kind, const struct qfn_args *args,
                  const struct qfn_values *in, size_t lo, size_t hi,
                  int64_t bucket_ns, struct qfn_point *out, size_t out_cap,
                  size_t *nout, struct err *e)
{
    static const struct qfn_args noargs;
    if (args == NULL)
        args = &noargs;
    *nout = 0;
    if (hi < lo || hi > in->n)
        return err_set(e, ERR_INVAL, "%s: bad range", qfn_kind_name(kind));
    enum qfn_type rt = qfn_result_type(kind, in->type);
    if (rt == QFN_T_NONE)
        return type_error(e, kind, in->type);
    if (out_cap == 0)
        return err_set(e, ERR_LIMIT, "%s: no room for a result",
                       qfn_kind_name(kind));
    switch (kind) {
    case QFN_COUNT: case QFN_SUM: case QFN_MEAN: case QFN_SPREAD:
    case QFN_MIN: case QFN_MAX: case QFN_FIRST: case QFN_LAST: {
        struct qfn_summary s;
        qfn_summary_init(&s, in->type);
        qfn_summary_add(&s, in, lo, hi);
        *nout = 1;
        return qfn_summary_result(kind, &s, bucket_ns, out, e);
    }
    case QFN_STDDEV: {
        size_t n;
        struct qfn_point *a = collect(in, lo, hi, &n);
        if (a == NULL)
            return err_set(e, ERR_NOMEM, "stddev: out of memory");
        out[0] = nullpt(bucket_ns, rt);
        if (n > 0) {
            out[0].is_null = false;
            stddev_of(a, n, &out[0]);
        }
        free(a);
        *nout = 1;
        return 0;
    }
    case QFN_PERCENTILE:
        /* out-of-range p just gives an out-of-rank (null) result, as on
         * influxd (percentile(v, -5) answers no rows) */
        if (args->percentile != args->percentile)
            return err_set(e, ERR_INVAL, "percentile: bad percentile");
        return agg_sorted(kind, args, in, lo, hi, bucket_ns, out, out_cap,
                          nout, e);
    case QFN_TOP: case QFN_BOTTOM:
        if (args->n <= 0)
            return err_set(e, ERR_INVAL, "limit (%lld) in %s function must be "
                           "at least 1", (long long)args->n, qfn_kind_name(kind));
        if (args->group != NULL)
            return top_grouped(kind, args, in, lo, hi, out, out_cap, nout, e);
        return agg_sorted(kind, args, in, lo, hi, bucket_ns, out, out_cap,
                          nout, e);
    case QFN_MEDIAN: case QFN_MODE: case QFN_DISTINCT:
    case QFN_COUNT_DISTINCT:
        return agg_sorted(kind, args, in, lo, hi, bucket_ns, out, out_cap,
                          nout, e);
    case QFN_SAMPLE:
        if (args->n <= 0)
            return err_set(e, ERR_INVAL, "sample window must be greater than "
                           "1, got %lld", (long long)args->n);
        return agg_sample(args, in, lo, hi, out, out_cap, nout, e);
    case QFN_INTEGRAL:
        return err_set(e, ERR_INVAL, "integral: use qfn_integral()");
    default:
        return err_set(e, ERR_INVAL, "%s is not an aggregate",
                       qfn_kind_name(kind));
    }
}
