/* stats_pg.c - statistics releases on PostgreSQL (issue 18): store/stats.h's calls on a
 * libpq connection, the log's inside a release's transaction or a pooled reader of the
 * store's for the reads. The tables are SQLite's (store/sqlite/stats_sqlite.c documents
 * them), made by the store's migration to version 5 (ob_stats_pg_schema): text compared or
 * ordered is COLLATE "C" as SQLite compares, times are bigint, a figure's patient set is
 * the same little-endian bytes (bytea). Several servers write them: each release's
 * transaction takes the statistics' advisory lock first (ob_stats_tx_lock), so releases,
 * their ids and the budget's charges are serialised across servers. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "store/backend.h"
#include "store/pg/store_pg.h"
#include "store/stats.h"

const char ob_stats_pg_schema[] =
    "CREATE TABLE stats_release (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " cluster text COLLATE \"C\" NOT NULL, scope text COLLATE \"C\" NOT NULL,"
    " created bigint NOT NULL, actor text NOT NULL, filter text NOT NULL,"
    " mode text COLLATE \"C\" NOT NULL, epsilon_milli bigint NOT NULL DEFAULT 0,"
    " n_sets bigint NOT NULL, expired bigint);"
    "CREATE INDEX stats_release_cluster ON stats_release (cluster, scope);"
    "CREATE TABLE stats_release_set (release bigint NOT NULL, fig bigint NOT NULL,"
    " ids bytea NOT NULL, PRIMARY KEY (release, fig));"
    "CREATE TABLE stats_budget (cluster text COLLATE \"C\" PRIMARY KEY,"
    " spent_milli bigint NOT NULL);"
    "CREATE TABLE stats_published (release bigint PRIMARY KEY,"
    " cluster text COLLATE \"C\" NOT NULL, definition text NOT NULL, published text NOT NULL);"
    "CREATE INDEX stats_published_cluster ON stats_published (cluster);"
    "CREATE TABLE stats_budget_clinic (clinic text COLLATE \"C\" PRIMARY KEY,"
    " spent_milli bigint NOT NULL, cap_milli bigint NOT NULL);"
    "CREATE TABLE stats_release_patient (patient bigint NOT NULL, release bigint NOT NULL,"
    " PRIMARY KEY (patient, release));";

/* "ob-stats": the statistics' writers, one at a time across servers */
#define STATS_LOCK_SQL "SELECT pg_advisory_xact_lock(8026027459824678003)"

/* The first line of libpq's message, never the conninfo. */
static ob_status pg_fail(ob_err *e, PGconn *c, const char *what)
{
    const char *m = PQerrorMessage(c);
    return ob_err_set(e, OB_EIO, "database: %s: %.*s", what, (int)strcspn(m, "\n"), m);
}

/* One statement with text parameters (NULL: SQL NULL); binary asks for binary results (the
 * sets' bytea). *out gets the result (may be NULL: cleared here). */
static ob_status q(PGconn *c, const char *sql, int n, const char *const *vals, int binary,
                   const char *what, PGresult **out, ob_err *e)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, binary);
    ExecStatusType st = PQresultStatus(r);
    ob_status rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? OB_OK : pg_fail(e, c, what);
    if (out && !rc)
        *out = r;
    else
        PQclear(r);
    return rc;
}

static int64_t text_i64(PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* A bigint of a binary result: eight bytes, most significant first. */
static int64_t bin_i64(PGresult *r, int row, int col)
{
    const unsigned char *b = (const unsigned char *)PQgetvalue(r, row, col);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return (int64_t)v;
}

static ob_status one_i64(PGconn *c, const char *sql, int n, const char *const *vals,
                         const char *what, int64_t *out, ob_err *e)
{
    PGresult *r = NULL;
    ob_status rc = q(c, sql, n, vals, 0, what, &r, e);
    if (rc)
        return rc;
    *out = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? text_i64(r, 0, 0) : 0;
    PQclear(r);
    return OB_OK;
}

/* ---- the read handle: a pooled reader of the store ---- */

static ob_status pg_open_db(ob_store *s, ob_stats_db **out, ob_err *e)
{
    ob_stats_db *h = ob_calloc(1, sizeof *h);
    if (!h)
        return ob_err_set(e, OB_ENOMEM, "out of memory opening the statistics");
    PGconn *c = NULL;
    void *token = NULL;
    ob_status rc = ob_store_pg_conn_take(s, &c, &token, e);
    if (rc) {
        ob_free(h);
        return rc;
    }
    *h = (ob_stats_db){&ob_stats_pg_ops, c, s, token};
    *out = h;
    return OB_OK;
}

static void pg_close_db(ob_stats_db *h)
{
    ob_store_pg_conn_give(h->store, h->token);
    ob_free(h);
}

static ob_status pg_begin(void *conn, ob_err *e)
{
    return q(conn, "BEGIN", 0, NULL, 0, "beginning", NULL, e);
}

static void pg_rollback(void *conn)
{
    PQclear(PQexec(conn, "ROLLBACK"));
}

static ob_status pg_lock(void *conn, ob_err *e)
{
    return q(conn, STATS_LOCK_SQL, 0, NULL, 0, "locking the statistics", NULL, e);
}

static ob_status pg_mark(void *conn, int64_t *mark, ob_err *e)
{
    return one_i64(conn, "SELECT coalesce(max(id), 0) FROM stats_release WHERE mode <> 'dp'", 0,
                   NULL, "reading the release history", mark, e);
}

static ob_status pg_load_history(void *conn, const char *cluster, const char *scope,
                                 ob_stats_history *h, ob_err *e)
{
    const char *vals[2] = {cluster, scope};
    PGresult *r = NULL;
    ob_status rc = q(conn,
                     "SELECT r.id, r.filter, s.ids FROM stats_release r JOIN stats_release_set s"
                     " ON s.release = r.id WHERE ($1::text IS NULL OR r.cluster = $1) AND"
                     " ($2::text IS NULL OR r.scope = $2) AND r.expired IS NULL"
                     " ORDER BY r.id, s.fig",
                     2, vals, 1, "reading the release history", &r, e);
    ob_stats_history_cursor cur = {0};
    for (int i = 0; !rc && i < PQntuples(r); i++)
        rc = ob_stats_history_row(h, &cur, bin_i64(r, i, 0), PQgetvalue(r, i, 1),
                                  (const unsigned char *)PQgetvalue(r, i, 2),
                                  (size_t)PQgetlength(r, i, 2), e);
    PQclear(r);
    return rc;
}

static ob_status pg_record(void *conn, const ob_stats_release_meta *m, const ob_stats_report *r,
                           int64_t *id, ob_err *e)
{
    size_t nsets = 0;
    if (r)
        for (size_t f = 0; f < r->table->n_fig; f++)
            nsets += !ob_stats_suppressed(r->table, f);
    char created[24], eps[24], ns[24], rid_s[24];
    snprintf(created, sizeof created, "%lld", (long long)m->created);
    snprintf(eps, sizeof eps, "%llu", (unsigned long long)m->epsilon_milli);
    snprintf(ns, sizeof ns, "%zu", nsets);
    const char *vals[8] = {m->cluster, m->scope, created, m->actor ? m->actor : "operator",
                           m->filter,  m->mode,  eps,     ns};
    int64_t rid = 0;
    ob_status rc =
        one_i64(conn,
                "INSERT INTO stats_release (cluster, scope, created, actor, filter, mode,"
                " epsilon_milli, n_sets) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " RETURNING id",
                8, vals, "recording the release", &rid, e);
    if (rc)
        return rc;
    snprintf(rid_s, sizeof rid_s, "%lld", (long long)rid);
    if (m->definition && m->published) {
        const char *pv[4] = {rid_s, m->cluster, m->definition, m->published};
        if ((rc = q(conn,
                    "INSERT INTO stats_published (release, cluster, definition, published)"
                    " VALUES ($1, $2, $3, $4)",
                    4, pv, 0, "recording the published table", NULL, e)))
            return rc;
    }
    for (size_t f = 0; r && f < r->table->n_fig && !rc; f++) {
        if (ob_stats_suppressed(r->table, f))
            continue;
        size_t n = r->set_off[f + 1] - r->set_off[f];
        unsigned char *b;
        if ((rc = ob_stats_set_encode(r->set_ids + r->set_off[f], n, &b, e)))
            break;
        char fig[24];
        snprintf(fig, sizeof fig, "%zu", f);
        const char *sv[3] = {rid_s, fig, (const char *)b};
        const int len[3] = {0, 0, (int)(4 * n)}, fmt[3] = {0, 0, 1};
        PGresult *res = PQexecParams(
            conn, "INSERT INTO stats_release_set (release, fig, ids) VALUES ($1, $2, $3)", 3, NULL,
            sv, len, fmt, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = pg_fail(e, conn, "recording a release data set");
        PQclear(res);
        ob_free(b);
    }
    if (!rc && id)
        *id = rid;
    return rc;
}

static ob_status pg_spent(void *conn, const char *cluster, uint64_t *spent, ob_err *e)
{
    int64_t v = 0;
    const char *vals[1] = {cluster};
    ob_status rc = one_i64(conn, "SELECT spent_milli FROM stats_budget WHERE cluster = $1", 1, vals,
                           "reading the privacy budget", &v, e);
    *spent = (uint64_t)v;
    return rc;
}

static ob_status pg_charge(void *conn, const char *cluster, uint64_t total, uint64_t eps, ob_err *e)
{
    uint64_t spent;
    ob_status rc = pg_spent(conn, cluster, &spent, e);
    if (rc)
        return rc;
    if (spent + eps > total)
        return ob_stats_budget_spent(e, false, spent, total, eps);
    char v[24];
    snprintf(v, sizeof v, "%llu", (unsigned long long)(spent + eps));
    const char *vals[2] = {cluster, v};
    return q(conn,
             "INSERT INTO stats_budget (cluster, spent_milli) VALUES ($1, $2)"
             " ON CONFLICT (cluster) DO UPDATE SET spent_milli = excluded.spent_milli",
             2, vals, 0, "charging the privacy budget", NULL, e);
}

static ob_status count_q(void *conn, const char *sql, const char *cluster, ob_time t, int64_t *n,
                         ob_err *e)
{
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)t);
    const char *vals[2] = {cluster, ts};
    return one_i64(conn, sql, 2, vals, "counting release data sets", n, e);
}

static ob_status pg_count_expiring(void *conn, const char *cluster, ob_time before, int64_t *n,
                                   ob_err *e)
{
    return count_q(conn,
                   "SELECT count(*) FROM stats_release WHERE cluster = $1 AND created < $2 AND"
                   " expired IS NULL",
                   cluster, before, n, e);
}

static ob_status pg_count_sets(void *conn, const char *cluster, int64_t *n, ob_err *e)
{
    return count_q(conn,
                   "SELECT count(*) FROM stats_release_set s JOIN stats_release r ON"
                   " r.id = s.release WHERE ($1::text IS NULL OR r.cluster = $1) AND"
                   " $2::bigint = $2::bigint",
                   cluster, 0, n, e);
}

static ob_status pg_expire(void *conn, const char *cluster, ob_time before, ob_time now, int64_t *n,
                           ob_err *e)
{
    ob_status rc = pg_count_expiring(conn, cluster, before, n, e);
    if (rc)
        return rc;
    char b[24], t[24];
    snprintf(b, sizeof b, "%lld", (long long)before);
    snprintf(t, sizeof t, "%lld", (long long)now);
    const char *vals[3] = {cluster, b, t};
    if ((rc = q(conn,
                "DELETE FROM stats_release_set WHERE release IN (SELECT id FROM stats_release"
                " WHERE cluster = $1 AND created < $2 AND expired IS NULL)",
                2, vals, 0, "expiring release data sets", NULL, e)))
        return rc;
    return q(conn,
             "UPDATE stats_release SET expired = $3 WHERE cluster = $1 AND created < $2 AND"
             " expired IS NULL",
             3, vals, 0, "expiring release data sets", NULL, e);
}

static ob_status pg_each_release(void *conn, const char *cluster, int limit, ob_stats_release_fn fn,
                                 void *ctx, ob_err *e)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *vals[2] = {cluster, lim};
    PGresult *r = NULL;
    ob_status rc = q(conn,
                     "SELECT id, scope, filter, mode, created, coalesce(expired, 0)"
                     " FROM stats_release WHERE cluster = $1 ORDER BY id DESC LIMIT $2",
                     2, vals, 0, "reading the release history", &r, e);
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        ob_stats_release_row row = {text_i64(r, i, 0),   PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                                    PQgetvalue(r, i, 3), text_i64(r, i, 4),   text_i64(r, i, 5)};
        rc = fn(ctx, &row, e);
    }
    PQclear(r);
    return rc;
}

static ob_status pg_each_published(void *conn, const char *cluster, ob_stats_published_fn fn,
                                   void *ctx, ob_err *e)
{
    const char *vals[1] = {cluster};
    PGresult *r = NULL;
    ob_status rc = q(conn,
                     "SELECT release, definition, published FROM stats_published WHERE"
                     " cluster = $1 ORDER BY release",
                     1, vals, 0, "reading the published releases", &r, e);
    for (int i = 0; !rc && i < PQntuples(r); i++)
        rc = fn(ctx, text_i64(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), e);
    PQclear(r);
    return rc;
}

static ob_status pg_charge_clinics(void *conn, const char *const *clinics, size_t n, uint64_t cap,
                                   uint64_t eps, ob_err *e)
{
    ob_status rc = OB_OK;
    /* check every clinic first, then charge all: all or nothing */
    for (int pass = 0; pass < 2 && !rc; pass++)
        for (size_t i = 0; i < n && !rc; i++) {
            uint64_t spent = 0, c = cap;
            const char *vals[3] = {clinics[i], NULL, NULL};
            PGresult *r = NULL;
            /* FOR UPDATE: a charge elsewhere waits for this transaction, not past it */
            if ((rc = q(conn,
                        "SELECT spent_milli, cap_milli FROM stats_budget_clinic WHERE"
                        " clinic = $1 FOR UPDATE",
                        1, vals, 0, "reading the privacy budget", &r, e)))
                break;
            if (PQntuples(r) == 1) {
                spent = (uint64_t)text_i64(r, 0, 0);
                uint64_t had = (uint64_t)text_i64(r, 0, 1);
                c = had < cap ? had : cap;
            }
            PQclear(r);
            if (pass == 0 && spent + eps > c) {
                rc = ob_stats_budget_spent(e, true, spent, c, eps);
                break;
            }
            if (pass == 1) {
                char sv[24], cv[24];
                snprintf(sv, sizeof sv, "%llu", (unsigned long long)(spent + eps));
                snprintf(cv, sizeof cv, "%llu", (unsigned long long)c);
                vals[1] = sv;
                vals[2] = cv;
                rc = q(conn,
                       "INSERT INTO stats_budget_clinic (clinic, spent_milli, cap_milli)"
                       " VALUES ($1, $2, $3) ON CONFLICT (clinic) DO UPDATE SET"
                       " spent_milli = excluded.spent_milli, cap_milli = excluded.cap_milli",
                       3, vals, 0, "charging the privacy budget", NULL, e);
            }
        }
    return rc;
}

/* One statement for all the release's patients (an array of ids): the log's lock is held
 * while it runs, and a row at a time would be thousands of round trips. */
static ob_status pg_record_patients(void *conn, int64_t release, const ob_stats_report *r,
                                    ob_err *e)
{
    uint32_t *ids;
    size_t n;
    ob_status rc = ob_stats_used_patients(r, &ids, &n, e);
    if (rc || n == 0)
        return rc;
    char *arr = ob_malloc(n * 11 + 3), rel[24];
    if (!arr) {
        ob_free(ids);
        return ob_err_set(e, OB_ENOMEM, "out of memory recording a release's patients");
    }
    size_t at = 0;
    arr[at++] = '{';
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(arr + at, 12, "%s%u", i ? "," : "", ids[i]);
    arr[at++] = '}';
    arr[at] = '\0';
    snprintf(rel, sizeof rel, "%lld", (long long)release);
    const char *vals[2] = {arr, rel};
    rc = q(conn,
           "INSERT INTO stats_release_patient (patient, release)"
           " SELECT unnest($1::bigint[]), $2::bigint ON CONFLICT DO NOTHING",
           2, vals, 0, "recording a release's patients", NULL, e);
    ob_free(arr);
    ob_free(ids);
    return rc;
}

/* A use from a row of (id, cluster, scope, created, filter, mode, expired) in binary. */
static ob_status use_row(PGresult *r, int i, bool derived, ob_stats_use_fn fn, void *ctx, ob_err *e)
{
    ob_stats_use u = {0};
    u.release = bin_i64(r, i, 0);
    u.cluster = PQgetvalue(r, i, 1);
    u.scope = PQgetvalue(r, i, 2);
    u.created = (ob_time)bin_i64(r, i, 3);
    u.filter = PQgetvalue(r, i, 4);
    u.mode = PQgetvalue(r, i, 5);
    u.expired = !PQgetisnull(r, i, 6);
    u.derived = derived;
    return fn(ctx, &u, e);
}

static ob_status pg_uses(void *conn, uint32_t patient, ob_stats_use_fn fn, void *ctx, ob_err *e)
{
    char p[16];
    snprintf(p, sizeof p, "%u", patient);
    const char *vals[1] = {p};
    PGresult *r = NULL;
    /* recorded at release time (from issue 26 on) */
    ob_status rc = q(conn,
                     "SELECT r.id, r.cluster, r.scope, r.created, r.filter, r.mode, r.expired"
                     " FROM stats_release_patient p JOIN stats_release r ON r.id = p.release"
                     " WHERE p.patient = $1 ORDER BY r.id DESC",
                     1, vals, 1, "reading the releases that used a patient's data", &r, e);
    for (int i = 0; !rc && i < PQntuples(r); i++)
        rc = use_row(r, i, false, fn, ctx, e);
    PQclear(r);
    if (rc)
        return rc;
    /* releases made before: derived from their figures' patient sets while those are kept
     * (R-STAT-7), as on SQLite */
    r = NULL;
    rc = q(conn,
           "SELECT r.id, r.cluster, r.scope, r.created, r.filter, r.mode, r.expired, s.ids"
           " FROM stats_release r JOIN stats_release_set s ON s.release = r.id"
           " WHERE NOT EXISTS (SELECT 1 FROM stats_release_patient p WHERE p.release = r.id)"
           " ORDER BY r.id DESC, s.fig",
           0, NULL, 1, "reading the releases that used a patient's data", &r, e);
    int64_t told = -1;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        int64_t id = bin_i64(r, i, 0);
        const unsigned char *b = (const unsigned char *)PQgetvalue(r, i, 7);
        size_t n = (size_t)PQgetlength(r, i, 7) / 4;
        if (id != told && ob_stats_set_has(b, n, patient)) {
            told = id;
            rc = use_row(r, i, true, fn, ctx, e);
        }
    }
    PQclear(r);
    return rc;
}

const ob_stats_ops ob_stats_pg_ops = {
    .open_db = pg_open_db,
    .close_db = pg_close_db,
    .begin = pg_begin,
    .rollback = pg_rollback,
    .lock = pg_lock,
    .mark = pg_mark,
    .load_history = pg_load_history,
    .record = pg_record,
    .spent = pg_spent,
    .charge = pg_charge,
    .count_expiring = pg_count_expiring,
    .expire = pg_expire,
    .count_sets = pg_count_sets,
    .each_release = pg_each_release,
    .each_published = pg_each_published,
    .charge_clinics = pg_charge_clinics,
    .record_patients = pg_record_patients,
    .uses = pg_uses,
};
