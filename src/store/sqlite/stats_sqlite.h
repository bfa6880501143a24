/* stats_sqlite.h - persistence of statistics releases (R-STAT-2 differencing control across
 * runs and processes, the differential-privacy budget, R-STAT-7 retention).
 *
 * The functions take a raw sqlite3 handle because a release is recorded inside the access
 * log's transaction (the log writer's apply callback, log_sqlite.h), so that the release, its
 * patient-id sets, the budget charge and its log entry commit together or not at all; reads
 * use a connection of their own (ob_stats_db_open). Tables (created if missing, "stats schema
 * 1"; documented in stats_sqlite.c) live in the hub's database file. Strings are borrowed. */
#ifndef OB_STORE_STATS_SQLITE_H
#define OB_STORE_STATS_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "stats/stats.h"

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

/* Creates the tables if missing. */
ob_status ob_stats_db_ensure(sqlite3 *db, ob_err *e);
/* Opens a connection of its own on the database file (tables ensured); sqlite3_close it. */
ob_status ob_stats_db_open(const char *path, sqlite3 **out, ob_err *e);

/* Appends every stored release of (cluster, scope) whose data sets still exist to h, as
 * records of history cluster 0. cluster and scope may be NULL for all. */
ob_status ob_stats_db_load_history(sqlite3 *db, const char *cluster, const char *scope,
                                   ob_stats_history *h, ob_err *e);
/* Records a release; with r (may be NULL for a noisy release) the patient-id set of every
 * released figure. *id receives the release id. */
ob_status ob_stats_db_record(sqlite3 *db, const ob_stats_release_meta *m, const ob_stats_report *r,
                             int64_t *id, ob_err *e);

/* The epsilon spent by the cluster, in 1/1000. */
ob_status ob_stats_db_spent(sqlite3 *db, const char *cluster, uint64_t *spent, ob_err *e);
/* Charges eps against total; OB_EDENIED (nothing changed) if it would exceed it. */
ob_status ob_stats_db_charge(sqlite3 *db, const char *cluster, uint64_t total, uint64_t eps,
                             ob_err *e);

/* Releases of the cluster created before `before` that still hold data sets. */
ob_status ob_stats_db_count_expiring(sqlite3 *db, const char *cluster, ob_time before, int64_t *n,
                                     ob_err *e);
/* Deletes their data sets and marks them expired at `now` (the release row stays as a
 * record that the release happened). *n receives the number of releases affected. */
ob_status ob_stats_db_expire(sqlite3 *db, const char *cluster, ob_time before, ob_time now,
                             int64_t *n, ob_err *e);
/* Number of stored per-figure data sets of the cluster (NULL: all clusters). */
ob_status ob_stats_db_count_sets(sqlite3 *db, const char *cluster, int64_t *n, ob_err *e);

/* One row of a cluster's release history (strings valid during the callback only). */
typedef struct ob_stats_release_row {
    int64_t id;
    const char *scope, *filter, *mode;
    ob_time created, expired; /* expired 0: its data sets are still kept */
} ob_stats_release_row;
/* Calls fn for the cluster's releases, newest first, at most limit of them. */
ob_status ob_stats_db_each_release(sqlite3 *db, const char *cluster, int limit,
                                   ob_status (*fn)(void *ctx, const ob_stats_release_row *r,
                                                   ob_err *e),
                                   void *ctx, ob_err *e);

/* Calls fn for every kept published table of the cluster, oldest first. */
ob_status ob_stats_db_each_published(sqlite3 *db, const char *cluster,
                                     ob_status (*fn)(void *ctx, int64_t id, const char *definition,
                                                     const char *published, ob_err *e),
                                     void *ctx, ob_err *e);
/* Charges eps to the DP budget of each clinic's patients (R-STAT-8, DP per population): the
 * cap of a clinic is the lowest cap any release over it was made under. OB_EDENIED, nothing
 * charged, when any clinic would exceed its cap. */
ob_status ob_stats_db_charge_clinics(sqlite3 *db, const char *const *clinics, size_t n,
                                     uint64_t cap, uint64_t eps, ob_err *e);

/* --- which releases used a patient's data (issue 26: the patient's $uses) --- */

/* Records, in stats_release_patient(patient, release), every patient whose data went into a
 * figure of the release (the union of its figures' sets; r may be a noisy release's report,
 * whose sets are not kept). Kept with the release row: unlike the per-figure sets, which
 * retention deletes (R-STAT-7), it says only that the patient's data was used, which is what
 * the patient may always ask (GDPR art. 15). In the release's own transaction. */
ob_status ob_stats_db_record_patients(sqlite3 *db, int64_t release, const ob_stats_report *r,
                                      ob_err *e);
typedef struct ob_stats_use {
    int64_t release;
    const char *cluster, *scope, *filter, *mode; /* valid during the callback */
    ob_time created;
    bool expired; /* its figure sets were deleted (R-STAT-7) */
    bool derived; /* a release made before the inclusion was recorded: read from its sets */
} ob_stats_use;
typedef ob_status (*ob_stats_use_fn)(void *ctx, const ob_stats_use *u, ob_err *e);
/* Calls fn for every release that used the data of patient (the index's id), newest first:
 * those recorded at release time, then older ones found in their figures' sets. */
ob_status ob_stats_db_uses(sqlite3 *db, uint32_t patient, ob_stats_use_fn fn, void *ctx, ob_err *e);
#endif
