/* Rekeying (RFC 7296 §1.3, §2.8, §2.17, §2.18, §2.25) between the test
 * initiator and the responder's exchanges: a CHILD SA rekey with and
 * without PFS (both sides' keys equal), the old SA's DELETE, an IKE SA
 * rekey (the initiator then talks on the new SA with keys it derived
 * itself), the gateway's own CHILD SA rekey, a simultaneous rekey decided
 * by the nonces both ways, and the refusals: unknown SPI, the SA being
 * deleted, a wrong KE group, an additional CHILD SA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ike_msg_wr.h"
#include "ike_payload_wr.h"
#include "log.h"
#include "ti.h"

static struct fx F;
static struct devs D;
static uint8_t plain[65536];

static int setup(void **state)
{
    (void)state;
    log_init("ikeexch", LOG_INFO);
    fx_init(&F, "10.98.0.0/24");
    devs_init(&D, &F);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    devs_fini(&D);
    fx_fini(&F);
    return 0;
}

static const struct iked_esp_proposal GCM128 = {IKE_ENCR_AES_GCM_16, 128, 0, false, 0};

/* The device's answer as the gateway receives it: rx and the parsed message. */
static void as_received(const uint8_t *resp, size_t len, struct ike_rx *rx, struct ike_msg *m)
{
    struct ike_error e;
    memset(rx, 0, sizeof(*rx));
    ti_default_addrs(&rx->local, &rx->remote);
    rx->buf = resp;
    rx->len = len;
    assert_int_equal(ike_msg_parse(m, resp, len, &e), IKE_OK);
}

/* An established IKE SA with its CHILD SA "in the kernel". */
static struct ike_sa *up(struct ti *t, struct ti_auth_result *r)
{
    struct ike_sa *sa = NULL;
    struct ti_auth_opts o = {.cred = &D.ec};
    ti_init(t, "aes128gcm16-prfsha256-ecp256");
    assert_int_equal(handshake(&F, t, &o, &sa, r), IKE_EXCH_INSTALL);
    sa->state = IKE_SA_ESTABLISHED;
    sa->child->installed = true;
    return sa;
}

static enum ike_exch_result send_rekey_child(struct ti *t, struct ike_sa *sa, uint32_t spi,
                                             struct ti_rekey *rk)
{
    size_t len;
    struct ike_tx tx;
    uint8_t *req = ti_rekey_child(t, spi, rk, &len);
    enum ike_exch_result res = drive_request(&F, sa, req, len, &tx);
    free(req);
    if (tx.buf)
        assert_int_equal(ti_rekey_child_response(t, rk, tx.buf, tx.len), 0);
    free(tx.buf);
    return res;
}

/* Both sides hold the same keys, each in its direction. */
static void assert_child_keys(const struct child_sa *c, const ike_child_keys *k, bool gw_initiated)
{
    assert_int_equal(c->enc_key_len, k->encr_len);
    assert_memory_equal(c->enc_key_in, gw_initiated ? k->encr_r : k->encr_i, k->encr_len);
    assert_memory_equal(c->enc_key_out, gw_initiated ? k->encr_i : k->encr_r, k->encr_len);
    assert_int_equal(c->integ_key_len, k->integ_len);
    if (k->integ_len) {
        assert_memory_equal(c->integ_key_in, gw_initiated ? k->integ_r : k->integ_i, k->integ_len);
        assert_memory_equal(c->integ_key_out, gw_initiated ? k->integ_i : k->integ_r, k->integ_len);
    }
}

struct del_arg {
    uint8_t proto;
    uint32_t spi;
};

static void fill_delete(struct ike_wr *w, void *arg)
{
    const struct del_arg *a = arg;
    ike_wr_delete(w, a->proto, a->proto == IKE_PROTO_IKE ? NULL : &a->spi,
                  a->proto == IKE_PROTO_IKE ? 0 : 1);
}

/* An INFORMATIONAL with a DELETE; the answer's DELETE SPI (0: none). */
static enum ike_exch_result send_delete(struct ti *t, struct ike_sa *sa, uint8_t proto,
                                        uint32_t spi, uint32_t *answer_spi)
{
    size_t len;
    struct ike_tx tx;
    struct ike_msg m;
    struct del_arg a = {proto, spi};
    uint8_t *req = ti_request(t, IKE_EXCH_INFORMATIONAL, fill_delete, &a, &len);
    enum ike_exch_result res = drive_request(&F, sa, req, len, &tx);
    free(req);
    *answer_spi = 0;
    if (tx.buf) {
        assert_int_equal(ti_open(t, tx.buf, tx.len, true, &m, plain), 0);
        const struct ike_payload *pl = ike_chain_find(&m.inner, IKE_PL_DELETE, NULL);
        struct ike_delete d;
        struct ike_error e;
        if (pl && ike_pl_delete(pl, &d, &e) == IKE_OK && d.n_spi == 1)
            *answer_spi = ike_delete_spi(&d, 0);
    }
    free(tx.buf);
    return res;
}

static void child_rekey(bool pfs)
{
    struct ti t;
    struct ti_auth_result r;
    struct ike_sa *sa = up(&t, &r);
    const struct iked_esp_proposal saved = F.set.esp[0];
    if (pfs)
        F.set.esp[0].dh = IKE_DH_ECP_256; /* "aes128gcm16-ecp256" */
    uint32_t old_in = sa->child->spi_in, old_out = sa->child->spi_out;
    assert_int_equal(old_out, t.esp_spi);

    struct ti_rekey rk = {.esp = GCM128};
    rk.esp.dh = pfs ? IKE_DH_ECP_256 : 0;
    assert_int_equal(send_rekey_child(&t, sa, t.esp_spi, &rk), IKE_EXCH_REKEY_CHILD);
    assert_int_equal(rk.notify, 0);
    assert_int_equal(rk.got_ke, pfs);
    assert_true(rk.got_ts);
    /* The new SA: new SPIs both ways, the same narrowed selectors, keys
     * equal to the initiator's (which used g^ir with PFS). */
    assert_non_null(sa->child_old);
    assert_int_equal(sa->child_old->spi_in, old_in);
    assert_int_equal(sa->child->spi_out, rk.my_spi);
    assert_int_equal(sa->child->spi_in, rk.peer_spi);
    assert_int_not_equal(sa->child->spi_in, old_in);
    assert_int_equal(sa->child->ts_remote.plen, 32);
    assert_memory_equal(&sa->child->ts_remote, &sa->child_old->ts_remote,
                        sizeof(sa->child->ts_remote));
    assert_int_equal(sa->child->n_ts_local, sa->child_old->n_ts_local);
    assert_true(sa->child_out_pending);
    assert_child_keys(sa->child, &rk.keys, false);
    sa->child->installed = true;

    /* Before the old SA is deleted, rekeying it again: TEMPORARY_FAILURE
     * (§2.25.1); rekeying the new one too (one rekey at a time). */
    struct ti_rekey again = {.esp = GCM128};
    again.esp.dh = rk.esp.dh;
    assert_int_equal(send_rekey_child(&t, sa, old_out, &again), IKE_EXCH_REPLY);
    assert_int_equal(again.notify, IKE_N_TEMPORARY_FAILURE);
    ti_rekey_clear(&again);

    /* The device deletes the old SA: the answer names our old inbound SPI. */
    uint32_t ans = 0;
    assert_int_equal(send_delete(&t, sa, IKE_PROTO_ESP, old_out, &ans), IKE_EXCH_DELETE_OLD_CHILD);
    assert_int_equal(ans, old_in);
    /* (the daemon then drops child_old; here by hand) */
    ike_crypto_wipe(sa->child_old, sizeof(*sa->child_old));
    free(sa->child_old);
    sa->child_old = NULL;
    sa->child_out_pending = false;

    /* A rekey of the deleted SA: CHILD_SA_NOT_FOUND with its SPI. */
    struct ti_rekey gone = {.esp = GCM128};
    gone.esp.dh = rk.esp.dh;
    assert_int_equal(send_rekey_child(&t, sa, old_out, &gone), IKE_EXCH_REPLY);
    assert_int_equal(gone.notify, IKE_N_CHILD_SA_NOT_FOUND);
    assert_int_equal(gone.notify_spi, old_out);
    ti_rekey_clear(&gone);

    /* The new SA rekeys again like the first. */
    struct ti_rekey next = {.esp = GCM128};
    next.esp.dh = rk.esp.dh;
    assert_int_equal(send_rekey_child(&t, sa, rk.my_spi, &next), IKE_EXCH_REKEY_CHILD);
    assert_child_keys(sa->child, &next.keys, false);
    ti_rekey_clear(&next);
    ti_rekey_clear(&rk);
    F.set.esp[0] = saved;
    ike_sa_free(sa);
    ti_fini(&t);
}

static void test_child_rekey(void **state)
{
    (void)state;
    child_rekey(false);
}

static void test_child_rekey_pfs(void **state)
{
    (void)state;
    child_rekey(true);
}

static void fill_additional(struct ike_wr *w, void *arg)
{
    (void)arg;
    uint8_t nonce[32] = {7};
    ike_wr_sa_begin(w);
    ike_wr_proposal_begin(w, 1, IKE_PROTO_ESP, (const uint8_t *)"\x0a\x0b\x0c\x0d", 4);
    ike_wr_transform(w, IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128);
    ike_wr_transform(w, IKE_XF_ESN, IKE_ESN_NO, 0);
    ike_wr_proposal_end(w);
    ike_wr_sa_end(w);
    ike_wr_nonce(w, nonce, sizeof(nonce));
}

static void test_child_rekey_bad(void **state)
{
    (void)state;
    struct ti t;
    struct ti_auth_result r;
    struct ike_sa *sa = up(&t, &r);
    const struct iked_esp_proposal saved = F.set.esp[0];
    F.set.esp[0].dh = IKE_DH_ECP_256;
    uint32_t in = sa->child->spi_in;

    /* Our group offered, a KE of another: INVALID_KE_PAYLOAD naming ours. */
    struct ti_rekey rk = {.esp = GCM128, .offer_dh2 = IKE_DH_ECP_256};
    rk.esp.dh = IKE_DH_CURVE25519;
    assert_int_equal(send_rekey_child(&t, sa, t.esp_spi, &rk), IKE_EXCH_REPLY);
    assert_int_equal(rk.notify, IKE_N_INVALID_KE_PAYLOAD);
    assert_int_equal(rk.notify_group, IKE_DH_ECP_256);
    ti_rekey_clear(&rk);
    /* Only a group not configured: NO_PROPOSAL_CHOSEN (aes128gcm16
     * without PFS is configured too, but a KE of a group we do not take
     * with it is no match for "no group"). */
    struct ti_rekey other = {.esp = GCM128};
    other.esp.dh = IKE_DH_CURVE25519;
    assert_int_equal(send_rekey_child(&t, sa, t.esp_spi, &other), IKE_EXCH_REPLY);
    assert_int_equal(other.notify, IKE_N_NO_PROPOSAL_CHOSEN);
    ti_rekey_clear(&other);
    /* Nothing changed. */
    assert_null(sa->child_old);
    assert_int_equal(sa->child->spi_in, in);

    /* A CREATE_CHILD_SA that is no rekey: NO_ADDITIONAL_SAS. */
    size_t len;
    struct ike_tx tx;
    struct ike_msg m;
    struct ike_notify n;
    uint8_t *req = ti_request(&t, IKE_EXCH_CREATE_CHILD_SA, fill_additional, NULL, &len);
    assert_int_equal(drive_request(&F, sa, req, len, &tx), IKE_EXCH_REPLY);
    free(req);
    assert_int_equal(ti_open(&t, tx.buf, tx.len, true, &m, plain), 0);
    assert_non_null(ike_chain_find_notify(&m.inner, IKE_N_NO_ADDITIONAL_SAS, &n));
    free(tx.buf);
    F.set.esp[0] = saved;

    ike_sa_free(sa);
    ti_fini(&t);
}

static void test_ike_rekey(void **state)
{
    (void)state;
    struct ti t;
    struct ti_auth_result r;
    struct ike_sa *sa = up(&t, &r);
    struct ti old = t; /* the old SA's view, for its DELETE */
    struct child_sa *child = sa->child;
    struct in_addr vip = sa->vip;

    /* A KE of a group the chosen proposal does not have. */
    struct ti_rekey bad = {.ike = t.suite, .offer_dh2 = IKE_DH_CURVE25519};
    bad.ke_group = IKE_DH_CURVE25519;
    size_t len;
    struct ike_tx tx;
    struct ike_sa *nsa = NULL;
    uint8_t *req = ti_rekey_ike(&t, &bad, &len);
    assert_int_equal(drive_request_ex(&F, sa, req, len, &tx, &nsa), IKE_EXCH_REPLY);
    free(req);
    assert_null(nsa);
    assert_int_equal(ti_rekey_ike_response(&t, &bad, tx.buf, tx.len), 0);
    assert_int_equal(bad.notify, IKE_N_INVALID_KE_PAYLOAD);
    assert_int_equal(bad.notify_group, IKE_DH_ECP_256);
    free(tx.buf);
    ti_rekey_clear(&bad);

    /* The rekey: the initiator derives the new keys on its own. */
    struct ti_rekey rk = {.ike = t.suite};
    req = ti_rekey_ike(&t, &rk, &len);
    old.msgid = t.msgid;
    /* A CHILD rekey the kernel's soft expire asked for, still to start. */
    sa->child_rekey_spi = child->spi_in;
    sa->child_rekey_after_ms = 1234;
    assert_int_equal(drive_request_ex(&F, sa, req, len, &tx, &nsa), IKE_EXCH_REKEY_IKE);
    free(req);
    assert_non_null(nsa);
    assert_int_equal(ti_rekey_ike_response(&t, &rk, tx.buf, tx.len), 0);
    assert_int_equal(rk.notify, 0);
    free(tx.buf);
    ti_rekey_clear(&rk);
    assert_memory_equal(&nsa->spi_i, t.spi_i, 8);
    assert_memory_equal(&nsa->spi_r, t.spi_r, 8);
    /* The CHILD SA, the lease and the identity moved. */
    assert_ptr_equal(nsa->child, child);
    assert_null(sa->child);
    /* ... and the CHILD rekey it was due for goes with it. */
    assert_int_equal(nsa->child_rekey_spi, child->spi_in);
    assert_true(nsa->child_rekey_after_ms == 1234);
    assert_int_equal(sa->child_rekey_spi, 0);
    assert_int_equal(nsa->vip.s_addr, vip.s_addr);
    assert_string_equal(nsa->peer_subject, sa->peer_subject);
    assert_int_equal(sa->state, IKE_SA_REKEYED);
    assert_true(sa->lease_moved);
    assert_int_equal(nsa->state, IKE_SA_ESTABLISHED);

    /* On the new SA: a liveness check (message 0) whose answer the
     * initiator decrypts with the keys it derived. */
    struct ike_msg m;
    req = ti_request(&t, IKE_EXCH_INFORMATIONAL, NULL, NULL, &len);
    assert_int_equal(drive_request(&F, nsa, req, len, &tx), IKE_EXCH_REPLY);
    free(req);
    assert_int_equal(ti_open(&t, tx.buf, tx.len, true, &m, plain), 0);
    free(tx.buf);
    /* The CHILD SA rekeys on the new IKE SA: keys from the new SK_d. */
    struct ti_rekey crk = {.esp = GCM128};
    assert_int_equal(send_rekey_child(&t, nsa, t.esp_spi, &crk), IKE_EXCH_REKEY_CHILD);
    assert_child_keys(nsa->child, &crk.keys, false);
    ti_rekey_clear(&crk);

    /* The old SA ends with the device's DELETE on it (old keys). */
    uint32_t ans;
    assert_int_equal(send_delete(&old, sa, IKE_PROTO_IKE, 0, &ans), IKE_EXCH_DELETE_IKE);
    /* A rekey on a rekeyed SA: nothing to rekey there. */
    ike_sa_free(sa);
    ike_sa_free(nsa);
    ti_fini(&t);
}

/* The gateway rekeys the IKE SA: it becomes the new SA's original
 * initiator; both directions then work with the keys each side derived. */
static void test_gateway_ike_rekey(void **state)
{
    (void)state;
    struct ti t;
    struct ti_auth_result r;
    struct ike_sa *sa = up(&t, &r);
    struct child_sa *child = sa->child;
    struct ike_rekey_ike_req irq;
    struct ike_tx tx;
    assert_int_equal(ike_exch_rekey_ike_request(&F.env, sa, &irq, &tx), 0);
    sa->req_kind = IKE_SA_REQ_IKE_REKEY;
    struct ti_rekey rk = {0};
    size_t len;
    uint8_t *resp = ti_answer_ike_rekey(&t, &rk, tx.buf, tx.len, &len);
    free(tx.buf);
    assert_non_null(resp);

    struct ike_rx rx;
    struct ike_msg m;
    as_received(resp, len, &rx, &m);
    struct ike_sa *nsa = NULL;
    uint16_t notify = 0;
    assert_int_equal(ike_exch_rekey_ike_reply(&F.env, sa, &irq, &rx, &m, &nsa, &notify), 0);
    free(resp);
    assert_non_null(nsa);
    assert_true(nsa->we_initiator);
    assert_memory_equal(&nsa->spi_i, &irq.spi_i, 8);
    assert_memory_equal(&nsa->spi_i, t.spi_i, 8);
    assert_memory_equal(&nsa->spi_r, t.spi_r, 8);
    assert_int_equal(ike_sa_our_spi(nsa), nsa->spi_i);
    assert_ptr_equal(nsa->child, child);
    assert_int_equal(sa->state, IKE_SA_REKEYED);
    ike_exch_rekey_ike_req_clear(&irq);

    /* The device's request on the new SA (no Initiator flag now) and the
     * gateway's answer (with it). */
    uint8_t *req = ti_request(&t, IKE_EXCH_INFORMATIONAL, NULL, NULL, &len);
    assert_int_equal(drive_request(&F, nsa, req, len, &tx), IKE_EXCH_REPLY);
    free(req);
    assert_int_equal(ti_open(&t, tx.buf, tx.len, true, &m, plain), 0);
    assert_int_equal(m.hdr.flags, IKE_FLAG_RESPONSE | IKE_FLAG_INITIATOR);
    free(tx.buf);
    /* The gateway's liveness check on it, answered by the device. */
    assert_int_equal(ike_exch_liveness_request(&F.env, nsa, &tx), 0);
    assert_int_equal(ti_open(&t, tx.buf, tx.len, false, &m, plain), 0);
    uint32_t id = m.hdr.msgid;
    free(tx.buf);
    resp = ti_response(&t, IKE_EXCH_INFORMATIONAL, id, &len);
    as_received(resp, len, &rx, &m);
    assert_int_equal(ike_exch_response(&F.env, nsa, &rx, &m), 0);
    free(resp);
    /* A CHILD SA rekey by the device on it: keys from the new SK_d. */
    struct ti_rekey crk = {.esp = GCM128};
    assert_int_equal(send_rekey_child(&t, nsa, t.esp_spi, &crk), IKE_EXCH_REKEY_CHILD);
    assert_child_keys(nsa->child, &crk.keys, false);
    ti_rekey_clear(&crk);
    ti_rekey_clear(&rk);
    ike_sa_free(sa);
    ike_sa_free(nsa);
    ti_fini(&t);
}

/* Both rekey the IKE SA at once (§2.8.1): the device's request reaches
 * the gateway while the gateway's is out; both exchanges complete, and the
 * nonces say whose new SA goes. our_low: the gateway's exchange has the
 * lowest nonce (its new SA is the redundant one). */
static void ike_collision(bool our_low)
{
    struct ti t;
    struct ti_auth_result r;
    struct ike_sa *sa = up(&t, &r);
    struct child_sa *child = sa->child;
    struct ike_rekey_ike_req irq;
    struct ike_tx gw_req, tx;
    assert_int_equal(ike_exch_rekey_ike_request(&F.env, sa, &irq, &gw_req), 0);
    sa->req_kind = IKE_SA_REQ_IKE_REKEY;

    /* The device's own rekey, answered as usual. */
    struct ti old = t; /* the old SA as the device sees it */
    struct ti_rekey mine = {.ike = t.suite, .nonce_fixed = true, .nonce_fill = our_low ? 0xff : 0};
    size_t len;
    uint8_t *req = ti_rekey_ike(&t, &mine, &len);
    old.msgid = t.msgid;
    struct ike_sa *peer_new = NULL;
    assert_int_equal(drive_request_ex(&F, sa, req, len, &tx, &peer_new), IKE_EXCH_REKEY_IKE);
    free(req);
    assert_non_null(peer_new);
    assert_int_equal(sa->collision_nonce_len, 32);
    assert_ptr_equal(peer_new->child, child);
    assert_int_equal(ti_rekey_ike_response(&t, &mine, tx.buf, tx.len), 0);
    free(tx.buf);

    /* The device answers the gateway's request on the old SA. */
    struct ti_rekey ans = {.nonce_fixed = true, .nonce_fill = our_low ? 0 : 0xff};
    uint8_t *resp = ti_answer_ike_rekey(&old, &ans, gw_req.buf, gw_req.len, &len);
    free(gw_req.buf);
    assert_non_null(resp);
    struct ike_rx rx;
    struct ike_msg m;
    as_received(resp, len, &rx, &m);
    struct ike_sa *ours = NULL;
    uint16_t notify = 0;
    assert_int_equal(ike_exch_rekey_ike_reply(&F.env, sa, &irq, &rx, &m, &ours, &notify), 0);
    free(resp);
    assert_non_null(ours);
    assert_true(ours->we_initiator);
    assert_null(ours->child); /* the CHILD SA went to the peer's new SA first */
    assert_int_equal(ike_exch_rekey_ike_lost(sa, &irq), our_low);

    ike_exch_rekey_ike_req_clear(&irq);
    ti_rekey_clear(&mine);
    ti_rekey_clear(&ans);
    ike_keys_wipe(&old.keys);
    ike_sa_free(ours);
    ike_sa_free(peer_new);
    ike_sa_free(sa);
    ti_fini(&t);
}

static void test_ike_collision(void **state)
{
    (void)state;
    ike_collision(true);
    ike_collision(false);
}

/* The gateway rekeys; the initiator answers. With a collision, the
 * initiator's own rekey of the same SA arrives first. */
static void gateway_rekey(bool pfs, int collision)
{
    struct ti t;
    struct ti_auth_result r;
    struct ike_sa *sa = up(&t, &r);
    uint32_t old_in = sa->child->spi_in;
    if (pfs)
        sa->child->esp.dh = IKE_DH_CURVE25519;
    struct ike_rekey_child_req rq;
    struct ike_tx tx;
    assert_int_equal(ike_exch_rekey_child_request(&F.env, sa, &rq, &tx), 0);
    sa->req_kind = IKE_SA_REQ_CHILD_REKEY; /* the daemon's part */
    assert_int_equal(rq.msgid, 0);
    assert_int_equal(sa->our_next_msgid, 1);

    struct ti_rekey mine = {.esp = GCM128};
    if (collision) {
        /* collision 1: our nonce the lowest (the gateway's SA survives);
         * collision 2: the highest (the gateway's SA is the redundant). */
        const struct iked_esp_proposal saved = F.set.esp[0];
        if (pfs) {
            F.set.esp[0].dh = IKE_DH_CURVE25519;
            mine.esp.dh = IKE_DH_CURVE25519;
        }
        mine.nonce_fixed = true;
        mine.nonce_fill = collision == 1 ? 0x00 : 0xff;
        assert_int_equal(send_rekey_child(&t, sa, t.esp_spi, &mine), IKE_EXCH_REKEY_CHILD);
        F.set.esp[0] = saved;
        assert_int_equal(sa->collision_nonce_len, 32);
        if (collision == 1)
            assert_memory_equal(sa->collision_nonce, mine.ni, 32); /* all zero: the lowest */
        sa->child->installed = true;
    }

    struct ti_rekey ans = {.nonce_fixed = collision != 0,
                           .nonce_fill = collision == 1 ? 0xff : 0x00};
    uint32_t rekeyed = 0;
    size_t len;
    uint8_t *resp = ti_answer_child_rekey(&t, &ans, tx.buf, tx.len, &rekeyed, &len);
    free(tx.buf);
    assert_non_null(resp);
    assert_int_equal(rekeyed, old_in); /* REKEY_SA names the gateway's inbound SPI */
    assert_int_equal(ans.got_ke, pfs);

    struct ike_rx rx;
    struct ike_msg m;
    as_received(resp, len, &rx, &m);
    uint16_t notify = 0, group = 0;
    assert_int_equal(ike_exch_rekey_child_reply(&F.env, sa, &rq, &rx, &m, &notify, &group), 0);
    free(resp);
    assert_int_equal(rq.c->spi_out, ans.my_spi);
    assert_int_equal(rq.c->spi_in, ans.peer_spi);
    assert_child_keys(rq.c, &ans.keys, true);
    if (collision)
        assert_int_equal(ike_exch_rekey_child_lost(sa, &rq), collision == 2);

    /* The DELETE of the old SA that ends the gateway's rekey. */
    assert_int_equal(ike_exch_delete_child_request(&F.env, sa, old_in, &tx), 0);
    assert_int_equal(ti_open(&t, tx.buf, tx.len, false, &m, plain), 0);
    assert_int_equal(m.hdr.msgid, 1);
    const struct ike_payload *pl = ike_chain_find(&m.inner, IKE_PL_DELETE, NULL);
    struct ike_delete d;
    struct ike_error e;
    assert_non_null(pl);
    assert_int_equal(ike_pl_delete(pl, &d, &e), IKE_OK);
    assert_int_equal(ike_delete_spi(&d, 0), old_in);
    free(tx.buf);

    ti_rekey_clear(&mine);
    ti_rekey_clear(&ans);
    ike_exch_rekey_child_req_clear(&rq);
    ike_sa_free(sa);
    ti_fini(&t);
}

static void test_gateway_rekey(void **state)
{
    (void)state;
    gateway_rekey(false, 0);
    gateway_rekey(true, 0);
}

static void test_collision(void **state)
{
    (void)state;
    gateway_rekey(false, 1);
    gateway_rekey(false, 2);
    gateway_rekey(true, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_rekey),       cmocka_unit_test(test_child_rekey_pfs),
        cmocka_unit_test(test_child_rekey_bad),   cmocka_unit_test(test_ike_rekey),
        cmocka_unit_test(test_gateway_rekey),     cmocka_unit_test(test_collision),
        cmocka_unit_test(test_gateway_ike_rekey), cmocka_unit_test(test_ike_collision),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
