/* Translation between xfrmd's protobuf API (proto/xfrmd.proto) and the xfrm
 * library's structs. Requests are checked for shape here (address lengths,
 * ranges of enum values); the library checks meaning (families, keys,
 * ownership). Every failure says which field and why. */
#ifndef MGATE_XFRMD_PB_H
#define MGATE_XFRMD_PB_H

#include "xfrm_event.h"
#include "xfrm_policy.h"
#include "xfrm_sa.h"
#include "xfrmd.pb-c.h"

#define XFRMD_PB_ERR 160

int xfrmd_pb_to_sa(const Mgate__XfrmSa *in, struct xfrm_sa *out, char *why);
int xfrmd_pb_to_sa_id(const Mgate__XfrmSaId *in, struct xfrm_sa_id *out, char *why);
int xfrmd_pb_to_spi_req(const Mgate__XfrmSpiRequest *in, struct xfrm_spi_req *out, char *why);
int xfrmd_pb_to_policy(const Mgate__XfrmPolicy *in, struct xfrm_policy *out, char *why);
int xfrmd_pb_to_policy_id(const Mgate__XfrmPolicyId *in, struct xfrm_policy_id *out, char *why);

/* Outgoing messages own their nested messages and bytes: one allocation per
 * item, freed with the matching _free. */
Mgate__XfrmSaInfo *xfrmd_pb_sa_info_new(const struct xfrm_sa_info *in);
void xfrmd_pb_sa_info_free(Mgate__XfrmSaInfo *m);
Mgate__XfrmPolicyInfo *xfrmd_pb_policy_info_new(const struct xfrm_policy_info *in);
void xfrmd_pb_policy_info_free(Mgate__XfrmPolicyInfo *m);
Mgate__XfrmSaId *xfrmd_pb_sa_id_new(const struct xfrm_sa_id *in);
Mgate__XfrmPolicyId *xfrmd_pb_policy_id_new(const struct xfrm_policy_id *in);

/* A kernel event as the XfrmdEvent to publish, with its topic; NULL when the
 * event is not forwarded (not ours, or a kind iked has no use for). Free with
 * xfrmd_pb_event_free. */
Mgate__XfrmdEvent *xfrmd_pb_event_new(const struct xfrm_event *ev, const char **topic);
void xfrmd_pb_event_free(Mgate__XfrmdEvent *m);

#endif
