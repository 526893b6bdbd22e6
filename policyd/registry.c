/* The device registry in policyd.db (schema in main.c's migrations). */
#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int reg_exec(sqlite3 *db, const char *sql, char *why)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if (why)
            snprintf(why, REGISTRY_ERR, "%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

int reg_begin(sqlite3 *db, char *why)
{
    return reg_exec(db, "BEGIN IMMEDIATE", why);
}

int reg_commit(sqlite3 *db, char *why)
{
    return reg_exec(db, "COMMIT", why);
}

void reg_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        reg_exec(db, "ROLLBACK", NULL);
}

sqlite3_stmt *reg_prep(sqlite3 *db, const char *sql, char *why)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        if (why)
            snprintf(why, REGISTRY_ERR, "database: %s", sqlite3_errmsg(db));
        log_err("policyd.db: cannot prepare '%s': %s", sql, sqlite3_errmsg(db));
        return NULL;
    }
    return st;
}

int reg_step_done(sqlite3 *db, sqlite3_stmt *st, char *why)
{
    int rc = sqlite3_step(st);
    int ext = sqlite3_extended_errcode(db);
    if (rc != SQLITE_DONE && why)
        snprintf(why, REGISTRY_ERR, "database: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return 0;
    return ext == SQLITE_CONSTRAINT_UNIQUE ? -EEXIST : -EIO;
}

int64_t reg_device_insert(sqlite3 *db, const char *hwid, const char *owner, const char *name,
                          const char *platform, int64_t now, char *why)
{
    sqlite3_stmt *st = reg_prep(db,
                                "INSERT INTO devices (hardware_id, owner, name, platform, created) "
                                "VALUES (?, ?, ?, ?, ?)",
                                why);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, hwid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, platform, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    int rc = reg_step_done(db, st, why);
    if (rc == -EEXIST && why)
        snprintf(why, REGISTRY_ERR, "a device with hardware id '%s' already exists", hwid);
    return rc < 0 ? rc : sqlite3_last_insert_rowid(db);
}

int reg_secret_set(sqlite3 *db, int64_t device_id, const struct reg_secret *s, char *why)
{
    sqlite3_stmt *st = reg_prep(db,
                                "INSERT OR REPLACE INTO enroll_secrets "
                                "(device_id, salt, hash, expires, used) VALUES (?, ?, ?, ?, ?)",
                                why);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, device_id);
    sqlite3_bind_blob(st, 2, s->salt, sizeof(s->salt), SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, s->hash, sizeof(s->hash), SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, s->expires);
    sqlite3_bind_int(st, 5, s->used);
    return reg_step_done(db, st, why);
}

int reg_secret_get(sqlite3 *db, int64_t device_id, struct reg_secret *s)
{
    sqlite3_stmt *st = reg_prep(
        db, "SELECT salt, hash, expires, used FROM enroll_secrets WHERE device_id = ?", NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, device_id);
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != (int)sizeof(s->salt) ||
            sqlite3_column_bytes(st, 1) != (int)sizeof(s->hash)) {
            ret = -EIO;
        } else {
            memcpy(s->salt, sqlite3_column_blob(st, 0), sizeof(s->salt));
            memcpy(s->hash, sqlite3_column_blob(st, 1), sizeof(s->hash));
            s->expires = sqlite3_column_int64(st, 2);
            s->used = sqlite3_column_int(st, 3) != 0;
        }
    }
    sqlite3_finalize(st);
    return ret;
}

int reg_secret_use(sqlite3 *db, int64_t device_id, char *why)
{
    sqlite3_stmt *st = reg_prep(db, "UPDATE enroll_secrets SET used = 1 WHERE device_id = ?", why);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, device_id);
    return reg_step_done(db, st, why);
}

char *reg_col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

#define REG_DEVICE_COLS                                                                            \
    "SELECT id, hardware_id, owner, name, platform, os_version, state, cert_serial, "              \
    "cert_fingerprint, created, coalesce(last_seen, 0), compliance, compliance_reasons, "          \
    "compliance_at, generation, cert_source, access_digest FROM devices "

static void reg_device_row(sqlite3_stmt *st, struct reg_device *d)
{
    d->id = sqlite3_column_int64(st, 0);
    d->hardware_id = reg_col_dup(st, 1);
    d->owner = reg_col_dup(st, 2);
    d->name = reg_col_dup(st, 3);
    d->platform = reg_col_dup(st, 4);
    d->os_version = reg_col_dup(st, 5);
    d->state = reg_col_dup(st, 6);
    d->cert_serial = reg_col_dup(st, 7);
    d->cert_fingerprint = reg_col_dup(st, 8);
    d->created = sqlite3_column_int64(st, 9);
    d->last_seen = sqlite3_column_int64(st, 10);
    d->compliance = reg_col_dup(st, 11);
    d->compliance_reasons = reg_col_dup(st, 12);
    d->compliance_at = sqlite3_column_int64(st, 13);
    d->generation = sqlite3_column_int64(st, 14);
    d->cert_source = reg_col_dup(st, 15);
    d->access_digest = reg_col_dup(st, 16);
}

void reg_device_free(struct reg_device *d)
{
    free(d->hardware_id);
    free(d->owner);
    free(d->name);
    free(d->platform);
    free(d->os_version);
    free(d->state);
    free(d->cert_serial);
    free(d->cert_fingerprint);
    free(d->compliance);
    free(d->compliance_reasons);
    free(d->cert_source);
    free(d->access_digest);
    memset(d, 0, sizeof(*d));
}

static int reg_device_one(sqlite3_stmt *st, struct reg_device *d)
{
    memset(d, 0, sizeof(*d));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        reg_device_row(st, d);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW && (!d->hardware_id || !d->state || !d->compliance)) {
        reg_device_free(d);
        return -ENOMEM;
    }
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int reg_device_by_hwid(sqlite3 *db, const char *hwid, struct reg_device *d)
{
    sqlite3_stmt *st = reg_prep(db, REG_DEVICE_COLS "WHERE hardware_id = ?", NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, hwid, -1, SQLITE_STATIC);
    return reg_device_one(st, d);
}

int reg_device_by_cert(sqlite3 *db, const char *fingerprint, const char *serial,
                       struct reg_device *d)
{
    sqlite3_stmt *st = reg_prep(db,
                                fingerprint && *fingerprint
                                    ? REG_DEVICE_COLS "WHERE lower(cert_fingerprint) = lower(?)"
                                    : REG_DEVICE_COLS "WHERE upper(cert_serial) = upper(?)",
                                NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, fingerprint && *fingerprint ? fingerprint : serial, -1, SQLITE_STATIC);
    return reg_device_one(st, d);
}

int reg_serial_revoked(sqlite3 *db, const char *serial)
{
    sqlite3_stmt *st = reg_prep(db, "SELECT 1 FROM revoked WHERE upper(serial) = upper(?)", NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

int reg_device_seen(sqlite3 *db, int64_t id, int64_t now)
{
    sqlite3_stmt *st = reg_prep(db, "UPDATE devices SET last_seen = ? WHERE id = ?", NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, id);
    return reg_step_done(db, st, NULL);
}

int reg_device_by_id(sqlite3 *db, int64_t id, struct reg_device *d)
{
    sqlite3_stmt *st = reg_prep(db, REG_DEVICE_COLS "WHERE id = ?", NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    return reg_device_one(st, d);
}

int reg_device_each(sqlite3 *db, int (*fn)(const struct reg_device *d, void *arg), void *arg)
{
    sqlite3_stmt *st = reg_prep(db, REG_DEVICE_COLS "ORDER BY id", NULL);
    if (!st)
        return -EIO;
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct reg_device d;
        reg_device_row(st, &d);
        ret = fn(&d, arg);
        reg_device_free(&d);
        if (ret < 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = -EIO;
    sqlite3_finalize(st);
    return ret;
}

int reg_device_enrolled(sqlite3 *db, int64_t id, const char *serial, const char *fingerprint,
                        const char *os_version, int64_t now, char *why)
{
    return reg_device_enrolled_from(db, id, serial, fingerprint, os_version, false, now, why);
}

int reg_device_enrolled_from(sqlite3 *db, int64_t id, const char *serial, const char *fingerprint,
                             const char *os_version, bool external, int64_t now, char *why)
{
    sqlite3_stmt *st =
        reg_prep(db,
                 external ? "UPDATE devices SET state = 'enrolled', cert_serial = ?, "
                            "cert_fingerprint = ?, os_version = coalesce(?, "
                            "os_version), last_seen = ?, cert_source = 'external' "
                            "WHERE id = ?"
                          : "UPDATE devices SET state = 'enrolled', cert_serial = ?, "
                            "cert_fingerprint = ?, os_version = coalesce(?, "
                            "os_version), last_seen = ? WHERE id = ?",
                 why);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, fingerprint, -1, SQLITE_STATIC);
    if (os_version && *os_version)
        sqlite3_bind_text(st, 3, os_version, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, id);
    return reg_step_done(db, st, why);
}

int reg_device_set_state(sqlite3 *db, int64_t id, const char *state, char *why)
{
    sqlite3_stmt *st = reg_prep(db, "UPDATE devices SET state = ? WHERE id = ?", why);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, id);
    return reg_step_done(db, st, why);
}

int reg_serial_known(sqlite3 *db, const char *serial)
{
    sqlite3_stmt *st = reg_prep(db,
                                "SELECT 1 FROM devices WHERE cert_serial = ?1 "
                                "UNION ALL SELECT 1 FROM revoked WHERE serial = ?1",
                                NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

int reg_revoke_serial(sqlite3 *db, const char *serial, int64_t device_id, int64_t now,
                      bool external, char *why)
{
    sqlite3_stmt *st = reg_prep(db,
                                "INSERT OR IGNORE INTO revoked (serial, device_id, revoked_at, "
                                "external) VALUES (?, ?, ?, ?)",
                                why);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, device_id);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int(st, 4, external);
    return reg_step_done(db, st, why);
}

void reg_revoked_free(struct reg_revoked *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        free(r[i].serial);
    free(r);
}

int reg_revoked_list(sqlite3 *db, struct reg_revoked **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = reg_prep(
        db, "SELECT serial, revoked_at FROM revoked WHERE external = 0 ORDER BY rowid", NULL);
    if (!st)
        return -EIO;
    size_t cap = 0;
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct reg_revoked *nr = realloc(*out, ncap * sizeof(*nr));
            if (!nr) {
                ret = -ENOMEM;
                break;
            }
            *out = nr;
            cap = ncap;
        }
        (*out)[*n].serial = reg_col_dup(st, 0);
        (*out)[*n].revoked_at = sqlite3_column_int64(st, 1);
        if (!(*out)[(*n)++].serial) {
            ret = -ENOMEM;
            break;
        }
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = -EIO;
    sqlite3_finalize(st);
    if (ret < 0) {
        reg_revoked_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return ret;
}

int64_t reg_next_crl_number(sqlite3 *db)
{
    if (reg_exec(db,
                 "INSERT INTO meta VALUES ('crl_number', '1') ON CONFLICT(key) DO UPDATE "
                 "SET value = CAST(value AS INTEGER) + 1",
                 NULL) < 0)
        return -EIO;
    sqlite3_stmt *st = reg_prep(db,
                                "SELECT CAST(value AS INTEGER) FROM meta "
                                "WHERE key = 'crl_number'",
                                NULL);
    if (!st)
        return -EIO;
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -EIO;
    sqlite3_finalize(st);
    return v;
}

int reg_audit(sqlite3 *db, uint32_t uid, int64_t device_id, const char *action, const char *detail,
              int64_t now)
{
    sqlite3_stmt *st = reg_prep(db,
                                "INSERT INTO audit (at, uid, device_id, action, detail) "
                                "VALUES (?, ?, ?, ?, ?)",
                                NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, uid);
    if (device_id > 0)
        sqlite3_bind_int64(st, 3, device_id);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, detail ? detail : "", -1, SQLITE_STATIC);
    int rc = reg_step_done(db, st, NULL);
    if (rc < 0)
        log_err("policyd.db: cannot write the audit log: %s", sqlite3_errmsg(db));
    return rc;
}
