/* Opening a daemon's SQLite database: WAL, a busy timeout, foreign keys, the
 * durability each daemon needs, and schema migrations by PRAGMA user_version.
 *
 * Migrations are an append-only list: migration i takes the schema from
 * version i to i+1, in one transaction with the version bump, so a crash
 * mid-migration leaves the old version intact. A database whose version is
 * newer than this binary knows is refused: running old code on a new schema
 * could silently drop what the new code stored. */
#ifndef MGATE_DB_H
#define MGATE_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

struct db_migration {
    const char *description;
    const char *sql;
};

struct db_options {
    /* synchronous=FULL where losing the last write loses a wipe or an
     * enrollment; NORMAL (safe in WAL against corruption) elsewhere. */
    bool sync_full;
    int busy_timeout_ms;
};

/* Opens (creating if needed, mode 0600) and migrates. On failure *errmsg is a
 * malloc'd one-line reason. */
int db_open(const char *path, const struct db_migration *migrations, size_t n,
            const struct db_options *opt, sqlite3 **out, char **errmsg);
int db_schema_version(sqlite3 *db);
void db_close(sqlite3 *db);

#endif
