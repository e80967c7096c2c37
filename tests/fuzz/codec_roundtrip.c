// SPDX-License-Identifier: MIT
/*
 * Fuzz target: bytes interpreted as column values, encoded, decoded and
 * compared bit for bit (floats as bit patterns, so NaN payloads and -0.0
 * must survive; see Prometheus util/fuzzing FuzzXORChunk).
 *
 * Input: byte 0 = kind (bits 0-2: time, float, int, uint, bool, string,
 * presence) | shape (bits 3-4); byte 1 bit 0 = zstd on; the rest are values:
 *   shape 0  8 bytes per value, as is
 *   shape 1  2 bytes per value, a signed step added to a running sum
 *            (sorted-ish timestamps, counters, random walks); floats become
 *            sum / 100 (decimal-looking)
 *   shape 2  1 byte per value: small integers; floats become v / 10^(v%4)
 *            and byte 0xff gives a NaN with a payload
 *   shape 3  8 bytes per value, each repeated (byte 0 % 8) + 1 times
 * Strings split the bytes at 0x00 (empty strings and repeats included).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/codec/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N CODEC_BLOCK_MAX

static uint64_t vals[N];
static uint64_t got[N];
static uint8_t bytes[N], gotb[N];
static struct sv strs[N], gots[N];

static size_t make_values(unsigned shape, bool is_float, const uint8_t *p,
                          size_t len)
{
    size_t n = 0;
    uint64_t sum = 0;
    switch (shape) {
    case 0:
        for (; n < N && 8 * n + 8 <= len; n++)
            memcpy(&vals[n], p + 8 * n, 8);
        break;
    case 1:
        for (; n < N && 2 * n + 2 <= len; n++) {
            int16_t step;
            memcpy(&step, p + 2 * n, 2);
            sum += (uint64_t)(int64_t)step;
            if (is_float) {
                double d = (double)(int64_t)sum / 100.0;
                memcpy(&vals[n], &d, 8);
            } else {
                vals[n] = sum;
            }
        }
        break;
    case 2:
        for (; n < N && n < len; n++) {
            if (!is_float) {
                vals[n] = (uint64_t)(int64_t)(int8_t)p[n];
                continue;
            }
            static const double p10[] = { 1, 10, 100, 1000 };
            double d = (double)(int8_t)p[n] / p10[p[n] % 4];
            memcpy(&vals[n], &d, 8);
            if (p[n] == 0xff)
                vals[n] = 0x7ff0000000000bb8ull;
        }
        break;
    default:
        for (size_t at = 0; n < N && at + 8 <= len; at += 8) {
            uint64_t x;
            memcpy(&x, p + at, 8);
            for (unsigned r = 0; r <= p[at] % 8u && n < N; r++)
                vals[n++] = x;
        }
        break;
    }
    return n;
}

static void check_eq(const void *a, const void *b, size_t nbytes)
{
    if (nbytes && memcmp(a, b, nbytes) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct codec_ctx *c;
    static struct buf out;
    if (!c) {
        if (!(c = codec_ctx_new()))
            abort();
        buf_init(&out, 0);
    }
    if (size < 2)
        return 0;
    unsigned kind = data[0] % 8, shape = (data[0] >> 3) & 3;
    codec_ctx_set_zstd_level(c, data[1] & 1);
    const uint8_t *p = data + 2;
    size_t len = size - 2, n = 0, m = 0;
    struct err e;
    int rc = 0;
    buf_reset(&out);
    const uint8_t *b = NULL;
    switch (kind) {
    case 0: /* time */
    case 2: /* int */
    case 3: /* uint */
        n = make_values(shape, false, p, len);
        if (kind == 0)
            rc = codec_encode_time(c, (int64_t *)vals, n, &out, NULL, &e);
        else if (kind == 2)
            rc = codec_encode_int(c, (int64_t *)vals, n, &out, NULL, &e);
        else
            rc = codec_encode_uint(c, vals, n, &out, NULL, &e);
        if (rc != 0)
            abort();
        b = (const uint8_t *)out.p;
        if (kind == 0)
            rc = codec_decode_time(c, b, out.len, (int64_t *)got, &m, &e);
        else if (kind == 2)
            rc = codec_decode_int(c, b, out.len, (int64_t *)got, &m, &e);
        else
            rc = codec_decode_uint(c, b, out.len, got, &m, &e);
        if (rc != 0 || m != n)
            abort();
        check_eq(got, vals, 8 * n);
        break;
    case 1: { /* float */
        n = make_values(shape, true, p, len);
        if (codec_encode_float(c, (const double *)vals, n, &out, NULL, &e) != 0)
            abort();
        b = (const uint8_t *)out.p;
        if (codec_decode_float(c, b, out.len, (double *)got, &m, &e) != 0 || m != n)
            abort();
        check_eq(got, vals, 8 * n);
        break;
    }
    case 4: /* bool */
    case 6: /* presence */
    case 7:
        n = len < N ? len : N;
        memcpy(bytes, p, n);
        rc = kind == 4 ? codec_encode_bool(c, bytes, n, &out, &e)
                       : codec_encode_presence(c, bytes, n, &out, &e);
        if (rc != 0)
            abort();
        b = (const uint8_t *)out.p;
        rc = kind == 4 ? codec_decode_bool(c, b, out.len, gotb, &m, &e)
                       : codec_decode_presence(c, b, out.len, gotb, &m, &e);
        if (rc != 0 || m != n)
            abort();
        for (size_t i = 0; i < n; i++)
            if (gotb[i] != (bytes[i] != 0))
                abort();
        break;
    default: { /* string */
        size_t start = 0;
        for (size_t i = 0; i <= len && n < N; i++) {
            if (i == len || p[i] == 0) {
                strs[n++] = sv_make((const char *)p + start, i - start);
                start = i + 1;
            }
        }
        if (codec_encode_str(c, strs, n, &out, &e) != 0)
            abort();
        b = (const uint8_t *)out.p;
        if (codec_decode_str(c, b, out.len, gots, &m, &e) != 0 || m != n)
            abort();
        for (size_t i = 0; i < n; i++)
            if (!sv_eq(gots[i], strs[i]))
                abort();
        break;
    }
    }
    return 0;
}
