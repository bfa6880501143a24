/* report.c - cluster quality report aggregation (R-STAT-1, R-STAT-4).
 *
 * Per clinic of the cluster: patients listed in the period, patients with the diagnosis, the
 * systolic band of their latest measurement in the period, and whether they had an annual
 * check-up in the period. Every pass is linear and sort-free: per-patient arrays hold the row,
 * the diagnosis flag and the latest measurement, so 10 million observations are one scan.
 * The contributing patient ids of every figure are kept (sorted, because patients are visited
 * in id order) for differencing control; they never leave the process. */
#include "stats/stats.h"

#include <string.h>

#include "core/alloc.h"

static const int32_t default_edges[] = {130, 140, 150, 160};

/* Five years before the report date, same calendar day; 29 February maps to 1 March so the
 * window never exceeds five years (R-STAT-4). */
static ob_time five_years_before(ob_time t)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int y, m, d;
    ob_civil_from_days(days, &y, &m, &d);
    y -= 5;
    if (m == 2 && d == 29 && !ob_date_valid(y, 2, 29)) {
        m = 3;
        d = 1;
    }
    return ob_time_from_ymd(y, m, d) + (t - days * 86400);
}

void ob_stats_report_free(ob_stats_report *r)
{
    if (!r)
        return;
    ob_free(r->clinic);
    ob_free(r->listed);
    ob_stats_table_free(r->table);
    ob_free(r->set_off);
    ob_free(r->set_ids);
    ob_free(r);
}

static int band_of(const ob_stats_report *r, int32_t v)
{
    int b = 0;
    while (b < r->n_bands - 1 && v >= r->edge[b])
        b++;
    return b;
}

ob_status ob_stats_report_build(const ob_stats_dataset *d, const ob_stats_query *q,
                                ob_stats_report **out, ob_err *e)
{
    *out = NULL;
    if (!q->code || !q->code[0])
        return ob_err_set(e, OB_EINVAL, "missing diagnosis code");
    if (q->to <= q->from)
        return ob_err_set(e, OB_EINVAL, "invalid period: end not after start");
    if (q->n_edges < 0 || q->n_edges > OB_STATS_MAX_BANDS - 1)
        return ob_err_set(e, OB_EINVAL, "invalid bands: %d edges, at most %d", q->n_edges,
                          OB_STATS_MAX_BANDS - 1);
    for (int i = 1; i < q->n_edges; i++)
        if (q->edge[i] <= q->edge[i - 1])
            return ob_err_set(e, OB_EINVAL, "invalid bands: edges must increase");
    ob_time cutoff = five_years_before(q->report_date);
    ob_time from = q->from > cutoff ? q->from : cutoff, to = q->to;
    if (to > q->report_date + 86400)
        to = q->report_date + 86400; /* nothing after the report date */
    if (to <= from)
        return ob_err_set(e, OB_EINVAL,
                          "invalid period: it lies entirely outside the five-year window "
                          "(R-STAT-4)");

    ob_status st = OB_ENOMEM;
    ob_stats_report *r = ob_calloc(1, sizeof *r);
    int32_t *row_of_clinic = ob_malloc((d->n_clinics + 1) * sizeof(int32_t));
    int32_t *prow = ob_malloc((d->n_patients + 1) * sizeof(int32_t)); /* -1: not counted */
    uint8_t *flag = ob_calloc(d->n_patients + 1, 1);                  /* 1 diagnosed, 2 check-up */
    ob_time *latest_t = ob_malloc((d->n_patients + 1) * sizeof(ob_time));
    int32_t *latest_v = ob_malloc((d->n_patients + 1) * sizeof(int32_t));
    if (!r || !row_of_clinic || !prow || !flag || !latest_t || !latest_v)
        goto fail;

    r->n_bands = q->n_edges ? q->n_edges + 1 : 5;
    if (q->n_edges)
        memcpy(r->edge, q->edge, (size_t)q->n_edges * sizeof(int32_t));
    else
        memcpy(r->edge, default_edges, sizeof default_edges);

    size_t rows = 0;
    for (size_t c = 0; c < d->n_clinics; c++)
        row_of_clinic[c] = d->clinic_cluster[c] == q->cluster ? (int32_t)rows++ : -1;
    if (rows == 0) {
        st = ob_err_set(e, OB_ENOTFOUND, "unknown cluster %u: no clinic belongs to it", q->cluster);
        goto fail;
    }
    r->n_rows = rows;
    r->clinic = ob_malloc(rows * sizeof(uint32_t));
    r->listed = ob_calloc(rows, sizeof(int64_t));
    size_t groups[2] = {(size_t)r->n_bands + 1, 2};
    r->table = ob_stats_table_new(rows, 2, groups);
    if (!r->clinic || !r->listed || !r->table)
        goto fail;
    r->table->row_cap = ob_calloc(rows, sizeof(int64_t));
    if (!r->table->row_cap)
        goto fail;
    for (size_t c = 0; c < d->n_clinics; c++)
        if (row_of_clinic[c] >= 0)
            r->clinic[row_of_clinic[c]] = (uint32_t)c;

    /* Pass 1: patients listed with a cluster clinic at some time in the period (former
     * patients included, R-STAT-5). */
    for (size_t p = 0; p < d->n_patients; p++) {
        uint32_t c = d->pat_clinic[p];
        int32_t row = c == OB_STATS_NO_CLINIC ? -1 : row_of_clinic[c];
        if (row >= 0 && (d->pat_list_from[p] >= to || d->pat_list_to[p] <= from))
            row = -1;
        prow[p] = row;
        latest_t[p] = OB_TIME_MIN;
        if (row >= 0)
            r->listed[row]++;
    }
    /* Pass 2: the diagnosis, recorded within the five-year window and before the period
     * ends (a chronic diagnosis made last year still counts this year). */
    for (size_t i = 0; i < d->n_diag; i++) {
        uint32_t p = d->diag_patient[i];
        if (prow[p] < 0 || (flag[p] & 1) || d->diag_time[i] < cutoff || d->diag_time[i] >= to)
            continue;
        if (ob_stats_code_matches(d->diag_code[i], q->code))
            flag[p] |= 1;
    }
    /* Pass 3: latest systolic measurement in the period; equal times keep the higher value
     * so the result does not depend on input order. */
    for (size_t i = 0; i < d->n_obs; i++) {
        uint32_t p = d->obs_patient[i];
        ob_time t = d->obs_time[i];
        if (d->obs_kind[i] != OB_STATS_OBS_SYSTOLIC || t < from || t >= to || !(flag[p] & 1))
            continue;
        if (t > latest_t[p] || (t == latest_t[p] && d->obs_value[i] > latest_v[p])) {
            latest_t[p] = t;
            latest_v[p] = d->obs_value[i];
        }
    }
    /* Pass 4: check-ups in the period. */
    for (size_t i = 0; i < d->n_chk; i++) {
        uint32_t p = d->chk_patient[i];
        ob_time t = d->chk_time[i];
        if ((flag[p] & 1) && t >= from && t < to)
            flag[p] |= 2;
    }

    /* Pass 5 (twice): count, then fill the per-figure patient sets in CSR form. A patient
     * touches 6 figures: band cell, check-up cell, row total, two column totals, grand. */
    ob_stats_table *t = r->table;
    r->set_off = ob_calloc(t->n_fig + 1, sizeof(size_t));
    if (!r->set_off)
        goto fail;
    size_t nb = (size_t)r->n_bands + 1;
    for (int pass = 0; pass < 2; pass++) {
        size_t *cnt = r->set_off + 1; /* pass 0: counts; pass 1: fill cursors */
        for (size_t p = 0; p < d->n_patients; p++) {
            if (prow[p] < 0 || !(flag[p] & 1))
                continue;
            size_t row = (size_t)prow[p];
            size_t bc = latest_t[p] == OB_TIME_MIN ? nb - 1 : (size_t)band_of(r, latest_v[p]);
            size_t cc = nb + ((flag[p] & 2) ? 0 : 1);
            size_t figs[6] = {ob_stats_fig_cell(t, row, bc), ob_stats_fig_cell(t, row, cc),
                              ob_stats_fig_row(t, row),      ob_stats_fig_col(t, bc),
                              ob_stats_fig_col(t, cc),       ob_stats_fig_grand(t)};
            for (int j = 0; j < 6; j++) {
                if (pass == 0)
                    cnt[figs[j]]++;
                else
                    r->set_ids[r->set_off[figs[j]]++] = (uint32_t)p;
            }
        }
        if (pass == 0) {
            for (size_t f = 0; f < t->n_fig; f++) {
                t->value[f] = (int64_t)r->set_off[f + 1];
                r->set_off[f + 1] += r->set_off[f];
            }
            r->set_ids = ob_malloc((r->set_off[t->n_fig] + 1) * sizeof(uint32_t));
            if (!r->set_ids)
                goto fail;
        } else {
            /* the fill advanced each offset to the next figure's start: shift back */
            memmove(r->set_off + 1, r->set_off, t->n_fig * sizeof(size_t));
            r->set_off[0] = 0;
        }
    }
    for (size_t i = 0; i < rows; i++) {
        t->row_cap[i] = r->listed[i];
        r->listed_all += r->listed[i];
    }
    ob_free(row_of_clinic);
    ob_free(prow);
    ob_free(flag);
    ob_free(latest_t);
    ob_free(latest_v);
    *out = r;
    return OB_OK;
fail:
    if (st == OB_ENOMEM)
        ob_err_set(e, OB_ENOMEM, "out of memory building the cluster report");
    ob_free(row_of_clinic);
    ob_free(prow);
    ob_free(flag);
    ob_free(latest_t);
    ob_free(latest_v);
    ob_stats_report_free(r);
    return st;
}

ob_status ob_stats_report_protect(ob_stats_report *r, const ob_stats_sdc *s, ob_stats_audit *audit,
                                  ob_err *e)
{
    /* Listed counts are released as they are and bound the diagnosed; a clinic with fewer
     * than k listed patients cannot take part at all. */
    for (size_t i = 0; i < r->n_rows; i++)
        if (r->listed[i] < s->k)
            return ob_err_set(e, OB_EDENIED,
                              "release refused: a clinic of the cluster lists fewer than %d "
                              "patients in the period (R-STAT-2)",
                              s->k);
    return ob_stats_protect(r->table, s, audit, e);
}
