/* Certificates: chains from an RSA-2048 and a P-256 CA, expired / other CA
 * / no digitalSignature / revoked / malformed rejected with distinct
 * errors, identity extraction and ID checks, CERTREQ hashes, PEM loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ike_cert.h"
#include "testpki.h"

static EVP_PKEY *rsa_ca_key, *ec_ca_key, *inter_key, *ee_key, *ee2_key, *rogue_key;
static X509 *rsa_ca, *ec_ca, *inter, *rogue_ca;
static ike_cert_store *store;
static char dir[64];

static int setup(void **state)
{
    (void)state;
    if (ike_crypto_init() != IKE_CRYPTO_OK)
        return -1;
    rsa_ca_key = tp_key("rsa2048");
    ec_ca_key = tp_key("p256");
    inter_key = tp_key("p256");
    ee_key = tp_key("p256");
    ee2_key = tp_key("rsa2048");
    rogue_key = tp_key("p256");
    struct tp_cert_opts ca = {.ca = true, .not_before = -86400, .not_after = 86400 * 365};
    rsa_ca = tp_cert(rsa_ca_key, "RSA Root", NULL, NULL, &ca);
    ec_ca = tp_cert(ec_ca_key, "EC Root", NULL, NULL, &ca);
    inter = tp_cert(inter_key, "EC Intermediate", ec_ca, ec_ca_key, &ca);
    rogue_ca = tp_cert(rogue_key, "RSA Root", NULL, NULL, &ca); /* same name, other key */
    if (ike_cert_store_new(&store) != IKE_CRYPTO_OK ||
        ike_cert_store_add_ca(store, rsa_ca) != IKE_CRYPTO_OK ||
        ike_cert_store_add_ca(store, ec_ca) != IKE_CRYPTO_OK)
        return -1;
    snprintf(dir, sizeof(dir), "/tmp/ikecrypto-cert-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static void rm(const char *name)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    unlink(p);
}

static int teardown(void **state)
{
    (void)state;
    ike_cert_store_free(store);
    X509_free(rsa_ca);
    X509_free(ec_ca);
    X509_free(inter);
    X509_free(rogue_ca);
    EVP_PKEY *k[] = {rsa_ca_key, ec_ca_key, inter_key, ee_key, ee2_key, rogue_key};
    for (size_t i = 0; i < 6; i++)
        EVP_PKEY_free(k[i]);
    rm("chain.pem");
    rm("key.pem");
    rm("other.pem");
    rm("crl.pem");
    rmdir(dir);
    return 0;
}

/* Verifies [ee, extra...] and returns the error, freeing everything. */
static ike_crypto_err verify(X509 *ee, X509 *extra, ike_cert_peer **out, char *detail)
{
    size_t l0 = 0, l1 = 0;
    uint8_t *d0 = tp_der(ee, &l0), *d1 = extra ? tp_der(extra, &l1) : NULL;
    ike_span s[2] = {{d0, l0}, {d1, l1}};
    ike_cert_peer *peer = NULL;
    ike_crypto_err err = ike_cert_verify(store, s, extra ? 2 : 1, 0, &peer, detail, 200);
    OPENSSL_free(d0);
    OPENSSL_free(d1);
    if (out)
        *out = peer;
    else
        ike_cert_peer_free(peer);
    return err;
}

static void test_valid_chains(void **state)
{
    (void)state;
    struct tp_cert_opts o = {.not_before = -60,
                             .not_after = 3600,
                             .san_dns = "Dev42.Example.COM",
                             .san_email = "dev42@example.com",
                             .san_ip = "192.0.2.7",
                             .serial = 0x1a2b3c};
    X509 *ee = tp_cert(ee_key, "dev42", rsa_ca, rsa_ca_key, &o);
    ike_cert_peer *peer = NULL;
    char detail[200];
    assert_int_equal(verify(ee, NULL, &peer, detail), IKE_CRYPTO_OK);

    /* Identity. */
    char text[200], serial[64];
    ike_cert_peer_subject_text(peer, text, sizeof(text));
    assert_string_equal(text, "CN=dev42,O=mgate test");
    ike_cert_peer_serial_hex(peer, serial, sizeof(serial));
    assert_string_equal(serial, "1A2B3C");
    size_t dl = 0;
    uint8_t *der = tp_der(ee, &dl), fp[32];
    unsigned int fl;
    EVP_Digest(der, dl, fp, &fl, EVP_sha256(), NULL);
    assert_memory_equal(ike_cert_peer_fingerprint(peer), fp, 32);
    OPENSSL_free(der);
    assert_int_equal(ike_cert_peer_san_count(peer), 3);
    enum ike_cert_san_type t;
    const uint8_t *d;
    size_t l;
    assert_true(ike_cert_peer_san(peer, 2, &t, &d, &l));
    assert_int_equal(t, IKE_SAN_IP);
    assert_int_equal(l, 4);
    assert_false(ike_cert_peer_san(peer, 3, &t, &d, &l));
    assert_true(EVP_PKEY_eq(ike_cert_peer_key(peer), ee_key) == 1);

    /* ID checks. */
    size_t sl = 0;
    const uint8_t *subj = ike_cert_peer_subject_der(peer, &sl);
    assert_int_equal(ike_cert_peer_check_id(peer, IKE_ID_DER_ASN1_DN, subj, sl), IKE_CRYPTO_OK);
    const char *fqdn = "dev42.example.com";
    assert_int_equal(ike_cert_peer_check_id(peer, IKE_ID_FQDN, (const uint8_t *)fqdn, strlen(fqdn)),
                     IKE_CRYPTO_OK);
    const char *bad = "dev43.example.com";
    assert_int_equal(ike_cert_peer_check_id(peer, IKE_ID_FQDN, (const uint8_t *)bad, strlen(bad)),
                     IKE_CRYPTO_ERR_ID_MISMATCH);
    const char *mail = "dev42@example.com";
    assert_int_equal(
        ike_cert_peer_check_id(peer, IKE_ID_RFC822_ADDR, (const uint8_t *)mail, strlen(mail)),
        IKE_CRYPTO_OK);
    /* The e-mail is not an FQDN, the FQDN not an e-mail. */
    assert_int_equal(ike_cert_peer_check_id(peer, IKE_ID_FQDN, (const uint8_t *)mail, strlen(mail)),
                     IKE_CRYPTO_ERR_ID_MISMATCH);
    uint8_t ip4[4], ip6[16];
    inet_pton(AF_INET, "192.0.2.7", ip4);
    assert_int_equal(ike_cert_peer_check_id(peer, IKE_ID_IPV4_ADDR, ip4, 4), IKE_CRYPTO_OK);
    ip4[3] = 8;
    assert_int_equal(ike_cert_peer_check_id(peer, IKE_ID_IPV4_ADDR, ip4, 4),
                     IKE_CRYPTO_ERR_ID_MISMATCH);
    inet_pton(AF_INET6, "2001:db8::7", ip6);
    assert_int_equal(ike_cert_peer_check_id(peer, IKE_ID_IPV6_ADDR, ip6, 16),
                     IKE_CRYPTO_ERR_ID_MISMATCH);
    /* Another DN (the CA's) is a mismatch. */
    const unsigned char *cader;
    size_t cal;
    X509_NAME_get0_der(X509_get_subject_name(rsa_ca), &cader, &cal);
    assert_int_equal(ike_cert_peer_check_id(peer, IKE_ID_DER_ASN1_DN, cader, cal),
                     IKE_CRYPTO_ERR_ID_MISMATCH);
    assert_int_equal(ike_cert_peer_check_id(peer, IKE_ID_KEY_ID, cader, cal),
                     IKE_CRYPTO_ERR_ID_MISMATCH);
    ike_cert_peer_free(peer);
    X509_free(ee);

    /* EC root -> EC intermediate -> RSA end entity, intermediate sent. */
    X509 *ee2 = tp_cert(ee2_key, "dev43", inter, inter_key, NULL);
    assert_int_equal(verify(ee2, inter, NULL, detail), IKE_CRYPTO_OK);
    /* Without the intermediate there is no path. */
    assert_int_equal(verify(ee2, NULL, NULL, detail), IKE_CRYPTO_ERR_CERT_UNTRUSTED);
    X509_free(ee2);
}

static void test_rejections(void **state)
{
    (void)state;
    char detail[200];
    struct tp_cert_opts expired = {.not_before = -7200, .not_after = -60};
    X509 *ee = tp_cert(ee_key, "old", rsa_ca, rsa_ca_key, &expired);
    assert_int_equal(verify(ee, NULL, NULL, detail), IKE_CRYPTO_ERR_CERT_EXPIRED);
    assert_non_null(strstr(detail, "expired"));
    assert_non_null(strstr(detail, "CN=old"));
    X509_free(ee);

    struct tp_cert_opts future = {.not_before = 3600, .not_after = 7200};
    ee = tp_cert(ee_key, "future", rsa_ca, rsa_ca_key, &future);
    assert_int_equal(verify(ee, NULL, NULL, detail), IKE_CRYPTO_ERR_CERT_NOT_YET_VALID);
    X509_free(ee);

    /* Issued by a CA with the trusted CA's name but another key: the
     * authority key identifier finds no trusted issuer. */
    ee = tp_cert(ee_key, "rogue", rogue_ca, rogue_key, NULL);
    assert_int_equal(verify(ee, NULL, NULL, detail), IKE_CRYPTO_ERR_CERT_UNTRUSTED);
    X509_free(ee);
    /* Issued by an unrelated CA. */
    X509 *other_ca =
        tp_cert(rogue_key, "Other Root", NULL, NULL,
                &(struct tp_cert_opts){.ca = true, .not_before = -60, .not_after = 3600});
    ee = tp_cert(ee_key, "stranger", other_ca, rogue_key, NULL);
    assert_int_equal(verify(ee, NULL, NULL, detail), IKE_CRYPTO_ERR_CERT_UNTRUSTED);
    assert_non_null(strstr(detail, "issuer"));
    /* Sending the unrelated root along does not make it trusted. */
    assert_int_equal(verify(ee, other_ca, NULL, detail), IKE_CRYPTO_ERR_CERT_UNTRUSTED);
    X509_free(ee);
    X509_free(other_ca);

    struct tp_cert_opts nods = {.not_before = -60, .not_after = 3600, .no_digital_signature = true};
    ee = tp_cert(ee_key, "encrypt-only", rsa_ca, rsa_ca_key, &nods);
    assert_int_equal(verify(ee, NULL, NULL, detail), IKE_CRYPTO_ERR_CERT_KEY_USAGE);
    X509_free(ee);

    /* Malformed DER, trailing garbage. */
    ee = tp_cert(ee_key, "ok", rsa_ca, rsa_ca_key, NULL);
    size_t l;
    uint8_t *der = tp_der(ee, &l), buf[4096];
    memcpy(buf, der, l);
    buf[l] = 0;
    ike_span s = {buf, l + 1};
    ike_cert_peer *peer = NULL;
    assert_int_equal(ike_cert_verify(store, &s, 1, 0, &peer, detail, sizeof(detail)),
                     IKE_CRYPTO_ERR_CERT_MALFORMED);
    s.len = l / 2;
    assert_int_equal(ike_cert_verify(store, &s, 1, 0, &peer, detail, sizeof(detail)),
                     IKE_CRYPTO_ERR_CERT_MALFORMED);
    assert_null(peer);
    /* A forged signature (one bit of the signature value flipped). */
    buf[l - 3] ^= 1;
    s.len = l;
    assert_int_equal(ike_cert_verify(store, &s, 1, 0, &peer, detail, sizeof(detail)),
                     IKE_CRYPTO_ERR_CERT_INVALID);
    OPENSSL_free(der);
    /* Validity checked at a given time: the same cert in a year. */
    der = tp_der(ee, &l);
    s = (ike_span){der, l};
    assert_int_equal(
        ike_cert_verify(store, &s, 1, time(NULL) + 86400 * 2, &peer, detail, sizeof(detail)),
        IKE_CRYPTO_ERR_CERT_EXPIRED);
    OPENSSL_free(der);
    X509_free(ee);

    /* The error texts differ, so a log line says which one it was. */
    assert_string_not_equal(ike_crypto_strerror(IKE_CRYPTO_ERR_CERT_EXPIRED),
                            ike_crypto_strerror(IKE_CRYPTO_ERR_CERT_UNTRUSTED));
    assert_string_not_equal(ike_crypto_strerror(IKE_CRYPTO_ERR_ID_MISMATCH),
                            ike_crypto_strerror(IKE_CRYPTO_ERR_CERT_UNTRUSTED));
}

static void spki_sha1(X509 *x, uint8_t out[20])
{
    uint8_t *der = NULL;
    int l = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    unsigned int ol;
    EVP_Digest(der, (size_t)l, out, &ol, EVP_sha1(), NULL);
    OPENSSL_free(der);
}

static void test_certreq_and_own(void **state)
{
    (void)state;
    size_t len = 0;
    const uint8_t *req = ike_cert_store_certreq(store, &len);
    assert_int_equal(len, 40);
    assert_int_equal(ike_cert_store_ca_count(store), 2);
    uint8_t h[20];
    spki_sha1(rsa_ca, h);
    assert_memory_equal(req, h, 20);
    spki_sha1(ec_ca, h);
    assert_memory_equal(req + 20, h, 20);

    /* Our credentials from PEM: end entity, intermediate, root. */
    X509 *ee = tp_cert(ee2_key, "gw.example.com", inter, inter_key, NULL);
    X509 *chain[3] = {ee, inter, ec_ca};
    char cpath[128], kpath[128], opath[128];
    snprintf(cpath, sizeof(cpath), "%s/chain.pem", dir);
    snprintf(kpath, sizeof(kpath), "%s/key.pem", dir);
    snprintf(opath, sizeof(opath), "%s/other.pem", dir);
    tp_write_certs(cpath, chain, 3);
    tp_write_key(kpath, ee2_key);
    tp_write_key(opath, ee_key);
    ike_cert_own *own = NULL;
    assert_int_equal(ike_cert_own_load(cpath, kpath, &own), IKE_CRYPTO_OK);
    assert_int_equal(ike_cert_own_count(own), 3);
    size_t dl, el;
    uint8_t *der = tp_der(ee, &el);
    assert_memory_equal(ike_cert_own_der(own, 0, &dl), der, el);
    assert_int_equal(dl, el);
    OPENSSL_free(der);
    assert_true(EVP_PKEY_eq(ike_cert_own_key(own), ee2_key) == 1);
    const unsigned char *sd;
    size_t sl, ol;
    X509_NAME_get0_der(X509_get_subject_name(ee), &sd, &sl);
    assert_memory_equal(ike_cert_own_subject_der(own, &ol), sd, sl);

    bool matched;
    /* Peer trusts our root: send end entity + intermediate. */
    assert_int_equal(ike_cert_own_select(own, req, len, &matched), 2);
    assert_true(matched);
    /* Peer trusts our intermediate: the end entity alone. */
    spki_sha1(inter, h);
    assert_int_equal(ike_cert_own_select(own, h, 20, &matched), 1);
    assert_true(matched);
    /* Unknown CA: everything but the self-signed root. */
    memset(h, 0, 20);
    assert_int_equal(ike_cert_own_select(own, h, 20, &matched), 2);
    assert_false(matched);
    ike_cert_own_free(own);

    assert_int_equal(ike_cert_own_load(cpath, opath, &own), IKE_CRYPTO_ERR_KEY_MISMATCH);
    assert_null(own);
    assert_int_equal(ike_cert_own_load("/nonexistent/x.pem", kpath, &own), IKE_CRYPTO_ERR_IO);
    assert_int_equal(ike_cert_own_load(kpath, kpath, &own), IKE_CRYPTO_ERR_IO);

    /* CA file loading adds every certificate in it. */
    ike_cert_store *s2 = NULL;
    assert_int_equal(ike_cert_store_new(&s2), IKE_CRYPTO_OK);
    assert_int_equal(ike_cert_store_add_ca_file(s2, cpath), IKE_CRYPTO_OK);
    assert_int_equal(ike_cert_store_ca_count(s2), 3);
    assert_int_equal(ike_cert_store_add_ca_file(s2, "/nonexistent"), IKE_CRYPTO_ERR_IO);
    ike_cert_store_free(s2);
    X509_free(ee);
}

static void test_crl(void **state)
{
    (void)state;
    ike_cert_store *s = NULL;
    assert_int_equal(ike_cert_store_new(&s), IKE_CRYPTO_OK);
    assert_int_equal(ike_cert_store_add_ca(s, rsa_ca), IKE_CRYPTO_OK);
    X509_CRL *crl = tp_crl(rsa_ca, rsa_ca_key, 666);
    char path[128];
    snprintf(path, sizeof(path), "%s/crl.pem", dir);
    tp_write_crl(path, crl);
    X509_CRL_free(crl);
    assert_int_equal(ike_cert_store_add_crl_file(s, path), IKE_CRYPTO_OK);

    struct tp_cert_opts revoked = {.not_before = -60, .not_after = 3600, .serial = 666};
    struct tp_cert_opts fine = {.not_before = -60, .not_after = 3600, .serial = 667};
    X509 *a = tp_cert(ee_key, "revoked", rsa_ca, rsa_ca_key, &revoked);
    X509 *b = tp_cert(ee_key, "fine", rsa_ca, rsa_ca_key, &fine);
    size_t la, lb;
    uint8_t *da = tp_der(a, &la), *db = tp_der(b, &lb);
    ike_span sa = {da, la}, sb = {db, lb};
    ike_cert_peer *p = NULL;
    char detail[200];
    assert_int_equal(ike_cert_verify(s, &sa, 1, 0, &p, detail, sizeof(detail)),
                     IKE_CRYPTO_ERR_CERT_REVOKED);
    assert_int_equal(ike_cert_verify(s, &sb, 1, 0, &p, detail, sizeof(detail)), IKE_CRYPTO_OK);
    ike_cert_peer_free(p);
    OPENSSL_free(da);
    OPENSSL_free(db);
    X509_free(a);
    X509_free(b);
    ike_cert_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_chains),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_certreq_and_own),
        cmocka_unit_test(test_crl),
    };
    int rc = cmocka_run_group_tests_name("ikecrypto_cert", tests, setup, teardown);
    ike_crypto_fini();
    return rc;
}
