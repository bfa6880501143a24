/* log_append.c - benchmark of durable access-log appends with group commit (R-LOG-1).
 *
 * In one run: first the raw rate of 4 KiB write + fdatasync on a file in the same
 * directory (appending, and rewriting in place the way SQLite reuses its WAL), then one
 * line per configuration:
 *   "N"      N threads, each appends one entry with ob_log_append and waits until it
 *            is durable (a blocking request handler);
 *   "NxW"    N threads, each keeps a window of W single-entry ob_log_append_async calls
 *            in flight and refills a slot when its done callback reports it durable
 *            (an event loop that suspends a request until its entry is durable).
 * For each: durable appends/s (acknowledged within the timed interval), commits/s, mean
 * batch, p50 and p99 acknowledgement latency (call to return, or call to done), the
 * process CPU time per append ("cpu us": user + sys of all threads, the cost of the
 * whole path), the log writer thread's own CPU time per append ("writer us": the serial
 * part, so 1e6 / writer us is what one free core could sustain), how many entries the
 * search index (store/sqlite/log_index.h, filled off the commit path) was behind when the
 * appends stopped and how long it then took to catch up ("ix behind", "ix ms"), and a
 * verify of the log written (which also checks the index). The CPU columns hold up on a shared
 * machine; appends/s does not.
 *
 * usage: bench_log_append [dir] [seconds-per-run] [configs...]
 *        defaults: $TMPDIR or /tmp, 3 seconds, 1 16 64 1x64 64x16 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "store/sqlite/log_sqlite.h"
#include "store/store.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void rm_db(const char *path)
{
    ob_store_remove(path);
}

/* 4 KiB write + fdatasync in a loop. append: the file grows, so every sync also commits
 * the file system's journal (size change). in place: cycles over a preallocated 4 MiB,
 * like a WAL file that SQLite has reset and is rewriting, so only data is flushed. */
static double fdatasync_rate(const char *dir, double secs, int in_place)
{
    char path[600];
    snprintf(path, sizeof path, "%s/bench-fsync-%ld.tmp", dir, (long)getpid());
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0)
        return -1;
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    enum { SLOTS = 1024 };
    if (in_place) {
        for (int i = 0; i < SLOTS; i++)
            if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
                break;
        fsync(fd);
    }
    long n = 0;
    int64_t t0 = now_ns(), t = t0;
    do {
        ssize_t w = in_place ? pwrite(fd, buf, sizeof buf, (off_t)(n % SLOTS) * 4096)
                             : write(fd, buf, sizeof buf);
        if (w != (ssize_t)sizeof buf || fdatasync(fd) != 0)
            break;
        n++;
        t = now_ns();
    } while ((double)(t - t0) / 1e9 < secs);
    close(fd);
    unlink(path);
    return (double)n * 1e9 / (double)(t - t0);
}

/* Latency histogram: exact below 32 ns, then 16 buckets per power of two (~6%). */
enum { NB = 1024 };
static int hbucket(uint64_t v)
{
    if (v < 32)
        return (int)v;
    int msb = 63 - __builtin_clzll(v);
    return (msb - 4) * 16 + (int)((v >> (msb - 4)) & 15) + 16;
}
static uint64_t hvalue(int b)
{
    if (b < 32)
        return (uint64_t)b;
    b -= 16;
    return (uint64_t)(16 + b % 16) << (b / 16);
}

struct slot {
    struct thr *t;
    int64_t t0;
    struct slot *next;
};

struct thr {
    ob_log *lg;
    int id, window;
    atomic_bool *stop;
    atomic_long acked;
    uint32_t hist[NB]; /* asynchronous mode: written by on_done only (the log's writer) */
    /* Asynchronous mode. The thread owns `free`; on_done pushes finished slots onto
     * `ret` (a lock-free stack: one consumer takes it whole, so no ABA) and takes mu to
     * signal cv only when the thread said it is waiting, so a callback costs a
     * compare-and-swap, not a lock round trip, as in an event loop that resumes
     * requests. */
    struct slot *slots, *free;
    _Atomic(struct slot *) ret;
    atomic_bool waiting;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static ob_log_entry make_entry(int id, long i, char pat[32])
{
    snprintf(pat, 32, "pat-%ld", (id * 7919L + i) % 100000);
    ob_log_entry e = {
        .time = 1767225600 + i,
        .event = OB_EV_DECISION,
        .permit = true,
        .actor_id = "prof-1",
        .actor_name = "Dr. Hansen",
        .actor_role = "doctor",
        .actor_org = "org-7",
        .actor_org_name = "Lægehuset Vest",
        .on_behalf_of = (i & 3) == 0 ? "prof-2" : "",
        .patient = pat,
        .category = "lab_result",
        .resource = "obs-123456",
        .purpose = "TREAT",
        .rule = "R-ACC-1",
        .legal_basis = "Sundhedsloven §42a",
        .reason = "treatment relationship",
    };
    return e;
}

static void *blocking_writer(void *p)
{
    struct thr *t = p;
    char pat[32];
    for (long i = 0; !atomic_load_explicit(t->stop, memory_order_relaxed); i++) {
        ob_log_entry e = make_entry(t->id, i, pat);
        ob_err err = {0};
        int64_t t0 = now_ns();
        if (ob_log_append(t->lg, &e, 1, NULL, NULL, NULL, &err) != OB_OK) {
            fprintf(stderr, "append: %s\n", err.msg);
            exit(1);
        }
        t->hist[hbucket((uint64_t)(now_ns() - t0))]++;
        atomic_fetch_add_explicit(&t->acked, 1, memory_order_relaxed);
    }
    return NULL;
}

/* Runs on the log's writer thread once the entry is durable. */
static void on_done(void *ctx, ob_status st, uint64_t first_seq, const ob_err *err)
{
    (void)first_seq;
    struct slot *sl = ctx;
    struct thr *t = sl->t;
    if (st != OB_OK) {
        fprintf(stderr, "async append: %s\n", err->msg);
        exit(1);
    }
    t->hist[hbucket((uint64_t)(now_ns() - sl->t0))]++;
    atomic_fetch_add_explicit(&t->acked, 1, memory_order_relaxed);
    sl->next = atomic_load_explicit(&t->ret, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(&t->ret, &sl->next, sl))
        ;
    if (atomic_load(&t->waiting)) {
        pthread_mutex_lock(&t->mu);
        atomic_store(&t->waiting, false);
        pthread_cond_signal(&t->cv);
        pthread_mutex_unlock(&t->mu);
    }
}

/* Takes the slots returned by on_done; sleeps until there are some if wait is set. */
static void take_returned(struct thr *t, bool wait)
{
    struct slot *r = atomic_exchange(&t->ret, NULL);
    if (!r && wait) {
        pthread_mutex_lock(&t->mu);
        atomic_store(&t->waiting, true); /* seq_cst: on_done sees it or we see its push */
        while (!(r = atomic_exchange(&t->ret, NULL)) && atomic_load(&t->waiting))
            pthread_cond_wait(&t->cv, &t->mu);
        atomic_store(&t->waiting, false);
        pthread_mutex_unlock(&t->mu);
        if (!r)
            r = atomic_exchange(&t->ret, NULL);
    }
    while (r) {
        struct slot *nx = r->next;
        r->next = t->free;
        t->free = r;
        r = nx;
    }
}

static void *async_writer(void *p)
{
    struct thr *t = p;
    char pat[32];
    long submitted = 0;
    while (!atomic_load_explicit(t->stop, memory_order_relaxed)) {
        if (!t->free)
            take_returned(t, true);
        if (!t->free)
            continue;
        struct slot *sl = t->free;
        t->free = sl->next;
        ob_log_entry e = make_entry(t->id, submitted, pat);
        ob_err err = {0};
        sl->t0 = now_ns();
        ob_status st = ob_log_append_async(t->lg, &e, 1, NULL, NULL, on_done, sl, &err);
        if (st == OB_OK) {
            submitted++;
        } else if (st == OB_ELIMIT) { /* back-pressure: keep the slot, let the log drain */
            sl->next = t->free;
            t->free = sl;
            sched_yield();
        } else {
            fprintf(stderr, "async append: %s\n", err.msg);
            exit(1);
        }
    }
    while (atomic_load(&t->acked) < submitted)
        take_returned(t, true);
    return NULL;
}

static int run(const char *dir, int threads, int window, double secs, const ob_log_config *cfg)
{
    char path[600];
    snprintf(path, sizeof path, "%s/bench-log-%ld-%d-%d.db", dir, (long)getpid(), threads, window);
    rm_db(path);
    ob_log *lg;
    ob_err e = {0};
    if (ob_log_open(path, cfg, &lg, &e) != OB_OK) {
        fprintf(stderr, "open: %s\n", e.msg);
        return 1;
    }
    atomic_bool stop = false;
    struct thr *t = calloc((size_t)threads, sizeof *t);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    if (!t || !th)
        return 1;
    double c0 = cpu_s();
    int64_t t0 = now_ns();
    for (int i = 0; i < threads; i++) {
        t[i].lg = lg;
        t[i].id = i;
        t[i].window = window;
        t[i].stop = &stop;
        atomic_init(&t[i].acked, 0);
        if (window) {
            atomic_init(&t[i].ret, NULL);
            atomic_init(&t[i].waiting, false);
            pthread_mutex_init(&t[i].mu, NULL);
            pthread_cond_init(&t[i].cv, NULL);
            t[i].slots = calloc((size_t)window, sizeof *t[i].slots);
            if (!t[i].slots)
                return 1;
            for (int k = 0; k < window; k++) {
                t[i].slots[k].t = &t[i];
                t[i].slots[k].next = k + 1 < window ? &t[i].slots[k + 1] : NULL;
            }
            t[i].free = &t[i].slots[0];
        }
        pthread_create(&th[i], NULL, window ? async_writer : blocking_writer, &t[i]);
    }
    struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    nanosleep(&ts, NULL);
    long total = 0;
    for (int i = 0; i < threads; i++)
        total += atomic_load(&t[i].acked);
    double dt = (double)(now_ns() - t0) / 1e9, cpu = cpu_s() - c0;
    atomic_store(&stop, true);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    ob_log_stats s;
    ob_log_get_stats(lg, &s);
    /* The search index is filled off the commit path; how far behind it was when the
     * appends stopped, and how long it took to catch up, show whether it keeps up. */
    int64_t w0 = now_ns();
    if (ob_log_wait_indexed(lg, &e) != OB_OK) {
        fprintf(stderr, "index: %s\n", e.msg);
        return 1;
    }
    double catchup_ms = (double)(now_ns() - w0) / 1e6;
    if (ob_log_close(lg, &e) != OB_OK) {
        fprintf(stderr, "close: %s\n", e.msg);
        return 1;
    }
    uint64_t hist[NB] = {0}, nh = 0;
    for (int i = 0; i < threads; i++)
        for (int b = 0; b < NB; b++) {
            hist[b] += t[i].hist[b];
            nh += t[i].hist[b];
        }
    double pct[2] = {0.5, 0.99}, lat[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        uint64_t want = (uint64_t)((double)nh * pct[k]), acc = 0;
        for (int b = 0; b < NB; b++)
            if ((acc += hist[b]) > want) {
                lat[k] = (double)hvalue(b) / 1e3;
                break;
            }
    }
    ob_log_verify_report r;
    ob_status vs = ob_log_verify(path, cfg->pk, &r, &e);
    char name[32];
    if (window)
        snprintf(name, sizeof name, "%dx%d async", threads, window);
    else
        snprintf(name, sizeof name, "%d blocking", threads);
    printf("%-14s %11.0f %10.0f %7.1f %9.0f %9.0f %9.1f %9.2f %9llu %8.1f %7s\n", name,
           (double)total / dt, (double)s.commits / dt,
           s.commits ? (double)s.appended / (double)s.commits : 0.0, lat[0], lat[1],
           total ? cpu * 1e6 / (double)total : 0.0,
           s.appended ? (double)s.writer_cpu_ns / 1e3 / (double)s.appended : 0.0,
           (unsigned long long)(s.size - s.indexed), catchup_ms, vs == OB_OK ? "ok" : "FAILED");
    fflush(stdout);
    rm_db(path);
    for (int i = 0; i < threads; i++)
        if (window) {
            pthread_mutex_destroy(&t[i].mu);
            pthread_cond_destroy(&t[i].cv);
            free(t[i].slots);
        }
    free(t);
    free(th);
    return vs == OB_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    double secs = argc > 2 ? strtod(argv[2], NULL) : 3.0;
    if (secs <= 0)
        secs = 3.0;
    if (sodium_init() < 0)
        return 1;
    ob_log_config cfg = {0};
    crypto_sign_ed25519_keypair(cfg.pk, cfg.sk);
    /* Tuning knobs, for experiments; the defaults are what the server uses. */
    if (getenv("BENCH_MAX_BATCH"))
        cfg.max_batch = (uint32_t)strtoul(getenv("BENCH_MAX_BATCH"), NULL, 10);
    if (getenv("BENCH_GATHER_US"))
        cfg.gather_us = (int)strtol(getenv("BENCH_GATHER_US"), NULL, 10);
    double rs = secs < 2 ? secs : 2;
    double raw_append = fdatasync_rate(dir, rs, 0), raw_inplace = fdatasync_rate(dir, rs, 1);
    printf("dir %s, %.1f s per run, %ld CPUs\n", dir, secs, sysconf(_SC_NPROCESSORS_ONLN));
    printf("raw 4 KiB write+fdatasync: append %.0f /s, in place %.0f /s\n\n", raw_append,
           raw_inplace);
    printf("%-14s %11s %10s %7s %9s %9s %9s %9s %9s %8s %7s\n", "writers", "appends/s", "commits/s",
           "batch", "p50 us", "p99 us", "cpu us", "writer us", "ix behind", "ix ms", "verify");
    const char *dflt[] = {"1", "16", "64", "1x64", "64x16"};
    const char **cf = argc > 3 ? (const char **)argv + 3 : dflt;
    int ncf = argc > 3 ? argc - 3 : (int)(sizeof dflt / sizeof dflt[0]);
    int rc = 0;
    for (int i = 0; i < ncf; i++) {
        char *end;
        int threads = (int)strtol(cf[i], &end, 10), window = 0;
        if (*end == 'x')
            window = (int)strtol(end + 1, NULL, 10);
        if (threads < 1 || window < 0) {
            fprintf(stderr, "bad configuration %s (N or NxW)\n", cf[i]);
            return 2;
        }
        rc |= run(dir, threads, window, secs, &cfg);
    }
    return rc;
}
