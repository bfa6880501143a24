/* backup.c - `overblik backup` and `overblik restore` (issue 23): an online, consistent
 * copy of a database while the server runs, checked before it is kept, and its restore,
 * checked before and after. The copying is SQLite's (store/sqlite/backup.h); this file adds the
 * checks (SQLite's integrity_check, then the access log's verification with its
 * published keys) and the file handling of the copy, which is never the live database:
 * written as OUT.partial, and given its name only once it verified. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/logtrust.h"
#include "core/secret.h"
#include "store/sqlite/backup.h"
#include "store/sqlite/log_sqlite.h"

static const char *const flags[] = {"help", "force", NULL};
static const char *const valued[] = {"db", "out", "from", "keys", "key", NULL};

/* The keys a copy is checked with, as `log verify` takes them: --key PUBFILE, else the
 * log's published keys beside the database (DB.log-pub: every key it was signed with),
 * else the public half of the key file's signing key (--keys, default DB.key). */
struct trust {
    ob_note_key keys[OB_NOTE_MAX_SIGS];
    size_t n;
    bool from_secret; /* only keys[0].pk is set: checked as `log verify` does then */
};

static int load_trust(const opts *o, const char *db, struct trust *t, ob_err *e)
{
    char pub[4200], keypath[4096];
    const char *kf = opt(o, "key", NULL);
    t->from_secret = false;
    cli_pub_path(db, pub, sizeof pub);
    if (kf || access(pub, R_OK) == 0)
        return cli_load_log_keys(kf ? kf : pub, t->keys, OB_NOTE_MAX_SIGS, &t->n, e);
    if (opt(o, "keys", NULL))
        snprintf(keypath, sizeof keypath, "%s", opt(o, "keys", NULL));
    else
        ob_hub_key_path(db, keypath, sizeof keypath);
    ob_keys k;
    if (ob_keys_load(&k, keypath, e))
        return -1;
    memset(&t->keys[0], 0, sizeof t->keys[0]);
    memcpy(t->keys[0].pk, k.sign_pk, sizeof t->keys[0].pk);
    sodium_memzero(&k, sizeof k);
    t->n = 1;
    t->from_secret = true;
    return 0;
}

/* integrity_check, then the log's hashes, checkpoints and signatures; prints what was
 * checked. Returns an exit code. */
static int check_copy(const char *cmd, const char *path, const char *shown_as,
                      const struct trust *t)
{
    ob_err e = {0};
    if (ob_store_check(path, &e))
        return fail(cmd, &e);
    ob_log_verify_report r;
    ob_log_trust lt = {t->keys, t->n, NULL};
    ob_status st = t->from_secret ? ob_log_verify(path, t->keys[0].pk, &r, &e)
                                  : ob_log_verify_trusted(path, &lt, &r, &e);
    if (st == OB_ETAMPER) {
        fprintf(stderr, "overblik %s: %s: log verification FAILED: %s at entry %llu: %s\n", cmd,
                shown_as, ob_log_fault_name(r.fault), (unsigned long long)r.bad_seq, r.detail);
        return EXIT_TAMPER;
    }
    if (st)
        return fail(cmd, &e);
    printf("%s: database intact, log verified: %llu entries (%llu..%llu), %llu signed "
           "checkpoints\n",
           shown_as, (unsigned long long)r.entries, (unsigned long long)r.first_seq,
           (unsigned long long)r.last_seq, (unsigned long long)r.checkpoints);
    return 0;
}

/* Makes a new name in dir durable (the rename or link that made it). */
static void sync_dir_of(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int cmd_backup(int argc, char **argv)
{
    opts o;
    if (opts_parse(&o, argc, argv, flags, valued) < 0)
        return EXIT_USAGE;
    const char *db = opt(&o, "db", DEFAULT_DB), *out = opt(&o, "out", NULL);
    if (opt_flag(&o, "help") || !out || o.npos) {
        FILE *f = opt_flag(&o, "help") ? stdout : stderr;
        fprintf(f, "usage: overblik backup --db FILE --out COPY [--key PUBFILE]\n"
                   "A consistent copy of the database, taken while the server runs (it is a\n"
                   "reader, like log show), into COPY, which must not exist. The copy is\n"
                   "checked before it gets its name: SQLite's integrity_check, then the access\n"
                   "log's hashes and signatures with its published keys (--key, default\n"
                   "FILE.log-pub, else the key file's). Back up the key files separately\n"
                   "(docs/operations.md).\n"
                   "Exit 0 when the copy is written and verified, 3 on I/O errors, 4 when it\n"
                   "does not verify (then no COPY is left).\n");
        return opt_flag(&o, "help") ? 0 : EXIT_USAGE;
    }
    char partial[4200];
    struct trust t;
    ob_err e = {0};
    if (load_trust(&o, db, &t, &e))
        return fail("backup", &e);
    struct stat sb;
    if (stat(out, &sb) == 0) {
        fprintf(stderr, "overblik backup: %s exists; a backup never overwrites a file\n", out);
        return EXIT_INPUT;
    }
    snprintf(partial, sizeof partial, "%s.partial", out);
    unlink(partial); /* what an interrupted backup left */
    umask(077);      /* the copy holds what the database holds */
    if (ob_store_backup(db, partial, &e)) {
        unlink(partial);
        return fail("backup", &e);
    }
    int rc = check_copy("backup", partial, out, &t);
    if (rc == 0 && link(partial, out) != 0) {
        fprintf(stderr, "overblik backup: cannot name the copy %s: %s\n", out, strerror(errno));
        rc = EXIT_STORAGE;
    }
    unlink(partial);
    if (rc == 0) {
        sync_dir_of(out);
        printf("backup written: %s\n", out);
    }
    return rc;
}

int cmd_restore(int argc, char **argv)
{
    opts o;
    if (opts_parse(&o, argc, argv, flags, valued) < 0)
        return EXIT_USAGE;
    const char *db = opt(&o, "db", NULL), *from = opt(&o, "from", NULL);
    if (opt_flag(&o, "help") || !db || !from || o.npos) {
        FILE *f = opt_flag(&o, "help") ? stdout : stderr;
        fprintf(f, "usage: overblik restore --from COPY --db FILE [--key PUBFILE] [--force]\n"
                   "Puts a backup (overblik backup) in place as the database FILE. COPY is\n"
                   "checked first (integrity_check, the log's hashes and signatures with its\n"
                   "published keys: --key, default FILE.log-pub, else the key file's), then\n"
                   "its content replaces FILE's through SQLite, then FILE\n"
                   "is checked again. An existing FILE is replaced only with --force, and never\n"
                   "while a server or another writing command has it open (stop it first).\n"
                   "Exit 0 when restored and verified, 1 when refused (nothing changed), 3 on\n"
                   "I/O errors, 4 when COPY does not verify (nothing changed).\n");
        return opt_flag(&o, "help") ? 0 : EXIT_USAGE;
    }
    struct trust t;
    ob_err e = {0};
    if (load_trust(&o, db, &t, &e))
        return fail("restore", &e);
    int rc = check_copy("restore", from, from, &t);
    umask(077); /* a database created here holds what the copy holds */
    if (rc)
        return rc;
    struct stat sb;
    int lock_fd = -1;
    if (stat(db, &sb) == 0) {
        if (!opt_flag(&o, "force")) {
            fprintf(stderr, "overblik restore: %s exists; add --force to replace it\n", db);
            return EXIT_INPUT;
        }
        if (ob_hub_lock_writer(db, &lock_fd, &e)) {
            if (lock_fd >= 0)
                close(lock_fd);
            return fail("restore", &e);
        }
    }
    ob_status st = ob_store_restore(from, db, &e);
    /* every SQLite connection to db is closed: now the lock's descriptor may go */
    if (lock_fd >= 0)
        close(lock_fd);
    if (st)
        return fail("restore", &e);
    if ((rc = check_copy("restore", db, db, &t)))
        return rc;
    printf("restored %s from %s\n", db, from);
    return 0;
}
