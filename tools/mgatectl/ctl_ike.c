/* mgatectl ike list | ike terminate SPI|IDENTITY|VIP: the IKE SAs iked holds. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "iked.pb-c.h"

static void ctl_ike_json(const Mgate__IkeSaList *l)
{
    struct json_out j;
    char spi[20];
    json_begin(&j, stdout);
    json_arr_open(&j, NULL);
    for (size_t i = 0; i < l->n_sas; i++) {
        const Mgate__IkeSaInfo *s = l->sas[i];
        json_obj_open(&j, NULL);
        snprintf(spi, sizeof(spi), "%016llx", (unsigned long long)s->spi_i);
        json_str(&j, "spi_i", spi);
        snprintf(spi, sizeof(spi), "%016llx", (unsigned long long)s->spi_r);
        json_str(&j, "spi_r", spi);
        json_str(&j, "state", s->state);
        json_str(&j, "local", s->local);
        json_str(&j, "remote", s->remote);
        json_bool(&j, "natt", s->natt);
        json_str(&j, "identity", s->identity);
        json_str(&j, "serial", s->serial);
        json_str(&j, "fingerprint", s->fingerprint);
        json_str(&j, "vip", s->vip);
        json_str(&j, "ike", s->ike);
        json_u64(&j, "age_s", s->age_s);
        json_str(&j, "access", s->access);
        json_str(&j, "access_reason", s->access_reason);
        json_bool(&j, "access_cached", s->access_cached);
        json_arr_open(&j, "children");
        for (size_t c = 0; c < s->n_children; c++) {
            const Mgate__IkeChildInfo *ch = s->children[c];
            json_obj_open(&j, NULL);
            snprintf(spi, sizeof(spi), "%08x", ch->spi_in);
            json_str(&j, "spi_in", spi);
            snprintf(spi, sizeof(spi), "%08x", ch->spi_out);
            json_str(&j, "spi_out", spi);
            json_u64(&j, "reqid", ch->reqid);
            json_str(&j, "esp", ch->esp);
            json_strs(&j, "local_ts", ch->local_ts, ch->n_local_ts);
            json_str(&j, "remote_ts", ch->remote_ts);
            json_bool(&j, "installed", ch->installed);
            json_obj_close(&j);
        }
        json_arr_close(&j);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_end(&j);
}

static void ctl_ike_table(const Mgate__IkeSaList *l)
{
    printf("%-16s %-11s %-22s %-30s %-15s %-30s %-20s %6s\n", "SPI_I", "STATE", "PEER", "IDENTITY",
           "VIRTUAL IP", "IKE", "CHILD (ESP)", "AGE");
    for (size_t i = 0; i < l->n_sas; i++) {
        const Mgate__IkeSaInfo *s = l->sas[i];
        char age[32], child[64] = "-";
        ctl_fmt_duration(s->age_s, age, sizeof(age));
        if (s->n_children)
            snprintf(child, sizeof(child), "%08x/%08x %s", s->children[0]->spi_in,
                     s->children[0]->spi_out, s->children[0]->esp);
        printf("%016llx %-11s %-22s %-30s %-15s %-30s %-20s %6s\n", (unsigned long long)s->spi_i,
               s->state, s->remote, *s->identity ? s->identity : "-", *s->vip ? s->vip : "-",
               s->ike, child, age);
        /* authorization = policyd: the decision and what the kernel lets
         * through, on a line of its own under the tunnel. */
        if (*s->access) {
            printf("    access %s%s", s->access, s->access_cached ? " (cached)" : "");
            for (size_t c = 0; c < s->n_children; c++)
                for (size_t t = 0; t < s->children[c]->n_local_ts; t++)
                    printf("%s%s", t ? ", " : ": ", s->children[c]->local_ts[t]);
            if (*s->access_reason)
                printf(" (%s)", s->access_reason);
            printf("\n");
        }
    }
    if (l->half_open)
        printf("(%u half-open)\n", l->half_open);
}

int ctl_cmd_ike(struct ctl *ctl, int argc, char **argv)
{
    const struct ctl_service *svc = ctl_service_find("iked");
    ProtobufCMessage *resp = NULL;
    char why[256];
    int rc;
    if (argc >= 1 && strcmp(argv[0], "list") == 0) {
        Mgate__IkeListRequest rq = MGATE__IKE_LIST_REQUEST__INIT;
        rc = ctl_call(ctl, svc, MGATE__IKED_REQUEST__BODY_LIST, &rq.base, &resp, why, sizeof(why));
        if (rc < 0) {
            fprintf(stderr, "mgatectl ike: iked: %s\n", why);
            return rc == -EPROTO ? 1 : 3;
        }
        const Mgate__IkedResponse *r = (const Mgate__IkedResponse *)resp;
        if (r->body_case == MGATE__IKED_RESPONSE__BODY_SAS)
            ctl->json ? ctl_ike_json(r->sas) : ctl_ike_table(r->sas);
        protobuf_c_message_free_unpacked(resp, NULL);
        return 0;
    }
    if (argc == 2 && strcmp(argv[0], "terminate") == 0) {
        Mgate__IkeTerminateRequest rq = MGATE__IKE_TERMINATE_REQUEST__INIT;
        struct in_addr a;
        char *end;
        unsigned long long spi = strtoull(argv[1], &end, 16);
        if (inet_pton(AF_INET, argv[1], &a) == 1)
            rq.vip = argv[1];
        else if (*end == '\0' && strlen(argv[1]) == 16)
            rq.spi_i = spi;
        else
            rq.identity = argv[1];
        rc = ctl_call(ctl, svc, MGATE__IKED_REQUEST__BODY_TERMINATE, &rq.base, &resp, why,
                      sizeof(why));
        if (rc < 0) {
            fprintf(stderr, "mgatectl ike terminate: %s\n", why);
            return rc == -EPROTO ? 1 : 3;
        }
        const Mgate__IkedResponse *r = (const Mgate__IkedResponse *)resp;
        printf("terminated %u IKE SA(s)\n",
               r->body_case == MGATE__IKED_RESPONSE__BODY_TERMINATE ? r->terminate->terminated : 0);
        protobuf_c_message_free_unpacked(resp, NULL);
        return 0;
    }
    fprintf(stderr, "usage: mgatectl ike list | ike terminate SPI_I|IDENTITY|VIRTUAL_IP\n");
    return 2;
}
