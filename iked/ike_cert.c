/* Trust anchors and our own credentials. Both are decoded from PEM once at
 * start-up; with OpenSSL 3.0 every key decode goes through the provider
 * decoder chain (~100 us), so nothing here is ever decoded per handshake. */
#include "ike_cert.h"

#include "ike_crypto_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

struct ike_cert_store {
    X509_STORE *store;
    size_t nca;
    uint8_t *certreq; /* nca * 20 octets */
};

struct own_entry {
    uint8_t *der;
    size_t der_len;
    uint8_t spki_hash[IKE_CERT_SPKI_HASH_LEN];
    bool self_signed;
};

struct ike_cert_own {
    X509 *cert;
    EVP_PKEY *key;
    size_t n;
    struct own_entry *certs; /* [0] is cert, then the chain */
};

/* RFC 7296 §3.7: SHA-1 over the whole SubjectPublicKeyInfo DER (not just
 * the key bits, as X509_pubkey_digest() would hash). */
static bool spki_sha1(X509 *cert, uint8_t out[IKE_CERT_SPKI_HASH_LEN])
{
    uint8_t *der = NULL;
    int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    unsigned int olen = 0;
    bool ok = len > 0 &&
              EVP_Digest(der, (size_t)len, out, &olen, ike_crypto_md(IKE_MD_SHA1), NULL) &&
              olen == IKE_CERT_SPKI_HASH_LEN;
    OPENSSL_free(der);
    return ok;
}

ike_crypto_err ike_cert_store_new(ike_cert_store **out)
{
    if (!out)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    ike_cert_store *s = calloc(1, sizeof(*s));
    if (!s || !(s->store = X509_STORE_new())) {
        free(s);
        return IKE_CRYPTO_ERR_INTERNAL;
    }
    /* A configured intermediate CA is a trust anchor in its own right:
     * the operator said so by listing it. */
    X509_STORE_set_flags(s->store, X509_V_FLAG_PARTIAL_CHAIN);
    *out = s;
    return IKE_CRYPTO_OK;
}

ike_crypto_err ike_cert_store_add_ca(ike_cert_store *store, X509 *ca)
{
    if (!store || !ca)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    uint8_t hash[IKE_CERT_SPKI_HASH_LEN];
    if (!spki_sha1(ca, hash))
        return IKE_CRYPTO_ERR_CERT_MALFORMED;
    uint8_t *req = realloc(store->certreq, (store->nca + 1) * IKE_CERT_SPKI_HASH_LEN);
    if (!req)
        return IKE_CRYPTO_ERR_INTERNAL;
    store->certreq = req;
    /* Caches the extension flags now, rather than lazily (under a lock)
     * in the first verification. */
    X509_check_purpose(ca, -1, 0);
    if (!X509_STORE_add_cert(store->store, ca))
        return IKE_CRYPTO_ERR_INTERNAL;
    memcpy(req + store->nca * IKE_CERT_SPKI_HASH_LEN, hash, sizeof(hash));
    store->nca++;
    return IKE_CRYPTO_OK;
}

/* Reads every certificate of a PEM file into a new stack. */
static ike_crypto_err read_pem_certs(const char *path, STACK_OF(X509) * *out)
{
    BIO *bio = path ? BIO_new_file(path, "r") : NULL;
    if (!bio) {
        ERR_clear_error();
        return IKE_CRYPTO_ERR_IO;
    }
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x;
    while (sk && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            sk_X509_pop_free(sk, X509_free);
            sk = NULL;
        }
    }
    BIO_free(bio);
    ERR_clear_error(); /* the loop ends on "no start line" */
    if (!sk)
        return IKE_CRYPTO_ERR_INTERNAL;
    if (sk_X509_num(sk) == 0) {
        sk_X509_free(sk);
        return IKE_CRYPTO_ERR_IO;
    }
    *out = sk;
    return IKE_CRYPTO_OK;
}

ike_crypto_err ike_cert_store_add_ca_file(ike_cert_store *store, const char *path)
{
    if (!store)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    STACK_OF(X509) *sk = NULL;
    ike_crypto_err err = read_pem_certs(path, &sk);
    for (int i = 0; err == IKE_CRYPTO_OK && i < sk_X509_num(sk); i++)
        err = ike_cert_store_add_ca(store, sk_X509_value(sk, i));
    sk_X509_pop_free(sk, X509_free);
    return err;
}

ike_crypto_err ike_cert_store_add_crl(ike_cert_store *store, X509_CRL *crl)
{
    if (!store || !crl)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    if (!X509_STORE_add_crl(store->store, crl))
        return IKE_CRYPTO_ERR_INTERNAL;
    X509_STORE_set_flags(store->store, X509_V_FLAG_CRL_CHECK);
    return IKE_CRYPTO_OK;
}

ike_crypto_err ike_cert_store_add_crl_file(ike_cert_store *store, const char *path)
{
    if (!store)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    BIO *bio = path ? BIO_new_file(path, "r") : NULL;
    if (!bio) {
        ERR_clear_error();
        return IKE_CRYPTO_ERR_IO;
    }
    ike_crypto_err err = IKE_CRYPTO_OK;
    size_t n = 0;
    X509_CRL *crl;
    while (err == IKE_CRYPTO_OK && (crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL))) {
        err = ike_cert_store_add_crl(store, crl);
        X509_CRL_free(crl);
        n++;
    }
    BIO_free(bio);
    ERR_clear_error();
    if (err == IKE_CRYPTO_OK && n == 0)
        err = IKE_CRYPTO_ERR_IO;
    return err;
}

size_t ike_cert_store_ca_count(const ike_cert_store *store)
{
    return store ? store->nca : 0;
}

const uint8_t *ike_cert_store_certreq(const ike_cert_store *store, size_t *len)
{
    if (len)
        *len = store ? store->nca * IKE_CERT_SPKI_HASH_LEN : 0;
    return store ? store->certreq : NULL;
}

void ike_cert_store_free(ike_cert_store *store)
{
    if (!store)
        return;
    X509_STORE_free(store->store);
    free(store->certreq);
    free(store);
}

X509_STORE *ike_cert_store_x509(const ike_cert_store *store)
{
    return store ? store->store : NULL;
}

static bool own_entry_fill(struct own_entry *e, X509 *x)
{
    int len = i2d_X509(x, &e->der);
    if (len <= 0)
        return false;
    e->der_len = (size_t)len;
    e->self_signed = (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
    return spki_sha1(x, e->spki_hash);
}

ike_crypto_err ike_cert_own_new(X509 *cert, STACK_OF(X509) * chain, EVP_PKEY *key,
                                ike_cert_own **out)
{
    if (!cert || !key || !out)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    *out = NULL;
    if (X509_check_private_key(cert, key) != 1) {
        ERR_clear_error();
        return IKE_CRYPTO_ERR_KEY_MISMATCH;
    }
    ike_cert_own *own = calloc(1, sizeof(*own));
    size_t n = 1 + (chain ? (size_t)sk_X509_num(chain) : 0);
    if (!own || !(own->certs = calloc(n, sizeof(*own->certs)))) {
        free(own);
        return IKE_CRYPTO_ERR_INTERNAL;
    }
    own->n = n;
    X509_up_ref(cert);
    own->cert = cert;
    EVP_PKEY_up_ref(key);
    own->key = key;
    for (size_t i = 0; i < n; i++) {
        X509 *x = i == 0 ? cert : sk_X509_value(chain, (int)i - 1);
        if (!own_entry_fill(&own->certs[i], x)) {
            ike_cert_own_free(own);
            return IKE_CRYPTO_ERR_CERT_MALFORMED;
        }
    }
    *out = own;
    return IKE_CRYPTO_OK;
}

ike_crypto_err ike_cert_own_load(const char *cert_path, const char *key_path, ike_cert_own **out)
{
    if (!out || !key_path)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    *out = NULL;
    STACK_OF(X509) *sk = NULL;
    ike_crypto_err err = read_pem_certs(cert_path, &sk);
    if (err != IKE_CRYPTO_OK)
        return err;
    BIO *bio = BIO_new_file(key_path, "r");
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey_ex(bio, NULL, NULL, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (!key) {
        sk_X509_pop_free(sk, X509_free);
        return IKE_CRYPTO_ERR_IO;
    }
    X509 *cert = sk_X509_shift(sk);
    err = ike_cert_own_new(cert, sk, key, out);
    X509_free(cert);
    EVP_PKEY_free(key); /* own holds its reference */
    sk_X509_pop_free(sk, X509_free);
    return err;
}

EVP_PKEY *ike_cert_own_key(const ike_cert_own *own)
{
    return own ? own->key : NULL;
}

X509 *ike_cert_own_cert(const ike_cert_own *own)
{
    return own ? own->cert : NULL;
}

size_t ike_cert_own_count(const ike_cert_own *own)
{
    return own ? own->n : 0;
}

const uint8_t *ike_cert_own_der(const ike_cert_own *own, size_t i, size_t *len)
{
    if (!own || i >= own->n)
        return NULL;
    if (len)
        *len = own->certs[i].der_len;
    return own->certs[i].der;
}

const uint8_t *ike_cert_own_subject_der(const ike_cert_own *own, size_t *len)
{
    const unsigned char *der = NULL;
    size_t dlen = 0;
    if (!own || !X509_NAME_get0_der(X509_get_subject_name(own->cert), &der, &dlen))
        return NULL;
    if (len)
        *len = dlen;
    return der;
}

size_t ike_cert_own_select(const ike_cert_own *own, const uint8_t *certreq, size_t len,
                           bool *matched)
{
    if (matched)
        *matched = false;
    if (!own)
        return 0;
    for (size_t i = 0; certreq && i < own->n; i++) {
        for (size_t off = 0; off + IKE_CERT_SPKI_HASH_LEN <= len; off += IKE_CERT_SPKI_HASH_LEN) {
            if (memcmp(certreq + off, own->certs[i].spki_hash, IKE_CERT_SPKI_HASH_LEN) != 0)
                continue;
            if (matched)
                *matched = true;
            /* The peer trusts cert i; our own end-entity is
             * always sent even if the peer named its key. */
            return i ? i : 1;
        }
    }
    size_t n = own->n;
    /* A root is useless to a peer that does not already trust it. */
    while (n > 1 && own->certs[n - 1].self_signed)
        n--;
    return n;
}

void ike_cert_own_free(ike_cert_own *own)
{
    if (!own)
        return;
    for (size_t i = 0; i < own->n; i++)
        OPENSSL_free(own->certs[i].der);
    free(own->certs);
    X509_free(own->cert);
    EVP_PKEY_free(own->key); /* the provider clears the private key */
    free(own);
}
