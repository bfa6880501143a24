/* hash.h - the pure cryptographic core of the access log (R-LOG-4): the canonical
 * encoding of one entry, its RFC 6962 leaf hash and the hash chain. No I/O here; the
 * SQLite shell (store/sqlite/log_sqlite.c) and the offline proof checker both build on it, so
 * a patient's checker and the server compute bit-identical hashes.
 *
 * Canonical encoding (the RFC 6962 "leaf input"), all integers big-endian:
 *
 *     u8   version            = 1
 *     i64  time               (ob_time, epoch seconds UTC)
 *     u8   event, u8 capacity, u8 permit (0/1), u8 override (0/1)
 *     14 x { u32 length, bytes }   actor_id, actor_name, actor_role, actor_org,
 *                                  actor_org_name, on_behalf_of, patient, category,
 *                                  resource, purpose, rule, legal_basis, reason,
 *                                  justification   (NULL encodes as empty)
 *     u64  seq                (1-based position in the log)
 *
 * The seq is LAST on purpose: a caller thread can absorb 0x00 || everything-but-seq into
 * a SHA-256 state before the writer thread has assigned the seq, and the writer only
 * finishes the last block (ob_log_leaf_begin / ob_log_leaf_finish). Because the seq is
 * inside the leaf, moving an entry to another position changes its leaf.
 *
 *     leaf_i  = SHA-256(0x00 || encoding_i)            (RFC 6962 §2.1 leaf hash)
 *     chain_i = SHA-256(chain_{i-1} || leaf_i),  chain_0 = 32 zero bytes
 */
#ifndef OB_LOG_HASH_H
#define OB_LOG_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "log/entry.h"
#include "log/sha256.h"

#define OB_LOG_HASH_LEN         32
#define OB_LOG_ENCODING_VERSION 1
#define OB_LOG_NFIELDS          14
/* One string field may not exceed this; longer input is refused (OB_ELIMIT). */
#define OB_LOG_FIELD_MAX (1u << 20)

/* The 14 string fields of e in encoding order (NULL mapped to ""). */
void ob_log_entry_fields(const ob_log_entry *e, const char *out[OB_LOG_NFIELDS]);
/* Bytes the string fields of n entries take, NULs included (for ob_log_entries_copy). */
size_t ob_log_entries_strbytes(const ob_log_entry *en, size_t n);
/* Copies n entries into out, their strings packed into buf (ob_log_entries_strbytes bytes
 * long): out's strings point into buf, so out lives as long as buf does, whatever becomes
 * of en (an asynchronous append's copy). */
void ob_log_entries_copy(const ob_log_entry *en, size_t n, ob_log_entry *out, char *buf);
/* Names of the 14 fields, in encoding order (for JSON and SQL column names). */
extern const char *const ob_log_field_names[OB_LOG_NFIELDS];

/* Checks field lengths. OB_ELIMIT when a field is longer than OB_LOG_FIELD_MAX. */
ob_status ob_log_entry_check(const ob_log_entry *e, ob_err *err);
/* Size of the canonical encoding of e. */
size_t ob_log_entry_encoded_len(const ob_log_entry *e);
/* Writes the canonical encoding into buf (cap >= ob_log_entry_encoded_len). Returns the
 * number of bytes written, or 0 when cap is too small. */
size_t ob_log_entry_encode(const ob_log_entry *e, uint64_t seq, uint8_t *buf, size_t cap);

/* Reads one canonical encoding back (the exact inverse of ob_log_entry_encode: whatever
 * it accepts, encoding the result with *seq gives buf again, byte for byte). The 14
 * strings are copied, NUL-terminated, into strbuf and out's members point there (strcap
 * >= len always suffices); a field encoded from NULL comes back as "", since the encoding
 * does not tell the two apart. OB_EINVAL when buf is not exactly one encoding: another
 * version, truncated, bytes after the seq, permit or override neither 0 nor 1, a field
 * longer than OB_LOG_FIELD_MAX or holding a NUL byte; OB_ELIMIT when strcap is too small.
 * Reads only buf[0..len). On an error *out and *seq are untouched. */
ob_status ob_log_entry_decode(const uint8_t *buf, size_t len, ob_log_entry *out, uint64_t *seq,
                              char *strbuf, size_t strcap, ob_err *e);

/* leaf = SHA-256(0x00 || encoding(e, seq)). */
void ob_log_leaf_hash(const ob_log_entry *e, uint64_t seq, uint8_t out[OB_LOG_HASH_LEN]);
/* Split form of ob_log_leaf_hash: begin absorbs everything but the seq. */
void ob_log_leaf_begin(ob_sha256_ctx *st, const ob_log_entry *e);
void ob_log_leaf_finish(ob_sha256_ctx *st, uint64_t seq, uint8_t out[OB_LOG_HASH_LEN]);
/* out = SHA-256(prev || leaf); out may alias prev. */
void ob_log_chain_next(const uint8_t prev[OB_LOG_HASH_LEN], const uint8_t leaf[OB_LOG_HASH_LEN],
                       uint8_t out[OB_LOG_HASH_LEN]);

/* Lower-case hex of n bytes into out (2n+1 bytes with NUL). */
void ob_log_hex(const uint8_t *in, size_t n, char *out);
/* Parses exactly 2n hex digits. 0 on success, -1 otherwise. */
int ob_log_unhex(const char *hex, uint8_t *out, size_t n);

void ob_log_put_u64(uint8_t *p, uint64_t v);
uint64_t ob_log_get_u64(const uint8_t *p);

#endif
