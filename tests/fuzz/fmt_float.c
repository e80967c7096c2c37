// SPDX-License-Identifier: MIT
/*
 * Fuzz target for common/fmt_float: the first 8 input bytes are a double's
 * bit pattern (zero-padded), and the input as text (up to 64 bytes) is also
 * read with strtod, so decimal-shaped seeds reach short decimals.  For each
 * finite double: the JSON and 'f' forms must read back bit for bit with
 * strtod, and the digit count must equal the old printf + strtod search's
 * (tests/support/fmt_float_ref.h), or at an exact power of two Go's rule's,
 * which is never longer.  Any mismatch aborts.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fmt_float.h"
#include "tests/support/fmt_float_ref.h"

static void check(double v)
{
    if (!isfinite(v))
        return;
    char out[FMT_FIXED_MAX + 1];
    size_t n = fmt_f64_json(v, out);
    if (n > FMT_JSON_MAX)
        abort();
    out[n] = '\0';
    double back = strtod(out, NULL);
    if (memcmp(&back, &v, sizeof v) != 0) {
        fprintf(stderr, "%a: json %s reads back as %a\n", v, out, back);
        abort();
    }
    n = fmt_f64_fixed(v, out);
    if (n > FMT_FIXED_MAX)
        abort();
    out[n] = '\0';
    back = strtod(out, NULL);
    if (memcmp(&back, &v, sizeof v) != 0) {
        fprintf(stderr, "%a: fixed %s reads back as %a\n", v, out, back);
        abort();
    }
    if (v == 0)
        return;
    struct fmt_dec d = fmt_f64_shortest(v);
    struct ref_dec old = ref_printf_shortest(v), go = ref_go_shortest(v);
    int nd = ref_ndigits(d.mant);
    if (nd != go.nd || d.mant != go.mant || d.exp != go.exp || nd > old.nd) {
        fprintf(stderr, "%a: got %llue%d, printf search %llue%d, Go rule %llue%d\n", v,
                (unsigned long long)d.mant, d.exp, (unsigned long long)old.mant, old.exp,
                (unsigned long long)go.mant, go.exp);
        abort();
    }
    if (nd != old.nd) {
        uint64_t b;
        memcpy(&b, &v, sizeof b);
        if ((b & ((UINT64_C(1) << 52) - 1)) != 0) { /* only powers of two may differ */
            fprintf(stderr, "%a: %d digits, printf search %d\n", v, nd, old.nd);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t bits = 0;
    memcpy(&bits, data, size < 8 ? size : 8);
    double v;
    memcpy(&v, &bits, sizeof v);
    check(v);
    char text[65];
    size_t n = size < 64 ? size : 64;
    memcpy(text, data, n);
    text[n] = '\0';
    check(strtod(text, NULL));
    return 0;
}
