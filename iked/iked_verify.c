/* CHILD SAs missing from the kernel. The kernel keeps every SA across a
 * restart of xfrmd or iked, but not across `ip xfrm state flush`, another
 * tool's mistake or a hard expiry while nobody listened. When the reconcile
 * reports fewer kernel SAs than our CHILD SAs need, this finds which IKE
 * SAs lost theirs (one dump of what xfrmd owns) and ends each with a DELETE
 * to the device: a tunnel that carries nothing must not look up in
 * mgatectl, and the device, told, connects again at once.
 *
 * The dump lists every owned SA in one reply frame; beyond IKED_VERIFY_MAX
 * CHILD SAs it would not fit max_frame, and the check is not made (said in
 * the log: the SAs then end on DPD). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "iked.h"
#include "log.h"
#include "xfrmd.pb-c.h"

#define IKED_VERIFY_MAX 4096 /* kernel SAs: ~150 octets each in the dump */

struct iked_verify {
    struct iked *ik;
    const Mgate__XfrmSaList *present;
    size_t ended;
};

static bool iked_verify_addr(const struct sockaddr_storage *ss, const ProtobufCBinaryData *b)
{
    if (ss->ss_family == AF_INET)
        return b->len == 4 && !memcmp(b->data, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    return b->len == 16 && !memcmp(b->data, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

static bool iked_verify_has(const Mgate__XfrmSaList *l, const struct sockaddr_storage *dst,
                            uint32_t spi)
{
    for (size_t i = 0; i < l->n_sas; i++)
        if (l->sas[i]->spi == spi && iked_verify_addr(dst, &l->sas[i]->dst))
            return true;
    return false;
}

static void iked_verify_one(struct ike_sa *sa, void *arg)
{
    struct iked_verify *v = arg;
    const struct child_sa *c = sa->child;
    if (!c || !c->installed || sa->busy || sa->state != IKE_SA_ESTABLISHED)
        return;
    bool in = iked_verify_has(v->present, &sa->local, c->spi_in);
    bool out = iked_verify_has(v->present, &sa->remote, c->spi_out);
    if (in && out)
        return;
    char d[160];
    log_warn("%s: its CHILD SA (in %08x%s, out %08x%s) is gone from the kernel",
             ike_sa_describe(sa, d, sizeof(d)), c->spi_in, in ? "" : " missing", c->spi_out,
             out ? "" : " missing");
    v->ended++;
    iked_sa_destroy(v->ik, sa, true, "CHILD SA missing from the kernel");
}

static void iked_verify_on_dump(struct upstream *up, const ProtobufCMessage *resp,
                                const Mgate__Error *err, void *ud)
{
    (void)up;
    struct iked *ik = ud;
    const Mgate__XfrmdResponse *r = (const Mgate__XfrmdResponse *)resp;
    if (err) {
        log_err("checking our CHILD SAs against the kernel: xfrmd: %s", err->message);
        return;
    }
    if (ik->stopping || r->body_case != MGATE__XFRMD_RESPONSE__BODY_SAS)
        return;
    struct iked_verify v = {.ik = ik, .present = r->sas};
    iked_sa_table_each(ik->sas, iked_verify_one, &v);
    log_notice("checked our CHILD SAs against the kernel's %zu SAs: %zu tunnel(s) ended",
               r->sas->n_sas, v.ended);
}

void iked_verify_children(struct iked *ik, size_t want)
{
    if (want > IKED_VERIFY_MAX) {
        log_warn("%zu kernel SAs are too many to check one by one; the tunnels that lost theirs "
                 "end on dead peer detection",
                 want);
        return;
    }
    struct upstream *xf = service_upstream(ik->s, "xfrmd");
    Mgate__XfrmDumpRequest rq = MGATE__XFRM_DUMP_REQUEST__INIT;
    if (!xf || upstream_request(xf, MGATE__XFRMD_REQUEST__BODY_DUMP_SAS, &rq.base,
                                iked_verify_on_dump, ik) < 0)
        log_err("cannot ask xfrmd for its SAs: our CHILD SAs are not checked");
}
