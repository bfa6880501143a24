/* search.c - many decisions, one durable log entry (see search.h). */
#include "service/search.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "store/log_sqlite.h"

bool ob_search_block_hint(const ob_decision *ds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!ds[i].permit && (ds[i].obligations & OB_OBL_BLOCK_HINT))
            return true;
    return false;
}

/* The permitted ids joined by ','; an empty string when none. Owned by the caller. */
static char *join_permitted(const ob_search *s, const ob_decision *ds)
{
    size_t len = 1;
    for (size_t i = 0; i < s->n; i++)
        if (ds[i].permit && s->ids && s->ids[i])
            len += strlen(s->ids[i]) + 1;
    char *buf = ob_malloc(len);
    if (!buf)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!ds[i].permit || !s->ids || !s->ids[i])
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
    if (atomic_load(&h->stopped)) {
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
    char *resource = join_permitted(s, out);
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
    ob_status rc = ob_hub_log_read(h, &le, seq, e); /* deferred under an event-driven server */
    ob_free(resource);
    if (rc == OB_OK) /* the entry is queued; a failed append is counted by the log */
        ob_hub_count_decision(h, pick->rule, pick->permit);
    if (rc == OB_OK && override)
        rc = ob_hub_note_override(h, s->about, e);
    return rc;
}
