/* entry.h - one access-log entry (R-LOG-2), as the decision and change paths hand it
 * to the log. All string fields are BORROWED for the duration of the append call; the
 * log encodes them canonically before returning. Patients appear by their internal id
 * (ext_id), never by CPR (R-CPR-2). Empty strings are allowed for fields that do not
 * apply; NULL is treated as empty. */
#ifndef OB_LOG_ENTRY_H
#define OB_LOG_ENTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/time.h"

typedef enum ob_log_event {
    OB_EV_DECISION = 0, /* an access decision, permit or deny (R-LOG-1) */
    OB_EV_BLOCK_CREATE, /* R-BLK */
    OB_EV_BLOCK_LIFT,
    OB_EV_CONSENT_CREATE, /* R-CON */
    OB_EV_CONSENT_REVOKE,
    OB_EV_PERMISSION_GRANT, /* site management (R-ACC-3, R-ACC-4) */
    OB_EV_PERMISSION_REVOKE,
    OB_EV_RELATIONSHIP,  /* treatment relationship created or ended */
    OB_EV_DISCLOSURE,    /* explicit disclosure (R-ACC-10, R-ACC-13) */
    OB_EV_STATS_RELEASE, /* a statistics release (R-STAT) */
    OB_EV_DATA_CHANGE,   /* data written by a source system */
    OB_EV_ALERT,         /* a threshold crossed, e.g. overrides by one person (R-BLK-4) */
    OB_EV_SOURCE_ACCESS, /* an access in a source system, reported by that system (R-SRC-3) */
    OB_EV_COUNT
} ob_log_event;

typedef struct ob_log_entry {
    ob_time time;
    uint8_t event;    /* ob_log_event */
    uint8_t capacity; /* ob_capacity (model/model.h) */
    bool permit;      /* decision outcome (true for successful changes) */
    bool override;    /* R-BLK-4 override ("værdispring") */
    const char *actor_id, *actor_name, *actor_role, *actor_org, *actor_org_name;
    const char *on_behalf_of; /* assistants: the authorised professional (R-ACC-3, R-LOG-6) */
    const char *patient;      /* internal patient id (ext_id), never the CPR */
    const char *category;     /* data category or resource type */
    const char *resource;     /* resource id(s), e.g. the result ids of one search */
    const char *purpose;      /* PurposeOfUse code, e.g. TREAT, ETREAT */
    const char *rule;         /* e.g. "R-ACC-1" */
    const char *legal_basis;  /* e.g. "Sundhedsloven §42a" */
    const char *reason;
    const char *justification; /* mandatory with override */
} ob_log_entry;

const char *ob_log_event_name(ob_log_event ev);

#endif
