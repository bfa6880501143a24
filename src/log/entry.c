/* entry.c - names of the access-log event kinds (entry.h). The names are stable: they
 * appear in the patient's log view, in JSON proofs and in the CLI, so renaming one is a
 * format change. */
#include "log/entry.h"

const char *ob_log_event_name(ob_log_event ev)
{
    static const char *const names[OB_EV_COUNT] = {
        [OB_EV_DECISION] = "decision",
        [OB_EV_BLOCK_CREATE] = "block_create",
        [OB_EV_BLOCK_LIFT] = "block_lift",
        [OB_EV_CONSENT_CREATE] = "consent_create",
        [OB_EV_CONSENT_REVOKE] = "consent_revoke",
        [OB_EV_PERMISSION_GRANT] = "permission_grant",
        [OB_EV_PERMISSION_REVOKE] = "permission_revoke",
        [OB_EV_RELATIONSHIP] = "relationship",
        [OB_EV_DISCLOSURE] = "disclosure",
        [OB_EV_STATS_RELEASE] = "stats_release",
        [OB_EV_DATA_CHANGE] = "data_change",
        [OB_EV_ALERT] = "alert",
        [OB_EV_SOURCE_ACCESS] = "source_access",
    };
    if ((unsigned)ev >= OB_EV_COUNT)
        return "unknown";
    return names[ev];
}
