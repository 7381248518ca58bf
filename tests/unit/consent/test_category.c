/* test_category.c - the data categories: names, canonical lists, and the FHIR mapping table
 * (types, category codes, the order of specific rows before general ones). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "consent/category.h"

static void names_and_lists(void **state)
{
    (void)state;
    for (int c = 0; c < CONSENT_CAT_COUNT; c++)
        assert_int_equal(consent_category_parse(consent_category_name((enum consent_category)c)),
                         c);
    assert_null(consent_category_name(CONSENT_CAT_NONE));
    assert_null(consent_category_name(CONSENT_CAT_COUNT));
    assert_int_equal(consent_category_parse("Vitals"), CONSENT_CAT_NONE);
    consent_cats m;
    char buf[CONSENT_CATS_TEXT_MAX];
    assert_int_equal(consent_cats_parse("medications,vitals", &m, NULL), 0);
    assert_string_equal(consent_cats_format(m, buf), "vitals,medications");
    assert_int_equal(consent_cats_parse(consent_cats_format(CONSENT_CATS_ALL, buf), &m, NULL), 0);
    assert_int_equal(m, CONSENT_CATS_ALL);
    assert_int_equal(strlen(buf) < CONSENT_CATS_TEXT_MAX, 1);
    assert_string_equal(consent_cats_format(0, buf), "");
    struct err e = {0};
    const char *bad[] = {"",
                         ",",
                         "vitals,",
                         ",vitals",
                         "vitals,,genome",
                         "vitals,vitals",
                         "dna",
                         "vitals ,genome",
                         "averyveryveryveryverylongcategoryname"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(consent_cats_parse(bad[i], &m, &e), ERR_INVALID);
        assert_int_equal(m, 0);
        assert_int_equal(strncmp(e.msg, "categories:", 11), 0);
    }
}

static enum consent_category of_json(const char *text)
{
    struct err e = {0};
    json_t *v = jsonx_parse(text, strlen(text), &e);
    assert_non_null(v);
    enum consent_category c = consent_category_of_resource(v);
    json_decref(v);
    return c;
}

#define OBS(code)                                                                                  \
    "{\"resourceType\":\"Observation\",\"category\":[{\"coding\":[{\"system\":\"http://"           \
    "terminology.hl7.org/CodeSystem/observation-category\",\"code\":\"" code "\"}]}]}"

static void fhir_mapping(void **state)
{
    (void)state;
    assert_int_equal(of_json(OBS("vital-signs")), CONSENT_CAT_VITALS);
    assert_int_equal(of_json(OBS("laboratory")), CONSENT_CAT_LAB_RESULTS);
    assert_int_equal(of_json(OBS("exam")), CONSENT_CAT_CHECKUPS);
    assert_int_equal(of_json(OBS("survey")), CONSENT_CAT_CHECKUPS);
    assert_int_equal(of_json(OBS("activity")), CONSENT_CAT_LIFELOG);
    assert_int_equal(of_json(OBS("imaging")), CONSENT_CAT_CLINICAL);
    assert_int_equal(of_json(OBS("unknown")), CONSENT_CAT_NONE);
    assert_int_equal(of_json("{\"resourceType\":\"Observation\"}"), CONSENT_CAT_NONE);
    /* genetics wins over laboratory whatever the order of the codings */
    assert_int_equal(
        of_json("{\"resourceType\":\"Observation\",\"category\":[{\"coding\":[{\"system\":"
                "\"http://terminology.hl7.org/CodeSystem/observation-category\",\"code\":"
                "\"laboratory\"}]},{\"coding\":[{\"system\":\"http://terminology.hl7.org/"
                "CodeSystem/v2-0074\",\"code\":\"GE\"}]}]}"),
        CONSENT_CAT_GENOME);
    /* the city's life-stage codes win on any type */
    assert_int_equal(of_json("{\"resourceType\":\"DocumentReference\",\"category\":[{\"coding\":"
                             "[{\"system\":\"urn:cityos:record-category\",\"code\":"
                             "\"maternal-child\"}]}]}"),
                     CONSENT_CAT_MATERNAL_CHILD);
    assert_int_equal(of_json("{\"resourceType\":\"Observation\",\"category\":[{\"coding\":"
                             "[{\"system\":\"urn:cityos:record-category\",\"code\":"
                             "\"school-health\"}]}]}"),
                     CONSENT_CAT_SCHOOL_HEALTH);
    /* a code without its system does not count */
    assert_int_equal(of_json("{\"resourceType\":\"Observation\",\"category\":[{\"coding\":"
                             "[{\"code\":\"vital-signs\"}]}]}"),
                     CONSENT_CAT_NONE);
    /* one CodeableConcept instead of an array (Composition.category is 0..*, some send one) */
    assert_int_equal(of_json("{\"resourceType\":\"DiagnosticReport\",\"category\":{\"coding\":"
                             "[{\"system\":\"http://terminology.hl7.org/CodeSystem/v2-0074\","
                             "\"code\":\"LAB\"}]}}"),
                     CONSENT_CAT_LAB_RESULTS);
    struct {
        const char *type;
        enum consent_category want;
    } types[] = {
        {"MedicationRequest", CONSENT_CAT_MEDICATIONS},
        {"MedicationDispense", CONSENT_CAT_MEDICATIONS},
        {"Immunization", CONSENT_CAT_MEDICATIONS},
        {"Claim", CONSENT_CAT_CLAIMS},
        {"ExplanationOfBenefit", CONSENT_CAT_CLAIMS},
        {"Coverage", CONSENT_CAT_CLAIMS},
        {"MolecularSequence", CONSENT_CAT_GENOME},
        {"CarePlan", CONSENT_CAT_CARE_RECORDS},
        {"CareTeam", CONSENT_CAT_CARE_RECORDS},
        {"Goal", CONSENT_CAT_CARE_RECORDS},
        {"Appointment", CONSENT_CAT_APPOINTMENTS},
        {"RiskAssessment", CONSENT_CAT_ALERTS},
        {"Invoice", CONSENT_CAT_PAYMENTS},
        {"Patient", CONSENT_CAT_CONTACT},
        {"Condition", CONSENT_CAT_CLINICAL},
        {"DiagnosticReport", CONSENT_CAT_CLINICAL},
        {"Consent", CONSENT_CAT_NONE},
        {"AuditEvent", CONSENT_CAT_NONE},
        {"Organization", CONSENT_CAT_NONE},
        {"", CONSENT_CAT_NONE},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        assert_int_equal(consent_category_of(types[i].type, NULL, 0), types[i].want);
    assert_int_equal(consent_category_of(NULL, NULL, 0), CONSENT_CAT_NONE);
    assert_int_equal(of_json("[]"), CONSENT_CAT_NONE);
    assert_int_equal(of_json("{\"resourceType\":7}"), CONSENT_CAT_NONE);
}

static void every_category_is_reachable(void **state)
{
    (void)state;
    size_t n;
    const struct consent_category_row *t = consent_category_table(&n);
    consent_cats seen = 0;
    for (size_t i = 0; i < n; i++)
        seen |= 1u << t[i].category;
    /* location has no FHIR resource of a person: NGSI-LD entities name it directly */
    assert_int_equal(seen | (1u << CONSENT_CAT_LOCATION), CONSENT_CATS_ALL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_and_lists),
        cmocka_unit_test(fhir_mapping),
        cmocka_unit_test(every_category_is_reachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
