/* ESP tunnel-mode SAs: SPI allocation, add, update, delete, get and dump.
 *
 * Keys live in struct xfrm_sa, owned by the caller, who wipes it with
 * xfrm_sa_wipe() once the SA is installed. The library copies a key only into
 * the netlink send buffer and wipes that after sending; dumps and gets never
 * return key material (the kernel's copy is wiped from the receive buffer). */
#ifndef MGATE_XFRM_SA_H
#define MGATE_XFRM_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xfrm_alg.h"
#include "xfrm_err.h"
#include "xfrm_nl.h"
#include "xfrm_types.h"

/* Largest anti-replay window the kernel takes (bits of its bitmap). */
#define XFRM_REPLAY_WINDOW_MAX 4096u
/* SPIs 1..255 are reserved by RFC 4303. */
#define XFRM_SPI_MIN 0x100u

/* UDP encapsulation (NAT-T, RFC 3948), ports in host order. */
struct xfrm_encap {
    uint16_t sport;
    uint16_t dport;
};

/* What to install. Protocol is always ESP and mode always tunnel. */
struct xfrm_sa {
    struct xfrm_addr src; /* outer addresses */
    struct xfrm_addr dst;
    uint32_t spi;        /* host order, >= XFRM_SPI_MIN */
    uint32_t reqid;      /* inside the ownership range (xfrm_owner.h) */
    struct xfrm_sel sel; /* inner traffic; AF_UNSPEC = any inner family */
    enum xfrm_enc_alg enc;
    uint8_t enc_key[XFRM_KEY_MAX];
    size_t enc_key_len;
    enum xfrm_integ_alg integ; /* XFRM_INTEG_NONE with AEAD */
    uint8_t integ_key[XFRM_KEY_MAX];
    size_t integ_key_len;
    bool esn;               /* 64-bit sequence numbers, needs replay_window >= 1 */
    uint32_t replay_window; /* packets, 0..XFRM_REPLAY_WINDOW_MAX */
    struct xfrm_lifetime lft;
    bool encap; /* UDP_ENCAP_ESPINUDP with encap_ports */
    struct xfrm_encap encap_ports;
    struct xfrm_markspec mark;
    uint32_t if_id; /* XFRM interface id, 0 = none */
};

/* Identity of an SA in the kernel (ESP assumed). */
struct xfrm_sa_id {
    struct xfrm_addr dst;
    uint32_t spi;
    struct xfrm_markspec mark;
};

/* ALLOCSPI request: the kernel reserves an unused SPI in [min, max] with a
 * larval SA (src, dst, reqid) that a later xfrm_sa_update() completes; the
 * larval SA dies after net.core.xfrm_acq_expires seconds (30 by default).
 * Requests with the same (src, dst, reqid, mark) share one larval SA and so
 * one SPI until it is completed: use one reqid per CHILD SA. */
struct xfrm_spi_req {
    struct xfrm_addr src;
    struct xfrm_addr dst;
    uint32_t reqid;
    uint32_t min;
    uint32_t max;
    struct xfrm_markspec mark;
    uint32_t if_id;
};

struct xfrm_sa_stats {
    uint32_t replay_window; /* packets dropped: outside the window */
    uint32_t replay;        /* packets dropped: replayed */
    uint32_t integrity_failed;
};

/* What the kernel reports about an SA, ours or not. No key material. */
struct xfrm_sa_info {
    struct xfrm_addr src;
    struct xfrm_addr dst;
    uint32_t spi;
    uint8_t proto; /* IPPROTO_ESP, or AH/COMP for foreign SAs */
    uint8_t mode;  /* kernel XFRM_MODE_* value (1 = tunnel) */
    uint8_t flags; /* kernel XFRM_STATE_* flags */
    uint32_t reqid;
    struct xfrm_sel sel;
    bool larval;           /* no algorithm yet: ALLOCSPI reservation or acquire */
    enum xfrm_enc_alg enc; /* XFRM_ENC_NONE when not one of ours */
    char enc_name[64];     /* kernel crypto name, "" when none */
    unsigned enc_key_bits;
    unsigned icv_bits; /* AEAD only */
    enum xfrm_integ_alg integ;
    char integ_name[64];
    unsigned integ_key_bits;
    unsigned integ_trunc_bits;
    bool esn;
    uint32_t replay_window;
    uint32_t seq, seq_hi;   /* highest inbound sequence number seen */
    uint32_t oseq, oseq_hi; /* last outbound sequence number sent */
    uint32_t replay_bitmap; /* lowest 32 bits of the window bitmap */
    struct xfrm_lifetime lft;
    struct xfrm_counters cur;
    uint64_t lastused; /* seconds since the epoch, 0 = never */
    struct xfrm_sa_stats stats;
    bool encap;
    uint16_t encap_type;
    struct xfrm_encap encap_ports;
    struct xfrm_markspec mark;
    uint32_t if_id;
    bool ours; /* reqid inside the ownership range */
};

/* Checks everything that can be checked without the kernel: addresses and
 * families, SPI, reqid ownership, algorithm and key lengths, replay window,
 * lifetimes, encapsulation ports, mark, selector. */
int xfrm_sa_validate(const struct xfrm_sa *sa, struct xfrm_err *err);
int xfrm_sa_spi_req_validate(const struct xfrm_spi_req *req, struct xfrm_err *err);

/* Zeroes the keys (and the rest) of sa with a store the compiler keeps. */
void xfrm_sa_wipe(struct xfrm_sa *sa);

int xfrm_sa_allocspi(struct xfrm_nl *nl, const struct xfrm_spi_req *req, uint32_t *spi,
                     struct xfrm_err *err);
/* Fails with -EEXIST when (dst, spi) is taken, whoever owns it. */
int xfrm_sa_add(struct xfrm_nl *nl, const struct xfrm_sa *sa, struct xfrm_err *err);
/* Completes a larval SA from xfrm_sa_allocspi(), or changes what the kernel
 * lets change on a live SA (lifetimes, encapsulation, selector); the existing
 * SA must be ours. */
int xfrm_sa_update(struct xfrm_nl *nl, const struct xfrm_sa *sa, struct xfrm_err *err);
/* The kernel's current SA must be ours: -EPERM otherwise, -ESRCH if none. */
int xfrm_sa_delete(struct xfrm_nl *nl, const struct xfrm_sa_id *id, struct xfrm_err *err);
int xfrm_sa_get(struct xfrm_nl *nl, const struct xfrm_sa_id *id, struct xfrm_sa_info *out,
                struct xfrm_err *err);

/* Called once per SA; a non-zero return stops the calls (the dump is still
 * drained) and becomes xfrm_sa_dump's return value. The callback must not use
 * the same struct xfrm_nl: its buffers hold the dump being read. */
typedef int (*xfrm_sa_dump_cb)(const struct xfrm_sa_info *sa, void *arg);
int xfrm_sa_dump(struct xfrm_nl *nl, unsigned flags, xfrm_sa_dump_cb cb, void *arg,
                 struct xfrm_err *err);

/* Short text naming an SA for messages: "spi 0x0000c001 dst 192.0.2.1". */
const char *xfrm_sa_id_format(const struct xfrm_sa_id *id, char *buf, size_t len);

#endif
