/* pg_sync.c - changes shared by several servers through PostgreSQL, with leases (see
 * pg_sync.h for the promise and why it holds).
 *
 * Tables: sync_change(seq, type, json, server) in commit order (writers take an advisory
 * lock, so a seq is never committed after a larger one: a reader that has applied through
 * n never misses one below n); sync_lease(id, applied, lease_until).
 *
 * Threads and locks. The sync thread (sync_main: LISTEN, apply, renew) on its connection;
 * writers (a change, a write token) on theirs under wr_mu, each for one transaction; the
 * acker (ack_main) on a third, which waits for the changes committed and not yet
 * acknowledged (ob_pgsync_wait, ob_pgsync_wait_async): each round it reads the leases
 * once, for every waiter, and finishes those every live server has applied, or whose
 * deadline passed. Waiting holds no lock a writer needs: a change waiting for a stalled
 * server's lease to run out (up to a lease) no longer holds wr_mu, which made every other
 * write of the server, and with them its HTTP threads, wait behind it (T-DB-8). ack_mu
 * guards the waiters and is taken last: nothing else is locked under it, and done
 * callbacks run after it is let go. */
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
    _Atomic int *stall_ms; /* tests only: ob_pgsync_config */
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
    /* The acker (ack_main) and the changes it waits for, under ack_mu. */
    PGconn *ack; /* the acker's: the leases read once a round, for every waiter */
    pthread_t acker;
    bool acker_started;
    pthread_mutex_t ack_mu;
    pthread_cond_t ack_cv;   /* a waiter came, or the close: the acker wakes (monotonic) */
    pthread_cond_t ack_done; /* a blocking waiter (ob_pgsync_wait) was finished */
    struct ack_waiter *waiters;
    uint64_t rounds; /* the acker's reads of the leases begun */
    bool closing;    /* ob_pgsync_close began: no waiter is taken any more */
};

/* A change committed and not yet acknowledged. An asynchronous one (done set) is allocated
 * by ob_pgsync_wait_async and freed by whoever finishes it after its done returned; a
 * blocking one (done NULL) lives on its waiter's stack, and is finished (finished, st, err)
 * under ack_mu. */
typedef struct ack_waiter {
    int64_t seq;
    int64_t deadline_ns; /* CLOCK_MONOTONIC */
    uint64_t round;      /* rounds when it came: only a read of the leases begun later counts */
    ob_pgsync_done_fn done;
    void *ctx;
    bool finished;
    ob_status st;
    ob_err err;
    struct ack_waiter *next;
} ack_waiter;

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

/* A session's settings, at connecting and after a reconnection. A server stalled inside a
 * transaction (SIGSTOP, a paused VM, a long GC) holds the changes' lock (a renewal's shared,
 * a change's exclusive), and with it every change of every server and so every lease:
 * PostgreSQL ends such a session after two leases idle in the transaction (at least a
 * second; idle_in_transaction_session_timeout), and the others go on (T-DB-10). The stalled
 * server, awake, finds its connection gone, connects again and catches up. */
static ob_status session(const ob_pgsync *s, PGconn *c, ob_err *e)
{
    char sql[160];
    int idle = 2 * s->lease_ms > 1000 ? 2 * s->lease_ms : 1000;
    snprintf(sql, sizeof sql,
             "SET synchronous_commit = on; SET client_min_messages = warning; SET "
             "idle_in_transaction_session_timeout = %d",
             idle);
    return exec_ok(c, sql, PGRES_COMMAND_OK, e);
}

static ob_status connect_db(const ob_pgsync *s, PGconn **out, ob_err *e)
{
    PGconn *c = PQconnectdb(s->conninfo);
    if (!c)
        return ob_err_set(e, OB_ENOMEM, "out of memory connecting to PostgreSQL");
    ob_status rc = PQstatus(c) == CONNECTION_OK ? OB_OK : pg_fail(e, c, "connecting");
    if (!rc)
        rc = session(s, c, e);
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
    int stall = s->stall_ms ? atomic_load(s->stall_ms) : 0;
    if (!rc && stall > 0) { /* tests: a server stopped inside its renewal */
        struct timespec d = {stall / 1000, (long)(stall % 1000) * 1000000};
        nanosleep(&d, NULL);
    }
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
            if (connect_db(s, &s->sync, &e) ||
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

static void *ack_main(void *arg);
static void stop_acker(ob_pgsync *s);

/* The acker's connection's settings, at open and after a reconnection: a renewal stalled
 * holding its lease's row makes a round fail after a lease, not hang. */
static ob_status ack_session(ob_pgsync *s, ob_err *e)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SET lock_timeout = %d", s->lease_ms);
    ob_status rc = session(s, s->ack, e);
    return rc ? rc : exec_ok(s->ack, sql, PGRES_COMMAND_OK, e);
}

/* Frees what open made (the threads, if any, have stopped). */
static void release(ob_pgsync *s)
{
    if (s->wr)
        PQfinish(s->wr);
    if (s->sync)
        PQfinish(s->sync);
    if (s->ack)
        PQfinish(s->ack);
    pthread_mutex_destroy(&s->wr_mu);
    pthread_mutex_destroy(&s->apply_mu);
    pthread_mutex_destroy(&s->ack_mu);
    pthread_cond_destroy(&s->ack_cv);
    pthread_cond_destroy(&s->ack_done);
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
    s->stall_ms = cfg->stall_ms;
    s->ctx = ctx;
    pthread_mutex_init(&s->wr_mu, NULL);
    pthread_mutex_init(&s->apply_mu, NULL);
    pthread_mutex_init(&s->ack_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the acker's naps */
    pthread_cond_init(&s->ack_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&s->ack_done, NULL);
    s->skip_own = cfg->skip_own;
    ob_status rc = connect_db(s, &s->wr, e);
    if (!rc)
        rc = exec_ok(s->wr, "BEGIN; " CHANGE_LOCK, PGRES_TUPLES_OK, e);
    if (!rc)
        rc = exec_ok(s->wr, schema_sql, PGRES_COMMAND_OK, e);
    if (!rc)
        rc = exec_ok(s->wr, "COMMIT", PGRES_COMMAND_OK, e);
    if (!rc)
        rc = connect_db(s, &s->sync, e);
    if (!rc)
        rc = exec_ok(s->sync, "LISTEN overblik_sync", PGRES_COMMAND_OK, e);
    if (!rc)
        rc = connect_db(s, &s->ack, e);
    if (!rc)
        rc = ack_session(s, e);
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
    if (!rc) {
        if (pthread_create(&s->acker, NULL, ack_main, s) != 0)
            rc = ob_err_set(e, OB_EINTERNAL, "cannot start the acknowledging thread");
        else
            s->acker_started = true;
    }
    if (!rc && pthread_create(&s->thread, NULL, sync_main, s) != 0)
        rc = ob_err_set(e, OB_EINTERNAL, "cannot start the sync thread");
    if (rc) {
        stop_acker(s);
        release(s);
        return rc;
    }
    *out = s;
    return OB_OK;
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
    return PQstatus(s->wr) == CONNECTION_OK ? session(s, s->wr, e)
                                            : pg_fail(e, s->wr, "connecting");
}

/* ---- acknowledgements: the acker ---- */

/* The lowest change applied by a server whose lease holds (*low; INT64_MAX when none holds),
 * read on the acker's connection. The leases are read FOR SHARE, which waits for a renewal
 * in flight and sees its result (pg_sync.h); lock_timeout bounds that wait. */
static ob_status read_leases(ob_pgsync *s, int64_t *low, ob_err *e)
{
    PGresult *r =
        PQexec(s->ack, "SELECT applied, lease_until > clock_timestamp() FROM sync_lease FOR SHARE");
    ob_status rc =
        PQresultStatus(r) == PGRES_TUPLES_OK ? OB_OK : pg_fail(e, s->ack, "reading the leases");
    *low = INT64_MAX;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        int64_t a = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        if (strcmp(PQgetvalue(r, i, 1), "t") == 0 && a < *low)
            *low = a;
    }
    PQclear(r);
    return rc;
}

/* read_leases, connecting again once when the connection is gone (a failover, or a
 * database restarted since the last round). *lost when it still is: the database went
 * away, not just this statement. */
static ob_status least_applied(ob_pgsync *s, int64_t *low, bool *lost, ob_err *e)
{
    ob_status rc = OB_EIO;
    for (int tries = 0; tries < 2 && rc; tries++) {
        if (PQstatus(s->ack) != CONNECTION_OK) {
            PQreset(s->ack);
            if (PQstatus(s->ack) != CONNECTION_OK || ack_session(s, NULL)) {
                rc = pg_fail(e, s->ack, "connecting");
                continue;
            }
        }
        rc = read_leases(s, low, e);
        if (rc && PQstatus(s->ack) == CONNECTION_OK)
            break; /* the statement failed, not the connection */
    }
    *lost = rc && PQstatus(s->ack) != CONNECTION_OK;
    return rc;
}

/* Calls the done of each finished asynchronous waiter, and frees it. Without ack_mu. */
static void finish_all(ack_waiter *fin)
{
    while (fin) {
        ack_waiter *w = fin;
        fin = w->next;
        w->done(w->ctx, w->st, w->st ? &w->err : NULL);
        ob_free(w);
    }
}

/* Takes w out (prev points at it), finished with st: a blocking one is told at once (under
 * ack_mu, its waiter wakes on ack_done), an asynchronous one goes on *fin for finish_all.
 * Under ack_mu. */
static void finish(ob_pgsync *s, ack_waiter **prev, ack_waiter **fin, ob_status st)
{
    ack_waiter *w = *prev;
    *prev = w->next;
    w->st = st;
    if (!st)
        ob_err_clear(&w->err);
    if (w->done) {
        w->next = *fin;
        *fin = w;
    } else {
        w->finished = true;
        pthread_cond_broadcast(&s->ack_done);
    }
}

/* One round: the leases read once, then every waiter that came before the read began is
 * finished when every live server has applied its change (and this server's own lease
 * holds: it answers nothing without, pg_sync.h), or its deadline passed, or the database
 * is gone. A statement that failed on a live connection (a lock timeout behind a stalled
 * renewal) tells nothing: the waiters stay, until their deadline. Returns with ack_mu held,
 * as it was called; *fin gets the asynchronous waiters finished. *moved when any waiter
 * finished or came meanwhile. */
static void ack_round(ob_pgsync *s, ack_waiter **fin, bool *moved)
{
    uint64_t round = ++s->rounds;
    pthread_mutex_unlock(&s->ack_mu);
    ob_err err = {0};
    int64_t low = 0;
    bool lost = false;
    ob_status rc = least_applied(s, &low, &lost, &err);
    bool current = ob_pgsync_current(s);
    int64_t now = mono_ns();
    pthread_mutex_lock(&s->ack_mu);
    *moved = false;
    for (ack_waiter **p = &s->waiters; *p;) {
        ack_waiter *w = *p;
        if (w->round >= round) { /* came during the read: its change may be newer than it */
            *moved = true;
            p = &w->next;
        } else if (rc && lost) {
            w->err = err;
            finish(s, p, fin, rc);
            *moved = true;
        } else if (!rc && low >= w->seq && current) {
            finish(s, p, fin, OB_OK);
            *moved = true;
        } else if (now > w->deadline_ns) {
            ob_err_set(&w->err, OB_EIO,
                       "changes on PostgreSQL: servers did not apply change %lld within two "
                       "leases%s%s",
                       (long long)w->seq, current ? "" : " (this server's lease lapsed)",
                       rc ? "; the leases could not be read" : "");
            finish(s, p, fin, OB_EIO);
            *moved = true;
        } else {
            p = &w->next;
        }
    }
}

static void *ack_main(void *arg)
{
    ob_pgsync *s = arg;
    long nap_us = 200;
    pthread_mutex_lock(&s->ack_mu);
    while (!s->closing) {
        if (!s->waiters) {
            pthread_cond_wait(&s->ack_cv, &s->ack_mu);
            nap_us = 200;
            continue;
        }
        ack_waiter *fin = NULL;
        bool moved = false;
        ack_round(s, &fin, &moved);
        if (fin) {
            pthread_mutex_unlock(&s->ack_mu);
            finish_all(fin);
            pthread_mutex_lock(&s->ack_mu);
        }
        /* as the blocking wait did: soon after something moved, then less and less often */
        nap_us = moved ? 200 : nap_us < 5000 ? nap_us * 2 : 5000;
        if (s->closing || !s->waiters)
            continue;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += nap_us * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->ack_cv, &s->ack_mu, &until);
    }
    pthread_mutex_unlock(&s->ack_mu);
    return NULL;
}

/* Adds w (its seq, done and ctx set) to the acker's waiters. OB_EIO when the close began. */
static ob_status add_waiter(ob_pgsync *s, ack_waiter *w, ob_err *e)
{
    w->deadline_ns = mono_ns() + (int64_t)(2 * s->lease_ms + 1000) * 1000000;
    w->finished = false;
    pthread_mutex_lock(&s->ack_mu);
    if (s->closing) {
        pthread_mutex_unlock(&s->ack_mu);
        return ob_err_set(e, OB_EIO,
                          "changes on PostgreSQL: this server is stopping; change %lld was "
                          "not acknowledged",
                          (long long)w->seq);
    }
    w->round = s->rounds;
    w->next = s->waiters;
    s->waiters = w;
    pthread_cond_signal(&s->ack_cv);
    pthread_mutex_unlock(&s->ack_mu);
    return OB_OK;
}

ob_status ob_pgsync_wait_async(ob_pgsync *s, int64_t seq, ob_pgsync_done_fn done, void *ctx,
                               ob_err *e)
{
    if (!done)
        return ob_err_set(e, OB_EINVAL, "changes on PostgreSQL: a waiter without a done");
    ack_waiter *w = ob_calloc(1, sizeof *w);
    if (!w)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    w->seq = seq;
    w->done = done;
    w->ctx = ctx;
    ob_status rc = add_waiter(s, w, e);
    if (rc)
        ob_free(w);
    return rc;
}

ob_status ob_pgsync_wait(ob_pgsync *s, int64_t seq, ob_err *e)
{
    ack_waiter w;
    memset(&w, 0, sizeof w);
    w.seq = seq;
    ob_status rc = add_waiter(s, &w, e);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->ack_mu);
    while (!w.finished)
        pthread_cond_wait(&s->ack_done, &s->ack_mu);
    pthread_mutex_unlock(&s->ack_mu);
    if (w.st && e)
        *e = w.err;
    return w.st;
}

/* The close: the acker stopped; every waiter left is finished with an error, once. */
static void fail_waiters(ob_pgsync *s)
{
    ack_waiter *fin = NULL;
    pthread_mutex_lock(&s->ack_mu);
    while (s->waiters) {
        ob_err_set(&s->waiters->err, OB_EIO,
                   "changes on PostgreSQL: this server stopped before every server applied "
                   "change %lld; it was not acknowledged",
                   (long long)s->waiters->seq);
        finish(s, &s->waiters, &fin, OB_EIO);
    }
    pthread_mutex_unlock(&s->ack_mu);
    finish_all(fin);
}

/* Stops the acker, if it runs; its waiters are then failed (fail_waiters). */
static void stop_acker(ob_pgsync *s)
{
    pthread_mutex_lock(&s->ack_mu);
    s->closing = true;
    pthread_cond_broadcast(&s->ack_cv);
    pthread_mutex_unlock(&s->ack_mu);
    if (s->acker_started)
        pthread_join(s->acker, NULL);
    s->acker_started = false;
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
    pthread_mutex_unlock(&s->wr_mu);
    /* every server whose lease holds applies it, or its lease runs out: at most a lease
     * (waited for without wr_mu: the next writer need not wait behind it) */
    if (!rc)
        rc = ob_pgsync_wait(s, at, e);
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
    stop_acker(s);
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    atomic_store(&s->valid_until_ns, 0);
    fail_waiters(s); /* each done once, before anything is freed */
    /* give the lease up: writers stop waiting for this server */
    pthread_mutex_lock(&s->wr_mu);
    const char *vals[1] = {s->id};
    PQclear(
        PQexecParams(s->wr, "DELETE FROM sync_lease WHERE id = $1", 1, NULL, vals, NULL, NULL, 0));
    pthread_mutex_unlock(&s->wr_mu);
    release(s);
}
