// SPDX-License-Identifier: MIT
/*
 * xxHash3 wrappers and a linear-probing hash table with backward-shift
 * deletion (no tombstones).  Load factor stays below 3/4.  Hash value 0 is
 * reserved for empty slots, so computed hashes of 0 are mapped to 1.
 */
#include "common/hash.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/xalloc.h"

uint64_t hash_bytes(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

uint64_t hash_bytes_seed(const void *p, size_t n, uint64_t seed)
{
    return XXH3_64bits_withSeed(p, n, seed);
}

uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t fix(uint64_t h)
{
    return h ? h : 1;
}

void htab_init(struct htab *t)
{
    t->slots = NULL;
    t->cap = 0;
    t->count = 0;
}

void htab_fini(struct htab *t)
{
    free(t->slots);
    htab_init(t);
}

void *htab_find_h(const struct htab *t, struct sv key, uint64_t h)
{
    if (!t->cap)
        return NULL;
    h = fix(h);
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const struct htab_entry *e = &t->slots[i];
        if (!e->hash)
            return NULL;
        if (e->hash == h && sv_eq(e->key, key))
            return e->val;
    }
}

void *htab_find(const struct htab *t, struct sv key)
{
    return htab_find_h(t, key, hash_sv(key));
}

static void grow(struct htab *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 16;
    struct htab_entry *ns = xcalloc(ncap, sizeof *ns);
    for (size_t i = 0; i < t->cap; i++) {
        struct htab_entry *e = &t->slots[i];
        if (!e->hash)
            continue;
        size_t j = e->hash & (ncap - 1);
        while (ns[j].hash)
            j = (j + 1) & (ncap - 1);
        ns[j] = *e;
    }
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
}

void *htab_put_h(struct htab *t, struct sv key, uint64_t h, void *val)
{
    if ((t->count + 1) * 4 > t->cap * 3)
        grow(t);
    h = fix(h);
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct htab_entry *e = &t->slots[i];
        if (!e->hash) {
            e->hash = h;
            e->key = key;
            e->val = val;
            t->count++;
            return NULL;
        }
        if (e->hash == h && sv_eq(e->key, key)) {
            void *old = e->val;
            e->key = key;
            e->val = val;
            return old;
        }
    }
}

void *htab_put(struct htab *t, struct sv key, void *val)
{
    return htab_put_h(t, key, hash_sv(key), val);
}

void *htab_del(struct htab *t, struct sv key)
{
    if (!t->cap)
        return NULL;
    uint64_t h = fix(hash_sv(key));
    size_t mask = t->cap - 1, i = h & mask;
    for (;; i = (i + 1) & mask) {
        struct htab_entry *e = &t->slots[i];
        if (!e->hash)
            return NULL;
        if (e->hash == h && sv_eq(e->key, key))
            break;
    }
    void *val = t->slots[i].val;
    /* Backward-shift: pull later entries of the probe run into the hole. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; t->slots[j].hash; j = (j + 1) & mask) {
        size_t home = t->slots[j].hash & mask;
        /* Move j into hole unless its home lies cyclically in (hole, j]. */
        int in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_range) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    memset(&t->slots[hole], 0, sizeof t->slots[hole]);
    t->count--;
    return val;
}

bool htab_next(const struct htab *t, size_t *iter, const struct htab_entry **e)
{
    while (*iter < t->cap) {
        const struct htab_entry *s = &t->slots[(*iter)++];
        if (s->hash) {
            *e = s;
            return true;
        }
    }
    return false;
}
