/* api.h - overblik's HTTP-facing operations, independent of the transport.
 *
 * The HTTP server (src/http/) authenticates the caller (a verified JWT, R-API-2), turns
 * the claims and headers into an ob_caller, parses the body with its hard caps, and
 * hands an ob_api_request to ob_api_handle. Everything a resource means (FHIR R4
 * mapping, R-APT, blocks and consents, the patient's AuditEvent log, the overview,
 * statistics releases) lives below this header, so that tests can drive it without a
 * socket and the server stays a thin shell.
 *
 * Contract:
 *  - Every read that reveals patient data asks the decision engine and is logged
 *    durably (ob_hub_decide, one entry per search with the result ids) BEFORE
 *    ob_api_handle returns the response (R-LOG-1). If logging fails the response is a
 *    500 OperationOutcome that reveals nothing.
 *  - A hidden record and a record that does not exist answer identically (status and
 *    body); search totals count only what the caller may see.
 *  - Errors are FHIR OperationOutcome bodies. No error text contains a CPR number
 *    (R-CPR-2); parameters that carry a CPR are honoured only when they came in a
 *    POST body (ob_api_param.from_body), never from the URL.
 *  - Bad input changes nothing (R-API-5).
 *
 * Ownership: the request and everything it points to are borrowed for the call. The
 * response body is owned by the response; release it with ob_api_response_release. */
#ifndef OB_API_API_H
#define OB_API_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "service/hub.h"

/* Who is asking, after authentication. Ids are internal index ids (model.h). */
typedef struct ob_caller {
    uint8_t kind;            /* ob_actor_kind: professional, citizen, source system */
    uint32_t actor;          /* professional id, or the citizen's own patient id; OB_NONE
                              * for a source system */
    uint32_t acting_org;     /* the site a professional or source system acts for; OB_NONE
                              * for a citizen */
    uint32_t on_behalf_of;   /* an assistant's authorised professional (R-ACC-3), or OB_NONE */
    uint8_t purpose;         /* ob_purpose (policy.h) stated for this request */
    uint32_t purposes;       /* bit p set: the caller's token allows purpose p (R-ACC-15);
                              * a request with any other purpose is refused and logged.
                              * 0 allows none: the transport must set it from the token */
    uint8_t override;        /* ob_override: break-the-glass (R-BLK-4), OB_OVERRIDE_NONE if not */
    char justification[512]; /* the mandatory override reason, UTF-8; empty if none */
    char client_id[64];      /* source systems: the OAuth client id; empty otherwise */
    char subject[64];        /* the token's subject, never a CPR (citizens: patient ext_id) */
    int64_t now;             /* ob_time of the request */
    /* SMART v2 scopes (issue 25), which can only narrow what the engine permits:
     * has_scopes false: the token carried no scope claim, nothing narrowed; else scopes
     * holds the granted ",Type:perms," entries (perms from c r u d s; Type may be *),
     * and an interaction none grants is refused at the door */
    bool has_scopes;
    char scopes[512];
    /* issue 26 (R-BLK-3, seed 000): the patient (ext id) a GP says they are showing their own
     * log to, sitting with them (X-Shown-To-Patient); "" for none. Only the patient's own
     * GP may, and it is logged as such */
    char shown_to[64];
} ob_caller;

/* Reads a token's space-separated scope claim into c->scopes (SMART v2 and v1 resource
 * scopes: patient|user|system / Type|* . cruds|read|write|*); other scopes (openid,
 * launch/patient, ...) grant nothing here, and a scope with a query is left out (it would
 * grant less than its base). Sets c->has_scopes. */
void ob_api_scopes_parse(const char *claim, ob_caller *c);
/* Whether the caller's scopes grant perm (c r u d s) on type. */
bool ob_api_scope_allows(const ob_caller *c, const char *type, size_t type_len, char perm);

/* One decoded parameter (query string or an application/x-www-form-urlencoded or JSON
 * Parameters body of a POST _search). */
typedef struct ob_api_param {
    const char *name;
    const char *value;
    bool from_body; /* false: it came in the URL, so it must not carry a CPR */
} ob_api_param;

typedef struct ob_api_request {
    const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path;   /* below the mount point, e.g. "/Appointment/123" or "/metadata";
                         * percent-decoded, without the query string */
    const ob_api_param *params;
    size_t nparams;
    json_t *body;         /* parsed JSON body (caps and nesting depth already checked by
                           * the transport), or NULL */
    const char *base_url; /* e.g. "http://127.0.0.1:8080/fhir", for fullUrl and Location */
    const char *if_match; /* the If-Match header (W/"<versionId>"), or NULL: an update
                           * only if the resource is still at that version */
    bool *ignored;        /* Prefer: handling=lenient: nparams flags, false on entry and
                           * owned by the caller, that the API sets for the parameters it
                           * ignored instead of refusing (and leaves out of Bundle links);
                           * NULL: strict, an unknown parameter is a 400 */
    /* what the CapabilityStatement's rest.security says (issue 25): the SMART identity
     * provider's endpoints (NULL: none configured) and whether CORS is on */
    const char *oauth_authorize, *oauth_token;
    bool cors;
} ob_api_request;

typedef struct ob_api_response {
    int status;   /* HTTP status */
    json_t *body; /* owned; a FHIR resource, Bundle or OperationOutcome; NULL for 204 */
    char *text;   /* owned; instead of body on hot paths: the body already written
                   * as FHIR JSON text (core/jsonw.h), text_len bytes, NUL-ended */
    size_t text_len;
    char location[256];       /* Location header for 201, or empty */
    char etag[64];            /* ETag (W/"<versionId>"), or empty */
    const char *content_type; /* static; NULL means application/fhir+json */
} ob_api_response;

/* The FHIR R4 API mounted at /fhir. Always fills *out (status >= 400 with an
 * OperationOutcome on any failure) and returns OB_OK, or a status only for failures
 * that the transport must turn into a 500 (then *out is left empty). */
ob_status ob_api_handle(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                        ob_api_response *out, ob_err *e);

/* Builds an OperationOutcome (severity "error", an issue code such as "invalid",
 * "not-found", "forbidden", "login", "too-costly", "exception") into *out with the
 * given HTTP status. The text must not contain a CPR number. */
void ob_api_outcome(ob_api_response *out, int status, const char *code, const char *text);

/* The answer when a request's log entry could not be written (R-LOG-1): 503 "transient",
 * the same for every request, so it reveals nothing, not even whether a record exists;
 * nothing was shown or changed. The transport adds Retry-After. */
void ob_api_log_failed(ob_api_response *out);

void ob_api_response_release(ob_api_response *r);
/* Gives a response written as text its body tree too (tests, and callers that inspect
 * the answer); false if the text is not JSON. A response without text is left alone. */
bool ob_api_response_parse(ob_api_response *r);

#endif
