/* login.h - the provider login of the web pages (issue 26): OpenID Connect authorization
 * code flow with PKCE as a confidential client, run by the server (a backend-for-frontend):
 * /auth/login sends the browser to the provider, /auth/callback takes the code, exchanges
 * it at the provider's token endpoint (http/oidc.c, libcurl), verifies the ID token with the
 * same verifier as the API's bearer tokens (http/auth.c) and starts a session. Internal to
 * src/web/ (web.c routes to it). */
#ifndef OB_WEB_LOGIN_H
#define OB_WEB_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "web/session.h"
#include "web/web.h"

void ob_web_login_start(ob_web *w, const ob_web_req *rq, ob_web_resp *out);
void ob_web_login_callback(ob_web *w, const ob_web_req *rq, ob_web_resp *out);
/* The provider's RP-initiated logout address (end_session_endpoint?client_id=...), when
 * its discovery document names one. */
bool ob_web_end_session_url(ob_web *w, int issuer, int64_t now, char *out, size_t cap);

/* web.c's parts that login.c uses */
ob_sessions *ob_web_sessions(ob_web *w);
ob_oidc *ob_web_oidc(ob_web *w);
ob_hub *ob_web_hub(ob_web *w);
void ob_web_set_session_cookie(ob_web_resp *out, int slot, const char *id);

#endif
