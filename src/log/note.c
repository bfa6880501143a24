/* note.c - C2SP signed notes, checkpoints and cosignatures (note.h). The parser is
 * strict where the spec says MUST (UTF-8 is not decoded, but control characters other
 * than newline, and signature lines not of the exact form, are refused) because a note
 * arrives from the network at a witness and in a citizen's proof. */
#include "log/note.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "log/hash.h"
#include "log/sha256.h"

static const char dash[] = "\xe2\x80\x94 "; /* U+2014 EM DASH, space */
#define DASH_LEN 4

uint32_t ob_note_key_id(const char *name, uint8_t type, const uint8_t pk[32])
{
    ob_sha256_ctx h;
    uint8_t d[32], sep[2] = {'\n', type};
    ob_sha256_init(&h);
    ob_sha256_update(&h, name, strlen(name));
    ob_sha256_update(&h, sep, 2);
    ob_sha256_update(&h, pk, 32);
    ob_sha256_final(&h, d);
    return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > OB_NOTE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == '+' || c == 0x7f)
            return false;
        /* Unicode spaces that are not ASCII: U+00A0 (C2 A0), U+2000..U+200A, U+2028,
         * U+2029, U+202F, U+205F (E2 80/81 ..), U+3000 (E3 80 80). Refuse any of them. */
        if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] == 0xa0)
            return false;
        if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
            (((unsigned char)s[i + 2] >= 0x80 && (unsigned char)s[i + 2] <= 0x8a) ||
             (unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9 ||
             (unsigned char)s[i + 2] == 0xaf))
            return false;
        if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x81 &&
            (unsigned char)s[i + 2] == 0x9f)
            return false;
        if (c == 0xe3 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
            (unsigned char)s[i + 2] == 0x80)
            return false;
    }
    return true;
}

ob_status ob_note_key_make(ob_note_key *k, const char *name, uint8_t type, const uint8_t pk[32],
                           ob_err *e)
{
    if (!name || !name_ok(name, strlen(name)))
        return ob_err_set(e, OB_EINVAL,
                          "note: a key name must be 1..%d characters without"
                          " spaces or '+'",
                          OB_NOTE_NAME_MAX);
    memset(k, 0, sizeof *k);
    memcpy(k->name, name, strlen(name));
    k->type = type;
    memcpy(k->pk, pk, 32);
    k->id = ob_note_key_id(name, type, pk);
    return OB_OK;
}

static size_t b64(char *out, size_t cap, const uint8_t *in, size_t n)
{
    if (sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL) > cap)
        return 0;
    sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_ORIGINAL);
    return strlen(out);
}

/* Decodes exactly the n characters at in; returns the byte count or -1. */
static long unb64(const char *in, size_t n, uint8_t *out, size_t cap)
{
    size_t got = 0;
    const char *end = NULL;
    if (n == 0 ||
        sodium_base642bin(out, cap, in, n, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != in + n)
        return -1;
    /* Only the canonical encoding: re-encoding must give the same text, so one
     * signature has one written form. */
    char back[256];
    if (n >= sizeof back || b64(back, sizeof back, out, got) != n || memcmp(back, in, n) != 0)
        return -1;
    return (long)got;
}

void ob_note_vkey_format(const ob_note_key *k, char out[OB_NOTE_VKEY_MAX])
{
    uint8_t raw[33];
    raw[0] = k->type;
    memcpy(raw + 1, k->pk, 32);
    char enc[64];
    b64(enc, sizeof enc, raw, sizeof raw);
    snprintf(out, OB_NOTE_VKEY_MAX, "%s+%08x+%s", k->name, (unsigned)k->id, enc);
}

ob_status ob_note_vkey_parse(const char *vkey, ob_note_key *k, ob_err *e)
{
    const char *p1 = vkey ? strchr(vkey, '+') : NULL;
    const char *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
    if (!p1 || !p2 || p2 - p1 != 9)
        return ob_err_set(e, OB_EINVAL, "note: a verifier key is name+keyid+key");
    size_t nlen = (size_t)(p1 - vkey);
    char name[OB_NOTE_NAME_MAX + 1];
    if (!name_ok(vkey, nlen))
        return ob_err_set(e, OB_EINVAL, "note: the verifier key's name is not valid");
    memcpy(name, vkey, nlen);
    name[nlen] = '\0';
    uint8_t idb[4], raw[40];
    char idhex[9];
    memcpy(idhex, p1 + 1, 8);
    idhex[8] = '\0';
    for (int i = 0; i < 8; i++)
        if (!((idhex[i] >= '0' && idhex[i] <= '9') || (idhex[i] >= 'a' && idhex[i] <= 'f')))
            return ob_err_set(e, OB_EINVAL, "note: the verifier key's id is not lower-case hex");
    if (ob_log_unhex(idhex, idb, 4) != 0 || unb64(p2 + 1, strlen(p2 + 1), raw, sizeof raw) != 33)
        return ob_err_set(e, OB_EINVAL, "note: the verifier key's id or key is malformed");
    if (raw[0] != OB_NOTE_ED25519 && raw[0] != OB_NOTE_COSIG)
        return ob_err_set(e, OB_EINVAL, "note: the verifier key's algorithm %u is not supported",
                          raw[0]);
    ob_status s = ob_note_key_make(k, name, raw[0], raw + 1, e);
    if (s != OB_OK)
        return s;
    uint32_t id = (uint32_t)idb[0] << 24 | (uint32_t)idb[1] << 16 | (uint32_t)idb[2] << 8 | idb[3];
    if (id != k->id)
        return ob_err_set(e, OB_EINVAL, "note: the verifier key's id does not match its key");
    return OB_OK;
}

static ob_status sig_line(const char *name, uint32_t id, const uint8_t *sig, size_t siglen,
                          char line[OB_NOTE_LINE_MAX], ob_err *e)
{
    uint8_t raw[4 + 8 + 64];
    raw[0] = (uint8_t)(id >> 24);
    raw[1] = (uint8_t)(id >> 16);
    raw[2] = (uint8_t)(id >> 8);
    raw[3] = (uint8_t)id;
    memcpy(raw + 4, sig, siglen);
    char enc[128];
    if (!b64(enc, sizeof enc, raw, 4 + siglen))
        return ob_err_set(e, OB_EINTERNAL, "note: signature too long");
    snprintf(line, OB_NOTE_LINE_MAX, "%s%s %s\n", dash, name, enc);
    return OB_OK;
}

static bool text_ok(const char *text, size_t len)
{
    if (len == 0 || text[len - 1] != '\n' || len > OB_NOTE_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] < 0x20 && text[i] != '\n')
            return false;
    return true;
}

ob_status ob_note_sign(const char *text, size_t len, const char *name, const uint8_t sk[64],
                       char line[OB_NOTE_LINE_MAX], ob_err *e)
{
    ob_note_key k;
    ob_status s = ob_note_key_make(&k, name, OB_NOTE_ED25519, sk + 32, e);
    if (s != OB_OK)
        return s;
    if (!text_ok(text, len))
        return ob_err_set(e, OB_EINVAL,
                          "note: the text must end in a newline and hold no"
                          " control characters");
    uint8_t sig[64];
    crypto_sign_ed25519_detached(sig, NULL, (const uint8_t *)text, len, sk);
    return sig_line(name, k.id, sig, 64, line, e);
}

/* "cosignature/v1\ntime <t>\n" || text: the message a cosigner signs. */
static size_t cosig_header(uint64_t t, char *out, size_t cap)
{
    int n = snprintf(out, cap, "cosignature/v1\ntime %llu\n", (unsigned long long)t);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static bool cosig_verify(const char *text, size_t len, uint64_t t, const uint8_t sig[64],
                         const uint8_t pk[32])
{
    char hdr[64];
    size_t h = cosig_header(t, hdr, sizeof hdr);
    uint8_t msg[64 + OB_NOTE_MAX];
    if (!h || len > OB_NOTE_MAX)
        return false;
    memcpy(msg, hdr, h);
    memcpy(msg + h, text, len);
    return crypto_sign_ed25519_verify_detached(sig, msg, h + len, pk) == 0;
}

ob_status ob_note_cosign(const char *text, size_t len, const char *name, const uint8_t sk[64],
                         uint64_t t, char line[OB_NOTE_LINE_MAX], ob_err *e)
{
    ob_note_key k;
    ob_status s = ob_note_key_make(&k, name, OB_NOTE_COSIG, sk + 32, e);
    if (s != OB_OK)
        return s;
    if (!text_ok(text, len) || t > (uint64_t)INT64_MAX)
        return ob_err_set(e, OB_EINVAL, "note: cannot cosign this text");
    char hdr[64];
    size_t h = cosig_header(t, hdr, sizeof hdr);
    uint8_t msg[64 + OB_NOTE_MAX];
    memcpy(msg, hdr, h);
    memcpy(msg + h, text, len);
    uint8_t sig[8 + 64];
    ob_log_put_u64(sig, t);
    crypto_sign_ed25519_detached(sig + 8, NULL, msg, h + len, sk);
    return sig_line(name, k.id, sig, 72, line, e);
}

ob_status ob_note_open(const char *note, size_t len, const ob_note_key *keys, size_t nkeys,
                       ob_note_result *r, ob_err *e)
{
    memset(r, 0, sizeof *r);
    if (nkeys > OB_NOTE_MAX_SIGS)
        return ob_err_set(e, OB_EINVAL, "note: too many keys");
    if (len == 0 || len > OB_NOTE_MAX + OB_NOTE_MAX_SIGS * OB_NOTE_LINE_MAX ||
        note[len - 1] != '\n' || memchr(note, '\0', len))
        return ob_err_set(e, OB_EINVAL, "note: empty, too long or not ending in a newline");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)note[i] < 0x20 && note[i] != '\n')
            return ob_err_set(e, OB_EINVAL, "note: a control character");
    /* The text ends at the last blank line: find the last "\n\n". */
    size_t split = 0;
    bool found = false;
    for (size_t i = len - 1; i > 0; i--)
        if (note[i] == '\n' && note[i - 1] == '\n') {
            split = i; /* note[split] is the blank line's newline */
            found = true;
            break;
        }
    if (!found || split == 0)
        return ob_err_set(e, OB_EINVAL, "note: no blank line before the signatures");
    r->text_len = split;
    if (!text_ok(note, split))
        return ob_err_set(e, OB_EINVAL, "note: the text is too long");
    size_t p = split + 1, good = 0;
    while (p < len) {
        const char *line = note + p;
        const char *nl = memchr(line, '\n', len - p);
        size_t ll = (size_t)(nl - line);
        if (r->nsigs == OB_NOTE_MAX_SIGS)
            return ob_err_set(e, OB_EINVAL, "note: more than %d signatures", OB_NOTE_MAX_SIGS);
        if (ll < DASH_LEN + 3 || memcmp(line, dash, DASH_LEN) != 0)
            return ob_err_set(e, OB_EINVAL, "note: a signature line must start with an em dash");
        const char *name = line + DASH_LEN;
        const char *sp = memchr(name, ' ', ll - DASH_LEN);
        if (!sp || !name_ok(name, (size_t)(sp - name)))
            return ob_err_set(e, OB_EINVAL, "note: a signature line's key name is not valid");
        size_t nlen = (size_t)(sp - name);
        uint8_t raw[4 + 8 + 64 + 4];
        long n = unb64(sp + 1, (size_t)(nl - sp - 1), raw, sizeof raw);
        if (n < 5)
            return ob_err_set(e, OB_EINVAL, "note: a signature is not base64 of id || signature");
        r->nsigs++;
        uint32_t id =
            (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
        for (size_t k = 0; k < nkeys; k++) {
            const ob_note_key *K = &keys[k];
            if (K->id != id || strlen(K->name) != nlen || memcmp(K->name, name, nlen) != 0)
                continue;
            bool ok;
            if (K->type == OB_NOTE_ED25519)
                ok = n == 4 + 64 && crypto_sign_ed25519_verify_detached(
                                        raw + 4, (const uint8_t *)note, split, K->pk) == 0;
            else {
                uint64_t t = n == 4 + 8 + 64 ? ob_log_get_u64(raw + 4) : 0;
                ok = n == 4 + 8 + 64 && t <= (uint64_t)INT64_MAX &&
                     cosig_verify(note, split, t, raw + 12, K->pk);
                r->time[k] = t;
            }
            if (!ok)
                return ob_err_set(e, OB_ETAMPER, "note: the signature by %s does not verify",
                                  K->name);
            if (!r->verified[k])
                good++;
            r->verified[k] = true;
        }
        p += ll + 1;
    }
    if (r->nsigs == 0)
        return ob_err_set(e, OB_EINVAL, "note: no signature lines");
    if (!good)
        return ob_err_set(e, OB_ETAMPER, "note: not signed by any known key");
    return OB_OK;
}

size_t ob_checkpoint_format(const char *origin, uint64_t size, const uint8_t root[32], char *out,
                            size_t cap)
{
    char enc[64];
    b64(enc, sizeof enc, root, 32);
    int n = snprintf(out, cap, "%s\n%llu\n%s\n", origin, (unsigned long long)size, enc);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

void ob_log_origin(const uint8_t pk[32], char out[OB_NOTE_NAME_MAX + 1])
{
    uint8_t d[32];
    ob_sha256(d, pk, 32);
    char hex[17];
    ob_log_hex(d, 8, hex);
    snprintf(out, OB_NOTE_NAME_MAX + 1, "overblik.invalid/log/%s", hex);
}

ob_status ob_checkpoint_note(const char *origin, uint64_t size, const uint8_t root[32],
                             const uint8_t sk[64], char *out, size_t cap, ob_err *e)
{
    size_t n = ob_checkpoint_format(origin, size, root, out, cap);
    char line[OB_NOTE_LINE_MAX];
    if (!n)
        return ob_err_set(e, OB_EINTERNAL, "access log: checkpoint text too long");
    ob_status s = ob_note_sign(out, n, origin, sk, line, e);
    if (s == OB_OK && (size_t)snprintf(out + n, cap - n, "\n%s", line) >= cap - n)
        return ob_err_set(e, OB_EINTERNAL, "access log: checkpoint note too long");
    return s;
}

ob_status ob_checkpoint_parse(const char *text, size_t len, char origin[OB_NOTE_NAME_MAX + 1],
                              uint64_t *size, uint8_t root[32], ob_err *e)
{
    const char *l1 = text, *e1 = memchr(l1, '\n', len);
    const char *l2 = e1 ? e1 + 1 : NULL;
    const char *e2 = l2 ? memchr(l2, '\n', len - (size_t)(l2 - text)) : NULL;
    const char *l3 = e2 ? e2 + 1 : NULL;
    const char *e3 = l3 ? memchr(l3, '\n', len - (size_t)(l3 - text)) : NULL;
    if (!e3 || e1 == l1 || (size_t)(e1 - l1) > OB_NOTE_NAME_MAX)
        return ob_err_set(e, OB_EINVAL, "checkpoint: needs origin, size and root lines");
    memcpy(origin, l1, (size_t)(e1 - l1));
    origin[e1 - l1] = '\0';
    /* decimal, no leading zeroes (except "0"), no sign, fits u64 */
    size_t sl = (size_t)(e2 - l2);
    if (sl == 0 || sl > 20 || (l2[0] == '0' && sl > 1))
        return ob_err_set(e, OB_EINVAL, "checkpoint: the size line is not a decimal number");
    uint64_t v = 0;
    for (size_t i = 0; i < sl; i++) {
        if (l2[i] < '0' || l2[i] > '9' || v > (UINT64_MAX - (uint64_t)(l2[i] - '0')) / 10)
            return ob_err_set(e, OB_EINVAL, "checkpoint: the size line is not a decimal number");
        v = v * 10 + (uint64_t)(l2[i] - '0');
    }
    if (unb64(l3, (size_t)(e3 - l3), root, 32) != 32)
        return ob_err_set(e, OB_EINVAL, "checkpoint: the root line is not base64 of 32 bytes");
    *size = v;
    return OB_OK;
}
