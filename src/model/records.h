/* records.h - the import format (docs/formats.md): one JSON object a line, each with a
 * "type". The same records are what the store persists, so importing, restarting and
 * CLI changes all go through ob_record_apply.
 *
 * ob_record_apply validates one record strictly (unknown fields, wrong types, unknown
 * references, invalid CPR, bad periods are errors that name the field), applies it to
 * the index, and returns the canonical record to persist. For patients the canonical
 * record carries the CPR only as "cpr_enc" and "cpr_hash" (R-CPR-2); a stored record
 * with those fields is accepted back. Items do not enter the index: they are returned
 * for the store's items table. Nothing here does I/O. */
#ifndef OB_MODEL_RECORDS_H
#define OB_MODEL_RECORDS_H

#include <jansson.h>

#include "core/secret.h"
#include "model/index.h"
#include "model/data.h"

typedef struct ob_loader {
    ob_index *ix;        /* borrowed */
    const ob_keys *keys; /* borrowed */
    uint64_t next_block_id, next_consent_id;
    ob_time now; /* the time changes are checked at */
    /* Replaying the store: who made a change was checked when it was made, against the
     * state of that day (a relationship since ended, a GP since moved); only the
     * record's own validity is checked again. */
    bool replay;
} ob_loader;

typedef struct ob_record_out {
    const char *type;  /* borrowed from the input object */
    json_t *canonical; /* new reference, owned by the caller (json_decref) */
    bool is_item;
    ob_item item;        /* strings borrowed from the input object */
    uint64_t assigned;   /* block or consent id assigned, else 0 */
    uint32_t patient;    /* the patient the record concerns, or OB_NONE */
    bool is_appointment; /* an "appointment" record: for the appointments table */
    ob_apt apt;          /* strings borrowed from the input object or the index */
    /* an end of a grant (relative_end, relationship_end, permission_end): the end it
     * changed (in the index) and what it was, so that a change that cannot be stored is
     * undone; ended_revoked is set for a permission (its flag was false) */
    ob_time *ended_to;
    ob_time prev_to;
    bool *ended_revoked;
} ob_record_out;

void ob_loader_init(ob_loader *L, ob_index *ix, const ob_keys *keys);
ob_status ob_record_apply(ob_loader *L, json_t *obj, ob_record_out *out, ob_err *e);

/* Helpers shared with the CLI's request parsing. */
ob_status ob_json_time(json_t *obj, const char *key, ob_time dflt, ob_time *out, ob_err *e);
ob_status ob_json_catmask(json_t *obj, const char *key, ob_catmask dflt, ob_catmask *out,
                          ob_err *e);
/* Refuses fields not in the NULL-terminated list `allowed`. */
ob_status ob_json_only(json_t *obj, const char *const *allowed, ob_err *e);

#endif
