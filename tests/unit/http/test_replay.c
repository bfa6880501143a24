/* test_replay.c - the jti replay cache (auth.h, ob_auth_replay_*): one write per token.
 * Table-driven over (iss, jti, exp) sequences: a first use passes, a second is refused, the
 * issuer is part of the key, a missing or over-long jti is refused; then the bound: a table
 * three quarters full of expired entries is swept and takes more, one full of live entries
 * refuses (fail closed) rather than forget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/auth.h"

#define NOW 1800000000

typedef struct use {
    const char *iss, *jti; /* NULL: claim absent */
    int64_t exp;
    ob_status want;
} use;

static json_t *claims(const char *iss, const char *jti, int64_t exp)
{
    json_t *c = json_pack("{s:I}", "exp", (json_int_t)exp);
    if (iss)
        json_object_set_new(c, "iss", json_string(iss));
    if (jti)
        json_object_set_new(c, "jti", json_string(jti));
    return c;
}

static void test_uses(void **state)
{
    (void)state;
    char longjti[300];
    memset(longjti, 'j', sizeof longjti - 1);
    longjti[sizeof longjti - 1] = '\0';
    static const use seq[] = {
        {"https://idp", "a", NOW + 300, OB_OK},
        {"https://idp", "a", NOW + 300, OB_EINVAL}, /* replayed */
        {"https://idp", "a", NOW + 900, OB_EINVAL}, /* same jti, another exp: still it */
        {"https://other", "a", NOW + 300, OB_OK},   /* another issuer's "a" */
        {NULL, "a", NOW + 300, OB_OK},              /* no issuer is an issuer of its own */
        {NULL, "a", NOW + 300, OB_EINVAL},
        {"https://idp", "b", NOW + 300, OB_OK},
        {"https://idp", NULL, NOW + 300, OB_EINVAL}, /* a write needs a jti */
        {"https://idp", "", NOW + 300, OB_EINVAL},
    };
    ob_auth_replay *r = NULL;
    ob_err e = {0};
    assert_int_equal(ob_auth_replay_new(&r, &e), OB_OK);
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        json_t *c = claims(seq[i].iss, seq[i].jti, seq[i].exp);
        ob_status st = ob_auth_replay_check(r, c, NOW, &e);
        if (st != seq[i].want)
            fail_msg("use %zu: got %d, wanted %d (%s)", i, st, seq[i].want, e.msg);
        json_decref(c);
    }
    json_t *c = claims("https://idp", longjti, NOW + 300);
    assert_int_equal(ob_auth_replay_check(r, c, NOW, &e), OB_EINVAL);
    json_decref(c);
    ob_auth_replay_free(r);
}

/* Fills three quarters of the table with tokens that expire at `exp`, then asks once more. */
static ob_status fill_then_one(int64_t exp, int64_t later)
{
    ob_auth_replay *r = NULL;
    ob_err e = {0};
    assert_int_equal(ob_auth_replay_new(&r, &e), OB_OK);
    char jti[32];
    for (unsigned i = 0; i < OB_AUTH_REPLAY_SLOTS / 4 * 3; i++) {
        snprintf(jti, sizeof jti, "fill-%u", i);
        json_t *c = claims("https://idp", jti, exp);
        assert_int_equal(ob_auth_replay_check(r, c, NOW, &e), OB_OK);
        json_decref(c);
    }
    json_t *c = claims("https://idp", "one-more", later + 300);
    ob_status st = ob_auth_replay_check(r, c, later, &e);
    json_decref(c);
    if (st == OB_OK) { /* and a swept table still knows what it kept */
        c = claims("https://idp", "one-more", later + 300);
        assert_int_equal(ob_auth_replay_check(r, c, later, &e), OB_EINVAL);
        json_decref(c);
    }
    ob_auth_replay_free(r);
    return st;
}

static void test_bound(void **state)
{
    (void)state;
    /* expired (past exp + leeway) by the time of the next write: swept, room again */
    assert_int_equal(fill_then_one(NOW + 300, NOW + 300 + OB_AUTH_LEEWAY + 1), OB_OK);
    /* all still live: refused, nothing forgotten */
    assert_int_equal(fill_then_one(NOW + 3600, NOW + 10), OB_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uses),
        cmocka_unit_test(test_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
