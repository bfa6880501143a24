/* log_pg.c - durable access-log appends on PostgreSQL against SQLite, in one run (issue 18).
 *
 * Each configuration runs T threads that each append one entry at a time and wait until it
 * is durable (a blocking request handler), for a few seconds, and prints durable appends/s
 * and the mean batch (entries per commit):
 *   sqlite T        the embedded log (store/sqlite/log_sqlite.h) in DIR, WAL, synchronous=FULL
 *   pg T            one server's PostgreSQL log (store/pg/log_pg.h), fsync on, one node
 *   pg2 T           two servers (two logs, T/2 threads each) on one database: the advisory
 *                   lock makes their batches take turns
 *   sqlite NxW, pg NxW   N threads each keeping W asynchronous appends in flight
 *                   (ob_log_append_async, ob_pglog_append_async: the server's searches)
 * Rounds alternate the configurations, so a noisy host shifts them alike.
 *
 * usage: bench_log_pg CONNINFO DIR [seconds] [rounds]
 *        (bench/log_pg.sh starts a throwaway PostgreSQL and runs this) */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg/log_pg.h"
#include "store/sqlite/log_sqlite.h"
#include "store/store.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct run {
    ob_log *sq;
    ob_pglog *pg[2];
    int npg;
    atomic_bool stop;
    atomic_long done;
} run;

typedef struct worker {
    run *r;
    int k, window; /* window > 0: that many asynchronous appends in flight */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight;
} worker;

static void slot_free(worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->inflight--;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    atomic_fetch_add(&w->r->done, 1);
}

/* The done callback of both logs' asynchronous appends (one signature). */
static void async_done(void *ctx, ob_status st, uint64_t first_seq, const ob_err *err)
{
    (void)first_seq;
    if (st) {
        fprintf(stderr, "append: %s\n", err->msg);
        exit(1);
    }
    slot_free(ctx);
}

static void *work(void *p)
{
    worker *w = p;
    run *r = w->r;
    char pat[32];
    snprintf(pat, sizeof pat, "pt-%d", w->k);
    ob_log_entry en = {.time = 1796000000,
                       .permit = true,
                       .actor_id = "bench",
                       .actor_role = "doctor",
                       .patient = pat,
                       .category = "measurement",
                       .resource = "Observation/pt-1-i3,Observation/pt-1-i4",
                       .purpose = "TREAT",
                       .rule = "R-ACC-1",
                       .legal_basis = "Sundhedsloven §42a",
                       .reason = "treatment relationship"};
    while (!atomic_load(&r->stop)) {
        ob_err e = {0};
        ob_status rc;
        if (w->window) {
            pthread_mutex_lock(&w->mu);
            while (w->inflight >= w->window)
                pthread_cond_wait(&w->cv, &w->mu);
            w->inflight++;
            pthread_mutex_unlock(&w->mu);
            rc = r->sq ? ob_log_append_async(r->sq, &en, 1, NULL, NULL, async_done, w, &e)
                       : ob_pglog_append_async(r->pg[w->k % r->npg], &en, 1, NULL, NULL, async_done,
                                               w, &e);
        } else {
            rc = r->sq ? ob_log_append(r->sq, &en, 1, NULL, NULL, NULL, &e)
                       : ob_pglog_append(r->pg[w->k % r->npg], &en, 1, NULL, &e);
            if (!rc)
                atomic_fetch_add(&r->done, 1);
        }
        if (rc) {
            fprintf(stderr, "append: %s\n", e.msg);
            exit(1);
        }
    }
    /* the calls still in flight end before the worker does (their callbacks use it) */
    pthread_mutex_lock(&w->mu);
    while (w->inflight > 0)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static double measure(run *r, int threads, int window, double seconds)
{
    pthread_t t[256];
    static worker w[256];
    atomic_store(&r->stop, false);
    atomic_store(&r->done, 0);
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){.r = r, .k = i, .window = window};
        pthread_mutex_init(&w[i].mu, NULL);
        pthread_cond_init(&w[i].cv, NULL);
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    struct timespec warm = {0, 300 * 1000000};
    nanosleep(&warm, NULL);
    long d0 = atomic_load(&r->done);
    int64_t t0 = now_ns();
    struct timespec s = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&s, NULL);
    long d1 = atomic_load(&r->done);
    int64_t t1 = now_ns();
    atomic_store(&r->stop, true);
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        pthread_mutex_destroy(&w[i].mu);
        pthread_cond_destroy(&w[i].cv);
    }
    return (double)(d1 - d0) / ((double)(t1 - t0) / 1e9);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_log_pg CONNINFO DIR [seconds] [rounds]\n");
        return 2;
    }
    const char *ci = argv[1], *dir = argv[2];
    double secs = argc > 3 ? atof(argv[3]) : 3.0;
    int rounds = argc > 4 ? atoi(argv[4]) : 2;
    if (sodium_init() < 0)
        return 1;
    ob_log_config lc = {0};
    crypto_sign_ed25519_keypair(lc.pk, lc.sk);
    ob_pglog_config pc = {0};
    memcpy(pc.pk, lc.pk, sizeof pc.pk);
    memcpy(pc.sk, lc.sk, sizeof pc.sk);
    char db[512];
    snprintf(db, sizeof db, "%s/bench-log.db", dir);
    ob_store_remove(db);
    ob_err e = {0};
    ob_store *st;
    run sq = {0}, pg = {0}, pg2 = {0};
    if (ob_store_open(db, &st, &e) || ob_log_open(db, &lc, &sq.sq, &e) ||
        ob_pglog_open(ci, &pc, &pg.pg[0], &e) || ob_pglog_open(ci, &pc, &pg2.pg[0], &e) ||
        ob_pglog_open(ci, &pc, &pg2.pg[1], &e)) {
        fprintf(stderr, "open: %s\n", e.msg);
        return 1;
    }
    pg.npg = 1;
    pg2.npg = 2;
    static const int threads[] = {1, 16, 64};
    printf("%-8s %8s %12s\n", "log", "threads", "appends/s");
    for (int round = 0; round < rounds; round++)
        for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
            printf("%-8s %8d %12.0f\n", "sqlite", threads[i], measure(&sq, threads[i], 0, secs));
            printf("%-8s %8d %12.0f\n", "pg", threads[i], measure(&pg, threads[i], 0, secs));
            if (threads[i] > 1)
                printf("%-8s %8d %12.0f\n", "pg2", threads[i], measure(&pg2, threads[i], 0, secs));
            fflush(stdout);
        }
    for (int round = 0; round < rounds; round++) { /* the server's way: asynchronous */
        printf("%-8s %8s %12.0f\n", "sqlite", "4x64", measure(&sq, 4, 64, secs));
        printf("%-8s %8s %12.0f\n", "pg", "4x64", measure(&pg, 4, 64, secs));
        printf("%-8s %8s %12.0f\n", "pg2", "4x64", measure(&pg2, 4, 64, secs));
        fflush(stdout);
    }
    ob_log_close(sq.sq, &e);
    ob_store_close(st);
    ob_store_remove(db);
    ob_pglog_close(pg.pg[0]);
    ob_pglog_close(pg2.pg[0]);
    ob_pglog_close(pg2.pg[1]);
    ob_pglog_report r;
    if (ob_pglog_verify(ci, pc.pk, 0, &r, &e)) {
        fprintf(stderr, "verify: %s\n", e.msg);
        return 1;
    }
    printf("# the PostgreSQL log verifies: %llu entries, %llu checkpoints\n",
           (unsigned long long)r.entries, (unsigned long long)r.checkpoints);
    return 0;
}
