/* overrides_pg.h - block overrides counted by every server together on PostgreSQL (R-BLK-4;
 * issue 18). Each server counts the overrides it sees (service/overrides.h), so a doctor
 * whose overrides go to two servers behind a load balancer raised an alert only at twice
 * the threshold, at n servers n times (docs/security.md T-DB-9). Here the count of the 24
 * hours is the database's, across servers: table sync_override(kind, id, hour, n), one row
 * per professional or site and hour.
 *
 * A count is exact under concurrency: the current hour's row is incremented by an upsert
 * whose RETURNING gives its new value under the row's lock, and the 23 earlier hours,
 * which no one increments any more, are added to it. Two servers counting at once get two
 * different totals, so exactly one of them reaches a multiple of the threshold.
 *
 * One connection of its own (overrides are rare; the log's and the order's connections
 * stay free), opened again after a failover. Thread-safe. */
#ifndef OB_STORE_PG_OVERRIDES_PG_H
#define OB_STORE_PG_OVERRIDES_PG_H

#include <stdint.h>

#include "core/err.h"
#include "core/time.h"

typedef struct ob_pgovr ob_pgovr;

/* Connects to the database at uri (borrowed) and makes the table if it is missing. The
 * counter is owned by the caller; release it with ob_pgovr_close. */
ob_status ob_pgovr_open(const char *uri, ob_pgovr **out, ob_err *e);
void ob_pgovr_close(ob_pgovr *o);

/* Counts one override of `kind` ('p' professional, 's' site) by `id` (borrowed, non-empty)
 * at `now`; *total receives the count of the 24 hours ending with now's hour, this one
 * included, over every server. OB_EIO when the database cannot be reached (nothing is
 * counted there then). */
ob_status ob_pgovr_count(ob_pgovr *o, char kind, const char *id, ob_time now, uint64_t *total,
                         ob_err *e);

#endif
