// SPDX-License-Identifier: MIT
/*
 * tsdb: Nightjar's storage engine, the write path core.
 *
 * What it does: keeps a catalog of databases and retention policies, a
 * series index per (database, retention policy), an in-memory head holding
 * the samples, and one write-ahead log (WAL) that makes every acknowledged
 * batch durable before it becomes visible.  tsdb_open() replays the WAL.
 * Data at rest: tsdb_flush() writes the head into immutable, checksummed
 * columnar part files per time partition (MANIFEST per partition), advances
 * a checkpoint so old WAL segments can go, and snapshots read head and parts
 * merged; tsdb_enforce_retention() drops expired partitions whole.
 *
 * What it leaves to others: parsing line protocol (ingest/), HTTP status
 * codes and logging (the daemon logs what tsdb returns), queries (query/).
 * tsdb is a synchronous library: it never logs, never reads the wall clock
 * for sample logic (callers pass now_ns), and its only threads are the WAL
 * writer it owns and, inside tsdb_open, a second replay thread.
 *
 * Data model (storage-notes 5.1): database -> retention policy ->
 * measurement -> series (measurement + sorted tags) -> typed fields sharing
 * one timestamp column.  A field's type is fixed per (database, retention
 * policy, measurement, field key).  Points are identified by (series,
 * timestamp); writing the same point again merges field sets, and the last
 * write of a field wins.
 *
 * Threads: every function documents where it may run.  In short: one
 * struct tsdb is shared by any number of threads; batches are owned by one
 * thread at a time; commits from several threads share fsyncs (group
 * commit).  On-disk formats: tsdb/FORMAT.md.
 */
#ifndef NJ_TSDB_TSDB_H
#define NJ_TSDB_TSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/sv.h"

struct metrics_registry;
struct tsdb;
struct tsdb_batch;
struct tsdb_snapshot;

/* Retention duration meaning "keep forever" (InfluxDB's INF, shown as 0s by
 * SHOW RETENTION POLICIES).  INT64_MAX (the daemon's CFG_DURATION_INF) is
 * accepted too and normalised to this value. */
#define TSDB_DURATION_INF 0
/* Name of the retention policy created with every database. */
#define TSDB_DEFAULT_RP "autogen"
/* InfluxDB's limit on series keys (and series key + 4 + field key). */
#define TSDB_MAX_KEY_BYTES 65535
#define TSDB_MAX_NAME_BYTES 65535

enum tsdb_type {
    TSDB_FLOAT = 1,
    TSDB_INT = 2,
    TSDB_UINT = 3,
    TSDB_BOOL = 4,
    TSDB_STRING = 5,
};

/* InfluxDB's name of a type as used in error messages: "float", "integer",
 * "unsigned", "boolean", "string".  Any thread. */
const char *tsdb_type_name(enum tsdb_type t);

struct tsdb_tag {
    struct sv key;
    struct sv value;
};

union tsdb_value {
    double f;
    int64_t i;
    uint64_t u;
    bool b;
    struct sv s;
};

struct tsdb_field {
    struct sv key;
    enum tsdb_type type;
    union tsdb_value v;
};

/* One point as a parser produced it: names unescaped, tags in any order. */
struct tsdb_point {
    struct sv measurement;
    const struct tsdb_tag *tags;
    size_t ntags;
    const struct tsdb_field *fields;
    size_t nfields;
    int64_t ts_ns;
};

enum tsdb_fsync_mode {
    /* A commit returns after the fdatasync covering its record. */
    TSDB_FSYNC_ALWAYS = 0,
    /* A commit returns after write(); the WAL thread fdatasyncs every
     * fsync_interval_ns.  A process crash loses nothing; an OS crash or power
     * loss may lose the batches acknowledged in the last interval. */
    TSDB_FSYNC_INTERVAL = 1,
};

/* What recovery cut from the WAL (filled by tsdb_open when opts.report is
 * set).  Paths are relative to the data directory. */
struct tsdb_recovery_report {
    bool truncated;            /* a torn tail (or, with repair, corruption) was cut */
    char file[64];             /* segment that was cut, e.g. "wal/0000000000000003.wal" */
    uint64_t offset;           /* where it was cut */
    uint64_t bytes_dropped;    /* bytes removed from that file and later segments */
    uint32_t segments_removed; /* later segments deleted by repair */
    bool repaired;             /* the cut was made because opts.repair was set */
    char reason[128];          /* "bad checksum", "short record", ... */
    uint64_t segments;         /* segments replayed */
    uint64_t records;          /* records replayed */
    uint64_t bytes;            /* WAL bytes replayed */
    uint64_t points;           /* points applied to the head */
    uint64_t records_skipped;  /* records for databases the catalog no longer has */
    int64_t duration_ns;       /* replay time (monotonic) */
};

/* Replay progress: bytes of WAL read so far out of the total.  Called on the
 * thread running tsdb_open. */
typedef void (*tsdb_progress_cb)(void *arg, uint64_t bytes_done, uint64_t bytes_total);

struct tsdb_opts {
    const char *dir;                  /* data directory, created if missing; borrowed */
    enum tsdb_fsync_mode fsync_mode;  /* default TSDB_FSYNC_ALWAYS */
    int64_t fsync_interval_ns;        /* TSDB_FSYNC_INTERVAL only; default 1 s */
    uint64_t wal_segment_bytes;       /* default 64 MiB */
    uint64_t max_batch_bytes;         /* cap on one encoded batch; default 64 MiB */
    uint32_t wal_compress_min_bytes;  /* zstd -1 records at least this big; 0 = never; default 4096 */
    bool repair;                      /* cut corrupt WAL data instead of refusing to open */
    /* Open for reading only (offline export): the directory must exist, no
     * file is created, truncated or removed, a torn tail is reported but
     * left on disk, and no WAL writer starts: tsdb_batch_new,
     * tsdb_create_database and tsdb_create_retention_policy fail with
     * ERR_IO.  The directory lock is still taken (ERR_BUSY while a daemon
     * holds it).  Not combinable with repair (tsdb_open: ERR_INVAL). */
    bool read_only;
    struct metrics_registry *metrics; /* may be NULL; must outlive the tsdb */
    tsdb_progress_cb progress;        /* may be NULL */
    void *progress_arg;
    struct tsdb_recovery_report *report; /* output of tsdb_open; may be NULL */
    /* Flush thresholds for tsdb_maybe_flush (storage-notes 5.6): flush when
     * the head holds at least flush_head_bytes (default 32 MiB; with many
     * series 8 KiB per series of the index, up to 8 x flush_head_bytes) or the
     * last flush is flush_age_ns old (default 30 min).  With repair set,
     * a part listed in a MANIFEST that fails verification is renamed to
     * <part>.corrupt and dropped from the MANIFEST instead of refusing to
     * open. */
    uint64_t flush_head_bytes;
    int64_t flush_age_ns;
    /* A flush publishes its parts and frees their head rows in steps,
     * each time the series it walked held this many head bytes (0 =
     * the flush threshold / 4, at least 1 MiB), so the head shrinks while it
     * is flushed; each step adds a part per partition it touched. */
    uint64_t flush_step_bytes;
    /* Compaction policy for tsdb_maybe_compact (tsdb/FORMAT.md
     * "Compaction"): merge a run of at least compact_min_parts parts of one
     * level (default 8; at least 2), and merge every part of a partition
     * into one once it is cold: its end is compact_cold_ns in the past, or
     * its part list has not changed for compact_cold_ns (default 2 h).  At
     * most compact_max_inputs parts per merge (default 64; at least 2). */
    uint32_t compact_min_parts;
    int64_t compact_cold_ns;
    uint32_t compact_max_inputs;
};

/* Fills o with the defaults above for directory dir (borrowed). */
void tsdb_opts_init(struct tsdb_opts *o, const char *dir);

/* Opens (creating if needed) the store in o->dir: loads the catalog, then
 * replays the WAL into the index and head.  A torn record at the tail of the
 * last WAL segment is cut and reported in *o->report.  Corruption anywhere
 * else returns ERR_CORRUPT with e naming the file and offset, unless
 * o->repair is set, in which case the WAL is cut there, everything after it
 * is dropped and the cut is reported.  Other errors: ERR_IO (e names the path
 * and errno text), ERR_BUSY (another process holds the directory lock),
 * ERR_NOMEM.  On success *out is the store; free it with tsdb_close.
 * Any thread; the returned store may then be used from any thread. */
int tsdb_open(const struct tsdb_opts *o, struct tsdb **out, struct err *e);

/* Stops the WAL thread (after it writes what is queued), closes files and
 * frees everything; *db becomes NULL.  NULL or *db == NULL is a no-op.  No
 * other thread may use the store or a batch or snapshot of it during or after
 * the call: free those first. */
void tsdb_close(struct tsdb **db);

/* ---- catalog ------------------------------------------------------------ */

struct tsdb_rp_opts {
    struct sv name;            /* empty = TSDB_DEFAULT_RP */
    int64_t duration_ns;       /* TSDB_DURATION_INF or > 0 */
    int64_t shard_duration_ns; /* 0 = InfluxDB's rule from the duration */
    uint32_t replication;      /* kept for display; 0 = 1 */
    bool is_default;
};

struct tsdb_rp_info {
    struct sv name;            /* borrowed for the callback only */
    uint64_t id;               /* also its directory name under db/<db-id>/ */
    int64_t duration_ns;       /* TSDB_DURATION_INF = infinite */
    int64_t shard_duration_ns;
    uint32_t replication;
    bool is_default;
};

struct tsdb_db_info {
    struct sv name;            /* borrowed for the callback only */
    uint64_t id;               /* directory name under db/ */
    size_t nrps;
    const struct tsdb_rp_info *rps; /* borrowed for the callback only */
};

/* Creates database name with one retention policy described by rp (NULL =
 * autogen, infinite, default).  The policy is always the default of the new
 * database.  Durable on return (catalog written to a temporary file, fsynced,
 * renamed, directory fsynced); on-disk directories are named by numeric id,
 * never by name, so any byte string is a valid name.  Returns 0, ERR_EXISTS
 * (database exists; nothing changed), ERR_INVAL (empty name, bad duration),
 * ERR_IO.  Any thread; serialised with other catalog changes. */
int tsdb_create_database(struct tsdb *db, struct sv name, const struct tsdb_rp_opts *rp,
                         struct err *e);

/* Adds a retention policy to database dbname; if rp->is_default it becomes
 * the default.  Returns 0, ERR_NOTFOUND (e: `database not found: "x"`),
 * ERR_EXISTS, ERR_INVAL, ERR_IO.  Any thread. */
int tsdb_create_retention_policy(struct tsdb *db, struct sv dbname, const struct tsdb_rp_opts *rp,
                                 struct err *e);

/* Drops database name with all its policies, or policy rpname of dbname.
 * Returns 0 when the target does not exist (as InfluxDB 1.6 does).  On
 * return the catalog without it is durable, queries and writes no longer
 * find it, its head rows are freed and its directory is gone (renamed to
 * .trash-<id>, parent fsynced, then unlinked; a crash in between is
 * finished at the next open).  WAL records written for it before the drop
 * are skipped by replay (ids are never reused).  Dropping the default
 * policy leaves the database without a default.  Errors: ERR_IO (if it came
 * after the catalog write the drop stands; leftovers are removed at the
 * next open).  Any thread; waits for a running flush or retention pass. */
int tsdb_drop_database(struct tsdb *db, struct sv name, struct err *e);
int tsdb_drop_retention_policy(struct tsdb *db, struct sv dbname, struct sv rpname,
                               struct err *e);

/* What ALTER RETENTION POLICY changes; fields without has_* stay. */
struct tsdb_rp_alter {
    bool has_duration, has_shard, has_replication;
    int64_t duration_ns;       /* TSDB_DURATION_INF (0) or INT64_MAX = infinite */
    int64_t shard_duration_ns; /* 0 = InfluxDB's default for the duration */
    uint32_t replication;
    bool is_default;           /* true: becomes the default (false changes nothing) */
};

/* Changes policy rpname of dbname.  A new duration applies to the next
 * retention pass; a new shard duration to partitions created afterwards.
 * Returns 0, ERR_NOTFOUND (e: `database not found: "x"` or `retention
 * policy not found: x`), ERR_INVAL (`retention policy duration must be
 * greater than the shard duration`: the resulting shard duration exceeds
 * a finite duration), ERR_IO (in-memory catalog unchanged).  Any thread. */
int tsdb_alter_retention_policy(struct tsdb *db, struct sv dbname, struct sv rpname,
                                const struct tsdb_rp_alter *a, struct err *e);

typedef int (*tsdb_db_cb)(void *arg, const struct tsdb_db_info *d);
/* Calls cb for each database in creation order (InfluxDB's SHOW DATABASES
 * order) with the catalog lock held: cb must not call catalog functions.
 * A nonzero return from cb stops the walk and is returned.  Any thread. */
int tsdb_list_databases(struct tsdb *db, tsdb_db_cb cb, void *arg);

/* Looks up retention policy rpname (empty = the default) of dbname and copies
 * its numbers into *out (out->name is cleared: names are only lent by
 * tsdb_list_databases).  Returns 0 or ERR_NOTFOUND with e set to InfluxDB's
 * texts `database not found: "x"` or `retention policy not found: x`.  Any
 * thread. */
int tsdb_find_rp(struct tsdb *db, struct sv dbname, struct sv rpname, struct tsdb_rp_info *out,
                 struct err *e);

/* ---- writing -------------------------------------------------------------- */

struct tsdb_batch_stats {
    size_t points;            /* points accepted into the batch */
    size_t values;            /* field values accepted */
    size_t dropped_retention; /* older than now - duration */
    size_t dropped_type;      /* field type conflicts */
    size_t dropped_invalid;   /* "time" keys, oversized keys, bad input */
    size_t series_created;    /* series this batch added to the index */
};

/* Starts a batch for dbname / rpname (empty = the database's default
 * policy).  now_ns is the caller's wall clock, used only for the retention
 * check.  Returns 0 with *out set (free with tsdb_batch_free), ERR_NOTFOUND
 * (e: `database not found: "x"` or `retention policy not found: x`),
 * ERR_IO (the WAL is in its failed state).  Any thread. */
int tsdb_batch_new(struct tsdb *db, struct sv dbname, struct sv rpname, int64_t now_ns,
                   struct tsdb_batch **out, struct err *e);

/* Adds one point.  ref may be NULL; else *ref is 0 or a series reference an
 * earlier tsdb_batch_add returned for a point with the same measurement and
 * tags (in any order), and is set to the point's series reference on
 * success.  A reference is opaque (not the series id); one from another
 * store (another database or policy, or one dropped and created again) or
 * of a series removed since is ignored.  A reference of this store is
 * trusted: the tags are neither sorted nor checked and the key is not
 * built, so passing one for other tags writes into the wrong series (debug
 * builds assert against that).  p and its views are borrowed
 * for this call only: the batch copies what it keeps.  A point is accepted or
 * rejected as a whole; on rejection the batch stays usable:
 *  - ERR_TYPE: a field's type differs from the stored type or from the type
 *    an earlier point of this or a concurrent batch fixed (the first
 *    occurrence wins, as InfluxDB does once its shard exists).  e->msg is
 *    InfluxDB's text: `field type conflict: input field "f" on measurement
 *    "m" is type integer, already exists as type float`.  (Observed on 1.6:
 *    when the request is the first write into a new shard, 1.6 instead
 *    fails the whole request with `field type conflict`; a caller that wants
 *    that can free the batch instead of committing it after an ERR_TYPE.)
 *  - ERR_LIMIT: older than the retention window; e->msg `points beyond
 *    retention policy`.  Or a key longer than 65535 bytes: `max key length
 *    exceeded: N > 65535`.
 *  - ERR_INVAL: `invalid field name: input field "time" on measurement "m"
 *    is invalid` (a field named time is dropped; this only when it was the
 *    only field), `invalid tag key: input tag "time" on measurement "m" is
 *    invalid`, empty names, duplicate tag keys, no fields.
 *  - ERR_NOMEM: the batch is full (max_batch_bytes); the point was not
 *    added: commit this batch and add the point to a new one.
 * The two ERR_LIMIT causes differ in tsdb_batch_stats (dropped_retention
 * vs dropped_invalid) as well as in e->msg.
 * New series and field types are entered into the index immediately (as in
 * InfluxDB), so they are listable before the batch commits.  The batch is
 * owned by one thread at a time; different batches may be filled
 * concurrently from any threads. */
int tsdb_batch_add(struct tsdb_batch *b, uint64_t *ref, const struct tsdb_point *p,
                   struct err *e);

/* Counters for the points added so far.  Same thread as the batch. */
void tsdb_batch_stats(const struct tsdb_batch *b, struct tsdb_batch_stats *out);

/* Writes the batch as one WAL record, waits until it is durable (see
 * tsdb_fsync_mode) and then applies it to the head, so a snapshot sees all
 * of the batch or none of it.  An empty batch commits trivially.  Returns 0;
 * ERR_IO when the write or fsync failed: the batch is not acknowledged, and
 * the WAL is now failed, so every later commit returns ERR_IO too until the
 * store is closed and reopened (no retry after a failed fsync); ERR_LIMIT
 * (record too large).  A batch commits at most once; after commit (success
 * or not) only tsdb_batch_free is allowed.  Blocks; run it on a worker thread,
 * never on an event loop.  Any thread; concurrent commits share fsyncs. */
int tsdb_batch_commit(struct tsdb_batch *b, struct err *e);

/* Frees the batch; *b becomes NULL.  NULL is a no-op.  An uncommitted batch
 * is discarded (series it created stay in the index, empty). */
void tsdb_batch_free(struct tsdb_batch **b);

/* ---- reading -------------------------------------------------------------- */

/* A consistent view of the head: it contains exactly the batches whose
 * commits completed before tsdb_snapshot_new (and never part of a batch).
 * Writers keep running while a snapshot is read: each series is copied out
 * under a short per-series lock.  Caveat: a row that a later batch rewrote
 * (same series and timestamp) is hidden from older snapshots until they are
 * renewed.  Never NULL (aborts on OOM, like every small allocation).  Any
 * thread; free with tsdb_snapshot_free before tsdb_close. */
struct tsdb_snapshot *tsdb_snapshot_new(struct tsdb *db);
void tsdb_snapshot_free(struct tsdb_snapshot **s);

struct tsdb_series_info {
    uint64_t id;
    struct sv key;         /* InfluxDB escaped series key: cpu,host=a,region=us */
    struct sv measurement; /* unescaped */
    size_t ntags;
    const struct tsdb_tag *tags; /* sorted by key, unescaped */
};

/* One field's points, sorted by time.  All arrays borrowed for the callback. */
struct tsdb_field_points {
    struct sv key;
    enum tsdb_type type;
    size_t n;
    const int64_t *ts_ns;
    const union tsdb_value *values;
};

/* Per series: return 0 to go on, anything else stops the scan (returned). */
typedef int (*tsdb_series_cb)(void *arg, const struct tsdb_series_info *s, size_t nfields,
                              const struct tsdb_field_points *fields);

/* Visits the series of dbname/rpname (empty rp = default) in id order,
 * restricted to measurement (empty = all), with each field's points in
 * [min_ts, max_ts].  Series with no point in the range are skipped.  Returns
 * 0, ERR_NOTFOUND (e set), or the callback's value.  Any thread. */
int tsdb_snapshot_scan(struct tsdb_snapshot *s, struct sv dbname, struct sv rpname,
                       struct sv measurement, int64_t min_ts, int64_t max_ts, tsdb_series_cb cb,
                       void *arg, struct err *e);

typedef int (*tsdb_name_cb)(void *arg, struct sv name);
typedef int (*tsdb_field_cb)(void *arg, struct sv key, enum tsdb_type type);

/* Index listings for one retention policy (empty rp = default), each sorted
 * by byte order.  Names are borrowed for the callback only; a nonzero return
 * stops the walk and is returned.  The callback runs with the index's read
 * lock held and must not call tsdb functions.  Returns ERR_NOTFOUND (e set)
 * for an unknown database, policy or measurement.  Any thread. */
int tsdb_list_measurements(struct tsdb *db, struct sv dbname, struct sv rpname, tsdb_name_cb cb,
                           void *arg, struct err *e);
int tsdb_list_tag_keys(struct tsdb *db, struct sv dbname, struct sv rpname, struct sv measurement,
                       tsdb_name_cb cb, void *arg, struct err *e);
int tsdb_list_tag_values(struct tsdb *db, struct sv dbname, struct sv rpname,
                         struct sv measurement, struct sv tag_key, tsdb_name_cb cb, void *arg,
                         struct err *e);
int tsdb_list_fields(struct tsdb *db, struct sv dbname, struct sv rpname, struct sv measurement,
                     tsdb_field_cb cb, void *arg, struct err *e);

/* Series ids of measurement with tag key = value, ascending.  *ids is a
 * malloc'd array the caller frees (NULL when *n is 0).  Returns 0 (empty
 * when nothing matches) or ERR_NOTFOUND for an unknown database or policy.
 * Any thread. */
int tsdb_postings(struct tsdb *db, struct sv dbname, struct sv rpname, struct sv measurement,
                  struct sv tag_key, struct sv tag_value, uint64_t **ids, size_t *n,
                  struct err *e);

/* Summary of one field in one stored block (up to 2,048 rows), read from
 * the block header without decompressing anything.  min, max, sum, first
 * and last are set for float, integer and unsigned fields only (float
 * min/max/sum leave NaN out; nan_count says how many); sum is unusable when
 * is_sum_overflow. */
struct tsdb_summary {
    int64_t min_ts, max_ts; /* the block's first and last row */
    uint32_t count;         /* values of the field in the block */
    uint32_t nan_count;
    enum tsdb_type type;
    bool has_stats;
    bool is_sum_overflow;
    union tsdb_value min, max, sum, first, last;
};
typedef int (*tsdb_summary_cb)(void *arg, const struct tsdb_summary *s);

/* What a tsdb_summary_cb returns to have that block decoded instead: its
 * points then reach on_points with the rest (the summary is not used). */
#define TSDB_SUMMARY_DECODE 1

/* Summary read path for aggregates over a time bucket [min_ts, max_ts]:
 * for series series_id of dbname/rpname and field key field, visits the
 * field's data in the bucket piece by piece in ascending time order.  A
 * piece is a stored block that no other data of the field overlaps (other
 * blocks, other parts, the head), or a run of overlapping blocks and head
 * rows.  A lone block that lies wholly inside the bucket goes to on_summary
 * with no decoding (unless on_summary returns TSDB_SUMMARY_DECODE for it;
 * any other nonzero value stops); every other piece reaches on_points
 * decoded, clipped to the bucket, merged, sorted and de-duplicated as
 * tsdb_snapshot_scan returns them (one field, nfields 1).  on_points may
 * be called several times; every point of a call, and every block of an
 * on_summary call, is later than all points seen in earlier calls.
 * Together the calls cover every point of the field in the bucket exactly
 * once.  Returns 0, ERR_NOTFOUND (unknown database, policy or series; e
 * set), ERR_CORRUPT (a block does not decode; e names the part and
 * offset), or a callback's nonzero value.  Any thread. */
int tsdb_snapshot_summaries(struct tsdb_snapshot *s, struct sv dbname, struct sv rpname,
                            uint64_t series_id, struct sv field, int64_t min_ts, int64_t max_ts,
                            tsdb_summary_cb on_summary, tsdb_series_cb on_points, void *arg,
                            struct err *e);

/* A reader keeps the decoder contexts and buffers of tsdb_snapshot_summaries
 * between calls, so a query reading many series allocates them once.  It
 * borrows the snapshot (free the reader first) and is used by one thread at
 * a time; one reader per thread when several threads read one snapshot. */
struct tsdb_reader;
struct tsdb_reader *tsdb_reader_new(struct tsdb_snapshot *s);
void tsdb_reader_free(struct tsdb_reader **r);
/* tsdb_snapshot_summaries through r's buffers (same contract). */
int tsdb_reader_summaries(struct tsdb_reader *r, struct sv dbname, struct sv rpname,
                          uint64_t series_id, struct sv field, int64_t min_ts, int64_t max_ts,
                          tsdb_summary_cb on_summary, tsdb_series_cb on_points, void *arg,
                          struct err *e);

/* Per series of the listing below.  info is borrowed for the call; return 0
 * to go on, anything else stops the walk (returned). */
typedef int (*tsdb_series_info_cb)(void *arg, const struct tsdb_series_info *info);

/* Lists the series of measurement in dbname/rpname (empty rp = default) in
 * id order, without reading any point: the series the index holds when the
 * call starts (series with no point in the snapshot are listed too; reads of
 * them return nothing).  For readers that choose per series what to read
 * (tsdb_snapshot_summaries).  Returns 0 (nothing for an unknown
 * measurement), ERR_NOTFOUND (database or policy; e set) or the callback's
 * value.  No lock is held during the callback.  Any thread. */
int tsdb_snapshot_series(struct tsdb_snapshot *s, struct sv dbname, struct sv rpname,
                         struct sv measurement, tsdb_series_info_cb cb, void *arg,
                         struct err *e);

/* tsdb_snapshot_series for the series ids[0..n) of measurement (as
 * tsdb_postings returns them): ids that are not series of the measurement
 * are skipped.  *total gets the number of series of the measurement.
 * Returns 0, ERR_NOTFOUND (database or policy; e set) or the callback's
 * value.  No lock is held during the callback.  Any thread. */
int tsdb_snapshot_series_of(struct tsdb_snapshot *s, struct sv dbname, struct sv rpname,
                            struct sv measurement, const uint64_t *ids, size_t n,
                            size_t *total, tsdb_series_info_cb cb, void *arg, struct err *e);

/* ---- storage at rest ------------------------------------------------------- */

/* Writes every head row not yet on disk into immutable part files of its
 * partition (db/<db-id>/<rp-id>/<start>/, the policy's shard duration),
 * publishes them in the partitions' MANIFESTs, advances the checkpoint (the
 * WAL LSN below which replay is no longer needed), then drops the flushed
 * rows from the head once no older snapshot needs them and deletes WAL
 * segments wholly below the checkpoint.  Snapshots taken before, during and
 * after see every point exactly once.  Returns 0 or ERR_IO (e names the
 * file); after a failure the head keeps every row and the store stays
 * consistent on disk.  The head is streamed to the part files a piece of
 * one series at a time, so the flush's own memory does not grow with the
 * head; commits pause only while the applied watermark is noted (each
 * series' writers wait while a piece of it is copied).  Blocks on disk
 * I/O: run it on a worker, never on an event loop.  Any thread; one flush
 * or retention pass runs at a time. */
int tsdb_flush(struct tsdb *db, struct err *e);

/* Calls tsdb_flush when the head reached opts.flush_head_bytes or the last
 * flush (or open) is opts.flush_age_ns before now_ns (the caller's wall or
 * monotonic clock, the same on every call).  Returns 0 when nothing was due.
 * Same thread rules as tsdb_flush. */
int tsdb_maybe_flush(struct tsdb *db, int64_t now_ns, struct err *e);

/* Whether the head holds at least opts.flush_head_bytes (raised with the
 * series count as tsdb_opts says): a few atomic loads,
 * cheap enough for an event-loop timer that polls it between the
 * housekeeping passes (a fast writer fills the head in seconds).  Any
 * thread. */
bool tsdb_head_is_full(struct tsdb *db);

/* Drops whole partitions whose newest possible point is older than now_ns
 * minus their policy's duration: removed from the list new snapshots see,
 * renamed to .trash-<start>, the parent fsynced, then unlinked (open
 * finishes an interrupted delete).  Rows still in the head are not touched
 * (they are dropped at write time and by the next flush's partition).
 * Returns 0 or ERR_IO.  Blocks; any thread; the daemon calls it hourly on
 * its injectable clock. */
int tsdb_enforce_retention(struct tsdb *db, int64_t now_ns, struct err *e);

/* Totals since open, for logs and metrics.  Any thread. */
struct tsdb_storage_stats {
    uint64_t flushes;      /* tsdb_flush calls that published */
    uint64_t flush_parts;  /* part files they wrote */
    uint64_t flush_bytes;  /* bytes of those part files */
    uint64_t flush_rows;   /* rows in those part files */
};
void tsdb_storage_stats(struct tsdb *db, struct tsdb_storage_stats *out);

/* What one tsdb_maybe_compact call did.  The merge fields (partition ..
 * rows) describe the merge this call started, continued, finished or
 * abandoned. */
struct tsdb_compact_result {
    bool is_running;      /* a merge is in progress: call again to continue it */
    bool has_started;     /* this call chose and began a merge */
    bool has_finished;    /* this call published a merge */
    bool was_discarded;   /* finished, but its inputs were changed meanwhile (a drop,
                             retention, a rewrite): the output was deleted */
    bool has_merge;       /* the merge fields below are set */
    char partition[96];   /* "db/<db-id>/<rp-id>/<start>" */
    uint32_t inputs;      /* parts being merged */
    uint32_t level;       /* level of the output part */
    uint64_t bytes_in;    /* bytes read from the inputs so far (blocks, verification) */
    uint64_t bytes_out;   /* bytes written to the output so far */
    uint64_t rows_out;    /* rows written so far */
    uint64_t slice_bytes; /* bytes read plus written by this call */
    size_t backlog;       /* partitions with a merge due, not counting a running one */
    size_t parts;         /* live parts in the store */
};

/* One slice of compaction (tsdb/FORMAT.md "Compaction").  With no merge in
 * progress and may_start set, picks the first partition whose parts are
 * due under the policy of tsdb_opts (now_ns is the caller's wall clock, the
 * same one as for retention) and starts merging it; then continues the
 * merge in progress until about max_bytes have been read plus written
 * (at least one output block; 0 = no limit), and publishes it when done:
 * output written to a temporary file, fsynced, renamed, directory fsynced,
 * MANIFEST replaced, inputs deleted.  The merge is a streaming k-way merge
 * by series and time holding one decoded block per input; duplicates
 * (same series, time and field) keep the value of the part with the
 * higher seq, as reads do.  Snapshots see every point exactly once before,
 * during and after; a crash at any step leaves the old or the new part
 * list.  Fills *r (required).  Returns 0 (also when nothing was due), or
 * ERR_IO / ERR_CORRUPT / ERR_NOMEM with e naming the file: the merge is
 * abandoned (its output deleted, the inputs stay) and r describes it.
 * Blocks on disk I/O: run it on a worker.  Any thread; one call runs at a
 * time (others wait), so at most one merge is ever in flight per store. */
int tsdb_maybe_compact(struct tsdb *db, int64_t now_ns, uint64_t max_bytes, bool may_start,
                       struct tsdb_compact_result *r, struct err *e);

/* ---- deleting -------------------------------------------------------------- */

/* Decides whether series s (measurement and tags; key and id too) of the
 * retention policy with id rp_id is one a delete applies to: returns 1 (it
 * is), 0 (it is not) or a negative error code, which stops the delete
 * before anything changed (the callback reports its own message).  Called
 * for every series of every store in scope before any change, with the
 * store's index lock held: it must not call tsdb functions.  s is borrowed
 * for the call. */
typedef int (*tsdb_delete_match_cb)(void *arg, uint64_t rp_id, const struct tsdb_series_info *s);

struct tsdb_delete_req {
    struct sv dbname;
    struct sv rpname;       /* empty: every retention policy of the database */
    tsdb_delete_match_cb match; /* required */
    void *arg;
    int64_t min_ts, max_ts; /* rows with min_ts <= time <= max_ts go */
    /* true (DROP SERIES, DROP MEASUREMENT): matched series leave the index
     * whatever the time range.  false (DELETE): a matched series leaves the
     * index only when no row of it is left (influxd 1.6 does the same). */
    bool drop_series;
    /* DROP MEASUREMENT: a measurement left without series also loses its
     * field types (otherwise it keeps them, hidden from listings, and a
     * write of another type conflicts, as in influxd 1.6). */
    bool drop_measurement;
};

struct tsdb_delete_stats {
    uint64_t series_matched;  /* series the callback selected */
    uint64_t series_removed;  /* of those, taken out of the index */
    uint64_t rows_deleted;    /* stored rows removed from parts */
    uint64_t parts_rewritten; /* part files replaced (or removed when emptied) */
};

/* DELETE, DROP SERIES, DROP MEASUREMENT (see req).  First flushes the head,
 * so every acknowledged row is in parts and the checkpoint lies past them;
 * then, holding the flush lock (flush, retention and compaction publication
 * wait), rewrites each part holding matched rows in the range without them
 * (new part files published through the MANIFESTs as a flush publishes),
 * writes the series table without the removed series, and takes them out
 * of the index: SHOW SERIES / MEASUREMENTS / TAG KEYS / TAG VALUES / FIELD
 * KEYS stop listing them, a measurement left without series is listed no
 * more (and forgets its field types with drop_measurement), and writing
 * the same key again creates a new series.
 * Rows committed while the delete runs count as written after it, except
 * rows of a series the delete removes (written "before"; replay agrees).
 * Snapshots taken before the rewrite is published read the old parts.
 * out may be NULL.  Returns 0, a negative value of the callback,
 * ERR_NOTFOUND (`database not found: x`),
 * ERR_IO (e names the file; what was published before the failure stands,
 * the rest is unchanged, and the store stays consistent on disk and in
 * memory), ERR_CORRUPT (a part block does not decode).  Blocks on disk I/O:
 * run it on a worker.  Any thread. */
int tsdb_delete(struct tsdb *db, const struct tsdb_delete_req *req, struct tsdb_delete_stats *out,
                struct err *e);

/* ---- testing -------------------------------------------------------------- */

enum tsdb_fault_op {
    TSDB_FAULT_WRITE = 0, /* write(2)/pwrite(2) */
    TSDB_FAULT_FSYNC = 1, /* fsync(2)/fdatasync(2), files and directories */
    TSDB_FAULT_RENAME = 2,
    TSDB_FAULT_OPEN = 3,  /* open(2) and mkdir(2) */
    TSDB_FAULT_NOPS
};

/* Fault injection (SQLite's ioerr tests): the nth next call (1 = the next
 * one) of op made by this store fails with EIO; persistent makes every call
 * after it fail too.  nth 0 disarms.  Counts are per store.  Any thread. */
void tsdb_fault_arm(struct tsdb *db, enum tsdb_fault_op op, uint64_t nth, bool persistent);

/* Whether the WAL is in its failed state (every commit returns ERR_IO).
 * Any thread. */
bool tsdb_is_failed(struct tsdb *db);

#endif
