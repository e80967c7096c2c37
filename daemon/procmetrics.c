// SPDX-License-Identifier: MIT
/*
 * Process-level self-metrics and resource limits.  The gauges follow the
 * Prometheus client conventions (process_open_fds,
 * process_resident_memory_bytes, process_max_fds) so stock dashboards work;
 * they are computed at scrape time from /proc (Linux only), under the
 * registry lock, and each reads one small file or directory.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/server.h"

void procmetrics_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        log_warn("daemon", "msg=\"getrlimit(RLIMIT_NOFILE) failed\" err=\"%s\"", strerror(errno));
        return;
    }
    rlim_t old = rl.rlim_cur;
    if (rl.rlim_cur == rl.rlim_max) {
        log_info("daemon", "msg=\"open files limit\" soft=%llu hard=%llu", (unsigned long long)old,
                 (unsigned long long)rl.rlim_max);
        return;
    }
    rl.rlim_cur = rl.rlim_max;
    /* An unlimited hard limit cannot be a soft limit above nr_open; fall
     * back to a value every Linux accepts. */
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && rl.rlim_max == RLIM_INFINITY) {
        rl.rlim_cur = 1048576;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur == old)
        log_warn("daemon", "msg=\"could not raise open files limit\" soft=%llu hard=%llu",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    else
        log_info("daemon", "msg=\"open files limit raised\" old=%llu soft=%llu hard=%llu",
                 (unsigned long long)old, (unsigned long long)rl.rlim_cur,
                 (unsigned long long)rl.rlim_max);
}

static double open_fds(void *arg)
{
    (void)arg;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    double n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

static double max_fds(void *arg)
{
    (void)arg;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    return (double)rl.rlim_cur;
}

static double resident_bytes(void *arg)
{
    (void)arg;
    FILE *f = fopen("/proc/self/statm", "re");
    if (!f)
        return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    if (n != 2)
        return 0;
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

void procmetrics_register(struct server *s)
{
    struct metrics_registry *r = s->metrics;
    metric_set(metrics_gauge(r, "nightjar_process_start_time_seconds",
                             "Start time of the process since the Unix epoch in seconds."),
               s->start_time_s);
    metrics_gauge_fn(r, "process_open_fds", "Number of open file descriptors.", open_fds, NULL);
    metrics_gauge_fn(r, "process_max_fds", "Maximum number of open file descriptors.", max_fds,
                     NULL);
    metrics_gauge_fn(r, "process_resident_memory_bytes", "Resident memory size in bytes.",
                     resident_bytes, NULL);
    struct metric_family *f =
        metrics_family(r, METRIC_GAUGE, "nightjar_build_info",
                       "Build information; the value is always 1.", "version,influxdb_version",
                       NULL, 0);
    if (f)
        metric_set(metrics_child2(f, NJ_VERSION, s->cfg.http.version ? s->cfg.http.version
                                                                     : NJ_INFLUXDB_VERSION),
                   1);
}
