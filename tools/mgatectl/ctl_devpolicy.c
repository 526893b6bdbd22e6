/* mgatectl device groups|policy|state: a device's groups, its effective
 * policy (each setting with the group and policy it came from) and its
 * administrative state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "policyd.pb-c.h"

static bool ctl_dev_id(const char *s, uint64_t *id)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || !v) {
        fprintf(stderr, "mgatectl device: '%s' is not a device id\n", s);
        return false;
    }
    *id = v;
    return true;
}

static void ctl_devpolicy_print(struct ctl *ctl, const Mgate__DevicePolicy *dp)
{
    if (ctl->json) {
        struct json_out j;
        json_begin(&j, stdout);
        json_obj_open(&j, NULL);
        json_u64(&j, "device_id", dp->device_id);
        json_strs(&j, "groups", dp->groups, dp->n_groups);
        json_arr_open(&j, "settings");
        for (size_t i = 0; i < dp->n_settings; i++) {
            const Mgate__EffectiveSetting *s = dp->settings[i];
            json_obj_open(&j, NULL);
            json_str(&j, "setting", s->setting);
            json_bool(&j, "configured", *s->value != '\0');
            if (*s->value) {
                json_str(&j, "value", s->value);
                json_str(&j, "group", s->group);
                json_str(&j, "policy", s->policy);
            } else {
                json_null(&j, "value");
                json_null(&j, "group");
                json_null(&j, "policy");
            }
            json_obj_close(&j);
        }
        json_arr_close(&j);
        json_obj_close(&j);
        json_end(&j);
        return;
    }
    printf("device %llu, groups:", (unsigned long long)dp->device_id);
    for (size_t i = 0; i < dp->n_groups; i++)
        printf(" %s", dp->groups[i]);
    printf("%s\n", dp->n_groups ? "" : " (none)");
    printf("%-30s %-28s %-20s %s\n", "SETTING", "VALUE", "GROUP", "POLICY");
    for (size_t i = 0; i < dp->n_settings; i++) {
        const Mgate__EffectiveSetting *s = dp->settings[i];
        printf("%-30s %-28s %-20s %s\n", s->setting, *s->value ? s->value : "not configured",
               *s->group ? s->group : "-", *s->policy ? s->policy : "-");
    }
}

static int ctl_dev_change(struct ctl *ctl, const char *what, uint32_t field, ProtobufCMessage *body)
{
    const Mgate__PolicydResponse *r = NULL;
    int rc = ctl_policyd(ctl, what, field, body, &r);
    if (rc)
        return rc;
    if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_CHANGE) {
        if (ctl->json) {
            struct json_out j;
            json_begin(&j, stdout);
            json_obj_open(&j, NULL);
            json_str(&j, "detail", r->change->detail);
            json_u64(&j, "access_events", r->change->access_events);
            json_obj_close(&j);
            json_end(&j);
        } else {
            printf("%s\n", r->change->detail);
        }
    }
    ctl_resp_free(r);
    return 0;
}

static const char *ctl_decision(Mgate__AccessDecision d)
{
    switch (d) {
    case MGATE__ACCESS_DECISION__ACCESS_ALLOW:
        return "allow";
    case MGATE__ACCESS_DECISION__ACCESS_QUARANTINE:
        return "quarantine";
    case MGATE__ACCESS_DECISION__ACCESS_DENY:
        return "deny";
    default:
        return "unspecified";
    }
}

static void ctl_compliance_print(struct ctl *ctl, const Mgate__ComplianceState *cs)
{
    const Mgate__AccessGrant *g = cs->grant;
    if (ctl->json) {
        struct json_out j;
        json_begin(&j, stdout);
        json_obj_open(&j, NULL);
        json_u64(&j, "device_id", cs->device_id);
        json_str(&j, "compliance", cs->state);
        json_strs(&j, "reasons", cs->reasons, cs->n_reasons);
        if (g) {
            json_str(&j, "access", ctl_decision(g->decision));
            json_str(&j, "access_reason", g->reason);
        }
        json_obj_close(&j);
        json_end(&j);
        return;
    }
    printf("device %llu: %s\n", (unsigned long long)cs->device_id, cs->state);
    for (size_t i = 0; i < cs->n_reasons; i++)
        printf("  - %s\n", cs->reasons[i]);
    if (g)
        printf("access: %s (%s)\n", ctl_decision(g->decision), g->reason);
}

static int ctl_yesno(const char *opt, const char *v, protobuf_c_boolean *out)
{
    if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
        *out = strcmp(v, "yes") == 0;
        return 0;
    }
    fprintf(stderr, "mgatectl device report: %s takes yes or no, not '%s'\n", opt, v);
    return -1;
}

/* --result SETTING=ok|failed[:DETAIL] */
static int ctl_result(const char *v, Mgate__SettingResult *r, char **owned)
{
    mgate__setting_result__init(r);
    char *copy = strdup(v), *eq = copy ? strchr(copy, '=') : NULL;
    *owned = copy;
    if (!eq)
        goto bad;
    *eq = '\0';
    char *detail = strchr(eq + 1, ':');
    if (detail)
        *detail++ = '\0';
    if (strcmp(eq + 1, "ok") != 0 && strcmp(eq + 1, "failed") != 0)
        goto bad;
    r->setting = copy;
    r->applied = strcmp(eq + 1, "ok") == 0;
    r->detail = detail ? detail : "";
    return 0;
bad:
    fprintf(stderr, "mgatectl device report: --result wants SETTING=ok|failed[:DETAIL], not '%s'\n",
            v);
    return -1;
}

/* The device by id, or by its certificate's fingerprint (fp) as the
 * check-in endpoint will name it. */
static int ctl_device_report(struct ctl *ctl, uint64_t id, const char *fp, int argc, char **argv)
{
    Mgate__DeviceReportRequest rq = MGATE__DEVICE_REPORT_REQUEST__INIT;
    Mgate__SettingResult *res = calloc((size_t)argc + 1, sizeof(*res));
    Mgate__SettingResult **ptrs = calloc((size_t)argc + 1, sizeof(*ptrs));
    char **owned = calloc((size_t)argc + 1, sizeof(*owned));
    int rc = res && ptrs && owned ? 0 : 1;
    rq.device_id = id;
    rq.fingerprint = fp ? (char *)fp : "";
    for (int i = 0; rc == 0 && i < argc; i++) {
        const char *v = NULL;
        if (ctl_opt(argc, argv, &i, "--password-set", &v))
            rc = ctl_yesno("--password-set", v, &rq.password_set) ? 2 : 0;
        else if (ctl_opt(argc, argv, &i, "--encrypted", &v))
            rc = ctl_yesno("--encrypted", v, &rq.encryption_on) ? 2 : 0;
        else if (ctl_opt(argc, argv, &i, "--jailbroken", &v))
            rc = ctl_yesno("--jailbroken", v, &rq.jailbroken) ? 2 : 0;
        else if (ctl_opt(argc, argv, &i, "--os-version", &v))
            rq.os_version = (char *)v;
        else if (ctl_opt(argc, argv, &i, "--result", &v)) {
            rc = ctl_result(v, &res[rq.n_results], &owned[rq.n_results]) ? 2 : 0;
            ptrs[rq.n_results] = &res[rq.n_results];
            rq.n_results++;
        } else {
            fprintf(stderr, "mgatectl device report: unexpected '%s'\n", argv[i]);
            rc = 2;
        }
    }
    rq.results = ptrs;
    const Mgate__PolicydResponse *r = NULL;
    if (rc == 0 &&
        (rc = ctl_policyd(ctl, "device report", MGATE__POLICYD_REQUEST__BODY_DEVICE_REPORT,
                          &rq.base, &r)) == 0) {
        if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_COMPLIANCE)
            ctl_compliance_print(ctl, r->compliance);
        ctl_resp_free(r);
    }
    for (int i = 0; owned && i <= argc; i++)
        free(owned[i]);
    free(owned);
    free(res);
    free(ptrs);
    return rc;
}

static int ctl_register_cert(struct ctl *ctl, int argc, char **argv)
{
    const char *hwid = NULL, *file = NULL, *osv = NULL;
    for (int i = 0; i < argc; i++) {
        if (!ctl_opt(argc, argv, &i, "--hwid", &hwid) &&
            !ctl_opt(argc, argv, &i, "--cert", &file) &&
            !ctl_opt(argc, argv, &i, "--os-version", &osv)) {
            fprintf(stderr, "mgatectl device register-cert: unexpected '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!hwid || !file) {
        fprintf(stderr,
                "usage: mgatectl device register-cert --hwid ID --cert FILE [--os-version V]\n");
        return 2;
    }
    char *pem = ctl_read_file(file);
    if (!pem) {
        fprintf(stderr, "mgatectl device register-cert: %s: %s\n", file, strerror(errno));
        return 1;
    }
    Mgate__RegisterCertRequest rq = MGATE__REGISTER_CERT_REQUEST__INIT;
    rq.hardware_id = (char *)hwid;
    rq.cert_pem = pem;
    rq.os_version = osv ? (char *)osv : "";
    const Mgate__PolicydResponse *r = NULL;
    int rc = ctl_policyd(ctl, "device register-cert", MGATE__POLICYD_REQUEST__BODY_REGISTER_CERT,
                         &rq.base, &r);
    free(pem);
    if (rc)
        return rc;
    if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_REGISTER_CERT)
        printf("device %llu enrolled with its external certificate, serial %s, fingerprint %s\n",
               (unsigned long long)r->register_cert->device_id, r->register_cert->serial,
               r->register_cert->fingerprint);
    ctl_resp_free(r);
    return 0;
}

int ctl_device_more(struct ctl *ctl, int argc, char **argv)
{
    uint64_t id;
    if (strcmp(argv[0], "register-cert") == 0)
        return ctl_register_cert(ctl, argc - 1, argv + 1);
    if (strcmp(argv[0], "report") == 0 && argc >= 3 && strcmp(argv[1], "--fingerprint") == 0)
        return ctl_device_report(ctl, 0, argv[2], argc - 3, argv + 3);
    if (strcmp(argv[0], "report") == 0 && argc >= 2) {
        if (!ctl_dev_id(argv[1], &id))
            return 2;
        return ctl_device_report(ctl, id, NULL, argc - 2, argv + 2);
    }
    if (strcmp(argv[0], "groups") == 0 && argc >= 2) {
        if (!ctl_dev_id(argv[1], &id))
            return 2;
        Mgate__DeviceGroupsRequest rq = MGATE__DEVICE_GROUPS_REQUEST__INIT;
        rq.device_id = id;
        rq.groups = argv + 2;
        rq.n_groups = (size_t)(argc - 2);
        return ctl_dev_change(ctl, "device groups", MGATE__POLICYD_REQUEST__BODY_DEVICE_GROUPS,
                              &rq.base);
    }
    if (strcmp(argv[0], "state") == 0 && argc == 3) {
        if (!ctl_dev_id(argv[1], &id))
            return 2;
        Mgate__DeviceStateRequest rq = MGATE__DEVICE_STATE_REQUEST__INIT;
        rq.device_id = id;
        rq.state = argv[2];
        return ctl_dev_change(ctl, "device state", MGATE__POLICYD_REQUEST__BODY_DEVICE_STATE,
                              &rq.base);
    }
    if (strcmp(argv[0], "policy") == 0 && argc == 2) {
        if (!ctl_dev_id(argv[1], &id))
            return 2;
        Mgate__DevicePolicyRequest rq = MGATE__DEVICE_POLICY_REQUEST__INIT;
        rq.device_id = id;
        const Mgate__PolicydResponse *r = NULL;
        int rc = ctl_policyd(ctl, "device policy", MGATE__POLICYD_REQUEST__BODY_DEVICE_POLICY,
                             &rq.base, &r);
        if (rc)
            return rc;
        if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_DEVICE_POLICY)
            ctl_devpolicy_print(ctl, r->device_policy);
        ctl_resp_free(r);
        return 0;
    }
    return -1;
}
