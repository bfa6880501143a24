/* clinical.h - hub-level access to the shared data items for the FHIR API
 * (Observation, Condition, the patient overview) and patient-reported measurements
 * (R-PRD-1).
 *
 * Reads return owned copies of items (ob_item_list) for the API to decide on with
 * ob_hub_decide_many (search.h). A patient-reported measurement is stored as an item
 * with source patient_reported, in the same transaction as its log entry
 * (OB_EV_DATA_CHANGE), durable before the caller answers (R-LOG-1). */
#ifndef OB_SERVICE_CLINICAL_H
#define OB_SERVICE_CLINICAL_H

#include <sqlite3.h>

#include "service/hub.h"

typedef struct ob_item_copy {
    ob_item it; /* strings point into buf */
    char *buf;
} ob_item_copy;

typedef struct ob_item_list {
    ob_item_copy *v;
    size_t n, cap;
} ob_item_list;

/* Items of patient (ext_id) whose category is in mask, in time order. */
ob_status ob_hub_items(ob_hub *h, const char *patient, ob_catmask mask, ob_item_list *out,
                       ob_err *e);
/* One item by id when its category is in mask; out->n is 0 otherwise. */
ob_status ob_hub_item_get(ob_hub *h, const char *id, ob_catmask mask, ob_item_list *out, ob_err *e);
void ob_item_list_release(ob_item_list *l);

/* Stores a new item (it->json the canonical record) with its log entry (actor's
 * strings borrowed). */
ob_status ob_hub_item_add(ob_hub *h, const ob_item *it, const ob_log_entry *actor, ob_err *e);

/* A source system's write of one of its items (R-SRC-1, store/sqlite/item_keys.h): created, updated
 * or withdrawn (entered-in-error) by the source's own identifier, in one transaction with
 * its log entry. The caller fills the inputs (borrowed); rec is the canonical record
 * without "id" and "version", which the write adds (ob_src_item_json). */
typedef struct ob_src_item {
    const char *source, *system, *value; /* the key: client id, identifier */
    const char *type;                    /* the FHIR type, for the log entry */
    const char *patient, *category, *origin, *code;
    ob_time time;
    bool withdrawn;
    const char *rec; /* the canonical record as a JSON object's text, without id and version */
    /* out */
    char id[32];
    int64_t version;
    bool created;
} ob_src_item;

/* create_only: OB_ECONFLICT when the source already has the identifier; if_match > 0:
 * OB_ECONFLICT unless the item is at that version, < 0: unless it exists. OB_ECONFLICT
 * also when the identifier names an item of another category, or when a withdrawal names
 * nothing. */
ob_status ob_hub_src_item_write(ob_hub *h, ob_src_item *w, bool create_only, int64_t if_match,
                                const ob_log_entry *actor, ob_err *e);
/* The item's stored record: rec with its id and version (after the write); malloc'd, NULL
 * when out of memory. */
char *ob_src_item_json(const ob_src_item *w);
/* Its pieces, for writes of many resources in one transaction (ingest.h): the log entry
 * (res: its buffer) and the write inside the log's transaction. */
void ob_src_entry(const ob_src_item *w, const ob_log_entry *actor, ob_log_entry *le, char res[240]);
ob_status ob_src_apply(ob_store_tx *tx, ob_src_item *w, bool create_only, int64_t if_match,
                       ob_err *e);

#endif
