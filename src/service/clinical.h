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

#endif
