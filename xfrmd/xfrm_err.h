/* Error reporting of the xfrm library: every failing call returns a negative
 * errno and, when the caller passed a struct xfrm_err, a one-line message that
 * names the object and the reason. The library never logs by itself. */
#ifndef MGATE_XFRM_ERR_H
#define MGATE_XFRM_ERR_H

#define XFRM_ERR_MSG_LEN 200

struct xfrm_err {
    int code;                   /* 0 or a negative errno */
    char msg[XFRM_ERR_MSG_LEN]; /* empty when code is 0 */
};

/* Records code and the formatted message in err (which may be NULL) and
 * returns code, so callers can write "return xfrm_err_set(err, -EINVAL, ...)". */
int xfrm_err_set(struct xfrm_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with context ("SA add spi 0x...: "). */
void xfrm_err_prefix(struct xfrm_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void xfrm_err_clear(struct xfrm_err *err);

#endif
