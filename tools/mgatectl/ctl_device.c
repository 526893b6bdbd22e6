/* mgatectl ca init|crl and mgatectl device pre-enroll|list|enroll|revoke:
 * mgate's CA and the device registry, both kept by policyd. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "policyd.pb-c.h"

int ctl_policyd(struct ctl *ctl, const char *what, uint32_t field, ProtobufCMessage *body,
                const Mgate__PolicydResponse **out)
{
    ProtobufCMessage *resp = NULL;
    char why[512];
    int rc = ctl_call(ctl, ctl_service_find("policyd"), field, body, &resp, why, sizeof(why));
    if (rc < 0) {
        fprintf(stderr, "mgatectl %s: %s\n", what, why);
        return rc == -EPROTO ? 1 : 3;
    }
    *out = (const Mgate__PolicydResponse *)resp;
    return 0;
}

void ctl_resp_free(const Mgate__PolicydResponse *r)
{
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
}

void ctl_fmt_time(uint64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "-");
}

void ctl_json_time(struct json_out *j, const char *key, uint64_t t)
{
    char buf[32];
    if (!t) {
        json_null(j, key);
        return;
    }
    ctl_fmt_time(t, buf, sizeof(buf));
    json_str(j, key, buf);
}

void ctl_json_device_head(struct json_out *j, const Mgate__DeviceInfo *d)
{
    json_u64(j, "id", d->id);
    json_str(j, "hardware_id", d->hardware_id);
    json_str(j, "owner", d->owner);
    json_str(j, "name", d->name);
    json_str(j, "platform", d->platform);
    json_str(j, "os_version", d->os_version);
    json_str(j, "state", d->state);
}

int ctl_cmd_ca(struct ctl *ctl, int argc, char **argv)
{
    const Mgate__PolicydResponse *r = NULL;
    int rc;
    if (argc >= 1 && strcmp(argv[0], "init") == 0 &&
        (argc == 1 || (argc == 2 && strcmp(argv[1], "--force") == 0))) {
        Mgate__CaInitRequest rq = MGATE__CA_INIT_REQUEST__INIT;
        rq.force = argc == 2;
        if ((rc = ctl_policyd(ctl, "ca init", MGATE__POLICYD_REQUEST__BODY_CA_INIT, &rq.base, &r)))
            return rc;
        if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_CA_INIT) {
            char t[32];
            ctl_fmt_time(r->ca_init->not_after, t, sizeof(t));
            fprintf(stderr, "CA %s created, valid until %s\n", r->ca_init->subject, t);
            fputs(r->ca_init->cert_pem, stdout);
        }
        ctl_resp_free(r);
        return 0;
    }
    if (argc == 1 && strcmp(argv[0], "crl") == 0) {
        Mgate__CrlRequest rq = MGATE__CRL_REQUEST__INIT;
        if ((rc = ctl_policyd(ctl, "ca crl", MGATE__POLICYD_REQUEST__BODY_CRL, &rq.base, &r)))
            return rc;
        if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_CRL)
            fputs(r->crl->crl_pem, stdout);
        ctl_resp_free(r);
        return 0;
    }
    fprintf(stderr, "usage: mgatectl ca init [--force] | ca crl\n");
    return 2;
}

bool ctl_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return false;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return true;
    }
    if (argv[*i][n] == '\0' && *i + 1 < argc) {
        *val = argv[++*i];
        return true;
    }
    return false;
}

static void ctl_pre_print(struct ctl *ctl, const Mgate__PreEnrollReply *rep)
{
    char t[32];
    if (ctl->json) {
        struct json_out j;
        json_begin(&j, stdout);
        json_arr_open(&j, NULL);
        for (size_t i = 0; i < rep->n_devices; i++) {
            const Mgate__PreEnrolled *d = rep->devices[i];
            json_obj_open(&j, NULL);
            json_u64(&j, "id", d->device_id);
            json_str(&j, "hardware_id", d->hardware_id);
            json_str(&j, "password", d->password);
            ctl_fmt_time(d->expires, t, sizeof(t));
            json_str(&j, "expires", t);
            json_obj_close(&j);
        }
        json_arr_close(&j);
        json_end(&j);
        return;
    }
    printf("%-6s %-24s %-20s %s\n", "ID", "HARDWARE ID", "PASSWORD", "EXPIRES");
    for (size_t i = 0; i < rep->n_devices; i++) {
        const Mgate__PreEnrolled *d = rep->devices[i];
        ctl_fmt_time(d->expires, t, sizeof(t));
        printf("%-6llu %-24s %-20s %s\n", (unsigned long long)d->device_id, d->hardware_id,
               d->password, t);
    }
}

struct ctl_csv {
    Mgate__PreEnrollDevice *devs;
    Mgate__PreEnrollDevice **ptrs;
    char **lines;
    size_t n, cap;
};

static void ctl_csv_free(struct ctl_csv *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[i]);
    free(c->lines);
    free(c->devs);
    free(c->ptrs);
}

static char *ctl_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Parses one CSV line into its four fields; a reason on failure. */
static int ctl_csv_line(char *line, char *f[4], char *why, size_t len)
{
    size_t n = 0;
    for (char *p = line, *tok; (tok = strsep(&p, ",")) != NULL;) {
        if (n == 4) {
            snprintf(why, len, "more than 4 fields");
            return -1;
        }
        f[n++] = ctl_trim(tok);
    }
    if (n != 4) {
        snprintf(why, len, "%zu field%s, expected 4 (hwid,owner,name,platform)", n,
                 n == 1 ? "" : "s");
        return -1;
    }
    static const char *const names[4] = {"hwid", "owner", "name", "platform"};
    for (size_t i = 0; i < 4; i++) {
        if (!*f[i]) {
            snprintf(why, len, "the %s field is empty", names[i]);
            return -1;
        }
        for (const char *c = f[i]; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                snprintf(why, len, "the %s field has a control character", names[i]);
                return -1;
            }
    }
    return 0;
}

/* Reads the whole file first: one malformed line and nothing is imported. */
static int ctl_csv_read(const char *path, struct ctl_csv *c)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "mgatectl device pre-enroll: %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *t = ctl_trim(line);
        if (!*t || *t == '#')
            continue;
        if (lineno == 1 &&
            (strncasecmp(t, "hwid,", 5) == 0 || strncasecmp(t, "hardware_id,", 12) == 0))
            continue; /* a header line */
        if (c->n == c->cap) {
            size_t ncap = c->cap ? c->cap * 2 : 64;
            char **nl = realloc(c->lines, ncap * sizeof(*nl));
            Mgate__PreEnrollDevice *nd = nl ? realloc(c->devs, ncap * sizeof(*nd)) : NULL;
            if (nl)
                c->lines = nl;
            if (!nd) {
                fprintf(stderr, "mgatectl device pre-enroll: out of memory\n");
                rc = 1;
                break;
            }
            c->devs = nd;
            c->cap = ncap;
        }
        char *copy = strdup(t), *fields[4], why[128];
        if (!copy) {
            rc = 1;
            break;
        }
        if (ctl_csv_line(copy, fields, why, sizeof(why)) < 0) {
            fprintf(stderr, "mgatectl device pre-enroll: %s:%u: %s; nothing was imported\n", path,
                    lineno, why);
            free(copy);
            rc = 1;
            break;
        }
        c->lines[c->n] = copy;
        Mgate__PreEnrollDevice *d = &c->devs[c->n++];
        mgate__pre_enroll_device__init(d);
        d->hardware_id = fields[0];
        d->owner = fields[1];
        d->name = fields[2];
        d->platform = fields[3];
    }
    free(line);
    fclose(f);
    if (rc == 0 && c->n == 0) {
        fprintf(stderr, "mgatectl device pre-enroll: %s: no device in the file\n", path);
        rc = 1;
    }
    if (rc == 0 && !(c->ptrs = calloc(c->n, sizeof(*c->ptrs))))
        rc = 1;
    for (size_t i = 0; rc == 0 && i < c->n; i++)
        c->ptrs[i] = &c->devs[i];
    return rc;
}

static int ctl_device_pre_enroll(struct ctl *ctl, int argc, char **argv)
{
    const char *hwid = NULL, *owner = NULL, *name = NULL, *platform = NULL, *csv = NULL;
    for (int i = 0; i < argc; i++) {
        if (!ctl_opt(argc, argv, &i, "--hwid", &hwid) &&
            !ctl_opt(argc, argv, &i, "--owner", &owner) &&
            !ctl_opt(argc, argv, &i, "--name", &name) &&
            !ctl_opt(argc, argv, &i, "--platform", &platform) &&
            !ctl_opt(argc, argv, &i, "--csv", &csv)) {
            fprintf(stderr, "mgatectl device pre-enroll: unexpected '%s'\n", argv[i]);
            return 2;
        }
    }
    struct ctl_csv c = {0};
    Mgate__PreEnrollDevice one = MGATE__PRE_ENROLL_DEVICE__INIT, *onep = &one;
    Mgate__PreEnrollRequest rq = MGATE__PRE_ENROLL_REQUEST__INIT;
    if (csv && !hwid && !owner && !name && !platform) {
        int rc = ctl_csv_read(csv, &c);
        if (rc) {
            ctl_csv_free(&c);
            return rc;
        }
        rq.devices = c.ptrs;
        rq.n_devices = c.n;
        /* policyd hashes each new password (PBKDF2, a few ms): a big file
         * takes longer than the default wait. */
        if (ctl->timeout_ms < 5000 + (int)(c.n < 1000000 ? c.n : 1000000) * 20)
            ctl->timeout_ms = 5000 + (int)(c.n < 1000000 ? c.n : 1000000) * 20;
    } else if (!csv && hwid && owner && name && platform) {
        one.hardware_id = (char *)hwid;
        one.owner = (char *)owner;
        one.name = (char *)name;
        one.platform = (char *)platform;
        rq.devices = &onep;
        rq.n_devices = 1;
    } else {
        fprintf(stderr, "usage: mgatectl device pre-enroll --hwid ID --owner O --name N "
                        "--platform P | --csv FILE\n");
        return 2;
    }
    const Mgate__PolicydResponse *r = NULL;
    int rc = ctl_policyd(ctl, "device pre-enroll", MGATE__POLICYD_REQUEST__BODY_PRE_ENROLL,
                         &rq.base, &r);
    ctl_csv_free(&c);
    if (rc)
        return rc;
    if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_PRE_ENROLL)
        ctl_pre_print(ctl, r->pre_enroll);
    ctl_resp_free(r);
    return 0;
}

static void ctl_device_json(const Mgate__DeviceList *l)
{
    struct json_out j;
    char t[32];
    json_begin(&j, stdout);
    json_arr_open(&j, NULL);
    for (size_t i = 0; i < l->n_devices; i++) {
        const Mgate__DeviceInfo *d = l->devices[i];
        json_obj_open(&j, NULL);
        ctl_json_device_head(&j, d);
        json_str(&j, "cert_serial", d->cert_serial);
        json_str(&j, "cert_fingerprint", d->cert_fingerprint);
        json_str(&j, "cert_source", d->cert_source);
        ctl_fmt_time(d->created, t, sizeof(t));
        json_str(&j, "created", t);
        ctl_json_time(&j, "last_seen", d->last_seen);
        json_strs(&j, "groups", d->groups, d->n_groups);
        json_str(&j, "compliance", d->compliance);
        json_strs(&j, "compliance_reasons", d->compliance_reasons, d->n_compliance_reasons);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_end(&j);
}

static void ctl_device_table(const Mgate__DeviceList *l)
{
    char t[32];
    printf("%-6s %-20s %-16s %-20s %-10s %-13s %-32s %-20s %-13s %s\n", "ID", "HARDWARE ID",
           "OWNER", "NAME", "PLATFORM", "STATE", "CERT SERIAL", "LAST SEEN", "COMPLIANCE",
           "GROUPS");
    for (size_t i = 0; i < l->n_devices; i++) {
        const Mgate__DeviceInfo *d = l->devices[i];
        ctl_fmt_time(d->last_seen, t, sizeof(t));
        printf("%-6llu %-20s %-16s %-20s %-10s %-13s %-32s %-20s %-13s ", (unsigned long long)d->id,
               d->hardware_id, d->owner, d->name, d->platform, d->state,
               *d->cert_serial ? d->cert_serial : "-", t, d->compliance);
        for (size_t k = 0; k < d->n_groups; k++)
            printf("%s%s", k ? "," : "", d->groups[k]);
        printf("%s\n", d->n_groups ? "" : "-");
    }
}

char *ctl_read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    int err = ferror(f);
    fclose(f);
    if (m)
        fclose(m);
    if (err) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int ctl_device_enroll(struct ctl *ctl, int argc, char **argv)
{
    const char *hwid = NULL, *pw = NULL, *csr = NULL, *osv = NULL;
    for (int i = 0; i < argc; i++) {
        if (!ctl_opt(argc, argv, &i, "--hwid", &hwid) &&
            !ctl_opt(argc, argv, &i, "--password", &pw) &&
            !ctl_opt(argc, argv, &i, "--csr", &csr) &&
            !ctl_opt(argc, argv, &i, "--os-version", &osv)) {
            fprintf(stderr, "mgatectl device enroll: unexpected '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!hwid || !pw || !csr) {
        fprintf(stderr, "usage: mgatectl device enroll --hwid ID --password P --csr FILE "
                        "[--os-version V]\n");
        return 2;
    }
    char *pem = ctl_read_file(csr);
    if (!pem) {
        fprintf(stderr, "mgatectl device enroll: %s: %s\n", csr, strerror(errno));
        return 1;
    }
    Mgate__EnrollRequest rq = MGATE__ENROLL_REQUEST__INIT;
    rq.hardware_id = (char *)hwid;
    rq.password = (char *)pw;
    rq.csr_pem = pem;
    rq.os_version = osv ? (char *)osv : "";
    const Mgate__PolicydResponse *r = NULL;
    int rc = ctl_policyd(ctl, "device enroll", MGATE__POLICYD_REQUEST__BODY_ENROLL, &rq.base, &r);
    free(pem);
    if (rc)
        return rc;
    if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_ENROLL) {
        fprintf(stderr, "device %llu enrolled, certificate serial %s\n",
                (unsigned long long)r->enroll->device_id, r->enroll->serial);
        fputs(r->enroll->cert_pem, stdout);
    }
    ctl_resp_free(r);
    return 0;
}

int ctl_cmd_device(struct ctl *ctl, int argc, char **argv)
{
    const Mgate__PolicydResponse *r = NULL;
    int rc;
    if (argc >= 1 && strcmp(argv[0], "pre-enroll") == 0)
        return ctl_device_pre_enroll(ctl, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "enroll") == 0)
        return ctl_device_enroll(ctl, argc - 1, argv + 1);
    if (argc >= 1 && (rc = ctl_device_more(ctl, argc, argv)) != -1)
        return rc;
    if (argc == 1 && strcmp(argv[0], "list") == 0) {
        Mgate__DeviceListRequest rq = MGATE__DEVICE_LIST_REQUEST__INIT;
        if ((rc = ctl_policyd(ctl, "device list", MGATE__POLICYD_REQUEST__BODY_DEVICE_LIST,
                              &rq.base, &r)))
            return rc;
        if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_DEVICE_LIST)
            ctl->json ? ctl_device_json(r->device_list) : ctl_device_table(r->device_list);
        ctl_resp_free(r);
        return 0;
    }
    if (argc == 2 && strcmp(argv[0], "revoke") == 0) {
        char *end;
        unsigned long long id = strtoull(argv[1], &end, 10);
        if (*end || !id) {
            fprintf(stderr, "mgatectl device revoke: '%s' is not a device id\n", argv[1]);
            return 2;
        }
        Mgate__RevokeRequest rq = MGATE__REVOKE_REQUEST__INIT;
        rq.device_id = id;
        if ((rc = ctl_policyd(ctl, "device revoke", MGATE__POLICYD_REQUEST__BODY_REVOKE, &rq.base,
                              &r)))
            return rc;
        if (r->body_case == MGATE__POLICYD_RESPONSE__BODY_REVOKE) {
            if (*r->revoke->serial)
                printf("device %llu blocked; certificate serial %s is on the CRL\n", id,
                       r->revoke->serial);
            else
                printf("device %llu blocked (it had no certificate)\n", id);
        }
        ctl_resp_free(r);
        return 0;
    }
    fprintf(stderr, "usage: mgatectl device pre-enroll --hwid ID --owner O --name N --platform P\n"
                    "       mgatectl device pre-enroll --csv FILE\n"
                    "       mgatectl device list\n"
                    "       mgatectl device enroll --hwid ID --password P --csr FILE\n"
                    "       mgatectl device revoke ID\n"
                    "       mgatectl device groups ID [GROUP...]\n"
                    "       mgatectl device policy ID\n"
                    "       mgatectl device state ID blocked|wiped|disenrolled|enrolled\n"
                    "       mgatectl device register-cert --hwid ID --cert FILE [--os-version V]\n"
                    "       mgatectl device report ID|--fingerprint FP [--password-set yes|no]\n"
                    "                [--encrypted yes|no]\n"
                    "                [--jailbroken yes|no] [--os-version V]\n"
                    "                [--result SETTING=ok|failed[:DETAIL]]...\n");
    return 2;
}
