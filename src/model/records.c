/* records.c - strict parsing of import records into the index (see records.h).
 * One function per record type; each first refuses unknown fields, then reads and
 * checks every field, and only then changes the index, so a failed record changes
 * nothing in it. Block and consent records pass the same policy checks as live changes
 * (R-BLK-2, R-BLK-3, R-CON-1). */
#include "model/records.h"

#include "core/text.h"

#include <string.h>

#include "core/cpr.h"
#include "policy/policy.h"

/* A value as an error message may quote it: not when it holds a CPR number (R-CPR-2;
 * these messages reach API callers and operators' terminals). */
static const char *shown(const char *s)
{
    return ob_cpr_in_text(s) ? "(not shown: it holds a CPR number)" : s;
}

void ob_loader_init(ob_loader *L, ob_index *ix, const ob_keys *keys)
{
    memset(L, 0, sizeof *L);
    L->ix = ix;
    L->keys = keys;
    L->next_block_id = 1;
    L->next_consent_id = 1;
    L->now = ob_time_now();
}

ob_status ob_json_only(json_t *obj, const char *const *allowed, ob_err *e)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        (void)v;
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok)
            return ob_err_set(e, OB_EINVAL, "unknown field '%.40s'", key);
    }
    return OB_OK;
}

static ob_status str_field(json_t *obj, const char *key, bool required, const char **out, ob_err *e)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return ob_err_set(e, OB_EINVAL, "missing field '%s'", key);
        return OB_OK;
    }
    if (!json_is_string(v))
        return ob_err_set(e, OB_EINVAL, "field '%s' must be a string", key);
    if (json_string_length(v) > 4096)
        return ob_err_set(e, OB_ELIMIT, "field '%s' is longer than 4096 characters", key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return ob_err_set(e, OB_EINVAL, "field '%s' contains a NUL character", key);
    *out = json_string_value(v);
    if (required && !**out)
        return ob_err_set(e, OB_EINVAL, "field '%s' is empty", key);
    return OB_OK;
}

/* A string that is kept as free text: also no CPR-like number and nothing that displays
 * as something else (R-CPR-3, core/text.h). */
static ob_status text_field(json_t *obj, const char *key, bool required, const char **out,
                            ob_err *e)
{
    ob_status rc = str_field(obj, key, required, out, e);
    if (rc || !*out)
        return rc;
    char what[48];
    snprintf(what, sizeof what, "field '%s'", key);
    return ob_text_kept(*out, strlen(*out), what, e);
}

static ob_status bool_field(json_t *obj, const char *key, bool dflt, bool *out, ob_err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = dflt;
        return OB_OK;
    }
    if (!json_is_boolean(v))
        return ob_err_set(e, OB_EINVAL, "field '%s' must be true or false", key);
    *out = json_is_true(v);
    return OB_OK;
}

typedef ob_status (*time_parser)(const char *, ob_time *, ob_err *);

static ob_status json_time_with(json_t *obj, const char *key, ob_time dflt, time_parser parse,
                                ob_time *out, ob_err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return OB_OK;
    }
    if (!json_is_string(v))
        return ob_err_set(e, OB_EINVAL, "field '%s' must be an ISO 8601 date or time", key);
    if (parse(json_string_value(v), out, e))
        return ob_err_wrap(e, "field '%s'", key);
    return OB_OK;
}

ob_status ob_json_time(json_t *obj, const char *key, ob_time dflt, ob_time *out, ob_err *e)
{
    return json_time_with(obj, key, dflt, ob_time_parse, out, e);
}

ob_status ob_json_catmask(json_t *obj, const char *key, ob_catmask dflt, ob_catmask *out, ob_err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = dflt;
        return OB_OK;
    }
    if (json_is_string(v) && strcmp(json_string_value(v), "all") == 0) {
        *out = OB_CAT_ALL;
        return OB_OK;
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return ob_err_set(e, OB_EINVAL,
                          "field '%s' must be \"all\" or a non-empty list of categories", key);
    ob_catmask m = 0;
    size_t i;
    json_t *c;
    json_array_foreach(v, i, c)
    {
        int cat = ob_category_parse(json_string_value(c));
        if (cat < 0)
            return ob_err_set(e, OB_EINVAL, "field '%s': unknown category '%.40s'", key,
                              json_is_string(c) ? shown(json_string_value(c)) : "(not a string)");
        m |= OB_CAT_BIT(cat);
    }
    *out = m;
    return OB_OK;
}

static ob_status enum_field(json_t *obj, const char *key, int (*parse)(const char *), int dflt,
                            int *out, ob_err *e)
{
    const char *s;
    ob_status rc = str_field(obj, key, dflt < 0, &s, e);
    if (rc)
        return rc;
    if (!s) {
        *out = dflt;
        return OB_OK;
    }
    int v = parse(s);
    if (v < 0)
        return ob_err_set(e, OB_EINVAL, "field '%s': unknown value '%.40s'", key, shown(s));
    *out = v;
    return OB_OK;
}

typedef uint32_t (*finder)(const ob_index *, const char *);

static ob_status ref_field(const ob_index *ix, json_t *obj, const char *key, finder find,
                           bool required, uint32_t *out, ob_err *e)
{
    const char *s;
    ob_status rc = str_field(obj, key, required, &s, e);
    if (rc)
        return rc;
    *out = OB_NONE;
    if (!s)
        return OB_OK;
    *out = find(ix, s);
    if (*out == OB_NONE)
        return ob_err_set(e, OB_EINVAL, "field '%s': no such id '%.80s'", key, shown(s));
    return OB_OK;
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((rc = (x)) != OB_OK)                                                                   \
            return rc;                                                                             \
    } while (0)

static ob_sector default_sector(ob_org_kind k)
{
    switch (k) {
    case OB_ORG_REGION:
    case OB_ORG_HOSPITAL:
    case OB_ORG_DEPARTMENT:
    case OB_ORG_PRIVATE_HOSPITAL:
        return OB_SECTOR_SECONDARY;
    case OB_ORG_MUNICIPALITY:
    case OB_ORG_MUNICIPAL_UNIT:
        return OB_SECTOR_MUNICIPAL;
    case OB_ORG_GP_CLINIC:
    case OB_ORG_SPECIALIST:
    case OB_ORG_DENTIST:
    case OB_ORG_OUT_OF_HOURS:
        return OB_SECTOR_PRIMARY;
    case OB_ORG_ADDICTION_CENTRE:
        return OB_SECTOR_MUNICIPAL;
    case OB_ORG_SOCIAL_SERVICES:
    case OB_ORG_JOBCENTRE:
        return OB_SECTOR_SOCIAL;
    default:
        return OB_SECTOR_OTHER;
    }
}

static ob_status copy_small(const char *s, char *dst, size_t cap, const char *what, ob_err *e)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= cap)
        return ob_err_set(e, OB_EINVAL, "field '%s' is longer than %zu characters", what, cap - 1);
    if (n)
        memcpy(dst, s, n);
    dst[n] = '\0';
    return OB_OK;
}

static ob_status rec_org(ob_loader *L, json_t *o, ob_err *e)
{
    static const char *const f[] = {
        "type", "id", "kind", "name", "parent", "sector", "sor", "address", "provider_number",
        NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_org org;
    memset(&org, 0, sizeof org);
    int kind, sector;
    const char *sor, *prov;
    TRY(str_field(o, "id", true, (const char **)&org.ext_id, e));
    TRY(str_field(o, "name", true, (const char **)&org.name, e));
    TRY(str_field(o, "address", false, (const char **)&org.address, e));
    TRY(enum_field(o, "kind", ob_org_kind_parse, -1, &kind, e));
    TRY(enum_field(o, "sector", ob_sector_parse, (int)default_sector((ob_org_kind)kind), &sector,
                   e));
    TRY(ref_field(L->ix, o, "parent", ob_index_find_org, false, &org.parent, e));
    TRY(str_field(o, "sor", false, &sor, e));
    TRY(str_field(o, "provider_number", false, &prov, e));
    TRY(copy_small(sor, org.sor, sizeof org.sor, "sor", e));
    if (prov && (strlen(prov) != 6 || strspn(prov, "0123456789") != 6))
        return ob_err_set(e, OB_EINVAL, "field 'provider_number' must be six digits");
    TRY(copy_small(prov, org.provider_no, sizeof org.provider_no, "provider_number", e));
    org.kind = (uint8_t)kind;
    org.sector = (uint8_t)sector;
    return ob_index_add_org(L->ix, &org, NULL, e);
}

static ob_status rec_professional(ob_loader *L, json_t *o, ob_err *e)
{
    static const char *const f[] = {"type",  "id", "name", "role", "authorisation_id",
                                    "sites", NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_professional p;
    memset(&p, 0, sizeof p);
    int role;
    const char *auth;
    TRY(str_field(o, "id", true, (const char **)&p.ext_id, e));
    TRY(str_field(o, "name", true, (const char **)&p.name, e));
    TRY(enum_field(o, "role", ob_role_parse, -1, &role, e));
    TRY(str_field(o, "authorisation_id", false, &auth, e));
    TRY(copy_small(auth, p.authorisation_id, sizeof p.authorisation_id, "authorisation_id", e));
    p.role = (uint8_t)role;
    p.authorised = ob_role_authorised((ob_role)role);
    if (p.authorised && !auth)
        return ob_err_set(e, OB_EINVAL, "an authorised %s needs an 'authorisation_id'",
                          ob_role_name((ob_role)role));
    if (!p.authorised && auth)
        return ob_err_set(e, OB_EINVAL, "a %s is not an authorised health person",
                          ob_role_name((ob_role)role));
    json_t *sites = json_object_get(o, "sites");
    if (!json_is_array(sites) || json_array_size(sites) == 0 || json_array_size(sites) > 8)
        return ob_err_set(e, OB_EINVAL, "field 'sites' must list 1 to 8 organisation ids");
    size_t i;
    json_t *s;
    json_array_foreach(sites, i, s)
    {
        uint32_t org = ob_index_find_org(L->ix, json_string_value(s));
        if (org == OB_NONE)
            return ob_err_set(e, OB_EINVAL, "field 'sites': no such organisation");
        p.sites[p.nsites++] = org;
    }
    return ob_index_add_professional(L->ix, &p, NULL, e);
}

static ob_status rec_patient(ob_loader *L, json_t *o, json_t **canon, ob_err *e)
{
    static const char *const f[] = {"type", "id", "name", "cpr", "gp", "cpr_enc", "cpr_hash", NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_patient p;
    memset(&p, 0, sizeof p);
    const char *cpr, *enc, *hash;
    TRY(str_field(o, "id", true, (const char **)&p.ext_id, e));
    TRY(str_field(o, "name", false, (const char **)&p.name, e));
    TRY(ref_field(L->ix, o, "gp", ob_index_find_org, false, &p.gp_clinic, e));
    TRY(str_field(o, "cpr", false, &cpr, e));
    TRY(str_field(o, "cpr_enc", false, &enc, e));
    TRY(str_field(o, "cpr_hash", false, &hash, e));
    if (p.gp_clinic != OB_NONE && L->ix->orgs[p.gp_clinic].kind != OB_ORG_GP_CLINIC)
        return ob_err_set(e, OB_EINVAL, "field 'gp' must name a GP clinic");
    char enc_hex[OB_CPR_ENC_HEX];
    if (cpr) {
        ob_cpr c;
        if (enc || hash)
            return ob_err_set(e, OB_EINVAL, "give either 'cpr' or 'cpr_enc' and 'cpr_hash'");
        TRY(ob_cpr_parse(cpr, strlen(cpr), &c, e));
        ob_cpr_hash(L->keys, c.digits, p.cpr_hash);
        ob_cpr_encrypt(L->keys, c.digits, enc_hex);
        p.birth = ob_cpr_birth(&c);
    } else if (enc && hash) {
        char digits[11];
        ob_cpr c;
        if (ob_unhex(hash, p.cpr_hash, 16) < 0)
            return ob_err_set(e, OB_EINVAL, "field 'cpr_hash' is malformed");
        TRY(ob_cpr_decrypt(L->keys, enc, digits, e));
        TRY(ob_cpr_parse(digits, 10, &c, e));
        p.birth = ob_cpr_birth(&c);
        uint8_t check[16];
        ob_cpr_hash(L->keys, c.digits, check);
        if (memcmp(check, p.cpr_hash, 16) != 0)
            return ob_err_set(e, OB_EINVAL, "field 'cpr_hash' does not match 'cpr_enc'");
        if (strlen(enc) != OB_CPR_ENC_HEX - 1)
            return ob_err_set(e, OB_EINVAL, "field 'cpr_enc' is malformed");
        memcpy(enc_hex, enc, OB_CPR_ENC_HEX);
    } else {
        return ob_err_set(e, OB_EINVAL, "a patient needs a 'cpr'");
    }
    TRY(ob_index_add_patient(L->ix, &p, NULL, e));
    /* canonical form: the CPR replaced by its ciphertext and keyed hash */
    char hash_hex[33];
    ob_hex(p.cpr_hash, 16, hash_hex);
    json_t *c = json_deep_copy(o);
    if (c)
        json_object_del(c, "cpr");
    if (!c || json_object_set_new(c, "cpr_enc", json_string(enc_hex)) ||
        json_object_set_new(c, "cpr_hash", json_string(hash_hex))) {
        json_decref(c);
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    }
    *canon = c;
    return OB_OK;
}

static ob_status period(json_t *o, const char *from_key, const char *to_key, bool from_required,
                        ob_time *from, ob_time *to, ob_err *e)
{
    ob_status rc;
    if (from_required && !json_object_get(o, from_key))
        return ob_err_set(e, OB_EINVAL, "missing field '%s'", from_key);
    TRY(ob_json_time(o, from_key, OB_TIME_MIN, from, e));
    TRY(json_time_with(o, to_key, OB_TIME_MAX, ob_time_parse_end, to, e)); /* a date: all day */
    if (*to < *from)
        return ob_err_set(e, OB_EINVAL, "'%s' is before '%s'", to_key, from_key);
    return OB_OK;
}

static ob_status rec_relative(ob_loader *L, json_t *o, uint32_t *pat, ob_err *e)
{
    static const char *const f[] = {"type",  "patient", "holder", "capacity",
                                    "scope", "from",    "to",     NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_attorney a;
    memset(&a, 0, sizeof a);
    int cap;
    TRY(ref_field(L->ix, o, "patient", ob_index_find_patient, true, pat, e));
    TRY(ref_field(L->ix, o, "holder", ob_index_find_patient, true, &a.holder, e));
    TRY(enum_field(o, "capacity", ob_capacity_parse, OB_CAP_ATTORNEY, &cap, e));
    if (cap != OB_CAP_ATTORNEY && cap != OB_CAP_PARENT && cap != OB_CAP_GUARDIAN)
        return ob_err_set(e, OB_EINVAL, "field 'capacity' is attorney, parent or guardian");
    a.capacity = (uint8_t)cap;
    TRY(ob_json_catmask(o, "scope", 0, &a.scope, e));
    if (!a.scope)
        return ob_err_set(e, OB_EINVAL, "missing field 'scope'");
    TRY(period(o, "from", "to", true, &a.from, &a.to, e));
    return ob_index_add_attorney(L->ix, *pat, &a, e);
}

static ob_status rec_relationship(ob_loader *L, json_t *o, uint32_t *pat, ob_err *e)
{
    static const char *const f[] = {"type", "patient", "org",   "professional", "kind",
                                    "from", "to",      "event", "source",       NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_relationship r;
    memset(&r, 0, sizeof r);
    int kind;
    const char *event, *client;
    TRY(ref_field(L->ix, o, "patient", ob_index_find_patient, true, pat, e));
    TRY(ref_field(L->ix, o, "org", ob_index_find_org, true, &r.org, e));
    TRY(ref_field(L->ix, o, "professional", ob_index_find_professional, false, &r.professional, e));
    TRY(enum_field(o, "kind", ob_rel_kind_parse, OB_REL_TREATMENT, &kind, e));
    r.kind = (uint8_t)kind;
    TRY(period(o, "from", "to", true, &r.from, &r.to, e));
    /* issue 21: a relationship a source's event started names the event and the source */
    TRY(str_field(o, "event", false, &event, e));
    TRY(str_field(o, "source", false, &client, e));
    if ((event == NULL) != (client == NULL) || (event && strlen(event) > 400))
        return ob_err_set(e, OB_EINVAL, "fields 'event' and 'source' come together");
    if (event) {
        const ob_source *src = ob_index_find_source(L->ix, client);
        if (!src)
            return ob_err_set(e, OB_EINVAL, "field 'source': no such source system");
        size_t cl = strlen(client); /* an event is named by its reporter first */
        if (strncmp(event, client, cl) != 0 || event[cl] != '|')
            return ob_err_set(e, OB_EINVAL, "field 'event' must begin with its source's id");
        r.event = ob_event_key(event);
        ob_change_actor who = {OB_ACTOR_SOURCE_SYSTEM, (uint32_t)(src - L->ix->sources)};
        if (!L->replay)
            TRY(ob_policy_check_relationship_start(L->ix, &r, &who, e));
    }
    return ob_index_add_relationship(L->ix, *pat, &r, e);
}

static ob_status rec_permission(ob_loader *L, json_t *o, ob_err *e)
{
    static const char *const f[] = {"type", "professional", "site", "kind", "from", "to", NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_permission p;
    memset(&p, 0, sizeof p);
    int kind;
    TRY(ref_field(L->ix, o, "professional", ob_index_find_professional, true, &p.professional, e));
    TRY(ref_field(L->ix, o, "site", ob_index_find_org, true, &p.site, e));
    TRY(enum_field(o, "kind", ob_perm_kind_parse, -1, &kind, e));
    p.kind = (uint8_t)kind;
    TRY(period(o, "from", "to", true, &p.from, &p.to, e));
    if (p.kind == OB_PERM_ASSIST && L->ix->pros[p.professional].authorised)
        return ob_err_set(e, OB_EINVAL,
                          "technical-assistance permission is for non-authorised staff");
    if (p.kind == OB_PERM_QUALITY && !L->ix->pros[p.professional].authorised)
        return ob_err_set(e, OB_EINVAL,
                          "quality-work permission is for authorised health "
                          "persons");
    return ob_index_add_permission(L->ix, &p, e);
}

static ob_status rec_cover(ob_loader *L, json_t *o, ob_err *e)
{
    static const char *const f[] = {"type", "substitute", "covered", "from", "to", NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_cover c;
    TRY(ref_field(L->ix, o, "substitute", ob_index_find_org, true, &c.substitute, e));
    TRY(ref_field(L->ix, o, "covered", ob_index_find_org, true, &c.covered, e));
    TRY(period(o, "from", "to", true, &c.from, &c.to, e));
    if (c.to == OB_TIME_MAX)
        return ob_err_set(e, OB_EINVAL, "holiday cover needs an end date ('to')");
    return ob_index_add_cover(L->ix, &c, e);
}

/* Seed 001 case 22 (issue 21): {"type":"quality_criteria","site":S,"org":O,"role":R,
 * "from":..,"to":..,"by":P}: the management of S permits quality work on S's data to every
 * authorised professional within O (any without "org") with role R (any without "role").
 * With "by", P must manage S (policy/changes.c); without, it is an operator's import. */
static ob_status rec_criteria(ob_loader *L, json_t *o, ob_err *e)
{
    static const char *const f[] = {"type", "site", "org", "role", "from", "to", "by", NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_criteria c;
    memset(&c, 0, sizeof c);
    uint32_t by;
    const char *role;
    TRY(ref_field(L->ix, o, "site", ob_index_find_org, true, &c.site, e));
    TRY(ref_field(L->ix, o, "org", ob_index_find_org, false, &c.org, e));
    TRY(ref_field(L->ix, o, "by", ob_index_find_professional, false, &by, e));
    TRY(str_field(o, "role", false, &role, e));
    int r = role ? ob_role_parse(role) : OB_ROLE_COUNT;
    if (r < 0 || (role && !ob_role_authorised((ob_role)r)))
        return ob_err_set(e, OB_EINVAL,
                          "field 'role': an authorised role (quality work is theirs)");
    c.role = (uint8_t)r;
    TRY(period(o, "from", "to", true, &c.from, &c.to, e));
    if (c.to == OB_TIME_MAX)
        return ob_err_set(e, OB_EINVAL, "criteria need an end date ('to')");
    if (by != OB_NONE && !L->replay && !ob_policy_manages(L->ix, by, c.site, L->now))
        return ob_err_set(e, OB_EDENIED, "only the site's management sets criteria for its data");
    return ob_index_add_criteria(L->ix, &c, e);
}

/* R-ACC-1 "necessary" (issue 21): an operator's row of the necessity table, e.g.
 * {"type":"necessity","relationship":"home_nursing","role":"nurse","categories":[...]};
 * without "role", every role's row for that relationship kind. */
static ob_status rec_necessity(ob_loader *L, json_t *o, ob_err *e)
{
    static const char *const f[] = {"type", "relationship", "role", "categories", NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    const char *kind, *role;
    TRY(str_field(o, "relationship", true, &kind, e));
    TRY(str_field(o, "role", false, &role, e));
    int k = ob_rel_kind_parse(kind), r = role ? ob_role_parse(role) : -1;
    if (k < 0)
        return ob_err_set(e, OB_EINVAL, "field 'relationship': unknown relationship kind");
    if (role && r < 0)
        return ob_err_set(e, OB_EINVAL, "field 'role': unknown role");
    if (!json_is_array(json_object_get(o, "categories")))
        return ob_err_set(e, OB_EINVAL, "field 'categories' must list categories (or be [])");
    ob_catmask m = 0;
    if (json_array_size(json_object_get(o, "categories")))
        TRY(ob_json_catmask(o, "categories", 0, &m, e));
    for (int i = 0; i < OB_ROLE_COUNT; i++)
        if (!role || i == r)
            L->ix->necessary[k][i] = m;
    return OB_OK;
}

static ob_status rec_project(ob_loader *L, json_t *o, ob_err *e)
{
    static const char *const f[] = {
        "type",       "id",   "title", "approval_ref", "controller_permission", "identifiable",
        "categories", "from", "to",    "members",      "gp_permissions",        NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_project p;
    memset(&p, 0, sizeof p);
    const char *ref;
    TRY(str_field(o, "id", true, (const char **)&p.ext_id, e));
    TRY(str_field(o, "title", true, (const char **)&p.title, e));
    TRY(str_field(o, "approval_ref", false, &ref, e));
    TRY(copy_small(ref, p.approval_ref, sizeof p.approval_ref, "approval_ref", e));
    TRY(bool_field(o, "controller_permission", false, &p.controller_permission, e));
    TRY(bool_field(o, "identifiable", false, &p.identifiable, e));
    TRY(ob_json_catmask(o, "categories", 0, &p.categories, e));
    if (!p.categories)
        return ob_err_set(e, OB_EINVAL, "missing field 'categories'");
    TRY(period(o, "from", "to", true, &p.from, &p.to, e));
    json_t *m = json_object_get(o, "members");
    if (!json_is_array(m) || json_array_size(m) > 1000)
        return ob_err_set(e, OB_EINVAL, "field 'members' must list professional ids");
    uint32_t members[1000];
    size_t i;
    json_t *x;
    json_array_foreach(m, i, x)
    {
        members[i] = ob_index_find_professional(L->ix, json_string_value(x));
        if (members[i] == OB_NONE)
            return ob_err_set(e, OB_EINVAL, "field 'members': no such professional");
    }
    p.members = members;
    p.nmembers = (uint32_t)json_array_size(m);
    /* seed 000: the GP clinics that permitted the use of their records */
    json_t *g = json_object_get(o, "gp_permissions");
    uint32_t gps[256];
    if (g && (!json_is_array(g) || json_array_size(g) > 256))
        return ob_err_set(e, OB_EINVAL, "field 'gp_permissions' must list at most 256 GP clinics");
    json_array_foreach(g, i, x)
    {
        gps[i] = ob_index_find_org(L->ix, json_string_value(x));
        if (gps[i] == OB_NONE)
            return ob_err_set(e, OB_EINVAL, "field 'gp_permissions': no such organisation");
    }
    p.gps = gps;
    p.ngps = g ? (uint32_t)json_array_size(g) : 0;
    return ob_index_add_project(L->ix, &p, NULL, e);
}

static ob_status change_actor(ob_loader *L, json_t *o, const char *key, uint32_t patient,
                              ob_change_actor *who, ob_err *e)
{
    ob_status rc;
    uint32_t pro;
    TRY(ref_field(L->ix, o, key, ob_index_find_professional, false, &pro, e));
    if (pro == OB_NONE) {
        who->actor_kind = OB_ACTOR_CITIZEN;
        who->actor = patient;
    } else {
        who->actor_kind = OB_ACTOR_PROFESSIONAL;
        who->actor = pro;
    }
    return OB_OK;
}

static ob_status id_field(json_t *o, uint64_t next, uint64_t *out, ob_err *e)
{
    json_t *v = json_object_get(o, "id");
    if (!v) {
        *out = next;
        return OB_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return ob_err_set(e, OB_EINVAL, "field 'id' must be a positive integer");
    *out = (uint64_t)json_integer_value(v);
    return OB_OK;
}

/* "operator": the name of the operator who entered a change at the console (the CLI
 * writes it; the log names them too). Kept as a flag in the index; a name, so no CPR. */
static ob_status operator_field(json_t *o, bool *by_operator, ob_err *e)
{
    const char *name;
    ob_status rc;
    TRY(str_field(o, "operator", false, &name, e));
    if (name && (strlen(name) > 64 || ob_cpr_in_text(name)))
        return ob_err_set(e, OB_EINVAL, "field 'operator' must be a name of at most 64 bytes");
    *by_operator = name != NULL;
    return OB_OK;
}

static ob_status rec_block(ob_loader *L, json_t *o, ob_record_out *out, ob_err *e)
{
    static const char *const f[] = {
        "type",       "id",         "patient",  "kind",      "target",  "include_subunits",
        "categories", "valid_from", "valid_to", "data_from", "data_to", "by_gp",
        "created",    "operator",   NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_block b;
    memset(&b, 0, sizeof b);
    int kind;
    uint32_t pat;
    TRY(ref_field(L->ix, o, "patient", ob_index_find_patient, true, &pat, e));
    TRY(enum_field(o, "kind", ob_block_kind_parse, -1, &kind, e));
    b.kind = (uint8_t)kind;
    if (kind == OB_BLOCK_PROFESSIONAL)
        TRY(ref_field(L->ix, o, "target", ob_index_find_professional, true, &b.target, e));
    else if (kind == OB_BLOCK_SITE)
        TRY(ref_field(L->ix, o, "target", ob_index_find_org, true, &b.target, e));
    else if (json_object_get(o, "target"))
        return ob_err_set(e, OB_EINVAL, "a %s block has no 'target'",
                          kind == OB_BLOCK_NOTES ? "notes" : "period");
    else
        b.target = OB_NONE;
    TRY(bool_field(o, "include_subunits", true, &b.include_subunits, e));
    TRY(ob_json_catmask(o, "categories",
                        kind == OB_BLOCK_NOTES ? OB_CAT_BIT(OB_CAT_CLINICAL_NOTE) : OB_CAT_ALL,
                        &b.categories, e));
    if (kind == OB_BLOCK_NOTES &&
        (b.categories != OB_CAT_BIT(OB_CAT_CLINICAL_NOTE) || json_object_get(o, "data_from") ||
         json_object_get(o, "data_to")))
        return ob_err_set(e, OB_EINVAL,
                          "a notes block (R-SRC-4) covers clinical notes only, of any time");
    TRY(period(o, "valid_from", "valid_to", false, &b.valid_from, &b.valid_to, e));
    TRY(period(o, "data_from", "data_to", false, &b.data_from, &b.data_to, e));
    bool op;
    TRY(operator_field(o, &op, e));
    TRY(id_field(o, L->next_block_id, &b.id, e));
    if (ob_index_block_owner(L->ix, b.id) != OB_NONE) /* unique across patients */
        return ob_err_set(e, OB_EINVAL,
                          "block id %llu is already used (ids are unique across all patients)",
                          (unsigned long long)b.id);
    ob_change_actor who;
    TRY(change_actor(L, o, "by_gp", pat, &who, e));
    TRY(ob_policy_check_block(L->ix, pat, &b, &who, e));
    /* Issue 24: active ones are capped, checked after the rules (a refused caller learns
     * nothing of them); a replay loads what was stored under any earlier bound. */
    if (!L->replay && L->ix->patients[pat].nblocks >= OB_MAX_ACTIVE_GRANTS)
        return ob_err_set(e, OB_ECONFLICT,
                          "the patient already has %d active blocks, the most allowed; lift "
                          "one first",
                          OB_MAX_ACTIVE_GRANTS);
    TRY(ob_index_add_block(L->ix, pat, &b, e));
    if (b.id >= L->next_block_id)
        L->next_block_id = b.id + 1;
    out->assigned = b.id;
    out->patient = pat;
    return OB_OK;
}

static ob_status rec_consent(ob_loader *L, json_t *o, ob_record_out *out, ob_err *e)
{
    static const char *const f[] = {
        "type", "id",   "patient",  "kind",         "recipient", "categories", "from", "to",
        "text", "form", "taken_by", "identifiable", "created",   "operator",   NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_consent c;
    memset(&c, 0, sizeof c);
    int kind;
    uint32_t pat;
    const char *text, *form;
    TRY(ref_field(L->ix, o, "patient", ob_index_find_patient, true, &pat, e));
    TRY(enum_field(o, "kind", ob_consent_kind_parse, -1, &kind, e));
    c.kind = (uint8_t)kind;
    json_t *r = json_object_get(o, "recipient");
    if (!json_is_object(r) || json_object_size(r) != 1)
        return ob_err_set(e, OB_EINVAL,
                          "field 'recipient' must be one of {\"professional\":id}, "
                          "{\"org\":id}, {\"org_kind\":kind}, {\"project\":id}");
    if (json_object_get(r, "professional")) {
        c.recipient_kind = OB_RCPT_PERSON;
        TRY(ref_field(L->ix, r, "professional", ob_index_find_professional, true, &c.recipient, e));
    } else if (json_object_get(r, "org")) {
        c.recipient_kind = OB_RCPT_ORG;
        TRY(ref_field(L->ix, r, "org", ob_index_find_org, true, &c.recipient, e));
    } else if (json_object_get(r, "org_kind")) {
        int k;
        c.recipient_kind = OB_RCPT_ORG_KIND;
        TRY(enum_field(r, "org_kind", ob_org_kind_parse, -1, &k, e));
        c.recipient = (uint32_t)k;
    } else if (json_object_get(r, "project")) {
        c.recipient_kind = OB_RCPT_PROJECT;
        TRY(ref_field(L->ix, r, "project", ob_index_find_project, true, &c.recipient, e));
    } else {
        return ob_err_set(e, OB_EINVAL, "field 'recipient' has an unknown kind");
    }
    TRY(ob_json_catmask(o, "categories", 0, &c.categories, e));
    TRY(period(o, "from", "to", true, &c.from, &c.to, e));
    TRY(text_field(o, "text", false, &text, e));
    TRY(str_field(o, "form", false, &form, e));
    if (form && strcmp(form, "written") != 0 && strcmp(form, "oral") != 0)
        return ob_err_set(e, OB_EINVAL, "field 'form' is written or oral");
    c.form = form && strcmp(form, "oral") == 0;
    TRY(ref_field(L->ix, o, "taken_by", ob_index_find_professional, false, &c.taken_by, e));
    TRY(bool_field(o, "identifiable", false, &c.identifiable, e));
    TRY(ob_json_time(o, "created", L->now, &c.created, e));
    TRY(operator_field(o, &c.by_operator, e));
    TRY(id_field(o, L->next_consent_id, &c.id, e));
    if (ob_index_consent_owner(L->ix, c.id) != OB_NONE) /* unique across patients */
        return ob_err_set(e, OB_EINVAL,
                          "consent id %llu is already used (ids are unique across all patients)",
                          (unsigned long long)c.id);
    ob_change_actor who = {OB_ACTOR_CITIZEN, pat};
    if (c.form == 1 && c.taken_by != OB_NONE && !L->replay) {
        who.actor_kind = OB_ACTOR_PROFESSIONAL;
        who.actor = c.taken_by;
    }
    TRY(ob_policy_check_consent(L->ix, pat, &c, text, &who, e));
    if (!L->replay && L->ix->patients[pat].nconsents >= OB_MAX_ACTIVE_GRANTS)
        return ob_err_set(e, OB_ECONFLICT,
                          "the patient already has %d active consents, the most allowed; "
                          "revoke one first",
                          OB_MAX_ACTIVE_GRANTS);
    c.active = true;
    c.revoked_at = OB_TIME_MAX;
    TRY(ob_index_add_consent(L->ix, pat, &c, e));
    if (c.id >= L->next_consent_id)
        L->next_consent_id = c.id + 1;
    out->assigned = c.id;
    out->patient = pat;
    return OB_OK;
}

static ob_status rec_lift(ob_loader *L, json_t *o, bool is_block, ob_record_out *out, ob_err *e)
{
    static const char *const fb[] = {"type", "patient", "block", "by", "at", "operator", NULL};
    static const char *const fc[] = {"type", "patient", "consent", "by", "at", "operator", NULL};
    ob_status rc;
    bool op;
    TRY(ob_json_only(o, is_block ? fb : fc, e));
    TRY(operator_field(o, &op, e));
    uint32_t pat;
    TRY(ref_field(L->ix, o, "patient", ob_index_find_patient, true, &pat, e));
    json_t *idv = json_object_get(o, is_block ? "block" : "consent");
    if (!json_is_integer(idv))
        return ob_err_set(e, OB_EINVAL, "field '%s' must be the integer id",
                          is_block ? "block" : "consent");
    uint64_t id = (uint64_t)json_integer_value(idv);
    ob_time at;
    TRY(ob_json_time(o, "at", L->now, &at, e));
    ob_change_actor who;
    TRY(change_actor(L, o, "by", pat, &who, e));
    out->patient = pat;
    out->assigned = id;
    if (is_block) {
        ob_block *b = ob_index_find_block(L->ix, pat, id);
        if (!b)
            return ob_err_set(e, OB_ENOTFOUND, "the patient has no block %llu",
                              (unsigned long long)id);
        TRY(ob_policy_check_block_lift(L->ix, pat, b, &who, e));
        /* into the history: the engine's arrays hold active ones only (issue 24) */
        TRY(ob_index_retire_block(L->ix, pat, id, e));
        ob_patient *p = &L->ix->patients[pat];
        p->old_blocks[p->nold_blocks - 1].active = false; /* R-BLK-5: takes effect at once */
        return OB_OK;
    }
    ob_consent *c = ob_index_find_consent(L->ix, pat, id);
    if (!c)
        return ob_err_set(e, OB_ENOTFOUND, "the patient has no consent %llu",
                          (unsigned long long)id);
    TRY(ob_policy_check_consent_revoke(L->ix, pat, c, &who, e));
    TRY(ob_index_retire_consent(L->ix, pat, id, e));
    ob_patient *p = &L->ix->patients[pat];
    c = &p->old_consents[p->nold_consents - 1];
    c->active = false; /* R-CON-2: effective at once; the record keeps the history */
    c->revoked_at = at;
    return OB_OK;
}

/* ---- ending grants (issue 24): an end replaces the grant's end, at once ---- */

static ob_status end_time(ob_loader *L, json_t *o, ob_time *at, ob_err *e)
{
    ob_status rc;
    TRY(ob_json_time(o, "at", L->now, at, e));
    if (*at > L->now && !L->replay)
        return ob_err_set(e, OB_EINVAL,
                          "field 'at': an end is recorded when it happens, "
                          "not in advance");
    return OB_OK;
}

/* A period holds its end (from <= t <= to): a grant ended at `at` holds until the second
 * before, so it gives nothing from `at` on, the request in the same second included. */
static void ended(ob_record_out *out, ob_time *to, ob_time at)
{
    out->ended_to = to;
    out->prev_to = *to;
    *to = at - 1;
}

/* listing {"patient", "clinic" (a GP clinic, or null: deregistered), "from"}: a change of the
 * patient's GP listing as the national health-insurance register reports it (issue 21,
 * R-ACC-1: "the GP listing ... as an import feed", `overblik listing import`). The listing
 * current at `from` with another clinic ends the day before; the new one starts at `from`;
 * the patient's GP becomes the clinic. The same change twice changes nothing; a change
 * dated before the current listing began is refused (the register reports in order). */
static ob_status rec_listing(ob_loader *L, json_t *o, ob_record_out *out, ob_err *e)
{
    static const char *const f[] = {"type", "patient", "clinic", "from", "operator", NULL};
    ob_status rc;
    bool op;
    TRY(ob_json_only(o, f, e));
    uint32_t pat, clinic = OB_NONE;
    TRY(ref_field(L->ix, o, "patient", ob_index_find_patient, true, &pat, e));
    json_t *cj = json_object_get(o, "clinic");
    if (!cj)
        return ob_err_set(e, OB_EINVAL, "missing field 'clinic' (a GP clinic, or null)");
    if (!json_is_null(cj)) {
        TRY(ref_field(L->ix, o, "clinic", ob_index_find_org, true, &clinic, e));
        if (L->ix->orgs[clinic].kind != OB_ORG_GP_CLINIC)
            return ob_err_set(e, OB_EINVAL, "field 'clinic' must name a GP clinic");
    }
    if (!json_object_get(o, "from"))
        return ob_err_set(e, OB_EINVAL, "missing field 'from'");
    ob_time from;
    TRY(ob_json_time(o, "from", 0, &from, e));
    TRY(operator_field(o, &op, e));
    out->patient = pat;
    ob_relationship *cur = ob_index_current_listing(L->ix, pat, from);
    if (cur && cur->from > from)
        return ob_err_set(e, OB_EINVAL,
                          "the change is dated before the patient's current listing began");
    if (cur && cur->org == clinic)
        return OB_OK; /* already listed there: the register repeats itself */
    if (cur)
        ended(out, &cur->to, from);
    if (clinic != OB_NONE) {
        ob_relationship r;
        memset(&r, 0, sizeof r);
        r.org = clinic;
        r.professional = OB_NONE;
        r.kind = OB_REL_LISTED;
        r.from = from;
        r.to = OB_TIME_MAX;
        TRY(ob_index_add_relationship(L->ix, pat, &r, e));
        out->ended_to = NULL; /* two changes: a failed store rebuilds the index */
    }
    L->ix->patients[pat].gp_clinic = clinic;
    return OB_OK;
}

/* relative_end: the patient revokes a power of attorney, or its holder renounces it */
static ob_status rec_relative_end(ob_loader *L, json_t *o, ob_record_out *out, ob_err *e)
{
    static const char *const f[] = {"type", "patient", "holder", "by", "at", "operator", NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    uint32_t pat, holder;
    const char *by;
    bool op;
    ob_time at;
    TRY(ref_field(L->ix, o, "patient", ob_index_find_patient, true, &pat, e));
    TRY(ref_field(L->ix, o, "holder", ob_index_find_patient, true, &holder, e));
    TRY(str_field(o, "by", false, &by, e));
    if (by && strcmp(by, "patient") != 0 && strcmp(by, "holder") != 0)
        return ob_err_set(e, OB_EINVAL, "field 'by' is patient or holder");
    TRY(operator_field(o, &op, e));
    TRY(end_time(L, o, &at, e));
    out->patient = pat;
    ob_attorney *a = ob_index_current_attorney(L->ix, pat, holder, at);
    if (!a)
        return ob_err_set(e, OB_ENOTFOUND, "no current power of attorney for this holder");
    ob_change_actor who = {OB_ACTOR_CITIZEN, by && strcmp(by, "holder") == 0 ? holder : pat};
    if (!L->replay)
        TRY(ob_policy_check_attorney_end(L->ix, pat, a, &who, e));
    ended(out, &a->to, at);
    return OB_OK;
}

/* relationship_end: the event from the site's source system (a discharge, a delisting) */
static ob_status rec_relationship_end(ob_loader *L, json_t *o, ob_record_out *out, ob_err *e)
{
    static const char *const f[] = {"type", "patient", "org",      "professional", "kind",
                                    "at",   "source",  "operator", "event",        NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    uint32_t pat, org, pro;
    int kind;
    const char *client, *event;
    bool op;
    ob_time at;
    TRY(ref_field(L->ix, o, "patient", ob_index_find_patient, true, &pat, e));
    TRY(ref_field(L->ix, o, "org", ob_index_find_org, true, &org, e));
    TRY(ref_field(L->ix, o, "professional", ob_index_find_professional, false, &pro, e));
    const char *ks;
    TRY(str_field(o, "kind", false, &ks, e));
    kind = ks ? ob_rel_kind_parse(ks) : -1;
    if (ks && kind < 0)
        return ob_err_set(e, OB_EINVAL, "field 'kind': unknown value '%.40s'", shown(ks));
    TRY(str_field(o, "source", true, &client, e));
    TRY(operator_field(o, &op, e));
    TRY(end_time(L, o, &at, e));
    const ob_source *src = ob_index_find_source(L->ix, client);
    if (!src)
        return ob_err_set(e, OB_EINVAL, "field 'source': no such source system");
    out->patient = pat;
    TRY(str_field(o, "event", false, &event, e));
    /* issue 21: the end event of the event that started it (a discharge for its admission) */
    ob_relationship *r = event ? ob_index_relationship_by_event(L->ix, pat, ob_event_key(event))
                               : ob_index_current_relationship(L->ix, pat, org, pro, kind, at);
    if (r && event && (r->org != org || !(r->from <= at && at <= r->to)))
        r = NULL;
    if (!r)
        return ob_err_set(e, OB_ENOTFOUND, "no current relationship matches");
    ob_change_actor who = {OB_ACTOR_SOURCE_SYSTEM, (uint32_t)(src - L->ix->sources)};
    /* issue 21: the source that reported the event ends what it started (a referral's
     * receiving clinic is not its site); the event names its reporter first */
    size_t cl = strlen(client);
    if (event && (strncmp(event, client, cl) != 0 || event[cl] != '|'))
        return ob_err_set(e, OB_EDENIED, "only the source that reported an event ends it");
    if (!L->replay && !event)
        TRY(ob_policy_check_relationship_end(L->ix, pat, r, &who, e));
    ended(out, &r->to, at);
    return OB_OK;
}

/* permission_end: the site's management ends a permission, or its holder gives it up */
static ob_status rec_permission_end(ob_loader *L, json_t *o, ob_record_out *out, ob_err *e)
{
    static const char *const f[] = {"type", "professional", "site",     "kind",
                                    "by",   "at",           "operator", NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    uint32_t pro, site, by;
    int kind;
    bool op;
    ob_time at;
    TRY(ref_field(L->ix, o, "professional", ob_index_find_professional, true, &pro, e));
    TRY(ref_field(L->ix, o, "site", ob_index_find_org, true, &site, e));
    TRY(enum_field(o, "kind", ob_perm_kind_parse, -1, &kind, e));
    TRY(ref_field(L->ix, o, "by", ob_index_find_professional, true, &by, e));
    TRY(operator_field(o, &op, e));
    TRY(end_time(L, o, &at, e));
    ob_permission *p = ob_index_current_permission(L->ix, pro, site, (uint8_t)kind, at);
    if (!p)
        return ob_err_set(e, OB_ENOTFOUND, "no current permission matches");
    ob_change_actor who = {OB_ACTOR_PROFESSIONAL, by};
    if (!L->replay)
        TRY(ob_policy_check_permission_end(L->ix, p, at, &who, e));
    ended(out, &p->to, at);
    p->revoked = true;
    out->ended_revoked = &p->revoked;
    return OB_OK;
}

static ob_status rec_disclosure(ob_loader *L, json_t *o, uint32_t *pat, ob_err *e)
{
    static const char *const f[] = {"type",   "patient", "from",       "to",
                                    "origin", "at",      "categories", NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_disclosure d;
    memset(&d, 0, sizeof d);
    TRY(ref_field(L->ix, o, "patient", ob_index_find_patient, true, pat, e));
    TRY(ref_field(L->ix, o, "from", ob_index_find_professional, true, &d.from_professional, e));
    TRY(ref_field(L->ix, o, "to", ob_index_find_org, true, &d.to_org, e));
    TRY(ref_field(L->ix, o, "origin", ob_index_find_org, true, &d.origin_org, e));
    TRY(ob_json_time(o, "at", L->now, &d.at, e));
    if (json_object_get(o, "categories")) /* R-ACC-19; without: a discharge summary */
        TRY(ob_json_catmask(o, "categories", 0, &d.categories, e));
    return ob_index_add_disclosure(L->ix, *pat, &d, e);
}

static ob_status rec_item(ob_loader *L, json_t *o, ob_record_out *out, ob_err *e)
{
    static const char *const f[] = {"type",    "id",     "patient",  "category", "origin",
                                    "time",    "source", "code",     "value",    "end",
                                    "address", "title",  "status",   "text",     "display",
                                    "dose",    "lot",    "followup", "plan",     NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_item *it = &out->item;
    memset(it, 0, sizeof *it);
    uint32_t pat, org;
    int cat, src;
    TRY(str_field(o, "id", true, &it->id, e));
    TRY(ref_field(L->ix, o, "patient", ob_index_find_patient, true, &pat, e));
    TRY(ref_field(L->ix, o, "origin", ob_index_find_org, true, &org, e));
    TRY(enum_field(o, "category", ob_category_parse, -1, &cat, e));
    TRY(enum_field(o, "source", ob_source_parse, OB_SRC_CLINICAL, &src, e));
    if (!json_object_get(o, "time"))
        return ob_err_set(e, OB_EINVAL, "missing field 'time'");
    TRY(ob_json_time(o, "time", 0, &it->time, e));
    ob_time end;
    TRY(ob_json_time(o, "end", it->time, &end, e));
    if (end < it->time)
        return ob_err_set(e, OB_EINVAL, "'end' is before 'time'");
    TRY(str_field(o, "code", false, &it->code, e));
    const char *s;
    TRY(text_field(o, "address", false, &s, e));
    TRY(text_field(o, "title", false, &s, e));
    TRY(str_field(o, "status", false, &s, e));
    /* what the FHIR forms show (fhir/documents.c): kept free text, no CPR number (R-CPR-3) */
    TRY(text_field(o, "text", false, &s, e));
    TRY(text_field(o, "display", false, &s, e));
    TRY(text_field(o, "dose", false, &s, e));
    TRY(text_field(o, "lot", false, &s, e));
    TRY(text_field(o, "plan", false, &s, e));
    const char *flag = NULL;
    TRY(str_field(o, "followup", false, &flag, e));
    if (flag &&
        (cat != OB_CAT_DISCHARGE_SUMMARY || (strcmp(flag, "red") && strcmp(flag, "yellow") &&
                                             strcmp(flag, "green") && strcmp(flag, "white"))))
        return ob_err_set(e, OB_EINVAL,
                          "field 'followup' is red, yellow, green or white, on a discharge "
                          "summary only");
    json_t *v = json_object_get(o, "value");
    if (v && !json_is_integer(v))
        return ob_err_set(e, OB_EINVAL, "field 'value' must be an integer");
    it->value = v ? json_integer_value(v) : 0;
    it->patient = L->ix->patients[pat].ext_id;
    it->origin = L->ix->orgs[org].ext_id;
    it->category = ob_category_name((ob_category)cat);
    it->source = ob_source_name((ob_source_kind)src);
    out->is_item = true;
    out->patient = pat;
    return OB_OK;
}

/* A list of 1..max ids of one kind; dup ids are refused. */
static ob_status id_list(const ob_index *ix, json_t *o, const char *key, finder find, size_t max,
                         uint32_t *out, uint32_t *n, ob_err *e)
{
    json_t *a = json_object_get(o, key), *x;
    size_t i;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > max)
        return ob_err_set(e, OB_EINVAL, "field '%s' must list 1 to %zu ids", key, max);
    json_array_foreach(a, i, x)
    {
        if (!json_is_string(x))
            return ob_err_set(e, OB_EINVAL, "field '%s' must list ids (strings)", key);
        out[i] = find(ix, json_string_value(x));
        if (out[i] == OB_NONE)
            return ob_err_set(e, OB_EINVAL, "field '%s': no such id '%.80s'", key,
                              shown(json_string_value(x)));
        for (size_t j = 0; j < i; j++)
            if (out[j] == out[i])
                return ob_err_set(e, OB_EINVAL, "field '%s': '%.80s' is listed twice", key,
                                  shown(json_string_value(x)));
    }
    *n = (uint32_t)json_array_size(a);
    return OB_OK;
}

static bool in_list(const uint32_t *v, uint32_t n, uint32_t x)
{
    for (uint32_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

/* region_supply {"region": ID, "categories": [...]}: what a region agreed to supply to a
 * cluster beyond the members' own records (seed 003 q5: "op til den enkelte region som
 * dataansvarlig at beslutte hvilke data, der kan udleveres"). Absent: nothing. */
static ob_status region_supply(ob_loader *L, json_t *rs, ob_cluster *c, ob_err *e)
{
    static const char *const f[] = {"region", "categories", NULL};
    static const char *const names[] = {"diagnosis", "measurement", "appointment"};
    ob_status rc;
    if (!rs)
        return OB_OK;
    if (!json_is_object(rs))
        return ob_err_set(e, OB_EINVAL, "field 'region_supply' is an object {region, categories}");
    TRY(ob_json_only(rs, f, e));
    TRY(ref_field(L->ix, rs, "region", ob_index_find_org, true, &c->supply_region, e));
    if (L->ix->orgs[c->supply_region].kind != OB_ORG_REGION)
        return ob_err_set(e, OB_EINVAL, "field 'region_supply': 'region' must name a region");
    json_t *cats = json_object_get(rs, "categories"), *v;
    size_t i;
    if (!json_is_array(cats) || json_array_size(cats) == 0)
        return ob_err_set(e, OB_EINVAL,
                          "field 'region_supply': 'categories' lists diagnosis, measurement, "
                          "appointment");
    json_array_foreach(cats, i, v)
    {
        size_t k = 0;
        while (k < 3 && !(json_is_string(v) && strcmp(json_string_value(v), names[k]) == 0))
            k++;
        if (k == 3)
            return ob_err_set(e, OB_EINVAL,
                              "field 'region_supply': a category is diagnosis, measurement or "
                              "appointment");
        c->supply |= (uint8_t)(1u << k);
    }
    return OB_OK;
}

/* cluster: a GP quality cluster or a municipality's planning group (R-STAT-1..7). */
static ob_status rec_cluster(ob_loader *L, json_t *o, ob_err *e)
{
    static const char *const f[] = {"type",
                                    "id",
                                    "name",
                                    "kind",
                                    "municipality",
                                    "members",
                                    "coordinators",
                                    "agreement",
                                    "anonymise_requested_by",
                                    "k",
                                    "retention",
                                    "meeting",
                                    "epsilon",
                                    "zeros",
                                    "region_supply",
                                    NULL};
    enum { MAXM = 500, MAXC = 64 };
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_cluster c;
    memset(&c, 0, sizeof c);
    c.supply_region = OB_NONE;
    uint32_t members[MAXM], coords[MAXC], asked[MAXM];
    const char *kind, *agreement;
    TRY(str_field(o, "id", true, (const char **)&c.ext_id, e));
    TRY(str_field(o, "name", false, (const char **)&c.name, e));
    if (strlen(c.ext_id) > 64)
        return ob_err_set(e, OB_EINVAL, "field 'id' is longer than 64 characters");
    TRY(str_field(o, "kind", false, &kind, e));
    if (!kind || strcmp(kind, "quality") == 0)
        c.kind = OB_CLUSTER_QUALITY;
    else if (strcmp(kind, "planning") == 0)
        c.kind = OB_CLUSTER_PLANNING;
    else
        return ob_err_set(e, OB_EINVAL, "field 'kind' is quality or planning");
    TRY(ref_field(L->ix, o, "municipality", ob_index_find_org, c.kind == OB_CLUSTER_PLANNING,
                  &c.municipality, e));
    if (c.municipality != OB_NONE && L->ix->orgs[c.municipality].kind != OB_ORG_MUNICIPALITY)
        return ob_err_set(e, OB_EINVAL, "field 'municipality' must name a municipality");
    TRY(id_list(L->ix, o, "members", ob_index_find_org, MAXM, members, &c.nmembers, e));
    for (uint32_t i = 0; i < c.nmembers; i++)
        if (L->ix->orgs[members[i]].kind != OB_ORG_GP_CLINIC)
            return ob_err_set(e, OB_EINVAL, "field 'members': '%.80s' is not a GP clinic",
                              L->ix->orgs[members[i]].ext_id);
    TRY(id_list(L->ix, o, "coordinators", ob_index_find_professional, MAXC, coords,
                &c.ncoordinators, e));
    for (uint32_t i = 0; i < c.ncoordinators; i++) {
        const ob_professional *p = &L->ix->pros[coords[i]];
        bool ok = false;
        for (uint32_t s = 0; s < p->nsites && !ok; s++)
            ok = c.kind == OB_CLUSTER_QUALITY
                     ? in_list(members, c.nmembers, p->sites[s])
                     : ob_index_org_within(L->ix, p->sites[s], c.municipality);
        if (c.kind == OB_CLUSTER_QUALITY && !ok)
            return ob_err_set(e, OB_EINVAL,
                              "field 'coordinators': '%.80s' works at no member clinic", p->ext_id);
        if (c.kind == OB_CLUSTER_PLANNING &&
            (!ok || (p->role != OB_ROLE_PLANNER && p->role != OB_ROLE_ADMIN_STAFF)))
            return ob_err_set(e, OB_EINVAL,
                              "field 'coordinators': '%.80s' is not a planner or administrator "
                              "of the municipality",
                              p->ext_id);
    }
    TRY(str_field(o, "agreement", false, &agreement, e));
    if (!agreement || strcmp(agreement, "pseudonym") == 0)
        c.labels = OB_LABELS_PSEUDONYM;
    else if (strcmp(agreement, "anonymous") == 0)
        c.labels = OB_LABELS_ANONYMOUS;
    else if (strcmp(agreement, "open") == 0)
        c.labels = OB_LABELS_OPEN;
    else
        return ob_err_set(e, OB_EINVAL, "field 'agreement' is pseudonym, anonymous or open");
    if (json_object_get(o, "anonymise_requested_by")) {
        uint32_t n;
        TRY(id_list(L->ix, o, "anonymise_requested_by", ob_index_find_org, MAXM, asked, &n, e));
        for (uint32_t i = 0; i < n; i++)
            if (!in_list(members, c.nmembers, asked[i]))
                return ob_err_set(e, OB_EINVAL,
                                  "field 'anonymise_requested_by': '%.80s' is not a member",
                                  L->ix->orgs[asked[i]].ext_id);
        c.anonymise_requested = true;
    }
    /* R-STAT-2: "mindst fem" (seed 003): k may be agreed upwards, never below 5 */
    int kmin = c.kind == OB_CLUSTER_PLANNING ? 10 : 5;
    json_t *k = json_object_get(o, "k");
    if (k && (!json_is_integer(k) || json_integer_value(k) < kmin || json_integer_value(k) > 100))
        return ob_err_set(e, OB_EINVAL, "field 'k' must be an integer from %d to 100 (R-STAT-%s)",
                          kmin, c.kind == OB_CLUSTER_PLANNING ? "6" : "2");
    c.k = (uint8_t)(k ? json_integer_value(k) : (c.kind == OB_CLUSTER_PLANNING ? 10 : 5));
    json_t *ret = json_object_get(o, "retention");
    if (json_is_string(ret) && strcmp(json_string_value(ret), "after_meeting") == 0) {
        c.retention_months = 0;
        if (!json_object_get(o, "meeting"))
            return ob_err_set(e, OB_EINVAL, "retention \"after_meeting\" needs a 'meeting' date");
        TRY(ob_json_time(o, "meeting", 0, &c.meeting, e));
    } else if (json_is_integer(ret) && json_integer_value(ret) >= 1 &&
               json_integer_value(ret) <= 120) {
        c.retention_months = (uint16_t)json_integer_value(ret);
        if (json_object_get(o, "meeting"))
            TRY(ob_json_time(o, "meeting", 0, &c.meeting, e));
    } else {
        return ob_err_set(e, OB_EINVAL,
                          "field 'retention' must be \"after_meeting\" or a number of months "
                          "(1 to 120) (R-STAT-7)");
    }
    json_t *zeros = json_object_get(o, "zeros");
    if (zeros) {
        if (!json_is_string(zeros) || (strcmp(json_string_value(zeros), "released") != 0 &&
                                       strcmp(json_string_value(zeros), "suppressed") != 0))
            return ob_err_set(e, OB_EINVAL, "field 'zeros' is \"released\" or \"suppressed\"");
        c.zeros_suppressed = strcmp(json_string_value(zeros), "suppressed") == 0;
    }
    json_t *eps = json_object_get(o, "epsilon");
    if (eps) {
        if (!json_is_number(eps) || json_number_value(eps) <= 0 || json_number_value(eps) > 100)
            return ob_err_set(e, OB_EINVAL, "field 'epsilon' must be a number in (0, 100]");
        c.epsilon_milli = (uint64_t)(json_number_value(eps) * 1000.0 + 0.5);
    }
    TRY(region_supply(L, json_object_get(o, "region_supply"), &c, e));
    c.members = members;
    c.coordinators = coords;
    return ob_index_put_cluster(L->ix, &c, NULL, e);
}

/* ---- source systems and appointments (R-APT) ---- */
static ob_status rec_source(ob_loader *L, json_t *o, ob_err *e)
{
    static const char *const f[] = {"type",       "client_id",         "site", "go_live", "name",
                                    "operations", "max_silence_hours", NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_source src;
    memset(&src, 0, sizeof src);
    TRY(str_field(o, "client_id", true, (const char **)&src.client_id, e));
    if (strlen(src.client_id) > 63)
        return ob_err_set(e, OB_EINVAL, "field 'client_id' is longer than 63 characters");
    TRY(str_field(o, "name", false, (const char **)&src.name, e));
    TRY(ref_field(L->ix, o, "site", ob_index_find_org, true, &src.site, e));
    if (!json_object_get(o, "go_live"))
        return ob_err_set(e, OB_EINVAL, "missing field 'go_live'");
    TRY(ob_json_time(o, "go_live", 0, &src.go_live, e));
    json_t *ops = json_object_get(o, "operations"), *op;
    size_t i;
    src.ops = ops ? 0 : OB_SRC_OP_ALL;
    if (ops && !json_is_array(ops))
        return ob_err_set(e, OB_EINVAL,
                          "field 'operations' lists appointments, read, "
                          "relationships, items, audit");
    json_array_foreach(ops, i, op)
    {
        const char *s = json_string_value(op);
        if (s && strcmp(s, "appointments") == 0)
            src.ops |= OB_SRC_OP_APPOINTMENTS;
        else if (s && strcmp(s, "read") == 0)
            src.ops |= OB_SRC_OP_READ;
        else if (s && strcmp(s, "relationships") == 0)
            src.ops |= OB_SRC_OP_RELATIONSHIPS;
        else if (s && strcmp(s, "items") == 0)
            src.ops |= OB_SRC_OP_ITEMS;
        else if (s && strcmp(s, "audit") == 0)
            src.ops |= OB_SRC_OP_AUDIT;
        else
            return ob_err_set(e, OB_EINVAL,
                              "field 'operations' lists appointments, read, "
                              "relationships, items, audit");
    }
    json_t *silence = json_object_get(o, "max_silence_hours");
    if (silence) {
        if (!json_is_integer(silence) || json_integer_value(silence) < 1 ||
            json_integer_value(silence) > 8760)
            return ob_err_set(e, OB_EINVAL,
                              "field 'max_silence_hours' must be a whole number of hours from 1 "
                              "to 8760 (R-SRC-2)");
        src.max_silence = (int64_t)json_integer_value(silence) * 3600;
    }
    return ob_index_add_source(L->ix, &src, e);
}

static const char *const apt_statuses[] = {"proposed",   "pending",   "booked", "arrived",
                                           "fulfilled",  "cancelled", "noshow", "entered-in-error",
                                           "checked-in", "waitlist",  NULL};

/* An appointment as a source system would push it (R-APT-1..4); the import format has
 * no field for notes, so none can enter (R-APT-3). */
static ob_status rec_appointment(ob_loader *L, json_t *o, ob_record_out *out, ob_err *e)
{
    static const char *const f[] = {"type",   "source",  "system", "identifier", "patient",
                                    "start",  "end",     "clinic", "address",    "status",
                                    "shared", "updated", NULL};
    ob_status rc;
    TRY(ob_json_only(o, f, e));
    ob_apt *a = &out->apt;
    memset(a, 0, sizeof *a);
    uint32_t pat, clinic;
    TRY(str_field(o, "source", true, &a->source, e));
    const ob_source *src = ob_index_find_source(L->ix, a->source);
    if (!src)
        return ob_err_set(e, OB_EINVAL, "field 'source': no such source system");
    TRY(str_field(o, "system", false, &a->system, e));
    TRY(str_field(o, "identifier", true, &a->value, e));
    TRY(ref_field(L->ix, o, "patient", ob_index_find_patient, true, &pat, e));
    TRY(ref_field(L->ix, o, "clinic", ob_index_find_org, false, &clinic, e));
    if (clinic == OB_NONE)
        clinic = src->site;
    if (!ob_index_org_within(L->ix, clinic, src->site))
        return ob_err_set(e, OB_EINVAL, "field 'clinic': not the source's site or below it");
    if (!json_object_get(o, "start"))
        return ob_err_set(e, OB_EINVAL, "missing field 'start'");
    TRY(ob_json_time(o, "start", 0, &a->start, e));
    ob_time given;
    TRY(ob_json_time(o, "end", a->start + 3600, &given, e));
    if (given < a->start)
        return ob_err_set(e, OB_EINVAL, "'end' is before 'start'");
    a->fictive_end = ob_apt_end(L->ix, clinic, a->start, json_object_get(o, "end") != NULL, given,
                                &a->end); /* R-APT-4 */
    TRY(text_field(o, "address", false, &a->address, e));
    TRY(str_field(o, "status", false, &a->status, e));
    if (!a->status)
        a->status = "booked";
    bool known = false;
    for (const char *const *s = apt_statuses; *s && !known; s++)
        known = strcmp(*s, a->status) == 0;
    if (!known)
        return ob_err_set(e, OB_EINVAL, "field 'status': unknown value '%.40s'", a->status);
    TRY(bool_field(o, "shared", true, &a->shared, e));
    TRY(ob_json_time(o, "updated", L->now, &a->updated, e));
    a->patient = L->ix->patients[pat].ext_id;
    a->clinic = L->ix->orgs[clinic].ext_id;
    out->is_appointment = true;
    out->patient = pat;
    return OB_OK;
}

ob_status ob_record_apply(ob_loader *L, json_t *obj, ob_record_out *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    out->patient = OB_NONE;
    if (!json_is_object(obj))
        return ob_err_set(e, OB_EINVAL, "a record must be a JSON object");
    const char *type;
    ob_status rc = str_field(obj, "type", true, &type, e);
    if (rc)
        return rc;
    out->type = type;
    json_t *canon = NULL;
    if (strcmp(type, "org") == 0)
        rc = rec_org(L, obj, e);
    else if (strcmp(type, "professional") == 0)
        rc = rec_professional(L, obj, e);
    else if (strcmp(type, "patient") == 0)
        rc = rec_patient(L, obj, &canon, e);
    else if (strcmp(type, "relative") == 0)
        rc = rec_relative(L, obj, &out->patient, e);
    else if (strcmp(type, "relationship") == 0)
        rc = rec_relationship(L, obj, &out->patient, e);
    else if (strcmp(type, "permission") == 0)
        rc = rec_permission(L, obj, e);
    else if (strcmp(type, "cover") == 0)
        rc = rec_cover(L, obj, e);
    else if (strcmp(type, "project") == 0)
        rc = rec_project(L, obj, e);
    else if (strcmp(type, "necessity") == 0)
        rc = rec_necessity(L, obj, e);
    else if (strcmp(type, "quality_criteria") == 0)
        rc = rec_criteria(L, obj, e);
    else if (strcmp(type, "block") == 0)
        rc = rec_block(L, obj, out, e);
    else if (strcmp(type, "consent") == 0)
        rc = rec_consent(L, obj, out, e);
    else if (strcmp(type, "block_lift") == 0)
        rc = rec_lift(L, obj, true, out, e);
    else if (strcmp(type, "consent_revoke") == 0)
        rc = rec_lift(L, obj, false, out, e);
    else if (strcmp(type, "disclosure") == 0)
        rc = rec_disclosure(L, obj, &out->patient, e);
    else if (strcmp(type, "demo") == 0) {
        static const char *const f[] = {"type", NULL};
        rc = ob_json_only(obj, f, e);
        if (!rc && !L->replay && L->ix->npatients)
            rc = ob_err_set(e, OB_EINVAL, "a database that holds patients cannot become a demo");
        if (!rc)
            L->ix->demo = true;
    } else if (strcmp(type, "relative_end") == 0)
        rc = rec_relative_end(L, obj, out, e);
    else if (strcmp(type, "relationship_end") == 0)
        rc = rec_relationship_end(L, obj, out, e);
    else if (strcmp(type, "listing") == 0)
        rc = rec_listing(L, obj, out, e);
    else if (strcmp(type, "permission_end") == 0)
        rc = rec_permission_end(L, obj, out, e);
    else if (strcmp(type, "item") == 0)
        rc = rec_item(L, obj, out, e);
    else if (strcmp(type, "cluster") == 0)
        rc = rec_cluster(L, obj, e);
    else if (strcmp(type, "source") == 0)
        rc = rec_source(L, obj, e);
    else if (strcmp(type, "appointment") == 0)
        rc = rec_appointment(L, obj, out, e);
    else
        return ob_err_set(e, OB_EINVAL, "unknown record type '%.40s'", type);
    if (rc) {
        json_decref(canon);
        return rc;
    }
    if (!canon && strlen(type) > 4 && strcmp(type + strlen(type) - 4, "_end") == 0 &&
        !json_object_get(obj, "at")) {
        /* an end is stored with its time, so a replay ends the grant when it ended */
        char when[32];
        ob_time_format(L->now, when);
        canon = json_deep_copy(obj);
        if (!canon || json_object_set_new(canon, "at", json_string(when))) {
            json_decref(canon);
            return ob_err_set(e, OB_ENOMEM, "out of memory");
        }
    }
    if (!canon) {
        canon = json_incref(obj);
        /* blocks and consents store the id they were given, so replay is exact, and a
         * consent its creation time, at which its recorder's relationship is checked */
        bool consent = strcmp(type, "consent") == 0;
        if ((strcmp(type, "block") == 0 || consent) &&
            (!json_object_get(obj, "id") || (consent && !json_object_get(obj, "created")))) {
            canon = json_deep_copy(obj);
            json_decref(obj);
            char when[32];
            ob_time_format(L->now, when);
            if (!canon ||
                (!json_object_get(canon, "id") &&
                 json_object_set_new(canon, "id", json_integer((json_int_t)out->assigned))) ||
                (consent && !json_object_get(canon, "created") &&
                 json_object_set_new(canon, "created", json_string(when)))) {
                json_decref(canon);
                return ob_err_set(e, OB_ENOMEM, "out of memory");
            }
        }
    }
    out->canonical = canon;
    return OB_OK;
}
