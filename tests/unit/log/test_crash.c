/* test_crash.c - R-LOG-1 crash guarantee: an acknowledged append survives the process
 * being killed. A child process appends from several threads under load and reports
 * every acknowledged seq to the parent through a pipe: after ob_log_append returned, or
 * (the asynchronous variant) from inside the done callback of ob_log_append_async, each
 * thread keeping a window of calls in flight. The parent SIGKILLs it mid-load,
 * then checks that every acknowledged seq is in the database, that the log verifies
 * (R-LOG-4), that every data change made through apply has its entry and vice versa
 * (no change without its log entry, R-LOG-1), and that the log reopens and continues
 * the chain. Three rounds on the
 * same file, so recovery also starts from a killed, partly checkpointed log.
 * (SIGKILL tests the process crash, not power loss: the latter rests on SQLite's
 * WAL with synchronous=FULL, see docs/log.md.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#include "store/sqlite/sqlite.h"
#include "unit/log/util.h"

enum { THREADS = 8, ASYNC_THREADS = 4, WINDOW = 32 };

struct child_ctx {
    ob_log *lg;
    int fd;
    int id;
};

/* One in-flight asynchronous call of a child thread. tok is the apply context, so it
 * must stay put until done; the slot is reused only after its done ran. */
struct slot {
    int fd;
    size_t n;
    sem_t *free;
    char tok[48];
};

/* The data change that goes with an entry: a row carrying the entry's token. */
static ob_status apply_token(void *ctx, ob_store_tx *tx, ob_err *e)
{
    sqlite3 *db = ob_store_tx_sqlite(tx);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?1)", -1, &st, NULL) != SQLITE_OK)
        return ob_err_set(e, OB_EIO, "apply: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, ctx, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? OB_OK : ob_err_set(e, OB_EIO, "apply failed");
}

static void *child_worker(void *arg)
{
    struct child_ctx *c = arg;
    for (int i = 0;; i++) {
        char pb[32], tok[48];
        ob_log_entry en = tl_entry(c->id * 100000 + i, pb, sizeof pb);
        snprintf(tok, sizeof tok, "tok-%d-%d-%ld", c->id, i, (long)getpid());
        bool change = i % 2 == 0;
        if (change)
            en.resource = tok;
        uint64_t seq;
        ob_err e = {0};
        if (ob_log_append(c->lg, &en, 1, change ? apply_token : NULL, tok, &seq, &e) != OB_OK)
            _exit(3);
        /* 8 bytes < PIPE_BUF: one atomic write per acknowledgement. */
        if (write(c->fd, &seq, sizeof seq) != (ssize_t)sizeof seq)
            _exit(4);
    }
    return NULL;
}

/* Runs on the log's writer thread once the call is durable: only now is it reported. */
static void child_done(void *ctx, ob_status st, uint64_t first_seq, const ob_err *err)
{
    (void)err;
    struct slot *sl = ctx;
    if (st != OB_OK)
        _exit(5);
    for (size_t i = 0; i < sl->n; i++) {
        uint64_t seq = first_seq + i;
        if (write(sl->fd, &seq, sizeof seq) != (ssize_t)sizeof seq)
            _exit(4);
    }
    sem_post(sl->free);
}

static void *child_async_worker(void *arg)
{
    struct child_ctx *c = arg;
    struct slot slots[WINDOW];
    sem_t free_slots;
    sem_init(&free_slots, 0, WINDOW);
    for (int i = 0;; i++) {
        while (sem_wait(&free_slots) != 0)
            ;
        /* One thread's calls are done in call order, so once the semaphore lets call i
         * through, call i - WINDOW (the slot's last user) is done. */
        struct slot *sl = &slots[i % WINDOW];
        *sl = (struct slot){.fd = c->fd, .n = i % 5 == 0 ? 2 : 1, .free = &free_slots};
        snprintf(sl->tok, sizeof sl->tok, "tok-a%d-%d-%ld", c->id, i, (long)getpid());
        char pb[2][32];
        ob_log_entry en[2] = {tl_entry(c->id * 100000 + i, pb[0], 32),
                              tl_entry(c->id * 100000 + i + 1, pb[1], 32)};
        bool change = i % 2 == 0;
        if (change)
            en[0].resource = sl->tok;
        ob_err e = {0};
        ob_status st;
        while ((st = ob_log_append_async(c->lg, en, sl->n, change ? apply_token : NULL, sl->tok,
                                         child_done, sl, &e)) == OB_ELIMIT)
            sched_yield();
        if (st != OB_OK)
            _exit(3);
    }
    return NULL;
}

static void child_main(const char *path, const ob_log_config *cfg, int fd, bool async)
{
    ob_log *lg = NULL;
    ob_err e = {0};
    if (ob_log_open(path, cfg, &lg, &e) != OB_OK)
        _exit(2);
    struct child_ctx c[THREADS];
    pthread_t th[THREADS];
    int n = async ? ASYNC_THREADS : THREADS;
    for (int i = 0; i < n; i++) {
        c[i] = (struct child_ctx){.lg = lg, .fd = fd, .id = i};
        pthread_create(&th[i], NULL, async ? child_async_worker : child_worker, &c[i]);
    }
    for (;;)
        pause();
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void kill_rounds(bool async)
{
    char path[256];
    tl_path(path, sizeof path, async ? "crash-async" : "crash");
    ob_log_config cfg;
    tl_keys(&cfg, 256);
    assert_int_equal(tl_exec(path, "CREATE TABLE t(tok TEXT PRIMARY KEY)"), SQLITE_OK);
    uint64_t total_acked = 0;
    for (int round = 0; round < 3; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            child_main(path, &cfg, p[1], async);
        }
        close(p[1]);
        size_t cap = 1 << 16, n = 0;
        uint64_t *acked = malloc(cap * sizeof *acked);
        /* Killed mid-load: past its time and after at least 200 acknowledgements (under
         * valgrind the child is far slower, so the count decides; 60 s at most). */
        double start = now_s(), kill_at = start + 0.4 + 0.2 * round;
        bool killed = false;
        for (;;) {
            if (!killed && now_s() >= kill_at && (n >= 200 || now_s() >= start + 60)) {
                kill(pid, SIGKILL);
                killed = true;
            }
            struct pollfd pf = {.fd = p[0], .events = POLLIN};
            int pr = poll(&pf, 1, 20);
            if (pr <= 0)
                continue;
            uint64_t seq;
            ssize_t r = read(p[0], &seq, sizeof seq);
            if (r == 0)
                break; /* the child is dead and the pipe drained */
            assert_int_equal(r, (ssize_t)sizeof seq);
            if (n == cap) {
                cap *= 2;
                acked = realloc(acked, cap * sizeof *acked);
            }
            acked[n++] = seq;
        }
        close(p[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_true(n > 100); /* it really was under load */

        /* Every acknowledged seq is there, and the log verifies. */
        ob_log_verify_report r;
        ob_err e = {0};
        if (ob_log_verify(path, cfg.pk, &r, &e) != OB_OK)
            fail_msg("round %d: %s", round, e.msg);
        sqlite3 *db = tl_raw(path);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, "SELECT 1 FROM log_entries WHERE seq = ?1", -1, &st, NULL);
        for (size_t i = 0; i < n; i++) {
            sqlite3_bind_int64(st, 1, (sqlite3_int64)acked[i]);
            if (sqlite3_step(st) != SQLITE_ROW)
                fail_msg("round %d: acknowledged seq %llu is missing", round,
                         (unsigned long long)acked[i]);
            sqlite3_reset(st);
            assert_true(acked[i] <= r.last_seq);
        }
        sqlite3_finalize(st);
        /* R-LOG-1: changes and their entries survive (or vanish) together. */
        sqlite3_prepare_v2(db,
                           "SELECT (SELECT COUNT(*) FROM t WHERE tok NOT IN (SELECT resource"
                           " FROM log_entries)), (SELECT COUNT(*) FROM log_entries WHERE"
                           " resource LIKE 'tok-%' AND resource NOT IN (SELECT tok FROM t)),"
                           " (SELECT COUNT(*) FROM t)",
                           -1, &st, NULL);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), 0);
        assert_int_equal(sqlite3_column_int(st, 1), 0);
        assert_true(sqlite3_column_int(st, 2) > 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        print_message("%s round %d: %zu acknowledged, all present\n", async ? "async" : "blocking",
                      round, n);
        total_acked += n;
        free(acked);
    }
    /* The killed log reopens, continues the chain and closes cleanly. */
    ob_log *lg = NULL;
    ob_err e = {0};
    assert_int_equal(ob_log_open(path, &cfg, &lg, &e), OB_OK);
    char pb[32];
    ob_log_entry en = tl_entry(1, pb, sizeof pb);
    uint64_t seq = 0;
    assert_int_equal(ob_log_append(lg, &en, 1, NULL, NULL, &seq, &e), OB_OK);
    assert_true(seq > total_acked);
    assert_int_equal(ob_log_close(lg, &e), OB_OK);
    ob_log_verify_report r;
    assert_int_equal(ob_log_verify(path, cfg.pk, &r, &e), OB_OK);
    assert_int_equal(r.last_seq, seq);
    tl_rm(path);
}

static void test_kill_mid_load(void **state)
{
    (void)state;
    kill_rounds(false);
}

/* The same with asynchronous appends: a seq is reported from its done callback only,
 * so a callback that ran before COMMIT was durable would show as a missing entry. */
static void test_kill_mid_load_async(void **state)
{
    (void)state;
    kill_rounds(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_mid_load),
        cmocka_unit_test(test_kill_mid_load_async),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
