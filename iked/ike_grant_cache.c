/* The grant cache: what policyd last said about each certificate, for the
 * time policyd allowed (cache_seconds) and the gateway bounds
 * (authorization_cache_max). A chained hash on the fingerprint, which is
 * already a uniform hash. */
#include <stdlib.h>
#include <string.h>

#include "ike_grant.h"

struct ike_grant_entry {
    struct ike_grant_entry *next;
    uint8_t fpr[32];
    uint64_t stored_ms, expires_ms;
    struct ike_grant grant;
};

struct ike_grant_cache {
    uint32_t max_s;
    size_t n, n_buckets;
    struct ike_grant_entry **b;
};

#define CACHE_MIN_BUCKETS 256

struct ike_grant_cache *ike_grant_cache_new(uint32_t max_s)
{
    struct ike_grant_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->b = calloc(CACHE_MIN_BUCKETS, sizeof(*c->b));
    if (!c->b) {
        free(c);
        return NULL;
    }
    c->n_buckets = CACHE_MIN_BUCKETS;
    c->max_s = max_s;
    return c;
}

void ike_grant_cache_free(struct ike_grant_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_buckets; i++)
        for (struct ike_grant_entry *e = c->b[i], *nx; e; e = nx) {
            nx = e->next;
            free(e);
        }
    free(c->b);
    free(c);
}

static size_t bucket_of(const uint8_t fpr[32], size_t n_buckets)
{
    uint64_t h;
    memcpy(&h, fpr, sizeof(h));
    return (size_t)(h % n_buckets);
}

static struct ike_grant_entry **find(struct ike_grant_cache *c, const uint8_t fpr[32])
{
    struct ike_grant_entry **pe = &c->b[bucket_of(fpr, c->n_buckets)];
    while (*pe && memcmp((*pe)->fpr, fpr, 32) != 0)
        pe = &(*pe)->next;
    return pe;
}

/* Keeps chains short as devices come: doubles past one entry per bucket. */
static void grow(struct ike_grant_cache *c)
{
    size_t nb = c->n_buckets * 2;
    struct ike_grant_entry **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < c->n_buckets; i++)
        for (struct ike_grant_entry *e = c->b[i], *nx; e; e = nx) {
            nx = e->next;
            size_t k = bucket_of(e->fpr, nb);
            e->next = b[k];
            b[k] = e;
        }
    free(c->b);
    c->b = b;
    c->n_buckets = nb;
}

int ike_grant_cache_put(struct ike_grant_cache *c, const uint8_t fpr[32], const struct ike_grant *g,
                        uint64_t now_ms)
{
    struct ike_grant_entry **pe = find(c, fpr);
    uint32_t s = g->cache_seconds < c->max_s ? g->cache_seconds : c->max_s;
    if (s == 0) {
        /* Not to be served later: an older grant must not outlive it. */
        if (*pe) {
            struct ike_grant_entry *e = *pe;
            *pe = e->next;
            free(e);
            c->n--;
        }
        return 0;
    }
    struct ike_grant_entry *e = *pe;
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e)
            return -1;
        memcpy(e->fpr, fpr, 32);
        *pe = e;
        c->n++;
    }
    e->grant = *g;
    e->stored_ms = now_ms;
    e->expires_ms = now_ms + (uint64_t)s * 1000u;
    if (c->n > c->n_buckets)
        grow(c);
    return 0;
}

const struct ike_grant *ike_grant_cache_get(struct ike_grant_cache *c, const uint8_t fpr[32],
                                            uint64_t now_ms, uint64_t *age_s)
{
    struct ike_grant_entry **pe = find(c, fpr);
    struct ike_grant_entry *e = *pe;
    if (!e)
        return NULL;
    if (now_ms >= e->expires_ms) {
        *pe = e->next;
        free(e);
        c->n--;
        return NULL;
    }
    if (age_s)
        *age_s = (now_ms - e->stored_ms) / 1000u;
    return &e->grant;
}

size_t ike_grant_cache_prune(struct ike_grant_cache *c, uint64_t now_ms)
{
    size_t gone = 0;
    for (size_t i = 0; i < c->n_buckets; i++)
        for (struct ike_grant_entry **pe = &c->b[i]; *pe;) {
            struct ike_grant_entry *e = *pe;
            if (now_ms >= e->expires_ms) {
                *pe = e->next;
                free(e);
                c->n--;
                gone++;
            } else {
                pe = &e->next;
            }
        }
    return gone;
}

size_t ike_grant_cache_count(const struct ike_grant_cache *c)
{
    return c->n;
}
