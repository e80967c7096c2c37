// SPDX-License-Identifier: MIT
/*
 * Binary encoding primitives shared by the WAL and catalog formats: unsigned
 * LEB128 varints, little-endian fixed-width integers and length-prefixed
 * bytes.  Encoders append to a capped struct buf; the decoder is a cursor
 * with a sticky error so callers read many fields and check once
 * (STYLE.md 3, Prometheus tsdb/encoding).  A decoder never reads past its
 * end: on a short input it returns zeros and sets is_bad.
 */
#include "tsdb/tsdb_int.h"

int tsdb__put_uvarint(struct buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    return buf_append(b, tmp, n);
}

size_t tsdb__uvarint_len(uint64_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

int tsdb__put_u8(struct buf *b, uint8_t v)
{
    return buf_append(b, &v, 1);
}

int tsdb__put_u32(struct buf *b, uint32_t v)
{
    uint8_t tmp[4];
    tsdb__put_le32(tmp, v);
    return buf_append(b, tmp, 4);
}

int tsdb__put_u64(struct buf *b, uint64_t v)
{
    uint8_t tmp[8];
    tsdb__put_le64(tmp, v);
    return buf_append(b, tmp, 8);
}

int tsdb__put_bytes(struct buf *b, const void *p, size_t n)
{
    int rc = tsdb__put_uvarint(b, n);
    return rc ? rc : buf_append(b, p, n);
}

uint64_t tsdb__get_uvarint(struct tsdb__dec *d)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (d->p >= d->end) {
            d->is_bad = true;
            return 0;
        }
        uint8_t c = *d->p++;
        if (shift == 63 && c > 1) {
            d->is_bad = true;
            return 0;
        }
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    d->is_bad = true;
    return 0;
}

uint8_t tsdb__get_u8(struct tsdb__dec *d)
{
    if (d->p >= d->end) {
        d->is_bad = true;
        return 0;
    }
    return *d->p++;
}

uint32_t tsdb__get_u32(struct tsdb__dec *d)
{
    if (tsdb__dec_left(d) < 4) {
        d->is_bad = true;
        d->p = d->end;
        return 0;
    }
    uint32_t v = tsdb__le32(d->p);
    d->p += 4;
    return v;
}

uint64_t tsdb__get_u64(struct tsdb__dec *d)
{
    if (tsdb__dec_left(d) < 8) {
        d->is_bad = true;
        d->p = d->end;
        return 0;
    }
    uint64_t v = tsdb__le64(d->p);
    d->p += 8;
    return v;
}

struct sv tsdb__get_bytes(struct tsdb__dec *d)
{
    uint64_t n = tsdb__get_uvarint(d);
    if (d->is_bad || n > tsdb__dec_left(d)) {
        d->is_bad = true;
        d->p = d->end;
        return (struct sv){ "", 0 };
    }
    struct sv s = { (const char *)d->p, (size_t)n };
    d->p += n;
    return s;
}
