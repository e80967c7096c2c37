// SPDX-License-Identifier: MIT
/*
 * Aborting allocators for small, fixed-size allocations (h2o, git style).
 * When the size comes from input, cap it with a configured limit and use a
 * fallible path instead (buf_reserve, arena_try_alloc).
 */
#ifndef NJ_COMMON_XALLOC_H
#define NJ_COMMON_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
