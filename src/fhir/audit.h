/* audit.h - access-log entries as FHIR R4 AuditEvent, and inclusion proofs as a FHIR
 * Parameters resource (R-LOG-2, R-LOG-3, R-LOG-4, R-LOG-6). Pure: the caller reads the
 * log (store/sqlite/log_sqlite.h) and hands entries in. The mapping is in docs/api.md,
 * section "AuditEvent". */
#ifndef OB_FHIR_AUDIT_H
#define OB_FHIR_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "fhir/fhir.h"
#include "log/entry.h"

#define OB_FHIR_EXT_OVERRIDE       OB_FHIR_BASE "/StructureDefinition/audit-override"
#define OB_FHIR_EXT_JUSTIFICATION  OB_FHIR_BASE "/StructureDefinition/audit-override-justification"
#define OB_FHIR_EXT_PATIENT_NOTICE OB_FHIR_BASE "/StructureDefinition/audit-patient-notice"
#define OB_FHIR_CS_PURPOSE_OB      OB_FHIR_BASE "/CodeSystem/purpose-of-use"

/* The AuditEvent for log entry `seq` (new reference; NULL on ENOMEM). Its strings are
 * copied. */
json_t *ob_fhir_audit_event(uint64_t seq, const ob_log_entry *le);

/* An AuditEvent a source system reports of an access in its own system (R-SRC-3), after
 * validation; strings borrowed from the JSON. */
typedef struct ob_fhir_audit_in {
    ob_time recorded;     /* when the access happened (in the source) */
    const char *action;   /* C R U D E */
    bool success;         /* outcome "0" (default) */
    const char *purpose;  /* purposeOfEvent's first code, or NULL */
    const char *who_id;   /* the accessing person's identifier value (authorisation id), or NULL */
    const char *who_name; /* their name (kept free text) */
    const char *who_role; /* their role as text, or NULL */
    const char *observer; /* Organization/<id>: where the access happened */
    const char *cpr;      /* the patient (entity what.identifier, CPR system) */
    const char *what;     /* a text of what was accessed, or NULL */
} ob_fhir_audit_in;
ob_status ob_fhir_audit_parse(json_t *res, ob_fhir_audit_in *out, ob_err *e);

/* The Parameters resource for an inclusion proof: "seq" (valueInteger... as a string,
 * since seq is 64-bit), "format", and "proof" (valueString: the exact JSON text of
 * ob_log_proof_to_json, which `overblik log check --proof FILE` verifies offline). */
json_t *ob_fhir_proof_parameters(uint64_t seq, int version, const char *proof_json);

#endif
