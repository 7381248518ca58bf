/* fuzz_import_csv.c - the check-up CSV reader and mapping of the import over arbitrary bytes:
 * fhir_csv_parse(), the header's layout, each row's Observations and its ledger bytes. Every
 * row the mapping accepts must give valid R4 Observations (fhir_validate without error), with
 * one fullUrl per entry and the panel last; a refused row must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/import_csv.h"
#include "fhir/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
    int have_layout;
    struct fhir_checkup_layout l;
};

static int row(void *vctx, size_t line, size_t end, const char *const *cells, size_t n,
               const char *bad)
{
    struct ctx *c = vctx;
    if (line == 0 || (bad != NULL && n != 0) || n > FHIR_CSV_CELLS_MAX)
        abort();
    (void)end;
    if (bad != NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(cells[i]) > FHIR_CSV_CELL_MAX)
            abort();
    struct err e = {0};
    if (!c->have_layout) {
        c->have_layout = fhir_checkup_layout(cells, n, &c->l, &e) == 0;
        if (!c->have_layout && e.msg[0] == '\0')
            abort();
        return 0;
    }
    size_t clen = 0;
    char *canon = fhir_checkup_canon(&c->l, cells, n, &clen);
    if (canon == NULL || strlen(canon) != clen)
        abort();
    free(canon);
    const char *person = NULL;
    json_t *out = fhir_checkup_row(&c->l, cells, n, &person, &e);
    if (out == NULL) {
        if (e.msg[0] == '\0')
            abort();
        return 0;
    }
    size_t i;
    json_t *entry;
    json_array_foreach(out, i, entry)
    {
        const json_t *res = json_object_get(entry, "resource");
        if (json_string_value(json_object_get(entry, "fullUrl")) == NULL)
            abort();
        struct fhir_issues is;
        fhir_issues_init(&is, NULL, NULL);
        if (fhir_validate(res, "Observation", &is) != 0)
            abort(); /* the mapping made an invalid Observation */
    }
    if (json_object_get(json_object_get(json_array_get(out, json_array_size(out) - 1), "resource"),
                        "hasMember") == NULL)
        abort();
    json_decref(out);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctx c = {0};
    struct err e = {0};
    int rc = fhir_csv_parse((const char *)data, size, row, &c, &e);
    if (rc != 0 && rc != ERR_INVALID && rc != ERR_NOMEM)
        abort();
    return 0;
}
