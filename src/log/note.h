/* note.h - C2SP signed notes, tlog-checkpoints and Ed25519 tlog-cosignatures: the
 * standard text form in which the access log publishes its tree heads, so that
 * transparency-log tooling (Go's golang.org/x/mod/sumdb/note, the C2SP witnesses) can
 * read them, and witnesses outside the server can cosign them (R-LOG-4, R-LOG-7).
 * Pure: formatting, parsing, Ed25519 over libsodium; no I/O.
 *
 * Specifications (docs/log.md repeats what a verifier needs):
 *   c2sp.org/signed-note       text, blank line, "— <name> base64(keyid[4] || sig)" lines;
 *                              keyid = SHA-256(name || "\n" || type || pk)[:4], big-endian;
 *                              vkey  = <name>+<hex keyid>+base64(type || pk)
 *   c2sp.org/tlog-checkpoint   text = origin "\n" size "\n" base64(root) "\n" [extensions]
 *   c2sp.org/tlog-cosignature  type 0x04: sig = keyid || u64 time || Ed25519 over
 *                              "cosignature/v1\ntime <t>\n" || note text */
#ifndef OB_LOG_NOTE_H
#define OB_LOG_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define OB_NOTE_ED25519  0x01 /* signed-note Ed25519 (the log's own signature) */
#define OB_NOTE_COSIG    0x04 /* tlog-cosignature/v1, timestamped Ed25519 (witnesses) */
#define OB_NOTE_NAME_MAX 128
#define OB_NOTE_MAX      16384 /* the longest note accepted */
#define OB_NOTE_MAX_SIGS 32    /* the spec asks for at least 16 */
/* "— " + name + " " + base64(4 + 8 + 64) + "\n" */
#define OB_NOTE_LINE_MAX (4 + OB_NOTE_NAME_MAX + 1 + 104 + 2)
#define OB_NOTE_VKEY_MAX (OB_NOTE_NAME_MAX + 1 + 8 + 1 + 64)

typedef struct ob_note_key {
    char name[OB_NOTE_NAME_MAX + 1];
    uint32_t id;
    uint8_t type; /* OB_NOTE_ED25519 or OB_NOTE_COSIG */
    uint8_t pk[32];
} ob_note_key;

/* SHA-256(name || 0x0A || type || pk)[:4] as a big-endian integer. */
uint32_t ob_note_key_id(const char *name, uint8_t type, const uint8_t pk[32]);
/* Fills k from name, type and pk; OB_EINVAL for a name that is empty, too long, or has a
 * space, '+' or a control character. */
ob_status ob_note_key_make(ob_note_key *k, const char *name, uint8_t type, const uint8_t pk[32],
                           ob_err *e);
/* The verifier key string of k into out (OB_NOTE_VKEY_MAX bytes). */
void ob_note_vkey_format(const ob_note_key *k, char out[OB_NOTE_VKEY_MAX]);
/* Parses a vkey; checks that the key id matches the name and key. */
ob_status ob_note_vkey_parse(const char *vkey, ob_note_key *k, ob_err *e);

/* The signature line "— name base64(id || sig)\n" for text (which must end in "\n")
 * into line (OB_NOTE_LINE_MAX bytes). sk: libsodium Ed25519 secret key (seed || pk). */
ob_status ob_note_sign(const char *text, size_t len, const char *name, const uint8_t sk[64],
                       char line[OB_NOTE_LINE_MAX], ob_err *e);
/* A tlog-cosignature/v1 line over text at time t. */
ob_status ob_note_cosign(const char *text, size_t len, const char *name, const uint8_t sk[64],
                         uint64_t t, char line[OB_NOTE_LINE_MAX], ob_err *e);

/* What ob_note_open found: the note text (a prefix of the note, ending in "\n") and,
 * for each of keys[], whether a signature by it verified (and the cosignature time). */
typedef struct ob_note_result {
    size_t text_len;
    size_t nsigs; /* signature lines in the note */
    bool verified[OB_NOTE_MAX_SIGS];
    uint64_t time[OB_NOTE_MAX_SIGS]; /* cosignatures: their timestamp */
} ob_note_result;

/* Parses a signed note and verifies its signatures against keys[0..nkeys) (nkeys <=
 * OB_NOTE_MAX_SIGS). Per signed-note: lines by unknown keys are ignored; a line by a
 * known key (same name and id) that does not verify rejects the whole note. OB_ETAMPER
 * when a known signature is bad or none of keys[] signed; OB_EINVAL when the note is
 * malformed. Verified-by-whom is in r. */
ob_status ob_note_open(const char *note, size_t len, const ob_note_key *keys, size_t nkeys,
                       ob_note_result *r, ob_err *e);

/* tlog-checkpoint body: "origin\nsize\nbase64(root)\n" into out; returns its length or
 * 0 when cap is too small. */
size_t ob_checkpoint_format(const char *origin, uint64_t size, const uint8_t root[32], char *out,
                            size_t cap);
/* Parses the first three lines of a checkpoint text (extension lines are allowed and
 * ignored). origin gets at most OB_NOTE_NAME_MAX bytes. */
/* The origin line (and key name) of a log whose first key is pk:
 * "overblik.invalid/log/" + hex of SHA-256(pk)[:8]. Both backends derive it the same way, so
 * the same key gives the same notes, byte for byte. */
void ob_log_origin(const uint8_t pk[32], char out[OB_NOTE_NAME_MAX + 1]);
/* Room for a checkpoint note with one signature line: text (origin, size, root), blank
 * line, signature line. */
#define OB_CHECKPOINT_NOTE_CAP (OB_NOTE_NAME_MAX + 64 + OB_NOTE_LINE_MAX)
/* A signed checkpoint note (text, blank line, one signature line by origin's key) of the
 * tree of `size` leaves with `root` into out (cap bytes, NUL-terminated). */
ob_status ob_checkpoint_note(const char *origin, uint64_t size, const uint8_t root[32],
                             const uint8_t sk[64], char *out, size_t cap, ob_err *e);
ob_status ob_checkpoint_parse(const char *text, size_t len, char origin[OB_NOTE_NAME_MAX + 1],
                              uint64_t *size, uint8_t root[32], ob_err *e);

#endif
