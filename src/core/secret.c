/* secret.c - key generation, CPR hashing and encryption, the key file (see secret.h).
 * The key file is the one piece of file I/O in core/: it is tiny and must be written
 * with mode 0600 atomically, which is easier to get right in one place. */
#include "core/secret.h"

#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ob_hex(const uint8_t *in, size_t n, char *out)
{
    sodium_bin2hex(out, n * 2 + 1, in, n);
}

int ob_unhex(const char *in, uint8_t *out, size_t n)
{
    size_t got = 0;
    if (!in || strlen(in) != n * 2)
        return -1;
    if (sodium_hex2bin(out, n, in, n * 2, NULL, &got, NULL) != 0 || got != n)
        return -1;
    return 0;
}

ob_status ob_keys_generate(ob_keys *k, ob_err *e)
{
    if (sodium_init() < 0)
        return ob_err_set(e, OB_EINTERNAL, "libsodium failed to initialise");
    randombytes_buf(k->cpr_hash, sizeof k->cpr_hash);
    randombytes_buf(k->cpr_enc, sizeof k->cpr_enc);
    randombytes_buf(k->cluster, sizeof k->cluster);
    crypto_sign_ed25519_keypair(k->sign_pk, k->sign_sk);
    return OB_OK;
}

void ob_cpr_hash(const ob_keys *k, const char digits[10], uint8_t out[16])
{
    crypto_generichash(out, 16, (const unsigned char *)digits, 10, k->cpr_hash, sizeof k->cpr_hash);
}

void ob_cpr_encrypt(const ob_keys *k, const char digits[10], char out[OB_CPR_ENC_HEX])
{
    uint8_t buf[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + 10 +
                crypto_aead_xchacha20poly1305_ietf_ABYTES];
    uint8_t *nonce = buf;
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(buf + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                               &clen, (const uint8_t *)digits, 10, NULL, 0, NULL,
                                               nonce, k->cpr_enc);
    ob_hex(buf, sizeof buf, out);
}

ob_status ob_cpr_decrypt(const ob_keys *k, const char *hex, char digits[11], ob_err *e)
{
    uint8_t buf[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + 10 +
                crypto_aead_xchacha20poly1305_ietf_ABYTES];
    if (ob_unhex(hex, buf, sizeof buf) < 0)
        return ob_err_set(e, OB_EINVAL, "encrypted CPR is malformed");
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            (uint8_t *)digits, &mlen, NULL, buf + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            sizeof buf - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, 0, buf,
            k->cpr_enc) != 0 ||
        mlen != 10)
        return ob_err_set(e, OB_EINVAL, "encrypted CPR does not open with this key");
    digits[10] = '\0';
    return OB_OK;
}

void ob_keys_paths(const char *base, char *cpr, char *log, size_t cap)
{
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".key") == 0)
        n -= 4;
    snprintf(cpr, cap, "%.*s.cpr-key", (int)n, base);
    snprintf(log, cap, "%.*s.log-key", (int)n, base);
}

static ob_status write_json(json_t *o, const char *path, ob_err *e)
{
    if (!o)
        return ob_err_set(e, OB_ENOMEM, "out of memory writing the key file");
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    if (!text)
        return ob_err_set(e, OB_ENOMEM, "out of memory writing the key file");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ob_status rc = OB_OK;
    if (fd < 0) {
        rc = ob_err_set(e, OB_EIO, "cannot create key file %s", tmp);
    } else {
        size_t n = strlen(text);
        if (fchmod(fd, 0600) != 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) != 0)
            rc = ob_err_set(e, OB_EIO, "cannot write key file %s", tmp);
        close(fd);
        if (!rc && rename(tmp, path) != 0)
            rc = ob_err_set(e, OB_EIO, "cannot move key file into place at %s", path);
        if (rc)
            unlink(tmp);
    }
    sodium_memzero(text, strlen(text));
    free(text);
    return rc;
}

ob_status ob_keys_save_for(const ob_keys *k, const char *base, int which, ob_err *e)
{
    char cpr[4200], log[4200];
    ob_keys_paths(base, cpr, log, sizeof cpr);
    ob_status rc = OB_OK;
    if (which & OB_KEYS_CPR) {
        char a[65], b[65], f[65];
        ob_hex(k->cpr_hash, 32, a);
        ob_hex(k->cpr_enc, 32, b);
        ob_hex(k->cluster, 32, f);
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:i}", "purpose", "cpr-pseudonymisation",
                              "cpr_hash_key", a, "cpr_enc_key", b, "cluster_key", f, "version", 2);
        sodium_memzero(a, sizeof a);
        sodium_memzero(b, sizeof b);
        sodium_memzero(f, sizeof f);
        rc = write_json(o, cpr, e);
    }
    if (!rc && (which & OB_KEYS_LOG)) {
        char c[129], d[65];
        ob_hex(k->sign_sk, 64, c);
        ob_hex(k->sign_pk, 32, d);
        json_t *o = json_pack("{s:s,s:s,s:s,s:i}", "purpose", "log-signing", "log_sign_sk", c,
                              "log_sign_pk", d, "version", 2);
        sodium_memzero(c, sizeof c);
        rc = write_json(o, log, e);
    }
    return rc;
}

ob_status ob_keys_save(const ob_keys *k, const char *base, ob_err *e)
{
    return ob_keys_save_for(k, base, OB_KEYS_ALL, e);
}

static int field(json_t *o, const char *name, uint8_t *out, size_t n)
{
    return ob_unhex(json_string_value(json_object_get(o, name)), out, n);
}

/* One key file into k: the fields of the purposes in which. */
static ob_status load_file(ob_keys *k, const char *path, int which, ob_err *e)
{
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o) /* it exists: unreadable or damaged; never suggest making new keys over it */
        return ob_err_set(e, OB_EIO,
                          "cannot read key file %s (%s); check its owner and mode (0600, the "
                          "user the server runs as) and restore it from the secrets store if "
                          "it is damaged",
                          path, je.text);
    ob_status rc = OB_OK;
    if (((which & OB_KEYS_CPR) &&
         (field(o, "cpr_hash_key", k->cpr_hash, 32) || field(o, "cpr_enc_key", k->cpr_enc, 32) ||
          field(o, "cluster_key", k->cluster, 32))) ||
        ((which & OB_KEYS_LOG) &&
         (field(o, "log_sign_sk", k->sign_sk, 64) || field(o, "log_sign_pk", k->sign_pk, 32))))
        rc =
            ob_err_set(e, OB_EINVAL, "key file %s is damaged: a key is missing or malformed", path);
    json_decref(o);
    return rc;
}

/* The single file of before 2026-12-06 into the two files, then removed: the point of
 * the split is that the CPR keys are not on the log signer's disk and the other way. */
static ob_status migrate(const char *base, ob_err *e)
{
    ob_keys k;
    ob_status rc = load_file(&k, base, OB_KEYS_ALL, e);
    if (!rc) {
        char cpr[4200], log[4200];
        ob_keys_paths(base, cpr, log, sizeof cpr);
        int which =
            (access(cpr, F_OK) != 0 ? OB_KEYS_CPR : 0) | (access(log, F_OK) != 0 ? OB_KEYS_LOG : 0);
        rc = ob_keys_save_for(&k, base, which, e);
        if (!rc && unlink(base) != 0)
            rc = ob_err_set(e, OB_EIO, "split the key file %s but cannot remove it", base);
    }
    sodium_memzero(&k, sizeof k);
    return rc;
}

ob_status ob_keys_load_for(ob_keys *k, const char *base, int which, ob_err *e)
{
    char path[2][4200];
    ob_keys_paths(base, path[0], path[1], sizeof path[0]);
    const int purpose[2] = {OB_KEYS_CPR, OB_KEYS_LOG};
    size_t n = strlen(base);
    bool legacy = !(n > 8 && (strcmp(base + n - 8, ".cpr-key") == 0 ||
                              strcmp(base + n - 8, ".log-key") == 0)) &&
                  access(base, F_OK) == 0;
    for (int i = 0; i < 2; i++) {
        if (!(which & purpose[i]))
            continue;
        if (access(path[i], F_OK) != 0 && legacy) {
            ob_status rc = migrate(base, e);
            if (rc)
                return rc;
            legacy = false;
        }
        if (access(path[i], F_OK) != 0) /* only then: init would not replace a key file */
            return ob_err_set(e, OB_EIO, "no key file %s; run 'overblik init' first", path[i]);
        ob_status rc = load_file(k, path[i], purpose[i], e);
        if (rc)
            return rc;
    }
    return OB_OK;
}

ob_status ob_keys_load(ob_keys *k, const char *base, ob_err *e)
{
    return ob_keys_load_for(k, base, OB_KEYS_ALL, e);
}

void ob_keys_remove(const char *base)
{
    char cpr[4200], log[4200];
    ob_keys_paths(base, cpr, log, sizeof cpr);
    unlink(cpr);
    unlink(log);
    unlink(base);
}
