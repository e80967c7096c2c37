// SPDX-License-Identifier: MIT
/*
 * The YAML configuration loader (shared/spec/config.md, docs/CONFIGURATION.md).
 *
 * Loading runs in two passes so that no YAML construct can make us recurse
 * or allocate without bound:
 *
 *   1. build(): libyaml's event parser (a heap-stacked state machine, no
 *      recursion) turns the input into a small tree of our own nodes in an
 *      arena.  Only here do we see libyaml; its errors become
 *      "FILE:LINE:COL: YAML syntax error: ...".  Limits: CFG_MAX_FILE_BYTES of
 *      input, CFG_MAX_DEPTH nesting levels, CFG_MAX_NODES nodes.  Aliases are
 *      kept as N_ALIAS leaves and never expanded (no billion laughs); the
 *      walker rejects them wherever they appear.  A second document is an
 *      error.
 *   2. walk_map(): the tree is checked against a static schema (the key
 *      tables below) and each known key's value is parsed into struct config
 *      through common/strparse.  The walker only descends into keys the
 *      schema knows, so its recursion depth is the schema's depth (3).
 *
 * Invariants: every error message starts with "FILE:LINE:COL: " (1-based, of
 * the offending node) and then names the key path ("http.idle_timeout: ...");
 * offending input is quoted with err_quote and truncated so messages fit in
 * struct err.  Every string in struct config is malloc'd and owned by it;
 * setting a key frees the previous value, so a failed load leaves c valid
 * for config_fini.  The arena holding the tree is freed before returning.
 */
#include "daemon/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "common/arena.h"
#include "common/strparse.h"
#include "common/sv.h"
#include "common/xalloc.h"

#define CFG_MAX_DEPTH 32
#define CFG_MAX_NODES 100000
#define CFG_MAX_NAME_BYTES 255  /* database and retention policy names */
#define CFG_MAX_PATH_BYTES 4096
#define CFG_MAX_VERSION_BYTES 64
#define CFG_QUOTE_MAX 48        /* input bytes quoted in a message */

/* ---- pass 1: YAML events to a tree ------------------------------------ */

enum node_type { N_SCALAR, N_SEQ, N_MAP, N_ALIAS };

struct node {
    enum node_type type;
    bool is_null;         /* plain scalar "", "~" or "null" */
    unsigned line, col;   /* 1-based */
    struct sv s;          /* scalar text (NUL-terminated copy in the arena) */
    struct node *first;   /* children; a mapping alternates key, value */
    struct node *last;
    struct node *next;
};

struct ld {
    struct config *c;
    const char *data;
    size_t len;
    char name[112];       /* file name for messages, tail-truncated */
    const char *base_dir; /* NULL = relative paths stay as written */
    struct err *e;
    struct arena a;
    bool dir_set;         /* storage.dir named by the file */
    const struct node *tls_node;
};

static unsigned mark_u(size_t v)
{
    return v >= UINT_MAX ? UINT_MAX : (unsigned)v + 1;
}

/* Formats "NAME:LINE:COL: PATH: msg" into l->e. path may be NULL. */
__attribute__((format(printf, 6, 7))) static int fail_at(struct ld *l, int code, unsigned line,
                                                        unsigned col, const char *path,
                                                        const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(l->e, code, "%s:%u:%u: %s%s%s", l->name, line, col, path ? path : "",
                   path ? ": " : "", msg);
}

static char *quote(char *out, size_t cap, struct sv s)
{
    return err_quote(out, cap, s.p ? s.p : "", s.n, CFG_QUOTE_MAX);
}

/* Line and column (bytes) of a byte offset, for libyaml reader errors, which
 * carry only an offset. */
static void offset_to_mark(const struct ld *l, size_t off, unsigned *line, unsigned *col)
{
    size_t ln = 1, bol = 0;
    if (off > l->len)
        off = l->len;
    for (size_t i = 0; i < off; i++)
        if (l->data[i] == '\n') {
            ln++;
            bol = i + 1;
        }
    *line = ln >= UINT_MAX ? UINT_MAX : (unsigned)ln;
    *col = mark_u(off - bol);
}

static int syntax_error(struct ld *l, const yaml_parser_t *p)
{
    unsigned line, col;
    const char *prob = p->problem ? p->problem : "malformed input";
    if (p->error == YAML_MEMORY_ERROR)
        return err_set(l->e, ERR_NOMEM, "%s: out of memory while parsing YAML", l->name);
    if (p->error == YAML_READER_ERROR) {
        offset_to_mark(l, p->problem_offset, &line, &col);
        if (p->problem_value >= 0)
            return fail_at(l, ERR_PARSE, line, col, NULL, "invalid input: %s (byte 0x%02x)", prob,
                           (unsigned)p->problem_value & 0xffu);
        return fail_at(l, ERR_PARSE, line, col, NULL, "invalid input: %s", prob);
    }
    line = mark_u(p->problem_mark.line);
    col = mark_u(p->problem_mark.column);
    if (p->context)
        return fail_at(l, ERR_PARSE, line, col, NULL, "YAML syntax error: %s %s (from line %u)",
                       p->context, prob, mark_u(p->context_mark.line));
    return fail_at(l, ERR_PARSE, line, col, NULL, "YAML syntax error: %s", prob);
}

static bool plain_is_null(const yaml_event_t *ev)
{
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    struct sv s = sv_make(v, n);
    return n == 0 || sv_eq_cstr(s, "~") || sv_eq_cstr(s, "null") || sv_eq_cstr(s, "Null") ||
           sv_eq_cstr(s, "NULL");
}

static struct node *new_node(struct ld *l, enum node_type t, const yaml_event_t *ev)
{
    struct node *n = arena_try_alloc(&l->a, sizeof *n);
    if (!n)
        return NULL;
    memset(n, 0, sizeof *n);
    n->type = t;
    n->line = mark_u(ev->start_mark.line);
    n->col = mark_u(ev->start_mark.column);
    if (t == N_SCALAR) {
        const char *v = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        char *copy = arena_try_alloc(&l->a, len + 1);
        if (!copy)
            return NULL;
        if (len)
            memcpy(copy, v, len);
        copy[len] = '\0';
        n->s = sv_make(copy, len);
        n->is_null = plain_is_null(ev);
    } else if (t == N_ALIAS) {
        const char *v = (const char *)ev->data.alias.anchor;
        n->s = arena_sv_dup(&l->a, sv_cstr(v));
    }
    return n;
}

static int build(struct ld *l, struct node **root)
{
    yaml_parser_t p;
    yaml_event_t ev;
    struct node *stack[CFG_MAX_DEPTH];
    size_t depth = 0, nnodes = 0;
    int ndocs = 0, rc = 0;

    *root = NULL;
    if (!yaml_parser_initialize(&p))
        return err_set(l->e, ERR_NOMEM, "%s: out of memory", l->name);
    yaml_parser_set_input_string(&p, (const unsigned char *)l->data, l->len);
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(l, &p);
            break;
        }
        bool done = false;
        struct node *n = NULL;
        enum node_type t = N_SCALAR;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++ndocs > 1)
                rc = fail_at(l, ERR_PARSE, mark_u(ev.start_mark.line),
                             mark_u(ev.start_mark.column), NULL,
                             "a second YAML document; the file must hold one");
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--; /* the parser guarantees balance */
            break;
        case YAML_SCALAR_EVENT:
        case YAML_ALIAS_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            t = ev.type == YAML_SCALAR_EVENT           ? N_SCALAR
                : ev.type == YAML_ALIAS_EVENT          ? N_ALIAS
                : ev.type == YAML_SEQUENCE_START_EVENT ? N_SEQ
                                                       : N_MAP;
            if (++nnodes > CFG_MAX_NODES) {
                rc = fail_at(l, ERR_LIMIT, mark_u(ev.start_mark.line),
                             mark_u(ev.start_mark.column), NULL, "more than %d YAML nodes",
                             CFG_MAX_NODES);
                break;
            }
            if ((t == N_SEQ || t == N_MAP) && depth == CFG_MAX_DEPTH) {
                rc = fail_at(l, ERR_LIMIT, mark_u(ev.start_mark.line),
                             mark_u(ev.start_mark.column), NULL, "nested deeper than %d levels",
                             CFG_MAX_DEPTH);
                break;
            }
            n = new_node(l, t, &ev);
            if (!n)
                rc = err_set(l->e, ERR_LIMIT, "%s: configuration too large", l->name);
            break;
        default: /* stream start, document end */
            break;
        }
        if (n) {
            if (depth == 0) {
                *root = n;
            } else {
                struct node *parent = stack[depth - 1];
                if (parent->last)
                    parent->last->next = n;
                else
                    parent->first = n;
                parent->last = n;
            }
            if (t == N_SEQ || t == N_MAP)
                stack[depth++] = n;
        }
        yaml_event_delete(&ev);
        if (rc || done)
            break;
    }
    yaml_parser_delete(&p);
    return rc;
}

/* ---- pass 2: the schema ----------------------------------------------- */

enum kind {
    K_SECTION,
    K_PATH,        /* char *, resolved against the config dir */
    K_LISTEN,      /* char *, one address */
    K_LISTEN_LIST, /* http.listen: one address or a list */
    K_VERSION,
    K_DUR,         /* int64_t ns, >= 0 */
    K_DUR_POS,     /* int64_t ns, > 0 */
    K_SIZE,        /* uint64_t bytes, >= 0 */
    K_SIZE_POS,    /* uint64_t bytes, > 0 */
    K_UDPBUF,      /* uint64_t bytes, <= INT_MAX */
    K_SIZE_INT,    /* uint64_t bytes, > 0 and <= INT_MAX */
    K_COUNT,       /* uint64_t, integer or 1e9 notation */
    K_BOOL,
    K_LOGLEVEL,
    K_RETENTION,
    K_PARTITION,
    K_FSYNC,
    K_DBLIST,
    K_NAME,        /* char *, database or retention policy name */
    K_PRECISION,
};

#define F_NULLABLE 1u /* null (`key:` or `~`) unsets the value */
#define F_TLS 2u      /* the http.tls section, checked as a pair */
#define F_DIR 4u      /* storage.dir */

struct key {
    const char *name;
    enum kind kind;
    size_t off; /* into struct config */
    unsigned flags;
    const struct key *sub;
};

#define OFF(m) offsetof(struct config, m)

static const struct key tls_keys[] = {
    { "cert_file", K_PATH, OFF(http.tls_cert_file), F_NULLABLE, NULL },
    { "key_file", K_PATH, OFF(http.tls_key_file), F_NULLABLE, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key http_keys[] = {
    { "listen", K_LISTEN_LIST, 0, 0, NULL },
    { "max_body_bytes", K_SIZE_POS, OFF(http.max_body_bytes), 0, NULL },
    { "read_header_timeout", K_DUR_POS, OFF(http.read_header_timeout_ns), 0, NULL },
    { "idle_timeout", K_DUR_POS, OFF(http.idle_timeout_ns), 0, NULL },
    { "tls", K_SECTION, 0, F_TLS, tls_keys },
    { "version", K_VERSION, OFF(http.version), 0, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key log_keys[] = {
    { "level", K_LOGLEVEL, OFF(log_level), 0, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key wal_keys[] = {
    { "fsync", K_FSYNC, 0, 0, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key compaction_keys[] = {
    { "max_bytes_per_sec", K_SIZE, OFF(storage.compaction_max_bytes_per_sec), 0, NULL },
    { "min_parts", K_COUNT, OFF(storage.compaction_min_parts), 0, NULL },
    { "cold_after", K_DUR_POS, OFF(storage.compaction_cold_after_ns), 0, NULL },
    { "start_delay", K_DUR, OFF(storage.compaction_start_delay_ns), 0, NULL },
    { "stagger", K_DUR, OFF(storage.compaction_stagger_ns), 0, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key flush_keys[] = {
    { "head_bytes", K_SIZE_POS, OFF(storage.flush_head_bytes), 0, NULL },
    { "max_age", K_DUR_POS, OFF(storage.flush_max_age_ns), 0, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key storage_keys[] = {
    { "dir", K_PATH, OFF(storage.dir), F_DIR, NULL },
    { "retention", K_RETENTION, OFF(storage.retention_ns), 0, NULL },
    { "partition_duration", K_PARTITION, OFF(storage.partition_duration_ns), 0, NULL },
    { "wal", K_SECTION, 0, 0, wal_keys },
    { "compaction", K_SECTION, 0, 0, compaction_keys },
    { "flush", K_SECTION, 0, 0, flush_keys },
    { "housekeeping_interval", K_DUR_POS, OFF(storage.housekeeping_interval_ns), 0, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key tcp_keys[] = {
    { "listen", K_LISTEN, OFF(tcp.listen), F_NULLABLE, NULL },
    { "database", K_NAME, OFF(tcp.database), F_NULLABLE, NULL },
    { "retention_policy", K_NAME, OFF(tcp.retention_policy), F_NULLABLE, NULL },
    { "precision", K_PRECISION, OFF(tcp.precision), 0, NULL },
    { "read_buffer_bytes", K_UDPBUF, OFF(tcp.read_buffer_bytes), 0, NULL },
    { "max_line_bytes", K_SIZE_INT, OFF(tcp.max_line_bytes), 0, NULL },
    { "max_connections", K_COUNT, OFF(tcp.max_connections), 0, NULL },
    { "batch_bytes", K_SIZE_INT, OFF(tcp.batch_bytes), 0, NULL },
    { "batch_timeout", K_DUR_POS, OFF(tcp.batch_timeout_ns), 0, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key udp_keys[] = {
    { "listen", K_LISTEN, OFF(udp.listen), F_NULLABLE, NULL },
    { "database", K_NAME, OFF(udp.database), F_NULLABLE, NULL },
    { "retention_policy", K_NAME, OFF(udp.retention_policy), F_NULLABLE, NULL },
    { "precision", K_PRECISION, OFF(udp.precision), 0, NULL },
    { "read_buffer_bytes", K_UDPBUF, OFF(udp.read_buffer_bytes), 0, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key ingest_keys[] = {
    { "max_pending_bytes", K_SIZE_POS, OFF(ingest_max_pending_bytes), 0, NULL },
    { "tcp", K_SECTION, 0, 0, tcp_keys },
    { "udp", K_SECTION, 0, 0, udp_keys },
    { NULL, 0, 0, 0, NULL },
};
static const struct key query_keys[] = {
    { "max_series", K_COUNT, OFF(query.max_series), 0, NULL },
    { "max_points_scanned", K_COUNT, OFF(query.max_points_scanned), 0, NULL },
    { "max_buckets", K_COUNT, OFF(query.max_buckets), 0, NULL },
    { "timeout", K_DUR, OFF(query.timeout_ns), 0, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key auth_keys[] = {
    { "enabled", K_BOOL, OFF(auth_enabled), 0, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key internal_keys[] = {
    { "enabled", K_BOOL, OFF(internal_enabled), 0, NULL },
    { "interval", K_DUR_POS, OFF(internal_interval_ns), 0, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key alerting_keys[] = {
    { "config", K_PATH, OFF(alerting_config), F_NULLABLE, NULL },
    { NULL, 0, 0, 0, NULL },
};
static const struct key top_keys[] = {
    { "http", K_SECTION, 0, 0, http_keys },
    { "shutdown_grace", K_DUR, OFF(shutdown_grace_ns), 0, NULL },
    { "log", K_SECTION, 0, 0, log_keys },
    { "storage", K_SECTION, 0, 0, storage_keys },
    { "databases", K_DBLIST, 0, 0, NULL },
    { "ingest", K_SECTION, 0, 0, ingest_keys },
    { "query", K_SECTION, 0, 0, query_keys },
    { "auth", K_SECTION, 0, 0, auth_keys },
    { "internal", K_SECTION, 0, 0, internal_keys },
    { "alerting", K_SECTION, 0, 0, alerting_keys },
    { NULL, 0, 0, 0, NULL },
};

/* ---- "did you mean" ----------------------------------------------------- */

#define SUGGEST_MAX 64

/* Edit distance of two short strings (each capped at SUGGEST_MAX bytes). */
static size_t edit_distance(const char *a, size_t an, const char *b, size_t bn)
{
    size_t row[SUGGEST_MAX + 1];
    if (an > SUGGEST_MAX)
        an = SUGGEST_MAX;
    if (bn > SUGGEST_MAX)
        bn = SUGGEST_MAX;
    for (size_t j = 0; j <= bn; j++)
        row[j] = j;
    for (size_t i = 1; i <= an; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[bn];
}

struct suggest {
    const char *full;  /* the unknown key's full path */
    const char *leaf;  /* the unknown key alone */
    char best[SUGGEST_MAX + 1];
    size_t best_score;
};

static void suggest_walk(struct suggest *sg, const struct key *tab, const char *prefix)
{
    for (const struct key *k = tab; k->name; k++) {
        char path[SUGGEST_MAX + 1];
        int pn = snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k->name);
        if (pn < 0 || (size_t)pn >= sizeof path)
            continue;
        size_t d = edit_distance(sg->full, strlen(sg->full), path, (size_t)pn);
        /* A key that exists elsewhere under its exact name ("retention" at
         * the top level) is a near miss too. */
        if (strcmp(sg->leaf, k->name) == 0 && d > 1)
            d = 1;
        if (d < sg->best_score) {
            sg->best_score = d;
            memcpy(sg->best, path, (size_t)pn + 1);
        }
        if (k->sub)
            suggest_walk(sg, k->sub, path);
    }
}

static int unknown_key(struct ld *l, const struct node *k, const char *prefix)
{
    char full[SUGGEST_MAX + 1], q[CFG_QUOTE_MAX * 4 + 112];
    struct suggest sg = { .full = full, .leaf = k->s.p, .best_score = (size_t)-1 };
    if (snprintf(full, sizeof full, "%s%s%.*s", prefix, *prefix ? "." : "",
                 (int)(k->s.n > SUGGEST_MAX ? SUGGEST_MAX : k->s.n), k->s.p) < 0)
        full[0] = '\0';
    char qname[CFG_QUOTE_MAX * 4 + 8];
    quote(qname, sizeof qname, k->s);
    if (snprintf(q, sizeof q, "%s%s%s", prefix, *prefix ? "." : "", qname) < 0)
        q[0] = '\0';
    suggest_walk(&sg, top_keys, "");
    size_t limit = strlen(full) / 4;
    if (limit < 2)
        limit = 2;
    if (sg.best_score == 0)
        return fail_at(l, ERR_INVAL, k->line, k->col, NULL,
                       "unknown key \"%s\" (dotted keys must be written nested)", q);
    if (sg.best_score <= limit)
        return fail_at(l, ERR_INVAL, k->line, k->col, NULL,
                       "unknown key \"%s\" (did you mean \"%s\"?)", q, sg.best);
    return fail_at(l, ERR_INVAL, k->line, k->col, NULL, "unknown key \"%s\"", q);
}

/* ---- value parsers ------------------------------------------------------ */

static const char *type_name(const struct node *n)
{
    switch (n->type) {
    case N_SEQ:
        return "a list";
    case N_MAP:
        return "a mapping";
    case N_ALIAS:
        return "an alias";
    default:
        return n->is_null ? "nothing" : "a scalar";
    }
}

static int alias_error(struct ld *l, const struct node *n, const char *path)
{
    char q[CFG_QUOTE_MAX * 4 + 8];
    return fail_at(l, ERR_INVAL, n->line, n->col, path,
                   "YAML aliases (*%s) are not supported", quote(q, sizeof q, n->s));
}

/* Checks that n is a scalar and returns its text in *s.  A null value is an
 * error unless nullable; *is_null tells which. */
static int scalar(struct ld *l, const struct node *n, const char *path, bool nullable,
                  const char *what, struct sv *s, bool *is_null)
{
    if (n->type == N_ALIAS)
        return alias_error(l, n, path);
    if (n->type != N_SCALAR)
        return fail_at(l, ERR_INVAL, n->line, n->col, path, "expected %s, got %s", what,
                       type_name(n));
    if (n->is_null && !nullable)
        return fail_at(l, ERR_INVAL, n->line, n->col, path, "missing value (expected %s)", what);
    *s = n->s;
    if (is_null)
        *is_null = n->is_null;
    return 0;
}

static bool has_ctl(struct sv s)
{
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch < 0x20 || ch == 0x7f)
            return true;
    }
    return false;
}

static void set_str(char **dst, char *v)
{
    free(*dst);
    *dst = v;
}

/* Joins base_dir and a relative path ("./x" loses its "./"). */
static char *resolve_path(const char *base_dir, struct sv s)
{
    if (!base_dir || !*base_dir || (s.n && s.p[0] == '/'))
        return sv_dup(s);
    while (s.n >= 2 && s.p[0] == '.' && s.p[1] == '/') {
        s.p += 2;
        s.n -= 2;
        while (s.n && s.p[0] == '/') {
            s.p++;
            s.n--;
        }
    }
    if (s.n == 0 || (s.n == 1 && s.p[0] == '.'))
        return xstrdup(base_dir);
    size_t bn = strlen(base_dir);
    bool slash = base_dir[bn - 1] == '/';
    char *out = xmalloc(bn + !slash + s.n + 1);
    memcpy(out, base_dir, bn);
    if (!slash)
        out[bn++] = '/';
    memcpy(out + bn, s.p, s.n);
    out[bn + s.n] = '\0';
    return out;
}

static int check_listen(struct ld *l, const struct node *n, const char *path, struct sv s)
{
    char q[CFG_QUOTE_MAX * 4 + 8];
    struct sv host, port;
    const char *why = NULL;
    if (s.n == 0 || has_ctl(s) || memchr(s.p, ' ', s.n)) {
        why = "is not a host:port address";
    } else if (s.p[0] == '[') {
        const char *rb = memchr(s.p, ']', s.n);
        size_t after = rb ? (size_t)(rb - s.p) + 1 : 0;
        if (!rb || after >= s.n || s.p[after] != ':')
            why = "is not a [IPv6]:port address";
        host = sv_make(s.p + 1, rb ? (size_t)(rb - s.p) - 1 : 0);
        port = rb && after < s.n ? sv_make(s.p + after + 1, s.n - after - 1) : SV_NULL;
        if (!why && host.n == 0)
            why = "has an empty IPv6 address";
    } else {
        const char *colon = NULL;
        for (size_t i = s.n; i > 0; i--)
            if (s.p[i - 1] == ':') {
                colon = s.p + i - 1;
                break;
            }
        if (!colon) {
            why = "needs a port (host:port)";
        } else {
            host = sv_make(s.p, (size_t)(colon - s.p));
            port = sv_make(colon + 1, s.n - host.n - 1);
            if (memchr(host.p, ':', host.n))
                why = "has an IPv6 address without [brackets]";
        }
    }
    if (!why) {
        uint64_t pv;
        if (strp_u64(port, &pv) != 0 || pv > 65535)
            why = "has a bad port (0-65535)";
    }
    if (why)
        return fail_at(l, ERR_INVAL, n->line, n->col, path, "\"%s\" %s", quote(q, sizeof q, s),
                       why);
    return 0;
}

static int check_name(struct ld *l, const struct node *n, const char *path, struct sv s)
{
    char q[CFG_QUOTE_MAX * 4 + 8];
    if (s.n == 0)
        return fail_at(l, ERR_INVAL, n->line, n->col, path, "empty name");
    if (s.n > CFG_MAX_NAME_BYTES)
        return fail_at(l, ERR_INVAL, n->line, n->col, path, "name longer than %d bytes",
                       CFG_MAX_NAME_BYTES);
    if (has_ctl(s))
        return fail_at(l, ERR_INVAL, n->line, n->col, path,
                       "\"%s\" contains control characters", quote(q, sizeof q, s));
    return 0;
}

static int parse_listen_list(struct ld *l, const struct node *v, const char *path)
{
    struct cfg_http *h = &l->c->http;
    const struct node *items[CFG_MAX_LISTEN];
    size_t n = 0;
    if (v->type == N_SEQ) {
        for (const struct node *it = v->first; it; it = it->next) {
            if (n == CFG_MAX_LISTEN)
                return fail_at(l, ERR_LIMIT, it->line, it->col, path,
                               "more than %d addresses", CFG_MAX_LISTEN);
            items[n++] = it;
        }
        if (n == 0)
            return fail_at(l, ERR_INVAL, v->line, v->col, path, "empty list (need an address)");
    } else {
        items[n++] = v;
    }
    for (size_t i = 0; i < n; i++) {
        struct sv s;
        int rc = scalar(l, items[i], path, false, "an address", &s, NULL);
        if (rc == 0)
            rc = check_listen(l, items[i], path, s);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (sv_eq(items[j]->s, s))
                return fail_at(l, ERR_INVAL, items[i]->line, items[i]->col, path,
                               "duplicate address (first at line %u)", items[j]->line);
    }
    for (size_t i = 0; i < h->nlisten; i++)
        set_str(&h->listen[i], NULL);
    for (size_t i = 0; i < n; i++)
        h->listen[i] = sv_dup(items[i]->s);
    h->nlisten = n;
    return 0;
}

static int parse_dblist(struct ld *l, const struct node *v, const char *path)
{
    struct config *c = l->c;
    const struct node *items[CFG_MAX_DATABASES];
    size_t n = 0;
    if (v->type == N_ALIAS)
        return alias_error(l, v, path);
    if (!(v->type == N_SCALAR && v->is_null)) {
        if (v->type != N_SEQ)
            return fail_at(l, ERR_INVAL, v->line, v->col, path, "expected a list of names, got %s",
                           type_name(v));
        for (const struct node *it = v->first; it; it = it->next) {
            if (n == CFG_MAX_DATABASES)
                return fail_at(l, ERR_LIMIT, it->line, it->col, path,
                               "more than %d databases", CFG_MAX_DATABASES);
            struct sv s;
            int rc = scalar(l, it, path, false, "a database name", &s, NULL);
            if (rc == 0)
                rc = check_name(l, it, path, s);
            if (rc)
                return rc;
            for (size_t j = 0; j < n; j++)
                if (sv_eq(items[j]->s, s)) {
                    char q[CFG_QUOTE_MAX * 4 + 8];
                    return fail_at(l, ERR_INVAL, it->line, it->col, path,
                                   "duplicate database \"%s\" (first at line %u)",
                                   quote(q, sizeof q, s), items[j]->line);
                }
            items[n++] = it;
        }
    }
    for (size_t i = 0; i < c->ndatabases; i++)
        set_str(&c->databases[i], NULL);
    for (size_t i = 0; i < n; i++)
        c->databases[i] = sv_dup(items[i]->s);
    c->ndatabases = n;
    return 0;
}

static int parse_duration(struct ld *l, const struct node *n, const char *path, struct sv s,
                          bool positive, int64_t *out)
{
    char q[CFG_QUOTE_MAX * 4 + 8];
    int64_t ns;
    int rc = strp_duration(s, &ns);
    if (rc == ERR_LIMIT)
        return fail_at(l, ERR_INVAL, n->line, n->col, path, "duration \"%s\" is too large",
                       quote(q, sizeof q, s));
    if (rc)
        return fail_at(l, ERR_INVAL, n->line, n->col, path,
                       "\"%s\" is not a duration (like 90s, 1h30m; units ns us ms s m h d w)",
                       quote(q, sizeof q, s));
    if (positive && ns == 0)
        return fail_at(l, ERR_INVAL, n->line, n->col, path, "must be greater than 0");
    *out = ns;
    return 0;
}

static int parse_size(struct ld *l, const struct node *n, const char *path, struct sv s,
                      uint64_t max, bool positive, uint64_t *out)
{
    char q[CFG_QUOTE_MAX * 4 + 8];
    uint64_t v;
    int rc = strp_size(s, &v);
    if (rc == ERR_LIMIT || (rc == 0 && v > max))
        return fail_at(l, ERR_INVAL, n->line, n->col, path, "size \"%s\" is too large",
                       quote(q, sizeof q, s));
    if (rc)
        return fail_at(l, ERR_INVAL, n->line, n->col, path,
                       "\"%s\" is not a size (like 1048576, 512KiB, 25MiB, 1GiB)",
                       quote(q, sizeof q, s));
    if (positive && v == 0)
        return fail_at(l, ERR_INVAL, n->line, n->col, path, "must be greater than 0");
    *out = v;
    return 0;
}

static int parse_count(struct ld *l, const struct node *n, const char *path, struct sv s,
                       uint64_t *out)
{
    char q[CFG_QUOTE_MAX * 4 + 8];
    uint64_t v;
    int rc = strp_u64(s, &v);
    if (rc == ERR_PARSE) {
        /* "1e9": accept a float only when it is a whole number in range. */
        double d;
        bool digits = s.n && s.p[0] >= '0' && s.p[0] <= '9';
        for (size_t i = 0; i < s.n && digits; i++) /* no hex, inf or nan */
            digits = strchr("0123456789.eE+-", s.p[i]) != NULL && s.p[i] != '\0';
        if (digits && strp_f64(s, &d) == 0 && d >= 0 && d < 18446744073709551616.0 &&
            (double)(uint64_t)d == d) {
            *out = (uint64_t)d;
            return 0;
        }
    }
    if (rc == ERR_LIMIT)
        return fail_at(l, ERR_INVAL, n->line, n->col, path, "\"%s\" is too large",
                       quote(q, sizeof q, s));
    if (rc)
        return fail_at(l, ERR_INVAL, n->line, n->col, path,
                       "\"%s\" is not a whole number (like 100000 or 1e9)", quote(q, sizeof q, s));
    *out = v;
    return 0;
}

static int parse_precision(struct ld *l, const struct node *n, const char *path, struct sv s,
                           enum cfg_precision *out)
{
    static const struct {
        const char *name;
        enum cfg_precision p;
    } tab[] = {
        { "ns", CFG_PREC_NS }, { "n", CFG_PREC_NS },       { "us", CFG_PREC_US },
        { "u", CFG_PREC_US },  { "\xc2\xb5", CFG_PREC_US }, { "\xc2\xb5s", CFG_PREC_US },
        { "ms", CFG_PREC_MS }, { "s", CFG_PREC_S },         { "m", CFG_PREC_M },
        { "h", CFG_PREC_H },
    };
    char q[CFG_QUOTE_MAX * 4 + 8];
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (sv_eq_cstr(s, tab[i].name)) {
            *out = tab[i].p;
            return 0;
        }
    return fail_at(l, ERR_INVAL, n->line, n->col, path,
                   "\"%s\" is not a precision (ns, us, ms, s, m or h)", quote(q, sizeof q, s));
}

static int walk_map(struct ld *l, const struct node *m, const struct key *tab, const char *prefix);

static int apply(struct ld *l, const struct key *k, const struct node *v, const char *path)
{
    char q[CFG_QUOTE_MAX * 4 + 8];
    void *dst = (char *)l->c + k->off;
    struct sv s = SV_NULL;
    bool is_null = false;
    int rc;

    switch (k->kind) {
    case K_SECTION:
        if (v->type == N_SCALAR && v->is_null)
            return 0; /* a section with every key commented out */
        if (v->type == N_ALIAS)
            return alias_error(l, v, path);
        if (v->type != N_MAP)
            return fail_at(l, ERR_INVAL, v->line, v->col, path, "expected a mapping, got %s",
                           type_name(v));
        if (k->flags & F_TLS)
            l->tls_node = v;
        return walk_map(l, v, k->sub, path);
    case K_LISTEN_LIST:
        return parse_listen_list(l, v, path);
    case K_DBLIST:
        return parse_dblist(l, v, path);
    default:
        break;
    }

    rc = scalar(l, v, path, (k->flags & F_NULLABLE) != 0, "a scalar value", &s, &is_null);
    if (rc)
        return rc;
    if (is_null) { /* only nullable string keys get here */
        set_str(dst, NULL);
        return 0;
    }
    switch (k->kind) {
    case K_PATH:
        if (s.n == 0)
            return fail_at(l, ERR_INVAL, v->line, v->col, path, "empty path");
        if (s.n > CFG_MAX_PATH_BYTES)
            return fail_at(l, ERR_INVAL, v->line, v->col, path, "path longer than %d bytes",
                           CFG_MAX_PATH_BYTES);
        if (has_ctl(s))
            return fail_at(l, ERR_INVAL, v->line, v->col, path,
                           "\"%s\" contains control characters", quote(q, sizeof q, s));
        set_str(dst, resolve_path(l->base_dir, s));
        if (k->flags & F_DIR)
            l->dir_set = true;
        return 0;
    case K_LISTEN:
        rc = check_listen(l, v, path, s);
        if (rc == 0)
            set_str(dst, sv_dup(s));
        return rc;
    case K_NAME:
        rc = check_name(l, v, path, s);
        if (rc == 0)
            set_str(dst, sv_dup(s));
        return rc;
    case K_VERSION: {
        bool bad = s.n > CFG_MAX_VERSION_BYTES;
        for (size_t i = 0; i < s.n && !bad; i++)
            bad = s.p[i] <= ' ' || s.p[i] > '~';
        if (bad || !sv_starts_with(s, SV_LIT("1.")))
            return fail_at(l, ERR_INVAL, v->line, v->col, path,
                           "\"%s\" must look like 1.8.10 (start with \"1.\", no spaces)",
                           quote(q, sizeof q, s));
        set_str(dst, sv_dup(s));
        return 0;
    }
    case K_DUR:
    case K_DUR_POS:
        return parse_duration(l, v, path, s, k->kind == K_DUR_POS, dst);
    case K_SIZE:
    case K_SIZE_POS:
        return parse_size(l, v, path, s, UINT64_MAX, k->kind == K_SIZE_POS, dst);
    case K_UDPBUF:
        return parse_size(l, v, path, s, INT_MAX, false, dst);
    case K_SIZE_INT:
        return parse_size(l, v, path, s, INT_MAX, true, dst);
    case K_COUNT:
        return parse_count(l, v, path, s, dst);
    case K_BOOL:
        if (strp_bool(s, dst) != 0)
            return fail_at(l, ERR_INVAL, v->line, v->col, path,
                           "\"%s\" is not a boolean (true or false)", quote(q, sizeof q, s));
        return 0;
    case K_LOGLEVEL:
        if (log_level_parse(s.p, s.n, dst) != 0)
            return fail_at(l, ERR_INVAL, v->line, v->col, path,
                           "\"%s\" is not a level (error, warn, info or debug)",
                           quote(q, sizeof q, s));
        return 0;
    case K_RETENTION:
        if (sv_case_eq(s, "INF")) {
            *(int64_t *)dst = CFG_DURATION_INF;
            return 0;
        }
        return parse_duration(l, v, path, s, true, dst);
    case K_PARTITION:
        if (sv_eq_cstr(s, "auto")) {
            *(int64_t *)dst = 0;
            return 0;
        }
        return parse_duration(l, v, path, s, true, dst);
    case K_FSYNC: {
        struct cfg_storage *st = &l->c->storage;
        if (sv_eq_cstr(s, "always")) {
            st->fsync = CFG_FSYNC_ALWAYS;
            st->fsync_interval_ns = 0;
            return 0;
        }
        if (sv_starts_with(s, SV_LIT("interval:"))) {
            struct sv d = sv_trim(sv_make(s.p + 9, s.n - 9));
            int64_t ns;
            rc = parse_duration(l, v, path, d, true, &ns);
            if (rc == 0) {
                st->fsync = CFG_FSYNC_INTERVAL;
                st->fsync_interval_ns = ns;
            }
            return rc;
        }
        return fail_at(l, ERR_INVAL, v->line, v->col, path,
                       "\"%s\" is not \"always\" or \"interval:<duration>\"",
                       quote(q, sizeof q, s));
    }
    case K_PRECISION:
        return parse_precision(l, v, path, s, dst);
    default:
        return fail_at(l, ERR_INVAL, v->line, v->col, path, "internal: unhandled key kind");
    }
}

static int walk_map(struct ld *l, const struct node *m, const struct key *tab, const char *prefix)
{
    for (const struct node *kn = m->first; kn; kn = kn->next ? kn->next->next : NULL) {
        const struct node *v = kn->next; /* a mapping always has pairs */
        if (kn->type == N_ALIAS)
            return alias_error(l, kn, prefix[0] ? prefix : NULL);
        if (kn->type != N_SCALAR)
            return fail_at(l, ERR_INVAL, kn->line, kn->col, prefix[0] ? prefix : NULL,
                           "keys must be plain strings, got %s", type_name(kn));
        const struct key *k = NULL;
        for (const struct key *t = tab; t->name; t++)
            if (sv_eq_cstr(kn->s, t->name)) {
                k = t;
                break;
            }
        if (!k)
            return unknown_key(l, kn, prefix);
        char path[96];
        snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", k->name);
        /* Earlier keys are all known (else we failed), so this scan is short. */
        for (const struct node *p = m->first; p != kn; p = p->next->next)
            if (sv_eq(p->s, kn->s))
                return fail_at(l, ERR_INVAL, kn->line, kn->col, path,
                               "duplicate key (first at line %u)", p->line);
        int rc = apply(l, k, v, path);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- public ------------------------------------------------------------- */

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    c->http.listen[0] = xstrdup("127.0.0.1:8086");
    c->http.nlisten = 1;
    c->http.max_body_bytes = 25u << 20;
    c->http.read_header_timeout_ns = 10LL * 1000000000LL;
    c->http.idle_timeout_ns = 120LL * 1000000000LL;
    c->http.version = xstrdup("1.8.10");
    c->shutdown_grace_ns = 10LL * 1000000000LL;
    c->log_level = LOG_INFO;
    c->storage.dir = xstrdup("./data");
    c->storage.retention_ns = 30LL * 86400LL * 1000000000LL;
    c->storage.partition_duration_ns = 0;
    c->storage.fsync = CFG_FSYNC_ALWAYS;
    c->storage.fsync_interval_ns = 0;
    c->storage.compaction_max_bytes_per_sec = 32u << 20;
    c->storage.compaction_min_parts = 8;
    c->storage.compaction_cold_after_ns = 2LL * 3600 * 1000000000LL;
    c->storage.compaction_start_delay_ns = 60LL * 1000000000LL;
    c->storage.compaction_stagger_ns = 10LL * 1000000000LL;
    c->storage.flush_head_bytes = 32u << 20;
    c->storage.flush_max_age_ns = 30LL * 60 * 1000000000LL;
    c->storage.housekeeping_interval_ns = 10LL * 1000000000LL;
    c->ingest_max_pending_bytes = 256u << 20;
    c->tcp.database = xstrdup("tcp");
    c->tcp.precision = CFG_PREC_NS;
    c->tcp.max_line_bytes = 64u << 10;
    c->tcp.max_connections = 1024;
    c->tcp.batch_bytes = 1u << 20;
    c->tcp.batch_timeout_ns = 100LL * 1000000LL;
    c->udp.database = xstrdup("udp");
    c->udp.precision = CFG_PREC_NS;
    c->query.max_series = 100000;
    c->query.max_points_scanned = 1000000000;
    c->query.max_buckets = 100000;
    c->query.timeout_ns = 60LL * 1000000000LL;
    c->auth_enabled = false;
    c->internal_enabled = true;
    c->internal_interval_ns = 10LL * 1000000000LL;
    c->alerting_config = NULL;
}

void config_fini(struct config *c)
{
    free(c->path);
    for (size_t i = 0; i < c->http.nlisten; i++)
        free(c->http.listen[i]);
    free(c->http.tls_cert_file);
    free(c->http.tls_key_file);
    free(c->http.version);
    free(c->storage.dir);
    for (size_t i = 0; i < c->ndatabases; i++)
        free(c->databases[i]);
    struct cfg_listener *ls[] = { &c->tcp, &c->udp };
    for (size_t i = 0; i < 2; i++) {
        free(ls[i]->listen);
        free(ls[i]->database);
        free(ls[i]->retention_policy);
    }
    free(c->alerting_config);
    memset(c, 0, sizeof *c);
}

/* The name messages start with; a long one keeps its tail ("...dir/x.yaml"),
 * the part that tells files apart. */
static void set_name(struct ld *l, const char *name)
{
    if (!name || !*name)
        name = "<config>";
    size_t n = strlen(name);
    if (n >= sizeof l->name) {
        size_t keep = sizeof l->name - 4;
        memcpy(l->name, "...", 3);
        memcpy(l->name + 3, name + n - keep, keep + 1);
    } else {
        memcpy(l->name, name, n + 1);
    }
}

int config_load_buf(struct config *c, const char *data, size_t len, const char *name,
                    const char *base_dir, struct err *e)
{
    struct ld l = { .c = c, .data = data, .len = len, .base_dir = base_dir, .e = e };
    struct node *root = NULL;
    int rc;

    err_clear(e);
    set_name(&l, name);
    if (!data) /* libyaml insists on a buffer */
        l.data = data = "";
    if (len > CFG_MAX_FILE_BYTES)
        return err_set(e, ERR_LIMIT, "%s: larger than %u bytes", l.name, CFG_MAX_FILE_BYTES);
    arena_init(&l.a, 0, (size_t)CFG_MAX_FILE_BYTES * 16);
    rc = build(&l, &root);
    if (rc == 0 && root) {
        if (root->type == N_MAP)
            rc = walk_map(&l, root, top_keys, "");
        else if (!(root->type == N_SCALAR && root->is_null))
            rc = fail_at(&l, ERR_INVAL, root->line, root->col, NULL,
                         "the file must be a mapping of keys, got %s", type_name(root));
    }
    if (rc == 0 && l.tls_node) {
        bool has_cert = c->http.tls_cert_file != NULL, has_key = c->http.tls_key_file != NULL;
        if (has_cert != has_key)
            rc = fail_at(&l, ERR_INVAL, l.tls_node->line, l.tls_node->col, "http.tls",
                         "cert_file and key_file must be set together");
    }
    if (rc == 0 && !l.dir_set && c->storage.dir && c->storage.dir[0] != '/') {
        char *d = resolve_path(base_dir, sv_cstr(c->storage.dir));
        set_str(&c->storage.dir, d);
    }
    arena_fini(&l.a);
    return rc;
}

int config_load(struct config *c, const char *path, struct err *e)
{
    struct ld l = { .e = e };
    char *data = NULL, *dir = NULL;
    int rc;

    set_name(&l, path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, ERR_IO, "%s: cannot open: %s", l.name, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, ERR_IO, "%s: not a regular file", l.name);
    }
    if ((uint64_t)st.st_size > CFG_MAX_FILE_BYTES) {
        close(fd);
        return err_set(e, ERR_LIMIT, "%s: larger than %u bytes", l.name, CFG_MAX_FILE_BYTES);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    data = xmalloc(cap);
    for (;;) {
        ssize_t r = read(fd, data + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = err_set(e, ERR_IO, "%s: read failed: %s", l.name, strerror(errno));
            close(fd);
            free(data);
            return rc;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == cap) { /* the file grew since fstat */
            close(fd);
            free(data);
            return err_set(e, ERR_LIMIT, "%s: changed while being read", l.name);
        }
    }
    close(fd);

    const char *slash = strrchr(path, '/');
    if (slash)
        dir = slash == path ? xstrdup("/") : sv_dup(sv_make(path, (size_t)(slash - path)));
    rc = config_load_buf(c, data, len, path, dir, e);
    if (rc == 0)
        set_str(&c->path, xstrdup(path));
    free(dir);
    free(data);
    return rc;
}
