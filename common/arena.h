// SPDX-License-Identifier: MIT
/*
 * Region allocator for per-request and per-batch memory (nginx pools, h2o
 * mem pools).  Allocations are 16-byte aligned and live until arena_reset()
 * or arena_fini(), which also run the registered cleanup callbacks in
 * reverse order.  Not thread-safe: one owner at a time.
 */
#ifndef NJ_COMMON_ARENA_H
#define NJ_COMMON_ARENA_H

#include <stddef.h>

#include "common/sv.h"

typedef void (*arena_cleanup_cb)(void *arg);

struct arena_block;
struct arena_cleanup;

struct arena {
    struct arena_block *head;
    struct arena_cleanup *cleanups;
    size_t block_bytes;  /* default block size */
    size_t used_bytes;   /* total handed out, for limits and metrics */
    size_t max_bytes;    /* 0 = unlimited */
};

/* block_bytes: size of ordinary blocks (0 = 16 KiB); max_bytes: cap on the
 * total (0 = none). */
void arena_init(struct arena *a, size_t block_bytes, size_t max_bytes);
/* Frees everything and runs the cleanups. */
void arena_fini(struct arena *a);
/* Like fini, but keeps the first block for reuse. */
void arena_reset(struct arena *a);
/* Aborts on malloc failure; returns NULL only past max_bytes. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t n);
/* Returns NULL on malloc failure or past max_bytes (for input-sized data). */
__attribute__((warn_unused_result)) void *arena_try_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Copies the view's bytes into the arena (NUL-terminated) and returns a
 * view of the copy. */
struct sv arena_sv_dup(struct arena *a, struct sv s);
/* Registers fn(arg) to run at reset/fini. */
void arena_on_cleanup(struct arena *a, arena_cleanup_cb fn, void *arg);

#endif
