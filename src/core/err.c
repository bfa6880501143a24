/* err.c - formatting for struct ob_err (see err.h). */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ob_status ob_err_set(ob_err *e, ob_status code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

ob_status ob_err_wrap(ob_err *e, const char *fmt, ...)
{
    if (!e)
        return OB_EINTERNAL;
    char prefix[256];
    char old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof e->msg - 3)
        n = sizeof e->msg - 3;
    memcpy(e->msg, prefix, n);
    e->msg[n] = ':';
    e->msg[n + 1] = ' ';
    size_t rest = sizeof e->msg - n - 3;
    size_t ol = strnlen(old, rest);
    memcpy(e->msg + n + 2, old, ol);
    e->msg[n + 2 + ol] = '\0';
    return e->code;
}

void ob_err_clear(ob_err *e)
{
    if (e) {
        e->code = OB_OK;
        e->msg[0] = '\0';
    }
}

const char *ob_status_name(ob_status s)
{
    switch (s) {
    case OB_OK:
        return "ok";
    case OB_EINVAL:
        return "invalid input";
    case OB_ENOMEM:
        return "out of memory";
    case OB_EIO:
        return "storage error";
    case OB_ENOTFOUND:
        return "not found";
    case OB_ECONFLICT:
        return "conflict";
    case OB_EDENIED:
        return "refused";
    case OB_ETAMPER:
        return "tampering detected";
    case OB_ELIMIT:
        return "limit exceeded";
    case OB_EINTERNAL:
        return "internal error";
    }
    return "unknown error";
}
