/* The IKE_SA_INIT guard, in front of everything that costs: a token bucket
 * per source address (sa_init_rate per second, bursts of sa_init_burst) in
 * a table of fixed size, and the bound on half-open IKE SAs
 * (max_half_open). What it refuses is counted and logged at most once per
 * IKED_GUARD_LOG_MS. Pure data and time: no sockets, no event loop (the
 * caller passes the clock). Owner: iked_ratelimit.c; used by the event
 * loop thread only. */
#ifndef MGATE_IKED_RATELIMIT_H
#define MGATE_IKED_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Sources tracked at once: IKED_GUARD_SETS sets of IKED_GUARD_WAYS; a
 * new source evicts the least recently seen of its set (a source that
 * comes back after eviction starts again with a full bucket). */
#define IKED_GUARD_WAYS   8u
#define IKED_GUARD_SETS   1024u
#define IKED_GUARD_LOG_MS 10000u

struct iked_guard_src {
    uint8_t addr[16];
    uint8_t family;        /* 0: free */
    uint64_t tokens_milli; /* thousandths of a request */
    uint64_t last_ms;
};

struct iked_guard {
    struct iked_guard_src *tab; /* IKED_GUARD_SETS * IKED_GUARD_WAYS */
    uint64_t seed;              /* keys the hash: sets cannot be aimed at */
    uint32_t rate;              /* per second; 0: no rate limit */
    uint32_t burst;
    uint32_t max_half_open;
    /* Counters (mgatectl status). */
    uint64_t rate_limited, half_open_refused, evicted;
    /* The one log line per IKED_GUARD_LOG_MS per kind. */
    uint64_t rate_log_ms, rate_logged, half_log_ms, half_logged;
};

/* 0, or -1 when out of memory. */
int iked_guard_init(struct iked_guard *g, uint32_t rate, uint32_t burst, uint32_t max_half_open);
void iked_guard_free(struct iked_guard *g);

/* One IKE_SA_INIT request from src: true when it may go on, false when its
 * source is over its rate (counted; logged at most once per period). */
bool iked_guard_rate(struct iked_guard *g, const struct sockaddr_storage *src, uint64_t now_ms);

/* true when one more half-open SA may be created, given how many there are
 * (with those being computed); false: counted and logged like the rate. */
bool iked_guard_half_open(struct iked_guard *g, size_t half_open, uint64_t now_ms);

/* Sources in the table (tests, status). */
size_t iked_guard_sources(const struct iked_guard *g);

#endif
