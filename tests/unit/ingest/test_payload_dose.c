/* test_payload_dose.c - a pill box's dose events in the compact format ({"t","dose"[,"at"]
 * [,"slot"][,"med"]}): every accepted form, every refusal, which devices may send them, and the
 * MedicationAdministration each maps to (status, statusReason, the scheduled time, the device,
 * the dose extension, the duplicate key), valid R4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/clock.h"
#include "fhir/validate.h"
#include "ingest/payload.h"

/* 2026-11-24T12:00:00Z (21:00 JST) */
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
}

/* A taken dose whose "med" is `unit` n times. */
static void with_med(char *buf, size_t cap, const char *unit, int n)
{
    size_t len =
        (size_t)snprintf(buf, cap, "{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"taken\",\"med\":\"");
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s", unit);
    assert_true(len + 3 < cap);
    snprintf(buf + len, cap - len, "\"}");
}

static void doses_are_parsed(void **state)
{
    (void)state;
    struct ingest_reading r;
    parse_ok("{\"t\":\"2026-11-24T08:00:00+09:00\",\"dose\":\"taken\",\"at\":"
             "\"2026-11-24T08:12:30+09:00\",\"slot\":\"morning\",\"med\":\"アムロジピン 5mg\"}",
             &r);
    assert_int_equal(r.kind, INGEST_DOSE);
    assert_string_equal(r.dose, "taken");
    assert_string_equal(r.time, "2026-11-24T08:00:00+09:00");
    int64_t t;
    assert_int_equal(clock_parse_rfc3339("2026-11-23T23:00:00Z", &t), 0);
    assert_int_equal(r.time_ms, t); /* the scheduled time is the duplicate key */
    assert_string_equal(r.at, "2026-11-24T08:12:30+09:00");
    assert_int_equal(r.at_ms, t + 750000);
    assert_string_equal(r.slot, "morning");
    assert_string_equal(r.med, "アムロジピン 5mg");
    assert_string_equal(ingest_kind_name(r.kind), "dose");
    assert_string_equal(ingest_reading_code(&r), INGEST_CODE_DOSE);
    /* the least: a scheduled time and what became of it */
    parse_ok("{\"dose\":\"missed\",\"t\":\"2026-11-23T20:00:00Z\"}", &r);
    assert_string_equal(r.dose, "missed");
    assert_string_equal(r.at, "");
    assert_null(r.slot);
    assert_string_equal(r.med, "");
    parse_ok("{\"t\":\"2026-11-23T20:00:00+09:00\",\"dose\":\"late\",\"at\":"
             "\"2026-11-24T20:00:00+09:00\"}",
             &r); /* exactly a day late, and no later than now */
    assert_string_equal(r.dose, "late");
    /* 100 characters of medication */
    char med[512];
    with_med(med, sizeof med, "薬", INGEST_MED_MAX);
    parse_ok(med, &r);
    assert_int_equal(strlen(r.med), INGEST_MED_MAX * 3);
}

static void bad_doses_are_refused(void **state)
{
    (void)state;
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"skipped\"}", "/dose");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":1}", "/dose");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"Taken\"}", "/dose");
    refused("{\"dose\":\"taken\"}", "/t");
    refused("{\"t\":\"2026-11-24T08:00:00\",\"dose\":\"taken\"}", "/t"); /* no zone */
    refused("{\"t\":\"2026-11-24T21:11:00+09:00\",\"dose\":\"missed\"}", "future");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"missed\",\"at\":\"2026-11-24T08:00:00Z\"}",
            "/at");
    refused("{\"t\":\"2026-11-23T08:00:00Z\",\"dose\":\"late\",\"at\":\"2026-11-24T08:00:01Z\"}",
            "more than a day");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"taken\",\"at\":\"2026-11-23T07:59:59Z\"}",
            "more than a day");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"taken\",\"at\":\"soon\"}", "/at");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"taken\",\"slot\":\"lunch\"}", "/slot");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"taken\",\"med\":\"\"}", "/med");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"taken\",\"med\":7}", "/med");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"taken\",\"med\":\"a\\nb\"}", "control");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"taken\",\"med\":\"a\\u007fb\"}", "control");
    char med[512];
    with_med(med, sizeof med, "x", INGEST_MED_MAX + 1);
    refused(med, "/med");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"taken\",\"kg\":60}", "one reading");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"taken\",\"opened\":\"morning\"}",
            "one reading");
    refused("{\"t\":\"2026-11-24T08:00:00Z\",\"dose\":\"taken\",\"note\":\"x\"}", "note");
}

static void only_a_pill_box_sends_doses(void **state)
{
    (void)state;
    assert_true(ingest_kind_fits("pillbox", INGEST_DOSE));
    assert_true(ingest_kind_fits("pillbox", INGEST_PILLBOX));
    const char *others[] = {"bp-wrist",    "bp-upper-arm",   "scale",
                            "thermometer", "pulse-oximeter", "glucose-meter"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        assert_false(ingest_kind_fits(others[i], INGEST_DOSE));
    assert_false(ingest_kind_fits("pillbox", INGEST_BP));
    assert_false(ingest_kind_fits("pillbox", INGEST_FHIR));
}

static json_t *map(const char *text)
{
    struct ingest_reading r;
    parse_ok(text, &r);
    struct ingest_source src = {"dev1", "pillbox", "pat1", "fdev1"};
    const char *rtype = NULL;
    struct err e = {0};
    json_t *o = ingest_map_resource(&r, &src, &rtype, &e);
    ingest_reading_release(&r);
    if (o == NULL)
        fail_msg("%s", e.msg);
    assert_string_equal(rtype, "MedicationAdministration");
    struct fhir_issues is;
    fhir_issues_init(&is, NULL, NULL);
    (void)fhir_validate(o, "MedicationAdministration", &is);
    if (is.nerrors > 0)
        fail_msg("not valid R4: %s: %s", is.items[0].expression, is.items[0].diagnostics);
    return o;
}

static const char *ext_code(const json_t *o, const char *url)
{
    const json_t *x = json_array_get(json_object_get(o, "extension"), 0);
    assert_string_equal(json_string_value(json_object_get(x, "url")), INGEST_EXT_DOSE);
    const json_t *subs = json_object_get(x, "extension");
    for (size_t i = 0; i < json_array_size(subs); i++) {
        const json_t *y = json_array_get(subs, i);
        if (strcmp(json_string_value(json_object_get(y, "url")), url) == 0) {
            const json_t *v = json_object_get(y, "valueCode");
            return v != NULL ? json_string_value(v)
                             : json_string_value(json_object_get(y, "valueDateTime"));
        }
    }
    return NULL;
}

static void doses_map_to_medication_administrations(void **state)
{
    (void)state;
    json_t *o = map("{\"t\":\"2026-11-24T08:00:00+09:00\",\"dose\":\"taken\",\"at\":"
                    "\"2026-11-24T08:12:30+09:00\",\"slot\":\"morning\",\"med\":\"amlodipine\"}");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "completed");
    assert_null(json_object_get(o, "statusReason"));
    assert_string_equal(json_string_value(json_object_get(o, "effectiveDateTime")),
                        "2026-11-24T08:00:00+09:00");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "subject"), "reference")),
        "Patient/pat1");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(o, "device"), 0), "reference")),
                        "Device/fdev1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "medicationCodeableConcept"), "text")),
        "amlodipine");
    const json_t *id = json_array_get(json_object_get(o, "identifier"), 0);
    assert_string_equal(json_string_value(json_object_get(id, "value")), "dev1/1795474800000");
    assert_string_equal(ext_code(o, "status"), "taken");
    assert_string_equal(ext_code(o, "takenAt"), "2026-11-24T08:12:30+09:00");
    assert_string_equal(ext_code(o, "slot"), "morning");
    json_decref(o);

    o = map("{\"t\":\"2026-11-24T08:00:00+09:00\",\"dose\":\"missed\",\"slot\":\"morning\"}");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "not-done");
    const json_t *why = json_array_get(json_object_get(o, "statusReason"), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(why, "coding"), 0), "code")),
                        "missed");
    assert_string_equal(ext_code(o, "status"), "missed");
    assert_null(ext_code(o, "takenAt"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "medicationCodeableConcept"), "text")),
        "pill-box compartment: morning");
    json_decref(o);

    o = map("{\"t\":\"2026-11-24T08:00:00+09:00\",\"dose\":\"late\",\"at\":"
            "\"2026-11-24T11:00:00+09:00\"}");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "completed");
    assert_string_equal(ext_code(o, "status"), "late");
    assert_null(ext_code(o, "slot"));
    assert_non_null(
        json_string_value(json_object_get(json_array_get(json_object_get(o, "note"), 0), "text")));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doses_are_parsed),
        cmocka_unit_test(bad_doses_are_refused),
        cmocka_unit_test(only_a_pill_box_sends_doses),
        cmocka_unit_test(doses_map_to_medication_administrations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
