// SPDX-License-Identifier: MIT
/*
 * The write engine's series cache: raw series-key bytes -> tsdb series id
 * (see write_int.h for what is cached and why a stale entry is harmless).
 *
 * Layout: per shard, one open-addressing table (linear probing) of
 * 128-byte slots, aligned to 128 bytes, each holding the full 64-bit hash,
 * the id and the key itself when it fits (INLINE_KEY bytes: "db\0rp\0"
 * plus every key of the ops and most of the devops reference sets' kind of
 * measurement and two or three tags), else a pointer to a copy.  A hit on
 * such a key touches one aligned pair of cache lines, which the hardware
 * fetches together; the key is compared in the same pair.  The first
 * layout (a generic table slot pointing at a separately allocated entry)
 * touched three lines, and during ingest the head's writes keep evicting
 * them; 64-byte slots of 16-byte alignment with 44 inline bytes still
 * straddled two lines in three slots of four and kept 92 % of the ops
 * set's keys (48-55 bytes with the prefix) out of line, one more miss on
 * each compare.
 */
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "ingest/write_int.h"

#define INLINE_KEY 108
#define SLOT_BYTES 128

struct ing__cache_slot {
    uint64_t hash; /* 0 = empty (real hashes are made non-zero) */
    uint64_t ref;
    uint32_t n;
    char key[INLINE_KEY]; /* the key, or (n > INLINE_KEY) a char * to a copy */
};

_Static_assert(sizeof(struct ing__cache_slot) == SLOT_BYTES, "a slot is two cache lines");

static uint64_t fix(uint64_t h)
{
    return h ? h : 1;
}

static const char *slot_key(const struct ing__cache_slot *s)
{
    if (s->n <= INLINE_KEY)
        return s->key;
    char *p;
    memcpy(&p, s->key, sizeof p);
    return p;
}

/* Bytes a key costs beyond its slot. */
static size_t ext_cost(size_t n)
{
    return n <= INLINE_KEY ? 0 : n + 16;
}

void ing__cache_init(struct ing__series_cache *c, size_t max_bytes)
{
    for (size_t i = 0; i < ING__CACHE_SHARDS; i++) {
        struct ing__cache_shard *s = &c->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        s->slots = NULL;
        s->cap = s->count = s->bytes = 0;
        atomic_init(&s->pf_slots, NULL);
        atomic_init(&s->pf_mask, 0);
    }
    c->max_bytes_per_shard = max_bytes / ING__CACHE_SHARDS;
    if (c->max_bytes_per_shard < 4096)
        c->max_bytes_per_shard = 4096;
}

/* mu held: publishes slots and cap for ing__cache_prefetch. */
static void publish(struct ing__cache_shard *s)
{
    atomic_store_explicit(&s->pf_slots, s->slots, memory_order_relaxed);
    atomic_store_explicit(&s->pf_mask, s->cap ? s->cap - 1 : 0, memory_order_relaxed);
}

static void shard_clear(struct ing__cache_shard *s)
{
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].hash && s->slots[i].n > INLINE_KEY)
            free((void *)slot_key(&s->slots[i]));
    free(s->slots);
    s->slots = NULL;
    s->cap = s->count = s->bytes = 0;
    publish(s);
}

void ing__cache_fini(struct ing__series_cache *c)
{
    for (size_t i = 0; i < ING__CACHE_SHARDS; i++) {
        shard_clear(&c->shards[i]);
        pthread_mutex_destroy(&c->shards[i].mu);
    }
}

static struct ing__cache_shard *shard_of(struct ing__series_cache *c, uint64_t h)
{
    return &c->shards[(h >> 59) % ING__CACHE_SHARDS];
}

/* The slot holding key, or the empty slot where it would go (cap > 0). */
static struct ing__cache_slot *probe(const struct ing__cache_shard *s, struct sv key, uint64_t h)
{
    size_t mask = s->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct ing__cache_slot *sl = &s->slots[i];
        if (!sl->hash)
            return sl;
        if (sl->hash == h && sl->n == key.n && memcmp(slot_key(sl), key.p, key.n) == 0)
            return sl;
    }
}

bool ing__cache_get(struct ing__series_cache *c, struct sv key, uint64_t h, uint64_t *ref)
{
    h = fix(h);
    struct ing__cache_shard *s = shard_of(c, h);
    bool is_hit = false;
    pthread_mutex_lock(&s->mu);
    if (s->cap) {
        const struct ing__cache_slot *sl = probe(s, key, h);
        if (sl->hash) {
            *ref = sl->ref;
            is_hit = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return is_hit;
}

void ing__cache_prefetch(struct ing__series_cache *c, uint64_t h)
{
    h = fix(h);
    struct ing__cache_shard *s = shard_of(c, h);
    const struct ing__cache_slot *slots =
        atomic_load_explicit(&s->pf_slots, memory_order_relaxed);
    size_t mask = atomic_load_explicit(&s->pf_mask, memory_order_relaxed);
    if (slots) {
        const char *p = (const char *)&slots[h & mask];
        __builtin_prefetch(p);
        __builtin_prefetch(p + 64);
    }
}

/* Doubles the table (or makes the first one); false if that would pass
 * the shard's budget. */
static bool grow(struct ing__cache_shard *s, size_t max_bytes)
{
    size_t ncap = s->cap ? s->cap * 2 : 64;
    size_t nbytes = s->bytes + (ncap - s->cap) * sizeof *s->slots;
    if (s->cap && nbytes > max_bytes)
        return false;
    /* Aligned to the slot size (malloc aligns to 16 bytes), so a slot is
     * one aligned pair of cache lines. */
    struct ing__cache_slot *ns = aligned_alloc(SLOT_BYTES, ncap * sizeof *ns);
    if (!ns)
        abort(); /* as xcalloc does: the table is bounded by max_bytes */
    memset(ns, 0, ncap * sizeof *ns);
    for (size_t i = 0; i < s->cap; i++) {
        const struct ing__cache_slot *o = &s->slots[i];
        if (!o->hash)
            continue;
        size_t j = o->hash & (ncap - 1);
        while (ns[j].hash)
            j = (j + 1) & (ncap - 1);
        ns[j] = *o;
    }
    free(s->slots);
    s->slots = ns;
    s->cap = ncap;
    s->bytes = nbytes;
    publish(s);
    return true;
}

void ing__cache_put(struct ing__series_cache *c, struct sv key, uint64_t h, uint64_t ref)
{
    size_t cost = ext_cost(key.n);
    if (key.n > UINT32_MAX || cost > c->max_bytes_per_shard / 4)
        return; /* a huge key would flush the shard for one entry */
    h = fix(h);
    struct ing__cache_shard *s = shard_of(c, h);
    pthread_mutex_lock(&s->mu);
    struct ing__cache_slot *sl = s->cap ? probe(s, key, h) : NULL;
    if (sl && sl->hash) {
        sl->ref = ref;
        pthread_mutex_unlock(&s->mu);
        return;
    }
    /* Full (load 3/4) or over budget: grow, or when growing would pass the
     * budget, empty the shard and start again (series churn is rare; the
     * cache refills from the next writes). */
    if (!s->cap || (s->count + 1) * 4 > s->cap * 3 || s->bytes + cost > c->max_bytes_per_shard) {
        if (s->bytes + cost > c->max_bytes_per_shard || !grow(s, c->max_bytes_per_shard)) {
            shard_clear(s);
            (void)grow(s, c->max_bytes_per_shard);
        }
        sl = probe(s, key, h);
    }
    sl->hash = h;
    sl->ref = ref;
    sl->n = (uint32_t)key.n;
    if (key.n <= INLINE_KEY) {
        memcpy(sl->key, key.p, key.n);
    } else {
        char *p = xmalloc(key.n);
        memcpy(p, key.p, key.n);
        memcpy(sl->key, &p, sizeof p);
    }
    s->count++;
    s->bytes += cost;
    pthread_mutex_unlock(&s->mu);
}

size_t ing__cache_count(struct ing__series_cache *c)
{
    size_t n = 0;
    for (size_t i = 0; i < ING__CACHE_SHARDS; i++) {
        pthread_mutex_lock(&c->shards[i].mu);
        n += c->shards[i].count;
        pthread_mutex_unlock(&c->shards[i].mu);
    }
    return n;
}
