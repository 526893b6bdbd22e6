/* External-CA mode: certificates issued by another CA (the external_ca
 * bundle) registered for pre-enrolled devices. Authorize treats them like
 * mgate's own, by fingerprint. */
#ifndef MGATE_POLICYD_EXTCA_H
#define MGATE_POLICYD_EXTCA_H

#include <stdint.h>

#include "enroll.h"
#include "policyd.h"

/* Loads [policyd] external_ca when set (0 when unset); -1 logged. */
int extca_load(struct policyd *p);
void extca_free(struct policyd *p);

/* Verifies the certificate against the bundle (chain, validity, TLS client
 * purpose), checks its key type, and enrolls the pre-enrolled device with
 * it. Refusals are audited. */
int extca_register(struct policyd *p, uint32_t uid, const Mgate__RegisterCertRequest *rq,
                   struct enroll_result *out, struct enroll_err *e);

#endif
