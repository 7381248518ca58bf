/* adherence_map.c - a stored MedicationAdministration as a pill-box dose (adherence.h): pure
 * glue between what ingest stores for a dose event (src/ingest/payload_map.c) and rule 6. The
 * resource may also have been written through /fhir by the citizen, so nothing is assumed. */
#include <string.h>

#include "base/clock.h"
#include "ingest/payload.h"
#include "services/homedoctor/adherence.h"

/* The valueCode of the sub-extension url of the dose extension, or NULL. */
static const char *dose_ext_code(const json_t *ma, const char *url)
{
    const json_t *exts = json_object_get(ma, "extension");
    for (size_t i = 0; i < json_array_size(exts) && i < 64; i++) {
        const json_t *x = json_array_get(exts, i);
        const char *u = json_string_value(json_object_get(x, "url"));
        if (u == NULL || strcmp(u, INGEST_EXT_DOSE) != 0)
            continue;
        const json_t *subs = json_object_get(x, "extension");
        for (size_t k = 0; k < json_array_size(subs) && k < 64; k++) {
            const json_t *y = json_array_get(subs, k);
            const char *su = json_string_value(json_object_get(y, "url"));
            if (su != NULL && strcmp(su, url) == 0)
                return json_string_value(json_object_get(y, "valueCode"));
        }
        return NULL;
    }
    return NULL;
}

int homedoctor_dose_from_administration(const json_t *ma, struct arena *a,
                                        struct homedoctor_dose *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    const char *rt = json_string_value(json_object_get(ma, "resourceType"));
    if (rt == NULL || strcmp(rt, "MedicationAdministration") != 0)
        return err_set(e, ERR_INVALID, "not a MedicationAdministration"), 0;
    const char *reported = dose_ext_code(ma, "status");
    if (reported == NULL)
        return err_set(e, ERR_INVALID, "not a pill-box dose (no dose extension)"), 0;
    const char *id = json_string_value(json_object_get(ma, "id"));
    if (id == NULL || id[0] == '\0' || strlen(id) > 64)
        return err_set(e, ERR_INVALID, "no id"), 0;
    const char *when = json_string_value(json_object_get(ma, "effectiveDateTime"));
    int64_t ms = 0;
    if (when == NULL || clock_parse_rfc3339(when, &ms) != 0 || ms <= 0)
        return err_set(e, ERR_INVALID, "no effectiveDateTime with a time"), 0;
    /* the FHIR status is the truth (a citizen may mark a report entered-in-error) */
    const char *status = json_string_value(json_object_get(ma, "status"));
    if (status == NULL)
        return err_set(e, ERR_INVALID, "no status"), 0;
    if (strcmp(status, "not-done") == 0)
        out->status = HOMEDOCTOR_DOSE_MISSED;
    else if (strcmp(status, "completed") == 0)
        out->status = strcmp(reported, "late") == 0 ? HOMEDOCTOR_DOSE_LATE : HOMEDOCTOR_DOSE_TAKEN;
    else
        return err_set(e, ERR_INVALID, "status %.20s: not a reported dose", status), 0;
    out->id = arena_strdup(a, id);
    if (out->id == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    out->scheduled_ms = ms;
    return 1;
}
