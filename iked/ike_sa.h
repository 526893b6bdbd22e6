/* The state of one IKE SA and its CHILD SA, as the responder keeps it.
 *
 * Ownership: the daemon's SA table (iked_sa_table) owns every ike_sa; a
 * worker thread may use one only while sa->busy is set by the loop thread,
 * which then touches nothing in it until the worker is done. Buffers inside
 * are owned by the SA and freed (secrets wiped) by ike_sa_free. */
#ifndef MGATE_IKE_SA_H
#define MGATE_IKE_SA_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ike_keys.h"
#include "ike_proposal.h"

enum ike_sa_state {
    IKE_SA_HALF_OPEN,  /* IKE_SA_INIT answered, waiting for IKE_AUTH */
    IKE_SA_INSTALLING, /* IKE_AUTH done, CHILD SA going into the kernel */
    IKE_SA_ESTABLISHED,
    IKE_SA_DELETING,
    /* Replaced by a rekeyed IKE SA (RFC 7296 §2.18), which took its CHILD
     * SAs, lease and identity: kept only for the DELETE that ends it. */
    IKE_SA_REKEYED,
};

#define IKE_CHILD_MAX_TS IKED_MAX_SUBNETS

/* A traffic selector range as the kernel wants it: address/prefix. */
struct ike_child_ts {
    int family;
    uint8_t addr[16];
    uint8_t plen;
    uint8_t proto; /* 0 = any */
    uint16_t port; /* 0 = any */
};

struct child_sa {
    uint32_t spi_in;  /* ours: the peer sends ESP to it (host order) */
    uint32_t spi_out; /* the peer's */
    uint32_t reqid;   /* set by the daemon (xfrmd's owned range) */
    struct iked_esp_proposal esp;
    /* Keying material in the order the kernel wants it, wiped after install:
     * encryption key (with the 4-byte salt for GCM), then integrity key. */
    uint8_t enc_key_in[36], enc_key_out[36];
    uint8_t integ_key_in[64], integ_key_out[64];
    uint8_t enc_key_len, integ_key_len;
    /* Narrowed selectors: local = corporate side, remote = the device. */
    struct ike_child_ts ts_local[IKE_CHILD_MAX_TS];
    size_t n_ts_local;
    struct ike_child_ts ts_remote;
    bool installed;
    /* When its SAs went into the kernel (the loop's clock): a soft expire
     * the kernel sent while iked or xfrmd was down is caught up from it. */
    uint64_t installed_ms;
};

struct ike_sa {
    uint64_t spi_i, spi_r; /* network byte order, as on the wire */
    /* We are this IKE SA's original initiator: the gateway rekeyed it
     * (RFC 7296 §2.18). Our messages carry the Initiator flag and SK_ei/
     * SK_ai; our SPI is spi_i. Every SA made by IKE_SA_INIT has it false. */
    bool we_initiator;
    enum ike_sa_state state;
    struct sockaddr_storage local, remote; /* current addresses and ports */
    bool natt;                             /* a NAT between us: IKE on 4500, ESP in UDP */
    ike_suite suite;
    ike_sa_keys keys;
    uint32_t next_msgid; /* the next request id we accept from the peer */
    /* The last response, resent as is for a retransmitted request. */
    uint32_t last_msgid;
    uint8_t *last_resp;
    size_t last_resp_len;
    /* Kept from IKE_SA_INIT for the AUTH octets; freed once authenticated.
     * The four point into auth_block, one allocation (ike_sa_drop_auth_material
     * frees it; never free them one by one). */
    uint8_t *init_req, *init_resp;
    size_t init_req_len, init_resp_len;
    uint8_t *ni, *nr;
    size_t ni_len, nr_len;
    uint8_t *auth_block;
    uint32_t peer_hash_mask; /* SIGNATURE_HASH_ALGORITHMS the peer supports */
    bool peer_fragmentation, peer_mobike;
    /* INITIAL_CONTACT in IKE_AUTH: the device forgot its earlier SAs, so
     * the daemon may end every other SA of the same identity. */
    bool peer_initial_contact;
    /* Who the device is (from its verified certificate). */
    char *peer_subject;
    char peer_serial[64];
    uint8_t peer_fpr[32];
    struct in_addr vip; /* network order; 0 when none */
    struct child_sa *child;
    uint64_t created_ms, established_ms, last_rx_ms;
    uint32_t our_next_msgid; /* for requests we send (DELETE, liveness) */
    /* Dead peer detection (iked_dpd.c): when the outstanding liveness
     * check was first sent (0: none) and how often it was sent. */
    uint64_t dpd_sent_ms;
    uint8_t dpd_tries;
    bool busy; /* a worker thread holds it */
    /* Ended while a worker held it: the daemon finishes the job when the
     * worker returns (the loop never touches a busy SA's contents). */
    bool destroy_pending;
    bool destroy_notify;
    /* Replaced by a newer SA of the same device, which holds the lease now. */
    bool lease_moved;
    /* In the daemon's identity index (iked_sa_table). */
    bool id_indexed;
    /* RFC 7383 (ike_frag.h): the largest IKE message of ours before it is
     * sent in fragments (0: never), the request being reassembled (held
     * like the rest of the SA), and fragments that arrived while a worker
     * held the SA (the loop's only). */
    uint16_t frag_max;
    struct ike_frag_set *frag_rx;
    struct ike_frag_wait *frag_wait;
    /* authorization = policyd: the held request, the grant in force
     * (ike_grant.h; NULL with ca-only). */
    struct ike_authz *authz;
    /* Mobility (ike_exch_mobike.c, iked_mobility.c): NAT detection per
     * side (RFC 7296 §2.23), MOBIKE in use (RFC 4555), a move of the SAs
     * the exchange asks for (to sa->move, NAT state move_*),
     * the return routability check (COOKIE2 in rr_cookie2, message ID
     * rr_msgid), and when the last NAT keepalive went out. */
    bool peer_behind_nat, self_behind_nat;
    bool mobike;
    bool move_wanted, move_rr_needed, move_peer_nat, move_self_nat;
    bool rr_pending, rr_ok;
    uint8_t rr_tries;
    uint8_t rr_cookie2[16];
    uint32_t rr_msgid;
    uint64_t rr_sent_ms, nat_ka_ms;
    /* Where a move goes: allocated at the first move of the tunnel
     * (ike_sa_move_to), since most devices never move and two addresses
     * would cost a quarter of the per-tunnel budget. */
    struct ike_sa_path *move;
    /* Rekeying (RFC 7296 §2.8; ike_exch_rekey_*.c, iked_rekey.c). */
    /* The CHILD SA that child replaced: its kernel SAs stay until the
     * DELETE exchange for it, so packets still in flight on it arrive. */
    struct child_sa *child_old;
    /* We answered a CHILD rekey: outbound still uses child_old's SA
     * until the peer's DELETE of it (the peer installs the new inbound SA
     * only once it has read our response). */
    bool child_out_pending;
    uint64_t child_rekeyed_ms; /* when that rekey was answered */
    /* A simultaneous CHILD rekey (§2.8.1): the SA both rekeys created
     * that is to go, deleted by the peer, which created it. */
    struct child_sa *child_redundant;
    /* The lowest nonce of the peer's CHILD rekey answered while ours was
     * outstanding (its first 32 octets; len 0: no collision). */
    uint8_t collision_nonce[32];
    uint8_t collision_nonce_len;
    /* The gateway rekeys sa->child once it can (the kernel's soft expire
     * came; 0: nothing to do) after child_rekey_after_ms. */
    uint32_t child_rekey_spi;
    uint64_t child_rekey_after_ms;
    /* Our CHILD rekey was refused with NO_PROPOSAL_CHOSEN and retried
     * with PFS the other way (IKE_AUTH does not say whether the peer
     * wants it). */
    bool child_rekey_pfs_flipped;
    /* When this SA became IKE_SA_REKEYED (its successor's DELETE for it
     * is awaited until a grace period has passed), and our SPI of that
     * successor (a simultaneous IKE SA rekey needs to find it). */
    uint64_t rekeyed_ms;
    uint64_t rekeyed_to;
    /* Our own outstanding request (iked_rekey.c): which one, its message
     * ID, first send and tries (retransmitted with back-off). */
    uint8_t req_kind; /* IKE_SA_REQ_* */
    uint8_t req_tries;
    uint32_t req_msgid;
    uint64_t req_sent_ms;
    /* When the gateway rekeys this IKE SA (lifetime less margin and
     * jitter, from establishment); 0: not scheduled. */
    uint64_t ike_rekey_due_ms;
};

/* What our outstanding request is (req_kind). */
enum ike_sa_req {
    IKE_SA_REQ_NONE,
    IKE_SA_REQ_CHILD_REKEY,  /* CREATE_CHILD_SA rekeying sa->child */
    IKE_SA_REQ_CHILD_DELETE, /* INFORMATIONAL deleting sa->child_old */
    IKE_SA_REQ_IKE_REKEY,    /* CREATE_CHILD_SA rekeying this IKE SA */
    IKE_SA_REQ_IKE_DELETE,   /* INFORMATIONAL deleting this (rekeyed) IKE SA */
};

/* Our SPI of the SA (the one the peer's messages are found by). */
static inline uint64_t ike_sa_our_spi(const struct ike_sa *sa)
{
    return sa->we_initiator ? sa->spi_i : sa->spi_r;
}

/* The addresses a tunnel moves to (MOBIKE, a NAT's new mapping). */
struct ike_sa_path {
    struct sockaddr_storage local, remote;
};

struct ike_sa *ike_sa_new(void);
/* Sets the move target (sa->move, allocated if needed). 0, or -1 when out
 * of memory (the move is not made). */
int ike_sa_move_to(struct ike_sa *sa, const struct sockaddr_storage *local,
                   const struct sockaddr_storage *remote);
/* Drops what only IKE_AUTH needed (init messages, nonces, SK_p keys). */
void ike_sa_drop_auth_material(struct ike_sa *sa);
void ike_sa_free(struct ike_sa *sa);
/* "203.0.113.7[4500] CN=device-1" for log lines. */
const char *ike_sa_describe(const struct ike_sa *sa, char *buf, size_t len);

#endif
