/* fuzz_jwt.c - libFuzzer target for the bearer-token front end (R-API-2): any bytes
 * as a compact JWT against a fixed one-key JWKS at a fixed time. No crash, no leak; a
 * token that verifies must be one of the corpus's genuinely signed ones (it cannot be
 * forged), so it must carry claims an ES256 signer produced: ob_kind and exp. Also
 * drives the percent-decoder and the header rules for purpose and break-the-glass. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/auth.h"

/* `overblik init`'s development JWKS from a throwaway installation; the corpus tokens
 * were minted with its private key (not kept). */
static const char jwks_text[] =
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES256\",\"use\":\"sig\","
    "\"kid\":\"Pt5jhdXNXqMD63VrXk39DIwpdic1PKdfDppxen3WBzA\","
    "\"x\":\"Ewjm-VxMDBTFM8H7nbaDW8yEtAnarEWTMj_7fFZitlY\","
    "\"y\":\"UbVD4UrohzClKJ1EcP9TuiZ_VGp6ghVsR3tl41NcL5A\"}]}";
#define NOW 1795443600

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ob_auth *auth;
    if (!auth) {
        json_t *j = json_loads(jwks_text, 0, NULL);
        ob_auth_config cfg = {"overblik", NULL, NULL};
        if (!j || ob_auth_new(j, &cfg, &auth, NULL) != OB_OK)
            abort();
        json_decref(j);
    }
    json_t *claims = NULL;
    ob_err e = {0};
    if (ob_auth_verify(auth, (const char *)data, size, NOW, &claims, &e) == OB_OK) {
        if (!json_object_get(claims, "ob_kind") || !json_is_integer(json_object_get(claims, "exp")))
            abort();
        json_decref(claims);
    } else if (claims || e.msg[0] == '\0') {
        abort();
    }
    /* the same bytes as header values */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    ob_caller c;
    memset(&c, 0, sizeof c);
    if (ob_auth_headers(NULL, s, "consent", s, &c, NULL) == OB_OK &&
        (c.override != OB_OVERRIDE_CONSENT || strlen(c.justification) > OB_AUTH_MAX_REASON ||
         c.justification[0] == '\0'))
        abort();
    char out[64];
    long n = ob_http_pct_decode(s, size, out, sizeof out, true);
    if (n >= (long)sizeof out || (n >= 0 && out[n] != '\0'))
        abort();
    free(s);
    return 0;
}
