/* What policyd grants a device (proto/policyd.proto AccessGrant, decoded
 * once on the loop into plain C), the narrowing of a CHILD SA's selectors
 * to a grant (RFC 7296 §2.9), the cache of grants by certificate
 * fingerprint used when policyd is down, and the per-SA authorization
 * record. No I/O: the daemon's side is iked_authz.c.
 *   ike_grant.c        the per-SA record, selector text
 *   ike_ts_narrow.c    grant ∩ proposed TSr, TSi to the virtual address
 *   ike_grant_cache.c  the cache (expiry, bound) */
#ifndef MGATE_IKE_GRANT_H
#define MGATE_IKE_GRANT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike_payload.h"
#include "ike_sa.h"
#include "iked_conf.h"

/* Selectors and DNS servers kept from one grant; more are dropped (with a
 * log line by the decoder): a narrower grant is always safe. */
#define IKE_GRANT_MAX_SEL    32
#define IKE_GRANT_MAX_REASON 160

enum ike_grant_decision {
    IKE_GRANT_DENY = 0, /* also what an unknown or unspecified decision means */
    IKE_GRANT_ALLOW,
    IKE_GRANT_QUARANTINE,
};

/* One destination: a prefix, a protocol (0 = any), a destination port
 * (0 = any; only with TCP, UDP or SCTP). Host bits are zero. */
struct ike_grant_sel {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    uint8_t plen;
    uint8_t proto;
    uint16_t port;
};

struct ike_grant {
    enum ike_grant_decision decision;
    char reason[IKE_GRANT_MAX_REASON];
    uint64_t device_id;
    uint64_t generation;
    struct ike_grant_sel sel[IKE_GRANT_MAX_SEL];
    size_t n_sel;
    struct in_addr dns[IKED_MAX_DNS];
    size_t n_dns;
    bool full_tunnel;
    uint32_t cache_seconds;
};

/* The authorization state of one IKE SA (owned by it, sa->authz; freed by
 * ike_sa_free through ike_authz_free):
 *   - while policyd is asked, the decrypted IKE_AUTH request is held here
 *     (held, from its first known payload) so the exchange resumes without
 *     decrypting or verifying again;
 *   - once decided, the grant in force and what the device proposed as TSr
 *     (AccessChanged re-narrows against it). */
struct ike_authz {
    uint8_t *held;
    size_t held_len;
    uint8_t held_first; /* payload type at held[0] */
    uint32_t held_msgid;
    bool decided;         /* grant is meaningful */
    bool from_cache;      /* policyd did not answer: the cached grant */
    const char *why_none; /* decided without a grant: why (static text) */
    struct ike_grant grant;
    struct ike_ts *tsr; /* the device's TSr proposal (malloc'd), n_tsr entries */
    unsigned n_tsr;
};

void ike_authz_free(struct ike_authz *a);
/* Drops the held request (after the exchange resumed). */
void ike_authz_release_held(struct ike_authz *a);
const char *ike_grant_decision_name(enum ike_grant_decision d);
/* "10.1.0.0/24", "10.2.0.0/24 tcp/443", "2001:db8::/64 proto 47". */
const char *ike_grant_ts_format(int family, const uint8_t *addr, uint8_t plen, uint8_t proto,
                                uint16_t port, char *buf, size_t len);
/* Parses "10.1.0.0/24" (host bits must be zero) into sel's address. 0 or
 * -1 with *why. */
int ike_grant_sel_parse_subnet(const char *s, struct ike_grant_sel *sel, const char **why);

/* ---- ike_ts_narrow.c ---- */

/* The device's side (TSi) narrowed to its virtual address: the first TSi
 * range containing it, its protocol and port kept (one port or any). 0, or
 * -1 when no TSi contains it. */
int ike_ts_narrow_vip(const struct ike_ts_set *tsi, struct in_addr vip, struct ike_child_ts *out);

/* Our side (TSr): the grant's selectors of `family` intersected with what
 * the device proposed, as prefixes with protocol and port. Exact: an
 * address range is cut into the fewest prefixes; a protocol is kept when
 * equal or when either side says any; a port when equal, or when either
 * side says any (0..65535) and the other one port. A pairing the kernel
 * cannot hold exactly (a port range wider than one and narrower than all,
 * OPAQUE ports, ports on a protocol without them) is left out, which only
 * narrows. Duplicates are merged. Returns the number written to out (at
 * most cap; *truncated set when more would have been). */
size_t ike_ts_narrow_grant(const struct ike_grant *g, int family, const struct ike_ts *tsr,
                           unsigned n_tsr, struct ike_child_ts *out, size_t cap, bool *truncated);

/* ---- ike_grant_cache.c ---- */

/* Grants by certificate fingerprint (SHA-256). An entry serves until
 * stored + min(grant.cache_seconds, max_s): cache_seconds 0 or max_s 0
 * means the grant is not kept at all. Times are the caller's monotonic
 * milliseconds. Owned by the daemon's loop thread. */
struct ike_grant_cache;

struct ike_grant_cache *ike_grant_cache_new(uint32_t max_s);
void ike_grant_cache_free(struct ike_grant_cache *c);
/* Stores (or replaces) fpr's grant; a grant that may not be cached removes
 * any older entry. 0, or -1 when out of memory. */
int ike_grant_cache_put(struct ike_grant_cache *c, const uint8_t fpr[32], const struct ike_grant *g,
                        uint64_t now_ms);
/* The grant still valid at now_ms, or NULL; *age_s (optional) says how old. */
const struct ike_grant *ike_grant_cache_get(struct ike_grant_cache *c, const uint8_t fpr[32],
                                            uint64_t now_ms, uint64_t *age_s);
/* Removes expired entries; returns how many. */
size_t ike_grant_cache_prune(struct ike_grant_cache *c, uint64_t now_ms);
size_t ike_grant_cache_count(const struct ike_grant_cache *c);

#endif
