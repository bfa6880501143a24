/* stats_service.c - statistics releases on the hub (see stats_service.h). The pure core
 * decides what may be released; this file only feeds it, persists what it needs across runs
 * and logs. Data set ids are the index's patient ids (stable), so the stored per-figure sets
 * of different runs and processes are comparable for differencing control. */
#include "service/stats_service.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "store/log.h"
#include "store/stats.h"

/* The linked auditor's work limit for one release (simplex iterations plus search nodes,
 * ob_stats_link.work_limit): 6 million, about five to ten minutes of one core on the 2-vCPU
 * test machine (docs/performance.md, "The audit's work limit"); OVERBLIK_STATS_WORK_LIMIT
 * sets another (0: none). A release that needs more is refused, the same way each time,
 * rather than keep a server thread busy for hours. */
static uint64_t stats_work_limit(void)
{
    const char *v = getenv("OVERBLIK_STATS_WORK_LIMIT");
    char *end;
    if (v && *v) {
        unsigned long long n = strtoull(v, &end, 10);
        if (*end == '\0' && v[0] != '-')
            return n;
    }
    return 6000000ULL;
}

/* Tests only (with OB_TEST_CLOCK=1, as `stats --now`): OB_TEST_STATS_PAUSE_MS pauses a
 * release between its audit and its transaction, so that a test can make two releases on
 * two servers overlap there every time (tests/security/pg_stats_race.sh). */
static void test_pause(void)
{
    const char *on = getenv("OB_TEST_CLOCK"), *ms = getenv("OB_TEST_STATS_PAUSE_MS");
    long v = on && strcmp(on, "1") == 0 && ms ? strtol(ms, NULL, 10) : 0;
    if (v > 0 && v <= 10000) {
        struct timespec ts = {v / 1000, (v % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

#define SYSTOLIC_CODE  "DNK05472" /* NPU: blood pressure, systolic (the generator's code) */
#define DIASTOLIC_CODE "DNK05473" /* NPU: blood pressure, diastolic */
#define CHECKUP_CODE   "ANNUAL-CHECKUP"

void ob_stats_outcome_release(ob_stats_outcome *o)
{
    if (!o)
        return;
    free(o->body);
    memset(o, 0, sizeof *o);
}

void ob_stats_cluster_key(const ob_keys *k, const char *cluster, unsigned char out[32])
{
    static const char ctx[] = "overblik cluster pseudonym key v1:";
    crypto_generichash_state st;
    crypto_generichash_init(&st, k->cluster, sizeof k->cluster, 32);
    crypto_generichash_update(&st, (const unsigned char *)ctx, sizeof ctx - 1);
    crypto_generichash_update(&st, (const unsigned char *)cluster, strlen(cluster));
    crypto_generichash_final(&st, out, 32);
}

bool ob_stats_may_order(const ob_index *ix, uint32_t cluster, uint32_t pro)
{
    if (cluster >= ix->nclusters || pro >= ix->npros)
        return false;
    const ob_cluster *c = &ix->clusters[cluster];
    bool coord = false;
    for (uint32_t i = 0; i < c->ncoordinators && !coord; i++)
        coord = c->coordinators[i] == pro;
    if (!coord)
        return false;
    if (c->kind != OB_CLUSTER_PLANNING)
        return true;
    const ob_professional *p = &ix->pros[pro];
    if (p->role != OB_ROLE_PLANNER && p->role != OB_ROLE_ADMIN_STAFF)
        return false;
    for (uint32_t s = 0; s < p->nsites; s++)
        if (ob_index_org_within(ix, p->sites[s], c->municipality))
            return true;
    return false;
}

uint32_t ob_stats_planning_group(const ob_index *ix, const char *municipality)
{
    uint32_t m = ob_index_find_org(ix, municipality);
    if (m == OB_NONE)
        return OB_NONE;
    for (size_t i = 0; i < ix->nclusters; i++)
        if (ix->clusters[i].kind == OB_CLUSTER_PLANNING && ix->clusters[i].municipality == m)
            return (uint32_t)i;
    return OB_NONE;
}

/* ---- the data set ---- */

static ob_time months_before(ob_time t, int months)
{
    int64_t days = t / 86400;
    int y, m, d;
    ob_civil_from_days(days, &y, &m, &d);
    int total = y * 12 + (m - 1) - months;
    y = total / 12;
    m = total % 12 + 1;
    while (d > 28 && !ob_date_valid(y, m, d))
        d--;
    return ob_time_from_ymd(y, m, d) + (t - days * 86400);
}

/* The same calendar day five years earlier; 29 February maps to 1 March, so the window never
 * exceeds five years (as in src/stats/report.c). */
static ob_time five_years_before(ob_time t)
{
    int64_t days = t / 86400;
    int y, m, d;
    ob_civil_from_days(days, &y, &m, &d);
    if (m == 2 && d == 29 && !ob_date_valid(y - 5, 2, 29))
        return ob_time_from_ymd(y - 5, 3, 1) + (t - days * 86400);
    return ob_time_from_ymd(y - 5, m, d) + (t - days * 86400);
}

/* Whose records a data set takes, per organisation of origin (issue 21, seed 003): the member
 * clinics' own (OWN; clinic-locally only that clinic's, R-STAT-5), and the OB_SUPPLY_*
 * categories a region agreed to supply from its organisations (q5). Nothing else: a listed
 * patient's records at another clinic or hospital are not the cluster's to count. */
enum { ALLOW_OWN = OB_STATS_OWN };

void ob_stats_origins(const ob_index *ix, const ob_cluster *cl, uint32_t only, uint8_t *allow)
{
    for (uint32_t o = 0; o < ix->norgs; o++) {
        allow[o] = 0;
        for (uint32_t a = o, hops = 0; a < ix->norgs && hops < 64; a = ix->orgs[a].parent, hops++)
            for (uint32_t m = 0; m < cl->nmembers; m++)
                if (cl->members[m] == a && (only == OB_NONE || a == only))
                    allow[o] |= ALLOW_OWN;
        if (only == OB_NONE && cl->supply_region != OB_NONE &&
            ob_index_org_within(ix, o, cl->supply_region))
            allow[o] |= cl->supply;
    }
}

struct item_ctx {
    ob_stats_dataset *d;
    const ob_index *ix;
    const uint8_t *allow; /* per org: ALLOW_OWN | OB_SUPPLY_* */
    ob_time now;
    ob_time oldest; /* R-STAT-4: nothing older than five years before now, whatever the
                     * report date asked for */
};

static ob_status on_item(void *ctx, const ob_item *it, ob_err *e)
{
    struct item_ctx *c = ctx;
    if (it->time < c->oldest)
        return OB_OK;
    uint8_t bit = strcmp(it->category, "diagnosis") == 0     ? OB_SUPPLY_DIAGNOSIS
                  : strcmp(it->category, "measurement") == 0 ? OB_SUPPLY_MEASUREMENT
                  : strcmp(it->category, "appointment") == 0 ? OB_SUPPLY_APPOINTMENT
                                                             : 0;
    uint32_t org = it->origin ? ob_index_find_org(c->ix, it->origin) : OB_NONE;
    if (!bit || org == OB_NONE || !(c->allow[org] & (ALLOW_OWN | bit)))
        return OB_OK;
    uint32_t p = ob_index_find_patient(c->ix, it->patient);
    if (p == OB_NONE || p >= c->d->n_patients || c->d->pat_clinic[p] == OB_STATS_NO_CLINIC)
        return OB_OK;
    if (strcmp(it->category, "diagnosis") == 0) {
        if (it->code && strlen(it->code) < OB_STATS_CODE_MAX)
            return ob_stats_add_diagnosis(c->d, p, it->code, it->time, e);
    } else if (strcmp(it->category, "measurement") == 0) {
        /* clinic-measured only: home readings (R-PRD-1) run lower and are not the indicator */
        if (!it->code || strcmp(it->source, "clinical") != 0 || it->value <= 0 || it->value > 400)
            return OB_OK;
        if (strcmp(it->code, SYSTOLIC_CODE) == 0)
            return ob_stats_add_observation(c->d, p, OB_STATS_OBS_SYSTOLIC, it->time,
                                            (int32_t)it->value, e);
        if (strcmp(it->code, DIASTOLIC_CODE) == 0)
            return ob_stats_add_observation(c->d, p, OB_STATS_OBS_DIASTOLIC, it->time,
                                            (int32_t)it->value, e);
    } else if (strcmp(it->category, "appointment") == 0) {
        if (it->code && strcmp(it->code, CHECKUP_CODE) == 0 && it->time <= c->now &&
            !strstr(it->json, "\"status\":\"cancelled\"") &&
            !strstr(it->json, "\"status\":\"noshow\""))
            return ob_stats_add_checkup(c->d, p, it->time, e);
    }
    return OB_OK;
}

/* The patient's latest listing with a member clinic (row[] not OB_STATS_NO_CLINIC) that
 * overlaps [from, to), or NULL: one rule for build_dataset and relist. */
static const ob_relationship *listing(const ob_index *ix, const ob_patient *pt, const uint32_t *row,
                                      ob_time from, ob_time to)
{
    const ob_relationship *best = NULL;
    for (uint16_t r = 0; r < pt->nrels; r++) {
        const ob_relationship *x = &pt->rels[r];
        if (x->kind != OB_REL_LISTED || x->org >= ix->norgs || row[x->org] == OB_STATS_NO_CLINIC ||
            x->from >= to || x->to <= from)
            continue;
        if (!best || x->from > best->from)
            best = x;
    }
    return best;
}

/* Rows: the cluster's member clinics (or the one clinic). Every index patient becomes data
 * set patient with the same id; their listing is the latest listing with a row clinic that
 * overlaps the period (a patient who moved within the period counts once, at the newer
 * clinic), except clinic-locally, where it is the latest listing with that clinic (former
 * patients included, R-STAT-5). */
static ob_status build_dataset(ob_hub *h, const ob_cluster *cl, uint32_t only, ob_time from,
                               ob_time to, ob_time now, ob_stats_dataset **out, ob_err *e)
{
    const ob_index *ix = h->ix;
    ob_stats_dataset *d = ob_stats_dataset_new();
    uint32_t *row = ob_malloc((ix->norgs + 1) * sizeof *row);
    uint8_t *allow = NULL;
    ob_status rc = OB_OK;
    if (!d || !row) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory building the statistics data set");
        goto fail;
    }
    for (size_t i = 0; i < ix->norgs; i++)
        row[i] = OB_STATS_NO_CLINIC;
    /* R-STAT-6: planning figures are for the municipality as a whole, never per clinic */
    uint32_t one = OB_STATS_NO_CLINIC;
    if (cl->kind == OB_CLUSTER_PLANNING && cl->municipality != OB_NONE)
        rc = ob_stats_add_clinic(d, ix->orgs[cl->municipality].ext_id, 0, &one, e);
    for (uint32_t i = 0; i < cl->nmembers && !rc; i++) {
        uint32_t org = cl->members[i];
        if (only != OB_NONE && org != only)
            continue;
        if (one != OB_STATS_NO_CLINIC) {
            row[org] = one;
            continue;
        }
        const char *prov =
            ix->orgs[org].provider_no[0] ? ix->orgs[org].provider_no : ix->orgs[org].ext_id;
        rc = ob_stats_add_clinic(d, prov, 0, &row[org], e);
    }
    if (!rc)
        rc = ob_stats_dataset_reserve(d, 0, ix->npatients, 0, 0, 0, e);
    for (size_t p = 0; p < ix->npatients && !rc; p++) {
        const ob_patient *pt = &ix->patients[p];
        const ob_relationship *best = listing(ix, pt, row, from, to);
        if (best)
            rc = ob_stats_add_patient(d, row[best->org], best->from,
                                      best->to > best->from ? best->to : best->from + 1, NULL, e);
        else
            rc = ob_stats_add_patient(d, OB_STATS_NO_CLINIC, 0, 1, NULL, e);
    }
    allow = ob_calloc(ix->norgs + 1, 1);
    if (!allow && !rc)
        rc = ob_err_set(e, OB_ENOMEM, "out of memory building the statistics data set");
    if (!rc)
        ob_stats_origins(ix, cl, only, allow);
    struct item_ctx ic = {d, ix, allow, now, five_years_before(now)};
    static const char *const cats[] = {"diagnosis", "measurement", "appointment"};
    for (size_t i = 0; i < 3 && !rc; i++)
        rc = ob_store_each_item(h->store, NULL, cats[i], on_item, &ic, e);
    if (rc)
        goto fail;
    ob_free(row);
    ob_free(allow);
    *out = d;
    return OB_OK;
fail:
    ob_free(row);
    ob_free(allow);
    ob_stats_dataset_free(d);
    return rc;
}

/* Re-assigns every patient's listing for the period [from, to) on a data set built by
 * build_dataset for the same cluster and clinic over a period covering this one (its items
 * are those of every patient listed at some time in it): the same rule as build_dataset. */
static ob_status relist(const ob_index *ix, const ob_cluster *cl, uint32_t only, ob_time from,
                        ob_time to, ob_stats_dataset *d, ob_err *e)
{
    uint32_t *row = ob_malloc((ix->norgs + 1) * sizeof *row);
    if (!row)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    for (size_t i = 0; i < ix->norgs; i++)
        row[i] = OB_STATS_NO_CLINIC;
    bool planning = cl->kind == OB_CLUSTER_PLANNING && cl->municipality != OB_NONE;
    uint32_t next = 0;
    for (uint32_t i = 0; i < cl->nmembers; i++) {
        uint32_t org = cl->members[i];
        if (only != OB_NONE && org != only)
            continue;
        row[org] = planning ? 0 : next++;
    }
    for (size_t p = 0; p < ix->npatients && p < d->n_patients; p++) {
        const ob_patient *pt = &ix->patients[p];
        const ob_relationship *best = listing(ix, pt, row, from, to);
        d->pat_clinic[p] = best ? row[best->org] : OB_STATS_NO_CLINIC;
        d->pat_list_from[p] = best ? best->from : 0;
        d->pat_list_to[p] = best ? (best->to > best->from ? best->to : best->from + 1) : 1;
    }
    ob_free(row);
    return OB_OK;
}

/* ---- logging and persistence ---- */

struct release_ctx {
    ob_stats_release_meta meta;
    const ob_stats_report *r;    /* NULL: no sets (noisy release) */
    const ob_stats_report *used; /* whose data went in (every release) */
    uint64_t budget_total;       /* DP: charge meta.epsilon_milli against it */
    const char *const *clinics;  /* DP: the member clinics whose patients pay */
    size_t nclinics;
    int64_t mark; /* the history's mark when the audit read it; -1: no audit (noisy) */
    bool moved;   /* set when another release was recorded since: audit again */
    int64_t id;
};

/* The audit ran outside this transaction, on the history as it was when it began (minutes
 * long: the log's lock cannot be held for it). Several servers (or threads) may release for
 * the same cluster at once, so here, where releases are serialised (ob_stats_tx_lock), a
 * release recorded since the audit read the history refuses this one (fail closed): its
 * caller audits again against the history that now includes it (R-STAT-2). */
static ob_status apply_release(void *ctx, ob_store_tx *tx, ob_err *e)
{
    struct release_ctx *c = ctx;
    int64_t mark = 0;
    ob_status rc = ob_stats_tx_lock(tx, e);
    if (!rc && c->mark >= 0 && !(rc = ob_stats_tx_mark(tx, &mark, e)) && mark != c->mark) {
        c->moved = true;
        rc = ob_err_set(e, OB_ECONFLICT, "another release was recorded while this one was audited");
    }
    if (!rc && c->budget_total)
        rc = ob_stats_tx_charge_clinics(tx, c->clinics, c->nclinics, c->budget_total,
                                        c->meta.epsilon_milli, e);
    if (!rc)
        rc = ob_stats_tx_record(tx, &c->meta, c->r, &c->id, e);
    /* issue 26: whose data it used, for the patients' own view ($uses), noisy ones too */
    if (!rc)
        rc = ob_stats_tx_record_patients(tx, c->id, c->used, e);
    return rc;
}

static void log_entry(const ob_stats_order *o, const ob_cluster *cl, ob_time now, bool permit,
                      const char *resource, const char *reason, ob_log_entry *le)
{
    static const ob_log_entry operator_ = {.actor_id = "operator", .actor_role = "operator"};
    *le = o->actor ? *o->actor : operator_;
    le->time = now;
    le->event = OB_EV_STATS_RELEASE;
    le->permit = permit;
    le->patient = NULL; /* aggregates: no patient */
    le->category = "statistics";
    le->resource = resource;
    le->purpose = cl && cl->kind == OB_CLUSTER_PLANNING ? "HOPERAT" : "HQUALIMP";
    le->rule = cl && cl->kind == OB_CLUSTER_PLANNING ? "R-STAT-6" : "R-STAT-2";
    le->legal_basis = cl && cl->kind == OB_CLUSTER_PLANNING
                          ? "Sundhedsloven §42d stk. 2 (statistics that identify no one)"
                          : "Sundhedsloven §42d stk. 2 nr. 2 (quality work, statistics only)";
    le->reason = reason;
}

static void log_refusal(ob_hub *h, const ob_stats_order *o, const ob_cluster *cl, ob_time now,
                        const char *resource, const char *why)
{
    if (!h->log)
        return;
    char reason[300];
    snprintf(reason, sizeof reason, "refused: %s", why);
    ob_log_entry le;
    log_entry(o, cl, now, false, resource, reason, &le);
    uint64_t seq;
    ob_alog_append(h->log, &le, 1, NULL, NULL, &seq, NULL);
}

void ob_stats_log_denied(ob_hub *h, const ob_log_entry *actor, const char *resource, ob_time now)
{
    ob_stats_order o;
    memset(&o, 0, sizeof o);
    o.actor = actor;
    log_refusal(h, &o, NULL, now ? now : ob_time_now(), resource,
                "not a coordinator of the cluster, or no such cluster");
}

/* ---- retention (R-STAT-7) ---- */

struct expire_ctx {
    const ob_index *ix;
    ob_time now;
    int64_t n;
};

static ob_time cutoff_of(const ob_cluster *c, ob_time now)
{
    if (c->retention_months)
        return months_before(now, c->retention_months);
    return now >= c->meeting ? c->meeting : OB_TIME_MIN; /* data sets made for the meeting */
}

static ob_status apply_expire(void *ctx, ob_store_tx *tx, ob_err *e)
{
    struct expire_ctx *c = ctx;
    ob_status lrc = ob_stats_tx_lock(tx, e);
    if (lrc)
        return lrc;
    c->n = 0;
    for (size_t i = 0; i < c->ix->nclusters; i++) {
        const ob_cluster *cl = &c->ix->clusters[i];
        ob_time cut = cutoff_of(cl, c->now);
        int64_t n = 0;
        if (cut == OB_TIME_MIN)
            continue;
        ob_status rc = ob_stats_tx_expire(tx, cl->ext_id, cut, c->now, &n, e);
        if (rc)
            return rc;
        c->n += n;
    }
    return OB_OK;
}

struct hist_ctx {
    json_t *list;
    const ob_index *ix;
    const ob_professional *caller;
};

static ob_status hist_row(void *ctx, const ob_stats_release_row *r, ob_err *e)
{
    struct hist_ctx *c = ctx;
    const char *scope = r->scope ? r->scope : "";
    if (strncmp(scope, "clinic:", 7) == 0) { /* R-STAT-5: only that clinic's own people */
        uint32_t org = ob_index_find_org(c->ix, scope + 7);
        bool mine = false;
        for (uint8_t s = 0; s < c->caller->nsites && !mine; s++)
            mine = org != OB_NONE && c->caller->sites[s] == org;
        if (!mine)
            return OB_OK;
        scope = "clinic-local";
    }
    char made[32], gone[32];
    ob_time_format(r->created, made);
    ob_time_format(r->expired, gone);
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o}", "release", (json_int_t)r->id, "created",
                          made, "scope", scope, "filter", r->filter ? r->filter : "", "mode",
                          r->mode ? r->mode : "", "data_sets_deleted",
                          r->expired ? json_string(gone) : json_null());
    if (!o || json_array_append_new(c->list, o))
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    return OB_OK;
}

ob_status ob_stats_release_list(ob_hub *h, uint32_t cluster, uint32_t caller, json_t **out,
                                ob_err *e)
{
    *out = NULL;
    ob_stats_db *db;
    ob_status rc = ob_stats_db_open(h->store, &db, e);
    if (rc)
        return rc;
    json_t *list = json_array();
    pthread_rwlock_rdlock(&h->lock);
    if (cluster >= h->ix->nclusters || caller >= h->ix->npros || !list) {
        rc = ob_err_set(e, list ? OB_EINVAL : OB_ENOMEM, "no such cluster or caller");
    } else {
        struct hist_ctx c = {list, h->ix, &h->ix->pros[caller]};
        rc = ob_stats_db_each_release(db, h->ix->clusters[cluster].ext_id, 500, hist_row, &c, e);
    }
    pthread_rwlock_unlock(&h->lock);
    ob_stats_db_close(db);
    if (rc)
        json_decref(list);
    else
        *out = list;
    return rc;
}

ob_status ob_stats_expire(ob_hub *h, ob_time now, int64_t *deleted, ob_err *e)
{
    if (!now)
        now = ob_time_now();
    if (deleted)
        *deleted = 0;
    ob_stats_db *db;
    ob_status rc = ob_stats_db_open(h->store, &db, e);
    if (rc)
        return rc;
    int64_t due = 0;
    pthread_rwlock_rdlock(&h->lock);
    for (size_t i = 0; i < h->ix->nclusters && !rc; i++) {
        ob_time cut = cutoff_of(&h->ix->clusters[i], now);
        int64_t n = 0;
        if (cut != OB_TIME_MIN)
            rc = ob_stats_db_count_expiring(db, h->ix->clusters[i].ext_id, cut, &n, e);
        due += n;
    }
    ob_stats_db_close(db);
    if (rc || due == 0) {
        pthread_rwlock_unlock(&h->lock);
        return rc;
    }
    if (!h->log) {
        pthread_rwlock_unlock(&h->lock);
        return ob_err_set(e, OB_EIO, "the access log is not open; no deletion without a log entry");
    }
    /* the deletion and its log entry commit together */
    struct expire_ctx c = {h->ix, now, 0};
    char reason[128];
    snprintf(reason, sizeof reason, "retention: data sets of %lld release(s) deleted (R-STAT-7)",
             (long long)due);
    ob_log_entry le;
    ob_stats_order o;
    memset(&o, 0, sizeof o);
    log_entry(&o, NULL, now, true, "stats:retention", reason, &le);
    le.rule = "R-STAT-7";
    uint64_t seq;
    rc = ob_alog_append(h->log, &le, 1, apply_expire, &c, &seq, e);
    pthread_rwlock_unlock(&h->lock);
    if (!rc && deleted)
        *deleted = c.n;
    return rc;
}

/* ---- a release ---- */

static const char *mode_name(enum ob_stats_mode m)
{
    return m == OB_STATS_MODE_ROUND ? "round" : m == OB_STATS_MODE_DP ? "dp" : "suppress";
}

/* The audit summary per attacker: outsider, then each member by its label. */
static void audit_text(FILE *f, const ob_stats_report *r, const ob_stats_audit *a,
                       const ob_stats_sdc *s, const char (*labels)[OB_STATS_LABEL_MAX],
                       const size_t *order, bool dp, bool local)
{
    size_t supp = 0;
    for (size_t i = 0; i < r->table->n_fig; i++)
        supp += ob_stats_suppressed(r->table, i);
    if (dp) {
        fprintf(f, "\nno suppression audit: differential privacy (noise added to every cell)\n");
        return;
    }
    fprintf(f,
            "\naudit (k=%d; %zu of %zu figures suppressed; every label read as what it says, "
            "jointly with earlier releases; exact integer ranges):\n",
            s->k, supp, r->table->n_fig);
    for (size_t i = 0; i <= (local ? 0 : r->n_rows); i++) {
        size_t att = i == 0 ? 0 : 1 + order[i - 1];
        size_t n = 0, bad = 0;
        for (size_t j = 0; j < a->n; j++)
            if (a->f[j].attacker == att && a->f[j].attacker2 == 0) {
                n++;
                bad += !a->f[j].safe;
            }
        fprintf(f, "  %-12s %s (%zu range%s checked)\n", i == 0 ? "outsider" : labels[order[i - 1]],
                bad ? "UNSAFE" : "safe", n, n == 1 ? "" : "s");
    }
    size_t np = 0, pbad = 0;
    for (size_t j = 0; j < a->n; j++)
        if (a->f[j].attacker2) {
            np++;
            pbad += !a->f[j].safe;
        }
    if (!local)
        fprintf(f, "  %-12s %s (%zu range%s checked)\n", "any 2 clinics", pbad ? "UNSAFE" : "safe",
                np, np == 1 ? "" : "s");
    if (local)
        fprintf(f, "  (clinic-local: the clinic owns these data; only the outsider is audited)\n");
}

static json_t *audit_json(const ob_stats_report *r, const ob_stats_audit *a,
                          const char (*labels)[OB_STATS_LABEL_MAX], const size_t *order, bool dp,
                          bool local)
{
    json_t *o = json_object(), *m = json_array();
    size_t unsafe = 0;
    for (size_t j = 0; j < a->n; j++)
        unsafe += !a->f[j].safe && (!local || a->f[j].attacker == 0);
    json_object_set_new(o, "passed", json_boolean(dp || unsafe == 0));
    if (dp) {
        json_object_set_new(o, "method", json_string("differential privacy"));
        json_decref(m);
        return o;
    }
    for (size_t i = 0; i <= (local ? 0 : r->n_rows); i++) {
        size_t att = i == 0 ? 0 : 1 + order[i - 1];
        size_t n = 0, bad = 0;
        for (size_t j = 0; j < a->n; j++)
            if (a->f[j].attacker == att && a->f[j].attacker2 == 0) {
                n++;
                bad += !a->f[j].safe;
            }
        json_t *x =
            json_pack("{s:s, s:s, s:I}", "attacker", i == 0 ? "outsider" : labels[order[i - 1]],
                      "result", bad ? "unsafe" : "safe", "ranges", (json_int_t)n);
        if (i == 0)
            json_object_set_new(o, "outsider", x);
        else
            json_array_append_new(m, x);
    }
    json_object_set_new(o, "members", m);
    size_t np = 0, pbad = 0;
    for (size_t j = 0; j < a->n; j++)
        if (a->f[j].attacker2) {
            np++;
            pbad += !a->f[j].safe;
        }
    json_object_set_new(
        o, "pairs",
        json_pack("{s:s, s:I}", "result", pbad ? "unsafe" : "safe", "ranges", (json_int_t)np));
    return o;
}

/* ---- what earlier releases published (R-STAT-8) ----
 *
 * Every release keeps its query and what it published (labels, values as shown, listed
 * counts as shown) in stats_published, for good: that table holds no person-level data, and
 * differencing protection needs all of it. Before a release, every earlier non-noisy release
 * of the cluster (its clinic-local ones included) is computed again on today's data from its
 * query, which gives the patient sets behind its figures; the linked auditor then sees all
 * of them as one system (src/stats/linked.c). Retention deletes the stored patient-id sets,
 * never this memory, and no clock move can empty it. */

#define LISTED_BASE 5 /* listed counts are shown rounded to 5 (render.c) */

struct prev {
    char *def, *pub; /* JSON as stored (owned) */
    ob_stats_dataset *d;
    ob_stats_report *r;
    uint32_t *owner;
    uint8_t *kind;
    int64_t *val, *llo, *lhi;
    ob_time from, to;
    int local;
};

struct prevs {
    struct prev *p;
    size_t n, cap;
};

static void prev_free(struct prev *p)
{
    free(p->def);
    free(p->pub);
    ob_stats_report_free(p->r);
    ob_stats_dataset_free(p->d);
    ob_free(p->owner);
    ob_free(p->kind);
    ob_free(p->val);
    ob_free(p->llo);
    ob_free(p->lhi);
    memset(p, 0, sizeof *p);
}

/* Frees entries [0, n) and, when the list was compacted, [n, total) too. */
static void prevs_free(struct prevs *v, size_t total)
{
    for (size_t i = 0; i < total; i++)
        prev_free(&v->p[i]);
    ob_free(v->p);
    memset(v, 0, sizeof *v);
}

static ob_status collect_pub(void *ctx, int64_t id, const char *def, const char *pub, ob_err *e)
{
    (void)id;
    struct prevs *v = ctx;
    if (!def || !pub)
        return OB_OK;
    if (ob_grow((void **)&v->p, &v->cap, v->n + 1, sizeof *v->p))
        return ob_err_set(e, OB_ENOMEM, "out of memory reading earlier releases");
    struct prev *p = &v->p[v->n];
    memset(p, 0, sizeof *p);
    p->def = strdup(def);
    p->pub = strdup(pub);
    if (!p->def || !p->pub) {
        free(p->def);
        free(p->pub);
        return ob_err_set(e, OB_ENOMEM, "out of memory reading earlier releases");
    }
    v->n++;
    return OB_OK;
}

/* The clinic (org) behind each row of a report built by build_dataset. */
static ob_status row_owners(const ob_cluster *cl, uint32_t only, const ob_stats_report *r,
                            uint32_t **out, ob_err *e)
{
    *out = ob_malloc((r->n_rows + 1) * sizeof **out);
    if (!*out)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->n_rows; i++) {
        uint32_t c = r->clinic[i];
        (*out)[i] = only != OB_NONE                   ? only
                    : cl->kind == OB_CLUSTER_PLANNING ? cl->municipality
                    : c < cl->nmembers                ? cl->members[c]
                                                      : OB_NONE;
    }
    return OB_OK;
}

static char *definition_json(const ob_index *ix, const ob_cluster *cl, uint32_t only,
                             const ob_stats_query *q, const ob_stats_report *r, const char *mode)
{
    json_t *o =
        json_pack("{s:s, s:I, s:I, s:I, s:s}", "code", q->code, "from", (json_int_t)q->from, "to",
                  (json_int_t)q->to, "report_date", (json_int_t)q->report_date, "mode", mode);
    if (!o)
        return NULL;
    json_t *ed = json_array(), *m = json_array();
    for (int i = 0; i + 1 < r->n_bands; i++)
        json_array_append_new(ed, json_integer(r->edge[i]));
    for (uint32_t i = 0; i < cl->nmembers; i++)
        json_array_append_new(m, json_string(ix->orgs[cl->members[i]].ext_id));
    json_object_set_new(o, "edges", ed);
    json_object_set_new(o, "members", m);
    json_object_set_new(o, "clinic",
                        only != OB_NONE ? json_string(ix->orgs[only].ext_id) : json_null());
    if (only == OB_NONE && cl->supply_region != OB_NONE) { /* seed 003 q5 */
        static const char *const names[] = {"diagnosis", "measurement", "appointment"};
        json_t *cats = json_array();
        for (int i = 0; i < 3; i++)
            if (cl->supply & (1u << i))
                json_array_append_new(cats, json_string(names[i]));
        json_object_set_new(o, "region_supply",
                            json_pack("{s:s, s:o}", "region", ix->orgs[cl->supply_region].ext_id,
                                      "categories", cats));
    }
    char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return txt;
}

/* What this release shows, in the auditor's terms (what render.c prints). */
static char *published_json(const ob_stats_report *r, const ob_stats_sdc *s, bool rounded)
{
    const ob_stats_table *t = r->table;
    json_t *o = json_object(), *figs = json_array(), *listed = json_array();
    for (size_t f = 0; f < t->n_fig; f++) {
        int kind = ob_stats_pub_of(t, s, f, rounded);
        int64_t v = ob_stats_suppressed(t, f) ? 0
                    : rounded                 ? ob_stats_round(t->value[f], 5)
                                              : t->value[f];
        json_array_append_new(figs, json_pack("[i, I]", kind, (json_int_t)v));
    }
    for (size_t i = 0; i < r->n_rows; i++)
        json_array_append_new(listed, json_integer(ob_stats_round(r->listed[i], LISTED_BASE)));
    json_object_set_new(o, "figs", figs);
    json_object_set_new(o, "listed", listed);
    json_object_set_new(o, "listed_rounding", json_integer(LISTED_BASE));
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return txt;
}

/* Rounded listed p says listed is in p-2..p+2 (halves round up). */
static void listed_range(int64_t p, int64_t *lo, int64_t *hi)
{
    *lo = p - LISTED_BASE / 2 > 0 ? p - LISTED_BASE / 2 : 0;
    *hi = p + LISTED_BASE / 2;
}

/* Recomputes an earlier release from its query on today's data. Not comparable (other
 * members, noisy, malformed): left out, *used = false. Index read-locked by the caller. */
/* The (clinic, period) an earlier release's query names; false when unreadable. */
static bool prev_scope(const ob_index *ix, const struct prev *p, uint32_t *only, ob_time *from,
                       ob_time *to)
{
    json_error_t je;
    json_t *d = json_loads(p->def, 0, &je), *cj = NULL;
    json_int_t f = 0, t = 0;
    bool ok = d && json_unpack(d, "{s:I, s:I, s?o}", "from", &f, "to", &t, "clinic", &cj) == 0;
    const char *c = ok ? json_string_value(cj) : NULL;
    *only = c ? ob_index_find_org(ix, c) : OB_NONE;
    ok = ok && (!c || *only != OB_NONE);
    *from = f;
    *to = t;
    json_decref(d);
    return ok;
}

/* Data sets for recomputing earlier releases: one per scope (the cluster, or one clinic),
 * items read once over the union of the periods, listings re-assigned per release. */
struct base {
    uint32_t only;
    ob_time from, to;
    ob_stats_dataset *d;
};

static ob_status rebuild_prev(ob_hub *h, const ob_cluster *cl, ob_time now, struct prev *p,
                              struct base *bases, size_t nbases, bool *used, ob_err *e)
{
    *used = false;
    json_error_t je;
    json_t *d = json_loads(p->def, 0, &je), *pb = json_loads(p->pub, 0, &je);
    ob_status rc = OB_OK;
    const char *code = NULL, *mode = NULL, *clinic = NULL;
    json_int_t from = 0, to = 0, rd = 0;
    json_t *edges = NULL, *members = NULL, *figs = NULL, *listed = NULL, *cj = NULL;
    if (!d || !pb ||
        json_unpack(d, "{s:s, s:I, s:I, s:I, s:s, s:o, s:o, s?o}", "code", &code, "from", &from,
                    "to", &to, "report_date", &rd, "mode", &mode, "edges", &edges, "members",
                    &members, "clinic", &cj) != 0 ||
        json_unpack(pb, "{s:o, s:o}", "figs", &figs, "listed", &listed) != 0 ||
        strcmp(mode, "dp") == 0 || !json_is_array(members) ||
        json_array_size(members) != cl->nmembers || json_array_size(edges) > OB_STATS_MAX_BANDS - 1)
        goto done;
    for (uint32_t i = 0; i < cl->nmembers; i++) {
        const char *m = json_string_value(json_array_get(members, i));
        if (!m || strcmp(m, h->ix->orgs[cl->members[i]].ext_id) != 0)
            goto done;
    }
    clinic = json_string_value(cj); /* null: the whole cluster */
    uint32_t only = clinic ? ob_index_find_org(h->ix, clinic) : OB_NONE;
    if (clinic && only == OB_NONE)
        goto done;
    ob_stats_query q;
    memset(&q, 0, sizeof q);
    q.from = from;
    q.to = to;
    q.report_date = rd;
    q.code = code;
    q.n_edges = (int)json_array_size(edges);
    for (int i = 0; i < q.n_edges; i++)
        q.edge[i] = (int32_t)json_integer_value(json_array_get(edges, (size_t)i));
    struct base *b = NULL;
    for (size_t i = 0; i < nbases && !b; i++)
        if (bases[i].only == only)
            b = &bases[i];
    if (!b)
        goto done;
    if (!b->d && (rc = build_dataset(h, cl, only, b->from, b->to, now, &b->d, e)))
        goto done;
    if ((rc = relist(h->ix, cl, only, from, to, b->d, e)) ||
        (rc = ob_stats_report_build(b->d, &q, &p->r, e)))
        goto done;
    const ob_stats_table *t = p->r->table;
    if (json_array_size(figs) != t->n_fig || json_array_size(listed) != p->r->n_rows)
        goto done;
    if ((rc = row_owners(cl, only, p->r, &p->owner, e)))
        goto done;
    p->kind = ob_malloc(t->n_fig + 1);
    p->val = ob_malloc((t->n_fig + 1) * sizeof *p->val);
    p->llo = ob_malloc((p->r->n_rows + 1) * sizeof *p->llo);
    p->lhi = ob_malloc((p->r->n_rows + 1) * sizeof *p->lhi);
    if (!p->kind || !p->val || !p->llo || !p->lhi) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t f = 0; f < t->n_fig; f++) {
        json_t *x = json_array_get(figs, f);
        json_int_t k = json_integer_value(json_array_get(x, 0));
        p->kind[f] = (uint8_t)(k >= 0 && k <= OB_STATS_PUB_FREE ? k : OB_STATS_PUB_FREE);
        p->val[f] = json_integer_value(json_array_get(x, 1));
    }
    for (size_t i = 0; i < p->r->n_rows; i++)
        listed_range(json_integer_value(json_array_get(listed, i)), &p->llo[i], &p->lhi[i]);
    p->from = from;
    p->to = to;
    p->local = only != OB_NONE;
    *used = true;
done:
    json_decref(d);
    json_decref(pb);
    return rc;
}
/* One attempt at a release; *moved when another release was recorded while it was
 * audited (nothing recorded, nothing logged: the caller tries again; on the last attempt
 * it is refused and logged). */
static ob_status run_once(ob_hub *h, const ob_stats_order *o, ob_stats_outcome *out, bool last,
                          bool *moved, ob_err *e)
{
    memset(out, 0, sizeof *out);
    ob_time now = o->now ? o->now : ob_time_now();
    ob_status rc = ob_stats_expire(h, now, NULL, e);
    if (rc)
        return rc;
    /* a code is letters, digits and dots: it goes into the log and the output as is */
    if (!o->code || !o->code[0] || strlen(o->code) >= OB_STATS_CODE_MAX ||
        strspn(o->code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.") !=
            strlen(o->code) ||
        strspn(o->code, "0123456789") == strlen(o->code))
        return ob_err_set(e, OB_EINVAL,
                          "give a diagnosis code (ICPC-2 or ICD-10, e.g. T90 or E11), at most %d "
                          "letters, digits and dots",
                          OB_STATS_CODE_MAX - 1);
    if (o->to <= o->from)
        return ob_err_set(e, OB_EINVAL, "the period must end after it starts");
    /* R-STAT-4 counted from today, whatever report date is asked for: listings and items
     * older than five years are not used */
    ob_time oldest = five_years_before(now), from = o->from > oldest ? o->from : oldest;
    if (o->to <= from)
        return ob_err_set(e, OB_EINVAL,
                          "the period lies entirely before the five-year window (R-STAT-4)");
    if (o->mode == OB_STATS_MODE_DP && (o->epsilon_milli == 0 || o->epsilon_milli > 100000))
        return ob_err_set(e, OB_EINVAL, "epsilon must be in (0, 100]");

    ob_stats_dataset *d = NULL;
    ob_stats_report *r = NULL;
    ob_stats_history hist;
    ob_stats_audit audit = {0}, full = {0};
    char(*labels)[OB_STATS_LABEL_MAX] = NULL;
    size_t *order = NULL;
    int64_t *noisy = NULL;
    ob_stats_db *db = NULL;
    int64_t mark = 0;
    char *buf = NULL;
    size_t blen = 0;
    FILE *mf = NULL;
    struct prevs pv = {0};
    size_t pv_total = 0, nbases = 0;
    struct base *bases = NULL;
    char *def_txt = NULL, *pub_txt = NULL;
    uint32_t *owner = NULL;
    const char **member_ids = NULL;
    ob_stats_history_init(&hist);
    /* the mark before anything of the history is read: a release recorded after it,
     * whatever this audit saw of it, moves it (apply_release) */
    if ((rc = ob_stats_db_open(h->store, &db, e)) || (rc = ob_stats_db_mark(db, &mark, e))) {
        ob_stats_db_close(db);
        return rc;
    }

    pthread_rwlock_rdlock(&h->lock);
    uint32_t ci = o->cluster        ? ob_index_find_cluster(h->ix, o->cluster)
                  : o->municipality ? ob_stats_planning_group(h->ix, o->municipality)
                                    : OB_NONE;
    const ob_cluster *cl = ci == OB_NONE ? NULL : &h->ix->clusters[ci];
    /* an unknown cluster and one the caller may not use answer alike */
    if (!cl || (o->planning != (cl->kind == OB_CLUSTER_PLANNING)) ||
        (o->caller != OB_NONE && !ob_stats_may_order(h->ix, ci, o->caller))) {
        pthread_rwlock_unlock(&h->lock);
        ob_stats_db_close(db);
        if (o->caller != OB_NONE)
            return ob_err_set(e, OB_EDENIED, "no such cluster, or you are not its coordinator");
        return ob_err_set(e, OB_ENOTFOUND, "no such %s",
                          o->planning ? "planning group" : "cluster");
    }
    uint32_t only = OB_NONE;
    if (o->clinic) {
        only = ob_index_find_org(h->ix, o->clinic);
        bool member = false;
        for (uint32_t i = 0; only != OB_NONE && i < cl->nmembers; i++)
            member |= cl->members[i] == only;
        if (!member) {
            pthread_rwlock_unlock(&h->lock);
            ob_stats_db_close(db);
            return ob_err_set(e, OB_EINVAL, "--clinic: '%.80s' is not a member of the cluster",
                              o->clinic);
        }
        /* R-STAT-5: a clinic's own figures go to that clinic only */
        if (o->caller != OB_NONE && !ob_index_pro_works_at(h->ix, o->caller, only)) {
            pthread_rwlock_unlock(&h->lock);
            ob_stats_db_close(db);
            return ob_err_set(e, OB_EDENIED,
                              "a clinic's own figures are released only to that clinic (R-STAT-5)");
        }
    }
    char scope[96], resource[160], filter[128];
    snprintf(scope, sizeof scope, "%s%s",
             only != OB_NONE ? "clinic:"
                             : (cl->kind == OB_CLUSTER_PLANNING ? "planning" : "cluster"),
             only != OB_NONE ? o->clinic : "");
    char f0[16], f1[16];
    ob_date_format(o->from, f0);
    ob_date_format(o->to, f1);
    snprintf(filter, sizeof filter, "code %s, %s to %s, %s", o->code, f0, f1, mode_name(o->mode));
    snprintf(resource, sizeof resource, "stats:%s/%s", cl->ext_id, scope);

    ob_stats_sdc sdc = {cl->k < 5 ? 5 : cl->k, !cl->zeros_suppressed};
    ob_stats_query q;
    memset(&q, 0, sizeof q);
    q.cluster = 0;
    q.from = from;
    q.to = o->to;
    q.report_date = o->report_date ? o->report_date : now;
    q.code = o->code;
    q.n_edges = o->n_edges;
    memcpy(q.edge, o->edge, sizeof q.edge);
    ob_stats_agreement ag;
    memset(&ag, 0, sizeof ag);
    ag.mode =
        cl->anonymise_requested ? OB_STATS_LABEL_ANONYMOUS : (enum ob_stats_label_mode)cl->labels;
    ob_stats_cluster_key(&h->keys, cl->ext_id, ag.key);
    const char *cluster_id = cl->ext_id; /* index strings are stable while the hub is open */
    uint64_t budget = cl->epsilon_milli;

    bool dp = o->mode == OB_STATS_MODE_DP;
    rc = build_dataset(h, cl, only, from, o->to, now, &d, e);
    if (!rc)
        rc = ob_stats_report_build(d, &q, &r, e);
    if (!rc)
        rc = row_owners(cl, only, r, &owner, e);
    member_ids = ob_calloc(cl->nmembers + 1, sizeof *member_ids);
    if (!rc && !member_ids)
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
    for (uint32_t i = 0; !rc && i < cl->nmembers; i++)
        member_ids[i] = h->ix->orgs[cl->members[i]].ext_id; /* stable while the hub is open */
    /* every earlier release of the cluster, computed again on today's data */
    if (!rc && !dp)
        rc = ob_stats_db_each_published(db, cluster_id, collect_pub, &pv, e);
    size_t nused = 0;
    pv_total = pv.n;
    bases = ob_calloc(cl->nmembers + 2, sizeof *bases);
    if (!rc && !bases)
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < pv.n; i++) {
        uint32_t bo;
        ob_time bf, bt;
        if (!prev_scope(h->ix, &pv.p[i], &bo, &bf, &bt))
            continue;
        size_t j = 0;
        while (j < nbases && bases[j].only != bo)
            j++;
        if (j == nbases) {
            if (nbases == cl->nmembers + 1)
                continue;
            bases[nbases++] = (struct base){bo, bf, bt, NULL};
        }
        bases[j].from = bf < bases[j].from ? bf : bases[j].from;
        bases[j].to = bt > bases[j].to ? bt : bases[j].to;
    }
    for (size_t i = 0; !rc && i < pv.n; i++) {
        bool used;
        rc = rebuild_prev(h, cl, now, &pv.p[i], bases, nbases, &used, e);
        if (rc || !used) {
            prev_free(&pv.p[i]);
            continue;
        }
        struct prev keep = pv.p[i];
        memset(&pv.p[i], 0, sizeof pv.p[i]);
        pv.p[nused++] = keep;
    }
    pv_total = pv.n;
    pv.n = nused;
    if (!rc)
        def_txt = definition_json(h->ix, cl, only, &q, r, mode_name(o->mode));
    if (!rc && !def_txt)
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
    /* after the unlock the clusters array may move (a concurrent change): keep a copy of the
     * scalars; ext_id stays valid (a replaced agreement keeps its id string) */
    ob_cluster snap = *cl;
    snap.members = snap.coordinators = NULL;
    cl = &snap;
    pthread_rwlock_unlock(&h->lock);
    if (rc)
        goto done;
    out->k = sdc.k;
    out->rows = r->n_rows;
    if (dp) {
        if (!budget) {
            rc = ob_err_set(e, OB_EDENIED,
                            "release refused: the cluster has agreed no privacy budget for the "
                            "differential-privacy mode");
            log_refusal(h, o, cl, now, resource, e ? e->msg : "refused");
            goto done;
        }
        /* the budget belongs to the member clinics' patients: try the charge and roll back */
        rc = ob_stats_db_try_charge_clinics(db, member_ids, snap.nmembers, budget, o->epsilon_milli,
                                            e);
        if (rc) {
            if (rc == OB_EDENIED)
                log_refusal(h, o, cl, now, resource, e ? e->msg : "refused");
            goto done;
        }
        ob_stats_budget b = {budget, 0};
        noisy = ob_malloc(r->table->n_fig * sizeof *noisy);
        if (!noisy) {
            rc = ob_err_set(e, OB_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = ob_stats_dp_table(r->table, &b, o->epsilon_milli, noisy, e))) {
            log_refusal(h, o, cl, now, resource, e ? e->msg : "refused");
            goto done;
        }
        for (size_t f = 0; f < r->table->n_fig; f++) {
            r->table->value[f] = noisy[f];
            r->table->state[f] = OB_STATS_RELEASED;
        }
    } else {
        const ob_stats_table *t = r->table;
        for (size_t i = 0; i < r->n_rows && !rc; i++)
            if (r->listed[i] < sdc.k)
                rc = ob_err_set(e, OB_EDENIED,
                                "release refused: a clinic of the cluster lists fewer than %d "
                                "patients in the period (R-STAT-2)",
                                sdc.k);
        /* the same query on the same data: the same table (the earlier pattern first) */
        for (size_t i = pv.n; !rc && i-- > 0;) {
            const struct prev *p = &pv.p[i];
            if (strcmp(p->def, def_txt) != 0 || p->r->table->n_fig != t->n_fig ||
                memcmp(p->r->table->value, t->value, t->n_fig * sizeof *t->value) != 0)
                continue;
            /* hidden stays hidden (`x`, a small cell's too); `<k` comes back as primary */
            for (size_t f = 0; f < t->n_fig; f++)
                if (p->kind[f] == OB_STATS_PUB_HIDDEN ||
                    (p->kind[f] == OB_STATS_PUB_SMALL &&
                     !(t->value[f] < sdc.k && (t->value[f] > 0 || !sdc.zeros_released))))
                    t->state[f] = OB_STATS_DIFFERENCING;
            break;
        }
        ob_stats_link_rel *rels = rc ? NULL : ob_calloc(pv.n + 1, sizeof *rels);
        int64_t *llo = rc ? NULL : ob_calloc(r->n_rows + 1, sizeof *llo);
        int64_t *lhi = rc ? NULL : ob_calloc(r->n_rows + 1, sizeof *lhi);
        if (!rc && (!rels || !llo || !lhi))
            rc = ob_err_set(e, OB_ENOMEM, "out of memory");
        if (!rc) {
            for (size_t i = 0; i < r->n_rows; i++)
                listed_range(ob_stats_round(r->listed[i], LISTED_BASE), &llo[i], &lhi[i]);
            rels[0] =
                (ob_stats_link_rel){r, owner, NULL, NULL, llo, lhi, q.from, q.to, only != OB_NONE};
            for (size_t i = 0; i < pv.n; i++) {
                const struct prev *p = &pv.p[i];
                rels[i + 1] = (ob_stats_link_rel){p->r,   p->owner, p->kind, p->val,  p->llo,
                                                  p->lhi, p->from,  p->to,   p->local};
            }
            ob_stats_link L = {pv.n + 1,          rels, o->mode == OB_STATS_MODE_ROUND, 2, 1, 0,
                               stats_work_limit()};
            /* other clusters' and planning groups' releases: their stored patient sets (kept
             * for the retention period) are compared pairwise; each finding hides a figure
             * and the linked protection runs again */
            if (!(rc = ob_stats_db_load_history(db, NULL, NULL, &hist, e))) {
                for (int round = 0; round < 16; round++) {
                    for (size_t f = 0; f < r->table->n_fig; f++)
                        if (r->table->state[f] == OB_STATS_SECONDARY)
                            r->table->state[f] = OB_STATS_RELEASED;
                    ob_stats_audit_free(&full);
                    size_t marked = 0;
                    if ((rc = ob_stats_link_protect(&L, &sdc, &full, e)) ||
                        (rc = ob_stats_history_check(&hist, r, 0, &sdc, &marked, NULL, 0, e)) ||
                        marked == 0)
                        break;
                    if (round == 15)
                        rc = ob_err_set(e, OB_EDENIED, "release refused: differencing (R-STAT-2)");
                }
            }
        }
        ob_free(rels);
        ob_free(llo);
        ob_free(lhi);
        if (rc) {
            if (rc == OB_EDENIED)
                log_refusal(h, o, cl, now, resource, e ? e->msg : "refused");
            goto done;
        }
        /* independent check of what is about to leave: no released figure under k */
        bool small = false;
        for (size_t f = 0; f < t->n_fig; f++) {
            if (!ob_stats_suppressed(t, f) && t->value[f] > 0 && t->value[f] < sdc.k)
                small = true;
            out->suppressed += ob_stats_suppressed(t, f);
            out->differencing += t->state[f] == OB_STATS_DIFFERENCING;
        }
        if (full.n_unsafe || small) {
            rc = ob_err_set(e, OB_EINTERNAL,
                            "release withheld: the final audit found %zu unsafe range(s)%s",
                            full.n_unsafe, small ? " and a released figure under k" : "");
            log_refusal(h, o, cl, now, resource, e ? e->msg : "refused");
            goto done;
        }
        out->audit_passed = true;
        pub_txt = published_json(r, &sdc, o->mode == OB_STATS_MODE_ROUND);
        if (!pub_txt) {
            rc = ob_err_set(e, OB_ENOMEM, "out of memory");
            goto done;
        }
    }
    labels = ob_calloc(r->n_rows, sizeof *labels);
    order = ob_calloc(r->n_rows, sizeof *order);
    if (!labels || !order) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = ob_stats_labels(d, r, &ag, labels, order, e)))
        goto done;
    /* a clinic's own figures go to the clinic itself: its row never carries the cluster
     * pseudonym, which would tie that pseudonym to the clinic (R-STAT-3) */
    if (only != OB_NONE)
        for (size_t i = 0; i < r->n_rows; i++)
            snprintf(labels[i], OB_STATS_LABEL_MAX, "own clinic");
    /* a planning row is the municipality, not a provider (R-STAT-6) */
    if (snap.kind == OB_CLUSTER_PLANNING && snap.municipality != OB_NONE)
        for (size_t i = 0; i < r->n_rows; i++)
            snprintf(labels[i], OB_STATS_LABEL_MAX, "%s", d->clinic_provider[r->clinic[i]]);

    /* persist and log in one transaction, before anything is shown (R-LOG-1) */
    struct release_ctx rcx;
    memset(&rcx, 0, sizeof rcx);
    rcx.meta.cluster = cluster_id;
    rcx.meta.scope = scope;
    rcx.meta.created = now;
    rcx.meta.actor = o->actor && o->actor->actor_id ? o->actor->actor_id : "operator";
    rcx.meta.filter = filter;
    rcx.meta.mode = mode_name(o->mode);
    rcx.meta.epsilon_milli = dp ? o->epsilon_milli : 0;
    rcx.meta.definition = dp ? NULL : def_txt;
    rcx.meta.published = dp ? NULL : pub_txt;
    rcx.r = dp ? NULL : r;
    rcx.used = r;
    rcx.budget_total = dp ? budget : 0;
    rcx.clinics = member_ids;
    rcx.nclinics = snap.nmembers;
    rcx.mark = dp ? -1 : mark; /* a noisy release is not audited against the history */
    char reason[256];
    snprintf(reason, sizeof reason, "released: %s; %zu clinic(s), %zu figure(s) suppressed", filter,
             r->n_rows, out->suppressed);
    ob_log_entry le;
    log_entry(o, cl, now, true, resource, reason, &le);
    if (!h->log) {
        rc = ob_err_set(e, OB_EIO, "the access log is not open; no release without a log entry");
        goto done;
    }
    test_pause();
    if ((rc = ob_alog_append(h->log, &le, 1, apply_release, &rcx, &out->log_seq, e))) {
        *moved = rcx.moved;
        if (rcx.moved && last) {
            rc = ob_err_set(e, OB_ECONFLICT,
                            "release refused: other releases kept being recorded while it was "
                            "audited; nothing was released, try again");
            log_refusal(h, o, cl, now, resource, e ? e->msg : "refused");
        }
        goto done;
    }
    out->release_id = rcx.id;

    /* rounding is post-processing of a safe release: it can only reveal less */
    if (o->mode == OB_STATS_MODE_ROUND)
        for (size_t f = 0; f < r->table->n_fig; f++)
            if (!ob_stats_suppressed(r->table, f))
                r->table->value[f] = ob_stats_round(r->table->value[f], 5);

    mf = open_memstream(&buf, &blen);
    if (!mf) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory rendering");
        goto done;
    }
    if ((rc = ob_stats_render(mf, o->format, r, &sdc, (const char(*)[OB_STATS_LABEL_MAX])labels,
                              order, e)))
        goto done;
    if (o->format == OB_STATS_TEXT) {
        fprintf(mf, "\ncluster %s (%s), %s, k=%d, labels: %s\n", cluster_id,
                only != OB_NONE ? "clinic-local" : scope, filter, sdc.k,
                ag.mode == OB_STATS_LABEL_OPEN        ? "provider numbers (agreed)"
                : ag.mode == OB_STATS_LABEL_ANONYMOUS ? "anonymous"
                                                      : "pseudonyms");
        fprintf(mf, "release %lld recorded; log entry %llu\n", (long long)out->release_id,
                (unsigned long long)out->log_seq);
        audit_text(mf, r, &full, &sdc, (const char(*)[OB_STATS_LABEL_MAX])labels, order, dp,
                   only != OB_NONE);
    }
    fclose(mf);
    mf = NULL;
    if (o->format == OB_STATS_JSON) {
        json_error_t je;
        json_t *root = json_loadb(buf, blen, 0, &je);
        if (!root) {
            rc = ob_err_set(e, OB_EINTERNAL, "rendering the release: %s", je.text);
            goto done;
        }
        json_object_set_new(root, "release",
                            json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "id",
                                      (json_int_t)out->release_id, "cluster", cluster_id, "scope",
                                      only != OB_NONE ? "clinic-local" : scope, "filter", filter,
                                      "mode", mode_name(o->mode), "log_seq",
                                      (json_int_t)out->log_seq));
        json_object_set_new(root, "audit",
                            audit_json(r, &full, (const char(*)[OB_STATS_LABEL_MAX])labels, order,
                                       dp, only != OB_NONE));
        free(buf);
        buf = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (!buf) {
            rc = ob_err_set(e, OB_ENOMEM, "out of memory rendering");
            goto done;
        }
        blen = strlen(buf);
    }
    out->body = buf;
    out->len = blen;
    buf = NULL;
done:
    if (mf)
        fclose(mf);
    free(buf);
    ob_stats_db_close(db);
    ob_free(noisy);
    ob_free(labels);
    ob_free(order);
    ob_stats_audit_free(&audit);
    ob_stats_audit_free(&full);
    ob_stats_history_free(&hist);
    ob_stats_report_free(r);
    ob_stats_dataset_free(d);
    prevs_free(&pv, pv_total > pv.n ? pv_total : pv.n);
    for (size_t i = 0; i < nbases; i++)
        ob_stats_dataset_free(bases[i].d);
    ob_free(bases);
    free(def_txt);
    free(pub_txt);
    ob_free(owner);
    ob_free(member_ids);
    return rc;
}

/* Attempts at one release: each audits against the history as it then is. Releases are
 * rare (a cluster's coordinators, a few a month), so two at once are rare too; a history
 * that keeps moving refuses the release rather than publish unaudited (fail closed). */
#define RUN_ATTEMPTS 4

ob_status ob_stats_run(ob_hub *h, const ob_stats_order *o, ob_stats_outcome *out, ob_err *e)
{
    for (int attempt = 1;; attempt++) {
        bool moved = false;
        ob_status rc = run_once(h, o, out, attempt == RUN_ATTEMPTS, &moved, e);
        if (!moved || attempt == RUN_ATTEMPTS)
            return rc;
        ob_err_clear(e);
    }
}
