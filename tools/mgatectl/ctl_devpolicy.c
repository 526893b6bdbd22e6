/* mgatectl device groups|policy|state: a device's groups, its effective
 * policy (each setting with the group and policy it came from) and its
 * administrative state. */
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
        json_arr_open(&j, "groups");
        for (size_t i = 0; i < dp->n_groups; i++)
            json_str(&j, NULL, dp->groups[i]);
        json_arr_close(&j);
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

int ctl_device_more(struct ctl *ctl, int argc, char **argv)
{
    uint64_t id;
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
