#include "xfrm_sa.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "xfrm_addr.h"
#include "xfrm_batch.h"
#include "xfrm_msg.h"
#include "xfrm_nl_priv.h"
#include "xfrm_owner.h"

static const char *family_name(uint16_t f)
{
    return f == AF_INET ? "IPv4" : f == AF_INET6 ? "IPv6" : "unset";
}

static int outer_validate(const struct xfrm_addr *src, const struct xfrm_addr *dst,
                          struct xfrm_err *err)
{
    if (dst->family != AF_INET && dst->family != AF_INET6)
        return xfrm_err_set(err, -EAFNOSUPPORT,
                            "destination address family %s is neither IPv4 nor IPv6",
                            family_name(dst->family));
    if (src->family != dst->family)
        return xfrm_err_set(err, -EINVAL, "address family mismatch: source %s, destination %s",
                            family_name(src->family), family_name(dst->family));
    if (xfrm_addr_is_zero(dst) || xfrm_addr_is_zero(src))
        return xfrm_err_set(err, -EINVAL, "tunnel endpoints must be real addresses, not %s",
                            dst->family == AF_INET ? "0.0.0.0" : "::");
    return 0;
}

static int mark_validate(const struct xfrm_markspec *m, struct xfrm_err *err)
{
    if (m->value & ~m->mask)
        return xfrm_err_set(err, -EINVAL, "mark value 0x%x has bits outside mask 0x%x", m->value,
                            m->mask);
    return 0;
}

static int lifetime_pair(uint64_t soft, uint64_t hard, const char *what, struct xfrm_err *err)
{
    if (soft && hard && soft > hard)
        return xfrm_err_set(err, -EINVAL, "soft %s limit %llu exceeds the hard limit %llu", what,
                            (unsigned long long)soft, (unsigned long long)hard);
    return 0;
}

static int lifetime_validate(const struct xfrm_lifetime *l, struct xfrm_err *err)
{
    int rc = lifetime_pair(l->soft_bytes, l->hard_bytes, "byte", err);

    if (!rc)
        rc = lifetime_pair(l->soft_packets, l->hard_packets, "packet", err);
    if (!rc)
        rc = lifetime_pair(l->soft_add_secs, l->hard_add_secs, "time", err);
    if (!rc)
        rc = lifetime_pair(l->soft_use_secs, l->hard_use_secs, "use-time", err);
    return rc;
}

static int alg_validate(const struct xfrm_sa *sa, struct xfrm_err *err)
{
    const struct xfrm_enc_desc *enc = xfrm_alg_enc(sa->enc);
    const struct xfrm_integ_desc *integ;

    if (!enc)
        return xfrm_err_set(err, -ENOPROTOOPT, "unknown encryption algorithm %d", (int)sa->enc);
    if (sa->enc_key_len != enc->key_len)
        return xfrm_err_set(err, -EINVAL, "%s needs a %zu-byte key%s, got %zu bytes", enc->name,
                            enc->key_len, enc->aead ? " (salt included)" : "", sa->enc_key_len);
    if (enc->aead) {
        if (sa->integ != XFRM_INTEG_NONE || sa->integ_key_len)
            return xfrm_err_set(err, -EINVAL,
                                "%s authenticates by itself: no integrity algorithm allowed",
                                enc->name);
        return 0;
    }
    if (sa->integ == XFRM_INTEG_NONE)
        return xfrm_err_set(err, -EINVAL, "%s needs an integrity algorithm", enc->name);
    integ = xfrm_alg_integ(sa->integ);
    if (!integ)
        return xfrm_err_set(err, -ENOPROTOOPT, "unknown integrity algorithm %d", (int)sa->integ);
    if (sa->integ_key_len != integ->key_len)
        return xfrm_err_set(err, -EINVAL, "HMAC-%s needs a %zu-byte key, got %zu bytes",
                            integ->name, integ->key_len, sa->integ_key_len);
    return 0;
}

int xfrm_sa_validate(const struct xfrm_sa *sa, struct xfrm_err *err)
{
    int rc;

    if (!sa)
        return xfrm_err_set(err, -EINVAL, "no SA given");
    rc = outer_validate(&sa->src, &sa->dst, err);
    if (rc < 0)
        return rc;
    if (sa->spi < XFRM_SPI_MIN)
        return xfrm_err_set(err, -EINVAL,
                            "SPI 0x%x is reserved (RFC 4303: 1-255; 0 is never valid)", sa->spi);
    if (!xfrm_owner_reqid_is_ours(sa->reqid))
        return xfrm_err_set(err, -EPERM, "reqid 0x%08x is outside mgate's range 0x%08x-0x%08x",
                            sa->reqid, XFRM_OWNER_REQID_MIN, XFRM_OWNER_REQID_MAX);
    rc = alg_validate(sa, err);
    if (rc < 0)
        return rc;
    if (sa->replay_window > XFRM_REPLAY_WINDOW_MAX)
        return xfrm_err_set(err, -EINVAL, "replay window %u exceeds the kernel's maximum %u",
                            sa->replay_window, XFRM_REPLAY_WINDOW_MAX);
    if (sa->esn && sa->replay_window == 0)
        return xfrm_err_set(err, -EINVAL, "ESN needs a replay window of at least 1");
    rc = lifetime_validate(&sa->lft, err);
    if (rc < 0)
        return rc;
    if (sa->encap && (!sa->encap_ports.sport || !sa->encap_ports.dport))
        return xfrm_err_set(err, -EINVAL, "UDP encapsulation needs both ports");
    if (!sa->encap && (sa->encap_ports.sport || sa->encap_ports.dport))
        return xfrm_err_set(err, -EINVAL, "encapsulation ports given but encapsulation is off");
    rc = mark_validate(&sa->mark, err);
    if (rc < 0)
        return rc;
    rc = xfrm_sel_validate(&sa->sel, true, err);
    if (rc < 0)
        xfrm_err_prefix(err, "SA selector");
    return rc;
}

int xfrm_sa_spi_req_validate(const struct xfrm_spi_req *req, struct xfrm_err *err)
{
    int rc;

    if (!req)
        return xfrm_err_set(err, -EINVAL, "no SPI request given");
    rc = outer_validate(&req->src, &req->dst, err);
    if (rc < 0)
        return rc;
    if (!xfrm_owner_reqid_is_ours(req->reqid))
        return xfrm_err_set(err, -EPERM, "reqid 0x%08x is outside mgate's range 0x%08x-0x%08x",
                            req->reqid, XFRM_OWNER_REQID_MIN, XFRM_OWNER_REQID_MAX);
    if (req->min < XFRM_SPI_MIN || req->min > req->max)
        return xfrm_err_set(err, -EINVAL, "SPI range 0x%x-0x%x is empty or includes reserved SPIs",
                            req->min, req->max);
    return mark_validate(&req->mark, err);
}

void xfrm_sa_wipe(struct xfrm_sa *sa)
{
    if (sa)
        explicit_bzero(sa, sizeof(*sa));
}

const char *xfrm_sa_id_format(const struct xfrm_sa_id *id, char *buf, size_t len)
{
    char a[XFRM_ADDR_STRLEN];

    snprintf(buf, len, "spi 0x%08x dst %s", id->spi, xfrm_addr_format(&id->dst, a, sizeof(a)));
    return buf;
}

static int one_op(struct xfrm_nl *nl, struct xfrm_op *op, struct xfrm_err *err)
{
    int rc = xfrm_batch_run(nl, op, 1, err);

    if (rc < 0)
        return rc;
    if (op->result < 0 && err)
        *err = op->err;
    return op->result;
}

int xfrm_sa_allocspi(struct xfrm_nl *nl, const struct xfrm_spi_req *req, uint32_t *spi,
                     struct xfrm_err *err)
{
    struct xfrm_op op = {.type = XFRM_OP_SA_ALLOCSPI, .in.spi_req = req};
    int rc = one_op(nl, &op, err);

    if (rc == 0 && spi)
        *spi = op.spi;
    return rc;
}

int xfrm_sa_add(struct xfrm_nl *nl, const struct xfrm_sa *sa, struct xfrm_err *err)
{
    struct xfrm_op op = {.type = XFRM_OP_SA_ADD, .in.sa = sa};

    return one_op(nl, &op, err);
}

int xfrm_sa_update(struct xfrm_nl *nl, const struct xfrm_sa *sa, struct xfrm_err *err)
{
    struct xfrm_op op = {.type = XFRM_OP_SA_UPDATE, .in.sa = sa};

    return one_op(nl, &op, err);
}

int xfrm_sa_delete(struct xfrm_nl *nl, const struct xfrm_sa_id *id, struct xfrm_err *err)
{
    struct xfrm_op op = {.type = XFRM_OP_SA_DELETE, .in.sa_id = id};

    return one_op(nl, &op, err);
}

struct get_ctx {
    struct xfrm_sa_info *out;
    bool found;
};

static int get_reply(const struct nlmsghdr *nlh, void *arg, struct xfrm_err *err)
{
    struct get_ctx *ctx = arg;
    int rc;

    if (nlh->nlmsg_type != XFRM_MSG_NEWSA)
        return 0;
    rc = xfrm_msg_sa_parse(nlh, ctx->out, err);
    if (rc == 0)
        ctx->found = true;
    return rc;
}

int xfrm_sa_get(struct xfrm_nl *nl, const struct xfrm_sa_id *id, struct xfrm_sa_info *out,
                struct xfrm_err *err)
{
    struct get_ctx ctx = {out, false};
    char what[96];
    int rc;

    if (id->dst.family != AF_INET && id->dst.family != AF_INET6)
        return xfrm_err_set(err, -EAFNOSUPPORT, "SA destination is neither IPv4 nor IPv6");
    if (mark_validate(&id->mark, err) < 0)
        return -EINVAL;
    rc = xfrm_nl_transact(nl, xfrm_msg_sa_id(nl->tx, XFRM_MSG_GETSA, id), get_reply, &ctx, err);
    if (rc == -ESRCH || rc == -ENOENT)
        return xfrm_err_set(err, rc, "SA %s: no such SA",
                            xfrm_sa_id_format(id, what, sizeof(what)));
    if (rc < 0) {
        xfrm_err_prefix(err, "SA get %s", xfrm_sa_id_format(id, what, sizeof(what)));
        return rc;
    }
    if (!ctx.found)
        return xfrm_err_set(err, -EPROTO, "SA get %s: kernel returned no SA",
                            xfrm_sa_id_format(id, what, sizeof(what)));
    return 0;
}

struct dump_ctx {
    unsigned flags;
    xfrm_sa_dump_cb cb;
    void *arg;
    int cb_rc;
};

static int dump_reply(const struct nlmsghdr *nlh, void *arg, struct xfrm_err *err)
{
    struct dump_ctx *ctx = arg;
    struct xfrm_sa_info info;
    int rc;

    if (nlh->nlmsg_type != XFRM_MSG_NEWSA)
        return 0;
    rc = xfrm_msg_sa_parse(nlh, &info, err);
    if (rc < 0)
        return rc;
    if ((ctx->flags & XFRM_DUMP_OURS) && !info.ours)
        return 0;
    ctx->cb_rc = ctx->cb(&info, ctx->arg);
    return ctx->cb_rc ? 1 : 0;
}

int xfrm_sa_dump(struct xfrm_nl *nl, unsigned flags, xfrm_sa_dump_cb cb, void *arg,
                 struct xfrm_err *err)
{
    struct dump_ctx ctx = {flags, cb, arg, 0};
    int rc;

    if (!cb)
        return xfrm_err_set(err, -EINVAL, "SA dump without a callback");
    rc = xfrm_nl_transact(nl, xfrm_msg_sa_dump(nl->tx), dump_reply, &ctx, err);
    if (rc < 0) {
        xfrm_err_prefix(err, "SA dump");
        return rc;
    }
    return ctx.cb_rc;
}
