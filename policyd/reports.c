/* Reports (ReportRequest): the asset report (every device with its
 * history from the audit log), the policy report (per policy and setting:
 * the devices whose effective policy takes the setting from it, and what
 * their reports say of it) and the compliance summary (enrolled devices). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

struct rep_ctx {
    struct api_ctx *c;
    struct api_arena *a;
    Mgate__Report *r;
    struct pdb_links links;
};

static int rep_history(struct rep_ctx *x, Mgate__AssetRow *row, int64_t dev)
{
    sqlite3_stmt *st = reg_prep(x->c->p->db,
                                "SELECT at, uid, action, detail FROM audit WHERE device_id = ? "
                                "ORDER BY id",
                                NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, dev);
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        Mgate__AuditEntry *e = api_alloc(x->a, sizeof(*e));
        if (!e) {
            rc = -ENOMEM;
            break;
        }
        mgate__audit_entry__init(e);
        e->at = (uint64_t)sqlite3_column_int64(st, 0);
        e->uid = (uint32_t)sqlite3_column_int64(st, 1);
        e->action = api_str(x->a, sqlite3_column_text(st, 2));
        e->detail = api_str(x->a, sqlite3_column_text(st, 3));
        if (!e->action || !e->detail ||
            api_push(x->a, (void ***)&row->history, &row->n_history, e) < 0)
            rc = -ENOMEM;
    }
    sqlite3_finalize(st);
    return rc;
}

static int rep_asset(const struct reg_device *d, void *arg)
{
    struct rep_ctx *x = arg;
    Mgate__AssetRow *row = api_alloc(x->a, sizeof(*row));
    if (!row)
        return -ENOMEM;
    mgate__asset_row__init(row);
    /* The DeviceInfo is not arena memory: keep it in the arena's list so
     * it goes with the rest. */
    int rc = policyd_devinfo(x->c->p->db, d, &row->device);
    if (rc < 0) {
        policyd_devinfo_free(row->device);
        return rc;
    }
    if (api_push(x->a, (void ***)&x->r->assets, &x->r->n_assets, row) < 0) {
        policyd_devinfo_free(row->device);
        return -ENOMEM;
    }
    return rep_history(x, row, d->id);
}

static Mgate__PolicyReportRow *rep_row(struct rep_ctx *x, const char *policy, int setting)
{
    for (size_t i = 0; i < x->r->n_policies; i++) {
        Mgate__PolicyReportRow *row = x->r->policies[i];
        if (strcmp(row->policy, policy) == 0 &&
            strcmp(row->setting, pol_settings[setting].name) == 0)
            return row;
    }
    return NULL;
}

/* One device's contribution to the policy report. */
static int rep_policy_device(const struct reg_device *d, void *arg)
{
    struct rep_ctx *x = arg;
    if (strcmp(d->state, "enrolled") != 0)
        return 0;
    struct strv groups = {0};
    int rc = grp_device_groups(x->c->p->db, d->id, &groups);
    if (rc < 0)
        return rc;
    struct pol_effective eff;
    pol_resolve((const char *const *)groups.v, groups.n, x->links.v, x->links.n, &eff);
    int8_t result[POL_N_SETTINGS];
    memset(result, -1, sizeof(result));
    sqlite3_stmt *st = reg_prep(
        x->c->p->db, "SELECT setting, applied FROM setting_results WHERE device_id = ?", NULL);
    if (!st) {
        strv_free(&groups);
        return -EIO;
    }
    sqlite3_bind_int64(st, 1, d->id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int s = pol_setting_find((const char *)sqlite3_column_text(st, 0));
        if (s >= 0)
            result[s] = (int8_t)(sqlite3_column_int(st, 1) != 0);
    }
    sqlite3_finalize(st);
    for (int s = 0; s < POL_N_SETTINGS; s++) {
        Mgate__PolicyReportRow *row = eff.policy[s] ? rep_row(x, eff.policy[s], s) : NULL;
        if (!row)
            continue;
        row->applied++;
        if (result[s] == 1)
            row->succeeded++;
        else if (result[s] == 0)
            row->failed++;
    }
    strv_free(&groups);
    return 0;
}

static int rep_policies(struct rep_ctx *x)
{
    sqlite3_stmt *st = reg_prep(x->c->p->db,
                                "SELECT p.name, s.setting, s.value FROM policy_settings s JOIN "
                                "policies p ON p.id = s.policy_id ORDER BY p.name",
                                NULL);
    if (!st)
        return -EIO;
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        if (pol_setting_find((const char *)sqlite3_column_text(st, 1)) < 0)
            continue;
        Mgate__PolicyReportRow *row = api_alloc(x->a, sizeof(*row));
        if (!row) {
            rc = -ENOMEM;
            break;
        }
        mgate__policy_report_row__init(row);
        row->policy = api_str(x->a, sqlite3_column_text(st, 0));
        row->setting = api_str(x->a, sqlite3_column_text(st, 1));
        row->value = api_str(x->a, sqlite3_column_text(st, 2));
        if (!row->policy || !row->setting || !row->value ||
            api_push(x->a, (void ***)&x->r->policies, &x->r->n_policies, row) < 0)
            rc = -ENOMEM;
    }
    sqlite3_finalize(st);
    /* Catalogue order within each policy. */
    for (size_t i = 1; rc == 0 && i < x->r->n_policies; i++)
        for (size_t k = i; k > 0; k--) {
            Mgate__PolicyReportRow *a = x->r->policies[k - 1], *b = x->r->policies[k];
            int c = strcmp(a->policy, b->policy);
            if (c < 0 || (c == 0 && pol_setting_find(a->setting) < pol_setting_find(b->setting)))
                break;
            x->r->policies[k - 1] = b;
            x->r->policies[k] = a;
        }
    if (rc == 0)
        rc = pdb_links_load(x->c->p->db, &x->links);
    if (rc == 0)
        rc = reg_device_each(x->c->p->db, rep_policy_device, x);
    return rc;
}

static int rep_reason(struct rep_ctx *x, Mgate__ComplianceSummary *cs, const char *reason)
{
    for (size_t i = 0; i < cs->n_reasons; i++)
        if (strcmp(cs->reasons[i]->reason, reason) == 0) {
            cs->reasons[i]->devices++;
            return 0;
        }
    Mgate__ReasonCount *rc = api_alloc(x->a, sizeof(*rc));
    if (!rc)
        return -ENOMEM;
    mgate__reason_count__init(rc);
    rc->reason = api_str(x->a, (const unsigned char *)reason);
    rc->devices = 1;
    if (!rc->reason)
        return -ENOMEM;
    return api_push(x->a, (void ***)&cs->reasons, &cs->n_reasons, rc);
}

static int rep_compliance_device(const struct reg_device *d, void *arg)
{
    struct rep_ctx *x = arg;
    Mgate__ComplianceSummary *cs = x->r->compliance;
    if (strcmp(d->state, "enrolled") != 0)
        return 0;
    cs->devices++;
    if (strcmp(d->compliance, "compliant") == 0) {
        cs->compliant++;
        return 0;
    }
    if (strcmp(d->compliance, "non-compliant") != 0) {
        cs->unknown++;
        return 0;
    }
    cs->non_compliant++;
    Mgate__ComplianceState *st = api_alloc(x->a, sizeof(*st));
    char *reasons = api_str(x->a, (const unsigned char *)d->compliance_reasons), *save = NULL;
    if (!st || !reasons)
        return -ENOMEM;
    mgate__compliance_state__init(st);
    st->device_id = (uint64_t)d->id;
    st->state = "non-compliant";
    st->evaluated = (uint64_t)d->compliance_at;
    for (char *w = strtok_r(reasons, "\n", &save); w; w = strtok_r(NULL, "\n", &save))
        if (api_push(x->a, (void ***)&st->reasons, &st->n_reasons, w) < 0 ||
            rep_reason(x, cs, w) < 0)
            return -ENOMEM;
    return api_push(x->a, (void ***)&cs->non_compliant_devices, &cs->n_non_compliant_devices, st);
}

void api_report(struct api_ctx *c, const Mgate__ReportRequest *rq)
{
    const char *kind = rq->kind ? rq->kind : "";
    struct api_arena a = {0};
    Mgate__Report r = MGATE__REPORT__INIT;
    Mgate__ComplianceSummary cs = MGATE__COMPLIANCE_SUMMARY__INIT;
    struct rep_ctx x = {.c = c, .a = &a, .r = &r};
    int rc;
    if (strcmp(kind, "assets") == 0) {
        rc = reg_device_each(c->p->db, rep_asset, &x);
    } else if (strcmp(kind, "policies") == 0) {
        rc = rep_policies(&x);
    } else if (strcmp(kind, "compliance") == 0) {
        r.compliance = &cs;
        rc = reg_device_each(c->p->db, rep_compliance_device, &x);
    } else {
        svc_reply_error(c->svc, c->conn, c->id, MGATE__ERROR_CODE__ERR_INVALID,
                        "no report '%s': assets, policies or compliance", kind);
        return;
    }
    if (rc < 0)
        api_fail(c, rc);
    else
        svc_reply(c->svc, c->conn, c->id, MGATE__POLICYD_RESPONSE__BODY_REPORT, &r.base);
    for (size_t i = 0; i < r.n_assets; i++)
        policyd_devinfo_free(r.assets[i]->device);
    pdb_links_free(&x.links);
    api_arena_free(&a);
}
