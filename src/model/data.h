/* data.h - the shared data as the domain sees it: a data item (a diagnosis, measurement,
 * note, ...) and an appointment row. Plain structs the pure core (model/, fhir/, policy/)
 * reads and builds; the store (store/store.h, store/sqlite/appointments.h) persists them, so these
 * types belong to the model, not to any backend (issue 18: the core includes nothing from
 * store/). Strings are borrowed from whoever filled the struct. */
#ifndef OB_MODEL_DATA_H
#define OB_MODEL_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/time.h"

typedef struct ob_item {
    const char *id;      /* external id, unique */
    const char *patient; /* patient ext_id */
    const char *category;
    const char *origin; /* organisation ext_id */
    ob_time time;
    const char *source;
    const char *code; /* ICPC-2 / ICD-10 code, or NULL */
    int64_t value;    /* e.g. systolic mmHg; 0 when none */
    const char *json; /* the full record, canonical JSON */
} ob_item;

typedef struct ob_apt {
    int64_t id;          /* row id, assigned by the store; the FHIR id is "apt-<id>" */
    const char *source;  /* the source system's client id */
    const char *system;  /* the source's identifier system (may be "") */
    const char *value;   /* the source's identifier value */
    const char *patient; /* patient ext_id (internal id, never the CPR) */
    ob_time start, end;
    bool fictive_end;    /* end was missing: start + 1 hour (R-APT-4) */
    bool shared;         /* false: stored but never shown (R-APT-2) */
    const char *address; /* meeting address, or NULL */
    const char *clinic;  /* responsible clinic, org ext_id */
    const char *status;  /* FHIR AppointmentStatus code */
    int64_t version;     /* 1 on create, +1 per update */
    ob_time updated;
} ob_apt;

#endif
