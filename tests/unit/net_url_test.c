// SPDX-License-Identifier: MIT
/*
 * net: URL, query-string and form decoding, header and parameter lookup, the
 * request framer without sockets, and response serialisation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "net/net_int.h"

static void assert_sv(struct sv got, const char *want)
{
    char tmp[512];
    size_t n = got.n < sizeof tmp - 1 ? got.n : sizeof tmp - 1;
    memcpy(tmp, got.p ? got.p : "", n);
    tmp[n] = '\0';
    assert_string_equal(tmp, want);
    assert_int_equal(got.n, strlen(want));
}

static void test_url_decode(void **state)
{
    char out[64];
    long n = http_url_decode("a%20b+c%2Bd", 11, out, true);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "a b c+d", 7);
    n = http_url_decode("a+b", 3, out, false);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "a+b", 3);
    n = http_url_decode("%e6%B8%a9", 9, out, true);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "\xe6\xb8\xa9", 3);
    /* Invalid escapes are reported. */
    assert_int_equal(http_url_decode("%zz", 3, out, true), -1);
    assert_int_equal(http_url_decode("abc%", 4, out, true), -1);
    assert_int_equal(http_url_decode("abc%4", 5, out, true), -1);
    assert_int_equal(http_url_decode("", 0, out, true), 0);
}

static void test_parse_query(void **state)
{
    struct arena a;
    arena_init(&a, 0, 0);
    struct http_param *ps = NULL;
    int n = http_parse_query(&a, SV_LIT("db=my+db&q=SELECT%20*%20FROM%20%22m%22&flag&&empty=&x=1=2"),
                             &ps, 100);
    assert_int_equal(n, 5);
    assert_sv(ps[0].key, "db");
    assert_sv(ps[0].value, "my db");
    assert_sv(ps[1].key, "q");
    assert_sv(ps[1].value, "SELECT * FROM \"m\"");
    assert_sv(ps[2].key, "flag");
    assert_sv(ps[2].value, "");
    assert_sv(ps[3].key, "empty");
    assert_sv(ps[3].value, "");
    assert_sv(ps[4].key, "x");
    assert_sv(ps[4].value, "1=2");

    /* Go drops pairs with bad escapes or semicolons and keeps the rest. */
    n = http_parse_query(&a, SV_LIT("a=%zz&b=2&c=1;d=2&e=5"), &ps, 100);
    assert_int_equal(n, 2);
    assert_sv(ps[0].key, "b");
    assert_sv(ps[1].key, "e");

    n = http_parse_query(&a, SV_LIT(""), &ps, 100);
    assert_int_equal(n, 0);
    n = http_parse_query(&a, SV_LIT("a=1&b=2&c=3"), &ps, 2);
    assert_int_equal(n, ERR_LIMIT);
    arena_fini(&a);
}

/* Runs a whole byte string through a fresh framer; returns the rc of the
 * first request.  *used gets the bytes consumed by it. */
struct framed {
    struct arena arena;
    struct http__framer fr;
    struct http_request req;
};

static int frame(struct framed *f, const char *in, size_t n, size_t max_hdr, size_t max_body,
                 size_t step, size_t *used_out)
{
    arena_init(&f->arena, 0, 0);
    http__framer_init(&f->fr, max_hdr, max_body);
    memset(&f->req, 0, sizeof f->req);
    f->req.arena = &f->arena;
    http__framer_begin(&f->fr, &f->req);
    size_t off = 0;
    int rc = HTTP__FRAME_MORE;
    while (off < n) {
        size_t k = step && n - off > step ? step : n - off;
        size_t used = 0;
        rc = http__framer_feed(&f->fr, in + off, k, &used);
        off += used;
        if (rc != HTTP__FRAME_MORE)
            break;
        assert_int_equal(used, k);
    }
    *used_out = off;
    return rc;
}

static void framed_fini(struct framed *f)
{
    buf_fini(&f->req.body);
    http__framer_fini(&f->fr);
    arena_fini(&f->arena);
}

static void test_framer_get_and_lookup(void **state)
{
    static const char in[] = "GET /query?db=x&q=SHOW+DATABASES HTTP/1.1\r\n"
                             "Host: a\r\nX-Thing:  spaced value  \r\ncontent-TYPE: text/plain\r\n\r\n"
                             "GET /next HTTP/1.1\r\n\r\n";
    for (size_t step = 0; step <= 7; step += 7) {
        struct framed f;
        size_t used;
        int rc = frame(&f, in, sizeof in - 1, 0, 1000, step, &used);
        assert_int_equal(rc, HTTP__FRAME_DONE);
        /* The pipelined second request is not consumed. */
        assert_int_equal(used, strstr(in, "GET /next") - in);
        assert_sv(f.req.method, "GET");
        assert_sv(f.req.path, "/query");
        assert_sv(f.req.raw_query, "db=x&q=SHOW+DATABASES");
        assert_sv(f.req.target, "/query?db=x&q=SHOW+DATABASES");
        assert_true(f.req.keep_alive);
        struct sv v;
        assert_true(http_request_param(&f.req, "q", &v));
        assert_sv(v, "SHOW DATABASES");
        assert_false(http_request_param(&f.req, "nope", &v));
        const struct sv *h = http_request_header(&f.req, "x-thing");
        assert_non_null(h);
        assert_sv(*h, "spaced value");
        h = http_request_header(&f.req, "Content-Type");
        assert_non_null(h);
        assert_sv(*h, "text/plain");
        assert_null(http_request_header(&f.req, "Origin"));
        framed_fini(&f);
    }
}

static void test_framer_form_and_chunked(void **state)
{
    static const char in[] = "POST /query?db=url&u=x HTTP/1.1\r\n"
                             "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                             "5\r\nq=SHO\r\n"
                             "10\r\nW+MEASUREMENTS&d\r\n"
                             "5\r\nb=bod\r\n"
                             "1;ext=1\r\ny\r\n0\r\n\r\n";
    for (size_t step = 0; step <= 3; step += 1) {
        struct framed f;
        size_t used;
        int rc = frame(&f, in, sizeof in - 1, 0, 1000, step, &used);
        assert_int_equal(rc, HTTP__FRAME_DONE);
        assert_int_equal(used, sizeof in - 1);
        assert_sv(buf_sv(&f.req.body), "q=SHOW+MEASUREMENTS&db=body");
        struct sv v;
        assert_true(http_request_form_value(&f.req, "q", &v));
        assert_sv(v, "SHOW MEASUREMENTS");
        /* Body first, then the URL. */
        assert_true(http_request_form_value(&f.req, "db", &v));
        assert_sv(v, "body");
        assert_true(http_request_form_value(&f.req, "u", &v));
        assert_sv(v, "x");
        assert_true(http_request_param(&f.req, "db", &v));
        assert_sv(v, "url");
        framed_fini(&f);
    }
}

static void test_framer_headers_edge_cases(void **state)
{
    /* An empty value must not glue two header names together; trailers of a
     * chunked body are not request headers; duplicates keep their order. */
    static const char in[] = "POST /w HTTP/1.1\r\nX-Empty:\r\nX-Next: v\r\nX-Dup: 1\r\n"
                             "X-Dup: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "1\r\na\r\n0\r\nX-Trailer: t\r\n\r\n";
    for (size_t step = 0; step <= 1; step++) {
        struct framed f;
        size_t used;
        assert_int_equal(frame(&f, in, sizeof in - 1, 0, 100, step, &used), HTTP__FRAME_DONE);
        assert_int_equal(f.req.nheaders, 5);
        const struct sv *h = http_request_header(&f.req, "X-Empty");
        assert_non_null(h);
        assert_int_equal(h->n, 0);
        h = http_request_header(&f.req, "x-next");
        assert_non_null(h);
        assert_sv(*h, "v");
        h = http_request_header(&f.req, "X-Dup");
        assert_sv(*h, "1");
        assert_null(http_request_header(&f.req, "X-Trailer"));
        assert_sv(buf_sv(&f.req.body), "a");
        framed_fini(&f);
    }
    /* More than HTTP_MAX_HEADERS headers: 431. */
    char many[4096];
    size_t n = (size_t)snprintf(many, sizeof many, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "X-H%d: v\r\n", i);
    n += (size_t)snprintf(many + n, sizeof many - n, "\r\n");
    struct framed f;
    size_t used;
    assert_int_equal(frame(&f, many, n, 0, 100, 0, &used), HTTP__FRAME_ERROR);
    assert_int_equal(f.fr.err_status, 431);
    framed_fini(&f);
    /* Absolute-form target and an encoded path. */
    static const char abs[] = "GET http://h:8086/a%20b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_int_equal(frame(&f, abs, sizeof abs - 1, 0, 100, 0, &used), HTTP__FRAME_DONE);
    assert_sv(f.req.path, "/a b");
    assert_sv(f.req.raw_path, "/a%20b");
    assert_sv(f.req.raw_query, "x=1");
    framed_fini(&f);
    static const char badpath[] = "GET /a%zz HTTP/1.1\r\n\r\n";
    assert_int_equal(frame(&f, badpath, sizeof badpath - 1, 0, 100, 0, &used), HTTP__FRAME_ERROR);
    assert_int_equal(f.fr.err_status, 400);
    framed_fini(&f);
}

static void test_framer_limits(void **state)
{
    struct framed f;
    size_t used;
    /* Content-Length over the cap: refused at the end of the headers. */
    static const char big[] = "POST /write HTTP/1.1\r\nContent-Length: 11\r\n\r\n";
    assert_int_equal(frame(&f, big, sizeof big - 1, 0, 10, 0, &used), HTTP__FRAME_ERROR);
    assert_int_equal(f.fr.err_status, 413);
    assert_true(f.fr.err_is_json);
    assert_string_equal(f.fr.err_msg, "Request Entity Too Large");
    framed_fini(&f);
    /* Chunked body over the cap. */
    static const char ch[] = "POST /write HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n";
    assert_int_equal(frame(&f, ch, sizeof ch - 1, 0, 10, 0, &used), HTTP__FRAME_ERROR);
    assert_int_equal(f.fr.err_status, 413);
    assert_true(f.req.body.len <= 10);
    framed_fini(&f);
    /* Exactly at the cap is fine. */
    static const char ok[] = "POST /write HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789";
    assert_int_equal(frame(&f, ok, sizeof ok - 1, 0, 10, 0, &used), HTTP__FRAME_DONE);
    framed_fini(&f);
    /* Headers over the cap. */
    char hdr[600];
    int n = snprintf(hdr, sizeof hdr, "GET / HTTP/1.1\r\nX-Big: %0400d\r\n\r\n", 0);
    assert_int_equal(frame(&f, hdr, (size_t)n, 256, 10, 0, &used), HTTP__FRAME_ERROR);
    assert_int_equal(f.fr.err_status, 431);
    framed_fini(&f);
    assert_int_equal(frame(&f, hdr, (size_t)n, 1024, 10, 0, &used), HTTP__FRAME_DONE);
    framed_fini(&f);
    /* Garbage. */
    static const char bad[] = "GARBAGE\r\n\r\n";
    assert_int_equal(frame(&f, bad, sizeof bad - 1, 0, 10, 0, &used), HTTP__FRAME_ERROR);
    assert_int_equal(f.fr.err_status, 400);
    framed_fini(&f);
}

static size_t gzip_bytes(const void *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (unsigned char *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t len = zs.total_out;
    deflateEnd(&zs);
    return len;
}

static void test_framer_gzip(void **state)
{
    static const char body[] = "cpu,host=a value=1 1000000000\ncpu,host=b value=2 1000000000\n";
    unsigned char gz[256];
    size_t gzn = gzip_bytes(body, sizeof body - 1, gz, sizeof gz);
    char req[512];
    int hn = snprintf(req, sizeof req,
                      "POST /write HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
                      gzn);
    memcpy(req + hn, gz, gzn);
    struct framed f;
    size_t used;
    for (size_t step = 0; step <= 5; step += 5) {
        assert_int_equal(frame(&f, req, (size_t)hn + gzn, 0, 1000, step, &used), HTTP__FRAME_DONE);
        assert_sv(buf_sv(&f.req.body), body);
        framed_fini(&f);
    }
    /* Inflated size over the cap: 413 although the wire bytes fit. */
    assert_int_equal(frame(&f, req, (size_t)hn + gzn, 0, 40, 0, &used), HTTP__FRAME_ERROR);
    assert_int_equal(f.fr.err_status, 413);
    framed_fini(&f);
    /* Corrupt: flip a byte in the deflate data. */
    req[hn + 12] ^= 0x55;
    req[hn + 13] ^= 0x55;
    assert_int_equal(frame(&f, req, (size_t)hn + gzn, 0, 1000, 0, &used), HTTP__FRAME_ERROR);
    assert_int_equal(f.fr.err_status, 400);
    assert_true(f.fr.err_is_json);
    framed_fini(&f);
    /* Not gzip at all: Go reads 10 header bytes first, so a shorter body
     * is "unexpected EOF" and a longer one "invalid header" (observed on
     * influxd 1.6), whichever way the bytes are split. */
    static const char plain[] = "POST /write HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello";
    static const char plain12[] =
        "POST /write HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\nhello world!";
    for (size_t step = 0; step <= 3; step += 3) {
        assert_int_equal(frame(&f, plain, sizeof plain - 1, 0, 1000, step, &used), HTTP__FRAME_ERROR);
        assert_int_equal(f.fr.err_status, 400);
        assert_string_equal(f.fr.err_msg, "unexpected EOF");
        framed_fini(&f);
        assert_int_equal(frame(&f, plain12, sizeof plain12 - 1, 0, 1000, step, &used),
                         HTTP__FRAME_ERROR);
        assert_int_equal(f.fr.err_status, 400);
        assert_string_equal(f.fr.err_msg, "gzip: invalid header");
        framed_fini(&f);
    }
    /* Empty gzip body: Go's reader says EOF. */
    static const char empty[] = "POST /write HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(frame(&f, empty, sizeof empty - 1, 0, 1000, 0, &used), HTTP__FRAME_ERROR);
    assert_string_equal(f.fr.err_msg, "EOF");
    framed_fini(&f);
    /* Two concatenated members are one body (Go's reader is multistream). */
    {
        unsigned char two[600];
        size_t n1 = gzip_bytes("abc", 3, two, sizeof two);
        size_t n2 = gzip_bytes("def", 3, two + n1, sizeof two - n1);
        char req2[800];
        int h2 = snprintf(req2, sizeof req2,
                          "POST /w HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
                          n1 + n2);
        memcpy(req2 + h2, two, n1 + n2);
        assert_int_equal(frame(&f, req2, (size_t)h2 + n1 + n2, 0, 1000, 0, &used), HTTP__FRAME_DONE);
        assert_sv(buf_sv(&f.req.body), "abcdef");
        framed_fini(&f);
    }
    /* 1..12 bytes after a valid member, or alone: Go reads a 10-byte member
     * header, so fewer bytes are "unexpected EOF" and more "invalid header",
     * except after a good magic and method, where the member is just short
     * (observed on influxd 1.6.7). */
    {
        static const unsigned char magic[14] = { 0x1f, 0x8b };
        static const unsigned char magic8[14] = { 0x1f, 0x8b, 0x08 };
        static const unsigned char zeros[14];
        unsigned char ffs[14];
        memset(ffs, 0xff, sizeof ffs);
        const unsigned char *tails[] = { zeros, magic, ffs, magic8 };
        for (size_t t = 0; t < 4; t++) {
            for (size_t lead = 0; lead <= gzn; lead += gzn) {
                for (size_t k = 1; k <= 12; k++) {
                    char req3[512];
                    int h3 = snprintf(req3, sizeof req3,
                                      "POST /write HTTP/1.1\r\nContent-Encoding: gzip\r\n"
                                      "Content-Length: %zu\r\n\r\n",
                                      lead + k);
                    memcpy(req3 + h3, gz, lead);
                    memcpy(req3 + h3 + lead, tails[t], k);
                    const char *want = k < 10 || t == 3 ? "unexpected EOF" : "gzip: invalid header";
                    for (size_t step = 0; step <= 3; step += 3) {
                        assert_int_equal(frame(&f, req3, (size_t)h3 + lead + k, 0, 1000, step, &used),
                                         HTTP__FRAME_ERROR);
                        assert_int_equal(f.fr.err_status, 400);
                        if (strcmp(f.fr.err_msg, want))
                            print_error("tail %zu after %zu bytes, %zu bytes, step %zu: %s\n", t, lead,
                                        k, step, f.fr.err_msg);
                        assert_string_equal(f.fr.err_msg, want);
                        framed_fini(&f);
                    }
                }
            }
        }
    }
    /* Truncated. */
    memcpy(req + hn, gz, gzn);
    hn = snprintf(req, sizeof req,
                  "POST /write HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
                  gzn - 10);
    memcpy(req + hn, gz, gzn - 10);
    assert_int_equal(frame(&f, req, (size_t)hn + gzn - 10, 0, 1000, 0, &used), HTTP__FRAME_ERROR);
    assert_string_equal(f.fr.err_msg, "unexpected EOF");
    framed_fini(&f);
}

static void test_response_head(void **state)
{
    struct arena a;
    arena_init(&a, 0, 0);
    struct http_response resp;
    http__response_init(&resp, &a);
    http_response_error(&resp, 400, "bad <thing>\r\nX-Injected: 1");
    assert_int_equal(resp.status, 400);
    assert_sv(buf_sv(&resp.body),
              "{\"error\":\"bad \\u003cthing\\u003e\\r\\nX-Injected: 1\"}\n");
    const struct sv *h = http__response_header_find(&resp, "x-influxdb-error");
    assert_non_null(h);
    assert_sv(*h, "bad <thing>  X-Injected: 1");
    struct buf out;
    buf_init(&out, 0);
    struct http__head_opts o = { .version = "1.8.10", .request_id = "abc", .wall_ns = 0,
                                 .is_closing = true };
    assert_int_equal(http__write_head(&out, &resp, &o), 0);
    /* Byte for byte what influxd 1.6 sends for an error (Go's header order:
     * sorted canonical names, then Date, Content-Length, Connection). */
    char want[1024];
    snprintf(want, sizeof want,
             "HTTP/1.1 400 Bad Request\r\n"
             "Content-Type: application/json\r\n"
             "Request-Id: abc\r\n"
             "X-Influxdb-Build: OSS\r\n"
             "X-Influxdb-Error: bad <thing>  X-Injected: 1\r\n"
             "X-Influxdb-Version: 1.8.10\r\n"
             "X-Request-Id: abc\r\n"
             "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
             "Content-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             resp.body.len);
    assert_string_equal(out.p, want);
    /* Names are written in Go's canonical case; framing headers a handler
     * set are dropped; multiple values keep their order. */
    http_response_header(&resp, "www-authenticate", "Basic realm=\"InfluxDB\"");
    http_response_header(&resp, "content-length", "999");
    http_response_header(&resp, "a-multi", "1");
    http_response_header(&resp, "A-Multi", "2");
    buf_reset(&out);
    o.is_closing = false;
    o.request_id = NULL;
    assert_int_equal(http__write_head(&out, &resp, &o), 0);
    assert_non_null(strstr(out.p, "\r\nA-Multi: 1\r\nA-Multi: 2\r\nContent-Type: "));
    assert_non_null(strstr(out.p, "\r\nWww-Authenticate: Basic realm=\"InfluxDB\"\r\n"));
    assert_null(strstr(out.p, "999"));
    assert_null(strstr(out.p, "Request-Id"));
    assert_null(strstr(out.p, "Connection"));
    /* 401: no X-Influxdb-Error. */
    http__response_fini(&resp);
    http__response_init(&resp, &a);
    http_response_error(&resp, 401, "authorization failed");
    assert_null(http__response_header_find(&resp, "X-Influxdb-Error"));
    /* 204: no Content-Length. */
    resp.status = 204;
    buf_reset(&resp.body);
    buf_reset(&out);
    assert_int_equal(http__write_head(&out, &resp, &o), 0);
    assert_null(strstr(out.p, "Content-Length"));
    buf_fini(&out);
    http__response_fini(&resp);
    arena_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_parse_query),
        cmocka_unit_test(test_framer_get_and_lookup),
        cmocka_unit_test(test_framer_form_and_chunked),
        cmocka_unit_test(test_framer_headers_edge_cases),
        cmocka_unit_test(test_framer_limits),
        cmocka_unit_test(test_framer_gzip),
        cmocka_unit_test(test_response_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
