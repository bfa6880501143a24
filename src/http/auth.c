/* auth.c - JWT (ES256) verification, claims -> ob_caller, development keys and tokens
 * (auth.h). The cryptography is OpenSSL's (EVP_DigestVerify/Sign, EVP_PKEY_fromdata);
 * base64url is libsodium's; JSON is jansson's. What is ours is the JOSE framing: the
 * raw R||S signature <-> DER ECDSA-Sig-Value conversion, and the rules about which
 * header and claims are acceptable. */
#include "http/auth.h"
#include "http/jwk.h"
#include "http/oidc.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/cpr.h"
#include "core/text.h"
#include "core/secret.h"
#include "model/index.h"

#define KID_MAX OB_JWK_KID_MAX

/* Verified-signature cache: an ECDSA verification costs far more than the rest of a
 * request, and clients reuse one token for many requests. The key is a keyed BLAKE2b
 * digest of the whole token (header, claims and signature), so a hit means these exact
 * bytes verified before against this JWKS; the time, audience and issuer checks still
 * run on every request. Slots hold the parsed claims, shared read-only with the requests
 * that use them (jansson's reference count is atomic): parsing them again cost more than
 * the rest of authentication (callgrind: ~30,000 instructions a request). A citizen's
 * claims carry a CPR; they stay in this process's memory while cached, as the token
 * itself does in the HTTP library's buffers. Set-associative, locked in stripes. */
#define CACHE_WAYS 4 /* set-associative: with one way, two tokens whose digests */
#define CACHE_SETS                                                                                 \
    1024 /* share a slot evicted each other and paid an ECDSA check                                \
          * on every request (176 tokens gave ~4 such pairs) */
#define CACHE_STRIPES 64

/* A verified token's time window, read from its claims once when it is cached, so that a
 * hit checks three integers instead of looking the claims up again (about a microsecond
 * a request). Absent nbf/iat are INT64_MIN. */
typedef struct claim_times {
    int64_t exp, nbf, iat;
} claim_times;

typedef struct cache_slot {
    uint8_t digest[32];
    json_t *claims; /* one reference held by the cache */
    claim_times t;
} cache_slot;

typedef struct auth_cache {
    uint8_t key[crypto_generichash_KEYBYTES];
    pthread_mutex_t locks[CACHE_STRIPES];
    struct {
        cache_slot way[CACHE_WAYS];
        unsigned next; /* the way replaced next when all are full */
    } sets[CACHE_SETS];
} auth_cache;

struct ob_auth {
    ob_jwk keys[OB_AUTH_MAX_KEYS]; /* the configured JWKS file's */
    size_t nkeys;
    ob_oidc *oidc; /* borrowed: the identity providers, or NULL */
    char audience[256];
    char issuer[256];
    bool has_issuer;
    auth_cache *cache;
};

/* ---- keys ---- */

/* RFC 7638 thumbprint of an EC JWK: base64url(SHA-256 of the canonical members). */
static ob_status jwk_thumbprint(const char *x, const char *y, char *kid, size_t cap, ob_err *e)
{
    char canon[512];
    int n = snprintf(canon, sizeof canon,
                     "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
    if (n < 0 || (size_t)n >= sizeof canon)
        return ob_err_set(e, OB_EINVAL, "key coordinates too long");
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const uint8_t *)canon, (size_t)n);
    char *s = ob_b64url_encode(h, sizeof h);
    if (!s)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    snprintf(kid, cap, "%s", s);
    ob_free(s);
    return OB_OK;
}

/* A key of the configured JWKS file: every key must be usable (a misconfiguration is
 * loud), and kids are unique. */
static ob_status add_jwk(ob_auth *a, const json_t *k, size_t i, ob_err *e)
{
    ob_jwk key;
    if (ob_jwk_parse(k, &key, e) != OB_OK) {
        ob_err_wrap(e, "JWKS key %zu: ", i);
        return e ? (e->code = OB_EINVAL) : OB_EINVAL;
    }
    for (size_t j = 0; j < a->nkeys; j++)
        if (strcmp(a->keys[j].kid, key.kid) == 0) {
            ob_err_set(e, OB_EINVAL, "JWKS key %zu repeats kid '%s'", i, key.kid);
            ob_jwk_clear(&key);
            return OB_EINVAL;
        }
    a->keys[a->nkeys++] = key;
    return OB_OK;
}

ob_status ob_auth_new(const json_t *jwks, const ob_auth_config *cfg, ob_auth **out, ob_err *e)
{
    *out = NULL;
    const json_t *keys = json_object_get(jwks, "keys");
    /* no keys of its own only where the identity providers' keys verify every token */
    if (!json_is_array(keys) || (json_array_size(keys) == 0 && !(cfg && cfg->oidc)))
        return ob_err_set(e, OB_EINVAL, "the JWKS has no \"keys\" array");
    if (json_array_size(keys) > OB_AUTH_MAX_KEYS)
        return ob_err_set(e, OB_ELIMIT, "the JWKS has more than %d keys", OB_AUTH_MAX_KEYS);
    ob_auth *a = ob_calloc(1, sizeof *a);
    if (!a)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    const char *aud = cfg && cfg->audience ? cfg->audience : "overblik";
    if (strlen(aud) >= sizeof a->audience ||
        (cfg && cfg->issuer && strlen(cfg->issuer) >= sizeof a->issuer)) {
        ob_auth_free(a);
        return ob_err_set(e, OB_EINVAL, "audience or issuer longer than 255 bytes");
    }
    snprintf(a->audience, sizeof a->audience, "%s", aud);
    if (cfg && cfg->issuer && cfg->issuer[0]) {
        snprintf(a->issuer, sizeof a->issuer, "%s", cfg->issuer);
        a->has_issuer = true;
    }
    a->oidc = cfg ? cfg->oidc : NULL;
    a->cache = ob_calloc(1, sizeof *a->cache);
    if (!a->cache) {
        ob_auth_free(a);
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    }
    crypto_generichash_keygen(a->cache->key);
    for (int i = 0; i < CACHE_STRIPES; i++)
        pthread_mutex_init(&a->cache->locks[i], NULL);
    for (size_t i = 0; i < json_array_size(keys); i++) {
        ob_status rc = add_jwk(a, json_array_get(keys, i), i, e);
        if (rc) {
            ob_auth_free(a);
            return rc;
        }
    }
    *out = a;
    return OB_OK;
}

ob_status ob_auth_load(const char *jwks_path, const ob_auth_config *cfg, ob_auth **out, ob_err *e)
{
    *out = NULL;
    if (!jwks_path) {
        if (!cfg || !cfg->oidc)
            return ob_err_set(e, OB_EINVAL, "no JWKS file and no identity provider");
        json_t *none = json_pack("{s:[]}", "keys");
        if (!none)
            return ob_err_set(e, OB_ENOMEM, "out of memory");
        ob_status rc = ob_auth_new(none, cfg, out, e);
        json_decref(none);
        return rc;
    }
    FILE *f = fopen(jwks_path, "rb");
    if (!f)
        return ob_err_set(e, OB_EIO, "cannot open JWKS file %s", jwks_path);
    char *buf = ob_malloc((1u << 20) + 1);
    if (!buf) {
        fclose(f);
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, (1u << 20) + 1, f);
    fclose(f);
    if (n > (1u << 20)) {
        ob_free(buf);
        return ob_err_set(e, OB_ELIMIT, "JWKS file %s is over 1 MiB", jwks_path);
    }
    json_error_t je;
    json_t *j = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
    ob_free(buf);
    if (!j)
        return ob_err_set(e, OB_EINVAL, "JWKS file %s is not valid JSON (line %d)", jwks_path,
                          je.line);
    ob_status rc = ob_auth_new(j, cfg, out, e);
    json_decref(j);
    if (rc)
        ob_err_wrap(e, "%s: ", jwks_path);
    return rc;
}

ob_oidc *ob_auth_oidc(const ob_auth *a)
{
    return a->oidc;
}

size_t ob_auth_key_count(const ob_auth *a)
{
    return a->nkeys;
}

void ob_auth_free(ob_auth *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nkeys; i++)
        ob_jwk_clear(&a->keys[i]);
    if (a->cache) {
        for (size_t i = 0; i < CACHE_SETS; i++)
            for (size_t w = 0; w < CACHE_WAYS; w++)
                json_decref(a->cache->sets[i].way[w].claims);
        for (int i = 0; i < CACHE_STRIPES; i++)
            pthread_mutex_destroy(&a->cache->locks[i]);
        sodium_memzero(a->cache->key, sizeof a->cache->key);
        ob_free(a->cache);
    }
    ob_free(a);
}

/* ---- verification ---- */

static json_t *decode_json_part(const char *p, size_t len, uint8_t *scratch, size_t cap)
{
    long n = ob_b64url_decode(p, len, scratch, cap);
    if (n <= 0)
        return NULL;
    json_t *j = json_loadb((const char *)scratch, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* A NumericDate claim: absent (false, *present=false) or an integer/real. */
static bool numeric_claim(const json_t *claims, const char *name, bool *present, int64_t *v)
{
    const json_t *j = json_object_get(claims, name);
    *present = j != NULL;
    if (!j)
        return true;
    if (json_is_integer(j)) {
        *v = (int64_t)json_integer_value(j);
        return true;
    }
    if (json_is_real(j)) {
        double d = json_real_value(j);
        if (!(d > -1e15 && d < 1e15))
            return false;
        *v = (int64_t)d;
        return true;
    }
    return false;
}

static bool aud_matches(const json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return false;
    size_t i;
    const json_t *v;
    json_array_foreach(aud, i, v) if (json_is_string(v) &&
                                      strcmp(json_string_value(v), want) == 0) return true;
    return false;
}

/* exp (required), nbf, iat, aud, iss, with the reason of a refusal. A cached token's
 * window is checked by times_ok on every request; this runs on a miss, and on a hit
 * whose window has passed (for the message). Comparisons are written so that no claim
 * value, however large, can overflow. */
static ob_status check_times(const json_t *cl, int64_t now, ob_err *e)
{
    bool has;
    int64_t v = 0;
    if (!numeric_claim(cl, "exp", &has, &v) || !has)
        return ob_err_set(e, OB_EINVAL, "token has no valid expiry (exp)");
    if (now - OB_AUTH_LEEWAY > v)
        return ob_err_set(e, OB_EINVAL, "token expired");
    if (!numeric_claim(cl, "nbf", &has, &v))
        return ob_err_set(e, OB_EINVAL, "token not-before (nbf) is not a number");
    if (has && now + OB_AUTH_LEEWAY < v)
        return ob_err_set(e, OB_EINVAL, "token not yet valid (nbf)");
    if (!numeric_claim(cl, "iat", &has, &v))
        return ob_err_set(e, OB_EINVAL, "token issued-at (iat) is not a number");
    if (has && now + OB_AUTH_LEEWAY < v)
        return ob_err_set(e, OB_EINVAL, "token issued in the future (iat)");
    return OB_OK;
}

static ob_status check_claims(const ob_auth *a, const json_t *cl, int64_t now, ob_err *e)
{
    if (check_times(cl, now, e) != OB_OK)
        return OB_EINVAL;
    if (!aud_matches(json_object_get(cl, "aud"), a->audience))
        return ob_err_set(e, OB_EINVAL, "token audience (aud) is not this server");
    if (a->has_issuer) {
        const char *iss = json_string_value(json_object_get(cl, "iss"));
        if (!iss || strcmp(iss, a->issuer) != 0)
            return ob_err_set(e, OB_EINVAL, "token issuer (iss) is not the configured issuer");
    }
    return OB_OK;
}

/* The window of claims that passed check_claims. */
static claim_times times_of(const json_t *cl)
{
    claim_times t = {0, INT64_MIN, INT64_MIN};
    bool has;
    numeric_claim(cl, "exp", &has, &t.exp);
    if (!numeric_claim(cl, "nbf", &has, &t.nbf) || !has)
        t.nbf = INT64_MIN;
    if (!numeric_claim(cl, "iat", &has, &t.iat) || !has)
        t.iat = INT64_MIN;
    return t;
}

/* check_claims' time tests over a cached window (audience and issuer passed when the
 * token was cached, and they are fixed for this ob_auth's life). */
static bool times_ok(const claim_times *t, int64_t now)
{
    return now - OB_AUTH_LEEWAY <= t->exp && now + OB_AUTH_LEEWAY >= t->nbf &&
           now + OB_AUTH_LEEWAY >= t->iat;
}

/* The key a token names: the issuer's (an identity provider of ob_oidc, chosen by the
 * token's iss before anything is verified, so that one provider's keys never vouch for
 * another's claims) or the configured JWKS file's. *oi is the provider's index or -1. */
static ob_status token_key(const ob_auth *a, const json_t *cl, const char *kid, int64_t now,
                           ob_jwk *key, int *oi, ob_err *e)
{
    const char *iss = json_string_value(json_object_get(cl, "iss"));
    *oi = ob_oidc_find(a->oidc, iss);
    if (*oi >= 0)
        return ob_oidc_key(a->oidc, *oi, kid, now, key, e);
    for (size_t i = 0; kid && i < a->nkeys; i++)
        if (strcmp(a->keys[i].kid, kid) == 0) {
            ob_jwk_copy(key, &a->keys[i]);
            return OB_OK;
        }
    return ob_err_set(e, OB_EINVAL,
                      kid ? "token key id (kid) is not a configured key"
                          : "token header has no key id (kid)");
}

/* What an OpenID Connect ID token must say on top of a bearer token's checks (issue 26,
 * OIDC Core 3.1.3.7): it comes from the provider the login went to, its aud holds the
 * client id (and azp, when present or when aud holds others, is the client id), it has
 * iat, and its nonce is the login's. NULL for a bearer token. */
typedef struct id_expect {
    int issuer;
    const char *client_id, *nonce;
} id_expect;

static ob_status check_id_token(const id_expect *x, const json_t *cl, ob_err *e)
{
    const json_t *aud = json_object_get(cl, "aud");
    if (!aud_matches(aud, x->client_id))
        return ob_err_set(e, OB_EINVAL, "ID token audience (aud) is not this client");
    const json_t *azp = json_object_get(cl, "azp");
    if ((azp || (json_is_array(aud) && json_array_size(aud) > 1)) &&
        (!json_is_string(azp) || strcmp(json_string_value(azp), x->client_id) != 0))
        return ob_err_set(e, OB_EINVAL, "ID token authorized party (azp) is not this client");
    bool has;
    int64_t v;
    if (!numeric_claim(cl, "iat", &has, &v) || !has)
        return ob_err_set(e, OB_EINVAL, "ID token has no issued-at (iat)");
    const char *nonce = json_string_value(json_object_get(cl, "nonce"));
    if (!nonce || strlen(nonce) != strlen(x->nonce) ||
        sodium_memcmp(nonce, x->nonce, strlen(x->nonce)) != 0)
        return ob_err_set(e, OB_EINVAL, "ID token nonce is not this login's");
    return OB_OK;
}

static ob_status verify_jws(const ob_auth *a, const char *token, size_t len, int64_t now,
                            const id_expect *x, json_t **claims, ob_err *e)
{
    *claims = NULL;
    if (len == 0)
        return ob_err_set(e, OB_EINVAL, "empty bearer token");
    if (len > OB_AUTH_MAX_TOKEN)
        return ob_err_set(e, OB_EINVAL, "token longer than %d bytes", OB_AUTH_MAX_TOKEN);
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return ob_err_set(e, OB_EINVAL, "token is not a compact JWS (three dot-separated parts)");
    uint8_t *scratch = ob_malloc(len + 1);
    if (!scratch)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    ob_status rc = OB_EINVAL;
    json_t *hdr = decode_json_part(token, (size_t)(d1 - token), scratch, len);
    json_t *cl = NULL;
    ob_jwk key = {0};
    int oi = -1;
    if (!hdr) {
        ob_err_set(e, rc, "token header is not base64url-encoded JSON");
        goto out;
    }
    ob_jwk_alg alg = ob_jwk_alg_parse(json_string_value(json_object_get(hdr, "alg")));
    if (alg == OB_JWK_NONE) {
        ob_err_set(e, rc, "token algorithm not accepted (ES256, RS256, EdDSA only)");
        goto out;
    }
    if (json_object_get(hdr, "crit")) {
        ob_err_set(e, rc, "token header has critical extensions we do not support");
        goto out;
    }
    /* the claims are read before the signature only to choose the issuer's keys */
    cl = decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1), scratch, len);
    if (!cl) {
        ob_err_set(e, rc, "token claims are not base64url-encoded JSON");
        goto out;
    }
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    if (token_key(a, cl, kid, now, &key, &oi, e) != OB_OK) {
        rc = OB_EINVAL;
        goto out;
    }
    if (x && oi != x->issuer) { /* before any work: another issuer's token */
        ob_err_set(e, rc, "ID token is not from the provider the login went to");
        goto out;
    }
    if (alg != key.alg) { /* the key decides the algorithm, never the header */
        ob_err_set(e, rc, "token algorithm %s is not its key's (%s)", ob_jwk_alg_name(alg),
                   ob_jwk_alg_name(key.alg));
        goto out;
    }
    uint8_t *sig = scratch; /* the claims' bytes are parsed and no longer needed */
    long sl = ob_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), sig, len);
    if (alg == OB_JWK_ES256 && sl != 64) {
        ob_err_set(e, rc, "token signature is not a 64-byte ES256 signature");
        goto out;
    }
    /* ECDSA malleability: our own tokens are minted in low-s form and must stay in it; an
     * identity provider's signer is not ours to change (docs/decisions.md) */
    if (alg == OB_JWK_ES256 && oi < 0 && !ob_jwk_es256_low_s(sig + 32)) {
        ob_err_set(e, rc, "token signature is not in low-s form (s <= n/2)");
        goto out;
    }
    if (sl <= 0 ||
        !ob_jwk_verify(&key, alg, token, (size_t)(d2 - token), sig, (size_t)sl, oi >= 0)) {
        ob_err_set(e, rc, "token signature does not verify");
        goto out;
    }
    if (oi >= 0) { /* the provider's audience; its claims in overblik's names */
        const char *aud = ob_oidc_audience(a->oidc, oi);
        json_t *mapped = NULL;
        if (check_times(cl, now, e) != OB_OK)
            goto out;
        if (x ? check_id_token(x, cl, e) != OB_OK : !aud_matches(json_object_get(cl, "aud"), aud)) {
            if (!x)
                ob_err_set(e, rc, "token audience (aud) is not this server");
            goto out;
        }
        if ((rc = ob_oidc_map(a->oidc, oi, cl, &mapped, e)) != OB_OK)
            goto out;
        json_decref(cl);
        cl = mapped;
    } else if (check_claims(a, cl, now, e) != OB_OK)
        goto out;
    *claims = cl;
    cl = NULL;
    rc = OB_OK;
out:
    ob_jwk_clear(&key);
    json_decref(hdr);
    json_decref(cl);
    sodium_memzero(scratch, len + 1);
    ob_free(scratch);
    return rc;
}

static void token_digest(const ob_auth *a, const char *token, size_t len, uint8_t d[32])
{
    crypto_generichash(d, 32, (const uint8_t *)token, len, a->cache->key, sizeof a->cache->key);
}

ob_status ob_auth_verify(const ob_auth *a, const char *token, size_t len, int64_t now,
                         json_t **claims, ob_err *e)
{
    *claims = NULL;
    if (len == 0 || len > OB_AUTH_MAX_TOKEN)
        return verify_jws(a, token, len, now, NULL, claims, e); /* for its message */
    uint8_t d[32];
    token_digest(a, token, len, d);
    size_t set = ((size_t)d[0] | (size_t)d[1] << 8 | (size_t)d[2] << 16) % CACHE_SETS;
    pthread_mutex_t *lock = &a->cache->locks[set % CACHE_STRIPES];
    cache_slot *ways = a->cache->sets[set].way;
    json_t *cl = NULL;
    claim_times t = {0};
    pthread_mutex_lock(lock);
    for (size_t w = 0; w < CACHE_WAYS && !cl; w++)
        if (ways[w].claims && sodium_memcmp(ways[w].digest, d, 32) == 0) {
            cl = json_incref(ways[w].claims);
            t = ways[w].t;
        }
    pthread_mutex_unlock(lock);
    if (cl) {
        if (!times_ok(&t, now)) {
            if (check_times(cl, now, e) == OB_OK) /* cannot be: the same tests */
                ob_err_set(e, OB_EINVAL, "token expired");
            json_decref(cl);
            return OB_EINVAL;
        }
        *claims = cl;
        return OB_OK;
    }
    ob_status rc = verify_jws(a, token, len, now, NULL, claims, e);
    if (rc != OB_OK)
        return rc;
    pthread_mutex_lock(lock);
    size_t w = 0;
    while (w < CACHE_WAYS && ways[w].claims)
        w++;
    if (w == CACHE_WAYS)
        w = a->cache->sets[set].next++ % CACHE_WAYS;
    json_t *old = ways[w].claims;
    memcpy(ways[w].digest, d, 32);
    ways[w].claims = json_incref(*claims);
    ways[w].t = times_of(*claims);
    pthread_mutex_unlock(lock);
    json_decref(old);
    return OB_OK;
}

ob_status ob_auth_verify_id_token(ob_oidc *o, int issuer, const char *client_id, const char *nonce,
                                  const char *token, size_t len, int64_t now, json_t **claims,
                                  ob_err *e)
{
    *claims = NULL;
    if (!o || issuer < 0 || !client_id || !nonce || !nonce[0])
        return ob_err_set(e, OB_EINVAL,
                          "no provider, client or nonce to check an ID token against");
    /* the same verifier as a bearer token's, over the provider's keys only (no JWKS file
     * keys, no cache: an ID token is used once) */
    ob_auth *a = ob_calloc(1, sizeof *a);
    if (!a)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    a->oidc = o;
    id_expect x = {issuer, client_id, nonce};
    ob_status rc = verify_jws(a, token, len, now, &x, claims, e);
    ob_free(a);
    return rc;
}

/* ---- the jti replay cache (auth.h) ---- */

typedef struct replay_slot {
    uint8_t key[16]; /* keyed digest of iss, NUL, jti */
    int64_t until;   /* exp + leeway; 0: empty */
} replay_slot;

struct ob_auth_replay {
    pthread_mutex_t lock;
    uint8_t hkey[crypto_generichash_KEYBYTES];
    size_t live; /* slots in use, expired or not */
    replay_slot *slots;
    int64_t swept; /* when the last sweep ran: at most one a second, however full */
};

ob_status ob_auth_replay_new(ob_auth_replay **out, ob_err *e)
{
    *out = NULL;
    ob_auth_replay *r = ob_calloc(1, sizeof *r);
    replay_slot *slots = ob_calloc(OB_AUTH_REPLAY_SLOTS, sizeof *slots);
    if (!r || !slots) {
        ob_free(r);
        ob_free(slots);
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    }
    r->slots = slots;
    randombytes_buf(r->hkey, sizeof r->hkey);
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return OB_OK;
}

void ob_auth_replay_free(ob_auth_replay *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    ob_free(r->slots);
    ob_free(r);
}

/* Open addressing with linear probing; a lookup stops at the first empty slot. */
static replay_slot *replay_find(ob_auth_replay *r, const uint8_t key[16], bool *found)
{
    size_t mask = OB_AUTH_REPLAY_SLOTS - 1;
    size_t i = ((size_t)key[0] | (size_t)key[1] << 8 | (size_t)key[2] << 16) & mask;
    for (; r->slots[i].until; i = (i + 1) & mask)
        if (memcmp(r->slots[i].key, key, 16) == 0) {
            *found = true;
            return &r->slots[i];
        }
    *found = false;
    return &r->slots[i];
}

/* Drops the entries whose tokens can no longer verify, re-inserting the others (removing
 * in place would cut other entries' probe chains). */
static void replay_sweep(ob_auth_replay *r, int64_t now)
{
    replay_slot *old = r->slots;
    replay_slot *fresh = ob_calloc(OB_AUTH_REPLAY_SLOTS, sizeof *fresh);
    if (!fresh)
        return; /* the full table stays: writes are refused until memory returns */
    r->slots = fresh;
    r->live = 0;
    for (size_t i = 0; i < OB_AUTH_REPLAY_SLOTS; i++)
        if (old[i].until && old[i].until >= now) {
            bool found;
            *replay_find(r, old[i].key, &found) = old[i];
            r->live++;
        }
    ob_free(old);
}

ob_status ob_auth_replay_check(ob_auth_replay *r, const json_t *claims, int64_t now, ob_err *e)
{
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    bool has;
    int64_t exp = 0;
    if (!jti || !jti[0] || strlen(jti) > 255)
        return ob_err_set(e, OB_EINVAL,
                          "a write needs a token with a unique jti claim (one write per token)");
    if (!numeric_claim(claims, "exp", &has, &exp) || !has)
        return ob_err_set(e, OB_EINVAL, "token has no valid expiry (exp)");
    uint8_t key[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, r->hkey, sizeof r->hkey, sizeof key);
    crypto_generichash_update(&st, (const uint8_t *)(iss ? iss : ""), strlen(iss ? iss : "") + 1);
    crypto_generichash_update(&st, (const uint8_t *)jti, strlen(jti));
    crypto_generichash_final(&st, key, sizeof key);
    int64_t until = exp > INT64_MAX - OB_AUTH_LEEWAY ? INT64_MAX : exp + OB_AUTH_LEEWAY;
    ob_status rc = OB_OK;
    pthread_mutex_lock(&r->lock);
    if (r->live >= OB_AUTH_REPLAY_SLOTS / 4 * 3 && now != r->swept) {
        replay_sweep(r, now);
        r->swept = now;
    }
    bool found;
    replay_slot *slot = replay_find(r, key, &found);
    if (found) {
        rc = ob_err_set(e, OB_EINVAL,
                        "this token was used for a write already (jti replayed); "
                        "get a new token for each write");
    } else if (r->live >= OB_AUTH_REPLAY_SLOTS / 4 * 3) {
        rc = ob_err_set(e, OB_ELIMIT,
                        "too many writes within the tokens' lifetime just now; "
                        "nothing was changed; try again later");
    } else {
        memcpy(slot->key, key, sizeof key);
        slot->until = until < 1 ? 1 : until;
        r->live++;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

void ob_auth_write_digest(const json_t *claims, uint8_t out[32], int64_t *until)
{
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    bool has;
    int64_t exp = 0;
    numeric_claim(claims, "exp", &has, &exp);
    *until = exp > INT64_MAX - OB_AUTH_LEEWAY ? INT64_MAX : exp + OB_AUTH_LEEWAY;
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)(iss ? iss : ""), strlen(iss ? iss : "") + 1);
    crypto_generichash_update(&st, (const uint8_t *)(jti ? jti : ""), strlen(jti ? jti : ""));
    crypto_generichash_final(&st, out, 32);
}

/* ---- claims -> caller ---- */

static const char *claim_str(const json_t *claims, const char *name, size_t max)
{
    const char *s = json_string_value(json_object_get(claims, name));
    if (!s || !s[0] || strlen(s) > max)
        return NULL;
    return s;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* R-ACC-15: the purposes the identity provider allows this caller, from the ob_purposes
 * claim (an array of purpose codes), within what a caller of that kind can ever use;
 * without the claim, the kind's everyday purposes. A code outside the ceiling is a
 * misconfigured identity provider: refused loudly, not dropped. */
static ob_status claim_purposes(const json_t *claims, uint32_t dflt, uint32_t ceiling, ob_caller *c,
                                ob_err *e)
{
    const json_t *a = json_object_get(claims, "ob_purposes");
    if (!a) {
        c->purposes = dflt;
        return OB_OK;
    }
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > 32)
        return ob_err_set(e, OB_EINVAL, "ob_purposes must be a non-empty array of purpose codes");
    uint32_t m = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v)
    {
        int p = ob_purpose_parse(json_string_value(v));
        if (p < 0)
            return ob_err_set(e, OB_EINVAL, "ob_purposes holds an unknown purpose code");
        if (!(ceiling & OB_PURPOSE_BIT(p)))
            return ob_err_set(e, OB_EINVAL,
                              "ob_purposes holds a purpose this kind of caller never has");
        m |= OB_PURPOSE_BIT(p);
    }
    c->purposes = m;
    return OB_OK;
}

#define CITIZEN_PURPOSES  (OB_PURPOSE_BIT(OB_PURPOSE_PATIENT) | OB_PURPOSE_BIT(OB_PURPOSE_ATTORNEY))
#define EVERYDAY_PURPOSES (OB_PURPOSE_BIT(OB_PURPOSE_TREAT) | OB_PURPOSE_BIT(OB_PURPOSE_ETREAT))

static ob_status caller_of(ob_hub *h, const json_t *claims, ob_caller *c, ob_err *e);

ob_status ob_auth_caller(ob_hub *h, const json_t *claims, ob_caller *c, ob_err *e)
{
    ob_status rc = caller_of(h, claims, c, e);
    if (rc == OB_OK) { /* SMART scopes (issue 25): they narrow, never widen */
        const json_t *sc = json_object_get(claims, "scope");
        if (sc && !json_is_string(sc))
            return ob_err_set(e, OB_EINVAL, "the scope claim must be a string");
        ob_api_scopes_parse(sc ? json_string_value(sc) : NULL, c);
    }
    return rc;
}

static ob_status caller_of(ob_hub *h, const json_t *claims, ob_caller *c, ob_err *e)
{
    memset(c, 0, sizeof *c);
    c->actor = c->acting_org = c->on_behalf_of = OB_NONE;
    c->override = OB_OVERRIDE_NONE;
    const char *kind = json_string_value(json_object_get(claims, "ob_kind"));
    if (!kind)
        return ob_err_set(e, OB_EINVAL, "token has no ob_kind claim");
    ob_status rc = OB_OK;
    if (strcmp(kind, "citizen") == 0) {
        c->kind = OB_ACTOR_CITIZEN;
        c->purpose = OB_PURPOSE_PATIENT;
        if (claim_purposes(claims, CITIZEN_PURPOSES, CITIZEN_PURPOSES, c, e) != OB_OK)
            return OB_EINVAL;
        const char *cpr = json_string_value(json_object_get(claims, "cpr"));
        const char *pid = claim_str(claims, "patient", sizeof c->subject - 1);
        ob_cpr parsed;
        if (!cpr && pid) { /* issue 25: SMART's patient claim, our internal id */
            pthread_rwlock_rdlock(&h->lock);
            uint32_t pt = ob_index_find_patient(h->ix, pid);
            if (pt != OB_NONE) {
                c->actor = pt;
                snprintf(c->subject, sizeof c->subject, "%s", h->ix->patients[pt].ext_id);
            }
            pthread_rwlock_unlock(&h->lock);
            return OB_OK;
        }
        if (!cpr)
            return ob_err_set(e, OB_EINVAL, "citizen token has no cpr or patient claim");
        if (ob_cpr_parse(cpr, strlen(cpr), &parsed, NULL) != OB_OK)
            return ob_err_set(e, OB_EINVAL, "citizen token's cpr claim is not a valid CPR number");
        uint8_t hash[16];
        ob_cpr_hash(&h->keys, parsed.digits, hash);
        sodium_memzero(&parsed, sizeof parsed);
        pthread_rwlock_rdlock(&h->lock);
        uint32_t pt = ob_index_find_patient_by_cpr_hash(h->ix, hash);
        if (pt != OB_NONE) {
            c->actor = pt;
            snprintf(c->subject, sizeof c->subject, "%s", h->ix->patients[pt].ext_id);
        }
        pthread_rwlock_unlock(&h->lock);
        return OB_OK;
    }
    if (strcmp(kind, "professional") == 0) {
        c->kind = OB_ACTOR_PROFESSIONAL;
        c->purpose = OB_PURPOSE_TREAT;
        if (claim_purposes(claims, EVERYDAY_PURPOSES, OB_PURPOSES_ALL & ~CITIZEN_PURPOSES, c, e) !=
            OB_OK)
            return OB_EINVAL;
        const char *sub = claim_str(claims, "sub", sizeof c->subject - 1);
        const char *site = claim_str(claims, "site", 255);
        const json_t *obo = json_object_get(claims, "on_behalf_of");
        if (!sub || !site)
            return ob_err_set(e, OB_EINVAL, "professional token needs sub and site claims");
        if (obo && !json_is_string(obo))
            return ob_err_set(e, OB_EINVAL, "on_behalf_of must be a string");
        snprintf(c->subject, sizeof c->subject, "%s", sub);
        pthread_rwlock_rdlock(&h->lock);
        c->actor = ob_index_find_professional(h->ix, sub);
        c->acting_org = ob_index_find_org(h->ix, site);
        if (obo)
            c->on_behalf_of = ob_index_find_professional(h->ix, json_string_value(obo));
        if (c->actor == OB_NONE)
            rc = ob_err_set(e, OB_ENOTFOUND, "token subject is not a known professional");
        else if (c->acting_org == OB_NONE)
            rc = ob_err_set(e, OB_ENOTFOUND, "token site is not a known organisation");
        else if (!ob_index_pro_works_at(h->ix, c->actor, c->acting_org))
            rc = ob_err_set(e, OB_EDENIED, "the professional does not work at the token's site");
        else if (obo && c->on_behalf_of == OB_NONE)
            rc = ob_err_set(e, OB_ENOTFOUND, "on_behalf_of is not a known professional");
        else if (obo && !h->ix->pros[c->on_behalf_of].authorised)
            rc = ob_err_set(e, OB_EDENIED, "on_behalf_of must name an authorised professional");
        /* R-ACC-3, R-LOG-6 (issue 24): on_behalf_of is technical assistance only, for a
         * professional of the site whose management granted it */
        else if (obo && h->ix->pros[c->actor].authorised)
            rc = ob_err_set(e, OB_EDENIED,
                            "an authorised professional acts in their own name; on_behalf_of "
                            "is for technical assistance by non-authorised staff");
        else if (obo && !ob_policy_may_assist(h->ix, c->actor, c->acting_org, c->on_behalf_of,
                                              ob_time_now()))
            rc = ob_err_set(e, OB_EDENIED,
                            "you may act only for professionals of a site whose management "
                            "granted you technical assistance");
        pthread_rwlock_unlock(&h->lock);
        return rc;
    }
    if (strcmp(kind, "system") == 0) {
        c->kind = OB_ACTOR_SOURCE_SYSTEM;
        c->purpose = OB_PURPOSE_TREAT;
        /* a source system reads back what its site produced, for treatment only */
        if (claim_purposes(claims, OB_PURPOSE_BIT(OB_PURPOSE_TREAT),
                           OB_PURPOSE_BIT(OB_PURPOSE_TREAT), c, e) != OB_OK)
            return OB_EINVAL;
        const char *client = claim_str(claims, "client_id", sizeof c->client_id - 1);
        const char *site = claim_str(claims, "site", 255);
        if (!client || !site || !printable(client))
            return ob_err_set(e, OB_EINVAL,
                              "system token needs client_id (at most %zu bytes) "
                              "and site claims",
                              sizeof c->client_id - 1);
        snprintf(c->client_id, sizeof c->client_id, "%s", client);
        snprintf(c->subject, sizeof c->subject, "%s", client);
        /* issue 24: a registered source only, bound to the site it is registered for; the
         * log names it by c->actor (its index among the sources) */
        pthread_rwlock_rdlock(&h->lock);
        c->acting_org = ob_index_find_org(h->ix, site);
        const ob_source *src = ob_index_find_source(h->ix, client);
        if (src)
            c->actor = (uint32_t)(src - h->ix->sources);
        if (c->acting_org == OB_NONE)
            rc = ob_err_set(e, OB_ENOTFOUND, "token site is not a known organisation");
        else if (!src)
            rc = ob_err_set(e, OB_ENOTFOUND, "token client_id is not a registered source system");
        else if (src->site != c->acting_org)
            rc = ob_err_set(e, OB_EDENIED,
                            "the token's site is not the site the client is registered for");
        pthread_rwlock_unlock(&h->lock);
        return rc;
    }
    return ob_err_set(e, OB_EINVAL, "ob_kind must be citizen, professional or system");
}

long ob_http_pct_decode(const char *src, size_t len, char *dst, size_t cap, bool plus)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = src[i];
        if (ch == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = src[i + 1], lo = src[i + 2];
            int v = 0;
            for (int k = 0; k < 2; k++) {
                int d = k ? lo : hi;
                v <<= 4;
                if (d >= '0' && d <= '9')
                    v |= d - '0';
                else if (d >= 'a' && d <= 'f')
                    v |= d - 'a' + 10;
                else if (d >= 'A' && d <= 'F')
                    v |= d - 'A' + 10;
                else
                    return -1;
            }
            ch = (char)v;
            i += 2;
        } else if (ch == '+' && plus) {
            ch = ' ';
        }
        if (n + 1 >= cap)
            return -1;
        dst[n++] = ch;
    }
    if (cap == 0)
        return -1;
    dst[n] = '\0';
    return (long)n;
}

ob_status ob_auth_headers(const json_t *claims, const char *purpose, const char *break_glass,
                          const char *reason, ob_caller *c, ob_err *e)
{
    const char *p = purpose;
    if (!p)
        p = json_string_value(json_object_get(claims, "purpose_of_use"));
    if (p) {
        int code = ob_purpose_parse(p);
        if (code < 0)
            return ob_err_set(e, OB_EINVAL,
                              "unknown purpose of use (HL7 v3 PurposeOfUse such as TREAT, "
                              "ETREAT, PATRQT, PWATRNY, or OIO-IDWS TREATMENT/EMERGENCY/REQUEST)");
        c->purpose = (uint8_t)code;
    }
    c->override = OB_OVERRIDE_NONE;
    c->justification[0] = '\0';
    if (break_glass) {
        int o = ob_override_parse(break_glass);
        if (o < 0 || o == OB_OVERRIDE_NONE)
            return ob_err_set(e, OB_EINVAL, "X-Break-Glass must be consent or vital_interest");
        if (!reason || !reason[0])
            return ob_err_set(e, OB_EINVAL,
                              "X-Break-Glass needs a reason in X-Break-Glass-Reason (R-BLK-4)");
        size_t rl = strlen(reason);
        if (rl > 3 * OB_AUTH_MAX_REASON)
            return ob_err_set(e, OB_EINVAL, "X-Break-Glass-Reason is over %d bytes",
                              OB_AUTH_MAX_REASON);
        long n = ob_http_pct_decode(reason, rl, c->justification, OB_AUTH_MAX_REASON + 1, false);
        if (n < 0) {
            c->justification[0] = '\0';
            return ob_err_set(e, OB_EINVAL,
                              "X-Break-Glass-Reason must be percent-encoded UTF-8 of at most "
                              "%d bytes",
                              OB_AUTH_MAX_REASON);
        }
        /* R-BLK-4, R-CPR-3: a real justification, shown to the patient and kept for
         * ever in the log */
        if (ob_text_justification(c->justification, (size_t)n, e) != OB_OK) {
            c->justification[0] = '\0';
            return OB_EINVAL;
        }
        c->override = (uint8_t)o;
    } else if (reason) {
        return ob_err_set(e, OB_EINVAL, "X-Break-Glass-Reason given without X-Break-Glass");
    }
    return OB_OK;
}

/* ---- development keys and tokens ---- */

static ob_status pub_xy(EVP_PKEY *pk, char **x, char **y, ob_err *e)
{
    BIGNUM *bx = NULL, *by = NULL;
    uint8_t rx[32], ry[32];
    *x = *y = NULL;
    if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &bx) != 1 ||
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &by) != 1 ||
        BN_bn2binpad(bx, rx, 32) != 32 || BN_bn2binpad(by, ry, 32) != 32) {
        BN_free(bx);
        BN_free(by);
        return ob_err_set(e, OB_EINTERNAL, "cannot read the public key coordinates");
    }
    BN_free(bx);
    BN_free(by);
    *x = ob_b64url_encode(rx, 32);
    *y = ob_b64url_encode(ry, 32);
    if (!*x || !*y) {
        ob_free(*x);
        ob_free(*y);
        *x = *y = NULL;
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    }
    return OB_OK;
}

ob_status ob_auth_dev_keygen(const char *pem_path, const char *jwks_path, ob_err *e)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    if (!pk)
        return ob_err_set(e, OB_EINTERNAL, "cannot generate a P-256 key");
    ob_status rc = OB_OK;
    char *x = NULL, *y = NULL;
    json_t *jwks = NULL;
    FILE *f = NULL;
    int fd = open(pem_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 || !(f = fdopen(fd, "w"))) {
        if (fd >= 0)
            close(fd);
        rc = ob_err_set(e, OB_EIO, "cannot write %s", pem_path);
        goto out;
    }
    if (PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1) {
        rc = ob_err_set(e, OB_EIO, "cannot write %s", pem_path);
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        rc = ob_err_set(e, OB_EIO, "cannot write %s", pem_path);
        goto out;
    }
    f = NULL;
    if ((rc = pub_xy(pk, &x, &y, e)))
        goto out;
    char kid[64];
    if ((rc = jwk_thumbprint(x, y, kid, sizeof kid, e)))
        goto out;
    jwks = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:s}]}", "keys", "kty", "EC", "crv",
                     "P-256", "alg", "ES256", "use", "sig", "kid", kid, "x", x, "y", y);
    if (!jwks || json_dump_file(jwks, jwks_path, JSON_INDENT(2)) != 0)
        rc = ob_err_set(e, OB_EIO, "cannot write %s", jwks_path);
out:
    if (f)
        fclose(f);
    json_decref(jwks);
    ob_free(x);
    ob_free(y);
    EVP_PKEY_free(pk);
    return rc;
}

/* s -> n - s (32 bytes big-endian, in place): the low-s twin of a signature. */
static ob_status to_low_s(uint8_t s[32], ob_err *e)
{
    BIGNUM *n = BN_new(), *v = BN_bin2bn(s, 32, NULL);
    bool good = n && v &&
                BN_hex2bn(&n, "FFFFFFFF00000000FFFFFFFFFFFFFFFF"
                              "BCE6FAADA7179E84F3B9CAC2FC632551") &&
                BN_sub(v, n, v) && BN_bn2binpad(v, s, 32) == 32;
    BN_free(n);
    BN_free(v);
    return good ? OB_OK : ob_err_set(e, OB_EINTERNAL, "signing failed");
}

ob_status ob_auth_dev_sign(const char *pem_path, const json_t *claims, char **token, ob_err *e)
{
    *token = NULL;
    FILE *f = fopen(pem_path, "r");
    if (!f)
        return ob_err_set(e, OB_EIO, "cannot open the development key %s (made by overblik init)",
                          pem_path);
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC || EVP_PKEY_get_bits(pk) != 256) {
        EVP_PKEY_free(pk);
        return ob_err_set(e, OB_EINVAL, "%s is not a P-256 private key", pem_path);
    }
    ob_status rc = OB_OK;
    char *x = NULL, *y = NULL, *hdr_s = NULL, *cl_s = NULL, *h64 = NULL, *c64 = NULL;
    char *input = NULL, *s64 = NULL;
    unsigned char *der = NULL;
    json_t *hdr = NULL;
    EVP_MD_CTX *md = NULL;
    ECDSA_SIG *es = NULL;
    char kid[64];
    if ((rc = pub_xy(pk, &x, &y, e)) || (rc = jwk_thumbprint(x, y, kid, sizeof kid, e)))
        goto out;
    hdr = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "JWT", "kid", kid);
    hdr_s = hdr ? json_dumps(hdr, JSON_COMPACT) : NULL;
    cl_s = json_dumps(claims, JSON_COMPACT);
    if (!hdr_s || !cl_s || !(h64 = ob_b64url_encode((const uint8_t *)hdr_s, strlen(hdr_s))) ||
        !(c64 = ob_b64url_encode((const uint8_t *)cl_s, strlen(cl_s)))) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
        goto out;
    }
    size_t ilen = strlen(h64) + 1 + strlen(c64);
    input = ob_malloc(ilen + 1);
    if (!input) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(input, ilen + 1, "%s.%s", h64, c64);
    size_t derlen = 0;
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
        EVP_DigestSign(md, NULL, &derlen, (const unsigned char *)input, ilen) != 1 ||
        !(der = OPENSSL_malloc(derlen)) ||
        EVP_DigestSign(md, der, &derlen, (const unsigned char *)input, ilen) != 1) {
        rc = ob_err_set(e, OB_EINTERNAL, "signing failed");
        goto out;
    }
    const unsigned char *p = der;
    es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    uint8_t raw[64];
    if (!es || BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32) != 32) {
        rc = ob_err_set(e, OB_EINTERNAL, "signing failed");
        goto out;
    }
    if (!ob_jwk_es256_low_s(raw + 32) &&
        (rc = to_low_s(raw + 32, e)) != OB_OK) /* the verifier's form */
        goto out;
    if (!(s64 = ob_b64url_encode(raw, 64))) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
        goto out;
    }
    size_t tlen = ilen + 1 + strlen(s64) + 1;
    *token = ob_malloc(tlen);
    if (!*token) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(*token, tlen, "%s.%s", input, s64);
out:
    ECDSA_SIG_free(es);
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    json_decref(hdr);
    free(hdr_s);
    free(cl_s);
    ob_free(h64);
    ob_free(c64);
    ob_free(input);
    ob_free(s64);
    ob_free(x);
    ob_free(y);
    EVP_PKEY_free(pk);
    return rc;
}
