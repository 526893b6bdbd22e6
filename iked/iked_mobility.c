/* Devices that move, on the event loop: their SAs follow them in the
 * kernel (through xfrmd's move request) without a new handshake.
 *
 *   - the kernel saw authenticated ESP from a new address/port of a device
 *     behind a NAT (XFRM_MSG_MAPPING, forwarded by xfrmd as XfrmMapping);
 *   - an authenticated IKE request came from a new address/port of a
 *     device behind a NAT without MOBIKE (RFC 7296 §2.23);
 *   - a MOBIKE device sent UPDATE_SA_ADDRESSES (RFC 4555, ike_exch_mobike.c),
 *     from a new address after a return routability check (COOKIE2) that
 *     this file sends and resends.
 *
 * While xfrmd moves an SA's CHILD SAs the SA is marked busy, like a worker
 * holds it: requests arriving meanwhile are dropped (the peer resends). A
 * move the kernel refuses ends the tunnel: its state would no longer be
 * known. Also here: NAT keepalives (RFC 3948 §2.3) when the gateway itself
 * is behind a NAT. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "iked.h"
#include "log.h"
#include "xfrmd.pb-c.h"

#define RR_RETRY_MS 2000u
#define RR_TRIES    5u

static uint64_t mob_now_ms(struct iked *ik)
{
    return uv_now(service_daemon(ik->s)->loop);
}

static ProtobufCBinaryData mob_addr_bin(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ProtobufCBinaryData){4, (uint8_t *)&((struct sockaddr_in *)ss)->sin_addr};
    return (ProtobufCBinaryData){16, (uint8_t *)&((struct sockaddr_in6 *)ss)->sin6_addr};
}

static uint16_t mob_port(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
                                    : ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static bool mob_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static const char *mob_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
    snprintf(buf, len, "%s[%u]", a, mob_port(ss));
    return buf;
}

/* One move request: the inbound SA with the in and fwd policies, the
 * outbound one with the out policies; selectors as iked_child.c makes them. */
struct mob_batch {
    Mgate__XfrmMove mv[2];
    Mgate__XfrmMove *mvp[2];
    Mgate__XfrmSaId id[2];
    Mgate__XfrmPolicyId pid[3 * IKE_CHILD_MAX_TS];
    Mgate__XfrmPolicyId *pin[2 * IKE_CHILD_MAX_TS], *pout[IKE_CHILD_MAX_TS];
    Mgate__XfrmSelector sel[3 * IKE_CHILD_MAX_TS];
};

static ProtobufCBinaryData mob_ts_bin(const struct ike_child_ts *ts)
{
    return (ProtobufCBinaryData){ts->family == AF_INET ? 4 : 16, (uint8_t *)ts->addr};
}

static void mob_policies(const struct child_sa *c, struct mob_batch *b)
{
    size_t k = 0, n_in = 0, n_out = 0;
    static const Mgate__XfrmDir dirs[3] = {
        MGATE__XFRM_DIR__XFRM_DIR_OUT, MGATE__XFRM_DIR__XFRM_DIR_IN, MGATE__XFRM_DIR__XFRM_DIR_FWD};
    for (size_t t = 0; t < c->n_ts_local; t++)
        for (int d = 0; d < 3; d++, k++) {
            bool out = dirs[d] == MGATE__XFRM_DIR__XFRM_DIR_OUT;
            const struct ike_child_ts *l = &c->ts_local[t], *r = &c->ts_remote;
            Mgate__XfrmSelector *sel = &b->sel[k];
            mgate__xfrm_selector__init(sel);
            sel->src = out ? mob_ts_bin(l) : mob_ts_bin(r);
            sel->dst = out ? mob_ts_bin(r) : mob_ts_bin(l);
            sel->src_plen = out ? l->plen : r->plen;
            sel->dst_plen = out ? r->plen : l->plen;
            sel->proto = l->proto;
            mgate__xfrm_policy_id__init(&b->pid[k]);
            b->pid[k].sel = sel;
            b->pid[k].dir = dirs[d];
            if (out)
                b->pout[n_out++] = &b->pid[k];
            else
                b->pin[n_in++] = &b->pid[k];
        }
    b->mv[0].policies = b->pin;
    b->mv[0].n_policies = n_in;
    b->mv[1].policies = b->pout;
    b->mv[1].n_policies = n_out;
}

struct mob_call {
    struct iked *ik;
    uint64_t spi_r;
};

static void mob_on_moved(struct upstream *up, const ProtobufCMessage *resp, const Mgate__Error *err,
                         void *ud)
{
    struct mob_call *call = ud;
    struct iked *ik = call->ik;
    (void)up;
    struct ike_sa *sa = iked_sa_table_by_spi_r(ik->sas, call->spi_r);
    free(call);
    if (!sa)
        return;
    sa->busy = false;
    if (sa->destroy_pending) {
        iked_sa_destroy(ik, sa, sa->destroy_notify, "terminated");
        return;
    }
    const Mgate__XfrmdResponse *r = (const Mgate__XfrmdResponse *)resp;
    bool ok_in = false, ok_out = false;
    const char *why = "unexpected answer from xfrmd";
    if (err)
        why = err->message;
    else if (r && r->body_case == MGATE__XFRMD_RESPONSE__BODY_MOVE && r->move->n_results == 2) {
        ok_in = r->move->results[0]->errnum == 0;
        ok_out = r->move->results[1]->errnum == 0;
        why = !ok_in ? r->move->results[0]->message : r->move->results[1]->message;
    }
    char d[160], to[64];
    mob_str(&sa->move->remote, to, sizeof(to));
    if (ok_in)
        sa->local = sa->move->local; /* the inbound SA's id follows */
    if (ok_out)
        sa->remote = sa->move->remote;
    if (!ok_in || !ok_out) {
        char w[200];
        snprintf(w, sizeof(w), "its SAs could not move to %s: %s", to, why);
        log_err("%s: %s", ike_sa_describe(sa, d, sizeof(d)), w);
        iked_sa_destroy(ik, sa, true, w);
        return;
    }
    sa->peer_behind_nat = sa->move_peer_nat;
    sa->self_behind_nat = sa->move_self_nat;
    sa->natt = sa->peer_behind_nat || sa->self_behind_nat || (sa->natt && !sa->mobike);
    ik->moves++;
    iked_persist_save(ik, sa);
    log_notice("tunnel moved: %s", ike_sa_describe(sa, d, sizeof(d)));
}

/* Moves sa's CHILD SAs (and then the IKE SA) to sa->move. */
static void mob_move(struct iked *ik, struct ike_sa *sa)
{
    char d[160];
    sa->move_wanted = false;
    if (!sa->child || !sa->child->installed) {
        /* Nothing in the kernel: only IKE moves. */
        sa->local = sa->move->local;
        sa->remote = sa->move->remote;
        sa->peer_behind_nat = sa->move_peer_nat;
        sa->self_behind_nat = sa->move_self_nat;
        iked_persist_save(ik, sa);
        log_notice("IKE SA moved: %s", ike_sa_describe(sa, d, sizeof(d)));
        return;
    }
    struct upstream *xf = service_upstream(ik->s, "xfrmd");
    struct mob_batch *b = calloc(1, sizeof(*b));
    struct mob_call *call = malloc(sizeof(*call));
    if (!xf || !upstream_connected(xf) || !b || !call) {
        free(b);
        free(call);
        log_err("%s: cannot move its SAs (%s): the tunnel ends", ike_sa_describe(sa, d, sizeof(d)),
                !xf || !upstream_connected(xf) ? "xfrmd is not connected" : "out of memory");
        iked_sa_destroy(ik, sa, true, "its SAs could not follow the device");
        return;
    }
    const struct child_sa *c = sa->child;
    /* A NAT mapping that changed keeps the encapsulation; a MOBIKE move
     * takes what NAT detection found on the new path. Leaving a NAT is
     * what the kernel cannot follow (xfrmd refuses): the tunnel ends and
     * the device connects again. */
    bool encap = sa->move_peer_nat || sa->move_self_nat || (sa->natt && !sa->mobike);
    for (int i = 0; i < 2; i++) {
        bool in = i == 0;
        Mgate__XfrmMove *m = &b->mv[i];
        mgate__xfrm_move__init(m);
        mgate__xfrm_sa_id__init(&b->id[i]);
        b->id[i].dst = mob_addr_bin(in ? &sa->local : &sa->remote);
        b->id[i].spi = in ? c->spi_in : c->spi_out;
        m->sa = &b->id[i];
        m->reqid = c->reqid;
        m->new_src = mob_addr_bin(in ? &sa->move->remote : &sa->move->local);
        m->new_dst = mob_addr_bin(in ? &sa->move->local : &sa->move->remote);
        m->encap = encap;
        if (encap) {
            m->encap_sport = mob_port(in ? &sa->move->remote : &sa->move->local);
            m->encap_dport = mob_port(in ? &sa->move->local : &sa->move->remote);
        }
        b->mvp[i] = m;
    }
    mob_policies(c, b);
    Mgate__XfrmMoveRequest rq = MGATE__XFRM_MOVE_REQUEST__INIT;
    rq.moves = b->mvp;
    rq.n_moves = 2;
    call->ik = ik;
    call->spi_r = sa->spi_r;
    int rc = upstream_request(xf, MGATE__XFRMD_REQUEST__BODY_MOVE, &rq.base, mob_on_moved, call);
    free(b);
    if (rc < 0) {
        free(call);
        log_err("%s: cannot ask xfrmd to move its SAs: %s", ike_sa_describe(sa, d, sizeof(d)),
                strerror(-rc));
        iked_sa_destroy(ik, sa, true, "its SAs could not follow the device");
        return;
    }
    sa->busy = true;
}

static void mob_rr_send(struct iked *ik, struct ike_sa *sa, bool again)
{
    struct ike_tx tx = {0};
    if (ike_exch_rr_request(&ik->env, sa, again, &tx) == 0) {
        iked_persist_save(ik, sa); /* our message ID, before it leaves */
        iked_net_send(ik, &sa->move->local, &sa->move->remote, tx.buf, tx.len);
    }
    free(tx.buf);
    sa->rr_sent_ms = mob_now_ms(ik);
    if (sa->rr_tries < UINT8_MAX)
        sa->rr_tries++;
}

void iked_mobility_after_request(struct iked *ik, struct ike_sa *sa, const struct ike_rx *rx)
{
    char d[160], from[64];
    if (sa->busy || sa->state != IKE_SA_ESTABLISHED)
        return;
    if (sa->move_rr_needed) {
        /* A liveness check in flight is overtaken: the check below is one
         * too, on the path that matters now. */
        sa->move_rr_needed = false;
        sa->dpd_sent_ms = 0;
        sa->dpd_tries = 0;
        sa->rr_pending = true;
        sa->rr_ok = false;
        sa->rr_tries = 0;
        log_info("%s: return routability check to %s", ike_sa_describe(sa, d, sizeof(d)),
                 mob_str(&sa->move->remote, from, sizeof(from)));
        mob_rr_send(ik, sa, false);
        return;
    }
    if (sa->move_wanted) {
        mob_move(ik, sa);
        return;
    }
    /* RFC 7296 §2.23: the device behind a NAT got a new mapping; the
     * request passed its integrity check and carried a new message ID (no
     * replay). Not with MOBIKE, whose UPDATE_SA_ADDRESSES decides. */
    if (sa->mobike || !sa->peer_behind_nat ||
        (mob_same(&rx->remote, &sa->remote) && mob_same(&rx->local, &sa->local)))
        return;
    log_info("%s: authenticated request from %s: the NAT mapping changed",
             ike_sa_describe(sa, d, sizeof(d)), mob_str(&rx->remote, from, sizeof(from)));
    if (ike_sa_move_to(sa, &rx->local, &rx->remote) < 0) {
        log_err("%s: out of memory; the SAs stay where they are", d);
        return;
    }
    sa->move_peer_nat = sa->peer_behind_nat;
    sa->move_self_nat = sa->self_behind_nat;
    mob_move(ik, sa);
}

void iked_mobility_after_response(struct iked *ik, struct ike_sa *sa)
{
    if (!sa->rr_ok || sa->busy)
        return;
    char d[160];
    sa->rr_ok = false;
    sa->rr_pending = false;
    log_info("%s: return routability check answered", ike_sa_describe(sa, d, sizeof(d)));
    mob_move(ik, sa);
}

/* RFC 3948 §2.3: one 0xFF octet on the NAT-T port keeps the gateway's own
 * NAT mapping open; no non-ESP marker (that is what tells it apart). */
static void mob_keepalive(struct iked *ik, struct ike_sa *sa)
{
    const struct sockaddr_storage *local = &sa->local;
    struct iked_sock *sk = NULL;
    for (size_t i = 0; i < ik->n_socks; i++)
        if (ik->socks[i].natt && ik->socks[i].family == local->ss_family)
            sk = &ik->socks[i];
    if (!sk)
        return;
    static const uint8_t ka = 0xff;
    struct iovec iov = {.iov_base = (void *)&ka, .iov_len = 1};
    int rc = iked_net_sendmsg(sk->fd, local, &sa->remote, &iov, 1);
    if (rc < 0)
        log_debug("NAT keepalive not sent: %s", strerror(-rc));
}

void iked_mobility_sweep(struct iked *ik, struct ike_sa *sa, uint64_t now_ms)
{
    char d[160], to[64];
    if (sa->busy || sa->state != IKE_SA_ESTABLISHED)
        return;
    if (sa->rr_pending && now_ms - sa->rr_sent_ms >= RR_RETRY_MS) {
        if (sa->rr_tries >= RR_TRIES) {
            /* The device may be back on the old path or gone: DPD tells. */
            sa->rr_pending = false;
            log_info("%s: return routability check to %s unanswered: the SAs stay",
                     ike_sa_describe(sa, d, sizeof(d)), mob_str(&sa->move->remote, to, sizeof(to)));
        } else {
            mob_rr_send(ik, sa, true);
        }
    }
    uint64_t every = ik->set.nat_keepalive_ms;
    if (every && sa->self_behind_nat) {
        uint64_t last = sa->nat_ka_ms > sa->established_ms ? sa->nat_ka_ms : sa->established_ms;
        if (now_ms - last >= every) {
            mob_keepalive(ik, sa);
            sa->nat_ka_ms = now_ms;
        }
    }
}

struct mob_find {
    uint32_t reqid, spi;
    struct ike_sa *sa;
};

static void mob_find_one(struct ike_sa *sa, void *arg)
{
    struct mob_find *f = arg;
    if (!f->sa && sa->child && sa->child->installed && sa->child->reqid == f->reqid &&
        sa->child->spi_in == f->spi)
        f->sa = sa;
}

static int mob_sockaddr(struct sockaddr_storage *ss, ProtobufCBinaryData a, uint32_t port)
{
    memset(ss, 0, sizeof(*ss));
    if (a.len == 4 && port <= 0xffff) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a.data, 4);
        s4->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (a.len == 16 && port <= 0xffff) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a.data, 16);
        s6->sin6_port = htons((uint16_t)port);
        return 0;
    }
    return -1;
}

/* The kernel reports every authenticated ESP packet from a new source
 * until the SA follows: a device sending hundreds a second would have each
 * of them look for its SA (a walk of the table). The same report within a
 * second is dropped here, before the walk; a slot per SPI hash, the loop
 * thread's own. */
#define MOB_RECENT    256u
#define MOB_RECENT_MS 1000u
static struct mob_recent {
    uint32_t spi;
    uint32_t port;
    uint8_t addr[16];
    uint64_t at_ms;
} mob_recent[MOB_RECENT];

static struct mob_recent *mob_slot(const Mgate__XfrmMapping *mp, uint8_t addr[16])
{
    memset(addr, 0, 16);
    memcpy(addr, mp->new_addr.data, mp->new_addr.len <= 16 ? mp->new_addr.len : 16);
    return &mob_recent[mp->sa->spi % MOB_RECENT];
}

static bool mob_repeated(struct iked *ik, const Mgate__XfrmMapping *mp)
{
    uint8_t addr[16];
    const struct mob_recent *r = mob_slot(mp, addr);
    return r->at_ms && mob_now_ms(ik) - r->at_ms < MOB_RECENT_MS && r->spi == mp->sa->spi &&
           r->port == mp->new_port && memcmp(r->addr, addr, 16) == 0;
}

/* Reports dropped because the SA was busy are not remembered: they come
 * again and are taken then. */
static void mob_remember(struct iked *ik, const Mgate__XfrmMapping *mp)
{
    uint8_t addr[16];
    struct mob_recent *r = mob_slot(mp, addr);
    uint64_t now = mob_now_ms(ik);
    r->spi = mp->sa->spi;
    r->port = mp->new_port;
    memcpy(r->addr, addr, 16);
    r->at_ms = now ? now : 1;
}

static void mob_on_mapping(struct iked *ik, const Mgate__XfrmMapping *mp)
{
    char d[160], to[64];
    if (!mp->sa || mob_repeated(ik, mp))
        return;
    struct mob_find f = {.reqid = mp->reqid, .spi = mp->sa->spi};
    iked_sa_table_each(ik->sas, mob_find_one, &f);
    struct ike_sa *sa = f.sa;
    /* One move at a time: reports meanwhile are dropped (the kernel
     * repeats them while packets keep coming from the new source). */
    if (sa && (sa->busy || sa->state != IKE_SA_ESTABLISHED))
        return;
    mob_remember(ik, mp);
    if (!sa)
        return;
    struct sockaddr_storage remote;
    if (mob_sockaddr(&remote, mp->new_addr, mp->new_port) < 0 ||
        remote.ss_family != sa->remote.ss_family) {
        log_info("%s: NAT mapping event with an unusable address: ignored",
                 ike_sa_describe(sa, d, sizeof(d)));
        return;
    }
    if (mob_same(&remote, &sa->remote))
        return;
    if (!sa->peer_behind_nat) {
        log_info("%s: the kernel saw ESP from %s, but the device is not behind a NAT: ignored",
                 ike_sa_describe(sa, d, sizeof(d)), mob_str(&remote, to, sizeof(to)));
        return;
    }
    log_info("%s: the kernel saw ESP from %s: the NAT mapping changed",
             ike_sa_describe(sa, d, sizeof(d)), mob_str(&remote, to, sizeof(to)));
    if (ike_sa_move_to(sa, &sa->local, &remote) < 0) {
        log_err("%s: out of memory; the SAs stay where they are", d);
        return;
    }
    sa->move_peer_nat = sa->peer_behind_nat;
    sa->move_self_nat = sa->self_behind_nat;
    mob_move(ik, sa);
}

void iked_mobility_on_xfrmd_event(struct upstream *up, const ProtobufCMessage *ev, uint32_t ev_case,
                                  void *ud)
{
    struct iked *ik = ud;
    (void)up;
    const Mgate__XfrmdEvent *e = (const Mgate__XfrmdEvent *)ev;
    if (ev_case == MGATE__XFRMD_EVENT__BODY_MAPPING && ik->env.set && !ik->stopping)
        mob_on_mapping(ik, e->mapping);
}
