/* test_oidc.c - tokens from OpenID Connect identity providers (issue 25, R-API-6):
 * discovery, key sets fetched over real HTTP from a small provider served here
 * (libmicrohttpd on loopback), RS256 / ES256 / EdDSA, key rotation and its rate limit,
 * and the claim mapping. Table-driven: one row per good token and per attack (alg
 * confusion, one provider's key for another's claims, a weak or encryption key, a
 * citizen provider minting a professional, a missing prefix, audience, expiry). Tokens
 * are made here with OpenSSL directly, as a provider would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <microhttpd.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>

#include "core/alloc.h"
#include "core/time.h"
#include "http/auth.h"
#include "http/jwk.h"
#include "http/oidc.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* ---- the provider ---- */

static struct {
    struct MHD_Daemon *d;
    unsigned port;
    char base[64];
    pthread_mutex_t mu;
    char jwks_a[8192], jwks_b[2048];
    int fetches_a; /* GET /a/jwks */
    EVP_PKEY *rsa, *ec, *ed, *weak, *rsa2, *b_ec;
    ob_oidc *oidc;
    ob_auth *auth;
    int64_t now;
} P;

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_len, void **ptr)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_len, (void)ptr;
    char body[8192];
    unsigned status = 200;
    pthread_mutex_lock(&P.mu);
    if (strcmp(url, "/a/.well-known/openid-configuration") == 0)
        snprintf(body, sizeof body,
                 "{\"issuer\":\"%s/a\",\"jwks_uri\":\"%s/a/jwks\",\"authorization_endpoint\":"
                 "\"%s/a/auth\",\"token_endpoint\":\"%s/a/token\"}",
                 P.base, P.base, P.base, P.base);
    else if (strcmp(url, "/b/.well-known/openid-configuration") == 0)
        snprintf(body, sizeof body, "{\"issuer\":\"%s/b\",\"jwks_uri\":\"%s/b/jwks\"}", P.base,
                 P.base);
    else if (strcmp(url, "/c/.well-known/openid-configuration") == 0) /* mix-up */
        snprintf(body, sizeof body, "{\"issuer\":\"%s/a\",\"jwks_uri\":\"%s/a/jwks\"}", P.base,
                 P.base);
    else if (strcmp(url, "/a/jwks") == 0) {
        P.fetches_a++;
        snprintf(body, sizeof body, "%s", P.jwks_a);
    } else if (strcmp(url, "/b/jwks") == 0)
        snprintf(body, sizeof body, "%s", P.jwks_b);
    else {
        status = 404;
        snprintf(body, sizeof body, "{}");
    }
    pthread_mutex_unlock(&P.mu);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* ---- keys and tokens, as a provider makes them ---- */

static char *b64(const uint8_t *p, size_t n)
{
    return ob_b64url_encode(p, n);
}

static char *bn_b64(EVP_PKEY *k, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    assert_true(EVP_PKEY_get_bn_param(k, param, &bn));
    uint8_t buf[1024];
    int n = pad ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
    BN_free(bn);
    return b64(buf, (size_t)n);
}

static void jwk_of(EVP_PKEY *k, const char *kid, const char *extra, char *out, size_t cap)
{
    char *a = NULL, *b = NULL;
    if (EVP_PKEY_is_a(k, "RSA")) {
        a = bn_b64(k, OSSL_PKEY_PARAM_RSA_N, 0);
        b = bn_b64(k, OSSL_PKEY_PARAM_RSA_E, 0);
        snprintf(out, cap, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}", kid, a,
                 b, extra);
    } else if (EVP_PKEY_is_a(k, "EC")) {
        a = bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, 32);
        b = bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
        snprintf(out, cap,
                 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}",
                 kid, a, b, extra);
    } else {
        uint8_t raw[32];
        size_t n = sizeof raw;
        assert_true(EVP_PKEY_get_raw_public_key(k, raw, &n));
        a = b64(raw, n);
        snprintf(out, cap, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"%s\",\"x\":\"%s\"%s}",
                 kid, a, extra);
    }
    ob_free(a);
    ob_free(b);
}

typedef enum { K_RSA, K_EC, K_ED, K_WEAK, K_RSA2, K_B_EC, K_HS_PEM } key_id;

static EVP_PKEY *key_of(key_id k)
{
    EVP_PKEY *m[] = {P.rsa, P.ec, P.ed, P.weak, P.rsa2, P.b_ec, P.rsa};
    return m[k];
}

/* header.claims.signature; the signature by key k under alg (as the header says) */
static char *mint(const char *alg, const char *kid, key_id k, const char *claims)
{
    char hdr[256], *h64, *c64, input[8192], *s64, *tok;
    snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", alg, kid);
    h64 = b64((const uint8_t *)hdr, strlen(hdr));
    c64 = b64((const uint8_t *)claims, strlen(claims));
    snprintf(input, sizeof input, "%s.%s", h64, c64);
    uint8_t sig[1024];
    size_t sl = sizeof sig;
    if (k == K_HS_PEM) { /* alg confusion: the RSA public key's PEM as the HMAC secret */
        BIO *bio = BIO_new(BIO_s_mem());
        PEM_write_bio_PUBKEY(bio, P.rsa);
        char *pem = NULL;
        long pl = BIO_get_mem_data(bio, &pem);
        unsigned int hl = 0;
        HMAC(EVP_sha256(), pem, (int)pl, (const uint8_t *)input, strlen(input), sig, &hl);
        sl = hl;
        BIO_free(bio);
    } else {
        EVP_PKEY *pk = key_of(k);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        const EVP_MD *h = EVP_PKEY_is_a(pk, "ED25519") ? NULL : EVP_sha256();
        assert_int_equal(EVP_DigestSignInit(md, NULL, h, NULL, pk), 1);
        assert_int_equal(EVP_DigestSign(md, sig, &sl, (const uint8_t *)input, strlen(input)), 1);
        EVP_MD_CTX_free(md);
        if (EVP_PKEY_is_a(pk, "EC")) { /* DER -> raw R||S; high or low s as it comes */
            const uint8_t *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
            assert_non_null(es);
            BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
            ECDSA_SIG_free(es);
            sl = 64;
        }
    }
    s64 = b64(sig, sl);
    size_t n = strlen(input) + strlen(s64) + 2;
    tok = ob_malloc(n);
    snprintf(tok, n, "%s.%s", input, s64);
    ob_free(h64);
    ob_free(c64);
    ob_free(s64);
    return tok;
}

static void set_jwks_a(const char *kids[], EVP_PKEY *keys[], const char *extras[], size_t n)
{
    char buf[8192] = "{\"keys\":[", one[2048];
    for (size_t i = 0; i < n; i++) {
        jwk_of(keys[i], kids[i], extras ? extras[i] : "", one, sizeof one);
        strcat(buf, i ? "," : "");
        strcat(buf, one);
    }
    strcat(buf, "]}");
    pthread_mutex_lock(&P.mu);
    snprintf(P.jwks_a, sizeof P.jwks_a, "%s", buf);
    pthread_mutex_unlock(&P.mu);
}

static void standard_keys(void)
{
    const char *kids[] = {"a-rsa", "a-ec", "a-ed", "a-weak", "a-enc"};
    EVP_PKEY *keys[] = {P.rsa, P.ec, P.ed, P.weak, P.rsa2};
    const char *extras[] = {"", ",\"alg\":\"ES256\",\"use\":\"sig\"", "", "", ",\"use\":\"enc\""};
    set_jwks_a(kids, keys, extras, 5);
}

static int setup(void **state)
{
    (void)state;
    pthread_mutex_init(&P.mu, NULL);
    P.rsa = EVP_RSA_gen(2048);
    P.rsa2 = EVP_RSA_gen(2048);
    P.weak = EVP_RSA_gen(1024);
    P.ec = EVP_EC_gen("P-256");
    P.b_ec = EVP_EC_gen("P-256");
    P.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_true(P.rsa && P.rsa2 && P.weak && P.ec && P.b_ec && P.ed);
    P.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                           serve, NULL, MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
    assert_non_null(P.d);
    P.port = MHD_get_daemon_info(P.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    snprintf(P.base, sizeof P.base, "http://127.0.0.1:%u", P.port);
    standard_keys();
    char one[1024];
    jwk_of(P.b_ec, "b-ec", "", one, sizeof one);
    snprintf(P.jwks_b, sizeof P.jwks_b, "{\"keys\":[%s]}", one);
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{\"refresh_min_seconds\": 30, \"issuers\": ["
             "{\"issuer\":\"%s/a\",\"audience\":\"https://overblik.test/fhir\",\"kind\":"
             "\"professional\",\"smart\":true,\"claims\":{\"sub\":{\"claim\":\"fhirUser\","
             "\"prefix\":\"Practitioner/\"},\"site\":\"sor\"}},"
             "{\"issuer\":\"%s/b\",\"audience\":\"overblik\",\"kind\":\"citizen\","
             "\"claims\":{\"cpr\":\"dk:cpr\"}},"
             "{\"issuer\":\"%s/c\",\"audience\":\"overblik\",\"kind\":\"citizen\","
             "\"claims\":{\"patient\":\"patient\"}}]}",
             P.base, P.base, P.base);
    json_t *j = json_loads(cfg, 0, NULL);
    ob_err e = {0};
    assert_int_equal(ob_oidc_new(j, &P.oidc, &e), OB_OK);
    json_decref(j);
    P.now = (int64_t)ob_time_now();
    /* a and b have keys; c's discovery names another issuer (a mix-up), so none */
    assert_int_equal(ob_oidc_refresh_all(P.oidc, P.now, NULL, NULL), 2);
    json_t *jwks = json_loads("{\"keys\":[]}", 0, NULL);
    ob_auth_config ac = {"overblik", NULL, P.oidc};
    /* no JWKS file keys at all: ob_auth_new wants one, so give a throwaway EC key */
    char fk[1024], fj[1100];
    EVP_PKEY *file_key = EVP_EC_gen("P-256");
    jwk_of(file_key, "file-1", "", fk, sizeof fk);
    snprintf(fj, sizeof fj, "{\"keys\":[%s]}", fk);
    json_decref(jwks);
    jwks = json_loads(fj, 0, NULL);
    assert_int_equal(ob_auth_new(jwks, &ac, &P.auth, &e), OB_OK);
    json_decref(jwks);
    EVP_PKEY_free(file_key);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ob_auth_free(P.auth);
    ob_oidc_free(P.oidc);
    MHD_stop_daemon(P.d);
    EVP_PKEY *all[] = {P.rsa, P.rsa2, P.weak, P.ec, P.b_ec, P.ed};
    for (size_t i = 0; i < 6; i++)
        EVP_PKEY_free(all[i]);
    return 0;
}

/* ---- the table ---- */

typedef struct row {
    const char *name;
    char issuer;     /* 'a' professional (smart), 'b' citizen, 'c' no keys, 'x' unknown */
    const char *alg; /* as the header says */
    const char *kid;
    key_id key;
    const char *claims;  /* the rest of the claims (iss, aud, exp, jti are added) */
    const char *aud;     /* NULL = the issuer's configured audience */
    long exp;            /* seconds from now; 0 = 300 */
    const char *refusal; /* NULL = accepted */
    const char *want_kind, *want_sub, *want_site, *absent;
} row;

#define PRO "\"fhirUser\":\"Practitioner/gp-1-dr0\",\"sor\":\"gp-1\""

static const row rows[] = {
    {"RS256 from the professionals' provider", 'a', "RS256", "a-rsa", K_RSA, PRO, NULL, 0, NULL,
     "professional", "gp-1-dr0", "gp-1"},
    {"ES256 (high or low s: a provider's signer is not ours)", 'a', "ES256", "a-ec", K_EC, PRO,
     NULL, 0, NULL, "professional", "gp-1-dr0", "gp-1"},
    {"EdDSA (Ed25519)", 'a', "EdDSA", "a-ed", K_ED, PRO, NULL, 0, NULL, "professional", "gp-1-dr0",
     "gp-1"},
    {"the token's own ob_kind, sub and site are not read", 'a', "RS256", "a-rsa", K_RSA,
     PRO ",\"ob_kind\":\"system\",\"sub\":\"gp-2-dr0\",\"site\":\"gp-2\",\"client_id\":\"x\"", NULL,
     0, NULL, "professional", "gp-1-dr0", "gp-1", "client_id"},
    {"a citizens' provider cannot mint a professional", 'b', "ES256", "b-ec", K_B_EC,
     "\"dk:cpr\":\"0101901234\",\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":"
     "\"gp-1\"",
     NULL, 0, NULL, "citizen", NULL, NULL, "site"},
    {"one provider's key for another's claims (iss b, kid of a)", 'b', "RS256", "a-rsa", K_RSA,
     "\"dk:cpr\":\"0101901234\"", NULL, 0, "kid"},
    {"a's kid over b's signature", 'a', "ES256", "a-ec", K_B_EC, PRO, NULL, 0, "does not verify"},
    {"alg none", 'a', "none", "a-rsa", K_RSA, PRO, NULL, 0, "algorithm"},
    {"HS256 keyed with the RSA public key's PEM", 'a', "HS256", "a-rsa", K_HS_PEM, PRO, NULL, 0,
     "algorithm"},
    {"RS256 header over the EC key's kid", 'a', "RS256", "a-ec", K_RSA, PRO, NULL, 0,
     "not its key's"},
    {"ES256 header over the RSA key's kid", 'a', "ES256", "a-rsa", K_EC, PRO, NULL, 0,
     "not its key's"},
    {"a 1024-bit RSA key is never a key", 'a', "RS256", "a-weak", K_WEAK, PRO, NULL, 0, "kid"},
    {"an encryption key is never a signing key", 'a', "RS256", "a-enc", K_RSA2, PRO, NULL, 0,
     "kid"},
    {"an unknown issuer's token meets only the file's keys", 'x', "RS256", "a-rsa", K_RSA, PRO,
     NULL, 0, "kid"},
    {"a provider whose discovery names another issuer has no keys", 'c', "RS256", "a-rsa", K_RSA,
     "\"patient\":\"pt-0\"", NULL, 0, "kid"},
    {"the prefix is required", 'a', "RS256", "a-rsa", K_RSA,
     "\"fhirUser\":\"Patient/pt-0\",\"sor\":\"gp-1\"", NULL, 0, "configured form"},
    {"another audience", 'a', "RS256", "a-rsa", K_RSA, PRO, "overblik", 0, "audience"},
    {"expired", 'a', "RS256", "a-rsa", K_RSA, PRO, NULL, -600, "expired"},
};

static void run_row(const row *r)
{
    char iss[128], claims[2048];
    if (r->issuer == 'x')
        snprintf(iss, sizeof iss, "https://elsewhere.test");
    else
        snprintf(iss, sizeof iss, "%s/%c", P.base, r->issuer);
    const char *aud = r->aud             ? r->aud
                      : r->issuer == 'a' ? "https://overblik.test/fhir"
                                         : "overblik";
    long exp = r->exp ? r->exp : 300;
    snprintf(claims, sizeof claims,
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"j-%s\",%s}", iss,
             aud, (long long)(P.now + exp), (long long)(P.now - 10), r->kid, r->claims);
    char *tok = mint(r->alg, r->kid, r->key, claims);
    json_t *cl = NULL;
    ob_err e = {0};
    ob_status rc = ob_auth_verify(P.auth, tok, strlen(tok), P.now, &cl, &e);
    if (r->refusal) {
        if (rc == OB_OK || !strstr(e.msg, r->refusal))
            fail_msg("%s: wanted a refusal with '%s', got %d '%s'", r->name, r->refusal, rc, e.msg);
    } else {
        if (rc != OB_OK)
            fail_msg("%s: refused: %s", r->name, e.msg);
        assert_string_equal(json_string_value(json_object_get(cl, "ob_kind")), r->want_kind);
        if (r->want_sub)
            assert_string_equal(json_string_value(json_object_get(cl, "sub")), r->want_sub);
        if (r->want_site)
            assert_string_equal(json_string_value(json_object_get(cl, "site")), r->want_site);
        if (r->absent && json_object_get(cl, r->absent))
            fail_msg("%s: the claim %s came through unmapped", r->name, r->absent);
        assert_non_null(json_object_get(cl, "jti")); /* writes need it (replay cache) */
        json_decref(cl);
    }
    ob_free(tok);
}

static void test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        run_row(&rows[i]);
}

/* The provider rotates: a token under a new kid is accepted after one fetch; a stream of
 * invented kids does not make us fetch again within refresh_min_seconds. */
static void test_rotation_and_rate_limit(void **state)
{
    (void)state;
    char claims[512];
    snprintf(
        claims, sizeof claims,
        "{\"iss\":\"%s/a\",\"aud\":\"https://overblik.test/fhir\",\"exp\":%lld,\"jti\":\"r1\"," PRO
        "}",
        P.base, (long long)(P.now + 300));
    const char *kids[] = {"a-rsa-2026"};
    EVP_PKEY *keys[] = {P.rsa2};
    set_jwks_a(kids, keys, NULL, 1);
    int before = P.fetches_a;
    int64_t later = P.now + 31; /* past the rate limit of the first fetch */
    char *tok = mint("RS256", "a-rsa-2026", K_RSA2, claims);
    json_t *cl = NULL;
    ob_err e = {0};
    assert_int_equal(ob_auth_verify(P.auth, tok, strlen(tok), later, &cl, &e), OB_OK);
    json_decref(cl);
    ob_free(tok);
    assert_int_equal(P.fetches_a, before + 1);
    for (int i = 0; i < 50; i++) {
        char kid[32];
        snprintf(kid, sizeof kid, "invented-%d", i);
        tok = mint("RS256", kid, K_RSA2, claims);
        assert_int_not_equal(ob_auth_verify(P.auth, tok, strlen(tok), later + 1, &cl, &e), OB_OK);
        ob_free(tok);
    }
    assert_int_equal(P.fetches_a, before + 1);
    /* the old key left the set: a new token under it is refused (a cached one would not be) */
    tok = mint("RS256", "a-rsa", K_RSA, claims);
    assert_int_not_equal(ob_auth_verify(P.auth, tok, strlen(tok), later + 40, &cl, &e), OB_OK);
    ob_free(tok);
    standard_keys();
}

static void test_smart_endpoints(void **state)
{
    (void)state;
    char az[OB_OIDC_URL_MAX], tk[OB_OIDC_URL_MAX], iss[OB_OIDC_URL_MAX], want[128];
    assert_true(ob_oidc_smart(P.oidc, P.now, az, tk, iss, sizeof az));
    snprintf(want, sizeof want, "%s/a/auth", P.base);
    assert_string_equal(az, want);
    snprintf(want, sizeof want, "%s/a/token", P.base);
    assert_string_equal(tk, want);
}

/* Settings that must be refused when the server starts, each with its reason. */
static void test_config_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"{\"issuers\":[{\"issuer\":\"http://idp.example\",\"audience\":\"o\",\"kind\":"
         "\"citizen\",\"claims\":{\"cpr\":\"c\"}}]}",
         "https"},
        {"{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"admin\","
         "\"claims\":{}}]}",
         "kind"},
        {"{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"citizen\","
         "\"claims\":{\"site\":\"sor\"}}]}",
         "not a claim"},
        {"{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"professional\","
         "\"claims\":{\"sub\":\"sub\"}}]}",
         "sub and site"},
        {"{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"citizen\","
         "\"claims\":{\"cpr\":\"c\"},\"jwks\":\"x\"}]}",
         "unknown setting"},
        {"{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"citizen\","
         "\"claims\":{\"cpr\":\"c\"}},{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":"
         "\"citizen\",\"claims\":{\"cpr\":\"c\"}}]}",
         "repeats"},
        {"{\"issuers\":[]}", "issuers"},
        /* issue 26: the web login's settings of a provider */
        {"{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"citizen\","
         "\"claims\":{\"cpr\":\"c\"},\"client_id\":\"web\",\"client_secret\":\"s\"}]}",
         "needs client_id, redirect_uri"},
        {"{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"citizen\","
         "\"claims\":{\"cpr\":\"c\"},\"client_id\":\"web\",\"client_secret\":\"s\","
         "\"client_secret_file\":\"/x\",\"redirect_uri\":\"https://h/auth/callback\"}]}",
         "one of client_secret"},
        {"{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"citizen\","
         "\"claims\":{\"cpr\":\"c\"},\"client_id\":\"web\",\"client_secret\":\"s\","
         "\"redirect_uri\":\"https://evil.example/steal\"}]}",
         "/auth/callback"},
        {"{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"citizen\","
         "\"claims\":{\"cpr\":\"c\"},\"client_id\":\"web\",\"client_secret\":\"s\","
         "\"redirect_uri\":\"http://h.example/auth/callback\"}]}",
         "https"},
        {"{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"citizen\","
         "\"claims\":{\"cpr\":\"c\"},\"client_id\":\"web\",\"client_secret_file\":"
         "\"/nonexistent/secret\",\"redirect_uri\":\"https://h/auth/callback\"}]}",
         "cannot be read"},
        {"{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"citizen\","
         "\"name\":\"x\",\"claims\":{\"cpr\":\"c\"}},{\"issuer\":\"https://j\",\"audience\":"
         "\"o\",\"kind\":\"citizen\",\"name\":\"x\",\"claims\":{\"cpr\":\"c\"}}]}",
         "give each a"},
        {"{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"citizen\","
         "\"name\":\"Bad Name\",\"claims\":{\"cpr\":\"c\"}}]}",
         "lower-case"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i].json, 0, NULL);
        assert_non_null(j);
        ob_oidc *o = NULL;
        ob_err e = {0};
        ob_status rc = ob_oidc_new(j, &o, &e);
        json_decref(j);
        if (rc == OB_OK || !strstr(e.msg, bad[i].why))
            fail_msg("config %zu: wanted '%s', got %d '%s'", i, bad[i].why, rc, e.msg);
    }
    /* names: unnamed providers of one kind get distinct names; only those with a client get
     * a label (the login page's list), their name by default */
    json_t *j = json_loads(
        "{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"o\",\"kind\":\"citizen\","
        "\"claims\":{\"cpr\":\"c\"}},{\"issuer\":\"https://j\",\"audience\":\"o\",\"kind\":"
        "\"citizen\",\"claims\":{\"cpr\":\"c\"},\"client_id\":\"web\",\"client_secret\":\"s\","
        "\"redirect_uri\":\"https://h/auth/callback\"}]}",
        0, NULL);
    ob_oidc *o = NULL;
    ob_err e = {0};
    assert_int_equal(ob_oidc_new(j, &o, &e), OB_OK);
    json_decref(j);
    assert_string_equal(ob_oidc_name(o, 0), "citizen");
    assert_string_equal(ob_oidc_name(o, 1), "citizen-1");
    assert_null(ob_oidc_label(o, 0));
    assert_string_equal(ob_oidc_label(o, 1), "citizen-1");
    assert_int_equal(ob_oidc_find_name(o, "citizen-1"), 1);
    assert_int_equal(ob_oidc_find_name(o, "nobody"), -1);
    ob_oidc_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_rotation_and_rate_limit),
        cmocka_unit_test(test_smart_endpoints),
        cmocka_unit_test(test_config_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
