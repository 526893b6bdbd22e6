/* Enrollment and pre-enrollment with their CPU work off the loop.
 *
 * Enrollment: the loop looks the device up and draws a unique
 * serial; a libuv worker thread checks the password (PBKDF2), the CSR and
 * signs the certificate with a reference of the CA taken at the start (a
 * `ca init --force` meanwhile does not pull it away); back on the loop the
 * device and its password are read again (another enrollment may have won
 * the race), and the result is committed and answered. Refusals keep the
 * order of the checks: nothing is said about the CSR without the password.
 *
 * Pre-enrollment: the fields are checked on the loop, the passwords drawn
 * and hashed on a worker (PBKDF2 each), the records stored all or nothing
 * back on the loop. */
#include "enroll_job.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "log.h"

struct enroll_job {
    uv_work_t req;
    struct policyd *p;
    struct svc *svc;
    struct ipc_conn *conn;
    uint64_t rid;
    uint32_t uid;
    int64_t dev;
    char *hwid, *password, *csr_pem, *os_version;
    struct reg_secret secret; /* as read when the request came */
    struct ca ca;             /* references; key NULL: no CA */
    unsigned char serial[16];
    uint64_t validity_s;
    /* The worker's verdicts. */
    bool pw_ok, csr_ok;
    char why[CA_ERR];
    struct enroll_result res;
};

static void enroll_job_free(struct enroll_job *j)
{
    if (j->password) {
        OPENSSL_cleanse(j->password, strlen(j->password));
        free(j->password);
    }
    free(j->hwid);
    free(j->csr_pem);
    free(j->os_version);
    free(j->res.cert_pem);
    ca_free(&j->ca);
    OPENSSL_cleanse(&j->secret, sizeof(j->secret));
    if (j->conn)
        ipc_conn_unref(j->conn);
    free(j);
}

static void enroll_job_error(struct enroll_job *j, const struct enroll_err *e)
{
    if (ipc_conn_is_open(j->conn))
        svc_reply_error(j->svc, j->conn, j->rid, e->code, "%s", e->msg);
}

/* Worker thread: no database, no loop. */
static void enroll_job_work(uv_work_t *req)
{
    struct enroll_job *j = req->data;
    j->pw_ok = otp_verify(j->password, &j->secret);
    /* A CSR is looked at only for the right password. */
    if (!j->pw_ok)
        return;
    X509_REQ *csr = ca_csr_check(j->csr_pem, j->why);
    j->csr_ok = csr != NULL;
    if (csr && j->ca.key) {
        char cn[32];
        snprintf(cn, sizeof(cn), "%lld", (long long)j->dev);
        X509 *cert = ca_issue(&j->ca, csr, cn, j->serial, j->validity_s, j->why);
        if (cert && ca_fingerprint(cert, j->res.fingerprint) == 0)
            j->res.cert_pem = ca_cert_pem(cert);
        if (cert && !j->res.cert_pem)
            snprintf(j->why, sizeof(j->why), "out of memory");
        X509_free(cert);
    }
    X509_REQ_free(csr);
}

/* Loop: the checks again on fresh rows, then the commit and the reply. */
static void enroll_job_done(uv_work_t *req, int status)
{
    struct enroll_job *j = req->data;
    struct policyd *p = j->p;
    struct enroll_err e = {0};
    struct reg_device d = {0};
    struct reg_secret s;
    char why[REGISTRY_ERR];
    int64_t now = time(NULL);
    if (status != 0) {
        enroll_fail(&e, MGATE__ERROR_CODE__ERR_INTERNAL, "the enrollment was cancelled");
        goto out;
    }
    if (reg_device_by_id(p->db, j->dev, &d) < 0 || reg_secret_get(p->db, j->dev, &s) < 0) {
        enroll_fail(&e, MGATE__ERROR_CODE__ERR_INTERNAL, "database error");
        goto out;
    }
    if (!j->pw_ok) {
        enroll_refuse(p, j->uid, j->dev, &e, MGATE__ERROR_CODE__ERR_DENIED, j->hwid,
                      "wrong password");
        goto out;
    }
    if (s.used) {
        enroll_refuse(p, j->uid, j->dev, &e, MGATE__ERROR_CODE__ERR_DENIED, j->hwid,
                      "the password was already used");
        goto out;
    }
    if (s.expires <= now) {
        enroll_refuse(p, j->uid, j->dev, &e, MGATE__ERROR_CODE__ERR_DENIED, j->hwid,
                      "the password has expired");
        goto out;
    }
    if (strcmp(d.state, "pre-enrolled") != 0) {
        snprintf(why, sizeof(why), "device %lld is %s, not pre-enrolled", (long long)j->dev,
                 d.state);
        enroll_refuse(p, j->uid, j->dev, &e, MGATE__ERROR_CODE__ERR_DENIED, j->hwid, why);
        goto out;
    }
    if (!j->csr_ok) {
        enroll_refuse(p, j->uid, j->dev, &e, MGATE__ERROR_CODE__ERR_INVALID, j->hwid, j->why);
        goto out;
    }
    if (!j->ca.key) {
        enroll_fail(&e, MGATE__ERROR_CODE__ERR_UNAVAILABLE,
                    "mgate's CA is not initialized (mgatectl ca init)");
        goto out;
    }
    if (!j->res.cert_pem) {
        log_err("cannot issue a certificate for device %lld: %s", (long long)j->dev, j->why);
        enroll_fail(&e, MGATE__ERROR_CODE__ERR_INTERNAL, "%s", j->why);
        goto out;
    }
    /* A client gone: nothing is recorded, the password stays good. */
    if (!ipc_conn_is_open(j->conn)) {
        log_notice("enrollment of device %lld abandoned: the client left", (long long)j->dev);
        goto out;
    }
    char detail[256];
    snprintf(detail, sizeof(detail), "certificate serial %s, fingerprint %s", j->res.serial,
             j->res.fingerprint);
    if (reg_begin(p->db, why) < 0 ||
        reg_device_enrolled(p->db, j->dev, j->res.serial, j->res.fingerprint, j->os_version, now,
                            why) < 0 ||
        reg_secret_use(p->db, j->dev, why) < 0 ||
        reg_audit(p->db, j->uid, j->dev, "enroll", detail, now) < 0 || reg_commit(p->db, why) < 0) {
        reg_rollback(p->db);
        log_err("cannot record the enrollment of device %lld: %s", (long long)j->dev, why);
        enroll_fail(&e, MGATE__ERROR_CODE__ERR_INTERNAL, "database error");
        goto out;
    }
    log_info("device %lld (%s) enrolled, certificate serial %s", (long long)j->dev, j->hwid,
             j->res.serial);
    Mgate__EnrollReply rep = MGATE__ENROLL_REPLY__INIT;
    rep.device_id = (uint64_t)j->dev;
    rep.cert_pem = j->res.cert_pem;
    rep.serial = j->res.serial;
    rep.fingerprint = j->res.fingerprint;
    svc_reply(j->svc, j->conn, j->rid, MGATE__POLICYD_RESPONSE__BODY_ENROLL, &rep.base);
out:
    if (e.code != MGATE__ERROR_CODE__ERR_NONE)
        enroll_job_error(j, &e);
    OPENSSL_cleanse(&s, sizeof(s));
    reg_device_free(&d);
    enroll_job_free(j);
}

/* A serial not yet issued nor revoked (the database is the loop's). */
static int enroll_job_serial(struct policyd *p, struct enroll_job *j)
{
    for (int tries = 0; tries < 8; tries++) {
        int known;
        if (ca_random_serial(j->serial, j->res.serial) < 0 ||
            (known = reg_serial_known(p->db, j->res.serial)) < 0)
            return -1;
        if (!known)
            return 0;
    }
    return -1;
}

static char *enroll_dup(const char *s)
{
    return strdup(s ? s : "");
}

void enroll_job_start(struct policyd *p, struct svc *svc, struct ipc_conn *conn, uint64_t rid,
                      const Mgate__EnrollRequest *rq)
{
    struct enroll_err e = {0};
    const char *hwid = rq->hardware_id ? rq->hardware_id : "";
    uint32_t uid = policyd_peer_uid(conn);
    if (!enroll_field_ok(hwid) || !rq->password || !*rq->password || !rq->csr_pem ||
        !*rq->csr_pem) {
        svc_reply_error(svc, conn, rid, MGATE__ERROR_CODE__ERR_INVALID,
                        "enrollment needs a hardware id, a password and a CSR");
        return;
    }
    struct reg_device d;
    int rc = reg_device_by_hwid(p->db, hwid, &d);
    if (rc == -ENOENT) {
        enroll_refuse(p, uid, 0, &e, MGATE__ERROR_CODE__ERR_NOT_FOUND, hwid,
                      "no pre-enrolled device has this hardware id");
        svc_reply_error(svc, conn, rid, e.code, "%s", e.msg);
        return;
    }
    if (rc < 0) {
        svc_reply_error(svc, conn, rid, MGATE__ERROR_CODE__ERR_INTERNAL, "database error");
        return;
    }
    struct enroll_job *j = calloc(1, sizeof(*j));
    if (!j) {
        reg_device_free(&d);
        svc_reply_error(svc, conn, rid, MGATE__ERROR_CODE__ERR_INTERNAL, "out of memory");
        return;
    }
    j->p = p;
    j->svc = svc;
    j->rid = rid;
    j->uid = uid;
    j->dev = d.id;
    j->validity_s = p->conf.cert_validity / 1000 ? p->conf.cert_validity / 1000 : 1;
    reg_device_free(&d);
    j->hwid = enroll_dup(hwid);
    j->password = enroll_dup(rq->password);
    j->csr_pem = enroll_dup(rq->csr_pem);
    j->os_version = rq->os_version && *rq->os_version ? strdup(rq->os_version) : NULL;
    if (!j->hwid || !j->password || !j->csr_pem ||
        (rq->os_version && *rq->os_version && !j->os_version)) {
        enroll_fail(&e, MGATE__ERROR_CODE__ERR_INTERNAL, "out of memory");
    } else if (reg_secret_get(p->db, j->dev, &j->secret) < 0) {
        enroll_refuse(p, uid, j->dev, &e, MGATE__ERROR_CODE__ERR_DENIED, hwid,
                      "the device has no enrollment password");
    } else if (p->ca.key && enroll_job_serial(p, j) < 0) {
        enroll_fail(&e, MGATE__ERROR_CODE__ERR_INTERNAL, "cannot draw a unique serial");
    } else if (p->ca.key && (EVP_PKEY_up_ref(p->ca.key) != 1 || X509_up_ref(p->ca.cert) != 1)) {
        enroll_fail(&e, MGATE__ERROR_CODE__ERR_INTERNAL, "out of memory");
    } else {
        j->ca = p->ca;
        j->req.data = j;
        j->conn = conn;
        ipc_conn_ref(conn);
        rc = uv_queue_work(service_daemon(p->s)->loop, &j->req, enroll_job_work, enroll_job_done);
        if (rc == 0)
            return;
        log_err("cannot queue an enrollment: %s", uv_strerror(rc));
        enroll_fail(&e, MGATE__ERROR_CODE__ERR_INTERNAL, "cannot queue the enrollment");
    }
    svc_reply_error(svc, conn, rid, e.code, "%s", e.msg);
    enroll_job_free(j);
}

/* ---- pre-enrollment ---------------------------------------------------- */

struct pre_job {
    uv_work_t req;
    struct policyd *p;
    struct svc *svc;
    struct ipc_conn *conn;
    uint64_t rid;
    uint32_t uid;
    size_t n;
    int64_t expires;
    Mgate__PreEnrollDevice *devs; /* copies: the request is gone by then */
    Mgate__PreEnrollDevice **ptrs;
    struct enroll_pre *pre;
    struct reg_secret *secrets;
    int rc;
};

static void pre_job_free(struct pre_job *j)
{
    for (size_t i = 0; j->devs && i < j->n; i++) {
        free(j->devs[i].hardware_id);
        free(j->devs[i].owner);
        free(j->devs[i].name);
        free(j->devs[i].platform);
    }
    free(j->devs);
    free(j->ptrs);
    if (j->pre)
        OPENSSL_cleanse(j->pre, j->n * sizeof(*j->pre));
    if (j->secrets)
        OPENSSL_cleanse(j->secrets, j->n * sizeof(*j->secrets));
    free(j->pre);
    free(j->secrets);
    if (j->conn)
        ipc_conn_unref(j->conn);
    free(j);
}

static void pre_job_work(uv_work_t *req)
{
    struct pre_job *j = req->data;
    j->rc = enroll_pre_secrets(j->pre, j->secrets, j->n, j->expires);
}

static void pre_job_done(uv_work_t *req, int status)
{
    struct pre_job *j = req->data;
    struct enroll_err e = {0};
    Mgate__PreEnrolled *items = NULL, **ptrs = NULL;
    if (status != 0 || j->rc < 0) {
        enroll_fail(&e, MGATE__ERROR_CODE__ERR_INTERNAL,
                    status ? "the pre-enrollment was cancelled" : "no randomness");
    } else if (!ipc_conn_is_open(j->conn)) {
        /* Nobody would see the passwords: store nothing. */
        log_notice("pre-enrollment of %zu device(s) abandoned: the client left", j->n);
        goto out;
    } else if (!(items = calloc(j->n, sizeof(*items))) || !(ptrs = calloc(j->n, sizeof(*ptrs)))) {
        enroll_fail(&e, MGATE__ERROR_CODE__ERR_INTERNAL, "out of memory");
    } else if (enroll_pre_enroll(j->p, j->uid, j->ptrs, j->n, j->pre, j->secrets, &e) == 0) {
        for (size_t i = 0; i < j->n; i++) {
            mgate__pre_enrolled__init(&items[i]);
            items[i].device_id = (uint64_t)j->pre[i].id;
            items[i].hardware_id = j->devs[i].hardware_id;
            items[i].password = j->pre[i].password;
            items[i].expires = (uint64_t)j->pre[i].expires;
            ptrs[i] = &items[i];
        }
        Mgate__PreEnrollReply rep = MGATE__PRE_ENROLL_REPLY__INIT;
        rep.devices = ptrs;
        rep.n_devices = j->n;
        svc_reply(j->svc, j->conn, j->rid, MGATE__POLICYD_RESPONSE__BODY_PRE_ENROLL, &rep.base);
    }
    if (e.code != MGATE__ERROR_CODE__ERR_NONE && ipc_conn_is_open(j->conn))
        svc_reply_error(j->svc, j->conn, j->rid, e.code, "%s", e.msg);
out:
    free(items);
    free(ptrs);
    pre_job_free(j);
}

void enroll_pre_job_start(struct policyd *p, struct svc *svc, struct ipc_conn *conn, uint64_t rid,
                          const Mgate__PreEnrollRequest *rq)
{
    struct enroll_err e = {0};
    if (enroll_pre_check(rq->devices, rq->n_devices, &e) < 0) {
        svc_reply_error(svc, conn, rid, e.code, "%s", e.msg);
        return;
    }
    size_t n = rq->n_devices;
    struct pre_job *j = calloc(1, sizeof(*j));
    if (j) {
        j->n = n;
        j->devs = calloc(n, sizeof(*j->devs));
        j->ptrs = calloc(n, sizeof(*j->ptrs));
        j->pre = calloc(n, sizeof(*j->pre));
        j->secrets = calloc(n, sizeof(*j->secrets));
    }
    bool ok = j && j->devs && j->ptrs && j->pre && j->secrets;
    for (size_t i = 0; ok && i < n; i++) {
        Mgate__PreEnrollDevice *d = &j->devs[i];
        mgate__pre_enroll_device__init(d);
        d->hardware_id = strdup(rq->devices[i]->hardware_id);
        d->owner = strdup(rq->devices[i]->owner);
        d->name = strdup(rq->devices[i]->name);
        d->platform = strdup(rq->devices[i]->platform);
        j->ptrs[i] = d;
        ok = d->hardware_id && d->owner && d->name && d->platform;
    }
    if (!ok) {
        svc_reply_error(svc, conn, rid, MGATE__ERROR_CODE__ERR_INTERNAL, "out of memory");
        if (j)
            pre_job_free(j);
        return;
    }
    j->p = p;
    j->svc = svc;
    j->rid = rid;
    j->uid = policyd_peer_uid(conn);
    j->expires = enroll_pre_expiry(p, time(NULL));
    j->req.data = j;
    j->conn = conn;
    ipc_conn_ref(conn);
    int rc = uv_queue_work(service_daemon(p->s)->loop, &j->req, pre_job_work, pre_job_done);
    if (rc == 0)
        return;
    log_err("cannot queue a pre-enrollment: %s", uv_strerror(rc));
    svc_reply_error(svc, conn, rid, MGATE__ERROR_CODE__ERR_INTERNAL, "cannot queue the request");
    pre_job_free(j);
}
