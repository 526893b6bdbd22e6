/* Rekeys the gateway starts (RFC 7296 §2.8), on the event loop:
 *
 *   the kernel's soft expire of a CHILD SA (xfrmd's event) marks the CHILD
 *   SA for rekeying; as soon as the IKE SA is free (no request of ours
 *   outstanding, no worker on it) a worker builds the CREATE_CHILD_SA
 *   (nonce, DH for PFS) and we send it, retransmitted after 2, 4, 8... s
 *   with the same message ID, the SA given up as dead after
 *   IKED_REQ_MAX_TRIES sends. The response (read by a worker) gives the
 *   new SA: its pair goes into the kernel in one batch (with the old SA's
 *   reqid: outbound switches at once to the newest SA, the peer having
 *   installed its inbound SA before answering), then our DELETE of the old
 *   SA, whose inbound SA leaves the kernel only when the DELETE is
 *   answered (the peer may send on it until it reads our DELETE).
 *
 * Collisions (§2.8.1): the peer's rekey of the same SA while ours is out
 * is answered as usual (ike_exch_rekey_child.c keeps its lowest nonce);
 * when ours completes, the exchange with the lowest nonce made the
 * redundant SA, and its creator deletes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_crypto.h"
#include "iked_rekey.h"
#include "log.h"
#include "xfrmd.pb-c.h"

#define IKED_REQ_FIRST_RETRY_MS 2000u
#define IKED_REQ_MAX_TRIES      6u
/* After TEMPORARY_FAILURE the peer is busy: wait (§2.25), 5..15 s. */
#define IKED_REKEY_BUSY_MS 5000u

/* A request of ours in flight (one per IKE SA at most, §2.3). */
struct iked_req {
    struct iked_req *next;
    struct ike_sa *sa;
    uint8_t *buf; /* as sent, for retransmissions */
    size_t len;
    struct ike_rekey_child_req rq; /* IKE_SA_REQ_CHILD_REKEY */
    struct ike_rekey_ike_req irq;  /* IKE_SA_REQ_IKE_REKEY */
    /* IKE_SA_REQ_CHILD_DELETE: the answer ends sa->child_old (its pair
     * out of the kernel) when drop_old is set. */
    bool drop_old;
};

static struct iked_req *iked_reqs;

struct iked_rekey_job {
    uv_work_t req;
    struct iked *ik;
    struct ike_sa *sa;
    struct iked_req *r;
    bool reading;       /* the response; else building the request */
    bool ike;           /* the IKE SA's rekey; else the CHILD SA's */
    struct ike_sa *nsa; /* the IKE SA rekey's result */
    uint8_t *buf;       /* the response */
    struct ike_rx rx;
    struct ike_tx tx;
    int rc;
    uint16_t notify, group;
};

static uint64_t iked_rekey_now(struct iked *ik)
{
    return uv_now(service_daemon(ik->s)->loop);
}

static struct iked_req *iked_req_of(const struct ike_sa *sa)
{
    for (struct iked_req *r = iked_reqs; r; r = r->next)
        if (r->sa == sa)
            return r;
    return NULL;
}

static void iked_req_free(struct iked_req *r)
{
    for (struct iked_req **p = &iked_reqs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    ike_exch_rekey_child_req_clear(&r->rq);
    ike_exch_rekey_ike_req_clear(&r->irq);
    free(r->buf);
    free(r);
}

static struct iked_req *iked_req_new(struct ike_sa *sa)
{
    struct iked_req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->sa = sa;
    r->next = iked_reqs;
    iked_reqs = r;
    return r;
}

void iked_rekey_forget(struct iked *ik, struct ike_sa *sa)
{
    (void)ik;
    iked_rekey_forget_answer(sa);
    struct iked_req *r = iked_req_of(sa);
    if (r)
        iked_req_free(r);
    sa->req_kind = IKE_SA_REQ_NONE;
}

/* Sends r's request for the first time (tries 1). */
static void iked_req_send(struct iked *ik, struct ike_sa *sa, struct iked_req *r, uint8_t kind,
                          uint32_t msgid)
{
    sa->req_kind = kind;
    sa->req_msgid = msgid;
    sa->req_sent_ms = iked_rekey_now(ik);
    if (!sa->req_sent_ms)
        sa->req_sent_ms = 1;
    sa->req_tries = 1;
    iked_persist_save(ik, sa); /* our message ID and IV, before it leaves */
    iked_net_send(ik, &sa->local, &sa->remote, r->buf, r->len);
}

/* Our DELETE of one CHILD SA (spi_in); drop_old: the answer takes
 * sa->child_old out of the kernel. */
static void iked_rekey_send_delete(struct iked *ik, struct ike_sa *sa, uint32_t spi_in,
                                   bool drop_old)
{
    struct iked_req *r = iked_req_new(sa);
    struct ike_tx tx = {0};
    uint32_t msgid = sa->our_next_msgid;
    if (!r || ike_exch_delete_child_request(&ik->env, sa, spi_in, &tx) < 0) {
        char d[160];
        log_err("%s: cannot build the DELETE of CHILD SA %08x; it stays until the IKE SA ends",
                ike_sa_describe(sa, d, sizeof(d)), spi_in);
        if (r)
            iked_req_free(r);
        free(tx.buf);
        return;
    }
    r->buf = tx.buf;
    r->len = tx.len;
    r->drop_old = drop_old;
    iked_req_send(ik, sa, r, IKE_SA_REQ_CHILD_DELETE, msgid);
}

/* ---- starting a CHILD SA rekey ---- */

static void iked_rekey_job_done(uv_work_t *req, int status);

static void iked_rekey_job_work(uv_work_t *req)
{
    struct iked_rekey_job *j = req->data;
    const struct ike_env *env = &j->ik->env;
    if (!j->reading) {
        j->rc = j->ike ? ike_exch_rekey_ike_request(env, j->sa, &j->r->irq, &j->tx)
                       : ike_exch_rekey_child_request(env, j->sa, &j->r->rq, &j->tx);
        return;
    }
    struct ike_msg m;
    struct ike_error err;
    if (ike_msg_parse(&m, j->rx.buf, j->rx.len, &err) != IKE_OK) {
        j->rc = -1;
        return;
    }
    if (j->ike)
        j->rc = ike_exch_rekey_ike_reply(env, j->sa, &j->r->irq, &j->rx, &m, &j->nsa, &j->notify);
    else
        j->rc =
            ike_exch_rekey_child_reply(env, j->sa, &j->r->rq, &j->rx, &m, &j->notify, &j->group);
}

static int iked_rekey_queue(struct iked *ik, struct iked_rekey_job *j)
{
    j->ik = ik;
    j->req.data = j;
    j->sa->busy = true;
    int rc = uv_queue_work(service_daemon(ik->s)->loop, &j->req, iked_rekey_job_work,
                           iked_rekey_job_done);
    if (rc) {
        j->sa->busy = false;
        return rc;
    }
    ik->jobs++;
    return 0;
}

/* Our rekey request (the IKE SA's when ike, else its CHILD SA's) built on
 * a worker; false when it could not be queued (the sweep tries again). */
static bool iked_rekey_start(struct iked *ik, struct ike_sa *sa, bool ike)
{
    struct iked_rekey_job *j = calloc(1, sizeof(*j));
    struct iked_req *r = j ? iked_req_new(sa) : NULL;
    if (!r) {
        free(j);
        return false;
    }
    j->sa = sa;
    j->r = r;
    j->ike = ike;
    if (iked_rekey_queue(ik, j) < 0) {
        iked_req_free(r);
        free(j);
        return false;
    }
    /* Claimed: nothing else may start a request now. */
    sa->req_kind = ike ? IKE_SA_REQ_IKE_REKEY : IKE_SA_REQ_CHILD_REKEY;
    sa->req_sent_ms = 0;
    return true;
}

/* The CHILD SA marked for rekeying, when the IKE SA is free for it. */
static void iked_rekey_try_child(struct iked *ik, struct ike_sa *sa, uint64_t now)
{
    if (!sa->child_rekey_spi || now < sa->child_rekey_after_ms)
        return;
    if (!sa->child || sa->child->spi_in != sa->child_rekey_spi) {
        sa->child_rekey_spi = 0; /* the peer rekeyed (or deleted) it first */
        return;
    }
    if (sa->busy || sa->state != IKE_SA_ESTABLISHED || sa->req_kind != IKE_SA_REQ_NONE ||
        sa->dpd_sent_ms || !sa->child->installed || sa->child_old || sa->child_redundant ||
        ik->stopping)
        return; /* the sweep tries again */
    if (iked_rekey_start(ik, sa, false))
        sa->child_rekey_spi = 0;
}

/* ---- the answer, carried out ---- */

static void iked_rekey_init_installed(struct iked *ik, struct ike_sa *sa, bool ok)
{
    char d[160];
    if (!sa->child_old)
        return;
    if (ok) {
        log_info("%s: CHILD SA rekeyed: in %08x out %08x; deleting in %08x out %08x",
                 ike_sa_describe(sa, d, sizeof(d)), sa->child->spi_in, sa->child->spi_out,
                 sa->child_old->spi_in, sa->child_old->spi_out);
        iked_rekey_send_delete(ik, sa, sa->child_old->spi_in, true);
        return;
    }
    /* Back to the old SA (policies too); the peer deletes its copy of the
     * new one on our DELETE. */
    log_warn("%s: the kernel refused the rekeyed CHILD SA; the old one stays",
             ike_sa_describe(sa, d, sizeof(d)));
    struct child_sa *bad = sa->child;
    sa->child = sa->child_old;
    sa->child_old = bad;
    iked_child_rekey_batch(ik, sa, NULL, NULL, bad, NULL);
    iked_rekey_send_delete(ik, sa, bad->spi_in, true);
}

static void iked_rekey_init_answer(struct iked *ik, struct ike_sa *sa, struct iked_req *r)
{
    char d[160];
    ike_sa_describe(sa, d, sizeof(d));
    struct child_sa *c = r->rq.c;
    r->rq.c = NULL;
    bool collision = sa->collision_nonce_len != 0;
    bool lost = collision && ike_exch_rekey_child_lost(sa, &r->rq);
    sa->collision_nonce_len = 0;
    iked_req_free(r);
    sa->req_kind = IKE_SA_REQ_NONE;
    if (lost) {
        /* Ours is the redundant SA: never installed here; the peer's
         * rekey stands, and the peer deletes the old SA. */
        log_info("%s: rekey collision: our new CHILD SA %08x has the lowest nonce and goes", d,
                 c->spi_in);
        iked_rekey_send_delete(ik, sa, c->spi_in, false);
        ike_crypto_wipe(c, sizeof(*c));
        free(c);
        return;
    }
    if (collision) {
        /* The peer's SA (sa->child) is the redundant one: the peer deletes
         * it; ours replaces the old SA, which we delete. */
        log_info("%s: rekey collision: the peer's new CHILD SA %08x has the lowest nonce and goes",
                 d, sa->child->spi_in);
        sa->child_redundant = sa->child;
    } else {
        sa->child_old = sa->child;
    }
    sa->child = c;
    sa->child_out_pending = false;
    if (iked_child_rekey_batch(ik, sa, c, c, NULL, iked_rekey_init_installed) != 0)
        iked_rekey_init_installed(ik, sa, false);
}

static void iked_rekey_init_refused(struct iked *ik, struct ike_sa *sa, struct iked_req *r,
                                    uint16_t notify, uint16_t group)
{
    char d[160];
    ike_sa_describe(sa, d, sizeof(d));
    uint32_t spi = r->rq.c && sa->child ? sa->child->spi_in : 0;
    iked_req_free(r);
    sa->req_kind = IKE_SA_REQ_NONE;
    sa->collision_nonce_len = 0;
    uint64_t now = iked_rekey_now(ik);
    switch (notify) {
    case IKE_N_TEMPORARY_FAILURE: {
        uint32_t rnd = 0;
        ike_crypto_random((uint8_t *)&rnd, sizeof(rnd));
        sa->child_rekey_spi = spi;
        sa->child_rekey_after_ms = now + IKED_REKEY_BUSY_MS + rnd % (2 * IKED_REKEY_BUSY_MS);
        log_info("%s: our CHILD SA rekey: TEMPORARY_FAILURE; trying again later", d);
        return;
    }
    case IKE_N_INVALID_KE_PAYLOAD:
        for (size_t i = 0; i < ik->set.n_esp && sa->child; i++)
            if (group && ik->set.esp[i].dh == group) {
                log_info("%s: our CHILD SA rekey: the peer wants group %s; again with it", d,
                         ike_transform_id_name(IKE_XF_DH, group));
                sa->child->esp.dh = group;
                sa->child_rekey_spi = spi;
                sa->child_rekey_after_ms = now;
                return;
            }
        log_warn("%s: our CHILD SA rekey: the peer wants group %s, which esp_proposals do not "
                 "have; the peer must rekey",
                 d, ike_transform_id_name(IKE_XF_DH, group));
        return;
    case IKE_N_CHILD_SA_NOT_FOUND:
        /* §2.25: the peer has no such SA; a fresh CHILD SA comes only with
         * a new connection of the device. */
        iked_sa_destroy(ik, sa, true, "the peer no longer has its CHILD SA");
        return;
    case IKE_N_NO_PROPOSAL_CHOSEN:
        /* Whether the peer wants PFS is not negotiated in IKE_AUTH: once,
         * try the other way, with a proposal of ours that says so. */
        if (sa->child && !sa->child_rekey_pfs_flipped) {
            const struct iked_esp_proposal *e = &sa->child->esp;
            for (size_t i = 0; i < ik->set.n_esp; i++) {
                const struct iked_esp_proposal *o = &ik->set.esp[i];
                if (o->encr != e->encr || o->encr_keybits != e->encr_keybits ||
                    o->integ != e->integ || o->esn != e->esn || !o->dh == !e->dh)
                    continue;
                log_info("%s: our CHILD SA rekey: NO_PROPOSAL_CHOSEN; again %s PFS", d,
                         o->dh ? "with" : "without");
                sa->child->esp.dh = o->dh;
                sa->child_rekey_pfs_flipped = true;
                sa->child_rekey_spi = spi;
                sa->child_rekey_after_ms = now;
                return;
            }
        }
        /* fall through */
    default:
        log_warn("%s: our CHILD SA rekey refused: %s; the SA stays until the peer rekeys it or "
                 "it expires",
                 d, ike_notify_name(notify));
        return;
    }
}

/* ---- the IKE SA rekey the gateway starts (ike_lifetime) ---- */

static void iked_rekey_ike_later(struct iked *ik, struct ike_sa *sa, uint64_t ms)
{
    uint32_t rnd = 0;
    ike_crypto_random((uint8_t *)&rnd, sizeof(rnd));
    sa->ike_rekey_due_ms = iked_rekey_now(ik) + ms + (ms ? rnd % (2 * ms) : 0);
}

static void iked_rekey_try_ike(struct iked *ik, struct ike_sa *sa, uint64_t now)
{
    if (sa->state != IKE_SA_ESTABLISHED)
        return;
    if (!sa->ike_rekey_due_ms) {
        /* From establishment: lifetime less margin and jitter. */
        uint64_t from = sa->established_ms ? sa->established_ms : now;
        sa->ike_rekey_due_ms = from + 1000ull * iked_rekey_soft_s(ik, ik->set.ike_lifetime_s);
    }
    if (now < sa->ike_rekey_due_ms || sa->busy || sa->req_kind != IKE_SA_REQ_NONE ||
        sa->dpd_sent_ms || sa->child_old || sa->child_redundant || ik->stopping ||
        (sa->child && !sa->child->installed))
        return;
    iked_rekey_start(ik, sa, true);
}

/* The old IKE SA's DELETE, once the new one is in the table. */
static void iked_rekey_ike_delete_old(struct iked *ik, struct ike_sa *old)
{
    struct iked_req *r = iked_req_new(old);
    struct ike_tx tx = {0};
    uint32_t msgid = old->our_next_msgid;
    if (!r || ike_exch_delete_request(&ik->env, old, &tx) < 0) {
        if (r)
            iked_req_free(r);
        free(tx.buf);
        iked_sa_destroy(ik, old, false, "rekeyed by us");
        return;
    }
    r->buf = tx.buf;
    r->len = tx.len;
    iked_req_send(ik, old, r, IKE_SA_REQ_IKE_DELETE, msgid);
}

/* Both rekeyed the IKE SA (§2.8.1): the peer's new SA (peer_new, which has
 * the CHILD SAs) and ours (nsa). The one made by the exchange with the
 * lowest nonce goes, deleted by its creator; the old SA is deleted by the
 * creator of the one that stays. */
static void iked_rekey_ike_collision(struct iked *ik, struct ike_sa *old, struct ike_sa *nsa,
                                     bool lost)
{
    char d[160];
    ike_sa_describe(old, d, sizeof(d));
    old->collision_nonce_len = 0;
    struct ike_sa *peer_new = iked_sa_table_by_spi_r(ik->sas, old->rekeyed_to);
    if (iked_sa_table_add(ik->sas, nsa) < 0) {
        log_err("%s: out of memory in an IKE SA rekey collision", d);
        ike_sa_free(nsa);
        return;
    }
    if (lost || !peer_new) {
        /* Ours is redundant (or the peer's is gone already): it has no
         * CHILD SA; we delete it. The peer deletes the old one. */
        log_info("%s: IKE SA rekey collision: ours has the lowest nonce and goes", d);
        nsa->state = IKE_SA_REKEYED;
        nsa->rekeyed_ms = iked_rekey_now(ik);
        nsa->lease_moved = true;
        iked_rekey_ike_delete_old(ik, nsa);
        iked_persist_forget(ik, nsa);
        return;
    }
    /* The peer's is redundant: ours takes the CHILD SAs, identity and
     * lease from it; the peer deletes it, we delete the old one. */
    log_info("%s: IKE SA rekey collision: the peer's has the lowest nonce and goes", d);
    nsa->child = peer_new->child;
    nsa->child_old = peer_new->child_old;
    nsa->child_out_pending = peer_new->child_out_pending;
    nsa->authz = peer_new->authz;
    peer_new->authz = NULL;
    nsa->child_rekey_spi = peer_new->child_rekey_spi;
    nsa->child_rekey_after_ms = peer_new->child_rekey_after_ms;
    peer_new->child_rekey_spi = 0;
    peer_new->child = peer_new->child_old = NULL;
    peer_new->child_out_pending = false;
    peer_new->state = IKE_SA_REKEYED;
    peer_new->rekeyed_ms = iked_rekey_now(ik);
    peer_new->lease_moved = true;
    if (peer_new->id_indexed) {
        iked_sa_table_unindex_identity(ik->sas, peer_new);
        iked_sa_table_index_identity(ik->sas, nsa);
    }
    iked_rekey_schedule_ike(ik, nsa);
    /* The tunnel lives on in nsa: a restart must find it, not the SAs
     * being retired. */
    iked_persist_forget(ik, peer_new);
    iked_persist_forget(ik, old);
    iked_persist_save(ik, nsa);
    iked_rekey_ike_delete_old(ik, old);
}

static void iked_rekey_ike_job_done(struct iked *ik, struct ike_sa *sa, struct iked_rekey_job *j)
{
    char d[160];
    ike_sa_describe(sa, d, sizeof(d));
    if (!j->reading) {
        if (j->rc < 0) {
            log_err("%s: building our IKE SA rekey failed; trying again in a minute", d);
            iked_rekey_forget(ik, sa);
            iked_rekey_ike_later(ik, sa, 60000);
            return;
        }
        j->r->buf = j->tx.buf;
        j->r->len = j->tx.len;
        j->tx.buf = NULL;
        iked_req_send(ik, sa, j->r, IKE_SA_REQ_IKE_REKEY, j->r->irq.msgid);
        return;
    }
    if (j->rc < 0)
        return; /* not the answer: retransmissions go on */
    bool lost = j->rc == 0 && sa->collision_nonce_len && ike_exch_rekey_ike_lost(sa, &j->r->irq);
    iked_rekey_forget(ik, sa);
    if (j->rc > 0) {
        if (j->notify == IKE_N_TEMPORARY_FAILURE) {
            log_info("%s: our IKE SA rekey: TEMPORARY_FAILURE; trying again later", d);
            iked_rekey_ike_later(ik, sa, IKED_REKEY_BUSY_MS);
        } else {
            log_warn("%s: our IKE SA rekey refused: %s; the device may rekey it", d,
                     ike_notify_name(j->notify));
            sa->ike_rekey_due_ms = UINT64_MAX;
        }
        return;
    }
    struct ike_sa *nsa = j->nsa;
    j->nsa = NULL;
    if (sa->collision_nonce_len) {
        iked_rekey_ike_collision(ik, sa, nsa, lost);
        return;
    }
    if (iked_rekey_ike_answered(ik, sa, nsa))
        iked_rekey_ike_delete_old(ik, sa);
}

static void iked_rekey_job_done(uv_work_t *req, int status)
{
    struct iked_rekey_job *j = req->data;
    struct iked *ik = j->ik;
    struct ike_sa *sa = j->sa;
    ik->jobs--;
    sa->busy = false;
    if (j->nsa && (status == UV_ECANCELED || sa->destroy_pending || ik->stopping)) {
        iked_rekey_ike_abandon(sa, j->nsa);
        j->nsa = NULL;
    }
    if (status == UV_ECANCELED || sa->destroy_pending || ik->stopping) {
        if (sa->destroy_pending)
            iked_sa_destroy(ik, sa, sa->destroy_notify, "terminated");
        else
            iked_rekey_forget(ik, sa);
        goto out;
    }
    if (j->ike) {
        iked_rekey_ike_job_done(ik, sa, j);
        goto out;
    }
    if (!j->reading) {
        if (j->rc < 0) {
            char d[160];
            log_err("%s: building our CHILD SA rekey failed; trying again in a minute",
                    ike_sa_describe(sa, d, sizeof(d)));
            if (sa->child) {
                sa->child_rekey_spi = sa->child->spi_in;
                sa->child_rekey_after_ms = iked_rekey_now(ik) + 60000;
            }
            iked_rekey_forget(ik, sa);
            goto out;
        }
        j->r->buf = j->tx.buf;
        j->r->len = j->tx.len;
        j->tx.buf = NULL;
        iked_req_send(ik, sa, j->r, IKE_SA_REQ_CHILD_REKEY, j->r->rq.msgid);
        goto out;
    }
    if (j->rc < 0)
        goto out; /* not the answer: keep waiting (retransmissions go on) */
    if (j->rc > 0)
        iked_rekey_init_refused(ik, sa, j->r, j->notify, j->group);
    else
        iked_rekey_init_answer(ik, sa, j->r);
out:
    free(j->tx.buf);
    free(j->buf);
    free(j);
    iked_leases_close_if_idle(ik);
}

bool iked_rekey_response(struct iked *ik, struct ike_sa *sa, const uint8_t *buf, size_t len,
                         const struct sockaddr_storage *local,
                         const struct sockaddr_storage *remote, bool natt_port)
{
    if (sa->req_kind == IKE_SA_REQ_NONE)
        return false;
    struct iked_req *r = iked_req_of(sa);
    struct ike_hdr h;
    struct ike_error err;
    if (!r || sa->req_sent_ms == 0 || ike_hdr_parse(buf, len, &h, &err) != IKE_OK ||
        h.msgid != sa->req_msgid)
        return true; /* nothing else is outstanding: drop */
    struct ike_rx rx = {.buf = buf,
                        .len = len,
                        .local = *local,
                        .remote = *remote,
                        .natt_port = natt_port,
                        .now_ms = iked_rekey_now(ik)};
    if (sa->req_kind == IKE_SA_REQ_IKE_DELETE) {
        struct ike_msg m;
        if (ike_msg_parse(&m, buf, len, &err) == IKE_OK &&
            ike_exch_response(&ik->env, sa, &rx, &m) == 0)
            iked_sa_destroy(ik, sa, false, "rekeyed by us");
        return true;
    }
    if (sa->req_kind == IKE_SA_REQ_CHILD_DELETE) {
        struct ike_msg m;
        if (ike_msg_parse(&m, buf, len, &err) != IKE_OK ||
            ike_exch_response(&ik->env, sa, &rx, &m) != 0)
            return true;
        bool drop_old = r->drop_old;
        iked_req_free(r);
        sa->req_kind = IKE_SA_REQ_NONE;
        if (drop_old && sa->child_old) {
            /* The peer no longer sends on it: its inbound SA can go. */
            sa->child_out_pending = false;
            iked_rekey_old_child_deleted(ik, sa);
        }
        return true;
    }
    if ((sa->req_kind != IKE_SA_REQ_CHILD_REKEY && sa->req_kind != IKE_SA_REQ_IKE_REKEY) ||
        h.exchange != IKE_EXCH_CREATE_CHILD_SA)
        return true;
    struct iked_rekey_job *j = calloc(1, sizeof(*j));
    uint8_t *copy = j ? malloc(len) : NULL;
    if (!copy) {
        free(j);
        return true;
    }
    memcpy(copy, buf, len);
    rx.buf = copy;
    j->buf = copy;
    j->rx = rx;
    j->sa = sa;
    j->r = r;
    j->reading = true;
    j->ike = sa->req_kind == IKE_SA_REQ_IKE_REKEY;
    if (iked_rekey_queue(ik, j) < 0) {
        free(copy);
        free(j);
    }
    return true;
}

/* ---- the sweep ---- */

void iked_rekey_schedule_ike(struct iked *ik, struct ike_sa *sa)
{
    /* A new IKE SA's lifetime starts now (the sweep would count it from
     * establishment, which is now too). */
    sa->ike_rekey_due_ms =
        iked_rekey_now(ik) + 1000ull * iked_rekey_soft_s(ik, ik->set.ike_lifetime_s);
}

bool iked_rekey_init_sweep(struct iked *ik, struct ike_sa *sa, uint64_t now_ms)
{
    if (sa->req_kind != IKE_SA_REQ_NONE && sa->req_sent_ms) {
        struct iked_req *r = iked_req_of(sa);
        unsigned n = sa->req_tries;
        uint64_t next = sa->req_sent_ms + (uint64_t)IKED_REQ_FIRST_RETRY_MS * ((1ull << n) - 1);
        if (!r || now_ms < next)
            return false;
        if (sa->req_tries >= IKED_REQ_MAX_TRIES && sa->req_kind == IKE_SA_REQ_IKE_DELETE) {
            /* The new SA carries on; this one just goes. */
            iked_sa_destroy(ik, sa, false, "rekeyed by us; its DELETE unanswered");
            return true;
        }
        if (sa->req_tries >= IKED_REQ_MAX_TRIES) {
            char why[96];
            snprintf(why, sizeof(why), "peer dead: our %s request unanswered after %u sends",
                     sa->req_kind == IKE_SA_REQ_CHILD_DELETE ? "DELETE" : "rekey",
                     (unsigned)sa->req_tries);
            ik->dpd_dead++;
            iked_sa_destroy(ik, sa, false, why);
            return true;
        }
        sa->req_tries++;
        iked_net_send(ik, &sa->local, &sa->remote, r->buf, r->len);
        return false;
    }
    iked_rekey_try_child(ik, sa, now_ms);
    iked_rekey_try_ike(ik, sa, now_ms);
    return false;
}

/* ---- xfrmd's events ---- */

struct iked_rekey_find {
    uint32_t spi;
    struct ike_sa *hit;
};

/* Which IKE SA holds the CHILD SA of a reqid (a rekeyed CHILD SA keeps its
 * reqid, and reqids are handed out in sequence): a direct-mapped cache of
 * our SPIs, so that a soft expire does not scan every tunnel. An entry is
 * a hint, checked on use; a miss or a stale entry costs one scan. */
#define IKED_REQID_HINTS 65536u
static uint64_t iked_reqid_hint[IKED_REQID_HINTS];

static bool iked_rekey_holds(const struct ike_sa *sa, uint32_t reqid, uint32_t spi)
{
    return sa && sa->child && sa->child->reqid == reqid &&
           (sa->child->spi_in == spi || sa->child->spi_out == spi);
}

static void iked_rekey_find_one(struct ike_sa *sa, void *arg)
{
    struct iked_rekey_find *f = arg;
    if (!f->hit && sa->child && (sa->child->spi_in == f->spi || sa->child->spi_out == f->spi))
        f->hit = sa;
}

void iked_rekey_xfrmd_event(struct upstream *up, const ProtobufCMessage *ev, uint32_t ev_case,
                            void *ud)
{
    struct iked *ik = ud;
    (void)up;
    if (ev_case != MGATE__XFRMD_EVENT__BODY_EXPIRE || !ik->sas || !ik->env.set)
        return;
    const Mgate__XfrmExpire *x = ((const Mgate__XfrmdEvent *)ev)->expire;
    if (!x || !x->sa)
        return;
    struct iked_rekey_find f = {.spi = x->sa->spi};
    uint64_t *hint = &iked_reqid_hint[x->reqid % IKED_REQID_HINTS];
    struct ike_sa *cached = *hint ? iked_sa_table_by_spi_r(ik->sas, *hint) : NULL;
    if (iked_rekey_holds(cached, x->reqid, x->sa->spi)) {
        f.hit = cached;
    } else {
        iked_sa_table_each(ik->sas, iked_rekey_find_one, &f);
        if (f.hit)
            *hint = ike_sa_our_spi(f.hit);
    }
    char d[160];
    if (!f.hit) {
        log_debug("kernel %s expire of SA %08x, which no current CHILD SA has: ignored",
                  x->hard ? "hard" : "soft", x->sa->spi);
        return;
    }
    struct ike_sa *sa = f.hit;
    if (x->hard) {
        /* The backstop struck: the rekey did not happen in time. */
        log_warn("%s: CHILD SA %08x reached its hard lifetime and left the kernel; the tunnel "
                 "ends",
                 ike_sa_describe(sa, d, sizeof(d)), x->sa->spi);
        /* The other SA of the pair and the policies go with the IKE SA. */
        iked_sa_destroy(ik, sa, true, "CHILD SA expired");
        return;
    }
    if (sa->child_rekey_spi == sa->child->spi_in)
        return; /* the other SA of the pair said so already */
    log_info("%s: CHILD SA %08x soft-expired: rekeying it", ike_sa_describe(sa, d, sizeof(d)),
             x->sa->spi);
    sa->child_rekey_spi = sa->child->spi_in;
    sa->child_rekey_after_ms = iked_rekey_now(ik);
    iked_rekey_try_child(ik, sa, sa->child_rekey_after_ms);
}

static void iked_rekey_catch_up_one(struct ike_sa *sa, void *arg)
{
    struct iked *ik = arg;
    const struct child_sa *c = sa->child;
    if (sa->state != IKE_SA_ESTABLISHED || !c || !c->installed || !c->installed_ms ||
        sa->child_rekey_spi || sa->child_old || !ik->set.child_lifetime_s)
        return;
    uint64_t life_ms = 1000ull * ik->set.child_lifetime_s;
    uint64_t latest_soft = c->installed_ms + life_ms - life_ms * ik->set.rekey_margin_pct / 100;
    uint64_t now = iked_rekey_now(ik);
    if (now < latest_soft)
        return; /* the kernel's soft expire is still to come */
    char d[160];
    log_info("%s: CHILD SA %08x is past its soft lifetime and its expire reached nobody: "
             "rekeying it",
             ike_sa_describe(sa, d, sizeof(d)), c->spi_in);
    /* Spread over a few seconds: after a restart many may be due at once. */
    uint32_t rnd = 0;
    ike_crypto_random((uint8_t *)&rnd, sizeof(rnd));
    sa->child_rekey_spi = c->spi_in;
    sa->child_rekey_after_ms = now + rnd % (2 * IKED_REKEY_BUSY_MS);
}

void iked_rekey_catch_up(struct iked *ik)
{
    if (ik->sas && ik->env.set && !ik->stopping)
        iked_sa_table_each(ik->sas, iked_rekey_catch_up_one, ik);
}
