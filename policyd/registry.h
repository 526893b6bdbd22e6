/* The device registry in policyd.db: devices, their one-time enrollment
 * secrets, revoked certificates and the audit log. Every write here commits
 * with synchronous=FULL before the caller replies. */
#ifndef MGATE_POLICYD_REGISTRY_H
#define MGATE_POLICYD_REGISTRY_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REGISTRY_ERR 256

struct reg_device {
    int64_t id;
    char *hardware_id, *owner, *name, *platform, *os_version, *state;
    char *cert_serial, *cert_fingerprint; /* NULL: no certificate */
    int64_t created, last_seen;
    char *compliance;         /* unknown, compliant, non-compliant */
    char *compliance_reasons; /* one a line */
    int64_t compliance_at, generation;
    char *cert_source;   /* mgate, external */
    char *access_digest; /* of the last grant published or answered */
};

struct reg_secret {
    unsigned char salt[16];
    unsigned char hash[32];
    int64_t expires;
    bool used;
};

/* A revoked certificate, for the CRL. */
struct reg_revoked {
    char *serial;
    int64_t revoked_at;
};

/* Prepares sql (logged on failure; why may be NULL). */
sqlite3_stmt *reg_prep(sqlite3 *db, const char *sql, char *why);
/* Steps a statement that returns no row and finalizes it: 0, -EEXIST on a
 * UNIQUE violation, -EIO otherwise. */
int reg_step_done(sqlite3 *db, sqlite3_stmt *st, char *why);
/* The column's text, duplicated (NULL for NULL or out of memory). */
char *reg_col_dup(sqlite3_stmt *st, int i);

int reg_begin(sqlite3 *db, char *why);
int reg_commit(sqlite3 *db, char *why);
void reg_rollback(sqlite3 *db);

/* Returns the new id, -EEXIST for a duplicate hardware id, -EIO otherwise. */
int64_t reg_device_insert(sqlite3 *db, const char *hwid, const char *owner, const char *name,
                          const char *platform, int64_t now, char *why);
int reg_secret_set(sqlite3 *db, int64_t device_id, const struct reg_secret *s, char *why);
int reg_secret_get(sqlite3 *db, int64_t device_id, struct reg_secret *s);
int reg_secret_use(sqlite3 *db, int64_t device_id, char *why);

/* 0 found, -ENOENT, -EIO. */
int reg_device_by_hwid(sqlite3 *db, const char *hwid, struct reg_device *d);
int reg_device_by_id(sqlite3 *db, int64_t id, struct reg_device *d);
/* By certificate: the fingerprint when given (case-insensitive hex), else
 * the serial. */
int reg_device_by_cert(sqlite3 *db, const char *fingerprint, const char *serial,
                       struct reg_device *d);
void reg_device_free(struct reg_device *d);
/* 1 revoked, 0 not, -EIO. */
int reg_serial_revoked(sqlite3 *db, const char *serial);
int reg_device_seen(sqlite3 *db, int64_t id, int64_t now);
/* Callback per device, in id order. */
int reg_device_each(sqlite3 *db, int (*fn)(const struct reg_device *d, void *arg), void *arg);

int reg_device_enrolled(sqlite3 *db, int64_t id, const char *serial, const char *fingerprint,
                        const char *os_version, int64_t now, char *why);
/* The same for a certificate from an external CA (external_ca). */
int reg_device_enrolled_from(sqlite3 *db, int64_t id, const char *serial, const char *fingerprint,
                             const char *os_version, bool external, int64_t now, char *why);
int reg_device_set_state(sqlite3 *db, int64_t id, const char *state, char *why);
/* 1 when serial was ever issued (it is on a device) or revoked, 0 if not, -EIO. */
int reg_serial_known(sqlite3 *db, const char *serial);
/* external: the serial is another CA's, kept off mgate's CRL. */
int reg_revoke_serial(sqlite3 *db, const char *serial, int64_t device_id, int64_t now,
                      bool external, char *why);
int reg_revoked_list(sqlite3 *db, struct reg_revoked **out, size_t *n);
void reg_revoked_free(struct reg_revoked *r, size_t n);
/* The CRL number: incremented and returned (inside the caller's transaction
 * or alone). */
int64_t reg_next_crl_number(sqlite3 *db);

/* Appends to the audit log: uid of the peer, device (0: none), what. */
int reg_audit(sqlite3 *db, uint32_t uid, int64_t device_id, const char *action, const char *detail,
              int64_t now);

#endif
