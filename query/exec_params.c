// SPDX-License-Identifier: MIT
/*
 * The /query `params` JSON object -> struct iql_params, mapped as iql.h
 * describes (influxd 1.6's binding rules).  A small recursive-descent JSON
 * reader: the object is one level deep (values are scalars, arrays, or
 * one-entry objects), so nesting is bounded by MAX_DEPTH.
 */
#include <stdio.h>
#include <string.h>

#include "query/exec.h"

#define MAX_DEPTH 32
#define MAX_PARAMS 4096

struct jr {
    const char *p, *end;
    struct arena *a;
    struct err *e;
};

static void ws(struct jr *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int bad(struct jr *j, const char *ctx)
{
    if (j->p >= j->end)
        return err_set(j->e, ERR_PARSE, "unexpected end of JSON input");
    return err_set(j->e, ERR_PARSE, "invalid character '%c' %s", *j->p, ctx);
}

static void put_utf8(char *o, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        o[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*n)++] = (char)(0xc0 | cp >> 6);
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        o[(*n)++] = (char)(0xe0 | cp >> 12);
        o[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        o[(*n)++] = (char)(0xf0 | cp >> 18);
        o[(*n)++] = (char)(0x80 | (cp >> 12 & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int str(struct jr *j, struct sv *out)
{
    if (j->p >= j->end || *j->p != '"')
        return bad(j, "looking for beginning of value");
    j->p++;
    char *o = arena_try_alloc(j->a, (size_t)(j->end - j->p) + 1);
    if (!o)
        return err_set(j->e, ERR_LIMIT, "params too large");
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if ((unsigned char)c < 0x20)
            return err_set(j->e, ERR_PARSE, "invalid character in string literal");
        if (c != '\\') {
            o[n++] = c;
            continue;
        }
        if (j->p >= j->end)
            break;
        c = *j->p++;
        switch (c) {
        case '"': case '\\': case '/': o[n++] = c; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (j->end - j->p < 4 || hex4(j->p, &cp))
                return err_set(j->e, ERR_PARSE, "invalid character in string escape code");
            j->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' &&
                j->p[1] == 'u' && hex4(j->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                j->p += 6;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;
            }
            put_utf8(o, &n, cp); /* never longer than the 6-byte escape */
            break;
        }
        default:
            return err_set(j->e, ERR_PARSE, "invalid character '%c' in string escape code", c);
        }
    }
    if (j->p >= j->end)
        return err_set(j->e, ERR_PARSE, "unexpected end of JSON input");
    j->p++;
    o[n] = '\0';
    *out = sv_make(o, n);
    return 0;
}

/* An object key: Go words a missing quote differently than for a value. */
static int key_str(struct jr *j, struct sv *out)
{
    if (j->p < j->end && *j->p != '"')
        return bad(j, "looking for beginning of object key string");
    return str(j, out);
}

static int literal(struct jr *j, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < n; i++) {
        if (j->p >= j->end || j->p[0] != word[i]) {
            char ctx[64];
            snprintf(ctx, sizeof ctx, "in literal %s (expecting '%c')", word, word[i]);
            return bad(j, ctx);
        }
        j->p++;
    }
    return 0;
}

/* Skips any JSON value (for arrays and unused values). */
static int skip_value(struct jr *j, int depth)
{
    if (depth > MAX_DEPTH)
        return err_set(j->e, ERR_LIMIT, "params nested too deeply");
    ws(j);
    if (j->p >= j->end)
        return bad(j, "");
    char c = *j->p;
    struct sv s;
    if (c == '"')
        return str(j, &s);
    if (c == 't')
        return literal(j, "true");
    if (c == 'f')
        return literal(j, "false");
    if (c == 'n')
        return literal(j, "null");
    if (c == '[' || c == '{') {
        char close = c == '[' ? ']' : '}';
        j->p++;
        ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        for (;;) {
            int rc;
            if (close == '}') {
                ws(j);
                rc = key_str(j, &s);
                ws(j);
                if (rc == 0 && (j->p >= j->end || *j->p++ != ':'))
                    rc = bad(j, "after object key");
                if (rc)
                    return rc;
            }
            rc = skip_value(j, depth + 1);
            if (rc)
                return rc;
            ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                return 0;
            }
            return bad(j, "after array element");
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        while (j->p < j->end && strchr("+-.eE0123456789", *j->p))
            j->p++;
        return 0;
    }
    return bad(j, "looking for beginning of value");
}

static int number_text(struct jr *j, struct sv *out, bool *is_float)
{
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    *is_float = false;
    while (j->p < j->end && strchr("+-.eE0123456789", *j->p)) {
        if (*j->p == '.' || *j->p == 'e' || *j->p == 'E')
            *is_float = *is_float || *j->p == '.';
        j->p++;
    }
    if (j->p == s)
        return bad(j, "looking for beginning of value");
    *out = arena_sv_dup(j->a, sv_make(s, (size_t)(j->p - s)));
    return 0;
}

/* A scalar or one-entry object value -> param kind and text. */
static int value(struct jr *j, struct iql_param *p)
{
    ws(j);
    if (j->p >= j->end)
        return bad(j, "");
    char c = *j->p;
    bool is_float;
    int rc;
    if (c == '"') {
        p->kind = IQL_PARAM_STRING;
        return str(j, &p->text);
    }
    if (c == 't' || c == 'f') {
        p->kind = IQL_PARAM_BOOL;
        p->text = c == 't' ? SV_LIT("true") : SV_LIT("false");
        return literal(j, c == 't' ? "true" : "false");
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        rc = number_text(j, &p->text, &is_float);
        p->kind = is_float ? IQL_PARAM_NUMBER : IQL_PARAM_INTEGER;
        return rc;
    }
    if (c == 'n') {
        p->kind = IQL_PARAM_ERROR;
        p->text = SV_LIT("unable to bind parameter with type <nil>");
        return literal(j, "null");
    }
    if (c == '[') {
        p->kind = IQL_PARAM_ERROR;
        p->text = SV_LIT("unable to bind parameter with type []interface {}");
        return skip_value(j, 1);
    }
    if (c != '{')
        return bad(j, "looking for beginning of value");
    /* {"identifier": "x"} and friends. */
    const char *start = j->p;
    j->p++;
    ws(j);
    struct sv key = SV_NULL;
    size_t n = 0;
    struct iql_param inner = { 0 };
    if (j->p < j->end && *j->p == '}') {
        j->p++;
    } else {
        for (;;) {
            ws(j);
            struct sv k;
            rc = key_str(j, &k);
            ws(j);
            if (rc == 0 && (j->p >= j->end || *j->p++ != ':'))
                rc = bad(j, "after object key");
            if (rc)
                return rc;
            if (n == 0) {
                key = k;
                ws(j);
                if (j->p < j->end && (*j->p == '{' || *j->p == '[')) {
                    rc = skip_value(j, 1);
                    inner.kind = IQL_PARAM_ERROR;
                } else {
                    rc = value(j, &inner);
                }
            } else {
                rc = skip_value(j, 1);
            }
            if (rc)
                return rc;
            n++;
            ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == '}') {
                j->p++;
                break;
            }
            return bad(j, "after object key:value pair");
        }
    }
    (void)start;
    p->kind = IQL_PARAM_ERROR;
    if (n != 1) {
        p->text = SV_LIT("bound object parameter value must have exactly one entry");
        return 0;
    }
    static const struct {
        const char *name;
        enum iql_param_kind kind;
    } kinds[] = {
        { "identifier", IQL_PARAM_IDENT }, { "regex", IQL_PARAM_REGEX },
        { "duration", IQL_PARAM_DURATION }, { "integer", IQL_PARAM_INTEGER },
        { "number", IQL_PARAM_NUMBER }, { "string", IQL_PARAM_STRING },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (sv_eq_cstr(key, kinds[i].name)) {
            p->kind = kinds[i].kind;
            p->text = inner.text;
            return 0;
        }
    }
    /* The whole key, however long (influxd quotes it in full). */
    static const char pre[] = "unknown bind object type: ";
    size_t len = sizeof pre - 1 + key.n;
    char *msg = arena_try_alloc(j->a, len + 1);
    if (!msg)
        return err_set(j->e, ERR_LIMIT, "params too large");
    memcpy(msg, pre, sizeof pre - 1);
    if (key.n)
        memcpy(msg + sizeof pre - 1, key.p, key.n);
    msg[len] = '\0';
    p->text = sv_make(msg, len);
    return 0;
}

int qx_parse_params_json(struct sv json, struct arena *a, struct iql_params *out, struct err *e)
{
    struct jr j = { json.p, json.p + json.n, a, e };
    memset(out, 0, sizeof *out);
    ws(&j);
    if (j.p >= j.end)
        return bad(&j, "");
    if (*j.p == 'n') {
        int rc = literal(&j, "null");
        ws(&j);
        return rc ? rc : j.p < j.end ? bad(&j, "after top-level value") : 0;
    }
    if (*j.p != '{')
        return err_set(e, ERR_PARSE, "json: cannot unmarshal into Go value of type map[string]interface {}");
    j.p++;
    struct iql_param *v = arena_alloc(a, 16 * sizeof *v);
    size_t n = 0, cap = 16;
    ws(&j);
    if (j.p < j.end && *j.p == '}') {
        j.p++;
    } else {
        for (;;) {
            ws(&j);
            struct iql_param p = { 0 };
            int rc = key_str(&j, &p.name);
            ws(&j);
            if (rc == 0 && (j.p >= j.end || *j.p++ != ':'))
                rc = bad(&j, "after object key");
            rc = rc ? rc : value(&j, &p);
            if (rc)
                return rc;
            if (n == MAX_PARAMS)
                return err_set(e, ERR_LIMIT, "too many bound parameters");
            if (n == cap) {
                struct iql_param *nv = arena_alloc(a, cap * 2 * sizeof *nv);
                memcpy(nv, v, n * sizeof *nv);
                v = nv;
                cap *= 2;
            }
            /* A repeated key replaces the earlier value, as in a Go map. */
            size_t k;
            for (k = 0; k < n && !sv_eq(v[k].name, p.name); k++)
                ;
            v[k] = p;
            if (k == n)
                n++;
            ws(&j);
            if (j.p < j.end && *j.p == ',') {
                j.p++;
                continue;
            }
            if (j.p < j.end && *j.p == '}') {
                j.p++;
                break;
            }
            return bad(&j, "after object key:value pair");
        }
    }
    ws(&j);
    if (j.p < j.end)
        return bad(&j, "after top-level value");
    out->v = v;
    out->n = n;
    return 0;
}
