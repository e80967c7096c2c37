// SPDX-License-Identifier: MIT
/*
 * Region allocator (see arena.h).  Blocks form a singly linked list, newest
 * first; an allocation larger than a quarter of the block size gets a block
 * of its own so big requests do not waste the tail of the current block.
 */
#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#define ALIGN 16

struct arena_block {
    struct arena_block *next;
    size_t size;
    size_t used;
    _Alignas(ALIGN) unsigned char data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    arena_cleanup_cb fn;
    void *arg;
};

void arena_init(struct arena *a, size_t block_bytes, size_t max_bytes)
{
    a->head = NULL;
    a->cleanups = NULL;
    a->block_bytes = block_bytes ? block_bytes : 16384;
    a->used_bytes = 0;
    a->max_bytes = max_bytes;
}

static void run_cleanups(struct arena *a)
{
    struct arena_cleanup *c = a->cleanups;
    a->cleanups = NULL;
    while (c) {
        c->fn(c->arg);
        c = c->next; /* the node itself lives in the arena */
    }
}

void arena_fini(struct arena *a)
{
    run_cleanups(a);
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->used_bytes = 0;
}

void arena_reset(struct arena *a)
{
    run_cleanups(a);
    struct arena_block *keep = NULL, *b = a->head;
    while (b) {
        struct arena_block *n = b->next;
        if (!keep && b->size == a->block_bytes) {
            keep = b;
            keep->next = NULL;
            keep->used = 0;
        } else {
            free(b);
        }
        b = n;
    }
    a->head = keep;
    a->used_bytes = 0;
}

static void *alloc_impl(struct arena *a, size_t n, int may_abort)
{
    size_t rounded = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (rounded < n)
        return NULL;
    if (a->max_bytes && (rounded > a->max_bytes || a->used_bytes > a->max_bytes - rounded))
        return NULL;
    struct arena_block *b = a->head;
    if (!b || b->size - b->used < rounded) {
        size_t size = rounded > a->block_bytes / 4 ? rounded : a->block_bytes;
        if (size > SIZE_MAX - sizeof *b)
            return NULL;
        struct arena_block *nb = may_abort ? xmalloc(sizeof *nb + size)
                                           : malloc(sizeof *nb + size);
        if (!nb)
            return NULL;
        nb->size = size;
        nb->used = 0;
        if (size != a->block_bytes && b) {
            /* Dedicated block: insert behind the current one so the current
             * block's free tail stays usable. */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += rounded;
    a->used_bytes += rounded;
    return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
    return alloc_impl(a, n, 1);
}

void *arena_try_alloc(struct arena *a, size_t n)
{
    return alloc_impl(a, n, 0);
}

void *arena_calloc(struct arena *a, size_t n)
{
    void *p = alloc_impl(a, n, 1);
    if (p)
        memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *d = alloc_impl(a, n + 1, 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

struct sv arena_sv_dup(struct arena *a, struct sv s)
{
    char *d = arena_strndup(a, s.p, s.n);
    return d ? sv_make(d, s.n) : SV_NULL;
}

void arena_on_cleanup(struct arena *a, arena_cleanup_cb fn, void *arg)
{
    struct arena_cleanup *c = alloc_impl(a, sizeof *c, 1);
    if (!c) { /* over max_bytes: run now rather than leak */
        fn(arg);
        return;
    }
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
}
