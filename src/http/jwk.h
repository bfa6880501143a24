/* jwk.h - public signing keys from JWKs and the JWS signature check, shared by the token
 * verifier (auth.c: the configured JWKS file) and the identity providers' fetched key
 * sets (oidc.c).
 *
 * One key type, one algorithm, so that a header's alg can never choose how a key is
 * used (the alg-confusion attacks: HS256 keyed with a public key, "none", RS256 against
 * an EC key): EC P-256 <-> ES256 (RFC 7518 3.4, the signature as raw R||S), RSA of
 * 2048..8192 bits <-> RS256 (PKCS#1 v1.5 with SHA-256), OKP Ed25519 <-> EdDSA (RFC 8037).
 * Nothing symmetric is ever a key. The cryptography is OpenSSL's. */
#ifndef OB_HTTP_JWK_H
#define OB_HTTP_JWK_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define OB_JWK_KID_MAX 128

typedef enum ob_jwk_alg { OB_JWK_NONE = 0, OB_JWK_ES256, OB_JWK_RS256, OB_JWK_EDDSA } ob_jwk_alg;

typedef struct ob_jwk {
    char kid[OB_JWK_KID_MAX];
    ob_jwk_alg alg;
    EVP_PKEY *pkey; /* owned: ob_jwk_clear frees it */
} ob_jwk;

/* Parses one public signing key. OB_EINVAL with a message naming what is wrong (a private
 * part, no kid, a bad point or modulus); OB_ENOTFOUND for a well-formed key that is not a
 * signing key of a supported type (use "enc", kty "oct", another curve): an identity
 * provider's key set may hold such keys, and its caller skips them. */
ob_status ob_jwk_parse(const json_t *k, ob_jwk *out, ob_err *e);
/* A second owner of the same key (the EVP_PKEY's reference count, which is atomic). */
void ob_jwk_copy(ob_jwk *dst, const ob_jwk *src);
void ob_jwk_clear(ob_jwk *k);

/* "ES256" | "RS256" | "EdDSA" -> the algorithm; OB_JWK_NONE for anything else. */
ob_jwk_alg ob_jwk_alg_parse(const char *name);
const char *ob_jwk_alg_name(ob_jwk_alg alg);

/* Verifies a JWS signature (sig, siglen bytes as decoded from the token) over data with
 * k. False when alg is not the key's algorithm. ES256 signatures must be in low-s form
 * unless allow_high_s (ECDSA malleability, see auth.c). */
bool ob_jwk_verify(const ob_jwk *k, ob_jwk_alg alg, const char *data, size_t len,
                   const uint8_t *sig, size_t siglen, bool allow_high_s);

/* Whether an ES256 signature's s (32 bytes, big-endian) is in low form, s <= n / 2. */
bool ob_jwk_es256_low_s(const uint8_t s[32]);

/* Unpadded base64url: decode (the length, or -1) and encode (owned by the caller,
 * ob_free; NULL when out of memory). */
long ob_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);
char *ob_b64url_encode(const uint8_t *in, size_t len);

#endif
