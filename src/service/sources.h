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

#include <stdint.h>

#include "core/err.h"

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

#endif
