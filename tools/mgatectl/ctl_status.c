/* mgatectl status: is each daemon up, and what does it say about itself. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "envelope.h"

struct ctl_status_row {
    const char *name;
    ProtobufCMessage *resp;
    const Mgate__Status *st;
    char why[256];
};

static void ctl_status_json(struct ctl_status_row *rows, size_t n)
{
    struct json_out j;
    json_begin(&j, stdout);
    json_arr_open(&j, NULL);
    for (size_t i = 0; i < n; i++) {
        const Mgate__Status *st = rows[i].st;
        json_obj_open(&j, NULL);
        json_str(&j, "service", rows[i].name);
        json_bool(&j, "up", st != NULL);
        if (!st) {
            json_str(&j, "error", rows[i].why);
            json_obj_close(&j);
            continue;
        }
        json_u64(&j, "pid", st->pid);
        json_str(&j, "version", st->version);
        json_u64(&j, "api_version", st->api_version);
        json_u64(&j, "uptime_s", st->uptime_s);
        json_u64(&j, "schema_version", st->schema_version);
        json_u64(&j, "peers", st->peers);
        json_str(&j, "detail", st->state_detail);
        json_arr_open(&j, "upstreams");
        for (size_t u = 0; u < st->n_upstreams; u++) {
            json_obj_open(&j, NULL);
            json_str(&j, "service", st->upstreams[u]->service);
            json_bool(&j, "connected", st->upstreams[u]->connected);
            json_u64(&j, "since_s", st->upstreams[u]->since_s);
            json_obj_close(&j);
        }
        json_arr_close(&j);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_end(&j);
}

static void ctl_status_table(struct ctl_status_row *rows, size_t n)
{
    printf("%-8s %-5s %7s %8s %-8s %6s %5s  %s\n", "SERVICE", "STATE", "PID", "UPTIME", "VERSION",
           "SCHEMA", "PEERS", "UPSTREAMS");
    for (size_t i = 0; i < n; i++) {
        const Mgate__Status *st = rows[i].st;
        if (!st) {
            printf("%-8s %-5s %7s %8s %-8s %6s %5s  %s\n", rows[i].name, "DOWN", "-", "-", "-", "-",
                   "-", rows[i].why);
            continue;
        }
        char up[32], schema[16], ups[256] = "";
        ctl_fmt_duration(st->uptime_s, up, sizeof(up));
        if (st->schema_version)
            snprintf(schema, sizeof(schema), "%u", st->schema_version);
        else
            snprintf(schema, sizeof(schema), "-");
        size_t off = 0;
        for (size_t u = 0; u < st->n_upstreams && off < sizeof(ups); u++)
            off += (size_t)snprintf(ups + off, sizeof(ups) - off, "%s%s:%s", u ? " " : "",
                                    st->upstreams[u]->service,
                                    st->upstreams[u]->connected ? "up" : "DOWN");
        printf("%-8s %-5s %7u %8s %-8s %6s %5u  %s\n", rows[i].name, "up", st->pid, up, st->version,
               schema, st->peers, st->n_upstreams ? ups : "-");
    }
}

int ctl_cmd_status(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_status_row rows[4];
    size_t n = 0;
    /* Optional service names narrow the list. */
    for (size_t i = 0; i < 4; i++) {
        bool wanted = argc == 0;
        for (int a = 0; a < argc; a++)
            if (strcmp(argv[a], ctl_services[i].name) == 0)
                wanted = true;
        if (!wanted)
            continue;
        memset(&rows[n], 0, sizeof(rows[n]));
        rows[n].name = ctl_services[i].name;
        Mgate__StatusRequest sr = MGATE__STATUS_REQUEST__INIT;
        if (ctl_call(ctl, &ctl_services[i], ENV_REQ_STATUS, &sr.base, &rows[n].resp, rows[n].why,
                     sizeof(rows[n].why)) == 0)
            rows[n].st = (const Mgate__Status *)envelope_get(rows[n].resp, ENV_RESP_STATUS);
        if (rows[n].resp && !rows[n].st)
            snprintf(rows[n].why, sizeof(rows[n].why), "answer carries no status");
        n++;
    }
    for (int a = 0; a < argc; a++) {
        if (!ctl_service_find(argv[a])) {
            fprintf(stderr, "mgatectl status: unknown service '%s' (xfrmd, iked, policyd, wiped)\n",
                    argv[a]);
            return 2;
        }
    }
    if (ctl->json)
        ctl_status_json(rows, n);
    else
        ctl_status_table(rows, n);
    int down = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].st)
            down++;
        if (rows[i].resp)
            protobuf_c_message_free_unpacked(rows[i].resp, NULL);
    }
    /* Like systemctl is-active: non-zero when something is not running. */
    return down ? 3 : 0;
}
