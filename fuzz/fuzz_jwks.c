/* fuzz_jwks.c - libFuzzer target for what an identity provider sends and what an operator
 * configures (issue 25): any bytes as JSON, read as identity-provider settings
 * (ob_oidc_new: no fetch is made) and as a key set, each key through ob_jwk_parse. No
 * crash, no leak; a parsed key always has a kid, an algorithm and a key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/jwk.h"
#include "http/oidc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!j)
        return 0;
    ob_oidc *o = NULL;
    ob_err e = {0};
    if (ob_oidc_new(j, &o, &e) == OB_OK) {
        if (ob_oidc_count(o) == 0)
            abort();
        ob_oidc_free(o);
    } else if (o || e.msg[0] == '\0') {
        abort();
    }
    const json_t *keys = json_object_get(j, "keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        ob_jwk k;
        if (ob_jwk_parse(json_array_get(keys, i), &k, NULL) == OB_OK) {
            if (!k.pkey || !k.kid[0] || k.alg == OB_JWK_NONE)
                abort();
            uint8_t sig[64] = {0};
            if (ob_jwk_verify(&k, k.alg, "a.b", 3, sig, sizeof sig, false))
                abort(); /* a zero signature never verifies */
            ob_jwk_clear(&k);
        }
    }
    json_decref(j);
    return 0;
}
