/* test_ingest.c - device readings over MQTT into the record (issue 6, docs/internals/ingest.md),
 * with a real Mosquitto broker (broker.h), a demo town and the real binary: 会津 太郎's wrist
 * monitor publishes with mosquitto_pub; the reading becomes an Observation he reads through
 * /fhir with the device, its kind and the cuff's site; a redelivered reading is dropped; bad
 * payloads are rejected and counted in /metrics while the stream goes on; readings on an
 * unknown or revoked device's topic are refused and counted; his trail records the device's
 * writes; a reading commits with its outbox event. */
#include "broker.h"
#include "oidc_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest_support.h"

static struct ingest_fixture *F;

static int group_setup(void **state)
{
    (void)state;
    F = ingest_fixture_start(4);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ingest_fixture_stop(F);
    return 0;
}

static void a_reading_becomes_an_observation_the_citizen_reads(void **state)
{
    (void)state;
    struct ingest_device d = ingest_device_register(F, "bp-wrist", "手首の血圧計");
    double stored = ingest_metric(F, "stored");
    char t[40];
    ingest_time(t, sizeof t, 3600);
    char *msg = str_printf("{\"t\":\"%s\",\"sys\":142,\"dia\":91,\"pulse\":72}", t);
    ingest_publish(F, &d, msg);
    free(msg);
    ingest_wait_metric(F, "stored", stored + 1);

    json_t *obs = ingest_find(F, &d, t);
    assert_non_null(obs);
    assert_string_equal(json_str(obs, "status"), "final");
    json_t *code = json_array_get(json_object_get(json_object_get(obs, "code"), "coding"), 0);
    assert_string_equal(json_str(code, "code"), "85354-9");
    assert_string_equal(json_str(code, "system"), "http://loinc.org");
    char *dev = str_printf("Device/%s", d.fhir_id);
    assert_string_equal(json_str(json_object_get(obs, "device"), "reference"), dev);
    free(dev);
    assert_string_equal(json_str(json_object_get(obs, "device"), "display"),
                        "wrist blood pressure monitor");
    json_t *site = json_array_get(json_object_get(json_object_get(obs, "bodySite"), "coding"), 0);
    assert_string_equal(json_str(site, "code"), "8205005");
    assert_string_equal(json_str(site, "system"), "http://snomed.info/sct");
    char *subj = str_printf("Patient/%s", F->taro_id);
    assert_string_equal(json_str(json_object_get(obs, "subject"), "reference"), subj);
    free(subj);
    assert_string_equal(json_str(obs, "effectiveDateTime"), t);
    json_t *comps = json_object_get(obs, "component");
    assert_int_equal(json_array_size(comps), 3);
    json_t *sys = json_array_get(comps, 0);
    assert_string_equal(
        json_str(json_array_get(json_object_get(json_object_get(sys, "code"), "coding"), 0),
                 "code"),
        "8480-6");
    assert_true(json_number_value(
                    json_object_get(json_object_get(sys, "valueQuantity"), "value")) == 142.0);
    assert_string_equal(json_str(json_object_get(sys, "valueQuantity"), "code"), "mm[Hg]");
    json_decref(obs);

    /* an upper-arm cuff is told apart */
    struct ingest_device arm = ingest_device_register(F, "bp-upper-arm", "上腕式血圧計");
    ingest_publish(F, &arm, "{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":130,\"dia\":85}");
    ingest_wait_metric(F, "stored", stored + 2);
    obs = ingest_find(F, &arm, "2026-11-24T07:01:00+09:00");
    assert_non_null(obs);
    site = json_array_get(json_object_get(json_object_get(obs, "bodySite"), "coding"), 0);
    assert_string_equal(json_str(site, "code"), "40983000");
    assert_string_equal(json_str(json_object_get(obs, "device"), "display"),
                        "upper-arm cuff blood pressure monitor");
    json_decref(obs);
}

static void a_repeated_reading_is_stored_once(void **state)
{
    (void)state;
    struct ingest_device d = ingest_device_register(F, "scale", "体重計");
    double stored = ingest_metric(F, "stored"), dup = ingest_metric(F, "duplicate");
    char t[40];
    ingest_time(t, sizeof t, 7200);
    char *msg = str_printf("{\"t\":\"%s\",\"kg\":63.4}", t);
    ingest_publish(F, &d, msg);
    ingest_publish(F, &d, msg); /* a redelivery, or the device sending it again */
    free(msg);
    /* the same instant written in another zone is the same reading */
    ingest_wait_metric(F, "duplicate", dup + 1);
    assert_true(ingest_metric(F, "stored") == stored + 1);
    assert_int_equal(ingest_count(F, &d), 1);
}

static void malformed_payloads_are_rejected_counted_and_the_stream_goes_on(void **state)
{
    (void)state;
    struct ingest_device d = ingest_device_register(F, "bp-wrist", "血圧計2");
    double stored = ingest_metric(F, "stored"), rejected = ingest_metric(F, "rejected");
    static const char *const bad[] = {
        "not json",
        "{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":142}",
        "{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":142,\"dia\":91,\"extra\":1}",
        "{\"t\":\"2026-11-24T07:01:00\",\"sys\":142,\"dia\":91}",
        "{\"t\":\"2026-11-24T07:01:00+09:00\",\"kg\":60}", /* a BP monitor weighs no one */
        "{\"resourceType\":\"Patient\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ingest_publish(F, &d, bad[i]);
    char t[40];
    ingest_time(t, sizeof t, 60);
    char *ok = str_printf("{\"t\":\"%s\",\"sys\":120,\"dia\":80}", t);
    ingest_publish(F, &d, ok);
    free(ok);
    ingest_wait_metric(F, "stored", stored + 1);
    ingest_wait_metric(F, "rejected", rejected + 6);
    assert_int_equal(ingest_count(F, &d), 1);
    assert_true(server_log_has(F->s, "ingest: message rejected"));
}

static void unknown_and_revoked_devices_are_refused(void **state)
{
    (void)state;
    double refused = ingest_metric(F, "refused");
    /* the administrator may publish anywhere: a topic no device owns */
    ingest_publish_as_admin(F, "cityos/v1/devices/0123456789abcdefghjkmnpqrs/readings",
                            "{\"t\":\"2026-11-24T07:01:00+09:00\",\"sys\":120,\"dia\":80}");
    ingest_wait_metric(F, "refused", refused + 1);
    /* a revoked device's topic */
    struct ingest_device d = ingest_device_register(F, "thermometer", "体温計");
    ingest_device_revoke(F, &d);
    char *topic = str_printf("cityos/v1/devices/%s/readings", d.id);
    ingest_publish_as_admin(F, topic, "{\"t\":\"2026-11-24T07:01:00+09:00\",\"cel\":36.5}");
    free(topic);
    ingest_wait_metric(F, "refused", refused + 2);
    assert_int_equal(ingest_count(F, &d), 0);
    assert_true(server_log_has(F->s, "revoked"));
}

static void the_device_write_is_on_the_citizens_trail_with_its_event(void **state)
{
    (void)state;
    struct ingest_device d = ingest_device_register(F, "pulse-oximeter", "パルスオキシメーター");
    double stored = ingest_metric(F, "stored");
    char t[40];
    ingest_time(t, sizeof t, 30);
    char *msg = str_printf("{\"t\":\"%s\",\"spo2\":97,\"pulse\":66}", t);
    ingest_publish(F, &d, msg);
    free(msg);
    ingest_wait_metric(F, "stored", stored + 1);
    json_t *obs = ingest_find(F, &d, t);
    assert_non_null(obs);
    const char *id = json_str(obs, "id");
    struct resp r = api_get_bearer(F, "/api/v1/me/access-log?limit=50");
    assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    int found = 0;
    for (size_t i = 0; i < json_array_size(items) && !found; i++) {
        json_t *it = json_array_get(items, i);
        json_t *what = json_object_get(it, "what"), *who = json_object_get(it, "who");
        const char *rid = json_str(what, "resourceId");
        if (rid == NULL || strcmp(rid, id) != 0)
            continue;
        found = 1;
        assert_string_equal(json_str(what, "action"), "create");
        assert_string_equal(json_str(what, "resourceType"), "Observation");
        assert_string_equal(json_str(it, "decision"), "permit");
        assert_string_equal(json_str(who, "kind"), "device");
        assert_string_equal(json_str(json_object_get(it, "why"), "decidedBy"), "rule:device-bound");
    }
    if (!found)
        fprintf(stderr, "access log: %s\n", r.body);
    assert_true(found);
    resp_free(&r);
    /* the outbox holds its event, in the same transaction as the Observation */
    char *ref = str_printf("Observation/%s", id);
    assert_int_equal(ingest_db_count(F,
                                     "SELECT COUNT(*) FROM event_outbox WHERE kind = "
                                     "'reading.stored' AND ref = '%s'",
                                     ref),
                     1);
    free(ref);
    json_decref(obs);
}

static void the_metrics_name_every_result(void **state)
{
    (void)state;
    struct resp r = api_get(F->s, "/metrics");
    assert_status(&r, 200);
    static const char *const results[] = {"stored", "duplicate", "rejected", "refused", "failed"};
    for (size_t i = 0; i < sizeof results / sizeof results[0]; i++) {
        char *series = str_printf("cityos_ingest_messages_total{result=\"%s\"}", results[i]);
        assert_non_null(strstr(r.body, series));
        free(series);
    }
    assert_non_null(strstr(r.body, "cityos_ingest_message_seconds_count"));
    assert_non_null(strstr(r.body, "cityos_events_deliveries_total{outcome=\"delivered\"}"));
    resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_reading_becomes_an_observation_the_citizen_reads),
        cmocka_unit_test(a_repeated_reading_is_stored_once),
        cmocka_unit_test(malformed_payloads_are_rejected_counted_and_the_stream_goes_on),
        cmocka_unit_test(unknown_and_revoked_devices_are_refused),
        cmocka_unit_test(the_device_write_is_on_the_citizens_trail_with_its_event),
        cmocka_unit_test(the_metrics_name_every_result),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
