/* both_backends.h - a fresh store on either backend, for the tests that run every scenario
 * on a SQLite file and on the throwaway PostgreSQL of pg_fixture.h (issue 18: "one test
 * suite, two backends"). Include after cmocka.h. */
#ifndef OB_TESTS_BOTH_BACKENDS_H
#define OB_TESTS_BOTH_BACKENDS_H

#include "store/store.h"
#include "unit/pg_fixture.h"

enum { SQLITE, PG, NBACKENDS };
static const char *const backend_name[NBACKENDS] = {"sqlite", "postgresql"};

/* A new, empty database on backend b, named prefix and a number; its place into where. */
static inline ob_store *fresh_store(int b, const char *prefix, char *where, size_t cap)
{
    static int dbno;
    char name[32];
    snprintf(name, sizeof name, "%s%d", prefix, ++dbno);
    if (b == SQLITE) {
        snprintf(where, cap, "%s/%s.db", pg_dir, name);
        ob_store_remove(where);
    } else {
        pg_fresh_uri(name, where, cap);
    }
    ob_store *s = NULL;
    ob_err e = {0};
    if (ob_store_open(where, &s, &e))
        fail_msg("%s: open: %s", backend_name[b], e.msg);
    assert_string_equal(ob_store_backend(s), backend_name[b]);
    return s;
}

#endif
