// SPDX-License-Identifier: MIT
/*
 * lp: the InfluxDB 1.x line-protocol parser and serialiser.
 *
 * What it does: turns a request body into points, one line at a time, with
 * the exact acceptance rules and error texts of InfluxDB 1.6
 * (shared/spec/influx-compat.md section 1, plus its "Deliberate
 * differences": the `u` unsigned suffix and `us`/`µ` precisions are
 * accepted, an unknown precision is an error).  What it leaves to others:
 * the reserved name `time`, field type conflicts, retention and every other
 * storage rule (ingest/tsdb apply those to the points it returns).
 *
 * Shape.  lp_next() returns views (struct sv) into the caller's body
 * buffer: no allocation per point.  A name or string that contains escapes
 * is unescaped into scratch memory: the caller's arena when one was given
 * to lp_parser_init() (the copies then live until that arena is reset), or
 * else the parser's own scratch buffer (valid until the next lp_next()).
 * The tag and field arrays of struct lp_point belong to the parser and are
 * overwritten by the next lp_next() call.
 *
 * Two paths, one behaviour.  Plain lines (no backslash, no double quote,
 * nothing unusual) take a fast single pass that also converts numbers.  Any
 * line the fast path is not sure about, and every line that fails, is
 * re-parsed by a faithful port of InfluxDB's scanners (scanLine, scanKey,
 * scanFields, scanTime, the field iterator), whose escaping rules differ per
 * element exactly as InfluxDB's do (spec section 1.3).  The fast path only
 * ever accepts a subset of what the faithful path accepts, with identical
 * results; tests and the lp_parse fuzz target check that by forcing the
 * faithful path (LP_FORCE_SLOW).
 *
 * Where we knowingly differ from 1.6 (besides the spec's list): a string
 * field with bytes after its closing quote (`v="x"\r`, `v="a"b`) is
 * rejected as "invalid field format" (1.6 stores the mangled string `x"`);
 * and a measurement is unescaped once, as point.Name() does, where 1.6's
 * index unescapes `\\,` and `\\ ` a second time and files such points
 * under two different names.  Like 1.6, a line whose field keys are all
 * empty (`m \t=1`) yields no point and no error.
 *
 * Threads: a parser is used by one thread at a time; separate parsers are
 * independent.  Nothing here logs (STYLE section 3).
 */
#ifndef NJ_INGEST_LP_H
#define NJ_INGEST_LP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/sv.h"

/* InfluxDB's limit on a series key, and on series key + 4 + field key. */
#define LP_MAX_KEY_BYTES 65535
/* Timestamps must lie in [LP_MIN_TIME_NS, LP_MAX_TIME_NS] (models.MinNanoTime
 * and MaxNanoTime of InfluxDB). */
#define LP_MIN_TIME_NS (INT64_MIN + 2)
#define LP_MAX_TIME_NS (INT64_MAX - 1)

enum lp_precision {
    LP_PREC_NS = 0, /* absent, "n", "ns" */
    LP_PREC_US,     /* "u", "us", "µ" (U+00B5) */
    LP_PREC_MS,
    LP_PREC_S,
    LP_PREC_M,
    LP_PREC_H,
};

enum lp_type {
    LP_FLOAT = 1,
    LP_INTEGER,  /* suffix i */
    LP_UNSIGNED, /* suffix u (our extension) */
    LP_STRING,
    LP_BOOLEAN,
};

struct lp_tag {
    struct sv key;   /* unescaped */
    struct sv value; /* unescaped */
    struct sv raw;   /* "key=value" exactly as written (escaped) */
    size_t raw_key_len; /* length of the escaped key inside raw */
};

struct lp_field {
    struct sv key; /* unescaped */
    enum lp_type type;
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        struct sv s; /* unescaped string value, without the quotes */
    } v;
};

struct lp_point {
    struct sv measurement;     /* unescaped */
    struct sv raw_measurement; /* as written */
    /* measurement[,tags] exactly as written: the bytes a series cache can
     * map to a series id without sorting (tags in written order). */
    struct sv raw_key;
    /* Tags in written order, never two with one escaped key (that line is
     * rejected with "duplicate tags").  lp_point_sort_tags() puts them in
     * InfluxDB's order (by escaped key bytes); the parser does not, so that
     * a series cache keyed by raw_key never pays for sorting. */
    struct lp_tag *tags;
    size_t ntags;
    /* Fields in written order.  Duplicate keys are kept (InfluxDB stores
     * the last one, or reports a type conflict when their types differ):
     * see has_dup_fields and lp_point_dedup_fields(). */
    struct lp_field *fields;
    size_t nfields;
    int64_t ts_ns;       /* from the line, or the request's server time */
    bool has_ts;         /* false when ts_ns is the server time */
    bool has_dup_fields; /* true when two fields share a key */
    bool key_is_canonical; /* raw_key is the canonical series key */
    bool tags_sorted;    /* tags[] is in InfluxDB's order */
    /* Some view (an unescaped name or string) is in the parser's own
     * scratch buffer, valid only until the next lp_next(); false when every
     * view is into the body (or the caller's arena). */
    bool uses_scratch;
    size_t line_no;      /* 1-based physical line where the point starts */
    struct sv line;      /* the whole line, after leading blanks */
};

/* Test hook for lp_parser.flags: always use the faithful path. */
#define LP_FORCE_SLOW 1u

/* Parser state.  Callers read only err_line, err_line_no and err_reason
 * (after ERR_PARSE) and may set flags; the rest is private. */
struct lp_parser {
    const char *buf;
    size_t len;
    size_t pos;
    size_t line_no; /* physical line number at pos (1-based) */
    enum lp_precision precision;
    int64_t now_ns; /* server time truncated to the precision */
    unsigned flags;
    struct arena *scratch; /* borrowed; NULL = use own_scratch */
    struct buf own_scratch;
    struct lp_tag *tags;
    size_t tags_cap;
    struct lp_field *fields;
    size_t fields_cap;
    /* The last error (lp_next() returned ERR_PARSE): the line as InfluxDB
     * quotes it, its 1-based line number and the reason text. */
    struct sv err_line;
    size_t err_line_no;
    struct buf err_reason;
};

/* Parses a precision query parameter: absent/empty, "n", "ns", "u", "us",
 * "µ", "ms", "s", "m", "h".  Anything else is ERR_PARSE with e->msg set to
 * InfluxDB 1.8's text: invalid precision "xyz" (use n, u, ms, s, m or h). */
int lp_precision_parse(struct sv s, enum lp_precision *out, struct err *e);

/* Nanoseconds per unit of the precision. */
int64_t lp_precision_ns(enum lp_precision prec);

/* Prepares p to parse buf[0..len).  buf is borrowed until the parser is
 * finished with it (views point into it).  now_ns is the request's server
 * time (UTC, ns); every line without a timestamp gets it, truncated to the
 * precision.  scratch, when not NULL, receives the unescaped copies (borrowed;
 * the copies live until it is reset); else the parser's own buffer is used
 * and copies are valid until the next lp_next().  Allocates the small tag and
 * field arrays (aborts on OOM, STYLE section 3).  Any thread. */
void lp_parser_init(struct lp_parser *p, const char *buf, size_t len,
                    enum lp_precision prec, int64_t now_ns,
                    struct arena *scratch);
/* Points the parser at a new body, keeping its memory. */
void lp_parser_reset(struct lp_parser *p, const char *buf, size_t len,
                     int64_t now_ns);
/* Frees the parser's memory.  Views it returned become invalid. */
void lp_parser_fini(struct lp_parser *p);

/* Parses the next line that is not blank or a comment.  Returns 1 with *out
 * filled (views valid as described in the file comment), 0 at the end of the
 * body, ERR_PARSE for a rejected line (e->msg holds InfluxDB's message,
 * truncated to fit ERR_MSG_MAX; the full text comes from lp_format_error();
 * the parser has moved on to the next line, so call again), or ERR_NOMEM
 * when scratch memory ran out (also per line).  e may be NULL. */
int lp_next(struct lp_parser *p, struct lp_point *out, struct err *e);

/* Appends InfluxDB's full message for the last error,
 * "unable to parse '<line>': <reason>", to out.  ERR_LIMIT/ERR_NOMEM from
 * the buffer. */
int lp_format_error(const struct lp_parser *p, struct buf *out);

/* Sorts pt->tags by escaped key bytes, InfluxDB's series-key order (a
 * no-op when pt->tags_sorted), and sets pt->tags_sorted.  The tag array
 * belongs to the parser; this only reorders it.  Any thread. */
void lp_point_sort_tags(struct lp_point *pt);

/* Appends the canonical series key to out: InfluxDB's models.MakeKey form,
 * the unescaped measurement with ',' and ' ' escaped, then ",key=value" per
 * tag sorted by escaped key, keys and values with ',', ' ' and '=' escaped
 * (so `m,t==a` and `m,t=\=a` are one series, `m,t=\=a`, as in InfluxDB).
 * It is raw_key itself when key_is_canonical.  Sorts pt->tags first when
 * they were not written in order (hence not const).  Returns 0 or the
 * buffer's ERR_LIMIT/ERR_NOMEM. */
int lp_series_key(struct lp_point *pt, struct buf *out);

/* Keeps only the last field of each key, as InfluxDB stores them, moving
 * fields down within pt->fields (written order of the survivors kept).
 * Returns 0, or ERR_TYPE when two fields with one key have different types
 * (InfluxDB then rejects the point with a field type conflict); *conflict
 * (may be NULL) gets the index of the later field of the first such pair
 * and the point is left unchanged.  Any thread. */
int lp_point_dedup_fields(struct lp_point *pt, size_t *conflict);

/* Appends pt as one line of line protocol (with '\n') to out: names escaped
 * per element, floats in shortest round-trip form, `i`/`u` suffixes, strings
 * quoted with `"` and `\` escaped, the timestamp in ns when pt->has_ts.
 * ERR_INVAL (nothing appended) for a point line protocol cannot express:
 * NaN or infinite floats, empty names, no fields, a name ending in a
 * backslash, a field key with an odd run of backslashes before a character
 * that must be escaped, or a line that would not parse back to the same point
 * (lines with backslashes or inner newlines are parsed back to check).  Else
 * 0 or the buffer's ERR_LIMIT/ERR_NOMEM. */
int lp_write_point(struct buf *out, const struct lp_point *pt);

/* Exact decimal-to-double conversion of s (the whole view), syntax
 * -?(d+(.d*)?|.d+)([eE][+-]?d+)? as Go's strconv.ParseFloat takes it from a
 * line.  Eisel-Lemire with a Clinger fast path; strtod() on a NUL-terminated
 * copy only for the rare undecidable cases.  Returns 0, ERR_PARSE for bad
 * syntax or ERR_LIMIT when the magnitude overflows (underflow gives 0 or a
 * subnormal, as in Go).  Any thread. */
int lp_parse_f64(struct sv s, double *out);

/* Writes the shortest decimal that lp_parse_f64() reads back bit for bit
 * into out (cap >= 32), NUL-terminated; returns its length.  f must be
 * finite. */
size_t lp_format_f64(double f, char *out, size_t cap);

#endif
