/* map.c - open addressing with linear probing, load factor at most 1/2 (see map.h). */
#include "core/map.h"

#include <sodium.h>
#include <string.h>

#include "core/alloc.h"

struct slot {
    const void *key;
    uint32_t len;
    uint32_t value;
    uint64_t hash;
};

struct ob_map {
    struct slot *slots;
    size_t cap, count;
    unsigned char k[crypto_shorthash_KEYBYTES];
};

static uint64_t hash_of(const ob_map *m, const void *key, size_t len)
{
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h;
    crypto_shorthash(out, key, len, m->k);
    memcpy(&h, out, sizeof h);
    return h;
}

ob_map *ob_map_new(void)
{
    if (sodium_init() < 0)
        return NULL;
    ob_map *m = ob_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 64;
    m->slots = ob_calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        ob_free(m);
        return NULL;
    }
    randombytes_buf(m->k, sizeof m->k);
    return m;
}

void ob_map_free(ob_map *m)
{
    if (!m)
        return;
    ob_free(m->slots);
    ob_free(m);
}

static struct slot *probe(struct slot *slots, size_t cap, uint64_t h, const void *key, size_t len)
{
    size_t i = (size_t)h & (cap - 1);
    for (;;) {
        struct slot *s = &slots[i];
        if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
        i = (i + 1) & (cap - 1);
    }
}

static int grow(ob_map *m)
{
    size_t ncap = m->cap * 2;
    struct slot *ns = ob_calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        struct slot *s = &m->slots[i];
        if (s->key)
            *probe(ns, ncap, s->hash, s->key, s->len) = *s;
    }
    ob_free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int ob_map_put(ob_map *m, const void *key, size_t len, uint32_t value)
{
    if (len > UINT32_MAX)
        return -1;
    if ((m->count + 1) * 2 > m->cap && grow(m) < 0)
        return -1;
    uint64_t h = hash_of(m, key, len);
    struct slot *s = probe(m->slots, m->cap, h, key, len);
    if (!s->key) {
        s->key = key;
        s->len = (uint32_t)len;
        s->hash = h;
        m->count++;
    }
    s->value = value;
    return 0;
}

uint32_t ob_map_get(const ob_map *m, const void *key, size_t len)
{
    uint64_t h = hash_of(m, key, len);
    const struct slot *s = probe(m->slots, m->cap, h, key, len);
    return s->key ? s->value : UINT32_MAX;
}

size_t ob_map_count(const ob_map *m)
{
    return m->count;
}
