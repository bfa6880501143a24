/* sha256.c - SHA-256 over OpenSSL's low-level interface (sha256.h). OpenSSL 3 marks
 * SHA256_Init/Update/Final deprecated in favour of EVP, whose context is heap-allocated
 * and opaque; the low-level calls are still supported, dispatch to the same assembly
 * and let the state live inside a queued job, so they are used here and only here. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "log/sha256.h"

void ob_sha256_init(ob_sha256_ctx *h)
{
    SHA256_Init(&h->c);
}

void ob_sha256_update(ob_sha256_ctx *h, const void *in, size_t n)
{
    SHA256_Update(&h->c, in, n);
}

void ob_sha256_final(ob_sha256_ctx *h, uint8_t out[32])
{
    SHA256_Final(out, &h->c);
}

void ob_sha256(uint8_t out[32], const void *in, size_t n)
{
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, in, n);
    SHA256_Final(out, &c);
}
