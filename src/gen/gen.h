/* gen.h - deterministic synthetic Danish data in the import format (docs/formats.md).
 *
 * Same seed and options, same bytes. The data set has a realistic shape: five regions
 * with hospitals and departments, municipalities with home nursing, acute teams and
 * rehabilitation, GP clinics with provider numbers, professionals of every role,
 * patients with valid CPR numbers across all three centuries, GP listing, admissions,
 * home nursing, appointments, ICPC-2/ICD-10 diagnoses (T90 diabetes, K86 hypertension),
 * systolic blood pressures (some patient-reported), annual check-ups, blocks, consents
 * and powers of attorney at realistic rates. Writes to a FILE*; no other I/O. */
#ifndef OB_GEN_GEN_H
#define OB_GEN_GEN_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/time.h"

typedef struct ob_gen_options {
    uint64_t seed;
    uint32_t patients;
    ob_time today; /* reference date for "current" relationships; fixed for determinism */
    void (*progress)(void *ctx, uint32_t done, uint32_t total);
    void *progress_ctx;
} ob_gen_options;

typedef struct ob_gen_counts {
    uint64_t orgs, professionals, patients, relationships, items, blocks, consents, relatives;
} ob_gen_counts;

void ob_gen_default(ob_gen_options *o);
ob_status ob_gen_write(const ob_gen_options *o, FILE *out, ob_gen_counts *counts, ob_err *e);

#endif
