/* Which XFRM state belongs to mgate.
 *
 * xfrmd shares the kernel's SAD and SPD with whatever else runs on the host
 * (strongSwan, libreswan, hand-made `ip xfrm` entries). It recognises its own
 * objects by two marks that it alone hands out:
 *
 *   - reqid in [XFRM_OWNER_REQID_MIN, XFRM_OWNER_REQID_MAX] (0x4d = 'M') on
 *     every SA and on every template of every policy;
 *   - policy priority in [XFRM_OWNER_PRIO_MIN, XFRM_OWNER_PRIO_MAX].
 *
 * An SA is ours when its reqid is in the range. A policy is ours when its
 * priority is in the band AND it has at least one template AND every template's
 * reqid is in the range. The library refuses to create anything without these
 * marks, and refuses to update or delete anything whose current kernel copy
 * lacks them. strongSwan allocates reqids from 1 upwards and uses priorities
 * below 1,000,000, so neither range meets its objects in practice; an object
 * someone else deliberately creates with both marks is indistinguishable. */
#ifndef MGATE_XFRM_OWNER_H
#define MGATE_XFRM_OWNER_H

#include <stdbool.h>
#include <stdint.h>

#include "xfrm_types.h"

#define XFRM_OWNER_REQID_MIN 0x4d000000u
#define XFRM_OWNER_REQID_MAX 0x4dffffffu

/* Lower value = higher precedence in the kernel. The band sits above the
 * priorities IKE daemons usually compute, so on an overlapping selector a
 * foreign daemon's policy keeps winning instead of being shadowed by ours. */
#define XFRM_OWNER_PRIO_MIN 0x004d0000u
#define XFRM_OWNER_PRIO_MAX 0x004dffffu

bool xfrm_owner_reqid_is_ours(uint32_t reqid);
bool xfrm_owner_priority_is_ours(uint32_t priority);

/* A priority inside the band for a selector: more specific selectors (longer
 * prefixes, a protocol, ports) get lower values so they are matched first,
 * as the kernel only orders policies by priority. */
uint32_t xfrm_owner_policy_priority(const struct xfrm_sel *sel);

#endif
