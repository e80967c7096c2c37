// SPDX-License-Identifier: MIT
/*
 * Unit tests for the YAML configuration loader (daemon/config.h): the
 * defaults, every key's parsing, relative path resolution, and each class of
 * error with its exact "file:line:col: key.path: ..." message.  Loads from
 * memory through config_load_buf unless the test is about files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/config.h"

#define SEC 1000000000LL

/* Loads yaml (as "t.yaml", relative paths against base) over the defaults. */
static int load(struct config *c, const char *yaml, const char *base, struct err *e)
{
    config_defaults(c);
    return config_load_buf(c, yaml, strlen(yaml), "t.yaml", base, e);
}

static void expect_ok(const char *yaml, struct config *c)
{
    struct err e = { 0 };
    int rc = load(c, yaml, NULL, &e);
    if (rc != 0)
        fail_msg("unexpected error %d: %s\n--- input:\n%s", rc, e.msg, yaml);
}

/* Loads yaml, which must fail with code and exactly msg. */
static void expect_err(const char *yaml, int code, const char *msg)
{
    struct config c;
    struct err e = { 0 };
    int rc = load(&c, yaml, NULL, &e);
    config_fini(&c);
    if (rc != code || strcmp(e.msg, msg) != 0)
        fail_msg("input:\n%s\nwant %d \"%s\"\ngot  %d \"%s\"", yaml, code, msg, rc, e.msg);
}

/* Same but only the start of the message must match. */
static void expect_err_prefix(const char *yaml, int code, const char *prefix)
{
    struct config c;
    struct err e = { 0 };
    int rc = load(&c, yaml, NULL, &e);
    config_fini(&c);
    if (rc != code || strncmp(e.msg, prefix, strlen(prefix)) != 0)
        fail_msg("input:\n%s\nwant %d \"%s...\"\ngot  %d \"%s\"", yaml, code, prefix, rc, e.msg);
}

static void test_defaults(void **state)
{
    (void)state;
    struct config c;
    config_defaults(&c);
    assert_null(c.path);
    assert_int_equal(c.http.nlisten, 1);
    assert_string_equal(c.http.listen[0], "127.0.0.1:8086");
    assert_int_equal(c.http.max_body_bytes, 25u << 20);
    assert_int_equal(c.http.read_header_timeout_ns, 10 * SEC);
    assert_int_equal(c.http.idle_timeout_ns, 120 * SEC);
    assert_null(c.http.tls_cert_file);
    assert_null(c.http.tls_key_file);
    assert_string_equal(c.http.version, "1.8.10");
    assert_int_equal(c.shutdown_grace_ns, 10 * SEC);
    assert_int_equal(c.log_level, LOG_INFO);
    assert_string_equal(c.storage.dir, "./data");
    assert_int_equal(c.storage.retention_ns, 30 * 86400 * SEC);
    assert_int_equal(c.storage.partition_duration_ns, 0);
    assert_int_equal(c.storage.fsync, CFG_FSYNC_ALWAYS);
    assert_int_equal(c.storage.compaction_max_bytes_per_sec, 32u << 20);
    assert_int_equal(c.storage.compaction_min_parts, 8);
    assert_int_equal(c.storage.compaction_cold_after_ns, 2 * 3600 * SEC);
    assert_int_equal(c.storage.compaction_start_delay_ns, 60 * SEC);
    assert_int_equal(c.storage.compaction_stagger_ns, 10 * SEC);
    assert_int_equal(c.storage.flush_head_bytes, 32u << 20);
    assert_int_equal(c.storage.flush_max_age_ns, 30 * 60 * SEC);
    assert_int_equal(c.storage.housekeeping_interval_ns, 10 * SEC);
    assert_int_equal(c.ndatabases, 0);
    assert_int_equal(c.ingest_max_pending_bytes, 256u << 20);
    assert_null(c.tcp.listen);
    assert_string_equal(c.tcp.database, "tcp");
    assert_null(c.tcp.retention_policy);
    assert_int_equal(c.tcp.precision, CFG_PREC_NS);
    assert_null(c.udp.listen);
    assert_string_equal(c.udp.database, "udp");
    assert_null(c.udp.retention_policy);
    assert_int_equal(c.udp.precision, CFG_PREC_NS);
    assert_int_equal(c.udp.read_buffer_bytes, 0);
    assert_int_equal(c.query.max_series, 100000);
    assert_int_equal(c.query.max_points_scanned, 1000000000);
    assert_int_equal(c.query.max_buckets, 100000);
    assert_int_equal(c.query.timeout_ns, 60 * SEC);
    assert_false(c.auth_enabled);
    assert_true(c.internal_enabled);
    assert_int_equal(c.internal_interval_ns, 10 * SEC);
    assert_null(c.alerting_config);
    config_fini(&c);
    config_fini(&c); /* fini leaves a zeroed struct: a second call is harmless */
}

/* Empty input, comments only, an empty document and a null document all
 * mean "every default". */
static void test_empty_files(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "", "# only a comment\n\n   # another\n", "---\n", "---\n...\n", "~\n", "{}\n",
        "http:\nstorage:\n# all commented out\n",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        struct config c;
        expect_ok(inputs[i], &c);
        assert_string_equal(c.http.listen[0], "127.0.0.1:8086");
        assert_int_equal(c.http.nlisten, 1);
        assert_string_equal(c.storage.dir, "./data");
        assert_int_equal(c.storage.retention_ns, 30 * 86400 * SEC);
        config_fini(&c);
    }
    struct config c;
    struct err e;
    config_defaults(&c);
    assert_int_equal(config_load_buf(&c, NULL, 0, "t.yaml", NULL, &e), 0);
    config_fini(&c);
}

/* Every key set to a non-default value. */
static void test_every_key(void **state)
{
    (void)state;
    static const char yaml[] = "http:\n"
                               "  listen: \"0.0.0.0:9999\"\n"
                               "  max_body_bytes: 1MiB\n"
                               "  read_header_timeout: 3s\n"
                               "  idle_timeout: 1h30m\n"
                               "  tls:\n"
                               "    cert_file: /etc/nj/c.pem\n"
                               "    key_file: /etc/nj/k.pem\n"
                               "  version: 1.8.3-nj\n"
                               "shutdown_grace: 0\n"
                               "log:\n"
                               "  level: debug\n"
                               "storage:\n"
                               "  dir: /var/lib/nightjar\n"
                               "  retention: 2w\n"
                               "  partition_duration: 6h\n"
                               "  wal:\n"
                               "    fsync: interval:250ms\n"
                               "  compaction:\n"
                               "    max_bytes_per_sec: 0\n"
                               "databases: [telegraf, \"my db\"]\n"
                               "ingest:\n"
                               "  max_pending_bytes: 1.5GiB\n"
                               "  tcp:\n"
                               "    listen: \":8094\"\n"
                               "    database: metrics\n"
                               "    retention_policy: short\n"
                               "    precision: ms\n"
                               "  udp:\n"
                               "    listen: \"[::1]:8089\"\n"
                               "    database: ~\n"
                               "    retention_policy: autogen\n"
                               "    precision: s\n"
                               "    read_buffer_bytes: 8MiB\n"
                               "query:\n"
                               "  max_series: 5\n"
                               "  max_points_scanned: 2.5e9\n"
                               "  max_buckets: 7\n"
                               "  timeout: 0\n"
                               "auth:\n"
                               "  enabled: true\n"
                               "internal:\n"
                               "  enabled: no\n"
                               "  interval: 1m\n"
                               "alerting:\n"
                               "  config: /etc/nj/alerting.yml\n";
    struct config c;
    expect_ok(yaml, &c);
    assert_int_equal(c.http.nlisten, 1);
    assert_string_equal(c.http.listen[0], "0.0.0.0:9999");
    assert_int_equal(c.http.max_body_bytes, 1u << 20);
    assert_int_equal(c.http.read_header_timeout_ns, 3 * SEC);
    assert_int_equal(c.http.idle_timeout_ns, 5400 * SEC);
    assert_string_equal(c.http.tls_cert_file, "/etc/nj/c.pem");
    assert_string_equal(c.http.tls_key_file, "/etc/nj/k.pem");
    assert_string_equal(c.http.version, "1.8.3-nj");
    assert_int_equal(c.shutdown_grace_ns, 0);
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_string_equal(c.storage.dir, "/var/lib/nightjar");
    assert_int_equal(c.storage.retention_ns, 14 * 86400 * SEC);
    assert_int_equal(c.storage.partition_duration_ns, 6 * 3600 * SEC);
    assert_int_equal(c.storage.fsync, CFG_FSYNC_INTERVAL);
    assert_int_equal(c.storage.fsync_interval_ns, 250000000);
    assert_int_equal(c.storage.compaction_max_bytes_per_sec, 0);
    assert_int_equal(c.ndatabases, 2);
    assert_string_equal(c.databases[0], "telegraf");
    assert_string_equal(c.databases[1], "my db");
    assert_int_equal(c.ingest_max_pending_bytes, 1610612736u);
    assert_string_equal(c.tcp.listen, ":8094");
    assert_string_equal(c.tcp.database, "metrics");
    assert_string_equal(c.tcp.retention_policy, "short");
    assert_int_equal(c.tcp.precision, CFG_PREC_MS);
    assert_string_equal(c.udp.listen, "[::1]:8089");
    assert_null(c.udp.database);
    assert_string_equal(c.udp.retention_policy, "autogen");
    assert_int_equal(c.udp.precision, CFG_PREC_S);
    assert_int_equal(c.udp.read_buffer_bytes, 8u << 20);
    assert_int_equal(c.query.max_series, 5);
    assert_int_equal(c.query.max_points_scanned, 2500000000u);
    assert_int_equal(c.query.max_buckets, 7);
    assert_int_equal(c.query.timeout_ns, 0);
    assert_true(c.auth_enabled);
    assert_false(c.internal_enabled);
    assert_int_equal(c.internal_interval_ns, 60 * SEC);
    assert_string_equal(c.alerting_config, "/etc/nj/alerting.yml");
    config_fini(&c);
}

static void test_listen_scalar_and_list(void **state)
{
    (void)state;
    struct config c;
    expect_ok("http:\n  listen: \"[::1]:8086\"\n", &c);
    assert_int_equal(c.http.nlisten, 1);
    assert_string_equal(c.http.listen[0], "[::1]:8086");
    config_fini(&c);

    expect_ok("http:\n  listen:\n    - 127.0.0.1:8086\n    - \"[::1]:8087\"\n    - :8088\n", &c);
    assert_int_equal(c.http.nlisten, 3);
    assert_string_equal(c.http.listen[0], "127.0.0.1:8086");
    assert_string_equal(c.http.listen[1], "[::1]:8087");
    assert_string_equal(c.http.listen[2], ":8088");
    config_fini(&c);

    expect_ok("http: {listen: [localhost:0, \"a:1\", b:2, c:3, d:4, e:5, f:6, g:65535]}", &c);
    assert_int_equal(c.http.nlisten, CFG_MAX_LISTEN);
    assert_string_equal(c.http.listen[7], "g:65535");
    config_fini(&c);

    expect_err("http: {listen: [a:1, b:2, c:3, d:4, e:5, f:6, g:7, h:8, i:9]}", ERR_LIMIT,
               "t.yaml:1:57: http.listen: more than 8 addresses");
    expect_err("http:\n  listen: []\n", ERR_INVAL,
               "t.yaml:2:11: http.listen: empty list (need an address)");
    expect_err("http:\n  listen: [a:1, b:2, a:1]\n", ERR_INVAL,
               "t.yaml:2:22: http.listen: duplicate address (first at line 2)");
    expect_err("http:\n  listen: 8086\n", ERR_INVAL,
               "t.yaml:2:11: http.listen: \"8086\" needs a port (host:port)");
    expect_err("http:\n  listen: \"::1:8086\"\n", ERR_INVAL,
               "t.yaml:2:11: http.listen: \"::1:8086\" has an IPv6 address without [brackets]");
    expect_err("http:\n  listen: \"[::1]8086\"\n", ERR_INVAL,
               "t.yaml:2:11: http.listen: \"[::1]8086\" is not a [IPv6]:port address");
    expect_err("http:\n  listen: \"host:99999\"\n", ERR_INVAL,
               "t.yaml:2:11: http.listen: \"host:99999\" has a bad port (0-65535)");
    expect_err("http:\n  listen: \"host:\"\n", ERR_INVAL,
               "t.yaml:2:11: http.listen: \"host:\" has a bad port (0-65535)");
    expect_err("http:\n  listen:\n", ERR_INVAL,
               "t.yaml:2:10: http.listen: missing value (expected an address)");
    expect_err("http:\n  listen: [[a:1]]\n", ERR_INVAL,
               "t.yaml:2:12: http.listen: expected an address, got a list");
    expect_err("ingest: {tcp: {listen: \"a b:1\"}}", ERR_INVAL,
               "t.yaml:1:24: ingest.tcp.listen: \"a b:1\" is not a host:port address");
}

static void test_version(void **state)
{
    (void)state;
    struct config c;
    expect_ok("http: {version: \"1.8.10\"}", &c);
    assert_string_equal(c.http.version, "1.8.10");
    config_fini(&c);
    expect_err("http:\n  version: 2.0.0\n", ERR_INVAL,
               "t.yaml:2:12: http.version: \"2.0.0\" must look like 1.8.10 (start with \"1.\", "
               "no spaces)");
    expect_err_prefix("http: {version: \"1.8 beta\"}", ERR_INVAL, "t.yaml:1:17: http.version: ");
    expect_err_prefix("http: {version: 1}", ERR_INVAL, "t.yaml:1:17: http.version: ");
    expect_err_prefix("http: {version: \"1.\\x01\"}", ERR_INVAL, "t.yaml:1:17: http.version: ");
    /* A raw control byte is refused by libyaml's reader, with its position. */
    expect_err("http: {version: \"1.\x01\"}", ERR_PARSE,
               "t.yaml:1:20: invalid input: control characters are not allowed (byte 0x01)");
}

static void test_durations_and_sizes(void **state)
{
    (void)state;
    struct config c;
    expect_ok("http: {read_header_timeout: \"1m30s\", idle_timeout: 1500ms}\n"
              "shutdown_grace: 1w2d\n",
              &c);
    assert_int_equal(c.http.read_header_timeout_ns, 90 * SEC);
    assert_int_equal(c.http.idle_timeout_ns, 1500000000);
    assert_int_equal(c.shutdown_grace_ns, 9 * 86400 * SEC);
    config_fini(&c);

    expect_ok("http: {max_body_bytes: 1048576}\ningest: {max_pending_bytes: 10 MB}\n", &c);
    assert_int_equal(c.http.max_body_bytes, 1048576);
    assert_int_equal(c.ingest_max_pending_bytes, 10000000);
    config_fini(&c);

    expect_err("http:\n  idle_timeout: 5 parsecs\n", ERR_INVAL,
               "t.yaml:2:17: http.idle_timeout: \"5 parsecs\" is not a duration (like 90s, 1h30m; "
               "units ns us ms s m h d w)");
    expect_err("http:\n  idle_timeout: 0\n", ERR_INVAL,
               "t.yaml:2:17: http.idle_timeout: must be greater than 0");
    expect_err("http: {read_header_timeout: 10}", ERR_INVAL,
               "t.yaml:1:29: http.read_header_timeout: \"10\" is not a duration (like 90s, 1h30m; "
               "units ns us ms s m h d w)");
    expect_err("shutdown_grace: -1s", ERR_INVAL,
               "t.yaml:1:17: shutdown_grace: \"-1s\" is not a duration (like 90s, 1h30m; units ns "
               "us ms s m h d w)");
    expect_err("shutdown_grace: 99999999999999w", ERR_INVAL,
               "t.yaml:1:17: shutdown_grace: duration \"99999999999999w\" is too large");
    expect_err("http: {max_body_bytes: 12x}", ERR_INVAL,
               "t.yaml:1:24: http.max_body_bytes: \"12x\" is not a size (like 1048576, 512KiB, "
               "25MiB, 1GiB)");
    expect_err("http: {max_body_bytes: 0}", ERR_INVAL,
               "t.yaml:1:24: http.max_body_bytes: must be greater than 0");
    expect_err("ingest: {max_pending_bytes: 99999999999TiB}", ERR_INVAL,
               "t.yaml:1:29: ingest.max_pending_bytes: size \"99999999999TiB\" is too large");
    expect_err("internal: {interval: 0}", ERR_INVAL,
               "t.yaml:1:22: internal.interval: must be greater than 0");
    expect_err("query: {timeout: forever}", ERR_INVAL,
               "t.yaml:1:18: query.timeout: \"forever\" is not a duration (like 90s, 1h30m; units "
               "ns us ms s m h d w)");
}

static void test_storage(void **state)
{
    (void)state;
    struct config c;
    expect_ok("storage: {retention: INF, partition_duration: auto, wal: {fsync: always}}", &c);
    assert_int_equal(c.storage.retention_ns, CFG_DURATION_INF);
    assert_int_equal(c.storage.partition_duration_ns, 0);
    assert_int_equal(c.storage.fsync, CFG_FSYNC_ALWAYS);
    config_fini(&c);
    expect_ok("storage: {retention: inf, wal: {fsync: \"interval: 2s\"}}", &c);
    assert_int_equal(c.storage.retention_ns, CFG_DURATION_INF);
    assert_int_equal(c.storage.fsync, CFG_FSYNC_INTERVAL);
    assert_int_equal(c.storage.fsync_interval_ns, 2 * SEC);
    config_fini(&c);
    expect_ok("storage: {retention: 1h, compaction: {max_bytes_per_sec: 64MiB}}", &c);
    assert_int_equal(c.storage.retention_ns, 3600 * SEC);
    assert_int_equal(c.storage.compaction_max_bytes_per_sec, 64u << 20);
    config_fini(&c);
    expect_ok("storage: {compaction: {min_parts: 4, cold_after: 30m, start_delay: 0s, "
              "stagger: 1500ms}}",
              &c);
    assert_int_equal(c.storage.compaction_min_parts, 4);
    assert_int_equal(c.storage.compaction_cold_after_ns, 30 * 60 * SEC);
    assert_int_equal(c.storage.compaction_start_delay_ns, 0);
    assert_int_equal(c.storage.compaction_stagger_ns, 1500 * SEC / 1000);
    config_fini(&c);
    expect_err_prefix("storage: {compaction: {cold_after: 0s}}", ERR_INVAL,
                      "t.yaml:1:36: storage.compaction.cold_after:");
    expect_err_prefix("storage: {compaction: {stagger: -1s}}", ERR_INVAL,
                      "t.yaml:1:33: storage.compaction.stagger:");

    expect_err("storage: {retention: 0}", ERR_INVAL,
               "t.yaml:1:22: storage.retention: must be greater than 0");
    expect_err_prefix("storage: {retention: forever}", ERR_INVAL,
                      "t.yaml:1:22: storage.retention: \"forever\" is not a duration");
    expect_err_prefix("storage: {partition_duration: sometimes}", ERR_INVAL,
                      "t.yaml:1:31: storage.partition_duration: \"sometimes\" is not a duration");
    expect_err("storage:\n  wal:\n    fsync: sometimes\n", ERR_INVAL,
               "t.yaml:3:12: storage.wal.fsync: \"sometimes\" is not \"always\" or "
               "\"interval:<duration>\"");
    expect_err("storage:\n  wal:\n    fsync: interval:0\n", ERR_INVAL,
               "t.yaml:3:12: storage.wal.fsync: must be greater than 0");
    expect_err_prefix("storage:\n  wal:\n    fsync: \"interval:\"\n", ERR_INVAL,
                      "t.yaml:3:12: storage.wal.fsync: \"\" is not a duration");
    expect_err("storage: {dir: \"\"}", ERR_INVAL, "t.yaml:1:16: storage.dir: empty path");
    expect_err("storage: {dir: ~}", ERR_INVAL,
               "t.yaml:1:16: storage.dir: missing value (expected a scalar value)");
    expect_err("storage: {dir: \"a\\tb\"}", ERR_INVAL,
               "t.yaml:1:16: storage.dir: \"a\\x09b\" contains control characters");
}

static void test_databases(void **state)
{
    (void)state;
    struct config c;
    expect_ok("databases:\n  - one\n  - \"two\"\n  - _internal\n", &c);
    assert_int_equal(c.ndatabases, 3);
    assert_string_equal(c.databases[0], "one");
    assert_string_equal(c.databases[2], "_internal");
    config_fini(&c);
    expect_ok("databases:\n", &c);
    assert_int_equal(c.ndatabases, 0);
    config_fini(&c);

    expect_err("databases:\n  - one\n  - \"\"\n", ERR_INVAL, "t.yaml:3:5: databases: empty name");
    expect_err("databases:\n  - one\n  - two\n  - one\n", ERR_INVAL,
               "t.yaml:4:5: databases: duplicate database \"one\" (first at line 2)");
    expect_err("databases: [\"a\\x01b\"]", ERR_INVAL,
               "t.yaml:1:13: databases: \"a\\x01b\" contains control characters");
    expect_err("databases: one\n", ERR_INVAL,
               "t.yaml:1:12: databases: expected a list of names, got a scalar");
    expect_err("databases: [{a: 1}]\n", ERR_INVAL,
               "t.yaml:1:13: databases: expected a database name, got a mapping");

    /* 255 bytes is fine, 256 is not. */
    char yaml[600];
    memcpy(yaml, "databases: [", 12);
    memset(yaml + 12, 'x', 255);
    memcpy(yaml + 12 + 255, "]", 2);
    expect_ok(yaml, &c);
    assert_int_equal(strlen(c.databases[0]), 255);
    config_fini(&c);
    memset(yaml + 12, 'x', 256);
    memcpy(yaml + 12 + 256, "]", 2);
    expect_err(yaml, ERR_INVAL, "t.yaml:1:13: databases: name longer than 255 bytes");

    /* CFG_MAX_DATABASES names load; one more is refused. */
    size_t cap = 16 + (CFG_MAX_DATABASES + 1) * 8;
    char *big = malloc(cap);
    size_t o = (size_t)snprintf(big, cap, "databases: [");
    for (int i = 0; i < CFG_MAX_DATABASES; i++)
        o += (size_t)snprintf(big + o, cap - o, "d%d,", i);
    big[o - 1] = ']';
    big[o] = '\0';
    expect_ok(big, &c);
    assert_int_equal(c.ndatabases, CFG_MAX_DATABASES);
    assert_string_equal(c.databases[CFG_MAX_DATABASES - 1], "d255");
    config_fini(&c);
    memcpy(big + o - 1, ",x]", 4);
    expect_err_prefix(big, ERR_LIMIT, "t.yaml:1:");
    free(big);
}

static void test_ingest_listeners(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        enum cfg_precision p;
    } precs[] = {
        { "ns", CFG_PREC_NS }, { "n", CFG_PREC_NS },  { "us", CFG_PREC_US },
        { "u", CFG_PREC_US },  { "\xc2\xb5", CFG_PREC_US }, { "ms", CFG_PREC_MS },
        { "s", CFG_PREC_S },   { "m", CFG_PREC_M },   { "h", CFG_PREC_H },
    };
    for (size_t i = 0; i < sizeof precs / sizeof precs[0]; i++) {
        char yaml[128];
        snprintf(yaml, sizeof yaml, "ingest: {tcp: {precision: \"%s\"}, udp: {precision: %s}}",
                 precs[i].s, precs[i].s);
        struct config c;
        expect_ok(yaml, &c);
        assert_int_equal(c.tcp.precision, precs[i].p);
        assert_int_equal(c.udp.precision, precs[i].p);
        config_fini(&c);
    }
    struct config c;
    expect_ok("ingest:\n  tcp:\n    listen: ~\n    database: ~\n", &c);
    assert_null(c.tcp.listen);
    assert_null(c.tcp.database);
    config_fini(&c);

    expect_err("ingest:\n  udp:\n    precision: ps\n", ERR_INVAL,
               "t.yaml:3:16: ingest.udp.precision: \"ps\" is not a precision (ns, us, ms, s, m "
               "or h)");
    expect_err("ingest: {udp: {read_buffer_bytes: 4GiB}}", ERR_INVAL,
               "t.yaml:1:35: ingest.udp.read_buffer_bytes: size \"4GiB\" is too large");
    expect_err("ingest: {tcp: {max_line_byte: 1}}", ERR_INVAL,
               "t.yaml:1:16: unknown key \"ingest.tcp.max_line_byte\" (did you mean "
               "\"ingest.tcp.max_line_bytes\"?)");
    expect_err("ingest: {tcp: {retention_policy: \"\"}}", ERR_INVAL,
               "t.yaml:1:34: ingest.tcp.retention_policy: empty name");
}

/* The TCP listener's own keys (ingest/listen.h): defaults, values, bounds. */
static void test_ingest_tcp_limits(void **state)
{
    (void)state;
    struct config c;
    config_defaults(&c);
    assert_int_equal(c.tcp.max_line_bytes, 64u << 10);
    assert_int_equal(c.tcp.max_connections, 1024);
    assert_int_equal(c.tcp.batch_bytes, 1u << 20);
    assert_int_equal(c.tcp.batch_timeout_ns, 100000000);
    assert_int_equal(c.tcp.read_buffer_bytes, 0);
    config_fini(&c);

    expect_ok("ingest:\n  tcp:\n    read_buffer_bytes: 1MiB\n    max_line_bytes: 1KiB\n"
              "    max_connections: 10\n    batch_bytes: 256KiB\n    batch_timeout: 5ms\n",
              &c);
    assert_int_equal(c.tcp.read_buffer_bytes, 1u << 20);
    assert_int_equal(c.tcp.max_line_bytes, 1024);
    assert_int_equal(c.tcp.max_connections, 10);
    assert_int_equal(c.tcp.batch_bytes, 256u << 10);
    assert_int_equal(c.tcp.batch_timeout_ns, 5000000);
    config_fini(&c);

    expect_err("ingest: {tcp: {max_line_bytes: 0}}", ERR_INVAL,
               "t.yaml:1:32: ingest.tcp.max_line_bytes: must be greater than 0");
    expect_err("ingest: {tcp: {batch_bytes: 2GiB}}", ERR_INVAL,
               "t.yaml:1:29: ingest.tcp.batch_bytes: size \"2GiB\" is too large");
    expect_err("ingest: {tcp: {batch_timeout: 0}}", ERR_INVAL,
               "t.yaml:1:31: ingest.tcp.batch_timeout: must be greater than 0");
    expect_err("ingest: {udp: {max_line_bytes: 1}}", ERR_INVAL,
               "t.yaml:1:16: unknown key \"ingest.udp.max_line_bytes\" (did you mean "
               "\"ingest.tcp.max_line_bytes\"?)");
}

static void test_query_limits(void **state)
{
    (void)state;
    struct config c;
    expect_ok("query: {max_series: 0, max_points_scanned: 1e9, max_buckets: 1.5e3}", &c);
    assert_int_equal(c.query.max_series, 0);
    assert_int_equal(c.query.max_points_scanned, 1000000000);
    assert_int_equal(c.query.max_buckets, 1500);
    config_fini(&c);
    expect_ok("query: {max_points_scanned: 18446744073709551615}", &c);
    assert_true(c.query.max_points_scanned == UINT64_MAX);
    config_fini(&c);

    expect_err("query:\n  max_points_scanned: 1.5\n", ERR_INVAL,
               "t.yaml:2:23: query.max_points_scanned: \"1.5\" is not a whole number (like "
               "100000 or 1e9)");
    expect_err_prefix("query: {max_series: -1}", ERR_INVAL,
                      "t.yaml:1:21: query.max_series: \"-1\" is not a whole number");
    expect_err_prefix("query: {max_series: 0x10}", ERR_INVAL,
                      "t.yaml:1:21: query.max_series: \"0x10\" is not a whole number");
    expect_err_prefix("query: {max_series: 1e30}", ERR_INVAL,
                      "t.yaml:1:21: query.max_series: \"1e30\" is not a whole number");
    expect_err("query: {max_buckets: 99999999999999999999}", ERR_INVAL,
               "t.yaml:1:22: query.max_buckets: \"99999999999999999999\" is too large");
}

static void test_bools_and_levels(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool v;
    } bools[] = { { "true", true }, { "false", false }, { "yes", true },
                  { "no", false },  { "on", true },     { "off", false } };
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        char yaml[96];
        snprintf(yaml, sizeof yaml, "auth: {enabled: %s}\ninternal: {enabled: %s}", bools[i].s,
                 bools[i].s);
        struct config c;
        expect_ok(yaml, &c);
        assert_int_equal(c.auth_enabled, bools[i].v);
        assert_int_equal(c.internal_enabled, bools[i].v);
        config_fini(&c);
    }
    static const struct {
        const char *s;
        enum log_level v;
    } levels[] = { { "error", LOG_ERROR }, { "warn", LOG_WARN }, { "info", LOG_INFO },
                   { "debug", LOG_DEBUG } };
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        char yaml[64];
        snprintf(yaml, sizeof yaml, "log:\n  level: %s\n", levels[i].s);
        struct config c;
        expect_ok(yaml, &c);
        assert_int_equal(c.log_level, levels[i].v);
        config_fini(&c);
    }
    expect_err("auth:\n  enabled: maybe\n", ERR_INVAL,
               "t.yaml:2:12: auth.enabled: \"maybe\" is not a boolean (true or false)");
    expect_err("log:\n  level: loud\n", ERR_INVAL,
               "t.yaml:2:10: log.level: \"loud\" is not a level (error, warn, info or debug)");
}

static void test_tls(void **state)
{
    (void)state;
    struct config c;
    struct err e;
    assert_int_equal(load(&c, "http:\n  tls:\n    cert_file: tls/c.pem\n    key_file: /abs/k.pem\n",
                          "/etc/nj", &e),
                     0);
    assert_string_equal(c.http.tls_cert_file, "/etc/nj/tls/c.pem");
    assert_string_equal(c.http.tls_key_file, "/abs/k.pem");
    config_fini(&c);

    expect_err("http:\n  tls:\n    cert_file: c.pem\n", ERR_INVAL,
               "t.yaml:3:5: http.tls: cert_file and key_file must be set together");
    expect_err("http:\n  tls: {key_file: k.pem, cert_file: ~}\n", ERR_INVAL,
               "t.yaml:2:8: http.tls: cert_file and key_file must be set together");
    expect_ok("http:\n  tls:\n", &c);
    assert_null(c.http.tls_cert_file);
    config_fini(&c);
}

/* Relative paths resolve against base_dir, and so does the default
 * storage.dir when the file does not name one. */
static void test_relative_paths(void **state)
{
    (void)state;
    struct config c;
    struct err e;
    assert_int_equal(load(&c, "storage: {dir: ../data}\nalerting: {config: rules/a.yml}\n",
                          "conf", &e),
                     0);
    assert_string_equal(c.storage.dir, "conf/../data");
    assert_string_equal(c.alerting_config, "conf/rules/a.yml");
    config_fini(&c);

    assert_int_equal(load(&c, "storage: {dir: ./x}\n", "/srv/nj/", &e), 0);
    assert_string_equal(c.storage.dir, "/srv/nj/x");
    config_fini(&c);

    assert_int_equal(load(&c, "storage: {dir: .}\n", "/srv", &e), 0);
    assert_string_equal(c.storage.dir, "/srv");
    config_fini(&c);

    assert_int_equal(load(&c, "storage: {dir: /abs/dir}\n", "/srv", &e), 0);
    assert_string_equal(c.storage.dir, "/abs/dir");
    config_fini(&c);

    assert_int_equal(load(&c, "log: {level: warn}\n", "/srv", &e), 0);
    assert_string_equal(c.storage.dir, "/srv/data");
    config_fini(&c);

    assert_int_equal(load(&c, "storage: {dir: rel}\nalerting: {config: a.yml}\n", NULL, &e), 0);
    assert_string_equal(c.storage.dir, "rel");
    assert_string_equal(c.alerting_config, "a.yml");
    config_fini(&c);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    expect_err("http:\n  listen: \"127.0.0.1:8086\"\n  lisen: x\n", ERR_INVAL,
               "t.yaml:3:3: unknown key \"http.lisen\" (did you mean \"http.listen\"?)");
    expect_err("log: {levl: info}", ERR_INVAL,
               "t.yaml:1:7: unknown key \"log.levl\" (did you mean \"log.level\"?)");
    expect_err("\n\nretention: 7d\n", ERR_INVAL,
               "t.yaml:3:1: unknown key \"retention\" (did you mean \"storage.retention\"?)");
    expect_err("storage:\n  wal:\n    fsnyc: always\n", ERR_INVAL,
               "t.yaml:3:5: unknown key \"storage.wal.fsnyc\" (did you mean "
               "\"storage.wal.fsync\"?)");
    expect_err("colour: blue", ERR_INVAL, "t.yaml:1:1: unknown key \"colour\"");
    expect_err("http.listen: \"127.0.0.1:1\"", ERR_INVAL,
               "t.yaml:1:1: unknown key \"http.listen\" (dotted keys must be written nested)");
    expect_err("\"a\\nb\": 1", ERR_INVAL, "t.yaml:1:1: unknown key \"a\\x0ab\"");
}

static void test_wrong_types(void **state)
{
    (void)state;
    expect_err("http:\n  max_body_bytes: [1]\n", ERR_INVAL,
               "t.yaml:2:19: http.max_body_bytes: expected a scalar value, got a list");
    expect_err("log:\n  level: {a: b}\n", ERR_INVAL,
               "t.yaml:2:10: log.level: expected a scalar value, got a mapping");
    expect_err("http: 8086\n", ERR_INVAL, "t.yaml:1:7: http: expected a mapping, got a scalar");
    expect_err("storage:\n  - dir\n", ERR_INVAL,
               "t.yaml:2:3: storage: expected a mapping, got a list");
    expect_err("- a\n- b\n", ERR_INVAL,
               "t.yaml:1:1: the file must be a mapping of keys, got a list");
    expect_err("just text\n", ERR_INVAL,
               "t.yaml:1:1: the file must be a mapping of keys, got a scalar");
    expect_err("? [a]\n: b\n", ERR_INVAL, "t.yaml:1:3: keys must be plain strings, got a list");
    expect_err("http:\n  ? {a: 1}\n  : b\n", ERR_INVAL,
               "t.yaml:2:5: http: keys must be plain strings, got a mapping");
    expect_err("log: {level: }\n", ERR_INVAL,
               "t.yaml:1:14: log.level: missing value (expected a scalar value)");
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    expect_err("http:\n  listen: a:1\n  idle_timeout: 1s\n  listen: b:2\n", ERR_INVAL,
               "t.yaml:4:3: http.listen: duplicate key (first at line 2)");
    expect_err("log: {level: info}\nhttp: {}\nlog: {level: warn}\n", ERR_INVAL,
               "t.yaml:3:1: log: duplicate key (first at line 1)");
}

static void test_yaml_syntax_errors(void **state)
{
    (void)state;
    expect_err("http: [1\n", ERR_PARSE,
               "t.yaml:2:1: YAML syntax error: while parsing a flow sequence did not find "
               "expected ',' or ']' (from line 1)");
    expect_err("http:\n  listen: a:1\n bad: 2\n", ERR_PARSE,
               "t.yaml:3:2: YAML syntax error: while parsing a block mapping did not find "
               "expected key (from line 1)");
    expect_err_prefix("http:\n\tlisten: x\n", ERR_PARSE, "t.yaml:2:1: YAML syntax error: ");
    expect_err_prefix("log: {level: \"info}\n", ERR_PARSE, "t.yaml:2:1: YAML syntax error: ");
    /* Invalid UTF-8 is a reader error, which has only an offset. */
    expect_err_prefix("log:\n  level: \xff\n", ERR_PARSE, "t.yaml:2:10: invalid input: ");
}

static void test_aliases_and_documents(void **state)
{
    (void)state;
    expect_err("log: {level: &l info}\nhttp: {version: *l}\n", ERR_INVAL,
               "t.yaml:2:17: http.version: YAML aliases (*l) are not supported");
    expect_err("databases: &d [a]\nhttp:\n  listen: *d\n", ERR_INVAL,
               "t.yaml:3:11: http.listen: YAML aliases (*d) are not supported");
    expect_err("storage: &s {dir: x}\nlog: *s\n", ERR_INVAL,
               "t.yaml:2:6: log: YAML aliases (*s) are not supported");
    /* Billion laughs: never expanded, refused at the first use. */
    expect_err("a: &a [x, x, x, x, x, x, x, x, x]\n"
               "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
               "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
               "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
               "databases: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
               ERR_INVAL, "t.yaml:1:1: unknown key \"a\"");
    expect_err("databases: &a [x]\nlog: {level: info}\n*a : 1\n", ERR_INVAL,
               "t.yaml:3:1: YAML aliases (*a) are not supported");
    expect_err("log: {level: info}\n---\nlog: {level: warn}\n", ERR_PARSE,
               "t.yaml:2:1: a second YAML document; the file must hold one");
    expect_err("---\n...\n---\n", ERR_PARSE,
               "t.yaml:3:1: a second YAML document; the file must hold one");
}

static void test_limits(void **state)
{
    (void)state;
    /* Nesting: 32 levels are parsed (and rejected by the schema), 33 are not. */
    char yaml[256];
    size_t o = (size_t)snprintf(yaml, sizeof yaml, "databases: ");
    for (int i = 0; i < 32; i++)
        yaml[o++] = '[';
    yaml[o] = '\0';
    expect_err("databases: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", ERR_INVAL,
               "t.yaml:1:13: databases: expected a database name, got a list");
    expect_err(yaml, ERR_LIMIT, "t.yaml:1:43: nested deeper than 32 levels");

    /* Node count. */
    size_t cap = 16 + 100001 * 2 + 2;
    char *big = malloc(cap);
    o = (size_t)snprintf(big, cap, "databases: [");
    for (int i = 0; i < 100001; i++) {
        big[o++] = 'x';
        big[o++] = ',';
    }
    big[o - 1] = ']';
    big[o] = '\0';
    expect_err_prefix(big, ERR_LIMIT, "t.yaml:1:");
    free(big);

    /* Size. */
    struct config c;
    struct err e;
    size_t n = CFG_MAX_FILE_BYTES + 1;
    char *huge = malloc(n);
    memset(huge, '#', n);
    config_defaults(&c);
    assert_int_equal(config_load_buf(&c, huge, n, "t.yaml", NULL, &e), ERR_LIMIT);
    assert_string_equal(e.msg, "t.yaml: larger than 1048576 bytes");
    config_fini(&c);
    free(huge);
}

/* Messages stay within struct err and keep their "file:line:col:" start even
 * for huge keys, values and file names. */
static void test_long_messages(void **state)
{
    (void)state;
    char yaml[2200];
    memset(yaml, 'k', 1000); /* libyaml caps simple keys at 1024 chars */
    memcpy(yaml + 1000, ": 1\n", 5);
    struct config c;
    struct err e;
    config_defaults(&c);
    assert_int_equal(config_load_buf(&c, yaml, strlen(yaml), "t.yaml", NULL, &e), ERR_INVAL);
    assert_true(strncmp(e.msg, "t.yaml:1:1: unknown key \"kkkk", 28) == 0);
    assert_non_null(strstr(e.msg, "...\""));
    assert_true(strlen(e.msg) < ERR_MSG_MAX);
    config_fini(&c);

    memcpy(yaml, "log: {level: ", 13);
    memset(yaml + 13, 'v', 2000);
    memcpy(yaml + 2013, "}\n", 3);
    expect_err_prefix(yaml, ERR_INVAL, "t.yaml:1:14: log.level: \"vvvv");

    char name[400];
    memset(name, 'd', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    memcpy(name + sizeof name - 8, "/c.yaml", 8);
    config_defaults(&c);
    assert_int_equal(config_load_buf(&c, "x: 1", 4, name, NULL, &e), ERR_INVAL);
    assert_true(strncmp(e.msg, "...ddd", 6) == 0);
    assert_non_null(strstr(e.msg, "/c.yaml:1:1: unknown key \"x\""));
    config_fini(&c);

    config_defaults(&c);
    assert_int_equal(config_load_buf(&c, "x: 1", 4, NULL, NULL, &e), ERR_INVAL);
    assert_string_equal(e.msg, "<config>:1:1: unknown key \"x\"");
    config_fini(&c);
}

/* Loading over a loaded config replaces lists and strings without leaking,
 * and a failed load leaves c freeable. */
static void test_reload_and_partial_failure(void **state)
{
    (void)state;
    struct config c;
    struct err e;
    static const char a[] = "http: {listen: [a:1, b:2], version: 1.1}\ndatabases: [x, y]\n"
                            "ingest: {udp: {listen: \":1\"}}\nstorage: {dir: d1}\n";
    static const char b[] = "http: {listen: c:3}\ndatabases: [z]\ningest: {udp: {listen: ~}}\n"
                            "storage: {dir: d2}\n";
    config_defaults(&c);
    assert_int_equal(config_load_buf(&c, a, strlen(a), "a", NULL, &e), 0);
    assert_int_equal(config_load_buf(&c, b, strlen(b), "b", NULL, &e), 0);
    assert_int_equal(c.http.nlisten, 1);
    assert_string_equal(c.http.listen[0], "c:3");
    assert_string_equal(c.http.version, "1.1");
    assert_int_equal(c.ndatabases, 1);
    assert_string_equal(c.databases[0], "z");
    assert_null(c.udp.listen);
    assert_string_equal(c.storage.dir, "d2");
    config_fini(&c);

    static const char bad[] = "databases: [p, q]\nhttp: {listen: [\"e:5\"], tls: {cert_file: c}}\n"
                              "log: {level: loud}\n";
    config_defaults(&c);
    assert_int_equal(config_load_buf(&c, bad, strlen(bad), "bad", NULL, &e), ERR_INVAL);
    assert_string_equal(e.msg, "bad:3:14: log.level: \"loud\" is not a level (error, warn, info or "
                               "debug)");
    config_fini(&c);
}

/* config_load: reads the file, names it in messages, resolves against its
 * directory and records c->path. */
static void test_load_file(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    char dir[512], sub[600], path[700];
    snprintf(dir, sizeof dir, "%s/nj_config_test_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/conf", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/nj.yaml", sub);

    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("storage:\n  dir: ../data\n", f);
    fclose(f);
    struct config c;
    struct err e;
    config_defaults(&c);
    assert_int_equal(config_load(&c, path, &e), 0);
    char want[800];
    snprintf(want, sizeof want, "%s/../data", sub);
    assert_string_equal(c.storage.dir, want);
    assert_string_equal(c.path, path);
    config_fini(&c);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("http:\n  listen: \"127.0.0.1:8086\"\n  lisen: 1\n", f);
    fclose(f);
    config_defaults(&c);
    assert_int_equal(config_load(&c, path, &e), ERR_INVAL);
    char wantmsg[900];
    snprintf(wantmsg, sizeof wantmsg,
             "%s:3:3: unknown key \"http.lisen\" (did you mean \"http.listen\"?)", path);
    assert_string_equal(e.msg, wantmsg);
    assert_null(c.path);
    config_fini(&c);

    /* Over the size cap. */
    f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i <= CFG_MAX_FILE_BYTES / 64; i++)
        fputs("# padding padding padding padding padding padding padding paddin\n", f);
    fclose(f);
    config_defaults(&c);
    assert_int_equal(config_load(&c, path, &e), ERR_LIMIT);
    assert_non_null(strstr(e.msg, "larger than 1048576 bytes"));
    config_fini(&c);

    assert_int_equal(unlink(path), 0);
    config_defaults(&c);
    assert_int_equal(config_load(&c, path, &e), ERR_IO);
    snprintf(wantmsg, sizeof wantmsg, "%s: cannot open: No such file or directory", path);
    assert_string_equal(e.msg, wantmsg);
    /* A directory is not a config file. */
    assert_int_equal(config_load(&c, sub, &e), ERR_IO);
    config_fini(&c);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* Uncomments the lines of a shipped config that show a key with its default
 * ("  # idle_timeout: 2m" -> "  idle_timeout: 2m"), leaving prose comments
 * alone.  Caller frees. */
static char *uncomment_keys(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    size_t cap = 1 << 16, o = 0;
    char *out = malloc(cap), line[512];
    assert_non_null(out);
    while (fgets(line, sizeof line, f)) {
        size_t ind = strspn(line, " ");
        const char *p = line + ind;
        if (p[0] == '#' && p[1] == ' ') {
            const char *k = p + 2 + strspn(p + 2, " ");
            size_t kn = strspn(k, "abcdefghijklmnopqrstuvwxyz_");
            if (kn > 0 && k[kn] == ':') {
                /* drop "# ", keep both indents */
                size_t ind2 = (size_t)(k - (p + 2));
                memmove(line + ind + ind2, k, strlen(k) + 1);
                memset(line + ind, ' ', ind2);
            }
        }
        size_t n = strlen(line);
        assert_true(o + n < cap);
        memcpy(out + o, line, n);
        o += n;
    }
    out[o] = '\0';
    fclose(f);
    return out;
}

/* The shipped configs load cleanly (ctest sets NIGHTJAR_SOURCE_DIR). */
static void test_shipped_configs(void **state)
{
    (void)state;
    const char *src = getenv("NIGHTJAR_SOURCE_DIR");
    if (!src || !*src)
        fail_msg("NIGHTJAR_SOURCE_DIR is not set (run through ctest)");
    char path[1024];
    struct config c;
    struct err e;

    snprintf(path, sizeof path, "%s/conf/nightjar.yaml", src);
    config_defaults(&c);
    if (config_load(&c, path, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(c.http.nlisten, 1);
    assert_string_equal(c.http.listen[0], "127.0.0.1:8086");
    char want[1100];
    snprintf(want, sizeof want, "%s/conf/../data", src);
    assert_string_equal(c.storage.dir, want);
    config_fini(&c);

    /* The keys conf/nightjar.yaml shows commented out state their true
     * defaults: uncommented, they load and change nothing but the optional
     * features they switch on. */
    snprintf(path, sizeof path, "%s/conf/nightjar.yaml", src);
    char *all = uncomment_keys(path);
    struct config d;
    config_defaults(&d);
    config_defaults(&c);
    if (config_load_buf(&c, all, strlen(all), "uncommented nightjar.yaml", "/b", &e) != 0)
        fail_msg("%s", e.msg);
    free(all);
    assert_non_null(c.http.tls_cert_file); /* proves the commented keys were read */
    assert_non_null(c.tcp.listen);
    assert_non_null(c.udp.listen);
    assert_non_null(c.alerting_config);
    assert_string_equal(c.http.listen[0], d.http.listen[0]);
    assert_int_equal(c.http.max_body_bytes, d.http.max_body_bytes);
    assert_int_equal(c.http.read_header_timeout_ns, d.http.read_header_timeout_ns);
    assert_int_equal(c.http.idle_timeout_ns, d.http.idle_timeout_ns);
    assert_string_equal(c.http.version, d.http.version);
    assert_int_equal(c.shutdown_grace_ns, d.shutdown_grace_ns);
    assert_int_equal(c.log_level, d.log_level);
    assert_int_equal(c.storage.retention_ns, d.storage.retention_ns);
    assert_int_equal(c.storage.partition_duration_ns, d.storage.partition_duration_ns);
    assert_int_equal(c.storage.fsync, d.storage.fsync);
    assert_int_equal(c.storage.compaction_max_bytes_per_sec,
                     d.storage.compaction_max_bytes_per_sec);
    assert_int_equal(c.ndatabases, 0);
    assert_int_equal(c.ingest_max_pending_bytes, d.ingest_max_pending_bytes);
    assert_string_equal(c.tcp.database, d.tcp.database);
    assert_null(c.tcp.retention_policy);
    assert_int_equal(c.tcp.precision, d.tcp.precision);
    assert_string_equal(c.udp.database, d.udp.database);
    assert_null(c.udp.retention_policy);
    assert_int_equal(c.udp.precision, d.udp.precision);
    assert_int_equal(c.udp.read_buffer_bytes, d.udp.read_buffer_bytes);
    assert_int_equal(c.query.max_series, d.query.max_series);
    assert_int_equal(c.query.max_points_scanned, d.query.max_points_scanned);
    assert_int_equal(c.query.max_buckets, d.query.max_buckets);
    assert_int_equal(c.query.timeout_ns, d.query.timeout_ns);
    assert_int_equal(c.auth_enabled, d.auth_enabled);
    assert_int_equal(c.internal_enabled, d.internal_enabled);
    assert_int_equal(c.internal_interval_ns, d.internal_interval_ns);
    config_fini(&d);
    config_fini(&c);

    static const char *const examples[] = { "full.yaml", "minimal.yaml" };
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        snprintf(path, sizeof path, "%s/conf/examples/%s", src, examples[i]);
        config_defaults(&c);
        if (config_load(&c, path, &e) != 0)
            fail_msg("%s", e.msg);
        config_fini(&c);
    }
}

/* storage.flush.head_bytes, storage.flush.max_age and
 * storage.housekeeping_interval: parsed, positive, unknown neighbours
 * refused. */
static void test_storage_flush_keys(void **state)
{
    (void)state;
    struct config c;
    expect_ok("storage:\n  flush:\n    head_bytes: 1\n    max_age: 5m\n"
              "  housekeeping_interval: 200ms\n",
              &c);
    assert_int_equal(c.storage.flush_head_bytes, 1);
    assert_int_equal(c.storage.flush_max_age_ns, 300 * SEC);
    assert_int_equal(c.storage.housekeeping_interval_ns, 200 * (SEC / 1000));
    config_fini(&c);
    expect_ok("storage: {flush: {head_bytes: 64MiB}}", &c);
    assert_int_equal(c.storage.flush_head_bytes, 64u << 20);
    assert_int_equal(c.storage.flush_max_age_ns, 30 * 60 * SEC);
    assert_int_equal(c.storage.housekeeping_interval_ns, 10 * SEC);
    config_fini(&c);

    expect_err_prefix("storage: {flush: {head_bytes: 0}}", ERR_INVAL,
                      "t.yaml:1:31: storage.flush.head_bytes:");
    expect_err_prefix("storage: {flush: {max_age: 0}}", ERR_INVAL,
                      "t.yaml:1:28: storage.flush.max_age:");
    expect_err_prefix("storage: {flush: {max_age: soon}}", ERR_INVAL,
                      "t.yaml:1:28: storage.flush.max_age: \"soon\" is not a duration");
    expect_err_prefix("storage: {housekeeping_interval: 0s}", ERR_INVAL,
                      "t.yaml:1:34: storage.housekeeping_interval:");
    expect_err_prefix("storage: {flush: {head_byte: 1}}", ERR_INVAL,
                      "t.yaml:1:19: unknown key \"storage.flush.head_byte\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_files),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_listen_scalar_and_list),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_durations_and_sizes),
        cmocka_unit_test(test_storage),
        cmocka_unit_test(test_databases),
        cmocka_unit_test(test_ingest_listeners),
        cmocka_unit_test(test_ingest_tcp_limits),
        cmocka_unit_test(test_query_limits),
        cmocka_unit_test(test_bools_and_levels),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_relative_paths),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_yaml_syntax_errors),
        cmocka_unit_test(test_aliases_and_documents),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_long_messages),
        cmocka_unit_test(test_reload_and_partial_failure),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_storage_flush_keys),
        cmocka_unit_test(test_shipped_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
