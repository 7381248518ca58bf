/* fuzz_fhir_index_rows.c - search index extraction from arbitrary JSON: either refused with a
 * reason, or a bounded list of well-formed rows (known kinds, named parameters, ordered date
 * ranges, normalised strings no longer than the bound). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "fhir/defs.h"
#include "fhir/index_rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    json_t *v = jsonx_parse((const char *)data, size, &e);
    if (v == NULL)
        return 0;
    struct arena *a = arena_new(0);
    if (a == NULL) {
        json_decref(v);
        return 0;
    }
    struct fhir_ix_rows r;
    int rc = fhir_index_rows(v, fhir_defs_search_params, a, &r, &e);
    if (rc != 0) {
        if ((rc != ERR_INVALID && rc != ERR_TOOBIG && rc != ERR_NOMEM) || e.msg[0] == '\0')
            abort();
    } else {
        if (r.n > FHIR_IX_ROWS_MAX)
            abort();
        for (size_t i = 0; i < r.n; i++) {
            const struct fhir_ix_row *x = &r.rows[i];
            if ((unsigned)x->kind >= FHIR_IX_KINDS || x->param == NULL)
                abort();
            if (x->kind == FHIR_IX_DATE &&
                (x->lo_ms > x->hi_ms || x->lo_ms < FHIR_DATE_MIN || x->hi_ms > FHIR_DATE_MAX))
                abort();
            if (x->kind == FHIR_IX_STRING &&
                (x->norm == NULL || x->exact == NULL || strlen(x->norm) > FHIR_IX_VALUE_MAX))
                abort();
            if (x->kind == FHIR_IX_TOKEN && x->code == NULL)
                abort();
            if (x->kind == FHIR_IX_REF && x->url == NULL &&
                (x->target_type == NULL || x->target_id == NULL))
                abort();
        }
    }
    arena_free(a);
    json_decref(v);
    return 0;
}
