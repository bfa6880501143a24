/* apt_store.c - the appointment search's read from the store, on SQLite and on PostgreSQL
 * in the same run (issue 18: "the appointment-search benchmark ... on PostgreSQL next to
 * SQLite"). What an appointment search asks of the store when its cache misses: all of one
 * patient's appointments, by start (ob_store_apt_each_patient), on a store that holds
 * PATIENTS patients with APTS appointments each. T threads read random patients for S
 * seconds; the backends alternate, ROUNDS times. Above the store (the decision, the log
 * entry, the JSON, HTTP) the work does not depend on the backend and is not measured here:
 * docs/performance.md says how this relates to the HTTP benchmark.
 *
 * usage: bench_apt_store PG_URI DIR [patients] [apts] [threads] [seconds] [rounds]
 * (bench/apt_store.sh starts a throwaway PostgreSQL and passes its URI). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ob_status count_apt(void *ctx, const ob_apt *a, ob_err *e)
{
    (void)e;
    (void)a;
    (*(int *)ctx)++;
    return OB_OK;
}

typedef struct job {
    ob_store *s;
    int patients, apts;
    int64_t until;
    unsigned seed;
    long reads, wrong;
    int64_t *lat;
    size_t nlat, cap;
} job;

static void *reader(void *p)
{
    job *j = p;
    char pat[32];
    while (now_ns() < j->until) {
        snprintf(pat, sizeof pat, "pt-%d", 1 + (int)(rand_r(&j->seed) % (unsigned)j->patients));
        int n = 0;
        ob_err e = {0};
        int64_t t = now_ns();
        if (ob_store_apt_each_patient(j->s, pat, count_apt, &n, &e) || n != j->apts)
            j->wrong++;
        if (j->nlat < j->cap)
            j->lat[j->nlat++] = now_ns() - t;
        j->reads++;
    }
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void fill(ob_store *s, int patients, int apts)
{
    ob_err e = {0};
    char pat[32], val[48];
    if (ob_store_begin(s, &e)) {
        fprintf(stderr, "begin: %s\n", e.msg);
        exit(1);
    }
    for (int p = 1; p <= patients; p++)
        for (int k = 0; k < apts; k++) {
            snprintf(pat, sizeof pat, "pt-%d", p);
            snprintf(val, sizeof val, "%d-%d", p, k);
            ob_apt a = {.source = "bench",
                        .system = "urn:bench",
                        .value = val,
                        .patient = pat,
                        .start = 1700000000 + (ob_time)k * 86400,
                        .end = 1700003600 + (ob_time)k * 86400,
                        .shared = true,
                        .address = "Torvet 1, 6000 Kolding",
                        .clinic = "gp-1",
                        .status = "booked",
                        .updated = 1700000000};
            if (ob_store_apt_upsert(s, &a, NULL, &e)) {
                fprintf(stderr, "upsert: %s\n", e.msg);
                exit(1);
            }
        }
    if (ob_store_commit(s, &e)) {
        fprintf(stderr, "commit: %s\n", e.msg);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_apt_store PG_URI DIR [patients] [apts] [threads] [seconds] "
                        "[rounds]\n");
        return 2;
    }
    int patients = argc > 3 ? atoi(argv[3]) : 20000, apts = argc > 4 ? atoi(argv[4]) : 5;
    int threads = argc > 5 ? atoi(argv[5]) : 8, secs = argc > 6 ? atoi(argv[6]) : 5;
    int rounds = argc > 7 ? atoi(argv[7]) : 2;
    if (threads < 1 || threads > 256 || patients < 1 || apts < 1 || secs < 1 || rounds < 1)
        return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/apt.db", argv[2]);
    ob_store_remove(path);
    const char *where[2] = {path, argv[1]};
    ob_store *s[2];
    for (int b = 0; b < 2; b++) {
        ob_err e = {0};
        if (ob_store_open(where[b], &s[b], &e)) {
            fprintf(stderr, "open: %s\n", e.msg);
            return 1;
        }
        int64_t t = now_ns();
        fill(s[b], patients, apts);
        printf("%-10s filled: %d patients x %d appointments in %.1f s\n", ob_store_backend(s[b]),
               patients, apts, (now_ns() - t) / 1e9);
    }
    printf("backend    round  threads  reads/s   p50 us   p99 us   wrong\n");
    for (int r = 0; r < rounds; r++)
        for (int b = 0; b < 2; b++) {
            job js[256];
            pthread_t th[256];
            int64_t until = now_ns() + (int64_t)secs * 1000000000;
            for (int i = 0; i < threads; i++) {
                js[i] = (job){s[b], patients, apts, until, 7u * (unsigned)i + 1, 0, 0, NULL, 0, 0};
                js[i].cap = 1u << 20;
                js[i].lat = malloc(js[i].cap * sizeof(int64_t));
                pthread_create(&th[i], NULL, reader, &js[i]);
            }
            long reads = 0, wrong = 0;
            size_t nl = 0;
            for (int i = 0; i < threads; i++) {
                pthread_join(th[i], NULL);
                reads += js[i].reads;
                wrong += js[i].wrong;
                nl += js[i].nlat;
            }
            int64_t *all = malloc((nl + 1) * sizeof *all);
            size_t k = 0;
            for (int i = 0; i < threads; i++) {
                memcpy(all + k, js[i].lat, js[i].nlat * sizeof *all);
                k += js[i].nlat;
                free(js[i].lat);
            }
            qsort(all, nl, sizeof *all, cmp64);
            printf("%-10s %5d  %7d  %7.0f  %7.1f  %7.1f  %6ld\n", ob_store_backend(s[b]), r + 1,
                   threads, reads / (double)secs, nl ? all[nl / 2] / 1e3 : 0,
                   nl ? all[nl * 99 / 100] / 1e3 : 0, wrong);
            free(all);
            fflush(stdout);
        }
    ob_store_close(s[0]);
    ob_store_close(s[1]);
    ob_store_remove(path);
    return 0;
}
