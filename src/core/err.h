/* err.h - the one error type of overblik.
 *
 * Fallible functions return an ob_status (OB_OK == 0) and, when given a non-NULL
 * struct ob_err, fill it with a message a person can act on. Messages are lower case,
 * error first, and never contain a CPR number (R-CPR-2). Nothing below the CLI or the
 * HTTP layer prints errors; they are returned up the stack. */
#ifndef OB_CORE_ERR_H
#define OB_CORE_ERR_H

#include <stddef.h>

typedef enum ob_status {
    OB_OK = 0,
    OB_EINVAL,    /* bad input from the caller: nothing was changed */
    OB_ENOMEM,    /* allocation failed */
    OB_EIO,       /* storage or file system failure */
    OB_ENOTFOUND, /* no such object */
    OB_ECONFLICT, /* the change contradicts existing state */
    OB_EDENIED,   /* the rules refuse the change (e.g. R-BLK-2) */
    OB_ETAMPER,   /* log verification found a changed, removed or reordered entry */
    OB_ELIMIT,    /* input exceeds a hard cap */
    OB_EINTERNAL  /* a bug: an invariant did not hold */
} ob_status;

typedef struct ob_err {
    ob_status code;
    char msg[512];
} ob_err;

/* Sets e (if non-NULL) and returns code, so callers can write `return ob_err_set(...)`. */
ob_status ob_err_set(ob_err *e, ob_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with context ("loading line 7: ..."). Returns e->code. */
ob_status ob_err_wrap(ob_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *ob_status_name(ob_status s);
void ob_err_clear(ob_err *e);

#endif
