// SPDX-License-Identifier: MIT
/* Number, duration and size parsing (see strparse.h). */
#include "common/strparse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int strp_u64(struct sv s, uint64_t *out)
{
    if (s.n == 0)
        return ERR_PARSE;
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned d = (unsigned)(s.p[i] - '0');
        if (d > 9)
            return ERR_PARSE;
        if (v > (UINT64_MAX - d) / 10)
            return ERR_LIMIT;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int strp_i64(struct sv s, int64_t *out)
{
    bool neg = s.n && s.p[0] == '-';
    uint64_t v;
    int rc = strp_u64(neg ? sv_make(s.p + 1, s.n - 1) : s, &v);
    if (rc)
        return rc;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return ERR_LIMIT;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return ERR_LIMIT;
        *out = (int64_t)v;
    }
    return 0;
}

int strp_f64(struct sv s, double *out)
{
    char tmp[64];
    if (s.n == 0 || s.n >= sizeof tmp)
        return ERR_PARSE;
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (*end != '\0' || !isfinite(v))
        return ERR_PARSE;
    *out = v;
    return 0;
}

int strp_bool(struct sv s, bool *out)
{
    static const char *const t[] = { "true", "yes", "on", "1" };
    static const char *const f[] = { "false", "no", "off", "0" };
    for (int i = 0; i < 4; i++) {
        if (sv_case_eq(s, t[i])) {
            *out = true;
            return 0;
        }
        if (sv_case_eq(s, f[i])) {
            *out = false;
            return 0;
        }
    }
    return ERR_PARSE;
}

struct unit {
    const char *name;
    int64_t ns;
};

static const struct unit dur_units[] = {
    { "ns", 1 },
    { "us", 1000LL },
    { "\xc2\xb5s", 1000LL },
    { "ms", 1000000LL },
    { "s", 1000000000LL },
    { "m", 60LL * 1000000000LL },
    { "h", 3600LL * 1000000000LL },
    { "d", 86400LL * 1000000000LL },
    { "w", 7LL * 86400LL * 1000000000LL },
};

int strp_duration(struct sv s, int64_t *out_ns)
{
    if (s.n == 1 && s.p[0] == '0') {
        *out_ns = 0;
        return 0;
    }
    if (s.n == 0)
        return ERR_PARSE;
    int64_t total = 0;
    size_t i = 0;
    while (i < s.n) {
        size_t start = i;
        while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9')
            i++;
        if (i == start)
            return ERR_PARSE;
        uint64_t v;
        int rc = strp_u64(sv_make(s.p + start, i - start), &v);
        if (rc)
            return rc;
        size_t ustart = i;
        while (i < s.n && !(s.p[i] >= '0' && s.p[i] <= '9'))
            i++;
        struct sv u = sv_make(s.p + ustart, i - ustart);
        const struct unit *found = NULL;
        for (size_t k = 0; k < sizeof dur_units / sizeof dur_units[0]; k++)
            if (sv_eq_cstr(u, dur_units[k].name))
                found = &dur_units[k];
        if (!found)
            return ERR_PARSE;
        if (v > (uint64_t)(INT64_MAX / found->ns))
            return ERR_LIMIT;
        int64_t part = (int64_t)v * found->ns;
        if (total > INT64_MAX - part)
            return ERR_LIMIT;
        total += part;
    }
    *out_ns = total;
    return 0;
}

int strp_size(struct sv s, uint64_t *out_bytes)
{
    size_t i = 0;
    while (i < s.n && ((s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == '.'))
        i++;
    struct sv num = sv_make(s.p, i);
    struct sv unit = sv_trim(sv_make(s.p + i, s.n - i));
    if (num.n == 0)
        return ERR_PARSE;
    static const struct {
        const char *name;
        double mult;
    } units[] = {
        { "", 1 },         { "B", 1 },           { "KB", 1e3 },
        { "MB", 1e6 },     { "GB", 1e9 },        { "TB", 1e12 },
        { "K", 1024.0 },   { "M", 1048576.0 },   { "G", 1073741824.0 },
        { "KiB", 1024.0 }, { "MiB", 1048576.0 }, { "GiB", 1073741824.0 },
        { "TiB", 1099511627776.0 },
    };
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
        if (!sv_eq_cstr(unit, units[k].name))
            continue;
        if (k == 0 || memchr(num.p, '.', num.n) == NULL) {
            uint64_t v;
            int rc = strp_u64(num, &v);
            if (rc)
                return rc;
            uint64_t m = (uint64_t)units[k].mult;
            if (m && v > UINT64_MAX / m)
                return ERR_LIMIT;
            *out_bytes = v * m;
            return 0;
        }
        double d;
        if (strp_f64(num, &d))
            return ERR_PARSE;
        d *= units[k].mult;
        if (d >= 1.8e19)
            return ERR_LIMIT;
        *out_bytes = (uint64_t)d;
        return 0;
    }
    return ERR_PARSE;
}

void strp_format_duration(int64_t ns, char *out, size_t cap)
{
    static const struct unit fmt_units[] = {
        { "w", 7LL * 86400LL * 1000000000LL }, { "d", 86400LL * 1000000000LL },
        { "h", 3600LL * 1000000000LL },        { "m", 60LL * 1000000000LL },
        { "s", 1000000000LL },                 { "ms", 1000000LL },
        { "us", 1000LL },                      { "ns", 1 },
    };
    if (ns == 0) {
        snprintf(out, cap, "0s");
        return;
    }
    size_t o = 0;
    out[0] = '\0';
    if (ns < 0) {
        o += (size_t)snprintf(out, cap, "-");
        ns = ns == INT64_MIN ? INT64_MAX : -ns;
    }
    for (size_t k = 0; k < sizeof fmt_units / sizeof fmt_units[0] && o < cap; k++) {
        int64_t q = ns / fmt_units[k].ns;
        if (q) {
            o += (size_t)snprintf(out + o, cap - o, "%lld%s", (long long)q, fmt_units[k].name);
            ns -= q * fmt_units[k].ns;
        }
    }
}
