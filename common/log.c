// SPDX-License-Identifier: MIT
/* Leveled logfmt logging (see log.h).  One fputs per line so lines from
 * different threads do not interleave. */
#include "common/log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "common/err.h"

static int g_level = LOG_INFO;
static FILE *g_sink;

void log_set_level(enum log_level lvl)
{
    __atomic_store_n(&g_level, (int)lvl, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
    return (enum log_level)__atomic_load_n(&g_level, __ATOMIC_RELAXED);
}

static const char *const names[] = { "error", "warn", "info", "debug" };

const char *log_level_name(enum log_level lvl)
{
    return (unsigned)lvl < 4 ? names[lvl] : "unknown";
}

int log_level_parse(const char *s, size_t n, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (n == 7 && memcmp(s, "warning", 7) == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return ERR_INVAL;
}

void log_set_sink(FILE *f)
{
    __atomic_store_n(&g_sink, f, __ATOMIC_RELEASE);
}

void log_write(enum log_level lvl, const char *subsys, const char *fmt, ...)
{
    if (!log_enabled(lvl))
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s subsys=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log_level_name(lvl), subsys);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    line[len] = '\n';
    line[len + 1] = '\0';
    FILE *f = __atomic_load_n(&g_sink, __ATOMIC_ACQUIRE);
    if (!f)
        f = stderr;
    fputs(line, f);
    fflush(f);
}

char *log_quote(char *out, size_t cap, const char *s, size_t n)
{
    char inner[ERR_MSG_MAX * 2];
    err_quote(inner, sizeof inner, s, n, 400);
    snprintf(out, cap, "\"%s\"", inner);
    return out;
}

bool log_ratelimit_allow(struct log_ratelimit *rl, int64_t now_mono_ns, uint32_t burst,
                         int64_t per_ns, uint32_t *suppressed_out)
{
    if (now_mono_ns - rl->window_start_ns >= per_ns || rl->window_start_ns == 0) {
        rl->window_start_ns = now_mono_ns ? now_mono_ns : 1;
        rl->in_window = 0;
    }
    if (rl->in_window < burst) {
        rl->in_window++;
        if (suppressed_out)
            *suppressed_out = rl->suppressed;
        rl->suppressed = 0;
        return true;
    }
    rl->suppressed++;
    return false;
}
