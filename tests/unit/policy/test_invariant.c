/* test_invariant.c - the engine's central invariant, checked over random requests
 * (issue 19, "What it must show"; docs/decisions.md "The invariant"; R-ACC-1..14, R-ACC-11,
 * R-ACC-15):
 *
 *   A permit that shows identifiable data always rests on something in the index that a
 *   person can point to: a treatment relationship (or the holiday cover, or the disclosure
 *   that comes with one), the site's own records, the patient's own access or a current
 *   power of attorney, the patient's active consent, or an approved permission or project.
 *   A permit that rests on none of these is aggregated or pseudonymised, never a record.
 *
 * The witnesses below are written from the index directly, not by calling the engine's own
 * helpers, so a rule that permits by mistake (as DECISIONSUPPORT did at 6e667cd: any
 * professional, any patient, through blocks) is caught whatever its rule id says. Random
 * callers x purposes x patients x categories x origins x overrides x projects, seeded, so a
 * failure repeats. */
#include "fixture.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static bool on(ob_time from, ob_time to, ob_time at)
{
    return from <= at && at <= to;
}

/* the organisations a and b are the same or one is inside the other */
static bool related(const ob_index *ix, uint32_t a, uint32_t b)
{
    return a < ix->norgs && b < ix->norgs &&
           (ob_index_org_within(ix, a, b) || ob_index_org_within(ix, b, a));
}

static bool works_at(const ob_index *ix, uint32_t pro, uint32_t org)
{
    return pro < ix->npros && org < ix->norgs && ob_index_pro_works_at(ix, pro, org);
}

static bool relationship(const ob_index *ix, const ob_request *rq, uint32_t pro)
{
    const ob_patient *p = &ix->patients[rq->patient];
    for (uint16_t i = 0; i < p->nrels; i++) {
        const ob_relationship *r = &p->rels[i];
        if (!on(r->from, r->to, rq->now))
            continue;
        if (r->professional == pro ||
            (r->professional == OB_NONE && related(ix, rq->acting_org, r->org)))
            return true;
    }
    for (size_t i = 0; i < ix->ncovers; i++) /* R-ACC-12 */
        if (ix->covers[i].covered == p->gp_clinic &&
            on(ix->covers[i].from, ix->covers[i].to, rq->now))
            return true;
    return false;
}

static bool permission(const ob_index *ix, uint32_t pro, uint8_t kind, ob_time now)
{
    const ob_perm_list *l = &ix->pro_perms[pro];
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i].kind == kind && !l->v[i].revoked && on(l->v[i].from, l->v[i].to, now))
            return true;
    return false;
}

static bool consent(const ob_index *ix, const ob_request *rq, uint8_t kind)
{
    const ob_patient *p = &ix->patients[rq->patient];
    for (uint16_t i = 0; i < p->nconsents; i++) {
        const ob_consent *c = &p->consents[i];
        if (c->kind == kind && c->active && on(c->from, c->to, rq->now) &&
            (c->categories & OB_CAT_BIT(rq->category)))
            return true;
    }
    return false;
}

static bool attorney(const ob_index *ix, const ob_request *rq)
{
    const ob_patient *p = &ix->patients[rq->patient];
    for (uint16_t i = 0; i < p->nattorneys; i++)
        if (p->attorneys[i].holder == rq->actor &&
            on(p->attorneys[i].from, p->attorneys[i].to, rq->now) &&
            (p->attorneys[i].scope & OB_CAT_BIT(rq->category)))
            return true;
    return false;
}

static bool approved_member(const ob_index *ix, const ob_request *rq, uint32_t pro)
{
    if (rq->project >= ix->nprojects)
        return false;
    const ob_project *pr = &ix->projects[rq->project];
    bool member = false;
    for (uint32_t i = 0; i < pr->nmembers; i++)
        member |= pr->members[i] == pro;
    return member && on(pr->from, pr->to, rq->now) &&
           ((pr->approval_ref[0] && pr->controller_permission) ||
            consent(ix, rq, OB_CONSENT_RESEARCH));
}

/* The basis a person can point to for this permit, or NULL when there is none. */
static const char *basis(const ob_index *ix, const ob_request *rq, const ob_decision *d)
{
    if (d->obligations & (OB_OBL_AGGREGATE | OB_OBL_PSEUDONYMISE))
        return "not identifiable";
    if (rq->actor_kind == OB_ACTOR_CITIZEN)
        return rq->actor == rq->patient ? "own data" : attorney(ix, rq) ? "attorney" : NULL;
    if (rq->actor_kind == OB_ACTOR_SOURCE_SYSTEM)
        return related(ix, rq->origin_org, rq->acting_org) ? "own site's data" : NULL;
    uint32_t pro = rq->actor;
    if (rq->on_behalf_of != OB_NONE && !ix->pros[rq->actor].authorised) {
        if (!permission(ix, rq->actor, OB_PERM_ASSIST, rq->now))
            return NULL; /* R-ACC-3 needs the site management's permission */
        pro = rq->on_behalf_of;
    }
    if (works_at(ix, pro, rq->acting_org) &&
        ob_index_org_within(ix, rq->origin_org, rq->acting_org))
        return "own site's data";
    if (relationship(ix, rq, pro))
        return "relationship";
    if (permission(ix, pro, OB_PERM_QUALITY, rq->now))
        return "quality permission";
    for (size_t i = 0; i < ix->ncriteria; i++) /* seed 001 case 22 */
        if (on(ix->criteria[i].from, ix->criteria[i].to, rq->now) &&
            ob_index_org_within(ix, rq->origin_org, ix->criteria[i].site))
            return "quality permission by the site's criteria";
    if (consent(ix, rq, OB_CONSENT_PREVENTION) || consent(ix, rq, OB_CONSENT_SHARING))
        return "consent";
    if (approved_member(ix, rq, pro))
        return "research approval or consent";
    return NULL;
}

static void test_invariant(void **state)
{
    (void)state;
    ob_index *ix = fx_build();
    static const ob_time nows[] = {0, 1, 2, 3};
    size_t permits = 0, n = 400000;
    for (size_t i = 0; i < n; i++) {
        ob_request rq;
        memset(&rq, 0, sizeof rq);
        rq.actor_kind = (uint8_t)next(OB_ACTOR_KIND_COUNT);
        rq.patient = next(ix->npatients);
        rq.actor = rq.actor_kind == OB_ACTOR_CITIZEN        ? next(ix->npatients)
                   : rq.actor_kind == OB_ACTOR_PROFESSIONAL ? next(ix->npros)
                                                            : OB_NONE;
        rq.acting_org = next(4) ? next(ix->norgs) : OB_NONE;
        rq.on_behalf_of = next(3) ? OB_NONE : next(ix->npros);
        rq.category = (uint8_t)next(OB_CAT_COUNT);
        rq.origin_org = next(ix->norgs);
        rq.item_time = fx_d(FX_ITEM) - (ob_time)next(2000) * 86400;
        rq.source = (uint8_t)next(OB_SRC_COUNT);
        rq.purpose = (uint8_t)next(OB_PURPOSE_COUNT);
        rq.now = fx_d(FX_NOW) + (ob_time)(nows[next(4)] * 20 - 20) * 86400;
        rq.override = (uint8_t)next(OB_OVERRIDE_COUNT);
        rq.has_override_reason = next(2);
        rq.project = next(3) ? OB_NONE : next(ix->nprojects);
        rq.recipient_org = next(2) ? OB_NONE : next(ix->norgs);
        rq.aggregate = next(4) == 0;
        /* a professional's acting site is mostly one they work at, as a token gives it */
        if (rq.actor_kind == OB_ACTOR_PROFESSIONAL && next(4) && ix->pros[rq.actor].nsites)
            rq.acting_org = ix->pros[rq.actor].sites[next(ix->pros[rq.actor].nsites)];
        ob_decision d;
        ob_policy_decide(ix, &rq, &d);
        if (!d.permit)
            continue;
        permits++;
        const char *b = basis(ix, &rq, &d);
        if (!b)
            fail_msg("request %zu: a permit under %s (purpose %s, kind %d) rests on nothing in the "
                     "index",
                     i, ob_rule_name((ob_rule)d.rule), ob_purpose_code((ob_purpose)rq.purpose),
                     rq.actor_kind);
        /* R-ACC-11: decision support never permits a record */
        if (rq.purpose == OB_PURPOSE_DECISION_SUPPORT &&
            (!rq.aggregate || !(d.obligations & OB_OBL_AGGREGATE)))
            fail_msg("request %zu: decision support permitted something not aggregated (kind %d, "
                     "%s)",
                     i, rq.actor_kind, ob_rule_name((ob_rule)d.rule));
        /* R-ACC-7: planning never reads a person */
        if (rq.purpose == OB_PURPOSE_PLANNING)
            fail_msg("request %zu: planning permitted a person-level read (kind %d, %s)", i,
                     rq.actor_kind, ob_rule_name((ob_rule)d.rule));
        /* R-ACC-16: every obligation set is one the engine knows */
        if (d.obligations & ~OB_OBL_ALL)
            fail_msg("request %zu: an unknown obligation", i);
    }
    print_message("%zu of %zu random requests permitted, each on a basis in the index\n", permits,
                  n);
    assert_true(permits > n / 100); /* the world permits enough to make the test mean something */
    ob_index_free(ix);
}

/* R-ACC-16: an obligation nobody handles refuses, whatever the engine adds next. */
static void test_enforce(void **state)
{
    (void)state;
    static const struct {
        const char *why;
        uint32_t obligations, handled;
        bool permit;
    } rows[] = {
        {"R-ACC-16: nothing to carry out", 0, 0, true},
        {"R-ACC-16: a person-level answer carries out the block hint", OB_OBL_BLOCK_HINT,
         OB_OBL_PERSON_LEVEL, true},
        {"R-ACC-16: a person-level answer cannot pseudonymise (issue 19)", OB_OBL_PSEUDONYMISE,
         OB_OBL_PERSON_LEVEL, false},
        {"R-ACC-16: nor aggregate", OB_OBL_AGGREGATE, OB_OBL_PERSON_LEVEL, false},
        {"R-ACC-16: decision support's answer does both", OB_OBL_PSEUDONYMISE | OB_OBL_AGGREGATE,
         OB_OBL_PERSON_LEVEL | OB_OBL_PSEUDONYMISE | OB_OBL_AGGREGATE, true},
        {"R-ACC-16: an obligation added tomorrow is refused until some layer handles it", 1u << 20,
         OB_OBL_ALL, false},
        {"R-ACC-16: ... and then permitted", 1u << 20, OB_OBL_ALL | (1u << 20), true},
        {"R-ACC-16: a layer that names nothing handles nothing", OB_OBL_LOG_OVERRIDE, 0, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_decision d = {.permit = true,
                         .rule = OB_RULE_ACC_1,
                         .obligations = rows[i].obligations,
                         .legal_basis = "x",
                         .reason = "y"};
        ob_policy_enforce(&d, rows[i].handled);
        if (d.permit != rows[i].permit)
            fail_msg("row %zu (%s): permit %d", i, rows[i].why, d.permit);
        if (!d.permit)
            assert_string_equal(ob_rule_name((ob_rule)d.rule), "R-ACC-16");
    }
    ob_decision deny = {.permit = false, .rule = OB_RULE_ACC_1, .obligations = OB_OBL_BLOCK_HINT};
    ob_policy_enforce(&deny, 0); /* a deny stays what it was (its block hint too) */
    assert_false(deny.permit);
    assert_int_equal(deny.rule, OB_RULE_ACC_1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_invariant),
                                       cmocka_unit_test(test_enforce)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
