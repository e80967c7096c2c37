// SPDX-License-Identifier: MIT
/*
 * Private declarations shared by the write engine's files (write_*.c).
 *
 * The series cache maps the bytes "db \0 rp \0 raw series key" (the key as
 * the client wrote it: measurement and tags in written order, still escaped)
 * to the tsdb series id last returned for it.  The id is only a hint for
 * tsdb_batch_add, which checks it against the canonical key, so a stale entry
 * (a dropped series, a changed default policy) costs a lookup, never a wrong
 * write.  Sharded by hash, one mutex per shard; each shard is bounded in
 * bytes and simply emptied when it overflows (series churn is rare; the cache
 * refills from the next writes).  Slot layout: write_cache.c.
 */
#ifndef NJ_INGEST_WRITE_INT_H
#define NJ_INGEST_WRITE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hash.h"
#include "common/sv.h"

#define ING__CACHE_SHARDS 16

struct ing__cache_slot; /* write_cache.c */

struct ing__cache_shard {
    pthread_mutex_t mu;
    struct ing__cache_slot *slots; /* cap slots, cap a power of two or 0 */
    size_t cap, count;
    size_t bytes; /* slots plus out-of-line keys, against the budget */
    /* slots and cap - 1, republished under mu whenever they change, for
     * ing__cache_prefetch to read without the lock (a torn or stale pair
     * only prefetches a useless address). */
    _Atomic(struct ing__cache_slot *) pf_slots;
    _Atomic size_t pf_mask;
};

struct ing__series_cache {
    struct ing__cache_shard shards[ING__CACHE_SHARDS];
    size_t max_bytes_per_shard;
};

/* max_bytes: the whole cache's budget (keys + overhead). */
void ing__cache_init(struct ing__series_cache *c, size_t max_bytes);
void ing__cache_fini(struct ing__series_cache *c);
/* Looks key (hash h = hash_sv(key)) up; true with *ref set on a hit.  Any
 * thread. */
bool ing__cache_get(struct ing__series_cache *c, struct sv key, uint64_t h, uint64_t *ref);
/* Starts loading the slot where hash h would be, without locking, so that
 * a lookup of it a little later (the next line parsed) finds it in cache.
 * Any thread. */
void ing__cache_prefetch(struct ing__series_cache *c, uint64_t h);
/* Records key -> ref (copies key).  Any thread. */
void ing__cache_put(struct ing__series_cache *c, struct sv key, uint64_t h, uint64_t ref);
/* Number of entries (for tests).  Any thread. */
size_t ing__cache_count(struct ing__series_cache *c);

#endif
