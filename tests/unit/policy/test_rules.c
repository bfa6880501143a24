/* test_rules.c - the decision engine against REQUIREMENTS §3-4 (R-ACC-1..14, R-BLK-1,
 * R-BLK-4), one row per scenario over the world of fixture.h. Each row's first field
 * cites the requirement(s) it covers. Rules whose natural outcome is only a deny
 * (R-ACC-7, R-ACC-8, R-ACC-14) get a "permit" row showing the nearest lawful
 * alternative, with the reason in the citation. After the table: blocks and consent
 * revocations take effect at once on the same index (R-BLK-5, R-CON-2). */
#include "fixture.h"
#include "model/records.h"

#define OBL_ASSIST   OB_OBL_LOG_ASSISTANT
#define OBL_HINT     OB_OBL_BLOCK_HINT
#define OBL_OVERRIDE (OB_OBL_NOTIFY_PATIENT | OB_OBL_LOG_OVERRIDE)
#define OBL_OMIT     OB_OBL_OMIT_SILENTLY
#define OBL_PSEUDO   OB_OBL_PSEUDONYMISE
#define OBL_DISCL    OB_OBL_LOG_DISCLOSURE

#define TREAT    OB_PURPOSE_TREAT
#define ETREAT   OB_PURPOSE_ETREAT
#define QUALITY  OB_PURPOSE_QUALITY
#define PREVENT  OB_PURPOSE_PREVENTION
#define SHARING  OB_PURPOSE_SHARING
#define RESEARCH OB_PURPOSE_RESEARCH
#define PLANNING OB_PURPOSE_PLANNING
#define DSS      OB_PURPOSE_DECISION_SUPPORT
#define NOTICE   OB_PURPOSE_RESEARCH_NOTICE
#define DISCLOSE OB_PURPOSE_DISCLOSE

#define DIAG  OB_CAT_DIAGNOSIS
#define MED   OB_CAT_MEDICATION
#define LAB   OB_CAT_LAB_RESULT
#define MEAS  OB_CAT_MEASUREMENT
#define NOTE  OB_CAT_CLINICAL_NOTE
#define APPT  OB_CAT_APPOINTMENT
#define EPI   OB_CAT_DISCHARGE_SUMMARY
#define VACC  OB_CAT_VACCINATION
#define TWILL OB_CAT_TREATMENT_WILL

#define OVR_CONSENT OB_OVERRIDE_CONSENT
#define OVR_VITAL   OB_OVERRIDE_VITAL_INTEREST

static const struct fx_row rows[] = {
    /* ---------------- R-ACC-1 treatment ---------------- */
    {"R-ACC-1 permit: anna's own GP (listed, through the clinic) reads a hospital diagnosis",
     .actor = "gp_doc", .org = "gp_a", .pat = "anna", .cat = DIAG, .origin = "dept_cardio",
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-1", .no_obl = OBL_HINT | OBL_OVERRIDE,
     .cap = CAP(OB_CAP_PROFESSIONAL)},
    {"R-ACC-1 permit: hospital nurse, relationship through the admitting department, reads GP "
     "lab result",
     .actor = "hosp_nurse", .org = "dept_cardio", .pat = "anna", .cat = LAB, .origin = "gp_a",
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-ACC-1 permit: a doctor in a sub-unit of the admitting department (org tree)",
     .actor = "cardio_ward_doc", .org = "dept_cardio_ward", .pat = "anna", .cat = MED,
     .origin = "gp_a", .purpose = TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-ACC-1 permit: personal relationship (specialist) reads GP diagnosis",
     .actor = "specialist_doc", .org = "specialist", .pat = "anna", .cat = DIAG, .origin = "gp_a",
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-ACC-1 permit: a relationship that ended is still valid at a time inside it",
     .actor = "ortho_doc", .org = "dept_ortho", .pat = "anna", .cat = DIAG, .origin = "gp_a",
     .item = 20230301, .now = 20230601, .purpose = TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-ACC-1 deny: ended relationship (ortho_doc, 2023) no longer permits", .actor = "ortho_doc",
     .org = "dept_ortho", .pat = "anna", .cat = DIAG, .origin = "gp_a", .purpose = TREAT,
     .permit = 0, .rule = "R-ACC-1"},
    {"R-ACC-1 deny: hospital doctor with no relationship to the patient", .actor = "hosp2_doc",
     .org = "dept_med2", .pat = "anna", .cat = DIAG, .origin = "gp_a", .purpose = TREAT,
     .permit = 0, .rule = "R-ACC-1"},
    {"R-ACC-1 deny: another GP clinic's doctor (patient listed elsewhere)", .actor = "gp_b_doc",
     .org = "gp_b", .pat = "anna", .cat = DIAG, .origin = "dept_cardio", .purpose = TREAT,
     .permit = 0, .rule = "R-ACC-1"},
    {"R-ACC-1 deny: acting from a site the professional does not work at", .actor = "hosp2_doc",
     .org = "dept_cardio", .pat = "anna", .cat = DIAG, .origin = "gp_a", .purpose = TREAT,
     .permit = 0, .rule = "R-ACC-1"},
    {"R-ACC-1 deny: the out-of-hours contact (2024-06-14..16) is over on 2024-06-20",
     .actor = "ooh_doc", .org = "ooh", .pat = "anna", .cat = NOTE, .origin = "gp_a",
     .now = 20240620, .purpose = TREAT, .permit = 0, .rule = "R-ACC-1"},
    {"R-ACC-1 permit: ETREAT with a current relationship and no block", .actor = "hosp_doc",
     .org = "dept_cardio", .pat = "anna", .cat = MED, .origin = "gp_a", .purpose = ETREAT,
     .permit = 1, .rule = "R-ACC-1"},

    {"R-ACC-1 deny (necessary, issue 21): home nursing does not read the GP's clinical notes "
     "(the necessity table: not needed for home nursing, docs/decisions.md)",
     .actor = "muni_nurse", .org = "home_nursing", .pat = "anna", .cat = NOTE, .origin = "gp_a",
     .purpose = TREAT, .permit = 0, .rule = "R-ACC-1"},
    {"R-ACC-1 permit (necessary): ... but reads the medication it gives", .actor = "muni_nurse",
     .org = "home_nursing", .pat = "anna", .cat = MED, .origin = "gp_a", .purpose = TREAT,
     .permit = 1, .rule = "R-ACC-1"},

    /* ---------------- issue 21: social services and jobcentres ---------------- */
    {"R-ACC-14 deny (issue 21: social services' case workers are refused health data unless a "
     "rule says otherwise): a case worker asking as treatment",
     .actor = "social_worker", .org = "social", .pat = "dorte", .cat = DIAG, .origin = "gp_b",
     .purpose = TREAT, .permit = 0, .rule = "R-ACC-14"},
    {"R-ACC-14 deny: ... nor as prevention, even where a prevention consent exists elsewhere",
     .actor = "social_worker", .org = "social", .pat = "dorte", .cat = MEAS, .origin = "gp_b",
     .purpose = PREVENT, .permit = 0, .rule = "R-ACC-14"},
    {"R-ACC-5 permit (R-CON-3, SUL §43): the rule that says otherwise, dorte's consent to share "
     "her diagnoses with social services",
     .actor = "social_worker", .org = "social", .pat = "dorte", .cat = DIAG, .origin = "gp_b",
     .purpose = SHARING, .permit = 1, .rule = "R-ACC-5"},

    /* ---------------- R-ACC-2 own data ---------------- */
    {"R-ACC-2 permit: a hospital reads data it produced, without any relationship",
     .actor = "hosp2_doc", .org = "dept_med2", .pat = "anna", .cat = LAB, .origin = "dept_med2",
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-2"},
    {"R-ACC-2 permit: the department reads what its sub-unit produced", .actor = "hosp_doc",
     .org = "dept_cardio", .pat = "bent", .cat = NOTE, .origin = "dept_cardio_ward",
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-2"},
    {"R-ACC-2 deny: a sibling department is not 'own organisation' (no relationship: R-ACC-1)",
     .actor = "ortho_doc", .org = "dept_ortho", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .purpose = TREAT, .permit = 0, .rule = "R-ACC-1"},
    {"R-ACC-2 permit: a source system reads back its own site's data", .ak = SRCSYS,
     .org = "dept_cardio", .pat = "anna", .cat = LAB, .origin = "dept_cardio_ward",
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-2", .cap = CAP(OB_CAP_SOURCE_SYSTEM)},
    {"R-ACC-2/R-ACC-14 deny: a source system reads another site's data", .ak = SRCSYS,
     .org = "dept_cardio", .pat = "anna", .cat = LAB, .origin = "gp_a", .purpose = TREAT,
     .permit = 0, .rule = "R-ACC-14"},

    /* ---------------- R-ACC-3 technical assistance ---------------- */
    {"R-ACC-3 permit: GP secretary with assist permission, on behalf of the GP; both logged",
     .actor = "gp_sec", .org = "gp_a", .obo = "gp_doc", .pat = "anna", .cat = DIAG,
     .origin = "dept_cardio", .purpose = TREAT, .permit = 1, .rule = "R-ACC-3", .obl = OBL_ASSIST,
     .cap = CAP(OB_CAP_ASSISTANT)},
    {"R-ACC-3 permit: assistant reading the clinic's own data on behalf of the GP; both logged",
     .actor = "gp_sec", .org = "gp_a", .obo = "gp_doc", .pat = "bent", .cat = APPT,
     .origin = "gp_a", .purpose = TREAT, .permit = 1, .rule = "R-ACC-3", .obl = OBL_ASSIST,
     .cap = CAP(OB_CAP_ASSISTANT)},
    {"R-ACC-3 deny: medical assistant without the management's permission; still both logged",
     .actor = "gp_medass", .org = "gp_a", .obo = "gp_doc", .pat = "anna", .cat = DIAG,
     .origin = "dept_cardio", .purpose = TREAT, .permit = 0, .rule = "R-ACC-3", .obl = OBL_ASSIST,
     .cap = CAP(OB_CAP_ASSISTANT)},
    {"R-ACC-3 deny: non-authorised staff reading on their own (no named professional)",
     .actor = "gp_sec", .org = "gp_a", .pat = "anna", .cat = DIAG, .origin = "dept_cardio",
     .purpose = TREAT, .permit = 0, .rule = "R-ACC-3"},
    {"R-ACC-3 deny: 'on behalf of' another non-authorised person", .actor = "gp_sec", .org = "gp_a",
     .obo = "gp_medass", .pat = "anna", .cat = DIAG, .origin = "dept_cardio", .purpose = TREAT,
     .permit = 0, .rule = "R-ACC-3", .obl = OBL_ASSIST},
    {"R-ACC-3 deny: the named professional would not be permitted (bent is listed elsewhere)",
     .actor = "gp_sec", .org = "gp_a", .obo = "gp_doc", .pat = "bent", .cat = DIAG,
     .origin = "dept_cardio", .purpose = TREAT, .permit = 0, .rule = "R-ACC-1", .obl = OBL_ASSIST,
     .cap = CAP(OB_CAP_ASSISTANT)},
    {"R-ACC-3 deny: assist permission outside its period (ends 2025-12-31)", .actor = "gp_sec",
     .org = "gp_a", .obo = "gp_doc", .pat = "anna", .cat = DIAG, .origin = "dept_cardio",
     .now = 20260301, .purpose = TREAT, .permit = 0, .rule = "R-ACC-3", .obl = OBL_ASSIST},
    {"R-ACC-3/R-ACC-5 deny: technical assistance does not extend to consent-only purposes",
     .actor = "gp_sec", .org = "gp_a", .obo = "gp_doc", .pat = "anna", .cat = DIAG,
     .origin = "dept_cardio", .purpose = PREVENT, .permit = 0, .rule = "R-ACC-3",
     .obl = OBL_ASSIST},

    /* ---------------- R-ACC-4 quality work ---------------- */
    {"R-ACC-4 permit: quality permission from the hospital's management covers its departments",
     .actor = "q_doc", .org = "dept_ortho", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .purpose = QUALITY, .permit = 1, .rule = "R-ACC-4", .no_obl = OBL_OMIT},
    {"R-ACC-4 deny: data from a site that granted no permission is omitted silently",
     .actor = "q_doc", .org = "dept_ortho", .pat = "anna", .cat = LAB, .origin = "dept_med2",
     .purpose = QUALITY, .permit = 0, .rule = "R-ACC-4", .obl = OBL_OMIT},
    {"R-ACC-4 deny: a revoked quality permission", .actor = "hosp_nurse", .org = "dept_cardio",
     .pat = "anna", .cat = LAB, .origin = "dept_ortho", .purpose = QUALITY, .permit = 0,
     .rule = "R-ACC-4", .obl = OBL_OMIT},
    {"R-ACC-4 deny: a quality permission outside its period", .actor = "q_doc", .org = "dept_ortho",
     .pat = "anna", .cat = LAB, .origin = "dept_cardio", .now = 20260301, .purpose = QUALITY,
     .permit = 0, .rule = "R-ACC-4", .obl = OBL_OMIT},
    {"R-ACC-4 deny: a treatment relationship is no quality permission (GP, hospital data)",
     .actor = "gp_doc", .org = "gp_a", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .purpose = QUALITY, .permit = 0, .rule = "R-ACC-4", .obl = OBL_OMIT},

    {"R-ACC-4 permit (seed 001 case 22: 'ledelsen ... efter på forhånd fastlagte kriterier har "
     "givet tilladelse'): hospital2's criteria admit Vejle's home-nursing nurses, no named "
     "person",
     .actor = "muni2_nurse", .org = "home_nursing2", .pat = "erik", .cat = LAB,
     .origin = "dept_med2", .purpose = QUALITY, .permit = 1, .rule = "R-ACC-4"},
    {"R-ACC-4 deny (seed 001 case 22): ... not Kolding's, outside the criteria",
     .actor = "muni_nurse", .org = "home_nursing", .pat = "erik", .cat = LAB, .origin = "dept_med2",
     .purpose = QUALITY, .permit = 0, .rule = "R-ACC-4", .obl = OBL_OMIT},
    {"R-ACC-4 deny (seed 001 case 22): ... nor after the criteria's period", .actor = "muni2_nurse",
     .org = "home_nursing2", .pat = "erik", .cat = LAB, .origin = "dept_med2", .now = 20260301,
     .purpose = QUALITY, .permit = 0, .rule = "R-ACC-4", .obl = OBL_OMIT},

    /* ---------------- R-ACC-17 quality work: five years; a GP's own records ---------------- */
    {"R-ACC-17 deny (seed 003: 'Som udgangspunkt må data dog ikke være mere end fem år gamle'): "
     "data from 2019-05 is over five years old on 2024-06-15, omitted",
     .actor = "q_doc", .org = "dept_ortho", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .item = 20190501, .purpose = QUALITY, .permit = 0, .rule = "R-ACC-17", .obl = OBL_OMIT},
    {"R-ACC-17/R-ACC-4 permit: data from 2019-07 is inside the five years", .actor = "q_doc",
     .org = "dept_ortho", .pat = "anna", .cat = LAB, .origin = "dept_cardio", .item = 20190701,
     .purpose = QUALITY, .permit = 1, .rule = "R-ACC-4"},
    {"R-ACC-17/R-ACC-4 permit (seed 002, the consent route): erik consented to quality work on "
     "his older data",
     .actor = "q_doc", .org = "dept_ortho", .pat = "erik", .cat = DIAG, .origin = "dept_cardio",
     .item = 20150101, .purpose = QUALITY, .permit = 1, .rule = "R-ACC-4"},
    {"R-ACC-17 deny: ... his consent covers diagnoses only", .actor = "q_doc", .org = "dept_ortho",
     .pat = "erik", .cat = LAB, .origin = "dept_cardio", .item = 20150101, .purpose = QUALITY,
     .permit = 0, .rule = "R-ACC-17", .obl = OBL_OMIT},
    {"R-ACC-17 permit (seed 003 q1: 'fra eget journalsystem på tilmeldte såvel som tidligere "
     "tilmeldte patienter? Svar: Ja'): the GP's quality work on the clinic's own records of a "
     "formerly listed patient (bent, now at gp_b), no permission record",
     .actor = "gp_doc", .org = "gp_a", .pat = "bent", .cat = DIAG, .origin = "gp_a",
     .purpose = QUALITY, .permit = 1, .rule = "R-ACC-17"},
    {"R-ACC-17 permit: ... and of a listed one", .actor = "gp_doc2", .org = "gp_a", .pat = "anna",
     .cat = MEAS, .origin = "gp_a", .purpose = QUALITY, .permit = 1, .rule = "R-ACC-17"},
    {"R-ACC-17 deny: own records, but over five years old", .actor = "gp_doc", .org = "gp_a",
     .pat = "bent", .cat = DIAG, .origin = "gp_a", .item = 20180101, .purpose = QUALITY,
     .permit = 0, .rule = "R-ACC-17", .obl = OBL_OMIT},
    {"R-ACC-17/R-ACC-3 permit (seed 003 q1: 'en anden person, der ... er underlagt tavshedspligt, "
     "og som er ansat hos den dataansvarlige praksis'): the clinic's secretary as technical "
     "assistance for the GP's quality work",
     .actor = "gp_sec", .org = "gp_a", .obo = "gp_doc", .pat = "bent", .cat = DIAG,
     .origin = "gp_a", .purpose = QUALITY, .permit = 1, .rule = "R-ACC-3", .obl = OBL_ASSIST},
    {"R-ACC-17 deny: the own-records rule is for GP clinics (a hospital department needs its "
     "management's permission, R-ACC-4)",
     .actor = "hosp2_doc", .org = "dept_med2", .pat = "anna", .cat = LAB, .origin = "dept_med2",
     .purpose = QUALITY, .permit = 0, .rule = "R-ACC-4", .obl = OBL_OMIT},

    /* ---------------- R-ACC-5 consent-only purposes ---------------- */
    {"R-ACC-5 permit: prevention follow-up with active consent for this unit and category",
     .actor = "muni_nurse", .org = "home_nursing", .pat = "dorte", .cat = DIAG, .origin = "gp_b",
     .purpose = PREVENT, .permit = 1, .rule = "R-ACC-5"},
    {"R-ACC-5 deny: prevention consent does not cover the category (medication)",
     .actor = "muni_nurse", .org = "home_nursing", .pat = "dorte", .cat = MED, .origin = "gp_b",
     .purpose = PREVENT, .permit = 0, .rule = "R-ACC-5"},
    {"R-ACC-5 deny: consent for prevention does not cover another purpose (sharing)",
     .actor = "muni_nurse", .org = "home_nursing", .pat = "dorte", .cat = DIAG, .origin = "gp_b",
     .purpose = SHARING, .permit = 0, .rule = "R-ACC-5"},
    {"R-ACC-5/R-CON-2 deny: the acute team's prevention consent was revoked",
     .actor = "acute_nurse", .org = "acute_team", .pat = "dorte", .cat = DIAG, .origin = "gp_b",
     .purpose = PREVENT, .permit = 0, .rule = "R-ACC-5"},
    {"R-ACC-5 deny: consent period over (ends 2026-12-31)", .actor = "muni_nurse",
     .org = "home_nursing", .pat = "dorte", .cat = DIAG, .origin = "gp_b", .now = 20270115,
     .purpose = PREVENT, .permit = 0, .rule = "R-ACC-5"},
    {"R-ACC-5 deny: no consent at all (anna), even with a treatment relationship",
     .actor = "muni_nurse", .org = "home_nursing", .pat = "anna", .cat = DIAG, .origin = "gp_a",
     .purpose = PREVENT, .permit = 0, .rule = "R-ACC-5"},
    {"R-ACC-5 permit: sharing consent naming one person as recipient", .actor = "hosp_doc",
     .org = "dept_cardio", .pat = "dorte", .cat = NOTE, .origin = "dept_ortho", .purpose = SHARING,
     .permit = 1, .rule = "R-ACC-5"},
    {"R-ACC-5 deny: a person-recipient consent does not extend to a colleague",
     .actor = "hosp_nurse", .org = "dept_cardio", .pat = "dorte", .cat = NOTE,
     .origin = "dept_ortho", .purpose = SHARING, .permit = 0, .rule = "R-ACC-5"},
    {"R-ACC-5 deny: a kind-of-site consent (specialists) that has expired",
     .actor = "specialist_doc", .org = "specialist", .pat = "dorte", .cat = MED, .origin = "gp_b",
     .purpose = SHARING, .permit = 0, .rule = "R-ACC-5"},
    {"R-ACC-5 permit: the same kind-of-site consent inside its period (2023)",
     .actor = "specialist_doc", .org = "specialist", .pat = "dorte", .cat = MED, .origin = "gp_b",
     .now = 20230601, .purpose = SHARING, .permit = 1, .rule = "R-ACC-5"},
    {"R-ACC-5 deny [corrected]: the recipient is the home-nursing unit; a hospital "
     "doctor who does not work there cannot use its consent by naming it as acting org",
     .actor = "hosp_doc", .org = "home_nursing", .pat = "dorte", .cat = DIAG, .origin = "gp_b",
     .purpose = PREVENT, .permit = 0, .rule = "R-ACC-5"},

    /* ---------------- R-ACC-6 research ---------------- */
    {"R-ACC-6 permit: approved project with controller permission, output pseudonymised",
     .actor = "res_doc", .org = "research_inst", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .purpose = RESEARCH, .project = "proj_ok", .permit = 1, .rule = "R-ACC-6", .obl = OBL_PSEUDO},
    {"R-ACC-6 permit: approval covers identifiable data: no pseudonymisation", .actor = "res_doc",
     .org = "research_inst", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .purpose = RESEARCH, .project = "proj_ident", .permit = 1, .rule = "R-ACC-6",
     .no_obl = OBL_PSEUDO},
    {"R-ACC-6 permit [corrected]: a researcher need not be an authorised health person "
     "(SUL §46 stk. 1: disclosure to a researcher of an approved project)",
     .actor = "researcher", .org = "research_inst", .pat = "anna", .cat = LAB,
     .origin = "dept_cardio", .purpose = RESEARCH, .project = "proj_ok", .permit = 1,
     .rule = "R-ACC-6", .obl = OBL_PSEUDO},
    {"R-ACC-6 deny: category outside the approval", .actor = "res_doc", .org = "research_inst",
     .pat = "anna", .cat = NOTE, .origin = "dept_cardio", .purpose = RESEARCH, .project = "proj_ok",
     .permit = 0, .rule = "R-ACC-6"},
    {"R-ACC-6 deny: not a member of the project", .actor = "hosp_doc", .org = "dept_cardio",
     .pat = "anna", .cat = LAB, .origin = "dept_ortho", .purpose = RESEARCH, .project = "proj_ok",
     .permit = 0, .rule = "R-ACC-6"},
    {"R-ACC-6 deny: research without a project", .actor = "res_doc", .org = "research_inst",
     .pat = "anna", .cat = LAB, .origin = "dept_cardio", .purpose = RESEARCH, .permit = 0,
     .rule = "R-ACC-6"},
    {"R-ACC-6 deny: unapproved project and no research consent", .actor = "res_doc",
     .org = "research_inst", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .purpose = RESEARCH, .project = "proj_noappr", .permit = 0, .rule = "R-ACC-6"},
    {"R-ACC-6 permit: unapproved project but the patient's research consent covers it",
     .actor = "res_doc", .org = "research_inst", .pat = "dorte", .cat = LAB, .origin = "gp_b",
     .purpose = RESEARCH, .project = "proj_noappr", .permit = 1, .rule = "R-ACC-6",
     .obl = OBL_PSEUDO},
    {"R-ACC-6 deny (seed 000: 'Anvendelse af journaldata til forskningsformål kræver tilladelse "
     "fra den dataansvarlige læge'): an approved project without gp_b's permission reads none of "
     "gp_b's records",
     .actor = "res_doc", .org = "research_inst", .pat = "bent", .cat = LAB, .origin = "gp_b",
     .purpose = RESEARCH, .project = "proj_ok", .permit = 0, .rule = "R-ACC-6"},
    {"R-ACC-6 permit (seed 000): ... and gp_a's records, whose clinic permitted it",
     .actor = "res_doc", .org = "research_inst", .pat = "anna", .cat = LAB, .origin = "gp_a",
     .purpose = RESEARCH, .project = "proj_ok", .permit = 1, .rule = "R-ACC-6", .obl = OBL_PSEUDO},
    {"R-ACC-6 deny (seed 000): the patient's consent does not replace the clinic's permission",
     .actor = "res_doc", .org = "research_inst", .pat = "dorte", .cat = LAB, .origin = "gp_a",
     .purpose = RESEARCH, .project = "proj_noappr", .permit = 0, .rule = "R-ACC-6"},
    {"R-ACC-6 deny: research consent does not cover the category", .actor = "res_doc",
     .org = "research_inst", .pat = "dorte", .cat = DIAG, .origin = "gp_b", .purpose = RESEARCH,
     .project = "proj_noappr", .permit = 0, .rule = "R-ACC-6"},
    {"R-ACC-6 deny: the project's period is over (2018-2022)", .actor = "res_doc",
     .org = "research_inst", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .purpose = RESEARCH, .project = "proj_old", .permit = 0, .rule = "R-ACC-6"},
    {"R-ACC-6 deny: data collected for research is not used for treatment (DBL §10 stk. 2)",
     .actor = "gp_doc", .org = "gp_a", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .src = OB_SRC_RESEARCH, .purpose = TREAT, .permit = 0, .rule = "R-ACC-6"},
    {"R-ACC-6 deny: ... not even in an emergency (only the R-ACC-10 notice is allowed)",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "anna", .cat = LAB, .origin = "dept_ortho",
     .src = OB_SRC_RESEARCH, .purpose = ETREAT, .ovr = OVR_VITAL, .reason = 1, .permit = 0,
     .rule = "R-ACC-6"},

    /* ---------------- R-ACC-7 planning ---------------- */
    {"R-ACC-7 deny: a planner never gets person-level data", .actor = "planner", .org = "admin",
     .pat = "anna", .cat = DIAG, .origin = "dept_cardio", .purpose = PLANNING, .permit = 0,
     .rule = "R-ACC-7"},
    {"R-ACC-7 deny: not even an authorised doctor reading their own department's data for "
     "planning",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "anna", .cat = DIAG, .origin = "dept_cardio",
     .purpose = PLANNING, .permit = 0, .rule = "R-ACC-7"},
    {"R-ACC-7 permit (nearest lawful alternative): the deny is bound to the purpose; the same "
     "doctor reads the same item for treatment (R-ACC-2); planning itself gets R-STAT aggregates",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "anna", .cat = DIAG, .origin = "dept_cardio",
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-2"},

    /* ---------------- R-ACC-8 clinical quality database ---------------- */
    {"R-ACC-8 deny: quality-database data for treatment", .actor = "gp_doc", .org = "gp_a",
     .pat = "anna", .cat = DIAG, .origin = "qdb", .src = OB_SRC_QUALITY_DB, .purpose = TREAT,
     .permit = 0, .rule = "R-ACC-8"},
    {"R-ACC-8 deny: quality-database data for treatment, even in an emergency with override",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "anna", .cat = DIAG, .origin = "dept_cardio",
     .src = OB_SRC_QUALITY_DB, .purpose = ETREAT, .ovr = OVR_VITAL, .reason = 1, .permit = 0,
     .rule = "R-ACC-8"},
    {"R-ACC-8 permit (nearest lawful alternative): quality-database data used for quality work "
     "(SUL §196; seed 001 case 19) with the site's permission",
     .actor = "q_doc", .org = "dept_ortho", .pat = "anna", .cat = DIAG, .origin = "dept_cardio",
     .src = OB_SRC_QUALITY_DB, .purpose = QUALITY, .permit = 1, .rule = "R-ACC-4"},

    /* ---------------- R-ACC-9 the patient and representatives ---------------- */
    {"R-ACC-9 permit: the patient reads their own clinical note", .ak = CIT, .actor = "anna",
     .pat = "anna", .cat = NOTE, .origin = "dept_cardio", .purpose = OB_PURPOSE_PATIENT,
     .permit = 1, .rule = "R-ACC-9", .cap = CAP(OB_CAP_CITIZEN)},
    {"R-ACC-9 permit: power of attorney within its scope (appointments)", .ak = CIT,
     .actor = "dorte", .pat = "bent", .cat = APPT, .origin = "gp_b", .purpose = OB_PURPOSE_ATTORNEY,
     .permit = 1, .rule = "R-ACC-9", .cap = CAP(OB_CAP_ATTORNEY)},
    {"R-ACC-9 deny: power of attorney outside its scope (diagnosis)", .ak = CIT, .actor = "dorte",
     .pat = "bent", .cat = DIAG, .origin = "gp_b", .purpose = OB_PURPOSE_ATTORNEY, .permit = 0,
     .rule = "R-ACC-9"},
    {"R-ACC-9 deny: power of attorney outside its period (ended 2023)", .ak = CIT, .actor = "erik",
     .pat = "bent", .cat = MED, .origin = "gp_b", .purpose = OB_PURPOSE_ATTORNEY, .permit = 0,
     .rule = "R-ACC-9"},
    {"R-ACC-9 permit: the same expired power of attorney inside its period", .ak = CIT,
     .actor = "erik", .pat = "bent", .cat = MED, .origin = "gp_b", .now = 20230601,
     .purpose = OB_PURPOSE_ATTORNEY, .permit = 1, .rule = "R-ACC-9"},
    {"R-ACC-9 deny: another citizen without power of attorney", .ak = CIT, .actor = "erik",
     .pat = "anna", .cat = APPT, .origin = "gp_a", .purpose = OB_PURPOSE_ATTORNEY, .permit = 0,
     .rule = "R-ACC-9"},

    /* ---------------- R-ACC-18 custody ends at 15 ---------------- */
    {"R-ACC-9 permit: a parent with custody reads their 14-year-old's data", .ak = CIT,
     .actor = "anna", .pat = "gustav", .cat = DIAG, .origin = "gp_a",
     .purpose = OB_PURPOSE_ATTORNEY, .permit = 1, .rule = "R-ACC-9", .cap = CAP(OB_CAP_PARENT)},
    {"R-ACC-18 permit: ... the day before the 15th birthday (2025-02-28)", .ak = CIT,
     .actor = "anna", .pat = "gustav", .cat = DIAG, .origin = "gp_a", .now = 20250228,
     .purpose = OB_PURPOSE_ATTORNEY, .permit = 1, .rule = "R-ACC-9"},
    {"R-ACC-18 deny (Sundhedsloven §17: from 15 the patient decides): on the 15th birthday, "
     "custody no longer reads the data",
     .ak = CIT, .actor = "anna", .pat = "gustav", .cat = DIAG, .origin = "gp_a", .now = 20250301,
     .purpose = OB_PURPOSE_ATTORNEY, .permit = 0, .rule = "R-ACC-18", .cap = CAP(OB_CAP_PARENT)},
    {"R-ACC-18 permit: the 16-year-old reads their own data", .ak = CIT, .actor = "gustav",
     .pat = "gustav", .cat = DIAG, .origin = "gp_a", .now = 20260601, .purpose = OB_PURPOSE_PATIENT,
     .permit = 1, .rule = "R-ACC-9"},

    /* ---------------- R-ACC-10 research finding notice ---------------- */
    {"R-ACC-10 permit: approved project sends a finding to the patient's GP; logged as disclosure",
     .actor = "res_doc", .org = "research_inst", .pat = "anna", .cat = LAB,
     .origin = "research_inst", .src = OB_SRC_RESEARCH, .purpose = NOTICE, .project = "proj_ok",
     .recipient = "gp_a", .permit = 1, .rule = "R-ACC-10", .obl = OBL_DISCL},
    {"R-ACC-10 deny: a project without approval cannot send notices", .actor = "res_doc",
     .org = "research_inst", .pat = "anna", .cat = LAB, .origin = "research_inst",
     .src = OB_SRC_RESEARCH, .purpose = NOTICE, .project = "proj_noappr", .recipient = "gp_a",
     .permit = 0, .rule = "R-ACC-10"},
    {"R-ACC-10 deny (seed 001 case 17: 'videregive oplysningerne til patientens læge mhp. "
     "opfølgning'): not to another clinic, only to the patient's own GP",
     .actor = "res_doc", .org = "research_inst", .pat = "anna", .cat = LAB,
     .origin = "research_inst", .src = OB_SRC_RESEARCH, .purpose = NOTICE, .project = "proj_ok",
     .recipient = "gp_b", .permit = 0, .rule = "R-ACC-10"},
    {"R-ACC-10 deny: ... nor without a named recipient", .actor = "res_doc", .org = "research_inst",
     .pat = "anna", .cat = LAB, .origin = "research_inst", .src = OB_SRC_RESEARCH,
     .purpose = NOTICE, .project = "proj_ok", .permit = 0, .rule = "R-ACC-10"},
    {"R-ACC-10 deny: a patient with no GP has no one to send it to", .actor = "res_doc",
     .org = "research_inst", .pat = "freja", .cat = LAB, .origin = "research_inst",
     .src = OB_SRC_RESEARCH, .purpose = NOTICE, .project = "proj_ok", .permit = 0,
     .rule = "R-ACC-10"},

    /* ---------------- R-ACC-11 decision support ---------------- */
    {"R-ACC-11 permit: 'patients like me' answers aggregated, pseudonymised figures to a "
     "professional treating the patient (SUL §42a stk. 6)",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "anna", .cat = DIAG, .origin = "gp_a",
     .purpose = DSS, .agg = 1, .permit = 1, .rule = "R-ACC-11",
     .obl = OBL_PSEUDO | OB_OBL_AGGREGATE},
    {"R-ACC-11 deny: a person-level read with purpose decision support is refused, even for "
     "the treating doctor",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "anna", .cat = DIAG, .origin = "gp_a",
     .purpose = DSS, .permit = 0, .rule = "R-ACC-11"},
    {"R-ACC-11 deny: ... and for anyone else (issue 19: any professional read any patient)",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "erik", .cat = DIAG, .origin = "gp_a",
     .purpose = DSS, .permit = 0, .rule = "R-ACC-11"},
    {"R-ACC-11 deny: aggregated figures only for a professional who treats the patient",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "erik", .cat = DIAG, .origin = "gp_a",
     .purpose = DSS, .agg = 1, .permit = 0, .rule = "R-ACC-11"},
    {"R-ACC-11 deny: decision support is for authorised professionals (SUL §42a stk. 6)",
     .actor = "gp_medass", .org = "gp_a", .pat = "erik", .cat = DIAG, .origin = "dept_cardio",
     .purpose = DSS, .permit = 0, .rule = "R-ACC-3"},

    /* ---------------- R-ACC-12 holiday cover ---------------- */
    {"R-ACC-12 permit (seed 001 case 12, R-ACC-12 as changed): the substitute GP reads the "
     "record of a covered clinic's patient who contacted them during the cover",
     .actor = "sub_gp", .org = "gp_c", .pat = "anna", .cat = NOTE, .origin = "gp_a",
     .now = 20240710, .purpose = TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-ACC-12 deny (R-ACC-12: 'not the whole list'): a covered clinic's patient who has not "
     "contacted the substitute",
     .actor = "sub_gp", .org = "gp_c", .pat = "erik", .cat = MED, .origin = "gp_a", .now = 20240710,
     .purpose = TREAT, .permit = 0, .rule = "R-ACC-1"},
    {"R-ACC-12 deny: the contact's relationship ends with the cover (day after)", .actor = "sub_gp",
     .org = "gp_c", .pat = "anna", .cat = NOTE, .origin = "gp_a", .now = 20240722, .purpose = TREAT,
     .permit = 0, .rule = "R-ACC-1"},
    {"R-ACC-12 deny: before the cover starts", .actor = "sub_gp", .org = "gp_c", .pat = "anna",
     .cat = NOTE, .origin = "gp_a", .now = 20240630, .purpose = TREAT, .permit = 0,
     .rule = "R-ACC-1"},
    {"R-ACC-12 deny: the cover is for gp_a's patients only, not gp_b's", .actor = "sub_gp",
     .org = "gp_c", .pat = "bent", .cat = NOTE, .origin = "gp_b", .now = 20240710, .purpose = TREAT,
     .permit = 0, .rule = "R-ACC-1"},

    /* ---------------- R-ACC-13 discharge summary to municipal nursing ---------------- */
    {"R-ACC-13 permit: home nursing reads the discharge summary the doctor shared with it",
     .actor = "muni_nurse", .org = "home_nursing", .pat = "anna", .cat = EPI,
     .origin = "dept_cardio", .purpose = TREAT, .permit = 1, .rule = "R-ACC-13", .obl = OBL_DISCL},
    {"R-ACC-13 deny: the acute team (treating, but not the recipient) cannot read it",
     .actor = "acute_nurse", .org = "acute_team", .pat = "anna", .cat = EPI,
     .origin = "dept_cardio", .purpose = TREAT, .permit = 0, .rule = "R-ACC-13"},
    {"R-ACC-13 deny: a summary from a department that did not share it", .actor = "muni_nurse",
     .org = "home_nursing", .pat = "anna", .cat = EPI, .origin = "dept_ortho", .purpose = TREAT,
     .permit = 0, .rule = "R-ACC-13"},
    {"R-ACC-13 deny: before the disclosure was made (2024-06-01)", .actor = "muni_nurse",
     .org = "home_nursing", .pat = "anna", .cat = EPI, .origin = "dept_cardio", .now = 20240520,
     .purpose = TREAT, .permit = 0, .rule = "R-ACC-13"},
    {"R-ACC-13/R-ACC-1 permit: other hospital data reach home nursing by the treatment rule",
     .actor = "muni_nurse", .org = "home_nursing", .pat = "anna", .cat = MED,
     .origin = "dept_cardio", .purpose = TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-ACC-13 permit: the treating hospital doctor discloses the summary to home nursing",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "anna", .cat = EPI, .origin = "dept_cardio",
     .purpose = DISCLOSE, .recipient = "home_nursing", .permit = 1, .rule = "R-ACC-13",
     .obl = OBL_DISCL},
    {"R-ACC-13 deny: disclosure to a non-municipal recipient (a GP)", .actor = "hosp_doc",
     .org = "dept_cardio", .pat = "anna", .cat = EPI, .origin = "dept_cardio", .purpose = DISCLOSE,
     .recipient = "gp_b", .permit = 0, .rule = "R-ACC-13"},
    /* ---------------- R-ACC-19 disclosure beyond the discharge summary ---------------- */
    {"R-ACC-19 permit (SUL §41 stk. 2 nr. 1; seed 001: 'videregivelse' to other health persons "
     "for a current course): the treating hospital doctor discloses the department's lab "
     "results to home nursing, which treats anna",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .purpose = DISCLOSE, .recipient = "home_nursing", .permit = 1, .rule = "R-ACC-19",
     .obl = OBL_DISCL},
    {"R-ACC-19 deny: not to social services (no health unit), whatever it does for the patient",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .purpose = DISCLOSE, .recipient = "social", .permit = 0, .rule = "R-ACC-19"},
    {"R-ACC-19 deny: not to a unit that does not treat the patient (Vejle's home nursing)",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .purpose = DISCLOSE, .recipient = "home_nursing2", .permit = 0, .rule = "R-ACC-19"},
    {"R-ACC-19 deny: one discloses one's own organisation's records, not the GP's",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "anna", .cat = MED, .origin = "gp_a",
     .purpose = DISCLOSE, .recipient = "home_nursing", .permit = 0, .rule = "R-ACC-19"},
    {"R-ACC-19 permit: Vejle's home nurse reads the clinical note erik's GP disclosed to them "
     "(beyond what home nursing needs by default)",
     .actor = "muni2_nurse", .org = "home_nursing2", .pat = "erik", .cat = NOTE, .origin = "gp_a",
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-19", .obl = OBL_DISCL},
    {"R-ACC-19/R-ACC-1 deny: ... not a note from elsewhere, which nobody disclosed",
     .actor = "muni2_nurse", .org = "home_nursing2", .pat = "erik", .cat = NOTE,
     .origin = "dept_cardio", .purpose = TREAT, .permit = 0, .rule = "R-ACC-1"},
    {"R-ACC-13 deny: a doctor without a relationship cannot disclose", .actor = "hosp2_doc",
     .org = "dept_med2", .pat = "anna", .cat = EPI, .origin = "dept_med2", .purpose = DISCLOSE,
     .recipient = "home_nursing", .permit = 0, .rule = "R-ACC-13"},
    {"R-ACC-13 deny [corrected]: a municipal nurse is not 'the discharging doctor'; "
     "she cannot pass the hospital's summary on to the acute team as a disclosure",
     .actor = "muni_nurse", .org = "home_nursing", .pat = "anna", .cat = EPI,
     .origin = "dept_cardio", .purpose = DISCLOSE, .recipient = "acute_team", .permit = 0,
     .rule = "R-ACC-13"},

    /* ---------------- R-ACC-14 default deny ---------------- */
    {"R-ACC-14 deny: a professional using the patient's own purpose", .actor = "gp_doc",
     .org = "gp_a", .pat = "anna", .cat = DIAG, .origin = "gp_a", .purpose = OB_PURPOSE_PATIENT,
     .permit = 0, .rule = "R-ACC-14"},
    {"R-ACC-14 deny: a professional request without a data origin", .actor = "gp_doc",
     .org = "gp_a", .pat = "anna", .cat = DIAG, .purpose = TREAT, .permit = 0, .rule = "R-ACC-14"},
    {"R-ACC-14 permit (nearest lawful alternative): the same purpose by the patient (R-ACC-9)",
     .ak = CIT, .actor = "anna", .pat = "anna", .cat = DIAG, .origin = "gp_a",
     .purpose = OB_PURPOSE_PATIENT, .permit = 1, .rule = "R-ACC-9"},

    /* ---------------- R-BLK-1 / R-BLK-4: carla's blocks ---------------- */
    {"R-BLK-1(a)/R-BLK-4 deny: the blocked professional, GP data; told only 'withheld'",
     .actor = "specialist_doc", .org = "specialist", .pat = "carla", .cat = DIAG, .origin = "gp_a",
     .purpose = TREAT, .permit = 0, .rule = "R-BLK-4", .obl = OBL_HINT},
    {"R-BLK-1(a)/R-BLK-4 deny: a professional block covers all the patient's data (appointments)",
     .actor = "specialist_doc", .org = "specialist", .pat = "carla", .cat = APPT,
     .origin = "dept_ortho", .purpose = TREAT, .permit = 0, .rule = "R-BLK-4", .obl = OBL_HINT},
    {"R-BLK-1(a) permit: the professional block binds only the named professional",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "carla", .cat = DIAG, .origin = "gp_a",
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-BLK-1(a)/R-BLK-4: blocks never stop R-ACC-2 (blocked specialist reads own data)",
     .actor = "specialist_doc", .org = "specialist", .pat = "carla", .cat = NOTE,
     .origin = "specialist", .purpose = TREAT, .permit = 1, .rule = "R-ACC-2"},
    {"R-BLK-1(b)/R-BLK-4 deny: site block (cardiology) hides its data from the GP",
     .actor = "gp_doc", .org = "gp_a", .pat = "carla", .cat = LAB, .origin = "dept_cardio",
     .purpose = TREAT, .permit = 0, .rule = "R-BLK-4", .obl = OBL_HINT},
    {"R-BLK-1(b)/R-BLK-4 deny: ... and from another department of the same hospital",
     .actor = "ortho_doc", .org = "dept_ortho", .pat = "carla", .cat = LAB, .origin = "dept_cardio",
     .purpose = TREAT, .permit = 0, .rule = "R-BLK-4", .obl = OBL_HINT},
    {"R-BLK-1(b) permit: a block WITHOUT sub-units does not hide the sub-unit's data",
     .actor = "gp_doc", .org = "gp_a", .pat = "carla", .cat = LAB, .origin = "dept_cardio_ward",
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-BLK-1(b)/R-BLK-4 permit: the blocked site itself still reads its data (R-ACC-2)",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "carla", .cat = LAB, .origin = "dept_cardio",
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-2"},
    {"R-BLK-1 permit: category limit (the cardiology block excludes vaccinations)",
     .actor = "gp_doc", .org = "gp_a", .pat = "carla", .cat = VACC, .origin = "dept_cardio",
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-BLK-1(b)/R-BLK-4 deny: site block WITH sub-units hides a department's 2020 data",
     .actor = "gp_doc", .org = "gp_a", .pat = "carla", .cat = LAB, .origin = "dept_med2",
     .item = 20200515, .purpose = TREAT, .permit = 0, .rule = "R-BLK-4", .obl = OBL_HINT},
    {"R-BLK-1(b) permit: the same site's data from outside the block's data period (2023)",
     .actor = "gp_doc", .org = "gp_a", .pat = "carla", .cat = LAB, .origin = "dept_med2",
     .item = 20230515, .purpose = TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-BLK-1(b)/R-BLK-4 permit: inside the blocked hospital the department reads its own 2020 "
     "data",
     .actor = "hosp2_doc", .org = "dept_med2", .pat = "carla", .cat = LAB, .origin = "dept_med2",
     .item = 20200515, .purpose = TREAT, .permit = 1, .rule = "R-ACC-2"},
    {"R-BLK-1(c)/R-BLK-4 deny: period block hides appointments held in the period",
     .actor = "gp_doc", .org = "gp_a", .pat = "carla", .cat = APPT, .origin = "dept_ortho",
     .item = 20210415, .purpose = TREAT, .permit = 0, .rule = "R-BLK-4", .obl = OBL_HINT},
    {"R-BLK-1(c)/R-BLK-4 deny: a period block binds all professionals (hospital doctor too)",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "carla", .cat = NOTE, .origin = "gp_a",
     .item = 20210415, .purpose = TREAT, .permit = 0, .rule = "R-BLK-4", .obl = OBL_HINT},
    {"R-BLK-1(c) permit: category limit (the period block excludes lab results)", .actor = "gp_doc",
     .org = "gp_a", .pat = "carla", .cat = LAB, .origin = "dept_ortho", .item = 20210415,
     .purpose = TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-BLK-1(c) permit: an appointment after the blocked period", .actor = "gp_doc", .org = "gp_a",
     .pat = "carla", .cat = APPT, .origin = "dept_ortho", .item = 20210715, .purpose = TREAT,
     .permit = 1, .rule = "R-ACC-1"},
    {"R-BLK-1 permit: validity period over (home-nursing block ended 2022)", .actor = "gp_doc",
     .org = "gp_a", .pat = "carla", .cat = MEAS, .origin = "home_nursing", .purpose = TREAT,
     .permit = 1, .rule = "R-ACC-1"},
    {"R-BLK-1/R-BLK-4 deny: the same block while in force (2021)", .actor = "gp_doc", .org = "gp_a",
     .pat = "carla", .cat = MEAS, .origin = "home_nursing", .item = 20210501, .now = 20210601,
     .purpose = TREAT, .permit = 0, .rule = "R-BLK-4", .obl = OBL_HINT},
    {"R-BLK-1 permit: the cardiology block is not yet in force in 2023", .actor = "gp_doc",
     .org = "gp_a", .pat = "carla", .cat = LAB, .origin = "dept_cardio", .item = 20230301,
     .now = 20230601, .purpose = TREAT, .permit = 1, .rule = "R-ACC-1"},
    {"R-BLK-1 deny: quality work does not see blocked data either; omitted silently",
     .actor = "q_doc", .org = "dept_ortho", .pat = "carla", .cat = LAB, .origin = "dept_cardio",
     .purpose = QUALITY, .permit = 0, .rule = "R-BLK-1", .obl = OBL_OMIT},
    {"R-BLK-1 permit: quality work on a category the block leaves out (vaccination)",
     .actor = "q_doc", .org = "dept_ortho", .pat = "carla", .cat = VACC, .origin = "dept_cardio",
     .purpose = QUALITY, .permit = 1, .rule = "R-ACC-4"},
    {"R-BLK-4/R-ACC-9 permit: blocks never stop the patient's own access", .ak = CIT,
     .actor = "carla", .pat = "carla", .cat = LAB, .origin = "dept_cardio",
     .purpose = OB_PURPOSE_PATIENT, .permit = 1, .rule = "R-ACC-9"},
    {"R-BLK-4/R-ACC-3 deny: an assistant meets the same block; both persons logged",
     .actor = "gp_sec", .org = "gp_a", .obo = "gp_doc", .pat = "carla", .cat = LAB,
     .origin = "dept_cardio", .purpose = TREAT, .permit = 0, .rule = "R-BLK-4",
     .obl = OBL_HINT | OBL_ASSIST, .cap = CAP(OB_CAP_ASSISTANT)},
    {"R-BLK-4/R-ACC-12 deny: the substitute GP meets the same block", .actor = "sub_gp",
     .org = "gp_c", .pat = "carla", .cat = LAB, .origin = "dept_cardio", .now = 20240710,
     .purpose = TREAT, .permit = 0, .rule = "R-BLK-4", .obl = OBL_HINT},
    /* overrides (værdispring) */
    {"R-BLK-4 permit: override with the patient's consent in the situation, reason given; "
     "flagged and shown to the patient",
     .actor = "gp_doc", .org = "gp_a", .pat = "carla", .cat = LAB, .origin = "dept_cardio",
     .purpose = TREAT, .ovr = OVR_CONSENT, .reason = 1, .permit = 1, .rule = "R-BLK-4",
     .obl = OBL_OVERRIDE},
    {"R-BLK-4 deny: override with consent but no reason text", .actor = "gp_doc", .org = "gp_a",
     .pat = "carla", .cat = LAB, .origin = "dept_cardio", .purpose = TREAT, .ovr = OVR_CONSENT,
     .permit = 0, .rule = "R-BLK-4", .no_obl = OBL_OVERRIDE},
    {"R-BLK-4 permit: vital-interest override in an emergency (ETREAT), reason given",
     .actor = "hosp_doc", .org = "dept_cardio", .pat = "carla", .cat = NOTE, .origin = "gp_a",
     .item = 20210415, .purpose = ETREAT, .ovr = OVR_VITAL, .reason = 1, .permit = 1,
     .rule = "R-BLK-4", .obl = OBL_OVERRIDE},
    {"R-BLK-4 deny: vital-interest override needs purpose ETREAT", .actor = "hosp_doc",
     .org = "dept_cardio", .pat = "carla", .cat = NOTE, .origin = "gp_a", .item = 20210415,
     .purpose = TREAT, .ovr = OVR_VITAL, .reason = 1, .permit = 0, .rule = "R-BLK-4",
     .no_obl = OBL_OVERRIDE},
    {"R-BLK-4 deny: vital-interest override without a reason", .actor = "hosp_doc",
     .org = "dept_cardio", .pat = "carla", .cat = NOTE, .origin = "gp_a", .item = 20210415,
     .purpose = ETREAT, .ovr = OVR_VITAL, .permit = 0, .rule = "R-BLK-4", .no_obl = OBL_OVERRIDE},
    {"R-BLK-4 deny: an override lifts a block, not a missing relationship (R-ACC-1)",
     .actor = "gp_b_doc", .org = "gp_b", .pat = "carla", .cat = LAB, .origin = "dept_cardio",
     .purpose = ETREAT, .ovr = OVR_VITAL, .reason = 1, .permit = 0, .rule = "R-ACC-1"},
    {"R-BLK-4 permit: an override where nothing is blocked is an ordinary read, not flagged",
     .actor = "gp_doc", .org = "gp_a", .pat = "anna", .cat = LAB, .origin = "dept_cardio",
     .purpose = TREAT, .ovr = OVR_CONSENT, .reason = 1, .permit = 1, .rule = "R-ACC-1",
     .no_obl = OBL_OVERRIDE | OBL_HINT},
};

static void test_table(void **state)
{
    (void)state;
    ob_index *ix = fx_build();
    int bad = fx_check_rows(ix, rows, sizeof rows / sizeof rows[0]);
    ob_index_free(ix);
    if (bad)
        fail_msg("%d of %zu decision rows failed (listed above)", bad,
                 sizeof rows / sizeof rows[0]);
}

/* Every rule id of the engine has at least one permit and one deny row, by citation. */
static void test_every_rule_cited(void **state)
{
    (void)state;
    for (int r = 0; r < OB_RULE_COUNT; r++) {
        /* R-ACC-15 (the token's purposes) and R-ACC-16 (obligations) are not decided by
         * the engine: tests/unit/api/test_enforce.c and tests/security/purpose.sh */
        if (r == OB_RULE_ACC_15 || r == OB_RULE_ACC_16)
            continue;
        const char *name = ob_rule_name((ob_rule)r);
        size_t len = strlen(name);
        bool permit = false, deny = false;
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            const char *w = rows[i].why;
            /* "R-ACC-1" must not match "R-ACC-10": require a non-digit after the id */
            for (const char *p = strstr(w, name); p; p = strstr(p + 1, name)) {
                char next = p[len];
                if (next >= '0' && next <= '9')
                    continue;
                if (rows[i].permit)
                    permit = true;
                else
                    deny = true;
            }
        }
        if (!permit || !deny)
            fail_msg("rule %s lacks a %s row", name, !permit ? "permit" : "deny");
    }
}

static void decide(const ob_index *ix, const struct fx_row *r, ob_decision *d)
{
    ob_request rq;
    fx_request(ix, r, &rq);
    ob_policy_decide(ix, &rq, d);
}

/* R-BLK-5, R-BLK-1: a new block takes effect at the next decision; lifting it too. */
static void test_block_takes_effect_at_once(void **state)
{
    (void)state;
    ob_index *ix = fx_build();
    const struct fx_row r = {"R-BLK-5: GP reads anna's cardiology lab",
                             .actor = "gp_doc",
                             .org = "gp_a",
                             .pat = "anna",
                             .cat = LAB,
                             .origin = "dept_cardio",
                             .purpose = TREAT};
    ob_decision d;
    decide(ix, &r, &d);
    assert_true(d.permit);
    assert_int_equal(d.rule, OB_RULE_ACC_1);

    /* the patient blocks cardiology; checked as the service would, then indexed */
    ob_block b = fx_mkblock(ix, OB_BLOCK_SITE, "dept_cardio", true, OB_CAT_ALL, 20240101, 20301231,
                            FX_OPEN, FX_OPEN);
    b.id = 99;
    ob_change_actor who = {.actor_kind = OB_ACTOR_CITIZEN, .actor = fx_pat(ix, "anna")};
    ob_err e = {0};
    assert_int_equal(ob_policy_check_block(ix, who.actor, &b, &who, &e), OB_OK);
    assert_int_equal(ob_index_add_block(ix, who.actor, &b, &e), OB_OK);
    decide(ix, &r, &d);
    assert_false(d.permit);
    assert_int_equal(d.rule, OB_RULE_BLK_4);
    assert_true(d.obligations & OB_OBL_BLOCK_HINT);

    /* the patient's own access is unchanged (R-BLK-4) */
    const struct fx_row own = {"R-BLK-4: anna reads the same item",
                               .ak = CIT,
                               .actor = "anna",
                               .pat = "anna",
                               .cat = LAB,
                               .origin = "dept_cardio",
                               .purpose = OB_PURPOSE_PATIENT};
    decide(ix, &own, &d);
    assert_true(d.permit);

    /* lifting takes effect at once as well (R-BLK-5) */
    ob_block *stored = ob_index_find_block(ix, who.actor, 99);
    assert_non_null(stored);
    assert_int_equal(ob_policy_check_block_lift(ix, who.actor, stored, &who, &e), OB_OK);
    stored->active = false;
    decide(ix, &r, &d);
    assert_true(d.permit);
    assert_int_equal(d.rule, OB_RULE_ACC_1);
    ob_index_free(ix);
}

/* R-CON-2: revoking a consent takes effect at the next decision; a new one too. */
static void test_consent_takes_effect_at_once(void **state)
{
    (void)state;
    ob_index *ix = fx_build();
    const struct fx_row r = {"R-CON-2: home nursing prevention follow-up on dorte",
                             .actor = "muni_nurse",
                             .org = "home_nursing",
                             .pat = "dorte",
                             .cat = DIAG,
                             .origin = "gp_b",
                             .purpose = PREVENT};
    uint32_t dorte = fx_pat(ix, "dorte");
    ob_decision d;
    decide(ix, &r, &d);
    assert_true(d.permit);
    assert_int_equal(d.rule, OB_RULE_ACC_5);

    ob_consent *c = ob_index_find_consent(ix, dorte, 11);
    assert_non_null(c);
    ob_change_actor who = {.actor_kind = OB_ACTOR_CITIZEN, .actor = dorte};
    ob_err e = {0};
    assert_int_equal(ob_policy_check_consent_revoke(ix, dorte, c, &who, &e), OB_OK);
    c->active = false;
    c->revoked_at = fx_d(FX_NOW);
    decide(ix, &r, &d);
    assert_false(d.permit);
    assert_int_equal(d.rule, OB_RULE_ACC_5);

    /* a fresh consent for anna (who had none) permits at once */
    const struct fx_row ra = {"R-ACC-5: prevention follow-up on anna",
                              .actor = "muni_nurse",
                              .org = "home_nursing",
                              .pat = "anna",
                              .cat = MEAS,
                              .origin = "gp_a",
                              .purpose = PREVENT};
    decide(ix, &ra, &d);
    assert_false(d.permit);
    fx_consent(ix, "anna", 50, OB_CONSENT_PREVENTION, OB_RCPT_ORG_KIND, OB_ORG_MUNICIPAL_UNIT,
               CB(MEASUREMENT), 20240601, 20250601, true, false);
    decide(ix, &ra, &d);
    assert_true(d.permit);
    assert_int_equal(d.rule, OB_RULE_ACC_5);
    ob_index_free(ix);
}

/* R-ACC-12: the same request flips with the clock alone, no change to the index. */
static void test_cover_ends_by_itself(void **state)
{
    (void)state;
    ob_index *ix = fx_build();
    struct fx_row r = {"R-ACC-12", .actor = "sub_gp", .org = "gp_c",   .pat = "anna",
                       .cat = MED, .origin = "gp_a",  .purpose = TREAT};
    static const struct {
        int32_t now;
        bool permit;
    } days[] = {{20240630, 0}, {20240707, 0}, {20240708, 1}, {20240721, 1}, {20240722, 0}};
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        ob_decision d;
        r.now = days[i].now;
        decide(ix, &r, &d);
        if (d.permit != days[i].permit)
            fail_msg("cover on %d: expected %s", days[i].now, days[i].permit ? "permit" : "deny");
    }
    ob_index_free(ix);
}

/* R-ACC-1 "necessary" (issue 21): the necessity table decides which categories a
 * relationship opens, and an operator's `necessity` record (the import format) changes a
 * row at once; a bad record changes nothing. */
static void test_necessity_table(void **state)
{
    (void)state;
    ob_index *ix = fx_build();
    struct fx_row note = {"R-ACC-1",   .actor = "muni_nurse", .org = "home_nursing", .pat = "anna",
                          .cat = NOTE, .origin = "gp_a",      .purpose = TREAT},
                  med = note;
    med.cat = MED;
    ob_decision d;
    decide(ix, &note, &d);
    assert_false(d.permit);
    decide(ix, &med, &d);
    assert_true(d.permit);
    ob_loader L;
    ob_loader_init(&L, ix, NULL);
    static const struct {
        const char *rec;
        bool ok, note_permit, med_permit;
    } steps[] = {
        {"{\"type\":\"necessity\",\"relationship\":\"home_nursing\",\"role\":\"nurse\","
         "\"categories\":[\"clinical_note\",\"medication\"]}",
         true, true, true},
        {"{\"type\":\"necessity\",\"relationship\":\"home_nursing\",\"categories\":[]}", true,
         false, false},
        {"{\"type\":\"necessity\",\"relationship\":\"home_visits\",\"categories\":[]}", false,
         false, false},
        {"{\"type\":\"necessity\",\"relationship\":\"home_nursing\",\"role\":\"nurse\","
         "\"categories\":[\"x-ray\"]}",
         false, false, false},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        json_t *o = json_loads(steps[i].rec, 0, NULL);
        ob_record_out out;
        memset(&out, 0, sizeof out);
        ob_err e = {0};
        ob_status rc = ob_record_apply(&L, o, &out, &e);
        json_decref(out.canonical);
        json_decref(o);
        if ((rc == OB_OK) != steps[i].ok)
            fail_msg("necessity record %zu: %s", i, rc ? e.msg : "accepted");
        decide(ix, &note, &d);
        assert_int_equal(d.permit, steps[i].note_permit);
        decide(ix, &med, &d);
        assert_int_equal(d.permit, steps[i].med_permit);
    }
    ob_index_free(ix);
}

/* Seed 001 case 22: criteria are set by the site's management; anyone else is refused and
 * nothing changes. */
static void test_criteria_by_management_only(void **state)
{
    (void)state;
    ob_index *ix = fx_build();
    ob_loader L;
    ob_loader_init(&L, ix, NULL);
    L.now = fx_d(FX_NOW);
    size_t before = ix->ncriteria;
    json_t *o = json_loads("{\"type\":\"quality_criteria\",\"site\":\"hospital2\",\"role\":"
                           "\"doctor\",\"from\":\"2024-01-01\",\"to\":\"2024-12-31\",\"by\":"
                           "\"gp_doc\"}",
                           0, NULL);
    ob_record_out out;
    memset(&out, 0, sizeof out);
    ob_err e = {0};
    assert_int_equal(ob_record_apply(&L, o, &out, &e), OB_EDENIED);
    assert_int_equal(ix->ncriteria, before);
    json_decref(o);
    json_decref(out.canonical);
    ob_index_free(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_every_rule_cited),
        cmocka_unit_test(test_block_takes_effect_at_once),
        cmocka_unit_test(test_consent_takes_effect_at_once),
        cmocka_unit_test(test_cover_ends_by_itself),
        cmocka_unit_test(test_necessity_table),
        cmocka_unit_test(test_criteria_by_management_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
