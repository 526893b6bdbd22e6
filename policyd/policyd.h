/* mgate-policyd's state shared by its modules: the config section, the
 * database and the CA. */
#ifndef MGATE_POLICYD_H
#define MGATE_POLICYD_H

#include <sqlite3.h>
#include <stdint.h>

#include "ca.h"
#include "compliance.h"
#include "policyd.pb-c.h"
#include "service.h"

struct policyd_conf {
    struct mgate_svc_conf svc;
    char *database;
    char *ca_dir;           /* default: <state_dir>/ca */
    uint64_t ca_validity;   /* ms */
    uint64_t cert_validity; /* ms */
    uint64_t otp_validity;  /* ms */
    uint64_t crl_validity;  /* ms */
    uint64_t grant_cache;   /* ms: AccessGrant.cache_seconds */
    char *noncompliant;     /* "deny" or "quarantine" */
    struct conf_list quarantine_subnets, quarantine_dns;
    struct comp_rules rules;
    char *external_ca; /* PEM bundle; empty: external-CA mode off */
};

struct policyd {
    struct policyd_conf conf;
    struct service *s;
    sqlite3 *db;
    char *ca_dir;
    struct ca ca;
    X509_STORE *extca; /* external_ca loaded; NULL: off */
    struct seen *seen; /* Authorize's coalesced writes (seen.c) */
};

/* The peer's uid from SO_PEERCRED, for the audit log. */
uint32_t policyd_peer_uid(struct ipc_conn *conn);
void policyd_api_handle(struct svc *svc, struct ipc_conn *conn, uint64_t id,
                        const ProtobufCMessage *req, uint32_t body_case, void *ud);

struct reg_device;
/* A registry record as the API shows it (groups and compliance included).
 * On failure *out may still need policyd_devinfo_free. */
int policyd_devinfo(sqlite3 *db, const struct reg_device *d, Mgate__DeviceInfo **out);
void policyd_devinfo_free(Mgate__DeviceInfo *i);

/* The requests of groups, policies and device state (api_policy.c); false
 * when body_case is not one of them. */
bool policyd_api_policy(struct policyd *p, struct svc *svc, struct ipc_conn *conn, uint64_t id,
                        const ProtobufCMessage *req, uint32_t body_case);

#endif
