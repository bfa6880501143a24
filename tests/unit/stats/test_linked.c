/* test_linked.c - the linked auditor's witness problems against the whole problem
 * (R-STAT-2, R-STAT-8; docs/statistics.md "The linked auditor"). Witnesses (small problems
 * over a few clinics' patients) may only ever say "safe" where the whole problem says so
 * too, with a range inside the whole problem's; and a release protected with witnesses
 * must pass the exact audit (every attacker on the whole problem). Random clusters with a
 * history of monthly refreshes (overlapping periods, other bands, a sub-code), the shape the
 * bench (bench/stats_linked.c) times at scale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "stats/stats.h"

#define CLINICS 8
#define HIST    2

static uint64_t rs;
static uint32_t rnd(uint32_t n)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)((rs >> 11) % n);
}

static ob_time month(int m)
{
    return ob_time_from_ymd(2022 + m / 12, 1 + m % 12, 1);
}

static ob_stats_report *build(const ob_stats_dataset *d, int i)
{
    ob_stats_query q;
    memset(&q, 0, sizeof q);
    q.cluster = 1;
    q.from = month(i);
    q.to = month(i + 12);
    q.report_date = q.to;
    q.code = i == 2 ? "T90.1" : "T90";
    if (i == 3) {
        q.n_edges = 2;
        q.edge[0] = 135;
        q.edge[1] = 155;
    }
    ob_stats_report *r = NULL;
    ob_err e = {0};
    assert_int_equal(ob_stats_report_build(d, &q, &r, &e), OB_OK);
    return r;
}

struct world {
    ob_stats_dataset *d;
    ob_stats_report *rep[HIST + 1];
    uint8_t *pub[HIST + 1];
    int64_t llo[HIST + 1][CLINICS], lhi[HIST + 1][CLINICS];
    uint32_t owner[CLINICS];
    ob_stats_link_rel rel[HIST + 1];
};

static const ob_stats_sdc K5 = {.k = 5, .zeros_released = 1};

/* A cluster of small and large clinics; the earlier releases published as the single-table
 * protection left them; release 0 still to decide. */
static void world_make(struct world *w, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    rs = seed;
    ob_err e = {0};
    w->d = ob_stats_dataset_new();
    char prov[16];
    size_t pid = 0;
    for (int c = 0; c < CLINICS; c++) {
        snprintf(prov, sizeof prov, "%06d", 200000 + c);
        assert_int_equal(ob_stats_add_clinic(w->d, prov, 1, NULL, &e), OB_OK);
        w->owner[c] = (uint32_t)c;
    }
    for (int c = 0; c < CLINICS; c++) {
        size_t n = c < 3 ? 12 + rnd(8) : 40 + rnd(30);
        for (size_t k = 0; k < n; k++, pid++) {
            ob_stats_add_patient(w->d, (uint32_t)c, ob_time_from_ymd(2015, 1, 1), OB_TIME_MAX, NULL,
                                 &e);
            if (rnd(10) < 4)
                ob_stats_add_diagnosis(w->d, (uint32_t)pid, rnd(4) == 0 ? "T90.1" : "T90",
                                       ob_time_from_ymd(2021, 1, 1), &e);
            for (int m = 0; m < 4; m++)
                if (rnd(3) == 0)
                    ob_stats_add_observation(w->d, (uint32_t)pid, OB_STATS_OBS_SYSTOLIC,
                                             month(m * 5) + (ob_time)rnd(150) * 86400,
                                             115 + (int32_t)rnd(60), &e);
            if (rnd(2) == 0)
                ob_stats_add_checkup(w->d, (uint32_t)pid, month((int)rnd(24)), &e);
        }
    }
    for (int i = 0; i <= HIST; i++) {
        w->rep[i] = build(w->d, i);
        for (size_t r = 0; r < w->rep[i]->n_rows; r++) {
            int64_t p = ob_stats_round(w->rep[i]->listed[r], 5);
            w->llo[i][r] = p - 2;
            w->lhi[i][r] = p + 2;
        }
        if (i > 0) {
            ob_stats_report_protect(w->rep[i], &K5, NULL, &e);
            const ob_stats_table *u = w->rep[i]->table;
            w->pub[i] = ob_malloc(u->n_fig);
            for (size_t f = 0; f < u->n_fig; f++)
                w->pub[i][f] = (uint8_t)ob_stats_pub_of(u, &K5, f, 0);
        }
        w->rel[i] = (ob_stats_link_rel){w->rep[i], w->owner, w->pub[i],     NULL, w->llo[i],
                                        w->lhi[i], month(i), month(i + 12), 0};
    }
}

static void world_free(struct world *w)
{
    for (int i = 0; i <= HIST; i++) {
        ob_stats_report_free(w->rep[i]);
        ob_free(w->pub[i]);
    }
    ob_stats_dataset_free(w->d);
}

static void reset0(struct world *w)
{
    ob_stats_table *t = w->rep[0]->table;
    for (size_t f = 0; f < t->n_fig; f++)
        t->state[f] = OB_STATS_RELEASED;
}

/* One seed: the audit of a fixed pattern with and without witnesses; then the release
 * protected with witnesses, audited exactly. */
static void check_seed(uint64_t seed)
{
    struct world w;
    world_make(&w, seed);
    ob_err e = {0};
    ob_stats_link L = {HIST + 1, w.rel, 0, 2, 1, 0, 0};
    ob_stats_link X = L;
    X.exact = 1;
    /* a fixed pattern: the single-table protection's (it knows nothing of the history) */
    reset0(&w);
    ob_stats_report_protect(w.rep[0], &K5, NULL, &e);
    ob_stats_audit aw = {0}, ax = {0};
    assert_int_equal(ob_stats_link_audit(&L, &K5, &aw, &e), OB_OK);
    assert_int_equal(ob_stats_link_audit(&X, &K5, &ax, &e), OB_OK);
    assert_int_equal(aw.n, ax.n);
    size_t gave_up = 0;
    for (size_t i = 0; i < aw.n; i++) {
        const ob_stats_finding *a = &aw.f[i], *x = &ax.f[i];
        assert_int_equal(a->kind, x->kind);
        assert_int_equal(a->attacker, x->attacker);
        assert_int_equal(a->attacker2, x->attacker2);
        int x_gave_up = !x->safe && x->lo == 0 && x->hi == 0;
        gave_up += x_gave_up;
        if (x_gave_up)
            continue;
        /* a witness's "safe" is the whole problem's, and its range lies inside */
        /* ("prior" flags may differ: a range derived from another attacker's carries its
         * flag; both say the same of the range) */
        if (a->safe && !a->prior) {
            assert_true(x->safe && !x->prior);
            assert_true(x->lo <= a->lo);
            assert_true(x->hi == OB_STATS_UNBOUNDED ||
                        (a->hi != OB_STATS_UNBOUNDED && a->hi <= x->hi));
        }
        if (x->safe && !x->prior)
            assert_true(a->safe);
    }
    assert_true(gave_up * 20 <= aw.n + 20);
    ob_stats_audit_free(&aw);
    ob_stats_audit_free(&ax);
    /* protected with witnesses: the exact audit finds nothing unsafe this release could fix */
    reset0(&w);
    ob_status st = ob_stats_link_protect(&L, &K5, NULL, &e);
    if (st == OB_OK) {
        assert_int_equal(ob_stats_link_audit(&X, &K5, &ax, &e), OB_OK);
        for (size_t i = 0; i < ax.n; i++)
            if (!ax.f[i].safe)
                print_message("seed %llx finding %zu kind %d attacker %zu/%zu range %lld..%lld\n",
                              (unsigned long long)seed, i, ax.f[i].kind, ax.f[i].attacker,
                              ax.f[i].attacker2, (long long)ax.f[i].lo, (long long)ax.f[i].hi);
        assert_int_equal(ax.n_unsafe, 0);
        ob_stats_audit_free(&ax);
    } else {
        if (st != OB_EDENIED)
            print_message("seed %llx: %s\n", (unsigned long long)seed, e.msg);
        assert_int_equal(st, OB_EDENIED); /* refused, never a wrong table */
    }
    world_free(&w);
}

/* OB_TEST_SCALE=N (sanitizers, valgrind) runs 4/N of the seeds, at least one. */
static size_t n_seeds(void)
{
    const char *v = getenv("OB_TEST_SCALE");
    int n = v ? atoi(v) : 1;
#ifdef __SANITIZE_ADDRESS__
    n = n < 2 ? 2 : n;
#endif
    return n >= 4 ? 1 : n >= 1 ? (size_t)(4 / n) : 4;
}

static void test_witness_agrees(void **state)
{
    (void)state;
    static const uint64_t seeds[] = {0x2545F4914F6CDD1Dull, 0x9E3779B97F4A7C15ull,
                                     0x1234567887654321ull, 0x0F0F0F0F12345678ull};
    for (size_t i = 0; i < n_seeds(); i++)
        check_seed(seeds[i]);
}

/* The work limit (R-STAT-8; docs/statistics.md "The audit's work limit"): an audit that needs
 * more than its limit refuses the release and says why, the same way every time (a count,
 * not a time), and publishes nothing; the work of an audit within its limit is reported
 * and the same on every run. */
static void test_work_limit(void **state)
{
    (void)state;
    struct world w;
    world_make(&w, 0x9E3779B97F4A7C15ull);
    ob_err e = {0};
    ob_stats_link L = {HIST + 1, w.rel, 0, 2, 1, 0, 0};
    reset0(&w);
    ob_stats_audit a = {0};
    assert_int_equal(ob_stats_link_protect(&L, &K5, &a, &e), OB_OK);
    uint64_t need = a.work;
    assert_true(need > 100);
    ob_stats_audit_free(&a);
    if (n_seeds() == 4) { /* (not under valgrind and the sanitizers: two more audits) */
        reset0(&w);
        assert_int_equal(ob_stats_link_protect(&L, &K5, &a, &e), OB_OK);
        assert_int_equal(a.work, need); /* deterministic */
        ob_stats_audit_free(&a);
        /* just enough: published */
        L.work_limit = need;
        reset0(&w);
        assert_int_equal(ob_stats_link_protect(&L, &K5, &a, &e), OB_OK);
        ob_stats_audit_free(&a);
    }
    /* less: refused, twice alike */
    L.work_limit = need / 2;
    for (int k = 0; k < 2; k++) {
        reset0(&w);
        ob_err e2 = {0};
        assert_int_equal(ob_stats_link_protect(&L, &K5, &a, &e2), OB_EDENIED);
        assert_non_null(strstr(e2.msg, "work limit"));
        assert_non_null(strstr(e2.msg, "R-STAT-8"));
        assert_int_equal(a.n, 0); /* no findings handed out */
    }
    /* the audit alone is bound the same way */
    L.work_limit = 10;
    assert_int_equal(ob_stats_link_audit(&L, &K5, &a, &e), OB_EDENIED);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_witness_agrees),
        cmocka_unit_test(test_work_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
