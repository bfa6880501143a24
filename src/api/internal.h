/* internal.h - what the FHIR API's resource handlers share (not for the transport).
 *
 * api.c routes /<Type>[/<rest>] to one handler per resource family; each lives in its
 * own file (api_appointment.c, api_consent.c, api_audit.c, api_clinical.c,
 * api_patient.c). A handler always fills *out (an OperationOutcome on refusal) and
 * returns OB_OK, or a status for an internal failure (the transport answers 500).
 * params.c reads request parameters; util.c holds the other small helpers below. */
#ifndef OB_API_INTERNAL_H
#define OB_API_INTERNAL_H

#include <string.h>

#include "api/api.h"
#include "core/jsonw.h"
#include "fhir/fhir.h"
#include "policy/policy.h"
#include "service/ingest.h"

/* `type` is the resource type ("Observation"); `rest` is the path after "/<type>":
 * "" (type level), "/<id>", "/_search", "/$overview", "/<id>/$prove", ... */
typedef ob_status (*ob_api_handler)(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                                    const char *type, const char *rest, ob_api_response *out,
                                    ob_err *e);

ob_status ob_api_appointment(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                             const char *type, const char *rest, ob_api_response *out, ob_err *e);
ob_status ob_api_consent(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                         const char *rest, ob_api_response *out, ob_err *e);
ob_status ob_api_audit(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                       const char *rest, ob_api_response *out, ob_err *e);
/* Observation, Condition, MedicationStatement, Immunization, DocumentReference */
ob_status ob_api_clinical(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                          const char *rest, ob_api_response *out, ob_err *e);
/* A source system's write of its own MedicationStatement, Immunization or DocumentReference
 * (R-SRC-1; api_items_write.c): create (POST) or, with create_only false, a conditional
 * create or update by its identifier (PUT ?identifier=), If-Match honoured. */
ob_status ob_api_item_write(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                            const char *type, bool create_only, ob_api_response *out, ob_err *e);
/* Organization and Practitioner: the directory */
ob_status ob_api_directory(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                           const char *type, const char *rest, ob_api_response *out, ob_err *e);
/* Logs a refused attempt to change (R-LOG-1, issue 24; refused.c): event is the
 * ob_log_event of the change tried, patient the one it was about (OB_NONE if none or
 * unknown), `what` the resource tried and `reason` a static text the patient reads. The
 * caller's answer stays what it was; if this fails, answer ob_api_log_failed. */
ob_status ob_api_log_refused(ob_hub *h, const ob_caller *c, uint32_t patient, uint8_t event,
                             const char *what, const char *reason, ob_err *e);
/* RelatedPerson, PractitionerRole, EpisodeOfCare: $end of a grant (api_grants.c) */
ob_status ob_api_grants(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                        const char *rest, ob_api_response *out, ob_err *e);
/* Encounter, EpisodeOfCare, ServiceRequest: the events that start and end treatment
 * relationships, written by their source (api_events.c, issue 21); EpisodeOfCare's $end
 * goes on to ob_api_grants */
ob_status ob_api_events(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                        const char *rest, ob_api_response *out, ob_err *e);
/* Patient: $overview, _search */
/* GET /Patient/<id>/$uses (api_uses.c, issue 26): the statistics releases and research
 * that used the patient's data, for the patient or their attorney. */
ob_status ob_api_uses(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *id,
                      ob_api_response *out, ob_err *e);
ob_status ob_api_patient(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                         const char *rest, ob_api_response *out, ob_err *e);

/* ---- request parameters (params.c) ---- */

/* The value of the first parameter called name, or NULL; *from_body (may be NULL) tells
 * where it came from. */
const char *ob_api_param_get(const ob_api_request *rq, const char *name, bool *from_body);
/* Refuses (400, returns false) any parameter not in the NULL-terminated allowed list,
 * naming it (or, when rq->ignored is set, marks it ignored: Prefer: handling=lenient); FHIR's
 * _format and _pretty are always allowed, and on a search (allowed not NULL)
 * _total=none|estimate|accurate (Bundle.total is always exact) and _elements=a,b (applied
 * to the matches by ob_api_handle). */
bool ob_api_params_only(const ob_api_request *rq, const char *const *allowed, ob_api_response *out);

/* Reads _count (0..500, default 50), _offset (>= 0, default 0) and _summary=count (the
 * total only: count 0); false (400 in *out) when malformed. */
bool ob_api_paging(const ob_api_request *rq, size_t *count, size_t *offset, ob_api_response *out);
/* What each search takes as _include / _revinclude (NULL-terminated; the
 * CapabilityStatement lists the same). The order matters to the handlers' bit masks:
 * revinclude_patient is Appointment (bits 0-1), Observation (2-3), Condition (4-5). */
extern const char *const ob_api_include_appointment[];
extern const char *const ob_api_include_observation[];
extern const char *const ob_api_include_condition[];
extern const char *const ob_api_include_medication[];
extern const char *const ob_api_include_immunization[];
extern const char *const ob_api_include_document[];
extern const char *const ob_api_revinclude_patient[];
/* Every `name` parameter (date=ge2026-01-01, lt..., le..., gt..., eq... or a bare date
 * or dateTime; a date covers its whole day) narrowed into [from, to); to == 0 means no
 * upper bound, as in ob_log_query. False (400 in *out) when malformed. */
bool ob_api_date_range(const ob_api_request *rq, const char *name, ob_time *from, ob_time *to,
                       ob_api_response *out);
/* Whether s is one of the comma-separated items of list ("booked,pending"); a NULL
 * list holds everything (no filter), a NULL s is "". */
static inline bool ob_api_in_list(const char *s, const char *list)
{
    if (!list)
        return true;
    size_t n = strlen(s ? s : "");
    for (const char *t = list; *t;) {
        size_t len = strcspn(t, ",");
        if (len == n && memcmp(t, s ? s : "", n) == 0)
            return true;
        t += len + (t[len] == ',');
    }
    return false;
}

static inline bool ob_api_in_range(ob_time t, ob_time from, ob_time to)
{
    return t >= from && (to == 0 || t < to);
}

/* Bundle.link for a searchset page. "self" always: the search as performed (FHIR R4
 * search.html: a server SHALL return the parameters it used), so a parameter ignored
 * under handling=lenient is not in it. "previous" when offset > 0 and "next" when more
 * matches follow, as GET URLs of the same search (the type from rq->path) with _count
 * and _offset, only when the caller may see something (total > 0). The patient is named
 * by internal id (patient_ext; NULL keeps the request's own parameters) only when
 * total > 0, so a hidden patient's page is the one an absent patient gets, with the
 * search as asked. Never a CPR (R-CPR-2): a request that still holds a CPR-like value
 * gets no links. NULL when there are none; new reference. */
/* after: the id of the page's last match (ob_api_page_last), put in the next link as
 * _after so that the next page starts after it whatever was written meanwhile; NULL for
 * none (the next link pages by _offset alone). */
json_t *ob_api_page_links(const ob_api_request *rq, const char *patient_ext, size_t total,
                          size_t offset, size_t count, const char *after);
/* Sets bundle's "link" to those links, with total read from the bundle (none: unchanged). */
void ob_api_bundle_link(json_t *bundle, const ob_api_request *rq, const char *patient_ext,
                        size_t offset, size_t count, const char *after);
/* The same links written as the member ,"link":[...] of a Bundle being written as text
 * (nothing when there are none). */
void ob_api_page_links_write(ob_jw *w, const ob_api_request *rq, const char *patient_ext,
                             size_t total, size_t offset, size_t count, const char *after);
/* Stable paging (issue 25): a page read by offset repeats or skips matches when a write
 * lands before it between two reads. _after=<id> names the previous page's last match;
 * the page starts after it among the matches the caller may see now (ids[i], ds[i] the
 * first n candidates, includes not among them). Returns that position, or offset when
 * _after is absent or names nothing the caller sees (a withdrawn item: the offset is the
 * fallback). (util.c) */
size_t ob_api_after(const ob_api_request *rq, const char *const *ids, const ob_decision *ds,
                    size_t n, size_t offset);
/* The id of the last match shown on the page at offset (count matches), or NULL. */
const char *ob_api_page_last(const char *const *ids, const ob_decision *ds, size_t n, size_t offset,
                             size_t count);
/* Reads every `param` (_include or _revinclude): each value must be one of the
 * NULL-terminated allowed list (else 400 naming the supported ones, returns false);
 * bit j of *asked is set when allowed[j] was asked for. */
bool ob_api_includes(const ob_api_request *rq, const char *param, const char *const *allowed,
                     unsigned *asked, ob_api_response *out);
/* If-Match of an update: W/"<n>" or "<n>" (a versionId n > 0), or "*" (any existing
 * version). *v = n, or -1 for "*" (OB_APT_ANY_VERSION); 0 when s is NULL (no header).
 * false when malformed. (params.c) */
bool ob_api_if_match(const char *s, int64_t *v);

/* _sort: param (ascending) or -param (descending), the one date a search sorts by, or
 * _lastUpdated / -_lastUpdated (issue 25: what standard clients ask for). *by_updated says
 * which; NULL where the two are the same time (a log entry is never updated). Absent,
 * *descending is left as the search's default. Anything else: false with a 400. (params.c) */
bool ob_api_sort(const ob_api_request *rq, const char *param, bool *descending, bool *by_updated,
                 ob_api_response *out);

/* ---- helpers (util.c) ---- */

/* Resolves the patient a request is about, from `patient` ("Patient/<id>" or "<id>",
 * internal ids only), `patient.identifier` / `identifier` ("<system>|<cpr>" or the
 * bare CPR; only from a POST body), or, for a citizen reading their own data, the
 * caller. *patient is OB_NONE when the patient does not exist: callers answer that
 * exactly as they answer a patient the caller may not see. Returns false (400 in *out)
 * for a malformed or misplaced parameter. Takes the hub's read lock itself. */
bool ob_api_resolve_patient(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                            uint32_t *patient, ob_api_response *out);

/* For a request that named a patient (by internal id, or by a valid CPR number in a POST
 * body) that does not exist: a stand-in patient, chosen by a keyed hash of what was named
 * (the same one every time), for work that must take as long as it would for a real
 * patient the caller may not see (a timing oracle, issue 19). OB_NONE otherwise. Never to
 * be shown, logged or decided on for real. */
uint32_t ob_api_decoy(ob_hub *h, const ob_api_request *rq);

/* An ob_request for the caller about patient (category, origin, time, source set by the
 * caller of this function). */
void ob_api_request_init(const ob_caller *c, uint32_t patient, ob_request *rq);

/* A Bundle of the given type ("searchset", "collection") with total 0 and no entries. */
json_t *ob_api_bundle_new(const char *type);
/* Appends resource (reference stolen) with fullUrl base/<resourceType>/<id> and, for a
 * searchset, search.mode "match"; counts it in total. */
void ob_api_bundle_add(json_t *bundle, const char *base_url, json_t *resource);

/* ---- helpers for searches over decided items (util.c, wt-fhir block) ---- */

/* A searchset Bundle of the permitted resources: res[i] is kept when ds[i].permit
 * (every res[] reference is consumed and set to NULL). The last ninclude are includes
 * (_include/_revinclude): added with search.mode "include", not counted, and only when
 * the page shows a match. Bundle.total counts every permitted match (filter before
 * counting); entries are the page [offset, offset + count). With block_hint the
 * generic "withheld by the patient's block" OperationOutcome is added with search.mode
 * "outcome" (R-BLK-4), never saying what or how much. */
json_t *ob_api_search_bundle(const char *base_url, json_t **res, const ob_decision *ds, size_t n,
                             size_t ninclude, size_t offset, size_t count, bool block_hint);
/* The answer when a write could not be stored (the disk is full, the database is locked
 * or failing): 503 "transient", saying what ("the appointment") was not stored. The data
 * and its log entry are written in one transaction, so nothing changed. */
void ob_api_store_failed(ob_api_response *out, const char *what);
/* ---- writes by source systems (source_write.c, R-APT-1, R-SRC-1) ---- */

/* The checks before a source system's write is parsed: the caller is a source system (else
 * 403 not_a_source), a PUT takes only ?identifier=, If-Match is well-formed (its version in
 * *if_match, 0 when absent). false: out holds the answer. */
bool ob_api_src_begin(const ob_caller *c, const ob_api_request *rq, bool create_only,
                      const char *not_a_source, int64_t *if_match, ob_api_response *out);
/* A conditional write's ?identifier=<system>|<value> names the resource's own identifier;
 * false: out holds the 400. */
bool ob_api_src_key_matches(const ob_api_request *rq, const char *system, const char *value,
                            ob_api_response *out);
/* Who a source system's write is from and about, once checked. */
typedef struct ob_api_src_write {
    uint32_t pat, clinic; /* index ids; pat OB_NONE when the CPR number is unknown */
    const char *refusal;  /* why the write is refused, or NULL */
    bool forbidden;       /* the refusal is about the writer (403), not the data (400) */
    const char *patient, *origin, *client; /* ext ids (index strings) when not refused */
    ob_log_entry actor;                    /* the source system as the log names it */
    char claim_msg[512];
} ob_api_src_write;
/* Fills w: refusal set when the client is not a registered source acting for its own site,
 * the patient is unknown, the clinic (clinic_id, NULL: the source's site) is not the site
 * or a unit of it, or another source owns the identifier system. OB_OK unless the owners
 * of identifier systems could not be read. */
ob_status ob_api_src_check(ob_hub *h, const ob_caller *c, const uint8_t cpr_hash[16],
                           const char *clinic_id, const char *system, ob_api_src_write *w);
/* The sources' state (api_sources.c, R-SRC-2): GET /Endpoint[/<id>], and the
 * OperationOutcome naming every interrupted source that every searchset of shared data
 * carries (NULL when none is; owned by the caller). */
ob_status ob_api_sources(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                         const char *rest, ob_api_response *out, ob_err *e);
json_t *ob_api_sources_outcome(ob_hub *h, ob_time now);
/* path is Patient/<id>/$everything (paged: its links name it). */
bool ob_api_is_everything(const char *path);
/* POST /AuditEvent: a source system's report of an access in its own system (R-SRC-3;
 * api_audit_report.c). */
ob_status ob_api_audit_report(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                              ob_api_response *out, ob_err *e);
/* The SMART permission (c r u d s) a request asks for: method and the path after the type. */
char ob_api_scope_perm(const char *method, const char *rest);
/* What a source system's registration allows it (issue 24): the check at the door, for a
 * request that did not pass the door (a Bundle entry). */
bool ob_api_system_may(ob_hub *h, const ob_caller *c, const ob_api_request *rq);
/* POST /fhir: a batch or transaction Bundle (api_bundle.c). */
ob_status ob_api_bundle(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                        ob_api_response *out, ob_err *e);

/* One write by a source system, parsed and checked, ready to be stored alone or with others
 * in one transaction (a transaction Bundle, api_bundle.c). Owns what it holds until
 * ob_api_write_release. */
typedef struct ob_api_write {
    const char *type; /* "Appointment" or one of the item types */
    ob_api_src_write sw;
    ob_fhir_apt_in apt_in;
    ob_apt apt;
    ob_fhir_doc_in doc;
    ob_src_item item;
    char *rec_text; /* item.rec as JSON text (owned) */
    ob_write w;     /* what ob_hub_write_many takes */
} ob_api_write;
/* Parses and checks a write of `type` (rq: its body, ?identifier= and If-Match): true when
 * it may be stored; false when out holds the refusal (already logged where a refusal is
 * logged). create_only: a POST. */
bool ob_api_write_prepare(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                          bool create_only, ob_api_write *pw, ob_api_response *out, ob_err *e);
/* The answer after the store: rc from the write (OB_ECONFLICT: 409, or 412 for a stale
 * If-Match; other errors: 503), else 201/200 with the resource, ETag and Location. */
void ob_api_write_answer(ob_hub *h, const ob_api_request *rq, ob_api_write *pw, ob_status rc,
                         const ob_err *we, ob_api_response *out, ob_err *e);
void ob_api_write_release(ob_api_write *pw);
/* Appointment's part of the above (api_appointment.c). */
bool ob_api_apt_prepare(ob_hub *h, const ob_caller *c, const ob_api_request *rq, bool create_only,
                        ob_api_write *pw, ob_api_response *out, ob_err *e);
void ob_api_apt_answer(ob_hub *h, const ob_api_request *rq, const ob_apt *a, bool created,
                       ob_api_response *out);
/* What a source's write is about, for ob_api_src_admit. */
typedef struct ob_api_src_about {
    const char *cpr;             /* the patient's CPR as sent */
    const char *clinic, *system; /* the responsible unit (NULL: the site), identifier system */
    const char *category;        /* for the refusal's log entry */
    const char *rule_forbidden, *rule_invalid; /* its rule: about the writer, about the data */
    const char *what;                          /* "the appointment": what a storage failure names */
    const char *bad_cpr;                       /* the answer to a CPR number that is not valid */
} ob_api_src_about;
/* The CPR parsed, the writer checked (ob_api_src_check); a refusal counted (an unknown
 * patient), logged and answered into out. true when the write may go on (sw filled). */
bool ob_api_src_admit(ob_hub *h, const ob_caller *c, const ob_api_src_about *about,
                      ob_api_src_write *sw, ob_api_response *out, ob_err *e);
/* Logs a source system's refused write (R-LOG-1, R-LOG-2): the client by its id, the
 * patient when known (OB_NONE otherwise). */
ob_status ob_api_src_refused(ob_hub *h, const ob_caller *c, uint32_t pat, const char *category,
                             const char *rule, const char *reason, ob_err *e);

/* Name and kind of an organisation (by ext_id) for display; fields borrowed from the
 * index (stable while the hub is open). Takes the read lock. */
void ob_api_org_display(ob_hub *h, const char *org_ext_id, const char **name, const char **kind);

/* Candidates of a search or overview: one request, id and resource per item, decided
 * together (search.h) with one log entry. Resources are built before the decision
 * and dropped unless permitted. */
typedef struct ob_api_cands {
    ob_request *rqs;
    char **ids;   /* owned, e.g. "Observation/pt-0-i3" */
    json_t **res; /* owned references */
    size_t n, cap;
    size_t ninclude; /* the last ninclude are includes (search.h, ob_api_search_bundle) */
} ob_api_cands;

/* Adds one candidate (res stolen, id copied); false on out-of-memory. */
bool ob_api_cands_add(ob_api_cands *cs, const ob_request *rq, const char *id, json_t *res);
void ob_api_cands_release(ob_api_cands *cs);
/* Reverses the candidates' order (_sort=-date); call before any include is added. */
void ob_api_cands_reverse(ob_api_cands *cs);
/* Orders the candidates by their resources' meta.lastUpdated (then as they came), oldest
 * first or newest first (_sort=_lastUpdated); before any include is added. false on
 * out-of-memory. */
bool ob_api_cands_sort_updated(ob_api_cands *cs, bool descending);
/* Decides every candidate, logs once (category for the log, e.g. "measurement",
 * "overview"; about_category describes a search with no candidates), then answers
 * with a searchset of the permitted ones (paging, block marker). */
/* Decides every candidate and throws the decisions away: nothing is logged or shown. Only
 * for a stand-in's candidates (ob_api_decoy), so that a patient who does not exist costs
 * what a hidden one does. */
void ob_api_cands_shadow(ob_hub *h, const ob_api_cands *cs);
ob_status ob_api_cands_answer(ob_hub *h, const ob_caller *c, uint32_t patient, ob_api_cands *cs,
                              const char *log_category, uint8_t about_category,
                              const ob_api_request *rq, size_t offset, size_t count,
                              ob_api_response *out, ob_err *e);
/* Adds the patient's items in mask as Observation/Condition candidates (api_clinical.c)
 * and their shown appointments (api_appointment.c), and the Patient resource itself
 * (api_patient.c; the CPR as identifier only when cpr_for_self is given). */
/* What a search keeps before deciding (NULL: every item). */
typedef struct ob_api_item_filter {
    ob_time from, to;     /* the item's time in [from, to); to == 0: no upper bound */
    const char *code;     /* a code= token list ("system|code,..."), or NULL */
    const char *category; /* a category= token list, or NULL */
    const char *code_el;  /* the element code matches ("code" when NULL) */
} ob_api_item_filter;
ob_status ob_api_item_cands(ob_hub *h, const ob_caller *c, uint32_t patient, ob_catmask mask,
                            const ob_api_item_filter *f, ob_api_cands *cs, ob_err *e);
ob_status ob_api_apt_cands(ob_hub *h, const ob_caller *c, uint32_t patient, ob_api_cands *cs,
                           ob_err *e);
ob_status ob_api_patient_cand(ob_hub *h, const ob_caller *c, uint32_t patient,
                              const char *cpr_for_self, ob_api_cands *cs, ob_err *e);
/* The Patient's request (one decision: category appointment, the least sensitive, from
 * the patient's GP clinic) and id ("Patient/<id>"), for searches that include it. */
void ob_api_patient_request(ob_hub *h, const ob_caller *c, uint32_t patient, ob_request *r,
                            char *id, size_t idcap);
/* The Patient resource (name, birth date, GP); new reference. */
json_t *ob_api_patient_resource(ob_hub *h, uint32_t patient, const char *cpr_for_self);
/* ---- wt-fhir2 additions: Consent and AuditEvent (util.c, end of file) ---- */

/* How the caller may see a patient's blocks, consents and access log (R-ACC-9,
 * R-BLK-3). Takes no lock: the caller holds the hub's read lock. */
typedef enum ob_api_access {
    OB_API_ACCESS_NONE = 0,
    OB_API_ACCESS_SELF,     /* the patient */
    OB_API_ACCESS_ATTORNEY, /* a relative whose current power of attorney covers all data */
    OB_API_ACCESS_GP        /* an authorised professional at the patient's listed clinic */
} ob_api_access;
ob_api_access ob_api_patient_access(const ob_index *ix, const ob_caller *c, uint32_t patient);

/* Logs durably a read that the API decided itself (reads of blocks, consents and the
 * access log, which are not data categories), before the answer leaves (R-LOG-1).
 * `category` names what was read ("Consent", "AuditEvent"); `resource` the ids. */
typedef struct ob_api_read_log {
    uint32_t patient; /* or OB_NONE */
    bool permit;
    uint8_t capacity;        /* ob_capacity */
    const char *rule;        /* "R-ACC-9" */
    const char *legal_basis; /* static text */
    const char *reason;      /* static text */
    const char *category;
    const char *resource;
} ob_api_read_log;
ob_status ob_api_log_read(ob_hub *h, const ob_caller *c, const ob_api_read_log *r, uint64_t *seq,
                          ob_err *e);

#endif
