/* The way of a datagram through iked, on the event loop:
 *
 *   header check → which SA (responder SPI; or a retransmitted IKE_SA_INIT)
 *   → a retransmitted request gets the cached response, byte for byte
 *   → the expected message ID goes to a worker thread (parsing, DH,
 *     signatures: never on the loop) → back on the loop: send, install the
 *     CHILD SA through xfrmd first when there is one, or end the SA.
 *
 * An SA is handed to at most one worker at a time (sa->busy); requests that
 * arrive meanwhile are dropped: the peer retransmits. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_const.h"
#include "ike_msg_wr.h"
#include "iked.h"
#include "iked_rekey.h"
#include "log.h"

struct iked_job {
    uv_work_t req;
    struct iked *ik;
    struct ike_sa *sa;     /* the SA worked on; NULL for IKE_SA_INIT */
    struct ike_sa *new_sa; /* IKE_SA_INIT's result */
    /* An IKE SA rekey's new SA. */
    struct ike_sa *rekeyed;
    uint64_t init_spi_i; /* IKE_SA_INIT in flight: initiator SPI */
    struct iked_job *next_init;
    uint8_t *buf;
    struct ike_rx rx;
    struct ike_tx tx;
    enum ike_exch_result res;
    bool parse_failed;
    bool was_half_open; /* the SA waited for IKE_AUTH when queued */
    bool resume;        /* IKE_AUTH's second half, after policyd (no datagram) */
};

/* IKE_SA_INIT jobs in flight: a retransmission arriving before the first
 * answer must not create a second SA. */
static struct iked_job *iked_init_jobs;
/* ... and how many: they count as half-open SAs (max_half_open). */
static size_t iked_init_inflight;

static int iked_queue(struct iked *ik, struct ike_sa *sa, const uint8_t *buf, size_t len,
                      const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
                      bool natt_port, uint64_t init_spi_i);

uint64_t iked_now_ms(struct iked *ik)
{
    return uv_now(service_daemon(ik->s)->loop);
}

static const char *iked_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
        port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
        port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    }
    snprintf(buf, len, "%s[%u]", a, port);
    return buf;
}

static void iked_job_work(uv_work_t *req)
{
    struct iked_job *j = req->data;
    const struct ike_env *env = &j->ik->env;
    struct ike_msg m;
    struct ike_error err;
    if (j->resume) {
        j->res = ike_exch_auth_resume(env, j->sa, j->rx.now_ms, &j->tx);
        return;
    }
    if (ike_msg_parse(&m, j->rx.buf, j->rx.len, &err) != IKE_OK) {
        char why[160];
        ike_error_format(&err, why, sizeof(why));
        char from[64];
        log_info("malformed IKE message from %s: %s",
                 iked_addr_str(&j->rx.remote, from, sizeof(from)), why);
        j->parse_failed = true;
        /* Outside an SA the RFC wants an unprotected answer (INVALID_SYNTAX,
         * UNSUPPORTED_CRITICAL_PAYLOAD...); inside one, silence. */
        j->res = j->sa ? IKE_EXCH_DROP : ike_exch_sa_init_error(&j->rx, &err, &j->tx);
        return;
    }
    if (j->sa)
        j->res = ike_exch_request_ex(env, j->sa, &j->rx, &m, &j->tx, &j->rekeyed);
    else
        j->res = ike_exch_sa_init(env, &j->rx, &m, &j->new_sa, &j->tx);
}

static void iked_send_tx(struct iked *ik, const struct ike_rx *rx, const uint8_t *buf, size_t len)
{
    if (buf && len)
        iked_net_send(ik, &rx->local, &rx->remote, buf, len);
}

struct iked_replace {
    struct iked *ik;
    struct ike_sa *keep;
};

static void iked_replace_one(struct ike_sa *sa, void *arg)
{
    struct iked_replace *r = arg;
    if (sa == r->keep)
        return;
    /* One connection per device: the newest wins, and keeps the address
     * (its lease was re-acquired, so the old SA must not release it, and
     * its policies, same selectors, were updated in place: they are the
     * new tunnel's now; those of other selectors, e.g. after another grant
     * from policyd, are deleted first). */
    sa->lease_moved = sa->vip.s_addr == r->keep->vip.s_addr;
    if (sa->lease_moved)
        iked_child_trim_moved(r->ik, sa, r->keep);
    iked_sa_destroy(r->ik, sa, false, "replaced by a new connection of the same device");
}

/* The IKE SA is authenticated and its CHILD SA (if any) in the kernel. */
static void iked_established(struct iked *ik, struct ike_sa *sa)
{
    char d[160];
    sa->state = IKE_SA_ESTABLISHED;
    sa->established_ms = iked_now_ms(ik);
    ik->handshakes++;
    if (sa->peer_subject) {
        struct iked_replace r = {ik, sa};
        iked_sa_table_each_identity(ik->sas, sa->peer_subject, iked_replace_one, &r);
        iked_sa_table_index_identity(ik->sas, sa);
    }
    iked_persist_save(ik, sa);
    log_notice("tunnel up: %s%s", ike_sa_describe(sa, d, sizeof(d)),
               sa->child ? "" : " (no CHILD SA)");
    iked_api_publish(ik, sa, true, "established");
}

static void iked_on_child_installed(struct iked *ik, struct ike_sa *sa, bool ok)
{
    if (!ok) {
        iked_sa_destroy(ik, sa, false, "the kernel refused the CHILD SA");
        return;
    }
    iked_established(ik, sa);
    /* The IKE_AUTH response goes out only now: the device may send ESP as
     * soon as it reads it, and our inbound SA must be there to take it. */
    if (sa->last_resp)
        iked_net_send(ik, &sa->local, &sa->remote, sa->last_resp, sa->last_resp_len);
}

static void iked_job_done(uv_work_t *req, int status)
{
    struct iked_job *j = req->data;
    struct iked *ik = j->ik;
    ik->jobs--;
    if (!j->sa) {
        iked_init_inflight--;
        for (struct iked_job **pj = &iked_init_jobs; *pj; pj = &(*pj)->next_init)
            if (*pj == j) {
                *pj = j->next_init;
                break;
            }
    }
    struct ike_sa *sa = j->sa ? j->sa : j->new_sa;
    if (j->rekeyed && (status == UV_ECANCELED || j->sa->destroy_pending || ik->stopping)) {
        /* The old SA ends: its CHILD SAs (moved) go with it. */
        iked_rekey_ike_abandon(j->sa, j->rekeyed);
        j->rekeyed = NULL;
    }
    if (status == UV_ECANCELED) {
        if (j->new_sa)
            ike_sa_free(j->new_sa);
        goto out;
    }
    if (j->sa) {
        j->sa->busy = false;
        if (j->sa->destroy_pending) {
            iked_sa_destroy(ik, j->sa, j->sa->destroy_notify, "terminated");
            goto out;
        }
        /* RFC 7383: the next fragment that waited for this worker, unless
         * the message is done (a dropped fragment does not end it). */
        struct ike_frag_pending *p =
            iked_frag_next(ik, j->sa, j->res == IKE_EXCH_FRAGMENT || j->res == IKE_EXCH_DROP);
        if (p && iked_queue(ik, j->sa, p->buf, p->len, &p->local, &p->remote, p->natt_port, 0) < 0)
            ik->rx_dropped++;
        free(p);
    }
    if (j->res == IKE_EXCH_DROP)
        ik->rx_dropped++;
    if (ik->stopping) {
        if (j->new_sa)
            ike_sa_free(j->new_sa);
        goto out;
    }
    if (j->new_sa) {
        struct ike_sa *nsa = j->new_sa;
        nsa->local = j->rx.local;
        nsa->remote = j->rx.remote;
        nsa->created_ms = nsa->last_rx_ms = iked_now_ms(ik);
        if (!nsa->last_resp && j->tx.buf) {
            /* The answer to a retransmitted IKE_SA_INIT. */
            nsa->last_resp = j->tx.buf;
            nsa->last_resp_len = j->tx.len;
            nsa->last_msgid = 0;
            nsa->next_msgid = 1;
            j->tx.buf = NULL;
        }
        if (iked_sa_table_add(ik->sas, nsa) < 0) {
            log_err("out of memory adding an IKE SA");
            ike_sa_free(nsa);
            goto out;
        }
        iked_send_tx(ik, &j->rx, nsa->last_resp, nsa->last_resp_len);
        goto out;
    }
    switch (j->res) {
    case IKE_EXCH_DROP:
        break;
    case IKE_EXCH_REPLY:
        if (sa)
            iked_persist_save(ik, sa); /* before the answer leaves */
        iked_send_tx(ik, &j->rx, j->tx.buf, j->tx.len);
        /* IKE_AUTH without a CHILD SA (childless, TS_UNACCEPTABLE...). The
         * exchange already stamped established_ms: what says "just now" is
         * the state the SA was queued in. */
        if (sa && j->was_half_open && sa->state == IKE_SA_ESTABLISHED)
            iked_established(ik, sa);
        else if (sa)
            iked_mobility_after_request(ik, sa, &j->rx);
        break;
    case IKE_EXCH_REPLY_FAIL:
        iked_send_tx(ik, &j->rx, j->tx.buf, j->tx.len);
        if (sa)
            iked_sa_destroy(ik, sa, false, "exchange failed");
        break;
    case IKE_EXCH_INSTALL:
        sa->state = IKE_SA_INSTALLING;
        if (!sa->last_resp && j->tx.buf) {
            sa->last_resp = j->tx.buf;
            sa->last_resp_len = j->tx.len;
            j->tx.buf = NULL;
        }
        if (iked_child_install(ik, sa, iked_on_child_installed) < 0)
            iked_sa_destroy(ik, sa, false, "xfrmd unavailable");
        break;
    case IKE_EXCH_DELETE_IKE:
        iked_send_tx(ik, &j->rx, j->tx.buf, j->tx.len);
        iked_sa_destroy(ik, sa, false, "deleted by the peer");
        break;
    case IKE_EXCH_DELETE_CHILD:
        if (sa->child_old) {
            /* Both go; the old pair first, without moving outbound. */
            sa->child_out_pending = false;
            iked_rekey_old_child_deleted(ik, sa);
        }
        iked_child_remove(ik, sa);
        iked_persist_save(ik, sa);
        iked_send_tx(ik, &j->rx, j->tx.buf, j->tx.len);
        break;
    case IKE_EXCH_FRAGMENT:
        break;
    case IKE_EXCH_AUTHORIZE:
        /* Held (busy) until policyd decides: a retransmitted request is
         * dropped meanwhile, the peer tries again. */
        sa->busy = true;
        iked_authz_ask(ik, sa);
        break;
    case IKE_EXCH_REKEY_CHILD:
        iked_rekey_child_answered(ik, sa, &j->rx);
        break;
    case IKE_EXCH_REKEY_IKE:
        /* Protected with the old SA's keys: the exchange was on it. */
        iked_send_tx(ik, &j->rx, j->tx.buf, j->tx.len);
        iked_rekey_ike_answered(ik, sa, j->rekeyed);
        j->rekeyed = NULL;
        break;
    case IKE_EXCH_DELETE_OLD_CHILD:
        iked_rekey_old_child_deleted(ik, sa);
        iked_persist_save(ik, sa);
        iked_send_tx(ik, &j->rx, j->tx.buf, j->tx.len);
        break;
    case IKE_EXCH_DELETE_REDUNDANT_CHILD:
        iked_rekey_redundant_deleted(ik, sa);
        iked_persist_save(ik, sa);
        iked_send_tx(ik, &j->rx, j->tx.buf, j->tx.len);
        break;
    }
out:
    free(j->tx.buf);
    free(j->buf);
    free(j);
    iked_leases_close_if_idle(ik);
}

static int iked_queue(struct iked *ik, struct ike_sa *sa, const uint8_t *buf, size_t len,
                      const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
                      bool natt_port, uint64_t init_spi_i)
{
    struct iked_job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->buf = malloc(len);
    if (!j->buf) {
        free(j);
        return -ENOMEM;
    }
    memcpy(j->buf, buf, len);
    j->ik = ik;
    j->sa = sa;
    j->init_spi_i = init_spi_i;
    j->rx.buf = j->buf;
    j->rx.len = len;
    j->rx.local = *local;
    j->rx.remote = *remote;
    j->rx.natt_port = natt_port;
    j->rx.now_ms = iked_now_ms(ik);
    j->req.data = j;
    j->was_half_open = sa && sa->state == IKE_SA_HALF_OPEN;
    if (sa)
        sa->busy = true;
    int rc = uv_queue_work(service_daemon(ik->s)->loop, &j->req, iked_job_work, iked_job_done);
    if (rc) {
        if (sa)
            sa->busy = false;
        free(j->buf);
        free(j);
        return rc;
    }
    if (!sa) {
        j->next_init = iked_init_jobs;
        iked_init_jobs = j;
        iked_init_inflight++;
    }
    ik->jobs++;
    return 0;
}

int iked_dispatch_resume(struct iked *ik, struct ike_sa *sa)
{
    struct iked_job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->ik = ik;
    j->sa = sa;
    j->resume = true;
    j->rx.local = sa->local;
    j->rx.remote = sa->remote;
    j->rx.natt_port = sa->natt;
    j->rx.now_ms = iked_now_ms(ik);
    j->req.data = j;
    j->was_half_open = true;
    sa->busy = true;
    int rc = uv_queue_work(service_daemon(ik->s)->loop, &j->req, iked_job_work, iked_job_done);
    if (rc) {
        sa->busy = false;
        free(j);
        return rc;
    }
    ik->jobs++;
    return 0;
}

static bool iked_same_remote(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    return a->ss_family == b->ss_family &&
           memcmp(a, b,
                  a->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                          : sizeof(struct sockaddr_in6)) == 0;
}

/* Cookies are asked for once half-open SAs reach cookie_threshold (0:
 * always); the change is logged. */
static bool iked_cookies_required(struct iked *ik)
{
    size_t half_open = iked_sa_table_half_open(ik->sas);
    bool on = ik->set.cookie_threshold == 0 || half_open >= ik->set.cookie_threshold;
    if (on != ik->cookies_on) {
        ik->cookies_on = on;
        if (on)
            log_notice("%zu half-open IKE SAs (cookie_threshold %u): IKE_SA_INIT requests need a "
                       "COOKIE now (RFC 7296 §2.6)",
                       half_open, ik->set.cookie_threshold);
        else
            log_notice("%zu half-open IKE SAs: COOKIEs no longer required (%llu asked for, "
                       "%llu refused, %llu passed)",
                       half_open, (unsigned long long)ik->cookies_asked,
                       (unsigned long long)ik->cookies_refused,
                       (unsigned long long)ik->cookies_passed);
    }
    return on;
}

/* RFC 7296 §2.6 on the loop, before any DH is queued: true when the
 * request was answered with a COOKIE (or dropped) and keeps nothing. A
 * request that does not parse goes on to the worker, which answers it
 * without state. */
static bool iked_cookie_gate(struct iked *ik, const uint8_t *buf, size_t len,
                             const struct sockaddr_storage *local,
                             const struct sockaddr_storage *remote, bool natt_port)
{
    if (!ik->cookies_ready || !iked_cookies_required(ik))
        return false;
    struct ike_msg m;
    struct ike_error err;
    if (ike_msg_parse(&m, buf, len, &err) != IKE_OK)
        return false;
    struct ike_rx rx = {.buf = buf,
                        .len = len,
                        .local = *local,
                        .remote = *remote,
                        .natt_port = natt_port,
                        .now_ms = iked_now_ms(ik)};
    uint8_t out[128];
    size_t out_len = 0;
    const char *why = NULL;
    char from[64];
    switch (ike_exch_sa_init_cookie(&ik->cookies, &rx, &m, out, sizeof(out), &out_len, &why)) {
    case IKE_EXCH_COOKIE_OK:
        ik->cookies_passed++;
        log_debug("IKE_SA_INIT from %s: valid COOKIE", iked_addr_str(remote, from, sizeof(from)));
        return false;
    case IKE_EXCH_COOKIE_ASK:
        ik->cookies_asked++;
        log_debug("IKE_SA_INIT from %s: COOKIE required, asked for (%llu so far)",
                  iked_addr_str(remote, from, sizeof(from)), (unsigned long long)ik->cookies_asked);
        break;
    case IKE_EXCH_COOKIE_REFUSED:
        ik->cookies_refused++;
        log_debug("IKE_SA_INIT from %s refused: %s; a new COOKIE sent (%llu refused so far)",
                  iked_addr_str(remote, from, sizeof(from)), why,
                  (unsigned long long)ik->cookies_refused);
        break;
    case IKE_EXCH_COOKIE_DROP:
        ik->rx_dropped++;
        log_debug("IKE_SA_INIT from %s dropped: %s", iked_addr_str(remote, from, sizeof(from)),
                  why);
        return true;
    }
    iked_net_send(ik, local, remote, out, out_len);
    return true;
}

void iked_dispatch(struct iked *ik, const uint8_t *buf, size_t len,
                   const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
                   bool natt_port)
{
    struct ike_hdr h;
    struct ike_error err;
    char from[64];
    if (ik->stopping)
        return;
    if (ike_hdr_parse(buf, len, &h, &err) != IKE_OK) {
        char why[160];
        ike_error_format(&err, why, sizeof(why));
        log_info("IKE datagram from %s dropped: %s", iked_addr_str(remote, from, sizeof(from)),
                 why);
        ik->rx_dropped++;
        return;
    }
    if (h.next == IKE_PL_SKF)
        ik->frag_rx++;
    uint64_t spi_i, spi_r;
    memcpy(&spi_i, h.ispi, 8);
    memcpy(&spi_r, h.rspi, 8);
    /* Our SPI: the responder's, unless the sender is the original
     * responder (no Initiator flag): then we initiated (a gateway rekey). */
    uint64_t ours = (h.flags & IKE_FLAG_INITIATOR) ? spi_r : spi_i;
    if (h.flags & IKE_FLAG_RESPONSE) {
        /* An answer to our DELETE or liveness request: it counts as a sign
         * of life only once authenticated (cheap symmetric crypto: fine on
         * the loop, and rare). */
        struct ike_sa *sa = iked_sa_table_by_spi_r(ik->sas, ours);
        struct ike_msg m;
        if (!sa || sa->busy)
            return;
        if (iked_rekey_response(ik, sa, buf, len, local, remote, natt_port))
            return;
        if (ike_msg_parse(&m, buf, len, &err) != IKE_OK)
            return;
        struct ike_rx rx = {.buf = buf,
                            .len = len,
                            .local = *local,
                            .remote = *remote,
                            .natt_port = natt_port,
                            .now_ms = iked_now_ms(ik)};
        if (ike_exch_response(&ik->env, sa, &rx, &m) == 0) {
            /* Saved first: a failed move may end (free) the SA. */
            iked_persist_save(ik, sa);
            iked_mobility_after_response(ik, sa);
        }
        return;
    }
    if (h.exchange == IKE_EXCH_IKE_SA_INIT && spi_r == 0) {
        if (h.msgid != 0) {
            ik->rx_dropped++;
            return;
        }
        /* Before anything that costs, even the cached answer. */
        if (!iked_guard_rate(&ik->guard, remote, iked_now_ms(ik)))
            return;
        struct ike_sa *sa = iked_sa_table_by_init(ik->sas, spi_i, remote);
        if (sa) {
            if (sa->last_resp && sa->last_msgid == 0)
                iked_net_send(ik, local, remote, sa->last_resp, sa->last_resp_len);
            return;
        }
        for (struct iked_job *j = iked_init_jobs; j; j = j->next_init)
            if (j->init_spi_i == spi_i && iked_same_remote(&j->rx.remote, remote))
                return; /* being answered */
        /* Each costs a DH key pair: a flood must not exhaust memory.
         * Cookies (cookie_threshold) come first; past max_half_open even
         * initiators that receive at their address get nothing. */
        if (!iked_guard_half_open(&ik->guard, iked_sa_table_half_open(ik->sas) + iked_init_inflight,
                                  iked_now_ms(ik)))
            return;
        if (iked_cookie_gate(ik, buf, len, local, remote, natt_port))
            return;
        if (iked_queue(ik, NULL, buf, len, local, remote, natt_port, spi_i) < 0)
            ik->rx_dropped++;
        return;
    }
    struct ike_sa *sa = iked_sa_table_by_spi_r(ik->sas, ours);
    if (!sa || sa->spi_i != spi_i || sa->spi_r != spi_r) {
        log_debug("IKE message for an unknown SA from %s dropped",
                  iked_addr_str(remote, from, sizeof(from)));
        ik->rx_dropped++;
        return;
    }
    if (sa->state == IKE_SA_DELETING || sa->state == IKE_SA_INSTALLING) {
        log_debug("%s message %u from %s dropped: the SA is %s", ike_exchange_name(h.exchange),
                  h.msgid, iked_addr_str(remote, from, sizeof(from)),
                  sa->state == IKE_SA_DELETING ? "being deleted" : "installing");
        return;
    }
    if (sa->last_resp && h.msgid == sa->last_msgid && sa->next_msgid != sa->last_msgid) {
        /* A retransmission: the same answer again, no new work (§2.1). */
        if (iked_frag_retransmit_ok(buf, len))
            iked_net_send(ik, &sa->local, remote, sa->last_resp, sa->last_resp_len);
        return;
    }
    if (h.msgid == sa->next_msgid && sa->busy &&
        iked_frag_defer(ik, sa, buf, len, local, remote, natt_port))
        return;
    if (h.msgid != sa->next_msgid || sa->busy) {
        log_debug("%s message %u from %s dropped: %s (expected %u)", ike_exchange_name(h.exchange),
                  h.msgid, iked_addr_str(remote, from, sizeof(from)),
                  sa->busy ? "the SA is busy" : "unexpected message ID", sa->next_msgid);
        ik->rx_dropped++;
        return;
    }
    /* sa->last_rx_ms moves only once the exchange has authenticated the
     * request: a forged datagram must not keep a dead peer's SA alive. */
    if (iked_queue(ik, sa, buf, len, local, remote, natt_port, 0) < 0)
        ik->rx_dropped++;
}

void iked_sa_destroy(struct iked *ik, struct ike_sa *sa, bool notify, const char *reason)
{
    char d[160];
    if (sa->busy) {
        sa->destroy_pending = true;
        sa->destroy_notify = notify;
        return;
    }
    if (notify && sa->state == IKE_SA_ESTABLISHED) {
        struct ike_tx tx = {0};
        if (ike_exch_delete_request(&ik->env, sa, &tx) == 0)
            iked_net_send(ik, &sa->local, &sa->remote, tx.buf, tx.len);
        free(tx.buf);
    }
    if (sa->state == IKE_SA_ESTABLISHED || sa->state == IKE_SA_INSTALLING)
        log_notice("tunnel down (%s): %s", reason, ike_sa_describe(sa, d, sizeof(d)));
    else
        log_info("IKE SA removed (%s): %s", reason, ike_sa_describe(sa, d, sizeof(d)));
    if (sa->state != IKE_SA_HALF_OPEN)
        iked_persist_forget(ik, sa);
    if (sa->child_old && sa->child_old->installed)
        iked_child_rekey_batch(ik, sa, NULL, NULL, sa->child_old, NULL);
    if (sa->child_redundant && sa->child_redundant->installed)
        iked_child_rekey_batch(ik, sa, NULL, NULL, sa->child_redundant, NULL);
    if (sa->child && sa->child->installed)
        iked_child_remove(ik, sa);
    iked_rekey_forget(ik, sa);
    if (ik->leases && sa->vip.s_addr && sa->peer_subject && !sa->lease_moved)
        lease_pool_release(ik->leases, sa->peer_subject);
    if (sa->state == IKE_SA_ESTABLISHED)
        iked_api_publish(ik, sa, false, reason);
    iked_sa_table_remove(ik->sas, sa);
    ike_sa_free(sa);
}

void iked_leases_close_if_idle(struct iked *ik)
{
    /* The pool's prepared statements must be finalized before the service
     * closes the database: sqlite3_close refuses (and leaks) a connection
     * with live statements. Workers use the pool, so it closes only once
     * the stop has begun and the last job is done. */
    if (!ik->stopping || ik->jobs || !ik->leases)
        return;
    lease_pool_close(ik->leases);
    ik->leases = NULL;
    ik->env.leases = NULL;
}

static void iked_sweep_one(struct ike_sa *sa, void *arg)
{
    struct iked *ik = arg;
    uint64_t now = iked_now_ms(ik);
    if (sa->busy)
        return;
    iked_frag_sweep(ik, sa, now);
    if (sa->state == IKE_SA_HALF_OPEN && now - sa->created_ms > ik->set.half_open_timeout_ms) {
        iked_sa_destroy(ik, sa, false, "half-open timeout");
    } else {
        iked_mobility_sweep(ik, sa, now); /* never ends the SA */
        if (!iked_rekey_sweep(ik, sa, now))
            iked_dpd_sweep(ik, sa, now);
    }
}

/* One line for `mgatectl status` and systemd's STATUS=: what an admin asks
 * first ("is anyone connected?"). */
static void iked_status_line(struct iked *ik)
{
    struct svc *svc = service_svc(ik->s);
    if (!svc)
        return;
    char line[400];
    if (!ik->env.set)
        snprintf(line, sizeof(line), "IKE off: no gateway certificate, key or CA configured");
    else
        snprintf(line, sizeof(line),
                 "%zu IKE SAs (%zu half-open); %llu handshakes, %llu dead peers, %llu cookies asked"
                 " (cookies %s); IKE_SA_INIT dropped: %llu rate-limited, %llu over max_half_open;"
                 " fragments %llu in, %llu out; %llu moves",
                 iked_sa_table_count(ik->sas), iked_sa_table_half_open(ik->sas),
                 (unsigned long long)ik->handshakes, (unsigned long long)ik->dpd_dead,
                 (unsigned long long)ik->cookies_asked, ik->cookies_on ? "on" : "off",
                 (unsigned long long)ik->guard.rate_limited,
                 (unsigned long long)ik->guard.half_open_refused, (unsigned long long)ik->frag_rx,
                 (unsigned long long)ik->frag_tx, (unsigned long long)ik->moves);
    svc_set_detail(svc, line);
}

static void iked_on_sweep(uv_timer_t *t)
{
    struct iked *ik = t->data;
    iked_sa_table_each(ik->sas, iked_sweep_one, ik);
    iked_status_line(ik);
    if (ik->cookies_ready) {
        if (ike_cookie_tick(&ik->cookies, iked_now_ms(ik)) < 0)
            log_err("cannot rotate the cookie secret: the old one stays");
        iked_cookies_required(ik);
    }
}

void iked_sweep_start(struct iked *ik)
{
    uv_timer_init(service_daemon(ik->s)->loop, &ik->sweep);
    ik->sweep.data = ik;
    uv_timer_start(&ik->sweep, iked_on_sweep, 1000, 1000);
}
