/* The IKE SA checkpoint: every established IKE SA as one row of a small
 * SQLite database on tmpfs (<run_dir>/iked.checkpoint), so that an iked
 * killed with SIGKILL comes back with its tunnels (README.md, "Restart").
 *
 * Two layers, no daemon state:
 *   iked_checkpoint_rec.c  one IKE SA <-> one record (a versioned, tagged,
 *                          CRC-checked byte string);
 *   iked_checkpoint.c      the file: create 0600, open and validate, one
 *                          row per IKE SA replaced on every change, load.
 * The daemon's use of it (when to save, restore at start) is iked_persist.c.
 *
 * What a record holds: SPIs, addresses and ports, NAT state, the suite,
 * SK_d, SK_ei/SK_ai, SK_er/SK_ar (with the GCM IV counters), message IDs
 * of both directions, the last response (already encrypted), the peer's
 * identity, the lease, CHILD SA data (SPIs, reqid, proposal, selectors),
 * timestamps and DPD state. Never SK_pi/SK_pr, nonces, IKE_SA_INIT
 * messages or CHILD SA keying material: the SA is saved only once
 * established, when those are gone, and the encoder does not read them. */
#ifndef MGATE_IKED_CHECKPOINT_H
#define MGATE_IKED_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "ike_sa.h"

/* Bumped when a field changes meaning; a new field only gets a new tag
 * (iked_checkpoint_rec.c) and keeps the version. */
#define IKED_CHECKPOINT_FORMAT 1

/* ---- records (iked_checkpoint_rec.c) ---- */

/* The record of sa (malloc'd, *len octets), or NULL when out of memory. */
uint8_t *iked_checkpoint_rec_encode(const struct ike_sa *sa, size_t *len);
/* A new established SA from a record, or NULL with why filled in (wrong
 * magic or version, bad CRC, unknown tag, a field of the wrong size, a
 * value out of range, a required field missing). */
struct ike_sa *iked_checkpoint_rec_decode(const uint8_t *rec, size_t len, char *why,
                                          size_t why_len);

/* ---- the file (iked_checkpoint.c) ---- */

struct iked_checkpoint;

/* Opens path, creating it (mode 0600) when it does not exist. An existing
 * file must be a checkpoint of this format: otherwise -1 with why ("not a
 * checkpoint", "format 7, this iked reads 1", SQLite's reason...) and
 * nothing open. The caller decides (iked_persist: log, remove, start
 * empty). */
int iked_checkpoint_open(const char *path, struct iked_checkpoint **out, char *why, size_t why_len);
void iked_checkpoint_close(struct iked_checkpoint *cp);
/* Removes the file and SQLite's -wal and -shm beside it; 0 or -errno
 * (a file already absent is fine). */
int iked_checkpoint_unlink(const char *path);

/* Writes sa's row (replacing the old one): one short transaction. */
int iked_checkpoint_put(struct iked_checkpoint *cp, const struct ike_sa *sa);
int iked_checkpoint_del(struct iked_checkpoint *cp, uint64_t spi_r);
/* Decodes every row and hands each SA to fn, which takes ownership. Stops
 * at the first row that does not decode or does not read: -1 with why
 * (the SAs already handed over stay the caller's). */
int iked_checkpoint_load(struct iked_checkpoint *cp, void (*fn)(struct ike_sa *sa, void *arg),
                         void *arg, char *why, size_t why_len);
/* Rows, for tests and the log. */
long iked_checkpoint_count(struct iked_checkpoint *cp);

#endif
