/* ids.h - unguessable identifiers from the operating system's CSPRNG (libsodium). */
#ifndef COS_IDS_H
#define COS_IDS_H

#include <stddef.h>
#include <stdint.h>

#define IDS_LEN 26 /* 128 random bits in Crockford base32, without the NUL */

/* Initialises libsodium once. Returns 0 or ERR_INTERNAL. Safe to call repeatedly. */
int ids_init(void);

/* Writes IDS_LEN characters of a new random id and a NUL into out (IDS_LEN + 1 bytes). */
void ids_new(char out[IDS_LEN + 1]);

/* The same form with the creation time first: 10 characters of now_ms (milliseconds since
 * 1970), then 80 random bits. Ids made later sort after earlier ones, so a table or index keyed
 * by them grows at its end (a store write then dirties a few pages, not one per index at a
 * random place); still unguessable. For records whose creation time is not a secret anyway (a
 * FHIR resource's meta.lastUpdated tells it). */
void ids_new_ordered(char out[IDS_LEN + 1], int64_t now_ms);

/* Is s a well-formed id as ids_new() or ids_new_ordered() make them? */
int ids_valid(const char *s);

#endif
