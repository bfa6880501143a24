/* search.h - decisions for a search or an overview: many items, one log entry.
 *
 * A FHIR search (or the patient overview) asks the decision engine once per candidate
 * item, but the patient's log gets ONE entry per search (R-LOG-1; the "audit one
 * entry per search, not one per returned entry") listing the ids that were disclosed.
 * ob_hub_decide_many decides every request under one read lock, then appends that
 * entry and waits until it is durable; only then may the caller answer. If the append
 * fails the call fails and the caller must reveal nothing.
 *
 * Lives beside hub.c (not in it) so hub.c stays the single-decision and change path. */
#ifndef OB_SERVICE_SEARCH_H
#define OB_SERVICE_SEARCH_H

#include "service/hub.h"

typedef struct ob_search {
    const ob_request *about; /* the caller and patient (OB_NONE when there is none); its
                              * category and origin describe the search when n == 0 */
    const ob_request *rqs;   /* n per-item requests (may be NULL when n == 0) */
    const char *const *ids;  /* n result ids, e.g. "Appointment/apt-3" (borrowed) */
    size_t n;
    const char *category;      /* what was searched, for the log ("appointment", "overview") */
    const char *justification; /* the override reason, or NULL */
    size_t ninclude;           /* the last ninclude of the n requests are resources asked
                                * for by _include/_revinclude: each counts as permitted only
                                * when some match (one of the first n - ninclude) is */
    uint32_t handled;          /* the obligations the answering layer carries out (policy.h,
                                * OB_OBL_PERSON_LEVEL for a FHIR read); a permit with any
                                * other becomes a deny (R-ACC-16). 0 handles none. */
} ob_search;

/* Fills out[0..n) with the decisions (each passed through ob_policy_enforce with
 * s->handled) and logs one entry: permit when anything was
 * permitted, the permitted ids as its resource, the override flag when any permit
 * used an override. Beside it, in the same atomic append, one denial per category a
 * block withheld from the matches (unless the entry is already that denial), so the
 * patient's log shows every blocked attempt (R-LOG-1, R-BLK-4). When no match is permitted, every
 * include is turned into a plain deny (no block hint) before the entry is written: an include never
 * shows, and the log never lists, a resource beside a search that found nothing the caller may see,
 * so such a search answers as one about a patient who does not exist. *seq (may be NULL) receives
 * the entry's sequence number. */
ob_status ob_hub_decide_many(ob_hub *h, const ob_search *s, ob_decision *out, uint64_t *seq,
                             ob_err *e);

/* True when some decision withheld an item because of a block (R-BLK-4): the reader is
 * told only that information is withheld, never what or how much. */
bool ob_search_block_hint(const ob_decision *ds, size_t n);

#endif
