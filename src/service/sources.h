/* sources.h - what the hub guards about source systems' writes (R-APT-1, R-SRC-1; issue 19,
 * "oracles"):
 *  - identifier systems belong to the source that uses them: the first source to write an
 *    appointment or item with a system (or every source that had, when the hub opened) owns
 *    it, and another source's write with it is refused (403), so that no source can make
 *    its appointments or items look like another's;
 *  - refused writes by a source about a patient the hub does not know are counted per
 *    client (and logged by the API), because they tell a source whether a CPR number is
 *    known: a source that probes shows up in /metrics.
 * Owned by the hub (ob_hub.sources); thread-safe (one mutex: writes are not the hot path). */
#ifndef OB_SERVICE_SOURCES_H
#define OB_SERVICE_SOURCES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/time.h"

typedef struct ob_hub ob_hub;
typedef struct ob_sources ob_sources;

ob_status ob_sources_new(ob_sources **out, ob_err *e);
void ob_sources_free(ob_sources *g);

/* OB_OK when `source` may write appointments or items with identifier `system` (it owns it, or
 * nobody did and now it does); OB_EDENIED naming no one when another source owns it;
 * OB_EIO/OB_ENOMEM when the owners could not be read. The owners are read from the store
 * on first use. */
ob_status ob_hub_apt_system_claim(ob_hub *h, const char *system, const char *source, ob_err *e);

/* Counts one write by `client` refused because the patient is unknown. */
void ob_hub_source_unknown_patient(ob_hub *h, const char *client);
/* fn for every client with a count (for /metrics). */
typedef void (*ob_sources_fn)(void *ctx, const char *client, uint64_t count);
void ob_sources_each_unknown(ob_sources *g, ob_sources_fn fn, void *ctx);

/* ---- the sources' state (R-SRC-2) ---- */

typedef struct ob_source_status {
    const char *client, *name, *site; /* index strings: stable while the hub is open */
    ob_time last_update;              /* its last delivery; 0: never */
    ob_time since;                    /* interrupted since; 0: not interrupted */
    bool declared;                    /* by an operator (else: silent past max_silence) */
    char reason[240];                 /* the operator's reason, or "" */
} ob_source_status;

/* Every registered source with its state at `now`, in registration order; *out is
 * ob_malloc'd (ob_free). The stored state (source_state.h) is read again when older than
 * two seconds, so an operator's declaration from the CLI shows within that; the hub's own
 * writes update it at once (ob_hub_source_delivered). */
ob_status ob_hub_sources_status(ob_hub *h, ob_time now, ob_source_status **out, size_t *n,
                                ob_err *e);
/* Declares `client` (a registered source) interrupted since `since` with a reason (kept
 * free text: no CPR number, R-CPR-3), or (since 0) resumed: stored at once on the store's
 * own connection, and seen by this hub at once (by another process's within two seconds).
 * OB_ENOTFOUND for an unknown client. */
ob_status ob_hub_source_declare(ob_hub *h, const char *client, ob_time since, const char *reason,
                                ob_err *e);
/* Only the interrupted ones, for the note every search carries: cached for a second (and
 * dropped by a declaration or a delivery), so that a search with none interrupted costs a
 * lock and a clock read. *out is ob_malloc'd when *n > 0, else NULL. */
ob_status ob_hub_sources_interrupted(ob_hub *h, ob_time now, ob_source_status **out, size_t *n,
                                     ob_err *e);
/* After a committed write: `client` delivered at t. */
void ob_hub_source_delivered(ob_hub *h, const char *client, ob_time t);

#endif
