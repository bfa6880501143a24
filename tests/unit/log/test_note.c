/* test_note.c - R-LOG-4, R-LOG-7: the standard formats the log publishes. C2SP signed
 * notes against known answers from reference implementations (Go's
 * golang.org/x/mod/sumdb/note test vector, the C2SP signed-note example), checkpoint
 * text, tlog-cosignatures; and RFC 9162 consistency proofs: the certificate-transparency
 * known vectors, every (m, n) up to 64 against an independent recomputation, forged
 * proofs refused, and the compact-range frontier against the recursive root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "log/hash.h"
#include "log/merkle.h"
#include "log/note.h"
#include "unit/log/util.h"

static void unhex(const char *h, uint8_t *out)
{
    assert_int_equal(ob_log_unhex(h, out, strlen(h) / 2), 0);
}

/* golang.org/x/mod sumdb/note note_test.go TestSign (fe2ec04f): the skey
 * "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
 * holds the Ed25519 seed after the 0x01 byte. */
static const char go_seed_b64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char go_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char go_text[] = "If you think cryptography is the answer to your problem,\n"
                              "then you don't know what your problem is.\n";
static const char go_sig[] = "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcEl"
                             "ZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static void go_key(uint8_t sk[64], uint8_t pk[32])
{
    uint8_t raw[33];
    size_t got = 0;
    assert_int_equal(sodium_base642bin(raw, sizeof raw, go_seed_b64, strlen(go_seed_b64), NULL,
                                       &got, NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(got, 33);
    assert_int_equal(raw[0], 1);
    crypto_sign_ed25519_seed_keypair(pk, sk, raw + 1);
}

static void test_go_known_answer(void **s)
{
    (void)s;
    uint8_t sk[64], pk[32];
    go_key(sk, pk);
    ob_note_key k;
    ob_err e = {0};
    assert_int_equal(ob_note_key_make(&k, "PeterNeumann", OB_NOTE_ED25519, pk, &e), OB_OK);
    assert_int_equal(k.id, 0xc74f20a3u);
    char vk[OB_NOTE_VKEY_MAX];
    ob_note_vkey_format(&k, vk);
    assert_string_equal(vk, go_vkey);
    char line[OB_NOTE_LINE_MAX];
    assert_int_equal(ob_note_sign(go_text, strlen(go_text), "PeterNeumann", sk, line, &e), OB_OK);
    assert_string_equal(line, go_sig);

    /* and the reference's note opens with the parsed vkey */
    ob_note_key parsed;
    assert_int_equal(ob_note_vkey_parse(go_vkey, &parsed, &e), OB_OK);
    char note[1024];
    snprintf(note, sizeof note, "%s\n%s", go_text, go_sig);
    ob_note_result r;
    assert_int_equal(ob_note_open(note, strlen(note), &parsed, 1, &r, &e), OB_OK);
    assert_true(r.verified[0]);
    assert_int_equal(r.text_len, strlen(go_text));
    /* one flipped character anywhere in the text: refused */
    for (size_t i = 0; i < strlen(go_text) - 1; i++) {
        char bad[1024];
        memcpy(bad, note, sizeof bad);
        bad[i] ^= 0x01;
        if (bad[i] < 0x20)
            continue;
        assert_int_not_equal(ob_note_open(bad, strlen(bad), &parsed, 1, &r, &e), OB_OK);
    }
    /* manglings of the vkey are refused (as in Go's TestNewVerifier) */
    char bad[sizeof go_vkey];
    for (size_t i = 0; i < strlen(go_vkey); i++) {
        memcpy(bad, go_vkey, sizeof bad);
        bad[i]++;
        assert_int_not_equal(ob_note_vkey_parse(bad, &parsed, &e), OB_OK);
    }
}

/* c2sp.org/signed-note "Example": a vkey and the note it verifies. */
static void test_c2sp_example(void **s)
{
    (void)s;
    const char *vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const char *note = "This is an example message.\n\n\xe2\x80\x94 example.com/foo Uw2QOkn8srV1yJ"
                       "Gh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72"
                       "IneyaQM=\n";
    ob_note_key k;
    ob_err e = {0};
    assert_int_equal(ob_note_vkey_parse(vkey, &k, &e), OB_OK);
    ob_note_result r;
    assert_int_equal(ob_note_open(note, strlen(note), &k, 1, &r, &e), OB_OK);
    /* an unknown key only: refused; an unknown signature next to a known one: ignored */
    ob_note_key other = k;
    other.id ^= 1;
    assert_int_equal(ob_note_open(note, strlen(note), &other, 1, &r, &e), OB_ETAMPER);
}

static void test_checkpoint_and_cosignature(void **s)
{
    (void)s;
    uint8_t lsk[64], lpk[32], wsk[64], wpk[32], root[32], root2[32];
    crypto_sign_ed25519_keypair(lpk, lsk);
    crypto_sign_ed25519_keypair(wpk, wsk);
    randombytes_buf(root, 32);
    char text[256];
    size_t n = ob_checkpoint_format("example.org/log", 20852163, root, text, sizeof text);
    assert_true(n > 0);
    char origin[OB_NOTE_NAME_MAX + 1];
    uint64_t size;
    ob_err e = {0};
    assert_int_equal(ob_checkpoint_parse(text, n, origin, &size, root2, &e), OB_OK);
    assert_string_equal(origin, "example.org/log");
    assert_int_equal(size, 20852163);
    assert_memory_equal(root, root2, 32);
    const char *bad[] = {"o\n012\nAAAA\n",
                         "o\n-1\nAAAA\n",
                         "o\n1\nnot base64\n",
                         "\n1\nAAAA\n",
                         "o\n18446744073709551616\n" /* 2^64 */,
                         "o\n1\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ob_checkpoint_parse(bad[i], strlen(bad[i]), origin, &size, root2, &e),
                         OB_EINVAL);

    char l1[OB_NOTE_LINE_MAX], l2[OB_NOTE_LINE_MAX], note[2048];
    assert_int_equal(ob_note_sign(text, n, "example.org/log", lsk, l1, &e), OB_OK);
    assert_int_equal(ob_note_cosign(text, n, "witness.example/w1", wsk, 1679315147, l2, &e), OB_OK);
    snprintf(note, sizeof note, "%s\n%s%s", text, l1, l2);
    ob_note_key keys[2];
    assert_int_equal(ob_note_key_make(&keys[0], "example.org/log", OB_NOTE_ED25519, lpk, &e),
                     OB_OK);
    assert_int_equal(ob_note_key_make(&keys[1], "witness.example/w1", OB_NOTE_COSIG, wpk, &e),
                     OB_OK);
    ob_note_result r;
    assert_int_equal(ob_note_open(note, strlen(note), keys, 2, &r, &e), OB_OK);
    assert_true(r.verified[0] && r.verified[1]);
    assert_int_equal(r.time[1], 1679315147);
    assert_int_equal(r.nsigs, 2);
    /* the cosignature is over "cosignature/v1\ntime T\n" || text: check by hand */
    char msg[512];
    int ml = snprintf(msg, sizeof msg, "cosignature/v1\ntime 1679315147\n%s", text);
    uint8_t raw[80];
    size_t got;
    const char *b = strchr(l2, ' ') + 1;
    b = strchr(b, ' ') + 1;
    assert_int_equal(sodium_base642bin(raw, sizeof raw, b, strlen(b) - 1, NULL, &got, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(got, 4 + 8 + 64);
    assert_int_equal(ob_log_get_u64(raw + 4), 1679315147);
    assert_int_equal(crypto_sign_ed25519_verify_detached(raw + 12, (uint8_t *)msg, (size_t)ml, wpk),
                     0);
    /* a cosignature moved to another time: refused (it is a known key) */
    char moved[OB_NOTE_LINE_MAX];
    assert_int_equal(ob_note_cosign(text, n, "witness.example/w1", wsk, 1679315148, moved, &e),
                     OB_OK);
    char forged[2048];
    /* same id, time bytes swapped from another signature: build by replacing the time */
    raw[11] ^= 1;
    char enc[128];
    sodium_bin2base64(enc, sizeof enc, raw, 76, sodium_base64_VARIANT_ORIGINAL);
    snprintf(forged, sizeof forged, "%s\n%s\xe2\x80\x94 witness.example/w1 %s\n", text, l1, enc);
    assert_int_equal(ob_note_open(forged, strlen(forged), keys, 2, &r, &e), OB_ETAMPER);
    /* the log's key as a cosigner (type confusion) gets another id: ignored, not trusted */
    ob_note_key conf;
    assert_int_equal(ob_note_key_make(&conf, "example.org/log", OB_NOTE_COSIG, lpk, &e), OB_OK);
    assert_int_not_equal(conf.id, keys[0].id);
    assert_int_equal(ob_note_open(note, strlen(note), &conf, 1, &r, &e), OB_ETAMPER);
    /* malformed notes */
    const char *mal[] = {"no blank line\n\xe2\x80\x94 a AAAA\n", "t\n\n- a AAAAAAA=\n",
                         "t\n\n\xe2\x80\x94 a+b AAAAAAA=\n", "t\n\n",
                         "t\x01\n\n\xe2\x80\x94 a AAAAAAA=\n"};
    for (size_t i = 0; i < sizeof mal / sizeof mal[0]; i++)
        assert_int_equal(ob_note_open(mal[i], strlen(mal[i]), keys, 2, &r, &e), OB_EINVAL);
}

/* R-LOG-4: RFC 6962 / certificate-transparency reference vectors (the same inputs as
 * test_merkle.c), consistency proofs (1,8), (6,8), (2,5). */
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
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};
static const struct {
    uint64_t m, n;
    const char *proof[3];
} ct_consistency[] = {
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", NULL}},
};

static void leaf_of(const uint8_t *d, size_t n, uint8_t out[32])
{
    uint8_t buf[64];
    buf[0] = 0;
    memcpy(buf + 1, d, n);
    crypto_hash_sha256(out, buf, n + 1);
}

static void test_ct_consistency_vectors(void **s)
{
    (void)s;
    uint8_t leaves[8][32], roots[8][32];
    for (int i = 0; i < 8; i++) {
        uint8_t d[16];
        size_t n = strlen(ct_inputs[i]) / 2;
        if (n)
            unhex(ct_inputs[i], d);
        leaf_of(d, n, leaves[i]);
        unhex(ct_roots[i], roots[i]);
    }
    for (size_t t = 0; t < sizeof ct_consistency / sizeof ct_consistency[0]; t++) {
        uint64_t m = ct_consistency[t].m, n = ct_consistency[t].n;
        uint8_t want[3][32], got[OB_MERKLE_MAX_CONSISTENCY][32];
        size_t wl = 0;
        while (wl < 3 && ct_consistency[t].proof[wl]) {
            unhex(ct_consistency[t].proof[wl], want[wl]);
            wl++;
        }
        size_t gl = ob_merkle_consistency((const uint8_t(*)[32])leaves, m, n, got);
        assert_int_equal(gl, wl);
        assert_memory_equal(got, want, wl * 32);
        assert_true(ob_merkle_consistency_verify(m, n, (const uint8_t(*)[32])want, wl, roots[m - 1],
                                                 roots[n - 1]));
        /* and the frontier reaches the published roots */
        ob_merkle_frontier f;
        ob_merkle_frontier_init(&f);
        for (uint64_t i = 0; i < n; i++)
            ob_merkle_frontier_push(&f, leaves[i]);
        uint8_t r[32];
        ob_merkle_frontier_root(&f, r);
        assert_memory_equal(r, roots[n - 1], 32);
    }
    /* (1,1): empty proof, equal roots */
    assert_true(ob_merkle_consistency_verify(1, 1, NULL, 0, roots[0], roots[0]));
    assert_false(ob_merkle_consistency_verify(1, 1, NULL, 0, roots[0], roots[1]));
}

/* Independent reference: SUBPROOF written again over explicit leaf arrays. */
static size_t ref_subproof(const uint8_t (*d)[32], uint64_t m, uint64_t n, int b,
                           uint8_t (*out)[32], size_t len)
{
    if (m == n) {
        if (!b)
            ob_merkle_root(d, (size_t)m, out[len++]);
        return len;
    }
    uint64_t k = 1;
    while (2 * k < n)
        k *= 2;
    if (m <= k) {
        len = ref_subproof(d, m, k, b, out, len);
        ob_merkle_root(d + k, (size_t)(n - k), out[len++]);
    } else {
        len = ref_subproof(d + k, m - k, n - k, 0, out, len);
        ob_merkle_root(d, (size_t)k, out[len++]);
    }
    return len;
}

static void test_all_pairs_to_64(void **s)
{
    (void)s;
    enum { N = 64 };
    uint8_t leaves[N][32], roots[N + 1][32];
    for (int i = 0; i < N; i++) {
        uint8_t d[2] = {(uint8_t)i, 0x5a};
        leaf_of(d, 2, leaves[i]);
    }
    for (int n = 0; n <= N; n++)
        ob_merkle_root((const uint8_t(*)[32])leaves, (size_t)n, roots[n]);
    ob_merkle_frontier f;
    ob_merkle_frontier_init(&f);
    for (int n = 1; n <= N; n++) {
        ob_merkle_frontier_push(&f, leaves[n - 1]);
        uint8_t fr[32];
        ob_merkle_frontier_root(&f, fr);
        assert_memory_equal(fr, roots[n], 32);
        /* encode/decode round trip, and push_range gives the same frontier */
        uint8_t blob[64 * 32];
        size_t bl = ob_merkle_frontier_encode(&f, blob);
        ob_merkle_frontier g, h;
        assert_int_equal(ob_merkle_frontier_decode(&g, f.size, blob, bl), 0);
        ob_merkle_frontier_root(&g, fr);
        assert_memory_equal(fr, roots[n], 32);
        assert_int_equal(ob_merkle_frontier_decode(&g, f.size + 1, blob, bl) == 0,
                         __builtin_popcountll(f.size + 1) == __builtin_popcountll(f.size));
        for (int a = 0; a <= n; a++) { /* [0,a) one by one, then [a,n) as a range */
            ob_merkle_frontier_init(&h);
            for (int i = 0; i < a; i++)
                ob_merkle_frontier_push(&h, leaves[i]);
            ob_merkle_frontier_push_range(&h, (const uint8_t(*)[32])leaves + a, (size_t)(n - a));
            ob_merkle_frontier_root(&h, fr);
            assert_memory_equal(fr, roots[n], 32);
        }
    }
    for (uint64_t n = 1; n <= N; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            uint8_t got[OB_MERKLE_MAX_CONSISTENCY][32], want[OB_MERKLE_MAX_CONSISTENCY][32];
            size_t gl = ob_merkle_consistency((const uint8_t(*)[32])leaves, m, n, got);
            size_t wl = m == n ? 0 : ref_subproof((const uint8_t(*)[32])leaves, m, n, 1, want, 0);
            assert_int_equal(gl, wl);
            assert_memory_equal(got, want, wl * 32);
            assert_true(ob_merkle_consistency_verify(m, n, (const uint8_t(*)[32])got, gl, roots[m],
                                                     roots[n]));
            /* forged: each node flipped, a node dropped, a node added, wrong sizes/roots */
            for (size_t i = 0; i < gl; i++) {
                got[i][i % 32] ^= 0x80;
                assert_false(ob_merkle_consistency_verify(m, n, (const uint8_t(*)[32])got, gl,
                                                          roots[m], roots[n]));
                got[i][i % 32] ^= 0x80;
            }
            if (gl) {
                assert_false(ob_merkle_consistency_verify(m, n, (const uint8_t(*)[32])got, gl - 1,
                                                          roots[m], roots[n]));
                memcpy(got[gl], got[0], 32);
                assert_false(ob_merkle_consistency_verify(m, n, (const uint8_t(*)[32])got, gl + 1,
                                                          roots[m], roots[n]));
            }
            if (m < n) {
                assert_false(ob_merkle_consistency_verify(m, n, (const uint8_t(*)[32])got, gl,
                                                          roots[m - 1], roots[n]));
                assert_false(ob_merkle_consistency_verify(m, n, (const uint8_t(*)[32])got, gl,
                                                          roots[m], roots[n - 1]));
                if (m > 1)
                    assert_false(ob_merkle_consistency_verify(m - 1, n, (const uint8_t(*)[32])got,
                                                              gl, roots[m], roots[n]));
            }
            /* inclusion ranges agree with the existing audit path */
            uint64_t idx = m - 1;
            ob_merkle_range r[OB_MERKLE_MAX_PATH];
            uint8_t path[OB_MERKLE_MAX_PATH][32];
            size_t rl = ob_merkle_inclusion_ranges(idx, n, r);
            size_t pl = ob_merkle_path((const uint8_t(*)[32])leaves, (size_t)n, (size_t)idx, path);
            assert_int_equal(rl, pl);
            for (size_t i = 0; i < rl; i++) {
                uint8_t h[32];
                ob_merkle_root((const uint8_t(*)[32])leaves + r[i].lo, (size_t)(r[i].hi - r[i].lo),
                               h);
                assert_memory_equal(h, path[i], 32);
            }
        }
    }
}

struct emitted {
    const uint8_t (*leaves)[32];
    int count[8][64];
};

static void on_emit(void *ctx, unsigned level, uint64_t index, const uint8_t node[32])
{
    struct emitted *em = ctx;
    uint8_t want[32];
    ob_merkle_root(em->leaves + (index << level), (size_t)1 << level, want);
    assert_memory_equal(node, want, 32);
    assert_true(level >= 2 && level < 8 && index < 64);
    em->count[level][index]++;
}

/* Every perfect aligned subtree of >= 4 leaves is emitted exactly once, with its MTH,
 * whatever the pieces the leaves are appended in. */
static void test_emitted_nodes(void **s)
{
    (void)s;
    enum { N = 100 };
    uint8_t leaves[N][32];
    for (int i = 0; i < N; i++) {
        uint8_t d[2] = {(uint8_t)i, 0x33};
        leaf_of(d, 2, leaves[i]);
    }
    const size_t pieces[][6] = {{100}, {1, 99}, {3, 5, 8, 16, 4, 64}, {64, 36}, {7, 7, 7, 79}};
    for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
        struct emitted em = {.leaves = (const uint8_t(*)[32])leaves};
        ob_merkle_frontier f;
        ob_merkle_frontier_init(&f);
        size_t at = 0;
        for (size_t i = 0; i < 6 && pieces[p][i]; i++) {
            ob_merkle_frontier_push_range_emit(&f, (const uint8_t(*)[32])leaves + at, pieces[p][i],
                                               2, on_emit, &em);
            at += pieces[p][i];
        }
        assert_int_equal(at, N);
        for (unsigned l = 2; l < 8; l++)
            for (uint64_t i = 0; i < 64; i++)
                assert_int_equal(em.count[l][i], ((i + 1) << l) <= N ? 1 : 0);
        uint8_t r[32], want[32];
        ob_merkle_frontier_root(&f, r);
        ob_merkle_root((const uint8_t(*)[32])leaves, N, want);
        assert_memory_equal(r, want, 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_known_answer),
        cmocka_unit_test(test_c2sp_example),
        cmocka_unit_test(test_checkpoint_and_cosignature),
        cmocka_unit_test(test_ct_consistency_vectors),
        cmocka_unit_test(test_all_pairs_to_64),
        cmocka_unit_test(test_emitted_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
