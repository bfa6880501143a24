/* api.c - the transport-independent FHIR API (api.h): routing by method and path to the
 * resource handlers, and the OperationOutcome helpers every handler uses for errors. */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

void ob_api_outcome(ob_api_response *out, int status, const char *code, const char *text)
{
    json_decref(out->body);
    out->body = json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "OperationOutcome", "issue",
                          "severity", "error", "code", code, "diagnostics", text);
    out->status = status;
    out->content_type = NULL;
}

void ob_api_response_release(ob_api_response *r)
{
    if (!r)
        return;
    json_decref(r->body);
    memset(r, 0, sizeof *r);
}

static void metadata(ob_api_response *out)
{
    out->status = 200;
    out->body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:[{s:s, s:[]}]}", "resourceType",
                          "CapabilityStatement", "status", "active", "date", "2026-11-23", "kind",
                          "instance", "fhirVersion", "4.0.1", "software", "overblik", "format",
                          "application/fhir+json", "rest", "mode", "server", "resource");
    if (out->body) {
        json_object_set_new(out->body, "software", json_pack("{s:s}", "name", "overblik"));
    }
}

ob_status ob_api_handle(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                        ob_api_response *out, ob_err *e)
{
    (void)h;
    (void)c;
    (void)e;
    memset(out, 0, sizeof *out);
    if (strcmp(rq->path, "/metadata") == 0 && strcmp(rq->method, "GET") == 0) {
        metadata(out);
        return OB_OK;
    }
    ob_api_outcome(out, 404, "not-found", "no such resource or operation");
    return OB_OK;
}
