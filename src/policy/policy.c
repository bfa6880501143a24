/* policy.c - the decision engine (see policy.h). One function per rule family; the
 * entry point routes on actor kind and purpose. Each rule returns through decide_*()
 * helpers that fill the decision with static texts, so nothing here allocates.
 *
 * Order of checks, and why:
 *  1. the patient and their representatives (R-ACC-9) first: blocks never stop them;
 *  2. for professionals, uses that are never allowed for a purpose (R-ACC-7 planning,
 *     R-ACC-8 quality-database data and R-ACC-6 research data for treatment) before
 *     anything that could permit;
 *  3. the site's own data (R-ACC-2), before blocks, which never stop it (R-BLK-4);
 *  4. the purpose's own rule (treatment, quality, consent, research, ...);
 *  5. blocks (R-BLK-1/4) on top of a permitting treatment or quality rule;
 *  6. default deny (R-ACC-14). */
#include "policy/policy.h"

#include <stdio.h>
#include <string.h>

static const char *const rule_names[OB_RULE_COUNT] = {
    "R-ACC-1", "R-ACC-2", "R-ACC-3",  "R-ACC-4",  "R-ACC-5",  "R-ACC-6",  "R-ACC-7",
    "R-ACC-8", "R-ACC-9", "R-ACC-10", "R-ACC-11", "R-ACC-12", "R-ACC-13", "R-ACC-14",
    "R-BLK-1", "R-BLK-4", "R-ACC-15", "R-ACC-16", "R-ACC-17", "R-ACC-18", "R-ACC-19"};

const char *ob_rule_name(ob_rule r)
{
    return (unsigned)r < OB_RULE_COUNT ? rule_names[r] : "R-ACC-14";
}

static const char *const purpose_codes[OB_PURPOSE_COUNT] = {
    "TREAT",   "ETREAT",          "HQUALIMP", "PREVENTION", "SHARING",        "HRESCH",
    "HOPERAT", "DECISIONSUPPORT", "PATRQT",   "PWATRNY",    "RESEARCHNOTICE", "DISCLOSE"};

const char *ob_purpose_code(ob_purpose p)
{
    return (unsigned)p < OB_PURPOSE_COUNT ? purpose_codes[p] : "UNKNOWN";
}

/* OIO-IDWS aliases (R-API-2) and a few spelled-out forms (docs/cli.md lists them all). */
static const struct {
    const char *alias;
    ob_purpose p;
} purpose_aliases[] = {{"TREATMENT", OB_PURPOSE_TREAT},   {"EMERGENCY", OB_PURPOSE_ETREAT},
                       {"REQUEST", OB_PURPOSE_PATIENT},   {"CLINTRCH", OB_PURPOSE_RESEARCH},
                       {"QUALITY", OB_PURPOSE_QUALITY},   {"RESEARCH", OB_PURPOSE_RESEARCH},
                       {"PLANNING", OB_PURPOSE_PLANNING}, {"PATIENT", OB_PURPOSE_PATIENT}};

int ob_purpose_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < OB_PURPOSE_COUNT; i++)
        if (strcmp(s, purpose_codes[i]) == 0)
            return i;
    for (size_t i = 0; i < sizeof purpose_aliases / sizeof purpose_aliases[0]; i++)
        if (strcmp(s, purpose_aliases[i].alias) == 0)
            return (int)purpose_aliases[i].p;
    return -1;
}

const char *ob_purpose_alias(size_t i, ob_purpose *p)
{
    if (i >= sizeof purpose_aliases / sizeof purpose_aliases[0])
        return NULL;
    *p = purpose_aliases[i].p;
    return purpose_aliases[i].alias;
}

static const char *const override_names[OB_OVERRIDE_COUNT] = {"none", "consent", "vital_interest"};

const char *ob_override_name(ob_override o)
{
    return (unsigned)o < OB_OVERRIDE_COUNT ? override_names[o] : "none";
}

int ob_override_parse(const char *s)
{
    for (int i = 0; s && i < OB_OVERRIDE_COUNT; i++)
        if (strcmp(s, override_names[i]) == 0)
            return i;
    return -1;
}

void ob_obligations_format(uint32_t obl, char *buf, size_t cap)
{
    static const char *const names[] = {"block_hint",     "pseudonymise",  "notify_patient",
                                        "log_override",   "log_assistant", "omit_silently",
                                        "log_disclosure", "aggregate"};
    size_t n = 0;
    if (cap)
        buf[0] = '\0';
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(obl & (1u << i)))
            continue;
        int w = snprintf(buf + n, cap > n ? cap - n : 0, "%s%s", n ? "," : "", names[i]);
        if (w < 0 || (size_t)w >= cap - n)
            return;
        n += (size_t)w;
    }
}

/* ---- legal bases (static texts) ---- */
#define LB_TREAT         "Sundhedsloven §42a stk. 1; §41 stk. 2 nr. 1"
#define LB_OWN           "Sundhedsloven §42a stk. 1 (the site's own records)"
#define LB_ASSIST        "Sundhedsloven §42d stk. 3"
#define LB_QUALITY       "Sundhedsloven §42d stk. 2 nr. 2"
#define LB_CONSENT_PREV  "Sundhedsloven §42a stk. 3 (consent)"
#define LB_CONSENT       "Sundhedsloven §41 stk. 1; §42d stk. 1 (consent)"
#define LB_RESEARCH      "Sundhedsloven §46; Databeskyttelsesloven §10"
#define LB_RESEARCH_ONLY "Databeskyttelsesloven §10 stk. 2"
#define LB_PLANNING      "Databeskyttelsesloven §10"
#define LB_QDB           "Sundhedsloven §196 (clinical quality databases)"
#define LB_OWN_DATA      "Sundhedsloven §37; GDPR art. 15"
#define LB_ATTORNEY      "power of attorney (Sundhedsloven §37)"
#define LB_NOTICE        "Databeskyttelsesloven §10 stk. 5"
#define LB_DSS           "Sundhedsloven §42a stk. 6"
#define LB_DISCLOSE      "Sundhedsloven §41 stk. 2 nr. 1"
#define LB_BLOCK         "Sundhedsloven §42a (the patient's block)"
#define LB_OVERRIDE      "Sundhedsloven §42a (override of a block, værdispring)"
#define LB_NONE          "no legal basis"
#define LB_CUSTODY       "Sundhedsloven §17 (custody until the child turns 15)"

static void set(ob_decision *d, bool permit, ob_rule rule, const char *basis, const char *reason)
{
    d->permit = permit;
    d->rule = (uint8_t)rule;
    d->legal_basis = basis;
    d->reason = reason;
}

static bool active(ob_time from, ob_time to, ob_time at)
{
    return from <= at && at <= to;
}

/* Whether someone born at `birth` is at least `years` old at `now` (a birthday on 29
 * February counts from 1 March in other years). */
static bool turned(ob_time birth, int years, ob_time now)
{
    int y, m, dd;
    ob_civil_from_days(birth >= 0 ? birth / 86400 : (birth - 86399) / 86400, &y, &m, &dd);
    if (m == 2 && dd == 29 && !ob_date_valid(y + years, 2, 29))
        m = 3, dd = 1;
    return now >= ob_time_from_ymd(y + years, m, dd);
}

static bool treatment_purpose(uint8_t p)
{
    return p == OB_PURPOSE_TREAT || p == OB_PURPOSE_ETREAT;
}

/* ---- R-ACC-9: the patient and their representatives ---- */
static void decide_citizen(const ob_index *ix, const ob_request *rq, ob_decision *d)
{
    /* a citizen reads as the patient or as their representative, for nothing else (R-ACC-15:
     * a request that names another purpose did not come from a citizen's token) */
    if (rq->purpose != OB_PURPOSE_PATIENT && rq->purpose != OB_PURPOSE_ATTORNEY) {
        set(d, false, OB_RULE_ACC_9, LB_NONE,
            "a citizen reads their own data or a represented person's, for that purpose only");
        return;
    }
    if (rq->actor == rq->patient) {
        d->capacity = OB_CAP_CITIZEN;
        set(d, true, OB_RULE_ACC_9, LB_OWN_DATA, "patients read all of their own data");
        return;
    }
    const ob_patient *p = &ix->patients[rq->patient];
    bool grown = false;
    for (uint16_t i = 0; i < p->nattorneys; i++) {
        const ob_attorney *a = &p->attorneys[i];
        if (a->holder != rq->actor || !active(a->from, a->to, rq->now))
            continue;
        d->capacity = a->capacity;
        /* R-ACC-18 (SUL §17): from 15 the patient decides over their own health data;
         * custody no longer reads it (a power of attorney the young person gives does) */
        if (a->capacity == OB_CAP_PARENT && turned(p->birth, 15, rq->now)) {
            grown = true;
            continue;
        }
        if (a->scope & OB_CAT_BIT(rq->category)) {
            set(d, true, OB_RULE_ACC_9, a->capacity == OB_CAP_PARENT ? LB_CUSTODY : LB_ATTORNEY,
                a->capacity == OB_CAP_PARENT ? "custody of a child under 15"
                                             : "the power of attorney covers this data for its "
                                               "period");
            return;
        }
    }
    if (grown) {
        set(d, false, OB_RULE_ACC_18, LB_NONE,
            "from the age of 15 a patient decides over their own health data; custody does not "
            "give access");
        return;
    }
    set(d, false, OB_RULE_ACC_9, LB_NONE,
        "no current power of attorney covers this data for this person");
}

/* ---- blocks (R-BLK-1, R-BLK-4) ---- */
static bool block_hits(const ob_index *ix, const ob_block *b, const ob_request *rq, uint32_t pro)
{
    if (!b->active || !active(b->valid_from, b->valid_to, rq->now) ||
        !(b->categories & OB_CAT_BIT(rq->category)))
        return false;
    switch (b->kind) {
    case OB_BLOCK_PROFESSIONAL:
        return b->target == pro ||
               (rq->actor_kind == OB_ACTOR_PROFESSIONAL && b->target == rq->actor);
    case OB_BLOCK_SITE: {
        bool from_site = b->include_subunits ? ob_index_org_within(ix, rq->origin_org, b->target)
                                             : rq->origin_org == b->target;
        if (!from_site || !active(b->data_from, b->data_to, rq->item_time))
            return false;
        /* hidden from professionals elsewhere: the site itself still reads its data */
        bool reader_inside = b->include_subunits
                                 ? ob_index_org_within(ix, rq->acting_org, b->target)
                                 : rq->acting_org == b->target;
        return !reader_inside;
    }
    case OB_BLOCK_PERIOD:
        return active(b->data_from, b->data_to, rq->item_time);
    case OB_BLOCK_NOTES: /* R-SRC-4: a note stays within the sector that wrote it */
        return rq->origin_org >= ix->norgs || rq->acting_org >= ix->norgs ||
               ix->orgs[rq->origin_org].sector != ix->orgs[rq->acting_org].sector;
    }
    return false;
}

static bool blocked(const ob_index *ix, const ob_request *rq, uint32_t pro)
{
    const ob_patient *p = &ix->patients[rq->patient];
    for (uint16_t i = 0; i < p->nblocks; i++)
        if (block_hits(ix, &p->blocks[i], rq, pro))
            return true;
    return false;
}

/* Applies blocks to a permitting treatment decision; overrides per R-BLK-4. */
static void apply_blocks(const ob_index *ix, const ob_request *rq, uint32_t pro, ob_decision *d)
{
    if (!blocked(ix, rq, pro))
        return;
    if (rq->override == OB_OVERRIDE_NONE) {
        d->obligations |= OB_OBL_BLOCK_HINT;
        set(d, false, OB_RULE_BLK_4, LB_BLOCK,
            "some information is withheld by the patient's block");
        return;
    }
    if (!rq->has_override_reason) {
        d->obligations |= OB_OBL_BLOCK_HINT;
        set(d, false, OB_RULE_BLK_4, LB_BLOCK, "an override of a block needs a written reason");
        return;
    }
    if (rq->override == OB_OVERRIDE_VITAL_INTEREST && rq->purpose != OB_PURPOSE_ETREAT) {
        d->obligations |= OB_OBL_BLOCK_HINT;
        set(d, false, OB_RULE_BLK_4, LB_BLOCK,
            "an override for vital interests is only for emergencies (purpose ETREAT)");
        return;
    }
    d->obligations |= OB_OBL_NOTIFY_PATIENT | OB_OBL_LOG_OVERRIDE;
    set(d, true, OB_RULE_BLK_4, LB_OVERRIDE,
        rq->override == OB_OVERRIDE_CONSENT
            ? "block overridden with the patient's consent given in the situation"
            : "block overridden for the patient's vital interests");
}

/* ---- R-ACC-1, R-ACC-12, R-ACC-13: treatment ---- */

/* The categories pro's current relationships to the patient make necessary (R-ACC-1: the
 * necessity table, by relationship kind and pro's role); *any says whether there is a
 * relationship at all (one whose row the operator emptied still counts as one). It stops
 * at the first relationship that gives a category of `want` (0: at the first at all). */
static ob_catmask relationship_needs(const ob_index *ix, const ob_request *rq, uint32_t pro,
                                     ob_catmask want, bool *any)
{
    const ob_patient *p = &ix->patients[rq->patient];
    ob_catmask need = 0;
    *any = false;
    for (uint16_t i = 0; i < p->nrels; i++) {
        const ob_relationship *r = &p->rels[i];
        if (!active(r->from, r->to, rq->now))
            continue;
        bool mine = r->professional != OB_NONE ? r->professional == pro
                                               : ob_index_org_within(ix, rq->acting_org, r->org);
        uint8_t role = mine && pro < ix->npros ? ix->pros[pro].role : OB_ROLE_COUNT;
        if (mine && r->kind < OB_REL_KIND_COUNT && role < OB_ROLE_COUNT) {
            *any = true;
            need |= ix->necessary[r->kind][role];
            if (want ? (need & want) != 0 : true) /* enough known: the hot path stops here */
                break;
        }
    }
    return need;
}

static bool has_relationship(const ob_index *ix, const ob_request *rq, uint32_t pro)
{
    bool any;
    relationship_needs(ix, rq, pro, 0, &any);
    return any;
}

/* Whether data of rq's category from rq's origin was disclosed to the acting organisation
 * (R-ACC-13, R-ACC-19). */
static bool disclosed(const ob_index *ix, const ob_request *rq)
{
    const ob_patient *p = &ix->patients[rq->patient];
    for (uint16_t i = 0; i < p->ndisclosures; i++) {
        const ob_disclosure *x = &p->disclosures[i];
        ob_catmask cats = x->categories ? x->categories : OB_CAT_BIT(OB_CAT_DISCHARGE_SUMMARY);
        if ((cats & OB_CAT_BIT(rq->category)) &&
            ob_index_org_within(ix, rq->acting_org, x->to_org) &&
            ob_index_org_within(ix, rq->origin_org, x->origin_org) && x->at <= rq->now)
            return true;
    }
    return false;
}

/* Whether an organisation (or a unit within it) treats the patient now: the recipient of
 * a disclosure must (R-ACC-19: "the municipal nursing that treats the same patient"). */
static bool org_treats(const ob_index *ix, const ob_request *rq, uint32_t org)
{
    const ob_patient *p = &ix->patients[rq->patient];
    for (uint16_t i = 0; i < p->nrels; i++) {
        const ob_relationship *r = &p->rels[i];
        if (active(r->from, r->to, rq->now) &&
            (ob_index_org_within(ix, r->org, org) || ob_index_org_within(ix, org, r->org)))
            return true;
    }
    return false;
}

static bool hospital_org(const ob_index *ix, uint32_t org)
{
    const ob_org *o = &ix->orgs[org];
    return o->sector == OB_SECTOR_SECONDARY;
}

static void decide_treatment(const ob_index *ix, const ob_request *rq, uint32_t pro, ob_decision *d)
{
    /* R-ACC-13: a hospital's discharge summary reaches municipal nursing only as an
     * explicit disclosure by the discharging doctor. */
    if (rq->category == OB_CAT_DISCHARGE_SUMMARY &&
        ix->orgs[rq->acting_org].sector == OB_SECTOR_MUNICIPAL &&
        hospital_org(ix, rq->origin_org)) {
        if (disclosed(ix, rq) && has_relationship(ix, rq, pro)) {
            d->obligations |= OB_OBL_LOG_DISCLOSURE;
            set(d, true, OB_RULE_ACC_13, LB_DISCLOSE,
                "the discharging doctor shared this discharge summary with your unit");
            apply_blocks(ix, rq, pro, d);
        } else {
            set(d, false, OB_RULE_ACC_13, LB_NONE,
                "a discharge summary reaches municipal nursing only when the discharging "
                "doctor shares it");
        }
        return;
    }
    bool any;
    ob_catmask need = relationship_needs(ix, rq, pro, OB_CAT_BIT(rq->category), &any);
    if (any && !(need & OB_CAT_BIT(rq->category))) {
        /* R-ACC-19: beyond what the relationship needs, what a treating professional
         * disclosed to this unit for the current treatment */
        if (disclosed(ix, rq)) {
            d->obligations |= OB_OBL_LOG_DISCLOSURE;
            set(d, true, OB_RULE_ACC_19, LB_DISCLOSE,
                "a treating professional disclosed this to your unit for the current "
                "treatment");
            apply_blocks(ix, rq, pro, d);
            return;
        }
        /* R-ACC-1: what is necessary for the current treatment, not the whole record */
        set(d, false, OB_RULE_ACC_1, LB_NONE,
            "this kind of data is not needed for the treatment your relationship with the "
            "patient covers");
        return;
    }
    /* R-ACC-12 (seed 001 case 12): a substitute GP's relationship arises from the covered
     * patient's contact (an event, api_events.c) and ends with the cover; the cover itself
     * opens no one's record */
    if (any) {
        set(d, true, OB_RULE_ACC_1, LB_TREAT, "current treatment relationship with the patient");
    } else {
        set(d, false, OB_RULE_ACC_1, LB_NONE, "no current treatment relationship with the patient");
        return;
    }
    apply_blocks(ix, rq, pro, d);
}

/* ---- R-ACC-4: quality work ---- */
static bool perm_covers(const ob_index *ix, uint32_t pro, uint8_t kind, uint32_t org, ob_time now)
{
    const ob_perm_list *l = &ix->pro_perms[pro];
    for (uint32_t i = 0; i < l->n; i++) {
        const ob_permission *p = &l->v[i];
        if (p->kind == kind && !p->revoked && active(p->from, p->to, now) &&
            ob_index_org_within(ix, org, p->site))
            return true;
    }
    return false;
}

/* The granting site of a current permission of `kind` covering org, or OB_NONE. */
static uint32_t perm_site(const ob_index *ix, uint32_t pro, uint8_t kind, uint32_t org, ob_time now)
{
    const ob_perm_list *l = &ix->pro_perms[pro];
    for (uint32_t i = 0; i < l->n; i++) {
        const ob_permission *p = &l->v[i];
        if (p->kind == kind && !p->revoked && active(p->from, p->to, now) &&
            ob_index_org_within(ix, org, p->site))
            return p->site;
    }
    return OB_NONE;
}

static bool works_within(const ob_index *ix, uint32_t pro, uint32_t site)
{
    if (pro >= ix->npros)
        return false;
    const ob_professional *P = &ix->pros[pro];
    for (unsigned i = 0; i < P->nsites; i++)
        if (ob_index_org_within(ix, P->sites[i], site))
            return true;
    return false;
}

static const ob_consent *find_consent(const ob_index *ix, const ob_request *rq, uint32_t pro,
                                      uint8_t kind);

/* R-ACC-17, seed 003 (first question): a GP clinic's quality work on its own records, for
 * listed and formerly listed patients alike, is the data controller's own business: no
 * permission record, by an authorised person working there (or their assistant, R-ACC-3). */
static bool own_gp_records(const ob_index *ix, const ob_request *rq, uint32_t pro)
{
    return rq->acting_org < ix->norgs && ix->orgs[rq->acting_org].kind == OB_ORG_GP_CLINIC &&
           ob_index_pro_works_at(ix, pro, rq->acting_org) &&
           ob_index_org_within(ix, rq->origin_org, rq->acting_org);
}

/* Seed 001 case 22: a permission by criteria the site's management set in advance. */
static bool criteria_cover(const ob_index *ix, uint32_t pro, uint32_t origin, ob_time now)
{
    const ob_professional *P = &ix->pros[pro];
    for (size_t i = 0; i < ix->ncriteria; i++) {
        const ob_criteria *c = &ix->criteria[i];
        if (!active(c->from, c->to, now) || !ob_index_org_within(ix, origin, c->site) ||
            (c->role < OB_ROLE_COUNT && c->role != P->role) || !P->authorised)
            continue;
        if (c->org == OB_NONE || works_within(ix, pro, c->org))
            return true;
    }
    return false;
}

static void decide_quality(const ob_index *ix, const ob_request *rq, uint32_t pro, ob_decision *d)
{
    bool own = own_gp_records(ix, rq, pro);
    if (!own && !perm_covers(ix, pro, OB_PERM_QUALITY, rq->origin_org, rq->now) &&
        !criteria_cover(ix, pro, rq->origin_org, rq->now)) {
        d->obligations |= OB_OBL_OMIT_SILENTLY;
        set(d, false, OB_RULE_ACC_4, LB_NONE,
            "quality work reads only data from sites whose management has granted permission");
        return;
    }
    /* R-ACC-17, seed 003: "Som udgangspunkt må data dog ikke være mere end fem år gamle";
     * older data only with the patient's consent to quality work beyond the limit (seed 002) */
    if (rq->item_time < rq->now && turned(rq->item_time, 5, rq->now) &&
        !find_consent(ix, rq, pro, OB_CONSENT_QUALITY_EXTENDED)) {
        d->obligations |= OB_OBL_OMIT_SILENTLY;
        set(d, false, OB_RULE_ACC_17, LB_NONE,
            "quality work uses data at most five years old unless the patient has consented");
        return;
    }
    if (blocked(ix, rq, pro)) {
        d->obligations |= OB_OBL_OMIT_SILENTLY;
        set(d, false, OB_RULE_BLK_1, LB_BLOCK, "the patient has blocked this data");
        return;
    }
    if (own)
        set(d, true, OB_RULE_ACC_17, LB_QUALITY, "quality work on your own clinic's records");
    else
        set(d, true, OB_RULE_ACC_4, LB_QUALITY,
            "quality-work permission from the site's management");
}

/* ---- R-ACC-5, R-ACC-6: consents ---- */
static bool recipient_matches(const ob_index *ix, const ob_consent *c, const ob_request *rq,
                              uint32_t pro)
{
    switch (c->recipient_kind) {
    case OB_RCPT_PERSON:
        return c->recipient == pro;
    case OB_RCPT_ORG:
        return rq->acting_org < ix->norgs && ob_index_pro_works_at(ix, pro, rq->acting_org) &&
               ob_index_org_within(ix, rq->acting_org, c->recipient);
    case OB_RCPT_ORG_KIND:
        return rq->acting_org < ix->norgs && ob_index_pro_works_at(ix, pro, rq->acting_org) &&
               ix->orgs[rq->acting_org].kind == c->recipient;
    case OB_RCPT_PROJECT:
        return rq->project != OB_NONE && c->recipient == rq->project;
    }
    return false;
}

static const ob_consent *find_consent(const ob_index *ix, const ob_request *rq, uint32_t pro,
                                      uint8_t kind)
{
    const ob_patient *p = &ix->patients[rq->patient];
    for (uint16_t i = 0; i < p->nconsents; i++) {
        const ob_consent *c = &p->consents[i];
        if (c->kind == kind && c->active && active(c->from, c->to, rq->now) &&
            (c->categories & OB_CAT_BIT(rq->category)) && recipient_matches(ix, c, rq, pro))
            return c;
    }
    return NULL;
}

static void decide_consent_only(const ob_index *ix, const ob_request *rq, uint32_t pro,
                                ob_decision *d)
{
    uint8_t kind =
        rq->purpose == OB_PURPOSE_PREVENTION ? OB_CONSENT_PREVENTION : OB_CONSENT_SHARING;
    if (find_consent(ix, rq, pro, kind)) {
        set(d, true, OB_RULE_ACC_5, kind == OB_CONSENT_PREVENTION ? LB_CONSENT_PREV : LB_CONSENT,
            "the patient's active consent covers this purpose, recipient and data");
        /* R-BLK-1: a consent does not lift the patient's blocks; only the consent that
         * explicitly overrides one (R-CON-3, R-BLK-4) does, flagged like any override */
        if (!blocked(ix, rq, pro))
            return;
        if (find_consent(ix, rq, pro, OB_CONSENT_OVERRIDE)) {
            d->obligations |= OB_OBL_NOTIFY_PATIENT | OB_OBL_LOG_OVERRIDE;
            set(d, true, OB_RULE_BLK_4, LB_OVERRIDE,
                "block overridden with the patient's consent to override it");
            return;
        }
        d->obligations |= OB_OBL_BLOCK_HINT;
        set(d, false, OB_RULE_BLK_4, LB_BLOCK,
            "some information is withheld by the patient's block");
        return;
    }
    set(d, false, OB_RULE_ACC_5, LB_NONE,
        "this purpose needs the patient's consent for this recipient and data, and there is "
        "none");
}

static bool project_member(const ob_project *pr, uint32_t pro)
{
    for (uint32_t i = 0; i < pr->nmembers; i++)
        if (pr->members[i] == pro)
            return true;
    return false;
}

/* The GP clinic org is or lies within, or OB_NONE. */
static uint32_t gp_clinic_of(const ob_index *ix, uint32_t org)
{
    for (int depth = 0; org != OB_NONE && org < ix->norgs && depth < 16; depth++) {
        if (ix->orgs[org].kind == OB_ORG_GP_CLINIC)
            return org;
        org = ix->orgs[org].parent;
    }
    return OB_NONE;
}

static bool project_has_gp(const ob_project *pr, uint32_t gp)
{
    for (uint32_t i = 0; i < pr->ngps; i++)
        if (pr->gps[i] == gp)
            return true;
    return false;
}

static void decide_research(const ob_index *ix, const ob_request *rq, uint32_t pro, ob_decision *d)
{
    if (rq->project == OB_NONE || rq->project >= ix->nprojects) {
        set(d, false, OB_RULE_ACC_6, LB_NONE, "research access needs an approved project");
        return;
    }
    const ob_project *pr = &ix->projects[rq->project];
    if (!project_member(pr, pro) || !active(pr->from, pr->to, rq->now)) {
        set(d, false, OB_RULE_ACC_6, LB_NONE,
            "you are not a member of a current research project for this request");
        return;
    }
    if (rq->purpose == OB_PURPOSE_RESEARCH_NOTICE) {
        bool approved = pr->approval_ref[0] && pr->controller_permission;
        uint32_t gp = ix->patients[rq->patient].gp_clinic;
        /* seed 001 case 17: "videregive oplysningerne til patientens læge mhp. opfølgning":
         * to the patient's own doctor, nobody else */
        if (approved && gp != OB_NONE &&
            (rq->recipient_org == OB_NONE || rq->recipient_org >= ix->norgs ||
             !ob_index_org_within(ix, rq->recipient_org, gp))) {
            set(d, false, OB_RULE_ACC_10, LB_NONE,
                "a finding notice goes only to the patient's own GP");
            return;
        }
        if (approved && gp != OB_NONE) {
            d->obligations |= OB_OBL_LOG_DISCLOSURE;
            set(d, true, OB_RULE_ACC_10, LB_NOTICE,
                "a finding of serious, treatable disease may be sent to the patient's GP");
        } else {
            set(d, false, OB_RULE_ACC_10, LB_NONE,
                "a finding notice needs an approved project and a patient with a GP");
        }
        return;
    }
    /* R-ACC-6, seed 000: "Anvendelse af journaldata til forskningsformål kræver tilladelse fra
     * den dataansvarlige læge": a GP clinic's records, by either route below, only with that
     * clinic's own permission */
    uint32_t gp = gp_clinic_of(ix, rq->origin_org);
    if (gp != OB_NONE && !project_has_gp(pr, gp)) {
        set(d, false, OB_RULE_ACC_6, LB_NONE,
            "research on a GP clinic's records needs that clinic's permission as data "
            "controller");
        return;
    }
    if (pr->approval_ref[0] && pr->controller_permission &&
        (pr->categories & OB_CAT_BIT(rq->category))) {
        if (!pr->identifiable)
            d->obligations |= OB_OBL_PSEUDONYMISE;
        set(d, true, OB_RULE_ACC_6, LB_RESEARCH,
            "approved research project with the data controller's permission");
        return;
    }
    const ob_consent *c = find_consent(ix, rq, pro, OB_CONSENT_RESEARCH);
    if (c) {
        if (!c->identifiable)
            d->obligations |= OB_OBL_PSEUDONYMISE;
        set(d, true, OB_RULE_ACC_6, LB_RESEARCH, "the patient's research consent covers this");
        return;
    }
    set(d, false, OB_RULE_ACC_6, LB_NONE,
        "research access needs an approval with the data controller's permission, or the "
        "patient's research consent, covering this data");
}

/* ---- professionals ---- */
static void decide_as(const ob_index *ix, const ob_request *rq, uint32_t pro, ob_decision *d)
{
    const ob_professional *P = &ix->pros[pro];
    /* R-ACC-7: never person-level data for planning, administration or control */
    if (rq->purpose == OB_PURPOSE_PLANNING) {
        set(d, false, OB_RULE_ACC_7, LB_PLANNING,
            "planning and administration get aggregate statistics only, never person-level "
            "data");
        return;
    }
    /* issue 21: social services and jobcentres are not health care; their people read
     * health data only with the patient's consent (Sundhedsloven §43), whatever else */
    if (rq->acting_org < ix->norgs && ix->orgs[rq->acting_org].sector == OB_SECTOR_SOCIAL &&
        rq->purpose != OB_PURPOSE_SHARING) {
        set(d, false, OB_RULE_ACC_14, LB_NONE,
            "social services and jobcentres read health data only with the patient's consent");
        return;
    }
    bool treats = treatment_purpose(rq->purpose) || rq->purpose == OB_PURPOSE_DECISION_SUPPORT;
    /* R-ACC-8, R-ACC-6 (DBL §10 stk. 2): such data serves only the purposes the rules
     * name, whatever else a caller states (a consent purpose must not be a way round) */
    if (rq->source == OB_SRC_QUALITY_DB && rq->purpose != OB_PURPOSE_QUALITY &&
        rq->purpose != OB_PURPOSE_RESEARCH) {
        set(d, false, OB_RULE_ACC_8, LB_QDB,
            "data from a clinical quality database is used only for quality work and "
            "research, never to treat an individual");
        return;
    }
    if (rq->source == OB_SRC_RESEARCH && rq->purpose != OB_PURPOSE_RESEARCH &&
        rq->purpose != OB_PURPOSE_RESEARCH_NOTICE) {
        set(d, false, OB_RULE_ACC_6, LB_RESEARCH_ONLY,
            "data collected for research is used only for that research, not for treatment");
        return;
    }
    /* treatment, quality work, decision support and disclosure are for authorised health
     * persons; research (SUL §46) and consent-based recipients (R-CON-3: e.g. municipal
     * social services) need not be */
    bool needs_authorisation =
        treats || rq->purpose == OB_PURPOSE_QUALITY || rq->purpose == OB_PURPOSE_DISCLOSE;
    if (!P->authorised && needs_authorisation) {
        set(d, false, OB_RULE_ACC_3, LB_NONE,
            "non-authorised staff read only as technical assistance for a named authorised "
            "professional");
        return;
    }
    bool at_site = rq->acting_org != OB_NONE && rq->acting_org < ix->norgs &&
                   ob_index_pro_works_at(ix, pro, rq->acting_org);
    /* R-ACC-2: the site always reads what it produced itself; blocks do not apply */
    uint8_t acting_kind = at_site ? ix->orgs[rq->acting_org].kind : OB_ORG_ADMIN;
    bool producing_site = acting_kind != OB_ORG_REGION && acting_kind != OB_ORG_MUNICIPALITY &&
                          acting_kind != OB_ORG_ADMIN;
    /* patient-reported data (R-PRD-1) has the patient as its source, not the clinic it
     * is shared through: it is not the site's own record, and blocks apply to it */
    if (at_site && producing_site && treatment_purpose(rq->purpose) &&
        rq->source != OB_SRC_PATIENT_REPORTED &&
        ob_index_org_within(ix, rq->origin_org, rq->acting_org)) {
        set(d, true, OB_RULE_ACC_2, LB_OWN, "data produced by your own organisation");
        return;
    }
    switch (rq->purpose) {
    case OB_PURPOSE_TREAT:
    case OB_PURPOSE_ETREAT:
        if (!at_site) {
            set(d, false, OB_RULE_ACC_1, LB_NONE, "you do not work at the site you act from");
            return;
        }
        decide_treatment(ix, rq, pro, d);
        return;
    case OB_PURPOSE_DISCLOSE: {
        /* R-ACC-13: the discharging doctor shares a discharge summary with municipal
         * nursing that treats the patient */
        bool to_treating = rq->recipient_org != OB_NONE && rq->recipient_org < ix->norgs &&
                           ix->orgs[rq->recipient_org].sector != OB_SECTOR_OTHER &&
                           ix->orgs[rq->recipient_org].sector != OB_SECTOR_SOCIAL &&
                           org_treats(ix, rq, rq->recipient_org);
        bool own = at_site && ob_index_org_within(ix, rq->origin_org, rq->acting_org);
        if (rq->category == OB_CAT_DISCHARGE_SUMMARY) {
            if (own && P->role == OB_ROLE_DOCTOR && to_treating &&
                ix->orgs[rq->recipient_org].sector == OB_SECTOR_MUNICIPAL &&
                has_relationship(ix, rq, pro)) {
                d->obligations |= OB_OBL_LOG_DISCLOSURE;
                set(d, true, OB_RULE_ACC_13, LB_DISCLOSE,
                    "the discharging doctor shares the discharge summary for the current "
                    "treatment");
            } else {
                set(d, false, OB_RULE_ACC_13, LB_NONE,
                    "only a treating doctor may share a discharge summary, and only with "
                    "municipal nursing that treats the patient");
            }
            return;
        }
        /* R-ACC-19 (SUL §41 stk. 2 nr. 1; seed 001 "videregivelse"): a treating professional
         * passes their own organisation's records to another unit that treats the patient */
        if (own && to_treating && has_relationship(ix, rq, pro)) {
            d->obligations |= OB_OBL_LOG_DISCLOSURE;
            set(d, true, OB_RULE_ACC_19, LB_DISCLOSE,
                "a treating professional discloses their own records to a unit that treats "
                "the patient, for the current treatment");
        } else {
            set(d, false, OB_RULE_ACC_19, LB_NONE,
                "disclosure is of your own organisation's records, by a professional who "
                "treats the patient, to a health unit that treats them too");
        }
        return;
    }
    case OB_PURPOSE_QUALITY:
        decide_quality(ix, rq, pro, d);
        return;
    case OB_PURPOSE_PREVENTION:
    case OB_PURPOSE_SHARING:
        decide_consent_only(ix, rq, pro, d);
        return;
    case OB_PURPOSE_RESEARCH:
    case OB_PURPOSE_RESEARCH_NOTICE:
        decide_research(ix, rq, pro, d);
        return;
    case OB_PURPOSE_DECISION_SUPPORT:
        /* R-ACC-11 (SUL §42a stk. 6): figures about other patients like the one under
         * treatment, aggregated and pseudonymised, for a professional who treats that
         * patient; never anyone's record, whatever the caller asks for */
        if (!rq->aggregate) {
            set(d, false, OB_RULE_ACC_11, LB_NONE,
                "decision support never returns a person's record; it answers with "
                "aggregated figures about similar patients");
            return;
        }
        if (!at_site) {
            set(d, false, OB_RULE_ACC_11, LB_NONE, "you do not work at the site you act from");
            return;
        }
        if (!has_relationship(ix, rq, pro)) {
            set(d, false, OB_RULE_ACC_11, LB_NONE,
                "decision support is for a professional who treats the patient in question");
            return;
        }
        d->obligations |= OB_OBL_PSEUDONYMISE | OB_OBL_AGGREGATE;
        set(d, true, OB_RULE_ACC_11, LB_DSS,
            "aggregated, pseudonymised figures about patients like the one you treat");
        return;
    default:
        break;
    }
    set(d, false, OB_RULE_ACC_14, LB_NONE, "no rule permits this purpose for a professional");
}

static void decide_professional(const ob_index *ix, const ob_request *rq, ob_decision *d)
{
    const ob_professional *A = &ix->pros[rq->actor];
    d->capacity = OB_CAP_PROFESSIONAL;
    if (A->authorised && rq->on_behalf_of != OB_NONE) {
        /* R-LOG-6: someone else would be logged as responsible for what they did */
        set(d, false, OB_RULE_ACC_3, LB_NONE,
            "an authorised professional acts in their own name, never on behalf of another");
        return;
    }
    if (A->authorised || rq->on_behalf_of == OB_NONE) {
        decide_as(ix, rq, rq->actor, d);
        return;
    }
    /* R-ACC-3: technical assistance on behalf of a named authorised professional who
     * would be permitted, with the site management's permission */
    d->capacity = OB_CAP_ASSISTANT;
    d->obligations |= OB_OBL_LOG_ASSISTANT;
    if (rq->on_behalf_of >= ix->npros || !ix->pros[rq->on_behalf_of].authorised) {
        set(d, false, OB_RULE_ACC_3, LB_NONE,
            "technical assistance must be on behalf of a named authorised professional");
        return;
    }
    uint32_t granting = OB_NONE;
    if (rq->acting_org == OB_NONE || rq->acting_org >= ix->norgs ||
        !ob_index_pro_works_at(ix, rq->actor, rq->acting_org) ||
        (granting = perm_site(ix, rq->actor, OB_PERM_ASSIST, rq->acting_org, rq->now)) == OB_NONE) {
        set(d, false, OB_RULE_ACC_3, LB_NONE,
            "the site's management has not granted you technical-assistance permission");
        return;
    }
    /* the management of a site grants assistance to its own professionals' work only */
    if (!works_within(ix, rq->on_behalf_of, granting)) {
        set(d, false, OB_RULE_ACC_3, LB_NONE,
            "technical assistance is only for professionals of the site that granted it");
        return;
    }
    if (!treatment_purpose(rq->purpose) && rq->purpose != OB_PURPOSE_QUALITY) {
        set(d, false, OB_RULE_ACC_3, LB_NONE,
            "technical assistance covers treatment and quality work only");
        return;
    }
    decide_as(ix, rq, rq->on_behalf_of, d);
    if (d->permit && d->rule != OB_RULE_BLK_4) {
        d->rule = OB_RULE_ACC_3;
        d->legal_basis = LB_ASSIST;
        d->reason = "technical assistance on behalf of a professional who may read this";
    }
}

void ob_policy_enforce(ob_decision *d, uint32_t handled)
{
    if (!d->permit || !(d->obligations & ~handled))
        return;
    d->obligations = 0;
    set(d, false, OB_RULE_ACC_16, LB_NONE,
        "this interface cannot carry out a condition of this access, so it is refused");
}

/* The capacity a caller acts in, known before any rule runs, so that a deny is logged
 * with it too (R-LOG-2); the rules refine it (a parent, an attorney). */
static uint8_t capacity_of(const ob_request *rq)
{
    switch (rq->actor_kind) {
    case OB_ACTOR_CITIZEN:
        return OB_CAP_CITIZEN;
    case OB_ACTOR_SOURCE_SYSTEM:
        return OB_CAP_SOURCE_SYSTEM;
    default:
        return rq->on_behalf_of != OB_NONE ? OB_CAP_ASSISTANT : OB_CAP_PROFESSIONAL;
    }
}

void ob_policy_decide(const ob_index *ix, const ob_request *rq, ob_decision *d)
{
    memset(d, 0, sizeof *d);
    d->capacity = capacity_of(rq);
    if (rq->patient >= ix->npatients || rq->category >= OB_CAT_COUNT ||
        rq->purpose >= OB_PURPOSE_COUNT || rq->source >= OB_SRC_COUNT ||
        rq->override >= OB_OVERRIDE_COUNT ||
        (rq->origin_org != OB_NONE && rq->origin_org >= ix->norgs)) {
        set(d, false, OB_RULE_ACC_14, LB_NONE, "the request does not describe readable data");
        return;
    }
    switch (rq->actor_kind) {
    case OB_ACTOR_CITIZEN:
        if (rq->actor >= ix->npatients)
            break;
        decide_citizen(ix, rq, d);
        return;
    case OB_ACTOR_PROFESSIONAL:
        if (rq->actor >= ix->npros || rq->origin_org == OB_NONE)
            break;
        decide_professional(ix, rq, d);
        return;
    case OB_ACTOR_SOURCE_SYSTEM:
        d->capacity = OB_CAP_SOURCE_SYSTEM;
        /* a source system reads back only what its own site produced (R-ACC-2), for
         * treatment: the only purpose its token can carry (R-ACC-15) */
        if (rq->purpose == OB_PURPOSE_TREAT && rq->acting_org != OB_NONE &&
            rq->origin_org != OB_NONE && rq->acting_org < ix->norgs &&
            ob_index_org_within(ix, rq->origin_org, rq->acting_org)) {
            set(d, true, OB_RULE_ACC_2, LB_OWN, "data produced by your own organisation");
            return;
        }
        break;
    default:
        break;
    }
    set(d, false, OB_RULE_ACC_14, LB_NONE, "no rule permits this access");
}
