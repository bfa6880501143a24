/* ingest.h - many writes of one source system in one transaction (issue 20: FHIR
 * transaction Bundles). Each write is an appointment (appointment.h) or an item the source
 * holds (clinical.h); all of them and one log entry each commit together, or none does
 * (R-LOG-1: no change without its log entry; a transaction is all-or-nothing). */
#ifndef OB_SERVICE_INGEST_H
#define OB_SERVICE_INGEST_H

#include "service/appointment.h"
#include "service/clinical.h"

typedef struct ob_write {
    ob_apt *apt;       /* an appointment, or NULL */
    ob_src_item *item; /* else an item */
    bool create_only;
    int64_t if_match; /* as ob_hub_apt_write and ob_hub_src_item_write take them */
    bool created;     /* out */
} ob_write;

/* Runs the n writes (actor: the source, as the log names it; strings borrowed) in one
 * transaction. When one is refused inside it (OB_ECONFLICT: a duplicate, a version that
 * moved) nothing is written and *failed is its index; otherwise *failed is n. */
ob_status ob_hub_write_many(ob_hub *h, ob_write *w, size_t n, const ob_log_entry *actor,
                            size_t *failed, ob_err *e);

#endif
