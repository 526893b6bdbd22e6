/* IKE_AUTH, responder side (RFC 7296 §1.2, §2.15, §2.9, §3.15): the device
 * proves who it is with its certificate, we prove who we are, it gets its
 * virtual address and its first CHILD SA. Any authentication failure is
 * answered with AUTHENTICATION_FAILED and one log line saying why; a CHILD
 * SA failure leaves the IKE SA up without a CHILD SA (§1.2, §2.21.2). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "ike_auth.h"
#include "ike_cert.h"
#include "ike_exch_int.h"
#include "ike_grant.h"
#include "log.h"

#define AUTH_MAX_CERTS   8
#define AUTH_MAX_CERTREQ (IKE_CERTREQ_HASH_LEN * 32)
#define AUTH_MAX_SIG     1100 /* RSA-4096 signature plus its AlgorithmIdentifier */

/* What the IKE_AUTH request carries. */
struct auth_req {
    struct ike_id idi;
    bool has_idi;
    struct ike_id idr;
    bool has_idr;
    struct ike_auth auth;
    bool has_auth;
    ike_span certs[AUTH_MAX_CERTS];
    size_t n_certs;
    size_t n_other_certs; /* CERT payloads in encodings we do not take */
    uint8_t certreq[AUTH_MAX_CERTREQ];
    size_t certreq_len;
    struct ike_cp cp;
    bool has_cp;
    struct ike_sa_pl sapl;
    bool has_sa;
    struct ike_ts_set tsi, tsr;
    bool has_tsi, has_tsr;
    bool initial_contact, mobike;
};

/* 0, or INVALID_SYNTAX with *why. The chain was validated already, so the
 * typed parsers only fail on what the exchange itself forbids. */
static uint16_t auth_parse(const struct ike_chain *in, struct auth_req *r, const char **why)
{
    struct ike_error e;
    for (unsigned i = 0; i < in->n; i++) {
        const struct ike_payload *pl = &in->pl[i];
        enum ike_err rc = IKE_OK;
        switch (pl->type) {
        case IKE_PL_IDI:
            if (r->has_idi) {
                *why = "two IDi payloads";
                return IKE_N_INVALID_SYNTAX;
            }
            rc = ike_pl_id(pl, &r->idi, &e);
            r->has_idi = true;
            break;
        case IKE_PL_IDR:
            rc = ike_pl_id(pl, &r->idr, &e);
            r->has_idr = true;
            break;
        case IKE_PL_CERT: {
            struct ike_cert c;
            rc = ike_pl_cert(pl, &c, &e);
            if (rc == IKE_OK && c.encoding == IKE_CERT_X509_SIG && r->n_certs < AUTH_MAX_CERTS)
                r->certs[r->n_certs++] = c.data;
            else if (rc == IKE_OK && c.encoding != IKE_CERT_X509_SIG)
                r->n_other_certs++;
            break;
        }
        case IKE_PL_CERTREQ: {
            struct ike_cert c;
            rc = ike_pl_certreq(pl, &c, &e);
            if (rc == IKE_OK && c.encoding == IKE_CERT_X509_SIG) {
                size_t n = c.data.len - c.data.len % IKE_CERTREQ_HASH_LEN;
                if (n > sizeof(r->certreq) - r->certreq_len)
                    n = (sizeof(r->certreq) - r->certreq_len) / IKE_CERTREQ_HASH_LEN *
                        IKE_CERTREQ_HASH_LEN;
                memcpy(r->certreq + r->certreq_len, c.data.ptr, n);
                r->certreq_len += n;
            }
            break;
        }
        case IKE_PL_AUTH:
            if (r->has_auth) {
                *why = "two AUTH payloads";
                return IKE_N_INVALID_SYNTAX;
            }
            rc = ike_pl_auth(pl, &r->auth, &e);
            r->has_auth = true;
            break;
        case IKE_PL_CP:
            if (!r->has_cp) {
                rc = ike_pl_cp(pl, &r->cp, &e);
                r->has_cp = true;
            }
            break;
        case IKE_PL_SA:
            if (r->has_sa) {
                *why = "two SA payloads";
                return IKE_N_INVALID_SYNTAX;
            }
            rc = ike_pl_sa(pl, &r->sapl, &e);
            r->has_sa = true;
            break;
        case IKE_PL_TSI:
            rc = ike_pl_ts(pl, &r->tsi, &e);
            r->has_tsi = true;
            break;
        case IKE_PL_TSR:
            rc = ike_pl_ts(pl, &r->tsr, &e);
            r->has_tsr = true;
            break;
        case IKE_PL_NOTIFY: {
            struct ike_notify n;
            rc = ike_pl_notify(pl, &n, &e);
            if (rc == IKE_OK && n.type == IKE_N_INITIAL_CONTACT)
                r->initial_contact = true;
            else if (rc == IKE_OK && n.type == IKE_N_MOBIKE_SUPPORTED)
                r->mobike = true;
            /* USE_TRANSPORT_MODE is ignored: not echoing it means tunnel
             * mode (§1.3.1); ESP_TFC_PADDING_NOT_SUPPORTED and
             * NON_FIRST_FRAGMENTS_ALSO change nothing for us. */
            break;
        }
        default:
            break;
        }
        if (rc != IKE_OK) {
            *why = e.what ? e.what : "malformed payload";
            return IKE_N_INVALID_SYNTAX;
        }
    }
    if (!r->has_idi) {
        *why = "no IDi payload";
        return IKE_N_INVALID_SYNTAX;
    }
    if (r->has_sa && (!r->has_tsi || !r->has_tsr)) {
        *why = "an SA payload without TSi and TSr";
        return IKE_N_INVALID_SYNTAX;
    }
    return 0;
}

/* An identity as text for log lines. */
static const char *id_text(uint8_t type, ike_span data, char *buf, size_t len)
{
    if (type == IKE_ID_DER_ASN1_DN) {
        const unsigned char *p = data.ptr;
        X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)data.len);
        BIO *b = n ? BIO_new(BIO_s_mem()) : NULL;
        if (b && X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
            int got = BIO_read(b, buf, (int)len - 1);
            buf[got > 0 ? got : 0] = '\0';
        } else {
            snprintf(buf, len, "(undecodable DN, %zu octets)", data.len);
        }
        BIO_free(b);
        X509_NAME_free(n);
    } else if ((type == IKE_ID_IPV4_ADDR && data.len == 4) ||
               (type == IKE_ID_IPV6_ADDR && data.len == 16)) {
        char a[INET6_ADDRSTRLEN];
        inet_ntop(data.len == 4 ? AF_INET : AF_INET6, data.ptr, a, sizeof(a));
        snprintf(buf, len, "%s", a);
    } else if (type == IKE_ID_FQDN || type == IKE_ID_RFC822_ADDR) {
        size_t n = data.len < len - 1 ? data.len : len - 1;
        if (n > 120)
            n = 120;
        for (size_t i = 0; i < n; i++)
            buf[i] = data.ptr[i] >= 0x20 && data.ptr[i] < 0x7f ? (char)data.ptr[i] : '?';
        buf[n] = '\0';
    } else {
        snprintf(buf, len, "(%zu octets)", data.len);
    }
    return buf;
}

static const char *cert_err_reason(ike_crypto_err ce)
{
    switch (ce) {
    case IKE_CRYPTO_ERR_CERT_EXPIRED:
        return "certificate expired";
    case IKE_CRYPTO_ERR_CERT_NOT_YET_VALID:
        return "certificate not yet valid";
    case IKE_CRYPTO_ERR_CERT_UNTRUSTED:
        return "certificate from an unknown CA";
    case IKE_CRYPTO_ERR_CERT_REVOKED:
        return "certificate revoked";
    case IKE_CRYPTO_ERR_CERT_KEY_USAGE:
        return "certificate not for signatures (keyUsage)";
    case IKE_CRYPTO_ERR_CERT_MALFORMED:
        return "certificate malformed";
    default:
        return "certificate invalid";
    }
}

static bool auth_method_ok(uint8_t m)
{
    return m == IKE_AUTH_RSA_SIG || m == IKE_AUTH_ECDSA_SHA256_P256 ||
           m == IKE_AUTH_ECDSA_SHA384_P384 || m == IKE_AUTH_ECDSA_SHA512_P521 ||
           m == IKE_AUTH_DIGITAL_SIGNATURE;
}

/* The device's certificate chain, its IDi and its AUTH. 0 with *peer_out,
 * or -1 with why. */
static int auth_verify_peer(const struct ike_env *env, struct ike_sa *sa, const struct auth_req *r,
                            ike_cert_peer **peer_out, char *why, size_t why_len)
{
    char detail[256] = "", idt[160];
    *peer_out = NULL;
    if (!r->has_auth) {
        snprintf(why, why_len, "no AUTH payload (EAP is not offered)");
        return -1;
    }
    if (!auth_method_ok(r->auth.method)) {
        snprintf(why, why_len, "AUTH method %s (%u) is not accepted: certificates only",
                 ike_auth_method_name(r->auth.method), r->auth.method);
        return -1;
    }
    if (r->n_certs == 0) {
        snprintf(why, why_len, "no X.509 certificate in the request%s",
                 r->n_other_certs ? " (only other encodings)" : "");
        return -1;
    }
    if (!env->cas) {
        snprintf(why, why_len, "no CA configured");
        return -1;
    }
    ike_cert_peer *peer = NULL;
    ike_crypto_err ce =
        ike_cert_verify(env->cas, r->certs, r->n_certs, 0, &peer, detail, sizeof(detail));
    if (ce != IKE_CRYPTO_OK) {
        snprintf(why, why_len, "%s: %s", cert_err_reason(ce),
                 detail[0] ? detail : ike_crypto_strerror(ce));
        return -1;
    }
    char subject[256];
    ike_cert_peer_subject_text(peer, subject, sizeof(subject));
    ce = ike_cert_peer_check_id(peer, r->idi.type, r->idi.data.ptr, r->idi.data.len);
    if (ce != IKE_CRYPTO_OK) {
        snprintf(why, why_len, "identity mismatch: IDi %s '%s' is not in the certificate of %s",
                 ike_id_type_name(r->idi.type), id_text(r->idi.type, r->idi.data, idt, sizeof(idt)),
                 subject);
        ike_cert_peer_free(peer);
        return -1;
    }
    uint8_t *oct = NULL;
    size_t oct_len = 0;
    ike_span msg = {sa->init_req, sa->init_req_len}, nr = {sa->nr, sa->nr_len};
    ce = ike_auth_octets(sa->keys.prf, sa->keys.sk_pi, sa->keys.prf_len, &msg, &nr, &r->idi.body,
                         &oct, &oct_len);
    if (ce != IKE_CRYPTO_OK) {
        snprintf(why, why_len, "AUTH octets: %s", ike_crypto_strerror(ce));
        ike_cert_peer_free(peer);
        return -1;
    }
    ike_sig_scheme used = IKE_SIG_NONE;
    ce = ike_auth_verify(ike_cert_peer_key(peer), r->auth.method, r->auth.data.ptr,
                         r->auth.data.len, oct, oct_len, &used);
    ike_auth_octets_free(oct, oct_len);
    if (ce != IKE_CRYPTO_OK) {
        const char *what = ce == IKE_CRYPTO_ERR_BAD_SIGNATURE ? "bad signature"
                           : ce == IKE_CRYPTO_ERR_KEY_MISMATCH
                               ? "AUTH method does not fit the certificate's key"
                           : ce == IKE_CRYPTO_ERR_UNSUPPORTED ? "signature algorithm not accepted"
                                                              : "malformed AUTH data";
        snprintf(why, why_len, "%s (AUTH method %s) by %s", what,
                 ike_auth_method_name(r->auth.method), subject);
        ike_cert_peer_free(peer);
        return -1;
    }
    *peer_out = peer;
    return 0;
}

/* Our IDr, signature and certificates. */
struct auth_ours {
    uint8_t id_type;
    const uint8_t *id;
    size_t id_len;
    ike_sig_scheme scheme;
};

static int auth_our_id(const struct ike_env *env, struct auth_ours *o)
{
    if (env->local_id && env->local_id_len) {
        o->id_type = env->local_id_type ? env->local_id_type : IKE_ID_DER_ASN1_DN;
        o->id = env->local_id;
        o->id_len = env->local_id_len;
    } else {
        o->id_type = IKE_ID_DER_ASN1_DN;
        o->id = ike_cert_own_subject_der(env->own, &o->id_len);
    }
    return o->id && o->id_len ? 0 : -1;
}

/* Signs our AUTH over the IDr body just written. */
static int auth_sign(const struct ike_env *env, const struct ike_sa *sa, struct ike_span idr_body,
                     ike_sig_scheme scheme, uint8_t *sig, size_t cap, size_t *sig_len)
{
    EVP_PKEY *key = ike_cert_own_key(env->own);
    uint8_t *oct = NULL;
    size_t oct_len = 0;
    ike_span msg = {sa->init_resp, sa->init_resp_len}, ni = {sa->ni, sa->ni_len};
    if (ike_auth_sig_max_len(key) > cap)
        return -1;
    ike_crypto_err ce = ike_auth_octets(sa->keys.prf, sa->keys.sk_pr, sa->keys.prf_len, &msg, &ni,
                                        &idr_body, &oct, &oct_len);
    if (ce == IKE_CRYPTO_OK)
        ce = ike_auth_sign(key, scheme, oct, oct_len, sig, cap, sig_len);
    ike_auth_octets_free(oct, oct_len);
    if (ce != IKE_CRYPTO_OK) {
        log_err("signing our AUTH (%s): %s", ike_auth_scheme_name(scheme), ike_crypto_strerror(ce));
        return -1;
    }
    return 0;
}

static enum ike_exch_result auth_refuse_to(struct ike_sa *sa, const struct sockaddr_storage *remote,
                                           uint32_t msgid, uint16_t type, const void *data,
                                           size_t len, const char *why, struct ike_tx *tx)
{
    char from[64];
    if (why) /* NULL: the reason was logged already */
        log_notice("IKE_AUTH from %s%s%s refused: %s: %s",
                   exch_addr_str(remote, from, sizeof(from)), sa->peer_subject ? " " : "",
                   sa->peer_subject ? sa->peer_subject : "", ike_notify_name(type), why);
    if (exch_sk_notify(sa, IKE_EXCH_IKE_AUTH, msgid, type, data, len, tx) < 0)
        return IKE_EXCH_DROP;
    exch_cache_response(sa, msgid, tx);
    return IKE_EXCH_REPLY_FAIL;
}

static enum ike_exch_result auth_refuse(struct ike_sa *sa, const struct ike_rx *rx,
                                        const struct ike_msg *m, uint16_t type, const void *data,
                                        size_t len, const char *why, struct ike_tx *tx)
{
    return auth_refuse_to(sa, &rx->remote, m->hdr.msgid, type, data, len, why, tx);
}

/* The CHILD SA the request asks for; 0 with sa->child filled, or the
 * notify saying why there is none (the IKE SA stays). */
static uint16_t auth_child(const struct ike_env *env, struct ike_sa *sa, const struct auth_req *r,
                           struct ike_proposal_choice *esp, const char **why)
{
    if (!sa->vip.s_addr) {
        *why = "no virtual IP was asked for (CP CFG_REQUEST with INTERNAL_IP4_ADDRESS)";
        return IKE_N_FAILED_CP_REQUIRED;
    }
    memset(esp, 0, sizeof(*esp));
    if (ike_proposal_select_esp(env->set, &r->sapl, esp) != 0) {
        *why = "no acceptable ESP proposal";
        return IKE_N_NO_PROPOSAL_CHOSEN;
    }
    struct child_sa *c = calloc(1, sizeof(*c));
    if (!c) {
        *why = "out of memory";
        return IKE_N_TEMPORARY_FAILURE;
    }
    if ((sa->authz ? exch_authz_narrow(sa, &r->tsi, &r->tsr, c, why)
                   : exch_narrow_ts(env->set, sa->vip, &r->tsi, &r->tsr, c, why)) != 0) {
        free(c);
        return IKE_N_TS_UNACCEPTABLE;
    }
    c->esp = esp->esp;
    c->spi_out = esp->peer_spi;
    c->spi_in = exch_random_esp_spi();
    if (!c->spi_in || exch_child_keys(sa, c) != 0) {
        ike_crypto_wipe(c, sizeof(*c));
        free(c);
        *why = "CHILD SA keys could not be derived";
        return IKE_N_NO_PROPOSAL_CHOSEN;
    }
    sa->child = c;
    return 0;
}

static void auth_record_peer(struct ike_sa *sa, ike_cert_peer *peer, const struct auth_req *r)
{
    char subject[256];
    ike_cert_peer_subject_text(peer, subject, sizeof(subject));
    free(sa->peer_subject);
    sa->peer_subject = strdup(subject);
    ike_cert_peer_serial_hex(peer, sa->peer_serial, sizeof(sa->peer_serial));
    memcpy(sa->peer_fpr, ike_cert_peer_fingerprint(peer), sizeof(sa->peer_fpr));
    sa->peer_initial_contact = r->initial_contact;
    sa->peer_mobike = r->mobike;
}

static int auth_write_response(const struct ike_env *env, struct ike_sa *sa, uint32_t msgid,
                               const struct auth_req *r, const struct exch_cp_reply *cp,
                               uint16_t child_err, const struct ike_proposal_choice *esp,
                               struct ike_tx *tx)
{
    struct auth_ours o;
    if (auth_our_id(env, &o) < 0 || ike_auth_choose(ike_cert_own_key(env->own), sa->peer_hash_mask,
                                                    false, &o.scheme) != IKE_CRYPTO_OK) {
        log_err("IKE_AUTH: no identity or signature scheme for our key");
        return -1;
    }
    struct ike_wr w;
    uint8_t sig[AUTH_MAX_SIG];
    size_t sig_len = 0;
    exch_sk_open(&w, sa, IKE_EXCH_IKE_AUTH, msgid, true);
    ike_wr_id(&w, IKE_PL_IDR, o.id_type, o.id, o.id_len);
    if (w.err != IKE_OK ||
        auth_sign(env, sa, ike_wr_last_body(&w), o.scheme, sig, sizeof(sig), &sig_len) < 0)
        return -1;
    bool matched = false;
    size_t n =
        ike_cert_own_select(env->own, r->certreq_len ? r->certreq : NULL, r->certreq_len, &matched);
    if (n == 0)
        n = 1;
    for (size_t i = 0; i < n && i < ike_cert_own_count(env->own); i++) {
        size_t len = 0;
        const uint8_t *der = ike_cert_own_der(env->own, i, &len);
        ike_wr_cert(&w, IKE_CERT_X509_SIG, der, len);
    }
    ike_wr_auth(&w, ike_auth_scheme_method(o.scheme), sig, sig_len);
    if (cp->n)
        ike_wr_cp(&w, IKE_CFG_REPLY, cp->attr, cp->n);
    if (child_err)
        ike_wr_notify(&w, IKE_PROTO_NONE, child_err, NULL, 0, NULL, 0);
    exch_mobike_auth_response(&w, sa);
    if (sa->child) {
        ike_proposal_write_esp(&w, esp, sa->child->spi_in);
        exch_write_ts(&w, sa->child);
    }
    return exch_sk_close(&w, sa, tx);
}

static enum ike_exch_result auth_finish(const struct ike_env *env, struct ike_sa *sa,
                                        const struct auth_req *r, uint32_t msgid, uint64_t now_ms,
                                        struct ike_tx *tx);

enum ike_exch_result exch_ike_auth(const struct ike_env *env, struct ike_sa *sa,
                                   const struct ike_rx *rx, const struct ike_msg *m,
                                   struct ike_tx *tx)
{
    struct ike_chain in;
    uint16_t notify = 0;
    uint8_t nd = 0;
    switch (exch_open_request(sa, rx, m, &in, &notify, &nd)) {
    case EXCH_OPEN_DROP:
        return IKE_EXCH_DROP;
    case EXCH_OPEN_NOTIFY:
        return auth_refuse(sa, rx, m, notify, &nd,
                           notify == IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD ? 1 : 0, NULL, tx);
    case EXCH_OPEN_OK:
        break;
    }
    /* ~7 KiB on the worker's stack rather than an allocation per request. */
    struct auth_req req;
    struct auth_req *r = &req;
    memset(r, 0, sizeof(*r));
    enum ike_exch_result res;
    const char *pwhy = NULL;
    char why[512];
    ike_cert_peer *peer = NULL;
    uint16_t perr = auth_parse(&in, r, &pwhy);
    if (perr) {
        res = auth_refuse(sa, rx, m, perr, NULL, 0, pwhy, tx);
        goto out;
    }
    if (auth_verify_peer(env, sa, r, &peer, why, sizeof(why)) < 0) {
        res = auth_refuse(sa, rx, m, IKE_N_AUTHENTICATION_FAILED, NULL, 0, why, tx);
        goto out;
    }
    auth_record_peer(sa, peer, r);
    ike_cert_peer_free(peer);
    if (!sa->peer_subject) {
        log_err("IKE_AUTH: out of memory");
        res = IKE_EXCH_DROP;
        goto out;
    }
    /* §2.23: a device that found a NAT moved to port 4500 for IKE_AUTH,
     * through a NAT mapping of its own: the IKE SA and the ESP-in-UDP
     * ports are those of the path this authenticated request took (also for
     * a response that waits for policyd). */
    sa->local = rx->local;
    sa->remote = rx->remote;
    switch (env->set->authz) {
    case IKED_AUTHZ_CA_ONLY:
        break; /* a certificate from a configured CA is enough */
    case IKED_AUTHZ_POLICYD:
        /* Authenticated: the rest waits for policyd's decision. */
        res = exch_authz_hold(sa, &in, m->hdr.msgid);
        goto out;
    default:
        res = auth_refuse(sa, rx, m, IKE_N_AUTHENTICATION_FAILED, NULL, 0,
                          "no authorization mode configured", tx);
        goto out;
    }
    res = auth_finish(env, sa, r, m->hdr.msgid, rx->now_ms, tx);
out:
    return res;
}

/* Authenticated and authorized: the virtual IP, the CHILD SA, our AUTH. */
static enum ike_exch_result auth_finish(const struct ike_env *env, struct ike_sa *sa,
                                        const struct auth_req *r, uint32_t msgid, uint64_t now_ms,
                                        struct ike_tx *tx)
{
    enum ike_exch_result res;
    struct exch_cp_reply cp = {0};
    uint16_t child_err = 0;
    char cwhy[160] = "";
    if (r->has_cp && r->cp.cfg_type == IKE_CFG_REQUEST)
        child_err = exch_cp_answer(env, sa, &r->cp, &cp, cwhy, sizeof(cwhy));
    if (sa->authz && !child_err && r->has_cp && r->cp.cfg_type == IKE_CFG_REQUEST)
        exch_authz_cp(sa, &r->cp, &cp);
    struct ike_proposal_choice esp;
    memset(&esp, 0, sizeof(esp));
    if (r->has_sa && !child_err) {
        const char *w = NULL;
        child_err = auth_child(env, sa, r, &esp, &w);
        if (child_err)
            snprintf(cwhy, sizeof(cwhy), "%s", w ? w : "");
    }

    if (auth_write_response(env, sa, msgid, r, &cp, child_err, &esp, tx) < 0) {
        /* Logged; the SA stays half-open so a retransmission may retry. */
        if (sa->child) {
            ike_crypto_wipe(sa->child, sizeof(*sa->child));
            free(sa->child);
            sa->child = NULL;
        }
        res = IKE_EXCH_DROP;
        goto out;
    }
    exch_cache_response(sa, msgid, tx);
    ike_sa_drop_auth_material(sa);

    char d[320], vip[INET_ADDRSTRLEN] = "none", acc[48] = "";
    if (sa->vip.s_addr)
        inet_ntop(AF_INET, &sa->vip, vip, sizeof(vip));
    if (sa->authz)
        snprintf(acc, sizeof(acc), ", access %s%s",
                 ike_grant_decision_name(sa->authz->grant.decision),
                 sa->authz->from_cache ? " (cached grant)" : "");
    if (sa->child) {
        sa->state = IKE_SA_INSTALLING;
        log_info("IKE_AUTH ok: %s serial %s, virtual IP %s%s, CHILD SA in %08x out %08x (%s/%u)",
                 ike_sa_describe(sa, d, sizeof(d)), sa->peer_serial, vip, acc, sa->child->spi_in,
                 sa->child->spi_out, ike_transform_id_name(IKE_XF_ENCR, sa->child->esp.encr),
                 sa->child->esp.encr_keybits);
        res = IKE_EXCH_INSTALL;
    } else {
        sa->state = IKE_SA_ESTABLISHED;
        sa->established_ms = now_ms;
        if (child_err)
            log_notice("IKE_AUTH ok: %s serial %s, virtual IP %s%s, no CHILD SA: %s: %s",
                       ike_sa_describe(sa, d, sizeof(d)), sa->peer_serial, vip, acc,
                       ike_notify_name(child_err), cwhy);
        else
            log_info("IKE_AUTH ok: %s serial %s, virtual IP %s%s, no CHILD SA asked for",
                     ike_sa_describe(sa, d, sizeof(d)), sa->peer_serial, vip, acc);
        res = IKE_EXCH_REPLY;
    }
out:
    return res;
}

enum ike_exch_result ike_exch_auth_resume(const struct ike_env *env, struct ike_sa *sa,
                                          uint64_t now_ms, struct ike_tx *tx)
{
    tx->buf = NULL;
    tx->len = 0;
    struct ike_authz *a = sa->authz;
    if (!a || !a->held || sa->state != IKE_SA_HALF_OPEN) {
        log_err("IKE_AUTH resumed without a held request: dropped");
        return IKE_EXCH_DROP;
    }
    uint32_t msgid = a->held_msgid;
    struct ike_chain in;
    struct auth_req req;
    memset(&req, 0, sizeof(req));
    const char *pwhy = NULL;
    enum ike_exch_result res;
    /* Parsed and validated before it was held: this cannot fail unless
     * memory was corrupted, and then refusing is the safe answer. */
    if (exch_authz_reopen(sa, &in) != 0 || auth_parse(&in, &req, &pwhy) != 0) {
        res = auth_refuse_to(sa, &sa->remote, msgid, IKE_N_AUTHENTICATION_FAILED, NULL, 0,
                             "the held IKE_AUTH request could not be read again", tx);
    } else if (!a->decided) {
        char why[200];
        snprintf(why, sizeof(why), "%s; fail closed", a->why_none ? a->why_none : "no decision");
        res = auth_refuse_to(sa, &sa->remote, msgid, IKE_N_AUTHENTICATION_FAILED, NULL, 0, why, tx);
    } else if (a->grant.decision == IKE_GRANT_DENY) {
        char why[IKE_GRANT_MAX_REASON + 64];
        snprintf(why, sizeof(why), "denied by policyd%s: %s",
                 a->from_cache ? " (cached decision)" : "",
                 a->grant.reason[0] ? a->grant.reason : "no reason given");
        res = auth_refuse_to(sa, &sa->remote, msgid, IKE_N_AUTHENTICATION_FAILED, NULL, 0, why, tx);
    } else {
        res = auth_finish(env, sa, &req, msgid, now_ms, tx);
    }
    if (res != IKE_EXCH_DROP)
        ike_authz_release_held(a);
    return res;
}
