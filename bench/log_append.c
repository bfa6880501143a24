/* log_append.c - benchmark of durable access-log appends with group commit (R-LOG-1).
 *
 * For 1, 16 and 64 writer threads (or the counts given), each thread appends one entry
 * at a time and waits until it is durable; reports appends/s, commits/s and the mean
 * batch. For comparison it measures the raw rate of 4 KiB write + fdatasync on a file in
 * the same directory, in the same run: a single writer can at best approach that rate,
 * and group commit is how more writers go beyond it.
 *
 * usage: bench_log_append [dir] [seconds-per-run] [threads...]
 *        defaults: $TMPDIR or /tmp, 3 seconds, 1 16 64 */
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/log_sqlite.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void rm_db(const char *path)
{
    char b[700];
    unlink(path);
    snprintf(b, sizeof b, "%s-wal", path);
    unlink(b);
    snprintf(b, sizeof b, "%s-shm", path);
    unlink(b);
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
    double t0 = now_s(), t = t0;
    do {
        ssize_t w = in_place ? pwrite(fd, buf, sizeof buf, (off_t)(n % SLOTS) * 4096)
                             : write(fd, buf, sizeof buf);
        if (w != (ssize_t)sizeof buf || fdatasync(fd) != 0)
            break;
        n++;
        t = now_s();
    } while (t - t0 < secs);
    close(fd);
    unlink(path);
    return (double)n / (t - t0);
}

struct arg {
    ob_log *lg;
    int id;
    atomic_bool *stop;
    long count;
};

static void *writer(void *p)
{
    struct arg *a = p;
    char pat[32];
    long i = 0;
    while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
        snprintf(pat, sizeof pat, "pat-%ld", (a->id * 7919L + i) % 100000);
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
        ob_err err = {0};
        if (ob_log_append(a->lg, &e, 1, NULL, NULL, NULL, &err) != OB_OK) {
            fprintf(stderr, "append: %s\n", err.msg);
            exit(1);
        }
        i++;
    }
    a->count = i;
    return NULL;
}

static int run(const char *dir, int threads, double secs, const ob_log_config *cfg)
{
    char path[600];
    snprintf(path, sizeof path, "%s/bench-log-%ld-%d.db", dir, (long)getpid(), threads);
    rm_db(path);
    ob_log *lg;
    ob_err e = {0};
    if (ob_log_open(path, cfg, &lg, &e) != OB_OK) {
        fprintf(stderr, "open: %s\n", e.msg);
        return 1;
    }
    atomic_bool stop = false;
    struct arg *a = calloc((size_t)threads, sizeof *a);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        a[i] = (struct arg){.lg = lg, .id = i, .stop = &stop};
        pthread_create(&th[i], NULL, writer, &a[i]);
    }
    struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += a[i].count;
    }
    double dt = now_s() - t0;
    ob_log_stats s;
    ob_log_get_stats(lg, &s);
    if (ob_log_close(lg, &e) != OB_OK) {
        fprintf(stderr, "close: %s\n", e.msg);
        return 1;
    }
    ob_log_verify_report r;
    double v0 = now_s();
    ob_status vs = ob_log_verify(path, cfg->pk, &r, &e);
    double vt = now_s() - v0;
    printf("%8d %14.0f %12.0f %10.1f %10llu %12s %9.0f\n", threads, (double)total / dt,
           (double)s.commits / dt, s.commits ? (double)s.appended / (double)s.commits : 0.0,
           (unsigned long long)s.max_batch, vs == OB_OK ? "ok" : "FAILED", (double)r.entries / vt);
    rm_db(path);
    free(a);
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
    double raw_append = fdatasync_rate(dir, secs, 0), raw_inplace = fdatasync_rate(dir, secs, 1);
    printf("dir %s, %.1f s per run, %ld CPUs\n", dir, secs, sysconf(_SC_NPROCESSORS_ONLN));
    printf("raw 4 KiB write+fdatasync: append %.0f /s, in place %.0f /s\n\n", raw_append,
           raw_inplace);
    printf("%8s %14s %12s %10s %10s %12s %9s\n", "threads", "appends/s", "commits/s", "mean batch",
           "max batch", "verify", "verify/s");
    int rc = 0;
    if (argc > 3) {
        for (int i = 3; i < argc; i++)
            rc |= run(dir, (int)strtol(argv[i], NULL, 10), secs, &cfg);
    } else {
        int t[] = {1, 16, 64};
        for (size_t i = 0; i < 3; i++)
            rc |= run(dir, t[i], secs, &cfg);
    }
    return rc;
}
