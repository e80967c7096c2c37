// SPDX-License-Identifier: MIT
/*
 * Growable byte buffer with a hard size cap (curl's dynbuf).
 *
 * Invariants: len <= cap <= max_bytes; when p != NULL, p[len] == '\0' (one
 * byte beyond len is always reserved, so the contents can be used as a C
 * string).  Growing past max_bytes fails with ERR_LIMIT and leaves the buffer
 * unchanged.  Growth happens through the struct, so callers never hold a
 * stale pointer across an append if they re-read b->p.
 */
#ifndef NJ_COMMON_BUF_H
#define NJ_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common/sv.h"

struct buf {
    char *p;
    size_t len;
    size_t cap;
    size_t max_bytes;
};

/* Initialises an empty buffer that may hold at most max_bytes bytes
 * (0 means SIZE_MAX/2).  Allocates nothing. */
void buf_init(struct buf *b, size_t max_bytes);
/* Frees the contents; the buffer is empty and reusable afterwards. */
void buf_fini(struct buf *b);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Ensures room for n more bytes.  ERR_LIMIT past the cap, ERR_NOMEM. */
__attribute__((warn_unused_result)) int buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_sv(struct buf *b, struct sv s);
int buf_append_str(struct buf *b, const char *s);
int buf_append_char(struct buf *b, char c);
int buf_appendf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vappendf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Hands the bytes to the caller (free() them); *len_out gets the length.
 * The buffer is empty afterwards.  Returns NULL for an empty buffer that
 * never allocated. */
char *buf_detach(struct buf *b, size_t *len_out);
static inline struct sv buf_sv(const struct buf *b)
{
    return (struct sv){ b->p, b->len };
}

#endif
