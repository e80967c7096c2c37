// SPDX-License-Identifier: MIT
/*
 * Hashing (xxHash3, 64-bit) and a small open-addressing hash table keyed by
 * byte strings, for interning and lookup caches.  The table copies nothing:
 * keys are borrowed from the caller and must outlive their entry (typically
 * they live in the value the table points to).  Not thread-safe.
 */
#ifndef NJ_COMMON_HASH_H
#define NJ_COMMON_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sv.h"

uint64_t hash_bytes(const void *p, size_t n);
uint64_t hash_bytes_seed(const void *p, size_t n, uint64_t seed);
static inline uint64_t hash_sv(struct sv s)
{
    return hash_bytes(s.p, s.n);
}
uint64_t hash_u64(uint64_t x);

struct htab_entry {
    uint64_t hash; /* 0 = empty slot */
    struct sv key;
    void *val;
};

struct htab {
    struct htab_entry *slots;
    size_t cap;   /* power of two, or 0 */
    size_t count;
};

void htab_init(struct htab *t);
void htab_fini(struct htab *t);
/* Returns the value stored under key, or NULL. */
void *htab_find(const struct htab *t, struct sv key);
void *htab_find_h(const struct htab *t, struct sv key, uint64_t h);
/* Inserts or replaces; returns the previous value or NULL.  key is
 * borrowed for the entry's lifetime. */
void *htab_put(struct htab *t, struct sv key, void *val);
void *htab_put_h(struct htab *t, struct sv key, uint64_t h, void *val);
/* Removes key; returns its value or NULL. */
void *htab_del(struct htab *t, struct sv key);
/* Iteration: for (size_t i = 0; htab_next(t, &i, &e);) ... */
bool htab_next(const struct htab *t, size_t *iter, const struct htab_entry **e);

#endif
