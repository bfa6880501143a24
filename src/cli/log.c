/* log.c - `overblik log show|assistants|verify|prove|check|expire`: the patient's view
 * of who accessed what (R-LOG-3), a professional's view of what assistants did on their
 * behalf (R-LOG-6), and the tamper evidence (R-LOG-4, R-LOG-5). */
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/logtrust.h"
#include "core/alloc.h"
#include "core/secret.h"
#include "model/model.h"
#include "store/pg/log_pg.h"
#include "store/store.h"
#include "store/log.h"
#include "store/sqlite/log_sqlite.h"

struct show_ctx {
    bool json;
    size_t n;
};

static ob_status show_one(void *ctx, const ob_log_record *r, ob_err *e)
{
    (void)e;
    struct show_ctx *c = ctx;
    const ob_log_entry *le = &r->entry;
    char ts[32];
    ob_time_format(le->time, ts);
    c->n++;
    if (c->json) {
        json_t *o = json_pack(
            "{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:s,s:s,s:s}", "seq",
            (json_int_t)r->seq, "time", ts, "event", ob_log_event_name((ob_log_event)le->event),
            "actor", le->actor_id ? le->actor_id : "", "actor_name",
            le->actor_name ? le->actor_name : "", "role", le->actor_role ? le->actor_role : "",
            "org", le->actor_org_name ? le->actor_org_name : "", "capacity",
            ob_capacity_name((ob_capacity)le->capacity), "on_behalf_of",
            le->on_behalf_of ? le->on_behalf_of : "", "category", le->category ? le->category : "",
            "purpose", le->purpose ? le->purpose : "", "decision", le->permit ? "permit" : "deny",
            "rule", le->rule ? le->rule : "", "override", le->override, "reason",
            le->reason ? le->reason : "", "justification",
            le->justification ? le->justification : "",
            /* which patient and what: internal ids and FHIR paths, never a CPR number */
            "patient", le->patient ? le->patient : "", "resource", le->resource ? le->resource : "",
            "actor_org", le->actor_org ? le->actor_org : "");
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (t)
            puts(t);
        free(t);
        json_decref(o);
        return OB_OK;
    }
    /* names and places in columns of characters, not bytes: a cut inside "ø" would be
     * text that is not UTF-8, and every row after it out of line */
    printf("%s  #%-6llu %s%-17s ", ts, (unsigned long long)r->seq, le->override ? "!! " : "",
           ob_log_event_name((ob_log_event)le->event));
    cli_col(stdout,
            le->actor_name && *le->actor_name ? le->actor_name : (le->actor_id ? le->actor_id : ""),
            22);
    putchar(' ');
    cli_col(stdout, le->actor_role, 16);
    putchar(' ');
    cli_col(stdout, le->actor_org_name, 28);
    printf(" %-17s %-8s %-6s %s\n", le->category ? le->category : "",
           le->purpose ? le->purpose : "", le->permit ? "permit" : "deny",
           le->rule ? le->rule : "");
    if (le->override)
        printf("    !! block overridden; reason given: %s\n",
               le->justification ? le->justification : "");
    if (le->on_behalf_of && *le->on_behalf_of)
        printf("    as technical assistant on behalf of %s\n", le->on_behalf_of);
    return OB_OK;
}

static const char *const flags[] = {"help", "json", "checkpoint-now", NULL};
static const char *const valued[] = {"db",
                                     "keys",
                                     "patient",
                                     "actor",
                                     "professional",
                                     "seq",
                                     "limit",
                                     "before",
                                     "keep-days",
                                     "proof",
                                     "key",
                                     "witness",
                                     "from",
                                     "to",
                                     "consistency",
                                     "checkpoint",
                                     "witness-key",
                                     "from-note",
                                     "to-note",
                                     "checkpoint-every",
                                     "save-head",
                                     "expect-head",
                                     "partition-segments",
                                     NULL};

/* The keys a check trusts: --key FILE, else the published <db>.log-pub, else the public
 * half of the secret key file (an operator's shortcut). Only the public keys are ever
 * needed (R-LOG-8). */
static int trusted_keys(const opts *o, const char *db, const char *keypath, ob_note_key *keys,
                        size_t *n, bool *from_secret, ob_err *e)
{
    char pub[4200];
    const char *kf = opt(o, "key", NULL);
    cli_pub_path(db, pub, sizeof pub);
    *from_secret = false;
    if (kf || access(pub, R_OK) == 0)
        return cli_load_log_keys(kf ? kf : pub, keys, OB_NOTE_MAX_SIGS, n, e);
    ob_keys k;
    if (ob_keys_load_for(&k, keypath, OB_KEYS_LOG, e)) /* never the CPR keys */
        return -1;
    memset(&keys[0], 0, sizeof keys[0]);
    memcpy(keys[0].pk, k.sign_pk, 32);
    sodium_memzero(&k, sizeof k);
    *n = 1;
    *from_secret = true;
    return 0;
}

/* OB_OK when note (a v2 proof's checkpoint) carries a valid cosignature by the witness
 * whose verifier key is vkey. */
static ob_status cosigned_by(const char *note, const char *vkey, const ob_note_key *keys, size_t nk,
                             ob_err *e)
{
    ob_note_key all[OB_NOTE_MAX_SIGS];
    memcpy(all, keys, nk * sizeof *keys);
    ob_status s = ob_note_vkey_parse(vkey, &all[nk], e);
    if (s != OB_OK)
        return s;
    char origin[OB_NOTE_NAME_MAX + 1];
    uint64_t size;
    uint8_t root[OB_LOG_HASH_LEN];
    ob_note_result r;
    if (!note)
        return ob_err_set(e, OB_ETAMPER, "proof: no checkpoint note to be cosigned");
    s = ob_log_checkpoint_open(note, all, nk + 1, origin, &size, root, &r, e);
    if (s == OB_OK && !r.verified[nk])
        s = ob_err_set(e, OB_ETAMPER, "proof: the checkpoint has no cosignature by %s",
                       all[nk].name);
    return s;
}

static int usage(int code)
{
    printf(
        "usage: overblik log show --patient ID [--actor ID] [--json] [--limit N]\n"
        "       overblik log show --actor ID [--json] [--limit N]  (what one person or\n"
        "                 system did: a professional's id, a client id, operator:NAME)\n"
        "       overblik log assistants --professional ID [--json]\n"
        "       overblik log verify [--key PUBFILE] [--witness STATEFILE]\n"
        "       overblik log verify --db postgresql://... --key PUBFILE [--checkpoint-every N]\n"
        "                 [--save-head FILE] [--expect-head FILE]\n"
        "                 (the log on PostgreSQL, issue 18: N as the servers cut it, 4096;\n"
        "                 --save-head writes the verified signed head to FILE, --expect-head\n"
        "                 fails (exit 4) unless the log extends the head saved in FILE: a\n"
        "                 restore that lost entries, or a log rewritten since)\n"
        "       overblik log prove --seq N [--checkpoint-now]   (prints a JSON proof)\n"
        "       overblik log prove --db postgresql://... --seq N (against the head's note)\n"
        "       overblik log expire --db postgresql://... --keys PATH [--checkpoint-every N]\n"
        "                 [--partition-segments P] [--keep-days N | --before DATE]\n"
        "       overblik log check --proof FILE [--key PUBFILE] (offline, public keys only)\n"
        "       overblik log check --consistency FILE [--from-note F --to-note F] [--key PUBFILE]\n"
        "       overblik log check --checkpoint NOTEFILE [--witness-key VKEY] [--key PUBFILE]\n"
        "       overblik log consistency --from N --to M        (RFC 9162 proof, JSON)\n"
        "       overblik log checkpoint                         (newest signed note)\n"
        "       overblik log keys                               (writes DB.log-pub)\n"
        "       overblik log rotate-key                         (new signing key)\n"
        "PUBFILE defaults to DB.log-pub (the log's public keys, c2sp.org/signed-note\n"
        "verifier keys); --witness FILE fails when the log does not extend the\n"
        "checkpoint a witness kept in FILE (overblik witness).\n"
        "       overblik log expire [--keep-days N | --before DATE]\n"
        "                 (retention, R-LOG-5: removes entries older than N days or DATE,\n"
        "                 in whole signed segments; default --keep-days 730, two years)\n"
        "Exit 4 when verify or check finds tampering.\n");
    return code;
}

/* A signed head of the log on PostgreSQL as --save-head writes it and --expect-head reads
 * it: text, "overblik-pg-head v1" then "size N", "time T", "chain HEX", "sig HEX" lines
 * (docs/operations.md). The signature makes it evidence: the log's key signed that head. */
static int head_write(const char *path, const ob_log_head *h)
{
    char chain[2 * OB_LOG_HASH_LEN + 1], sig[2 * OB_LOG_SIG_LEN + 1], text[512];
    ob_log_hex(h->chain, OB_LOG_HASH_LEN, chain);
    ob_log_hex(h->sig, OB_LOG_SIG_LEN, sig);
    snprintf(text, sizeof text, "overblik-pg-head v1\nsize %llu\ntime %lld\nchain %s\nsig %s\n",
             (unsigned long long)h->size, (long long)h->time, chain, sig);
    return cli_write_file(path, text, 0644);
}

static int head_read(const char *path, ob_log_head *h)
{
    char *text = cli_read_file(path, 4096);
    char chain[2 * OB_LOG_HASH_LEN + 1], sig[2 * OB_LOG_SIG_LEN + 1];
    unsigned long long size;
    long long t;
    memset(h, 0, sizeof *h);
    int n = text ? sscanf(text, "overblik-pg-head v1 size %llu time %lld chain %64s sig %128s",
                          &size, &t, chain, sig)
                 : 0;
    ob_free(text);
    size_t lc = 0, ls = 0;
    if (n != 4 ||
        sodium_hex2bin(h->chain, OB_LOG_HASH_LEN, chain, strlen(chain), NULL, &lc, NULL) ||
        sodium_hex2bin(h->sig, OB_LOG_SIG_LEN, sig, strlen(sig), NULL, &ls, NULL) ||
        lc != OB_LOG_HASH_LEN || ls != OB_LOG_SIG_LEN)
        return -1;
    h->size = size;
    h->time = (ob_time)t;
    return 0;
}

/* `log verify` of the log on PostgreSQL (store/pg/log_pg.h): the public key and the segment
 * size come from the operator, not from the database. The URI may hold a password: it is
 * never printed. */
static int verify_pg(const opts *o, const char *uri)
{
    const char *kf = opt(o, "key", NULL);
    if (!kf) {
        fprintf(stderr, "overblik log verify: a log on PostgreSQL needs --key PUBFILE (the "
                        "log's public key file)\n");
        return EXIT_USAGE;
    }
    ob_err e = {0};
    ob_note_key keys[OB_NOTE_MAX_SIGS];
    size_t nk = 0;
    if (cli_load_log_keys(kf, keys, OB_NOTE_MAX_SIGS, &nk, &e) || nk == 0)
        return fail("log verify", &e);
    char *end;
    unsigned long every = strtoul(opt(o, "checkpoint-every", "4096"), &end, 10);
    if (*end || every == 0 || every > (1ul << 24) || (every & (every - 1))) {
        fprintf(stderr, "overblik log verify: --checkpoint-every takes a power of two from 1 to "
                        "16777216 (the PostgreSQL log's segments are)\n");
        return EXIT_USAGE;
    }
    const char *expect = opt(o, "expect-head", NULL), *save = opt(o, "save-head", NULL);
    ob_log_head seen;
    if (expect && head_read(expect, &seen)) {
        fprintf(stderr, "overblik log verify: %s is not a head written by --save-head\n",
                shown(expect));
        return EXIT_USAGE;
    }
    ob_pglog_report r;
    ob_status st = OB_ETAMPER;
    for (size_t i = 0; i < nk && st == OB_ETAMPER; i++) /* any of the log's keys */
        st = ob_pglog_verify_extends(uri, keys[i].pk, (uint32_t)every, expect ? &seen : NULL, &r,
                                     &e);
    if (st == OB_ETAMPER) {
        printf("log verification FAILED: %s\n", e.msg);
        return EXIT_TAMPER;
    }
    if (st)
        return fail("log verify", &e);
    printf("log verified: %llu entries, %llu signed checkpoints (PostgreSQL)",
           (unsigned long long)r.entries, (unsigned long long)r.checkpoints);
    if (expect)
        printf(", extends the recorded head of %llu entries", (unsigned long long)seen.size);
    printf("\n");
    if (r.expired_through) { /* the signed cut-off, for the operator to hold against policy */
        char when[32];
        ob_time_format(r.expired_cutoff, when);
        printf("entries 1..%llu expired by retention, all older than %s (signed)\n",
               (unsigned long long)r.expired_through, when);
    }
    if (save && !r.head.size) {
        fprintf(stderr, "overblik log verify: the log is empty: no head to save\n");
        return EXIT_USAGE;
    }
    if (save && head_write(save, &r.head)) {
        fprintf(stderr, "overblik log verify: cannot write %s\n", shown(save));
        return EXIT_STORAGE;
    }
    return 0;
}

/* The cut-off of `log expire`: --before DATE, or --keep-days N (R-LOG-5: default two years,
 * as the national log). -1 (said why) on a usage error. */
static int expire_cutoff(const opts *o, ob_time *before)
{
    unsigned keep = 730;
    if (opt(o, "keep-days", NULL) && opt(o, "before", NULL)) {
        fprintf(stderr, "overblik log expire: give --keep-days or --before, not both\n");
        return -1;
    }
    if (opt(o, "keep-days", NULL) &&
        opt_uint("log expire", "--keep-days", opt(o, "keep-days", ""), 1, 36500, &keep) < 0)
        return -1;
    *before = ob_time_now() - (ob_time)keep * 86400;
    ob_err e = {0};
    if (opt(o, "before", NULL) && ob_time_parse(opt(o, "before", ""), before, &e)) {
        fprintf(stderr, "overblik log expire: --before: %s\n", shown(e.msg));
        return -1;
    }
    return 0;
}

/* `log expire` of the log on PostgreSQL: whole sealed partitions older than the cut-off are
 * dropped under the appenders' lock with a marker signed by the log's key, so the command
 * needs the signing key (--keys BASE, as `init` wrote it: never derived from the URI) and
 * the servers' segment and partition sizes (the log refuses others). */
static int expire_pg(const opts *o, const char *uri)
{
    const char *base = opt(o, "keys", NULL);
    if (!base) {
        fprintf(stderr, "overblik log expire: a log on PostgreSQL needs --keys PATH (the log's "
                        "signing key, e.g. /etc/overblik/overblik.key)\n");
        return EXIT_USAGE;
    }
    unsigned every = 4096, parts = 1024;
    if (opt_uint("log expire", "--checkpoint-every", opt(o, "checkpoint-every", "4096"), 1,
                 1u << 24, &every) < 0 ||
        opt_uint("log expire", "--partition-segments", opt(o, "partition-segments", "1024"), 1,
                 1u << 20, &parts) < 0)
        return EXIT_USAGE;
    ob_time before;
    if (expire_cutoff(o, &before))
        return EXIT_USAGE;
    ob_err e = {0};
    ob_keys keys;
    if (ob_keys_load_for(&keys, base, OB_KEYS_LOG, &e))
        return fail("log expire", &e);
    ob_pglog_config cfg = {.checkpoint_every = every, .partition_segments = parts};
    memcpy(cfg.sk, keys.sign_sk, sizeof cfg.sk);
    memcpy(cfg.pk, keys.sign_pk, sizeof cfg.pk);
    sodium_memzero(&keys, sizeof keys);
    ob_pglog *lg;
    ob_status st = ob_pglog_open(uri, &cfg, &lg, &e);
    sodium_memzero(cfg.sk, sizeof cfg.sk);
    if (st)
        return fail("log expire", &e);
    uint64_t removed = 0;
    st = ob_pglog_expire(lg, before, &removed, &e);
    ob_pglog_close(lg);
    if (st)
        return fail("log expire", &e);
    printf("expired %llu entries (PostgreSQL)\n", (unsigned long long)removed);
    return 0;
}

/* Prints a proof as JSON and frees it; the exit code. */
static int print_proof(ob_log_proof *p)
{
    char *t = ob_log_proof_to_json(p);
    if (t)
        puts(t);
    ob_free(t);
    ob_log_proof_free(p);
    return t ? 0 : EXIT_STORAGE;
}

/* `log prove` of the log on PostgreSQL: the whole-log proof (v2) of an entry against the
 * signed note of the head, from the database alone (no key: a proof is checked with the
 * public key, `log check`). */
static int prove_pg(const opts *o, const char *uri)
{
    uint64_t seq = strtoull(opt(o, "seq", "0"), NULL, 10);
    if (!seq) {
        fprintf(stderr, "overblik log prove: --seq N is required\n");
        return EXIT_USAGE;
    }
    ob_err e = {0};
    ob_log_proof p;
    memset(&p, 0, sizeof p);
    if (ob_pglog_prove_note(uri, seq, 0, &p, &e))
        return fail("log prove", &e);
    return print_proof(&p);
}

int cmd_log(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0)
        return usage(argc < 1 ? EXIT_USAGE : 0);
    opts o;
    if (opts_parse(&o, argc - 1, argv + 1, flags, valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help"))
        return usage(0);
    const char *db = opt(&o, "db", DEFAULT_DB);
    if (strcmp(argv[0], "verify") == 0 && ob_store_where_is_pg(db))
        return verify_pg(&o, db);
    if (strcmp(argv[0], "prove") == 0 && ob_store_where_is_pg(db))
        return prove_pg(&o, db);
    if (strcmp(argv[0], "expire") == 0 && ob_store_where_is_pg(db))
        return expire_pg(&o, db);
    if (opt(&o, "save-head", NULL) || opt(&o, "expect-head", NULL)) {
        fprintf(stderr,
                "overblik log %s: --save-head and --expect-head are for a log on "
                "PostgreSQL (on SQLite: --witness STATEFILE)\n",
                shown(argv[0]));
        return EXIT_USAGE;
    }
    /* the commands that read the database (check works offline, with the keys only) */
    static const char *const reads_db[] = {"show", "assistants", "verify", "prove", "expire", NULL};
    for (const char *const *r = reads_db; *r; r++)
        if (strcmp(argv[0], *r) == 0 && db_missing(&o, "log"))
            return EXIT_STORAGE;
    char keypath[4096];
    if (opt(&o, "keys", NULL))
        snprintf(keypath, sizeof keypath, "%s", opt(&o, "keys", NULL));
    else
        ob_hub_key_path(db, keypath, sizeof keypath);
    ob_err e = {0};
    const char *sub = argv[0];
    if (strcmp(sub, "show") == 0 || strcmp(sub, "assistants") == 0) {
        ob_log_query q;
        memset(&q, 0, sizeof q);
        if (strcmp(sub, "show") == 0) {
            q.patient = opt(&o, "patient", NULL);
            q.actor_id = opt(&o, "actor", NULL); /* what one person or system did */
        } else {
            q.on_behalf_of = opt(&o, "professional", NULL);
        }
        if (!q.patient && !q.on_behalf_of && !q.actor_id) {
            fprintf(stderr, "overblik log %s: %s is required\n", sub,
                    strcmp(sub, "show") == 0 ? "--patient or --actor" : "--professional");
            return EXIT_USAGE;
        }
        q.limit = (size_t)strtoull(opt(&o, "limit", "0"), NULL, 10);
        struct show_ctx c = {opt_flag(&o, "json"), 0};
        if (!c.json)
            printf("%-20s  %-7s %-17s %-22s %-16s %-28s %-17s %-8s %-6s %s\n", "time", "entry",
                   "event", "who", "role", "from", "what", "purpose", "result", "rule");
        if (ob_alog_each(db, &q, show_one, &c, &e))
            return fail("log", &e);
        if (!c.json)
            printf("%zu entries\n", c.n);
        return 0;
    }
    if (strcmp(sub, "verify") == 0) {
        ob_note_key keys[OB_NOTE_MAX_SIGS];
        size_t nk = 0;
        bool sec = false;
        if (trusted_keys(&o, db, keypath, keys, &nk, &sec, &e))
            return fail("log verify", &e);
        char *wnote = NULL;
        if (opt(&o, "witness", NULL) &&
            !(wnote = cli_read_file(opt(&o, "witness", NULL), OB_NOTE_MAX * 2))) {
            fprintf(stderr, "overblik log verify: cannot read the witness file %s\n",
                    shown(opt(&o, "witness", NULL)));
            return EXIT_STORAGE;
        }
        ob_log_verify_report r;
        ob_status st;
        if (sec && !wnote) {
            st = ob_log_verify(db, keys[0].pk, &r, &e);
        } else if (sec) {
            ob_free(wnote);
            fprintf(stderr, "overblik log verify: --witness needs the log's public key file"
                            " (--key, or run 'overblik log keys')\n");
            return EXIT_USAGE;
        } else {
            ob_log_trust t = {keys, nk, wnote};
            st = ob_log_verify_trusted(db, &t, &r, &e);
        }
        ob_free(wnote);
        if (st == OB_ETAMPER) {
            printf("log verification FAILED: %s at entry %llu: %s\n", ob_log_fault_name(r.fault),
                   (unsigned long long)r.bad_seq, r.detail);
            return EXIT_TAMPER;
        }
        if (st)
            return fail("log verify", &e);
        printf("log verified: %llu entries (%llu..%llu), %llu signed checkpoints (%llu notes)",
               (unsigned long long)r.entries, (unsigned long long)r.first_seq,
               (unsigned long long)r.last_seq, (unsigned long long)r.checkpoints,
               (unsigned long long)r.notes);
        if (r.witness_size)
            printf(", extends the %llu entries the witness saw",
                   (unsigned long long)r.witness_size);
        if (r.expired_through)
            printf(", entries 1..%llu expired by retention", (unsigned long long)r.expired_through);
        if (r.indexed_through)
            printf("; search index complete through %llu", (unsigned long long)r.indexed_through);
        printf("\n");
        return 0;
    }
    if (strcmp(sub, "prove") == 0) {
        uint64_t seq = strtoull(opt(&o, "seq", "0"), NULL, 10);
        if (!seq) {
            fprintf(stderr, "overblik log prove: --seq N is required\n");
            return EXIT_USAGE;
        }
        if (opt_flag(&o, "checkpoint-now")) {
            ob_hub *h;
            int rc = open_hub(&o, true, &h);
            if (rc)
                return rc;
            ob_status st = ob_alog_checkpoint_now(h->log, &e);
            ob_hub_close(h);
            if (st)
                return fail("log prove", &e);
        }
        ob_log_proof p;
        memset(&p, 0, sizeof p);
        /* v2 (against the whole tree's signed note); v1 only for a log without notes */
        ob_status pst = ob_log_prove_note(db, seq, &p, &e);
        if (pst) {
            ob_err e1 = {0};
            if (ob_log_prove(db, seq, &p, &e1))
                return fail("log prove", &e);
        }
        return print_proof(&p);
    }
    if (strcmp(sub, "check") == 0) {
        const char *path = opt(&o, "proof", NULL);
        const char *cons = opt(&o, "consistency", NULL), *cpf = opt(&o, "checkpoint", NULL);
        if (!!path + !!cons + !!cpf != 1) {
            fprintf(stderr, "overblik log check: give one of --proof, --consistency or"
                            " --checkpoint FILE\n");
            return EXIT_USAGE;
        }
        ob_note_key keys[OB_NOTE_MAX_SIGS];
        size_t nk = 0;
        bool sec = false;
        if (trusted_keys(&o, db, keypath, keys, &nk, &sec, &e))
            return fail("log check", &e);
        if ((cons || cpf) && sec) {
            fprintf(stderr, "overblik log check: --consistency and --checkpoint need the"
                            " published key file (--key PUBFILE, or run 'overblik log keys')\n");
            return EXIT_USAGE;
        }
        if (cons || cpf)
            return cli_check_public(cons, cpf, opt(&o, "from-note", NULL), opt(&o, "to-note", NULL),
                                    opt(&o, "witness-key", NULL), keys, nk);
        /* the file's own text: re-serialising it would hide a repeated key */
        char *text = cli_read_file(path, 16u << 20);
        if (!text) {
            fprintf(stderr, "overblik log check: %s is not a JSON proof\n", shown(path));
            return EXIT_INPUT;
        }
        ob_log_proof p;
        ob_status st = ob_log_proof_from_json(text, &p, &e);
        ob_free(text);
        if (!st)
            st = sec ? ob_log_proof_check(&p, keys[0].pk, &e)
                     : ob_log_proof_check_keys(&p, keys, nk, &e);
        const char *wv = opt(&o, "witness-key", NULL);
        if (!st && wv && nk < OB_NOTE_MAX_SIGS) /* and cosigned by this witness */
            st = cosigned_by(p.note, wv, keys, nk, &e);
        ob_log_proof_free(&p);
        if (st) {
            printf("proof does NOT hold: %s\n", e.msg);
            return st == OB_ETAMPER ? EXIT_TAMPER : exit_code_for(st);
        }
        printf("proof holds: the entry is in the signed log\n");
        return 0;
    }
    if (strcmp(sub, "consistency") == 0) {
        uint64_t m = strtoull(opt(&o, "from", "0"), NULL, 10);
        uint64_t n = strtoull(opt(&o, "to", "0"), NULL, 10);
        if (!m || !n) {
            fprintf(stderr, "overblik log consistency: --from N --to M are required\n");
            return EXIT_USAGE;
        }
        return cli_log_consistency(db, m, n);
    }
    if (strcmp(sub, "checkpoint") == 0) {
        char *note = NULL;
        if (ob_log_latest_note(db, &note, &e))
            return fail("log checkpoint", &e);
        fputs(note, stdout);
        ob_free(note);
        return 0;
    }
    if (strcmp(sub, "keys") == 0) {
        char *text = NULL;
        if (ob_log_public_keys(db, &text, &e) || cli_publish_keys(db, &e)) {
            ob_free(text);
            return fail("log keys", &e);
        }
        fputs(text, stdout);
        ob_free(text);
        return 0;
    }
    if (strcmp(sub, "rotate-key") == 0)
        return cli_log_rotate_key(db, keypath);
    if (strcmp(sub, "expire") == 0) {
        ob_time before;
        if (expire_cutoff(&o, &before))
            return EXIT_USAGE;
        uint64_t removed = 0;
        if (ob_log_expire(db, before, &removed, &e))
            return fail("log expire", &e);
        printf("expired %llu entries\n", (unsigned long long)removed);
        return 0;
    }
    return usage(EXIT_USAGE);
}
