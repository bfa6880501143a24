/* jwk.c - JWK public keys and JWS signature checks on OpenSSL (jwk.h). What is ours is
 * the JOSE framing (raw R||S <-> DER, base64url members) and the rules about which keys
 * are acceptable; every check of a point, a modulus or a signature is OpenSSL's. */
#include "http/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192 /* a larger modulus is only a way to make us work */

long ob_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (len == 0)
        return 0;
    if (sodium_base642bin(out, cap, in, len, NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    return (long)n;
}

char *ob_b64url_encode(const uint8_t *in, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = ob_malloc(cap);
    if (out)
        sodium_bin2base64(out, cap, in, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

ob_jwk_alg ob_jwk_alg_parse(const char *name)
{
    if (!name)
        return OB_JWK_NONE;
    if (strcmp(name, "ES256") == 0)
        return OB_JWK_ES256;
    if (strcmp(name, "RS256") == 0)
        return OB_JWK_RS256;
    if (strcmp(name, "EdDSA") == 0)
        return OB_JWK_EDDSA;
    return OB_JWK_NONE;
}

const char *ob_jwk_alg_name(ob_jwk_alg alg)
{
    switch (alg) {
    case OB_JWK_ES256:
        return "ES256";
    case OB_JWK_RS256:
        return "RS256";
    case OB_JWK_EDDSA:
        return "EdDSA";
    default:
        return "none";
    }
}

/* ---- keys ---- */

static bool public_check(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    bool good = chk && EVP_PKEY_public_check(chk) == 1;
    EVP_PKEY_CTX_free(chk);
    return good;
}

static EVP_PKEY *ec_key(const uint8_t x[32], const uint8_t y[32])
{
    uint8_t point[65];
    point[0] = 0x04; /* uncompressed */
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
        OSSL_PARAM_construct_end()};
    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    if (pkey && !public_check(pkey)) { /* fromdata does not check that the point is on the curve */
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

static EVP_PKEY *rsa_key(const uint8_t *n, size_t nlen, const uint8_t *ex, size_t elen)
{
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(ex, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (bn && be && bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) > 0 &&
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(bn);
    BN_free(be);
    if (pkey && (EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS || !public_check(pkey))) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

/* A base64url member of exactly `want` bytes (or 1..want when !exact) into out. */
static long member(const json_t *k, const char *name, uint8_t *out, size_t want, bool exact)
{
    const char *s = json_string_value(json_object_get(k, name));
    if (!s)
        return -1;
    long n = ob_b64url_decode(s, strlen(s), out, want + 1);
    if (n <= 0 || (size_t)n > want || (exact && (size_t)n != want))
        return -1;
    return n;
}

ob_status ob_jwk_parse(const json_t *k, ob_jwk *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(k))
        return ob_err_set(e, OB_EINVAL, "a key is not a JSON object");
    const char *kty = json_string_value(json_object_get(k, "kty"));
    const char *crv = json_string_value(json_object_get(k, "crv"));
    const char *kid = json_string_value(json_object_get(k, "kid"));
    const json_t *alg = json_object_get(k, "alg"), *use = json_object_get(k, "use");
    if (!kty)
        return ob_err_set(e, OB_EINVAL, "a key has no kty");
    ob_jwk_alg type = OB_JWK_NONE;
    if (strcmp(kty, "EC") == 0 && crv && strcmp(crv, "P-256") == 0)
        type = OB_JWK_ES256;
    else if (strcmp(kty, "RSA") == 0)
        type = OB_JWK_RS256;
    else if (strcmp(kty, "OKP") == 0 && crv && strcmp(crv, "Ed25519") == 0)
        type = OB_JWK_EDDSA;
    if (type == OB_JWK_NONE)
        return ob_err_set(e, OB_ENOTFOUND,
                          "a key is not EC P-256, RSA or Ed25519 (ES256, RS256, EdDSA only)");
    if ((use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0)) ||
        (alg && (!json_is_string(alg) || ob_jwk_alg_parse(json_string_value(alg)) != type)))
        return ob_err_set(e, OB_ENOTFOUND, "a key is not a %s signing key", ob_jwk_alg_name(type));
    if (!kid || !kid[0] || strlen(kid) >= OB_JWK_KID_MAX)
        return ob_err_set(e, OB_EINVAL, "a key has no kid (or one over %d bytes)",
                          OB_JWK_KID_MAX - 1);
    if (json_object_get(k, "d") || json_object_get(k, "p") || json_object_get(k, "q"))
        return ob_err_set(e, OB_EINVAL, "a key contains a private part; give public keys only");
    EVP_PKEY *pk = NULL;
    if (type == OB_JWK_ES256) {
        uint8_t x[33], y[33];
        if (member(k, "x", x, 32, true) < 0 || member(k, "y", y, 32, true) < 0)
            return ob_err_set(e, OB_EINVAL, "key '%s': x and y must be 32-byte base64url", kid);
        if (!(pk = ec_key(x, y)))
            return ob_err_set(e, OB_EINVAL, "key '%s' is not a valid P-256 public key", kid);
    } else if (type == OB_JWK_RS256) {
        uint8_t *n = ob_malloc(RSA_MAX_BITS / 8 + 1), ex[9];
        if (!n)
            return ob_err_set(e, OB_ENOMEM, "out of memory");
        long nl = member(k, "n", n, RSA_MAX_BITS / 8, false), el = member(k, "e", ex, 8, false);
        if (nl > 0 && el > 0)
            pk = rsa_key(n, (size_t)nl, ex, (size_t)el);
        ob_free(n);
        if (!pk)
            return ob_err_set(e, OB_EINVAL,
                              "key '%s' is not a valid RSA public key of %d to %d bits", kid,
                              RSA_MIN_BITS, RSA_MAX_BITS);
    } else {
        uint8_t x[33];
        if (member(k, "x", x, 32, true) < 0 ||
            !(pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32)))
            return ob_err_set(e, OB_EINVAL, "key '%s' is not a valid Ed25519 public key", kid);
    }
    snprintf(out->kid, sizeof out->kid, "%s", kid);
    out->alg = type;
    out->pkey = pk;
    return OB_OK;
}

void ob_jwk_copy(ob_jwk *dst, const ob_jwk *src)
{
    *dst = *src;
    if (dst->pkey)
        EVP_PKEY_up_ref(dst->pkey);
}

void ob_jwk_clear(ob_jwk *k)
{
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof *k);
}

/* ---- signatures ---- */

/* Half the order of P-256, n / 2 rounded down (big-endian). ECDSA signatures are
 * malleable: (r, s) and (r, n - s) both verify, so anyone holding one token can make a
 * second, different token string with the same claims (a fresh cache entry, a fresh
 * digest in any log that keys on the token's bytes). Our own tokens must use the low
 * form, s <= n / 2, as Bitcoin's BIP 62 and libsecp256k1 do. */
static const uint8_t p256_half_n[32] = {
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8};

bool ob_jwk_es256_low_s(const uint8_t s[32])
{
    return memcmp(s, p256_half_n, 32) <= 0;
}

/* Raw R||S (JOSE) -> DER ECDSA-Sig-Value, as EVP_DigestVerify wants it. */
static bool verify_es256(EVP_PKEY *pk, const char *data, size_t len, const uint8_t sig[64])
{
    bool good = false;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!es || !r || !s || !md || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        goto out;
    }
    int derlen = i2d_ECDSA_SIG(es, &der);
    if (derlen <= 0)
        goto out;
    good = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
           EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)data, len) == 1;
out:
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    return good;
}

static bool verify_digest(EVP_PKEY *pk, const EVP_MD *mdt, const char *data, size_t len,
                          const uint8_t *sig, size_t siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool good = md && EVP_DigestVerifyInit(md, NULL, mdt, NULL, pk) == 1 &&
                EVP_DigestVerify(md, sig, siglen, (const unsigned char *)data, len) == 1;
    EVP_MD_CTX_free(md);
    return good;
}

bool ob_jwk_verify(const ob_jwk *k, ob_jwk_alg alg, const char *data, size_t len,
                   const uint8_t *sig, size_t siglen, bool allow_high_s)
{
    if (!k->pkey || alg == OB_JWK_NONE || alg != k->alg)
        return false;
    switch (alg) {
    case OB_JWK_ES256:
        if (siglen != 64 || (!allow_high_s && memcmp(sig + 32, p256_half_n, 32) > 0))
            return false;
        return verify_es256(k->pkey, data, len, sig);
    case OB_JWK_RS256: /* exactly the modulus' length (RFC 8017 8.2.2) */
        if (siglen != (size_t)EVP_PKEY_get_size(k->pkey))
            return false;
        return verify_digest(k->pkey, EVP_sha256(), data, len, sig, siglen);
    case OB_JWK_EDDSA: /* OpenSSL refuses S >= L, so Ed25519 signatures are not malleable */
        return siglen == 64 && verify_digest(k->pkey, NULL, data, len, sig, siglen);
    default:
        return false;
    }
}
