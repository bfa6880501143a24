/* hash.c - canonical entry encoding, leaf hash and hash chain (format in hash.h). */
#include "log/hash.h"

#include <string.h>

const char *const ob_log_field_names[OB_LOG_NFIELDS] = {
    "actor_id",     "actor_name",  "actor_role", "actor_org",     "actor_org_name",
    "on_behalf_of", "patient",     "category",   "resource",      "purpose",
    "rule",         "legal_basis", "reason",     "justification",
};

void ob_log_entry_fields(const ob_log_entry *e, const char *out[OB_LOG_NFIELDS])
{
    const char *f[OB_LOG_NFIELDS] = {
        e->actor_id,     e->actor_name,  e->actor_role, e->actor_org,     e->actor_org_name,
        e->on_behalf_of, e->patient,     e->category,   e->resource,      e->purpose,
        e->rule,         e->legal_basis, e->reason,     e->justification,
    };
    for (int i = 0; i < OB_LOG_NFIELDS; i++)
        out[i] = f[i] ? f[i] : "";
}

/* The 14 string fields of e as pointers to its members, in encoding order. */
static void field_ptrs(ob_log_entry *e, const char **out[OB_LOG_NFIELDS])
{
    const char **p[OB_LOG_NFIELDS] = {
        &e->actor_id,     &e->actor_name,  &e->actor_role, &e->actor_org,     &e->actor_org_name,
        &e->on_behalf_of, &e->patient,     &e->category,   &e->resource,      &e->purpose,
        &e->rule,         &e->legal_basis, &e->reason,     &e->justification,
    };
    memcpy(out, p, sizeof p);
}

size_t ob_log_entries_strbytes(const ob_log_entry *en, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const char *f[OB_LOG_NFIELDS];
        ob_log_entry_fields(&en[i], f);
        for (int k = 0; k < OB_LOG_NFIELDS; k++)
            bytes += strlen(f[k]) + 1;
    }
    return bytes;
}

void ob_log_entries_copy(const ob_log_entry *en, size_t n, ob_log_entry *out, char *buf)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = en[i];
        const char *src[OB_LOG_NFIELDS], **dst[OB_LOG_NFIELDS];
        ob_log_entry_fields(&en[i], src);
        field_ptrs(&out[i], dst);
        for (int k = 0; k < OB_LOG_NFIELDS; k++) {
            size_t len = strlen(src[k]) + 1;
            memcpy(buf, src[k], len);
            *dst[k] = buf;
            buf += len;
        }
    }
}

void ob_log_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

uint64_t ob_log_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The fixed-size head: version, time, event, capacity, permit, override. */
#define HEAD_LEN 13

static void encode_head(const ob_log_entry *e, uint8_t h[HEAD_LEN])
{
    h[0] = OB_LOG_ENCODING_VERSION;
    ob_log_put_u64(h + 1, (uint64_t)e->time);
    h[9] = e->event;
    h[10] = e->capacity;
    h[11] = e->permit ? 1 : 0;
    h[12] = e->override ? 1 : 0;
}

ob_status ob_log_entry_check(const ob_log_entry *e, ob_err *err)
{
    const char *f[OB_LOG_NFIELDS];
    ob_log_entry_fields(e, f);
    for (int i = 0; i < OB_LOG_NFIELDS; i++)
        if (strlen(f[i]) > OB_LOG_FIELD_MAX)
            return ob_err_set(err, OB_ELIMIT, "log entry field %s longer than %u bytes",
                              ob_log_field_names[i], OB_LOG_FIELD_MAX);
    return OB_OK;
}

size_t ob_log_entry_encoded_len(const ob_log_entry *e)
{
    const char *f[OB_LOG_NFIELDS];
    ob_log_entry_fields(e, f);
    size_t n = HEAD_LEN + 8;
    for (int i = 0; i < OB_LOG_NFIELDS; i++)
        n += 4 + strlen(f[i]);
    return n;
}

size_t ob_log_entry_encode(const ob_log_entry *e, uint64_t seq, uint8_t *buf, size_t cap)
{
    size_t need = ob_log_entry_encoded_len(e);
    if (cap < need)
        return 0;
    const char *f[OB_LOG_NFIELDS];
    ob_log_entry_fields(e, f);
    encode_head(e, buf);
    size_t off = HEAD_LEN;
    for (int i = 0; i < OB_LOG_NFIELDS; i++) {
        size_t len = strlen(f[i]);
        put_u32(buf + off, (uint32_t)len);
        memcpy(buf + off + 4, f[i], len);
        off += 4 + len;
    }
    ob_log_put_u64(buf + off, seq);
    return off + 8;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

ob_status ob_log_entry_decode(const uint8_t *buf, size_t len, ob_log_entry *out, uint64_t *seq,
                              char *strbuf, size_t strcap, ob_err *e)
{
    /* Every length is compared with what is left before it is used, never added to an
     * offset first: a length field of 0xffffffff must not wrap the arithmetic. */
    if (len < HEAD_LEN + 8 || buf[0] != OB_LOG_ENCODING_VERSION)
        return ob_err_set(e, OB_EINVAL, "log entry encoding: too short or not version %d",
                          OB_LOG_ENCODING_VERSION);
    /* encode writes permit and override as 0 or 1 only: another byte would decode to an
     * entry that encodes to other bytes (another leaf) */
    if (buf[11] > 1 || buf[12] > 1)
        return ob_err_set(e, OB_EINVAL, "log entry encoding: permit/override not 0 or 1");
    ob_log_entry en = {
        .time = (ob_time)ob_log_get_u64(buf + 1),
        .event = buf[9],
        .capacity = buf[10],
        .permit = buf[11] == 1,
        .override = buf[12] == 1,
    };
    const char **dst[OB_LOG_NFIELDS];
    field_ptrs(&en, dst);
    size_t off = HEAD_LEN, used = 0;
    for (int i = 0; i < OB_LOG_NFIELDS; i++) {
        if (len - off < 4)
            return ob_err_set(e, OB_EINVAL, "log entry encoding: truncated at field %s",
                              ob_log_field_names[i]);
        uint32_t flen = get_u32(buf + off);
        off += 4;
        if (flen > OB_LOG_FIELD_MAX || flen > len - off)
            return ob_err_set(e, OB_EINVAL, "log entry encoding: field %s overruns the encoding",
                              ob_log_field_names[i]);
        if (memchr(buf + off, '\0', flen))
            return ob_err_set(e, OB_EINVAL, "log entry encoding: field %s holds a NUL byte",
                              ob_log_field_names[i]);
        if (flen + 1 > strcap - used)
            return ob_err_set(e, OB_ELIMIT, "log entry encoding: the string buffer is too small");
        memcpy(strbuf + used, buf + off, flen);
        strbuf[used + flen] = '\0';
        *dst[i] = strbuf + used;
        used += flen + 1;
        off += flen;
    }
    if (len - off != 8)
        return ob_err_set(e, OB_EINVAL, "log entry encoding: %s after the last field",
                          len - off < 8 ? "no whole seq" : "bytes left over");
    *seq = ob_log_get_u64(buf + off);
    *out = en;
    return OB_OK;
}

void ob_log_leaf_begin(ob_sha256_ctx *st, const ob_log_entry *e)
{
    /* Fields are usually short, so they are gathered into one buffer and absorbed with
     * a single update; long fields go straight to the hash state. */
    uint8_t buf[1024];
    size_t off = 0;
    const char *f[OB_LOG_NFIELDS];
    ob_log_entry_fields(e, f);
    ob_sha256_init(st);
    buf[off++] = 0x00;
    encode_head(e, buf + off);
    off += HEAD_LEN;
    for (int i = 0; i < OB_LOG_NFIELDS; i++) {
        size_t len = strlen(f[i]);
        if (off + 4 + len > sizeof buf) {
            ob_sha256_update(st, buf, off);
            off = 0;
        }
        put_u32(buf + off, (uint32_t)len);
        off += 4;
        if (len > sizeof buf - off) {
            ob_sha256_update(st, buf, off);
            ob_sha256_update(st, (const uint8_t *)f[i], len);
            off = 0;
        } else {
            memcpy(buf + off, f[i], len);
            off += len;
        }
    }
    ob_sha256_update(st, buf, off);
}

void ob_log_leaf_finish(ob_sha256_ctx *st, uint64_t seq, uint8_t out[OB_LOG_HASH_LEN])
{
    uint8_t s[8];
    ob_log_put_u64(s, seq);
    ob_sha256_update(st, s, 8);
    ob_sha256_final(st, out);
}

void ob_log_leaf_hash(const ob_log_entry *e, uint64_t seq, uint8_t out[OB_LOG_HASH_LEN])
{
    ob_sha256_ctx st;
    ob_log_leaf_begin(&st, e);
    ob_log_leaf_finish(&st, seq, out);
}

void ob_log_chain_next(const uint8_t prev[OB_LOG_HASH_LEN], const uint8_t leaf[OB_LOG_HASH_LEN],
                       uint8_t out[OB_LOG_HASH_LEN])
{
    uint8_t in[2 * OB_LOG_HASH_LEN];
    memcpy(in, prev, OB_LOG_HASH_LEN);
    memcpy(in + OB_LOG_HASH_LEN, leaf, OB_LOG_HASH_LEN);
    ob_sha256(out, in, sizeof in);
}

void ob_log_hex(const uint8_t *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int nib(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ob_log_unhex(const char *hex, uint8_t *out, size_t n)
{
    if (!hex || strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
