/* directory.c - the directory resources as FHIR R4: Organization (an organisation of the
 * hierarchy: region, hospital, department, GP clinic, municipal unit, ...) and
 * Practitioner (a member of staff), and the HumanName that Patient shares.
 *
 * Directory data is not patient data: the API serves it to any authenticated caller so
 * that the references in appointments, patients and log entries can be followed
 * (docs/decisions.md). Identifiers use the Danish systems: SOR and the provider number
 * (ydernummer) for organisations, the authorisation id (autorisations-ID) for staff. */
#include "fhir/fhir.h"

#include <stdio.h>
#include <string.h>

json_t *ob_fhir_human_name(const char *full)
{
    const char *name = full ? full : "";
    const char *sp = strrchr(name, ' ');
    json_t *n = json_pack("{s:s, s:s}", "text", name, "family", sp ? sp + 1 : name);
    if (n && sp) {
        char given[128];
        snprintf(given, sizeof given, "%.*s", (int)(sp - name), name);
        json_object_set_new(n, "given", json_pack("[s]", given));
    }
    return n;
}

json_t *ob_fhir_organization(const ob_fhir_org *o)
{
    json_t *r =
        json_pack("{s:s, s:s, s:b}", "resourceType", "Organization", "id", o->id, "active", 1);
    if (!r)
        return NULL;
    json_t *ids = json_array();
    if (o->sor && o->sor[0])
        json_array_append_new(
            ids, json_pack("{s:s, s:s}", "system", OB_FHIR_SOR_SYSTEM, "value", o->sor));
    if (o->provider_no && o->provider_no[0])
        json_array_append_new(ids, json_pack("{s:s, s:s}", "system", OB_FHIR_PROVIDER_SYSTEM,
                                             "value", o->provider_no));
    if (json_array_size(ids))
        json_object_set_new(r, "identifier", ids);
    else
        json_decref(ids);
    if (o->kind)
        json_object_set_new(r, "type",
                            json_pack("[{s:[{s:s, s:s}]}]", "coding", "system", OB_FHIR_CS_ORG_KIND,
                                      "code", o->kind));
    json_object_set_new(r, "name", json_string(o->name ? o->name : o->id));
    if (o->address && o->address[0])
        json_object_set_new(r, "address", json_pack("[{s:s}]", "text", o->address));
    if (o->parent) {
        char ref[160];
        snprintf(ref, sizeof ref, "Organization/%.140s", o->parent);
        json_object_set_new(r, "partOf", json_pack("{s:s}", "reference", ref));
    }
    return r;
}

json_t *ob_fhir_practitioner(const ob_fhir_pro *p)
{
    json_t *r = json_pack("{s:s, s:s, s:b, s:[o]}", "resourceType", "Practitioner", "id", p->id,
                          "active", 1, "name", ob_fhir_human_name(p->name));
    if (r && p->authorisation_id && p->authorisation_id[0])
        json_object_set_new(r, "identifier",
                            json_pack("[{s:s, s:s}]", "system", OB_FHIR_AUTHORISATION_SYSTEM,
                                      "value", p->authorisation_id));
    return r;
}
