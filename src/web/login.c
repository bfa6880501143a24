/* login.c - the provider login (login.h): OpenID Connect authorization code flow with PKCE
 * (S256), state and nonce, as a confidential client of the provider (client_secret_basic).
 *
 * /auth/login?as=NAME keeps a pending login server-side (session.c: provider, state,
 * nonce, PKCE verifier; 10 minutes; bound to the __Host-ob_login cookie, SameSite=Lax so
 * that the provider's redirect back carries it) and sends the browser to the provider's
 * authorization endpoint. /auth/callback takes that pending login (once), compares the
 * state, exchanges the code (http/oidc.c), verifies the ID token (http/auth.c: the same
 * verifier as the API's bearer tokens, plus aud = client_id, azp, nonce, iat) and maps its
 * claims like a bearer token's; then a new session (a fresh id) and a 302 to "/?login=1". Every
 * failure is a 302 to "/?login_error=<code>", a fixed path: there is no return address
 * parameter, so no open redirect. The provider's tokens are dropped at once: the browser
 * never sees one. */
#include "web/login.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "http/auth.h"
#include "http/oidc.h"

/* Percent-encodes s (RFC 3986: all but unreserved characters) onto out at *at. */
static bool pct(char *out, size_t cap, size_t *at, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (*at + (plain ? 1 : 3) >= cap)
            return false;
        if (plain) {
            out[(*at)++] = (char)*p;
        } else {
            out[(*at)++] = '%';
            out[(*at)++] = hex[*p >> 4];
            out[(*at)++] = hex[*p & 15];
        }
    }
    out[*at] = '\0';
    return true;
}

static bool put(char *out, size_t cap, size_t *at, const char *s)
{
    size_t n = strlen(s);
    if (*at + n >= cap)
        return false;
    memcpy(out + *at, s, n + 1);
    *at += n;
    return true;
}

static void answer(ob_web_resp *out, int status, const char *json)
{
    out->status = status;
    out->ctype = "application/json";
    out->data = (const unsigned char *)json;
    out->len = strlen(json);
    out->cache = "no-store";
}

/* A failed login: back to the pages with a fixed code; the login cookie is cleared. */
static void fail(ob_web_resp *out, const char *code)
{
    out->status = 302;
    out->cache = "no-store";
    snprintf(out->location, sizeof out->location, "/?login_error=%s", code);
    snprintf(out->cookies[1], sizeof out->cookies[1],
             "%s=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0", OB_WEB_LOGIN_COOKIE);
}

void ob_web_login_start(ob_web *w, const ob_web_req *rq, ob_web_resp *out)
{
    ob_oidc *o = ob_web_oidc(w);
    int i = ob_oidc_find_name(o, rq->q_as);
    if (i < 0 || !ob_oidc_label(o, i)) {
        answer(out, 404, "{\"error\":\"no such login provider (GET /auth/providers)\"}");
        return;
    }
    char authz[OB_OIDC_URL_MAX], token[OB_OIDC_URL_MAX], ends[OB_OIDC_URL_MAX];
    if (!ob_oidc_login_endpoints(o, i, rq->now, authz, token, ends, OB_OIDC_URL_MAX)) {
        answer(out, 503, "{\"error\":\"the identity provider cannot be reached now\"}");
        return;
    }
    char id[OB_SESSION_ID_LEN + 1];
    ob_login_pending p;
    ob_err e = {0};
    ob_status rc = ob_login_start(ob_web_sessions(w), i, rq->client, rq->now, id, &p, &e);
    if (rc != OB_OK) {
        answer(out, 503, "{\"error\":\"too many logins in progress; try again shortly\"}");
        return;
    }
    /* PKCE S256 (RFC 7636): the challenge is base64url(SHA-256(verifier)) */
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const uint8_t *)p.verifier, strlen(p.verifier));
    char challenge[OB_SESSION_ID_LEN + 1];
    sodium_bin2base64(challenge, sizeof challenge, h, sizeof h,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    const char *client_id, *redirect_uri, *scope;
    ob_oidc_client(o, i, &client_id, &redirect_uri, &scope);
    size_t at = 0;
    char *u = out->location;
    size_t cap = sizeof out->location;
    bool ok = put(u, cap, &at, authz) && put(u, cap, &at, strchr(authz, '?') ? "&" : "?") &&
              put(u, cap, &at, "response_type=code&client_id=") && pct(u, cap, &at, client_id) &&
              put(u, cap, &at, "&redirect_uri=") && pct(u, cap, &at, redirect_uri) &&
              put(u, cap, &at, "&scope=") && pct(u, cap, &at, scope) &&
              put(u, cap, &at, "&state=") && pct(u, cap, &at, p.state) &&
              put(u, cap, &at, "&nonce=") && pct(u, cap, &at, p.nonce) &&
              put(u, cap, &at, "&code_challenge=") && pct(u, cap, &at, challenge) &&
              put(u, cap, &at, "&code_challenge_method=S256");
    sodium_memzero(&p, sizeof p);
    if (!ok) {
        out->location[0] = '\0';
        answer(out, 500, "{\"error\":\"the provider's address is too long\"}");
        return;
    }
    out->status = 302;
    out->cache = "no-store";
    snprintf(out->cookies[1], sizeof out->cookies[1],
             "%s=%s; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=%d", OB_WEB_LOGIN_COOKIE, id,
             OB_LOGIN_TTL);
    sodium_memzero(id, sizeof id);
}

void ob_web_login_callback(ob_web *w, const ob_web_req *rq, ob_web_resp *out)
{
    char cookie[128];
    ob_login_pending p;
    ob_err e = {0};
    /* the pending login of this browser, taken: a second callback finds none */
    if (ob_web_cookie(rq->cookie, OB_WEB_LOGIN_COOKIE, cookie, sizeof cookie) != 1 ||
        ob_login_take(ob_web_sessions(w), cookie, rq->now, &p, &e) != OB_OK) {
        fail(out, "no_login");
        return;
    }
    /* RFC 6749 10.12: the answer belongs to the login this browser started */
    if (!rq->q_state || strlen(rq->q_state) != strlen(p.state) ||
        sodium_memcmp(rq->q_state, p.state, strlen(p.state)) != 0) {
        sodium_memzero(&p, sizeof p);
        fail(out, "state");
        return;
    }
    if (rq->q_error || !rq->q_code || !rq->q_code[0] || strlen(rq->q_code) > 2048) {
        sodium_memzero(&p, sizeof p);
        fail(out, rq->q_error ? "refused" : "no_code");
        return;
    }
    ob_oidc *o = ob_web_oidc(w);
    json_t *tok = NULL, *claims = NULL;
    ob_status rc = ob_oidc_exchange(o, p.issuer, rq->q_code, p.verifier, rq->now, &tok, &e);
    if (rc != OB_OK) {
        sodium_memzero(&p, sizeof p);
        fail(out, rc == OB_EDENIED ? "code" : "unavailable");
        return;
    }
    const char *idt = json_string_value(json_object_get(tok, "id_token"));
    const char *client_id, *redirect_uri, *scope;
    ob_oidc_client(o, p.issuer, &client_id, &redirect_uri, &scope);
    rc = idt ? ob_auth_verify_id_token(o, p.issuer, client_id, p.nonce, idt, strlen(idt), rq->now,
                                       &claims, &e)
             : ob_err_set(&e, OB_EINVAL, "the provider sent no ID token");
    /* the provider's tokens go no further than this function */
    json_object_clear(tok);
    json_decref(tok);
    int issuer = p.issuer;
    sodium_memzero(&p, sizeof p);
    if (rc != OB_OK) {
        fail(out, "id_token");
        return;
    }
    /* mapped like a bearer token's claims: the caller must be one overblik knows */
    ob_caller c;
    if (ob_auth_caller(ob_web_hub(w), claims, &c, &e) != OB_OK) {
        json_decref(claims);
        fail(out, "account");
        return;
    }
    /* a session the browser had is ended: the login makes a new one, with a new id */
    char old[128];
    if (ob_web_cookie(rq->cookie, OB_WEB_COOKIE, old, sizeof old) == 1)
        ob_session_end(ob_web_sessions(w), old, &e);
    char sid[OB_SESSION_ID_LEN + 1];
    ob_session_info info;
    rc = ob_session_create(ob_web_sessions(w), claims, false, issuer, rq->now, sid, &info, &e);
    json_decref(claims);
    if (rc != OB_OK) {
        fail(out, "busy");
        return;
    }
    json_decref(info.claims);
    out->status = 302;
    out->cache = "no-store";
    snprintf(out->location, sizeof out->location, "/?login=1");
    ob_web_set_session_cookie(out, 0, sid);
    snprintf(out->cookies[1], sizeof out->cookies[1],
             "%s=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0", OB_WEB_LOGIN_COOKIE);
    sodium_memzero(sid, sizeof sid);
}

bool ob_web_end_session_url(ob_web *w, int issuer, int64_t now, char *out, size_t cap)
{
    char authz[OB_OIDC_URL_MAX], token[OB_OIDC_URL_MAX], ends[OB_OIDC_URL_MAX];
    ob_oidc *o = ob_web_oidc(w);
    if (!ob_oidc_login_endpoints(o, issuer, now, authz, token, ends, OB_OIDC_URL_MAX) || !ends[0])
        return false;
    const char *client_id, *redirect_uri, *scope;
    ob_oidc_client(o, issuer, &client_id, &redirect_uri, &scope);
    /* RP-initiated logout with client_id, never id_token_hint: no token reaches the browser */
    size_t at = 0;
    return put(out, cap, &at, ends) && put(out, cap, &at, strchr(ends, '?') ? "&" : "?") &&
           put(out, cap, &at, "client_id=") && pct(out, cap, &at, client_id);
}
