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
 * layout in the server removes it (docs/performance.md, HTTP).
 *
 * Usage: bench_disk_sync DIR [COUNT=3000] [SIZE_KIB=16] [HOGS...=0 1 2]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

static void *spin(void *arg)
{
    volatile uint64_t *x = arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        (*x)++;
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One round: COUNT write+fdatasync pairs with `hogs` spinning threads beside them. */
static int round_with(int fd, char *buf, size_t size, int count, int hogs, int64_t *lat)
{
    pthread_t th[64];
    uint64_t sink[64] = {0};
    atomic_store(&stop, false);
    int started = 0;
    for (; started < hogs && started < 64; started++)
        if (pthread_create(&th[started], NULL, spin, &sink[started]) != 0)
            break;
    const off_t span = 64 << 20; /* in place, as a WAL reused from its start */
    off_t off = 0;
    int rc = 0;
    for (int i = 0; i < count; i++) {
        int64_t t0 = now_ns();
        if (pwrite(fd, buf, size, off) != (ssize_t)size || fdatasync(fd) != 0) {
            fprintf(stderr, "bench_disk_sync: write or sync failed: %s\n", strerror(errno));
            rc = -1;
            break;
        }
        lat[i] = now_ns() - t0;
        off = (off_t)(off + (off_t)size) % (span - (off_t)size);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_disk_sync DIR [COUNT=3000] [SIZE_KIB=16] [HOGS...]\n");
        return 2;
    }
    int count = argc > 2 ? atoi(argv[2]) : 3000;
    size_t size = (size_t)(argc > 3 ? atoi(argv[3]) : 16) * 1024;
    if (count < 100 || size == 0 || size > (16u << 20)) {
        fprintf(stderr, "bench_disk_sync: COUNT >= 100, 0 < SIZE_KIB <= 16384\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/disk_sync.tmp", argv[1]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "bench_disk_sync: %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *buf = malloc(size);
    int64_t *lat = malloc((size_t)count * sizeof *lat);
    int rc = buf && lat ? 0 : 1;
    if (rc == 0) {
        memset(buf, 0x5a, size);
        /* allocate the file first: syncs of a growing file also write its inode */
        if (ftruncate(fd, 64 << 20) != 0 || fsync(fd) != 0)
            rc = 1;
    }
    int default_hogs[] = {0, 1, 2};
    int nrounds = argc > 4 ? argc - 4 : 3;
    printf("write+fdatasync of %zu KiB in place, %d per round, %ld CPUs online\n", size / 1024,
           count, sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-14s %9s %9s %9s %9s %9s %8s\n", "spinning", "avg", "p50", "p99", "p99.9", "max",
           ">3 ms");
    for (int r = 0; r < nrounds && rc == 0; r++) {
        int hogs = argc > 4 ? atoi(argv[4 + r]) : default_hogs[r];
        if (round_with(fd, buf, size, count, hogs, lat) != 0) {
            rc = 1;
            break;
        }
        int64_t sum = 0;
        int over = 0;
        for (int i = 0; i < count; i++) {
            sum += lat[i];
            over += lat[i] > 3000000;
        }
        qsort(lat, (size_t)count, sizeof *lat, cmp_i64);
        printf("%-2d thread(s)   %6.0f us %6.0f us %6.0f us %6.0f us %6.1f ms %7.2f%%\n", hogs,
               (double)sum / count / 1e3, (double)lat[count / 2] / 1e3,
               (double)lat[count * 99 / 100] / 1e3, (double)lat[count * 999 / 1000] / 1e3,
               (double)lat[count - 1] / 1e6, 100.0 * over / count);
    }
    close(fd);
    unlink(path);
    free(buf);
    free(lat);
    return rc;
}
