/* test_overrides_pg.c - block overrides counted by every server together on PostgreSQL
 * (store/pg/overrides_pg.h; R-BLK-4, docs/security.md T-DB-9), against a throwaway
 * PostgreSQL 15. Rows: what one server sees, what two servers count together, the 24-hour
 * window, and exact totals when two servers count at once (each total given once, so one
 * alert per multiple of the threshold). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/overrides.h"
#include "store/pg/overrides_pg.h"
#include "unit/pg_fixture.h"

#define T0 ((ob_time)1796000000) /* 2026-12-01, a whole hour's start plus some */

static void db(const char *name, char *uri, size_t cap)
{
    pg_fresh_db(name, uri, cap);
}

/* Two servers (two counters on one database), a doctor's overrides alternating between
 * them: the totals run 1..6 over both, not 1..3 on each. */
static void two_servers_one_count(void **state)
{
    (void)state;
    char uri[512];
    db("ovr_two", uri, sizeof uri);
    ob_pgovr *a = NULL, *b = NULL;
    ob_err e = {0};
    assert_int_equal(ob_pgovr_open(uri, &a, &e), OB_OK);
    assert_int_equal(ob_pgovr_open(uri, &b, &e), OB_OK);
    for (uint64_t i = 1; i <= 6; i++) {
        uint64_t t = 0;
        assert_int_equal(ob_pgovr_count(i % 2 ? a : b, 'p', "gp-1-dr0", T0 + i, &t, &e), OB_OK);
        assert_int_equal(t, i);
    }
    /* the site is counted apart from the professional, and another doctor apart */
    uint64_t t = 0;
    assert_int_equal(ob_pgovr_count(b, 's', "gp-1", T0, &t, &e), OB_OK);
    assert_int_equal(t, 1);
    assert_int_equal(ob_pgovr_count(a, 'p', "gp-1-dr1", T0, &t, &e), OB_OK);
    assert_int_equal(t, 1);
    /* bad input changes nothing */
    assert_int_equal(ob_pgovr_count(a, 'x', "gp-1", T0, &t, &e), OB_EINVAL);
    assert_int_equal(ob_pgovr_count(a, 'p', "", T0, &t, &e), OB_EINVAL);
    ob_pgovr_close(a);
    ob_pgovr_close(b);
}

/* The window is the 24 hours ending with the current one, as on one server
 * (service/overrides.c): an override 23 hours back counts, one 24 hours back does not. */
static void the_window(void **state)
{
    (void)state;
    char uri[512];
    db("ovr_window", uri, sizeof uri);
    ob_pgovr *a = NULL;
    ob_err e = {0};
    assert_int_equal(ob_pgovr_open(uri, &a, &e), OB_OK);
    uint64_t t = 0;
    assert_int_equal(ob_pgovr_count(a, 'p', "d", T0 - 24 * 3600, &t, &e), OB_OK);
    assert_int_equal(t, 1);
    assert_int_equal(ob_pgovr_count(a, 'p', "d", T0 - 23 * 3600, &t, &e), OB_OK);
    assert_int_equal(t, 2); /* an hour later: both in its window */
    assert_int_equal(ob_pgovr_count(a, 'p', "d", T0, &t, &e), OB_OK);
    assert_int_equal(t, 2); /* 24 hours later: the first left the window, the second not */
    assert_int_equal(ob_pgovr_count(a, 'p', "d", T0 + 3600, &t, &e), OB_OK);
    assert_int_equal(t, 2); /* and now the second left */
    ob_pgovr_close(a);
}

typedef struct racer {
    ob_pgovr *o;
    int n;
    uint64_t totals[200];
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    for (int i = 0; i < r->n; i++) {
        ob_err e = {0};
        if (ob_pgovr_count(r->o, 'p', "racer", T0, &r->totals[i], &e) != OB_OK)
            r->totals[i] = 0;
    }
    return NULL;
}

/* Two servers counting the same doctor at once: every total from 1 to 400 is given exactly
 * once, so every multiple of a threshold is reached by exactly one override. */
static void concurrent_totals_exact(void **state)
{
    (void)state;
    char uri[512];
    db("ovr_race", uri, sizeof uri);
    racer r[2];
    memset(r, 0, sizeof r);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        ob_err e = {0};
        assert_int_equal(ob_pgovr_open(uri, &r[i].o, &e), OB_OK);
        r[i].n = 200;
    }
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, race, &r[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    static unsigned char seen[401];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 200; k++) {
            uint64_t t = r[i].totals[k];
            assert_true(t >= 1 && t <= 400);
            assert_int_equal(seen[t], 0);
            seen[t] = 1;
        }
    for (int i = 0; i < 2; i++)
        ob_pgovr_close(r[i].o);
}

/* service/overrides.c with the shared count: the alert is decided on the total over the
 * servers (here the shared count says 4 and then 5 at a threshold of 5, though this server
 * saw only two); when the shared count fails, this server's own count decides. */
static uint64_t fake_total;
static bool fake_fails;
static ob_status fake_shared(void *ctx, char kind, uint32_t id, ob_time now, uint64_t *total,
                             ob_err *e)
{
    (void)ctx, (void)kind, (void)id, (void)now;
    if (fake_fails)
        return ob_err_set(e, OB_EIO, "the database is away");
    *total = fake_total;
    return OB_OK;
}

static void service_decides_on_the_shared_total(void **state)
{
    (void)state;
    ob_overrides *o = NULL;
    ob_err e = {0};
    assert_int_equal(ob_overrides_new(4, 2, 5, 100, &o, &e), OB_OK);
    ob_overrides_share(o, fake_shared, NULL);
    uint32_t p = 0, s = 0;
    fake_total = 4;
    ob_overrides_count(o, 1, 0, T0, &p, &s);
    assert_int_equal(p, 0);
    fake_total = 5;
    ob_overrides_count(o, 1, 0, T0, &p, &s);
    assert_int_equal(p, 5); /* the fifth over both servers, this one's second */
    /* a professional the counters were not made for (added later) is counted there too */
    fake_total = 10;
    ob_overrides_count(o, 7, UINT32_MAX, T0, &p, &s);
    assert_int_equal(p, 10);
    /* the shared count fails: this server's own (3 for professional 1) decides: no alert */
    fake_fails = true;
    ob_overrides_count(o, 1, 0, T0, &p, &s);
    assert_int_equal(p, 0);
    ob_overrides_count(o, 1, 0, T0, &p, &s);
    ob_overrides_count(o, 1, 0, T0, &p, &s);
    assert_int_equal(p, 5); /* its own fifth */
    fake_fails = false;
    ob_overrides_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_servers_one_count),
        cmocka_unit_test(the_window),
        cmocka_unit_test(concurrent_totals_exact),
        cmocka_unit_test(service_decides_on_the_shared_total),
    };
    return cmocka_run_group_tests(tests, pg_group_up, pg_group_down);
}
