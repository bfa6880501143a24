/* test_grants.c - the rules' own logic (issue 24), one row per attack on the world of
 * fixture.h with a few grants added: consent-based reads honour blocks (R-BLK-1, R-BLK-4,
 * R-CON-3), research and quality-database data stay out of every purpose but their own
 * (R-ACC-6, R-ACC-8), patient-reported data is not the clinic's own record (R-ACC-2,
 * R-PRD-1), assistants work only for their own site's professionals and an authorised
 * professional never acts on behalf of another (R-ACC-3, R-LOG-6). Threat rows T-RULE-*
 * in docs/security.md. */
#include "fixture.h"

#define OVERRIDE_OBL (OB_OBL_NOTIFY_PATIENT | OB_OBL_LOG_OVERRIDE)

/* The fixture plus: dorte blocks data from orthopaedics; anna blocks gp_doc2, a doctor at
 * her own clinic. */
static ob_index *world(void)
{
    ob_index *ix = fx_build();
    fx_block(ix, "dorte", 21,
             fx_mkblock(ix, OB_BLOCK_SITE, "dept_ortho", true, OB_CAT_ALL, 20240101, 20301231,
                        FX_OPEN, FX_OPEN));
    fx_block(ix, "anna", 22,
             fx_mkblock(ix, OB_BLOCK_PROFESSIONAL, "gp_doc2", false, OB_CAT_ALL, 20240101, 20301231,
                        FX_OPEN, FX_OPEN));
    /* anna's sharing consent to her own GP clinic, as a self-granting GP would record it */
    fx_consent(ix, "anna", 23, OB_CONSENT_SHARING, OB_RCPT_ORG, fx_org(ix, "gp_a"), OB_CAT_ALL,
               20240101, 20301231, true, false);
    return ix;
}

static const struct fx_row rows[] = {
    {"R-BLK-1/R-ACC-5 (T-RULE-1) a sharing consent does not lift the patient's site block",
     .ak = PRO, .actor = "hosp_doc", .org = "dept_cardio", .pat = "dorte", .cat = OB_CAT_DIAGNOSIS,
     .origin = "dept_ortho", .purpose = OB_PURPOSE_SHARING, .permit = 0, .rule = "R-BLK-4",
     .obl = OB_OBL_BLOCK_HINT},
    {"R-ACC-5 the same consent still reads what no block covers", .ak = PRO, .actor = "hosp_doc",
     .org = "dept_cardio", .pat = "dorte", .cat = OB_CAT_DIAGNOSIS, .origin = "gp_b",
     .purpose = OB_PURPOSE_SHARING, .permit = 1, .rule = "R-ACC-5"},
    {"R-BLK-1/R-ACC-5 (T-RULE-1) a blocked GP does not regain access through a sharing consent",
     .ak = PRO, .actor = "gp_doc2", .org = "gp_a", .pat = "anna", .cat = OB_CAT_LAB_RESULT,
     .origin = "dept_cardio", .purpose = OB_PURPOSE_SHARING, .permit = 0, .rule = "R-BLK-4",
     .obl = OB_OBL_BLOCK_HINT},
    {"R-ACC-6 (T-RULE-6) research data is not read under a prevention consent", .ak = PRO,
     .actor = "muni_nurse", .org = "home_nursing", .pat = "dorte", .cat = OB_CAT_DIAGNOSIS,
     .origin = "gp_b", .src = OB_SRC_RESEARCH, .purpose = OB_PURPOSE_PREVENTION, .permit = 0,
     .rule = "R-ACC-6"},
    {"R-ACC-8 (T-RULE-6) quality-database data is not read under a sharing consent", .ak = PRO,
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "dorte", .cat = OB_CAT_DIAGNOSIS,
     .origin = "gp_b", .src = OB_SRC_QUALITY_DB, .purpose = OB_PURPOSE_SHARING, .permit = 0,
     .rule = "R-ACC-8"},
    {"R-ACC-8 quality-database data still serves quality work", .ak = PRO, .actor = "q_doc",
     .org = "dept_ortho", .pat = "anna", .cat = OB_CAT_DIAGNOSIS, .origin = "dept_cardio",
     .src = OB_SRC_QUALITY_DB, .purpose = OB_PURPOSE_QUALITY, .permit = 1, .rule = "R-ACC-4"},
    {"R-PRD-1/R-BLK-1 (T-RULE-8) a blocked GP does not read the patient's home measurements",
     .ak = PRO, .actor = "gp_doc2", .org = "gp_a", .pat = "anna", .cat = OB_CAT_MEASUREMENT,
     .origin = "gp_a", .src = OB_SRC_PATIENT_REPORTED, .purpose = OB_PURPOSE_TREAT, .permit = 0,
     .rule = "R-BLK-4", .obl = OB_OBL_BLOCK_HINT},
    {"R-ACC-2 the blocked GP still reads what the clinic recorded itself", .ak = PRO,
     .actor = "gp_doc2", .org = "gp_a", .pat = "anna", .cat = OB_CAT_MEASUREMENT, .origin = "gp_a",
     .purpose = OB_PURPOSE_TREAT, .permit = 1, .rule = "R-ACC-2"},
    {"R-ACC-1 an unblocked GP reads the home measurements as treatment", .ak = PRO,
     .actor = "gp_doc", .org = "gp_a", .pat = "anna", .cat = OB_CAT_MEASUREMENT, .origin = "gp_a",
     .src = OB_SRC_PATIENT_REPORTED, .purpose = OB_PURPOSE_TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-ACC-3 (T-RULE-5) an assistant cannot act for a professional of another site", .ak = PRO,
     .actor = "gp_sec", .org = "gp_a", .obo = "q_doc", .pat = "anna", .cat = OB_CAT_DIAGNOSIS,
     .origin = "dept_cardio", .purpose = OB_PURPOSE_QUALITY, .permit = 0, .rule = "R-ACC-3",
     .cap = CAP(OB_CAP_ASSISTANT)},
    {"R-ACC-3 the assistant still works for their own site's GP", .ak = PRO, .actor = "gp_sec",
     .org = "gp_a", .obo = "gp_doc", .pat = "anna", .cat = OB_CAT_MEDICATION, .origin = "gp_a",
     .purpose = OB_PURPOSE_TREAT, .permit = 1, .rule = "R-ACC-3", .obl = OB_OBL_LOG_ASSISTANT},
    {"R-ACC-3/R-LOG-6 (T-RULE-5) an authorised professional cannot claim to act for another",
     .ak = PRO, .actor = "gp_doc", .org = "gp_a", .obo = "gp_doc2", .pat = "anna",
     .cat = OB_CAT_MEDICATION, .origin = "dept_cardio", .purpose = OB_PURPOSE_TREAT, .permit = 0,
     .rule = "R-ACC-3"},
};

static void test_rows(void **state)
{
    (void)state;
    ob_index *ix = world();
    int bad = fx_check_rows(ix, rows, sizeof rows / sizeof rows[0]);
    ob_index_free(ix);
    if (bad)
        fail_msg("%d of %zu rows failed (listed above)", bad, sizeof rows / sizeof rows[0]);
}

/* R-BLK-4, R-CON-3: the consent that explicitly overrides a block does, flagged as an
 * override and shown to the patient. */
static void test_override_consent(void **state)
{
    (void)state;
    ob_index *ix = world();
    fx_consent(ix, "dorte", 24, OB_CONSENT_OVERRIDE, OB_RCPT_PERSON, fx_pro(ix, "hosp_doc"),
               OB_CAT_ALL, 20240101, 20301231, true, false);
    const struct fx_row r[] = {
        {"R-BLK-4 the patient's override consent lifts the block for this recipient", .ak = PRO,
         .actor = "hosp_doc", .org = "dept_cardio", .pat = "dorte", .cat = OB_CAT_DIAGNOSIS,
         .origin = "dept_ortho", .purpose = OB_PURPOSE_SHARING, .permit = 1, .rule = "R-BLK-4",
         .obl = OVERRIDE_OBL},
        {"R-BLK-4 but not for anyone else", .ak = PRO, .actor = "hosp_nurse", .org = "dept_cardio",
         .pat = "dorte", .cat = OB_CAT_DIAGNOSIS, .origin = "dept_ortho",
         .purpose = OB_PURPOSE_SHARING, .permit = 0, .rule = "R-ACC-5"},
    };
    int bad = fx_check_rows(ix, r, sizeof r / sizeof r[0]);
    ob_index_free(ix);
    if (bad)
        fail_msg("%d rows failed (listed above)", bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_override_consent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
