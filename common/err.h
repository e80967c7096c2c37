// SPDX-License-Identifier: MIT
/*
 * Error codes and error messages shared by every module.
 *
 * A function that can fail returns int: 0 on success or a negative ERR_*.
 * When the failure depends on input, it also fills a struct err whose message
 * names the input and the position ("line 3, col 17: ...").  Callers that
 * only need the code pass NULL.  ERR_AGAIN is not a failure: a resumable
 * parser wants more input.
 */
#ifndef NJ_COMMON_ERR_H
#define NJ_COMMON_ERR_H

#include <stddef.h>

#define ERR_MAP(X)                                                   \
    X(AGAIN, -1, "need more input")                                  \
    X(NOMEM, -2, "out of memory")                                    \
    X(IO, -3, "i/o error")                                           \
    X(PARSE, -4, "parse error")                                      \
    X(LIMIT, -5, "limit exceeded")                                   \
    X(OOO, -6, "out of order")                                       \
    X(CORRUPT, -7, "corrupt data")                                   \
    X(INVAL, -8, "invalid argument")                                 \
    X(NOTFOUND, -9, "not found")                                     \
    X(EXISTS, -10, "already exists")                                 \
    X(TYPE, -11, "type conflict")                                    \
    X(BUSY, -12, "busy")                                             \
    X(TIMEOUT, -13, "timed out")                                     \
    X(CLOSED, -14, "closed")                                         \
    X(UNSUPPORTED, -15, "unsupported")

enum err_code {
#define X(name, val, msg) ERR_##name = (val),
    ERR_MAP(X)
#undef X
};

#define ERR_MSG_MAX 256

struct err {
    int code;
    char msg[ERR_MSG_MAX];
};

/* Name of a code ("ERR_PARSE"), or "ERR_UNKNOWN". Any thread. */
const char *err_name(int code);
/* Short English description of a code. Any thread. */
const char *err_str(int code);

/* Sets e->code and formats e->msg (truncated to fit); e may be NULL.
 * Returns code so callers can write `return err_set(e, ERR_PARSE, ...)`. */
int err_set(struct err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with formatted context ("file.yaml: ").
 * No-op when e is NULL. */
void err_prefix(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clears e (code 0, empty message). e may be NULL. */
void err_clear(struct err *e);

/* Writes at most max input bytes of p into out (size cap) with control
 * bytes and quotes escaped, adding "..." when truncated.  For quoting
 * offending input inside messages.  Returns out. */
char *err_quote(char *out, size_t cap, const char *p, size_t n, size_t max);

#endif
