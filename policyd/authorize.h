/* Authorization for the gateway: the AccessGrant of a device (allow with
 * its effective policy's selectors, quarantine, deny with a reason), the
 * Authorize request, and the AccessChanged events on topic "access". */
#ifndef MGATE_POLICYD_AUTHORIZE_H
#define MGATE_POLICYD_AUTHORIZE_H

#include <stddef.h>
#include <stdint.h>

#include "policy_db.h"
#include "policyd.h"
#include "policyd.pb-c.h"
#include "registry.h"

/* An AccessGrant and the memory it points into. */
struct access_grant {
    Mgate__AccessGrant g;
    Mgate__AccessSelector *sel;
    Mgate__AccessSelector **selp;
    struct strv strings;
    char reason[512];
};

/* The grant of a known device, from its state, certificate, compliance and
 * effective policy. 0 or -errno (database, memory). */
int access_grant_device(struct policyd *p, const struct reg_device *d, struct access_grant *out);
void access_grant_free(struct access_grant *g);

void access_authorize(struct policyd *p, struct svc *svc, struct ipc_conn *conn, uint64_t id,
                      const Mgate__AuthorizeRequest *rq);

/* After a committed change: bumps the generation of the devices and
 * publishes AccessChanged with the new grant for each that has a
 * certificate. Returns how many events went out. */
uint32_t access_publish(struct policyd *p, const int64_t *ids, size_t n);

#endif
