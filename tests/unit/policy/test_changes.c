/* test_changes.c - who may change blocks and consents, and what a valid one is:
 * ob_policy_check_block (R-BLK-1, R-BLK-2, R-BLK-3), _block_lift (R-BLK-5),
 * _consent (R-CON-1) and _consent_revoke (R-CON-2), over the world of fixture.h.
 * Every error message must be non-empty and never hold a CPR-like number or the
 * patient's name (R-CPR-2). */
#include "fixture.h"

#define CIT_WHO OB_ACTOR_CITIZEN
#define PRO_WHO OB_ACTOR_PROFESSIONAL

static ob_change_actor who_of(const ob_index *ix, uint8_t kind, const char *ext)
{
    ob_change_actor w = {.actor_kind = kind,
                         .actor = kind == CIT_WHO ? fx_pat(ix, ext) : fx_pro(ix, ext)};
    return w;
}

static int check_msg(const ob_index *ix, const char *why, ob_status st, const ob_err *e,
                     const char *want, uint32_t patient)
{
    int bad = 0;
    if (st == OB_OK)
        return 0;
    if (!e->msg[0]) {
        print_error("%s: empty error message\n", why);
        bad++;
    }
    if (fx_cpr_like(e->msg)) {
        print_error("%s: CPR-like number in message '%s'\n", why, e->msg);
        bad++;
    }
    if (strstr(e->msg, ix->patients[patient].name)) {
        print_error("%s: message names the patient: '%s'\n", why, e->msg);
        bad++;
    }
    if (want && !strstr(e->msg, want)) {
        print_error("%s: message '%s' does not mention '%s'\n", why, e->msg, want);
        bad++;
    }
    return bad;
}

/* ---------------- ob_policy_check_block ---------------- */

struct block_row {
    const char *why;
    uint8_t who_kind;
    const char *who, *pat;
    uint8_t kind;
    const char *target;
    bool subunits, preset_by_gp;
    ob_catmask cats;
    int32_t vfrom, vto, dfrom, dto;
    /* expected */
    ob_status st;
    bool by_gp;
    const char *created_by; /* professional ext id, or NULL for OB_NONE */
    const char *msg;        /* substring of the error message */
};

static const struct block_row block_rows[] = {
    {"R-BLK-1(b)/R-BLK-3 the patient blocks a site", CIT_WHO, "anna", "anna", OB_BLOCK_SITE,
     "dept_cardio", true, false, OB_CAT_ALL, 20240601, 20301231, 0, 0, OB_OK, false, NULL, NULL},
    {"R-BLK-1(a) the patient blocks a named primary-sector professional", CIT_WHO, "anna", "anna",
     OB_BLOCK_PROFESSIONAL, "specialist_doc", false, false, OB_CAT_ALL, 20240601, 20301231, 0, 0,
     OB_OK, false, NULL, NULL},
    {"R-BLK-1(a) the patient blocks a named municipal nurse (not secondary sector)", CIT_WHO,
     "anna", "anna", OB_BLOCK_PROFESSIONAL, "muni_nurse", false, false, CB(CLINICAL_NOTE), 20240601,
     20301231, 0, 0, OB_OK, false, NULL, NULL},
    {"R-BLK-1(c) the patient blocks a period, limited to appointments", CIT_WHO, "anna", "anna",
     OB_BLOCK_PERIOD, NULL, false, false, CB(APPOINTMENT), 20240601, 20301231, 20220101, 20221231,
     OB_OK, false, NULL, NULL},
    {"R-BLK-3 a block by the patient is not recorded as by_gp, whatever the caller said", CIT_WHO,
     "anna", "anna", OB_BLOCK_SITE, "dept_ortho", false, true, OB_CAT_ALL, 20240601, 20301231, 0, 0,
     OB_OK, false, NULL, NULL},
    {"R-BLK-2 a named hospital doctor cannot be blocked; the message suggests a site block",
     CIT_WHO, "anna", "anna", OB_BLOCK_PROFESSIONAL, "hosp_doc", false, false, OB_CAT_ALL, 20240601,
     20301231, 0, 0, OB_EDENIED, false, NULL, "site"},
    {"R-BLK-2 the message explains why (hospital) ", CIT_WHO, "anna", "anna", OB_BLOCK_PROFESSIONAL,
     "hosp_nurse", false, false, OB_CAT_ALL, 20240601, 20301231, 0, 0, OB_EDENIED, false, NULL,
     "hospital"},
    {"R-BLK-2 the message names the site to block instead", CIT_WHO, "anna", "anna",
     OB_BLOCK_PROFESSIONAL, "hosp2_doc", false, false, OB_CAT_ALL, 20240601, 20301231, 0, 0,
     OB_EDENIED, false, NULL, "Medicinsk Afdeling Svendborg"},
    {"R-BLK-2 [corrected] a doctor working at a GP clinic and a hospital department: "
     "the suggested site must be the hospital department, not the first listed site (GP clinic)",
     CIT_WHO, "anna", "anna", OB_BLOCK_PROFESSIONAL, "dual_doc", false, false, OB_CAT_ALL, 20240601,
     20301231, 0, 0, OB_EDENIED, false, NULL, "Ortopaedkirurgisk Afdeling"},
    {"R-BLK-2 also refused when the GP asks on the patient's behalf", PRO_WHO, "gp_doc", "anna",
     OB_BLOCK_PROFESSIONAL, "ortho_doc", false, false, OB_CAT_ALL, 20240601, 20301231, 0, 0,
     OB_EDENIED, false, NULL, "site"},
    {"R-BLK-3 the patient's own GP blocks on the patient's behalf: recorded as by_gp", PRO_WHO,
     "gp_doc", "anna", OB_BLOCK_SITE, "dept_cardio", false, false, OB_CAT_ALL, 20240601, 20301231,
     0, 0, OB_OK, true, "gp_doc", NULL},
    {"R-BLK-3 another doctor at the patient's own clinic may too", PRO_WHO, "gp_doc2", "carla",
     OB_BLOCK_PERIOD, NULL, false, false, CB(APPOINTMENT), 20240601, 20301231, 20200101, 20201231,
     OB_OK, true, "gp_doc2", NULL},
    {"R-BLK-3 another GP (not the patient's) cannot", PRO_WHO, "gp_b_doc", "anna", OB_BLOCK_SITE,
     "dept_cardio", false, false, OB_CAT_ALL, 20240601, 20301231, 0, 0, OB_EDENIED, false, NULL,
     "GP"},
    {"R-BLK-3 a hospital doctor cannot", PRO_WHO, "hosp_doc", "anna", OB_BLOCK_SITE, "dept_ortho",
     false, false, OB_CAT_ALL, 20240601, 20301231, 0, 0, OB_EDENIED, false, NULL, NULL},
    {"R-BLK-3 the GP clinic's secretary (non-authorised) cannot", PRO_WHO, "gp_sec", "anna",
     OB_BLOCK_SITE, "dept_ortho", false, false, OB_CAT_ALL, 20240601, 20301231, 0, 0, OB_EDENIED,
     false, NULL, NULL},
    {"R-BLK-3 a substitute GP covering the clinic is not the patient's own GP", PRO_WHO, "sub_gp",
     "anna", OB_BLOCK_SITE, "dept_ortho", false, false, OB_CAT_ALL, 20240601, 20301231, 0, 0,
     OB_EDENIED, false, NULL, NULL},
    {"R-BLK-3 another citizen (even one holding a power of attorney elsewhere) cannot", CIT_WHO,
     "dorte", "anna", OB_BLOCK_SITE, "dept_ortho", false, false, OB_CAT_ALL, 20240601, 20301231, 0,
     0, OB_EDENIED, false, NULL, NULL},
    {"R-BLK-1 a block covers at least one category", CIT_WHO, "anna", "anna", OB_BLOCK_SITE,
     "dept_ortho", false, false, 0, 20240601, 20301231, 0, 0, OB_EINVAL, false, NULL, "categor"},
    {"R-BLK-1 a block's validity period cannot end before it starts", CIT_WHO, "anna", "anna",
     OB_BLOCK_SITE, "dept_ortho", false, false, OB_CAT_ALL, 20250101, 20240101, 0, 0, OB_EINVAL,
     false, NULL, "period"},
    {"R-BLK-1 a block's data period cannot end before it starts", CIT_WHO, "anna", "anna",
     OB_BLOCK_PERIOD, NULL, false, false, OB_CAT_ALL, 20240601, 20301231, 20221231, 20220101,
     OB_EINVAL, false, NULL, "period"},
    {"R-BLK-1(c) a period block needs the period of data it hides", CIT_WHO, "anna", "anna",
     OB_BLOCK_PERIOD, NULL, false, false, OB_CAT_ALL, 20240601, 20301231, 0, 0, OB_EINVAL, false,
     NULL, "period"},
};

static void test_block_rows(void **state)
{
    (void)state;
    ob_index *ix = fx_build();
    int bad = 0;
    for (size_t i = 0; i < sizeof block_rows / sizeof block_rows[0]; i++) {
        const struct block_row *r = &block_rows[i];
        ob_block b = fx_mkblock(ix, (ob_block_kind)r->kind, r->target, r->subunits, r->cats,
                                r->vfrom, r->vto, r->dfrom, r->dto);
        b.by_gp = r->preset_by_gp;
        ob_change_actor w = who_of(ix, r->who_kind, r->who);
        uint32_t pat = fx_pat(ix, r->pat);
        ob_err e = {0};
        ob_status st = ob_policy_check_block(ix, pat, &b, &w, &e);
        if (st != r->st) {
            print_error("block row %zu (%s): expected %s got %s (%s)\n", i, r->why,
                        ob_status_name(r->st), ob_status_name(st), e.msg);
            bad++;
            continue;
        }
        if (st == OB_OK &&
            (b.by_gp != r->by_gp || b.created_by != fx_pro(ix, r->created_by) || !b.active)) {
            print_error("block row %zu (%s): by_gp=%d created_by=%u active=%d\n", i, r->why,
                        b.by_gp, b.created_by, b.active);
            bad++;
        }
        bad += check_msg(ix, r->why, st, &e, r->msg, pat);
    }
    ob_index_free(ix);
    if (bad)
        fail_msg("%d block rows failed (listed above)", bad);
}

/* ---------------- ob_policy_check_block_lift (R-BLK-5) ---------------- */

struct lift_row {
    const char *why;
    uint8_t who_kind;
    const char *who;
    bool by_gp, active;
    const char *created_by;
    ob_status st;
};

static const struct lift_row lift_rows[] = {
    {"R-BLK-5 the patient lifts their own block", CIT_WHO, "anna", false, true, NULL, OB_OK},
    {"R-BLK-5 the patient lifts a block their GP set for them", CIT_WHO, "anna", true, true,
     "gp_doc", OB_OK},
    {"R-BLK-5 the GP who set it lifts it (at the patient's request)", PRO_WHO, "gp_doc", true, true,
     "gp_doc", OB_OK},
    {"R-BLK-5 another doctor of the same clinic did not set it", PRO_WHO, "gp_doc2", true, true,
     "gp_doc", OB_EDENIED},
    {"R-BLK-5 the GP cannot lift a block the patient set", PRO_WHO, "gp_doc", false, true, NULL,
     OB_EDENIED},
    {"R-BLK-5 the blocked professional cannot lift it", PRO_WHO, "specialist_doc", false, true,
     NULL, OB_EDENIED},
    {"R-BLK-5 a hospital doctor cannot lift it", PRO_WHO, "hosp_doc", true, true, "gp_doc",
     OB_EDENIED},
    {"R-BLK-5 another citizen cannot lift it", CIT_WHO, "dorte", false, true, NULL, OB_EDENIED},
    {"R-BLK-5 a block already lifted", CIT_WHO, "anna", false, false, NULL, OB_ECONFLICT},
};

static void test_lift_rows(void **state)
{
    (void)state;
    ob_index *ix = fx_build();
    uint32_t anna = fx_pat(ix, "anna");
    int bad = 0;
    for (size_t i = 0; i < sizeof lift_rows / sizeof lift_rows[0]; i++) {
        const struct lift_row *r = &lift_rows[i];
        ob_block b = fx_mkblock(ix, OB_BLOCK_PROFESSIONAL, "specialist_doc", false, OB_CAT_ALL,
                                20240101, 20301231, 0, 0);
        b.by_gp = r->by_gp;
        b.active = r->active;
        b.created_by = fx_pro(ix, r->created_by);
        ob_change_actor w = who_of(ix, r->who_kind, r->who);
        ob_err e = {0};
        ob_status st = ob_policy_check_block_lift(ix, anna, &b, &w, &e);
        if (st != r->st) {
            print_error("lift row %zu (%s): expected %s got %s (%s)\n", i, r->why,
                        ob_status_name(r->st), ob_status_name(st), e.msg);
            bad++;
        }
        bad += check_msg(ix, r->why, st, &e, NULL, anna);
    }
    ob_index_free(ix);
    if (bad)
        fail_msg("%d lift rows failed (listed above)", bad);
}

/* ---------------- ob_policy_check_consent (R-CON-1) ---------------- */

#define TEXT "Du giver samtykke til at hjemmesygeplejen ser dine diagnoser og maalinger."

struct consent_row {
    const char *why;
    uint8_t who_kind;
    const char *who;
    uint8_t kind, rkind;
    const char *recipient; /* org or professional ext id, by rkind */
    uint32_t raw_recipient;
    ob_catmask cats;
    int32_t from, to;
    uint8_t form;
    const char *taken_by;
    const char *text;
    ob_status st;
    const char *msg;
};

static const struct consent_row consent_rows[] = {
    {"R-CON-1 a complete written consent given by the patient", CIT_WHO, "dorte",
     OB_CONSENT_PREVENTION, OB_RCPT_ORG, "home_nursing", 0, CB(DIAGNOSIS), 20240601, 20250601, 0,
     NULL, TEXT, OB_OK, NULL},
    {"R-CON-1/R-CON-3 a sharing consent to a kind of site", CIT_WHO, "dorte", OB_CONSENT_SHARING,
     OB_RCPT_ORG_KIND, NULL, OB_ORG_MUNICIPAL_UNIT, CB(MEDICATION), 20240601, 20250601, 0, NULL,
     TEXT, OB_OK, NULL},
    {"R-CON-1/R-CON-3 a research consent to a project", CIT_WHO, "dorte", OB_CONSENT_RESEARCH,
     OB_RCPT_PROJECT, NULL, 0 /* proj_ok is project 0 */, CB(LAB_RESULT), 20240601, 20270601, 0,
     NULL, TEXT, OB_OK, NULL},
    {"R-CON-1 an oral consent recorded by the treating professional who took it", PRO_WHO,
     "gp_b_doc", OB_CONSENT_PREVENTION, OB_RCPT_ORG, "home_nursing", 0, CB(DIAGNOSIS), 20240601,
     20250601, 1, "gp_b_doc", TEXT, OB_OK, NULL},
    {"R-CON-1 (issue 24) an oral consent by a professional who does not treat the patient", PRO_WHO,
     "muni_nurse", OB_CONSENT_PREVENTION, OB_RCPT_ORG, "gp_a", 0, CB(DIAGNOSIS), 20240601, 20250601,
     1, "muni_nurse", TEXT, OB_EDENIED, "treats"},
    {"R-CON-1 (issue 24) the recorder as the recipient", PRO_WHO, "gp_b_doc", OB_CONSENT_SHARING,
     OB_RCPT_PERSON, "gp_b_doc", 0, CB(DIAGNOSIS), 20240601, 20250601, 1, "gp_b_doc", TEXT,
     OB_EDENIED, "yourself"},
    {"R-CON-1 (issue 24) the recorder's own site as the recipient", PRO_WHO, "gp_b_doc",
     OB_CONSENT_PREVENTION, OB_RCPT_ORG, "gp_b", 0, CB(DIAGNOSIS), 20240601, 20250601, 1,
     "gp_b_doc", TEXT, OB_EDENIED, "yourself"},
    {"R-CON-1 (issue 24) the recorder's kind of site as the recipient", PRO_WHO, "gp_b_doc",
     OB_CONSENT_SHARING, OB_RCPT_ORG_KIND, NULL, OB_ORG_GP_CLINIC, CB(DIAGNOSIS), 20240601,
     20250601, 1, "gp_b_doc", TEXT, OB_EDENIED, "yourself"},
    {"R-CON-1 (issue 24) an override consent for the recorder is refused too", PRO_WHO, "gp_b_doc",
     OB_CONSENT_OVERRIDE, OB_RCPT_PERSON, "gp_b_doc", 0, CB(DIAGNOSIS), 20240601, 20250601, 1,
     "gp_b_doc", TEXT, OB_EDENIED, "yourself"},
    {"R-CON-1 the information text is missing (empty)", CIT_WHO, "dorte", OB_CONSENT_PREVENTION,
     OB_RCPT_ORG, "home_nursing", 0, CB(DIAGNOSIS), 20240601, 20250601, 0, NULL, "", OB_EINVAL,
     "information"},
    {"R-CON-1 the information text is missing (NULL)", CIT_WHO, "dorte", OB_CONSENT_PREVENTION,
     OB_RCPT_ORG, "home_nursing", 0, CB(DIAGNOSIS), 20240601, 20250601, 0, NULL, NULL, OB_EINVAL,
     "information"},
    {"R-CON-1 no data categories", CIT_WHO, "dorte", OB_CONSENT_PREVENTION, OB_RCPT_ORG,
     "home_nursing", 0, 0, 20240601, 20250601, 0, NULL, TEXT, OB_EINVAL, "categor"},
    {"R-CON-1 no end date", CIT_WHO, "dorte", OB_CONSENT_PREVENTION, OB_RCPT_ORG, "home_nursing", 0,
     CB(DIAGNOSIS), 20240601, 0, 0, NULL, TEXT, OB_EINVAL, "end date"},
    {"R-CON-1 a period that ends before it starts", CIT_WHO, "dorte", OB_CONSENT_PREVENTION,
     OB_RCPT_ORG, "home_nursing", 0, CB(DIAGNOSIS), 20250601, 20240601, 0, NULL, TEXT, OB_EINVAL,
     "period"},
    {"R-CON-1 an oral consent without who took it", CIT_WHO, "dorte", OB_CONSENT_PREVENTION,
     OB_RCPT_ORG, "home_nursing", 0, CB(DIAGNOSIS), 20240601, 20250601, 1, NULL, TEXT, OB_EINVAL,
     "took"},
    {"R-CON-1 an unknown purpose (kind)", CIT_WHO, "dorte", OB_CONSENT_KIND_COUNT, OB_RCPT_ORG,
     "home_nursing", 0, CB(DIAGNOSIS), 20240601, 20250601, 0, NULL, TEXT, OB_EINVAL, NULL},
    {"R-CON-1 an unknown recipient site", CIT_WHO, "dorte", OB_CONSENT_SHARING, OB_RCPT_ORG, NULL,
     9999, CB(DIAGNOSIS), 20240601, 20250601, 0, NULL, TEXT, OB_EINVAL, "recipient"},
    {"R-CON-1 an unknown research project", CIT_WHO, "dorte", OB_CONSENT_RESEARCH, OB_RCPT_PROJECT,
     NULL, 9999, CB(LAB_RESULT), 20240601, 20250601, 0, NULL, TEXT, OB_EINVAL, "project"},
    {"R-CON-1 a form that is neither written nor oral", CIT_WHO, "dorte", OB_CONSENT_PREVENTION,
     OB_RCPT_ORG, "home_nursing", 0, CB(DIAGNOSIS), 20240601, 20250601, 2, NULL, TEXT, OB_EINVAL,
     NULL},
    {"R-CON-1 an oral consent recorded by someone other than who took it", PRO_WHO, "hosp_doc",
     OB_CONSENT_PREVENTION, OB_RCPT_ORG, "home_nursing", 0, CB(DIAGNOSIS), 20240601, 20250601, 1,
     "muni_nurse", TEXT, OB_EDENIED, NULL},
    {"R-CON-1 a non-authorised person cannot take and record an oral consent", PRO_WHO, "gp_sec",
     OB_CONSENT_SHARING, OB_RCPT_ORG, "gp_a", 0, CB(DIAGNOSIS), 20240601, 20250601, 1, "gp_sec",
     TEXT, OB_EDENIED, NULL},
    {"R-CON-1 another citizen cannot consent for the patient", CIT_WHO, "erik",
     OB_CONSENT_PREVENTION, OB_RCPT_ORG, "home_nursing", 0, CB(DIAGNOSIS), 20240601, 20250601, 0,
     NULL, TEXT, OB_EDENIED, NULL},
};

static void test_consent_rows(void **state)
{
    (void)state;
    ob_index *ix = fx_build();
    uint32_t dorte = fx_pat(ix, "dorte");
    assert_int_equal(fx_proj(ix, "proj_ok"), 0);
    int bad = 0;
    for (size_t i = 0; i < sizeof consent_rows / sizeof consent_rows[0]; i++) {
        const struct consent_row *r = &consent_rows[i];
        ob_consent c;
        memset(&c, 0, sizeof c);
        c.kind = r->kind;
        c.recipient_kind = r->rkind;
        c.recipient = !r->recipient                ? r->raw_recipient
                      : r->rkind == OB_RCPT_PERSON ? fx_pro(ix, r->recipient)
                                                   : fx_org(ix, r->recipient);
        c.categories = r->cats;
        c.from = fx_from(r->from);
        c.to = fx_to(r->to);
        c.form = r->form;
        c.taken_by = fx_pro(ix, r->taken_by);
        c.created = fx_d(FX_NOW);
        c.active = true;
        ob_change_actor w = who_of(ix, r->who_kind, r->who);
        ob_err e = {0};
        ob_status st = ob_policy_check_consent(ix, dorte, &c, r->text, &w, &e);
        if (st != r->st) {
            print_error("consent row %zu (%s): expected %s got %s (%s)\n", i, r->why,
                        ob_status_name(r->st), ob_status_name(st), e.msg);
            bad++;
            continue;
        }
        bad += check_msg(ix, r->why, st, &e, r->msg, dorte);
    }
    ob_index_free(ix);
    if (bad)
        fail_msg("%d consent rows failed (listed above)", bad);
}

/* ---------------- ob_policy_check_consent_revoke (R-CON-2) ---------------- */

struct revoke_row {
    const char *why;
    uint8_t who_kind;
    const char *who;
    bool active;
    const char *taken_by;
    ob_status st;
};

static const struct revoke_row revoke_rows[] = {
    {"R-CON-2 the patient revokes at any time", CIT_WHO, "dorte", true, NULL, OB_OK},
    {"R-CON-2 the patient revokes an oral consent taken by a nurse", CIT_WHO, "dorte", true,
     "muni_nurse", OB_OK},
    {"R-CON-2 the professional who took it records the revocation", PRO_WHO, "muni_nurse", true,
     "muni_nurse", OB_OK},
    {"R-CON-2 another professional cannot revoke it", PRO_WHO, "hosp_doc", true, "muni_nurse",
     OB_EDENIED},
    {"R-CON-2 a professional cannot revoke a written consent", PRO_WHO, "gp_b_doc", true, NULL,
     OB_EDENIED},
    {"R-CON-2 another citizen cannot revoke it", CIT_WHO, "erik", true, NULL, OB_EDENIED},
    {"R-CON-2 an already revoked consent (history kept, not revoked twice)", CIT_WHO, "dorte",
     false, NULL, OB_ECONFLICT},
};

static void test_revoke_rows(void **state)
{
    (void)state;
    ob_index *ix = fx_build();
    uint32_t dorte = fx_pat(ix, "dorte");
    int bad = 0;
    for (size_t i = 0; i < sizeof revoke_rows / sizeof revoke_rows[0]; i++) {
        const struct revoke_row *r = &revoke_rows[i];
        ob_consent c = *ob_index_find_consent(ix, dorte, 11);
        c.active = r->active;
        c.taken_by = fx_pro(ix, r->taken_by);
        c.form = r->taken_by ? 1 : 0;
        ob_change_actor w = who_of(ix, r->who_kind, r->who);
        ob_err e = {0};
        ob_status st = ob_policy_check_consent_revoke(ix, dorte, &c, &w, &e);
        if (st != r->st) {
            print_error("revoke row %zu (%s): expected %s got %s (%s)\n", i, r->why,
                        ob_status_name(r->st), ob_status_name(st), e.msg);
            bad++;
        }
        bad += check_msg(ix, r->why, st, &e, NULL, dorte);
    }
    ob_index_free(ix);
    if (bad)
        fail_msg("%d revoke rows failed (listed above)", bad);
}

/* R-CPR-2: the CPR detector itself must work, or the message checks above prove nothing */
static void test_cpr_detector(void **state)
{
    (void)state;
    assert_true(fx_cpr_like("patient 0101901234 unknown"));
    assert_true(fx_cpr_like("patient 010190-1234 unknown"));
    assert_false(fx_cpr_like("ydernummer 123456, SOR 123456789"));
    assert_false(fx_cpr_like("2024-06-15"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpr_detector), cmocka_unit_test(test_block_rows),
        cmocka_unit_test(test_lift_rows),    cmocka_unit_test(test_consent_rows),
        cmocka_unit_test(test_revoke_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
