/* The lease pool on a real iked.db: sticky addresses, one active lease per
 * identity, exhaustion and reuse of the oldest released address,
 * persistence, a pool change, threads, and 10,000 identities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>

#include "db.h"
#include "lease_pool.h"
#include "log.h"

static const struct db_migration migs[] = {
    {"meta", "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"},
    {"leases", lease_pool_schema_sql},
};

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/mgate-leasetest-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/iked.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static sqlite3 *open_db(void)
{
    sqlite3 *db;
    char *msg = NULL;
    if (db_open(path, migs, 2, NULL, &db, &msg) != 0)
        fail_msg("%s", msg ? msg : "db_open");
    return db;
}

static struct lease_pool *open_pool(sqlite3 *db, const char *cidr)
{
    char net[32];
    const char *slash = strchr(cidr, '/');
    assert_non_null(slash);
    snprintf(net, sizeof(net), "%.*s", (int)(slash - cidr), cidr);
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, net, &a), 1);
    struct lease_pool *p;
    assert_int_equal(lease_pool_open(db, a, (uint8_t)atoi(slash + 1), &p), 0);
    return p;
}

/* The last octet of a leased address (pools here are /24 or smaller). */
static int acquire(struct lease_pool *p, const char *id)
{
    struct in_addr a;
    int rc = lease_pool_acquire(p, id, &a);
    return rc < 0 ? rc : (int)(ntohl(a.s_addr) & 0xff);
}

static int reacquire(struct lease_pool *p, const char *id)
{
    struct in_addr a;
    int rc = lease_pool_reacquire(p, id, &a);
    return rc < 0 ? rc : (int)(ntohl(a.s_addr) & 0xff);
}

static void test_sticky(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    struct lease_pool *p = open_pool(db, "198.18.0.0/24");
    /* .0 network, .1 the gateway: devices start at .2. */
    assert_int_equal(acquire(p, "CN=a"), 2);
    assert_int_equal(acquire(p, "CN=b"), 3);
    assert_int_equal(lease_pool_count_active(p), 2);
    assert_int_equal(lease_pool_release(p, "CN=a"), 0);
    assert_int_equal(lease_pool_count_active(p), 1);
    /* A newcomer does not get a's address while a fresh one exists. */
    assert_int_equal(acquire(p, "CN=c"), 4);
    assert_int_equal(acquire(p, "CN=a"), 2);

    struct in_addr a;
    bool active = false;
    assert_int_equal(lease_pool_lookup(p, "CN=a", &a, &active), 0);
    assert_int_equal(ntohl(a.s_addr), 0xc6120002u);
    assert_true(active);
    assert_int_equal(lease_pool_release(p, "CN=a"), 0);
    assert_int_equal(lease_pool_lookup(p, "CN=a", NULL, &active), 0);
    assert_false(active);
    assert_int_equal(lease_pool_lookup(p, "CN=nobody", &a, &active), -ENOENT);

    lease_pool_close(p);
    db_close(db);
}

static void test_one_per_identity(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    struct lease_pool *p = open_pool(db, "10.0.0.0/24");
    assert_int_equal(acquire(p, "dev1"), 2);
    assert_int_equal(acquire(p, "dev1"), -EBUSY);
    /* The device reconnects and replaces its tunnel: same address. */
    assert_int_equal(reacquire(p, "dev1"), 2);
    assert_int_equal(lease_pool_count_active(p), 1);
    /* reacquire also works as a plain acquire. */
    assert_int_equal(reacquire(p, "dev2"), 3);
    assert_int_equal(lease_pool_count_active(p), 2);

    assert_int_equal(lease_pool_release(p, "dev1"), 0);
    assert_int_equal(lease_pool_release(p, "dev1"), -ENOENT);
    assert_int_equal(lease_pool_release(p, "never"), -ENOENT);
    assert_int_equal(lease_pool_count_active(p), 1);

    assert_int_equal(lease_pool_acquire(p, "", &(struct in_addr){0}), -EINVAL);
    assert_int_equal(lease_pool_acquire(p, NULL, &(struct in_addr){0}), -EINVAL);
    assert_int_equal(lease_pool_release(NULL, "x"), -EINVAL);
    lease_pool_close(p);
    db_close(db);
}

static void test_exhaustion(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    /* /29: .0 network, .1 gateway, .7 broadcast: .2 to .6. */
    struct lease_pool *p = open_pool(db, "192.168.7.0/29");
    const char *ids[] = {"d1", "d2", "d3", "d4", "d5"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(acquire(p, ids[i]), 2 + i);
    assert_int_equal(acquire(p, "d6"), -ENOSPC);
    assert_int_equal(lease_pool_count_active(p), 5);

    /* Released addresses are remembered; when nothing else is left, the
     * one released longest ago goes to the newcomer. */
    assert_int_equal(lease_pool_release(p, "d4"), 0);
    assert_int_equal(lease_pool_release(p, "d2"), 0);
    assert_int_equal(acquire(p, "d6"), 5); /* d4's */
    assert_int_equal(acquire(p, "d7"), 3); /* d2's */
    assert_int_equal(acquire(p, "d8"), -ENOSPC);
    /* d4 lost its address and finds the pool full. */
    assert_int_equal(acquire(p, "d4"), -ENOSPC);
    assert_int_equal(lease_pool_lookup(p, "d4", NULL, NULL), -ENOENT);
    /* d1 leaves, d4 gets d1's address; d1 back: full. */
    assert_int_equal(lease_pool_release(p, "d1"), 0);
    assert_int_equal(acquire(p, "d4"), 2);
    assert_int_equal(acquire(p, "d1"), -ENOSPC);
    assert_int_equal(lease_pool_count_active(p), 5);
    lease_pool_close(p);
    db_close(db);
}

static void test_persistence(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    struct lease_pool *p = open_pool(db, "100.64.0.0/24");
    assert_int_equal(acquire(p, "x"), 2);
    assert_int_equal(acquire(p, "y"), 3);
    assert_int_equal(acquire(p, "z"), 4);
    assert_int_equal(lease_pool_release(p, "y"), 0);
    lease_pool_close(p);
    db_close(db);

    db = open_db();
    p = open_pool(db, "100.64.0.0/24");
    assert_int_equal(lease_pool_count_active(p), 2);
    assert_int_equal(acquire(p, "x"), -EBUSY);
    assert_int_equal(acquire(p, "new"), 5); /* y's .3 stays y's */
    assert_int_equal(acquire(p, "y"), 3);

    /* No checkpoint: every lease ends, and what was restored comes back
     * with its own address. */
    assert_int_equal(lease_pool_release_all(p), 4);
    assert_int_equal(lease_pool_count_active(p), 0);
    assert_int_equal(reacquire(p, "z"), 4);
    assert_int_equal(lease_pool_count_active(p), 1);
    lease_pool_close(p);
    db_close(db);

    /* The pool changes: remembered addresses of the old one are
     * forgotten, active ones keep theirs until they come back. */
    db = open_db();
    p = open_pool(db, "100.65.0.0/24");
    assert_int_equal(lease_pool_count_active(p), 1);
    assert_int_equal(lease_pool_lookup(p, "x", NULL, NULL), -ENOENT);
    struct in_addr a;
    assert_int_equal(lease_pool_lookup(p, "z", &a, NULL), 0);
    assert_int_equal(ntohl(a.s_addr), 0x64400004u);
    assert_int_equal(acquire(p, "z"), -EBUSY);
    assert_int_equal(lease_pool_reacquire(p, "z", &a), 0);
    assert_int_equal(ntohl(a.s_addr), 0x64410002u);
    assert_int_equal(lease_pool_count_active(p), 1);
    assert_int_equal(lease_pool_release(p, "z"), 0);
    assert_int_equal(lease_pool_count_active(p), 0);
    lease_pool_close(p);

    /* Releasing an active lease from an old pool forgets it. */
    p = open_pool(db, "100.65.0.0/24");
    assert_int_equal(acquire(p, "w"), 3);
    lease_pool_close(p);
    p = open_pool(db, "100.66.0.0/24");
    assert_int_equal(lease_pool_release(p, "w"), 0);
    assert_int_equal(lease_pool_lookup(p, "w", NULL, NULL), -ENOENT);
    lease_pool_close(p);
    db_close(db);
}

static void test_open_errors(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    struct lease_pool *p = (struct lease_pool *)1;
    struct in_addr net = {htonl(0x0a000000u)};
    assert_int_equal(lease_pool_open(db, net, 31, &p), -EINVAL);
    assert_null(p);
    assert_int_equal(lease_pool_open(db, net, 7, &p), -EINVAL);
    struct in_addr host = {htonl(0x0a000001u)};
    assert_int_equal(lease_pool_open(db, host, 24, &p), -EINVAL);
    assert_int_equal(lease_pool_open(NULL, net, 24, &p), -EINVAL);
    db_close(db);

    /* A database without the table. */
    sqlite3 *bare;
    char *msg = NULL;
    char other[160];
    snprintf(other, sizeof(other), "%s/other.db", dir);
    assert_int_equal(db_open(other, migs, 1, NULL, &bare, &msg), 0);
    assert_int_equal(lease_pool_open(bare, net, 24, &p), -EIO);
    db_close(bare);

    /* A /30 has exactly one address; a /8 works too. */
    db = open_db();
    p = open_pool(db, "172.16.0.0/30");
    assert_int_equal(acquire(p, "only"), 2);
    assert_int_equal(acquire(p, "second"), -ENOSPC);
    lease_pool_close(p);
    p = open_pool(db, "10.0.0.0/8");
    struct in_addr a;
    assert_int_equal(lease_pool_acquire(p, "big", &a), 0);
    assert_int_equal(ntohl(a.s_addr), 0x0a000002u);
    lease_pool_close(p);
    lease_pool_close(NULL);
    db_close(db);
}

struct worker {
    struct lease_pool *p;
    int id;
    uint32_t got[250];
    int rc;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 250; i++) {
        char ident[32];
        struct in_addr a;
        snprintf(ident, sizeof(ident), "t%d-%d", w->id, i);
        int rc = lease_pool_acquire(w->p, ident, &a);
        if (rc < 0) {
            w->rc = rc;
            return NULL;
        }
        w->got[i] = ntohl(a.s_addr);
        if (i % 5 == 0 && (rc = lease_pool_release(w->p, ident)) < 0) {
            w->rc = rc;
            return NULL;
        }
    }
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void test_threads(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    struct lease_pool *p = open_pool(db, "10.10.0.0/20");
    static struct worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.p = p, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    static uint32_t all[1000];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].rc, 0);
        memcpy(&all[i * 250], w[i].got, sizeof(w[i].got));
    }
    assert_int_equal(lease_pool_count_active(p), 4 * 200);
    /* Every identity its own address. */
    qsort(all, 1000, sizeof(all[0]), cmp_u32);
    for (int i = 1; i < 1000; i++)
        assert_true(all[i] != all[i - 1]);
    assert_int_equal(all[0], 0x0a0a0002u);
    lease_pool_close(p);
    db_close(db);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 10,000 identities on a /18 (16,381 addresses): acquire, release, then
 * 10,000 others, of which 3,619 must take over remembered addresses. Each
 * step is indexed, so the whole run is a few seconds even under ASan;
 * a scan per acquire would make the takeovers quadratic. */
static void test_many(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    struct lease_pool *p = open_pool(db, "10.20.0.0/18");
    char id[32];
    struct in_addr a;
    double t0 = now_s();
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "old-%d", i);
        assert_int_equal(lease_pool_acquire(p, id, &a), 0);
    }
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "old-%d", i);
        assert_int_equal(lease_pool_release(p, id), 0);
    }
    double t1 = now_s();
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "new-%d", i);
        assert_int_equal(lease_pool_acquire(p, id, &a), 0);
    }
    double t2 = now_s();
    assert_int_equal(lease_pool_count_active(p), 10000);
    /* The takeovers went in release order: old-0 .. old-3618 lost theirs. */
    assert_int_equal(lease_pool_lookup(p, "old-3618", NULL, NULL), -ENOENT);
    bool active = true;
    assert_int_equal(lease_pool_lookup(p, "old-3619", &a, &active), 0);
    assert_false(active);
    assert_int_equal(ntohl(a.s_addr), 0x0a140002u + 3619);
    print_message("lease pool: 10,000 acquire+release %.2f s, 10,000 acquire (3,619 "
                  "takeovers) %.2f s\n",
                  t1 - t0, t2 - t1);
    assert_true(t2 - t0 < 60.0);

    /* The takeover query uses the partial index, never a table scan. */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "EXPLAIN QUERY PLAN SELECT identity, address FROM leases "
                                        "WHERE active = 0 AND +address BETWEEN ?1 AND ?2 "
                                        "ORDER BY seq LIMIT 1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    char plan[512] = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        strncat(plan, (const char *)sqlite3_column_text(st, 3), sizeof(plan) - strlen(plan) - 2);
        strcat(plan, ";");
    }
    sqlite3_finalize(st);
    if (!strstr(plan, "leases_lru") || strstr(plan, "TEMP B-TREE"))
        fail_msg("plan: %s", plan);
    lease_pool_close(p);
    db_close(db);
}

int main(void)
{
    /* One info line per takeover: thousands in test_many. */
    log_set_level(LOG_NOTICE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sticky, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_per_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
