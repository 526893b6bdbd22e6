/* mgatectl: shared pieces of the admin CLI (connection to a daemon, output
 * in tables or JSON). Each command group lives in its own ctl_*.c file. */
#ifndef MGATE_CTL_H
#define MGATE_CTL_H

#include <stdbool.h>
#include <stdio.h>

#include "conf.h"
#include "ipc_sync.h"
#include "mgate_conf.h"

struct ctl {
    struct conf_file cf;
    struct mgate_global_conf g;
    bool json;
    int timeout_ms;
};

/* One daemon's API as mgatectl speaks it. */
struct ctl_service {
    const char *name;
    const ProtobufCMessageDescriptor *request, *response;
};

extern const struct ctl_service ctl_services[4];
const struct ctl_service *ctl_service_find(const char *name);

/* Socket path of a daemon, from its config section (caller frees). */
char *ctl_socket_path(struct ctl *ctl, const char *service);

/* Connects, sends a request with envelope field `field` = body, decodes the
 * response envelope. On failure returns -errno and writes a one-line reason
 * into why. A service-level Error in the response is returned as -EPROTO
 * with the message in why. */
int ctl_call(struct ctl *ctl, const struct ctl_service *svc, uint32_t field, ProtobufCMessage *body,
             ProtobufCMessage **resp, char *why, size_t why_len);

/* Minimal JSON writer on stdout: enough for flat records and lists. */
struct json_out {
    FILE *f;
    int depth;
    bool first[16];
};
void json_begin(struct json_out *j, FILE *f);
void json_obj_open(struct json_out *j, const char *key);
void json_obj_close(struct json_out *j);
void json_arr_open(struct json_out *j, const char *key);
void json_arr_close(struct json_out *j);
void json_str(struct json_out *j, const char *key, const char *v);
void json_u64(struct json_out *j, const char *key, unsigned long long v);
void json_bool(struct json_out *j, const char *key, bool v);
void json_null(struct json_out *j, const char *key);
/* An array of the n strings in v. */
void json_strs(struct json_out *j, const char *key, char *const *v, size_t n);
void json_end(struct json_out *j);

/* "3d4h", "5m3s", "12s". */
void ctl_fmt_duration(unsigned long long s, char *buf, size_t len);

/* policyd (ctl_device.c): calls it and prints the failure; 0, or the exit
 * status to return. */
struct Mgate__PolicydResponse;
int ctl_policyd(struct ctl *ctl, const char *what, uint32_t field, ProtobufCMessage *body,
                const struct Mgate__PolicydResponse **out);
void ctl_resp_free(const struct Mgate__PolicydResponse *r);
/* ISO 8601 UTC, "-" for 0. */
void ctl_fmt_time(uint64_t t, char *buf, size_t len);
/* t as ctl_fmt_time, or null for 0 (never). */
void ctl_json_time(struct json_out *j, const char *key, uint64_t t);
/* A device's id, hardware_id, owner, name, platform, os_version and state:
 * the fields every JSON view of a device opens with (device list, report). */
struct Mgate__DeviceInfo;
void ctl_json_device_head(struct json_out *j, const struct Mgate__DeviceInfo *d);
/* --name VALUE or --name=VALUE at argv[*i]; advances *i. */
bool ctl_opt(int argc, char **argv, int *i, const char *name, const char **val);
/* A whole file (caller frees); NULL with errno. */
char *ctl_read_file(const char *path);
/* device groups|policy|state (ctl_devpolicy.c); -1 when argv[0] is none. */
int ctl_device_more(struct ctl *ctl, int argc, char **argv);

int ctl_cmd_status(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_xfrm(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_ike(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_ca(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_device(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_group(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_policy(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_report(struct ctl *ctl, int argc, char **argv);

#endif
