/* fuzz_homedoctor_store.c - what the home doctor service reads back from the FHIR store
 * (src/services/homedoctor/service.h): any JSON as an Observation turned into a reading, and as
 * a Communication turned into an inbox item. A reading that is used must pass the library's
 * check; an inbox item always has its kind, id, rule and both texts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "services/homedoctor/service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    json_t *j = jsonx_parse((const char *)data, size, &e);
    if (j == NULL)
        return 0;
    struct arena *a = arena_new(4096);
    if (a == NULL)
        abort();
    struct homedoctor_bp_reading r;
    int rc = homedoctor_reading_from_observation(j, a, &r, &e);
    if (rc == 1 && (r.obs_id == NULL || homedoctor_bp_reading_check(&r, 0, &e) != 0))
        abort();
    if (rc != 0 && rc != 1 && rc != ERR_NOMEM)
        abort();
    json_t *it = homedoctor_inbox_item(j);
    if (it != NULL) {
        json_t *text = json_object_get(it, "text");
        if (json_string_value(json_object_get(it, "id")) == NULL ||
            json_string_value(json_object_get(it, "rule")) == NULL ||
            json_string_value(json_object_get(text, "ja")) == NULL ||
            json_string_value(json_object_get(text, "en")) == NULL ||
            !json_is_array(json_object_get(it, "basis")) ||
            !json_is_array(json_object_get(it, "advice")))
            abort();
        json_decref(it);
    }
    arena_free(a);
    json_decref(j);
    return 0;
}
