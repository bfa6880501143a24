/* fixture.h - a small world for the table-driven decision tests (R-ACC, R-BLK, R-CON).
 *
 * Everything is `static inline` so each test_*.c includes it without unused-function
 * warnings. Rows name objects by external id ("gp_doc", "dept_cardio", "anna"); the
 * runner resolves them through the index and fails on an unknown name, so a typo in a
 * row cannot turn into OB_NONE and pass by accident.
 *
 * The world (all dates UTC midnight; "now" is FX_NOW = 2024-06-15 unless a row says):
 *
 *   region "Region Syddanmark"                       (region, secondary)
 *     hospital "Odense Universitetshospital"        (hospital)
 *       dept_cardio "Kardiologisk Afdeling"         (department)
 *         dept_cardio_ward "Hjerteafsnit B2"        (department, sub-unit of cardio)
 *       dept_ortho "Ortopaedkirurgisk Afdeling"     (department)
 *     hospital2 "Sygehus Svendborg"                 (hospital)
 *       dept_med2 "Medicinsk Afdeling Svendborg"    (department)
 *     ooh "Laegevagten"                             (out-of-hours service, 1813/vagtlaege)
 *   muni "Kolding Kommune"                          (municipality)
 *     home_nursing "Hjemmesygeplejen Kolding", acute_team "Akutteam Kolding",
 *     social "Socialforvaltningen Kolding"
 *   muni2 "Vejle Kommune" / home_nursing2 "Hjemmesygeplejen Vejle"
 *   gp_a "Laegerne Torvet" (ydernr 123456), gp_b "Laegehuset Aaen" (234567),
 *   gp_c "Laegerne Havnen" (345678, covers gp_a 2024-07-01..2024-07-21, R-ACC-12),
 *   specialist "Oejenlaegen Vestergade" (456789), qdb "Dansk Hjerteregister" (quality db),
 *   research_inst "Syddansk Universitet", admin "Regional Planlaegning".
 *
 * Patients: anna (listed gp_a; admitted at cardiology; home nursing and acute team;
 * personal relationship with the specialist; an ended one with ortho_doc; a discharge
 * summary disclosed by hosp_doc to home nursing on 2024-06-01), bent (listed gp_b;
 * dorte holds power of attorney for appointments and medication; erik held one that
 * ended), carla (listed gp_a; blocks of all three kinds, see fx_build), dorte (listed
 * gp_b; consents), erik (listed gp_a; home nursing in Vejle), freja (no GP). */
#ifndef OB_TEST_POLICY_FIXTURE_H
#define OB_TEST_POLICY_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/time.h"
#include "model/index.h"
#include "policy/policy.h"

/* yyyymmdd -> ob_time; 0 is "not given" and handled by the caller */
static inline ob_time fx_d(int32_t ymd)
{
    return ob_time_from_ymd(ymd / 10000, (ymd / 100) % 100, ymd % 100);
}

#define FX_NOW  20240615
#define FX_ITEM 20240501 /* default time of a data item */
#define FX_OPEN 0        /* open start or end of a period */

static inline ob_time fx_from(int32_t ymd)
{
    return ymd ? fx_d(ymd) : OB_TIME_MIN;
}

static inline ob_time fx_to(int32_t ymd)
{
    return ymd ? fx_d(ymd) : OB_TIME_MAX;
}

#define FX_OK(call)                                                                                \
    do {                                                                                           \
        ob_err fx_e_ = {0};                                                                        \
        ob_err *e = &fx_e_;                                                                        \
        if ((call) != OB_OK)                                                                       \
            fail_msg("fixture: %s failed: %s", #call, fx_e_.msg);                                  \
    } while (0)

static inline uint32_t fx_org(const ob_index *ix, const char *ext)
{
    if (!ext)
        return OB_NONE;
    uint32_t id = ob_index_find_org(ix, ext);
    if (id == OB_NONE)
        fail_msg("fixture: unknown organisation '%s'", ext);
    return id;
}

static inline uint32_t fx_pro(const ob_index *ix, const char *ext)
{
    if (!ext)
        return OB_NONE;
    uint32_t id = ob_index_find_professional(ix, ext);
    if (id == OB_NONE)
        fail_msg("fixture: unknown professional '%s'", ext);
    return id;
}

static inline uint32_t fx_pat(const ob_index *ix, const char *ext)
{
    if (!ext)
        return OB_NONE;
    uint32_t id = ob_index_find_patient(ix, ext);
    if (id == OB_NONE)
        fail_msg("fixture: unknown patient '%s'", ext);
    return id;
}

static inline uint32_t fx_proj(const ob_index *ix, const char *ext)
{
    if (!ext)
        return OB_NONE;
    uint32_t id = ob_index_find_project(ix, ext);
    if (id == OB_NONE)
        fail_msg("fixture: unknown project '%s'", ext);
    return id;
}

static inline void fx_add_org(ob_index *ix, const char *ext, const char *name, ob_org_kind kind,
                              ob_sector sector, const char *parent, const char *provider)
{
    ob_org o;
    memset(&o, 0, sizeof o);
    o.parent = fx_org(ix, parent);
    o.kind = (uint8_t)kind;
    o.sector = (uint8_t)sector;
    o.ext_id = (char *)ext;
    o.name = (char *)name;
    o.address = (char *)"Testvej 1, 5000 Odense C";
    snprintf(o.sor, sizeof o.sor, "SOR-%s", ext);
    if (provider)
        snprintf(o.provider_no, sizeof o.provider_no, "%s", provider);
    FX_OK(ob_index_add_org(ix, &o, NULL, e));
}

static inline void fx_add_pro(ob_index *ix, const char *ext, const char *name, ob_role role,
                              const char *site, const char *site2)
{
    ob_professional p;
    memset(&p, 0, sizeof p);
    p.ext_id = (char *)ext;
    p.name = (char *)name;
    p.role = (uint8_t)role;
    p.authorised = ob_role_authorised(role);
    if (p.authorised)
        snprintf(p.authorisation_id, sizeof p.authorisation_id, "AUT-%.8s", ext);
    p.sites[p.nsites++] = fx_org(ix, site);
    if (site2)
        p.sites[p.nsites++] = fx_org(ix, site2);
    FX_OK(ob_index_add_professional(ix, &p, NULL, e));
}

static inline void fx_add_patient(ob_index *ix, const char *ext, const char *name, const char *gp)
{
    ob_patient p;
    memset(&p, 0, sizeof p);
    p.ext_id = (char *)ext;
    p.name = (char *)name;
    p.gp_clinic = fx_org(ix, gp);
    p.birth = fx_d(19500101);
    /* a distinct non-zero lookup hash per patient (never a CPR number) */
    for (size_t i = 0; i < sizeof p.cpr_hash; i++)
        p.cpr_hash[i] = (uint8_t)(ext[i % strlen(ext)] + i);
    FX_OK(ob_index_add_patient(ix, &p, NULL, e));
}

/* pro == NULL: through the organisation */
static inline void fx_rel(ob_index *ix, const char *pat, const char *pro, const char *org,
                          ob_rel_kind kind, int32_t from, int32_t to)
{
    ob_relationship r = {.professional = fx_pro(ix, pro),
                         .org = fx_org(ix, org),
                         .from = fx_from(from),
                         .to = fx_to(to),
                         .kind = (uint8_t)kind};
    FX_OK(ob_index_add_relationship(ix, fx_pat(ix, pat), &r, e));
}

static inline ob_block fx_mkblock(const ob_index *ix, ob_block_kind kind, const char *target,
                                  bool subunits, ob_catmask cats, int32_t vfrom, int32_t vto,
                                  int32_t dfrom, int32_t dto)
{
    ob_block b;
    memset(&b, 0, sizeof b);
    b.kind = (uint8_t)kind;
    b.include_subunits = subunits;
    b.active = true;
    b.target = kind == OB_BLOCK_PROFESSIONAL ? fx_pro(ix, target)
               : kind == OB_BLOCK_SITE       ? fx_org(ix, target)
                                             : OB_NONE;
    b.categories = cats;
    b.valid_from = fx_from(vfrom);
    b.valid_to = fx_to(vto);
    b.data_from = fx_from(dfrom);
    b.data_to = fx_to(dto);
    b.created_by = OB_NONE;
    return b;
}

static inline void fx_block(ob_index *ix, const char *pat, uint64_t id, ob_block b)
{
    b.id = id;
    FX_OK(ob_index_add_block(ix, fx_pat(ix, pat), &b, e));
}

static inline void fx_consent(ob_index *ix, const char *pat, uint64_t id, ob_consent_kind kind,
                              ob_recipient_kind rk, uint32_t recipient, ob_catmask cats,
                              int32_t from, int32_t to, bool active_, bool identifiable)
{
    ob_consent c;
    memset(&c, 0, sizeof c);
    c.kind = (uint8_t)kind;
    c.recipient_kind = (uint8_t)rk;
    c.recipient = recipient;
    c.categories = cats;
    c.from = fx_from(from);
    c.to = fx_to(to);
    c.created = c.from;
    c.active = active_;
    c.revoked_at = active_ ? 0 : fx_d(20240301);
    c.identifiable = identifiable;
    c.taken_by = OB_NONE;
    c.id = id;
    FX_OK(ob_index_add_consent(ix, fx_pat(ix, pat), &c, e));
}

static inline void fx_perm(ob_index *ix, const char *pro, const char *site, ob_perm_kind kind,
                           int32_t from, int32_t to, bool revoked)
{
    ob_permission p = {.professional = fx_pro(ix, pro),
                       .site = fx_org(ix, site),
                       .kind = (uint8_t)kind,
                       .from = fx_from(from),
                       .to = fx_to(to),
                       .revoked = revoked};
    FX_OK(ob_index_add_permission(ix, &p, e));
}

/* gp: a GP clinic that permitted the project to use its records (R-ACC-6, seed 000) */
static inline void fx_project(ob_index *ix, const char *ext, const char *approval, bool controller,
                              bool identifiable, ob_catmask cats, int32_t from, int32_t to,
                              const char *m1, const char *m2, const char *gp)
{
    uint32_t members[2], gps[1];
    ob_project p;
    memset(&p, 0, sizeof p);
    p.ext_id = (char *)ext;
    p.title = (char *)ext;
    snprintf(p.approval_ref, sizeof p.approval_ref, "%s", approval);
    p.controller_permission = controller;
    p.identifiable = identifiable;
    p.categories = cats;
    p.from = fx_from(from);
    p.to = fx_to(to);
    if (m1)
        members[p.nmembers++] = fx_pro(ix, m1);
    if (m2)
        members[p.nmembers++] = fx_pro(ix, m2);
    p.members = members;
    if (gp)
        gps[p.ngps++] = fx_org(ix, gp);
    p.gps = gps;
    FX_OK(ob_index_add_project(ix, &p, NULL, e));
}

#define CB(c) OB_CAT_BIT(OB_CAT_##c)

static inline ob_index *fx_build(void)
{
    ob_index *ix = ob_index_new();
    assert_non_null(ix);

    /* ---- organisations (§1: region -> hospital -> department; municipality -> unit) ---- */
    fx_add_org(ix, "region", "Region Syddanmark", OB_ORG_REGION, OB_SECTOR_SECONDARY, NULL, NULL);
    fx_add_org(ix, "hospital", "Odense Universitetshospital", OB_ORG_HOSPITAL, OB_SECTOR_SECONDARY,
               "region", NULL);
    fx_add_org(ix, "dept_cardio", "Kardiologisk Afdeling", OB_ORG_DEPARTMENT, OB_SECTOR_SECONDARY,
               "hospital", NULL);
    fx_add_org(ix, "dept_cardio_ward", "Hjerteafsnit B2", OB_ORG_DEPARTMENT, OB_SECTOR_SECONDARY,
               "dept_cardio", NULL);
    fx_add_org(ix, "dept_ortho", "Ortopaedkirurgisk Afdeling", OB_ORG_DEPARTMENT,
               OB_SECTOR_SECONDARY, "hospital", NULL);
    fx_add_org(ix, "hospital2", "Sygehus Svendborg", OB_ORG_HOSPITAL, OB_SECTOR_SECONDARY, "region",
               NULL);
    fx_add_org(ix, "dept_med2", "Medicinsk Afdeling Svendborg", OB_ORG_DEPARTMENT,
               OB_SECTOR_SECONDARY, "hospital2", NULL);
    fx_add_org(ix, "ooh", "Laegevagten", OB_ORG_DEPARTMENT, OB_SECTOR_PRIMARY, "region", NULL);
    fx_add_org(ix, "muni", "Kolding Kommune", OB_ORG_MUNICIPALITY, OB_SECTOR_MUNICIPAL, NULL, NULL);
    fx_add_org(ix, "home_nursing", "Hjemmesygeplejen Kolding", OB_ORG_MUNICIPAL_UNIT,
               OB_SECTOR_MUNICIPAL, "muni", NULL);
    fx_add_org(ix, "acute_team", "Akutteam Kolding", OB_ORG_MUNICIPAL_UNIT, OB_SECTOR_MUNICIPAL,
               "muni", NULL);
    fx_add_org(ix, "social", "Socialforvaltningen Kolding", OB_ORG_SOCIAL_SERVICES,
               OB_SECTOR_SOCIAL, "muni", NULL);
    fx_add_org(ix, "muni2", "Vejle Kommune", OB_ORG_MUNICIPALITY, OB_SECTOR_MUNICIPAL, NULL, NULL);
    fx_add_org(ix, "home_nursing2", "Hjemmesygeplejen Vejle", OB_ORG_MUNICIPAL_UNIT,
               OB_SECTOR_MUNICIPAL, "muni2", NULL);
    fx_add_org(ix, "gp_a", "Laegerne Torvet", OB_ORG_GP_CLINIC, OB_SECTOR_PRIMARY, NULL, "123456");
    fx_add_org(ix, "gp_b", "Laegehuset Aaen", OB_ORG_GP_CLINIC, OB_SECTOR_PRIMARY, NULL, "234567");
    fx_add_org(ix, "gp_c", "Laegerne Havnen", OB_ORG_GP_CLINIC, OB_SECTOR_PRIMARY, NULL, "345678");
    fx_add_org(ix, "specialist", "Oejenlaegen Vestergade", OB_ORG_SPECIALIST, OB_SECTOR_PRIMARY,
               NULL, "456789");
    fx_add_org(ix, "qdb", "Dansk Hjerteregister", OB_ORG_QUALITY_DB, OB_SECTOR_OTHER, NULL, NULL);
    fx_add_org(ix, "research_inst", "Syddansk Universitet", OB_ORG_RESEARCH, OB_SECTOR_OTHER, NULL,
               NULL);
    fx_add_org(ix, "admin", "Regional Planlaegning", OB_ORG_ADMIN, OB_SECTOR_OTHER, NULL, NULL);

    /* ---- professionals ---- */
    fx_add_pro(ix, "gp_doc", "Dr. Hansen", OB_ROLE_DOCTOR, "gp_a", NULL);
    fx_add_pro(ix, "gp_doc2", "Dr. Holm", OB_ROLE_DOCTOR, "gp_a", NULL);
    fx_add_pro(ix, "gp_sec", "Sekretaer Jensen", OB_ROLE_SECRETARY, "gp_a", NULL);
    fx_add_pro(ix, "gp_medass", "Klinikassistent Berg", OB_ROLE_MEDICAL_ASSISTANT, "gp_a", NULL);
    fx_add_pro(ix, "gp_b_doc", "Dr. Nielsen", OB_ROLE_DOCTOR, "gp_b", NULL);
    fx_add_pro(ix, "sub_gp", "Dr. Vikar", OB_ROLE_DOCTOR, "gp_c", NULL);
    fx_add_pro(ix, "specialist_doc", "Dr. Oejen", OB_ROLE_DOCTOR, "specialist", NULL);
    fx_add_pro(ix, "hosp_doc", "Overlaege Petersen", OB_ROLE_DOCTOR, "dept_cardio", NULL);
    fx_add_pro(ix, "hosp_nurse", "Sygeplejerske Larsen", OB_ROLE_NURSE, "dept_cardio", NULL);
    fx_add_pro(ix, "cardio_ward_doc", "Reservelaege Dam", OB_ROLE_DOCTOR, "dept_cardio_ward", NULL);
    fx_add_pro(ix, "ortho_doc", "Overlaege Bech", OB_ROLE_DOCTOR, "dept_ortho", NULL);
    fx_add_pro(ix, "q_doc", "Kvalitetslaege Krogh", OB_ROLE_DOCTOR, "dept_ortho", NULL);
    fx_add_pro(ix, "hosp2_doc", "Overlaege Skov", OB_ROLE_DOCTOR, "dept_med2", NULL);
    /* works in a GP clinic AND a hospital department (listed in that order) */
    fx_add_pro(ix, "dual_doc", "Dr. Toft", OB_ROLE_DOCTOR, "gp_c", "dept_ortho");
    fx_add_pro(ix, "ooh_doc", "Vagtlaege Lund", OB_ROLE_DOCTOR, "ooh", NULL);
    fx_add_pro(ix, "muni_nurse", "Hjemmesygeplejerske Moeller", OB_ROLE_NURSE, "home_nursing",
               NULL);
    fx_add_pro(ix, "acute_nurse", "Akutsygeplejerske Friis", OB_ROLE_NURSE, "acute_team", NULL);
    fx_add_pro(ix, "muni_qnurse", "Kvalitetssygeplejerske Juhl", OB_ROLE_NURSE, "home_nursing",
               NULL);
    fx_add_pro(ix, "muni_admin", "Kvalitetskonsulent Due", OB_ROLE_ADMIN_STAFF, "home_nursing",
               NULL);
    fx_add_pro(ix, "social_worker", "Sagsbehandler Kjaer", OB_ROLE_CASE_WORKER, "social", NULL);
    fx_add_pro(ix, "muni2_nurse", "Hjemmesygeplejerske Vang", OB_ROLE_NURSE, "home_nursing2", NULL);
    fx_add_pro(ix, "researcher", "Forsker Winther", OB_ROLE_RESEARCHER, "research_inst", NULL);
    fx_add_pro(ix, "res_doc", "Forskningslaege Thomsen", OB_ROLE_DOCTOR, "research_inst", NULL);
    fx_add_pro(ix, "planner", "Planlaegger Rask", OB_ROLE_PLANNER, "admin", NULL);

    /* ---- patients ---- */
    fx_add_patient(ix, "anna", "Anna Andersen", "gp_a");
    fx_add_patient(ix, "bent", "Bent Bruun", "gp_b");
    fx_add_patient(ix, "carla", "Carla Christensen", "gp_a");
    fx_add_patient(ix, "dorte", "Dorte Dahl", "gp_b");
    fx_add_patient(ix, "erik", "Erik Eriksen", "gp_a");
    fx_add_patient(ix, "freja", "Freja Frost", NULL);

    /* ---- treatment relationships (R-ACC-1) ---- */
    fx_rel(ix, "anna", NULL, "gp_a", OB_REL_LISTED, 20100101, FX_OPEN);
    fx_rel(ix, "anna", NULL, "dept_cardio", OB_REL_ADMISSION, 20240601, FX_OPEN);
    fx_rel(ix, "anna", NULL, "home_nursing", OB_REL_HOME_NURSING, 20240101, FX_OPEN);
    fx_rel(ix, "anna", NULL, "acute_team", OB_REL_MUNICIPAL_ACUTE, 20240101, FX_OPEN);
    fx_rel(ix, "anna", NULL, "ooh", OB_REL_TREATMENT, 20240614, 20240616);
    fx_rel(ix, "anna", "specialist_doc", "specialist", OB_REL_TREATMENT, 20240101, FX_OPEN);
    fx_rel(ix, "anna", "ortho_doc", "dept_ortho", OB_REL_TREATMENT, 20230101, 20231231);
    fx_rel(ix, "bent", NULL, "gp_b", OB_REL_LISTED, 20100101, FX_OPEN);
    fx_rel(ix, "carla", NULL, "gp_a", OB_REL_LISTED, 20100101, FX_OPEN);
    fx_rel(ix, "carla", NULL, "hospital", OB_REL_ADMISSION, 20240101, FX_OPEN);
    fx_rel(ix, "carla", NULL, "dept_med2", OB_REL_ADMISSION, 20240101, FX_OPEN);
    fx_rel(ix, "carla", NULL, "home_nursing", OB_REL_HOME_NURSING, 20200101, FX_OPEN);
    fx_rel(ix, "carla", "specialist_doc", "specialist", OB_REL_TREATMENT, 20240101, FX_OPEN);
    fx_rel(ix, "dorte", NULL, "gp_b", OB_REL_LISTED, 20100101, FX_OPEN);
    fx_rel(ix, "erik", NULL, "gp_a", OB_REL_LISTED, 20100101, FX_OPEN);
    fx_rel(ix, "erik", NULL, "home_nursing2", OB_REL_HOME_NURSING, 20240101, FX_OPEN);
    /* R-ACC-12: anna and carla contact the substitute clinic during the cover (from 07-08),
     * which ends their relationships with it on the cover's last day; erik does not */
    fx_rel(ix, "anna", NULL, "gp_c", OB_REL_TREATMENT, 20240708, 20240721);
    fx_rel(ix, "carla", NULL, "gp_c", OB_REL_TREATMENT, 20240708, 20240721);

    /* ---- R-ACC-13: hosp_doc shares anna's discharge summary with home nursing ---- */
    ob_disclosure d = {.from_professional = fx_pro(ix, "hosp_doc"),
                       .to_org = fx_org(ix, "home_nursing"),
                       .origin_org = fx_org(ix, "dept_cardio"),
                       .at = fx_d(20240601)};
    FX_OK(ob_index_add_disclosure(ix, fx_pat(ix, "anna"), &d, e));
    /* ---- R-ACC-19: gp_doc discloses erik's clinical notes to Vejle's home nursing ---- */
    ob_disclosure d2 = {.from_professional = fx_pro(ix, "gp_doc"),
                        .to_org = fx_org(ix, "home_nursing2"),
                        .origin_org = fx_org(ix, "gp_a"),
                        .at = fx_d(20240610),
                        .categories = CB(CLINICAL_NOTE)};
    FX_OK(ob_index_add_disclosure(ix, fx_pat(ix, "erik"), &d2, e));

    /* ---- R-ACC-9: power of attorney ---- */
    ob_attorney att = {.holder = fx_pat(ix, "dorte"),
                       .scope = CB(APPOINTMENT) | CB(MEDICATION),
                       .capacity = OB_CAP_ATTORNEY,
                       .from = fx_d(20240101),
                       .to = fx_d(20261231)};
    FX_OK(ob_index_add_attorney(ix, fx_pat(ix, "bent"), &att, e));
    ob_attorney old = {.holder = fx_pat(ix, "erik"),
                       .scope = OB_CAT_ALL,
                       .capacity = OB_CAP_ATTORNEY,
                       .from = fx_d(20200101),
                       .to = fx_d(20231231)};
    FX_OK(ob_index_add_attorney(ix, fx_pat(ix, "bent"), &old, e));

    /* ---- R-ACC-3, R-ACC-4: permissions from the sites' management ---- */
    fx_perm(ix, "gp_sec", "gp_a", OB_PERM_ASSIST, 20240101, 20251231, false);
    fx_perm(ix, "muni_admin", "home_nursing", OB_PERM_ASSIST, 20240101, 20251231, false);
    fx_perm(ix, "q_doc", "hospital", OB_PERM_QUALITY, 20240101, 20251231, false);
    fx_perm(ix, "muni_qnurse", "hospital", OB_PERM_QUALITY, 20240101, 20251231, false);
    fx_perm(ix, "hosp_nurse", "hospital", OB_PERM_QUALITY, 20240101, 20251231, true);
    /* seed 001 case 22: hospital2's management lets Vejle's home-nursing nurses do quality
     * work on its data, by criteria set in advance (no named person) */
    ob_criteria crit = {.site = fx_org(ix, "hospital2"),
                        .org = fx_org(ix, "home_nursing2"),
                        .role = OB_ROLE_NURSE,
                        .from = fx_d(20240101),
                        .to = fx_d(20251231)};
    FX_OK(ob_index_add_criteria(ix, &crit, e));

    /* ---- R-ACC-12: gp_c covers gp_a for three weeks of summer holiday ---- */
    ob_cover cv = {.substitute = fx_org(ix, "gp_c"),
                   .covered = fx_org(ix, "gp_a"),
                   .from = fx_d(20240701),
                   .to = fx_d(20240721)};
    FX_OK(ob_index_add_cover(ix, &cv, e));

    /* ---- R-ACC-6, R-ACC-10: research projects ---- */
    fx_project(ix, "proj_ok", "S-20230042", true, false, CB(LAB_RESULT) | CB(DIAGNOSIS), 20230101,
               20271231, "researcher", "res_doc", "gp_a");
    fx_project(ix, "proj_ident", "S-20230043", true, true, CB(LAB_RESULT), 20230101, 20271231,
               "res_doc", NULL, NULL);
    fx_project(ix, "proj_noappr", "", false, false, OB_CAT_ALL, 20230101, 20271231, "researcher",
               "res_doc", "gp_b");
    fx_project(ix, "proj_old", "S-20180007", true, false, OB_CAT_ALL, 20180101, 20221231, "res_doc",
               NULL, NULL);

    /* ---- carla: blocks of all three kinds (R-BLK-1) ---- */
    /* 1: (a) a named primary-sector professional, all data, in force from 2024 */
    fx_block(ix, "carla", 1,
             fx_mkblock(ix, OB_BLOCK_PROFESSIONAL, "specialist_doc", false, OB_CAT_ALL, 20240101,
                        20301231, FX_OPEN, FX_OPEN));
    /* 2: (b) cardiology WITHOUT sub-units, every category except vaccination */
    fx_block(ix, "carla", 2,
             fx_mkblock(ix, OB_BLOCK_SITE, "dept_cardio", false,
                        (ob_catmask)(OB_CAT_ALL & ~CB(VACCINATION)), 20240101, 20301231, FX_OPEN,
                        FX_OPEN));
    /* 3: (b) hospital2 WITH sub-units, only data from 2020 */
    fx_block(ix, "carla", 3,
             fx_mkblock(ix, OB_BLOCK_SITE, "hospital2", true, OB_CAT_ALL, 20190101, 20301231,
                        20200101, 20201231));
    /* 4: (c) a period, appointments and clinical notes only */
    fx_block(ix, "carla", 4,
             fx_mkblock(ix, OB_BLOCK_PERIOD, NULL, false, CB(APPOINTMENT) | CB(CLINICAL_NOTE),
                        20190101, 20301231, 20210301, 20210630));
    /* 5: (b) home nursing, a block whose validity ended in 2022 */
    fx_block(ix, "carla", 5,
             fx_mkblock(ix, OB_BLOCK_SITE, "home_nursing", false, OB_CAT_ALL, 20200101, 20221231,
                        FX_OPEN, FX_OPEN));

    /* ---- dorte: consents (R-ACC-5, R-ACC-6, R-CON) ---- */
    fx_consent(ix, "dorte", 11, OB_CONSENT_PREVENTION, OB_RCPT_ORG, fx_org(ix, "home_nursing"),
               CB(DIAGNOSIS) | CB(MEASUREMENT), 20240101, 20261231, true, false);
    fx_consent(ix, "dorte", 12, OB_CONSENT_PREVENTION, OB_RCPT_ORG, fx_org(ix, "acute_team"),
               CB(DIAGNOSIS) | CB(MEASUREMENT), 20240101, 20261231, false, false);
    fx_consent(ix, "dorte", 13, OB_CONSENT_SHARING, OB_RCPT_PERSON, fx_pro(ix, "hosp_doc"),
               CB(CLINICAL_NOTE) | CB(DIAGNOSIS), 20240101, 20251231, true, false);
    fx_consent(ix, "dorte", 14, OB_CONSENT_RESEARCH, OB_RCPT_PROJECT, fx_proj(ix, "proj_noappr"),
               CB(LAB_RESULT), 20240101, 20271231, true, false);
    fx_consent(ix, "dorte", 15, OB_CONSENT_SHARING, OB_RCPT_ORG, fx_org(ix, "social"),
               CB(DIAGNOSIS), 20240101, 20251231, true, false);
    fx_consent(ix, "dorte", 16, OB_CONSENT_PREVENTION, OB_RCPT_ORG, fx_org(ix, "dept_cardio"),
               CB(DIAGNOSIS) | CB(LAB_RESULT), 20240101, 20261231, true, false);
    fx_consent(ix, "dorte", 17, OB_CONSENT_SHARING, OB_RCPT_ORG_KIND, OB_ORG_SPECIALIST,
               CB(MEDICATION), 20220101, 20231231, true, false);
    /* R-ACC-17: erik lets the hospital's quality doctor use his older data */
    fx_consent(ix, "erik", 18, OB_CONSENT_QUALITY_EXTENDED, OB_RCPT_PERSON, fx_pro(ix, "q_doc"),
               CB(DIAGNOSIS), 20240101, 20261231, true, false);

    /* ---- R-ACC-18: gustav, born 2010-03-01, in anna's custody ---- */
    fx_add_patient(ix, "gustav", "Gustav Andersen", "gp_a");
    ix->patients[fx_pat(ix, "gustav")].birth = fx_d(20100301);
    ob_attorney custody = {.holder = fx_pat(ix, "anna"),
                           .scope = OB_CAT_ALL,
                           .capacity = OB_CAP_PARENT,
                           .from = fx_d(20100301),
                           .to = fx_d(20280301)};
    FX_OK(ob_index_add_attorney(ix, fx_pat(ix, "gustav"), &custody, e));
    return ix;
}

/* ---- decision rows ---- */

#define PRO    OB_ACTOR_PROFESSIONAL
#define CIT    OB_ACTOR_CITIZEN
#define SRCSYS OB_ACTOR_SOURCE_SYSTEM
#define CAP(c) ((uint8_t)((c) + 1)) /* expected capacity; 0 = not checked */

struct fx_row {
    const char *why; /* cites the requirement id(s) */
    uint8_t ak;      /* actor kind */
    const char *actor, *org, *obo, *pat;
    uint8_t cat;
    const char *origin;
    int32_t item; /* yyyymmdd; 0 = FX_ITEM */
    uint8_t src, purpose, ovr;
    bool reason;
    const char *project, *recipient;
    int32_t now; /* yyyymmdd; 0 = FX_NOW */
    bool agg;    /* decision support's aggregated answer (R-ACC-11) */
    /* expected */
    bool permit;
    const char *rule;
    uint32_t obl;    /* obligations that must be set */
    uint32_t no_obl; /* obligations that must not be set */
    uint8_t cap;     /* CAP(ob_capacity) or 0 */
};

static inline void fx_request(const ob_index *ix, const struct fx_row *r, ob_request *rq)
{
    memset(rq, 0, sizeof *rq);
    rq->actor_kind = r->ak;
    rq->actor = r->ak == CIT ? fx_pat(ix, r->actor) : r->ak == PRO ? fx_pro(ix, r->actor) : OB_NONE;
    rq->acting_org = fx_org(ix, r->org);
    rq->on_behalf_of = fx_pro(ix, r->obo);
    rq->patient = fx_pat(ix, r->pat);
    rq->category = r->cat;
    rq->origin_org = fx_org(ix, r->origin);
    rq->item_time = fx_d(r->item ? r->item : FX_ITEM);
    rq->source = r->src;
    rq->purpose = r->purpose;
    rq->now = fx_d(r->now ? r->now : FX_NOW);
    rq->override = r->ovr;
    rq->has_override_reason = r->reason;
    rq->project = fx_proj(ix, r->project);
    rq->recipient_org = fx_org(ix, r->recipient);
    rq->aggregate = r->agg;
}

/* true if s holds a run of 10 digits, or DDMMYY-SSSS: something CPR-like (R-CPR-2) */
static inline bool fx_cpr_like(const char *s)
{
    int run = 0;
    for (const char *p = s; p && *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (++run >= 10)
                return true;
        } else if (*p == '-' && run == 6) {
            continue; /* DDMMYY-SSSS: the hyphen does not break the run */
        } else {
            run = 0;
        }
    }
    return false;
}

/* The reason is shown to the reader as is: it must not name any site or person. */
static inline const char *fx_leaks_name(const ob_index *ix, const char *s)
{
    for (size_t i = 0; i < ix->norgs; i++)
        if (strstr(s, ix->orgs[i].name))
            return ix->orgs[i].name;
    for (size_t i = 0; i < ix->npros; i++)
        if (strstr(s, ix->pros[i].name))
            return ix->pros[i].name;
    for (size_t i = 0; i < ix->npatients; i++)
        if (strstr(s, ix->patients[i].name))
            return ix->patients[i].name;
    return NULL;
}

/* Runs every row, prints each mismatch with the row's citation, fails once at the end
 * so that one run lists all discrepancies. Returns the number of failing rows. */
static inline int fx_check_rows(const ob_index *ix, const struct fx_row *rows, size_t n)
{
    int bad = 0;
    char ob[160], want[160];
    for (size_t i = 0; i < n; i++) {
        const struct fx_row *r = &rows[i];
        ob_request rq;
        ob_decision d;
        fx_request(ix, r, &rq);
        ob_policy_decide(ix, &rq, &d);
        const char *rule = ob_rule_name((ob_rule)d.rule);
        char msg[512] = "";
        size_t m = 0;
#define FX_ADD(...)                                                                                \
    do {                                                                                           \
        int w_ = snprintf(msg + m, sizeof msg - m, __VA_ARGS__);                                   \
        if (w_ > 0 && (size_t)w_ < sizeof msg - m)                                                 \
            m += (size_t)w_;                                                                       \
    } while (0)
        if (d.permit != r->permit)
            FX_ADD(" expected %s got %s;", r->permit ? "PERMIT" : "DENY",
                   d.permit ? "PERMIT" : "DENY");
        if (strcmp(rule, r->rule) != 0)
            FX_ADD(" expected rule %s got %s;", r->rule, rule);
        if ((d.obligations & r->obl) != r->obl) {
            ob_obligations_format(r->obl, want, sizeof want);
            ob_obligations_format(d.obligations, ob, sizeof ob);
            FX_ADD(" expected obligations {%s} got {%s};", want, ob);
        }
        if (d.obligations & r->no_obl) {
            ob_obligations_format(d.obligations & r->no_obl, ob, sizeof ob);
            FX_ADD(" unexpected obligations {%s};", ob);
        }
        if (r->cap && d.capacity != r->cap - 1)
            FX_ADD(" expected capacity %s got %s;", ob_capacity_name((ob_capacity)(r->cap - 1)),
                   ob_capacity_name((ob_capacity)d.capacity));
        if (!d.legal_basis || !*d.legal_basis)
            FX_ADD(" empty legal basis;");
        else if (d.permit && strstr(d.legal_basis, "no legal basis"))
            FX_ADD(" permit with legal basis '%s';", d.legal_basis);
        if (!d.reason || !*d.reason) {
            FX_ADD(" empty reason;");
        } else {
            const char *leak = fx_leaks_name(ix, d.reason);
            if (leak)
                FX_ADD(" reason names '%s';", leak);
            if (fx_cpr_like(d.reason) || fx_cpr_like(d.legal_basis))
                FX_ADD(" CPR-like number in reason or legal basis;");
            /* R-BLK-4: told only that something is withheld by a block, never what */
            if (!d.permit && d.rule == OB_RULE_BLK_4 && r->ovr == OB_OVERRIDE_NONE &&
                !strstr(d.reason, "withheld"))
                FX_ADD(" block deny does not say 'withheld': '%s';", d.reason);
        }
#undef FX_ADD
        if (m) {
            print_error("row %zu (%s):%s [reason: %s]\n", i, r->why, msg,
                        d.reason ? d.reason : "(null)");
            bad++;
        }
    }
    return bad;
}

#endif
