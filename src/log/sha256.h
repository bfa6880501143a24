/* sha256.h - the SHA-256 the access log hashes with (leaves, chain, Merkle nodes).
 *
 * The log hashes every entry about nine SHA-256 blocks' worth (the leaf, the chain
 * step, its Merkle node), half of it on the serial writer thread, so the hash function
 * bounds the append rate. libsodium's SHA-256 is portable C (~3,800 instructions per
 * block); OpenSSL's libcrypto, already a dependency of the library, picks an
 * implementation for the CPU at run time (SHA-NI, AVX2, SSSE3 or C), several times
 * faster where the CPU has SHA extensions. The digest is the same SHA-256, so the log
 * format is unchanged; signatures stay with libsodium (log/checkpoint.h).
 *
 * ob_sha256_ctx is a plain value (no heap), so a caller can begin a hash and hand the state
 * to another thread to finish (log/hash.h: ob_log_leaf_begin / ob_log_leaf_finish). */
#ifndef OB_LOG_SHA256_H
#define OB_LOG_SHA256_H

#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ob_sha256_ctx {
    SHA256_CTX c;
} ob_sha256_ctx;

void ob_sha256_init(ob_sha256_ctx *h);
void ob_sha256_update(ob_sha256_ctx *h, const void *in, size_t n);
void ob_sha256_final(ob_sha256_ctx *h, uint8_t out[32]);
/* out = SHA-256(in[0..n)). */
void ob_sha256(uint8_t out[32], const void *in, size_t n);

#endif
