/* arena.c - chunked bump allocation (see arena.h). */
#include "core/arena.h"

#include <string.h>

#include "core/alloc.h"

struct ob_arena_chunk {
    ob_arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void ob_arena_init(ob_arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : 1 << 20;
}

void *ob_arena_alloc(ob_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > a->chunk_size ? n : a->chunk_size;
        ob_arena_chunk *c = ob_malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

char *ob_arena_strdup(ob_arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = ob_arena_alloc(a, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void ob_arena_release(ob_arena *a)
{
    ob_arena_chunk *c = a->head;
    while (c) {
        ob_arena_chunk *n = c->next;
        ob_free(c);
        c = n;
    }
    a->head = NULL;
}
