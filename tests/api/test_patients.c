/* test_patients.c - GET /api/v1/org/patients (issue 8: the doctor's "patients who consented";
 * docs/api.md "Patients who consented") with the real binary and the demo town:
 * - the family doctor's list names 会津 太郎 through his broad home-doctor opt-in (the purpose
 *   names the clinic), with the consent, its purpose, categories, actions and period, and no name
 *   (contact is not consented); each listing leaves one entry per consent on his trail;
 * - he withdraws those consents: the very next listing leaves him out and records nothing of his;
 * - he consents to the clinic itself for vitals and contact: listed again, with his name, the
 *   name's read on his trail; the hospital's doctor, whom that consent does not name, does not
 *   see him and leaves nothing on his trail;
 * - paging: two consenting citizens, _count=1, the cursor, the end;
 * - refusals (no token, a citizen's, a delegate's, the operator's, a token without the scope,
 *   bad _count / cursor / parameters) are 4xx problems and record nothing. */
#include "oidc_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consent_support.h"

#define APP_REDIRECT  "http://127.0.0.1:8765/callback"
#define PATIENT_SCOPE "openid launch/patient patient/*.cruds patient/Consent.cu"
#define USER_SCOPE    "openid user/*.cruds"
#define TARO_EMAIL    "taro.aizu@example.jp"
#define TARO_PASS     "Minato-Tsuru-7Kq3-Bx9w"
#define HANAKO_EMAIL  "hanako.aizu@example.jp"
#define HANAKO_PASS   "Hanako-Yuki-4Rm8-Zp2v"
#define MISAKI_EMAIL  "misaki.sato@example.jp"
#define MISAKI_PASS   "Misaki-Kaki-9Tn5-Hc3j"
#define DOCTOR_EMAIL  "dr.yamaguchi@minato-clinic.example.jp"
#define DOCTOR_PASS   "Clinic-Inawa-3Wf7-Ld8s"
#define CARDIO_EMAIL  "dr.watanabe@tsurugajo-hospital.example.jp"
#define CARDIO_PASS   "Cardio-Bandai-6Jx2-Qe5n"
#define PATIENTS      "/api/v1/org/patients"
#define CONSENTS      "/api/v1/me/consents"

static struct server *S;
static char *dir;
static char app[64], taro[64], hanako[64], doctor[64], cardio[64], clinic[64], hospital[64];
static char *t_taro, *t_hanako, *t_misaki, *t_doctor, *t_cardio, *t_narrow;

static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    char *auth = tok != NULL ? str_printf("Authorization: Bearer %s", tok) : NULL;
    struct resp r;
    if (auth == NULL)
        r = api(S, method, path, NULL, NULL, 0);
    else if (body != NULL)
        r = api(S, method, path, LIST(auth, JSON_HEADER), body, strlen(body));
    else
        r = api(S, method, path, LIST(auth), NULL, 0);
    free(auth);
    return r;
}

/* A COUNT(*) over the data folder's database (printf-style SQL). */
#define db_count(...) harness_db_intf(dir, __VA_ARGS__)

/* Entries the listing left on subject's trail by actor (action "list"). */
static long listed_entries(const char *subject, const char *actor)
{
    return db_count("SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND actor_id = '%s' "
                    "AND action = 'list'",
                    subject, actor);
}

static long trail_length(const char *subject)
{
    return db_count("SELECT COUNT(*) FROM audit_entry WHERE subject = '%s'", subject);
}

static void sub_of(const char *tok, char *out, size_t cap)
{
    struct resp r = call("GET", "/oauth/userinfo", tok, NULL);
    assert_status(&r, 200);
    snprintf(out, cap, "%s", json_str(r.json, "sub"));
    resp_free(&r);
}

/* The item of patient in a list answer (borrowed), or NULL. */
static json_t *item_of(const struct resp *r, const char *patient)
{
    json_t *items = json_object_get(r->json, "items");
    for (size_t i = 0; i < json_array_size(items); i++)
        if (strcmp(json_str(json_array_get(items, i), "patient"), patient) == 0)
            return json_array_get(items, i);
    return NULL;
}

static void org_of(const char *tok, char *out, size_t cap)
{
    struct resp r = call("GET", PATIENTS, tok, NULL);
    assert_status(&r, 200);
    snprintf(out, cap, "%s", json_str(r.json, "organization"));
    resp_free(&r);
}

static int group_setup(void **state)
{
    (void)state;
    dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=10 --seed=1 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), dir);
    free(run_command(cmd));
    free(cmd);
    S = server_start_with(&(struct server_config){.data_dir = dir});
    const char *client = "{\"name\":\"patients test app\",\"kind\":\"public\",\"scopes\":"
                         "\"" PATIENT_SCOPE " user/*.cruds user/Observation.rs\","
                         "\"grant_types\":[\"authorization_code\"],"
                         "\"redirect_uris\":[\"" APP_REDIRECT "\"]}";
    struct resp r = api(S, "POST", "/api/v1/admin/clients", LIST(AUTH_HEADER, JSON_HEADER), client,
                        strlen(client));
    assert_status(&r, 201);
    snprintf(app, sizeof app, "%s", json_str(r.json, "client_id"));
    resp_free(&r);
    t_taro = oidc_token(S, app, APP_REDIRECT, TARO_EMAIL, TARO_PASS, "self", PATIENT_SCOPE);
    t_hanako = oidc_token(S, app, APP_REDIRECT, HANAKO_EMAIL, HANAKO_PASS, "self", PATIENT_SCOPE);
    t_misaki = oidc_token(S, app, APP_REDIRECT, MISAKI_EMAIL, MISAKI_PASS, "for:", PATIENT_SCOPE);
    t_doctor = oidc_token(S, app, APP_REDIRECT, DOCTOR_EMAIL, DOCTOR_PASS, "role:", USER_SCOPE);
    t_cardio = oidc_token(S, app, APP_REDIRECT, CARDIO_EMAIL, CARDIO_PASS, "role:", USER_SCOPE);
    t_narrow = oidc_token(S, app, APP_REDIRECT, DOCTOR_EMAIL, DOCTOR_PASS,
                          "role:", "openid user/Observation.rs");
    sub_of(t_taro, taro, sizeof taro);
    sub_of(t_hanako, hanako, sizeof hanako);
    sub_of(t_doctor, doctor, sizeof doctor);
    sub_of(t_cardio, cardio, sizeof cardio);
    org_of(t_doctor, clinic, sizeof clinic);
    org_of(t_cardio, hospital, sizeof hospital);
    assert_string_not_equal(clinic, hospital);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_free(S);
    remove_tree(dir);
    free(dir);
    free(t_taro);
    free(t_hanako);
    free(t_misaki);
    free(t_doctor);
    free(t_cardio);
    free(t_narrow);
    return 0;
}

/* The current explanation hash of purpose code (malloc'ed). */
static char *hash_of(const char *code)
{
    struct resp r = call("GET", "/api/v1/purposes", NULL, NULL);
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, "purposes");
    char *h = NULL;
    for (size_t i = 0; i < json_array_size(list) && h == NULL; i++)
        if (strcmp(json_str(json_array_get(list, i), "code"), code) == 0)
            h = strdup(json_str(json_array_get(list, i), "explanation_hash"));
    resp_free(&r);
    assert_non_null(h);
    return h;
}

/* Withdraws every active consent of tok's citizen. */
static void withdraw_all(const char *tok)
{
    struct resp r = call("GET", CONSENTS, tok, NULL);
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, "consents");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *c = json_array_get(list, i);
        if (strcmp(json_str(c, "status"), "active") != 0)
            continue;
        char *h = hash_of(json_str(json_object_get(c, "purpose"), "code"));
        char *ev = consent_evidence(h), *body = str_printf("{\"evidence\":%s}", ev);
        char *path = str_printf(CONSENTS "/%s/withdraw", json_str(c, "id"));
        struct resp w = call("POST", path, tok, body);
        assert_status(&w, 200);
        resp_free(&w);
        free(path);
        free(body);
        free(ev);
        free(h);
    }
    resp_free(&r);
}

/* Publishes "clinic-care" (vitals and contact, recipient: the clinic) once. */
static void publish_clinic_care(void)
{
    static int done;
    if (done++)
        return;
    char *pb = str_printf(
        "{\"code\":\"clinic-care\",\"title\":{\"ja\":\"かかりつけ医\",\"en\":\"Family "
        "doctor\"},\"explanation\":{\"ja\":\"かかりつけのクリニックが血圧と連絡先を見ます。\","
        "\"en\":\"Your family clinic sees your blood pressure and your contact details.\"},"
        "\"categories\":[\"vitals\",\"contact\"],\"recipients\":[\"%s\"],"
        "\"legal_basis\":\"consent\",\"retention_days\":365}",
        clinic);
    struct resp r =
        api(S, "POST", "/api/v1/admin/purposes", LIST(AUTH_HEADER, JSON_HEADER), pb, strlen(pb));
    assert_status(&r, 201);
    resp_free(&r);
    free(pb);
}

/* tok's citizen consents to the clinic itself (recipient organisation) under clinic-care;
 * returns the consent id (malloc'ed). */
static char *consent_to_clinic(const char *tok)
{
    publish_clinic_care();
    char *h = hash_of("clinic-care"), *ev = consent_evidence(h);
    char *gb = str_printf("{\"purpose\":{\"code\":\"clinic-care\",\"version\":1},\"recipient\":{"
                          "\"kind\":\"organisation\",\"id\":\"%s\"},\"categories\":[\"vitals\","
                          "\"contact\"],\"actions\":[\"read\"],\"evidence\":%s}",
                          clinic, ev);
    struct resp r = call("POST", CONSENTS, tok, gb);
    assert_status(&r, 201);
    char *id = strdup(json_str(r.json, "id"));
    resp_free(&r);
    free(gb);
    free(ev);
    free(h);
    return id;
}

/* ---- the tests ---- */

static void the_doctor_lists_taro_and_it_is_recorded(void **state)
{
    (void)state;
    long before = listed_entries(taro, doctor);
    struct resp r = call("GET", PATIENTS, t_doctor, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "organization"), clinic);
    assert_non_null(strstr(resp_header(&r, "Cache-Control"), "no-store"));
    json_t *it = item_of(&r, taro);
    assert_non_null(it);
    /* the clinic does not see his contact data under the home-doctor purpose: no name */
    assert_null(json_object_get(it, "name"));
    json_t *consents = json_object_get(it, "consents");
    assert_true(json_array_size(consents) >= 1);
    int homedoctor = 0;
    for (size_t i = 0; i < json_array_size(consents); i++) {
        json_t *c = json_array_get(consents, i);
        json_t *p = json_object_get(c, "purpose");
        if (strcmp(json_str(p, "code"), "homedoctor") != 0)
            continue;
        homedoctor = 1;
        assert_string_equal(json_str(json_object_get(c, "recipient"), "kind"), "purpose");
        assert_string_equal(json_string_value(json_array_get(json_object_get(c, "categories"), 0)),
                            "vitals");
        assert_string_equal(json_string_value(json_array_get(json_object_get(c, "actions"), 0)),
                            "read");
        assert_true(json_is_null(json_object_get(c, "valid_until")));
        /* on his trail: who, which organisation, the purpose, the consent, what */
        /* (setup's first listing, which found the organisation's id, is there too) */
        assert_int_equal(db_count("SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND "
                                  "actor_id = '%s' AND actor_org = '%s' AND action = 'list' AND "
                                  "decision = 'permit' AND resource_type = 'Consent' AND "
                                  "resource_id = '%s' AND decided_by = '%s' AND purpose LIKE "
                                  "'homedoctor@%%' AND reason = 'listed as a patient'",
                                  taro, doctor, clinic, json_str(c, "id"), json_str(c, "id")),
                         2);
    }
    assert_true(homedoctor);
    size_t listed = json_array_size(consents);
    resp_free(&r);
    assert_int_equal(listed_entries(taro, doctor), before + (long)listed);
    /* every listing is recorded again */
    r = call("GET", PATIENTS "?_count=50", t_doctor, NULL);
    assert_status(&r, 200);
    assert_non_null(item_of(&r, taro));
    resp_free(&r);
    assert_int_equal(listed_entries(taro, doctor), before + 2 * (long)listed);
    /* his own access log shows it, with the reason */
    r = call("GET", "/api/v1/me/access-log?limit=20", t_taro, NULL);
    assert_status(&r, 200);
    assert_non_null(strstr(r.body, "listed as a patient"));
    resp_free(&r);
}

static void withdrawal_drops_him_then_a_clinic_consent_names_him(void **state)
{
    (void)state;
    withdraw_all(t_taro);
    long before = trail_length(taro);
    struct resp r = call("GET", PATIENTS, t_doctor, NULL);
    assert_status(&r, 200);
    assert_null(item_of(&r, taro));
    resp_free(&r);
    r = call("GET", PATIENTS, t_cardio, NULL);
    assert_status(&r, 200);
    assert_null(item_of(&r, taro));
    resp_free(&r);
    assert_int_equal(trail_length(taro), before);

    /* a consent to the clinic itself, vitals and contact: listed with his name */
    char *id = consent_to_clinic(t_taro);
    long cardio_before = db_count("SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND "
                                  "actor_id = '%s'",
                                  taro, cardio);
    r = call("GET", PATIENTS, t_doctor, NULL);
    assert_status(&r, 200);
    json_t *it = item_of(&r, taro);
    assert_non_null(it);
    json_t *c = json_array_get(json_object_get(it, "consents"), 0);
    assert_string_equal(json_str(c, "id"), id);
    assert_string_equal(json_str(json_object_get(c, "recipient"), "kind"), "organisation");
    assert_string_equal(json_str(json_object_get(c, "recipient"), "id"), clinic);
    assert_int_equal(json_array_size(json_object_get(c, "categories")), 2);
    assert_string_equal(json_str(json_object_get(it, "name"), "kanji"), "会津 太郎");
    resp_free(&r);
    assert_int_equal(db_count("SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND "
                              "actor_id = '%s' AND action = 'read' AND resource_type = 'Patient' "
                              "AND category = 'contact' AND decided_by = '%s'",
                              taro, doctor, id),
                     1);
    /* the hospital's doctor: not named by that consent, not listed, nothing recorded */
    r = call("GET", PATIENTS, t_cardio, NULL);
    assert_status(&r, 200);
    assert_null(item_of(&r, taro));
    resp_free(&r);
    assert_int_equal(db_count("SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND "
                              "actor_id = '%s'",
                              taro, cardio),
                     cardio_before);
    free(id);
}

static void pages_follow_the_cursor(void **state)
{
    (void)state;
    char *h1 = consent_to_clinic(t_hanako);
    /* every citizen the clinic may list, one per page */
    struct resp r = call("GET", PATIENTS "?_count=50", t_doctor, NULL);
    assert_status(&r, 200);
    size_t all = json_array_size(json_object_get(r.json, "items"));
    assert_null(json_object_get(r.json, "next"));
    assert_non_null(item_of(&r, taro));
    assert_non_null(item_of(&r, hanako));
    resp_free(&r);
    assert_true(all >= 2);
    char *cursor = NULL;
    size_t seen = 0;
    int taro_seen = 0, hanako_seen = 0;
    for (size_t page = 0; page <= all; page++) {
        char *path = cursor != NULL ? str_printf(PATIENTS "?_count=1&cursor=%s", cursor)
                                    : strdup(PATIENTS "?_count=1");
        r = call("GET", path, t_doctor, NULL);
        free(path);
        assert_status(&r, 200);
        json_t *items = json_object_get(r.json, "items");
        assert_true(json_array_size(items) <= 1);
        seen += json_array_size(items);
        taro_seen += item_of(&r, taro) != NULL;
        hanako_seen += item_of(&r, hanako) != NULL;
        free(cursor);
        cursor = json_object_get(r.json, "next") != NULL ? strdup(json_str(r.json, "next")) : NULL;
        resp_free(&r);
        if (cursor == NULL)
            break;
    }
    assert_null(cursor);
    assert_int_equal(seen, all);
    assert_int_equal(taro_seen, 1);
    assert_int_equal(hanako_seen, 1);
    free(h1);
}

static void refusals_record_nothing(void **state)
{
    (void)state;
    long before = trail_length(taro), hb = trail_length(hanako);
    struct resp r = call("GET", PATIENTS, NULL, NULL);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    r = call("GET", PATIENTS, "not-a-token", NULL);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    const char *const forbidden[] = {t_taro, t_misaki, ADMIN_TOKEN};
    for (size_t i = 0; i < 3; i++) {
        r = call("GET", PATIENTS, forbidden[i], NULL);
        assert_problem(&r, 403, "forbidden");
        resp_free(&r);
    }
    r = call("GET", PATIENTS, t_narrow, NULL);
    assert_problem(&r, 403, "forbidden");
    assert_non_null(strstr(resp_header(&r, "WWW-Authenticate"), "insufficient_scope"));
    resp_free(&r);
    static const char *const bad[] = {
        "?_count=0",    "?_count=51",
        "?_count=abc",  "?_count=-1",
        "?_count=",     "?_count=1e1",
        "?_count=0001", "?_count=1&_count=2",
        "?cursor=",     "?cursor=nope",
        "?cursor=%00",  "?cursor=../../x",
        "?patient=x",   "?cursor=01ARZ3NDEKTSV4RRFFQ69G5FAVX",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *path = str_printf(PATIENTS "%s", bad[i]);
        r = call("GET", path, t_doctor, NULL);
        if (r.status != 400)
            fail_msg("%s: %ld", bad[i], r.status);
        assert_problem(&r, 400, "invalid-parameter");
        resp_free(&r);
        free(path);
    }
    r = call("POST", PATIENTS, t_doctor, "{}");
    assert_int_equal(r.status, 405);
    resp_free(&r);
    assert_int_equal(trail_length(taro), before);
    assert_int_equal(trail_length(hanako), hb);
}

static void recipient_names_are_public(void **state)
{
    (void)state;
    /* the clinic, the hospital, this test's client, an id naming nothing (left out), a repeat */
    char *path = str_printf("/api/v1/recipient-names?ids=%s,%s,%s,01arz3ndektsv4rrffq69g5fav,%s",
                            clinic, hospital, app, clinic);
    struct resp r = call("GET", path, NULL, NULL);
    free(path);
    assert_status(&r, 200);
    json_t *names = json_object_get(r.json, "names");
    assert_int_equal(json_array_size(names), 3);
    assert_string_equal(json_str(json_array_get(names, 0), "id"), clinic);
    assert_string_equal(json_str(json_array_get(names, 0), "kind"), "organisation");
    assert_string_equal(json_str(json_array_get(names, 0), "org_kind"), "clinic");
    assert_true(strlen(json_str(json_object_get(json_array_get(names, 0), "name"), "ja")) > 0);
    assert_string_equal(json_str(json_array_get(names, 1), "org_kind"), "hospital");
    assert_string_equal(json_str(json_array_get(names, 2), "kind"), "service");
    assert_string_equal(json_str(json_object_get(json_array_get(names, 2), "name"), "en"),
                        "patients test app");
    resp_free(&r);
    static const char *const bad[] = {"",         "?ids=",    "?ids=x",      "?ids=,",
                                      "?ids=%00", "?other=1", "?ids=a&ids=b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        path = str_printf("/api/v1/recipient-names%s", bad[i]);
        r = call("GET", path, NULL, NULL);
        assert_problem(&r, 400, "invalid-parameter");
        resp_free(&r);
        free(path);
    }
    /* at most 100 ids */
    char *many = strdup("/api/v1/recipient-names?ids=");
    for (int i = 0; i < 101; i++) {
        char *next = str_printf("%s%s%s", many, i ? "," : "", clinic);
        free(many);
        many = next;
    }
    r = call("GET", many, NULL, NULL);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_doctor_lists_taro_and_it_is_recorded),
        cmocka_unit_test(withdrawal_drops_him_then_a_clinic_consent_names_him),
        cmocka_unit_test(pages_follow_the_cursor),
        cmocka_unit_test(refusals_record_nothing),
        cmocka_unit_test(recipient_names_are_public),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
