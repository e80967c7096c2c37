// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: parse -> serialise -> parse.
 *
 * Every point parsed from the input is written back with lp_write_point()
 * and the written line must parse to exactly one point equal to the
 * original: measurement, tags (key and value), fields (key, type and value,
 * floats compared bit for bit) and timestamp.  The serialiser may refuse a
 * point (ERR_INVAL) only when a name contains a backslash or a newline, or
 * the first field key starts with a tab or NUL: the spellings only
 * InfluxDB's escaping quirks can produce (see lp_format.c).
 *
 * The canonical series key is checked the same way: "<key> f=1" must parse
 * to the same measurement and tags, and give the same key again.  (Except
 * when the measurement holds a backslash: InfluxDB's models.MakeKey, which
 * lp_series_key() copies, escapes only ',' and ' ' in a measurement while
 * unescaping also drops the backslash of `\=` and `\"`, so its key text is
 * not line protocol for such names; it still identifies the series.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "ingest/lp.h"

#define CHECK(c) \
    do { \
        if (!(c)) \
            abort(); \
    } while (0)

#define NOW 1700000000123456789LL

static int odd_name(struct sv s)
{
    return memchr(s.p, '\\', s.n) || memchr(s.p, '\n', s.n);
}

static int refusal_allowed(const struct lp_point *p)
{
    if (odd_name(p->measurement))
        return 1;
    for (size_t i = 0; i < p->ntags; i++)
        if (odd_name(p->tags[i].key) || odd_name(p->tags[i].value))
            return 1;
    for (size_t i = 0; i < p->nfields; i++)
        if (odd_name(p->fields[i].key))
            return 1;
    return p->fields[0].key.p[0] == '\t' || p->fields[0].key.p[0] == '\0';
}

static void same_point(const struct lp_point *a, const struct lp_point *b)
{
    CHECK(sv_eq(a->measurement, b->measurement));
    CHECK(a->ts_ns == b->ts_ns && a->has_ts == b->has_ts);
    CHECK(a->ntags == b->ntags && a->nfields == b->nfields);
    for (size_t i = 0; i < a->ntags; i++) {
        CHECK(sv_eq(a->tags[i].key, b->tags[i].key));
        CHECK(sv_eq(a->tags[i].value, b->tags[i].value));
    }
    for (size_t i = 0; i < a->nfields; i++) {
        const struct lp_field *x = &a->fields[i], *y = &b->fields[i];
        CHECK(sv_eq(x->key, y->key));
        CHECK(x->type == y->type);
        switch (x->type) {
        case LP_FLOAT: CHECK(memcmp(&x->v.f, &y->v.f, sizeof x->v.f) == 0); break;
        case LP_INTEGER: CHECK(x->v.i == y->v.i); break;
        case LP_UNSIGNED: CHECK(x->v.u == y->v.u); break;
        case LP_BOOLEAN: CHECK(x->v.b == y->v.b); break;
        case LP_STRING: CHECK(sv_eq(x->v.s, y->v.s)); break;
        default: CHECK(0);
        }
    }
}

static void check_series_key(struct lp_point *pt, struct lp_parser *q)
{
    if (memchr(pt->measurement.p, '\\', pt->measurement.n))
        return;
    struct buf key, again;
    buf_init(&key, 0);
    buf_init(&again, 0);
    CHECK(lp_series_key(pt, &key) == 0);
    CHECK(buf_append_str(&key, " f=1") == 0);
    lp_parser_reset(q, key.p, key.len, NOW);
    struct lp_point back;
    CHECK(lp_next(q, &back, NULL) == 1);
    CHECK(sv_eq(back.measurement, pt->measurement) && back.ntags == pt->ntags);
    lp_point_sort_tags(&back);
    for (size_t i = 0; i < pt->ntags; i++) {
        CHECK(sv_eq(back.tags[i].key, pt->tags[i].key));
        CHECK(sv_eq(back.tags[i].value, pt->tags[i].value));
    }
    CHECK(lp_series_key(&back, &again) == 0);
    CHECK(again.len + 4 == key.len && memcmp(again.p, key.p, again.len) == 0);
    buf_fini(&key);
    buf_fini(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lp_parser p, q;
    lp_parser_init(&p, (const char *)data, size, LP_PREC_NS, NOW, NULL);
    lp_parser_init(&q, "", 0, LP_PREC_NS, NOW, NULL);
    struct buf out;
    buf_init(&out, 0);
    struct lp_point pt, back;
    int rc;
    for (size_t guard = 0; guard <= size && (rc = lp_next(&p, &pt, NULL)) != 0; guard++) {
        if (rc != 1)
            continue;
        buf_reset(&out);
        rc = lp_write_point(&out, &pt);
        if (rc == ERR_INVAL) {
            CHECK(refusal_allowed(&pt));
            continue;
        }
        CHECK(rc == 0);
        check_series_key(&pt, &q);
        buf_reset(&out);
        CHECK(lp_write_point(&out, &pt) == 0);
        CHECK(out.len > 0 && out.p[out.len - 1] == '\n');
        lp_parser_reset(&q, out.p, out.len, NOW);
        CHECK(lp_next(&q, &back, NULL) == 1);
        same_point(&pt, &back);
        CHECK(lp_next(&q, &back, NULL) == 0);
    }
    buf_fini(&out);
    lp_parser_fini(&p);
    lp_parser_fini(&q);
    return 0;
}
