// SPDX-License-Identifier: MIT
/*
 * The daemon's configuration: one YAML file (../shared/spec/config.md) read
 * with libyaml into plain option structs.  No other module sees YAML; each
 * gets the struct part it needs.  Every key has a default, so an empty file
 * (or no file) is a valid configuration.  Unknown keys, wrong types and bad
 * values are errors naming the key path and file:line:column.  Relative paths
 * are resolved against the directory of the file that names them.
 */
#ifndef NJ_DAEMON_CONFIG_H
#define NJ_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/log.h"

#define CFG_MAX_LISTEN 8
#define CFG_MAX_DATABASES 256
#define CFG_DURATION_INF INT64_MAX /* "INF" retention */
#define CFG_MAX_FILE_BYTES (1u << 20) /* larger config files are refused */

enum cfg_fsync_mode { CFG_FSYNC_ALWAYS, CFG_FSYNC_INTERVAL };
enum cfg_precision { CFG_PREC_NS, CFG_PREC_US, CFG_PREC_MS, CFG_PREC_S, CFG_PREC_M, CFG_PREC_H };

struct cfg_listener {
    char *listen;             /* "host:port" / "[v6]:port", NULL = off */
    char *database;           /* default "tcp" / "udp" (InfluxDB's UDP default); NULL = none */
    char *retention_policy;   /* NULL = database default */
    enum cfg_precision precision;
    uint64_t read_buffer_bytes; /* SO_RCVBUF; 0 = OS default */
    /* TCP only (ingest/listen.h) */
    uint64_t max_line_bytes;    /* 64KiB; longer lines are discarded */
    uint64_t max_connections;   /* 1024 */
    uint64_t batch_bytes;       /* 1MiB; a connection's lines per write */
    int64_t batch_timeout_ns;   /* 100ms; a batch's longest wait */
};

struct cfg_http {
    char *listen[CFG_MAX_LISTEN]; /* at least one */
    size_t nlisten;
    uint64_t max_body_bytes;        /* 25MiB */
    int64_t read_header_timeout_ns; /* 10s */
    int64_t idle_timeout_ns;        /* 2m */
    char *tls_cert_file;            /* NULL unless both set */
    char *tls_key_file;
    char *version;                  /* X-Influxdb-Version, default "1.8.10" */
};

struct cfg_storage {
    char *dir;                       /* "./data" resolved against the config dir */
    int64_t retention_ns;            /* 30d; CFG_DURATION_INF for INF */
    int64_t partition_duration_ns;   /* 0 = auto */
    enum cfg_fsync_mode fsync;       /* always */
    int64_t fsync_interval_ns;       /* for CFG_FSYNC_INTERVAL */
    uint64_t compaction_max_bytes_per_sec; /* 32MiB; 0 = unlimited */
    uint64_t compaction_min_parts;   /* 8: tsdb_opts.compact_min_parts */
    int64_t compaction_cold_after_ns; /* 2h: tsdb_opts.compact_cold_ns */
    int64_t compaction_start_delay_ns; /* 60s: first merge after start, random in [0, it] */
    int64_t compaction_stagger_ns;   /* 10s: between merges, random in [0, it] */
    uint64_t flush_head_bytes;       /* 256MiB: tsdb_opts.flush_head_bytes */
    int64_t flush_max_age_ns;        /* 30m: tsdb_opts.flush_age_ns */
    int64_t housekeeping_interval_ns; /* 10s: flush/retention check period */
};

struct cfg_query {
    uint64_t max_series;          /* 100000 */
    uint64_t max_points_scanned;  /* 1e9 */
    uint64_t max_buckets;         /* 100000 */
    int64_t timeout_ns;           /* 60s */
};

struct config {
    char *path;                   /* file it was loaded from, or NULL */
    struct cfg_http http;
    int64_t shutdown_grace_ns;    /* 10s */
    enum log_level log_level;     /* info */
    struct cfg_storage storage;
    char *databases[CFG_MAX_DATABASES];
    size_t ndatabases;
    uint64_t ingest_max_pending_bytes; /* 256MiB */
    struct cfg_listener tcp;
    struct cfg_listener udp;
    struct cfg_query query;
    bool auth_enabled;            /* false */
    bool internal_enabled;        /* true */
    int64_t internal_interval_ns; /* 10s */
    char *alerting_config;        /* NULL = off */
};

/* Fills c with every default.  Allocates (the listen address, storage dir);
 * release with config_fini. */
void config_defaults(struct config *c);
/* Loads path over the values c already holds: call config_defaults(c)
 * first (config_load does not).  Keys absent from the file keep their value.
 * Relative paths in the file, and the default storage.dir when the file does
 * not name one, are resolved against the directory of path.  Returns 0, or
 * ERR_IO (cannot read), ERR_LIMIT (file over CFG_MAX_FILE_BYTES, nesting or
 * node caps), ERR_PARSE (YAML syntax, second document) or ERR_INVAL (unknown
 * key, wrong type, bad value) with e->msg like
 *   "conf/x.yaml:3:5: unknown key \"http.lisen\" (did you mean \"http.listen\"?)"
 *   "conf/x.yaml:4:17: http.idle_timeout: \"5 parsecs\" is not a duration ..."
 * On error c may hold some of the file's values but is always valid for
 * config_fini.  c->path is set (a copy of path) on success.  Any thread;
 * blocks on file I/O. */
int config_load(struct config *c, const char *path, struct err *e);
/* Same, from a memory buffer (borrowed for the call; need not be
 * NUL-terminated); name is used in messages and base_dir for relative paths
 * (NULL = leave them relative to the cwd).  Does not set c->path.  For tests
 * and the fuzz target. */
int config_load_buf(struct config *c, const char *data, size_t len, const char *name,
                    const char *base_dir, struct err *e);
/* Frees every string c owns and zeroes it.  Safe on a zeroed struct. */
void config_fini(struct config *c);

#endif
