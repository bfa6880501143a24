/* proof.c - inclusion proof check and JSON form (proof.h). The JSON reader is strict:
 * a proof is shown to a person, so every field it shows must be bound to what is
 * hashed, and a repeated key (which a viewer might show while the checker read the
 * other one) is refused. */
#include "log/proof.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "log/sha256.h"

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
    ob_free(p->note);
    p->note = NULL;
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

static ob_status check_v1(const ob_log_proof *p, const uint8_t pk[OB_LOG_PK_LEN], ob_err *e)
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

ob_status ob_log_proof_check_keys(const ob_log_proof *p, const ob_note_key *keys, size_t nkeys,
                                  ob_err *e)
{
    if (p->version != 2) {
        for (size_t i = 0; i < nkeys; i++)
            if (check_v1(p, keys[i].pk, NULL) == OB_OK)
                return OB_OK;
        return check_v1(p, nkeys ? keys[0].pk : (const uint8_t[32]){0}, e);
    }
    uint8_t leaf[OB_LOG_HASH_LEN];
    ob_log_leaf_hash(&p->entry, p->seq, leaf);
    if (sodium_memcmp(leaf, p->leaf, OB_LOG_HASH_LEN) != 0)
        return ob_err_set(e, OB_ETAMPER, "proof: the entry's fields do not hash to the leaf");
    if (!p->note)
        return ob_err_set(e, OB_ETAMPER, "proof: no checkpoint");
    ob_note_result nr;
    ob_status s = ob_note_open(p->note, strlen(p->note), keys, nkeys, &nr, e);
    if (s != OB_OK)
        return ob_err_set(e, OB_ETAMPER,
                          "proof: the checkpoint is not signed by the log's key"
                          " (%s)",
                          e ? e->msg : "");
    char origin[OB_NOTE_NAME_MAX + 1];
    uint64_t size;
    uint8_t root[OB_LOG_HASH_LEN];
    if (ob_checkpoint_parse(p->note, nr.text_len, origin, &size, root, e) != OB_OK)
        return ob_err_set(e, OB_ETAMPER, "proof: the checkpoint is malformed");
    bool named = false; /* the origin is the name of a key that signed (checkpoint spec) */
    for (size_t i = 0; i < nkeys; i++)
        named |= nr.verified[i] && strcmp(keys[i].name, origin) == 0;
    if (!named)
        return ob_err_set(e, OB_ETAMPER, "proof: the checkpoint's origin is not its signer");
    if (p->seq == 0 || p->index != p->seq - 1 || p->tree_size != size || p->index >= size)
        return ob_err_set(e, OB_ETAMPER,
                          "proof: entry %llu is not at index %llu of the tree of"
                          " %llu",
                          (unsigned long long)p->seq, (unsigned long long)p->index,
                          (unsigned long long)size);
    if (!ob_log_proof_verify(p->leaf, p->index, p->tree_size,
                             (const uint8_t(*)[OB_LOG_HASH_LEN])p->path, p->path_len, root))
        return ob_err_set(e, OB_ETAMPER,
                          "proof: the inclusion path does not lead to the signed"
                          " root");
    return OB_OK;
}

ob_status ob_log_proof_check(const ob_log_proof *p, const uint8_t pk[OB_LOG_PK_LEN], ob_err *e)
{
    if (p->version != 2)
        return check_v1(p, pk, e);
    /* the key's name is the note's origin line; only pk is trusted */
    char origin[OB_NOTE_NAME_MAX + 1] = "";
    const char *nl = p->note ? strchr(p->note, '\n') : NULL;
    if (nl && (size_t)(nl - p->note) <= OB_NOTE_NAME_MAX) {
        memcpy(origin, p->note, (size_t)(nl - p->note));
        origin[nl - p->note] = '\0';
    }
    ob_note_key k;
    if (ob_note_key_make(&k, origin, OB_NOTE_ED25519, pk, NULL) != OB_OK)
        return ob_err_set(e, OB_ETAMPER, "proof: the checkpoint has no valid origin line");
    return ob_log_proof_check_keys(p, &k, 1, e);
}

static json_t *hexj(const uint8_t *b, size_t n)
{
    char buf[2 * OB_LOG_SIG_LEN + 1];
    ob_log_hex(b, n, buf);
    return json_string(buf);
}

/* The displayed entry: every field, plus time_utc and event_name for people. The reader
 * builds the same object from what it parsed and requires the proof's to be equal. */
static json_t *entry_json(const ob_log_entry *en)
{
    json_t *ent = json_object();
    if (!ent)
        return NULL;
    char tbuf[32];
    ob_time_format(en->time, tbuf);
    json_object_set_new(ent, "time", json_integer(en->time));
    json_object_set_new(ent, "time_utc", json_string(tbuf));
    json_object_set_new(ent, "event", json_integer(en->event));
    json_object_set_new(ent, "event_name", json_string(ob_log_event_name(en->event)));
    json_object_set_new(ent, "capacity", json_integer(en->capacity));
    json_object_set_new(ent, "permit", json_boolean(en->permit));
    json_object_set_new(ent, "override", json_boolean(en->override));
    const char *f[OB_LOG_NFIELDS];
    ob_log_entry_fields(en, f);
    for (int i = 0; i < OB_LOG_NFIELDS; i++)
        json_object_set_new(ent, ob_log_field_names[i], json_string(f[i]));
    return ent;
}

static json_t *b64j(const uint8_t *b, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *buf = ob_malloc(cap);
    if (!buf)
        return NULL;
    sodium_bin2base64(buf, cap, b, n, sodium_base64_VARIANT_ORIGINAL);
    json_t *j = json_string(buf);
    ob_free(buf);
    return j;
}

static char *dump(json_t *root)
{
    char *out = NULL;
    char *s = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(2));
    if (s) {
        out = ob_strdup(s);
        free(s); /* jansson allocates with its own (default malloc) allocator */
    }
    return out;
}

static char *to_json_v2(const ob_log_proof *p)
{
    size_t n = ob_log_entry_encoded_len(&p->entry);
    uint8_t *enc = ob_malloc(n);
    json_t *root = json_object(), *path = json_array();
    char *out = NULL;
    if (!enc || !root || !path || ob_log_entry_encode(&p->entry, p->seq, enc, n) != n)
        goto done;
    for (size_t i = 0; i < p->path_len; i++)
        json_array_append_new(path, b64j(p->path[i], OB_LOG_HASH_LEN));
    json_object_set_new(root, "format", json_string("overblik-log-proof-v2"));
    json_object_set_new(root, "seq", json_integer((json_int_t)p->seq));
    json_object_set_new(root, "leaf_input", b64j(enc, n));
    json_object_set_new(root, "entry", entry_json(&p->entry));
    json_object_set_new(root, "index", json_integer((json_int_t)p->index));
    json_object_set_new(root, "tree_size", json_integer((json_int_t)p->tree_size));
    json_object_set(root, "inclusion", path);
    json_object_set_new(root, "checkpoint", json_string(p->note ? p->note : ""));
    out = dump(root);
done:
    ob_free(enc);
    json_decref(root);
    json_decref(path);
    return out;
}

char *ob_log_proof_to_json(const ob_log_proof *p)
{
    if (p->version == 2)
        return to_json_v2(p);
    json_t *ent = entry_json(&p->entry), *root = json_object(), *path = json_array(),
           *cp = json_object();
    char *out = NULL;
    if (!ent || !root || !path || !cp)
        goto done;
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
    out = dump(root);
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

/* Decodes the canonical encoding (hash.h) into p's entry and *seq. -1 when it is not
 * exactly one well-formed encoding (a NUL inside a field would show text other than
 * what was hashed, so it is refused). */
static int decode_input(const uint8_t *b, size_t n, ob_log_proof *p, uint64_t *seq)
{
    if (n < 13 + 4 * OB_LOG_NFIELDS + 8 || b[0] != OB_LOG_ENCODING_VERSION || b[11] > 1 ||
        b[12] > 1)
        return -1;
    ob_log_entry en = {0};
    en.time = (ob_time)ob_log_get_u64(b + 1);
    en.event = b[9];
    en.capacity = b[10];
    en.permit = b[11];
    en.override = b[12];
    char *str[OB_LOG_NFIELDS] = {0};
    size_t off = 13;
    int rc = -1;
    for (int i = 0; i < OB_LOG_NFIELDS; i++) {
        if (n - off < 4)
            goto out;
        size_t len =
            (size_t)b[off] << 24 | (size_t)b[off + 1] << 16 | (size_t)b[off + 2] << 8 | b[off + 3];
        off += 4;
        if (len > n - off || memchr(b + off, 0, len) || !(str[i] = ob_malloc(len + 1)))
            goto out;
        memcpy(str[i], b + off, len);
        str[i][len] = '\0';
        *entry_slot(&en, i) = str[i];
        off += len;
    }
    if (n - off != 8)
        goto out;
    *seq = ob_log_get_u64(b + off);
    rc = ob_log_proof_set_entry(p, &en, NULL) == OB_OK ? 0 : -1;
out:
    for (int i = 0; i < OB_LOG_NFIELDS; i++)
        ob_free(str[i]);
    return rc;
}

ob_status ob_log_proof_set_input(ob_log_proof *p, const uint8_t *enc, size_t n, ob_err *e)
{
    uint64_t seq = 0;
    if (decode_input(enc, n, p, &seq))
        return ob_err_set(e, OB_ETAMPER,
                          "access log: a stored entry is not a well-formed encoding");
    p->seq = seq;
    static const uint8_t zero = 0x00; /* RFC 6962 leaf prefix */
    ob_sha256_ctx st;
    ob_sha256_init(&st);
    ob_sha256_update(&st, &zero, 1);
    ob_sha256_update(&st, enc, n);
    ob_sha256_final(&st, p->leaf);
    return OB_OK;
}

static int unb64(json_t *j, uint8_t **out, size_t *n)
{
    const char *s = json_string_value(j);
    if (!s)
        return -1;
    size_t len = strlen(s), got = 0;
    const char *end = NULL;
    *out = ob_malloc(len / 4 * 3 + 3);
    if (!*out ||
        sodium_base642bin(*out, len / 4 * 3 + 3, s, len, NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != s + len) {
        ob_free(*out);
        *out = NULL;
        return -1;
    }
    *n = got;
    return 0;
}

/* The v1 entry object's numbers and strings into en (borrowed from the JSON). */
static int entry_from_json(json_t *ent, ob_log_entry *en, const char **what)
{
    int64_t t, ev, cap;
    json_t *permit = json_object_get(ent, "permit"), *ovr = json_object_get(ent, "override");
    if (get_i64(ent, "time", &t) || get_i64(ent, "event", &ev) || get_i64(ent, "capacity", &cap) ||
        ev < 0 || ev > 255 || cap < 0 || cap > 255 || !json_is_boolean(permit) ||
        !json_is_boolean(ovr))
        return -1;
    en->time = t;
    en->event = (uint8_t)ev;
    en->capacity = (uint8_t)cap;
    en->permit = json_is_true(permit);
    en->override = json_is_true(ovr);
    for (int i = 0; i < OB_LOG_NFIELDS; i++) {
        const char *s = json_string_value(json_object_get(ent, ob_log_field_names[i]));
        if (!s) {
            *what = ob_log_field_names[i];
            return -1;
        }
        *entry_slot(en, i) = s;
    }
    return 0;
}

/* Every key of the proof's displayed entry must be one the checker derives, with the
 * value it derives (so time_utc and event_name are bound too). */
static int entry_bound(json_t *given, const ob_log_entry *en)
{
    json_t *want = entry_json(en);
    int ok = want && json_equal(want, given);
    json_decref(want);
    return ok ? 0 : -1;
}

ob_status ob_log_proof_from_json(const char *json, ob_log_proof *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    ob_log_proof_free(out);
    json_error_t je;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return ob_err_set(e, OB_EINVAL, "proof: not JSON, or a key given twice (line %d: %s)",
                          je.line, je.text);
    ob_status st = OB_EINVAL;
    const char *what = "format";
    json_t *ent = json_object_get(root, "entry"), *cp = json_object_get(root, "checkpoint"),
           *path = json_object_get(root, "path");
    const char *fmt = json_string_value(json_object_get(root, "format"));
    uint8_t *input = NULL;
    bool tamper = false; /* shown and hashed differ: a forged proof, not a malformed one */
    if (!json_is_object(root) || !fmt)
        goto bad;
    if (strcmp(fmt, "overblik-log-proof-v2") == 0) {
        out->version = 2;
        size_t n = 0;
        uint64_t seq = 0;
        what = "keys (a v2 proof has exactly format, seq, leaf_input, entry, index, tree_size,"
               " inclusion, checkpoint)";
        path = json_object_get(root, "inclusion");
        if (json_object_size(root) != 8)
            goto bad;
        what = "leaf_input";
        if (unb64(json_object_get(root, "leaf_input"), &input, &n) ||
            ob_log_proof_set_input(out, input, n, NULL))
            goto bad;
        seq = out->seq;
        what = "seq (it differs from the one in leaf_input)";
        tamper = true;
        if (get_u64(root, "seq", &out->seq) || out->seq != seq)
            goto bad;
        what = "entry (its fields must be exactly those in leaf_input)";
        if (!json_is_object(ent) || entry_bound(ent, &out->entry))
            goto bad;
        tamper = false;
        what = "index or tree_size";
        if (get_u64(root, "index", &out->index) || get_u64(root, "tree_size", &out->tree_size))
            goto bad;
        what = "inclusion";
        if (!json_is_array(path) || json_array_size(path) > OB_MERKLE_MAX_PATH)
            goto bad;
        out->path_len = json_array_size(path);
        for (size_t i = 0; i < out->path_len; i++) {
            uint8_t *h = NULL;
            size_t hl = 0;
            int bad_node = unb64(json_array_get(path, i), &h, &hl) || hl != OB_LOG_HASH_LEN;
            if (!bad_node)
                memcpy(out->path[i], h, OB_LOG_HASH_LEN);
            ob_free(h);
            if (bad_node)
                goto bad;
        }
        what = "checkpoint";
        if (!json_is_string(cp) || !(out->note = ob_strdup(json_string_value(cp))))
            goto bad;
        st = OB_OK;
        goto out;
    }
    if (strcmp(fmt, "overblik-log-proof-v1") != 0)
        goto bad;
    out->version = 1;
    what = "keys (a v1 proof has exactly format, seq, entry, leaf, index, tree_size, path,"
           " checkpoint)";
    if (json_object_size(root) != 8)
        goto bad;
    what = "entry";
    if (!json_is_object(ent))
        goto bad;
    ob_log_entry en = {0};
    if (entry_from_json(ent, &en, &what))
        goto bad;
    what = "entry (a field is unknown, or time_utc or event_name does not match)";
    tamper = true;
    if (entry_bound(ent, &en))
        goto bad;
    tamper = false;
    if ((st = ob_log_proof_set_entry(out, &en, e)) != OB_OK)
        goto out;
    out->version = 1;
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
    if (!json_is_object(cp) || json_object_size(cp) != 7 ||
        get_u64(cp, "prev_size", &out->cp.prev_size) || get_u64(cp, "size", &out->cp.size) ||
        get_hex(cp, "root", out->cp.root, OB_LOG_HASH_LEN) ||
        get_hex(cp, "chain", out->cp.chain, OB_LOG_HASH_LEN) ||
        get_i64(cp, "time", &out->cp.time) || get_i64(cp, "max_time", &out->cp.max_time) ||
        get_hex(cp, "signature", out->cp.sig, OB_LOG_SIG_LEN))
        goto bad;
    st = OB_OK;
    goto out;
bad:
    st = ob_err_set(e, tamper ? OB_ETAMPER : OB_EINVAL, "proof: missing or malformed %s", what);
out:
    ob_free(input);
    json_decref(root);
    if (st != OB_OK)
        ob_log_proof_free(out);
    return st;
}

void ob_log_consistency_free(ob_log_consistency_proof *p)
{
    ob_free(p->from_note);
    ob_free(p->to_note);
    p->from_note = p->to_note = NULL;
}

static int opt_note(json_t *root, const char *k, char **out)
{
    json_t *v = json_object_get(root, k);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || !(*out = ob_strdup(json_string_value(v))))
        return -1;
    return 0;
}

ob_status ob_log_consistency_from_json(const char *json, ob_log_consistency_proof *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return ob_err_set(e, OB_EINVAL,
                          "consistency proof: not JSON, or a key given twice (line %d: %s)",
                          je.line, je.text);
    const char *what = "format";
    const char *fmt = json_string_value(json_object_get(root, "format"));
    json_t *arr = json_object_get(root, "proof");
    size_t want = 4 + (json_object_get(root, "from_checkpoint") != NULL) +
                  (json_object_get(root, "to_checkpoint") != NULL);
    if (!json_is_object(root) || !fmt || strcmp(fmt, "overblik-log-consistency-v1") != 0)
        goto bad;
    what = "keys (format, from, to, proof and optionally from_checkpoint, to_checkpoint)";
    if (json_object_size(root) != want)
        goto bad;
    what = "from or to (0 < from <= to)";
    if (get_u64(root, "from", &out->from) || get_u64(root, "to", &out->to) || !out->from ||
        out->from > out->to)
        goto bad;
    what = "proof";
    if (!json_is_array(arr) || json_array_size(arr) > OB_MERKLE_MAX_CONSISTENCY)
        goto bad;
    out->len = json_array_size(arr);
    for (size_t i = 0; i < out->len; i++) {
        uint8_t *h = NULL;
        size_t hl = 0;
        int bad_node = unb64(json_array_get(arr, i), &h, &hl) || hl != OB_LOG_HASH_LEN;
        if (!bad_node)
            memcpy(out->proof[i], h, OB_LOG_HASH_LEN);
        ob_free(h);
        if (bad_node)
            goto bad;
    }
    what = "from_checkpoint or to_checkpoint (a note, or null)";
    if (opt_note(root, "from_checkpoint", &out->from_note) ||
        opt_note(root, "to_checkpoint", &out->to_note))
        goto bad;
    json_decref(root);
    return OB_OK;
bad:
    json_decref(root);
    ob_log_consistency_free(out);
    return ob_err_set(e, OB_EINVAL, "consistency proof: missing or malformed %s", what);
}

ob_status ob_log_checkpoint_open(const char *note, const ob_note_key *keys, size_t nkeys,
                                 char origin[OB_NOTE_NAME_MAX + 1], uint64_t *size,
                                 uint8_t root[OB_LOG_HASH_LEN], ob_note_result *r, ob_err *e)
{
    ob_status s = ob_note_open(note, strlen(note), keys, nkeys, r, e);
    if (s != OB_OK)
        return s;
    if (ob_checkpoint_parse(note, r->text_len, origin, size, root, e) != OB_OK)
        return OB_EINVAL;
    for (size_t i = 0; i < nkeys; i++)
        if (r->verified[i] && keys[i].type == OB_NOTE_ED25519 && strcmp(keys[i].name, origin) == 0)
            return OB_OK;
    return ob_err_set(e, OB_ETAMPER,
                      "checkpoint: its origin is not the name of a log key that"
                      " signed it");
}

ob_status ob_log_consistency_check(const ob_log_consistency_proof *p, const char *from_note,
                                   const char *to_note, const ob_note_key *keys, size_t nkeys,
                                   ob_err *e)
{
    const char *notes[2] = {from_note ? from_note : p->from_note, to_note ? to_note : p->to_note};
    char origin[2][OB_NOTE_NAME_MAX + 1];
    uint64_t size[2];
    uint8_t root[2][OB_LOG_HASH_LEN];
    for (int i = 0; i < 2; i++) {
        ob_note_result r;
        if (!notes[i])
            return ob_err_set(e, OB_EINVAL,
                              "consistency proof: no %s checkpoint (give the note of"
                              " that size)",
                              i ? "to" : "from");
        ob_status s =
            ob_log_checkpoint_open(notes[i], keys, nkeys, origin[i], &size[i], root[i], &r, e);
        if (s != OB_OK)
            return s;
    }
    if (strcmp(origin[0], origin[1]) != 0)
        return ob_err_set(e, OB_ETAMPER, "consistency proof: the checkpoints are of two logs");
    if (size[0] != p->from || size[1] != p->to)
        return ob_err_set(e, OB_ETAMPER,
                          "consistency proof: the checkpoints are of sizes %llu and %llu, not"
                          " %llu and %llu",
                          (unsigned long long)size[0], (unsigned long long)size[1],
                          (unsigned long long)p->from, (unsigned long long)p->to);
    if (!ob_merkle_consistency_verify(p->from, p->to, (const uint8_t(*)[OB_LOG_HASH_LEN])p->proof,
                                      p->len, root[0], root[1]))
        return ob_err_set(e, OB_ETAMPER,
                          "consistency proof: the tree of %llu is not shown to extend the"
                          " tree of %llu",
                          (unsigned long long)p->to, (unsigned long long)p->from);
    return OB_OK;
}
