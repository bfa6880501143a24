/* api_sources.c - the sources' state (R-SRC-2, seed 004): so that a clinician never takes
 * a missing item for an absent one.
 *
 *   GET /Endpoint            every registered source system as an Endpoint (also POST
 *                            /Endpoint/_search): its site
 *   GET /Endpoint/<id>       (managingOrganization), status active or error (interrupted),
 *                            its last delivery and any interruption (extensions)
 *   and, in every searchset of shared data, an OperationOutcome (search.mode "outcome",
 *   severity warning, code incomplete) naming each interrupted source.
 *
 * The state is about systems, not patients: the same for every search whoever it is about,
 * so it tells nothing of a patient (no existence oracle). Not logged: no personal data. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "core/alloc.h"
#include "service/sources.h"

#define EXT_LAST   OB_FHIR_SD "last-delivery"
#define EXT_SINCE  OB_FHIR_SD "interrupted-since"
#define EXT_REASON OB_FHIR_SD "interruption-reason"
#define CLIENT_SYS OB_FHIR_BASE "/source-client"

json_t *ob_api_sources_outcome(ob_hub *h, ob_time now)
{
    ob_source_status *v;
    size_t n;
    ob_err e = {0};
    if (ob_hub_sources_interrupted(h, now, &v, &n, &e) != OB_OK) /* unknown state: say so */
        return json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "OperationOutcome", "issue",
                         "severity", "warning", "code", "incomplete", "diagnostics",
                         "the state of the source systems could not be read: data may be "
                         "missing");
    json_t *issues = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].since)
            continue;
        const char *site = NULL, *kind = NULL;
        if (v[i].site)
            ob_api_org_display(h, v[i].site, &site, &kind);
        char last[32] = "never", since[32], msg[640];
        if (v[i].last_update)
            ob_fhir_time(v[i].last_update, last);
        ob_fhir_time(v[i].since, since);
        snprintf(
            msg, sizeof msg,
            "data from %s (%s) may be missing or out of date: %s since %s, last delivery %s%s%s "
            "(R-SRC-2)",
            v[i].name ? v[i].name : v[i].client, site ? site : "its site",
            v[i].declared ? "interrupted" : "no delivery", since, last, v[i].reason[0] ? "; " : "",
            v[i].reason);
        if (!issues)
            issues = json_array();
        json_array_append_new(issues, json_pack("{s:s, s:s, s:s}", "severity", "warning", "code",
                                                "incomplete", "diagnostics", msg));
    }
    ob_free(v);
    return issues ? json_pack("{s:s, s:o}", "resourceType", "OperationOutcome", "issue", issues)
                  : NULL;
}

static json_t *endpoint(ob_hub *h, const ob_source_status *s, size_t i)
{
    char id[32], org[160], addr[120];
    snprintf(id, sizeof id, "source-%zu", i + 1);
    snprintf(org, sizeof org, "Organization/%.140s", s->site ? s->site : "");
    snprintf(addr, sizeof addr, "urn:overblik:source:%s", id);
    const char *site = NULL, *kind = NULL;
    if (s->site)
        ob_api_org_display(h, s->site, &site, &kind);
    json_t *o = json_pack(
        "{s:s, s:s, s:[{s:s, s:s}], s:s, s:{s:s, s:s}, s:s, s:{s:s}, s:[{s:s}], s:s}",
        "resourceType", "Endpoint", "id", id, "identifier", "system", CLIENT_SYS, "value",
        s->client, "status", s->since ? "error" : "active", "connectionType", "system",
        "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "code", "hl7-fhir-rest",
        "name", s->name ? s->name : s->client, "managingOrganization", "reference", org,
        "payloadType", "text", "the patient's shared data (R-SRC-1)", "address", addr);
    if (!o)
        return NULL;
    if (site)
        json_object_set_new(json_object_get(o, "managingOrganization"), "display",
                            json_string(site));
    json_t *ext = json_array();
    char t[32];
    if (s->last_update) {
        ob_fhir_time(s->last_update, t);
        json_array_append_new(ext, json_pack("{s:s, s:s}", "url", EXT_LAST, "valueInstant", t));
    }
    if (s->since) {
        ob_fhir_time(s->since, t);
        json_array_append_new(ext, json_pack("{s:s, s:s}", "url", EXT_SINCE, "valueInstant", t));
        json_array_append_new(
            ext, json_pack("{s:s, s:s}", "url", EXT_REASON, "valueString",
                           s->reason[0]  ? s->reason
                           : s->declared ? "declared by the operator"
                                         : "no delivery for longer than its registration allows"));
    }
    if (json_array_size(ext))
        json_object_set_new(o, "extension", ext);
    else
        json_decref(ext);
    return o;
}

ob_status ob_api_sources(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                         const char *rest, ob_api_response *out, ob_err *e)
{
    (void)type;
    bool post_search = strcmp(rq->method, "POST") == 0 && strcmp(rest, "/_search") == 0;
    if (post_search)
        rest = "";
    else if (strcmp(rq->method, "GET") != 0 ||
             (rest[0] &&
              (rest[0] != '/' || strchr(rest + 1, '/') || rest[1] == '_' || rest[1] == '$'))) {
        ob_api_outcome(out, 405, "not-supported",
                       "Endpoint is read with GET and searched with GET or POST _search");
        return OB_OK;
    }
    if (!ob_api_params_only(rq, NULL, out))
        return OB_OK;
    ob_source_status *v;
    size_t n;
    if (ob_hub_sources_status(h, c->now, &v, &n, e) != OB_OK) {
        ob_api_store_failed(out, "the sources' state (not read)");
        return OB_OK;
    }
    if (rest[0]) { /* a read */
        const char *id = rest + 1;
        size_t k = 0;
        if (strncmp(id, "source-", 7) == 0)
            for (const char *p = id + 7; *p >= '0' && *p <= '9' && k < 100000; p++)
                k = k * 10 + (size_t)(*p - '0');
        char want[32];
        snprintf(want, sizeof want, "source-%zu", k);
        if (k >= 1 && k <= n && strcmp(want, id) == 0) {
            out->status = 200;
            out->body = endpoint(h, &v[k - 1], k - 1);
        } else {
            ob_api_outcome(out, 404, "not-found", "no such source system");
        }
        ob_free(v);
        return OB_OK;
    }
    json_t *b = ob_api_bundle_new("searchset");
    for (size_t i = 0; b && i < n; i++)
        ob_api_bundle_add(b, rq->base_url, endpoint(h, &v[i], i));
    if (b)
        json_object_set_new(b, "total", json_integer((json_int_t)n));
    ob_free(v);
    out->status = 200;
    out->body = b;
    return OB_OK;
}
