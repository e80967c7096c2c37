// SPDX-License-Identifier: MIT
/*
 * query/qfn: the InfluxQL function layer.  GROUP BY time bucketing, the
 * aggregates and selectors, the transformations, fill() and arithmetic, with
 * the semantics InfluxDB 1.6 shows on the wire (spec influx-compat.md
 * §5.5-§5.10; every case in tests/unit/qfn_*_test.c was observed on influxd).
 *
 * What this layer does and leaves to others:
 *  - It works on plain arrays: a column of (time, typed value) points in, one
 *    or more result points out.  It knows nothing about the executor, series,
 *    tags, storage or JSON, so a streaming executor can feed it one bucket at a
 *    time, and storage can hand it per-block summaries instead of raw points
 *    (struct qfn_summary, qfn_summary_merge()).
 *  - The executor decides which points belong to which bucket (with
 *    qfn_bucket_index()), which column gets which fill, in which order rows
 *    are emitted, and how result timestamps are chosen between "bucket start"
 *    and "the selected point's own time" (qfn_aggregate() reports both).
 *  - Strings in results are views borrowed from the input column: they live
 *    as long as the input does.
 *
 * Invariants:
 *  1. Input columns are in ascending time order (ties allowed); nulls are
 *     skipped by every function, as influxd ignores them.
 *  2. Bucket starts are aligned to the Unix epoch plus the offset, never to
 *     the query start.  All arithmetic is in int64 nanoseconds and never
 *     overflows (checked, ERR_LIMIT).
 *  3. Integer arithmetic wraps like Go's (sums are done in uint64), so no
 *     input can trigger undefined behaviour.
 *
 * Everything here is pure computation on caller-owned memory: any thread.
 */
#ifndef NJ_QUERY_QFN_H
#define NJ_QUERY_QFN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/sv.h"

/* ---- Values ----------------------------------------------------------- */

enum qfn_type {
    QFN_T_NONE = 0, /* no value yet (an empty bucket before fill) */
    QFN_T_FLOAT, QFN_T_INT, QFN_T_UINT, QFN_T_BOOL, QFN_T_STRING,
};

union qfn_val {
    double f;
    int64_t i;
    uint64_t u;
    bool b;
    struct sv s; /* borrowed from the input column */
};

/* One result (or input) point.  is_null marks an empty bucket / a missing
 * value; type then still says which type the column has when known. */
struct qfn_point {
    int64_t ts_ns;
    enum qfn_type type;
    bool is_null;
    bool keep_null;  /* a bucket with points but no value (stddev of one
                      * point): fill() leaves it null, fill(none) keeps it,
                      * as 1.6's fill iterator passes a Nil point through */
    union qfn_val v;
};

/* An input column, borrowed.  ts_ns[0..n) ascending.  Exactly the array that
 * matches type is read.  is_null may be NULL (no nulls). */
struct qfn_values {
    enum qfn_type type;
    size_t n;
    const int64_t *ts_ns;
    const bool *is_null;
    union {
        const double *f;
        const int64_t *i;
        const uint64_t *u;
        const bool *b;
        const struct sv *s;
    } v;
};

/* Value i of in (whatever is_null says).  i < in->n. */
union qfn_val qfn_values_get(const struct qfn_values *in, size_t i);
/* Three-way comparison of two values of type t: numbers numerically,
 * false < true, strings bytewise (a prefix sorts first), as Go compares. */
int qfn_value_cmp(enum qfn_type t, union qfn_val a, union qfn_val b);
/* A numeric value as a double (0 for strings and booleans). */
double qfn_to_float(enum qfn_type t, union qfn_val v);

/* ---- Buckets (GROUP BY time(interval[, offset])) ------------------------ */

/* The buckets of one query range.  first_ns/last_ns are bucket starts; the
 * bucket with start s holds points s <= t < s + interval_ns. */
struct qfn_buckets {
    int64_t interval_ns;
    int64_t offset_ns; /* normalised into [0, interval_ns) */
    int64_t first_ns, last_ns;
    size_t n;
};

/* Plans the buckets covering [start_ns, end_ns] (both inclusive: a WHERE
 * "time < X" gives end X-1): from the bucket containing start_ns to the one
 * containing end_ns, so the first bucket may start before start_ns.  With
 * no WHERE lower bound influxd starts at the earliest matching point: pass
 * its time as start_ns (and now() as end_ns when there is no upper one).  The
 * offset may be negative or larger than the interval (time(1m,-75s) equals
 * time(1m,45s)).  extra_intervals (qfn_xform_extra_intervals()) moves the
 * first bucket that many intervals earlier, as influxd does for derivative()
 * and friends over aggregates.  More than max_buckets buckets (0 = no limit)
 * is ERR_LIMIT with influxd's text "max-select-buckets limit exceeded:
 * (5/3)" (needed/limit).  Returns 0, ERR_INVAL
 * (interval <= 0, end before start) or ERR_LIMIT, with e filled. */
int qfn_bucket_plan(int64_t start_ns, int64_t end_ns, int64_t interval_ns,
                    int64_t offset_ns, size_t extra_intervals,
                    size_t max_buckets, struct qfn_buckets *b,
                    struct err *e);

/* Start of the bucket (interval, offset) that contains t: floor((t - o) / d)
 * * d + o with o normalised.  Saturates at INT64_MIN instead of overflowing.
 * interval_ns must be > 0. */
int64_t qfn_bucket_start(int64_t t_ns, int64_t interval_ns, int64_t offset_ns);

/* Index of the bucket holding t within b, or (size_t)-1 when t lies outside
 * [first_ns, last_ns + interval_ns). */
size_t qfn_bucket_index(const struct qfn_buckets *b, int64_t t_ns);

/* Start time of bucket idx (idx < b->n). */
int64_t qfn_bucket_time(const struct qfn_buckets *b, size_t idx);

/* ---- Aggregates and selectors ----------------------------------------- */

enum qfn_kind {
    /* aggregates: one row per bucket, stamped with the bucket start */
    QFN_COUNT, QFN_COUNT_DISTINCT, QFN_SUM, QFN_MEAN, QFN_MEDIAN, QFN_MODE,
    QFN_SPREAD, QFN_STDDEV, QFN_DISTINCT, QFN_INTEGRAL,
    /* selectors: the result carries the selected point's own time */
    QFN_MIN, QFN_MAX, QFN_FIRST, QFN_LAST, QFN_PERCENTILE, QFN_TOP,
    QFN_BOTTOM, QFN_SAMPLE,
    /* transformations (qfn_xform_*) */
    QFN_DERIVATIVE, QFN_NON_NEGATIVE_DERIVATIVE, QFN_DIFFERENCE,
    QFN_NON_NEGATIVE_DIFFERENCE, QFN_MOVING_AVERAGE, QFN_CUMULATIVE_SUM,
    QFN_ELAPSED,
    QFN_KIND_COUNT_
};

/* Maps a lower-cased InfluxQL call name (as iql_parse() stores it) to a
 * kind.  count(distinct(x)) is QFN_COUNT_DISTINCT: pass "count_distinct".
 * Returns 0 or ERR_NOTFOUND. */
int qfn_kind_parse(struct sv name, enum qfn_kind *out);

/* The call's name ("mean", "non_negative_derivative"). */
const char *qfn_kind_name(enum qfn_kind k);

/* True for selectors (min, max, first, last, percentile, top, bottom,
 * sample): a lone selector call reports the point's own time. */
bool qfn_kind_is_selector(enum qfn_kind k);

/* Arguments that some functions take; zero means "not given". */
struct qfn_args {
    double percentile;   /* QFN_PERCENTILE: p in percent */
    int64_t n;           /* top/bottom/sample count; moving_average window */
    int64_t unit_ns;     /* derivative/elapsed/integral unit; 0 = default */
    uint64_t seed;       /* QFN_SAMPLE: deterministic choice */
    /* top/bottom with tag arguments (top(v, "host", 2)): the id of each
     * input point's tag combination, indexed like the input column; at most
     * one point per id is kept (its best, ties to the earlier time).
     * Borrowed; NULL when the call names no tags.  When group_out is
     * non-NULL (room for as many ids as out rows) each result row's id is
     * written there, for the tag column influxd adds. */
    const uint32_t *group;
    uint32_t *group_out;
};

/* The type of f(kind) over a column of type in (QFN_T_INT for count, float
 * for mean, the input type for sum, ...), or QFN_T_NONE when influxd refuses
 * the combination (qfn_aggregate() then fails with its message). */
enum qfn_type qfn_result_type(enum qfn_kind k, enum qfn_type in);

/* Computes aggregate or selector kind over in[lo, hi) (one bucket, or the
 * whole range without GROUP BY time).  Writes up to out_cap points to out and
 * the count to *nout.  An empty range gives one null point of the result
 * type (QFN_COUNT: still null; qfn_fill_column() turns it into 0 under
 * fill(null), which keeps fill(none) able to drop it), except for the
 * multi-row kinds (distinct, top, bottom, sample), which give no rows.
 * Percentile out of rank also gives a null point.  Each out point's ts_ns is the selected point's time for
 * selectors (top/bottom/sample rows ordered by time) and bucket_ns for the
 * others.  Multi-row kinds (distinct, top, bottom, sample) need out_cap >=
 * min(n, non-null points in the range) (top/bottom/sample) or the number of
 * distinct values.  Returns 0, or
 * ERR_TYPE (unsupported type, e has influxd's "unsupported max iterator
 * type: *query.stringInterruptIterator"), ERR_INVAL (bad argument), ERR_LIMIT
 * (out_cap too small) or ERR_NOMEM.  QFN_INTEGRAL is qfn_integral(). */
int qfn_aggregate(enum qfn_kind kind, const struct qfn_args *args,
                  const struct qfn_values *in, size_t lo, size_t hi,
                  int64_t bucket_ns, struct qfn_point *out, size_t out_cap,
                  size_t *nout, struct err *e);

/* integral(field[, unit]) over the whole of in, because influxd's integral
 * carries its state across buckets: with buckets (b non-NULL) each bucket
 * with points gets the trapezoid area up to its end, interpolated linearly
 * to the bucket edge, and the next bucket starts from that edge.  Buckets
 * without points produce no row under any fill (fill(0) included), and a
 * bucket whose only point sits on its start gives none either.  Integer
 * columns reproduce 1.6's quirk: after crossing a bucket edge the first
 * trapezoid uses the interpolated edge value as the right-hand value and the
 * old left value.  Without buckets (b NULL) float columns give one row
 * stamped 0, integer columns one row stamped range_start_ns (the WHERE lower
 * bound, 0 when none), dropped when the last point lies exactly on that
 * time: all as observed on 1.6.  in holds only points inside the WHERE
 * range.  unit_ns 0 means 1s.  Writes up to out_cap rows.  Returns 0,
 * ERR_TYPE or ERR_LIMIT (out_cap too small). */
int qfn_integral(const struct qfn_values *in, int64_t unit_ns,
                 const struct qfn_buckets *b, int64_t range_start_ns,
                 struct qfn_point *out, size_t out_cap, size_t *nout,
                 struct err *e);

/* ---- Block summaries ---------------------------------------------------- */

/* What storage can precompute per block so count/sum/mean/min/max/first/
 * last/spread never need the raw points.  Numeric columns only (first/last
 * also work for bool and string, borrowed views). */
struct qfn_summary {
    enum qfn_type type;
    uint64_t count;
    union qfn_val sum;            /* float, int or uint sum (wrapping) */
    struct qfn_point min, max;    /* ties: earliest time */
    struct qfn_point first, last; /* ties on time: the larger value
                                   * (first() of booleans: false) */
};

/* Resets s to an empty summary of the column type. */
void qfn_summary_init(struct qfn_summary *s, enum qfn_type type);
/* Adds the non-null points in[lo, hi) to s. */
void qfn_summary_add(struct qfn_summary *s, const struct qfn_values *in,
                     size_t lo, size_t hi);
/* Merges src into dst (same type).  Order of merges does not matter. */
void qfn_summary_merge(struct qfn_summary *dst, const struct qfn_summary *src);
/* Result of kind (count, sum, mean, min, max, first, last, spread) from s,
 * exactly what qfn_aggregate() gives over the same points.  Returns 0 or
 * ERR_INVAL for a kind a summary cannot answer, ERR_TYPE as qfn_aggregate. */
int qfn_summary_result(enum qfn_kind kind, const struct qfn_summary *s,
                       int64_t bucket_ns, struct qfn_point *out,
                       struct err *e);

/* ---- fill() --------------------------------------------------------------- */

enum qfn_fill_mode {
    QFN_FILL_NULL = 0, QFN_FILL_NONE, QFN_FILL_NUMBER, QFN_FILL_PREVIOUS,
    QFN_FILL_LINEAR,
};

struct qfn_fill {
    enum qfn_fill_mode mode;
    bool is_int;   /* QFN_FILL_NUMBER: the literal was an integer */
    int64_t i;
    double f;
};

/* Fills the null points of one column of per-bucket results, rows[0..n) in
 * OUTPUT order (descending when ORDER BY time DESC).  is_count marks count()
 * and count(distinct()) columns, whose empty buckets become 0 under
 * fill(null).  A number becomes the column's type (truncated for integers,
 * "" for strings, false for booleans); previous copies the last non-null in
 * output order; linear interpolates by bucket time between the nearest
 * non-null neighbours, in units of interval_ns as influxd computes it
 * (integers truncated toward zero; strings and booleans stay null);
 * leading/trailing gaps stay null.  fill(none) changes nothing:
 * the caller drops rows whose every column is null.  Any thread. */
void qfn_fill_column(const struct qfn_fill *f, bool is_count,
                     enum qfn_type col_type, int64_t interval_ns,
                     struct qfn_point *rows, size_t n);

/* ---- Transformations ---------------------------------------------------- */

/* State of one transformation over one series, fed a point at a time. */
struct qfn_xform {
    enum qfn_kind kind;
    int64_t unit_ns;
    bool is_descending;     /* ORDER BY time DESC: points arrive newest first */
    size_t window;          /* moving_average */
    bool has_prev;
    struct qfn_point prev;
    union qfn_val acc;      /* cumulative_sum; moving_average's sum */
    union qfn_val *ring;    /* moving_average: the last window values */
    size_t ring_n, ring_pos;
};

/* Prepares x for kind.  default_unit_ns is what derivative() uses without a
 * unit argument: 1s on raw fields, the GROUP BY interval over an aggregate
 * (elapsed defaults to 1ns regardless).  is_descending: the points come in
 * ORDER BY time DESC (derivative keeps dividing by a positive step, elapsed
 * goes negative, as influxd answers).  moving_average needs 1 <= args->n
 * <= max_window.  Returns 0, ERR_INVAL (with influxd-like text) or
 * ERR_NOMEM.  Release with qfn_xform_fini(). */
int qfn_xform_init(struct qfn_xform *x, enum qfn_kind kind,
                   const struct qfn_args *args, int64_t default_unit_ns,
                   bool is_descending, size_t max_window, struct err *e);
void qfn_xform_fini(struct qfn_xform *x);

/* Feeds the next point in output order (null points are skipped, as
 * influxd skips fill(null) buckets).  Writes the output point to *out and
 * returns 1, returns 0 when this point produces no output (the first point,
 * the first n-1 of moving_average, negative non_negative_* results, and for
 * derivative/difference a point with the previous point's time, which is
 * ignored), or ERR_TYPE for a non-numeric value where one is required
 * (elapsed takes any type).  Output time is the input point's time. */
int qfn_xform_push(struct qfn_xform *x, const struct qfn_point *in,
                   struct qfn_point *out, struct err *e);

/* How many extra buckets before the query start the executor must compute so
 * that the first bucket gets an output: 1 for derivative/difference/elapsed
 * (and non_negative_*) and, as 1.6 does it, also 1 for moving_average(n)
 * (so its first n-2 buckets get none); 0 otherwise. */
size_t qfn_xform_extra_intervals(enum qfn_kind kind, const struct qfn_args *a);

/* ---- Arithmetic ----------------------------------------------------------- */

enum qfn_op { QFN_OP_ADD, QFN_OP_SUB, QFN_OP_MUL, QFN_OP_DIV, QFN_OP_MOD };

/* a op b with InfluxQL's promotion: int op int stays int except '/', which
 * is float; anything with a float is float; division by zero is 0 (int and
 * float); int % 0 is 0; float % 0 is null; a null operand gives null.
 * Strings and booleans give null.  uint op uint stays unsigned (wrapping);
 * uint mixed with int is computed as int64.  Never fails. */
struct qfn_point qfn_math(enum qfn_op op, const struct qfn_point *a,
                          const struct qfn_point *b);

#endif
