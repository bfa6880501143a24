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
