// SPDX-License-Identifier: MIT
/*
 * Private to the executor: aggregate SELECTs (exec_agg.c).  exec_select.c
 * scans and groups the rows exactly as for a raw SELECT, with one input
 * column per call (the call's field); exec_agg.c turns the merged rows of
 * one output series into buckets, runs the qfn aggregates, fills, applies
 * ORDER BY/LIMIT/OFFSET and emits the series.
 */
#ifndef NJ_QUERY_EXEC_AGG_H
#define NJ_QUERY_EXEC_AGG_H

#include "query/exec_int.h"
#include "query/qfn.h"

/* What query.max_buckets defaults to; qx_ctx does not carry it yet. */
#define QX_MAX_BUCKETS_DEFAULT 100000

struct qx__agg_call {
    enum qfn_kind kind;
    struct qfn_args args;
    struct sv field; /* the field the call reads */
    struct sv name;  /* output column name before de-duplication */
};

struct qx__agg {
    struct qx__agg_call *calls;
    size_t ncalls;
    bool has_time;              /* GROUP BY time(...) */
    int64_t interval_ns, offset_ns;
    struct qfn_fill fill;
    bool is_lone_selector;      /* one selector call: its point's own time */
};

/* Reads the select list and GROUP BY time() of s into g.  Returns 0 or
 * ERR_UNSUPPORTED / ERR_INVAL with r->e set. */
int qx__agg_plan(struct qx__run *r, const struct iql_select *s, struct qx__agg *g);

/* Fails with influxd's "max-select-buckets limit exceeded" text when
 * GROUP BY time over [start_ns, end_ns] needs more buckets than the limit
 * (counted as influxd does, up to the bucket holding end_ns - 1).  Checked
 * once per statement, whether or not any series has points. */
int qx__agg_check_buckets(struct qx__run *r, const struct qx__agg *g, int64_t start_ns,
                          int64_t end_ns);

/* One output series: nrows merged rows (ascending time, ties in series
 * order), rows[i][c] the value of call c's field.  [start_ns, end_ns] is the
 * query's time range (WHERE bounds, else the earliest point / now()); stamp_ns
 * is the row time without GROUP BY time.  cols: the ncalls output names. */
int qx__agg_series(struct qx__run *r, const struct iql_select *s, const struct qx__agg *g,
                   int64_t start_ns, int64_t end_ns, int64_t stamp_ns, struct sv meas,
                   const struct tsdb_tag *tags, size_t ntags, const struct sv *cols,
                   const int64_t *ts, const struct qx_value *const *rows, size_t nrows);

#endif
