/* api_audit_report.c - a source system reports accesses in its own system (R-SRC-3; seed
 * 002: "øget åbenhed om logning"): POST /AuditEvent.
 *
 * The report enters the patient's access log as an entry of its own kind (source_access),
 * in the same hash chain as the hub's entries, so from the moment it is received it is
 * covered by the log's signed checkpoints and proofs, and the citizen sees it in the
 * AuditEvent search beside the hub's entries, with the source system as observer. A
 * source reports only what happened in its own organisation (its site or a unit below
 * it); anything else is refused and the refusal logged. The accessing person's name and
 * role are kept free text (no CPR number). */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "core/cpr.h"
#include "core/text.h"
#include "fhir/audit.h"
#include "service/sources.h"

#define TEN_YEARS ((ob_time)10 * 366 * 86400)

static bool kept(const char *s, size_t max, const char *what, ob_api_response *out)
{
    ob_err e = {0};
    if (!s)
        return true;
    if (strlen(s) > max || ob_text_kept(s, strlen(s), what, &e) != OB_OK) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: at most %zu characters of plain text, no CPR number", what,
                 max);
        ob_api_outcome(out, 400, "invalid", msg);
        return false;
    }
    return true;
}

ob_status ob_api_audit_report(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                              ob_api_response *out, ob_err *e)
{
    if (c->kind != OB_ACTOR_SOURCE_SYSTEM) {
        ob_api_outcome(out, 403, "forbidden",
                       "the access log is read-only; only a source system reports accesses in "
                       "its own system (R-SRC-3)");
        return OB_OK;
    }
    if (!ob_api_params_only(rq, NULL, out))
        return OB_OK;
    ob_fhir_audit_in in;
    ob_err pe = {0};
    if (ob_fhir_audit_parse(rq->body, &in, &pe)) {
        ob_api_outcome(out, 400, "invalid", pe.msg);
        return OB_OK;
    }
    if (!kept(in.who_name, 200, "the name of the person", out) ||
        !kept(in.who_role, 100, "the role", out) || !kept(in.what, 200, "what was accessed", out) ||
        !kept(in.who_id, 64, "the person's identifier", out))
        return OB_OK;
    if (in.recorded > c->now + 300 || in.recorded < c->now - TEN_YEARS) {
        ob_api_outcome(out, 400, "invalid",
                       "AuditEvent.recorded must lie in the last ten years, not in the future");
        return OB_OK;
    }
    ob_cpr cpr;
    if (ob_cpr_parse(in.cpr, strlen(in.cpr), &cpr, NULL) != OB_OK) {
        ob_api_outcome(out, 400, "invalid", "the patient identifier is not a valid CPR number");
        return OB_OK;
    }
    uint8_t hash[16];
    ob_cpr_hash(&h->keys, cpr.digits, hash);
    ob_log_entry le;
    memset(&le, 0, sizeof le);
    const char *refusal = NULL, *src_name = NULL, *client = NULL;
    bool forbidden = false;
    char reason[240];
    pthread_rwlock_rdlock(&h->lock);
    const ob_source *src = ob_index_find_source(h->ix, c->client_id);
    uint32_t pat = ob_index_find_patient_by_cpr_hash(h->ix, hash);
    uint32_t org = ob_index_find_org(h->ix, in.observer);
    if (!src || (c->acting_org != OB_NONE && c->acting_org != src->site)) {
        forbidden = true;
        refusal = !src ? "your client is not a registered source system"
                       : "your client speaks for another site than the one it acts for";
    } else if (org == OB_NONE || !ob_index_org_within(h->ix, org, src->site)) {
        forbidden = true;
        refusal = "a source system reports only accesses in its own organisation (R-SRC-3)";
    } else if (pat == OB_NONE) {
        refusal = "unknown patient: overblik has no patient with this CPR number";
    } else { /* index strings stay while the hub is open */
        src_name = src->name;
        client = src->client_id;
        le.patient = h->ix->patients[pat].ext_id;
        le.actor_org = h->ix->orgs[org].ext_id;
        le.actor_org_name = h->ix->orgs[org].name;
    }
    pthread_rwlock_unlock(&h->lock);
    if (refusal) {
        if (pat == OB_NONE && !forbidden)
            ob_hub_source_unknown_patient(h, c->client_id);
        if (ob_api_src_refused(h, c, pat, "audit", "R-SRC-3", refusal, e) != OB_OK)
            ob_api_log_failed(out);
        else
            ob_api_outcome(out, forbidden ? 403 : 400, forbidden ? "forbidden" : "invalid",
                           refusal);
        return OB_OK;
    }
    snprintf(reason, sizeof reason, "an access in %s, reported by that system%s%s (R-SRC-3)",
             src_name, in.what ? ": " : "", in.what ? in.what : "");
    char res[96];
    snprintf(res, sizeof res, "reported-by=%s", client);
    le.time = in.recorded;
    le.event = OB_EV_SOURCE_ACCESS;
    le.capacity = OB_CAP_PROFESSIONAL;
    le.permit = in.success;
    le.actor_id = in.who_id;
    le.actor_name = in.who_name;
    le.actor_role = in.who_role ? in.who_role : "professional";
    le.category = "record";
    le.resource = res;
    le.purpose = in.purpose;
    le.rule = "R-SRC-3";
    le.legal_basis = "the source system's own";
    le.reason = reason;
    uint64_t seq = 0;
    if (ob_hub_log_read(h, &le, &seq, e) != OB_OK) { /* durable before the answer */
        ob_api_log_failed(out);
        return OB_OK;
    }
    out->status = 201;
    out->body = ob_fhir_audit_event(seq, &le);
    snprintf(out->location, sizeof out->location, "%.160s/AuditEvent/%llu",
             rq->base_url ? rq->base_url : "", (unsigned long long)seq);
    return OB_OK;
}
