/* The per-SA authorization record and the text form of selectors (logs,
 * mgatectl, the grant decoder). */
#include "ike_grant.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_crypto.h"

void ike_authz_release_held(struct ike_authz *a)
{
    if (!a || !a->held)
        return;
    /* Decrypted IKE_AUTH content: identities, CP, nonces' neighbours. */
    ike_crypto_wipe(a->held, a->held_len);
    free(a->held);
    a->held = NULL;
    a->held_len = 0;
}

void ike_authz_free(struct ike_authz *a)
{
    if (!a)
        return;
    ike_authz_release_held(a);
    free(a->tsr);
    free(a);
}

const char *ike_grant_decision_name(enum ike_grant_decision d)
{
    switch (d) {
    case IKE_GRANT_ALLOW:
        return "allow";
    case IKE_GRANT_QUARANTINE:
        return "quarantine";
    case IKE_GRANT_DENY:
        break;
    }
    return "deny";
}

static const char *proto_name(uint8_t p)
{
    switch (p) {
    case IPPROTO_TCP:
        return "tcp";
    case IPPROTO_UDP:
        return "udp";
    case IPPROTO_SCTP:
        return "sctp";
    case IPPROTO_ICMP:
        return "icmp";
    case IPPROTO_ICMPV6:
        return "ipv6-icmp";
    }
    return NULL;
}

const char *ike_grant_ts_format(int family, const uint8_t *addr, uint8_t plen, uint8_t proto,
                                uint16_t port, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN] = "?";
    inet_ntop(family, addr, a, sizeof(a));
    int n = snprintf(buf, len, "%s/%u", a, plen);
    if (n < 0 || (size_t)n >= len || !proto)
        return buf;
    const char *pn = proto_name(proto);
    if (pn && port)
        snprintf(buf + n, len - (size_t)n, " %s/%u", pn, port);
    else if (pn)
        snprintf(buf + n, len - (size_t)n, " %s", pn);
    else if (port)
        snprintf(buf + n, len - (size_t)n, " proto %u/%u", proto, port);
    else
        snprintf(buf + n, len - (size_t)n, " proto %u", proto);
    return buf;
}

int ike_grant_sel_parse_subnet(const char *s, struct ike_grant_sel *sel, const char **why)
{
    char a[INET6_ADDRSTRLEN + 1];
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || (size_t)(slash - s) >= sizeof(a)) {
        *why = "not ADDRESS/PREFIX";
        return -1;
    }
    memcpy(a, s, (size_t)(slash - s));
    a[slash - s] = '\0';
    memset(sel->addr, 0, sizeof(sel->addr));
    if (inet_pton(AF_INET, a, sel->addr) == 1) {
        sel->family = AF_INET;
    } else if (inet_pton(AF_INET6, a, sel->addr) == 1) {
        sel->family = AF_INET6;
    } else {
        *why = "not an IPv4 or IPv6 address";
        return -1;
    }
    unsigned bits = sel->family == AF_INET ? 32 : 128;
    char *end;
    unsigned long plen = strtoul(slash + 1, &end, 10);
    if (slash[1] == '\0' || *end != '\0' || plen > bits) {
        *why = "bad prefix length";
        return -1;
    }
    for (unsigned b = (unsigned)plen; b < bits; b++)
        if (sel->addr[b / 8] & (0x80u >> (b % 8))) {
            *why = "address bits set beyond the prefix length";
            return -1;
        }
    sel->plen = (uint8_t)plen;
    return 0;
}
