/* arena.c - chunked bump allocation with deferred cleanups, released in one call.
 * Chunks double in size up to 1 MiB; a request larger than a chunk gets a chunk of its own. */
#include "base/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

#define ARENA_MAX_ALLOC ((size_t)1 << 30)
#define ARENA_MAX_CHUNK ((size_t)1 << 20)

struct chunk {
    struct chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

struct cleanup {
    struct cleanup *next;
    void (*fn)(void *);
    void *p;
};

struct arena {
    struct chunk *head;
    struct cleanup *cleanups;
    size_t next_size;
    size_t total;
};

static struct chunk *chunk_new(size_t size)
{
    struct chunk *c = malloc(sizeof *c + size);
    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

struct arena *arena_new(size_t first_chunk)
{
    struct arena *a = malloc(sizeof *a);
    if (a == NULL)
        return NULL;
    if (first_chunk == 0)
        first_chunk = 4096;
    a->head = chunk_new(first_chunk);
    if (a->head == NULL) {
        free(a);
        return NULL;
    }
    a->cleanups = NULL;
    a->next_size = first_chunk * 2 > ARENA_MAX_CHUNK ? ARENA_MAX_CHUNK : first_chunk * 2;
    a->total = 0;
    return a;
}

void arena_free(struct arena *a)
{
    if (a == NULL)
        return;
    /* cleanups were pushed on the front, so this runs them last-registered first */
    for (struct cleanup *c = a->cleanups; c != NULL; c = c->next)
        c->fn(c->p);
    struct chunk *c = a->head;
    while (c != NULL) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void *arena_alloc(struct arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    if (size > ARENA_MAX_ALLOC)
        return NULL;
    if (size == 0)
        size = 1;
    size_t need = (size + align - 1) & ~(align - 1);
    struct chunk *c = a->head;
    if (c->size - c->used < need) {
        size_t csize = a->next_size;
        if (csize < need)
            csize = need;
        struct chunk *n = chunk_new(csize);
        if (n == NULL)
            return NULL;
        if (csize > a->next_size) {
            /* an oversized chunk goes behind the head so the head keeps its free space */
            n->next = c->next;
            c->next = n;
            n->used = need;
            a->total += need;
            return n->data;
        }
        n->next = c;
        a->head = n;
        c = n;
        if (a->next_size < ARENA_MAX_CHUNK)
            a->next_size *= 2;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->total += need;
    return p;
}

void *arena_zalloc(struct arena *a, size_t size)
{
    void *p = arena_alloc(a, size);
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

void *arena_array_reserve(struct arena *a, void *items, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return items;
    size_t ncap = *cap ? *cap * 2 : 8;
    if (elem == 0 || ncap > ARENA_MAX_ALLOC / elem)
        return NULL;
    void *grown = arena_alloc(a, ncap * elem);
    if (grown == NULL)
        return NULL;
    if (n > 0)
        memcpy(grown, items, n * elem);
    *cap = ncap;
    return grown;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, SIZE_MAX);
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

int arena_defer(struct arena *a, void (*fn)(void *), void *p)
{
    struct cleanup *c = arena_alloc(a, sizeof *c);
    if (c == NULL)
        return ERR_NOMEM;
    c->fn = fn;
    c->p = p;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}

size_t arena_used(const struct arena *a)
{
    return a->total;
}
