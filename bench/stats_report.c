/* stats_report.c - benchmark of the cluster report end to end (R-STAT-1, R-STAT-2):
 * 1,000,000 patients and 10,000,000 observations generated deterministically in memory,
 * then aggregation, secondary suppression with the exact insider/outsider audit, and
 * rendering, each timed. With `--csv DIR` it also writes the data and the unprotected
 * per-clinic counts as CSV so that bench/stats_peers/run.sh can time SQLite and DuckDB on
 * the same data and check that they compute the same numbers.
 * Usage: bench_stats_report [--patients N] [--obs N] [--csv DIR] [--reps N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stats/stats.h"

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)((rs >> 11) % n);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define CLINICS 29

static int write_csv(const ob_stats_dataset *d, const char *dir)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/clinics.csv", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fputs("id,provider,cluster\n", f);
    for (size_t i = 0; i < d->n_clinics; i++)
        fprintf(f, "%zu,%s,%u\n", i, d->clinic_provider[i], d->clinic_cluster[i]);
    fclose(f);
    snprintf(path, sizeof path, "%s/patients.csv", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fputs("id,clinic,list_from,list_to\n", f);
    for (size_t i = 0; i < d->n_patients; i++)
        fprintf(f, "%zu,%u,%lld,%lld\n", i, d->pat_clinic[i], (long long)d->pat_list_from[i],
                (long long)(d->pat_list_to[i] == OB_TIME_MAX ? 4102444800LL : d->pat_list_to[i]));
    fclose(f);
    snprintf(path, sizeof path, "%s/diagnoses.csv", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fputs("patient,code,time\n", f);
    for (size_t i = 0; i < d->n_diag; i++)
        fprintf(f, "%u,%s,%lld\n", d->diag_patient[i], d->diag_code[i], (long long)d->diag_time[i]);
    fclose(f);
    snprintf(path, sizeof path, "%s/observations.csv", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fputs("patient,kind,time,value\n", f);
    for (size_t i = 0; i < d->n_obs; i++)
        fprintf(f, "%u,%u,%lld,%d\n", d->obs_patient[i], d->obs_kind[i], (long long)d->obs_time[i],
                d->obs_value[i]);
    fclose(f);
    snprintf(path, sizeof path, "%s/checkups.csv", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fputs("patient,time\n", f);
    for (size_t i = 0; i < d->n_chk; i++)
        fprintf(f, "%u,%lld\n", d->chk_patient[i], (long long)d->chk_time[i]);
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n_pat = 1000000, n_obs = 10000000;
    int reps = 5;
    const char *csv = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--patients"))
            n_pat = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--obs"))
            n_obs = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--csv"))
            csv = argv[i + 1];
        else if (!strcmp(argv[i], "--reps"))
            reps = (int)strtol(argv[i + 1], NULL, 10);
    }
    ob_err e = {0};
    double t0 = now();
    ob_stats_dataset *d = ob_stats_dataset_new();
    size_t n_diag_est = n_pat / 2, n_chk_est = n_pat / 2;
    if (!d || ob_stats_dataset_reserve(d, CLINICS + 1, n_pat, n_diag_est, n_obs, n_chk_est, &e)) {
        fprintf(stderr, "bench: %s\n", e.msg);
        return 1;
    }
    /* One cluster of 29 clinics holding every patient; three of them small (80 listed) so
     * that small cells, suppression and the audit have work to do. One other clinic in
     * another cluster, so the cluster filter is real. */
    char prov[16];
    for (int c = 0; c < CLINICS; c++) {
        snprintf(prov, sizeof prov, "%06d", 100000 + c * 37);
        ob_stats_add_clinic(d, prov, 1, NULL, &e);
    }
    ob_stats_add_clinic(d, "999999", 2, NULL, &e);
    const ob_time y2015 = ob_time_from_ymd(2015, 1, 1), y2019 = ob_time_from_ymd(2019, 1, 1);
    const int64_t span = ob_time_from_ymd(2026, 6, 1) - y2019;
    static const char *codes[] = {"T90", "T90.1", "E11.9", "K86", "K87", "T89", "R96", "t90.2"};
    for (size_t p = 0; p < n_pat; p++) {
        uint32_t clinic = p % 1000 < 3 ? (uint32_t)(p % 1000) : 3 + rnd(CLINICS - 3);
        if (p % 97 == 0)
            clinic = CLINICS; /* the other cluster */
        if (p % 1000 < 3 && p / 1000 >= 80)
            clinic = 3 + rnd(CLINICS - 3);
        ob_time from = y2015 + (int64_t)rnd(11 * 365) * 86400, to = OB_TIME_MAX;
        if (rnd(10) == 0)
            to = from + (int64_t)(1 + rnd(3 * 365)) * 86400; /* moved away */
        ob_stats_add_patient(d, clinic, from, to, NULL, &e);
        int nd = rnd(10) < 4 ? 1 + (int)rnd(2) : 0;
        for (int k = 0; k < nd; k++)
            ob_stats_add_diagnosis(d, (uint32_t)p, codes[rnd(8)],
                                   y2019 + (int64_t)rnd((uint32_t)(span / 60)) * 60, &e);
        if (rnd(3) == 0)
            ob_stats_add_checkup(d, (uint32_t)p, y2019 + (int64_t)rnd((uint32_t)(span / 60)) * 60,
                                 &e);
    }
    for (size_t i = 0; i < n_obs; i++) {
        uint32_t p = rnd((uint32_t)n_pat);
        uint8_t kind = rnd(10) < 7 ? OB_STATS_OBS_SYSTOLIC : OB_STATS_OBS_DIASTOLIC;
        ob_stats_add_observation(
            d, p, kind, y2019 + (int64_t)rnd((uint32_t)(span / 60)) * 60,
            kind == OB_STATS_OBS_SYSTOLIC ? 100 + (int32_t)rnd(95) : 60 + (int32_t)rnd(50), &e);
    }
    double t_gen = now() - t0;
    printf("data: %zu patients, %zu diagnoses, %zu observations, %zu check-ups, %zu clinics "
           "(generated in %.2f s)\n",
           d->n_patients, d->n_diag, d->n_obs, d->n_chk, d->n_clinics, t_gen);

    ob_stats_query q = {.cluster = 1,
                        .from = ob_time_from_ymd(2025, 1, 1),
                        .to = ob_time_from_ymd(2026, 1, 1),
                        .report_date = ob_time_from_ymd(2026, 1, 1),
                        .code = "T90"};
    ob_stats_sdc s = {.k = 5, .zeros_released = 1};
    double best_agg = 1e9, best_prot = 1e9, best_total = 1e9;
    ob_stats_report *r = NULL;
    size_t n_supp = 0, n_find = 0;
    for (int rep = 0; rep < reps; rep++) {
        ob_stats_report_free(r);
        double a0 = now();
        if (ob_stats_report_build(d, &q, &r, &e) != OB_OK) {
            fprintf(stderr, "bench: %s\n", e.msg);
            return 1;
        }
        double a1 = now();
        ob_stats_audit audit;
        if (ob_stats_report_protect(r, &s, &audit, &e) != OB_OK) {
            fprintf(stderr, "bench: %s\n", e.msg);
            return 1;
        }
        double a2 = now();
        n_find = audit.n;
        ob_stats_audit_free(&audit);
        if (a1 - a0 < best_agg)
            best_agg = a1 - a0;
        if (a2 - a1 < best_prot)
            best_prot = a2 - a1;
        if (a2 - a0 < best_total)
            best_total = a2 - a0;
    }
    n_supp = 0;
    for (size_t f = 0; f < r->table->n_fig; f++)
        n_supp += ob_stats_suppressed(r->table, f);
    printf("cluster report (T90, 2025, 29 clinics, %lld listed, %lld diagnosed), best of %d:\n",
           (long long)r->listed_all, (long long)r->table->value[ob_stats_fig_grand(r->table)],
           reps);
    printf("  aggregation            %8.1f ms\n", best_agg * 1e3);
    printf("  suppression + audit    %8.1f ms  (%zu of %zu figures hidden, %zu audited ranges)\n",
           best_prot * 1e3, n_supp, r->table->n_fig, n_find);
    printf("  end to end             %8.1f ms\n", best_total * 1e3);
    ob_stats_agreement ag = {.mode = OB_STATS_LABEL_PSEUDONYM};
    char labels[CLINICS][OB_STATS_LABEL_MAX];
    size_t order[CLINICS];
    ob_stats_labels(d, r, &ag, labels, order, &e);
    ob_stats_render(stdout, OB_STATS_TEXT, r, &s, (const char(*)[OB_STATS_LABEL_MAX])labels, order,
                    &e);
    if (csv) {
        if (write_csv(d, csv) != 0) {
            fprintf(stderr, "bench: cannot write csv into %s\n", csv);
            return 1;
        }
        /* unprotected counts, to check the peers compute the same thing */
        char path[4096];
        snprintf(path, sizeof path, "%s/expected.csv", csv);
        FILE *f = fopen(path, "w");
        if (!f)
            return 1;
        const ob_stats_table *t = r->table;
        for (size_t i = 0; i < r->n_rows; i++) {
            fprintf(f, "%u,%lld,%lld", r->clinic[i], (long long)r->listed[i],
                    (long long)t->value[ob_stats_fig_row(t, i)]);
            for (size_t c = 0; c <= (size_t)r->n_bands + 1; c++)
                fprintf(f, ",%lld", (long long)t->value[ob_stats_fig_cell(t, i, c)]);
            fputc('\n', f);
        }
        fclose(f);
        printf("csv written to %s\n", csv);
    }
    printf("RESULT c_end_to_end_ms=%.1f c_aggregation_ms=%.1f\n", best_total * 1e3, best_agg * 1e3);
    ob_stats_report_free(r);
    ob_stats_dataset_free(d);
    return 0;
}
