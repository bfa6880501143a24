/* similar.h - decision support over the store (R-ACC-11): finds the other patients with a
 * diagnosis and hands stats/similar.c one row per patient, without ids, names or dates.
 *
 * Who counts: every patient other than the one under treatment with a diagnosis item of
 * exactly `code` from a clinical source, who has no block in force of any kind (a patient
 * who has hidden data from professionals is left out of figures shown to professionals
 * too), and whose data is clinical or patient-reported (quality-database and research data
 * never serve treatment: R-ACC-8, R-ACC-6). Measurements and lab results count from the
 * last five years (R-STAT-4). The caller has decided and logged the request first. */
#ifndef OB_SERVICE_SIMILAR_H
#define OB_SERVICE_SIMILAR_H

#include "service/hub.h"
#include "stats/similar.h"

#define OB_SIMILAR_SBP_CODE   "DNK05472" /* systolic blood pressure, mmHg */
#define OB_SIMILAR_HBA1C_CODE "NPU02319" /* HbA1c, mmol/mol */

/* Aggregates patients like the one under treatment (`exclude`, left out) who have `code`,
 * at time `now`, with threshold k. */
ob_status ob_hub_similar(ob_hub *h, const char *code, uint32_t exclude, ob_time now, unsigned k,
                         ob_similar_out *out, ob_err *e);

#endif
