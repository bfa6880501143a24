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

/* --- the whole log as one tree (RFC 9162 §2.1.4 consistency proofs) ---
 * Proof nodes are MTHs of leaf ranges. The range planners say which ranges, in proof
 * order, so the store can compute each from whatever it has (leaves, a stored
 * frontier) and the pure code and the SQLite shell build identical proofs. */
typedef struct ob_merkle_range {
    uint64_t lo, hi; /* leaves [lo, hi), 0-based */
} ob_merkle_range;
#define OB_MERKLE_MAX_CONSISTENCY (OB_MERKLE_MAX_PATH + 1)

/* PATH(index, D[0:n]) as ranges, leaf side first; returns the count (0 when index >= n). */
size_t ob_merkle_inclusion_ranges(uint64_t index, uint64_t n, ob_merkle_range *out);
/* PROOF(m, D[0:n]) (RFC 9162 §2.1.4.1) as ranges; 0 < m <= n, else returns 0. */
size_t ob_merkle_consistency_ranges(uint64_t m, uint64_t n, ob_merkle_range *out);
/* The same with hashes, over leaves in memory (tests, small trees). */
size_t ob_merkle_consistency(const uint8_t (*leaves)[OB_LOG_HASH_LEN], uint64_t m, uint64_t n,
                             uint8_t (*proof)[OB_LOG_HASH_LEN]);
/* RFC 9162 §2.1.4.2: true when proof shows that the tree of size m with root1 is a
 * prefix of the tree of size n with root2. m == n needs an empty proof and equal roots;
 * m == 0 is the empty tree, a prefix of every tree (empty proof). */
bool ob_merkle_consistency_verify(uint64_t m, uint64_t n, const uint8_t (*proof)[OB_LOG_HASH_LEN],
                                  size_t len, const uint8_t root1[OB_LOG_HASH_LEN],
                                  const uint8_t root2[OB_LOG_HASH_LEN]);

/* A compact range [0, size): one perfect subtree hash per set bit of size (h[level] for
 * the subtree of 2^level leaves). Appending a leaf is one hash amortised; the root is a
 * fold of at most 64. The writer keeps one for the whole log and stores it with every
 * checkpoint, so the tree survives retention removing old leaves. */
typedef struct ob_merkle_frontier {
    uint64_t size;
    uint8_t h[64][OB_LOG_HASH_LEN];
} ob_merkle_frontier;

void ob_merkle_frontier_init(ob_merkle_frontier *f);
void ob_merkle_frontier_push(ob_merkle_frontier *f, const uint8_t leaf[OB_LOG_HASH_LEN]);
/* Appends a perfect subtree of 2^level leaves; f->size must be a multiple of 2^level. */
void ob_merkle_frontier_push_node(ob_merkle_frontier *f, unsigned level,
                                  const uint8_t node[OB_LOG_HASH_LEN]);
/* Appends n leaves (MTH of aligned subtrees computed directly). */
void ob_merkle_frontier_push_range(ob_merkle_frontier *f, const uint8_t (*leaves)[OB_LOG_HASH_LEN],
                                   size_t n);
/* Every perfect aligned subtree of 2^level leaves (level >= min_level) that an append
 * completes: its level, its index (first leaf >> level) and its hash. The store keeps
 * them so proofs never rehash the whole log. */
typedef void (*ob_merkle_emit_fn)(void *ctx, unsigned level, uint64_t index,
                                  const uint8_t node[OB_LOG_HASH_LEN]);
void ob_merkle_frontier_push_range_emit(ob_merkle_frontier *f,
                                        const uint8_t (*leaves)[OB_LOG_HASH_LEN], size_t n,
                                        unsigned min_level, ob_merkle_emit_fn emit, void *ctx);
/* MTH of a perfect subtree of 2^level leaves whose first leaf is at absolute index
 * first, emitting its nodes as above; the same hash as ob_merkle_root. */
void ob_merkle_perfect_root(const uint8_t (*leaves)[OB_LOG_HASH_LEN], unsigned level,
                            uint64_t first, unsigned min_level, ob_merkle_emit_fn emit, void *ctx,
                            uint8_t out[OB_LOG_HASH_LEN]);
/* Appends a perfect subtree already hashed (push_node) and emits the merges. */
void ob_merkle_frontier_push_node_emit(ob_merkle_frontier *f, unsigned level,
                                       const uint8_t node[OB_LOG_HASH_LEN], unsigned min_level,
                                       ob_merkle_emit_fn emit, void *ctx);
void ob_merkle_frontier_root(const ob_merkle_frontier *f, uint8_t out[OB_LOG_HASH_LEN]);
/* Serialised form: the subtree hashes, largest (leftmost) first: popcount(size) * 32
 * bytes. decode checks the length against size; 0 on success, -1 otherwise. */
size_t ob_merkle_frontier_encode(const ob_merkle_frontier *f, uint8_t *out);
int ob_merkle_frontier_decode(ob_merkle_frontier *f, uint64_t size, const uint8_t *in, size_t n);

#endif
