/* test_triage_answers.c - reading a QuestionnaireResponse against the triage questionnaire: the
 * S1 persona's answers; every refusal (unknown and repeated linkIds, wrong answer types,
 * options, bounds, questions not asked, required ones missing, another questionnaire or version,
 * another subject, members the server sets) with its location; the stored resource round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "fhir/validate.h"
#include "services/triage/triage.h"

#define SUBJECT "01JDTAROAIZU0000000000000A"

static struct triage_table *T;
static struct arena *A;

static int group_setup(void **state)
{
    (void)state;
    struct err e = {0};
    return triage_table_load(triage_embedded_files(), &T, &e) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    triage_table_free(T);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    A = arena_new(16 * 1024);
    return A != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(A);
    return 0;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = arena_vprintf(A, f, ap);
    va_end(ap);
    assert_non_null(s);
    return s;
}

#define B(link, v) "{\"linkId\":\"" link "\",\"answer\":[{\"valueBoolean\":" #v "}]}"
#define GENERAL                                                                                    \
    B("rf.unresponsive", false)                                                                    \
    "," B("rf.breathing", false) "," B("rf.stroke", false) "," B("rf.pale", false) "," B(          \
        "rf.seizure",                                                                              \
        false) "," B("rf.bleeding",                                                                \
                     false) ","                                                                    \
                            "{\"linkId\":\"age\",\"answer\":[{\"valueInteger\":70}]}," B(          \
                                "risk.hypertension",                                               \
                                true) "," B("risk.diabetes",                                       \
                                            false) "," B("risk.kidney",                            \
                                                         false) "," B("risk.smoking", false)
#define ROUTINE                                                                                    \
    "{\"linkId\":\"purpose\",\"answer\":[{\"valueCoding\":{\"system\":\"" TRIAGE_OPTION_SYSTEM     \
    "\",\"code\":\"routine\"}}]}"

/* A QuestionnaireResponse with these items (and header members extra, e.g. ",\"id\":\"x\""). */
static char *qr(const char *items, const char *extra)
{
    return fmt("{\"resourceType\":\"QuestionnaireResponse\",\"questionnaire\":\"%s\","
               "\"status\":\"completed\"%s,\"item\":[%s]}",
               TRIAGE_QUESTIONNAIRE_URL, extra, items);
}

static int parse(const char *text, struct triage_answer **ans, struct err *e)
{
    json_t *v = jsonx_parse(text, strlen(text), e);
    assert_non_null(v);
    int rc = triage_answers_parse(T, v, SUBJECT, A, ans, e);
    json_decref(v);
    return rc;
}

static void accepted(const char *text)
{
    struct triage_answer *ans = NULL;
    struct err e = {0};
    if (parse(text, &ans, &e) != 0)
        fail_msg("refused: %s", e.msg);
}

/* Refused with a message that starts with location and contains what. */
static void refused(const char *text, const char *location, const char *what)
{
    struct triage_answer *ans = NULL;
    struct err e = {0};
    int rc = parse(text, &ans, &e);
    if (rc == 0)
        fail_msg("accepted; wanted %s: %s", location, what);
    assert_int_equal(rc, ERR_INVALID);
    assert_null(ans);
    if (strncmp(e.msg, location, strlen(location)) != 0 || strstr(e.msg, what) == NULL)
        fail_msg("got \"%s\", want \"%s...%s\"", e.msg, location, what);
}

static void the_persona_s_answers_are_read(void **state)
{
    (void)state;
    struct triage_answer *ans = NULL;
    struct err e = {0};
    char *text = qr(GENERAL "," ROUTINE, ",\"subject\":{\"reference\":\"Patient/" SUBJECT "\"}");
    assert_int_equal(parse(text, &ans, &e), 0);
    long age = triage_item_index(T, "age");
    assert_true(ans[age].present);
    assert_int_equal(ans[age].v.i, 70);
    assert_int_equal(ans[age].response_index, 6);
    long p = triage_item_index(T, "purpose");
    assert_string_equal(ans[p].v.code, "routine");
    assert_false(ans[triage_item_index(T, "symptom")].present);
    /* with the current version, and the coding without a system */
    accepted(fmt("{\"resourceType\":\"QuestionnaireResponse\",\"questionnaire\":\"%s|%s\","
                 "\"status\":\"completed\",\"item\":[" GENERAL
                 ",{\"linkId\":\"purpose\",\"answer\":[{\"valueCoding\":{\"code\":"
                 "\"routine\"}}]}]}",
                 TRIAGE_QUESTIONNAIRE_URL, T->version));
}

static void unknown_and_repeated_link_ids_are_refused(void **state)
{
    (void)state;
    refused(qr(GENERAL "," ROUTINE "," B("rf.nothing", true), ""),
            "QuestionnaireResponse.item[12].linkId", "not a question");
    refused(qr(GENERAL "," ROUTINE "," B("rf.pale", true), ""),
            "QuestionnaireResponse.item[12].linkId", "rf.pale is answered twice");
}

static void wrong_answer_types_are_refused(void **state)
{
    (void)state;
    refused(qr(GENERAL "," ROUTINE ",{\"linkId\":\"risk.pregnant\",\"answer\":[{\"valueString\":"
                       "\"no\"}]}",
               ""),
            "QuestionnaireResponse.item[12].answer[0].valueString", "valueBoolean");
    refused(qr(GENERAL ","
                       "{\"linkId\":\"purpose\",\"answer\":[{\"valueBoolean\":true}]}",
               ""),
            "QuestionnaireResponse.item[11].answer[0].valueBoolean", "valueCoding");
    refused(qr(GENERAL ","
                       "{\"linkId\":\"purpose\",\"answer\":[{\"valueCoding\":{\"code\":"
                       "\"holiday\"}}]}",
               ""),
            "QuestionnaireResponse.item[11].answer[0].valueCoding.code", "not an option");
    refused(qr(GENERAL ","
                       "{\"linkId\":\"purpose\",\"answer\":[{\"valueCoding\":{\"system\":"
                       "\"http://x\",\"code\":\"routine\"}}]}",
               ""),
            "QuestionnaireResponse.item[11].answer[0].valueCoding.system", TRIAGE_OPTION_SYSTEM);
    /* the R4 shape is checked first: a string where a boolean goes */
    refused(qr(GENERAL "," ROUTINE
                       ",{\"linkId\":\"risk.pregnant\",\"answer\":[{\"valueBoolean\":\"no\"}]}",
               ""),
            "QuestionnaireResponse.item[12].answer[0].valueBoolean", "");
    refused(qr(GENERAL "," ROUTINE ",{\"linkId\":\"risk.pregnant\",\"answer\":[]}", ""),
            "QuestionnaireResponse.item[12].answer", "");
    refused(qr(GENERAL "," ROUTINE
                       ",{\"linkId\":\"risk.pregnant\",\"answer\":[{\"valueBoolean\":true},"
                       "{\"valueBoolean\":false}]}",
               ""),
            "QuestionnaireResponse.item[12].answer", "exactly one answer");
}

static void bounds_are_checked(void **state)
{
    (void)state;
    const char *head =
        B("rf.unresponsive", false) "," B("rf.breathing", false) "," B("rf.stroke", false) "," B(
            "rf.pale", false) "," B("rf.seizure", false) "," B("rf.bleeding", false) ",";
    const char *risks = "," B("risk.hypertension", false) "," B("risk.diabetes", false) "," B(
        "risk.kidney", false) "," B("risk.smoking", false) "," ROUTINE;
    accepted(
        qr(fmt("%s{\"linkId\":\"age\",\"answer\":[{\"valueInteger\":130}]}%s", head, risks), ""));
    accepted(
        qr(fmt("%s{\"linkId\":\"age\",\"answer\":[{\"valueInteger\":0}]}%s", head, risks), ""));
    refused(
        qr(fmt("%s{\"linkId\":\"age\",\"answer\":[{\"valueInteger\":131}]}%s", head, risks), ""),
        "QuestionnaireResponse.item[6].answer[0].valueInteger", "out of range for age");
    refused(qr(fmt("%s{\"linkId\":\"age\",\"answer\":[{\"valueInteger\":-1}]}%s", head, risks), ""),
            "QuestionnaireResponse.item[6].answer[0].valueInteger", "out of range");
    refused(
        qr(fmt("%s{\"linkId\":\"age\",\"answer\":[{\"valueDecimal\":7.5}]}%s", head, risks), ""),
        "QuestionnaireResponse.item[6].answer[0].valueDecimal", "valueInteger");
    /* temperature: 34.0 to 43.0 */
    const char *fever =
        ",{\"linkId\":\"purpose\",\"answer\":[{\"valueCoding\":{\"code\":"
        "\"symptom\"}}]},{\"linkId\":\"symptom\",\"answer\":[{\"valueCoding\":{"
        "\"code\":\"fever\"}}]}," B("fever.stiff_neck", false) "," B("fever.breath", false);
    accepted(qr(
        fmt(GENERAL "%s,{\"linkId\":\"fever.temp\",\"answer\":[{\"valueDecimal\":43.0}]}", fever),
        ""));
    accepted(
        qr(fmt(GENERAL "%s,{\"linkId\":\"fever.temp\",\"answer\":[{\"valueDecimal\":38}]}", fever),
           ""));
    refused(qr(fmt(GENERAL "%s,{\"linkId\":\"fever.temp\",\"answer\":[{\"valueDecimal\":43.1}]}",
                   fever),
               ""),
            "QuestionnaireResponse.item[15].answer[0].valueDecimal", "out of range");
    refused(qr(fmt(GENERAL "%s,{\"linkId\":\"fever.temp\",\"answer\":[{\"valueDecimal\":33.9}]}",
                   fever),
               ""),
            "QuestionnaireResponse.item[15].answer[0].valueDecimal", "out of range");
}

static void questions_not_asked_and_required_ones_missing(void **state)
{
    (void)state;
    /* a chest-pain answer on a routine visit */
    refused(qr(GENERAL "," ROUTINE "," B("chest.sudden", false), ""),
            "QuestionnaireResponse.item[12]", "chest.sudden is not asked");
    /* a required general question left out */
    refused(qr(B("rf.unresponsive", false) "," ROUTINE, ""), "QuestionnaireResponse.item",
            "rf.breathing is required");
    /* a symptom chosen, its questions not answered */
    refused(qr(GENERAL ",{\"linkId\":\"purpose\",\"answer\":[{\"valueCoding\":{\"code\":"
                       "\"symptom\"}}]},{\"linkId\":\"symptom\",\"answer\":[{\"valueCoding\":{"
                       "\"code\":\"chest\"}}]}",
               ""),
            "QuestionnaireResponse.item", "chest.sudden is required");
    /* the optional one may be left out: risk.pregnant, fever.days */
    accepted(qr(GENERAL "," ROUTINE, ""));
}

static void the_header_is_checked(void **state)
{
    (void)state;
    const char *items = GENERAL "," ROUTINE;
    refused(fmt("{\"resourceType\":\"QuestionnaireResponse\",\"questionnaire\":\"urn:other\","
                "\"status\":\"completed\",\"item\":[%s]}",
                items),
            "QuestionnaireResponse.questionnaire", "another questionnaire");
    refused(fmt("{\"resourceType\":\"QuestionnaireResponse\",\"questionnaire\":\"%s|0000\","
                "\"status\":\"completed\",\"item\":[%s]}",
                TRIAGE_QUESTIONNAIRE_URL, items),
            "QuestionnaireResponse.questionnaire", "another version");
    refused(fmt("{\"resourceType\":\"QuestionnaireResponse\",\"status\":\"completed\","
                "\"item\":[%s]}",
                items),
            "QuestionnaireResponse.questionnaire", "required");
    refused(fmt("{\"resourceType\":\"QuestionnaireResponse\",\"questionnaire\":\"%s\","
                "\"status\":\"in-progress\",\"item\":[%s]}",
                TRIAGE_QUESTIONNAIRE_URL, items),
            "QuestionnaireResponse.status", "completed");
    refused(qr(items, ",\"subject\":{\"reference\":\"Patient/01JDOTHER000000000000000AA\"}"),
            "QuestionnaireResponse.subject", "the citizen");
    refused(qr(items, ",\"id\":\"abc\""), "QuestionnaireResponse.id", "not accepted");
    refused(
        qr(items, ",\"extension\":[{\"url\":\"" TRIAGE_EXT_RESULT "\",\"valueString\":\"red\"}]"),
        "QuestionnaireResponse.extension", "not accepted");
    refused(fmt("{\"resourceType\":\"QuestionnaireResponse\",\"questionnaire\":\"%s\","
                "\"status\":\"completed\"}",
                TRIAGE_QUESTIONNAIRE_URL),
            "QuestionnaireResponse.item", "required");
    refused(qr("{\"linkId\":\"g\",\"item\":[" B("rf.pale", false) "]}", ""),
            "QuestionnaireResponse.item[0].item", "flat");
    refused("{\"resourceType\":\"Patient\"}", "QuestionnaireResponse.resourceType", "");
    refused("[1,2]", "QuestionnaireResponse", "not a JSON object");
    refused(qr(items, ",\"bogus\":1"), "QuestionnaireResponse", "");
}

static void the_stored_resource_is_valid_fhir_and_reads_back(void **state)
{
    (void)state;
    struct triage_answer *ans = NULL;
    struct err e = {0};
    assert_int_equal(parse(qr(GENERAL "," ROUTINE, ""), &ans, &e), 0);
    struct triage_result r;
    assert_int_equal(triage_evaluate(T, ans, A, &r, &e), 0);
    json_t *result = triage_result_json(T, ans, &r);
    assert_non_null(result);
    json_t *res = triage_response_resource(T, ans, "01JDQR00000000000000000000", SUBJECT,
                                           1764000000000, &r, result);
    assert_non_null(res);
    struct fhir_issues *is = malloc(sizeof *is);
    fhir_issues_init(is, NULL, NULL);
    int rc = fhir_validate(res, "QuestionnaireResponse", is);
    if (rc != 0 || is->nerrors > 0)
        fail_msg("not valid: %s: %s", is->items[0].expression, is->items[0].diagnostics);
    free(is);
    struct triage_summary sum;
    assert_int_equal(triage_response_summary(res, &sum, &e), 0);
    assert_int_equal(sum.level, TRIAGE_GREEN);
    assert_string_equal(sum.department, "family-medicine");
    assert_true(sum.online_suitable);
    json_t *back = triage_response_result_json(res);
    assert_non_null(back);
    assert_true(json_equal(back, result));
    json_decref(back);
    /* what was stored is answers the questionnaire accepts again */
    json_t *again = json_deep_copy(res);
    json_object_del(again, "id");
    json_object_del(again, "extension");
    json_object_del(again, "authored");
    struct triage_answer *ans2 = NULL;
    assert_int_equal(triage_answers_parse(T, again, SUBJECT, A, &ans2, &e), 0);
    json_decref(again);
    /* something that is not a triage answer */
    json_t *plain = json_pack("{s:s}", "resourceType", "QuestionnaireResponse");
    assert_int_equal(triage_response_summary(plain, &sum, &e), ERR_INVALID);
    assert_null(triage_response_result_json(plain));
    json_decref(plain);
    json_decref(res);
    json_decref(result);
}

static void the_questionnaire_is_valid_fhir_in_each_language(void **state)
{
    (void)state;
    const char *langs[] = {NULL, "ja", "en"};
    for (int i = 0; i < 3; i++) {
        json_t *q = triage_questionnaire_fhir(T, langs[i]);
        assert_non_null(q);
        struct fhir_issues *is = malloc(sizeof *is);
        fhir_issues_init(is, NULL, NULL);
        int rc = fhir_validate(q, "Questionnaire", is);
        if (rc != 0 || is->nerrors > 0)
            fail_msg("%s: not valid: %s: %s", langs[i] ? langs[i] : "both", is->items[0].expression,
                     is->items[0].diagnostics);
        free(is);
        assert_string_equal(json_string_value(json_object_get(q, "version")), T->version);
        json_t *items = json_object_get(q, "item");
        assert_int_equal(json_array_size(items), T->nitems);
        json_t *first = json_array_get(items, 0);
        const char *text = json_string_value(json_object_get(first, "text"));
        if (langs[i] != NULL && strcmp(langs[i], "en") == 0)
            assert_string_equal(text, T->items[0].text.en);
        else
            assert_string_equal(text, T->items[0].text.ja);
        assert_true((langs[i] == NULL) == (json_object_get(first, "_text") != NULL));
        json_decref(q);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_persona_s_answers_are_read, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_and_repeated_link_ids_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_answer_types_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(bounds_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(questions_not_asked_and_required_ones_missing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_header_is_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(the_stored_resource_is_valid_fhir_and_reads_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_questionnaire_is_valid_fhir_in_each_language, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
