/* api_events.c - treatment relationships from the events sources report (issue 21,
 * R-ACC-1, R-ACC-12):
 *
 *   POST /Encounter | /EpisodeOfCare | /ServiceRequest           an event starts a relationship
 *   PUT  /<Type>?identifier=<system>|<value>                      the same event again; a
 *                                                                 finished one ends it
 *
 * (fhir/events.c says which resource means which kind.) Only a source system registered
 * for relationships writes, about a patient named by CPR, at its own site or a unit of it
 * (a referral: from its site to the receiving care provider), with identifier systems it
 * owns. The event becomes a `relationship` record that names it ("<client>|<Type>|<system>|
 * <value>"), its end a `relationship_end` of that event: both through ob_hub_change, so who
 * may is checked there (policy/changes.c) and the patient's log shows each change in the
 * same transaction (R-LOG-1). A refusal is logged too. A substitute GP's contact with a
 * covered clinic's patient (R-ACC-12, seed 001 case 12) ends with the cover period at the
 * latest. Nothing of the resource is kept but the relationship and the event's key. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "core/cpr.h"

/* R-ACC-12: the end of the cover under which org sees a patient of another GP clinic, or
 * OB_TIME_MAX when org is not covering the patient's clinic at `at`. */
static ob_time cover_end(const ob_index *ix, uint32_t pat, uint32_t org, ob_time at)
{
    uint32_t gp = ix->patients[pat].gp_clinic;
    if (gp == OB_NONE || org >= ix->norgs || ob_index_org_within(ix, org, gp))
        return OB_TIME_MAX;
    for (size_t i = 0; i < ix->ncovers; i++) {
        const ob_cover *c = &ix->covers[i];
        if (c->covered == gp && c->from <= at && at <= c->to &&
            ob_index_org_within(ix, org, c->substitute))
            return c->to;
    }
    return OB_TIME_MAX;
}

static void set_time(json_t *o, const char *k, ob_time t)
{
    char b[32];
    ob_time_format(t, b);
    json_object_set_new(o, k, json_string(b));
}

static ob_status refuse(ob_hub *h, const ob_caller *c, uint32_t pat, int status, const char *code,
                        const char *reason, ob_api_response *out, ob_err *e)
{
    if (ob_api_src_refused(h, c, pat, "relationship", "R-ACC-1", reason, e) != OB_OK)
        ob_api_log_failed(out);
    else
        ob_api_outcome(out, status, code, reason);
    return OB_OK;
}

static ob_status event_write(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                             const char *type, ob_api_response *out, ob_err *e)
{
    bool create_only = strcmp(rq->method, "POST") == 0;
    int64_t if_match;
    if (!ob_api_src_begin(c, rq, create_only,
                          "events that start treatment relationships are reported by the "
                          "source system of the site",
                          &if_match, out))
        return OB_OK;
    ob_fhir_event_in ev;
    ob_err pe = {0};
    if (ob_fhir_event_parse(rq->body, type, &ev, &pe) != OB_OK) {
        ob_api_outcome(out, 400, "invalid", pe.msg);
        return OB_OK;
    }
    if (ob_cpr_in_text(ev.system) || ob_cpr_in_text(ev.value)) { /* R-CPR-2: kept as a key */
        ob_api_outcome(out, 400, "invalid", "an event's identifier must not hold a CPR number");
        return OB_OK;
    }
    if (!create_only && !ob_api_src_key_matches(rq, ev.system, ev.value, out))
        return OB_OK;
    bool referral = ev.kind == OB_REL_REFERRAL;
    ob_api_src_about about = {ev.cpr,
                              referral ? ev.requester : ev.org,
                              ev.system,
                              "relationship",
                              "R-ACC-1",
                              "R-ACC-1",
                              "the relationship",
                              "the patient's CPR identifier is not a valid CPR number"};
    ob_api_src_write sw;
    if (!ob_api_src_admit(h, c, &about, &sw, out, e))
        return OB_OK;
    char key[700];
    snprintf(key, sizeof key, "%s|%s|%s|%s", sw.client, type, ev.system, ev.value);
    uint64_t k = ob_event_key(key);
    pthread_rwlock_rdlock(&h->lock);
    ob_relationship *r = ob_index_relationship_by_event(h->ix, sw.pat, k);
    bool exists = r != NULL, open = r && r->to > c->now;
    ob_time r_from = r ? r->from : 0;
    const char *org_ext = r && r->org < h->ix->norgs ? h->ix->orgs[r->org].ext_id : NULL;
    uint32_t org = ob_index_find_org(h->ix, ev.org);
    ob_time cover_to = org != OB_NONE ? cover_end(h->ix, sw.pat, org, ev.from) : OB_TIME_MAX;
    pthread_rwlock_unlock(&h->lock);
    if (exists && create_only) {
        ob_api_outcome(out, 409, "duplicate",
                       "an event with this identifier was reported; update it with PUT "
                       "?identifier=<system>|<value>");
        return OB_OK;
    }
    if (org == OB_NONE)
        return refuse(h, c, sw.pat, 400, "invalid", "the event names an unknown organisation", out,
                      e);
    json_t *rec = NULL;
    int status = 200;
    if (!exists) {
        rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "relationship", "patient",
                        sw.patient, "org", ev.org, "kind", ob_rel_kind_name((ob_rel_kind)ev.kind),
                        "event", key, "source", sw.client);
        if (ev.practitioner)
            json_object_set_new(rec, "professional", json_string(ev.practitioner));
        set_time(rec, "from", ev.from);
        /* ended without an end: over from the moment it is reported (the second before,
         * so that the next read, in the same second, no longer has it) */
        ob_time to = ev.has_to ? ev.to : ev.ended ? c->now - 1 : OB_TIME_MAX;
        if (to > cover_to) /* R-ACC-12: a substitute's contact ends with the cover */
            to = cover_to;
        if (to != OB_TIME_MAX)
            set_time(rec, "to", to < ev.from ? ev.from : to);
        status = 201;
    } else if (ev.ended && open) {
        ob_time at = ev.has_to ? ev.to : c->now - 1;
        if (r_from > at)
            at = r_from;
        rec = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "relationship_end", "patient",
                        sw.patient, "org", org_ext ? org_ext : ev.org, "event", key, "source",
                        sw.client);
        set_time(rec, "at", at);
    }
    if (rec) {
        uint64_t seq;
        ob_err ce = {0};
        ob_status rc = ob_hub_change(h, rec, &sw.actor, &seq, NULL, &ce);
        json_decref(rec);
        if (rc == OB_EDENIED || rc == OB_EINVAL || rc == OB_ENOTFOUND)
            return refuse(h, c, sw.pat, rc == OB_EDENIED ? 403 : 400,
                          rc == OB_EDENIED ? "forbidden" : "invalid", ce.msg, out, e);
        if (rc != OB_OK) {
            ob_api_store_failed(out, "the relationship");
            return OB_OK;
        }
    }
    json_t *echo = json_deep_copy(rq->body);
    char id[24];
    snprintf(id, sizeof id, "ev-%016llx", (unsigned long long)k);
    json_object_set_new(echo, "id", json_string(id));
    out->status = status;
    out->body = echo;
    if (status == 201)
        snprintf(out->location, sizeof out->location, "%s/%s/%s", rq->base_url ? rq->base_url : "",
                 type, id);
    return OB_OK;
}

ob_status ob_api_events(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                        const char *rest, ob_api_response *out, ob_err *e)
{
    if (strcmp(type, "EpisodeOfCare") == 0 && strncmp(rest, "/$", 2) == 0)
        return ob_api_grants(h, c, rq, type, rest, out, e); /* $end (issue 24) */
    bool write = strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PUT") == 0;
    if (rest[0] || !write) {
        ob_api_outcome(out, 405, "not-supported",
                       "events are written by their source (POST, or PUT ?identifier=); they "
                       "are not read back: the relationships they start are the patient's");
        return OB_OK;
    }
    return event_write(h, c, rq, type, out, e);
}
