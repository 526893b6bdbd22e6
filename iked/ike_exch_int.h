/* Private to the responder's exchanges (ike_exch_*.c): protected message
 * building and opening, NAT detection hashes, traffic selector narrowing
 * and the configuration payload. Not for the daemon. */
#ifndef MGATE_IKE_EXCH_INT_H
#define MGATE_IKE_EXCH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike_exchange.h"
#include "ike_msg_wr.h"
#include "ike_payload.h"
#include "ike_payload_wr.h"

/* The largest IKE message built or decrypted (UDP's bound). */
#define EXCH_MAX_MSG 65535u

/* NAT_DETECTION_*_IP data: SHA-1 (RFC 7296 §2.23). */
#define EXCH_NATD_LEN 20u

/* ---- ike_exch_util.c ---- */

/* "203.0.113.7[4500]" */
const char *exch_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);

/* SHA-1(SPIi | SPIr | IP | port) of an address, as both NAT_DETECTION
 * notifies carry it. -1 for an address family other than IPv4/IPv6. */
int exch_natd_hash(const uint8_t spi_i[IKE_SPI_LEN], const uint8_t spi_r[IKE_SPI_LEN],
                   const struct sockaddr_storage *ss, uint8_t out[EXCH_NATD_LEN]);

/* A writer on this thread's message buffer (EXCH_MAX_MSG octets), valid
 * until the next exch_wr_init / exch_sk_open / exch_plain_notify. */
void exch_wr_init(struct ike_wr *w);

/* An unprotected answer to an IKE_SA_INIT request (or one that failed to
 * parse): its SPIi, SPIr zero, one Notify. 0, or -1 (logged). */
int exch_plain_notify(const struct ike_hdr *req, uint16_t type, const void *data, size_t len,
                      struct ike_tx *tx);

/* Outcome of opening the SK payload of a request. */
enum exch_open {
    EXCH_OPEN_OK,
    EXCH_OPEN_DROP,   /* not authentic (or not decryptable): drop, logged */
    EXCH_OPEN_NOTIFY, /* authentic but malformed: answer *notify (logged) */
};

/* Verifies and decrypts m's SK payload (request or response: the peer
 * always uses the original initiator's keys) into a
 * thread-local buffer and parses and validates the inner chain into
 * *inner (whose payloads point into that buffer, valid until the next call
 * on this thread). On EXCH_OPEN_NOTIFY, *notify and (for
 * UNSUPPORTED_CRITICAL_PAYLOAD) *notify_data are set. */
enum exch_open exch_open_request(struct ike_sa *sa, const struct ike_rx *rx,
                                 const struct ike_msg *m, struct ike_chain *inner, uint16_t *notify,
                                 uint8_t *notify_data);

/* Starts a protected message on sa into a thread-local buffer: the header
 * (our flags: response or not; never the Initiator bit: we are always the
 * original responder) and an open SK payload; add inner payloads with the
 * ike_wr_* builders, then exch_sk_close. */
void exch_sk_open(struct ike_wr *w, const struct ike_sa *sa, uint8_t exchange, uint32_t msgid,
                  bool response);
/* Pads, encrypts with the responder's keys (SK_er/SK_ar) and hands the
 * message over in a malloc'd tx (the only allocation). 0, or -1 (logged). */
int exch_sk_close(struct ike_wr *w, struct ike_sa *sa, struct ike_tx *tx);

/* A whole protected response carrying one Notify (type 0: none, e.g. an
 * empty INFORMATIONAL response). 0 or -1. */
int exch_sk_notify(struct ike_sa *sa, uint8_t exchange, uint32_t msgid, uint16_t type,
                   const void *data, size_t len, struct ike_tx *tx);

/* Records tx as the answer to request msgid (retransmissions get it again)
 * and moves the expected message ID on. -1 when out of memory (the
 * response still goes out, only a retransmission would then be dropped). */
int exch_cache_response(struct ike_sa *sa, uint32_t msgid, const struct ike_tx *tx);

/* "aes-gcm-16-128/prf-hmac-sha2-256/ecp-256" style list of the transforms
 * of every proposal, for the NO_PROPOSAL_CHOSEN log line. */
void exch_describe_proposals(const struct ike_sa_pl *sa, char *buf, size_t len);

/* ---- ike_exch_auth.c ---- */
enum ike_exch_result exch_ike_auth(const struct ike_env *env, struct ike_sa *sa,
                                   const struct ike_rx *rx, const struct ike_msg *m,
                                   struct ike_tx *tx);

/* ---- ike_exch_info.c ---- */
enum ike_exch_result exch_informational(const struct ike_env *env, struct ike_sa *sa,
                                        const struct ike_rx *rx, const struct ike_msg *m,
                                        struct ike_tx *tx);
enum ike_exch_result exch_create_child(const struct ike_env *env, struct ike_sa *sa,
                                       const struct ike_rx *rx, const struct ike_msg *m,
                                       struct ike_tx *tx, struct ike_sa **rekeyed);

/* ---- ike_exch_mobike.c (RFC 4555) ---- */

/* MOBIKE_SUPPORTED into an IKE_AUTH response when the device offered it;
 * sets sa->mobike. */
void exch_mobike_auth_response(struct ike_wr *w, struct ike_sa *sa);
/* The MOBIKE part of an authenticated INFORMATIONAL request (in), whose
 * response w is open: COOKIE2 echoed, NAT detection answered, and for
 * UPDATE_SA_ADDRESSES (ignored without MOBIKE; UNACCEPTABLE_ADDRESSES when
 * NO_NATS_ALLOWED fails) the move the daemon makes: sa->move (addresses),
 * move_peer_nat, move_self_nat and move_wanted, or
 * move_rr_needed for a new address (return routability check first). */
void exch_mobike_informational(struct ike_sa *sa, const struct ike_rx *rx,
                               const struct ike_chain *in, struct ike_wr *w);
/* An authenticated response (in) to our request msgid: sets sa->rr_ok
 * when it answers the pending check with our COOKIE2. */
void exch_mobike_response(struct ike_sa *sa, uint32_t msgid, const struct ike_chain *in);

/* ---- ike_exch_child.c ---- */

/* Attributes of a CFG_REPLY, values held in the struct itself. */
#define EXCH_CP_MAX (3 + IKED_MAX_DNS + IKED_MAX_SUBNETS)
struct exch_cp_reply {
    unsigned n;
    struct ike_cp_attr attr[EXCH_CP_MAX];
    uint8_t val[EXCH_CP_MAX][8];
};

/* Answers a CFG_REQUEST: when it asks for INTERNAL_IP4_ADDRESS, leases the
 * device's virtual address (sticky, by identity) into sa->vip and lists
 * what was asked and can be given (netmask, DNS, subnets). Returns 0 (no
 * reply attributes when no IPv4 address was asked for), or
 * INTERNAL_ADDRESS_FAILURE with why (pool exhausted or failing): the IKE
 * SA is established either way, without a CHILD SA. */
uint16_t exch_cp_answer(const struct ike_env *env, struct ike_sa *sa, const struct ike_cp *req,
                        struct exch_cp_reply *out, char *why, size_t why_len);

/* Narrows the device's selectors (RFC 7296 §2.9): TSi to its virtual
 * address, TSr to the configured subnets within what it asked for. 0 and
 * c->ts_remote / c->ts_local filled, or -1 (TS_UNACCEPTABLE) with *why set. */
int exch_narrow_ts(const struct iked_settings *set, struct in_addr vip,
                   const struct ike_ts_set *tsi, const struct ike_ts_set *tsr, struct child_sa *c,
                   const char **why);

/* ---- ike_exch_authz.c (authorization = policyd) ---- */

/* Holds the authenticated IKE_AUTH request (its decrypted chain in) in
 * sa->authz for the daemon to ask policyd: IKE_EXCH_AUTHORIZE, or
 * IKE_EXCH_DROP when out of memory (logged). */
enum ike_exch_result exch_authz_hold(struct ike_sa *sa, const struct ike_chain *in, uint32_t msgid);
/* The held request parsed again into in (valid while it is held). 0 or -1. */
int exch_authz_reopen(struct ike_sa *sa, struct ike_chain *in);
/* Like exch_narrow_ts, with the grant in sa->authz instead of the
 * configured subnets; keeps the device's TSr in sa->authz. */
int exch_authz_narrow(struct ike_sa *sa, const struct ike_ts_set *tsi, const struct ike_ts_set *tsr,
                      struct child_sa *c, const char **why);
/* The CFG_REPLY with the grant's DNS servers and IPv4 subnets instead of
 * the configured ones (each only when the device asked for that kind). */
void exch_authz_cp(const struct ike_sa *sa, const struct ike_cp *req, struct exch_cp_reply *cp);

/* TSi and TSr payloads of a response from the narrowed selectors. */
enum ike_err exch_write_ts(struct ike_wr *w, const struct child_sa *c);
/* The same for either role in a CREATE_CHILD_SA: with we_initiate, TSi
 * is our side (the corporate subnets), TSr the device. */
enum ike_err exch_write_ts_as(struct ike_wr *w, const struct child_sa *c, bool we_initiate);

/* CHILD SA keys (no PFS) from the IKE SA's SK_d and its nonces into c, in
 * the kernel's order. 0 or -1. */
int exch_child_keys(const struct ike_sa *sa, struct child_sa *c);

/* A random SPI >= 0x100 (0..255 are reserved by IANA, RFC 4303 §2.1). */
uint32_t exch_random_esp_spi(void);

/* ---- ike_exch_rekey_child.c ---- */

/* The largest KE data (MODP 4096) and shared secret. */
#define EXCH_MAX_KE 512u

/* A CREATE_CHILD_SA request's payloads (RFC 7296 §1.3). */
struct exch_ccs_req {
    bool has_sa, has_ni, has_ke, has_tsi, has_tsr, has_rekey;
    struct ike_sa_pl sapl;
    struct ike_span ni;
    struct ike_ke ke;
    struct ike_ts_set tsi, tsr;
    struct ike_notify rekey; /* N(REKEY_SA) */
};
/* 0, or the notify to refuse with (*why set). SA and Nonce are required. */
uint16_t exch_ccs_parse(const struct ike_chain *in, struct exch_ccs_req *r, const char **why);

/* Our key pair of group, its public value into pub (EXCH_MAX_KE octets)
 * and g^ir with the peer's ke into gir. 0, or -1 for a peer value the
 * group refuses. */
int exch_rekey_dh(uint16_t group, const struct ike_ke *ke, uint8_t *pub, size_t *pub_len,
                  uint8_t *gir, size_t gir_cap, size_t *gir_len);

/* KEYMAT of a rekeyed CHILD SA from SK_d, [gir,] ni, nr (the exchange's:
 * ni is always the exchange initiator's) into c; we_initiated says which
 * half is inbound. 0 or -1 (logged). */
int exch_rekey_child_keys(const struct ike_sa *sa, struct child_sa *c, const ike_span *gir,
                          const ike_span *ni, const ike_span *nr, bool we_initiated);

/* A rekey collision answered as the responder (RFC 7296 §2.8.1): keeps the
 * lowest of the peer's nonce ni and ours (nr) in sa->collision_nonce for
 * deciding which redundant SA goes; no collision clears it. */
void exch_rekey_keep_low_nonce(struct ike_sa *sa, bool collision, const ike_span *ni,
                               const uint8_t *nr, size_t nr_len);

enum ike_exch_result exch_rekey_child(const struct ike_env *env, struct ike_sa *sa,
                                      const struct ike_rx *rx, const struct ike_msg *m,
                                      const struct exch_ccs_req *r, struct ike_tx *tx);

/* ---- ike_exch_rekey_ike.c ---- */
/* What the new IKE SA nsa takes over from old (the CHILD SAs moved, the
 * identity copied, addresses from rx). 0, or -1 (out of memory). */
int exch_rekey_ike_inherit(struct ike_sa *nsa, struct ike_sa *old, const struct ike_rx *rx);
/* rekeyed NULL: refused with NO_ADDITIONAL_SAS. */
enum ike_exch_result exch_rekey_ike(const struct ike_env *env, struct ike_sa *sa,
                                    const struct ike_rx *rx, const struct ike_msg *m,
                                    const struct exch_ccs_req *r, struct ike_tx *tx,
                                    struct ike_sa **rekeyed);

#endif
