/* mgatectl group create|delete|list and mgatectl policy
 * create|delete|list|show|set|unset|link|unlink: groups and policies, kept
 * by policyd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "policyd.pb-c.h"

/* A change request: prints what policyd did and how many live grants it
 * pushed to the gateway. */
static int ctl_change(struct ctl *ctl, const char *what, uint32_t field, ProtobufCMessage *body)
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
            printf("%s", r->change->detail);
            if (r->change->access_events)
                printf(" (access changed for %u device%s)", r->change->access_events,
                       r->change->access_events == 1 ? "" : "s");
            printf("\n");
        }
    }
    ctl_resp_free(r);
    return 0;
}

static void ctl_group_print(struct ctl *ctl, const Mgate__GroupList *l)
{
    if (ctl->json) {
        struct json_out j;
        json_begin(&j, stdout);
        json_arr_open(&j, NULL);
        for (size_t i = 0; i < l->n_groups; i++) {
            json_obj_open(&j, NULL);
            json_str(&j, "path", l->groups[i]->path);
            json_u64(&j, "devices", l->groups[i]->devices);
            json_strs(&j, "policies", l->groups[i]->policies, l->groups[i]->n_policies);
            json_obj_close(&j);
        }
        json_arr_close(&j);
        json_end(&j);
        return;
    }
    printf("%-32s %7s  %s\n", "GROUP", "DEVICES", "POLICIES (in order)");
    for (size_t i = 0; i < l->n_groups; i++) {
        const Mgate__GroupInfo *g = l->groups[i];
        printf("%-32s %7u  ", g->path, g->devices);
        for (size_t k = 0; k < g->n_policies; k++)
            printf("%s%s", k ? ", " : "", g->policies[k]);
        printf("%s\n", g->n_policies ? "" : "-");
    }
}

int ctl_cmd_group(struct ctl *ctl, int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[0], "create") == 0) {
        Mgate__GroupCreateRequest rq = MGATE__GROUP_CREATE_REQUEST__INIT;
        rq.path = argv[1];
        return ctl_change(ctl, "group create", MGATE__POLICYD_REQUEST__BODY_GROUP_CREATE, &rq.base);
    }
    if (argc == 2 && strcmp(argv[0], "delete") == 0) {
        Mgate__GroupDeleteRequest rq = MGATE__GROUP_DELETE_REQUEST__INIT;
        rq.path = argv[1];
        return ctl_change(ctl, "group delete", MGATE__POLICYD_REQUEST__BODY_GROUP_DELETE, &rq.base);
    }
    if (argc == 1 && strcmp(argv[0], "list") == 0) {
        Mgate__GroupListRequest rq = MGATE__GROUP_LIST_REQUEST__INIT;
        const Mgate__PolicydResponse *r = NULL;
        int rc =
            ctl_policyd(ctl, "group list", MGATE__POLICYD_REQUEST__BODY_GROUP_LIST, &rq.base, &r);
        if (rc)
            return rc;
        if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_GROUP_LIST)
            ctl_group_print(ctl, r->group_list);
        ctl_resp_free(r);
        return 0;
    }
    fprintf(stderr, "usage: mgatectl group create PATH | group delete PATH | group list\n");
    return 2;
}

static void ctl_policy_print(struct ctl *ctl, const Mgate__PolicyList *l)
{
    if (ctl->json) {
        struct json_out j;
        json_begin(&j, stdout);
        json_arr_open(&j, NULL);
        for (size_t i = 0; i < l->n_policies; i++) {
            const Mgate__PolicyInfo *p = l->policies[i];
            json_obj_open(&j, NULL);
            json_str(&j, "name", p->name);
            json_obj_open(&j, "settings");
            for (size_t k = 0; k < p->n_settings; k++)
                json_str(&j, p->settings[k]->setting, p->settings[k]->value);
            json_obj_close(&j);
            json_arr_open(&j, "links");
            for (size_t k = 0; k < p->n_links; k++) {
                json_obj_open(&j, NULL);
                json_str(&j, "group", p->links[k]->group);
                json_u64(&j, "position", p->links[k]->position);
                json_obj_close(&j);
            }
            json_arr_close(&j);
            json_obj_close(&j);
        }
        json_arr_close(&j);
        json_end(&j);
        return;
    }
    for (size_t i = 0; i < l->n_policies; i++) {
        const Mgate__PolicyInfo *p = l->policies[i];
        printf("%spolicy %s\n", i ? "\n" : "", p->name);
        printf("  linked to:");
        for (size_t k = 0; k < p->n_links; k++)
            printf(" %s (#%u)", p->links[k]->group, p->links[k]->position);
        printf("%s\n", p->n_links ? "" : " -");
        for (size_t k = 0; k < p->n_settings; k++)
            printf("  %-32s %s\n", p->settings[k]->setting, p->settings[k]->value);
        if (!p->n_settings)
            printf("  (no setting configured)\n");
    }
}

/* The words from argv joined by spaces: "vpn.subnets 10.1.0.0/24 10.2.0.0/24". */
static char *ctl_join(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = calloc(1, len);
    for (int i = 0; s && i < argc; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

static int ctl_policy_link(struct ctl *ctl, int argc, char **argv, bool unlink)
{
    Mgate__PolicyLinkRequest rq = MGATE__POLICY_LINK_REQUEST__INIT;
    const char *pos = NULL;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (!unlink && ctl_opt(argc, argv, &i, "--position", &pos))
            continue;
        if (n == 0)
            rq.policy = argv[i];
        else if (n == 1)
            rq.group = argv[i];
        n++;
    }
    char *end = NULL;
    unsigned long p = pos ? strtoul(pos, &end, 10) : 0;
    if (n != 2 || (pos && (*end || p == 0 || p > 10000))) {
        fprintf(stderr, "usage: mgatectl policy link NAME GROUP [--position N] | "
                        "policy unlink NAME GROUP\n");
        return 2;
    }
    rq.position = (uint32_t)p;
    rq.unlink = unlink;
    return ctl_change(ctl, unlink ? "policy unlink" : "policy link",
                      MGATE__POLICYD_REQUEST__BODY_POLICY_LINK, &rq.base);
}

int ctl_cmd_policy(struct ctl *ctl, int argc, char **argv)
{
    const char *sub = argc ? argv[0] : "";
    if (argc == 2 && strcmp(sub, "create") == 0) {
        Mgate__PolicyCreateRequest rq = MGATE__POLICY_CREATE_REQUEST__INIT;
        rq.name = argv[1];
        return ctl_change(ctl, "policy create", MGATE__POLICYD_REQUEST__BODY_POLICY_CREATE,
                          &rq.base);
    }
    if (argc == 2 && strcmp(sub, "delete") == 0) {
        Mgate__PolicyDeleteRequest rq = MGATE__POLICY_DELETE_REQUEST__INIT;
        rq.name = argv[1];
        return ctl_change(ctl, "policy delete", MGATE__POLICYD_REQUEST__BODY_POLICY_DELETE,
                          &rq.base);
    }
    if ((argc == 1 && strcmp(sub, "list") == 0) || (argc == 2 && strcmp(sub, "show") == 0)) {
        Mgate__PolicyListRequest rq = MGATE__POLICY_LIST_REQUEST__INIT;
        rq.name = argc == 2 ? argv[1] : "";
        const Mgate__PolicydResponse *r = NULL;
        int rc =
            ctl_policyd(ctl, "policy list", MGATE__POLICYD_REQUEST__BODY_POLICY_LIST, &rq.base, &r);
        if (rc)
            return rc;
        if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_POLICY_LIST)
            ctl_policy_print(ctl, r->policy_list);
        ctl_resp_free(r);
        return 0;
    }
    if ((argc >= 4 && strcmp(sub, "set") == 0) || (argc == 3 && strcmp(sub, "unset") == 0)) {
        Mgate__PolicySetRequest rq = MGATE__POLICY_SET_REQUEST__INIT;
        rq.name = argv[1];
        rq.setting = argv[2];
        rq.unset = strcmp(sub, "unset") == 0;
        char *value = rq.unset ? NULL : ctl_join(argc - 3, argv + 3);
        if (!rq.unset && !value)
            return 1;
        rq.value = value ? value : "";
        int rc = ctl_change(ctl, "policy set", MGATE__POLICYD_REQUEST__BODY_POLICY_SET, &rq.base);
        free(value);
        return rc;
    }
    if (strcmp(sub, "link") == 0 || strcmp(sub, "unlink") == 0)
        return ctl_policy_link(ctl, argc - 1, argv + 1, strcmp(sub, "unlink") == 0);
    fprintf(stderr, "usage: mgatectl policy create NAME | policy delete NAME\n"
                    "       mgatectl policy list | policy show NAME\n"
                    "       mgatectl policy set NAME SETTING VALUE... | policy unset NAME SETTING\n"
                    "       mgatectl policy link NAME GROUP [--position N] | "
                    "policy unlink NAME GROUP\n");
    return 2;
}
