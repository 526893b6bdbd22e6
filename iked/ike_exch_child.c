/* What the device gets besides authentication: its virtual address
 * (configuration payload, RFC 7296 §3.15), the narrowed traffic selectors
 * of its CHILD SA (§2.9) and the CHILD SA's keys (§2.17). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ike_exch_int.h"
#include "ike_keys.h"
#include "log.h"

static void cp_add(struct exch_cp_reply *out, uint16_t type, const void *v, size_t len)
{
    if (out->n >= EXCH_CP_MAX || len > sizeof(out->val[0]))
        return;
    memcpy(out->val[out->n], v, len);
    out->attr[out->n].type = type;
    out->attr[out->n].value.ptr = out->val[out->n];
    out->attr[out->n].value.len = len;
    out->n++;
}

static uint32_t plen_mask(uint8_t plen)
{
    return plen == 0 ? 0 : plen >= 32 ? 0xffffffffu : ~((1u << (32 - plen)) - 1u);
}

uint16_t exch_cp_answer(const struct ike_env *env, struct ike_sa *sa, const struct ike_cp *req,
                        struct exch_cp_reply *out, char *why, size_t why_len)
{
    bool want_addr = false, want_mask = false, want_dns = false, want_subnet = false;
    out->n = 0;
    for (unsigned i = 0; i < req->n; i++) {
        switch (req->attr[i].type) {
        case IKE_CFGA_INTERNAL_IP4_ADDRESS:
            want_addr = true;
            break;
        case IKE_CFGA_INTERNAL_IP4_NETMASK:
            want_mask = true;
            break;
        case IKE_CFGA_INTERNAL_IP4_DNS:
            want_dns = true;
            break;
        case IKE_CFGA_INTERNAL_IP4_SUBNET:
            want_subnet = true;
            break;
        default:
            /* IPv6, DHCP, NBNS, APPLICATION_VERSION...: not given. */
            break;
        }
    }
    if (!want_addr)
        return 0;
    if (!env->leases || !sa->peer_subject) {
        snprintf(why, why_len, "no address pool");
        return IKE_N_INTERNAL_ADDRESS_FAILURE;
    }
    struct in_addr a = {0};
    int rc = lease_pool_reacquire(env->leases, sa->peer_subject, &a);
    if (rc == -ENOSPC) {
        snprintf(why, why_len, "the address pool is exhausted");
        return IKE_N_INTERNAL_ADDRESS_FAILURE;
    }
    if (rc < 0 || a.s_addr == 0) {
        snprintf(why, why_len, "leasing a virtual IP failed: %s",
                 rc < 0 ? strerror(-rc) : "no address");
        return IKE_N_INTERNAL_ADDRESS_FAILURE;
    }
    sa->vip = a;
    cp_add(out, IKE_CFGA_INTERNAL_IP4_ADDRESS, &a, 4);
    const struct iked_settings *set = env->set;
    if (want_mask) {
        uint32_t m = htonl(plen_mask(set->pool_plen));
        cp_add(out, IKE_CFGA_INTERNAL_IP4_NETMASK, &m, 4);
    }
    if (want_dns)
        for (size_t i = 0; i < set->n_dns; i++)
            cp_add(out, IKE_CFGA_INTERNAL_IP4_DNS, &set->dns[i], 4);
    if (want_subnet) {
        for (size_t i = 0; i < set->n_subnets; i++) {
            const struct iked_subnet *s = &set->subnets[i];
            if (s->family != AF_INET)
                continue;
            uint8_t v[8];
            uint32_t m = htonl(plen_mask(s->plen));
            memcpy(v, s->addr, 4);
            memcpy(v + 4, &m, 4);
            cp_add(out, IKE_CFGA_INTERNAL_IP4_SUBNET, v, 8);
        }
    }
    return 0;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The kernel's selectors know "any port" or one port; other ranges (and
 * OPAQUE) cannot be installed as asked, so such selectors are passed over. */
static bool ts_port(const struct ike_ts *t, uint16_t *port)
{
    if (t->start_port == 0 && t->end_port == 65535) {
        *port = 0;
        return true;
    }
    if (t->start_port == t->end_port && t->start_port != 0) {
        *port = t->start_port;
        return true;
    }
    return false;
}

static void ts_add(struct child_sa *c, uint32_t net, uint8_t plen, uint8_t proto, uint16_t port)
{
    for (size_t i = 0; i < c->n_ts_local; i++) {
        const struct ike_child_ts *t = &c->ts_local[i];
        if (get_be32(t->addr) == net && t->plen == plen && t->proto == proto && t->port == port)
            return;
    }
    if (c->n_ts_local >= IKE_CHILD_MAX_TS)
        return; /* narrowing further is the responder's right (§2.9) */
    struct ike_child_ts *t = &c->ts_local[c->n_ts_local++];
    memset(t, 0, sizeof(*t));
    t->family = AF_INET;
    put_be32(t->addr, net);
    t->plen = plen;
    t->proto = proto;
    t->port = port;
}

/* [lo, hi] as the fewest prefixes, largest first. */
static void ts_add_range(struct child_sa *c, uint32_t lo, uint32_t hi, uint8_t proto, uint16_t port)
{
    uint64_t cur = lo, end = (uint64_t)hi + 1;
    while (cur < end && c->n_ts_local < IKE_CHILD_MAX_TS) {
        unsigned bits = 32;
        while (bits > 0) {
            uint64_t size = (uint64_t)1 << bits;
            if (cur % size == 0 && cur + size <= end)
                break;
            bits--;
        }
        ts_add(c, (uint32_t)cur, (uint8_t)(32 - bits), proto, port);
        cur += (uint64_t)1 << bits;
    }
}

int exch_narrow_ts(const struct iked_settings *set, struct in_addr vip,
                   const struct ike_ts_set *tsi, const struct ike_ts_set *tsr, struct child_sa *c,
                   const char **why)
{
    uint32_t v = ntohl(vip.s_addr);
    bool found = false;
    /* The device's side: its virtual address and nothing else. */
    for (unsigned i = 0; i < tsi->n && !found; i++) {
        const struct ike_ts *t = &tsi->ts[i];
        uint16_t port;
        if (t->type != IKE_TS_IPV4_ADDR_RANGE || !ts_port(t, &port))
            continue;
        if (get_be32(t->start) > v || get_be32(t->end) < v)
            continue;
        memset(&c->ts_remote, 0, sizeof(c->ts_remote));
        c->ts_remote.family = AF_INET;
        put_be32(c->ts_remote.addr, v);
        c->ts_remote.plen = 32;
        c->ts_remote.proto = t->ip_proto;
        c->ts_remote.port = port;
        found = true;
    }
    if (!found) {
        *why = "TSi does not include the device's virtual IP";
        return -1;
    }
    /* Our side: the configured subnets within what the device asked for.
     * IPv6 subnets cannot pair with an IPv4 virtual address. */
    c->n_ts_local = 0;
    for (size_t s = 0; s < set->n_subnets; s++) {
        const struct iked_subnet *sn = &set->subnets[s];
        if (sn->family != AF_INET)
            continue;
        uint32_t m = plen_mask(sn->plen);
        uint32_t lo = get_be32(sn->addr) & m, hi = lo | ~m;
        for (unsigned i = 0; i < tsr->n; i++) {
            const struct ike_ts *t = &tsr->ts[i];
            uint16_t port;
            if (t->type != IKE_TS_IPV4_ADDR_RANGE || !ts_port(t, &port))
                continue;
            uint32_t a = get_be32(t->start), b = get_be32(t->end);
            uint32_t x = a > lo ? a : lo, y = b < hi ? b : hi;
            if (x <= y)
                ts_add_range(c, x, y, t->ip_proto, port);
        }
    }
    if (c->n_ts_local == 0) {
        *why = "TSr has nothing in common with the configured subnets";
        return -1;
    }
    return 0;
}

static void ts_from_child(const struct ike_child_ts *ct, struct ike_ts *t)
{
    memset(t, 0, sizeof(*t));
    t->type = IKE_TS_IPV4_ADDR_RANGE;
    t->ip_proto = ct->proto;
    t->start_port = ct->port;
    t->end_port = ct->port ? ct->port : 65535;
    uint32_t m = plen_mask(ct->plen), a = get_be32(ct->addr) & m;
    put_be32(t->start, a);
    put_be32(t->end, a | ~m);
}

enum ike_err exch_write_ts(struct ike_wr *w, const struct child_sa *c)
{
    return exch_write_ts_as(w, c, false);
}

enum ike_err exch_write_ts_as(struct ike_wr *w, const struct child_sa *c, bool we_initiate)
{
    /* TSi is the exchange initiator's side (§2.9). */
    struct ike_ts dev[1], ours[IKE_CHILD_MAX_TS];
    ts_from_child(&c->ts_remote, &dev[0]);
    size_t n = c->n_ts_local < IKE_MAX_TS ? c->n_ts_local : IKE_MAX_TS;
    for (size_t i = 0; i < n; i++)
        ts_from_child(&c->ts_local[i], &ours[i]);
    if (we_initiate) {
        ike_wr_ts(w, IKE_PL_TSI, ours, (unsigned)n);
        return ike_wr_ts(w, IKE_PL_TSR, dev, 1);
    }
    ike_wr_ts(w, IKE_PL_TSI, dev, 1);
    return ike_wr_ts(w, IKE_PL_TSR, ours, (unsigned)n);
}

int exch_child_keys(const struct ike_sa *sa, struct child_sa *c)
{
    ike_child_keys k;
    ike_span ni = {sa->ni, sa->ni_len}, nr = {sa->nr, sa->nr_len};
    ike_crypto_err ce = ike_keys_child(&sa->keys, c->esp.encr, c->esp.encr_keybits, c->esp.integ,
                                       NULL, &ni, &nr, &k);
    if (ce != IKE_CRYPTO_OK || k.encr_len > sizeof(c->enc_key_in) ||
        k.integ_len > sizeof(c->integ_key_in)) {
        ike_keys_child_wipe(&k);
        log_err("CHILD SA keys for %s/%u: %s", ike_transform_id_name(IKE_XF_ENCR, c->esp.encr),
                c->esp.encr_keybits,
                ce != IKE_CRYPTO_OK ? ike_crypto_strerror(ce) : "keys larger than expected");
        return -1;
    }
    /* Inbound is the device's direction (initiator to responder). */
    c->enc_key_len = k.encr_len;
    c->integ_key_len = k.integ_len;
    memcpy(c->enc_key_in, k.encr_i, k.encr_len);
    memcpy(c->enc_key_out, k.encr_r, k.encr_len);
    memcpy(c->integ_key_in, k.integ_i, k.integ_len);
    memcpy(c->integ_key_out, k.integ_r, k.integ_len);
    ike_keys_child_wipe(&k);
    return 0;
}

uint32_t exch_random_esp_spi(void)
{
    uint32_t spi = 0;
    while (spi < 0x100)
        if (ike_crypto_random((uint8_t *)&spi, sizeof(spi)) != IKE_CRYPTO_OK)
            return 0;
    return spi;
}
