/* test_fhir_consent.c - the FHIR R4 Consent mapping against hand-written resources: a consent
 * to an organisation with read and write and a period, a withdrawn broad opt-in to a purpose,
 * a narrowed consent with its exceptions as nested deny provisions, a client and a person as
 * recipients, and a record that cannot be mapped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "consent/fhir_consent.h"

#define BIT(c) (1u << (c))

static struct consent_record record(void)
{
    struct consent_record r = {0};
    memcpy(r.id, "01JCONSENT0000000000000001", IDS_LEN + 1);
    memcpy(r.subject_id, "01JTARO0000000000000000001", IDS_LEN + 1);
    memcpy(r.granted_by, "01JHANAKO00000000000000001", IDS_LEN + 1);
    memcpy(r.purpose_code, "cardio", 7);
    r.purpose_version = 3;
    r.recipient_kind = CONSENT_TO_ORGANISATION;
    r.recipient_id = "01JCLINIC00000000000000001";
    r.cats = BIT(CONSENT_CAT_VITALS) | BIT(CONSENT_CAT_LAB_RESULTS);
    r.actions = CONSENT_READ | CONSENT_WRITE;
    r.valid_from_ms = 1764028800000LL;  /* 2025-11-25T00:00:00Z */
    r.valid_until_ms = 1795564800000LL; /* 2026-11-25T00:00:00Z */
    r.evidence.agreed_ms = 1764028805000LL;
    return r;
}

static void assert_json(json_t *got, const char *expected)
{
    struct err e = {0};
    json_t *want = jsonx_parse(expected, strlen(expected), &e);
    assert_non_null(want);
    assert_non_null(got);
    if (!json_equal(got, want)) {
        char *text = jsonx_dumps(got, NULL);
        fail_msg("got %s", text != NULL ? text : "(null)");
    }
    json_decref(want);
    json_decref(got);
}

static void an_organisation_with_read_write_and_a_period(void **state)
{
    (void)state;
    struct consent_record r = record();
    struct err e = {0};
    assert_json(
        consent_fhir_resource(&r, r.cats, &e),
        "{\"resourceType\":\"Consent\",\"id\":\"01JCONSENT0000000000000001\",\"status\":"
        "\"active\",\"scope\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
        "consentscope\",\"code\":\"patient-privacy\"}]},\"category\":[{\"coding\":[{\"system\":"
        "\"http://loinc.org\",\"code\":\"59284-0\"}]}],\"patient\":{\"reference\":\"Patient/"
        "01JTARO0000000000000000001\"},\"dateTime\":\"2025-11-25T00:00:05.000Z\",\"performer\":"
        "[{\"reference\":\"Patient/01JHANAKO00000000000000001\"}],\"organization\":[{"
        "\"display\":\"会津若松市 / Aizuwakamatsu City\"}],\"policyRule\":{\"coding\":[{"
        "\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"OPTIN\"}]},"
        "\"policy\":[{\"uri\":\"urn:cityos:purpose:cardio@3\"}],\"provision\":{\"type\":"
        "\"permit\",\"period\":{\"start\":\"2025-11-25T00:00:00.000Z\",\"end\":"
        "\"2026-11-25T00:00:00.000Z\"},\"actor\":[{\"role\":{\"coding\":[{\"system\":"
        "\"http://terminology.hl7.org/CodeSystem/v3-ParticipationType\",\"code\":\"IRCP\"}]},"
        "\"reference\":{\"reference\":\"Organization/01JCLINIC00000000000000001\"}}],"
        "\"action\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
        "consentaction\",\"code\":\"access\"}]},{\"coding\":[{\"system\":\"http://"
        "terminology.hl7.org/CodeSystem/consentaction\",\"code\":\"correct\"}]}],\"purpose\":[{"
        "\"system\":\"urn:cityos:purpose\",\"code\":\"cardio\"}],\"class\":[{\"system\":"
        "\"urn:cityos:category\",\"code\":\"vitals\"},{\"system\":\"urn:cityos:category\","
        "\"code\":\"lab_results\"}]}}");
}

static void a_withdrawn_broad_opt_in(void **state)
{
    (void)state;
    struct consent_record r = record();
    r.recipient_kind = CONSENT_TO_PURPOSE;
    r.recipient_id = NULL;
    r.actions = CONSENT_READ;
    r.cats = BIT(CONSENT_CAT_CHECKUPS);
    r.valid_until_ms = 0;
    r.withdrawn = 1;
    struct err e = {0};
    json_t *got = consent_fhir_resource(&r, r.cats, &e);
    assert_non_null(got);
    json_t *prov = json_object_get(got, "provision");
    assert_json(json_incref(prov),
                "{\"type\":\"permit\",\"period\":{\"start\":\"2025-11-25T00:00:00.000Z\"},"
                "\"actor\":[{\"role\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/"
                "CodeSystem/v3-ParticipationType\",\"code\":\"IRCP\"}]},\"reference\":{"
                "\"identifier\":{\"system\":\"urn:cityos:purpose-recipients\",\"value\":"
                "\"cardio@3\"},\"display\":\"every recipient registered for cardio@3\"}}],"
                "\"action\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                "consentaction\",\"code\":\"access\"}]}],\"purpose\":[{\"system\":"
                "\"urn:cityos:purpose\",\"code\":\"cardio\"}],\"class\":[{\"system\":"
                "\"urn:cityos:category\",\"code\":\"checkups\"}]}");
    assert_string_equal(json_string_value(json_object_get(got, "status")), "inactive");
    json_decref(got);
}

/* The purpose version covers vitals, checkups, lab_results and genome; the citizen kept vitals
 * and lab_results: a permit for those, and a nested deny for each category left out, in
 * canonical order, each a Coding of the city's category system. */
static void a_narrowed_consent_names_its_exceptions(void **state)
{
    (void)state;
    struct consent_record r = record();
    r.actions = CONSENT_READ;
    consent_cats covered = BIT(CONSENT_CAT_VITALS) | BIT(CONSENT_CAT_CHECKUPS) |
                           BIT(CONSENT_CAT_LAB_RESULTS) | BIT(CONSENT_CAT_GENOME);
    struct err e = {0};
    json_t *got = consent_fhir_resource(&r, covered, &e);
    assert_non_null(got);
    assert_json(
        json_incref(json_object_get(got, "provision")),
        "{\"type\":\"permit\",\"period\":{\"start\":\"2025-11-25T00:00:00.000Z\",\"end\":"
        "\"2026-11-25T00:00:00.000Z\"},\"actor\":[{\"role\":{\"coding\":[{\"system\":"
        "\"http://terminology.hl7.org/CodeSystem/v3-ParticipationType\",\"code\":\"IRCP\"}]},"
        "\"reference\":{\"reference\":\"Organization/01JCLINIC00000000000000001\"}}],"
        "\"action\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
        "consentaction\",\"code\":\"access\"}]}],\"purpose\":[{\"system\":"
        "\"urn:cityos:purpose\",\"code\":\"cardio\"}],\"class\":[{\"system\":"
        "\"urn:cityos:category\",\"code\":\"vitals\"},{\"system\":\"urn:cityos:category\","
        "\"code\":\"lab_results\"}],\"provision\":[{\"type\":\"deny\",\"class\":[{"
        "\"system\":\"urn:cityos:category\",\"code\":\"checkups\"}]},{\"type\":\"deny\","
        "\"class\":[{\"system\":\"urn:cityos:category\",\"code\":\"genome\"}]}]}");
    json_decref(got);
    /* all the version covers, or the version unknown (0): no exceptions */
    got = consent_fhir_resource(&r, r.cats, &e);
    assert_null(json_object_get(json_object_get(got, "provision"), "provision"));
    json_decref(got);
    got = consent_fhir_resource(&r, 0, &e);
    assert_null(json_object_get(json_object_get(got, "provision"), "provision"));
    json_decref(got);
}

static const char *actor_reference(struct consent_record *r)
{
    static char buf[128];
    struct err e = {0};
    json_t *got = consent_fhir_resource(r, 0, &e);
    assert_non_null(got);
    json_t *actor = json_array_get(json_object_get(json_object_get(got, "provision"), "actor"), 0);
    const char *ref =
        json_string_value(json_object_get(json_object_get(actor, "reference"), "reference"));
    assert_non_null(ref);
    snprintf(buf, sizeof buf, "%s", ref);
    json_decref(got);
    return buf;
}

static void clients_and_people_as_recipients(void **state)
{
    (void)state;
    struct consent_record r = record();
    r.recipient_kind = CONSENT_TO_CLIENT;
    r.recipient_id = "01JAPP00000000000000000001";
    assert_string_equal(actor_reference(&r), "Device/01JAPP00000000000000000001");
    r.recipient_kind = CONSENT_TO_PERSON;
    r.recipient_id = "01JHANAKO00000000000000001";
    assert_string_equal(actor_reference(&r), "Patient/01JHANAKO00000000000000001");
    /* a recipient kind that needs an id, without one */
    r.recipient_id = NULL;
    struct err e = {0};
    assert_null(consent_fhir_resource(&r, BIT(CONSENT_CAT_VITALS), &e));
    assert_int_equal(e.code, ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_organisation_with_read_write_and_a_period),
        cmocka_unit_test(a_withdrawn_broad_opt_in),
        cmocka_unit_test(a_narrowed_consent_names_its_exceptions),
        cmocka_unit_test(clients_and_people_as_recipients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
