#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"

static const struct db_migration migs[] = {
    {"t1", "CREATE TABLE t (a INTEGER);"},
    {"t1.b", "ALTER TABLE t ADD COLUMN b TEXT;"},
};

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/mgate-dbtest-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/x.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_migrate_and_reopen(void **state)
{
    (void)state;
    sqlite3 *db;
    char *msg = NULL;
    assert_int_equal(db_open(path, migs, 1, NULL, &db, &msg), 0);
    assert_int_equal(db_schema_version(db), 1);
    db_close(db);
    /* A newer binary adds migration 2 on top; data stays. */
    assert_int_equal(db_open(path, migs, 2, NULL, &db, &msg), 0);
    assert_int_equal(db_schema_version(db), 2);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO t VALUES (1, 'x')", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    db_close(db);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    sqlite3 *db;
    char *msg = NULL;
    assert_int_equal(db_open(path, migs, 2, NULL, &db, &msg), 0);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
    db_close(db);
    assert_int_not_equal(db_open(path, migs, 2, NULL, &db, &msg), 0);
    assert_null(db);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "schema version 7 is newer"));
    free(msg);
}

static void test_failed_migration_rolls_back(void **state)
{
    (void)state;
    static const struct db_migration bad[] = {
        {"t1", "CREATE TABLE t (a INTEGER);"},
        {"broken", "CREATE TABLE u (x); THIS IS NOT SQL;"},
    };
    sqlite3 *db;
    char *msg = NULL;
    unlink(path);
    assert_int_not_equal(db_open(path, bad, 2, NULL, &db, &msg), 0);
    assert_non_null(strstr(msg, "broken"));
    free(msg);
    /* Version 1 was committed, the broken step left nothing behind. */
    assert_int_equal(db_open(path, bad, 1, NULL, &db, &msg), 0);
    assert_int_equal(db_schema_version(db), 1);
    assert_int_not_equal(sqlite3_exec(db, "SELECT * FROM u", NULL, NULL, NULL), SQLITE_OK);
    db_close(db);
}

static void test_not_a_database(void **state)
{
    (void)state;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("this is a text file, long enough to have a header. ........................"
          "..........................................................................",
          f);
    fclose(f);
    sqlite3 *db;
    char *msg = NULL;
    assert_int_not_equal(db_open(path, migs, 2, NULL, &db, &msg), 0);
    assert_non_null(msg);
    assert_non_null(strstr(msg, path));
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_migration_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
