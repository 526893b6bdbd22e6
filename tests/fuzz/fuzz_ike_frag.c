/* libFuzzer: RFC 7383 reassembly (iked/ike_frag.c) driven by a script of
 * fragments. The input is a sequence of records; each is one of
 *   0 authentic fragment: msgid, num, total, exchange, first, len16, plain
 *   1 the same, one octet flipped after it was protected
 *   2 a raw datagram: len16, octets (parsed; given to reassembly if SKF)
 *   3 time passes: seconds (the reassembly timeout is checked)
 * Authentic fragments are protected with the SA's own keys here, so the
 * fuzzer reaches the state machine behind the integrity check. After
 * every record the budget must equal what the SA holds; a complete set
 * must be taken whole and its chain parse without reading out of bounds;
 * once the SA is freed the budget must be back to zero. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ike_const.h"
#include "ike_crypto.h"
#include "ike_frag.h"
#include "ike_msg_wr.h"
#include "ike_sa.h"
#include "ike_sk.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rd {
    const uint8_t *p;
    size_t n;
};

static bool rd8(struct rd *r, uint8_t *v)
{
    if (r->n < 1)
        return false;
    *v = *r->p++;
    r->n--;
    return true;
}

static bool rd16(struct rd *r, uint16_t *v)
{
    uint8_t a, b;
    if (!rd8(r, &a) || !rd8(r, &b))
        return false;
    *v = (uint16_t)(a << 8 | b);
    return true;
}

static void check_budget(const struct ike_frag_budget *b, const struct ike_sa *sa)
{
    size_t held = sa->frag_rx ? sa->frag_rx->bytes : 0;
    if (atomic_load(&b->used) != held)
        abort();
}

/* One fragment protected with sa's initiator keys (the peer's view). */
static uint8_t *protect(struct ike_sa *sa, uint32_t msgid, uint8_t exchange, uint16_t num,
                        uint16_t total, uint8_t first, const uint8_t *plain, size_t plain_len,
                        size_t *len)
{
    const ike_encr_info *ei = ike_crypto_encr_info(sa->keys.sk_i.encr, sa->keys.sk_i.encr_keybits);
    struct ike_hdr h = {0};
    memcpy(h.ispi, &sa->spi_i, 8);
    memcpy(h.rspi, &sa->spi_r, 8);
    h.exchange = exchange;
    h.flags = IKE_FLAG_INITIATOR;
    h.msgid = msgid;
    struct ike_wr w;
    struct ike_wr_sk lay;
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    if (!ei ||
        ike_wr_skf(&w, num, total, num == 1 ? first : IKE_PL_NONE, ei->iv_len, plain, plain_len,
                   ei->block_len, ei->icv_len, &lay) != IKE_OK ||
        ike_wr_finish(&w, NULL) != IKE_OK) {
        ike_wr_free(&w);
        return NULL;
    }
    uint8_t *buf = ike_wr_steal(&w, len);
    size_t body_len = ike_sk_body_len(&sa->keys.sk_i, plain_len);
    if (!buf || body_len != lay.iv_len + lay.plain_len + lay.icv_len ||
        ike_sk_encrypt(&sa->keys.sk_i, buf, lay.aad_len, plain, plain_len, buf + lay.iv_off,
                       body_len) != IKE_CRYPTO_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void feed(struct ike_frag_budget *b, struct ike_sa *sa, const uint8_t *buf, size_t len,
                 uint64_t now)
{
    static uint8_t out[IKE_FRAG_MAX_BYTES];
    struct ike_msg m;
    struct ike_error e;
    const char *why = NULL;
    if (ike_msg_parse(&m, buf, len, &e) != IKE_OK || !m.sk || m.sk->type != IKE_PL_SKF)
        return;
    if (ike_frag_receive(b, sa, &m, now, &why) == IKE_FRAG_COMPLETE) {
        size_t want = sa->frag_rx->bytes, got = 0;
        uint8_t first = 0;
        if (ike_frag_take(sa, out, sizeof(out), &got, &first) != 0 || got != want || sa->frag_rx)
            abort();
        if (ike_msg_parse_inner(&m, first, out, got, &e) == IKE_OK)
            ike_chain_validate(&m, &m.inner, &e);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        log_init("fuzz", LOG_CRIT);
        if (ike_crypto_init() != IKE_CRYPTO_OK)
            abort();
        ready = true;
    }
    struct ike_frag_budget budget = {.max = 256 * 1024};
    struct ike_sa *sa = ike_sa_new();
    if (!sa)
        return 0;
    static const uint8_t km[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
    sa->spi_i = 0x0102030405060708ull;
    sa->spi_r = 0x1112131415161718ull;
    sa->peer_fragmentation = true;
    if (ike_sk_dir_init(&sa->keys.sk_i, IKE_ENCR_AES_GCM_16, 128, 0, km, sizeof(km), NULL, 0) !=
        IKE_CRYPTO_OK)
        abort();
    struct rd r = {data, size};
    uint64_t now = 1000;
    uint8_t op;
    while (rd8(&r, &op)) {
        switch (op & 3) {
        case 0:
        case 1: {
            uint8_t msgid, num, total, exch, first;
            uint16_t len;
            if (!rd8(&r, &msgid) || !rd8(&r, &num) || !rd8(&r, &total) || !rd8(&r, &exch) ||
                !rd8(&r, &first) || !rd16(&r, &len))
                goto done;
            len %= 4096;
            if (len > r.n)
                len = (uint16_t)r.n;
            /* Totals past the limit too, sometimes. */
            uint16_t tot = (op & 4) ? (uint16_t)(total + 100) : total;
            size_t flen = 0;
            uint8_t *f = protect(sa, msgid % 8, (uint8_t)(IKE_EXCH_IKE_AUTH + exch % 4), num, tot,
                                 first, r.p, len, &flen);
            r.p += len;
            r.n -= len;
            if (!f)
                break;
            if (op & 1)
                f[(size_t)(op >> 3) * 7 % flen] ^= (uint8_t)(1u << (op % 8));
            feed(&budget, sa, f, flen, now);
            free(f);
            break;
        }
        case 2: {
            uint16_t len;
            if (!rd16(&r, &len))
                goto done;
            if (len > r.n)
                len = (uint16_t)r.n;
            uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
            if (!copy)
                goto done;
            memcpy(copy, r.p, len);
            feed(&budget, sa, copy, len, now);
            free(copy);
            r.p += len;
            r.n -= len;
            break;
        }
        case 3: {
            uint8_t s;
            if (!rd8(&r, &s))
                goto done;
            now += (uint64_t)s * 1000;
            ike_frag_expire(sa, now, IKE_FRAG_TIMEOUT_MS);
            break;
        }
        }
        check_budget(&budget, sa);
    }
done:
    check_budget(&budget, sa);
    ike_sa_free(sa);
    if (atomic_load(&budget.used) != 0)
        abort();
    return 0;
}
