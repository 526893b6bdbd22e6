/* Helpers shared by the xfrm library tests: SA and policy builders with
 * deterministic test keys, owned reqids and priorities. */
#ifndef MGATE_TEST_XFRM_COMMON_H
#define MGATE_TEST_XFRM_COMMON_H

#include <stdint.h>

#include "xfrm_addr.h"
#include "xfrm_owner.h"
#include "xfrm_policy.h"
#include "xfrm_sa.h"

/* Fills key[0..len) from a seed: both ends of a test tunnel derive the same
 * key from the SPI without keys on any command line. */
void tx_key(uint8_t *key, size_t len, uint32_t seed);

/* An owned ESP tunnel SA src -> dst with the algorithm's keys filled in,
 * and an any-family selector. Aborts the test on bad addresses. */
void tx_sa(struct xfrm_sa *sa, const char *src, const char *dst, uint32_t spi, uint32_t reqid,
           enum xfrm_enc_alg enc, enum xfrm_integ_alg integ);

/* An owned tunnel policy for src_net -> dst_net through tsrc -> tdst. */
void tx_policy(struct xfrm_policy *pol, const char *src_net, const char *dst_net, enum xfrm_dir dir,
               const char *tsrc, const char *tdst, uint32_t reqid);

void tx_policy_id(struct xfrm_policy_id *id, const struct xfrm_policy *pol);

#endif
