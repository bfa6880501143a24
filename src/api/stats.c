/* stats.c - POST /api/stats/cluster and /api/stats/planning (see stats_api.h): checks the
 * caller and the body, hands an ob_stats_order to the statistics service and shapes the
 * answer. No figure is computed or protected here. */
#include "api/stats_api.h"

#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "model/records.h"
#include "service/stats_service.h"

static const char forbidden[] = "no such cluster, or you are not its coordinator";

static bool str_of(json_t *body, const char *key, const char **out)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v)
        return true;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 200)
        return false;
    *out = json_string_value(v);
    return true;
}

static int bad(ob_api_response *out, const char *text)
{
    ob_api_outcome(out, 400, "invalid", text);
    return 1;
}

/* Fills the order from the body; on a bad body fills *out with a 400 and returns 1. */
static int parse_body(json_t *body, bool planning, ob_stats_order *q, ob_api_response *out)
{
    static const char *const allowed[] = {"cluster", "municipality", "code",   "from",
                                          "to",      "report_date",  "format", "mode",
                                          "epsilon", "clinic",       "bands",  NULL};
    ob_err e = {0};
    if (!json_is_object(body))
        return bad(out, "the body must be a JSON object");
    if (ob_json_only(body, allowed, &e))
        return bad(out, e.msg);
    const char *fmt, *mode;
    if (!str_of(body, "cluster", &q->cluster) || !str_of(body, "municipality", &q->municipality) ||
        !str_of(body, "code", &q->code) || !str_of(body, "format", &fmt) ||
        !str_of(body, "mode", &mode) || !str_of(body, "clinic", &q->clinic))
        return bad(out, "cluster, municipality, code, format, mode and clinic are strings");
    if (!q->code)
        return bad(out, "missing field 'code' (a diagnosis code such as T90)");
    if (!planning && !q->cluster)
        return bad(out, "missing field 'cluster'");
    if (planning && !q->cluster && !q->municipality)
        return bad(out, "missing field 'municipality'");
    if (!planning && q->municipality)
        return bad(out, "'municipality' belongs to /planning");
    if (!fmt || strcmp(fmt, "json") == 0)
        q->format = OB_STATS_JSON;
    else if (strcmp(fmt, "csv") == 0)
        q->format = OB_STATS_CSV;
    else if (strcmp(fmt, "svg") == 0)
        q->format = OB_STATS_SVG;
    else if (strcmp(fmt, "text") == 0)
        q->format = OB_STATS_TEXT;
    else
        return bad(out, "field 'format' is json, csv, svg or text");
    if (!mode || strcmp(mode, "suppress") == 0)
        q->mode = OB_STATS_MODE_SUPPRESS;
    else if (strcmp(mode, "round") == 0)
        q->mode = OB_STATS_MODE_ROUND;
    else if (strcmp(mode, "dp") == 0)
        q->mode = OB_STATS_MODE_DP;
    else
        return bad(out, "field 'mode' is suppress, round or dp");
    json_t *eps = json_object_get(body, "epsilon");
    q->epsilon_milli = 1000;
    if (eps) {
        if (!json_is_number(eps) || json_number_value(eps) <= 0 || json_number_value(eps) > 100)
            return bad(out, "field 'epsilon' must be a number in (0, 100]");
        q->epsilon_milli = (uint32_t)(json_number_value(eps) * 1000 + 0.5);
        if (!q->epsilon_milli)
            q->epsilon_milli = 1;
    }
    json_t *bands = json_object_get(body, "bands");
    if (bands) {
        size_t i;
        json_t *x;
        if (!json_is_array(bands) || json_array_size(bands) > OB_STATS_MAX_BANDS - 1)
            return bad(out, "field 'bands' lists at most 7 increasing mmHg values");
        json_array_foreach(bands, i, x)
        {
            if (!json_is_integer(x) || json_integer_value(x) <= 0 || json_integer_value(x) > 400 ||
                (i && json_integer_value(x) <= q->edge[i - 1]))
                return bad(out, "field 'bands' lists at most 7 increasing mmHg values");
            q->edge[i] = (int32_t)json_integer_value(x);
        }
        q->n_edges = (int)json_array_size(bands);
    }
    ob_time rd = 0;
    if (ob_json_time(body, "report_date", 0, &rd, &e) || ob_json_time(body, "to", 0, &q->to, &e) ||
        ob_json_time(body, "from", 0, &q->from, &e))
        return bad(out, e.msg);
    q->report_date = rd;
    return 0;
}

/* GET /releases?cluster=<id>: the release history, for whoever may order the cluster's
 * releases; everyone else the same 403 as an unknown cluster. No figures, no personal data:
 * no log entry. */
static ob_status history(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                         ob_api_response *out)
{
    static const char *const allowed[] = {"cluster", NULL};
    if (strcmp(rq->method, "GET") != 0) {
        ob_api_outcome(out, 405, "not-supported", "use GET /releases?cluster=<id>");
        return OB_OK;
    }
    if (!ob_api_params_only(rq, allowed, out))
        return OB_OK;
    const char *id = ob_api_param_get(rq, "cluster", NULL);
    if (!id) {
        ob_api_outcome(out, 400, "invalid", "missing parameter 'cluster'");
        return OB_OK;
    }
    pthread_rwlock_rdlock(&h->lock);
    uint32_t ci = ob_index_find_cluster(h->ix, id);
    bool may = c->kind == OB_ACTOR_PROFESSIONAL && c->on_behalf_of == OB_NONE &&
               c->actor < h->ix->npros && ci != OB_NONE && ob_stats_may_order(h->ix, ci, c->actor);
    pthread_rwlock_unlock(&h->lock);
    if (!may) {
        ob_api_outcome(out, 403, "forbidden", forbidden);
        return OB_OK;
    }
    json_t *list;
    ob_err err = {0};
    if (ob_stats_release_list(h, ci, c->actor, &list, &err)) {
        ob_api_outcome(out, 500, "exception", "the release history could not be read");
        return OB_OK;
    }
    out->status = 200;
    out->body = json_pack("{s:s, s:o}", "cluster", id, "releases", list);
    if (!out->body)
        ob_api_outcome(out, 500, "exception", "out of memory");
    return OB_OK;
}

ob_status ob_api_stats(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                       ob_api_response *out, ob_err *e)
{
    (void)e;
    memset(out, 0, sizeof *out);
    if (strcmp(rq->path, "/releases") == 0)
        return history(h, c, rq, out);
    bool planning = strcmp(rq->path, "/planning") == 0;
    if (!planning && strcmp(rq->path, "/cluster") != 0) {
        ob_api_outcome(out, 404, "not-found", "no such statistics operation");
        return OB_OK;
    }
    if (strcmp(rq->method, "POST") != 0) {
        ob_api_outcome(out, 405, "not-supported", "use POST with a JSON body");
        return OB_OK;
    }
    if (c->kind != OB_ACTOR_PROFESSIONAL || c->on_behalf_of != OB_NONE) {
        ob_api_outcome(out, 403, "forbidden", forbidden);
        return OB_OK;
    }
    ob_stats_order q;
    memset(&q, 0, sizeof q);
    if (parse_body(rq->body, planning, &q, out))
        return OB_OK;
    q.planning = planning;
    q.caller = c->actor;
    q.now = c->now;
    /* defaults as on the command line: the twelve months up to the report date */
    ob_time today = (c->now ? c->now : ob_time_now()) / 86400 * 86400;
    ob_time rd = q.report_date ? q.report_date : today;
    if (!q.to)
        q.to = rd + 86400;
    if (!q.from)
        q.from = q.to - 365 * 86400LL;

    ob_log_entry le;
    memset(&le, 0, sizeof le);
    pthread_rwlock_rdlock(&h->lock);
    const ob_index *ix = h->ix;
    uint32_t ci = q.cluster ? ob_index_find_cluster(ix, q.cluster)
                            : ob_stats_planning_group(ix, q.municipality);
    bool may = c->actor < ix->npros && ci != OB_NONE && ob_stats_may_order(ix, ci, c->actor) &&
               (ix->clusters[ci].kind == OB_CLUSTER_PLANNING) == planning;
    if (may) {
        const ob_professional *p = &ix->pros[c->actor];
        le.actor_id = p->ext_id; /* index strings are stable while the hub is open */
        le.actor_name = p->name;
        le.actor_role = ob_role_name((ob_role)p->role);
        le.capacity = OB_CAP_PROFESSIONAL;
        uint32_t org =
            c->acting_org < ix->norgs ? c->acting_org : (p->nsites ? p->sites[0] : OB_NONE);
        if (org != OB_NONE) {
            le.actor_org = ix->orgs[org].ext_id;
            le.actor_org_name = ix->orgs[org].name;
        }
        le.justification = NULL;
        if (!q.cluster)
            q.cluster = ix->clusters[ci].ext_id;
        q.municipality = NULL;
    }
    if (!may && c->actor < ix->npros) { /* the attempt is logged (who asked for what) */
        const ob_professional *p = &ix->pros[c->actor];
        le.actor_id = p->ext_id;
        le.actor_name = p->name;
        le.actor_role = ob_role_name((ob_role)p->role);
        le.capacity = OB_CAP_PROFESSIONAL;
    }
    pthread_rwlock_unlock(&h->lock);
    if (!may) {
        char res[128];
        snprintf(res, sizeof res, "stats:%.60s/%s", q.cluster ? q.cluster : q.municipality,
                 planning ? "planning" : "cluster");
        if (le.actor_id)
            ob_stats_log_denied(h, &le, res, c->now);
        ob_api_outcome(out, 403, "forbidden", forbidden);
        return OB_OK;
    }
    q.actor = &le;
    ob_stats_outcome res;
    ob_err err = {0};
    ob_status st = ob_stats_run(h, &q, &res, &err);
    switch (st) {
    case OB_OK:
        break;
    case OB_EINVAL:
        ob_api_outcome(out, 400, "invalid", err.msg);
        return OB_OK;
    case OB_ENOTFOUND:
        ob_api_outcome(out, 403, "forbidden", forbidden);
        return OB_OK;
    case OB_EDENIED:
        ob_api_outcome(out, 422, "business-rule", err.msg);
        return OB_OK;
    case OB_ECONFLICT: /* other releases kept moving the history: nothing released */
        ob_api_outcome(out, 409, "conflict", err.msg);
        return OB_OK;
    default:
        ob_api_outcome(out, 500, "exception",
                       "the release could not be made; nothing was released");
        return OB_OK;
    }
    if (q.format == OB_STATS_JSON) {
        json_error_t je;
        out->body = json_loadb(res.body, res.len, 0, &je);
    } else {
        out->body = json_stringn(res.body, res.len);
        out->content_type = q.format == OB_STATS_CSV   ? "text/csv"
                            : q.format == OB_STATS_SVG ? "image/svg+xml"
                                                       : "text/plain";
    }
    ob_stats_outcome_release(&res);
    if (!out->body) {
        ob_api_outcome(out, 500, "exception", "out of memory");
        return OB_OK;
    }
    out->status = 200;
    return OB_OK;
}
