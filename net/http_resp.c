// SPDX-License-Identifier: MIT
/*
 * Responses: the helpers handlers call (on whichever thread they run) and the
 * serialisation of the status line and headers (loop thread).
 *
 * Framing headers belong to the server: Content-Length, Date, Connection and
 * Transfer-Encoding set by a handler are ignored when the head is written.
 * Header values have CR and LF replaced by spaces, as Go's net/http does, so a
 * message quoted into X-Influxdb-Error cannot split the response.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "net/net_int.h"

void http__response_init(struct http_response *resp, struct arena *a)
{
    memset(resp, 0, sizeof *resp);
    resp->status = 200;
    resp->arena = a;
    buf_init(&resp->body, 0);
}

void http__response_fini(struct http_response *resp)
{
    buf_fini(&resp->body);
}

const struct sv *http__response_header_find(const struct http_response *resp, const char *name)
{
    return http__header_find(resp->headers, resp->nheaders, name);
}

static struct sv clean_value(struct arena *a, const char *v, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (v[i] == '\r' || v[i] == '\n') ? ' ' : v[i];
    p[n] = '\0';
    return sv_make(p, n);
}

/* Adds (or, when is_set, replaces) a header.  Beyond HTTP_MAX_HEADERS
 * headers, new names are dropped: a handler bug, not a client's. */
static void put_header(struct http_response *resp, bool is_set, const char *name, const char *v,
                       size_t n)
{
    if (is_set) {
        for (size_t i = 0; i < resp->nheaders; i++) {
            if (sv_case_eq(resp->headers[i].name, name)) {
                resp->headers[i].value = clean_value(resp->arena, v, n);
                return;
            }
        }
    }
    if (resp->nheaders >= HTTP_MAX_HEADERS)
        return;
    struct http_header *h = &resp->headers[resp->nheaders++];
    h->name = arena_sv_dup(resp->arena, sv_cstr(name));
    h->value = clean_value(resp->arena, v, n);
}

__attribute__((format(printf, 4, 0))) static void
vput_header(struct http_response *resp, bool is_set, const char *name, const char *fmt,
            va_list ap)
{
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof small) {
        put_header(resp, is_set, name, small, (size_t)n);
    } else {
        char *big = arena_alloc(resp->arena, (size_t)n + 1);
        vsnprintf(big, (size_t)n + 1, fmt, ap2);
        put_header(resp, is_set, name, big, (size_t)n);
    }
    va_end(ap2);
}

void http_response_header(struct http_response *resp, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vput_header(resp, false, name, fmt, ap);
    va_end(ap);
}

void http_response_error(struct http_response *resp, int status, const char *fmt, ...)
{
    struct buf msg;
    buf_init(&msg, 0);
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vappendf(&msg, fmt, ap);
    va_end(ap);
    struct sv m = rc ? SV_LIT("internal error") : buf_sv(&msg);

    resp->status = status;
    buf_reset(&resp->body);
    /* A failed append leaves a shorter body; memory is the only cap here. */
    if (buf_append_str(&resp->body, "{\"error\":") || json_append_str(&resp->body, m) ||
        buf_append_str(&resp->body, "}\n"))
        buf_reset(&resp->body);
    put_header(resp, true, "Content-Type", "application/json", strlen("application/json"));
    if (status != 401 && status / 100 != 2)
        put_header(resp, true, "X-Influxdb-Error", m.p ? m.p : "", m.n > 1024 ? 1024 : m.n);
    buf_fini(&msg);
}

void http_response_defer(struct http_response *resp)
{
    resp->is_deferred = true;
}

void http__response_plain(struct http_response *resp, int status, const char *msg)
{
    resp->status = status;
    buf_reset(&resp->body);
    if (buf_append_str(&resp->body, msg) || buf_append_char(&resp->body, '\n'))
        buf_reset(&resp->body);
    const char *ct = "text/plain; charset=utf-8";
    put_header(resp, true, "Content-Type", ct, strlen(ct));
    put_header(resp, true, "X-Content-Type-Options", "nosniff", 7);
}

const char *http__reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

void http__format_date(int64_t wall_ns, char *out, size_t cap)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t)(wall_ns / 1000000000LL);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool is_framing_header(struct sv name)
{
    return sv_case_eq(name, "Content-Length") || sv_case_eq(name, "Date") ||
           sv_case_eq(name, "Connection") || sv_case_eq(name, "Transfer-Encoding");
}

/* One header line to write: name as given, written in Go's canonical form. */
struct head_line {
    struct sv name;
    struct sv value;
    size_t order; /* insertion order: ties keep it, as Go keeps a key's values */
};

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Go's CanonicalMIMEHeaderKey ordering: compares canonical forms, which for
 * ASCII token names is the case-folded order with '-' boundaries upper. */
static int canon_char(struct sv name, size_t i)
{
    char c = lower(name.p[i]);
    bool is_upper = i == 0 || name.p[i - 1] == '-';
    return is_upper && c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static int cmp_line(const void *pa, const void *pb)
{
    const struct head_line *a = pa, *b = pb;
    size_t n = a->name.n < b->name.n ? a->name.n : b->name.n;
    for (size_t i = 0; i < n; i++) {
        int d = canon_char(a->name, i) - canon_char(b->name, i);
        if (d)
            return d;
    }
    if (a->name.n != b->name.n)
        return a->name.n < b->name.n ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static void add_line(struct head_line *lines, size_t *n, struct sv name, struct sv value)
{
    lines[*n] = (struct head_line){ name, value, *n };
    (*n)++;
}

static int write_line(struct buf *out, const struct head_line *l)
{
    for (size_t i = 0; i < l->name.n; i++)
        if (buf_append_char(out, (char)canon_char(l->name, i)))
            return ERR_NOMEM;
    return buf_appendf(out, ": %.*s\r\n", SV_FMT(l->value));
}

/* Header order follows Go's net/http, so answers compare byte for byte with
 * InfluxDB's: the handler's headers (and the common ones) sorted by name in
 * canonical case, then Date, Content-Length and Connection. */
int http__write_head(struct buf *out, const struct http_response *resp,
                     const struct http__head_opts *o)
{
    struct head_line lines[HTTP_MAX_HEADERS + 4];
    size_t n = 0;
    for (size_t i = 0; i < resp->nheaders; i++) {
        const struct http_header *h = &resp->headers[i];
        if (!is_framing_header(h->name) && h->name.n > 0)
            add_line(lines, &n, h->name, h->value);
    }
    if (o->request_id && !resp->no_common_headers) {
        add_line(lines, &n, SV_LIT("Request-Id"), sv_cstr(o->request_id));
        add_line(lines, &n, SV_LIT("X-Request-Id"), sv_cstr(o->request_id));
    }
    add_line(lines, &n, SV_LIT("X-Influxdb-Build"), SV_LIT("OSS"));
    add_line(lines, &n, SV_LIT("X-Influxdb-Version"), sv_cstr(o->version ? o->version : ""));
    qsort(lines, n, sizeof lines[0], cmp_line);
    int rc = buf_appendf(out, "HTTP/1.1 %d %s\r\n", resp->status, http__reason(resp->status));
    for (size_t i = 0; i < n && !rc; i++)
        rc = write_line(out, &lines[i]);
    char date[40];
    http__format_date(o->wall_ns, date, sizeof date);
    if (!rc)
        rc = buf_appendf(out, "Date: %s\r\n", date);
    /* RFC 9110 forbids Content-Length on 1xx and 204; Go omits it on 304. */
    bool has_length = resp->status >= 200 && resp->status != 204 && resp->status != 304;
    if (!rc && o->is_chunked)
        rc = buf_append_str(out, "Transfer-Encoding: chunked\r\n");
    else if (!rc && has_length && !o->is_unframed)
        rc = buf_appendf(out, "Content-Length: %zu\r\n", resp->body.len);
    if (!rc && o->is_closing)
        rc = buf_append_str(out, "Connection: close\r\n");
    else if (!rc && o->is_http10_keep_alive)
        rc = buf_append_str(out, "Connection: keep-alive\r\n");
    if (!rc)
        rc = buf_append_str(out, "\r\n");
    return rc;
}
