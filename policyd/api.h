/* What policyd's request handlers share (api_policy.c, api_query.c,
 * api_compliance.c, reports.c). */
#ifndef MGATE_POLICYD_API_H
#define MGATE_POLICYD_API_H

#include <stdint.h>

#include "policy_db.h"
#include "policyd.h"
#include "policyd.pb-c.h"

/* One request being handled. */
struct api_ctx {
    struct policyd *p;
    struct svc *svc;
    struct ipc_conn *conn;
    uint64_t id;
    uint32_t uid;
};

/* Protobuf messages of a reply and the memory they point into, freed at
 * once after the reply. */
struct api_arena {
    void **v;
    size_t n, cap;
};
void *api_alloc(struct api_arena *a, size_t size); /* zeroed */
char *api_str(struct api_arena *a, const unsigned char *s);
/* Appends item to a protobuf repeated field of pointers. */
int api_push(struct api_arena *a, void ***arr, size_t *n, void *item);
void api_arena_free(struct api_arena *a);
/* Replies ERR_INTERNAL for -ENOMEM or a database error. */
void api_fail(struct api_ctx *c, int rc);

/* -errno to the error code a client sees. */
Mgate__ErrorCode api_code(int rc);

void api_group_list(struct api_ctx *c);
void api_policy_list(struct api_ctx *c, const Mgate__PolicyListRequest *rq);
void api_device_policy(struct api_ctx *c, const Mgate__DevicePolicyRequest *rq);

void api_report(struct api_ctx *c, const Mgate__ReportRequest *rq);
void api_device_report(struct api_ctx *c, const Mgate__DeviceReportRequest *rq);

#endif
