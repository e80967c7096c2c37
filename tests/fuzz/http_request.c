// SPDX-License-Identifier: MIT
/*
 * Fuzz target for HTTP request framing: the same framer the server's
 * connections use (net/http_frame.c), fed the input as a stream of pipelined
 * requests.  The first input byte picks the read size so that requests split
 * across reads at every offset get exercised; limits are small so 413/431
 * paths are reachable.  Every decoded request is looked at the way handlers
 * do (headers, params, form values) and answered into a response head, and
 * its arena is freed before the next one (h2o fuzz/driver_url.cc style).
 * Invariants checked: the framer never consumes past the input, never holds
 * a body over the cap, and always makes progress.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

#define MAX_HEADER_BYTES 2048
#define MAX_BODY_BYTES 4096

static void look_at(struct http_request *req)
{
    struct sv v;
    (void)http_request_header(req, "content-type");
    (void)http_request_header(req, "Origin");
    (void)http_request_param(req, "db", &v);
    (void)http_request_form_value(req, "q", &v);
    for (size_t i = 0; i < req->nparams; i++)
        assert(req->params[i].key.p != NULL);

    struct http_response resp;
    http__response_init(&resp, req->arena);
    http_response_header(&resp, "X-Echo", "%.*s", SV_FMT(req->path));
    http_response_error(&resp, 400, "bad %.*s", SV_FMT(req->target));
    struct buf out;
    buf_init(&out, 0);
    struct http__head_opts o = { .version = "1.8.10", .request_id = "id", .wall_ns = 0 };
    (void)http__write_head(&out, &resp, &o);
    assert(out.len == 0 || strstr(out.p, "\r\n\r\n") != NULL);
    buf_fini(&out);
    http__response_fini(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 64 + 1;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;

    http__framer_global_init();
    struct http__framer f;
    http__framer_init(&f, MAX_HEADER_BYTES, MAX_BODY_BYTES);
    size_t off = 0;
    for (int nreq = 0; off < n && nreq < 64; nreq++) {
        struct arena a;
        arena_init(&a, 4096, 0);
        struct http_request req;
        memset(&req, 0, sizeof req);
        req.arena = &a;
        http__framer_begin(&f, &req);
        int rc = HTTP__FRAME_MORE;
        while (off < n) {
            size_t k = n - off < step ? n - off : step;
            size_t used = 0;
            rc = http__framer_feed(&f, p + off, k, &used);
            assert(used <= k);
            assert(req.body.len <= MAX_BODY_BYTES);
            off += used;
            if (rc != HTTP__FRAME_MORE)
                break;
            assert(used == k);
        }
        if (rc == HTTP__FRAME_DONE)
            look_at(&req);
        buf_fini(&req.body);
        arena_fini(&a);
        if (rc != HTTP__FRAME_DONE)
            break;
    }
    http__framer_fini(&f);
    return 0;
}
