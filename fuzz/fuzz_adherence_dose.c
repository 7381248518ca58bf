/* fuzz_adherence_dose.c - what the adherence rules read back from the FHIR store (adherence.h):
 * any JSON as a MedicationAdministration turned into a pill-box dose; a dose that is used has
 * an id, a known status and a time, and a handful of them (the input's dose repeated at
 * shifted times and statuses) evaluate without error; a fired rule has an episode key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "services/homedoctor/adherence.h"

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
    struct homedoctor_dose d;
    int rc = homedoctor_dose_from_administration(j, a, &d, &e);
    if (rc != 0 && rc != 1 && rc != ERR_NOMEM)
        abort();
    if (rc == 1) {
        if (d.id == NULL || d.id[0] == '\0' || d.scheduled_ms <= 0 ||
            (d.status != HOMEDOCTOR_DOSE_TAKEN && d.status != HOMEDOCTOR_DOSE_LATE &&
             d.status != HOMEDOCTOR_DOSE_MISSED))
            abort();
        /* the dose and 20 more, 12 h apart before it, statuses from the input's bytes */
        struct homedoctor_dose ds[21];
        for (int i = 0; i < 21; i++) {
            ds[i] = d;
            ds[i].scheduled_ms = d.scheduled_ms - (int64_t)i * 12 * 3600 * 1000;
            if (i > 0)
                ds[i].status = (enum homedoctor_dose_status)(data[(size_t)i % size] % 3);
        }
        struct homedoctor_adherence_eval res[HOMEDOCTOR_ADHERENCE_NRULES];
        struct homedoctor_finding *f[HOMEDOCTOR_ADHERENCE_NRULES];
        int64_t now = d.scheduled_ms;
        int64_t from = now - HOMEDOCTOR_DOSE_HISTORY_DAYS * HOMEDOCTOR_DAY_MS;
        rc = homedoctor_adherence_doses_evaluate(a, ds, 21, from, now, res, f, &e);
        if (rc != 0 && rc != ERR_NOMEM)
            abort();
        for (int k = 0; rc == 0 && k < HOMEDOCTOR_ADHERENCE_NRULES; k++)
            if ((f[k] != NULL) != res[k].fired ||
                (res[k].fired && homedoctor_adherence_episode_scope(a, &res[k]) == NULL))
                abort();
    }
    arena_free(a);
    json_decref(j);
    return 0;
}
