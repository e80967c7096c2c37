// SPDX-License-Identifier: MIT
/*
 * nightjar's entry point: the command line (shared/spec/config.md "Command
 * line"), configuration loading, then the server life cycle of server.h.
 *
 * Flags configure the daemon; words (check-alerting, dump, backup, restore)
 * are tools that do one job and exit.  Exit status: 0 success, 1 a runtime or
 * configuration error, 2 a usage error or a command that is not implemented
 * yet.  Everything is parsed before anything is started, so a bad command
 * line never leaves a half-started daemon behind.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/strparse.h"
#include "common/xalloc.h"
#include "daemon/config.h"
#include "daemon/server.h"

#define DEFAULT_CONFIG "conf/nightjar.yaml"

enum cli_action { CLI_RUN, CLI_CHECK_CONFIG, CLI_VERSION, CLI_HELP };

struct cli {
    enum cli_action action;
    const char *config_path;   /* NULL = default */
    bool is_fake_clock;
    int64_t fake_clock_start_ns; /* 0 = now */
    bool has_test_endpoints;
    bool repair;
    enum tsdb_fault_op fault_op;
    uint64_t fault_nth;
};

static const char usage_text[] =
    "usage: nightjar [flags]\n"
    "       nightjar <command> [args]\n"
    "\n"
    "Flags (run the daemon unless a flag says otherwise):\n"
    "  --config FILE           configuration file (default " DEFAULT_CONFIG ";\n"
    "                          when that default does not exist, run on defaults)\n"
    "  --check-config          load and validate the configuration, print \"config OK\"\n"
    "                          or the error as file:line:column, exit 0 / 1\n"
    "  --version               print the version and the InfluxDB version reported\n"
    "  --help, -h              print this help\n"
    "  --repair                start, cutting a corrupt WAL at the first bad record\n"
    "                          (everything after it is dropped and logged)\n"
    "  --debug.fake-clock[=NS] tests only: time starts at NS (Unix ns; default now)\n"
    "                          and moves only through POST /debug/clock?advance=DUR\n"
    "  --debug.test-endpoints  tests only: GET /debug/sleep?d=DUR, POST /debug/echo\n"
    "  --debug.fault=OP:N      tests only: the Nth storage OP after start fails with\n"
    "                          EIO (OP: write, fsync, rename, open); a failed WAL\n"
    "                          write/fsync fails the write and every later one\n"
    "\n"
    "Commands:\n"
    "  check-alerting FILE     validate an alerting file (not yet implemented)\n"
    "  dump --data DIR [--db D] [--rp R] [--start T] [--end T]\n"
    "                          export stored points as line protocol, offline\n"
    "                          (T: RFC3339 or integer ns; refuses while a daemon\n"
    "                          holds DIR; never modifies it)\n"
    "  backup --to DIR [--url URL]\n"
    "                          online backup through the running daemon's API\n"
    "                          (not yet implemented)\n"
    "  restore --from DIR --data DIR\n"
    "                          offline restore into an empty data dir\n"
    "                          (not yet implemented)\n"
    "\n"
    "Signals: SIGTERM/SIGINT drain and exit (a second one forces), SIGHUP reloads\n"
    "the configuration file (log.level and shutdown_grace apply at once; other\n"
    "changed keys are logged as needing a restart).\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nightjar: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nrun 'nightjar --help' for usage\n");
    va_end(ap);
    return 2;
}

static int not_implemented(const char *what)
{
    fprintf(stderr, "nightjar: %s: not yet implemented\n", what);
    return 2;
}

/* "--name=value" or "--name value": returns the value, advancing *i for the
 * second form; NULL when the value is missing. */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (a[n] == '=')
        return a + n + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static bool flag_is(const char *a, const char *name)
{
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

/* "--debug.fault=fsync:3" -> op and nth. */
static int parse_fault(const char *spec, struct cli *c)
{
    static const char *const names[TSDB_FAULT_NOPS] = { "write", "fsync", "rename", "open" };
    const char *colon = strchr(spec, ':');
    if (!colon)
        return -1;
    uint64_t nth;
    if (strp_u64(sv_cstr(colon + 1), &nth) < 0 || nth == 0)
        return -1;
    for (int i = 0; i < TSDB_FAULT_NOPS; i++) {
        if (strlen(names[i]) == (size_t)(colon - spec) && !strncmp(spec, names[i], (size_t)(colon - spec))) {
            c->fault_op = (enum tsdb_fault_op)i;
            c->fault_nth = nth;
            return 0;
        }
    }
    return -1;
}

/* Returns -1 when the daemon should go on with *c, else an exit status. */
static int parse_args(int argc, char **argv, struct cli *c)
{
    memset(c, 0, sizeof *c);
    if (argc > 1 && argv[1][0] != '-') {
        const char *w = argv[1];
        if (!strcmp(w, "dump"))
            return dump_main(argc - 1, argv + 1);
        if (!strcmp(w, "check-alerting") || !strcmp(w, "backup") || !strcmp(w, "restore"))
            return not_implemented(w);
        if (!strcmp(w, "help")) {
            fputs(usage_text, stdout);
            return 0;
        }
        return usage_error("unknown command \"%s\"", w);
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (flag_is(a, "--config")) {
            c->config_path = flag_value(argc, argv, &i, "--config");
            if (!c->config_path || !*c->config_path)
                return usage_error("%s needs a file name", "--config");
        } else if (!strcmp(a, "--check-config")) {
            c->action = CLI_CHECK_CONFIG;
        } else if (!strcmp(a, "--version")) {
            c->action = CLI_VERSION;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            c->action = CLI_HELP;
        } else if (!strcmp(a, "--repair")) {
            c->repair = true;
        } else if (!strncmp(a, "--debug.fault=", 14)) {
            if (parse_fault(a + 14, c) < 0)
                return usage_error("--debug.fault: \"%s\" is not OP:N (OP: write, fsync, "
                                   "rename, open; N >= 1)",
                                   a + 14);
        } else if (!strcmp(a, "--debug.fake-clock")) {
            c->is_fake_clock = true;
        } else if (!strncmp(a, "--debug.fake-clock=", 19)) {
            c->is_fake_clock = true;
            if (strp_i64(sv_cstr(a + 19), &c->fake_clock_start_ns) < 0 ||
                c->fake_clock_start_ns < 0)
                return usage_error("--debug.fake-clock: \"%s\" is not Unix nanoseconds",
                                   a + 19);
        } else if (!strcmp(a, "--debug.test-endpoints")) {
            c->has_test_endpoints = true;
        } else if (a[0] == '-') {
            return usage_error("unknown flag \"%s\"", a);
        } else {
            return usage_error("unexpected argument \"%s\"", a);
        }
    }
    switch (c->action) {
    case CLI_HELP:
        fputs(usage_text, stdout);
        return 0;
    case CLI_VERSION:
        printf("nightjar %s\nInfluxDB compatibility: 1.x (reports version %s)\n", NJ_VERSION,
               NJ_INFLUXDB_VERSION);
        return 0;
    default:
        return -1;
    }
}

/* Loads the configuration named on the command line, or the default file
 * when it exists.  *path_out gets the file to re-read on SIGHUP (NULL when
 * running on defaults). */
static int load_config(const struct cli *c, struct config *cfg, const char **path_out,
                       struct err *e)
{
    const char *path = c->config_path;
    *path_out = NULL;
    if (!path) {
        if (access(DEFAULT_CONFIG, F_OK) != 0 && errno == ENOENT)
            return 0; /* no file at the default place: run on defaults */
        path = DEFAULT_CONFIG;
    }
    *path_out = path;
    return config_load(cfg, path, e);
}

int main(int argc, char **argv)
{
    struct cli cli;
    int rc = parse_args(argc, argv, &cli);
    if (rc >= 0)
        return rc;

    /* A peer closing its socket must be an EPIPE on write, not our death. */
    signal(SIGPIPE, SIG_IGN);

    /* Write bodies (hundreds of KB to MB each) are allocated and freed per
     * request.  With glibc's dynamic thresholds each one either got fresh
     * mmap pages or grew a heap top that was trimmed again at free, so every
     * request page-faulted its body in (~8 % of ingest CPU on the ops set,
     * docs/BENCHMARKS.md "Write path and replay").  Fixed thresholds keep
     * freed memory for the next request (peak RSS +1.5-4 MiB on that set). */
    (void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);

    struct config cfg;
    struct err e = { 0 };
    const char *path;
    config_defaults(&cfg);
    rc = load_config(&cli, &cfg, &path, &e);
    if (cli.action == CLI_CHECK_CONFIG) {
        if (rc < 0)
            fprintf(stderr, "%s\n", e.msg);
        else
            fprintf(stderr, "config OK\n");
        config_fini(&cfg);
        return rc < 0 ? 1 : 0;
    }
    if (rc < 0) {
        char q[300];
        log_error("daemon", "msg=\"cannot load config\" err=%s",
                  log_quote(q, sizeof q, e.msg, strlen(e.msg)));
        config_fini(&cfg);
        return 1;
    }
    log_set_level(cfg.log_level);
    log_info("daemon", "msg=\"starting nightjar\" version=%s config=%s pid=%ld", NJ_VERSION,
             path ? path : "(defaults)", (long)getpid());

    struct server_opts o = {
        .config_path = path,
        .is_fake_clock = cli.is_fake_clock,
        .fake_clock_start_ns = cli.fake_clock_start_ns,
        .has_test_endpoints = cli.has_test_endpoints,
        .repair = cli.repair,
        .fault_op = cli.fault_op,
        .fault_nth = cli.fault_nth,
    };
    struct server *s = xcalloc(1, sizeof *s);
    rc = server_init(s, &o, &cfg, &e);
    if (rc == 0)
        rc = server_start(s, &e);
    if (rc < 0) {
        char q[300];
        log_error("daemon", "msg=\"cannot start\" err=%s",
                  log_quote(q, sizeof q, e.msg, strlen(e.msg)));
        server_fini(s);
        free(s);
        config_fini(&cfg);
        return 1;
    }
    int status = server_run(s);
    server_fini(s);
    free(s);
    config_fini(&cfg);
    log_info("daemon", "msg=\"exiting\" status=%d", status);
    return status;
}
