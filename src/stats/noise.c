/* noise.c - alternatives to suppression for planning statistics: deterministic rounding and
 * differential privacy with exact two-sided geometric (discrete Laplace) noise.
 *
 * The sampler is the one of Canonne, Kamath and Steinke ("The Discrete Gaussian for
 * Differential Privacy", 2020, algorithms 1 and 2): Bernoulli(exp(-gamma)) for rational gamma
 * from uniform integer draws only, so no floating-point rounding can leak through the noise. */
#include "stats/stats.h"

#include <sodium.h>

int64_t ob_stats_round(int64_t v, int64_t base)
{
    if (base <= 1)
        return v;
    int64_t q = v / base, r = v % base;
    if (r < 0) {
        q--;
        r += base;
    }
    return (2 * r >= base ? q + 1 : q) * base; /* halves go up */
}

void ob_stats_round_table(const ob_stats_table *t, const ob_stats_sdc *s, int64_t base,
                          int64_t *out)
{
    for (size_t f = 0; f < t->n_fig; f++) {
        int64_t v = t->value[f];
        int small = v < s->k && (v > 0 || !s->zeros_released);
        out[f] = small ? -1 : ob_stats_round(v, base);
    }
}

/* Bernoulli(num/den), 0 <= num <= den. */
static int bern(uint32_t num, uint32_t den)
{
    return randombytes_uniform(den) < num;
}

/* Bernoulli(exp(-num/den)) for num <= den: CKS algorithm 1, first branch. The draw with
 * probability num/(den*k) is a product of two independent draws so nothing overflows. */
static int bern_exp_le1(uint32_t num, uint32_t den)
{
    uint32_t k = 1;
    while (bern(num, den) && bern(1, k))
        k++;
    return k % 2;
}

static int bern_exp(uint64_t num, uint32_t den)
{
    while (num > den) {
        if (!bern_exp_le1(1, 1))
            return 0;
        num -= den;
    }
    return bern_exp_le1((uint32_t)num, den);
}

int64_t ob_stats_dlap(uint32_t eps_num, uint32_t eps_den)
{
    /* P(Z = z) proportional to exp(-|z| s / t) with s/t = eps (CKS algorithm 2). */
    uint32_t s = eps_num, t = eps_den;
    for (;;) {
        uint32_t u = randombytes_uniform(t);
        if (!bern_exp(u, t))
            continue;
        uint64_t v = 0;
        while (bern_exp_le1(1, 1))
            v++;
        uint64_t x = u + (uint64_t)t * v;
        int64_t y = (int64_t)(x / s);
        int neg = (int)randombytes_uniform(2);
        if (neg && y == 0)
            continue;
        return neg ? -y : y;
    }
}

ob_status ob_stats_dp_table(const ob_stats_table *t, ob_stats_budget *b, uint32_t eps_milli,
                            int64_t *out, ob_err *e)
{
    if (eps_milli == 0)
        return ob_err_set(e, OB_EINVAL, "invalid epsilon: must be positive");
    if (b->spent_milli > b->total_milli || eps_milli > b->total_milli - b->spent_milli)
        return ob_err_set(e, OB_EDENIED,
                          "release refused: privacy budget spent (%llu of %llu milli-epsilon "
                          "used, %u asked)",
                          (unsigned long long)b->spent_milli, (unsigned long long)b->total_milli,
                          eps_milli);
    /* One patient is in exactly one cell per column group, so eps / ngroups per cell adds up
     * to eps for the release; totals are post-processing of the noisy cells. */
    uint32_t den = 1000u * (uint32_t)t->ngroups;
    for (size_t f = t->rows * t->cols; f < t->n_fig; f++)
        out[f] = 0;
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c < t->cols; c++) {
            size_t f = ob_stats_fig_cell(t, r, c);
            int64_t v = t->value[f] + ob_stats_dlap(eps_milli, den);
            out[f] = v < 0 ? 0 : v;
            if (c < t->group_start[1]) {
                out[ob_stats_fig_row(t, r)] += out[f];
                out[ob_stats_fig_grand(t)] += out[f];
            }
            out[ob_stats_fig_col(t, c)] += out[f];
        }
    b->spent_milli += eps_milli;
    return OB_OK;
}
