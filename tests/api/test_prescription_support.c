/* test_prescription_support.c - the shared set-up of the e-prescription and taxi API tests
 * (test_prescription_support.h). */
#include "test_prescription_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consent_support.h"
#include "oidc_flow.h"

#define TARO_EMAIL    "taro.aizu@example.jp"
#define TARO_PASS     "Minato-Tsuru-7Kq3-Bx9w"
#define HANAKO_EMAIL  "hanako.aizu@example.jp"
#define HANAKO_PASS   "Hanako-Yuki-4Rm8-Zp2v"
#define DOCTOR_EMAIL  "dr.yamaguchi@minato-clinic.example.jp"
#define DOCTOR_PASS   "Clinic-Inawa-3Wf7-Ld8s"
#define CARDIO_EMAIL  "dr.watanabe@tsurugajo-hospital.example.jp"
#define CARDIO_PASS   "Cardio-Bandai-6Jx2-Qe5n"
#define PHARM_EMAIL   "hoshi@minato-pharmacy.example.jp"
#define PHARM_PASS    "Pharma-Sazae-8Gv4-Ky7r"
#define TAXI_EMAIL    "dispatch@aizu-taxi.example.jp"
#define TAXI_PASS     "Taxi-Akabe-5Np9-Ws4t"
#define OTHER_PASS    "Other-Org-3Kp8-Vb5m"
#define APP_REDIRECT  "http://127.0.0.1:8765/callback"
#define PATIENT_SCOPE "openid launch/patient patient/*.cruds"
#define USER_SCOPE    "openid user/*.cruds"

struct resp rx_call(struct rx_fixture *f, const char *method, const char *path, const char *tok,
                    const char *body)
{
    char *auth = tok != NULL ? str_printf("Authorization: Bearer %s", tok) : NULL;
    const char *h[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (auth != NULL)
        h[n++] = auth;
    if (body != NULL)
        h[n++] = JSON_HEADER;
    struct resp r = api(f->s, method, path, h, body, body != NULL ? strlen(body) : 0);
    free(auth);
    return r;
}

static void subject_of(struct rx_fixture *f, const char *tok, char *out)
{
    struct resp r = rx_call(f, "GET", "/api/v1/me/consents", tok, NULL);
    assert_status(&r, 200);
    snprintf(out, 32, "%s", json_str(r.json, "subject"));
    resp_free(&r);
}

static void first_id(struct rx_fixture *f, const char *path, const char *member, char *out)
{
    struct resp r = rx_call(f, "GET", path, NULL, NULL);
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, member);
    assert_true(json_array_size(list) >= 1);
    snprintf(out, 32, "%s", json_str(json_array_get(list, 0), "id"));
    resp_free(&r);
}

/* The clinic (a recipient of both homedoctor and cardio) and the hospital (cardio's other). */
static int has(json_t *arr, const char *id)
{
    for (size_t k = 0; k < json_array_size(arr); k++)
        if (strcmp(json_string_value(json_array_get(arr, k)), id) == 0)
            return 1;
    return 0;
}

/* The clinic (a recipient of both demo purposes) and the hospital (of "cardio" only); the AI
 * home doctor's client, a recipient of both too (service, the id the demo printed), is neither. */
static void clinic_and_hospital(struct rx_fixture *f, const char *service)
{
    struct resp r = api_get(f->s, "/api/v1/purposes");
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, "purposes"), *home = NULL, *cardio = NULL;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *p = json_array_get(list, i);
        if (strcmp(json_str(p, "code"), "homedoctor") == 0)
            home = json_object_get(p, "recipients");
        if (strcmp(json_str(p, "code"), "cardio") == 0)
            cardio = json_object_get(p, "recipients");
    }
    for (size_t k = 0; k < json_array_size(cardio); k++) {
        const char *id = json_string_value(json_array_get(cardio, k));
        if (id == NULL || strcmp(id, service) == 0)
            continue;
        if (has(home, id))
            snprintf(f->clinic, sizeof f->clinic, "%s", id);
        else
            snprintf(f->hospital, sizeof f->hospital, "%s", id);
    }
    resp_free(&r);
    assert_true(f->clinic[0] != '\0' && f->hospital[0] != '\0');
}

struct rx_fixture *rx_fixture_start(const char *const *extra_args)
{
    struct rx_fixture *f = calloc(1, sizeof *f);
    f->dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=10 --seed=1 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), f->dir);
    char *out = run_command(cmd);
    free(cmd);
    char service[64];
    text_value(strstr(out, "AI home doctor client_id=") != NULL
                   ? strstr(out, "AI home doctor client_id=") + strlen("AI home doctor ")
                   : out,
               "client_id", service, sizeof service);
    free(out);
    f->s = server_start_with(&(struct server_config){.data_dir = f->dir, .args = extra_args});
    const char *client = "{\"name\":\"rx test app\",\"kind\":\"public\",\"scopes\":"
                         "\"" PATIENT_SCOPE " " USER_SCOPE "\","
                         "\"grant_types\":[\"authorization_code\"],"
                         "\"redirect_uris\":[\"" APP_REDIRECT "\"]}";
    struct resp r = api(f->s, "POST", "/api/v1/admin/clients", LIST(AUTH_HEADER, JSON_HEADER),
                        client, strlen(client));
    assert_status(&r, 201);
    snprintf(f->app, sizeof f->app, "%s", json_str(r.json, "client_id"));
    resp_free(&r);
    f->t_taro =
        oidc_token(f->s, f->app, APP_REDIRECT, TARO_EMAIL, TARO_PASS, "self", PATIENT_SCOPE);
    f->t_hanako =
        oidc_token(f->s, f->app, APP_REDIRECT, HANAKO_EMAIL, HANAKO_PASS, "self", PATIENT_SCOPE);
    f->t_doctor =
        oidc_token(f->s, f->app, APP_REDIRECT, DOCTOR_EMAIL, DOCTOR_PASS, "role:", USER_SCOPE);
    f->t_cardio =
        oidc_token(f->s, f->app, APP_REDIRECT, CARDIO_EMAIL, CARDIO_PASS, "role:", USER_SCOPE);
    f->t_pharmacist =
        oidc_token(f->s, f->app, APP_REDIRECT, PHARM_EMAIL, PHARM_PASS, "role:", USER_SCOPE);
    f->t_dispatcher =
        oidc_token(f->s, f->app, APP_REDIRECT, TAXI_EMAIL, TAXI_PASS, "role:", USER_SCOPE);
    subject_of(f, f->t_taro, f->taro);
    subject_of(f, f->t_hanako, f->hanako);
    first_id(f, "/api/v1/pharmacies", "pharmacies", f->pharmacy);
    first_id(f, "/api/v1/taxi-companies", "companies", f->taxi);
    clinic_and_hospital(f, service);
    return f;
}

void rx_fixture_stop(struct rx_fixture *f)
{
    if (f == NULL)
        return;
    server_free(f->s);
    remove_tree(f->dir);
    free(f->dir);
    free(f->t_taro);
    free(f->t_hanako);
    free(f->t_doctor);
    free(f->t_cardio);
    free(f->t_pharmacist);
    free(f->t_dispatcher);
    free(f);
}

long rx_publish(struct rx_fixture *f, const char *code, const char *cats, const char *recipients,
                char *hash)
{
    char *pb = str_printf("{\"code\":\"%s\",\"title\":{\"ja\":\"%s のテスト\",\"en\":\"%s test\"},"
                          "\"explanation\":{\"ja\":\"テストの説明です。\",\"en\":\"A test "
                          "explanation.\"},\"categories\":%s,\"recipients\":%s,"
                          "\"legal_basis\":\"consent\",\"retention_days\":365}",
                          code, code, code, cats, recipients);
    struct resp r =
        api(f->s, "POST", "/api/v1/admin/purposes", LIST(AUTH_HEADER, JSON_HEADER), pb, strlen(pb));
    assert_status(&r, 201);
    snprintf(hash, 65, "%s", json_str(r.json, "explanation_hash"));
    long v = (long)json_integer_value(json_object_get(r.json, "version"));
    resp_free(&r);
    free(pb);
    return v;
}

void rx_grant(struct rx_fixture *f, const char *tok, const char *code, long version,
              const char *hash, const char *org, const char *cats, char *id)
{
    char *ev = consent_evidence(hash);
    char *gb = str_printf("{\"purpose\":{\"code\":\"%s\",\"version\":%ld},\"recipient\":{"
                          "\"kind\":\"organisation\",\"id\":\"%s\"},\"categories\":%s,"
                          "\"actions\":[\"read\",\"write\"],\"evidence\":%s}",
                          code, version, org, cats, ev);
    struct resp r = rx_call(f, "POST", "/api/v1/me/consents", tok, gb);
    assert_status(&r, 201);
    snprintf(id, 64, "%s", json_str(r.json, "id"));
    resp_free(&r);
    free(gb);
    free(ev);
}

void rx_withdraw(struct rx_fixture *f, const char *tok, const char *id, const char *hash)
{
    char *ev = consent_evidence(hash);
    char *b = str_printf("{\"evidence\":%s}", ev);
    char *path = str_printf("/api/v1/me/consents/%s", id);
    struct resp r = rx_call(f, "DELETE", path, tok, b);
    assert_status(&r, 200);
    resp_free(&r);
    free(path);
    free(b);
    free(ev);
}

json_t *rx_notices(struct rx_fixture *f, const char *tok, const char *source)
{
    struct resp r = rx_call(f, "GET", "/api/v1/me/inbox", tok, NULL);
    assert_status(&r, 200);
    json_t *out = json_array();
    json_t *items = json_object_get(r.json, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        const char *src = json_str(it, "source");
        if (strcmp(json_str(it, "kind"), "notice") == 0 && src != NULL && strcmp(src, source) == 0)
            json_array_append(out, it);
    }
    resp_free(&r);
    return out;
}

long rx_event(struct rx_fixture *f, const char *kind, const char *subject, const char *ref,
              const char *payload)
{
    char created[32];
    snprintf(created, sizeof created, "%lld", (long long)time(NULL) * 1000);
    long seq = harness_db_int(f->dir,
                              "INSERT INTO event_outbox (seq, kind, subject_id, ref, payload, "
                              "created_ms) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM "
                              "event_outbox), ?, ?, ?, ?, ?) RETURNING seq",
                              LIST(kind, subject, ref, payload, created));
    assert_true(seq > 0);
    return seq;
}

void rx_wait_handled(struct rx_fixture *f, const char *consumer, const char *kind, long seq)
{
    char *q = str_printf("SELECT COUNT(*) FROM event_consumer WHERE consumer = '%s' AND kind = "
                         "'%s' AND done_seq >= %ld",
                         consumer, kind, seq);
    for (int i = 0; i < 200 && rx_db_count(f, q) == 0; i++)
        sleep_ms(100);
    if (rx_db_count(f, q) != 1)
        server_dump_log(f->s);
    assert_int_equal(rx_db_count(f, q), 1);
    free(q);
}

long rx_db_count(struct rx_fixture *f, const char *sql)
{
    return harness_db_int(f->dir, sql, NULL);
}

char *rx_other_org(struct rx_fixture *f, const char *kind, const char *role, const char *email,
                   char *org)
{
    char *ob = str_printf("{\"kind\":\"%s\",\"name_ja\":\"ほかの%s\",\"district\":\"中央\","
                          "\"lat\":37.4948,\"lon\":139.9298}",
                          kind, kind);
    struct resp r = api(f->s, "POST", "/api/v1/admin/organisations", LIST(AUTH_HEADER, JSON_HEADER),
                        ob, strlen(ob));
    assert_status(&r, 201);
    snprintf(org, 32, "%s", json_str(r.json, "id"));
    resp_free(&r);
    free(ob);
    char *pb = str_printf("{\"family_name\":\"別所\",\"given_name\":\"次郎\",\"family_name_kana\":"
                          "\"ベッショ\",\"given_name_kana\":\"ジロウ\",\"birth_date\":"
                          "\"1980-02-02\",\"sex\":\"male\",\"district\":\"中央\",\"email\":"
                          "\"%s\",\"password\":\"" OTHER_PASS "\"}",
                          email);
    r = api(f->s, "POST", "/api/v1/admin/people", LIST(AUTH_HEADER, JSON_HEADER), pb, strlen(pb));
    assert_status(&r, 201);
    char *path = str_printf("/api/v1/admin/people/%s/roles", json_str(r.json, "id"));
    resp_free(&r);
    free(pb);
    char *rb = str_printf("{\"org_id\":\"%s\",\"role\":\"%s\"}", org, role);
    r = api(f->s, "POST", path, LIST(AUTH_HEADER, JSON_HEADER), rb, strlen(rb));
    assert_status(&r, 201);
    resp_free(&r);
    free(rb);
    free(path);
    return oidc_token(f->s, f->app, APP_REDIRECT, email, OTHER_PASS, "role:", USER_SCOPE);
}

char *rx_fill(const char *tmpl, const char *a, const char *b)
{
    char *out = str_printf("%s", tmpl);
    const char *with[] = {a, b};
    for (int k = 0; k < 2 && with[k] != NULL; k++) {
        char *at = strstr(out, "%s");
        if (at == NULL)
            break;
        char *next = str_printf("%.*s%s%s", (int)(at - out), out, with[k], at + 2);
        free(out);
        out = next;
    }
    return out;
}
