/* The IKE_SA_INIT guard: per-source token buckets in a set-associative
 * table (bounded memory, least recently seen evicted) and the half-open
 * bound, each refusal counted and logged at most once per period. */
#include "iked_ratelimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"

#define GUARD_MILLI 1000u

int iked_guard_init(struct iked_guard *g, uint32_t rate, uint32_t burst, uint32_t max_half_open)
{
    memset(g, 0, sizeof(*g));
    g->rate = rate;
    g->burst = burst ? burst : 1;
    g->max_half_open = max_half_open;
    if (getrandom(&g->seed, sizeof(g->seed), 0) != (ssize_t)sizeof(g->seed))
        g->seed = (uint64_t)(uintptr_t)g ^ 0x6a09e667f3bcc908ull;
    if (!rate)
        return 0;
    g->tab = calloc((size_t)IKED_GUARD_SETS * IKED_GUARD_WAYS, sizeof(*g->tab));
    return g->tab ? 0 : -1;
}

void iked_guard_free(struct iked_guard *g)
{
    free(g->tab);
    g->tab = NULL;
}

/* The address alone: a device's port changes with every socket. */
static int guard_key(const struct sockaddr_storage *ss, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (ss->ss_family == AF_INET) {
        memcpy(addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
        return AF_INET;
    }
    if (ss->ss_family == AF_INET6) {
        memcpy(addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
        return AF_INET6;
    }
    return 0;
}

static size_t guard_set(const struct iked_guard *g, const uint8_t addr[16], int family)
{
    uint64_t w[2];
    memcpy(w, addr, 16);
    uint64_t h = g->seed ^ (uint64_t)family;
    for (int i = 0; i < 2; i++) {
        h ^= w[i];
        h *= 0x9e3779b97f4a7c15ull;
        h ^= h >> 31;
    }
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return (size_t)(h % IKED_GUARD_SETS);
}

static const char *guard_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    snprintf(buf, len, "?");
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)len);
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, (socklen_t)len);
    return buf;
}

/* The source's entry: found, a free one, or the least recently seen of
 * its set taken over with a full bucket. */
static struct iked_guard_src *guard_find(struct iked_guard *g, const uint8_t addr[16], int family,
                                         uint64_t now_ms)
{
    struct iked_guard_src *set = g->tab + guard_set(g, addr, family) * IKED_GUARD_WAYS;
    struct iked_guard_src *victim = NULL;
    for (unsigned i = 0; i < IKED_GUARD_WAYS; i++) {
        struct iked_guard_src *s = &set[i];
        if (s->family == family && memcmp(s->addr, addr, 16) == 0)
            return s;
        if (!s->family) {
            if (!victim || victim->family)
                victim = s;
        } else if (!victim || (victim->family && s->last_ms < victim->last_ms)) {
            victim = s;
        }
    }
    if (victim->family)
        g->evicted++;
    memcpy(victim->addr, addr, 16);
    victim->family = (uint8_t)family;
    victim->tokens_milli = (uint64_t)g->burst * GUARD_MILLI;
    victim->last_ms = now_ms;
    return victim;
}

bool iked_guard_rate(struct iked_guard *g, const struct sockaddr_storage *src, uint64_t now_ms)
{
    uint8_t addr[16];
    int family = guard_key(src, addr);
    if (!g->rate || !g->tab || !family)
        return true;
    struct iked_guard_src *s = guard_find(g, addr, family, now_ms);
    uint64_t cap = (uint64_t)g->burst * GUARD_MILLI;
    uint64_t refill = (now_ms - s->last_ms) * g->rate; /* rate per s = rate milli per ms */
    s->tokens_milli = s->tokens_milli + refill > cap ? cap : s->tokens_milli + refill;
    s->last_ms = now_ms;
    if (s->tokens_milli >= GUARD_MILLI) {
        s->tokens_milli -= GUARD_MILLI;
        return true;
    }
    g->rate_limited++;
    if (!g->rate_log_ms || now_ms - g->rate_log_ms >= IKED_GUARD_LOG_MS) {
        char a[INET6_ADDRSTRLEN];
        log_notice("IKE_SA_INIT from %s over the per-source rate limit (%u/s, burst %u): dropped "
                   "(%llu dropped since the last such line, %llu in all)",
                   guard_addr_str(src, a, sizeof(a)), g->rate, g->burst,
                   (unsigned long long)(g->rate_limited - g->rate_logged),
                   (unsigned long long)g->rate_limited);
        g->rate_log_ms = now_ms;
        g->rate_logged = g->rate_limited;
    }
    return false;
}

bool iked_guard_half_open(struct iked_guard *g, size_t half_open, uint64_t now_ms)
{
    if (half_open < g->max_half_open)
        return true;
    g->half_open_refused++;
    if (!g->half_log_ms || now_ms - g->half_log_ms >= IKED_GUARD_LOG_MS) {
        log_warn("%zu half-open IKE SAs (max_half_open %u): new IKE_SA_INIT requests are dropped "
                 "(%llu since the last such line, %llu in all)",
                 half_open, g->max_half_open,
                 (unsigned long long)(g->half_open_refused - g->half_logged),
                 (unsigned long long)g->half_open_refused);
        g->half_log_ms = now_ms;
        g->half_logged = g->half_open_refused;
    }
    return false;
}

size_t iked_guard_sources(const struct iked_guard *g)
{
    size_t n = 0;
    if (!g->tab)
        return 0;
    for (size_t i = 0; i < (size_t)IKED_GUARD_SETS * IKED_GUARD_WAYS; i++)
        n += g->tab[i].family != 0;
    return n;
}
