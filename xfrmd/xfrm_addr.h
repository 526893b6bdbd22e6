/* Address and selector helpers: text conversion, comparison, and the
 * validation every SA and policy selector passes before it is sent. */
#ifndef MGATE_XFRM_ADDR_H
#define MGATE_XFRM_ADDR_H

#include <stddef.h>

#include "xfrm_err.h"
#include "xfrm_types.h"

/* Longest text xfrm_addr_format writes, with its NUL. */
#define XFRM_ADDR_STRLEN 46

/* Parses a numeric IPv4 or IPv6 address. 0 or -EINVAL. */
int xfrm_addr_parse(struct xfrm_addr *a, const char *text);
/* Writes the address as text ("-" for AF_UNSPEC) and returns buf. */
const char *xfrm_addr_format(const struct xfrm_addr *a, char *buf, size_t len);
bool xfrm_addr_equal(const struct xfrm_addr *a, const struct xfrm_addr *b);
bool xfrm_addr_is_zero(const struct xfrm_addr *a);
/* Address length in bits for the family (32, 128), 0 for anything else. */
unsigned xfrm_addr_bits(uint16_t family);

/* Fills sel for "src/src_plen -> dst/dst_plen", all protocols and ports, from
 * two address strings such as "10.0.0.0/24". 0 or -EINVAL with a message. */
int xfrm_sel_parse(struct xfrm_sel *sel, const char *src, const char *dst, struct xfrm_err *err);

/* Checks a selector: families known and equal, prefix lengths in range, no
 * address bits beyond the prefix, ports only with a protocol that has them.
 * allow_any lets AF_UNSPEC stand for "any inner family" (SA selectors). */
int xfrm_sel_validate(const struct xfrm_sel *sel, bool allow_any, struct xfrm_err *err);

/* Writes "10.0.0.0/24 -> 10.1.0.0/16 proto 17 dport 53" and returns buf. */
const char *xfrm_sel_format(const struct xfrm_sel *sel, char *buf, size_t len);

#endif
