/* Per-core throughput of the public-key work one IKEv2 responder handshake
 * costs (design.md, "Performance targets"). Not a test: prints a table.
 *
 *   ike_crypto_bench [-t seconds-per-row] [-j threads] [-o row-prefix]
 *
 * Keys, certificates and the trust store are made once, as iked does at
 * start; what each row repeats is what a handshake repeats. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ike_auth.h"
#include "ike_cert.h"
#include "ike_dh.h"
#include "ike_keys.h"
#include "testpki.h"

struct suite {
    const char *name;
    const char *kind; /* key type of both sides' certificates */
    ike_sig_scheme scheme;
    EVP_PKEY *own_key;
    EVP_PKEY *peer_key;
    ike_cert_store *store;
    uint8_t *peer_der;
    size_t peer_der_len;
    uint8_t peer_sig[600];
    size_t peer_sig_len;
};

static struct suite suites[] = {
    {.name = "ecdsa-p256", .kind = "p256", .scheme = IKE_SIG_DS_ECDSA_SHA256},
    {.name = "rsa-2048", .kind = "rsa2048", .scheme = IKE_SIG_DS_RSA_PKCS1_SHA256},
    {.name = "ed25519", .kind = "ed25519", .scheme = IKE_SIG_DS_ED25519},
};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))

/* Stands in for the IKE_SA_INIT message and nonces the AUTH covers. */
static uint8_t octets[512];
static uint8_t peer_x25519[32];

_Noreturn static void fail(const char *what, ike_crypto_err err)
{
    fprintf(stderr, "bench: %s: %s\n", what, ike_crypto_strerror(err));
    exit(1);
}

static void prepare(void)
{
    ike_crypto_err err = ike_crypto_init();
    if (err != IKE_CRYPTO_OK)
        fail("init", err);
    memset(octets, 0x42, sizeof(octets));
    ike_dh *dh = NULL;
    if ((err = ike_dh_new(IKE_DH_CURVE25519, &dh)) != IKE_CRYPTO_OK)
        fail("dh", err);
    memcpy(peer_x25519, ike_dh_public(dh, NULL), 32);
    ike_dh_free(dh);

    for (size_t i = 0; i < NSUITES; i++) {
        struct suite *s = &suites[i];
        EVP_PKEY *ca_key = tp_key(s->kind);
        struct tp_cert_opts ca_o = {.ca = true, .not_before = -60, .not_after = 86400};
        X509 *ca = tp_cert(ca_key, "Bench CA", NULL, NULL, &ca_o);
        s->own_key = tp_key(s->kind);
        s->peer_key = tp_key(s->kind);
        X509 *peer = tp_cert(s->peer_key, "device", ca, ca_key, NULL);
        s->peer_der = tp_der(peer, &s->peer_der_len);
        if ((err = ike_cert_store_new(&s->store)) != IKE_CRYPTO_OK ||
            (err = ike_cert_store_add_ca(s->store, ca)) != IKE_CRYPTO_OK)
            fail("store", err);
        if ((err = ike_auth_sign(s->peer_key, s->scheme, octets, sizeof(octets), s->peer_sig,
                                 sizeof(s->peer_sig), &s->peer_sig_len)) != IKE_CRYPTO_OK)
            fail("peer sign", err);
        X509_free(peer);
        X509_free(ca);
        EVP_PKEY_free(ca_key);
    }
}

/* ---- the operations ---------------------------------------------------- */

static void op_x25519(struct suite *s)
{
    (void)s;
    ike_dh *dh = NULL;
    uint8_t secret[32];
    size_t sl;
    ike_crypto_err err = ike_dh_new(IKE_DH_CURVE25519, &dh);
    if (err == IKE_CRYPTO_OK)
        err = ike_dh_derive(dh, peer_x25519, 32, secret, sizeof(secret), &sl);
    if (err != IKE_CRYPTO_OK)
        fail("x25519", err);
    ike_dh_free(dh);
    ike_crypto_wipe(secret, sizeof(secret));
}

static void op_sign(struct suite *s)
{
    uint8_t sig[600];
    size_t len;
    ike_crypto_err err =
        ike_auth_sign(s->own_key, s->scheme, octets, sizeof(octets), sig, sizeof(sig), &len);
    if (err != IKE_CRYPTO_OK)
        fail("sign", err);
}

static void op_verify(struct suite *s)
{
    ike_crypto_err err = ike_auth_verify(s->peer_key, IKE_AUTH_DIGITAL_SIGNATURE, s->peer_sig,
                                         s->peer_sig_len, octets, sizeof(octets), NULL);
    if (err != IKE_CRYPTO_OK)
        fail("verify", err);
}

static ike_cert_peer *chain(struct suite *s)
{
    ike_span der = {s->peer_der, s->peer_der_len};
    ike_cert_peer *peer = NULL;
    ike_crypto_err err = ike_cert_verify(s->store, &der, 1, 0, &peer, NULL, 0);
    if (err != IKE_CRYPTO_OK)
        fail("chain", err);
    return peer;
}

/* The part of op_chain that is OpenSSL 3.0 decoding, not verification. */
static void op_parse(struct suite *s)
{
    const unsigned char *p = s->peer_der;
    X509 *x = d2i_X509(NULL, &p, (long)s->peer_der_len);
    if (!x)
        fail("parse", IKE_CRYPTO_ERR_CERT_MALFORMED);
    X509_free(x);
}

static void op_chain(struct suite *s)
{
    ike_cert_peer_free(chain(s));
}

/* Everything the responder computes for one IKE_SA_INIT + IKE_AUTH: key
 * exchange, IKE SA keys, both AUTH octet strings, the peer's certificate
 * path and AUTH signature, our AUTH signature, the CHILD SA keys. */
static void op_handshake(struct suite *s)
{
    ike_dh *dh = NULL;
    uint8_t gir[32], sig[600];
    size_t gl, sl;
    ike_crypto_err err = ike_dh_new(IKE_DH_CURVE25519, &dh);
    if (err == IKE_CRYPTO_OK)
        err = ike_dh_derive(dh, peer_x25519, 32, gir, sizeof(gir), &gl);
    ike_dh_free(dh);
    if (err != IKE_CRYPTO_OK)
        fail("handshake dh", err);

    static const uint8_t spi_i[8] = {1}, spi_r[8] = {2};
    ike_suite su = {IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE, IKE_PRF_HMAC_SHA2_256,
                    IKE_DH_CURVE25519};
    ike_span ni = {octets, 32}, nr = {octets + 32, 32}, g = {gir, gl};
    ike_span msg = {octets, 400}, id = {octets + 400, 40};
    ike_sa_keys keys;
    ike_child_keys child;
    uint8_t *oct_i = NULL, *oct_r = NULL;
    size_t li = 0, lr = 0;
    if ((err = ike_keys_ike_sa_init(&su, &g, &ni, &nr, spi_i, spi_r, &keys)) != IKE_CRYPTO_OK ||
        (err = ike_auth_octets(su.prf, keys.sk_pi, keys.prf_len, &msg, &nr, &id, &oct_i, &li)) ||
        (err = ike_auth_octets(su.prf, keys.sk_pr, keys.prf_len, &msg, &ni, &id, &oct_r, &lr)))
        fail("handshake keys", err);

    ike_cert_peer *peer = chain(s);
    /* Real octets differ per handshake; the pre-made peer signature
     * covers the fixed ones, the cost is the same. */
    err = ike_auth_verify(ike_cert_peer_key(peer), IKE_AUTH_DIGITAL_SIGNATURE, s->peer_sig,
                          s->peer_sig_len, octets, sizeof(octets), NULL);
    if (err != IKE_CRYPTO_OK)
        fail("handshake verify", err);
    if ((err = ike_auth_sign(s->own_key, s->scheme, oct_r, lr, sig, sizeof(sig), &sl)))
        fail("handshake sign", err);
    if ((err = ike_keys_child(&keys, IKE_ENCR_AES_GCM_16, 128, IKE_INTEG_NONE, NULL, &ni, &nr,
                              &child)))
        fail("handshake child", err);
    ike_cert_peer_free(peer);
    ike_auth_octets_free(oct_i, li);
    ike_auth_octets_free(oct_r, lr);
    ike_keys_wipe(&keys);
    ike_keys_child_wipe(&child);
    ike_crypto_wipe(gir, sizeof(gir));
}

/* ---- timing ------------------------------------------------------------- */

struct job {
    void (*fn)(struct suite *);
    struct suite *s;
    double seconds;
    unsigned long count;
    double elapsed;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *run_job(void *arg)
{
    struct job *j = arg;
    double start = now(), t;
    unsigned long n = 0;
    do {
        for (int i = 0; i < 16; i++)
            j->fn(j->s);
        n += 16;
        t = now();
    } while (t - start < j->seconds);
    j->count = n;
    j->elapsed = t - start;
    return NULL;
}

/* Operations per second, per thread, with `threads` running at once. */
static double measure(void (*fn)(struct suite *), struct suite *s, double seconds, int threads)
{
    struct job jobs[8];
    pthread_t tid[8];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (struct job){fn, s, seconds, 0, 0};
        if (pthread_create(&tid[i], NULL, run_job, &jobs[i]) != 0) {
            perror("pthread_create");
            exit(1);
        }
    }
    double rate = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        rate += (double)jobs[i].count / jobs[i].elapsed;
    }
    return rate / threads;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    int threads = 1;
    const char *only = NULL;
    int c;
    while ((c = getopt(argc, argv, "t:j:o:")) != -1) {
        switch (c) {
        case 't':
            seconds = atof(optarg);
            break;
        case 'j':
            threads = atoi(optarg);
            break;
        case 'o':
            only = optarg;
            break;
        default:
            fprintf(stderr, "usage: %s [-t seconds] [-j threads] [-o row-prefix]\n", argv[0]);
            return 2;
        }
    }
    if (threads < 1 || threads > 8 || seconds <= 0) {
        fprintf(stderr, "bench: -j 1..8, -t > 0\n");
        return 2;
    }
    prepare();
    printf("iked crypto, OpenSSL %s, %d thread(s), %.1f s per row; ops/s per thread\n\n",
           OpenSSL_version(OPENSSL_VERSION_STRING), threads, seconds);
    printf("%-34s %12s %12s\n", "operation", "ops/s", "us/op");

    double dh_rate = 0;
    struct row {
        const char *name;
        void (*fn)(struct suite *);
        struct suite *s;
    } rows[] = {
        {"x25519 keygen+derive", op_x25519, &suites[0]},
        {"ecdsa-p256 sign", op_sign, &suites[0]},
        {"ecdsa-p256 verify", op_verify, &suites[0]},
        {"ecdsa-p256 chain verify", op_chain, &suites[0]},
        {"rsa-2048 sign", op_sign, &suites[1]},
        {"rsa-2048 verify", op_verify, &suites[1]},
        {"rsa-2048 chain verify", op_chain, &suites[1]},
        {"ed25519 sign", op_sign, &suites[2]},
        {"ed25519 verify", op_verify, &suites[2]},
        {"ed25519 chain verify", op_chain, &suites[2]},
        {"ecdsa-p256 cert parse (d2i only)", op_parse, &suites[0]},
        {"rsa-2048 cert parse (d2i only)", op_parse, &suites[1]},
        {"ed25519 cert parse (d2i only)", op_parse, &suites[2]},
    };
    double rate[sizeof(rows) / sizeof(rows[0])] = {0};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (only && strncmp(rows[i].name, only, strlen(only)) != 0)
            continue;
        rate[i] = measure(rows[i].fn, rows[i].s, seconds, threads);
        printf("%-34s %12.0f %12.1f\n", rows[i].name, rate[i], 1e6 / rate[i]);
    }
    dh_rate = rate[0];

    printf("\n%-34s %12s %12s %12s\n", "responder handshake (x25519 +)", "ops/s", "us/op",
           "sum of rows");
    for (size_t i = 0; i < NSUITES; i++) {
        char name[64];
        snprintf(name, sizeof(name), "handshake %s", suites[i].name);
        if (only && strncmp(name, only, strlen(only)) != 0)
            continue;
        double r = measure(op_handshake, &suites[i], seconds, threads);
        /* What the separate rows add up to: DH + sign + verify + chain. */
        double sum = 0;
        if (dh_rate && rate[1 + 3 * i] && rate[2 + 3 * i] && rate[3 + 3 * i])
            sum = 1.0 / (1.0 / dh_rate + 1.0 / rate[1 + 3 * i] + 1.0 / rate[2 + 3 * i] +
                         1.0 / rate[3 + 3 * i]);
        printf("%-34s %12.0f %12.1f %12.0f\n", name, r, 1e6 / r, sum);
    }

    for (size_t i = 0; i < NSUITES; i++) {
        ike_cert_store_free(suites[i].store);
        EVP_PKEY_free(suites[i].own_key);
        EVP_PKEY_free(suites[i].peer_key);
        OPENSSL_free(suites[i].peer_der);
    }
    ike_crypto_fini();
    return 0;
}
