/* refs.h - rewriting literal references in a resource: how a transaction Bundle's (or an
 * import's) urn:uuid fullUrls become the "Type/id" of the resources they create. */
#ifndef COS_FHIR_REFS_H
#define COS_FHIR_REFS_H

#include <jansson.h>
#include <stddef.h>

/* What ref stands for: "Type/id" written into buf (cap bytes) and returned, or NULL to leave
 * the reference as it is. */
typedef const char *(*fhir_ref_lookup)(void *ctx, const char *ref, char *buf, size_t cap);

/* Replaces every Reference.reference string in v (walked to any depth, contained resources
 * included) for which lookup answers. Returns 0, or -1 when out of memory. */
int fhir_refs_rewrite(json_t *v, fhir_ref_lookup lookup, void *ctx);

#endif
