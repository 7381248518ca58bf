/* fuzz_fhir_validate.c - the FHIR R4 validator over arbitrary JSON: strict parsing, then
 * fhir_validate() with and without an expected type and with a reference callback; the result
 * must agree with the issues, every issue must be well formed, every reference handed out must
 * be of an allowed type, and the OperationOutcome must serialise. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "fhir/defs.h"
#include "fhir/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int allowed(const char *const *targets, const char *type)
{
    if (targets == NULL || type[0] == '\0')
        return 1;
    for (; *targets != NULL; targets++)
        if (strcmp(*targets, type) == 0)
            return 1;
    return 0;
}

static int on_ref(void *ctx, const struct fhir_ref *ref, struct fhir_issues *out)
{
    (void)ctx;
    if (ref->reference == NULL || ref->expression == NULL || !allowed(ref->targets, ref->type))
        abort();
    if (ref->kind == FHIR_REF_RELATIVE &&
        (fhir_defs_struct(ref->type) == NULL || ref->id[0] == '\0'))
        abort();
    if (ref->id[0] == 'x') { /* refuse some, as a store would */
        fhir_issues_add(out, FHIR_ERROR, "not-found", ref->expression, "no such resource");
        return -1;
    }
    return 0;
}

static void check(const json_t *in, const char *expect, fhir_ref_fn fn)
{
    struct fhir_issues is;
    fhir_issues_init(&is, fn, NULL);
    int rc = fhir_validate(in, expect, &is);
    if ((rc == 0) != (is.nerrors == 0) || is.n > FHIR_ISSUES_MAX || is.n + is.dropped < is.nerrors)
        abort();
    for (size_t i = 0; i < is.n; i++)
        if (is.items[i].code == NULL || strlen(is.items[i].expression) >= FHIR_ISSUE_EXPR ||
            strlen(is.items[i].diagnostics) >= FHIR_ISSUE_TEXT)
            abort();
    if (rc == 0) {
        const char *type = json_string_value(json_object_get(in, "resourceType"));
        const struct fhir_struct *s = fhir_defs_struct(type);
        if (s == NULL || !s->is_resource || (expect != NULL && strcmp(expect, type) != 0))
            abort();
    }
    json_t *o = fhir_issues_outcome(&is);
    char *text = o != NULL ? jsonx_dumps(o, NULL) : NULL;
    free(text);
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    json_t *in = jsonx_parse((const char *)data, size, &e);
    if (in == NULL)
        return 0;
    check(in, NULL, NULL);
    check(in, "Observation", on_ref);
    json_decref(in);
    return 0;
}
