#include "test_xfrm_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tx_key(uint8_t *key, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 0x9e3779b9u;

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        key[i] = (uint8_t)x;
    }
}

static void parse_or_die(struct xfrm_addr *a, const char *text)
{
    if (xfrm_addr_parse(a, text) < 0) {
        fprintf(stderr, "test: bad address %s\n", text);
        abort();
    }
}

void tx_sa(struct xfrm_sa *sa, const char *src, const char *dst, uint32_t spi, uint32_t reqid,
           enum xfrm_enc_alg enc, enum xfrm_integ_alg integ)
{
    const struct xfrm_enc_desc *e = xfrm_alg_enc(enc);
    const struct xfrm_integ_desc *i = xfrm_alg_integ(integ);

    memset(sa, 0, sizeof(*sa));
    parse_or_die(&sa->src, src);
    parse_or_die(&sa->dst, dst);
    sa->spi = spi;
    sa->reqid = reqid;
    sa->enc = enc;
    sa->integ = integ;
    if (e) {
        sa->enc_key_len = e->key_len;
        tx_key(sa->enc_key, e->key_len, spi);
    }
    if (i) {
        sa->integ_key_len = i->key_len;
        tx_key(sa->integ_key, i->key_len, spi ^ 0x5a5a5a5au);
    }
    sa->replay_window = 32;
}

void tx_policy(struct xfrm_policy *pol, const char *src_net, const char *dst_net, enum xfrm_dir dir,
               const char *tsrc, const char *tdst, uint32_t reqid)
{
    struct xfrm_err err;

    memset(pol, 0, sizeof(*pol));
    if (xfrm_sel_parse(&pol->sel, src_net, dst_net, &err) < 0) {
        fprintf(stderr, "test: bad selector: %s\n", err.msg);
        abort();
    }
    pol->dir = dir;
    pol->priority = xfrm_owner_policy_priority(&pol->sel);
    pol->n_tmpl = 1;
    parse_or_die(&pol->tmpl[0].src, tsrc);
    parse_or_die(&pol->tmpl[0].dst, tdst);
    pol->tmpl[0].reqid = reqid;
}

void tx_policy_id(struct xfrm_policy_id *id, const struct xfrm_policy *pol)
{
    memset(id, 0, sizeof(*id));
    id->sel = pol->sel;
    id->dir = pol->dir;
    id->mark = pol->mark;
    id->if_id = pol->if_id;
}
