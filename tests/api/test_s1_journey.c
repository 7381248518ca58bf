/* test_s1_journey.c - STORY.md S1 steps 3, 4, 5, 7 and 10 as one journey through the API, with
 * nothing appended behind the services' backs: the city publishes the purposes and issues the
 * regional currency; 会津 太郎 opts in (his family doctor's care, his pharmacy, his taxi company),
 * grants payment mandates, answers the triage questionnaire and books an online consultation;
 * the doctor opens the slots, sees him online under his consent, writes notes and charges a fee
 * that his wallet pays by itself; the doctor prescribes to the pharmacy he chose; the pharmacist
 * sees that prescription and nothing else of his, gives guidance online, dispenses (paid by
 * itself too) and delivers; he books a cardiac examination in person for next month and the
 * taxi company finds an order in its queue for 40 minutes before it; his wife cannot see any of
 * it; every access, the pharmacist's refused one included, is on his trail; after he withdraws
 * his consent to the clinic, the doctor's next access is refused; the ledger still balances.
 * The parts are tested one by one (and with bad input) in test_triage, test_visits,
 * test_prescription, test_wallet and test_mobility; this test proves they are one journey. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consent_support.h"
#include "test_prescription_support.h"

#define W "/api/v1/wallet"

static struct rx_fixture *F;
static char day_consult[16], day_exam[16];
static char care_hash[80], rx_hash[80], mob_hash[80];
static long care_version, rx_version, mob_version;
static char care_consent[64];
static char doctor[64], cardio[64];
static int key_seq;

/* ---- small helpers ---- */

static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    return rx_call(F, method, path, tok, body);
}

/* A money-moving request with a fresh Idempotency-Key. */
static struct resp call_keyed(const char *path, const char *tok, const char *body)
{
    char *auth = str_printf("Authorization: Bearer %s", tok);
    char *key = str_printf("Idempotency-Key: s1-journey-%d-%ld", ++key_seq, (long)time(NULL));
    const char *b = body != NULL ? body : "{}";
    struct resp r = api(F->s, "POST", path, LIST(auth, key, JSON_HEADER), b, strlen(b));
    free(auth);
    free(key);
    return r;
}

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

static long long balance(const char *tok, const char *account)
{
    char *p = str_printf(W "/accounts/%s", account);
    struct resp r = call("GET", p, tok, NULL);
    free(p);
    assert_status(&r, 200);
    long long b = (long long)json_integer_value(json_object_get(r.json, "balance"));
    resp_free(&r);
    return b;
}

/* Waits (up to 20 s) until 太郎's invoice id is listed with status; returns it (a reference). */
static json_t *invoice_when(const char *id, const char *status)
{
    for (int i = 0; i < 200; i++) {
        struct resp r = call("GET", W "/invoices", F->t_taro, NULL);
        assert_status(&r, 200);
        json_t *list = json_object_get(r.json, "invoices");
        for (size_t k = 0; k < json_array_size(list); k++) {
            json_t *it = json_array_get(list, k);
            if (strcmp(json_str(it, "id"), id) == 0 &&
                strcmp(json_str(it, "status"), status) == 0) {
                json_t *out = json_incref(it);
                resp_free(&r);
                return out;
            }
        }
        resp_free(&r);
        sleep_ms(100);
    }
    server_dump_log(F->s);
    fail_msg("invoice %s never became %s", id, status);
    return NULL;
}

/* Waits (up to 20 s) until the FHIR resource path (read as tok) has the status. */
static void fhir_status_when(const char *path, const char *tok, const char *status)
{
    for (int i = 0; i < 200; i++) {
        struct resp r = call("GET", path, tok, NULL);
        assert_status(&r, 200);
        int ok = strcmp(json_str(r.json, "status"), status) == 0;
        resp_free(&r);
        if (ok)
            return;
        sleep_ms(100);
    }
    fail_msg("%s never became %s", path, status);
}

/* How many inbox notices of source 太郎 has. */
static size_t notices(const char *source)
{
    json_t *n = rx_notices(F, F->t_taro, source);
    size_t k = json_array_size(n);
    json_decref(n);
    return k;
}

/* Waits (up to 20 s) for a notice of source beyond `had`. */
static void notice_after(const char *source, size_t had)
{
    for (int i = 0; i < 200 && notices(source) <= had; i++)
        sleep_ms(100);
    assert_true(notices(source) > had);
}

/* Minutes since the epoch of an RFC 3339 time "YYYY-MM-DDTHH:MM[:SS[.fff]](Z|+hh:mm|-hh:mm)". */
static long long epoch_minutes(const char *t)
{
    int y = 0, mo = 0, d = 0, hh = 0, mm = 0;
    assert_non_null(t);
    assert_int_equal(sscanf(t, "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d, &hh, &mm), 5);
    const char *z = t + 16;
    while (*z != '\0' && *z != 'Z' && *z != '+' && *z != '-')
        z++;
    int oh = 0, om = 0, sign = *z == '-' ? -1 : 1;
    if (*z == '+' || *z == '-')
        assert_int_equal(sscanf(z + 1, "%2d:%2d", &oh, &om), 2);
    else
        assert_int_equal(*z, 'Z');
    y -= mo <= 2; /* days from 1970-01-01 (the proleptic Gregorian calendar) */
    long long era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    return days * 1440 + hh * 60 + mm - sign * (oh * 60 + om);
}

/* ---- the set-up: the city's part ---- */

static long publish(const char *code, const char *title_ja, const char *title_en, const char *cats,
                    const char *recipients, char *hash)
{
    char *pb = str_printf("{\"code\":\"%s\",\"title\":{\"ja\":\"%s\",\"en\":\"%s\"},"
                          "\"explanation\":{\"ja\":\"%sのための共有です。\",\"en\":\"Shared for "
                          "%s.\"},\"categories\":%s,\"recipients\":%s,"
                          "\"legal_basis\":\"consent\",\"retention_days\":1825}",
                          code, title_ja, title_en, title_ja, title_en, cats, recipients);
    struct resp r =
        api(F->s, "POST", "/api/v1/admin/purposes", LIST(AUTH_HEADER, JSON_HEADER), pb, strlen(pb));
    assert_status(&r, 201);
    snprintf(hash, 65, "%s", json_str(r.json, "explanation_hash"));
    long v = (long)json_integer_value(json_object_get(r.json, "version"));
    resp_free(&r);
    free(pb);
    return v;
}

static int group_setup(void **state)
{
    (void)state;
    F = rx_fixture_start(LIST("--meeting-url=https://meet.example.jp/c-{room}"));
    tokyo_day(2, day_consult, sizeof day_consult);
    tokyo_day(30, day_exam, sizeof day_exam);
    sub_of(F->t_doctor, doctor, sizeof doctor);
    sub_of(F->t_cardio, cardio, sizeof cardio);

    char *both = str_printf("[\"%s\",\"%s\"]", F->clinic, F->hospital);
    care_version = publish("visit-care", "受診と診療記録", "visits and clinical records",
                           "[\"clinical\",\"vitals\"]", both, care_hash);
    char *rx = str_printf("[\"%s\",\"%s\"]", F->clinic, F->pharmacy);
    rx_version =
        publish("pharmacy", "電子処方せん", "e-prescriptions", "[\"medications\"]", rx, rx_hash);
    char *taxi = str_printf("[\"%s\"]", F->taxi);
    mob_version = publish("mobility", "受診の送迎", "rides to appointments", "[\"location\"]", taxi,
                          mob_hash);
    free(both);
    free(rx);
    free(taxi);

    /* the city issues 20,000 of the regional currency to 太郎 */
    char *ib =
        str_printf("{\"to\":\"person:%s\",\"amount\":20000,\"memo\":\"地域ポイント\"}", F->taro);
    struct resp r = call_keyed(W "/issuances", ADMIN_TOKEN, ib);
    assert_status(&r, 201);
    resp_free(&r);
    free(ib);

    /* the clinic opens a morning of online slots, the hospital a morning in person next month */
    char *sb = str_printf("{\"practitioner\":\"%s\",\"date\":\"%s\",\"from\":\"09:00\","
                          "\"to\":\"10:00\",\"minutes\":15,\"mode\":\"online\","
                          "\"specialty\":\"family-medicine\"}",
                          doctor, day_consult);
    r = call("POST", "/api/v1/org/slots", F->t_doctor, sb);
    assert_status(&r, 201);
    resp_free(&r);
    free(sb);
    sb = str_printf("{\"practitioner\":\"%s\",\"date\":\"%s\",\"from\":\"10:00\","
                    "\"to\":\"11:00\",\"minutes\":30,\"mode\":\"in-person\","
                    "\"specialty\":\"cardiology\"}",
                    cardio, day_exam);
    r = call("POST", "/api/v1/org/slots", F->t_cardio, sb);
    assert_status(&r, 201);
    resp_free(&r);
    free(sb);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    rx_fixture_stop(F);
    return 0;
}

/* ---- the journey, one test: each step needs the one before ---- */

/* Step 1's choices as the portal makes them: care at the clinic, prescriptions, the pharmacy, the
 * taxi, and mandates for the clinic's and the pharmacy's fees. */
static void taro_opts_in(void)
{
    char *ev = consent_evidence(care_hash);
    char *gb = str_printf("{\"purpose\":{\"code\":\"visit-care\",\"version\":%ld},\"recipient\":{"
                          "\"kind\":\"organisation\",\"id\":\"%s\"},\"categories\":[\"clinical\","
                          "\"vitals\"],\"actions\":[\"read\",\"write\"],\"evidence\":%s}",
                          care_version, F->clinic, ev);
    struct resp r = call("POST", "/api/v1/me/consents", F->t_taro, gb);
    assert_status(&r, 201);
    snprintf(care_consent, sizeof care_consent, "%s", json_str(r.json, "id"));
    resp_free(&r);
    free(gb);
    free(ev);

    /* the e-prescription purpose: the clinic writes his prescriptions, the pharmacy he picks
     * (below) receives them */
    char rx_consent[64];
    rx_grant(F, F->t_taro, "pharmacy", rx_version, rx_hash, F->clinic, "[\"medications\"]",
             rx_consent);
    ev = consent_evidence(rx_hash);
    char *b = str_printf("{\"pharmacy\":\"%s\",\"evidence\":%s}", F->pharmacy, ev);
    r = call("PUT", "/api/v1/me/pharmacy", F->t_taro, b);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "pharmacy"), F->pharmacy);
    resp_free(&r);
    free(b);
    free(ev);

    ev = consent_evidence(mob_hash);
    b = str_printf("{\"company\":\"%s\",\"evidence\":%s}", F->taxi, ev);
    r = call("PUT", "/api/v1/me/taxi", F->t_taro, b);
    assert_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "enabled")));
    resp_free(&r);
    free(b);
    free(ev);

    const char *orgs[2] = {F->clinic, F->pharmacy}, *purposes[2] = {"clinic-fees", "pharmacy-fees"};
    for (int i = 0; i < 2; i++) {
        b = str_printf("{\"org\":\"%s\",\"purpose\":\"%s\",\"limit\":10000}", orgs[i], purposes[i]);
        r = call("POST", W "/mandates", F->t_taro, b);
        assert_status(&r, 201);
        resp_free(&r);
        free(b);
    }
}

/* Step 2, as his home monitor's app writes it through FHIR (the MQTT way is test_s1_homedoctor's).
 */
static void taro_records_his_blood_pressure(void)
{
    char *b = str_printf(
        "{\"resourceType\":\"Observation\",\"status\":\"final\",\"category\":[{\"coding\":[{"
        "\"system\":\"http://terminology.hl7.org/CodeSystem/observation-category\",\"code\":"
        "\"vital-signs\"}]}],\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
        "\"85354-9\"}]},\"subject\":{\"reference\":\"Patient/%s\"},\"effectiveDateTime\":"
        "\"2026-11-20T07:00:00+09:00\",\"component\":[{\"code\":{\"coding\":[{\"system\":"
        "\"http://loinc.org\",\"code\":\"8480-6\"}]},\"valueQuantity\":{\"value\":138,"
        "\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}},{"
        "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8462-4\"}]},"
        "\"valueQuantity\":{\"value\":84,\"unit\":\"mmHg\",\"system\":"
        "\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}]}",
        F->taro);
    struct resp r = call("POST", "/fhir/Observation", F->t_taro, b);
    assert_status(&r, 201);
    resp_free(&r);
    free(b);
}

/* Step 3: the questionnaire, the recommendation, the booking with the answers attached. */
static void taro_answers_and_books(char *appt, size_t cap)
{
    struct resp r = call("GET", "/api/v1/triage/questionnaire?lang=ja", F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "resourceType"), "Questionnaire");
    resp_free(&r);
#define B(link, v) "{\"linkId\":\"" link "\",\"answer\":[{\"valueBoolean\":" #v "}]}"
    const char *qr =
        "{\"resourceType\":\"QuestionnaireResponse\",\"questionnaire\":"
        "\"urn:cityos:questionnaire:triage\",\"status\":\"completed\",\"item\":[" B(
            "rf.unresponsive",
            false) "," B("rf.breathing",
                         false) "," B("rf.stroke",
                                      false) "," B("rf.seizure",
                                                   false) "," B("rf.bleeding",
                                                                false) ",{\"linkId\":\"age\","
                                                                       "\"answer\":[{"
                                                                       "\"valueInteger\":70}]}"
                                                                       "," B(
                                                                           "risk."
                                                                           "hypertension",
                                                                           true) "," B("risk."
                                                                                       "diabe"
                                                                                       "tes",
                                                                                       false) "," B("risk.kidney",
                                                                                                    false) "," B("risk.smoking",
                                                                                                                 false) "," B("rf.pale",
                                                                                                                              false) ",{\"linkId\":\"purpose\",\"answer\":[{\"valueCoding\":{\"system\":\"urn:cityos:triage-option\",\"code\":\"routine\"}}]}]}";
#undef B
    r = call("POST", "/api/v1/me/triage", F->t_taro, qr);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "level"), "green");
    json_t *rec = json_object_get(r.json, "recommendation");
    assert_string_equal(json_str(rec, "action"), "book");
    assert_string_equal(json_str(rec, "department"), "family-medicine");
    assert_string_equal(json_str(rec, "mode"), "online");
    char qresp[64];
    snprintf(qresp, sizeof qresp, "%s", json_str(r.json, "questionnaire_response"));
    resp_free(&r);

    /* the recommendation is the search: his department, online, the day he wants */
    char *q = str_printf("/api/v1/slots?specialty=family-medicine&mode=online&from=%s&to=%s",
                         day_consult, day_consult);
    r = call("GET", q, F->t_taro, NULL);
    free(q);
    assert_status(&r, 200);
    json_t *first = json_array_get(json_object_get(r.json, "items"), 0);
    assert_non_null(first);
    assert_string_equal(json_str(first, "organization"), F->clinic);
    char slot[64];
    snprintf(slot, sizeof slot, "%s", json_str(first, "id"));
    resp_free(&r);

    size_t had = notices("visits");
    char *bb = str_printf("{\"slot\":\"%s\",\"mode\":\"online\",\"questionnaire_response\":\"%s\"}",
                          slot, qresp);
    r = call("POST", "/api/v1/me/appointments", F->t_taro, bb);
    free(bb);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "status"), "booked");
    assert_string_equal(json_str(r.json, "questionnaire_response"), qresp);
    assert_true(strncmp(json_str(r.json, "meeting_url"), "https://meet.example.jp/c-", 26) == 0);
    snprintf(appt, cap, "%s", json_str(r.json, "id"));
    resp_free(&r);
    notice_after("visits", had);
}

/* Step 4: the doctor's queue, the record under his consent, the notes and the fee, paid by
 * the wallet under the mandate; he is told. */
static void the_doctor_sees_him_online(const char *appt)
{
    char *q = str_printf("/api/v1/org/appointments?date=%s&mode=online", day_consult);
    struct resp r = call("GET", q, F->t_doctor, NULL);
    free(q);
    assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    int found = 0;
    for (size_t i = 0; i < json_array_size(items); i++)
        if (strcmp(json_str(json_array_get(items, i), "id"), appt) == 0) {
            found = 1;
            assert_string_equal(json_str(json_array_get(items, i), "patient"), F->taro);
        }
    assert_true(found);
    resp_free(&r);

    /* his questionnaire answers, through FHIR under his consent */
    char *me = str_printf("/api/v1/me/appointments/%s", appt);
    r = call("GET", me, F->t_taro, NULL);
    assert_status(&r, 200);
    char *qr =
        str_printf("/fhir/QuestionnaireResponse/%s", json_str(r.json, "questionnaire_response"));
    resp_free(&r);
    r = call("GET", qr, F->t_doctor, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    free(qr);

    /* his home blood pressure, which he shares with the clinic */
    char *obs =
        str_printf("/fhir/Observation?patient=Patient/%s&code=http://loinc.org|85354-9", F->taro);
    r = call("GET", obs, F->t_doctor, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 1);
    resp_free(&r);
    free(obs);

    char *start = str_printf("/api/v1/org/appointments/%s/start", appt);
    r = call("POST", start, F->t_doctor, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "arrived");
    char *enc = str_printf("/fhir/Encounter/%s", json_str(r.json, "encounter"));
    resp_free(&r);
    r = call("GET", enc, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(json_object_get(r.json, "class"), "code"), "VR");
    resp_free(&r);

    long long before = balance(F->t_taro, "me");
    size_t had = notices("wallet");
    char *finish = str_printf("/api/v1/org/appointments/%s/finish", appt);
    r = call("POST", finish, F->t_doctor,
             "{\"notes\":\"家庭血圧は安定。アムロジピン継続。\",\"fee\":1500}");
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "fulfilled");
    char inv[64];
    snprintf(inv, sizeof inv, "%s", json_str(r.json, "invoice"));
    resp_free(&r);

    /* paid by itself under the clinic mandate; the FHIR Invoice balanced; he is told */
    json_t *it = invoice_when(inv, "paid");
    assert_int_equal(json_integer_value(json_object_get(it, "amount")), 1500);
    assert_non_null(json_str(it, "mandate"));
    json_decref(it);
    char *fi = str_printf("/fhir/Invoice/%s", inv);
    fhir_status_when(fi, F->t_taro, "balanced");
    assert_int_equal(balance(F->t_taro, "me"), before - 1500);
    notice_after("wallet", had);
    r = call("GET", me, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "fulfilled");
    assert_non_null(json_str(r.json, "report"));
    resp_free(&r);
    free(fi);
    free(me);
    free(start);
    free(enc);
    free(finish);
}

/* Step 5: the prescription to his pharmacy; the pharmacist's view of him is that prescription;
 * guidance online, dispensing paid by itself, delivery. */
static void the_prescription_reaches_his_pharmacy(void)
{
    const char *rx = "{\"patient\":\"%s\",\"medication\":{\"code\":\"2149039F1020\","
                     "\"display\":\"アムロジピン錠5mg\"},\"dosage\":\"1日1回 朝食後 1錠\","
                     "\"quantity\":{\"value\":90,\"unit\":\"錠\"},\"days\":90}";
    char *b = rx_fill(rx, F->taro, NULL);
    struct resp r = call("POST", "/api/v1/prescriptions", F->t_doctor, b);
    free(b);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "pharmacy"), F->pharmacy);
    char task[64];
    snprintf(task, sizeof task, "%s", json_str(r.json, "task"));
    resp_free(&r);

    r = call("GET", "/api/v1/pharmacy/tasks", F->t_pharmacist, NULL);
    assert_status(&r, 200);
    json_t *tasks = json_object_get(r.json, "tasks");
    assert_int_equal(json_array_size(tasks), 1);
    assert_string_equal(json_str(json_array_get(tasks, 0), "task"), task);
    resp_free(&r);

    /* his blood pressure is not the pharmacy's: refused (and recorded, below) */
    char *obs = str_printf("/fhir/Observation?patient=Patient/%s", F->taro);
    r = call("GET", obs, F->t_pharmacist, NULL);
    assert_status(&r, 200); /* a search: his readings are left out, and recorded as refused */
    assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 0);
    resp_free(&r);
    free(obs);

    char *base = str_printf("/api/v1/pharmacy/tasks/%s", task);
    r = call("GET", base, F->t_pharmacist, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(json_object_get(r.json, "prescription_resource"), "resourceType"),
                        "MedicationRequest");
    resp_free(&r);
    char *p = str_printf("%s/guidance", base);
    r = call("POST", p, F->t_pharmacist,
             "{\"text\":\"朝食後に1錠。ふらつきがあれば連絡を。\",\"channel\":\"online\"}");
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "guidance-given");
    resp_free(&r);
    free(p);

    long long before = balance(F->t_taro, "me");
    p = str_printf("%s/dispense", base);
    r = call("POST", p, F->t_pharmacist, "{\"fee\":800}");
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "dispensed");
    resp_free(&r);
    free(p);
    /* the pharmacy's invoice, paid by itself under the pharmacy mandate */
    char inv[64] = "";
    for (int i = 0; i < 200 && inv[0] == '\0'; i++) {
        r = call("GET", W "/invoices", F->t_taro, NULL);
        assert_status(&r, 200);
        json_t *list = json_object_get(r.json, "invoices");
        for (size_t k = 0; k < json_array_size(list); k++) {
            json_t *it = json_array_get(list, k);
            if (strcmp(json_str(it, "purpose"), "pharmacy-fees") == 0)
                snprintf(inv, sizeof inv, "%s", json_str(it, "id"));
        }
        resp_free(&r);
        if (inv[0] == '\0')
            sleep_ms(100);
    }
    assert_true(inv[0] != '\0');
    json_t *it = invoice_when(inv, "paid");
    assert_int_equal(json_integer_value(json_object_get(it, "amount")), 800);
    assert_string_equal(json_str(it, "issuer"), F->pharmacy);
    json_decref(it);
    assert_int_equal(balance(F->t_taro, "me"), before - 800);

    p = str_printf("%s/delivery", base);
    const char *steps[2] = {"dispatched", "delivered"};
    for (int i = 0; i < 2; i++) {
        char *db = str_printf("{\"status\":\"%s\"}", steps[i]);
        r = call("POST", p, F->t_pharmacist, db);
        assert_status(&r, 200);
        assert_string_equal(json_str(r.json, "status"), steps[i]);
        resp_free(&r);
        free(db);
    }
    free(p);
    r = call("GET", "/api/v1/me/prescriptions", F->t_taro, NULL);
    assert_status(&r, 200);
    json_t *mine = json_array_get(json_object_get(r.json, "prescriptions"), 0);
    assert_string_equal(json_str(mine, "task"), task);
    assert_string_equal(json_str(mine, "status"), "delivered");
    assert_non_null(json_object_get(mine, "guidance"));
    resp_free(&r);
    free(base);
}

/* Steps 7 and 10: the cardiac examination in person next month; the taxi company's queue has
 * the order 40 minutes before it (a normal day), and moves it on. */
static void the_taxi_comes_for_the_examination(void)
{
    char *q = str_printf("/api/v1/slots?specialty=cardiology&mode=in-person&from=%s&to=%s",
                         day_exam, day_exam);
    struct resp r = call("GET", q, F->t_taro, NULL);
    free(q);
    assert_status(&r, 200);
    json_t *first = json_array_get(json_object_get(r.json, "items"), 0);
    assert_non_null(first);
    assert_string_equal(json_str(first, "organization"), F->hospital);
    char *bb = str_printf("{\"slot\":\"%s\",\"mode\":\"in-person\"}", json_str(first, "id"));
    resp_free(&r);
    r = call("POST", "/api/v1/me/appointments", F->t_taro, bb);
    free(bb);
    assert_status(&r, 201);
    char appt[64], start[40];
    snprintf(appt, sizeof appt, "%s", json_str(r.json, "id"));
    snprintf(start, sizeof start, "%s", json_str(r.json, "start"));
    assert_null(json_object_get(r.json, "meeting_url"));
    resp_free(&r);

    json_t *order = NULL;
    for (int i = 0; i < 200 && order == NULL; i++) {
        r = call("GET", "/api/v1/me/taxi/orders", F->t_taro, NULL);
        assert_status(&r, 200);
        json_t *list = json_object_get(r.json, "orders");
        for (size_t k = 0; k < json_array_size(list); k++)
            if (strcmp(json_str(json_array_get(list, k), "appointment"), appt) == 0)
                order = json_incref(json_array_get(list, k));
        resp_free(&r);
        if (order == NULL)
            sleep_ms(100);
    }
    if (order == NULL)
        server_dump_log(F->s);
    assert_non_null(order);
    assert_int_equal(json_integer_value(json_object_get(order, "lead_minutes")), 40);
    assert_false(json_is_true(json_object_get(order, "snow")));
    assert_string_equal(json_str(order, "company"), F->taxi);
    assert_string_equal(json_str(order, "facility"), F->hospital);
    const char *pickup = json_str(order, "pickup_at");
    assert_int_equal(epoch_minutes(start) - epoch_minutes(pickup), 40);
    char task[64];
    snprintf(task, sizeof task, "%s", json_str(order, "task"));
    json_decref(order);

    r = call("GET", "/api/v1/taxi/orders", F->t_dispatcher, NULL);
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, "orders");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_str(json_array_get(list, 0), "task"), task);
    resp_free(&r);
    char *sp = str_printf("/api/v1/taxi/orders/%s/status", task);
    const char *steps[] = {"accepted", "en-route", "picked-up", "completed"};
    for (size_t i = 0; i < 4; i++) {
        char *sb = str_printf("{\"status\":\"%s\"}", steps[i]);
        r = call("POST", sp, F->t_dispatcher, sb);
        assert_status(&r, 200);
        resp_free(&r);
        free(sb);
    }
    free(sp);
    char *ft = str_printf("/fhir/Task/%s", task);
    fhir_status_when(ft, F->t_taro, "completed");
    free(ft);
}

/* His wife sees none of it: his appointments, invoices and prescriptions are his. */
static void his_wife_sees_none_of_it(const char *appt)
{
    char *p = str_printf("/api/v1/me/appointments/%s", appt);
    struct resp r = call("GET", p, F->t_hanako, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(p);
    r = call("GET", "/api/v1/me/prescriptions", F->t_hanako, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "prescriptions")), 0);
    resp_free(&r);
    r = call("GET", W "/invoices", F->t_hanako, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "invoices")), 0);
    resp_free(&r);
    p = str_printf(W "/accounts/person:%s", F->taro);
    r = call("GET", p, F->t_hanako, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    free(p);
}

/* The counts of org on his trail ({permit, deny}), through the data tracker. */
static void trail_counts(const char *org, long *permit, long *deny)
{
    char *p = str_printf("/api/v1/me/access-log?org=%s&limit=100", org);
    struct resp r = call("GET", p, F->t_taro, NULL);
    free(p);
    assert_status(&r, 200);
    *permit = *deny = 0;
    json_t *counts = json_object_get(r.json, "counts");
    for (size_t i = 0; i < json_array_size(counts); i++) {
        json_t *c = json_array_get(counts, i);
        json_t *o = json_object_get(c, "org");
        if (json_is_object(o) && strcmp(json_str(o, "id"), org) == 0) {
            *permit = (long)json_integer_value(json_object_get(c, "permit"));
            *deny = (long)json_integer_value(json_object_get(c, "deny"));
        }
    }
    resp_free(&r);
}

/* "Who saw my data": the clinic, the pharmacy and the taxi company, each under its consent;
 * the pharmacist's look at his blood pressure refused. */
static void his_trail_shows_every_party(void)
{
    long permit = 0, deny = 0;
    trail_counts(F->clinic, &permit, &deny);
    assert_true(permit >= 4); /* the queue, the questionnaire, the encounter, the notes, ... */
    trail_counts(F->pharmacy, &permit, &deny);
    assert_true(permit >= 2);
    assert_true(deny >= 1);
    trail_counts(F->taxi, &permit, &deny);
    assert_true(permit >= 1);
    assert_int_equal(deny, 0);

    /* the pharmacist's refusal says what was refused */
    char *p = str_printf("/api/v1/me/access-log?org=%s&decision=deny", F->pharmacy);
    struct resp r = call("GET", p, F->t_taro, NULL);
    free(p);
    assert_status(&r, 200);
    json_t *first = json_array_get(json_object_get(r.json, "items"), 0);
    assert_non_null(first);
    assert_string_equal(json_str(json_object_get(first, "what"), "resourceType"), "Observation");
    assert_string_equal(json_str(json_object_get(first, "who"), "role"), "pharmacist");
    resp_free(&r);
}

/* He withdraws his consent to the clinic; the doctor's next access is refused, and recorded. */
static void after_withdrawal_the_doctor_is_refused(const char *appt)
{
    char *me = str_printf("/api/v1/me/appointments/%s", appt);
    struct resp r = call("GET", me, F->t_taro, NULL);
    assert_status(&r, 200);
    char *report = str_printf("/fhir/DiagnosticReport/%s", json_str(r.json, "report"));
    resp_free(&r);
    free(me);
    r = call("GET", report, F->t_doctor, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    long permit = 0, deny_before = 0, deny_after = 0;
    trail_counts(F->clinic, &permit, &deny_before);
    rx_withdraw(F, F->t_taro, care_consent, care_hash);
    r = call("GET", report, F->t_doctor, NULL);
    assert_status(&r, 403); /* FHIR answers with an OperationOutcome */
    assert_string_equal(json_str(json_array_get(json_object_get(r.json, "issue"), 0), "code"),
                        "forbidden");
    resp_free(&r);
    trail_counts(F->clinic, &permit, &deny_after);
    assert_int_equal(deny_after, deny_before + 1);
    free(report);
}

static void the_ledger_balances(void)
{
    struct resp r = call("GET", W "/verify", ADMIN_TOKEN, NULL);
    assert_status(&r, 200);
    if (!json_is_true(json_object_get(r.json, "ok")))
        fail_msg("ledger: %s", r.body);
    assert_int_equal(json_integer_value(json_object_get(r.json, "issued")),
                     json_integer_value(json_object_get(r.json, "balances")) +
                         json_integer_value(json_object_get(r.json, "expired")));
    resp_free(&r);
    assert_int_equal(balance(F->t_taro, "me"), 20000 - 1500 - 800);
    assert_int_equal(balance(F->t_doctor, "me"), 1500);    /* the clinic's account */
    assert_int_equal(balance(F->t_pharmacist, "me"), 800); /* the pharmacy's */
}

static void the_s1_visit_journey(void **state)
{
    (void)state;
    char appt[64];
    taro_opts_in();
    taro_records_his_blood_pressure();
    taro_answers_and_books(appt, sizeof appt);
    the_doctor_sees_him_online(appt);
    the_prescription_reaches_his_pharmacy();
    the_taxi_comes_for_the_examination();
    his_wife_sees_none_of_it(appt);
    his_trail_shows_every_party();
    after_withdrawal_the_doctor_is_refused(appt);
    the_ledger_balances();
}

/* `cityos demo --journey=1` (what scripts/run.sh seeds) sets up the city's side of the same
 * journey, so the persona can walk it in the portal: the two purposes, his welcome currency,
 * slots of his family doctor (online) and of the cardiologist (in person); his own choices are
 * left to him; a second run changes nothing. */
static void the_demo_town_can_seed_the_journey(void **state)
{
    (void)state;
    char *dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=5 --seed=2 --journey=1 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), dir);
    for (int run = 0; run < 2; run++) {
        char *out = run_command(cmd);
        assert_non_null(strstr(out, "visit journey's city side is in place"));
        free(out);
    }
    free(cmd);
    struct server *s = server_start_with(&(struct server_config){.data_dir = dir});
    struct resp r = api_get(s, "/api/v1/purposes");
    assert_status(&r, 200);
    int found = 0;
    json_t *list = json_object_get(r.json, "purposes");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *code = json_str(json_array_get(list, i), "code");
        found += strcmp(code, "pharmacy") == 0 || strcmp(code, "mobility") == 0;
    }
    assert_int_equal(found, 2);
    resp_free(&r);
    const char *specs[2] = {"specialty=family-medicine&mode=online",
                            "specialty=cardiology&mode=in-person"};
    for (int i = 0; i < 2; i++) {
        char *p = str_printf("/api/v1/slots?%s", specs[i]);
        r = api(s, "GET", p, LIST(AUTH_HEADER), NULL, 0);
        free(p);
        assert_status(&r, 200);
        assert_true(json_array_size(json_object_get(r.json, "items")) >= 6);
        resp_free(&r);
    }
    r = api(s, "GET", W "/verify", LIST(AUTH_HEADER), NULL, 0);
    assert_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "ok")));
    json_int_t issued = json_integer_value(json_object_get(r.json, "issued"));
    assert_true(issued >= 5 * 13000); /* 10,000 welcome + 3,000 health points each */
    assert_int_equal(issued % 13000, 0);
    assert_int_equal(json_integer_value(json_object_get(r.json, "balances")), issued);
    resp_free(&r);
    r = api(s, "GET", W "/mandates", LIST(AUTH_HEADER), NULL, 0);
    assert_true(r.status == 403 || r.status == 401); /* the operator has no mandates */
    resp_free(&r);
    server_free(s);
    remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_s1_visit_journey),
        cmocka_unit_test(the_demo_town_can_seed_the_journey),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
