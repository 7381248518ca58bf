/* test_visits.c - booking and the online consultation (issue 7 parts 2 and 3, STORY.md S1 steps
 * 3, 4 and 7) with the real binary and the demo town: the family doctor opens a morning of online
 * slots and the cardiologist an afternoon in person; 会津 太郎 searches, books with his triage
 * answers attached, reschedules and cancels; his daughter (book_appointments) books for him, his
 * wife with a link without that right and as herself cannot; someone else's appointment is a 404
 * with nothing changed; many clients racing for few slots get exactly one booking per slot; the
 * doctor is refused the consultation without 太郎's consent and runs it with it (a VR Encounter
 * with the meeting link, the notes, the Invoice and its "invoice.issued" event); bad input
 * everywhere. */
#include "oidc_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
#define ME            "/api/v1/me/appointments"
#define ORG           "/api/v1/org/appointments"

static struct server *S;
static char *dir;
static char app[64], taro[64], hanako[64], doctor[64], cardio[64], clinic[64], hospital[64];
static char *t_taro, *t_hanako, *t_misaki, *t_doctor, *t_cardio;
static char day1[16], day2[16]; /* Tokyo dates two and three days ahead */

static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    char *auth = str_printf("Authorization: Bearer %s", tok);
    struct resp r = body != NULL ? api(S, method, path, LIST(auth, JSON_HEADER), body, strlen(body))
                                 : api(S, method, path, LIST(auth), NULL, 0);
    free(auth);
    return r;
}

/* A COUNT(*) over the data folder's database (printf-style SQL). */
#define db_count(...) harness_db_intf(dir, __VA_ARGS__)

/* The Tokyo calendar day `ahead` days from now. */
static void tokyo_day(int ahead, char *out, size_t cap)
{
    long long z = ((long long)time(NULL) + 9 * 3600) / 86400 + ahead + 719468;
    long long era = z / 146097, doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1), m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int y = (int)(yoe + era * 400 + (m <= 2));
    snprintf(out, cap, "%04d-%02d-%02d", y, m, d);
}

static void sub_of(const char *tok, char *out, size_t cap)
{
    struct resp r = call("GET", "/oauth/userinfo", tok, NULL);
    assert_status(&r, 200);
    snprintf(out, cap, "%s", json_str(r.json, "sub"));
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
    S = server_start_with(&(struct server_config){
        .data_dir = dir, .args = LIST("--meeting-url=https://meet.example.jp/c-{room}")});
    const char *client = "{\"name\":\"visits test app\",\"kind\":\"public\",\"scopes\":"
                         "\"" PATIENT_SCOPE " user/*.cruds\","
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
    sub_of(t_taro, taro, sizeof taro);
    sub_of(t_hanako, hanako, sizeof hanako);
    sub_of(t_doctor, doctor, sizeof doctor);
    sub_of(t_cardio, cardio, sizeof cardio);
    tokyo_day(2, day1, sizeof day1);
    tokyo_day(3, day2, sizeof day2);
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
    return 0;
}

/* POST /api/v1/org/slots as tok; returns the response (caller frees). */
static struct resp open_slots(const char *tok, const char *prac, const char *day, const char *from,
                              const char *to, int minutes, const char *mode, const char *spec)
{
    char *b = str_printf("{\"practitioner\":\"%s\",\"date\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
                         "\"minutes\":%d,\"mode\":\"%s\",\"specialty\":\"%s\"}",
                         prac, day, from, to, minutes, mode, spec);
    struct resp r = call("POST", "/api/v1/org/slots", tok, b);
    free(b);
    return r;
}

/* The id of the i-th free slot the search q finds (as tok), into out. */
static void slot_at(const char *tok, const char *q, size_t i, char *out, size_t cap)
{
    char *path = str_printf("/api/v1/slots?%s", q);
    struct resp r = call("GET", path, tok, NULL);
    free(path);
    assert_status(&r, 200);
    json_t *it = json_array_get(json_object_get(r.json, "items"), i);
    if (it == NULL)
        fail_msg("no slot %zu for %s: %s", i, q, r.body);
    snprintf(out, cap, "%s", json_str(it, "id"));
    resp_free(&r);
}

static long free_slots(const char *q)
{
    char *path = str_printf("/api/v1/slots?%s", q);
    struct resp r = call("GET", path, t_taro, NULL);
    free(path);
    assert_status(&r, 200);
    long n = (long)json_array_size(json_object_get(r.json, "items"));
    resp_free(&r);
    return n;
}

static struct resp book(const char *tok, const char *slot, const char *extra)
{
    char *b = str_printf("{\"slot\":\"%s\"%s}", slot, extra != NULL ? extra : "");
    struct resp r = call("POST", ME, tok, b);
    free(b);
    return r;
}

/* ---- the tests ---- */

static void staff_open_slots(void **state)
{
    (void)state;
    struct resp r =
        open_slots(t_doctor, doctor, day1, "09:00", "12:00", 15, "online", "family-medicine");
    assert_status(&r, 201);
    snprintf(clinic, sizeof clinic, "%s", json_str(r.json, "organization"));
    assert_int_equal(json_integer_value(json_object_get(r.json, "created")), 12);
    assert_int_equal(json_array_size(json_object_get(r.json, "slots")), 12);
    resp_free(&r);
    /* again: nothing new, 200 */
    r = open_slots(t_doctor, doctor, day1, "09:00", "12:00", 15, "online", "family-medicine");
    assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "created")), 0);
    assert_int_equal(json_integer_value(json_object_get(r.json, "existing")), 12);
    resp_free(&r);
    r = open_slots(t_doctor, doctor, day2, "09:00", "10:00", 15, "both", "family-medicine");
    assert_status(&r, 201);
    resp_free(&r);
    r = open_slots(t_cardio, cardio, day1, "13:00", "16:00", 30, "in-person", "cardiology");
    assert_status(&r, 201);
    snprintf(hospital, sizeof hospital, "%s", json_str(r.json, "organization"));
    assert_int_equal(json_integer_value(json_object_get(r.json, "created")), 6);
    resp_free(&r);
    /* the shared FHIR Slots and Schedules exist */
    assert_int_equal(db_count("SELECT COUNT(*) FROM fhir_resource WHERE rtype = 'Slot'"), 22);
    assert_int_equal(db_count("SELECT COUNT(*) FROM fhir_resource WHERE rtype = 'Schedule'"), 2);
    /* refusals: a citizen, another organisation's doctor, bad bodies; nothing stored */
    r = open_slots(t_taro, doctor, day1, "13:00", "14:00", 15, "online", "x");
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = open_slots(t_cardio, doctor, day1, "13:00", "14:00", 15, "online", "x");
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    r = open_slots(t_doctor, doctor, "2020-01-01", "09:00", "10:00", 15, "online", "x");
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    static const char *const raw[] = {"{}", "[1]", "{\"practitioner\":\"x\"}"};
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        r = call("POST", "/api/v1/org/slots", t_doctor, raw[i]);
        assert_problem(&r, 422, "validation-failed");
        resp_free(&r);
    }
    static const char *const tails[] = {
        "\"from\":\"10:00\",\"to\":\"09:00\",\"mode\":\"online\",\"specialty\":\"a\"",
        "\"from\":\"09:00\",\"to\":\"10:00\",\"mode\":\"tv\",\"specialty\":\"a\"",
        "\"from\":\"09:00\",\"to\":\"10:00\",\"mode\":\"online\",\"specialty\":\"a\","
        "\"minutes\":-15",
        "\"from\":\"09:00\",\"to\":\"10:00\",\"mode\":\"online\",\"specialty\":\"a\","
        "\"minutes\":15,\"colour\":\"red\""};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        char *b =
            str_printf("{\"practitioner\":\"%s\",\"date\":\"%s\",%s}", doctor, day1, tails[i]);
        r = call("POST", "/api/v1/org/slots", t_doctor, b);
        assert_problem(&r, 422, "validation-failed");
        resp_free(&r);
        free(b);
    }
    r = call("POST", "/api/v1/org/slots", t_doctor, "{\"practitioner\":");
    assert_problem(&r, 400, "malformed-json");
    resp_free(&r);
    r = api(S, "POST", "/api/v1/org/slots", LIST("Content-Type: text/plain"), "x", 1);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    assert_int_equal(db_count("SELECT COUNT(*) FROM visits_slot"), 22);
}

static void citizens_search_free_slots(void **state)
{
    (void)state;
    char *q = str_printf("org=%s&from=%s&to=%s&mode=online", clinic, day1, day1);
    assert_int_equal(free_slots(q), 12);
    free(q);
    q = str_printf("specialty=cardiology&from=%s&to=%s", day1, day2);
    assert_int_equal(free_slots(q), 6);
    free(q);
    q = str_printf("practitioner=%s&from=%s&to=%s&mode=in-person", doctor, day1, day2);
    assert_int_equal(free_slots(q), 4); /* day2's "both" slots */
    free(q);
    static const char *const bad[] = {"/api/v1/slots?mode=video",
                                      "/api/v1/slots?from=2026-02-30",
                                      "/api/v1/slots?org=..",
                                      "/api/v1/slots?from=2030-01-10&to=2030-01-01",
                                      "/api/v1/slots?from=2030-01-01&to=2030-06-01",
                                      "/api/v1/slots?colour=red",
                                      "/api/v1/slots?mode=online&mode=online"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct resp r = call("GET", bad[i], t_taro, NULL);
        assert_problem(&r, 400, "invalid-parameter");
        resp_free(&r);
    }
}

static char appt1[64];

/* S1 step 3: he answers the questionnaire and books an online consultation from home. */
static void taro_books_with_his_questionnaire(void **state)
{
    (void)state;
    /* his triage answers (a QuestionnaireResponse of his), and one of his wife's */
    char *qr = str_printf("{\"resourceType\":\"QuestionnaireResponse\",\"status\":\"completed\","
                          "\"subject\":{\"reference\":\"Patient/%s\"}}",
                          taro);
    struct resp r = call("POST", "/fhir/QuestionnaireResponse", t_taro, qr);
    assert_status(&r, 201);
    char qr_id[80];
    snprintf(qr_id, sizeof qr_id, "%s", json_str(r.json, "id"));
    resp_free(&r);
    free(qr);
    qr = str_printf("{\"resourceType\":\"QuestionnaireResponse\",\"status\":\"completed\","
                    "\"subject\":{\"reference\":\"Patient/%s\"}}",
                    hanako);
    r = call("POST", "/fhir/QuestionnaireResponse", t_hanako, qr);
    assert_status(&r, 201);
    char qr_other[80];
    snprintf(qr_other, sizeof qr_other, "%s", json_str(r.json, "id"));
    resp_free(&r);
    free(qr);

    char slot[64], *q = str_printf("org=%s&from=%s&to=%s", clinic, day1, day1);
    slot_at(t_taro, q, 0, slot, sizeof slot);
    long events = db_count("SELECT COUNT(*) FROM event_outbox WHERE kind = 'appointment.booked'");
    /* another person's questionnaire is refused, and nothing is booked */
    char *x = str_printf(",\"questionnaire_response\":\"%s\"", qr_other);
    r = book(t_taro, slot, x);
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    free(x);
    x = str_printf(",\"mode\":\"online\",\"questionnaire_response\":\"%s\",\"comment\":\"血圧の薬"
                   "\"",
                   qr_id);
    r = book(t_taro, slot, x);
    free(x);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "status"), "booked");
    assert_string_equal(json_str(r.json, "mode"), "online");
    assert_string_equal(json_str(r.json, "organization"), clinic);
    assert_string_equal(json_str(r.json, "questionnaire_response"), qr_id);
    char link[200];
    assert_non_null(json_str(r.json, "meeting_url"));
    snprintf(link, sizeof link, "%s", json_str(r.json, "meeting_url"));
    assert_true(strncmp(link, "https://meet.example.jp/c-", 26) == 0);
    assert_int_equal(strlen(link), 26 + 32); /* 128 random bits in hex */
    snprintf(appt1, sizeof appt1, "%s", json_str(r.json, "id"));
    assert_non_null(resp_header(&r, "Location"));
    resp_free(&r);
    /* the same slot again: 409, and it is no longer offered */
    r = book(t_taro, slot, NULL);
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    assert_int_equal(free_slots(q), 11);
    free(q);
    /* the FHIR Appointment is his (with the questionnaire), the Slot busy, one event, a notice */
    char *path = str_printf("/fhir/Appointment/%s", appt1);
    r = call("GET", path, t_taro, NULL);
    free(path);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "booked");
    json_t *si = json_array_get(json_object_get(r.json, "supportingInformation"), 0);
    assert_non_null(si);
    resp_free(&r);
    assert_int_equal(
        db_count("SELECT COUNT(*) FROM event_outbox WHERE kind = 'appointment.booked'"),
        events + 1);
    assert_int_equal(db_count("SELECT COUNT(*) FROM event_outbox WHERE kind = "
                              "'appointment.booked' AND ref = 'Appointment/%s' AND subject_id = "
                              "'%s' AND payload LIKE '%%\"mode\":\"online\"%%' AND payload LIKE "
                              "'%%+09:00%%'",
                              appt1, taro),
                     1);
    assert_int_equal(db_count("SELECT COUNT(*) FROM fhir_resource WHERE rtype = 'Slot' AND id = "
                              "'%s' AND body LIKE '%%\"status\":\"busy\"%%'",
                              slot),
                     1);
    r = call("GET", "/api/v1/me/inbox", t_taro, NULL);
    assert_status(&r, 200);
    assert_non_null(strstr(r.body, appt1));
    resp_free(&r);
    /* his list and the appointment itself */
    r = call("GET", ME, t_taro, NULL);
    assert_status(&r, 200);
    assert_true(json_array_size(json_object_get(r.json, "items")) >= 1);
    resp_free(&r);
    path = str_printf(ME "/%s", appt1);
    r = call("GET", path, t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "meeting_url"), link);
    resp_free(&r);
    free(path);
}

/* The mode must be one the slot offers; a "both" slot needs the mode said. */
static void bad_bookings_are_refused(void **state)
{
    (void)state;
    char in_person[64], both[64];
    char *q = str_printf("org=%s&from=%s&to=%s", hospital, day1, day1);
    slot_at(t_taro, q, 0, in_person, sizeof in_person);
    free(q);
    q = str_printf("org=%s&from=%s&to=%s", clinic, day2, day2);
    slot_at(t_taro, q, 0, both, sizeof both);
    free(q);
    long before = db_count("SELECT COUNT(*) FROM visits_appointment");
    struct resp r = book(t_taro, in_person, ",\"mode\":\"online\"");
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    r = book(t_taro, both, NULL);
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    r = book(t_taro, "0000000000aaaaaaaaaaaaaaaa", NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    static const char *const bad[] = {
        "{}",
        "{\"slot\":5}",
        "{\"slot\":\"a b\"}",
        "[]",
        "{\"slot\":\"0000000000aaaaaaaaaaaaaaaa\",\"x\":1}",
        "{\"slot\":\"0000000000aaaaaaaaaaaaaaaa\",\"mode\":\"both\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = call("POST", ME, t_taro, bad[i]);
        assert_problem(&r, 422, "validation-failed");
        resp_free(&r);
    }
    r = call("POST", ME, t_taro, "{\"slot\"");
    assert_problem(&r, 400, "malformed-json");
    resp_free(&r);
    /* a practitioner does not book as a citizen */
    r = book(t_doctor, both, ",\"mode\":\"online\"");
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_int_equal(db_count("SELECT COUNT(*) FROM visits_appointment"), before);
}

/* Someone else's appointment is not found, and nothing changes; the attempt is on his trail. */
static void another_citizen_gets_404(void **state)
{
    (void)state;
    long denies = db_count("SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND decision "
                           "= 'deny' AND actor_id = '%s'",
                           taro, hanako);
    char *path = str_printf(ME "/%s", appt1);
    struct resp r = call("GET", path, t_hanako, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(path);
    path = str_printf(ME "/%s/cancel", appt1);
    r = call("POST", path, t_hanako, "{}");
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(path);
    path = str_printf(ME "/%s/cancel", "not-an-id");
    r = call("POST", path, t_hanako, "{}");
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(path);
    assert_int_equal(db_count("SELECT COUNT(*) FROM visits_appointment WHERE id = '%s' AND "
                              "status = 'booked'",
                              appt1),
                     1);
    assert_int_equal(db_count("SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND decision "
                              "= 'deny' AND actor_id = '%s'",
                              taro, hanako),
                     denies + 2);
    /* the doctor of another organisation does not see it either */
    path = str_printf(ORG "/%s/start", appt1);
    r = call("POST", path, t_cardio, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(path);
}

/* S1 step 9's daughter may book for him (book_appointments); his wife, with a link that does
 * not give that right, may not. */
static void delegates_with_and_without_the_right(void **state)
{
    (void)state;
    char slot[64], *q = str_printf("org=%s&from=%s&to=%s", hospital, day1, day1);
    slot_at(t_misaki, q, 0, slot, sizeof slot);
    struct resp r = book(t_misaki, slot, NULL);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "mode"), "in-person");
    assert_null(json_str(r.json, "meeting_url"));
    char appt[64];
    snprintf(appt, sizeof appt, "%s", json_str(r.json, "id"));
    resp_free(&r);
    assert_int_equal(db_count("SELECT COUNT(*) FROM visits_appointment WHERE id = '%s' AND "
                              "subject_id = '%s' AND booked_by <> '%s'",
                              appt, taro, taro),
                     1);
    /* she sees his appointments */
    r = call("GET", ME, t_misaki, NULL);
    assert_status(&r, 200);
    assert_non_null(strstr(r.body, appt));
    resp_free(&r);
    /* his wife gets a link with see_alerts only */
    char *link = str_printf("{\"delegate_id\":\"%s\",\"rights\":[\"see_alerts\"],\"kind\":"
                            "\"family\"}",
                            hanako);
    char *lp = str_printf("/api/v1/admin/people/%s/links", taro);
    r = api(S, "POST", lp, LIST(AUTH_HEADER, JSON_HEADER), link, strlen(link));
    assert_status(&r, 201);
    resp_free(&r);
    free(link);
    free(lp);
    sleep_ms(1500); /* the decision index picks the link up */
    char *t_wife =
        oidc_token(S, app, APP_REDIRECT, HANAKO_EMAIL, HANAKO_PASS, "for:", PATIENT_SCOPE);
    char other[64];
    slot_at(t_wife, q, 0, other, sizeof other);
    free(q);
    long before = db_count("SELECT COUNT(*) FROM visits_appointment");
    r = book(t_wife, other, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    char *path = str_printf(ME "/%s/cancel", appt);
    r = call("POST", path, t_wife, "{}");
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    free(path);
    assert_int_equal(db_count("SELECT COUNT(*) FROM visits_appointment"), before);
    assert_true(db_count("SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND decision = "
                         "'deny' AND actor_id = '%s' AND resource_type = 'Appointment'",
                         taro, hanako) >= 2);
    free(t_wife);
    /* the daughter cancels it for him */
    path = str_printf(ME "/%s/cancel", appt);
    r = call("POST", path, t_misaki, "{\"reason\":\"体調が良いので\"}");
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "cancelled");
    resp_free(&r);
    free(path);
}

/* Reschedule: the old one cancelled and a new one booked in one transaction; then cancel. */
static void taro_reschedules_and_cancels(void **state)
{
    (void)state;
    char slot[64], *q = str_printf("org=%s&from=%s&to=%s&mode=online", clinic, day1, day1);
    slot_at(t_taro, q, 3, slot, sizeof slot);
    long booked = db_count("SELECT COUNT(*) FROM event_outbox WHERE kind = 'appointment.booked'");
    long cancelled =
        db_count("SELECT COUNT(*) FROM event_outbox WHERE kind = 'appointment.cancelled'");
    char *path = str_printf(ME "/%s/reschedule", appt1);
    char *b = str_printf("{\"slot\":\"%s\"}", slot);
    struct resp r = call("POST", path, t_taro, b);
    free(b);
    free(path);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "replaces"), appt1);
    char moved[64];
    snprintf(moved, sizeof moved, "%s", json_str(r.json, "id"));
    resp_free(&r);
    assert_int_equal(
        db_count("SELECT COUNT(*) FROM event_outbox WHERE kind = 'appointment.booked'"),
        booked + 1);
    assert_int_equal(
        db_count("SELECT COUNT(*) FROM event_outbox WHERE kind = 'appointment.cancelled'"),
        cancelled + 1);
    assert_int_equal(db_count("SELECT COUNT(*) FROM visits_appointment WHERE id = '%s' AND status "
                              "= 'cancelled'",
                              appt1),
                     1);
    /* the old slot is free again */
    assert_int_equal(free_slots(q), 11);
    free(q);
    /* a cancelled appointment does not change again */
    path = str_printf(ME "/%s/cancel", appt1);
    r = call("POST", path, t_taro, "{}");
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    free(path);
    path = str_printf(ME "/%s/cancel", moved);
    r = call("POST", path, t_taro, "{\"reason\":\"\"}");
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    r = call("POST", path, t_taro, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    free(path);
    path = str_printf("/fhir/Appointment/%s", moved);
    r = call("GET", path, t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "cancelled");
    resp_free(&r);
    free(path);
}

/* ---- the race ---- */

#define RACERS     16
#define RACE_SLOTS 4

struct racer {
    int port;
    const char *slots[RACE_SLOTS];
    int created[RACE_SLOTS], conflicts, others;
};

static void *race(void *arg)
{
    struct racer *rc = arg;
    CURL *c = client_new();
    char *auth = str_printf("Authorization: Bearer %s", t_taro);
    for (int i = 0; i < RACE_SLOTS; i++) {
        char *b = str_printf("{\"slot\":\"%s\",\"mode\":\"in-person\"}", rc->slots[i]);
        struct request rq = {.method = "POST",
                             .path = ME,
                             .headers = LIST(auth, JSON_HEADER),
                             .body = b,
                             .len = strlen(b)};
        struct resp r = http_exchange(c, rc->port, &rq);
        if (r.status == 201)
            rc->created[i]++;
        else if (r.status == 409)
            rc->conflicts++;
        else
            rc->others++;
        resp_free(&r);
        free(b);
    }
    free(auth);
    curl_easy_cleanup(c);
    return NULL;
}

static void racing_clients_get_one_booking_per_slot(void **state)
{
    (void)state;
    struct resp r =
        open_slots(t_cardio, cardio, day2, "13:00", "15:00", 30, "in-person", "cardiology");
    assert_status(&r, 201);
    char ids[RACE_SLOTS][64];
    for (int i = 0; i < RACE_SLOTS; i++)
        snprintf(ids[i], sizeof ids[i], "%s",
                 json_str(json_array_get(json_object_get(r.json, "slots"), (size_t)i), "id"));
    resp_free(&r);
    static struct racer racers[RACERS];
    pthread_t th[RACERS];
    for (int k = 0; k < RACERS; k++) {
        memset(&racers[k], 0, sizeof racers[k]);
        racers[k].port = server_port(S);
        for (int i = 0; i < RACE_SLOTS; i++)
            racers[k].slots[i] = ids[(i + k) % RACE_SLOTS];
        pthread_create(&th[k], NULL, race, &racers[k]);
    }
    int created = 0, conflicts = 0, others = 0;
    for (int k = 0; k < RACERS; k++) {
        pthread_join(th[k], NULL);
        for (int i = 0; i < RACE_SLOTS; i++)
            created += racers[k].created[i];
        conflicts += racers[k].conflicts;
        others += racers[k].others;
    }
    assert_int_equal(others, 0);
    assert_int_equal(created, RACE_SLOTS);
    assert_int_equal(conflicts, RACERS * RACE_SLOTS - RACE_SLOTS);
    for (int i = 0; i < RACE_SLOTS; i++) {
        assert_int_equal(db_count("SELECT COUNT(*) FROM visits_appointment WHERE slot_id = '%s' "
                                  "AND status = 'booked'",
                                  ids[i]),
                         1);
        assert_int_equal(
            db_count("SELECT COUNT(*) FROM visits_booking WHERE slot_id = '%s'", ids[i]), 1);
        assert_int_equal(db_count("SELECT COUNT(*) FROM event_outbox WHERE kind = "
                                  "'appointment.booked' AND payload LIKE '%%\"slot\":\"%s\"%%'",
                                  ids[i]),
                         1);
    }
}

/* ---- the consultation ---- */

static void taro_consents_to_the_clinic(void)
{
    char *pb = str_printf(
        "{\"code\":\"visit-care\",\"title\":{\"ja\":\"受診と診療記録\",\"en\":\"Visits and "
        "clinical records\"},\"explanation\":{\"ja\":\"予約したクリニックが診療のために記録を見て、"
        "診察記録を書きます。\",\"en\":\"The clinic you book sees your record for your treatment "
        "and writes its notes.\"},\"categories\":[\"clinical\",\"vitals\"],\"recipients\":[\"%s\"],"
        "\"legal_basis\":\"consent\",\"retention_days\":1825}",
        clinic);
    struct resp r =
        api(S, "POST", "/api/v1/admin/purposes", LIST(AUTH_HEADER, JSON_HEADER), pb, strlen(pb));
    assert_status(&r, 201);
    char *ev = consent_evidence(json_str(r.json, "explanation_hash"));
    resp_free(&r);
    free(pb);
    char *gb = str_printf("{\"purpose\":{\"code\":\"visit-care\",\"version\":1},\"recipient\":{"
                          "\"kind\":\"organisation\",\"id\":\"%s\"},\"categories\":[\"clinical\","
                          "\"vitals\"],\"actions\":[\"read\",\"write\"],\"evidence\":%s}",
                          clinic, ev);
    r = call("POST", "/api/v1/me/consents", t_taro, gb);
    assert_status(&r, 201);
    resp_free(&r);
    free(gb);
    free(ev);
}

static void doctor_consultation_needs_consent(void **state)
{
    (void)state;
    char slot[64], *q = str_printf("org=%s&from=%s&to=%s&mode=online", clinic, day1, day1);
    slot_at(t_taro, q, 5, slot, sizeof slot);
    free(q);
    struct resp r = book(t_taro, slot, NULL);
    assert_status(&r, 201);
    char appt[64], link[200];
    snprintf(appt, sizeof appt, "%s", json_str(r.json, "id"));
    snprintf(link, sizeof link, "%s", json_str(r.json, "meeting_url"));
    resp_free(&r);
    /* the doctor's day and online queue list it, with the link */
    char *path = str_printf(ORG "?date=%s&mode=online", day1);
    r = call("GET", path, t_doctor, NULL);
    free(path);
    assert_status(&r, 200);
    assert_non_null(strstr(r.body, appt));
    assert_non_null(strstr(r.body, link));
    resp_free(&r);
    r = call("GET", ORG "?date=yesterday", t_doctor, NULL);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    r = call("GET", ORG, t_taro, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    /* without his consent the doctor may not start it: refused, recorded, nothing written */
    char *start = str_printf(ORG "/%s/start", appt);
    r = call("POST", start, t_doctor, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_int_equal(db_count("SELECT COUNT(*) FROM fhir_resource WHERE rtype = 'Encounter'"), 0);
    assert_true(db_count("SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND actor_id = "
                         "'%s' AND decision = 'deny' AND resource_type = 'Encounter'",
                         taro, doctor) >= 1);
    /* finishing what was not started is a conflict */
    char *finish = str_printf(ORG "/%s/finish", appt);
    taro_consents_to_the_clinic();
    r = call("POST", finish, t_doctor, "{\"fee\":1500}");
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    /* with it: the virtual Encounter and the same link for the doctor */
    r = call("POST", start, t_doctor, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "arrived");
    assert_string_equal(json_str(r.json, "meeting_url"), link);
    assert_string_equal(json_str(r.json, "patient"), taro);
    char enc[80];
    snprintf(enc, sizeof enc, "%s", json_str(r.json, "encounter"));
    resp_free(&r);
    r = call("POST", start, t_doctor, NULL);
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    path = str_printf("/fhir/Encounter/%s", enc);
    r = call("GET", path, t_doctor, NULL);
    free(path);
    assert_status(&r, 200);
    assert_string_equal(json_str(json_object_get(r.json, "class"), "code"), "VR");
    resp_free(&r);
    /* the notes and the fee; bad bodies first */
    static const char *const bad[] = {"{}", "{\"fee\":-1}", "{\"fee\":\"1500\"}",
                                      "{\"fee\":1500,\"notes\":7}", "{\"fee\":1,\"tip\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = call("POST", finish, t_doctor, bad[i]);
        assert_problem(&r, 422, "validation-failed");
        resp_free(&r);
    }
    r = call("POST", finish, t_doctor,
             "{\"notes\":\"家庭血圧 138/82 で安定。処方継続。\",\"fee\":1500}");
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "fulfilled");
    char inv[80], rep[80];
    snprintf(inv, sizeof inv, "%s", json_str(r.json, "invoice"));
    snprintf(rep, sizeof rep, "%s", json_str(r.json, "report"));
    resp_free(&r);
    assert_int_equal(db_count("SELECT COUNT(*) FROM event_outbox WHERE kind = 'invoice.issued' AND "
                              "ref = 'Invoice/%s' AND subject_id = '%s' AND payload LIKE "
                              "'%%\"amount\":1500%%' AND payload LIKE "
                              "'%%\"purpose\":\"clinic-fees\"%%' AND payload LIKE "
                              "'%%\"issuer\":\"%s\"%%'",
                              inv, taro, clinic),
                     1);
    /* he reads his invoice and the notes */
    path = str_printf("/fhir/Invoice/%s", inv);
    r = call("GET", path, t_taro, NULL);
    free(path);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "issued");
    resp_free(&r);
    path = str_printf("/fhir/DiagnosticReport/%s", rep);
    r = call("GET", path, t_taro, NULL);
    free(path);
    assert_status(&r, 200);
    resp_free(&r);
    /* finished: it cannot be finished twice */
    r = call("POST", finish, t_doctor, "{\"fee\":1500}");
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    assert_int_equal(db_count("SELECT COUNT(*) FROM event_outbox WHERE kind = 'invoice.issued'"),
                     1);
    free(start);
    free(finish);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(staff_open_slots),
        cmocka_unit_test(citizens_search_free_slots),
        cmocka_unit_test(taro_books_with_his_questionnaire),
        cmocka_unit_test(bad_bookings_are_refused),
        cmocka_unit_test(another_citizen_gets_404),
        cmocka_unit_test(delegates_with_and_without_the_right),
        cmocka_unit_test(taro_reschedules_and_cancels),
        cmocka_unit_test(racing_clients_get_one_booking_per_slot),
        cmocka_unit_test(doctor_consultation_needs_consent),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
