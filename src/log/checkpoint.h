/* checkpoint.h - signed checkpoints and the signed head of the access log (R-LOG-4).
 * Pure: builds the domain-separated byte strings and signs or verifies them with
 * Ed25519 (libsodium). The SQLite shell stores the results (store/sqlite/log_sqlite.c).
 *
 * A checkpoint covers the segment of entries (prev_size, size]. Signed message, integers
 * big-endian, no separators:
 *
 *     "overblik-checkpoint-v1"  (22 bytes)
 *     u64 prev_size, u64 size
 *     root[32]    RFC 6962 Merkle root over the segment's leaf hashes (merkle.h)
 *     chain[32]   the hash chain after entry `size` (hash.h)
 *     i64 time    when the checkpoint was cut
 *     i64 max_time  newest entry time in the segment (what retention decides on)
 *
 * The head is rewritten after every group commit, in the same transaction, so that
 * cutting entries off the end of the log is detected:
 *
 *     "overblik-head-v1" (16 bytes) || u64 size || chain[32] || i64 time
 *
 * Retention on PostgreSQL (store/pg/log_pg.h) drops the oldest entries and says so in a
 * signed marker, so that a verifier tells retention from deletion:
 *
 *     "overblik-expired-v1" (19 bytes) || u64 through || i64 cutoff || chain[32] || i64 time
 *
 * entries 1..through were removed, every one of them older than cutoff; chain is the hash
 * chain after entry `through` (the checkpoint there signs the same), time when it was done.
 *
 * The prefixes keep a signature of one kind from ever being valid as another. */
#ifndef OB_LOG_CHECKPOINT_H
#define OB_LOG_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/time.h"
#include "log/hash.h"

#define OB_LOG_SIG_LEN        64
#define OB_LOG_PK_LEN         32
#define OB_LOG_SK_LEN         64
#define OB_LOG_CP_DOMAIN      "overblik-checkpoint-v1"
#define OB_LOG_HEAD_DOMAIN    "overblik-head-v1"
#define OB_LOG_CP_MSG_LEN     (22 + 8 + 8 + 32 + 32 + 8 + 8)
#define OB_LOG_HEAD_MSG_LEN   (16 + 8 + 32 + 8)
#define OB_LOG_EXPIRY_DOMAIN  "overblik-expired-v1"
#define OB_LOG_EXPIRY_MSG_LEN (19 + 8 + 8 + 32 + 8)

typedef struct ob_log_checkpoint {
    uint64_t prev_size, size;
    uint8_t root[OB_LOG_HASH_LEN];
    uint8_t chain[OB_LOG_HASH_LEN];
    ob_time time;
    ob_time max_time;
    uint8_t sig[OB_LOG_SIG_LEN];
} ob_log_checkpoint;

typedef struct ob_log_head {
    uint64_t size;
    uint8_t chain[OB_LOG_HASH_LEN];
    ob_time time;
    uint8_t sig[OB_LOG_SIG_LEN];
} ob_log_head;

typedef struct ob_log_expiry {
    uint64_t through;
    ob_time cutoff;
    uint8_t chain[OB_LOG_HASH_LEN];
    ob_time time;
    uint8_t sig[OB_LOG_SIG_LEN];
} ob_log_expiry;

void ob_log_checkpoint_message(const ob_log_checkpoint *cp, uint8_t out[OB_LOG_CP_MSG_LEN]);
void ob_log_checkpoint_sign(ob_log_checkpoint *cp, const uint8_t sk[OB_LOG_SK_LEN]);
bool ob_log_checkpoint_verify(const ob_log_checkpoint *cp, const uint8_t pk[OB_LOG_PK_LEN]);

void ob_log_head_message(const ob_log_head *h, uint8_t out[OB_LOG_HEAD_MSG_LEN]);
void ob_log_head_sign(ob_log_head *h, const uint8_t sk[OB_LOG_SK_LEN]);
bool ob_log_head_verify(const ob_log_head *h, const uint8_t pk[OB_LOG_PK_LEN]);

void ob_log_expiry_message(const ob_log_expiry *x, uint8_t out[OB_LOG_EXPIRY_MSG_LEN]);
void ob_log_expiry_sign(ob_log_expiry *x, const uint8_t sk[OB_LOG_SK_LEN]);
bool ob_log_expiry_verify(const ob_log_expiry *x, const uint8_t pk[OB_LOG_PK_LEN]);

#endif
