/* test_adherence.c - the home doctor's medication adherence (issue 6, rule 6; STORY.md S7
 * "missed medication raises an alert to the carer the citizen named") with the real binary, a
 * real Mosquitto broker and the demo town: 会津 太郎's pill box reports each scheduled dose
 * (taken, late, missed) with mosquitto_pub; the doses become MedicationAdministrations; without
 * his "adherence" consent the home doctor reads and writes nothing; with it, a week with misses
 * raises two explained alerts (2 missed in a row; under 80% taken over 7 days), each once
 * although every dose is evaluated; they reach him and his daughter (her link: see_alerts) and
 * not his wife, whose link gives only book_appointments and who sees nothing, until he names her
 * in a consent: the next alert then reaches her too; his inbox shows them with their reasons;
 * malformed dose payloads are rejected and counted while the stream goes on. */
#include "broker.h"
#include "oidc_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consent_support.h"
#include "ingest_support.h"

#define APP_REDIRECT  "http://127.0.0.1:8765/callback"
#define PATIENT_SCOPE "openid launch/patient patient/*.cruds patient/Consent.cu"
#define USER_SCOPE    "openid user/*.cruds"
#define MISAKI_EMAIL  "misaki.sato@example.jp"
#define MISAKI_PASS   "Misaki-Kaki-9Tn5-Hc3j"
#define HANAKO_EMAIL  "hanako.aizu@example.jp"
#define HANAKO_PASS   "Hanako-Yuki-4Rm8-Zp2v"
#define TARO_EMAIL    "taro.aizu@example.jp"
#define TARO_PASS     "Minato-Tsuru-7Kq3-Bx9w"
#define DOCTOR_EMAIL  "dr.yamaguchi@minato-clinic.example.jp"
#define DOCTOR_PASS   "Clinic-Inawa-3Wf7-Ld8s"
#define HOUR_S        3600L
#define DAY_S         (24L * HOUR_S)
#define RULE_ROW      "cityos.medication_missed_in_a_row"
#define RULE_PCT      "cityos.medication_taken_proportion"
#define ADH_METRIC    "cityos_homedoctor_adherence_events_total{result=\"%s\"}"

static struct ingest_fixture *F;
static char hd_client[64], app[64], misaki_id[64], hanako_id[64];
static char *t_taro, *t_misaki, *t_hanako, *t_doctor;
static struct ingest_device box;
static int doses;       /* dose events published and stored so far */
static char last_t[40]; /* the scheduled time of the last dose published */

static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    char *auth = str_printf("Authorization: Bearer %s", tok);
    struct resp r = body != NULL
                        ? api(F->s, method, path, LIST(auth, JSON_HEADER), body, strlen(body))
                        : api(F->s, method, path, LIST(auth), NULL, 0);
    free(auth);
    return r;
}

static double metric(const char *series)
{
    struct resp r = api_get(F->s, "/metrics");
    assert_status(&r, 200);
    double v = metric_value(r.body, series);
    resp_free(&r);
    return v;
}

static double adherence(const char *result)
{
    char *s = str_printf(ADH_METRIC, result);
    double v = metric(s);
    free(s);
    return v > 0 ? v : 0; /* absent: 0 */
}

/* Waits until the adherence consumer handled every dose event published so far. */
static void wait_evaluated(void)
{
    double v = 0;
    for (int i = 0; i < 600; i++) {
        v = adherence("evaluated") + adherence("refused") + adherence("failed");
        if (v >= doses)
            return;
        sleep_ms(50);
    }
    server_dump_log(F->s);
    fail_msg("dose events handled: %g, want %d", v, doses);
}

/* One dose event, scheduled ago_s seconds before now. */
static void publish_dose(long ago_s, const char *status, const char *extra)
{
    char t[40];
    ingest_time(t, sizeof t, ago_s);
    memcpy(last_t, t, sizeof last_t);
    char *msg = str_printf("{\"t\":\"%s\",\"dose\":\"%s\"%s}", t, status, extra ? extra : "");
    double stored = ingest_metric(F, "stored");
    ingest_publish(F, &box, msg);
    ingest_wait_metric(F, "stored", stored + 1);
    free(msg);
    doses++;
}

static void userinfo_sub(const char *tok, char *out, size_t cap)
{
    struct resp r = call("GET", "/oauth/userinfo", tok, NULL);
    assert_status(&r, 200);
    snprintf(out, cap, "%s", json_str(r.json, "sub"));
    resp_free(&r);
}

/* The explanation hash and version of a purpose's current version. */
static void purpose_hash(const char *code, char *hash, size_t cap, long *version)
{
    struct resp r = api_get(F->s, "/api/v1/purposes");
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, "purposes");
    hash[0] = '\0';
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *p = json_array_get(list, i);
        if (strcmp(json_str(p, "code"), code) != 0)
            continue;
        snprintf(hash, cap, "%s", json_str(p, "explanation_hash"));
        if (version != NULL)
            *version = (long)json_integer_value(json_object_get(p, "version"));
    }
    resp_free(&r);
    assert_true(hash[0] != '\0');
}

static char *grant(const char *code, const char *recipient_json, const char *cats,
                   const char *actions)
{
    char hash[80];
    long version = 0;
    purpose_hash(code, hash, sizeof hash, &version);
    char *ev = consent_evidence(hash);
    char *body = str_printf("{\"purpose\":{\"code\":\"%s\",\"version\":%ld},\"recipient\":%s,"
                            "\"categories\":%s,\"actions\":%s,\"evidence\":%s}",
                            code, version, recipient_json, cats, actions, ev);
    struct resp r = call("POST", "/api/v1/me/consents", t_taro, body);
    assert_status(&r, 201);
    char *id = str_printf("%s", json_str(r.json, "id"));
    resp_free(&r);
    free(body);
    free(ev);
    return id;
}

static int sees_nothing(const char *tok, const char *what)
{
    char *path = str_printf("/fhir/%s", what);
    struct resp r = call("GET", path, tok, NULL);
    int none = r.status == 403 ||
               (r.status == 200 && json_array_size(json_object_get(r.json, "entry")) == 0);
    if (!none && r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    resp_free(&r);
    free(path);
    return none;
}

static const char *rule_of(json_t *c)
{
    json_t *code = json_array_get(
        json_object_get(json_array_get(json_object_get(c, "reasonCode"), 0), "coding"), 0);
    const char *s = json_str(code, "code");
    return s != NULL ? s : "";
}

/* "Patient/a Patient/b" of a Communication (malloc'ed). */
static char *recipients_of(json_t *c)
{
    char *out = str_printf("%s", "");
    json_t *to = json_object_get(c, "recipient");
    for (size_t i = 0; i < json_array_size(to); i++) {
        json_t *r = json_array_get(to, i);
        const char *ref = json_str(r, "reference");
        if (ref == NULL)
            ref = json_str(json_object_get(r, "identifier"), "value");
        char *next = str_printf("%s%s%s", out, out[0] ? " " : "", ref != NULL ? ref : "?");
        free(out);
        out = next;
    }
    return out;
}

/* 太郎's adherence Communications as tok reads them (caller frees). */
static struct resp alerts_as(const char *tok)
{
    char *path = str_printf("/fhir/Communication?subject=Patient/%s&_count=100", F->taro_id);
    struct resp r = call("GET", path, tok, NULL);
    free(path);
    if (r.status != 200)
        fail_msg("Communication search: %ld %s", r.status, r.body);
    return r;
}

/* How many of the bundle's Communications are of rule. */
static int count_rule(json_t *bundle, const char *rule)
{
    int n = 0;
    json_t *entries = json_object_get(bundle, "entry");
    for (size_t i = 0; i < json_array_size(entries); i++)
        n += strcmp(rule_of(json_object_get(json_array_get(entries, i), "resource")), rule) == 0;
    return n;
}

static json_t *newest_of(json_t *bundle, const char *rule)
{
    json_t *best = NULL;
    json_t *entries = json_object_get(bundle, "entry");
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *c = json_object_get(json_array_get(entries, i), "resource");
        if (strcmp(rule_of(c), rule) == 0 &&
            (best == NULL || strcmp(json_str(c, "sent"), json_str(best, "sent")) > 0))
            best = c;
    }
    return best;
}

static int group_setup(void **state)
{
    (void)state;
    F = ingest_fixture_start(1);
    json_t *line = server_wait_log(F->s, "homedoctor: service ready", NULL, NULL, 10000);
    assert_non_null(line);
    snprintf(hd_client, sizeof hd_client, "%s", json_str(line, "client_id"));
    json_decref(line);
    const char *client = "{\"name\":\"adherence test app\",\"kind\":\"public\",\"scopes\":"
                         "\"" PATIENT_SCOPE " user/*.cruds\","
                         "\"grant_types\":[\"authorization_code\"],"
                         "\"redirect_uris\":[\"" APP_REDIRECT "\"]}";
    struct resp r = api(F->s, "POST", "/api/v1/admin/clients", LIST(AUTH_HEADER, JSON_HEADER),
                        client, strlen(client));
    assert_status(&r, 201);
    snprintf(app, sizeof app, "%s", json_str(r.json, "client_id"));
    resp_free(&r);
    t_taro = oidc_token(F->s, app, APP_REDIRECT, TARO_EMAIL, TARO_PASS, "self", PATIENT_SCOPE);
    char *t = oidc_token(F->s, app, APP_REDIRECT, MISAKI_EMAIL, MISAKI_PASS, "self", PATIENT_SCOPE);
    userinfo_sub(t, misaki_id, sizeof misaki_id);
    free(t);
    t = oidc_token(F->s, app, APP_REDIRECT, HANAKO_EMAIL, HANAKO_PASS, "self", PATIENT_SCOPE);
    userinfo_sub(t, hanako_id, sizeof hanako_id);
    free(t);
    /* his wife may book his appointments: a family link without any right to his alerts */
    char *path = str_printf("/api/v1/admin/people/%s/links", F->taro_id);
    char *body =
        str_printf("{\"delegate_id\":\"%s\",\"rights\":[\"book_appointments\"]}", hanako_id);
    r = api(F->s, "POST", path, LIST(AUTH_HEADER, JSON_HEADER), body, strlen(body));
    assert_status(&r, 201);
    resp_free(&r);
    free(path);
    free(body);
    t_misaki =
        oidc_token(F->s, app, APP_REDIRECT, MISAKI_EMAIL, MISAKI_PASS, "for:", PATIENT_SCOPE);
    t_hanako =
        oidc_token(F->s, app, APP_REDIRECT, HANAKO_EMAIL, HANAKO_PASS, "for:", PATIENT_SCOPE);
    t_doctor = oidc_token(F->s, app, APP_REDIRECT, DOCTOR_EMAIL, DOCTOR_PASS, "role:", USER_SCOPE);
    box = ingest_device_register(F, "pillbox", "お薬ケース");
    /* the city publishes the medication-watch purpose, naming the home doctor's service */
    char *pb = str_printf(
        "{\"code\":\"adherence\",\"title\":{\"ja\":\"服薬見守り\",\"en\":\"Medication "
        "watch\"},\"explanation\":{\"ja\":\"お薬ケースの服用記録をAIホームドクターが確認し、"
        "飲み忘れが続いたときにお知らせします。\",\"en\":\"The AI home doctor reads your pill "
        "box's dose reports and alerts you when doses are missed.\"},\"categories\":["
        "\"medications\",\"alerts\"],\"recipients\":[\"%s\"],\"legal_basis\":\"consent\","
        "\"retention_days\":1825}",
        hd_client);
    r = api(F->s, "POST", "/api/v1/admin/purposes", LIST(AUTH_HEADER, JSON_HEADER), pb, strlen(pb));
    assert_status(&r, 201);
    resp_free(&r);
    free(pb);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ingest_fixture_stop(F);
    free(t_taro);
    free(t_misaki);
    free(t_hanako);
    free(t_doctor);
    return 0;
}

/* Without his adherence consent: the doses are stored (the device's path), the home doctor
 * reads and writes nothing, and says so on his trail. */
static void without_consent_nothing_is_read_or_written(void **state)
{
    (void)state;
    publish_dose(20 * DAY_S + 12 * HOUR_S, "missed", NULL);
    publish_dose(20 * DAY_S, "missed", NULL);
    wait_evaluated();
    assert_true(adherence("refused") == 2);
    assert_true(adherence("evaluated") == 0);
    struct resp r = alerts_as(t_taro);
    assert_int_equal(count_rule(r.json, RULE_ROW) + count_rule(r.json, RULE_PCT), 0);
    resp_free(&r);
    /* the refusal on his trail, by the service */
    char *path =
        str_printf("/api/v1/me/access-log?actor=%s&decision=deny&category=medications", hd_client);
    r = call("GET", path, t_taro, NULL);
    free(path);
    assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *what = json_object_get(json_array_get(items, i), "what");
        assert_string_equal(json_str(what, "resourceType"), "MedicationAdministration");
        assert_string_equal(json_str(what, "action"), "search");
    }
    resp_free(&r);
}

/* A week of doses twice a day with misses: 2 missed in a row at the end, and under 80% taken
 * from the 13th dose on (10 of 13, then 10 of 14). Each rule alerts once, though every dose is
 * evaluated; the alerts state the rule, the doses and the source; they reach him and his
 * daughter, not his wife or his doctor. */
static void a_week_with_misses_alerts_once_per_rule(void **state)
{
    (void)state;
    char *rcp = str_printf("{\"kind\":\"client\",\"id\":\"%s\"}", hd_client);
    free(grant("adherence", rcp, "[\"medications\",\"alerts\"]", "[\"read\",\"write\"]"));
    free(rcp);
    /* k = 13 .. 0: scheduled k x 12 h (+ 2 min) ago */
    const char *week = "ttttttttmtmtmm"; /* k = 13 first */
    for (int i = 0; week[i] != '\0'; i++) {
        long k = 13 - i;
        const char *extra = NULL;
        char at[40], buf[80];
        if (week[i] == 't' && k == 4) { /* one of them late, with the time it was taken */
            ingest_time(at, sizeof at, k * 12 * HOUR_S + 120 - 3 * HOUR_S);
            snprintf(buf, sizeof buf, ",\"at\":\"%s\",\"slot\":\"evening\"", at);
            extra = buf;
        }
        publish_dose(k * 12 * HOUR_S + 120,
                     week[i] == 'm'  ? "missed"
                     : extra != NULL ? "late"
                                     : "taken",
                     extra);
    }
    wait_evaluated();
    assert_true(adherence("failed") == 0);
    assert_true(adherence("evaluated") == 14);

    struct resp r = alerts_as(t_taro);
    if (count_rule(r.json, RULE_ROW) != 1 || count_rule(r.json, RULE_PCT) != 1) {
        server_dump_log(F->s);
        fail_msg("alerts: %s", r.body);
    }
    char *want = str_printf("Patient/%s Patient/%s", F->taro_id, misaki_id);
    const char *rules[] = {RULE_ROW, RULE_PCT};
    for (int k = 0; k < 2; k++) {
        json_t *c = newest_of(r.json, rules[k]);
        assert_non_null(c);
        char *to = recipients_of(c);
        assert_string_equal(to, want); /* him and the daughter; not the wife, not the clinic */
        free(to);
        assert_string_equal(json_str(c, "priority"), "urgent");
        const char *reason = json_str(json_array_get(json_object_get(c, "reasonCode"), 0), "text");
        assert_non_null(strstr(reason, "cityos rule, not a guideline"));
        json_t *about = json_object_get(c, "about");
        assert_true(
            strncmp(json_str(json_array_get(about, 0), "reference"), "RiskAssessment/", 15) == 0);
        assert_true(strncmp(json_str(json_array_get(about, 1), "reference"),
                            "MedicationAdministration/", 25) == 0);
        const char *en =
            json_str(json_array_get(json_object_get(c, "payload"), 1), "contentString");
        assert_non_null(en);
        assert_non_null(strstr(en, "not a diagnosis"));
        assert_true(json_array_size(json_object_get(c, "payload")) > 2); /* with advice */
        if (k == 0) {
            assert_int_equal(json_array_size(about), 1 + 2); /* the two missed doses */
        } else {
            /* sent at the episode's first evaluation (k = 1): 10 of the 13 doses so far */
            assert_int_equal(json_array_size(about), 1 + 13);
            assert_non_null(strstr(en, "76.9%"));
            assert_non_null(strstr(reason, "Osterberg"));
        }
    }
    free(want);
    resp_free(&r);
    /* an assessment per evaluation that fired with other doses (k = 1 and k = 0), but one alert
     * for the episode (above) */
    char *q = str_printf("/fhir/RiskAssessment?subject=Patient/%s&method=urn:cityos:homedoctor-"
                         "rule%%7C" RULE_PCT,
                         F->taro_id);
    r = call("GET", q, t_taro, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 2);
    resp_free(&r);
    free(q);
}

/* The doses as stored: MedicationAdministrations with the scheduled time, missed ones not-done
 * with their reason; a repeated report is stored once. */
static void doses_are_medication_administrations(void **state)
{
    (void)state;
    const char *t = last_t; /* k = 0: missed */
    char *enc = form_encode(t);
    char *path = str_printf("/fhir/MedicationAdministration?device=Device/%s&effective-time=%s",
                            box.fhir_id, enc);
    free(enc);
    struct resp r = call("GET", path, t_taro, NULL);
    free(path);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 1);
    json_t *ma = json_incref(
        json_object_get(json_array_get(json_object_get(r.json, "entry"), 0), "resource"));
    resp_free(&r);
    assert_non_null(ma);
    assert_string_equal(json_str(ma, "resourceType"), "MedicationAdministration");
    assert_string_equal(json_str(ma, "status"), "not-done");
    assert_string_equal(json_str(ma, "effectiveDateTime"), t);
    assert_non_null(json_object_get(ma, "statusReason"));
    char *dev = str_printf("Device/%s", box.fhir_id);
    assert_string_equal(json_str(json_array_get(json_object_get(ma, "device"), 0), "reference"),
                        dev);
    free(dev);
    json_decref(ma);
    /* the box reports the same scheduled dose again: a duplicate, nothing new */
    double dup = ingest_metric(F, "duplicate");
    char *msg = str_printf("{\"t\":\"%s\",\"dose\":\"missed\"}", t);
    ingest_publish(F, &box, msg);
    free(msg);
    ingest_wait_metric(F, "duplicate", dup + 1);
}

/* His daughter reads the alerts, not the doses; his wife (link: book_appointments) and his
 * doctor see nothing. */
static void only_those_he_allowed_see_the_alerts(void **state)
{
    (void)state;
    struct resp r = alerts_as(t_misaki);
    assert_int_equal(count_rule(r.json, RULE_ROW), 1);
    resp_free(&r);
    char *q = str_printf("MedicationAdministration?subject=Patient/%s", F->taro_id);
    assert_true(sees_nothing(t_misaki, q)); /* alerts, not his medicines */
    char *c = str_printf("Communication?subject=Patient/%s", F->taro_id);
    assert_true(sees_nothing(t_hanako, c));
    assert_true(sees_nothing(t_hanako, q));
    assert_true(sees_nothing(t_doctor, c));
    free(q);
    free(c);
}

/* His inbox shows the adherence alerts with their rule and reason. */
static void the_inbox_shows_the_reason(void **state)
{
    (void)state;
    struct resp r = call("GET", "/api/v1/me/inbox", t_taro, NULL);
    assert_status(&r, 200);
    json_t *alerts = json_object_get(r.json, "alerts");
    int found = 0;
    for (size_t i = 0; i < json_array_size(alerts); i++) {
        json_t *a = json_array_get(alerts, i);
        if (strcmp(json_str(a, "rule"), RULE_ROW) != 0)
            continue;
        found++;
        assert_non_null(strstr(json_str(a, "guideline"), "cityos rule"));
        assert_non_null(strstr(json_str(json_object_get(a, "text"), "en"), "in a row"));
        assert_non_null(json_str(json_object_get(a, "text"), "ja"));
        assert_int_equal(json_array_size(json_object_get(a, "basis")), 2);
        assert_true(json_array_size(json_object_get(a, "advice")) > 0);
    }
    assert_int_equal(found, 1);
    resp_free(&r);
}

/* Bad dose payloads are rejected and counted; the next good one is stored. */
static void malformed_doses_are_rejected_and_counted(void **state)
{
    (void)state;
    char t[40], at[40], later[40];
    ingest_time(t, sizeof t, 30 * DAY_S);
    ingest_time(at, sizeof at, 30 * DAY_S - 60);
    ingest_time(later, sizeof later, -3600); /* an hour ahead: in the future */
    char *bad[] = {
        str_printf("{\"t\":\"%s\",\"dose\":\"skipped\"}", t),
        str_printf("{\"t\":\"%s\",\"dose\":\"missed\",\"at\":\"%s\"}", t, at),
        str_printf("{\"t\":\"%s\",\"dose\":\"taken\",\"med\":\"a\\u0001b\"}", t),
        str_printf("{\"t\":\"%s\",\"dose\":\"taken\",\"slot\":\"lunch\"}", t),
        str_printf("{\"t\":\"%s\",\"dose\":\"taken\",\"opened\":\"morning\"}", t),
        str_printf("{\"t\":\"%s\",\"dose\":\"missed\"}", later),
        str_printf("{\"t\":\"%s\",\"sys\":120,\"dia\":80}", t), /* not a pill box's reading */
        str_printf("{\"dose\":\"taken\"}"),
    };
    size_t n = sizeof bad / sizeof bad[0];
    double rejected = ingest_metric(F, "rejected");
    for (size_t i = 0; i < n; i++) {
        ingest_publish(F, &box, bad[i]);
        free(bad[i]);
    }
    ingest_wait_metric(F, "rejected", rejected + (double)n);
    assert_true(ingest_metric(F, "rejected") == rejected + (double)n);
    /* a blood-pressure monitor cannot send doses */
    struct ingest_device cuff = ingest_device_register(F, "bp-upper-arm", "上腕式血圧計");
    char *dose = str_printf("{\"t\":\"%s\",\"dose\":\"taken\"}", t);
    ingest_publish(F, &cuff, dose);
    free(dose);
    ingest_wait_metric(F, "rejected", rejected + (double)n + 1);
    /* the stream goes on: a good one (taken, long ago) is stored and evaluated */
    publish_dose(30 * DAY_S, "taken", ",\"med\":\"アムロジピン 5mg\"");
    wait_evaluated();
}

/* He names his wife in a consent for his alerts: she reads them, and the next alert (a new run
 * of missed doses) reaches her too; the proportion episode goes on without a new alert. */
static void a_carer_he_names_gets_the_next_alert(void **state)
{
    (void)state;
    char *rcp = str_printf("{\"kind\":\"person\",\"id\":\"%s\"}", hanako_id);
    free(grant("adherence", rcp, "[\"alerts\"]", "[\"read\"]"));
    free(rcp);
    struct resp r = alerts_as(t_hanako);
    assert_int_equal(count_rule(r.json, RULE_ROW), 1); /* the earlier alert, now open to her */
    resp_free(&r);
    char *q = str_printf("MedicationAdministration?subject=Patient/%s", F->taro_id);
    assert_true(sees_nothing(t_hanako, q)); /* still not his medicines */
    free(q);
    publish_dose(90, "taken", NULL);
    publish_dose(60, "missed", NULL);
    publish_dose(30, "missed", NULL);
    wait_evaluated();
    r = alerts_as(t_taro);
    assert_int_equal(count_rule(r.json, RULE_ROW), 2);
    assert_int_equal(count_rule(r.json, RULE_PCT), 1);
    json_t *c = newest_of(r.json, RULE_ROW);
    char *to = recipients_of(c);
    char *want = str_printf("Patient/%s Patient/%s Patient/%s", F->taro_id, misaki_id, hanako_id);
    assert_string_equal(to, want);
    free(to);
    free(want);
    resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(without_consent_nothing_is_read_or_written),
        cmocka_unit_test(a_week_with_misses_alerts_once_per_rule),
        cmocka_unit_test(doses_are_medication_administrations),
        cmocka_unit_test(only_those_he_allowed_see_the_alerts),
        cmocka_unit_test(the_inbox_shows_the_reason),
        cmocka_unit_test(malformed_doses_are_rejected_and_counted),
        cmocka_unit_test(a_carer_he_names_gets_the_next_alert),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
