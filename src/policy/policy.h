/* policy.h - the decision engine (REQUIREMENTS §3-5): a pure function over the
 * in-memory index. No I/O, no allocation, no locking on the decision path; the caller
 * holds whatever lock protects the index. Every read through any interface asks
 * ob_policy_decide first and logs the result (R-LOG-1) before answering.
 *
 * The strings in a decision (legal basis, reason) are static: they never contain ids,
 * names or CPR numbers, so a deny can be shown as is without leaking what exists. */
#ifndef OB_POLICY_POLICY_H
#define OB_POLICY_POLICY_H

#include "core/err.h"
#include "model/index.h"

/* Purpose of use. Codes are HL7 v3 PurposeOfUse where one exists (TREAT, ETREAT,
 * HQUALIMP, HRESCH, HOPERAT, PATRQT, PWATRNY); the rest are overblik codes. The Danish
 * OIO-IDWS values TREATMENT, EMERGENCY and REQUEST are accepted as aliases. */
typedef enum ob_purpose {
    OB_PURPOSE_TREAT = 0,        /* current treatment (R-ACC-1) */
    OB_PURPOSE_ETREAT,           /* emergency, vital interest (R-BLK-4 override) */
    OB_PURPOSE_QUALITY,          /* quality work (R-ACC-4) */
    OB_PURPOSE_PREVENTION,       /* prevention follow-up, consent only (R-ACC-5) */
    OB_PURPOSE_SHARING,          /* a recipient without legal basis, consent only (R-ACC-5) */
    OB_PURPOSE_RESEARCH,         /* R-ACC-6 */
    OB_PURPOSE_PLANNING,         /* planning, administration, control (R-ACC-7) */
    OB_PURPOSE_DECISION_SUPPORT, /* "patients like me" (R-ACC-11) */
    OB_PURPOSE_PATIENT,          /* the patient's own access (R-ACC-9) */
    OB_PURPOSE_ATTORNEY,         /* a relative with power of attorney (R-ACC-9) */
    OB_PURPOSE_RESEARCH_NOTICE,  /* finding sent to the patient's GP (R-ACC-10) */
    OB_PURPOSE_DISCLOSE,         /* explicit disclosure of a discharge summary (R-ACC-13) */
    OB_PURPOSE_COUNT
} ob_purpose;
#define OB_PURPOSE_BIT(p) (1u << (p))
#define OB_PURPOSES_ALL   ((1u << OB_PURPOSE_COUNT) - 1)

typedef enum ob_actor_kind {
    OB_ACTOR_PROFESSIONAL = 0,
    OB_ACTOR_CITIZEN,       /* a patient acting for themself or under power of attorney */
    OB_ACTOR_SOURCE_SYSTEM, /* a clinical system speaking for one site */
    OB_ACTOR_KIND_COUNT
} ob_actor_kind;

typedef enum ob_override {
    OB_OVERRIDE_NONE = 0,
    OB_OVERRIDE_CONSENT,        /* the patient consents in the situation */
    OB_OVERRIDE_VITAL_INTEREST, /* the patient cannot be asked; purpose must be ETREAT */
    OB_OVERRIDE_COUNT
} ob_override;

typedef struct ob_request {
    uint8_t actor_kind;    /* ob_actor_kind */
    uint32_t actor;        /* professional id, or the citizen's patient id */
    uint32_t acting_org;   /* the site a professional or source system acts from */
    uint32_t on_behalf_of; /* assistants: the authorised professional; else OB_NONE */
    uint32_t patient;
    uint8_t category;    /* ob_category */
    uint32_t origin_org; /* where the data originated */
    ob_time item_time;   /* when the data was recorded, or the appointment is held */
    uint8_t source;      /* ob_source_kind */
    uint8_t purpose;     /* ob_purpose */
    ob_time now;
    uint8_t override; /* ob_override */
    bool has_override_reason;
    uint32_t project;       /* research: the project; else OB_NONE */
    uint32_t recipient_org; /* disclosures (R-ACC-13): the receiving site */
    bool aggregate;         /* decision support (R-ACC-11): the answer is aggregated, pseudonymised
                             * figures about patients like `patient`, never a record of anyone */
} ob_request;

typedef enum ob_rule {
    OB_RULE_ACC_1 = 0,
    OB_RULE_ACC_2,
    OB_RULE_ACC_3,
    OB_RULE_ACC_4,
    OB_RULE_ACC_5,
    OB_RULE_ACC_6,
    OB_RULE_ACC_7,
    OB_RULE_ACC_8,
    OB_RULE_ACC_9,
    OB_RULE_ACC_10,
    OB_RULE_ACC_11,
    OB_RULE_ACC_12,
    OB_RULE_ACC_13,
    OB_RULE_ACC_14,
    OB_RULE_BLK_1,
    OB_RULE_BLK_4,
    OB_RULE_ACC_15, /* a purpose the caller's token does not allow */
    OB_RULE_ACC_16, /* an obligation the answering layer does not carry out */
    OB_RULE_ACC_17, /* quality work: at most five years old; a GP clinic's own records */
    OB_RULE_ACC_18, /* custody ends when the child turns 15 */
    OB_RULE_ACC_19, /* disclosure by the discloser, beyond the discharge summary */
    OB_RULE_COUNT
} ob_rule;

/* Obligations the caller must honour with the decision. */
enum {
    OB_OBL_BLOCK_HINT = 1u << 0,     /* tell the reader only that something is withheld */
    OB_OBL_PSEUDONYMISE = 1u << 1,   /* output without identity */
    OB_OBL_NOTIFY_PATIENT = 1u << 2, /* show prominently to the patient (override) */
    OB_OBL_LOG_OVERRIDE = 1u << 3,   /* log with the override flag and justification */
    OB_OBL_LOG_ASSISTANT = 1u << 4,  /* log both the assistant and the professional */
    OB_OBL_OMIT_SILENTLY = 1u << 5,  /* leave out without revealing that it exists */
    OB_OBL_LOG_DISCLOSURE = 1u << 6, /* an explicit disclosure: log as such */
    OB_OBL_AGGREGATE = 1u << 7,      /* answer only with aggregated figures (R-ACC-11) */
};
/* Every obligation the engine can attach. A layer that shows data names the ones it
 * carries out (ob_policy_enforce); an obligation added here is refused everywhere until
 * some layer says it handles it (R-ACC-16). */
#define OB_OBL_ALL ((1u << 8) - 1)
/* What every person-level answer (a FHIR read or search) carries out: the block hint,
 * the override and assistant fields of its log entry (which the patient sees), leaving
 * out what is denied, and disclosures logged as such. Not pseudonymise, not aggregate. */
#define OB_OBL_PERSON_LEVEL                                                                        \
    (OB_OBL_BLOCK_HINT | OB_OBL_NOTIFY_PATIENT | OB_OBL_LOG_OVERRIDE | OB_OBL_LOG_ASSISTANT |      \
     OB_OBL_OMIT_SILENTLY | OB_OBL_LOG_DISCLOSURE)

typedef struct ob_decision {
    bool permit;
    uint8_t rule;     /* ob_rule */
    uint8_t capacity; /* ob_capacity the actor acted in */
    uint32_t obligations;
    const char *legal_basis; /* static text */
    const char *reason;      /* static text a person understands */
} ob_decision;

void ob_policy_decide(const ob_index *ix, const ob_request *rq, ob_decision *out);
/* R-ACC-16: a permit whose obligations are not all in `handled` (what the answering layer
 * carries out) becomes a deny under R-ACC-16. Every path that shows data passes its
 * decisions through here (service/search.c), so an obligation nobody handles can only
 * ever refuse. */
void ob_policy_enforce(ob_decision *d, uint32_t handled);

const char *ob_rule_name(ob_rule r); /* "R-ACC-1" */
const char *ob_purpose_code(ob_purpose p);
/* Accepts our codes and the OIO-IDWS aliases; -1 if unknown. */
int ob_purpose_parse(const char *s);
/* The i-th alias ob_purpose_parse accepts besides the codes, and its purpose in *p; NULL
 * past the last (docs/cli.md's table is checked against these). */
const char *ob_purpose_alias(size_t i, ob_purpose *p);
const char *ob_override_name(ob_override o);
int ob_override_parse(const char *s);
/* Writes "pseudonymise,notify_patient" style names of set obligations into buf. */
void ob_obligations_format(uint32_t obl, char *buf, size_t cap);

/* Who asks for a change to a grant (block, consent, power of attorney, permission,
 * relationship): OB_ACTOR_CITIZEN (actor: a patient id), OB_ACTOR_PROFESSIONAL (a
 * professional id) or OB_ACTOR_SOURCE_SYSTEM (actor: the source's index in
 * ix->sources). The operator at the console acts for one of them and is named in the
 * log entry (capacity operator), never as the one who decides. */
typedef struct ob_change_actor {
    uint8_t actor_kind;
    uint32_t actor;
} ob_change_actor;

/* Whether authorised professional `pro` has a treatment relationship with the patient
 * at time `at` (R-ACC-1): personal, or through a site they work at or below. */
bool ob_policy_treats(const ob_index *ix, uint32_t patient, uint32_t pro, ob_time at);
/* Whether consent c would let `pro` read: it names them, a site they work at (or one
 * above it), a kind of site they work at, or a project they belong to. */
bool ob_policy_consent_benefits(const ob_index *ix, const ob_consent *c, uint32_t pro);

/* R-BLK-2, R-BLK-3: may `who` create block `b` for `patient`? On success sets b->by_gp
 * and b->created_by. OB_EDENIED with an explaining message otherwise; OB_EINVAL for a
 * malformed block. */
ob_status ob_policy_check_block(const ob_index *ix, uint32_t patient, ob_block *b,
                                const ob_change_actor *who, ob_err *e);
/* R-BLK-5: may `who` lift block `b`? */
ob_status ob_policy_check_block_lift(const ob_index *ix, uint32_t patient, const ob_block *b,
                                     const ob_change_actor *who, ob_err *e);
/* R-CON-1: is consent `c` specific and informed, and may `who` record it? `text` is the
 * information the patient was given (must be non-empty). */
ob_status ob_policy_check_consent(const ob_index *ix, uint32_t patient, const ob_consent *c,
                                  const char *text, const ob_change_actor *who, ob_err *e);
/* R-CON-2: the patient (or the professional who recorded it, at their request). */
ob_status ob_policy_check_consent_revoke(const ob_index *ix, uint32_t patient, const ob_consent *c,
                                         const ob_change_actor *who, ob_err *e);

/* Ending grants (issue 24). A power of attorney: the patient, or the holder renouncing
 * it (custody and guardianship end by the registry's record). A permission: the site's
 * management (a professional with a current `manage` permission for a site containing
 * the permission's site, at time `at`), or its holder giving it up. A treatment
 * relationship: the source system registered for a site containing its site. */
ob_status ob_policy_check_attorney_end(const ob_index *ix, uint32_t patient, const ob_attorney *a,
                                       const ob_change_actor *who, ob_err *e);
ob_status ob_policy_check_permission_end(const ob_index *ix, const ob_permission *p, ob_time at,
                                         const ob_change_actor *who, ob_err *e);
/* Issue 21 (R-ACC-1): a source's event starts a relationship at its own site or a unit of
 * it, or, for a referral, at the receiving care provider (a clinic, a hospital unit, a
 * municipal unit; never an administration, a quality database or a research body), from a
 * site that refers (a GP, a specialist, a hospital). A personal relationship names a
 * professional who works at that organisation. OB_EDENIED / OB_EINVAL with the reason. */
ob_status ob_policy_check_relationship_start(const ob_index *ix, const ob_relationship *r,
                                             const ob_change_actor *who, ob_err *e);
ob_status ob_policy_check_relationship_end(const ob_index *ix, uint32_t patient,
                                           const ob_relationship *r, const ob_change_actor *who,
                                           ob_err *e);
/* R-ACC-3: whether `assistant` holds a current technical-assistance permission covering
 * `site` from a site where `pro` works (the management grants assistance for its own
 * professionals' work only). */
bool ob_policy_may_assist(const ob_index *ix, uint32_t assistant, uint32_t site, uint32_t pro,
                          ob_time at);
/* Whether pro holds a current `manage` permission covering site (site management). */
bool ob_policy_manages(const ob_index *ix, uint32_t pro, uint32_t site, ob_time at);

#endif
