/* search.c - many decisions, one durable log entry (see search.h). */
#include "service/search.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "store/log.h"

bool ob_search_block_hint(const ob_decision *ds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!ds[i].permit && (ds[i].obligations & OB_OBL_BLOCK_HINT))
            return true;
    return false;
}

/* Whether item i is one the entry lists: a permitted one (cat < 0), or a match of
 * category cat that a block withheld. */
static bool listed(const ob_search *s, const ob_decision *ds, size_t i, int cat)
{
    if (!s->ids || !s->ids[i])
        return false;
    if (cat < 0)
        return ds[i].permit;
    return !ds[i].permit && (ds[i].obligations & OB_OBL_BLOCK_HINT) &&
           s->rqs[i].category == (uint8_t)cat && i + s->ninclude < s->n;
}

/* The listed ids (above) joined by ','; an empty string when none. Owned by the caller. */
static char *join_ids(const ob_search *s, const ob_decision *ds, int cat)
{
    size_t len = 1;
    for (size_t i = 0; i < s->n; i++)
        if (listed(s, ds, i, cat))
            len += strlen(s->ids[i]) + 1;
    char *buf = ob_malloc(len);
    if (!buf)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!listed(s, ds, i, cat))
            continue;
        size_t k = strlen(s->ids[i]);
        if (at)
            buf[at++] = ',';
        memcpy(buf + at, s->ids[i], k);
        at += k;
    }
    buf[at] = '\0';
    return buf;
}

ob_status ob_hub_decide_many(ob_hub *h, const ob_search *s, ob_decision *out, uint64_t *seq,
                             ob_err *e)
{
    ob_decision summary;
    ob_log_entry le;
    pthread_rwlock_rdlock(&h->lock);
    if (ob_hub_stopped(h, NULL, 0)) { /* as ob_hub_decide: a lapsed lease, a rebuild due */
        pthread_rwlock_unlock(&h->lock);
        return ob_hub_stopped_err(h, e);
    }
    for (size_t i = 0; i < s->n; i++) {
        ob_policy_decide(h->ix, &s->rqs[i], &out[i]);
        ob_policy_enforce(&out[i], s->handled);
    }
    size_t nmatch = s->ninclude < s->n ? s->n - s->ninclude : 0;
    bool found = false;
    for (size_t i = 0; i < nmatch; i++)
        found |= out[i].permit;
    for (size_t i = nmatch; !found && i < s->n; i++) {
        out[i].permit = false;
        out[i].obligations = 0;
    }
    /* the entry describes the search: the first permit (a match, as includes come last),
     * else the first refused match, else (nothing to decide) the search itself */
    const ob_decision *pick = NULL;
    for (size_t i = 0; i < s->n && !pick; i++)
        if (out[i].permit)
            pick = &out[i];
    if (!pick && nmatch)
        pick = &out[0];
    if (!pick) {
        ob_policy_decide(h->ix, s->about, &summary);
        ob_policy_enforce(&summary, s->handled);
        pick = &summary;
    }
    ob_hub_entry_for(h, s->about, &le);
    pthread_rwlock_unlock(&h->lock);
    bool override = false;
    for (size_t i = 0; i < s->n; i++)
        override |= out[i].permit && (out[i].obligations & OB_OBL_LOG_OVERRIDE);
    char *resource = join_ids(s, out, -1);
    if (!resource)
        return ob_err_set(e, OB_ENOMEM, "out of memory logging a search");
    le.capacity = pick->capacity;
    le.permit = pick->permit;
    le.override = override || (pick->obligations & OB_OBL_LOG_OVERRIDE);
    le.category = s->category;
    le.resource = resource;
    le.rule = ob_rule_name((ob_rule)pick->rule);
    le.legal_basis = pick->legal_basis;
    le.reason = pick->reason;
    le.justification = s->about->override != OB_OVERRIDE_NONE ? s->justification : NULL;
    /* R-LOG-1, R-BLK-4: what a block withheld from a search is a denial too, which the
     * patient's log shows: one entry per withheld category listing what it withheld,
     * appended with the search's own entry (nothing of it reaches the caller but the block
     * marker). When the search's entry is itself that denial, it stays the only one. */
    ob_log_entry all[1 + OB_CAT_COUNT];
    char *ids[OB_CAT_COUNT] = {0};
    size_t nall = 1, first_of[OB_CAT_COUNT];
    all[0] = le;
    for (size_t k = 0; k < OB_CAT_COUNT; k++)
        first_of[k] = SIZE_MAX;
    int said = -1; /* the category the search's entry already denies for a block */
    if (pick != &summary && !pick->permit && (pick->obligations & OB_OBL_BLOCK_HINT))
        said = s->rqs[pick - out].category;
    for (size_t i = 0; i < nmatch; i++)
        if (!out[i].permit && (out[i].obligations & OB_OBL_BLOCK_HINT) &&
            s->rqs[i].category < OB_CAT_COUNT && (int)s->rqs[i].category != said &&
            first_of[s->rqs[i].category] == SIZE_MAX)
            first_of[s->rqs[i].category] = i;
    ob_status rc = OB_OK;
    for (size_t k = 0; k < OB_CAT_COUNT && !rc; k++) {
        if (first_of[k] == SIZE_MAX)
            continue;
        const ob_decision *d = &out[first_of[k]];
        ids[k] = join_ids(s, out, (int)k);
        if (!ids[k]) {
            rc = ob_err_set(e, OB_ENOMEM, "out of memory logging a search");
            break;
        }
        ob_log_entry *w = &all[nall++];
        *w = le;
        w->capacity = d->capacity;
        w->permit = false;
        w->override = false;
        w->category = ob_category_name((ob_category)k);
        w->resource = ids[k];
        w->rule = ob_rule_name((ob_rule)d->rule);
        w->legal_basis = d->legal_basis;
        w->reason = d->reason;
        w->justification = NULL;
    }
    if (!rc) /* deferred under an event-driven server */
        rc = ob_hub_log_reads(h, all, nall, seq, e);
    for (size_t k = 0; k < OB_CAT_COUNT; k++)
        ob_free(ids[k]);
    ob_free(resource);
    if (rc == OB_OK) { /* the entries are queued; a failed append is counted by the log */
        ob_hub_count_decision(h, pick->rule, pick->permit);
        for (size_t k = 0; k < OB_CAT_COUNT; k++)
            if (first_of[k] != SIZE_MAX)
                ob_hub_count_decision(h, out[first_of[k]].rule, false);
    }
    if (rc == OB_OK && override)
        rc = ob_hub_note_override(h, s->about, e);
    return rc;
}
