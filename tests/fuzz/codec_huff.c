// SPDX-License-Identifier: MIT
/*
 * Fuzz target: arbitrary bytes into the huff integer-sequence decoder
 * (tsdb/codec/huff.c, sequence kind 13) directly, without a block header,
 * so every input reaches its table and lane parsing.  The first two bytes
 * give the value count (1..2,048), the rest is the body, copied to an
 * exact-size buffer so any over-read is caught.  The decoder must either
 * fail the cursor with a message or consume the body exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/codec/codec_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t out[CODEC_BLOCK_MAX + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t n = 1 + (((size_t)data[0] | (size_t)data[1] << 8) % CODEC_BLOCK_MAX);
    size_t len = size - 2;
    uint8_t *p = malloc(len ? len : 1);
    if (!p)
        abort();
    memcpy(p, data + 2, len);
    struct cur c;
    cur_init(&c, p, len);
    out[n] = 0xfeed;
    codec__huff_read(&c, n, out);
    if (c.is_bad && !c.what)
        abort();
    if (out[n] != 0xfeed) /* wrote past n values */
        abort();
    free(p);
    return 0;
}
