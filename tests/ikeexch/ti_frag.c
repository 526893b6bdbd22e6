/* The test initiator's side of RFC 7383: its requests cut into SKF
 * fragments (any cut, any numbering, for the reassembly tests) and the
 * responder's fragment sets put back together, as a device does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_frag.h"
#include "ike_msg_wr.h"
#include "ike_sk.h"
#include "ti.h"

static void tif_die(const char *what)
{
    fprintf(stderr, "ti_frag: %s\n", what);
    abort();
}

uint8_t *ti_skf(struct ti *t, uint8_t exchange, uint8_t flags, uint32_t msgid, uint16_t num,
                uint16_t total, uint8_t first, const uint8_t *plain, size_t plain_len, size_t *len)
{
    const ike_encr_info *ei = ike_crypto_encr_info(t->suite.encr, t->suite.encr_keybits);
    const ike_integ_info *ii = ike_crypto_integ_info(t->suite.integ);
    struct ike_hdr h = {0};
    memcpy(h.ispi, t->spi_i, 8);
    memcpy(h.rspi, t->spi_r, 8);
    h.exchange = exchange;
    h.flags = flags;
    h.msgid = msgid;
    struct ike_wr w;
    struct ike_wr_sk lay;
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    if (ike_wr_skf(&w, num, total, first, ei->iv_len, plain, plain_len, ei->block_len,
                   ei->aead ? ei->icv_len : ii->icv_len, &lay) != IKE_OK ||
        ike_wr_finish(&w, NULL) != IKE_OK)
        tif_die("building an SKF fragment");
    size_t body_len = ike_sk_body_len(&t->keys.sk_i, plain_len);
    if (body_len != lay.iv_len + lay.plain_len + lay.icv_len)
        tif_die("SKF layout");
    uint8_t *buf = ike_wr_steal(&w, len);
    if (ike_sk_encrypt(&t->keys.sk_i, buf, lay.aad_len, plain, plain_len, buf + lay.iv_off,
                       body_len) != IKE_CRYPTO_OK)
        tif_die("ike_sk_encrypt");
    return buf;
}

size_t ti_fragment(struct ti *t, const uint8_t *msg, size_t len, size_t chunk, uint8_t ***frags,
                   size_t **lens)
{
    struct ike_msg *m = malloc(sizeof(*m));
    struct ike_error e;
    struct ike_sk sk;
    uint8_t *plain = malloc(len);
    size_t plen = 0;
    if (!m || !plain || ike_msg_parse(m, msg, len, &e) != IKE_OK || !m->sk ||
        ike_pl_sk(m, m->sk, &sk, &e) != IKE_OK ||
        ike_sk_decrypt(&t->keys.sk_i, m->raw, sk.aad_len, sk.body.ptr, sk.body.len, plain, len,
                       &plen) != IKE_CRYPTO_OK)
        tif_die("opening our own request");
    size_t n = plen ? (plen + chunk - 1) / chunk : 1;
    *frags = calloc(n, sizeof(**frags));
    *lens = calloc(n, sizeof(**lens));
    for (size_t i = 0; i < n; i++) {
        size_t off = i * chunk, cl = plen - off < chunk ? plen - off : chunk;
        (*frags)[i] =
            ti_skf(t, m->hdr.exchange, m->hdr.flags, m->hdr.msgid, (uint16_t)(i + 1), (uint16_t)n,
                   i == 0 ? sk.first : IKE_PL_NONE, plain + off, cl, &(*lens)[i]);
    }
    free(plain);
    free(m);
    return n;
}

void ti_frags_free(uint8_t **frags, size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(frags[i]);
    free(frags);
    free(lens);
}

int ti_unfragment(struct ti *t, const uint8_t *buf, size_t len, uint8_t *plain, size_t cap,
                  size_t *plen, uint8_t *first, size_t *n_frags)
{
    struct ike_msg *m = malloc(sizeof(*m));
    uint8_t *part[IKE_FRAG_MAX_FRAGS] = {0};
    size_t part_len[IKE_FRAG_MAX_FRAGS] = {0};
    uint16_t total = 0;
    size_t n = 0;
    int rc = -1;
    *plen = 0;
    *n_frags = 0;
    while (len) {
        size_t one = ike_frag_next_msg(buf, len);
        struct ike_error e;
        struct ike_sk sk;
        if (ike_msg_parse(m, buf, one, &e) != IKE_OK || !m->sk || m->sk->type != IKE_PL_SKF ||
            ike_pl_sk(m, m->sk, &sk, &e) != IKE_OK || (total && sk.frag_total != total) ||
            part[sk.frag_num - 1])
            goto out;
        total = sk.frag_total;
        uint8_t *p = malloc(sk.body.len + 1);
        size_t pl = 0;
        if (ike_sk_decrypt(&t->keys.sk_r, m->raw, sk.aad_len, sk.body.ptr, sk.body.len, p,
                           sk.body.len + 1, &pl) != IKE_CRYPTO_OK) {
            free(p);
            goto out;
        }
        if (sk.frag_num == 1)
            *first = sk.first;
        part[sk.frag_num - 1] = p;
        part_len[sk.frag_num - 1] = pl;
        n++;
        buf += one;
        len -= one;
    }
    if (!total || n != total)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (*plen + part_len[i] > cap)
            goto out;
        memcpy(plain + *plen, part[i], part_len[i]);
        *plen += part_len[i];
    }
    *n_frags = n;
    rc = 0;
out:
    for (size_t i = 0; i < IKE_FRAG_MAX_FRAGS; i++)
        free(part[i]);
    free(m);
    return rc;
}
