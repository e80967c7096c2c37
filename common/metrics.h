// SPDX-License-Identifier: MIT
/*
 * The metrics registry every module reports into, served at /metrics in the
 * Prometheus text exposition format (version 0.0.4) and written into the
 * _internal database.
 *
 * A family has a name, help, type and fixed label names; a child is one set of
 * label values.  Families and children are created under a mutex and never
 * freed before the registry, so modules look a child up once and keep the
 * pointer.  Updating a child is lock-free (atomics) from any thread.
 * Registering an existing name again with the same type and labels returns the
 * existing family, so modules may register idempotently.
 */
#ifndef NJ_COMMON_METRICS_H
#define NJ_COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics_registry;
struct metric_family;
struct metric;

typedef double (*metrics_value_cb)(void *arg);

#define METRICS_MAX_LABELS 4
#define METRICS_MAX_BUCKETS 24

struct metrics_registry *metrics_registry_new(void);
/* Frees the registry and every family and child.  NULL is a no-op. */
void metrics_registry_free(struct metrics_registry *r);

/* Finds or creates a family.  labels: comma-separated label names ("" or NULL
 * for none, at most METRICS_MAX_LABELS).  buckets: upper bounds, ascending,
 * for histograms only (NULL = default latency buckets in seconds).  Returns
 * NULL if the name exists with another type or labels (a programming error
 * the caller asserts on).  Any thread. */
struct metric_family *metrics_family(struct metrics_registry *r, enum metric_type type,
                                     const char *name, const char *help, const char *labels,
                                     const double *buckets, size_t nbuckets);
/* Finds or creates the child with these label values (count must equal the
 * family's label count; values are copied).  Any thread. */
struct metric *metrics_child(struct metric_family *f, size_t n, const char *const *values);
struct metric *metrics_child1(struct metric_family *f, const char *v1);
struct metric *metrics_child2(struct metric_family *f, const char *v1, const char *v2);

/* Unlabelled shortcuts: family plus its only child. */
struct metric *metrics_counter(struct metrics_registry *r, const char *name, const char *help);
struct metric *metrics_gauge(struct metrics_registry *r, const char *name, const char *help);
struct metric *metrics_histogram(struct metrics_registry *r, const char *name, const char *help,
                                 const double *buckets, size_t nbuckets);
/* A gauge whose value is computed at scrape time by fn(arg) (called with the
 * registry lock held; must be quick and thread-safe). */
void metrics_gauge_fn(struct metrics_registry *r, const char *name, const char *help,
                      metrics_value_cb fn, void *arg);

void metric_inc(struct metric *m);
void metric_add(struct metric *m, double v);
void metric_set(struct metric *m, double v);
void metric_observe(struct metric *m, double v);
/* Current value of a counter or gauge; a histogram's sum. */
double metric_value(const struct metric *m);
uint64_t metric_hist_count(const struct metric *m);

/* Appends the whole registry in the text exposition format. */
int metrics_write_prometheus(struct metrics_registry *r, struct buf *out);

/* Visits every sample (histograms as _bucket/_sum/_count) for writers such
 * as the _internal database.  labels: "k=v,k2=v2" style pairs, borrowed for
 * the call only. */
typedef void (*metrics_visit_cb)(void *arg, const char *name, size_t nlabels,
                                 const char *const *label_names, const char *const *label_values,
                                 double value);
void metrics_visit(struct metrics_registry *r, metrics_visit_cb fn, void *arg);

#endif
