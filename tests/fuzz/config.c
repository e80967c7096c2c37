// SPDX-License-Identifier: MIT
/*
 * Fuzz target: YAML bytes -> struct config through config_load_buf.  Any
 * input must either load or fail with a "NAME:LINE:COL: " message; never
 * crash, leak or overrun.  A successful load must leave the invariants the
 * daemon relies on (at least one listen address, non-NULL storage dir and
 * version).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c;
    struct err e;
    config_defaults(&c);
    int rc = config_load_buf(&c, (const char *)data, size, "fuzz.yaml", "/base", &e);
    if (rc == 0) {
        if (c.http.nlisten < 1 || c.http.nlisten > CFG_MAX_LISTEN || !c.storage.dir ||
            !c.http.version || c.ndatabases > CFG_MAX_DATABASES)
            abort();
        if ((c.http.tls_cert_file == NULL) != (c.http.tls_key_file == NULL))
            abort();
    } else {
        /* Every error names the input; memchr keeps this bounded. */
        if (memchr(e.msg, '\0', sizeof e.msg) == NULL || strncmp(e.msg, "fuzz.yaml", 9) != 0)
            abort();
    }
    config_fini(&c);
    return 0;
}
