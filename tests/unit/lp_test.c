// SPDX-License-Identifier: MIT
/*
 * Line-protocol parser tests: every line of influx-compat.md section 1.9
 * with its expected parse or exact InfluxDB error text, escaping per
 * element, precisions and their limits, duplicate keys, line numbers,
 * scratch ownership, the canonical series key and the serialiser.
 *
 * Every body is parsed twice, once normally and once with LP_FORCE_SLOW,
 * and the two renderings must be identical: the fast path may only accept
 * what the faithful port of InfluxDB's scanners accepts, with equal values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/buf.h"
#include "ingest/lp.h"

#define NOW 1700000000123456789LL

static void render_sv(struct buf *o, struct sv s)
{
    assert_int_equal(buf_append_sv(o, s), 0);
}

static void render_point(struct buf *o, struct lp_point *pt)
{
    lp_point_sort_tags(pt);
    render_sv(o, pt->measurement);
    for (size_t i = 0; i < pt->ntags; i++) {
        buf_append_char(o, ',');
        render_sv(o, pt->tags[i].key);
        buf_append_char(o, '=');
        render_sv(o, pt->tags[i].value);
    }
    for (size_t i = 0; i < pt->nfields; i++) {
        const struct lp_field *f = &pt->fields[i];
        buf_append_str(o, i ? " | " : " ");
        render_sv(o, f->key);
        switch (f->type) {
        case LP_FLOAT: buf_appendf(o, ":f:%.17g", f->v.f); break;
        case LP_INTEGER: buf_appendf(o, ":i:%lld", (long long)f->v.i); break;
        case LP_UNSIGNED: buf_appendf(o, ":u:%llu", (unsigned long long)f->v.u); break;
        case LP_BOOLEAN: buf_appendf(o, ":b:%s", f->v.b ? "true" : "false"); break;
        case LP_STRING:
            buf_append_str(o, ":s:<");
            render_sv(o, f->v.s);
            buf_append_char(o, '>');
            break;
        }
    }
    if (pt->has_ts)
        buf_appendf(o, " @%lld", (long long)pt->ts_ns);
    else
        buf_appendf(o, " @now=%lld", (long long)pt->ts_ns);
}

/* Parses body and renders every result, one per line; errors as
 * "ERR <line_no>: <full message>". */
static char *parse_render(const char *body, size_t len, enum lp_precision prec,
                          unsigned flags)
{
    struct lp_parser p;
    struct buf o;
    buf_init(&o, 0);
    lp_parser_init(&p, body, len, prec, NOW, NULL);
    p.flags = flags;
    struct lp_point pt;
    struct err e;
    int rc;
    size_t guard = 0;
    while ((rc = lp_next(&p, &pt, &e)) != 0) {
        assert_true(++guard < 10000);
        if (o.len)
            buf_append_char(&o, '\n');
        if (rc == 1) {
            render_point(&o, &pt);
        } else {
            assert_int_equal(rc, ERR_PARSE);
            buf_appendf(&o, "ERR %zu: ", p.err_line_no);
            assert_int_equal(lp_format_error(&p, &o), 0);
            /* e->msg is the same text when it fits */
            struct buf full;
            buf_init(&full, 0);
            assert_int_equal(lp_format_error(&p, &full), 0);
            if (full.len < ERR_MSG_MAX)
                assert_string_equal(e.msg, full.p);
            buf_fini(&full);
        }
    }
    lp_parser_fini(&p);
    if (!o.p)
        buf_append_str(&o, "");
    return buf_detach(&o, NULL);
}

/* Both paths must agree; returns the rendering (caller frees). */
static char *parse2(const char *body, size_t len, enum lp_precision prec)
{
    char *a = parse_render(body, len, prec, 0);
    char *b = parse_render(body, len, prec, LP_FORCE_SLOW);
    assert_string_equal(a, b);
    free(b);
    return a;
}

static void check_prec(const char *body, enum lp_precision prec, const char *want)
{
    char *got = parse2(body, strlen(body), prec);
    if (strcmp(got, want) != 0)
        print_error("body: %s\n", body);
    assert_string_equal(got, want);
    free(got);
}

static void check(const char *body, const char *want)
{
    check_prec(body, LP_PREC_NS, want);
}

/* An error line: want is the reason; the message quotes the line. */
static void check_err(const char *line, const char *why)
{
    char want[4096];
    const char *s = line;
    while (*s == ' ')
        s++;
    snprintf(want, sizeof want, "ERR 1: unable to parse '%s': %s", s, why);
    check(line, want);
}

/* ---- spec section 1.9 ---- */

static void test_spec_numbers(void **state)
{
    (void)state;
    check("m value=1 1000000000", "m value:f:1 @1000000000");
    check("m value=1i 1000000000", "m value:i:1 @1000000000");
    check("m value=1u 1000000000", "m value:u:1 @1000000000");
    check("m value=-1.5e3 1000000000", "m value:f:-1500 @1000000000");
    check("m value=2E+2 1000000000", "m value:f:200 @1000000000");
    check("m value=.5 1000000000", "m value:f:0.5 @1000000000");
    check("m value=1. 1000000000", "m value:f:1 @1000000000");
    check_err("m value=+1 1000000000", "invalid boolean");
    check_err("m value=1.1.1 1000000000", "invalid number");
    check("m value=9223372036854775807i 1000000000",
          "m value:i:9223372036854775807 @1000000000");
    check_err("m value=9223372036854775808i 1000000000",
              "unable to parse integer 9223372036854775808: strconv.ParseInt: parsing "
              "\"9223372036854775808\": value out of range");
    check_err("m value=1.0i 1000000000", "invalid number");
    check_err("m value=NaN 1000000000", "invalid number");
    check_err("m value=Inf 1000000000", "invalid boolean");
    check_err("m value=1e 1000000000", "invalid float");
    check_err("m value=1e400 1000000000", "invalid float");
    check("m a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE 1000000000",
          "m a:b:true | b:b:true | c:b:true | d:b:true | e:b:true | f:b:false | "
          "g:b:false | h:b:false | i:b:false | j:b:false @1000000000");
    check_err("m value=tRUE 1000000000", "invalid boolean");
}

static void test_spec_strings(void **state)
{
    (void)state;
    check("m value=\"hello world, a=b\" 1000000000", "m value:s:<hello world, a=b> @1000000000");
    check("m value=\"say \\\"hi\\\"\" 1000000000", "m value:s:<say \"hi\"> @1000000000");
    check("m value=\"a\\\\b\" 1000000000", "m value:s:<a\\b> @1000000000");
    check("m value=\"a\\nb\" 1000000000", "m value:s:<a\\nb> @1000000000");
    check("m value=\"line1\nline2\" 1000000000", "m value:s:<line1\nline2> @1000000000");
    check("m value=\"\" 1000000000", "m value:s:<> @1000000000");
    check_err("m value='x' 1000000000", "invalid boolean");
    check_err("m value=\"abc 1000000000", "unbalanced quotes");
}

static void test_spec_tags_and_names(void **state)
{
    (void)state;
    check("m,host=a\\,b value=1 1000000000", "m,host=a,b value:f:1 @1000000000");
    check("m,host=a\\ b value=1 1000000000", "m,host=a b value:f:1 @1000000000");
    check("m,host=a\\=b value=1 1000000000", "m,host=a=b value:f:1 @1000000000");
    check_err("m,host=a=b value=1 1000000000", "invalid tag format");
    check("m,host=a\\\\b value=1 1000000000", "m,host=a\\\\b value:f:1 @1000000000");
    check("m,ho\\ st=a value=1 1000000000", "m,ho st=a value:f:1 @1000000000");
    check("m,host=\"a\" value=1 1000000000", "m,host=\"a\" value:f:1 @1000000000");
    check("c\\,p\\ u value=1 1000000000", "c,p u value:f:1 @1000000000");
    check("\"c=pu\" value=1 1000000000", "\"c=pu\" value:f:1 @1000000000");
    check("m f\\ k=1,f\\,k=2,f\\=k=3 1000000000",
          "m f k:f:1 | f,k:f:2 | f=k:f:3 @1000000000");
    check("m,z=1,a=2 value=1 1000000000", "m,a=2,z=1 value:f:1 @1000000000");
    check_err("m,host=a,host=b value=1 1000000000", "duplicate tags");
    check("m value=1,value=2 1000000000", "m value:f:1 | value:f:2 @1000000000");
    check_err("m,host= value=1 1000000000", "missing tag value");
    check_err("m,host value=1 1000000000", "missing tag value");
    check_err("m, value=1 1000000000", "missing tag key");
    check_err("m", "missing fields");
    check_err(",host=a value=1 1000000000", "missing measurement");
    check_err("m value= 1000000000", "missing field value");
    check_err("m =1 1000000000", "missing field key");
    check_err("m value 1000000000", "invalid field format");
    check_err("m value=1, 1000000000", "invalid field format");
    check("   m  value=1  1000000000 ", "m value:f:1 @1000000000");
    check_err("m value=1 1000000000 x", "point is invalid");
    check_err("m value=1 1.5", "bad timestamp");
    check("m value=1 -1000000000", "m value:f:1 @-1000000000");
    check_err("m value=1 9223372036854775807",
              "time outside range -9223372036854775806 - 9223372036854775806");
    check("\xe6\xb8\xa9\xe5\xba\xa6,\xe5\x9f\x8e\xe5\xb8\x82=\xe5\x8c\x97\xe4\xba\xac "
          "\xe5\x80\xbc=1 1000000000",
          "\xe6\xb8\xa9\xe5\xba\xa6,\xe5\x9f\x8e\xe5\xb8\x82=\xe5\x8c\x97\xe4\xba\xac "
          "\xe5\x80\xbc:f:1 @1000000000");
    /* `time` is storage's business (partial write); the parser passes it on */
    check("m time=1 1000000000", "m time:f:1 @1000000000");
    check("m,time=x value=1 1000000000", "m,time=x value:f:1 @1000000000");
    check("m time=1,value=2 1000000000", "m time:f:1 | value:f:2 @1000000000");
}

static void test_spec_precision(void **state)
{
    (void)state;
    check_prec("m value=1 1500000000", LP_PREC_S, "m value:f:1 @1500000000000000000");
    check_prec("m value=1 1500000000000000", LP_PREC_US, "m value:f:1 @1500000000000000000");
    check_prec("m value=1 416666", LP_PREC_H, "m value:f:1 @1499997600000000000");
    check_prec("m value=1 9999999999999", LP_PREC_S,
               "ERR 1: unable to parse 'm value=1 9999999999999': time outside range "
               "-9223372036854775806 - 9223372036854775806");
    struct err e;
    enum lp_precision pr;
    const char *names[] = { "", "n", "ns", "u", "us", "\xc2\xb5", "ms", "s", "m", "h" };
    const enum lp_precision want[] = { LP_PREC_NS, LP_PREC_NS, LP_PREC_NS, LP_PREC_US,
                                       LP_PREC_US, LP_PREC_US, LP_PREC_MS, LP_PREC_S,
                                       LP_PREC_M,  LP_PREC_H };
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(lp_precision_parse(sv_cstr(names[i]), &pr, &e), 0);
        assert_int_equal(pr, want[i]);
    }
    assert_int_equal(lp_precision_parse(sv_cstr("xyz"), &pr, &e), ERR_PARSE);
    assert_string_equal(e.msg, "invalid precision \"xyz\" (use n, u, ms, s, m or h)");
    assert_int_equal(lp_precision_parse(sv_cstr("S"), &pr, &e), ERR_PARSE);
}

static void test_spec_framing(void **state)
{
    (void)state;
    const char crlf[] = "m value=1 1000000000\r\nm value=2 2000000000\r\n";
    check(crlf, "ERR 1: unable to parse 'm value=1 1000000000\r': bad timestamp\n"
                "ERR 2: unable to parse 'm value=2 2000000000\r': bad timestamp");
    check_err("m value=1\r", "invalid number");
    check("# hello\n  # indented\nm value=1 1000000000\n\n   \n", "m value:f:1 @1000000000");
    check("#m value=1 1000000000", "");
    check_err("m value=1 1000000000 # c", "point is invalid");
    check_err("m\tvalue=1 1000000000", "invalid field format");
    check("m value=1 1000000000\nm value= 2000000000\nm value=3 3000000000",
          "m value:f:1 @1000000000\n"
          "ERR 2: unable to parse 'm value= 2000000000': missing field value\n"
          "m value:f:3 @3000000000");
    check("m value=\nm2", "ERR 1: unable to parse 'm value=': missing field value\n"
                         "ERR 2: unable to parse 'm2': missing fields");
    check("", "");
    check("\n\n \t \n", "");
    check("nowtest value=1", "nowtest value:f:1 @now=1700000000123456789");
    check_prec("nowtest value=1", LP_PREC_S, "nowtest value:f:1 @now=1700000000000000000");
    check_prec("nowtest value=1", LP_PREC_H, "nowtest value:f:1 @now=1699999200000000000");
    /* BOM is part of the name */
    check("\xef\xbb\xbfm v=1 1", "\xef\xbb\xbfm v:f:1 @1");
}

static void test_nul_body(void **state)
{
    (void)state;
    const char body[] = "\0 m v=1 1\n\0";
    char *got = parse2(body, sizeof body - 1, LP_PREC_NS);
    assert_string_equal(got, "m v:f:1 @1");
    free(got);
}

/* ---- observed on influxd 1.6 beyond the table ---- */

static void test_observed_quirks(void **state)
{
    (void)state;
    /* a backslash before '\n' joins lines when two more bytes follow */
    check("q7 v=1 1\\\nq8 v=2 2\n",
          "ERR 1: unable to parse 'q7 v=1 1\\\nq8 v=2 2': bad timestamp");
    check("q7 v=1 1\\\n", "ERR 1: unable to parse 'q7 v=1 1\\': bad timestamp");
    /* an open quote swallows the rest of the body */
    check("q7 v=\"abc 1\nq8 v=2 2\n",
          "ERR 1: unable to parse 'q7 v=\"abc 1\nq8 v=2 2': unbalanced quotes");
    check_err("q7,a=1 v=-i 1", "invalid number");
    check_err("q7 v=1e5i 1", "invalid number");
    check_err("q7 v=.e5 1", "invalid float");
    check_err("q7 v=- 1", "invalid number");
    check_err("q7 v=nan 1", "invalid number");
    check_err("q7 v=n 1", "invalid number");
    check_err("q7 v=1e309 1", "invalid float");
    check("q7 v=123456789012345678901234567 1", "q7 v:f:1.2345678901234568e+26 @1");
    check("q7 v=0000000000000000000000000000001i 1", "q7 v:i:1 @1");
    check_err("q7 v=-9223372036854775809i 1",
              "unable to parse integer -9223372036854775809: strconv.ParseInt: parsing "
              "\"-9223372036854775809\": value out of range");
    check("\r\n", "ERR 1: unable to parse '\r': missing fields");
    check_err("q7 v=1 -9223372036854775807",
              "time outside range -9223372036854775806 - 9223372036854775806");
    check("q9 v=1e-400 1", "q9 v:f:0 @1");
    check_err("q4 ", "invalid field format");
    check_err("q4 v=1 -", "strconv.ParseInt: parsing \"-\": invalid syntax");
    check_err("q4 v=1 99999999999999999999",
              "strconv.ParseInt: parsing \"99999999999999999999\": value out of range");
    check("q4 v=1 \t", "q4 v:f:1 @now=1700000000123456789");
    /* field keys unescape \" too; `\\=` splits differently for the iterator */
    check("q5 f\\\"k=1 1", "q5 f\"k:f:1 @1");
    check("q1 a\\\\=1,b=2 1", "q1 a\\=1,b:f:2 @1");
    /* a tag value may start with '=' */
    check("q6,t==a v=1 1", "q6,t==a v:f:1 @1");
    /* a field with an empty key (after a tab) is dropped, the line too */
    check("q9 \t=1 1", "");
    check_err("q9,b=1,a=2,b=3 v=1 1", "duplicate tags");
    check_err("q9,a=1,b=2,a=3 v=1 1", "duplicate tags");
    /* 1.6 stores `x"`; we reject bytes after a closing quote */
    check_err("m v=\"x\"\r", "invalid field format");
    check_err("m v=\"x\"y,w=1 1", "invalid field format");
}

static void test_numbers_limits(void **state)
{
    (void)state;
    check("m v=-9223372036854775808i 1", "m v:i:-9223372036854775808 @1");
    check("m v=18446744073709551615u 1", "m v:u:18446744073709551615 @1");
    check_err("m v=18446744073709551616u 1",
              "unable to parse unsigned 18446744073709551616: strconv.ParseUint: parsing "
              "\"18446744073709551616\": value out of range");
    check_err("m v=-1u 1", "invalid number");
    check_err("m v=1.5u 1", "invalid number");
    check_err("m v=1i5 1", "invalid number");
    check_err("m v=1ii 1", "invalid number");
    check_err("m v=--1 1", "invalid number");
    check_err("m v=. 1", "invalid number");
    check_err("m v=1e5e5 1", "invalid float");
    check_err("m v=1e+ 1", "invalid float");
    check_err("m v=0x10 1", "invalid number");
    check("m v=-0 1", "m v:f:-0 @1");
    check("m v=0i,w=-0i,x=0u 1", "m v:i:0 | w:i:0 | x:u:0 @1");
    check("m v=1E-2,w=1e+2,x=5.e-1 1", "m v:f:0.01 | w:f:100 | x:f:0.5 @1");
    check("m v=1234567890123456789012345678901234567890 1",
          "m v:f:1.2345678901234568e+39 @1");
    check("m v=0.000000000000000000000000000000000000001 1", "m v:f:9.9999999999999993e-40 @1");
    check("m v=9007199254740993 1", "m v:f:9007199254740992 @1");
    check("m v=1.7976931348623157e308 1", "m v:f:1.7976931348623157e+308 @1");
    check("m v=4.9406564584124654e-324 1", "m v:f:4.9406564584124654e-324 @1");
    check_err("m v=1.7976931348623159e308 1", "invalid float");
    check("m v=t,w=f 1", "m v:b:true | w:b:false @1");
    check_err("m v=yes 1", "invalid boolean");
    check_err("m v=truex 1", "invalid boolean");
}

static void test_time_limits(void **state)
{
    (void)state;
    check("m v=1 9223372036854775806", "m v:f:1 @9223372036854775806");
    check("m v=1 -9223372036854775806", "m v:f:1 @-9223372036854775806");
    check_err("m v=1 -9223372036854775808",
              "time outside range -9223372036854775806 - 9223372036854775806");
    check_err("m v=1 -9223372036854775809",
              "strconv.ParseInt: parsing \"-9223372036854775809\": value out of range");
    check_prec("m v=1 9223372036", LP_PREC_S, "m v:f:1 @9223372036000000000");
    check_prec("m v=1 -9223372036", LP_PREC_S, "m v:f:1 @-9223372036000000000");
    check_prec("m v=1 9223372037", LP_PREC_S,
               "ERR 1: unable to parse 'm v=1 9223372037': time outside range "
               "-9223372036854775806 - 9223372036854775806");
    check_prec("m v=1 9223372036854", LP_PREC_MS, "m v:f:1 @9223372036854000000");
    check_prec("m v=1 9223372036855", LP_PREC_MS,
               "ERR 1: unable to parse 'm v=1 9223372036855': time outside range "
               "-9223372036854775806 - 9223372036854775806");
    check_prec("m v=1 9223372036854775", LP_PREC_US, "m v:f:1 @9223372036854775000");
    check_prec("m v=1 9223372036854776", LP_PREC_US,
               "ERR 1: unable to parse 'm v=1 9223372036854776': time outside range "
               "-9223372036854775806 - 9223372036854775806");
    check_prec("m v=1 153722867", LP_PREC_M, "m v:f:1 @9223372020000000000");
    check_prec("m v=1 153722868", LP_PREC_M,
               "ERR 1: unable to parse 'm v=1 153722868': time outside range "
               "-9223372036854775806 - 9223372036854775806");
    check_prec("m v=1 2562047", LP_PREC_H, "m v:f:1 @9223369200000000000");
    check_prec("m v=1 -2562047", LP_PREC_H, "m v:f:1 @-9223369200000000000");
    check_prec("m v=1 2562048", LP_PREC_H,
               "ERR 1: unable to parse 'm v=1 2562048': time outside range "
               "-9223372036854775806 - 9223372036854775806");
    check_err("m v=1 --1", "bad timestamp");
    check_err("m v=1 1-", "bad timestamp");
    check_err("m v=1 1\t", "bad timestamp");
    check("m v=1 0", "m v:f:1 @0");
}

static void test_escapes_per_element(void **state)
{
    (void)state;
    /* measurement: scanned like `,`/` ` separators only, but unescaped like
     * a field key (observed: `a\=b` and `q\"x` are stored as `a=b`, `q"x`) */
    check("a\\=b v=1 1", "a=b v:f:1 @1");
    check("q\\\"x v=1 1", "q\"x v:f:1 @1");
    check("a=b\\\\x v=1 1", "a=b\\\\x v:f:1 @1");
    check("a\\\\b v=1 1", "a\\\\b v:f:1 @1");
    /* a backslash escapes the next byte for the name scanners, so `\\,`
     * keeps the comma in the measurement */
    check("a\\\\,t=1 v=1 1", "a\\,t=1 v:f:1 @1");
    /* tag keys and values: `\,` `\ ` `\=` */
    check("m,k\\=1=v\\ 2 v=1 1", "m,k=1=v 2 v:f:1 @1");
    check("m,k=a\\b v=1 1", "m,k=a\\b v:f:1 @1");
    /* field keys: `\,` `\ ` `\=` `\"` */
    check("m a\\,b\\ c\\=d\\\"e=1 1", "m a,b c=d\"e:f:1 @1");
    check("m a\\x=1 1", "m a\\x:f:1 @1");
    /* string values: only \" and \\ */
    check("m s=\"a\\,b\\ c\\\\d\\\"e\" 1", "m s:s:<a\\,b\\ c\\d\"e> @1");
    /* quotes in names are ordinary */
    check("m \"q\"=1 1", "m \"q\":f:1 @1");
}

static void test_line_numbers(void **state)
{
    (void)state;
    check("\n\n# c\nm v=1 1\n\nm v= 2\nm s=\"a\nb\nc\" 3\nm v=4 4\n",
          "m v:f:1 @1\n"
          "ERR 6: unable to parse 'm v= 2': missing field value\n"
          "m s:s:<a\nb\nc> @3\n"
          "m v:f:4 @4");
    const char *body = "\n\nm v=1 1\n m,t=\\ x v=2 2\nbad\n";
    struct lp_parser p;
    lp_parser_init(&p, body, strlen(body), LP_PREC_NS, NOW, NULL);
    struct lp_point pt;
    assert_int_equal(lp_next(&p, &pt, NULL), 1);
    assert_int_equal(pt.line_no, 3);
    assert_int_equal(lp_next(&p, &pt, NULL), 1);
    assert_int_equal(pt.line_no, 4);
    assert_int_equal(lp_next(&p, &pt, NULL), ERR_PARSE);
    assert_int_equal(p.err_line_no, 5);
    assert_int_equal(lp_next(&p, &pt, NULL), 0);
    assert_int_equal(lp_next(&p, &pt, NULL), 0);
    lp_parser_fini(&p);
}

static void test_long_error_message(void **state)
{
    (void)state;
    struct buf body;
    buf_init(&body, 0);
    buf_append_str(&body, "m,");
    for (int i = 0; i < 100; i++)
        buf_appendf(&body, "tag%03d=value%03d,", i, i);
    buf_append_str(&body, " v=1 1");
    struct lp_parser p;
    lp_parser_init(&p, body.p, body.len, LP_PREC_NS, NOW, NULL);
    struct lp_point pt;
    struct err e;
    assert_int_equal(lp_next(&p, &pt, &e), ERR_PARSE);
    assert_int_equal(e.code, ERR_PARSE);
    assert_true(strlen(e.msg) < ERR_MSG_MAX);
    assert_non_null(strstr(e.msg, "...': missing tag key"));
    assert_memory_equal(e.msg, "unable to parse 'm,tag000=value000,", 35);
    struct buf full;
    buf_init(&full, 0);
    assert_int_equal(lp_format_error(&p, &full), 0);
    assert_int_equal(full.len, strlen("unable to parse '': missing tag key") + body.len);
    buf_fini(&full);
    lp_parser_fini(&p);
    buf_fini(&body);
}

static void test_max_key_length(void **state)
{
    (void)state;
    struct buf body;
    buf_init(&body, 0);
    buf_append_str(&body, "m,t=");
    for (int i = 0; i < 70000; i++)
        buf_append_char(&body, 'x');
    buf_append_str(&body, " v=1 1");
    char *got = parse2(body.p, body.len, LP_PREC_NS);
    assert_non_null(strstr(got, "': max key length exceeded: 70004 > 65535"));
    free(got);
    /* series key + 4 + field key */
    buf_reset(&body);
    buf_append_str(&body, "m ");
    for (int i = 0; i < 65531; i++)
        buf_append_char(&body, 'f');
    buf_append_str(&body, "=1 1");
    got = parse2(body.p, body.len, LP_PREC_NS);
    assert_non_null(strstr(got, "': max key length exceeded: 65536 > 65535"));
    free(got);
    buf_reset(&body);
    buf_append_str(&body, "m ");
    for (int i = 0; i < 65530; i++)
        buf_append_char(&body, 'f');
    buf_append_str(&body, "=1 1");
    got = parse2(body.p, body.len, LP_PREC_NS);
    assert_null(strstr(got, "ERR"));
    free(got);
    buf_fini(&body);
}

static void test_dup_fields_and_key(void **state)
{
    (void)state;
    const char *body = "m,z=1,a=2,m=3 v=1,w=2i,v=3 5\nm,a=2,m=3,z=1 v=1,v=\"s\" 6\n";
    struct lp_parser p;
    lp_parser_init(&p, body, strlen(body), LP_PREC_NS, NOW, NULL);
    struct lp_point pt;
    struct buf key;
    buf_init(&key, 0);
    assert_int_equal(lp_next(&p, &pt, NULL), 1);
    assert_false(pt.key_is_canonical);
    assert_true(pt.raw_key.n == strlen("m,z=1,a=2,m=3") &&
                memcmp(pt.raw_key.p, "m,z=1,a=2,m=3", pt.raw_key.n) == 0);
    assert_int_equal(lp_series_key(&pt, &key), 0);
    assert_string_equal(key.p, "m,a=2,m=3,z=1");
    assert_true(pt.has_dup_fields);
    assert_int_equal(pt.nfields, 3);
    assert_int_equal(lp_point_dedup_fields(&pt, NULL), 0);
    assert_int_equal(pt.nfields, 2);
    assert_true(sv_eq_cstr(pt.fields[0].key, "w"));
    assert_true(sv_eq_cstr(pt.fields[1].key, "v"));
    assert_true(pt.fields[1].v.f == 3.0);
    assert_int_equal(lp_next(&p, &pt, NULL), 1);
    assert_true(pt.key_is_canonical);
    buf_reset(&key);
    assert_int_equal(lp_series_key(&pt, &key), 0);
    assert_string_equal(key.p, "m,a=2,m=3,z=1");
    size_t at = 99;
    assert_int_equal(lp_point_dedup_fields(&pt, &at), ERR_TYPE);
    assert_int_equal(at, 1);
    assert_int_equal(pt.nfields, 2);
    /* the canonical key escapes what was unescaped (models.MakeKey):
     * observed SHOW SERIES output on influxd 1.6 */
    const char *canon[][2] = {
        { "m,t==a v=1 1", "m,t=\\=a" },   { "m,t=\\=a v=1 1", "m,t=\\=a" },
        { "a\\=b,x=1 v=1 1", "a=b,x=1" }, { "s\\ y,t=a\\\"b v=1 1", "s\\ y,t=a\\\"b" },
        { "q\\\"x v=1 1", "q\"x" },    { "m,b=2,a=\\,1 v=1 1", "m,a=\\,1,b=2" },
        { "r\\\\x v=1 1", "r\\\\x" },
    };
    for (size_t i = 0; i < sizeof canon / sizeof canon[0]; i++) {
        lp_parser_reset(&p, canon[i][0], strlen(canon[i][0]), NOW);
        assert_int_equal(lp_next(&p, &pt, NULL), 1);
        buf_reset(&key);
        assert_int_equal(lp_series_key(&pt, &key), 0);
        assert_string_equal(key.p, canon[i][1]);
    }
    /* escaped keys sort by their escaped bytes, as in InfluxDB */
    const char *b2 = "m,a\\ b=1,a!=2 v=1 1";
    lp_parser_reset(&p, b2, strlen(b2), NOW);
    assert_int_equal(lp_next(&p, &pt, NULL), 1);
    buf_reset(&key);
    assert_int_equal(lp_series_key(&pt, &key), 0);
    assert_string_equal(key.p, "m,a!=2,a\\ b=1");
    buf_fini(&key);
    lp_parser_fini(&p);
}

static void test_arena_scratch(void **state)
{
    (void)state;
    const char *body = "m\\ 1,t=a\\,b s=\"x\\\"y\" 1\nm\\ 2,t=c\\,d s=\"u\\\\v\" 2\n";
    struct arena a;
    arena_init(&a, 0, 0);
    struct lp_parser p;
    lp_parser_init(&p, body, strlen(body), LP_PREC_NS, NOW, &a);
    struct lp_point pt;
    assert_int_equal(lp_next(&p, &pt, NULL), 1);
    struct sv m1 = pt.measurement, t1 = pt.tags[0].value, s1 = pt.fields[0].v.s;
    assert_int_equal(lp_next(&p, &pt, NULL), 1);
    /* the first line's copies are still valid: they live in the arena */
    assert_true(sv_eq_cstr(m1, "m 1"));
    assert_true(sv_eq_cstr(t1, "a,b"));
    assert_true(sv_eq_cstr(s1, "x\"y"));
    assert_true(sv_eq_cstr(pt.measurement, "m 2"));
    assert_true(sv_eq_cstr(pt.fields[0].v.s, "u\\v"));
    lp_parser_fini(&p);
    arena_fini(&a);
}

/* Scratch exhaustion is ERR_NOMEM for that line only; the parser goes on. */
static void test_scratch_exhausted(void **state)
{
    (void)state;
    struct buf body;
    buf_init(&body, 0);
    buf_append_str(&body, "m v=1 1\nm,t=a\\ ");
    for (int i = 0; i < 200; i++)
        buf_append_char(&body, 'x');
    buf_append_str(&body, " v=2 2\nm v=3 3\n");
    struct arena a;
    arena_init(&a, 64, 128); /* far less than the escaped line needs */
    struct lp_parser p;
    lp_parser_init(&p, body.p, body.len, LP_PREC_NS, NOW, &a);
    struct lp_point pt;
    struct err e;
    assert_int_equal(lp_next(&p, &pt, &e), 1);
    assert_int_equal(pt.ts_ns, 1);
    assert_int_equal(lp_next(&p, &pt, &e), ERR_NOMEM);
    assert_int_equal(e.code, ERR_NOMEM);
    assert_int_equal(p.err_line_no, 2);
    assert_int_equal(lp_next(&p, &pt, &e), 1);
    assert_int_equal(pt.ts_ns, 3);
    assert_int_equal(lp_next(&p, &pt, &e), 0);
    lp_parser_fini(&p);
    arena_fini(&a);
    buf_fini(&body);
}

static void test_many_tags_fields(void **state)
{
    (void)state;
    struct buf body;
    buf_init(&body, 0);
    buf_append_str(&body, "m");
    for (int i = 199; i >= 0; i--)
        buf_appendf(&body, ",t%03d=%d", i, i);
    buf_append_char(&body, ' ');
    for (int i = 0; i < 300; i++)
        buf_appendf(&body, "%sf%d=%di", i ? "," : "", i, i);
    buf_append_str(&body, " 7\n");
    struct lp_parser p;
    lp_parser_init(&p, body.p, body.len, LP_PREC_NS, NOW, NULL);
    struct lp_point pt;
    assert_int_equal(lp_next(&p, &pt, NULL), 1);
    assert_int_equal(pt.ntags, 200);
    assert_int_equal(pt.nfields, 300);
    assert_false(pt.tags_sorted);
    assert_true(sv_eq_cstr(pt.tags[0].key, "t199"));
    lp_point_sort_tags(&pt);
    assert_true(pt.tags_sorted);
    for (size_t i = 1; i < pt.ntags; i++)
        assert_true(memcmp(pt.tags[i - 1].key.p, pt.tags[i].key.p, 4) < 0);
    assert_int_equal(pt.fields[299].v.i, 299);
    assert_false(pt.has_dup_fields);
    lp_parser_fini(&p);
    char *a = parse2(body.p, body.len, LP_PREC_NS);
    free(a);
    /* duplicates found by the hashed (5..64 names) and the pairwise (more)
     * screens, for tags (an error) and fields (a flag) */
    const int counts[] = { 3, 5, 10, 64, 65, 200 };
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int n = counts[c];
        for (int dup = 0; dup < 2; dup++) {
            buf_reset(&body);
            buf_append_str(&body, "m");
            for (int i = 0; i < n; i++)
                buf_appendf(&body, ",k%d=v", (i * 7919) % n);
            if (dup)
                buf_appendf(&body, ",k%d=w", n / 2);
            buf_append_str(&body, " f=1 1");
            a = parse2(body.p, body.len, LP_PREC_NS);
            assert_int_equal(strstr(a, "': duplicate tags") != NULL, dup);
            free(a);
            buf_reset(&body);
            buf_append_str(&body, "m ");
            for (int i = 0; i < n; i++)
                buf_appendf(&body, "%sfield_name_%d=%d", i ? "," : "", (i * 7919) % n, i);
            if (dup)
                buf_appendf(&body, ",field_name_%d=1", n - 1);
            lp_parser_init(&p, body.p, body.len, LP_PREC_NS, NOW, NULL);
            assert_int_equal(lp_next(&p, &pt, NULL), 1);
            assert_int_equal(pt.has_dup_fields, dup);
            lp_parser_fini(&p);
        }
    }
    buf_fini(&body);
}

/* Parse -> write -> parse gives the same rendering. */
static void roundtrip(const char *body)
{
    char *first = parse2(body, strlen(body), LP_PREC_NS);
    struct lp_parser p;
    struct buf out;
    buf_init(&out, 0);
    lp_parser_init(&p, body, strlen(body), LP_PREC_NS, NOW, NULL);
    struct lp_point pt;
    int rc;
    while ((rc = lp_next(&p, &pt, NULL)) != 0) {
        assert_int_equal(rc, 1);
        assert_int_equal(lp_write_point(&out, &pt), 0);
    }
    lp_parser_fini(&p);
    char *second = parse2(out.p ? out.p : "", out.len, LP_PREC_NS);
    if (strcmp(first, second))
        print_error("written: %s\n", out.p);
    assert_string_equal(first, second);
    free(first);
    free(second);
    buf_fini(&out);
}

static void test_serialise(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 0);
    const char *body = "c\\,p\\ u,k\\=1=a\\ b\\,c f\\ k=0.1,i=-5i,u=7u,b=t,s=\"q\\\"\\\\\" 42";
    struct lp_parser p;
    lp_parser_init(&p, body, strlen(body), LP_PREC_NS, NOW, NULL);
    struct lp_point pt;
    assert_int_equal(lp_next(&p, &pt, NULL), 1);
    assert_int_equal(lp_write_point(&out, &pt), 0);
    assert_string_equal(out.p,
                        "c\\,p\\ u,k\\=1=a\\ b\\,c f\\ k=0.1,i=-5i,u=7u,b=true,s=\"q\\\"\\\\\" 42\n");
    /* unrepresentable: NaN */
    pt.fields[0].v.f = 0.0 / 0.0;
    buf_reset(&out);
    assert_int_equal(lp_write_point(&out, &pt), ERR_INVAL);
    assert_int_equal(out.len, 0);
    lp_parser_fini(&p);

    roundtrip("m,host=a\\,b,x=a\\\\b v=1.5,s=\"a\\nb\\\"\",i=1i 1000000000\n"
              "\"c=pu\",t=\"a\" f\\ k=1e300,g=5e-324,h=-0 -5\n"
              "m v=0.30000000000000004 1\nm v=t\nm s=\"multi\nline\" 2\n"
              "m,t=a\\\\b\\ c v=1 1\n");
    /* an odd run of backslashes before an escaped separator in the key:
     * the very spelling that stored it writes it back */
    roundtrip("a\\\\,t=1 v=1 1\nm,k=a\\\\ b v=1\nm,a\\\\\\=b=c\\\\,d v=1\n");
    lp_parser_init(&p, "m,k=a\\\\ b v=1", 13, LP_PREC_NS, NOW, NULL);
    assert_int_equal(lp_next(&p, &pt, NULL), 1);
    assert_true(sv_eq(pt.tags[0].value, SV_LIT("a\\ b")));
    buf_reset(&out);
    assert_int_equal(lp_write_point(&out, &pt), 0);
    assert_string_equal(out.p, "m,k=a\\\\ b v=1\n");
    lp_parser_fini(&p);
    /* a field key with an odd run before '=' is only spelt by lines whose
     * separators balance by accident; refused */
    const char *odd[] = { "q1 a\\\\=1,b=2 1" };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        lp_parser_init(&p, odd[i], strlen(odd[i]), LP_PREC_NS, NOW, NULL);
        assert_int_equal(lp_next(&p, &pt, NULL), 1);
        buf_reset(&out);
        assert_int_equal(lp_write_point(&out, &pt), ERR_INVAL);
        lp_parser_fini(&p);
    }
    buf_fini(&out);
}

/* Builds a point with `name` in one element, writes it, parses it back and
 * compares.  Returns lp_write_point()'s code. */
static int element_roundtrip(int elem, const char *name)
{
    struct lp_tag tag = { .key = SV_LIT("t"), .value = SV_LIT("v") };
    struct lp_field fields[2] = {
        { .key = SV_LIT("f"), .type = LP_FLOAT, .v.f = 1.5 },
        { .key = SV_LIT("s"), .type = LP_STRING, .v.s = SV_LIT("x") },
    };
    struct lp_point pt = { .measurement = SV_LIT("m"), .tags = &tag, .ntags = 1,
                           .fields = fields, .nfields = 2, .ts_ns = 7, .has_ts = true };
    struct sv n = sv_cstr(name);
    switch (elem) {
    case 0: pt.measurement = n; break;
    case 1: tag.key = n; break;
    case 2: tag.value = n; break;
    case 3: fields[1].key = n; break;
    default: fields[1].v.s = n; break;
    }
    struct buf out;
    buf_init(&out, 0);
    int rc = lp_write_point(&out, &pt);
    if (rc == 0) {
        struct lp_parser p;
        lp_parser_init(&p, out.p, out.len, LP_PREC_NS, NOW, NULL);
        struct lp_point back;
        if (lp_next(&p, &back, NULL) != 1)
            print_error("elem %d name '%s' wrote '%s'\n", elem, name, out.p);
        assert_int_equal(lp_next(&p, &back, NULL) == 0, 1);
        lp_parser_reset(&p, out.p, out.len, NOW);
        assert_int_equal(lp_next(&p, &back, NULL), 1);
        bool same = sv_eq(back.measurement, pt.measurement) && back.ntags == 1 &&
                    sv_eq(back.tags[0].key, tag.key) && sv_eq(back.tags[0].value, tag.value) &&
                    back.nfields == 2 && sv_eq(back.fields[1].key, fields[1].key) &&
                    back.fields[1].type == LP_STRING && sv_eq(back.fields[1].v.s, fields[1].v.s) &&
                    back.fields[0].v.f == 1.5 && back.ts_ns == 7;
        if (!same)
            print_error("elem %d name '%s' wrote '%s'\n", elem, name, out.p);
        assert_true(same);
        lp_parser_fini(&p);
        /* and the faithful path agrees */
        char *both = parse2(out.p, out.len, LP_PREC_NS);
        free(both);
    }
    buf_fini(&out);
    return rc;
}

static void test_escape_roundtrip_per_element(void **state)
{
    (void)state;
    const char *ok[] = { "a", "a b", "a,b", "a=b", "a\"b", "a\\b", "a\\\\b", "\\ab",
                         "a b,c=d\"e", "\xe6\x97\xa5\xe6\x9c\xac", " lead", ",lead",
                         "=lead", "x\\y z", "trail ", "a\\\\,b", "\"q\"", "a\tb\rc",
                         "a\\\nb", "\xef\xbb\xbf\x62om" };
    for (int elem = 0; elem < 5; elem++) {
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
            if (elem == 0 && ok[i][0] == '=')
                continue; /* fine too, but exercised below */
            assert_int_equal(element_roundtrip(elem, ok[i]), 0);
        }
    }
    assert_int_equal(element_roundtrip(0, "=lead"), 0);
    /* strings take anything */
    const char *str[] = { "\\", "\"", "\n", "a\\\"b", "\\\\\"\"", "" , "x\ny\\" };
    for (size_t i = 0; i < sizeof str / sizeof str[0]; i++)
        assert_int_equal(element_roundtrip(4, str[i]), 0);
    /* names InfluxDB cannot read back from any plain spelling */
    const char *bad[] = { "", "a\\", "a\nb" };
    for (int elem = 0; elem < 4; elem++)
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            assert_int_equal(element_roundtrip(elem, bad[i]), ERR_INVAL);
    assert_int_equal(element_roundtrip(1, "a\\=b"), 0);
    assert_int_equal(element_roundtrip(3, "a\\\"b"), 0);
    assert_int_equal(element_roundtrip(0, "#m"), ERR_INVAL);
    assert_int_equal(element_roundtrip(0, "\tm"), ERR_INVAL);
    assert_int_equal(element_roundtrip(0, "a\\=b"), 0); /* `=` is plain in a measurement */
}

/* Runs of 0..4 backslashes before each byte some element treats
 * specially, in each name element: serialise, parse back, compare.  The
 * parser gives each of these values from some line (tag scanners look one
 * byte back, so `a\\ b` gives `a\ b`), and all are written except where no
 * line can give them: a '\n' after an even run ends the line, and a field
 * key's ',', '=' or ' ' after an odd run is seen by the forward-skipping
 * field scanner. */
static void test_backslash_runs_per_element(void **state)
{
    (void)state;
    const char specials[] = { ',', ' ', '=', '"', '\n', 'x' };
    for (int elem = 0; elem < 4; elem++) {
        for (size_t c = 0; c < sizeof specials; c++) {
            for (int run = 0; run <= 4; run++) {
                char name[16];
                size_t n = 0;
                name[n++] = 'a';
                for (int r = 0; r < run; r++)
                    name[n++] = '\\';
                name[n++] = specials[c];
                name[n++] = 'b';
                name[n] = '\0';
                char ch = specials[c];
                bool odd = run & 1;
                bool want_ok = !(ch == '\n' && !odd) &&
                               !(elem == 3 && odd && (ch == ',' || ch == '=' || ch == ' '));
                int rc = element_roundtrip(elem, name);
                if (rc != (want_ok ? 0 : ERR_INVAL))
                    print_error("elem %d run %d byte 0x%02x: rc %d\n", elem, run,
                                (unsigned char)ch, rc);
                assert_int_equal(rc, want_ok ? 0 : ERR_INVAL);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_numbers),
        cmocka_unit_test(test_spec_strings),
        cmocka_unit_test(test_spec_tags_and_names),
        cmocka_unit_test(test_spec_precision),
        cmocka_unit_test(test_spec_framing),
        cmocka_unit_test(test_nul_body),
        cmocka_unit_test(test_observed_quirks),
        cmocka_unit_test(test_numbers_limits),
        cmocka_unit_test(test_time_limits),
        cmocka_unit_test(test_escapes_per_element),
        cmocka_unit_test(test_line_numbers),
        cmocka_unit_test(test_long_error_message),
        cmocka_unit_test(test_max_key_length),
        cmocka_unit_test(test_dup_fields_and_key),
        cmocka_unit_test(test_arena_scratch),
        cmocka_unit_test(test_scratch_exhausted),
        cmocka_unit_test(test_many_tags_fields),
        cmocka_unit_test(test_serialise),
        cmocka_unit_test(test_escape_roundtrip_per_element),
        cmocka_unit_test(test_backslash_runs_per_element),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
