// SPDX-License-Identifier: MIT
/* Go-compatible JSON value encoding (see json.h).  Numbers go through
 * common/fmt_float (Ryu shortest digits, no printf). */
#include "common/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fmt_float.h"

static const char hex[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int json_append_str(struct buf *b, struct sv s)
{
    int rc = buf_append_char(b, '"');
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0, run = 0;
    while (i < s.n && rc == 0) {
        unsigned char c = p[i];
        const char *esc = NULL;
        char ubuf[8];
        size_t adv = 1;
        if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' && c < 0x80) {
            i++;
            run++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = utf8_len(p + i, s.n - i);
            if (l == 3 && p[i] == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
                esc = p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
                adv = 3;
            } else if (l) {
                i += l;
                run += l;
                continue;
            } else {
                esc = "\\ufffd";
            }
        } else if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c == '\n') {
            esc = "\\n";
        } else if (c == '\r') {
            esc = "\\r";
        } else if (c == '\t') {
            esc = "\\t";
        } else {
            memcpy(ubuf, "\\u00", 4);
            ubuf[4] = hex[c >> 4];
            ubuf[5] = hex[c & 15];
            ubuf[6] = '\0';
            esc = ubuf;
        }
        if (run)
            rc = buf_append(b, p + i - run, run);
        run = 0;
        if (rc == 0)
            rc = buf_append_str(b, esc);
        i += adv;
    }
    if (run && rc == 0)
        rc = buf_append(b, p + i - run, run);
    if (rc == 0)
        rc = buf_append_char(b, '"');
    return rc;
}

void json_shortest_g(double v, char *out, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

int json_append_f64(struct buf *b, double v)
{
    if (!isfinite(v))
        return buf_append(b, "null", 4);
    char out[FMT_JSON_MAX];
    return buf_append(b, out, fmt_f64_json(v, out));
}

int json_append_i64(struct buf *b, int64_t v)
{
    char out[FMT_I64_MAX];
    return buf_append(b, out, fmt_i64(v, out));
}

int json_append_u64(struct buf *b, uint64_t v)
{
    char out[FMT_U64_MAX];
    return buf_append(b, out, fmt_u64(v, out));
}
