// SPDX-License-Identifier: MIT
/*
 * Address parsing and peer formatting for the TCP and UDP listeners.  The
 * accepted forms are the ones daemon/config.c checks for ingest.*.listen:
 * "host:port" (an IPv4 literal or "localhost"), "[v6]:port" and ":port"
 * (0.0.0.0).  Host names other than localhost are refused: resolving them
 * would block the loop.
 */
#include "ingest/listen_int.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "common/xalloc.h"
#include "net/net.h"
#include "common/sv.h"

int ing__listen_addr(const char *a, struct sockaddr_storage *ss, struct err *e)
{
    bool is_v6;
    return net_parse_listen_addr(a, ss, &is_v6, e);
}

int ing__listen_opts_check(const char *key, const struct ing_listen_opts *o, struct err *e)
{
    if (!o->listen || !*o->listen)
        return err_set(e, ERR_INVAL, "%s.listen: no address", key);
    if (!o->database || !*o->database)
        return err_set(e, ERR_INVAL, "%s.database: empty", key);
    if (!o->engine)
        return err_set(e, ERR_INVAL, "%s: no write engine", key);
    return 0;
}

void ing__listen_opts_adopt(const struct ing_listen_opts *in, struct ing_listen_opts *out,
                            char **listen, char **database, char **rp)
{
    *out = *in;
    *listen = xstrdup(in->listen);
    *database = xstrdup(in->database);
    *rp = xstrdup(in->retention_policy ? in->retention_policy : "");
    out->listen = *listen;
    out->database = *database;
    out->retention_policy = *rp;
}

void ing__format_peer(const struct sockaddr *sa, char *out, size_t cap)
{
    char ip[64] = "?";
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        uv_ip4_name(a, ip, sizeof ip);
        snprintf(out, cap, "%s:%d", ip, ntohs(a->sin_port));
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(a, ip, sizeof ip);
        snprintf(out, cap, "[%s]:%d", ip, ntohs(a->sin6_port));
    } else {
        snprintf(out, cap, "unknown");
    }
}

int64_t ing__mono_ns(const struct clk *clock)
{
    if (clock)
        return clk_mono(clock).ns;
    return (int64_t)uv_hrtime();
}
