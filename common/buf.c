// SPDX-License-Identifier: MIT
/* Capped growable buffer (see buf.h). */
#include "common/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

void buf_init(struct buf *b, size_t max_bytes)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max_bytes = max_bytes ? max_bytes : SIZE_MAX / 2;
}

void buf_fini(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

int buf_reserve(struct buf *b, size_t n)
{
    if (n > b->max_bytes || b->len > b->max_bytes - n)
        return ERR_LIMIT;
    size_t need = b->len + n + 1; /* +1 keeps the NUL terminator */
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max_bytes + 1)
        ncap = b->max_bytes + 1;
    char *np = realloc(b->p, ncap);
    if (!np)
        return ERR_NOMEM;
    b->p = np;
    b->cap = ncap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int buf_append_sv(struct buf *b, struct sv s)
{
    return buf_append(b, s.p, s.n);
}

int buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_append_char(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return ERR_INVAL;
    if ((size_t)n < sizeof small)
        return buf_append(b, small, (size_t)n);
    int rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        buf_reset(b);
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    b->p[b->len] = '\0';
}

char *buf_detach(struct buf *b, size_t *len_out)
{
    char *p = b->p;
    if (len_out)
        *len_out = b->len;
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
