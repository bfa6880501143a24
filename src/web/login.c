/* login.c - the provider login (login.h). */
#include "web/login.h"

#include <stdio.h>
#include <string.h>

#include "http/oidc.h"

static void not_yet(ob_web_resp *out)
{
    static const char msg[] = "{\"error\":\"no identity provider is set up for login\"}";
    out->status = 404;
    out->ctype = "application/json";
    out->data = (const unsigned char *)msg;
    out->len = sizeof msg - 1;
    out->cache = "no-store";
}

void ob_web_login_start(ob_web *w, const ob_web_req *rq, ob_web_resp *out)
{
    (void)w, (void)rq;
    not_yet(out);
}

void ob_web_login_callback(ob_web *w, const ob_web_req *rq, ob_web_resp *out)
{
    (void)w, (void)rq;
    not_yet(out);
}

bool ob_web_end_session_url(ob_web *w, int issuer, int64_t now, char *out, size_t cap)
{
    (void)w, (void)issuer, (void)now, (void)out, (void)cap;
    return false;
}
