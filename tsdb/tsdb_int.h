// SPDX-License-Identifier: MIT
/*
 * tsdb internals shared by the files of the module (never included outside
 * tsdb/ except by tests that need a private helper).
 *
 * Object graph and locks, outermost first (a thread only takes locks in this
 * order):
 *
 *   struct tsdb
 *     cmp_mu (mutex)        one tsdb_maybe_compact call at a time (compact.c);
 *                           held across a slice, taken before flush_mu
 *     flush_mu (mutex)      one tsdb_flush / tsdb_enforce_retention at a time;
 *                           partitions list, generations (flush.c)
 *     apply_lock (rwlock)   commits hold it for reading while applying a
 *                           record; a flush takes it for writing to copy the
 *                           head at an exact applied watermark
 *     cat_lock (mutex)      catalog: databases, retention policies, file
 *       struct tsdb__db     one database, with its policies
 *         struct tsdb__rp   one retention policy; owns a store
 *           struct tsdb__store
 *             lock (rwlock)       series index: key/id maps, measurements,
 *                                 fields, postings.  Read for lookups, write
 *                                 to create series or fields.
 *             stripes[i] (mutex)  head data of the series with id % N == i
 *     wal.mu (mutex)        WAL queue and state; leaf lock
 *     wal.amu (mutex)       applied-LSN watermark; leaf lock
 *     ver_mu (mutex)        current part-list version and the generations of
 *                           live snapshots; leaf lock
 *
 * Catalog entries, stores, measurements, fields and series are never freed
 * before tsdb_close, so pointers to them stay valid once found.  A dropped
 * database or policy is unlinked from the catalog and parked on its dead
 * lists (its head rows are freed at once, its index at close).  Data at rest lives in partitions of each store (flush.c,
 * part.c); the index stays per store and is saved in its series file.
 */
#ifndef NJ_TSDB_TSDB_INT_H
#define NJ_TSDB_TSDB_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "common/buf.h"
#include "common/hash.h"
#include "tsdb/codec/codec.h"
#include "tsdb/tsdb.h"

struct metric;

#define TSDB__STRIPES 64
#define TSDB__PATH_MAX 4096
/* Sizes that leave room for the suffixes tsdb appends to them. */
#define TSDB__DIR_MAX 3968
#define TSDB__WALDIR_MAX 4032

/* ---- little-endian and varint helpers ---------------------------------- */

static inline void tsdb__put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void tsdb__put_le64(uint8_t *p, uint64_t v)
{
    tsdb__put_le32(p, (uint32_t)v);
    tsdb__put_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t tsdb__le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t tsdb__le64(const uint8_t *p)
{
    return (uint64_t)tsdb__le32(p) | (uint64_t)tsdb__le32(p + 4) << 32;
}
static inline uint64_t tsdb__zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t tsdb__unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Encoders append to a struct buf; they return 0 or ERR_LIMIT/ERR_NOMEM. */
int tsdb__put_uvarint(struct buf *b, uint64_t v);
/* Bytes tsdb__put_uvarint writes for v (1..10). */
size_t tsdb__uvarint_len(uint64_t v);
int tsdb__put_u8(struct buf *b, uint8_t v);
int tsdb__put_u32(struct buf *b, uint32_t v);
int tsdb__put_u64(struct buf *b, uint64_t v);
int tsdb__put_bytes(struct buf *b, const void *p, size_t n); /* uvarint length + bytes */

/* Decoding cursor with a sticky error (Prometheus Decbuf): read many fields,
 * check ->is_bad once.  Reads past the end return zeros. */
struct tsdb__dec {
    const uint8_t *p;
    const uint8_t *end;
    bool is_bad;
};
static inline void tsdb__dec_init(struct tsdb__dec *d, const void *p, size_t n)
{
    d->p = p;
    d->end = d->p + n;
    d->is_bad = false;
}
static inline size_t tsdb__dec_left(const struct tsdb__dec *d)
{
    return (size_t)(d->end - d->p);
}
uint64_t tsdb__get_uvarint(struct tsdb__dec *d);
uint8_t tsdb__get_u8(struct tsdb__dec *d);
uint32_t tsdb__get_u32(struct tsdb__dec *d);
uint64_t tsdb__get_u64(struct tsdb__dec *d);
/* Length-prefixed bytes; the view points into the input. */
struct sv tsdb__get_bytes(struct tsdb__dec *d);

/* ---- crc32c.c ----------------------------------------------------------- */

/* CRC-32C (Castagnoli), the running value starting at 0 for a new checksum:
 * tsdb__crc32c(tsdb__crc32c(0, a, n), b, m) == crc of a||b.  Any thread. */
uint32_t tsdb__crc32c(uint32_t crc, const void *p, size_t n);

/* ---- fileio.c: every file operation, with fault injection --------------- */

struct tsdb__fio {
    _Atomic uint64_t calls[TSDB_FAULT_NOPS];
    _Atomic uint64_t fail_at[TSDB_FAULT_NOPS]; /* call number that fails; 0 = off */
    _Atomic bool is_persistent[TSDB_FAULT_NOPS];
};

/* Each returns 0 or ERR_IO with e naming the path (or what) and strerror. */
int tsdb__f_open(struct tsdb__fio *f, const char *path, int flags, int mode, int *fd,
                 struct err *e);
int tsdb__f_write(struct tsdb__fio *f, int fd, const void *p, size_t n, const char *what,
                  struct err *e);
int tsdb__f_writev(struct tsdb__fio *f, int fd, struct iovec *iov, int n, const char *what,
                   struct err *e);
int tsdb__f_fdatasync(struct tsdb__fio *f, int fd, const char *what, struct err *e);
int tsdb__f_fsync_dir(struct tsdb__fio *f, const char *path, struct err *e);
int tsdb__f_rename(struct tsdb__fio *f, const char *from, const char *to, struct err *e);
int tsdb__f_mkdir(struct tsdb__fio *f, const char *path, struct err *e); /* EEXIST is fine */
int tsdb__f_unlink(struct tsdb__fio *f, const char *path, struct err *e);
int tsdb__f_truncate(struct tsdb__fio *f, int fd, uint64_t size, const char *what, struct err *e);
/* Reads a whole file into out (reset first), at most max_bytes.  Not
 * fault-injected (reads are checked by checksums). */
int tsdb__f_read_all(const char *path, struct buf *out, struct err *e);
/* Writes data to path crash-safely: path.tmp, fsync, rename, fsync dir. */
int tsdb__f_replace(struct tsdb__fio *f, const char *dir, const char *name, const void *p,
                    size_t n, struct err *e);

/* ---- index.c: series index per (database, retention policy) ------------- */

struct tsdb__idvec {
    uint64_t *v;
    size_t n, cap;
};

struct tsdb__field {
    char *key;
    size_t key_n;
    enum tsdb_type type;
    uint32_t id; /* index in meas->fieldv */
};

struct tsdb__tagval {
    char *val;
    size_t n;
    struct tsdb__idvec ids;
};

struct tsdb__tagkey {
    char *key;
    size_t n;
    struct htab vals; /* value -> struct tsdb__tagval */
};

struct tsdb__meas {
    char *name;
    size_t n;
    struct htab fields; /* key -> struct tsdb__field */
    struct tsdb__field **fieldv;
    uint32_t nfields, cap_fields;
    struct htab tagkeys; /* key -> struct tsdb__tagkey */
    struct tsdb__idvec series;
    uint32_t ser_index; /* scratch for the series file writer (flush_mu) */
};

/* ---- head structures (head.c) ------------------------------------------- */

/* The head of a series holds its rows in chunks of TSDB__CHUNK_ROWS rows.
 * Rows are sorted by time with unique timestamps and packed: every chunk but
 * the last is full, so row r is row r % 64 of chunk r / 64.  Only a series'
 * first chunk, while it is the only one, may have room for fewer rows
 * (TSDB__CHUNK_MIN_ROWS, doubling as it fills), so a series with a few
 * points does not pay for 64 rows.  Appends never copy once a series has a
 * full chunk; a series wastes at most one partly filled chunk. */
#define TSDB__CHUNK_SHIFT 6
#define TSDB__CHUNK_ROWS (1u << TSDB__CHUNK_SHIFT)
#define TSDB__CHUNK_MASK (TSDB__CHUNK_ROWS - 1)
#define TSDB__CHUNK_MIN_ROWS 4u

/* Head string value: one allocation, pointed to from a value slot. */
struct tsdb__hstr {
    size_t n;
    char p[];
};

/* One field column of one chunk: bit i of present says row i has a value
 * (a point may carry only some fields); v[i] is the value as a 64-bit
 * pattern (float, int, uint, bool) or a struct tsdb__hstr pointer.  v has
 * the chunk's cap_rows slots. */
struct tsdb__hcol {
    uint32_t field_id;
    uint32_t type; /* enum tsdb_type */
    uint64_t present;
    uint64_t v[];
};

/* A chunk is one allocation: this header, then the row data for cap_rows
 * rows (time; the WAL LSN of the batch that last wrote the row, for snapshot
 * isolation; the flush generation that copied the row into a part, 0 = not
 * flushed since last written: snapshots of that generation or later read
 * the row from the part, and the row is purged once no older snapshot
 * lives), then columns 0 .. ncols-1 of the series (tsdb__hc_col).  A chunk
 * may have fewer columns than its series (fields first seen later): a
 * missing column has no values there. */
struct tsdb__hchunk {
    uint32_t ncols;
    uint32_t cap_cols; /* columns the allocation has room for */
    uint16_t cap_rows; /* TSDB__CHUNK_MIN_ROWS .. TSDB__CHUNK_ROWS, a power of 2 */
    bool is_heap;      /* from malloc, not from head.c's slab */
    bool is_sealed;    /* a struct tsdb__hsealed: use the accessors below */
    uint32_t pad_;
};

/* A sealed chunk (head_seal.c): a full chunk that is not its series' tail,
 * encoded with the codec into one allocation; followed by ncols presence
 * words, the blocks' end offsets and the encoded blocks.  Immutable except
 * the flush generations. */
struct tsdb__hsealed {
    struct tsdb__hchunk hdr; /* is_sealed, cap_rows 64, cap_cols == ncols */
    uint64_t id;             /* unique, never reused: keys readers' views */
    int64_t ts_first;
    uint32_t fgen_one; /* every row's generation when fgen is NULL */
    uint32_t *fgen;    /* 64 generations, or NULL */
};

static inline int64_t *tsdb__hc_ts(const struct tsdb__hchunk *c)
{
    return (int64_t *)(uintptr_t)(c + 1);
}
static inline uint64_t *tsdb__hc_lsn(const struct tsdb__hchunk *c)
{
    return (uint64_t *)(uintptr_t)(c + 1) + c->cap_rows;
}
static inline uint32_t *tsdb__hc_fgen(const struct tsdb__hchunk *c)
{
    return (uint32_t *)((uint64_t *)(uintptr_t)(c + 1) + 2 * (size_t)c->cap_rows);
}
static inline struct tsdb__hcol *tsdb__hc_col(const struct tsdb__hchunk *c, uint32_t k)
{
    size_t cap = c->cap_rows;
    char *base = (char *)(uintptr_t)(c + 1) + 20 * cap;
    return (struct tsdb__hcol *)(void *)(base + k * (sizeof(struct tsdb__hcol) + 8 * cap));
}

/* Field and type of column c of a series (the same in all its chunks). */
struct tsdb__col {
    uint32_t field_id;
    enum tsdb_type type;
};

/* head_seal.c.  Encodes full open chunk c (columns typed by cols) into a new
 * sealed chunk; c is left as it was (the caller frees it). */
struct tsdb__hchunk *tsdb__hs_seal(const struct tsdb__hchunk *c, const struct tsdb__col *cols);
/* Decodes sealed c into open chunk out (64 rows, cap_cols >= c->ncols). */
void tsdb__hs_unseal(const struct tsdb__hchunk *c, const struct tsdb__col *cols,
                     struct tsdb__hchunk *out);
/* Memory held by sealed c. */
size_t tsdb__hs_bytes(const struct tsdb__hchunk *c);
/* Frees sealed c (not the strings it points to). */
void tsdb__hs_free(struct tsdb__hchunk *c);
/* A decoded copy of sealed c's times and LSNs, and of column col when
 * col < c->ncols (pass UINT32_MAX for none), in memory of the calling
 * thread: valid until that thread views another chunk.  Flush generations
 * are not in it (tsdb__head_fgen reads them from c). */
const struct tsdb__hchunk *tsdb__hs_view(const struct tsdb__hchunk *c, const struct tsdb__col *cols,
                                         uint32_t col);
/* The calling thread's views (head_seal.c), direct-mapped by chunk id over
 * TSDB__HS_VIEWS slots (a reader walks a series' chunks once per column):
 * the sealed chunk id a slot decodes, the decoded chunk, and bit c set when
 * column c (< 64) is in it.  Read by the inline accessors so that a row in
 * a viewed chunk costs no call; only tsdb__hs_view changes them. */
#define TSDB__HS_VIEWS 16
struct tsdb__hs_tview {
    uint64_t id;
    const struct tsdb__hchunk *chunk;
    uint64_t cols;
};
extern _Thread_local struct tsdb__hs_tview tsdb__hs_tv[TSDB__HS_VIEWS];
/* Sets row i's flush generation of sealed c; returns the bytes c grew by
 * (an array of 64 generations is made or freed). */
int64_t tsdb__hs_set_fgen(struct tsdb__hchunk *c, size_t i, uint32_t gen);

/* Head data of one series.  Guarded by the store stripe of the series id. */
struct tsdb__head {
    struct tsdb__hchunk **chunks;
    struct tsdb__hchunk *tail; /* chunks[nchunks - 1] or NULL */
    size_t nchunks, cap_chunks;
    size_t n; /* rows */
    struct tsdb__col *cols;
    uint32_t ncols;
    size_t bytes; /* memory held, for the head_bytes gauge */
};

/* Row accessors for readers (stripe lock held, r < h->n, c < h->ncols).
 * A sealed chunk is read through the calling thread's decoded view, so
 * reading rows in order decodes each chunk once (and each column once). */
static inline const struct tsdb__hchunk *tsdb__head_chunk(const struct tsdb__head *h, size_t r,
                                                          uint32_t col)
{
    const struct tsdb__hchunk *k = h->chunks[r >> TSDB__CHUNK_SHIFT];
    if (!k->is_sealed)
        return k;
    uint64_t id = ((const struct tsdb__hsealed *)k)->id;
    const struct tsdb__hs_tview *v = &tsdb__hs_tv[id % TSDB__HS_VIEWS];
    if (v->id == id && (col == UINT32_MAX || (col < 64 && (v->cols >> col & 1))))
        return v->chunk;
    return tsdb__hs_view(k, h->cols, col);
}
static inline int64_t tsdb__head_ts(const struct tsdb__head *h, size_t r)
{
    return tsdb__hc_ts(tsdb__head_chunk(h, r, UINT32_MAX))[r & TSDB__CHUNK_MASK];
}
static inline uint64_t tsdb__head_lsn(const struct tsdb__head *h, size_t r)
{
    return tsdb__hc_lsn(tsdb__head_chunk(h, r, UINT32_MAX))[r & TSDB__CHUNK_MASK];
}
static inline uint64_t tsdb__head_fgen(const struct tsdb__head *h, size_t r)
{
    const struct tsdb__hchunk *k = h->chunks[r >> TSDB__CHUNK_SHIFT];
    if (k->is_sealed) {
        const struct tsdb__hsealed *s = (const struct tsdb__hsealed *)k;
        return s->fgen ? s->fgen[r & TSDB__CHUNK_MASK] : s->fgen_one;
    }
    return tsdb__hc_fgen(k)[r & TSDB__CHUNK_MASK];
}
/* gen < 2^32: one flush generation per flush since open.  Returns the bytes
 * the head grew by (for the head_bytes gauge; a sealed chunk may need an
 * array of generations). */
static inline int64_t tsdb__head_set_fgen(struct tsdb__head *h, size_t r, uint64_t gen)
{
    struct tsdb__hchunk *k = h->chunks[r >> TSDB__CHUNK_SHIFT];
    if (k->is_sealed) {
        int64_t d = tsdb__hs_set_fgen(k, r & TSDB__CHUNK_MASK, (uint32_t)gen);
        h->bytes = (size_t)((int64_t)h->bytes + d);
        return d;
    }
    tsdb__hc_fgen(k)[r & TSDB__CHUNK_MASK] = (uint32_t)gen;
    return 0;
}
static inline bool tsdb__col_has(const struct tsdb__head *h, uint32_t c, size_t r)
{
    const struct tsdb__hchunk *k = h->chunks[r >> TSDB__CHUNK_SHIFT];
    if (c >= k->ncols)
        return false;
    uint64_t present = k->is_sealed
                           ? ((const uint64_t *)(const void *)((const struct tsdb__hsealed *)k + 1))[c]
                           : tsdb__hc_col(k, c)->present;
    return present >> (r & TSDB__CHUNK_MASK) & 1;
}
/* Value of column c in row r (tsdb__col_has true): 64-bit pattern or string. */
static inline uint64_t tsdb__col_u(const struct tsdb__head *h, uint32_t c, size_t r)
{
    return tsdb__hc_col(tsdb__head_chunk(h, r, c), c)->v[r & TSDB__CHUNK_MASK];
}
static inline struct sv tsdb__col_s(const struct tsdb__head *h, uint32_t c, size_t r)
{
    const struct tsdb__hstr *s = (const struct tsdb__hstr *)(uintptr_t)tsdb__col_u(h, c, r);
    return (struct sv){ s->p, s->n };
}

struct tsdb__series {
    uint64_t id;
    char *key; /* escaped key, NUL-terminated */
    size_t key_n;
    struct tsdb__meas *meas;
    size_t ntags;
    struct tsdb_tag *tags; /* views into blob */
    char *blob;
    _Atomic bool is_logged; /* a durable WAL record defines it */
    struct tsdb__head head;
};

struct tsdb__store {
    struct tsdb *db;
    uint64_t db_id, rp_id;
    /* Unique among the stores of the process (from 1): series references
     * handed out by tsdb_batch_add carry it (batch.c). */
    uint64_t serial;
    pthread_rwlock_t lock;
    struct htab by_key; /* escaped key -> series */
    struct tsdb__series **by_id;
    size_t cap_id;
    uint64_t next_id;   /* ids start at 1 */
    struct htab meas;   /* name -> struct tsdb__meas */
    pthread_mutex_t stripes[TSDB__STRIPES];
    /* Set (apply_lock held for writing) when its database or policy is
     * dropped: commits still holding the store apply nothing. */
    _Atomic bool is_dropped;
    /* next_id of the series file loaded at open (0: none).  Replay treats
     * an id below it that the file does not list as dropped (delete.c). */
    uint64_t file_next_id;
    /* Series and measurements taken out of the index by DROP SERIES /
     * DROP MEASUREMENT / DELETE (delete.c), kept until tsdb__store_free
     * because batches may still hold pointers to them (write lock). */
    struct tsdb__series **dead_series;
    size_t ndead_series;
    struct tsdb__meas **dead_meas;
    size_t ndead_meas;
};

struct tsdb__store *tsdb__store_new(struct tsdb *db, uint64_t db_id, uint64_t rp_id);
void tsdb__store_free(struct tsdb__store *st);

/* Builds the escaped series key of measurement + tags (sorted by the caller)
 * into out.  Returns 0 or ERR_LIMIT/ERR_NOMEM. */
int tsdb__series_key(struct buf *out, struct sv meas, const struct tsdb_tag *tags, size_t ntags);
/* Sorts tags by key in place; returns false on a duplicate key. */
bool tsdb__sort_tags(struct tsdb_tag *tags, size_t ntags);

/* The following need st->lock held as stated. */
/* (read) */
struct tsdb__series *tsdb__series_find(struct tsdb__store *st, struct sv key, uint64_t h);
struct tsdb__series *tsdb__series_get(struct tsdb__store *st, uint64_t id);
struct tsdb__meas *tsdb__meas_find(struct tsdb__store *st, struct sv name);
struct tsdb__field *tsdb__field_find(struct tsdb__meas *m, struct sv key);
/* (write) id 0 = next id.  tags sorted.  Returns the series (aborts on OOM). */
struct tsdb__series *tsdb__series_create(struct tsdb__store *st, uint64_t id, struct sv key,
                                         uint64_t h, struct sv meas, const struct tsdb_tag *tags,
                                         size_t ntags);
struct tsdb__meas *tsdb__meas_get(struct tsdb__store *st, struct sv name);
struct tsdb__field *tsdb__field_create(struct tsdb__meas *m, struct sv key, enum tsdb_type type);

void tsdb__idvec_push(struct tsdb__idvec *v, uint64_t id);

/* ---- head.c -------------------------------------------------------------- */

struct tsdb__hval {
    uint32_t field_id;
    enum tsdb_type type;
    union tsdb_value v; /* strings are copied by the head */
};

/* Index of the first row with ts >= t (rows sorted): the chunks by their
 * first time, then one chunk. */
size_t tsdb__head_lower_bound(const struct tsdb__head *h, int64_t t);
/* Inserts or merges one row (stripe lock held).  Returns bytes of memory
 * the head grew by (for the head_bytes gauge). */
int64_t tsdb__head_upsert(struct tsdb__head *h, int64_t ts, uint64_t lsn,
                          const struct tsdb__hval *vals, size_t nvals);
/* Prefetches the cache lines an in-order append to h will write (the tail
 * chunk's header, the next row's time, LSN and generation slots, and each
 * column's presence word and value slot), computed from h alone so that
 * nothing waits for the chunk.  For callers that know the next rows'
 * series a few rows ahead: a row touches ~4 + 2 x columns lines of its
 * chunk, each cold when consecutive rows belong to different series. */
static inline void tsdb__head_prefetch(const struct tsdb__head *h)
{
    const struct tsdb__hchunk *c = h->tail;
    if (!c || h->n < TSDB__CHUNK_ROWS || (h->n & TSDB__CHUNK_MASK) == 0)
        return; /* a small first chunk, or the append starts a new chunk */
    size_t i = h->n & TSDB__CHUNK_MASK;
    const char *base = (const char *)(c + 1);
    __builtin_prefetch(c, 1);
    __builtin_prefetch(base + 8 * i, 1);
    __builtin_prefetch(base + 8 * TSDB__CHUNK_ROWS + 8 * i, 1);
    __builtin_prefetch(base + 16 * TSDB__CHUNK_ROWS + 4 * i, 1);
    const char *col = base + 20 * TSDB__CHUNK_ROWS;
    size_t ncols = h->ncols < 16 ? h->ncols : 16;
    for (size_t k = 0; k < ncols; k++) {
        const char *cp = col + k * (sizeof(struct tsdb__hcol) + 8 * TSDB__CHUNK_ROWS);
        __builtin_prefetch(cp, 1);
        __builtin_prefetch(cp + sizeof(struct tsdb__hcol) + 8 * i, 1);
    }
}
void tsdb__head_fini(struct tsdb__head *h);
/* Removes the rows with 0 < fgen <= max_gen; returns the bytes freed. */
int64_t tsdb__head_purge(struct tsdb__head *h, uint64_t max_gen);
/* Removes every row (a dropped store); returns the bytes freed. */
int64_t tsdb__head_clear(struct tsdb__head *h);

/* ---- part.c: part files (FORMAT.md "Part file") ---------------------------- */

#define TSDB__PART_MAGIC 0x504A4A4Eu /* "NJJP" */
/* Version 2 allows blocks of up to CODEC_BLOCK_MAX (2,048) rows; version 1
 * parts (blocks of at most 1,024 rows) are still read.  Version 3 (issue #4
 * ops bytes): compact summaries, block headers and index; 1 and 2 are read.
 * Version 4 (opsbytes): a per-part field table and time base in front of
 * the index (its offset in the header), columns by field number with their
 * length up front, implied grid time columns, short codec blocks; 1-3 are
 * read. */
#define TSDB__PART_VERSION 4
#define TSDB__PART_V1_ROWS_MAX 1024
#define TSDB__PART_HDR 16
#define TSDB__PART_FOOTER 40

/* One column of rows handed to the part writer: values as 64-bit patterns
 * (u) or strings (s); present NULL = every row has a value. */
struct tsdb__pcol {
    struct sv key;
    enum tsdb_type type;
    const uint8_t *present;
    const uint64_t *u;
    const struct sv *s;
};

/* A field of a version-4 part's field table (the writer's copy). */
struct tsdb__pwf {
    char *key;
    size_t n;
    enum tsdb_type type;
};
struct tsdb__pw {
    struct buf out; /* the whole file */
    struct buf idx;
    struct buf blk;
    struct buf col; /* version 4: one column's body */
    struct codec_ctx *cc;
    uint64_t nblocks, rows;
    int64_t min_ts, max_ts;
    uint64_t base; /* bytes already handed to the file by tsdb__pw_drain */
    uint32_t version; /* part layout written: TSDB__PART_VERSION */
    /* Version 4: field table (numbers in order of first use), its hash
     * (index + 1, 0 = empty; hcap a power of two), the time base (the first
     * block's first time) and the header still to be written at offset 0
     * by tsdb__pw_drain when the first bytes were drained before finish. */
    struct tsdb__pwf *fields;
    size_t nfields, cap_fields;
    uint32_t *fhash;
    size_t hcap;
    int64_t base_ts;
    bool has_base, hdr_pending;
    uint8_t hdr[16];
};
int tsdb__pw_init(struct tsdb__pw *w);
/* Writer of an older layout (1-3: FORMAT.md), for the compatibility tests
 * of the reader and for rewriting an old part in its own layout. */
int tsdb__pw_init_version(struct tsdb__pw *w, uint32_t version);
/* Writer of pt's layout that may copy pt's blocks byte for byte (deletes):
 * same version and, for version 4, pt's field table and time base (new
 * fields are appended). */
struct tsdb__part;
int tsdb__pw_init_like(struct tsdb__pw *w, const struct tsdb__part *pt);
void tsdb__pw_fini(struct tsdb__pw *w);
/* Adds the rows of one series (ts sorted, unique); series must come in id
 * order.  Splits into blocks of CODEC_BLOCK_MAX rows. */
int tsdb__pw_add(struct tsdb__pw *w, uint64_t sid, const int64_t *ts, size_t n,
                 const struct tsdb__pcol *cols, size_t ncols, struct err *e);
int tsdb__pw_finish(struct tsdb__pw *w, uint64_t max_lsn, struct err *e);
/* Streaming (compaction): writes the bytes encoded so far (w->out) to fd
 * and forgets them; block offsets stay absolute, so the writer holds one
 * block plus the block index in memory.  After tsdb__pw_finish it also
 * rewrites the 16-byte header at offset 0 when the header was drained
 * before (version 4 records the index offset there), leaving the file
 * offset at the end.  Returns 0 or ERR_IO (e names what). */
int tsdb__pw_drain(struct tsdb__pw *w, struct tsdb__fio *f, int fd, const char *what,
                   struct err *e);

/* Block index entry. */
struct tsdb__bent {
    uint64_t sid;
    int64_t min_ts, max_ts;
    uint64_t off, len;
    uint32_t nrows;
};
struct tsdb__pinfo {
    struct tsdb__bent *ents;
    size_t nents;
    uint64_t max_lsn, rows;
    int64_t min_ts, max_ts;
};
/* Verifies a whole part image (header, footer, index, every block CRC) and
 * fills pi (free with tsdb__pinfo_fini).  ERR_CORRUPT names name + offset. */
int tsdb__part_verify(const uint8_t *p, size_t len, const char *name, struct tsdb__pinfo *pi,
                      struct err *e);
void tsdb__pinfo_fini(struct tsdb__pinfo *pi);

/* One decoded column of a block, borrowed for a callback. */
struct tsdb__bcol {
    struct sv key;
    enum tsdb_type type;
    uint32_t count;            /* values (rows where present) */
    const uint8_t *present;    /* NULL = every row */
    const union tsdb_value *vals; /* count values, in row order */
    bool has_stats;            /* numeric: the matching stats member is set */
    struct codec_fstats fs;
    struct codec_istats is;
    struct codec_ustats us;
};
struct tsdb__bscratch {
    int64_t ts[CODEC_BLOCK_MAX];
    uint8_t present[CODEC_BLOCK_MAX];
    union tsdb_value vals[CODEC_BLOCK_MAX];
    double f[CODEC_BLOCK_MAX];
    int64_t i[CODEC_BLOCK_MAX];
    uint64_t u[CODEC_BLOCK_MAX];
    uint8_t b[CODEC_BLOCK_MAX];
    struct sv s[CODEC_BLOCK_MAX];
};
typedef int (*tsdb__col_cb)(void *arg, const int64_t *ts, size_t nrows,
                            const struct tsdb__bcol *col);
/* Decodes block blk[0..len) (at offset off of file name) and calls cb per
 * column (strings borrow blk or cc's scratch: copy them in cb).  blk must
 * lie off bytes into the verified part image (blk - off is its header,
 * whose version says how to read the block). */
int tsdb__block_read(struct codec_ctx *cc, struct tsdb__bscratch *sc, const uint8_t *blk,
                     size_t len, const char *name, uint64_t off, tsdb__col_cb cb, void *arg,
                     struct err *e);
/* tsdb__block_read for one column: the others are skipped undecoded (and
 * cb is not called for them). */
int tsdb__block_read_only(struct codec_ctx *cc, struct tsdb__bscratch *sc, const uint8_t *blk,
                          size_t len, const char *name, uint64_t off, struct sv field,
                          tsdb__col_cb cb, void *arg, struct err *e);

/* Finds column key in block blk[0..len) and fills *col with its header and
 * summary (no values decoded: col->vals and col->present stay NULL).
 * Returns 1 when found, 0 when the block has no such column, or ERR_CORRUPT. */
int tsdb__block_col_summary(const uint8_t *blk, size_t len, struct sv key, struct tsdb__bcol *col,
                            const char *name, uint64_t off, struct err *e);

/* A verified, mmapped part; refcounted (snapshots pin it). */
struct tsdb__part {
    _Atomic int refs;
    const uint8_t *map;
    size_t len;
    struct tsdb__pinfo info;
    uint64_t seq;
    uint32_t level;
    char rel[160]; /* path relative to the data directory */
};
int tsdb__part_open(const char *path, const char *rel, struct tsdb__part **out, struct err *e);
void tsdb__part_ref(struct tsdb__part *p);
void tsdb__part_unref(struct tsdb__part *p);
/* Index of the first entry with sid >= sid. */
size_t tsdb__part_find(const struct tsdb__part *p, uint64_t sid);

/* ---- catalog.c ------------------------------------------------------------ */

struct tsdb__rp {
    uint64_t id;
    char *name;
    size_t name_n;
    int64_t duration_ns;
    int64_t shard_duration_ns;
    uint32_t replication;
    struct tsdb__store *store;
};

struct tsdb__db {
    uint64_t id;
    char *name;
    size_t name_n;
    struct tsdb__rp **rps;
    size_t nrps;
    uint64_t default_rp_id;
    uint64_t next_rp_id;
};

struct tsdb__catalog {
    struct tsdb__db **dbs;
    size_t ndbs;
    uint64_t next_db_id;
    /* Dropped entries, unlinked from dbs but kept until tsdb_close: other
     * threads may still hold pointers to them or their stores. */
    struct tsdb__db **dead_dbs;
    size_t ndead_dbs;
    struct tsdb__rp **dead_rps;
    size_t ndead_rps;
};

/* Loads <dir>/catalog (missing = empty).  cat_lock not needed (open). */
int tsdb__catalog_load(struct tsdb *db, struct err *e);
void tsdb__catalog_fini(struct tsdb *db);
/* Removes what a dropped store left (catalog.c calls it with flush_mu held,
 * after the catalog without the store is durable): marks the stores
 * dropped, frees their head rows, takes their partitions out of the
 * published version, then renames dir (relative to the data directory) to
 * trash, fsyncs its parent and removes the tree.  db_id, rp_id = 0 means
 * every policy of db_id. */
int tsdb__storage_drop(struct tsdb *db, struct tsdb__store **sts, size_t nst, uint64_t db_id,
                       uint64_t rp_id, struct err *e);
/* cat_lock held: */
struct tsdb__db *tsdb__catalog_find_db(struct tsdb *db, struct sv name);
struct tsdb__rp *tsdb__catalog_find_rp(struct tsdb__db *d, struct sv name);
/* Store of (db_id, rp_id), or NULL. */
struct tsdb__store *tsdb__catalog_store(struct tsdb *db, uint64_t db_id, uint64_t rp_id);

/* ---- wal.c ----------------------------------------------------------------- */

#define TSDB__WAL_SEG_MAGIC 0x4C574A4Eu /* "NJWL" little-endian */
#define TSDB__WAL_REC_MAGIC 0x52574A4Eu /* "NJWR" */
#define TSDB__WAL_VERSION 1
#define TSDB__WAL_SEG_HDR 16
#define TSDB__WAL_REC_HDR 28
#define TSDB__REC_BATCH 1
#define TSDB__REC_FLAG_ZSTD 1
/* Largest decompressed record replay accepts (1 GiB). */
#define TSDB__MAX_RAW_RECORD (1ull << 30)

struct tsdb__walreq {
    uint8_t hdr[TSDB__WAL_REC_HDR];
    const void *payload;
    size_t payload_n;
    uint64_t lsn;
    int status;
    bool is_done;
    struct tsdb__walreq *next;
};

struct tsdb__wal {
    char dir[TSDB__WALDIR_MAX];
    int fd;
    uint64_t seg_seq;
    uint64_t seg_bytes;
    uint64_t seg_max;
    enum tsdb_fsync_mode mode;
    int64_t interval_ns;

    pthread_mutex_t mu;
    pthread_cond_t cv_work;
    pthread_cond_t cv_done;
    struct tsdb__walreq *q_head, *q_tail;
    bool is_stopping;
    bool has_thread;
    _Atomic int failed; /* 0 or ERR_IO */
    char failed_msg[ERR_MSG_MAX];
    uint64_t next_lsn;
    uint64_t unsynced_bytes;
    pthread_t thread;

    /* Applied watermark: every LSN <= applied is in the head. */
    pthread_mutex_t amu;
    _Atomic uint64_t applied;
    uint64_t *done;
    size_t ndone, cap_done;

    struct metric *m_bytes, *m_fsyncs, *m_fsync_secs, *m_group;
    /* Every record at or below it is in published parts (CHECKPOINT);
     * replay skips them.  Written by open and by flush (flush_mu). */
    uint64_t ckpt_lsn;

    /* Spare decoded-record scratch of wal_record.c, reused across records
     * and commits (their arrays keep their capacity). */
    pthread_mutex_t rec_mu;
    struct tsdb__rec *rec_free;
    size_t nrec_free;
    /* Spare zstd compression contexts and output buffers of batch.c: a
     * context made per commit cost an allocation and table setup each. */
    struct tsdb__zscratch *z_free;
    size_t nz_free;
    /* Spare batches of batch.c (tsdb_batch_free keeps a few). */
    struct tsdb_batch *batch_free;
    size_t nbatch_free;
};

/* Replays <dir>/wal into the stores and leaves wal->seg_seq/fd ready for
 * tsdb__wal_start.  Fills the report. */
int tsdb__wal_replay(struct tsdb *db, const struct tsdb_opts *o, struct tsdb_recovery_report *r,
                     struct err *e);
int tsdb__wal_start(struct tsdb *db, struct err *e);
void tsdb__wal_stop(struct tsdb *db);
/* Queues a record and waits until it is written (and synced in ALWAYS mode).
 * Returns 0 with *lsn set, or ERR_IO. */
int tsdb__wal_submit(struct tsdb *db, uint8_t type, uint8_t flags, const void *payload, size_t n,
                     uint64_t *lsn, struct err *e);
/* Marks lsn as applied to the head. */
void tsdb__wal_applied(struct tsdb *db, uint64_t lsn);

/* ---- wal_record.c: batch records --------------------------------------------- */

struct tsdb__rec;
struct tsdb__apply_helper;

/* Decodes a batch payload and applies it to its store (st, or when NULL the
 * store the record names, looked up in the catalog: replay only, when no
 * other thread runs).  Replay creates series and fields the record defines;
 * a live commit finds them.  Returns 0,
 * 1 when the record's database/policy is unknown (skipped), or ERR_CORRUPT
 * with e describing the problem.  *points gets the points applied. */
int tsdb__record_apply(struct tsdb *db, struct tsdb__store *st, const uint8_t *p, size_t n,
                       uint64_t lsn, bool is_replay, struct tsdb__apply_helper *helpers,
                       size_t nhelpers, struct buf *give, size_t *points, struct err *e);
/* Frees the spare record scratch (tsdb_close). */
void tsdb__rec_pool_fini(struct tsdb *db);
/* batch.c: frees the spare compression scratch (tsdb_close). */
void tsdb__zscratch_pool_fini(struct tsdb *db);
/* batch.c: frees the spare batches (tsdb_close). */
void tsdb__batch_pool_fini(struct tsdb *db);

/* Replay threads: the replaying thread decodes and resolves each record,
 * plans its rows (series with even ids first, then odd) and queues it for
 * two helper threads, one applying the rows of even series ids, the other
 * those of odd ones, and goes on to the next record without waiting.
 * Records reach each helper through a bounded FIFO, so no thread waits for
 * another per record (a per-record barrier made replay crawl on a loaded
 * machine, where any thread may be descheduled); with three threads on two
 * cores the scheduler balances decoding against applying (with the
 * replaying thread applying the even ids itself, as before, it did ~3/4 of
 * the work on the ops set).  Each series is applied by one thread, in WAL
 * order, so the result equals a serial replay.  With one helper (the
 * second could not be started) the replaying thread applies the even ids
 * itself; with none, replay is serial. */
#define TSDB__HELPER_QUEUE 8
struct tsdb__apply_job {
    struct tsdb *db;
    struct tsdb__store *st;
    struct tsdb__rec *rec; /* owns the record's bytes its views point into */
    uint64_t lsn;
    _Atomic int refs; /* the two threads; the last one frees */
    struct tsdb__apply_job *next[2]; /* in each helper's FIFO (by its link) */
};
struct tsdb__apply_helper {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct tsdb__apply_job *head, *tail;
    size_t queued;
    bool is_stopping;
    int part; /* 0: applies the even series ids of each record, 1: the odd ones */
    int link; /* which of a job's next links this helper's FIFO uses */
};
/* Returns false if the thread cannot be created. */
bool tsdb__helper_start(struct tsdb__apply_helper *h, int part);
/* Waits until every queued record is applied, then ends the thread. */
void tsdb__helper_stop(struct tsdb__apply_helper *h);

/* ---- flush.c: partitions, MANIFEST, flush, checkpoint, retention ----------- */

/* A partition of one retention policy: [start, end). */
struct tsdb__partition {
    uint64_t db_id, rp_id;
    int64_t start, end;
    char dir[TSDB__PATH_MAX];
    char rel[96];
    uint64_t next_seq;
    size_t nparts;
    struct tsdb__part **parts; /* live parts, ascending seq; one ref each */
    bool is_new;               /* directory not yet known to exist with a MANIFEST */
    bool is_dirty;             /* MANIFEST must be rewritten (repair) */
    /* Compaction's view (compact.c, flush_mu): the part list it last saw
     * and the caller's clock when that list last changed (idle = cold). */
    size_t cmp_seen_nparts;
    uint64_t cmp_seen_last_seq;
    int64_t cmp_first_ns;   /* first seen (after open or creation) */
    int64_t cmp_changed_ns; /* last change by a flush or rewrite; INT64_MIN = none */
    bool has_cmp_seen;
};

struct tsdb__vpart {
    uint64_t db_id, rp_id;
    int64_t start, end;
    struct tsdb__part *part;
};

/* An immutable list of every live part, sorted by (db, rp, start, seq), and
 * the flush generation it belongs to.  Snapshots pin one. */
struct tsdb__version {
    _Atomic long refs;
    uint64_t gen;
    size_t nparts;
    struct tsdb__vpart *parts;
};

struct tsdb__mentry {
    uint64_t seq;
    uint32_t level;
    uint64_t size, max_lsn;
    int64_t min_ts, max_ts;
};

/* Loads CHECKPOINT, each policy's partitions (MANIFESTs, parts verified),
 * series files; removes *.tmp, .trash-* and unlisted files.  Before replay. */
int tsdb__storage_open(struct tsdb *db, struct err *e);
void tsdb__storage_fini(struct tsdb *db);
struct tsdb__version *tsdb__version_pin(struct tsdb *db);
void tsdb__version_unpin(struct tsdb *db, struct tsdb__version *v);
void tsdb__version_unref(struct tsdb__version *v);
void tsdb__partition_range(int64_t ts, int64_t shard_ns, int64_t *start, int64_t *end);
int tsdb__unframe(const uint8_t *p, size_t len, uint32_t magic, uint32_t version,
                  const char *name, struct tsdb__dec *body, struct err *e);
int tsdb__manifest_decode(const uint8_t *p, size_t len, const char *name,
                          struct tsdb__mentry **ents, size_t *n, uint64_t *next_seq,
                          int64_t *start, int64_t *end, struct err *e);
/* File name of part seq at level: "<16 hex digits>-<level>.tsp". */
void tsdb__part_name(char *out, size_t n, uint64_t seq, uint32_t level);
/* Partition (db_id, rp_id, start) or NULL.  flush_mu held. */
struct tsdb__partition *tsdb__partition_find(struct tsdb *db, uint64_t db_id, uint64_t rp_id,
                                             int64_t start);
/* Compaction's publication (flush_mu held): replaces the run old[0..n) of
 * pa's parts (contiguous, ascending seq) by made, whose seq is old[n-1]'s,
 * so made ranks exactly where the run did (later seq wins).  Writes the
 * MANIFEST (tmp, fsync, rename, fsync dir), then swaps the in-memory list
 * and publishes a version of the same generation.  Returns 0; 1 when the
 * run is no longer live (a drop, retention or rewrite changed the list:
 * nothing done); or ERR_IO with the list unchanged (the MANIFEST on disk
 * may be either one: both are complete). */
int tsdb__partition_swap(struct tsdb *db, struct tsdb__partition *pa, struct tsdb__part *const *old,
                         size_t n, struct tsdb__part *made, struct err *e);

/* ---- compact.c ---------------------------------------------------------------- */

struct tsdb__compactor;
/* Sets up the compactor and its metrics (tsdb_open, after the storage is
 * loaded); fini abandons a merge in progress (its temporary file is
 * deleted) and frees it.  fini is safe on a store where init never ran. */
void tsdb__compact_init(struct tsdb *db);
void tsdb__compact_fini(struct tsdb *db);

/* Series file image of st (FORMAT.md "series table"), store lock held for
 * reading.  With skip set, series s for which skip(arg, s, s->meas) is
 * true are left out, and so are measurements m with skip(arg, NULL, m).
 * Returns 0 or ERR_LIMIT/ERR_NOMEM. */
typedef bool (*tsdb__series_skip_cb)(void *arg, const struct tsdb__series *s,
                                     const struct tsdb__meas *m);
int tsdb__series_encode(struct tsdb__store *st, tsdb__series_skip_cb skip, void *arg,
                        struct buf *out);
/* Rewrites the MANIFEST of pa from pa->parts (tmp, fsync, rename, fsync). */
int tsdb__manifest_write(struct tsdb *db, struct tsdb__partition *pa, struct err *e);
/* Part file name <seq>-<level>.tsp. */
void tsdb__part_name(char *out, size_t n, uint64_t seq, uint32_t level);
/* Publishes a new version built from the partition list (flush_mu held). */
void tsdb__publish(struct tsdb *db, uint64_t gen);
/* tsdb_flush with flush_mu already held by the caller. */
int tsdb__flush_locked(struct tsdb *db, struct err *e);
/* Head bytes at which a flush is due: opts.flush_head_bytes, raised to
 * TSDB__FLUSH_SERIES_BYTES per series of the index but never above
 * TSDB__FLUSH_SERIES_CAP times flush_head_bytes (256 MiB at the 32 MiB
 * default).  With many series a flush then still writes tens of rows per
 * series: a 32 MiB head of 100 k series of 10 fields would flush after
 * every scrape (each series' first chunk alone is ~0.6 KB) and write
 * one-row blocks.  Any thread (atomic loads). */
#define TSDB__FLUSH_SERIES_BYTES 8192u
#define TSDB__FLUSH_SERIES_CAP 8u
uint64_t tsdb__flush_threshold(struct tsdb *db);

/* ---- delete.c ------------------------------------------------------------------ */

/* Whether a batch record's series id names a series that DROP SERIES /
 * DELETE removed: below the loaded series file's next id but not in the
 * index (store lock held).  Replay and live commits skip such rows. */
bool tsdb__series_is_dropped(struct tsdb__store *st, uint64_t id);
/* Frees the parked dead series and measurements (tsdb__store_free). */
void tsdb__store_free_dead(struct tsdb__store *st);

/* ---- tsdb.c ---------------------------------------------------------------- */

struct tsdb {
    char dir[TSDB__DIR_MAX];
    struct tsdb_opts opts;
    int lock_fd;
    struct tsdb__fio fio;
    pthread_mutex_t cat_lock;
    struct tsdb__catalog cat;
    struct tsdb__wal wal;
    _Atomic int64_t head_bytes;
    _Atomic int64_t head_series;

    /* Storage at rest (flush.c). */
    pthread_mutex_t flush_mu;    /* one flush or retention pass at a time */
    pthread_rwlock_t apply_lock; /* commits read while applying; flush writes */
    pthread_mutex_t ver_mu;      /* leaf: ver, snap_gens */
    bool has_storage_locks;
    struct tsdb__version *ver;
    uint64_t *snap_gens;         /* generation of each live snapshot */
    size_t nsnap_gens, cap_snap_gens;
    uint64_t gen_published, gen_next; /* flush_mu */
    struct tsdb__partition **partitions; /* flush_mu; sorted */
    size_t npartitions;
    _Atomic int64_t last_flush_ns; /* caller's clock at the last tsdb_maybe_flush flush */
    struct metric *m_head_series, *m_head_bytes, *m_points;
    /* Flush totals for tsdb_storage_stats (written under flush_mu). */
    _Atomic uint64_t n_flushes, n_flush_parts, n_flush_bytes, n_flush_rows;
    /* Compaction (compact.c): one merge at a time, in slices. */
    pthread_mutex_t cmp_mu;
    bool has_cmp;
    struct tsdb__compactor *cmp;
};

void tsdb__metric_add(struct metric *m, double v);
/* Publishes head_series and head_bytes to their gauges.  Any thread. */
void tsdb__update_gauges(struct tsdb *db);
void tsdb__metric_set(struct metric *m, double v);
void tsdb__metric_observe(struct metric *m, double v);

#endif
