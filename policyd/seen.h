/* What each Authorize writes (the device's last seen, its audit entry) is
 * kept in memory and committed in one transaction a second (or at 4096
 * entries, or at stop): with synchronous=FULL a commit per IKE_AUTH would
 * cap the gateway's handshake rate at the disk's fsync rate. */
#ifndef MGATE_POLICYD_SEEN_H
#define MGATE_POLICYD_SEEN_H

#include <stdint.h>

#include "policyd.h"

int seen_init(struct policyd *p);
void seen_add(struct policyd *p, int64_t device_id, int64_t at, uint32_t uid, const char *detail);
void seen_flush(struct policyd *p);
/* Flushes and closes the timer (before the loop ends). */
void seen_close(struct policyd *p);

#endif
