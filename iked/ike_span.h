/* A counted, read-only view into someone else's buffer: what the codec hands
 * out (payload bodies pointing into a datagram) and what the crypto layer
 * takes (pieces of a prf input, associated data). One definition for both. */
#ifndef MGATE_IKE_SPAN_H
#define MGATE_IKE_SPAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct ike_span {
    const uint8_t *ptr;
    size_t len;
} ike_span;

#endif
