/* stats.h - persistence of statistics releases on either backend (issue 18): the release
 * history for R-STAT-2's differencing control across runs, processes and servers, the
 * differential-privacy budget, R-STAT-7's retention, and which releases used a patient's data
 * (issue 26). store/sqlite/stats_sqlite.c and store/pg/stats_pg.c implement it (the same
 * tables and answers; their schemas are documented there), store/stats.c sends each call to
 * the backend it was given.
 *
 * A release is recorded inside the access log's transaction (the log's apply callback gets
 * an ob_store_tx), so that the release, its patient-id sets, the budget charge and its log
 * entry commit together or not at all: the ob_stats_tx_* calls. Reads run on a handle of
 * their own on the store's backend (ob_stats_db_open): a connection of its own on SQLite, a
 * pooled read connection of the store on PostgreSQL. Strings are borrowed. */
#ifndef OB_STORE_STATS_H
#define OB_STORE_STATS_H

#include <stdbool.h>

#include "stats/stats.h"
#include "store/store.h"

typedef struct ob_stats_release_meta {
    const char *cluster; /* cluster external id */
    const char *scope;   /* history namespace: "cluster", "planning" or "clinic:<org id>" */
    ob_time created;
    const char *actor;  /* professional ext id or "operator" */
    const char *filter; /* human-readable query */
    const char *mode;   /* "suppress", "round", "dp" */
    uint64_t epsilon_milli;
    const char *definition; /* JSON: the query (may be NULL: nothing published to keep) */
    const char *published;  /* JSON: labels and values as published */
} ob_stats_release_meta;

/* One row of a cluster's release history (strings valid during the callback only). */
typedef struct ob_stats_release_row {
    int64_t id;
    const char *scope, *filter, *mode;
    ob_time created, expired; /* expired 0: its data sets are still kept */
} ob_stats_release_row;
typedef ob_status (*ob_stats_release_fn)(void *ctx, const ob_stats_release_row *r, ob_err *e);
typedef ob_status (*ob_stats_published_fn)(void *ctx, int64_t id, const char *definition,
                                           const char *published, ob_err *e);

/* A release that used a patient's data (issue 26: the patient's $uses). */
typedef struct ob_stats_use {
    int64_t release;
    const char *cluster, *scope, *filter, *mode; /* valid during the callback */
    ob_time created;
    bool expired; /* its figure sets were deleted (R-STAT-7) */
    bool derived; /* a release made before the inclusion was recorded: read from its sets */
} ob_stats_use;
typedef ob_status (*ob_stats_use_fn)(void *ctx, const ob_stats_use *u, ob_err *e);

/* ---- reads ---- */

typedef struct ob_stats_db ob_stats_db;
/* A handle for the reads below on s's backend (the tables ensured); ob_stats_db_close it
 * before s is closed. */
ob_status ob_stats_db_open(ob_store *s, ob_stats_db **out, ob_err *e);
void ob_stats_db_close(ob_stats_db *db);

/* Appends every stored release of (cluster, scope) whose data sets still exist to h, as
 * records of history cluster 0. cluster and scope may be NULL for all. */
ob_status ob_stats_db_load_history(ob_stats_db *db, const char *cluster, const char *scope,
                                   ob_stats_history *h, ob_err *e);
/* The epsilon spent by the cluster, in 1/1000 (the budget per cluster of stats schema 1). */
ob_status ob_stats_db_spent(ob_stats_db *db, const char *cluster, uint64_t *spent, ob_err *e);
/* Releases of the cluster created before `before` that still hold data sets. */
ob_status ob_stats_db_count_expiring(ob_stats_db *db, const char *cluster, ob_time before,
                                     int64_t *n, ob_err *e);
/* Number of stored per-figure data sets of the cluster (NULL: all clusters). */
ob_status ob_stats_db_count_sets(ob_stats_db *db, const char *cluster, int64_t *n, ob_err *e);
/* Calls fn for the cluster's releases, newest first, at most limit of them. */
ob_status ob_stats_db_each_release(ob_stats_db *db, const char *cluster, int limit,
                                   ob_stats_release_fn fn, void *ctx, ob_err *e);
/* Calls fn for every kept published table of the cluster, oldest first. */
ob_status ob_stats_db_each_published(ob_stats_db *db, const char *cluster, ob_stats_published_fn fn,
                                     void *ctx, ob_err *e);
/* Calls fn for every release that used the data of patient (the index's id), newest first:
 * those recorded at release time, then older ones found in their figures' sets. */
ob_status ob_stats_db_uses(ob_stats_db *db, uint32_t patient, ob_stats_use_fn fn, void *ctx,
                           ob_err *e);
/* The history's mark: the newest release that keeps anything a later audit reads (its
 * published table or its patient sets; not a noisy release). A release recorded after the
 * mark was read raises it (ob_stats_tx_mark). */
ob_status ob_stats_db_mark(ob_stats_db *db, int64_t *mark, ob_err *e);
/* Whether ob_stats_tx_charge_clinics would charge (a transaction rolled back): OB_EDENIED
 * when a clinic's budget is spent. */
ob_status ob_stats_db_try_charge_clinics(ob_stats_db *db, const char *const *clinics, size_t n,
                                         uint64_t cap, uint64_t eps, ob_err *e);

/* ---- writes inside a release's (or a retention's) log transaction ---- */

/* Serialises the statistics' writers across servers until the transaction ends (on
 * PostgreSQL an advisory transaction lock; on SQLite the log's one writer already does):
 * every read after it sees every release committed before it. */
ob_status ob_stats_tx_lock(ob_store_tx *tx, ob_err *e);
/* ob_stats_db_mark as the transaction sees it (after ob_stats_tx_lock: every commit). */
ob_status ob_stats_tx_mark(ob_store_tx *tx, int64_t *mark, ob_err *e);
/* Records a release; with r (may be NULL for a noisy release) the patient-id set of every
 * released figure. *id receives the release id. */
ob_status ob_stats_tx_record(ob_store_tx *tx, const ob_stats_release_meta *m,
                             const ob_stats_report *r, int64_t *id, ob_err *e);
/* Charges eps against the cluster's total; OB_EDENIED (nothing changed) past it. */
ob_status ob_stats_tx_charge(ob_store_tx *tx, const char *cluster, uint64_t total, uint64_t eps,
                             ob_err *e);
/* Charges eps to the DP budget of each clinic's patients (R-STAT-8, DP per population): the
 * cap of a clinic is the lowest cap any release over it was made under. OB_EDENIED, nothing
 * charged, when any clinic would exceed its cap. */
ob_status ob_stats_tx_charge_clinics(ob_store_tx *tx, const char *const *clinics, size_t n,
                                     uint64_t cap, uint64_t eps, ob_err *e);
/* Records, in stats_release_patient(patient, release), every patient whose data went into a
 * figure of the release (the union of its figures' sets; r may be a noisy release's report,
 * whose sets are not kept). Kept with the release row: unlike the per-figure sets, which
 * retention deletes (R-STAT-7), it says only that the patient's data was used, which is what
 * the patient may always ask (GDPR art. 15). */
ob_status ob_stats_tx_record_patients(ob_store_tx *tx, int64_t release, const ob_stats_report *r,
                                      ob_err *e);
/* Deletes the data sets of the cluster's releases created before `before` and marks them
 * expired at `now` (the release row stays as a record that the release happened). *n
 * receives the number of releases affected. */
ob_status ob_stats_tx_expire(ob_store_tx *tx, const char *cluster, ob_time before, ob_time now,
                             int64_t *n, ob_err *e);

/* ---- shared by the backends (store/stats.c) ---- */

/* A figure's patient-id set as stored: 4-byte little-endian ids, ascending. *out is
 * ob_malloc'ed (4 * n bytes, never NULL). */
ob_status ob_stats_set_encode(const uint32_t *ids, size_t n, unsigned char **out, ob_err *e);
/* Whether a stored set of n ids holds id. */
bool ob_stats_set_has(const unsigned char *b, size_t n, uint32_t id);
/* Builds a history from rows in (release, fig) order: start with a zeroed cursor. */
typedef struct ob_stats_history_cursor {
    int64_t cur;
    size_t cap_fig, cap_ids, nids;
    ob_stats_release_rec *rec;
    bool started;
} ob_stats_history_cursor;
ob_status ob_stats_history_row(ob_stats_history *h, ob_stats_history_cursor *c, int64_t id,
                               const char *filter, const unsigned char *b, size_t len_bytes,
                               ob_err *e);
/* The patients of a report's figures, sorted, each once: *out ob_malloc'ed, *n of them. */
ob_status ob_stats_used_patients(const ob_stats_report *r, uint32_t **out, size_t *n, ob_err *e);
/* The refusals of a spent budget, worded alike on both backends. */
ob_status ob_stats_budget_spent(ob_err *e, bool clinic, uint64_t spent, uint64_t cap, uint64_t eps);

#endif
