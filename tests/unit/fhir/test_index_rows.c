/* test_index_rows.c - search index extraction: dates (partial, zones, periods), string
 * normalisation (full-width, kana/kanji, accents), tokens, references, quantities, numbers,
 * uris, the row cap, and resources the table does not know. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "fhir/defs.h"
#include "fhir/index_rows.h"
#include "search_test_defs.h"

static int64_t range_lo(const char *s)
{
    int64_t lo, hi;
    assert_int_equal(fhir_date_range(s, strlen(s), &lo, &hi), 0);
    return lo;
}

static int64_t range_hi(const char *s)
{
    int64_t lo, hi;
    assert_int_equal(fhir_date_range(s, strlen(s), &lo, &hi), 0);
    return hi;
}

static void dates(void **state)
{
    (void)state;
    /* 2024-03-01T00:00:00Z = 1709251200000 */
    assert_int_equal(range_lo("2024-03"), 1709251200000LL);
    assert_int_equal(range_hi("2024-03"), 1709251200000LL + 31LL * 86400000 - 1);
    assert_int_equal(range_hi("2024-02"), 1709251200000LL - 1); /* leap year: 29 days */
    assert_int_equal(range_lo("2024-02") + 29LL * 86400000, 1709251200000LL);
    assert_int_equal(range_lo("1970"), 0);
    assert_int_equal(range_hi("1970"), 365LL * 86400000 - 1);
    assert_int_equal(range_lo("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(range_hi("1970-01-01T00:00:00Z"), 999);
    assert_int_equal(range_hi("1970-01-01T00:00"), 59999); /* minutes: the whole minute */
    assert_int_equal(range_lo("1970-01-01T09:00:00+09:00"), 0);
    assert_int_equal(range_lo("1970-01-01T00:00:00-01:30"), 5400000);
    assert_int_equal(range_lo("1970-01-01T00:00:00.5Z"), 500);
    assert_int_equal(range_hi("1970-01-01T00:00:00.5Z"), 599);
    assert_int_equal(range_hi("1970-01-01T00:00:00.123456Z"), 123);
    assert_int_equal(range_lo("1970-01-01T00:00:00"), 0); /* no zone: UTC */
    assert_int_equal(range_lo("0001"), FHIR_DATE_MIN);
    assert_int_equal(range_hi("9999"), FHIR_DATE_MAX);
    static const char *const bad[] = {"",
                                      "24",
                                      "2024-3",
                                      "2024-13",
                                      "2023-02-29",
                                      "2024-04-31",
                                      "2024-03-05T24:00",
                                      "2024-03-05T10",
                                      "2024-03-05T10:60",
                                      "2024-03-05T10:00:00+15:00",
                                      "2024-03-05T10:00:00.Z",
                                      "2024-03-05 10:00",
                                      "0000",
                                      "2024-03-05T10:00:00Zjunk",
                                      "2024-03-05T10:00:00.1234567890Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t lo, hi;
        if (fhir_date_range(bad[i], strlen(bad[i]), &lo, &hi) != ERR_INVALID)
            fail_msg("accepted %s", bad[i]);
    }
}

static void norm_is(struct arena *a, const char *in, const char *want)
{
    char *got = fhir_string_norm(in, strlen(in), 512, a);
    if (want == NULL) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
}

static void strings(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    norm_is(a, "Yamada", "yamada");
    norm_is(a, "\xef\xbc\xb9\xef\xbd\x81\xef\xbd\x8d\xef\xbd\x81\xef\xbd\x84\xef\xbd\x81",
            "yamada");                                                  /* Ｙａｍａｄａ */
    norm_is(a, "\xe5\xb1\xb1\xe7\x94\xb0", "\xe5\xb1\xb1\xe7\x94\xb0"); /* 山田 kept */
    norm_is(a, "\xe3\x83\xa4\xe3\x83\x9e\xe3\x83\x80",
            "\xe3\x83\xa4\xe3\x83\x9e\xe3\x83\x80"); /* ヤマダ kept */
    norm_is(a, "\xc3\x89mile Zo\xc3\xab", "emile zoe");
    norm_is(a,
            "Stra\xc3\x9f"
            "e",
            "strasse");
    norm_is(a, "e\xcc\x81", "e"); /* combining acute dropped */
    norm_is(a,
            "\xc5\x81\xc3\xb3"
            "d\xc5\xba",
            "lodz"); /* Łódź */
    norm_is(a,
            "a\xe3\x80\x80"
            "b",
            "a b"); /* ideographic space */
    norm_is(a, "bad \xff", NULL);
    norm_is(a, "\xe3\x83", NULL);
    char *cut = fhir_string_norm("abcdef", 6, 3, a);
    assert_string_equal(cut, "abc");
    cut = fhir_string_norm("\xe5\xb1\xb1\xe7\x94\xb0", 6, 4, a); /* cut at a boundary */
    assert_string_equal(cut, "\xe5\xb1\xb1");
    arena_free(a);
}

static json_t *parse(const char *s)
{
    struct err e = {0};
    json_t *v = jsonx_parse(s, strlen(s), &e);
    if (v == NULL)
        fail_msg("bad test JSON: %s", e.msg);
    return v;
}

static const struct fhir_ix_row *find(const struct fhir_ix_rows *r, const char *param, size_t nth)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->rows[i].param, param) == 0 && nth-- == 0)
            return &r->rows[i];
    return NULL;
}

static size_t count_param(const struct fhir_ix_rows *r, const char *param)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += strcmp(r->rows[i].param, param) == 0;
    return n;
}

static const char bp[] =
    "{\"resourceType\":\"Observation\",\"id\":\"bp1\",\"status\":\"final\","
    "\"meta\":{\"lastUpdated\":\"2024-03-05T10:31:00Z\",\"tag\":[{\"system\":\"urn:t\","
    "\"code\":\"x\"}]},"
    "\"identifier\":[{\"system\":\"urn:oid:1.2.3\",\"value\":\"A-1\"}],"
    "\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
    "observation-category\",\"code\":\"vital-signs\"}]}],"
    "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"85354-9\","
    "\"display\":\"Blood pressure panel\"}],\"text\":\"BP\"},"
    "\"subject\":{\"reference\":\"Patient/p1\"},"
    "\"performer\":[{\"reference\":\"#c1\"},{\"reference\":\"Practitioner/dr1/_history/2\"},"
    "{\"reference\":\"Organization/o1\"},{\"reference\":\"https://other.example/fhir/"
    "Practitioner/9\"}],"
    "\"effectiveDateTime\":\"2024-03-05T10:30:00+09:00\","
    "\"component\":[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},"
    "\"valueQuantity\":{\"value\":120,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\","
    "\"code\":\"mm[Hg]\"}},{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
    "\"8462-4\"}]},\"valueQuantity\":{\"value\":80.5,\"unit\":\"mmHg\",\"system\":"
    "\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}]}";

static void observation(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct fhir_ix_rows r;
    struct err e = {0};
    json_t *v = parse(bp);
    assert_int_equal(fhir_index_rows(v, td_params, a, &r, &e), 0);
    const struct fhir_ix_row *x = find(&r, "code", 0);
    assert_non_null(x);
    assert_int_equal(x->kind, FHIR_IX_TOKEN);
    assert_string_equal(x->system, "http://loinc.org");
    assert_string_equal(x->code, "85354-9");
    assert_string_equal(x->display, "Blood pressure panel");
    assert_int_equal(count_param(&r, "code"), 1);
    assert_int_equal(count_param(&r, "combo-code"), 3);
    assert_string_equal(find(&r, "combo-code", 2)->code, "8462-4");
    assert_string_equal(find(&r, "status", 0)->code, "final");
    assert_null(find(&r, "status", 0)->system);
    assert_string_equal(find(&r, "identifier", 0)->system, "urn:oid:1.2.3");
    assert_string_equal(find(&r, "identifier", 0)->code, "A-1");
    assert_string_equal(find(&r, "_tag", 0)->code, "x");
    assert_string_equal(find(&r, "category", 0)->code, "vital-signs");
    x = find(&r, "date", 0);
    assert_int_equal(x->kind, FHIR_IX_DATE);
    assert_int_equal(x->lo_ms, range_lo("2024-03-05T01:30:00Z"));
    assert_int_equal(x->hi_ms, x->lo_ms + 999);
    x = find(&r, "patient", 0);
    assert_int_equal(x->kind, FHIR_IX_REF);
    assert_string_equal(x->target_type, "Patient");
    assert_string_equal(x->target_id, "p1");
    assert_int_equal(count_param(&r, "subject"), 1);
    /* performer: "#c1" skipped, Organization not a target, version dropped, URL kept */
    assert_int_equal(count_param(&r, "performer"), 2);
    assert_string_equal(find(&r, "performer", 0)->target_id, "dr1");
    assert_null(find(&r, "performer", 1)->target_type);
    assert_string_equal(find(&r, "performer", 1)->url, "https://other.example/fhir/Practitioner/9");
    assert_int_equal(count_param(&r, "value-quantity"), 0);
    assert_int_equal(count_param(&r, "component-value-quantity"), 2);
    x = find(&r, "component-value-quantity", 1);
    assert_int_equal(x->kind, FHIR_IX_QUANTITY);
    assert_true(x->value == 80.5);
    assert_string_equal(x->code, "mm[Hg]");
    assert_string_equal(x->display, "mmHg");
    assert_int_equal(count_param(&r, "_id") + count_param(&r, "_lastUpdated"), 0);
    assert_int_equal(count_param(&r, "combo-code-value-quantity"), 0); /* composite */
    json_decref(v);
    arena_free(a);
}

static void patient(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct fhir_ix_rows r;
    struct err e = {0};
    json_t *v = parse("{\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":true,"
                      "\"gender\":\"female\",\"birthDate\":\"1980-02\","
                      "\"meta\":{\"profile\":[\"http://example.org/p\"]},"
                      "\"name\":[{\"family\":\"\xe5\xb1\xb1\xe7\x94\xb0\",\"given\":"
                      "[\"\xe8\x8a\xb1\xe5\xad\x90\"]},"
                      "{\"family\":\"\xe3\x83\xa4\xe3\x83\x9e\xe3\x83\x80\",\"given\":"
                      "[\"\xe3\x83\x8f\xe3\x83\x8a\xe3\x82\xb3\"]},"
                      "{\"text\":\"\xef\xbc\xb9\xef\xbc\xa1\xef\xbc\xad\xef\xbc\xa1\xef\xbc\xa4"
                      "\xef\xbc\xa1 Hanako\",\"prefix\":[\"Ms.\"]}],"
                      "\"telecom\":[{\"system\":\"phone\",\"value\":\"090-1234-5678\"}],"
                      "\"address\":[{\"line\":[\"1-2-3 Chiyoda\"],\"city\":\"Tokyo\","
                      "\"postalCode\":\"100-0001\",\"country\":\"JP\"}],"
                      "\"generalPractitioner\":[{\"reference\":\"Practitioner/dr1\"}]}");
    assert_int_equal(fhir_index_rows(v, td_params, a, &r, &e), 0);
    assert_int_equal(count_param(&r, "name"), 6); /* 2 + 2 + text + prefix */
    assert_int_equal(count_param(&r, "family"), 2);
    assert_string_equal(find(&r, "family", 0)->norm, "\xe5\xb1\xb1\xe7\x94\xb0");
    assert_string_equal(find(&r, "given", 1)->exact, "\xe3\x83\x8f\xe3\x83\x8a\xe3\x82\xb3");
    assert_string_equal(find(&r, "name", 4)->norm, "yamada hanako");
    assert_string_equal(find(&r, "name", 5)->norm, "ms.");
    assert_string_equal(find(&r, "active", 0)->code, "true");
    assert_string_equal(find(&r, "gender", 0)->code, "female");
    assert_string_equal(find(&r, "telecom", 0)->system, "phone");
    assert_string_equal(find(&r, "telecom", 0)->code, "090-1234-5678");
    assert_int_equal(count_param(&r, "address"), 4);
    assert_string_equal(find(&r, "address", 1)->norm, "tokyo");
    assert_int_equal(find(&r, "birthdate", 0)->lo_ms, range_lo("1980-02-01"));
    assert_int_equal(find(&r, "birthdate", 0)->hi_ms, range_hi("1980-02-29"));
    assert_string_equal(find(&r, "general-practitioner", 0)->target_type, "Practitioner");
    assert_string_equal(find(&r, "_profile", 0)->uri, "http://example.org/p");
    json_decref(v);
    arena_free(a);
}

static void periods_numbers_money(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct fhir_ix_rows r;
    struct err e = {0};
    json_t *v = parse("{\"resourceType\":\"Condition\",\"onsetPeriod\":{\"start\":\"2020\"},"
                      "\"abatementAge\":{\"value\":42,\"unit\":\"a\"},"
                      "\"subject\":{\"reference\":\"Patient/p1\"}}");
    assert_int_equal(fhir_index_rows(v, td_params, a, &r, &e), 0);
    assert_int_equal(find(&r, "onset-date", 0)->lo_ms, range_lo("2020"));
    assert_int_equal(find(&r, "onset-date", 0)->hi_ms, FHIR_DATE_MAX);
    assert_true(find(&r, "abatement-age", 0)->value == 42);
    json_decref(v);
    v = parse("{\"resourceType\":\"Condition\",\"onsetPeriod\":{\"end\":\"2020-06-01\"},"
              "\"onsetString\":\"childhood\",\"onsetRange\":{\"low\":{\"value\":1}}}");
    assert_int_equal(fhir_index_rows(v, td_params, a, &r, &e), 0);
    assert_int_equal(count_param(&r, "onset-date"), 1);
    assert_int_equal(find(&r, "onset-date", 0)->lo_ms, FHIR_DATE_MIN);
    assert_int_equal(find(&r, "onset-date", 0)->hi_ms, range_hi("2020-06-01"));
    json_decref(v);
    v = parse("{\"resourceType\":\"RiskAssessment\",\"prediction\":[{\"probabilityDecimal\":"
              "0.25},{\"probabilityRange\":{\"low\":{\"value\":1}}},{\"probabilityDecimal\":1}]}");
    assert_int_equal(fhir_index_rows(v, td_params, a, &r, &e), 0);
    assert_int_equal(count_param(&r, "probability"), 2);
    assert_true(find(&r, "probability", 0)->value == 0.25);
    json_decref(v);
    v = parse("{\"resourceType\":\"Claim\",\"total\":{\"value\":1200,\"currency\":\"JPY\"}}");
    assert_int_equal(fhir_index_rows(v, td_params, a, &r, &e), 0);
    assert_string_equal(find(&r, "total", 0)->system, "urn:iso:std:iso:4217");
    assert_string_equal(find(&r, "total", 0)->code, "JPY");
    json_decref(v);
    arena_free(a);
}

static void bounds_and_unknown(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct fhir_ix_rows r;
    struct err e = {0};
    json_t *v = parse("{\"resourceType\":\"Spaceship\"}");
    assert_int_equal(fhir_index_rows(v, td_params, a, &r, &e), ERR_INVALID);
    json_decref(v);
    v = parse("[1,2]");
    assert_int_equal(fhir_index_rows(v, td_params, a, &r, &e), ERR_INVALID);
    json_decref(v);
    /* wrong shapes are skipped, not errors */
    v = parse("{\"resourceType\":\"Observation\",\"code\":[[1]],\"subject\":\"x\","
              "\"effectiveDateTime\":\"yesterday\",\"valueQuantity\":{\"value\":\"1\"},"
              "\"status\":{\"a\":1},\"identifier\":[{\"value\":\"\"}],"
              "\"performer\":[{\"reference\":\"Practitioner/bad id\"},{\"reference\":"
              "\"Patient/x/y\"},{\"reference\":\"/x\"}]}");
    assert_int_equal(fhir_index_rows(v, td_params, a, &r, &e), 0);
    assert_int_equal(r.n, 0);
    json_decref(v);
    /* a long string is cut at a character boundary; a long token is left out */
    json_t *lng = json_pack("{ss}", "resourceType", "Patient");
    char *text = malloc(2000);
    memcpy(text, "a", 1);
    for (int i = 0; i < 666; i++)
        memcpy(text + 1 + 3 * i, "\xe5\xb1\xb1", 3);
    text[1 + 3 * 666] = '\0';
    json_object_set_new(lng, "name", json_pack("[{ss}]", "family", text));
    json_object_set_new(lng, "gender", json_string(text));
    assert_int_equal(fhir_index_rows(lng, td_params, a, &r, &e), 0);
    assert_int_equal(count_param(&r, "gender"), 0);
    assert_int_equal(strlen(find(&r, "family", 0)->exact), 1 + 3 * 170);
    assert_int_equal(strlen(find(&r, "family", 0)->norm), 1 + 3 * 170);
    free(text);
    json_decref(lng);
    /* the cap */
    json_t *big = parse("{\"resourceType\":\"Observation\",\"identifier\":[]}");
    json_t *ids = json_object_get(big, "identifier");
    for (int i = 0; i <= FHIR_IX_ROWS_MAX; i++) {
        char val[16];
        snprintf(val, sizeof val, "%d", i);
        json_array_append_new(ids, json_pack("{ss}", "value", val));
    }
    assert_int_equal(fhir_index_rows(big, td_params, a, &r, &e), ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "index rows"));
    json_array_remove(ids, 0);
    assert_int_equal(fhir_index_rows(big, td_params, a, &r, &e), 0);
    assert_int_equal(r.n, FHIR_IX_ROWS_MAX);
    json_decref(big);
    arena_free(a);
}

/* Parameters stored as others (fhir_ix_stored_as) get no rows of their own with the FHIR
 * definitions; repeated rows of one parameter are dropped. */
static void shared_and_repeated_rows(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct fhir_ix_rows r;
    struct err e = {0};
    json_t *v = parse(bp);
    assert_int_equal(fhir_index_rows(v, fhir_defs_search_params, a, &r, &e), 0);
    assert_int_equal(count_param(&r, "patient"), 0);
    assert_int_equal(count_param(&r, "subject"), 1);
    assert_int_equal(count_param(&r, "combo-code"), 0);
    assert_int_equal(count_param(&r, "code"), 1);
    assert_int_equal(count_param(&r, "component-code"), 2);
    assert_int_equal(count_param(&r, "combo-value-quantity"), 0);
    assert_int_equal(count_param(&r, "component-value-quantity"), 2);
    json_decref(v);

    struct fhir_ix_stored st;
    size_t np = 0;
    const struct fhir_search_param *ps = fhir_defs_search_params("Observation", &np);
    assert_non_null(ps);
    assert_int_equal(fhir_ix_stored_as(fhir_defs_search_params,
                                       fhir_defs_search_param("Observation", "patient"), &st),
                     1);
    assert_int_equal(st.n, 1);
    assert_string_equal(st.params[0], "subject");
    assert_non_null(st.targets);
    assert_string_equal(st.targets[0], "Patient");
    assert_null(st.targets[1]);
    assert_int_equal(fhir_ix_stored_as(fhir_defs_search_params,
                                       fhir_defs_search_param("Observation", "combo-code"), &st),
                     1);
    assert_int_equal(st.n, 2);
    assert_null(st.targets);
    assert_int_equal(fhir_ix_stored_as(fhir_defs_search_params,
                                       fhir_defs_search_param("Observation", "subject"), &st),
                     0);
    assert_int_equal(fhir_ix_stored_as(fhir_defs_search_params,
                                       fhir_defs_search_param("Observation", "code"), &st),
                     0);
    /* another table (a test's) is stored as it is */
    assert_int_equal(
        fhir_ix_stored_as(td_params, fhir_defs_search_param("Observation", "patient"), &st), 0);

    /* the same performer and date twice: one row each */
    v = parse("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
              "\"performer\":[{\"reference\":\"Practitioner/dr1\"},{\"reference\":"
              "\"Practitioner/dr1\"},{\"reference\":\"Practitioner/dr2\"}],"
              "\"effectivePeriod\":{\"start\":\"2024-03-05\",\"end\":\"2024-03-05\"}}");
    assert_int_equal(fhir_index_rows(v, fhir_defs_search_params, a, &r, &e), 0);
    assert_int_equal(count_param(&r, "performer"), 2);
    json_decref(v);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dates),
        cmocka_unit_test(strings),
        cmocka_unit_test(observation),
        cmocka_unit_test(shared_and_repeated_rows),
        cmocka_unit_test(patient),
        cmocka_unit_test(periods_numbers_money),
        cmocka_unit_test(bounds_and_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
