/* internal.h - shared inside src/events/ only. */
#ifndef COS_EVENTS_INTERNAL_H
#define COS_EVENTS_INTERNAL_H

#include <stddef.h>

/* Is s a token of [a-z0-9._-]{1,max}? */
int event__token_ok(const char *s, size_t max);

#endif
