/* pg_sync.c - changes shared by several servers through PostgreSQL, with leases (see
 * pg_sync.h for the promise and why it holds).
 *
 * Tables: sync_change(seq, type, json, server) in commit order (writers take an advisory
 * lock, so a seq is never committed after a larger one: a reader that has applied through
 * n never misses one below n); sync_lease(id, applied, lease_until). */
#include "store/pg/pg_sync.h"

#include "store/backend.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/alloc.h"

#define CHANGE_LOCK        "SELECT pg_advisory_xact_lock(7236001235)"
#define SHARED_CHANGE_LOCK "SELECT pg_advisory_xact_lock_shared(7236001235)"

struct ob_pgsync {
    char *conninfo, *id;
    int lease_ms, margin_ms;
    ob_pgsync_apply_fn apply;
    ob_status (*ready)(void *ctx, ob_err *e);
    void *ctx;
    PGconn *sync; /* the sync thread's: LISTEN, fetch, renew */
    PGconn *wr;   /* the writers', under wr_mu */
    pthread_mutex_t wr_mu;
    pthread_mutex_t apply_mu; /* one applier at a time: the sync thread or a writer catching
                               * up inside its transaction (ob_pgsync_catch_up_in_tx) */
    bool skip_own;
    pthread_t thread;
    atomic_bool stop;
    atomic_llong applied;
    int64_t applied_tag; /* the tag of the change at `applied`, under apply_mu */
    ob_status (*reset)(void *ctx, ob_err *e);
    atomic_llong valid_until_ns; /* CLOCK_MONOTONIC; 0 = no lease */
    uint64_t claims;             /* write tokens claimed, under wr_mu (for the sweeps) */
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ob_status pg_fail(ob_err *e, PGconn *c, const char *what)
{
    const char *m = c ? PQerrorMessage(c) : "";
    return ob_err_set(e, OB_EIO, "changes on PostgreSQL: %s: %.*s", what, (int)strcspn(m, "\n"), m);
}

static ob_status exec_ok(PGconn *c, const char *sql, ExecStatusType want, ob_err *e)
{
    PGresult *r = PQexec(c, sql);
    ob_status rc = PQresultStatus(r) == want ? OB_OK : pg_fail(e, c, sql);
    PQclear(r);
    return rc;
}

static ob_status connect_db(const char *conninfo, PGconn **out, ob_err *e)
{
    PGconn *c = PQconnectdb(conninfo);
    if (!c)
        return ob_err_set(e, OB_ENOMEM, "out of memory connecting to PostgreSQL");
    ob_status rc = PQstatus(c) == CONNECTION_OK ? OB_OK : pg_fail(e, c, "connecting");
    if (!rc)
        rc = exec_ok(c, "SET synchronous_commit = on; SET client_min_messages = warning",
                     PGRES_COMMAND_OK, e);
    if (rc) {
        PQfinish(c);
        return rc;
    }
    *out = c;
    return OB_OK;
}

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS sync_change (seq bigint PRIMARY KEY, type text NOT NULL,"
    " json text NOT NULL, server text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sync_lease (id text PRIMARY KEY, applied bigint NOT NULL,"
    " lease_until timestamptz NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sync_write_token (digest bytea PRIMARY KEY,"
    " until bigint NOT NULL);"
    /* each change's random tag: a seq says where a change is, the tag which one is there
     * (after a failover that lost changes, their seqs are given again to others) */
    "ALTER TABLE sync_change ADD COLUMN IF NOT EXISTS tag bigint NOT NULL DEFAULT 0;";

/* The order this server applied is no longer the database's: a failover lost changes that
 * had been visible on the old primary (a commit is visible there before its synchronous
 * standby has it) and this server applied; their seqs are then given to other changes,
 * which it would skip. The owner forgets everything applied (reset) and every change is
 * applied again from the first; without a reset the server takes no lease again (fail
 * closed). Under apply_mu. */
static ob_status diverged(ob_pgsync *s, int64_t at, ob_err *e)
{
    if (!s->reset)
        return ob_err_set(e, OB_EIO,
                          "changes on PostgreSQL: change %lld as applied here is not in the "
                          "database any more (a failover lost it); restart this server",
                          (long long)at);
    ob_status rc = s->reset(s->ctx, e);
    if (rc)
        return rc;
    atomic_store(&s->applied, 0);
    s->applied_tag = 0;
    return OB_OK;
}

/* Applies the committed changes after `applied` read on c, a page at a time; *more when a
 * page was full. The change at `applied` is read as well: it must still be the one applied
 * (its tag), else the order diverged (above). Under apply_mu, so that a change is applied
 * once whoever reads it first (the sync thread, or a writer catching up inside its
 * transaction). With skip_own, this server's own changes are counted, not applied: it
 * applied each when it validated it. */
static ob_status catch_up_on(ob_pgsync *s, PGconn *c, bool *more, ob_err *e)
{
    pthread_mutex_lock(&s->apply_mu);
    *more = false;
    int64_t at = atomic_load(&s->applied);
    char from[24];
    snprintf(from, sizeof from, "%lld", (long long)at);
    const char *vals[1] = {from};
    PGresult *r = PQexecParams(c,
                               "SELECT seq, type, json, server, tag FROM sync_change WHERE seq >= "
                               "$1 ORDER BY seq LIMIT 1001",
                               1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        pthread_mutex_unlock(&s->apply_mu);
        return pg_fail(e, c, "reading the changes");
    }
    ob_status rc = OB_OK;
    int n = PQntuples(r), first = 0;
    if (at > 0) {
        if (n == 0 || strtoll(PQgetvalue(r, 0, 0), NULL, 10) != at ||
            strtoll(PQgetvalue(r, 0, 4), NULL, 10) != s->applied_tag) {
            rc = diverged(s, at, e);
            PQclear(r);
            *more = rc == OB_OK; /* read again from the first */
            pthread_mutex_unlock(&s->apply_mu);
            return rc;
        }
        first = 1;
    }
    for (int i = first; i < n && !rc; i++) {
        int64_t seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        if (!(s->skip_own && strcmp(PQgetvalue(r, i, 3), s->id) == 0))
            rc = s->apply(s->ctx, seq, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), e);
        if (!rc) {
            s->applied_tag = strtoll(PQgetvalue(r, i, 4), NULL, 10);
            atomic_store(&s->applied, seq);
        }
    }
    PQclear(r);
    pthread_mutex_unlock(&s->apply_mu);
    *more = n - first == 1000;
    return rc;
}

static ob_status catch_up(ob_pgsync *s, bool *more, ob_err *e)
{
    return catch_up_on(s, s->sync, more, e);
}

/* Renews the lease if (in the same statement) every committed change is applied here, and
 * the change at this server's place is the one it applied (its tag). The local expiry counts
 * from before the statement was sent.
 * The statement runs after the changes' lock, taken shared: a change either committed before
 * (the statement's snapshot has it, and the lease is not renewed until it is applied) or
 * commits after this renewal did (its writer then reads this lease, and waits for it). Without
 * the lock a renewal whose snapshot preceded a change, still writing while that change's
 * writer read the lease as lapsed (after a failover, or a stall), gave a lease to a server
 * that had not applied an acknowledged change (1 stale read in 35,000 in pg_failover.sh). */
static ob_status renew(ob_pgsync *s, ob_err *e)
{
    int64_t sent = mono_ns();
    char applied[24], ms[16], tag[24];
    pthread_mutex_lock(&s->apply_mu); /* the pair, as applied */
    snprintf(applied, sizeof applied, "%lld", (long long)atomic_load(&s->applied));
    snprintf(tag, sizeof tag, "%lld", (long long)s->applied_tag);
    pthread_mutex_unlock(&s->apply_mu);
    snprintf(ms, sizeof ms, "%d", s->lease_ms);
    const char *vals[4] = {s->id, applied, ms, tag};
    ob_status rc = exec_ok(s->sync, "BEGIN; " SHARED_CHANGE_LOCK, PGRES_TUPLES_OK, e);
    if (rc) {
        if (PQstatus(s->sync) == CONNECTION_OK)
            PQclear(PQexec(s->sync, "ROLLBACK"));
        return rc;
    }
    PGresult *r = PQexecParams(
        s->sync,
        "INSERT INTO sync_lease SELECT $1, $2::bigint, clock_timestamp() + $3::int * interval "
        "'1 millisecond' WHERE $2::bigint >= (SELECT coalesce(max(seq), 0) FROM sync_change) "
        "AND ($2::bigint = 0 OR EXISTS (SELECT 1 FROM sync_change WHERE seq = $2::bigint AND "
        "tag = $4::bigint)) "
        "ON CONFLICT (id) DO UPDATE SET applied = EXCLUDED.applied, lease_until = "
        "EXCLUDED.lease_until WHERE EXCLUDED.applied >= (SELECT coalesce(max(seq), 0) FROM "
        "sync_change) AND (EXCLUDED.applied = 0 OR EXISTS (SELECT 1 FROM sync_change WHERE "
        "seq = EXCLUDED.applied AND tag = $4::bigint))",
        4, NULL, vals, NULL, NULL, 0);
    bool renewed = false;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = pg_fail(e, s->sync, "renewing the lease");
    else
        renewed = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    r = PQexec(s->sync, rc ? "ROLLBACK" : "COMMIT");
    if (!rc && (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0))
        rc = pg_fail(e, s->sync, "renewing the lease");
    PQclear(r);
    if (!rc && renewed)
        atomic_store(&s->valid_until_ns, sent + (int64_t)(s->lease_ms - s->margin_ms) * 1000000);
    return rc; /* not caught up: no renewal; the caller reads the changes again */
}

/* Drains the notifications libpq holds; true when there was one. */
static bool drain(ob_pgsync *s)
{
    bool any = false;
    PGnotify *n;
    while ((n = PQnotifies(s->sync)) != NULL) {
        PQfreemem(n);
        any = true;
    }
    return any;
}

/* Waits for a notification or until timeout_ms passed. One that arrived while a statement
 * ran is already in libpq's queue, not on the socket: looked at first. */
static void wait_notify(ob_pgsync *s, int timeout_ms)
{
    PQconsumeInput(s->sync);
    if (drain(s))
        return;
    struct pollfd p = {PQsocket(s->sync), POLLIN, 0};
    if (p.fd < 0 || poll(&p, 1, timeout_ms) <= 0)
        return;
    PQconsumeInput(s->sync);
    drain(s);
}

static void *sync_main(void *arg)
{
    ob_pgsync *s = arg;
    int renew_ms = s->lease_ms / 4 > 0 ? s->lease_ms / 4 : 1;
    while (!atomic_load(&s->stop)) {
        ob_err e = {0};
        if (!s->sync || PQstatus(s->sync) != CONNECTION_OK) {
            /* the lease runs out by itself meanwhile: nothing answers on stale state */
            if (s->sync)
                PQfinish(s->sync);
            s->sync = NULL;
            if (connect_db(s->conninfo, &s->sync, &e) ||
                exec_ok(s->sync, "LISTEN overblik_sync", PGRES_COMMAND_OK, &e)) {
                struct timespec d = {0, 100 * 1000000};
                nanosleep(&d, NULL);
                continue;
            }
        }
        bool more = false, ready = true;
        if (catch_up(s, &more, &e) == OB_OK && !more &&
            (ready = !s->ready || s->ready(s->ctx, &e) == OB_OK) && renew(s, &e) == OB_OK &&
            atomic_load(&s->valid_until_ns) > mono_ns())
            wait_notify(s, renew_ms);
        else if (!ready && PQstatus(s->sync) == CONNECTION_OK)
            wait_notify(s, 100); /* the server is not ready to answer: no lease; again soon */
        else if (PQstatus(s->sync) == CONNECTION_OK && !more)
            wait_notify(s, 5); /* not caught up yet, or a statement failed: again soon */
    }
    return NULL;
}

/* Frees what open made (the thread, if any, has stopped). */
static void release(ob_pgsync *s)
{
    if (s->wr)
        PQfinish(s->wr);
    if (s->sync)
        PQfinish(s->sync);
    pthread_mutex_destroy(&s->wr_mu);
    pthread_mutex_destroy(&s->apply_mu);
    ob_free(s->conninfo);
    ob_free(s->id);
    ob_free(s);
}

ob_status ob_pgsync_open(const char *conninfo, const ob_pgsync_config *cfg,
                         ob_pgsync_apply_fn apply, void *ctx, ob_pgsync **out, ob_err *e)
{
    ob_pgsync *s = ob_calloc(1, sizeof *s);
    if (!s)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    s->conninfo = ob_malloc(strlen(conninfo) + 1);
    s->id = ob_malloc(strlen(cfg->server_id) + 1);
    if (!s->conninfo || !s->id) {
        ob_free(s->conninfo);
        ob_free(s->id);
        ob_free(s);
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    }
    memcpy(s->conninfo, conninfo, strlen(conninfo) + 1);
    memcpy(s->id, cfg->server_id, strlen(cfg->server_id) + 1);
    s->lease_ms = cfg->lease_ms > 0 ? cfg->lease_ms : 2000;
    s->margin_ms = cfg->margin_ms > 0 ? cfg->margin_ms : 250;
    if (s->margin_ms >= s->lease_ms)
        s->margin_ms = s->lease_ms / 2;
    s->apply = apply;
    s->ready = cfg->ready;
    s->reset = cfg->reset;
    s->ctx = ctx;
    pthread_mutex_init(&s->wr_mu, NULL);
    pthread_mutex_init(&s->apply_mu, NULL);
    s->skip_own = cfg->skip_own;
    ob_status rc = connect_db(conninfo, &s->wr, e);
    if (!rc)
        rc = exec_ok(s->wr, "BEGIN; " CHANGE_LOCK, PGRES_TUPLES_OK, e);
    if (!rc)
        rc = exec_ok(s->wr, schema_sql, PGRES_COMMAND_OK, e);
    if (!rc)
        rc = exec_ok(s->wr, "COMMIT", PGRES_COMMAND_OK, e);
    if (!rc)
        rc = connect_db(conninfo, &s->sync, e);
    if (!rc)
        rc = exec_ok(s->sync, "LISTEN overblik_sync", PGRES_COMMAND_OK, e);
    /* the start-up replay, then the first lease, before anyone is answered */
    for (bool more = true; !rc && more;)
        rc = catch_up(s, &more, e);
    for (int tries = 0; !rc && !ob_pgsync_current(s); tries++) {
        bool more = false;
        rc = renew(s, e);
        if (!rc && !ob_pgsync_current(s))
            rc = catch_up(s, &more, e);
        if (!rc && tries > 1000)
            rc = ob_err_set(e, OB_EIO, "changes on PostgreSQL: cannot catch up to take a lease");
    }
    if (!rc && pthread_create(&s->thread, NULL, sync_main, s) != 0)
        rc = ob_err_set(e, OB_EINTERNAL, "cannot start the sync thread");
    if (rc) {
        release(s);
        return rc;
    }
    *out = s;
    return OB_OK;
}

/* Whether some server whose lease holds has not applied seq yet. -1 on an error. */
static int pending(ob_pgsync *s, int64_t seq, ob_err *e)
{
    PGresult *r = PQexec(s->wr, "BEGIN; SELECT applied, lease_until > clock_timestamp() "
                                "FROM sync_lease FOR SHARE");
    int out = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_fail(e, s->wr, "reading the leases");
        out = -1;
    }
    for (int i = 0; out == 0 && i < PQntuples(r); i++)
        if (strcmp(PQgetvalue(r, i, 1), "t") == 0 && strtoll(PQgetvalue(r, i, 0), NULL, 10) < seq)
            out = 1;
    PQclear(r);
    if (exec_ok(s->wr, "COMMIT", PGRES_COMMAND_OK, out < 0 ? NULL : e) && out == 0)
        out = -1;
    return out;
}

/* Every server whose lease holds has applied seq, or its lease ran out: at most two leases.
 * Under wr_mu (pending() reads the leases on the writers' connection). */
static ob_status wait_applied(ob_pgsync *s, int64_t at, ob_err *e)
{
    int64_t deadline = mono_ns() + (int64_t)(2 * s->lease_ms + 1000) * 1000000;
    long nap_us = 200;
    for (;;) {
        int p = pending(s, at, e);
        if (p < 0)
            return OB_EIO;
        if (p == 0)
            return OB_OK;
        if (mono_ns() > deadline)
            return ob_err_set(e, OB_EIO,
                              "changes on PostgreSQL: servers did not apply change %lld "
                              "within two leases",
                              (long long)at);
        struct timespec d = {0, nap_us * 1000};
        nanosleep(&d, NULL);
        if (nap_us < 5000)
            nap_us *= 2;
    }
}

/* The change's row at the next seq, under the change lock, on c inside its transaction. */
static ob_status insert_change(PGconn *c, const char *server, const char *type, const char *json,
                               int64_t *at, ob_err *e)
{
    ob_status rc = exec_ok(c, CHANGE_LOCK, PGRES_TUPLES_OK, e);
    if (rc)
        return rc;
    uint64_t t = 0;
    while (!t) {
        randombytes_buf(&t, sizeof t);
        t >>= 1; /* a positive bigint */
    }
    char tag[24];
    snprintf(tag, sizeof tag, "%llu", (unsigned long long)t);
    const char *vals[4] = {type, json, server, tag};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO sync_change (seq, type, json, server, tag) SELECT "
                               "coalesce(max(seq), 0) + 1, $1, $2, $3, $4::bigint FROM "
                               "sync_change RETURNING seq",
                               4, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        rc = pg_fail(e, c, "writing the change");
    else
        *at = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return rc;
}

ob_status ob_pgsync_catch_up_in_tx(ob_pgsync *s, ob_store_tx *tx, ob_err *e)
{
    if (!tx || tx->ops != &ob_store_pg_tx_ops)
        return ob_err_set(e, OB_EINVAL, "changes on PostgreSQL: not a PostgreSQL transaction");
    PGconn *c = tx->conn;
    ob_status rc = exec_ok(c, CHANGE_LOCK, PGRES_TUPLES_OK, e);
    for (bool more = true; !rc && more;)
        rc = catch_up_on(s, c, &more, e);
    return rc;
}

ob_status ob_pgsync_change_in_tx(ob_pgsync *s, ob_store_tx *tx, const char *type, const char *json,
                                 int64_t *seq, ob_err *e)
{
    if (!tx || tx->ops != &ob_store_pg_tx_ops)
        return ob_err_set(e, OB_EINVAL, "changes on PostgreSQL: not a PostgreSQL transaction");
    PGconn *c = tx->conn;
    int64_t at = 0;
    ob_status rc = insert_change(c, s->id, type, json, &at, e);
    if (!rc) /* delivered when (if) the transaction commits */
        rc = exec_ok(c, "NOTIFY overblik_sync", PGRES_COMMAND_OK, e);
    if (!rc && seq)
        *seq = at;
    return rc;
}

/* The writers' connection again after it went (a failover). Under wr_mu. */
static ob_status writer_alive(ob_pgsync *s, ob_err *e)
{
    if (PQstatus(s->wr) == CONNECTION_OK)
        return OB_OK;
    PQreset(s->wr);
    return PQstatus(s->wr) == CONNECTION_OK ? OB_OK : pg_fail(e, s->wr, "connecting");
}

ob_status ob_pgsync_wait(ob_pgsync *s, int64_t seq, ob_err *e)
{
    pthread_mutex_lock(&s->wr_mu);
    ob_status rc = writer_alive(s, e);
    if (!rc)
        rc = wait_applied(s, seq, e);
    pthread_mutex_unlock(&s->wr_mu);
    return rc;
}

ob_status ob_pgsync_change(ob_pgsync *s, const char *type, const char *json, int64_t *seq,
                           ob_err *e)
{
    pthread_mutex_lock(&s->wr_mu);
    ob_status rc = writer_alive(s, e);
    /* one writer at a time: a seq is never committed after a larger one */
    if (!rc)
        rc = exec_ok(s->wr, "BEGIN", PGRES_COMMAND_OK, e);
    int64_t at = 0;
    if (!rc)
        rc = insert_change(s->wr, s->id, type, json, &at, e);
    if (!rc) {
        PGresult *r = PQexec(s->wr, "NOTIFY overblik_sync; COMMIT");
        if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0)
            rc = pg_fail(e, s->wr, "committing the change");
        PQclear(r);
    } else if (PQstatus(s->wr) == CONNECTION_OK) {
        PQclear(PQexec(s->wr, "ROLLBACK"));
    }
    /* every server whose lease holds applies it, or its lease runs out: at most a lease */
    if (!rc)
        rc = wait_applied(s, at, e);
    pthread_mutex_unlock(&s->wr_mu);
    if (!rc && seq)
        *seq = at;
    return rc;
}

ob_status ob_pgsync_claim_once(ob_pgsync *s, const uint8_t digest[32], int64_t until, bool *first,
                               ob_err *e)
{
    static const char hexd[] = "0123456789abcdef";
    char hex[65], u[24], now[24];
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = hexd[digest[i] >> 4];
        hex[2 * i + 1] = hexd[digest[i] & 15];
    }
    hex[64] = '\0';
    snprintf(u, sizeof u, "%lld", (long long)until);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    *first = false;
    pthread_mutex_lock(&s->wr_mu);
    ob_status rc = writer_alive(s, e);
    if (!rc && s->claims++ % 1024 == 0) { /* the expired ones go, now and then */
        const char *v[1] = {now};
        PQclear(PQexecParams(s->wr, "DELETE FROM sync_write_token WHERE until < $1::bigint", 1,
                             NULL, v, NULL, NULL, 0));
    }
    if (!rc) {
        const char *v[2] = {hex, u};
        PGresult *r = PQexecParams(s->wr,
                                   "INSERT INTO sync_write_token VALUES (decode($1, 'hex'),"
                                   " $2::bigint) ON CONFLICT DO NOTHING",
                                   2, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_fail(e, s->wr, "recording a write token");
        else
            *first = strcmp(PQcmdTuples(r), "1") == 0;
        PQclear(r);
    }
    pthread_mutex_unlock(&s->wr_mu);
    return rc;
}

bool ob_pgsync_current(const ob_pgsync *s)
{
    return mono_ns() < atomic_load(&s->valid_until_ns);
}

int64_t ob_pgsync_applied(const ob_pgsync *s)
{
    return atomic_load(&s->applied);
}

void ob_pgsync_close(ob_pgsync *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    atomic_store(&s->valid_until_ns, 0);
    /* give the lease up: writers stop waiting for this server */
    pthread_mutex_lock(&s->wr_mu);
    const char *vals[1] = {s->id};
    PQclear(
        PQexecParams(s->wr, "DELETE FROM sync_lease WHERE id = $1", 1, NULL, vals, NULL, NULL, 0));
    pthread_mutex_unlock(&s->wr_mu);
    release(s);
}
