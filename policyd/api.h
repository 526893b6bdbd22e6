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

/* -errno to the error code a client sees. */
Mgate__ErrorCode api_code(int rc);

void api_group_list(struct api_ctx *c);
void api_policy_list(struct api_ctx *c, const Mgate__PolicyListRequest *rq);
void api_device_policy(struct api_ctx *c, const Mgate__DevicePolicyRequest *rq);

void api_device_report(struct api_ctx *c, const Mgate__DeviceReportRequest *rq);

#endif
