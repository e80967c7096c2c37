// SPDX-License-Identifier: MIT
/*
 * Private declarations of the InfluxQL layer: tokens, the scanner and the
 * parser state shared by iql_lex.c, iql_parse.c, iql_parse_regex.c,
 * iql_parse_stmt.c, iql_ast.c and iql_parse_check.c.
 *
 * The scanner is a rune reader with a three-rune unread ring and the token
 * layer a three-token unscan ring, the same shape as InfluxDB's Go scanner.
 * That shape is not an accident: influxd's error positions depend on it
 * (a string token reports the position of the rune before its quote, a
 * regex the rune before its slash, and a parser that peeks at the raw
 * reader while a token is unscanned sees past that token).  Matching the
 * messages byte for byte is simplest by keeping the same machine.
 */
#ifndef NJ_QUERY_IQL_INT_H
#define NJ_QUERY_IQL_INT_H

#include <stdint.h>

#include "query/iql.h"

enum iql_tok {
    T_ILLEGAL = 0, T_EOF, T_WS, T_COMMENT,
    /* literals */
    T_IDENT, T_BOUNDPARAM, T_NUMBER, T_INTEGER, T_DURATIONVAL, T_STRING,
    T_BADSTRING, T_BADESCAPE, T_TRUE, T_FALSE, T_REGEX, T_BADREGEX,
    /* operators (T_ADD..T_GTE, isOperator in Go) */
    T_ADD, T_SUB, T_MUL, T_DIV, T_MOD, T_BITAND, T_BITOR, T_BITXOR,
    T_AND, T_OR, T_IN,
    T_EQ, T_NEQ, T_EQREGEX, T_NEQREGEX, T_LT, T_LTE, T_GT, T_GTE,
    /* punctuation */
    T_LPAREN, T_RPAREN, T_COMMA, T_COLON, T_DOUBLECOLON, T_SEMICOLON, T_DOT,
    /* keywords, alphabetical (T_ALL..T_WRITE) */
    T_ALL, T_ALTER, T_ANALYZE, T_ANY, T_AS, T_ASC, T_BEGIN, T_BY,
    T_CARDINALITY, T_CREATE, T_CONTINUOUS, T_DATABASE, T_DATABASES,
    T_DEFAULT, T_DELETE, T_DESC, T_DESTINATIONS, T_DIAGNOSTICS, T_DISTINCT,
    T_DROP, T_DURATION, T_END, T_EVERY, T_EXACT, T_EXPLAIN, T_FIELD, T_FOR,
    T_FROM, T_GRANT, T_GRANTS, T_GROUP, T_GROUPS, T_INF, T_INSERT, T_INTO,
    T_KEY, T_KEYS, T_KILL, T_LIMIT, T_MEASUREMENT, T_MEASUREMENTS, T_NAME,
    T_OFFSET, T_ON, T_ORDER, T_PASSWORD, T_POLICY, T_POLICIES, T_PRIVILEGES,
    T_QUERIES, T_QUERY, T_READ, T_REPLICATION, T_RESAMPLE, T_RETENTION,
    T_REVOKE, T_SELECT, T_SERIES, T_SET, T_SHOW, T_SHARD, T_SHARDS, T_SLIMIT,
    T_SOFFSET, T_STATS, T_SUBSCRIPTION, T_SUBSCRIPTIONS, T_TAG, T_TO, T_USER,
    T_USERS, T_VALUES, T_WHERE, T_WITH, T_WRITE,
    T__COUNT
};

/* Zero-based line and char (runes), as Go's influxql.Pos. */
struct iql_pos {
    int line, ch;
};

/* End-of-input marker rune; a NUL byte in the input reads as it too. */
#define IQL_EOF_RUNE 0

struct iql_reader {
    const char *p;
    size_t n, off;
    int i, cnt;                     /* ring index and unread count */
    struct iql_pos pos;             /* position of the next new rune */
    struct {
        int32_t ch;
        struct iql_pos pos;
    } ring[3];
    bool seen_eof;
};

struct iql_token {
    enum iql_tok tok;
    struct iql_pos pos;
    struct sv lit;                  /* arena copy, or static text */
};

struct iql_parser {
    struct iql_reader r;
    struct arena *a;
    const struct iql_params *params;
    int i, cnt;                     /* token ring index and unscan count */
    struct iql_token ring[3];
    int depth;                      /* recursion guard */
    size_t nops;                    /* binary operators so far, capped */
    /* error state: msg is the full InfluxDB text (no prefix) */
    struct buf *msg;
    int rc;
};

/* Token name as Go's Token.String() ("" for tokens without one). */
const char *iql__tok_name(enum iql_tok t);
/* Keyword lookup, case-insensitive; T_IDENT when s is not a keyword. */
enum iql_tok iql__lookup(struct sv s);
bool iql__is_operator(enum iql_tok t);
int iql__precedence(enum iql_tok t);
enum iql_op iql__tok_op(enum iql_tok t);
enum iql_tok iql__op_tok(enum iql_op op);

/* Reader and scanner. */
void iql__reader_init(struct iql_reader *r, const char *p, size_t n);
int32_t iql__peek_rune(struct iql_reader *r);
struct iql_token iql__scan(struct iql_parser *p);
struct iql_token iql__scan_regex(struct iql_parser *p);

/* Parser token layer (iql_parse.c). */
struct iql_token iql__next(struct iql_parser *p);      /* Scan */
struct iql_token iql__next_ws(struct iql_parser *p);   /* ScanIgnoreWhitespace */
void iql__unscan(struct iql_parser *p);
void iql__consume_ws(struct iql_parser *p);

/* Error helpers: both return ERR_PARSE (or the sticky earlier code). */
int iql__err_expected(struct iql_parser *p, struct iql_token t,
                      const char *const *expected, size_t n);
int iql__err_expected1(struct iql_parser *p, struct iql_token t, const char *expected);
int iql__err_at(struct iql_parser *p, struct iql_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int iql__err_nopos(struct iql_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int iql__nomem(struct iql_parser *p);

/* Expression and clause parsers (iql_parse.c). */
int iql__parse_expr(struct iql_parser *p, struct iql_expr **out);
int iql__parse_ident(struct iql_parser *p, struct sv *out);
int iql__parse_string(struct iql_parser *p, struct sv *out);
int iql__parse_int(struct iql_parser *p, int64_t min, int64_t max, int64_t *out);
int iql__parse_uint64(struct iql_parser *p, uint64_t *out);
int iql__parse_duration_tok(struct iql_parser *p, int64_t *out);
int iql__parse_tokens(struct iql_parser *p, const enum iql_tok *toks, size_t n);
int iql__parse_select(struct iql_parser *p, int target_req, struct iql_select **out);
int iql__parse_sources(struct iql_parser *p, bool subqueries,
                       struct iql_source **out, size_t *n);
int iql__parse_source(struct iql_parser *p, bool subqueries, struct iql_source *out);
int iql__parse_condition(struct iql_parser *p, struct iql_expr **out);
int iql__parse_dimensions(struct iql_parser *p, struct iql_expr ***out, size_t *n);
int iql__parse_order_by(struct iql_parser *p, struct iql_sort **out, size_t *n);
int iql__parse_opt_int(struct iql_parser *p, enum iql_tok t, int64_t *out);
int iql__parse_regex(struct iql_parser *p, struct iql_expr **out);

/* Statement dispatch (iql_parse_stmt.c). */
int iql__parse_statement(struct iql_parser *p, struct iql_stmt **out);

#define IQL_TARGET_REQUIRED 0
#define IQL_TARGET_NOT_REQUIRED 1
#define IQL_TARGET_SUBQUERY 2

/* Validates a regex source with PCRE2; on failure sets the InfluxDB-style
 * message "error parsing regexp: ..." at pos. */
int iql__check_regex(struct iql_parser *p, struct sv src, struct iql_pos pos);

/* Renderer helpers (iql_ast.c). */
int iql__quote_ident(struct buf *b, const struct sv *segs, size_t n);

#endif
