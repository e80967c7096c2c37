// SPDX-License-Identifier: MIT
/*
 * Leveled key=value logging, one line per event, to stderr (or a sink a test
 * sets).  Lines look like
 *   ts=2026-11-29T07:00:00.123Z level=warn subsys=ingest msg="batch rejected" conn=42
 * The format string supplies everything after subsys=, by convention
 * starting with msg="...".  Use log_quote() for values that may hold spaces
 * or quotes.  The level and sink are the only module state; both may be
 * changed at run time (SIGHUP) and are read atomically.  Any thread.
 */
#ifndef NJ_COMMON_LOG_H
#define NJ_COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns 0 or ERR_INVAL. */
int log_level_parse(const char *s, size_t n, enum log_level *out);
const char *log_level_name(enum log_level lvl);
/* Redirects output (NULL = stderr).  For tests. */
void log_set_sink(FILE *f);
static inline bool log_enabled(enum log_level lvl)
{
    return lvl <= log_get_level();
}

void log_write(enum log_level lvl, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(subsys, ...) log_write(LOG_ERROR, subsys, __VA_ARGS__)
#define log_warn(subsys, ...) log_write(LOG_WARN, subsys, __VA_ARGS__)
#define log_info(subsys, ...) log_write(LOG_INFO, subsys, __VA_ARGS__)
#define log_debug(subsys, ...)                       \
    do {                                             \
        if (log_enabled(LOG_DEBUG))                  \
            log_write(LOG_DEBUG, subsys, __VA_ARGS__); \
    } while (0)

/* Writes s (n bytes) as a double-quoted logfmt value into out (size cap),
 * escaping quotes, backslashes and control bytes, truncating long values.
 * Returns out. */
char *log_quote(char *out, size_t cap, const char *s, size_t n);

/* Token-bucket rate limiter for per-client warnings: allows `burst` events
 * per `per_ns` of monotonic time; counts what it suppressed. */
struct log_ratelimit {
    int64_t window_start_ns;
    uint32_t in_window;
    uint32_t suppressed;
};
/* Returns true when the event may be logged.  *suppressed_out (may be NULL)
 * gets the number dropped since the last allowed event. */
bool log_ratelimit_allow(struct log_ratelimit *rl, int64_t now_mono_ns, uint32_t burst,
                         int64_t per_ns, uint32_t *suppressed_out);

#endif
