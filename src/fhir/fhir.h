/* fhir.h - pure FHIR R4 JSON mapping for overblik's resources (no I/O, no locking).
 *
 * Parsers take a jansson value and fill plain structs; they refuse unknown elements
 * and wrong types with OB_EINVAL and a message that never quotes a value (a value could
 * be a CPR number, R-CPR-2). Builders take plain structs and return a new json_t
 * reference owned by the caller. Strings in parsed structs are borrowed from the JSON.
 *
 * Extension and identifier URIs overblik defines are below; docs/api.md lists them. */
#ifndef OB_FHIR_FHIR_H
#define OB_FHIR_FHIR_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"
#include "core/jsonw.h"
#include "core/time.h"
#include "model/data.h"

/* Our own code systems and extensions share one base (docs/api.md); consent.h and
 * audit.h name theirs under it too. */
#define OB_FHIR_BASE                 "https://overblik.dk/fhir"
#define OB_FHIR_SD                   OB_FHIR_BASE "/StructureDefinition/"
#define OB_FHIR_EXT_SHARED           OB_FHIR_SD "shared"
#define OB_FHIR_EXT_FICTIVE          OB_FHIR_SD "fictive-end"
#define OB_FHIR_EXT_CLINIC           OB_FHIR_SD "responsible-clinic"
#define OB_FHIR_EXT_CLINIC_KIND      OB_FHIR_SD "responsible-clinic-kind"
#define OB_FHIR_EXT_ADDRESS          OB_FHIR_SD "meeting-address"
#define OB_FHIR_EXT_PATIENT_REPORTED OB_FHIR_SD "patient-reported"
#define OB_FHIR_EXT_FOLLOW_UP        OB_FHIR_SD "follow-up"
#define OB_FHIR_CS_SOURCE            OB_FHIR_BASE "/CodeSystem/data-source"
#define OB_FHIR_CS_ORG_KIND          OB_FHIR_BASE "/CodeSystem/organisation-kind"
#define OB_FHIR_ICPC2                "http://hl7.org/fhir/sid/icpc-2"
#define OB_FHIR_ICD10                "http://hl7.org/fhir/sid/icd-10"
#define OB_FHIR_LOINC                "http://loinc.org"
#define OB_FHIR_NPU                  OB_FHIR_BASE "/CodeSystem/npu"
/* The CPR identifier system (the Danish CPR OID). */
#define OB_FHIR_CPR_SYSTEM "urn:oid:1.2.208.176.1.2"
#define OB_FHIR_UCUM       "http://unitsofmeasure.org"
/* Danish directory identifiers: SOR (the health-care organisation register), the
 * provider number (ydernummer) and the authorisation id of the Danish Patient Safety
 * Authority (as in HL7 Denmark's DK Core). */
#define OB_FHIR_SOR_SYSTEM           "urn:oid:1.2.208.176.1.1"
#define OB_FHIR_PROVIDER_SYSTEM      "urn:oid:1.2.208.176.1.4"
#define OB_FHIR_AUTHORISATION_SYSTEM "https://autregweb.sst.dk"

/* ---- Appointment (R-APT) ---- */

/* What a source system sent, after validation. Notes, comments, descriptions and
 * instructions are accepted as FHIR elements but not carried over (R-APT-3). */
typedef struct ob_fhir_apt_in {
    const char *system, *value; /* the source's identifier (system may be "") */
    const char *cpr;            /* the patient participant's CPR, unparsed */
    const char *status;
    ob_time start, end;
    bool has_end;
    const char *address; /* meeting address or NULL */
    const char *clinic;  /* responsible clinic org ext_id, or NULL for the source's site */
    bool shared;         /* the sharing switch (R-APT-2), default true */
} ob_fhir_apt_in;

ob_status ob_fhir_appointment_parse(json_t *res, ob_fhir_apt_in *out, ob_err *e);

/* The shared view of an appointment (R-APT-3, R-APT-4). */
typedef struct ob_fhir_clinic {
    const char *id, *name, *kind; /* org ext_id, name, ob_org_kind name */
} ob_fhir_clinic;

json_t *ob_fhir_appointment(const ob_apt *a, const ob_fhir_clinic *clinic);
/* The same resource written as JSON text (the hot search path, core/jsonw.h); the one
 * definition of the shape: ob_fhir_appointment parses what this writes. */
void ob_fhir_appointment_write(ob_jw *w, const ob_apt *a, const ob_fhir_clinic *clinic);
/* "apt-<rowid>" -> rowid; false if malformed. */
bool ob_fhir_apt_id_parse(const char *s, int64_t *id);

/* ---- Observation, Condition (items) ---- */

/* An item as its FHIR resource: Observation (measurements, lab results), Condition
 * (diagnoses) or one of documents.c's; NULL for a category that has no mapping. */
json_t *ob_fhir_item(const ob_item *it, const ob_fhir_clinic *origin);

/* A patient-reported measurement (R-PRD-1) as a citizen's app posts it. */
typedef struct ob_fhir_obs_in {
    const char *code_system, *code; /* LOINC 8480-6 for systolic blood pressure */
    int64_t value;                  /* integer mmHg */
    ob_time effective;
    const char *subject; /* "Patient/<id>" or NULL */
} ob_fhir_obs_in;

ob_status ob_fhir_observation_parse(json_t *res, ob_fhir_obs_in *out, ob_err *e);

/* ---- MedicationStatement, Immunization, DocumentReference (documents.c) ---- */

/* An item of medication, vaccination, clinical_note, discharge_summary or treatment_will
 * as its FHIR resource, from its canonical record (ob_item.json); NULL for another
 * category. The caller owns the result. */
json_t *ob_fhir_document(const ob_item *it, const ob_fhir_clinic *origin);
/* The FHIR resource type an item of this ob_category is shown as, or NULL. */
const char *ob_fhir_type_of(int category);
/* The follow-up flags of a discharge summary (seed 001 case 10), NULL-terminated. */
extern const char *const ob_fhir_follow_flags[];

/* What a source system sent as one of the types above, after validation (R-SRC-1). Strings
 * are borrowed from the JSON except text, which points into text_owned (decoded from the
 * attachment): the struct owns text_owned until ob_fhir_doc_in_release. */
typedef struct ob_fhir_doc_in {
    int category;               /* an ob_category */
    const char *system, *value; /* the source's identifier (system may be "") */
    const char *cpr;            /* the patient's CPR, unparsed */
    const char *status;
    bool withdrawn; /* status entered-in-error: the source withdraws it */
    ob_time time, end;
    bool has_end;
    const char *code, *display, *dose, *lot, *title, *text, *followup, *plan;
    const char *clinic; /* responsible clinic (an org ext_id), NULL: the source's site */
    char *text_owned;
} ob_fhir_doc_in;

/* Parses a resource of `type` (MedicationStatement, Immunization, DocumentReference);
 * on error nothing is left to release. */
ob_status ob_fhir_doc_parse(json_t *res, const char *type, ob_fhir_doc_in *out, ob_err *e);
void ob_fhir_doc_in_release(ob_fhir_doc_in *in);

/* ---- Organization, Practitioner (the directory; directory.c) ---- */

/* Fields borrowed; NULL or "" where absent. kind is an ob_org_kind name, parent the
 * parent organisation's id. */
typedef struct ob_fhir_org {
    const char *id, *name, *kind, *parent, *address, *sor, *provider_no;
} ob_fhir_org;
json_t *ob_fhir_organization(const ob_fhir_org *o);
typedef struct ob_fhir_pro {
    const char *id, *name, *authorisation_id;
} ob_fhir_pro;
json_t *ob_fhir_practitioner(const ob_fhir_pro *p);
/* "Anna Marie Andersen" -> {"text", "family": "Andersen", "given": ["Anna Marie"]}. */
json_t *ob_fhir_human_name(const char *full);

/* ---- small shared pieces ---- */

/* A token search (FHIR: "system|code", "|code" or "code", comma for either) against a
 * CodeableConcept or an array of them (NULL matches nothing): true when one of the
 * values names one of their codings. */
bool ob_fhir_token_matches(const json_t *concepts, const char *tokens);

/* An OperationOutcome for a search Bundle entry (search.mode "outcome"): severity
 * information, the fixed text that information is withheld by the patient's block. */
#define OB_FHIR_BLOCK_HINT_TEXT "some information is withheld by the patient's block"
json_t *ob_fhir_block_marker(void);
/* The same as a search Bundle entry, written as text (without a leading comma). */
void ob_fhir_block_marker_entry_write(ob_jw *w);
void ob_fhir_time(ob_time t, char buf[static 32]);
/* An element name as an error message may show it: FHIR's names are letters (with a
 * leading '_' for a primitive's extensions), so a key with anything else, which could be a
 * CPR number put where a name goes, is shown as "(a name not shown)" (R-CPR-2). */
const char *ob_fhir_shown_name(const char *key);

/* ---- events that start and end treatment relationships (issue 21, R-ACC-1) ---- */

/* The code system of EpisodeOfCare.type for overblik's relationship kinds
 * (home_nursing, rehabilitation, municipal_acute, treatment, listed). */
#define OB_FHIR_CS_RELATIONSHIP OB_FHIR_BASE "/CodeSystem/relationship-kind"

/* What a source reported in an Encounter (admission, outpatient or out-of-hours contact,
 * a home visit), an EpisodeOfCare (a municipal course after visitation) or a
 * ServiceRequest (a referral: the receiving organisation's relationship). Strings are
 * borrowed from the parsed resource. */
typedef struct ob_fhir_event_in {
    const char *type;           /* "Encounter", "EpisodeOfCare" or "ServiceRequest" */
    const char *system, *value; /* the source's identifier of the event */
    const char *cpr;            /* the patient, unparsed */
    const char *org;            /* the organisation the relationship is with (ext id) */
    const char *requester;      /* a referral's referring organisation (ext id), else NULL */
    const char *practitioner;   /* a personal relationship's professional (ext id) or NULL */
    int kind;                   /* ob_rel_kind */
    ob_time from, to;
    bool has_to;
    bool ended; /* finished, completed, cancelled, revoked or entered-in-error */
} ob_fhir_event_in;

/* Validates res as an event of `type`; OB_EINVAL with a message naming the element. */
ob_status ob_fhir_event_parse(json_t *res, const char *type, ob_fhir_event_in *out, ob_err *e);

#endif
