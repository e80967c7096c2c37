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

#include "common/strparse.h"
#include "common/sv.h"

int ing__listen_addr(const char *a, struct sockaddr_storage *ss, struct err *e)
{
    struct sv s = sv_cstr(a);
    char host[64];
    struct sv port;
    bool is_v6 = false;
    memset(ss, 0, sizeof *ss);
    if (s.n && s.p[0] == '[') {
        const char *rb = memchr(s.p, ']', s.n);
        if (!rb || (size_t)(rb - s.p) + 1 >= s.n || rb[1] != ':')
            return err_set(e, ERR_IO, "listen %s: bad address (want [ipv6]:port)", a);
        size_t hn = (size_t)(rb - s.p) - 1;
        if (hn >= sizeof host)
            return err_set(e, ERR_IO, "listen %s: bad address", a);
        memcpy(host, s.p + 1, hn);
        host[hn] = '\0';
        port = sv_make(rb + 2, s.n - (size_t)(rb + 2 - s.p));
        is_v6 = true;
    } else {
        const char *colon = s.n ? memrchr(s.p, ':', s.n) : NULL;
        if (!colon)
            return err_set(e, ERR_IO, "listen %s: bad address (want host:port)", a);
        size_t hn = (size_t)(colon - s.p);
        if (hn >= sizeof host)
            return err_set(e, ERR_IO, "listen %s: bad address", a);
        memcpy(host, s.p, hn);
        host[hn] = '\0';
        if (hn == 0)
            snprintf(host, sizeof host, "0.0.0.0");
        else if (strcmp(host, "localhost") == 0)
            snprintf(host, sizeof host, "127.0.0.1");
        port = sv_make(colon + 1, s.n - hn - 1);
    }
    uint64_t pn;
    if (port.n == 0 || strp_u64(port, &pn) != 0 || pn > 65535)
        return err_set(e, ERR_IO, "listen %s: bad port", a);
    int rc = is_v6 ? uv_ip6_addr(host, (int)pn, (struct sockaddr_in6 *)ss)
                   : uv_ip4_addr(host, (int)pn, (struct sockaddr_in *)ss);
    if (rc)
        return err_set(e, ERR_IO, "listen %s: not an IP address: %s", a, host);
    return 0;
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
