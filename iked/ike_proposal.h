/* Choosing proposals (RFC 7296 §2.7, §3.3) and writing the chosen one back.
 * Our configured order is the preference: the first of ours that the peer
 * offers wins. A proposal is acceptable only when it has exactly what we
 * need: one transform of each required type, nothing unknown in a required
 * type. Owner: ike_proposal.c. */
#ifndef MGATE_IKE_PROPOSAL_H
#define MGATE_IKE_PROPOSAL_H

#include <stdint.h>

#include "ike_msg_wr.h"
#include "ike_payload.h"
#include "iked_conf.h"

struct ike_proposal_choice {
    uint8_t num;       /* the peer's proposal number, echoed */
    ike_suite suite;   /* IKE: encr/keybits/integ/prf/dh */
    struct iked_esp_proposal esp; /* ESP */
    uint32_t peer_spi; /* ESP: the peer's SPI from the proposal (host order) */
    uint16_t pfs_group; /* ESP in CREATE_CHILD_SA: the KE group written back; 0 none */
};

/* IKE SA: 0 and the choice, or -1 (NO_PROPOSAL_CHOSEN). With dh_hint set and
 * a peer KE of another group, the result names the group we would accept
 * (INVALID_KE_PAYLOAD, RFC 7296 §1.2): *want_group != 0. */
int ike_proposal_select_ike(const struct iked_settings *set, const struct ike_sa_pl *peer,
                            uint16_t peer_ke_group, struct ike_proposal_choice *out,
                            uint16_t *want_group);
/* CHILD SA (ESP, no PFS in IKE_AUTH): 0 and the choice, or -1. */
int ike_proposal_select_esp(const struct iked_settings *set, const struct ike_sa_pl *peer,
                            struct ike_proposal_choice *out);
/* CHILD SA in CREATE_CHILD_SA (a rekey, RFC 7296 §1.3.1): as above, and
 * the key exchange group must agree with our proposal's: one with a group
 * (PFS) needs the peer to offer it and send a KE (peer_ke_group); one
 * without needs the peer to offer no group or NONE. A peer KE of another
 * group than the chosen proposal's sets *want_group (INVALID_KE_PAYLOAD).
 * 0 and the choice (pfs_group set), or -1 (NO_PROPOSAL_CHOSEN). */
int ike_proposal_select_esp_pfs(const struct iked_settings *set, const struct ike_sa_pl *peer,
                                uint16_t peer_ke_group, struct ike_proposal_choice *out,
                                uint16_t *want_group);
/* Writes the SA payload of a response carrying exactly the choice. */
enum ike_err ike_proposal_write_ike(struct ike_wr *w, const struct ike_proposal_choice *c);
/* The same with an SPI (8 octets): the new IKE SA's, in an IKE SA rekey. */
enum ike_err ike_proposal_write_ike_spi(struct ike_wr *w, const struct ike_proposal_choice *c,
                                        const uint8_t *spi);
enum ike_err ike_proposal_write_esp(struct ike_wr *w, const struct ike_proposal_choice *c,
                                    uint32_t our_spi);

#endif
