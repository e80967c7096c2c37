// SPDX-License-Identifier: MIT
/* Error names, messages and formatting helpers (see err.h). */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *err_name(int code)
{
    switch (code) {
#define X(name, val, msg) \
    case val:             \
        return "ERR_" #name;
        ERR_MAP(X)
#undef X
    case 0:
        return "OK";
    }
    return "ERR_UNKNOWN";
}

const char *err_str(int code)
{
    switch (code) {
#define X(name, val, msg) \
    case val:             \
        return msg;
        ERR_MAP(X)
#undef X
    case 0:
        return "success";
    }
    return "unknown error";
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void err_prefix(struct err *e, const char *fmt, ...)
{
    if (!e)
        return;
    char pre[ERR_MSG_MAX], old[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    size_t pn = strlen(pre), on = strnlen(old, sizeof old);
    if (pn > sizeof e->msg - 1)
        pn = sizeof e->msg - 1;
    if (on > sizeof e->msg - 1 - pn)
        on = sizeof e->msg - 1 - pn;
    memcpy(e->msg, pre, pn);
    memcpy(e->msg + pn, old, on);
    e->msg[pn + on] = '\0';
}

void err_clear(struct err *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = '\0';
    }
}

char *err_quote(char *out, size_t cap, const char *p, size_t n, size_t max)
{
    size_t o = 0;
    if (cap == 0)
        return out;
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)p[i];
        char tmp[8];
        size_t tn;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            tn = 2;
        } else if (c < 0x20 || c == 0x7f) {
            tn = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", c);
        } else {
            tmp[0] = (char)c;
            tn = 1;
        }
        if (o + tn + 4 >= cap)
            break;
        memcpy(out + o, tmp, tn);
        o += tn;
    }
    if (n > max && o + 3 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}
