/* test_service_map.c - the home doctor service's pure glue (service_map.c): stored
 * Observations as readings (what is used, what is skipped and why), the deterministic key of a
 * finding's resource (what changes it and what does not), and a stored Communication as the
 * inbox shows it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "services/homedoctor/service.h"

#define NOW_MS 1795564800000LL /* 2026-11-25T00:00:00Z = 09:00 JST */

/* An Observation as ingest stores a wrist monitor's reading (payload_map.c). */
static const char *const WRIST_OBS =
    "{\"resourceType\":\"Observation\",\"id\":\"obs-1\",\"status\":\"final\","
    "\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
    "observation-category\",\"code\":\"vital-signs\"}]}],"
    "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"85354-9\"}]},"
    "\"subject\":{\"reference\":\"Patient/p1\"},"
    "\"effectiveDateTime\":\"2026-11-25T07:01:00+09:00\","
    "\"bodySite\":{\"coding\":[{\"system\":\"http://snomed.info/sct\",\"code\":\"8205005\"}]},"
    "\"component\":["
    "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},"
    "\"valueQuantity\":{\"value\":142,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\","
    "\"code\":\"mm[Hg]\"}},"
    "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8462-4\"}]},"
    "\"valueQuantity\":{\"value\":88.5,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\","
    "\"code\":\"mm[Hg]\"}},"
    "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8867-4\"}]},"
    "\"valueQuantity\":{\"value\":70,\"unit\":\"beats/minute\","
    "\"system\":\"http://unitsofmeasure.org\",\"code\":\"/min\"}}]}";

static json_t *parse(const char *text)
{
    struct err e = {0};
    json_t *j = jsonx_parse(text, strlen(text), &e);
    assert_non_null(j);
    return j;
}

/* WRIST_OBS with one member replaced (value NULL: removed). */
static json_t *variant(const char *member, json_t *value)
{
    json_t *o = parse(WRIST_OBS);
    if (value == NULL)
        json_object_del(o, member);
    else
        json_object_set_new(o, member, value);
    return o;
}

static int map(const json_t *obs, struct homedoctor_bp_reading *r, struct arena *a)
{
    struct err e = {0};
    int rc = homedoctor_reading_from_observation(obs, a, r, &e);
    if (rc == 0)
        assert_true(e.msg[0] != '\0'); /* a skip says why */
    return rc;
}

static void an_ingest_observation_is_a_reading(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096);
    json_t *o = parse(WRIST_OBS);
    struct homedoctor_bp_reading r;
    assert_int_equal(map(o, &r, a), 1);
    assert_string_equal(r.obs_id, "obs-1");
    assert_int_equal(r.time_ms, NOW_MS - 2 * 3600000LL + 60000LL); /* 07:01 JST */
    assert_true(r.systolic == 142.0);
    assert_true(r.diastolic == 88.5);
    assert_int_equal(r.device, HOMEDOCTOR_DEVICE_WRIST);
    json_decref(o);

    /* the cuff's site tells the kind of device; none is unknown */
    o = variant("bodySite", parse("{\"coding\":[{\"system\":\"http://snomed.info/sct\","
                                  "\"code\":\"40983000\"}]}"));
    assert_int_equal(map(o, &r, a), 1);
    assert_int_equal(r.device, HOMEDOCTOR_DEVICE_UPPER_ARM);
    json_decref(o);
    o = variant("bodySite", NULL);
    assert_int_equal(map(o, &r, a), 1);
    assert_int_equal(r.device, HOMEDOCTOR_DEVICE_UNKNOWN);
    json_decref(o);
    /* amended and corrected readings count */
    o = variant("status", json_string("corrected"));
    assert_int_equal(map(o, &r, a), 1);
    json_decref(o);
    arena_free(a);
}

static void what_is_not_a_reading_is_skipped(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096);
    struct homedoctor_bp_reading r;
    struct {
        const char *member;
        const char *value; /* JSON, or NULL: removed */
    } cases[] = {
        {"resourceType", "\"Condition\""},
        {"status", "\"preliminary\""},
        {"status", "\"entered-in-error\""},
        {"status", NULL},
        {"code", "{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"29463-7\"}]}"},
        {"code", "{\"coding\":[{\"system\":\"http://snomed.info/sct\",\"code\":\"85354-9\"}]}"},
        {"id", NULL},
        {"id", "\"\""},
        {"effectiveDateTime", NULL},
        {"effectiveDateTime", "\"2026-11-25\""},          /* no time */
        {"effectiveDateTime", "\"2026-11-25T07:01:00\""}, /* no zone */
        {"component", NULL},
        {"component", "[]"},
        /* systolic only */
        {"component", "[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
                      "\"8480-6\"}]},\"valueQuantity\":{\"value\":142,\"system\":"
                      "\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}]"},
        /* kPa is not mm[Hg] */
        {"component", "[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
                      "\"8480-6\"}]},\"valueQuantity\":{\"value\":19,\"system\":"
                      "\"http://unitsofmeasure.org\",\"code\":\"kPa\"}},{\"code\":{\"coding\":"
                      "[{\"system\":\"http://loinc.org\",\"code\":\"8462-4\"}]},"
                      "\"valueQuantity\":{\"value\":12,\"system\":\"http://unitsofmeasure.org\","
                      "\"code\":\"kPa\"}}]"},
        /* implausible: diastolic above systolic */
        {"component", "[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
                      "\"8480-6\"}]},\"valueQuantity\":{\"value\":80,\"system\":"
                      "\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}},{\"code\":{\"coding\":"
                      "[{\"system\":\"http://loinc.org\",\"code\":\"8462-4\"}]},"
                      "\"valueQuantity\":{\"value\":120,\"system\":\"http://unitsofmeasure.org\","
                      "\"code\":\"mm[Hg]\"}}]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *o = variant(cases[i].member, cases[i].value ? parse(cases[i].value) : NULL);
        if (map(o, &r, a) != 0)
            fail_msg("case %zu (%s) was used", i, cases[i].member);
        json_decref(o);
    }
    json_t *arr = parse("[1, 2]");
    assert_int_equal(map(arr, &r, a), 0);
    json_decref(arr);
    arena_free(a);
}

/* A finding of the JSH2019 rule over 5 days of readings, evaluated at now_ms. */
static struct homedoctor_finding *finding_at(struct arena *a, int64_t now_ms, double sys)
{
    static const char *const ids[] = {"o1", "o2", "o3", "o4", "o5"};
    struct homedoctor_bp_reading r[5];
    for (int i = 0; i < 5; i++)
        r[i] = (struct homedoctor_bp_reading){ids[i], now_ms - i * HOMEDOCTOR_DAY_MS - 60000, sys,
                                              88, HOMEDOCTOR_DEVICE_WRIST};
    struct homedoctor_bp_result res;
    struct homedoctor_finding *f = NULL;
    struct err e = {0};
    assert_int_equal(homedoctor_home_bp_evaluate(a, r, 5, now_ms, -1, &res, &f, &e), 0);
    assert_non_null(f);
    return f;
}

static void the_key_of_a_finding(void **state)
{
    (void)state;
    struct arena *a = arena_new(8192);
    struct homedoctor_finding *f = finding_at(a, NOW_MS, 142);
    char k1[65], k2[65];
    struct err e = {0};
    assert_int_equal(homedoctor_service_finding_key(f, "RiskAssessment", "p1", k1, &e), 0);
    assert_int_equal(strlen(k1), 64);
    for (const char *c = k1; *c; c++)
        assert_true((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'));
    /* deterministic: the same finding again, from a fresh evaluation */
    struct homedoctor_finding *same = finding_at(a, NOW_MS, 142);
    assert_int_equal(homedoctor_service_finding_key(same, "RiskAssessment", "p1", k2, &e), 0);
    assert_string_equal(k1, k2);
    /* another citizen, another type */
    assert_int_equal(homedoctor_service_finding_key(f, "RiskAssessment", "p2", k2, &e), 0);
    assert_string_not_equal(k1, k2);
    assert_int_equal(homedoctor_service_finding_key(f, "Communication", "p1", k2, &e), 0);
    assert_string_not_equal(k1, k2);
    /* an assessment changes with its time and its basis */
    struct homedoctor_finding *later = finding_at(a, NOW_MS + 60000, 142);
    assert_int_equal(homedoctor_service_finding_key(later, "RiskAssessment", "p1", k2, &e), 0);
    assert_string_not_equal(k1, k2);
    struct homedoctor_finding fewer = *f;
    fewer.n_basis--;
    assert_int_equal(homedoctor_service_finding_key(&fewer, "RiskAssessment", "p1", k2, &e), 0);
    assert_string_not_equal(k1, k2);
    /* an alert is one per rule and outcome a local day: the same later that day, not the next */
    char c1[65], c2[65];
    assert_int_equal(homedoctor_service_finding_key(f, "Communication", "p1", c1, &e), 0);
    assert_int_equal(homedoctor_service_finding_key(later, "Communication", "p1", c2, &e), 0);
    assert_string_equal(c1, c2);
    struct homedoctor_finding *other_outcome = finding_at(a, NOW_MS, 150); /* grade II */
    assert_int_equal(homedoctor_service_finding_key(other_outcome, "Communication", "p1", c2, &e),
                     0);
    assert_string_not_equal(c1, c2);
    struct homedoctor_finding *next_day = finding_at(a, NOW_MS + 15 * 3600000LL, 142); /* 00:00 */
    assert_int_equal(homedoctor_service_finding_key(next_day, "Communication", "p1", c2, &e), 0);
    assert_string_not_equal(c1, c2);
    /* bad input */
    assert_int_equal(homedoctor_service_finding_key(f, "Observation", "p1", k2, &e), ERR_INVALID);
    assert_int_equal(homedoctor_service_finding_key(f, "RiskAssessment", NULL, k2, &e),
                     ERR_INVALID);
    assert_int_equal(homedoctor_service_finding_key(NULL, "RiskAssessment", "p1", k2, &e),
                     ERR_INVALID);
    arena_free(a);
}

/* A check-up's blood pressure (imported: category checkup) is an office reading, never a home
 * one; the Hisayama input takes its systolic. */
static json_t *checkup_bp(void)
{
    json_t *o = parse(WRIST_OBS);
    json_object_del(o, "bodySite");
    json_object_set_new(o, "category",
                        parse("[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                              "observation-category\",\"code\":\"vital-signs\"},{\"system\":"
                              "\"urn:cityos:record-category\",\"code\":\"checkup\"}]}]"));
    return o;
}

static void a_checkup_blood_pressure_is_not_a_home_reading(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096);
    json_t *o = checkup_bp();
    assert_true(homedoctor_is_checkup(o));
    json_t *home = parse(WRIST_OBS);
    assert_false(homedoctor_is_checkup(home));
    struct homedoctor_bp_reading r;
    assert_int_equal(map(o, &r, a), 0);
    assert_int_equal(map(home, &r, a), 1);
    struct homedoctor_hisayama_input in;
    memset(&in, 0, sizeof in);
    assert_int_equal(homedoctor_checkup_absorb(home, a, &in), 0); /* home: not the office SBP */
    assert_int_equal(homedoctor_checkup_absorb(o, a, &in), 1);
    assert_true(in.office_sbp.known);
    assert_true(in.office_sbp.value == 142);
    assert_string_equal(in.office_sbp.obs_id, "obs-1");
    json_decref(o);
    json_decref(home);
    arena_free(a);
}

/* An Observation with one LOINC code and a value member (JSON text). */
static json_t *item(const char *id, const char *loinc, const char *value_member,
                    const char *value_json)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"resourceType\":\"Observation\",\"id\":\"%s\",\"status\":\"final\",\"code\":{"
             "\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"%s\"}]},\"subject\":{"
             "\"reference\":\"Patient/p1\"},\"effectiveDateTime\":\"2026-06-01\",\"%s\":%s}",
             id, loinc, value_member, value_json);
    return parse(buf);
}

static json_t *qty(const char *id, const char *loinc, double v, const char *unit)
{
    char buf[200];
    snprintf(buf, sizeof buf,
             "{\"value\":%g,\"system\":\"http://unitsofmeasure.org\",\"code\":"
             "\"%s\"}",
             v, unit);
    return item(id, loinc, "valueQuantity", buf);
}

static json_t *coded(const char *id, const char *loinc, const char *snomed)
{
    char buf[200];
    snprintf(buf, sizeof buf,
             "{\"coding\":[{\"system\":\"http://snomed.info/sct\",\"code\":\"%s\"}]}", snomed);
    return item(id, loinc, "valueCodeableConcept", buf);
}

static int absorb(struct homedoctor_hisayama_input *in, struct arena *a, json_t *o)
{
    int rc = homedoctor_checkup_absorb(o, a, in);
    json_decref(o);
    return rc;
}

/* Every item at its boundary; newest first, so an item already known is not replaced. */
static void what_a_checkup_tells_the_hisayama_score(void **state)
{
    (void)state;
    struct arena *a = arena_new(8192);
    struct homedoctor_hisayama_input in;
    memset(&in, 0, sizeof in);
    assert_int_equal(absorb(&in, a, qty("h", "2085-9", 52, "mg/dL")), 1);
    assert_int_equal(absorb(&in, a, qty("h-old", "2085-9", 70, "mg/dL")), 0); /* older */
    assert_true(in.hdl.known && in.hdl.value == 52);
    assert_string_equal(in.hdl.obs_id, "h");
    assert_int_equal(absorb(&in, a, qty("l", "2089-1", 135, "mmol/L")), 0); /* wrong unit */
    assert_false(in.ldl.known);
    assert_int_equal(absorb(&in, a, qty("l", "2089-1", 135, "mg/dL")), 1);
    /* proteinuria: 1+ and up yes; trace and negative no */
    struct homedoctor_hisayama_input p;
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, coded("u", "20454-5", "167274008")), 1); /* trace */
    assert_true(p.proteinuria.known && !p.proteinuria.yes);
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, coded("u", "20454-5", "167275009")), 1); /* 1+ */
    assert_true(p.proteinuria.yes);
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, coded("u", "20454-5", "999")), 0); /* unknown code */
    assert_false(p.proteinuria.known);
    /* diabetes: HbA1c >= 6.5 or fasting glucose >= 126; either high one decides */
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, qty("a", "4548-4", 6.4, "%")), 1);
    assert_true(p.diabetes.known && !p.diabetes.yes);
    assert_int_equal(absorb(&p, a, qty("g", "1558-6", 126, "mg/dL")), 1);
    assert_true(p.diabetes.yes);
    assert_string_equal(p.diabetes.obs_id, "g");
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, qty("a", "4548-4", 6.5, "%")), 1);
    assert_true(p.diabetes.yes);
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, qty("g", "1558-6", 125, "mg/dL")), 1);
    assert_true(p.diabetes.known && !p.diabetes.yes);
    /* smoking: current yes; former and never no; "smoker, status unknown" not read */
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, coded("s", "72166-2", "449868002")), 1);
    assert_true(p.smoking.yes);
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, coded("s", "72166-2", "8517006")), 1);
    assert_true(p.smoking.known && !p.smoking.yes);
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, coded("s", "72166-2", "77176002")), 0);
    assert_false(p.smoking.known);
    /* exercise: 2 days a week or more is regular; 0..7 only */
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, qty("x", "89574-8", 1, "d/wk")), 1);
    assert_true(p.regular_exercise.known && !p.regular_exercise.yes);
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, qty("x", "89574-8", 2, "d/wk")), 1);
    assert_true(p.regular_exercise.yes);
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, qty("x", "89574-8", 8, "d/wk")), 0);
    /* not usable: another code, no id, a preliminary status */
    assert_int_equal(absorb(&p, a, qty("z", "8302-2", 170, "cm")), 0);
    json_t *noid = qty("q", "2085-9", 50, "mg/dL");
    json_object_del(noid, "id");
    memset(&p, 0, sizeof p);
    assert_int_equal(absorb(&p, a, noid), 0);
    json_t *prelim = qty("q", "2085-9", 50, "mg/dL");
    json_object_set_new(prelim, "status", json_string("preliminary"));
    assert_int_equal(absorb(&p, a, prelim), 0);
    assert_false(p.hdl.known);
    arena_free(a);
}

/* A scoped key: the scope replaces the time part (nudge: its day; Hisayama: check-up and
 * score), so the same scope is the same key whatever the evaluation time. */
static void a_scoped_key(void **state)
{
    (void)state;
    struct arena *a = arena_new(8192);
    struct homedoctor_finding *f = finding_at(a, NOW_MS, 142);
    struct homedoctor_finding *later = finding_at(a, NOW_MS + 3600000LL, 142);
    char k1[65], k2[65];
    struct err e = {0};
    assert_int_equal(
        homedoctor_service_finding_key_scoped(f, "RiskAssessment", "p1", "day:1", k1, &e), 0);
    assert_int_equal(
        homedoctor_service_finding_key_scoped(later, "RiskAssessment", "p1", "day:1", k2, &e), 0);
    assert_string_equal(k1, k2);
    assert_int_equal(
        homedoctor_service_finding_key_scoped(f, "RiskAssessment", "p1", "day:2", k2, &e), 0);
    assert_string_not_equal(k1, k2);
    assert_int_equal(homedoctor_service_finding_key(f, "RiskAssessment", "p1", k2, &e), 0);
    assert_string_not_equal(k1, k2);
    assert_int_equal(
        homedoctor_service_finding_key_scoped(f, "Communication", "p1", "checkup:x", k1, &e), 0);
    assert_int_equal(
        homedoctor_service_finding_key_scoped(later, "Communication", "p1", "checkup:x", k2, &e),
        0);
    assert_string_equal(k1, k2);
    assert_int_equal(homedoctor_service_finding_key_scoped(f, "Communication", "p1", "", k2, &e),
                     ERR_INVALID);
    arena_free(a);
}

/* A Communication as the service stores it: the library's rendering with the identifier, the
 * assessment and readings it is about, and advice after the two texts. */
static json_t *stored_alert(struct arena *a)
{
    struct homedoctor_finding *f = finding_at(a, NOW_MS, 142);
    struct err e = {0};
    json_t *c = homedoctor_fhir_communication(f, "p1", NULL, &e);
    assert_non_null(c);
    json_object_set_new(c, "id", json_string("c1"));
    json_object_set_new(
        c, "identifier",
        json_pack("[{s:s, s:s}]", "system", HOMEDOCTOR_FINDING_SYS, "value", "abc"));
    json_object_set_new(c, "about",
                        json_pack("[{s:s}, {s:s}, {s:s}]", "reference", "RiskAssessment/ra1",
                                  "reference", "Observation/o1", "reference", "Observation/o2"));
    json_t *pl = json_object_get(c, "payload");
    json_array_append_new(pl, json_pack("{s:s}", "contentString", "減塩"));
    json_array_append_new(pl, json_pack("{s:s}", "contentString", "less salt"));
    return c;
}

static void an_alert_in_the_inbox(void **state)
{
    (void)state;
    struct arena *a = arena_new(8192);
    json_t *c = stored_alert(a);
    json_t *it = homedoctor_inbox_item(c);
    assert_non_null(it);
    assert_string_equal(json_string_value(json_object_get(it, "kind")), "homedoctor_alert");
    assert_string_equal(json_string_value(json_object_get(it, "id")), "c1");
    assert_string_equal(json_string_value(json_object_get(it, "rule")), "jsh2019.home_bp_category");
    assert_string_equal(json_string_value(json_object_get(it, "priority")), "urgent");
    assert_string_equal(json_string_value(json_object_get(it, "assessment")), "RiskAssessment/ra1");
    assert_non_null(strstr(json_string_value(json_object_get(it, "guideline")), "JSH2019"));
    json_t *basis = json_object_get(it, "basis");
    assert_int_equal(json_array_size(basis), 2);
    assert_string_equal(json_string_value(json_array_get(basis, 0)), "Observation/o1");
    json_t *text = json_object_get(it, "text");
    assert_non_null(strstr(json_string_value(json_object_get(text, "en")), "JSH2019"));
    assert_non_null(json_string_value(json_object_get(text, "ja")));
    json_t *adv = json_object_get(it, "advice");
    assert_int_equal(json_array_size(adv), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(adv, 0), "en")),
                        "less salt");
    json_decref(it);

    /* someone else's Communication, or not a Communication: not an alert of the home doctor */
    json_object_set_new(c, "identifier",
                        json_pack("[{s:s, s:s}]", "system", "urn:other", "value", "x"));
    assert_null(homedoctor_inbox_item(c));
    json_decref(c);
    c = stored_alert(a);
    json_object_set_new(c, "resourceType", json_string("RiskAssessment"));
    assert_null(homedoctor_inbox_item(c));
    json_decref(c);
    c = stored_alert(a);
    json_object_del(c, "reasonCode");
    assert_null(homedoctor_inbox_item(c));
    json_decref(c);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_ingest_observation_is_a_reading),
        cmocka_unit_test(what_is_not_a_reading_is_skipped),
        cmocka_unit_test(the_key_of_a_finding),
        cmocka_unit_test(an_alert_in_the_inbox),
        cmocka_unit_test(a_checkup_blood_pressure_is_not_a_home_reading),
        cmocka_unit_test(what_a_checkup_tells_the_hisayama_score),
        cmocka_unit_test(a_scoped_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
