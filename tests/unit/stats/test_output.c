/* test_output.c - provider-number labels (R-STAT-3), rounding and differential privacy
 * (alternatives for planning statistics, R-STAT-6) and rendering of protected reports: a
 * suppressed value must never reach the output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "core/alloc.h"
#include "stats/stats.h"

#define D(y, m, d) ob_time_from_ymd(y, m, d)

static ob_stats_dataset *dataset(void)
{
    ob_stats_dataset *d = ob_stats_dataset_new();
    const char *prov[] = {"012345", "067890", "054321", "011111"};
    for (int c = 0; c < 4; c++)
        ob_stats_add_clinic(d, prov[c], 3, NULL, NULL);
    uint64_t s = 42;
    for (int i = 0; i < 400; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t p;
        ob_stats_add_patient(d, (uint32_t)(i % 4), D(2015, 1, 1), OB_TIME_MAX, &p, NULL);
        if ((s >> 33) % 3 == 0)
            continue;
        ob_stats_add_diagnosis(d, p, "T90", D(2024, 1, 1), NULL);
        if ((s >> 40) % 7)
            ob_stats_add_observation(d, p, OB_STATS_OBS_SYSTOLIC, D(2025, 3, 1),
                                     110 + (int32_t)((s >> 20) % 70), NULL);
        if ((s >> 45) % 2)
            ob_stats_add_checkup(d, p, D(2025, 4, 1), NULL);
    }
    return d;
}

static ob_stats_report *report(const ob_stats_dataset *d, const ob_stats_sdc *s)
{
    ob_stats_query q = {.cluster = 3,
                        .from = D(2025, 1, 1),
                        .to = D(2026, 1, 1),
                        .report_date = D(2026, 1, 1),
                        .code = "T90"};
    ob_stats_report *r = NULL;
    assert_int_equal(ob_stats_report_build(d, &q, &r, NULL), OB_OK);
    assert_int_equal(ob_stats_report_protect(r, s, NULL, NULL), OB_OK);
    return r;
}

/* R-STAT-3: keyed, stable, key-dependent; anonymous labels are shuffled per release. */
static void test_labels(void **state)
{
    (void)state;
    ob_stats_dataset *d = dataset();
    ob_stats_sdc s = {.k = 5, .zeros_released = 1};
    ob_stats_report *r = report(d, &s);
    ob_stats_agreement a = {.mode = OB_STATS_LABEL_PSEUDONYM};
    memset(a.key, 7, sizeof a.key);
    char l1[4][OB_STATS_LABEL_MAX], l2[4][OB_STATS_LABEL_MAX];
    size_t o1[4], o2[4];
    assert_int_equal(ob_stats_labels(d, r, &a, l1, o1, NULL), OB_OK);
    assert_int_equal(ob_stats_labels(d, r, &a, l2, o2, NULL), OB_OK);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(l1[i], l2[i]); /* stable within the cluster */
        assert_int_equal(strlen(l1[i]), 8);
        assert_true(strncmp(l1[i], "K-", 2) == 0);
        assert_null(strstr(l1[i], d->clinic_provider[i]));
        assert_int_equal(o1[i], (size_t)i);
    }
    a.key[0] ^= 1; /* another cluster key: other pseudonyms */
    assert_int_equal(ob_stats_labels(d, r, &a, l2, o2, NULL), OB_OK);
    int same = 0;
    for (int i = 0; i < 4; i++)
        same += strcmp(l1[i], l2[i]) == 0;
    assert_int_equal(same, 0);
    /* known-answer: HMAC-SHA256 with key 32 x 0x07 of "012345", first 3 bytes */
    unsigned char key[32], mac[32];
    memset(key, 7, sizeof key);
    crypto_auth_hmacsha256(mac, (const unsigned char *)"012345", 6, key);
    char want[16];
    snprintf(want, sizeof want, "K-%02X%02X%02X", mac[0], mac[1], mac[2]);
    assert_string_equal(l1[0], want);

    a.mode = OB_STATS_LABEL_OPEN;
    assert_int_equal(ob_stats_labels(d, r, &a, l2, o2, NULL), OB_OK);
    assert_string_equal(l2[1], "067890");

    /* anonymous: labels P-01.. in display order, order random across releases */
    a.mode = OB_STATS_LABEL_ANONYMOUS;
    int moved = 0;
    for (int rep = 0; rep < 20; rep++) {
        assert_int_equal(ob_stats_labels(d, r, &a, l2, o2, NULL), OB_OK);
        int seen[4] = {0};
        for (int i = 0; i < 4; i++) {
            char w[8];
            snprintf(w, sizeof w, "P-%02d", i + 1);
            assert_string_equal(l2[o2[i]], w);
            seen[o2[i]]++;
        }
        for (int i = 0; i < 4; i++)
            assert_int_equal(seen[i], 1);
        moved += o2[0] != 0;
    }
    assert_true(moved > 0);
    ob_stats_report_free(r);
    ob_stats_dataset_free(d);
}

static void test_rounding(void **state)
{
    (void)state;
    assert_int_equal(ob_stats_round(12, 5), 10);
    assert_int_equal(ob_stats_round(13, 5), 15);
    assert_int_equal(ob_stats_round(15, 10), 20); /* halves go up */
    assert_int_equal(ob_stats_round(14, 10), 10);
    assert_int_equal(ob_stats_round(0, 5), 0);
    size_t gs[] = {2};
    ob_stats_table *t = ob_stats_table_new(2, 1, gs);
    t->value[0] = 3;
    t->value[1] = 12;
    t->value[2] = 0;
    t->value[3] = 27;
    ob_stats_table_fill_totals(t);
    int64_t out[16];
    ob_stats_sdc s = {.k = 5, .zeros_released = 1};
    ob_stats_round_table(t, &s, 5, out);
    assert_int_equal(out[0], -1);
    assert_int_equal(out[1], 10);
    assert_int_equal(out[2], 0);
    assert_int_equal(out[3], 25);
    s.zeros_released = 0;
    ob_stats_round_table(t, &s, 5, out);
    assert_int_equal(out[2], -1);
    ob_stats_table_free(t);
}

/* The sampler's distribution: P(0) = (1-a)/(1+a), P(|Z|=1) = 2a(1-a)/(1+a) with a = e^-eps.
 * 40000 draws at eps = 1/2 (a = 0.6065): P(0) = 0.2449, P(|Z|=1) = 0.2972; 5 sigma bounds. */
static void test_dlap_distribution(void **state)
{
    (void)state;
    int n = 40000, zero = 0, one = 0;
    long sum = 0;
    for (int i = 0; i < n; i++) {
        int64_t z = ob_stats_dlap(1, 2);
        zero += z == 0;
        one += z == 1 || z == -1;
        sum += z;
    }
    double p0 = (double)zero / n, p1 = (double)one / n, mean = (double)sum / n;
    print_message("dlap eps=0.5: P(0)=%.4f P(|z|=1)=%.4f mean=%.3f\n", p0, p1, mean);
    assert_true(p0 > 0.2449 - 0.0108 && p0 < 0.2449 + 0.0108);
    assert_true(p1 > 0.2972 - 0.0114 && p1 < 0.2972 + 0.0114);
    assert_true(mean > -0.1 && mean < 0.1); /* sd = 2.7, 5 sigma of the mean ~ 0.07 */
}

/* The budget refuses once spent, and charges only on success. */
static void test_dp_budget(void **state)
{
    (void)state;
    size_t gs[] = {2, 2};
    ob_stats_table *t = ob_stats_table_new(2, 2, gs);
    const int64_t cells[] = {10, 20, 15, 15, 5, 7, 12, 0};
    memcpy(t->value, cells, sizeof cells);
    ob_stats_table_fill_totals(t);
    ob_stats_budget b = {.total_milli = 1000};
    int64_t out[32];
    ob_err e = {0};
    assert_int_equal(ob_stats_dp_table(t, &b, 600, out, &e), OB_OK);
    assert_int_equal(b.spent_milli, 600);
    for (size_t f = 0; f < t->n_fig; f++)
        assert_true(out[f] >= 0);
    assert_int_equal(out[ob_stats_fig_row(t, 0)], out[0] + out[1]);
    assert_int_equal(ob_stats_dp_table(t, &b, 500, out, &e), OB_EDENIED);
    assert_non_null(strstr(e.msg, "budget"));
    assert_int_equal(b.spent_milli, 600);
    assert_int_equal(ob_stats_dp_table(t, &b, 400, out, &e), OB_OK);
    assert_int_equal(b.spent_milli, 1000);
    assert_int_equal(ob_stats_dp_table(t, &b, 1, out, &e), OB_EDENIED);
    ob_stats_table_free(t);
}

static char *render(const ob_stats_report *r, const ob_stats_sdc *s, enum ob_stats_format f,
                    char (*labels)[OB_STATS_LABEL_MAX], const size_t *order)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    assert_int_equal(
        ob_stats_render(m, f, r, s, (const char(*)[OB_STATS_LABEL_MAX])labels, order, NULL), OB_OK);
    fclose(m);
    return buf;
}

/* Every format hides suppressed figures and marks them; JSON parses; SVG hatches. */
static void test_render(void **state)
{
    (void)state;
    ob_stats_dataset *d = dataset();
    ob_stats_sdc s = {.k = 5, .zeros_released = 1};
    ob_stats_report *r = report(d, &s);
    ob_stats_agreement a = {.mode = OB_STATS_LABEL_PSEUDONYM};
    char labels[4][OB_STATS_LABEL_MAX];
    size_t order[4];
    assert_int_equal(ob_stats_labels(d, r, &a, labels, order, NULL), OB_OK);
    size_t n_supp = 0;
    for (size_t f = 0; f < r->table->n_fig; f++)
        n_supp += ob_stats_suppressed(r->table, f);
    assert_true(n_supp > 0); /* the fixture must exercise suppression */

    char *txt = render(r, &s, OB_STATS_TEXT, labels, order);
    assert_non_null(strstr(txt, labels[0]));
    assert_null(strstr(txt, "012345"));
    assert_non_null(strstr(txt, "sbp140-149"));
    free(txt);

    char *js = render(r, &s, OB_STATS_JSON, labels, order);
    json_error_t je;
    json_t *root = json_loads(js, 0, &je);
    assert_non_null(root);
    json_t *rows = json_object_get(root, "rows");
    assert_int_equal(json_array_size(rows), 4);
    size_t seen_supp = 0;
    for (size_t i = 0; i < 4; i++) {
        json_t *row = json_array_get(rows, i);
        json_t *cells = json_object_get(row, "cells");
        for (size_t c = 0; c < r->table->cols; c++) {
            size_t f = ob_stats_fig_cell(r->table, order[i], c);
            json_t *v = json_array_get(cells, c);
            if (ob_stats_suppressed(r->table, f)) {
                assert_true(json_is_string(v));
                seen_supp++;
            } else {
                assert_int_equal(json_integer_value(v), r->table->value[f]);
            }
        }
    }
    assert_true(seen_supp > 0);
    json_decref(root);
    free(js);

    char *csv = render(r, &s, OB_STATS_CSV, labels, order);
    assert_true(strncmp(csv, "clinic,listed,diagnosed,sbp<130", 31) == 0);
    free(csv);

    char *svg = render(r, &s, OB_STATS_SVG, labels, order);
    assert_true(strncmp(svg, "<svg", 4) == 0);
    assert_non_null(strstr(svg, "url(#hatch)"));
    assert_non_null(strstr(svg, "</svg>"));
    free(svg);
    ob_stats_report_free(r);
    ob_stats_dataset_free(d);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_dlap_distribution),
        cmocka_unit_test(test_dp_budget),
        cmocka_unit_test(test_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
