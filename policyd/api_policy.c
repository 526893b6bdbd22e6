/* policyd's requests on groups, policies, device groups and states: each
 * change commits with its audit entry, then publishes AccessChanged for
 * every device whose access it may alter. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "authorize.h"
#include "log.h"

Mgate__ErrorCode api_code(int rc)
{
    switch (rc) {
    case -ENOENT:
        return MGATE__ERROR_CODE__ERR_NOT_FOUND;
    case -EEXIST:
        return MGATE__ERROR_CODE__ERR_EXISTS;
    case -EINVAL:
    case -EBUSY:
        return MGATE__ERROR_CODE__ERR_INVALID;
    default:
        return MGATE__ERROR_CODE__ERR_INTERNAL;
    }
}

/* Ends a change: commits (with the audit entry) or rolls back, replies,
 * and publishes for the affected devices. Takes ids. */
static void api_finish(struct api_ctx *c, int rc, int64_t device, const char *action,
                       const char *detail, char *why, int64_t *ids, size_t n)
{
    int64_t now = time(NULL);
    if (rc == 0 && reg_audit(c->p->db, c->uid, device, action, detail, now) < 0)
        rc = -EIO;
    if (rc == 0 && reg_commit(c->p->db, why) < 0)
        rc = -EIO;
    if (rc < 0) {
        reg_rollback(c->p->db);
        if (rc == -EIO || rc == -ENOMEM)
            log_err("%s failed: %s", action, why);
        char refused[64];
        snprintf(refused, sizeof(refused), "%s-refused", action);
        reg_audit(c->p->db, c->uid, device, refused, why, now);
        svc_reply_error(c->svc, c->conn, c->id, api_code(rc), "%s", why);
        free(ids);
        return;
    }
    log_info("uid %u: %s %s", c->uid, action, detail);
    Mgate__ChangeReply rep = MGATE__CHANGE_REPLY__INIT;
    rep.access_events = access_publish(c->p, ids, n);
    rep.detail = (char *)detail;
    svc_reply(c->svc, c->conn, c->id, MGATE__POLICYD_RESPONSE__BODY_CHANGE, &rep.base);
    free(ids);
}

static int api_begin(struct api_ctx *c, char *why)
{
    if (reg_begin(c->p->db, why) < 0) {
        svc_reply_error(c->svc, c->conn, c->id, MGATE__ERROR_CODE__ERR_INTERNAL, "database busy");
        return -1;
    }
    return 0;
}

static void api_group_create(struct api_ctx *c, const Mgate__GroupCreateRequest *rq)
{
    char why[REGISTRY_ERR] = "", detail[REGISTRY_ERR * 2];
    struct strv created = {0};
    if (api_begin(c, why) < 0)
        return;
    int rc = grp_create(c->p->db, rq->path, time(NULL), &created, why);
    size_t off = (size_t)snprintf(detail, sizeof(detail), "created");
    for (size_t i = 0; i < created.n && off < sizeof(detail); i++)
        off += (size_t)snprintf(detail + off, sizeof(detail) - off, " %s", created.v[i]);
    strv_free(&created);
    api_finish(c, rc, 0, "group-create", detail, why, NULL, 0);
}

static void api_group_delete(struct api_ctx *c, const Mgate__GroupDeleteRequest *rq)
{
    char why[REGISTRY_ERR] = "", detail[REGISTRY_ERR];
    if (api_begin(c, why) < 0)
        return;
    int rc = grp_delete(c->p->db, rq->path, why);
    snprintf(detail, sizeof(detail), "deleted %s", rq->path);
    api_finish(c, rc, 0, "group-delete", detail, why, NULL, 0);
}

static int64_t api_device_id(struct api_ctx *c, uint64_t id, char *why)
{
    struct reg_device d;
    if (id == 0 || id > INT64_MAX) {
        snprintf(why, REGISTRY_ERR, "no device id");
        return -EINVAL;
    }
    int rc = reg_device_by_id(c->p->db, (int64_t)id, &d);
    if (rc == -ENOENT)
        snprintf(why, REGISTRY_ERR, "no device %llu", (unsigned long long)id);
    else if (rc < 0)
        snprintf(why, REGISTRY_ERR, "database error");
    reg_device_free(&d);
    return rc < 0 ? rc : (int64_t)id;
}

static void api_device_groups(struct api_ctx *c, const Mgate__DeviceGroupsRequest *rq)
{
    char why[REGISTRY_ERR] = "", detail[REGISTRY_ERR * 2];
    if (api_begin(c, why) < 0)
        return;
    int64_t dev = api_device_id(c, rq->device_id, why);
    int rc = dev < 0 ? (int)dev : grp_device_set(c->p->db, dev, rq->groups, rq->n_groups, why);
    size_t off = (size_t)snprintf(detail, sizeof(detail), "groups:");
    for (size_t i = 0; i < rq->n_groups && off < sizeof(detail); i++)
        off += (size_t)snprintf(detail + off, sizeof(detail) - off, " %s", rq->groups[i]);
    if (rq->n_groups == 0)
        snprintf(detail + off, sizeof(detail) - off, " (none)");
    int64_t *ids = NULL;
    if (rc == 0 && (ids = malloc(sizeof(*ids))))
        ids[0] = dev;
    api_finish(c, rc, dev > 0 ? dev : 0, "device-groups", detail, why, ids, ids ? 1 : 0);
}

static void api_policy_create(struct api_ctx *c, const Mgate__PolicyCreateRequest *rq)
{
    char why[REGISTRY_ERR] = "", detail[REGISTRY_ERR];
    if (api_begin(c, why) < 0)
        return;
    int rc = pdb_policy_create(c->p->db, rq->name, time(NULL), why);
    snprintf(detail, sizeof(detail), "created policy %s", rq->name);
    api_finish(c, rc, 0, "policy-create", detail, why, NULL, 0);
}

static void api_policy_delete(struct api_ctx *c, const Mgate__PolicyDeleteRequest *rq)
{
    char why[REGISTRY_ERR] = "", detail[REGISTRY_ERR];
    if (api_begin(c, why) < 0)
        return;
    int rc = pdb_policy_delete(c->p->db, rq->name, why);
    snprintf(detail, sizeof(detail), "deleted policy %s", rq->name);
    api_finish(c, rc, 0, "policy-delete", detail, why, NULL, 0);
}

static void api_policy_set(struct api_ctx *c, const Mgate__PolicySetRequest *rq)
{
    char why[REGISTRY_ERR] = "", detail[REGISTRY_ERR * 3];
    char *canon = NULL;
    int64_t *ids = NULL;
    size_t n = 0;
    int s = pol_setting_find(rq->setting);
    if (s < 0) {
        char names[1024];
        size_t off = 0;
        for (int i = 0; i < POL_N_SETTINGS && off < sizeof(names); i++)
            off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "",
                                    pol_settings[i].name);
        svc_reply_error(c->svc, c->conn, c->id, MGATE__ERROR_CODE__ERR_INVALID,
                        "no setting '%s'; the settings are %s", rq->setting ? rq->setting : "",
                        names);
        return;
    }
    if (!rq->unset && pol_value_parse(s, rq->value, &canon, why, sizeof(why)) < 0) {
        reg_audit(c->p->db, c->uid, 0, "policy-set-refused", why, time(NULL));
        svc_reply_error(c->svc, c->conn, c->id, MGATE__ERROR_CODE__ERR_INVALID, "%s", why);
        return;
    }
    if (api_begin(c, why) < 0) {
        free(canon);
        return;
    }
    int64_t pid = pdb_policy_id(c->p->db, rq->name, why);
    int rc = pid < 0 ? (int)pid : pdb_setting_set(c->p->db, pid, rq->setting, canon, why);
    if (rc == 0 && grp_policy_devices(c->p->db, pid, &ids, &n) < 0)
        rc = -EIO;
    if (canon)
        snprintf(detail, sizeof(detail), "policy %s: %s = %s", rq->name, rq->setting, canon);
    else
        snprintf(detail, sizeof(detail), "policy %s: %s not configured", rq->name, rq->setting);
    free(canon);
    api_finish(c, rc, 0, "policy-set", detail, why, ids, n);
}

static void api_policy_link(struct api_ctx *c, const Mgate__PolicyLinkRequest *rq)
{
    char why[REGISTRY_ERR] = "", detail[REGISTRY_ERR];
    int64_t *ids = NULL;
    size_t n = 0;
    if (api_begin(c, why) < 0)
        return;
    int64_t pid = pdb_policy_id(c->p->db, rq->policy, why);
    int64_t gid = pid < 0 ? pid : grp_id(c->p->db, rq->group, why);
    int rc = gid < 0      ? (int)gid
             : rq->unlink ? pdb_unlink(c->p->db, pid, gid, why)
                          : pdb_link(c->p->db, pid, gid, rq->position, why);
    if (rc == 0 && grp_subtree_devices(c->p->db, rq->group, &ids, &n) < 0)
        rc = -EIO;
    if (rq->unlink)
        snprintf(detail, sizeof(detail), "unlinked policy %s from group %s", rq->policy, rq->group);
    else if (rq->position)
        snprintf(detail, sizeof(detail), "linked policy %s to group %s at position %u", rq->policy,
                 rq->group, rq->position);
    else
        snprintf(detail, sizeof(detail), "linked policy %s to group %s after its others",
                 rq->policy, rq->group);
    api_finish(c, rc, 0, rq->unlink ? "policy-unlink" : "policy-link", detail, why, ids, n);
}

static const char *const api_states[] = {"blocked", "wiped", "disenrolled", "enrolled", NULL};

static void api_device_state(struct api_ctx *c, const Mgate__DeviceStateRequest *rq)
{
    char why[REGISTRY_ERR] = "", detail[REGISTRY_ERR];
    const char *state = rq->state ? rq->state : "";
    bool known = false;
    for (size_t i = 0; api_states[i]; i++)
        known |= strcmp(api_states[i], state) == 0;
    if (!known) {
        svc_reply_error(c->svc, c->conn, c->id, MGATE__ERROR_CODE__ERR_INVALID,
                        "state '%s' is not blocked, wiped, disenrolled or enrolled", state);
        return;
    }
    if (api_begin(c, why) < 0)
        return;
    struct reg_device d = {0};
    int64_t dev = api_device_id(c, rq->device_id, why);
    int rc = dev < 0 ? (int)dev : reg_device_by_id(c->p->db, dev, &d);
    if (rc == 0 && strcmp(state, "enrolled") == 0) {
        /* Unblocking gives back what enrollment gave: only a blocked device
         * whose certificate is still good. */
        int rev = d.cert_serial ? reg_serial_revoked(c->p->db, d.cert_serial) : 1;
        if (strcmp(d.state, "blocked") != 0 || rev != 0) {
            snprintf(why, sizeof(why),
                     "device %lld is %s%s: only a blocked device with a "
                     "certificate not revoked goes back to enrolled",
                     (long long)dev, d.state, rev > 0 ? " (certificate revoked or none)" : "");
            rc = -EINVAL;
        }
    }
    if (rc == 0)
        rc = reg_device_set_state(c->p->db, dev, state, why);
    snprintf(detail, sizeof(detail), "%s -> %s", d.state ? d.state : "?", state);
    reg_device_free(&d);
    int64_t *ids = NULL;
    if (rc == 0 && (ids = malloc(sizeof(*ids))))
        ids[0] = dev;
    api_finish(c, rc, dev > 0 ? dev : 0, "device-state", detail, why, ids, ids ? 1 : 0);
}

bool policyd_api_policy(struct policyd *p, struct svc *svc, struct ipc_conn *conn, uint64_t id,
                        const ProtobufCMessage *req, uint32_t body_case)
{
    const Mgate__PolicydRequest *r = (const Mgate__PolicydRequest *)req;
    struct api_ctx c = {p, svc, conn, id, policyd_peer_uid(conn)};
    switch (body_case) {
    case MGATE__POLICYD_REQUEST__BODY_GROUP_CREATE:
        api_group_create(&c, r->group_create);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_GROUP_DELETE:
        api_group_delete(&c, r->group_delete);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_GROUP_LIST:
        api_group_list(&c);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_DEVICE_GROUPS:
        api_device_groups(&c, r->device_groups);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_POLICY_CREATE:
        api_policy_create(&c, r->policy_create);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_POLICY_DELETE:
        api_policy_delete(&c, r->policy_delete);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_POLICY_SET:
        api_policy_set(&c, r->policy_set);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_POLICY_LINK:
        api_policy_link(&c, r->policy_link);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_POLICY_LIST:
        api_policy_list(&c, r->policy_list);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_DEVICE_POLICY:
        api_device_policy(&c, r->device_policy);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_DEVICE_STATE:
        api_device_state(&c, r->device_state);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_REPORT:
        api_report(&c, r->report);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_DEVICE_REPORT:
        api_device_report(&c, r->device_report);
        return true;
    case MGATE__POLICYD_REQUEST__BODY_AUTHORIZE:
        access_authorize(p, svc, conn, id, r->authorize);
        return true;
    default:
        return false;
    }
}
