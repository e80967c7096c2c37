// SPDX-License-Identifier: MIT
/*
 * Private declarations shared by the executor's files (exec*.c): the
 * per-statement run state, series emission in pieces, WHERE evaluation
 * and regexes.  Not part of the module's interface (exec.h is).
 */
#ifndef NJ_QUERY_EXEC_INT_H
#define NJ_QUERY_EXEC_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/arena.h"
#include "query/exec.h"

/* One statement being executed. */
struct qx__run {
    const struct qx_ctx *c;
    const struct qx_params *p;
    struct qx_sink *out;
    int stmt_id;
    struct arena *a;         /* freed when the statement ends */
    int sink_rc;             /* nonzero: the sink stopped the query */
    struct err *e;           /* the statement's error */
    struct mono_ns deadline; /* valid when has_deadline */
    bool has_deadline;
    uint64_t points;         /* points scanned so far (query.max_points_scanned) */
    uint64_t series;         /* series selected so far (query.max_series) */
    struct sv tz_name;       /* the SELECT's tz('...'): time strings in WHERE are local */
    struct mono_ns trial_deadline; /* p->is_trial with a clock: the budget's end */
    bool has_trial_deadline;
    bool is_over_trial;      /* p->is_trial: too large for a try; qx_run says ERR_AGAIN */
};

/* A compiled regex (freed with the statement's arena). */
struct qx__rx {
    pcre2_code *code;
    pcre2_match_data *md;
};

/* Compiles src with Go-like flags; ERR_PARSE with e set on failure. */
int qx__rx_compile(struct qx__run *r, struct sv src, struct qx__rx **out);
bool qx__rx_match(const struct qx__rx *rx, struct sv s);

/* Rows per sink call when the request sets no chunk_size. */
#define QX__DEFAULT_CHUNK_ROWS 10000

/* Emits a whole series (rows row-major) to the sink in pieces of
 * chunk_rows (QX__DEFAULT_CHUNK_ROWS when 0).  Returns 0 or ERR_CLOSED when the sink stopped (r->sink_rc). */
int qx__emit(struct qx__run *r, struct sv name, const struct tsdb_tag *tags, size_t ntags,
             const struct sv *cols, size_t ncols, const struct qx_value *vals, size_t nrows);

/* The start of influxd's shard group holding t, for groups of d ns.  Go's
 * Time.Truncate counts from year 1, so 7-day groups start on Mondays (the
 * epoch was a Thursday).  Clamped at INT64_MIN. */
int64_t qx__shard_group_start(int64_t t, int64_t d);

/* Polls the deadline and the cancel flag: 0 or ERR_TIMEOUT with e set
 * ("query-timeout limit exceeded" / "query interrupted", as influxd words
 * them); in a trial (qx_params.is_trial) also the trial's budget, ERR_AGAIN
 * with r->is_over_trial set.  Cheap enough for every few thousand points
 * of a scan loop. */
int qx__check_time(struct qx__run *r);

/* Counts one more selected series against query.max_series: 0, or ERR_LIMIT
 * with influxd's "max-select-series limit exceeded: (N/M)". */
int qx__count_series(struct qx__run *r);

/* Counts n more values read against query.max_points_scanned: 0, or
 * ERR_LIMIT with influxd's text, typo included: "max-select-point limit
 * exceeed: (N/M)". */
int qx__count_points(struct qx__run *r, uint64_t n);

/* Values a condition can read from a row. */
struct qx__row_env {
    const struct tsdb_tag *tags; /* sorted by key */
    size_t ntags;
    /* field lookup: NULL when the condition only sees tags */
    const struct qx_value *(*field)(void *arg, struct sv name);
    void *field_arg;
};

/* A WHERE clause ready to evaluate (exec_where.c): reduced as influxql
 * reduces it, time comparisons taken out, regexes compiled. */
struct qx__cx;
struct qx__cond {
    const struct iql_expr *expr; /* as written; NULL: none */
    struct qx__cx *root;         /* what is left to test; NULL: always true */
    const struct sv *fields;     /* field keys of the sources (qx__cond_set_fields) */
    size_t nfields;
    bool has_fields;             /* else a name is a field when the row has it */
};

/* Analyses expr like qx__time_range (same errors) and keeps what is left
 * of it once the time comparisons are out. */
int qx__cond_prepare(struct qx__run *r, const struct iql_expr *expr, struct qx__cond *out);
/* Tells the condition which names are fields (borrowed until the
 * statement ends): a point lacking one of them never matches a comparison
 * with it, where a missing tag is ''. */
void qx__cond_set_fields(struct qx__cond *c, const struct sv *names, size_t n);
bool qx__cond_eval(const struct qx__cond *c, const struct qx__row_env *env);
/* Whether expr compares "time" anywhere. */
bool qx__cond_has_time(const struct iql_expr *x);

/* The time range of a WHERE clause: every comparison of `time` with a
 * literal, under AND or OR alike, narrows it (influxql.ConditionExpr).
 * [*min, *max] inclusive; defaults INT64_MIN / INT64_MAX.  Errors are
 * influxd's ("invalid condition expression: 1", "invalid timestamp
 * string", "invalid operation: time and *influxql.StringLiteral are not
 * compatible", ...). */
int qx__time_range(struct qx__run *r, const struct iql_expr *cond, int64_t *min, int64_t *max);

/* Resolves the database a statement works on: explicit, else the query's. */
struct sv qx__db(struct qx__run *r, struct sv explicit_db);

int qx__exec_select(struct qx__run *r, const struct iql_select *s);

/* SELECT ... INTO (exec_into.c): runs s without its INTO through run (the
 * driver's SELECT path), writes the rows into the target and emits 1.6's
 * "result" series (time 0, written N). */
int qx__exec_into(struct qx__run *r, const struct iql_select *s,
                  int (*run)(struct qx__run *r, const struct iql_select *s));

/* What qx__write_rows wrote. */
struct qx__written {
    uint64_t written, dropped;
    char first_err[256]; /* the first refused point's error (dropped > 0) */
};

/* Runs s through run and writes its output rows as points into store's
 * db.rp (empty rp: the default), measurement meas (empty: each series'
 * own name).  Returns 0 or the statement's error; refused points are only
 * counted in out. */
int qx__write_rows(struct qx__run *r, struct tsdb *store, struct sv db, struct sv rp, struct sv meas,
                   const struct iql_select *s,
                   int (*run)(struct qx__run *r, const struct iql_select *s),
                   struct qx__written *out);

/* A SELECT reading from subqueries (exec_subquery.c): each inner SELECT runs
 * through run (with the outer time range added to its own), its rows are
 * written into a private scratch store, and s runs over that store. */
int qx__exec_subquery(struct qx__run *r, const struct iql_select *s,
                      int (*run)(struct qx__run *r, const struct iql_select *s));

/* The summary fast path for an aggregate SELECT (exec_summary.c).  Sets
 * *handled and returns the statement's result when it answered s; leaves
 * *handled false, r->e untouched and nothing emitted when s needs the scan
 * (exec_select.c). */
int qx__summary_select(struct qx__run *r, const struct iql_select *s, bool *handled);

#endif
