/* test_payload.c - the device payload parser (compact format and FHIR Observation JSON) and the
 * mapping of readings to FHIR resources: every kind, every bound, every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/clock.h"
#include "fhir/validate.h"
#include "ingest/payload.h"

/* 2026-11-24T12:00:00Z */
#define NOW 1795521600000LL

static int parse(const char *text, struct ingest_reading *r, struct err *e)
{
    return ingest_payload_parse(text, strlen(text), NOW, r, e);
}

static void parse_ok(const char *text, struct ingest_reading *r)
{
    struct err e = {0};
    if (parse(text, r, &e) != 0)
        fail_msg("refused: %s: %s", text, e.msg);
}

static void refused(const char *text, const char *needle)
{
    struct ingest_reading r;
    struct err e = {0};
    int rc = parse(text, &r, &e);
    if (rc == 0)
        fail_msg("accepted: %s", text);
    assert_int_equal(rc, ERR_INVALID);
    if (needle != NULL && strstr(e.msg, needle) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", text, e.msg, needle);
    assert_null(r.fhir);
}

static void blood_pressure_is_parsed(void **state)
{
    (void)state;
    struct ingest_reading r;
    struct err e = {0};
    assert_int_equal(parse("{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":142,\"dia\":91,"
                           "\"pulse\":72}",
                           &r, &e),
                     0);
    assert_int_equal(r.kind, INGEST_BP);
    assert_int_equal(r.sys, 142);
    assert_int_equal(r.dia, 91);
    assert_int_equal(r.pulse, 72);
    assert_string_equal(r.time, "2026-11-24T07:01:00+09:00");
    int64_t utc;
    assert_int_equal(clock_parse_rfc3339("2026-11-23T22:01:00Z", &utc), 0);
    assert_int_equal(r.time_ms, utc);
    /* pulse is optional; member order does not matter */
    assert_int_equal(parse("{\"dia\":80,\"sys\":120,\"t\":\"2026-11-24T07:01:00Z\"}", &r, &e), 0);
    assert_int_equal(r.pulse, 0);
    ingest_reading_release(&r);
}

static void every_compact_kind_is_parsed(void **state)
{
    (void)state;
    struct ingest_reading r;
    struct err e = {0};
    assert_int_equal(parse("{\"t\":\"2026-11-24T07:00:00+09:00\",\"kg\":63.4}", &r, &e), 0);
    assert_int_equal(r.kind, INGEST_WEIGHT);
    assert_true(r.value > 63.39 && r.value < 63.41);
    assert_int_equal(parse("{\"t\":\"2026-11-24T07:00:00+09:00\",\"cel\":36.6}", &r, &e), 0);
    assert_int_equal(r.kind, INGEST_TEMPERATURE);
    assert_int_equal(
        parse("{\"t\":\"2026-11-24T07:00:00+09:00\",\"spo2\":97,\"pulse\":66}", &r, &e), 0);
    assert_int_equal(r.kind, INGEST_SPO2);
    assert_int_equal(r.spo2, 97);
    assert_int_equal(r.pulse, 66);
    assert_int_equal(
        parse("{\"t\":\"2026-11-24T07:00:00+09:00\",\"glu\":104,\"meal\":\"fasting\"}", &r, &e), 0);
    assert_int_equal(r.kind, INGEST_GLUCOSE);
    assert_string_equal(r.meal, "fasting");
    assert_int_equal(
        parse("{\"t\":\"2026-11-24T07:00:00.250+09:00\",\"opened\":\"morning\"}", &r, &e), 0);
    assert_int_equal(r.kind, INGEST_PILLBOX);
    assert_string_equal(r.slot, "morning");
    assert_string_equal(ingest_kind_name(r.kind), "pillbox");
}

static void malformed_compact_payloads_are_refused(void **state)
{
    (void)state;
    refused("", NULL);
    refused("not json", NULL);
    refused("[1,2]", "object");
    refused("{}", "not a reading");
    refused("{\"t\":\"2026-11-24T07:01:00+09:00\"}", "not a reading");
    /* unknown members, two readings in one */
    refused("{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":142,\"dia\":91,\"x\":1}", "/x");
    refused("{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":142,\"dia\":91,\"kg\":60}",
            "one reading");
    /* missing or wrong members */
    refused("{\"sys\":142,\"dia\":91}", "/t");
    refused("{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":142}", "/dia");
    refused("{\"t\":\"2026-11-24T07:01:00+09:00\",\"dia\":91}", "/sys");
    refused("{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":\"142\",\"dia\":91}", "integer");
    refused("{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":142.5,\"dia\":91}", "integer");
    refused("{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":301,\"dia\":91}", "range");
    refused("{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":39,\"dia\":30}", "range");
    refused("{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":90,\"dia\":91}", "below");
    refused("{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":142,\"dia\":91,\"pulse\":0}", "range");
    refused("{\"t\":\"2026-11-24T07:00:00+09:00\",\"kg\":-1}", "range");
    refused("{\"t\":\"2026-11-24T07:00:00+09:00\",\"kg\":true}", "number");
    refused("{\"t\":\"2026-11-24T07:00:00+09:00\",\"cel\":50}", "range");
    refused("{\"t\":\"2026-11-24T07:00:00+09:00\",\"spo2\":101}", "range");
    refused("{\"t\":\"2026-11-24T07:00:00+09:00\",\"glu\":104,\"meal\":\"lunch\"}", "/meal");
    refused("{\"t\":\"2026-11-24T07:00:00+09:00\",\"opened\":\"Morning\"}", "/opened");
    refused("{\"t\":\"2026-11-24T07:00:00+09:00\",\"opened\":1}", "/opened");
    /* duplicate keys, trailing data */
    refused("{\"t\":\"2026-11-24T07:00:00+09:00\",\"kg\":60,\"kg\":61}", NULL);
    refused("{\"t\":\"2026-11-24T07:00:00+09:00\",\"kg\":60} x", NULL);
}

static void times_must_be_zoned_and_plausible(void **state)
{
    (void)state;
    refused("{\"t\":\"2026-11-24T07:01:00\",\"kg\":60}", "zone");
    refused("{\"t\":\"2026-11-24\",\"kg\":60}", "/t");
    refused("{\"t\":\"2026-11-24t07:01:00+09:00\",\"kg\":60}", "/t"); /* found by fuzzing */
    refused("{\"t\":\"2026-11-24T07:01+09:00\",\"kg\":60}", "/t");
    refused("{\"t\":1795521600,\"kg\":60}", "/t");
    refused("{\"t\":\"1970-01-01T00:00:00Z\",\"kg\":60}", "2000");
    refused("{\"t\":\"2026-11-24T12:11:00Z\",\"kg\":60}", "future");
    refused("{\"t\":\"2026-13-24T07:01:00Z\",\"kg\":60}", "/t");
    struct ingest_reading r;
    struct err e = {0};
    assert_int_equal(parse("{\"t\":\"2026-11-24T12:09:00Z\",\"kg\":60}", &r, &e), 0);
}

static void oversized_payloads_are_refused(void **state)
{
    (void)state;
    static char big[INGEST_PAYLOAD_MAX + 2];
    memset(big, ' ', sizeof big - 1);
    struct ingest_reading r;
    struct err e = {0};
    assert_int_equal(ingest_payload_parse(big, INGEST_PAYLOAD_MAX + 1, NOW, &r, &e), ERR_TOOBIG);
}

#define OBS_BP                                                                                     \
    "{\"resourceType\":\"Observation\",\"status\":\"final\",\"category\":[{\"coding\":[{"          \
    "\"system\":\"http://terminology.hl7.org/CodeSystem/observation-category\",\"code\":"          \
    "\"vital-signs\"}]}],\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"         \
    "\"85354-9\"}]},\"effectiveDateTime\":\"2026-11-24T07:01:00+09:00\",\"component\":[{"          \
    "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},"               \
    "\"valueQuantity\":{\"value\":142,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\"," \
    "\"code\":\"mm[Hg]\"}},{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"      \
    "\"8462-4\"}]},\"valueQuantity\":{\"value\":91,\"unit\":\"mmHg\",\"system\":"                  \
    "\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}]"

static void fhir_observations_are_accepted_strictly(void **state)
{
    (void)state;
    struct ingest_reading r;
    parse_ok(OBS_BP "}", &r);
    assert_int_equal(r.kind, INGEST_FHIR);
    assert_non_null(r.fhir);
    assert_string_equal(ingest_reading_code(&r), "85354-9");
    ingest_reading_release(&r);
    assert_null(r.fhir);
    refused(OBS_BP ",\"id\":\"x\"}", "/id");
    refused(OBS_BP ",\"meta\":{}}", "/meta");
    refused(OBS_BP ",\"bogus\":1}", NULL); /* not R4 */
    refused("{\"resourceType\":\"Patient\"}", "Observations only");
    refused("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"}}",
            "/effectiveDateTime");
    refused("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
            "\"effectivePeriod\":{\"start\":\"2026-11-24T07:01:00Z\"}}",
            "effectivePeriod");
    refused("{\"resourceType\":\"Observation\",\"code\":{\"text\":\"x\"},"
            "\"effectiveDateTime\":\"2026-11-24T07:01:00Z\"}",
            NULL); /* status is required */
}

static const struct ingest_source wrist = {
    .device_id = "0123456789abcdefghjkmnpqrs",
    .kind = "bp-wrist",
    .subject = "abcdefghjkmnpqrs0123456789",
    .fhir_device_id = "dev1",
};

static json_t *map_ok(const char *text, const struct ingest_source *src, const char **rtype)
{
    struct ingest_reading r;
    struct err e = {0};
    parse_ok(text, &r);
    json_t *o = ingest_map_resource(&r, src, rtype, &e);
    if (o == NULL)
        fail_msg("map: %s", e.msg);
    ingest_reading_release(&r);
    struct fhir_issues is;
    fhir_issues_init(&is, NULL, NULL);
    fhir_validate(o, *rtype, &is);
    if (is.nerrors > 0)
        fail_msg("mapped resource invalid: %s: %s", is.items[0].expression,
                 is.items[0].diagnostics);
    return o;
}

static const char *at(const json_t *o, const char *path)
{
    /* a tiny path reader: "a.b.0.c" */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *v = o;
    for (char *p = buf, *next; p != NULL && v != NULL; p = next) {
        next = strchr(p, '.');
        if (next != NULL)
            *next++ = '\0';
        v = json_is_array(v) ? json_array_get(v, (size_t)(p[0] - '0')) : json_object_get(v, p);
    }
    return json_string_value(v);
}

static void blood_pressure_maps_to_the_vital_signs_panel(void **state)
{
    (void)state;
    const char *rtype = NULL;
    json_t *o = map_ok("{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":142,\"dia\":91,\"pulse\":72}",
                       &wrist, &rtype);
    assert_string_equal(rtype, "Observation");
    assert_string_equal(at(o, "code.coding.0.code"), "85354-9");
    assert_string_equal(at(o, "code.coding.0.system"), "http://loinc.org");
    assert_string_equal(at(o, "category.0.coding.0.code"), "vital-signs");
    assert_string_equal(at(o, "subject.reference"), "Patient/abcdefghjkmnpqrs0123456789");
    assert_string_equal(at(o, "device.reference"), "Device/dev1");
    assert_string_equal(at(o, "device.display"), "wrist blood pressure monitor");
    assert_string_equal(at(o, "bodySite.coding.0.code"), "8205005");
    assert_string_equal(at(o, "bodySite.text"), "wrist");
    assert_string_equal(at(o, "effectiveDateTime"), "2026-11-24T07:01:00+09:00");
    assert_string_equal(at(o, "component.0.code.coding.0.code"), "8480-6");
    assert_string_equal(at(o, "component.0.valueQuantity.code"), "mm[Hg]");
    assert_string_equal(at(o, "component.1.code.coding.0.code"), "8462-4");
    assert_string_equal(at(o, "component.2.code.coding.0.code"), "8867-4");
    assert_string_equal(at(o, "component.2.valueQuantity.code"), "/min");
    const json_t *q =
        json_object_get(json_array_get(json_object_get(o, "component"), 0), "valueQuantity");
    assert_true(json_real_value(json_object_get(q, "value")) == 142.0);
    assert_string_equal(at(o, "identifier.0.value"), "0123456789abcdefghjkmnpqrs/1795471260000");
    json_decref(o);

    struct ingest_source arm = wrist;
    arm.kind = "bp-upper-arm";
    o = map_ok("{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":142,\"dia\":91}", &arm, &rtype);
    assert_string_equal(at(o, "bodySite.coding.0.code"), "40983000");
    assert_string_equal(at(o, "bodySite.text"), "upper arm");
    assert_string_equal(at(o, "device.display"), "upper-arm cuff blood pressure monitor");
    assert_null(at(o, "component.2.code.coding.0.code"));
    json_decref(o);
}

static void other_kinds_map_with_loinc_and_ucum(void **state)
{
    (void)state;
    struct ingest_source src = wrist;
    const char *rtype = NULL;
    static const struct {
        const char *kind, *text, *code, *ucum;
    } cases[] = {
        {"scale", "{\"t\":\"2026-11-24T07:00:00+09:00\",\"kg\":63.4}", "29463-7", "kg"},
        {"thermometer", "{\"t\":\"2026-11-24T07:00:00+09:00\",\"cel\":36.6}", "8310-5", "Cel"},
        {"pulse-oximeter", "{\"t\":\"2026-11-24T07:00:00+09:00\",\"spo2\":97}", "59408-5", "%"},
        {"glucose-meter", "{\"t\":\"2026-11-24T07:00:00+09:00\",\"glu\":104}", "2339-0", "mg/dL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        src.kind = cases[i].kind;
        json_t *o = map_ok(cases[i].text, &src, &rtype);
        assert_string_equal(rtype, "Observation");
        assert_string_equal(at(o, "code.coding.0.code"), cases[i].code);
        assert_string_equal(at(o, "valueQuantity.code"), cases[i].ucum);
        assert_string_equal(at(o, "valueQuantity.system"), "http://unitsofmeasure.org");
        assert_null(json_object_get(o, "bodySite"));
        json_decref(o);
    }
    src.kind = "pillbox";
    src.fhir_device_id = NULL;
    json_t *o =
        map_ok("{\"t\":\"2026-11-24T07:00:00+09:00\",\"opened\":\"evening\"}", &src, &rtype);
    assert_string_equal(rtype, "MedicationAdministration");
    assert_string_equal(at(o, "medicationCodeableConcept.text"), "pill-box compartment: evening");
    assert_string_equal(at(o, "device.0.identifier.value"), "0123456789abcdefghjkmnpqrs");
    json_decref(o);
}

static void device_kinds_accept_only_their_readings(void **state)
{
    (void)state;
    assert_true(ingest_kind_fits("bp-wrist", INGEST_BP));
    assert_true(ingest_kind_fits("bp-upper-arm", INGEST_BP));
    assert_true(ingest_kind_fits("bp-wrist", INGEST_FHIR));
    assert_false(ingest_kind_fits("bp-wrist", INGEST_WEIGHT));
    assert_false(ingest_kind_fits("scale", INGEST_BP));
    assert_true(ingest_kind_fits("pillbox", INGEST_PILLBOX));
    assert_false(ingest_kind_fits("pillbox", INGEST_FHIR));
    assert_false(ingest_kind_fits("bp-wrist", INGEST_PILLBOX));
    assert_false(ingest_kind_fits(NULL, INGEST_BP));
    assert_false(ingest_kind_fits("toaster", INGEST_BP));
}

static void a_device_observation_gets_its_citizen_and_device(void **state)
{
    (void)state;
    const char *rtype = NULL;
    json_t *o = map_ok(OBS_BP "}", &wrist, &rtype);
    assert_string_equal(at(o, "subject.reference"), "Patient/abcdefghjkmnpqrs0123456789");
    assert_string_equal(at(o, "device.reference"), "Device/dev1");
    assert_string_equal(at(o, "bodySite.text"), "wrist");
    json_decref(o);
    o = map_ok(OBS_BP ",\"subject\":{\"reference\":\"Patient/abcdefghjkmnpqrs0123456789\"}}",
               &wrist, &rtype);
    json_decref(o);
    /* another citizen, another device: refused */
    struct ingest_reading r;
    struct err e = {0};
    assert_int_equal(parse(OBS_BP ",\"subject\":{\"reference\":\"Patient/zzzz\"}}", &r, &e), 0);
    assert_null(ingest_map_resource(&r, &wrist, &rtype, &e));
    assert_non_null(strstr(e.msg, "/subject"));
    ingest_reading_release(&r);
    assert_int_equal(parse(OBS_BP ",\"device\":{\"reference\":\"Device/other\"}}", &r, &e), 0);
    assert_null(ingest_map_resource(&r, &wrist, &rtype, &e));
    assert_non_null(strstr(e.msg, "/device"));
    ingest_reading_release(&r);
    /* an unbound device maps nothing */
    struct ingest_source unbound = wrist;
    unbound.subject = NULL;
    assert_int_equal(parse("{\"t\":\"2026-11-24T07:00:00+09:00\",\"kg\":60}", &r, &e), 0);
    assert_null(ingest_map_resource(&r, &unbound, &rtype, &e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blood_pressure_is_parsed),
        cmocka_unit_test(every_compact_kind_is_parsed),
        cmocka_unit_test(malformed_compact_payloads_are_refused),
        cmocka_unit_test(times_must_be_zoned_and_plausible),
        cmocka_unit_test(oversized_payloads_are_refused),
        cmocka_unit_test(fhir_observations_are_accepted_strictly),
        cmocka_unit_test(blood_pressure_maps_to_the_vital_signs_panel),
        cmocka_unit_test(other_kinds_map_with_loinc_and_ucum),
        cmocka_unit_test(device_kinds_accept_only_their_readings),
        cmocka_unit_test(a_device_observation_gets_its_citizen_and_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
