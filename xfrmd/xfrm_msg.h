/* Wire codec between the library's plain structs and XFRM netlink messages.
 * Internal to the library. Encoders write one whole message into a buffer of
 * at least XFRM_MSG_MAX_LEN bytes and cannot fail: their input has passed
 * validation. Decoders check every length before reading. */
#ifndef MGATE_XFRM_MSG_H
#define MGATE_XFRM_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Before linux/xfrm.h: glibc's in.h and linux/in6.h only coexist in this order. */
#include <netinet/in.h>

#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include "xfrm_err.h"
#include "xfrm_policy.h"
#include "xfrm_sa.h"

/* Larger than any message an encoder writes (checked at compile time). */
#define XFRM_MSG_MAX_LEN 2048u

/* Attribute table indexed by XFRMA_*, filled by xfrm_msg_attrs. */
typedef const struct nlattr *xfrm_msg_tb[XFRMA_MAX + 1];

void xfrm_msg_addr_to_kernel(const struct xfrm_addr *a, xfrm_address_t *k);
void xfrm_msg_addr_from_kernel(uint16_t family, const xfrm_address_t *k, struct xfrm_addr *a);
void xfrm_msg_sel_to_kernel(const struct xfrm_sel *s, struct xfrm_selector *k);
void xfrm_msg_sel_from_kernel(const struct xfrm_selector *k, struct xfrm_sel *s);
void xfrm_msg_lft_to_kernel(const struct xfrm_lifetime *l, struct xfrm_lifetime_cfg *k);
void xfrm_msg_lft_from_kernel(const struct xfrm_lifetime_cfg *k, struct xfrm_lifetime *l);
void xfrm_msg_cur_from_kernel(const struct xfrm_lifetime_cur *k, struct xfrm_counters *c);

/* Reserves an attribute of len zeroed bytes at the message tail. */
void *xfrm_msg_put_attr(struct nlmsghdr *nlh, uint16_t type, size_t len);
/* Puts XFRMA_MARK and XFRMA_IF_ID when set. */
void xfrm_msg_put_mark_ifid(struct nlmsghdr *nlh, const struct xfrm_markspec *mark, uint32_t if_id);

/* Parses the attributes that follow a fixed header of hdrlen bytes. */
int xfrm_msg_attrs(const struct nlmsghdr *nlh, size_t hdrlen, xfrm_msg_tb tb, struct xfrm_err *err);
/* Payload of attribute type if present and at least min bytes long. */
const void *xfrm_msg_attr(const xfrm_msg_tb tb, int type, size_t min);
/* Copies the fixed header of a message into dst (payloads are only 4-byte
 * aligned and the headers hold 64-bit counters); false when too short. */
bool xfrm_msg_header(const struct nlmsghdr *nlh, void *dst, size_t len);
/* Same for a struct carried in an attribute. */
bool xfrm_msg_attr_copy(const xfrm_msg_tb tb, int type, void *dst, size_t len);

/* --- SAs (xfrm_msg_sa.c) --- */
struct nlmsghdr *xfrm_msg_sa(void *buf, uint16_t type, const struct xfrm_sa *sa);
struct nlmsghdr *xfrm_msg_sa_id(void *buf, uint16_t type, const struct xfrm_sa_id *id);
struct nlmsghdr *xfrm_msg_allocspi(void *buf, const struct xfrm_spi_req *req);
struct nlmsghdr *xfrm_msg_sa_dump(void *buf);
/* Fills out from a kernel SA and the attributes that came with it. */
int xfrm_msg_sa_info(const struct xfrm_usersa_info *p, const xfrm_msg_tb tb,
                     struct xfrm_sa_info *out, struct xfrm_err *err);
/* A NEWSA/UPDSA message (reply, dump entry or notification). */
int xfrm_msg_sa_parse(const struct nlmsghdr *nlh, struct xfrm_sa_info *out, struct xfrm_err *err);

/* --- Policies (xfrm_msg_policy.c) --- */
struct nlmsghdr *xfrm_msg_policy(void *buf, uint16_t type, const struct xfrm_policy *pol);
/* index != 0 addresses the policy by the kernel's index instead of selector. */
struct nlmsghdr *xfrm_msg_policy_id(void *buf, uint16_t type, const struct xfrm_policy_id *id,
                                    uint32_t index);
struct nlmsghdr *xfrm_msg_policy_dump(void *buf);
int xfrm_msg_policy_info(const struct xfrm_userpolicy_info *p, const xfrm_msg_tb tb,
                         struct xfrm_policy_info *out, struct xfrm_err *err);
int xfrm_msg_policy_parse(const struct nlmsghdr *nlh, struct xfrm_policy_info *out,
                          struct xfrm_err *err);
/* Templates from an XFRMA_TMPL attribute into info (count, truncation). */
void xfrm_msg_tmpl_from_kernel(const struct nlattr *attr, struct xfrm_policy_info *info);

#endif
