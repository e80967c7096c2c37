// SPDX-License-Identifier: MIT
/*
 * Regex validation for the InfluxQL parser.  influxd compiles regex
 * literals with Go's regexp (RE2 syntax) at parse time, so a bad regex is a
 * parse error there; we validate with PCRE2, which the executor uses to
 * match, after a pass that refuses what RE2 refuses and PCRE2 would accept.
 * Messages use Go's regexp/syntax words ("error parsing regexp: missing
 * closing ): `(a`"); rare PCRE2-only failures keep PCRE2's text.
 *
 * Known difference: "[\d-z]" (a range starting at a class escape) is a
 * literal '-' for Go and an error for PCRE2; it is refused here.
 */
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "query/iql_int.h"

/* PCRE2 accepts Perl syntax that Go's RE2 refuses (backreferences,
 * lookaround, \e \h \R \K \Z ..., (?x) (?# (?| ..., possessive and nested
 * quantifiers, repeat counts over 1000).  Refuse those here, in the words
 * Go's regexp/syntax uses, so that a regex valid here is valid for influxd
 * and the other way round. */
static int re_fail(struct iql_parser *p, struct iql_pos pos, const char *what, const char *s,
                   size_t n)
{
    return iql__err_at(p, pos, "error parsing regexp: %s: `%.*s`", what, (int)n, s);
}

static size_t rune_len(const char *s, size_t n)
{
    unsigned char c = (unsigned char)s[0];
    size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    return l < n ? l : n;
}

static int32_t decode_cp(const char *s, size_t n, size_t *len)
{
    unsigned char c = (unsigned char)s[0];
    size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (l > n)
        l = n;
    *len = l;
    if (l == 1)
        return c;
    int32_t v = c & (0x7F >> l);
    for (size_t k = 1; k < l; k++)
        v = (v << 6) | ((unsigned char)s[k] & 0x3F);
    return v;
}

static bool is_alnum_c(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Checks the escape at s[i] == '\\'; returns the index of its last byte,
 * or (size_t)-1 after reporting an error. */
static size_t re_escape(struct iql_parser *p, struct iql_pos pos, const char *s, size_t n,
                        size_t i, bool in_class)
{
    if (i + 1 >= n)
        return i; /* trailing backslash: PCRE2 reports it */
    char e = s[i + 1];
    if (e == 'Q' && !in_class) {
        for (size_t j = i + 2; j + 1 < n; j++)
            if (s[j] == '\\' && s[j + 1] == 'E')
                return j + 1;
        return n - 1;
    }
    bool ok;
    if ((unsigned char)e >= 0x80)
        ok = false;
    else if (e >= '1' && e <= '7')
        ok = i + 2 < n && s[i + 2] >= '0' && s[i + 2] <= '7';
    else if (is_alnum_c(e))
        ok = strchr(in_class ? "0dDsSwWpPxaftnrv" : "0AbBdDsSwWzpPxaftnrv", e) != NULL;
    else
        ok = true; /* punctuation */
    if (!ok) {
        re_fail(p, pos, "invalid escape sequence", s + i, 1 + rune_len(s + i + 1, n - i - 1));
        return (size_t)-1;
    }
    if ((e == 'x' || e == 'p' || e == 'P') && i + 2 < n && s[i + 2] == '{') {
        const char *close = memchr(s + i + 2, '}', n - i - 2);
        return close ? (size_t)(close - s) : n - 1;
    }
    return i + 1;
}

static int re2_only(struct iql_parser *p, struct sv src, struct iql_pos pos)
{
    const char *s = src.p;
    size_t n = src.n;
    bool in_class = false;
    size_t class_start = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            size_t j = re_escape(p, pos, s, n, i, in_class);
            if (j == (size_t)-1)
                return p->rc;
            i = j;
            continue;
        }
        if (in_class) {
            if (c == ']' && i > class_start) {
                in_class = false;
            } else if (c == '[' && i + 1 < n && s[i + 1] == ':') {
                static const char *const names[] = { "alnum", "alpha", "ascii", "blank",
                                                     "cntrl", "digit", "graph", "lower",
                                                     "print", "punct", "space", "upper",
                                                     "word", "xdigit" };
                const char *close = NULL;
                for (size_t j = i + 2; j + 1 < n; j++)
                    if (s[j] == ':' && s[j + 1] == ']') {
                        close = s + j;
                        break;
                    }
                if (close) {
                    size_t ns = i + 2 + (s[i + 2] == '^');
                    struct sv nm = sv_make(s + ns, (size_t)(close - s) - ns);
                    bool known = false;
                    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
                        known |= sv_eq_cstr(nm, names[k]);
                    if (!known)
                        return re_fail(p, pos, "invalid character class range", s + i,
                                       (size_t)(close - s) + 2 - i);
                    i = (size_t)(close - s) + 1;
                }
            } else if (c == '-' && i > class_start && i + 1 < n && s[i + 1] != ']' &&
                       s[i + 1] != '\\' && s[i + 1] != '[') {
                /* a literal range lo-hi: compare code points */
                size_t b = i - 1;
                while (b > class_start && ((unsigned char)s[b] & 0xC0) == 0x80)
                    b--;
                if (b > 0 && s[b - 1] == '\\')
                    continue;
                size_t l1, l2;
                int32_t lo = decode_cp(s + b, i - b, &l1);
                int32_t hi = decode_cp(s + i + 1, n - i - 1, &l2);
                if (lo > hi)
                    return re_fail(p, pos, "invalid character class range", s + b,
                                   i + 1 + l2 - b);
            }
            continue;
        }
        if (c == '[') {
            in_class = true;
            if (i + 1 < n && s[i + 1] == '^')
                i++;
            class_start = i + 1; /* a ']' right here is a literal */
            continue;
        }
        if (c == '(' && i + 1 < n && s[i + 1] == '?') {
            size_t j = i + 2;
            if (j < n && s[j] == 'P') {
                if (j + 1 < n && s[j + 1] == '<') {
                    i = j + 1;
                    continue;
                }
                return re_fail(p, pos, "invalid or unsupported Perl syntax", s + i, 3);
            }
            int sign = 1;
            bool saw = false, good = false;
            for (; j < n; j++) {
                char f = s[j];
                if (f == 'i' || f == 'm' || f == 's' || f == 'U') {
                    saw = true;
                } else if (f == '-') {
                    if (sign < 0)
                        break;
                    sign = -1;
                    saw = false;
                } else if (f == ':' || f == ')') {
                    good = sign > 0 || saw;
                    break;
                } else {
                    break;
                }
            }
            if (!good)
                return re_fail(p, pos, "invalid or unsupported Perl syntax", s + i,
                               (j < n ? j + 1 : n) - i);
            i = j;
            continue;
        }
        size_t op_start = i, op_end = 0;
        if (c == '?' && i > 0 && s[i - 1] == '(') {
            continue; /* a group flag, "(?i)" */
        } else if (c == '*' || c == '+' || c == '?') {
            op_end = i + 1;
        } else if (c == '{') {
            size_t j = i + 1;
            long lo = -1, hi = -1, v = 0;
            bool digits = false, comma = false, ok = true;
            for (; j < n && s[j] != '}'; j++) {
                if (s[j] >= '0' && s[j] <= '9') {
                    v = v < 100000 ? v * 10 + (s[j] - '0') : v;
                    digits = true;
                } else if (s[j] == ',' && !comma) {
                    lo = digits ? v : -2;
                    comma = true, digits = false, v = 0;
                } else {
                    ok = false;
                    break;
                }
            }
            if (!ok || j >= n)
                continue;
            if (comma)
                hi = digits ? v : -1;
            else
                lo = digits ? v : -2;
            if (lo == -2)
                continue; /* "{,n}" and "{}" are literals in Go */
            if (lo > 1000 || hi > 1000 || (hi >= 0 && hi < lo))
                return iql__err_at(p, pos, "error parsing regexp: invalid repeat count: `%.*s`",
                                   (int)(j + 1 - i), s + i);
            op_end = j + 1;
        }
        if (!op_end)
            continue;
        if (op_start == 0 || s[op_start - 1] == '(' || s[op_start - 1] == '|')
            return iql__err_at(p, pos,
                               "error parsing regexp: missing argument to repetition operator: `%.*s`",
                               (int)(op_end - op_start), s + op_start);
        size_t k = op_end;
        if (k < n && s[k] == '?')
            k++;
        size_t k2 = 0;
        if (k < n && (s[k] == '*' || s[k] == '+' || s[k] == '?')) {
            k2 = k + 1;
            if (k2 < n && s[k2] == '?')
                k2++;
        } else if (k + 1 < n && s[k] == '{' && s[k + 1] >= '0' && s[k + 1] <= '9') {
            const char *close = memchr(s + k, '}', n - k);
            if (close)
                k2 = (size_t)(close - s) + 1;
        }
        if (k2)
            return iql__err_at(p, pos,
                               "error parsing regexp: invalid nested repetition operator: `%.*s`",
                               (int)(k2 - op_start), s + op_start);
        i = k - 1;
    }
    return 0;
}

int iql__check_regex(struct iql_parser *p, struct sv src, struct iql_pos pos)
{
    if (re2_only(p, src, pos))
        return p->rc;
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)(src.p ? src.p : ""), src.n,
                                   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
    if (re) {
        pcre2_code_free(re);
        return 0;
    }
    /* Go's regexp/syntax names the problem differently; the common ones
     * Grafana users hit are mapped to Go's words, the rest keep PCRE2's. */
    const char *what;
    char pmsg[160];
    switch (ec) {
    case PCRE2_ERROR_MISSING_CLOSING_PARENTHESIS:
        what = "missing closing )";
        break;
    case PCRE2_ERROR_UNMATCHED_CLOSING_PARENTHESIS:
        what = "unexpected )";
        break;
    case PCRE2_ERROR_MISSING_SQUARE_BRACKET:
        what = "missing closing ]";
        break;
    case PCRE2_ERROR_QUANTIFIER_INVALID:
        what = "missing argument to repetition operator";
        break;
    case PCRE2_ERROR_END_BACKSLASH:
        what = "trailing backslash at end of expression";
        break;
    case PCRE2_ERROR_UNKNOWN_UNICODE_PROPERTY: {
        /* Go quotes the \p{...} item */
        size_t st = eo < src.n ? eo : src.n;
        while (st > 0 && !(src.p[st - 1] == '\\' && st < src.n &&
                           (src.p[st] == 'p' || src.p[st] == 'P')))
            st--;
        if (st > 0) {
            size_t en = st + 1;
            if (en < src.n && src.p[en] == '{') {
                const char *close = memchr(src.p + en, '}', src.n - en);
                en = close ? (size_t)(close - src.p) + 1 : src.n;
            } else {
                en = en < src.n ? en + 1 : src.n;
            }
            return iql__err_at(p, pos, "error parsing regexp: invalid character class range: `%.*s`",
                               (int)(en - st + 1), src.p + st - 1);
        }
        what = "invalid character class range";
        break;
    }
    default:
        pcre2_get_error_message(ec, (PCRE2_UCHAR *)pmsg, sizeof pmsg);
        what = pmsg;
        break;
    }
    return iql__err_at(p, pos, "error parsing regexp: %s: `%.*s`", what, SV_FMT(src));
}

