/* The exchange tests' fixture: run-time PKI, settings, lease pool, env;
 * the drivers that feed the responder as the daemon does; stderr capture. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "ike_crypto.h"
#include "ike_msg.h"
#include "testpki.h"
#include "ti.h"

static void fx_die(const char *what)
{
    fprintf(stderr, "ikeexch fixture: %s failed\n", what);
    abort();
}

void fx_cred_make(struct fx_cred *c, const char *kind, const char *cn, const struct fx_cred *issuer,
                  const void *tp_opts)
{
    memset(c, 0, sizeof(*c));
    c->key = tp_key(kind);
    c->cert = tp_cert(c->key, cn, issuer ? issuer->cert : NULL, issuer ? issuer->key : NULL,
                      (const struct tp_cert_opts *)tp_opts);
    c->der = tp_der(c->cert, &c->der_len);
    unsigned char *p = NULL;
    int n = i2d_X509_NAME(X509_get_subject_name(c->cert), &p);
    if (n <= 0)
        fx_die("i2d_X509_NAME");
    c->subject_der = p;
    c->subject_der_len = (size_t)n;
}

void fx_cred_free(struct fx_cred *c)
{
    EVP_PKEY_free(c->key);
    X509_free(c->cert);
    OPENSSL_free(c->der);
    OPENSSL_free(c->subject_der);
    memset(c, 0, sizeof(*c));
}

static void fx_subnet(struct iked_subnet *s, int family, const char *addr, uint8_t plen)
{
    memset(s, 0, sizeof(*s));
    s->family = family;
    if (inet_pton(family, addr, s->addr) != 1)
        fx_die("inet_pton");
    s->plen = plen;
}

void fx_init(struct fx *f, const char *pool_cidr)
{
    static const char *const ike[] = {
        "aes128gcm16-prfsha256-ecp256",
        "aes256gcm16-prfsha384-curve25519",
        "aes256-sha384-modp2048",
        "aes128-sha256-curve25519",
    };
    static const char *const esp[] = {"aes128gcm16", "aes256gcm16", "aes256-sha384",
                                      "aes128-sha256"};
    char why[200];
    memset(f, 0, sizeof(*f));
    if (ike_crypto_init() != IKE_CRYPTO_OK)
        fx_die("ike_crypto_init");

    struct tp_cert_opts ca = {.ca = true, .not_before = -3600, .not_after = 86400 * 30};
    fx_cred_make(&f->ca, "p256", "mgate test CA", NULL, &ca);
    fx_cred_make(&f->other_ca, "p256", "some other CA", NULL, &ca);
    fx_cred_make(&f->sub_ca, "p256", "mgate test sub CA", &f->ca, &ca);
    struct tp_cert_opts gw = {.not_before = -3600, .not_after = 86400, .san_dns = "gw.example"};
    fx_cred_make(&f->gw_rsa, "rsa2048", "gw-rsa.example", &f->ca, &gw);
    fx_cred_make(&f->gw_ec, "p256", "gw-ec.example", &f->ca, &gw);

    STACK_OF(X509) *chain = sk_X509_new_null();
    if (!chain || !sk_X509_push(chain, f->ca.cert))
        fx_die("chain");
    if (ike_cert_own_new(f->gw_rsa.cert, chain, f->gw_rsa.key, &f->own_rsa) != IKE_CRYPTO_OK ||
        ike_cert_own_new(f->gw_ec.cert, NULL, f->gw_ec.key, &f->own_ec) != IKE_CRYPTO_OK)
        fx_die("ike_cert_own_new");
    sk_X509_free(chain);
    if (ike_cert_store_new(&f->cas) != IKE_CRYPTO_OK ||
        ike_cert_store_add_ca(f->cas, f->ca.cert) != IKE_CRYPTO_OK)
        fx_die("CA store");

    struct iked_settings *s = &f->set;
    for (size_t i = 0; i < sizeof(ike) / sizeof(ike[0]); i++)
        if (iked_parse_ike_proposal(ike[i], &s->ike[s->n_ike++], why, sizeof(why)) < 0)
            fx_die(why);
    for (size_t i = 0; i < sizeof(esp) / sizeof(esp[0]); i++)
        if (iked_parse_esp_proposal(esp[i], &s->esp[s->n_esp++], why, sizeof(why)) < 0)
            fx_die(why);
    char pool[64];
    snprintf(pool, sizeof(pool), "%s", pool_cidr);
    char *slash = strchr(pool, '/');
    if (!slash)
        fx_die("pool");
    *slash = '\0';
    if (inet_pton(AF_INET, pool, &s->pool_net) != 1)
        fx_die("pool address");
    s->pool_plen = (uint8_t)atoi(slash + 1);
    fx_subnet(&s->subnets[s->n_subnets++], AF_INET, "10.1.0.0", 16);
    fx_subnet(&s->subnets[s->n_subnets++], AF_INET, "192.168.50.0", 24);
    fx_subnet(&s->subnets[s->n_subnets++], AF_INET6, "2001:db8:1::", 48);
    inet_pton(AF_INET, "10.1.0.53", &s->dns[s->n_dns++]);
    inet_pton(AF_INET, "10.1.0.54", &s->dns[s->n_dns++]);
    s->authz = IKED_AUTHZ_CA_ONLY;
    s->half_open_timeout_ms = 30000;
    s->ike_lifetime_s = 14400;
    s->child_lifetime_s = 3600;

    if (sqlite3_open(":memory:", &f->db) != SQLITE_OK ||
        sqlite3_exec(f->db, lease_pool_schema_sql, NULL, NULL, NULL) != SQLITE_OK)
        fx_die("sqlite");
    if (lease_pool_open(f->db, s->pool_net, s->pool_plen, &f->pool) != 0)
        fx_die("lease_pool_open");

    f->env.set = &f->set;
    f->env.cas = f->cas;
    f->env.own = f->own_ec;
    f->env.local_id_type = IKE_ID_DER_ASN1_DN;
    f->env.local_id = NULL; /* our certificate's subject */
    f->env.local_id_len = 0;
    f->env.leases = f->pool;
    f->frag.max = IKE_FRAG_BUDGET_DEFAULT;
    f->env.frag = &f->frag;
}

void fx_fini(struct fx *f)
{
    lease_pool_close(f->pool);
    sqlite3_close(f->db);
    ike_cert_store_free(f->cas);
    ike_cert_own_free(f->own_rsa);
    ike_cert_own_free(f->own_ec);
    fx_cred_free(&f->ca);
    fx_cred_free(&f->other_ca);
    fx_cred_free(&f->sub_ca);
    fx_cred_free(&f->gw_rsa);
    fx_cred_free(&f->gw_ec);
    memset(f, 0, sizeof(*f));
}

void devs_init(struct devs *d, const struct fx *f)
{
    struct tp_cert_opts rsa = {.not_before = -3600,
                               .not_after = 86400,
                               .san_dns = "device-rsa.example",
                               .san_email = "dev-rsa@example.com",
                               .serial = 0x1001};
    struct tp_cert_opts ec = {.not_before = -3600, .not_after = 86400, .serial = 0x1002};
    struct tp_cert_opts old = {.not_before = -86400, .not_after = -60, .serial = 0x1003};
    struct tp_cert_opts other = {.not_before = -3600, .not_after = 86400, .serial = 0x1004};
    fx_cred_make(&d->rsa, "rsa2048", "device-rsa", &f->ca, &rsa);
    fx_cred_make(&d->ec, "p256", "device-ec", &f->ca, &ec);
    fx_cred_make(&d->expired, "p256", "device-old", &f->ca, &old);
    fx_cred_make(&d->other, "p256", "device-stranger", &f->other_ca, &other);
    fx_cred_make(&d->sub, "p256", "device-sub", &f->sub_ca, &other);
    d->stray = tp_key("p256");
}

void devs_fini(struct devs *d)
{
    fx_cred_free(&d->rsa);
    fx_cred_free(&d->ec);
    fx_cred_free(&d->expired);
    fx_cred_free(&d->other);
    fx_cred_free(&d->sub);
    EVP_PKEY_free(d->stray);
}

void ti_default_addrs(struct sockaddr_storage *gw, struct sockaddr_storage *dev)
{
    struct sockaddr_in *g = (struct sockaddr_in *)gw, *d = (struct sockaddr_in *)dev;
    memset(gw, 0, sizeof(*gw));
    memset(dev, 0, sizeof(*dev));
    g->sin_family = AF_INET;
    g->sin_port = htons(500);
    inet_pton(AF_INET, "192.0.2.1", &g->sin_addr);
    d->sin_family = AF_INET;
    d->sin_port = htons(500);
    inet_pton(AF_INET, "198.51.100.7", &d->sin_addr);
}

static void drive_rx(struct ike_rx *rx, const uint8_t *buf, size_t len, bool natt_port)
{
    memset(rx, 0, sizeof(*rx));
    rx->buf = buf;
    rx->len = len;
    ti_default_addrs(&rx->local, &rx->remote);
    if (natt_port) {
        ((struct sockaddr_in *)&rx->local)->sin_port = htons(4500);
        ((struct sockaddr_in *)&rx->remote)->sin_port = htons(4500);
    }
    rx->natt_port = natt_port;
    rx->now_ms = 1000;
}

enum ike_exch_result drive_sa_init(const struct fx *f, const struct ti *t, const uint8_t *buf,
                                   size_t len, bool natt_port, struct ike_sa **sa,
                                   struct ike_tx *tx)
{
    (void)t;
    struct ike_rx rx;
    struct ike_msg m;
    struct ike_error e;
    drive_rx(&rx, buf, len, natt_port);
    *sa = NULL;
    tx->buf = NULL;
    tx->len = 0;
    if (ike_msg_parse(&m, buf, len, &e) != IKE_OK)
        return ike_exch_sa_init_error(&rx, &e, tx);
    return ike_exch_sa_init(&f->env, &rx, &m, sa, tx);
}

enum ike_exch_cookie drive_cookie(struct ike_cookie_jar *jar, const uint8_t *buf, size_t len,
                                  uint8_t *out, size_t cap, size_t *out_len, const char **why)
{
    struct ike_rx rx;
    struct ike_msg m;
    struct ike_error e;
    drive_rx(&rx, buf, len, false);
    *out_len = 0;
    *why = "does not parse";
    if (ike_msg_parse(&m, buf, len, &e) != IKE_OK)
        return IKE_EXCH_COOKIE_DROP;
    return ike_exch_sa_init_cookie(jar, &rx, &m, out, cap, out_len, why);
}

enum ike_exch_result drive_request(const struct fx *f, struct ike_sa *sa, const uint8_t *buf,
                                   size_t len, struct ike_tx *tx)
{
    return drive_request_ex(f, sa, buf, len, tx, NULL);
}

enum ike_exch_result drive_request_ex(const struct fx *f, struct ike_sa *sa, const uint8_t *buf,
                                      size_t len, struct ike_tx *tx, struct ike_sa **rekeyed)
{
    struct ike_rx rx;
    struct ike_msg m;
    struct ike_error e;
    drive_rx(&rx, buf, len, false);
    tx->buf = NULL;
    tx->len = 0;
    if (ike_msg_parse(&m, buf, len, &e) != IKE_OK)
        return IKE_EXCH_DROP;
    if (!rekeyed)
        return ike_exch_request(&f->env, sa, &rx, &m, tx);
    return ike_exch_request_ex(&f->env, sa, &rx, &m, tx, rekeyed);
}

enum ike_exch_result handshake(struct fx *f, struct ti *t, const struct ti_auth_opts *o,
                               struct ike_sa **sa, struct ti_auth_result *r)
{
    size_t len = 0;
    struct ike_tx tx = {0};
    memset(r, 0, sizeof(*r));
    uint8_t *req = ti_sa_init(t, &len);
    enum ike_exch_result res = drive_sa_init(f, t, req, len, false, sa, &tx);
    free(req);
    if (res != IKE_EXCH_REPLY || !*sa) {
        free(tx.buf);
        return IKE_EXCH_DROP;
    }
    int rc = ti_sa_init_response(t, f, tx.buf, tx.len);
    free(tx.buf);
    if (rc != 0)
        return IKE_EXCH_DROP;
    req = ti_auth(t, f, o, &len);
    res = drive_request(f, *sa, req, len, &tx);
    free(req);
    if (tx.buf && ti_auth_response(t, f, tx.buf, tx.len, r) < 0)
        r->n_notify = (size_t)-1;
    free(tx.buf);
    return res;
}

bool ti_has_notify(const struct ti_auth_result *r, uint16_t type)
{
    for (size_t i = 0; i < r->n_notify && i < TI_MAX_NOTIFY; i++)
        if (r->notify[i] == type)
            return true;
    return false;
}

static int cap_saved = -1, cap_fd = -1;
static char cap_buf[65536];

void cap_begin(void)
{
    char path[] = "/tmp/ikeexch-log-XXXXXX";
    fflush(stderr);
    cap_fd = mkstemp(path);
    if (cap_fd < 0)
        fx_die("mkstemp");
    unlink(path);
    cap_saved = dup(2);
    dup2(cap_fd, 2);
}

const char *cap_end(void)
{
    fflush(stderr);
    dup2(cap_saved, 2);
    close(cap_saved);
    ssize_t n = pread(cap_fd, cap_buf, sizeof(cap_buf) - 1, 0);
    close(cap_fd);
    cap_buf[n > 0 ? n : 0] = '\0';
    /* Shown again, so a failing test's output still has it. */
    fputs(cap_buf, stderr);
    return cap_buf;
}

unsigned count_lines(const char *s)
{
    unsigned n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}
