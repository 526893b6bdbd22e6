/* RFC 7383 IKEv2 message fragmentation, responder side: reassembling a
 * request that came in SKF fragments and cutting a response of ours into
 * them. Protocol and crypto only (no sockets, no event loop): it runs on the
 * worker thread that holds the SA, like the rest of the exchange.
 *
 * Memory: every set of fragments being reassembled belongs to its SA
 * (sa->frag_rx, freed by ike_sa_free) and counts against one process-wide
 * budget shared by the workers. Owner: ike_frag.c. */
#ifndef MGATE_IKE_FRAG_H
#define MGATE_IKE_FRAG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ike_msg.h"

struct ike_sa;
struct ike_tx;

/* What one message may come in: at 576-octet datagrams a 64 KiB message
 * needs about 130 fragments; nothing we accept (certificate chains of a
 * few KiB) needs more than a few dozen. */
#define IKE_FRAG_MAX_FRAGS 128
/* Decrypted octets one SA may hold while reassembling (the largest
 * message the exchanges decrypt). */
#define IKE_FRAG_MAX_BYTES 65535u
/* An incomplete set older than this is dropped; the peer retransmits. */
#define IKE_FRAG_TIMEOUT_MS 30000u
/* The default process-wide budget for sets being reassembled. */
#define IKE_FRAG_BUDGET_DEFAULT (8u * 1024 * 1024)

/* Octets held by every SA's reassembly set, shared by the workers. */
struct ike_frag_budget {
    _Atomic size_t used;
    size_t max;
};

/* One message being reassembled (fragment n at part[n - 1]). */
struct ike_frag_set {
    struct ike_frag_budget *budget;
    uint32_t msgid;
    uint8_t exchange;
    uint8_t first; /* first inner payload type, from fragment 1 */
    uint16_t total;
    uint16_t have;
    size_t bytes; /* decrypted octets held, as charged to the budget */
    uint64_t started_ms;
    uint8_t *part[IKE_FRAG_MAX_FRAGS];
    uint16_t part_len[IKE_FRAG_MAX_FRAGS];
};

enum ike_frag_result {
    IKE_FRAG_KEPT,     /* authentic and stored: more fragments to come */
    IKE_FRAG_COMPLETE, /* the message is whole: ike_frag_take() it */
    IKE_FRAG_DROP,     /* not kept (*why says why; logged by the caller) */
};

/* One SKF request of m (m->sk is SKF) on sa, RFC 7383 §2.6: checks what
 * costs nothing first (fragment number, Total Fragments against the set,
 * duplicates, an older message ID), then the fragment's own integrity with
 * the peer's keys; only an authentic fragment changes the state: a newer
 * message ID or a larger Total Fragments (the peer resent with smaller
 * fragments) discards the set before it, a smaller Total Fragments is
 * dropped, as are duplicates, sets past IKE_FRAG_MAX_FRAGS or
 * IKE_FRAG_MAX_BYTES (the whole set goes) and anything the budget cannot
 * hold. A NULL budget: fragmentation is off, everything is dropped. */
enum ike_frag_result ike_frag_receive(struct ike_frag_budget *budget, struct ike_sa *sa,
                                      const struct ike_msg *m, uint64_t now_ms, const char **why);

/* The reassembled inner payloads of a COMPLETE set into out (cap octets)
 * and the first payload's type; the set is freed. 0, or -1 when there is
 * no complete set or it does not fit. */
int ike_frag_take(struct ike_sa *sa, uint8_t *out, size_t cap, size_t *len, uint8_t *first);

/* Drops sa's set if it is older than timeout_ms; true when one went. */
bool ike_frag_expire(struct ike_sa *sa, uint64_t now_ms, uint64_t timeout_ms);

/* Frees a set, giving its octets back to the budget. NULL is fine. */
void ike_frag_set_free(struct ike_frag_set *set);

/* The largest IKE message (header included) one of our fragments may be,
 * for a datagram of fragment_size octets over family: IP and UDP headers
 * and the NAT-T non-ESP marker taken off (always, since the peer may move
 * us to port 4500 at any time). 0 for fragment_size 0 (never fragment). */
uint16_t ike_frag_max_msg(uint32_t fragment_size, int family);

/* RFC 7383 §2.5: msg (len octets) is a whole protected message of ours
 * whose SK payload holds the plaintext inner payloads at plain (plain_len
 * octets, first payload type `first`); its header and SK header are the
 * first aad_len octets. Writes its fragments, each at most max_msg octets
 * and encrypted on its own with our keys, one after another into a
 * malloc'd tx (each fragment's header says its length: see
 * ike_frag_next_msg). 0, or -1 (logged). */
int ike_frag_split(struct ike_sa *sa, const uint8_t *msg, size_t aad_len, uint8_t first,
                   const uint8_t *plain, size_t plain_len, size_t max_msg, struct ike_tx *tx);

/* Length of the first IKE message in buf (len octets), which may hold
 * several back to back (a fragment set from ike_frag_split): its header's
 * Length when that fits, else len. */
size_t ike_frag_next_msg(const uint8_t *buf, size_t len);

/* Fragments that arrive while a worker holds their SA wait on the loop
 * (sa->frag_wait) and go to the next worker one at a time; they count
 * against the same budget, at most IKE_FRAG_MAX_FRAGS per SA. */
struct ike_frag_pending {
    struct ike_frag_pending *next;
    struct sockaddr_storage local, remote;
    bool natt_port;
    size_t len;
    uint8_t buf[];
};

struct ike_frag_wait {
    struct ike_frag_budget *budget;
    struct ike_frag_pending *head, *tail;
    size_t n, bytes;
};

/* Appends a copy of buf; 0, or -1 when the SA's queue or the budget is
 * full (or out of memory). */
int ike_frag_wait_push(struct ike_frag_wait **q, struct ike_frag_budget *budget, const uint8_t *buf,
                       size_t len, const struct sockaddr_storage *local,
                       const struct sockaddr_storage *remote, bool natt_port);
/* The oldest one (the caller free()s it), or NULL. */
struct ike_frag_pending *ike_frag_wait_pop(struct ike_frag_wait *q);
void ike_frag_wait_free(struct ike_frag_wait *q);

/* Cheap look at a datagram (no crypto): true when its first payload is SKF
 * with a readable Fragment Number (*num, may be NULL). */
bool ike_frag_peek(const uint8_t *buf, size_t len, uint16_t *num);

#endif
