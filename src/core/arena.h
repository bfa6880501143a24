/* arena.h - a bump allocator for temporaries that die together (one import, one
 * request). Everything allocated from an arena is freed by ob_arena_release; nothing
 * is freed alone. Allocation failure returns NULL. */
#ifndef OB_CORE_ARENA_H
#define OB_CORE_ARENA_H

#include <stddef.h>

typedef struct ob_arena_chunk ob_arena_chunk;
typedef struct ob_arena {
    ob_arena_chunk *head;
    size_t chunk_size;
} ob_arena;

void ob_arena_init(ob_arena *a, size_t chunk_size);
void *ob_arena_alloc(ob_arena *a, size_t n);
char *ob_arena_strdup(ob_arena *a, const char *s);
void ob_arena_release(ob_arena *a);

#endif
