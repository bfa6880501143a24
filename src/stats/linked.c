/* linked.c - the linked-release auditor and solver-chosen secondary suppression
 * (R-STAT-2, R-STAT-8; docs/statistics.md "The linked auditor").
 *
 * A reader who keeps every release sees linear facts about one population: each figure of
 * each release is the number of patients in its set, and its label says what is known about
 * that number (a figure: exact; rounded: +-2; `<k`: 1..k-1; `x`: 0 or >= k; listed counts
 * bound the diagnosed). Patients that lie in exactly the same figures of every release form
 * an atom; every figure is a sum of atom counts, so all releases become one system of
 * linear constraints over nonnegative integer atom counts. (Knowing which atoms exist is more
 * than a reader knows, so the ranges computed here are never wider than a real reader's.)
 *
 * For the outsider, each member clinic (knowing its own rows exactly) and each pair of
 * clinics, GLPK (an LP/MILP library, called as pure computation: no files, no terminal
 * output, time-limited) gives the min and max of every protected quantity: each hidden
 * small figure, each small listed-minus-diagnosed complement, and each small group that two
 * figures of different releases carve out of one another (intersections and differences:
 * overlapping bands, periods, sub-codes). A quantity is safe when its integer range is at
 * least `protection` wide. Secondary suppression: for an unsafe quantity an LP finds the
 * cheapest change of released figures that moves it by the protection level while keeping
 * every other published fact; those figures are hidden, and the search resumes (hiding only
 * widens ranges, so checked quantities stay safe). Every step is a deterministic function of
 * the input: the same query on the same data and history gives the same table. The last
 * audit is an integer program (labels as disjunctions); it alone decides "safe". */
#include "stats/stats.h"

#include <glpk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define NOROW   UINT32_MAX
#define BIGV    1000000.0
#define LP_EPS  1e-6
#define PHANTOM 0xF0000000ULL /* patient ids from here on are phantoms (count 0) */

enum pub { PUB_EXACT, PUB_ROUND, PUB_SMALL, PUB_HIDDEN, PUB_FREE };
enum tkind { T_FIG, T_COMP, T_INTER, T_DIFF };

struct target {
    enum tkind kind;
    size_t f, g;    /* global figures (g: the other figure of an INTER/DIFF) */
    uint32_t owner; /* clinic whose patients it counts, NOROW for margins */
    int64_t truev;
};

struct sys {
    const ob_stats_link *L;
    const ob_stats_sdc *s;
    size_t nf, *rel_off;
    size_t *f_rel, *f_fig, *f_listed; /* f_listed: listed variable of a row total, or SIZE_MAX */
    uint32_t *f_owner;
    int64_t *f_true;
    uint8_t *f_pub;
    int64_t *f_val;
    size_t *fa_off;
    uint32_t *fa;
    size_t na;
    int64_t *a_cnt;
    size_t nl;
    uint32_t *l_owner;
    int64_t *l_true, *l_lo, *l_hi;
    size_t nt, capt;
    struct target *t;
    uint32_t *att; /* attackers' clinics: every clinic of release 0 */
    size_t natt;
    uint32_t *f_att, *l_att; /* a figure's / listed count's attacker index, or NOROW */
    unsigned gen;            /* bumped whenever release 0's labels change */
    uint8_t *f_sum;          /* the figure's atoms' true counts add up to its true value */
    /* figures over the very same atoms (a group two releases count alike: the same row
     * total in two periods, a margin twice) are one row of the audit problems: the group's
     * first figure (f_rep) carries every member's bounds, intersected; f_next chains the
     * group from its first figure, SIZE_MAX ends it */
    size_t *f_rep, *f_next;
};

static void sys_free(struct sys *y)
{
    ob_free(y->rel_off);
    ob_free(y->f_rel);
    ob_free(y->f_fig);
    ob_free(y->f_listed);
    ob_free(y->f_owner);
    ob_free(y->f_true);
    ob_free(y->f_pub);
    ob_free(y->f_val);
    ob_free(y->fa_off);
    ob_free(y->fa);
    ob_free(y->a_cnt);
    ob_free(y->l_owner);
    ob_free(y->l_true);
    ob_free(y->l_lo);
    ob_free(y->l_hi);
    ob_free(y->t);
    ob_free(y->att);
    ob_free(y->f_att);
    ob_free(y->l_att);
    ob_free(y->f_sum);
    ob_free(y->f_rep);
    ob_free(y->f_next);
    memset(y, 0, sizeof *y);
}

static int sensitive(const ob_stats_sdc *s, int64_t v)
{
    return v < s->k && (v > 0 || !s->zeros_released);
}

/* The row of a figure, or -1 for a margin. */
static long fig_row(const ob_stats_table *t, size_t f)
{
    size_t nc = t->rows * t->cols;
    if (f < nc)
        return (long)(f / t->cols);
    if (f < nc + t->rows)
        return (long)(f - nc);
    return -1;
}

/* Bounds a label puts on a figure (the LP relaxation of `x`: [0, inf) with zeros released). */
static void pub_bounds(const struct sys *y, uint8_t pub, int64_t v, double *lo, double *hi)
{
    int k = y->s->k;
    switch (pub) {
    case PUB_EXACT:
        *lo = *hi = (double)v;
        return;
    case PUB_ROUND:
        *lo = v - 2 > 0 ? (double)(v - 2) : 0;
        *hi = (double)(v + 2);
        return;
    case PUB_SMALL:
        *lo = y->s->zeros_released ? 1 : 0;
        *hi = k - 1;
        return;
    case PUB_HIDDEN: /* `x` says nothing */
        *lo = 0;
        *hi = BIGV;
        return;
    default:
        *lo = 0;
        *hi = BIGV;
    }
}

/* Does the true value satisfy the label? (Data changed since an earlier release: its
 * figure is then left free rather than contradict the system.) */
static int pub_holds(const struct sys *y, uint8_t pub, int64_t pubv, int64_t v)
{
    double lo, hi;
    pub_bounds(y, pub, pubv, &lo, &hi);
    return v >= lo && v <= hi;
}

struct sig {
    uint64_t h;
    const uint64_t *p;
    size_t n;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, z = *(const uint64_t *)b;
    return x < z ? -1 : x > z;
}

static int cmp_sig(const void *a, const void *b)
{
    const struct sig *x = a, *z = b;
    if (x->h != z->h)
        return x->h < z->h ? -1 : 1;
    if (x->n != z->n)
        return x->n < z->n ? -1 : 1;
    for (size_t i = 0; i < x->n; i++)
        if ((uint32_t)x->p[i] != (uint32_t)z->p[i])
            return (uint32_t)x->p[i] < (uint32_t)z->p[i] ? -1 : 1;
    return 0;
}

static int push_target(struct sys *y, const struct target *t)
{
    if (ob_grow((void **)&y->t, &y->capt, y->nt + 1, sizeof *t))
        return -1;
    y->t[y->nt++] = *t;
    return 0;
}

/* |f n g| over atom lists (both ascending). */
static int64_t inter_count(const struct sys *y, size_t f, size_t g)
{
    size_t i = y->fa_off[f], j = y->fa_off[g];
    int64_t n = 0;
    while (i < y->fa_off[f + 1] && j < y->fa_off[g + 1]) {
        if (y->fa[i] == y->fa[j]) {
            n += y->a_cnt[y->fa[i]];
            i++;
            j++;
        } else if (y->fa[i] < y->fa[j]) {
            i++;
        } else {
            j++;
        }
    }
    return n;
}

struct fhash {
    uint64_t h;
    size_t f;
};

static int cmp_fhash(const void *a, const void *b)
{
    const struct fhash *x = a, *z = b;
    if (x->h != z->h)
        return x->h < z->h ? -1 : 1;
    return x->f < z->f ? -1 : x->f > z->f;
}

/* f_rep / f_next: figures over the same atoms (true counts adding up, so one truth). */
static int sys_groups(struct sys *y)
{
    size_t nf = y->nf;
    struct fhash *hs = ob_malloc((nf + 1) * sizeof *hs);
    y->f_rep = ob_malloc((nf + 1) * sizeof(size_t));
    y->f_next = ob_malloc((nf + 1) * sizeof(size_t));
    size_t *last = ob_malloc((nf + 1) * sizeof(size_t));
    if (!hs || !y->f_rep || !y->f_next || !last) {
        ob_free(hs);
        ob_free(last);
        return -1;
    }
    for (size_t f = 0; f < nf; f++) {
        uint64_t h = 1469598103934665603ULL;
        for (size_t i = y->fa_off[f]; i < y->fa_off[f + 1]; i++)
            h = (h ^ y->fa[i]) * 1099511628211ULL;
        hs[f] = (struct fhash){h, f};
        y->f_rep[f] = f;
        y->f_next[f] = SIZE_MAX;
        last[f] = f;
    }
    qsort(hs, nf, sizeof *hs, cmp_fhash);
    for (size_t i = 0; i < nf; i++) {
        size_t f = hs[i].f, nfa = y->fa_off[f + 1] - y->fa_off[f];
        if (!y->f_sum[f])
            continue;
        /* the first earlier figure of the same hash with the same atoms (sorted by index
         * within a hash, so a group's first figure is its lowest) */
        for (size_t j = 0; j < i; j++) {
            size_t g = hs[i - 1 - j].f;
            if (hs[i - 1 - j].h != hs[i].h)
                break;
            if (y->f_rep[g] != g || !y->f_sum[g] || y->fa_off[g + 1] - y->fa_off[g] != nfa ||
                memcmp(y->fa + y->fa_off[g], y->fa + y->fa_off[f], nfa * sizeof *y->fa))
                continue;
            y->f_rep[f] = g;
            y->f_next[last[g]] = f;
            last[g] = f;
            break;
        }
    }
    ob_free(hs);
    ob_free(last);
    return 0;
}

static ob_status sys_build(struct sys *y, const ob_stats_link *L, const ob_stats_sdc *s, ob_err *e)
{
    memset(y, 0, sizeof *y);
    y->L = L;
    y->s = s;
    y->rel_off = ob_malloc((L->n + 1) * sizeof(size_t));
    if (!y->rel_off)
        goto oom;
    size_t npairs = 0, nrows = 0;
    for (size_t r = 0; r < L->n; r++) {
        y->rel_off[r] = y->nf;
        y->nf += L->rel[r].r->table->n_fig;
        nrows += L->rel[r].r->n_rows;
        npairs += L->rel[r].r->set_off[L->rel[r].r->table->n_fig];
        if (r == 0 && !s->zeros_released) /* phantom patients, below */
            npairs += L->rel[0].r->table->n_fig * 6 * (L->rel[0].r->table->cols + 1);
    }
    y->rel_off[L->n] = y->nf;
    size_t nf = y->nf;
    y->f_rel = ob_malloc(nf * sizeof(size_t));
    y->f_fig = ob_malloc(nf * sizeof(size_t));
    y->f_listed = ob_malloc(nf * sizeof(size_t));
    y->f_owner = ob_malloc(nf * sizeof(uint32_t));
    y->f_true = ob_malloc(nf * sizeof(int64_t));
    y->f_pub = ob_malloc(nf);
    y->f_val = ob_malloc(nf * sizeof(int64_t));
    y->l_owner = ob_malloc((nrows + 1) * sizeof(uint32_t));
    y->l_true = ob_malloc((nrows + 1) * sizeof(int64_t));
    y->l_lo = ob_malloc((nrows + 1) * sizeof(int64_t));
    y->l_hi = ob_malloc((nrows + 1) * sizeof(int64_t));
    size_t *l_key = ob_malloc((nrows + 1) * 3 * sizeof(size_t)); /* rel, row: for the key */
    uint64_t *pairs = ob_malloc((npairs + 1) * sizeof(uint64_t));
    if (!y->f_rel || !y->f_fig || !y->f_listed || !y->f_owner || !y->f_true || !y->f_pub ||
        !y->f_val || !y->l_owner || !y->l_true || !y->l_lo || !y->l_hi || !l_key || !pairs) {
        ob_free(l_key);
        ob_free(pairs);
        goto oom;
    }
    size_t np = 0;
    for (size_t r = 0; r < L->n; r++) {
        const ob_stats_link_rel *R = &L->rel[r];
        const ob_stats_table *t = R->r->table;
        for (size_t f = 0; f < t->n_fig; f++) {
            size_t gi = y->rel_off[r] + f;
            long row = fig_row(t, f);
            y->f_rel[gi] = r;
            y->f_fig[gi] = f;
            y->f_listed[gi] = SIZE_MAX;
            /* a clinic-local release is the clinic's own, margins included */
            y->f_owner[gi] = R->local ? R->owner[0] : row >= 0 ? R->owner[row] : NOROW;
            y->f_true[gi] = t->value[f];
            y->f_val[gi] = R->pub_val ? R->pub_val[f] : t->value[f];
            /* (enum pub numbers the labels as ob_stats_pub_kind does) */
            y->f_pub[gi] = R->pub ? R->pub[f] : (uint8_t)ob_stats_pub_of(t, s, f, L->round_current);
            if (R->pub && !pub_holds(y, y->f_pub[gi], y->f_val[gi], t->value[f]))
                y->f_pub[gi] = PUB_FREE;
            for (size_t i = R->r->set_off[f]; i < R->r->set_off[f + 1]; i++)
                pairs[np++] = (uint64_t)R->r->set_ids[i] << 32 | (uint64_t)gi;
        }
        /* listed counts: one variable per (clinic, period, scope), shared across releases */
        for (size_t row = 0; row < R->r->n_rows; row++) {
            size_t li = SIZE_MAX;
            for (size_t j = 0; j < y->nl && li == SIZE_MAX; j++) {
                const ob_stats_link_rel *Q = &L->rel[l_key[3 * j]];
                if (y->l_owner[j] == R->owner[row] && Q->from == R->from && Q->to == R->to &&
                    Q->local == R->local)
                    li = j;
            }
            int64_t lo = R->listed_lo ? R->listed_lo[row] : R->r->listed[row];
            int64_t hi = R->listed_hi ? R->listed_hi[row] : R->r->listed[row];
            if (li == SIZE_MAX) {
                li = y->nl++;
                l_key[3 * li] = r;
                y->l_owner[li] = R->owner[row];
                y->l_true[li] = R->r->listed[row];
                y->l_lo[li] = lo;
                y->l_hi[li] = hi;
            } else if (R->r->listed[row] == y->l_true[li]) { /* both facts hold: intersect */
                y->l_lo[li] = lo > y->l_lo[li] ? lo : y->l_lo[li];
                y->l_hi[li] = hi < y->l_hi[li] ? hi : y->l_hi[li];
            }
            if (y->l_lo[li] > y->l_true[li] || y->l_hi[li] < y->l_true[li]) {
                y->l_lo[li] = 0; /* drifted data: leave free */
                y->l_hi[li] = (int64_t)BIGV;
            }
            y->f_listed[y->rel_off[r] + ob_stats_fig_row(t, row)] = li;
        }
    }
    ob_free(l_key);
    /* With zeros not released a true 0 is protected too, but an empty cell has no patient
     * and so no atom that could move: add phantom patients (counted 0) in every empty cell
     * of the release being decided, one per column of the other group, so that a reader's
     * freedom to imagine someone there is modelled. */
    if (!s->zeros_released) {
        const ob_stats_table *t = L->rel[0].r->table;
        uint64_t ph = PHANTOM;
        size_t g1 = t->ngroups > 1 ? t->group_start[1] : t->cols;
        for (size_t r = 0; r < t->rows; r++)
            for (size_t c = 0; c < t->cols; c++) {
                size_t f = ob_stats_fig_cell(t, r, c);
                if (t->value[f] != 0)
                    continue;
                size_t o0 = c < g1 ? g1 : 0, o1 = c < g1 ? t->cols : g1;
                if (o0 == o1)
                    o1 = o0 + 1; /* one group: a single phantom */
                for (size_t c2 = o0; c2 < o1; c2++, ph++) {
                    size_t figs[6] = {f,
                                      ob_stats_fig_row(t, r),
                                      ob_stats_fig_col(t, c),
                                      ob_stats_fig_grand(t),
                                      SIZE_MAX,
                                      SIZE_MAX};
                    if (c2 < t->cols) {
                        figs[4] = ob_stats_fig_cell(t, r, c2);
                        figs[5] = ob_stats_fig_col(t, c2);
                    }
                    for (int i = 0; i < 6; i++)
                        if (figs[i] != SIZE_MAX)
                            pairs[np++] = ph << 32 | (uint64_t)figs[i];
                }
            }
    }
    /* atoms: patients with the same signature (set of figures) */
    qsort(pairs, np, sizeof *pairs, cmp_u64);
    size_t npat = 0;
    for (size_t i = 0; i < np; i++)
        npat += i == 0 || pairs[i] >> 32 != pairs[i - 1] >> 32;
    struct sig *sg = ob_malloc((npat + 1) * sizeof *sg);
    if (!sg) {
        ob_free(pairs);
        goto oom;
    }
    size_t k = 0;
    for (size_t i = 0; i < np;) {
        size_t j = i;
        uint64_t h = 1469598103934665603ULL;
        while (j < np && pairs[j] >> 32 == pairs[i] >> 32) {
            h = (h ^ (uint32_t)pairs[j]) * 1099511628211ULL;
            j++;
        }
        sg[k].h = h;
        sg[k].p = pairs + i;
        sg[k].n = j - i;
        k++;
        i = j;
    }
    qsort(sg, npat, sizeof *sg, cmp_sig);
    y->na = 0;
    for (size_t i = 0; i < npat; i++)
        y->na += i == 0 || cmp_sig(&sg[i], &sg[i - 1]) != 0;
    y->a_cnt = ob_calloc(y->na + 1, sizeof(int64_t));
    y->fa_off = ob_calloc(nf + 1, sizeof(size_t));
    y->fa = ob_malloc((np + 1) * sizeof(uint32_t));
    if (!y->a_cnt || !y->fa_off || !y->fa) {
        ob_free(sg);
        ob_free(pairs);
        goto oom;
    }
    size_t a = 0;
    for (size_t i = 0; i < npat; i++) {
        if (i > 0 && cmp_sig(&sg[i], &sg[i - 1]) != 0)
            a++;
        if (sg[i].p[0] >> 32 < PHANTOM)
            y->a_cnt[a]++;
        if (i == 0 || cmp_sig(&sg[i], &sg[i - 1]) != 0)
            for (size_t j = 0; j < sg[i].n; j++)
                y->fa_off[(uint32_t)sg[i].p[j] + 1]++;
    }
    for (size_t f = 0; f < nf; f++)
        y->fa_off[f + 1] += y->fa_off[f];
    size_t *fill = ob_malloc((nf + 1) * sizeof(size_t));
    if (!fill) {
        ob_free(sg);
        ob_free(pairs);
        goto oom;
    }
    memcpy(fill, y->fa_off, nf * sizeof(size_t));
    a = 0;
    for (size_t i = 0; i < npat; i++) {
        if (i > 0 && cmp_sig(&sg[i], &sg[i - 1]) == 0)
            continue;
        if (i > 0)
            a++;
        for (size_t j = 0; j < sg[i].n; j++)
            y->fa[fill[(uint32_t)sg[i].p[j]]++] = (uint32_t)a;
    }
    ob_free(fill);
    ob_free(sg);
    ob_free(pairs);
    y->f_sum = ob_malloc(nf + 1);
    if (!y->f_sum)
        goto oom;
    for (size_t f = 0; f < nf; f++) {
        int64_t sum = 0;
        for (size_t i = y->fa_off[f]; i < y->fa_off[f + 1]; i++)
            sum += y->a_cnt[y->fa[i]];
        y->f_sum[f] = sum == y->f_true[f];
    }
    if (sys_groups(y))
        goto oom;
    return OB_OK;
oom:
    sys_free(y);
    return ob_err_set(e, OB_ENOMEM, "out of memory building the linked audit");
}

/* Target t as a sum of variables (atom a, or na + listed count l) times coefficients, in
 * tv/tc (room for na + nl); returns how many. */
static size_t target_vars(const struct sys *y, const struct target *t, size_t *tv, double *tc)
{
    size_t f = t->f, g = t->g, n = 0;
    if (t->kind == T_FIG || t->kind == T_COMP) {
        for (size_t i = y->fa_off[f]; i < y->fa_off[f + 1]; i++) {
            tv[n] = y->fa[i];
            tc[n++] = t->kind == T_COMP ? -1 : 1;
        }
        if (t->kind == T_COMP) {
            tv[n] = y->na + y->f_listed[f];
            tc[n++] = 1;
        }
    } else {
        size_t i = y->fa_off[f], j = y->fa_off[g];
        for (; i < y->fa_off[f + 1]; i++) {
            while (j < y->fa_off[g + 1] && y->fa[j] < y->fa[i])
                j++;
            int both = j < y->fa_off[g + 1] && y->fa[j] == y->fa[i];
            if (both == (t->kind == T_INTER)) {
                tv[n] = y->fa[i];
                tc[n++] = 1;
            }
        }
    }
    return n;
}

struct thash {
    uint64_t h;
    size_t i;
};

static int cmp_thash(const void *a, const void *b)
{
    const struct thash *x = a, *z = b;
    if (x->h != z->h)
        return x->h < z->h ? -1 : 1;
    return x->i < z->i ? -1 : x->i > z->i;
}

static uint64_t target_hash(const size_t *tv, const double *tc, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (tv[i] * 2 + (tc[i] > 0))) * 1099511628211ULL;
    return h;
}

/* Drop quantities that are sums of the same patients as an earlier one (two releases'
 * figures often carve out the same group): each is audited once. Figures of release 0
 * stay (their findings name the figure). */
static int targets_dedupe(struct sys *y)
{
    size_t nv = y->na + y->nl + 1, *tv = ob_malloc(2 * nv * sizeof(size_t));
    double *tc = ob_malloc(2 * nv * sizeof(double));
    struct thash *hs = ob_malloc((y->nt + 1) * sizeof *hs);
    uint8_t *drop = ob_calloc(y->nt + 1, 1);
    if (!tv || !tc || !hs || !drop) {
        ob_free(tv);
        ob_free(tc);
        ob_free(hs);
        ob_free(drop);
        return -1;
    }
    for (size_t i = 0; i < y->nt; i++) {
        size_t n = target_vars(y, &y->t[i], tv, tc);
        hs[i] = (struct thash){target_hash(tv, tc, n), i};
    }
    qsort(hs, y->nt, sizeof *hs, cmp_thash);
    for (size_t i = 1; i < y->nt; i++) {
        const struct target *t = &y->t[hs[i].i];
        if (t->kind == T_FIG && y->f_rel[t->f] == 0)
            continue;
        for (size_t j = i; j-- > 0 && hs[j].h == hs[i].h;) {
            if (drop[hs[j].i])
                continue;
            size_t n = target_vars(y, t, tv, tc),
                   m = target_vars(y, &y->t[hs[j].i], tv + nv, tc + nv);
            if (n == m && !memcmp(tv, tv + nv, n * sizeof *tv) &&
                !memcmp(tc, tc + nv, n * sizeof *tc)) {
                drop[hs[i].i] = 1;
                break;
            }
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < y->nt; i++)
        if (!drop[i])
            y->t[k++] = y->t[i];
    y->nt = k;
    ob_free(tv);
    ob_free(tc);
    ob_free(hs);
    ob_free(drop);
    return 0;
}

/* 0: a cell of column group 0, 1: of group 1, 2: a row total, 3: a margin. */
static int fig_kind(const struct sys *y, size_t gf)
{
    const ob_stats_table *t = y->L->rel[y->f_rel[gf]].r->table;
    size_t f = y->f_fig[gf], nc = t->rows * t->cols;
    if (f < nc)
        return t->ngroups > 1 && f % t->cols >= t->group_start[1];
    return f < nc + t->rows ? 2 : 3;
}

/* The protected quantities (fixed once primary suppression is done; secondary suppression
 * never adds one) and the attackers worth auditing. */
static ob_status sys_targets(struct sys *y, ob_err *e)
{
    const ob_stats_sdc *s = y->s;
    y->nt = 0;
    ob_free(y->att);
    y->att = NULL;
    y->natt = 0;
    for (size_t f = 0; f < y->nf; f++) {
        struct target t = {T_FIG, f, f, y->f_owner[f], y->f_true[f]};
        /* a margin of release 0 is a target even when large or published: what one or two
         * members' own rows leave of it may be small (applies() decides per attacker) */
        int margin0 = y->f_rel[f] == 0 && y->f_owner[f] == NOROW && y->f_pub[f] != PUB_FREE;
        if ((margin0 ||
             (y->f_pub[f] != PUB_EXACT && y->f_pub[f] != PUB_FREE && sensitive(s, y->f_true[f]))) &&
            push_target(y, &t))
            goto oom;
        if (y->f_listed[f] != SIZE_MAX) {
            struct target c = {T_COMP, f, f, y->f_owner[f],
                               y->l_true[y->f_listed[f]] - y->f_true[f]};
            if (c.truev > 0 && c.truev < s->k && push_target(y, &c))
                goto oom;
        }
    }
    /* groups two figures of different releases carve out of each other */
    for (size_t f = y->rel_off[0]; f < y->rel_off[1]; f++)
        for (size_t g = y->rel_off[1]; g < y->nf; g++) {
            /* groups of one clinic's patients (margins are sums of those), between figures
             * of the same kind: band and band, check-up and check-up, row total and row total
             * (a band cell against a check-up cell is a cell of the three-way table, which no
             * single release protects either) */
            if (y->f_owner[f] == NOROW || y->f_owner[f] != y->f_owner[g] ||
                y->f_pub[g] == PUB_FREE || fig_kind(y, f) != fig_kind(y, g))
                continue;
            int64_t nf_ = y->f_true[f], ng = y->f_true[g];
            if (nf_ == 0 || ng == 0)
                continue;
            int64_t in = inter_count(y, f, g);
            if (in == 0)
                continue;
            struct target t = {T_INTER, f, g, y->f_owner[f], in};
            if (in < s->k && in < nf_ && in < ng && push_target(y, &t))
                goto oom;
            t.kind = T_DIFF;
            t.truev = nf_ - in;
            if (t.truev > 0 && t.truev < s->k && in > 0 && push_target(y, &t))
                goto oom;
            t.f = g;
            t.g = f;
            t.truev = ng - in;
            if (t.truev > 0 && t.truev < s->k && in > 0 && push_target(y, &t))
                goto oom;
        }
    if (targets_dedupe(y))
        goto oom;
    /* attackers: every clinic of the release being decided (one that hides nothing still
     * knows its earlier figures and its exact listed count; the search below only audits
     * the clinics a range's extreme tables move, so the others cost nothing) */
    const ob_stats_link_rel *R0 = &y->L->rel[0];
    ob_free(y->f_att);
    ob_free(y->l_att);
    y->att = ob_malloc((R0->r->n_rows + 1) * sizeof(uint32_t));
    y->f_att = ob_malloc((y->nf + 1) * sizeof(uint32_t));
    y->l_att = ob_malloc((y->nl + 1) * sizeof(uint32_t));
    if (!y->att || !y->f_att || !y->l_att)
        goto oom;
    for (size_t row = 0; row < R0->r->n_rows; row++) {
        uint32_t c = R0->owner[row];
        int seen = 0;
        for (size_t i = 0; i < y->natt && !seen; i++)
            seen = y->att[i] == c;
        if (!seen)
            y->att[y->natt++] = c;
    }
    for (size_t f = 0; f < y->nf; f++) {
        y->f_att[f] = NOROW;
        for (size_t i = 0; i < y->natt && y->f_owner[f] != NOROW; i++)
            if (y->att[i] == y->f_owner[f])
                y->f_att[f] = (uint32_t)i;
    }
    for (size_t l = 0; l < y->nl; l++) {
        y->l_att[l] = NOROW;
        for (size_t i = 0; i < y->natt; i++)
            if (y->att[i] == y->l_owner[l])
                y->l_att[l] = (uint32_t)i;
    }
    return OB_OK;
oom:
    return ob_err_set(e, OB_ENOMEM, "out of memory listing protected quantities");
}

/* ---- GLPK problems ---- */

struct lp {
    glp_prob *p;
    size_t ncol; /* atoms, listed, then binaries / deviations */
    int mip;
    int last_mip; /* the last solution is the integer program's (else the LP's) */
    /* stop branch and bound once a table reaches this value of the quantity (the LP
     * relaxation's rounded bound: no table goes further) */
    const size_t *stop_v;
    const double *stop_c;
    size_t stop_n;
    double stop_at, stop_base;
    int stop_s;          /* +1: stop at a table at or below stop_at (a minimum), -1: at or above */
    int nodes, node_lim; /* branch and bound stops after node_lim nodes (not a time: the
                          * same query on the same data must give the same table) */
    int dual;            /* only row bounds changed since the last optimum: dual simplex */
    int stop_obj;        /* stop once a table's objective (plus stop_base) reaches stop_at: at or
                          * below it when minimising, at or above when maximising */
};

/* The audit's work so far (simplex iterations and branch-and-bound nodes of every problem it
 * solves) against ob_stats_link.work_limit. Per thread: a thread runs one audit at a time,
 * and the solves deep inside reach it without a context through every builder. Once over,
 * every further solve fails at once, and the call reports the limit (link_protect). */
static _Thread_local uint64_t work_done, work_limit;
static _Thread_local int work_over;

static void work_add(uint64_t n)
{
    work_done += n;
    if (work_limit && work_done > work_limit)
        work_over = 1;
}

static void stop_cb(glp_tree *T, void *info)
{
    struct lp *lp = info;
    if (glp_ios_reason(T) == GLP_ISELECT && ++lp->nodes > lp->node_lim) {
        glp_ios_terminate(T);
        return;
    }
    if (glp_ios_reason(T) != GLP_IBINGO || (!lp->stop_v && !lp->stop_obj) || isnan(lp->stop_at))
        return;
    glp_prob *p = glp_ios_get_prob(T);
    double v = lp->stop_base;
    if (lp->stop_obj) {
        v += glp_mip_obj_val(p);
        if (glp_get_obj_dir(p) == GLP_MIN ? v <= lp->stop_at + 1e-6 : v >= lp->stop_at - 1e-6)
            glp_ios_terminate(T);
        return;
    }
    for (size_t i = 0; i < lp->stop_n; i++) {
        int j = (int)(2 * lp->stop_v[i]) + 1;
        v += lp->stop_c[i] * (glp_mip_col_val(p, j) - glp_mip_col_val(p, j + 1));
    }
    if (lp->stop_s > 0 ? v <= lp->stop_at + 1e-6 : v >= lp->stop_at - 1e-6)
        glp_ios_terminate(T);
}

static void lp_free(struct lp *lp)
{
    if (lp->p)
        glp_delete_prob(lp->p);
    lp->p = NULL;
}

static void set_row(glp_prob *p, int i, double lo, double hi)
{
    if (hi >= BIGV)
        glp_set_row_bnds(p, i, GLP_LO, lo, 0);
    else if (lo == hi)
        glp_set_row_bnds(p, i, GLP_FX, lo, lo);
    else
        glp_set_row_bnds(p, i, GLP_DB, lo, hi);
}

static int knows(const uint32_t *A, size_t nA, uint32_t owner)
{
    for (size_t i = 0; i < nA; i++)
        if (A[i] == owner)
            return 1;
    return 0;
}

/* Row bounds of figure f for attacker A (its own figures fixed). */
static void fig_bounds(const struct sys *y, size_t f, const uint32_t *A, size_t nA, double *lo,
                       double *hi)
{
    if (y->f_owner[f] != NOROW && knows(A, nA, y->f_owner[f])) {
        *lo = *hi = (double)y->f_true[f];
        return;
    }
    pub_bounds(y, y->f_pub[f], y->f_val[f], lo, hi);
}

/* The attacker's system. mip: integer atoms and listed counts. dev:
 * the deviation problem instead (continuous; released figures of release 0 may move at a
 * cost, through columns p/n per figure, returned in *devcol). */
static ob_status lp_build(struct lp *lp, const struct sys *y, const uint32_t *A, size_t nA, int mip,
                          int dev, size_t *devcol, ob_err *e)
{
    memset(lp, 0, sizeof *lp);
    glp_prob *p = glp_create_prob();
    lp->p = p;
    lp->mip = mip;
    size_t na = y->na, nl = y->nl;
    size_t ndev = 0;
    for (size_t f = 0; f < y->nf; f++) {
        int own = y->f_owner[f] != NOROW && knows(A, nA, y->f_owner[f]);

        if (dev && !own && y->f_rel[f] == 0 &&
            (y->f_pub[f] == PUB_EXACT || y->f_pub[f] == PUB_ROUND || y->f_pub[f] == PUB_SMALL))
            ndev++;
    }
    size_t ncol = na + nl + 2 * ndev;
    size_t nrow = y->nf;
    size_t ncomp = 0;
    for (size_t f = 0; f < y->nf; f++)
        ncomp += y->f_listed[f] != SIZE_MAX;
    nrow += ncomp;
    glp_add_cols(p, (int)(ncol ? ncol : 1));
    glp_add_rows(p, (int)(nrow ? nrow : 1));
    size_t nz = y->fa_off[y->nf] + ncomp + 2 * ndev;
    for (size_t f = 0; f < y->nf; f++)
        if (y->f_listed[f] != SIZE_MAX)
            nz += y->fa_off[f + 1] - y->fa_off[f];
    int *ia = ob_malloc((nz + 1) * sizeof(int)), *ja = ob_malloc((nz + 1) * sizeof(int));
    double *ar = ob_malloc((nz + 1) * sizeof(double));
    if (!ia || !ja || !ar) {
        ob_free(ia);
        ob_free(ja);
        ob_free(ar);
        lp_free(lp);
        return ob_err_set(e, OB_ENOMEM, "out of memory building the audit problem");
    }
    for (size_t a = 0; a < na; a++) {
        glp_set_col_bnds(p, (int)a + 1, GLP_DB, 0, BIGV);
        if (mip)
            glp_set_col_kind(p, (int)a + 1, GLP_IV);
    }
    for (size_t l = 0; l < nl; l++) {
        int own = knows(A, nA, y->l_owner[l]);
        double lo = own ? (double)y->l_true[l] : (double)y->l_lo[l];
        double hi = own ? (double)y->l_true[l] : (double)y->l_hi[l];
        glp_set_col_bnds(p, (int)(na + l) + 1, lo == hi ? GLP_FX : GLP_DB, lo, hi);
        if (mip)
            glp_set_col_kind(p, (int)(na + l) + 1, GLP_IV);
    }
    size_t z = 0, row = 0, dcol = na + nl;
    for (size_t f = 0; f < y->nf; f++) {
        row++;
        for (size_t i = y->fa_off[f]; i < y->fa_off[f + 1]; i++) {
            z++;
            ia[z] = (int)row;
            ja[z] = (int)y->fa[i] + 1;
            ar[z] = 1;
        }
        double lo, hi;
        fig_bounds(y, f, A, nA, &lo, &hi);
        int own = y->f_owner[f] != NOROW && knows(A, nA, y->f_owner[f]);
        if (devcol)
            devcol[f] = SIZE_MAX;
        if (dev && !own && y->f_rel[f] == 0 &&
            (y->f_pub[f] == PUB_EXACT || y->f_pub[f] == PUB_ROUND || y->f_pub[f] == PUB_SMALL)) {
            /* figure + n - p = published: moving it costs (the figure gets hidden) */
            glp_set_col_bnds(p, (int)dcol + 1, GLP_LO, 0, 0);
            glp_set_col_bnds(p, (int)dcol + 2, GLP_LO, 0, 0);
            z++;
            ia[z] = (int)row;
            ja[z] = (int)dcol + 1;
            ar[z] = 1;
            z++;
            ia[z] = (int)row;
            ja[z] = (int)dcol + 2;
            ar[z] = -1;
            if (devcol)
                devcol[f] = dcol;
            dcol += 2;
        }
        if (dev && y->f_pub[f] == PUB_HIDDEN && !own)
            hi = BIGV;
        set_row(p, (int)row, lo, hi);
    }
    for (size_t f = 0; f < y->nf; f++) {
        if (y->f_listed[f] == SIZE_MAX)
            continue;
        row++; /* listed - diagnosed >= 0 */
        z++;
        ia[z] = (int)row;
        ja[z] = (int)(na + y->f_listed[f]) + 1;
        ar[z] = 1;
        for (size_t i = y->fa_off[f]; i < y->fa_off[f + 1]; i++) {
            z++;
            ia[z] = (int)row;
            ja[z] = (int)y->fa[i] + 1;
            ar[z] = -1;
        }
        glp_set_row_bnds(p, (int)row, GLP_LO, 0, 0);
    }
    glp_load_matrix(p, (int)z, ia, ja, ar);
    ob_free(ia);
    ob_free(ja);
    ob_free(ar);
    lp->ncol = ncol;
    return OB_OK;
}

/* Objective coefficients of a target (sign: +1 set, 0 clear). */
static void target_obj(const struct sys *y, glp_prob *p, const struct target *t, double sign)
{
    size_t f = t->f, g = t->g;
    if (t->kind == T_FIG || t->kind == T_COMP) {
        for (size_t i = y->fa_off[f]; i < y->fa_off[f + 1]; i++)
            glp_set_obj_coef(p, (int)y->fa[i] + 1, t->kind == T_COMP ? -sign : sign);
        if (t->kind == T_COMP)
            glp_set_obj_coef(p, (int)(y->na + y->f_listed[f]) + 1, sign);
        return;
    }
    size_t i = y->fa_off[f], j = y->fa_off[g];
    while (i < y->fa_off[f + 1]) {
        while (j < y->fa_off[g + 1] && y->fa[j] < y->fa[i])
            j++;
        int both = j < y->fa_off[g + 1] && y->fa[j] == y->fa[i];
        if (both == (t->kind == T_INTER))
            glp_set_obj_coef(p, (int)y->fa[i] + 1, sign);
        i++;
    }
}

static int solve(struct lp *lp, int dir, int tm_ms, double *val)
{
    if (work_over)
        return -1;
    glp_prob *p = lp->p;
    glp_set_obj_dir(p, dir);
    if (lp->mip) {
        /* an integral optimum of the LP relaxation is an integer optimum: branch only when
         * the vertex found is fractional */
        lp->mip = 0;
        int rc = solve(lp, dir, tm_ms, val);
        lp->mip = 1;
        if (rc != 0 || isinf(*val))
            return rc;
        int n = glp_get_num_cols(p), integral = 1;
        for (int j = 1; j <= n && integral; j++) {
            double x = glp_get_col_prim(p, j);
            integral = fabs(x - floor(x + 0.5)) < 1e-9;
        }
        if (integral)
            return 0;
        lp->last_mip = 1;
        glp_iocp io;
        glp_init_iocp(&io);
        io.msg_lev = GLP_MSG_OFF;
        io.presolve = GLP_OFF;   /* the LP basis is optimal already */
        io.tm_lim = 120000;      /* a last resort only: a time limit is not deterministic */
        io.br_tech = GLP_BR_MFV; /* Driebeck-Tomlin's tableau rows cost more than the tree */
        if (lp->stop_obj)
            io.bt_tech = GLP_BT_DFS; /* any table far enough will do: dive for one */
        lp->nodes = 0;
        lp->node_lim = tm_ms;
        io.cb_func = stop_cb;
        io.cb_info = lp;
        int irc = glp_intopt(p, &io);
        work_add((uint64_t)lp->nodes);
        int st = glp_mip_status(p);
        if ((irc == GLP_ETMLIM || irc == GLP_ESTOP) && st == GLP_FEAS) {
            *val = glp_mip_obj_val(p);
            return 2; /* a table, not proven extreme */
        }
        if (irc != 0)
            return -1;
        if (st == GLP_NOFEAS)
            return 1;
        if (st != GLP_OPT)
            return -1;
        *val = glp_mip_obj_val(p);
        return 0;
    }
    {
        lp->last_mip = 0;
        glp_smcp sm;
        glp_init_smcp(&sm);
        sm.msg_lev = GLP_MSG_OFF;
        sm.tm_lim = tm_ms;
        sm.presolve = GLP_OFF;
        if (lp->dual)
            sm.meth = GLP_DUALP;
        int it0 = glp_get_it_cnt(p);
        int rc = glp_simplex(p, &sm);
        if (rc == GLP_EFAIL || rc == GLP_ESING || rc == GLP_ECOND || rc == GLP_EBOUND) {
            glp_adv_basis(p, 0); /* a fresh basis, then once more */
            rc = glp_simplex(p, &sm);
        }
        int it1 = glp_get_it_cnt(p);
        work_add(it1 > it0 ? (uint64_t)(it1 - it0) : 0);
        if (rc != 0)
            return -1;
        int st = glp_get_status(p);
        if (st == GLP_UNBND) {
            *val = dir == GLP_MAX ? INFINITY : -INFINITY;
            return 0;
        }
        if (st == GLP_NOFEAS)
            return 1;
        if (st != GLP_OPT)
            return -1;
        *val = glp_get_obj_val(p);
        return 0;
    }
}

static int range_safe(const struct sys *y, int64_t lo, int64_t hi)
{
    return hi == OB_STATS_UNBOUNDED || hi - lo >= y->L->protection;
}

/* The problem behind the cheapest change of released figures of release 0 that moves target
 * t (LP, L1 cost per figure moved): attacker A's system in deviation form plus one row, the
 * target's value, whose bounds each shift sets (shift_lp). Built once per target and
 * attacker: the shifts differ only in that row's bounds, so each solve starts from the
 * previous one's optimal basis (still dual feasible: the objective is the same). */
static ob_status shift_build(struct lp *lp, const struct sys *y, const uint32_t *A, size_t nA,
                             const struct target *t, size_t *devcol, ob_err *e)
{
    ob_status st = lp_build(lp, y, A, nA, 0, 1, devcol, e);
    if (st)
        return st;
    int r = glp_add_rows(lp->p, 1);
    int ncols = glp_get_num_cols(lp->p);
    int *ind = ob_malloc(((size_t)ncols + 1) * sizeof(int));
    double *val = ob_malloc(((size_t)ncols + 1) * sizeof(double));
    if (!ind || !val) {
        ob_free(ind);
        ob_free(val);
        lp_free(lp);
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    }
    target_obj(y, lp->p, t, 1);
    int n = 0;
    for (int j = 1; j <= ncols; j++) {
        double c = glp_get_obj_coef(lp->p, j);
        if (c != 0) {
            n++;
            ind[n] = j;
            val[n] = c;
        }
        glp_set_obj_coef(lp->p, j, 0);
    }
    glp_set_mat_row(lp->p, r, n, ind, val);
    glp_set_row_bnds(lp->p, r, GLP_FR, 0, 0);
    ob_free(ind);
    ob_free(val);
    /* weights: one per hidden figure; ties go to the smaller value, then the lower number
     * (deterministic) */
    int64_t maxv = 1;
    for (size_t f = y->rel_off[0]; f < y->rel_off[1]; f++)
        maxv = y->f_true[f] > maxv ? y->f_true[f] : maxv;
    for (size_t f = y->rel_off[0]; f < y->rel_off[1]; f++)
        if (devcol[f] != SIZE_MAX) {
            double w = 1.0 + 0.01 * (double)y->f_true[f] / (double)(maxv + 1) +
                       1e-6 * (double)(f - y->rel_off[0]) / (double)(y->rel_off[1] + 1);
            glp_set_obj_coef(lp->p, (int)devcol[f] + 1, w);
            glp_set_obj_coef(lp->p, (int)devcol[f] + 2, w);
        }
    return OB_OK;
}

/* The cheapest change that moves target t by `shift`, on shift_build's problem. *cost
 * INFINITY when impossible; pick[f] set for the figures that move. */
static void shift_lp(const struct sys *y, struct lp *lp, const struct target *t, int64_t shift,
                     const size_t *devcol, uint8_t *pick, double *cost)
{
    *cost = INFINITY;
    memset(pick, 0, y->nf);
    int64_t goal_v = t->truev + shift;
    if (goal_v < 0)
        return;
    int r = glp_get_num_rows(lp->p);
    glp_set_row_bnds(lp->p, r, GLP_FX, (double)goal_v, (double)goal_v);
    double v = 0;
    int rc = solve(lp, GLP_MIN, 10000, &v);
    lp->dual = glp_get_status(lp->p) == GLP_OPT; /* the next shift starts from this optimum */
    if (rc == 0) {
        *cost = v;
        for (size_t f = y->rel_off[0]; f < y->rel_off[1]; f++)
            if (devcol[f] != SIZE_MAX && glp_get_col_prim(lp->p, (int)devcol[f] + 1) +
                                                 glp_get_col_prim(lp->p, (int)devcol[f] + 2) >
                                             LP_EPS)
                pick[f] = 1;
    }
}

/* The cheapest released figures of release 0 to hide so that target t's range becomes at
 * least `protection` wide for attacker A: some d in 0..P with a table at true + d and one at
 * true - (P - d). Marks them SECONDARY in the table; *n_hidden. */
static ob_status deviate(struct sys *y, ob_stats_table *t0, const uint32_t *A, size_t nA,
                         const struct target *t, int P, size_t *n_hidden, ob_err *e)
{
    *n_hidden = 0;
    size_t *devcol = ob_malloc((y->nf + 1) * sizeof(size_t));
    uint8_t *pick = ob_calloc((size_t)(2 * P + 1) * (y->nf + 1), 1);
    double *cost = ob_malloc((size_t)(2 * P + 1) * sizeof(double));
    ob_status st = OB_OK;
    if (!devcol || !pick || !cost) {
        st = ob_err_set(e, OB_ENOMEM, "out of memory");
        goto out;
    }
    /* cost[P + s]: moving by s */
    struct lp lp;
    if ((st = shift_build(&lp, y, A, nA, t, devcol, e)))
        goto out;
    for (int sh = -P; sh <= P; sh++) {
        uint8_t *pk = pick + (size_t)(P + sh) * (y->nf + 1);
        if (sh == 0) {
            cost[P] = 0;
            continue;
        }
        shift_lp(y, &lp, t, sh, devcol, pk, &cost[P + sh]);
    }
    lp_free(&lp);
    double best = INFINITY;
    int bd = -1;
    for (int d = P; d >= 0; d--) {
        double c = cost[P + d] + cost[P - (P - d)];
        if (c < best - 1e-9) {
            best = c;
            bd = d;
        }
    }
    if (bd < 0)
        goto out;
    const uint8_t *up = pick + (size_t)(P + bd) * (y->nf + 1);
    const uint8_t *down = pick + (size_t)(P - (P - bd)) * (y->nf + 1);
    for (size_t f = y->rel_off[0]; f < y->rel_off[1]; f++)
        if (up[f] || down[f]) {
            t0->state[y->f_fig[f]] = OB_STATS_SECONDARY;
            y->f_pub[f] = PUB_HIDDEN;
            y->gen++;
            (*n_hidden)++;
        }
out:
    ob_free(cost);
    ob_free(pick);
    ob_free(devcol);
    return st;
}

/* Row of release 0 owned by clinic c (the finding's attacker numbering), or SIZE_MAX. */
static size_t row_of(const struct sys *y, uint32_t c)
{
    const ob_stats_link_rel *R0 = &y->L->rel[0];
    for (size_t r = 0; r < R0->r->n_rows; r++)
        if (R0->owner[r] == c)
            return r;
    return SIZE_MAX;
}

/* The part of a margin (column or grand total) that attacker A's own rows make up; -1 when
 * A owns every row (it then knows the margin: nothing to protect from it). */
static int64_t own_part(const struct sys *y, size_t gf, const uint32_t *A, size_t nA)
{
    const ob_stats_link_rel *R = &y->L->rel[y->f_rel[gf]];
    const ob_stats_table *t = R->r->table;
    size_t f = y->f_fig[gf], nc = t->rows * t->cols;
    int64_t sum = 0;
    size_t known = 0;
    for (size_t r = 0; r < t->rows; r++)
        known += knows(A, nA, R->owner[r]);
    if (known == t->rows)
        return -1;
    for (size_t r = 0; r < t->rows; r++) {
        if (!knows(A, nA, R->owner[r]))
            continue;
        if (f == ob_stats_fig_grand(t))
            sum += t->value[ob_stats_fig_row(t, r)];
        else if (f >= nc + t->rows)
            sum += t->value[ob_stats_fig_cell(t, r, f - nc - t->rows)];
    }
    return sum;
}

/* ---- the audit problem in deviation form, and the search over attackers ----
 *
 * Atom a's count is a_cnt[a] + p - n (columns 1+2a, 2+2a), listed count l's is l_true[l] +
 * p - n (columns 1+2(na+l), 2+2(na+l)); row f+1 is figure f's change, then one row per row
 * total with a listed count (listed - diagnosed >= 0). Every change of a count costs a little
 * (EPS_MOVE per patient moved), so an extreme table found for a quantity moves as few
 * patients as it can. A clinic whose figures that table leaves alone could have built it
 * from what it knows: its range is the one already computed. The search therefore audits a
 * member clinic only when the outsider's extreme tables move its figures, and a pair only
 * when one member's extreme tables move the other's; every other attacker's range is proven
 * equal to one computed (and recorded as such). Auditing every pair then costs a few LPs per
 * quantity, not one per pair. */
#define EPS_MOVE 1e-5
#define LP_TOL   1e-3 /* an LP extreme moves by at most EPS_MOVE x patients moved (<< LP_TOL) */

struct alp {
    struct lp lp;   /* minima are found here */
    struct lp lpx;  /* maxima here: each keeps its own optimal basis, and the next quantity's
                     * minimum (maximum) starts from this one's (same problem, same bounds) */
    struct lp *cur; /* the instance of the last extreme */
    int free0;      /* release 0 published nothing: the problem alp_prior asks */
    size_t na, nl;
    uint32_t A[2]; /* whose knowledge the bounds hold now */
    size_t nA;
    size_t *tv; /* the current target's variables (atom a, or na + listed l) */
    double *tc; /* and coefficients */
    size_t ntv;
    uint8_t *mv;  /* scratch: attackers moved by one solution */
    int integral; /* the last extreme table is an integer one */
};

static void col_bnds(glp_prob *p, int j, double hi)
{
    if (hi <= 0)
        glp_set_col_bnds(p, j, GLP_FX, 0, 0);
    else
        glp_set_col_bnds(p, j, GLP_DB, 0, hi);
}

/* Row i of p as figure f's change for attacker A: what its label allows minus the truth.
 * A label that allows any count (`x`, a figure left free) says no more than the atoms'
 * own bounds: its atoms cannot shrink below 0, so the figure cannot shrink below 0 either
 * (its change is at least minus the true count). Such a row constrains nothing and is left
 * free, which the simplex treats as absent (same ranges, a smaller basis to pivot in). */
static void dev_row_as(const struct sys *y, glp_prob *p, int i, size_t f, const uint32_t *A,
                       size_t nA, int free0)
{
    double lo = 0, hi = BIGV, t = (double)y->f_true[f];
    if (y->f_rep[f] != f) { /* its group's first figure carries its bounds */
        glp_set_row_bnds(p, i, GLP_FR, 0, 0);
        return;
    }
    for (size_t g = f; g != SIZE_MAX; g = y->f_next[g]) {
        double l, h;
        fig_bounds(y, g, A, nA, &l, &h);
        if (free0 && y->f_rel[g] == 0 && !(y->f_owner[g] != NOROW && knows(A, nA, y->f_owner[g])))
            /* release 0 as if it published nothing (alp_prior) */
            pub_bounds(y, PUB_FREE, 0, &l, &h);
        lo = l > lo ? l : lo;
        hi = h < hi ? h : hi;
    }
    if (lo <= 0 && hi >= BIGV && y->f_sum[f])
        glp_set_row_bnds(p, i, GLP_FR, 0, 0);
    else
        set_row(p, i, lo - t, hi >= BIGV ? BIGV : hi - t);
}

static void dev_row(const struct sys *y, glp_prob *p, int i, size_t f, const uint32_t *A, size_t nA)
{
    dev_row_as(y, p, i, f, A, nA, 0);
}

/* Columns j (up) and j + 1 (down) of variable v (atom, or na + listed count): an atom may
 * grow freely and shrink to 0, a listed count move within its published range; `fixed`:
 * the attacker knows it. */
static void dev_cols(const struct sys *y, glp_prob *p, int j, size_t v, int fixed)
{
    if (v < y->na) {
        col_bnds(p, j, fixed ? 0 : BIGV);
        col_bnds(p, j + 1, fixed ? 0 : (double)y->a_cnt[v]);
    } else {
        size_t l = v - y->na;
        col_bnds(p, j, fixed ? 0 : (double)(y->l_hi[l] - y->l_true[l]));
        col_bnds(p, j + 1, fixed ? 0 : (double)(y->l_true[l] - y->l_lo[l]));
    }
}

static void alp_row(const struct sys *y, struct alp *a, size_t f)
{
    for (int k = 0; k < 2; k++) {
        size_t g = k ? y->f_rep[f] : f; /* and its group's row */
        if (k && g == f)
            break;
        dev_row_as(y, a->lp.p, (int)g + 1, g, a->A, a->nA, a->free0);
        if (a->lpx.p)
            dev_row_as(y, a->lpx.p, (int)g + 1, g, a->A, a->nA, a->free0);
    }
}

static void alp_listed(const struct sys *y, struct alp *a, size_t l)
{
    int fixed = knows(a->A, a->nA, y->l_owner[l]);
    dev_cols(y, a->lp.p, (int)(2 * (a->na + l)) + 1, a->na + l, fixed);
    if (a->lpx.p)
        dev_cols(y, a->lpx.p, (int)(2 * (a->na + l)) + 1, a->na + l, fixed);
}

static void alp_free(struct alp *a)
{
    lp_free(&a->lp);
    lp_free(&a->lpx);
    ob_free(a->tv);
    ob_free(a->tc);
    ob_free(a->mv);
    memset(a, 0, sizeof *a);
}

static ob_status alp_build(struct alp *a, const struct sys *y, int mip, int free0, ob_err *e)
{
    memset(a, 0, sizeof *a);
    a->free0 = free0;
    size_t na = y->na, nl = y->nl, ncomp = 0;
    for (size_t f = 0; f < y->nf; f++)
        ncomp += y->f_listed[f] != SIZE_MAX;
    size_t ncol = 2 * (na + nl), nz = 2 * y->fa_off[y->nf] + 2 * ncomp;
    for (size_t f = 0; f < y->nf; f++)
        if (y->f_listed[f] != SIZE_MAX)
            nz += 2 * (y->fa_off[f + 1] - y->fa_off[f]);
    int *ia = ob_malloc((nz + 1) * sizeof(int)), *ja = ob_malloc((nz + 1) * sizeof(int));
    double *ar = ob_malloc((nz + 1) * sizeof(double));
    a->tv = ob_malloc((na + nl + 1) * sizeof(size_t));
    a->tc = ob_malloc((na + nl + 1) * sizeof(double));
    a->mv = ob_malloc(y->natt + 1);
    if (!ia || !ja || !ar || !a->tv || !a->tc || !a->mv) {
        ob_free(ia);
        ob_free(ja);
        ob_free(ar);
        alp_free(a);
        return ob_err_set(e, OB_ENOMEM, "out of memory building the audit problem");
    }
    glp_prob *p = glp_create_prob();
    a->lp.p = p;
    a->lp.mip = mip;
    a->na = na;
    a->nl = nl;
    glp_add_cols(p, (int)(ncol ? ncol : 1));
    glp_add_rows(p, (int)(y->nf + ncomp ? y->nf + ncomp : 1));
    for (size_t j = 1; j <= ncol; j++) {
        glp_set_obj_coef(p, (int)j, EPS_MOVE);
        if (mip)
            glp_set_col_kind(p, (int)j, GLP_IV);
    }
    for (size_t v = 0; v < na; v++)
        dev_cols(y, p, (int)(2 * v) + 1, v, 0);
    size_t z = 0, row = y->nf;
    for (size_t f = 0; f < y->nf; f++)
        for (size_t i = y->fa_off[f]; i < y->fa_off[f + 1]; i++)
            for (int s = 0; s < 2; s++) {
                z++;
                ia[z] = (int)f + 1;
                ja[z] = (int)(2 * y->fa[i]) + 1 + s;
                ar[z] = s ? -1 : 1;
            }
    for (size_t f = 0; f < y->nf; f++) {
        if (y->f_listed[f] == SIZE_MAX)
            continue;
        row++;
        for (int s = 0; s < 2; s++) {
            z++;
            ia[z] = (int)row;
            ja[z] = (int)(2 * (na + y->f_listed[f])) + 1 + s;
            ar[z] = s ? -1 : 1;
        }
        for (size_t i = y->fa_off[f]; i < y->fa_off[f + 1]; i++)
            for (int s = 0; s < 2; s++) {
                z++;
                ia[z] = (int)row;
                ja[z] = (int)(2 * y->fa[i]) + 1 + s;
                ar[z] = s ? 1 : -1;
            }
        glp_set_row_bnds(p, (int)row, GLP_LO, (double)(y->f_true[f] - y->l_true[y->f_listed[f]]),
                         0);
    }
    glp_load_matrix(p, (int)z, ia, ja, ar);
    ob_free(ia);
    ob_free(ja);
    ob_free(ar);
    for (size_t f = 0; f < y->nf; f++)
        alp_row(y, a, f);
    for (size_t l = 0; l < nl; l++)
        alp_listed(y, a, l);
    a->lpx = a->lp;
    a->lpx.p = glp_create_prob();
    glp_copy_prob(a->lpx.p, p, GLP_OFF);
    a->cur = &a->lp;
    return OB_OK;
}

/* Switch the bounds to attacker A's knowledge (rows of the old and new attackers only). */
static void alp_set(const struct sys *y, struct alp *a, const uint32_t *A, size_t nA)
{
    uint32_t old[2] = {a->A[0], a->A[1]};
    size_t nold = a->nA;
    a->nA = nA;
    for (size_t i = 0; i < nA; i++)
        a->A[i] = A[i];
    for (size_t f = 0; f < y->nf; f++)
        if (y->f_owner[f] != NOROW &&
            (knows(old, nold, y->f_owner[f]) || knows(A, nA, y->f_owner[f])))
            alp_row(y, a, f);
    for (size_t l = 0; l < y->nl; l++)
        if (knows(old, nold, y->l_owner[l]) || knows(A, nA, y->l_owner[l]))
            alp_listed(y, a, l);
}

/* The target's variables and coefficients. */
static void alp_target(const struct sys *y, struct alp *a, const struct target *t)
{
    a->ntv = target_vars(y, t, a->tv, a->tc);
}

static double alp_val(const struct alp *a, int col)
{
    return a->cur->last_mip ? glp_mip_col_val(a->cur->p, col) : glp_get_col_prim(a->cur->p, col);
}

/* Extreme of the target (s = +1 min, -1 max) as its value; marks in a->mv the attackers
 * whose figures or listed counts the extreme table moves. */
static int alp_extreme(const struct sys *y, struct alp *a, const struct target *t, int s, int tm_ms,
                       int sparse, double bound, double *tval)
{
    struct lp *L = s > 0 ? &a->lp : &a->lpx;
    glp_prob *p = L->p;
    a->cur = L;
    /* sparse 0: the quantity alone (branch and bound need not prove the moving cost
     * optimal; any integer extreme table serves the search, sparse or not) */
    double eps = sparse ? EPS_MOVE : 0;
    int ncol = glp_get_num_cols(p);
    if (eps == 0)
        for (int j = 1; j <= ncol; j++)
            glp_set_obj_coef(p, j, 0);
    for (size_t i = 0; i < a->ntv; i++) {
        int j = (int)(2 * a->tv[i]) + 1;
        glp_set_obj_coef(p, j, s * a->tc[i] + eps);
        glp_set_obj_coef(p, j + 1, -s * a->tc[i] + eps);
    }
    double obj = 0;
    L->stop_v = a->tv;
    L->stop_c = a->tc;
    L->stop_n = a->ntv;
    L->stop_at = bound;
    L->stop_s = s;
    L->stop_base = (double)t->truev;
    int rc = solve(L, GLP_MIN, tm_ms, &obj);
    L->stop_v = NULL;
    if (eps == 0)
        for (int j = 1; j <= ncol; j++)
            glp_set_obj_coef(p, j, EPS_MOVE);
    for (size_t i = 0; i < a->ntv; i++) {
        int j = (int)(2 * a->tv[i]) + 1;
        glp_set_obj_coef(p, j, EPS_MOVE);
        glp_set_obj_coef(p, j + 1, EPS_MOVE);
    }
    double v = (double)t->truev;
    for (size_t i = 0; rc == 2 && i < a->ntv; i++) {
        int j = (int)(2 * a->tv[i]) + 1;
        v += a->tc[i] * (alp_val(a, j) - alp_val(a, j + 1));
    }
    /* a table branch and bound found but did not prove extreme is extreme when it reaches the
     * LP relaxation's bound (rounded: the quantity is an integer) */
    if (rc == 2 && (s > 0 ? v <= bound + 1e-6 : v >= bound - 1e-6))
        rc = 0;
    if (rc) {
        return -1; /* every column is bounded: infeasible or given up, both fail closed */
    }
    v = (double)t->truev;
    for (size_t i = 0; i < a->ntv; i++) {
        int j = (int)(2 * a->tv[i]) + 1;
        v += a->tc[i] * (alp_val(a, j) - alp_val(a, j + 1));
    }
    *tval = v;
    a->integral = 1;
    for (int j = 1; j <= ncol && a->integral && !L->last_mip; j++) {
        double x = glp_get_col_prim(p, j);
        a->integral = fabs(x - floor(x + 0.5)) < 1e-9;
    }
    for (size_t f = 0; f < y->nf; f++)
        if (y->f_att[f] != NOROW && !a->mv[y->f_att[f]]) {
            double d =
                L->last_mip ? glp_mip_row_val(p, (int)f + 1) : glp_get_row_prim(p, (int)f + 1);
            if (fabs(d) > 1e-6)
                a->mv[y->f_att[f]] = 1;
        }
    for (size_t l = 0; l < y->nl; l++)
        if (y->l_att[l] != NOROW) {
            int j = (int)(2 * (a->na + l)) + 1;
            if (fabs(alp_val(a, j) - alp_val(a, j + 1)) > 1e-6)
                a->mv[y->l_att[l]] = 1;
        }
    return 0;
}

/* Integer range of target t for the attacker whose bounds are set; moved |= the attackers
 * its extreme tables move. -1: the solver gave up (unsafe: fail closed). The LP relaxation
 * first; branch and bound only when its range is within two of the protection level (a
 * wider LP range is accepted: docs/statistics.md). */
static int alp_range(const struct sys *y, struct alp *a, const struct target *t, int mip,
                     int64_t *lo, int64_t *hi, uint8_t *moved)
{
    alp_target(y, a, t);
    double va = 0, vb = 0;
    int tm = 10000;
    a->lp.mip = a->lpx.mip = 0;
    memset(a->mv, 0, y->natt);
    int rc = alp_extreme(y, a, t, 1, tm, 1, NAN, &va), integral = a->integral;
    rc = rc || alp_extreme(y, a, t, -1, tm, 1, NAN, &vb);
    integral = integral && a->integral;
    int used_mip = 0;
    /* integer extreme tables of the LP are the integer program's: no branching needed */
    if (integral) {
        va = floor(va + 0.5);
        vb = floor(vb + 0.5);
        used_mip = 1;
    }
    int P = y->L->protection, one = 0;
    if (!rc && mip && !integral && vb < BIGV / 2 && vb - va < P + 2) {
        double blo = ceil(va - LP_TOL), bhi = floor(vb + LP_TOL), tv = (double)t->truev;
        a->lp.mip = a->lpx.mip = 1;
        used_mip = 1;
        /* Safe needs only two integer tables P apart, and the true table is one (it moves
         * no one): one branch and bound towards a table P above (or below) the truth, stopped
         * when it gets there, proves the range [truth, table] safe for this attacker and for
         * every one that table does not move (docs/statistics.md, "Which attackers are
         * audited"). The range recorded then lies inside the exact one; the exact audit
         * (L->exact), and a side that does not get there, take both extremes below. */
        int s1 = y->L->exact || bhi - blo < P ? 0 : bhi - tv >= P ? -1 : tv - blo >= P ? 1 : 0;
        if (s1) {
            double v1 = 0, goal = tv - s1 * P;
            memset(a->mv, 0, y->natt);
            if (alp_extreme(y, a, t, s1, 100, 1, goal, &v1) == 0 &&
                (s1 > 0 ? v1 <= goal + 1e-6 : v1 >= goal - 1e-6)) {
                va = s1 > 0 ? v1 : tv;
                vb = s1 > 0 ? tv : v1;
                one = 1;
            }
        }
        /* sparse extreme tables when branch and bound finds them quickly, else any */
        for (int sparse = 1; sparse >= 0 && !one; sparse--) {
            memset(a->mv, 0, y->natt);
            rc = alp_extreme(y, a, t, 1, sparse ? 100 : 1000, sparse, blo, &va) ||
                 alp_extreme(y, a, t, -1, sparse ? 100 : 1000, sparse, bhi, &vb);
            if (!rc)
                break;
        }
        a->lp.mip = a->lpx.mip = 0;
    }
    if (rc)
        return -1;
    for (size_t i = 0; i < y->natt; i++)
        moved[i] |= a->mv[i];
    double tol = used_mip ? 1e-6 : LP_TOL;
    *lo = (int64_t)ceil(va - tol);
    *hi = vb >= BIGV / 2 ? OB_STATS_UNBOUNDED : (int64_t)floor(vb + tol);
    return 0;
}

/* Is target t already unsafe for attacker A from the earlier releases alone (release 0
 * published nothing)? Then hiding in release 0 cannot help and is not asked for: the
 * exposure is reported (finding.prior), not blamed on this release. Asked of a problem of
 * its own (ap: release 0's rows free, built on first use), which keeps its warm bases
 * instead of disturbing the main problem's. A problem that cannot be built proves nothing
 * (fail closed: the quantity is left to this release's protection). */
static int alp_prior(struct sys *y, struct alp *ap, const uint32_t *A, size_t nA,
                     const struct target *t, int mip)
{
    ob_err e2 = {0};
    if (!ap->lp.p && alp_build(ap, y, mip, 1, &e2))
        return 0;
    uint8_t *mv = ob_calloc(y->natt + 1, 1);
    int unsafe = 0;
    if (mv) {
        alp_set(y, ap, A, nA);
        int64_t lo = 0, hi = 0;
        /* exposed only when proven: the LP range when it is narrow (it contains the integer
         * one), else branch and bound's integer range; a solver that gives up proves
         * nothing and leaves the quantity to this release's protection */
        unsafe = alp_range(y, ap, t, mip, &lo, &hi, mv) == 0 && !range_safe(y, lo, hi);
    }
    ob_free(mv);
    return unsafe;
}

struct res {
    int64_t lo, hi;
    int rc, safe, prior;
};

/* ---- witnesses: small problems that prove most quantities safe for most attackers ----
 *
 * Every table that keeps some clinics' atoms at their true counts and satisfies every
 * published fact is a table that no attacker among those clinics can rule out. So for a
 * quantity of clinic c, the problem over the atoms of c and a few partner clinics, all
 * others fixed at the truth, is small (its rows are the figures those atoms lie in) and its
 * extreme tables are real tables of the whole system: when its range is safe, the quantity
 * is safe for every attacker that knows none of the partners. Candidates, in order: c
 * alone (covers everyone); the partner sets that the whole problem's extreme tables moved
 * for c's earlier quantities (c's cells share their hidden neighbours, so what balanced
 * one usually balances the next); single partners, best first; three disjoint groups of
 * partners. Only the attackers no witness covers go to the whole problem (alp_range
 * above), whose answer is exact; its extreme tables then teach c's list. The audit's cost
 * then follows a few clinics' history rather than the cluster's: with ten earlier releases
 * the whole problem has thousands of rows, a witness hundreds. A witness problem is built
 * once per (clinic, partner set) and reused for every quantity of the clinic (only the
 * objective changes). */
#define W_SET   6  /* partners in a witness at most */
#define W_GROUP 5  /* partners per group witness */
#define W_SINGL 4  /* single partners tried */
#define W_LEARN 12 /* learnt partner sets kept per clinic */
#define W_TRIES 16 /* witnesses tried per quantity */
#define MULTI   (NOROW - 1)

struct wit {
    glp_prob *p;  /* NULL: not built yet */
    int *col;     /* variable (atom a, or na + listed l) -> its first column, 0: fixed */
    size_t *rowf; /* row i + 1 -> its figure, SIZE_MAX for a complement row */
    int nrow;
    unsigned gen; /* y->gen when the release's row bounds were last set */
};

struct wset {
    uint32_t part[W_SET]; /* partner clinics (attacker indices), c itself not listed */
    size_t npart;
    struct wit w;
};

struct wits {
    struct wset *set; /* [c * W_CAND + k]: c's candidates (below) */
    size_t *nset;     /* [c]: how many */
    uint32_t *own;    /* atom -> attacker index whose figures hold it, NOROW none, MULTI */
    uint32_t *order;  /* [c * n + k]: c's k-th partner, best first (n - 1 of them) */
    uint8_t *in;      /* scratch: attackers whose atoms are free */
    uint32_t *unc;    /* scratch: attackers not covered yet (uncovered()) */
    size_t n;         /* natt */
};

/* c's candidates: alone, W_LEARN learnt, W_SINGL single partners, 3 groups */
#define W_CAND (1 + W_LEARN + W_SINGL + 3)
#define W_FIX  (1 + W_LEARN) /* where the fixed candidates begin */

static void wit_free(struct wit *w)
{
    if (w->p)
        glp_delete_prob(w->p);
    ob_free(w->col);
    ob_free(w->rowf);
    memset(w, 0, sizeof *w);
}

static void wits_free(struct wits *W)
{
    for (size_t i = 0; W->set && i < W->n * W_CAND; i++)
        wit_free(&W->set[i].w);
    ob_free(W->set);
    ob_free(W->nset);
    ob_free(W->own);
    ob_free(W->order);
    ob_free(W->in);
    ob_free(W->unc);
    memset(W, 0, sizeof *W);
}

/* Partners, best first: the clinics with most unpublished figures where c has its own
 * (same release, same column), whose atoms can balance c's moves in the margins. */
static ob_status wits_init(struct wits *W, const struct sys *y, ob_err *e)
{
    memset(W, 0, sizeof *W);
    size_t n = y->natt, nk = 0, *key = ob_malloc((y->nf + 1) * sizeof(size_t));
    W->n = n;
    W->set = ob_calloc(n * W_CAND + 1, sizeof *W->set);
    W->nset = ob_calloc(n + 1, sizeof(size_t));
    W->own = ob_malloc((y->na + 1) * sizeof(uint32_t));
    W->order = ob_malloc((n * n + 1) * sizeof(uint32_t));
    W->in = ob_calloc(n + 1, 1);
    W->unc = ob_malloc((2 * (1 + n + n * n) + 2) * sizeof(uint32_t));
    uint32_t *score = ob_calloc(n * n + 1, sizeof(uint32_t));
    uint8_t *hid = NULL;
    if (!key || !W->set || !W->nset || !W->own || !W->order || !W->in || !W->unc || !score)
        goto oom;
    for (size_t a = 0; a < y->na; a++)
        W->own[a] = NOROW;
    for (size_t f = 0; f < y->nf; f++) {
        uint32_t c = y->f_att[f];
        for (size_t i = y->fa_off[f]; c != NOROW && i < y->fa_off[f + 1]; i++) {
            uint32_t *o = &W->own[y->fa[i]];
            *o = *o == NOROW || *o == c ? c : MULTI;
        }
        /* key: the column of a clinic's cell, or past the columns for its row total */
        const ob_stats_table *t = y->L->rel[y->f_rel[f]].r->table;
        size_t ff = y->f_fig[f], nc = t->rows * t->cols;
        key[f] = ff < nc ? ff % t->cols : ff < nc + t->rows ? t->cols : SIZE_MAX;
        if (key[f] != SIZE_MAX && key[f] + 1 > nk)
            nk = key[f] + 1;
    }
    size_t nrk = nk * y->L->n;
    hid = ob_calloc(n * nrk + 1, 1);
    if (!hid)
        goto oom;
    for (size_t f = 0; f < y->nf; f++)
        if (y->f_att[f] != NOROW && key[f] != SIZE_MAX && y->f_pub[f] != PUB_EXACT)
            hid[y->f_att[f] * nrk + y->f_rel[f] * nk + key[f]] = 1;
    for (size_t c = 0; c < n; c++)
        for (size_t d = 0; d < n; d++)
            for (size_t k = 0; k < nrk && d != c; k++)
                score[c * n + d] += hid[c * nrk + k] & hid[d * nrk + k];
    for (size_t c = 0; c < n; c++) {
        uint32_t *o = W->order + c * n;
        size_t m = 0;
        for (size_t d = 0; d < n; d++)
            if (d != c)
                o[m++] = (uint32_t)d;
        for (size_t i = 1; i < m; i++) /* insertion sort: score down, index up (stable) */
            for (size_t j = i; j > 0 && score[c * n + o[j]] > score[c * n + o[j - 1]]; j--) {
                uint32_t x = o[j];
                o[j] = o[j - 1];
                o[j - 1] = x;
            }
        /* the fixed candidates: alone first, singles and groups after the learnt ones */
        struct wset *ws = W->set + c * W_CAND;
        for (size_t k = 0; k < W_SINGL && k < m; k++)
            ws[W_FIX + k] = (struct wset){{o[k]}, 1, {0}};
        for (size_t g = 0; g < 3; g++) {
            struct wset *gs = &ws[W_FIX + W_SINGL + g];
            for (size_t r = g; r < m && gs->npart < W_GROUP; r += 3)
                gs->part[gs->npart++] = o[r];
        }
        W->nset[c] = 1;
    }
    ob_free(hid);
    ob_free(score);
    ob_free(key);
    return OB_OK;
oom:
    ob_free(hid);
    ob_free(score);
    ob_free(key);
    wits_free(W);
    return ob_err_set(e, OB_ENOMEM, "out of memory preparing the audit");
}

static void wit_rows(const struct sys *y, struct wit *w, int all)
{
    for (int i = 0; i < w->nrow; i++) {
        size_t f = w->rowf[i];
        if (f != SIZE_MAX && (all || y->f_rel[f] == 0))
            dev_row(y, w->p, i + 1, f, NULL, 0); /* the outsider's view: no partner attacks */
    }
    w->gen = y->gen;
}

/* The problem over the atoms and listed counts of the attackers marked in W->in, and those
 * no attacker's figures hold (everyone else's are fixed at the truth). */
static int wit_build(struct wit *w, const struct sys *y, const struct wits *W)
{
    size_t na = y->na, nv = na + y->nl, nz = 0;
    w->col = ob_calloc(nv + 1, sizeof(int));
    w->rowf = ob_malloc((2 * y->nf + 1) * sizeof(size_t));
    if (!w->col || !w->rowf)
        return -1;
    int ncol = 0;
    for (size_t v = 0; v < nv; v++) {
        uint32_t o = v < na ? W->own[v] : y->l_att[v - na];
        if (o == NOROW || (o != MULTI && W->in[o]))
            w->col[v] = 2 * ncol++ + 1;
    }
    w->nrow = 0;
    for (size_t f = 0; f < y->nf; f++) {
        size_t k = 0;
        for (size_t i = y->fa_off[f]; i < y->fa_off[f + 1]; i++)
            k += w->col[y->fa[i]] != 0;
        if (k)
            w->rowf[w->nrow++] = f;
        nz += 2 * k;
    }
    for (size_t f = 0; f < y->nf; f++) {
        if (y->f_listed[f] == SIZE_MAX)
            continue;
        size_t k = w->col[na + y->f_listed[f]] != 0;
        for (size_t i = y->fa_off[f]; i < y->fa_off[f + 1]; i++)
            k += w->col[y->fa[i]] != 0;
        if (!k)
            continue;
        w->rowf[w->nrow++] = y->nf + f; /* a complement row: SIZE_MAX once built */
        nz += 2 * k;
    }
    int *ia = ob_malloc((nz + 1) * sizeof(int)), *ja = ob_malloc((nz + 1) * sizeof(int));
    double *ar = ob_malloc((nz + 1) * sizeof(double));
    if (!ia || !ja || !ar) {
        ob_free(ia);
        ob_free(ja);
        ob_free(ar);
        return -1;
    }
    glp_prob *p = glp_create_prob();
    w->p = p;
    glp_add_cols(p, 2 * ncol > 0 ? 2 * ncol : 1);
    glp_add_rows(p, w->nrow > 0 ? w->nrow : 1);
    for (int j = 1; j <= 2 * ncol; j++)
        glp_set_col_kind(p, j, GLP_IV);
    for (size_t v = 0; v < nv; v++)
        if (w->col[v])
            dev_cols(y, p, w->col[v], v, 0);
    size_t z = 0;
    for (int r = 0; r < w->nrow; r++) {
        size_t f = w->rowf[r];
        int comp = f >= y->nf;
        if (comp)
            f -= y->nf;
        double sg = comp ? -1 : 1;
        for (size_t i = y->fa_off[f]; i < y->fa_off[f + 1]; i++)
            if (w->col[y->fa[i]])
                for (int s = 0; s < 2; s++) {
                    z++;
                    ia[z] = r + 1;
                    ja[z] = w->col[y->fa[i]] + s;
                    ar[z] = s ? -sg : sg;
                }
        if (comp) {
            int j = w->col[na + y->f_listed[f]];
            for (int s = 0; s < 2 && j; s++) {
                z++;
                ia[z] = r + 1;
                ja[z] = j + s;
                ar[z] = s ? -1 : 1;
            }
            glp_set_row_bnds(p, r + 1, GLP_LO, (double)(y->f_true[f] - y->l_true[y->f_listed[f]]),
                             0);
            w->rowf[r] = SIZE_MAX;
        }
    }
    glp_load_matrix(p, (int)z, ia, ja, ar);
    ob_free(ia);
    ob_free(ja);
    ob_free(ar);
    wit_rows(y, w, 1);
    return 0;
}

/* Is target t (variables a->tv/a->tc) safe in witness problem w? Its range in *lo, *hi. */
static int wit_safe(const struct sys *y, struct wit *w, const struct alp *a, const struct target *t,
                    int64_t *lo, int64_t *hi)
{
    if (w->gen != y->gen)
        wit_rows(y, w, 0);
    size_t k = 0;
    for (size_t i = 0; i < a->ntv; i++)
        if (w->col[a->tv[i]]) {
            glp_set_obj_coef(w->p, w->col[a->tv[i]], a->tc[i]);
            glp_set_obj_coef(w->p, w->col[a->tv[i]] + 1, -a->tc[i]);
            k++;
        }
    if (!k)
        return 0; /* none of its patients can move here */
    struct lp lp = {.p = w->p};
    double v[2] = {0, 0};
    int rc = 0, integral = 1, ncol = glp_get_num_cols(w->p);
    for (int s = 0; s < 2 && !rc; s++) {
        rc = solve(&lp, s ? GLP_MAX : GLP_MIN, 10000, &v[s]);
        for (int j = 1; j <= ncol && integral && !rc && !isinf(v[s]); j++) {
            double x = glp_get_col_prim(w->p, j);
            integral = fabs(x - floor(x + 0.5)) < 1e-9;
        }
    }
    /* the rule alp_range applies: integer extremes, or an LP range two wider, else branch
     * and bound (a small problem: a few hundred nodes at most) */
    if (!rc && !integral && v[1] < BIGV / 2 && v[1] - v[0] < y->L->protection + 2) {
        /* the integer range lies within the LP's (rounded inwards): when that is already
         * narrower than P, or the integer minimum leaves less than P to the LP maximum, the
         * witness cannot prove the quantity safe, and branching on would be wasted */
        /* A witness needs no extreme tables, only two integer tables P apart (every table of
         * it is a table of the whole system): branch and bound stops at the first that goes
         * far enough, and a table it found before its node limit counts too. The true table
         * (no change, value 0 here) is one of them. The range recorded is then one that
         * tables prove, inside the witness's exact range (and so inside the whole
         * problem's). */
        double hi_lp = floor(v[1] + LP_TOL), P = y->L->protection;
        lp.mip = 1;
        lp.stop_obj = 1;
        double lo_lp = ceil(v[0] - LP_TOL);
        /* the side with room for P from the truth first: the truth is then the other end,
         * and the second search runs only when the first did not get that far */
        int up = hi_lp >= P ? 1 : lo_lp <= -P ? 0 : 1;
        if (hi_lp - lo_lp < P)
            rc = 1;
        v[0] = v[1] = 0;
        for (int pass = 0; pass < 2 && !rc; pass++) {
            int mx = pass == 0 ? up : !up; /* this search maximises */
            double need = mx ? v[0] + P : v[1] - P;
            if (pass == 0)
                need = mx ? (hi_lp >= P ? P : hi_lp) : (lo_lp <= -P ? -P : lo_lp);
            else if (mx ? v[1] >= need - 1e-6 : v[0] <= need + 1e-6)
                break; /* P apart already */
            if (pass == 1 && (mx ? hi_lp < need - 1e-6 : lo_lp > need + 1e-6)) {
                rc = 1; /* the LP bound says no table gets that far */
                break;
            }
            lp.stop_at = need;
            double got = 0;
            rc = solve(&lp, mx ? GLP_MAX : GLP_MIN, 500, &got); /* 500 nodes */
            rc = rc == 2 ? 0 : rc;
            if (!rc && mx)
                v[1] = got > 0 ? got : 0;
            else if (!rc)
                v[0] = got < 0 ? got : 0;
        }
        integral = 1;
    }
    for (size_t i = 0; i < a->ntv; i++)
        if (w->col[a->tv[i]]) {
            glp_set_obj_coef(w->p, w->col[a->tv[i]], 0);
            glp_set_obj_coef(w->p, w->col[a->tv[i]] + 1, 0);
        }
    if (rc)
        return 0;
    double va = (double)t->truev + v[0], vb = (double)t->truev + v[1];
    double tol = integral ? 1e-6 : LP_TOL;
    *lo = (int64_t)ceil(va - tol);
    *hi = isinf(vb) || vb >= BIGV / 2 ? OB_STATS_UNBOUNDED : (int64_t)floor(vb + tol);
    return range_safe(y, *lo, *hi);
}

struct cover {
    size_t nw;
    struct {
        uint32_t part[W_SET]; /* the partners whose atoms it moves */
        size_t npart;
        int64_t lo, hi;
    } w[W_TRIES]; /* safe witnesses */
};

/* Does a witness moving the partners part[0..npart) move a clinic of attacker {a, b} (NOROW
 * for none)? */
static int hits(const uint32_t *part, size_t npart, uint32_t a, uint32_t b)
{
    for (size_t i = 0; i < npart; i++)
        if (part[i] == a || part[i] == b)
            return 1;
    return 0;
}

/* Is attacker S (indices into y->att) covered? The witness's range in r. */
static int covered(const struct cover *cv, const size_t *S, size_t nS, struct res *r)
{
    uint32_t a = nS > 0 ? (uint32_t)S[0] : NOROW, b = nS > 1 ? (uint32_t)S[1] : NOROW;
    for (size_t i = 0; i < cv->nw; i++) {
        if (hits(cv->w[i].part, cv->w[i].npart, a, b))
            continue;
        if (r)
            *r = (struct res){cv->w[i].lo, cv->w[i].hi, 0, 1, 0};
        return 1;
    }
    return 0;
}

static int applies(const struct sys *y, const struct target *t, const size_t *S, size_t nS);

/* The attackers t applies to that no witness covers yet, as pairs of attacker indices in u
 * (NOROW for none: the outsider, a member); returns how many. */
static size_t uncovered(const struct cover *cv, const struct sys *y, const struct target *t,
                        uint32_t *u)
{
    size_t m = 0;
    if (applies(y, t, NULL, 0) && !covered(cv, NULL, 0, NULL)) {
        u[2 * m] = u[2 * m + 1] = NOROW;
        m++;
    }
    for (size_t i = 0; i < y->natt; i++) {
        if (applies(y, t, &i, 1) && !covered(cv, &i, 1, NULL)) {
            u[2 * m] = (uint32_t)i;
            u[2 * m + 1] = NOROW;
            m++;
        }
        for (size_t j = i + 1; j < y->natt && y->L->pairs; j++) {
            size_t S[2] = {i, j};
            if (applies(y, t, S, 2) && !covered(cv, S, 2, NULL)) {
                u[2 * m] = (uint32_t)i;
                u[2 * m + 1] = (uint32_t)j;
                m++;
            }
        }
    }
    return m;
}

/* Would a witness over set's partners cover one of the m attackers in u? */
static int useful(const struct wset *set, const uint32_t *u, size_t m)
{
    for (size_t k = 0; k < m; k++)
        if (!hits(set->part, set->npart, u[2 * k], u[2 * k + 1]))
            return 1;
    return 0;
}

static uint32_t att_of(const struct sys *y, uint32_t owner)
{
    for (size_t i = 0; i < y->natt && owner != NOROW; i++)
        if (y->att[i] == owner)
            return (uint32_t)i;
    return NOROW;
}

/* Which attackers witnesses prove t safe for (a->tv/tc hold t's variables). */
static ob_status wit_cover(struct wits *W, const struct sys *y, struct alp *a,
                           const struct target *t, struct cover *cv, ob_err *e)
{
    cv->nw = 0;
    uint32_t c = att_of(y, t->owner);
    if (c == NOROW || y->L->exact)
        return OB_OK;
    struct wset *ws = W->set + c * W_CAND;
    size_t tries = 0, m = SIZE_MAX; /* m: attackers still uncovered (SIZE_MAX: all) */
    for (size_t k = 0; k < W_CAND && tries < W_TRIES; k++) {
        if ((k >= W->nset[c] && k < W_FIX) || (k >= W_FIX && ws[k].npart == 0))
            continue;
        struct wset *set = &ws[k];
        if (m != SIZE_MAX && !useful(set, W->unc, m))
            continue; /* it would cover only attackers already covered */
        tries++;
        if (!set->w.p) {
            W->in[c] = 1;
            for (size_t i = 0; i < set->npart; i++)
                W->in[set->part[i]] = 1;
            int bad = wit_build(&set->w, y, W);
            memset(W->in, 0, W->n);
            if (bad)
                return ob_err_set(e, OB_ENOMEM, "out of memory auditing");
        }
        int64_t lo = 0, hi = 0;
        if (!wit_safe(y, &set->w, a, t, &lo, &hi))
            continue;
        cv->w[cv->nw].npart = set->npart;
        memcpy(cv->w[cv->nw].part, set->part, set->npart * sizeof *set->part);
        cv->w[cv->nw].lo = lo;
        cv->w[cv->nw].hi = hi;
        cv->nw++;
        if ((m = uncovered(cv, y, t, W->unc)) == 0)
            break;
    }
    return OB_OK;
}

/* The whole problem's extreme tables for a quantity of clinic c moved the clinics marked
 * in mv (and what the attacker knows stayed put): a partner set worth trying first for
 * c's next quantities. The oldest learnt set gives way when the list is full. */
static void wit_learn(struct wits *W, const struct sys *y, const struct target *t,
                      const uint8_t *mv)
{
    uint32_t c = att_of(y, t->owner);
    if (c == NOROW)
        return;
    struct wset add = {{0}, 0, {0}};
    for (size_t i = 0; i < W->n; i++)
        if (mv[i] && i != c) {
            if (add.npart == W_SET)
                return;
            add.part[add.npart++] = (uint32_t)i;
        }
    struct wset *ws = W->set + c * W_CAND;
    for (size_t k = 0; k < W_CAND; k++)
        if ((k < W->nset[c] || k >= W_FIX) && ws[k].npart == add.npart &&
            !memcmp(ws[k].part, add.part, add.npart * sizeof *add.part))
            return;
    if (W->nset[c] == W_FIX) { /* full: the oldest learnt set (slot 1) gives way */
        wit_free(&ws[1].w);
        memmove(ws + 1, ws + 2, (W_FIX - 2) * sizeof *ws);
        W->nset[c]--;
    }
    ws[W->nset[c]++] = add;
}

static ob_status record(ob_stats_audit *out, const struct sys *y, const struct target *t,
                        const size_t *S, size_t nS, const struct res *r, ob_err *e)
{
    if (!out)
        return OB_OK;
    ob_stats_finding fd = {0};
    fd.fig = t->kind == T_FIG && y->f_rel[t->f] == 0 ? y->f_fig[t->f] : SIZE_MAX;
    fd.attacker = nS ? 1 + row_of(y, y->att[S[0]]) : 0;
    fd.attacker2 = nS == 2 ? 1 + row_of(y, y->att[S[1]]) : 0;
    fd.complement = t->kind == T_COMP;
    fd.kind = (int)t->kind;
    fd.lo = r->rc ? 0 : r->lo;
    fd.hi = r->rc ? 0 : r->hi;
    fd.safe = r->safe || r->prior;
    fd.prior = r->prior;
    if (ob_grow((void **)&out->f, &out->cap, out->n + 1, sizeof fd))
        return ob_err_set(e, OB_ENOMEM, "out of memory auditing");
    out->f[out->n++] = fd;
    out->n_unsafe += !fd.safe;
    return OB_OK;
}

/* Range of t for the attacker S (indices into y->att). protect: hide figures of release 0
 * until it is safe (or exposed by earlier releases alone), else refuse. */
static ob_status eval(struct sys *y, struct alp *a, struct alp *ap, ob_stats_table *t0,
                      const struct target *t, int protect, int mip, const size_t *S, size_t nS,
                      struct res *r, uint8_t *moved, ob_err *e)
{
    uint32_t A[2] = {0, 0};
    for (size_t i = 0; i < nS; i++)
        A[i] = y->att[S[i]];
    for (int round = 0;; round++) {
        alp_set(y, a, A, nS);
        memset(moved, 0, y->natt);
        r->rc = alp_range(y, a, t, mip, &r->lo, &r->hi, moved);
        r->safe = r->rc == 0 && range_safe(y, r->lo, r->hi);
        r->prior = !r->safe && alp_prior(y, ap, A, nS, t, mip);
        if (!protect || r->safe || r->prior)
            return OB_OK;
        size_t nh = 0;
        /* when branch and bound gave up, widen the LP range until it is accepted on its own */
        ob_status st = deviate(y, t0, A, nS, t, y->L->protection + (r->rc ? 2 : 0), &nh, e);
        if (st)
            return st;
        if (nh == 0) {
            /* the LP relaxation is wide but the integer range is not: hide the smallest
             * released figure of the quantity's clinic, else any */
            size_t best = SIZE_MAX;
            for (int pass = 0; pass < 2 && best == SIZE_MAX; pass++)
                for (size_t f = 0; f < y->rel_off[1]; f++)
                    if (y->f_pub[f] == PUB_EXACT && (pass || y->f_owner[f] == t->owner) &&
                        (best == SIZE_MAX || y->f_true[f] < y->f_true[best]))
                        best = f;
            if (best != SIZE_MAX) {
                t0->state[y->f_fig[best]] = OB_STATS_SECONDARY;
                y->f_pub[best] = PUB_HIDDEN;
                y->gen++;
                nh = 1;
            }
        }
        if (nh == 0 || round > 64)
            return ob_err_set(e, OB_EDENIED,
                              "release refused: a small group (%lld patient(s)) cannot be "
                              "protected against %s (range %lld..%lld) (R-STAT-2)",
                              (long long)t->truev,
                              nS == 0   ? "the outsider"
                              : nS == 1 ? "a member clinic"
                                        : "two member clinics together",
                              (long long)r->lo, (long long)r->hi);
        for (size_t f = 0; f < y->rel_off[1]; f++)
            alp_row(y, a, f);
    }
}

/* Does attacker S audit t at all? Not when it owns the quantity (it knows it), nor for a
 * margin when what S's own rows leave of it is not small. */
static int applies(const struct sys *y, const struct target *t, const size_t *S, size_t nS)
{
    uint32_t A[2] = {0, 0};
    for (size_t i = 0; i < nS; i++)
        A[i] = y->att[S[i]];
    if (t->owner != NOROW && knows(A, nS, t->owner))
        return 0;
    if (t->kind == T_FIG && t->owner == NOROW && !nS)
        return y->f_pub[t->f] != PUB_EXACT && sensitive(y->s, t->truev);
    if (t->kind == T_FIG && t->owner == NOROW && nS) {
        int64_t own = own_part(y, t->f, A, nS);
        if (own < 0 || !sensitive(y->s, t->truev - own))
            return 0;
    }
    return 1;
}

/* Hiding widens every range: after a hide (y->gen moved) the witnesses are tried again. */
static ob_status recover(struct wits *W, const struct sys *y, struct alp *a, const struct target *t,
                         struct cover *cv, unsigned *gen, ob_err *e)
{
    if (y->gen == *gen)
        return OB_OK;
    *gen = y->gen;
    alp_target(y, a, t);
    return wit_cover(W, y, a, t, cv, e);
}

/* One pass over the targets: for each, the attackers its witnesses cover (above), then for
 * the rest the outsider, the member clinics and the pairs the extreme tables call for; the
 * others' ranges are recorded as proven equal to one computed. */
static ob_status run(struct sys *y, ob_stats_table *t0, int protect, int mip, ob_stats_audit *out,
                     ob_err *e)
{
    size_t n = y->natt;
    struct alp a, ap = {0};
    struct wits W;
    ob_status st = alp_build(&a, y, mip, 0, e);
    if (st)
        return st;
    if ((st = wits_init(&W, y, e))) {
        alp_free(&a);
        return st;
    }
    uint8_t *m0 = ob_calloc(n + 1, 1), *m1 = ob_calloc(n * n + 1, 1), *ev = ob_calloc(n + 1, 1);
    uint8_t *mv = ob_calloc(n + 1, 1);
    struct res *r1 = ob_calloc(n + 1, sizeof *r1);
    if (!m0 || !m1 || !ev || !mv || !r1) {
        st = ob_err_set(e, OB_ENOMEM, "out of memory auditing");
        goto out;
    }
    for (size_t ti = 0; ti < y->nt && !st; ti++) {
        const struct target *t = &y->t[ti];
        /* a margin's remainder changes with who looks: every attacker is audited */
        int all = t->kind == T_FIG && t->owner == NOROW;
        struct cover cv = {0};
        if (!all) {
            alp_target(y, &a, t);
            if ((st = wit_cover(&W, y, &a, t, &cv, e)))
                break;
        }
        struct res r0 = {0}, rw;
        int ev0 = 0;
        unsigned gen = y->gen;
        /* the outsider's extreme tables show which members need a problem of their own:
         * worth having whenever a member is not covered */
        int need0 = 0;
        for (size_t i = 0; i < n && !need0; i++)
            need0 = applies(y, t, &i, 1) && !covered(&cv, &i, 1, &rw);
        if (applies(y, t, NULL, 0)) {
            if (!need0 && covered(&cv, NULL, 0, &rw)) {
                st = record(out, y, t, NULL, 0, &rw, e);
            } else {
                ev0 = 1;
                st = eval(y, &a, &ap, t0, t, protect, mip, NULL, 0, &r0, m0, e);
                if (!st)
                    st = record(out, y, t, NULL, 0, &r0, e);
                if (!st && r0.safe)
                    wit_learn(&W, y, t, m0);
                if (!st && !all)
                    st = recover(&W, y, &a, t, &cv, &gen, e);
                /* exposed by earlier releases alone to the outsider, so to everyone (each
                 * knows more); nothing this release hides changes that: recorded as such,
                 * with the outsider's range (every other attacker's lies within it) */
                for (size_t i = 0; i < n && !st && r0.prior && !all; i++) {
                    if (applies(y, t, &i, 1))
                        st = record(out, y, t, &i, 1, &r0, e);
                    for (size_t j = i + 1; j < n && !st && y->L->pairs; j++) {
                        size_t S[2] = {i, j};
                        if (applies(y, t, S, 2))
                            st = record(out, y, t, S, 2, &r0, e);
                    }
                }
                if (r0.prior && !all)
                    continue;
            }
        }
        for (size_t i = 0; i < n && !st; i++) {
            ev[i] = 0;
            if (!applies(y, t, &i, 1))
                continue;
            /* a member's own extreme tables are what lets its pairs be derived */
            int pairs_open = 0;
            for (size_t j = 0; j < n && !pairs_open && y->L->pairs; j++) {
                size_t S[2] = {i < j ? i : j, i < j ? j : i};
                pairs_open = j != i && applies(y, t, S, 2) && !covered(&cv, S, 2, &rw);
            }
            int cov = covered(&cv, &i, 1, &rw);
            if (cov && !pairs_open) {
                st = record(out, y, t, &i, 1, &rw, e);
            } else if (all || !ev0 || m0[i]) {
                ev[i] = 1;
                st = eval(y, &a, &ap, t0, t, protect, mip, &i, 1, &r1[i], m1 + i * n, e);
                if (!st)
                    st = record(out, y, t, &i, 1, &r1[i], e);
                if (!st && r1[i].safe)
                    wit_learn(&W, y, t, m1 + i * n);
                if (!st && !all)
                    st = recover(&W, y, &a, t, &cv, &gen, e);
            } else {
                st = record(out, y, t, &i, 1, cov ? &rw : &r0, e);
            }
        }
        for (size_t i = 0; i < n && !st && y->L->pairs; i++)
            for (size_t j = i + 1; j < n && !st; j++) {
                size_t S[2] = {i, j};
                if (!applies(y, t, S, 2))
                    continue;
                const struct res *src = NULL;
                if (covered(&cv, S, 2, &rw))
                    src = &rw;
                else if (!all) {
                    if (ev[i] && !m1[i * n + j])
                        src = &r1[i];
                    else if (ev[j] && !m1[j * n + i])
                        src = &r1[j];
                    else if (ev0 && !m0[i] && !m0[j])
                        src = &r0;
                }
                struct res r;
                if (!src && !(st = eval(y, &a, &ap, t0, t, protect, mip, S, 2, &r, mv, e))) {
                    src = &r;
                    if (r.safe)
                        wit_learn(&W, y, t, mv);
                }
                if (!st)
                    st = record(out, y, t, S, 2, src, e);
                if (!st && !all)
                    st = recover(&W, y, &a, t, &cv, &gen, e);
            }
    }
out:
    ob_free(m0);
    ob_free(m1);
    ob_free(ev);
    ob_free(mv);
    ob_free(r1);
    wits_free(&W);
    alp_free(&a);
    if (ap.lp.p)
        alp_free(&ap);
    return st;
}

static ob_status check_link(const ob_stats_link *L, const ob_stats_sdc *s, ob_err *e)
{
    if (s->k < 3)
        return ob_err_set(e, OB_EINVAL, "threshold too low: k=%d (R-STAT-2)", s->k);
    if (!L->n || !L->rel || L->protection < 1)
        return ob_err_set(e, OB_EINVAL, "linked audit: no release or protection level < 1");
    for (size_t r = 0; r < L->n; r++)
        if (!L->rel[r].r || !L->rel[r].r->table || !L->rel[r].owner)
            return ob_err_set(e, OB_EINVAL, "linked audit: release %zu incomplete", r);
    return OB_OK;
}

static ob_status link_audit(const ob_stats_link *L, const ob_stats_sdc *s, ob_stats_audit *out,
                            ob_err *e)
{
    memset(out, 0, sizeof *out);
    ob_status st = check_link(L, s, e);
    if (st)
        return st;
    glp_term_out(GLP_OFF);
    struct sys y;
    if ((st = sys_build(&y, L, s, e)) || (st = sys_targets(&y, e))) {
        sys_free(&y);
        return st;
    }
    st = run(&y, L->rel[0].r->table, 0, 1, out, e);
    sys_free(&y);
    if (st)
        ob_stats_audit_free(out);
    return st;
}

/* After an audit: over the work limit, whatever the run concluded from its failed solves,
 * is a refusal that says so. */
static ob_status work_verdict(const ob_stats_link *L, ob_status st, ob_err *e)
{
    if (!work_over)
        return st;
    return ob_err_set(e, OB_EDENIED,
                      "release refused: auditing it jointly with its %zu earlier release(s) "
                      "needs more than the audit's work limit (%llu simplex iterations and "
                      "search nodes); nothing is published that has not been proven safe "
                      "(R-STAT-8)",
                      L->n - 1, (unsigned long long)work_limit);
}

static ob_status link_protect(const ob_stats_link *L, const ob_stats_sdc *s, ob_stats_audit *audit,
                              ob_err *e)
{
    if (audit)
        memset(audit, 0, sizeof *audit);
    ob_status st = check_link(L, s, e);
    if (st)
        return st;
    ob_stats_table *t = L->rel[0].r->table;
    if ((st = ob_stats_table_check(t, e)))
        return st;
    int64_t grand = t->value[ob_stats_fig_grand(t)];
    if (grand < s->k)
        return ob_err_set(e, OB_EDENIED,
                          "release refused: the table rests on fewer than %d persons (R-STAT-2)",
                          s->k);
    /* primary suppression: small figures, and row totals whose complement is small */
    for (size_t f = 0; f < t->n_fig; f++)
        if (t->state[f] == OB_STATS_RELEASED && sensitive(s, t->value[f]))
            t->state[f] = OB_STATS_PRIMARY; /* (one already hidden as `x` stays so) */
    if (t->row_cap)
        for (size_t r = 0; r < t->rows; r++) {
            size_t f = ob_stats_fig_row(t, r);
            int64_t c = t->row_cap[r] - t->value[f];
            if (t->state[f] == OB_STATS_RELEASED && c > 0 && c < s->k)
                t->state[f] = OB_STATS_PRIMARY;
        }
    glp_term_out(GLP_OFF);
    struct sys y;
    if ((st = sys_build(&y, L, s, e)) || (st = sys_targets(&y, e))) {
        sys_free(&y);
        return st;
    }
    /* LP search, then the integer audit; a failing integer finding goes back to the search
     * (as an integer deviation would), at most a few times, else the release is refused */
    /* one pass protects and records (hiding only widens ranges, so a quantity recorded safe
     * stays safe); hiding adds clinics that know more than the outsider: until none is added */
    ob_stats_audit a = {0};
    for (;;) {
        size_t before = y.natt;
        if ((st = sys_targets(&y, e)) || (st = run(&y, t, 1, 1, &a, e)) ||
            (st = sys_targets(&y, e)))
            break;
        if (y.natt == before) {
            if (audit)
                *audit = a;
            else
                ob_stats_audit_free(&a);
            sys_free(&y);
            return OB_OK;
        }
    }
    ob_stats_audit_free(&a);
    sys_free(&y);
    return st;
}

/* GLPK keeps an environment per thread (its allocator, terminal hooks); a server thread that
 * ends would leak it, so each call frees it when done (every problem is deleted by then). */
ob_status ob_stats_link_audit(const ob_stats_link *L, const ob_stats_sdc *s, ob_stats_audit *out,
                              ob_err *e)
{
    work_done = 0;
    work_over = 0;
    work_limit = L ? L->work_limit : 0;
    ob_status st = link_audit(L, s, out, e);
    glp_free_env();
    if (!st)
        out->work = work_done;
    if (work_over && !st)
        ob_stats_audit_free(out);
    return L ? work_verdict(L, st, e) : st;
}

ob_status ob_stats_link_protect(const ob_stats_link *L, const ob_stats_sdc *s,
                                ob_stats_audit *audit, ob_err *e)
{
    work_done = 0;
    work_over = 0;
    work_limit = L ? L->work_limit : 0;
    ob_status st = link_protect(L, s, audit, e);
    glp_free_env();
    if (!st && audit)
        audit->work = work_done;
    if (work_over && !st && audit)
        ob_stats_audit_free(audit);
    return L ? work_verdict(L, st, e) : st;
}
