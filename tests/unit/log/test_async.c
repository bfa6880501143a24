/* test_async.c - ob_log_append_async (R-LOG-1): done is called exactly once per accepted
 * call, only after the entries are durable, with consecutive seqs per call and
 * increasing seqs in each thread's call order; a failing apply fails only its own call
 * (nothing of it written, its data change rolled back) while the other calls in the
 * same batch commit; a failed batch fails every call in it and writes nothing; refused
 * calls (bad input, full queue, out of memory, closing) never call done; a done
 * callback may queue more appends but cannot wait for the writer it runs on; and
 * ob_log_close drains every pending append and calls its done before it returns.
 *
 * Assertions run on the test thread only: the callbacks (on the log's writer thread)
 * just record what they saw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <semaphore.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "store/sqlite/sqlite.h"
#include "unit/log/util.h"

/* What one done callback saw. */
struct call {
    int ndone; /* must end at exactly 1 */
    ob_status st;
    uint64_t first_seq;
    size_t n;
    char msg[sizeof(((ob_err *)0)->msg)];
};

static void on_done(void *ctx, ob_status st, uint64_t first_seq, const ob_err *err)
{
    struct call *c = ctx;
    c->ndone++;
    c->st = st;
    c->first_seq = first_seq;
    if (st != OB_OK)
        snprintf(c->msg, sizeof c->msg, "%s", err ? err->msg : "(no error given)");
}

static void verify_ok(const char *path, const ob_log_config *cfg, ob_log_verify_report *r)
{
    ob_err e = {0};
    ob_status st = ob_log_verify(path, cfg->pk, r, &e);
    if (st != OB_OK)
        fail_msg("verify: %s", e.msg);
}

/* The resource field of entry i of call c of thread t, so the rows can be traced back. */
static void tag(char *buf, size_t cap, int t, int c, int i)
{
    snprintf(buf, cap, "t%d-c%d-e%d", t, c, i);
}

static sqlite3_int64 count(const char *path, const char *sql)
{
    sqlite3 *db = tl_raw(path);
    sqlite3_stmt *st;
    sqlite3_int64 v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* --- ordering and exactly-once, from several threads ---------------------------- */

enum { OT_THREADS = 4, OT_CALLS = 300 };

struct order_thread {
    ob_log *lg;
    int id;
    struct call calls[OT_CALLS];
    ob_status submit[OT_CALLS];
};

static void *order_worker(void *arg)
{
    struct order_thread *t = arg;
    for (int c = 0; c < OT_CALLS; c++) {
        size_t n = 1 + (size_t)(c % 3);
        char pb[3][32], res[3][48];
        ob_log_entry en[3];
        for (size_t i = 0; i < n; i++) {
            en[i] = tl_entry(c + (int)i, pb[i], sizeof pb[i]);
            tag(res[i], sizeof res[i], t->id, c, (int)i);
            en[i].resource = res[i];
        }
        t->calls[c].n = n;
        ob_err e = {0};
        /* The entries live on this stack frame only: the call must copy them. */
        t->submit[c] = ob_log_append_async(t->lg, en, n, NULL, NULL, on_done, &t->calls[c], &e);
        memset(en, 0, sizeof en);
        memset(res, 'x', sizeof res);
    }
    return NULL;
}

static void test_async_order_and_once(void **state)
{
    (void)state;
    char path[256];
    tl_path(path, sizeof path, "async-order");
    ob_log_config cfg;
    tl_keys(&cfg, 64);
    ob_log *lg = NULL;
    ob_err e = {0};
    assert_int_equal(ob_log_open(path, &cfg, &lg, &e), OB_OK);
    static struct order_thread th[OT_THREADS];
    pthread_t pt[OT_THREADS];
    memset(th, 0, sizeof th);
    for (int i = 0; i < OT_THREADS; i++) {
        th[i].lg = lg;
        th[i].id = i;
        assert_int_equal(pthread_create(&pt[i], NULL, order_worker, &th[i]), 0);
    }
    for (int i = 0; i < OT_THREADS; i++)
        pthread_join(pt[i], NULL);
    /* Close drains whatever is still queued. */
    assert_int_equal(ob_log_close(lg, &e), OB_OK);

    uint64_t total = 0;
    static uint8_t seen[OT_THREADS * OT_CALLS * 3 + 1];
    memset(seen, 0, sizeof seen);
    for (int t = 0; t < OT_THREADS; t++) {
        uint64_t prev_end = 0;
        for (int c = 0; c < OT_CALLS; c++) {
            struct call *k = &th[t].calls[c];
            assert_int_equal(th[t].submit[c], OB_OK);
            if (k->ndone != 1)
                fail_msg("thread %d call %d: done called %d times", t, c, k->ndone);
            assert_int_equal(k->st, OB_OK);
            /* Seqs increase in each thread's call order. */
            assert_true(k->first_seq > prev_end);
            prev_end = k->first_seq + k->n - 1;
            for (size_t i = 0; i < k->n; i++) {
                uint64_t s = k->first_seq + i;
                assert_true(s < sizeof seen);
                assert_int_equal(seen[s], 0); /* no seq handed out twice */
                seen[s] = 1;
            }
            total += k->n;
        }
    }
    ob_log_verify_report r;
    verify_ok(path, &cfg, &r);
    assert_int_equal(r.last_seq, total);
    assert_int_equal(r.entries, total);

    /* Each call's entries are at its seqs, consecutive and in order, with the content
     * that was passed (the caller's buffers were overwritten after the call). */
    sqlite3 *db = tl_raw(path);
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT resource FROM log_entries WHERE seq = ?1", -1, &st, NULL),
        SQLITE_OK);
    for (int t = 0; t < OT_THREADS; t++)
        for (int c = 0; c < OT_CALLS; c += 7)
            for (size_t i = 0; i < th[t].calls[c].n; i++) {
                char want[48];
                tag(want, sizeof want, t, c, (int)i);
                sqlite3_bind_int64(st, 1, (sqlite3_int64)(th[t].calls[c].first_seq + i));
                assert_int_equal(sqlite3_step(st), SQLITE_ROW);
                assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
                sqlite3_reset(st);
            }
    sqlite3_finalize(st);
    sqlite3_close(db);
    tl_rm(path);
}

/* --- holding the writer so that several calls land in one batch ----------------- */

struct gate {
    sem_t entered, release;
};

/* An apply that parks the writer inside its transaction until the test releases it. */
static ob_status apply_gate(void *ctx, ob_store_tx *tx, ob_err *e)
{
    sqlite3 *db = ob_store_tx_sqlite(tx);
    (void)db;
    (void)e;
    struct gate *g = ctx;
    sem_post(&g->entered);
    while (sem_wait(&g->release) != 0)
        ;
    return OB_OK;
}

static void gate_init(struct gate *g)
{
    sem_init(&g->entered, 0, 0);
    sem_init(&g->release, 0, 0);
}

static void gate_destroy(struct gate *g)
{
    sem_destroy(&g->entered);
    sem_destroy(&g->release);
}

/* Queues a call whose apply holds the writer, and waits until it does. */
static void hold_writer(ob_log *lg, struct gate *g, struct call *c)
{
    char pb[32];
    ob_log_entry en = tl_entry(0, pb, sizeof pb);
    ob_err e = {0};
    c->n = 1;
    assert_int_equal(ob_log_append_async(lg, &en, 1, apply_gate, g, on_done, c, &e), OB_OK);
    while (sem_wait(&g->entered) != 0)
        ;
}

struct change {
    const char *tok;
    bool fail;
};

/* A data change that goes with the entries; fails after writing when asked, so the
 * rollback of its savepoint is visible. */
static ob_status apply_change(void *ctx, ob_store_tx *tx, ob_err *e)
{
    sqlite3 *db = ob_store_tx_sqlite(tx);
    struct change *ch = ctx;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?1)", -1, &st, NULL) != SQLITE_OK)
        return ob_err_set(e, OB_EIO, "apply: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, ch->tok, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return ob_err_set(e, OB_EIO, "apply failed");
    if (ch->fail)
        return ob_err_set(e, OB_EDENIED, "refused by the rules (%s)", ch->tok);
    return OB_OK;
}

/* A failing apply fails only its own call; the others in the batch commit. */
static void test_async_apply_failure_isolated(void **state)
{
    (void)state;
    char path[256];
    tl_path(path, sizeof path, "async-apply");
    ob_log_config cfg;
    tl_keys(&cfg, 0);
    assert_int_equal(tl_exec(path, "CREATE TABLE t(tok TEXT PRIMARY KEY)"), SQLITE_OK);
    ob_log *lg = NULL;
    ob_err e = {0};
    assert_int_equal(ob_log_open(path, &cfg, &lg, &e), OB_OK);
    struct gate g;
    gate_init(&g);
    struct call hold = {0}, c[3] = {{0}};
    hold_writer(lg, &g, &hold);

    struct change ch[3] = {{"ok-a", false}, {"bad-b", true}, {"ok-c", false}};
    for (int k = 0; k < 3; k++) {
        char pb[2][32];
        ob_log_entry en[2] = {tl_entry(10 * k, pb[0], 32), tl_entry(10 * k + 1, pb[1], 32)};
        en[0].resource = ch[k].tok;
        en[1].resource = ch[k].tok;
        c[k].n = 2;
        assert_int_equal(ob_log_append_async(lg, en, 2, apply_change, &ch[k], on_done, &c[k], &e),
                         OB_OK);
    }
    /* Nothing is done while the writer is held. */
    assert_int_equal(hold.ndone + c[0].ndone + c[1].ndone + c[2].ndone, 0);
    sem_post(&g.release);
    assert_int_equal(ob_log_close(lg, &e), OB_OK);
    gate_destroy(&g);

    assert_int_equal(hold.ndone, 1);
    assert_int_equal(hold.st, OB_OK);
    assert_int_equal(hold.first_seq, 1);
    for (int k = 0; k < 3; k++)
        assert_int_equal(c[k].ndone, 1);
    assert_int_equal(c[0].st, OB_OK);
    assert_int_equal(c[0].first_seq, 2);
    assert_int_equal(c[1].st, OB_EDENIED);
    assert_int_equal(c[1].first_seq, 0);
    assert_non_null(strstr(c[1].msg, "bad-b"));
    assert_int_equal(c[2].st, OB_OK);
    assert_int_equal(c[2].first_seq, 4); /* no gap where the failed call would have been */
    /* The failed call's entries and its data change are not there; the others' are. */
    assert_int_equal(count(path, "SELECT COUNT(*) FROM log_entries WHERE resource = 'bad-b'"), 0);
    assert_int_equal(count(path, "SELECT COUNT(*) FROM t WHERE tok = 'bad-b'"), 0);
    assert_int_equal(count(path, "SELECT COUNT(*) FROM log_entries WHERE resource LIKE 'ok-%'"), 4);
    assert_int_equal(count(path, "SELECT COUNT(*) FROM t"), 2);
    ob_log_verify_report r;
    verify_ok(path, &cfg, &r);
    assert_int_equal(r.last_seq, 5);
    tl_rm(path);
}

/* A failed batch (the head cannot be written) fails every call in it; nothing of them
 * is written and the seqs are reused afterwards. */
static void test_async_failed_batch(void **state)
{
    (void)state;
    char path[256];
    tl_path(path, sizeof path, "async-batch");
    ob_log_config cfg;
    tl_keys(&cfg, 0);
    ob_log *lg = NULL;
    ob_err e = {0};
    assert_int_equal(ob_log_open(path, &cfg, &lg, &e), OB_OK);
    /* Fails every commit that takes the log past one entry: the held call's own batch
     * commits, the next one does not. */
    assert_int_equal(tl_exec(path, "CREATE TRIGGER boom BEFORE INSERT ON log_head"
                                   " WHEN NEW.size >= 2 BEGIN SELECT RAISE(ABORT, 'disk on fire');"
                                   " END"),
                     SQLITE_OK);
    struct gate g;
    gate_init(&g);
    struct call hold = {0}, c[4] = {{0}};
    hold_writer(lg, &g, &hold);
    for (int k = 0; k < 4; k++) {
        char pb[32];
        ob_log_entry en = tl_entry(k, pb, sizeof pb);
        c[k].n = 1;
        assert_int_equal(ob_log_append_async(lg, &en, 1, NULL, NULL, on_done, &c[k], &e), OB_OK);
    }
    sem_post(&g.release);
    /* A blocking append after them is in a later batch and fails the same way. */
    char pb[32];
    ob_log_entry en = tl_entry(9, pb, sizeof pb);
    uint64_t seq = 0;
    assert_int_equal(ob_log_append(lg, &en, 1, NULL, NULL, &seq, &e), OB_EIO);
    /* Blocking callers of a batch are woken before its done callbacks run; a call in a
     * later batch returns only after those callbacks. */
    assert_int_equal(ob_log_checkpoint_now(lg, &e), OB_OK);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(c[k].ndone, 1);
        assert_int_equal(c[k].st, OB_EIO);
        assert_int_equal(c[k].first_seq, 0);
        assert_non_null(strstr(c[k].msg, "disk on fire"));
    }
    assert_int_equal(hold.st, OB_OK);
    assert_int_equal(tl_exec(path, "DROP TRIGGER boom"), SQLITE_OK);
    struct call after = {0};
    after.n = 1;
    assert_int_equal(ob_log_append_async(lg, &en, 1, NULL, NULL, on_done, &after, &e), OB_OK);
    ob_log_stats s;
    ob_log_get_stats(lg, &s);
    assert_int_equal(s.failed, 5);
    assert_int_equal(ob_log_close(lg, &e), OB_OK);
    gate_destroy(&g);
    assert_int_equal(after.ndone, 1);
    assert_int_equal(after.st, OB_OK);
    assert_int_equal(after.first_seq, 2);
    ob_log_verify_report r;
    verify_ok(path, &cfg, &r);
    assert_int_equal(r.last_seq, 2);
    tl_rm(path);
}

/* Refused calls return an error and never call done; a full queue is OB_ELIMIT. */
static void test_async_refusals_and_backpressure(void **state)
{
    (void)state;
    char path[256];
    tl_path(path, sizeof path, "async-refuse");
    ob_log_config cfg;
    tl_keys(&cfg, 0);
    cfg.max_pending = 10;
    cfg.max_batch = 8;
    ob_log *lg = NULL;
    ob_err e = {0};
    assert_int_equal(ob_log_open(path, &cfg, &lg, &e), OB_OK);
    struct call never = {0};
    char pb[9][32];
    ob_log_entry en[9];
    for (int i = 0; i < 9; i++)
        en[i] = tl_entry(i, pb[i], 32);

    assert_int_equal(ob_log_append_async(lg, en, 1, NULL, NULL, NULL, NULL, &e), OB_EINVAL);
    assert_int_equal(ob_log_append_async(lg, en, 0, NULL, NULL, on_done, &never, &e), OB_EINVAL);
    assert_int_equal(ob_log_append_async(lg, en, 9, NULL, NULL, on_done, &never, &e), OB_ELIMIT);
    ob_log_entry bad = en[0];
    bad.event = OB_EV_COUNT;
    assert_int_equal(ob_log_append_async(lg, &bad, 1, NULL, NULL, on_done, &never, &e), OB_EINVAL);
    ob_alloc_fail_after(0);
    ob_status st = ob_log_append_async(lg, en, 1, NULL, NULL, on_done, &never, &e);
    ob_alloc_fail_after(-1);
    assert_int_equal(st, OB_ENOMEM);

    /* Hold the writer (its own call counts one pending entry), then fill the queue. */
    struct gate g;
    gate_init(&g);
    struct call hold = {0}, c[20] = {{0}};
    hold_writer(lg, &g, &hold);
    int accepted = 0, refused = 0;
    for (int k = 0; k < 20; k++) {
        c[k].n = 2;
        st = ob_log_append_async(lg, en, 2, NULL, NULL, on_done, &c[k], &e);
        if (st == OB_OK) {
            accepted++;
        } else {
            assert_int_equal(st, OB_ELIMIT);
            assert_non_null(strstr(e.msg, "queued"));
            refused++;
        }
    }
    /* 1 held + 4 calls x 2 entries = 9 of 10; the fifth pair would make 11. */
    assert_int_equal(accepted, 4);
    assert_int_equal(refused, 16);
    ob_log_stats s;
    ob_log_get_stats(lg, &s);
    assert_int_equal(s.pending, 9);
    assert_int_equal(s.refused, 16);
    sem_post(&g.release);
    assert_int_equal(ob_log_close(lg, &e), OB_OK);
    gate_destroy(&g);
    assert_int_equal(never.ndone, 0);
    for (int k = 0; k < 20; k++)
        assert_int_equal(c[k].ndone, k < accepted ? 1 : 0);
    ob_log_verify_report r;
    verify_ok(path, &cfg, &r);
    assert_int_equal(r.last_seq, 9);

    /* An empty queue takes a call larger than max_pending (up to max_batch). */
    cfg.max_batch = 0;
    assert_int_equal(ob_log_open(path, &cfg, &lg, &e), OB_OK);
    enum { BIG = 25 };
    ob_log_entry big[BIG];
    char bpb[BIG][32];
    for (int i = 0; i < BIG; i++)
        big[i] = tl_entry(i, bpb[i], 32);
    struct call bc = {.n = BIG};
    assert_int_equal(ob_log_append_async(lg, big, BIG, NULL, NULL, on_done, &bc, &e), OB_OK);
    assert_int_equal(ob_log_close(lg, &e), OB_OK);
    assert_int_equal(bc.ndone, 1);
    assert_int_equal(bc.st, OB_OK);
    assert_int_equal(bc.first_seq, 10);
    verify_ok(path, &cfg, &r);
    assert_int_equal(r.last_seq, 9 + BIG);
    tl_rm(path);
}

/* --- done callbacks that call the log back --------------------------------------- */

struct reentry {
    ob_log *lg;
    struct call self;
    ob_status blocking, checkpoint, close, async;
    struct call *next; /* where the appended call reports, if it was accepted */
};

static void on_done_reenter(void *ctx, ob_status st, uint64_t first_seq, const ob_err *err)
{
    struct reentry *r = ctx;
    on_done(&r->self, st, first_seq, err);
    char pb[32];
    ob_log_entry en = tl_entry(5, pb, sizeof pb);
    ob_err e = {0};
    uint64_t seq;
    r->blocking = ob_log_append(r->lg, &en, 1, NULL, NULL, &seq, &e);
    r->checkpoint = ob_log_checkpoint_now(r->lg, &e);
    r->close = ob_log_close(r->lg, &e);
    if (r->next) {
        r->next->n = 1;
        r->async = ob_log_append_async(r->lg, &en, 1, NULL, NULL, on_done, r->next, &e);
    }
}

static void test_async_done_reentry(void **state)
{
    (void)state;
    char path[256];
    tl_path(path, sizeof path, "async-reenter");
    ob_log_config cfg;
    tl_keys(&cfg, 0);
    ob_log *lg = NULL;
    ob_err e = {0};
    assert_int_equal(ob_log_open(path, &cfg, &lg, &e), OB_OK);
    struct call next = {0};
    struct reentry r = {.lg = lg, .next = &next, .async = OB_EINTERNAL};
    char pb[32];
    ob_log_entry en = tl_entry(1, pb, sizeof pb);
    assert_int_equal(ob_log_append_async(lg, &en, 1, NULL, NULL, on_done_reenter, &r, &e), OB_OK);
    /* Once a call in a later batch has returned, the callback has run (callbacks run
     * before the writer starts the next batch). */
    uint64_t seq = 0;
    assert_int_equal(ob_log_append(lg, &en, 1, NULL, NULL, &seq, &e), OB_OK);
    assert_int_equal(ob_log_checkpoint_now(lg, &e), OB_OK);
    assert_int_equal(r.self.ndone, 1);
    /* Waiting for the writer from the writer is refused instead of deadlocking. */
    assert_int_equal(r.blocking, OB_EINVAL);
    assert_int_equal(r.checkpoint, OB_EINVAL);
    assert_int_equal(r.close, OB_EINVAL);
    assert_int_equal(r.async, OB_OK);
    assert_int_equal(ob_log_close(lg, &e), OB_OK);
    assert_int_equal(next.ndone, 1);
    assert_int_equal(next.st, OB_OK);
    ob_log_verify_report vr;
    verify_ok(path, &cfg, &vr);
    assert_int_equal(vr.last_seq, 3);
    tl_rm(path);
}

/* --- shutdown -------------------------------------------------------------------- */

enum { CLOSE_CALLS = 2000 };

struct drain {
    ob_log *lg;
    int ndone, nok, again_ok, again_refused;
    uint64_t max_seq;
    struct call *extra; /* calls queued from callbacks, reported here */
    int nextra;
};

static void on_done_drain(void *ctx, ob_status st, uint64_t first_seq, const ob_err *err)
{
    (void)err;
    struct drain *d = ctx;
    d->ndone++; /* only the writer thread touches d until close returns */
    if (st == OB_OK) {
        d->nok++;
        if (first_seq > d->max_seq)
            d->max_seq = first_seq;
    }
    /* Keep queueing from the callback: accepted until close begins, refused after. */
    if (d->nextra < CLOSE_CALLS) {
        char pb[32];
        ob_log_entry en = tl_entry(3, pb, sizeof pb);
        ob_err e = {0};
        struct call *c = &d->extra[d->nextra];
        c->n = 1;
        ob_status s = ob_log_append_async(d->lg, &en, 1, NULL, NULL, on_done, c, &e);
        if (s == OB_OK) {
            d->nextra++;
            d->again_ok++;
        } else {
            d->again_refused++;
        }
    }
}

/* ob_log_close drains pending async appends, calls every done before it returns, and
 * refuses new appends once it has begun. */
static void test_async_close_drains(void **state)
{
    (void)state;
    char path[256];
    tl_path(path, sizeof path, "async-close");
    ob_log_config cfg;
    tl_keys(&cfg, 100);
    ob_log *lg = NULL;
    ob_err e = {0};
    assert_int_equal(ob_log_open(path, &cfg, &lg, &e), OB_OK);
    struct drain d = {.lg = lg};
    d.extra = calloc(CLOSE_CALLS, sizeof *d.extra);
    assert_non_null(d.extra);
    for (int i = 0; i < CLOSE_CALLS; i++) {
        char pb[32];
        ob_log_entry en = tl_entry(i, pb, sizeof pb);
        assert_int_equal(ob_log_append_async(lg, &en, 1, NULL, NULL, on_done_drain, &d, &e), OB_OK);
    }
    assert_int_equal(ob_log_close(lg, &e), OB_OK);
    /* Every call was done, and done before close returned. */
    assert_int_equal(d.ndone, CLOSE_CALLS);
    assert_int_equal(d.nok, CLOSE_CALLS);
    for (int i = 0; i < d.nextra; i++) {
        assert_int_equal(d.extra[i].ndone, 1);
        assert_int_equal(d.extra[i].st, OB_OK);
    }
    ob_log_verify_report r;
    verify_ok(path, &cfg, &r);
    assert_int_equal(r.last_seq, (uint64_t)(CLOSE_CALLS + d.again_ok));
    free(d.extra);
    tl_rm(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_async_order_and_once),
        cmocka_unit_test(test_async_apply_failure_isolated),
        cmocka_unit_test(test_async_failed_batch),
        cmocka_unit_test(test_async_refusals_and_backpressure),
        cmocka_unit_test(test_async_done_reentry),
        cmocka_unit_test(test_async_close_drains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
