/* test_pg_sync.c - several servers, one truth (issue 18; R-BLK-5): a change acknowledged by
 * one server is enforced by every server for every request that starts after the
 * acknowledgement (store/pg/pg_sync.h), against a throwaway PostgreSQL 15.
 *
 * Each "server" keeps a toy index (64 keys, each the value of its last change, as a block
 * would be in the real index) and answers a read only while ob_pgsync_current says so.
 * - alternating: writes on one server, then at once a read of the same key on the other,
 *   thousands of times with a second writer busy on other keys: every read the other
 *   server answers sees the write;
 * - a server frozen (SIGSTOP, a stalled machine) while another acknowledges changes: the
 *   acknowledgement waits at most about a lease, and once it is given the frozen server,
 *   thawed, answers nothing stale: each of its reads (timed on the shared monotonic clock)
 *   that starts after the acknowledgement sees the change, or is not answered;
 * - a server killed: the others acknowledge within about a lease;
 * - acknowledgements waited for without blocking (ob_pgsync_wait_async, as the HTTP server
 *   does): each done comes once, OK, after every live server applied the change; with a
 *   server that holds a lease and never applies, an error at the deadline (two leases and a
 *   second), the writers' lock free meanwhile (a write token is claimed at once), and at
 *   the close every waiter left gets its error, once, before the close returns (T-DB-8);
 * - a renewal while another server writes a change waits for it (T-DB-7);
 * - a server stalled inside its renewal holds up the others' changes two leases at most
 *   (T-DB-10). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/backend.h"
#include "store/pg/pg_sync.h"
#include "unit/pg_fixture.h"

#define KEYS 64

typedef struct toy {
    pthread_mutex_t mu;
    long long v[KEYS];
} toy;

static ob_status toy_apply(void *ctx, int64_t seq, const char *type, const char *json, ob_err *e)
{
    (void)seq;
    (void)e;
    toy *t = ctx;
    int k;
    long long v;
    if (strcmp(type, "set") == 0 && sscanf(json, "%d=%lld", &k, &v) == 2 && k >= 0 && k < KEYS) {
        pthread_mutex_lock(&t->mu);
        t->v[k] = v;
        pthread_mutex_unlock(&t->mu);
    }
    return OB_OK;
}

/* A read as a request would make it: answered only while the lease holds. -1: refused. */
static long long toy_read(toy *t, const ob_pgsync *s, int k)
{
    if (!ob_pgsync_current(s))
        return -1;
    pthread_mutex_lock(&t->mu);
    long long v = t->v[k];
    pthread_mutex_unlock(&t->mu);
    return v;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set(ob_pgsync *s, int k, long long v)
{
    char json[48];
    snprintf(json, sizeof json, "%d=%lld", k, v);
    ob_err e = {0};
    if (ob_pgsync_change(s, "set", json, NULL, &e))
        fail_msg("change: %s", e.msg);
}

/* A server named id on ci with the given lease and margin (ms) and toy; fails the test if
 * it cannot open. */
static ob_pgsync *open_server(const char *ci, const char *id, int lease, int margin, toy *t,
                              ob_status (*reset)(void *ctx, ob_err *e))
{
    ob_pgsync *s = NULL;
    ob_err e = {0};
    ob_pgsync_config cfg = {id, lease, margin, false, NULL, reset, NULL};
    if (ob_pgsync_open(ci, &cfg, toy_apply, t, &s, &e))
        fail_msg("open %s: %s", id, e.msg);
    return s;
}

typedef struct busy {
    ob_pgsync *s;
    atomic_bool stop;
    long n;
} busy;

static void *busy_writer(void *p)
{
    busy *b = p;
    for (long i = 1; !atomic_load(&b->stop); i++, b->n++)
        set(b->s, KEYS - 1, i); /* a key the main loop does not use */
    return NULL;
}

static void alternating(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("alt", ci, sizeof ci);
    static toy ta = {PTHREAD_MUTEX_INITIALIZER, {0}}, tb = {PTHREAD_MUTEX_INITIALIZER, {0}};
    ob_pgsync *a = open_server(ci, "server-a", 1000, 200, &ta, NULL),
              *b = open_server(ci, "server-b", 1000, 200, &tb, NULL);
    busy bz = {.s = b};
    pthread_t t;
    pthread_create(&t, NULL, busy_writer, &bz);
    int stale = 0, refused = 0, n = 600;
    int64_t t0 = mono_ms();
    for (int i = 1; i <= n; i++) {
        int k = i % (KEYS - 1);
        ob_pgsync *w = i % 2 ? a : b, *r = i % 2 ? b : a;
        toy *rt = i % 2 ? &tb : &ta;
        set(w, k, i);
        long long v = toy_read(rt, r, k); /* a request on the other server, after the ack */
        if (v == -1)
            refused++;
        else if (v != i)
            stale++;
    }
    int64_t ms = mono_ms() - t0;
    atomic_store(&bz.stop, true);
    pthread_join(t, NULL);
    print_message("# %d acknowledged changes alternating between two servers in %lld ms (%.2f ms "
                  "each) beside %ld on another key; reads after each: %d stale, %d refused\n",
                  n, (long long)ms, (double)ms / n, bz.n, stale, refused);
    assert_int_equal(stale, 0);
    assert_true(refused < n / 100); /* servers that keep up keep their leases */
    assert_int_equal(ob_pgsync_applied(a), ob_pgsync_applied(b));
    ob_pgsync_close(a);
    ob_pgsync_close(b);
}

/* The child: a server that answers reads of key 0 and reports each as "start-ms value"
 * (value -1: refused) until killed. */
static void child_server(const char *ci, int fd)
{
    static toy tc = {PTHREAD_MUTEX_INITIALIZER, {0}};
    ob_pgsync *c;
    ob_err e = {0};
    ob_pgsync_config cc = {"server-c", 600, 150, false, NULL, NULL, NULL};
    if (ob_pgsync_open(ci, &cc, toy_apply, &tc, &c, &e))
        _exit(2);
    if (write(fd, "up\n", 3) != 3)
        _exit(3);
    for (;;) {
        int64_t start = mono_ms(); /* the request starts */
        long long v = toy_read(&tc, c, 0);
        char line[64];
        int len = snprintf(line, sizeof line, "%lld %lld\n", (long long)start, v);
        if (write(fd, line, (size_t)len) != len)
            _exit(4);
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
    }
}

static void frozen_and_killed(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("frozen", ci, sizeof ci);
    /* the child first, while this process has no threads */
    pid_t child;
    FILE *in = pg_spawn(child_server, ci, &child);
    char line[64];
    assert_non_null(fgets(line, sizeof line, in)); /* "up" */
    static toy ta = {PTHREAD_MUTEX_INITIALIZER, {0}};
    ob_pgsync *a = open_server(ci, "server-a", 600, 150, &ta, NULL);
    set(a, 0, 1);
    struct timespec d = {0, 100 * 1000000};
    nanosleep(&d, NULL);
    kill(child, SIGSTOP); /* the machine stalls, holding a lease */
    int64_t t0 = mono_ms();
    set(a, 0, 2);
    int64_t acked = mono_ms();
    print_message("# with a server frozen, the change was acknowledged after %lld ms (lease 600)\n",
                  (long long)(acked - t0));
    assert_true(acked - t0 <= 600 + 1500);
    kill(child, SIGCONT); /* it wakes on stale state */
    nanosleep(&d, NULL);
    nanosleep(&d, NULL);
    nanosleep(&d, NULL);
    /* then the machine dies: the next change waits at most about its lease */
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    t0 = mono_ms();
    set(a, 0, 3);
    int64_t second = mono_ms() - t0;
    print_message("# with a server killed, acknowledged after %lld ms\n", (long long)second);
    assert_true(second <= 600 + 1500);
    long long start, v;
    int after = 0, stale = 0, answered = 0;
    while (fscanf(in, "%lld %lld", &start, &v) == 2) {
        if (start < acked)
            continue;
        after++;
        if (v != -1) {
            answered++;
            if (v < 2)
                stale++;
        }
    }
    fclose(in);
    print_message("# the thawed server: %d reads started after the acknowledgement, %d answered, "
                  "%d stale\n",
                  after, answered, stale);
    assert_true(after > 0);
    assert_int_equal(stale, 0);
    ob_pgsync_close(a);
}

static ob_status toy_reset(void *ctx, ob_err *e)
{
    (void)e;
    toy *t = ctx;
    pthread_mutex_lock(&t->mu);
    memset(t->v, 0, sizeof t->v);
    pthread_mutex_unlock(&t->mu);
    return OB_OK;
}

/* A failover that lost a change a server had applied: a commit is visible on the primary
 * before its synchronous standby has it, so server a applied change 2, the primary died,
 * and the new one never had it. The next change is then given seq 2 again. Server a must
 * not count it as applied (it skipped it, answered from a state without it, and renewed its
 * lease: a stale read after an acknowledged change, seen once in tests/e2e/pg_failover.sh):
 * the tag at its place differs, it starts over (reset) and applies what the database has. */
static void diverged_order(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("diverged", ci, sizeof ci);
    static toy ta = {PTHREAD_MUTEX_INITIALIZER, {0}}, tb = {PTHREAD_MUTEX_INITIALIZER, {0}},
               tc = {PTHREAD_MUTEX_INITIALIZER, {0}};
    ob_pgsync *a = open_server(ci, "server-a", 600, 150, &ta, toy_reset),
              *b = open_server(ci, "server-b", 600, 150, &tb, NULL);
    set(b, 1, 10);
    set(b, 2, 20); /* acknowledged: a has applied it */
    assert_int_equal(toy_read(&ta, a, 2), 20);
    ob_pgsync_close(b);
    /* the failover lost change 2 (as if its commit had not reached the standby) */
    pg_exec(ci, "DELETE FROM sync_change WHERE seq = 2");
    ob_pgsync *c = open_server(ci, "server-c", 600, 150, &tc, NULL);
    set(c, 3, 30); /* given seq 2 again */
    long long v3 = -1;
    for (int i = 0; i < 100 && v3 == -1; i++) { /* a answers once it has a lease again */
        v3 = toy_read(&ta, a, 3);
        if (v3 == -1) {
            struct timespec d = {0, 20 * 1000000};
            nanosleep(&d, NULL);
        }
    }
    print_message("# after the lost change: server a answers %lld for the change given its "
                  "seq, and %lld for the lost one\n",
                  v3, toy_read(&ta, a, 2));
    assert_int_equal(v3, 30);
    assert_int_equal(toy_read(&ta, a, 2), 0); /* forgotten with the lost change */
    assert_int_equal(toy_read(&ta, a, 1), 10);
    ob_pgsync_close(c);
    ob_pgsync_close(a);
}

/* ---- acknowledgements waited for without blocking ---- */

/* Commits change "k=v" in the order on its own connection, as the log's transaction does
 * (ob_pgsync_change_in_tx), without waiting for it: its seq. */
static int64_t commit_unacked(const char *ci, ob_pgsync *s, int k, long long v)
{
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    PQclear(PQexec(c, "BEGIN"));
    ob_store_tx tx = {&ob_store_pg_tx_ops, c};
    char json[48];
    snprintf(json, sizeof json, "%d=%lld", k, v);
    int64_t seq = 0;
    ob_err e = {0};
    if (ob_pgsync_change_in_tx(s, &tx, "set", json, &seq, &e))
        fail_msg("change: %s", e.msg);
    PGresult *r = PQexec(c, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("commit: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return seq;
}

typedef struct acked {
    atomic_int calls;
    atomic_int st;
    atomic_llong at_ms;     /* when done came */
    atomic_llong other_has; /* the other server's applied position then */
    atomic_bool said_why;   /* an error came with a message */
    const ob_pgsync *other;
} acked;

static void on_ack(void *ctx, ob_status st, const ob_err *err)
{
    acked *a = ctx;
    atomic_store(&a->at_ms, mono_ms());
    atomic_store(&a->st, (int)st);
    if (a->other)
        atomic_store(&a->other_has, ob_pgsync_applied(a->other));
    atomic_store(&a->said_why, st != OB_OK && err && err->msg[0]);
    atomic_fetch_add(&a->calls, 1);
}

/* Waits up to ms for every one of n to have had its done. */
static bool all_called(acked *a, int n, int ms)
{
    for (int64_t t0 = mono_ms(); mono_ms() - t0 < ms;) {
        int k = 0;
        while (k < n && atomic_load(&a[k].calls) > 0)
            k++;
        if (k == n)
            return true;
        struct timespec d = {0, 2 * 1000000};
        nanosleep(&d, NULL);
    }
    return false;
}

static void deferred_acks(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("acks", ci, sizeof ci);
    static toy ta = {PTHREAD_MUTEX_INITIALIZER, {0}}, tb = {PTHREAD_MUTEX_INITIALIZER, {0}};
    ob_pgsync *a = open_server(ci, "server-a", 600, 150, &ta, NULL),
              *b = open_server(ci, "server-b", 600, 150, &tb, NULL);
    ob_err e = {0};
    static acked w[8];
    int64_t seq[8];
    for (int i = 0; i < 8; i++) { /* changes committed, each waited for by a done */
        seq[i] = commit_unacked(ci, a, i, 100 + i);
        w[i].other = b;
        if (ob_pgsync_wait_async(a, seq[i], on_ack, &w[i], &e))
            fail_msg("wait: %s", e.msg);
    }
    assert_true(all_called(w, 8, 3000));
    struct timespec d = {0, 100 * 1000000};
    nanosleep(&d, NULL);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(atomic_load(&w[i].calls), 1);
        assert_int_equal(atomic_load(&w[i].st), OB_OK);
        assert_true(atomic_load(&w[i].other_has) >= seq[i]); /* b had applied it */
        assert_int_equal(toy_read(&tb, b, i), 100 + i);
    }
    /* the blocking wait goes through the same acker */
    int64_t s9 = commit_unacked(ci, b, 9, 9);
    assert_int_equal(ob_pgsync_wait(b, s9, &e), OB_OK);
    assert_int_equal(toy_read(&ta, a, 9), 9);
    ob_pgsync_close(b);
    ob_pgsync_close(a);
}

typedef struct blocked {
    ob_pgsync *s;
    int64_t seq;
    ob_status st;
    int64_t ms;
} blocked;

static void *blocking_wait(void *p)
{
    blocked *b = p;
    int64_t t0 = mono_ms();
    ob_err e = {0};
    b->st = ob_pgsync_wait(b->s, b->seq, &e);
    b->ms = mono_ms() - t0;
    return NULL;
}

/* A server that holds a lease and never applies (its row renewed far ahead, as a stalled
 * machine's would be while its lease runs): no acknowledgement, an error at the deadline;
 * the writers' lock is free meanwhile; the close fails the waiters left, once each. */
static void deferred_deadline(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("deadline", ci, sizeof ci);
    static toy ta = {PTHREAD_MUTEX_INITIALIZER, {0}};
    ob_pgsync *a = open_server(ci, "server-a", 600, 150, &ta, NULL);
    ob_err e = {0};
    pg_exec(ci, "INSERT INTO sync_lease VALUES ('stuck', 0, now() + interval '1 hour')");
    int64_t seq = commit_unacked(ci, a, 1, 1);
    static acked w[2];
    int64_t t0 = mono_ms();
    if (ob_pgsync_wait_async(a, seq, on_ack, &w[0], &e))
        fail_msg("wait: %s", e.msg);
    blocked bw = {a, seq, OB_OK, 0}; /* and a blocking waiter beside it */
    pthread_t t;
    pthread_create(&t, NULL, blocking_wait, &bw);
    struct timespec d = {0, 200 * 1000000};
    nanosleep(&d, NULL);
    /* the writers' lock is free while both wait: a write token is claimed at once (the
     * blocking wait held it for up to the deadline, and every other write queued) */
    uint8_t digest[32];
    for (int i = 0; i < 32; i++)
        digest[i] = (uint8_t)(i * 7 + 1);
    bool first = false;
    int64_t c0 = mono_ms();
    assert_int_equal(ob_pgsync_claim_once(a, digest, time(NULL) + 60, &first, &e), OB_OK);
    int64_t claim_ms = mono_ms() - c0;
    assert_true(first);
    assert_int_equal(atomic_load(&w[0].calls), 0); /* still waiting */
    assert_true(all_called(w, 1, 5000));
    int64_t waited = atomic_load(&w[0].at_ms) - t0;
    pthread_join(t, NULL);
    print_message("# a server holding a lease never applies: a write token claimed in %lld ms "
                  "while two waited; the deferred acknowledgement failed after %lld ms, the "
                  "blocking one after %lld ms (deadline 2 x 600 + 1000)\n",
                  (long long)claim_ms, (long long)waited, (long long)bw.ms);
    assert_true(claim_ms < 500);
    assert_int_equal(atomic_load(&w[0].st), OB_EIO);
    assert_true(atomic_load(&w[0].said_why));
    assert_true(waited >= 2200 && waited < 4000);
    assert_int_equal(bw.st, OB_EIO);
    assert_true(bw.ms >= 2000 && bw.ms < 4000);
    /* the close: a waiter left gets its error, once, before the close returns */
    int64_t seq2 = commit_unacked(ci, a, 2, 2);
    if (ob_pgsync_wait_async(a, seq2, on_ack, &w[1], &e))
        fail_msg("wait: %s", e.msg);
    ob_pgsync_close(a);
    assert_int_equal(atomic_load(&w[1].calls), 1);
    assert_int_equal(atomic_load(&w[1].st), OB_EIO);
    assert_true(atomic_load(&w[1].said_why));
    nanosleep(&d, NULL);
    assert_int_equal(atomic_load(&w[0].calls), 1);
    assert_int_equal(atomic_load(&w[1].calls), 1);
}

/* The text of one value asked on c (the first row's first column), "" when none. */
static void ask(PGconn *c, const char *sql, char *out, size_t cap)
{
    PGresult *r = PQexec(c, sql);
    out[0] = '\0';
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

static void run(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

/* T-DB-7: a renewal waits for a change being written. Another server's writer holds the
 * changes' lock while it writes its change: this server's lease is not renewed meanwhile
 * (its renewal takes the lock, shared), so it stops answering; once the change commits, the
 * renewal sees it and renews only after the change is applied here. Without the shared lock
 * the lease was renewed right through the writer's transaction, from a snapshot without the
 * change: the interleaving behind a stale read after a failover (pg_failover.sh). */
static void renewal_waits_for_a_change(void **state)
{
    (void)state;
    char ci[512], l0[64], l1[64];
    pg_fresh_db("renew", ci, sizeof ci);
    static toy ta = {PTHREAD_MUTEX_INITIALIZER, {0}};
    ob_pgsync *a = open_server(ci, "server-a", 400, 100, &ta, NULL); /* renews every 100 ms */
    PGconn *x = PQconnectdb(ci), *y = PQconnectdb(ci);
    assert_int_equal(PQstatus(x), CONNECTION_OK);
    assert_int_equal(PQstatus(y), CONNECTION_OK);
    struct timespec tenth = {0, 100000000};
    for (int i = 0; i < 50 && !ob_pgsync_current(a); i++)
        nanosleep(&tenth, NULL);
    assert_true(ob_pgsync_current(a));
    run(x, "BEGIN");
    run(x, "SELECT pg_advisory_xact_lock(7236001235)"); /* as a writer's CHANGE_LOCK */
    ask(y, "SELECT lease_until FROM sync_lease WHERE id = 'server-a'", l0, sizeof l0);
    for (int i = 0; i < 6; i++) /* six renewal periods */
        nanosleep(&tenth, NULL);
    ask(y, "SELECT lease_until FROM sync_lease WHERE id = 'server-a'", l1, sizeof l1);
    assert_string_equal(l0, l1);        /* not renewed while the change is being written */
    assert_false(ob_pgsync_current(a)); /* and so it answers nothing */
    assert_int_equal(toy_read(&ta, a, 0), -1);
    run(x, "INSERT INTO sync_change (seq, type, json, server, tag) SELECT coalesce(max(seq), 0) "
           "+ 1, 'set', '0=7', 'server-x', 4242 FROM sync_change");
    run(x, "NOTIFY overblik_sync");
    run(x, "COMMIT");
    int64_t t0 = mono_ms();
    while (!ob_pgsync_current(a) && mono_ms() - t0 < 5000)
        nanosleep(&tenth, NULL);
    assert_true(ob_pgsync_current(a));
    assert_int_equal(toy_read(&ta, a, 0), 7); /* current again only with the change applied */
    PQfinish(x);
    PQfinish(y);
    ob_pgsync_close(a);
}

/* T-DB-10: a server stopped inside its renewal's transaction (SIGSTOP, a paused VM) holds
 * the changes' lock, shared, and with it every change of every server: a change waited
 * until that server woke, and meanwhile no lease was renewed. Its session is ended after
 * two leases (at least a second) idle in the transaction; the change goes through, and the
 * stalled server, awake, finds its connection gone, connects again and catches up. */
static void stalled_in_a_renewal(void **state)
{
    (void)state;
    char ci[512], idle[16];
    pg_fresh_db("stalled", ci, sizeof ci);
    static toy ta = {PTHREAD_MUTEX_INITIALIZER, {0}}, tb = {PTHREAD_MUTEX_INITIALIZER, {0}};
    static _Atomic int stall;
    atomic_store(&stall, 0);
    ob_pgsync *a = open_server(ci, "server-a", 400, 100, &ta, NULL), *b = NULL;
    ob_err e = {0};
    ob_pgsync_config cb = {"server-b", 400, 100, false, NULL, NULL, &stall};
    if (ob_pgsync_open(ci, &cb, toy_apply, &tb, &b, &e))
        fail_msg("open b: %s", e.msg);
    PGconn *y = PQconnectdb(ci);
    assert_int_equal(PQstatus(y), CONNECTION_OK);
    atomic_store(&stall, 3000); /* b's next renewal stops inside its transaction */
    struct timespec ms10 = {0, 10000000};
    idle[0] = '\0';
    for (int i = 0; i < 200 && strcmp(idle, "1") != 0; i++) {
        nanosleep(&ms10, NULL);
        ask(y,
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND "
            "datname = current_database()",
            idle, sizeof idle);
    }
    assert_string_equal(idle, "1");
    atomic_store(&stall, 0);
    int64_t t0 = mono_ms();
    set(a, 0, 5); /* takes the changes' lock, exclusive */
    int64_t took = mono_ms() - t0;
    print_message("# a change beside a server stalled in its renewal: acknowledged after %lld ms "
                  "(the stall: 3000 ms)\n",
                  (long long)took);
    assert_true(took < 2000);
    /* b wakes, its connection gone: it connects again, catches up, answers with the change */
    t0 = mono_ms();
    while (toy_read(&tb, b, 0) != 5 && mono_ms() - t0 < 8000)
        nanosleep(&ms10, NULL);
    assert_int_equal(toy_read(&tb, b, 0), 5);
    PQfinish(y);
    ob_pgsync_close(b);
    ob_pgsync_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alternating),          cmocka_unit_test(frozen_and_killed),
        cmocka_unit_test(diverged_order),       cmocka_unit_test(deferred_acks),
        cmocka_unit_test(deferred_deadline),    cmocka_unit_test(renewal_waits_for_a_change),
        cmocka_unit_test(stalled_in_a_renewal),
    };
    return cmocka_run_group_tests(tests, pg_group_up, pg_group_down);
}
