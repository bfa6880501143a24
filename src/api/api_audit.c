/* api_audit.c - FHIR AuditEvent: the patient's access log (R-LOG-2, R-LOG-3), what
 * assistants did on a professional's behalf (R-LOG-6), and inclusion proofs (R-LOG-4).
 *
 *   GET /AuditEvent?patient=Patient/<id>[&date=geX&date=leY][&_count=N&_offset=M]
 *   GET /AuditEvent?agent=Practitioner/<own id>      (R-LOG-6)
 *   GET /AuditEvent/<seq>                            (the patient's own entry)
 *   GET /AuditEvent/<seq>/$prove                     (the patient's own entry)
 *
 * Who reads a patient's log: the patient, and a relative whose current power of
 * attorney covers all data (R-ACC-9). Professionals, GPs included, do not: they get the
 * empty Bundle a non-existent patient gets. Reading the log is itself an access and is
 * logged before the answer leaves (R-LOG-1). The log is read through ob_log_each on its
 * own connection, newest first; the mapping is src/fhir/audit.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/alloc.h"
#include "fhir/audit.h"
#include "store/log.h"

#define LB_OWN      "the patient's own data (Sundhedsloven §42b; GDPR art. 15)"
#define LB_ATTORNEY "power of attorney (Sundhedsloven §37)"

struct collect {
    json_t *bundle;
    const char *base_url;
    size_t offset, count, seen;
    uint64_t want_seq; /* read one: only this seq */
    uint64_t at;       /* the snapshot: entries up to this seq (issue 25: stable paging) */
    char ids[1024];
};

static ob_status collect_one(void *ctx, const ob_log_record *r, ob_err *e)
{
    struct collect *c = ctx;
    if ((c->want_seq && r->seq != c->want_seq) || (c->at && r->seq > c->at))
        return OB_OK;
    size_t i = c->seen++;
    if (i < c->offset || i >= c->offset + c->count)
        return OB_OK;
    json_t *ev = ob_fhir_audit_event(r->seq, &r->entry);
    if (!ev)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    size_t n = strlen(c->ids);
    if (n + 24 < sizeof c->ids)
        snprintf(c->ids + n, sizeof c->ids - n, "%s%llu", n ? "," : "AuditEvent/",
                 (unsigned long long)r->seq);
    ob_api_bundle_add(c->bundle, c->base_url, ev);
    return OB_OK;
}

static void answer(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *pext,
                   ob_api_read_log *lr, struct collect *col, ob_api_response *out, ob_err *e)
{
    uint64_t seq;
    json_object_set_new(col->bundle, "total", json_integer((json_int_t)col->seen));
    /* every link pins the snapshot, so that the next page is the next page of this list,
     * whatever was logged since (this search's own entry among it) */
    ob_api_param ps[40];
    bool ign[40];
    char at[24];
    size_t n = 0;
    for (size_t i = 0; i < rq->nparams && n + 1 < sizeof ps / sizeof ps[0]; i++)
        if (strcmp(rq->params[i].name, "_at") != 0) {
            ign[n] = rq->ignored && rq->ignored[i];
            ps[n++] = rq->params[i];
        }
    snprintf(at, sizeof at, "%llu", (unsigned long long)col->at);
    ign[n] = false;
    ps[n++] = (ob_api_param){"_at", at, false};
    ob_api_request linked = *rq;
    linked.params = ps;
    linked.nparams = n;
    linked.ignored = ign;
    ob_api_bundle_link(col->bundle, col->at ? &linked : rq, pext, col->offset, col->count, NULL);
    lr->resource = col->ids;
    if (ob_api_log_read(h, c, lr, &seq, e)) {
        json_decref(col->bundle);
        col->bundle = NULL;
        ob_api_log_failed(out);
        return;
    }
    out->status = 200;
    out->body = col->bundle;
    col->bundle = NULL;
}

/* _at=<seq>: the snapshot a paging link pinned (at most the log's size); else the log's
 * size now, before this search's own entry. false: out holds the 400. */
static bool snapshot(ob_hub *h, const ob_api_request *rq, uint64_t *at, ob_api_response *out)
{
    ob_log_stats st;
    memset(&st, 0, sizeof st);
    if (h->log)
        ob_alog_get_stats(h->log, &st);
    const char *v = ob_api_param_get(rq, "_at", NULL);
    *at = st.size;
    if (!v)
        return true;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (!*v || *end || v[0] == '-' || n > st.size) {
        ob_api_outcome(out, 400, "invalid",
                       "_at names a snapshot of the log (a sequence number it has reached), "
                       "as the paging links give it");
        return false;
    }
    *at = n;
    return true;
}

static void log_access(ob_api_access acc, ob_api_read_log *lr)
{
    lr->permit = acc == OB_API_ACCESS_SELF || acc == OB_API_ACCESS_ATTORNEY;
    lr->rule = "R-ACC-9";
    lr->category = "AuditEvent";
    if (acc == OB_API_ACCESS_SELF) {
        lr->capacity = OB_CAP_CITIZEN;
        lr->legal_basis = LB_OWN;
        lr->reason = "patients read their own access log";
    } else if (acc == OB_API_ACCESS_ATTORNEY) {
        lr->capacity = OB_CAP_ATTORNEY;
        lr->legal_basis = LB_ATTORNEY;
        lr->reason = "the power of attorney covers all of the patient's data";
    } else if (acc == OB_API_ACCESS_GP) { /* only when shown to the patient (by_patient) */
        lr->permit = true;
        lr->rule = "R-BLK-3";
        lr->capacity = OB_CAP_PROFESSIONAL;
        lr->legal_basis = LB_OWN;
        lr->reason = "the patient's own GP showed the patient their access log, at the "
                     "patient's request (the patient is not digital)";
    } else {
        lr->capacity = OB_CAP_PROFESSIONAL;
        lr->legal_basis = "none";
        lr->reason = "only the patient, or a relative with full power of attorney, reads the "
                     "patient's access log";
    }
}

static ob_status by_patient(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                            uint64_t want_seq, ob_api_response *out, ob_err *e)
{
    uint32_t pat;
    if (want_seq && c->kind != OB_ACTOR_CITIZEN) {
        ob_api_outcome(out, 404, "not-found", "no such AuditEvent");
        return OB_OK;
    }
    if (!ob_api_resolve_patient(h, c, rq, &pat, out))
        return OB_OK;
    ob_time from, to;
    size_t count, offset;
    bool newest_first = true; /* a log is read from its end */
    uint64_t at = 0;
    if (!ob_api_date_range(rq, "date", &from, &to, out) ||
        !ob_api_paging(rq, &count, &offset, out) ||
        !ob_api_sort(rq, "date", &newest_first, NULL, out) ||
        (!want_seq && !snapshot(h, rq, &at, out)))
        return OB_OK;
    pthread_rwlock_rdlock(&h->lock);
    ob_api_access acc = ob_api_patient_access(h->ix, c, pat);
    /* professionals never read a patient's log, except the patient's own GP showing it to a
     * patient who is not digital, sitting with them, and saying so (R-BLK-3, seed 000) */
    bool shown = acc == OB_API_ACCESS_GP && !want_seq && pat < h->ix->npatients &&
                 strcmp(c->shown_to, h->ix->patients[pat].ext_id) == 0;
    if (acc == OB_API_ACCESS_GP && !shown)
        acc = OB_API_ACCESS_NONE;
    const char *pext = acc != OB_API_ACCESS_NONE ? h->ix->patients[pat].ext_id : NULL;
    pthread_rwlock_unlock(&h->lock);
    struct collect col = {.bundle = ob_api_bundle_new("searchset"),
                          .base_url = rq->base_url,
                          .offset = offset,
                          .count = count,
                          .want_seq = want_seq,
                          .at = at};
    if (!col.bundle)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    ob_api_read_log lr = {.patient = pat};
    log_access(acc, &lr);
    if (pext) {
        ob_log_query q = {.patient = pext, .from = from, .to = to, .newest_first = newest_first};
        ob_err qe = {0};
        if (ob_alog_each(h->db_path, &q, collect_one, &col, &qe)) {
            json_decref(col.bundle);
            ob_api_outcome(out, 500, "exception", "the access log could not be read; try again");
            return OB_OK;
        }
    }
    if (want_seq) {
        json_t *entries = json_object_get(col.bundle, "entry");
        if (json_array_size(entries) != 1) {
            json_decref(col.bundle);
            ob_api_outcome(out, 404, "not-found", "no such AuditEvent");
            return OB_OK;
        }
        json_t *ev = json_incref(json_object_get(json_array_get(entries, 0), "resource"));
        json_decref(col.bundle);
        col.bundle = ev;
        snprintf(col.ids, sizeof col.ids, "AuditEvent/%llu", (unsigned long long)want_seq);
        uint64_t seq;
        lr.resource = col.ids;
        if (ob_api_log_read(h, c, &lr, &seq, e)) {
            json_decref(ev);
            ob_api_log_failed(out);
            return OB_OK;
        }
        out->status = 200;
        out->body = ev;
        return OB_OK;
    }
    answer(h, c, rq, pext, &lr, &col, out, e);
    return OB_OK;
}

/* R-LOG-6: an authorised professional lists what assistants did on their behalf. */
static ob_status by_agent(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                          ob_api_response *out, ob_err *e)
{
    const char *agent = ob_api_param_get(rq, "agent", NULL);
    if (strncmp(agent, "Practitioner/", 13) == 0)
        agent += 13;
    if (!*agent || strlen(agent) > 128) {
        ob_api_outcome(out, 400, "invalid", "agent must be Practitioner/<id>");
        return OB_OK;
    }
    ob_time from, to;
    size_t count, offset;
    bool newest_first = true; /* a log is read from its end */
    uint64_t at = 0;
    if (!ob_api_date_range(rq, "date", &from, &to, out) ||
        !ob_api_paging(rq, &count, &offset, out) ||
        !ob_api_sort(rq, "date", &newest_first, NULL, out) || !snapshot(h, rq, &at, out))
        return OB_OK;
    pthread_rwlock_rdlock(&h->lock);
    const char *own = NULL;
    if (c->kind == OB_ACTOR_PROFESSIONAL && c->on_behalf_of == OB_NONE && c->actor < h->ix->npros &&
        h->ix->pros[c->actor].authorised && strcmp(h->ix->pros[c->actor].ext_id, agent) == 0)
        own = h->ix->pros[c->actor].ext_id;
    pthread_rwlock_unlock(&h->lock);
    struct collect col = {.bundle = ob_api_bundle_new("searchset"),
                          .base_url = rq->base_url,
                          .offset = offset,
                          .count = count,
                          .at = at};
    if (!col.bundle)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    ob_api_read_log lr = {.patient = OB_NONE,
                          .permit = own != NULL,
                          .capacity = OB_CAP_PROFESSIONAL,
                          .rule = "R-LOG-6",
                          .legal_basis = "Sundhedsloven §42d stk. 3 (technical assistance)",
                          .reason = own ? "a professional reads what assistants did on their behalf"
                                        : "professionals read only what was done on their own "
                                          "behalf",
                          .category = "AuditEvent"};
    if (own) {
        ob_log_query q = {
            .on_behalf_of = own, .from = from, .to = to, .newest_first = newest_first};
        ob_err qe = {0};
        if (ob_alog_each(h->db_path, &q, collect_one, &col, &qe)) {
            json_decref(col.bundle);
            ob_api_outcome(out, 500, "exception", "the access log could not be read; try again");
            return OB_OK;
        }
    }
    answer(h, c, rq, NULL, &lr, &col, out, e);
    return OB_OK;
}

static bool parse_seq(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 18 || s[0] == '0')
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

static ob_status prove(ob_hub *h, const ob_caller *c, const ob_api_request *rq, uint64_t seq,
                       ob_api_response *out, ob_err *e)
{
    if (!ob_api_params_only(rq, NULL, out))
        return OB_OK;
    const char *own = NULL;
    pthread_rwlock_rdlock(&h->lock);
    if (c->kind == OB_ACTOR_CITIZEN && c->actor < h->ix->npatients)
        own = h->ix->patients[c->actor].ext_id;
    pthread_rwlock_unlock(&h->lock);
    if (!own) {
        ob_api_outcome(out, 404, "not-found", "no such AuditEvent");
        return OB_OK;
    }
    ob_log_proof p;
    ob_err pe = {0};
    /* v2: against the whole log's signed checkpoint note, with the witnesses'
     * cosignatures stored for it (R-LOG-7); v1 only for a log without notes */
    ob_status rc = ob_alog_prove_note(h->db_path, seq, &p, &pe);
    if (rc == OB_ECONFLICT && h->log) {
        /* not yet under a signed checkpoint: cut one now, then prove */
        if (ob_alog_checkpoint_now(h->log, &pe) == OB_OK)
            rc = ob_alog_prove_note(h->db_path, seq, &p, &pe);
    }
    if (rc == OB_ECONFLICT && ob_alog_prove(h->db_path, seq, &p, NULL) == OB_OK)
        rc = OB_OK;
    if (rc == OB_ECONFLICT) {
        ob_api_outcome(out, 409, "transient",
                       "the entry is not yet covered by a signed checkpoint; retry in a minute");
        return OB_OK;
    }
    if (rc == OB_OK && (!p.entry.patient || strcmp(p.entry.patient, own) != 0)) {
        ob_log_proof_free(&p);
        rc = OB_ENOTFOUND; /* another patient's entry answers like a missing one */
    }
    if (rc == OB_ENOTFOUND) {
        ob_api_outcome(out, 404, "not-found", "no such AuditEvent");
        return OB_OK;
    }
    if (rc) {
        ob_api_outcome(out, 500, "exception", "the proof could not be made; try again");
        return OB_OK;
    }
    char *text = ob_log_proof_to_json(&p);
    int version = p.version;
    ob_log_proof_free(&p);
    if (!text)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    json_t *params = ob_fhir_proof_parameters(seq, version, text);
    ob_free(text);
    if (!params)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    char res[48];
    snprintf(res, sizeof res, "AuditEvent/%llu/$prove", (unsigned long long)seq);
    ob_api_read_log lr = {.patient = c->actor, .resource = res};
    log_access(OB_API_ACCESS_SELF, &lr);
    uint64_t lseq;
    if (ob_api_log_read(h, c, &lr, &lseq, e)) {
        json_decref(params);
        ob_api_log_failed(out);
        return OB_OK;
    }
    out->status = 200;
    out->body = params;
    return OB_OK;
}

ob_status ob_api_audit(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                       const char *rest, ob_api_response *out, ob_err *e)
{
    (void)type;
    bool get = strcmp(rq->method, "GET") == 0;
    if (rest[0] == '\0' && strcmp(rq->method, "POST") == 0) /* a source's report, R-SRC-3 */
        return ob_api_audit_report(h, c, rq, out, e);
    if (rest[0] == '\0' || strcmp(rest, "/_search") == 0) {
        if (!get && !(strcmp(rq->method, "POST") == 0 && rest[0])) {
            ob_api_outcome(out, 405, "not-supported", "the access log is read-only: use GET");
            return OB_OK;
        }
        static const char *const allowed[] = {
            "patient", "patient.identifier", "identifier", "agent", "date", "_count",
            "_offset", "_summary",           "_sort",      "_at",   NULL};
        if (!ob_api_params_only(rq, allowed, out))
            return OB_OK;
        if (ob_api_param_get(rq, "agent", NULL)) {
            if (ob_api_param_get(rq, "patient", NULL) ||
                ob_api_param_get(rq, "patient.identifier", NULL) ||
                ob_api_param_get(rq, "identifier", NULL)) {
                ob_api_outcome(out, 400, "invalid", "search by patient or by agent, not both");
                return OB_OK;
            }
            return by_agent(h, c, rq, out, e);
        }
        return by_patient(h, c, rq, 0, out, e);
    }
    if (!get) {
        ob_api_outcome(out, 405, "not-supported", "the access log is read-only: use GET");
        return OB_OK;
    }
    const char *id = rest + 1;
    size_t n = strcspn(id, "/");
    uint64_t seq;
    if (rest[0] != '/' || !parse_seq(id, n, &seq)) {
        ob_api_outcome(out, 404, "not-found", "no such AuditEvent");
        return OB_OK;
    }
    if (id[n] == '\0') {
        if (!ob_api_params_only(rq, NULL, out))
            return OB_OK;
        return by_patient(h, c, rq, seq, out, e);
    }
    if (strcmp(id + n, "/$prove") == 0)
        return prove(h, c, rq, seq, out, e);
    ob_api_outcome(out, 404, "not-found", "no such AuditEvent operation");
    return OB_OK;
}
