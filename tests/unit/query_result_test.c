// SPDX-License-Identifier: MIT
/*
 * Unit tests for query/result.c driven through its sink (qx_enc): the
 * buffered JSON path that writes rows straight into the output and
 * truncates a failed statement back to its opening, rows that mix
 * fixed-size values with strings and RFC3339 times (the fast row writer
 * falls back mid-row), and CSV numbers.  Expected bytes follow influxd
 * 1.6's encoding (Go encoding/json, strconv 'f' -1 for CSV).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/fmt_float.h"
#include "query/exec.h"

static const struct sv cols3[] = { SV_LIT("time"), SV_LIT("a"), SV_LIT("b") };

static struct qx_series series3(const struct qx_value *v, size_t nrows)
{
    return (struct qx_series){ .name = SV_LIT("m"), .columns = cols3, .ncolumns = 3, .values = v,
                               .nrows = nrows };
}

static void test_rows_mixed(void **state)
{
    (void)state;
    struct qx_value v[] = {
        { .kind = QX_TIME, .i = INT64_C(1704067200000000000) }, { .kind = QX_FLOAT, .f = 0.1 },
        { .kind = QX_STRING, .s = SV_LIT("x\"<") },
        { .kind = QX_TIME, .i = INT64_C(1704067200500000000) }, { .kind = QX_STRING, .s = SV_LIT("") },
        { .kind = QX_BOOL, .b = true },
        { .kind = QX_TIME, .i = -1 }, { .kind = QX_NULL }, { .kind = QX_FLOAT, .f = NAN },
        { .kind = QX_TIME, .i = 0 }, { .kind = QX_UINT, .u = UINT64_MAX },
        { .kind = QX_INT, .i = INT64_MIN },
    };
    for (int epoch = 0; epoch < 2; epoch++) {
        struct buf out;
        buf_init(&out, 0);
        struct qx_enc x;
        qx_enc_init(&x, QX_FMT_JSON, &out, epoch ? 1000000 : 0, false, false, NULL, NULL);
        struct qx_series s = series3(v, 4);
        assert_int_equal(x.sink.series(&x.sink, 0, &s), 0);
        struct qx_stmt_end end = { .stmt_id = 0, .is_last = true };
        assert_int_equal(x.sink.end(&x.sink, &end), 0);
        assert_int_equal(qx_enc_finish(&x), 0);
        if (epoch)
            assert_string_equal(out.p,
                "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"m\",\"columns\":"
                "[\"time\",\"a\",\"b\"],\"values\":[[1704067200000,0.1,\"x\\\"\\u003c\"],"
                "[1704067200500,\"\",true],[0,null,null],[0,18446744073709551615,"
                "-9223372036854775808]]}]}]}\n");
        else
            assert_string_equal(out.p,
                "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"m\",\"columns\":"
                "[\"time\",\"a\",\"b\"],\"values\":[[\"2024-01-01T00:00:00Z\",0.1,\"x\\\"\\u003c\"],"
                "[\"2024-01-01T00:00:00.5Z\",\"\",true],[\"1969-12-31T23:59:59.999999999Z\",null,null],"
                "[\"1970-01-01T00:00:00Z\",18446744073709551615,-9223372036854775808]]}]}]}\n");
        qx_enc_fini(&x);
        buf_fini(&out);
    }
}

/* Statement 0 succeeds, 1 fails after sending rows (its rows vanish), 2 is
 * "not executed"-style with no rows, 3 succeeds in two pieces. */
static void test_failed_statement_discarded(void **state)
{
    (void)state;
    struct qx_value v[] = {
        { .kind = QX_TIME, .i = 1000000 }, { .kind = QX_FLOAT, .f = 1e21 }, { .kind = QX_FLOAT, .f = 1e-7 },
        { .kind = QX_TIME, .i = 2000000 }, { .kind = QX_FLOAT, .f = -0.0 }, { .kind = QX_INT, .i = 7 },
    };
    struct buf out;
    buf_init(&out, 0);
    struct qx_enc x;
    qx_enc_init(&x, QX_FMT_JSON, &out, 1000000, false, false, NULL, NULL);
    struct qx_series s = series3(v, 2);
    assert_int_equal(x.sink.series(&x.sink, 0, &s), 0);
    struct qx_stmt_end e0 = { .stmt_id = 0 };
    assert_int_equal(x.sink.end(&x.sink, &e0), 0);
    s.is_continued = true;
    assert_int_equal(x.sink.series(&x.sink, 1, &s), 0);
    struct qx_stmt_end e1 = { .stmt_id = 1, .error = "boom" };
    assert_int_equal(x.sink.end(&x.sink, &e1), 0);
    struct qx_stmt_end e2 = { .stmt_id = 2, .error = "later" };
    assert_int_equal(x.sink.end(&x.sink, &e2), 0);
    s.is_continued = true;
    s.nrows = 1;
    assert_int_equal(x.sink.series(&x.sink, 3, &s), 0);
    s.is_continued = false;
    s.values = v + 3;
    assert_int_equal(x.sink.series(&x.sink, 3, &s), 0);
    struct qx_message msg = { .level = "warning", .text = SV_LIT("deprecated") };
    struct qx_stmt_end e3 = { .stmt_id = 3, .messages = &msg, .nmessages = 1, .is_last = true };
    assert_int_equal(x.sink.end(&x.sink, &e3), 0);
    assert_int_equal(qx_enc_finish(&x), 0);
    assert_string_equal(out.p,
        "{\"results\":["
        "{\"statement_id\":0,\"series\":[{\"name\":\"m\",\"columns\":[\"time\",\"a\",\"b\"],"
        "\"values\":[[1,1e+21,1e-7],[2,-0,7]]}]},"
        "{\"statement_id\":1,\"error\":\"not executed\"},"
        "{\"statement_id\":2,\"error\":\"not executed\"},"
        "{\"statement_id\":3,\"series\":[{\"name\":\"m\",\"columns\":[\"time\",\"a\",\"b\"],"
        "\"values\":[[1,1e+21,1e-7],[2,-0,7]]}],"
        "\"messages\":[{\"level\":\"warning\",\"text\":\"deprecated\"}]}]}\n");
    qx_enc_fini(&x);
    buf_fini(&out);

    /* the last statement failing after rows: its error text is kept */
    buf_init(&out, 0);
    qx_enc_init(&x, QX_FMT_JSON, &out, 0, false, true, NULL, NULL);
    s.values = v;
    s.nrows = 2;
    assert_int_equal(x.sink.series(&x.sink, 0, &s), 0);
    struct qx_stmt_end el = { .stmt_id = 0, .error = "query-timeout limit exceeded", .is_last = true };
    assert_int_equal(x.sink.end(&x.sink, &el), 0);
    assert_int_equal(qx_enc_finish(&x), 0);
    assert_string_equal(out.p, "{\n    \"results\": [\n        {\n            \"statement_id\": 0,\n"
                               "            \"error\": \"query-timeout limit exceeded\"\n        }\n"
                               "    ]\n}\n");
    qx_enc_fini(&x);
    buf_fini(&out);
}

/* Many rows: the output grows past several reallocations intact. */
/* render_rows writes exactly the rows series() would write, series() copies
 * rendered rows as given, and near the output cap it formats the values
 * itself so the limit falls where it always did. */
static void test_rendered_rows(void **state)
{
    (void)state;
    struct qx_value v[] = {
        { .kind = QX_TIME, .i = INT64_C(1704067200000000000) }, { .kind = QX_FLOAT, .f = 0.1 },
        { .kind = QX_INT, .i = -3 },
        { .kind = QX_TIME, .i = INT64_C(1704067500000000000) }, { .kind = QX_NULL },
        { .kind = QX_UINT, .u = 7 },
    };
    struct qx_enc x;
    struct buf out, text;
    buf_init(&out, 0);
    buf_init(&text, 0);
    qx_enc_init(&x, QX_FMT_JSON, &out, 1000000, false, false, NULL, NULL);
    struct qx_series s = series3(v, 2);
    assert_non_null(x.sink.render_rows);
    assert_int_equal(x.sink.render_rows(&x.sink, &s, &text), 0);
    assert_string_equal(text.p, "[1704067200000,0.1,-3],[1704067500000,null,7]");
    /* The copy is what lands in the answer (a marker proves it is used). */
    s.rendered = SV_LIT("[1,2,3]");
    assert_int_equal(x.sink.series(&x.sink, 0, &s), 0);
    s.is_continued = false;
    s.rendered = buf_sv(&text);
    struct qx_series s2 = s;
    s2.name = SV_LIT("n");
    assert_int_equal(x.sink.series(&x.sink, 0, &s2), 0);
    struct qx_stmt_end end = { .stmt_id = 0, .is_last = true };
    assert_int_equal(x.sink.end(&x.sink, &end), 0);
    assert_int_equal(qx_enc_finish(&x), 0);
    assert_string_equal(out.p,
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"m\",\"columns\":"
        "[\"time\",\"a\",\"b\"],\"values\":[[1,2,3]]},{\"name\":\"n\",\"columns\":"
        "[\"time\",\"a\",\"b\"],\"values\":[[1704067200000,0.1,-3],[1704067500000,null,7]]}]}]}\n");
    qx_enc_fini(&x);
    /* Near the cap: the values are formatted (the marker is not used). */
    size_t head = strlen("{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"m\","
                         "\"columns\":[\"time\",\"a\",\"b\"],\"values\":[");
    struct buf capped;
    buf_init(&capped, head + 5);
    qx_enc_init(&x, QX_FMT_JSON, &capped, 1000000, false, false, NULL, NULL);
    s = series3(v, 2);
    s.rendered = SV_LIT("[1,2,3]");
    assert_int_equal(x.sink.series(&x.sink, 0, &s), ERR_LIMIT);
    assert_null(strstr(capped.p, "[1,2"));
    qx_enc_fini(&x);
    /* CSV declines. */
    qx_enc_init(&x, QX_FMT_CSV, &out, 0, false, false, NULL, NULL);
    buf_reset(&text);
    assert_int_not_equal(x.sink.render_rows(&x.sink, &s, &text), 0);
    qx_enc_fini(&x);
    buf_fini(&capped);
    buf_fini(&out);
    buf_fini(&text);
}

/* Floats print as fmt_f64_json prints them, whichever way the encoder
 * takes (short decimals have a path of their own): decimals with 0-6
 * places around every power of ten the fast path spans, their
 * neighbours one ulp away, and arbitrary doubles. */
static void test_float_text(void **state)
{
    (void)state;
    enum { N = 60000 };
    static struct qx_value v[N * 2];
    uint64_t seed = 88172645463325252u;
    size_t n = 0;
    while (n < N) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        double x;
        int kind = (int)(seed % 4);
        int places = (int)((seed >> 8) % 7);
        double scale = pow(10, (int)((seed >> 16) % 17) - 6);
        int64_t m = (int64_t)((seed >> 24) % 100000000);
        if (kind == 0)
            x = (double)m / pow(10, places) * (seed & 1 ? 1 : -1);
        else if (kind == 1)
            x = nextafter((double)m / pow(10, places), seed & 2 ? INFINITY : 0);
        else if (kind == 2)
            x = (double)(seed >> 11) / (double)(1ull << 53) * scale;
        else
            memcpy(&x, &seed, sizeof x);
        if (!isfinite(x))
            continue;
        v[2 * n] = (struct qx_value){ .kind = QX_TIME, .i = (int64_t)n * 1000000 };
        v[2 * n + 1] = (struct qx_value){ .kind = QX_FLOAT, .f = x };
        n++;
    }
    static const struct sv cols[] = { SV_LIT("time"), SV_LIT("v") };
    struct qx_series s = { .name = SV_LIT("m"), .columns = cols, .ncolumns = 2, .values = v,
                           .nrows = N };
    struct buf text, want;
    buf_init(&text, 0);
    buf_init(&want, 0);
    struct qx_enc x;
    struct buf out;
    buf_init(&out, 0);
    qx_enc_init(&x, QX_FMT_JSON, &out, 1000000, false, false, NULL, NULL);
    assert_int_equal(x.sink.render_rows(&x.sink, &s, &text), 0);
    for (size_t i = 0; i < N; i++) {
        char f[FMT_JSON_MAX + 1];
        size_t fl = fmt_f64_json(v[2 * i + 1].f, f);
        buf_appendf(&want, "%s[%zu,%.*s]", i ? "," : "", i, (int)fl, f);
    }
    if (strcmp(text.p, want.p) != 0) {
        size_t at = 0;
        while (text.p[at] == want.p[at])
            at++;
        at = at > 40 ? at - 40 : 0;
        fail_msg("got ...%.80s\nwant ...%.80s", text.p + at, want.p + at);
    }
    qx_enc_fini(&x);
    buf_fini(&out);
    buf_fini(&text);
    buf_fini(&want);
}

static void test_many_rows(void **state)
{
    (void)state;
    enum { N = 20000 };
    static struct qx_value v[N * 3];
    for (int i = 0; i < N; i++) {
        v[3 * i] = (struct qx_value){ .kind = QX_TIME, .i = (int64_t)i * 1000000000 };
        v[3 * i + 1] = (struct qx_value){ .kind = QX_FLOAT, .f = i / 8.0 };
        v[3 * i + 2] = (struct qx_value){ .kind = QX_INT, .i = -i };
    }
    struct buf out, want;
    buf_init(&out, 0);
    buf_init(&want, 0);
    struct qx_enc x;
    qx_enc_init(&x, QX_FMT_JSON, &out, 1000000000, false, false, NULL, NULL);
    struct qx_series s = series3(v, N);
    assert_int_equal(x.sink.series(&x.sink, 0, &s), 0);
    struct qx_stmt_end end = { .stmt_id = 0, .is_last = true };
    assert_int_equal(x.sink.end(&x.sink, &end), 0);
    assert_int_equal(qx_enc_finish(&x), 0);
    buf_appendf(&want, "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"m\",\"columns\":"
                       "[\"time\",\"a\",\"b\"],\"values\":[");
    for (int i = 0; i < N; i++) {
        char f[32];
        snprintf(f, sizeof f, "%.17g", i / 8.0); /* exact eighths print short */
        buf_appendf(&want, "%s[%d,%s,%d]", i ? "," : "", i, f, -i);
    }
    buf_appendf(&want, "]}],\"partial\":true}]}\n");
    /* > 10000 rows: 1.6's "partial" on the series, not the result */
    char *p = strstr(want.p, "]}],\"partial\":true}]}");
    memcpy(p, "],\"partial\":true}]}]}", strlen("],\"partial\":true}]}]}"));
    assert_string_equal(out.p, want.p);
    qx_enc_fini(&x);
    buf_fini(&out);
    buf_fini(&want);
}

static void test_csv_numbers(void **state)
{
    (void)state;
    struct qx_value v[] = {
        { .kind = QX_TIME, .i = 1500 }, { .kind = QX_FLOAT, .f = 1e21 }, { .kind = QX_INT, .i = -42 },
        { .kind = QX_TIME, .i = 2500 }, { .kind = QX_FLOAT, .f = 1e-7 }, { .kind = QX_UINT, .u = 7 },
        { .kind = QX_TIME, .i = 3500 }, { .kind = QX_FLOAT, .f = -INFINITY }, { .kind = QX_FLOAT, .f = 2.5 },
    };
    struct buf out;
    buf_init(&out, 0);
    struct qx_enc x;
    qx_enc_init(&x, QX_FMT_CSV, &out, 0, false, false, NULL, NULL);
    struct qx_series s = series3(v, 3);
    assert_int_equal(x.sink.series(&x.sink, 0, &s), 0);
    struct qx_stmt_end end = { .stmt_id = 0, .is_last = true };
    assert_int_equal(x.sink.end(&x.sink, &end), 0);
    assert_int_equal(qx_enc_finish(&x), 0);
    assert_string_equal(out.p, "name,tags,time,a,b\n"
                               "m,,1500,1000000000000000000000,-42\n"
                               "m,,2500,0.0000001,7\n"
                               "m,,3500,-Inf,2.5\n");
    qx_enc_fini(&x);
    buf_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_mixed),
        cmocka_unit_test(test_failed_statement_discarded),
        cmocka_unit_test(test_many_rows),
        cmocka_unit_test(test_rendered_rows),
        cmocka_unit_test(test_float_text),
        cmocka_unit_test(test_csv_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
