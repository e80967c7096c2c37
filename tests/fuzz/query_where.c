// SPDX-License-Identifier: MIT
/*
 * Fuzz target for exec_where.c: a WHERE clause from the input bytes goes
 * through iql_parse ("SELECT v FROM m WHERE <bytes>"), then the executor's
 * analysis (qx__time_range: reduce, ConditionExpr twice, time literals,
 * math-call checks) and evaluation against a few rows (tags missing or
 * not, fields of every type or absent).  Checks: no crash, leak or
 * sanitizer report; an analysis failure always carries a message; the
 * condition prepares exactly when the time range does.  The input is also
 * fed to iql_parse_time_string directly (fraction within a second).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/exec_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct row {
    struct sv names[4];
    struct qx_value vals[4];
    size_t n;
};

static const struct qx_value *field(void *arg, struct sv name)
{
    struct row *r = arg;
    for (size_t i = 0; i < r->n; i++)
        if (sv_eq(r->names[i], name) && r->vals[i].kind != QX_NULL)
            return &r->vals[i];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *raw = malloc(size ? size : 1);
    if (size)
        memcpy(raw, data, size);
    struct iql_time tm;
    if (iql_parse_time_string(sv_make(raw, size), &tm) == 0 && (tm.frac_ns < 0 || tm.frac_ns >= 1000000000))
        abort();
    free(raw);

    static const char pre[] = "SELECT v FROM m WHERE ";
    size_t n = sizeof pre - 1 + size;
    char *q = malloc(n + 1);
    memcpy(q, pre, sizeof pre - 1);
    if (size)
        memcpy(q + sizeof pre - 1, data, size);
    q[n] = '\0';
    struct arena qa, sa;
    arena_init(&qa, 0, 64u << 20);
    arena_init(&sa, 0, 64u << 20);
    struct iql_query *query = NULL;
    struct err e;
    if (iql_parse(q, n, NULL, &qa, &query, &e, NULL) == 0 && query->nstmts >= 1 &&
        query->stmts[0]->select) {
        const struct iql_select *s = query->stmts[0]->select;
        struct qx_ctx c = { 0 };
        struct qx_params p = { .now_ns = 1700000000123456789LL };
        struct err se;
        err_clear(&se);
        struct qx__run r = { .c = &c, .p = &p, .a = &sa, .e = &se };
        if (s->tz.n && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ", s->tz.p[0]) && !memchr(s->tz.p, '.', s->tz.n))
            r.tz_name = s->tz;
        int64_t min, max;
        int rc = qx__time_range(&r, s->cond, &min, &max);
        if (rc && !se.msg[0])
            abort();
        struct qx__cond cond;
        err_clear(&se);
        int rc2 = qx__cond_prepare(&r, s->cond, &cond);
        if ((rc == 0) != (rc2 == 0))
            abort();
        if (rc2 == 0) {
            static const struct sv fields[] = { SV_LIT("v"), SV_LIT("s"), SV_LIT("b"), SV_LIT("i") };
            struct tsdb_tag tags[] = { { SV_LIT("host"), SV_LIT("a") }, { SV_LIT("x"), SV_LIT("") } };
            struct row rows[3] = { 0 };
            for (int k = 0; k < 3; k++) {
                rows[k].n = 4;
                for (int f = 0; f < 4; f++)
                    rows[k].names[f] = fields[f];
                rows[k].vals[0] = (struct qx_value){ .kind = k == 2 ? QX_NULL : QX_FLOAT, .f = 1.5 * k };
                rows[k].vals[1] = (struct qx_value){ .kind = QX_STRING, .s = k ? SV_LIT("x") : SV_LIT("") };
                rows[k].vals[2] = (struct qx_value){ .kind = k == 1 ? QX_NULL : QX_BOOL, .b = k == 0 };
                rows[k].vals[3] = (struct qx_value){ .kind = QX_INT, .i = k == 2 ? INT64_MIN : k - 1 };
            }
            for (int k = 0; k < 3; k++) {
                struct qx__row_env env = { .tags = tags, .ntags = (size_t)(k % 3), .field = field,
                                           .field_arg = &rows[k] };
                (void)qx__cond_eval(&cond, &env);
                qx__cond_set_fields(&cond, fields, 4);
                (void)qx__cond_eval(&cond, &env);
                env.field = NULL;
                (void)qx__cond_eval(&cond, &env);
                cond.has_fields = false;
            }
        }
    }
    arena_fini(&sa);
    arena_fini(&qa);
    free(q);
    return 0;
}
