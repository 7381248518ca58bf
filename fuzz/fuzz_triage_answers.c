/* fuzz_triage_answers.c - a citizen's QuestionnaireResponse against the real triage tables:
 * strict JSON, the R4 shape, the questionnaire's rules; whatever is accepted evaluates to a
 * result, renders, is valid FHIR when stored, and reads back as the same answers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "fhir/validate.h"
#include "services/triage/triage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SUBJECT "01JDTAROAIZU0000000000000A"

static struct triage_table *table(void)
{
    static struct triage_table *t;
    struct err e = {0};
    if (t == NULL && triage_table_load(triage_embedded_files(), &t, &e) != 0)
        abort();
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct triage_table *t = table();
    struct err e = {0};
    json_t *in = jsonx_parse((const char *)data, size, &e);
    if (in == NULL)
        return 0;
    struct arena *a = arena_new(16 * 1024);
    if (a == NULL)
        abort();
    struct triage_answer *ans = NULL;
    if (triage_answers_parse(t, in, SUBJECT, a, &ans, &e) == 0) {
        struct triage_result r;
        if (triage_evaluate(t, ans, a, &r, &e) != 0 || r.nreasons == 0)
            abort();
        json_t *result = triage_result_json(t, ans, &r);
        json_t *res = result != NULL
                          ? triage_response_resource(t, ans, "01JDQR0000000000000000000A", SUBJECT,
                                                     1764000000000LL, &r, result)
                          : NULL;
        if (res == NULL)
            abort();
        struct fhir_issues *is = malloc(sizeof *is);
        if (is == NULL)
            abort();
        fhir_issues_init(is, NULL, NULL);
        if (fhir_validate(res, "QuestionnaireResponse", is) != 0 || is->nerrors > 0)
            abort();
        free(is);
        /* the stored answers, minus the server's members, are accepted again, same level */
        json_object_del(res, "id");
        json_object_del(res, "extension");
        json_object_del(res, "authored");
        struct triage_answer *again = NULL;
        struct triage_result r2;
        if (triage_answers_parse(t, res, SUBJECT, a, &again, &e) != 0 ||
            triage_evaluate(t, again, a, &r2, &e) != 0 || r2.level != r.level)
            abort();
        json_decref(res);
        json_decref(result);
    }
    arena_free(a);
    json_decref(in);
    return 0;
}
