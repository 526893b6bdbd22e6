/* Authorize's writes, coalesced (see seen.h). */
#include "seen.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "log.h"
#include "registry.h"

#define SEEN_FLUSH_MS 1000
#define SEEN_MAX      4096

struct seen_entry {
    int64_t device_id, at;
    uint32_t uid;
    char *detail;
};

struct seen {
    struct policyd *p;
    uv_timer_t timer;
    bool armed;
    struct seen_entry v[SEEN_MAX];
    size_t n;
};

static void seen_on_timer(uv_timer_t *t)
{
    struct seen *s = t->data;
    s->armed = false;
    seen_flush(s->p);
}

int seen_init(struct policyd *p)
{
    struct seen *s = calloc(1, sizeof(*s));
    if (!s) {
        log_err("out of memory");
        return -1;
    }
    s->p = p;
    int rc = uv_timer_init(service_daemon(p->s)->loop, &s->timer);
    if (rc < 0) {
        log_err("cannot start a timer: %s", uv_strerror(rc));
        free(s);
        return -1;
    }
    s->timer.data = s;
    p->seen = s;
    return 0;
}

void seen_flush(struct policyd *p)
{
    struct seen *s = p->seen;
    if (!s || s->n == 0)
        return;
    char why[REGISTRY_ERR];
    int rc = reg_begin(p->db, why);
    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        const struct seen_entry *e = &s->v[i];
        if (reg_device_seen(p->db, e->device_id, e->at) < 0 ||
            reg_audit(p->db, e->uid, e->device_id, "authorize", e->detail, e->at) < 0)
            rc = -1;
    }
    if (rc == 0)
        rc = reg_commit(p->db, why);
    if (rc < 0) {
        reg_rollback(p->db);
        log_err("cannot record %zu authorization(s): %s", s->n, why);
    }
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].detail);
    s->n = 0;
}

void seen_add(struct policyd *p, int64_t device_id, int64_t at, uint32_t uid, const char *detail)
{
    struct seen *s = p->seen;
    if (!s) {
        /* Stopping: the batch is gone, write at once. */
        if (reg_device_seen(p->db, device_id, at) < 0 ||
            reg_audit(p->db, uid, device_id, "authorize", detail, at) < 0)
            log_err("cannot record the authorization of device %lld", (long long)device_id);
        return;
    }
    char *d = strdup(detail);
    if (!d) {
        log_err("cannot record the authorization of device %lld: out of memory",
                (long long)device_id);
        return;
    }
    s->v[s->n++] = (struct seen_entry){device_id, at, uid, d};
    if (s->n == SEEN_MAX) {
        seen_flush(p);
        return;
    }
    if (!s->armed && uv_timer_start(&s->timer, seen_on_timer, SEEN_FLUSH_MS, 0) == 0)
        s->armed = true;
}

static void seen_on_closed(uv_handle_t *h)
{
    free(h->data);
}

void seen_close(struct policyd *p)
{
    struct seen *s = p->seen;
    if (!s)
        return;
    seen_flush(p);
    p->seen = NULL;
    uv_close((uv_handle_t *)&s->timer, seen_on_closed);
}
