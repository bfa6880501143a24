/* stats_sqlite.c - statistics releases in SQLite (see stats_sqlite.h).
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
#include "store/sqlite/stats_sqlite.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "store/store.h"

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

ob_status ob_stats_db_ensure(sqlite3 *db, ob_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        ob_status st =
            ob_err_set(e, OB_EIO, "creating statistics tables: %s", msg ? msg : "unknown error");
        sqlite3_free(msg);
        return st;
    }
    return OB_OK;
}

ob_status ob_stats_db_open(const char *path, sqlite3 **out, ob_err *e)
{
    sqlite3 *db = NULL;
    *out = NULL;
    /* the URI may hold a password: never made into a file name nor echoed */
    if (ob_store_where_is_pg(path))
        return ob_err_set(e, OB_EINVAL,
                          "the cluster statistics run on a SQLite database only so far; this "
                          "server is on PostgreSQL (docs/scale.md)");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        ob_status st = ob_err_set(e, OB_EIO, "cannot open database %s: %s", path,
                                  db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return st;
    }
    sqlite3_busy_timeout(db, 10000);
    ob_status st = ob_stats_db_ensure(db, e);
    if (st) {
        sqlite3_close(db);
        return st;
    }
    *out = db;
    return OB_OK;
}

ob_status ob_stats_db_load_history(sqlite3 *db, const char *cluster, const char *scope,
                                   ob_stats_history *h, ob_err *e)
{
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
    int64_t cur = -1;
    size_t cap_fig = 0, cap_ids = 0, nids = 0;
    ob_stats_release_rec *rec = NULL;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id != cur) {
            if (ob_grow((void **)&h->rec, &h->cap, h->n + 1, sizeof *h->rec)) {
                rc = ob_err_set(e, OB_ENOMEM, "out of memory reading the release history");
                break;
            }
            rec = &h->rec[h->n++];
            memset(rec, 0, sizeof *rec);
            const char *f = (const char *)sqlite3_column_text(st, 1);
            snprintf(rec->filter, sizeof rec->filter, "%s", f ? f : "");
            cur = id;
            cap_fig = cap_ids = nids = 0;
            if (ob_grow((void **)&rec->set_off, &cap_fig, 1, sizeof *rec->set_off)) {
                rc = ob_err_set(e, OB_ENOMEM, "out of memory reading the release history");
                break;
            }
            rec->set_off[0] = 0;
        }
        const unsigned char *b = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2) / 4;
        if (ob_grow((void **)&rec->set_off, &cap_fig, rec->n_fig + 2, sizeof *rec->set_off) ||
            ob_grow((void **)&rec->set_ids, &cap_ids, nids + len + 1, sizeof *rec->set_ids)) {
            rc = ob_err_set(e, OB_ENOMEM, "out of memory reading the release history");
            break;
        }
        for (size_t i = 0; i < len; i++)
            rec->set_ids[nids + i] = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
                                     (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
        nids += len;
        rec->set_off[++rec->n_fig] = nids;
    }
    if (!rc && r != SQLITE_DONE)
        rc = dberr(db, e, "reading the release history");
    sqlite3_finalize(st);
    return rc;
}

ob_status ob_stats_db_record(sqlite3 *db, const ob_stats_release_meta *m, const ob_stats_report *r,
                             int64_t *id, ob_err *e)
{
    ob_status rc = ob_stats_db_ensure(db, e);
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
        unsigned char *b = ob_malloc(4 * n + 1);
        if (!b) {
            rc = ob_err_set(e, OB_ENOMEM, "out of memory recording the release");
            break;
        }
        const uint32_t *ids = r->set_ids + r->set_off[f];
        for (size_t i = 0; i < n; i++) {
            b[4 * i] = (unsigned char)ids[i];
            b[4 * i + 1] = (unsigned char)(ids[i] >> 8);
            b[4 * i + 2] = (unsigned char)(ids[i] >> 16);
            b[4 * i + 3] = (unsigned char)(ids[i] >> 24);
        }
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

ob_status ob_stats_db_spent(sqlite3 *db, const char *cluster, uint64_t *spent, ob_err *e)
{
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

ob_status ob_stats_db_charge(sqlite3 *db, const char *cluster, uint64_t total, uint64_t eps,
                             ob_err *e)
{
    uint64_t spent;
    ob_status rc = ob_stats_db_ensure(db, e);
    if (rc || (rc = ob_stats_db_spent(db, cluster, &spent, e)))
        return rc;
    if (spent + eps > total)
        return ob_err_set(e, OB_EDENIED,
                          "release refused: the cluster's privacy budget is spent (%.3f of %.3f "
                          "used, %.3f asked)",
                          (double)spent / 1000, (double)total / 1000, (double)eps / 1000);
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

ob_status ob_stats_db_count_expiring(sqlite3 *db, const char *cluster, ob_time before, int64_t *n,
                                     ob_err *e)
{
    return count_q(db,
                   "SELECT count(*) FROM stats_release WHERE cluster=?1 AND created < ?2 AND "
                   "expired IS NULL",
                   cluster, before, n, e);
}

ob_status ob_stats_db_each_release(sqlite3 *db, const char *cluster, int limit,
                                   ob_status (*fn)(void *ctx, const ob_stats_release_row *r,
                                                   ob_err *e),
                                   void *ctx, ob_err *e)
{
    ob_status rc = ob_stats_db_ensure(db, e);
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

ob_status ob_stats_db_count_sets(sqlite3 *db, const char *cluster, int64_t *n, ob_err *e)
{
    return count_q(db,
                   "SELECT count(*) FROM stats_release_set s JOIN stats_release r ON "
                   "r.id = s.release WHERE (?1 IS NULL OR r.cluster = ?1) AND ?2 = ?2",
                   cluster, 0, n, e);
}

ob_status ob_stats_db_expire(sqlite3 *db, const char *cluster, ob_time before, ob_time now,
                             int64_t *n, ob_err *e)
{
    ob_status rc = ob_stats_db_ensure(db, e);
    if (rc || (rc = ob_stats_db_count_expiring(db, cluster, before, n, e)))
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

ob_status ob_stats_db_each_published(sqlite3 *db, const char *cluster,
                                     ob_status (*fn)(void *ctx, int64_t id, const char *definition,
                                                     const char *published, ob_err *e),
                                     void *ctx, ob_err *e)
{
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

ob_status ob_stats_db_charge_clinics(sqlite3 *db, const char *const *clinics, size_t n,
                                     uint64_t cap, uint64_t eps, ob_err *e)
{
    ob_status rc = ob_stats_db_ensure(db, e);
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
                rc = ob_err_set(e, OB_EDENIED,
                                "release refused: the privacy budget of a member clinic's "
                                "patients is spent (%.3f of %.3f used, %.3f asked)",
                                (double)spent / 1000, (double)c / 1000, (double)eps / 1000);
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

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

ob_status ob_stats_db_record_patients(sqlite3 *db, int64_t release, const ob_stats_report *r,
                                      ob_err *e)
{
    size_t n = r && r->set_off ? r->set_off[r->table->n_fig] : 0;
    if (n == 0)
        return OB_OK;
    uint32_t *ids = ob_malloc(n * sizeof *ids);
    if (!ids)
        return ob_err_set(e, OB_ENOMEM, "out of memory recording a release's patients");
    memcpy(ids, r->set_ids, n * sizeof *ids);
    qsort(ids, n, sizeof *ids, cmp_u32);
    sqlite3_stmt *st;
    ob_status rc = OB_OK;
    if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO stats_release_patient VALUES (?1, ?2)", -1,
                           &st, NULL) != SQLITE_OK) {
        ob_free(ids);
        return dberr(db, e, "recording a release's patients");
    }
    for (size_t i = 0; i < n && !rc; i++) {
        if (i && ids[i] == ids[i - 1])
            continue;
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

/* Whether a set blob (ascending little-endian u32) holds id. */
static bool blob_has(const unsigned char *b, size_t n, uint32_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t v = (uint32_t)b[4 * mid] | (uint32_t)b[4 * mid + 1] << 8 |
                     (uint32_t)b[4 * mid + 2] << 16 | (uint32_t)b[4 * mid + 3] << 24;
        if (v == id)
            return true;
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
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

ob_status ob_stats_db_uses(sqlite3 *db, uint32_t patient, ob_stats_use_fn fn, void *ctx, ob_err *e)
{
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
        if (id != told && b && blob_has(b, n, patient)) {
            told = id;
            rc = use_row(st, true, fn, ctx, e);
        }
    }
    if (!rc && r != SQLITE_DONE)
        rc = dberr(db, e, "reading the releases that used a patient's data");
    sqlite3_finalize(st);
    return rc;
}
