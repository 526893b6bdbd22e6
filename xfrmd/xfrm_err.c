#include "xfrm_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int xfrm_err_set(struct xfrm_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;

        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Appends s to dst (capacity cap, current length *pos), truncating. */
static void append(char *dst, size_t cap, size_t *pos, const char *s)
{
    size_t n = strlen(s);

    if (*pos + 1 >= cap)
        return;
    if (n > cap - 1 - *pos)
        n = cap - 1 - *pos;
    memcpy(dst + *pos, s, n);
    *pos += n;
    dst[*pos] = '\0';
}

void xfrm_err_prefix(struct xfrm_err *err, const char *fmt, ...)
{
    char head[XFRM_ERR_MSG_LEN];
    char old[XFRM_ERR_MSG_LEN];
    size_t pos = 0;
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    err->msg[0] = '\0';
    append(err->msg, sizeof(err->msg), &pos, head);
    append(err->msg, sizeof(err->msg), &pos, ": ");
    append(err->msg, sizeof(err->msg), &pos, old);
}

void xfrm_err_clear(struct xfrm_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
