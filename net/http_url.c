// SPDX-License-Identifier: MIT
/*
 * URL and form decoding, and lookups on a parsed request.
 *
 * Query strings are decoded the way Go's url.ParseQuery does it (what
 * InfluxDB's r.URL.Query() and r.FormValue() see): pairs are separated by
 * '&' only; a pair containing ';' or an invalid %-escape is dropped (Go
 * records an error that InfluxDB ignores); a key without '=' has the empty
 * value; '+' means space.  Decoded keys and values live in the request arena.
 */
#include <string.h>

#include "net/net_int.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long http_url_decode(const char *in, size_t n, char *out, bool plus_is_space)
{
    size_t o = 0;
    bool is_bad = false;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            int hi = i + 1 < n ? hexval(in[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                is_bad = true;
                out[o++] = c; /* kept literally */
                continue;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = c;
        }
    }
    return is_bad ? -1 : (long)o;
}

/* Decodes one component into the arena; false if it has a bad escape. */
static bool decode_component(struct arena *a, struct sv in, struct sv *out)
{
    char *p = arena_alloc(a, in.n + 1);
    long n = http_url_decode(in.p, in.n, p, true);
    if (n < 0)
        return false;
    p[n] = '\0';
    *out = sv_make(p, (size_t)n);
    return true;
}

int http_parse_query(struct arena *a, struct sv q, struct http_param **out, size_t max)
{
    size_t cap = 0;
    for (size_t i = 0; i < q.n; i++)
        cap += q.p[i] == '&';
    cap++;
    if (cap > max)
        cap = max;
    struct http_param *ps = arena_alloc(a, (cap ? cap : 1) * sizeof *ps);
    size_t n = 0;
    struct sv rest = q;
    while (rest.p && rest.n > 0) {
        struct sv pair;
        rest = sv_cut(rest, '&', &pair);
        if (pair.n == 0 || memchr(pair.p, ';', pair.n))
            continue;
        struct sv k, v;
        v = sv_cut(pair, '=', &k);
        struct http_param prm;
        if (!decode_component(a, k, &prm.key) || !decode_component(a, v, &prm.value))
            continue;
        if (n >= max)
            return ERR_LIMIT;
        ps[n++] = prm;
    }
    *out = ps;
    return (int)n;
}

const struct sv *http__header_find(const struct http_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (sv_case_eq(h[i].name, name))
            return &h[i].value;
    return NULL;
}

const struct sv *http_request_header(const struct http_request *r, const char *name)
{
    return http__header_find(r->headers, r->nheaders, name);
}

static bool find_param(const struct http_param *ps, size_t n, const char *name, struct sv *out)
{
    struct sv key = sv_cstr(name);
    for (size_t i = 0; i < n; i++) {
        if (sv_eq(ps[i].key, key)) {
            if (out)
                *out = ps[i].value;
            return true;
        }
    }
    return false;
}

bool http_request_param(const struct http_request *r, const char *name, struct sv *out)
{
    return find_param(r->params, r->nparams, name, out);
}

bool http_request_form_value(const struct http_request *r, const char *name, struct sv *out)
{
    return find_param(r->form, r->nform, name, out) ||
           find_param(r->params, r->nparams, name, out);
}

bool http__token_list_has(struct sv list, const char *tok)
{
    struct sv rest = list;
    while (rest.p) {
        struct sv item;
        rest = sv_cut(rest, ',', &item);
        if (sv_case_eq(sv_trim(item), tok))
            return true;
    }
    return false;
}
