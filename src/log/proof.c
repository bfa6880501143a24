/* proof.c - inclusion proof check and JSON form (proof.h). */
#include "log/proof.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

static const char **entry_slot(ob_log_entry *e, int i)
{
    const char **s[OB_LOG_NFIELDS] = {
        &e->actor_id,     &e->actor_name,  &e->actor_role, &e->actor_org,     &e->actor_org_name,
        &e->on_behalf_of, &e->patient,     &e->category,   &e->resource,      &e->purpose,
        &e->rule,         &e->legal_basis, &e->reason,     &e->justification,
    };
    return s[i];
}

void ob_log_proof_free(ob_log_proof *p)
{
    for (int i = 0; i < OB_LOG_NFIELDS; i++) {
        ob_free(p->owned[i]);
        p->owned[i] = NULL;
        *entry_slot(&p->entry, i) = "";
    }
}

ob_status ob_log_proof_set_entry(ob_log_proof *p, const ob_log_entry *src, ob_err *e)
{
    const char *f[OB_LOG_NFIELDS];
    ob_log_entry_fields(src, f);
    char *copy[OB_LOG_NFIELDS] = {0};
    for (int i = 0; i < OB_LOG_NFIELDS; i++) {
        copy[i] = ob_strdup(f[i]);
        if (!copy[i]) {
            for (int j = 0; j < i; j++)
                ob_free(copy[j]);
            return ob_err_set(e, OB_ENOMEM, "out of memory copying a log entry");
        }
    }
    ob_log_proof_free(p);
    p->entry.time = src->time;
    p->entry.event = src->event;
    p->entry.capacity = src->capacity;
    p->entry.permit = src->permit;
    p->entry.override = src->override;
    for (int i = 0; i < OB_LOG_NFIELDS; i++) {
        p->owned[i] = copy[i];
        *entry_slot(&p->entry, i) = copy[i];
    }
    return OB_OK;
}

ob_status ob_log_proof_check(const ob_log_proof *p, const uint8_t pk[OB_LOG_PK_LEN], ob_err *e)
{
    uint8_t leaf[OB_LOG_HASH_LEN];
    ob_log_leaf_hash(&p->entry, p->seq, leaf);
    if (sodium_memcmp(leaf, p->leaf, OB_LOG_HASH_LEN) != 0)
        return ob_err_set(e, OB_ETAMPER, "proof: the entry's fields do not hash to the leaf");
    if (!ob_log_checkpoint_verify(&p->cp, pk))
        return ob_err_set(e, OB_ETAMPER, "proof: the checkpoint signature is not valid");
    if (p->seq <= p->cp.prev_size || p->seq > p->cp.size ||
        p->index != p->seq - p->cp.prev_size - 1 || p->tree_size != p->cp.size - p->cp.prev_size)
        return ob_err_set(e, OB_ETAMPER,
                          "proof: entry %llu is not at index %llu of checkpoint (%llu, %llu]",
                          (unsigned long long)p->seq, (unsigned long long)p->index,
                          (unsigned long long)p->cp.prev_size, (unsigned long long)p->cp.size);
    if (!ob_log_proof_verify(p->leaf, p->index, p->tree_size,
                             (const uint8_t(*)[OB_LOG_HASH_LEN])p->path, p->path_len, p->cp.root))
        return ob_err_set(e, OB_ETAMPER, "proof: the audit path does not lead to the signed root");
    return OB_OK;
}

static json_t *hexj(const uint8_t *b, size_t n)
{
    char buf[2 * OB_LOG_SIG_LEN + 1];
    ob_log_hex(b, n, buf);
    return json_string(buf);
}

char *ob_log_proof_to_json(const ob_log_proof *p)
{
    json_t *ent = json_object(), *root = json_object(), *path = json_array(), *cp = json_object();
    char *out = NULL;
    if (!ent || !root || !path || !cp)
        goto done;
    char tbuf[32];
    ob_time_format(p->entry.time, tbuf);
    json_object_set_new(ent, "time", json_integer(p->entry.time));
    json_object_set_new(ent, "time_utc", json_string(tbuf));
    json_object_set_new(ent, "event", json_integer(p->entry.event));
    json_object_set_new(ent, "event_name", json_string(ob_log_event_name(p->entry.event)));
    json_object_set_new(ent, "capacity", json_integer(p->entry.capacity));
    json_object_set_new(ent, "permit", json_boolean(p->entry.permit));
    json_object_set_new(ent, "override", json_boolean(p->entry.override));
    const char *f[OB_LOG_NFIELDS];
    ob_log_entry_fields(&p->entry, f);
    for (int i = 0; i < OB_LOG_NFIELDS; i++)
        json_object_set_new(ent, ob_log_field_names[i], json_string(f[i]));
    for (size_t i = 0; i < p->path_len; i++)
        json_array_append_new(path, hexj(p->path[i], OB_LOG_HASH_LEN));
    json_object_set_new(cp, "prev_size", json_integer((json_int_t)p->cp.prev_size));
    json_object_set_new(cp, "size", json_integer((json_int_t)p->cp.size));
    json_object_set_new(cp, "root", hexj(p->cp.root, OB_LOG_HASH_LEN));
    json_object_set_new(cp, "chain", hexj(p->cp.chain, OB_LOG_HASH_LEN));
    json_object_set_new(cp, "time", json_integer(p->cp.time));
    json_object_set_new(cp, "max_time", json_integer(p->cp.max_time));
    json_object_set_new(cp, "signature", hexj(p->cp.sig, OB_LOG_SIG_LEN));
    json_object_set_new(root, "format", json_string("overblik-log-proof-v1"));
    json_object_set_new(root, "seq", json_integer((json_int_t)p->seq));
    json_object_set(root, "entry", ent);
    json_object_set_new(root, "leaf", hexj(p->leaf, OB_LOG_HASH_LEN));
    json_object_set_new(root, "index", json_integer((json_int_t)p->index));
    json_object_set_new(root, "tree_size", json_integer((json_int_t)p->tree_size));
    json_object_set(root, "path", path);
    json_object_set(root, "checkpoint", cp);
    char *s = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(2));
    if (s) {
        out = ob_strdup(s);
        free(s); /* jansson allocates with its own (default malloc) allocator */
    }
done:
    json_decref(ent);
    json_decref(root);
    json_decref(path);
    json_decref(cp);
    return out;
}

static int get_u64(json_t *o, const char *k, uint64_t *v)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_integer(x) || json_integer_value(x) < 0)
        return -1;
    *v = (uint64_t)json_integer_value(x);
    return 0;
}

static int get_i64(json_t *o, const char *k, int64_t *v)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_integer(x))
        return -1;
    *v = json_integer_value(x);
    return 0;
}

static int get_hex(json_t *o, const char *k, uint8_t *out, size_t n)
{
    return ob_log_unhex(json_string_value(json_object_get(o, k)), out, n);
}

ob_status ob_log_proof_from_json(const char *json, ob_log_proof *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    ob_log_proof_free(out);
    json_error_t je;
    json_t *root = json_loads(json, 0, &je);
    if (!root)
        return ob_err_set(e, OB_EINVAL, "proof: not JSON (line %d: %s)", je.line, je.text);
    ob_status st = OB_EINVAL;
    const char *what = "format";
    json_t *ent = json_object_get(root, "entry"), *cp = json_object_get(root, "checkpoint"),
           *path = json_object_get(root, "path");
    const char *fmt = json_string_value(json_object_get(root, "format"));
    if (!fmt || strcmp(fmt, "overblik-log-proof-v1") != 0)
        goto bad;
    what = "entry";
    if (!json_is_object(ent))
        goto bad;
    ob_log_entry en = {0};
    int64_t t, ev, cap;
    json_t *permit = json_object_get(ent, "permit"), *ovr = json_object_get(ent, "override");
    if (get_i64(ent, "time", &t) || get_i64(ent, "event", &ev) || get_i64(ent, "capacity", &cap) ||
        ev < 0 || ev > 255 || cap < 0 || cap > 255 || !json_is_boolean(permit) ||
        !json_is_boolean(ovr))
        goto bad;
    en.time = t;
    en.event = (uint8_t)ev;
    en.capacity = (uint8_t)cap;
    en.permit = json_is_true(permit);
    en.override = json_is_true(ovr);
    for (int i = 0; i < OB_LOG_NFIELDS; i++) {
        const char *s = json_string_value(json_object_get(ent, ob_log_field_names[i]));
        if (!s) {
            what = ob_log_field_names[i];
            goto bad;
        }
        *entry_slot(&en, i) = s;
    }
    if ((st = ob_log_proof_set_entry(out, &en, e)) != OB_OK)
        goto out;
    st = OB_EINVAL;
    what = "leaf, seq, index or tree_size";
    if (get_u64(root, "seq", &out->seq) || get_hex(root, "leaf", out->leaf, OB_LOG_HASH_LEN) ||
        get_u64(root, "index", &out->index) || get_u64(root, "tree_size", &out->tree_size))
        goto bad;
    what = "path";
    if (!json_is_array(path) || json_array_size(path) > OB_MERKLE_MAX_PATH)
        goto bad;
    out->path_len = json_array_size(path);
    for (size_t i = 0; i < out->path_len; i++)
        if (ob_log_unhex(json_string_value(json_array_get(path, i)), out->path[i], OB_LOG_HASH_LEN))
            goto bad;
    what = "checkpoint";
    if (!json_is_object(cp) || get_u64(cp, "prev_size", &out->cp.prev_size) ||
        get_u64(cp, "size", &out->cp.size) || get_hex(cp, "root", out->cp.root, OB_LOG_HASH_LEN) ||
        get_hex(cp, "chain", out->cp.chain, OB_LOG_HASH_LEN) ||
        get_i64(cp, "time", &out->cp.time) || get_i64(cp, "max_time", &out->cp.max_time) ||
        get_hex(cp, "signature", out->cp.sig, OB_LOG_SIG_LEN))
        goto bad;
    st = OB_OK;
    goto out;
bad:
    st = ob_err_set(e, OB_EINVAL, "proof: missing or malformed %s", what);
out:
    json_decref(root);
    if (st != OB_OK)
        ob_log_proof_free(out);
    return st;
}
