/* model.h - the domain of overblik (REQUIREMENTS §1) as plain structs.
 *
 * Every object has a dense internal id (uint32, its index in the owning array of
 * struct ob_index) and an external id string from the import format (docs/formats.md).
 * Internal ids are what logs, messages and the decision engine use; a patient's CPR
 * number is never part of these structs in clear text (R-CPR-2): the store keeps it
 * encrypted and the index holds only a keyed hash for lookup. */
#ifndef OB_MODEL_MODEL_H
#define OB_MODEL_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/time.h"

#define OB_NONE UINT32_MAX /* "no object" for any internal id */

/* Data categories (REQUIREMENTS §1). Bit i of an ob_catmask is category i. */
typedef enum ob_category {
    OB_CAT_APPOINTMENT = 0,
    OB_CAT_DIAGNOSIS,
    OB_CAT_MEDICATION,
    OB_CAT_LAB_RESULT,
    OB_CAT_MEASUREMENT,
    OB_CAT_CLINICAL_NOTE,
    OB_CAT_DISCHARGE_SUMMARY,
    OB_CAT_VACCINATION,
    OB_CAT_TREATMENT_WILL,
    OB_CAT_COUNT
} ob_category;
typedef uint16_t ob_catmask;
#define OB_CAT_ALL    ((ob_catmask)((1u << OB_CAT_COUNT) - 1))
#define OB_CAT_BIT(c) ((ob_catmask)(1u << (c)))

typedef enum ob_org_kind {
    OB_ORG_REGION = 0,
    OB_ORG_HOSPITAL,
    OB_ORG_DEPARTMENT,
    OB_ORG_MUNICIPALITY,
    OB_ORG_MUNICIPAL_UNIT,
    OB_ORG_GP_CLINIC,
    OB_ORG_SPECIALIST,
    OB_ORG_PRIVATE_HOSPITAL,
    OB_ORG_DENTIST,
    OB_ORG_QUALITY_DB, /* a clinical quality database (R-ACC-8) */
    OB_ORG_RESEARCH,   /* a research institution */
    OB_ORG_ADMIN,      /* planning / administration (R-ACC-7) */
    /* issue 21: the actors the seeds name that the model lacked */
    OB_ORG_OUT_OF_HOURS,     /* 1813 / vagtlæge */
    OB_ORG_ADDICTION_CENTRE, /* municipal addiction treatment (a care provider) */
    OB_ORG_SOCIAL_SERVICES,  /* socialforvaltning: no health data without consent */
    OB_ORG_JOBCENTRE,        /* no health data without consent */
    OB_ORG_KIND_COUNT
} ob_org_kind;

typedef enum ob_sector {
    OB_SECTOR_PRIMARY = 0, /* general practice, specialists, dentists */
    OB_SECTOR_SECONDARY,   /* hospitals */
    OB_SECTOR_MUNICIPAL,   /* home nursing, acute teams, rehabilitation */
    OB_SECTOR_OTHER,
    OB_SECTOR_SOCIAL, /* social services and jobcentres (issue 21): not health care */
    OB_SECTOR_COUNT
} ob_sector;

typedef enum ob_role {
    OB_ROLE_DOCTOR = 0,
    OB_ROLE_NURSE,
    OB_ROLE_MIDWIFE,
    OB_ROLE_PHYSIOTHERAPIST,
    OB_ROLE_DENTIST,
    OB_ROLE_OTHER_AUTHORISED,
    OB_ROLE_SECRETARY, /* non-authorised from here on */
    OB_ROLE_MEDICAL_ASSISTANT,
    OB_ROLE_ADMIN_STAFF,
    OB_ROLE_RESEARCHER,
    OB_ROLE_PLANNER,
    OB_ROLE_CASE_WORKER, /* sagsbehandler in social services or a jobcentre (issue 21) */
    OB_ROLE_COUNT
} ob_role;

/* Where a data item comes from; matters for R-ACC-6 and R-ACC-8 and R-PRD-1. */
typedef enum ob_source_kind {
    OB_SRC_CLINICAL = 0,
    OB_SRC_PATIENT_REPORTED, /* R-PRD-1 */
    OB_SRC_QUALITY_DB,       /* R-ACC-8: never for treatment */
    OB_SRC_RESEARCH,         /* R-ACC-6: data collected for research, not for treatment */
    OB_SRC_COUNT
} ob_source_kind;

typedef struct ob_org {
    uint32_t parent; /* OB_NONE for a root (region, municipality, independent clinic) */
    uint8_t kind;    /* ob_org_kind */
    uint8_t sector;  /* ob_sector */
    uint8_t depth;   /* 0 for a root; maintained by the index */
    char *ext_id, *name, *address;
    char sor[24];        /* SOR code */
    char provider_no[8]; /* ydernummer, six digits, GP clinics and specialists */
} ob_org;

typedef struct ob_professional {
    char *ext_id, *name;
    char authorisation_id[16]; /* empty for non-authorised staff */
    uint8_t role;              /* ob_role */
    bool authorised;
    uint8_t nsites;
    uint32_t sites[8]; /* organisations they work at */
} ob_professional;

/* Treatment relationship (R-ACC-1): personal (professional set) or through a site. */
typedef enum ob_rel_kind {
    OB_REL_TREATMENT = 0, /* ordinary course of treatment */
    OB_REL_ADMISSION,     /* hospital admission / outpatient course */
    OB_REL_HOME_NURSING,  /* municipal */
    OB_REL_LISTED,        /* patient listed with a GP clinic */
    /* issue 21 (R-ACC-1): the events relationships arise from */
    OB_REL_REFERRAL,        /* the receiving clinic of a referral */
    OB_REL_OUT_OF_HOURS,    /* an out-of-hours contact (1813, vagtlæge) */
    OB_REL_REHABILITATION,  /* a municipal rehabilitation course after visitation */
    OB_REL_MUNICIPAL_ACUTE, /* a municipal acute team's visit (seed 001 case 4) */
    OB_REL_KIND_COUNT
} ob_rel_kind;

typedef struct ob_relationship {
    uint32_t professional; /* OB_NONE: through the organisation */
    uint32_t org;
    ob_time from, to; /* to == OB_TIME_MAX while open */
    uint8_t kind;     /* ob_rel_kind */
    /* issue 21: the event a source reported that started it (ob_event_key of
     * "<client>|<Type>|<system>|<value>"), 0 for one loaded by an operator */
    uint64_t event;
} ob_relationship;

/* Power of attorney (fuldmagt) or custody/guardianship (R-ACC-9). */
typedef enum ob_capacity {
    OB_CAP_PROFESSIONAL = 0,
    OB_CAP_ASSISTANT, /* technical assistance on behalf of a named professional (R-ACC-3) */
    OB_CAP_CITIZEN,
    OB_CAP_PARENT, /* parent with custody */
    OB_CAP_ATTORNEY,
    OB_CAP_GUARDIAN,
    OB_CAP_SOURCE_SYSTEM,
    OB_CAP_OPERATOR, /* the operator at the console, entering a change for someone */
    OB_CAP_COUNT
} ob_capacity;

typedef struct ob_attorney {
    uint32_t holder; /* the citizen (a patient id) who holds it */
    ob_catmask scope;
    uint8_t capacity; /* OB_CAP_ATTORNEY, OB_CAP_PARENT or OB_CAP_GUARDIAN */
    ob_time from, to;
} ob_attorney;

/* Permissions granted by a site's management (R-ACC-3, R-ACC-4). */
typedef enum ob_perm_kind {
    OB_PERM_ASSIST = 0, /* technical assistance, SUL §42d stk. 3 */
    OB_PERM_QUALITY,    /* quality work, SUL §42d stk. 2 nr. 2 */
    OB_PERM_MANAGE,     /* the site's management itself: ends the site's permissions */
    OB_PERM_KIND_COUNT
} ob_perm_kind;

typedef struct ob_permission {
    uint32_t professional;
    uint32_t site; /* the granting site; covers its sub-units */
    uint8_t kind;
    ob_time from, to;
    bool revoked;
} ob_permission;

/* Holiday cover (R-ACC-12): professionals of `substitute` treat patients listed at
 * `covered` during the period; the relationship ends by itself. */
typedef struct ob_cover {
    uint32_t substitute; /* organisation (a GP clinic) */
    uint32_t covered;    /* the covered GP clinic */
    ob_time from, to;
} ob_cover;

/* Seed 001 case 22 (R-ACC-4, issue 21): a site's management permits quality work on its
 * data "efter på forhånd fastlagte kriterier": to every authorised professional who works
 * within `org` (OB_NONE: anywhere) with `role` (OB_ROLE_COUNT: any), for the period. */
typedef struct ob_criteria {
    uint32_t site;
    uint32_t org;
    uint8_t role;
    ob_time from, to;
} ob_criteria;

typedef struct ob_project {
    char *ext_id, *title;
    char approval_ref[48]; /* ethics committee / regional council reference; empty = none */
    bool controller_permission;
    bool identifiable; /* the approval covers identifiable data */
    ob_catmask categories;
    ob_time from, to;
    uint32_t nmembers;
    uint32_t *members; /* professionals, owned by the project */
    /* R-ACC-6, seed 000: the GP clinics that, as data controllers of their records, permitted
     * the project to use them; their data needs this whatever else the project has. Points
     * into the members' allocation (one owner). */
    uint32_t ngps;
    uint32_t *gps;
} ob_project;

typedef enum ob_consent_kind {
    OB_CONSENT_PREVENTION = 0, /* SUL §42a stk. 3 */
    OB_CONSENT_SHARING,        /* to a recipient without a legal basis */
    OB_CONSENT_RESEARCH,
    OB_CONSENT_QUALITY_EXTENDED, /* quality work beyond the ordinary time limits */
    OB_CONSENT_OVERRIDE,         /* override of a block, given in the situation */
    OB_CONSENT_KIND_COUNT
} ob_consent_kind;

typedef enum ob_recipient_kind {
    OB_RCPT_PERSON = 0,
    OB_RCPT_ORG,      /* a site and its sub-units */
    OB_RCPT_ORG_KIND, /* every site of a kind, e.g. all municipal units */
    OB_RCPT_PROJECT,  /* a research project */
} ob_recipient_kind;

typedef struct ob_consent {
    uint8_t kind;           /* ob_consent_kind */
    uint8_t recipient_kind; /* ob_recipient_kind */
    uint8_t form;           /* 0 written, 1 oral */
    bool identifiable;      /* research: consent covers identifiable data */
    bool active;            /* false once revoked (R-CON-2) */
    uint32_t recipient;     /* professional, org, project id, or ob_org_kind */
    ob_catmask categories;
    ob_time from, to;
    ob_time created, revoked_at;
    uint32_t taken_by; /* oral consent: professional who took it; else OB_NONE */
    uint64_t id;       /* store id */
    bool by_operator;  /* entered at the console by an operator (named in the log) */
} ob_consent;

typedef enum ob_block_kind {
    OB_BLOCK_PROFESSIONAL = 0, /* R-BLK-1 (a) */
    OB_BLOCK_SITE,             /* R-BLK-1 (b) */
    OB_BLOCK_PERIOD,           /* R-BLK-1 (c) */
    OB_BLOCK_NOTES, /* R-SRC-4: full clinical notes not shared with other sectors (seed 002) */
    OB_BLOCK_KIND_COUNT
} ob_block_kind;

typedef struct ob_block {
    uint8_t kind;
    bool include_subunits; /* site blocks */
    bool active;           /* false once lifted */
    bool by_gp;            /* created by the patient's GP on their behalf (R-BLK-3) */
    uint32_t target;       /* professional or org; OB_NONE for period blocks */
    ob_catmask categories;
    ob_time valid_from, valid_to; /* when the block is in force */
    ob_time data_from, data_to;   /* which data it covers (by the data's time) */
    uint32_t created_by;          /* professional id when by_gp, else OB_NONE */
    uint64_t id;                  /* store id */
} ob_block;

/* An explicit disclosure of a discharge summary to municipal nursing (R-ACC-13). */
typedef struct ob_disclosure {
    uint32_t from_professional;
    uint32_t to_org;
    uint32_t origin_org;
    ob_time at;
    /* R-ACC-19: what was disclosed; 0 (a record without categories) is a discharge
     * summary, as R-ACC-13's disclosures were before */
    ob_catmask categories;
} ob_disclosure;

/* Per patient: everything the decision engine needs, in small owned vectors. */
typedef struct ob_patient {
    char *ext_id, *name;
    uint8_t cpr_hash[16]; /* keyed hash of the CPR for lookup; never the CPR itself */
    uint32_t gp_clinic;   /* listed GP clinic or OB_NONE */
    ob_time birth;
    uint16_t nrels, nblocks, nconsents, nattorneys, ndisclosures;
    uint16_t caprels, capblocks, capconsents, capattorneys, capdisclosures;
    ob_relationship *rels;
    ob_block *blocks;
    ob_consent *consents;
    ob_attorney *attorneys;
    ob_disclosure *disclosures;
    /* History (issue 24): lifted blocks and revoked consents leave the arrays above, which
     * the engine walks on every decision and which hold at most OB_MAX_ACTIVE_GRANTS active
     * ones, for these, which only the Consent list and read and the CLI lists read. */
    uint32_t nold_blocks, nold_consents, capold_blocks, capold_consents;
    ob_block *old_blocks;
    ob_consent *old_consents;
} ob_patient;

/* Most active blocks, and most active consents, one patient holds (issue 24): a sane
 * bound far above any real use, refused with a 4xx that names it, never a 503. */
#define OB_MAX_ACTIVE_GRANTS 1000

/* A GP quality cluster (klynge) or a municipality's planning group (R-STAT-1..7): which
 * clinics' figures are compared, who may order a release, and the stored agreement
 * (R-STAT-3 labels, threshold k, retention R-STAT-7, differential-privacy budget). A later
 * cluster record with the same id replaces the agreement (e.g. a member asks for anonymity). */
typedef enum ob_cluster_kind {
    OB_CLUSTER_QUALITY = 0, /* a GP quality cluster, k >= 3 (default 5) */
    OB_CLUSTER_PLANNING,    /* municipal planning, k >= 10 (R-STAT-6) */
    OB_CLUSTER_KIND_COUNT
} ob_cluster_kind;

typedef enum ob_cluster_labels {
    OB_LABELS_PSEUDONYM = 0, /* keyed-MAC pseudonyms, stable within the cluster */
    OB_LABELS_ANONYMOUS,     /* unlinkable per release */
    OB_LABELS_OPEN           /* provider numbers as they are (agreed by the cluster) */
} ob_cluster_labels;

/* The categories a region may supply to a cluster (seed 003 q5). */
enum { OB_SUPPLY_DIAGNOSIS = 1, OB_SUPPLY_MEASUREMENT = 2, OB_SUPPLY_APPOINTMENT = 4 };
typedef struct ob_cluster {
    char *ext_id, *name;
    uint8_t kind;              /* ob_cluster_kind */
    uint8_t labels;            /* ob_cluster_labels as agreed */
    bool anonymise_requested;  /* a member asked for full anonymity: overrides labels */
    uint8_t k;                 /* disclosure threshold: >= 5 (quality), >= 10 (planning) */
    bool zeros_suppressed;     /* agreement "zeros": "suppressed": a true 0 is hidden like 1..k-1 */
    uint32_t municipality;     /* planning: the municipality org; else OB_NONE */
    uint16_t retention_months; /* 0: release data sets are kept until the meeting */
    ob_time meeting;           /* retention "after_meeting": the meeting date */
    uint64_t epsilon_milli;    /* differential-privacy budget in 1/1000; 0 = not agreed */
    /* issue 21, seed 003 q5: what a region, as data controller, agreed to supply beyond the
     * member clinics' own records (OB_SUPPLY_* bits of items originating in its hospitals) */
    uint32_t supply_region; /* OB_NONE: nothing supplied */
    uint8_t supply;         /* OB_SUPPLY_* */
    uint32_t nmembers, ncoordinators;
    uint32_t *members;      /* GP clinics (org ids), owned */
    uint32_t *coordinators; /* professionals who may order releases, owned */
} ob_cluster;
/* A source system (R-APT-1, R-APT-5): a clinical system that pushes appointments for
 * one site, known by its OAuth client id; appointments held before its go-live date
 * are never shown. Strings owned by the index. */
typedef struct ob_source {
    char *client_id, *name;
    uint32_t site; /* the organisation it speaks for */
    ob_time go_live;
    uint8_t ops;         /* what its registration allows: OB_SRC_OP_* bits (issue 24) */
    int64_t max_silence; /* seconds without an update after which it counts as interrupted
                          * (R-SRC-2); 0: never on its own */
} ob_source;
enum {
    OB_SRC_OP_APPOINTMENTS = 1u << 0,  /* create, update and cancel its appointments */
    OB_SRC_OP_READ = 1u << 1,          /* read back its own site's data (R-ACC-2) */
    OB_SRC_OP_RELATIONSHIPS = 1u << 2, /* end relationships at its site (R-ACC-1) */
    OB_SRC_OP_ITEMS = 1u << 3,         /* write and withdraw its items: medication, ... (R-SRC-1) */
    OB_SRC_OP_AUDIT = 1u << 4,         /* report accesses in its own system (R-SRC-3) */
    OB_SRC_OP_ALL = 31
};

const char *ob_category_name(ob_category c);
int ob_category_parse(const char *s); /* -1 if unknown */
const char *ob_org_kind_name(ob_org_kind k);
int ob_org_kind_parse(const char *s);
const char *ob_sector_name(ob_sector s);
int ob_sector_parse(const char *s);
const char *ob_role_name(ob_role r);
int ob_role_parse(const char *s);
bool ob_role_authorised(ob_role r);
const char *ob_source_name(ob_source_kind s);
int ob_source_parse(const char *s);
const char *ob_rel_kind_name(ob_rel_kind k);
int ob_rel_kind_parse(const char *s);
const char *ob_capacity_name(ob_capacity c);
int ob_capacity_parse(const char *s);
const char *ob_perm_kind_name(ob_perm_kind k);
int ob_perm_kind_parse(const char *s);
const char *ob_consent_kind_name(ob_consent_kind k);
int ob_consent_kind_parse(const char *s);
const char *ob_block_kind_name(ob_block_kind k);
int ob_block_kind_parse(const char *s);

#endif
