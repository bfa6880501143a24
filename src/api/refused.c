/* refused.c - refused attempts to change are logged too (R-LOG-1, issue 24): a GP trying to
 * lift the patient's own block, a stranger creating a block or consent, another citizen
 * reporting a measurement about the patient, a grant someone may not end. The entry names
 * the caller and, when the change was about an existing patient, that patient, so the
 * patient sees the attempt in their log. The caller's answer does not change: it is the
 * same whether or not the patient exists (an entry is written either way). */
#include <string.h>

#include "api/internal.h"
#include "store/log.h"

ob_status ob_api_log_refused(ob_hub *h, const ob_caller *c, uint32_t patient, uint8_t event,
                             const char *what, const char *reason, ob_err *e)
{
    ob_request rq;
    ob_log_entry le;
    ob_api_request_init(c, patient, &rq);
    pthread_rwlock_rdlock(&h->lock);
    ob_hub_entry_for(h, &rq, &le);
    pthread_rwlock_unlock(&h->lock);
    /* index strings stay valid: objects are never removed while the hub is open */
    le.event = event;
    le.permit = false;
    le.capacity = c->kind == OB_ACTOR_CITIZEN         ? OB_CAP_CITIZEN
                  : c->kind == OB_ACTOR_SOURCE_SYSTEM ? OB_CAP_SOURCE_SYSTEM
                  : c->on_behalf_of != OB_NONE        ? OB_CAP_ASSISTANT
                                                      : OB_CAP_PROFESSIONAL;
    le.rule = "R-LOG-1";
    le.legal_basis = "none";
    le.category = what;
    le.reason = reason;
    le.purpose = NULL;
    if (!h->log)
        return ob_err_set(e, OB_EIO, "the access log is not open");
    return ob_alog_append(h->log, &le, 1, NULL, NULL, NULL, e);
}
