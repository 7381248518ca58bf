/* test_prescription.c - the e-prescription of STORY.md S1 step 5 through the API, as 会津 太郎,
 * his family doctor, the pharmacist of the pharmacy he chose and others: choosing a pharmacy
 * grants the "pharmacy" consent with his evidence; the doctor writes only under his consent
 * and only to a pharmacy he chose and consented to; the pharmacist sees the pharmacy's queue
 * and that prescription and nothing else of his; guidance, dispense (the fee becomes an
 * Invoice), dispatch and delivery each tell him; other people's ids, bad input and a
 * withdrawn consent are refused, audited, and change nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consent_support.h"
#include "test_prescription_support.h"

static struct rx_fixture *F;
static char rx_hash[80], clinic_consent[64], pharmacy_consent[64], task[64], request[64];
static long rx_version;

#define RX_CATS "[\"medications\"]"

static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    return rx_call(F, method, path, tok, body);
}

static long count(const char *sql)
{
    return rx_db_count(F, sql);
}

static long denials(const char *rtype)
{
    char *q = str_printf("SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND decision = "
                         "'deny' AND resource_type = '%s'",
                         F->taro, rtype);
    long n = count(q);
    free(q);
    return n;
}

static char *choice_body(const char *pharmacy, const char *hash)
{
    char *ev = consent_evidence(hash);
    char *b = str_printf("{\"pharmacy\":\"%s\",\"evidence\":%s}", pharmacy, ev);
    free(ev);
    return b;
}

static char *rx_body(const char *patient)
{
    return str_printf("{\"patient\":\"%s\",\"medication\":{\"code\":\"2149039F1020\","
                      "\"display\":\"アムロジピン錠5mg\"},\"dosage\":\"1日1回 朝食後 1錠\","
                      "\"quantity\":{\"value\":90,\"unit\":\"錠\"},\"days\":90,"
                      "\"note\":\"血圧の薬です\"}",
                      patient);
}

static int group_setup(void **state)
{
    (void)state;
    F = rx_fixture_start(NULL);
    char *rec = str_printf("[\"%s\",\"%s\"]", F->clinic, F->pharmacy);
    rx_version = rx_publish(F, "pharmacy", RX_CATS, rec, rx_hash);
    free(rec);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    rx_fixture_stop(F);
    return 0;
}

/* The directory, and every wrong way of choosing a pharmacy: nothing chosen, no consent. */
static void choosing_a_pharmacy_checks_everything(void **state)
{
    (void)state;
    struct resp r = call("GET", "/api/v1/pharmacies", NULL, NULL);
    assert_status(&r, 200);
    assert_string_equal(
        json_str(json_array_get(json_object_get(r.json, "pharmacies"), 0), "name_ja"),
        "みなと調剤薬局");
    resp_free(&r);
    long consents = count("SELECT COUNT(*) FROM consent");
    char *ok = choice_body(F->pharmacy, rx_hash);
    r = call("PUT", "/api/v1/me/pharmacy", NULL, ok);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    r = call("PUT", "/api/v1/me/pharmacy", F->t_doctor, ok);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    char *auth = str_printf("Authorization: Bearer %s", F->t_taro);
    r = api(F->s, "PUT", "/api/v1/me/pharmacy?x=1", LIST(auth, JSON_HEADER), ok, strlen(ok));
    free(auth);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    r = call("PUT", "/api/v1/me/pharmacy", F->t_taro, "{\"pharmacy\":");
    assert_problem(&r, 400, "malformed-json");
    resp_free(&r);
    const char *bad[] = {"[]",
                         "{}",
                         "{\"pharmacy\":\"x\",\"evidence\":{}}",
                         "{\"pharmacy\":\"%s\"}",
                         "{\"pharmacy\":\"%s\",\"evidence\":{},\"x\":1}",
                         "{\"pharmacy\":\"%s\",\"evidence\":{\"explanation_hash\":\"00\"}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *b = rx_fill(bad[i], F->pharmacy, NULL);
        r = call("PUT", "/api/v1/me/pharmacy", F->t_taro, b);
        assert_problem(&r, 422, "validation-failed");
        resp_free(&r);
        free(b);
    }
    char *clinic = choice_body(F->clinic, rx_hash); /* not a pharmacy */
    r = call("PUT", "/api/v1/me/pharmacy", F->t_taro, clinic);
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    char *stale = choice_body(F->pharmacy, /* not the explanation he was shown */
                              "0000000000000000000000000000000000000000000000000000000000000000");
    r = call("PUT", "/api/v1/me/pharmacy", F->t_taro, stale);
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    r = call("GET", "/api/v1/me/pharmacy", F->t_taro, NULL);
    assert_status(&r, 200);
    assert_true(json_is_null(json_object_get(r.json, "pharmacy")));
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM consent"), consents);
    assert_int_equal(count("SELECT COUNT(*) FROM rx_pharmacy_choice"), 0);
    free(ok);
    free(clinic);
    free(stale);
}

/* The doctor writes only under 太郎's consent, and only to a pharmacy he chose. */
static void the_doctor_needs_his_consent_and_his_choice(void **state)
{
    (void)state;
    char *b = rx_body(F->taro);
    long before = denials("MedicationRequest");
    struct resp r = call("POST", "/api/v1/prescriptions", F->t_doctor, b);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_int_equal(denials("MedicationRequest"), before + 1);
    rx_grant(F, F->t_taro, "pharmacy", rx_version, rx_hash, F->clinic, RX_CATS, clinic_consent);
    r = call("POST", "/api/v1/prescriptions", F->t_doctor, b);
    assert_problem(&r, 409, "conflict"); /* no pharmacy chosen */
    resp_free(&r);
    /* a citizen, a pharmacist: not doctors */
    r = call("POST", "/api/v1/prescriptions", F->t_taro, b);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = call("POST", "/api/v1/prescriptions", F->t_pharmacist, b);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM rx_order"), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM fhir_resource WHERE rtype = 'MedicationRequest'"),
                     0);
    free(b);
}

static void bad_prescriptions_store_nothing(void **state)
{
    (void)state;
    const char *bad[] = {
        "[1]",
        "{}",
        "{\"patient\":\"%s\"}",
        "{\"patient\":\"nope\",\"medication\":{\"code\":\"1\",\"display\":\"x\"},\"dosage\":\"x\","
        "\"quantity\":{\"value\":1,\"unit\":\"錠\"},\"days\":1}",
        "{\"patient\":\"%s\",\"medication\":{\"code\":\"a b\",\"display\":\"x\"},\"dosage\":\"x\","
        "\"quantity\":{\"value\":1,\"unit\":\"錠\"},\"days\":1}",
        "{\"patient\":\"%s\",\"medication\":{\"code\":\"1\",\"display\":\"x\"},\"dosage\":\"x\","
        "\"quantity\":{\"value\":0,\"unit\":\"錠\"},\"days\":1}",
        "{\"patient\":\"%s\",\"medication\":{\"code\":\"1\",\"display\":\"x\"},\"dosage\":\"x\","
        "\"quantity\":{\"value\":-5,\"unit\":\"錠\"},\"days\":1}",
        "{\"patient\":\"%s\",\"medication\":{\"code\":\"1\",\"display\":\"x\"},\"dosage\":\"x\","
        "\"quantity\":{\"value\":1,\"unit\":\"錠\"},\"days\":366}",
        "{\"patient\":\"%s\",\"medication\":{\"code\":\"1\",\"display\":\"x\",\"system\":\"ftp:x\"}"
        ","
        "\"dosage\":\"x\",\"quantity\":{\"value\":1,\"unit\":\"錠\"},\"days\":1}",
        "{\"patient\":\"%s\",\"medication\":{\"code\":\"1\",\"display\":\"x\"},\"dosage\":\"\","
        "\"quantity\":{\"value\":1,\"unit\":\"錠\"},\"days\":1}",
        "{\"patient\":\"%s\",\"medication\":{\"code\":\"1\",\"display\":\"x\"},\"dosage\":\"x\","
        "\"quantity\":{\"value\":1,\"unit\":\"錠\"},\"days\":1,\"extra\":true}",
        /* a well-formed id of nobody */
        "{\"patient\":\"00000000000000000000000000\",\"medication\":{\"code\":\"1\",\"display\":"
        "\"x\"},\"dosage\":\"x\",\"quantity\":{\"value\":1,\"unit\":\"錠\"},\"days\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *b = rx_fill(bad[i], F->taro, NULL);
        struct resp r = call("POST", "/api/v1/prescriptions", F->t_doctor, b);
        assert_problem(&r, 422, "validation-failed");
        resp_free(&r);
        free(b);
    }
    struct resp r = call("POST", "/api/v1/prescriptions", F->t_doctor, "{\"patient\"");
    assert_problem(&r, 400, "malformed-json");
    resp_free(&r);
    char *auth = str_printf("Authorization: Bearer %s", F->t_doctor);
    r = api(F->s, "POST", "/api/v1/prescriptions", LIST(auth, "Content-Type: text/plain"), "{}", 2);
    free(auth);
    assert_problem(&r, 415, "unsupported-media-type");
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM rx_order"), 0);
}

static json_t *step(const char *what, const char *body, long status)
{
    char *path = str_printf("/api/v1/pharmacy/tasks/%s/%s", task, what);
    struct resp r = call("POST", path, F->t_pharmacist, body);
    if (status >= 400)
        assert_problem(&r, status, status == 409 ? "conflict" : "validation-failed");
    else
        assert_status(&r, status);
    json_t *out = json_incref(r.json);
    resp_free(&r);
    free(path);
    return out;
}

static void wait_for(const char *sql, long want)
{
    for (int i = 0; i < 100 && count(sql) < want; i++)
        sleep_ms(100);
    assert_int_equal(count(sql), want);
}

/* S1 step 5: he chooses みなと調剤薬局; his doctor prescribes; the pharmacist sees it, gives the
 * guidance online, dispenses, sends it; each step is in his inbox; the fee is an Invoice. */
static void the_s1_prescription_reaches_him(void **state)
{
    (void)state;
    char *choice = choice_body(F->pharmacy, rx_hash);
    struct resp r = call("PUT", "/api/v1/me/pharmacy", F->t_taro, choice);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "pharmacy"), F->pharmacy);
    snprintf(pharmacy_consent, sizeof pharmacy_consent, "%s", json_str(r.json, "consent"));
    resp_free(&r);
    /* choosing again reuses the consent */
    r = call("PUT", "/api/v1/me/pharmacy", F->t_taro, choice);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "consent"), pharmacy_consent);
    resp_free(&r);
    char *cpath = str_printf("/api/v1/me/consents/%s", pharmacy_consent);
    r = call("GET", cpath, F->t_taro, NULL);
    assert_status(&r, 200); /* a consent like any other, on his list */
    resp_free(&r);
    free(cpath);

    char *b = rx_body(F->taro);
    r = call("POST", "/api/v1/prescriptions", F->t_doctor, b);
    assert_status(&r, 201);
    snprintf(task, sizeof task, "%s", json_str(r.json, "task"));
    snprintf(request, sizeof request, "%s", json_str(r.json, "prescription"));
    assert_string_equal(json_str(r.json, "pharmacy"), F->pharmacy);
    assert_string_equal(json_str(r.json, "status"), "requested");
    resp_free(&r);
    free(b);

    /* the pharmacy's queue, and the prescription */
    r = call("GET", "/api/v1/pharmacy/tasks", F->t_pharmacist, NULL);
    assert_status(&r, 200);
    json_t *tasks = json_object_get(r.json, "tasks");
    assert_int_equal(json_array_size(tasks), 1);
    assert_string_equal(json_str(json_array_get(tasks, 0), "task"), task);
    resp_free(&r);
    char *tpath = str_printf("/api/v1/pharmacy/tasks/%s", task);
    r = call("GET", tpath, F->t_pharmacist, NULL);
    assert_status(&r, 200);
    json_t *tr = json_object_get(r.json, "task_resource");
    assert_string_equal(json_str(tr, "intent"), "order");
    char *owner = str_printf("Organization/%s", F->pharmacy);
    assert_string_equal(json_str(json_object_get(tr, "owner"), "reference"), owner);
    free(owner);
    json_t *mr = json_object_get(r.json, "prescription_resource");
    assert_string_equal(json_str(mr, "resourceType"), "MedicationRequest");
    assert_string_equal(json_str(json_object_get(mr, "medicationCodeableConcept"), "text"),
                        "アムロジピン錠5mg");
    resp_free(&r);
    /* the same through FHIR, under the same consent */
    char *fpath = str_printf("/fhir/MedicationRequest/%s", request);
    r = call("GET", fpath, F->t_pharmacist, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    free(fpath);
    /* and nothing he did not consent to: his blood pressure */
    char *opath = str_printf("/fhir/Observation?subject=Patient/%s", F->taro);
    r = call("GET", opath, F->t_pharmacist, NULL);
    assert_true(r.status == 403 || json_array_size(json_object_get(r.json, "entry")) == 0);
    resp_free(&r);
    free(opath);

    /* guidance before dispense; one step at a time */
    json_decref(step("dispense", "{\"fee\":1240}", 409));
    json_decref(step("guidance", "{\"text\":\"\"}", 422));
    json_decref(step("guidance", "{\"text\":\"x\",\"channel\":\"fax\"}", 422));
    json_t *o =
        step("guidance",
             "{\"text\":\"朝食後に1錠。めまいがあれば連絡を。\",\"channel\":\"online\"}", 200);
    assert_string_equal(json_str(o, "status"), "guidance-given");
    json_decref(o);
    json_decref(step("guidance", "{\"text\":\"again\",\"channel\":\"online\"}", 409));
    json_decref(step("dispense", "{\"fee\":0}", 422));
    json_decref(step("dispense", "{\"fee\":1.5}", 422));
    o = step("dispense", "{\"fee\":1240}", 200);
    assert_string_equal(json_str(o, "status"), "dispensed");
    const char *dispense = json_str(json_object_get(o, "dispense"), "id");
    assert_non_null(dispense);
    char *dpath = str_printf("/fhir/MedicationDispense/%s", dispense);
    json_decref(o);
    json_decref(step("delivery", "{\"status\":\"delivered\"}", 409));
    json_decref(step("delivery", "{\"status\":\"lost\"}", 422));
    json_decref(step("delivery", "{\"status\":\"dispatched\"}", 200));
    o = step("delivery", "{\"status\":\"delivered\"}", 200);
    assert_string_equal(json_str(o, "status"), "delivered");
    json_decref(o);
    json_decref(step("delivery", "{\"status\":\"delivered\"}", 409));

    /* his view: the notices, his list, the FHIR resources */
    json_t *n = rx_notices(F, F->t_taro, "pharmacy");
    assert_int_equal(json_array_size(n),
                     5); /* issued, guidance, dispensed, dispatched, delivered */
    assert_non_null(json_str(json_object_get(json_array_get(n, 0), "text"), "ja"));
    json_decref(n);
    r = call("GET", "/api/v1/me/prescriptions", F->t_taro, NULL);
    assert_status(&r, 200);
    json_t *mine = json_array_get(json_object_get(r.json, "prescriptions"), 0);
    assert_string_equal(json_str(mine, "status"), "delivered");
    assert_non_null(json_str(json_object_get(mine, "guidance"), "text"));
    resp_free(&r);
    char *ftask = str_printf("/fhir/Task/%s", task);
    r = call("GET", ftask, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "completed");
    assert_string_equal(json_str(json_object_get(r.json, "businessStatus"), "text"), "delivered");
    assert_string_equal(json_str(json_array_get(json_object_get(r.json, "note"), 0), "text"),
                        "[online] 朝食後に1錠。めまいがあれば連絡を。");
    resp_free(&r);
    free(ftask);
    r = call("GET", dpath, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "completed");
    assert_non_null(json_str(r.json, "whenHandedOver"));
    resp_free(&r);
    free(dpath);
    /* the fee: an Invoice of the pharmacy, once */
    wait_for("SELECT COUNT(*) FROM fhir_resource WHERE rtype = 'Invoice' AND body LIKE "
             "'%pharmacy-fees%'",
             1);
    free(tpath);
    free(choice);
}

/* Other people's ids: another pharmacy, a citizen, a made-up id. Refused, audited, unchanged. */
static void other_peoples_ids_are_refused(void **state)
{
    (void)state;
    char other[32];
    char *t_other = rx_other_org(F, "pharmacy", "pharmacist", "other@pharmacy.example.jp", other);
    struct resp r = call("GET", "/api/v1/pharmacy/tasks", t_other, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "tasks")), 0);
    resp_free(&r);
    long before = denials("Task");
    char *tpath = str_printf("/api/v1/pharmacy/tasks/%s", task);
    r = call("GET", tpath, t_other, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    char *gpath = str_printf("/api/v1/pharmacy/tasks/%s/guidance", task);
    r = call("POST", gpath, t_other, "{\"text\":\"x\",\"channel\":\"online\"}");
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    assert_int_equal(denials("Task"), before + 2);
    r = call("GET", "/api/v1/pharmacy/tasks/00000000000000000000000000", F->t_pharmacist, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = call("GET", "/api/v1/pharmacy/tasks/..%2F", F->t_pharmacist, NULL);
    assert_true(r.status == 404);
    resp_free(&r);
    r = call("GET", tpath, F->t_hanako, NULL); /* a citizen, not a pharmacist */
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = call("GET", "/api/v1/pharmacy/tasks", F->t_doctor, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    /* his wife's list is hers: empty */
    r = call("GET", "/api/v1/me/prescriptions", F->t_hanako, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "prescriptions")), 0);
    resp_free(&r);
    /* the hospital's cardiologist has no consent to prescribe for him */
    char *b = rx_body(F->taro);
    r = call("POST", "/api/v1/prescriptions", F->t_cardio, b);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM rx_order"), 1);
    free(b);
    free(tpath);
    free(gpath);
    free(t_other);
}

/* He withdraws the pharmacy's consent: the pharmacist no longer sees the prescription, and no
 * new one can go there. */
static void after_withdrawal_the_pharmacy_sees_nothing(void **state)
{
    (void)state;
    rx_withdraw(F, F->t_taro, pharmacy_consent, rx_hash);
    char *tpath = str_printf("/api/v1/pharmacy/tasks/%s", task);
    struct resp r = call("GET", tpath, F->t_pharmacist, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = call("GET", "/api/v1/pharmacy/tasks", F->t_pharmacist, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "tasks")), 0);
    assert_int_equal(json_integer_value(json_object_get(r.json, "withheld")), 1);
    resp_free(&r);
    char *b = rx_body(F->taro);
    r = call("POST", "/api/v1/prescriptions", F->t_doctor, b);
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM rx_order"), 1);
    free(b);
    free(tpath);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(choosing_a_pharmacy_checks_everything),
        cmocka_unit_test(the_doctor_needs_his_consent_and_his_choice),
        cmocka_unit_test(bad_prescriptions_store_nothing),
        cmocka_unit_test(the_s1_prescription_reaches_him),
        cmocka_unit_test(other_peoples_ids_are_refused),
        cmocka_unit_test(after_withdrawal_the_pharmacy_sees_nothing),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
