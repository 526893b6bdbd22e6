#include "xfrm_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/udp.h>
#include <string.h>
#include <sys/socket.h>

#include "xfrm_owner.h"

/* Largest SA message: header, usersa_info, CBC + HMAC-SHA2-512 keys, a full
 * ESN bitmap, encapsulation, mark, if_id. */
#define SA_MSG_WORST                                                                               \
    (NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct xfrm_usersa_info)) +                                   \
     MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(struct xfrm_algo) + XFRM_KEY_MAX) +                        \
     MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(struct xfrm_algo_auth) + XFRM_KEY_MAX) +                   \
     MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(struct xfrm_replay_state_esn) +                            \
               XFRM_REPLAY_WINDOW_MAX / 8) +                                                       \
     MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(struct xfrm_encap_tmpl)) +                                 \
     MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(struct xfrm_mark)) + MNL_ALIGN(MNL_ATTR_HDRLEN + 4))
_Static_assert(SA_MSG_WORST <= XFRM_MSG_MAX_LEN, "SA message may exceed XFRM_MSG_MAX_LEN");

static struct nlmsghdr *start(void *buf, uint16_t type, uint16_t flags)
{
    struct nlmsghdr *nlh;

    memset(buf, 0, NLMSG_HDRLEN);
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    return nlh;
}

static void put_algs(struct nlmsghdr *nlh, const struct xfrm_sa *sa)
{
    const struct xfrm_enc_desc *enc = xfrm_alg_enc(sa->enc);
    const struct xfrm_integ_desc *integ = xfrm_alg_integ(sa->integ);

    if (enc->aead) {
        struct xfrm_algo_aead *a =
            xfrm_msg_put_attr(nlh, XFRMA_ALG_AEAD, sizeof(*a) + sa->enc_key_len);

        strncpy(a->alg_name, enc->kernel_name, sizeof(a->alg_name) - 1);
        a->alg_key_len = (unsigned)(sa->enc_key_len * 8);
        a->alg_icv_len = enc->icv_bits;
        memcpy(a->alg_key, sa->enc_key, sa->enc_key_len);
        return;
    }
    struct xfrm_algo *c = xfrm_msg_put_attr(nlh, XFRMA_ALG_CRYPT, sizeof(*c) + sa->enc_key_len);

    strncpy(c->alg_name, enc->kernel_name, sizeof(c->alg_name) - 1);
    c->alg_key_len = (unsigned)(sa->enc_key_len * 8);
    memcpy(c->alg_key, sa->enc_key, sa->enc_key_len);

    /* AUTH_TRUNC rather than AUTH: the latter would use the kernel's default
     * truncation, which is 96 bits for every HMAC, not RFC 4868's. */
    struct xfrm_algo_auth *i =
        xfrm_msg_put_attr(nlh, XFRMA_ALG_AUTH_TRUNC, sizeof(*i) + sa->integ_key_len);

    strncpy(i->alg_name, integ->kernel_name, sizeof(i->alg_name) - 1);
    i->alg_key_len = (unsigned)(sa->integ_key_len * 8);
    i->alg_trunc_len = integ->trunc_bits;
    memcpy(i->alg_key, sa->integ_key, sa->integ_key_len);
}

struct nlmsghdr *xfrm_msg_sa(void *buf, uint16_t type, const struct xfrm_sa *sa)
{
    struct nlmsghdr *nlh = start(buf, type, 0);
    struct xfrm_usersa_info info;
    struct xfrm_usersa_info *p = &info;

    /* Built aside and copied: in a batch the header may sit at an address
     * that is not 8-byte aligned, and it holds 64-bit fields. */
    memset(p, 0, sizeof(*p));
    xfrm_msg_sel_to_kernel(&sa->sel, &p->sel);
    xfrm_msg_addr_to_kernel(&sa->dst, &p->id.daddr);
    p->id.spi = htonl(sa->spi);
    p->id.proto = IPPROTO_ESP;
    xfrm_msg_addr_to_kernel(&sa->src, &p->saddr);
    xfrm_msg_lft_to_kernel(&sa->lft, &p->lft);
    p->reqid = sa->reqid;
    p->family = sa->dst.family;
    p->mode = XFRM_MODE_TUNNEL;
    /* The window travels in XFRMA_REPLAY_ESN_VAL; the kernel refuses a
     * legacy replay_window next to it. */
    p->replay_window = 0;
    if (sa->esn)
        p->flags |= XFRM_STATE_ESN;
    /* Without this flag the kernel turns an any-family selector into one
     * of the outer family and IPv6-in-IPv4 traffic would not match. */
    if (sa->sel.src.family == AF_UNSPEC)
        p->flags |= XFRM_STATE_AF_UNSPEC;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(info)), &info, sizeof(info));

    put_algs(nlh, sa);
    if (sa->esn || sa->replay_window) {
        uint32_t words = (sa->replay_window + 31) / 32;
        struct xfrm_replay_state_esn *r;

        if (words == 0)
            words = 1;
        r = xfrm_msg_put_attr(nlh, XFRMA_REPLAY_ESN_VAL, sizeof(*r) + words * sizeof(uint32_t));
        r->bmp_len = words;
        r->replay_window = sa->replay_window;
    }
    if (sa->encap) {
        struct xfrm_encap_tmpl *e = xfrm_msg_put_attr(nlh, XFRMA_ENCAP, sizeof(*e));

        e->encap_type = UDP_ENCAP_ESPINUDP;
        e->encap_sport = htons(sa->encap_ports.sport);
        e->encap_dport = htons(sa->encap_ports.dport);
    }
    xfrm_msg_put_mark_ifid(nlh, &sa->mark, sa->if_id);
    return nlh;
}

struct nlmsghdr *xfrm_msg_sa_id(void *buf, uint16_t type, const struct xfrm_sa_id *id)
{
    struct nlmsghdr *nlh = start(buf, type, 0);
    struct xfrm_usersa_id *p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));

    xfrm_msg_addr_to_kernel(&id->dst, &p->daddr);
    p->spi = htonl(id->spi);
    p->family = id->dst.family;
    p->proto = IPPROTO_ESP;
    xfrm_msg_put_mark_ifid(nlh, &id->mark, 0);
    return nlh;
}

struct nlmsghdr *xfrm_msg_allocspi(void *buf, const struct xfrm_spi_req *req)
{
    struct nlmsghdr *nlh = start(buf, XFRM_MSG_ALLOCSPI, 0);
    struct xfrm_userspi_info spi;
    struct xfrm_userspi_info *p = &spi;

    memset(p, 0, sizeof(*p));
    p->info.sel.family = req->dst.family;
    xfrm_msg_addr_to_kernel(&req->dst, &p->info.id.daddr);
    p->info.id.proto = IPPROTO_ESP;
    xfrm_msg_addr_to_kernel(&req->src, &p->info.saddr);
    p->info.family = req->dst.family;
    p->info.reqid = req->reqid;
    p->info.mode = XFRM_MODE_TUNNEL;
    p->info.lft.soft_byte_limit = XFRM_INF;
    p->info.lft.hard_byte_limit = XFRM_INF;
    p->info.lft.soft_packet_limit = XFRM_INF;
    p->info.lft.hard_packet_limit = XFRM_INF;
    p->min = req->min;
    p->max = req->max;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(spi)), &spi, sizeof(spi));
    xfrm_msg_put_mark_ifid(nlh, &req->mark, req->if_id);
    return nlh;
}

struct nlmsghdr *xfrm_msg_sa_dump(void *buf)
{
    return start(buf, XFRM_MSG_GETSA, NLM_F_DUMP);
}

static void copy_name(char *dst, size_t dstlen, const char *src, size_t srclen)
{
    size_t n = strnlen(src, srclen);

    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void algs_from_kernel(const xfrm_msg_tb tb, struct xfrm_sa_info *out)
{
    const struct xfrm_algo_aead *aead = xfrm_msg_attr(tb, XFRMA_ALG_AEAD, sizeof(*aead));
    const struct xfrm_algo *crypt = xfrm_msg_attr(tb, XFRMA_ALG_CRYPT, sizeof(*crypt));
    const struct xfrm_algo_auth *trunc = xfrm_msg_attr(tb, XFRMA_ALG_AUTH_TRUNC, sizeof(*trunc));
    const struct xfrm_algo *auth = xfrm_msg_attr(tb, XFRMA_ALG_AUTH, sizeof(*auth));

    /* Key bytes follow each struct; they are deliberately never copied. */
    if (aead) {
        copy_name(out->enc_name, sizeof(out->enc_name), aead->alg_name, sizeof(aead->alg_name));
        out->enc_key_bits = aead->alg_key_len;
        out->icv_bits = aead->alg_icv_len;
        out->enc = xfrm_alg_enc_from_kernel(out->enc_name, out->enc_key_bits);
        if (out->enc != XFRM_ENC_NONE && xfrm_alg_enc(out->enc)->icv_bits != out->icv_bits)
            out->enc = XFRM_ENC_NONE;
    } else if (crypt) {
        copy_name(out->enc_name, sizeof(out->enc_name), crypt->alg_name, sizeof(crypt->alg_name));
        out->enc_key_bits = crypt->alg_key_len;
        out->enc = xfrm_alg_enc_from_kernel(out->enc_name, out->enc_key_bits);
    }
    if (trunc) {
        copy_name(out->integ_name, sizeof(out->integ_name), trunc->alg_name,
                  sizeof(trunc->alg_name));
        out->integ_key_bits = trunc->alg_key_len;
        out->integ_trunc_bits = trunc->alg_trunc_len;
        out->integ = xfrm_alg_integ_from_kernel(out->integ_name, out->integ_trunc_bits);
    } else if (auth) {
        copy_name(out->integ_name, sizeof(out->integ_name), auth->alg_name, sizeof(auth->alg_name));
        out->integ_key_bits = auth->alg_key_len;
    }
    out->larval = !aead && !crypt && !trunc && !auth && !tb[XFRMA_ALG_COMP];
}

int xfrm_msg_sa_info(const struct xfrm_usersa_info *p, const xfrm_msg_tb tb,
                     struct xfrm_sa_info *out, struct xfrm_err *err)
{
    const struct xfrm_replay_state_esn *esn;
    const struct xfrm_replay_state *legacy;
    const struct xfrm_encap_tmpl *encap;
    const struct xfrm_mark *mark;
    const uint32_t *u32;
    const uint64_t *u64;

    memset(out, 0, sizeof(*out));
    if (p->family != AF_INET && p->family != AF_INET6)
        return xfrm_err_set(err, -EPROTO, "SA with unknown address family %u", p->family);
    xfrm_msg_addr_from_kernel(p->family, &p->saddr, &out->src);
    xfrm_msg_addr_from_kernel(p->family, &p->id.daddr, &out->dst);
    out->spi = ntohl(p->id.spi);
    out->proto = p->id.proto;
    out->mode = p->mode;
    out->flags = p->flags;
    out->reqid = p->reqid;
    xfrm_msg_sel_from_kernel(&p->sel, &out->sel);
    xfrm_msg_lft_from_kernel(&p->lft, &out->lft);
    xfrm_msg_cur_from_kernel(&p->curlft, &out->cur);
    out->stats.replay_window = p->stats.replay_window;
    out->stats.replay = p->stats.replay;
    out->stats.integrity_failed = p->stats.integrity_failed;
    out->esn = p->flags & XFRM_STATE_ESN;
    out->replay_window = p->replay_window;

    algs_from_kernel(tb, out);
    esn = xfrm_msg_attr(tb, XFRMA_REPLAY_ESN_VAL, sizeof(*esn));
    legacy = xfrm_msg_attr(tb, XFRMA_REPLAY_VAL, sizeof(*legacy));
    if (esn) {
        out->replay_window = esn->replay_window;
        out->seq = esn->seq;
        out->seq_hi = esn->seq_hi;
        out->oseq = esn->oseq;
        out->oseq_hi = esn->oseq_hi;
        if (esn->bmp_len > 0 &&
            mnl_attr_get_payload_len(tb[XFRMA_REPLAY_ESN_VAL]) >= sizeof(*esn) + 4)
            memcpy(&out->replay_bitmap, (const uint8_t *)esn + sizeof(*esn), 4);
    } else if (legacy) {
        out->seq = legacy->seq;
        out->oseq = legacy->oseq;
        out->replay_bitmap = legacy->bitmap;
    }
    encap = xfrm_msg_attr(tb, XFRMA_ENCAP, sizeof(*encap));
    if (encap) {
        out->encap = true;
        out->encap_type = encap->encap_type;
        out->encap_ports.sport = ntohs(encap->encap_sport);
        out->encap_ports.dport = ntohs(encap->encap_dport);
    }
    mark = xfrm_msg_attr(tb, XFRMA_MARK, sizeof(*mark));
    if (mark) {
        out->mark.value = mark->v;
        out->mark.mask = mark->m;
    }
    u32 = xfrm_msg_attr(tb, XFRMA_IF_ID, sizeof(*u32));
    if (u32)
        out->if_id = *u32;
    u64 = xfrm_msg_attr(tb, XFRMA_LASTUSED, sizeof(*u64));
    if (u64)
        memcpy(&out->lastused, u64, sizeof(out->lastused));
    out->ours = xfrm_owner_reqid_is_ours(out->reqid);
    return 0;
}

int xfrm_msg_sa_parse(const struct nlmsghdr *nlh, struct xfrm_sa_info *out, struct xfrm_err *err)
{
    struct xfrm_usersa_info p;
    xfrm_msg_tb tb;
    int rc;

    if (!xfrm_msg_header(nlh, &p, sizeof(p)))
        return xfrm_err_set(err, -EPROTO, "truncated SA message (%u bytes)", nlh->nlmsg_len);
    rc = xfrm_msg_attrs(nlh, sizeof(p), tb, err);
    if (rc < 0)
        return rc;
    return xfrm_msg_sa_info(&p, tb, out, err);
}
