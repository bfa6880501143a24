/* overrides_pg.c - override counts shared by the servers on PostgreSQL (see overrides_pg.h
 * for why a count is exact). */
#include "store/pg/overrides_pg.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define HOURS 24

struct ob_pgovr {
    pthread_mutex_t mu;
    PGconn *c; /* owned; under mu */
    uint64_t counts;
};

static ob_status pg_fail(ob_err *e, PGconn *c, const char *what)
{
    const char *m = c ? PQerrorMessage(c) : "";
    return ob_err_set(e, OB_EIO, "override counts on PostgreSQL: %s: %.*s", what,
                      (int)strcspn(m, "\n"), m);
}

static ob_status exec_ok(PGconn *c, const char *sql, ob_err *e)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    ob_status rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? OB_OK : pg_fail(e, c, sql);
    PQclear(r);
    return rc;
}

/* The table, made once by whichever server comes first (two CREATE TABLE IF NOT EXISTS at
 * once can collide: the advisory lock orders them). */
static const char *const schema_sql =
    "SET client_min_messages = warning; BEGIN; SELECT pg_advisory_xact_lock(7236001236);"
    "CREATE TABLE IF NOT EXISTS sync_override (kind \"char\" NOT NULL, id text NOT NULL,"
    " hour bigint NOT NULL, n bigint NOT NULL, PRIMARY KEY (kind, id, hour)); COMMIT";

ob_status ob_pgovr_open(const char *uri, ob_pgovr **out, ob_err *e)
{
    *out = NULL;
    ob_pgovr *o = ob_calloc(1, sizeof *o);
    if (!o)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    o->c = PQconnectdb(uri);
    ob_status rc = !o->c                             ? ob_err_set(e, OB_ENOMEM, "out of memory")
                   : PQstatus(o->c) != CONNECTION_OK ? pg_fail(e, o->c, "connecting")
                                                     : exec_ok(o->c, schema_sql, e);
    if (rc) {
        PQfinish(o->c);
        ob_free(o);
        return rc;
    }
    pthread_mutex_init(&o->mu, NULL);
    *out = o;
    return OB_OK;
}

void ob_pgovr_close(ob_pgovr *o)
{
    if (!o)
        return;
    PQfinish(o->c);
    pthread_mutex_destroy(&o->mu);
    ob_free(o);
}

/* The current hour's row up by one (its new n, under the row's lock) plus the earlier hours
 * of the window, which are no longer counted into. */
static const char *const count_sql =
    "WITH b AS (INSERT INTO sync_override (kind, id, hour, n) VALUES ($1::\"char\", $2, "
    "$3::bigint, 1) ON CONFLICT (kind, id, hour) DO UPDATE SET n = sync_override.n + 1 "
    "RETURNING n) "
    "SELECT (SELECT n FROM b) + coalesce((SELECT sum(n) FROM sync_override WHERE kind = "
    "$1::\"char\" AND id = $2 AND hour > $3::bigint - 24 AND hour < $3::bigint), 0)";

static ob_status count_on(ob_pgovr *o, const char *const vals[3], uint64_t *total, ob_err *e)
{
    PGresult *r = PQexecParams(o->c, count_sql, 3, NULL, vals, NULL, NULL, 0);
    ob_status rc = OB_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
        rc = pg_fail(e, o->c, "counting an override");
    else
        *total = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return rc;
}

ob_status ob_pgovr_count(ob_pgovr *o, char kind, const char *id, ob_time now, uint64_t *total,
                         ob_err *e)
{
    *total = 0;
    if ((kind != 'p' && kind != 's') || !id || !*id)
        return ob_err_set(e, OB_EINVAL, "override counts: a kind 'p' or 's' and an id");
    int64_t hour = (int64_t)now / 3600;
    char k[2] = {kind, '\0'}, h[24];
    snprintf(h, sizeof h, "%lld", (long long)hour);
    const char *vals[3] = {k, id, h};
    pthread_mutex_lock(&o->mu);
    ob_status rc = count_on(o, vals, total, e);
    if (rc) { /* the connection went, or its server is a standby now (a failover): the
               * URI's target_session_attrs=read-write finds the primary; once more */
        PQreset(o->c);
        if (PQstatus(o->c) == CONNECTION_OK) {
            memset(e, 0, sizeof *e);
            rc = count_on(o, vals, total, e);
        }
    }
    if (!rc && o->counts++ % 256 == 0) { /* the hours out of every window go, now and then */
        char old[24];
        snprintf(old, sizeof old, "%lld", (long long)(hour - HOURS));
        const char *v[1] = {old};
        PQclear(PQexecParams(o->c, "DELETE FROM sync_override WHERE hour <= $1::bigint", 1, NULL, v,
                             NULL, NULL, 0));
    }
    pthread_mutex_unlock(&o->mu);
    return rc;
}
