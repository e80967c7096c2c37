// SPDX-License-Identifier: MIT
/*
 * Fuzz target: arbitrary bytes into every tsdb/codec decoder.  The first
 * byte picks the decoder (time, float, int, uint, bool, string, presence:
 * (byte & 0x7f) % 7); with bit 7 set the block is a short block (format 5,
 * 1-byte header) whose value count is the next two bytes (little-endian,
 * modulo CODEC_BLOCK_MAX + 1) and the _short decoders run; the rest is the
 * block.  Decoders must return 0 or ERR_CORRUPT, never
 * crash, read out of bounds or report more than CODEC_BLOCK_MAX values.
 * codec_block_info() runs on the same bytes.  The context is created once
 * and reused, as a worker thread would.
 */
#include <stdbool.h>
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
    unsigned which = (data[0] & 0x7f) % 7;
    bool is_short = data[0] & 0x80;
    size_t hdr = 1, sn = 0;
    if (is_short) {
        if (size < 3)
            return 0;
        sn = (size_t)(data[1] | data[2] << 8) % (CODEC_BLOCK_MAX + 1);
        hdr = 3;
    }
    /* A private copy of exactly the block, so any over-read is caught. */
    size_t len = size - hdr;
    uint8_t *p = malloc(len ? len : 1);
    if (!p)
        abort();
    memcpy(p, data + hdr, len);
    struct err e = { 0 };
    struct codec_block_info bi;
    size_t n = 0;
    int rc;
    if (is_short) {
        static const enum codec_kind kinds[7] = { CODEC_KIND_TIME, CODEC_KIND_FLOAT,
                                                  CODEC_KIND_INT,  CODEC_KIND_UINT,
                                                  CODEC_KIND_BOOL, CODEC_KIND_STR,
                                                  CODEC_KIND_PRESENCE };
        (void)codec_block_info_short(p, len, kinds[which], sn, &bi, &e);
        n = sn;
        switch (which) {
        case 0:
            rc = codec_decode_time_short(c, p, len, sn, i64, &e);
            break;
        case 1:
            rc = codec_decode_float_short(c, p, len, sn, f64, &e);
            break;
        case 2:
            rc = codec_decode_int_short(c, p, len, sn, i64, &e);
            break;
        case 3:
            rc = codec_decode_uint_short(c, p, len, sn, u64, &e);
            break;
        case 4:
            rc = codec_decode_bool_short(c, p, len, sn, u8, &e);
            break;
        case 5:
            rc = codec_decode_str_short(c, p, len, sn, sv, &e);
            for (size_t i = 0; rc == 0 && i < n; i++) {
                volatile uint8_t sink = 0;
                for (size_t k = 0; k < sv[i].n; k++)
                    sink ^= (uint8_t)sv[i].p[k];
                (void)sink;
            }
            break;
        default:
            rc = codec_decode_presence_short(c, p, len, sn, u8, &e);
            break;
        }
        goto check;
    }
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
check:
    if (rc != 0 && rc != ERR_CORRUPT)
        abort();
    if (rc == 0 && n > CODEC_BLOCK_MAX)
        abort();
    if (rc != 0 && e.msg[0] == '\0')
        abort();
    free(p);
    return 0;
}
