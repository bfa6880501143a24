/* names.c - the text names of the model's enums, as used in the import format, the
 * CLI and FHIR codes. One table per enum; parse is the inverse of name. */
#include "model/model.h"

#include <string.h>

static const char *const cat_names[] = {"appointment",       "diagnosis",   "medication",
                                        "lab_result",        "measurement", "clinical_note",
                                        "discharge_summary", "vaccination", "treatment_will"};
static const char *const org_names[] = {
    "region",         "hospital",         "department",      "municipality",
    "municipal_unit", "gp_clinic",        "specialist",      "private_hospital",
    "dentist",        "quality_db",       "research",        "admin",
    "out_of_hours",   "addiction_centre", "social_services", "jobcentre"};
static const char *const sector_names[] = {"primary", "secondary", "municipal", "other", "social"};
static const char *const role_names[] = {
    "doctor",           "nurse",      "midwife",           "physiotherapist", "dentist",
    "other_authorised", "secretary",  "medical_assistant", "admin_staff",     "researcher",
    "planner",          "case_worker"};
static const char *const source_names[] = {"clinical", "patient_reported", "quality_db",
                                           "research"};
static const char *const rel_names[] = {"treatment",      "admission",      "home_nursing",
                                        "listed",         "referral",       "out_of_hours",
                                        "rehabilitation", "municipal_acute"};
static const char *const cap_names[] = {"professional", "assistant", "citizen",       "parent",
                                        "attorney",     "guardian",  "source_system", "operator"};
static const char *const perm_names[] = {"assist", "quality", "manage"};
static const char *const consent_names[] = {"prevention", "sharing", "research", "quality_extended",
                                            "override"};
static const char *const block_names[] = {"professional", "site", "period", "notes"};

static int find(const char *const *names, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

#define NAMES(fn_name, fn_parse, type, table)                                                      \
    const char *fn_name(type v)                                                                    \
    {                                                                                              \
        int n = (int)(sizeof table / sizeof table[0]);                                             \
        return (int)v >= 0 && (int)v < n ? table[v] : "unknown";                                   \
    }                                                                                              \
    int fn_parse(const char *s)                                                                    \
    {                                                                                              \
        return find(table, (int)(sizeof table / sizeof table[0]), s);                              \
    }

NAMES(ob_category_name, ob_category_parse, ob_category, cat_names)
NAMES(ob_org_kind_name, ob_org_kind_parse, ob_org_kind, org_names)
NAMES(ob_sector_name, ob_sector_parse, ob_sector, sector_names)
NAMES(ob_role_name, ob_role_parse, ob_role, role_names)
NAMES(ob_source_name, ob_source_parse, ob_source_kind, source_names)
NAMES(ob_rel_kind_name, ob_rel_kind_parse, ob_rel_kind, rel_names)
NAMES(ob_capacity_name, ob_capacity_parse, ob_capacity, cap_names)
NAMES(ob_perm_kind_name, ob_perm_kind_parse, ob_perm_kind, perm_names)
NAMES(ob_consent_kind_name, ob_consent_kind_parse, ob_consent_kind, consent_names)
NAMES(ob_block_kind_name, ob_block_kind_parse, ob_block_kind, block_names)

bool ob_role_authorised(ob_role r)
{
    return r <= OB_ROLE_OTHER_AUTHORISED;
}
