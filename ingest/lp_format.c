// SPDX-License-Identifier: MIT
/*
 * Line protocol out of points: the canonical series key, field
 * de-duplication and the serialiser used by `nightjar dump` and the
 * round-trip fuzz target.
 *
 * Escaping mirrors the parser's unescaping per element (spec section 1.3):
 * the measurement escapes ',' and ' ' (and '=' or '"' right after a
 * backslash); tag keys, tag values and field keys escape ',', '=' and ' ',
 * field keys also '"'; string values escape '"' and '\'.  Other bytes,
 * backslashes included, are written as they are, because the parser keeps
 * a backslash that does not precede one of its element's special bytes.
 * That leaves a few names with no spelling InfluxDB would read back (see
 * representable() and line_ok()); the serialiser refuses them with ERR_INVAL rather than
 * write a line that means something else.
 */
#include "ingest/lp.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ingest/lp_int.h"

void lp_point_sort_tags(struct lp_point *pt)
{
    if (pt->tags_sorted)
        return;
    /* Insertion sort: few tags, often nearly sorted; keys are distinct. */
    struct lp_tag *t = pt->tags;
    for (size_t i = 1; i < pt->ntags; i++) {
        if (lp__tag_cmp(&t[i - 1], &t[i]) < 0)
            continue;
        struct lp_tag tmp = t[i];
        size_t j = i;
        while (j > 0 && lp__tag_cmp(&t[j - 1], &tmp) > 0) {
            t[j] = t[j - 1];
            j--;
        }
        t[j] = tmp;
    }
    pt->tags_sorted = true;
}

/* Appends s with a backslash before every byte in esc. */
static int put_escaped(struct buf *out, struct sv s, const char *esc)
{
    int rc = 0;
    size_t from = 0;
    for (size_t i = 0; i < s.n && !rc; i++) {
        if (!strchr(esc, s.p[i]) || s.p[i] == '\0')
            continue;
        rc = buf_append(out, s.p + from, i - from);
        if (!rc)
            rc = buf_append_char(out, '\\');
        from = i;
    }
    if (!rc)
        rc = buf_append(out, s.p + from, s.n - from);
    return rc;
}

int lp_series_key(struct lp_point *pt, struct buf *out)
{
    if (pt->key_is_canonical)
        return buf_append_sv(out, pt->raw_key);
    lp_point_sort_tags(pt);
    bool plain = !memchr(pt->raw_key.p, '\\', pt->raw_key.n);
    for (size_t i = 0; i < pt->ntags && plain; i++)
        plain = pt->tags[i].value.n == 0 || pt->tags[i].value.p[0] != '=';
    if (!plain) {
        /* models.MakeKey: escape what was unescaped. */
        size_t mark = out->len;
        int rc = put_escaped(out, pt->measurement, ", ");
        for (size_t i = 0; i < pt->ntags && !rc; i++) {
            rc = buf_append_char(out, ',');
            if (!rc)
                rc = put_escaped(out, pt->tags[i].key, ", =");
            if (!rc)
                rc = buf_append_char(out, '=');
            if (!rc)
                rc = put_escaped(out, pt->tags[i].value, ", =");
        }
        if (rc) {
            out->len = mark;
            if (out->p)
                out->p[mark] = '\0';
        }
        return rc;
    }
    /* Plain tags in a new order: the same bytes as the raw key, so one
     * reservation and plain copies. */
    size_t n = pt->raw_measurement.n;
    for (size_t i = 0; i < pt->ntags; i++)
        n += 1 + pt->tags[i].raw.n;
    int rc = buf_reserve(out, n);
    if (rc)
        return rc;
    char *o = out->p + out->len;
    memcpy(o, pt->raw_measurement.p, pt->raw_measurement.n);
    o += pt->raw_measurement.n;
    for (size_t i = 0; i < pt->ntags; i++) {
        *o++ = ',';
        memcpy(o, pt->tags[i].raw.p, pt->tags[i].raw.n);
        o += pt->tags[i].raw.n;
    }
    out->len += n;
    out->p[out->len] = '\0';
    return 0;
}

int lp_point_dedup_fields(struct lp_point *pt, size_t *conflict)
{
    struct lp_field *f = pt->fields;
    size_t n = pt->nfields;
    for (size_t j = 1; j < n; j++) {
        for (size_t i = 0; i < j; i++) {
            if (f[i].type != f[j].type && sv_eq(f[i].key, f[j].key)) {
                if (conflict)
                    *conflict = j;
                return ERR_TYPE;
            }
        }
    }
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        bool later = false;
        for (size_t j = i + 1; j < n && !later; j++)
            later = sv_eq(f[i].key, f[j].key);
        if (!later)
            f[keep++] = f[i];
    }
    pt->nfields = keep;
    pt->has_dup_fields = false;
    return 0;
}

enum elem { E_MEAS, E_TAG, E_FKEY };

/* Bytes that get a backslash.  In a measurement '=' and '"' are plain, but
 * the parser drops a backslash before them (as InfluxDB's Name() does), so
 * they are escaped when a backslash precedes them in the name; after_bs
 * says whether one does. */
static bool special(enum elem k, char c, bool after_bs)
{
    if (c == ',' || c == ' ')
        return true;
    if (k == E_MEAS)
        return after_bs && (c == '=' || c == '"');
    if (c == '=')
        return true;
    return k == E_FKEY && c == '"';
}

/* The rule per element, from the parser (lp_parse.c).  put_name() puts a
 * backslash before each byte special() names, so the unescaping pass gives
 * the value back whatever run of backslashes precedes it (a backslash stays
 * unless a byte of the element's set follows it).  What remains:
 *
 * - every element: not empty, and not ending in a backslash (the separator
 *   after it would read as escaped; no spelling produces such a value);
 * - measurement: not starting with a byte that makes the line blank or a
 *   comment ('#', '\t', NUL);
 * - tag keys and values: nothing more.  Their scanners look one byte back
 *   (`\` before a separator escapes it whatever precedes it), so the
 *   value `a\ b` (one backslash) is spelt `a\\ b`;
 * - field keys: the field scanner skips forwards (a backslash hides the next
 *   byte), so the escaped ',', '=' or ' ' must come after an odd run of
 *   backslashes in the line, i.e. an even run in the key.  After an odd run
 *   the separator is seen and the field set no longer adds up; those keys
 *   are refused.
 *
 * The line scanner also skips forwards and treats a '"' after the first
 * space it sees as opening a string, so bytes of one element can decide
 * where the line ends (a '\n' in a name, or an odd run before an escaped
 * space in the key).  That is a property of the whole line: line_ok()
 * checks it by reading the line back. */
static bool representable(enum elem k, struct sv s)
{
    if (s.n == 0 || s.p[s.n - 1] == '\\')
        return false;
    if (k == E_MEAS && (s.p[0] == '#' || s.p[0] == '\t' || s.p[0] == '\0'))
        return false;
    if (k != E_FKEY)
        return true;
    size_t run = 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c == '\\') {
            run++;
            continue;
        }
        if ((c == ',' || c == '=' || c == ' ') && (run & 1))
            return false;
        run = 0;
    }
    return true;
}

static int put_name(struct buf *out, enum elem k, struct sv s)
{
    int rc = 0;
    size_t from = 0;
    for (size_t i = 0; i < s.n && !rc; i++) {
        if (!special(k, s.p[i], i > 0 && s.p[i - 1] == '\\'))
            continue;
        rc = buf_append(out, s.p + from, i - from);
        if (!rc)
            rc = buf_append_char(out, '\\');
        from = i;
    }
    if (!rc)
        rc = buf_append(out, s.p + from, s.n - from);
    return rc;
}

static int put_string(struct buf *out, struct sv s)
{
    int rc = buf_append_char(out, '"');
    size_t from = 0;
    for (size_t i = 0; i < s.n && !rc; i++) {
        if (s.p[i] != '"' && s.p[i] != '\\')
            continue;
        rc = buf_append(out, s.p + from, i - from);
        if (!rc)
            rc = buf_append_char(out, '\\');
        from = i;
    }
    if (!rc)
        rc = buf_append(out, s.p + from, s.n - from);
    if (!rc)
        rc = buf_append_char(out, '"');
    return rc;
}

static int put_value(struct buf *out, const struct lp_field *f)
{
    char tmp[40];
    switch (f->type) {
    case LP_FLOAT: {
        size_t n = lp_format_f64(f->v.f, tmp, sizeof tmp);
        return buf_append(out, tmp, n);
    }
    case LP_INTEGER:
        return buf_appendf(out, "%" PRId64 "i", f->v.i);
    case LP_UNSIGNED:
        return buf_appendf(out, "%" PRIu64 "u", f->v.u);
    case LP_BOOLEAN:
        return buf_append_str(out, f->v.b ? "true" : "false");
    case LP_STRING:
        return put_string(out, f->v.s);
    }
    return ERR_INVAL;
}

static bool point_ok(const struct lp_point *pt)
{
    if (pt->nfields == 0 || !representable(E_MEAS, pt->measurement))
        return false;
    for (size_t i = 0; i < pt->ntags; i++)
        if (!representable(E_TAG, pt->tags[i].key) || !representable(E_TAG, pt->tags[i].value))
            return false;
    for (size_t i = 0; i < pt->nfields; i++) {
        const struct lp_field *f = &pt->fields[i];
        if (!representable(E_FKEY, f->key))
            return false;
        /* The field set starts after blanks, which swallow these. */
        if (i == 0 && (f->key.p[0] == '\t' || f->key.p[0] == '\0'))
            return false;
        if (f->type == LP_FLOAT && !isfinite(f->v.f))
            return false;
        if (f->type < LP_FLOAT || f->type > LP_BOOLEAN)
            return false;
    }
    return true;
}

static bool same_value(const struct lp_field *x, const struct lp_field *y)
{
    if (!sv_eq(x->key, y->key) || x->type != y->type)
        return false;
    switch (x->type) {
    case LP_FLOAT: return memcmp(&x->v.f, &y->v.f, sizeof x->v.f) == 0;
    case LP_INTEGER: return x->v.i == y->v.i;
    case LP_UNSIGNED: return x->v.u == y->v.u;
    case LP_BOOLEAN: return x->v.b == y->v.b;
    case LP_STRING: return sv_eq(x->v.s, y->v.s);
    }
    return false;
}

/* Whether line[0..n) (ending in '\n') reads back as pt and ends at its
 * '\n'.  Without a backslash or an inner '\n' every scanner sees the bytes
 * as written and put_name()'s escapes suffice, so only other lines are
 * parsed again (a few, in practice). */
static bool line_ok(const char *line, size_t n, const struct lp_point *pt)
{
    if (!memchr(line, '\\', n) && !memchr(line, '\n', n - 1))
        return true;
    struct lp_parser q;
    struct lp_point back;
    lp_parser_init(&q, line, n, LP_PREC_NS, pt->ts_ns, NULL);
    bool ok = lp_next(&q, &back, NULL) == 1 && back.line.n == n - 1 &&
              sv_eq(back.measurement, pt->measurement) && back.ntags == pt->ntags &&
              back.nfields == pt->nfields && back.ts_ns == pt->ts_ns;
    for (size_t i = 0; ok && i < pt->ntags; i++)
        ok = sv_eq(back.tags[i].key, pt->tags[i].key) &&
             sv_eq(back.tags[i].value, pt->tags[i].value);
    for (size_t i = 0; ok && i < pt->nfields; i++)
        ok = same_value(&back.fields[i], &pt->fields[i]);
    lp_parser_fini(&q);
    return ok;
}

int lp_write_point(struct buf *out, const struct lp_point *pt)
{
    if (!point_ok(pt))
        return ERR_INVAL;
    size_t mark = out->len;
    int rc = put_name(out, E_MEAS, pt->measurement);
    for (size_t i = 0; i < pt->ntags && !rc; i++) {
        rc = buf_append_char(out, ',');
        if (!rc)
            rc = put_name(out, E_TAG, pt->tags[i].key);
        if (!rc)
            rc = buf_append_char(out, '=');
        if (!rc)
            rc = put_name(out, E_TAG, pt->tags[i].value);
    }
    for (size_t i = 0; i < pt->nfields && !rc; i++) {
        rc = buf_append_char(out, i ? ',' : ' ');
        if (!rc)
            rc = put_name(out, E_FKEY, pt->fields[i].key);
        if (!rc)
            rc = buf_append_char(out, '=');
        if (!rc)
            rc = put_value(out, &pt->fields[i]);
    }
    if (!rc && pt->has_ts)
        rc = buf_appendf(out, " %" PRId64, pt->ts_ns);
    if (!rc)
        rc = buf_append_char(out, '\n');
    if (!rc && !line_ok(out->p + mark, out->len - mark, pt))
        rc = ERR_INVAL;
    if (rc) {
        out->len = mark;
        if (out->p)
            out->p[mark] = '\0';
    }
    return rc;
}
