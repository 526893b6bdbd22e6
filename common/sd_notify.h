/* The sd_notify protocol (READY=1, STATUS=, WATCHDOG=1, STOPPING=1), spoken
 * directly on $NOTIFY_SOCKET: one datagram, no libsystemd needed. Outside
 * systemd every call is a no-op. */
#ifndef MGATE_SD_NOTIFY_H
#define MGATE_SD_NOTIFY_H

#include <stdint.h>

/* Returns 1 when sent, 0 when not under systemd, -errno on failure. */
int sd_notify_send(const char *state);
int sd_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog interval systemd asked for (WATCHDOG_USEC, for this pid), in
 * ms, or 0 when there is none. */
uint64_t sd_notify_watchdog_ms(void);

#endif
