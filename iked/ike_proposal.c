/* Proposal selection (RFC 7296 §2.7, §3.3): the first of our proposals, in
 * our order, that one of the peer's proposals offers in full. Within a
 * peer proposal the transforms of one type are alternatives; across types
 * all are needed. Our proposals are single suites (one algorithm per type),
 * so "offers ours" is a membership test per type. */
#include "ike_proposal.h"

#include <string.h>

#include "ike_payload_wr.h"

/* Transform types RFC 7296 defines; any other type in a peer's proposal
 * makes it unacceptable (§3.3.6), e.g. RFC 9370 additional key exchanges. */
#define IKE_PROPOSAL_KNOWN_TYPES                                                                   \
    (1u << IKE_XF_ENCR | 1u << IKE_XF_PRF | 1u << IKE_XF_INTEG | 1u << IKE_XF_DH | 1u << IKE_XF_ESN)

static const struct ike_transform *ike_proposal_xf(const struct ike_sa_pl *sa,
                                                   const struct ike_proposal *p, unsigned i)
{
    return &sa->xf[p->first_xf + i];
}

/* Bit t set when the proposal has a transform of type t; false when it has
 * a type we do not know, or its transform indexes are out of the SA. */
static bool ike_proposal_types(const struct ike_sa_pl *sa, const struct ike_proposal *p,
                               unsigned *types)
{
    *types = 0;
    if ((unsigned)p->first_xf + p->n_xf > sa->n_xf || p->n_xf == 0)
        return false;
    for (unsigned i = 0; i < p->n_xf; i++) {
        uint8_t t = ike_proposal_xf(sa, p, i)->type;
        if (t >= 32 || !(IKE_PROPOSAL_KNOWN_TYPES & (1u << t)))
            return false;
        *types |= 1u << t;
    }
    return true;
}

/* Does the proposal offer exactly this transform? key_len is the Key
 * Length attribute we need (0: none). A transform with an attribute we do
 * not understand is unsupported (§3.3.6) and never matches. */
static bool ike_proposal_offers(const struct ike_sa_pl *sa, const struct ike_proposal *p,
                                uint8_t type, uint16_t id, uint16_t key_len)
{
    for (unsigned i = 0; i < p->n_xf; i++) {
        const struct ike_transform *xf = ike_proposal_xf(sa, p, i);
        if (xf->type == type && xf->id == id && xf->key_len == key_len && !xf->unknown_attr)
            return true;
    }
    return false;
}

/* Integrity as our choice needs it. With AES-GCM, RFC 5282 §8 and RFC 7296
 * §3.3 allow no INTEG transform or NONE; a GCM proposal with only real
 * integrity algorithms is malformed and not taken. */
static bool ike_proposal_integ_ok(const struct ike_sa_pl *sa, const struct ike_proposal *p,
                                  unsigned types, uint16_t integ)
{
    if (integ != IKE_INTEG_NONE)
        return ike_proposal_offers(sa, p, IKE_XF_INTEG, integ, 0);
    return !(types & (1u << IKE_XF_INTEG)) ||
           ike_proposal_offers(sa, p, IKE_XF_INTEG, IKE_INTEG_NONE, 0);
}

static bool ike_proposal_ike_ok(const struct ike_sa_pl *sa, const struct ike_proposal *p,
                                const ike_suite *s)
{
    unsigned types;
    if (p->proto != IKE_PROTO_IKE || !ike_proposal_types(sa, p, &types))
        return false;
    /* An IKE proposal never carries ESN (§3.3.3). */
    if (types & (1u << IKE_XF_ESN))
        return false;
    return ike_proposal_offers(sa, p, IKE_XF_ENCR, s->encr, s->encr_keybits) &&
           ike_proposal_offers(sa, p, IKE_XF_PRF, s->prf, 0) &&
           ike_proposal_integ_ok(sa, p, types, s->integ) &&
           ike_proposal_offers(sa, p, IKE_XF_DH, s->dh, 0);
}

static bool ike_proposal_esp_ok(const struct ike_sa_pl *sa, const struct ike_proposal *p,
                                const struct iked_esp_proposal *e)
{
    unsigned types;
    if (p->proto != IKE_PROTO_ESP || p->spi_len != 4 || !ike_proposal_types(sa, p, &types))
        return false;
    /* ESP has no PRF. A key exchange group is ignored: IKE_AUTH carries no
     * KE, so RFC 7296 §1.2 allows no group but NONE there; clients with PFS
     * configured (strongSwan) still list theirs, and take an answer without
     * a DH transform. */
    if (types & (1u << IKE_XF_PRF))
        return false;
    return ike_proposal_offers(sa, p, IKE_XF_ENCR, e->encr, e->encr_keybits) &&
           ike_proposal_integ_ok(sa, p, types, e->integ) &&
           ike_proposal_offers(sa, p, IKE_XF_ESN, e->esn ? IKE_ESN_YES : IKE_ESN_NO, 0);
}

int ike_proposal_select_ike(const struct iked_settings *set, const struct ike_sa_pl *peer,
                            uint16_t peer_ke_group, struct ike_proposal_choice *out,
                            uint16_t *want_group)
{
    if (want_group)
        *want_group = 0;
    if (!set || !peer || !out)
        return -1;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < set->n_ike; i++) {
        const ike_suite *s = &set->ike[i].suite;
        for (unsigned j = 0; j < peer->n_prop && j < IKE_MAX_PROPOSALS; j++) {
            if (!ike_proposal_ike_ok(peer, &peer->prop[j], s))
                continue;
            out->num = peer->prop[j].num;
            out->suite = *s;
            /* The peer offered our group but guessed another in its KE
             * payload: ask for ours (INVALID_KE_PAYLOAD) rather than take a
             * proposal we like less. */
            if (want_group && peer_ke_group != 0 && peer_ke_group != s->dh)
                *want_group = s->dh;
            return 0;
        }
    }
    return -1;
}

/* The PFS group for the gateway's own rekeys of a CHILD SA made in
 * IKE_AUTH, where no group is negotiated: what the peer's proposal lists,
 * if anything. NONE listed: none. Ours if listed, or another group it
 * lists that one of our proposals has. Nothing listed, or nothing we
 * have: ours (iked_rekey_init.c corrects it from the peer's
 * INVALID_KE_PAYLOAD or NO_PROPOSAL_CHOSEN). */
static uint16_t ike_proposal_peer_pfs(const struct iked_settings *set, const struct ike_sa_pl *sa,
                                      const struct ike_proposal *p,
                                      const struct iked_esp_proposal *e)
{
    unsigned types;
    if (!ike_proposal_types(sa, p, &types) || !(types & (1u << IKE_XF_DH)))
        return e->dh; /* not said (strongSwan leaves groups out of IKE_AUTH) */
    if (ike_proposal_offers(sa, p, IKE_XF_DH, IKE_DH_NONE, 0))
        return 0;
    if (e->dh && ike_proposal_offers(sa, p, IKE_XF_DH, e->dh, 0))
        return e->dh;
    for (size_t i = 0; i < set->n_esp; i++)
        if (set->esp[i].dh && ike_proposal_offers(sa, p, IKE_XF_DH, set->esp[i].dh, 0))
            return set->esp[i].dh;
    return e->dh;
}

int ike_proposal_select_esp(const struct iked_settings *set, const struct ike_sa_pl *peer,
                            struct ike_proposal_choice *out)
{
    if (!set || !peer || !out)
        return -1;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < set->n_esp; i++) {
        const struct iked_esp_proposal *e = &set->esp[i];
        for (unsigned j = 0; j < peer->n_prop && j < IKE_MAX_PROPOSALS; j++) {
            const struct ike_proposal *p = &peer->prop[j];
            if (!ike_proposal_esp_ok(peer, p, e))
                continue;
            out->num = p->num;
            out->esp = *e;
            out->esp.dh = ike_proposal_peer_pfs(set, peer, p, e);
            out->suite.encr = e->encr;
            out->suite.encr_keybits = e->encr_keybits;
            out->suite.integ = e->integ;
            out->peer_spi = (uint32_t)p->spi[0] << 24 | (uint32_t)p->spi[1] << 16 |
                            (uint32_t)p->spi[2] << 8 | p->spi[3];
            return 0;
        }
    }
    return -1;
}

/* Our proposal's group against the peer's: with a group, the peer must
 * offer it; without, the peer offers none or NONE among its groups. */
static bool ike_proposal_dh_ok(const struct ike_sa_pl *sa, const struct ike_proposal *p,
                               uint16_t dh)
{
    unsigned types;
    if (!ike_proposal_types(sa, p, &types))
        return false;
    if (dh)
        return ike_proposal_offers(sa, p, IKE_XF_DH, dh, 0);
    return !(types & (1u << IKE_XF_DH)) || ike_proposal_offers(sa, p, IKE_XF_DH, IKE_DH_NONE, 0);
}

int ike_proposal_select_esp_pfs(const struct iked_settings *set, const struct ike_sa_pl *peer,
                                uint16_t peer_ke_group, struct ike_proposal_choice *out,
                                uint16_t *want_group)
{
    if (want_group)
        *want_group = 0;
    if (!set || !peer || !out)
        return -1;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < set->n_esp; i++) {
        const struct iked_esp_proposal *e = &set->esp[i];
        /* PFS needs the peer's KE; without a KE only proposals without a
         * group can be taken. */
        if (e->dh && !peer_ke_group)
            continue;
        for (unsigned j = 0; j < peer->n_prop && j < IKE_MAX_PROPOSALS; j++) {
            const struct ike_proposal *p = &peer->prop[j];
            if (!ike_proposal_esp_ok(peer, p, e) || !ike_proposal_dh_ok(peer, p, e->dh))
                continue;
            out->num = p->num;
            out->esp = *e;
            out->pfs_group = e->dh;
            out->suite.encr = e->encr;
            out->suite.encr_keybits = e->encr_keybits;
            out->suite.integ = e->integ;
            out->suite.dh = e->dh;
            out->peer_spi = (uint32_t)p->spi[0] << 24 | (uint32_t)p->spi[1] << 16 |
                            (uint32_t)p->spi[2] << 8 | p->spi[3];
            if (want_group && e->dh && peer_ke_group != e->dh)
                *want_group = e->dh;
            return 0;
        }
    }
    return -1;
}

enum ike_err ike_proposal_write_ike(struct ike_wr *w, const struct ike_proposal_choice *c)
{
    return ike_proposal_write_ike_spi(w, c, NULL);
}

enum ike_err ike_proposal_write_ike_spi(struct ike_wr *w, const struct ike_proposal_choice *c,
                                        const uint8_t *spi)
{
    const ike_suite *s = &c->suite;
    /* The writer's errors are sticky: the last call reports the first. */
    ike_wr_sa_begin(w);
    ike_wr_proposal_begin(w, c->num, IKE_PROTO_IKE, spi, spi ? 8 : 0);
    ike_wr_transform(w, IKE_XF_ENCR, s->encr, s->encr_keybits);
    ike_wr_transform(w, IKE_XF_PRF, s->prf, 0);
    if (s->integ != IKE_INTEG_NONE)
        ike_wr_transform(w, IKE_XF_INTEG, s->integ, 0);
    ike_wr_transform(w, IKE_XF_DH, s->dh, 0);
    ike_wr_proposal_end(w);
    return ike_wr_sa_end(w);
}

enum ike_err ike_proposal_write_esp(struct ike_wr *w, const struct ike_proposal_choice *c,
                                    uint32_t our_spi)
{
    const struct iked_esp_proposal *e = &c->esp;
    uint8_t spi[4] = {(uint8_t)(our_spi >> 24), (uint8_t)(our_spi >> 16), (uint8_t)(our_spi >> 8),
                      (uint8_t)our_spi};
    ike_wr_sa_begin(w);
    ike_wr_proposal_begin(w, c->num, IKE_PROTO_ESP, spi, sizeof(spi));
    ike_wr_transform(w, IKE_XF_ENCR, e->encr, e->encr_keybits);
    if (e->integ != IKE_INTEG_NONE)
        ike_wr_transform(w, IKE_XF_INTEG, e->integ, 0);
    if (c->pfs_group)
        ike_wr_transform(w, IKE_XF_DH, c->pfs_group, 0);
    ike_wr_transform(w, IKE_XF_ESN, e->esn ? IKE_ESN_YES : IKE_ESN_NO, 0);
    ike_wr_proposal_end(w);
    return ike_wr_sa_end(w);
}
