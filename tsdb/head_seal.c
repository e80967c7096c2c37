// SPDX-License-Identifier: MIT
/*
 * Sealed head chunks (storage-notes 5.3 "mini-blocks"): a full chunk that is
 * no longer a series' tail is encoded with the fast codecs of tsdb/codec (no
 * zstd) into one allocation, struct tsdb__hsealed (tsdb_int.h):
 *
 *   header     ncols, first timestamp, unique id, flush generations
 *   present    one 64-bit presence word per column (read without decoding)
 *   end        end offsets in data of the time, LSN and column blocks
 *   data       time block (codec time), LSN block (codec time: LSNs are
 *              ascending in practice, any order is lossless), then per
 *              column the present values only, in row order: float, int,
 *              uint and bool through their codecs (floats bit for bit),
 *              strings as the raw struct tsdb__hstr pointers (8 B each; the
 *              sealed chunk owns them, as the open chunk did)
 *
 * Flush generations stay outside the encoded data because a flush rewrites
 * them in place: one value for all 64 rows (fgen == NULL, the common case)
 * or an array of 64, which goes back to one value when the rows agree again.
 *
 * Readers reach a sealed chunk through the accessors of tsdb_int.h, which
 * call tsdb__hs_view(): it decodes the time and LSN blocks and, on demand,
 * single columns into per-thread copies, 16 slots direct-mapped by the
 * chunk's id (ids are never reused, so a freed chunk's copy is never
 * mistaken for a new one).  A reader walks a series' chunks once per
 * column; with up to 16 sealed chunks per series (17 h at 10 s) each chunk
 * and column is decoded once per read.  Writers (head.c) unseal a chunk
 * into an ordinary one before changing it and seal it again afterwards.
 *
 * Codec failures on our own in-memory bytes are bugs: they abort.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

#define ROWS TSDB__CHUNK_ROWS

static _Atomic uint64_t next_id = 1;

_Thread_local struct tsdb__hs_tview tsdb__hs_tv[TSDB__HS_VIEWS];

/* One decoded copy of a sealed chunk. */
struct view {
    uint64_t id; /* 0 = none */
    struct tsdb__hchunk *chunk;
    uint8_t *done; /* per column: decoded into chunk */
};

/* Per-thread state: a codec context, decode scratch and the cached views. */
struct tls {
    struct codec_ctx *codec;
    struct buf enc;
    uint64_t scratch[CODEC_BLOCK_MAX];
    uint8_t bscratch[CODEC_BLOCK_MAX];
    /* The views: full-size open chunks with cap_cols columns each. */
    struct view view[TSDB__HS_VIEWS];
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p)
{
    struct tls *t = p;
    if (!t)
        return;
    codec_ctx_free(t->codec);
    buf_fini(&t->enc);
    for (size_t i = 0; i < TSDB__HS_VIEWS; i++) {
        tsdb__hs_tv[i] = (struct tsdb__hs_tview){ 0 };
        free(t->view[i].chunk);
        free(t->view[i].done);
    }
    free(t);
}

static void tls_key_make(void)
{
    if (pthread_key_create(&tls_key, tls_free))
        abort();
}

static struct tls *tls_get(void)
{
    pthread_once(&tls_once, tls_key_make);
    struct tls *t = pthread_getspecific(tls_key);
    if (t)
        return t;
    t = xcalloc(1, sizeof *t);
    t->codec = codec_ctx_new();
    if (!t->codec)
        abort();
    codec_ctx_set_zstd_level(t->codec, 0);
    codec_ctx_set_fast(t->codec, true); /* a seal is on the commit path: single-frame plans only */
    buf_init(&t->enc, 0);
    if (pthread_setspecific(tls_key, t))
        abort();
    return t;
}

static _Noreturn void die(const char *what, const struct err *e)
{
    fprintf(stderr, "tsdb head: sealed chunk %s failed: %s\n", what, e ? e->msg : "");
    abort();
}

static uint64_t *present_of(const struct tsdb__hsealed *s)
{
    return (uint64_t *)(uintptr_t)(s + 1);
}
static uint32_t *end_of(const struct tsdb__hsealed *s)
{
    return (uint32_t *)(present_of(s) + s->hdr.ncols);
}
static const uint8_t *data_of(const struct tsdb__hsealed *s)
{
    return (const uint8_t *)(end_of(s) + 2 + s->hdr.ncols);
}
/* Block i (0 time, 1 LSN, 2 + k column k) of s. */
static const uint8_t *block(const struct tsdb__hsealed *s, uint32_t i, size_t *len)
{
    const uint32_t *end = end_of(s);
    uint32_t from = i ? end[i - 1] : 0;
    *len = end[i] - from;
    return data_of(s) + from;
}

size_t tsdb__hs_bytes(const struct tsdb__hchunk *c)
{
    const struct tsdb__hsealed *s = (const struct tsdb__hsealed *)c;
    size_t n = sizeof *s + (size_t)s->hdr.ncols * 8 + (2 + (size_t)s->hdr.ncols) * 4 +
               end_of(s)[1 + s->hdr.ncols];
    return n + (s->fgen ? ROWS * sizeof *s->fgen : 0);
}

void tsdb__hs_free(struct tsdb__hchunk *c)
{
    struct tsdb__hsealed *s = (struct tsdb__hsealed *)c;
    free(s->fgen);
    free(s);
}

static void encode_col(struct tls *t, const struct tsdb__hcol *col, enum tsdb_type type)
{
    struct err e = { 0 };
    size_t n = 0;
    for (uint64_t m = col->present; m; m &= m - 1)
        t->scratch[n++] = col->v[__builtin_ctzll(m)];
    int rc = 0;
    switch (type) {
    case TSDB_FLOAT:
        rc = codec_encode_float(t->codec, (const double *)(const void *)t->scratch, n, &t->enc,
                                NULL, &e);
        break;
    case TSDB_INT:
        rc = codec_encode_int(t->codec, (const int64_t *)(const void *)t->scratch, n, &t->enc,
                              NULL, &e);
        break;
    case TSDB_UINT:
        rc = codec_encode_uint(t->codec, t->scratch, n, &t->enc, NULL, &e);
        break;
    case TSDB_BOOL:
        for (size_t i = 0; i < n; i++)
            t->bscratch[i] = t->scratch[i] != 0;
        rc = codec_encode_bool(t->codec, t->bscratch, n, &t->enc, &e);
        break;
    default: /* strings: the pointers themselves */
        rc = buf_append(&t->enc, t->scratch, n * sizeof *t->scratch);
        break;
    }
    if (rc)
        die("encode", &e);
}

struct tsdb__hchunk *tsdb__hs_seal(const struct tsdb__hchunk *c, const struct tsdb__col *cols)
{
    struct tls *t = tls_get();
    struct err e = { 0 };
    uint32_t nc = c->ncols;
    uint32_t end[2 + 64], *endp = nc <= 64 ? end : xmalloc((2 + (size_t)nc) * sizeof *endp);
    buf_reset(&t->enc);
    if (codec_encode_time(t->codec, tsdb__hc_ts(c), ROWS, &t->enc, NULL, &e))
        die("encode", &e);
    endp[0] = (uint32_t)t->enc.len;
    if (codec_encode_time(t->codec, (const int64_t *)tsdb__hc_lsn(c), ROWS, &t->enc, NULL, &e))
        die("encode", &e);
    endp[1] = (uint32_t)t->enc.len;
    for (uint32_t k = 0; k < nc; k++) {
        encode_col(t, tsdb__hc_col(c, k), cols[k].type);
        endp[2 + k] = (uint32_t)t->enc.len;
    }
    size_t head = sizeof(struct tsdb__hsealed) + (size_t)nc * 8 + (2 + (size_t)nc) * 4;
    struct tsdb__hsealed *s = xmalloc(head + t->enc.len);
    *s = (struct tsdb__hsealed){
        .hdr = { .ncols = nc, .cap_cols = nc, .cap_rows = ROWS, .is_heap = true,
                 .is_sealed = true },
        .id = atomic_fetch_add(&next_id, 1),
        .ts_first = tsdb__hc_ts(c)[0],
    };
    for (uint32_t k = 0; k < nc; k++)
        present_of(s)[k] = tsdb__hc_col(c, k)->present;
    memcpy(end_of(s), endp, (2 + (size_t)nc) * sizeof *endp);
    memcpy((uint8_t *)(uintptr_t)data_of(s), t->enc.p, t->enc.len);
    const uint32_t *fg = tsdb__hc_fgen(c);
    bool is_one = true;
    for (size_t i = 1; i < ROWS && is_one; i++)
        is_one = fg[i] == fg[0];
    if (is_one) {
        s->fgen_one = fg[0];
    } else {
        s->fgen = xmalloc(ROWS * sizeof *s->fgen);
        memcpy(s->fgen, fg, ROWS * sizeof *s->fgen);
    }
    if (endp != end)
        free(endp);
    return &s->hdr;
}

static void decode_rows(struct tls *t, const struct tsdb__hsealed *s, struct tsdb__hchunk *out)
{
    struct err e = { 0 };
    size_t len, n;
    const uint8_t *p = block(s, 0, &len);
    if (codec_decode_time(t->codec, p, len, (int64_t *)(void *)t->scratch, &n, &e) || n != ROWS)
        die("decode", &e);
    memcpy(tsdb__hc_ts(out), t->scratch, ROWS * 8);
    p = block(s, 1, &len);
    if (codec_decode_time(t->codec, p, len, (int64_t *)(void *)t->scratch, &n, &e) || n != ROWS)
        die("decode", &e);
    memcpy(tsdb__hc_lsn(out), t->scratch, ROWS * 8);
}

/* Decodes column k of s into out's column k (header included). */
static void decode_col(struct tls *t, const struct tsdb__hsealed *s, uint32_t k, uint32_t type,
                       uint32_t field_id, struct tsdb__hchunk *out)
{
    struct err e = { 0 };
    size_t len, n = 0;
    const uint8_t *p = block(s, 2 + k, &len);
    uint64_t present = present_of(s)[k];
    size_t want = (size_t)__builtin_popcountll(present);
    int rc = 0;
    switch ((enum tsdb_type)type) {
    case TSDB_FLOAT:
        rc = codec_decode_float(t->codec, p, len, (double *)(void *)t->scratch, &n, &e);
        break;
    case TSDB_INT:
        rc = codec_decode_int(t->codec, p, len, (int64_t *)(void *)t->scratch, &n, &e);
        break;
    case TSDB_UINT:
        rc = codec_decode_uint(t->codec, p, len, t->scratch, &n, &e);
        break;
    case TSDB_BOOL:
        rc = codec_decode_bool(t->codec, p, len, t->bscratch, &n, &e);
        for (size_t i = 0; i < n; i++)
            t->scratch[i] = t->bscratch[i];
        break;
    default:
        n = len / 8;
        memcpy(t->scratch, p, n * 8);
        break;
    }
    if (rc || n != want)
        die("decode", &e);
    struct tsdb__hcol *col = tsdb__hc_col(out, k);
    col->field_id = field_id;
    col->type = type;
    col->present = present;
    size_t i = 0;
    for (uint64_t m = present; m; m &= m - 1)
        col->v[__builtin_ctzll(m)] = t->scratch[i++];
}

void tsdb__hs_unseal(const struct tsdb__hchunk *c, const struct tsdb__col *cols,
                     struct tsdb__hchunk *out)
{
    const struct tsdb__hsealed *s = (const struct tsdb__hsealed *)c;
    struct tls *t = tls_get();
    out->ncols = s->hdr.ncols;
    decode_rows(t, s, out);
    uint32_t *fg = tsdb__hc_fgen(out);
    for (size_t i = 0; i < ROWS; i++)
        fg[i] = s->fgen ? s->fgen[i] : s->fgen_one;
    for (uint32_t k = 0; k < s->hdr.ncols; k++)
        decode_col(t, s, k, (uint32_t)cols[k].type, cols[k].field_id, out);
}

const struct tsdb__hchunk *tsdb__hs_view(const struct tsdb__hchunk *c, const struct tsdb__col *cols,
                                         uint32_t col)
{
    const struct tsdb__hsealed *s = (const struct tsdb__hsealed *)c;
    struct tls *t = tls_get();
    size_t slot = s->id % TSDB__HS_VIEWS;
    struct tsdb__hs_tview *tv = &tsdb__hs_tv[slot];
    struct view *v = &t->view[slot];
    if (!v->chunk || v->chunk->cap_cols < s->hdr.ncols) {
        uint32_t cap = s->hdr.ncols < 16 ? 16 : s->hdr.ncols;
        free(v->chunk);
        free(v->done);
        size_t bytes = sizeof(struct tsdb__hchunk) + 20 * (size_t)ROWS +
                       cap * (sizeof(struct tsdb__hcol) + 8 * (size_t)ROWS);
        v->chunk = xmalloc(bytes);
        *v->chunk = (struct tsdb__hchunk){ .cap_cols = cap, .cap_rows = ROWS, .is_heap = true };
        v->done = xmalloc(cap);
        v->id = 0;
        *tv = (struct tsdb__hs_tview){ 0 };
    }
    if (v->id != s->id) {
        decode_rows(t, s, v->chunk);
        v->chunk->ncols = s->hdr.ncols;
        memset(v->done, 0, s->hdr.ncols);
        v->id = s->id;
        *tv = (struct tsdb__hs_tview){ .id = s->id, .chunk = v->chunk };
    }
    if (col < s->hdr.ncols && !v->done[col]) {
        decode_col(t, s, col, (uint32_t)cols[col].type, cols[col].field_id, v->chunk);
        v->done[col] = 1;
        if (col < 64)
            tv->cols |= UINT64_C(1) << col;
    }
    return v->chunk;
}

int64_t tsdb__hs_set_fgen(struct tsdb__hchunk *c, size_t i, uint32_t gen)
{
    struct tsdb__hsealed *s = (struct tsdb__hsealed *)c;
    if (!s->fgen) {
        if (gen == s->fgen_one)
            return 0;
        s->fgen = xmalloc(ROWS * sizeof *s->fgen);
        for (size_t r = 0; r < ROWS; r++)
            s->fgen[r] = s->fgen_one;
        s->fgen[i] = gen;
        return (int64_t)(ROWS * sizeof *s->fgen);
    }
    s->fgen[i] = gen;
    if (i + 1 < ROWS)
        return 0;
    /* Writers mark rows in order: at the last row, see if they agree. */
    for (size_t r = 1; r < ROWS; r++)
        if (s->fgen[r] != s->fgen[0])
            return 0;
    s->fgen_one = s->fgen[0];
    free(s->fgen);
    s->fgen = NULL;
    return -(int64_t)(ROWS * sizeof *s->fgen);
}
