/* proof.h - an inclusion proof for one access-log entry, its offline check with only the
 * server's public key, and its JSON form for the patient (R-LOG-3, R-LOG-4). Pure: the
 * proof is produced from the database by ob_log_prove (store/log_sqlite.h).
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
 * time_utc and event_name are for people; the checker uses the numeric fields. */
#ifndef OB_LOG_PROOF_H
#define OB_LOG_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "log/checkpoint.h"
#include "log/entry.h"
#include "log/merkle.h"

typedef struct ob_log_proof {
    uint64_t seq;
    ob_log_entry entry; /* its strings are owned by the proof (ob_log_proof_free) */
    uint8_t leaf[OB_LOG_HASH_LEN];
    uint64_t index;     /* seq - cp.prev_size - 1 */
    uint64_t tree_size; /* cp.size - cp.prev_size */
    size_t path_len;
    uint8_t path[OB_MERKLE_MAX_PATH][OB_LOG_HASH_LEN];
    ob_log_checkpoint cp;
    char *owned[OB_LOG_NFIELDS];
} ob_log_proof;

/* Copies src's strings into the proof (replacing earlier ones). */
ob_status ob_log_proof_set_entry(ob_log_proof *p, const ob_log_entry *src, ob_err *e);
void ob_log_proof_free(ob_log_proof *p);

/* OB_OK when the proof holds under pk; OB_ETAMPER with the reason otherwise. */
ob_status ob_log_proof_check(const ob_log_proof *p, const uint8_t pk[OB_LOG_PK_LEN], ob_err *e);

/* The JSON text of p (pretty-printed, keys sorted); free with ob_free. NULL on ENOMEM. */
char *ob_log_proof_to_json(const ob_log_proof *p);
/* Parses JSON text into *out (zeroed first; free with ob_log_proof_free). Does not check
 * the proof: call ob_log_proof_check. */
ob_status ob_log_proof_from_json(const char *json, ob_log_proof *out, ob_err *e);

#endif
