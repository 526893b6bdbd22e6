/* Virtual IPv4 leases in iked.db, with an in-memory bitmap of the pool.
 *
 * The table is the truth; the bitmap (one bit per leasable address: in the
 * table or not) is a cache built at open so that finding a free address
 * never scans the table: a two-level bitmap answers "lowest address never
 * handed out" in a few hundred word reads even for a /8. Every change runs
 * in one SQLite transaction under the pool's mutex, and the bitmap is
 * updated only after COMMIT succeeded, so a failed write leaves both as
 * they were.
 *
 * A row is an identity's address: active while a tunnel uses it, kept when
 * released so the device gets it back (sticky). When the pool has no
 * address that nobody remembers, the least recently released remembered
 * address is taken over (the partial index leases_lru finds it without a
 * scan) and its old owner starts afresh next time. */
#include "lease_pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

const char lease_pool_schema_sql[] =
    "CREATE TABLE leases ("
    " identity TEXT PRIMARY KEY NOT NULL," /* certificate subject or fingerprint */
    " address INTEGER NOT NULL UNIQUE,"    /* IPv4, host order as a number */
    " active INTEGER NOT NULL CHECK (active IN (0, 1)),"
    " seq INTEGER NOT NULL," /* order of changes: oldest release first */
    " updated TEXT NOT NULL" /* UTC time of the last change, for people */
    ");"
    "CREATE INDEX leases_lru ON leases(seq) WHERE active = 0;";

#define LEASE_NOW "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

enum lease_stmt {
    LEASE_ST_GET,
    LEASE_ST_INSERT,
    LEASE_ST_TAKE,
    LEASE_ST_RELEASE,
    LEASE_ST_VICTIM,
    LEASE_ST_DELETE,
    LEASE_ST_RELEASE_ALL,
    LEASE_ST_FORGET,
    LEASE_ST_BEGIN,
    LEASE_ST_COMMIT,
    LEASE_ST_ROLLBACK,
    LEASE_ST_COUNT,
};

static const char *const lease_sql[LEASE_ST_COUNT] = {
    [LEASE_ST_GET] = "SELECT address, active FROM leases WHERE identity = ?1",
    [LEASE_ST_INSERT] = "INSERT INTO leases (identity, address, active, seq, updated)"
                        " VALUES (?1, ?2, 1, ?3, " LEASE_NOW ")",
    [LEASE_ST_TAKE] = "UPDATE leases SET address = ?2, active = 1, seq = ?3, updated = " LEASE_NOW
                      " WHERE identity = ?1",
    [LEASE_ST_RELEASE] =
        "UPDATE leases SET active = 0, seq = ?2, updated = " LEASE_NOW " WHERE identity = ?1",
    [LEASE_ST_VICTIM] = "SELECT identity, address FROM leases WHERE active = 0"
                        " AND +address BETWEEN ?1 AND ?2 ORDER BY seq LIMIT 1",
    [LEASE_ST_DELETE] = "DELETE FROM leases WHERE identity = ?1",
    [LEASE_ST_RELEASE_ALL] =
        "UPDATE leases SET active = 0, seq = ?1, updated = " LEASE_NOW " WHERE active = 1",
    /* Remembered addresses outside the pool can never be given back. */
    [LEASE_ST_FORGET] = "DELETE FROM leases WHERE active = 0 AND (address < ?1 OR address > ?2)",
    [LEASE_ST_BEGIN] = "BEGIN IMMEDIATE",
    [LEASE_ST_COMMIT] = "COMMIT",
    [LEASE_ST_ROLLBACK] = "ROLLBACK",
};

struct lease_pool {
    pthread_mutex_t mu;
    sqlite3 *db;
    sqlite3_stmt *st[LEASE_ST_COUNT];
    uint32_t lo, hi; /* first and last leasable address, host order */
    uint64_t *used;  /* bit i: lo + i has a row (active or remembered) */
    uint64_t *full;  /* bit w: used[w] is all ones */
    size_t n_used, n_full;
    int64_t seq; /* the last seq written */
    int n_active;
};

/* ---- bitmap ---- */

static void lease_bit_set(struct lease_pool *p, uint32_t i)
{
    size_t w = i / 64;
    p->used[w] |= 1ull << (i % 64);
    if (p->used[w] == UINT64_MAX)
        p->full[w / 64] |= 1ull << (w % 64);
}

/* Index of the lowest address without a row, or -1. Bits past the pool's
 * end are set at open, so they never look free. */
static int64_t lease_bit_find_free(const struct lease_pool *p)
{
    for (size_t f = 0; f < p->n_full; f++) {
        if (p->full[f] == UINT64_MAX)
            continue;
        size_t w = f * 64 + (size_t)__builtin_ctzll(~p->full[f]);
        return (int64_t)(w * 64 + (size_t)__builtin_ctzll(~p->used[w]));
    }
    return -1;
}

static bool lease_in_pool(const struct lease_pool *p, int64_t addr)
{
    return addr >= p->lo && addr <= p->hi;
}

/* ---- statements ---- */

static int lease_db_fail(struct lease_pool *p, const char *what)
{
    log_err("lease pool: %s: %s", what, sqlite3_errmsg(p->db));
    return -EIO;
}

/* Runs a statement that returns no row. */
static int lease_exec(struct lease_pool *p, enum lease_stmt s)
{
    sqlite3_stmt *st = p->st[s];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : lease_db_fail(p, lease_sql[s]);
}

static int lease_begin(struct lease_pool *p)
{
    return lease_exec(p, LEASE_ST_BEGIN);
}

static int lease_commit(struct lease_pool *p)
{
    if (lease_exec(p, LEASE_ST_COMMIT) == 0)
        return 0;
    /* A failed COMMIT may leave the transaction open: end it. */
    if (!sqlite3_get_autocommit(p->db))
        lease_exec(p, LEASE_ST_ROLLBACK);
    return -EIO;
}

static int lease_rollback(struct lease_pool *p, int rc)
{
    if (!sqlite3_get_autocommit(p->db) && lease_exec(p, LEASE_ST_ROLLBACK) < 0)
        log_err("lease pool: rollback failed: the connection may hold an open transaction");
    return rc;
}

/* The identity's row: 1 and its address/active, 0 without one, -EIO. */
static int lease_get(struct lease_pool *p, const char *identity, int64_t *addr, bool *active)
{
    sqlite3_stmt *st = p->st[LEASE_ST_GET];
    int rc = sqlite3_bind_text(st, 1, identity, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *addr = sqlite3_column_int64(st, 0);
        *active = sqlite3_column_int(st, 1) != 0;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : lease_db_fail(p, "reading a lease");
}

/* INSERT or TAKE: identity, address, seq. */
static int lease_write(struct lease_pool *p, enum lease_stmt s, const char *identity, int64_t addr,
                       int64_t seq)
{
    sqlite3_stmt *st = p->st[s];
    if (sqlite3_bind_text(st, 1, identity, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, addr) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, seq) != SQLITE_OK) {
        sqlite3_clear_bindings(st);
        return lease_db_fail(p, "binding a lease");
    }
    return lease_exec(p, s);
}

static int lease_delete(struct lease_pool *p, const char *identity)
{
    if (sqlite3_bind_text(p->st[LEASE_ST_DELETE], 1, identity, -1, SQLITE_STATIC) != SQLITE_OK)
        return lease_db_fail(p, "binding a lease");
    return lease_exec(p, LEASE_ST_DELETE);
}

/* The least recently released remembered address in the pool: 1 and the
 * address (its row deleted), 0 when every address is active, -EIO. */
static int lease_evict(struct lease_pool *p, int64_t *addr)
{
    sqlite3_stmt *st = p->st[LEASE_ST_VICTIM];
    char *victim = NULL;
    int rc = sqlite3_bind_int64(st, 1, p->lo);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, p->hi);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        *addr = sqlite3_column_int64(st, 1);
        victim = id ? strdup(id) : NULL;
        if (!victim)
            rc = SQLITE_NOMEM;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW) {
        free(victim);
        return rc == SQLITE_NOMEM ? -ENOMEM : lease_db_fail(p, "finding an old lease");
    }
    int d = lease_delete(p, victim);
    if (d == 0)
        log_info("lease pool: address %u.%u.%u.%u was remembered for '%s', now reused",
                 (unsigned)(*addr >> 24) & 255, (unsigned)(*addr >> 16) & 255,
                 (unsigned)(*addr >> 8) & 255, (unsigned)*addr & 255, victim);
    free(victim);
    return d < 0 ? d : 1;
}

static int lease_forget(struct lease_pool *p)
{
    sqlite3_stmt *st = p->st[LEASE_ST_FORGET];
    if (sqlite3_bind_int64(st, 1, p->lo) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, p->hi) != SQLITE_OK) {
        sqlite3_clear_bindings(st);
        return lease_db_fail(p, "binding the pool range");
    }
    return lease_exec(p, LEASE_ST_FORGET);
}

/* ---- open / close ---- */

static int lease_pool_load(struct lease_pool *p)
{
    /* Remembered addresses from an older, different pool are forgotten;
     * active ones stay until released. */
    if (lease_forget(p) < 0)
        return -EIO;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(p->db, "SELECT address, active, seq FROM leases", -1, &st, NULL) !=
        SQLITE_OK)
        return lease_db_fail(p, "reading leases");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t addr = sqlite3_column_int64(st, 0);
        int64_t seq = sqlite3_column_int64(st, 2);
        if (sqlite3_column_int(st, 1))
            p->n_active++;
        if (seq > p->seq)
            p->seq = seq;
        if (lease_in_pool(p, addr))
            lease_bit_set(p, (uint32_t)(addr - p->lo));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : lease_db_fail(p, "reading leases");
}

int lease_pool_open(sqlite3 *db, struct in_addr net, uint8_t plen, struct lease_pool **out)
{
    *out = NULL;
    uint32_t n_host = ntohl(net.s_addr);
    /* Up to a /8 (a 2 MiB bitmap); a /30 leaves exactly one address. */
    if (!db || plen < 8 || plen > 30 || (n_host & ((1u << (32 - plen)) - 1)) != 0)
        return -EINVAL;
    struct lease_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->db = db;
    /* Network address, the gateway's (first host) and broadcast excluded. */
    p->lo = n_host + 2;
    p->hi = n_host + (1u << (32 - plen)) - 2;
    uint32_t n = p->hi - p->lo + 1;
    p->n_used = (n + 63) / 64;
    p->n_full = (p->n_used + 63) / 64;
    p->used = calloc(p->n_used, sizeof(uint64_t));
    p->full = calloc(p->n_full, sizeof(uint64_t));
    int rc = pthread_mutex_init(&p->mu, NULL) == 0 ? 0 : -ENOMEM;
    if (rc == 0 && (!p->used || !p->full)) {
        pthread_mutex_destroy(&p->mu);
        rc = -ENOMEM;
    }
    if (rc < 0) {
        free(p->used);
        free(p->full);
        free(p);
        return rc;
    }
    /* Tail bits past the pool and past the last word look taken. */
    for (uint32_t i = n; i < p->n_used * 64; i++)
        lease_bit_set(p, i);
    for (size_t w = p->n_used; w < p->n_full * 64; w++)
        p->full[w / 64] |= 1ull << (w % 64);

    for (int s = 0; s < LEASE_ST_COUNT; s++) {
        if (sqlite3_prepare_v3(db, lease_sql[s], -1, SQLITE_PREPARE_PERSISTENT, &p->st[s], NULL) !=
            SQLITE_OK) {
            rc = lease_db_fail(p, lease_sql[s]);
            break;
        }
    }
    if (rc == 0)
        rc = lease_pool_load(p);
    if (rc < 0) {
        lease_pool_close(p);
        return rc;
    }
    *out = p;
    return 0;
}

void lease_pool_close(struct lease_pool *p)
{
    if (!p)
        return;
    for (int s = 0; s < LEASE_ST_COUNT; s++)
        sqlite3_finalize(p->st[s]);
    pthread_mutex_destroy(&p->mu);
    free(p->used);
    free(p->full);
    free(p);
}

/* ---- leases ---- */

static int lease_take(struct lease_pool *p, const char *identity, bool replace,
                      struct in_addr *addr)
{
    int64_t a = 0;
    bool active = false;
    int rc = lease_begin(p);
    if (rc < 0)
        return rc;
    int have = lease_get(p, identity, &a, &active);
    if (have < 0)
        return lease_rollback(p, have);
    if (have && active && !replace)
        return lease_rollback(p, -EBUSY);

    int64_t seq = p->seq + 1;
    int64_t fresh = -1; /* index of a never-used address we take */
    if (!have || !lease_in_pool(p, a)) {
        fresh = lease_bit_find_free(p);
        if (fresh >= 0) {
            a = p->lo + fresh;
        } else {
            rc = lease_evict(p, &a);
            if (rc <= 0)
                return lease_rollback(p, rc < 0 ? rc : -ENOSPC);
        }
    }
    rc = lease_write(p, have ? LEASE_ST_TAKE : LEASE_ST_INSERT, identity, a, seq);
    if (rc < 0)
        return lease_rollback(p, rc);
    rc = lease_commit(p);
    if (rc < 0)
        return rc;
    p->seq = seq;
    if (fresh >= 0)
        lease_bit_set(p, (uint32_t)fresh);
    if (!(have && active))
        p->n_active++;
    addr->s_addr = htonl((uint32_t)a);
    return 0;
}

static int lease_pool_check(struct lease_pool *p, const char *identity)
{
    return p && identity && *identity ? 0 : -EINVAL;
}

int lease_pool_acquire(struct lease_pool *p, const char *identity, struct in_addr *addr)
{
    if (lease_pool_check(p, identity) < 0 || !addr)
        return -EINVAL;
    pthread_mutex_lock(&p->mu);
    int rc = lease_take(p, identity, false, addr);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int lease_pool_reacquire(struct lease_pool *p, const char *identity, struct in_addr *addr)
{
    if (lease_pool_check(p, identity) < 0 || !addr)
        return -EINVAL;
    pthread_mutex_lock(&p->mu);
    int rc = lease_take(p, identity, true, addr);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static int lease_end(struct lease_pool *p, const char *identity)
{
    int64_t a;
    bool active;
    int have = lease_get(p, identity, &a, &active);
    if (have < 0)
        return have;
    if (!have || !active)
        return -ENOENT;
    int rc;
    if (lease_in_pool(p, a)) {
        sqlite3_stmt *st = p->st[LEASE_ST_RELEASE];
        if (sqlite3_bind_text(st, 1, identity, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(st, 2, p->seq + 1) != SQLITE_OK) {
            sqlite3_clear_bindings(st);
            return lease_db_fail(p, "binding a lease");
        }
        rc = lease_exec(p, LEASE_ST_RELEASE);
        if (rc == 0)
            p->seq++;
    } else {
        /* From an older pool: nothing to be sticky about. */
        rc = lease_delete(p, identity);
    }
    if (rc == 0)
        p->n_active--;
    return rc;
}

int lease_pool_release(struct lease_pool *p, const char *identity)
{
    if (lease_pool_check(p, identity) < 0)
        return -EINVAL;
    pthread_mutex_lock(&p->mu);
    int rc = lease_end(p, identity);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int lease_pool_release_all(struct lease_pool *p)
{
    if (!p)
        return -EINVAL;
    pthread_mutex_lock(&p->mu);
    int rc = lease_begin(p);
    if (rc == 0) {
        sqlite3_stmt *st = p->st[LEASE_ST_RELEASE_ALL];
        if (sqlite3_bind_int64(st, 1, p->seq + 1) != SQLITE_OK)
            rc = lease_db_fail(p, "binding a lease");
        if (rc == 0)
            rc = lease_exec(p, LEASE_ST_RELEASE_ALL);
        if (rc == 0)
            rc = lease_forget(p);
        rc = rc == 0 ? lease_commit(p) : lease_rollback(p, rc);
    }
    if (rc == 0) {
        rc = p->n_active;
        p->n_active = 0;
        p->seq++;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int lease_pool_lookup(struct lease_pool *p, const char *identity, struct in_addr *addr,
                      bool *active)
{
    if (lease_pool_check(p, identity) < 0)
        return -EINVAL;
    int64_t a = 0;
    bool act = false;
    pthread_mutex_lock(&p->mu);
    int have = lease_get(p, identity, &a, &act);
    pthread_mutex_unlock(&p->mu);
    if (have <= 0)
        return have < 0 ? have : -ENOENT;
    if (addr)
        addr->s_addr = htonl((uint32_t)a);
    if (active)
        *active = act;
    return 0;
}

int lease_pool_count_active(struct lease_pool *p)
{
    if (!p)
        return -EINVAL;
    pthread_mutex_lock(&p->mu);
    int n = p->n_active;
    pthread_mutex_unlock(&p->mu);
    return n;
}
