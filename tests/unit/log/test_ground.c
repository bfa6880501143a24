/* test_ground.c - the log and the files under it (issue 23): a background WAL checkpoint
 * keeps SQLite's locks (another process's open and close of the database must not delete
 * the live WAL), and a database, WAL or -shm removed or replaced under an open log stops
 * every append with an error that says which (ob_log_ground). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "unit/log/util.h"

static void append_n(ob_log *lg, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        char buf[32];
        ob_log_entry en = tl_entry(i, buf, sizeof buf);
        ob_err e = {0};
        uint64_t seq;
        if (ob_log_append(lg, &en, 1, NULL, NULL, &seq, &e) != OB_OK)
            fail_msg("append %d: %s", i, e.msg);
    }
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Another process opens the database, reads, closes: what sqlite3, a backup or log
 * expire does. POSIX locks are per process, and a forked child would share SQLite's
 * record of the parent's locks, so it is this binary again, run fresh (see main). */
static int child_read(const char *path)
{
    sqlite3 *db = NULL;
    int ok = sqlite3_open(path, &db) == SQLITE_OK &&
             sqlite3_exec(db, "SELECT count(*) FROM log_entries", NULL, NULL, NULL) == SQLITE_OK;
    ok = sqlite3_close(db) == SQLITE_OK && ok;
    return ok ? 0 : 1;
}

static const char *self; /* argv[0] */

static void other_process_reads(const char *path)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(self, self, "--child-read", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_checkpoints_keep_the_locks(void **state)
{
    (void)state;
    char path[256], wal[300], shm[300];
    tl_path(path, sizeof path, "locks");
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    ob_log_config cfg;
    tl_keys(&cfg, 4096);
    cfg.wal_pages = 16; /* many background checkpoints */
    ob_log *lg = NULL;
    ob_err e = {0};
    assert_int_equal(ob_log_open(path, &cfg, &lg, &e), OB_OK);
    append_n(lg, 0, 150);
    struct timespec ms = {0, 200 * 1000 * 1000}; /* the checkpointer's last pass */
    nanosleep(&ms, NULL);
    other_process_reads(path);
    if (!exists(wal) || !exists(shm))
        fail_msg("another process's close deleted the live %s", exists(wal) ? "-shm" : "-wal");
    assert_int_equal(ob_log_ground(lg, &e), OB_OK);
    append_n(lg, 150, 10);
    assert_int_equal(ob_log_close(lg, &e), OB_OK);
    ob_log_verify_report r;
    assert_int_equal(ob_log_verify(path, cfg.pk, &r, &e), OB_OK);
    assert_int_equal(r.entries, 160);
    tl_rm(path);
}

/* Each way the ground can move, and the words the error must hold. */
static const struct {
    const char *name;
    int what; /* 0 rename the database away, 1 replace it, 2 remove the WAL, 3 the -shm */
    const char *says;
} moves[] = {
    {"database renamed away", 0, "the database is gone"},
    {"database replaced", 1, "the database was replaced by another file"},
    {"WAL removed", 2, "its WAL is gone"},
    {"-shm removed", 3, "its shared-memory file is gone"},
};

static void test_ground_moves(void **state)
{
    (void)state;
    for (size_t t = 0; t < sizeof moves / sizeof moves[0]; t++) {
        char path[256], side[300], other[300];
        tl_path(path, sizeof path, "ground");
        snprintf(other, sizeof other, "%s.other", path);
        ob_log_config cfg;
        tl_keys(&cfg, 4096);
        ob_log *lg = NULL;
        ob_err e = {0};
        assert_int_equal(ob_log_open(path, &cfg, &lg, &e), OB_OK);
        append_n(lg, 0, 5);
        assert_int_equal(ob_log_ground(lg, &e), OB_OK);
        switch (moves[t].what) {
        case 0:
            assert_int_equal(rename(path, other), 0);
            break;
        case 1:
            assert_int_equal(tl_exec(other, "CREATE TABLE x(y)"), SQLITE_OK);
            assert_int_equal(rename(other, path), 0);
            break;
        default:
            snprintf(side, sizeof side, "%s%s", path, moves[t].what == 2 ? "-wal" : "-shm");
            assert_int_equal(unlink(side), 0);
        }
        /* the next append fails, and says why; so does every later one (the writer
         * looks at the files when its last look is 2 ms old) */
        struct timespec ms = {0, 5 * 1000 * 1000};
        nanosleep(&ms, NULL);
        for (int k = 0; k < 2; k++) {
            char buf[32];
            ob_log_entry en = tl_entry(100 + k, buf, sizeof buf);
            uint64_t seq;
            memset(&e, 0, sizeof e);
            if (ob_log_append(lg, &en, 1, NULL, NULL, &seq, &e) != OB_EIO ||
                !strstr(e.msg, moves[t].says))
                fail_msg("%s: append %d got '%s'", moves[t].name, k, e.msg);
        }
        memset(&e, 0, sizeof e);
        assert_int_equal(ob_log_ground(lg, &e), OB_EIO);
        assert_non_null(strstr(e.msg, moves[t].says));
        ob_log_close(lg, NULL);
        tl_rm(path);
        tl_rm(other);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child-read") == 0)
        return child_read(argv[2]);
    self = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoints_keep_the_locks),
        cmocka_unit_test(test_ground_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
