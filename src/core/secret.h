/* secret.h - the installation's keys and the CPR protection built on them (R-CPR-2).
 *
 * A CPR number is stored only as (a) a keyed BLAKE2b hash, for lookup, and (b) an
 * XChaCha20-Poly1305 ciphertext, so an operator with the key can recover it for a
 * lawful purpose. The Ed25519 pair signs the access log's checkpoints; the cluster key
 * derives per-cluster pseudonym keys for statistics. Pure functions over libsodium, and
 * the key files.
 *
 * The keys are kept in one file per purpose (R-LOG-8), each mode 0600, never in the
 * database: `<base>.cpr-key` (CPR hash and encryption keys, the statistics cluster key:
 * pseudonymisation) and `<base>.log-key` (the log signing key), where base is the
 * installation's key path (`<db>.key`, or --keys FILE) less a ".key" ending. Until
 * 2026-12-06 both were in the one file at the key path itself; loading migrates such a file
 * (writes the two, then removes it). A process loads only the purposes it needs. */
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
enum { OB_KEYS_CPR = 1, OB_KEYS_LOG = 2, OB_KEYS_ALL = 3 };
/* The two files' paths for the key path base (each at most cap bytes). */
void ob_keys_paths(const char *base, char *cpr, char *log, size_t cap);
/* Writes the files of the purposes in `which` (JSON with hex fields, mode 0600, tmp +
 * fsync + rename). */
ob_status ob_keys_save_for(const ob_keys *k, const char *base, int which, ob_err *e);
/* Loads the purposes in `which` into k (other fields untouched), migrating a single key
 * file at base first when the purpose's file is missing. */
ob_status ob_keys_load_for(ob_keys *k, const char *base, int which, ob_err *e);
/* Removes the key files of base (and a single file of before the split): tests. */
void ob_keys_remove(const char *base);
/* Both purposes. */
ob_status ob_keys_save(const ob_keys *k, const char *base, ob_err *e);
ob_status ob_keys_load(ob_keys *k, const char *base, ob_err *e);
void ob_hex(const uint8_t *in, size_t n, char *out);
int ob_unhex(const char *in, uint8_t *out, size_t n);

#endif
