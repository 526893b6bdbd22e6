/* The responder's exchanges when everything is right: IKE_SA_INIT and
 * IKE_AUTH over every suite, device and gateway key type, traffic selector
 * narrowing, the configuration payload, NAT detection, INFORMATIONAL
 * (liveness, DELETE) both ways, a rekey of an unknown CHILD SA refused, several worker
 * threads at once, and the state's size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "ike_msg_wr.h"
#include "ike_payload_wr.h"
#include "log.h"
#include "ti.h"

static struct fx F;
static struct devs D;

static int setup(void **state)
{
    (void)state;
    log_init("ikeexch", LOG_INFO);
    fx_init(&F, "10.99.0.0/24");
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

static uint32_t ip4(const char *s)
{
    struct in_addr a;
    inet_pton(AF_INET, s, &a);
    return a.s_addr;
}

static void ts_range(struct ike_ts *t, const char *lo, const char *hi, uint8_t proto,
                     uint16_t sport, uint16_t eport)
{
    memset(t, 0, sizeof(*t));
    t->type = IKE_TS_IPV4_ADDR_RANGE;
    t->ip_proto = proto;
    t->start_port = sport;
    t->end_port = eport;
    inet_pton(AF_INET, lo, t->start);
    inet_pton(AF_INET, hi, t->end);
}

static bool ts_is(const struct ike_ts *t, const char *lo, const char *hi)
{
    uint32_t a = ip4(lo), b = ip4(hi);
    return t->type == IKE_TS_IPV4_ADDR_RANGE && !memcmp(t->start, &a, 4) && !memcmp(t->end, &b, 4);
}

/* The device's end of the releases the daemon would do. */
static void end_sa(struct ike_sa *sa)
{
    if (sa && sa->vip.s_addr && sa->peer_subject)
        lease_pool_release(F.pool, sa->peer_subject);
    ike_sa_free(sa);
}

/* Both sides of a CHILD SA agree: the device's outbound keys are our
 * inbound ones and the other way round; SPIs and selectors line up. */
static void check_child(const struct ike_sa *sa, const struct ti *t, const struct ti_auth_result *r)
{
    const struct child_sa *c = sa->child;
    assert_non_null(c);
    assert_true(r->has_sa);
    assert_int_equal(c->spi_in, r->esp_spi_r);
    assert_true(c->spi_in >= 0x100);
    assert_int_equal(c->spi_out, t->esp_spi);
    assert_int_equal(c->enc_key_len, r->child.encr_len);
    assert_int_equal(c->integ_key_len, r->child.integ_len);
    assert_memory_equal(c->enc_key_in, r->child.encr_i, c->enc_key_len);
    assert_memory_equal(c->enc_key_out, r->child.encr_r, c->enc_key_len);
    if (c->integ_key_len) {
        assert_memory_equal(c->integ_key_in, r->child.integ_i, c->integ_key_len);
        assert_memory_equal(c->integ_key_out, r->child.integ_r, c->integ_key_len);
    }
    assert_memory_not_equal(c->enc_key_in, c->enc_key_out, c->enc_key_len);
    const ike_encr_info *ei = ike_crypto_encr_info(c->esp.encr, c->esp.encr_keybits);
    assert_non_null(ei);
    assert_int_equal(c->enc_key_len, ei->key_len + ei->salt_len);
    /* TSi: the virtual IP alone; TSr: both IPv4 subnets, no IPv6 one. */
    assert_int_equal(c->ts_remote.family, AF_INET);
    assert_int_equal(c->ts_remote.plen, 32);
    assert_memory_equal(c->ts_remote.addr, &sa->vip, 4);
    assert_int_equal(r->tsi.n, 1);
    assert_memory_equal(r->tsi.ts[0].start, &sa->vip, 4);
    assert_memory_equal(r->tsi.ts[0].end, &sa->vip, 4);
}

static void check_full_subnets(const struct ike_sa *sa, const struct ti_auth_result *r)
{
    assert_int_equal(sa->child->n_ts_local, 2);
    assert_int_equal(sa->child->ts_local[0].plen, 16);
    assert_int_equal(sa->child->ts_local[1].plen, 24);
    assert_int_equal(r->tsr.n, 2);
    assert_true(ts_is(&r->tsr.ts[0], "10.1.0.0", "10.1.255.255"));
    assert_true(ts_is(&r->tsr.ts[1], "192.168.50.0", "192.168.50.255"));
    assert_int_equal(r->tsr.ts[0].start_port, 0);
    assert_int_equal(r->tsr.ts[0].end_port, 65535);
}

static void check_vip(const struct ike_sa *sa, const struct ti_auth_result *r)
{
    uint32_t v = ntohl(sa->vip.s_addr);
    assert_true(r->has_cp);
    assert_int_equal(r->vip.s_addr, sa->vip.s_addr);
    assert_true(v > ntohl(ip4("10.99.0.1")) && v < ntohl(ip4("10.99.0.255")));
    assert_int_equal(r->netmask.s_addr, ip4("255.255.255.0"));
    assert_int_equal(r->n_dns, 2);
    assert_int_equal(r->dns[0].s_addr, ip4("10.1.0.53"));
    assert_int_equal(r->dns[1].s_addr, ip4("10.1.0.54"));
}

static void test_handshake_matrix(void **state)
{
    (void)state;
    static const char *const ike[] = {"aes128gcm16-prfsha256-ecp256",
                                      "aes256gcm16-prfsha384-curve25519", "aes256-sha384-modp2048",
                                      "aes128-sha256-curve25519"};
    static const char *const esp[] = {"aes128gcm16", "aes256-sha384", "aes128-sha256",
                                      "aes256gcm16"};
    const struct fx_cred *devs[] = {&D.rsa, &D.ec};
    ike_cert_own *gws[] = {F.own_ec, F.own_rsa};
    struct in_addr first_vip[2] = {{0}, {0}};
    unsigned n = 0;
    for (size_t i = 0; i < 4; i++)
        for (size_t d = 0; d < 2; d++)
            for (size_t g = 0; g < 2; g++)
                for (int hash = 0; hash < 2; hash++, n++) {
                    struct ti t;
                    struct ti_auth_result r;
                    struct ike_sa *sa = NULL;
                    struct ti_auth_opts o = {.cred = devs[d], .n_esp = 1};
                    char why[100];
                    assert_int_equal(iked_parse_esp_proposal(esp[n % 4], &o.esp[0], why, 100), 0);
                    ti_init(&t, ike[i]);
                    t.no_hash_algs = !hash;
                    F.env.own = gws[g];
                    assert_int_equal(handshake(&F, &t, &o, &sa, &r), IKE_EXCH_INSTALL);
                    /* IKE_SA_INIT */
                    assert_true(t.got_natd_src && t.natd_src_ok);
                    assert_true(t.got_natd_dst && t.natd_dst_ok);
                    assert_true(t.certreq_has_ca);
                    assert_int_equal(t.got_hash_algs, hash); /* only to who sent it */
                    assert_true(t.got_frag);                 /* RFC 7383: answered */
                    assert_false(t.got_mobike);
                    assert_false(sa->natt);
                    assert_int_equal(sa->suite.encr, t.suite.encr);
                    assert_int_equal(sa->suite.dh, t.suite.dh);
                    /* IKE_AUTH: the device accepts the gateway; it
                     * offered MOBIKE, so the answer says yes (RFC 4555). */
                    assert_int_equal(r.n_notify, 1);
                    assert_true(ti_has_notify(&r, IKE_N_MOBIKE_SUPPORTED));
                    assert_true(sa->mobike);
                    assert_true(r.has_idr && r.cert_ok && r.id_ok && r.auth_ok);
                    assert_int_equal(r.n_certs, 1); /* the CA the device named is left out */
                    if (hash)
                        assert_int_equal(r.auth_method, IKE_AUTH_DIGITAL_SIGNATURE);
                    else
                        assert_int_equal(r.auth_method,
                                         g ? IKE_AUTH_RSA_SIG : IKE_AUTH_ECDSA_SHA256_P256);
                    check_vip(sa, &r);
                    check_child(sa, &t, &r);
                    check_full_subnets(sa, &r);
                    assert_int_equal(sa->child->esp.encr, o.esp[0].encr);
                    assert_int_equal(sa->child->esp.encr_keybits, o.esp[0].encr_keybits);
                    assert_int_equal(sa->child->esp.integ, o.esp[0].integ);
                    /* The same device gets its address back every time. */
                    if (!first_vip[d].s_addr)
                        first_vip[d] = sa->vip;
                    assert_int_equal(sa->vip.s_addr, first_vip[d].s_addr);
                    /* SA state */
                    assert_int_equal(sa->state, IKE_SA_INSTALLING);
                    assert_non_null(sa->peer_subject);
                    assert_non_null(strstr(sa->peer_subject, d ? "CN=device-ec" : "CN=device-rsa"));
                    assert_string_equal(sa->peer_serial, d ? "1002" : "1001");
                    uint8_t fpr[32];
                    unsigned int fl = 0;
                    EVP_Digest(devs[d]->der, devs[d]->der_len, fpr, &fl, EVP_sha256(), NULL);
                    assert_memory_equal(sa->peer_fpr, fpr, 32);
                    assert_true(sa->peer_mobike);
                    assert_true(sa->peer_fragmentation);
                    assert_int_equal(sa->next_msgid, 2);
                    assert_int_equal(sa->last_msgid, 1);
                    assert_non_null(sa->last_resp);
                    /* IKE_AUTH material is gone, SK_d stays for rekeying */
                    assert_null(sa->init_req);
                    assert_null(sa->auth_block);
                    assert_null(sa->ni);
                    static const uint8_t zero[IKE_PRF_MAX_OUT];
                    assert_memory_equal(sa->keys.sk_pi, zero, sizeof(zero));
                    assert_memory_not_equal(sa->keys.sk_d, zero, sa->keys.prf_len);
                    end_sa(sa);
                    ti_fini(&t);
                }
    assert_int_not_equal(first_vip[0].s_addr, first_vip[1].s_addr);
    F.env.own = F.own_ec;
}

static void test_sa_init_state(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa = NULL;
    struct ike_tx tx;
    size_t len;
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    uint8_t *req = ti_sa_init(&t, &len);
    assert_int_equal(drive_sa_init(&F, &t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
    assert_non_null(sa);
    assert_int_equal(sa->state, IKE_SA_HALF_OPEN);
    assert_int_not_equal(sa->spi_r, 0);
    assert_memory_equal(&sa->spi_i, t.spi_i, 8);
    /* What IKE_AUTH needs, and the cached answer for a retransmission. */
    assert_int_equal(sa->init_req_len, len);
    assert_memory_equal(sa->init_req, req, len);
    assert_int_equal(sa->init_resp_len, tx.len);
    assert_memory_equal(sa->init_resp, tx.buf, tx.len);
    assert_int_equal(sa->ni_len, 32);
    assert_memory_equal(sa->ni, t.ni, 32);
    assert_int_equal(sa->nr_len, 32);
    assert_int_equal(sa->last_resp_len, tx.len);
    assert_memory_equal(sa->last_resp, tx.buf, tx.len);
    assert_int_equal(sa->last_msgid, 0);
    assert_int_equal(sa->next_msgid, 1);
    assert_int_equal(sa->our_next_msgid, 0);
    assert_int_equal(sa->created_ms, 1000);
    assert_int_equal(sa->peer_hash_mask, IKE_AUTH_HASH_BIT(IKE_HASH_SHA2_256) |
                                             IKE_AUTH_HASH_BIT(IKE_HASH_SHA2_384) |
                                             IKE_AUTH_HASH_BIT(IKE_HASH_SHA2_512) |
                                             IKE_AUTH_HASH_BIT(IKE_HASH_IDENTITY));
    assert_int_equal(ti_sa_init_response(&t, &F, tx.buf, tx.len), 0);
    /* Both sides derived the same IKE SA keys. */
    assert_int_equal(sa->keys.prf_len, t.keys.prf_len);
    assert_memory_equal(sa->keys.sk_d, t.keys.sk_d, t.keys.prf_len);
    assert_memory_equal(sa->keys.sk_pi, t.keys.sk_pi, t.keys.prf_len);
    assert_memory_equal(sa->keys.sk_i.encr_key, t.keys.sk_i.encr_key, t.keys.sk_i.encr_key_len);
    char d[200];
    assert_ptr_equal(ike_sa_describe(sa, d, sizeof(d)), d);
    assert_non_null(strstr(d, "198.51.100.7[500]"));
    free(req);
    free(tx.buf);
    ike_sa_free(sa);
    ti_fini(&t);
}

static void test_sub_ca_chain(void **state)
{
    (void)state;
    struct ti t;
    struct ti_auth_result r;
    struct ike_sa *sa = NULL;
    struct ti_auth_opts o = {.cred = &D.sub, .chain = {&F.sub_ca}, .n_chain = 1};
    ti_init(&t, "aes256gcm16-prfsha384-curve25519");
    assert_int_equal(handshake(&F, &t, &o, &sa, &r), IKE_EXCH_INSTALL);
    assert_true(r.auth_ok);
    check_child(sa, &t, &r);
    end_sa(sa);
    ti_fini(&t);
}

static void test_idi_fqdn_rfc822(void **state)
{
    (void)state;
    static const struct {
        uint8_t type;
        const char *text;
    } ids[] = {{IKE_ID_FQDN, "device-rsa.example"},
               {IKE_ID_FQDN, "DEVICE-RSA.example"},
               {IKE_ID_RFC822_ADDR, "dev-rsa@example.com"}};
    for (size_t i = 0; i < 3; i++) {
        struct ti t;
        struct ti_auth_result r;
        struct ike_sa *sa = NULL;
        struct ti_auth_opts o = {.cred = &D.rsa, .idi_type = ids[i].type, .idi_text = ids[i].text};
        ti_init(&t, "aes128gcm16-prfsha256-ecp256");
        assert_int_equal(handshake(&F, &t, &o, &sa, &r), IKE_EXCH_INSTALL);
        assert_true(r.auth_ok);
        end_sa(sa);
        ti_fini(&t);
    }
}

/* One handshake with the given TSi/TSr; returns the result. */
static enum ike_exch_result ts_handshake(const struct ike_ts *tsi, unsigned ni,
                                         const struct ike_ts *tsr, unsigned nr, struct ike_sa **sa,
                                         struct ti *t, struct ti_auth_result *r)
{
    struct ti_auth_opts o = {.cred = &D.ec};
    for (unsigned i = 0; i < ni; i++)
        o.tsi.ts[o.tsi.n++] = tsi[i];
    for (unsigned i = 0; i < nr; i++)
        o.tsr.ts[o.tsr.n++] = tsr[i];
    ti_init(t, "aes128gcm16-prfsha256-ecp256");
    return handshake(&F, t, &o, sa, r);
}

static void test_ts_narrowing(void **state)
{
    (void)state;
    struct ti t;
    struct ti_auth_result r;
    struct ike_sa *sa;
    struct ike_ts tsr[2];

    /* A part of one subnet: exactly that part. */
    ts_range(&tsr[0], "10.1.2.0", "10.1.2.255", 0, 0, 65535);
    assert_int_equal(ts_handshake(NULL, 0, tsr, 1, &sa, &t, &r), IKE_EXCH_INSTALL);
    assert_int_equal(r.tsr.n, 1);
    assert_true(ts_is(&r.tsr.ts[0], "10.1.2.0", "10.1.2.255"));
    assert_int_equal(sa->child->n_ts_local, 1);
    assert_int_equal(sa->child->ts_local[0].plen, 24);
    end_sa(sa);
    ti_fini(&t);

    /* A range that is no prefix: the fewest prefixes covering it. */
    ts_range(&tsr[0], "10.1.0.0", "10.1.0.10", 0, 0, 65535);
    assert_int_equal(ts_handshake(NULL, 0, tsr, 1, &sa, &t, &r), IKE_EXCH_INSTALL);
    assert_int_equal(r.tsr.n, 3);
    assert_true(ts_is(&r.tsr.ts[0], "10.1.0.0", "10.1.0.7"));
    assert_true(ts_is(&r.tsr.ts[1], "10.1.0.8", "10.1.0.9"));
    assert_true(ts_is(&r.tsr.ts[2], "10.1.0.10", "10.1.0.10"));
    end_sa(sa);
    ti_fini(&t);

    /* Wider than a subnet on one side, a host on the other. */
    ts_range(&tsr[0], "192.168.0.0", "192.168.255.255", 0, 0, 65535);
    ts_range(&tsr[1], "10.1.5.5", "10.1.5.5", 0, 0, 65535);
    assert_int_equal(ts_handshake(NULL, 0, tsr, 2, &sa, &t, &r), IKE_EXCH_INSTALL);
    assert_int_equal(r.tsr.n, 2);
    assert_true(ts_is(&r.tsr.ts[0], "10.1.5.5", "10.1.5.5"));
    assert_true(ts_is(&r.tsr.ts[1], "192.168.50.0", "192.168.50.255"));
    end_sa(sa);
    ti_fini(&t);

    /* One protocol and port: kept. */
    ts_range(&tsr[0], "0.0.0.0", "255.255.255.255", 6, 443, 443);
    assert_int_equal(ts_handshake(NULL, 0, tsr, 1, &sa, &t, &r), IKE_EXCH_INSTALL);
    assert_int_equal(r.tsr.n, 2);
    assert_int_equal(r.tsr.ts[0].ip_proto, 6);
    assert_int_equal(r.tsr.ts[0].start_port, 443);
    assert_int_equal(r.tsr.ts[0].end_port, 443);
    assert_int_equal(sa->child->ts_local[1].proto, 6);
    assert_int_equal(sa->child->ts_local[1].port, 443);
    end_sa(sa);
    ti_fini(&t);

    /* A TSi narrower than everything but still holding the address. */
    struct ike_ts tsi;
    ts_range(&tsi, "10.99.0.0", "10.99.0.255", 0, 0, 65535);
    assert_int_equal(ts_handshake(&tsi, 1, NULL, 0, &sa, &t, &r), IKE_EXCH_INSTALL);
    assert_int_equal(r.tsi.n, 1);
    assert_memory_equal(r.tsi.ts[0].start, &sa->vip, 4);
    check_full_subnets(sa, &r);
    end_sa(sa);
    ti_fini(&t);
}

static void test_childless_and_cp(void **state)
{
    (void)state;
    struct ti t;
    struct ti_auth_result r;
    struct ike_sa *sa;

    /* No SA payload: IKE SA only, the address still given. */
    struct ti_auth_opts o = {.cred = &D.ec, .no_sa = true};
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    assert_int_equal(handshake(&F, &t, &o, &sa, &r), IKE_EXCH_REPLY);
    assert_int_equal(sa->state, IKE_SA_ESTABLISHED);
    assert_int_equal(sa->established_ms, 1000);
    assert_null(sa->child);
    assert_true(r.auth_ok);
    check_vip(sa, &r);
    assert_false(r.has_sa);
    assert_int_equal(r.n_notify, 1); /* MOBIKE_SUPPORTED */
    end_sa(sa);
    ti_fini(&t);

    /* A CHILD SA without asking for an address: FAILED_CP_REQUIRED, the
     * IKE SA is up (RFC 7296 §1.2). */
    struct ti_auth_opts o2 = {.cred = &D.ec, .no_cp = true};
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    cap_begin();
    assert_int_equal(handshake(&F, &t, &o2, &sa, &r), IKE_EXCH_REPLY);
    const char *log = cap_end();
    assert_int_equal(count_lines(log), 1);
    assert_non_null(strstr(log, "FAILED_CP_REQUIRED"));
    assert_int_equal(sa->state, IKE_SA_ESTABLISHED);
    assert_null(sa->child);
    assert_true(r.auth_ok);
    assert_true(ti_has_notify(&r, IKE_N_FAILED_CP_REQUIRED));
    assert_false(r.has_sa);
    assert_false(r.has_cp);
    assert_int_equal(sa->vip.s_addr, 0);
    end_sa(sa);
    ti_fini(&t);

    struct ti_auth_opts o3 = {.cred = &D.ec, .cp_no_addr = true};
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    assert_int_equal(handshake(&F, &t, &o3, &sa, &r), IKE_EXCH_REPLY);
    assert_true(ti_has_notify(&r, IKE_N_FAILED_CP_REQUIRED));
    end_sa(sa);
    ti_fini(&t);
}

static void test_nat_detection(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa;
    struct ike_tx tx;
    size_t len;

    /* The device's own idea of its address differs: it is behind a NAT. */
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    inet_pton(AF_INET, "10.0.0.5", &((struct sockaddr_in *)&t.my_addr)->sin_addr);
    uint8_t *req = ti_sa_init(&t, &len);
    assert_int_equal(drive_sa_init(&F, &t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
    assert_true(sa->natt);
    /* Our hashes are still right for what the device sees of us. */
    assert_int_equal(ti_sa_init_response(&t, &F, tx.buf, tx.len), 0);
    assert_true(t.natd_src_ok);
    assert_false(t.natd_dst_ok); /* so the device learns of its NAT too */
    free(req);
    free(tx.buf);
    ike_sa_free(sa);
    ti_fini(&t);

    /* We are behind a NAT (the device reached another address). */
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    ((struct sockaddr_in *)&t.gw_addr)->sin_port = htons(1500);
    req = ti_sa_init(&t, &len);
    assert_int_equal(drive_sa_init(&F, &t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
    assert_true(sa->natt);
    assert_int_equal(ti_sa_init_response(&t, &F, tx.buf, tx.len), 0);
    assert_false(t.natd_src_ok);
    assert_true(t.natd_dst_ok);
    free(req);
    free(tx.buf);
    ike_sa_free(sa);
    ti_fini(&t);

    /* Came to port 4500; and no NAT detection at all. */
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    t.no_natd = true;
    req = ti_sa_init(&t, &len);
    assert_int_equal(drive_sa_init(&F, &t, req, len, true, &sa, &tx), IKE_EXCH_REPLY);
    assert_true(sa->natt);
    free(tx.buf);
    ike_sa_free(sa);
    assert_int_equal(drive_sa_init(&F, &t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
    assert_false(sa->natt);
    /* Without the peer's hashes we send none either. */
    assert_int_equal(ti_sa_init_response(&t, &F, tx.buf, tx.len), 0);
    assert_false(t.got_natd_src || t.got_natd_dst);
    free(req);
    free(tx.buf);
    ike_sa_free(sa);
    ti_fini(&t);
}

/* ---- INFORMATIONAL and friends ---- */

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

static void fill_critical(struct ike_wr *w, void *arg)
{
    (void)arg;
    ike_wr_payload(w, 200, true, "xyz", 3);
}

static void fill_child(struct ike_wr *w, void *arg)
{
    (void)arg;
    uint8_t n[32] = {1};
    ike_wr_notify(w, IKE_PROTO_ESP, IKE_N_REKEY_SA, "\x01\x02\x03\x04", 4, NULL, 0);
    ike_wr_sa_begin(w);
    ike_wr_proposal_begin(w, 1, IKE_PROTO_ESP, (const uint8_t *)"\x05\x06\x07\x08", 4);
    ike_wr_transform(w, IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128);
    ike_wr_transform(w, IKE_XF_ESN, IKE_ESN_NO, 0);
    ike_wr_proposal_end(w);
    ike_wr_sa_end(w);
    ike_wr_nonce(w, n, sizeof(n));
}

/* Sends an INFORMATIONAL (or other) request and opens the response. */
static enum ike_exch_result info(struct ti *t, struct ike_sa *sa, uint8_t exch,
                                 void (*fill)(struct ike_wr *, void *), void *arg,
                                 struct ike_msg *m, uint8_t *plain)
{
    size_t len;
    struct ike_tx tx;
    uint8_t *req = ti_request(t, exch, fill, arg, &len);
    enum ike_exch_result res = drive_request(&F, sa, req, len, &tx);
    free(req);
    if (tx.buf) {
        assert_int_equal(ti_open(t, tx.buf, tx.len, true, m, plain), 0);
        assert_int_equal(sa->last_resp_len, tx.len);
        assert_memory_equal(sa->last_resp, tx.buf, tx.len);
        assert_int_equal(sa->last_msgid, t->msgid - 1);
        assert_int_equal(sa->next_msgid, t->msgid);
    } else {
        m->inner.n = 0;
    }
    free(tx.buf);
    return res;
}

static void test_informational(void **state)
{
    (void)state;
    struct ti t;
    struct ti_auth_result r;
    struct ike_sa *sa;
    struct ike_msg m;
    static uint8_t plain[65536];
    struct ike_notify n;
    struct ike_error e;
    struct ti_auth_opts o = {.cred = &D.ec};
    ti_init(&t, "aes256-sha384-modp2048");
    assert_int_equal(handshake(&F, &t, &o, &sa, &r), IKE_EXCH_INSTALL);
    sa->state = IKE_SA_ESTABLISHED; /* the daemon, once the kernel has it */
    sa->child->installed = true;

    /* Liveness: an empty request, an empty answer. */
    assert_int_equal(info(&t, sa, IKE_EXCH_INFORMATIONAL, NULL, NULL, &m, plain), IKE_EXCH_REPLY);
    assert_int_equal(m.hdr.exchange, IKE_EXCH_INFORMATIONAL);
    assert_int_equal(m.inner.n, 0);

    /* A DELETE of an SPI we never had: ignored. */
    struct del_arg unknown = {IKE_PROTO_ESP, 0xdeadbeef};
    assert_int_equal(info(&t, sa, IKE_EXCH_INFORMATIONAL, fill_delete, &unknown, &m, plain),
                     IKE_EXCH_REPLY);
    assert_int_equal(m.inner.n, 0);

    /* An unknown critical payload inside: UNSUPPORTED_CRITICAL_PAYLOAD. */
    assert_int_equal(info(&t, sa, IKE_EXCH_INFORMATIONAL, fill_critical, NULL, &m, plain),
                     IKE_EXCH_REPLY);
    assert_non_null(ike_chain_find_notify(&m.inner, IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, &n));
    assert_int_equal(n.data.len, 1);
    assert_int_equal(n.data.ptr[0], 200);

    /* CREATE_CHILD_SA rekeying a CHILD SA nobody has: CHILD_SA_NOT_FOUND
     * naming it (§2.25); the real rekeys are in test_exch_rekey.c. */
    assert_int_equal(info(&t, sa, IKE_EXCH_CREATE_CHILD_SA, fill_child, NULL, &m, plain),
                     IKE_EXCH_REPLY);
    assert_non_null(ike_chain_find_notify(&m.inner, IKE_N_CHILD_SA_NOT_FOUND, &n));
    assert_int_equal(n.proto, IKE_PROTO_ESP);
    assert_int_equal(n.spi.len, 4);
    assert_memory_equal(n.spi.ptr, "\x01\x02\x03\x04", 4);
    assert_int_equal(m.hdr.exchange, IKE_EXCH_CREATE_CHILD_SA);

    /* An exchange type nobody knows, and IKE_AUTH again: dropped, the
     * message ID stays. */
    uint32_t next = sa->next_msgid;
    assert_int_equal(info(&t, sa, 99, NULL, NULL, &m, plain), IKE_EXCH_DROP);
    t.msgid--;
    assert_int_equal(info(&t, sa, IKE_EXCH_IKE_AUTH, NULL, NULL, &m, plain), IKE_EXCH_DROP);
    t.msgid--;
    assert_int_equal(sa->next_msgid, next);

    /* Our own liveness check: the device can read it, and its answer is
     * accepted only when authentic and for that request. */
    struct ike_tx tx;
    assert_int_equal(ike_exch_liveness_request(&F.env, sa, &tx), 0);
    assert_int_equal(ti_open(&t, tx.buf, tx.len, false, &m, plain), 0);
    assert_int_equal(m.hdr.msgid, 0);
    assert_int_equal(m.inner.n, 0);
    assert_int_equal(sa->our_next_msgid, 1);
    free(tx.buf);
    size_t len;
    struct ike_rx rx = {0};
    ti_default_addrs(&rx.local, &rx.remote);
    rx.now_ms = 5555;
    uint8_t *resp = ti_response(&t, IKE_EXCH_INFORMATIONAL, 0, &len);
    assert_int_equal(ike_msg_parse(&m, resp, len, &e), IKE_OK);
    rx.buf = resp;
    rx.len = len;
    resp[len - 1] ^= 1;
    assert_int_equal(ike_exch_response(&F.env, sa, &rx, &m), -1);
    resp[len - 1] ^= 1;
    assert_int_equal(ike_exch_response(&F.env, sa, &rx, &m), 0);
    assert_int_equal(sa->last_rx_ms, 5555);
    free(resp);
    resp = ti_response(&t, IKE_EXCH_INFORMATIONAL, 7, &len);
    assert_int_equal(ike_msg_parse(&m, resp, len, &e), IKE_OK);
    rx.buf = resp;
    rx.len = len;
    assert_int_equal(ike_exch_response(&F.env, sa, &rx, &m), -1);
    free(resp);

    /* The device deletes the CHILD SA: we answer with ours. */
    struct del_arg child = {IKE_PROTO_ESP, t.esp_spi};
    assert_int_equal(info(&t, sa, IKE_EXCH_INFORMATIONAL, fill_delete, &child, &m, plain),
                     IKE_EXCH_DELETE_CHILD);
    const struct ike_payload *dp = ike_chain_find(&m.inner, IKE_PL_DELETE, NULL);
    assert_non_null(dp);
    struct ike_delete d;
    assert_int_equal(ike_pl_delete(dp, &d, &e), IKE_OK);
    assert_int_equal(d.proto, IKE_PROTO_ESP);
    assert_int_equal(d.n_spi, 1);
    assert_int_equal(ike_delete_spi(&d, 0), sa->child->spi_in);

    /* Our DELETE of the IKE SA (SIGTERM): the device reads a D(IKE). */
    assert_int_equal(ike_exch_delete_request(&F.env, sa, &tx), 0);
    assert_int_equal(ti_open(&t, tx.buf, tx.len, false, &m, plain), 0);
    assert_int_equal(m.hdr.msgid, 1);
    dp = ike_chain_find(&m.inner, IKE_PL_DELETE, NULL);
    assert_non_null(dp);
    assert_int_equal(ike_pl_delete(dp, &d, &e), IKE_OK);
    assert_int_equal(d.proto, IKE_PROTO_IKE);
    assert_int_equal(sa->state, IKE_SA_ESTABLISHED); /* the daemon decides */
    free(tx.buf);

    /* The device deletes the IKE SA: an empty answer. */
    struct del_arg ike = {IKE_PROTO_IKE, 0};
    assert_int_equal(info(&t, sa, IKE_EXCH_INFORMATIONAL, fill_delete, &ike, &m, plain),
                     IKE_EXCH_DELETE_IKE);
    assert_int_equal(m.inner.n, 0);
    assert_int_equal(sa->state, IKE_SA_DELETING);
    end_sa(sa);
    ti_fini(&t);
}

/* ---- several workers at once ---- */

struct worker {
    pthread_t th;
    int ok;
    int rounds;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    static const char *const ike[] = {"aes128gcm16-prfsha256-ecp256",
                                      "aes256gcm16-prfsha384-curve25519"};
    for (int i = 0; i < w->rounds; i++) {
        struct ti t;
        struct ti_auth_result r;
        struct ike_sa *sa = NULL;
        struct ti_auth_opts o = {.cred = (i & 1) ? &D.ec : &D.rsa};
        ti_init(&t, ike[i & 1]);
        enum ike_exch_result res = handshake(&F, &t, &o, &sa, &r);
        bool good = res == IKE_EXCH_INSTALL && r.auth_ok && sa && sa->child &&
                    !memcmp(sa->child->enc_key_in, r.child.encr_i, r.child.encr_len) &&
                    sa->child->spi_in == r.esp_spi_r && r.vip.s_addr == sa->vip.s_addr;
        w->ok += good;
        ike_sa_free(sa);
        ti_fini(&t);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i].ok = 0;
        w[i].rounds = 12;
        assert_int_equal(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(w[i].th, NULL);
        assert_int_equal(w[i].ok, w[i].rounds);
    }
}

static void test_state_size(void **state)
{
    (void)state;
    /* design.md: under 2 KiB of IKE state per established tunnel (the
     * records; the cached last response comes on top until the next
     * request replaces it). */
    printf("sizeof(struct ike_sa) = %zu, sizeof(struct child_sa) = %zu\n", sizeof(struct ike_sa),
           sizeof(struct child_sa));
    assert_true(sizeof(struct ike_sa) + sizeof(struct child_sa) < 2048);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sa_init_state), cmocka_unit_test(test_handshake_matrix),
        cmocka_unit_test(test_sub_ca_chain),  cmocka_unit_test(test_idi_fqdn_rfc822),
        cmocka_unit_test(test_ts_narrowing),  cmocka_unit_test(test_childless_and_cp),
        cmocka_unit_test(test_nat_detection), cmocka_unit_test(test_informational),
        cmocka_unit_test(test_threads),       cmocka_unit_test(test_state_size),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
