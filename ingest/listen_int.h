// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the TCP and UDP listeners (listen_tcp.c, listen_udp.c);
 * not part of the module's interface.  Loop thread unless noted.
 */
#ifndef NJ_INGEST_LISTEN_INT_H
#define NJ_INGEST_LISTEN_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/err.h"
#include "common/metrics.h"
#include "ingest/listen.h"

/* Parses "host:port", "[v6]:port" or ":port" (all interfaces) into *ss.
 * Returns 0 or ERR_IO with e naming the address. */
int ing__listen_addr(const char *a, struct sockaddr_storage *ss, struct err *e);
/* Checks the options both listeners need (an address, a database, an
 * engine); key ("ingest.tcp") prefixes the message.  0 or ERR_INVAL. */
int ing__listen_opts_check(const char *key, const struct ing_listen_opts *o, struct err *e);
/* Copies *in to *out, with out's listen, database and retention_policy
 * ("" when NULL) pointing at malloc'd copies also stored in *listen,
 * *database and *rp, which the listener frees. */
void ing__listen_opts_adopt(const struct ing_listen_opts *in, struct ing_listen_opts *out,
                            char **listen, char **database, char **rp);
/* Writes "1.2.3.4:5" or "[::1]:5" into out (cap bytes). */
void ing__format_peer(const struct sockaddr *sa, char *out, size_t cap);
/* Monotonic nanoseconds from o->clock, or the real monotonic clock. */
int64_t ing__mono_ns(const struct clk *clock);

/* NULL-tolerant metric updates (opts.metrics may be NULL).  Any thread. */
static inline void ing__metric_add(struct metric *m, double v)
{
    if (m)
        metric_add(m, v);
}

#endif
