/* refs.c - rewriting literal references (refs.h). */
#include "fhir/refs.h"

#include <string.h>

#define TARGET_MAX 160 /* "Type/id": a 64-byte type, a 64-byte id */

int fhir_refs_rewrite(json_t *v, fhir_ref_lookup lookup, void *ctx)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (fhir_refs_rewrite(x, lookup, ctx) != 0)
                return -1;
        }
        return 0;
    }
    if (!json_is_object(v))
        return 0;
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x)
    {
        if (strcmp(key, "reference") == 0 && json_is_string(x)) {
            char buf[TARGET_MAX];
            const char *to = lookup(ctx, json_string_value(x), buf, sizeof buf);
            if (to != NULL && json_string_set(x, to) != 0)
                return -1;
        } else if (fhir_refs_rewrite(x, lookup, ctx) != 0) {
            return -1;
        }
    }
    return 0;
}
