/* backend.h - how store.h reaches its backends (issue 18): each backend's store begins with
 * an ob_store_head naming its table of operations, and store.c calls through it. Only
 * store.c and the backends include this; everyone else sees store.h.
 *
 * SQLite (store/sqlite/sqlite.c) is the embedded default and everything else in the shell
 * (the log's writer, appointments, statistics) still runs on it; PostgreSQL
 * (store/pg/store_pg.c) implements the records, items and settings of store.h, for a
 * database named by a postgresql:// URI. */
#ifndef OB_STORE_BACKEND_H
#define OB_STORE_BACKEND_H

#include <stdbool.h>

#include "store/store.h"

typedef struct ob_store_ops {
    const char *name; /* "sqlite", "postgresql" */
    ob_status (*open_store)(const char *where, ob_store **out, ob_err *e);
    void (*close_store)(ob_store *s);
    int (*schema_version)(const ob_store *s);
    ob_status (*begin)(ob_store *s, ob_err *e);
    ob_status (*commit)(ob_store *s, ob_err *e);
    void (*rollback)(ob_store *s);
    ob_status (*put_record)(ob_store *s, const char *type, const char *json, ob_err *e);
    ob_status (*put_item)(ob_store *s, const ob_item *it, ob_err *e);
    ob_status (*each_record)(ob_store *s, ob_record_fn fn, void *ctx, ob_err *e);
    ob_status (*each_item)(ob_store *s, const char *patient, const char *category, ob_item_fn fn,
                           void *ctx, ob_err *e);
    ob_status (*get_item)(ob_store *s, const char *id, ob_item_fn fn, void *ctx, ob_err *e);
    ob_status (*each_item_with_code)(ob_store *s, const char *category, const char *code,
                                     ob_item_fn fn, void *ctx, ob_err *e);
    int64_t (*count)(ob_store *s, const char *table);
    ob_status (*meta_get)(ob_store *s, const char *key, char *buf, size_t cap, ob_err *e);
    ob_status (*meta_set)(ob_store *s, const char *key, const char *value, ob_err *e);
    const char *(*path)(const ob_store *s);
    ob_status (*apt_upsert)(ob_store *s, ob_apt *a, bool *created, ob_err *e);
    ob_status (*apt_each_patient)(ob_store *s, const char *patient, ob_apt_fn fn, void *ctx,
                                  ob_err *e);
    ob_status (*apt_get)(ob_store *s, int64_t id, ob_apt_fn fn, void *ctx, ob_err *e);
    ob_status (*apt_find_key)(ob_store *s, const char *source, const char *system,
                              const char *value, ob_apt_fn fn, void *ctx, ob_err *e);
} ob_store_ops;

/* The first member of every backend's struct ob_store. */
typedef struct ob_store_head {
    const ob_store_ops *ops;
} ob_store_head;

extern const ob_store_ops ob_store_sqlite_ops;
extern const ob_store_ops ob_store_pg_ops;

#endif
