/* session.c - the session and pending-login table (session.h): a chained hash table
 * keyed by a keyed BLAKE2b digest of the cookie value, under one mutex. */
#include "web/session.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "core/alloc.h"

#define NBUCKETS    4096
#define DEFAULT_MAX 65536

enum { K_SESSION, K_LOGIN };

typedef struct entry {
    struct entry *next;
    uint8_t digest[32];
    int kind;
    int64_t created, used;
    /* a session */
    json_t *claims;
    uint8_t who[16]; /* keyed digest of the person (who_of) */
    char csrf[OB_SESSION_ID_LEN + 1];
    bool dev;
    int issuer;
    /* a pending login */
    ob_login_pending login;
    uint8_t client[16];
    bool has_client;
} entry;

struct ob_sessions {
    pthread_mutex_t lock;
    uint8_t key[crypto_generichash_KEYBYTES];
    entry *b[NBUCKETS];
    size_t count[2];
    size_t max;
    int64_t idle, absolute;
};

void ob_session_random(char out[OB_SESSION_ID_LEN + 1])
{
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, OB_SESSION_ID_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

ob_status ob_sessions_new(int64_t idle, int64_t absolute, size_t max, ob_sessions **out, ob_err *e)
{
    *out = NULL;
    if (sodium_init() < 0)
        return ob_err_set(e, OB_EINTERNAL, "libsodium did not initialise");
    ob_sessions *s = ob_calloc(1, sizeof *s);
    if (!s)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    crypto_generichash_keygen(s->key);
    s->idle = idle > 0 ? idle : OB_SESSION_IDLE;
    s->absolute = absolute > 0 ? absolute : OB_SESSION_MAX;
    s->max = max ? max : DEFAULT_MAX;
    *out = s;
    return OB_OK;
}

static void entry_free(entry *x)
{
    json_decref(x->claims);
    sodium_memzero(x, sizeof *x);
    ob_free(x);
}

void ob_sessions_free(ob_sessions *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < NBUCKETS; i++)
        for (entry *x = s->b[i], *n; x; x = n) {
            n = x->next;
            entry_free(x);
        }
    pthread_mutex_destroy(&s->lock);
    sodium_memzero(s->key, sizeof s->key);
    ob_free(s);
}

static void digest_of(const ob_sessions *s, const char *id, uint8_t d[32])
{
    crypto_generichash(d, 32, (const uint8_t *)id, strlen(id), s->key, sizeof s->key);
}

static size_t bucket_of(const uint8_t d[32])
{
    return ((size_t)d[0] | (size_t)d[1] << 8) % NBUCKETS;
}

/* Whether the entry is past its time at `now`. */
static bool expired(const ob_sessions *s, const entry *x, int64_t now)
{
    if (x->kind == K_LOGIN)
        return now - x->created >= OB_LOGIN_TTL || now < x->created - 60;
    return now - x->used >= s->idle || now - x->created >= s->absolute || now < x->created - 60;
}

static int64_t expires_of(const ob_sessions *s, const entry *x)
{
    int64_t a = x->used + s->idle, b = x->created + s->absolute;
    return a < b ? a : b;
}

/* Removes every expired entry; the lock is held. */
static void sweep(ob_sessions *s, int64_t now)
{
    for (size_t i = 0; i < NBUCKETS; i++)
        for (entry **p = &s->b[i]; *p;) {
            if (expired(s, *p, now)) {
                entry *x = *p;
                *p = x->next;
                s->count[x->kind]--;
                entry_free(x);
            } else
                p = &(*p)->next;
        }
}

/* Finds the entry of digest d and kind; *pp is where it hangs (for removal). The lock is
 * held. The digest is compared in constant time (sodium_memcmp) for good measure: it is
 * keyed, so its bytes tell an attacker nothing anyway. */
static entry **find(ob_sessions *s, const uint8_t d[32], int kind)
{
    for (entry **p = &s->b[bucket_of(d)]; *p; p = &(*p)->next)
        if ((*p)->kind == kind && sodium_memcmp((*p)->digest, d, 32) == 0)
            return p;
    return NULL;
}

/* A new entry with a fresh id; the lock is held. */
static ob_status insert(ob_sessions *s, int kind, int64_t now, char id[OB_SESSION_ID_LEN + 1],
                        entry **out, ob_err *e)
{
    if (s->count[kind] >= s->max) {
        sweep(s, now);
        if (s->count[kind] >= s->max)
            return ob_err_set(e, OB_ELIMIT, "too many %s at once; try again in a few minutes",
                              kind == K_SESSION ? "sessions" : "logins in progress");
    }
    entry *x = ob_calloc(1, sizeof *x);
    if (!x)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    ob_session_random(id);
    digest_of(s, id, x->digest);
    x->kind = kind;
    x->created = x->used = now;
    size_t b = bucket_of(x->digest);
    x->next = s->b[b];
    s->b[b] = x;
    s->count[kind]++;
    *out = x;
    return OB_OK;
}

static void info_of(const ob_sessions *s, const entry *x, ob_session_info *info)
{
    info->claims = json_incref(x->claims);
    memcpy(info->csrf, x->csrf, sizeof info->csrf);
    info->created = x->created;
    info->expires = expires_of(s, x);
    info->dev = x->dev;
    info->issuer = x->issuer;
}

/* The person a session is of, as a keyed digest: the kind and the first of sub, patient,
 * cpr (what ob_auth_caller maps to a person), not the provider. */
static void who_of(const ob_sessions *s, const json_t *claims, uint8_t who[16])
{
    const char *kind = json_string_value(json_object_get(claims, "ob_kind"));
    const char *id = json_string_value(json_object_get(claims, "sub"));
    if (!id)
        id = json_string_value(json_object_get(claims, "patient"));
    if (!id)
        id = json_string_value(json_object_get(claims, "cpr"));
    crypto_generichash_state st;
    crypto_generichash_init(&st, s->key, sizeof s->key, 16);
    crypto_generichash_update(&st, (const uint8_t *)(kind ? kind : ""),
                              strlen(kind ? kind : "") + 1);
    crypto_generichash_update(&st, (const uint8_t *)(id ? id : ""), strlen(id ? id : "") + 1);
    crypto_generichash_final(&st, who, 16);
}

/* Ends the least recently used live session of person `who` once they hold
 * OB_SESSION_PER_PERSON; the lock is held. A walk of the table, made only once it holds
 * that many sessions. */
static void limit_person(ob_sessions *s, const uint8_t who[16], int64_t now)
{
    if (s->count[K_SESSION] < OB_SESSION_PER_PERSON)
        return;
    size_t n = 0;
    entry **oldest = NULL;
    for (size_t i = 0; i < NBUCKETS; i++)
        for (entry **p = &s->b[i]; *p; p = &(*p)->next)
            if ((*p)->kind == K_SESSION && !expired(s, *p, now) &&
                memcmp((*p)->who, who, 16) == 0) {
                n++;
                if (!oldest || (*p)->used < (*oldest)->used)
                    oldest = p;
            }
    if (n >= OB_SESSION_PER_PERSON && oldest) {
        entry *x = *oldest;
        *oldest = x->next;
        s->count[K_SESSION]--;
        entry_free(x);
    }
}

ob_status ob_session_create(ob_sessions *s, json_t *claims, bool dev, int issuer, int64_t now,
                            char id[OB_SESSION_ID_LEN + 1], ob_session_info *info, ob_err *e)
{
    memset(info, 0, sizeof *info);
    if (!json_is_object(claims))
        return ob_err_set(e, OB_EINVAL, "a session needs claims");
    uint8_t who[16];
    who_of(s, claims, who);
    pthread_mutex_lock(&s->lock);
    limit_person(s, who, now);
    entry *x = NULL;
    ob_status rc = insert(s, K_SESSION, now, id, &x, e);
    if (rc == OB_OK) {
        memcpy(x->who, who, 16);
        x->claims = json_incref(claims);
        ob_session_random(x->csrf);
        x->dev = dev;
        x->issuer = issuer;
        info_of(s, x, info);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Whether id has the form of one of ours (43 base64url characters): anything else is
 * not looked up at all. */
static bool id_shape(const char *id)
{
    if (!id || strlen(id) != OB_SESSION_ID_LEN)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

ob_status ob_session_get(ob_sessions *s, const char *id, int64_t now, ob_session_info *info,
                         ob_err *e)
{
    memset(info, 0, sizeof *info);
    info->issuer = -1;
    if (!id_shape(id))
        return ob_err_set(e, OB_ENOTFOUND, "no session (log in again)");
    uint8_t d[32];
    digest_of(s, id, d);
    ob_status rc = OB_OK;
    pthread_mutex_lock(&s->lock);
    entry **p = find(s, d, K_SESSION);
    if (p && expired(s, *p, now)) {
        entry *x = *p;
        *p = x->next;
        s->count[K_SESSION]--;
        entry_free(x);
        rc = ob_err_set(e, OB_ENOTFOUND, "the session has expired (log in again)");
    } else if (!p) {
        rc = ob_err_set(e, OB_ENOTFOUND, "no session (log in again)");
    } else {
        (*p)->used = now;
        info_of(s, *p, info);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

ob_status ob_session_set_claims(ob_sessions *s, const char *id, int64_t now, json_t *claims,
                                ob_err *e)
{
    if (!id_shape(id) || !json_is_object(claims))
        return ob_err_set(e, OB_ENOTFOUND, "no session");
    uint8_t d[32];
    digest_of(s, id, d);
    pthread_mutex_lock(&s->lock);
    entry **p = find(s, d, K_SESSION);
    bool live = p && !expired(s, *p, now);
    if (live) {
        json_decref((*p)->claims);
        (*p)->claims = json_incref(claims);
        (*p)->used = now;
    }
    pthread_mutex_unlock(&s->lock);
    return live ? OB_OK : ob_err_set(e, OB_ENOTFOUND, "no session");
}

ob_status ob_session_end(ob_sessions *s, const char *id, ob_err *e)
{
    if (!id_shape(id))
        return ob_err_set(e, OB_ENOTFOUND, "no session");
    uint8_t d[32];
    digest_of(s, id, d);
    pthread_mutex_lock(&s->lock);
    entry **p = find(s, d, K_SESSION);
    if (p) {
        entry *x = *p;
        *p = x->next;
        s->count[K_SESSION]--;
        entry_free(x);
    }
    pthread_mutex_unlock(&s->lock);
    return p ? OB_OK : ob_err_set(e, OB_ENOTFOUND, "no session");
}

size_t ob_session_count(ob_sessions *s, int64_t now)
{
    pthread_mutex_lock(&s->lock);
    sweep(s, now);
    size_t n = s->count[K_SESSION];
    pthread_mutex_unlock(&s->lock);
    return n;
}

bool ob_session_csrf_ok(const ob_session_info *info, const char *sent)
{
    if (!sent || !info->csrf[0] || strlen(sent) != strlen(info->csrf))
        return false; /* the length is not secret: every token has 43 characters */
    return sodium_memcmp(sent, info->csrf, strlen(info->csrf)) == 0;
}

/* Live pending logins from this client address; the lock is held. A walk of the table, made
 * only once the table holds more than one client's share. */
static size_t from_client(const ob_sessions *s, const uint8_t client[16], int64_t now)
{
    size_t n = 0;
    if (s->count[K_LOGIN] < OB_LOGIN_PER_CLIENT)
        return 0;
    for (size_t i = 0; i < NBUCKETS; i++)
        for (const entry *x = s->b[i]; x; x = x->next)
            n += x->kind == K_LOGIN && x->has_client && !expired(s, x, now) &&
                 memcmp(x->client, client, 16) == 0;
    return n;
}

ob_status ob_login_start(ob_sessions *s, int issuer, const uint8_t *client, int64_t now,
                         char id[OB_SESSION_ID_LEN + 1], ob_login_pending *p, ob_err *e)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_lock(&s->lock);
    entry *x = NULL;
    ob_status rc = OB_OK;
    if (client && from_client(s, client, now) >= OB_LOGIN_PER_CLIENT)
        rc = ob_err_set(e, OB_ELIMIT,
                        "too many logins in progress from this address; finish one or wait "
                        "ten minutes");
    if (rc == OB_OK)
        rc = insert(s, K_LOGIN, now, id, &x, e);
    if (rc == OB_OK) {
        if (client) {
            memcpy(x->client, client, 16);
            x->has_client = true;
        }
        x->login.issuer = issuer;
        ob_session_random(x->login.state);
        ob_session_random(x->login.nonce);
        ob_session_random(x->login.verifier);
        *p = x->login;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

ob_status ob_login_take(ob_sessions *s, const char *id, int64_t now, ob_login_pending *p, ob_err *e)
{
    memset(p, 0, sizeof *p);
    if (!id_shape(id))
        return ob_err_set(e, OB_ENOTFOUND, "no login in progress in this browser");
    uint8_t d[32];
    digest_of(s, id, d);
    ob_status rc = OB_OK;
    pthread_mutex_lock(&s->lock);
    entry **pp = find(s, d, K_LOGIN);
    if (!pp) {
        rc = ob_err_set(e, OB_ENOTFOUND, "no login in progress in this browser (or it was used)");
    } else {
        entry *x = *pp;
        *pp = x->next;
        s->count[K_LOGIN]--;
        if (expired(s, x, now))
            rc = ob_err_set(e, OB_ENOTFOUND, "the login took too long; start again");
        else
            *p = x->login;
        entry_free(x);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}
