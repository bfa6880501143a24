/* oidc.h - the OpenID Connect identity providers whose access tokens overblik accepts as
 * a resource server (issue 25, R-API-6): citizens' (a MitID broker), professionals'
 * (an IdP that knows authorisations and SOR codes), a SMART App Launch provider.
 *
 * The configuration (a JSON file, docs/operations.md) names each issuer, the audience
 * its tokens must carry, the one kind of caller it speaks for, and which of its claims
 * hold overblik's claims. Keys come from the issuer itself: its discovery document
 * (<issuer>/.well-known/openid-configuration, whose "issuer" must be the configured one)
 * names the jwks_uri; the key set is fetched again when a token names an unknown kid (at
 * most once per refresh_min seconds per issuer: a stream of invented kids cannot make
 * us hammer the provider) and when it is older than max_age. Fetches are https, or
 * http to a loopback address only (tests), without redirects, at most 1 MiB, with short
 * timeouts (libcurl). A provider that cannot be reached leaves its tokens refused until
 * it can (fail closed); the server starts regardless and says so.
 *
 * The claims a token carries never choose the kind of caller or name claims that were
 * not mapped: ob_oidc_map builds overblik's claims from the mapping alone. Thread-safe;
 * owned by the caller of ob_oidc_load, and it must outlive every ob_auth that borrows it. */
#ifndef OB_HTTP_OIDC_H
#define OB_HTTP_OIDC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "http/jwk.h"

#define OB_OIDC_MAX_ISSUERS 8
#define OB_OIDC_URL_MAX     512

typedef struct ob_oidc ob_oidc;

/* Reads and checks the configuration file (at most 64 KiB); fetches nothing. */
ob_status ob_oidc_load(const char *path, ob_oidc **out, ob_err *e);
/* Same, from parsed JSON (borrowed). */
ob_status ob_oidc_new(const json_t *cfg, ob_oidc **out, ob_err *e);
void ob_oidc_free(ob_oidc *o);

/* Discovery and keys for every issuer, now: returns how many issuers have keys; a
 * message per issuer that has none goes to report (may be NULL). */
size_t ob_oidc_refresh_all(ob_oidc *o, int64_t now, void (*report)(void *arg, const char *msg),
                           void *arg);

size_t ob_oidc_count(const ob_oidc *o);
/* The issuer configured for iss (exact match), or -1. */
int ob_oidc_find(const ob_oidc *o, const char *iss);
const char *ob_oidc_audience(const ob_oidc *o, int i);
/* The web login's view of a provider (issue 26): its name (?as=; default its kind), its
 * kind, and its label, which is NULL unless the provider is set up for the pages' login
 * (client_id, client_secret, redirect_uri). Each NULL for a bad index. */
const char *ob_oidc_name(const ob_oidc *o, int i);
const char *ob_oidc_kind(const ob_oidc *o, int i);
const char *ob_oidc_label(const ob_oidc *o, int i);
/* The provider of that name, or -1. */
int ob_oidc_find_name(const ob_oidc *o, const char *name);

/* The issuer's key with this kid, as a second owner (ob_jwk_clear it). An unknown kid
 * refreshes the key set first when the rate limit allows. OB_ENOTFOUND when there is no
 * such key (HTTP 401). */
ob_status ob_oidc_key(ob_oidc *o, int i, const char *kid, int64_t now, ob_jwk *out, ob_err *e);

/* overblik's claims for verified claims of issuer i: ob_kind from the configuration,
 * each mapped claim (a prefix, when configured, must be there and is removed), and iss,
 * jti, exp, nbf, iat, cnf as they are. *out is owned by the caller. OB_EINVAL when a
 * mapped claim has the wrong type or lacks its prefix. */
ob_status ob_oidc_map(const ob_oidc *o, int i, const json_t *claims, json_t **out, ob_err *e);

/* --- the web pages' login (issue 26, web/login.c) --- */

/* The authorization, token and (or "") end-session endpoints of login provider i, from
 * its discovery document (fetched now if not yet, rate-limited). False when i is not a
 * login provider or the endpoints are not known yet. Each buffer cap bytes. */
bool ob_oidc_login_endpoints(ob_oidc *o, int i, int64_t now, char *authorize, char *token,
                             char *end_session, size_t cap);
/* Login provider i's client id, redirect_uri and scope (borrowed; valid while o lives). */
void ob_oidc_client(const ob_oidc *o, int i, const char **client_id, const char **redirect_uri,
                    const char **scope);
const char *ob_oidc_issuer(const ob_oidc *o, int i);
/* The authorization code grant at provider i's token endpoint (RFC 6749 4.1.3, PKCE's
 * code_verifier, client_secret_basic; libcurl, with the fetch rules above). *out: the
 * provider's JSON answer (the caller's). OB_EDENIED when the provider refuses the code
 * (invalid_grant: used, expired, another client's, a wrong verifier), OB_EIO when it
 * cannot be reached. The provider's tokens are never kept or passed on. */
ob_status ob_oidc_exchange(ob_oidc *o, int i, const char *code, const char *verifier, int64_t now,
                           json_t **out, ob_err *e);

/* The authorization and token endpoints of the issuer marked "smart", from its discovery
 * document (fetched now if not yet, rate-limited). False when none is configured or
 * known yet. */
bool ob_oidc_smart(ob_oidc *o, int64_t now, char *authorize, char *token, char *issuer, size_t cap);

#endif
