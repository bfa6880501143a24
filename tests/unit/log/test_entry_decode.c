/* test_entry_decode.c - R-LOG-4: ob_log_entry_decode is the exact inverse of
 * ob_log_entry_encode (the PostgreSQL log answers queries from the stored encoding, the
 * bytes the leaf hash covers, so what it decodes must be what was hashed): many entries,
 * random and edge ones, round trip bytewise; NULL and "" encode alike and decode to "";
 * every truncation, every extension, a too-small string buffer, a length field pointing
 * past the end or over the limit, a NUL inside a field, another version and a permit byte
 * other than 0/1 are refused without reading outside the buffer (ASan build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "log/hash.h"

/* Encodes en at seq into a buffer of exactly its length (so ASan sees any overread). */
static uint8_t *enc_of(const ob_log_entry *en, uint64_t seq, size_t *len)
{
    *len = ob_log_entry_encoded_len(en);
    uint8_t *b = malloc(*len);
    assert_non_null(b);
    assert_int_equal(ob_log_entry_encode(en, seq, b, *len), *len);
    return b;
}

static void assert_same_entry(const ob_log_entry *a, const ob_log_entry *b)
{
    assert_int_equal(a->time, b->time);
    assert_int_equal(a->event, b->event);
    assert_int_equal(a->capacity, b->capacity);
    assert_int_equal(a->permit, b->permit);
    assert_int_equal(a->override, b->override);
    const char *fa[OB_LOG_NFIELDS], *fb[OB_LOG_NFIELDS];
    ob_log_entry_fields(a, fa);
    ob_log_entry_fields(b, fb);
    for (int i = 0; i < OB_LOG_NFIELDS; i++)
        assert_string_equal(fa[i], fb[i]);
}

/* The strings of the last decode_copy's entry (they live until the next call). */
static char *last_strs;

/* Decodes buf (a copy of exactly len bytes) and, when it is accepted, checks that encoding
 * the result gives the same bytes. Returns the status. */
static ob_status decode_copy(const uint8_t *buf, size_t len, ob_log_entry *out, uint64_t *seq)
{
    uint8_t *b = malloc(len ? len : 1);
    free(last_strs);
    char *s = last_strs = malloc(len ? len : 1);
    assert_non_null(b);
    assert_non_null(s);
    if (len)
        memcpy(b, buf, len);
    ob_err e = {0};
    ob_status st = ob_log_entry_decode(b, len, out, seq, s, len, &e);
    if (st == OB_OK) {
        size_t n;
        uint8_t *again = enc_of(out, *seq, &n);
        assert_int_equal(n, len);
        assert_memory_equal(again, buf, len);
        free(again);
    } else {
        assert_true(e.msg[0] != '\0');
    }
    free(b);
    return st;
}

static char *rand_str(size_t max)
{
    size_t n = randombytes_uniform((uint32_t)max + 1);
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(1 + randombytes_uniform(255)); /* any byte but NUL, UTF-8 or not */
    s[n] = '\0';
    return s;
}

/* Many random entries (NULL, "", short and long fields) round trip. */
static void round_trip(void **state)
{
    (void)state;
    for (int k = 0; k < 2000; k++) {
        ob_log_entry en = {
            .time = (ob_time)(((uint64_t)randombytes_random() << 32) | randombytes_random()),
            .event = (uint8_t)randombytes_uniform(256),
            .capacity = (uint8_t)randombytes_uniform(256),
            .permit = randombytes_uniform(2),
            .override = randombytes_uniform(2),
        };
        const char **f[OB_LOG_NFIELDS] = {
            &en.actor_id,       &en.actor_name,    &en.actor_role, &en.actor_org,
            &en.actor_org_name, &en.on_behalf_of,  &en.patient,    &en.category,
            &en.resource,       &en.purpose,       &en.rule,       &en.legal_basis,
            &en.reason,         &en.justification,
        };
        char *own[OB_LOG_NFIELDS] = {0};
        for (int i = 0; i < OB_LOG_NFIELDS; i++) {
            uint32_t kind = randombytes_uniform(4);
            if (kind == 0)
                *f[i] = NULL;
            else if (kind == 1)
                *f[i] = "";
            else
                *f[i] = own[i] = rand_str(kind == 2 ? 12 : 600);
        }
        uint64_t seq = k % 7 == 0 ? UINT64_MAX - (uint64_t)k : (uint64_t)k + 1;
        size_t len;
        uint8_t *b = enc_of(&en, seq, &len);
        ob_log_entry got;
        uint64_t gs = 0;
        assert_int_equal(decode_copy(b, len, &got, &gs), OB_OK);
        assert_int_equal(gs, seq);
        assert_same_entry(&got, &en);
        free(b);
        for (int i = 0; i < OB_LOG_NFIELDS; i++)
            free(own[i]);
    }
}

/* NULL and "" are the same bytes; both decode to "" (not NULL). */
static void null_is_empty(void **state)
{
    (void)state;
    ob_log_entry a = {.time = 5, .patient = NULL, .actor_id = "x"};
    ob_log_entry b = {.time = 5, .patient = "", .actor_id = "x"};
    size_t la, lb;
    uint8_t *ea = enc_of(&a, 9, &la), *eb = enc_of(&b, 9, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ea, eb, la);
    ob_log_entry got;
    uint64_t seq;
    assert_int_equal(decode_copy(ea, la, &got, &seq), OB_OK);
    assert_non_null(got.patient);
    assert_string_equal(got.patient, "");
    assert_non_null(got.justification);
    assert_string_equal(got.actor_id, "x");
    free(ea);
    free(eb);
}

static ob_log_entry sample(void)
{
    return (ob_log_entry){.time = 1796000000,
                          .event = OB_EV_DECISION,
                          .permit = true,
                          .actor_id = "gp-1-dr0",
                          .actor_name = "Dr. Søren",
                          .on_behalf_of = "gp-1-dr9",
                          .patient = "pt-42",
                          .category = "lab_result",
                          .purpose = "TREAT",
                          .rule = "R-ACC-1"};
}

/* Every prefix and every extension of a valid encoding is refused. */
static void truncations_and_extensions(void **state)
{
    (void)state;
    ob_log_entry en = sample();
    size_t len;
    uint8_t *b = enc_of(&en, 77, &len);
    ob_log_entry got;
    uint64_t seq;
    for (size_t n = 0; n < len; n++)
        if (decode_copy(b, n, &got, &seq) != OB_EINVAL)
            fail_msg("a %zu-byte prefix of %zu was not refused", n, len);
    uint8_t *longer = malloc(len + 16);
    memcpy(longer, b, len);
    for (size_t extra = 1; extra <= 16; extra++) {
        longer[len + extra - 1] = (uint8_t)extra;
        assert_int_equal(decode_copy(longer, len + extra, &got, &seq), OB_EINVAL);
    }
    free(longer);
    free(b);
}

/* Garbage in the head or the lengths is refused; so is a too-small string buffer. */
static void garbage(void **state)
{
    (void)state;
    ob_log_entry en = sample();
    size_t len;
    uint8_t *b = enc_of(&en, 77, &len);
    ob_log_entry got;
    uint64_t seq;
    ob_err e = {0};
    uint8_t *x = malloc(len);
    /* another version; permit or override 2 */
    static const size_t at[] = {0, 11, 12};
    static const uint8_t val[] = {2, 2, 2};
    for (size_t i = 0; i < 3; i++) {
        memcpy(x, b, len);
        x[at[i]] = val[i];
        assert_int_equal(decode_copy(x, len, &got, &seq), OB_EINVAL);
    }
    /* the first field's length (at byte 13): past the end, huge, over the limit, one
     * short (the rest then misaligns), and each other field's made one longer */
    static const uint32_t lens[] = {0xffffffffu, 0x80000000u, OB_LOG_FIELD_MAX + 1, 1000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memcpy(x, b, len);
        x[13] = (uint8_t)(lens[i] >> 24);
        x[14] = (uint8_t)(lens[i] >> 16);
        x[15] = (uint8_t)(lens[i] >> 8);
        x[16] = (uint8_t)lens[i];
        assert_int_equal(decode_copy(x, len, &got, &seq), OB_EINVAL);
    }
    size_t off = 13;
    for (int f = 0; f < OB_LOG_NFIELDS; f++) {
        uint32_t fl = (uint32_t)b[off] << 24 | (uint32_t)b[off + 1] << 16 |
                      (uint32_t)b[off + 2] << 8 | b[off + 3];
        for (int d = -1; d <= 1; d += 2) {
            if (fl == 0 && d < 0)
                continue;
            memcpy(x, b, len);
            x[off + 3] = (uint8_t)(fl + (uint32_t)d); /* every field here is < 256 bytes */
            if (decode_copy(x, len, &got, &seq) != OB_EINVAL)
                fail_msg("field %d's length %+d accepted", f, d);
        }
        off += 4 + fl;
    }
    /* a NUL inside a field (the actor's first byte, at 17) cannot come from a C string */
    memcpy(x, b, len);
    x[17] = 0;
    assert_int_equal(decode_copy(x, len, &got, &seq), OB_EINVAL);
    /* the string buffer: len - 63 bytes are exactly enough, one less is refused */
    size_t need = len - 13 - 8 - 4 * OB_LOG_NFIELDS + OB_LOG_NFIELDS;
    char *s = malloc(need);
    assert_int_equal(ob_log_entry_decode(b, len, &got, &seq, s, need, &e), OB_OK);
    assert_string_equal(got.actor_name, "Dr. Søren");
    assert_int_equal(seq, 77);
    assert_int_equal(ob_log_entry_decode(b, len, &got, &seq, s, need - 1, &e), OB_ELIMIT);
    assert_int_equal(ob_log_entry_decode(b, len, &got, &seq, NULL, 0, &e), OB_ELIMIT);
    free(s);
    free(x);
    free(b);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(null_is_empty),
        cmocka_unit_test(truncations_and_extensions),
        cmocka_unit_test(garbage),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free(last_strs);
    return failed;
}
