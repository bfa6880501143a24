/* test_pg_index.c - several servers, one truth, with the real index and decision engine
 * (issue 18: "0 reads that a block acknowledged earlier should have stopped"; R-BLK-1,
 * R-BLK-5, R-SCALE-1), against a throwaway PostgreSQL 15.
 *
 * Two servers in one process, each with its own index of the decision tests' world
 * (tests/unit/policy/fixture.h), its own loader and lock, and its own pg_sync
 * (store/pg/pg_sync.h) applying every committed change with ob_record_apply, as the hub
 * replays records. Changes alternate between the servers: anna blocks her GP's doctor
 * (a professional block, R-BLK-1), then lifts it (block_lift, R-BLK-5), hundreds of times.
 * - After each acknowledgement, a request on the *other* server decides at once: every
 *   answer after a block's acknowledgement is a deny.
 * - Meanwhile reader threads on both servers decide the same request without pause,
 *   each noting when it started and what it answered: no read that started after a
 *   block's acknowledgement and before its lift began was permitted.
 * A server answers only while its lease holds (ob_pgsync_current), as a server must. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/records.h"
#include "store/pg/log_pg.h"
#include "store/pg/pg_sync.h"
#include "unit/pg_fixture.h"
#include "unit/policy/fixture.h"

#define ROUNDS   150 /* block + lift each: 300 acknowledged changes */
#define MAXREADS 2000000

typedef struct server {
    ob_index *ix;
    ob_loader L;
    pthread_rwlock_t lock;
    ob_pgsync *sync;
    atomic_long applied;
} server;

static ob_status apply(void *ctx, int64_t seq, const char *type, const char *json, ob_err *e)
{
    (void)seq;
    (void)type;
    server *s = ctx;
    json_t *o = json_loads(json, 0, NULL);
    if (!o)
        return ob_err_set(e, OB_EINVAL, "change %lld is not JSON", (long long)seq);
    ob_record_out out;
    memset(&out, 0, sizeof out);
    pthread_rwlock_wrlock(&s->lock);
    ob_status rc = ob_record_apply(&s->L, o, &out, e);
    pthread_rwlock_unlock(&s->lock);
    json_decref(out.canonical);
    json_decref(o);
    atomic_fetch_add(&s->applied, 1);
    return rc;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The request the blocks are about: anna's GP's doctor reads her hospital diagnosis
 * (R-ACC-1 permits it without a block: the first row of test_rules.c). */
static const struct fx_row gp_reads_anna = {"gp_doc reads anna",
                                            .actor = "gp_doc",
                                            .org = "gp_a",
                                            .pat = "anna",
                                            .cat = OB_CAT_DIAGNOSIS,
                                            .origin = "dept_cardio",
                                            .purpose = OB_PURPOSE_TREAT};

/* 1 permit, 0 deny, -1 not answered (the lease does not hold). */
static int decide_on(server *s)
{
    if (!ob_pgsync_current(s->sync))
        return -1;
    ob_request rq;
    ob_decision d;
    pthread_rwlock_rdlock(&s->lock);
    fx_request(s->ix, &gp_reads_anna, &rq);
    ob_policy_decide(s->ix, &rq, &d);
    pthread_rwlock_unlock(&s->lock);
    return d.permit ? 1 : 0;
}

typedef struct read_log {
    server *s;
    atomic_bool *stop;
    int64_t *start;
    int8_t *answer;
    size_t n;
} read_log;

static void *reader(void *p)
{
    read_log *r = p;
    while (!atomic_load(r->stop) && r->n < MAXREADS / 4) {
        int64_t t = mono_us(); /* the request starts */
        r->start[r->n] = t;
        r->answer[r->n] = (int8_t)decide_on(r->s);
        r->n++;
        struct timespec d = {0, 5000}; /* leave the cores to the changes too */
        nanosleep(&d, NULL);
    }
    return NULL;
}

static void change(server *s, const char *json)
{
    ob_err e = {0};
    if (ob_pgsync_change(s->sync, "change", json, NULL, &e))
        fail_msg("change %s: %s", json, e.msg);
}

static void server_open(server *s, const char *ci, const char *id, bool skip_own)
{
    memset(s, 0, sizeof *s);
    s->ix = fx_build();
    ob_loader_init(&s->L, s->ix, NULL);
    s->L.now = fx_d(FX_NOW);
    s->L.replay = true;       /* checked by the server that made the change, as on replay */
    s->L.next_block_id = 100; /* past the fixture's own blocks (fx_build adds them directly) */
    pthread_rwlock_init(&s->lock, NULL);
    ob_pgsync_config c = {id, 1000, 200, skip_own, NULL, NULL, NULL};
    ob_err e = {0};
    if (ob_pgsync_open(ci, &c, apply, s, &s->sync, &e))
        fail_msg("open %s: %s", id, e.msg);
}

static void server_close(server *s)
{
    ob_pgsync_close(s->sync);
    pthread_rwlock_destroy(&s->lock);
    ob_index_free(s->ix);
}

static void blocks_across_servers(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("blocks", ci, sizeof ci);
    static server a, b;
    server_open(&a, ci, "server-a", false);
    server_open(&b, ci, "server-b", false);
    assert_int_equal(decide_on(&a), 1);
    assert_int_equal(decide_on(&b), 1);

    atomic_bool stop = false;
    read_log logs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        logs[i] = (read_log){i % 2 ? &b : &a, &stop, malloc(MAXREADS / 4 * sizeof(int64_t)),
                             malloc(MAXREADS / 4), 0};
        assert_non_null(logs[i].start);
        assert_non_null(logs[i].answer);
        pthread_create(&th[i], NULL, reader, &logs[i]);
    }
    /* [blocked_from, blocked_to): a block acknowledged, its lift not yet begun */
    int64_t blocked_from[ROUNDS], blocked_to[ROUNDS];
    int after_ack_permits = 0, after_ack_unanswered = 0;
    int64_t t0 = mono_us();
    for (int i = 0; i < ROUNDS; i++) {
        server *w = i % 2 ? &b : &a, *other = i % 2 ? &a : &b;
        char json[256];
        snprintf(json, sizeof json,
                 "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"professional\","
                 "\"target\":\"gp_doc\",\"id\":%d}",
                 1000 + i);
        change(w, json);
        blocked_from[i] = mono_us(); /* acknowledged */
        int ans = decide_on(other);  /* a request on the other server, at once */
        after_ack_permits += ans == 1;
        after_ack_unanswered += ans == -1;
        /* the lift, from the other server this time */
        snprintf(json, sizeof json, "{\"type\":\"block_lift\",\"patient\":\"anna\",\"block\":%d}",
                 1000 + i);
        blocked_to[i] = mono_us(); /* the lift begins: reads from here may see it */
        change(other, json);
    }
    int64_t us = mono_us() - t0;
    atomic_store(&stop, true);
    size_t reads = 0, stale = 0, unanswered = 0, permits = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        /* reads are in start order per thread; the windows too */
        int w = 0;
        for (size_t k = 0; k < logs[i].n; k++) {
            int64_t t = logs[i].start[k];
            while (w < ROUNDS && blocked_to[w] <= t)
                w++;
            bool in_block = w < ROUNDS && blocked_from[w] <= t;
            reads++;
            unanswered += logs[i].answer[k] == -1;
            permits += logs[i].answer[k] == 1;
            if (in_block && logs[i].answer[k] == 1)
                stale++;
        }
        free(logs[i].start);
        free(logs[i].answer);
    }
    print_message("# %d blocks and %d lifts alternating between two servers in %.0f ms (%.2f ms "
                  "a change); the other server at once after each block: %d permitted, %d "
                  "unanswered; %zu reads beside them (%zu permitted, %zu unanswered): %zu "
                  "permitted inside a block\n",
                  ROUNDS, ROUNDS, us / 1000.0, us / 1000.0 / (2 * ROUNDS), after_ack_permits,
                  after_ack_unanswered, reads, permits, unanswered, stale);
    assert_int_equal(after_ack_permits, 0);
    assert_int_equal(stale, 0);
    assert_true(permits > 0); /* the readers did read between the blocks */
    assert_true(reads > 1000);
    assert_int_equal(ob_pgsync_applied(a.sync), ob_pgsync_applied(b.sync));
    assert_int_equal(decide_on(&a), 1); /* every block lifted */
    assert_int_equal(decide_on(&b), 1);
    server_close(&a);
    server_close(&b);
}

/* The same through the access log, as a server would write a change: the block record goes
 * into every server's order (ob_pgsync_change_in_tx) inside the transaction of its log
 * entry (ob_pglog_append_change), and is acknowledged once every live server has applied
 * it (ob_pgsync_wait). A change refused after it was written leaves neither its place in
 * the order nor its entry. */
/* The log entry of anna's block change, and two servers' logs on ci. */
static void block_entry(ob_log_entry *en)
{
    memset(en, 0, sizeof *en);
    en->time = fx_d(FX_NOW);
    en->event = OB_EV_BLOCK_CREATE;
    en->permit = true;
    en->actor_id = "anna";
    en->patient = "anna";
    en->rule = "R-BLK-1";
}

static void logs_open(const char *ci, ob_pglog **la, ob_pglog **lb)
{
    ob_pglog_config lc = {.checkpoint_every = 64};
    crypto_sign_ed25519_keypair(lc.pk, lc.sk);
    ob_err e = {0};
    if (ob_pglog_open(ci, &lc, la, &e) || ob_pglog_open(ci, &lc, lb, &e))
        fail_msg("log: %s", e.msg);
}

typedef struct logged_change {
    server *s;
    const char *json;
    bool refuse;
    int64_t seq;
} logged_change;

static ob_status change_in_log(void *ctx, ob_store_tx *tx, ob_err *e)
{
    logged_change *c = ctx;
    ob_status rc = ob_pgsync_change_in_tx(c->s->sync, tx, "change", c->json, &c->seq, e);
    if (!rc && c->refuse)
        rc = ob_err_set(e, OB_EDENIED, "refused by the rules");
    return rc;
}

static ob_status logged(server *s, ob_pglog *lg, const char *json, bool refuse, ob_err *e)
{
    ob_log_entry en;
    block_entry(&en);
    logged_change c = {s, json, refuse, 0};
    ob_status rc = ob_pglog_append_change(lg, &en, 1, change_in_log, &c, NULL, e);
    return rc ? rc : ob_pgsync_wait(s->sync, c.seq, e);
}

static void blocks_through_the_log(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("logged", ci, sizeof ci);
    static server a, b;
    server_open(&a, ci, "server-a", false);
    server_open(&b, ci, "server-b", false);
    ob_pglog *la, *lb;
    logs_open(ci, &la, &lb);
    ob_err e = {0};
    int stale = 0, acked = 0, refused = 0;
    for (int i = 0; i < 60; i++) {
        server *w = i % 2 ? &b : &a, *other = i % 2 ? &a : &b;
        ob_pglog *lw = i % 2 ? lb : la, *lo = i % 2 ? la : lb;
        char json[256];
        bool refuse = i % 10 == 4;
        snprintf(json, sizeof json,
                 "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"professional\","
                 "\"target\":\"gp_doc\",\"id\":%d}",
                 5000 + i);
        ob_status rc = logged(w, lw, json, refuse, &e);
        if (refuse) {
            assert_int_equal(rc, OB_EDENIED);
            refused++;
            assert_int_equal(decide_on(other), 1); /* nothing happened */
            continue;
        }
        assert_int_equal(rc, OB_OK);
        acked++;
        stale += decide_on(other) == 1;
        snprintf(json, sizeof json, "{\"type\":\"block_lift\",\"patient\":\"anna\",\"block\":%d}",
                 5000 + i);
        assert_int_equal(logged(other, lo, json, false, &e), OB_OK);
        acked++;
        assert_int_equal(decide_on(w), 1);
    }
    ob_pglog_close(la);
    ob_pglog_close(lb);
    int nc, ne;
    char **c = pg_column(ci, "SELECT count(*) FROM sync_change", &nc);
    char **n = pg_column(ci, "SELECT count(*) FROM log_pg_entry", &ne);
    assert_int_equal(atoi(c[0]), acked); /* every acknowledged change in the order, */
    assert_int_equal(atoi(n[0]), acked); /* with its entry, and nothing of the refused */
    pg_free_column(c, nc);
    pg_free_column(n, ne);
    print_message("# %d changes through the log alternating servers (%d refused: neither order "
                  "nor entry); permitted on the other server after a block's "
                  "acknowledgement: %d\n",
                  acked, refused, stale);
    assert_int_equal(stale, 0);
    server_close(&a);
    server_close(&b);
}

/* Changes validated where every server's order is decided, as a server must write them on
 * PostgreSQL (docs/scale.md, "What wiring pg_sync into the hub must settle"): inside its log
 * entry's transaction the writer takes the order's lock and catches up
 * (ob_pgsync_catch_up_in_tx), validates the change against that index and applies it there
 * (the loader gives the block its id: the next after every block of every server), writes
 * it into the order (ob_pgsync_change_in_tx), and waits for the others. Its own sync thread
 * does not apply it again (skip_own). Two servers write blocks without ids and lift them at
 * once, from two threads: every id is given once, and both indexes end alike. */
typedef struct own_change {
    server *s;
    const char *json;
    uint64_t assigned;
    int64_t seq;
} own_change;

static ob_status validate_and_write(void *ctx, ob_store_tx *tx, ob_err *e)
{
    own_change *c = ctx;
    ob_status rc = ob_pgsync_catch_up_in_tx(c->s->sync, tx, e);
    if (rc)
        return rc;
    json_t *o = json_loads(c->json, 0, NULL);
    ob_record_out out;
    memset(&out, 0, sizeof out);
    pthread_rwlock_wrlock(&c->s->lock);
    c->s->L.replay = false; /* validated here, as the server that makes it */
    rc = ob_record_apply(&c->s->L, o, &out, e);
    c->s->L.replay = true;
    pthread_rwlock_unlock(&c->s->lock);
    char *canon = rc ? NULL : json_dumps(out.canonical, JSON_COMPACT | JSON_SORT_KEYS);
    c->assigned = out.assigned;
    json_decref(out.canonical);
    json_decref(o);
    if (!rc)
        rc = ob_pgsync_change_in_tx(c->s->sync, tx, "change", canon, &c->seq, e);
    free(canon);
    return rc;
}

typedef struct own_writer {
    server *s;
    ob_pglog *lg;
    int failed;
    uint64_t ids[40];
} own_writer;

static ob_status own_logged(own_writer *w, const char *json, uint64_t *assigned, ob_err *e)
{
    ob_log_entry en;
    block_entry(&en);
    own_change c = {w->s, json, 0, 0};
    ob_status rc = ob_pglog_append_change(w->lg, &en, 1, validate_and_write, &c, NULL, e);
    if (!rc)
        rc = ob_pgsync_wait(w->s->sync, c.seq, e);
    if (assigned)
        *assigned = c.assigned;
    return rc;
}

static void *own_main(void *p)
{
    own_writer *w = p;
    for (int i = 0; i < 40; i++) {
        ob_err e = {0};
        uint64_t id = 0;
        if (own_logged(w,
                       "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"professional\","
                       "\"target\":\"gp_doc\"}",
                       &id, &e)) {
            fprintf(stderr, "block: %s\n", e.msg);
            w->failed++;
            continue;
        }
        w->ids[i] = id;
        char lift[128];
        snprintf(lift, sizeof lift, "{\"type\":\"block_lift\",\"patient\":\"anna\",\"block\":%llu}",
                 (unsigned long long)id);
        if (own_logged(w, lift, NULL, &e)) {
            fprintf(stderr, "lift: %s\n", e.msg);
            w->failed++;
        }
    }
    return NULL;
}

static void validated_in_order(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("ordered", ci, sizeof ci);
    static server a, b;
    server_open(&a, ci, "server-a", true);
    server_open(&b, ci, "server-b", true);
    own_writer wa = {&a, NULL, 0, {0}}, wb = {&b, NULL, 0, {0}};
    logs_open(ci, &wa.lg, &wb.lg);
    pthread_t ta, tb;
    int64_t t0 = mono_us();
    pthread_create(&ta, NULL, own_main, &wa);
    pthread_create(&tb, NULL, own_main, &wb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    int64_t us = mono_us() - t0;
    ob_pglog_close(wa.lg);
    ob_pglog_close(wb.lg);
    assert_int_equal(wa.failed + wb.failed, 0);
    /* every block id given once, across both servers */
    uint64_t all[80];
    memcpy(all, wa.ids, sizeof wa.ids);
    memcpy(all + 40, wb.ids, sizeof wb.ids);
    for (int i = 0; i < 80; i++)
        for (int j = i + 1; j < 80; j++)
            if (all[i] == all[j])
                fail_msg("block id %llu given twice", (unsigned long long)all[i]);
    /* both indexes alike: every change applied once, every block lifted */
    assert_int_equal(ob_pgsync_applied(a.sync), ob_pgsync_applied(b.sync));
    assert_int_equal(ob_pgsync_applied(a.sync), 160);
    assert_int_equal(decide_on(&a), 1);
    assert_int_equal(decide_on(&b), 1);
    int n;
    char **v = pg_column(ci, "SELECT count(*) FROM log_pg_entry", &n);
    assert_int_equal(atoi(v[0]), 160);
    pg_free_column(v, n);
    print_message("# 80 blocks and their lifts from two servers at once, validated where the "
                  "order is decided: 80 distinct ids, both indexes alike; %.0f ms, %.2f ms a "
                  "change (each with its log entry, acknowledged by both servers)\n",
                  us / 1000.0, us / 1000.0 / 160);
    server_close(&a);
    server_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocks_across_servers),
        cmocka_unit_test(blocks_through_the_log),
        cmocka_unit_test(validated_in_order),
    };
    return cmocka_run_group_tests(tests, pg_group_up, pg_group_down);
}
