// SPDX-License-Identifier: MIT
/* Unit tests for common/metrics: families, children, concurrent updates
 * and the exact text exposition output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "common/metrics.h"

static void test_exposition(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    struct metric *c = metrics_counter(r, "nj_points_total", "Points accepted.");
    metric_add(c, 41);
    metric_inc(c);
    struct metric_family *f =
        metrics_family(r, METRIC_COUNTER, "nj_requests_total", "Requests.", "route,status", NULL, 0);
    metric_inc(metrics_child2(f, "/write", "204"));
    metric_inc(metrics_child2(f, "/write", "204"));
    metric_inc(metrics_child2(f, "/q\"x", "400"));
    double bk[] = { 0.1, 1 };
    struct metric *h = metrics_histogram(r, "nj_latency_seconds", "Latency.", bk, 2);
    metric_observe(h, 0.05);
    metric_observe(h, 0.5);
    metric_observe(h, 5);
    struct metric *g = metrics_gauge(r, "nj_open", "Open\nthings.");
    metric_set(g, 3);
    metric_add(g, -1);
    /* Same name and shape returns the same family; other shapes refuse. */
    assert_ptr_equal(metrics_counter(r, "nj_points_total", "x"), c);
    assert_null(metrics_family(r, METRIC_GAUGE, "nj_points_total", "x", NULL, NULL, 0));
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(metrics_write_prometheus(r, &b), 0);
    const char *want =
        "# HELP nj_points_total Points accepted.\n"
        "# TYPE nj_points_total counter\n"
        "nj_points_total 42\n"
        "# HELP nj_requests_total Requests.\n"
        "# TYPE nj_requests_total counter\n"
        "nj_requests_total{route=\"/write\",status=\"204\"} 2\n"
        "nj_requests_total{route=\"/q\\\"x\",status=\"400\"} 1\n"
        "# HELP nj_latency_seconds Latency.\n"
        "# TYPE nj_latency_seconds histogram\n"
        "nj_latency_seconds_bucket{le=\"0.1\"} 1\n"
        "nj_latency_seconds_bucket{le=\"1\"} 2\n"
        "nj_latency_seconds_bucket{le=\"+Inf\"} 3\n"
        "nj_latency_seconds_sum 5.55\n"
        "nj_latency_seconds_count 3\n"
        "# HELP nj_open Open\\nthings.\n"
        "# TYPE nj_open gauge\n"
        "nj_open 2\n";
    assert_string_equal(b.p, want);
    buf_fini(&b);
    metrics_registry_free(r);
}

static double fn_value(void *arg)
{
    return *(double *)arg;
}

static void test_gauge_fn(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    double v = 7.5;
    metrics_gauge_fn(r, "nj_fn", "Computed.", fn_value, &v);
    struct buf b;
    buf_init(&b, 0);
    metrics_write_prometheus(r, &b);
    assert_non_null(strstr(b.p, "nj_fn 7.5\n"));
    buf_fini(&b);
    metrics_registry_free(r);
}

struct worker {
    struct metric *c, *h;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 100000; i++) {
        metric_inc(w->c);
        metric_observe(w->h, 0.001);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    struct worker w = { metrics_counter(r, "nj_c_total", "c"),
                        metrics_histogram(r, "nj_h_seconds", "h", NULL, 0) };
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, &w);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_true(metric_value(w.c) == 400000.0);
    assert_int_equal(metric_hist_count(w.h), 400000);
    metrics_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exposition),
        cmocka_unit_test(test_gauge_fn),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
