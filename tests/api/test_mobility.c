/* test_mobility.c - the taxi of STORY.md S1 step 10 through the API, as 会津 太郎, the
 * dispatcher of 会津みなとタクシー, another taxi company and the city: 太郎 opts in (granting the
 * "mobility" consent with his evidence); an in-person appointment at 鶴ヶ城総合病院 orders a
 * taxi 40 minutes before it on a normal day (50 when it snows); the dispatcher reads the order
 * from the company's queue and moves it on, each step in his inbox; a cancelled appointment
 * cancels it; redelivered events change nothing; other people's ids, bad input and a withdrawn
 * consent are refused, audited, and change nothing. Appointments are appended to the outbox
 * as the booking service appends them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consent_support.h"
#include "test_prescription_support.h"

static struct rx_fixture *F;
static char mob_hash[80], mob_consent[64];
static long mob_version;
static long long day_ms; /* 10:00 Japan time two days from now */

static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    return rx_call(F, method, path, tok, body);
}

static long count(const char *sql)
{
    return rx_db_count(F, sql);
}

static long denials(void)
{
    char *q = str_printf("SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND decision = "
                         "'deny' AND resource_type = 'Task'",
                         F->taro);
    long n = count(q);
    free(q);
    return n;
}

/* appointment.booked for 太郎 at the hospital, start_ms, mode; waits until handled. */
static void booked(const char *appt, long long start_ms, const char *mode)
{
    char *pl = str_printf("{\"appointment\":\"%s\",\"slot\":\"slot-%s\",\"practitioner\":\"p\","
                          "\"organization\":\"%s\",\"mode\":\"%s\",\"start\":\"x\",\"end\":\"y\","
                          "\"start_ms\":%lld,\"end_ms\":%lld}",
                          appt, appt, F->hospital, mode, start_ms, start_ms + 1800000);
    char *ref = str_printf("Appointment/%s", appt);
    long seq = rx_event(F, "appointment.booked", F->taro, ref, pl);
    rx_wait_handled(F, "mobility", "appointment.booked", seq);
    free(pl);
    free(ref);
}

static void cancelled(const char *appt)
{
    char *pl = str_printf("{\"appointment\":\"%s\",\"slot\":\"s\",\"organization\":\"%s\","
                          "\"start_ms\":1,\"reason\":\"patient\"}",
                          appt, F->hospital);
    char *ref = str_printf("Appointment/%s", appt);
    long seq = rx_event(F, "appointment.cancelled", F->taro, ref, pl);
    rx_wait_handled(F, "mobility", "appointment.cancelled", seq);
    free(pl);
    free(ref);
}

/* 太郎's order for appt (a new reference), or NULL. */
static json_t *my_order(const char *appt)
{
    struct resp r = call("GET", "/api/v1/me/taxi/orders", F->t_taro, NULL);
    assert_status(&r, 200);
    json_t *found = NULL;
    json_t *list = json_object_get(r.json, "orders");
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(json_str(json_array_get(list, i), "appointment"), appt) == 0)
            found = json_incref(json_array_get(list, i));
    resp_free(&r);
    return found;
}

static int group_setup(void **state)
{
    (void)state;
    F = rx_fixture_start(NULL);
    char *rec = str_printf("[\"%s\"]", F->taxi);
    mob_version = rx_publish(F, "mobility", "[\"location\"]", rec, mob_hash);
    free(rec);
    time_t t = time(NULL) + 2 * 86400;
    day_ms = ((long long)(t / 86400) * 86400 + 1 * 3600) * 1000; /* 01:00 UTC = 10:00 JST */
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    rx_fixture_stop(F);
    return 0;
}

static void the_weather_comes_from_config_then_the_city(void **state)
{
    (void)state;
    struct resp r = call("GET", "/api/v1/mobility/weather", NULL, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "weather"), "normal");
    assert_string_equal(json_str(r.json, "source"), "config");
    resp_free(&r);
    r = call("PUT", "/api/v1/admin/mobility/weather", F->t_taro, "{\"weather\":\"snow\"}");
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    const char *bad[] = {"{}",
                         "{\"weather\":\"rain\"}",
                         "{\"weather\":\"snow\",\"x\":1}",
                         "{\"weather\":\"snow\",\"source\":\"sensor\"}",
                         "{\"weather\":\"snow\",\"source\":\"radio\"}",
                         "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = api(F->s, "PUT", "/api/v1/admin/mobility/weather", LIST(AUTH_HEADER, JSON_HEADER),
                bad[i], strlen(bad[i]));
        assert_problem(&r, 422, "validation-failed");
        resp_free(&r);
    }
    r = call("GET", "/api/v1/mobility/weather", NULL, NULL);
    assert_string_equal(json_str(r.json, "weather"), "normal");
    resp_free(&r);
}

static void opting_in_checks_everything(void **state)
{
    (void)state;
    long consents = count("SELECT COUNT(*) FROM consent");
    char *ev = consent_evidence(mob_hash);
    const char *bad[] = {"[]",
                         "{}",
                         "{\"company\":\"%s\"}",
                         "{\"company\":\"x\",\"evidence\":{}}",
                         "{\"company\":\"%s\",\"evidence\":{\"channel\":\"portal\"}}",
                         "{\"company\":\"%s\",\"evidence\":%s,\"more\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *b = rx_fill(bad[i], F->taxi, ev);
        struct resp r = call("PUT", "/api/v1/me/taxi", F->t_taro, b);
        assert_problem(&r, 422, "validation-failed");
        resp_free(&r);
        free(b);
    }
    char *pharm = str_printf("{\"company\":\"%s\",\"evidence\":%s}", F->pharmacy, ev);
    struct resp r = call("PUT", "/api/v1/me/taxi", F->t_taro, pharm); /* not a taxi company */
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    r = call("PUT", "/api/v1/me/taxi", F->t_dispatcher, pharm);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = call("PUT", "/api/v1/me/taxi", F->t_taro, "{");
    assert_problem(&r, 400, "malformed-json");
    resp_free(&r);
    r = call("GET", "/api/v1/me/taxi", F->t_taro, NULL);
    assert_status(&r, 200);
    assert_false(json_is_true(json_object_get(r.json, "enabled")));
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM consent"), consents);
    free(pharm);
    free(ev);
}

static void without_opt_in_no_taxi(void **state)
{
    (void)state;
    booked("appt-none", day_ms, "in-person");
    assert_int_equal(count("SELECT COUNT(*) FROM mobility_order"), 0);
    assert_null(my_order("appt-none"));
}

/* S1 step 10: 太郎 asks for taxis; his examination at 10:00 orders one for 09:20. */
static void the_s1_taxi_comes_40_minutes_before(void **state)
{
    (void)state;
    char *ev = consent_evidence(mob_hash);
    char *b = str_printf("{\"company\":\"%s\",\"evidence\":%s}", F->taxi, ev);
    struct resp r = call("PUT", "/api/v1/me/taxi", F->t_taro, b);
    assert_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "enabled")));
    assert_string_equal(json_str(r.json, "company"), F->taxi);
    snprintf(mob_consent, sizeof mob_consent, "%s", json_str(r.json, "consent"));
    resp_free(&r);
    free(b);
    free(ev);

    booked("appt-online", day_ms, "online"); /* no taxi to a video call */
    assert_null(my_order("appt-online"));
    booked("appt-s1", day_ms, "in-person");
    booked("appt-s1", day_ms, "in-person"); /* redelivered: the same order */
    assert_int_equal(count("SELECT COUNT(*) FROM mobility_order"), 1);
    json_t *o = my_order("appt-s1");
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "lead_minutes")), 40);
    assert_false(json_is_true(json_object_get(o, "snow")));
    assert_string_equal(json_str(o, "status"), "requested");
    char task[80];
    snprintf(task, sizeof task, "%s", json_str(o, "task"));
    json_decref(o);
    json_t *n = rx_notices(F, F->t_taro, "mobility");
    assert_int_equal(json_array_size(n), 1);
    json_decref(n);

    /* the dispatcher's queue and the order */
    r = call("GET", "/api/v1/taxi/orders", F->t_dispatcher, NULL);
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, "orders");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_str(json_array_get(list, 0), "task"), task);
    assert_non_null(json_str(json_array_get(list, 0), "pickup_place"));
    resp_free(&r);
    char *opath = str_printf("/api/v1/taxi/orders/%s", task);
    r = call("GET", opath, F->t_dispatcher, NULL);
    assert_status(&r, 200);
    json_t *t = json_object_get(r.json, "task_resource");
    assert_string_equal(json_str(t, "resourceType"), "Task");
    assert_string_equal(json_str(t, "intent"), "order");
    resp_free(&r);
    /* the Task through FHIR, under his consent; his blood pressure is not the company's */
    char *fpath = str_printf("/fhir/Task/%s", task);
    r = call("GET", fpath, F->t_dispatcher, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    char *obs = str_printf("/fhir/Observation?subject=Patient/%s", F->taro);
    r = call("GET", obs, F->t_dispatcher, NULL);
    assert_true(r.status == 403 || json_array_size(json_object_get(r.json, "entry")) == 0);
    resp_free(&r);
    free(obs);

    /* status updates, in order only */
    char *spath = str_printf("/api/v1/taxi/orders/%s/status", task);
    const char *bad[] = {"{}", "{\"status\":\"requested\"}", "{\"status\":\"flying\"}",
                         "{\"status\":\"accepted\",\"x\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = call("POST", spath, F->t_dispatcher, bad[i]);
        assert_problem(&r, 422, "validation-failed");
        resp_free(&r);
    }
    r = call("POST", spath, F->t_dispatcher, "{\"status\":\"picked-up\"}");
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    const char *steps[] = {"accepted", "en-route", "picked-up", "completed"};
    for (size_t i = 0; i < 4; i++) {
        char *sb = str_printf("{\"status\":\"%s\"}", steps[i]);
        r = call("POST", spath, F->t_dispatcher, sb);
        assert_status(&r, 200);
        assert_string_equal(json_str(r.json, "status"), steps[i]);
        resp_free(&r);
        free(sb);
    }
    r = call("POST", spath, F->t_dispatcher, "{\"status\":\"cancelled\"}");
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    r = call("GET", fpath, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "completed");
    resp_free(&r);
    n = rx_notices(F, F->t_taro, "mobility");
    assert_int_equal(json_array_size(n), 5);
    json_decref(n);
    cancelled("appt-s1"); /* after the ride: nothing changes */
    o = my_order("appt-s1");
    assert_string_equal(json_str(o, "status"), "completed");
    json_decref(o);
    free(opath);
    free(fpath);
    free(spath);
}

/* Snow: the city says it snows; the next taxi comes 50 minutes before. A cancelled appointment
 * cancels its taxi and tells him. */
static void snow_is_earlier_and_cancel_cancels(void **state)
{
    (void)state;
    const char *snow = "{\"weather\":\"snow\",\"source\":\"sensor\",\"sensor\":\"road-aizu-01\"}";
    struct resp r = api(F->s, "PUT", "/api/v1/admin/mobility/weather",
                        LIST(AUTH_HEADER, JSON_HEADER), snow, strlen(snow));
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "weather"), "snow");
    assert_string_equal(json_str(r.json, "source"), "sensor");
    resp_free(&r);
    booked("appt-snow", day_ms + 86400000LL, "in-person");
    json_t *o = my_order("appt-snow");
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "lead_minutes")), 50);
    assert_true(json_is_true(json_object_get(o, "snow")));
    json_decref(o);
    cancelled("appt-snow");
    cancelled("appt-snow"); /* redelivered */
    o = my_order("appt-snow");
    assert_string_equal(json_str(o, "status"), "cancelled");
    json_decref(o);
    json_t *n = rx_notices(F, F->t_taro, "mobility");
    assert_int_equal(json_array_size(n), 7); /* + ordered, cancelled */
    json_decref(n);
    const char *normal = "{\"weather\":\"normal\"}";
    r = api(F->s, "PUT", "/api/v1/admin/mobility/weather", LIST(AUTH_HEADER, JSON_HEADER), normal,
            strlen(normal));
    assert_status(&r, 200);
    resp_free(&r);
}

static void other_peoples_ids_are_refused(void **state)
{
    (void)state;
    char other[32];
    char *t_other = rx_other_org(F, "taxi_company", "dispatcher", "other@taxi.example.jp", other);
    json_t *o = my_order("appt-s1");
    char *opath = str_printf("/api/v1/taxi/orders/%s", json_str(o, "task"));
    char *spath = str_printf("/api/v1/taxi/orders/%s/status", json_str(o, "task"));
    json_decref(o);
    struct resp r = call("GET", "/api/v1/taxi/orders", t_other, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "orders")), 0);
    resp_free(&r);
    long before = denials();
    r = call("GET", opath, t_other, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = call("POST", spath, t_other, "{\"status\":\"accepted\"}");
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    assert_int_equal(denials(), before + 2);
    r = call("GET", "/api/v1/taxi/orders/taxi-0000", F->t_dispatcher, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = call("GET", "/api/v1/taxi/orders", F->t_taro, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = call("GET", opath, F->t_pharmacist, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = call("GET", "/api/v1/me/taxi/orders", F->t_hanako, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "orders")), 0);
    resp_free(&r);
    free(opath);
    free(spath);
    free(t_other);
}

/* He withdraws the consent: the company no longer reads his orders, and no new taxi is
 * ordered; he is told why, and the refusal is on his trail. */
static void after_withdrawal_no_taxi(void **state)
{
    (void)state;
    char *ev = consent_evidence(mob_hash);
    char *b = str_printf("{\"evidence\":%s}", ev);
    free(ev);
    char *cpath = str_printf("/api/v1/me/consents/%s", mob_consent);
    struct resp r = call("DELETE", cpath, F->t_taro, b);
    assert_status(&r, 200);
    resp_free(&r);
    free(b);
    free(cpath);
    long before = denials();
    booked("appt-after", day_ms + 2 * 86400000LL, "in-person");
    assert_null(my_order("appt-after"));
    assert_int_equal(denials(), before + 1);
    json_t *n = rx_notices(F, F->t_taro, "mobility");
    assert_int_equal(json_array_size(n), 8); /* + "no taxi was ordered" */
    json_decref(n);
    json_t *o = my_order("appt-s1");
    char *opath = str_printf("/api/v1/taxi/orders/%s", json_str(o, "task"));
    json_decref(o);
    r = call("GET", opath, F->t_dispatcher, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    free(opath);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_weather_comes_from_config_then_the_city),
        cmocka_unit_test(opting_in_checks_everything),
        cmocka_unit_test(without_opt_in_no_taxi),
        cmocka_unit_test(the_s1_taxi_comes_40_minutes_before),
        cmocka_unit_test(snow_is_earlier_and_cancel_cancels),
        cmocka_unit_test(other_peoples_ids_are_refused),
        cmocka_unit_test(after_withdrawal_no_taxi),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
