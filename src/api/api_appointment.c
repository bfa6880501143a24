/* api_appointment.c - FHIR handler (internal.h). Skeleton: answers 501 until implemented. */
#include "api/internal.h"

ob_status ob_api_appointment(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                             const char *type, const char *rest, ob_api_response *out, ob_err *e)
{
    (void)h;
    (void)c;
    (void)rq;
    (void)rest;
    (void)e;
    (void)type;
    ob_api_outcome(out, 501, "not-supported", "not implemented yet");
    return OB_OK;
}
