/* Helpers shared by the responder's exchanges: building and encrypting a
 * protected message, opening a protected request, NAT detection hashes,
 * unprotected error answers, the response cache and log text. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ike_crypto.h"
#include "ike_exch_int.h"
#include "ike_frag.h"
#include "ike_sk.h"
#include "log.h"

/* One message being built and one decrypted request per worker thread:
 * no allocation per packet but the response handed to the caller. */
static _Thread_local uint8_t exch_wbuf[EXCH_MAX_MSG];
static _Thread_local uint8_t exch_plain[EXCH_MAX_MSG];

const char *exch_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
        port = ntohs(s4->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
        port = ntohs(s6->sin6_port);
    }
    snprintf(buf, len, "%s[%u]", a, port);
    return buf;
}

/* SHA-1 fetched once: the implicit fetch behind EVP_sha1() takes a lock
 * and a lookup on every use. */
static EVP_MD *exch_sha1;
static pthread_once_t exch_sha1_once = PTHREAD_ONCE_INIT;

static void exch_sha1_fetch(void)
{
    exch_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
}

int exch_natd_hash(const uint8_t spi_i[IKE_SPI_LEN], const uint8_t spi_r[IKE_SPI_LEN],
                   const struct sockaddr_storage *ss, uint8_t out[EXCH_NATD_LEN])
{
    uint8_t in[2 * IKE_SPI_LEN + 16 + 2];
    size_t n = 0;
    memcpy(in, spi_i, IKE_SPI_LEN);
    memcpy(in + IKE_SPI_LEN, spi_r, IKE_SPI_LEN);
    n = 2 * IKE_SPI_LEN;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        memcpy(in + n, &s4->sin_addr, 4);
        n += 4;
        memcpy(in + n, &s4->sin_port, 2);
        n += 2;
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        memcpy(in + n, &s6->sin6_addr, 16);
        n += 16;
        memcpy(in + n, &s6->sin6_port, 2);
        n += 2;
    } else {
        return -1;
    }
    pthread_once(&exch_sha1_once, exch_sha1_fetch);
    unsigned int olen = 0;
    if (!exch_sha1 || !EVP_Digest(in, n, out, &olen, exch_sha1, NULL) || olen != EXCH_NATD_LEN)
        return -1;
    return 0;
}

void exch_wr_init(struct ike_wr *w)
{
    ike_wr_init(w, exch_wbuf, sizeof(exch_wbuf));
}

int exch_plain_notify(const struct ike_hdr *req, uint16_t type, const void *data, size_t len,
                      struct ike_tx *tx)
{
    struct ike_hdr h = {0};
    memcpy(h.ispi, req->ispi, IKE_SPI_LEN);
    h.exchange = req->exchange;
    h.flags = IKE_FLAG_RESPONSE;
    h.msgid = req->msgid;
    struct ike_wr w;
    exch_wr_init(&w);
    ike_wr_header(&w, &h);
    ike_wr_notify(&w, IKE_PROTO_NONE, type, NULL, 0, data, len);
    struct ike_span msg;
    if (ike_wr_finish(&w, &msg) != IKE_OK || !(tx->buf = malloc(msg.len))) {
        log_err("building a %s answer failed", ike_notify_name(type));
        return -1;
    }
    memcpy(tx->buf, msg.ptr, msg.len);
    tx->len = msg.len;
    return 0;
}

enum exch_open exch_open_request(struct ike_sa *sa, const struct ike_rx *rx,
                                 const struct ike_msg *m, struct ike_chain *inner, uint16_t *notify,
                                 uint8_t *notify_data)
{
    /* Whatever the peer sends, request or response, it protects with its
     * role's keys: SK_ei / SK_ai when it is the original initiator. */
    const ike_sk_dir *dir = sa->we_initiator ? &sa->keys.sk_r : &sa->keys.sk_i;
    char from[64];
    struct ike_error e;
    struct ike_sk sk;
    *notify = 0;
    *notify_data = 0;
    inner->n = inner->n_skipped = 0;
    if (!m->sk) {
        log_info("%s message from %s without an SK payload: dropped",
                 ike_exchange_name(m->hdr.exchange),
                 exch_addr_str(&rx->remote, from, sizeof(from)));
        return EXCH_OPEN_DROP;
    }
    size_t plen = 0;
    if (m->sk->type != IKE_PL_SK) {
        /* RFC 7383: ike_exch_request checked and kept every fragment; the
         * last one completed the set. */
        if (ike_frag_take(sa, exch_plain, sizeof(exch_plain), &plen, &sk.first) < 0) {
            log_info("%s message from %s in SKF fragments that do not make a message: dropped",
                     ike_exchange_name(m->hdr.exchange),
                     exch_addr_str(&rx->remote, from, sizeof(from)));
            return EXCH_OPEN_DROP;
        }
        goto parse;
    }
    if (ike_pl_sk(m, m->sk, &sk, &e) != IKE_OK) {
        log_info("%s message from %s with a malformed SK payload: dropped",
                 ike_exchange_name(m->hdr.exchange),
                 exch_addr_str(&rx->remote, from, sizeof(from)));
        return EXCH_OPEN_DROP;
    }
    ike_crypto_err ce = ike_sk_decrypt(dir, m->raw, sk.aad_len, sk.body.ptr, sk.body.len,
                                       exch_plain, sizeof(exch_plain), &plen);
    if (ce == IKE_CRYPTO_ERR_BAD_PADDING) {
        log_info("%s message from %s: authentic but its padding is impossible: INVALID_SYNTAX",
                 ike_exchange_name(m->hdr.exchange),
                 exch_addr_str(&rx->remote, from, sizeof(from)));
        *notify = IKE_N_INVALID_SYNTAX;
        return EXCH_OPEN_NOTIFY;
    }
    if (ce != IKE_CRYPTO_OK) {
        log_info("%s message %u from %s dropped: %s", ike_exchange_name(m->hdr.exchange),
                 m->hdr.msgid, exch_addr_str(&rx->remote, from, sizeof(from)),
                 ike_sk_err_is_silent_drop(ce) ? "integrity check failed"
                                               : ike_crypto_strerror(ce));
        return EXCH_OPEN_DROP;
    }
parse:
    if (ike_chain_parse(inner, sk.first, exch_plain, plen, 0, IKE_CHAIN_INNER, &e) != IKE_OK ||
        ike_chain_validate(m, inner, &e) != IKE_OK) {
        char why[160];
        ike_error_format(&e, why, sizeof(why));
        uint16_t n = ike_error_notify(&e);
        log_info("%s message %u from %s refused: %s", ike_exchange_name(m->hdr.exchange),
                 m->hdr.msgid, exch_addr_str(&rx->remote, from, sizeof(from)), why);
        if (!n)
            return EXCH_OPEN_DROP;
        *notify = n;
        *notify_data = e.payload;
        inner->n = inner->n_skipped = 0;
        return EXCH_OPEN_NOTIFY;
    }
    return EXCH_OPEN_OK;
}

void exch_sk_open(struct ike_wr *w, const struct ike_sa *sa, uint8_t exchange, uint32_t msgid,
                  bool response)
{
    struct ike_hdr h = {0};
    memcpy(h.ispi, &sa->spi_i, IKE_SPI_LEN);
    memcpy(h.rspi, &sa->spi_r, IKE_SPI_LEN);
    h.exchange = exchange;
    h.flags =
        (uint8_t)((response ? IKE_FLAG_RESPONSE : 0) | (sa->we_initiator ? IKE_FLAG_INITIATOR : 0));
    h.msgid = msgid;
    const ike_encr_info *ei = ike_crypto_encr_info(sa->suite.encr, sa->suite.encr_keybits);
    exch_wr_init(w);
    ike_wr_header(w, &h);
    /* An SA without a known cipher cannot exist (the proposal was checked);
     * a zero IV length would only make exch_sk_close fail. */
    ike_wr_sk_begin(w, ei ? ei->iv_len : 0);
}

int exch_sk_close(struct ike_wr *w, struct ike_sa *sa, struct ike_tx *tx)
{
    ike_sk_dir *dir = sa->we_initiator ? &sa->keys.sk_i : &sa->keys.sk_r;
    const ike_encr_info *ei = ike_crypto_encr_info(dir->encr, dir->encr_keybits);
    const ike_integ_info *ii = ike_crypto_integ_info(dir->integ);
    tx->buf = NULL;
    tx->len = 0;
    if (!ei || (!ei->aead && !ii)) {
        log_err("IKE SA without usable SK_er keys: message not built");
        return -1;
    }
    struct ike_wr_sk lay;
    struct ike_span msg;
    if (ike_wr_sk_end(w, ei->block_len, ei->aead ? ei->icv_len : ii->icv_len, &lay) != IKE_OK ||
        ike_wr_finish(w, &msg) != IKE_OK) {
        log_err("building a protected message failed: %s", ike_err_name(w->err));
        return -1;
    }
    /* The writer padded like the crypto layer does (minimum padding to the
     * block size): the inner payloads are what precedes it. */
    size_t pad = msg.ptr[lay.plain_off + lay.plain_len - 1];
    size_t inner_len = lay.plain_len - 1 - pad;
    size_t body_len = ike_sk_body_len(dir, inner_len);
    if (body_len != lay.iv_len + lay.plain_len + lay.icv_len || lay.iv_off != lay.aad_len ||
        lay.icv_off + lay.icv_len != msg.len) {
        log_err("SK payload layout disagrees with the cipher's: message not built");
        return -1;
    }
    if (sa->peer_fragmentation && sa->frag_max && msg.len > sa->frag_max) {
        /* RFC 7383 §2.5: the same inner payloads, in fragments. */
        int rc =
            ike_frag_split(sa, msg.ptr, lay.aad_len, msg.ptr[lay.aad_len - IKE_GENERIC_HDR_LEN],
                           msg.ptr + lay.plain_off, inner_len, sa->frag_max, tx);
        ike_crypto_wipe(exch_wbuf, msg.len);
        return rc;
    }
    uint8_t *out = malloc(msg.len);
    if (!out) {
        log_err("out of memory building a protected message");
        return -1;
    }
    memcpy(out, msg.ptr, lay.aad_len);
    ike_crypto_err ce = ike_sk_encrypt(dir, out, lay.aad_len, msg.ptr + lay.plain_off, inner_len,
                                       out + lay.iv_off, body_len);
    /* The plaintext (keys of nobody, but AUTH data and addresses) goes. */
    ike_crypto_wipe(exch_wbuf, msg.len);
    if (ce != IKE_CRYPTO_OK) {
        free(out);
        log_err("encrypting a protected message failed: %s", ike_crypto_strerror(ce));
        return -1;
    }
    tx->buf = out;
    tx->len = msg.len;
    return 0;
}

int exch_sk_notify(struct ike_sa *sa, uint8_t exchange, uint32_t msgid, uint16_t type,
                   const void *data, size_t len, struct ike_tx *tx)
{
    struct ike_wr w;
    exch_sk_open(&w, sa, exchange, msgid, true);
    if (type)
        ike_wr_notify(&w, IKE_PROTO_NONE, type, NULL, 0, data, len);
    return exch_sk_close(&w, sa, tx);
}

int exch_cache_response(struct ike_sa *sa, uint32_t msgid, const struct ike_tx *tx)
{
    sa->last_msgid = msgid;
    sa->next_msgid = msgid + 1;
    uint8_t *copy = tx->len ? realloc(sa->last_resp, tx->len) : NULL;
    if (!copy) {
        free(sa->last_resp);
        sa->last_resp = NULL;
        sa->last_resp_len = 0;
        return tx->len ? -1 : 0;
    }
    memcpy(copy, tx->buf, tx->len);
    sa->last_resp = copy;
    sa->last_resp_len = tx->len;
    return 0;
}

static const char *xf_short(const struct ike_transform *t, char *buf, size_t len)
{
    const char *name = ike_transform_id_name(t->type, t->id);
    if (strcmp(name, "UNKNOWN") == 0)
        snprintf(buf, len, "%s#%u", ike_transform_type_name(t->type), t->id);
    else if (t->key_len)
        snprintf(buf, len, "%s_%u", name, t->key_len);
    else
        snprintf(buf, len, "%s", name);
    return buf;
}

void exch_describe_proposals(const struct ike_sa_pl *sa, char *buf, size_t len)
{
    size_t off = 0;
    if (!len)
        return;
    buf[0] = '\0';
    for (unsigned p = 0; p < sa->n_prop && off + 1 < len; p++) {
        const struct ike_proposal *pr = &sa->prop[p];
        int n = snprintf(buf + off, len - off, "%s%s:", p ? " " : "", ike_proto_name(pr->proto));
        if (n < 0 || (size_t)n >= len - off)
            break;
        off += (size_t)n;
        for (unsigned i = 0; i < pr->n_xf && off + 1 < len; i++) {
            char x[48];
            n = snprintf(buf + off, len - off, "%s%s", i ? "/" : "",
                         xf_short(&sa->xf[pr->first_xf + i], x, sizeof(x)));
            if (n < 0 || (size_t)n >= len - off) {
                off = len - 1;
                break;
            }
            off += (size_t)n;
        }
    }
}
