/* test_auth.c - bearer-token authentication (R-API-2), table-driven: one row per kind
 * of good token and per way a token can be wrong. Tokens are made here with OpenSSL
 * directly (not with ob_auth_dev_sign), so a shared mistake in signing and verifying
 * cannot hide; the JOSE raw R||S form is produced from OpenSSL's DER by hand, as any
 * standard issuer would. The claims are then mapped against a small hub (one clinic,
 * a doctor, a secretary, a patient). Also: purpose and break-the-glass headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "core/time.h"
#include "http/auth.h"
#include "store/sqlite/log_index.h"

/* failure rows leave the mapping expectations out */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static const char *const records[] = {
    "{\"type\":\"org\",\"id\":\"gp-1\",\"kind\":\"gp_clinic\",\"name\":\"Lægerne "
    "Roskilde\",\"provider_number\":\"100007\"}",
    "{\"type\":\"org\",\"id\":\"gp-2\",\"kind\":\"gp_clinic\",\"name\":\"Lægerne "
    "Køge\",\"provider_number\":\"100008\"}",
    "{\"type\":\"professional\",\"id\":\"gp-1-dr0\",\"name\":\"Anne "
    "Holm\",\"role\":\"doctor\",\"authorisation_id\":\"0A1B2\",\"sites\":[\"gp-1\"]}",
    "{\"type\":\"professional\",\"id\":\"gp-1-sec0\",\"name\":\"Bo "
    "Dal\",\"role\":\"secretary\",\"sites\":[\"gp-1\"]}",
    "{\"type\":\"patient\",\"id\":\"pt-0\",\"name\":\"Camilla "
    "Christensen\",\"cpr\":\"010190-1234\",\"gp\":\"gp-1\"}",
    /* issue 24: the secretary assists gp-1's doctors; epj-7 is gp-1's registered source */
    "{\"type\":\"permission\",\"professional\":\"gp-1-sec0\",\"site\":\"gp-1\",\"kind\":"
    "\"assist\",\"from\":\"2020-01-01\"}",
    "{\"type\":\"professional\",\"id\":\"gp-2-dr0\",\"name\":\"Ida "
    "Vang\",\"role\":\"doctor\",\"authorisation_id\":\"0A1B9\",\"sites\":[\"gp-2\"]}",
    "{\"type\":\"source\",\"client_id\":\"epj-7\",\"site\":\"gp-1\",\"go_live\":"
    "\"2020-01-01\"}",
};

static struct {
    char db[512], keyfile[600];
    ob_hub *hub;
    EVP_PKEY *key, *other;
    char jwks_text[1024];
    ob_auth *auth;
    int64_t now;
} F;

static json_t *next_record(void *ctx, size_t *line, ob_err *e)
{
    size_t *i = ctx, fixed = sizeof records / sizeof records[0];
    (void)e;
    *line = *i + 1;
    if (*i < fixed)
        return json_loads(records[(*i)++], 0, NULL);
    /* more patients after pt-0, so the index's arrays grow (and move) several times
     * before the CPR lookups: a regression test for keys borrowed from a moved array */
    if (*i >= fixed + 100)
        return NULL;
    size_t k = (*i)++ - fixed;
    char id[32], cpr[16];
    snprintf(id, sizeof id, "pt-x%zu", k);
    snprintf(cpr, sizeof cpr, "020190-1%03zu", k);
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "patient", "id", id, "name",
                     "Test Person", "cpr", cpr, "gp", "gp-1");
}

static char *b64(const uint8_t *in, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static char *coord(EVP_PKEY *k, const char *which)
{
    BIGNUM *bn = NULL;
    uint8_t raw[32];
    assert_int_equal(EVP_PKEY_get_bn_param(k, which, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, raw, 32), 32);
    BN_free(bn);
    return b64(raw, 32);
}

static int setup(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    const char *dir = getenv("TMPDIR");
    snprintf(F.db, sizeof F.db, "%s/obauth-%ld-%u.db", dir ? dir : "/tmp", (long)getpid(),
             (unsigned)randombytes_random());
    ob_hub_key_path(F.db, F.keyfile, sizeof F.keyfile);
    ob_keys k;
    ob_err e = {0};
    assert_int_equal(ob_keys_generate(&k, &e), OB_OK);
    assert_int_equal(ob_keys_save(&k, F.keyfile, &e), OB_OK);
    ob_hub_options ho = {F.db, F.keyfile, false, NULL};
    assert_int_equal(ob_hub_open(&ho, &F.hub, &e), OB_OK);
    size_t i = 0, count = 0;
    assert_int_equal(ob_hub_import(F.hub, next_record, &i, NULL, NULL, &count, &e), OB_OK);
    F.key = EVP_EC_gen("P-256");
    F.other = EVP_EC_gen("P-256");
    assert_non_null(F.key);
    assert_non_null(F.other);
    char *x = coord(F.key, OSSL_PKEY_PARAM_EC_PUB_X), *y = coord(F.key, OSSL_PKEY_PARAM_EC_PUB_Y);
    snprintf(F.jwks_text, sizeof F.jwks_text,
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\",\"alg\":\"ES256\","
             "\"x\":\"%s\",\"y\":\"%s\"}]}",
             x, y);
    free(x);
    free(y);
    json_t *jwks = json_loads(F.jwks_text, 0, NULL);
    ob_auth_config cfg = {"overblik", "https://idp.test"};
    assert_int_equal(ob_auth_new(jwks, &cfg, &F.auth, &e), OB_OK);
    json_decref(jwks);
    F.now = (int64_t)ob_time_now();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ob_auth_free(F.auth);
    EVP_PKEY_free(F.key);
    EVP_PKEY_free(F.other);
    ob_hub_close(F.hub);
    char b[700];
    unlink(F.db);
    ob_keys_remove(F.keyfile);
    snprintf(b, sizeof b, "%s-wal", F.db);
    unlink(b);
    snprintf(b, sizeof b, "%s-shm", F.db);
    unlink(b);
    ob_log_index_remove(F.db);
    return 0;
}

typedef enum sig_mode {
    SIG_ES256,
    SIG_OTHER_KEY,
    SIG_NONE,
    SIG_HS256_PUB,
    SIG_DER,
    SIG_FLIP,
    SIG_HIGH_S /* the valid signature's malleable twin (r, n - s) */
} sig_mode;

/* Builds a compact JWS with OpenSSL. */
static char *make_token(const char *header, const char *claims, sig_mode mode)
{
    char *h = b64((const uint8_t *)header, strlen(header));
    char *c = b64((const uint8_t *)claims, strlen(claims));
    size_t ilen = strlen(h) + 1 + strlen(c);
    char *input = malloc(ilen + 1);
    snprintf(input, ilen + 1, "%s.%s", h, c);
    uint8_t sig[128];
    size_t slen = 0;
    if (mode == SIG_HS256_PUB) {
        unsigned int n = 0;
        HMAC(EVP_sha256(), F.jwks_text, (int)strlen(F.jwks_text), (const uint8_t *)input, ilen, sig,
             &n);
        slen = n;
    } else if (mode != SIG_NONE) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        uint8_t der[80];
        size_t dlen = sizeof der;
        assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
                                            mode == SIG_OTHER_KEY ? F.other : F.key),
                         1);
        assert_int_equal(EVP_DigestSign(md, der, &dlen, (const uint8_t *)input, ilen), 1);
        EVP_MD_CTX_free(md);
        if (mode == SIG_DER) {
            memcpy(sig, der, dlen);
            slen = dlen;
        } else {
            const uint8_t *p = der;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
            assert_non_null(es);
            BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
            /* OpenSSL signs with either s; the verifier takes only s <= n/2 */
            BIGNUM *n = NULL, *hs = BN_new(), *sv = BN_dup(ECDSA_SIG_get0_s(es));
            BN_hex2bn(&n, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
            BN_rshift1(hs, n);
            if ((BN_cmp(sv, hs) > 0) != (mode == SIG_HIGH_S))
                BN_sub(sv, n, sv);
            BN_bn2binpad(sv, sig + 32, 32);
            BN_free(n);
            BN_free(hs);
            BN_free(sv);
            ECDSA_SIG_free(es);
            slen = 64;
            if (mode == SIG_FLIP)
                sig[10] ^= 1;
        }
    }
    char *s = slen ? b64(sig, slen) : strdup("");
    size_t tlen = ilen + 1 + strlen(s) + 1;
    char *tok = malloc(tlen);
    snprintf(tok, tlen, "%s.%s", input, s);
    free(h);
    free(c);
    free(input);
    free(s);
    return tok;
}

#define HDR_OK "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k1\"}"
#define NOEXP  INT64_MIN

typedef struct row {
    const char *name;
    const char *header;
    const char *claims; /* ob-specific claims, without the braces */
    int64_t exp, nbf, iat;
    const char *aud, *iss;
    sig_mode sig;
    const char *raw; /* a literal token instead of one built from the fields */
    /* expectations */
    const char *verify_err; /* NULL: verifies */
    ob_status caller_rc;
    uint8_t kind;
    bool has_actor;
    const char *subject;
} row;

static const row rows[] = {
    {"professional", HDR_OK, "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"",
     300, NOEXP, 0, "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_OK,
     OB_ACTOR_PROFESSIONAL, true, "gp-1-dr0"},
    {"assistant on behalf of", HDR_OK,
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-sec0\",\"site\":\"gp-1\","
     "\"on_behalf_of\":\"gp-1-dr0\"",
     300, NOEXP, 0, "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_OK,
     OB_ACTOR_PROFESSIONAL, true, "gp-1-sec0"},
    {"citizen", HDR_OK, "\"ob_kind\":\"citizen\",\"cpr\":\"0101901234\"", 300, NOEXP, 0, "overblik",
     "https://idp.test", SIG_ES256, NULL, NULL, OB_OK, OB_ACTOR_CITIZEN, true, "pt-0"},
    {"citizen with hyphen, aud array", HDR_OK, "\"ob_kind\":\"citizen\",\"cpr\":\"010190-1234\"",
     300, 30, 0, "[\"other\",\"overblik\"]", "https://idp.test", SIG_ES256, NULL, NULL, OB_OK,
     OB_ACTOR_CITIZEN, true, "pt-0"},
    {"citizen without a record", HDR_OK, "\"ob_kind\":\"citizen\",\"cpr\":\"0202024321\"", 300,
     NOEXP, 0, "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_OK, OB_ACTOR_CITIZEN,
     false, ""},
    {"issue 25: a citizen by internal id (the patient claim), no CPR in the token", HDR_OK,
     "\"ob_kind\":\"citizen\",\"patient\":\"pt-0\"", 300, NOEXP, 0, "overblik", "https://idp.test",
     SIG_ES256, NULL, NULL, OB_OK, OB_ACTOR_CITIZEN, true, "pt-0"},
    {"issue 25: a patient claim naming no one is no one", HDR_OK,
     "\"ob_kind\":\"citizen\",\"patient\":\"pt-nobody\"", 300, NOEXP, 0, "overblik",
     "https://idp.test", SIG_ES256, NULL, NULL, OB_OK, OB_ACTOR_CITIZEN, false, ""},
    {"issue 25: the cpr claim wins over a patient claim", HDR_OK,
     "\"ob_kind\":\"citizen\",\"cpr\":\"0202024321\",\"patient\":\"pt-0\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_OK, OB_ACTOR_CITIZEN, false, ""},
    {"system", HDR_OK, "\"ob_kind\":\"system\",\"client_id\":\"epj-7\",\"site\":\"gp-1\"", 300,
     NOEXP, 0, "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_OK, OB_ACTOR_SOURCE_SYSTEM,
     true /* its registration (issue 24) */, "epj-7"},
    {"leeway: expired 30 s ago", HDR_OK,
     "\"ob_kind\":\"system\",\"client_id\":\"epj-7\",\"site\":\"gp-1\"", -30, NOEXP, 0, "overblik",
     "https://idp.test", SIG_ES256, NULL, NULL, OB_OK, OB_ACTOR_SOURCE_SYSTEM,
     true /* its registration (issue 24) */, "epj-7"},
    {"expired", HDR_OK, "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", -120,
     NOEXP, 0, "overblik", "https://idp.test", SIG_ES256, NULL, "expired"},
    {"no exp", HDR_OK, "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", NOEXP,
     NOEXP, 0, "overblik", "https://idp.test", SIG_ES256, NULL, "expiry"},
    {"nbf in the future", HDR_OK,
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", 600, 300, 0, "overblik",
     "https://idp.test", SIG_ES256, NULL, "not yet valid"},
    {"iat in the future", HDR_OK,
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", 600, NOEXP, 300,
     "overblik", "https://idp.test", SIG_ES256, NULL, "issued in the future"},
    {"wrong aud", HDR_OK, "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"",
     300, NOEXP, 0, "someone-else", "https://idp.test", SIG_ES256, NULL, "audience"},
    {"wrong iss", HDR_OK, "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"",
     300, NOEXP, 0, "overblik", "https://evil.test", SIG_ES256, NULL, "issuer"},
    {"bad signature (other key)", HDR_OK,
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_OTHER_KEY, NULL, "does not verify"},
    {"bad signature (bit flipped)", HDR_OK,
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_FLIP, NULL, "does not verify"},
    {"DER signature instead of raw", HDR_OK,
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_DER, NULL, "64-byte"},
    {"alg none", "{\"alg\":\"none\",\"kid\":\"k1\"}",
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_NONE, NULL, "algorithm"},
    {"HS256 with the public key as secret", "{\"alg\":\"HS256\",\"kid\":\"k1\"}",
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_HS256_PUB, NULL, "algorithm"},
    {"high-s twin of a valid signature", HDR_OK,
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_HIGH_S, NULL, "low-s"},
    {"unknown kid", "{\"alg\":\"ES256\",\"kid\":\"k9\"}",
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_ES256, NULL, "kid"},
    {"no kid", "{\"alg\":\"ES256\"}",
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_ES256, NULL, "kid"},
    {"crit header", "{\"alg\":\"ES256\",\"kid\":\"k1\",\"crit\":[\"x\"]}",
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_ES256, NULL, "critical"},
    {"malformed base64", NULL, NULL, 0, 0, 0, NULL, NULL, SIG_ES256, "eyJhbGc*.e30.abc",
     "base64url"},
    {"two parts", NULL, NULL, 0, 0, 0, NULL, NULL, SIG_ES256, "eyJhbGciOiJFUzI1NiJ9.e30", "three"},
    {"four parts", NULL, NULL, 0, 0, 0, NULL, NULL, SIG_ES256, "a.b.c.d", "three"},
    {"empty", NULL, NULL, 0, 0, 0, NULL, NULL, SIG_ES256, "", "empty"},
    {"missing ob_kind", HDR_OK, "\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\"", 300, NOEXP, 0, "overblik",
     "https://idp.test", SIG_ES256, NULL, NULL, OB_EINVAL},
    {"professional without site", HDR_OK, "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\"", 300,
     NOEXP, 0, "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_EINVAL},
    {"unknown professional", HDR_OK,
     "\"ob_kind\":\"professional\",\"sub\":\"gp-9-dr9\",\"site\":\"gp-1\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_ENOTFOUND},
    {"professional at a site they do not work at", HDR_OK,
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-2\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_EDENIED},
    {"on behalf of a non-authorised person", HDR_OK,
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-dr0\",\"site\":\"gp-1\","
     "\"on_behalf_of\":\"gp-1-sec0\"",
     300, NOEXP, 0, "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_EDENIED},
    {"citizen CPR invalid (31 February)", HDR_OK, "\"ob_kind\":\"citizen\",\"cpr\":\"3102901234\"",
     300, NOEXP, 0, "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_EINVAL},
    {"citizen without cpr", HDR_OK, "\"ob_kind\":\"citizen\"", 300, NOEXP, 0, "overblik",
     "https://idp.test", SIG_ES256, NULL, NULL, OB_EINVAL},
    {"issue 24: an assistant on behalf of another site's doctor", HDR_OK,
     "\"ob_kind\":\"professional\",\"sub\":\"gp-1-sec0\",\"site\":\"gp-1\","
     "\"on_behalf_of\":\"gp-2-dr0\"",
     300, NOEXP, 0, "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_EDENIED},
    {"issue 24: an authorised professional on behalf of another", HDR_OK,
     "\"ob_kind\":\"professional\",\"sub\":\"gp-2-dr0\",\"site\":\"gp-2\","
     "\"on_behalf_of\":\"gp-1-dr0\"",
     300, NOEXP, 0, "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_EDENIED},
    {"issue 24: a system client that is not registered", HDR_OK,
     "\"ob_kind\":\"system\",\"client_id\":\"rogue\",\"site\":\"gp-1\"", 300, NOEXP, 0, "overblik",
     "https://idp.test", SIG_ES256, NULL, NULL, OB_ENOTFOUND},
    {"issue 24: a registered system client naming another site", HDR_OK,
     "\"ob_kind\":\"system\",\"client_id\":\"epj-7\",\"site\":\"gp-2\"", 300, NOEXP, 0, "overblik",
     "https://idp.test", SIG_ES256, NULL, NULL, OB_EDENIED},
    {"system with unknown site", HDR_OK,
     "\"ob_kind\":\"system\",\"client_id\":\"epj-7\",\"site\":\"nowhere\"", 300, NOEXP, 0,
     "overblik", "https://idp.test", SIG_ES256, NULL, NULL, OB_ENOTFOUND},
    {"unknown kind", HDR_OK, "\"ob_kind\":\"robot\",\"sub\":\"x\"", 300, NOEXP, 0, "overblik",
     "https://idp.test", SIG_ES256, NULL, NULL, OB_EINVAL},
};

static char *build(const row *r)
{
    if (r->raw)
        return strdup(r->raw);
    char claims[1024], part[128];
    size_t n = (size_t)snprintf(claims, sizeof claims, "{%s", r->claims);
    if (r->exp != NOEXP)
        n += (size_t)snprintf(claims + n, sizeof claims - n, ",\"exp\":%lld",
                              (long long)(F.now + r->exp));
    if (r->nbf != NOEXP)
        n += (size_t)snprintf(claims + n, sizeof claims - n, ",\"nbf\":%lld",
                              (long long)(F.now + r->nbf));
    n += (size_t)snprintf(claims + n, sizeof claims - n, ",\"iat\":%lld",
                          (long long)(F.now + r->iat));
    if (r->aud[0] == '[')
        snprintf(part, sizeof part, ",\"aud\":%s", r->aud);
    else
        snprintf(part, sizeof part, ",\"aud\":\"%s\"", r->aud);
    n += (size_t)snprintf(claims + n, sizeof claims - n, "%s,\"iss\":\"%s\"}", part, r->iss);
    return make_token(r->header, claims, r->sig);
}

static void test_table(void **state)
{
    (void)state;
    /* twice: the second pass meets the verified-token cache for the good tokens */
    for (size_t i = 0; i < 2 * (sizeof rows / sizeof rows[0]); i++) {
        const row *r = &rows[i % (sizeof rows / sizeof rows[0])];
        char *tok = build(r);
        json_t *claims = NULL;
        ob_err e = {0};
        ob_status st = ob_auth_verify(F.auth, tok, strlen(tok), F.now, &claims, &e);
        if (r->verify_err) {
            if (st == OB_OK || !strstr(e.msg, r->verify_err))
                fail_msg("%s: wanted a failure mentioning '%s', got %d '%s'", r->name,
                         r->verify_err, st, e.msg);
            assert_null(claims);
            assert_null(strstr(e.msg, "0101901234"));
            free(tok);
            continue;
        }
        if (st != OB_OK)
            fail_msg("%s: does not verify: %s", r->name, e.msg);
        ob_caller c;
        st = ob_auth_caller(F.hub, claims, &c, &e);
        if (st != r->caller_rc)
            fail_msg("%s: caller mapping gave %d (%s), wanted %d", r->name, st, e.msg,
                     r->caller_rc);
        if (st == OB_OK) {
            assert_int_equal(c.kind, r->kind);
            if (r->has_actor != (c.actor != OB_NONE))
                fail_msg("%s: actor %u", r->name, c.actor);
            assert_string_equal(c.subject, r->subject);
            if (r->kind == OB_ACTOR_CITIZEN) {
                assert_int_equal(c.purpose, OB_PURPOSE_PATIENT);
                assert_int_equal(c.acting_org, OB_NONE);
            } else {
                assert_int_equal(c.purpose, OB_PURPOSE_TREAT);
                assert_int_not_equal(c.acting_org, OB_NONE);
            }
            if (r->kind == OB_ACTOR_SOURCE_SYSTEM)
                assert_string_equal(c.client_id, "epj-7");
            if (strstr(r->claims, "on_behalf_of"))
                assert_int_not_equal(c.on_behalf_of, OB_NONE);
            else
                assert_int_equal(c.on_behalf_of, OB_NONE);
        }
        /* R-CPR-2: no message ever carries the CPR */
        assert_null(strstr(e.msg, "0101901234"));
        assert_null(strstr(e.msg, "010190"));
        json_decref(claims);
        free(tok);
    }
}

/* A cached token is still checked for time, and a changed byte is a different token. */
static void test_cache(void **state)
{
    (void)state;
    char claims[256];
    snprintf(claims, sizeof claims,
             "{\"ob_kind\":\"system\",\"client_id\":\"c\",\"site\":\"gp-1\","
             "\"aud\":\"overblik\",\"iss\":\"https://idp.test\",\"exp\":%lld}",
             (long long)F.now + 300);
    char *tok = make_token(HDR_OK, claims, SIG_ES256);
    json_t *cl = NULL;
    ob_err e = {0};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ob_auth_verify(F.auth, tok, strlen(tok), F.now, &cl, &e), OB_OK);
        assert_string_equal(json_string_value(json_object_get(cl, "client_id")), "c");
        json_decref(cl);
    }
    assert_int_equal(ob_auth_verify(F.auth, tok, strlen(tok), F.now + 1000, &cl, &e), OB_EINVAL);
    assert_non_null(strstr(e.msg, "expired"));
    assert_null(cl);
    size_t n = strlen(tok);
    tok[n - 3] = tok[n - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(ob_auth_verify(F.auth, tok, n, F.now, &cl, &e), OB_EINVAL);
    assert_null(cl);
    free(tok);
}

/* R-API-2: a cached token's window (exp, nbf, iat, each with the leeway) is checked on
 * every hit exactly as on the first verification, one row per request time. */
static void test_cache_window(void **state)
{
    (void)state;
    /* two tokens: one bounded below by nbf, one by iat (both 10 s ago) */
    char claims[320];
    char *tok[2];
    for (int k = 0; k < 2; k++) {
        snprintf(claims, sizeof claims,
                 "{\"ob_kind\":\"system\",\"client_id\":\"w%d\",\"site\":\"gp-1\","
                 "\"aud\":\"overblik\",\"iss\":\"https://idp.test\",\"exp\":%lld,\"%s\":%lld}",
                 k, (long long)F.now + 300, k ? "iat" : "nbf", (long long)F.now - 10);
        tok[k] = make_token(HDR_OK, claims, SIG_ES256);
    }
    static const struct {
        const char *name;
        int64_t at;         /* request time, relative to F.now */
        const char *err[2]; /* for the nbf token, the iat token; NULL: accepted */
    } win[] = {
        {"first use (verified, cached)", 0, {NULL, NULL}},
        {"hit", 1, {NULL, NULL}},
        {"hit at exp + leeway", 300 + OB_AUTH_LEEWAY, {NULL, NULL}},
        {"hit past exp + leeway", 301 + OB_AUTH_LEEWAY, {"expired", "expired"}},
        {"hit at nbf/iat - leeway", -10 - OB_AUTH_LEEWAY, {NULL, NULL}},
        {"hit before nbf/iat - leeway",
         -11 - OB_AUTH_LEEWAY,
         {"not yet valid", "issued in the future"}},
        {"hit again after refusals", 0, {NULL, NULL}},
    };
    for (size_t i = 0; i < sizeof win / sizeof win[0]; i++)
        for (int k = 0; k < 2; k++) {
            json_t *cl = NULL;
            ob_err e = {0};
            ob_status st =
                ob_auth_verify(F.auth, tok[k], strlen(tok[k]), F.now + win[i].at, &cl, &e);
            if (win[i].err[k]) {
                if (st != OB_EINVAL || !strstr(e.msg, win[i].err[k]))
                    fail_msg("%s (token %d): got %d '%s', wanted '%s'", win[i].name, k, st, e.msg,
                             win[i].err[k]);
                assert_null(cl);
            } else {
                if (st != OB_OK)
                    fail_msg("%s (token %d): refused: %s", win[i].name, k, e.msg);
                json_decref(cl);
            }
        }
    free(tok[0]);
    free(tok[1]);
    char *big;
    /* the largest integer expiry neither overflows (UBSan runs this) nor expires */
    snprintf(claims, sizeof claims,
             "{\"ob_kind\":\"system\",\"client_id\":\"w2\",\"site\":\"gp-1\","
             "\"aud\":\"overblik\",\"iss\":\"https://idp.test\",\"exp\":9223372036854775807}");
    big = make_token(HDR_OK, claims, SIG_ES256);
    for (int i = 0; i < 2; i++) {
        json_t *cl = NULL;
        ob_err e = {0};
        assert_int_equal(ob_auth_verify(F.auth, big, strlen(big), F.now, &cl, &e), OB_OK);
        json_decref(cl);
    }
    free(big);
}

/* An oversized token is refused before any decoding. */
static void test_too_long(void **state)
{
    (void)state;
    size_t n = OB_AUTH_MAX_TOKEN + 1;
    char *t = malloc(n);
    memset(t, 'a', n);
    json_t *claims = NULL;
    ob_err e = {0};
    assert_int_equal(ob_auth_verify(F.auth, t, n, F.now, &claims, &e), OB_EINVAL);
    assert_non_null(strstr(e.msg, "longer"));
    free(t);
}

/* JWKS shapes the verifier must refuse. */
static void test_bad_jwks(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{}",
        "{\"keys\":[]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"kid\":\"a\",\"x\":\"AA\",\"y\":\"AA\"}]}",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a\",\"x\":\"AAAA\",\"y\":\"AA\"}]}",
        /* 32-byte coordinates that are not a point on the curve */
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a\","
        "\"x\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
        "\"y\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        ob_auth *a = NULL;
        ob_err e = {0};
        if (ob_auth_new(j, NULL, &a, &e) == OB_OK)
            fail_msg("JWKS %zu accepted", i);
        assert_null(a);
        json_decref(j);
    }
    /* and one with alg HS256 on an otherwise good key */
    char t[1100];
    snprintf(t, sizeof t, "%s", F.jwks_text);
    char *alg = strstr(t, "ES256");
    memcpy(alg, "HS256", 5);
    json_t *j = json_loads(t, 0, NULL);
    ob_auth *a = NULL;
    assert_int_not_equal(ob_auth_new(j, NULL, &a, NULL), OB_OK);
    json_decref(j);
}

typedef struct hrow {
    const char *purpose, *bg, *reason;
    ob_status rc;
    int want_purpose, want_override;
    const char *want_reason;
} hrow;

static void test_headers(void **state)
{
    (void)state;
    json_t *claims = json_pack("{s:s}", "purpose_of_use", "ETREAT");
    const hrow rows_h[] = {
        {NULL, NULL, NULL, OB_OK, OB_PURPOSE_ETREAT, OB_OVERRIDE_NONE, ""},   /* the claim */
        {"TREAT", NULL, NULL, OB_OK, OB_PURPOSE_TREAT, OB_OVERRIDE_NONE, ""}, /* header wins */
        {"TREATMENT", NULL, NULL, OB_OK, OB_PURPOSE_TREAT, OB_OVERRIDE_NONE, ""},
        {"EMERGENCY", NULL, NULL, OB_OK, OB_PURPOSE_ETREAT, OB_OVERRIDE_NONE, ""},
        {"REQUEST", NULL, NULL, OB_OK, OB_PURPOSE_PATIENT, OB_OVERRIDE_NONE, ""},
        {"PWATRNY", NULL, NULL, OB_OK, OB_PURPOSE_ATTORNEY, OB_OVERRIDE_NONE, ""},
        {"MARKETING", NULL, NULL, OB_EINVAL, 0, 0, NULL},
        {"ETREAT", "vital_interest", "Bevidstl%C3%B8s%20patient%20ved%20ankomst", OB_OK,
         OB_PURPOSE_ETREAT, OB_OVERRIDE_VITAL_INTEREST, "Bevidstløs patient ved ankomst"},
        {"TREAT", "consent", "patient+says+yes+in+the+room", OB_OK, OB_PURPOSE_TREAT,
         OB_OVERRIDE_CONSENT, "patient+says+yes+in+the+room"},
        /* R-BLK-4, R-CPR-3 (issue 19): no real reason, hidden text, another's CPR */
        {"ETREAT", "vital_interest", "%20", OB_EINVAL, 0, 0, NULL},
        {"ETREAT", "vital_interest", "Bevidstl%ED%A0%80s%20patient%20ved%20ankomst", OB_EINVAL, 0,
         0, NULL},
        {"ETREAT", "vital_interest", "Bevidstl%E2%80%AEs%20patient%20ved%20ankomst", OB_EINVAL, 0,
         0, NULL},
        {"ETREAT", "vital_interest", "Broderen%20010203-1234%20er%20bevidstl%C3%B8s", OB_EINVAL, 0,
         0, NULL},
        {"ETREAT", "vital_interest", NULL, OB_EINVAL, 0, 0, NULL},
        {"ETREAT", "vital_interest", "", OB_EINVAL, 0, 0, NULL},
        {"ETREAT", "please", "x", OB_EINVAL, 0, 0, NULL},
        {"ETREAT", NULL, "why", OB_EINVAL, 0, 0, NULL},
        {"ETREAT", "consent", "bad%zzescape", OB_EINVAL, 0, 0, NULL},
        {"ETREAT", "consent", "line%0Abreak", OB_EINVAL, 0, 0, NULL},
        {"ETREAT", "consent", "%C3%28", OB_EINVAL, 0, 0, NULL}, /* not UTF-8 */
    };
    for (size_t i = 0; i < sizeof rows_h / sizeof rows_h[0]; i++) {
        ob_caller c;
        memset(&c, 0, sizeof c);
        ob_err e = {0};
        ob_status st =
            ob_auth_headers(claims, rows_h[i].purpose, rows_h[i].bg, rows_h[i].reason, &c, &e);
        if (st != rows_h[i].rc)
            fail_msg("header row %zu: got %d (%s)", i, st, e.msg);
        if (st == OB_OK) {
            assert_int_equal(c.purpose, rows_h[i].want_purpose);
            assert_int_equal(c.override, rows_h[i].want_override);
            assert_string_equal(c.justification, rows_h[i].want_reason);
        }
    }
    /* a reason of exactly 500 bytes is fine, 501 is not */
    char reason[3 * 600];
    for (int i = 0; i < 500; i++) /* a sentence (R-BLK-4): "abcdef ghijkl ..." */
        reason[i] = i % 7 == 6 ? ' ' : (char)('a' + i % 26);
    reason[500] = '\0';
    ob_caller c;
    memset(&c, 0, sizeof c);
    assert_int_equal(ob_auth_headers(claims, "ETREAT", "vital_interest", reason, &c, NULL), OB_OK);
    assert_int_equal(strlen(c.justification), 500);
    reason[500] = 'a';
    reason[501] = '\0';
    assert_int_equal(ob_auth_headers(claims, "ETREAT", "vital_interest", reason, &c, NULL),
                     OB_EINVAL);
    json_decref(claims);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_cache_window), cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_bad_jwks),     cmocka_unit_test(test_headers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
