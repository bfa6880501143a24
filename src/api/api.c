/* api.c - the transport-independent FHIR API (api.h): checks that apply to every
 * request (no CPR in the URL, R-CPR-2), then routes /<Type>[/<rest>] to the handler of
 * that resource family (internal.h), and the OperationOutcome helpers. */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "core/cpr.h"
#include "core/alloc.h"
#include "core/jsonw.h"

/* text, with every byte that is not part of valid UTF-8 replaced by '?', in buf (cut
 * short at a character when it does not fit). */
static const char *utf8_only(const char *text, char *buf, size_t cap)
{
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p;) {
        size_t n = ob_utf8_len(p);
        if (k + (n ? n : 1) >= cap)
            break;
        if (n)
            memcpy(buf + k, p, n), k += n, p += n;
        else
            buf[k++] = '?', p++;
    }
    buf[k] = '\0';
    return buf;
}

void ob_api_outcome(ob_api_response *out, int status, const char *code, const char *text)
{
    /* The last guard of R-CPR-2: every error a caller sees passes here, so a CPR number
     * that a layer below quoted (an id, a value) does not leave, whatever the layer. */
    if (ob_cpr_in_text(text))
        text = "the request was refused; the reason is not shown because it would quote a CPR "
               "number";
    /* JSON text is UTF-8: a message quoting a caller's bytes (a parameter name) that are
     * not would make no OperationOutcome at all (found by fuzz_api) */
    char clean[1024];
    text = utf8_only(text, clean, sizeof clean);
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
    ob_free(r->text);
    memset(r, 0, sizeof *r);
}

bool ob_api_response_parse(ob_api_response *r)
{
    if (!r->text || r->body)
        return true;
    r->body = json_loadb(r->text, r->text_len, 0, NULL);
    return r->body != NULL;
}

/* The resource types served: the interactions each handler answers, the search parameters
 * each search takes ("name:type", as the handlers accept them), the _include and
 * _revinclude values (the same lists the handlers check, params.c) and the operations.
 * tests/unit/api/test_include.c sends every interaction, parameter and operation listed
 * and fails if one answers "not supported". Only Appointment keeps versions (its current
 * one), and it is updated only by identifier (a conditional update), never by id. */
#define SOURCE_UPDATE                                                                              \
    "only by the source system that wrote it, as a conditional update by its own identifier: "     \
    "PUT /<type>?identifier=<system>|<value> (withdraw: status entered-in-error); with "           \
    "If-Match: W/\"<versionId>\" only while still at that version (412 otherwise)"

#define EVENT_UPDATE                                                                               \
    "the source system reports the event; only a conditional update by its own identifier: "       \
    "PUT /<type>?identifier=<system>|<value>; a finished, completed or cancelled event ends the "  \
    "treatment relationship it started (not read back)"

static const struct capability {
    const char *type;
    const char *interactions;
    const char *params;
    const char *const *include, *const *revinclude;
    const char *operation;  /* "name other", or NULL */
    const char *update_doc; /* how an update is made, when not by id; NULL: by id */
} capabilities[] = {
    {"Appointment", "read vread history-instance search-type create",
     "patient:reference patient.identifier:token actor:reference date:date status:token "
     "_count:number _offset:number _summary:token _sort:special",
     ob_api_include_appointment, NULL, NULL,
     "only as a conditional update by the source's own identifier: PUT "
     "/Appointment?identifier=<system>|<value> (cancel: status cancelled); with If-Match: "
     "W/\"<versionId>\" only while still at that version (412 otherwise)"},
    {"Consent", "read search-type create update",
     "patient:reference patient.identifier:token _count:number _offset:number _summary:token", NULL,
     NULL, NULL, NULL},
    {"AuditEvent", "read search-type create",
     "patient:reference patient.identifier:token agent:reference date:date _count:number "
     "_offset:number _summary:token _sort:special",
     NULL, NULL, "prove", NULL},
    {"Observation", "read search-type create",
     "patient:reference patient.identifier:token code:token category:token date:date "
     "_count:number _offset:number _summary:token _sort:special",
     ob_api_include_observation, NULL, NULL, NULL},
    {"Condition", "read search-type",
     "patient:reference patient.identifier:token code:token category:token "
     "recorded-date:date _count:number _offset:number _summary:token _sort:special",
     ob_api_include_condition, NULL, NULL, NULL},
    {"MedicationStatement", "read search-type create",
     "patient:reference patient.identifier:token code:token effective:date _count:number "
     "_offset:number _summary:token _sort:special",
     ob_api_include_medication, NULL, NULL, SOURCE_UPDATE},
    {"Immunization", "read search-type create",
     "patient:reference patient.identifier:token vaccine-code:token date:date _count:number "
     "_offset:number _summary:token _sort:special",
     ob_api_include_immunization, NULL, NULL, SOURCE_UPDATE},
    {"DocumentReference", "read search-type create",
     "patient:reference patient.identifier:token type:token category:token date:date "
     "_count:number _offset:number _summary:token _sort:special",
     ob_api_include_document, NULL, NULL, SOURCE_UPDATE},
    {"Patient", "read search-type", "_id:token identifier:token", NULL, ob_api_revinclude_patient,
     "overview patients-like-me everything disclose uses", NULL},
    {"Organization", "read search-type",
     "_id:token identifier:token name:string partof:reference _count:number", NULL, NULL, NULL,
     NULL},
    {"Endpoint", "read search-type", "", NULL, NULL, NULL, NULL},
    {"Practitioner", "read search-type", "_id:token identifier:token name:string _count:number",
     NULL, NULL, NULL, NULL},
    /* issue 21: events that start and end treatment relationships, written by their source */
    {"Encounter", "create", "", NULL, NULL, NULL, EVENT_UPDATE},
    {"EpisodeOfCare", "create", "", NULL, NULL, NULL, EVENT_UPDATE},
    {"ServiceRequest", "create", "", NULL, NULL, NULL, EVENT_UPDATE},
};

/* "read update" as [{"code": "read"}, {"code": "update", "documentation": update_doc}] */
static json_t *interactions(const char *spec, const char *update_doc)
{
    json_t *a = json_array();
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, " ");
        json_t *i = json_pack("{s:s%}", "code", p, len);
        if (update_doc && len == 6 && strncmp(p, "update", 6) == 0)
            json_object_set_new(i, "documentation", json_string(update_doc));
        json_array_append_new(a, i);
        p += len + (p[len] == ' ');
    }
    return a;
}

/* "a:t b:u" as [{"name": "a", "type": "t"}, ...] */
static json_t *search_params(const char *spec)
{
    json_t *a = json_array();
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, " "), colon = strcspn(p, ":");
        json_array_append_new(
            a, json_pack("{s:s%, s:s%}", "name", p, colon, "type", p + colon + 1, len - colon - 1));
        p += len + (p[len] == ' ');
    }
    return a;
}

static json_t *names(const char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void metadata(const ob_api_request *rq, ob_api_response *out)
{
    json_t *res = json_array();
    for (size_t i = 0; i < sizeof capabilities / sizeof capabilities[0]; i++) {
        const struct capability *k = &capabilities[i];
        bool versioned = strstr(k->interactions, "vread") != NULL || k->update_doc != NULL;
        json_t *r = json_pack("{s:s, s:o, s:s, s:b, s:b, s:o}", "type", k->type, "interaction",
                              interactions(k->interactions, k->update_doc), "versioning",
                              versioned ? "versioned-update" : "no-version", "readHistory", 0,
                              "conditionalUpdate", k->update_doc != NULL, "searchParam",
                              search_params(k->params));
        if (k->operation) { /* space-separated names */
            json_t *ops = json_array();
            for (const char *op = k->operation; *op;) {
                int len = (int)strcspn(op, " ");
                char def[128];
                snprintf(def, sizeof def, "https://overblik.dk/fhir/OperationDefinition/%s-%.*s",
                         k->type, len, op);
                json_array_append_new(
                    ops, json_pack("{s:s%, s:s}", "name", op, (size_t)len, "definition", def));
                op += len + (op[len] == ' ');
            }
            json_object_set_new(r, "operation", ops);
        }
        if (k->update_doc) /* conditional only: said in the resource's documentation */
            json_object_set_new(r, "documentation", json_string(k->update_doc));
        if (k->params[0]) { /* every search takes these (params.c) */
            json_t *more = search_params("_elements:special _total:special");
            json_array_extend(json_object_get(r, "searchParam"), more);
            json_decref(more);
        }
        if (k->include)
            json_object_set_new(r, "searchInclude", names(k->include));
        if (k->revinclude)
            json_object_set_new(r, "searchRevInclude", names(k->revinclude));
        json_array_append_new(res, r);
    }
    out->status = 200;
    out->body =
        json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:[s], s:[{s:s, s:o}]}", "resourceType",
                  "CapabilityStatement", "status", "active", "date", "2026-11-23", "kind",
                  "instance", "software", "name", "overblik", "fhirVersion", "4.0.1", "format",
                  "application/fhir+json", "rest", "mode", "server", "resource", res);
    /* issue 25: how to log in (SMART App Launch), when an identity provider is configured */
    json_t *rest0 = json_array_get(json_object_get(out->body, "rest"), 0);
    /* issue 25: the entries that are not matches, in the standard place a client reads them */
    json_object_set_new(
        rest0, "documentation",
        json_string("Searchsets may carry entries with search.mode = outcome that are not "
                    "matches: an OperationOutcome with issue code 'suppressed' (severity "
                    "information) says that the patient's block withholds something from you "
                    "(R-BLK-1; never what, and total counts only what you see); one with issue "
                    "code 'incomplete' names sources whose delivery is interrupted (R-SRC-2). "
                    "Read them as FHIR R4 search.html says: entries with mode 'match' are the "
                    "results. Events (Encounter, EpisodeOfCare, ServiceRequest) are written by "
                    "their source and start and end treatment relationships; they are not "
                    "read back."));
    json_t *sec = json_pack("{s:b}", "cors", rq->cors);
    if (rq->oauth_authorize && rq->oauth_token) {
        json_object_set_new(
            sec, "service",
            json_pack("[{s:[{s:s, s:s}]}]", "coding", "system",
                      "http://terminology.hl7.org/CodeSystem/restful-security-service", "code",
                      "SMART-on-FHIR"));
        json_object_set_new(
            sec, "extension",
            json_pack("[{s:s, s:[{s:s, s:s}, {s:s, s:s}]}]", "url",
                      "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                      "extension", "url", "authorize", "valueUri", rq->oauth_authorize, "url",
                      "token", "valueUri", rq->oauth_token));
    }
    json_object_set_new(rest0, "security", sec);
    /* cpb-14: an instance's statement says which implementation it describes */
    json_object_set_new(
        out->body, "implementation",
        rq->base_url ? json_pack("{s:s, s:s}", "description",
                                 "overblik, the shared health-data hub", "url", rq->base_url)
                     : json_pack("{s:s}", "description", "overblik, the shared health-data hub"));
}

static const struct route {
    const char *type;
    ob_api_handler fn;
} routes[] = {
    {"Appointment", ob_api_appointment},
    {"Consent", ob_api_consent},
    {"AuditEvent", ob_api_audit},
    {"Observation", ob_api_clinical},
    {"Condition", ob_api_clinical},
    {"Patient", ob_api_patient},
    {"MedicationStatement", ob_api_clinical},
    {"Immunization", ob_api_clinical},
    {"DocumentReference", ob_api_clinical},
    {"Organization", ob_api_directory},
    {"Practitioner", ob_api_directory},
    {"RelatedPerson", ob_api_grants},
    {"PractitionerRole", ob_api_grants},
    {"EpisodeOfCare", ob_api_events},
    {"Encounter", ob_api_events},
    {"ServiceRequest", ob_api_events},
    {"Endpoint", ob_api_sources},
};

/* Whether key is one of the comma-separated element names; "value[x]" stands for each
 * typed form ("valueQuantity", "valueString", ...). */
static bool element_in(const char *key, const char *list)
{
    for (const char *t = list; *t;) {
        size_t len = strcspn(t, ",");
        if (len > 3 && memcmp(t + len - 3, "[x]", 3) == 0) {
            size_t stem = len - 3;
            if (strncmp(key, t, stem) == 0 && key[stem] >= 'A' && key[stem] <= 'Z')
                return true;
        } else if (strlen(key) == len && memcmp(key, t, len) == 0) {
            return true;
        }
        t += len + (t[len] == ',');
    }
    return false;
}

/* FHIR _elements and _summary on a search (search.html#elements, #summary): each match
 * keeps resourceType, id, meta, its type's mandatory elements (min cardinality 1 in R4,
 * "SHOULD always return") and
 *   _elements=a,b   the elements named;
 *   _summary=true   the elements R4 marks isSummary, and `extension` (ours carry meaning:
 *                   an end time that was made up, who set a block);
 *   _summary=text   text (the narrative);
 *   _summary=data   everything but text;
 * and is tagged SUBSETTED; includes stay whole. The search accepted the parameter
 * (params.c) unless it ignored it (lenient), and it is applied to what was already decided
 * and logged, so it can only leave things out. */
static void subset(const ob_api_request *rq, ob_api_response *out)
{
    /* from the R4 StructureDefinitions (hl7.fhir.r4 4.0.1, snapshot: min >= 1, and
     * isSummary), top-level elements only */
    static const struct {
        const char *type, *mandatory, *summary;
    } defs[] = {
        {"Appointment", "status,participant",
         "identifier,status,cancelationReason,serviceCategory,serviceType,specialty,"
         "appointmentType,reasonCode,start,end"},
        {"Observation", "status,code",
         "identifier,basedOn,partOf,status,code,subject,focus,encounter,effective[x],issued,"
         "performer,value[x],hasMember,derivedFrom,component"},
        {"Condition", "subject",
         "identifier,clinicalStatus,verificationStatus,code,bodySite,subject,encounter,"
         "onset[x],recordedDate,recorder,asserter"},
        {"AuditEvent", "type,recorded,agent,source",
         "type,subtype,action,recorded,outcome,outcomeDesc,purposeOfEvent"},
        {"Consent", "status,scope,category",
         "identifier,status,scope,category,patient,dateTime,performer,organization,source[x],"
         "policyRule,verification,provision"},
        {"Patient", "",
         "identifier,active,name,telecom,gender,birthDate,deceased[x],address,"
         "managingOrganization,link"},
        {"MedicationStatement", "status,medication[x],subject",
         "identifier,basedOn,partOf,status,category,medication[x],subject,context,effective[x],"
         "dateAsserted"},
        {"Immunization", "status,vaccineCode,patient,occurrence[x]",
         "identifier,status,vaccineCode,patient,occurrence[x],primarySource,performer,note,"
         "isSubpotent"},
        {"DocumentReference", "status,content",
         "masterIdentifier,identifier,status,docStatus,type,category,subject,date,author,"
         "authenticator,custodian,relatesTo,description,securityLabel,content,context"},
    };
    enum { NONE, ELEMENTS, S_TRUE, S_TEXT, S_DATA } mode = NONE;
    const char *names = NULL;
    for (size_t i = 0; i < rq->nparams; i++) {
        if (rq->ignored && rq->ignored[i])
            continue;
        const char *n = rq->params[i].name, *v = rq->params[i].value;
        if (strcmp(n, "_elements") == 0 && mode == NONE) {
            mode = ELEMENTS;
            names = v;
        } else if (strcmp(n, "_summary") == 0) { /* values checked by ob_api_paging */
            mode = strcmp(v, "true") == 0   ? S_TRUE
                   : strcmp(v, "text") == 0 ? S_TEXT
                   : strcmp(v, "data") == 0 ? S_DATA
                                            : mode;
        }
    }
    if (mode == NONE || !ob_api_response_parse(out) || !out->body)
        return;
    const char *rt = json_string_value(json_object_get(out->body, "resourceType"));
    const char *type = json_string_value(json_object_get(out->body, "type"));
    if (!rt || strcmp(rt, "Bundle") != 0 || !type || strcmp(type, "searchset") != 0)
        return;
    size_t i;
    json_t *en;
    json_array_foreach(json_object_get(out->body, "entry"), i, en)
    {
        const char *mode_s =
            json_string_value(json_object_get(json_object_get(en, "search"), "mode"));
        json_t *res = json_object_get(en, "resource");
        if (!mode_s || strcmp(mode_s, "match") != 0 || !json_is_object(res))
            continue;
        const char *rtype = json_string_value(json_object_get(res, "resourceType"));
        const char *must = "", *summary = "";
        for (size_t m = 0; rtype && m < sizeof defs / sizeof defs[0]; m++)
            if (strcmp(rtype, defs[m].type) == 0) {
                must = defs[m].mandatory;
                summary = defs[m].summary;
            }
        const char *key;
        json_t *v, *tmp;
        json_object_foreach_safe(res, tmp, key, v)
        {
            bool keep = strcmp(key, "resourceType") == 0 || strcmp(key, "id") == 0 ||
                        strcmp(key, "meta") == 0 || element_in(key, must);
            if (mode == ELEMENTS)
                keep = keep || ob_api_in_list(key, names);
            else if (mode == S_TRUE) /* our extensions carry meaning (a fictive end time) */
                keep = keep || element_in(key, summary) || strcmp(key, "extension") == 0;
            else if (mode == S_TEXT)
                keep = keep || strcmp(key, "text") == 0;
            else /* S_DATA */
                keep = strcmp(key, "text") != 0;
            if (!keep)
                json_object_del(res, key);
        }
        json_t *meta = json_object_get(res, "meta");
        if (!json_is_object(meta)) {
            meta = json_object();
            json_object_set_new(res, "meta", meta);
        }
        json_t *tags = json_object_get(meta, "tag");
        if (!json_is_array(tags)) {
            tags = json_array();
            json_object_set_new(meta, "tag", tags);
        }
        json_array_append_new(tags,
                              json_pack("{s:s, s:s, s:s}", "system",
                                        "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                                        "code", "SUBSETTED", "display", "subsetted"));
    }
    ob_free(out->text); /* the transport sends the tree now */
    out->text = NULL;
    out->text_len = 0;
}

/* Issue 24: a system caller does only what its registration allows (ob_source.ops):
 * writing appointments, reading back its own site's data, ending relationships. */
static bool system_may(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *p,
                       size_t tl);

char ob_api_scope_perm(const char *method, const char *rest)
{
    bool type_level =
        rest[0] == '\0' || strcmp(rest, "/_search") == 0 || strncmp(rest, "/$", 2) == 0;
    if (strcmp(method, "PUT") == 0)
        return 'u';
    if (strcmp(method, "DELETE") == 0)
        return 'd';
    if (strcmp(method, "POST") == 0 && rest[0] == '\0')
        return 'c';
    return type_level ? 's' : 'r';
}

bool ob_api_system_may(ob_hub *h, const ob_caller *c, const ob_api_request *rq)
{
    const char *p = rq->path[0] == '/' ? rq->path + 1 : rq->path;
    return system_may(h, c, rq, p, strcspn(p, "/"));
}

static bool system_may(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *p,
                       size_t tl)
{
    pthread_rwlock_rdlock(&h->lock);
    const ob_source *s = ob_index_find_source(h->ix, c->client_id);
    uint8_t ops = s ? s->ops : 0;
    pthread_rwlock_unlock(&h->lock);
    bool read = strcmp(rq->method, "GET") == 0 || strstr(p, "/_search") != NULL;
    uint8_t need = (tl == 13 && strncmp(p, "EpisodeOfCare", 13) == 0) ||
                           (tl == 9 && strncmp(p, "Encounter", 9) == 0) ||
                           (tl == 14 && strncmp(p, "ServiceRequest", 14) == 0)
                       ? OB_SRC_OP_RELATIONSHIPS
                   : read                                           ? OB_SRC_OP_READ
                   : tl == 11 && strncmp(p, "Appointment", 11) == 0 ? OB_SRC_OP_APPOINTMENTS
                   : (tl == 19 && strncmp(p, "MedicationStatement", 19) == 0) ||
                           (tl == 12 && strncmp(p, "Immunization", 12) == 0) ||
                           (tl == 17 && strncmp(p, "DocumentReference", 17) == 0)
                       ? OB_SRC_OP_ITEMS
                   : tl == 10 && strncmp(p, "AuditEvent", 10) == 0 ? OB_SRC_OP_AUDIT
                                                                   : 0;
    return need && (ops & need) == need;
}

ob_status ob_api_handle(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                        ob_api_response *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    /* R-CPR-2: a CPR number never travels in a URL. Refuse without echoing it. */
    if (ob_cpr_in_text(rq->path)) {
        ob_api_outcome(out, 400, "invalid",
                       "CPR numbers are accepted only in the body of a POST _search, never "
                       "in a URL (R-CPR-2)");
        return OB_OK;
    }
    for (size_t i = 0; i < rq->nparams; i++) {
        if (!rq->params[i].from_body &&
            (ob_cpr_in_text(rq->params[i].value) || ob_cpr_in_text(rq->params[i].name))) {
            ob_api_outcome(out, 400, "invalid",
                           "CPR numbers are accepted only in the body of a POST _search, "
                           "never in a URL (R-CPR-2)");
            return OB_OK;
        }
    }
    if (strcmp(rq->path, "/metadata") == 0) {
        if (strcmp(rq->method, "GET") != 0) {
            ob_api_outcome(out, 405, "not-supported", "metadata is read with GET");
            return OB_OK;
        }
        metadata(rq, out);
        return OB_OK;
    }
    /* R-ACC-15: the purposes a caller may use come from their token; a purpose outside
     * them is refused before any data is looked at, and logged */
    if (c->purpose >= OB_PURPOSE_COUNT || !(c->purposes & (1u << c->purpose))) {
        ob_api_read_log lr = {OB_NONE,
                              false,
                              c->kind == OB_ACTOR_CITIZEN         ? OB_CAP_CITIZEN
                              : c->kind == OB_ACTOR_SOURCE_SYSTEM ? OB_CAP_SOURCE_SYSTEM
                              : c->on_behalf_of != OB_NONE        ? OB_CAP_ASSISTANT
                                                                  : OB_CAP_PROFESSIONAL,
                              "R-ACC-15",
                              "no legal basis",
                              "the purpose of use is not one your token allows",
                              "request",
                              NULL};
        if (ob_api_log_read(h, c, &lr, NULL, e) != OB_OK) {
            ob_api_log_failed(out);
            return OB_OK;
        }
        ob_hub_count_decision(h, OB_RULE_ACC_15, false);
        ob_api_outcome(out, 403, "forbidden",
                       "the purpose of use is not one your token allows (R-ACC-15)");
        return OB_OK;
    }
    const char *p = rq->path[0] == '/' ? rq->path + 1 : rq->path;
    size_t tl = strcspn(p, "/");
    if (p[0] == '\0') { /* the base: batch and transaction Bundles, checked per entry */
        if (strcmp(rq->method, "POST") == 0)
            return ob_api_bundle(h, c, rq, out, e);
        ob_api_outcome(out, 405, "not-supported",
                       "the base takes POST of a batch or transaction Bundle only");
        return OB_OK;
    }
    /* issue 25: no type supports DELETE or PATCH; say so (405), whoever asks, before a
     * registration's or a role's refusal could suggest otherwise */
    if (strcmp(rq->method, "DELETE") == 0 || strcmp(rq->method, "PATCH") == 0) {
        ob_api_outcome(out, 405, "not-supported",
                       "no resource here is deleted or patched: a source withdraws its own "
                       "with status entered-in-error (PUT), a block is lifted with PUT");
        return OB_OK;
    }
    /* SMART v2 scopes narrow what the engine would permit, never widen it (issue 25) */
    char perm = ob_api_scope_perm(rq->method, p + tl);
    if (c->has_scopes && !ob_api_scope_allows(c, p, tl, perm)) {
        char msg[160];
        snprintf(msg, sizeof msg, "the token's scopes do not grant '%c' on %.*s (SMART)", perm,
                 (int)(tl < 40 ? tl : 40), p);
        ob_api_outcome(out, 403, "forbidden", msg);
        return OB_OK;
    }
    if (c->kind == OB_ACTOR_SOURCE_SYSTEM && !system_may(h, c, rq, p, tl)) {
        ob_api_outcome(out, 403, "forbidden",
                       "your source system's registration does not allow this operation");
        return OB_OK;
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strlen(routes[i].type) == tl && memcmp(routes[i].type, p, tl) == 0) {
            ob_status rc = routes[i].fn(h, c, rq, routes[i].type, p + tl, out, e);
            if (rc == OB_OK && out->status == 200)
                subset(rq, out);
            return rc;
        }
    }
    ob_api_outcome(out, 404, "not-found", "no such resource type or operation");
    return OB_OK;
}
