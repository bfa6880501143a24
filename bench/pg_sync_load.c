/* pg_sync_load.c - a load generator for changes shared across servers (store/pg/pg_sync.h), for
 * the failover test (tests/e2e/pg_failover.sh) and by hand: one "server" that writes changes
 * from one thread and answers reads from another, for S seconds or until SIGTERM.
 *
 *   bench_pg_sync_load CONNINFO SECONDS ID ACKFILE
 *       ID names the server (its lease). Each change "set" of key ID to n; every acknowledged
 *       one is a line "SEQ ID n" in ACKFILE. A failed change (the primary gone) is retried
 *       after 50 ms with the next n. Meanwhile a reader checks, every millisecond, that this
 *       server answers only while its lease holds and, when it answers, that it has applied
 *       every change it acknowledged itself. Prints the number of changes acknowledged and
 *       failed, reads answered and refused, stale answers (must be 0), and the longest time
 *       without an acknowledgement. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg/pg_sync.h"

static volatile sig_atomic_t stopped;
static void on_term(int sig)
{
    (void)sig;
    stopped = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct state {
    const char *id;
    ob_pgsync *s;
    pthread_mutex_t mu;
    long long mine;     /* the value of this server's key as applied here */
    atomic_llong acked; /* the last value this server acknowledged */
    atomic_bool done;
    atomic_long resets; /* the order diverged after a failover: applied again from the first */
    long answered, refused, stale;
} state;

static ob_status apply(void *ctx, int64_t seq, const char *type, const char *json, ob_err *e)
{
    (void)seq;
    (void)e;
    state *st = ctx;
    char key[64];
    long long v;
    if (strcmp(type, "set") == 0 && sscanf(json, "%63[^=]=%lld", key, &v) == 2 &&
        strcmp(key, st->id) == 0) {
        pthread_mutex_lock(&st->mu);
        st->mine = v;
        pthread_mutex_unlock(&st->mu);
    }
    return OB_OK;
}

/* A failover lost changes applied here (pg_sync.h): forget them; all come again. */
static ob_status reset(void *ctx, ob_err *e)
{
    (void)e;
    state *st = ctx;
    pthread_mutex_lock(&st->mu);
    st->mine = 0;
    pthread_mutex_unlock(&st->mu);
    atomic_fetch_add(&st->resets, 1);
    return OB_OK;
}

static void *reader(void *p)
{
    state *st = p;
    while (!atomic_load(&st->done)) {
        long long want = atomic_load(&st->acked); /* acknowledged before this read starts */
        if (!ob_pgsync_current(st->s)) {
            st->refused++;
        } else {
            pthread_mutex_lock(&st->mu);
            long long v = st->mine;
            pthread_mutex_unlock(&st->mu);
            st->answered++;
            if (v < want)
                st->stale++;
        }
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_pg_sync_load CONNINFO SECONDS ID ACKFILE\n");
        return 2;
    }
    static state st = {.mu = PTHREAD_MUTEX_INITIALIZER};
    st.id = argv[3];
    FILE *acks = fopen(argv[4], "w");
    if (!acks) {
        perror(argv[4]);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    ob_pgsync_config cfg = {st.id, 2000, 250, false, NULL, reset, NULL};
    ob_err e = {0};
    if (ob_pgsync_open(argv[1], &cfg, apply, &st, &st.s, &e)) {
        fprintf(stderr, "open: %s\n", e.msg);
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, reader, &st);
    int64_t end = now_ms() + (int64_t)(atof(argv[2]) * 1000), last = 0, gap = 0;
    long ok = 0, failed = 0;
    for (long long n = 1; now_ms() < end && !stopped; n++) {
        char json[96];
        snprintf(json, sizeof json, "%s=%lld", st.id, n);
        int64_t seq;
        if (ob_pgsync_change(st.s, "set", json, &seq, &e)) {
            failed++;
            struct timespec d = {0, 50 * 1000000};
            nanosleep(&d, NULL);
            continue;
        }
        atomic_store(&st.acked, n);
        int64_t t1 = now_ms();
        if (last && t1 - last > gap)
            gap = t1 - last;
        last = t1;
        ok++;
        fprintf(acks, "%lld %s %lld\n", (long long)seq, st.id, n);
        fflush(acks);
    }
    atomic_store(&st.done, true);
    pthread_join(t, NULL);
    ob_pgsync_close(st.s);
    fclose(acks);
    printf("changes acknowledged %ld failed %ld; reads answered %ld refused %ld stale %ld; "
           "longest-gap-ms %lld; order diverged and applied again %ld times\n",
           ok, failed, st.answered, st.refused, st.stale, (long long)gap,
           (long)atomic_load(&st.resets));
    return st.stale ? 5 : 0;
}
