// SPDX-License-Identifier: MIT
/*
 * query/exec.h: the InfluxQL executor and the /query result encoders.
 *
 * What it does: qx_run() parses a query (iql.h), executes every statement
 * against tsdb and hands the results, statement by statement and series by
 * series, to a struct qx_sink.  The sinks in result.c encode InfluxDB 1.6's
 * JSON (buffered, pretty, chunked) and CSV byte for byte; the alert
 * evaluator can pass its own sink and never touch HTTP.  http_query.c is the
 * GET|POST /query route built on both.
 *
 * What it leaves to others: storage (tsdb.h), parsing (iql.h), reading the
 * clock: the caller passes now_ns (for now() in queries) and a monotonic
 * clock for the timeout (qx_ctx.clock).
 *
 * Result model (what a sink receives):
 *   stmt 0: series piece, series piece, ..., end (error / messages)
 *   stmt 1: ...
 * A series is emitted in pieces of at most qx_params.chunk_rows rows; every
 * piece but the last of a series has is_continued set, so a buffered encoder
 * concatenates them and a chunked one sends each on its own line.  Column 0
 * of a SELECT result is "time" holding QX_TIME values (ns); meta statements
 * have no time column.
 *
 * Threads: qx_run may run on any thread; one struct qx_ctx may be shared by
 * concurrent calls (it is read only); a sink belongs to one call.
 */
#ifndef NJ_QUERY_EXEC_H
#define NJ_QUERY_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/sv.h"
#include "query/iql.h"
#include "tsdb/tsdb.h"

/* ---- values and series -------------------------------------------------- */

enum qx_kind {
    QX_NULL = 0,
    QX_FLOAT,
    QX_INT,
    QX_UINT,
    QX_BOOL,
    QX_STRING,
    QX_TIME,  /* i: Unix ns; encoded per the epoch parameter */
    /* i: a Go `int` in influxd's result (replicaN of SHOW RETENTION
     * POLICIES).  JSON prints it as a number; 1.6's CSV writer has no case
     * for Go ints and prints the column name instead, which we copy. */
    QX_GOINT,
};

struct qx_value {
    enum qx_kind kind;
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        struct sv s;
    };
};

struct qx__tz; /* a loaded tz('Area/City') zone (exec_tz.c) */

/* One piece of a result series.  Everything is borrowed for the sink call. */
struct qx_series {
    struct sv name;              /* empty: no "name" key (SHOW SERIES, ...) */
    const struct tsdb_tag *tags; /* sorted by key; ntags 0: no "tags" key */
    size_t ntags;
    const struct sv *columns;
    size_t ncolumns;
    const struct qx_value *values; /* nrows * ncolumns, row-major */
    size_t nrows;
    bool is_continued;           /* more rows of this series follow */
    /* A meta result influxd 1.6 sends whole (SHOW DATABASES, RETENTION
     * POLICIES, MEASUREMENTS, TAG KEYS, TAG VALUES): never split by
     * chunk_size, and in a chunked answer a document of its own with no
     * "partial" flags. */
    bool is_whole;
    /* The statement's tz('Area/City') zone, NULL for UTC: the JSON encoder
     * prints RFC3339 times with the zone's offset at each instant
     * ("2024-01-01T02:00:00+01:00"); epoch and CSV times are unaffected. */
    const struct qx__tz *tz;
    /* Optional: the rows as this sink's render_rows wrote them for the
     * same values (p NULL: none).  A sink that knows it may copy these bytes
     * instead of formatting values; values stays set for any other sink. */
    struct sv rendered;
};

/* A result-level message ("messages":[{"level":..,"text":..}]). */
struct qx_message {
    const char *level;
    struct sv text;
};

/* The end of one statement's result. */
struct qx_stmt_end {
    int stmt_id;
    const char *error;           /* NULL on success (NUL-terminated, borrowed) */
    const struct qx_message *messages;
    size_t nmessages;
    bool is_last;                /* no statement follows */
};

/* Receives results.  series() gets the pieces of statement stmt_id in
 * order; end() closes the statement.  A nonzero return stops the query and
 * is returned by qx_run (ERR_CLOSED for a client that went away). */
struct qx_sink {
    int (*series)(struct qx_sink *k, int stmt_id, const struct qx_series *s);
    int (*end)(struct qx_sink *k, const struct qx_stmt_end *end);
    /* Optional (NULL: the sink formats values itself).  Appends to b the
     * bytes series() would write for s's rows (nrows, ncolumns and values
     * only are read), so a reader thread can format rows ahead of the
     * query thread (exec_summary.c).  Callable from any thread while the
     * query runs: it reads only the sink's fixed settings.  Returns 0, or
     * nonzero when it cannot (then the bytes in b are meaningless). */
    int (*render_rows)(const struct qx_sink *k, const struct qx_series *s, struct buf *b);
};

/* ---- running queries ---------------------------------------------------- */

/* Shared, read-only configuration of the executor. */
struct qx_ctx {
    struct tsdb *db;                 /* borrowed; must outlive every call */
    int64_t default_retention_ns;    /* storage.retention: TSDB_DURATION_INF or > 0 */
    int64_t default_shard_ns;        /* storage.partition_duration; 0 = auto */
    uint64_t max_series;             /* query.max_series; 0 = unlimited */
    uint64_t max_points_scanned;     /* query.max_points_scanned; 0 = unlimited */
    int64_t timeout_ns;              /* query.timeout; 0 = none */
    uint64_t max_buckets;            /* query.max_buckets; 0 = 100000 (the safe
                                      * default), UINT64_MAX = unlimited */
    bool is_summary_off;             /* never answer from block summaries
                                      * (exec_summary.c): tests compare both paths */
    bool is_subquery_outer;          /* the outer SELECT over a subquery's rows: rows
                                      * before the WHERE's lower time bound count
                                      * (1.6 keeps an inner bucket that starts
                                      * before it; exec_subquery.c) */
    bool is_summary_forced;          /* tests: take the summary path whenever it is
                                      * exact, even where the scan would be cheaper */
    unsigned read_threads;           /* threads reading a summary-path statement
                                      * (exec_summary.c): 0 = automatic (a helper
                                      * for 64 series or more), 1 = the query's
                                      * thread alone, 2 = a helper whenever there
                                      * are two groups (tests) */
    const struct clk *clock;         /* monotonic time for query.timeout, read once
                                      * at the start and in scan loops; NULL = no
                                      * timeout (the engine never reads the real
                                      * clock by itself) */
};

/* What a query read, for tests and self-metrics (atomic adds). */
struct qx_stats {
    uint64_t summary_blocks;         /* blocks answered from their summary */
    uint64_t points_decoded;         /* values decoded by the summary path */
    uint64_t summary_statements;     /* statements the summary path answered */
};

struct qx_params {
    struct sv db;                    /* default database (may be empty) */
    struct sv rp;                    /* default retention policy (may be empty) */
    int64_t now_ns;                  /* what now() means; the engine never reads the clock */
    const struct iql_params *params; /* bound $parameters; may be NULL */
    size_t chunk_rows;               /* max rows per series piece; 0 = 10000 */
    bool is_read_only;               /* GET: mutating statements get 1.6's warning */
    const int *is_cancelled;         /* atomic flag polled while scanning; may be NULL */
    struct qx_stats *stats;          /* may be NULL */
    bool is_trial;                   /* a quick try (the HTTP loop thread): see qx_run */
};

/* Parses q (n bytes; surrounding white space is trimmed as influxd does)
 * and executes its statements in order, reporting each to out.  Execution
 * stops at the first failing statement (as in 1.6); its error goes to
 * out->end with is_last telling whether statements were skipped.
 * Returns 0 when the query parsed (statement errors are results, not
 * failures); ERR_PARSE with e->msg = influxd's text *without* the
 * "error parsing query: " prefix (long_msg, when not NULL, gets the full
 * untruncated text); or the sink's nonzero value.  Any thread.
 *
 * With p->is_trial the query is only tried, for a caller that must not be
 * held up long (the HTTP server's loop thread): it returns ERR_AGAIN, with
 * whatever it sent to out to be thrown away, as soon as it looks larger
 * than a quick answer: a statement other than SELECT (without INTO), SHOW
 * DATABASES or SHOW RETENTION POLICIES (checked before anything runs, so a
 * trial never has side effects); a SELECT without a lower time bound or
 * spanning more than QX_TRIAL_MAX_SPAN_NS; more than QX_TRIAL_MAX_SERIES
 * series or QX_TRIAL_MAX_POINTS points read; or, with c->clock, more than
 * QX_TRIAL_BUDGET_NS spent.  The caller then runs it again without
 * is_trial.  Otherwise the answer is exactly the untried one. */
#define QX_TRIAL_BUDGET_NS (2 * 1000 * 1000)
#define QX_TRIAL_MAX_SERIES 16
#define QX_TRIAL_MAX_POINTS 200000
#define QX_TRIAL_MAX_SPAN_NS (7 * 24 * 3600 * 1000000000LL)
int qx_run(const struct qx_ctx *c, const char *q, size_t n, const struct qx_params *p,
           struct qx_sink *out, struct err *e, struct buf *long_msg);

/* Parses the /query `params` JSON object into *out (allocated in a).
 * Returns 0, or ERR_PARSE with e->msg as influxd words it after its
 * "error parsing query parameters: " prefix.  Any thread. */
int qx_parse_params_json(struct sv json, struct arena *a, struct iql_params *out, struct err *e);

/* ---- encoders (result.c) ------------------------------------------------ */

enum qx_format { QX_FMT_JSON = 0, QX_FMT_CSV };

/* Divisor of the `epoch` parameter: "ns"/"n" 1, "u" 1e3 ("µ" is ns, as in 1.6), "ms" 1e6,
 * "s" 1e9, "m" 60e9, "h" 3600e9; absent or empty 0 (RFC3339 strings);
 * anything else 1 (1.6 treats unknown units as ns). */
int64_t qx_epoch_divisor(const char *epoch, size_t n);

/* Flushes what the encoder has produced so far (chunked output).  Returns
 * 0 or a nonzero value that stops the query. */
typedef int (*qx_flush_cb)(void *arg, struct buf *out);

/* A sink that encodes into out: JSON ({"results":[...]}) or CSV.  With
 * chunked set, every series piece (and every statement end) becomes one
 * complete JSON document followed by "\n" and flush is called after each;
 * otherwise results accumulate until qx_enc_finish.  epoch_div as from
 * qx_epoch_divisor.  pretty: Go's json.MarshalIndent with 4 spaces. */
struct qx_enc {
    struct qx_sink sink;             /* first: a struct qx_enc * is a sink */
    enum qx_format fmt;
    bool is_chunked;
    bool is_pretty;
    int64_t epoch_div;
    struct buf *out;                 /* borrowed */
    qx_flush_cb flush;
    void *flush_arg;
    /* state */
    struct buf stmt;                 /* CSV: the current statement's lines */
    size_t stmt_mark;                /* buffered JSON: out->len after the open statement's
                                      * {"statement_id":N (a failure truncates back to it) */
    bool is_stmt_open;               /* buffered JSON: that prefix is in out */
    struct buf pend;                 /* chunked: the piece waiting for its "partial" */
    int cur_stmt;
    bool has_series;                 /* current statement produced series */
    bool is_in_series;               /* buffered: inside a series' "values" */
    size_t series_rows;
    size_t nresults;
    bool has_csv_output;
    int csv_stmt;
    int whole_stmt;                  /* chunked: last statement that sent a whole series */
    struct buf csv_cols;             /* CSV: the last header's columns */
    int err;
};

void qx_enc_init(struct qx_enc *x, enum qx_format fmt, struct buf *out, int64_t epoch_div,
                 bool is_chunked, bool is_pretty, qx_flush_cb flush, void *flush_arg);
/* Writes the end of the answer (buffered JSON: the whole document).
 * Returns 0 or ERR_LIMIT/ERR_NOMEM from out. */
int qx_enc_finish(struct qx_enc *x);
void qx_enc_fini(struct qx_enc *x);

/* Appends a request-level error as 1.6's CSV writer does:
 * "error\n<message, CSV-quoted when needed>\n". */
int qx_csv_error(struct buf *b, struct sv msg);
/* Appends t (Unix ns) as Go's RFC3339Nano in UTC ("2023-01-01T00:00:00.123Z"). */
int qx_append_rfc3339(struct buf *b, int64_t t_ns);
/* The same for local time t_ns + off_ns with that offset ("+01:00"; "Z"
 * when the offset is 0; seconds of an offset are dropped, as Go does). */
int qx_append_rfc3339_off(struct buf *b, int64_t t_ns, int64_t off_ns);
/* Appends d like Go's time.Duration.String ("720h0m0s", "0s", "1.5s", "500ms"). */
int qx_append_go_duration(struct buf *b, int64_t d_ns);
/* Re-indents compact JSON src[0..n) as Go's json.Indent(prefix "", indent
 * 4 spaces) and appends it to b. */
int qx_json_indent(struct buf *b, const char *src, size_t n);

/* ---- HTTP (http_query.c) ------------------------------------------------ */

struct http_request;
struct http_response;

/* What a /query request runs with, supplied by the daemon per request (so
 * the executor never reads the daemon's state or the clock itself). */
struct qx_http_env {
    struct qx_ctx ctx;               /* ctx.db NULL: statements fail "storage is not open" */
    int64_t now_ns;                  /* wall time for now() */
    const int *is_cancelled;         /* may be NULL */
};

/* Answers one GET|POST /query request.  The daemon registers its own tiny
 * route handler for "/query" with methods "GET,POST" and flags
 * HTTP_ROUTE_WORKER | HTTP_ROUTE_STREAM | HTTP_ROUTE_CORS |
 * HTTP_ROUTE_TRY_LOOP, fills env and calls this (so no state needs an owner
 * beyond the server context).  env is borrowed for the call.  Loop thread
 * when req->is_on_loop (a trial run: answers small read-only queries,
 * defers the rest with http_response_defer), else a worker thread (streams
 * with http_response_flush when chunked=true). */
void qx_http_handle(struct http_request *req, struct http_response *resp,
                    const struct qx_http_env *env);

#endif
