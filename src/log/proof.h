/* proof.h - an inclusion proof for one access-log entry, its offline check with only the
 * server's public key, and its JSON form for the patient (R-LOG-3, R-LOG-4). Pure: the
 * proof is produced from the database by ob_log_prove (store/sqlite/log_sqlite.h).
 *
 * A proof says: entry `seq` (its fields given in full) hashes to `leaf`; `leaf` is at
 * `index` of the `tree_size`-leaf Merkle tree of the segment (prev_size, size] whose root
 * and chain head are signed in `cp`. The checker recomputes the leaf from the fields, so
 * the displayed fields are exactly what is proved. JSON ("overblik-log-proof-v1"):
 *
 *   { "format": "overblik-log-proof-v1", "seq": 17,
 *     "entry": { "time": 1767225600, "time_utc": "2026-01-01T00:00:00Z",
 *                "event": 0, "event_name": "decision", "capacity": 0,
 *                "permit": true, "override": false, "actor_id": "...", ... },
 *     "leaf": "<hex>", "index": 16, "tree_size": 4096, "path": ["<hex>", ...],
 *     "checkpoint": { "prev_size": 0, "size": 4096, "root": "<hex>", "chain": "<hex>",
 *                     "time": ..., "max_time": ..., "signature": "<hex>" } }
 *
 * time_utc and event_name are for people; the checker recomputes them from the numeric
 * fields and refuses a proof where they differ, where any key is unknown or repeated.
 *
 * Version 2 ("overblik-log-proof-v2", written since the log is one tree) proves the entry
 * against the whole log's signed checkpoint note, so a witness's cosignature covers it:
 *
 *   { "format": "overblik-log-proof-v2", "seq": 17,
 *     "leaf_input": "<base64 of the canonical encoding, hash.h>",
 *     "entry": { ...the same displayed fields as v1, all derived from leaf_input... },
 *     "index": 16, "tree_size": 4096, "inclusion": ["<base64>", ...],
 *     "checkpoint": "<signed note: origin\nsize\nroot\n\n— name sig\n...>" }
 *
 * The leaf is SHA-256(0x00 || leaf_input); the inclusion path (RFC 9162 §2.1.3) leads
 * from it at index = seq - 1 to the root in the note, whose size is tree_size. */
#ifndef OB_LOG_PROOF_H
#define OB_LOG_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "log/checkpoint.h"
#include "log/entry.h"
#include "log/merkle.h"
#include "log/note.h"

typedef struct ob_log_proof {
    uint64_t seq;
    ob_log_entry entry; /* its strings are owned by the proof (ob_log_proof_free) */
    uint8_t leaf[OB_LOG_HASH_LEN];
    uint64_t index;     /* seq - cp.prev_size - 1 */
    uint64_t tree_size; /* cp.size - cp.prev_size */
    size_t path_len;
    uint8_t path[OB_MERKLE_MAX_PATH][OB_LOG_HASH_LEN];
    ob_log_checkpoint cp; /* version 1: the segment's checkpoint */
    char *note;           /* version 2: the signed checkpoint note, owned */
    int version;          /* 1 or 2 */
    char *owned[OB_LOG_NFIELDS];
} ob_log_proof;

/* Copies src's strings into the proof (replacing earlier ones). */
ob_status ob_log_proof_set_entry(ob_log_proof *p, const ob_log_entry *src, ob_err *e);
void ob_log_proof_free(ob_log_proof *p);
/* Sets the proof's entry, seq and leaf from a stored canonical encoding (hash.h, the
 * leaf input): a store that keeps the encoding (the PostgreSQL log) proves exactly what
 * it hashed. OB_ETAMPER when enc is not one well-formed encoding. */
ob_status ob_log_proof_set_input(ob_log_proof *p, const uint8_t *enc, size_t n, ob_err *e);

/* OB_OK when the proof holds under pk; OB_ETAMPER with the reason otherwise. */
ob_status ob_log_proof_check(const ob_log_proof *p, const uint8_t pk[OB_LOG_PK_LEN], ob_err *e);
/* The same with the log's published keys (any of them may have signed). */
ob_status ob_log_proof_check_keys(const ob_log_proof *p, const ob_note_key *keys, size_t nkeys,
                                  ob_err *e);

/* The JSON text of p (pretty-printed, keys sorted); free with ob_free. NULL on ENOMEM. */
char *ob_log_proof_to_json(const ob_log_proof *p);
/* Parses JSON text into *out (zeroed first; free with ob_log_proof_free). Does not check
 * the proof: call ob_log_proof_check. */
ob_status ob_log_proof_from_json(const char *json, ob_log_proof *out, ob_err *e);

/* A consistency proof as `log consistency` and GET /log/consistency give it (docs/log.md):
 *
 *   { "format": "overblik-log-consistency-v1", "from": m, "to": n, "proof": ["<base64>",..],
 *     "from_checkpoint": "<note>"|null, "to_checkpoint": "<note>"|null }
 *
 * the two checkpoint keys optional. The notes are owned (ob_log_consistency_free). */
typedef struct ob_log_consistency_proof {
    uint64_t from, to;
    size_t len;
    uint8_t proof[OB_MERKLE_MAX_CONSISTENCY][OB_LOG_HASH_LEN];
    char *from_note, *to_note; /* NULL when absent or null */
} ob_log_consistency_proof;

/* Strict like ob_log_proof_from_json: no repeated or unknown key. Does not check it. */
ob_status ob_log_consistency_from_json(const char *json, ob_log_consistency_proof *out, ob_err *e);
void ob_log_consistency_free(ob_log_consistency_proof *p);
/* Opens a checkpoint note with keys (log keys and witness keys together): OB_OK when a
 * log key (type OB_NOTE_ED25519) named as its origin signed it and no known signature
 * fails; its size and root, and r says which keys verified. */
ob_status ob_log_checkpoint_open(const char *note, const ob_note_key *keys, size_t nkeys,
                                 char origin[OB_NOTE_NAME_MAX + 1], uint64_t *size,
                                 uint8_t root[OB_LOG_HASH_LEN], ob_note_result *r, ob_err *e);
/* OB_OK when both notes (from_note/to_note, or the ones given) are the log's checkpoints of
 * sizes from and to, of one origin, and the proof shows the second extends the first. */
ob_status ob_log_consistency_check(const ob_log_consistency_proof *p, const char *from_note,
                                   const char *to_note, const ob_note_key *keys, size_t nkeys,
                                   ob_err *e);

#endif
