/* source_write.c - what every write by a source system checks before it is stored
 * (R-APT-1, R-SRC-1): the client is a registered source acting for its own site, the
 * patient (by CPR hash) is known, the responsible clinic is the site or one of its units,
 * and the identifier system is the source's own. Shared by appointments
 * (api_appointment.c) and the items sources write (api_items_write.c). */
#include <string.h>

#include "api/internal.h"
#include "core/cpr.h"
#include "service/sources.h"

bool ob_api_src_begin(const ob_caller *c, const ob_api_request *rq, bool create_only,
                      const char *not_a_source, int64_t *if_match, ob_api_response *out)
{
    *if_match = 0;
    if (c->kind != OB_ACTOR_SOURCE_SYSTEM) {
        ob_api_outcome(out, 403, "forbidden", not_a_source);
        return false;
    }
    static const char *const put_params[] = {"identifier", NULL};
    if (!ob_api_params_only(rq, create_only ? NULL : put_params, out))
        return false;
    if (!create_only && !ob_api_if_match(rq->if_match, if_match)) {
        ob_api_outcome(out, 400, "invalid",
                       "If-Match must name a version as the ETag gives it: W/\"<versionId>\"");
        return false;
    }
    return true;
}

bool ob_api_src_key_matches(const ob_api_request *rq, const char *system, const char *value,
                            ob_api_response *out)
{
    const char *key = ob_api_param_get(rq, "identifier", NULL);
    const char *bar = key ? strchr(key, '|') : NULL;
    if (bar && (size_t)(bar - key) == strlen(system) &&
        memcmp(key, system, (size_t)(bar - key)) == 0 && strcmp(bar + 1, value) == 0)
        return true;
    ob_api_outcome(out, 400, "invalid",
                   !bar ? "a PUT needs ?identifier=<system>|<value>"
                        : "the identifier in the URL differs from the resource's identifier");
    return false;
}

ob_status ob_api_src_refused(ob_hub *h, const ob_caller *c, uint32_t pat, const char *category,
                             const char *rule, const char *reason, ob_err *e)
{
    ob_request r;
    ob_log_entry le;
    ob_api_request_init(c, pat, &r);
    pthread_rwlock_rdlock(&h->lock);
    ob_hub_entry_for(h, &r, &le);
    pthread_rwlock_unlock(&h->lock);
    le.event = OB_EV_DATA_CHANGE;
    le.capacity = OB_CAP_SOURCE_SYSTEM;
    le.permit = false;
    le.actor_id = c->client_id;
    le.actor_role = "source_system";
    le.category = category;
    le.rule = rule;
    le.legal_basis = "no legal basis";
    le.reason = reason;
    return ob_hub_log_read(h, &le, NULL, e);
}

ob_status ob_api_src_check(ob_hub *h, const ob_caller *c, const uint8_t cpr_hash[16],
                           const char *clinic_id, const char *system, ob_api_src_write *w)
{
    memset(w, 0, sizeof *w);
    pthread_rwlock_rdlock(&h->lock);
    const ob_source *src = ob_index_find_source(h->ix, c->client_id);
    w->pat = ob_index_find_patient_by_cpr_hash(h->ix, cpr_hash);
    w->clinic = src ? (clinic_id ? ob_index_find_org(h->ix, clinic_id) : src->site) : OB_NONE;
    if (!src || (c->acting_org != OB_NONE && c->acting_org != src->site)) {
        w->forbidden = true;
        w->refusal = !src ? "your client is not a registered source system"
                          : "your client speaks for another site than the one it acts for";
    } else if (w->pat == OB_NONE) {
        w->refusal = "unknown patient: overblik has no patient with this CPR number";
    } else if (w->clinic == OB_NONE || !ob_index_org_within(h->ix, w->clinic, src->site)) {
        w->refusal = "the responsible clinic must be your site or one of its units";
    } else { /* index strings stay while the hub is open */
        w->patient = h->ix->patients[w->pat].ext_id;
        w->origin = h->ix->orgs[w->clinic].ext_id;
        w->client = src->client_id;
        w->actor.time = c->now;
        w->actor.capacity = OB_CAP_SOURCE_SYSTEM;
        w->actor.actor_id = src->client_id;
        w->actor.actor_name = src->name;
        w->actor.actor_role = "source_system";
        w->actor.actor_org = h->ix->orgs[src->site].ext_id;
        w->actor.actor_org_name = h->ix->orgs[src->site].name;
    }
    pthread_rwlock_unlock(&h->lock);
    if (w->refusal)
        return OB_OK;
    /* identifier systems belong to the source that uses them (issue 19) */
    ob_err ce = {0};
    ob_status cr = ob_hub_apt_system_claim(h, system, w->client, &ce);
    if (cr == OB_EDENIED) {
        w->forbidden = true;
        memcpy(w->claim_msg, ce.msg, sizeof w->claim_msg);
        w->claim_msg[sizeof w->claim_msg - 1] = '\0';
        w->refusal = w->claim_msg;
        return OB_OK;
    }
    return cr;
}

bool ob_api_src_admit(ob_hub *h, const ob_caller *c, const ob_api_src_about *about,
                      ob_api_src_write *sw, ob_api_response *out, ob_err *e)
{
    ob_cpr cpr;
    if (ob_cpr_parse(about->cpr, strlen(about->cpr), &cpr, NULL) != OB_OK) {
        ob_api_outcome(out, 400, "invalid", about->bad_cpr);
        return false;
    }
    uint8_t hash[16];
    ob_cpr_hash(&h->keys, cpr.digits, hash);
    if (ob_api_src_check(h, c, hash, about->clinic, about->system, sw) != OB_OK) {
        ob_api_store_failed(out, about->what);
        return false;
    }
    if (!sw->refusal)
        return true;
    /* R-LOG-1: a refused write is logged too; an unknown patient is counted per source,
     * since the answer tells the source whether the CPR number is known */
    if (sw->pat == OB_NONE && !sw->forbidden)
        ob_hub_source_unknown_patient(h, c->client_id);
    if (ob_api_src_refused(h, c, sw->pat, about->category,
                           sw->forbidden ? about->rule_forbidden : about->rule_invalid, sw->refusal,
                           e) != OB_OK)
        ob_api_log_failed(out);
    else
        ob_api_outcome(out, sw->forbidden ? 403 : 400, sw->forbidden ? "forbidden" : "invalid",
                       sw->refusal);
    return false;
}
