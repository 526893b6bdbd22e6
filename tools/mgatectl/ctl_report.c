/* mgatectl report assets|policies|compliance: policyd's reports as a
 * table, JSON (--json) or CSV (--csv, RFC 4180 quoting). */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "policyd.pb-c.h"

enum ctl_fmt { FMT_TABLE, FMT_JSON, FMT_CSV };

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv(const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n")) {
        putchar('"');
        for (const char *c = s; *c; c++) {
            if (*c == '"')
                putchar('"');
            putchar(*c);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
    putchar(last ? '\n' : ',');
}

static void csv_u(unsigned long long v, bool last)
{
    printf("%llu%c", v, last ? '\n' : ',');
}

static void ctl_join_groups(const Mgate__DeviceInfo *d, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < d->n_groups && o < len; k++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", k ? " " : "", d->groups[k]);
}

static void ctl_assets(const Mgate__Report *r, enum ctl_fmt fmt)
{
    char t[32], t2[32], groups[512];
    if (fmt == FMT_JSON) {
        struct json_out j;
        json_begin(&j, stdout);
        json_arr_open(&j, NULL);
        for (size_t i = 0; i < r->n_assets; i++) {
            const Mgate__DeviceInfo *d = r->assets[i]->device;
            json_obj_open(&j, NULL);
            ctl_json_device_head(&j, d);
            json_str(&j, "compliance", d->compliance);
            json_strs(&j, "groups", d->groups, d->n_groups);
            json_str(&j, "cert_serial", d->cert_serial);
            ctl_fmt_time(d->created, t, sizeof(t));
            json_str(&j, "created", t);
            ctl_json_time(&j, "last_seen", d->last_seen);
            json_arr_open(&j, "history");
            for (size_t k = 0; k < r->assets[i]->n_history; k++) {
                const Mgate__AuditEntry *e = r->assets[i]->history[k];
                json_obj_open(&j, NULL);
                ctl_fmt_time(e->at, t, sizeof(t));
                json_str(&j, "at", t);
                json_u64(&j, "uid", e->uid);
                json_str(&j, "action", e->action);
                json_str(&j, "detail", e->detail);
                json_obj_close(&j);
            }
            json_arr_close(&j);
            json_obj_close(&j);
        }
        json_arr_close(&j);
        json_end(&j);
        return;
    }
    if (fmt == FMT_CSV) {
        /* One row per history entry, the device's fields repeated. */
        printf("id,hardware_id,owner,name,platform,os_version,state,compliance,groups,"
               "cert_serial,created,last_seen,at,uid,action,detail\n");
        for (size_t i = 0; i < r->n_assets; i++) {
            const Mgate__DeviceInfo *d = r->assets[i]->device;
            ctl_join_groups(d, groups, sizeof(groups));
            ctl_fmt_time(d->created, t, sizeof(t));
            ctl_fmt_time(d->last_seen, t2, sizeof(t2));
            for (size_t k = 0; k < r->assets[i]->n_history; k++) {
                const Mgate__AuditEntry *e = r->assets[i]->history[k];
                char at[32];
                ctl_fmt_time(e->at, at, sizeof(at));
                csv_u(d->id, false);
                csv(d->hardware_id, false);
                csv(d->owner, false);
                csv(d->name, false);
                csv(d->platform, false);
                csv(d->os_version, false);
                csv(d->state, false);
                csv(d->compliance, false);
                csv(groups, false);
                csv(d->cert_serial, false);
                csv(t, false);
                csv(d->last_seen ? t2 : "", false);
                csv(at, false);
                csv_u(e->uid, false);
                csv(e->action, false);
                csv(e->detail, true);
            }
        }
        return;
    }
    for (size_t i = 0; i < r->n_assets; i++) {
        const Mgate__DeviceInfo *d = r->assets[i]->device;
        ctl_join_groups(d, groups, sizeof(groups));
        ctl_fmt_time(d->last_seen, t, sizeof(t));
        printf("%sdevice %llu  %s  %s / %s  %s %s  %s, %s  groups: %s  last seen %s\n",
               i ? "\n" : "", (unsigned long long)d->id, d->hardware_id, d->owner, d->name,
               d->platform, *d->os_version ? d->os_version : "?", d->state, d->compliance,
               *groups ? groups : "-", t);
        for (size_t k = 0; k < r->assets[i]->n_history; k++) {
            const Mgate__AuditEntry *e = r->assets[i]->history[k];
            ctl_fmt_time(e->at, t, sizeof(t));
            printf("  %s  uid %-10u %-20s %s\n", t, e->uid, e->action, e->detail);
        }
    }
}

static void ctl_policies(const Mgate__Report *r, enum ctl_fmt fmt)
{
    if (fmt == FMT_JSON) {
        struct json_out j;
        json_begin(&j, stdout);
        json_arr_open(&j, NULL);
        for (size_t i = 0; i < r->n_policies; i++) {
            const Mgate__PolicyReportRow *p = r->policies[i];
            json_obj_open(&j, NULL);
            json_str(&j, "policy", p->policy);
            json_str(&j, "setting", p->setting);
            json_str(&j, "value", p->value);
            json_u64(&j, "applied", p->applied);
            json_u64(&j, "succeeded", p->succeeded);
            json_u64(&j, "failed", p->failed);
            json_obj_close(&j);
        }
        json_arr_close(&j);
        json_end(&j);
        return;
    }
    if (fmt == FMT_CSV)
        printf("policy,setting,value,applied,succeeded,failed\n");
    else
        printf("%-16s %-30s %-28s %7s %9s %6s\n", "POLICY", "SETTING", "VALUE", "APPLIED",
               "SUCCEEDED", "FAILED");
    for (size_t i = 0; i < r->n_policies; i++) {
        const Mgate__PolicyReportRow *p = r->policies[i];
        if (fmt == FMT_CSV) {
            csv(p->policy, false);
            csv(p->setting, false);
            csv(p->value, false);
            csv_u(p->applied, false);
            csv_u(p->succeeded, false);
            csv_u(p->failed, true);
        } else {
            printf("%-16s %-30s %-28s %7u %9u %6u\n", p->policy, p->setting, p->value, p->applied,
                   p->succeeded, p->failed);
        }
    }
}

static void ctl_compliance(const Mgate__Report *r, enum ctl_fmt fmt)
{
    static const Mgate__ComplianceSummary none = MGATE__COMPLIANCE_SUMMARY__INIT;
    const Mgate__ComplianceSummary *s = r->compliance ? r->compliance : &none;
    if (fmt == FMT_JSON) {
        struct json_out j;
        json_begin(&j, stdout);
        json_obj_open(&j, NULL);
        json_u64(&j, "devices", s->devices);
        json_u64(&j, "compliant", s->compliant);
        json_u64(&j, "non_compliant", s->non_compliant);
        json_u64(&j, "unknown", s->unknown);
        json_obj_open(&j, "reasons");
        for (size_t i = 0; i < s->n_reasons; i++)
            json_u64(&j, s->reasons[i]->reason, s->reasons[i]->devices);
        json_obj_close(&j);
        json_arr_open(&j, "non_compliant_devices");
        for (size_t i = 0; i < s->n_non_compliant_devices; i++) {
            const Mgate__ComplianceState *d = s->non_compliant_devices[i];
            json_obj_open(&j, NULL);
            json_u64(&j, "id", d->device_id);
            json_strs(&j, "reasons", d->reasons, d->n_reasons);
            json_obj_close(&j);
        }
        json_arr_close(&j);
        json_obj_close(&j);
        json_end(&j);
        return;
    }
    if (fmt == FMT_CSV) {
        /* One row per non-compliant device and reason, after the totals. */
        printf("kind,device,reason,count\n");
        printf("total,,enrolled,%u\ntotal,,compliant,%u\ntotal,,non-compliant,%u\n"
               "total,,unknown,%u\n",
               s->devices, s->compliant, s->non_compliant, s->unknown);
        for (size_t i = 0; i < s->n_reasons; i++) {
            printf("reason,,");
            csv(s->reasons[i]->reason, false);
            csv_u(s->reasons[i]->devices, true);
        }
        for (size_t i = 0; i < s->n_non_compliant_devices; i++)
            for (size_t k = 0; k < s->non_compliant_devices[i]->n_reasons; k++) {
                printf("device,%llu,", (unsigned long long)s->non_compliant_devices[i]->device_id);
                csv(s->non_compliant_devices[i]->reasons[k], false);
                printf("1\n");
            }
        return;
    }
    printf("enrolled devices: %u  compliant: %u  non-compliant: %u  unknown (never reported): %u\n",
           s->devices, s->compliant, s->non_compliant, s->unknown);
    if (s->n_reasons)
        printf("\n%7s  %s\n", "DEVICES", "REASON");
    for (size_t i = 0; i < s->n_reasons; i++)
        printf("%7u  %s\n", s->reasons[i]->devices, s->reasons[i]->reason);
    if (s->n_non_compliant_devices)
        printf("\n%-7s %s\n", "DEVICE", "REASONS");
    for (size_t i = 0; i < s->n_non_compliant_devices; i++) {
        const Mgate__ComplianceState *d = s->non_compliant_devices[i];
        char id[24];
        snprintf(id, sizeof(id), "%llu", (unsigned long long)d->device_id);
        for (size_t k = 0; k < d->n_reasons; k++)
            printf("%-7s %s\n", k ? "" : id, d->reasons[k]);
    }
}

int ctl_cmd_report(struct ctl *ctl, int argc, char **argv)
{
    bool csv_out = argc == 2 && strcmp(argv[1], "--csv") == 0;
    if ((argc != 1 && !csv_out) || (strcmp(argv[0], "assets") && strcmp(argv[0], "policies") &&
                                    strcmp(argv[0], "compliance"))) {
        fprintf(stderr, "usage: mgatectl report assets|policies|compliance [--json|--csv]\n");
        return 2;
    }
    enum ctl_fmt fmt = ctl->json ? FMT_JSON : csv_out ? FMT_CSV : FMT_TABLE;
    Mgate__ReportRequest rq = MGATE__REPORT_REQUEST__INIT;
    rq.kind = argv[0];
    const Mgate__PolicydResponse *r = NULL;
    int rc = ctl_policyd(ctl, "report", MGATE__POLICYD_REQUEST__BODY_REPORT, &rq.base, &r);
    if (rc)
        return rc;
    if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_REPORT) {
        if (strcmp(argv[0], "assets") == 0)
            ctl_assets(r->report, fmt);
        else if (strcmp(argv[0], "policies") == 0)
            ctl_policies(r->report, fmt);
        else
            ctl_compliance(r->report, fmt);
    }
    ctl_resp_free(r);
    return 0;
}
