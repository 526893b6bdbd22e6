/* IKE_AUTH with authorization = policyd, the exchange's side: the request
 * is held (decrypted, authenticated) while the daemon asks policyd, then
 * read again; the CHILD SA's selectors are narrowed to the grant and the
 * configuration reply carries the grant's DNS servers and subnets. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "ike_exch_int.h"
#include "ike_grant.h"
#include "log.h"

enum ike_exch_result exch_authz_hold(struct ike_sa *sa, const struct ike_chain *in, uint32_t msgid)
{
    if (in->n == 0)
        return IKE_EXCH_DROP;
    /* From the first payload kept to the end of the chain: the chain was
     * validated, so walking its generic headers stays inside it. */
    const uint8_t *start = in->pl[0].body.ptr - 4, *p = start;
    uint8_t next = in->pl[0].type;
    while (next) {
        next = p[0];
        p += (size_t)p[2] << 8 | p[3];
    }
    size_t len = (size_t)(p - start);
    if (!sa->authz)
        sa->authz = calloc(1, sizeof(*sa->authz));
    uint8_t *held = malloc(len);
    if (!sa->authz || !held) {
        free(held);
        log_err("IKE_AUTH: out of memory holding the request for policyd");
        return IKE_EXCH_DROP;
    }
    ike_authz_release_held(sa->authz);
    memcpy(held, start, len);
    sa->authz->held = held;
    sa->authz->held_len = len;
    sa->authz->held_first = in->pl[0].type;
    sa->authz->held_msgid = msgid;
    sa->authz->decided = false;
    sa->authz->from_cache = false;
    sa->authz->why_none = NULL;
    return IKE_EXCH_AUTHORIZE;
}

int exch_authz_reopen(struct ike_sa *sa, struct ike_chain *in)
{
    struct ike_error e;
    const struct ike_authz *a = sa->authz;
    if (ike_chain_parse(in, a->held_first, a->held, a->held_len, 0, IKE_CHAIN_INNER, &e) != IKE_OK)
        return -1;
    return 0;
}

int exch_authz_narrow(struct ike_sa *sa, const struct ike_ts_set *tsi, const struct ike_ts_set *tsr,
                      struct child_sa *c, const char **why)
{
    struct ike_authz *a = sa->authz;
    if (ike_ts_narrow_vip(tsi, sa->vip, &c->ts_remote) != 0) {
        *why = "TSi does not include the device's virtual IP";
        return -1;
    }
    /* Kept so that a changed grant (AccessChanged) is narrowed against
     * what the device asked for, never wider. */
    free(a->tsr);
    a->tsr = NULL;
    a->n_tsr = 0;
    if (tsr->n) {
        a->tsr = malloc(tsr->n * sizeof(*a->tsr));
        if (!a->tsr) {
            *why = "out of memory";
            return -1;
        }
        memcpy(a->tsr, tsr->ts, tsr->n * sizeof(*a->tsr));
        a->n_tsr = tsr->n;
    }
    bool truncated = false;
    c->n_ts_local = ike_ts_narrow_grant(&a->grant, AF_INET, a->tsr, a->n_tsr, c->ts_local,
                                        IKE_CHILD_MAX_TS, &truncated);
    if (truncated)
        log_warn("%s: the grant ∩ TSr has more than %d selectors; the first %d are used",
                 sa->peer_subject ? sa->peer_subject : "device", IKE_CHILD_MAX_TS,
                 IKE_CHILD_MAX_TS);
    if (c->n_ts_local == 0) {
        *why = "TSr has nothing in common with the selectors policyd granted";
        return -1;
    }
    return 0;
}

static void cp_put(struct exch_cp_reply *out, uint16_t type, const void *v, size_t len)
{
    if (out->n >= EXCH_CP_MAX || len > sizeof(out->val[0]))
        return;
    memcpy(out->val[out->n], v, len);
    out->attr[out->n].type = type;
    out->attr[out->n].value.ptr = out->val[out->n];
    out->attr[out->n].value.len = len;
    out->n++;
}

void exch_authz_cp(const struct ike_sa *sa, const struct ike_cp *req, struct exch_cp_reply *cp)
{
    const struct ike_grant *g = &sa->authz->grant;
    bool want_dns = false, want_subnet = false;
    for (unsigned i = 0; i < req->n; i++) {
        want_dns |= req->attr[i].type == IKE_CFGA_INTERNAL_IP4_DNS;
        want_subnet |= req->attr[i].type == IKE_CFGA_INTERNAL_IP4_SUBNET;
    }
    /* The configured [iked] dns and subnets give way to the grant's. */
    struct exch_cp_reply old = *cp;
    cp->n = 0;
    for (unsigned i = 0; i < old.n; i++)
        if (old.attr[i].type != IKE_CFGA_INTERNAL_IP4_DNS &&
            old.attr[i].type != IKE_CFGA_INTERNAL_IP4_SUBNET)
            cp_put(cp, old.attr[i].type, old.val[i], old.attr[i].value.len);
    if (want_dns)
        for (size_t i = 0; i < g->n_dns; i++)
            cp_put(cp, IKE_CFGA_INTERNAL_IP4_DNS, &g->dns[i], 4);
    /* Subnets tell a client which routes to send into the tunnel (split
     * tunnelling); a full-tunnel device routes everything here anyway. */
    if (!want_subnet || g->full_tunnel)
        return;
    for (size_t i = 0; i < g->n_sel; i++) {
        const struct ike_grant_sel *s = &g->sel[i];
        if (s->family != AF_INET)
            continue;
        uint8_t v[8];
        uint32_t m = s->plen ? htonl(0xffffffffu << (32 - s->plen)) : 0;
        memcpy(v, s->addr, 4);
        memcpy(v + 4, &m, 4);
        bool dup = false;
        for (unsigned k = 0; k < cp->n && !dup; k++)
            dup = cp->attr[k].type == IKE_CFGA_INTERNAL_IP4_SUBNET && memcmp(cp->val[k], v, 8) == 0;
        if (!dup)
            cp_put(cp, IKE_CFGA_INTERNAL_IP4_SUBNET, v, 8);
    }
}
