#include "xfrm_migrate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "xfrm_addr.h"
#include "xfrm_msg.h"
#include "xfrm_nl_priv.h"
#include "xfrm_owner.h"

#define MIGRATE_MSG_WORST                                                                          \
    (NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct xfrm_userpolicy_id)) +                                 \
     MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(struct xfrm_user_migrate)) +                               \
     MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(struct xfrm_encap_tmpl)) +                                 \
     MNL_ALIGN(MNL_ATTR_HDRLEN + 4) +                                                              \
     MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(struct xfrm_userpolicy_type)))
_Static_assert(MIGRATE_MSG_WORST <= XFRM_MSG_MAX_LEN,
               "migrate message may exceed XFRM_MSG_MAX_LEN");

int xfrm_migrate_validate(const struct xfrm_migrate *m, struct xfrm_err *err)
{
    if (!m)
        return xfrm_err_set(err, -EINVAL, "no move given");
    if (m->sa.dst.family != AF_INET && m->sa.dst.family != AF_INET6)
        return xfrm_err_set(err, -EAFNOSUPPORT, "SA destination is neither IPv4 nor IPv6");
    if (m->sa.spi < XFRM_SPI_MIN)
        return xfrm_err_set(err, -EINVAL, "SPI 0x%x is reserved", m->sa.spi);
    if (!xfrm_owner_reqid_is_ours(m->reqid))
        return xfrm_err_set(err, -EPERM, "reqid 0x%08x is outside mgate's range 0x%08x-0x%08x",
                            m->reqid, XFRM_OWNER_REQID_MIN, XFRM_OWNER_REQID_MAX);
    if (m->new_src.family != m->sa.dst.family || m->new_dst.family != m->sa.dst.family)
        return xfrm_err_set(err, -EAFNOSUPPORT,
                            "new addresses must be of the SA's family (moving between IPv4 and "
                            "IPv6 is not supported)");
    if (xfrm_addr_is_zero(&m->new_src) || xfrm_addr_is_zero(&m->new_dst))
        return xfrm_err_set(err, -EINVAL, "new tunnel endpoints must be real addresses");
    if (m->encap && (!m->encap_ports.sport || !m->encap_ports.dport))
        return xfrm_err_set(err, -EINVAL, "UDP encapsulation needs both ports");
    if (!m->encap && (m->encap_ports.sport || m->encap_ports.dport))
        return xfrm_err_set(err, -EINVAL, "encapsulation ports given but encapsulation is off");
    if (m->sa.mark.value & ~m->sa.mark.mask)
        return xfrm_err_set(err, -EINVAL, "mark value 0x%x has bits outside mask 0x%x",
                            m->sa.mark.value, m->sa.mark.mask);
    if (m->n_pol > XFRM_MIGRATE_POL_MAX)
        return xfrm_err_set(err, -E2BIG, "%zu policies, at most %d per move", m->n_pol,
                            XFRM_MIGRATE_POL_MAX);
    for (size_t i = 0; i < m->n_pol; i++) {
        if ((unsigned)m->pol[i].dir > XFRM_DIR_FWD)
            return xfrm_err_set(err, -EINVAL, "policy %zu: direction %d is not in, out or fwd", i,
                                (int)m->pol[i].dir);
        int rc = xfrm_sel_validate(&m->pol[i].sel, false, err);
        if (rc < 0) {
            xfrm_err_prefix(err, "policy %zu selector", i);
            return rc;
        }
    }
    return 0;
}

/* The kernel keeps its own keys on an update; the request's are random so
 * that, should the SA vanish and a larval one take its place in between,
 * what got installed could never decrypt or forge anything. */
static int placeholder_keys(struct xfrm_sa *sa, struct xfrm_err *err)
{
    const struct xfrm_enc_desc *enc = xfrm_alg_enc(sa->enc);
    const struct xfrm_integ_desc *integ = xfrm_alg_integ(sa->integ);

    if (!enc)
        return xfrm_err_set(err, -EOPNOTSUPP,
                            "the SA's algorithm is not one mgate installs: cannot update it");
    sa->enc_key_len = enc->key_len;
    sa->integ_key_len = integ ? integ->key_len : 0;
    if (getrandom(sa->enc_key, sa->enc_key_len, 0) != (ssize_t)sa->enc_key_len ||
        (sa->integ_key_len &&
         getrandom(sa->integ_key, sa->integ_key_len, 0) != (ssize_t)sa->integ_key_len))
        return xfrm_err_set(err, -EIO, "getrandom failed");
    return 0;
}

static int move_encap(struct xfrm_nl *nl, const struct xfrm_migrate *m,
                      const struct xfrm_sa_info *info, struct xfrm_err *err)
{
    struct xfrm_sa sa;
    int rc;

    memset(&sa, 0, sizeof(sa));
    sa.src = info->src;
    sa.dst = info->dst;
    sa.spi = info->spi;
    sa.reqid = info->reqid;
    sa.sel = info->sel;
    sa.enc = info->enc;
    sa.integ = info->integ;
    sa.esn = info->esn;
    sa.replay_window = info->replay_window;
    /* Lifetimes are taken from an update: the SA's own, unchanged. */
    sa.lft = info->lft;
    sa.encap = true;
    sa.encap_ports = m->encap_ports;
    sa.mark = info->mark;
    sa.if_id = info->if_id;
    rc = placeholder_keys(&sa, err);
    if (rc == 0)
        rc = xfrm_sa_update(nl, &sa, err);
    xfrm_sa_wipe(&sa);
    return rc;
}

static struct nlmsghdr *migrate_msg(void *buf, const struct xfrm_policy_id *pol,
                                    const struct xfrm_migrate *m, const struct xfrm_sa_info *info)
{
    struct nlmsghdr *nlh;
    struct xfrm_userpolicy_id *p;
    struct xfrm_user_migrate *um;
    struct xfrm_userpolicy_type *t;

    memset(buf, 0, NLMSG_HDRLEN);
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = XFRM_MSG_MIGRATE;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));
    xfrm_msg_sel_to_kernel(&pol->sel, &p->sel);
    p->dir = (uint8_t)pol->dir;
    um = xfrm_msg_put_attr(nlh, XFRMA_MIGRATE, sizeof(*um));
    xfrm_msg_addr_to_kernel(&info->src, &um->old_saddr);
    xfrm_msg_addr_to_kernel(&info->dst, &um->old_daddr);
    xfrm_msg_addr_to_kernel(&m->new_src, &um->new_saddr);
    xfrm_msg_addr_to_kernel(&m->new_dst, &um->new_daddr);
    um->proto = IPPROTO_ESP;
    um->mode = XFRM_MODE_TUNNEL;
    um->reqid = m->reqid;
    um->old_family = info->dst.family;
    um->new_family = m->new_dst.family;
    if (m->encap) {
        struct xfrm_encap_tmpl *e = xfrm_msg_put_attr(nlh, XFRMA_ENCAP, sizeof(*e));

        e->encap_type = UDP_ENCAP_ESPINUDP;
        e->encap_sport = htons(m->encap_ports.sport);
        e->encap_dport = htons(m->encap_ports.dport);
    }
    if (pol->if_id)
        *(uint32_t *)xfrm_msg_put_attr(nlh, XFRMA_IF_ID, sizeof(uint32_t)) = pol->if_id;
    t = xfrm_msg_put_attr(nlh, XFRMA_POLICY_TYPE, sizeof(*t));
    t->type = XFRM_POLICY_TYPE_MAIN;
    return nlh;
}

/* The policy must be ours and hold a template of the SA's reqid; true in
 * *moved when that template names the new addresses already (a retried
 * move), so only the others are sent. */
static int check_policy(struct xfrm_nl *nl, const struct xfrm_migrate *m, size_t i,
                        const struct xfrm_sa_info *info, bool *moved, struct xfrm_err *err)
{
    struct xfrm_policy_info pi;
    char sel[128];
    int rc = xfrm_policy_get(nl, &m->pol[i], &pi, err);

    xfrm_sel_format(&m->pol[i].sel, sel, sizeof(sel));
    if (rc < 0) {
        xfrm_err_prefix(err, "move: %s policy %s", xfrm_policy_dir_name(m->pol[i].dir), sel);
        return rc;
    }
    if (!xfrm_policy_is_ours(&pi))
        return xfrm_err_set(err, -EPERM, "move: %s policy %s is not ours (priority %u)",
                            xfrm_policy_dir_name(m->pol[i].dir), sel, pi.pol.priority);
    *moved = false;
    for (size_t k = 0; k < pi.pol.n_tmpl; k++) {
        const struct xfrm_tmpl *t = &pi.pol.tmpl[k];

        if (t->reqid != m->reqid)
            continue;
        if (xfrm_addr_equal(&t->src, &info->src) && xfrm_addr_equal(&t->dst, &info->dst))
            return 0;
        if (xfrm_addr_equal(&t->src, &m->new_src) && xfrm_addr_equal(&t->dst, &m->new_dst)) {
            *moved = true;
            return 0;
        }
    }
    return xfrm_err_set(
        err, -ENOENT, "move: %s policy %s has no template of reqid 0x%08x with the SA's addresses",
        xfrm_policy_dir_name(m->pol[i].dir), sel, m->reqid);
}

int xfrm_migrate_run(struct xfrm_nl *nl, const struct xfrm_migrate *m, enum xfrm_migrate_how *how,
                     struct xfrm_err *err)
{
    struct xfrm_sa_info info;
    char what[96];
    bool moved[XFRM_MIGRATE_POL_MAX];
    int rc;

    if (how)
        *how = XFRM_MIGRATE_NONE;
    rc = xfrm_migrate_validate(m, err);
    if (rc < 0)
        return rc;
    xfrm_sa_id_format(&m->sa, what, sizeof(what));
    rc = xfrm_sa_get(nl, &m->sa, &info, err);
    if (rc < 0)
        return rc;
    if (!info.ours || info.reqid != m->reqid)
        return xfrm_err_set(err, -EPERM, "move: SA %s has reqid 0x%08x, not 0x%08x%s", what,
                            info.reqid, m->reqid, info.ours ? "" : " (not ours)");
    bool same_addr =
        xfrm_addr_equal(&info.src, &m->new_src) && xfrm_addr_equal(&info.dst, &m->new_dst);
    if (info.encap && !m->encap)
        return xfrm_err_set(err, -EOPNOTSUPP,
                            "move: SA %s: the kernel cannot switch UDP encapsulation off on a "
                            "live SA (MIGRATE keeps it)",
                            what);
    if (same_addr && info.encap == m->encap &&
        (!m->encap || (info.encap_ports.sport == m->encap_ports.sport &&
                       info.encap_ports.dport == m->encap_ports.dport)))
        return 0;
    if (same_addr && info.encap) {
        rc = move_encap(nl, m, &info, err);
        if (rc < 0) {
            xfrm_err_prefix(err, "move (encapsulation) %s", what);
            return rc;
        }
        if (how)
            *how = XFRM_MIGRATE_UPDSA;
        return 0;
    }
    if (m->n_pol == 0)
        return xfrm_err_set(err, -EINVAL,
                            "move: SA %s: new addresses need at least one policy (the kernel "
                            "finds the SA through it)",
                            what);
    /* Every policy checked before anything changes. */
    for (size_t i = 0; i < m->n_pol; i++) {
        rc = check_policy(nl, m, i, &info, &moved[i], err);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < m->n_pol; i++) {
        if (moved[i])
            continue;
        rc = xfrm_nl_transact(nl, migrate_msg(nl->tx, &m->pol[i], m, &info), NULL, NULL, err);
        if (rc < 0) {
            char sel[128];
            xfrm_err_prefix(err, "move: SA %s, %s policy %s (%zu of %zu)%s", what,
                            xfrm_policy_dir_name(m->pol[i].dir),
                            xfrm_sel_format(&m->pol[i].sel, sel, sizeof(sel)), i + 1, m->n_pol,
                            i ? ", the earlier ones moved" : "");
            return rc;
        }
    }
    if (how)
        *how = XFRM_MIGRATE_MIGRATE;
    return 0;
}
