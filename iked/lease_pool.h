/* Virtual IPv4 addresses for devices, kept in iked.db. One address per
 * device identity, sticky: a device gets back the address it had last time
 * when that address is free. Thread-safe (worker threads allocate during
 * IKE_AUTH). Owner: lease_pool.c. */
#ifndef MGATE_LEASE_POOL_H
#define MGATE_LEASE_POOL_H

#include <netinet/in.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct lease_pool;

/* The migration that creates the lease tables, for iked's migration list. */
extern const char lease_pool_schema_sql[];

/* net/plen: the pool (network and broadcast addresses are never handed out,
 * nor the first host address, which by convention is the gateway's);
 * plen 8..30 with the host bits of net zero, else -EINVAL. One pool per
 * database. Remembered (inactive) addresses outside the pool, left from an
 * earlier configuration, are forgotten here. Each change is one BEGIN
 * IMMEDIATE transaction on db: no other thread may hold a transaction open
 * on the same connection meanwhile. */
int lease_pool_open(sqlite3 *db, struct in_addr net, uint8_t plen, struct lease_pool **out);
void lease_pool_close(struct lease_pool *p);

/* Leases an address to identity (the device's certificate subject or
 * fingerprint). Returns 0 and the address; -EBUSY when the identity already
 * holds an active lease (one connection per device: the caller decides
 * whether to replace); -ENOSPC when the pool is exhausted. */
int lease_pool_acquire(struct lease_pool *p, const char *identity, struct in_addr *addr);
/* Forces the lease to this identity even when active (a device reconnects
 * and replaces its old tunnel); same address when it had one. */
int lease_pool_reacquire(struct lease_pool *p, const char *identity, struct in_addr *addr);
/* Ends the active lease (the address stays remembered for stickiness);
 * -ENOENT when the identity holds none. */
int lease_pool_release(struct lease_pool *p, const char *identity);
/* Active leases, for mgatectl and tests. */
int lease_pool_count_active(struct lease_pool *p);

/* Ends every active lease; returns how many were active, or -errno. For the
 * start of the daemon: no tunnel outlives iked without a checkpoint, so
 * release everything, then lease_pool_reacquire() the identity of each IKE
 * SA restored from the checkpoint (it gets its address back: nobody else
 * can have taken it in between). */
int lease_pool_release_all(struct lease_pool *p);
/* The identity's remembered address and whether it is active (either may
 * be NULL); -ENOENT when it has none. */
int lease_pool_lookup(struct lease_pool *p, const char *identity, struct in_addr *addr,
                      bool *active);

#endif
