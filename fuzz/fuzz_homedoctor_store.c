/* fuzz_homedoctor_store.c - what the home doctor service reads back from the FHIR store
 * (src/services/homedoctor/service.h): any JSON as an Observation turned into a reading, and as
 * a Communication turned into an inbox item, and as a check-up item absorbed into the Hisayama
 * inputs. A reading that is used must pass the library's check; an inbox item always has its
 * kind, id, rule and both texts; an absorbed item is known with its Observation id and a value
 * the score accepts. */
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
    struct homedoctor_hisayama_input in;
    memset(&in, 0, sizeof in);
    rc = homedoctor_checkup_absorb(j, a, &in);
    if (rc != 0 && rc != 1 && rc != ERR_NOMEM)
        abort();
    const struct homedoctor_measure *m[] = {&in.office_sbp, &in.hdl, &in.ldl};
    const struct homedoctor_flag *fl[] = {&in.diabetes, &in.proteinuria, &in.smoking,
                                          &in.regular_exercise};
    int known = 0;
    for (size_t i = 0; i < 3; i++)
        if (m[i]->known && (known = 1, m[i]->obs_id == NULL || !(m[i]->value > 0)))
            abort();
    for (size_t i = 0; i < 4; i++)
        if (fl[i]->known && (known = 1, fl[i]->obs_id == NULL))
            abort();
    if ((rc == 1) != known)
        abort();
    arena_free(a);
    json_decref(j);
    return 0;
}
