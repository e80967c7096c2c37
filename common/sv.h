// SPDX-License-Identifier: MIT
/*
 * String views: a pointer and a length that borrow their bytes.  A view never
 * outlives the buffer it points into and is not NUL-terminated.
 */
#ifndef NJ_COMMON_SV_H
#define NJ_COMMON_SV_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct sv {
    const char *p;
    size_t n;
};

#define SV_LIT(s) ((struct sv){ (s), sizeof(s) - 1 })
#define SV_NULL ((struct sv){ NULL, 0 })
/* For printf: printf("%.*s", SV_FMT(v)). */
#define SV_FMT(v) (int)(v).n, (v).p

static inline struct sv sv_make(const char *p, size_t n)
{
    return (struct sv){ p, n };
}
static inline struct sv sv_cstr(const char *s)
{
    return (struct sv){ s, s ? strlen(s) : 0 };
}
static inline bool sv_eq(struct sv a, struct sv b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}
static inline bool sv_eq_cstr(struct sv a, const char *s)
{
    return sv_eq(a, sv_cstr(s));
}
/* ASCII case-insensitive equality. */
bool sv_case_eq(struct sv a, const char *s);
bool sv_starts_with(struct sv a, struct sv prefix);
/* Trims ASCII spaces and tabs on both ends. */
struct sv sv_trim(struct sv a);
/* Splits at the first occurrence of c: *head gets the part before, the
 * returned view the part after (empty and p==NULL when c is absent). */
struct sv sv_cut(struct sv a, char c, struct sv *head);
/* Copies into a NUL-terminated malloc'd string; caller frees. */
char *sv_dup(struct sv a);

#endif
