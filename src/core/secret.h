/* secret.h - the installation's keys and the CPR protection built on them (R-CPR-2).
 *
 * A CPR number is stored only as (a) a keyed BLAKE2b hash, for lookup, and (b) an
 * XChaCha20-Poly1305 ciphertext, so an operator with the key can recover it for a
 * lawful purpose. Both keys live in the key file that `overblik init` creates (never in
 * the database). The Ed25519 pair signs the access log's checkpoints; the cluster key
 * derives per-cluster pseudonym keys for statistics. Pure functions over libsodium. */
#ifndef OB_CORE_SECRET_H
#define OB_CORE_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct ob_keys {
    uint8_t cpr_hash[32];
    uint8_t cpr_enc[32];
    uint8_t sign_sk[64]; /* Ed25519 secret key (libsodium form, includes the public key) */
    uint8_t sign_pk[32];
    uint8_t cluster[32];
} ob_keys;

ob_status ob_keys_generate(ob_keys *k, ob_err *e);
/* Keyed hash of the ten normalised CPR digits. */
void ob_cpr_hash(const ob_keys *k, const char digits[10], uint8_t out[16]);
/* Encrypts the ten digits into hex text (nonce || ciphertext): 2*(24+10+16)+1 bytes. */
#define OB_CPR_ENC_HEX 101
void ob_cpr_encrypt(const ob_keys *k, const char digits[10], char out[OB_CPR_ENC_HEX]);
ob_status ob_cpr_decrypt(const ob_keys *k, const char *hex, char digits[11], ob_err *e);
/* Key file: JSON with hex fields, mode 0600. Written only by init. */
ob_status ob_keys_save(const ob_keys *k, const char *path, ob_err *e);
ob_status ob_keys_load(ob_keys *k, const char *path, ob_err *e);
void ob_hex(const uint8_t *in, size_t n, char *out);
int ob_unhex(const char *in, uint8_t *out, size_t n);

#endif
