/* map.h - an open-addressing hash map from byte-string keys to uint32 values.
 * Keys are BORROWED: the caller keeps each key alive and unchanged while it is in the
 * map (the index keys objects by their own ext_id strings). Hashing is SipHash
 * (libsodium crypto_shorthash) with a per-map random key, so crafted ids cannot make
 * lookups quadratic. No deletion: ids are never reused. */
#ifndef OB_CORE_MAP_H
#define OB_CORE_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ob_map ob_map;

ob_map *ob_map_new(void);
void ob_map_free(ob_map *m);
/* Returns 0, or -1 on allocation failure. Replaces the value of an existing key. */
int ob_map_put(ob_map *m, const void *key, size_t len, uint32_t value);
/* Returns the value or UINT32_MAX when absent. */
uint32_t ob_map_get(const ob_map *m, const void *key, size_t len);
size_t ob_map_count(const ob_map *m);

#endif
