/* policyd's requests: the CA, pre-enrollment, enrollment, revocation, the
 * CRL and the device list. The peer's uid (SO_PEERCRED) goes into the audit
 * log. Replies go out only after the database has committed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "authorize.h"
#include "policy_db.h"
#include "enroll.h"
#include "enroll_job.h"
#include "extca.h"
#include "log.h"
#include "policyd.h"

uint32_t policyd_peer_uid(struct ipc_conn *conn)
{
    const struct ipc_peer *peer = ipc_conn_peer(conn);
    return peer ? (uint32_t)peer->uid : UINT32_MAX;
}

static void policyd_ca_init(struct policyd *p, struct svc *svc, struct ipc_conn *conn, uint64_t id,
                            const Mgate__CaInitRequest *rq)
{
    struct enroll_err e = {0};
    char *pem = NULL;
    if (enroll_ca_init(p, policyd_peer_uid(conn), rq->force, &pem, &e) < 0) {
        svc_reply_error(svc, conn, id, e.code, "%s", e.msg);
        return;
    }
    char subject[256] = "";
    X509_NAME_oneline(X509_get_subject_name(p->ca.cert), subject, sizeof(subject));
    int day = 0, sec = 0;
    ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(p->ca.cert));
    Mgate__CaInitReply rep = MGATE__CA_INIT_REPLY__INIT;
    rep.cert_pem = pem;
    rep.subject = subject;
    rep.not_after = (uint64_t)(time(NULL) + (int64_t)day * 86400 + sec);
    svc_reply(svc, conn, id, MGATE__POLICYD_RESPONSE__BODY_CA_INIT, &rep.base);
    free(pem);
}

static void policyd_register_cert(struct policyd *p, struct svc *svc, struct ipc_conn *conn,
                                  uint64_t id, const Mgate__RegisterCertRequest *rq)
{
    struct enroll_err e = {0};
    struct enroll_result r;
    if (extca_register(p, policyd_peer_uid(conn), rq, &r, &e) < 0) {
        svc_reply_error(svc, conn, id, e.code, "%s", e.msg);
        return;
    }
    Mgate__EnrollReply rep = MGATE__ENROLL_REPLY__INIT;
    rep.device_id = (uint64_t)r.id;
    rep.cert_pem = r.cert_pem;
    rep.serial = r.serial;
    rep.fingerprint = r.fingerprint;
    svc_reply(svc, conn, id, MGATE__POLICYD_RESPONSE__BODY_REGISTER_CERT, &rep.base);
    free(r.cert_pem);
}

static void policyd_revoke(struct policyd *p, struct svc *svc, struct ipc_conn *conn, uint64_t id,
                           const Mgate__RevokeRequest *rq)
{
    struct enroll_err e = {0};
    char serial[CA_SERIAL_HEX];
    char *crl = NULL;
    if (rq->device_id == 0 || rq->device_id > INT64_MAX) {
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INVALID, "no device id");
        return;
    }
    if (enroll_revoke(p, policyd_peer_uid(conn), (int64_t)rq->device_id, serial, &crl, &e) < 0) {
        svc_reply_error(svc, conn, id, e.code, "%s", e.msg);
        return;
    }
    int64_t dev = (int64_t)rq->device_id;
    access_publish(p, &dev, 1);
    Mgate__RevokeReply rep = MGATE__REVOKE_REPLY__INIT;
    rep.serial = serial;
    rep.crl_pem = crl ? crl : "";
    svc_reply(svc, conn, id, MGATE__POLICYD_RESPONSE__BODY_REVOKE, &rep.base);
    free(crl);
}

static void policyd_crl(struct policyd *p, struct svc *svc, struct ipc_conn *conn, uint64_t id)
{
    struct enroll_err e = {0};
    char *crl = NULL;
    if (enroll_crl(p, &crl, &e) < 0) {
        svc_reply_error(svc, conn, id, e.code, "%s", e.msg);
        return;
    }
    Mgate__CrlReply rep = MGATE__CRL_REPLY__INIT;
    rep.crl_pem = crl;
    svc_reply(svc, conn, id, MGATE__POLICYD_RESPONSE__BODY_CRL, &rep.base);
    free(crl);
}

struct policyd_devlist {
    sqlite3 *db;
    Mgate__DeviceInfo **v;
    size_t n, cap;
};

static char *policyd_dup(const char *s)
{
    return strdup(s ? s : "");
}

void policyd_devinfo_free(Mgate__DeviceInfo *i)
{
    if (!i)
        return;
    free(i->hardware_id);
    free(i->owner);
    free(i->name);
    free(i->platform);
    free(i->os_version);
    free(i->state);
    free(i->cert_serial);
    free(i->cert_fingerprint);
    free(i->compliance);
    free(i->cert_source);
    for (size_t k = 0; k < i->n_groups; k++)
        free(i->groups[k]);
    free(i->groups);
    for (size_t k = 0; k < i->n_compliance_reasons; k++)
        free(i->compliance_reasons[k]);
    free(i->compliance_reasons);
    free(i);
}

int policyd_devinfo(sqlite3 *db, const struct reg_device *d, Mgate__DeviceInfo **out)
{
    Mgate__DeviceInfo *i = calloc(1, sizeof(*i));
    *out = i;
    if (!i)
        return -ENOMEM;
    mgate__device_info__init(i);
    i->id = (uint64_t)d->id;
    i->created = (uint64_t)d->created;
    i->last_seen = (uint64_t)d->last_seen;
    i->hardware_id = policyd_dup(d->hardware_id);
    i->owner = policyd_dup(d->owner);
    i->name = policyd_dup(d->name);
    i->platform = policyd_dup(d->platform);
    i->os_version = policyd_dup(d->os_version);
    i->state = policyd_dup(d->state);
    i->cert_serial = policyd_dup(d->cert_serial);
    i->cert_fingerprint = policyd_dup(d->cert_fingerprint);
    i->compliance = policyd_dup(d->compliance);
    i->cert_source = policyd_dup(d->cert_serial ? d->cert_source : "");
    struct strv groups = {0}, reasons = {0};
    int rc = grp_device_groups(db, d->id, &groups);
    i->groups = groups.v;
    i->n_groups = groups.n;
    char *rs = policyd_dup(d->compliance_reasons), *save = NULL;
    for (char *w = rs ? strtok_r(rs, "\n", &save) : NULL; w && rc == 0;
         w = strtok_r(NULL, "\n", &save))
        rc = strv_add(&reasons, w);
    free(rs);
    i->compliance_reasons = reasons.v;
    i->n_compliance_reasons = reasons.n;
    if (rc < 0 || !rs || !i->compliance || !i->cert_source)
        return rc < 0 ? rc : -ENOMEM;
    if (!i->hardware_id || !i->owner || !i->name || !i->platform || !i->os_version || !i->state ||
        !i->cert_serial || !i->cert_fingerprint)
        return -ENOMEM;
    return 0;
}

static int policyd_devlist_add(const struct reg_device *d, void *arg)
{
    struct policyd_devlist *l = arg;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 32;
        Mgate__DeviceInfo **nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        l->v = nv;
        l->cap = ncap;
    }
    Mgate__DeviceInfo *i = NULL;
    int rc = policyd_devinfo(l->db, d, &i);
    if (i)
        l->v[l->n++] = i;
    return rc;
}

static void policyd_device_list(struct policyd *p, struct svc *svc, struct ipc_conn *conn,
                                uint64_t id)
{
    struct policyd_devlist l = {.db = p->db};
    int rc = reg_device_each(p->db, policyd_devlist_add, &l);
    if (rc < 0) {
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INTERNAL, "cannot list devices: %s",
                        strerror(-rc));
    } else {
        Mgate__DeviceList rep = MGATE__DEVICE_LIST__INIT;
        rep.devices = l.v;
        rep.n_devices = l.n;
        svc_reply(svc, conn, id, MGATE__POLICYD_RESPONSE__BODY_DEVICE_LIST, &rep.base);
    }
    for (size_t i = 0; i < l.n; i++)
        policyd_devinfo_free(l.v[i]);
    free(l.v);
}

/* Wipes the password of an enrollment request once handled. */
static void policyd_wipe_enroll(const Mgate__EnrollRequest *rq)
{
    if (rq && rq->password)
        OPENSSL_cleanse(rq->password, strlen(rq->password));
}

void policyd_api_handle(struct svc *svc, struct ipc_conn *conn, uint64_t id,
                        const ProtobufCMessage *req, uint32_t body_case, void *ud)
{
    struct policyd *p = ud;
    const Mgate__PolicydRequest *r = (const Mgate__PolicydRequest *)req;
    switch (body_case) {
    case MGATE__POLICYD_REQUEST__BODY_CA_INIT:
        policyd_ca_init(p, svc, conn, id, r->ca_init);
        break;
    case MGATE__POLICYD_REQUEST__BODY_PRE_ENROLL:
        enroll_pre_job_start(p, svc, conn, id, r->pre_enroll);
        break;
    case MGATE__POLICYD_REQUEST__BODY_ENROLL:
        enroll_job_start(p, svc, conn, id, r->enroll);
        policyd_wipe_enroll(r->enroll);
        break;
    case MGATE__POLICYD_REQUEST__BODY_REGISTER_CERT:
        policyd_register_cert(p, svc, conn, id, r->register_cert);
        break;
    case MGATE__POLICYD_REQUEST__BODY_REVOKE:
        policyd_revoke(p, svc, conn, id, r->revoke);
        break;
    case MGATE__POLICYD_REQUEST__BODY_CRL:
        policyd_crl(p, svc, conn, id);
        break;
    case MGATE__POLICYD_REQUEST__BODY_DEVICE_LIST:
        policyd_device_list(p, svc, conn, id);
        break;
    default:
        if (policyd_api_policy(p, svc, conn, id, req, body_case))
            break;
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_UNSUPPORTED,
                        "policyd does not serve request %u", body_case);
    }
}
