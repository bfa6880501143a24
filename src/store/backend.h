/* backend.h - how store.h reaches its backends (issue 18): each backend's store begins with
 * an ob_store_head naming its table of operations, and store.c calls through it. Only
 * store.c and the backends include this; everyone else sees store.h.
 *
 * SQLite (store/sqlite/sqlite.c) is the embedded default; PostgreSQL (store/pg/store_pg.c)
 * implements store.h for a database named by a postgresql:// URI, and the statistics'
 * tables of store/stats.h (store/pg/stats_pg.c). */
#ifndef OB_STORE_BACKEND_H
#define OB_STORE_BACKEND_H

#include <stdbool.h>

#include "store/stats.h"
#include "store/store.h"

typedef struct ob_store_tx_ops ob_store_tx_ops;
typedef struct ob_stats_ops ob_stats_ops;

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
    ob_status (*in_tx)(ob_store *s, ob_store_tx_fn fn, void *ctx, ob_err *e);
    ob_status (*source_declare)(ob_store *s, const char *client, ob_time since, const char *reason,
                                ob_err *e);
    ob_status (*source_state_each)(ob_store *s, ob_source_state_fn fn, void *ctx, ob_err *e);
    ob_status (*each_id_system)(ob_store *s, ob_apt_system_fn fn, void *ctx, ob_err *e);
    ob_status (*apt_each_patient)(ob_store *s, const char *patient, ob_apt_fn fn, void *ctx,
                                  ob_err *e);
    ob_status (*apt_get)(ob_store *s, int64_t id, ob_apt_fn fn, void *ctx, ob_err *e);
    ob_status (*apt_find_key)(ob_store *s, const char *source, const char *system,
                              const char *value, ob_apt_fn fn, void *ctx, ob_err *e);
    const ob_stats_ops *stats; /* the statistics' tables on this backend (store/stats.h) */
} ob_store_ops;

struct ob_store_tx_ops {
    ob_status (*put_record)(ob_store_tx *tx, const char *type, const char *json, ob_err *e);
    ob_status (*put_item)(ob_store_tx *tx, const ob_item *it, ob_err *e);
    ob_status (*apt_find_key)(ob_store_tx *tx, const char *source, const char *system,
                              const char *value, ob_apt_fn fn, void *ctx, ob_err *e);
    ob_status (*apt_store)(ob_store_tx *tx, ob_apt *a, int64_t id, int64_t version, bool *created,
                           ob_err *e);
    ob_status (*apt_upsert)(ob_store_tx *tx, ob_apt *a, bool *created, ob_err *e);
    ob_status (*item_key_find)(ob_store_tx *tx, const char *source, const char *system,
                               const char *value, ob_item_key *out, bool *found, ob_err *e);
    ob_status (*item_key_put)(ob_store_tx *tx, const char *source, const char *system,
                              const char *value, ob_item_key *k, ob_time updated, ob_err *e);
    ob_status (*item_row_replace)(ob_store_tx *tx, const ob_item *it, ob_err *e);
    ob_status (*item_row_delete)(ob_store_tx *tx, const char *id, ob_err *e);
    ob_status (*source_touch)(ob_store_tx *tx, const char *client, ob_time t, ob_err *e);
    const ob_stats_ops *stats; /* the statistics' writes in this transaction */
};

/* store/stats.h on a backend: each call gets the backend's connection (a sqlite3 * or a
 * PGconn *), the read handle's or the transaction's. */
struct ob_stats_ops {
    /* the read handle: a connection for ob_stats_db's reads, given back by close_db */
    ob_status (*open_db)(ob_store *s, ob_stats_db **out, ob_err *e);
    void (*close_db)(ob_stats_db *db);
    ob_status (*begin)(void *conn, ob_err *e);
    void (*rollback)(void *conn);
    ob_status (*lock)(void *conn, ob_err *e);
    ob_status (*mark)(void *conn, int64_t *mark, ob_err *e);
    ob_status (*load_history)(void *conn, const char *cluster, const char *scope,
                              ob_stats_history *h, ob_err *e);
    ob_status (*record)(void *conn, const ob_stats_release_meta *m, const ob_stats_report *r,
                        int64_t *id, ob_err *e);
    ob_status (*spent)(void *conn, const char *cluster, uint64_t *spent, ob_err *e);
    ob_status (*charge)(void *conn, const char *cluster, uint64_t total, uint64_t eps, ob_err *e);
    ob_status (*count_expiring)(void *conn, const char *cluster, ob_time before, int64_t *n,
                                ob_err *e);
    ob_status (*expire)(void *conn, const char *cluster, ob_time before, ob_time now, int64_t *n,
                        ob_err *e);
    ob_status (*count_sets)(void *conn, const char *cluster, int64_t *n, ob_err *e);
    ob_status (*each_release)(void *conn, const char *cluster, int limit, ob_stats_release_fn fn,
                              void *ctx, ob_err *e);
    ob_status (*each_published)(void *conn, const char *cluster, ob_stats_published_fn fn,
                                void *ctx, ob_err *e);
    ob_status (*charge_clinics)(void *conn, const char *const *clinics, size_t n, uint64_t cap,
                                uint64_t eps, ob_err *e);
    ob_status (*record_patients)(void *conn, int64_t release, const ob_stats_report *r, ob_err *e);
    ob_status (*uses)(void *conn, uint32_t patient, ob_stats_use_fn fn, void *ctx, ob_err *e);
};

/* A read handle: the backend's connection, and what the backend needs to give it back. */
struct ob_stats_db {
    const ob_stats_ops *ops;
    void *conn;
    ob_store *store;
    void *token;
};

extern const ob_stats_ops ob_stats_sqlite_ops;
extern const ob_stats_ops ob_stats_pg_ops;

/* A backend's connection inside a transaction it is in: a sqlite3 * or a PGconn *. Made
 * on the stack by whoever runs the transaction (the log's writer, ob_store_in_tx). */
struct ob_store_tx {
    const ob_store_tx_ops *ops;
    void *conn;
};

extern const ob_store_tx_ops ob_store_sqlite_tx_ops;
extern const ob_store_tx_ops ob_store_pg_tx_ops;

/* The first member of every backend's struct ob_store. */
typedef struct ob_store_head {
    const ob_store_ops *ops;
} ob_store_head;

extern const ob_store_ops ob_store_sqlite_ops;
extern const ob_store_ops ob_store_pg_ops;

#endif
