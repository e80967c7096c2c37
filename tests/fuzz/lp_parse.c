// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: arbitrary bytes through the line-protocol parser.
 *
 * Two parsers walk the same body in lock step, one normally (fast path
 * where it applies) and one with LP_FORCE_SLOW (the faithful port of
 * InfluxDB's scanners), and every result must be identical: the same
 * return code, the same point (names, tags, fields with floats compared
 * bit for bit, timestamp, line number) or the same error line and reason.
 * The normal parser unescapes into an arena, the slow one into its own
 * buffer.  Runs at two precisions (ns and h, for the overflow paths) and
 * also exercises the series key, field de-duplication and error texts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "ingest/lp.h"

#define CHECK(c) \
    do { \
        if (!(c)) \
            abort(); \
    } while (0)

static void same_sv(struct sv a, struct sv b)
{
    CHECK(sv_eq(a, b));
}

static void same_point(const struct lp_point *a, const struct lp_point *b)
{
    same_sv(a->measurement, b->measurement);
    same_sv(a->raw_measurement, b->raw_measurement);
    same_sv(a->raw_key, b->raw_key);
    same_sv(a->line, b->line);
    CHECK(a->line_no == b->line_no);
    CHECK(a->ts_ns == b->ts_ns && a->has_ts == b->has_ts);
    CHECK(a->key_is_canonical == b->key_is_canonical && a->tags_sorted == b->tags_sorted);
    CHECK(!a->key_is_canonical || a->tags_sorted);
    CHECK(a->has_dup_fields == b->has_dup_fields);
    CHECK(a->ntags == b->ntags && a->nfields == b->nfields);
    for (size_t i = 0; i < a->ntags; i++) {
        same_sv(a->tags[i].key, b->tags[i].key);
        same_sv(a->tags[i].value, b->tags[i].value);
        same_sv(a->tags[i].raw, b->tags[i].raw);
        CHECK(a->tags[i].raw_key_len == b->tags[i].raw_key_len);
    }
    for (size_t i = 0; i < a->nfields; i++) {
        const struct lp_field *x = &a->fields[i], *y = &b->fields[i];
        same_sv(x->key, y->key);
        CHECK(x->type == y->type);
        switch (x->type) {
        case LP_FLOAT: CHECK(memcmp(&x->v.f, &y->v.f, sizeof x->v.f) == 0); break;
        case LP_INTEGER: CHECK(x->v.i == y->v.i); break;
        case LP_UNSIGNED: CHECK(x->v.u == y->v.u); break;
        case LP_BOOLEAN: CHECK(x->v.b == y->v.b); break;
        case LP_STRING: same_sv(x->v.s, y->v.s); break;
        default: CHECK(0);
        }
    }
}

/* After lp_point_sort_tags(), tags are strictly sorted by escaped key. */
static int key_less(const struct lp_tag *x, const struct lp_tag *y)
{
    size_t n = x->raw_key_len < y->raw_key_len ? x->raw_key_len : y->raw_key_len;
    int c = memcmp(x->raw.p, y->raw.p, n);
    return c < 0 || (c == 0 && x->raw_key_len < y->raw_key_len);
}

static void run(const uint8_t *data, size_t size, enum lp_precision prec)
{
    struct arena ar;
    arena_init(&ar, 4096, 0);
    struct lp_parser a, b;
    lp_parser_init(&a, (const char *)data, size, prec, 1700000000123456789LL, &ar);
    lp_parser_init(&b, (const char *)data, size, prec, 1700000000123456789LL, NULL);
    b.flags = LP_FORCE_SLOW;
    struct buf tmp;
    buf_init(&tmp, 0);
    for (size_t guard = 0; guard <= size + 1; guard++) {
        struct lp_point pa, pb;
        struct err ea, eb;
        int ra = lp_next(&a, &pa, &ea);
        int rb = lp_next(&b, &pb, &eb);
        CHECK(ra == rb);
        CHECK(a.pos == b.pos && a.line_no == b.line_no);
        if (ra == 0)
            break;
        if (ra == 1) {
            same_point(&pa, &pb);
            lp_point_sort_tags(&pa);
            for (size_t i = 1; i < pa.ntags; i++)
                CHECK(key_less(&pa.tags[i - 1], &pa.tags[i]));
            buf_reset(&tmp);
            CHECK(lp_series_key(&pa, &tmp) == 0);
            CHECK(!pa.key_is_canonical || sv_eq(buf_sv(&tmp), pa.raw_key));
            if (pa.has_dup_fields) {
                size_t at;
                int rc = lp_point_dedup_fields(&pa, &at);
                CHECK(rc == 0 || (rc == ERR_TYPE && at < pa.nfields));
            }
            continue;
        }
        CHECK(ra == ERR_PARSE);
        CHECK(strcmp(ea.msg, eb.msg) == 0);
        CHECK(a.err_line_no == b.err_line_no);
        same_sv(a.err_line, b.err_line);
        same_sv(buf_sv(&a.err_reason), buf_sv(&b.err_reason));
        buf_reset(&tmp);
        CHECK(lp_format_error(&a, &tmp) == 0);
        CHECK(tmp.len >= a.err_line.n);
    }
    buf_fini(&tmp);
    lp_parser_fini(&a);
    lp_parser_fini(&b);
    arena_fini(&ar);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, LP_PREC_NS);
    run(data, size, LP_PREC_H);
    return 0;
}
