/* stats.h - the statistics core of overblik: cluster quality reports that identify no one,
 * not even to a member clinic (R-STAT-1..4, R-STAT-6).
 *
 * Pipeline: the store fills an ob_stats_dataset (columnar, in memory); ob_stats_report_build
 * aggregates it into an ob_stats_report (per clinic counts plus, per figure, the sorted set of
 * contributing patient ids - kept for differencing control, never released);
 * ob_stats_protect applies primary and secondary suppression until the exact auditor
 * (ob_stats_audit) passes for the outsider and for every member clinic; the release history
 * (ob_stats_history) blocks differencing against earlier releases. Pseudonyms, rounding,
 * differential-privacy noise and rendering are separate steps on the protected table.
 *
 * Everything here is pure: no file, network or database access. Functions returning memory
 * name its owner; `_new` results are freed with the matching `_free`. Pointers taken as
 * const are borrowed for the duration of the call unless stated otherwise. */
#ifndef OB_STATS_STATS_H
#define OB_STATS_STATS_H

#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

#include "core/err.h"
#include "core/time.h"

/* ---------------------------------------------------------------------------------------
 * Dataset (filled by the store). Columnar arrays, all owned by the dataset.
 * ------------------------------------------------------------------------------------- */

#define OB_STATS_NO_CLINIC UINT32_MAX
#define OB_STATS_CODE_MAX  12 /* diagnosis code incl. NUL, e.g. "T90.1", "E11.9" */
#define OB_STATS_PROV_MAX  16 /* provider number incl. NUL */

enum ob_stats_obs_kind { OB_STATS_OBS_SYSTOLIC = 1, OB_STATS_OBS_DIASTOLIC = 2 };

typedef struct ob_stats_dataset {
    /* clinics */
    size_t n_clinics, cap_clinics;
    char (*clinic_provider)[OB_STATS_PROV_MAX];
    uint32_t *clinic_cluster;
    /* patients: internal id = index. Listing [list_from, list_to); list_to OB_TIME_MAX = open */
    size_t n_patients, cap_patients;
    uint32_t *pat_clinic; /* OB_STATS_NO_CLINIC if never listed */
    ob_time *pat_list_from, *pat_list_to;
    /* diagnoses */
    size_t n_diag, cap_diag;
    uint32_t *diag_patient;
    char (*diag_code)[OB_STATS_CODE_MAX];
    ob_time *diag_time;
    /* observations */
    size_t n_obs, cap_obs;
    uint32_t *obs_patient;
    uint8_t *obs_kind;
    ob_time *obs_time;
    int32_t *obs_value;
    /* annual check-ups */
    size_t n_chk, cap_chk;
    uint32_t *chk_patient;
    ob_time *chk_time;
} ob_stats_dataset;

ob_stats_dataset *ob_stats_dataset_new(void);
void ob_stats_dataset_free(ob_stats_dataset *d);
/* Pre-sizes the arrays (optional; the add functions grow them as needed). */
ob_status ob_stats_dataset_reserve(ob_stats_dataset *d, size_t clinics, size_t patients,
                                   size_t diags, size_t obs, size_t chks, ob_err *e);
/* Each add returns OB_EINVAL on a dangling index or over-long string. *id_out may be NULL. */
ob_status ob_stats_add_clinic(ob_stats_dataset *d, const char *provider, uint32_t cluster,
                              uint32_t *id_out, ob_err *e);
ob_status ob_stats_add_patient(ob_stats_dataset *d, uint32_t clinic, ob_time from, ob_time to,
                               uint32_t *id_out, ob_err *e);
ob_status ob_stats_add_diagnosis(ob_stats_dataset *d, uint32_t patient, const char *code, ob_time t,
                                 ob_err *e);
ob_status ob_stats_add_observation(ob_stats_dataset *d, uint32_t patient, uint8_t kind, ob_time t,
                                   int32_t value, ob_err *e);
ob_status ob_stats_add_checkup(ob_stats_dataset *d, uint32_t patient, ob_time t, ob_err *e);

/* Hierarchical code match: dots are ignored and the code must start with the prefix,
 * case-insensitively ("T90" covers "T90", "T90.1", "t901"; "E11" covers "E11.9"). */
int ob_stats_code_matches(const char *code, const char *prefix);

/* ---------------------------------------------------------------------------------------
 * Tables and disclosure control (R-STAT-2, R-STAT-6).
 *
 * A table has rows (clinics) and columns split into 1 or 2 column groups; every group
 * partitions the row total (e.g. blood-pressure bands, and check-up yes/no, of the diagnosed).
 * Figures are numbered: cells r*cols+c, then row totals, then column totals, then the grand
 * total (ob_stats_fig_* give the numbers). Row caps are public upper bounds on row totals
 * (listed patients); the complement cap - row total is protected like a figure.
 * ------------------------------------------------------------------------------------- */

#define OB_STATS_MAX_GROUPS 2
#define OB_STATS_UNBOUNDED  INT64_MAX

enum ob_stats_fig_state {
    OB_STATS_RELEASED = 0,
    OB_STATS_PRIMARY = 1,     /* under the threshold */
    OB_STATS_SECONDARY = 2,   /* hidden so that a primary one cannot be derived */
    OB_STATS_DIFFERENCING = 3 /* hidden because an earlier release would expose a small group */
};

typedef struct ob_stats_table {
    size_t rows, cols, n_fig;
    size_t ngroups;
    size_t group_start[OB_STATS_MAX_GROUPS + 1]; /* group g = cols [start[g], start[g+1]) */
    int64_t *value;                              /* n_fig true values */
    uint8_t *state;                              /* n_fig enum ob_stats_fig_state */
    int64_t *row_cap; /* rows or NULL; owned (ob_malloc), freed by ob_stats_table_free */
} ob_stats_table;

static inline size_t ob_stats_fig_cell(const ob_stats_table *t, size_t r, size_t c)
{
    return r * t->cols + c;
}
static inline size_t ob_stats_fig_row(const ob_stats_table *t, size_t r)
{
    return t->rows * t->cols + r;
}
static inline size_t ob_stats_fig_col(const ob_stats_table *t, size_t c)
{
    return t->rows * t->cols + t->rows + c;
}
static inline size_t ob_stats_fig_grand(const ob_stats_table *t)
{
    return t->n_fig - 1;
}
static inline int ob_stats_suppressed(const ob_stats_table *t, size_t f)
{
    return t->state[f] != OB_STATS_RELEASED;
}

/* group_sizes: ngroups column counts. All figures start released with value 0. */
ob_stats_table *ob_stats_table_new(size_t rows, size_t ngroups, const size_t *group_sizes);
void ob_stats_table_free(ob_stats_table *t);
/* Fills row, column and grand totals from the cells (group 0 defines the row total). */
void ob_stats_table_fill_totals(ob_stats_table *t);
/* OB_EINVAL if a group does not sum to its row total, a total is wrong, or a value < 0. */
ob_status ob_stats_table_check(const ob_stats_table *t, ob_err *e);

typedef struct ob_stats_sdc {
    int k;              /* threshold: 5 for cluster reports, 10 for planning (R-STAT-6); >= 3 */
    int zeros_released; /* 1: a true zero is released; 0: zeros are sensitive like 1..k-1 */
} ob_stats_sdc;

/* One auditor finding: the exact range an attacker can derive for a suppressed figure.
 * attacker 0 is the outsider, attacker 1+r is the clinic of row r knowing its own row. */
typedef struct ob_stats_finding {
    size_t fig;       /* SIZE_MAX: not a figure of this release (linked audit) */
    size_t attacker;  /* 0 outsider, 1 + row */
    size_t attacker2; /* linked audit: 0, or 1 + row of the second clinic of a pair */
    int kind;         /* linked audit: 0 figure, 1 complement, 2 intersection, 3 difference */
    int64_t lo, hi;   /* hi == OB_STATS_UNBOUNDED when nothing bounds it */
    int complement;   /* 1: the range is of row_cap - row total (the undiagnosed) */
    int safe;
    int prior; /* linked audit: exposed by earlier releases alone, whatever this one shows */
} ob_stats_finding;

typedef struct ob_stats_audit {
    size_t n, cap;
    ob_stats_finding *f;
    size_t n_unsafe;
    uint64_t work; /* the linked auditor's work (ob_stats_link.work_limit's unit) */
} ob_stats_audit;

void ob_stats_audit_free(ob_stats_audit *a);

/* Safety rule for a derived range (documented in docs/statistics.md): unsafe when pinned to
 * one value (lo == hi) or when the whole range lies in the sensitive set, which is 1..k-1, or
 * 0..k-1 when zeros are sensitive. */
int ob_stats_range_safe(const ob_stats_sdc *s, int64_t lo, int64_t hi);

/* Exact auditor. For every suppressed figure and every attacker (outsider and each row)
 * computes the min and max over all nonnegative integer tables agreeing with the released
 * figures (and the attacker's own row). Exact: the table is a network and the bounds are
 * max-flow computations in its residual graph (integral). *out is owned by the caller
 * (free with ob_stats_audit_free). */
ob_status ob_stats_audit_run(const ob_stats_table *t, const ob_stats_sdc *s, ob_stats_audit *out,
                             ob_err *e);

/* Primary suppression (figures and row complements under k), then secondary suppression
 * until the audit passes. Keeps OB_STATS_DIFFERENCING states already set by the caller.
 * OB_EDENIED (the table must not be released) when the grand total is under k or no
 * suppression pattern passes. On OB_OK *audit (may be NULL) holds the passing audit. */
ob_status ob_stats_protect(ob_stats_table *t, const ob_stats_sdc *s, ob_stats_audit *audit,
                           ob_err *e);

/* ---------------------------------------------------------------------------------------
 * The linked auditor (linked.c, GLPK): a release audited jointly with every earlier release
 * of overlapping data, labels read as what they say, for the outsider, each member clinic
 * and each pair of clinics (R-STAT-8); secondary suppression chosen by LP.
 * ------------------------------------------------------------------------------------- */

/* What an earlier release published about a figure. */
enum ob_stats_pub_kind {
    OB_STATS_PUB_EXACT = 0,  /* the value */
    OB_STATS_PUB_ROUND = 1,  /* rounded to 5: value -2..+2 */
    OB_STATS_PUB_SMALL = 2,  /* `<k`: 1..k-1 (0..k-1 when zeros are not released) */
    OB_STATS_PUB_HIDDEN = 3, /* `x`: 0 or >= k (>= k when zeros are not released) */
    OB_STATS_PUB_FREE = 4    /* nothing usable (noise) */
};

/* What figure f of a protected table publishes (render.c prints it so): its value, rounded
 * when `rounded`; `<k` on a small cell hidden as primary; `x` on every other hidden one. */
enum ob_stats_pub_kind ob_stats_pub_of(const ob_stats_table *t, const ob_stats_sdc *s, size_t f,
                                       int rounded);

struct ob_stats_report;

typedef struct ob_stats_link_rel {
    const struct ob_stats_report *r; /* borrowed: true values and every figure's patient set */
    const uint32_t *owner;           /* n_rows clinic ids, one id space for all releases */
    const uint8_t *pub;              /* n_fig ob_stats_pub_kind; NULL: from the table's states */
    const int64_t *pub_val;          /* n_fig published values; NULL: the true values */
    const int64_t *listed_lo, *listed_hi; /* n_rows published listed range; NULL: exact */
    ob_time from, to; /* rows of one clinic, period and scope share their listed count */
    int local;        /* clinic-local release */
} ob_stats_link_rel;

typedef struct ob_stats_link {
    size_t n;
    const ob_stats_link_rel *rel; /* rel[0]: the release being decided (its table is changed) */
    int round_current;            /* release 0 publishes its released figures rounded to 5 */
    int protection;               /* a protected quantity's range must be at least this wide */
    int pairs;                    /* audit pairs of clinics too */
    int exact; /* 1: no witness problems, every attacker on the whole problem (the tests
                * compare both; docs/statistics.md "The linked auditor") */
    /* the most work the audit may do: simplex iterations plus branch-and-bound nodes over
     * every problem it solves; 0 = no limit. Past it the release is refused (fail closed)
     * rather than keep a server busy for hours: a count, not a time, so the same query on
     * the same data and history always gets the same answer. */
    uint64_t work_limit;
} ob_stats_link;

/* Audit only (integer programs). *out owned by the caller. */
ob_status ob_stats_link_audit(const ob_stats_link *L, const ob_stats_sdc *s, ob_stats_audit *out,
                              ob_err *e);
/* Primary suppression of release 0, then secondary suppression until the integer audit of
 * the whole linked system passes. OB_EDENIED when no pattern does. */
ob_status ob_stats_link_protect(const ob_stats_link *L, const ob_stats_sdc *s,
                                ob_stats_audit *audit, ob_err *e);

/* ---------------------------------------------------------------------------------------
 * Cluster report (R-STAT-1, R-STAT-4).
 * ------------------------------------------------------------------------------------- */

#define OB_STATS_MAX_BANDS 8

typedef struct ob_stats_query {
    uint32_t cluster;
    ob_time from, to;    /* period [from, to) */
    ob_time report_date; /* data older than five years before this date is ignored */
    const char *code;    /* diagnosis prefix (borrowed) */
    /* systolic bands: band b is [edge[b-1], edge[b]) with edge[-1] = -inf, last open.
     * n_edges == 0 selects the default 130, 140, 150, 160 (five bands). */
    int n_edges;
    int32_t edge[OB_STATS_MAX_BANDS - 1];
} ob_stats_query;

typedef struct ob_stats_report {
    size_t n_rows;
    uint32_t *clinic;   /* n_rows dataset clinic indices */
    int64_t *listed;    /* n_rows patients listed in the period (row caps of the table) */
    int64_t listed_all; /* sum of listed */
    int n_bands;
    int32_t edge[OB_STATS_MAX_BANDS - 1];
    /* table: group 0 = n_bands bands + "no measurement", group 1 = "check-up", "no check-up";
     * row totals = patients with the diagnosis */
    ob_stats_table *table;
    /* contributing patients per figure, CSR, sorted ascending; never released */
    size_t *set_off; /* n_fig + 1 */
    uint32_t *set_ids;
} ob_stats_report;

/* Builds the report. Single passes over the dataset (no sorting). */
ob_status ob_stats_report_build(const ob_stats_dataset *d, const ob_stats_query *q,
                                ob_stats_report **out, ob_err *e);
void ob_stats_report_free(ob_stats_report *r);
/* Protects r->table: refuses (OB_EDENIED) a clinic listing fewer than k patients, then
 * ob_stats_protect with row caps = listed. */
ob_status ob_stats_report_protect(ob_stats_report *r, const ob_stats_sdc *s, ob_stats_audit *audit,
                                  ob_err *e);

/* ---------------------------------------------------------------------------------------
 * Differencing control (R-STAT-2): what the store persists per release.
 * ------------------------------------------------------------------------------------- */

typedef struct ob_stats_release_rec {
    uint32_t cluster;
    char filter[128];  /* human-readable query description */
    size_t n_fig;      /* released figures only */
    size_t *set_off;   /* n_fig + 1 */
    uint32_t *set_ids; /* sorted patient ids per released figure */
} ob_stats_release_rec;

typedef struct ob_stats_history {
    size_t n, cap;
    ob_stats_release_rec *rec;
} ob_stats_history;

void ob_stats_history_init(ob_stats_history *h);
void ob_stats_history_free(ob_stats_history *h);
/* Appends the released figures of a protected report (copies the sets). */
ob_status ob_stats_history_add(ob_stats_history *h, const ob_stats_report *r, uint32_t cluster,
                               const char *filter, ob_err *e);

/* Marks OB_STATS_DIFFERENCING every released figure of r whose patient set and the set of a
 * released figure of an earlier release of the same cluster are nested (one within the
 * other) and differ by 1..k-1 patients: subtracting the two counts would describe exactly
 * those patients. *n_marked receives the count; why (may be NULL) a short explanation. */
ob_status ob_stats_history_check(const ob_stats_history *h, ob_stats_report *r, uint32_t cluster,
                                 const ob_stats_sdc *s, size_t *n_marked, char *why, size_t why_len,
                                 ob_err *e);

/* The full release step: differencing check, protection, loop until both pass; refuses
 * (OB_EDENIED, explanation in e) when no safe release exists. Does not add to history. */
ob_status ob_stats_release(const ob_stats_history *h, ob_stats_report *r, uint32_t cluster,
                           const ob_stats_sdc *s, ob_stats_audit *audit, ob_err *e);

/* ---------------------------------------------------------------------------------------
 * Provider-number pseudonyms (R-STAT-3).
 * ------------------------------------------------------------------------------------- */

enum ob_stats_label_mode {
    OB_STATS_LABEL_PSEUDONYM = 0, /* keyed MAC, stable within the cluster */
    OB_STATS_LABEL_ANONYMOUS = 1, /* random per release, rows shuffled: unlinkable */
    OB_STATS_LABEL_OPEN = 2       /* provider numbers as they are (agreed by the cluster) */
};

typedef struct ob_stats_agreement {
    enum ob_stats_label_mode mode;
    unsigned char key[32]; /* the cluster key (pseudonym mode) */
} ob_stats_agreement;

#define OB_STATS_LABEL_MAX 24

/* Pseudonym of one provider number: "K-" and 6 hex digits of HMAC-SHA256(key, provider). */
void ob_stats_pseudonym(const unsigned char key[32], const char *provider,
                        char out[OB_STATS_LABEL_MAX], int hex_digits);
/* Labels for the rows of a report. order (n_rows) receives the display order of the rows
 * (a random permutation in anonymous mode, identity otherwise). labels: n_rows entries. */
ob_status ob_stats_labels(const ob_stats_dataset *d, const ob_stats_report *r,
                          const ob_stats_agreement *a, char (*labels)[OB_STATS_LABEL_MAX],
                          size_t *order, ob_err *e);

/* ---------------------------------------------------------------------------------------
 * Rounding and differential privacy (alternatives to suppression for planning statistics).
 * ------------------------------------------------------------------------------------- */

/* Rounds to the nearest multiple of base, halves up (base 5: 12 -> 10, 13 -> 15; base 10:
 * 15 -> 20). */
int64_t ob_stats_round(int64_t v, int64_t base);
/* out (n_fig) = rounded values; figures under k (and zeros if sensitive) get -1 = "<k". */
void ob_stats_round_table(const ob_stats_table *t, const ob_stats_sdc *s, int64_t base,
                          int64_t *out);

typedef struct ob_stats_budget {
    uint64_t total_milli; /* epsilon budget of the cluster, in 1/1000 */
    uint64_t spent_milli;
} ob_stats_budget;

/* Two-sided geometric noise, P(z) proportional to exp(-eps |z|), eps = num/den, exact
 * (Canonne-Kamath-Steinke sampler over libsodium randombytes, integers only). */
int64_t ob_stats_dlap(uint32_t eps_num, uint32_t eps_den);
/* Noisy release: every cell gets noise with eps/ngroups (one patient is in one cell per
 * group); totals are sums of noisy cells, negatives clamped to 0 (post-processing). out is
 * n_fig. OB_EDENIED when the budget cannot pay eps_milli; the budget is charged on OB_OK. */
ob_status ob_stats_dp_table(const ob_stats_table *t, ob_stats_budget *b, uint32_t eps_milli,
                            int64_t *out, ob_err *e);

/* ---------------------------------------------------------------------------------------
 * Rendering of a protected report (render.c). labels/order from ob_stats_labels.
 * Suppressed figures print as "<k" (primary) or "x" (secondary, differencing).
 * ------------------------------------------------------------------------------------- */

enum ob_stats_format { OB_STATS_TEXT, OB_STATS_CSV, OB_STATS_JSON, OB_STATS_SVG };

ob_status ob_stats_render(FILE *out, enum ob_stats_format fmt, const ob_stats_report *r,
                          const ob_stats_sdc *s, const char (*labels)[OB_STATS_LABEL_MAX],
                          const size_t *order, ob_err *e);

#endif
