/* merkle.h - RFC 6962 / RFC 9162 Merkle Tree Hash over leaf hashes, inclusion proofs
 * (audit paths) and their offline verification (R-LOG-4). Pure functions, no I/O.
 *
 * Leaves passed here are already leaf hashes, SHA-256(0x00 || leaf input) (hash.h).
 * Interior nodes are SHA-256(0x01 || left || right); for n > 1 leaves the tree splits at
 * k, the largest power of two smaller than n (RFC 6962 §2.1). The hash of the empty
 * tree is SHA-256(""). A segment of the access log is one such tree; its root is signed
 * in a checkpoint (checkpoint.h). */
#ifndef OB_LOG_MERKLE_H
#define OB_LOG_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/hash.h"

/* Audit paths are at most 64 long (trees of up to 2^64 leaves). */
#define OB_MERKLE_MAX_PATH 64

void ob_merkle_node(const uint8_t l[OB_LOG_HASH_LEN], const uint8_t r[OB_LOG_HASH_LEN],
                    uint8_t out[OB_LOG_HASH_LEN]);
/* MTH(leaves[0..n)). */
void ob_merkle_root(const uint8_t (*leaves)[OB_LOG_HASH_LEN], size_t n,
                    uint8_t out[OB_LOG_HASH_LEN]);
/* The audit path PATH(index, leaves[0..n)), leaf side first. Returns its length, or
 * (size_t)-1 when index >= n. path must hold OB_MERKLE_MAX_PATH hashes. */
size_t ob_merkle_path(const uint8_t (*leaves)[OB_LOG_HASH_LEN], size_t n, size_t index,
                      uint8_t (*path)[OB_LOG_HASH_LEN]);
/* RFC 9162 §2.1.3.2: true when path proves that leaf is at index in the tree of
 * tree_size leaves whose root is root. */
bool ob_log_proof_verify(const uint8_t leaf[OB_LOG_HASH_LEN], uint64_t index, uint64_t tree_size,
                         const uint8_t (*path)[OB_LOG_HASH_LEN], size_t path_len,
                         const uint8_t root[OB_LOG_HASH_LEN]);

#endif
