/* similar.h - decision support's "patients like me" figures (R-ACC-11; SUL §42a stk. 6;
 * seed 001 case 16: "i pseudonymiseret form ... specifikke helbredsoplysninger om
 * tidligere patienter, som har haft en sammenlignelig helbredstilstand").
 *
 * The service (service/similar.c) finds the other patients with the diagnosis the
 * professional treats and hands one row per patient here, without names, ids or dates;
 * this pure function turns them into aggregated figures that identify no one: every count
 * rests on at least k patients (R-STAT-2's threshold, at least 5) and is rounded to a
 * multiple of 5, so that two answers cannot be subtracted to an exact small group;
 * quantiles of a measurement are shown only over at least k patients, rounded to 5
 * units. Nothing in the output links to a person. */
#ifndef OB_STATS_SIMILAR_H
#define OB_STATS_SIMILAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OB_SIMILAR_BANDS    12 /* ten-year age bands 0-9, ..., 110+ */
#define OB_SIMILAR_MAXCODES 64 /* distinct other diagnoses counted */
#define OB_SIMILAR_TOP      10 /* other diagnoses shown */

typedef struct ob_similar_row {
    int age;                  /* whole years, < 0 when unknown */
    const char *const *codes; /* the patient's other diagnosis codes, distinct (borrowed) */
    size_t ncodes;
    int sbp;   /* latest systolic blood pressure (mmHg) within five years, 0 = none */
    int hba1c; /* latest HbA1c (mmol/mol) within five years, 0 = none */
} ob_similar_row;

typedef struct ob_similar_quantiles {
    bool shown; /* false: fewer than k patients have a value */
    uint32_t patients;
    int p25, p50, p75;
} ob_similar_quantiles;

typedef struct ob_similar_out {
    bool shown;          /* false: fewer than k similar patients, nothing below is set */
    uint32_t population; /* rounded to 5 */
    uint32_t band[OB_SIMILAR_BANDS];
    bool band_shown[OB_SIMILAR_BANDS];
    struct {
        char code[16];
        uint32_t patients; /* rounded to 5 */
    } other[OB_SIMILAR_TOP];
    size_t nother;
    ob_similar_quantiles sbp, hba1c;
} ob_similar_out;

/* Aggregates n rows with threshold k (raised to 5 when lower). Deterministic: the same rows
 * in any order give the same output (ties in the other diagnoses broken by code). */
void ob_similar_aggregate(const ob_similar_row *rows, size_t n, unsigned k, ob_similar_out *out);

/* Rounds a count to the nearest multiple of 5 (halves up). */
uint32_t ob_similar_round5(uint32_t v);

#endif
