// SPDX-License-Identifier: MIT
/*
 * Fuzz target: arbitrary bytes into every tsdb/codec decoder.  The first
 * byte picks the decoder (time, float, int, uint, bool, string, presence),
 * the rest is the block.  Decoders must return 0 or ERR_CORRUPT, never
 * crash, read out of bounds or report more than CODEC_BLOCK_MAX values.
 * codec_block_info() runs on the same bytes.  The context is created once
 * and reused, as a worker thread would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/codec/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t i64[CODEC_BLOCK_MAX];
static uint64_t u64[CODEC_BLOCK_MAX];
static double f64[CODEC_BLOCK_MAX];
static uint8_t u8[CODEC_BLOCK_MAX];
static struct sv sv[CODEC_BLOCK_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct codec_ctx *c;
    if (!c && !(c = codec_ctx_new()))
        abort();
    if (size < 1)
        return 0;
    unsigned which = data[0] % 7;
    /* A private copy of exactly the block, so any over-read is caught. */
    size_t len = size - 1;
    uint8_t *p = malloc(len ? len : 1);
    if (!p)
        abort();
    memcpy(p, data + 1, len);
    struct err e = { 0 };
    struct codec_block_info bi;
    size_t n = 0;
    int rc;
    (void)codec_block_info(p, len, &bi, &e);
    switch (which) {
    case 0:
        rc = codec_decode_time(c, p, len, i64, &n, &e);
        break;
    case 1:
        rc = codec_decode_float(c, p, len, f64, &n, &e);
        break;
    case 2:
        rc = codec_decode_int(c, p, len, i64, &n, &e);
        break;
    case 3:
        rc = codec_decode_uint(c, p, len, u64, &n, &e);
        break;
    case 4:
        rc = codec_decode_bool(c, p, len, u8, &n, &e);
        break;
    case 5:
        rc = codec_decode_str(c, p, len, sv, &n, &e);
        /* Views must point at readable bytes. */
        for (size_t i = 0; rc == 0 && i < n; i++) {
            volatile uint8_t sink = 0;
            for (size_t k = 0; k < sv[i].n; k++)
                sink ^= (uint8_t)sv[i].p[k];
            (void)sink;
        }
        break;
    default:
        rc = codec_decode_presence(c, p, len, u8, &n, &e);
        break;
    }
    if (rc != 0 && rc != ERR_CORRUPT)
        abort();
    if (rc == 0 && n > CODEC_BLOCK_MAX)
        abort();
    if (rc != 0 && e.msg[0] == '\0')
        abort();
    free(p);
    return 0;
}
