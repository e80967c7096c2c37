// SPDX-License-Identifier: MIT
/*
 * Metrics registry (see metrics.h).  Values are doubles stored as their bit
 * patterns in 64-bit atomics and updated with compare-and-swap, so updates
 * never take a lock.  Families form a list in registration order; children a
 * list per family.  Output follows the Prometheus text format 0.0.4: HELP and
 * TYPE lines, label values escaped (\\, \", \n), histograms cumulative with
 * an le="+Inf" bucket, _sum and _count.
 */
#include "common/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "common/xalloc.h"

struct metric {
    struct metric *next;
    struct metric_family *fam;
    char *values[METRICS_MAX_LABELS];
    uint64_t bits;                         /* counter/gauge value, histogram sum */
    uint64_t count;                        /* histogram count */
    uint64_t buckets[METRICS_MAX_BUCKETS]; /* non-cumulative */
};

struct metric_family {
    struct metric_family *next;
    enum metric_type type;
    char *name;
    char *help;
    size_t nlabels;
    char *labels[METRICS_MAX_LABELS];
    size_t nbuckets;
    double bounds[METRICS_MAX_BUCKETS];
    metrics_value_cb fn;
    void *fn_arg;
    struct metric *children;
    struct metric *last_child;
};

struct metrics_registry {
    pthread_mutex_t mu;
    struct metric_family *head, *tail;
};

static const double default_buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                           0.1,    0.25,  0.5,    1,     2.5,  5,     10 };

static inline double from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static inline uint64_t to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

struct metrics_registry *metrics_registry_new(void)
{
    struct metrics_registry *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void metrics_registry_free(struct metrics_registry *r)
{
    if (!r)
        return;
    struct metric_family *f = r->head;
    while (f) {
        struct metric_family *fn = f->next;
        struct metric *m = f->children;
        while (m) {
            struct metric *mn = m->next;
            for (size_t i = 0; i < f->nlabels; i++)
                free(m->values[i]);
            free(m);
            m = mn;
        }
        for (size_t i = 0; i < f->nlabels; i++)
            free(f->labels[i]);
        free(f->name);
        free(f->help);
        free(f);
        f = fn;
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static size_t split_labels(const char *labels, char **out)
{
    size_t n = 0;
    if (!labels || !*labels)
        return 0;
    const char *p = labels;
    while (*p && n < METRICS_MAX_LABELS) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        out[n] = xmalloc(len + 1);
        memcpy(out[n], p, len);
        out[n][len] = '\0';
        n++;
        if (!c)
            break;
        p = c + 1;
    }
    return n;
}

static int same_labels(const struct metric_family *f, char **labels, size_t n)
{
    if (f->nlabels != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(f->labels[i], labels[i]) != 0)
            return 0;
    return 1;
}

struct metric_family *metrics_family(struct metrics_registry *r, enum metric_type type,
                                     const char *name, const char *help, const char *labels,
                                     const double *buckets, size_t nbuckets)
{
    char *lab[METRICS_MAX_LABELS];
    size_t nl = split_labels(labels, lab);
    struct metric_family *f;
    pthread_mutex_lock(&r->mu);
    for (f = r->head; f; f = f->next) {
        if (strcmp(f->name, name) == 0)
            break;
    }
    if (f) {
        if (f->type != type || !same_labels(f, lab, nl))
            f = NULL;
        for (size_t i = 0; i < nl; i++)
            free(lab[i]);
        pthread_mutex_unlock(&r->mu);
        return f;
    }
    f = xcalloc(1, sizeof *f);
    f->type = type;
    f->name = xstrdup(name);
    f->help = xstrdup(help ? help : "");
    f->nlabels = nl;
    memcpy(f->labels, lab, nl * sizeof lab[0]);
    if (type == METRIC_HISTOGRAM) {
        if (!buckets) {
            buckets = default_buckets;
            nbuckets = sizeof default_buckets / sizeof default_buckets[0];
        }
        if (nbuckets > METRICS_MAX_BUCKETS)
            nbuckets = METRICS_MAX_BUCKETS;
        f->nbuckets = nbuckets;
        memcpy(f->bounds, buckets, nbuckets * sizeof *buckets);
    }
    if (r->tail)
        r->tail->next = f;
    else
        r->head = f;
    r->tail = f;
    pthread_mutex_unlock(&r->mu);
    return f;
}

/* The family's registry lock is not reachable from the family, so children
 * use a process-wide lock; creation is rare (once per label set). */
static pthread_mutex_t child_mu = PTHREAD_MUTEX_INITIALIZER;

struct metric *metrics_child(struct metric_family *f, size_t n, const char *const *values)
{
    if (n != f->nlabels)
        return NULL;
    pthread_mutex_lock(&child_mu);
    struct metric *m;
    for (m = f->children; m; m = m->next) {
        size_t i;
        for (i = 0; i < n; i++)
            if (strcmp(m->values[i], values[i]) != 0)
                break;
        if (i == n)
            break;
    }
    if (!m) {
        m = xcalloc(1, sizeof *m);
        m->fam = f;
        for (size_t i = 0; i < n; i++)
            m->values[i] = xstrdup(values[i]);
        /* Publish fully built; readers walk the list without the lock. */
        if (f->last_child)
            __atomic_store_n(&f->last_child->next, m, __ATOMIC_RELEASE);
        else
            __atomic_store_n(&f->children, m, __ATOMIC_RELEASE);
        f->last_child = m;
    }
    pthread_mutex_unlock(&child_mu);
    return m;
}

struct metric *metrics_child1(struct metric_family *f, const char *v1)
{
    const char *v[1] = { v1 };
    return metrics_child(f, 1, v);
}

struct metric *metrics_child2(struct metric_family *f, const char *v1, const char *v2)
{
    const char *v[2] = { v1, v2 };
    return metrics_child(f, 2, v);
}

static struct metric *simple(struct metrics_registry *r, enum metric_type t, const char *name,
                             const char *help, const double *b, size_t nb)
{
    struct metric_family *f = metrics_family(r, t, name, help, NULL, b, nb);
    return f ? metrics_child(f, 0, NULL) : NULL;
}

struct metric *metrics_counter(struct metrics_registry *r, const char *name, const char *help)
{
    return simple(r, METRIC_COUNTER, name, help, NULL, 0);
}

struct metric *metrics_gauge(struct metrics_registry *r, const char *name, const char *help)
{
    return simple(r, METRIC_GAUGE, name, help, NULL, 0);
}

struct metric *metrics_histogram(struct metrics_registry *r, const char *name, const char *help,
                                 const double *buckets, size_t nbuckets)
{
    return simple(r, METRIC_HISTOGRAM, name, help, buckets, nbuckets);
}

void metrics_gauge_fn(struct metrics_registry *r, const char *name, const char *help,
                      metrics_value_cb fn, void *arg)
{
    struct metric_family *f = metrics_family(r, METRIC_GAUGE, name, help, NULL, NULL, 0);
    if (f) {
        pthread_mutex_lock(&r->mu);
        f->fn = fn;
        f->fn_arg = arg;
        pthread_mutex_unlock(&r->mu);
    }
}

static void add_bits(uint64_t *bits, double v)
{
    uint64_t old = __atomic_load_n(bits, __ATOMIC_RELAXED), nw;
    do {
        nw = to_bits(from_bits(old) + v);
    } while (!__atomic_compare_exchange_n(bits, &old, nw, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

void metric_inc(struct metric *m)
{
    add_bits(&m->bits, 1.0);
}

void metric_add(struct metric *m, double v)
{
    add_bits(&m->bits, v);
}

void metric_set(struct metric *m, double v)
{
    __atomic_store_n(&m->bits, to_bits(v), __ATOMIC_RELAXED);
}

void metric_observe(struct metric *m, double v)
{
    const struct metric_family *f = m->fam;
    size_t i = 0;
    while (i < f->nbuckets && v > f->bounds[i])
        i++;
    if (i < f->nbuckets)
        __atomic_add_fetch(&m->buckets[i], 1, __ATOMIC_RELAXED);
    add_bits(&m->bits, v);
    __atomic_add_fetch(&m->count, 1, __ATOMIC_RELAXED);
}

double metric_value(const struct metric *m)
{
    return from_bits(__atomic_load_n(&m->bits, __ATOMIC_RELAXED));
}

uint64_t metric_hist_count(const struct metric *m)
{
    return __atomic_load_n(&m->count, __ATOMIC_RELAXED);
}

static int write_escaped(struct buf *out, const char *s, int is_help)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        if (*s == '\\')
            rc = buf_append_str(out, "\\\\");
        else if (*s == '\n')
            rc = buf_append_str(out, "\\n");
        else if (*s == '"' && !is_help)
            rc = buf_append_str(out, "\\\"");
        else
            rc = buf_append_char(out, *s);
    }
    return rc;
}

static int write_value(struct buf *out, double v)
{
    if (isnan(v))
        return buf_append_str(out, "NaN");
    if (isinf(v))
        return buf_append_str(out, v > 0 ? "+Inf" : "-Inf");
    char g[40];
    json_shortest_g(v, g, sizeof g);
    return buf_append_str(out, g);
}

/* name{l1="v1",...[,le="x"]} value\n */
static int write_sample(struct buf *out, const struct metric_family *f, const char *suffix,
                        const struct metric *m, const char *le, double v)
{
    int rc = buf_appendf(out, "%s%s", f->name, suffix);
    size_t nl = m ? f->nlabels : 0;
    if (nl || le) {
        rc |= buf_append_char(out, '{');
        for (size_t i = 0; i < nl; i++) {
            rc |= buf_appendf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
            rc |= write_escaped(out, m->values[i], 0);
            rc |= buf_append_char(out, '"');
        }
        if (le)
            rc |= buf_appendf(out, "%sle=\"%s\"", nl ? "," : "", le);
        rc |= buf_append_char(out, '}');
    }
    rc |= buf_append_char(out, ' ');
    rc |= write_value(out, v);
    rc |= buf_append_char(out, '\n');
    return rc ? ERR_LIMIT : 0;
}

int metrics_write_prometheus(struct metrics_registry *r, struct buf *out)
{
    static const char *const tnames[] = { "counter", "gauge", "histogram" };
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    for (struct metric_family *f = r->head; f && rc == 0; f = f->next) {
        struct metric *first = __atomic_load_n(&f->children, __ATOMIC_ACQUIRE);
        if (!first && !f->fn)
            continue;
        rc |= buf_appendf(out, "# HELP %s ", f->name);
        rc |= write_escaped(out, f->help, 1);
        rc |= buf_appendf(out, "\n# TYPE %s %s\n", f->name, tnames[f->type]);
        if (f->fn) {
            rc |= write_sample(out, f, "", NULL, NULL, f->fn(f->fn_arg));
            continue;
        }
        for (struct metric *m = first; m; m = __atomic_load_n(&m->next, __ATOMIC_ACQUIRE)) {
            if (f->type != METRIC_HISTOGRAM) {
                rc |= write_sample(out, f, "", m, NULL, metric_value(m));
                continue;
            }
            uint64_t cum = 0;
            for (size_t i = 0; i < f->nbuckets; i++) {
                char le[40];
                cum += __atomic_load_n(&m->buckets[i], __ATOMIC_RELAXED);
                json_shortest_g(f->bounds[i], le, sizeof le);
                rc |= write_sample(out, f, "_bucket", m, le, (double)cum);
            }
            uint64_t count = metric_hist_count(m);
            rc |= write_sample(out, f, "_bucket", m, "+Inf", (double)count);
            rc |= write_sample(out, f, "_sum", m, NULL, metric_value(m));
            rc |= write_sample(out, f, "_count", m, NULL, (double)count);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc ? ERR_LIMIT : 0;
}

void metrics_visit(struct metrics_registry *r, metrics_visit_cb fn, void *arg)
{
    pthread_mutex_lock(&r->mu);
    for (struct metric_family *f = r->head; f; f = f->next) {
        const char *const *ln = (const char *const *)f->labels;
        if (f->fn) {
            fn(arg, f->name, 0, NULL, NULL, f->fn(f->fn_arg));
            continue;
        }
        for (struct metric *m = __atomic_load_n(&f->children, __ATOMIC_ACQUIRE); m;
             m = __atomic_load_n(&m->next, __ATOMIC_ACQUIRE)) {
            const char *const *lv = (const char *const *)m->values;
            if (f->type != METRIC_HISTOGRAM) {
                fn(arg, f->name, f->nlabels, ln, lv, metric_value(m));
                continue;
            }
            char nm[256];
            snprintf(nm, sizeof nm, "%s_sum", f->name);
            fn(arg, nm, f->nlabels, ln, lv, metric_value(m));
            snprintf(nm, sizeof nm, "%s_count", f->name);
            fn(arg, nm, f->nlabels, ln, lv, (double)metric_hist_count(m));
        }
    }
    pthread_mutex_unlock(&r->mu);
}
