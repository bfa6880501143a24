/* web.h - the web pages' back end (issue 26): static pages, sessions and login, as a
 * backend-for-frontend (OAuth 2.0 for Browser-Based Apps, docs/security.md "Web pages").
 *
 * Transport-free like api.h: the HTTP server (http/server.c) copies what it needs of a
 * request into an ob_web_req, calls ob_web_handle for the page and /auth routes, and sends
 * the ob_web_resp with the page security headers (ob_web_headers). For the FHIR API it
 * asks ob_web_session_claims whether a session cookie came: the session's claims then take
 * the same path as a verified bearer token's (ob_auth_caller, the engine, the log).
 *
 * Routes (docs/api.md, "Web pages and login"):
 *   GET  /, /<file>          the pages: embedded (web/, at build time) or from web_dir
 *   GET  /auth/session       who is logged in, the CSRF token, when the session ends
 *   GET  /auth/providers     the identity providers to offer on the login page
 *   GET  /auth/login?as=N    302 to provider N (code flow, PKCE S256, state, nonce)
 *   GET  /auth/callback      the provider's answer: code exchange, ID token, new session
 *   POST /auth/logout        ends the session (X-CSRF-Token), names the provider's logout
 *   POST /auth/dev-login     only with dev_login: a session without a provider
 * No token of any kind ever reaches the browser: it holds the session cookie only. */
#ifndef OB_WEB_WEB_H
#define OB_WEB_WEB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "service/hub.h"

typedef struct ob_oidc ob_oidc; /* http/oidc.h */
typedef struct ob_web ob_web;

#define OB_WEB_COOKIE       "__Host-ob_session"
#define OB_WEB_LOGIN_COOKIE "__Host-ob_login"

/* The Content-Security-Policy of every page and asset (web-contract.md). */
#define OB_WEB_CSP                                                                                 \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "            \
    "base-uri 'none'"

typedef struct ob_web_config {
    ob_hub *hub;            /* borrowed: names for /auth/session, the dev login's ids */
    ob_oidc *oidc;          /* borrowed: the providers (those with a client_id log people in) */
    const char *web_dir;    /* NULL: the embedded pages; else served from this directory */
    bool dev_login;         /* POST /auth/dev-login (development only; off by default) */
    int64_t idle, absolute; /* session limits in seconds; 0: 15 min, 8 h */
} ob_web_config;

ob_status ob_web_new(const ob_web_config *cfg, ob_web **out, ob_err *e);
void ob_web_free(ob_web *w);
bool ob_web_dev_login(const ob_web *w);

/* A request, as the transport saw it (every string may be NULL: absent). */
typedef struct ob_web_req {
    const char *method;                            /* "GET" (HEAD too), "POST", ... */
    const char *path;                              /* decoded path, no query */
    const char *q_as, *q_code, *q_state, *q_error; /* query parameters /auth reads */
    const char *cookie, *authorization, *csrf, *fetch_site, *origin, *host, *content_type;
    const char *if_none_match;
    bool tls;              /* the connection is TLS (the page's origin is https) */
    const uint8_t *client; /* the client's address key (16 bytes), or NULL */
    const char *body;
    size_t body_len;
    int64_t now; /* seconds since the epoch */
} ob_web_req;

#define OB_WEB_MAX_COOKIES 2
typedef struct ob_web_resp {
    int status;
    const char *ctype;
    const unsigned char *data; /* the body: borrowed (an embedded page) or `owned` */
    size_t len;
    unsigned char *owned; /* malloc'ed body (ob_web_resp_release frees it) */
    char location[2048];
    char cookies[OB_WEB_MAX_COOKIES][256]; /* Set-Cookie values; "" = none */
    char etag[72];
    const char *cache; /* Cache-Control */
} ob_web_resp;
void ob_web_resp_release(ob_web_resp *r);

/* Whether the path is the web's: /auth/... or a page (anything outside /fhir, /api,
 * /log, /metrics, /healthz and /.well-known, which the server routes first). */
bool ob_web_is_auth(const char *path);

/* Answers a page or /auth request. Always fills *out (an error is an answer too);
 * OB_ENOMEM only when not even that was possible. */
ob_status ob_web_handle(ob_web *w, const ob_web_req *rq, ob_web_resp *out);

/* For the FHIR API: the session a request carries. Returns 0 when it sends no session
 * cookie (the bearer token decides); 200 with *claims (the caller's reference) when the
 * session is live and, for a method other than GET and HEAD, the request carries the
 * session's X-CSRF-Token and, when sent, Sec-Fetch-Site same-origin and an Origin that is
 * this server's; else the HTTP status to answer with e's message: 400 (a session cookie
 * and an Authorization header both: which caller is meant?), 401 (no such session, or
 * expired), 403 (the CSRF checks), 503 (out of memory). */
int ob_web_session_claims(ob_web *w, const ob_web_req *rq, json_t **claims, ob_err *e);

/* --- parsers, exposed for tests and fuzzing --- */

/* The value of cookie `name` in a Cookie header (RFC 6265 5.4: "a=b; c=d"): 1 and the value
 * in out (cap bytes), 0 when absent, -1 when the header names it twice (a cookie planted
 * beside ours: which is meant?) or its value does not fit. */
int ob_web_cookie(const char *header, const char *name, char *out, size_t cap);
/* A request path as the file it names under web/: "/" -> "/index.html", "/a/" ->
 * "/a/index.html". false for anything that could leave the directory or name a hidden
 * file: a segment that is empty or starts with '.', a backslash, a control character,
 * more than 255 bytes. */
bool ob_web_file_path(const char *path, char *out, size_t cap);
/* The content type served for a file name, by extension; NULL: not served. */
const char *ob_web_content_type(const char *file);

#endif
