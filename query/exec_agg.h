// SPDX-License-Identifier: MIT
/*
 * Private to the executor: SELECTs with function calls (exec_agg.c).
 * exec_select.c scans and groups the rows exactly as for a raw SELECT, with
 * one input column per field (or tag) the calls read; exec_agg.c evaluates
 * every select-list expression of one output series as a tree of nodes
 * (aggregates per bucket, transformations, math, literals), each giving a
 * list of points in output order, joins the lists by time into rows as
 * influxd's emitter does, applies OFFSET/LIMIT and emits the series.
 */
#ifndef NJ_QUERY_EXEC_AGG_H
#define NJ_QUERY_EXEC_AGG_H

#include "query/exec_int.h"
#include "query/qfn.h"

/* What query.max_buckets defaults to (qx_ctx.max_buckets 0). */
#define QX_MAX_BUCKETS_DEFAULT 100000

enum qx__node_kind {
    QX_N_LEAF,  /* an aggregate/selector (or integral) over input column `input` */
    QX_N_RAW,   /* the raw values of input column `input` (transformations without GROUP BY time) */
    QX_N_XFORM, /* transformation fn over child */
    QX_N_MATH,  /* lhs op rhs */
    QX_N_LIT,   /* a number literal */
};

struct qx__node {
    enum qx__node_kind kind;
    enum qfn_kind fn;             /* LEAF, XFORM */
    struct qfn_args args;
    size_t input;                 /* LEAF, RAW */
    size_t tag_input, ntag_inputs; /* LEAF top/bottom(f, tag..., n): the tag inputs */
    size_t ext;                   /* LEAF: extra intervals before (ASC) / after (DESC) the range */
    enum iql_op op;               /* MATH */
    struct qx__node *lhs, *rhs;   /* MATH */
    struct qx__node *child;       /* XFORM */
    struct qfn_point lit;         /* LIT */
    /* LEAF percentile, when qx__agg.pct_stop: a bucket whose rank falls
     * outside its points makes 1.6's reduce iterator return nothing once;
     * its fill iterator takes that for the end of all series when it comes
     * first (the first series, or after a series that reached the last
     * bucket; under fill(none) always).  State across the output series. */
    struct qx__stop {
        bool ended;              /* the column ended: later series get nothing */
        bool seen;               /* a series was read */
        bool prev_complete;      /* the last series had a value in its last bucket */
        const void *cur_rows;    /* the series the fields below are about */
        size_t cut;              /* its first bucket without rows (nb: none) */
        bool cut_whole;          /* it gets nothing at all */
    } *stop;
};

/* One column the scan fills: a field (or, is_tag, a tag value). */
struct qx__agg_input {
    struct sv ref;
    bool is_auto;                 /* a field if the measurement has one, else a tag */
};

enum qx__out_kind {
    QX_OUT_NODE,  /* the value of node */
    QX_OUT_TAG,   /* top/bottom tag argument: the selected point's tag (input) */
    QX_OUT_AUX,   /* a field/tag next to a lone selector: the selected point's row (input) */
};

struct qx__agg_out {
    enum qx__out_kind kind;
    struct qx__node *node;
    size_t input;
    struct sv name;               /* de-duplicated output name */
};

struct qx__tz;

/* exec_tz.c: tz('Area/City').  qx__tz_load: NULL for UTC; ERR_INVAL
 * "unable to find time zone X" otherwise when the file is missing or bad
 * (allocated in r->a). */
int qx__tz_load(struct qx__run *r, struct sv name, struct qx__tz **out);
/* qx__emit with every piece carrying zone tz (qx_series.tz: RFC3339 times
 * printed with the zone's offset, as influxd 1.6 prints a tz() statement's
 * times).  tz NULL: plain qx__emit. */
int qx__emit_tz(struct qx__run *r, const struct qx__tz *tz, struct sv name,
                const struct tsdb_tag *tags, size_t ntags, const struct sv *cols, size_t ncols,
                const struct qx_value *vals, size_t nrows);
/* Decodes a TZif file (v1, v2 or v3; only the transition table is kept)
 * into *out, allocated in a.  Returns 0 or ERR_CORRUPT.  Any bytes. */
int qx__tz_parse(struct arena *a, const unsigned char *d, size_t n, struct qx__tz **out);
/* The zone's UTC offset at instant t_ns, in ns (0 for a NULL zone). */
int64_t qx__tz_offset_ns(const struct qx__tz *z, int64_t t_ns);
/* influxd 1.6's bucket [start, end) holding t for interval d, offset off
 * (normalised into [0, d)) in zone z. */
void qx__tz_window(const struct qx__tz *z, int64_t t, int64_t d, int64_t off, int64_t *start,
                   int64_t *end);
/* The bucket starts from the one holding start_ns to the one holding
 * end_ns, stepped as influxd's fill iterator does, written to out; returns
 * their number, or cap + 1 (having stopped) when there are more than cap.
 * Every step moves forward (offset changes of an interval or more are not
 * applied), so the walk ends. */
size_t qx__tz_buckets(const struct qx__tz *z, int64_t start_ns, int64_t end_ns, int64_t d,
                      int64_t off, int64_t *out, size_t cap);

struct qx__agg {
    const struct qx__tz *tz;      /* tz('...') for GROUP BY time(): NULL for UTC */
    const struct qx__tz *out_tz;  /* tz('...') for printing times (set with or
                                   * without GROUP BY time()): NULL for UTC */
    struct qx__agg_input *inputs;
    size_t ninputs;
    struct qx__agg_out *outs;
    size_t nouts;
    struct qx__node *selector;    /* the one selector leaf aux/tag columns read from */
    bool has_time;                /* GROUP BY time(...) */
    int64_t interval_ns, offset_ns;
    struct qfn_fill fill;
    bool is_lone_selector;        /* one distinct call, a selector: its point's own time */
    bool is_desc;
    size_t max_ext;               /* largest node ext */
    bool pct_stop;                /* every call is percentile() of one field: 1.6's
                                   * reduce iterator stops (struct qx__stop) */
};

/* Whether an output reads mode() (directly or under transformations). */
bool qx__agg_reads_mode(const struct qx__agg *g);

/* A field key of the sources and its type (for wildcard arguments). */
struct qx__field_key {
    struct sv name;
    enum tsdb_type type;
};

/* The field and tag keys of a statement's sources, each sorted by name and
 * unique. */
struct qx__keys {
    const struct qx__field_key *fields;
    size_t nfields;
    const struct sv *tags;
    size_t ntags;
};

/* Reads the select list and GROUP BY time() of s into g.  f(*) and f(/re/)
 * expand to one call per field of keys whose type f takes, named
 * f_<field>; `*` next to a lone selector to every field and tag.  Returns
 * 0 or ERR_UNSUPPORTED / ERR_INVAL with r->e set. */
int qx__agg_plan_keys(struct qx__run *r, const struct iql_select *s,
                      const struct qx__keys *keys, struct qx__agg *g);
/* The same with field keys only (no tag keys: `*` next to a selector then
 * lists fields only). */
int qx__agg_plan(struct qx__run *r, const struct iql_select *s,
                 const struct qx__field_key *fields, size_t nfields, struct qx__agg *g);

/* Fails with influxd's "max-select-buckets limit exceeded" text when
 * GROUP BY time over [start_ns, end_ns] needs more buckets than the limit
 * (counted as influxd does, up to the bucket holding end_ns - 1).  Checked
 * once per statement, whether or not any series has points. */
int qx__agg_check_buckets(struct qx__run *r, const struct qx__agg *g, int64_t start_ns,
                          int64_t end_ns);

/* One output series: nrows merged rows (ascending time, ties in series
 * order), rows[i][c] the value of input c.  [start_ns, end_ns] is the
 * query's time range (WHERE bounds, else the earliest point / now());
 * has_min: the WHERE clause had a lower bound.  stamp_ns is the row time
 * without GROUP BY time.  The rows may reach max_ext intervals beyond the
 * range (the scan was widened for transformations). */
int qx__agg_series(struct qx__run *r, const struct iql_select *s, const struct qx__agg *g,
                   int64_t start_ns, int64_t end_ns, bool has_min, int64_t stamp_ns,
                   struct sv meas, const struct tsdb_tag *tags, size_t ntags,
                   const int64_t *ts, const struct qx_value *const *rows, size_t nrows);

#endif
