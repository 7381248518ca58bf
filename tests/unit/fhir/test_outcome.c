/* test_outcome.c - FHIR OperationOutcome bodies: exact shape, severities, no diagnostics,
 * diagnostics that are not UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "fhir/outcome.h"

static void dumps_as(json_t *o, const char *want)
{
    assert_non_null(o);
    char *s = jsonx_dumps(o, NULL);
    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
    json_decref(o);
}

static void outcome_shapes(void **state)
{
    (void)state;
    dumps_as(fhir_operation_outcome(FHIR_ERROR, "required", "patient is required"),
             "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\","
             "\"code\":\"required\",\"diagnostics\":\"patient is required\"}]}");
    dumps_as(fhir_operation_outcome(FHIR_FATAL, "transient", NULL),
             "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"fatal\","
             "\"code\":\"transient\"}]}");
    dumps_as(fhir_operation_outcome(FHIR_WARNING, NULL, ""),
             "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"warning\","
             "\"code\":\"exception\"}]}");
    dumps_as(fhir_operation_outcome(FHIR_INFORMATION, "informational", "bad \xff byte"),
             "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"information\","
             "\"code\":\"informational\",\"diagnostics\":\"(diagnostics not valid UTF-8)\"}]}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(outcome_shapes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
