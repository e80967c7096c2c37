// SPDX-License-Identifier: MIT
/*
 * InfluxQL scanner: bytes -> runes -> tokens, plus the language's duration
 * syntax.
 *
 * The reader decodes UTF-8 (an invalid byte reads as U+FFFD, as Go does),
 * folds "\r\n" and a lone "\r" into "\n", treats a NUL byte as end of input,
 * and keeps the last three runes with their positions so they can be
 * unread.  Positions are zero-based (line, rune-in-line); the end of input
 * advances the column once, however often it is read.  These rules, and the
 * token rules below, follow InfluxDB 1.6's scanner so that error positions
 * match influxd's (see iql_int.h).
 *
 * Token literals are copied into the parser's arena: identifiers and strings
 * unescaped, regexes with "\/" turned into "/" and other escapes kept.
 */
#include <stdio.h>
#include <string.h>

#include "query/iql_int.h"

static const char *const tok_names[T__COUNT] = {
    [T_ILLEGAL] = "ILLEGAL", [T_EOF] = "EOF", [T_WS] = "WS",
    [T_IDENT] = "IDENT", [T_NUMBER] = "NUMBER", [T_DURATIONVAL] = "DURATIONVAL",
    [T_STRING] = "STRING", [T_BADSTRING] = "BADSTRING", [T_BADESCAPE] = "BADESCAPE",
    [T_TRUE] = "TRUE", [T_FALSE] = "FALSE", [T_REGEX] = "REGEX",
    [T_ADD] = "+", [T_SUB] = "-", [T_MUL] = "*", [T_DIV] = "/", [T_MOD] = "%",
    [T_BITAND] = "&", [T_BITOR] = "|", [T_BITXOR] = "^",
    [T_AND] = "AND", [T_OR] = "OR", [T_IN] = "IN",
    [T_EQ] = "=", [T_NEQ] = "!=", [T_EQREGEX] = "=~", [T_NEQREGEX] = "!~",
    [T_LT] = "<", [T_LTE] = "<=", [T_GT] = ">", [T_GTE] = ">=",
    [T_LPAREN] = "(", [T_RPAREN] = ")", [T_COMMA] = ",", [T_COLON] = ":",
    [T_DOUBLECOLON] = "::", [T_SEMICOLON] = ";", [T_DOT] = ".",
    [T_ALL] = "ALL", [T_ALTER] = "ALTER", [T_ANALYZE] = "ANALYZE", [T_ANY] = "ANY",
    [T_AS] = "AS", [T_ASC] = "ASC", [T_BEGIN] = "BEGIN", [T_BY] = "BY",
    [T_CARDINALITY] = "CARDINALITY", [T_CREATE] = "CREATE",
    [T_CONTINUOUS] = "CONTINUOUS", [T_DATABASE] = "DATABASE",
    [T_DATABASES] = "DATABASES", [T_DEFAULT] = "DEFAULT", [T_DELETE] = "DELETE",
    [T_DESC] = "DESC", [T_DESTINATIONS] = "DESTINATIONS",
    [T_DIAGNOSTICS] = "DIAGNOSTICS", [T_DISTINCT] = "DISTINCT", [T_DROP] = "DROP",
    [T_DURATION] = "DURATION", [T_END] = "END", [T_EVERY] = "EVERY",
    [T_EXACT] = "EXACT", [T_EXPLAIN] = "EXPLAIN", [T_FIELD] = "FIELD",
    [T_FOR] = "FOR", [T_FROM] = "FROM", [T_GRANT] = "GRANT", [T_GRANTS] = "GRANTS",
    [T_GROUP] = "GROUP", [T_GROUPS] = "GROUPS", [T_INF] = "INF",
    [T_INSERT] = "INSERT", [T_INTO] = "INTO", [T_KEY] = "KEY", [T_KEYS] = "KEYS",
    [T_KILL] = "KILL", [T_LIMIT] = "LIMIT", [T_MEASUREMENT] = "MEASUREMENT",
    [T_MEASUREMENTS] = "MEASUREMENTS", [T_NAME] = "NAME", [T_OFFSET] = "OFFSET",
    [T_ON] = "ON", [T_ORDER] = "ORDER", [T_PASSWORD] = "PASSWORD",
    [T_POLICY] = "POLICY", [T_POLICIES] = "POLICIES", [T_PRIVILEGES] = "PRIVILEGES",
    [T_QUERIES] = "QUERIES", [T_QUERY] = "QUERY", [T_READ] = "READ",
    [T_REPLICATION] = "REPLICATION", [T_RESAMPLE] = "RESAMPLE",
    [T_RETENTION] = "RETENTION", [T_REVOKE] = "REVOKE", [T_SELECT] = "SELECT",
    [T_SERIES] = "SERIES", [T_SET] = "SET", [T_SHOW] = "SHOW", [T_SHARD] = "SHARD",
    [T_SHARDS] = "SHARDS", [T_SLIMIT] = "SLIMIT", [T_SOFFSET] = "SOFFSET",
    [T_STATS] = "STATS", [T_SUBSCRIPTION] = "SUBSCRIPTION",
    [T_SUBSCRIPTIONS] = "SUBSCRIPTIONS", [T_TAG] = "TAG", [T_TO] = "TO",
    [T_USER] = "USER", [T_USERS] = "USERS", [T_VALUES] = "VALUES",
    [T_WHERE] = "WHERE", [T_WITH] = "WITH", [T_WRITE] = "WRITE",
};

const char *iql__tok_name(enum iql_tok t)
{
    if ((int)t < 0 || t >= T__COUNT || !tok_names[t])
        return "";
    return tok_names[t];
}

enum iql_tok iql__lookup(struct sv s)
{
    char low[16];
    if (s.n == 0 || s.n >= sizeof low)
        return T_IDENT;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        low[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    struct sv l = sv_make(low, s.n);
    if (sv_eq_cstr(l, "and"))
        return T_AND;
    if (sv_eq_cstr(l, "or"))
        return T_OR;
    if (sv_eq_cstr(l, "in"))
        return T_IN;
    if (sv_eq_cstr(l, "true"))
        return T_TRUE;
    if (sv_eq_cstr(l, "false"))
        return T_FALSE;
    /* Keyword names are upper-case letters: compare the first letter
     * before the whole name (this runs for every identifier of a query). */
    char first = (char)(low[0] - 'a' + 'A');
    for (int t = T_ALL; t <= T_WRITE; t++)
        if (tok_names[t] && tok_names[t][0] == first && sv_case_eq(s, tok_names[t]))
            return (enum iql_tok)t;
    return T_IDENT;
}

/* IN is not a binary operator in 1.6 ("a IN 1" is "found IN, expected ;"). */
bool iql__is_operator(enum iql_tok t)
{
    return t >= T_ADD && t <= T_GTE && t != T_IN;
}

int iql__precedence(enum iql_tok t)
{
    switch (t) {
    case T_OR: return 1;
    case T_AND: return 2;
    case T_EQ: case T_NEQ: case T_EQREGEX: case T_NEQREGEX:
    case T_LT: case T_LTE: case T_GT: case T_GTE: case T_IN:
        return 3;
    case T_ADD: case T_SUB: case T_BITOR: case T_BITXOR:
        return 4;
    case T_MUL: case T_DIV: case T_MOD: case T_BITAND:
        return 5;
    default:
        return 0;
    }
}

static const struct {
    enum iql_tok tok;
    enum iql_op op;
} op_map[] = {
    { T_ADD, IQL_OP_ADD }, { T_SUB, IQL_OP_SUB }, { T_MUL, IQL_OP_MUL },
    { T_DIV, IQL_OP_DIV }, { T_MOD, IQL_OP_MOD }, { T_BITAND, IQL_OP_BITAND },
    { T_BITOR, IQL_OP_BITOR }, { T_BITXOR, IQL_OP_BITXOR }, { T_AND, IQL_OP_AND },
    { T_OR, IQL_OP_OR }, { T_EQ, IQL_OP_EQ }, { T_NEQ, IQL_OP_NEQ },
    { T_EQREGEX, IQL_OP_EQREGEX }, { T_NEQREGEX, IQL_OP_NEQREGEX },
    { T_LT, IQL_OP_LT }, { T_LTE, IQL_OP_LTE }, { T_GT, IQL_OP_GT },
    { T_GTE, IQL_OP_GTE }, { T_IN, IQL_OP_IN },
};

enum iql_op iql__tok_op(enum iql_tok t)
{
    for (size_t i = 0; i < sizeof op_map / sizeof op_map[0]; i++)
        if (op_map[i].tok == t)
            return op_map[i].op;
    return IQL_OP_NONE;
}

enum iql_tok iql__op_tok(enum iql_op op)
{
    for (size_t i = 0; i < sizeof op_map / sizeof op_map[0]; i++)
        if (op_map[i].op == op)
            return op_map[i].tok;
    return T_ILLEGAL;
}

/* ---- Reader ----------------------------------------------------------- */

void iql__reader_init(struct iql_reader *r, const char *p, size_t n)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->n = n;
}

/* Decodes one rune at off like Go's utf8.DecodeRune: invalid -> U+FFFD, 1. */
static int32_t decode_rune(const unsigned char *s, size_t n, size_t *len)
{
    unsigned c = s[0];
    *len = 1;
    if (c < 0x80)
        return (int32_t)c;
    int need;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3, v = c & 0x07, min = 0x10000;
    } else {
        return 0xFFFD;
    }
    if ((size_t)need >= n)
        return 0xFFFD;
    for (int k = 1; k <= need; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0xFFFD;
        v = (v << 6) | (s[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0xFFFD;
    *len = (size_t)need + 1;
    return (int32_t)v;
}

/* One rune from the underlying bytes; end of input and NUL give EOF. */
static int32_t raw_read(struct iql_reader *r)
{
    if (r->off >= r->n)
        return IQL_EOF_RUNE;
    size_t len;
    int32_t ch = decode_rune((const unsigned char *)r->p + r->off, r->n - r->off, &len);
    r->off += len;
    if (ch == '\r') {
        if (r->off < r->n && r->p[r->off] == '\n')
            r->off++;
        ch = '\n';
    }
    return ch;
}

static int32_t rd_curr(const struct iql_reader *r, struct iql_pos *pos)
{
    int k = (r->i - r->cnt + 3) % 3;
    if (pos)
        *pos = r->ring[k].pos;
    return r->ring[k].ch;
}

static int32_t rd_read(struct iql_reader *r, struct iql_pos *pos)
{
    if (r->cnt > 0) {
        r->cnt--;
        return rd_curr(r, pos);
    }
    int32_t ch = raw_read(r);
    r->i = (r->i + 1) % 3;
    r->ring[r->i].ch = ch;
    r->ring[r->i].pos = r->pos;
    if (ch == '\n') {
        r->pos.line++;
        r->pos.ch = 0;
    } else if (!r->seen_eof) {
        r->pos.ch++;
    }
    if (ch == IQL_EOF_RUNE)
        r->seen_eof = true;
    return rd_curr(r, pos);
}

static void rd_unread(struct iql_reader *r)
{
    r->cnt++;
}

int32_t iql__peek_rune(struct iql_reader *r)
{
    int32_t ch = rd_read(r, NULL);
    if (ch != IQL_EOF_RUNE)
        rd_unread(r);
    return ch;
}

/* ---- Scanner ---------------------------------------------------------- */

static bool is_ws(int32_t c) { return c == ' ' || c == '\t' || c == '\n'; }
static bool is_letter(int32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(int32_t c) { return c >= '0' && c <= '9'; }
static bool is_ident_char(int32_t c) { return is_letter(c) || is_digit(c) || c == '_'; }
#define MICRO 0xB5 /* µ */

/* Scratch text being built for one token. */
struct lit {
    struct buf b;
    bool oom;
};

static void lit_rune(struct lit *l, int32_t ch)
{
    char u[4];
    size_t n;
    uint32_t c = (uint32_t)ch;
    if (c < 0x80) {
        u[0] = (char)c, n = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xC0 | (c >> 6)), u[1] = (char)(0x80 | (c & 0x3F)), n = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xE0 | (c >> 12)), u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[2] = (char)(0x80 | (c & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | (c >> 18)), u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3F)), u[3] = (char)(0x80 | (c & 0x3F)), n = 4;
    }
    if (buf_append(&l->b, u, n))
        l->oom = true;
}

/* Builds a token, copying the scratch literal into the arena. */
static struct iql_token mk(struct iql_parser *p, enum iql_tok t, struct iql_pos pos,
                           struct lit *l)
{
    struct iql_token tok = { t, pos, SV_NULL };
    if (l) {
        if (l->oom)
            iql__nomem(p);
        if (l->b.len > 0) {
            char *s = arena_try_alloc(p->a, l->b.len + 1);
            if (!s) {
                iql__nomem(p);
            } else {
                memcpy(s, l->b.p, l->b.len);
                s[l->b.len] = '\0';
                tok.lit = sv_make(s, l->b.len);
            }
        } else {
            tok.lit = sv_make("", 0);
        }
        buf_fini(&l->b);
    }
    return tok;
}

static void lit_init(struct lit *l, const struct iql_parser *p)
{
    buf_init(&l->b, p->r.n * 3 + 64);
    l->oom = false;
}

enum str_rc { STR_OK, STR_BAD, STR_BADESC };

/* Go's ScanString: the opening quote is the next rune. */
static enum str_rc scan_string_body(struct iql_reader *r, struct lit *l)
{
    int32_t ending = rd_read(r, NULL);
    if (ending == IQL_EOF_RUNE)
        return STR_BAD;
    for (;;) {
        int32_t c = rd_read(r, NULL);
        if (c == ending)
            return STR_OK;
        if (c == IQL_EOF_RUNE || c == '\n')
            return STR_BAD;
        if (c == '\\') {
            int32_t c1 = rd_read(r, NULL);
            if (c1 == 'n')
                lit_rune(l, '\n');
            else if (c1 == '\\' || c1 == '"' || c1 == '\'')
                lit_rune(l, c1);
            else {
                buf_reset(&l->b);
                lit_rune(l, '\\');
                lit_rune(l, c1);
                return STR_BADESC;
            }
        } else {
            lit_rune(l, c);
        }
    }
}

/* The quote was just read. */
static struct iql_token scan_string(struct iql_parser *p)
{
    struct iql_reader *r = &p->r;
    struct iql_pos pos;
    struct lit l;
    lit_init(&l, p);
    rd_unread(r);
    rd_curr(r, &pos);
    enum str_rc rc = scan_string_body(r, &l);
    if (rc == STR_BAD)
        return mk(p, T_BADSTRING, pos, &l);
    if (rc == STR_BADESC) {
        rd_curr(r, &pos);
        return mk(p, T_BADESCAPE, pos, &l);
    }
    return mk(p, T_STRING, pos, &l);
}

static struct iql_token scan_ident(struct iql_parser *p, bool lookup)
{
    struct iql_reader *r = &p->r;
    struct iql_pos pos;
    struct lit l;
    lit_init(&l, p);
    rd_read(r, &pos);
    rd_unread(r);
    for (;;) {
        int32_t c = rd_read(r, NULL);
        if (c == IQL_EOF_RUNE)
            break;
        if (c == '"') {
            buf_fini(&l.b);
            struct iql_token t = scan_string(p);
            if (t.tok == T_BADSTRING || t.tok == T_BADESCAPE)
                return t;
            t.tok = T_IDENT;
            t.pos = pos;
            return t;
        }
        if (is_ident_char(c)) {
            /* ScanBareIdent: reads through EOF without unreading it. */
            rd_unread(r);
            for (;;) {
                int32_t d = rd_read(r, NULL);
                if (d == IQL_EOF_RUNE)
                    break;
                if (!is_ident_char(d)) {
                    rd_unread(r);
                    break;
                }
                lit_rune(&l, d);
            }
        } else {
            rd_unread(r);
            break;
        }
    }
    if (lookup) {
        enum iql_tok kw = iql__lookup(sv_make(l.b.p ? l.b.p : "", l.b.len));
        if (kw != T_IDENT) {
            buf_fini(&l.b);
            return mk(p, kw, pos, NULL);
        }
    }
    return mk(p, T_IDENT, pos, &l);
}

static void scan_digits(struct iql_reader *r, struct lit *l)
{
    for (;;) {
        int32_t c = rd_read(r, NULL);
        if (!is_digit(c)) {
            rd_unread(r);
            return;
        }
        lit_rune(l, c);
    }
}

static struct iql_token scan_number(struct iql_parser *p)
{
    struct iql_reader *r = &p->r;
    struct iql_pos pos;
    struct lit l;
    int32_t c = rd_curr(r, &pos);
    if (c == '.') {
        int32_t c1 = rd_read(r, NULL);
        rd_unread(r);
        if (!is_digit(c1))
            return (struct iql_token){ T_ILLEGAL, pos, SV_LIT(".") };
        rd_unread(r);
    } else {
        rd_unread(r);
    }
    lit_init(&l, p);
    scan_digits(r, &l);
    bool is_decimal = false;
    int32_t c0 = rd_read(r, NULL);
    if (c0 == '.') {
        is_decimal = true;
        int32_t c1 = rd_read(r, NULL);
        if (is_digit(c1)) {
            lit_rune(&l, c0);
            lit_rune(&l, c1);
            scan_digits(r, &l);
        } else {
            rd_unread(r);
        }
    } else {
        rd_unread(r);
    }
    if (is_decimal)
        return mk(p, T_NUMBER, pos, &l);
    c0 = rd_read(r, NULL);
    if (is_letter(c0) || c0 == MICRO) {
        lit_rune(&l, c0);
        for (;;) {
            int32_t c1 = rd_read(r, NULL);
            if (!is_letter(c1) && c1 != MICRO) {
                rd_unread(r);
                break;
            }
            lit_rune(&l, c1);
        }
        for (;;) {
            int32_t c1 = rd_read(r, NULL);
            if (is_letter(c1) || c1 == MICRO || is_digit(c1)) {
                lit_rune(&l, c1);
            } else {
                rd_unread(r);
                break;
            }
        }
        return mk(p, T_DURATIONVAL, pos, &l);
    }
    rd_unread(r);
    return mk(p, T_INTEGER, pos, &l);
}

static struct iql_token op(enum iql_tok t, struct iql_pos pos)
{
    return (struct iql_token){ t, pos, SV_NULL };
}

struct iql_token iql__scan(struct iql_parser *p)
{
    struct iql_reader *r = &p->r;
    struct iql_pos pos;
    int32_t c0 = rd_read(r, &pos);

    if (is_ws(c0)) {
        struct lit l;
        lit_init(&l, p);
        lit_rune(&l, c0);
        for (;;) {
            int32_t c = rd_read(r, NULL);
            if (c == IQL_EOF_RUNE)
                break;
            if (!is_ws(c)) {
                rd_unread(r);
                break;
            }
            lit_rune(&l, c);
        }
        return mk(p, T_WS, pos, &l);
    }
    if (is_letter(c0) || c0 == '_') {
        rd_unread(r);
        return scan_ident(p, true);
    }
    if (is_digit(c0))
        return scan_number(p);

    switch (c0) {
    case IQL_EOF_RUNE:
        return op(T_EOF, pos);
    case '"':
        rd_unread(r);
        return scan_ident(p, true);
    case '\'':
        return scan_string(p);
    case '.': {
        int32_t c1 = rd_read(r, NULL);
        rd_unread(r);
        if (is_digit(c1))
            return scan_number(p);
        return op(T_DOT, pos);
    }
    case '$': {
        struct iql_token t = scan_ident(p, false);
        struct lit l;
        lit_init(&l, p);
        lit_rune(&l, '$');
        if (t.lit.n && buf_append(&l.b, t.lit.p, t.lit.n))
            l.oom = true;
        return mk(p, t.tok != T_IDENT ? t.tok : T_BOUNDPARAM, pos, &l);
    }
    case '+':
        return op(T_ADD, pos);
    case '-': {
        int32_t c1 = rd_read(r, NULL);
        if (c1 == '-') {
            for (;;) {
                int32_t c = rd_read(r, NULL);
                if (c == '\n' || c == IQL_EOF_RUNE)
                    break;
            }
            return op(T_COMMENT, pos);
        }
        rd_unread(r);
        return op(T_SUB, pos);
    }
    case '*':
        return op(T_MUL, pos);
    case '/': {
        int32_t c1 = rd_read(r, NULL);
        if (c1 == '*') {
            for (;;) {
                int32_t c = rd_read(r, NULL);
                if (c == IQL_EOF_RUNE)
                    return op(T_ILLEGAL, pos);
                while (c == '*') {
                    c = rd_read(r, NULL);
                    if (c == '/')
                        return op(T_COMMENT, pos);
                    if (c == IQL_EOF_RUNE)
                        return op(T_ILLEGAL, pos);
                }
            }
        }
        rd_unread(r);
        return op(T_DIV, pos);
    }
    case '%':
        return op(T_MOD, pos);
    case '&':
        return op(T_BITAND, pos);
    case '|':
        return op(T_BITOR, pos);
    case '^':
        return op(T_BITXOR, pos);
    case '=':
        if (rd_read(r, NULL) == '~')
            return op(T_EQREGEX, pos);
        rd_unread(r);
        return op(T_EQ, pos);
    case '!': {
        int32_t c1 = rd_read(r, NULL);
        if (c1 == '=')
            return op(T_NEQ, pos);
        if (c1 == '~')
            return op(T_NEQREGEX, pos);
        rd_unread(r);
        break;
    }
    case '>':
        if (rd_read(r, NULL) == '=')
            return op(T_GTE, pos);
        rd_unread(r);
        return op(T_GT, pos);
    case '<': {
        int32_t c1 = rd_read(r, NULL);
        if (c1 == '=')
            return op(T_LTE, pos);
        if (c1 == '>')
            return op(T_NEQ, pos);
        rd_unread(r);
        return op(T_LT, pos);
    }
    case '(':
        return op(T_LPAREN, pos);
    case ')':
        return op(T_RPAREN, pos);
    case ',':
        return op(T_COMMA, pos);
    case ';':
        return op(T_SEMICOLON, pos);
    case ':':
        if (rd_read(r, NULL) == ':')
            return op(T_DOUBLECOLON, pos);
        rd_unread(r);
        return op(T_COLON, pos);
    default:
        break;
    }
    struct lit l;
    lit_init(&l, p);
    lit_rune(&l, c0);
    return mk(p, T_ILLEGAL, pos, &l);
}

/* Go's ScanRegex + ScanDelimited('/', '/', {'/': '/'}, passthrough). */
struct iql_token iql__scan_regex(struct iql_parser *p)
{
    struct iql_reader *r = &p->r;
    struct iql_pos pos;
    struct lit l;
    rd_curr(r, &pos);
    lit_init(&l, p);
    int32_t c = rd_read(r, NULL);
    if (c != '/') {
        buf_fini(&l.b);
        return op(T_BADREGEX, pos);
    }
    for (;;) {
        int32_t c0 = rd_read(r, NULL);
        if (c0 == '/')
            return mk(p, T_REGEX, pos, &l);
        if (c0 == IQL_EOF_RUNE || c0 == '\n') {
            buf_fini(&l.b);
            return op(T_BADREGEX, pos);
        }
        if (c0 == '\\') {
            int32_t c1 = rd_read(r, NULL);
            if (c1 == IQL_EOF_RUNE) {
                buf_fini(&l.b);
                return op(T_BADREGEX, pos);
            }
            if (c1 == '/') {
                lit_rune(&l, '/');
            } else {
                rd_unread(r);
                lit_rune(&l, '\\');
            }
            continue;
        }
        lit_rune(&l, c0);
    }
}

/* ---- Durations -------------------------------------------------------- */

int iql_parse_duration(struct sv s, int64_t *out_ns)
{
    if (s.n < 2)
        return ERR_PARSE;
    size_t i = 0;
    bool neg = false;
    if (s.p[0] == '-') {
        neg = true;
        i++;
    }
    uint64_t d = 0;
    while (i < s.n) {
        size_t start = i;
        while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9')
            i++;
        if (i >= s.n || i == start)
            return ERR_PARSE;
        if (i - start > 19)
            return ERR_PARSE;
        uint64_t v = 0;
        for (size_t k = start; k < i; k++)
            v = v * 10 + (uint64_t)(s.p[k] - '0');
        if (v > (uint64_t)INT64_MAX)
            return ERR_PARSE;
        uint64_t mult;
        unsigned char c = (unsigned char)s.p[i];
        size_t ulen = 1;
        switch (c) {
        case 'n':
            if (i + 1 < s.n && s.p[i + 1] == 's') {
                mult = 1, ulen = 2;
                break;
            }
            return ERR_PARSE;
        case 'u':
            mult = 1000;
            break;
        case 0xC2: /* µ is C2 B5 */
            if (i + 1 < s.n && (unsigned char)s.p[i + 1] == 0xB5) {
                mult = 1000, ulen = 2;
                break;
            }
            return ERR_PARSE;
        case 'm':
            if (i + 1 < s.n && s.p[i + 1] == 's')
                mult = 1000000, ulen = 2;
            else
                mult = 60ull * 1000000000;
            break;
        case 's': mult = 1000000000ull; break;
        case 'h': mult = 3600ull * 1000000000; break;
        case 'd': mult = 86400ull * 1000000000; break;
        case 'w': mult = 7ull * 86400 * 1000000000; break;
        default:
            return ERR_PARSE;
        }
        /* Go wraps silently here and only notices a negative total. */
        d += v * mult;
        i += ulen;
    }
    if ((int64_t)d < 0 && !neg)
        return ERR_LIMIT;
    *out_ns = neg ? (int64_t)(0 - d) : (int64_t)d;
    return 0;
}

void iql_format_duration(int64_t d, char *out, size_t cap)
{
    static const struct {
        int64_t ns;
        const char *unit;
    } units[] = {
        { 7LL * 86400 * 1000000000, "w" }, { 86400LL * 1000000000, "d" },
        { 3600LL * 1000000000, "h" }, { 60LL * 1000000000, "m" },
        { 1000000000LL, "s" }, { 1000000LL, "ms" }, { 1000LL, "u" },
    };
    if (d == 0) {
        snprintf(out, cap, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (d % units[i].ns == 0) {
            snprintf(out, cap, "%lld%s", (long long)(d / units[i].ns), units[i].unit);
            return;
        }
    }
    snprintf(out, cap, "%lldns", (long long)d);
}
