/* changes.c - who may change blocks and consents, and what a valid one is
 * (R-BLK-2, R-BLK-3, R-BLK-5, R-CON-1, R-CON-2). Pure checks over the index; the
 * caller stores and logs the change after a check passes. Messages explain what to do
 * instead, and name people and sites by name, never the patient's CPR. */
#include "policy/policy.h"

static bool is_patients_gp(const ob_index *ix, uint32_t patient, uint32_t pro)
{
    uint32_t gp = ix->patients[patient].gp_clinic;
    return pro < ix->npros && gp != OB_NONE && ix->pros[pro].authorised &&
           ob_index_pro_works_at(ix, pro, gp);
}

ob_status ob_policy_check_block(const ob_index *ix, uint32_t patient, ob_block *b,
                                const ob_change_actor *who, ob_err *e)
{
    if (patient >= ix->npatients)
        return ob_err_set(e, OB_EINVAL, "unknown patient");
    if (b->kind >= OB_BLOCK_KIND_COUNT)
        return ob_err_set(e, OB_EINVAL, "a block is of kind professional, site, period or notes");
    if (b->categories == 0)
        return ob_err_set(e, OB_EINVAL, "a block must cover at least one data category");
    if (b->valid_to < b->valid_from || b->data_to < b->data_from)
        return ob_err_set(e, OB_EINVAL, "a block's period ends before it starts");
    if (b->kind == OB_BLOCK_PROFESSIONAL && b->target >= ix->npros)
        return ob_err_set(e, OB_EINVAL, "the blocked professional is not known");
    if (b->kind == OB_BLOCK_SITE && b->target >= ix->norgs)
        return ob_err_set(e, OB_EINVAL, "the blocked site is not known");
    if (b->kind == OB_BLOCK_PERIOD && b->data_from == OB_TIME_MIN && b->data_to == OB_TIME_MAX)
        return ob_err_set(e, OB_EINVAL, "a period block needs the period of data it hides");
    if (b->kind == OB_BLOCK_NOTES) { /* R-SRC-4: a choice, made once */
        const ob_patient *p = &ix->patients[patient];
        for (uint16_t i = 0; i < p->nblocks; i++)
            if (p->blocks[i].active && p->blocks[i].kind == OB_BLOCK_NOTES)
                return ob_err_set(e, OB_ECONFLICT,
                                  "full clinical notes are already kept within their sector; "
                                  "lift that block to share them again");
    }
    /* R-BLK-3: the patient, or their own GP on their behalf */
    if (who->actor_kind == OB_ACTOR_CITIZEN && who->actor == patient) {
        b->by_gp = false;
        b->created_by = OB_NONE;
    } else if (who->actor_kind == OB_ACTOR_PROFESSIONAL &&
               is_patients_gp(ix, patient, who->actor)) {
        b->by_gp = true;
        b->created_by = who->actor;
    } else {
        return ob_err_set(e, OB_EDENIED,
                          "only the patient, or the patient's own GP on their behalf, can "
                          "create a block");
    }
    /* R-BLK-2: a named hospital professional cannot be blocked; a site block can */
    if (b->kind == OB_BLOCK_PROFESSIONAL && ob_index_pro_in_secondary(ix, b->target)) {
        const ob_professional *p = &ix->pros[b->target];
        const char *site = "their hospital department";
        for (unsigned i = 0; i < p->nsites; i++)
            if (ix->orgs[p->sites[i]].sector == OB_SECTOR_SECONDARY) {
                site = ix->orgs[p->sites[i]].name; /* the site a block can be enforced on */
                break;
            }
        return ob_err_set(e, OB_EDENIED,
                          "%s works in a hospital, where a block of a named professional "
                          "cannot be enforced; block the site instead (for example '%s', "
                          "with or without its sub-units)",
                          p->name, site);
    }
    b->active = true;
    return OB_OK;
}

ob_status ob_policy_check_block_lift(const ob_index *ix, uint32_t patient, const ob_block *b,
                                     const ob_change_actor *who, ob_err *e)
{
    if (patient >= ix->npatients)
        return ob_err_set(e, OB_EINVAL, "unknown patient");
    if (!b->active)
        return ob_err_set(e, OB_ECONFLICT, "the block is already lifted");
    /* R-BLK-5: the patient, or the GP who set it on the patient's behalf */
    if (who->actor_kind == OB_ACTOR_CITIZEN && who->actor == patient)
        return OB_OK;
    if (who->actor_kind == OB_ACTOR_PROFESSIONAL && b->by_gp && b->created_by == who->actor)
        return OB_OK;
    return ob_err_set(e, OB_EDENIED,
                      "only the patient, or the GP who set the block on their behalf, can "
                      "lift it");
}

ob_status ob_policy_check_consent(const ob_index *ix, uint32_t patient, const ob_consent *c,
                                  const char *text, const ob_change_actor *who, ob_err *e)
{
    if (patient >= ix->npatients)
        return ob_err_set(e, OB_EINVAL, "unknown patient");
    if (c->kind >= OB_CONSENT_KIND_COUNT)
        return ob_err_set(e, OB_EINVAL,
                          "a consent's purpose is one of prevention, sharing, research, "
                          "quality_extended, override");
    /* R-CON-1: specific and informed */
    if (c->categories == 0)
        return ob_err_set(e, OB_EINVAL, "a consent must name the data categories it covers");
    if (c->to < c->from)
        return ob_err_set(e, OB_EINVAL, "a consent's period ends before it starts");
    if (c->to == OB_TIME_MAX)
        return ob_err_set(e, OB_EINVAL, "a consent must have an end date");
    if (!text || !*text)
        return ob_err_set(e, OB_EINVAL,
                          "a consent must record the information the patient was given");
    switch (c->recipient_kind) {
    case OB_RCPT_PERSON:
        if (c->recipient >= ix->npros)
            return ob_err_set(e, OB_EINVAL, "the consent's recipient is not known");
        break;
    case OB_RCPT_ORG:
        if (c->recipient >= ix->norgs)
            return ob_err_set(e, OB_EINVAL, "the consent's recipient site is not known");
        break;
    case OB_RCPT_ORG_KIND:
        if (c->recipient >= OB_ORG_KIND_COUNT)
            return ob_err_set(e, OB_EINVAL, "the consent's recipient kind is not known");
        break;
    case OB_RCPT_PROJECT:
        if (c->recipient >= ix->nprojects)
            return ob_err_set(e, OB_EINVAL, "the consent's research project is not known");
        break;
    default:
        return ob_err_set(e, OB_EINVAL, "a consent must name its recipient");
    }
    if (c->form > 1)
        return ob_err_set(e, OB_EINVAL, "a consent is written or oral");
    if (c->form == 1 && c->taken_by >= ix->npros)
        return ob_err_set(e, OB_EINVAL, "an oral consent records who took it");
    if (who->actor_kind == OB_ACTOR_CITIZEN && who->actor == patient)
        return OB_OK;
    if (!(who->actor_kind == OB_ACTOR_PROFESSIONAL && who->actor < ix->npros &&
          ix->pros[who->actor].authorised && c->form == 1 && c->taken_by == who->actor))
        return ob_err_set(e, OB_EDENIED,
                          "a consent is given by the patient, or recorded by the authorised "
                          "professional who took it orally");
    /* An oral consent has no signature: the recorder is its only witness. So the
     * recorder must treat the patient when it is given (R-ACC-1), and can never be its
     * beneficiary: a consent naming the recorder, a site they work at, a kind of site
     * they work at, or a project they belong to would let anyone grant themselves
     * access (issue 24). Such a consent is given by the patient themself. */
    if (!ob_policy_treats(ix, patient, who->actor, c->created))
        return ob_err_set(e, OB_EDENIED,
                          "an oral consent is recorded only by a professional who currently "
                          "treats the patient");
    if (ob_policy_consent_benefits(ix, c, who->actor))
        return ob_err_set(e, OB_EDENIED,
                          "you cannot record an oral consent that gives yourself or your own "
                          "site access; the patient gives it themself, or another treating "
                          "professional records it");
    return OB_OK;
}

bool ob_policy_treats(const ob_index *ix, uint32_t patient, uint32_t pro, ob_time at)
{
    if (patient >= ix->npatients || pro >= ix->npros || !ix->pros[pro].authorised)
        return false;
    const ob_patient *p = &ix->patients[patient];
    for (uint16_t i = 0; i < p->nrels; i++) {
        const ob_relationship *r = &p->rels[i];
        if (at < r->from || at > r->to)
            continue;
        if (r->professional != OB_NONE) {
            if (r->professional == pro)
                return true;
            continue;
        }
        const ob_professional *P = &ix->pros[pro];
        for (unsigned s = 0; s < P->nsites; s++)
            if (ob_index_org_within(ix, P->sites[s], r->org))
                return true;
    }
    return false;
}

bool ob_policy_consent_benefits(const ob_index *ix, const ob_consent *c, uint32_t pro)
{
    if (pro >= ix->npros)
        return false;
    const ob_professional *P = &ix->pros[pro];
    switch (c->recipient_kind) {
    case OB_RCPT_PERSON:
        return c->recipient == pro;
    case OB_RCPT_ORG:
        for (unsigned s = 0; s < P->nsites; s++)
            if (ob_index_org_within(ix, P->sites[s], c->recipient))
                return true;
        return false;
    case OB_RCPT_ORG_KIND:
        for (unsigned s = 0; s < P->nsites; s++)
            if (ix->orgs[P->sites[s]].kind == c->recipient)
                return true;
        return false;
    case OB_RCPT_PROJECT:
        if (c->recipient >= ix->nprojects)
            return false;
        for (uint32_t i = 0; i < ix->projects[c->recipient].nmembers; i++)
            if (ix->projects[c->recipient].members[i] == pro)
                return true;
        return false;
    }
    return true; /* an unknown kind benefits someone unknown: refuse */
}

ob_status ob_policy_check_consent_revoke(const ob_index *ix, uint32_t patient, const ob_consent *c,
                                         const ob_change_actor *who, ob_err *e)
{
    if (patient >= ix->npatients)
        return ob_err_set(e, OB_EINVAL, "unknown patient");
    if (!c->active)
        return ob_err_set(e, OB_ECONFLICT, "the consent is already revoked");
    if (who->actor_kind == OB_ACTOR_CITIZEN && who->actor == patient)
        return OB_OK;
    if (who->actor_kind == OB_ACTOR_PROFESSIONAL && c->taken_by == who->actor)
        return OB_OK;
    return ob_err_set(e, OB_EDENIED, "only the patient can revoke their consent");
}

/* ---- ending grants (issue 24): who may end a power of attorney, a permission, a
 * treatment relationship. The grant itself is found by the caller (index.h). ---- */

ob_status ob_policy_check_attorney_end(const ob_index *ix, uint32_t patient, const ob_attorney *a,
                                       const ob_change_actor *who, ob_err *e)
{
    if (patient >= ix->npatients)
        return ob_err_set(e, OB_EINVAL, "unknown patient");
    if (a->capacity != OB_CAP_ATTORNEY)
        return ob_err_set(e, OB_EDENIED,
                          "custody and guardianship end by the registry's record, not by a "
                          "revocation");
    /* the patient revokes what they gave; the holder renounces what they hold */
    if (who->actor_kind == OB_ACTOR_CITIZEN && (who->actor == patient || who->actor == a->holder))
        return OB_OK;
    return ob_err_set(e, OB_EDENIED,
                      "only the patient, or the holder renouncing it, can end a power of "
                      "attorney");
}

bool ob_policy_may_assist(const ob_index *ix, uint32_t assistant, uint32_t site, uint32_t pro,
                          ob_time at)
{
    if (assistant >= ix->npros || pro >= ix->npros || site >= ix->norgs)
        return false;
    const ob_perm_list *l = &ix->pro_perms[assistant];
    for (uint32_t i = 0; i < l->n; i++) {
        const ob_permission *p = &l->v[i];
        if (p->kind != OB_PERM_ASSIST || p->revoked || at < p->from || at > p->to ||
            !ob_index_org_within(ix, site, p->site))
            continue;
        const ob_professional *P = &ix->pros[pro];
        for (unsigned s = 0; s < P->nsites; s++)
            if (ob_index_org_within(ix, P->sites[s], p->site))
                return true;
    }
    return false;
}

bool ob_policy_manages(const ob_index *ix, uint32_t pro, uint32_t site, ob_time at)
{
    if (pro >= ix->npros || site >= ix->norgs)
        return false;
    const ob_perm_list *l = &ix->pro_perms[pro];
    for (uint32_t i = 0; i < l->n; i++) {
        const ob_permission *p = &l->v[i];
        if (p->kind == OB_PERM_MANAGE && !p->revoked && p->from <= at && at <= p->to &&
            ob_index_org_within(ix, site, p->site))
            return true;
    }
    return false;
}

ob_status ob_policy_check_permission_end(const ob_index *ix, const ob_permission *p, ob_time at,
                                         const ob_change_actor *who, ob_err *e)
{
    if (who->actor_kind == OB_ACTOR_PROFESSIONAL && ob_policy_manages(ix, who->actor, p->site, at))
        return OB_OK;
    /* the holder may give up their own permission (a secretary who leaves) */
    if (who->actor_kind == OB_ACTOR_PROFESSIONAL && who->actor == p->professional)
        return OB_OK;
    return ob_err_set(e, OB_EDENIED,
                      "only the management of the site that granted a permission (or its "
                      "holder, giving it up) can end it");
}

static bool care_provider(uint8_t kind)
{
    return kind == OB_ORG_HOSPITAL || kind == OB_ORG_DEPARTMENT || kind == OB_ORG_GP_CLINIC ||
           kind == OB_ORG_SPECIALIST || kind == OB_ORG_PRIVATE_HOSPITAL || kind == OB_ORG_DENTIST ||
           kind == OB_ORG_MUNICIPAL_UNIT || kind == OB_ORG_OUT_OF_HOURS ||
           kind == OB_ORG_ADDICTION_CENTRE;
}

ob_status ob_policy_check_relationship_start(const ob_index *ix, const ob_relationship *r,
                                             const ob_change_actor *who, ob_err *e)
{
    if (who->actor_kind != OB_ACTOR_SOURCE_SYSTEM || who->actor >= ix->nsources ||
        r->org >= ix->norgs)
        return ob_err_set(e, OB_EDENIED, "a treatment relationship starts with a source's event");
    uint32_t site = ix->sources[who->actor].site;
    if (r->kind == OB_REL_REFERRAL) {
        uint8_t from = site < ix->norgs ? ix->orgs[site].kind : OB_ORG_ADMIN;
        /* social services are municipal units too, but of no health sector */
        if (!care_provider(ix->orgs[r->org].kind) || ix->orgs[r->org].sector == OB_SECTOR_OTHER ||
            ix->orgs[r->org].sector == OB_SECTOR_SOCIAL || from == OB_ORG_MUNICIPAL_UNIT ||
            !care_provider(from))
            return ob_err_set(e, OB_EDENIED,
                              "a referral goes from a clinic or hospital to a care provider");
    } else if (!ob_index_org_within(ix, r->org, site)) {
        return ob_err_set(e, OB_EDENIED,
                          "a source's event starts relationships at its own site or its units "
                          "only");
    }
    if (r->professional != OB_NONE && !ob_index_pro_works_at(ix, r->professional, r->org))
        return ob_err_set(e, OB_EINVAL, "the practitioner does not work at that organisation");
    return OB_OK;
}

ob_status ob_policy_check_relationship_end(const ob_index *ix, uint32_t patient,
                                           const ob_relationship *r, const ob_change_actor *who,
                                           ob_err *e)
{
    if (patient >= ix->npatients)
        return ob_err_set(e, OB_EINVAL, "unknown patient");
    /* R-ACC-1: relationships end with the matching event from the source system of the
     * site (a discharge, a delisting) */
    if (who->actor_kind == OB_ACTOR_SOURCE_SYSTEM && who->actor < ix->nsources &&
        ob_index_org_within(ix, r->org, ix->sources[who->actor].site))
        return OB_OK;
    return ob_err_set(e, OB_EDENIED,
                      "a treatment relationship ends with an event from the source system of "
                      "its site");
}
