/* stats_api.h - the statistics operations of the HTTP API (R-STAT, R-API), mounted at
 * /api/stats and independent of the transport like api.h:
 *   POST /cluster   {"cluster", "code", "from", "to", "report_date", "format", "mode",
 *                    "epsilon", "clinic", "bands"}           a quality-cluster release
 *   POST /planning  {"municipality" or "cluster", ...the same}  a planning release (k >= 10)
 * The caller must be a professional who coordinates the cluster (planning: a planner or
 * administrator of the municipality named as the group's coordinator); anyone else, and a
 * cluster that does not exist, get the same 403 OperationOutcome. format json (default)
 * answers the release as a JSON body; csv, svg and text answer with out->content_type set
 * ("text/csv", "image/svg+xml", "text/plain") and the text as a JSON string in out->body,
 * which the server sends raw. A refused release is 422; every release, refusal and turned-away
 * order is logged (service/stats_service.h). Always fills *out; returns non-OB_OK only when the
 * transport must answer 500 itself. */
#ifndef OB_API_STATS_API_H
#define OB_API_STATS_API_H

#include "api/api.h"

ob_status ob_api_stats(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                       ob_api_response *out, ob_err *e);

#endif
