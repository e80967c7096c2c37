// SPDX-License-Identifier: MIT
/*
 * query/: the read path.  This header is the module's one public interface.
 * For now it holds the InfluxQL language layer: the AST, the parser and the
 * renderer; the executor (planner, evaluator, /query HTTP API) will be
 * declared below it later.
 *
 * What this layer does and leaves to others:
 *  - iql_parse() turns query text into an AST allocated in a caller-owned
 *    arena (one arena per query; free it all with arena_fini()).  Strings in
 *    the AST are views into that arena, already unescaped and NUL-terminated.
 *  - Parse errors read exactly as InfluxDB 1.6 prints them after its
 *    "error parsing query: " prefix ("found X, expected Y at line 1, char N",
 *    "invalid duration", "unable to find time zone X", ...).  The scanner
 *    reproduces 1.6's position quirks (string and regex tokens report the
 *    character before their opening quote, as influxd does).
 *  - Regexes are kept as source text (with "\/" turned into "/") and are only
 *    validated here (RE2 syntax as Go accepts it, then PCRE2); the executor
 *    compiles them.  For Go's semantics compile with PCRE2_UTF |
 *    PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY and match unanchored.
 *  - Time literals stay what they were written as (strings, integers,
 *    durations, now() calls): turning them into time ranges is the planner's
 *    job, because it depends on tz() and on the comparison operator.
 *  - iql_select_check() performs the compile-time checks influxd reports as
 *    statement errors (inside a 200 answer), not as parse errors.
 *
 * Everything here is pure computation on caller-owned memory: any thread.
 */
#ifndef NJ_QUERY_IQL_H
#define NJ_QUERY_IQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/sv.h"

/* ---- Expressions ------------------------------------------------------ */

enum iql_op {
    IQL_OP_NONE = 0,
    IQL_OP_ADD, IQL_OP_SUB, IQL_OP_MUL, IQL_OP_DIV, IQL_OP_MOD,
    IQL_OP_BITAND, IQL_OP_BITOR, IQL_OP_BITXOR,
    IQL_OP_AND, IQL_OP_OR,
    IQL_OP_EQ, IQL_OP_NEQ, IQL_OP_EQREGEX, IQL_OP_NEQREGEX,
    IQL_OP_LT, IQL_OP_LTE, IQL_OP_GT, IQL_OP_GTE,
    IQL_OP_IN, /* only as the operator of SHOW TAG VALUES WITH KEY IN (...) */
};

/* Type hints written as name::type. */
enum iql_vtype {
    IQL_VT_UNKNOWN = 0,
    IQL_VT_FLOAT, IQL_VT_INTEGER, IQL_VT_UNSIGNED, IQL_VT_STRING,
    IQL_VT_BOOLEAN, IQL_VT_TAG, IQL_VT_FIELD,
};

enum iql_expr_kind {
    IQL_EXPR_VARREF,   /* ref: a field, tag or "time" */
    IQL_EXPR_CALL,     /* call: fn(args); name is lower-cased */
    IQL_EXPR_BINARY,   /* bin */
    IQL_EXPR_PAREN,    /* paren */
    IQL_EXPR_INTEGER,  /* i */
    IQL_EXPR_UNSIGNED, /* u: an integer literal above INT64_MAX */
    IQL_EXPR_NUMBER,   /* f: a literal written with a decimal point */
    IQL_EXPR_STRING,   /* str (unescaped) */
    IQL_EXPR_BOOL,     /* b */
    IQL_EXPR_DURATION, /* dur_ns */
    IQL_EXPR_REGEX,    /* str: the regex source, validated */
    IQL_EXPR_WILDCARD, /* wild: *, *::field or *::tag */
    IQL_EXPR_DISTINCT, /* str: the identifier after the DISTINCT keyword */
    IQL_EXPR_LIST,     /* list: identifiers of WITH KEY IN (...) */
};

struct iql_expr {
    enum iql_expr_kind kind;
    union {
        struct {
            struct sv name;       /* segments joined with '.' */
            enum iql_vtype type;
        } ref;
        struct {
            struct sv name;
            struct iql_expr **args;
            size_t nargs;
        } call;
        struct {
            enum iql_op op;
            struct iql_expr *lhs, *rhs;
        } bin;
        struct iql_expr *paren;
        int64_t i;
        uint64_t u;
        double f;
        bool b;
        int64_t dur_ns;
        struct sv str;
        enum iql_vtype wild; /* IQL_VT_UNKNOWN, IQL_VT_FIELD or IQL_VT_TAG */
        struct {
            struct sv *vals;
            size_t n;
        } list;
    };
};

/* ---- SELECT ----------------------------------------------------------- */

struct iql_select;

/* A measurement reference: "db"."rp"."name", or a regex instead of the
 * name (regex set, name empty).  Empty views mean "not given". */
struct iql_measurement {
    struct sv db, rp, name;
    struct sv regex;
    bool is_regex;
};

enum iql_source_kind { IQL_SRC_MEASUREMENT, IQL_SRC_SUBQUERY };

struct iql_source {
    enum iql_source_kind kind;
    struct iql_measurement m;   /* IQL_SRC_MEASUREMENT */
    struct iql_select *sub;     /* IQL_SRC_SUBQUERY */
};

struct iql_field {
    struct iql_expr *expr;
    struct sv alias; /* empty when no AS */
};

enum iql_fill {
    IQL_FILL_NULL = 0, IQL_FILL_NONE, IQL_FILL_NUMBER, IQL_FILL_PREVIOUS,
    IQL_FILL_LINEAR,
};

/* ORDER BY: name is "time" or empty ("ORDER BY DESC"). */
struct iql_sort {
    struct sv name;
    bool asc;
};

struct iql_select {
    struct iql_field *fields;
    size_t nfields;
    struct iql_measurement *into;   /* INTO target, NULL when absent */
    bool into_all_measurements;     /* INTO db.rp.:MEASUREMENT */
    struct iql_source *sources;
    size_t nsources;
    struct iql_expr *cond;          /* WHERE, NULL when absent */
    struct iql_expr **dims;         /* GROUP BY expressions */
    size_t ndims;
    enum iql_fill fill;
    bool fill_is_int;               /* IQL_FILL_NUMBER: fill_i or fill_f */
    int64_t fill_i;
    double fill_f;
    struct iql_sort *sort;          /* NULL when no ORDER BY */
    size_t nsort;
    int64_t limit, offset, slimit, soffset; /* 0 = not given */
    struct sv tz;                   /* tz('...') zone name, empty if none */
    bool is_raw;                    /* no function call among the fields */
};

/* ---- Other statements ------------------------------------------------- */

enum iql_stmt_kind {
    IQL_STMT_SELECT,
    IQL_STMT_EXPLAIN,                 /* select, explain_analyze */
    IQL_STMT_DELETE,                  /* show: sources, cond */
    IQL_STMT_DROP_SERIES,             /* show: sources, cond */
    IQL_STMT_SHOW_DATABASES,
    IQL_STMT_SHOW_RETENTION_POLICIES, /* show.db */
    IQL_STMT_SHOW_MEASUREMENTS,       /* show: db, with_measurement, cond, sort, limit, offset */
    IQL_STMT_SHOW_MEASUREMENT_CARDINALITY, /* show: exact, db, sources, cond, dims, limit, offset */
    IQL_STMT_SHOW_SERIES,             /* show: db, sources, cond, sort, limit, offset */
    IQL_STMT_SHOW_SERIES_CARDINALITY, /* like MEASUREMENT_CARDINALITY */
    IQL_STMT_SHOW_TAG_KEYS,           /* show: db, sources, cond, sort, limit..soffset */
    IQL_STMT_SHOW_TAG_KEY_CARDINALITY,
    IQL_STMT_SHOW_TAG_VALUES,         /* show: db, sources, key_op, key_expr, cond, sort, limit, offset */
    IQL_STMT_SHOW_TAG_VALUES_CARDINALITY,
    IQL_STMT_SHOW_FIELD_KEYS,         /* show: db, sources, sort, limit, offset */
    IQL_STMT_SHOW_FIELD_KEY_CARDINALITY,
    IQL_STMT_SHOW_USERS,
    IQL_STMT_SHOW_GRANTS,             /* user.name */
    IQL_STMT_SHOW_QUERIES,
    IQL_STMT_SHOW_STATS,              /* show.module */
    IQL_STMT_SHOW_DIAGNOSTICS,        /* show.module */
    IQL_STMT_SHOW_SHARDS,
    IQL_STMT_SHOW_SHARD_GROUPS,
    IQL_STMT_SHOW_SUBSCRIPTIONS,
    IQL_STMT_SHOW_CONTINUOUS_QUERIES,
    IQL_STMT_CREATE_DATABASE,         /* name, rp (rp.is_set: WITH given) */
    IQL_STMT_DROP_DATABASE,           /* name */
    IQL_STMT_DROP_MEASUREMENT,        /* name */
    IQL_STMT_CREATE_RETENTION_POLICY, /* rp */
    IQL_STMT_ALTER_RETENTION_POLICY,  /* rp */
    IQL_STMT_DROP_RETENTION_POLICY,   /* rp.name, rp.db */
    IQL_STMT_CREATE_USER,             /* user: name, password, admin */
    IQL_STMT_DROP_USER,               /* user.name */
    IQL_STMT_SET_PASSWORD,            /* user: name, password */
    IQL_STMT_GRANT,                   /* user: priv, db, name; admin when ALL ... TO */
    IQL_STMT_REVOKE,                  /* user: priv, db, name; admin when ALL ... FROM */
    IQL_STMT_KILL_QUERY,              /* kill */
    IQL_STMT_DROP_SHARD,              /* kill.qid holds the shard id */
    IQL_STMT_DROP_CONTINUOUS_QUERY,   /* name, rp.db */
    IQL_STMT_CREATE_CONTINUOUS_QUERY, /* name, rp.db, select (with INTO), resample */
    IQL_STMT_CREATE_SUBSCRIPTION,     /* name, rp.db, rp.name, sub */
    IQL_STMT_DROP_SUBSCRIPTION,       /* name, rp.db, rp.name */
};

enum iql_priv { IQL_PRIV_NONE = 0, IQL_PRIV_READ, IQL_PRIV_WRITE, IQL_PRIV_ALL };

struct iql_show {
    struct sv db;                   /* ON db, empty if none */
    struct iql_source *sources;     /* FROM ..., NULL if none */
    size_t nsources;
    struct iql_source *with_measurement; /* SHOW MEASUREMENTS WITH MEASUREMENT */
    enum iql_op key_op;             /* SHOW TAG VALUES: EQ, NEQ, EQREGEX, NEQREGEX, IN */
    struct iql_expr *key_expr;      /* STRING (key name), REGEX or LIST */
    struct iql_expr *cond;
    struct iql_expr **dims;
    size_t ndims;
    struct iql_sort *sort;
    size_t nsort;
    int64_t limit, offset, slimit, soffset;
    bool exact;
    struct sv module;               /* SHOW STATS/DIAGNOSTICS FOR 'module' */
};

/* Retention-policy settings; for CREATE DATABASE, is_set says WITH was given. */
struct iql_rp {
    struct sv name, db;
    bool is_set;
    bool has_duration, has_replication, has_shard;
    int64_t duration_ns;            /* 0 = INF */
    int64_t replication;
    int64_t shard_ns;
    bool is_default;
};

struct iql_user {
    struct sv name, password, db;
    enum iql_priv priv;
    bool admin;
};

struct iql_stmt {
    enum iql_stmt_kind kind;
    struct iql_select *select;      /* SELECT, EXPLAIN */
    bool explain_analyze;
    struct sv name;                 /* database / measurement / CQ name */
    struct iql_show show;
    struct iql_rp rp;
    struct iql_user user;
    struct {
        uint64_t qid;
        struct sv host;
    } kill;
    struct {
        int64_t every_ns, for_ns;   /* RESAMPLE EVERY / FOR, 0 = not given */
    } resample;
    struct {
        bool mode_any;              /* DESTINATIONS ANY (else ALL) */
        struct sv *dests;
        size_t ndests;
    } sub;
};

struct iql_query {
    struct iql_stmt **stmts;
    size_t nstmts;
};

/* ---- Bound parameters (the /query `params` JSON object) --------------- */

/* How a parameter's value enters the token stream, as in influxd 1.6 (the
 * /query `params` JSON object, observed): a JSON string becomes a string
 * literal, a number with a '.' a float literal, any other number an integer
 * literal (influxd answers 400 "error parsing json value: strconv.ParseInt:
 * parsing \"1e30\": invalid syntax" when it does not fit), a bool a
 * boolean; one-entry objects {"identifier": "x"}, {"regex": "..."},
 * {"duration": "1h"}, {"integer": 5}, {"number": 1.5}, {"string": "s"} give
 * those token kinds.  Anything else binds as IQL_PARAM_ERROR with text
 * "unable to bind parameter with type []interface {}" (arrays), "bound
 * object parameter value must have exactly one entry" or "unknown bind
 * object type: foo"; using it fails with "missing parameter: <text>". */
enum iql_param_kind {
    IQL_PARAM_STRING, IQL_PARAM_INTEGER, IQL_PARAM_NUMBER, IQL_PARAM_BOOL,
    IQL_PARAM_IDENT, IQL_PARAM_REGEX, IQL_PARAM_DURATION, IQL_PARAM_ERROR,
};

struct iql_param {
    struct sv name;                 /* without the '$' */
    enum iql_param_kind kind;
    struct sv text;                 /* literal text: "12", "1.5", "true", "1h", ... */
};

struct iql_params {
    const struct iql_param *v;
    size_t n;
};

/* ---- Entry points ----------------------------------------------------- */

/* Parses q (n bytes, any content) into *out, allocating everything in a.
 * params may be NULL.  The AST borrows nothing from q.  Returns 0, or
 * ERR_PARSE with e->msg holding InfluxDB's message without the "error
 * parsing query: " prefix; when long_msg is not NULL it receives the full,
 * untruncated message (InfluxDB's can exceed ERR_MSG_MAX, e.g. when they
 * quote a long literal).  ERR_LIMIT when the arena's max_bytes is reached,
 * ERR_NOMEM when malloc fails.  e may be NULL.  Any thread.
 * influxd strips surrounding white space from the q parameter (Go's
 * strings.TrimSpace) before parsing; callers must do the same for error
 * positions to match.  Beyond influxd, nesting deeper than 200 levels and
 * more than 2000 binary operators are refused ("query too deeply nested",
 * "query too complex"), which bounds every recursive walk of the AST. */
int iql_parse(const char *q, size_t n, const struct iql_params *params,
              struct arena *a, struct iql_query **out, struct err *e,
              struct buf *long_msg);

/* Appends the canonical InfluxQL text of a statement, a query (statements
 * joined by ";\n"), an expression or a SELECT to b, as influxd 1.6's String()
 * methods render them (passwords as [REDACTED]).  Returns 0, or ERR_LIMIT
 * when b is full or an allocation fails. */
int iql_render_stmt(struct buf *b, const struct iql_stmt *s);
int iql_render_query(struct buf *b, const struct iql_query *q);
int iql_render_expr(struct buf *b, const struct iql_expr *x);
int iql_render_select(struct buf *b, const struct iql_select *s);

/* One privilege a statement needs.  db empty means the query's default
 * database (the db parameter of /query). */
struct iql_privilege {
    bool admin;                     /* admin privilege; priv and db unused */
    enum iql_priv priv;             /* IQL_PRIV_READ or IQL_PRIV_WRITE */
    struct sv db;
};

/* The privileges influxd 1.6 requires to run s (its RequiredPrivileges(),
 * checked against influxd with auth enabled), in the order it checks them;
 * the first one a user lacks is the one its error names: "error
 * authorizing query: bob not authorized to execute statement '<rendered
 * statement>', requires admin privilege" or "..., requires READ on db".
 * Writes at most cap entries to out and returns how many there are (may be
 * more than cap).  SHOW DATABASES, and the TAG KEY / TAG VALUES / FIELD KEY
 * cardinality statements without FROM, need none.  The views borrow from
 * the AST.  Any thread. */
size_t iql_stmt_privileges(const struct iql_stmt *s, struct iql_privilege *out, size_t cap);

/* A time string (iql_parse_time_string): the wall-clock time it writes,
 * and the UTC offset when it gives one ("Z" or +hh:mm). */
struct iql_time {
    int64_t local_s;  /* seconds since 1970-01-01T00:00:00 of that wall clock */
    int32_t frac_ns;
    bool has_offset;  /* else the time is in the statement's tz() zone */
    int64_t offset_s; /* east of UTC */
};

/* Whether s starts like a date (yyyy-mm-dd): influxql then takes it for a
 * time and reports "invalid timestamp string" when it does not parse. */
bool iql_is_time_string(struct sv s);
/* 0 and *out: s is a time string; 1: s does not look like one; -1: it
 * looks like one but does not parse.  Pure; any thread. */
int iql_parse_time_string(struct sv s, struct iql_time *out);
/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d. */
int64_t iql_days_from_civil(int64_t y, unsigned m, unsigned d);

/* InfluxQL duration text: "1h30m", "1000ms", "1u", "-5m" (no spaces).
 * Returns 0, or ERR_PARSE ("invalid duration") / ERR_LIMIT (overflow). */
int iql_parse_duration(struct sv s, int64_t *out_ns);
/* Formats like InfluxDB's FormatDuration (largest exact unit: "2w", "90m",
 * "1500ms", "7u", "0s"). */
void iql_format_duration(int64_t ns, char *out, size_t cap);

/* The compile-time checks influxd runs on a parsed SELECT before executing
 * it, with its exact statement error texts ("mixing aggregate and
 * non-aggregate queries is not supported", "GROUP BY requires at least one
 * aggregate function", "fill(none) must be used with a function", ...).
 * Returns 0 or ERR_INVAL with e filled.  See iql_parse_check.c for the list. */
int iql_select_check(const struct iql_select *s, struct err *e);

#endif
