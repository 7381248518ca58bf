/* test_triage.c - home triage through the real binary, against the demo town: the questionnaire
 * in Japanese and English (and as the shared FHIR resource); 会津 太郎 answers for his routine
 * follow-up (S1 step 3: green, his family doctor, online) and for chest pain with a cold sweat
 * (red: call 119); the result is stored as a QuestionnaireResponse in his record and on his
 * trail, and read again; bad answers are refused with their location and nothing is stored;
 * his wife (whose family link gives every right) may answer for him, his daughter (alerts and
 * bookings only) may not, an app with read-only scopes may not, a doctor may not; someone
 * else's answers are not found, and that attempt is on the owner's trail. */
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TARO_EMAIL    "taro.aizu@example.jp"
#define TARO_PASS     "Minato-Tsuru-7Kq3-Bx9w"
#define HANAKO_EMAIL  "hanako.aizu@example.jp"
#define HANAKO_PASS   "Hanako-Yuki-4Rm8-Zp2v"
#define MISAKI_EMAIL  "misaki.sato@example.jp"
#define MISAKI_PASS   "Misaki-Kaki-9Tn5-Hc3j"
#define DOCTOR_EMAIL  "dr.yamaguchi@minato-clinic.example.jp"
#define DOCTOR_PASS   "Clinic-Inawa-3Wf7-Ld8s"
#define APP_REDIRECT  "http://127.0.0.1:8765/callback"
#define PATIENT_SCOPE "openid launch/patient patient/*.cruds"
#define USER_SCOPE    "openid user/*.cruds"
#define QUESTIONNAIRE "/api/v1/triage/questionnaire"
#define ME_TRIAGE     "/api/v1/me/triage"
#define FHIR_HEADER   "Content-Type: application/fhir+json"

struct fixture {
    char *dir;
    struct server *s;
    char app[64], sample_app[64], taro[32], hanako[32];
    char *t_taro, *t_hanako, *t_hanako_for_taro, *t_misaki_for_taro, *t_doctor, *t_readonly;
};

static struct fixture *F;

static struct resp call_ct(const char *method, const char *path, const char *tok, const char *body,
                           const char *content_type)
{
    char *auth = tok != NULL ? str_printf("Authorization: Bearer %s", tok) : NULL;
    const char *h[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (auth != NULL)
        h[n++] = auth;
    if (body != NULL)
        h[n++] = content_type;
    struct resp r = api(F->s, method, path, h, body, body != NULL ? strlen(body) : 0);
    free(auth);
    return r;
}

static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    return call_ct(method, path, tok, body, FHIR_HEADER);
}

/* ---- answers ---- */

#define B(link, v) "{\"linkId\":\"" link "\",\"answer\":[{\"valueBoolean\":" #v "}]}"
#define C(link, code)                                                                              \
    "{\"linkId\":\"" link "\",\"answer\":[{\"valueCoding\":{\"code\":\"" code "\"}}]}"
#define GENERAL_BUT_PALE                                                                           \
    B("rf.unresponsive", false)                                                                    \
    "," B("rf.breathing", false) "," B("rf.stroke", false) "," B("rf.seizure", false) "," B(       \
        "rf.bleeding", false) ","                                                                  \
                              "{\"linkId\":\"age\",\"answer\":[{\"valueInteger\":70}]}," B(        \
                                  "risk.hypertension",                                             \
                                  true) "," B("risk.diabetes",                                     \
                                              false) "," B("risk.kidney",                          \
                                                           false) "," B("risk.smoking", false)
#define GENERAL GENERAL_BUT_PALE "," B("rf.pale", false)

static char *qr(const char *items)
{
    return str_printf("{\"resourceType\":\"QuestionnaireResponse\",\"questionnaire\":"
                      "\"urn:cityos:questionnaire:triage\",\"status\":\"completed\","
                      "\"item\":[%s]}",
                      items);
}

static char *routine(void)
{
    return qr(GENERAL "," C("purpose", "routine"));
}

/* How many QuestionnaireResponses 太郎's record holds (his own FHIR search). */
static long stored_count(void)
{
    char *q = str_printf("/fhir/QuestionnaireResponse?subject=Patient/%s&_total=accurate", F->taro);
    struct resp r = call("GET", q, F->t_taro, NULL);
    assert_status(&r, 200);
    long n = (long)json_integer_value(json_object_get(r.json, "total"));
    resp_free(&r);
    free(q);
    return n;
}

/* How many of the newest 100 entries of 太郎's trail have this action, type and decision (and,
 * with resource_id, that id). */
static size_t logged(const char *action, const char *decision, const char *resource_id)
{
    json_t *items = trail_items(F->s, F->t_taro, 100);
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        const char *a = trail_text(it, "what.action"), *t = trail_text(it, "what.resourceType"),
                   *d = trail_text(it, "decision"), *id = trail_text(it, "what.resourceId");
        n += a != NULL && t != NULL && d != NULL && strcmp(a, action) == 0 &&
             strcmp(t, "QuestionnaireResponse") == 0 && strcmp(d, decision) == 0 &&
             (resource_id == NULL || (id != NULL && strcmp(id, resource_id) == 0));
    }
    json_decref(items);
    return n;
}

static const json_t *reason_for(const json_t *result, const char *link)
{
    const json_t *reasons = json_object_get(result, "reasons");
    for (size_t i = 0; i < json_array_size(reasons); i++) {
        const char *l = json_str(json_array_get(reasons, i), "linkId");
        if (l != NULL && strcmp(l, link) == 0)
            return json_array_get(reasons, i);
    }
    return NULL;
}

/* ---- the questionnaire ---- */

static void the_questionnaire_in_japanese_and_english(void **state)
{
    (void)state;
    struct resp r = call("GET", QUESTIONNAIRE "?lang=ja", F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(resp_header(&r, "Content-Type"), "application/fhir+json");
    assert_string_equal(json_str(r.json, "resourceType"), "Questionnaire");
    assert_string_equal(json_str(r.json, "language"), "ja");
    assert_string_equal(json_str(r.json, "url"), "urn:cityos:questionnaire:triage");
    const json_t *first = json_array_get(json_object_get(r.json, "item"), 0);
    assert_string_equal(json_str(first, "linkId"), "rf.unresponsive");
    assert_non_null(strstr(json_str(first, "text"), "反応"));
    char *version = strdup(json_str(r.json, "version"));
    resp_free(&r);
    r = call("GET", QUESTIONNAIRE "?lang=en", F->t_taro, NULL);
    assert_status(&r, 200);
    first = json_array_get(json_object_get(r.json, "item"), 0);
    assert_non_null(strstr(json_str(first, "text"), "respond"));
    assert_string_equal(json_str(r.json, "version"), version);
    resp_free(&r);
    /* Japanese by default; a doctor may read it too */
    r = call("GET", QUESTIONNAIRE, F->t_doctor, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "language"), "ja");
    resp_free(&r);
    r = call("GET", QUESTIONNAIRE "?lang=fr", F->t_taro, NULL);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    r = call("GET", QUESTIONNAIRE "?lang=ja&x=1", F->t_taro, NULL);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    r = call("GET", QUESTIONNAIRE, NULL, NULL);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    /* the published FHIR resource: shared, Japanese with English translations */
    r = call("GET", "/fhir/Questionnaire/cityos-triage", F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "version"), version);
    first = json_array_get(json_object_get(r.json, "item"), 0);
    assert_non_null(json_object_get(first, "_text"));
    resp_free(&r);
    free(version);
}

/* ---- S1 step 3 ---- */

static void the_persona_s_routine_follow_up_is_green_and_online(void **state)
{
    (void)state;
    long before = stored_count();
    char *body = routine();
    struct resp r = call("POST", ME_TRIAGE, F->t_taro, body);
    free(body);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "level"), "green");
    assert_string_equal(json_str(r.json, "department"), "family-medicine");
    assert_true(json_is_true(json_object_get(r.json, "online_suitable")));
    assert_true(json_is_null(json_object_get(r.json, "within")));
    const json_t *rec = json_object_get(r.json, "recommendation");
    assert_string_equal(json_str(rec, "action"), "book");
    assert_string_equal(json_str(rec, "department"), "family-medicine");
    assert_string_equal(json_str(rec, "mode"), "online");
    const json_t *why = reason_for(r.json, "purpose");
    assert_non_null(why);
    assert_string_equal(json_str(why, "rule"), "ROUTINE");
    assert_string_equal(json_str(why, "answer"), "routine");
    assert_non_null(json_str(json_object_get(why, "text"), "ja"));
    assert_non_null(json_str(json_object_get(why, "text"), "en"));
    assert_int_equal(json_array_size(json_object_get(r.json, "reasons")), 1);
    char *id = strdup(json_str(r.json, "questionnaire_response"));
    char *path = str_printf(ME_TRIAGE "/%s", id);
    assert_string_equal(resp_header(&r, "Location"), path);
    json_t *first = json_incref(r.json);
    resp_free(&r);
    assert_int_equal(stored_count(), before + 1);
    assert_int_equal(logged("create", "permit", id), 1);

    /* read again: the same result */
    r = call("GET", path, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_true(json_equal(r.json, first));
    resp_free(&r);
    assert_int_equal(logged("read", "permit", id), 1);

    /* in his record: a QuestionnaireResponse about him with the result for the booking */
    char *fhir = str_printf("/fhir/QuestionnaireResponse/%s", id);
    r = call("GET", fhir, F->t_taro, NULL);
    assert_status(&r, 200);
    char *subject = str_printf("Patient/%s", F->taro);
    assert_string_equal(json_str(json_object_get(r.json, "subject"), "reference"), subject);
    assert_string_equal(json_str(r.json, "status"), "completed");
    const json_t *ext = json_array_get(json_object_get(r.json, "extension"), 0);
    assert_string_equal(json_str(ext, "url"), "urn:cityos:triage-result");
    resp_free(&r);
    free(subject);
    free(fhir);
    json_decref(first);
    free(path);
    free(id);
}

static void chest_pain_with_a_cold_sweat_is_red(void **state)
{
    (void)state;
    /* the general red flag and the chest-pain one: both named; sent as plain JSON */
    char *body = qr(GENERAL_BUT_PALE "," B("rf.pale", true) "," C("purpose", "symptom") "," C(
        "symptom", "chest") "," B("chest.sudden",
                                  false) "," B("chest.pressure",
                                               true) "," B("chest.breath_cough",
                                                           false) "," B("chest.fever",
                                                                        false) "," B("chest.local",
                                                                                     false));
    struct resp r = call_ct("POST", ME_TRIAGE, F->t_taro, body, JSON_HEADER);
    free(body);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "level"), "red");
    assert_string_equal(json_str(r.json, "department"), "emergency");
    assert_int_equal(json_integer_value(json_object_get(r.json, "within")), 0);
    assert_false(json_is_true(json_object_get(r.json, "online_suitable")));
    assert_string_equal(json_str(json_object_get(r.json, "recommendation"), "action"), "call-119");
    assert_string_equal(json_str(reason_for(r.json, "rf.pale"), "rule"), "RF-PALE");
    assert_string_equal(json_str(reason_for(r.json, "chest.pressure"), "rule"), "CHEST-PRESSURE");
    assert_null(reason_for(r.json, "risk.hypertension")); /* the yellow rule is not a reason */
    assert_non_null(strstr(json_str(json_object_get(r.json, "level_text"), "ja"), "119"));
    assert_non_null(strstr(json_str(json_object_get(r.json, "level_text"), "en"), "119"));
    resp_free(&r);
    /* chest pain alone, with his hypertension: yellow, cardiology, within about 2 hours */
    body = qr(GENERAL "," C("purpose", "symptom") "," C("symptom", "chest") "," B(
        "chest.sudden", false) "," B("chest.pressure",
                                     false) "," B("chest.breath_cough",
                                                  false) "," B("chest.fever",
                                                               false) "," B("chest.local", false));
    r = call("POST", ME_TRIAGE, F->t_taro, body);
    free(body);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "level"), "yellow");
    assert_string_equal(json_str(r.json, "department"), "cardiology");
    assert_int_equal(json_integer_value(json_object_get(r.json, "within")), 120);
    assert_string_equal(json_str(json_object_get(r.json, "recommendation"), "mode"), "in-person");
    assert_string_equal(json_str(reason_for(r.json, "age"), "rule"), "CHEST-AGE");
    assert_string_equal(json_str(reason_for(r.json, "risk.hypertension"), "rule"), "CHEST-RISK");
    resp_free(&r);
}

/* ---- bad input ---- */

static void refused_422(const char *body, const char *location)
{
    struct resp r = call("POST", ME_TRIAGE, F->t_taro, body);
    assert_problem(&r, 422, "validation-failed");
    const char *detail = json_str(r.json, "detail");
    if (detail == NULL || strncmp(detail, location, strlen(location)) != 0)
        fail_msg("detail \"%s\", want it to start with \"%s\"", detail ? detail : "", location);
    resp_free(&r);
}

static void bad_answers_are_refused_with_their_location_and_nothing_is_stored(void **state)
{
    (void)state;
    long before = stored_count();
    char *b;
    refused_422(b = qr(GENERAL "," C("purpose", "routine") "," B("rf.nothing", true)),
                "QuestionnaireResponse.item[12].linkId");
    free(b);
    refused_422(b = qr(GENERAL ",{\"linkId\":\"purpose\",\"answer\":[{\"valueBoolean\":true}]}"),
                "QuestionnaireResponse.item[11].answer[0].valueBoolean");
    free(b);
    refused_422(b = qr(GENERAL "," C("purpose", "holiday")),
                "QuestionnaireResponse.item[11].answer[0].valueCoding.code");
    free(b);
    refused_422(b = qr(GENERAL_BUT_PALE "," C("purpose", "routine")),
                "QuestionnaireResponse.item: rf.pale is required");
    free(b);
    refused_422(b = qr(GENERAL "," C("purpose", "routine") "," B("chest.sudden", false)),
                "QuestionnaireResponse.item[12]: chest.sudden is not asked");
    free(b);
    refused_422(b = qr(GENERAL "," C("purpose", "routine") "," B("rf.pale", true)),
                "QuestionnaireResponse.item[12].linkId");
    free(b);
    refused_422("{\"resourceType\":\"QuestionnaireResponse\",\"questionnaire\":\"urn:x\","
                "\"status\":\"completed\",\"item\":[" B("rf.pale", false) "]}",
                "QuestionnaireResponse.questionnaire");
    b = str_printf("{\"resourceType\":\"QuestionnaireResponse\",\"questionnaire\":"
                   "\"urn:cityos:questionnaire:triage\",\"status\":\"completed\",\"subject\":{"
                   "\"reference\":\"Patient/%s\"},\"item\":[" GENERAL
                   "," C("purpose", "routine") "]}",
                   F->hanako);
    refused_422(b, "QuestionnaireResponse.subject");
    free(b);
    refused_422("{\"resourceType\":\"Observation\"}", "QuestionnaireResponse.resourceType");
    /* not JSON, another media type, a query */
    struct resp r = call("POST", ME_TRIAGE, F->t_taro, "{\"resourceType\":");
    assert_problem(&r, 400, "malformed-json");
    resp_free(&r);
    b = routine();
    r = call_ct("POST", ME_TRIAGE, F->t_taro, b, "Content-Type: text/plain");
    assert_problem(&r, 415, "unsupported-media-type");
    resp_free(&r);
    r = call("POST", ME_TRIAGE "?lang=ja", F->t_taro, b);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    r = call("POST", ME_TRIAGE, NULL, b);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    free(b);
    assert_int_equal(stored_count(), before);
    assert_true(health_ok(F->s));
}

/* ---- whose answers ---- */

static char *taro_answers(void)
{
    char *b = routine();
    struct resp r = call("POST", ME_TRIAGE, F->t_taro, b);
    free(b);
    assert_status(&r, 201);
    char *id = strdup(json_str(r.json, "questionnaire_response"));
    resp_free(&r);
    return id;
}

static void someone_else_s_answers_are_not_found_and_the_attempt_is_recorded(void **state)
{
    (void)state;
    char *id = taro_answers();
    char *path = str_printf(ME_TRIAGE "/%s", id);
    size_t denied = logged("read", "deny", id);
    struct resp r = call("GET", path, F->t_hanako, NULL); /* his wife, as herself */
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    assert_int_equal(logged("read", "deny", id), denied + 1);
    json_t *items = trail_items(F->s, F->t_taro, 20);
    int named = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        const char *rid = trail_text(it, "what.resourceId"), *d = trail_text(it, "decision");
        if (rid != NULL && strcmp(rid, id) == 0 && d != NULL && strcmp(d, "deny") == 0)
            named = trail_text(it, "who.kind") != NULL;
    }
    json_decref(items);
    assert_true(named);
    /* ids that do not exist, or are not ids */
    r = call("GET", ME_TRIAGE "/01JDNOSUCHID0000000000000A", F->t_taro, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = call("GET", ME_TRIAGE "/not%20an%20id", F->t_taro, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    /* another kind of QuestionnaireResponse of his own is not a triage */
    char *other = str_printf("{\"resourceType\":\"QuestionnaireResponse\",\"status\":"
                             "\"completed\",\"subject\":{\"reference\":\"Patient/%s\"}}",
                             F->taro);
    r = call("POST", "/fhir/QuestionnaireResponse", F->t_taro, other);
    assert_status(&r, 201);
    char *opath = str_printf(ME_TRIAGE "/%s", json_str(r.json, "id"));
    resp_free(&r);
    r = call("GET", opath, F->t_taro, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(opath);
    free(other);
    free(path);
    free(id);
}

static void delegates_answer_only_with_the_right(void **state)
{
    (void)state;
    long before = stored_count();
    size_t denied = logged("create", "deny", NULL);
    char *b = routine();
    /* his daughter: alerts and bookings only */
    struct resp r = call("POST", ME_TRIAGE, F->t_misaki_for_taro, b);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_int_equal(logged("create", "deny", NULL), denied + 1);
    assert_int_equal(stored_count(), before);
    /* his wife, whose link gives every right: stored in his record, and she reads it again */
    r = call("POST", ME_TRIAGE, F->t_hanako_for_taro, b);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "level"), "green");
    char *path = str_printf(ME_TRIAGE "/%s", json_str(r.json, "questionnaire_response"));
    resp_free(&r);
    assert_int_equal(stored_count(), before + 1);
    r = call("GET", path, F->t_hanako_for_taro, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    r = call("GET", path, F->t_taro, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    /* the daughter cannot read it (her link gives no read of the clinical record) */
    r = call("GET", path, F->t_misaki_for_taro, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    free(path);
    /* an app he allowed to read only; a doctor */
    r = call("POST", ME_TRIAGE, F->t_readonly, b);
    assert_problem(&r, 403, "forbidden");
    assert_non_null(strstr(resp_header(&r, "WWW-Authenticate"), "insufficient_scope"));
    resp_free(&r);
    r = call("POST", ME_TRIAGE, F->t_doctor, b);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    free(b);
    assert_int_equal(stored_count(), before + 1);
}

static void the_metrics_count_results_by_level(void **state)
{
    (void)state;
    struct resp r = api_get(F->s, "/metrics");
    assert_status(&r, 200);
    assert_true(metric_value(r.body, "cityos_triage_results_total{level=\"green\"}") >= 1);
    assert_true(metric_value(r.body, "cityos_triage_results_total{level=\"red\"}") >= 1);
    assert_true(metric_value(r.body, "cityos_triage_refused_total") >= 1);
    resp_free(&r);
}

/* ---- set-up ---- */

static char *token(const char *client, const char *email, const char *pass, const char *act_as,
                   const char *scope)
{
    return oidc_token(F->s, client, APP_REDIRECT, email, pass, act_as, scope);
}

static void subject_of(const char *tok, char *out, size_t cap)
{
    struct resp r = call("GET", "/api/v1/me/consents", tok, NULL);
    assert_status(&r, 200);
    snprintf(out, cap, "%s", json_str(r.json, "subject"));
    resp_free(&r);
}

static int group_setup(void **state)
{
    (void)state;
    F = calloc(1, sizeof *F);
    F->dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=10 --seed=1 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), F->dir);
    char *out = run_command(cmd);
    demo_client_id(out, "sample app", F->sample_app, sizeof F->sample_app);
    free(out);
    free(cmd);
    F->s = server_start_with(&(struct server_config){.data_dir = F->dir});
    /* an app that writes the citizen's record, registered by the city */
    const char *client = "{\"name\":\"triage test app\",\"kind\":\"public\",\"scopes\":"
                         "\"openid launch/patient patient/*.cruds user/*.cruds\","
                         "\"grant_types\":[\"authorization_code\"],"
                         "\"redirect_uris\":[\"" APP_REDIRECT "\"]}";
    struct resp r = api(F->s, "POST", "/api/v1/admin/clients", LIST(AUTH_HEADER, JSON_HEADER),
                        client, strlen(client));
    assert_status(&r, 201);
    snprintf(F->app, sizeof F->app, "%s", json_str(r.json, "client_id"));
    resp_free(&r);
    F->t_taro = token(F->app, TARO_EMAIL, TARO_PASS, "self", PATIENT_SCOPE);
    F->t_hanako = token(F->app, HANAKO_EMAIL, HANAKO_PASS, "self", PATIENT_SCOPE);
    F->t_misaki_for_taro = token(F->app, MISAKI_EMAIL, MISAKI_PASS, "for:", PATIENT_SCOPE);
    F->t_doctor = token(F->app, DOCTOR_EMAIL, DOCTOR_PASS, "role:", USER_SCOPE);
    F->t_readonly =
        token(F->sample_app, TARO_EMAIL, TARO_PASS, "self", "openid launch/patient patient/*.rs");
    subject_of(F->t_taro, F->taro, sizeof F->taro);
    subject_of(F->t_hanako, F->hanako, sizeof F->hanako);
    /* 太郎's wife may do everything for him (the administration adds the link) */
    char *path = str_printf("/api/v1/admin/people/%s/links", F->taro);
    char *body = str_printf("{\"delegate_id\":\"%s\",\"rights\":[\"everything\"]}", F->hanako);
    r = api(F->s, "POST", path, LIST(AUTH_HEADER, JSON_HEADER), body, strlen(body));
    assert_status(&r, 201);
    resp_free(&r);
    free(path);
    free(body);
    F->t_hanako_for_taro = token(F->app, HANAKO_EMAIL, HANAKO_PASS, "for:", PATIENT_SCOPE);
    sleep_ms(1500); /* the consent index learns the new link within a second */
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_free(F->s);
    remove_tree(F->dir);
    free(F->dir);
    free(F->t_taro);
    free(F->t_hanako);
    free(F->t_hanako_for_taro);
    free(F->t_misaki_for_taro);
    free(F->t_doctor);
    free(F->t_readonly);
    free(F);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_questionnaire_in_japanese_and_english),
        cmocka_unit_test(the_persona_s_routine_follow_up_is_green_and_online),
        cmocka_unit_test(chest_pain_with_a_cold_sweat_is_red),
        cmocka_unit_test(bad_answers_are_refused_with_their_location_and_nothing_is_stored),
        cmocka_unit_test(someone_else_s_answers_are_not_found_and_the_attempt_is_recorded),
        cmocka_unit_test(delegates_answer_only_with_the_right),
        cmocka_unit_test(the_metrics_count_results_by_level),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
