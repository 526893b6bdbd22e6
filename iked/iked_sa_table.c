/* IKE SAs by responder SPI (every request after IKE_SA_INIT carries it) and
 * by initiator SPI + address (a retransmitted IKE_SA_INIT has no responder
 * SPI yet, and must get the same answer, not a second SA). Chained hash
 * tables that double when full: lookups stay O(1) at 100,000 tunnels. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "iked.h"

struct iked_sa_node {
    uint64_t key;
    struct ike_sa *sa;
    struct iked_sa_node *next;
};

struct iked_sa_index {
    struct iked_sa_node **b;
    size_t n_buckets;
    size_t count;
};

struct iked_sa_table {
    struct iked_sa_index by_r;
    struct iked_sa_index by_i;
    struct iked_sa_index by_id;
};

/* FNV-1a: identities are certificate subjects, not attacker-chosen keys
 * the table must resist (the CA signed them). */
static uint64_t iked_id_key(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t iked_mix(uint64_t x)
{
    /* SPIs are random, but the init key folds in an address: mix anyway. */
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static uint64_t iked_init_key(uint64_t spi_i, const struct sockaddr_storage *remote)
{
    uint64_t k = spi_i;
    if (remote->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)remote;
        k ^= (uint64_t)s->sin_addr.s_addr << 16 ^ s->sin_port;
    } else if (remote->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)remote;
        uint64_t a, b;
        memcpy(&a, s->sin6_addr.s6_addr, 8);
        memcpy(&b, s->sin6_addr.s6_addr + 8, 8);
        k ^= a ^ (b << 1) ^ s->sin6_port;
    }
    return k;
}

static int iked_index_init(struct iked_sa_index *ix)
{
    ix->n_buckets = 1024;
    ix->count = 0;
    ix->b = calloc(ix->n_buckets, sizeof(*ix->b));
    return ix->b ? 0 : -ENOMEM;
}

static void iked_index_free(struct iked_sa_index *ix)
{
    for (size_t i = 0; i < ix->n_buckets; i++) {
        struct iked_sa_node *n = ix->b[i];
        while (n) {
            struct iked_sa_node *next = n->next;
            free(n);
            n = next;
        }
    }
    free(ix->b);
}

static void iked_index_grow(struct iked_sa_index *ix)
{
    size_t nb = ix->n_buckets * 2;
    struct iked_sa_node **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < ix->n_buckets; i++) {
        struct iked_sa_node *n = ix->b[i];
        while (n) {
            struct iked_sa_node *next = n->next;
            size_t h = iked_mix(n->key) & (nb - 1);
            n->next = b[h];
            b[h] = n;
            n = next;
        }
    }
    free(ix->b);
    ix->b = b;
    ix->n_buckets = nb;
}

static int iked_index_add(struct iked_sa_index *ix, uint64_t key, struct ike_sa *sa)
{
    if (ix->count >= ix->n_buckets)
        iked_index_grow(ix);
    struct iked_sa_node *n = malloc(sizeof(*n));
    if (!n)
        return -ENOMEM;
    size_t h = iked_mix(key) & (ix->n_buckets - 1);
    n->key = key;
    n->sa = sa;
    n->next = ix->b[h];
    ix->b[h] = n;
    ix->count++;
    return 0;
}

static void iked_index_del(struct iked_sa_index *ix, uint64_t key, struct ike_sa *sa)
{
    size_t h = iked_mix(key) & (ix->n_buckets - 1);
    for (struct iked_sa_node **pn = &ix->b[h]; *pn; pn = &(*pn)->next) {
        if ((*pn)->sa == sa) {
            struct iked_sa_node *n = *pn;
            *pn = n->next;
            free(n);
            ix->count--;
            return;
        }
    }
}

struct iked_sa_table *iked_sa_table_new(void)
{
    struct iked_sa_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    if (iked_index_init(&t->by_r) < 0 || iked_index_init(&t->by_i) < 0 ||
        iked_index_init(&t->by_id) < 0) {
        iked_sa_table_free(t);
        return NULL;
    }
    return t;
}

void iked_sa_table_free(struct iked_sa_table *t)
{
    if (!t)
        return;
    iked_index_free(&t->by_r);
    iked_index_free(&t->by_i);
    iked_index_free(&t->by_id);
    free(t);
}

int iked_sa_table_add(struct iked_sa_table *t, struct ike_sa *sa)
{
    /* "by_r" holds our SPI: the responder SPI, or the initiator SPI of an
     * IKE SA the gateway rekeyed (we_initiator). */
    int rc = iked_index_add(&t->by_r, ike_sa_our_spi(sa), sa);
    if (rc)
        return rc;
    rc = iked_index_add(&t->by_i, iked_init_key(sa->spi_i, &sa->remote), sa);
    if (rc)
        iked_index_del(&t->by_r, ike_sa_our_spi(sa), sa);
    return rc;
}

void iked_sa_table_remove(struct iked_sa_table *t, struct ike_sa *sa)
{
    iked_index_del(&t->by_r, ike_sa_our_spi(sa), sa);
    iked_index_del(&t->by_i, iked_init_key(sa->spi_i, &sa->remote), sa);
    if (sa->id_indexed) {
        iked_index_del(&t->by_id, iked_id_key(sa->peer_subject), sa);
        sa->id_indexed = false;
    }
}

int iked_sa_table_index_identity(struct iked_sa_table *t, struct ike_sa *sa)
{
    if (sa->id_indexed || !sa->peer_subject)
        return 0;
    int rc = iked_index_add(&t->by_id, iked_id_key(sa->peer_subject), sa);
    if (rc == 0)
        sa->id_indexed = true;
    return rc;
}

void iked_sa_table_unindex_identity(struct iked_sa_table *t, struct ike_sa *sa)
{
    if (!sa->id_indexed)
        return;
    iked_index_del(&t->by_id, iked_id_key(sa->peer_subject), sa);
    sa->id_indexed = false;
}

void iked_sa_table_each_identity(struct iked_sa_table *t, const char *subject,
                                 void (*fn)(struct ike_sa *sa, void *arg), void *arg)
{
    uint64_t key = iked_id_key(subject);
    size_t h = iked_mix(key) & (t->by_id.n_buckets - 1);
    struct ike_sa *hits[16];
    size_t n = 0;
    /* Collect first: fn may remove the SA (and its node). */
    for (struct iked_sa_node *nd = t->by_id.b[h]; nd && n < 16; nd = nd->next)
        if (nd->key == key && strcmp(nd->sa->peer_subject, subject) == 0)
            hits[n++] = nd->sa;
    for (size_t i = 0; i < n; i++)
        fn(hits[i], arg);
}

struct ike_sa *iked_sa_table_by_spi_r(struct iked_sa_table *t, uint64_t spi_r)
{
    size_t h = iked_mix(spi_r) & (t->by_r.n_buckets - 1);
    for (struct iked_sa_node *n = t->by_r.b[h]; n; n = n->next)
        if (n->key == spi_r)
            return n->sa;
    return NULL;
}

static bool iked_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a,
                                 *y = (const struct sockaddr_in *)b;
        return x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a,
                              *y = (const struct sockaddr_in6 *)b;
    return memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0 && x->sin6_port == y->sin6_port;
}

struct ike_sa *iked_sa_table_by_init(struct iked_sa_table *t, uint64_t spi_i,
                                     const struct sockaddr_storage *remote)
{
    uint64_t key = iked_init_key(spi_i, remote);
    size_t h = iked_mix(key) & (t->by_i.n_buckets - 1);
    for (struct iked_sa_node *n = t->by_i.b[h]; n; n = n->next)
        if (n->key == key && n->sa->spi_i == spi_i && iked_same_addr(&n->sa->remote, remote))
            return n->sa;
    return NULL;
}

size_t iked_sa_table_count(const struct iked_sa_table *t)
{
    return t->by_r.count;
}

struct iked_count_arg {
    size_t n;
};

static void iked_count_half_open(struct ike_sa *sa, void *arg)
{
    if (sa->state == IKE_SA_HALF_OPEN)
        ((struct iked_count_arg *)arg)->n++;
}

size_t iked_sa_table_half_open(const struct iked_sa_table *t)
{
    struct iked_count_arg a = {0};
    iked_sa_table_each((struct iked_sa_table *)t, iked_count_half_open, &a);
    return a.n;
}

void iked_sa_table_each(struct iked_sa_table *t, void (*fn)(struct ike_sa *sa, void *arg),
                        void *arg)
{
    /* Collect first: fn may remove the SA (and so the node) it is given. */
    size_t n = t->by_r.count, k = 0;
    struct ike_sa **all = malloc((n ? n : 1) * sizeof(*all));
    if (!all)
        return;
    for (size_t i = 0; i < t->by_r.n_buckets && k < n; i++)
        for (struct iked_sa_node *nd = t->by_r.b[i]; nd; nd = nd->next)
            all[k++] = nd->sa;
    for (size_t i = 0; i < k; i++)
        fn(all[i], arg);
    free(all);
}
