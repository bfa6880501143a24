/* consent.h - FHIR R4 Consent <-> overblik blocks and consents (R-BLK-1, R-CON-1).
 *
 * Pure mapping, no I/O and no locking: ob_fhir_consent_parse reads a Consent resource
 * strictly (unknown elements, wrong types and unknown codes are errors that name the
 * element, R-API-5) into an ob_fhir_consent whose strings are BORROWED from the input
 * JSON; ob_fhir_consent_record turns that into the import-format record of
 * docs/formats.md ("block" or "consent"), which the hub checks and applies. The render
 * functions build a Consent from a block or consent in the index (the caller holds the
 * hub's read lock). The mapping is documented in docs/api.md, section "Consent":
 *
 *   provision.type deny   -> a block:  actor Practitioner/<id> = professional block,
 *                            actor Organization/<id> = site block, no actor and a
 *                            dataPeriod = period block
 *   provision.type permit -> a consent: provision.purpose = kind, actor = recipient
 *   provision.period      -> when it is in force;  provision.class -> data categories
 *   sourceAttachment.title -> the text the patient was given (R-CON-1) */
#ifndef OB_FHIR_CONSENT_H
#define OB_FHIR_CONSENT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"
#include "fhir/fhir.h"
#include "model/index.h"

/* Our code systems and extensions (documented in docs/api.md); OB_FHIR_BASE and the
 * organisation-kind code system (shared with Appointment) are in fhir.h. */
#define OB_FHIR_CS_CATEGORY    OB_FHIR_BASE "/CodeSystem/data-category"
#define OB_FHIR_CS_PURPOSE     OB_FHIR_BASE "/CodeSystem/consent-purpose"
#define OB_FHIR_EXT_SUBUNITS   OB_FHIR_BASE "/StructureDefinition/consent-include-subunits"
#define OB_FHIR_EXT_FORM       OB_FHIR_BASE "/StructureDefinition/consent-form"
#define OB_FHIR_EXT_TAKEN_BY   OB_FHIR_BASE "/StructureDefinition/consent-taken-by"
#define OB_FHIR_EXT_IDENTIFY   OB_FHIR_BASE "/StructureDefinition/consent-identifiable"
#define OB_FHIR_EXT_SET_BY_GP  OB_FHIR_BASE "/StructureDefinition/consent-set-by-gp"
#define OB_FHIR_EXT_REVOKED_AT OB_FHIR_BASE "/StructureDefinition/consent-revoked-at"
/* true on a block: full clinical notes are not shared with other sectors (R-SRC-4) */
#define OB_FHIR_EXT_NOTES OB_FHIR_BASE "/StructureDefinition/consent-notes-within-sector"
/* true on a consent recorded for the patient by someone else (an oral consent, or one
 * an operator entered), so the patient's list shows it as such */
#define OB_FHIR_EXT_ON_BEHALF OB_FHIR_BASE "/StructureDefinition/consent-recorded-on-behalf"
#define OB_FHIR_V3_ACTREASON  "http://terminology.hl7.org/CodeSystem/v3-ActReason"

typedef struct ob_fhir_consent {
    bool is_block;       /* provision.type deny */
    bool active;         /* status active (false: inactive) */
    const char *patient; /* ext id from patient.reference */
    /* blocks */
    uint8_t block_kind;   /* ob_block_kind */
    const char *target;   /* Practitioner or Organization ext id; NULL for a period block */
    int include_subunits; /* -1 not given, else 0/1 */
    bool notes;           /* the notes-within-sector extension is true (R-SRC-4) */
    const char *data_from, *data_to; /* provision.dataPeriod, NULL if absent */
    /* consents */
    uint8_t consent_kind;   /* ob_consent_kind */
    uint8_t recipient_kind; /* ob_recipient_kind */
    const char *recipient;  /* ext id, or an ob_org_kind name */
    const char *text;       /* sourceAttachment.title */
    bool oral;
    const char *taken_by; /* Practitioner ext id (oral consents) */
    int identifiable;     /* -1 not given, else 0/1 */
    /* both */
    const char *valid_from, *valid_to; /* provision.period, NULL if absent */
    size_t ncats;                      /* 0: all categories */
    const char *cats[16];
} ob_fhir_consent;

/* Parses a Consent for creation (status must be active) or, with for_update, any
 * status. OB_EINVAL with a message naming the element on anything we do not accept. */
ob_status ob_fhir_consent_parse(json_t *res, bool for_update, ob_fhir_consent *out, ob_err *e);

/* The import record for a parsed Consent (new reference, caller owns). `by_gp` is the
 * professional ext id creating a block on the patient's behalf (R-BLK-3), or NULL. */
json_t *ob_fhir_consent_record(const ob_fhir_consent *c, const char *by_gp);

/* FHIR ids: "block-<n>" and "consent-<n>". Returns false for anything else. */
bool ob_fhir_consent_id_parse(const char *id, bool *is_block, uint64_t *n);

/* Renders a block / consent of `patient` (new reference). */
json_t *ob_fhir_block_render(const ob_index *ix, uint32_t patient, const ob_block *b);
json_t *ob_fhir_consent_render(const ob_index *ix, uint32_t patient, const ob_consent *c);

/* A FHIR dateTime for t: a date at midnight UTC, else a full instant. */
void ob_fhir_datetime(ob_time t, char buf[static 32]);

#endif
