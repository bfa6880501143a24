/* merkle.c - RFC 6962 Merkle Tree Hash, audit paths and their verification (merkle.h).
 * Segments are small (thousands of leaves), so the recursive definitions from the RFC
 * are used directly: they are O(n) hashes and easy to check against the text. */
#include "log/merkle.h"
#include "log/sha256.h"

#include <sodium.h>
#include <string.h>

void ob_merkle_node(const uint8_t l[OB_LOG_HASH_LEN], const uint8_t r[OB_LOG_HASH_LEN],
                    uint8_t out[OB_LOG_HASH_LEN])
{
    uint8_t in[1 + 2 * OB_LOG_HASH_LEN];
    in[0] = 0x01;
    memcpy(in + 1, l, OB_LOG_HASH_LEN);
    memcpy(in + 1 + OB_LOG_HASH_LEN, r, OB_LOG_HASH_LEN);
    ob_sha256(out, in, sizeof in);
}

/* Largest power of two strictly smaller than n (n >= 2). */
static size_t split(size_t n)
{
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

void ob_merkle_root(const uint8_t (*leaves)[OB_LOG_HASH_LEN], size_t n,
                    uint8_t out[OB_LOG_HASH_LEN])
{
    if (n == 0) {
        ob_sha256(out, (const uint8_t *)"", 0);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], OB_LOG_HASH_LEN);
        return;
    }
    size_t k = split(n);
    uint8_t l[OB_LOG_HASH_LEN], r[OB_LOG_HASH_LEN];
    ob_merkle_root(leaves, k, l);
    ob_merkle_root(leaves + k, n - k, r);
    ob_merkle_node(l, r, out);
}

static size_t path_rec(const uint8_t (*leaves)[OB_LOG_HASH_LEN], size_t n, size_t m,
                       uint8_t (*path)[OB_LOG_HASH_LEN], size_t len)
{
    if (n <= 1)
        return len;
    size_t k = split(n);
    if (m < k) {
        len = path_rec(leaves, k, m, path, len);
        ob_merkle_root(leaves + k, n - k, path[len]);
    } else {
        len = path_rec(leaves + k, n - k, m - k, path, len);
        ob_merkle_root(leaves, k, path[len]);
    }
    return len + 1;
}

size_t ob_merkle_path(const uint8_t (*leaves)[OB_LOG_HASH_LEN], size_t n, size_t index,
                      uint8_t (*path)[OB_LOG_HASH_LEN])
{
    if (index >= n)
        return (size_t)-1;
    return path_rec(leaves, n, index, path, 0);
}

bool ob_log_proof_verify(const uint8_t leaf[OB_LOG_HASH_LEN], uint64_t index, uint64_t tree_size,
                         const uint8_t (*path)[OB_LOG_HASH_LEN], size_t path_len,
                         const uint8_t root[OB_LOG_HASH_LEN])
{
    if (index >= tree_size || path_len > OB_MERKLE_MAX_PATH)
        return false;
    uint64_t fn = index, sn = tree_size - 1;
    uint8_t r[OB_LOG_HASH_LEN];
    memcpy(r, leaf, OB_LOG_HASH_LEN);
    for (size_t i = 0; i < path_len; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            ob_merkle_node(path[i], r, r);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            ob_merkle_node(r, path[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && sodium_memcmp(r, root, OB_LOG_HASH_LEN) == 0;
}

/* Ranges of PATH(index, D[lo:lo+n]), collected root side first, then reversed. */
size_t ob_merkle_inclusion_ranges(uint64_t index, uint64_t n, ob_merkle_range *out)
{
    if (index >= n)
        return 0;
    size_t len = 0;
    uint64_t lo = 0;
    while (n > 1) {
        uint64_t k = split((size_t)n);
        if (index < k) {
            out[len++] = (ob_merkle_range){lo + k, lo + n};
            n = k;
        } else {
            out[len++] = (ob_merkle_range){lo, lo + k};
            lo += k;
            index -= k;
            n -= k;
        }
    }
    for (size_t i = 0; i < len / 2; i++) {
        ob_merkle_range t = out[i];
        out[i] = out[len - 1 - i];
        out[len - 1 - i] = t;
    }
    return len;
}

/* SUBPROOF(m, D[lo:lo+n], b), RFC 9162 §2.1.4.1: recursion first, then the node. */
static size_t subproof(uint64_t m, uint64_t lo, uint64_t n, bool b, ob_merkle_range *out,
                       size_t len)
{
    if (m == n) {
        if (!b)
            out[len++] = (ob_merkle_range){lo, lo + m};
        return len;
    }
    uint64_t k = split((size_t)n);
    if (m <= k) {
        len = subproof(m, lo, k, b, out, len);
        out[len++] = (ob_merkle_range){lo + k, lo + n};
    } else {
        len = subproof(m - k, lo + k, n - k, false, out, len);
        out[len++] = (ob_merkle_range){lo, lo + k};
    }
    return len;
}

size_t ob_merkle_consistency_ranges(uint64_t m, uint64_t n, ob_merkle_range *out)
{
    if (m == 0 || m >= n)
        return 0;
    return subproof(m, 0, n, true, out, 0);
}

size_t ob_merkle_consistency(const uint8_t (*leaves)[OB_LOG_HASH_LEN], uint64_t m, uint64_t n,
                             uint8_t (*proof)[OB_LOG_HASH_LEN])
{
    ob_merkle_range r[OB_MERKLE_MAX_CONSISTENCY];
    size_t len = ob_merkle_consistency_ranges(m, n, r);
    for (size_t i = 0; i < len; i++)
        ob_merkle_root(leaves + r[i].lo, (size_t)(r[i].hi - r[i].lo), proof[i]);
    return len;
}

bool ob_merkle_consistency_verify(uint64_t m, uint64_t n, const uint8_t (*proof)[OB_LOG_HASH_LEN],
                                  size_t len, const uint8_t root1[OB_LOG_HASH_LEN],
                                  const uint8_t root2[OB_LOG_HASH_LEN])
{
    if (m > n || len > OB_MERKLE_MAX_CONSISTENCY)
        return false;
    if (m == n)
        return len == 0 && sodium_memcmp(root1, root2, OB_LOG_HASH_LEN) == 0;
    if (m == 0)
        return len == 0;
    /* The path, with root1 in front when m is a power of two (its tree is a node). */
    const uint8_t *path[OB_MERKLE_MAX_CONSISTENCY + 1];
    size_t pl = 0;
    if ((m & (m - 1)) == 0)
        path[pl++] = root1;
    for (size_t i = 0; i < len; i++)
        path[pl++] = proof[i];
    if (pl == 0)
        return false;
    uint64_t fn = m - 1, sn = n - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[OB_LOG_HASH_LEN], sr[OB_LOG_HASH_LEN];
    memcpy(fr, path[0], OB_LOG_HASH_LEN);
    memcpy(sr, path[0], OB_LOG_HASH_LEN);
    for (size_t i = 1; i < pl; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            ob_merkle_node(path[i], fr, fr);
            ob_merkle_node(path[i], sr, sr);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            ob_merkle_node(sr, path[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && sodium_memcmp(fr, root1, OB_LOG_HASH_LEN) == 0 &&
           sodium_memcmp(sr, root2, OB_LOG_HASH_LEN) == 0;
}

void ob_merkle_frontier_init(ob_merkle_frontier *f)
{
    f->size = 0;
}

void ob_merkle_frontier_push_node_emit(ob_merkle_frontier *f, unsigned level,
                                       const uint8_t node[OB_LOG_HASH_LEN], unsigned min_level,
                                       ob_merkle_emit_fn emit, void *ctx)
{
    uint8_t acc[OB_LOG_HASH_LEN];
    memcpy(acc, node, OB_LOG_HASH_LEN);
    uint64_t start = f->size;
    unsigned l = level;
    while (l < 63 && (f->size >> l) & 1) { /* binary carry: merge equal-sized subtrees */
        ob_merkle_node(f->h[l], acc, acc);
        l++;
        if (emit && l >= min_level)
            emit(ctx, l, start >> l, acc);
    }
    memcpy(f->h[l], acc, OB_LOG_HASH_LEN);
    f->size += (uint64_t)1 << level;
}

void ob_merkle_frontier_push_node(ob_merkle_frontier *f, unsigned level,
                                  const uint8_t node[OB_LOG_HASH_LEN])
{
    ob_merkle_frontier_push_node_emit(f, level, node, 64, NULL, NULL);
}

void ob_merkle_frontier_push(ob_merkle_frontier *f, const uint8_t leaf[OB_LOG_HASH_LEN])
{
    ob_merkle_frontier_push_node_emit(f, 0, leaf, 64, NULL, NULL);
}

void ob_merkle_perfect_root(const uint8_t (*leaves)[OB_LOG_HASH_LEN], unsigned level,
                            uint64_t first, unsigned min_level, ob_merkle_emit_fn emit, void *ctx,
                            uint8_t out[OB_LOG_HASH_LEN])
{
    if (level == 0) {
        memcpy(out, leaves[0], OB_LOG_HASH_LEN);
        return;
    }
    if (!emit || level < min_level) {
        ob_merkle_root(leaves, (size_t)1 << level, out);
        return;
    }
    uint8_t l[OB_LOG_HASH_LEN], r[OB_LOG_HASH_LEN];
    size_t half = (size_t)1 << (level - 1);
    ob_merkle_perfect_root(leaves, level - 1, first, min_level, emit, ctx, l);
    ob_merkle_perfect_root(leaves + half, level - 1, first + half, min_level, emit, ctx, r);
    ob_merkle_node(l, r, out);
    emit(ctx, level, first >> level, out);
}

void ob_merkle_frontier_push_range_emit(ob_merkle_frontier *f,
                                        const uint8_t (*leaves)[OB_LOG_HASH_LEN], size_t n,
                                        unsigned min_level, ob_merkle_emit_fn emit, void *ctx)
{
    while (n) {
        /* the largest aligned perfect subtree that starts here and fits */
        unsigned l = 0;
        while (l < 62 && !((f->size >> l) & 1) && ((uint64_t)2 << l) <= n)
            l++;
        uint8_t node[OB_LOG_HASH_LEN];
        size_t k = (size_t)1 << l;
        ob_merkle_perfect_root(leaves, l, f->size, min_level, emit, ctx, node);
        ob_merkle_frontier_push_node_emit(f, l, node, min_level, emit, ctx);
        leaves += k;
        n -= k;
    }
}

void ob_merkle_frontier_push_range(ob_merkle_frontier *f, const uint8_t (*leaves)[OB_LOG_HASH_LEN],
                                   size_t n)
{
    ob_merkle_frontier_push_range_emit(f, leaves, n, 64, NULL, NULL);
}

void ob_merkle_frontier_root(const ob_merkle_frontier *f, uint8_t out[OB_LOG_HASH_LEN])
{
    if (f->size == 0) {
        ob_sha256(out, (const uint8_t *)"", 0);
        return;
    }
    bool have = false;
    for (unsigned l = 0; l < 64; l++) {
        if (!((f->size >> l) & 1))
            continue;
        if (!have) {
            memcpy(out, f->h[l], OB_LOG_HASH_LEN);
            have = true;
        } else {
            ob_merkle_node(f->h[l], out, out);
        }
    }
}

size_t ob_merkle_frontier_encode(const ob_merkle_frontier *f, uint8_t *out)
{
    size_t n = 0;
    for (int l = 63; l >= 0; l--)
        if ((f->size >> l) & 1)
            memcpy(out + OB_LOG_HASH_LEN * n++, f->h[l], OB_LOG_HASH_LEN);
    return n * OB_LOG_HASH_LEN;
}

int ob_merkle_frontier_decode(ob_merkle_frontier *f, uint64_t size, const uint8_t *in, size_t n)
{
    size_t want = (size_t)__builtin_popcountll(size) * OB_LOG_HASH_LEN;
    if (n != want)
        return -1;
    f->size = size;
    size_t i = 0;
    for (int l = 63; l >= 0; l--)
        if ((size >> l) & 1)
            memcpy(f->h[l], in + OB_LOG_HASH_LEN * i++, OB_LOG_HASH_LEN);
    return 0;
}
