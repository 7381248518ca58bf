/* test_triage_service.c - the triage service at start-up: the tables load and the Questionnaire
 * is published as a shared FHIR resource once per version; a bad table stops the registration
 * with its file and line and keeps nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "fhir/resource.h"
#include "services/triage/triage.h"
#include "support/fixture.h"

static int setup(void **state)
{
    return fx_setup_in(state, "triage");
}

static int64_t questionnaire_version(struct fx *f)
{
    struct fhir_record rec;
    struct err e = {0};
    int rc = fhir_resource_read(f->s, "Questionnaire", TRIAGE_QUESTIONNAIRE_ID, &rec, f->a, &e);
    return rc == 0 ? rec.version : 0;
}

static void publishes_the_questionnaire_once_per_version(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    assert_int_equal(questionnaire_version(f), 0);
    assert_int_equal(triage_register(f->s, NULL, &e), 0);
    assert_non_null(triage_table_current());
    assert_int_equal(questionnaire_version(f), 1);
    struct fhir_record rec;
    assert_int_equal(
        fhir_resource_read(f->s, "Questionnaire", TRIAGE_QUESTIONNAIRE_ID, &rec, f->a, &e), 0);
    assert_null(rec.subject); /* shared: about no one */
    json_t *q = jsonx_parse(rec.body, rec.len, &e);
    assert_non_null(q);
    assert_string_equal(json_string_value(json_object_get(q, "url")), TRIAGE_QUESTIONNAIRE_URL);
    assert_string_equal(json_string_value(json_object_get(q, "version")),
                        triage_table_current()->version);
    json_decref(q);
    /* a restart with the same tables writes nothing */
    assert_int_equal(triage_register(f->s, NULL, &e), 0);
    assert_int_equal(questionnaire_version(f), 1);
}

static void changed_tables_publish_a_new_version(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    assert_int_equal(triage_register(f->s, NULL, &e), 0);
    struct triage_files files = *triage_embedded_files();
    /* the same rules with one reason reworded: a new version */
    const char *from = "Nothing listed applies";
    const char *at = strstr(files.rules.text, from);
    assert_non_null(at);
    char *text = strdup(files.rules.text);
    text[at - files.rules.text] = 'n';
    files.rules.text = text;
    assert_int_equal(triage_register_files(f->s, &files, &e), 0);
    assert_int_equal(questionnaire_version(f), 2);
    free(text);
    assert_int_equal(triage_register(f->s, NULL, &e), 0);
    assert_int_equal(questionnaire_version(f), 3);
}

static void a_bad_table_stops_the_registration(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    assert_int_equal(triage_register(f->s, NULL, &e), 0);
    const struct triage_table *before = triage_table_current();
    struct triage_files files = *triage_embedded_files();
    const char *at = strstr(files.rules.text, "\tred\t");
    assert_non_null(at);
    char *text = strdup(files.rules.text);
    memcpy(text + (at - files.rules.text), "\tRED\t", 5);
    size_t line = 1;
    for (const char *p = files.rules.text; p < at; p++)
        line += *p == '\n';
    files.rules.text = text;
    assert_int_equal(triage_register_files(f->s, &files, &e), ERR_INVALID);
    char want[64];
    snprintf(want, sizeof want, "data/triage/rules.tsv:%zu: level \"RED\"", line);
    assert_non_null(strstr(e.msg, want));
    free(text);
    assert_ptr_equal(triage_table_current(), before); /* the good tables stay */
    assert_int_equal(questionnaire_version(f), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(publishes_the_questionnaire_once_per_version, setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(changed_tables_publish_a_new_version, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_bad_table_stops_the_registration, setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
