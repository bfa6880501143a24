/* stats_sqlite.c - statistics releases in SQLite: store/stats.h's calls on a SQLite
 * connection (the log writer's inside a release's transaction, or a read handle's own).
 *
 * Stats schema 1 (CREATE TABLE IF NOT EXISTS, in the hub's database file):
 *   stats_release(id INTEGER PRIMARY KEY, cluster TEXT, scope TEXT, created INTEGER (ob_time),
 *                 actor TEXT, filter TEXT, mode TEXT, epsilon_milli INTEGER,
 *                 n_sets INTEGER, expired INTEGER NULL)      -- one row per release, kept
 *   stats_release_set(release INTEGER, fig INTEGER, ids BLOB, PRIMARY KEY(release, fig))
 *       -- the patient-id set behind one released figure: internal patient ids (dense index
 *       -- ids, stable because records are append-only) as 4-byte little-endian integers,
 *       -- ascending. Never released; deleted when the cluster's retention expires (R-STAT-7).
 *   stats_budget(cluster TEXT PRIMARY KEY, spent_milli INTEGER)  -- unused since stats schema 2
 * Stats schema 2 adds:
 *   stats_published(release, cluster, definition TEXT, published TEXT) -- what a release
 *       published (JSON: the query, and per figure its label and value, per row its clinic
 *       and listed count as shown): safe to keep, kept for good, because differencing
 *       protection needs every earlier release (R-STAT-8); retention does not touch it.
 *   stats_budget_clinic(clinic TEXT PRIMARY KEY, spent_milli, cap_milli) -- the DP budget of
 *       a member clinic's patients: every noisy release over the clinic charges it, whatever
 *       the cluster is called; the cap never rises (the lowest agreed epsilon binds).
 * A release whose sets were deleted has expired = the deletion time and no longer takes part
 * in differencing control. */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "store/backend.h"
#include "store/stats.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS stats_release(id INTEGER PRIMARY KEY, cluster TEXT NOT NULL,"
    " scope TEXT NOT NULL, created INTEGER NOT NULL, actor TEXT NOT NULL, filter TEXT NOT NULL,"
    " mode TEXT NOT NULL, epsilon_milli INTEGER NOT NULL DEFAULT 0, n_sets INTEGER NOT NULL,"
    " expired INTEGER);"
    "CREATE INDEX IF NOT EXISTS stats_release_cluster ON stats_release(cluster, scope);"
    "CREATE TABLE IF NOT EXISTS stats_release_set(release INTEGER NOT NULL, fig INTEGER NOT NULL,"
    " ids BLOB NOT NULL, PRIMARY KEY(release, fig));"
    "CREATE TABLE IF NOT EXISTS stats_budget(cluster TEXT PRIMARY KEY,"
    " spent_milli INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS stats_published(release INTEGER PRIMARY KEY,"
    " cluster TEXT NOT NULL, definition TEXT NOT NULL, published TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS stats_published_cluster ON stats_published(cluster);"
    "CREATE TABLE IF NOT EXISTS stats_budget_clinic(clinic TEXT PRIMARY KEY,"
    " spent_milli INTEGER NOT NULL, cap_milli INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS stats_release_patient(patient INTEGER NOT NULL,"
    " release INTEGER NOT NULL, PRIMARY KEY(patient, release)) WITHOUT ROWID;";

static ob_status dberr(sqlite3 *db, ob_err *e, const char *what)
{
    return ob_err_set(e, OB_EIO, "%s: %s", what, sqlite3_errmsg(db));
}

static ob_status sq_ensure(void *conn, ob_err *e)
{
    sqlite3 *db = conn;
    char *msg = NULL;
    if (sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        ob_status st =
            ob_err_set(e, OB_EIO, "creating statistics tables: %s", msg ? msg : "unknown error");
        sqlite3_free(msg);
        return st;
    }
    return OB_OK;
}

/* A connection of its own on the store's file: the DP budget's dry run writes in a
 * transaction it rolls back, which the store's read-only readers cannot. */
static ob_status sq_open_db(ob_store *s, ob_stats_db **out, ob_err *e)
{
    sqlite3 *db = NULL;
    *out = NULL;
    const char *path = ob_store_path(s);
    ob_stats_db *h = ob_calloc(1, sizeof *h);
    if (!h)
        return ob_err_set(e, OB_ENOMEM, "out of memory opening the statistics");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        ob_free(h);
        ob_status st = ob_err_set(e, OB_EIO, "cannot open database %s: %s", path,
                                  db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return st;
    }
    sqlite3_busy_timeout(db, 10000);
    ob_status st = sq_ensure(db, e);
    if (st) {
        sqlite3_close(db);
        ob_free(h);
        return st;
    }
    *h = (ob_stats_db){&ob_stats_sqlite_ops, db, s, NULL};
    *out = h;
    return OB_OK;
}

static void sq_close_db(ob_stats_db *h)
{
    sqlite3_close(h->conn);
    ob_free(h);
}

static ob_status sq_begin(void *conn, ob_err *e)
{
    sqlite3 *db = conn;
    return sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? OB_OK
                                                                    : dberr(db, e, "beginning");
}

static void sq_rollback(void *conn)
{
    sqlite3_exec(conn, "ROLLBACK", NULL, NULL, NULL);
}

/* The log's one writer (one process: the hub locks the file) serialises every release. */
static ob_status sq_lock(void *conn, ob_err *e)
{
    (void)conn;
    (void)e;
    return OB_OK;
}

static ob_status sq_mark(void *conn, int64_t *mark, ob_err *e)
{
    sqlite3 *db = conn;
    sqlite3_stmt *st;
    *mark = 0;
    ob_status rc = sq_ensure(db, e);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM stats_release WHERE mode <> 'dp'",
                           -1, &st, NULL) != SQLITE_OK)
        return dberr(db, e, "reading the release history");
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *mark = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? OB_OK : dberr(db, e, "reading the release history");
}

static ob_status sq_load_history(void *conn, const char *cluster, const char *scope,
                                 ob_stats_history *h, ob_err *e)
{
    sqlite3 *db = conn;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT r.id, r.filter, s.ids FROM stats_release r JOIN "
                           "stats_release_set s ON s.release = r.id WHERE (?1 IS NULL OR "
                           "r.cluster=?1) AND (?2 IS NULL OR r.scope=?2) AND r.expired IS NULL "
                           "ORDER BY r.id, s.fig",
                           -1, &st, NULL) != SQLITE_OK)
        return dberr(db, e, "reading the release history");
    if (cluster)
        sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    if (scope)
        sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
    ob_status rc = OB_OK;
    ob_stats_history_cursor c = {0};
    int r;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW)
        rc = ob_stats_history_row(
            h, &c, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
            sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), e);
    if (!rc && r != SQLITE_DONE)
        rc = dberr(db, e, "reading the release history");
    sqlite3_finalize(st);
    return rc;
}

static ob_status sq_record(void *conn, const ob_stats_release_meta *m, const ob_stats_report *r,
                           int64_t *id, ob_err *e)
{
    sqlite3 *db = conn;
    ob_status rc = sq_ensure(db, e);
    if (rc)
        return rc;
    size_t nsets = 0;
    if (r)
        for (size_t f = 0; f < r->table->n_fig; f++)
            nsets += !ob_stats_suppressed(r->table, f);
    sqlite3_stmt *st = NULL, *ss = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO stats_release(cluster, scope, created, actor, filter, mode,"
                           " epsilon_milli, n_sets) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO stats_release_set(release, fig, ids) VALUES(?1,?2,?3)",
                           -1, &ss, NULL) != SQLITE_OK) {
        rc = dberr(db, e, "recording the release");
        goto done;
    }
    sqlite3_bind_text(st, 1, m->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->scope, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, m->created);
    sqlite3_bind_text(st, 4, m->actor ? m->actor : "operator", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, m->filter, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, m->mode, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)m->epsilon_milli);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)nsets);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = dberr(db, e, "recording the release");
        goto done;
    }
    int64_t rid = sqlite3_last_insert_rowid(db);
    if (m->definition && m->published) {
        sqlite3_stmt *sp = NULL;
        if (sqlite3_prepare_v2(db,
                               "INSERT INTO stats_published(release, cluster, definition, "
                               "published) VALUES(?1,?2,?3,?4)",
                               -1, &sp, NULL) != SQLITE_OK) {
            rc = dberr(db, e, "recording the published table");
            goto done;
        }
        sqlite3_bind_int64(sp, 1, rid);
        sqlite3_bind_text(sp, 2, m->cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(sp, 3, m->definition, -1, SQLITE_STATIC);
        sqlite3_bind_text(sp, 4, m->published, -1, SQLITE_STATIC);
        if (sqlite3_step(sp) != SQLITE_DONE)
            rc = dberr(db, e, "recording the published table");
        sqlite3_finalize(sp);
        if (rc)
            goto done;
    }
    for (size_t f = 0; r && f < r->table->n_fig && !rc; f++) {
        if (ob_stats_suppressed(r->table, f))
            continue;
        size_t n = r->set_off[f + 1] - r->set_off[f];
        unsigned char *b;
        if ((rc = ob_stats_set_encode(r->set_ids + r->set_off[f], n, &b, e)))
            break;
        sqlite3_bind_int64(ss, 1, rid);
        sqlite3_bind_int64(ss, 2, (sqlite3_int64)f);
        sqlite3_bind_blob(ss, 3, b, (int)(4 * n), SQLITE_STATIC);
        if (sqlite3_step(ss) != SQLITE_DONE)
            rc = dberr(db, e, "recording a release data set");
        sqlite3_reset(ss);
        ob_free(b);
    }
    if (!rc && id)
        *id = rid;
done:
    sqlite3_finalize(st);
    sqlite3_finalize(ss);
    return rc;
}

static ob_status sq_spent(void *conn, const char *cluster, uint64_t *spent, ob_err *e)
{
    sqlite3 *db = conn;
    sqlite3_stmt *st;
    *spent = 0;
    if (sqlite3_prepare_v2(db, "SELECT spent_milli FROM stats_budget WHERE cluster=?1", -1, &st,
                           NULL) != SQLITE_OK)
        return dberr(db, e, "reading the privacy budget");
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *spent = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? OB_OK : dberr(db, e, "reading the privacy budget");
}

static ob_status sq_charge(void *conn, const char *cluster, uint64_t total, uint64_t eps, ob_err *e)
{
    sqlite3 *db = conn;
    uint64_t spent;
    ob_status rc = sq_ensure(db, e);
    if (rc || (rc = sq_spent(db, cluster, &spent, e)))
        return rc;
    if (spent + eps > total)
        return ob_stats_budget_spent(e, false, spent, total, eps);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO stats_budget(cluster, spent_milli) "
                           "VALUES(?1, ?2)",
                           -1, &st, NULL) != SQLITE_OK)
        return dberr(db, e, "charging the privacy budget");
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(spent + eps));
    rc = sqlite3_step(st) == SQLITE_DONE ? OB_OK : dberr(db, e, "charging the privacy budget");
    sqlite3_finalize(st);
    return rc;
}

static ob_status count_q(sqlite3 *db, const char *sql, const char *cluster, ob_time t, int64_t *n,
                         ob_err *e)
{
    sqlite3_stmt *st;
    *n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return dberr(db, e, "counting release data sets");
    if (cluster)
        sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, t);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? OB_OK : dberr(db, e, "counting release data sets");
}

static ob_status sq_count_expiring(void *conn, const char *cluster, ob_time before, int64_t *n,
                                   ob_err *e)
{
    sqlite3 *db = conn;
    return count_q(db,
                   "SELECT count(*) FROM stats_release WHERE cluster=?1 AND created < ?2 AND "
                   "expired IS NULL",
                   cluster, before, n, e);
}

static ob_status sq_each_release(void *conn, const char *cluster, int limit,
                                 ob_status (*fn)(void *ctx, const ob_stats_release_row *r,
                                                 ob_err *e),
                                 void *ctx, ob_err *e)
{
    sqlite3 *db = conn;
    ob_status rc = sq_ensure(db, e);
    sqlite3_stmt *st = NULL;
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, scope, filter, mode, created, expired FROM stats_release "
                           "WHERE cluster = ?1 ORDER BY id DESC LIMIT ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return dberr(db, e, "reading the release history");
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit);
    int s;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        ob_stats_release_row r = {sqlite3_column_int64(st, 0),
                                  (const char *)sqlite3_column_text(st, 1),
                                  (const char *)sqlite3_column_text(st, 2),
                                  (const char *)sqlite3_column_text(st, 3),
                                  sqlite3_column_int64(st, 4),
                                  sqlite3_column_int64(st, 5)};
        rc = fn(ctx, &r, e);
    }
    if (!rc && s != SQLITE_DONE)
        rc = dberr(db, e, "reading the release history");
    sqlite3_finalize(st);
    return rc;
}

static ob_status sq_count_sets(void *conn, const char *cluster, int64_t *n, ob_err *e)
{
    sqlite3 *db = conn;
    return count_q(db,
                   "SELECT count(*) FROM stats_release_set s JOIN stats_release r ON "
                   "r.id = s.release WHERE (?1 IS NULL OR r.cluster = ?1) AND ?2 = ?2",
                   cluster, 0, n, e);
}

static ob_status sq_expire(void *conn, const char *cluster, ob_time before, ob_time now, int64_t *n,
                           ob_err *e)
{
    sqlite3 *db = conn;
    ob_status rc = sq_ensure(db, e);
    if (rc || (rc = sq_count_expiring(db, cluster, before, n, e)))
        return rc;
    sqlite3_stmt *d = NULL, *u = NULL;
    if (sqlite3_prepare_v2(db,
                           "DELETE FROM stats_release_set WHERE release IN (SELECT id FROM "
                           "stats_release WHERE cluster=?1 AND created < ?2 AND expired IS NULL)",
                           -1, &d, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "UPDATE stats_release SET expired=?3 WHERE cluster=?1 AND "
                           "created < ?2 AND expired IS NULL",
                           -1, &u, NULL) != SQLITE_OK) {
        rc = dberr(db, e, "expiring release data sets");
        goto done;
    }
    sqlite3_bind_text(d, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(d, 2, before);
    sqlite3_bind_text(u, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(u, 2, before);
    sqlite3_bind_int64(u, 3, now);
    if (sqlite3_step(d) != SQLITE_DONE || sqlite3_step(u) != SQLITE_DONE)
        rc = dberr(db, e, "expiring release data sets");
done:
    sqlite3_finalize(d);
    sqlite3_finalize(u);
    return rc;
}

static ob_status sq_each_published(void *conn, const char *cluster,
                                   ob_status (*fn)(void *ctx, int64_t id, const char *definition,
                                                   const char *published, ob_err *e),
                                   void *ctx, ob_err *e)
{
    sqlite3 *db = conn;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT release, definition, published FROM stats_published WHERE "
                           "cluster=?1 ORDER BY release",
                           -1, &st, NULL) != SQLITE_OK)
        return dberr(db, e, "reading the published releases");
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    ob_status rc = OB_OK;
    int r;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW)
        rc = fn(ctx, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                (const char *)sqlite3_column_text(st, 2), e);
    if (!rc && r != SQLITE_DONE)
        rc = dberr(db, e, "reading the published releases");
    sqlite3_finalize(st);
    return rc;
}

static ob_status sq_charge_clinics(void *conn, const char *const *clinics, size_t n, uint64_t cap,
                                   uint64_t eps, ob_err *e)
{
    sqlite3 *db = conn;
    ob_status rc = sq_ensure(db, e);
    if (rc)
        return rc;
    sqlite3_stmt *q = NULL, *u = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT spent_milli, cap_milli FROM stats_budget_clinic WHERE clinic=?1",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO stats_budget_clinic(clinic, spent_milli, "
                           "cap_milli) VALUES(?1,?2,?3)",
                           -1, &u, NULL) != SQLITE_OK) {
        rc = dberr(db, e, "charging the privacy budget");
        goto done;
    }
    /* check every clinic first, then charge all: all or nothing */
    for (int pass = 0; pass < 2 && !rc; pass++)
        for (size_t i = 0; i < n && !rc; i++) {
            uint64_t spent = 0, c = cap;
            sqlite3_bind_text(q, 1, clinics[i], -1, SQLITE_STATIC);
            int r = sqlite3_step(q);
            if (r == SQLITE_ROW) {
                spent = (uint64_t)sqlite3_column_int64(q, 0);
                uint64_t had = (uint64_t)sqlite3_column_int64(q, 1);
                c = had < cap ? had : cap;
            } else if (r != SQLITE_DONE) {
                rc = dberr(db, e, "reading the privacy budget");
            }
            sqlite3_reset(q);
            if (rc)
                break;
            if (pass == 0 && spent + eps > c) {
                rc = ob_stats_budget_spent(e, true, spent, c, eps);
                break;
            }
            if (pass == 1) {
                sqlite3_bind_text(u, 1, clinics[i], -1, SQLITE_STATIC);
                sqlite3_bind_int64(u, 2, (sqlite3_int64)(spent + eps));
                sqlite3_bind_int64(u, 3, (sqlite3_int64)c);
                if (sqlite3_step(u) != SQLITE_DONE)
                    rc = dberr(db, e, "charging the privacy budget");
                sqlite3_reset(u);
            }
        }
done:
    sqlite3_finalize(q);
    sqlite3_finalize(u);
    return rc;
}

/* ---- which releases used a patient's data (issue 26, the patient's $uses) ---- */

static ob_status sq_record_patients(void *conn, int64_t release, const ob_stats_report *r,
                                    ob_err *e)
{
    sqlite3 *db = conn;
    uint32_t *ids;
    size_t n;
    ob_status rc = ob_stats_used_patients(r, &ids, &n, e);
    if (rc || n == 0)
        return rc;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO stats_release_patient VALUES (?1, ?2)", -1,
                           &st, NULL) != SQLITE_OK) {
        ob_free(ids);
        return dberr(db, e, "recording a release's patients");
    }
    for (size_t i = 0; i < n && !rc; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)ids[i]);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)release);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = dberr(db, e, "recording a release's patients");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    ob_free(ids);
    return rc;
}

static ob_status use_row(sqlite3_stmt *st, bool derived, ob_stats_use_fn fn, void *ctx, ob_err *e)
{
    ob_stats_use u = {0};
    u.release = sqlite3_column_int64(st, 0);
    u.cluster = (const char *)sqlite3_column_text(st, 1);
    u.scope = (const char *)sqlite3_column_text(st, 2);
    u.created = (ob_time)sqlite3_column_int64(st, 3);
    u.filter = (const char *)sqlite3_column_text(st, 4);
    u.mode = (const char *)sqlite3_column_text(st, 5);
    u.expired = sqlite3_column_type(st, 6) != SQLITE_NULL;
    u.derived = derived;
    return fn(ctx, &u, e);
}

static ob_status sq_uses(void *conn, uint32_t patient, ob_stats_use_fn fn, void *ctx, ob_err *e)
{
    sqlite3 *db = conn;
    sqlite3_stmt *st;
    /* recorded at release time (from issue 26 on) */
    if (sqlite3_prepare_v2(
            db,
            "SELECT r.id, r.cluster, r.scope, r.created, r.filter, r.mode, r.expired "
            "FROM stats_release_patient p JOIN stats_release r ON r.id = p.release "
            "WHERE p.patient = ?1 ORDER BY r.id DESC",
            -1, &st, NULL) != SQLITE_OK)
        return dberr(db, e, "reading the releases that used a patient's data");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)patient);
    ob_status rc = OB_OK;
    int r;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW)
        rc = use_row(st, false, fn, ctx, e);
    if (!rc && r != SQLITE_DONE)
        rc = dberr(db, e, "reading the releases that used a patient's data");
    sqlite3_finalize(st);
    if (rc)
        return rc;
    /* releases made before: derived from their figures' patient sets while those are kept
     * (R-STAT-7); an expired one of those can no longer be told */
    if (sqlite3_prepare_v2(
            db,
            "SELECT r.id, r.cluster, r.scope, r.created, r.filter, r.mode, r.expired, "
            "s.ids FROM stats_release r JOIN stats_release_set s ON s.release = r.id "
            "WHERE NOT EXISTS (SELECT 1 FROM stats_release_patient p WHERE "
            "p.release = r.id) ORDER BY r.id DESC, s.fig",
            -1, &st, NULL) != SQLITE_OK)
        return dberr(db, e, "reading the releases that used a patient's data");
    int64_t told = -1;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const unsigned char *b = sqlite3_column_blob(st, 7);
        size_t n = (size_t)sqlite3_column_bytes(st, 7) / 4;
        if (id != told && b && ob_stats_set_has(b, n, patient)) {
            told = id;
            rc = use_row(st, true, fn, ctx, e);
        }
    }
    if (!rc && r != SQLITE_DONE)
        rc = dberr(db, e, "reading the releases that used a patient's data");
    sqlite3_finalize(st);
    return rc;
}

const ob_stats_ops ob_stats_sqlite_ops = {
    .open_db = sq_open_db,
    .close_db = sq_close_db,
    .begin = sq_begin,
    .rollback = sq_rollback,
    .lock = sq_lock,
    .mark = sq_mark,
    .load_history = sq_load_history,
    .record = sq_record,
    .spent = sq_spent,
    .charge = sq_charge,
    .count_expiring = sq_count_expiring,
    .expire = sq_expire,
    .count_sets = sq_count_sets,
    .each_release = sq_each_release,
    .each_published = sq_each_published,
    .charge_clinics = sq_charge_clinics,
    .record_patients = sq_record_patients,
    .uses = sq_uses,
};
