// SPDX-License-Identifier: MIT
/*
 * HTTP/1.1 request framing on top of http-parser (v2.9), without sockets.
 *
 * The connection code in http_server.c and the fuzz target
 * tests/fuzz/http_request.c drive the same functions: begin() a request, feed()
 * bytes until DONE or ERROR.  What this file guarantees:
 *
 *  1. One request at a time.  on_message_complete pauses the parser, so the
 *     bytes of a pipelined next request are never consumed; the caller keeps
 *     them until it has queued the current response.
 *  2. Bounded memory.  The request line and headers count against
 *     max_header_bytes (431); body bytes on the wire and the inflated body
 *     count against max_body_bytes (413).  A Content-Length over the cap is
 *     refused at the end of the headers, before any body is read.  gzip is
 *     inflated through a fixed 16 KiB window straight into the capped body
 *     buffer, so a zip bomb costs at most max_body_bytes.
 *  3. Errors carry what the client gets: err_status (400/413/431), the
 *     message, and whether the body is InfluxDB JSON or Go's plain text.
 *     The connection is closed after any framing error.
 *
 * Request-line and header bytes are accumulated in small capped bufs because
 * http-parser hands them over in pieces when they straddle reads; complete
 * names and values are then copied into the request arena.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "net/net_int.h"

static struct http__framer *framer_of(http_parser *p)
{
    return p->data;
}

static int fail(struct http__framer *f, int status, bool is_json, const char *msg)
{
    if (!f->err_status) {
        f->err_status = status;
        f->err_is_json = is_json;
        snprintf(f->err_msg, sizeof f->err_msg, "%s", msg);
    }
    return -1;
}

static int count_header_bytes(struct http__framer *f, size_t n)
{
    if (n > f->max_header_bytes || f->header_bytes > f->max_header_bytes - n)
        return fail(f, 431, false, "431 Request Header Fields Too Large");
    f->header_bytes += n;
    return 0;
}

static int on_message_begin(http_parser *p)
{
    framer_of(p)->is_started = true;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct http__framer *f = framer_of(p);
    if (count_header_bytes(f, n))
        return -1;
    if (buf_append(&f->url, at, n))
        return fail(f, 431, false, "431 Request Header Fields Too Large");
    return 0;
}

/* Copies the accumulated name/value pair into the request. */
static int commit_header(struct http__framer *f)
{
    struct http_request *r = f->req;
    if (!f->in_value)
        return 0;
    if (r->nheaders >= HTTP_MAX_HEADERS)
        return fail(f, 431, false, "431 Request Header Fields Too Large");
    struct sv v = sv_trim(buf_sv(&f->value));
    r->headers[r->nheaders].name = arena_sv_dup(r->arena, buf_sv(&f->field));
    r->headers[r->nheaders].value = arena_sv_dup(r->arena, v);
    r->nheaders++;
    buf_reset(&f->field);
    buf_reset(&f->value);
    f->in_value = false;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct http__framer *f = framer_of(p);
    if (f->is_headers_done) /* chunked trailer: counted, not kept (Go's req.Trailer) */
        return count_header_bytes(f, n + 4);
    if (f->in_value && commit_header(f))
        return -1;
    /* ": " and CRLF of each line count too. */
    if (count_header_bytes(f, n + (f->field.len == 0 ? 4 : 0)))
        return -1;
    if (buf_append(&f->field, at, n))
        return fail(f, 431, false, "431 Request Header Fields Too Large");
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct http__framer *f = framer_of(p);
    if (count_header_bytes(f, n))
        return -1;
    if (f->is_headers_done)
        return 0;
    if (buf_append(&f->value, at, n))
        return fail(f, 431, false, "431 Request Header Fields Too Large");
    f->in_value = true;
    return 0;
}

/* Media type of a Content-Type value, without parameters. */
static bool is_media_type(const struct sv *ct, const char *type)
{
    if (!ct)
        return false;
    struct sv head;
    sv_cut(*ct, ';', &head);
    return sv_case_eq(sv_trim(head), type);
}

static int set_target(struct http__framer *f)
{
    struct http_request *r = f->req;
    struct sv t = buf_sv(&f->url);
    r->target = arena_sv_dup(r->arena, t);
    struct sv path = SV_NULL, query = SV_NULL;
    if (t.n == 1 && t.p[0] == '*') {
        path = r->target;
    } else {
        struct http_parser_url u;
        http_parser_url_init(&u);
        if (http_parser_parse_url(r->target.p, r->target.n, 0, &u) != 0)
            return fail(f, 400, false, "400 Bad Request");
        if (u.field_set & (1 << UF_PATH))
            path = sv_make(r->target.p + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
        else
            path = SV_LIT("/");
        if (u.field_set & (1 << UF_QUERY))
            query = sv_make(r->target.p + u.field_data[UF_QUERY].off,
                            u.field_data[UF_QUERY].len);
    }
    char *dec = arena_alloc(r->arena, path.n + 1);
    long dn = http_url_decode(path.p, path.n, dec, false);
    if (dn < 0)
        return fail(f, 400, false, "400 Bad Request");
    dec[dn] = '\0';
    r->path = sv_make(dec, (size_t)dn);
    r->raw_path = path;
    r->raw_query = query.p ? query : sv_make(r->target.p + r->target.n, 0);
    int np = http_parse_query(r->arena, r->raw_query, &r->params, HTTP__MAX_PARAMS);
    if (np < 0)
        return fail(f, 400, false, "400 Bad Request");
    r->nparams = (size_t)np;
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct http__framer *f = framer_of(p);
    struct http_request *r = f->req;
    if (commit_header(f))
        return -1;
    f->is_headers_done = true;
    r->method = sv_cstr(http_method_str((enum http_method)p->method));
    r->http_major = p->http_major;
    r->http_minor = p->http_minor;
    r->keep_alive = http_should_keep_alive(p) != 0;
    if (set_target(f))
        return -1;

    const struct sv *ce = http_request_header(r, "Content-Encoding");
    /* InfluxDB checks for exactly "gzip" (x-gzip is not recognised). */
    f->is_gzip = ce && sv_eq_cstr(*ce, "gzip");

    if (f->max_body_bytes && (p->flags & F_CHUNKED) == 0 && p->content_length != ULLONG_MAX &&
        p->content_length > f->max_body_bytes)
        return fail(f, 413, true, "Request Entity Too Large");
    /* A plain body of known length lands in one allocation, instead of
     * being regrown (realloc copies and fresh pages) as it arrives; a
     * write body is the bulk of what ingest touches.  Best effort: on
     * failure the body grows as it comes; past 64 MiB (a claimed length
     * the client may never send) it grows as well. */
    if (!f->is_gzip && (p->flags & F_CHUNKED) == 0 && p->content_length != ULLONG_MAX &&
        p->content_length > 0 && p->content_length <= f->req->body.max_bytes &&
        p->content_length <= (64u << 20) &&
        buf_reserve(&f->req->body, (size_t)p->content_length) != 0) {
        /* not fatal: the body grows as it comes */
    }

    const struct sv *ex = http_request_header(r, "Expect");
    f->expect_continue = ex && sv_case_eq(*ex, "100-continue") &&
                         (p->http_major > 1 || (p->http_major == 1 && p->http_minor >= 1));

    if (f->is_gzip) {
        memset(&f->zs, 0, sizeof f->zs);
        if (inflateInit2(&f->zs, 16 + MAX_WBITS) != Z_OK)
            return fail(f, 500, true, "gzip: cannot initialise inflater");
        f->gz_active = true;
    }
    return 0;
}

static int append_body(struct http__framer *f, const void *p, size_t n)
{
    int rc = buf_append(&f->req->body, p, n);
    if (rc == ERR_LIMIT)
        return fail(f, 413, true, "Request Entity Too Large");
    if (rc)
        return fail(f, 500, true, "out of memory");
    return 0;
}

#define GZIP_HEADER_BYTES 10

/* Go's gzip/flate wording for zlib's failures (InfluxDB returns err.Error()). */
static int gzip_fail(struct http__framer *f)
{
    const char *m = f->zs.msg ? f->zs.msg : "";
    char msg[96];
    bool is_header = strstr(m, "header") || strstr(m, "compression method") ||
                     strstr(m, "flags");
    /* Bytes of this member's header that have arrived: what zlib took
     * since the member began (inflateReset() zeroes total_in) and what is
     * left of this piece. */
    uint64_t seen = (uint64_t)f->zs.total_in + f->zs.avail_in;
    if (is_header && seen < GZIP_HEADER_BYTES) {
        /* Go reads a member's 10-byte header before checking it, the first
         * member's and any that follows one (its reader is multistream): when
         * fewer bytes remain that is "unexpected EOF" (observed on influxd
         * 1.6.7 for 1..9 bytes after a valid member, zeros or a partial
         * magic), else "invalid header".  Decide once more bytes or the end
         * of the body arrive (on_body, on_message_complete).  The stream is
         * dead from here, so total_in counts the header bytes seen. */
        f->zs.total_in = (uLong)seen;
        f->gz_bad_header_short = true;
        return 0;
    }
    if (is_header)
        snprintf(msg, sizeof msg, "gzip: invalid header");
    else if (strstr(m, "data check") || strstr(m, "length check"))
        snprintf(msg, sizeof msg, "gzip: invalid checksum");
    else
        snprintf(msg, sizeof msg, "flate: corrupt input before offset %lu",
                 (unsigned long)f->zs.total_in);
    return fail(f, 400, true, msg);
}

static int inflate_some(struct http__framer *f, const char *at, size_t n)
{
    unsigned char win[16384];
    f->zs.next_in = (unsigned char *)(uintptr_t)at;
    f->zs.avail_in = (uInt)n;
    while (f->zs.avail_in > 0) {
        if (f->gz_member_done) {
            /* Another gzip member follows (Go's reader is multistream). */
            if (inflateReset(&f->zs) != Z_OK)
                return gzip_fail(f);
            f->gz_member_done = false;
        }
        f->zs.next_out = win;
        f->zs.avail_out = sizeof win;
        int rc = inflate(&f->zs, Z_NO_FLUSH);
        size_t produced = sizeof win - f->zs.avail_out;
        if (produced && append_body(f, win, produced))
            return -1;
        if (rc == Z_STREAM_END)
            f->gz_member_done = true;
        else if (rc != Z_OK && !(rc == Z_BUF_ERROR && produced == 0 && f->zs.avail_in == 0))
            return gzip_fail(f);
        if (f->gz_bad_header_short)
            return 0;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct http__framer *f = framer_of(p);
    f->raw_body_bytes += n;
    if (f->max_body_bytes && f->raw_body_bytes > f->max_body_bytes)
        return fail(f, 413, true, "Request Entity Too Large");
    if (f->gz_bad_header_short) {
        f->zs.total_in += (uLong)n;
        if (f->zs.total_in >= GZIP_HEADER_BYTES)
            return fail(f, 400, true, "gzip: invalid header");
        return 0;
    }
    while (n > 0) {
        /* zlib counts in uInt; feed huge pieces in slices. */
        size_t k = n > (1u << 30) ? (1u << 30) : n;
        int rc = f->is_gzip ? inflate_some(f, at, k) : append_body(f, at, k);
        if (rc)
            return -1;
        at += k;
        n -= k;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http__framer *f = framer_of(p);
    struct http_request *r = f->req;
    if (f->is_gzip) {
        if (f->raw_body_bytes == 0)
            return fail(f, 400, true, "EOF");
        if (!f->gz_member_done || f->gz_bad_header_short)
            return fail(f, 400, true, "unexpected EOF");
    }
    /* Go's ParseForm reads urlencoded bodies of POST, PUT and PATCH. */
    bool has_form_method = sv_eq_cstr(r->method, "POST") || sv_eq_cstr(r->method, "PUT") ||
                           sv_eq_cstr(r->method, "PATCH");
    if (has_form_method &&
        is_media_type(http_request_header(r, "Content-Type"), "application/x-www-form-urlencoded")) {
        int nf = http_parse_query(r->arena, buf_sv(&r->body), &r->form, HTTP__MAX_PARAMS);
        if (nf < 0)
            return fail(f, 400, true, "too many form parameters");
        r->nform = (size_t)nf;
    }
    f->is_done = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http__framer_global_init(void)
{
    /* Our max_header_bytes is the limit; http-parser's compiled-in 80 KiB
     * would otherwise refuse legal requests first.  Same value every call. */
    http_parser_set_max_header_size(0x7fffffffu);
}

void http__framer_init(struct http__framer *f, size_t max_header_bytes, size_t max_body_bytes)
{
    memset(f, 0, sizeof *f);
    f->max_header_bytes = max_header_bytes ? max_header_bytes : HTTP__DEFAULT_MAX_HEADER_BYTES;
    f->max_body_bytes = max_body_bytes;
    buf_init(&f->url, f->max_header_bytes);
    buf_init(&f->field, f->max_header_bytes);
    buf_init(&f->value, f->max_header_bytes);
}

static void end_gzip(struct http__framer *f)
{
    if (f->gz_active) {
        inflateEnd(&f->zs);
        f->gz_active = false;
    }
}

void http__framer_fini(struct http__framer *f)
{
    end_gzip(f);
    buf_fini(&f->url);
    buf_fini(&f->field);
    buf_fini(&f->value);
    f->req = NULL;
}

void http__framer_begin(struct http__framer *f, struct http_request *req)
{
    end_gzip(f);
    http_parser_init(&f->parser, HTTP_REQUEST);
    f->parser.data = f;
    f->req = req;
    f->header_bytes = 0;
    f->raw_body_bytes = 0;
    buf_reset(&f->url);
    buf_reset(&f->field);
    buf_reset(&f->value);
    f->in_value = false;
    f->is_started = false;
    f->is_headers_done = false;
    f->is_done = false;
    f->expect_continue = false;
    f->is_gzip = false;
    f->gz_member_done = false;
    f->gz_bad_header_short = false;
    f->err_status = 0;
    f->err_is_json = false;
    f->err_msg[0] = '\0';
    buf_init(&req->body, f->max_body_bytes);
}

int http__framer_feed(struct http__framer *f, const char *p, size_t n, size_t *used)
{
    *used = 0;
    if (f->err_status)
        return HTTP__FRAME_ERROR;
    if (f->is_done)
        return HTTP__FRAME_DONE;
    if (n == 0)
        return HTTP__FRAME_MORE;
    size_t k = http_parser_execute(&f->parser, &parser_settings, p, n);
    *used = k;
    enum http_errno e = HTTP_PARSER_ERRNO(&f->parser);
    if (f->err_status) {
        end_gzip(f);
        return HTTP__FRAME_ERROR;
    }
    if (f->is_done) {
        end_gzip(f);
        return HTTP__FRAME_DONE;
    }
    if (e == HPE_HEADER_OVERFLOW) {
        fail(f, 431, false, "431 Request Header Fields Too Large");
        return HTTP__FRAME_ERROR;
    }
    if (e != HPE_OK) {
        fail(f, 400, false, "400 Bad Request");
        return HTTP__FRAME_ERROR;
    }
    return HTTP__FRAME_MORE;
}
