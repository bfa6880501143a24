/* overrides.h - counting block overrides (værdispring) per professional and per site, and
 * the alert when they pile up (R-BLK-4; issue 19: "50 overrides in a row by one doctor went
 * through unnoticed").
 *
 * An override is lawful one at a time; many by one person or one site is what a privacy
 * officer must look at. Every logged override (ob_hub_decide, ob_hub_decide_many) is
 * counted in a rolling window of 24 hourly buckets, per professional and per site. When a
 * count reaches its threshold, and again at every further multiple of it, an alert entry
 * (event "alert") is appended to the log, naming the professional and the site, on the
 * patient whose record the triggering override opened, so that the patient sees it beside
 * the override itself and the operator finds it with `log show`, in the server's log and
 * in /metrics. Counting never refuses anything: the override has been decided and logged.
 *
 * Owned by the hub (ob_hub.overrides); thread-safe (one mutex: overrides are rare). */
#ifndef OB_SERVICE_OVERRIDES_H
#define OB_SERVICE_OVERRIDES_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/time.h"

typedef struct ob_overrides ob_overrides;

#define OB_OVERRIDE_ALERT_PRO  5  /* default: overrides by one professional in 24 h */
#define OB_OVERRIDE_ALERT_SITE 20 /* default: overrides from one site in 24 h */

/* Counters for npros professionals and norgs sites; thresholds 0 take the defaults. */
ob_status ob_overrides_new(size_t npros, size_t norgs, uint32_t pro_threshold,
                           uint32_t site_threshold, ob_overrides **out, ob_err *e);
void ob_overrides_free(ob_overrides *o);
/* Changes the thresholds (0: keep). */
void ob_overrides_set_thresholds(ob_overrides *o, uint32_t pro_threshold, uint32_t site_threshold);

/* Counts one override by professional `pro` acting from `site` at time `now` (either may
 * be UINT32_MAX, unknown: not counted). Sets *pro_alert / *site_alert to the window's count
 * when it has just reached a multiple of its threshold, else 0. */
void ob_overrides_count(ob_overrides *o, uint32_t pro, uint32_t site, ob_time now,
                        uint32_t *pro_alert, uint32_t *site_alert);

/* Several servers counting together (PostgreSQL; store/pg/overrides_pg.h, T-DB-9): `fn`
 * gives the window's total over every server of professional (kind 'p') or site ('s') `id`,
 * this override included, and the alert is decided on that total (ids beyond the counters
 * made at ob_overrides_new are counted there too). When fn fails, this server's own count
 * decides. This server's own counts stay what ob_overrides_each reports. fn is called
 * without the counters' lock; ctx is borrowed and must outlive the counters' use. */
typedef ob_status (*ob_overrides_shared_fn)(void *ctx, char kind, uint32_t id, ob_time now,
                                            uint64_t *total, ob_err *e);
void ob_overrides_share(ob_overrides *o, ob_overrides_shared_fn fn, void *ctx);

/* The current window's counts, for /metrics: fn is called for every professional and site
 * with a non-zero count (kind 'p' or 's'), then once more per kind with the total number
 * of alerts raised since start (id UINT32_MAX). */
typedef void (*ob_overrides_fn)(void *ctx, char kind, uint32_t id, uint64_t count);
void ob_overrides_each(ob_overrides *o, ob_time now, ob_overrides_fn fn, void *ctx);

#endif
