/* arena.h - a region allocator: many allocations, one release. Every HTTP request owns one, so
 * everything made for the request dies in a single arena_free() when the response is sent. */
#ifndef COS_ARENA_H
#define COS_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

/* Creates an arena whose first chunk holds at least first_chunk bytes (0 picks 4 KiB).
 * Returns NULL when out of memory. The caller owns the arena and frees it with arena_free(). */
struct arena *arena_new(size_t first_chunk);

/* Runs the deferred cleanups (last registered first), then releases every chunk. NULL is fine. */
void arena_free(struct arena *a);

/* Returns size bytes aligned for any type, owned by the arena, or NULL when out of memory or when
 * size is absurd (> 1 GiB). Memory is not zeroed; arena_zalloc() zeroes it. */
void *arena_alloc(struct arena *a, size_t size);
void *arena_zalloc(struct arena *a, size_t size);

/* Makes room for one more element in a growing array held in the arena: when *n == *cap,
 * copies the n elements of size elem to a new block of twice the capacity (8 at first) and
 * returns it, updating *cap; otherwise returns items unchanged. NULL when out of memory (items
 * stays valid). */
void *arena_array_reserve(struct arena *a, void *items, size_t n, size_t *cap, size_t elem);

/* Copies of strings, owned by the arena. NULL when out of memory. */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Registers fn(p) to run when the arena is freed (for objects malloc'ed by libraries, such as
 * jansson values). Returns 0, or ERR_NOMEM (and then runs nothing: the caller still owns p). */
int arena_defer(struct arena *a, void (*fn)(void *), void *p);

/* Bytes handed out so far (for tests and metrics). */
size_t arena_used(const struct arena *a);

#endif
