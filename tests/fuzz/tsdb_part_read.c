// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: part files and MANIFESTs as read from disk.  Byte 0
 * selects the mode, the rest is the file:
 *   bit 0 clear: a part file.  tsdb__part_verify, then every block of a
 *                verified part is decoded (tsdb__block_read) and its values
 *                touched.
 *   bit 0 set:   a MANIFEST (tsdb__manifest_decode).
 *   bit 1:       first recompute the checksums (part: every block the index
 *                points at, the index and the footer, and in version 4 the
 *                header's index offset; MANIFEST: the body)
 *                so mutations reach the decoders instead of stopping at a
 *                CRC mismatch.
 * Must never crash, leak or read out of bounds; errors must be ERR_CORRUPT.
 * Seeds (tests/fuzz/corpus/tsdb_part_read/) come from
 * tests/unit/tsdb_part_test.c (TSDB_PART_SEEDS=<dir>).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/tsdb_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fix_part(uint8_t *p, size_t len)
{
    if (len < TSDB__PART_HDR + TSDB__PART_FOOTER)
        return;
    uint8_t *f = p + len - TSDB__PART_FOOTER;
    uint64_t foff = len - TSDB__PART_FOOTER;
    uint64_t ioff = tsdb__le64(f), ilen = tsdb__le64(f + 8);
    if (ioff <= foff && ilen <= foff - ioff) {
        struct tsdb__dec d;
        tsdb__dec_init(&d, p + ioff, ilen);
        uint32_t ver = tsdb__le32(p + 4);
        if (ver >= 4 && ilen >= 12) {
            /* header index offset, then skip the field table */
            tsdb__put_le64(p + 8, ioff);
            uint64_t nf = tsdb__le32(p + ioff);
            if (nf <= (ilen - 12) / 4) {
                d.p += 12 + 4 * nf;
                for (uint64_t i = 0; i < nf && !d.is_bad; i++) {
                    (void)tsdb__get_u8(&d);
                    (void)tsdb__get_bytes(&d);
                }
            }
        }
        uint64_t nb = tsdb__get_uvarint(&d);
        uint64_t off = TSDB__PART_HDR, sid = 0;
        for (uint64_t i = 0; i < nb && i < 100000 && !d.is_bad; i++) {
            uint64_t s0 = tsdb__get_uvarint(&d);
            if (ver >= 3) { /* min_ts delta, span; offsets implied */
                sid += s0;
                (void)tsdb__get_uvarint(&d);
                uint64_t z = tsdb__get_uvarint(&d);
                if (ver >= 4 && (z & 15) == 15)
                    (void)tsdb__get_uvarint(&d);
            } else {
                (void)tsdb__get_u64(&d);
                (void)tsdb__get_u64(&d);
                off = tsdb__get_uvarint(&d);
            }
            uint64_t bl = tsdb__get_uvarint(&d);
            (void)tsdb__get_uvarint(&d);
            uint32_t seed = 0;
            if (ver >= 4) { /* version 4 block CRCs start from the series id's */
                uint8_t sb[8];
                tsdb__put_le64(sb, sid);
                seed = tsdb__crc32c(0, sb, 8);
            }
            if (!d.is_bad && bl >= 4 && off <= ioff && bl <= ioff - off)
                tsdb__put_le32(p + off + bl - 4, tsdb__crc32c(seed, p + off, bl - 4));
            off += bl;
        }
        tsdb__put_le32(f + 24, tsdb__crc32c(0, p + ioff, ilen));
    }
    tsdb__put_le32(f + 28, tsdb__crc32c(0, f, 28));
}

static int touch_cb(void *arg, const int64_t *ts, size_t nrows, const struct tsdb__bcol *col)
{
    uint64_t *acc = arg;
    size_t k = 0;
    for (size_t r = 0; r < nrows; r++) {
        *acc += (uint64_t)ts[r];
        if (col->present && !col->present[r])
            continue;
        if (col->type == TSDB_STRING)
            *acc += col->vals[k].s.n ? (uint8_t)col->vals[k].s.p[col->vals[k].s.n - 1] : 0;
        else
            *acc += col->vals[k].u;
        k++;
    }
    if (k != col->count)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size_t len = size - 1;
    uint8_t *p = malloc(len ? len : 1);
    if (len)
        memcpy(p, data + 1, len);
    struct err e;
    err_clear(&e);
    if (mode & 1) {
        if ((mode & 2) && len >= 16) {
            tsdb__put_le32(p + 8, (uint32_t)(len - 16));
            tsdb__put_le32(p + 12, tsdb__crc32c(0, p + 16, len - 16));
        }
        struct tsdb__mentry *ents = NULL;
        size_t n = 0;
        uint64_t next_seq;
        int64_t start, end;
        int rc = tsdb__manifest_decode(p, len, "MANIFEST", &ents, &n, &next_seq, &start, &end, &e);
        if (rc && rc != ERR_CORRUPT)
            abort();
        free(ents);
    } else {
        if (mode & 2)
            fix_part(p, len);
        struct tsdb__pinfo pi;
        int rc = tsdb__part_verify(p, len, "fuzz.tsp", &pi, &e);
        if (rc && rc != ERR_CORRUPT)
            abort();
        if (!rc) {
            struct codec_ctx *cc = codec_ctx_new();
            struct tsdb__bscratch *sc = malloc(sizeof *sc);
            uint64_t acc = 0;
            for (size_t i = 0; i < pi.nents && cc; i++) {
                rc = tsdb__block_read(cc, sc, p + pi.ents[i].off, pi.ents[i].len, "fuzz.tsp",
                                      pi.ents[i].off, touch_cb, &acc, &e);
                if (rc && rc != ERR_CORRUPT)
                    abort();
                /* the one-column reader and the summary lookup walk columns
                 * their own way (version 4: by the column lengths) */
                static const char *const keys[] = { "f", "s" };
                for (int k = 0; k < 2; k++) {
                    rc = tsdb__block_read_only(cc, sc, p + pi.ents[i].off, pi.ents[i].len,
                                               "fuzz.tsp", pi.ents[i].off, sv_cstr(keys[k]),
                                               touch_cb, &acc, &e);
                    if (rc && rc != ERR_CORRUPT)
                        abort();
                    struct tsdb__bcol col;
                    rc = tsdb__block_col_summary(p + pi.ents[i].off, pi.ents[i].len,
                                                 sv_cstr(keys[k]), &col, "fuzz.tsp",
                                                 pi.ents[i].off, &e);
                    if (rc != 0 && rc != 1 && rc != ERR_CORRUPT)
                        abort();
                }
            }
            codec_ctx_free(cc);
            free(sc);
            tsdb__pinfo_fini(&pi);
        }
    }
    free(p);
    return 0;
}
