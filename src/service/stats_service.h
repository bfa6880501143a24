/* stats_service.h - statistics releases on the hub (R-STAT-1..7): the orchestration between
 * the pure core (src/stats/), the hub's index and items, the release store
 * (store/stats.h, on either backend) and the access log. The CLI (`overblik stats`) and the
 * HTTP handler (api/stats.c) both call ob_stats_run; neither prints below this line.
 *
 * One run: retention first (ob_stats_expire), then the cluster's agreement, the data set
 * built from the index (listings) and the items (diagnoses, systolic measurements, annual
 * check-ups), the report, differencing against the stored history, primary and secondary
 * suppression, an independent exact audit for the outsider and every member, rendering, and
 * finally one log transaction that writes the OB_EV_STATS_RELEASE entry together with the
 * release's per-figure patient sets and any budget charge. A refused release is logged too
 * (permit false) and stores nothing. */
#ifndef OB_SERVICE_STATS_SERVICE_H
#define OB_SERVICE_STATS_SERVICE_H

#include "service/hub.h"
#include "stats/stats.h"

enum ob_stats_mode { OB_STATS_MODE_SUPPRESS = 0, OB_STATS_MODE_ROUND, OB_STATS_MODE_DP };

typedef struct ob_stats_order {
    const char *cluster;      /* cluster external id, or NULL with municipality */
    const char *municipality; /* planning: the municipality's org id (finds its group) */
    bool planning;            /* the cluster must be a planning group (k >= 10) */
    const char *clinic;       /* R-STAT-5: one member clinic's own figures, or NULL */
    const char *code;         /* diagnosis code prefix, e.g. "T90" */
    ob_time from, to;         /* period [from, to) */
    ob_time report_date;      /* R-STAT-4 window end; 0 = now */
    ob_time now;              /* 0 = the clock */
    enum ob_stats_mode mode;
    uint32_t epsilon_milli; /* DP mode: the release's epsilon (default 1.000) */
    int n_edges;            /* systolic band edges; 0 = default */
    int32_t edge[OB_STATS_MAX_BANDS - 1];
    enum ob_stats_format format;
    uint32_t caller;           /* professional ordering it; OB_NONE = the operator (CLI) */
    const ob_log_entry *actor; /* who, for the log (strings borrowed); NULL = operator */
} ob_stats_order;

typedef struct ob_stats_outcome {
    char *body; /* the rendered release (text ends with the audit summary); free() */
    size_t len;
    int64_t release_id;
    uint64_t log_seq;
    size_t rows, suppressed, differencing;
    int k;
    bool audit_passed; /* the independent audit found nothing unsafe */
} ob_stats_outcome;

void ob_stats_outcome_release(ob_stats_outcome *o);

/* OB_ENOTFOUND for an unknown cluster, OB_EDENIED when the caller may not order it or the
 * release is refused (explanation in e), OB_EINVAL for a bad order. */
ob_status ob_stats_run(ob_hub *h, const ob_stats_order *o, ob_stats_outcome *out, ob_err *e);

/* R-STAT-7: deletes the per-figure data sets of every release whose cluster's retention has
 * passed at `now` (0 = the clock) and logs the deletion. *deleted (may be NULL) receives the
 * number of releases whose data sets were deleted. */
ob_status ob_stats_expire(ob_hub *h, ob_time now, int64_t *deleted, ob_err *e);

/* The cluster's pseudonym key: keyed BLAKE2b of the cluster id under the installation's
 * cluster key (key file), so it is never stored in the database. */
void ob_stats_cluster_key(const ob_keys *k, const char *cluster, unsigned char out[32]);

/* May professional `pro` order releases of cluster `c` (a coordinator; planning: also a
 * planner or administrator of the municipality)? */
bool ob_stats_may_order(const ob_index *ix, uint32_t cluster, uint32_t pro);

/* Logs a statistics order that was turned away before it reached ob_stats_run (e.g. the
 * HTTP handler's 403), as OB_EV_STATS_RELEASE with permit false. Best effort. */
void ob_stats_log_denied(ob_hub *h, const ob_log_entry *actor, const char *resource, ob_time now);

/* The planning group of a municipality (org ext id), or OB_NONE. */
/* The cluster's release history for the coordinator `caller` (issue 26's cluster page): a new
 * JSON array (the caller's), newest first, at most 500: release id, created, scope, the
 * filter (code, period, mode) and when its data sets were deleted (null: kept). A
 * clinic-local release is listed only to people working at that clinic (R-STAT-5), and
 * never under the clinic's id. The caller has checked ob_stats_may_order. */
ob_status ob_stats_release_list(ob_hub *h, uint32_t cluster, uint32_t caller, json_t **out,
                                ob_err *e);

/* Whose records a cluster's data set takes (issue 21, seed 003): allow[org] (norgs entries,
 * the caller's) gets OB_STATS_OWN for the member clinics and their units (clinic-locally, with
 * only != OB_NONE, that clinic alone: R-STAT-5) and the OB_SUPPLY_* categories a region agreed
 * to supply for its organisations (cluster-wide releases only). Everything else: 0. */
enum { OB_STATS_OWN = 0x80 };
void ob_stats_origins(const ob_index *ix, const ob_cluster *cl, uint32_t only, uint8_t *allow);

uint32_t ob_stats_planning_group(const ob_index *ix, const char *municipality);

#endif
