/* stats_linked.c - cost of the linked auditor (src/stats/linked.c, R-STAT-8): one release
 * of a 30-clinic cluster audited and protected jointly with H earlier releases (monthly
 * refreshes of a twelve-month period, every fifth with other bands, every seventh for the
 * sub-code T90.1), for H = 0, 10, 25, 50. Earlier releases get their published pattern from
 * the single-table protection; then the timed release is protected with all of them: primary
 * and LP-chosen secondary suppression, then the integer audit for the outsider, every member
 * clinic and every pair of clinics. Data generated deterministically in memory.
 * The history is published as the service publishes it: oldest first, each release protected
 * jointly with the ones before it (the time this takes is printed too: it is what the
 * cluster paid, release by release); --single-history gives each its own label-blind
 * single-table pattern instead, as the first measurements did.
 * Each release of the history is timed too ("history: release i with k earlier"): the
 * growth curve, one release per number of earlier ones, from one run.
 * Usage: bench_stats_linked [--patients-per-clinic N] [--history H | --at H]
 * [--single-history] (--at H: time only the release with H earlier ones)
 * bench/stats_linked.sh compares two builds of the auditor, alternating. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "stats/stats.h"

#define CLINICS 30

static uint64_t rs = 0x2545F4914F6CDD1Dull;
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

static ob_time month(int m) /* month m after 2022-01-01 */
{
    return ob_time_from_ymd(2022 + m / 12, 1 + m % 12, 1);
}

/* Release i of the series: period [month i, month i + 12), bands and code vary. */
static ob_stats_report *build(const ob_stats_dataset *d, int i, ob_err *e)
{
    ob_stats_query q;
    memset(&q, 0, sizeof q);
    q.cluster = 1;
    q.from = month(i);
    q.to = month(i + 12);
    q.report_date = q.to;
    q.code = i % 7 == 3 ? "T90.1" : "T90";
    if (i % 5 == 2) {
        q.n_edges = 2;
        q.edge[0] = 135;
        q.edge[1] = 155;
    }
    ob_stats_report *r = NULL;
    if (ob_stats_report_build(d, &q, &r, e))
        return NULL;
    return r;
}

int main(int argc, char **argv)
{
    size_t per = 150;
    int hmax = 50, at = -1, single = 0, n_refused = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : "-1";
        if (!strcmp(argv[i], "--single-history")) {
            single = 1;
            continue;
        }
        if (!strcmp(argv[i], "--patients-per-clinic"))
            per = strtoull(v, NULL, 10);
        else if (!strcmp(argv[i], "--history"))
            hmax = (int)strtol(v, NULL, 10);
        else if (!strcmp(argv[i], "--at"))
            at = hmax = (int)strtol(v, NULL, 10);
        else
            hmax = -1; /* unknown: usage below */
        i++;
    }
    if (hmax < 0 || hmax > 60) {
        fprintf(stderr, "usage: bench_stats_linked [--patients-per-clinic N] [--history H | "
                        "--at H] [--single-history] (H: 0..60)\n");
        return 2;
    }
    ob_err e = {0};
    ob_stats_dataset *d = ob_stats_dataset_new();
    char prov[16];
    for (int c = 0; c < CLINICS; c++) {
        snprintf(prov, sizeof prov, "%06d", 100000 + c * 37);
        ob_stats_add_clinic(d, prov, 1, NULL, &e);
    }
    /* five small clinics (a fifth of the others' size): small cells to protect */
    size_t pid = 0;
    for (int c = 0; c < CLINICS; c++) {
        size_t n = c < 5 ? per / 5 + 10 : per;
        for (size_t k = 0; k < n; k++, pid++) {
            ob_stats_add_patient(d, (uint32_t)c, ob_time_from_ymd(2015, 1, 1), OB_TIME_MAX, NULL,
                                 &e);
            if (rnd(10) < 3)
                ob_stats_add_diagnosis(d, (uint32_t)pid, rnd(4) == 0 ? "T90.1" : "T90",
                                       ob_time_from_ymd(2021, 1, 1), &e);
            for (int m = 0; m < 8; m++)
                if (rnd(4) == 0)
                    ob_stats_add_observation(d, (uint32_t)pid, OB_STATS_OBS_SYSTOLIC,
                                             month(m * 9) + (ob_time)rnd(200) * 86400,
                                             115 + (int32_t)rnd(60), &e);
            if (rnd(2) == 0)
                ob_stats_add_checkup(d, (uint32_t)pid, month((int)rnd(70)), &e);
        }
    }
    uint32_t owner[CLINICS];
    for (int c = 0; c < CLINICS; c++)
        owner[c] = (uint32_t)c;
    ob_stats_sdc s = {5, 1};
    ob_stats_report *rep[64] = {0};
    ob_stats_link_rel rel[64];
    int64_t llo[64][CLINICS], lhi[64][CLINICS];
    /* the series, each protected on its own as it was published */
    for (int i = 0; i <= hmax; i++) {
        if (!(rep[i] = build(d, i, &e))) {
            fprintf(stderr, "bench: %s\n", e.msg);
            return 1;
        }
        for (size_t r = 0; r < rep[i]->n_rows; r++) {
            int64_t p = ob_stats_round(rep[i]->listed[r], 5);
            llo[i][r] = p - 2;
            lhi[i][r] = p + 2;
        }
    }
    printf("cluster: %d clinics, %zu patients, %zu diagnoses; a release has %zu figures\n", CLINICS,
           d->n_patients, d->n_diag, rep[0]->table->n_fig);
    /* earlier releases, published oldest first as the service publishes them: each protected
     * jointly with the ones before it (--single-history: each on its own, label-blind, as
     * the first measurements did; such a history leaks within itself) */
    uint8_t *pubs[64] = {0};
    double tgen = now();
    for (int i = hmax; i >= 1; i--) {
        ob_stats_table *u = rep[i]->table;
        double t1 = now();
        pubs[i] = ob_malloc(u->n_fig);
        for (size_t f = 0; f < u->n_fig; f++)
            u->state[f] = OB_STATS_RELEASED;
        ob_status st = OB_OK;
        uint64_t work = 0;
        if (single) {
            ob_stats_report_protect(rep[i], &s, NULL, &e);
        } else {
            for (int j = i; j <= hmax; j++)
                rel[j - i] = (ob_stats_link_rel){rep[j], owner,    pubs[j],       NULL, llo[j],
                                                 lhi[j], month(j), month(j + 12), 0};
            rel[0].pub = NULL;
            ob_stats_link L = {(size_t)(hmax - i + 1), rel, 0, 2, 1, 0, 0};
            ob_stats_audit ha = {0};
            st = ob_stats_link_protect(&L, &s, &ha, &e);
            work = ha.work;
            ob_stats_audit_free(&ha);
        }
        /* a refused release publishes nothing */
        for (size_t f = 0; f < u->n_fig; f++)
            pubs[i][f] = st ? OB_STATS_PUB_HIDDEN : ob_stats_pub_of(u, &s, f, 0);
        n_refused += st != OB_OK;
        size_t nh = 0;
        for (size_t f = 0; f < u->n_fig; f++)
            nh += pubs[i][f] != OB_STATS_PUB_EXACT;
        printf("history: release %d with %d earlier: %s%zu of %zu hidden, %.2f s, work %llu\n", i,
               hmax - i, st ? "refused, " : "", nh, u->n_fig, now() - t1, (unsigned long long)work);
    }
    printf("history: %d earlier releases %s in %.1f s (%d refused)\n", hmax,
           single ? "each protected on its own" : "each protected with the ones before it",
           now() - tgen, n_refused);
    int hs[] = {0, 10, 25, 50};
    if (at >= 0)
        hs[0] = at, hs[1] = hs[2] = hs[3] = 61;
    printf("| earlier releases | hidden in the release | integer ranges audited | time |\n"
           "|---|---|---|---|\n");
    for (size_t k = 0; k < sizeof hs / sizeof *hs; k++) {
        int h = hs[k];
        if (h > hmax)
            break;
        ob_stats_table *t = rep[0]->table;
        for (size_t f = 0; f < t->n_fig; f++)
            t->state[f] = OB_STATS_RELEASED;
        rel[0] =
            (ob_stats_link_rel){rep[0], owner, NULL, NULL, llo[0], lhi[0], month(0), month(12), 0};
        for (int i = 1; i <= h; i++)
            rel[i] = (ob_stats_link_rel){rep[i], owner,    NULL,          NULL, llo[i],
                                         lhi[i], month(i), month(i + 12), 0};
        for (int i = 1; i <= h; i++)
            rel[i].pub = pubs[i];
        const char *wl = getenv("OB_WORK_LIMIT");
        ob_stats_link L = {(size_t)h + 1,
                           rel,
                           0,
                           2,
                           1,
                           getenv("OB_EXACT") != NULL,
                           wl ? strtoull(wl, NULL, 10) : 0};
        ob_stats_audit a = {0};
        double t0 = now();
        ob_status st = ob_stats_link_protect(&L, &s, &a, &e);
        double dt = now() - t0;
        size_t hidden = 0;
        for (size_t f = 0; f < t->n_fig; f++)
            hidden += ob_stats_suppressed(t, f);
        if (st)
            printf("| %d | refused (%s) | - | %.2f s |\n", h, e.msg, dt);
        else
            printf("| %d | %zu of %zu | %zu | %.2f s (work %llu) |\n", h, hidden, t->n_fig, a.n, dt,
                   (unsigned long long)a.work);
        ob_stats_audit_free(&a);
    }
    for (int i = 1; i <= hmax; i++)
        ob_free(pubs[i]);
    for (int i = 0; i <= hmax; i++)
        ob_stats_report_free(rep[i]);
    ob_stats_dataset_free(d);
    return 0;
}
