// SPDX-License-Identifier: MIT
/*
 * The /query result encoders: InfluxDB 1.6's JSON (buffered, chunked,
 * pretty) and CSV, as a struct qx_sink (exec.h).
 *
 * Shapes (observed on influxd 1.6.7, spec influx-compat §4.2-4.7):
 *   buffered  {"results":[{"statement_id":0,"series":[{"name":..,"tags":{..},
 *             "columns":[..],"values":[[..]],"partial":true}],"messages":[..]}]}\n
 *             Keys with empty values are omitted; a series with more than
 *             10000 rows carries "partial":true (1.6 merges its internal
 *             10000-row chunks and keeps the flag).  A failed statement is
 *             {"statement_id":N,"error":".."}; when statements were skipped
 *             after it, 1.6 overwrites its error with "not executed".
 *   chunked   one document per series piece, each followed by "\n"; every
 *             piece but the last of a series has "partial" on the series,
 *             every piece but the last of a statement "partial" on the
 *             result.  That needs one piece of lookahead: a piece waits in
 *             x->pend until the next event decides its result flag.  After
 *             a failed statement that was not the last, 1.6 sends a second
 *             document with the same statement id and "not executed".
 *   pretty    the same documents re-indented like Go's json.MarshalIndent
 *             with four spaces.
 *   CSV       name,tags,<columns> header per statement (repeated after an
 *             empty line when the columns change), statements separated by
 *             an empty line, times as integers, floats in 'f' form, RFC 4180
 *             quoting as Go's encoding/csv; failed statements print nothing.
 *
 * Times: RFC3339 in UTC, or with the offset of the series' tz() zone
 * (qx_series.tz) at each instant, as Go formats a time.Time in a Location.
 *
 * Invariant: a statement that fails can be discarded whole.  Buffered JSON
 * writes straight into out (no copy of a large answer): x->stmt_mark is
 * out->len after the open statement's {"statement_id":N, and a failure
 * truncates back to it.  CSV keeps the statement's lines in x->stmt.
 *
 * Rows of numbers (the bulk of a Grafana answer) are written into out's
 * spare room directly, with common/fmt_float for the numbers.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fmt_float.h"
#include "common/json.h"
#include "query/exec.h"
#include "query/exec_agg.h" /* qx__tz_offset_ns */

#define INFLUX_CHUNK_ROWS 10000

/* ---- time and durations ------------------------------------------------ */

/* Days since 1970-01-01 -> civil date (Howard Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

/* Two decimal digits of v (< 100) at o; returns the end. */
static inline char *put2(char *o, unsigned v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
    return o + 2;
}

int qx_append_rfc3339(struct buf *b, int64_t t_ns)
{
    return qx_append_rfc3339_off(b, t_ns, 0);
}

int qx_append_rfc3339_off(struct buf *b, int64_t t_ns, int64_t off_ns)
{
    char zone[16] = "Z";
    if (off_ns != 0) {
        int64_t m = (off_ns < 0 ? -off_ns : off_ns) / INT64_C(60000000000);
        snprintf(zone, sizeof zone, "%c%02d:%02d", off_ns < 0 ? '-' : '+', (int)(m / 60 % 100),
                 (int)(m % 60));
        /* local wall time; saturate rather than wrap at the int64 edges */
        if (off_ns > 0 && t_ns > INT64_MAX - off_ns)
            t_ns = INT64_MAX;
        else if (off_ns < 0 && t_ns < INT64_MIN - off_ns)
            t_ns = INT64_MIN;
        else
            t_ns += off_ns;
    }
    int64_t sec = t_ns / 1000000000, ns = t_ns % 1000000000;
    if (ns < 0) {
        ns += 1000000000;
        sec--;
    }
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    if (y >= 0 && y <= 9999) {
        /* The common case without printf: the same bytes as below. */
        char out[48], *o = out;
        unsigned yy = (unsigned)y, hh = (unsigned)(rem / 3600), mi = (unsigned)(rem / 60 % 60),
                 ss = (unsigned)(rem % 60);
        o = put2(put2(o, yy / 100), yy % 100);
        *o++ = '-';
        o = put2(o, mo);
        *o++ = '-';
        o = put2(o, d);
        *o++ = 'T';
        o = put2(o, hh);
        *o++ = ':';
        o = put2(o, mi);
        *o++ = ':';
        o = put2(o, ss);
        if (ns) {
            unsigned f = (unsigned)ns;
            int nd = 9;
            while (f % 10 == 0) {
                f /= 10;
                nd--;
            }
            *o++ = '.';
            for (int k = nd - 1; k >= 0; k--) {
                o[k] = (char)('0' + f % 10);
                f /= 10;
            }
            o += nd;
        }
        size_t zn = strlen(zone);
        memcpy(o, zone, zn);
        o += zn;
        return buf_append(b, out, (size_t)(o - out));
    }
    char frac[16] = "";
    if (ns) {
        snprintf(frac, sizeof frac, ".%09" PRId64, ns);
        size_t n = strlen(frac);
        while (n > 1 && frac[n - 1] == '0')
            frac[--n] = '\0';
    }
    return buf_appendf(b, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d%s%s", y, mo, d,
                       (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac, zone);
}

/* Go's fmtFrac: v's last prec digits as ".ddd" without trailing zeros. */
static void go_frac(char *out, uint64_t v, int prec, uint64_t *rest)
{
    char digits[16];
    bool print = false;
    size_t n = 0;
    for (int i = 0; i < prec; i++) {
        unsigned dgt = (unsigned)(v % 10);
        print = print || dgt != 0;
        if (print)
            digits[n++] = (char)('0' + dgt);
        v /= 10;
    }
    size_t o = 0;
    if (print) {
        out[o++] = '.';
        while (n)
            out[o++] = digits[--n];
    }
    out[o] = '\0';
    *rest = v;
}

int qx_append_go_duration(struct buf *b, int64_t d_ns)
{
    if (d_ns == 0)
        return buf_append_str(b, "0s");
    bool neg = d_ns < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)d_ns : (uint64_t)d_ns;
    char frac[16];
    const char *sign = neg ? "-" : "";
    if (u < 1000000000) {
        if (u < 1000)
            return buf_appendf(b, "%s%" PRIu64 "ns", sign, u);
        int prec = u < 1000000 ? 3 : 6;
        const char *unit = u < 1000000 ? "\xc2\xb5s" : "ms";
        uint64_t whole;
        go_frac(frac, u, prec, &whole);
        return buf_appendf(b, "%s%" PRIu64 "%s%s", sign, whole, frac, unit);
    }
    uint64_t s;
    go_frac(frac, u, 9, &s);
    if (s < 60)
        return buf_appendf(b, "%s%" PRIu64 "%ss", sign, s, frac);
    uint64_t m = s / 60;
    s %= 60;
    if (m < 60)
        return buf_appendf(b, "%s%" PRIu64 "m%" PRIu64 "%ss", sign, m, s, frac);
    return buf_appendf(b, "%s%" PRIu64 "h%" PRIu64 "m%" PRIu64 "%ss", sign, m / 60, m % 60, s,
                       frac);
}

int64_t qx_epoch_divisor(const char *epoch, size_t n)
{
    struct sv e = sv_make(epoch, epoch ? n : 0);
    if (e.n == 0)
        return 0;
    if (sv_eq_cstr(e, "u")) /* not "µ": 1.6 reads that as ns (observed) */
        return 1000;
    if (sv_eq_cstr(e, "ms"))
        return 1000000;
    if (sv_eq_cstr(e, "s"))
        return 1000000000;
    if (sv_eq_cstr(e, "m"))
        return INT64_C(60000000000);
    if (sv_eq_cstr(e, "h"))
        return INT64_C(3600000000000);
    return 1; /* "n", "ns" and, as in 1.6, anything else */
}

/* ---- Go json.Indent ------------------------------------------------------ */

static int indent_nl(struct buf *b, int depth)
{
    int rc = buf_append_char(b, '\n');
    for (int i = 0; rc == 0 && i < depth; i++)
        rc = buf_append(b, "    ", 4);
    return rc;
}

int qx_json_indent(struct buf *b, const char *src, size_t n)
{
    int depth = 0, rc = 0;
    bool in_str = false, need_indent = false;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char c = src[i];
        if (in_str) {
            rc = buf_append_char(b, c);
            if (c == '\\' && i + 1 < n)
                rc = rc ? rc : buf_append_char(b, src[++i]);
            else if (c == '"')
                in_str = false;
            continue;
        }
        /* Go keeps [] and {} compact: the newline is deferred until a
         * value follows the opening bracket. */
        if (need_indent && c != ']' && c != '}') {
            need_indent = false;
            depth++;
            rc = indent_nl(b, depth);
            if (rc)
                break;
        }
        switch (c) {
        case '"':
            in_str = true;
            rc = buf_append_char(b, c);
            break;
        case '{':
        case '[':
            rc = buf_append_char(b, c);
            need_indent = true;
            break;
        case ',':
            rc = buf_append_char(b, c);
            rc = rc ? rc : indent_nl(b, depth);
            break;
        case ':':
            rc = buf_append(b, ": ", 2);
            break;
        case '}':
        case ']':
            if (need_indent) {
                need_indent = false; /* empty: stays compact */
            } else {
                depth--;
                rc = indent_nl(b, depth);
            }
            rc = rc ? rc : buf_append_char(b, c);
            break;
        default:
            rc = buf_append_char(b, c);
        }
    }
    return rc;
}

/* ---- JSON values --------------------------------------------------------- */

/* Go's encoding/json float (common/json.c does the "e-09 to e-9" step). */
static int json_float(struct buf *b, double f)
{
    return json_append_f64(b, f);
}

static int json_value(struct buf *b, const struct qx_value *v, int64_t epoch_div,
                      const struct qx__tz *tz)
{
    switch (v->kind) {
    case QX_NULL:
        return buf_append(b, "null", 4);
    case QX_FLOAT:
        return json_float(b, v->f);
    case QX_INT:
    case QX_GOINT:
        return json_append_i64(b, v->i);
    case QX_UINT:
        return json_append_u64(b, v->u);
    case QX_BOOL:
        return v->b ? buf_append(b, "true", 4) : buf_append(b, "false", 5);
    case QX_STRING:
        return json_append_str(b, v->s);
    case QX_TIME:
        if (epoch_div == 0) {
            int rc = buf_append_char(b, '"');
            rc = rc ? rc : qx_append_rfc3339_off(b, v->i, tz ? qx__tz_offset_ns(tz, v->i) : 0);
            return rc ? rc : buf_append_char(b, '"');
        }
        return json_append_i64(b, v->i / epoch_div);
    }
    return 0;
}

/* Epoch times repeat from series to series (every series of a GROUP BY
 * time() answer has the same buckets): each thread keeps the text of
 * recent ones, direct-mapped by time. */
struct time_text {
    int64_t t_ns, div;
    uint8_t n; /* 0: empty */
    char s[23];
};
static _Thread_local struct time_text time_texts[64];
_Static_assert(sizeof time_texts[0].s <= FMT_JSON_MAX, "a time's text is copied whole");

/* t_ns / div as text at o (room for FMT_JSON_MAX bytes); returns the end. */
static inline char *put_epoch(char *o, int64_t t_ns, int64_t div)
{
    struct time_text *c = &time_texts[((uint64_t)t_ns * UINT64_C(0x9E3779B97F4A7C15)) >> 58];
    if (c->n && c->t_ns == t_ns && c->div == div) {
        memcpy(o, c->s, sizeof c->s);
        return o + c->n;
    }
    size_t n = fmt_i64(t_ns / div, o); /* at most 20 bytes */
    c->t_ns = t_ns;
    c->div = div;
    c->n = (uint8_t)n;
    memcpy(c->s, o, n);
    return o + n;
}

/* A double that is a short decimal (at most 4 digits after the point, as
 * gauges and rates often are) printed without the shortest-digits search:
 * when v == M / 10^k exactly (M < 10^15, so at most 15 digits), M's digits
 * with the point k from the right are the shortest text that reads back as
 * v (two decimals of at most 15 significant digits never round to the same
 * double), which is what fmt_f64_json prints (plain notation from 1e-6 to
 * 1e21).  Returns the length, or 0 when v is not such a decimal. */
static inline size_t put_short_decimal(double v, char *o)
{
    static const double p10[] = { 1, 10, 100, 1000, 10000 };
    double a = fabs(v);
    double s = a * 1e4;
    if (!(s >= 1 && s < 1e15))
        return 0;
    int64_t m = (int64_t)(s + 0.5);
    double d = s - (double)m;
    if (d > s * 0x1p-48 || -d > s * 0x1p-48)
        return 0; /* not near a multiple of 1e-4: a long decimal */
    int k = 4;
    while (k > 0 && m % 10 == 0) {
        m /= 10;
        k--;
    }
    if ((double)m / p10[k] != a)
        return 0;
    char digits[24];
    size_t nd = fmt_u64((uint64_t)m, digits);
    char *p = o;
    if (v < 0)
        *p++ = '-';
    if ((size_t)k >= nd) { /* 0.000ddd */
        *p++ = '0';
        *p++ = '.';
        for (size_t i = nd; i < (size_t)k; i++)
            *p++ = '0';
        memcpy(p, digits, nd);
        p += nd;
    } else {
        size_t ip = nd - (size_t)k;
        memcpy(p, digits, ip);
        p += ip;
        if (k) {
            *p++ = '.';
            memcpy(p, digits + ip, (size_t)k);
            p += k;
        }
    }
    return (size_t)(p - o);
}

/* Writes v at o if it has a bounded size (at most FMT_JSON_MAX bytes);
 * returns the end, or NULL for strings and RFC3339 times. */
static inline char *json_value_fixed(char *o, const struct qx_value *v, int64_t epoch_div)
{
    switch (v->kind) {
    case QX_NULL:
        memcpy(o, "null", 4);
        return o + 4;
    case QX_FLOAT: {
        if (!isfinite(v->f)) {
            memcpy(o, "null", 4);
            return o + 4;
        }
        size_t n = put_short_decimal(v->f, o);
        return o + (n ? n : fmt_f64_json(v->f, o));
    }
    case QX_INT:
    case QX_GOINT:
        return o + fmt_i64(v->i, o);
    case QX_UINT:
        return o + fmt_u64(v->u, o);
    case QX_BOOL:
        if (v->b) {
            memcpy(o, "true", 4);
            return o + 4;
        }
        memcpy(o, "false", 5);
        return o + 5;
    case QX_TIME:
        if (epoch_div == 0)
            return NULL;
        return put_epoch(o, v->i, epoch_div);
    case QX_STRING:
        return NULL;
    }
    return NULL;
}

static int json_rows(const struct qx_enc *x, struct buf *b, const struct qx_series *s,
                     bool need_comma)
{
    /* a row of fixed-size values: brackets, commas, the values */
    size_t row_max = 3 + s->ncolumns * (FMT_JSON_MAX + 1);
    for (size_t r = 0; r < s->nrows; r++) {
        const struct qx_value *row = &s->values[r * s->ncolumns];
        int rc = buf_reserve(b, row_max);
        if (rc == 0) {
            char *o = b->p + b->len;
            if (need_comma || r > 0)
                *o++ = ',';
            *o++ = '[';
            size_t c = 0;
            for (; c < s->ncolumns; c++) {
                if (c)
                    *o++ = ',';
                char *e = json_value_fixed(o, &row[c], x->epoch_div);
                if (!e)
                    break;
                o = e;
            }
            b->len = (size_t)(o - b->p);
            b->p[b->len] = '\0';
            if (c == s->ncolumns) {
                rc = buf_append_char(b, ']');
                if (rc)
                    return rc;
                continue;
            }
            /* a string or RFC3339 time: the rest of the row the slow way */
            size_t first = c; /* its comma is written */
            for (; c < s->ncolumns && rc == 0; c++) {
                if (c > first)
                    rc = buf_append_char(b, ',');
                rc = rc ? rc : json_value(b, &row[c], x->epoch_div, s->tz);
            }
            rc = rc ? rc : buf_append_char(b, ']');
            if (rc)
                return rc;
            continue;
        }
        /* near the size cap: exact appends, so the limit falls where it did */
        if (need_comma || r > 0)
            rc = buf_append_char(b, ',');
        rc = rc ? rc : buf_append_char(b, '[');
        for (size_t c = 0; c < s->ncolumns && rc == 0; c++) {
            if (c)
                rc = buf_append_char(b, ',');
            rc = rc ? rc : json_value(b, &row[c], x->epoch_div, s->tz);
        }
        rc = rc ? rc : buf_append_char(b, ']');
        if (rc)
            return rc;
    }
    return 0;
}

/* s's rows into b: the bytes a reader thread rendered ahead
 * (enc_render_rows: json_rows of the same rows) when they fit below b's
 * cap, else formatted here (near the cap the exact appends of json_rows
 * decide where the limit falls). */
static int put_rows(const struct qx_enc *x, struct buf *b, const struct qx_series *s,
                    bool need_comma)
{
    size_t n = s->rendered.n + (need_comma ? 1 : 0);
    if (!s->rendered.p || b->len > b->max_bytes || n > b->max_bytes - b->len)
        return json_rows(x, b, s, need_comma);
    int rc = need_comma ? buf_append_char(b, ',') : 0;
    return rc ? rc : buf_append(b, s->rendered.p, s->rendered.n);
}

/* {"name":..,"tags":{..},"columns":[..] -- the series head, left open. */
static int json_series_head(struct buf *b, const struct qx_series *s)
{
    int rc = buf_append_char(b, '{');
    const char *sep = "";
    if (s->name.n) {
        rc = rc ? rc : buf_append_str(b, "\"name\":");
        rc = rc ? rc : json_append_str(b, s->name);
        sep = ",";
    }
    if (s->ntags) {
        rc = rc ? rc : buf_appendf(b, "%s\"tags\":{", sep);
        for (size_t i = 0; i < s->ntags && rc == 0; i++) {
            if (i)
                rc = buf_append_char(b, ',');
            rc = rc ? rc : json_append_str(b, s->tags[i].key);
            rc = rc ? rc : buf_append_char(b, ':');
            rc = rc ? rc : json_append_str(b, s->tags[i].value);
        }
        rc = rc ? rc : buf_append_char(b, '}');
        sep = ",";
    }
    rc = rc ? rc : buf_appendf(b, "%s\"columns\":[", sep);
    for (size_t i = 0; i < s->ncolumns && rc == 0; i++) {
        if (i)
            rc = buf_append_char(b, ',');
        rc = rc ? rc : json_append_str(b, s->columns[i]);
    }
    return rc ? rc : buf_append_char(b, ']');
}

static int json_messages(struct buf *b, const struct qx_stmt_end *end)
{
    if (!end->nmessages)
        return 0;
    int rc = buf_append_str(b, ",\"messages\":[");
    for (size_t i = 0; i < end->nmessages && rc == 0; i++) {
        rc = buf_appendf(b, "%s{\"level\":", i ? "," : "");
        rc = rc ? rc : json_append_cstr(b, end->messages[i].level);
        rc = rc ? rc : buf_append_str(b, ",\"text\":");
        rc = rc ? rc : json_append_str(b, end->messages[i].text);
        rc = rc ? rc : buf_append_char(b, '}');
    }
    return rc ? rc : buf_append_char(b, ']');
}

/* Appends one complete document src to out (indented when pretty), plus the
 * newline that ends every document. */
static int emit_doc(struct qx_enc *x, const struct buf *src)
{
    int rc = x->is_pretty ? qx_json_indent(x->out, src->p, src->len)
                          : buf_append(x->out, src->p, src->len);
    return rc ? rc : buf_append_char(x->out, '\n');
}

static int do_flush(struct qx_enc *x)
{
    if (!x->flush)
        return 0;
    return x->flush(x->flush_arg, x->out);
}

/* Chunked: sends the waiting piece with the result-level partial flag. */
static int chunk_emit_pending(struct qx_enc *x, bool is_partial, const struct qx_stmt_end *end)
{
    int rc = 0;
    if (is_partial)
        rc = buf_append_str(&x->pend, ",\"partial\":true");
    if (end)
        rc = rc ? rc : json_messages(&x->pend, end);
    rc = rc ? rc : buf_append_str(&x->pend, "}]}");
    rc = rc ? rc : emit_doc(x, &x->pend);
    buf_reset(&x->pend);
    return rc ? rc : do_flush(x);
}

/* Chunked: a whole meta series is its own document, with no "partial". */
static int chunk_whole(struct qx_enc *x, int stmt_id, const struct qx_series *s)
{
    int rc = 0;
    if (x->pend.len)
        rc = chunk_emit_pending(x, true, NULL);
    struct buf d;
    buf_init(&d, 0);
    rc = rc ? rc : buf_appendf(&d, "{\"results\":[{\"statement_id\":%d,\"series\":[", stmt_id);
    rc = rc ? rc : json_series_head(&d, s);
    if (s->nrows) {
        rc = rc ? rc : buf_append_str(&d, ",\"values\":[");
        rc = rc ? rc : put_rows(x, &d, s, false);
        rc = rc ? rc : buf_append_char(&d, ']');
    }
    rc = rc ? rc : buf_append_str(&d, "}]}]}");
    rc = rc ? rc : emit_doc(x, &d);
    buf_fini(&d);
    x->whole_stmt = stmt_id;
    return rc ? rc : do_flush(x);
}

/* Buffered JSON: writes the statement's opening into out once. */
static int json_open_stmt(struct qx_enc *x, int stmt_id)
{
    if (x->is_stmt_open)
        return 0;
    int rc = buf_append_str(x->out, x->nresults ? "," : "{\"results\":[");
    rc = rc ? rc : buf_append_str(x->out, "{\"statement_id\":");
    rc = rc ? rc : json_append_i64(x->out, stmt_id);
    x->stmt_mark = x->out->len;
    x->is_stmt_open = rc == 0;
    return rc;
}

static int json_series(struct qx_enc *x, int stmt_id, const struct qx_series *s)
{
    int rc = 0;
    if (x->is_chunked && s->is_whole)
        return chunk_whole(x, stmt_id, s);
    if (x->is_chunked) {
        if (x->pend.len)
            rc = chunk_emit_pending(x, true, NULL);
        rc = rc ? rc : buf_appendf(&x->pend, "{\"results\":[{\"statement_id\":%d,\"series\":[", stmt_id);
        rc = rc ? rc : json_series_head(&x->pend, s);
        if (s->nrows) {
            rc = rc ? rc : buf_append_str(&x->pend, ",\"values\":[");
            rc = rc ? rc : put_rows(x, &x->pend, s, false);
            rc = rc ? rc : buf_append_char(&x->pend, ']');
        }
        if (s->is_continued)
            rc = rc ? rc : buf_append_str(&x->pend, ",\"partial\":true");
        rc = rc ? rc : buf_append_str(&x->pend, "}]");
        return rc;
    }
    struct buf *b = x->out;
    rc = json_open_stmt(x, stmt_id);
    if (rc == 0 && !x->is_in_series) {
        rc = buf_append_str(b, x->has_series ? "," : ",\"series\":[");
        rc = rc ? rc : json_series_head(b, s);
        x->has_series = true;
        x->is_in_series = true;
        x->series_rows = 0;
    }
    if (s->nrows) {
        rc = rc ? rc : buf_append_str(b, x->series_rows ? "" : ",\"values\":[");
        rc = rc ? rc : put_rows(x, b, s, x->series_rows > 0);
        x->series_rows += s->nrows;
    }
    if (!s->is_continued) {
        if (x->series_rows)
            rc = rc ? rc : buf_append_char(b, ']');
        if (x->series_rows > INFLUX_CHUNK_ROWS)
            rc = rc ? rc : buf_append_str(b, ",\"partial\":true");
        rc = rc ? rc : buf_append_char(b, '}');
        x->is_in_series = false;
    }
    return rc;
}

static int json_end(struct qx_enc *x, const struct qx_stmt_end *end)
{
    int rc = 0;
    if (x->is_chunked) {
        if (end->error) {
            buf_reset(&x->pend);
            struct buf d;
            buf_init(&d, 0);
            rc = buf_appendf(&d, "{\"results\":[{\"statement_id\":%d,\"error\":", end->stmt_id);
            rc = rc ? rc : json_append_cstr(&d, end->error);
            rc = rc ? rc : buf_append_str(&d, "}]}");
            rc = rc ? rc : emit_doc(x, &d);
            if (!end->is_last) {
                buf_reset(&d);
                rc = rc ? rc : buf_appendf(&d, "{\"results\":[{\"statement_id\":%d,\"error\":\"not executed\"}]}", end->stmt_id);
                rc = rc ? rc : emit_doc(x, &d);
            }
            buf_fini(&d);
            return rc ? rc : do_flush(x);
        }
        if (!x->pend.len && x->whole_stmt == end->stmt_id && !end->nmessages)
            return 0; /* its whole series were complete documents */
        if (!x->pend.len)
            rc = buf_appendf(&x->pend, "{\"results\":[{\"statement_id\":%d", end->stmt_id);
        return rc ? rc : chunk_emit_pending(x, false, end);
    }
    struct buf *o = x->out;
    if (end->error && x->is_stmt_open) {
        /* discard what the statement wrote */
        o->len = x->stmt_mark;
        if (o->p)
            o->p[o->len] = '\0';
    }
    rc = json_open_stmt(x, end->stmt_id);
    if (end->error) {
        rc = rc ? rc : buf_append_str(o, ",\"error\":");
        rc = rc ? rc : json_append_cstr(o, end->is_last ? end->error : "not executed");
    } else {
        if (x->has_series)
            rc = rc ? rc : buf_append_char(o, ']');
        rc = rc ? rc : json_messages(o, end);
    }
    rc = rc ? rc : buf_append_char(o, '}');
    x->nresults++;
    x->is_stmt_open = false;
    x->has_series = false;
    x->is_in_series = false;
    return rc;
}

/* ---- CSV ------------------------------------------------------------------- */

static int csv_field(struct buf *b, struct sv f)
{
    bool quote = false;
    if (f.n) {
        unsigned char c0 = (unsigned char)f.p[0];
        quote = c0 == ' ' || c0 == '\t' || c0 == '\n' || c0 == '\v' || c0 == '\f' || c0 == '\r';
        quote = quote || (f.n == 2 && f.p[0] == '\\' && f.p[1] == '.');
        for (size_t i = 0; i < f.n && !quote; i++)
            quote = f.p[i] == ',' || f.p[i] == '"' || f.p[i] == '\r' || f.p[i] == '\n';
    }
    if (!quote)
        return buf_append(b, f.p, f.n);
    int rc = buf_append_char(b, '"');
    for (size_t i = 0; i < f.n && rc == 0; i++)
        rc = f.p[i] == '"' ? buf_append(b, "\"\"", 2) : buf_append_char(b, f.p[i]);
    return rc ? rc : buf_append_char(b, '"');
}

static int csv_value(struct buf *b, const struct qx_value *v, struct sv column, int64_t epoch_div)
{
    char tmp[FMT_FIXED_MAX];
    switch (v->kind) {
    case QX_NULL:
        return 0;
    case QX_FLOAT:
        if (isnan(v->f) || isinf(v->f))
            return buf_append_str(b, isnan(v->f) ? "NaN" : v->f > 0 ? "+Inf" : "-Inf");
        /* Go's strconv.FormatFloat(v, 'f', -1, 64) */
        return buf_append(b, tmp, fmt_f64_fixed(v->f, tmp));
    case QX_INT:
        return buf_append(b, tmp, fmt_i64(v->i, tmp));
    case QX_UINT:
        return buf_append(b, tmp, fmt_u64(v->u, tmp));
    case QX_BOOL:
        return buf_append_str(b, v->b ? "true" : "false");
    case QX_STRING:
        return csv_field(b, v->s);
    case QX_TIME:
        return buf_append(b, tmp, fmt_i64(epoch_div ? v->i / epoch_div : v->i, tmp));
    case QX_GOINT:
        return csv_field(b, column);
    }
    return 0;
}

/* Tags as models.Tags.HashKey() without its leading comma: tags with an
 * empty value are left out (a GROUP BY tag a series lacks), unlike the
 * JSON "tags" object which shows them as "". */
static int csv_tags(struct buf *b, const struct qx_series *s)
{
    struct buf t;
    buf_init(&t, 0);
    int rc = 0;
    for (size_t i = 0; i < s->ntags && rc == 0; i++) {
        if (s->tags[i].value.n == 0)
            continue;
        if (t.len)
            rc = buf_append_char(&t, ',');
        for (int kv = 0; kv < 2 && rc == 0; kv++) {
            struct sv x = kv ? s->tags[i].value : s->tags[i].key;
            if (kv)
                rc = buf_append_char(&t, '=');
            for (size_t j = 0; j < x.n && rc == 0; j++) {
                if (x.p[j] == ',' || x.p[j] == ' ' || x.p[j] == '=')
                    rc = buf_append_char(&t, '\\');
                rc = rc ? rc : buf_append_char(&t, x.p[j]);
            }
        }
    }
    rc = rc ? rc : csv_field(b, buf_sv(&t));
    buf_fini(&t);
    return rc;
}

static bool csv_same_columns(struct qx_enc *x, const struct qx_series *s)
{
    struct buf k;
    buf_init(&k, 0);
    for (size_t i = 0; i < s->ncolumns; i++) {
        if (buf_append(&k, s->columns[i].p, s->columns[i].n) || buf_append_char(&k, '\0')) {
            buf_fini(&k);
            return false;
        }
    }
    bool same = k.len == x->csv_cols.len && (k.len == 0 || !memcmp(k.p, x->csv_cols.p, k.len));
    buf_reset(&x->csv_cols);
    if (k.len && buf_append(&x->csv_cols, k.p, k.len))
        x->err = ERR_NOMEM;
    buf_fini(&k);
    return same;
}

static int csv_series(struct qx_enc *x, int stmt_id, const struct qx_series *s)
{
    struct buf *b = &x->stmt;
    int rc = 0;
    bool first = x->csv_stmt != stmt_id;
    bool same = csv_same_columns(x, s);
    if (first || !same) {
        if (!first)
            rc = buf_append_char(b, '\n');
        rc = rc ? rc : buf_append_str(b, "name,tags");
        for (size_t i = 0; i < s->ncolumns && rc == 0; i++) {
            rc = buf_append_char(b, ',');
            rc = rc ? rc : csv_field(b, s->columns[i]);
        }
        rc = rc ? rc : buf_append_char(b, '\n');
        x->csv_stmt = stmt_id;
    }
    for (size_t r = 0; r < s->nrows && rc == 0; r++) {
        rc = csv_field(b, s->name);
        rc = rc ? rc : buf_append_char(b, ',');
        rc = rc ? rc : csv_tags(b, s);
        for (size_t c = 0; c < s->ncolumns && rc == 0; c++) {
            rc = buf_append_char(b, ',');
            rc = rc ? rc : csv_value(b, &s->values[r * s->ncolumns + c], s->columns[c], x->epoch_div);
        }
        rc = rc ? rc : buf_append_char(b, '\n');
    }
    return rc;
}

static int csv_end(struct qx_enc *x, const struct qx_stmt_end *end)
{
    int rc = 0;
    if (!end->error && x->stmt.len) {
        if (x->has_csv_output)
            rc = buf_append_char(x->out, '\n');
        rc = rc ? rc : buf_append(x->out, x->stmt.p, x->stmt.len);
        x->has_csv_output = true;
    }
    if (end->error && x->csv_stmt == end->stmt_id)
        x->csv_stmt = -1;
    buf_reset(&x->stmt);
    return rc ? rc : do_flush(x);
}

int qx_csv_error(struct buf *b, struct sv msg)
{
    int rc = buf_append_str(b, "error\n");
    rc = rc ? rc : csv_field(b, msg);
    return rc ? rc : buf_append_char(b, '\n');
}

/* ---- the sink ------------------------------------------------------------- */

static int enc_series(struct qx_sink *k, int stmt_id, const struct qx_series *s)
{
    struct qx_enc *x = (struct qx_enc *)k;
    int rc = x->fmt == QX_FMT_CSV ? csv_series(x, stmt_id, s) : json_series(x, stmt_id, s);
    return rc ? rc : x->err;
}

static int enc_end(struct qx_sink *k, const struct qx_stmt_end *end)
{
    struct qx_enc *x = (struct qx_enc *)k;
    int rc = x->fmt == QX_FMT_CSV ? csv_end(x, end) : json_end(x, end);
    return rc ? rc : x->err;
}

/* JSON rows for a reader thread (qx_sink.render_rows): json_rows reads
 * only epoch_div, fixed from qx_enc_init on.  CSV declines. */
static int enc_render_rows(const struct qx_sink *k, const struct qx_series *s, struct buf *b)
{
    const struct qx_enc *x = (const struct qx_enc *)k;
    if (x->fmt != QX_FMT_JSON || s->tz)
        return ERR_UNSUPPORTED;
    return json_rows(x, b, s, false);
}

void qx_enc_init(struct qx_enc *x, enum qx_format fmt, struct buf *out, int64_t epoch_div,
                 bool is_chunked, bool is_pretty, qx_flush_cb flush, void *flush_arg)
{
    memset(x, 0, sizeof *x);
    x->sink.series = enc_series;
    x->sink.end = enc_end;
    x->sink.render_rows = enc_render_rows;
    x->fmt = fmt;
    x->out = out;
    x->epoch_div = epoch_div;
    x->is_chunked = is_chunked && fmt == QX_FMT_JSON;
    x->is_pretty = is_pretty && fmt == QX_FMT_JSON;
    x->flush = flush;
    x->flush_arg = flush_arg;
    x->csv_stmt = -1;
    x->whole_stmt = -1;
    buf_init(&x->stmt, 0);
    buf_init(&x->pend, 0);
    buf_init(&x->csv_cols, 0);
}

int qx_enc_finish(struct qx_enc *x)
{
    if (x->fmt == QX_FMT_CSV || x->is_chunked)
        return 0;
    /* No statement at all (q=";" or only comments): 1.6 omits the empty list. */
    int rc = buf_append_str(x->out, x->nresults ? "]}" : "{}");
    if (rc == 0 && x->is_pretty) {
        struct buf t;
        buf_init(&t, 0);
        rc = qx_json_indent(&t, x->out->p, x->out->len);
        if (rc == 0) {
            buf_reset(x->out);
            rc = buf_append(x->out, t.p, t.len);
        }
        buf_fini(&t);
    }
    return rc ? rc : buf_append_char(x->out, '\n');
}

void qx_enc_fini(struct qx_enc *x)
{
    buf_fini(&x->stmt);
    buf_fini(&x->pend);
    buf_fini(&x->csv_cols);
}
