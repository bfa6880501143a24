/* test_similar.c - decision support's aggregated figures (R-ACC-11, R-STAT-2; seed 001 case
 * 16). Every row builds a population and checks what may be shown: nothing under five
 * patients, every count rounded to 5, no group of fewer than five, quantiles only over
 * five values, the same answer whatever the order of the rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stats/similar.h"

static const char *const k86[] = {"K86"};
static const char *const k86_e11[] = {"K86", "E11.9"};

static const struct {
    const char *why;
    int n, age, sbp_every, n_k86, n_both; /* n_k86 with K86 only, n_both K86 and E11.9 */
    unsigned k;
    /* expected */
    bool shown;
    uint32_t population, band, k86_shown, e11_shown;
    bool sbp_shown;
} rows[] = {
    {"R-ACC-11: four similar patients show nothing", 4, 55, 1, 0, 0, 5, 0, 0, 0, 0, 0, 0},
    {"R-ACC-11: five show their count and band", 5, 55, 1, 0, 0, 5, 1, 5, 5, 0, 0, 1},
    {"R-STAT-2: the threshold is never below five", 4, 55, 1, 0, 0, 3, 0, 0, 0, 0, 0, 0},
    {"R-STAT-2: seven are shown as five (rounded)", 7, 55, 1, 0, 0, 5, 1, 5, 5, 0, 0, 1},
    {"R-STAT-2: eight are shown as ten (rounded)", 8, 55, 1, 0, 0, 5, 1, 10, 10, 0, 0, 1},
    {"R-ACC-11: four with another diagnosis are not shown", 9, 55, 1, 4, 0, 5, 1, 10, 10, 0, 0, 1},
    {"R-ACC-11: five with another diagnosis are", 9, 55, 1, 3, 2, 5, 1, 10, 10, 5, 0, 1},
    {"R-ACC-11: quantiles need five values", 9, 55, 3, 0, 0, 5, 1, 10, 10, 0, 0, 0},
};

static void test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_similar_row r[32];
        memset(r, 0, sizeof r);
        for (int j = 0; j < rows[i].n; j++) {
            r[j].age = rows[i].age + j % 3;
            r[j].sbp = j % rows[i].sbp_every == 0 ? 120 + 3 * j : 0;
            if (j < rows[i].n_k86)
                r[j].codes = k86, r[j].ncodes = 1;
            else if (j < rows[i].n_k86 + rows[i].n_both)
                r[j].codes = k86_e11, r[j].ncodes = 2;
        }
        ob_similar_out o, back;
        ob_similar_aggregate(r, (size_t)rows[i].n, rows[i].k, &o);
        if (o.shown != rows[i].shown || o.population != rows[i].population)
            fail_msg("row %zu (%s): shown %d population %u", i, rows[i].why, o.shown, o.population);
        if (!o.shown) {
            assert_int_equal(o.nother, 0);
            assert_false(o.sbp.shown);
            continue;
        }
        assert_true(o.band_shown[5]);
        assert_int_equal(o.band[5], rows[i].band);
        for (int b = 0; b < OB_SIMILAR_BANDS; b++)
            if (b != 5)
                assert_false(o.band_shown[b]);
        uint32_t got_k86 = 0, got_e11 = 0;
        for (size_t x = 0; x < o.nother; x++) {
            if (strcmp(o.other[x].code, "K86") == 0)
                got_k86 = o.other[x].patients;
            if (strcmp(o.other[x].code, "E11.9") == 0)
                got_e11 = o.other[x].patients;
        }
        if (got_k86 != rows[i].k86_shown || got_e11 != rows[i].e11_shown)
            fail_msg("row %zu (%s): K86 %u E11.9 %u", i, rows[i].why, got_k86, got_e11);
        assert_int_equal(o.sbp.shown, rows[i].sbp_shown);
        if (o.sbp.shown) /* rounded to 5 units, in order */
            assert_true(o.sbp.p25 % 5 == 0 && o.sbp.p25 <= o.sbp.p50 && o.sbp.p50 <= o.sbp.p75);
        /* the same answer in reverse order */
        for (int j = 0; j < rows[i].n / 2; j++) {
            ob_similar_row t = r[j];
            r[j] = r[rows[i].n - 1 - j];
            r[rows[i].n - 1 - j] = t;
        }
        ob_similar_aggregate(r, (size_t)rows[i].n, rows[i].k, &back);
        assert_memory_equal(&o, &back, sizeof o);
    }
}

static void test_round(void **state)
{
    (void)state;
    static const uint32_t in[] = {0, 1, 2, 3, 5, 7, 8, 12, 13};
    static const uint32_t want[] = {0, 0, 0, 5, 5, 5, 10, 10, 15};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        assert_int_equal(ob_similar_round5(in[i]), want[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rows), cmocka_unit_test(test_round)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
