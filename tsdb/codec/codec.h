// SPDX-License-Identifier: MIT
/*
 * nj_codec: per-block column encodings for the storage engine (issue #4,
 * item 2; design in shared/spec/storage-notes.md section 5.5).
 *
 * A column block holds up to CODEC_BLOCK_MAX values of one type: the time
 * column of a series group, one field column (float, int, uint, bool,
 * string), or a field's presence bitmap.  Each encoder computes a few cheap
 * candidate encodings, keeps the smallest, records its codec id in the block
 * header, and finally tries zstd level 1 over the payload (kept only when the
 * payload is at least 256 bytes and zstd saves at least 10 %).  Every
 * encoding is lossless: floats come back bit for bit (NaN payloads, -0.0,
 * denormals included).  The byte layout and its version live in
 * tsdb/codec/FORMAT.md.
 *
 * What this module leaves to others: which rows form a block, where a block
 * is stored, its checksum, and its length.  The storage engine stores the
 * encoded length beside each block and passes exactly those bytes back to the
 * decoder (trailing bytes are reported as corruption).
 *
 * Threads: every function is reentrant.  A struct codec_ctx holds the zstd
 * contexts and scratch memory, and may be used by one thread at a time; keep
 * one per worker thread and reuse it for every block.
 *
 * Errors: encoders fail only on bad arguments (ERR_INVAL: more than
 * CODEC_BLOCK_MAX values, a string block over CODEC_STR_BLOCK_MAX_BYTES),
 * on the output buffer's cap (ERR_LIMIT) or out of memory (ERR_NOMEM).
 * Decoders treat their input as hostile: malformed bytes give ERR_CORRUPT
 * with a message naming the block kind, the byte offset and what was wrong.
 * They never read out of bounds and never allocate more than a fixed bound
 * (the zstd buffer: 64 KiB for numeric blocks, CODEC_STR_BLOCK_MAX_BYTES for
 * strings).  A damaged block that still parses decodes to other values:
 * detecting that is the job of the storage engine's checksums.
 */
#ifndef NJ_TSDB_CODEC_H
#define NJ_TSDB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/sv.h"

/* Version of the byte layout described in tsdb/codec/FORMAT.md. */
#define CODEC_FORMAT_VERSION 5
/* Most values (rows) in one block. */
#define CODEC_BLOCK_MAX 2048
/* Largest decoded payload of a string block (sum of string bytes plus
 * framing).  Encoders refuse bigger blocks; decoders never allocate more. */
#define CODEC_STR_BLOCK_MAX_BYTES (4u << 20)

/* Column kind, stored in every block header. */
enum codec_kind {
    CODEC_KIND_TIME = 1,
    CODEC_KIND_FLOAT = 2,
    CODEC_KIND_INT = 3,
    CODEC_KIND_UINT = 4,
    CODEC_KIND_BOOL = 5,
    CODEC_KIND_STR = 6,
    CODEC_KIND_PRESENCE = 7,
};

/* What a block header says (codec_block_info()). */
struct codec_block_info {
    enum codec_kind kind;
    unsigned codec_id;  /* per-kind codec, see codec_name() */
    unsigned n;         /* number of values, <= CODEC_BLOCK_MAX */
    bool is_zstd;       /* payload is zstd-compressed */
    size_t payload_len; /* decoded payload bytes (after zstd) */
    size_t hdr_len;     /* 4, or 1 for a short block */
};

/* Block summaries, computed while encoding (pass non-NULL to the encoder) or
 * on their own with the codec_*stats_compute() helpers.  The storage engine
 * keeps them in block headers so that aggregates over whole blocks need no
 * decoding. */
struct codec_fstats {
    uint32_t count;     /* values in the block, NaN included */
    uint32_t nan_count; /* NaN values; they are left out of min/max/sum */
    double min, max;    /* over non-NaN values; +Inf/-Inf when none */
    double sum;         /* over non-NaN values, summed in order */
    double first, last; /* values at rows 0 and count-1 (bit for bit) */
};
struct codec_istats {
    uint32_t count;
    bool is_sum_overflow; /* sum wrapped around: do not use it */
    int64_t min, max, first, last;
    int64_t sum;
};
struct codec_ustats {
    uint32_t count;
    bool is_sum_overflow;
    uint64_t min, max, first, last;
    uint64_t sum;
};

struct codec_ctx;

/* Makes a context (zstd compression and decompression contexts plus scratch
 * memory).  Returns NULL when out of memory.  Free with codec_ctx_free(). */
struct codec_ctx *codec_ctx_new(void);
/* Frees c; NULL is a no-op. */
void codec_ctx_free(struct codec_ctx *c);
/* Sets the zstd level used by later encodes on c (default 1; compaction may
 * re-encode cold data at 3).  0 or below turns zstd off. */
void codec_ctx_set_zstd_level(struct codec_ctx *c, int level);
/* Fast planning for later encodes on c (default off): integer sequences try
 * only the single-frame kinds (FOR, delta, delta-of-delta, grid, RLE, raw)
 * and skip miniblocks, patched FOR and Huffman, whose planning costs several
 * passes over the values.  The output is a normal block of the current
 * format, only sometimes larger.  For short-lived encodes on a hot path
 * (the head's sealed chunks), never for part files. */
void codec_ctx_set_fast(struct codec_ctx *c, bool fast);
/* Short blocks (format 5, FORMAT.md "Short blocks"): later encodes on c
 * write a 1-byte header (codec id and zstd flag) instead of the 4-byte one;
 * the container keeps the kind and the value count and hands them to the
 * codec_decode_*_short() decoders.  Default off. */
void codec_ctx_set_short(struct codec_ctx *c, bool on);

/*
 * Encoders.  Each appends one encoded block to out (whose cap applies) and
 * returns 0, ERR_INVAL (n > CODEC_BLOCK_MAX, or e.g. a string too big),
 * ERR_LIMIT (out's cap) or ERR_NOMEM, with e filled in.  Input arrays are
 * borrowed for the call.  st, when not NULL, receives the block summary.
 * n == 0 is allowed (a block of 4 or 5 bytes).  c: one thread at a time.
 */
/* Timestamps in ns: sorted input encodes best, any order is lossless. */
int codec_encode_time(struct codec_ctx *c, const int64_t *ts, size_t n,
                      struct buf *out, struct codec_istats *st, struct err *e);
int codec_encode_float(struct codec_ctx *c, const double *v, size_t n,
                       struct buf *out, struct codec_fstats *st, struct err *e);
int codec_encode_int(struct codec_ctx *c, const int64_t *v, size_t n,
                     struct buf *out, struct codec_istats *st, struct err *e);
int codec_encode_uint(struct codec_ctx *c, const uint64_t *v, size_t n,
                      struct buf *out, struct codec_ustats *st, struct err *e);
/* v[i] != 0 is true. */
int codec_encode_bool(struct codec_ctx *c, const uint8_t *v, size_t n,
                      struct buf *out, struct err *e);
/* Strings are bytes (no NUL needed); their total size is capped by
 * CODEC_STR_BLOCK_MAX_BYTES (ERR_INVAL beyond). */
int codec_encode_str(struct codec_ctx *c, const struct sv *v, size_t n,
                     struct buf *out, struct err *e);
/* Presence bitmap of a sparse field: present[i] != 0 when row i of the
 * block has a value.  The field's own column then holds only the present
 * values, in row order. */
int codec_encode_presence(struct codec_ctx *c, const uint8_t *present,
                          size_t n, struct buf *out, struct err *e);

/*
 * Decoders.  p[0..len) is exactly one block (borrowed for the call).  out
 * must have room for CODEC_BLOCK_MAX values; *n receives the count.
 * Returns 0, or ERR_CORRUPT (with e naming the offset and the problem) for
 * any malformed input, a block of another kind included, or ERR_NOMEM.
 * c: one thread at a time.
 */
int codec_decode_time(struct codec_ctx *c, const uint8_t *p, size_t len,
                      int64_t *out, size_t *n, struct err *e);
int codec_decode_float(struct codec_ctx *c, const uint8_t *p, size_t len,
                       double *out, size_t *n, struct err *e);
int codec_decode_int(struct codec_ctx *c, const uint8_t *p, size_t len,
                     int64_t *out, size_t *n, struct err *e);
int codec_decode_uint(struct codec_ctx *c, const uint8_t *p, size_t len,
                      uint64_t *out, size_t *n, struct err *e);
/* out[i] is 0 or 1. */
int codec_decode_bool(struct codec_ctx *c, const uint8_t *p, size_t len,
                      uint8_t *out, size_t *n, struct err *e);
int codec_decode_presence(struct codec_ctx *c, const uint8_t *p, size_t len,
                          uint8_t *out, size_t *n, struct err *e);
/* The views in out borrow either p or c's scratch memory: they stay valid
 * while p lives and until the next call that uses c. */
int codec_decode_str(struct codec_ctx *c, const uint8_t *p, size_t len,
                     struct sv *out, size_t *n, struct err *e);

/* Decoders of short blocks (codec_ctx_set_short): the kind is the
 * function's and n, the value count the container stored, is passed in
 * (<= CODEC_BLOCK_MAX, else ERR_INVAL).  Otherwise as above; on success
 * exactly n values were decoded. */
int codec_decode_time_short(struct codec_ctx *c, const uint8_t *p, size_t len, size_t n,
                            int64_t *out, struct err *e);
int codec_decode_float_short(struct codec_ctx *c, const uint8_t *p, size_t len, size_t n,
                             double *out, struct err *e);
int codec_decode_int_short(struct codec_ctx *c, const uint8_t *p, size_t len, size_t n,
                           int64_t *out, struct err *e);
int codec_decode_uint_short(struct codec_ctx *c, const uint8_t *p, size_t len, size_t n,
                            uint64_t *out, struct err *e);
int codec_decode_bool_short(struct codec_ctx *c, const uint8_t *p, size_t len, size_t n,
                            uint8_t *out, struct err *e);
int codec_decode_presence_short(struct codec_ctx *c, const uint8_t *p, size_t len, size_t n,
                                uint8_t *out, struct err *e);
int codec_decode_str_short(struct codec_ctx *c, const uint8_t *p, size_t len, size_t n,
                           struct sv *out, struct err *e);

/* Reads a block header without decoding the values (payload_len is the
 * stored length, or the declared decompressed length for zstd blocks).
 * Returns 0 or ERR_CORRUPT.  Any thread. */
int codec_block_info(const uint8_t *p, size_t len, struct codec_block_info *bi,
                     struct err *e);
/* codec_block_info of a short block of kind and n values. */
int codec_block_info_short(const uint8_t *p, size_t len, enum codec_kind kind, size_t n,
                           struct codec_block_info *bi, struct err *e);
/* Short name of a codec id ("delta-for", "decimal", "xor", ...), or "?".
 * For benchmarks and debug dumps.  Any thread. */
const char *codec_name(enum codec_kind kind, unsigned codec_id);

/* Summary helpers (pure functions, any thread).  n may be 0. */
void codec_fstats_compute(const double *v, size_t n, struct codec_fstats *st);
void codec_istats_compute(const int64_t *v, size_t n, struct codec_istats *st);
void codec_ustats_compute(const uint64_t *v, size_t n, struct codec_ustats *st);

#endif
