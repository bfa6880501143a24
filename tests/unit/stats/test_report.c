/* test_report.c - cluster report aggregation (R-STAT-1, R-STAT-4, R-STAT-5) and differencing
 * control against earlier releases (R-STAT-2): overlapping filters, periods one day apart, a
 * monthly refresh in which one patient changed band. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "stats/stats.h"

#define D(y, m, d) ob_time_from_ymd(y, m, d)

static const ob_stats_sdc K5 = {.k = 5, .zeros_released = 1};

static void test_code_match(void **state)
{
    (void)state;
    assert_true(ob_stats_code_matches("T90", "T90"));
    assert_true(ob_stats_code_matches("T90.1", "T90"));
    assert_true(ob_stats_code_matches("t901", "T90"));
    assert_true(ob_stats_code_matches("E11.9", "E11"));
    assert_true(ob_stats_code_matches("E11.9", "E11.9"));
    assert_false(ob_stats_code_matches("E11", "E11.9"));
    assert_false(ob_stats_code_matches("T89", "T90"));
    assert_false(ob_stats_code_matches("E10.9", "E11"));
    assert_false(ob_stats_code_matches("T90", ""));
}

/* One hand-made cluster whose every patient tests one rule. */
static ob_stats_dataset *small_dataset(void)
{
    ob_stats_dataset *d = ob_stats_dataset_new();
    uint32_t A, B, C, p;
    ob_stats_add_clinic(d, "012345", 1, &A, NULL);
    ob_stats_add_clinic(d, "067890", 1, &B, NULL);
    ob_stats_add_clinic(d, "099999", 2, &C, NULL);
    /* p0: A, T90.1; latest SBP 128 (an earlier 155 does not count); a check-up */
    ob_stats_add_patient(d, A, D(2010, 1, 1), OB_TIME_MAX, &p, NULL);
    ob_stats_add_diagnosis(d, p, "T90.1", D(2024, 5, 1), NULL);
    ob_stats_add_observation(d, p, OB_STATS_OBS_SYSTOLIC, D(2025, 9, 1), 128, NULL);
    ob_stats_add_observation(d, p, OB_STATS_OBS_SYSTOLIC, D(2025, 3, 1), 155, NULL);
    ob_stats_add_checkup(d, p, D(2025, 6, 1), NULL);
    /* p1: A, diagnosis older than five years: listed, not diagnosed (R-STAT-4) */
    ob_stats_add_patient(d, A, D(2010, 1, 1), OB_TIME_MAX, &p, NULL);
    ob_stats_add_diagnosis(d, p, "T90", D(2020, 12, 31), NULL);
    /* p2: A, former patient who left mid-period (R-STAT-5); SBP 162; no check-up */
    ob_stats_add_patient(d, A, D(2010, 1, 1), D(2025, 6, 1), &p, NULL);
    ob_stats_add_diagnosis(d, p, "t90", D(2023, 1, 1), NULL);
    ob_stats_add_observation(d, p, OB_STATS_OBS_SYSTOLIC, D(2025, 2, 1), 162, NULL);
    /* p3: A, other diagnosis */
    ob_stats_add_patient(d, A, D(2025, 12, 1), OB_TIME_MAX, &p, NULL);
    ob_stats_add_diagnosis(d, p, "E11.9", D(2025, 12, 2), NULL);
    /* p4: B, two matching diagnoses (counted once); equal-time SBP 141/149 -> 149; an SBP
     * before the period; two check-ups (counted once) */
    ob_stats_add_patient(d, B, D(2015, 1, 1), OB_TIME_MAX, &p, NULL);
    ob_stats_add_diagnosis(d, p, "T90", D(2025, 1, 10), NULL);
    ob_stats_add_diagnosis(d, p, "T90.2", D(2025, 2, 10), NULL);
    ob_stats_add_observation(d, p, OB_STATS_OBS_SYSTOLIC, D(2025, 5, 1), 149, NULL);
    ob_stats_add_observation(d, p, OB_STATS_OBS_SYSTOLIC, D(2025, 5, 1), 141, NULL);
    ob_stats_add_observation(d, p, OB_STATS_OBS_SYSTOLIC, D(2024, 12, 1), 120, NULL);
    ob_stats_add_checkup(d, p, D(2025, 3, 1), NULL);
    ob_stats_add_checkup(d, p, D(2025, 9, 1), NULL);
    /* p5: B, left before the period */
    ob_stats_add_patient(d, B, D(2015, 1, 1), D(2024, 12, 31), &p, NULL);
    ob_stats_add_diagnosis(d, p, "T90", D(2023, 1, 1), NULL);
    /* p6: another cluster */
    ob_stats_add_patient(d, C, D(2015, 1, 1), OB_TIME_MAX, &p, NULL);
    ob_stats_add_diagnosis(d, p, "T90", D(2023, 1, 1), NULL);
    /* p7: A, diagnosed, only a diastolic value and an SBP older than the window */
    ob_stats_add_patient(d, A, D(2015, 1, 1), OB_TIME_MAX, &p, NULL);
    ob_stats_add_diagnosis(d, p, "T90", D(2025, 2, 1), NULL);
    ob_stats_add_observation(d, p, OB_STATS_OBS_DIASTOLIC, D(2025, 3, 1), 90, NULL);
    ob_stats_add_observation(d, p, OB_STATS_OBS_SYSTOLIC, D(2020, 6, 1), 170, NULL);
    /* p8: B, "T901" matches; SBP 135; a later one after the period is ignored */
    ob_stats_add_patient(d, B, D(2015, 1, 1), OB_TIME_MAX, &p, NULL);
    ob_stats_add_diagnosis(d, p, "T901", D(2025, 1, 1), NULL);
    ob_stats_add_observation(d, p, OB_STATS_OBS_SYSTOLIC, D(2025, 4, 1), 135, NULL);
    ob_stats_add_observation(d, p, OB_STATS_OBS_SYSTOLIC, D(2026, 2, 1), 170, NULL);
    return d;
}

static void test_aggregation_rules(void **state)
{
    (void)state;
    ob_stats_dataset *d = small_dataset();
    ob_stats_query q = {.cluster = 1,
                        .from = D(2025, 1, 1),
                        .to = D(2026, 1, 1),
                        .report_date = D(2026, 1, 1),
                        .code = "T90"};
    ob_stats_report *r = NULL;
    ob_err e = {0};
    assert_int_equal(ob_stats_report_build(d, &q, &r, &e), OB_OK);
    const ob_stats_table *t = r->table;
    assert_int_equal(r->n_rows, 2);
    assert_int_equal(r->n_bands, 5);
    assert_int_equal(t->cols, 8); /* 5 bands, no-sbp, check-up, no check-up */
    assert_int_equal(r->listed[0], 5);
    assert_int_equal(r->listed[1], 2);
    assert_int_equal(t->value[ob_stats_fig_row(t, 0)], 3);
    assert_int_equal(t->value[ob_stats_fig_row(t, 1)], 2);
    const int64_t a_row[] = {1, 0, 0, 0, 1, 1, 1, 2};
    const int64_t b_row[] = {0, 1, 1, 0, 0, 0, 1, 1};
    for (size_t c = 0; c < 8; c++) {
        assert_int_equal(t->value[ob_stats_fig_cell(t, 0, c)], a_row[c]);
        assert_int_equal(t->value[ob_stats_fig_cell(t, 1, c)], b_row[c]);
    }
    assert_int_equal(ob_stats_table_check(t, &e), OB_OK);
    /* the grand total's patient set, sorted */
    size_t g = ob_stats_fig_grand(t);
    const uint32_t want[] = {0, 2, 4, 7, 8};
    assert_int_equal(r->set_off[g + 1] - r->set_off[g], 5);
    assert_memory_equal(r->set_ids + r->set_off[g], want, sizeof want);
    for (size_t f = 0; f < t->n_fig; f++)
        assert_int_equal((int64_t)(r->set_off[f + 1] - r->set_off[f]), t->value[f]);
    ob_stats_report_free(r);

    /* custom bands: one edge at 140 gives two bands */
    q.n_edges = 1;
    q.edge[0] = 140;
    assert_int_equal(ob_stats_report_build(d, &q, &r, &e), OB_OK);
    assert_int_equal(r->n_bands, 2);
    assert_int_equal(r->table->value[ob_stats_fig_col(r->table, 0)], 2); /* 128, 135 */
    assert_int_equal(r->table->value[ob_stats_fig_col(r->table, 1)], 2); /* 149, 162 */
    ob_stats_report_free(r);

    /* a period entirely older than five years is refused (R-STAT-4) */
    q.from = D(2019, 1, 1);
    q.to = D(2020, 1, 1);
    assert_int_equal(ob_stats_report_build(d, &q, &r, &e), OB_EINVAL);
    assert_non_null(strstr(e.msg, "five-year"));
    q.cluster = 42;
    q.from = D(2025, 1, 1);
    q.to = D(2026, 1, 1);
    assert_int_equal(ob_stats_report_build(d, &q, &r, &e), OB_ENOTFOUND);
    ob_stats_dataset_free(d);
}

/* --- differencing ---------------------------------------------------------------------- */

static uint64_t rs = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs % n);
}

/* Three clinics of 60 listed patients; about two thirds with T90 or T90.1. */
static ob_stats_dataset *cluster_dataset(void)
{
    ob_stats_dataset *d = ob_stats_dataset_new();
    uint32_t c[3];
    ob_stats_add_clinic(d, "100001", 7, &c[0], NULL);
    ob_stats_add_clinic(d, "100002", 7, &c[1], NULL);
    ob_stats_add_clinic(d, "100003", 7, &c[2], NULL);
    rs = 88172645463325252ull;
    for (int i = 0; i < 180; i++) {
        uint32_t p;
        ob_stats_add_patient(d, c[i % 3], D(2015, 1, 1), OB_TIME_MAX, &p, NULL);
        if (rnd(3) == 0)
            continue;
        ob_stats_add_diagnosis(d, p, rnd(4) ? "T90" : "T90.1", D(2024, 1, 1), NULL);
        ob_stats_add_observation(d, p, OB_STATS_OBS_SYSTOLIC, D(2025, 1, 1) + rnd(300) * 86400,
                                 115 + (int32_t)rnd(60), NULL);
        if (rnd(2))
            ob_stats_add_checkup(d, p, D(2025, 2, 1) + rnd(300) * 86400, NULL);
    }
    return d;
}

/* Independent check: no released figure of r is nested with a released figure of any
 * earlier release with a difference of 1..k-1 (plain membership tests, no merge). */
static size_t count_exposures(const ob_stats_history *h, const ob_stats_report *r, int k)
{
    const ob_stats_table *t = r->table;
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++)
        for (size_t f = 0; f < t->n_fig; f++) {
            if (ob_stats_suppressed(t, f))
                continue;
            for (size_t g = 0; g < h->rec[i].n_fig; g++) {
                const uint32_t *a = r->set_ids + r->set_off[f];
                size_t na = r->set_off[f + 1] - r->set_off[f];
                const uint32_t *b = h->rec[i].set_ids + h->rec[i].set_off[g];
                size_t nb = h->rec[i].set_off[g + 1] - h->rec[i].set_off[g];
                size_t a_not_b = 0, b_not_a = 0;
                for (size_t x = 0; x < na; x++) {
                    int in = 0;
                    for (size_t y = 0; y < nb; y++)
                        in |= a[x] == b[y];
                    a_not_b += !in;
                }
                for (size_t y = 0; y < nb; y++) {
                    int in = 0;
                    for (size_t x = 0; x < na; x++)
                        in |= a[x] == b[y];
                    b_not_a += !in;
                }
                int exposes = (a_not_b == 0 && b_not_a >= 1 && b_not_a < (size_t)k) ||
                              (b_not_a == 0 && a_not_b >= 1 && a_not_b < (size_t)k);
                n += exposes;
            }
        }
    return n;
}

static void assert_no_differencing(const ob_stats_history *h, const ob_stats_report *r, int k)
{
    assert_int_equal(count_exposures(h, r, k), 0);
}

static ob_stats_report *released(const ob_stats_dataset *d, const ob_stats_query *q,
                                 ob_stats_history *h, const char *filter, size_t *n_diff)
{
    ob_stats_report *r = NULL;
    ob_err e = {0};
    assert_int_equal(ob_stats_report_build(d, q, &r, &e), OB_OK);
    ob_stats_audit a;
    ob_status st = ob_stats_release(h, r, q->cluster, &K5, &a, &e);
    if (st != OB_OK)
        print_error("%s\n", e.msg);
    assert_int_equal(st, OB_OK);
    assert_int_equal(a.n_unsafe, 0);
    ob_stats_audit_free(&a);
    assert_no_differencing(h, r, K5.k);
    *n_diff = 0;
    for (size_t f = 0; f < r->table->n_fig; f++)
        *n_diff += r->table->state[f] == OB_STATS_DIFFERENCING;
    assert_int_equal(ob_stats_history_add(h, r, q->cluster, filter, &e), OB_OK);
    return r;
}

/* R-STAT-2: periods one day apart (a patient measured on the extra day), then overlapping
 * diagnosis filters (T90 vs T90.1 nested), then a monthly refresh where one patient moved
 * band. Every later release must not expose the difference. */
static void test_differencing(void **state)
{
    (void)state;
    ob_stats_dataset *d = cluster_dataset();
    ob_stats_history h;
    ob_stats_history_init(&h);
    ob_stats_query q = {.cluster = 7,
                        .from = D(2025, 1, 1),
                        .to = D(2025, 11, 1),
                        .report_date = D(2025, 12, 1),
                        .code = "T90"};
    size_t nd;
    ob_stats_report *r1 = released(d, &q, &h, "T90 2025-01-01..2025-11-01", &nd);
    assert_int_equal(nd, 0);

    /* a patient of clinic 0 listed later gets a diagnosis and a first SBP on 2025-11-01 */
    uint32_t p;
    ob_stats_add_patient(d, 0, D(2025, 1, 1), OB_TIME_MAX, &p, NULL);
    ob_stats_add_diagnosis(d, p, "T90", D(2025, 11, 1), NULL);
    ob_stats_add_observation(d, p, OB_STATS_OBS_SYSTOLIC, D(2025, 11, 1) + 3600, 150, NULL);
    ob_stats_query q2 = q;
    q2.to = D(2025, 11, 2);
    /* the attack exists: plain protection without the history exposes the new patient */
    {
        ob_stats_report *naive = NULL;
        ob_err e0 = {0};
        assert_int_equal(ob_stats_report_build(d, &q2, &naive, &e0), OB_OK);
        assert_int_equal(ob_stats_report_protect(naive, &K5, NULL, &e0), OB_OK);
        assert_true(count_exposures(&h, naive, K5.k) > 0);
        ob_stats_report_free(naive);
    }
    ob_stats_report *r2 = released(d, &q2, &h, "T90 2025-01-01..2025-11-02", &nd);
    assert_true(nd > 0);
    /* the row total of clinic 0 grew by one patient: it cannot stand next to the old one */
    size_t f0 = ob_stats_fig_row(r2->table, 0);
    assert_true(ob_stats_suppressed(r2->table, f0));
    ob_stats_report_free(r2);

    /* overlapping filters: T90.1 lies within T90 */
    ob_stats_query q3 = q;
    q3.code = "T90.1";
    ob_stats_report *r3 = NULL;
    ob_err e = {0};
    assert_int_equal(ob_stats_report_build(d, &q3, &r3, &e), OB_OK);
    ob_stats_audit a;
    ob_status st = ob_stats_release(&h, r3, 7, &K5, &a, &e);
    if (st == OB_OK) {
        assert_no_differencing(&h, r3, K5.k);
        ob_stats_audit_free(&a);
    } else {
        assert_int_equal(st, OB_EDENIED);
    }
    ob_stats_report_free(r3);

    /* monthly refresh: the same period again after one patient got a new, lower SBP */
    uint32_t mover = 0;
    const ob_stats_table *t1 = r1->table;
    size_t fhigh = ob_stats_fig_col(t1, 4); /* >= 160 */
    mover = r1->set_ids[r1->set_off[fhigh]];
    ob_stats_add_observation(d, mover, OB_STATS_OBS_SYSTOLIC, D(2025, 10, 30), 120, NULL);
    ob_stats_report *r4 = released(d, &q, &h, "T90 refresh", &nd);
    assert_true(nd > 0);
    /* the >= 160 column lost exactly the mover: if it was released before, not now */
    if (!ob_stats_suppressed(r1->table, fhigh))
        assert_true(ob_stats_suppressed(r4->table, ob_stats_fig_col(r4->table, 4)));
    ob_stats_report_free(r4);
    ob_stats_report_free(r1);
    ob_stats_history_free(&h);
    ob_stats_dataset_free(d);
}

/* The same release twice is no differencing risk: identical sets. */
static void test_identical_release_allowed(void **state)
{
    (void)state;
    ob_stats_dataset *d = cluster_dataset();
    ob_stats_history h;
    ob_stats_history_init(&h);
    ob_stats_query q = {.cluster = 7,
                        .from = D(2025, 1, 1),
                        .to = D(2025, 11, 1),
                        .report_date = D(2025, 12, 1),
                        .code = "T90"};
    size_t nd;
    ob_stats_report *r1 = released(d, &q, &h, "first", &nd);
    ob_stats_report *r2 = released(d, &q, &h, "again", &nd);
    assert_int_equal(nd, 0);
    assert_memory_equal(r1->table->state, r2->table->state, r1->table->n_fig);
    ob_stats_report_free(r1);
    ob_stats_report_free(r2);
    ob_stats_history_free(&h);
    ob_stats_dataset_free(d);
}

/* A clinic with fewer than k listed patients makes the report unreleasable. */
static void test_tiny_clinic_refused(void **state)
{
    (void)state;
    ob_stats_dataset *d = small_dataset();
    ob_stats_query q = {.cluster = 1,
                        .from = D(2025, 1, 1),
                        .to = D(2026, 1, 1),
                        .report_date = D(2026, 1, 1),
                        .code = "T90"};
    ob_stats_report *r = NULL;
    ob_err e = {0};
    assert_int_equal(ob_stats_report_build(d, &q, &r, &e), OB_OK);
    assert_int_equal(ob_stats_report_protect(r, &K5, NULL, &e), OB_EDENIED);
    assert_non_null(strstr(e.msg, "refused"));
    ob_stats_report_free(r);
    ob_stats_dataset_free(d);
}

/* Every allocation failure in build, protect, release and history is reported as
 * OB_ENOMEM (or the step still succeeds) and leaks nothing (checked under ASan). */
static void test_alloc_failures(void **state)
{
    (void)state;
    ob_stats_dataset *d = cluster_dataset();
    ob_stats_query q = {.cluster = 7,
                        .from = D(2025, 1, 1),
                        .to = D(2025, 11, 1),
                        .report_date = D(2025, 12, 1),
                        .code = "T90"};
    int failures = 0;
    for (long n = 0; n < 400; n++) {
        ob_stats_history h;
        ob_stats_history_init(&h);
        ob_stats_report *r = NULL;
        ob_stats_audit a;
        ob_err e = {0};
        ob_alloc_fail_after(n);
        ob_status st = ob_stats_report_build(d, &q, &r, &e);
        if (st == OB_OK) {
            st = ob_stats_release(&h, r, 7, &K5, &a, &e);
            if (st == OB_OK) {
                ob_stats_audit_free(&a);
                st = ob_stats_history_add(&h, r, 7, "x", &e);
            }
        }
        ob_alloc_fail_after(-1);
        if (st != OB_OK) {
            assert_int_equal(st, OB_ENOMEM);
            failures++;
        }
        ob_stats_report_free(r);
        ob_stats_history_free(&h);
    }
    assert_true(failures > 10);
    ob_stats_dataset_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_match),
        cmocka_unit_test(test_aggregation_rules),
        cmocka_unit_test(test_differencing),
        cmocka_unit_test(test_identical_release_allowed),
        cmocka_unit_test(test_tiny_clinic_refused),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
