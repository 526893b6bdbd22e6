/* mgate-policyd's state shared by its modules: the config section, the
 * database and the CA. */
#ifndef MGATE_POLICYD_H
#define MGATE_POLICYD_H

#include <sqlite3.h>
#include <stdint.h>

#include "ca.h"
#include "service.h"

struct policyd_conf {
    struct mgate_svc_conf svc;
    char *database;
    char *ca_dir;           /* default: <state_dir>/ca */
    uint64_t ca_validity;   /* ms */
    uint64_t cert_validity; /* ms */
    uint64_t otp_validity;  /* ms */
    uint64_t crl_validity;  /* ms */
};

struct policyd {
    struct policyd_conf conf;
    struct service *s;
    sqlite3 *db;
    char *ca_dir;
    struct ca ca;
};

void policyd_api_handle(struct svc *svc, struct ipc_conn *conn, uint64_t id,
                        const ProtobufCMessage *req, uint32_t body_case, void *ud);

#endif
