/* api_items_write.c - source systems write their own items over FHIR (R-SRC-1, issue 20):
 *
 *   POST /<Type>                           create (409 when the identifier is taken)
 *   PUT  /<Type>?identifier=<sys>|<value>  create or update; status entered-in-error
 *                                          withdraws it; with If-Match: W/"<n>" only while
 *                                          still at version n (412 otherwise)
 *   for MedicationStatement, Immunization and DocumentReference (documents.c).
 *
 * As for appointments (api_appointment.c): only a registered source system writes, only
 * about a patient named by a valid CPR number, only for its own site or one of its units
 * (the data controller, shown on every read), only with identifier systems it owns; every
 * refusal is logged, and every write commits with its log entry. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "core/alloc.h"
#include "core/jsonw.h"
#include "core/cpr.h"
#include "service/clinical.h"
#include "service/sources.h"

static void field(ob_jw *w, const char *k, const char *v)
{
    if (!v)
        return;
    ob_jw_lit(w, ",\"");
    ob_jw_raw(w, k, strlen(k));
    ob_jw_lit(w, "\":");
    ob_jw_str(w, v);
}

/* The canonical record of the item (docs/formats.md, `item`) as JSON text, without id and
 * version (the write adds them); ob_malloc'd. Written directly: a transaction Bundle makes
 * a thousand. */
static char *record(const ob_fhir_doc_in *in, const char *patient, const char *origin,
                    const char *client)
{
    char ts[32], te[32];
    ob_fhir_time(in->time, ts);
    ob_jw w = {0};
    ob_jw_lit(&w, "{\"type\":\"item\"");
    field(&w, "patient", patient);
    field(&w, "category", ob_category_name(in->category));
    field(&w, "origin", origin);
    field(&w, "time", ts);
    field(&w, "source", "clinical");
    field(&w, "status", in->status);
    field(&w, "ident_system", in->system);
    field(&w, "ident_value", in->value);
    field(&w, "client", client);
    field(&w, "code", in->code);
    field(&w, "display", in->display);
    field(&w, "dose", in->dose);
    field(&w, "lot", in->lot);
    field(&w, "title", in->title);
    field(&w, "text", in->text);
    field(&w, "followup", in->followup);
    field(&w, "plan", in->plan);
    if (in->has_end) {
        ob_fhir_time(in->end, te);
        field(&w, "end", te);
    }
    ob_jw_lit(&w, "}");
    size_t len;
    return ob_jw_take(&w, &len);
}

static bool item_prepare(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                         bool create_only, ob_api_write *pw, ob_api_response *out, ob_err *e)
{
    ob_fhir_doc_in *in = &pw->doc;
    ob_err pe = {0};
    if (ob_fhir_doc_parse(rq->body, type, in, &pe)) {
        ob_api_outcome(out, 400, "invalid", pe.msg);
        return false;
    }
    if (!create_only && !ob_api_src_key_matches(rq, in->system, in->value, out))
        return false;
    const char *category = ob_category_name(in->category);
    ob_api_src_write *sw = &pw->sw;
    ob_api_src_about about = {in->cpr,
                              in->clinic,
                              in->system,
                              category,
                              "R-SRC-1",
                              "R-SRC-1",
                              "the item",
                              "the patient identifier is not a valid CPR number; only items with "
                              "a valid CPR number are shared"};
    if (!ob_api_src_admit(h, c, &about, sw, out, e))
        return false;
    char *rec = pw->rec_text = record(in, sw->patient, sw->origin, sw->client);
    if (!rec) {
        ob_api_outcome(out, 503, "transient", "out of memory");
        return false;
    }
    pw->item = (ob_src_item){.source = sw->client,
                             .system = in->system,
                             .value = in->value,
                             .type = type,
                             .patient = sw->patient,
                             .category = category,
                             .origin = sw->origin,
                             .code = in->code,
                             .time = in->time,
                             .withdrawn = in->withdrawn,
                             .rec = rec};
    pw->w.item = &pw->item;
    return true;
}

bool ob_api_write_prepare(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                          bool create_only, ob_api_write *pw, ob_api_response *out, ob_err *e)
{
    memset(pw, 0, sizeof *pw);
    pw->type = type;
    pw->w.create_only = create_only;
    bool apt = strcmp(type, "Appointment") == 0;
    if (!ob_api_src_begin(c, rq, create_only,
                          apt ? "appointments are written only by the source system that "
                                "created them; the overview is read-only (R-APT-1)"
                              : "an item is written only by the source system that holds it; "
                                "for everyone else the overview is read-only (R-SRC-1)",
                          &pw->w.if_match, out))
        return false;
    return apt ? ob_api_apt_prepare(h, c, rq, create_only, pw, out, e)
               : item_prepare(h, c, rq, type, create_only, pw, out, e);
}

void ob_api_write_answer(ob_hub *h, const ob_api_request *rq, ob_api_write *pw, ob_status rc,
                         const ob_err *we, ob_api_response *out, ob_err *e)
{
    bool apt = pw->w.apt != NULL;
    if (rc == OB_ECONFLICT) { /* nothing was written */
        bool stale = !pw->w.create_only && pw->w.if_match;
        ob_api_outcome(out, stale ? 412 : 409, stale ? "conflict" : "duplicate", we->msg);
        return;
    }
    if (rc) {
        if (e)
            *e = *we;
        ob_api_store_failed(out, apt ? "the appointment" : "the item");
        return;
    }
    if (apt) {
        ob_api_apt_answer(h, rq, &pw->apt, pw->w.created, out);
        return;
    }
    ob_src_item *w = &pw->item;
    char *json = ob_src_item_json(w);
    ob_item it = {w->id, w->patient, w->category, w->origin, w->time, "clinical", w->code, 0, json};
    ob_fhir_clinic cl = {w->origin, NULL, NULL};
    ob_api_org_display(h, w->origin, &cl.name, &cl.kind);
    out->body = json ? ob_fhir_item(&it, &cl) : NULL;
    free(json);
    if (!out->body) {
        ob_api_outcome(out, 503, "transient", "out of memory");
        return;
    }
    if (w->withdrawn) /* what the source sent: gone from the overview */
        json_object_set_new(out->body, "status", json_string("entered-in-error"));
    out->status = w->created ? 201 : 200;
    snprintf(out->etag, sizeof out->etag, "W/\"%lld\"", (long long)w->version);
    snprintf(out->location, sizeof out->location, "%.160s/%s/%s", rq->base_url ? rq->base_url : "",
             pw->type, w->id);
}

void ob_api_write_release(ob_api_write *pw)
{
    ob_free(pw->rec_text);
    pw->rec_text = NULL;
    ob_fhir_doc_in_release(&pw->doc);
}

ob_status ob_api_item_write(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                            const char *type, bool create_only, ob_api_response *out, ob_err *e)
{
    ob_api_write pw;
    if (ob_api_write_prepare(h, c, rq, type, create_only, &pw, out, e)) {
        ob_err we = {0};
        ob_status rc =
            ob_hub_src_item_write(h, &pw.item, create_only, pw.w.if_match, &pw.sw.actor, &we);
        ob_api_write_answer(h, rq, &pw, rc, &we, out, e);
    }
    ob_api_write_release(&pw);
    return OB_OK;
}
