/* test_merkle.c - R-LOG-4: the pure hashing core. RFC 6962 Merkle tree hash known
 * answers, a cross-check against an independent bottom-up tree for sizes 1..70,
 * inclusion proofs for every index of every size up to 70 (and their rejection when
 * anything is changed), the canonical entry encoding and leaf hash, and checkpoint
 * signatures with domain separation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "log/checkpoint.h"
#include "log/hash.h"
#include "log/merkle.h"
#include "log/proof.h"
#include "core/alloc.h"
#include "unit/log/util.h"

static void raw_leaf(const uint8_t *d, size_t n, uint8_t out[32])
{
    uint8_t buf[64];
    buf[0] = 0;
    memcpy(buf + 1, d, n);
    crypto_hash_sha256(out, buf, n + 1);
}

static void unhex(const char *h, uint8_t *out)
{
    assert_int_equal(ob_log_unhex(h, out, strlen(h) / 2), 0);
}

/* R-LOG-4: the certificate-transparency reference vectors for RFC 6962 §2.1. */
static const char *const ct_inputs[] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};
static const char *const ct_roots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void ct_leaves(uint8_t leaves[8][32])
{
    for (int i = 0; i < 8; i++) {
        uint8_t d[16];
        size_t n = strlen(ct_inputs[i]) / 2;
        if (n)
            unhex(ct_inputs[i], d);
        raw_leaf(d, n, leaves[i]);
    }
}

static void test_rfc6962_roots(void **state)
{
    (void)state;
    uint8_t leaves[8][32], root[32], want[32];
    ct_leaves(leaves);
    for (size_t n = 0; n <= 8; n++) {
        ob_merkle_root((const uint8_t(*)[32])leaves, n, root);
        unhex(ct_roots[n], want);
        assert_memory_equal(root, want, 32);
    }
}

static void test_rfc6962_inclusion(void **state)
{
    (void)state;
    uint8_t leaves[8][32], path[OB_MERKLE_MAX_PATH][32], want[32], root[32];
    ct_leaves(leaves);
    size_t len = ob_merkle_path((const uint8_t(*)[32])leaves, 8, 0, path);
    assert_int_equal(len, 3);
    const char *const p[] = {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
    for (int i = 0; i < 3; i++) {
        unhex(p[i], want);
        assert_memory_equal(path[i], want, 32);
    }
    unhex(ct_roots[8], root);
    assert_true(ob_log_proof_verify(leaves[0], 0, 8, (const uint8_t(*)[32])path, 3, root));
}

/* An independent construction: pair nodes level by level, carrying an odd last node up
 * unchanged. For RFC 6962 trees this gives the same root as the recursive split. */
static void bottom_up(uint8_t (*leaves)[32], size_t n, uint8_t out[32])
{
    uint8_t level[80][32];
    memcpy(level, leaves, n * 32);
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i + 1 < n; i += 2)
            ob_merkle_node(level[i], level[i + 1], level[m++]);
        if (n & 1)
            memcpy(level[m++], level[n - 1], 32);
        n = m;
    }
    memcpy(out, level[0], 32);
}

static void test_root_vs_bottom_up_and_all_proofs(void **state)
{
    (void)state;
    uint8_t leaves[70][32];
    for (int i = 0; i < 70; i++) {
        uint8_t d = (uint8_t)i;
        raw_leaf(&d, 1, leaves[i]);
    }
    for (size_t n = 1; n <= 70; n++) {
        uint8_t a[32], b[32];
        ob_merkle_root((const uint8_t(*)[32])leaves, n, a);
        bottom_up(leaves, n, b);
        assert_memory_equal(a, b, 32);
        for (size_t i = 0; i < n; i++) {
            uint8_t path[OB_MERKLE_MAX_PATH][32];
            size_t len = ob_merkle_path((const uint8_t(*)[32])leaves, n, i, path);
            const uint8_t(*cp)[32] = (const uint8_t(*)[32])path;
            assert_true(ob_log_proof_verify(leaves[i], i, n, cp, len, a));
            /* R-LOG-4: any change makes the proof fail */
            assert_false(ob_log_proof_verify(leaves[(i + 1) % 70], i, n, cp, len, a));
            if (n > 1) {
                assert_false(ob_log_proof_verify(leaves[i], (i + 1) % n, n, cp, len, a));
                path[len - 1][5] ^= 1;
                assert_false(ob_log_proof_verify(leaves[i], i, n, cp, len, a));
                path[len - 1][5] ^= 1;
                assert_false(ob_log_proof_verify(leaves[i], i, n, cp, len - 1, a));
            }
            assert_false(ob_log_proof_verify(leaves[i], n, n, cp, len, a));
        }
        assert_int_equal(ob_merkle_path((const uint8_t(*)[32])leaves, n, n, NULL), (size_t)-1);
    }
}

/* R-LOG-2, R-LOG-4: the encoding covers every field and the seq, NULL equals "". */
static void test_encoding_and_leaf(void **state)
{
    (void)state;
    char pb[32];
    ob_log_entry e = tl_entry(3, pb, sizeof pb);
    uint8_t buf[2048], leaf[32], leaf2[32], want[32];
    size_t n = ob_log_entry_encode(&e, 42, buf, sizeof buf);
    assert_int_equal(n, ob_log_entry_encoded_len(&e));
    assert_int_equal(buf[0], OB_LOG_ENCODING_VERSION);
    assert_int_equal(ob_log_get_u64(buf + n - 8), 42);
    assert_int_equal(ob_log_entry_encode(&e, 42, buf, n - 1), 0);
    uint8_t pre[2049];
    pre[0] = 0;
    memcpy(pre + 1, buf, n);
    crypto_hash_sha256(want, pre, n + 1);
    ob_log_leaf_hash(&e, 42, leaf);
    assert_memory_equal(leaf, want, 32);
    ob_sha256_ctx st;
    ob_log_leaf_begin(&st, &e);
    ob_log_leaf_finish(&st, 42, leaf2);
    assert_memory_equal(leaf, leaf2, 32);

    ob_log_leaf_hash(&e, 43, leaf2);
    assert_memory_not_equal(leaf, leaf2, 32);
    ob_log_entry f = e;
    f.resource = "";
    ob_log_leaf_hash(&f, 42, leaf2);
    assert_memory_equal(leaf, leaf2, 32); /* NULL encodes as "" */
    const char **fields[] = {&f.actor_id,       &f.actor_name,   &f.actor_role, &f.actor_org,
                             &f.actor_org_name, &f.on_behalf_of, &f.patient,    &f.category,
                             &f.resource,       &f.purpose,      &f.rule,       &f.legal_basis,
                             &f.reason,         &f.justification};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        f = e;
        *fields[i] = "x";
        ob_log_leaf_hash(&f, 42, leaf2);
        assert_memory_not_equal(leaf, leaf2, 32);
    }
    /* Moving bytes between adjacent fields changes the encoding (length prefixes). */
    f = e;
    f.actor_org = "org-";
    f.actor_org_name = "7Lægehuset Vest";
    ob_log_leaf_hash(&f, 42, leaf2);
    assert_memory_not_equal(leaf, leaf2, 32);
    f = e;
    f.override = !e.override;
    ob_log_leaf_hash(&f, 42, leaf2);
    assert_memory_not_equal(leaf, leaf2, 32);
    f = e;
    f.time++;
    ob_log_leaf_hash(&f, 42, leaf2);
    assert_memory_not_equal(leaf, leaf2, 32);

    /* A long field (beyond the gather buffer) hashes the same both ways. */
    static char big[5000];
    memset(big, 'r', sizeof big - 1);
    f = e;
    f.resource = big;
    size_t bn = ob_log_entry_encoded_len(&f);
    uint8_t *bb = malloc(bn + 1);
    bb[0] = 0;
    ob_log_entry_encode(&f, 7, bb + 1, bn);
    crypto_hash_sha256(want, bb, bn + 1);
    ob_log_leaf_hash(&f, 7, leaf2);
    assert_memory_equal(leaf2, want, 32);
    free(bb);

    /* Chain: SHA-256(prev || leaf). */
    uint8_t zero[32] = {0}, c[32], in[64];
    ob_log_chain_next(zero, leaf, c);
    memcpy(in + 32, leaf, 32);
    memset(in, 0, 32);
    crypto_hash_sha256(want, in, 64);
    assert_memory_equal(c, want, 32);
}

/* The log's SHA-256 (OpenSSL) is the SHA-256 that existing logs were written with
 * (libsodium): every length around the block boundaries, one-shot and in pieces. */
static void test_sha256_matches_libsodium(void **state)
{
    (void)state;
    uint8_t in[700], a[32], b[32], c[32];
    randombytes_buf(in, sizeof in);
    for (size_t n = 0; n <= sizeof in; n++) {
        crypto_hash_sha256(a, in, n);
        ob_sha256(b, in, n);
        assert_memory_equal(a, b, 32);
        ob_sha256_ctx h;
        ob_sha256_init(&h);
        ob_sha256_update(&h, in, n / 3);
        ob_sha256_update(&h, in + n / 3, n - n / 3);
        ob_sha256_final(&h, c);
        assert_memory_equal(a, c, 32);
    }
}

static void test_checkpoint_signatures(void **state)
{
    (void)state;
    ob_log_config cfg;
    tl_keys(&cfg, 0);
    ob_log_checkpoint cp = {
        .prev_size = 4096, .size = 8192, .time = 1767225600, .max_time = 1767225000};
    memset(cp.root, 0xab, 32);
    memset(cp.chain, 0xcd, 32);
    ob_log_checkpoint_sign(&cp, cfg.sk);
    assert_true(ob_log_checkpoint_verify(&cp, cfg.pk));
    uint8_t msg[OB_LOG_CP_MSG_LEN];
    ob_log_checkpoint_message(&cp, msg);
    assert_memory_equal(msg, "overblik-checkpoint-v1", 22);
    ob_log_checkpoint bad = cp;
    bad.size++;
    assert_false(ob_log_checkpoint_verify(&bad, cfg.pk));
    bad = cp;
    bad.root[0] ^= 1;
    assert_false(ob_log_checkpoint_verify(&bad, cfg.pk));
    bad = cp;
    bad.max_time--;
    assert_false(ob_log_checkpoint_verify(&bad, cfg.pk));
    ob_log_config other;
    tl_keys(&other, 0);
    assert_false(ob_log_checkpoint_verify(&cp, other.pk));

    ob_log_head h = {.size = 8192, .time = 5};
    memcpy(h.chain, cp.chain, 32);
    ob_log_head_sign(&h, cfg.sk);
    assert_true(ob_log_head_verify(&h, cfg.pk));
    h.size--;
    assert_false(ob_log_head_verify(&h, cfg.pk));
}

/* R-LOG-4: a proof survives JSON and is refused when its entry is edited. */
static void test_proof_json_round_trip(void **state)
{
    (void)state;
    ob_log_config cfg;
    tl_keys(&cfg, 0);
    char pb[8][32];
    uint8_t leaves[8][32];
    ob_log_entry es[8];
    for (int i = 0; i < 8; i++) {
        es[i] = tl_entry(i, pb[i], sizeof pb[i]);
        ob_log_leaf_hash(&es[i], 100 + (uint64_t)i + 1, leaves[i]);
    }
    ob_log_proof p;
    memset(&p, 0, sizeof p);
    p.cp.prev_size = 100;
    p.cp.size = 108;
    ob_merkle_root((const uint8_t(*)[32])leaves, 8, p.cp.root);
    p.cp.time = 1767300000;
    p.cp.max_time = 1767225607;
    ob_log_checkpoint_sign(&p.cp, cfg.sk);
    assert_int_equal(ob_log_proof_set_entry(&p, &es[5], NULL), OB_OK);
    p.seq = 106;
    p.index = 5;
    p.tree_size = 8;
    memcpy(p.leaf, leaves[5], 32);
    p.path_len = ob_merkle_path((const uint8_t(*)[32])leaves, 8, 5, p.path);
    ob_err e = {0};
    assert_int_equal(ob_log_proof_check(&p, cfg.pk, &e), OB_OK);
    char *json = ob_log_proof_to_json(&p);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"Sundhedsloven §42a\""));
    ob_log_proof q;
    assert_int_equal(ob_log_proof_from_json(json, &q, &e), OB_OK);
    assert_int_equal(ob_log_proof_check(&q, cfg.pk, &e), OB_OK);
    assert_string_equal(q.entry.patient, es[5].patient);
    /* Edit the readable entry in the JSON: the check must fail. */
    char *edit = strstr(json, "Dr. Hansen");
    if (!edit)
        edit = strstr(json, "Sekretær");
    assert_non_null(edit);
    edit[0] = 'X';
    ob_log_proof r;
    assert_int_equal(ob_log_proof_from_json(json, &r, &e), OB_OK);
    assert_int_equal(ob_log_proof_check(&r, cfg.pk, &e), OB_ETAMPER);
    ob_log_proof_free(&r);
    /* Wrong key, wrong index. */
    ob_log_config other;
    tl_keys(&other, 0);
    assert_int_equal(ob_log_proof_check(&q, other.pk, &e), OB_ETAMPER);
    q.index = 4;
    assert_int_equal(ob_log_proof_check(&q, cfg.pk, &e), OB_ETAMPER);
    assert_int_equal(ob_log_proof_from_json("{\"format\":1}", &r, &e), OB_EINVAL);
    assert_int_equal(ob_log_proof_from_json("nope", &r, &e), OB_EINVAL);
    ob_free(json);
    ob_log_proof_free(&p);
    ob_log_proof_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6962_roots),
        cmocka_unit_test(test_rfc6962_inclusion),
        cmocka_unit_test(test_root_vs_bottom_up_and_all_proofs),
        cmocka_unit_test(test_encoding_and_leaf),
        cmocka_unit_test(test_sha256_matches_libsodium),
        cmocka_unit_test(test_checkpoint_signatures),
        cmocka_unit_test(test_proof_json_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
