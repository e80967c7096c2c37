// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the TCP listener's line splitting (ingest/listen_tcp.c,
 * feed() and end_line(), static, so the .c is included here as STYLE §8
 * allows).  No socket or loop is used: a listener and a connection are set
 * up by hand with batch_timeout_ns = 0 (so no timer is armed) and the input
 * is fed in chunks, as on_read would be, then EOF as on_read handles it.
 *
 * Input: 4 header bytes, then the stream.
 *   byte 0  chunk sizes: bit 7 set, every chunk is (b & 0x7f) + 1 bytes;
 *           clear, sizes 1..16 from a generator seeded by b
 *   byte 1  max_line_bytes = 1 + b % 64
 *   byte 2  batch_bytes = 1 + b
 *   byte 3  batch_lines = 1 + b % 16
 * After every chunk a full batch is taken (what flush() would write).
 * Checked against a model that splits the whole stream at once: every
 * complete line delivered exactly once and in order, one "\r" before its
 * "\n" stripped, empty lines skipped, lines longer than max_line_bytes
 * dropped, a partial last line delivered at EOF; c->line never holds more
 * than max_line_bytes + 1 bytes and the batch stays within invariant 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ingest/listen_tcp.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
    struct buf got;   /* every batch, concatenated */
    size_t ngot;      /* lines in them */
};

static void take_batch(struct tcp_conn *c, struct out *o)
{
    if (buf_append(&o->got, c->batch.p ? c->batch.p : "", c->batch.len) != 0)
        abort();
    o->ngot += c->nlines;
    size_t nl = 0;
    for (size_t i = 0; i < c->batch.len; i++)
        nl += c->batch.p[i] == '\n';
    if (nl != c->nlines || (c->batch.len && c->batch.p[c->batch.len - 1] != '\n')) {
        fprintf(stderr, "batch of %zu bytes: %zu newlines, nlines %zu\n", c->batch.len, nl,
                c->nlines);
        abort();
    }
    buf_reset(&c->batch);
    c->nlines = 0;
}

/* The whole stream split at once. */
static void model(const char *p, size_t n, size_t max_line, struct buf *want, size_t *nwant)
{
    *nwant = 0;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n;
        size_t len = seg;
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len > 0 && len <= max_line) {
            if (buf_append(want, p, len) != 0 || buf_append_char(want, '\n') != 0)
                abort();
            ++*nwant;
        }
        if (!nl)
            break;
        p += seg + 1;
        n -= seg + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        log_set_level(LOG_ERROR); /* line_too_long warns per input */
        once = true;
    }
    if (size < 4)
        return 0;
    uint8_t mode = data[0];
    struct ing_tcp l = { 0 };
    l.o.max_line_bytes = 1 + data[1] % 64u;
    l.o.batch_bytes = 1 + (size_t)data[2];
    l.o.batch_lines = 1 + data[3] % 16u;
    l.o.batch_timeout_ns = 0;
    data += 4;
    size -= 4;

    struct tcp_conn c = { 0 };
    c.l = &l;
    buf_init(&c.line, l.o.max_line_bytes + 1);
    buf_init(&c.batch, l.o.batch_bytes + READ_CHUNK_BYTES + l.o.max_line_bytes + 16);
    struct out o = { 0 };
    buf_init(&o.got, 0);

    uint32_t rng = mode * 2654435761u + 1;
    size_t off = 0;
    while (off < size) {
        size_t chunk;
        if (mode & 0x80) {
            chunk = (size_t)(mode & 0x7f) + 1;
        } else {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            chunk = 1 + rng % 16;
        }
        if (chunk > size - off)
            chunk = size - off;
        /* A private copy of exactly the read, so over-reads are caught. */
        char *rd = malloc(chunk);
        if (!rd)
            abort();
        memcpy(rd, data + off, chunk);
        feed(&c, rd, chunk);
        free(rd);
        off += chunk;
        if (c.line.len > l.o.max_line_bytes + 1) {
            fprintf(stderr, "line buffer holds %zu > %zu\n", c.line.len, l.o.max_line_bytes + 1);
            abort();
        }
        if (c.batch.len >= l.o.batch_bytes + chunk + l.o.max_line_bytes + 2) {
            fprintf(stderr, "batch holds %zu after a %zu-byte read\n", c.batch.len, chunk);
            abort();
        }
        if (c.is_discarding && c.line.len) {
            fprintf(stderr, "discarding with %zu bytes held\n", c.line.len);
            abort();
        }
        if (c.batch.len > 0 && batch_is_full(&c))
            take_batch(&c, &o);
    }
    /* EOF, as on_read does it. */
    if (!c.is_discarding && c.line.len > 0)
        end_line(&c, "", 0);
    buf_reset(&c.line);
    c.is_discarding = false;
    take_batch(&c, &o);

    struct buf want;
    buf_init(&want, 0);
    size_t nwant;
    model((const char *)data, size, l.o.max_line_bytes, &want, &nwant);
    if (o.ngot != nwant || o.got.len != want.len ||
        (want.len && memcmp(o.got.p, want.p, want.len) != 0)) {
        fprintf(stderr, "got %zu lines (%zu bytes), want %zu lines (%zu bytes)\n", o.ngot,
                o.got.len, nwant, want.len);
        abort();
    }
    buf_fini(&want);
    buf_fini(&o.got);
    buf_fini(&c.line);
    buf_fini(&c.batch);
    return 0;
}
