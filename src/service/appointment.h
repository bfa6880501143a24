/* appointment.h - hub-level operations of the appointment overview (R-APT).
 *
 * Writes: a source system creates or updates its own appointment; the row and its log
 * entry (event OB_EV_DATA_CHANGE) commit in one transaction on the log's writer thread,
 * so the change is durable and logged before the caller answers (R-LOG-1).
 * Reads: the candidates of a patient (shared, held on or after their source's go-live,
 * not entered-in-error: R-APT-2, R-APT-5) as owned copies, for the API to decide on
 * with ob_hub_decide_many (search.h).
 *
 * The rows of each patient read are kept in memory (the hub's appointment cache): the
 * log writer commits to the same database every few milliseconds, and every commit makes
 * SQLite drop the reading connection's whole page cache, so each search read its pages
 * again with pread (17% of the server's time, measured). Every write of an appointment in
 * this process (ob_hub_apt_write, ob_hub_import) drops the rows of every patient it
 * touched (the one the row names now and the one it named before: a source can move a
 * misfiled appointment to another patient), or all rows, after its commit; a reader that
 * missed reads on a connection no other thread uses meanwhile (a store reader, so its
 * snapshot starts after every commit before it: no statement elsewhere can hold it on an
 * older one) and publishes what it read only if no write ended in between (a generation
 * count), so a cached row is never older than the last commit. Like the rest of the hub's
 * index, it assumes that one process writes the database. */
#ifndef OB_SERVICE_APPOINTMENT_H
#define OB_SERVICE_APPOINTMENT_H

#include "service/hub.h"
#include "store/sqlite/appointments.h"

/* Writes a (validated) appointment for the source system `c_org`/`a->source`.
 * create_only: refuse with OB_ECONFLICT when the source already has one with this
 * identifier (POST); otherwise create or update (PUT ?identifier=). if_match (updates):
 * 0 for none; OB_APT_ANY_VERSION: only if the source has this appointment; n > 0: only if
 * it is at version n; else OB_ECONFLICT, checked inside the write's transaction, so two
 * writers cannot both pass it. On success a->id, a->version are set and *created says
 * which happened. `actor` names the writer for the log (its strings borrowed). */
#define OB_APT_ANY_VERSION (-1)
ob_status ob_hub_apt_write(ob_hub *h, ob_apt *a, bool create_only, int64_t if_match,
                           const ob_log_entry *actor, bool *created, ob_err *e);

/* The pieces of ob_hub_apt_write, for writes of many resources in one transaction
 * (ingest.h): the log entry of a write (res: its buffer), the write itself inside the log's
 * transaction (the checks above; *prev: the row as it was), and, after the commit or its
 * failure, the cache's part. */
typedef struct ob_apt_prev {
    int64_t id, row_version; /* the row found (id 0: none), its version as stored */
    int64_t version;         /* of the row before the write; 0: none */
    char prev[160];          /* the patient it belonged to before the write; "": none */
    bool prev_long;          /* that patient's id did not fit prev: drop every patient's rows */
} ob_apt_prev;
void ob_apt_entry(const ob_apt *a, const ob_log_entry *actor, ob_log_entry *le, char res[200]);
ob_status ob_apt_apply(ob_store_tx *tx, ob_apt *a, bool create_only, int64_t if_match,
                       bool *created, ob_apt_prev *prev, ob_err *e);
void ob_apt_written(ob_hub *h, const ob_apt *a, const ob_apt_prev *prev);

/* An owned appointment (strings in one allocation). */
typedef struct ob_apt_copy {
    ob_apt a;
    char *buf;
} ob_apt_copy;

typedef struct ob_apt_list {
    ob_apt_copy *v;
    size_t n, cap;
} ob_apt_list;

/* The appointments of patient `pat` (index id) that may be shown to anyone at all:
 * shared, held on or after the go-live of their source, not entered-in-error. */
ob_status ob_hub_apt_candidates(ob_hub *h, uint32_t pat, ob_apt_list *out, ob_err *e);
/* One appointment by row id, if it is such a candidate; out->n is 0 otherwise. */
ob_status ob_hub_apt_candidate(ob_hub *h, int64_t id, ob_apt_list *out, ob_err *e);
/* The appointment of this source and identifier (for the response of a write). */
ob_status ob_hub_apt_by_key(ob_hub *h, const char *source, const char *system, const char *value,
                            ob_apt_list *out, ob_err *e);
void ob_apt_list_release(ob_apt_list *l);

/* The appointment cache (owned by the hub): created by ob_hub_open, freed by
 * ob_hub_close. Clear drops every row (after a bulk import). */
ob_status ob_apt_cache_new(struct ob_apt_cache **out, ob_err *e);
void ob_apt_cache_free(struct ob_apt_cache *c);
void ob_apt_cache_clear(struct ob_apt_cache *c);

#endif
