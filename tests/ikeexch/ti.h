/* A small IKEv2 test initiator built on iked's own codec and crypto layer,
 * and the fixture the exchange tests share: a CA made at run time, the
 * gateway's credentials (RSA-2048 and ECDSA P-256), settings, an in-memory
 * lease pool and the ike_env the responder functions take.
 *
 * It is not an independent implementation (strongSwan is, in the interop
 * test): it checks the responder from the other side of the wire with the
 * same primitives, so both sides' derived keys and signatures must agree. */
#ifndef MGATE_TEST_IKEEXCH_TI_H
#define MGATE_TEST_IKEEXCH_TI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "ike_auth.h"
#include "ike_cert.h"
#include "ike_dh.h"
#include "ike_exchange.h"
#include "ike_keys.h"
#include "ike_payload.h"
#include "iked_conf.h"
#include "lease_pool.h"

/* ---- fixture ---------------------------------------------------------- */

struct fx_cred {
    EVP_PKEY *key;
    X509 *cert;
    uint8_t *der;
    size_t der_len;
    uint8_t *subject_der; /* DER of the subject (IDi of type DER_ASN1_DN) */
    size_t subject_der_len;
};

struct fx {
    struct fx_cred ca, other_ca, sub_ca;
    struct fx_cred gw_rsa, gw_ec;
    ike_cert_own *own_rsa, *own_ec;
    ike_cert_store *cas;
    struct iked_settings set;
    sqlite3 *db;
    struct lease_pool *pool;
    struct ike_frag_budget frag; /* env.frag: RFC 7383 on (fragment_size 0: ours never cut) */
    struct ike_env env;
};

/* Everything above; the gateway's credential in env.own is gw_ec. The
 * settings: IKE "aes128gcm16-prfsha256-ecp256", "aes256gcm16-prfsha384-curve25519",
 * "aes256-sha384-modp2048", "aes128-sha256-curve25519"; ESP "aes128gcm16",
 * "aes256gcm16", "aes256-sha384", "aes128-sha256"; pool pool_cidr; subnets
 * 10.1.0.0/16 and 192.168.50.0/24 (and 2001:db8:1::/48, never offered to
 * an IPv4 device); DNS 10.1.0.53 and 10.1.0.54. */
void fx_init(struct fx *f, const char *pool_cidr);
void fx_fini(struct fx *f);

/* A device credential issued by issuer (CN=cn, O=mgate test). */
void fx_cred_make(struct fx_cred *c, const char *kind, const char *cn, const struct fx_cred *issuer,
                  const void *tp_opts);
void fx_cred_free(struct fx_cred *c);

/* The devices the tests use: RSA-2048 (CN=device-rsa, serial 0x1001,
 * SANs device-rsa.example and dev-rsa@example.com), P-256 (CN=device-ec,
 * serial 0x1002), an expired one, one from another CA, one from the sub
 * CA (to be sent with it), and a stray key nobody certified. */
struct devs {
    struct fx_cred rsa, ec, expired, other, sub;
    EVP_PKEY *stray;
};
void devs_init(struct devs *d, const struct fx *f);
void devs_fini(struct devs *d);

/* ---- initiator -------------------------------------------------------- */

#define TI_MAX_PROPS  4
#define TI_MAX_CERTS  4
#define TI_MAX_NOTIFY 8

struct ti_auth_opts {
    const struct fx_cred *cred;                    /* key signing AUTH; cert sent first */
    const struct fx_cred *chain[TI_MAX_CERTS - 1]; /* more CERTs, e.g. an intermediate */
    size_t n_chain;
    uint8_t idi_type;     /* 0: DER_ASN1_DN of cred's subject */
    const char *idi_text; /* FQDN / RFC822 */
    bool no_cp;
    bool cp_no_addr; /* CFG_REQUEST without INTERNAL_IP4_ADDRESS */
    bool no_sa;      /* childless */
    bool no_certreq;
    bool initial_contact;
    bool no_mobike;      /* no MOBIKE_SUPPORTED (RFC 4555) */
    bool tamper_sig;     /* flip a bit in the signature */
    EVP_PKEY *sign_with; /* sign with another key than cred's */
    struct iked_esp_proposal esp[TI_MAX_PROPS];
    size_t n_esp;               /* 0: one "aes128gcm16" */
    struct ike_ts_set tsi, tsr; /* n == 0: 0.0.0.0/0 (both) */
};

struct ti_auth_result {
    uint16_t notify[TI_MAX_NOTIFY];
    size_t n_notify;
    bool has_idr, auth_ok, cert_ok, id_ok;
    uint8_t auth_method;
    size_t n_certs;
    bool has_cp;
    struct in_addr vip, netmask;
    struct in_addr dns[4];
    size_t n_dns;
    bool has_sa;
    uint32_t esp_spi_r; /* the responder's SPI (host order) */
    struct ike_sa_pl esp;
    struct ike_ts_set tsi, tsr;
    ike_child_keys child; /* the initiator's view */
};

struct ti {
    /* set before ti_sa_init */
    ike_suite props[TI_MAX_PROPS];
    size_t n_props;
    uint16_t ke_group;                        /* KE payload's group */
    struct sockaddr_storage my_addr, gw_addr; /* what NAT-D hashes */
    bool no_hash_algs;                        /* no SIGNATURE_HASH_ALGORITHMS */
    bool no_natd;
    bool no_frag;     /* no IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383) */
    bool no_gw_check; /* ti_auth_response leaves the gateway's certificate
                       * and AUTH unverified (a load generator's choice) */
    /* RFC 7296 §2.6: when cookie_len > 0, ti_sa_init sends N(COOKIE) with
     * this data as its first payload (ti_sa_init_response stores the
     * gateway's cookie here). */
    uint8_t cookie[64];
    size_t cookie_len;
    /* state */
    uint8_t spi_i[8], spi_r[8];
    ike_suite suite; /* the responder's choice */
    ike_dh *dh;
    uint8_t ni[32];
    uint8_t nr[256];
    size_t nr_len;
    uint8_t *msg1, *msg2;
    size_t msg1_len, msg2_len;
    ike_sa_keys keys;
    bool have_keys;
    uint32_t msgid; /* our next request */
    /* The gateway rekeyed the IKE SA (ti_answer_ike_rekey): we are the
     * original responder now (no Initiator flag; keys swapped in `keys`
     * so that sk_i is still what we send with). */
    bool orig_responder;
    uint32_t esp_spi;
    uint32_t peer_hash_mask;
    /* from the IKE_SA_INIT response */
    uint16_t init_notify; /* error notify, 0 if none */
    uint16_t init_notify_group;
    bool got_natd_src, got_natd_dst, natd_src_ok, natd_dst_ok;
    bool got_certreq, certreq_has_ca, got_hash_algs, got_frag, got_mobike;
};

void ti_init(struct ti *t, const char *ike_proposal);
void ti_fini(struct ti *t);

/* IKE_SA_INIT request (malloc'd). */
uint8_t *ti_sa_init(struct ti *t, size_t *len);
/* Reads the response: 0 with keys derived, 1 when it carries an error
 * notify (t->init_notify), 2 when it asks for a cookie (N(COOKIE) only:
 * stored in t->cookie, send ti_sa_init again), -1 when malformed. */
int ti_sa_init_response(struct ti *t, const struct fx *f, const uint8_t *buf, size_t len);

/* IKE_AUTH request (malloc'd). */
uint8_t *ti_auth(struct ti *t, const struct fx *f, const struct ti_auth_opts *o, size_t *len);
/* 0 when the response opened and parsed (see r), -1 otherwise. */
int ti_auth_response(struct ti *t, const struct fx *f, const uint8_t *buf, size_t len,
                     struct ti_auth_result *r);

/* A protected request of any exchange carrying `inner` payloads written by
 * fill(w, arg) (NULL: empty). */
struct ike_wr;
uint8_t *ti_request(struct ti *t, uint8_t exchange, void (*fill)(struct ike_wr *w, void *arg),
                    void *arg, size_t *len);
/* Decrypts a message from the responder (response or request) into the
 * inner chain; plain must hold len octets. 0 or -1. With `response`, the
 * message ID must be t->msgid - 1. */
int ti_open(struct ti *t, const uint8_t *buf, size_t len, bool response, struct ike_msg *m,
            uint8_t *plain);
/* A protected response of ours to the responder's request msgid. */
uint8_t *ti_response(struct ti *t, uint8_t exchange, uint32_t msgid, size_t *len);
/* The same with inner payloads written by fill(w, arg). */
uint8_t *ti_response_with(struct ti *t, uint8_t exchange, uint32_t msgid,
                          void (*fill)(struct ike_wr *w, void *arg), void *arg, size_t *len);

/* ---- RFC 7383 (ti_frag.c) --------------------------------------------- */

/* One SKF fragment with the initiator's keys (malloc'd). */
uint8_t *ti_skf(struct ti *t, uint8_t exchange, uint8_t flags, uint32_t msgid, uint16_t num,
                uint16_t total, uint8_t first, const uint8_t *plain, size_t plain_len, size_t *len);
/* A whole protected request of ours (from ti_auth, ti_request) cut into
 * fragments of `chunk` plaintext octets: their number, the fragments and
 * their lengths in malloc'd arrays (ti_frags_free). */
size_t ti_fragment(struct ti *t, const uint8_t *msg, size_t len, size_t chunk, uint8_t ***frags,
                   size_t **lens);
void ti_frags_free(uint8_t **frags, size_t *lens, size_t n);
/* The responder's fragments, back to back in buf, decrypted and put in
 * order: the inner payloads into plain, the first one's type, how many
 * fragments. 0, or -1 (not a complete, consistent, authentic set). */
int ti_unfragment(struct ti *t, const uint8_t *buf, size_t len, uint8_t *plain, size_t cap,
                  size_t *plen, uint8_t *first, size_t *n_frags);

/* ---- rekeying (ti_rekey.c) -------------------------------------------- */

/* One CREATE_CHILD_SA of the test initiator, request to response. */
struct ti_rekey {
    /* set before the request */
    struct iked_esp_proposal esp; /* CHILD: the one proposal (esp.dh: PFS) */
    uint16_t offer_dh2;           /* a second DH transform offered (0: none) */
    uint16_t ke_group;            /* the KE sent (0: none; CHILD default esp.dh) */
    ike_suite ike;                /* IKE SA rekey: the proposal */
    bool nonce_fixed;             /* our nonce is 32 octets of nonce_fill */
    uint8_t nonce_fill;
    /* state */
    uint8_t ni[32];
    ike_dh *dh;
    uint32_t my_spi;     /* CHILD: our new inbound SPI */
    uint8_t my_ike_spi[8];
    /* from the response */
    uint16_t notify; /* error notify, 0 when none */
    uint16_t notify_group;
    uint32_t notify_spi;
    uint32_t peer_spi; /* CHILD: the responder's new SPI */
    uint8_t nr[256];
    size_t nr_len;
    bool got_ke, got_ts;
    ike_child_keys keys; /* CHILD: our view of the new SA's keys */
};

/* CREATE_CHILD_SA rekeying the CHILD SA whose inbound SPI (ours) is
 * rekey_spi. malloc'd. */
uint8_t *ti_rekey_child(struct ti *t, uint32_t rekey_spi, struct ti_rekey *rk, size_t *len);
/* 0 when it opened (rk->notify, or the new SA's keys), -1 otherwise. */
int ti_rekey_child_response(struct ti *t, struct ti_rekey *rk, const uint8_t *buf, size_t len);
/* CREATE_CHILD_SA rekeying the IKE SA. malloc'd. */
uint8_t *ti_rekey_ike(struct ti *t, struct ti_rekey *rk, size_t *len);
/* 0 when it opened; without an error notify, t is the new IKE SA now
 * (SPIs, keys from SK_d of the old one, message IDs from 0). -1 otherwise. */
int ti_rekey_ike_response(struct ti *t, struct ti_rekey *rk, const uint8_t *buf, size_t len);
/* Answers the gateway's CHILD rekey request (req): our new SPI, a fresh
 * nonce (rk->nonce_fixed, rk->nonce_fill) and a KE when asked; rk->keys our view. The
 * response is malloc'd; NULL when the request does not open. */
uint8_t *ti_answer_child_rekey(struct ti *t, struct ti_rekey *rk, const uint8_t *req,
                               size_t req_len, uint32_t *rekeyed_spi, size_t *len);
/* Answers the gateway's IKE SA rekey request; t is then the new IKE SA,
 * as its original responder. The response is malloc'd; NULL when the
 * request does not open. */
uint8_t *ti_answer_ike_rekey(struct ti *t, struct ti_rekey *rk, const uint8_t *req, size_t req_len,
                             size_t *len);
void ti_rekey_clear(struct ti_rekey *rk);

/* ---- driving the responder -------------------------------------------- */

/* Parses buf as the daemon does and calls ike_exch_sa_init. */
enum ike_exch_result drive_sa_init(const struct fx *f, const struct ti *t, const uint8_t *buf,
                                   size_t len, bool natt_port, struct ike_sa **sa,
                                   struct ike_tx *tx);
/* Parses buf (from the default device address) and calls
 * ike_exch_sa_init_cookie; the answer, if any, goes to out. */
enum ike_exch_cookie drive_cookie(struct ike_cookie_jar *jar, const uint8_t *buf, size_t len,
                                  uint8_t *out, size_t cap, size_t *out_len, const char **why);
/* Parses buf and calls ike_exch_request (DROP when it does not parse). */
enum ike_exch_result drive_request(const struct fx *f, struct ike_sa *sa, const uint8_t *buf,
                                   size_t len, struct ike_tx *tx);

/* The same through ike_exch_request_ex (an IKE SA rekey gives *rekeyed). */
enum ike_exch_result drive_request_ex(const struct fx *f, struct ike_sa *sa, const uint8_t *buf,
                                      size_t len, struct ike_tx *tx, struct ike_sa **rekeyed);

/* IKE_SA_INIT + IKE_AUTH. Returns the IKE_AUTH result; *sa the responder's
 * SA (NULL if IKE_SA_INIT failed), r the initiator's reading. */
enum ike_exch_result handshake(struct fx *f, struct ti *t, const struct ti_auth_opts *o,
                               struct ike_sa **sa, struct ti_auth_result *r);

/* The rx both drivers use: gateway 192.0.2.1[500], device 198.51.100.7[500]. */
void ti_default_addrs(struct sockaddr_storage *gw, struct sockaddr_storage *dev);

bool ti_has_notify(const struct ti_auth_result *r, uint16_t type);

/* stderr capture, for the "one log line" checks. */
void cap_begin(void);
/* The text logged since cap_begin (static buffer). */
const char *cap_end(void);
unsigned count_lines(const char *s);

#endif
