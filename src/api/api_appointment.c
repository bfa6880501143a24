/* api_appointment.c - the appointment overview as FHIR Appointment (R-APT-1..7).
 *
 *   POST /Appointment                          a source system creates (R-APT-1)
 *   PUT  /Appointment?identifier=<sys>|<val>   a source system creates or updates its own;
 *                                              cancel = update with status "cancelled";
 *                                              with If-Match: W/"<n>" only if still at n
 *   GET  /Appointment?patient=Patient/<id>     search (also POST /Appointment/_search
 *   POST /Appointment/_search                  with patient.identifier in the body;
 *                                              date=ge2026-12-01 etc. on the start,
 *                                              status=booked[,...]);
 *                                              _include=Appointment:patient adds the
 *                                              Patient beside a match (search.h)
 *   GET  /Appointment/<id>                     read
 *   GET  /Appointment/<id>/_history/<vid>      version read: the current version only
 *                                              (where a write's Location points)
 *   GET  /Appointment/<id>/_history            its history: a Bundle of the current version
 *
 * Writes: only source systems, only their own appointments (identifiers are scoped per
 * source, so another source's identical id is another appointment). Reads: candidates
 * are filtered for sharing and go-live (R-APT-2, R-APT-5), then each is decided by the
 * engine (category appointment, origin the responsible clinic, time its start:
 * R-APT-6, R-APT-7), with one log entry per search (search.h) before the answer.
 * A hidden patient, an unknown one and one without appointments answer alike. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/alloc.h"
#include "core/cpr.h"
#include "fhir/fhir.h"
#include "service/appointment.h"
#include "service/search.h"
#include "service/sources.h"

static void set_etag(ob_api_response *out, const ob_apt *a, const char *base)
{
    snprintf(out->etag, sizeof out->etag, "W/\"%lld\"", (long long)a->version);
    snprintf(out->location, sizeof out->location, "%.160s/Appointment/apt-%lld/_history/%lld",
             base ? base : "", (long long)a->id, (long long)a->version);
}

/* The responsible clinic's id, name and kind, as the Appointment shows them (R-APT-3). */
static ob_fhir_clinic clinic_of(ob_hub *h, const ob_apt *a)
{
    ob_fhir_clinic cl = {a->clinic, NULL, NULL};
    ob_api_org_display(h, a->clinic, &cl.name, &cl.kind);
    return cl;
}

static json_t *to_fhir(ob_hub *h, const ob_apt *a)
{
    ob_fhir_clinic cl = clinic_of(h, a);
    return ob_fhir_appointment(a, &cl);
}

/* ---- writes (R-APT-1..4) ---- */

bool ob_api_apt_prepare(ob_hub *h, const ob_caller *c, const ob_api_request *rq, bool create_only,
                        ob_api_write *pw, ob_api_response *out, ob_err *e)
{
    ob_fhir_apt_in *in = &pw->apt_in;
    ob_err pe = {0};
    if (ob_fhir_appointment_parse(rq->body, in, &pe)) {
        ob_api_outcome(out, 400, "invalid", pe.msg);
        return false;
    }
    if (!create_only && !ob_api_src_key_matches(rq, in->system, in->value, out))
        return false;
    ob_api_src_write *sw = &pw->sw;
    ob_api_src_about about = {in->cpr,
                              in->clinic,
                              in->system,
                              "appointment",
                              "R-APT-1",
                              "R-APT-2",
                              "the appointment",
                              "the patient identifier is not a valid CPR number; only "
                              "appointments with a valid CPR number are shared (R-APT-2)"};
    if (!ob_api_src_admit(h, c, &about, sw, out, e))
        return false;
    ob_apt *a = &pw->apt;
    memset(a, 0, sizeof *a);
    a->source = sw->client;
    a->patient = sw->patient;
    a->clinic = sw->origin;
    /* R-APT-4: decided under the lock, the clinic found again by its id (the organisations
     * may have changed since the check) */
    pthread_rwlock_rdlock(&h->lock);
    a->fictive_end = ob_apt_end(h->ix, ob_index_find_org(h->ix, sw->origin), in->start, in->has_end,
                                in->end, &a->end);
    pthread_rwlock_unlock(&h->lock);
    a->system = in->system;
    a->value = in->value;
    a->start = in->start;
    a->shared = in->shared;
    a->address = in->address;
    a->status = in->status;
    a->updated = c->now;
    pw->w.apt = a;
    return true;
}

void ob_api_apt_answer(ob_hub *h, const ob_api_request *rq, const ob_apt *a, bool created,
                       ob_api_response *out)
{
    out->status = created ? 201 : 200;
    out->body = to_fhir(h, a);
    set_etag(out, a, rq->base_url);
}

static ob_status apt_write(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                           bool create_only, ob_api_response *out, ob_err *e)
{
    ob_api_write pw;
    if (ob_api_write_prepare(h, c, rq, "Appointment", create_only, &pw, out, e)) {
        ob_err we = {0};
        ob_status rc = ob_hub_apt_write(h, &pw.apt, create_only, pw.w.if_match, &pw.sw.actor,
                                        &pw.w.created, &we);
        ob_api_write_answer(h, rq, &pw, rc, &we, out, e);
    }
    ob_api_write_release(&pw);
    return OB_OK;
}

/* ---- reads (R-APT-5..7) ---- */
static void request_for(ob_hub *h, const ob_caller *c, uint32_t pat, const ob_apt *a, ob_request *r)
{
    ob_api_request_init(c, pat, r);
    r->category = OB_CAT_APPOINTMENT;
    r->source = OB_SRC_CLINICAL;
    r->item_time = a->start;
    pthread_rwlock_rdlock(&h->lock);
    r->origin_org = ob_index_find_org(h->ix, a->clinic);
    pthread_rwlock_unlock(&h->lock);
}

/* The request that describes a search with nothing to decide (logged as such). */
static void about_for(ob_hub *h, const ob_caller *c, uint32_t pat, ob_request *r)
{
    ob_api_request_init(c, pat, r);
    r->category = OB_CAT_APPOINTMENT;
    pthread_rwlock_rdlock(&h->lock);
    if (pat < h->ix->npatients)
        r->origin_org = h->ix->patients[pat].gp_clinic;
    pthread_rwlock_unlock(&h->lock);
}

typedef struct decided {
    ob_request *rqs;
    ob_decision *ds;
    char (*ids)[32];
    const char **idp;
    char pid[160]; /* the included Patient's id; "" when not included */
    size_t n;      /* the appointments, then the Patient when included */
} decided;

static void decided_free(decided *d)
{
    ob_free(d->rqs);
    ob_free(d->ds);
    ob_free(d->ids);
    ob_free(d->idp);
}

/* Decides every candidate and logs the search once; with include_patient the Patient
 * is decided last, as an include (search.h). */
/* Decides every candidate of patient pat and logs the search once (search.h). With
 * `shadow` it only decides, logs nothing and shows nothing: the work a search does for a
 * patient the caller may not see, done for a stand-in when the patient does not exist, so
 * that the two take the same time (issue 19, timing oracle; shadow_search). */
static ob_status decide_all(ob_hub *h, const ob_caller *c, uint32_t pat, const ob_apt_list *l,
                            bool include_patient, bool shadow, decided *d, ob_err *e)
{
    memset(d, 0, sizeof *d);
    size_t ninc = include_patient && pat != OB_NONE ? 1 : 0;
    d->n = l->n + ninc;
    size_t k = d->n ? d->n : 1;
    d->rqs = ob_calloc(k, sizeof *d->rqs);
    d->ds = ob_calloc(k, sizeof *d->ds);
    d->ids = ob_calloc(k, sizeof *d->ids);
    d->idp = ob_calloc(k, sizeof *d->idp);
    if (!d->rqs || !d->ds || !d->ids || !d->idp)
        return ob_err_set(e, OB_ENOMEM, "out of memory deciding a search");
    for (size_t i = 0; i < l->n; i++) {
        request_for(h, c, pat, &l->v[i].a, &d->rqs[i]);
        snprintf(d->ids[i], sizeof d->ids[i], "Appointment/apt-%lld", (long long)l->v[i].a.id);
        d->idp[i] = d->ids[i];
    }
    if (ninc) {
        ob_api_patient_request(h, c, pat, &d->rqs[l->n], d->pid, sizeof d->pid);
        d->idp[l->n] = d->pid;
    }
    ob_request about;
    about_for(h, c, pat, &about);
    if (shadow) {
        pthread_rwlock_rdlock(&h->lock);
        for (size_t i = 0; i < d->n; i++) {
            ob_policy_decide(h->ix, &d->rqs[i], &d->ds[i]);
            ob_policy_enforce(&d->ds[i], OB_OBL_PERSON_LEVEL);
        }
        pthread_rwlock_unlock(&h->lock);
        return OB_OK;
    }
    ob_search s = {&about,        d->rqs,           d->idp, d->n,
                   "appointment", c->justification, ninc,   OB_OBL_PERSON_LEVEL};
    return ob_hub_decide_many(h, &s, d->ds, NULL, e);
}

/* The searchset written straight to text: the same Bundle ob_api_search_bundle builds
 * (total and paging over what the caller may see only, the block hint last), at a
 * fraction of jansson's cost on the hottest read (docs/bench-http.md). */
static void write_searchset(ob_hub *h, const ob_api_request *rq, const ob_apt_list *l,
                            const decided *d, uint32_t pat, size_t offset, size_t count,
                            ob_time now, ob_api_response *out)
{
    const char *base_url = rq->base_url;
    const ob_decision *ds = d->ds;
    const char *pid = d->pid;
    size_t include = pid[0] ? 1 : 0;
    size_t visible = 0;
    for (size_t i = 0; i < l->n; i++)
        visible += ds[i].permit;
    ob_jw w = {0};
    ob_jw_lit(&w, "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"total\":");
    ob_jw_int(&w, (int64_t)visible);
    const char *pext = NULL; /* index strings stay while the hub is open */
    if (visible > 0) {
        pthread_rwlock_rdlock(&h->lock);
        if (pat < h->ix->npatients)
            pext = h->ix->patients[pat].ext_id;
        pthread_rwlock_unlock(&h->lock);
    }
    offset = ob_api_after(rq, d->idp, ds, l->n, offset);
    ob_api_page_links_write(&w, rq, pext, visible, offset, count,
                            ob_api_page_last(d->idp, ds, l->n, offset, count));
    ob_jw_lit(&w, ",\"entry\":[");
    size_t seen = 0, written = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (!ds[i].permit)
            continue;
        if (seen >= offset && seen - offset < count) {
            const ob_apt *a = &l->v[i].a;
            if (written++)
                ob_jw_lit(&w, ",");
            ob_jw_lit(&w, "{\"fullUrl\":");
            char id[40];
            snprintf(id, sizeof id, "/Appointment/apt-%lld", (long long)a->id);
            ob_jw_str2(&w, base_url ? base_url : "", id);
            ob_jw_lit(&w, ",\"resource\":");
            ob_fhir_clinic cl = clinic_of(h, a);
            ob_fhir_appointment_write(&w, a, &cl);
            ob_jw_lit(&w, ",\"search\":{\"mode\":\"match\"}}");
        }
        seen++;
    }
    if (include && written && ds[l->n].permit) { /* the Patient, only beside a match */
        json_t *p = ob_api_patient_resource(h, pat, NULL);
        char *txt = p ? json_dumps(p, JSON_COMPACT) : NULL;
        json_decref(p);
        char path[168];
        snprintf(path, sizeof path, "/%s", pid);
        ob_jw_lit(&w, ",{\"fullUrl\":");
        ob_jw_str2(&w, base_url ? base_url : "", path);
        ob_jw_lit(&w, ",\"resource\":");
        if (txt)
            ob_jw_raw(&w, txt, strlen(txt));
        else
            w.failed = true;
        free(txt);
        ob_jw_lit(&w, ",\"search\":{\"mode\":\"include\"}}");
    }
    if (ob_search_block_hint(ds, l->n + include)) { /* R-BLK-4: only what is withheld */
        if (written)
            ob_jw_lit(&w, ",");
        ob_fhir_block_marker_entry_write(&w);
        written++;
    }
    json_t *note = ob_api_sources_outcome(h, now); /* R-SRC-2 */
    char *nt = note ? json_dumps(note, JSON_COMPACT) : NULL;
    if (nt) {
        if (written)
            ob_jw_lit(&w, ",");
        ob_jw_lit(&w, "{\"resource\":");
        ob_jw_raw(&w, nt, strlen(nt));
        ob_jw_lit(&w, ",\"search\":{\"mode\":\"outcome\"}}");
    }
    free(nt);
    json_decref(note);
    ob_jw_lit(&w, "]}");
    out->text = ob_jw_take(&w, &out->text_len);
    if (!out->text)
        ob_api_outcome(out, 500, "exception", "the answer could not be written");
    else
        out->status = 200;
}

/* Is code one of a token list ("booked,cancelled"; NULL: any)? */
/* date=... and status=...: only the candidates whose start lies in [from, to) and whose
 * status is listed go on to be decided. */
static void keep_matching(ob_apt_list *l, ob_time from, ob_time to, const char *status)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (ob_api_in_range(l->v[i].a.start, from, to) && ob_api_in_list(l->v[i].a.status, status))
            l->v[k++] = l->v[i];
        else
            ob_free(l->v[i].buf);
    }
    l->n = k;
}

/* A search that named a patient who does not exist does, for a stand-in (ob_api_decoy: the
 * same one for the same name), what a search for a patient the caller may not see does:
 * read the candidates and decide them. Nothing of it is kept, logged or shown. */
static void shadow_search(ob_hub *h, const ob_caller *c, const ob_api_request *rq, ob_time from,
                          ob_time to, bool include_patient)
{
    uint32_t decoy = ob_api_decoy(h, rq);
    if (decoy == OB_NONE)
        return;
    ob_apt_list l = {0};
    ob_err ignored = {0};
    decided d;
    memset(&d, 0, sizeof d);
    if (ob_hub_apt_candidates(h, decoy, &l, &ignored) == OB_OK) {
        keep_matching(&l, from, to, ob_api_param_get(rq, "status", NULL));
        decide_all(h, c, decoy, &l, include_patient, true, &d, &ignored);
    }
    decided_free(&d);
    ob_apt_list_release(&l);
}

/* Appointment's actor parameter (any participant, issue 25): the one participant with an
 * identity of its own here is the patient (the place is an address), so actor=Patient/<id>
 * is patient=Patient/<id>; the search reads the copy, its links repeat what was asked. A
 * reference to anything else is a 400, not an empty page that would look like "none". */
static bool actor_as_patient(const ob_api_request *rq, ob_api_request *copy, ob_api_param **ps,
                             ob_api_response *out)
{
    *ps = NULL;
    bool body;
    const char *actor = ob_api_param_get(rq, "actor", &body);
    if (!actor)
        return true;
    const char *pt = strstr(actor, "Patient/");
    if (ob_api_param_get(rq, "patient", NULL) || ob_api_param_get(rq, "patient.identifier", NULL)) {
        ob_api_outcome(out, 400, "invalid", "give actor or patient, not both");
        return false;
    }
    if (!pt || (pt != actor && pt[-1] != '/')) {
        ob_api_outcome(out, 400, "not-supported",
                       "actor takes a Patient reference here (an appointment's other participant "
                       "is its place, an address)");
        return false;
    }
    if (!(*ps = ob_malloc(rq->nparams * sizeof **ps))) {
        ob_api_outcome(out, 500, "exception", "out of memory");
        return false;
    }
    for (size_t i = 0; i < rq->nparams; i++) {
        (*ps)[i] = rq->params[i];
        if (strcmp(rq->params[i].name, "actor") == 0)
            (*ps)[i].name = "patient";
    }
    *copy = *rq;
    copy->params = *ps;
    return true;
}

/* _sort=_lastUpdated: by the last write, then by id (the rows come by start). */
static int by_updated_cmp(const void *a, const void *b)
{
    const ob_apt *x = &((const ob_apt_copy *)a)->a, *y = &((const ob_apt_copy *)b)->a;
    if (x->updated != y->updated)
        return x->updated < y->updated ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static ob_status search(ob_hub *h, const ob_caller *c, const ob_api_request *given,
                        ob_api_response *out, ob_err *e)
{
    static const char *const allowed[] = {
        "patient", "patient.identifier", "_count", "_offset", "_include", "date",
        "status",  "_summary",           "_sort",  "actor",   "_after",   NULL};
    size_t count, offset;
    uint32_t pat;
    unsigned inc = 0;
    ob_time from, to;
    bool newest_first = false, by_updated = false;
    ob_api_request copy;
    ob_api_param *ps = NULL;
    const ob_api_request *rq = given;
    if (!ob_api_params_only(given, allowed, out) || !actor_as_patient(given, &copy, &ps, out))
        return OB_OK;
    if (ps)
        rq = &copy;
    if (!ob_api_paging(rq, &count, &offset, out) ||
        !ob_api_includes(rq, "_include", ob_api_include_appointment, &inc, out) ||
        !ob_api_date_range(rq, "date", &from, &to, out) ||
        !ob_api_sort(rq, "date", &newest_first, &by_updated, out) ||
        !ob_api_resolve_patient(h, c, rq, &pat, out)) {
        ob_free(ps);
        return OB_OK;
    }
    ob_apt_list l = {0};
    ob_status rc = OB_OK;
    if (pat != OB_NONE)
        rc = ob_hub_apt_candidates(h, pat, &l, e);
    if (!rc)
        keep_matching(&l, from, to, ob_api_param_get(rq, "status", NULL));
    if (!rc && by_updated)
        qsort(l.v, l.n, sizeof *l.v, by_updated_cmp);
    for (size_t i = 0; newest_first && i < l.n / 2; i++) { /* the rows come by start */
        ob_apt_copy t = l.v[i];
        l.v[i] = l.v[l.n - 1 - i];
        l.v[l.n - 1 - i] = t;
    }
    decided d;
    if (!rc && pat == OB_NONE)
        shadow_search(h, c, rq, from, to, inc != 0);
    if (!rc)
        rc = decide_all(h, c, pat, &l, inc != 0, false, &d, e);
    else
        memset(&d, 0, sizeof d);
    if (rc)
        ob_api_log_failed(out);
    else
        write_searchset(h, given, &l, &d, pat, offset, count, c->now, out); /* as asked */
    decided_free(&d);
    ob_apt_list_release(&l);
    ob_free(ps);
    return OB_OK;
}

/* "/<id>/_history/<vid>" (a version read): id copied into idbuf, *vid points into rest. */
static bool vread_path(const char *rest, char *idbuf, size_t cap, const char **vid)
{
    static const char hist[] = "/_history/";
    const char *slash = rest[0] == '/' ? strchr(rest + 1, '/') : NULL;
    if (!slash || (size_t)(slash - rest - 1) >= cap || strncmp(slash, hist, sizeof hist - 1) != 0)
        return false;
    *vid = slash + sizeof hist - 1;
    if (!**vid || strchr(*vid, '/'))
        return false;
    memcpy(idbuf, rest + 1, (size_t)(slash - rest - 1));
    idbuf[slash - rest - 1] = '\0';
    return true;
}

/* "/<id>/_history" (the instance's history): id copied into idbuf. */
static bool history_path(const char *rest, char *idbuf, size_t cap)
{
    static const char hist[] = "/_history";
    const char *slash = rest[0] == '/' ? strchr(rest + 1, '/') : NULL;
    if (!slash || slash == rest + 1 || (size_t)(slash - rest - 1) >= cap ||
        strcmp(slash, hist) != 0)
        return false;
    memcpy(idbuf, rest + 1, (size_t)(slash - rest - 1));
    idbuf[slash - rest - 1] = '\0';
    return true;
}

/* The history Bundle of one appointment: only the current version is kept, so it lists
 * that one, as the write that made it (version 1 a create, later ones an update). */
static json_t *history_bundle(ob_hub *h, const ob_api_request *rq, const ob_apt *a)
{
    char full[256], url[64], etag[32], id[40];
    snprintf(id, sizeof id, "apt-%lld", (long long)a->id);
    snprintf(full, sizeof full, "%.200s/Appointment/%s", rq->base_url ? rq->base_url : "", id);
    snprintf(url, sizeof url, "Appointment/%s", id);
    snprintf(etag, sizeof etag, "W/\"%lld\"", (long long)a->version);
    json_t *res = to_fhir(h, a);
    json_t *updated = json_object_get(json_object_get(res, "meta"), "lastUpdated");
    bool created = a->version <= 1;
    json_t *response =
        json_pack("{s:s, s:s}", "status", created ? "201 Created" : "200 OK", "etag", etag);
    if (json_is_string(updated))
        json_object_set(response, "lastModified", updated);
    return json_pack("{s:s, s:s, s:i, s:[{s:s, s:o, s:{s:s, s:s}, s:o}]}", "resourceType", "Bundle",
                     "type", "history", "total", 1, "entry", "fullUrl", full, "resource", res,
                     "request", "method", created ? "POST" : "PUT", "url",
                     created ? "Appointment" : url, "response", response);
}

static bool is_version(const char *vid, int64_t version)
{
    size_t n = strlen(vid);
    if (n == 0 || n > 18 || strspn(vid, "0123456789") != n)
        return false;
    return strtoll(vid, NULL, 10) == version;
}

/* A read; with vid a version read; with history the instance's history. Only the current
 * version is kept, so an older (or malformed) vid reads exactly as an appointment that does
 * not exist, and the history lists the current version. Each is decided and logged as a
 * read: a hidden appointment's history answers the same 404 as an absent one's. */
static ob_status apt_read(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *id,
                          const char *vid, bool history, ob_api_response *out, ob_err *e)
{
    if (!ob_api_params_only(rq, NULL, out))
        return OB_OK;
    int64_t row = 0;
    ob_apt_list l = {0};
    ob_status rc = OB_OK;
    if (ob_fhir_apt_id_parse(id, &row))
        rc = ob_hub_apt_candidate(h, row, &l, e);
    if (!rc && l.n && vid && !is_version(vid, l.v[0].a.version)) {
        ob_apt_list_release(&l);
    }
    uint32_t pat = OB_NONE;
    if (!rc && l.n) {
        pthread_rwlock_rdlock(&h->lock);
        pat = ob_index_find_patient(h->ix, l.v[0].a.patient);
        pthread_rwlock_unlock(&h->lock);
    }
    decided d;
    memset(&d, 0, sizeof d);
    if (!rc)
        rc = decide_all(h, c, pat, &l, false, false, &d, e);
    if (rc) {
        ob_api_log_failed(out);
    } else if (l.n == 1 && d.ds[0].permit && history) {
        out->status = 200;
        out->body = history_bundle(h, rq, &l.v[0].a);
    } else if (l.n == 1 && d.ds[0].permit) {
        out->status = 200;
        out->body = to_fhir(h, &l.v[0].a);
        snprintf(out->etag, sizeof out->etag, "W/\"%lld\"", (long long)l.v[0].a.version);
    } else { /* hidden and non-existent answer alike */
        ob_api_outcome(out, 404, "not-found", "no such appointment");
    }
    decided_free(&d);
    ob_apt_list_release(&l);
    return OB_OK;
}

ob_status ob_api_appointment(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                             const char *type, const char *rest, ob_api_response *out, ob_err *e)
{
    (void)type;
    const char *m = rq->method;
    if (rest[0] == '\0') {
        if (strcmp(m, "POST") == 0)
            return apt_write(h, c, rq, true, out, e);
        if (strcmp(m, "PUT") == 0)
            return apt_write(h, c, rq, false, out, e);
        if (strcmp(m, "GET") == 0)
            return search(h, c, rq, out, e);
    } else if (strcmp(rest, "/_search") == 0) {
        if (strcmp(m, "POST") == 0)
            return search(h, c, rq, out, e);
    } else if (rest[0] == '/' && !strchr(rest + 1, '/') && rest[1] != '_' && rest[1] != '$') {
        if (strcmp(m, "GET") == 0)
            return apt_read(h, c, rq, rest + 1, NULL, false, out, e);
        if (c->kind != OB_ACTOR_SOURCE_SYSTEM) {
            ob_api_outcome(out, 403, "forbidden",
                           "appointments are written only by the source system that created "
                           "them; the overview is read-only (R-APT-1)");
            return OB_OK;
        }
        ob_api_outcome(out, 405, "not-supported",
                       "update an appointment with PUT /Appointment?identifier=<system>|<value>");
        return OB_OK;
    } else {
        char id[64];
        const char *vid;
        if (strcmp(m, "GET") == 0 && vread_path(rest, id, sizeof id, &vid))
            return apt_read(h, c, rq, id, vid, false, out, e);
        if (strcmp(m, "GET") == 0 && history_path(rest, id, sizeof id))
            return apt_read(h, c, rq, id, NULL, true, out, e);
        ob_api_outcome(out, 400, "not-supported",
                       "not supported on Appointment (no type-level history, $operations or "
                       "compartments; one appointment's history is at /Appointment/<id>/_history)");
        return OB_OK;
    }
    ob_api_outcome(out, 405, "not-supported", "method not supported here");
    return OB_OK;
}

/* For the patient overview (api_patient.c): the shown appointments as candidates. */
ob_status ob_api_apt_cands(ob_hub *h, const ob_caller *c, uint32_t patient, ob_api_cands *cs,
                           ob_err *e)
{
    if (patient == OB_NONE)
        return OB_OK;
    ob_apt_list l;
    ob_status rc = ob_hub_apt_candidates(h, patient, &l, e);
    for (size_t i = 0; !rc && i < l.n; i++) {
        ob_request r;
        request_for(h, c, patient, &l.v[i].a, &r);
        char id[48];
        snprintf(id, sizeof id, "Appointment/apt-%lld", (long long)l.v[i].a.id);
        if (!ob_api_cands_add(cs, &r, id, to_fhir(h, &l.v[i].a)))
            rc = ob_err_set(e, OB_ENOMEM, "out of memory");
    }
    ob_apt_list_release(&l);
    return rc;
}
