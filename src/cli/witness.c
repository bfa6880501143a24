/* witness.c - what lets someone outside the database check the access log (R-LOG-4,
 * R-LOG-7): `overblik witness` keeps the newest checkpoint it has seen of a log in its
 * own state file, accepts a newer one only with a valid consistency proof, cosigns it
 * (c2sp.org/tlog-cosignature) and raises an alarm on a wipe, a rollback or a fork; and
 * the log subcommands that work from the published public keys alone: consistency,
 * checkpoint, keys, rotate-key. The formats are in docs/log.md. */
#include <curl/curl.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/logtrust.h"
#include "core/alloc.h"
#include "log/hash.h"
#include "store/log.h"
#include "store/sqlite/log_sqlite.h"

char *cli_read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = ob_malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf || n > max) {
        ob_free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

int cli_write_file(const char *path, const char *text, int mode)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    int bad = write(fd, text, n) != (ssize_t)n || fsync(fd) != 0;
    close(fd);
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

void cli_pub_path(const char *db, char *buf, size_t cap)
{
    size_t n = strlen(db);
    if (n > 3 && strcmp(db + n - 3, ".db") == 0)
        n -= 3;
    snprintf(buf, cap, "%.*s.log-pub", (int)n, db);
}

int cli_load_log_keys(const char *path, ob_note_key *keys, size_t cap, size_t *n, ob_err *e)
{
    char *text = cli_read_file(path, 64 * 1024);
    if (!text) {
        ob_err_set(e, OB_EIO, "cannot read the log's public key file %s", path);
        return -1;
    }
    ob_status s = ob_log_parse_keys(text, keys, cap, n, e);
    ob_free(text);
    return s == OB_OK ? 0 : -1;
}

int cli_publish_keys(const char *db, ob_err *e)
{
    char *text = NULL, path[4200];
    if (ob_log_public_keys(db, &text, e) != OB_OK)
        return -1;
    cli_pub_path(db, path, sizeof path);
    int rc = cli_write_file(path, text, 0644);
    ob_free(text);
    if (rc)
        ob_err_set(e, OB_EIO, "cannot write the public key file %s", path);
    return rc;
}

static void b64(const uint8_t *in, size_t n, char *out, size_t cap)
{
    sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_ORIGINAL);
}

int cli_log_consistency(const char *db, uint64_t m, uint64_t n)
{
    uint8_t proof[OB_MERKLE_MAX_CONSISTENCY][OB_LOG_HASH_LEN];
    size_t len = 0;
    ob_err e = {0};
    if (ob_log_consistency(db, m, n, proof, &len, &e))
        return fail("log consistency", &e);
    json_t *o = json_object(), *arr = json_array();
    for (size_t i = 0; i < len; i++) {
        char s[64];
        b64(proof[i], OB_LOG_HASH_LEN, s, sizeof s);
        json_array_append_new(arr, json_string(s));
    }
    json_object_set_new(o, "format", json_string("overblik-log-consistency-v1"));
    json_object_set_new(o, "from", json_integer((json_int_t)m));
    json_object_set_new(o, "to", json_integer((json_int_t)n));
    json_object_set_new(o, "proof", arr);
    char *notes[2] = {NULL, NULL};
    ob_log_note_at(db, m, &notes[0], NULL);
    ob_log_note_at(db, n, &notes[1], NULL);
    json_object_set_new(o, "from_checkpoint", notes[0] ? json_string(notes[0]) : json_null());
    json_object_set_new(o, "to_checkpoint", notes[1] ? json_string(notes[1]) : json_null());
    ob_free(notes[0]);
    ob_free(notes[1]);
    char *t = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    if (!t)
        return EXIT_STORAGE;
    puts(t);
    free(t);
    return 0;
}

int cli_log_rotate_key(const char *db, const char *keypath)
{
    ob_err e = {0};
    ob_keys k;
    if (ob_keys_load_for(&k, keypath, OB_KEYS_LOG, &e)) /* never the CPR keys */
        return fail("log rotate-key", &e);
    uint8_t pk[32], sk[64];
    crypto_sign_ed25519_keypair(pk, sk);
    /* the log lists the new key first, so a crash in between leaves the old key file
     * working (the old key stays listed forever: old checkpoints verify with it) */
    if (ob_log_add_key(db, pk, &e))
        return fail("log rotate-key", &e);
    memcpy(k.sign_pk, pk, 32);
    memcpy(k.sign_sk, sk, 64);
    sodium_memzero(sk, sizeof sk);
    ob_status st = ob_keys_save_for(&k, keypath, OB_KEYS_LOG, &e);
    sodium_memzero(&k, sizeof k);
    if (st)
        return fail("log rotate-key", &e);
    if (cli_publish_keys(db, &e))
        return fail("log rotate-key", &e);
    char path[4200];
    cli_pub_path(db, path, sizeof path);
    char cprp[4200], logp[4200];
    ob_keys_paths(keypath, cprp, logp, sizeof cprp);
    printf("new log signing key in %s; public keys (old and new) in %s; restart the server to"
           " sign with it\n",
           logp, path);
    return 0;
}

/* ------------------------------------------------------------------ the witness */

static int raise_alarm(const char *what, const char *detail)
{
    fprintf(stderr, "overblik witness: ALARM %s: %s\n", what, detail);
    printf("witness_alarm{kind=\"%s\"} 1\n", what);
    return EXIT_TAMPER;
}

static int witness_usage(int code)
{
    printf("usage: overblik witness init --key WFILE --name NAME\n"
           "       overblik witness update --state FILE --log-key PUBFILE --key WFILE\n"
           "                              --from DB|postgresql://...|URL [--store]\n"
           "init makes the witness's Ed25519 key (WFILE, 0600) and prints its verifier key.\n"
           "update reads the log's newest checkpoint from DB (a SQLite file, or a\n"
           "PostgreSQL URI; --db is the same as --from), or from a server's\n"
           "URL/log/checkpoint and URL/log/consistency, checks it against the one in\n"
           "FILE with a consistency proof, cosigns it (c2sp.org/tlog-cosignature) and keeps\n"
           "it in FILE; --store also gives the cosignature to the log, for patients' proofs.\n"
           "Exit 4 and an ALARM line on a wipe, rollback or fork (the state is unchanged).\n");
    return code;
}

struct wkey {
    char name[OB_NOTE_NAME_MAX + 1];
    uint8_t sk[64];
};

static int load_wkey(const char *path, struct wkey *w, ob_err *e)
{
    char *t = cli_read_file(path, 4096);
    json_t *j = t ? json_loads(t, JSON_REJECT_DUPLICATES, NULL) : NULL;
    ob_free(t);
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *sk = json_string_value(json_object_get(j, "sk"));
    int rc =
        name && sk && strlen(name) <= OB_NOTE_NAME_MAX && ob_log_unhex(sk, w->sk, 64) == 0 ? 0 : -1;
    if (!rc)
        snprintf(w->name, sizeof w->name, "%s", name);
    json_decref(j);
    if (rc)
        ob_err_set(e, OB_EIO, "cannot read the witness key %s", path);
    return rc;
}

static int witness_init(const opts *o)
{
    const char *path = opt(o, "key", NULL), *name = opt(o, "name", NULL);
    if (!path || !name)
        return witness_usage(EXIT_USAGE);
    struct stat st;
    if (stat(path, &st) == 0) {
        fprintf(stderr, "overblik witness init: %s exists\n", path);
        return EXIT_INPUT;
    }
    uint8_t pk[32], sk[64];
    crypto_sign_ed25519_keypair(pk, sk);
    ob_note_key k;
    ob_err e = {0};
    if (ob_note_key_make(&k, name, OB_NOTE_COSIG, pk, &e))
        return fail("witness init", &e);
    char hex[129], text[512], vkey[OB_NOTE_VKEY_MAX];
    ob_log_hex(sk, 64, hex);
    snprintf(text, sizeof text, "{\"name\": \"%s\", \"sk\": \"%s\"}\n", name, hex);
    sodium_memzero(sk, sizeof sk);
    int rc = cli_write_file(path, text, 0600);
    sodium_memzero(text, sizeof text);
    sodium_memzero(hex, sizeof hex);
    if (rc) {
        fprintf(stderr, "overblik witness init: cannot write %s\n", shown(path));
        return EXIT_STORAGE;
    }
    ob_note_vkey_format(&k, vkey);
    printf("%s\n", vkey);
    return 0;
}

/* Opens a checkpoint note with the log's keys: its size and root. */
static int open_cp(const char *note, const ob_note_key *keys, size_t nkeys, uint64_t *size,
                   uint8_t root[32], size_t *text_len, ob_err *e)
{
    ob_note_result r;
    char origin[OB_NOTE_NAME_MAX + 1];
    if (ob_note_open(note, strlen(note), keys, nkeys, &r, e) != OB_OK ||
        ob_checkpoint_parse(note, r.text_len, origin, size, root, e) != OB_OK)
        return -1;
    bool named = false;
    for (size_t i = 0; i < nkeys; i++)
        named |= r.verified[i] && strcmp(keys[i].name, origin) == 0;
    if (!named) {
        ob_err_set(e, OB_ETAMPER, "the checkpoint's origin is not the name of its signer");
        return -1;
    }
    *text_len = r.text_len;
    return 0;
}

/* ------------------------------------------------- the log's public face over HTTP */

struct body {
    char *buf;
    size_t len, cap;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct body *b = ctx;
    size_t k = size * n;
    if (k > b->cap - b->len)
        return 0; /* larger than anything the log publishes: stop */
    memcpy(b->buf + b->len, p, k);
    b->len += k;
    return k;
}

/* GET base+path: the body (NUL-terminated, ob_free) and *code the HTTP status, or NULL
 * with e set when the server could not be reached or answered garbage. http and https
 * only, no redirects, 20 s at most. */
static char *http_get(const char *base, const char *path, long *code, ob_err *e)
{
    static bool inited;
    if (!inited && curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        ob_err_set(e, OB_EIO, "cannot start the HTTP client");
        return NULL;
    }
    inited = true;
    char url[4400];
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    snprintf(url, sizeof url, "%.*s%s", (int)bl, base, path);
    struct body b = {ob_malloc(OB_NOTE_MAX * 4 + 1), 0, OB_NOTE_MAX * 4};
    CURL *c = curl_easy_init();
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (c && b.buf) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    }
    if (c)
        curl_easy_cleanup(c);
    if (rc != CURLE_OK || memchr(b.buf, '\0', b.len)) {
        ob_err_set(e, OB_EIO, "GET %s: %s", url,
                   rc != CURLE_OK ? curl_easy_strerror(rc) : "a NUL in the answer");
        ob_free(b.buf);
        return NULL;
    }
    b.buf[b.len] = '\0';
    return b.buf;
}

static bool is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* The log's newest checkpoint note from a database or a server: OB_ENOTFOUND when it
 * has none, OB_EIO when it cannot be asked. */
static ob_status latest_note(const char *from, char **note, ob_err *e)
{
    if (!is_url(from))
        return ob_alog_latest_note(from, note, e);
    long code = 0;
    *note = http_get(from, "/log/checkpoint", &code, e);
    if (!*note)
        return OB_EIO;
    if (code == 200)
        return OB_OK;
    ob_free(*note);
    *note = NULL;
    if (code == 404)
        return ob_err_set(e, OB_ENOTFOUND, "the log has no checkpoint");
    return ob_err_set(e, OB_EIO, "GET /log/checkpoint answered %ld", code);
}

/* A consistency proof from m to n, from a database or GET /log/consistency: OB_EIO
 * when the server cannot be asked; any other error means the log cannot prove it. */
static ob_status consistency(const char *from, uint64_t m, uint64_t n,
                             uint8_t proof[][OB_LOG_HASH_LEN], size_t *len, ob_err *e)
{
    if (!is_url(from))
        return ob_alog_consistency(from, m, n, proof, len, e);
    char path[96];
    snprintf(path, sizeof path, "/log/consistency?from=%llu&to=%llu", (unsigned long long)m,
             (unsigned long long)n);
    long code = 0;
    char *text = http_get(from, path, &code, e);
    if (!text)
        return OB_EIO;
    ob_status st = OB_OK;
    ob_log_consistency_proof p;
    if (code != 200)
        st = ob_err_set(e, code >= 500 ? OB_EIO : OB_ECONFLICT, "GET %s answered %ld", path, code);
    else if ((st = ob_log_consistency_from_json(text, &p, e)) == OB_OK) {
        if (p.from != m || p.to != n)
            st = ob_err_set(e, OB_ECONFLICT, "the server answered a proof for other sizes");
        memcpy(proof, p.proof, sizeof p.proof);
        *len = p.len;
        ob_log_consistency_free(&p);
    }
    ob_free(text);
    return st;
}

static int witness_update(const opts *o)
{
    /* the log is read where it is: a SQLite file, a PostgreSQL URI (through the same read
     * calls as the server's, store/log.h), or a server's public face. The state file is
     * always named: nothing is derived from a URI, which may hold a password. */
    const char *state = opt(o, "state", NULL), *logkey = opt(o, "log-key", NULL),
               *wkeyp = opt(o, "key", NULL), *db = opt(o, "from", NULL);
    if (!db)
        db = opt(o, "db", NULL);
    if (!state || !logkey || !wkeyp || !db)
        return witness_usage(EXIT_USAGE);
    ob_err e = {0};
    ob_note_key keys[OB_NOTE_MAX_SIGS];
    size_t nkeys = 0;
    struct wkey w;
    if (cli_load_log_keys(logkey, keys, OB_NOTE_MAX_SIGS, &nkeys, &e) || load_wkey(wkeyp, &w, &e))
        return fail("witness update", &e);
    char *old = cli_read_file(state, OB_NOTE_MAX * 2);
    uint64_t osize = 0, nsize = 0;
    uint8_t oroot[32], nroot[32];
    size_t otl = 0, ntl = 0;
    int rc = 0;
    char *latest = NULL;
    if (old && open_cp(old, keys, nkeys, &osize, oroot, &otl, &e)) {
        rc = fail("witness update: the state file", &e);
        goto out;
    }
    struct stat sb;
    if (is_url(db) && opt_flag(o, "store")) {
        fprintf(stderr, "overblik witness: --store needs --from DB (the server takes no"
                        " cosignatures over HTTP)\n");
        rc = EXIT_USAGE;
        goto out;
    }
    /* (on PostgreSQL a wiped log reads as none: OB_ENOTFOUND below) */
    if (!is_url(db) && !ob_store_where_is_pg(db) && stat(db, &sb) != 0) {
        rc = old ? raise_alarm("wipe", "the log's database is gone")
                 : (fprintf(stderr, "overblik witness: no database %s\n", shown(db)), EXIT_STORAGE);
        goto out;
    }
    ob_status st = latest_note(db, &latest, &e);
    if (st == OB_ENOTFOUND) {
        if (old) {
            char d[160];
            snprintf(d, sizeof d, "the log has no checkpoint, but this witness saw %llu entries",
                     (unsigned long long)osize);
            rc = raise_alarm("wipe", d);
        } else {
            printf("the log has no checkpoint yet\n");
        }
        goto out;
    }
    if (st) {
        rc = fail("witness update", &e);
        goto out;
    }
    if (open_cp(latest, keys, nkeys, &nsize, nroot, &ntl, &e)) {
        rc = raise_alarm("bad_signature", e.msg);
        goto out;
    }
    if (old) {
        char d[800];
        if (nsize < osize) {
            snprintf(d, sizeof d,
                     "the log's newest checkpoint has %llu entries, this witness saw"
                     " %llu (truncated, wiped or restored from an older copy)",
                     (unsigned long long)nsize, (unsigned long long)osize);
            rc = raise_alarm("rollback", d);
            goto out;
        }
        uint8_t proof[OB_MERKLE_MAX_CONSISTENCY][32];
        size_t len = 0;
        if (nsize > osize && osize > 0 &&
            (st = consistency(db, osize, nsize, proof, &len, &e)) != OB_OK) {
            if (st == OB_EIO) { /* the server is down: no verdict either way */
                rc = fail("witness update", &e);
                goto out;
            }
            snprintf(d, sizeof d, "no consistency proof from %llu to %llu: %s",
                     (unsigned long long)osize, (unsigned long long)nsize, e.msg);
            rc = raise_alarm("fork", d);
            goto out;
        }
        if (!ob_merkle_consistency_verify(osize, nsize, (const uint8_t(*)[32])proof, len, oroot,
                                          nroot)) {
            snprintf(d, sizeof d,
                     "the log's tree of %llu entries is not an extension of the %llu"
                     " this witness saw (a fork, or a log replaced by another)",
                     (unsigned long long)nsize, (unsigned long long)osize);
            rc = raise_alarm("fork", d);
            goto out;
        }
    }
    /* cosign: the log's note text plus its signature lines and ours */
    char line[OB_NOTE_LINE_MAX];
    if (ob_note_cosign(latest, ntl, w.name, w.sk, (uint64_t)time(NULL), line, &e)) {
        rc = fail("witness update", &e);
        goto out;
    }
    size_t ll = strlen(latest);
    char *out = ob_malloc(ll + strlen(line) + 1);
    if (!out) {
        rc = EXIT_STORAGE;
        goto out;
    }
    memcpy(out, latest, ll);
    memcpy(out + ll, line, strlen(line) + 1);
    if (cli_write_file(state, out, 0644)) {
        fprintf(stderr, "overblik witness: cannot write %s\n", shown(state));
        rc = EXIT_STORAGE;
    } else if (opt_flag(o, "store") && ob_alog_add_cosignature(db, nsize, latest, line, &e)) {
        rc = fail("witness update: storing the cosignature", &e);
    } else {
        printf("witnessed %llu entries (was %llu)\n", (unsigned long long)nsize,
               (unsigned long long)osize);
    }
    ob_free(out);
out:
    sodium_memzero(&w, sizeof w);
    ob_free(old);
    ob_free(latest);
    return rc;
}

static const char *const wflags[] = {"help", "store", NULL};
static const char *const wvalued[] = {"key", "name", "state", "log-key", "from", "db", NULL};

int cmd_witness(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0)
        return witness_usage(argc < 1 ? EXIT_USAGE : 0);
    opts o;
    if (opts_parse(&o, argc - 1, argv + 1, wflags, wvalued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help"))
        return witness_usage(0);
    if (sodium_init() < 0)
        return EXIT_STORAGE;
    if (strcmp(argv[0], "init") == 0)
        return witness_init(&o);
    if (strcmp(argv[0], "update") == 0)
        return witness_update(&o);
    return witness_usage(EXIT_USAGE);
}

/* ------------------------------------------- checks from the published keys alone */

int cli_check_public(const char *cons, const char *cpf, const char *from_note, const char *to_note,
                     const char *wvkey, const ob_note_key *keys, size_t nk)
{
    ob_err e = {0};
    ob_note_key all[OB_NOTE_MAX_SIGS];
    if (nk >= OB_NOTE_MAX_SIGS) {
        fprintf(stderr, "overblik log check: too many keys\n");
        return EXIT_INPUT;
    }
    memcpy(all, keys, nk * sizeof *keys);
    size_t na = nk;
    if (wvkey && ob_note_vkey_parse(wvkey, &all[na++], &e))
        return fail("log check --witness-key", &e);
    const char *path = cons ? cons : cpf;
    char *text = cli_read_file(path, 1u << 20);
    char *notes[2] = {NULL, NULL};
    const char *given[2] = {from_note, to_note};
    for (int i = 0; cons && i < 2; i++)
        if (given[i] && !(notes[i] = cli_read_file(given[i], OB_NOTE_MAX * 2))) {
            fprintf(stderr, "overblik log check: cannot read %s\n", shown(given[i]));
            ob_free(notes[0]);
            ob_free(text);
            return EXIT_INPUT;
        }
    if (!text) {
        fprintf(stderr, "overblik log check: cannot read %s\n", shown(path));
        return EXIT_INPUT;
    }
    ob_status st;
    if (cons) {
        ob_log_consistency_proof p;
        st = ob_log_consistency_from_json(text, &p, &e);
        if (!st)
            st = ob_log_consistency_check(&p, notes[0], notes[1], all, na, &e);
        if (!st)
            printf("consistency holds: the log of %llu extends the log of %llu\n",
                   (unsigned long long)p.to, (unsigned long long)p.from);
        ob_log_consistency_free(&p);
    } else {
        char origin[OB_NOTE_NAME_MAX + 1];
        uint64_t size = 0;
        uint8_t root[OB_LOG_HASH_LEN];
        ob_note_result r;
        st = ob_log_checkpoint_open(text, all, na, origin, &size, root, &r, &e);
        if (!st && wvkey && !r.verified[nk])
            st = ob_err_set(&e, OB_ETAMPER, "checkpoint: no cosignature by %s", all[nk].name);
        if (!st)
            printf("checkpoint holds: %s, %llu entries\n", origin, (unsigned long long)size);
    }
    ob_free(text);
    ob_free(notes[0]);
    ob_free(notes[1]);
    if (st) {
        printf("does NOT hold: %s\n", e.msg);
        return st == OB_ETAMPER ? EXIT_TAMPER : exit_code_for(st);
    }
    return 0;
}
