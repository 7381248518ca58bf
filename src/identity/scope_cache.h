/* scope_cache.h - parsed scope sets shared by all requests. A token's scope text is one of few
 * distinct strings (what each client asked for), so every authenticated request parsing it
 * into a fresh 96 KiB set (zeroed, then filled) was wasted work: about 6% of a FHIR read's
 * CPU. The cache keeps one immutable parsed set per distinct text, for the life of the process. */
#ifndef COS_ID_SCOPE_CACHE_H
#define COS_ID_SCOPE_CACHE_H

#include "base/arena.h"
#include "base/err.h"
#include "identity/scope.h"

#define ID_SCOPE_CACHE_MAX                                                                         \
    64 /* distinct texts kept; beyond that, sets are parsed into the arena                         \
        */

/* The parsed set of text (NULL or "" is the empty set): the cached one, never to be written to
 * and valid until id_scope_cache_clear(); or, when the cache is full, a set parsed into a.
 * Returns NULL with e set: ERR_INVALID when text does not parse (as id_scope_parse), ERR_NOMEM.
 * Thread-safe. */
const struct id_scope_set *id_scope_set_of(const char *text, struct arena *a, struct err *e);

/* Frees every cached set. Only when no request can hold one (start-up, shutdown, tests). */
void id_scope_cache_clear(void);

#endif
