/* iked's socket API: list the IKE SAs (mgatectl ike), terminate one, and
 * tunnel up/down events for subscribers (topic "sa"). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_const.h"
#include "ike_grant.h"
#include "iked.h"
#include "iked.pb-c.h"
#include "log.h"

static const char *const iked_state_names[] = {"half-open", "installing", "established",
                                               "deleting", "rekeyed"};

/* Strings an IkeSaInfo points to, kept with it. */
struct iked_info_box {
    Mgate__IkeSaInfo info;
    Mgate__IkeChildInfo child;
    Mgate__IkeChildInfo *child_ptr;
    char local[64], remote[64], fpr[65], vip[INET_ADDRSTRLEN], ike[64], esp[48];
    char ts[IKE_CHILD_MAX_TS][64];
    char *ts_ptr[IKE_CHILD_MAX_TS];
    char rts[64];
};

static void iked_fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
        port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
        snprintf(buf, len, "%s:%u", a, port);
    } else if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
        port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
        snprintf(buf, len, "[%s]:%u", a, port);
    } else {
        snprintf(buf, len, "-");
    }
}

static void iked_fmt_ts(const struct ike_child_ts *t, char *buf, size_t len)
{
    ike_grant_ts_format(t->family, t->addr, t->plen, t->proto, t->port, buf, len);
}

static const char *iked_encr_name(uint16_t encr, uint16_t bits)
{
    switch (encr) {
    case IKE_ENCR_AES_GCM_16:
        return bits == 256 ? "aes256gcm16" : "aes128gcm16";
    case IKE_ENCR_AES_CBC:
        return bits == 256 ? "aes256" : "aes128";
    case IKE_ENCR_CHACHA20_POLY1305:
        return "chacha20poly1305";
    }
    return "?";
}

static const char *iked_hash_name(uint16_t integ_or_prf)
{
    switch (integ_or_prf) {
    case IKE_AUTH_HMAC_SHA2_256_128:
    case IKE_PRF_HMAC_SHA2_256:
        return "sha256";
    case IKE_AUTH_HMAC_SHA2_384_192:
    case IKE_PRF_HMAC_SHA2_384:
        return "sha384";
    case IKE_AUTH_HMAC_SHA2_512_256:
    case IKE_PRF_HMAC_SHA2_512:
        return "sha512";
    }
    return "?";
}

static const char *iked_group_name(uint16_t g)
{
    switch (g) {
    case 14:
        return "modp2048";
    case 15:
        return "modp3072";
    case 16:
        return "modp4096";
    case 19:
        return "ecp256";
    case 20:
        return "ecp384";
    case 21:
        return "ecp521";
    case 31:
        return "curve25519";
    }
    return "?";
}

static Mgate__IkeSaInfo *iked_sa_info_new(struct iked *ik, const struct ike_sa *sa)
{
    struct iked_info_box *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    Mgate__IkeSaInfo *m = &b->info;
    mgate__ike_sa_info__init(m);
    m->spi_i = be64toh(sa->spi_i);
    m->spi_r = be64toh(sa->spi_r);
    m->state = (char *)iked_state_names[sa->state];
    iked_fmt_addr(&sa->local, b->local, sizeof(b->local));
    iked_fmt_addr(&sa->remote, b->remote, sizeof(b->remote));
    m->local = b->local;
    m->remote = b->remote;
    m->natt = sa->natt;
    m->identity = sa->peer_subject ? sa->peer_subject : (char *)"";
    m->serial = (char *)sa->peer_serial;
    for (int i = 0; i < 32; i++)
        snprintf(b->fpr + 2 * i, 3, "%02x", sa->peer_fpr[i]);
    m->fingerprint = sa->peer_subject ? b->fpr : (char *)"";
    if (sa->vip.s_addr)
        inet_ntop(AF_INET, &sa->vip, b->vip, sizeof(b->vip));
    m->vip = b->vip;
    if (sa->suite.integ)
        snprintf(b->ike, sizeof(b->ike), "%s-%s-%s",
                 iked_encr_name(sa->suite.encr, sa->suite.encr_keybits),
                 iked_hash_name(sa->suite.integ), iked_group_name(sa->suite.dh));
    else
        snprintf(b->ike, sizeof(b->ike), "%s-prf%s-%s",
                 iked_encr_name(sa->suite.encr, sa->suite.encr_keybits),
                 iked_hash_name(sa->suite.prf), iked_group_name(sa->suite.dh));
    m->ike = b->ike;
    m->age_s = (uv_now(service_daemon(ik->s)->loop) - sa->created_ms) / 1000;
    if (sa->authz && sa->authz->decided && sa->authz->grant.decision != IKE_GRANT_DENY) {
        m->access = (char *)ike_grant_decision_name(sa->authz->grant.decision);
        m->access_reason = (char *)sa->authz->grant.reason;
        m->access_cached = sa->authz->from_cache;
    }
    if (sa->child) {
        const struct child_sa *c = sa->child;
        Mgate__IkeChildInfo *ci = &b->child;
        mgate__ike_child_info__init(ci);
        ci->spi_in = c->spi_in;
        ci->spi_out = c->spi_out;
        ci->reqid = c->reqid;
        snprintf(b->esp, sizeof(b->esp), "%s%s%s%s",
                 iked_encr_name(c->esp.encr, c->esp.encr_keybits), c->esp.integ ? "-" : "",
                 c->esp.integ ? iked_hash_name(c->esp.integ) : "", c->esp.esn ? "-esn" : "");
        ci->esp = b->esp;
        for (size_t i = 0; i < c->n_ts_local && i < IKE_CHILD_MAX_TS; i++) {
            iked_fmt_ts(&c->ts_local[i], b->ts[i], sizeof(b->ts[i]));
            b->ts_ptr[i] = b->ts[i];
        }
        ci->local_ts = b->ts_ptr;
        ci->n_local_ts = c->n_ts_local;
        iked_fmt_ts(&c->ts_remote, b->rts, sizeof(b->rts));
        ci->remote_ts = b->rts;
        ci->installed = c->installed;
        b->child_ptr = ci;
        m->children = &b->child_ptr;
        m->n_children = 1;
    }
    return m;
}

struct iked_list {
    Mgate__IkeSaInfo **items;
    size_t n;
    struct iked *ik;
};

static void iked_list_one(struct ike_sa *sa, void *arg)
{
    struct iked_list *l = arg;
    Mgate__IkeSaInfo *m = iked_sa_info_new(l->ik, sa);
    if (m)
        l->items[l->n++] = m;
}

static void iked_handle_list(struct iked *ik, struct svc *svc, struct ipc_conn *conn, uint64_t id)
{
    size_t n = iked_sa_table_count(ik->sas);
    struct iked_list l = {.items = calloc(n ? n : 1, sizeof(*l.items)), .ik = ik};
    if (!l.items) {
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INTERNAL, "out of memory");
        return;
    }
    iked_sa_table_each(ik->sas, iked_list_one, &l);
    Mgate__IkeSaList list = MGATE__IKE_SA_LIST__INIT;
    list.sas = l.items;
    list.n_sas = l.n;
    list.half_open = (uint32_t)iked_sa_table_half_open(ik->sas);
    svc_reply(svc, conn, id, MGATE__IKED_RESPONSE__BODY_SAS, &list.base);
    for (size_t i = 0; i < l.n; i++)
        free(l.items[i]);
    free(l.items);
}

struct iked_term {
    struct iked *ik;
    const Mgate__IkeTerminateRequest *rq;
    struct in_addr vip;
    uint32_t n;
};

static void iked_term_one(struct ike_sa *sa, void *arg)
{
    struct iked_term *t = arg;
    bool match = (t->rq->spi_i && be64toh(sa->spi_i) == t->rq->spi_i) ||
                 (t->rq->identity && *t->rq->identity && sa->peer_subject &&
                  strcmp(sa->peer_subject, t->rq->identity) == 0) ||
                 (t->vip.s_addr && sa->vip.s_addr == t->vip.s_addr);
    if (!match)
        return;
    t->n++;
    iked_sa_destroy(t->ik, sa, true, "terminated by the admin");
}

static void iked_handle_terminate(struct iked *ik, struct svc *svc, struct ipc_conn *conn,
                                  uint64_t id, const Mgate__IkeTerminateRequest *rq)
{
    struct iked_term t = {.ik = ik, .rq = rq};
    if (rq->vip && *rq->vip && inet_pton(AF_INET, rq->vip, &t.vip) != 1) {
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INVALID,
                        "'%s' is not an IPv4 address", rq->vip);
        return;
    }
    if (!rq->spi_i && !(rq->identity && *rq->identity) && !t.vip.s_addr) {
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INVALID,
                        "say which SA: spi, identity or virtual IP");
        return;
    }
    iked_sa_table_each(ik->sas, iked_term_one, &t);
    if (!t.n) {
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_NOT_FOUND, "no such IKE SA");
        return;
    }
    Mgate__IkeTerminateReply rep = MGATE__IKE_TERMINATE_REPLY__INIT;
    rep.terminated = t.n;
    svc_reply(svc, conn, id, MGATE__IKED_RESPONSE__BODY_TERMINATE, &rep.base);
}

void iked_api_handle(struct svc *svc, struct ipc_conn *conn, uint64_t id,
                     const ProtobufCMessage *req, uint32_t body_case, void *ud)
{
    struct iked *ik = ud;
    const Mgate__IkedRequest *r = (const Mgate__IkedRequest *)req;
    switch (body_case) {
    case MGATE__IKED_REQUEST__BODY_LIST:
        iked_handle_list(ik, svc, conn, id);
        break;
    case MGATE__IKED_REQUEST__BODY_TERMINATE:
        iked_handle_terminate(ik, svc, conn, id, r->terminate);
        break;
    default:
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_UNSUPPORTED,
                        "iked does not serve request %u", body_case);
    }
}

void iked_api_publish(struct iked *ik, struct ike_sa *sa, bool up, const char *reason)
{
    struct svc *svc = service_svc(ik->s);
    if (!svc)
        return;
    Mgate__IkeSaInfo *info = iked_sa_info_new(ik, sa);
    if (!info)
        return;
    Mgate__IkeSaEvent ev = MGATE__IKE_SA_EVENT__INIT;
    ev.sa = info;
    ev.reason = (char *)reason;
    svc_publish(svc, "sa", up ? MGATE__IKED_EVENT__BODY_UP : MGATE__IKED_EVENT__BODY_DOWN,
                &ev.base);
    free(info);
}
