/* ids.h - unguessable identifiers from the operating system's CSPRNG (libsodium). */
#ifndef COS_IDS_H
#define COS_IDS_H

#include <stddef.h>

#define IDS_LEN 26 /* 128 random bits in Crockford base32, without the NUL */

/* Initialises libsodium once. Returns 0 or ERR_INTERNAL. Safe to call repeatedly. */
int ids_init(void);

/* Writes IDS_LEN characters of a new random id and a NUL into out (IDS_LEN + 1 bytes). */
void ids_new(char out[IDS_LEN + 1]);

/* Is s a well-formed id as ids_new() makes them? */
int ids_valid(const char *s);

#endif
