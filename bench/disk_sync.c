/* disk_sync.c - how long a durable write takes on this machine's disk, and how that
 * changes when the CPUs are busy.
 *
 * Every answer of the HTTP server waits for one log commit, whose cost is one write and
 * one fdatasync of the WAL. This measures that floor without overblik: a loop of
 * pwrite(SIZE KiB, in place) + fdatasync on a file in DIR, first with the CPUs idle, then
 * with 1, 2, ... threads spinning beside it (plain CPU work, no I/O), and prints the
 * latency distribution of each round. On the 2-vCPU VM of 2026-11-30 (16 KiB): idle, no
 * sync over 3 ms and p99.9 0.3-0.8 ms; with one or two spinning threads 0.4-0.6% over 3 ms
 * and p99.9 17-18 ms. Two spinners in SCHED_IDLE, which the guest preempts at once for
 * the syncing thread, still gave 0.9% and 17 ms: the delay is outside the guest (the host
 * serves the virtual disk later while the vCPUs are busy), so no priority or thread
 * layout in the server removes it (docs/bench-http.md).
 *
 * --idle runs the spinners in SCHED_IDLE (that check). --pair runs two syncing threads
 * on two files at once and counts, for each slow sync (over 3 ms) of the first, whether
 * the second finished a whole sync meanwhile: if it did, a second commit path could go
 * around a stalled one; if not, the stall is shared and only fewer syncs or less CPU help.
 *
 * Usage: bench_disk_sync [--idle] [--pair] DIR [COUNT=3000] [SIZE_KIB=16] [HOGS...=0 1 2]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static atomic_bool stop;
static bool idle_hogs; /* --idle: spinners in SCHED_IDLE */

static void *spin(void *arg)
{
    volatile uint64_t *x = arg;
    if (idle_hogs) {
        struct sched_param sp = {0};
        if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
            fprintf(stderr, "bench_disk_sync: SCHED_IDLE refused\n");
    }
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        (*x)++;
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One syncing loop: COUNT pwrite+fdatasync pairs in place (as a WAL reused from its
 * start), each one's start and end time recorded. */
typedef struct syncer {
    int fd;
    char *buf;
    size_t size;
    int count;
    int64_t *t0, *t1;
    int rc;
} syncer;

static void *sync_loop(void *arg)
{
    syncer *sy = arg;
    const off_t span = 64 << 20;
    off_t off = 0;
    for (int i = 0; i < sy->count; i++) {
        sy->t0[i] = now_ns();
        if (pwrite(sy->fd, sy->buf, sy->size, off) != (ssize_t)sy->size || fdatasync(sy->fd) != 0) {
            fprintf(stderr, "bench_disk_sync: write or sync failed: %s\n", strerror(errno));
            sy->rc = -1;
            break;
        }
        sy->t1[i] = now_ns();
        off = (off_t)(off + (off_t)sy->size) % (span - (off_t)sy->size);
    }
    return NULL;
}

/* One round: the syncers (1 or 2, run at once) with `hogs` spinning threads beside them. */
static int round_with(syncer *sy, int nsy, int hogs)
{
    pthread_t th[64], st[2];
    uint64_t sink[64] = {0};
    atomic_store(&stop, false);
    int started = 0;
    for (; started < hogs && started < 64; started++)
        if (pthread_create(&th[started], NULL, spin, &sink[started]) != 0)
            break;
    int rc = 0, ns = 0;
    for (; ns < nsy; ns++)
        if (pthread_create(&st[ns], NULL, sync_loop, &sy[ns]) != 0) {
            rc = -1;
            break;
        }
    for (int i = 0; i < ns; i++) {
        pthread_join(st[i], NULL);
        rc = rc ? rc : sy[i].rc;
    }
    atomic_store(&stop, true);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    return rc;
}

/* --pair: of a's syncs over 3 ms (while b still ran), how many saw b finish a sync. */
static void pair_report(const syncer *a, const syncer *b)
{
    int64_t end = b->t1[b->count - 1];
    int slow = 0, around = 0;
    for (int i = 0, j = 0; i < a->count && a->t1[i] <= end; i++) {
        if (a->t1[i] - a->t0[i] <= 3000000)
            continue;
        slow++;
        while (j < b->count && b->t0[j] < a->t0[i])
            j++;
        if (j < b->count && b->t1[j] <= a->t1[i])
            around++;
    }
    printf("  pair: %d syncs of file 1 over 3 ms; during %d of them file 2 finished a sync\n", slow,
           around);
}

static int open_file(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "bench_disk_sync: %s: %s\n", path, strerror(errno));
        return -1;
    }
    unlink(path); /* gone when closed */
    /* allocate the file first: syncs of a growing file also write its inode */
    if (ftruncate(fd, 64 << 20) != 0 || fsync(fd) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    bool pair = false;
    while (argc > 1 && argv[1][0] == '-') {
        if (strcmp(argv[1], "--idle") == 0)
            idle_hogs = true;
        else if (strcmp(argv[1], "--pair") == 0)
            pair = true;
        else {
            fprintf(stderr, "bench_disk_sync: unknown option %s\n", argv[1]);
            return 2;
        }
        argv++;
        argc--;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: bench_disk_sync [--idle] [--pair] DIR [COUNT=3000] [SIZE_KIB=16] "
                        "[HOGS...]\n");
        return 2;
    }
    int count = argc > 2 ? atoi(argv[2]) : 3000;
    size_t size = (size_t)(argc > 3 ? atoi(argv[3]) : 16) * 1024;
    if (count < 100 || size == 0 || size > (16u << 20)) {
        fprintf(stderr, "bench_disk_sync: COUNT >= 100, 0 < SIZE_KIB <= 16384\n");
        return 2;
    }
    int nsy = pair ? 2 : 1;
    syncer sy[2] = {{.fd = -1}, {.fd = -1}};
    char *buf = malloc(size);
    int64_t *lat = malloc((size_t)count * sizeof *lat);
    int rc = buf && lat ? 0 : 1;
    if (rc == 0)
        memset(buf, 0x5a, size);
    for (int i = 0; i < nsy && rc == 0; i++) {
        sy[i] = (syncer){.buf = buf, .size = size, .count = count};
        sy[i].fd = open_file(argv[1], i ? "disk_sync2.tmp" : "disk_sync.tmp");
        sy[i].t0 = malloc((size_t)count * sizeof(int64_t));
        sy[i].t1 = malloc((size_t)count * sizeof(int64_t));
        if (sy[i].fd < 0 || !sy[i].t0 || !sy[i].t1)
            rc = 1;
    }
    int default_hogs[] = {0, 1, 2};
    int nrounds = argc > 4 ? argc - 4 : 3;
    printf("write+fdatasync of %zu KiB in place, %d per round%s%s, %ld CPUs online\n", size / 1024,
           count, pair ? " on each of two files at once" : "",
           idle_hogs ? ", spinners in SCHED_IDLE" : "", sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-14s %9s %9s %9s %9s %9s %8s\n", "spinning", "avg", "p50", "p99", "p99.9", "max",
           ">3 ms");
    for (int r = 0; r < nrounds && rc == 0; r++) {
        int hogs = argc > 4 ? atoi(argv[4 + r]) : default_hogs[r];
        if (round_with(sy, nsy, hogs) != 0) {
            rc = 1;
            break;
        }
        int64_t sum = 0;
        int over = 0;
        for (int i = 0; i < count; i++) {
            lat[i] = sy[0].t1[i] - sy[0].t0[i];
            sum += lat[i];
            over += lat[i] > 3000000;
        }
        qsort(lat, (size_t)count, sizeof *lat, cmp_i64);
        printf("%-2d thread(s)   %6.0f us %6.0f us %6.0f us %6.0f us %6.1f ms %7.2f%%\n", hogs,
               (double)sum / count / 1e3, (double)lat[count / 2] / 1e3,
               (double)lat[count * 99 / 100] / 1e3, (double)lat[count * 999 / 1000] / 1e3,
               (double)lat[count - 1] / 1e6, 100.0 * over / count);
        if (pair)
            pair_report(&sy[0], &sy[1]);
    }
    for (int i = 0; i < nsy; i++) {
        if (sy[i].fd >= 0)
            close(sy[i].fd);
        free(sy[i].t0);
        free(sy[i].t1);
    }
    free(buf);
    free(lat);
    return rc;
}
