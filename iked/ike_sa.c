/* The IKE SA record: creation, dropping what only IKE_AUTH needed, freeing
 * with every secret wiped, and the one-line description for logs. */
#include "ike_sa.h"

#include <arpa/inet.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_crypto.h"
#include "ike_frag.h"
#include "ike_grant.h"

struct ike_sa *ike_sa_new(void)
{
    struct ike_sa *sa = calloc(1, sizeof(*sa));
    if (!sa)
        return NULL;
    sa->state = IKE_SA_HALF_OPEN;
    sa->local.ss_family = AF_UNSPEC;
    sa->remote.ss_family = AF_UNSPEC;
    return sa;
}

void ike_sa_drop_auth_material(struct ike_sa *sa)
{
    if (!sa)
        return;
    if (sa->auth_block) {
        /* The nonces went into SKEYSEED and KEYMAT: not to be left around. */
        ike_crypto_wipe(sa->auth_block,
                        sa->init_req_len + sa->init_resp_len + sa->ni_len + sa->nr_len);
        free(sa->auth_block);
    }
    sa->auth_block = NULL;
    sa->init_req = sa->init_resp = sa->ni = sa->nr = NULL;
    sa->init_req_len = sa->init_resp_len = sa->ni_len = sa->nr_len = 0;
    ike_keys_drop_auth(&sa->keys);
}

static void child_wipe(struct child_sa *c)
{
    ike_crypto_wipe(c, sizeof(*c));
}

int ike_sa_move_to(struct ike_sa *sa, const struct sockaddr_storage *local,
                   const struct sockaddr_storage *remote)
{
    if (!sa->move && !(sa->move = malloc(sizeof(*sa->move))))
        return -1;
    sa->move->local = *local;
    sa->move->remote = *remote;
    return 0;
}

void ike_sa_free(struct ike_sa *sa)
{
    if (!sa)
        return;
    ike_sa_drop_auth_material(sa);
    ike_keys_wipe(&sa->keys);
    free(sa->move);
    if (sa->child) {
        child_wipe(sa->child);
        free(sa->child);
    }
    if (sa->child_redundant) {
        child_wipe(sa->child_redundant);
        free(sa->child_redundant);
    }
    if (sa->child_old) {
        child_wipe(sa->child_old);
        free(sa->child_old);
    }
    free(sa->last_resp);
    free(sa->peer_subject);
    ike_frag_set_free(sa->frag_rx);
    ike_frag_wait_free(sa->frag_wait);
    ike_authz_free(sa->authz);
    ike_crypto_wipe(sa, sizeof(*sa));
    free(sa);
}

const char *ike_sa_describe(const struct ike_sa *sa, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (!len)
        return buf;
    if (sa->remote.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&sa->remote;
        inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
        port = ntohs(s4->sin_port);
    } else if (sa->remote.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&sa->remote;
        inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
        port = ntohs(s6->sin6_port);
    }
    if (sa->peer_subject)
        snprintf(buf, len, "%s[%u] %s", a, port, sa->peer_subject);
    else
        snprintf(buf, len, "%s[%u] spi %016llx", a, port, (unsigned long long)be64toh(sa->spi_i));
    return buf;
}
