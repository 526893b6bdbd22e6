/* Private to the codec: big-endian field access and error reporting shared
 * by the parser and builder files. Not for use outside ike_msg*.c and
 * ike_payload*.c. */
#ifndef MGATE_IKE_MSG_INT_H
#define MGATE_IKE_MSG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ike_msg.h"

static inline uint16_t ike_msg_get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t ike_msg_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void ike_msg_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void ike_msg_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Record a failure in *err (which may be NULL) and return `code`. */
enum ike_err ike_msg_fail(struct ike_error *err, enum ike_err code, size_t offset, uint8_t payload,
                          const char *what);

/* Failure inside payload `pl` at `at` octets into its body. */
enum ike_err ike_msg_fail_pl(struct ike_error *err, const struct ike_payload *pl, size_t at,
                             enum ike_err code, const char *what);

#endif
