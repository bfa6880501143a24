/* session.h - server-side sessions of the web pages and pending logins (issue 26).
 *
 * A session holds the verified, mapped claims of whoever logged in (ob_oidc_map's shape,
 * the same as a bearer token's after verification), so that the FHIR API turns a session
 * into a caller through exactly the code a bearer token takes. The browser holds only the
 * session id: 32 random bytes (libsodium), base64url, in an HttpOnly cookie. Stored here is
 * a keyed BLAKE2b digest of the id, never the id, so a memory dump of the table does not
 * give a usable cookie. A session ends at logout, after `idle` seconds without use, or
 * `absolute` seconds after login, whichever is first. Each session has its CSRF token (32
 * random bytes, base64url), compared in constant time.
 *
 * A pending login (the authorization-code flow between /auth/login and /auth/callback) is
 * kept the same way, keyed by the digest of its short-lived login cookie: the issuer, the
 * state, the nonce and the PKCE verifier never leave the server. It is taken (removed) on
 * its first use, so a callback can be answered once.
 *
 * Bounded: at most `max` sessions and `max` pending logins; when full, expired ones are
 * swept, and if that is not enough a new one is refused (OB_ELIMIT: 503) rather than an
 * old one dropped. Thread-safe (one mutex; a lookup is a hash probe). */
#ifndef OB_WEB_SESSION_H
#define OB_WEB_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define OB_SESSION_ID_LEN     43 /* base64url of 32 bytes, unpadded */
#define OB_SESSION_IDLE       (15 * 60)
#define OB_SESSION_MAX        (8 * 60 * 60)
#define OB_LOGIN_TTL          (10 * 60)
#define OB_LOGIN_PER_CLIENT   32 /* pending logins from one client address at once */
#define OB_SESSION_PER_PERSON 16 /* live sessions of one person (ob_session_create) */

typedef struct ob_sessions ob_sessions;

/* idle, absolute: seconds (0: the defaults above); max: entries of each kind (0: 65536). */
ob_status ob_sessions_new(int64_t idle, int64_t absolute, size_t max, ob_sessions **out, ob_err *e);
void ob_sessions_free(ob_sessions *s);

/* What a session carries (the caller's copy). */
typedef struct ob_session_info {
    json_t *claims; /* a reference, the caller's: json_decref it; shared, never change it */
    char csrf[OB_SESSION_ID_LEN + 1];
    int64_t created, expires; /* expires: the earlier of idle and absolute, after this use */
    bool dev;                 /* made by the development login */
    int issuer;               /* the identity provider's index, -1 for a dev login */
} ob_session_info;

/* A new session for claims (borrowed; a reference is kept): writes its id (NUL-terminated,
 * OB_SESSION_ID_LEN + 1 bytes) and fills *info. A fresh id every time: a login never
 * reuses an id the browser had (no fixation). One person (the claims' ob_kind and sub,
 * patient or cpr) holds at most OB_SESSION_PER_PERSON live sessions: a login beyond ends
 * that person's least recently used one, so that one account logging in again and again
 * cannot fill the table and lock everyone else out. */
ob_status ob_session_create(ob_sessions *s, json_t *claims, bool dev, int issuer, int64_t now,
                            char id[OB_SESSION_ID_LEN + 1], ob_session_info *info, ob_err *e);
/* The session of this id at `now`, which counts as a use (the idle clock restarts).
 * OB_ENOTFOUND when there is none, or it expired (then it is removed). */
ob_status ob_session_get(ob_sessions *s, const char *id, int64_t now, ob_session_info *info,
                         ob_err *e);
/* Replaces the session's claims (borrowed; a reference is kept): an assistant choosing the
 * colleague they work for. OB_ENOTFOUND when there is no such live session. */
ob_status ob_session_set_claims(ob_sessions *s, const char *id, int64_t now, json_t *claims,
                                ob_err *e);
/* Ends the session (logout). OB_ENOTFOUND when there was none. */
ob_status ob_session_end(ob_sessions *s, const char *id, ob_err *e);
/* Live sessions now (for tests and /metrics). */
size_t ob_session_count(ob_sessions *s, int64_t now);

/* Whether a sent CSRF token (NULL: none) equals the session's, in constant time. */
bool ob_session_csrf_ok(const ob_session_info *info, const char *sent);

/* A pending login. */
typedef struct ob_login_pending {
    int issuer;
    char state[OB_SESSION_ID_LEN + 1], nonce[OB_SESSION_ID_LEN + 1];
    char verifier[OB_SESSION_ID_LEN + 1]; /* PKCE code_verifier */
} ob_login_pending;

/* Starts one: fresh state, nonce and verifier into *p, and the login cookie's value
 * (id). client: the client's address key (16 bytes, the server's per-address key), or NULL:
 * one address holds at most OB_LOGIN_PER_CLIENT pending logins (OB_ELIMIT beyond), so that
 * a flood of /auth/login from one place cannot fill the table and lock everyone out. */
ob_status ob_login_start(ob_sessions *s, int issuer, const uint8_t *client, int64_t now,
                         char id[OB_SESSION_ID_LEN + 1], ob_login_pending *p, ob_err *e);
/* Takes (and removes) the pending login of this cookie value. OB_ENOTFOUND when none, or
 * older than OB_LOGIN_TTL. */
ob_status ob_login_take(ob_sessions *s, const char *id, int64_t now, ob_login_pending *p,
                        ob_err *e);

/* Random bytes as unpadded base64url (OB_SESSION_ID_LEN + 1 bytes for 32). */
void ob_session_random(char out[OB_SESSION_ID_LEN + 1]);

#endif
