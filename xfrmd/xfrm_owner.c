#include "xfrm_owner.h"

bool xfrm_owner_reqid_is_ours(uint32_t reqid)
{
    return reqid >= XFRM_OWNER_REQID_MIN && reqid <= XFRM_OWNER_REQID_MAX;
}

bool xfrm_owner_priority_is_ours(uint32_t priority)
{
    return priority >= XFRM_OWNER_PRIO_MIN && priority <= XFRM_OWNER_PRIO_MAX;
}

uint32_t xfrm_owner_policy_priority(const struct xfrm_sel *sel)
{
    /* Prefix lengths add up to at most 256 (two IPv6 /128), so the
     * specificity term stays below 257 * 16 and the result well inside the
     * 64 Ki band; the low bits leave room for protocol and ports. */
    uint32_t plen = (uint32_t)sel->src_plen + (uint32_t)sel->dst_plen;
    uint32_t prio;

    if (plen > 256)
        plen = 256;
    prio = XFRM_OWNER_PRIO_MIN + 0x100u + (256u - plen) * 16u;

    if (!sel->proto)
        prio += 8;
    if (!sel->sport)
        prio += 2;
    if (!sel->dport)
        prio += 2;
    return prio;
}
