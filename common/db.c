#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static void db_err(char **errmsg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void db_err(char **errmsg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(errmsg, fmt, ap) < 0)
        *errmsg = NULL;
    va_end(ap);
}

int db_schema_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int db_exec(sqlite3 *db, const char *sql, char **errmsg, const char *what)
{
    char *e = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &e) != SQLITE_OK) {
        db_err(errmsg, "%s: %s", what, e ? e : sqlite3_errmsg(db));
        sqlite3_free(e);
        return -1;
    }
    return 0;
}

static int db_migrate(sqlite3 *db, const char *path, const struct db_migration *m, size_t n,
                      char **errmsg)
{
    int v = db_schema_version(db);
    if (v < 0) {
        db_err(errmsg, "%s: cannot read schema version: %s", path, sqlite3_errmsg(db));
        return -EIO;
    }
    if ((size_t)v > n) {
        db_err(errmsg,
               "%s: schema version %d is newer than this mgate knows (%zu); refusing to "
               "open it (downgrade not supported)",
               path, v, n);
        return -EPROTO;
    }
    for (size_t i = (size_t)v; i < n; i++) {
        char bump[64];
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %zu", i + 1);
        if (db_exec(db, "BEGIN IMMEDIATE", errmsg, path) < 0)
            return -EIO;
        if (db_exec(db, m[i].sql, errmsg, m[i].description) < 0 ||
            db_exec(db, bump, errmsg, path) < 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -EIO;
        }
        if (db_exec(db, "COMMIT", errmsg, path) < 0)
            return -EIO;
        log_info("%s: migrated schema to version %zu (%s)", path, i + 1, m[i].description);
    }
    return 0;
}

int db_open(const char *path, const struct db_migration *migrations, size_t n,
            const struct db_options *opt, sqlite3 **out, char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    /* Create the file 0600 ourselves: SQLite would use the umask, and these
     * databases hold enrollment secrets and device identities. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        db_err(errmsg, "%s: %s", path, strerror(errno));
        return -errno;
    }
    close(fd);
    sqlite3 *db;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        db_err(errmsg, "%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -EIO;
    }
    sqlite3_busy_timeout(db, opt && opt->busy_timeout_ms ? opt->busy_timeout_ms : 5000);
    char pragmas[160];
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON;",
             opt && opt->sync_full ? "FULL" : "NORMAL");
    if (db_exec(db, pragmas, errmsg, path) < 0) {
        sqlite3_close(db);
        return -EIO;
    }
    /* A file that is not a database fails here, with SQLite's own words. */
    rc = db_migrate(db, path, migrations, n, errmsg);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

void db_close(sqlite3 *db)
{
    if (db)
        sqlite3_close(db);
}
