/* store.c - store.h's calls, sent to the backend that opened the store (store/backend.h):
 * SQLite for a file path, PostgreSQL for a postgresql:// URI. */
#include "store/store.h"

#include <string.h>

#include "store/backend.h"

static const ob_store_ops *ops_of(const ob_store *s)
{
    return ((const ob_store_head *)(const void *)s)->ops;
}

bool ob_store_where_is_pg(const char *where)
{
    return where &&
           (strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0);
}

ob_status ob_store_open(const char *where, ob_store **out, ob_err *e)
{
    const ob_store_ops *ops = ob_store_where_is_pg(where) ? &ob_store_pg_ops : &ob_store_sqlite_ops;
    return ops->open_store(where, out, e);
}

const char *ob_store_backend(const ob_store *s)
{
    return ops_of(s)->name;
}

void ob_store_close(ob_store *s)
{
    if (s)
        ops_of(s)->close_store(s);
}

int ob_store_schema_version(const ob_store *s)
{
    return ops_of(s)->schema_version(s);
}

ob_status ob_store_begin(ob_store *s, ob_err *e)
{
    return ops_of(s)->begin(s, e);
}

ob_status ob_store_commit(ob_store *s, ob_err *e)
{
    return ops_of(s)->commit(s, e);
}

void ob_store_rollback(ob_store *s)
{
    ops_of(s)->rollback(s);
}

ob_status ob_store_put_record(ob_store *s, const char *type, const char *json, ob_err *e)
{
    return ops_of(s)->put_record(s, type, json, e);
}

ob_status ob_store_put_item(ob_store *s, const ob_item *it, ob_err *e)
{
    return ops_of(s)->put_item(s, it, e);
}

ob_status ob_store_each_record(ob_store *s, ob_record_fn fn, void *ctx, ob_err *e)
{
    return ops_of(s)->each_record(s, fn, ctx, e);
}

ob_status ob_store_each_item(ob_store *s, const char *patient, const char *category, ob_item_fn fn,
                             void *ctx, ob_err *e)
{
    return ops_of(s)->each_item(s, patient, category, fn, ctx, e);
}

ob_status ob_store_get_item(ob_store *s, const char *id, ob_item_fn fn, void *ctx, ob_err *e)
{
    return ops_of(s)->get_item(s, id, fn, ctx, e);
}

ob_status ob_store_each_item_with_code(ob_store *s, const char *category, const char *code,
                                       ob_item_fn fn, void *ctx, ob_err *e)
{
    return ops_of(s)->each_item_with_code(s, category, code, fn, ctx, e);
}

int64_t ob_store_count(ob_store *s, const char *table)
{
    return ops_of(s)->count(s, table);
}

ob_status ob_store_meta_get(ob_store *s, const char *key, char *buf, size_t cap, ob_err *e)
{
    return ops_of(s)->meta_get(s, key, buf, cap, e);
}

ob_status ob_store_meta_set(ob_store *s, const char *key, const char *value, ob_err *e)
{
    return ops_of(s)->meta_set(s, key, value, e);
}

const char *ob_store_path(const ob_store *s)
{
    return ops_of(s)->path(s);
}

ob_status ob_store_apt_upsert(ob_store *s, ob_apt *a, bool *created, ob_err *e)
{
    return ops_of(s)->apt_upsert(s, a, created, e);
}

ob_status ob_store_apt_each_patient(ob_store *s, const char *patient, ob_apt_fn fn, void *ctx,
                                    ob_err *e)
{
    return ops_of(s)->apt_each_patient(s, patient, fn, ctx, e);
}

ob_status ob_store_apt_get(ob_store *s, int64_t id, ob_apt_fn fn, void *ctx, ob_err *e)
{
    return ops_of(s)->apt_get(s, id, fn, ctx, e);
}

ob_status ob_store_apt_find_key(ob_store *s, const char *source, const char *system,
                                const char *value, ob_apt_fn fn, void *ctx, ob_err *e)
{
    return ops_of(s)->apt_find_key(s, source, system, value, fn, ctx, e);
}

ob_status ob_store_in_tx(ob_store *s, ob_store_tx_fn fn, void *ctx, ob_err *e)
{
    return ops_of(s)->in_tx(s, fn, ctx, e);
}

ob_status ob_tx_put_record(ob_store_tx *tx, const char *type, const char *json, ob_err *e)
{
    return tx->ops->put_record(tx, type, json, e);
}

ob_status ob_tx_put_item(ob_store_tx *tx, const ob_item *it, ob_err *e)
{
    return tx->ops->put_item(tx, it, e);
}

ob_status ob_tx_apt_find_key(ob_store_tx *tx, const char *source, const char *system,
                             const char *value, ob_apt_fn fn, void *ctx, ob_err *e)
{
    return tx->ops->apt_find_key(tx, source, system, value, fn, ctx, e);
}

ob_status ob_tx_apt_store(ob_store_tx *tx, ob_apt *a, int64_t id, int64_t version, bool *created,
                          ob_err *e)
{
    return tx->ops->apt_store(tx, a, id, version, created, e);
}

ob_status ob_tx_apt_upsert(ob_store_tx *tx, ob_apt *a, bool *created, ob_err *e)
{
    return tx->ops->apt_upsert(tx, a, created, e);
}

ob_status ob_tx_item_key_find(ob_store_tx *tx, const char *source, const char *system,
                              const char *value, ob_item_key *out, bool *found, ob_err *e)
{
    return tx->ops->item_key_find(tx, source, system, value, out, found, e);
}

ob_status ob_tx_item_key_put(ob_store_tx *tx, const char *source, const char *system,
                             const char *value, ob_item_key *k, ob_time updated, ob_err *e)
{
    return tx->ops->item_key_put(tx, source, system, value, k, updated, e);
}

ob_status ob_tx_item_row_replace(ob_store_tx *tx, const ob_item *it, ob_err *e)
{
    return tx->ops->item_row_replace(tx, it, e);
}

ob_status ob_tx_item_row_delete(ob_store_tx *tx, const char *id, ob_err *e)
{
    return tx->ops->item_row_delete(tx, id, e);
}

ob_status ob_tx_source_touch(ob_store_tx *tx, const char *client, ob_time t, ob_err *e)
{
    return tx->ops->source_touch(tx, client, t, e);
}

ob_status ob_store_source_declare(ob_store *s, const char *client, ob_time since,
                                  const char *reason, ob_err *e)
{
    return ops_of(s)->source_declare(s, client, since, reason, e);
}

ob_status ob_store_source_state_each(ob_store *s, ob_source_state_fn fn, void *ctx, ob_err *e)
{
    return ops_of(s)->source_state_each(s, fn, ctx, e);
}

ob_status ob_store_each_id_system(ob_store *s, ob_apt_system_fn fn, void *ctx, ob_err *e)
{
    return ops_of(s)->each_id_system(s, fn, ctx, e);
}
