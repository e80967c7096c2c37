// SPDX-License-Identifier: MIT
/*
 * The write engine's series cache: raw series-key bytes -> tsdb series id
 * (see write_int.h for what is cached and why a stale entry is harmless).
 */
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "ingest/write_int.h"

struct entry {
    uint64_t ref;
    size_t n;
    char key[];
};

/* Per-entry overhead counted against the budget: the entry header plus the
 * table slot (about two slots per entry at the table's load factor). */
#define ENTRY_OVERHEAD (sizeof(struct entry) + 2 * sizeof(struct htab_entry))

void ing__cache_init(struct ing__series_cache *c, size_t max_bytes)
{
    for (size_t i = 0; i < ING__CACHE_SHARDS; i++) {
        pthread_mutex_init(&c->shards[i].mu, NULL);
        htab_init(&c->shards[i].t);
        c->shards[i].bytes = 0;
    }
    c->max_bytes_per_shard = max_bytes / ING__CACHE_SHARDS;
    if (c->max_bytes_per_shard < 4096)
        c->max_bytes_per_shard = 4096;
}

static void shard_clear(struct ing__cache_shard *s)
{
    const struct htab_entry *he;
    for (size_t it = 0; htab_next(&s->t, &it, &he);)
        free(he->val);
    htab_fini(&s->t);
    htab_init(&s->t);
    s->bytes = 0;
}

void ing__cache_fini(struct ing__series_cache *c)
{
    for (size_t i = 0; i < ING__CACHE_SHARDS; i++) {
        shard_clear(&c->shards[i]);
        htab_fini(&c->shards[i].t);
        pthread_mutex_destroy(&c->shards[i].mu);
    }
}

static struct ing__cache_shard *shard_of(struct ing__series_cache *c, uint64_t h)
{
    return &c->shards[(h >> 59) % ING__CACHE_SHARDS];
}

bool ing__cache_get(struct ing__series_cache *c, struct sv key, uint64_t h, uint64_t *ref)
{
    struct ing__cache_shard *s = shard_of(c, h);
    pthread_mutex_lock(&s->mu);
    struct entry *en = htab_find_h(&s->t, key, h);
    if (en)
        *ref = en->ref;
    pthread_mutex_unlock(&s->mu);
    return en != NULL;
}

void ing__cache_put(struct ing__series_cache *c, struct sv key, uint64_t h, uint64_t ref)
{
    size_t cost = key.n + ENTRY_OVERHEAD;
    if (cost > c->max_bytes_per_shard / 4)
        return; /* a huge key would flush the shard for one entry */
    struct ing__cache_shard *s = shard_of(c, h);
    pthread_mutex_lock(&s->mu);
    struct entry *en = htab_find_h(&s->t, key, h);
    if (en) {
        en->ref = ref;
    } else {
        if (s->bytes + cost > c->max_bytes_per_shard)
            shard_clear(s);
        en = xmalloc(sizeof *en + key.n);
        en->ref = ref;
        en->n = key.n;
        memcpy(en->key, key.p, key.n);
        htab_put_h(&s->t, sv_make(en->key, en->n), h, en);
        s->bytes += cost;
    }
    pthread_mutex_unlock(&s->mu);
}

size_t ing__cache_count(struct ing__series_cache *c)
{
    size_t n = 0;
    for (size_t i = 0; i < ING__CACHE_SHARDS; i++) {
        pthread_mutex_lock(&c->shards[i].mu);
        n += c->shards[i].t.count;
        pthread_mutex_unlock(&c->shards[i].mu);
    }
    return n;
}
