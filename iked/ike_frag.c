/* RFC 7383 fragments: reassembly of a peer's request (§2.6), our own
 * messages cut into fragments (§2.5), and the queue of fragments waiting
 * on the loop while a worker holds their SA. */
#include "ike_frag.h"

#include <stdlib.h>
#include <string.h>

#include "ike_const.h"
#include "ike_crypto.h"
#include "ike_exchange.h"
#include "ike_msg_wr.h"
#include "ike_payload.h"
#include "ike_sa.h"
#include "ike_sk.h"
#include "log.h"

/* SKF's own header after the generic one: Fragment Number, Total Fragments. */
#define FRAG_HDR_LEN 4u
/* UDP header and the non-ESP marker of port 4500 (RFC 3948 §2.2). */
#define FRAG_UDP_LEN    8u
#define FRAG_MARKER_LEN 4u

static uint16_t frag_get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t frag_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool frag_charge(struct ike_frag_budget *b, size_t n)
{
    size_t before = atomic_fetch_add(&b->used, n);
    if (before + n > b->max) {
        atomic_fetch_sub(&b->used, n);
        return false;
    }
    return true;
}

void ike_frag_set_free(struct ike_frag_set *set)
{
    if (!set)
        return;
    for (unsigned i = 0; i < IKE_FRAG_MAX_FRAGS; i++)
        if (set->part[i]) {
            /* Decrypted request content (certificates, AUTH, addresses). */
            ike_crypto_wipe(set->part[i], set->part_len[i]);
            free(set->part[i]);
        }
    if (set->budget)
        atomic_fetch_sub(&set->budget->used, set->bytes);
    free(set);
}

static void frag_drop_set(struct ike_sa *sa)
{
    ike_frag_set_free(sa->frag_rx);
    sa->frag_rx = NULL;
}

enum ike_frag_result ike_frag_receive(struct ike_frag_budget *budget, struct ike_sa *sa,
                                      const struct ike_msg *m, uint64_t now_ms, const char **why)
{
    struct ike_sk sk;
    struct ike_error e;
    *why = NULL;
    if (!budget || !sa->peer_fragmentation) {
        *why = "fragmentation was not negotiated";
        return IKE_FRAG_DROP;
    }
    if (!m->sk || m->sk->type != IKE_PL_SKF || ike_pl_sk(m, m->sk, &sk, &e) != IKE_OK) {
        *why = "malformed SKF payload";
        return IKE_FRAG_DROP;
    }
    if (sk.frag_total > IKE_FRAG_MAX_FRAGS) {
        *why = "more fragments than iked accepts for one message";
        return IKE_FRAG_DROP;
    }
    /* Everything that needs no key first, and nothing changed yet: a
     * fragment changes the state only once its integrity is checked. */
    struct ike_frag_set *set = sa->frag_rx;
    bool replace = false;
    if (set && m->hdr.msgid < set->msgid) {
        *why = "a fragment of an older message";
        return IKE_FRAG_DROP;
    }
    if (set && m->hdr.msgid == set->msgid) {
        if (sk.frag_total < set->total) {
            *why = "Total Fragments smaller than in the fragments already received";
            return IKE_FRAG_DROP;
        }
        if (sk.frag_total == set->total && set->part[sk.frag_num - 1]) {
            *why = "a duplicate fragment";
            return IKE_FRAG_DROP;
        }
        if (m->hdr.exchange != set->exchange) {
            *why = "an exchange type other than the message's other fragments";
            return IKE_FRAG_DROP;
        }
        /* §2.6.2: a larger total means the peer resent the message in
         * smaller fragments; what came before is of no use. */
        replace = sk.frag_total > set->total;
    } else if (set) {
        replace = true; /* a newer message: the older one will never complete */
    }

    uint8_t *plain = malloc(sk.body.len ? sk.body.len : 1);
    if (!plain) {
        *why = "out of memory";
        return IKE_FRAG_DROP;
    }
    size_t plen = 0;
    ike_crypto_err ce = ike_sk_decrypt(&sa->keys.sk_i, m->raw, sk.aad_len, sk.body.ptr, sk.body.len,
                                       plain, sk.body.len, &plen);
    if (ce != IKE_CRYPTO_OK) {
        free(plain);
        *why = ike_sk_err_is_silent_drop(ce) ? "integrity check failed" : ike_crypto_strerror(ce);
        return IKE_FRAG_DROP;
    }
    if (replace)
        frag_drop_set(sa);
    set = sa->frag_rx;
    if (!set) {
        set = calloc(1, sizeof(*set));
        if (!set) {
            free(plain);
            *why = "out of memory";
            return IKE_FRAG_DROP;
        }
        set->budget = budget;
        set->msgid = m->hdr.msgid;
        set->exchange = m->hdr.exchange;
        set->total = sk.frag_total;
        set->started_ms = now_ms;
        sa->frag_rx = set;
    }
    if (set->bytes + plen > IKE_FRAG_MAX_BYTES) {
        ike_crypto_wipe(plain, plen);
        free(plain);
        frag_drop_set(sa);
        *why = "the reassembled message would be larger than 65535 octets: all its fragments "
               "dropped";
        return IKE_FRAG_DROP;
    }
    if (!frag_charge(budget, plen)) {
        ike_crypto_wipe(plain, plen);
        free(plain);
        *why = "the memory for fragments being reassembled is exhausted";
        return IKE_FRAG_DROP;
    }
    set->part[sk.frag_num - 1] = plain;
    set->part_len[sk.frag_num - 1] = (uint16_t)plen;
    set->bytes += plen;
    set->have++;
    if (sk.frag_num == 1)
        set->first = sk.first;
    return set->have == set->total ? IKE_FRAG_COMPLETE : IKE_FRAG_KEPT;
}

int ike_frag_take(struct ike_sa *sa, uint8_t *out, size_t cap, size_t *len, uint8_t *first)
{
    struct ike_frag_set *set = sa->frag_rx;
    *len = 0;
    if (!set || set->have != set->total || set->bytes > cap)
        return -1;
    size_t off = 0;
    for (unsigned i = 0; i < set->total; i++) {
        memcpy(out + off, set->part[i], set->part_len[i]);
        off += set->part_len[i];
    }
    *len = off;
    *first = set->first;
    frag_drop_set(sa);
    return 0;
}

bool ike_frag_expire(struct ike_sa *sa, uint64_t now_ms, uint64_t timeout_ms)
{
    if (!sa->frag_rx || now_ms - sa->frag_rx->started_ms < timeout_ms)
        return false;
    frag_drop_set(sa);
    return true;
}

uint16_t ike_frag_max_msg(uint32_t fragment_size, int family)
{
    uint32_t ip = family == AF_INET6 ? 40 : 20;
    if (fragment_size <= ip + FRAG_UDP_LEN + FRAG_MARKER_LEN + IKE_HDR_LEN)
        return 0;
    uint32_t n = fragment_size - ip - FRAG_UDP_LEN - FRAG_MARKER_LEN;
    return n > UINT16_MAX ? UINT16_MAX : (uint16_t)n;
}

int ike_frag_split(struct ike_sa *sa, const uint8_t *msg, size_t aad_len, uint8_t first,
                   const uint8_t *plain, size_t plain_len, size_t max_msg, struct ike_tx *tx)
{
    ike_sk_dir *dir = &sa->keys.sk_r;
    const ike_encr_info *ei = ike_crypto_encr_info(dir->encr, dir->encr_keybits);
    const ike_integ_info *ii = ike_crypto_integ_info(dir->integ);
    struct ike_hdr h;
    struct ike_error e;
    tx->buf = NULL;
    tx->len = 0;
    if (!ei || (!ei->aead && !ii) || aad_len < IKE_HDR_LEN ||
        ike_hdr_parse(msg, frag_get32(msg + 24), &h, &e) != IKE_OK) {
        log_err("fragmenting a message: no usable keys or header");
        return -1;
    }
    size_t icv_len = ei->aead ? ei->icv_len : ii->icv_len;
    size_t overhead = IKE_HDR_LEN + IKE_GENERIC_HDR_LEN + FRAG_HDR_LEN;
    size_t chunk = max_msg > overhead ? ike_sk_max_plain_len(dir, max_msg - overhead) : 0;
    if (chunk == 0) {
        log_err("fragmenting a message: %zu octets per fragment leave no room for content",
                max_msg);
        return -1;
    }
    size_t n = plain_len ? (plain_len + chunk - 1) / chunk : 1;
    if (n > IKE_FRAG_MAX_FRAGS) {
        log_err("fragmenting a message of %zu octets: %zu fragments are too many", plain_len, n);
        return -1;
    }
    /* One fragment is built in scratch (the writer pads in place), then
     * its header goes to out and its body is encrypted right after it. */
    size_t scratch_cap = max_msg + 256;
    uint8_t *scratch = malloc(scratch_cap);
    uint8_t *out = malloc(n * max_msg);
    if (!scratch || !out) {
        free(scratch);
        free(out);
        log_err("fragmenting a message: out of memory");
        return -1;
    }
    size_t off = 0, pos = 0;
    for (size_t i = 1; i <= n; i++) {
        size_t clen = plain_len - pos < chunk ? plain_len - pos : chunk;
        struct ike_wr w;
        struct ike_wr_sk lay;
        struct ike_span fm;
        ike_wr_init(&w, scratch, scratch_cap);
        ike_wr_header(&w, &h);
        ike_wr_skf(&w, (uint16_t)i, (uint16_t)n, i == 1 ? first : IKE_PL_NONE, ei->iv_len,
                   plain + pos, clen, ei->block_len, icv_len, &lay);
        size_t body_len = ike_sk_body_len(dir, clen);
        bool ok = ike_wr_finish(&w, &fm) == IKE_OK && fm.len <= max_msg &&
                  body_len == lay.iv_len + lay.plain_len + lay.icv_len && lay.iv_off == lay.aad_len;
        if (ok) {
            memcpy(out + off, fm.ptr, lay.aad_len);
            ok = ike_sk_encrypt(dir, out + off, lay.aad_len, plain + pos, clen,
                                out + off + lay.iv_off, body_len) == IKE_CRYPTO_OK;
        }
        if (!ok) {
            log_err("fragmenting a message: fragment %zu of %zu could not be built", i, n);
            ike_crypto_wipe(scratch, scratch_cap);
            free(scratch);
            free(out);
            return -1;
        }
        off += fm.len;
        pos += clen;
    }
    ike_crypto_wipe(scratch, scratch_cap);
    free(scratch);
    tx->buf = out;
    tx->len = off;
    return 0;
}

size_t ike_frag_next_msg(const uint8_t *buf, size_t len)
{
    if (len < IKE_HDR_LEN)
        return len;
    uint32_t l = frag_get32(buf + 24);
    return l >= IKE_HDR_LEN && l <= len ? l : len;
}

bool ike_frag_peek(const uint8_t *buf, size_t len, uint16_t *num)
{
    if (len < IKE_HDR_LEN + IKE_GENERIC_HDR_LEN + FRAG_HDR_LEN || buf[16] != IKE_PL_SKF)
        return false;
    if (num)
        *num = frag_get16(buf + IKE_HDR_LEN + IKE_GENERIC_HDR_LEN);
    return true;
}

int ike_frag_wait_push(struct ike_frag_wait **q, struct ike_frag_budget *budget, const uint8_t *buf,
                       size_t len, const struct sockaddr_storage *local,
                       const struct sockaddr_storage *remote, bool natt_port)
{
    if (!budget)
        return -1;
    if (!*q) {
        *q = calloc(1, sizeof(**q));
        if (!*q)
            return -1;
        (*q)->budget = budget;
    }
    struct ike_frag_wait *w = *q;
    if (w->n >= IKE_FRAG_MAX_FRAGS || w->bytes + len > IKE_FRAG_MAX_BYTES ||
        !frag_charge(budget, len))
        return -1;
    struct ike_frag_pending *p = malloc(sizeof(*p) + len);
    if (!p) {
        atomic_fetch_sub(&budget->used, len);
        return -1;
    }
    p->next = NULL;
    p->local = *local;
    p->remote = *remote;
    p->natt_port = natt_port;
    p->len = len;
    memcpy(p->buf, buf, len);
    if (w->tail)
        w->tail->next = p;
    else
        w->head = p;
    w->tail = p;
    w->n++;
    w->bytes += len;
    return 0;
}

struct ike_frag_pending *ike_frag_wait_pop(struct ike_frag_wait *q)
{
    if (!q || !q->head)
        return NULL;
    struct ike_frag_pending *p = q->head;
    q->head = p->next;
    if (!q->head)
        q->tail = NULL;
    q->n--;
    q->bytes -= p->len;
    atomic_fetch_sub(&q->budget->used, p->len);
    p->next = NULL;
    return p;
}

void ike_frag_wait_free(struct ike_frag_wait *q)
{
    if (!q)
        return;
    struct ike_frag_pending *p;
    while ((p = ike_frag_wait_pop(q)))
        free(p);
    free(q);
}
