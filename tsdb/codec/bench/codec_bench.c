// SPDX-License-Identifier: MIT
/*
 * codec_bench: bytes per value and encode/decode speed of tsdb/codec on
 * columns taken from shared/bench/gen_lp.py data (not a test; built in
 * Release only).
 *
 *   codec_bench [--gen PATH/gen_lp.py] [--series-devops N] [--series-ops N]
 *               [--span 6h] [--reps R]
 *
 * It runs the generator into /tmp (nj_codec_bench_<workload>.lp, reused when
 * present; never commit it), splits every series into blocks of 1,024 rows
 * and encodes the time column and every field column with the adaptive
 * encoders (zstd level 1, then zstd off), and the float columns also with
 * each float codec forced (XOR, decimal, bits-int), through the internal
 * entry points.  Encode and decode speeds add up, per block, the best of R
 * runs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hash.h"
#include "tsdb/codec/codec.h"
#include "tsdb/codec/codec_int.h"

#define MAXF 10
#define BLK CODEC_BLOCK_MAX

struct col {
    char name[40];
    bool is_int;
    size_t n, cap;
    double *f;
    int64_t *i;
};
struct series {
    char *key;
    size_t n, cap;
    int64_t *ts;
    int ncols;
    struct col cols[MAXF];
};
struct dataset {
    struct htab idx;
    struct series **s;
    size_t ns, cap;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t nc = *cap ? *cap * 2 : 256;
    while (nc < need)
        nc *= 2;
    p = realloc(p, nc * elem);
    if (!p) {
        perror("realloc");
        exit(1);
    }
    *cap = nc;
    return p;
}

static void load(struct dataset *d, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    htab_init(&d->idx);
    while ((len = getline(&line, &lcap, f)) > 0) {
        char *sp1 = strchr(line, ' ');
        char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp2)
            continue;
        struct sv key = sv_make(line, (size_t)(sp1 - line));
        struct series *s = htab_find(&d->idx, key);
        if (!s) {
            s = calloc(1, sizeof *s);
            s->key = strndup(line, key.n);
            htab_put(&d->idx, sv_make(s->key, key.n), s);
            d->s = grow(d->s, &d->cap, d->ns + 1, sizeof *d->s);
            d->s[d->ns++] = s;
        }
        s->ts = grow(s->ts, &s->cap, s->n + 1, sizeof *s->ts);
        s->ts[s->n] = strtoll(sp2 + 1, NULL, 10);
        *sp2 = '\0';
        int k = 0;
        for (char *fld = sp1 + 1; fld && k < MAXF; k++) {
            char *comma = strchr(fld, ',');
            if (comma)
                *comma = '\0';
            char *eq = strchr(fld, '=');
            struct col *c = &s->cols[k];
            if (s->n == 0) {
                snprintf(c->name, sizeof c->name, "%.*s", (int)(eq - fld), fld);
                c->is_int = eq[strlen(eq) - 1] == 'i';
                s->ncols = k + 1;
            }
            size_t ccap = c->cap;
            if (c->is_int) {
                c->i = grow(c->i, &ccap, c->n + 1, sizeof *c->i);
                c->i[c->n++] = strtoll(eq + 1, NULL, 10);
            } else {
                c->f = grow(c->f, &ccap, c->n + 1, sizeof *c->f);
                c->f[c->n++] = strtod(eq + 1, NULL);
            }
            c->cap = ccap;
            fld = comma ? comma + 1 : NULL;
        }
        s->n++;
    }
    free(line);
    fclose(f);
}

/* Per-category totals. */
struct cat {
    char name[64];
    size_t values, blocks;
    size_t bytes_z, bytes_noz;
    size_t bytes_xor, bytes_dec, bytes_bits;
    size_t dec_fallback; /* blocks where decimal did not apply */
    size_t dec_values;   /* values in blocks where it did */
    double enc_s, dec_s, xor_dec_s, dec_only_s, bits_dec_s;
    size_t hist[16];
};

static struct cat cats[64];
static int ncats;

static struct cat *cat_get(const char *name)
{
    for (int i = 0; i < ncats; i++)
        if (strcmp(cats[i].name, name) == 0)
            return &cats[i];
    struct cat *c = &cats[ncats++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    return c;
}

static int reps = 5;

/* Times decode of one block (best of reps) through fn. */
#define BEST_OF(expr)                                    \
    ({                                                   \
        double best_ = 1e9;                              \
        for (int r_ = 0; r_ < reps; r_++) {              \
            double t0_ = now_s();                        \
            expr;                                        \
            double t_ = now_s() - t0_;                   \
            best_ = t_ < best_ ? t_ : best_;             \
        }                                                \
        best_;                                           \
    })

static void check(int rc, const struct err *e)
{
    if (rc != 0) {
        fprintf(stderr, "codec error: %s\n", e->msg);
        exit(1);
    }
}

static void bench_time(struct codec_ctx *c, struct cat *ct, const int64_t *v,
                       size_t n, struct buf *b)
{
    static int64_t out[BLK];
    struct err e;
    size_t m;
    ct->enc_s += BEST_OF((buf_reset(b), check(codec_encode_time(c, v, n, b, NULL, &e), &e)));
    ct->bytes_z += b->len;
    ct->hist[(uint8_t)b->p[1] & 15]++;
    ct->dec_s += BEST_OF(check(codec_decode_time(c, (const uint8_t *)b->p, b->len, out, &m, &e), &e));
    if (memcmp(out, v, n * 8) != 0) {
        fprintf(stderr, "time mismatch\n");
        exit(1);
    }
    codec_ctx_set_zstd_level(c, 0);
    buf_reset(b);
    check(codec_encode_time(c, v, n, b, NULL, &e), &e);
    ct->bytes_noz += b->len;
    codec_ctx_set_zstd_level(c, 1);
}

static void bench_int(struct codec_ctx *c, struct cat *ct, const int64_t *v,
                      size_t n, struct buf *b)
{
    static int64_t out[BLK];
    struct err e;
    size_t m;
    ct->enc_s += BEST_OF((buf_reset(b), check(codec_encode_int(c, v, n, b, NULL, &e), &e)));
    ct->bytes_z += b->len;
    ct->hist[(uint8_t)b->p[1] & 15]++;
    ct->dec_s += BEST_OF(check(codec_decode_int(c, (const uint8_t *)b->p, b->len, out, &m, &e), &e));
    if (memcmp(out, v, n * 8) != 0) {
        fprintf(stderr, "int mismatch\n");
        exit(1);
    }
    codec_ctx_set_zstd_level(c, 0);
    buf_reset(b);
    check(codec_encode_int(c, v, n, b, NULL, &e), &e);
    ct->bytes_noz += b->len;
    codec_ctx_set_zstd_level(c, 1);
}

static void bench_float(struct codec_ctx *c, struct cat *ct, const double *v,
                        size_t n, struct buf *b)
{
    static double out[BLK];
    static uint64_t bits[BLK], dec[BLK];
    static uint8_t pay[CODEC__NUM_PAYLOAD_MAX];
    struct err e;
    size_t m;
    ct->enc_s += BEST_OF((buf_reset(b), check(codec_encode_float(c, v, n, b, NULL, &e), &e)));
    ct->bytes_z += b->len;
    ct->hist[(uint8_t)b->p[1] & 15]++;
    ct->dec_s += BEST_OF(check(codec_decode_float(c, (const uint8_t *)b->p, b->len, out, &m, &e), &e));
    if (memcmp(out, v, n * 8) != 0) {
        fprintf(stderr, "float mismatch\n");
        exit(1);
    }
    codec_ctx_set_zstd_level(c, 0);
    buf_reset(b);
    check(codec_encode_float(c, v, n, b, NULL, &e), &e);
    ct->bytes_noz += b->len;
    codec_ctx_set_zstd_level(c, 1);

    /* Forced codecs (payload + 4-byte header). */
    memcpy(bits, v, n * 8);
    struct wr w;
    struct cur cu;
    wr_init(&w, pay, sizeof pay);
    codec__xor_encode(&w, bits, n);
    ct->bytes_xor += w.len + CODEC__HDR_LEN;
    ct->xor_dec_s += BEST_OF((cur_init(&cu, pay, w.len), codec__xor_decode(&cu, n, dec)));
    if (cu.is_bad || memcmp(dec, bits, n * 8) != 0) {
        fprintf(stderr, "xor mismatch\n");
        exit(1);
    }
    wr_init(&w, pay, sizeof pay);
    codec__intseq_put(&w, bits, n, false, c->is, false);
    ct->bytes_bits += w.len + CODEC__HDR_LEN;
    ct->bits_dec_s += BEST_OF((cur_init(&cu, pay, w.len), codec__intseq_get(&cu, n, dec)));
    wr_init(&w, pay, sizeof pay);
    if (codec__decimal_encode(c, &w, v, n)) {
        ct->bytes_dec += w.len + CODEC__HDR_LEN;
        ct->dec_values += n;
        ct->dec_only_s += BEST_OF((cur_init(&cu, pay, w.len), codec__decimal_decode(c, &cu, n, out)));
        if (cu.is_bad || memcmp(out, v, n * 8) != 0) {
            fprintf(stderr, "decimal mismatch\n");
            exit(1);
        }
    } else {
        ct->dec_fallback++;
        ct->bytes_dec += 8 * n + CODEC__HDR_LEN;
    }
}

static void run(struct codec_ctx *c, struct dataset *d, const char *wl)
{
    struct buf b;
    buf_init(&b, 0);
    char name[64];
    for (size_t si = 0; si < d->ns; si++) {
        struct series *s = d->s[si];
        const char *meas = s->key;
        size_t mlen = strcspn(meas, ",");
        for (size_t at = 0; at < s->n; at += BLK) {
            size_t n = s->n - at < BLK ? s->n - at : BLK;
            snprintf(name, sizeof name, "%s time", wl);
            struct cat *ct = cat_get(name);
            ct->values += n;
            ct->blocks++;
            bench_time(c, ct, s->ts + at, n, &b);
            for (int k = 0; k < s->ncols; k++) {
                struct col *col = &s->cols[k];
                snprintf(name, sizeof name, "%s %.*s.%s", wl, (int)mlen, meas, col->name);
                ct = cat_get(name);
                ct->values += n;
                ct->blocks++;
                if (col->is_int)
                    bench_int(c, ct, col->i + at, n, &b);
                else
                    bench_float(c, ct, col->f + at, n, &b);
            }
        }
    }
    buf_fini(&b);
}

static void report(const char *title, bool is_float_group, const char *prefix,
                   const char *must, bool want_int)
{
    (void)title;
    for (int i = 0; i < ncats; i++) {
        struct cat *ct = &cats[i];
        if (strncmp(ct->name, prefix, strlen(prefix)) != 0)
            continue;
        if (must ? !strstr(ct->name, must) : strstr(ct->name, " time") != NULL)
            continue;
        double v = (double)ct->values;
        bool is_f = ct->bytes_xor != 0;
        if (is_f != is_float_group || (want_int && is_f))
            continue;
        printf("%-34s %8zu %6.3f %6.3f", ct->name, ct->values, ct->bytes_z / v,
               ct->bytes_noz / v);
        if (is_f)
            printf(" %6.3f %6.3f %6.3f", ct->bytes_xor / v, ct->bytes_dec / v,
                   ct->bytes_bits / v);
        else
            printf("      -      -      -");
        printf(" %7.1f %7.1f", v / ct->enc_s / 1e6, v / ct->dec_s / 1e6);
        if (is_f)
            printf(" %6.1f %6.1f %6.1f", v / ct->xor_dec_s / 1e6,
                   ct->dec_values ? (double)ct->dec_values / ct->dec_only_s / 1e6 : 0.0,
                   v / ct->bits_dec_s / 1e6);
        printf("  ");
        for (int h = 0; h < 16; h++)
            if (ct->hist[h])
                printf("%s:%zu ", codec_name(is_f ? CODEC_KIND_FLOAT : CODEC_KIND_INT, (unsigned)h),
                       ct->hist[h]);
        printf("\n");
    }
}

static void totals(const char *prefix)
{
    size_t vals = 0, bytes = 0, tvals = 0, tbytes = 0;
    for (int i = 0; i < ncats; i++) {
        struct cat *ct = &cats[i];
        if (strncmp(ct->name, prefix, strlen(prefix)) != 0)
            continue;
        if (strstr(ct->name, " time")) {
            tvals += ct->values;
            tbytes += ct->bytes_z;
        } else {
            vals += ct->values;
            bytes += ct->bytes_z;
        }
    }
    printf("%s: %zu field values, %.3f B/value for values alone, %.3f B/value "
           "with the shared time column (%zu rows, %.3f B/row)\n",
           prefix, vals, (double)bytes / (double)vals,
           (double)(bytes + tbytes) / (double)vals, tvals,
           (double)tbytes / (double)tvals);
}

static void generate(const char *gen, const char *wl, const char *series,
                     const char *span, char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/nj_codec_bench_%s_%s_%s.lp", wl, series, span);
    FILE *f = fopen(path, "r");
    if (f) {
        fclose(f);
        return;
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 %s --workload %s --seed 1 --series %s --interval 10s "
             "--span %s > %s.tmp && mv %s.tmp %s",
             gen, wl, series, span, path, path, path);
    fprintf(stderr, "generating: %s\n", cmd);
    if (system(cmd) != 0) {
        fprintf(stderr, "generator failed\n");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    const char *gen = "/work/shared/bench/gen_lp.py", *sd = "100", *so = "400",
               *span = "6h";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--gen"))
            gen = argv[i + 1];
        else if (!strcmp(argv[i], "--series-devops"))
            sd = argv[i + 1];
        else if (!strcmp(argv[i], "--series-ops"))
            so = argv[i + 1];
        else if (!strcmp(argv[i], "--span"))
            span = argv[i + 1];
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]) > 0 ? atoi(argv[i + 1]) : 1;
    }
    char pd[512], po[512];
    generate(gen, "devops", sd, span, pd, sizeof pd);
    generate(gen, "ops", so, span, po, sizeof po);
    struct codec_ctx *c = codec_ctx_new();
    if (!c)
        return 1;
    struct dataset dd = { 0 }, dop = { 0 };
    load(&dd, pd);
    load(&dop, po);
    run(c, &dd, "devops");
    run(c, &dop, "ops");

    printf("bytes/value: z = adaptive + zstd 1, noz = adaptive without zstd, then each float codec\n"
           "forced (4-byte header included; dec = raw 8 B where decimal does not apply).\n"
           "Speeds in M values/s, best of %d runs per block: enc/dec adaptive, then decode of\n"
           "each forced codec (decD over the blocks where decimal applies).\n", reps);
    printf("%-34s %8s %6s %6s %6s %6s %6s %7s %7s %6s %6s %6s  %s\n", "column", "values",
           "z", "noz", "xor", "dec", "bits", "enc", "dec", "xorD", "decD", "bitsD",
           "codecs chosen (blocks)");
    report("float", true, "devops", NULL, false);
    report("float", true, "ops", NULL, false);
    report("int", false, "ops", NULL, true);
    report("time", false, "devops", " time", false);
    report("time", false, "ops", " time", false);
    totals("devops");
    totals("ops");
    codec_ctx_free(c);
    return 0;
}
