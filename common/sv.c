// SPDX-License-Identifier: MIT
/* String view helpers (see sv.h). */
#include "common/sv.h"

#include <stdlib.h>

#include "common/xalloc.h"

bool sv_case_eq(struct sv a, const char *s)
{
    size_t n = strlen(s);
    if (a.n != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char x = a.p[i], y = s[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

bool sv_starts_with(struct sv a, struct sv prefix)
{
    return a.n >= prefix.n && memcmp(a.p, prefix.p, prefix.n) == 0;
}

struct sv sv_trim(struct sv a)
{
    while (a.n && (a.p[0] == ' ' || a.p[0] == '\t')) {
        a.p++;
        a.n--;
    }
    while (a.n && (a.p[a.n - 1] == ' ' || a.p[a.n - 1] == '\t'))
        a.n--;
    return a;
}

struct sv sv_cut(struct sv a, char c, struct sv *head)
{
    const char *q = a.n ? memchr(a.p, c, a.n) : NULL;
    if (!q) {
        if (head)
            *head = a;
        return SV_NULL;
    }
    if (head)
        *head = sv_make(a.p, (size_t)(q - a.p));
    return sv_make(q + 1, a.n - (size_t)(q - a.p) - 1);
}

char *sv_dup(struct sv a)
{
    char *s = xmalloc(a.n + 1);
    if (a.n)
        memcpy(s, a.p, a.n);
    s[a.n] = '\0';
    return s;
}
