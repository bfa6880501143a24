/* log_pg_load.c - a load generator for the access log on PostgreSQL (store/pg/log_pg.h), for the
 * failover test (tests/e2e/pg_log_failover.sh) and by hand: one "server" appending from T
 * threads for S seconds, each entry acknowledged only after its COMMIT returned.
 *
 *   bench_log_pg_load append CONNINFO SECONDS THREADS TAG ACKFILE
 *       appends single entries (patient "TAG-<thread>-<n>"); every acknowledged one is a line
 *       "SEQ PATIENT" in ACKFILE; a failed append (the primary gone) is retried after 50 ms,
 *       and the next batch connects again (a multi-host URI with
 *       target_session_attrs=read-write finds the new primary); SIGTERM ends it early.
 *       Prints the number of
 *       acknowledged and failed appends and the longest time without an acknowledgement.
 *   bench_log_pg_load verify CONNINFO
 *       verifies the whole log (ob_pglog_verify), prints its size.
 *   bench_log_pg_load vkey
 *       prints the key's c2sp.org/signed-note verifier key (for `overblik log verify --key`).
 *
 * The log's key is fixed (derived from a constant seed): a test key, for this tool only. */
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/secret.h"
#include "log/note.h"
#include "store/pg/log_pg.h"

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

typedef struct shared {
    ob_pglog *lg;
    const char *tag;
    FILE *acks;
    pthread_mutex_t mu;
    int64_t end_ms, last_ack_ms, max_gap_ms;
    atomic_long acked, failed;
} shared;

typedef struct worker {
    shared *s;
    int id;
} worker;

static void *work(void *p)
{
    worker *w = p;
    shared *s = w->s;
    for (long n = 0; now_ms() < s->end_ms && !stopped; n++) {
        char pat[64];
        snprintf(pat, sizeof pat, "%s-%d-%ld", s->tag, w->id, n);
        ob_log_entry en = {.time = (ob_time)time(NULL),
                           .permit = true,
                           .actor_id = "pg-load",
                           .patient = pat,
                           .category = "measurement",
                           .purpose = "TREAT",
                           .rule = "R-ACC-1"};
        uint64_t seq;
        ob_err e = {0};
        if (ob_pglog_append(s->lg, &en, 1, &seq, &e) != OB_OK) {
            atomic_fetch_add(&s->failed, 1);
            struct timespec d = {0, 50 * 1000000};
            nanosleep(&d, NULL);
            continue;
        }
        atomic_fetch_add(&s->acked, 1);
        int64_t t = now_ms();
        pthread_mutex_lock(&s->mu);
        fprintf(s->acks, "%llu %s\n", (unsigned long long)seq, pat);
        if (s->last_ack_ms && t - s->last_ack_ms > s->max_gap_ms)
            s->max_gap_ms = t - s->last_ack_ms;
        s->last_ack_ms = t;
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

static void key(ob_pglog_config *c)
{
    uint8_t seed[32];
    crypto_generichash(seed, sizeof seed, (const uint8_t *)"overblik-pg-load-test-key", 25, NULL,
                       0);
    crypto_sign_ed25519_seed_keypair(c->pk, c->sk, seed);
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return 1;
    ob_pglog_config cfg = {0};
    key(&cfg);
    ob_err e = {0};
    /* an overblik key instead of the fixed test key, and the log's segment and partition
     * sizes (tests/e2e/pg_log.sh: `overblik log expire` signs its marker with that key) */
    const char *kb = getenv("OB_PG_LOAD_KEYS"), *ev = getenv("OB_PG_LOAD_EVERY"),
               *pv = getenv("OB_PG_LOAD_PARTS");
    if (kb) {
        ob_keys k;
        if (ob_keys_load_for(&k, kb, OB_KEYS_LOG, &e)) {
            fprintf(stderr, "keys: %s\n", e.msg);
            return 2;
        }
        memcpy(cfg.sk, k.sign_sk, sizeof cfg.sk);
        memcpy(cfg.pk, k.sign_pk, sizeof cfg.pk);
    }
    if (ev)
        cfg.checkpoint_every = (uint32_t)strtoul(ev, NULL, 10);
    if (pv)
        cfg.partition_segments = (uint32_t)strtoul(pv, NULL, 10);
    if (argc == 2 && strcmp(argv[1], "vkey") == 0) {
        /* named as the log names its key in its signed notes (its origin), so that a note
         * or a proof's checkpoint checks against this vkey, as against an overblik log's
         * DB.log-pub */
        ob_note_key k;
        char vk[OB_NOTE_VKEY_MAX], name[OB_NOTE_NAME_MAX + 1];
        ob_log_origin(cfg.pk, name);
        if (ob_note_key_make(&k, name, OB_NOTE_ED25519, cfg.pk, &e))
            return 1;
        ob_note_vkey_format(&k, vk);
        printf("%s\n", vk);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "verify") == 0) {
        ob_pglog_report r;
        if (ob_pglog_verify(argv[2], cfg.pk, 0, &r, &e)) {
            fprintf(stderr, "verify: %s\n", e.msg);
            return 4;
        }
        printf("verified: %llu entries, %llu checkpoints\n", (unsigned long long)r.entries,
               (unsigned long long)r.checkpoints);
        return 0;
    }
    if (argc != 7 || strcmp(argv[1], "append") != 0) {
        fprintf(stderr, "usage: bench_log_pg_load append CONNINFO SECONDS THREADS TAG ACKFILE\n"
                        "       bench_log_pg_load verify CONNINFO\n"
                        "       bench_log_pg_load vkey\n");
        return 2;
    }
    shared s = {.tag = argv[5]};
    int threads = atoi(argv[4]);
    if (threads < 1 || threads > 64)
        return 2;
    if (!(s.acks = fopen(argv[6], "w"))) {
        perror(argv[6]);
        return 1;
    }
    if (ob_pglog_open(argv[2], &cfg, &s.lg, &e)) {
        fprintf(stderr, "open: %s\n", e.msg);
        return 1;
    }
    pthread_mutex_init(&s.mu, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    s.end_ms = now_ms() + (int64_t)(atof(argv[3]) * 1000);
    pthread_t t[64];
    worker w[64];
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){&s, i};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    ob_pglog_close(s.lg);
    fclose(s.acks);
    printf("acknowledged %ld failed %ld longest-gap-ms %lld\n", atomic_load(&s.acked),
           atomic_load(&s.failed), (long long)s.max_gap_ms);
    return 0;
}
