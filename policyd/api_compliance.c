/* A device's report of its state (DeviceReport): stored, evaluated against
 * the compliance rules and its effective policy, the verdict kept with its
 * reasons; a change of verdict changes the device's access and is
 * published. The HTTPS check-in endpoint will send the same request. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "authorize.h"
#include "enroll.h"
#include "log.h"

static int api_report_store(sqlite3 *db, int64_t dev, const Mgate__DeviceReportRequest *rq,
                            int64_t now, char *why)
{
    sqlite3_stmt *st = reg_prep(db,
                                "INSERT OR REPLACE INTO device_reports (device_id, at, "
                                "password_set, encryption_on, os_version, jailbroken) "
                                "VALUES (?, ?, ?, ?, ?, ?)",
                                why);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, dev);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int(st, 3, rq->password_set);
    sqlite3_bind_int(st, 4, rq->encryption_on);
    sqlite3_bind_text(st, 5, rq->os_version ? rq->os_version : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, rq->jailbroken);
    int rc = reg_step_done(db, st, why);
    for (size_t i = 0; rc == 0 && i < rq->n_results; i++) {
        const Mgate__SettingResult *r = rq->results[i];
        st = reg_prep(db,
                      "INSERT OR REPLACE INTO setting_results (device_id, setting, applied, "
                      "detail, at) VALUES (?, ?, ?, ?, ?)",
                      why);
        if (!st)
            return -EIO;
        sqlite3_bind_int64(st, 1, dev);
        sqlite3_bind_text(st, 2, r->setting, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, r->applied);
        sqlite3_bind_text(st, 4, r->detail ? r->detail : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now);
        rc = reg_step_done(db, st, why);
    }
    if (rc == 0 && rq->os_version && *rq->os_version) {
        st = reg_prep(db, "UPDATE devices SET os_version = ? WHERE id = ?", why);
        if (!st)
            return -EIO;
        sqlite3_bind_text(st, 1, rq->os_version, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, dev);
        rc = reg_step_done(db, st, why);
    }
    return rc;
}

static int api_compliance_store(sqlite3 *db, int64_t dev, const char *state, const char *reasons,
                                int64_t now, char *why)
{
    sqlite3_stmt *st = reg_prep(db,
                                "UPDATE devices SET compliance = ?, compliance_reasons = ?, "
                                "compliance_at = ?, last_seen = ? WHERE id = ?",
                                why);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, reasons, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, dev);
    return reg_step_done(db, st, why);
}

/* The reasons one a line, as the devices table keeps them. */
static char *api_join_lines(const struct strv *v)
{
    size_t len = 1;
    for (size_t i = 0; i < v->n; i++)
        len += strlen(v->v[i]) + 1;
    char *s = calloc(1, len);
    for (size_t i = 0; s && i < v->n; i++) {
        if (i)
            strcat(s, "\n");
        strcat(s, v->v[i]);
    }
    return s;
}

static void api_results_free(struct comp_result *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        free((char *)r[i].detail);
    free(r);
}

/* Every per-setting result the device has reported, the latest of each. */
static int api_results_load(sqlite3 *db, int64_t dev, struct comp_result **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = reg_prep(
        db, "SELECT setting, applied, detail FROM setting_results WHERE device_id = ?", NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, dev);
    size_t cap = 0;
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        int s = pol_setting_find((const char *)sqlite3_column_text(st, 0));
        if (s < 0)
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : POL_N_SETTINGS;
            struct comp_result *nr = realloc(*out, ncap * sizeof(*nr));
            if (!nr) {
                rc = -ENOMEM;
                break;
            }
            *out = nr;
            cap = ncap;
        }
        struct comp_result *r = &(*out)[(*n)++];
        r->setting = s;
        r->applied = sqlite3_column_int(st, 1) != 0;
        r->detail = reg_col_dup(st, 2);
        if (!r->detail)
            rc = -ENOMEM;
    }
    sqlite3_finalize(st);
    return rc;
}

static int api_report_find(struct api_ctx *c, const Mgate__DeviceReportRequest *rq,
                           struct reg_device *d)
{
    if (rq->device_id && rq->device_id <= INT64_MAX)
        return reg_device_by_id(c->p->db, (int64_t)rq->device_id, d);
    if (rq->fingerprint && *rq->fingerprint)
        return reg_device_by_cert(c->p->db, rq->fingerprint, NULL, d);
    return -EINVAL;
}

void api_device_report(struct api_ctx *c, const Mgate__DeviceReportRequest *rq)
{
    struct reg_device d;
    int rc = api_report_find(c, rq, &d);
    if (rc == -EINVAL || rc == -ENOENT) {
        svc_reply_error(c->svc, c->conn, c->id, api_code(rc == -EINVAL ? -EINVAL : -ENOENT),
                        rc == -EINVAL ? "a report needs the device id or its certificate's "
                                        "fingerprint"
                                      : "no such device");
        return;
    }
    if (rc < 0) {
        svc_reply_error(c->svc, c->conn, c->id, MGATE__ERROR_CODE__ERR_INTERNAL, "database error");
        return;
    }
    struct comp_result *res = NULL;
    size_t n_res = 0;
    struct strv reasons = {0};
    struct pdb_effective e = {0};
    struct access_grant g = {0};
    char why[REGISTRY_ERR] = "database error", *joined = NULL;
    int64_t now = time(NULL);
    for (size_t i = 0; i < rq->n_results; i++) {
        const Mgate__SettingResult *r = rq->results[i];
        if (pol_setting_find(r->setting) < 0) {
            snprintf(why, sizeof(why), "result %zu: no setting '%s'", i + 1,
                     r->setting ? r->setting : "");
            rc = -EINVAL;
            goto out;
        }
        if (r->detail && *r->detail && !enroll_field_ok(r->detail)) {
            snprintf(why, sizeof(why), "result %zu: the detail is too long or not printable",
                     i + 1);
            rc = -EINVAL;
            goto out;
        }
    }
    if (strcmp(d.state, "enrolled") != 0) {
        snprintf(why, sizeof(why), "device %lld is %s: only an enrolled device reports",
                 (long long)d.id, d.state);
        rc = -EINVAL;
        goto out;
    }
    if (rq->os_version && *rq->os_version && !enroll_field_ok(rq->os_version)) {
        snprintf(why, sizeof(why), "the OS version is too long or not printable");
        rc = -EINVAL;
        goto out;
    }
    /* The report first, then the verdict on every result the device has
     * given so far: a report may carry only some settings. */
    if (reg_begin(c->p->db, why) < 0 || api_report_store(c->p->db, d.id, rq, now, why) < 0 ||
        (rc = api_results_load(c->p->db, d.id, &res, &n_res)) < 0 ||
        (rc = pdb_effective(c->p->db, d.id, &e)) < 0) {
        reg_rollback(c->p->db);
        rc = rc == -ENOMEM ? rc : -EIO;
        goto out;
    }
    struct comp_report rep = {
        .platform = d.platform,
        .os_version = rq->os_version && *rq->os_version ? rq->os_version : d.os_version,
        .password_set = rq->password_set,
        .encryption_on = rq->encryption_on,
        .jailbroken = rq->jailbroken,
        .results = res,
        .n_results = n_res,
    };
    int ok = comp_evaluate(&c->p->conf.rules, &rep, &e.eff, &reasons);
    if (ok < 0 || !(joined = api_join_lines(&reasons))) {
        reg_rollback(c->p->db);
        rc = -ENOMEM;
        goto out;
    }
    const char *state = ok ? "compliant" : "non-compliant";
    bool changed = strcmp(d.compliance, state) != 0 || strcmp(d.compliance_reasons, joined) != 0;
    char detail[2048];
    snprintf(detail, sizeof(detail), "%s%s%s", state, *joined ? ": " : "", joined);
    for (char *p = detail; *p; p++)
        if (*p == '\n')
            *p = ';';
    if (api_compliance_store(c->p->db, d.id, state, joined, now, why) < 0 ||
        reg_audit(c->p->db, c->uid, d.id, "compliance", detail, now) < 0 ||
        reg_commit(c->p->db, why) < 0) {
        reg_rollback(c->p->db);
        log_err("cannot store the report of device %lld: %s", (long long)d.id, why);
        rc = -EIO;
        goto out;
    }
    if (changed) {
        log_notice("device %lld is %s", (long long)d.id, detail);
        access_publish(c->p, &d.id, 1);
    }
    int64_t id = d.id;
    reg_device_free(&d);
    /* The device as it is now: its new generation and verdict. */
    if ((rc = reg_device_by_id(c->p->db, id, &d)) < 0 ||
        (rc = access_grant_device(c->p, &d, &g)) < 0)
        goto out;
    Mgate__ComplianceState cs = MGATE__COMPLIANCE_STATE__INIT;
    cs.device_id = (uint64_t)id;
    cs.state = (char *)state;
    cs.reasons = reasons.v;
    cs.n_reasons = reasons.n;
    cs.evaluated = (uint64_t)now;
    cs.grant = &g.g;
    svc_reply(c->svc, c->conn, c->id, MGATE__POLICYD_RESPONSE__BODY_COMPLIANCE, &cs.base);
out:
    if (rc < 0) {
        if (rc == -EINVAL)
            reg_audit(c->p->db, c->uid, d.id, "compliance-refused", why, now);
        svc_reply_error(c->svc, c->conn, c->id, api_code(rc), "%s",
                        rc == -ENOMEM ? "out of memory" : why);
    }
    api_results_free(res, n_res);
    free(joined);
    strv_free(&reasons);
    pdb_effective_free(&e);
    access_grant_free(&g);
    reg_device_free(&d);
}
