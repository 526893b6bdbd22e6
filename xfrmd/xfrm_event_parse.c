/* Kernel XFRM notifications → struct xfrm_event. Every length is checked
 * against the message before it is read: a short or odd message becomes an
 * error, never an out-of-bounds read. */
#include "xfrm_event.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "xfrm_msg.h"
#include "xfrm_owner.h"

static int too_short(const struct nlmsghdr *nlh, const char *what, struct xfrm_err *err)
{
    return xfrm_err_set(err, -EPROTO, "truncated %s notification (%u bytes)", what, nlh->nlmsg_len);
}

static int parse_sa(const struct nlmsghdr *nlh, struct xfrm_event *ev, struct xfrm_err *err)
{
    int rc = xfrm_msg_sa_parse(nlh, &ev->u.sa.info, err);

    ev->ours = ev->u.sa.info.ours;
    return rc;
}

/* DELSA: an SA id, then the SA itself in XFRMA_SA, then its attributes. */
static int parse_sa_delete(const struct nlmsghdr *nlh, struct xfrm_event *ev, struct xfrm_err *err)
{
    struct xfrm_usersa_id id;
    struct xfrm_usersa_info p;
    xfrm_msg_tb tb;
    int rc;

    if (!xfrm_msg_header(nlh, &id, sizeof(id)))
        return too_short(nlh, "SA delete", err);
    rc = xfrm_msg_attrs(nlh, sizeof(id), tb, err);
    if (rc < 0)
        return rc;
    if (!xfrm_msg_attr_copy(tb, XFRMA_SA, &p, sizeof(p)))
        return xfrm_err_set(err, -EPROTO, "SA delete notification without the SA");
    rc = xfrm_msg_sa_info(&p, tb, &ev->u.sa.info, err);
    ev->ours = ev->u.sa.info.ours;
    return rc;
}

static int parse_expire(const struct nlmsghdr *nlh, struct xfrm_event *ev, struct xfrm_err *err)
{
    struct xfrm_user_expire ue;
    xfrm_msg_tb tb;
    int rc;

    if (!xfrm_msg_header(nlh, &ue, sizeof(ue)))
        return too_short(nlh, "SA expire", err);
    rc = xfrm_msg_attrs(nlh, sizeof(ue), tb, err);
    if (rc < 0)
        return rc;
    rc = xfrm_msg_sa_info(&ue.state, tb, &ev->u.sa.info, err);
    ev->u.sa.hard = ue.hard != 0;
    ev->ours = ev->u.sa.info.ours;
    return rc;
}

static int parse_policy(const struct nlmsghdr *nlh, struct xfrm_event *ev, struct xfrm_err *err)
{
    int rc = xfrm_msg_policy_parse(nlh, &ev->u.policy.info, err);

    ev->ours = ev->u.policy.info.ours;
    return rc;
}

/* DELPOLICY: a policy id, then the policy in XFRMA_POLICY, then attributes. */
static int parse_policy_delete(const struct nlmsghdr *nlh, struct xfrm_event *ev,
                               struct xfrm_err *err)
{
    struct xfrm_userpolicy_id id;
    struct xfrm_userpolicy_info p;
    xfrm_msg_tb tb;
    int rc;

    if (!xfrm_msg_header(nlh, &id, sizeof(id)))
        return too_short(nlh, "policy delete", err);
    rc = xfrm_msg_attrs(nlh, sizeof(id), tb, err);
    if (rc < 0)
        return rc;
    if (!xfrm_msg_attr_copy(tb, XFRMA_POLICY, &p, sizeof(p)))
        return xfrm_err_set(err, -EPROTO, "policy delete notification without the policy");
    rc = xfrm_msg_policy_info(&p, tb, &ev->u.policy.info, err);
    ev->ours = ev->u.policy.info.ours;
    return rc;
}

static int parse_polexpire(const struct nlmsghdr *nlh, struct xfrm_event *ev, struct xfrm_err *err)
{
    struct xfrm_user_polexpire upe;
    xfrm_msg_tb tb;
    int rc;

    if (!xfrm_msg_header(nlh, &upe, sizeof(upe)))
        return too_short(nlh, "policy expire", err);
    rc = xfrm_msg_attrs(nlh, sizeof(upe), tb, err);
    if (rc < 0)
        return rc;
    rc = xfrm_msg_policy_info(&upe.pol, tb, &ev->u.policy.info, err);
    ev->u.policy.hard = upe.hard != 0;
    ev->ours = ev->u.policy.info.ours;
    return rc;
}

static int parse_acquire(const struct nlmsghdr *nlh, struct xfrm_event *ev, struct xfrm_err *err)
{
    struct xfrm_event_acquire *a = &ev->u.acquire;
    struct xfrm_user_acquire ua;
    xfrm_msg_tb tb;
    uint16_t family;
    int rc;

    if (!xfrm_msg_header(nlh, &ua, sizeof(ua)))
        return too_short(nlh, "acquire", err);
    rc = xfrm_msg_attrs(nlh, sizeof(ua), tb, err);
    if (rc < 0)
        return rc;
    rc = xfrm_msg_policy_info(&ua.policy, tb, &a->policy, err);
    if (rc < 0)
        return rc;
    /* The acquire itself carries no family for its endpoints: they are the
     * template's, and without a template the flow's. */
    family = a->policy.pol.n_tmpl ? a->policy.pol.tmpl[0].dst.family : ua.sel.family;
    xfrm_msg_addr_from_kernel(family, &ua.saddr, &a->src);
    xfrm_msg_addr_from_kernel(family, &ua.id.daddr, &a->dst);
    a->proto = ua.id.proto;
    xfrm_msg_sel_from_kernel(&ua.sel, &a->sel);
    a->seq = ua.seq;
    ev->ours = a->policy.ours;
    return 0;
}

static int parse_mapping(const struct nlmsghdr *nlh, struct xfrm_event *ev, struct xfrm_err *err)
{
    struct xfrm_event_mapping *m = &ev->u.mapping;
    struct xfrm_user_mapping um;

    if (!xfrm_msg_header(nlh, &um, sizeof(um)))
        return too_short(nlh, "mapping", err);
    if (um.id.family != AF_INET && um.id.family != AF_INET6)
        return xfrm_err_set(err, -EPROTO, "mapping notification with address family %u",
                            um.id.family);
    xfrm_msg_addr_from_kernel(um.id.family, &um.id.daddr, &m->sa.dst);
    m->sa.spi = ntohl(um.id.spi);
    m->reqid = um.reqid;
    xfrm_msg_addr_from_kernel(um.id.family, &um.old_saddr, &m->old_src);
    xfrm_msg_addr_from_kernel(um.id.family, &um.new_saddr, &m->new_src);
    m->old_sport = ntohs(um.old_sport);
    m->new_sport = ntohs(um.new_sport);
    ev->ours = xfrm_owner_reqid_is_ours(um.reqid);
    return 0;
}

static int parse_migrate(const struct nlmsghdr *nlh, struct xfrm_event *ev, struct xfrm_err *err)
{
    struct xfrm_event_migrate *mg = &ev->u.migrate;
    struct xfrm_userpolicy_id pid;
    struct xfrm_user_kmaddress km;
    struct xfrm_encap_tmpl encap;
    xfrm_msg_tb tb;
    size_t n;
    int rc;

    if (!xfrm_msg_header(nlh, &pid, sizeof(pid)))
        return too_short(nlh, "migrate", err);
    rc = xfrm_msg_attrs(nlh, sizeof(pid), tb, err);
    if (rc < 0)
        return rc;
    if (pid.dir > XFRM_POLICY_FWD)
        return xfrm_err_set(err, -EPROTO, "migrate notification with direction %u", pid.dir);
    if (!tb[XFRMA_MIGRATE])
        return xfrm_err_set(err, -EPROTO, "migrate notification without transforms");
    xfrm_msg_sel_from_kernel(&pid.sel, &mg->sel);
    mg->dir = (enum xfrm_dir)pid.dir;
    n = mnl_attr_get_payload_len(tb[XFRMA_MIGRATE]) / sizeof(struct xfrm_user_migrate);
    if (n > XFRM_MIGRATE_MAX)
        n = XFRM_MIGRATE_MAX;
    ev->ours = n > 0;
    for (size_t i = 0; i < n; i++) {
        struct xfrm_event_migrate_entry *e = &mg->entry[i];
        struct xfrm_user_migrate um;

        memcpy(&um, (const uint8_t *)mnl_attr_get_payload(tb[XFRMA_MIGRATE]) + i * sizeof(um),
               sizeof(um));
        xfrm_msg_addr_from_kernel(um.old_family, &um.old_saddr, &e->old_src);
        xfrm_msg_addr_from_kernel(um.old_family, &um.old_daddr, &e->old_dst);
        xfrm_msg_addr_from_kernel(um.new_family, &um.new_saddr, &e->new_src);
        xfrm_msg_addr_from_kernel(um.new_family, &um.new_daddr, &e->new_dst);
        e->proto = um.proto;
        e->mode = um.mode;
        e->reqid = um.reqid;
        if (!xfrm_owner_reqid_is_ours(um.reqid))
            ev->ours = false;
    }
    mg->n = n;
    if (xfrm_msg_attr_copy(tb, XFRMA_KMADDRESS, &km, sizeof(km))) {
        mg->has_kmaddress = true;
        xfrm_msg_addr_from_kernel(km.family, &km.local, &mg->km_local);
        xfrm_msg_addr_from_kernel(km.family, &km.remote, &mg->km_remote);
    }
    if (xfrm_msg_attr_copy(tb, XFRMA_ENCAP, &encap, sizeof(encap))) {
        mg->encap = true;
        mg->encap_ports.sport = ntohs(encap.encap_sport);
        mg->encap_ports.dport = ntohs(encap.encap_dport);
    }
    return 0;
}

static int parse_report(const struct nlmsghdr *nlh, struct xfrm_event *ev, struct xfrm_err *err)
{
    struct xfrm_event_report *r = &ev->u.report;
    struct xfrm_user_report ur;
    xfrm_address_t coaddr;
    xfrm_msg_tb tb;
    int rc;

    if (!xfrm_msg_header(nlh, &ur, sizeof(ur)))
        return too_short(nlh, "report", err);
    rc = xfrm_msg_attrs(nlh, sizeof(ur), tb, err);
    if (rc < 0)
        return rc;
    r->proto = ur.proto;
    xfrm_msg_sel_from_kernel(&ur.sel, &r->sel);
    if (xfrm_msg_attr_copy(tb, XFRMA_COADDR, &coaddr, sizeof(coaddr))) {
        r->has_coaddr = true;
        xfrm_msg_addr_from_kernel(ur.sel.family, &coaddr, &r->coaddr);
    }
    /* Reports name a flow, not an object: nothing to call ours. */
    ev->ours = false;
    return 0;
}

int xfrm_event_parse(const struct nlmsghdr *nlh, struct xfrm_event *ev, struct xfrm_err *err)
{
    struct xfrm_usersa_flush flush;

    memset(ev, 0, sizeof(*ev));
    if (nlh->nlmsg_len < NLMSG_HDRLEN)
        return xfrm_err_set(err, -EPROTO, "netlink message shorter than its header");
    switch (nlh->nlmsg_type) {
    case XFRM_MSG_NEWSA:
        ev->type = XFRM_EVENT_SA_NEW;
        return parse_sa(nlh, ev, err);
    case XFRM_MSG_UPDSA:
        ev->type = XFRM_EVENT_SA_UPDATE;
        return parse_sa(nlh, ev, err);
    case XFRM_MSG_DELSA:
        ev->type = XFRM_EVENT_SA_DELETE;
        return parse_sa_delete(nlh, ev, err);
    case XFRM_MSG_EXPIRE:
        ev->type = XFRM_EVENT_SA_EXPIRE;
        return parse_expire(nlh, ev, err);
    case XFRM_MSG_FLUSHSA:
        ev->type = XFRM_EVENT_SA_FLUSH;
        if (!xfrm_msg_header(nlh, &flush, sizeof(flush)))
            return too_short(nlh, "SA flush", err);
        ev->u.flush_proto = flush.proto;
        return 0;
    case XFRM_MSG_NEWPOLICY:
        ev->type = XFRM_EVENT_POLICY_NEW;
        return parse_policy(nlh, ev, err);
    case XFRM_MSG_UPDPOLICY:
        ev->type = XFRM_EVENT_POLICY_UPDATE;
        return parse_policy(nlh, ev, err);
    case XFRM_MSG_DELPOLICY:
        ev->type = XFRM_EVENT_POLICY_DELETE;
        return parse_policy_delete(nlh, ev, err);
    case XFRM_MSG_POLEXPIRE:
        ev->type = XFRM_EVENT_POLICY_EXPIRE;
        return parse_polexpire(nlh, ev, err);
    case XFRM_MSG_FLUSHPOLICY:
        ev->type = XFRM_EVENT_POLICY_FLUSH;
        return 0;
    case XFRM_MSG_ACQUIRE:
        ev->type = XFRM_EVENT_ACQUIRE;
        return parse_acquire(nlh, ev, err);
    case XFRM_MSG_MAPPING:
        ev->type = XFRM_EVENT_MAPPING;
        return parse_mapping(nlh, ev, err);
    case XFRM_MSG_MIGRATE:
        ev->type = XFRM_EVENT_MIGRATE;
        return parse_migrate(nlh, ev, err);
    case XFRM_MSG_REPORT:
        ev->type = XFRM_EVENT_REPORT;
        return parse_report(nlh, ev, err);
    default:
        return 1; /* replay/lifetime aevents and anything newer */
    }
}

const char *xfrm_event_type_name(enum xfrm_event_type type)
{
    static const char *const names[] = {
        [XFRM_EVENT_SA_NEW] = "sa-new",
        [XFRM_EVENT_SA_UPDATE] = "sa-update",
        [XFRM_EVENT_SA_DELETE] = "sa-delete",
        [XFRM_EVENT_SA_EXPIRE] = "sa-expire",
        [XFRM_EVENT_SA_FLUSH] = "sa-flush",
        [XFRM_EVENT_POLICY_NEW] = "policy-new",
        [XFRM_EVENT_POLICY_UPDATE] = "policy-update",
        [XFRM_EVENT_POLICY_DELETE] = "policy-delete",
        [XFRM_EVENT_POLICY_EXPIRE] = "policy-expire",
        [XFRM_EVENT_POLICY_FLUSH] = "policy-flush",
        [XFRM_EVENT_ACQUIRE] = "acquire",
        [XFRM_EVENT_MIGRATE] = "migrate",
        [XFRM_EVENT_MAPPING] = "mapping",
        [XFRM_EVENT_REPORT] = "report",
        [XFRM_EVENT_OVERRUN] = "overrun",
        [XFRM_EVENT_INVALID] = "invalid",
    };

    if ((unsigned)type < sizeof(names) / sizeof(names[0]) && names[type])
        return names[type];
    return "unknown";
}
