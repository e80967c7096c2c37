// SPDX-License-Identifier: MIT
/*
 * Line-protocol parser (see lp.h for the contract).
 *
 * A body is a sequence of lines.  lp_next() skips blank lines (spaces, tabs
 * and NUL bytes are blanks, as in InfluxDB's skipWhitespace) and then tries
 * the fast path on the line.  The fast path handles lines without '\\'
 * whose every token is ordinary (a '"' only around a plain string value);
 * it converts numbers as it scans and
 * bails out (returns false, having changed nothing that matters) on
 * anything else, including every error.  The faithful path then re-reads
 * the same line with a port of InfluxDB 1.6's models/points.go scanners:
 *
 *   scan_line       where a line ends: at '\n', except that a backslash
 *                   skips the next byte when two more bytes follow, and a
 *                   '\n' inside a string field value (a '"' seen after the
 *                   first space while there were more '=' than ',') does not
 *                   end the line;
 *   scan_key        measurement and tags; escapes work "backwards" here (a
 *                   separator is escaped when the byte before it is '\\');
 *   scan_fields     field validation; escapes work "forwards" (a backslash
 *                   skips the next byte) and numbers are checked;
 *   slow_point      parsePoint: the key-length checks, scanTime, then
 *                   InfluxDB's field iterator (convert_value), which splits
 *                   keys with the backwards rule again and types values by
 *                   their first and last bytes.
 *
 * The two escape rules disagree on sequences such as `\\=`; copying both is
 * what makes odd lines come out as InfluxDB stores them.
 *
 * Neither path sorts tags: a line is checked for duplicate tag keys (and
 * fields for repeated keys) with a hash screen, and lp_point_sort_tags()
 * orders them only for callers that need the canonical key.
 *
 * Invariants: a point returned by the fast path is exactly what the faithful
 * path would return for that line; the parser never reads outside
 * buf[0..len); pos only moves forward, by at least one byte per call.
 */
#include "ingest/lp.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/xalloc.h"
#include "ingest/lp_int.h"

#define TIME_RANGE_MSG "time outside range -9223372036854775806 - 9223372036854775806"

/* ---------------------------------------------------------------------- */
/* Setup                                                                    */

int lp_precision_parse(struct sv s, enum lp_precision *out, struct err *e)
{
    static const struct {
        const char *name;
        enum lp_precision prec;
    } names[] = {
        { "", LP_PREC_NS },   { "n", LP_PREC_NS },  { "ns", LP_PREC_NS },
        { "u", LP_PREC_US },  { "us", LP_PREC_US }, { "\xc2\xb5", LP_PREC_US },
        { "ms", LP_PREC_MS }, { "s", LP_PREC_S },   { "m", LP_PREC_M },
        { "h", LP_PREC_H },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (sv_eq_cstr(s, names[i].name)) {
            *out = names[i].prec;
            return 0;
        }
    }
    return err_set(e, ERR_PARSE, "invalid precision \"%.*s\" (use n, u, ms, s, m or h)",
                   (int)(s.n > 64 ? 64 : s.n), s.p);
}

int64_t lp_precision_ns(enum lp_precision prec)
{
    switch (prec) {
    case LP_PREC_US: return 1000;
    case LP_PREC_MS: return 1000000;
    case LP_PREC_S: return 1000000000;
    case LP_PREC_M: return 60LL * 1000000000;
    case LP_PREC_H: return 3600LL * 1000000000;
    case LP_PREC_NS: break;
    }
    return 1;
}

/* Server time truncated to the precision (Go's Time.Truncate). */
static int64_t truncate_now(int64_t now_ns, enum lp_precision prec)
{
    int64_t unit = lp_precision_ns(prec);
    int64_t r = now_ns % unit;
    if (r < 0)
        r += unit;
    return now_ns - r;
}

void lp_parser_init(struct lp_parser *p, const char *buf, size_t len,
                    enum lp_precision prec, int64_t now_ns,
                    struct arena *scratch)
{
    memset(p, 0, sizeof *p);
    p->precision = prec;
    p->scratch = scratch;
    buf_init(&p->own_scratch, 0);
    buf_init(&p->err_reason, 0);
    p->tags_cap = 32;
    p->tags = xmalloc(p->tags_cap * sizeof *p->tags);
    p->fields_cap = 64;
    p->fields = xmalloc(p->fields_cap * sizeof *p->fields);
    lp_parser_reset(p, buf, len, now_ns);
}

void lp_parser_reset(struct lp_parser *p, const char *buf, size_t len,
                     int64_t now_ns)
{
    p->buf = buf;
    p->len = len;
    p->pos = 0;
    p->line_no = 1;
    p->now_ns = truncate_now(now_ns, p->precision);
    p->err_line = SV_NULL;
    p->err_line_no = 0;
    buf_reset(&p->err_reason);
}

void lp_parser_fini(struct lp_parser *p)
{
    free(p->tags);
    free(p->fields);
    p->tags = NULL;
    p->fields = NULL;
    p->tags_cap = p->fields_cap = 0;
    buf_fini(&p->own_scratch);
    buf_fini(&p->err_reason);
}

static int grow_tags(struct lp_parser *p)
{
    size_t ncap = p->tags_cap * 2;
    struct lp_tag *t = realloc(p->tags, ncap * sizeof *t);
    if (!t)
        return ERR_NOMEM;
    p->tags = t;
    p->tags_cap = ncap;
    return 0;
}

static int grow_fields(struct lp_parser *p)
{
    size_t ncap = p->fields_cap * 2;
    struct lp_field *f = realloc(p->fields, ncap * sizeof *f);
    if (!f)
        return ERR_NOMEM;
    p->fields = f;
    p->fields_cap = ncap;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Shared helpers                                                           */

static inline bool is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

static inline bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\0';
}

/* Hash of a name for duplicate screening: length, first and last eight
 * bytes.  Equal names hash equally; the rest is left to exact compares. */
static inline uint32_t name_hash(struct sv k)
{
    uint64_t a, b;
    if (k.n >= 8) {
        memcpy(&a, k.p, 8);
        memcpy(&b, k.p + k.n - 8, 8);
    } else if (k.n >= 4) {
        uint32_t x, y;
        memcpy(&x, k.p, 4);
        memcpy(&y, k.p + k.n - 4, 4);
        a = x;
        b = y;
    } else {
        a = k.n ? (unsigned char)k.p[0] | (unsigned)(unsigned char)k.p[k.n / 2] << 8 |
                      (unsigned)(unsigned char)k.p[k.n - 1] << 16
                : 0;
        b = 0;
    }
    uint64_t x = (a * 0xC2B2AE3D27D4EB4Full) ^ ((b ^ (b >> 29)) * 0x165667B19E3779F9ull) ^
                 (k.n * 0x9E3779B97F4A7C15ull);
    x ^= x >> 31;
    return (uint32_t)((x * 0x9E3779B97F4A7C15ull) >> 32);
}

/* Duplicate screening: a 256-bit filter over name hashes makes the usual
 * all-distinct case linear; only a filter collision leads to pairwise hash
 * compares, and names are compared only when their hashes match.  Lines
 * with more than DUP_MAX_HASHED names compare names pairwise. */
#define DUP_MAX_HASHED 64

static inline bool filter_collides(const uint32_t *h, size_t n)
{
    uint64_t seen[4] = { 0, 0, 0, 0 };
    bool hit = false;
    for (size_t i = 0; i < n; i++) {
        unsigned b = h[i] & 255;
        uint64_t bit = 1ull << (b & 63);
        hit |= (seen[b >> 6] & bit) != 0;
        seen[b >> 6] |= bit;
    }
    return hit;
}

static inline struct sv tag_raw_key(const struct lp_tag *t)
{
    return sv_make(t->raw.p, t->raw_key_len);
}

static bool tags_have_dup(const struct lp_tag *t, size_t n)
{
    uint32_t h[DUP_MAX_HASHED];
    bool hashed = n > 4 && n <= DUP_MAX_HASHED; /* a few: compare directly */
    if (hashed) {
        for (size_t i = 0; i < n; i++)
            h[i] = name_hash(tag_raw_key(&t[i]));
        if (!filter_collides(h, n))
            return false;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if ((!hashed || h[i] == h[j]) && sv_eq(tag_raw_key(&t[i]), tag_raw_key(&t[j])))
                return true;
    return false;
}

static bool fields_have_dup(const struct lp_field *f, size_t n)
{
    uint32_t h[DUP_MAX_HASHED];
    bool hashed = n > 4 && n <= DUP_MAX_HASHED; /* a few: compare directly */
    if (hashed) {
        for (size_t i = 0; i < n; i++)
            h[i] = name_hash(f[i].key);
        if (!filter_collides(h, n))
            return false;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if ((!hashed || h[i] == h[j]) && sv_eq(f[i].key, f[j].key))
                return true;
    return false;
}

/* InfluxDB rejects a line whose escaped tag keys repeat.  Tags stay in
 * written order; *sorted says whether that order is already InfluxDB's.
 * Returns false for a duplicate. */
static bool check_tags(const struct lp_tag *t, size_t n, bool *sorted)
{
    *sorted = true;
    for (size_t i = 1; i < n; i++) {
        if (lp__tag_cmp(&t[i - 1], &t[i]) >= 0) {
            *sorted = false;
            break;
        }
    }
    return *sorted || !tags_have_dup(t, n);
}

/* ts * unit with InfluxDB's overflow and range checks. */
static bool scale_time(int64_t ts, int64_t unit, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(ts, unit, &r))
        return false;
    if (r < LP_MIN_TIME_NS || r > LP_MAX_TIME_NS)
        return false;
    *out = r;
    return true;
}

/* ---------------------------------------------------------------------- */
/* Fast path                                                                */

enum {
    C_CS = 1,  /* ',' or ' ' */
    C_EQ = 2,  /* '=' */
    C_BAD = 4, /* '\\', '"', '\n': leave the line to the faithful path */
};

static const unsigned char cls[256] = {
    [','] = C_CS, [' '] = C_CS, ['='] = C_EQ,
    ['\\'] = C_BAD, ['"'] = C_BAD, ['\n'] = C_BAD,
};

/* First byte in [q, end) that is one of , space = \\ " \n, or end.  Names
 * are short, so one 16-byte compare usually covers a whole token. */
static inline const char *next_special(const char *q, const char *end)
{
#if defined(__SSE2__)
    const __m128i comma = _mm_set1_epi8(','), space = _mm_set1_epi8(' '),
                  eq = _mm_set1_epi8('='), bs = _mm_set1_epi8('\\'),
                  quote = _mm_set1_epi8('"'), nl = _mm_set1_epi8('\n');
    while (end - q >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i m = _mm_or_si128(
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, space)),
                         _mm_or_si128(_mm_cmpeq_epi8(v, eq), _mm_cmpeq_epi8(v, bs))),
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, nl)));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return q + __builtin_ctz(mask);
        q += 16;
    }
#endif
    while (q < end && !cls[(unsigned char)*q])
        q++;
    return q;
}

static const uint64_t pow10_u64[9] = { 1, 10, 100, 1000, 10000, 100000, 1000000,
                                       10000000, 100000000 };

/* Value of eight digit values (0..9, first in the lowest byte). */
static inline uint64_t swar8(uint64_t v)
{
    v = v * 10 + (v >> 8);
    return (((v & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
            (((v >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >> 32;
}

/* Folds the run of decimal digits at q into *man and *nd (8 at a time
 * while that cannot overflow) and returns the byte after the run.  Once
 * *nd passes 19 the caller gives the value to the faithful path, so the
 * accumulator may then wrap. */
static inline const char *scan_digits(const char *q, const char *end, uint64_t *man, int *nd)
{
    while (end - q >= 8 && *nd <= 11) {
        uint64_t x;
        memcpy(&x, q, 8);
        uint64_t bad = ((x & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull) |
                       (((x + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) ^
                        0x3030303030303030ull);
        int k = bad ? __builtin_ctzll(bad) >> 3 : 8;
        if (k == 0)
            return q;
        /* Borrows from non-digit bytes only run upwards, into the bytes
         * the shift drops. */
        uint64_t v = (x - 0x3030303030303030ull) << ((8 - k) * 8);
        *man = *man * pow10_u64[k] + swar8(v);
        *nd += k;
        q += k;
        if (k < 8)
            return q;
    }
    while (q < end && is_digit(*q)) {
        *man = *man * 10 + (uint64_t)(*q - '0');
        (*nd)++;
        q++;
    }
    return q;
}

/* Scans a number value at *pp (first byte is a digit, '-' or '.').  On
 * success sets the field's type and value and *pp to the byte after it. */
static bool fast_number(const char **pp, const char *end, struct lp_field *f)
{
    const char *q = *pp;
    bool neg = false;
    if (*q == '-') {
        neg = true;
        q++;
    }
    uint64_t man = 0;
    int nd = 0, nfrac = 0;
    q = scan_digits(q, end, &man, &nd);
    bool dot = false;
    if (q < end && *q == '.') {
        dot = true;
        q++;
        int before = nd;
        q = scan_digits(q, end, &man, &nd);
        nfrac = nd - before;
    }
    /* 19 digits cannot overflow the accumulator. */
    if (nd == 0 || nd > 19)
        return false;
    int64_t exp10 = -nfrac;
    if (q < end) {
        char c = *q;
        if (c == 'i' || c == 'u') {
            q++;
            if (dot || (q < end && !(cls[(unsigned char)*q] & C_CS) && *q != '\n'))
                return false;
            if (c == 'i') {
                if (man > (uint64_t)INT64_MAX + neg)
                    return false;
                f->type = LP_INTEGER;
                f->v.i = neg ? (int64_t)(0 - man) : (int64_t)man;
            } else {
                if (neg)
                    return false;
                f->type = LP_UNSIGNED;
                f->v.u = man;
            }
            *pp = q;
            return true;
        }
        if (c == 'e' || c == 'E') {
            q++;
            bool eneg = false;
            if (q < end && (*q == '+' || *q == '-')) {
                eneg = *q == '-';
                q++;
            }
            int ne = 0;
            int64_t e = 0;
            while (q < end && is_digit(*q) && ne < 5) {
                e = e * 10 + (*q - '0');
                q++;
                ne++;
            }
            if (ne == 0)
                return false;
            exp10 += eneg ? -e : e;
        }
        if (q < end && !(cls[(unsigned char)*q] & C_CS) && *q != '\n')
            return false;
    }
    double d;
    if (!lp__f64_fast(man, exp10, neg, false, &d))
        return false;
    f->type = LP_FLOAT;
    f->v.f = d;
    *pp = q;
    return true;
}

static bool fast_bool(const char **pp, const char *end, struct lp_field *f)
{
    const char *q = *pp, *s = q;
    while (q < end && !(cls[(unsigned char)*q] & (C_CS | C_BAD)))
        q++;
    if (q < end && *q != '\n' && !(cls[(unsigned char)*q] & C_CS))
        return false;
    struct sv v = sv_make(s, (size_t)(q - s));
    bool b;
    if (v.n == 1) {
        b = *s == 't' || *s == 'T';
    } else if (sv_eq_cstr(v, "true") || sv_eq_cstr(v, "True") || sv_eq_cstr(v, "TRUE")) {
        b = true;
    } else if (sv_eq_cstr(v, "false") || sv_eq_cstr(v, "False") ||
               sv_eq_cstr(v, "FALSE")) {
        b = false;
    } else {
        return false;
    }
    f->type = LP_BOOLEAN;
    f->v.b = b;
    *pp = q;
    return true;
}

/* A string value at *pp (its opening quote) without backslashes or
 * newlines inside, closed by a quote that is followed by ',', ' ', '\n' or
 * the end: then every InfluxDB scanner agrees on where it ends and nothing
 * needs unescaping.  Anything else is left to the faithful path. */
static bool fast_string(const char **pp, const char *end, struct lp_field *f)
{
    const char *s = *pp + 1;
    const char *e = memchr(s, '"', (size_t)(end - s));
    if (!e || memchr(s, '\\', (size_t)(e - s)) || memchr(s, '\n', (size_t)(e - s)))
        return false;
    const char *q = e + 1;
    if (q < end && *q != ',' && *q != ' ' && *q != '\n')
        return false;
    f->type = LP_STRING;
    f->v.s = sv_make(s, (size_t)(e - s));
    *pp = q;
    return true;
}

/* Parses the line starting at s (first non-blank byte, not '#').  Returns 1
 * with *out filled and p->pos past the line, 0 to hand the line to the
 * faithful path, or ERR_NOMEM. */
static int fast_line(struct lp_parser *p, const char *s, struct lp_point *out)
{
    const char *end = p->buf + p->len;
    const char *q = next_special(s, end);
    while (q < end && *q == '=') /* ordinary in a measurement */
        q = next_special(q + 1, end);
    if (q == s || q >= end || (cls[(unsigned char)*q] & C_BAD))
        return 0;
    out->raw_measurement = sv_make(s, (size_t)(q - s));
    size_t ntags = 0;
    while (*q == ',') {
        const char *k = ++q;
        q = next_special(q, end);
        if (q == k || q >= end || *q != '=')
            return 0;
        const char *ke = q++;
        const char *v = q;
        q = next_special(q, end);
        if (q == v || q >= end || (cls[(unsigned char)*q] & (C_EQ | C_BAD)))
            return 0;
        if (ntags == p->tags_cap && grow_tags(p))
            return ERR_NOMEM;
        struct lp_tag *t = &p->tags[ntags++];
        t->key = sv_make(k, (size_t)(ke - k));
        t->value = sv_make(v, (size_t)(q - v));
        t->raw = sv_make(k, (size_t)(q - k));
        t->raw_key_len = t->key.n;
    }
    /* *q == ' ' here */
    out->raw_key = sv_make(s, (size_t)(q - s));
    if (out->raw_key.n > LP_MAX_KEY_BYTES)
        return 0;
    bool sorted;
    if (!check_tags(p->tags, ntags, &sorted))
        return 0;
    while (q < end && *q == ' ')
        q++;
    if (q >= end || *q == '\t' || *q == '\0')
        return 0;
    size_t nfields = 0;
    for (;;) {
        const char *k = q;
        q = next_special(q, end);
        if (q == k || q + 1 >= end || *q != '=')
            return 0;
        if (nfields == p->fields_cap && grow_fields(p))
            return ERR_NOMEM;
        struct lp_field *f = &p->fields[nfields++];
        f->key = sv_make(k, (size_t)(q - k));
        if (out->raw_key.n + 4 + f->key.n > LP_MAX_KEY_BYTES)
            return 0;
        q++;
        char c = *q;
        if (is_digit(c) || c == '-' || c == '.') {
            if (!fast_number(&q, end, f))
                return 0;
        } else if (c == 't' || c == 'f' || c == 'T' || c == 'F') {
            if (!fast_bool(&q, end, f))
                return 0;
        } else if (c == '"') {
            if (!fast_string(&q, end, f))
                return 0;
        } else {
            return 0;
        }
        if (q < end && *q == ',') {
            q++;
            continue;
        }
        break;
    }
    /* q is at ' ', '\n' or end. */
    bool has_ts = false;
    int64_t ts = 0;
    while (q < end && *q == ' ')
        q++;
    if (q < end && *q != '\n') {
        bool neg = *q == '-';
        if (neg)
            q++;
        uint64_t v = 0;
        int nd = 0;
        q = scan_digits(q, end, &v, &nd);
        /* 19 digits fit the accumulator; the range check follows. */
        if (nd == 0 || nd > 19 || v > (uint64_t)INT64_MAX + neg)
            return 0;
        while (q < end && *q == ' ')
            q++;
        if (q < end && *q != '\n')
            return 0;
        if (!scale_time(neg ? (int64_t)(0 - v) : (int64_t)v,
                        lp_precision_ns(p->precision), &ts))
            return 0;
        has_ts = true;
    }
    /* Accepted. */
    out->measurement = out->raw_measurement;
    out->tags = p->tags;
    out->ntags = ntags;
    out->fields = p->fields;
    out->nfields = nfields;
    out->has_dup_fields = nfields > 1 && fields_have_dup(p->fields, nfields);
    out->key_is_canonical = sorted;
    out->tags_sorted = sorted;
    out->uses_scratch = false;
    out->has_ts = has_ts;
    out->ts_ns = has_ts ? ts : p->now_ns;
    out->line_no = p->line_no;
    out->line = sv_make(s, (size_t)(q - s));
    if (q < end) {
        q++; /* the '\n' */
        p->line_no++;
    }
    p->pos = (size_t)(q - p->buf);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Faithful path: a port of InfluxDB 1.6 models/points.go                   */

/* The line being parsed by the faithful path: b[0..n) is the line after
 * its leading blanks; error reasons go to p->err_reason. */
struct line {
    struct lp_parser *p;
    const char *b;
    size_t n;
    char *scratch; /* room for n unescaped bytes, or NULL until needed */
    size_t scratch_used;
};

static int reason(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int reason(struct line *l, const char *fmt, ...)
{
    va_list ap;
    buf_reset(&l->p->err_reason);
    va_start(ap, fmt);
    int rc = buf_vappendf(&l->p->err_reason, fmt, ap);
    va_end(ap);
    return rc ? rc : ERR_PARSE;
}

/* scanLine: the end of the line that starts at i. */
static size_t scan_line(const char *buf, size_t len, size_t i)
{
    bool quoted = false, fields = false;
    size_t equals = 0, commas = 0;
    while (i < len) {
        char c = buf[i];
        if (c == '\\' && i + 2 < len) {
            i += 2;
            continue;
        }
        if (c == ' ')
            fields = true;
        if (fields) {
            if (!quoted && c == '=') {
                i++;
                equals++;
                continue;
            }
            if (!quoted && c == ',') {
                i++;
                commas++;
                continue;
            }
            if (c == '"' && equals > commas) {
                i++;
                quoted = !quoted;
                continue;
            }
        }
        if (c == '\n' && !quoted)
            break;
        i++;
    }
    return i;
}

enum scan_state { ST_TAG_KEY, ST_TAG_VALUE, ST_FIELDS };

/* scanMeasurement: sets *state and returns the index after the name's
 * separator (ST_TAG_KEY) or of the space (ST_FIELDS). */
static int scan_measurement(struct line *l, size_t *i, enum scan_state *state)
{
    const char *b = l->b;
    size_t n = l->n, j = *i;
    if (j >= n || b[j] == ',')
        return reason(l, "missing measurement");
    for (;;) {
        j++;
        if (j >= n)
            return reason(l, "missing fields");
        if (b[j - 1] == '\\')
            continue;
        if (b[j] == ',') {
            *state = ST_TAG_KEY;
            *i = j + 1;
            return 0;
        }
        if (b[j] == ' ') {
            *state = ST_FIELDS;
            *i = j;
            return 0;
        }
    }
}

static int scan_tags_key(struct line *l, size_t *i)
{
    const char *b = l->b;
    size_t n = l->n, j = *i;
    if (j >= n || b[j] == ' ' || b[j] == ',' || b[j] == '=')
        return reason(l, "missing tag key");
    for (;;) {
        j++;
        if (j >= n || ((b[j] == ' ' || b[j] == ',') && b[j - 1] != '\\'))
            return reason(l, "missing tag value");
        if (b[j] == '=' && b[j - 1] != '\\') {
            *i = j + 1;
            return 0;
        }
    }
}

static int scan_tags_value(struct line *l, size_t *i, enum scan_state *state)
{
    const char *b = l->b;
    size_t n = l->n, j = *i;
    if (j >= n || b[j] == ',' || b[j] == ' ')
        return reason(l, "missing tag value");
    for (;;) {
        j++;
        if (j >= n)
            return reason(l, "missing fields");
        if (b[j] == '=' && b[j - 1] != '\\')
            return reason(l, "invalid tag format");
        if (b[j] == ',' && b[j - 1] != '\\') {
            *state = ST_TAG_KEY;
            *i = j + 1;
            return 0;
        }
        if (b[j] == ' ' && b[j - 1] != '\\') {
            *state = ST_FIELDS;
            *i = j;
            return 0;
        }
    }
}

/* scanTo with the backwards escape rule: index of the first `stop` not
 * preceded by a backslash, from i, within b[0..n). */
static size_t scan_to(const char *b, size_t n, size_t i, char stop)
{
    for (; i < n; i++)
        if (b[i] == stop && (i == 0 || b[i - 1] != '\\'))
            break;
    return i;
}

/* scanKey: measurement and tags; fills p->tags (sorted) and *ntags and
 * returns the index just past the key (the space before the fields). */
static int scan_key(struct line *l, size_t *i, size_t *ntags, bool *sorted)
{
    struct lp_parser *p = l->p;
    enum scan_state state;
    size_t j = *i;
    int rc = scan_measurement(l, &j, &state);
    *ntags = 0;
    *sorted = true;
    if (rc)
        return rc;
    size_t nt = 0;
    while (state != ST_FIELDS) {
        if (nt == p->tags_cap && grow_tags(p))
            return ERR_NOMEM;
        size_t start = j;
        rc = scan_tags_key(l, &j);
        if (rc)
            return rc;
        rc = scan_tags_value(l, &j, &state);
        if (rc)
            return rc;
        struct lp_tag *t = &p->tags[nt++];
        /* j is past the ',' or at the ' ' */
        size_t stop = state == ST_FIELDS ? j : j - 1;
        t->raw = sv_make(l->b + start, stop - start);
        t->raw_key_len = scan_to(t->raw.p, t->raw.n, 0, '=');
    }
    if (!check_tags(p->tags, nt, sorted))
        return reason(l, "duplicate tags");
    *ntags = nt;
    *i = j;
    return 0;
}

/* Go's strconv.ParseInt / ParseUint on decimal text. */
static int parse_i64(const char *s, size_t n, int64_t *out)
{
    bool neg = false;
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    if (i == n)
        return ERR_PARSE;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    bool range = false;
    for (; i < n; i++) {
        if (!is_digit(s[i]))
            return ERR_PARSE;
        unsigned d = (unsigned)(s[i] - '0');
        if (!range && (v > (lim - d) / 10))
            range = true;
        if (!range)
            v = v * 10 + d;
    }
    if (range)
        return ERR_LIMIT;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0)
        return ERR_PARSE;
    uint64_t v = 0;
    bool range = false;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return ERR_PARSE;
        unsigned d = (unsigned)(s[i] - '0');
        if (!range && v > (UINT64_MAX - d) / 10)
            range = true;
        if (!range)
            v = v * 10 + d;
    }
    if (range)
        return ERR_LIMIT;
    *out = v;
    return 0;
}

static inline bool is_numeric(char c)
{
    return is_digit(c) || c == '.';
}

/* scanNumber: validates the number starting at *i and moves *i past it. */
static int scan_number(struct line *l, size_t *i)
{
    const char *b = l->b;
    size_t n = l->n, j = *i, start = j;
    bool is_int = false, is_uns = false, decimal = false, sci = false;
    if (j < n && b[j] == '-') {
        j++;
        if (j == n) {
            *i = j;
            return reason(l, "invalid number");
        }
    }
    for (; j < n; j++) {
        char c = b[j];
        if (c == ',' || c == ' ')
            break;
        if (c == 'i' && j > start && !(is_int || is_uns)) {
            is_int = true;
            continue;
        }
        if (c == 'u' && j > start && !(is_int || is_uns)) {
            is_uns = true;
            continue;
        }
        if (c == '.') {
            if (decimal)
                return reason(l, "invalid number");
            decimal = true;
        }
        if (j > start && (c == 'e' || c == 'E')) {
            sci = true;
            continue;
        }
        if ((c == '+' || c == '-') && (b[j - 1] == 'e' || b[j - 1] == 'E'))
            continue;
        if (!is_numeric(c))
            return reason(l, "invalid number"); /* NaN included */
    }
    *i = j;
    if ((is_int || is_uns) && (decimal || sci))
        return reason(l, "invalid number");
    size_t digits = j - start;
    if (is_int)
        digits--;
    if (decimal)
        digits--;
    if (b[start] == '-')
        digits--;
    if (digits == 0)
        return reason(l, "invalid number");
    if (is_int) {
        if (b[j - 1] != 'i')
            return reason(l, "invalid number");
        int64_t v;
        size_t dn = j - 1 - start;
        if (parse_i64(b + start, dn, &v))
            return reason(l, "unable to parse integer %.*s: strconv.ParseInt: parsing \"%.*s\": "
                          "value out of range", (int)dn, b + start, (int)dn, b + start);
    } else if (is_uns) {
        if (b[j - 1] != 'u' || b[start] == '-')
            return reason(l, "invalid number");
        uint64_t v;
        size_t dn = j - 1 - start;
        if (parse_u64(b + start, dn, &v))
            return reason(l, "unable to parse unsigned %.*s: strconv.ParseUint: parsing \"%.*s\": "
                          "value out of range", (int)dn, b + start, (int)dn, b + start);
    } else if (sci || j - start >= 25) {
        /* As in InfluxDB, only these can fail to convert: a plain decimal
         * shorter than 25 bytes is always a valid, finite float. */
        double d;
        int rc = lp_parse_f64(sv_make(b + start, j - start), &d);
        if (rc == ERR_NOMEM)
            return rc;
        if (rc)
            return reason(l, "invalid float");
    }
    return 0;
}

static int scan_boolean(struct line *l, size_t *i)
{
    const char *b = l->b;
    size_t n = l->n, j = *i, start = j;
    if (j < n && b[j] != 't' && b[j] != 'f' && b[j] != 'T' && b[j] != 'F')
        return reason(l, "invalid boolean");
    j++;
    while (j < n && b[j] != ',' && b[j] != ' ')
        j++;
    *i = j;
    struct sv v = sv_make(b + start, j - start);
    if (v.n == 1)
        return 0;
    if (sv_eq_cstr(v, "true") || sv_eq_cstr(v, "True") || sv_eq_cstr(v, "TRUE") ||
        sv_eq_cstr(v, "false") || sv_eq_cstr(v, "False") || sv_eq_cstr(v, "FALSE"))
        return 0;
    return reason(l, "invalid boolean");
}

/* scanFields: validates the field set from i; [*fs, *fe) gets its bounds. */
static int scan_fields(struct line *l, size_t i, size_t *fs, size_t *fe)
{
    const char *b = l->b;
    size_t n = l->n;
    while (i < n && is_blank(b[i]))
        i++;
    *fs = i;
    bool quoted = false;
    size_t equals = 0, commas = 0;
    int rc;
    while (i < n) {
        char c = b[i];
        if (c == '\\' && i + 1 < n) {
            i += 2;
            continue;
        }
        if (c == '"' && equals > commas) {
            quoted = !quoted;
            i++;
            continue;
        }
        if (c == '=' && !quoted) {
            equals++;
            /* i >= 2: a measurement byte and a space precede the fields */
            if (i >= 2 && (b[i - 1] == ' ' || b[i - 1] == ',') && b[i - 2] != '\\')
                return reason(l, "missing field key");
            if (i + 1 >= n || b[i + 1] == ',' || b[i + 1] == ' ')
                return reason(l, "missing field value");
            char v = b[i + 1];
            if (is_numeric(v) || v == '-' || v == 'N' || v == 'n') {
                i++;
                if ((rc = scan_number(l, &i)))
                    return rc;
                continue;
            }
            if (v != '"') {
                i++;
                if ((rc = scan_boolean(l, &i)))
                    return rc;
                continue;
            }
        }
        if (c == ',' && !quoted)
            commas++;
        if (c == ' ' && !quoted)
            break;
        i++;
    }
    *fe = i;
    if (quoted)
        return reason(l, "unbalanced quotes");
    if (equals == 0 || commas != equals - 1)
        return reason(l, "invalid field format");
    return 0;
}

/* scanFieldValue: from i to the first ',' outside quotes. */
static size_t scan_field_value(const char *b, size_t n, size_t i)
{
    bool quoted = false;
    while (i < n) {
        if (b[i] == '\\' && i + 1 < n && (b[i + 1] == '"' || b[i + 1] == '\\')) {
            i += 2;
            continue;
        }
        if (b[i] == '"') {
            i++;
            quoted = !quoted;
            continue;
        }
        if (b[i] == ',' && !quoted)
            break;
        i++;
    }
    return i;
}

/* Unescaping.  Each kind drops the backslash of `\c` for its own set of
 * c and keeps every other backslash (one pass left to right, which is what
 * InfluxDB's bytes.Replace passes and escape.Unescape amount to).  The
 * measurement uses escape.Unescape like field keys (point.Name()), so `\=`
 * and `\"` lose their backslash there too although `=` and `"` never need
 * escaping in a measurement (observed: `a\=b` is stored as `a=b`). */
enum unesc { UN_MEAS, UN_TAG, UN_FKEY, UN_STR };

static bool unesc_code(enum unesc kind, char c)
{
    switch (kind) {
    case UN_TAG: return c == ',' || c == ' ' || c == '=';
    case UN_MEAS:
    case UN_FKEY: return c == ',' || c == ' ' || c == '=' || c == '"';
    case UN_STR: return c == '\\' || c == '"';
    }
    return false;
}

static int unescape(struct line *l, struct sv in, enum unesc kind, struct sv *out)
{
    if (!memchr(in.p, '\\', in.n)) {
        *out = in;
        return 0;
    }
    if (!l->scratch) {
        struct lp_parser *p = l->p;
        if (p->scratch) {
            l->scratch = arena_try_alloc(p->scratch, l->n + 1);
            if (!l->scratch)
                return ERR_NOMEM;
        } else {
            buf_reset(&p->own_scratch);
            if (buf_reserve(&p->own_scratch, l->n + 1))
                return ERR_NOMEM;
            l->scratch = p->own_scratch.p;
        }
    }
    char *o = l->scratch + l->scratch_used, *o0 = o;
    for (size_t i = 0; i < in.n; i++) {
        if (in.p[i] == '\\' && i + 1 < in.n && unesc_code(kind, in.p[i + 1]))
            i++;
        *o++ = in.p[i];
    }
    l->scratch_used += (size_t)(o - o0);
    *out = sv_make(o0, (size_t)(o - o0));
    return 0;
}

/* Go's strconv.ParseBool. */
static bool parse_bool(struct sv v, bool *out)
{
    static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
    static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
    for (size_t i = 0; i < 6; i++) {
        if (sv_eq_cstr(v, t[i])) {
            *out = true;
            return true;
        }
        if (sv_eq_cstr(v, f[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Types and converts one value as InfluxDB's field iterator does.  Values
 * the iterator would hand to storage in an unusable shape (only reachable
 * through odd escapes, or a string with bytes after its closing quote,
 * which 1.6 stores mangled) are rejected as "invalid field format". */
static int convert_value(struct line *l, struct sv v, struct lp_field *f)
{
    if (v.n == 0)
        return reason(l, "invalid field format");
    char c0 = v.p[0], cl = v.p[v.n - 1];
    if (c0 == '"') {
        /* The closing quote must be the last byte. */
        size_t i = 1;
        while (i < v.n) {
            if (v.p[i] == '\\' && i + 1 < v.n && (v.p[i + 1] == '"' || v.p[i + 1] == '\\')) {
                i += 2;
                continue;
            }
            if (v.p[i] == '"')
                break;
            i++;
        }
        if (i != v.n - 1)
            return reason(l, "invalid field format");
        f->type = LP_STRING;
        return unescape(l, sv_make(v.p + 1, v.n - 2), UN_STR, &f->v.s);
    }
    if (c0 != '\0' && strchr("0123456789-.nNiIu", c0)) {
        if (cl == 'i') {
            f->type = LP_INTEGER;
            if (parse_i64(v.p, v.n - 1, &f->v.i))
                return reason(l, "invalid field format");
        } else if (cl == 'u') {
            f->type = LP_UNSIGNED;
            if (parse_u64(v.p, v.n - 1, &f->v.u))
                return reason(l, "invalid field format");
        } else {
            f->type = LP_FLOAT;
            int rc = lp_parse_f64(v, &f->v.f);
            if (rc == ERR_NOMEM)
                return rc;
            if (rc)
                return reason(l, "invalid field format");
        }
        return 0;
    }
    f->type = LP_BOOLEAN;
    if (!parse_bool(v, &f->v.b))
        return reason(l, "invalid field format");
    return 0;
}

/* parsePoint.  Returns 1 with *out filled, 0 for a line that yields no
 * point without an error (every field key empty), or an error. */
static int slow_point(struct line *l, struct lp_point *out)
{
    struct lp_parser *p = l->p;
    const char *b = l->b;
    size_t n = l->n, i = 0, ntags;
    bool sorted;
    int rc = scan_key(l, &i, &ntags, &sorted);
    if (rc)
        return rc;
    struct sv key = sv_make(b, i);
    if (key.n == 0)
        return reason(l, "missing measurement");
    if (key.n > LP_MAX_KEY_BYTES)
        return reason(l, "max key length exceeded: %zu > %d", key.n, LP_MAX_KEY_BYTES);
    size_t fs = 0, fe = 0;
    if ((rc = scan_fields(l, i, &fs, &fe)))
        return rc;
    if (fe == fs)
        return reason(l, "missing fields");
    /* walkFields: key-size check per field. */
    const char *fb = b + fs;
    size_t fn = fe - fs;
    for (size_t k = 0; k < fn;) {
        size_t eq = scan_to(fb + k, fn - k, 0, '=');
        if (eq + 2 > fn - k)
            return reason(l, "invalid value: field-key=%.*s", (int)eq, fb + k);
        if (key.n + 4 + eq > LP_MAX_KEY_BYTES)
            return reason(l, "max key length exceeded: %zu > %d", key.n + 4 + eq,
                          LP_MAX_KEY_BYTES);
        k += eq + 1;
        k = scan_field_value(fb, fn, k);
        if (k < fn)
            k++;
    }
    /* scanTime */
    size_t ts = fe;
    while (ts < n && is_blank(b[ts]))
        ts++;
    size_t te = ts;
    for (; te < n && b[te] != '\n' && b[te] != ' '; te++) {
        if (te == ts && b[te] == '-')
            continue;
        if (!is_digit(b[te]))
            return reason(l, "bad timestamp");
    }
    if (te > ts) {
        int64_t t;
        rc = parse_i64(b + ts, te - ts, &t);
        if (rc)
            return reason(l, "strconv.ParseInt: parsing \"%.*s\": %s", (int)(te - ts), b + ts,
                          rc == ERR_LIMIT ? "value out of range" : "invalid syntax");
        if (!scale_time(t, lp_precision_ns(p->precision), &out->ts_ns))
            return reason(l, TIME_RANGE_MSG);
        for (size_t k = te; k < n; k++)
            if (b[k] != ' ')
                return reason(l, "point is invalid");
        out->has_ts = true;
    } else {
        out->has_ts = false;
        out->ts_ns = p->now_ns;
    }
    /* The point: names, tags, then the field iterator. */
    out->raw_key = key;
    out->raw_measurement = sv_make(b, scan_to(b, key.n, 0, ','));
    if ((rc = unescape(l, out->raw_measurement, UN_MEAS, &out->measurement)))
        return rc;
    for (size_t k = 0; k < ntags; k++) {
        struct lp_tag *t = &p->tags[k];
        struct sv rk = sv_make(t->raw.p, t->raw_key_len);
        struct sv rv = sv_make(t->raw.p + t->raw_key_len + 1, t->raw.n - t->raw_key_len - 1);
        if ((rc = unescape(l, rk, UN_TAG, &t->key)) || (rc = unescape(l, rv, UN_TAG, &t->value)))
            return rc;
    }
    size_t nf = 0;
    for (size_t k = 0; k < fn;) {
        size_t eq = scan_to(fb, fn, k, '=');
        struct sv fk = sv_make(fb + k, eq - k);
        size_t vs = eq + 1 < fn ? eq + 1 : fn;
        size_t ve = scan_field_value(fb, fn, vs);
        k = ve + 1;
        if (fk.n == 0)
            continue; /* InfluxDB skips fields without a key */
        if (nf == p->fields_cap && grow_fields(p))
            return ERR_NOMEM;
        struct lp_field *f = &p->fields[nf];
        if ((rc = unescape(l, fk, UN_FKEY, &f->key)))
            return rc;
        if ((rc = convert_value(l, sv_make(fb + vs, ve - vs), f)))
            return rc;
        nf++;
    }
    if (nf == 0)
        return 0;
    out->tags = p->tags;
    out->ntags = ntags;
    /* The raw key is InfluxDB's canonical key when the tags are in order,
     * nothing is escaped and no tag value starts with an unescaped '='
     * (which the canonical form escapes). */
    bool plain = !memchr(key.p, '\\', key.n);
    for (size_t k = 0; k < ntags && plain; k++)
        plain = p->tags[k].value.p[0] != '=';
    out->key_is_canonical = sorted && plain;
    out->tags_sorted = sorted;
    out->fields = p->fields;
    out->nfields = nf;
    out->has_dup_fields = nf > 1 && fields_have_dup(p->fields, nf);
    return 1;
}

static size_t count_nl(const char *b, size_t n)
{
    size_t c = 0;
    const char *e = b + n;
    while (b < e && (b = memchr(b, '\n', (size_t)(e - b)))) {
        c++;
        b++;
    }
    return c;
}

static void set_err_msg(const struct lp_parser *p, struct err *e)
{
    if (!e)
        return;
    const char *why = p->err_reason.p ? p->err_reason.p : "";
    size_t fixed = strlen("unable to parse '': ") + strlen(why);
    size_t room = fixed + 4 < ERR_MSG_MAX ? ERR_MSG_MAX - 1 - fixed : 0;
    struct sv ln = p->err_line;
    if (ln.n <= room)
        err_set(e, ERR_PARSE, "unable to parse '%.*s': %s", SV_FMT(ln), why);
    else
        err_set(e, ERR_PARSE, "unable to parse '%.*s...': %s",
                (int)(room > 3 ? room - 3 : 0), ln.p, why);
}

/* The faithful path for the line whose scanLine starts at ls and whose
 * first non-blank byte is at s. */
static int slow_line(struct lp_parser *p, size_t ls, size_t s, struct lp_point *out,
                     struct err *e)
{
    size_t end = scan_line(p->buf, p->len, ls);
    size_t line_no = p->line_no;
    p->line_no += count_nl(p->buf + ls, end - ls);
    if (end < p->len) {
        p->line_no++;
        p->pos = end + 1;
    } else {
        p->pos = p->len;
    }
    if (p->buf[s] == '#')
        return 0;
    struct line l = { .p = p, .b = p->buf + s, .n = end - s };
    /* A line that ran to the end of the body inside quotes keeps a final
     * '\n'; InfluxDB strips it before parsing. */
    if (l.n && l.b[l.n - 1] == '\n')
        l.n--;
    int rc = slow_point(&l, out);
    if (rc == 1) {
        out->uses_scratch = l.scratch && !p->scratch;
        out->line_no = line_no;
        out->line = sv_make(l.b, l.n);
        return 1;
    }
    if (rc == 0)
        return 0;
    p->err_line = sv_make(l.b, l.n);
    p->err_line_no = line_no;
    if (rc == ERR_PARSE) {
        set_err_msg(p, e);
    } else {
        buf_reset(&p->err_reason);
        if (buf_append_str(&p->err_reason, err_str(rc)) == 0)
            set_err_msg(p, e);
        if (e)
            e->code = rc;
    }
    return rc;
}

int lp_next(struct lp_parser *p, struct lp_point *out, struct err *e)
{
    const char *b = p->buf;
    while (p->pos < p->len) {
        size_t ls = p->pos, s = ls;
        while (s < p->len && is_blank(b[s]))
            s++;
        if (s >= p->len) {
            p->pos = p->len;
            break;
        }
        if (b[s] == '\n') {
            p->pos = s + 1;
            p->line_no++;
            continue;
        }
        if (b[s] != '#' && !(p->flags & LP_FORCE_SLOW)) {
            /* 0 (not sure) and ERR_NOMEM both go to the faithful path, which
             * always moves past the line. */
            if (fast_line(p, b + s, out) == 1)
                return 1;
        }
        int rc = slow_line(p, ls, s, out, e);
        if (rc)
            return rc;
    }
    return 0;
}

int lp_format_error(const struct lp_parser *p, struct buf *out)
{
    int rc = buf_append_str(out, "unable to parse '");
    if (!rc)
        rc = buf_append_sv(out, p->err_line);
    if (!rc)
        rc = buf_append_str(out, "': ");
    if (!rc)
        rc = buf_append_sv(out, buf_sv(&p->err_reason));
    return rc;
}
