/* test_fhir.c - the FHIR R4 REST edge on one resource at a time, against the demo town (with
 * 会津 太郎's S1 consents: vitals to his family clinic and the hospital): 太郎 keeps his own
 * blood-pressure readings (create, read, update with If-Match, vread, history, delete); his
 * family doctor reads them under his consent and is refused what he did not consent to; a
 * hospital doctor's emergency access is recorded and told to him; every access is on his trail;
 * bad input is refused with an OperationOutcome and stores nothing. */
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TARO_EMAIL    "taro.aizu@example.jp"
#define TARO_PASS     "Minato-Tsuru-7Kq3-Bx9w"
#define HANAKO_EMAIL  "hanako.aizu@example.jp"
#define HANAKO_PASS   "Hanako-Yuki-4Rm8-Zp2v"
#define DOCTOR_EMAIL  "dr.yamaguchi@minato-clinic.example.jp"
#define DOCTOR_PASS   "Clinic-Inawa-3Wf7-Ld8s"
#define CARDIO_EMAIL  "dr.watanabe@tsurugajo-hospital.example.jp"
#define CARDIO_PASS   "Cardio-Bandai-6Jx2-Qe5n"
#define APP_REDIRECT  "http://127.0.0.1:8765/callback"
#define PATIENT_SCOPE "openid launch/patient patient/*.cruds"
#define USER_SCOPE    "openid user/*.cruds"
#define FHIR_HEADER   "Content-Type: application/fhir+json"

struct fixture {
    char *dir;
    struct server *s;
    char app[64], taro[32], hanako[32];
    char *t_taro, *t_hanako, *t_doctor, *t_cardio;
};

static struct fixture *F;

/* One exchange with a bearer token (NULL: none), a body sent as FHIR JSON, extra headers. */
static struct resp call_h(const char *method, const char *path, const char *tok, const char *body,
                          const char *extra)
{
    char *auth = tok != NULL ? str_printf("Authorization: Bearer %s", tok) : NULL;
    const char *h[4] = {NULL, NULL, NULL, NULL};
    size_t n = 0;
    if (auth != NULL)
        h[n++] = auth;
    if (body != NULL)
        h[n++] = FHIR_HEADER;
    if (extra != NULL)
        h[n++] = extra;
    struct resp r = api(F->s, method, path, h, body, body != NULL ? strlen(body) : 0);
    free(auth);
    return r;
}

static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    return call_h(method, path, tok, body, NULL);
}

/* An OperationOutcome answer with status and issue code. */
static void assert_outcome(const struct resp *r, long status, const char *code)
{
    assert_status(r, status);
    assert_string_equal(json_str(r->json, "resourceType"), "OperationOutcome");
    assert_string_equal(json_str(json_array_get(json_object_get(r->json, "issue"), 0), "code"),
                        code);
}

/* A blood-pressure Observation (LOINC 85354-9 with 8480-6 and 8462-4) of patient. */
static char *bp(const char *patient, int sys, int dia, const char *when)
{
    return str_printf(
        "{\"resourceType\":\"Observation\",\"status\":\"final\","
        "\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
        "observation-category\",\"code\":\"vital-signs\"}]}],"
        "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"85354-9\","
        "\"display\":\"Blood pressure panel\"}]},"
        "\"subject\":{\"reference\":\"Patient/%s\"},\"effectiveDateTime\":\"%s\","
        "\"component\":["
        "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},"
        "\"valueQuantity\":{\"value\":%d,\"unit\":\"mmHg\",\"system\":\"http://"
        "unitsofmeasure.org\","
        "\"code\":\"mm[Hg]\"}},"
        "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8462-4\"}]},"
        "\"valueQuantity\":{\"value\":%d,\"unit\":\"mmHg\",\"system\":\"http://"
        "unitsofmeasure.org\","
        "\"code\":\"mm[Hg]\"}}]}",
        patient, when, sys, dia);
}

static char *med_request(const char *patient)
{
    return str_printf(
        "{\"resourceType\":\"MedicationRequest\",\"status\":\"active\",\"intent\":\"order\","
        "\"medicationCodeableConcept\":{\"text\":\"amlodipine 5 mg\"},"
        "\"subject\":{\"reference\":\"Patient/%s\"}}",
        patient);
}

/* Creates body as tok; returns the new id (malloc'ed). */
static char *create(const char *type, const char *tok, const char *body)
{
    char *path = str_printf("/fhir/%s", type);
    struct resp r = call("POST", path, tok, body);
    assert_status(&r, 201);
    char *id = strdup(json_str(r.json, "id"));
    resp_free(&r);
    free(path);
    return id;
}

/* How many of the newest 100 entries of 太郎's access log have this action, resource type and
 * decision. */
static size_t logged(const char *action, const char *rtype, const char *decision)
{
    json_t *items = trail_items(F->s, F->t_taro, 100);
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        const char *a = trail_text(it, "what.action"), *t = trail_text(it, "what.resourceType"),
                   *d = trail_text(it, "decision");
        n += a != NULL && t != NULL && d != NULL && strcmp(a, action) == 0 &&
             strcmp(t, rtype) == 0 && strcmp(d, decision) == 0;
    }
    json_decref(items);
    return n;
}

/* ---- the citizen's own record ---- */

static void citizen_keeps_own_readings(void **state)
{
    (void)state;
    char *body = bp(F->taro, 138, 86, "2026-11-20T07:30:00+09:00");
    struct resp r = call("POST", "/fhir/Observation", F->t_taro, body);
    assert_status(&r, 201);
    assert_string_equal(resp_header(&r, "Content-Type"), "application/fhir+json");
    assert_string_equal(resp_header(&r, "ETag"), "W/\"1\"");
    assert_non_null(resp_header(&r, "Last-Modified"));
    char *id = strdup(json_str(r.json, "id"));
    char *loc = str_printf("/fhir/Observation/%s/_history/1", id);
    assert_non_null(strstr(resp_header(&r, "Location"), loc));
    assert_string_equal(json_str(json_object_get(r.json, "meta"), "versionId"), "1");
    resp_free(&r);
    free(body);

    char *path = str_printf("/fhir/Observation/%s", id);
    r = call("GET", path, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "id"), id);
    assert_string_equal(resp_header(&r, "ETag"), "W/\"1\"");
    json_t *doc = json_incref(r.json);
    resp_free(&r);

    /* update with the version seen; a stale If-Match is refused with 412 */
    json_object_set_new(doc, "status", json_string("amended"));
    char *text = json_dumps(doc, JSON_COMPACT);
    r = call_h("PUT", path, F->t_taro, text, "If-Match: W/\"1\"");
    assert_status(&r, 200);
    assert_string_equal(resp_header(&r, "ETag"), "W/\"2\"");
    assert_string_equal(json_str(r.json, "status"), "amended");
    resp_free(&r);
    r = call_h("PUT", path, F->t_taro, text, "If-Match: W/\"1\"");
    assert_outcome(&r, 412, "conflict");
    resp_free(&r);
    r = call_h("PUT", path, F->t_taro, text, "If-Match: banana");
    assert_outcome(&r, 400, "invalid");
    resp_free(&r);
    free(text);
    json_decref(doc);

    /* vread and history */
    char *v1 = str_printf("%s/_history/1", path);
    r = call("GET", v1, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "final");
    resp_free(&r);
    char *v9 = str_printf("%s/_history/9", path);
    r = call("GET", v9, F->t_taro, NULL);
    assert_outcome(&r, 404, "not-found");
    resp_free(&r);
    char *hist = str_printf("%s/_history", path);
    r = call("GET", hist, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "type"), "history");
    json_t *entries = json_object_get(r.json, "entry");
    assert_int_equal(json_array_size(entries), 2);
    assert_string_equal(
        json_str(json_object_get(json_object_get(json_array_get(entries, 0), "resource"), "meta"),
                 "versionId"),
        "2");
    resp_free(&r);

    /* delete: gone, history keeps it */
    r = call("DELETE", path, F->t_taro, NULL);
    assert_status(&r, 204);
    resp_free(&r);
    r = call("GET", path, F->t_taro, NULL);
    assert_outcome(&r, 410, "deleted");
    resp_free(&r);
    r = call("DELETE", path, F->t_taro, NULL);
    assert_status(&r, 204);
    resp_free(&r);
    r = call("GET", hist, F->t_taro, NULL);
    assert_status(&r, 200);
    entries = json_object_get(r.json, "entry");
    assert_int_equal(json_array_size(entries), 3);
    assert_string_equal(json_str(json_object_get(json_array_get(entries, 0), "request"), "method"),
                        "DELETE");
    resp_free(&r);

    /* each of those is on his trail: the writes with their commit, the reads before answering */
    assert_true(logged("create", "Observation", "permit") >= 1);
    assert_true(logged("update", "Observation", "permit") >= 1);
    assert_true(logged("delete", "Observation", "permit") >= 1);
    assert_true(logged("read", "Observation", "permit") >= 1);
    assert_true(logged("vread", "Observation", "permit") >= 1);
    assert_true(logged("history", "Observation", "permit") >= 1);
    free(hist);
    free(v1);
    free(v9);
    free(path);
    free(loc);
    free(id);
}

static void history_pages_with_a_cursor(void **state)
{
    (void)state;
    char *body = bp(F->taro, 128, 80, "2026-11-21T07:30:00+09:00");
    char *id = create("Observation", F->t_taro, body);
    char *path = str_printf("/fhir/Observation/%s", id);
    for (int i = 0; i < 4; i++) {
        struct resp g = call("GET", path, F->t_taro, NULL);
        json_t *doc = json_incref(g.json);
        resp_free(&g);
        json_object_set_new(doc, "status", json_string(i % 2 ? "final" : "amended"));
        char *t = json_dumps(doc, JSON_COMPACT);
        struct resp u = call("PUT", path, F->t_taro, t);
        assert_status(&u, 200);
        resp_free(&u);
        free(t);
        json_decref(doc);
    }
    /* five versions, two per page: 5, 4 | 3, 2 | 1 */
    char *next = str_printf("%s/_history?_count=2", path);
    int seen[6] = {0};
    int pages = 0;
    while (next != NULL) {
        struct resp r = call("GET", next, F->t_taro, NULL);
        assert_status(&r, 200);
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r.json, "entry"), i, e)
        {
            int v = atoi(
                json_str(json_object_get(json_object_get(e, "resource"), "meta"), "versionId"));
            assert_true(v >= 1 && v <= 5);
            seen[v]++;
        }
        free(next);
        next = NULL;
        json_t *link;
        json_array_foreach(json_object_get(r.json, "link"), i, link)
        {
            if (strcmp(json_str(link, "relation"), "next") == 0) {
                const char *u = strstr(json_str(link, "url"), "/fhir/");
                next = strdup(u);
            }
        }
        resp_free(&r);
        pages++;
    }
    assert_int_equal(pages, 3);
    for (int v = 1; v <= 5; v++)
        assert_int_equal(seen[v], 1);
    struct resp r = call("GET", "/fhir/Observation/_history?_cursor=12.x.y", F->t_taro, NULL);
    assert_outcome(&r, 400, "invalid");
    resp_free(&r);
    free(path);
    free(id);
    free(body);
}

/* ---- consent on every path ---- */

static void doctor_reads_under_consent_only(void **state)
{
    (void)state;
    char *body = bp(F->taro, 142, 90, "2026-11-22T07:30:00+09:00");
    char *obs = create("Observation", F->t_taro, body);
    char *mbody = med_request(F->taro);
    char *med = create("MedicationRequest", F->t_taro, mbody);
    size_t permits = logged("read", "Observation", "permit");
    size_t denies = logged("read", "MedicationRequest", "deny");

    /* his family doctor: vitals yes (his homedoctor and cardio consents), medications no */
    char *path = str_printf("/fhir/Observation/%s", obs);
    struct resp r = call("GET", path, F->t_doctor, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "id"), obs);
    resp_free(&r);
    char *mpath = str_printf("/fhir/MedicationRequest/%s", med);
    r = call("GET", mpath, F->t_doctor, NULL);
    assert_outcome(&r, 403, "forbidden");
    resp_free(&r);
    assert_int_equal(logged("read", "Observation", "permit"), permits + 1);
    assert_int_equal(logged("read", "MedicationRequest", "deny"), denies + 1);

    /* his wife has no link to his record: refused, recorded */
    r = call("GET", path, F->t_hanako, NULL);
    assert_outcome(&r, 403, "forbidden");
    resp_free(&r);

    /* a doctor may not write into his record without a write consent; nothing is stored */
    char *other = bp(F->taro, 120, 70, "2026-11-22T08:00:00+09:00");
    r = call("POST", "/fhir/Observation", F->t_doctor, other);
    assert_outcome(&r, 403, "forbidden");
    resp_free(&r);
    assert_true(logged("create", "Observation", "deny") >= 1);

    /* nor may 太郎 write into his wife's record */
    char *hers = bp(F->hanako, 120, 70, "2026-11-22T08:00:00+09:00");
    r = call("POST", "/fhir/Observation", F->t_taro, hers);
    assert_outcome(&r, 403, "forbidden");
    resp_free(&r);
    free(hers);
    free(other);
    free(path);
    free(mpath);
    free(med);
    free(mbody);
    free(obs);
    free(body);
}

static void emergency_access_is_recorded_and_told(void **state)
{
    (void)state;
    char *mbody = med_request(F->taro);
    char *med = create("MedicationRequest", F->t_taro, mbody);
    char *path = str_printf("/fhir/MedicationRequest/%s", med);
    /* the hospital's cardiologist: no consent covers medications */
    struct resp r = call("GET", path, F->t_cardio, NULL);
    assert_outcome(&r, 403, "forbidden");
    resp_free(&r);
    r = call_h("GET", path, F->t_cardio, NULL, "X-Break-Glass-Reason: ok");
    assert_outcome(&r, 403, "forbidden"); /* not a stated reason */
    resp_free(&r);
    r = call_h("GET", path, F->t_cardio, NULL, "X-Break-Glass-Reason: %ZZ");
    assert_outcome(&r, 400, "invalid");
    resp_free(&r);
    r = call_h("GET", path, F->t_cardio, NULL,
               "X-Break-Glass-Reason: "
               "%E6%95%91%E6%80%A5%E6%90%AC%E9%80%81%E3%80%81%E6%84%8F%E8%AD%98%E3%81%AA%E3%81%97");
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "id"), med);
    resp_free(&r);
    assert_true(logged("read", "MedicationRequest", "permit") >= 1);
    r = call("GET", "/api/v1/me/inbox", F->t_taro, NULL);
    assert_status(&r, 200);
    assert_non_null(strstr(r.body, "break_glass"));
    resp_free(&r);
    free(path);
    free(med);
    free(mbody);
}

/* ---- bad input ---- */

static void bad_input_is_refused_and_stores_nothing(void **state)
{
    (void)state;
    struct resp r = call("POST", "/fhir/Observation", F->t_taro, "{\"resourceType\":");
    assert_outcome(&r, 400, "structure");
    resp_free(&r);
    r = call("POST", "/fhir/Observation", F->t_taro, "[1,2]");
    assert_outcome(&r, 400, "structure");
    resp_free(&r);
    char *cond = str_printf("{\"resourceType\":\"Condition\",\"subject\":{\"reference\":"
                            "\"Patient/%s\"}}",
                            F->taro);
    r = call("POST", "/fhir/Observation", F->t_taro, cond);
    assert_outcome(&r, 400, "invalid");
    resp_free(&r);
    free(cond);
    /* no subject, a subject who is no citizen, a reference of another kind */
    r = call("POST", "/fhir/Observation", F->t_taro,
             "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"}}");
    assert_int_equal(r.status / 100, 4);
    resp_free(&r);
    char *ghost = bp("0000000000000000000000000Z", 120, 80, "2026-11-22T08:00:00+09:00");
    r = call("POST", "/fhir/Observation", F->t_taro, ghost);
    assert_outcome(&r, 422, "processing");
    resp_free(&r);
    free(ghost);
    char *group = bp(F->taro, 120, 80, "2026-11-22T08:00:00+09:00");
    char *g = strstr(group, "Patient/");
    memcpy(g, "Group/12", 8);
    r = call("POST", "/fhir/Observation", F->t_taro, group);
    assert_int_equal(r.status / 100, 4);
    resp_free(&r);
    free(group);
    /* structure against the R4 definitions: every issue with its location */
    char *bad = bp(F->taro, 120, 80, "2026-11-22T08:00:00+09:00");
    char *st = strstr(bad, "\"final\"");
    memcpy(st, "\"fnord\"", 7);
    char *bad2 = str_printf("{\"colour\":\"red\",\"valueString\":7,%s", bad + 1);
    r = call("POST", "/fhir/Observation", F->t_taro, bad2);
    assert_status(&r, 422);
    assert_string_equal(json_str(r.json, "resourceType"), "OperationOutcome");
    const char *want[] = {"Observation.status", "Observation.colour", "Observation.valueString"};
    for (size_t k = 0; k < 3; k++) {
        int found = 0;
        size_t i;
        json_t *issue;
        json_array_foreach(json_object_get(r.json, "issue"), i, issue)
        {
            found |=
                strcmp(json_string_value(json_array_get(json_object_get(issue, "expression"), 0)),
                       want[k]) == 0;
        }
        assert_true(found);
    }
    resp_free(&r);
    free(bad2);
    free(bad);
    /* references must exist, and another citizen's records are reached only through them */
    char *perf = bp(F->taro, 120, 80, "2026-11-22T08:00:00+09:00");
    char *perf2 =
        str_printf("{\"performer\":[{\"reference\":\"Practitioner/nobody\"}],%s", perf + 1);
    r = call("POST", "/fhir/Observation", F->t_taro, perf2);
    assert_status(&r, 422);
    assert_non_null(strstr(r.body, "not-found"));
    assert_non_null(strstr(r.body, "Observation.performer[0]"));
    resp_free(&r);
    free(perf2);
    char *hers = bp(F->hanako, 110, 70, "2026-11-22T08:00:00+09:00");
    char *her_id = create("Observation", F->t_hanako, hers);
    perf2 = str_printf("{\"hasMember\":[{\"reference\":\"Observation/%s\"}],%s", her_id, perf + 1);
    r = call("POST", "/fhir/Observation", F->t_taro, perf2);
    assert_status(&r, 422);
    assert_non_null(strstr(r.body, "forbidden"));
    resp_free(&r);
    free(perf2);
    perf2 = str_printf("{\"hasMember\":[{\"reference\":\"urn:uuid:"
                       "9b1d3c5e-8f7a-4c2b-9d1e-3f5a7c9b1d3e\"}],%s",
                       perf + 1);
    r = call("POST", "/fhir/Observation", F->t_taro, perf2);
    assert_status(&r, 422);
    resp_free(&r);
    free(perf2);
    free(her_id);
    free(hers);
    free(perf);
    /* wrong media type, unknown type, read-only types, unknown query parameter, no token */
    char *ok = bp(F->taro, 120, 80, "2026-11-22T08:00:00+09:00");
    const char *plain[] = {"Authorization: Bearer x", "Content-Type: text/plain", NULL};
    char *auth = str_printf("Authorization: Bearer %s", F->t_taro);
    plain[0] = auth;
    r = api(F->s, "POST", "/fhir/Observation", plain, ok, strlen(ok));
    assert_outcome(&r, 415, "not-supported");
    resp_free(&r);
    free(auth);
    r = call("POST", "/fhir/Spaceship", F->t_taro, ok);
    assert_outcome(&r, 404, "not-supported");
    resp_free(&r);
    r = call("POST", "/fhir/AuditEvent", F->t_taro, ok);
    assert_int_equal(r.status / 100, 4);
    resp_free(&r);
    r = call("GET", "/fhir/Observation/x?color=blue", F->t_taro, NULL);
    assert_outcome(&r, 400, "not-supported");
    resp_free(&r);
    r = call("GET", "/fhir/Observation/x?_format=xml", F->t_taro, NULL);
    assert_outcome(&r, 406, "not-supported");
    resp_free(&r);
    r = call("POST", "/fhir/Observation", NULL, ok);
    assert_outcome(&r, 401, "login");
    resp_free(&r);
    r = call("POST", "/fhir/Observation", "not-a-token", ok);
    assert_outcome(&r, 401, "login");
    resp_free(&r);
    /* an update whose body names another id; an update moving a record to another citizen */
    char *id = create("Observation", F->t_taro, ok);
    char *path = str_printf("/fhir/Observation/%s", id);
    r = call("PUT", path, F->t_taro, ok);
    assert_outcome(&r, 400, "invalid");
    resp_free(&r);
    char *moved = bp(F->hanako, 120, 80, "2026-11-22T08:00:00+09:00");
    char *moved_id = str_printf("{\"id\":\"%s\",%s", id, moved + 1);
    r = call("PUT", path, F->t_taro, moved_id);
    assert_int_equal(r.status / 100, 4);
    resp_free(&r);
    /* nothing of that changed the stored one */
    r = call("GET", path, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(resp_header(&r, "ETag"), "W/\"1\"");
    resp_free(&r);
    r = call("GET",
             "/fhir/Observation/not..valid..id..but..long..enough..to..be..refused..1234567890",
             F->t_taro, NULL);
    assert_outcome(&r, 404, "not-found");
    resp_free(&r);
    free(moved_id);
    free(moved);
    free(path);
    free(id);
    free(ok);
}

/* ---- shared data ---- */

static void shared_directories(void **state)
{
    (void)state;
    const char *org = "{\"resourceType\":\"Organization\",\"name\":\"会津若松市保健所\"}";
    /* a citizen cannot write the directory; a practitioner can; everyone signed in reads */
    struct resp r = call("POST", "/fhir/Organization", F->t_taro, org);
    assert_outcome(&r, 403, "forbidden");
    resp_free(&r);
    char *id = create("Organization", F->t_doctor, org);
    char *path = str_printf("/fhir/Organization/%s", id);
    r = call("GET", path, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "name"), "会津若松市保健所");
    resp_free(&r);
    free(path);
    free(id);
}

/* ---- search ---- */

/* The ids of the match entries of a searchset (malloc'ed, comma-joined, in order). */
static char *matches(const json_t *bundle)
{
    char *out = strdup("");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(bundle, "entry"), i, e)
    {
        if (strcmp(json_str(json_object_get(e, "search"), "mode"), "match") != 0)
            continue;
        char *next = str_printf("%s%s%s", out, out[0] ? "," : "",
                                json_str(json_object_get(e, "resource"), "id"));
        free(out);
        out = next;
    }
    return out;
}

static size_t count_of(const char *csv)
{
    size_t n = csv[0] != '\0';
    for (const char *p = csv; *p; p++)
        n += *p == ',';
    return n;
}

static void search_shows_only_what_the_caller_may_see(void **state)
{
    (void)state;
    /* 太郎 keeps three readings, his wife one */
    char *b1 = bp(F->taro, 150, 95, "2026-10-01T12:00:00+09:00");
    char *b2 = bp(F->taro, 135, 85, "2026-10-15T12:00:00+09:00");
    char *b3 = bp(F->taro, 125, 80, "2026-10-30T12:00:00+09:00");
    char *h1 = bp(F->hanako, 118, 76, "2026-10-15T12:00:00+09:00");
    char *o1 = create("Observation", F->t_taro, b1), *o2 = create("Observation", F->t_taro, b2);
    char *o3 = create("Observation", F->t_taro, b3), *oh = create("Observation", F->t_hanako, h1);
    char *mb = med_request(F->taro);
    char *m1 = create("MedicationRequest", F->t_taro, mb);

    /* his own search: by code and date range, newest first */
    char *q = str_printf("/fhir/Observation?patient=Patient/%s&code=http://loinc.org|85354-9"
                         "&date=ge2026-10-01&date=lt2026-11&_sort=-date",
                         F->taro);
    struct resp r = call("GET", q, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "type"), "searchset");
    char *got = matches(r.json);
    char *want = str_printf("%s,%s,%s", o3, o2, o1);
    assert_string_equal(got, want);
    resp_free(&r);
    free(got);
    free(want);
    free(q);

    /* his wife searching every blood pressure sees hers only */
    r = call("GET", "/fhir/Observation?code=85354-9&date=2026-10&_total=accurate", F->t_hanako,
             NULL);
    assert_status(&r, 200);
    got = matches(r.json);
    if (strcmp(got, oh) != 0)
        fprintf(stderr, "%s\n", r.body);
    assert_string_equal(got, oh);
    assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 1);
    resp_free(&r);
    free(got);

    /* his doctor: his vitals under his consent, never his medications (and that is recorded) */
    size_t denied = logged("search", "MedicationRequest", "deny");
    q = str_printf("/fhir/Observation?subject=Patient/%s&date=2026-10&_total=accurate", F->taro);
    r = call("GET", q, F->t_doctor, NULL);
    assert_status(&r, 200);
    got = matches(r.json);
    assert_int_equal(count_of(got), 3);
    assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 3);
    assert_null(strstr(got, oh));
    resp_free(&r);
    free(got);
    free(q);
    q = str_printf("/fhir/MedicationRequest?subject=Patient/%s&_summary=count", F->taro);
    r = call("GET", q, F->t_doctor, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 0);
    resp_free(&r);
    free(q);
    assert_int_equal(logged("search", "MedicationRequest", "deny"), denied + 1);
    assert_true(logged("search", "Observation", "permit") >= 1);

    /* paging: one per page, every reading exactly once */
    q = str_printf("/fhir/Observation?patient=%s&date=2026-10&_count=1", F->taro);
    char *next = strdup(q);
    size_t pages = 0;
    char *seen = strdup("");
    while (next != NULL) {
        r = call("GET", next, F->t_taro, NULL);
        assert_status(&r, 200);
        got = matches(r.json);
        char *acc = str_printf("%s%s%s", seen, seen[0] && got[0] ? "," : "", got);
        free(seen);
        seen = acc;
        free(got);
        free(next);
        next = NULL;
        size_t i;
        json_t *link;
        json_array_foreach(json_object_get(r.json, "link"), i, link)
        {
            if (strcmp(json_str(link, "relation"), "next") == 0)
                next = strdup(strstr(json_str(link, "url"), "/fhir/"));
        }
        resp_free(&r);
        pages++;
        assert_true(pages <= 4);
    }
    assert_int_equal(count_of(seen), 3);
    assert_non_null(strstr(seen, o1));
    assert_non_null(strstr(seen, o2));
    assert_non_null(strstr(seen, o3));
    free(seen);
    free(q);

    /* POST _search with a form body gives the same */
    char *form = str_printf("patient=%s&date=2026-10-15", F->taro);
    const char *h[] = {NULL, "Content-Type: application/x-www-form-urlencoded", NULL};
    char *auth = str_printf("Authorization: Bearer %s", F->t_taro);
    h[0] = auth;
    r = api(F->s, "POST", "/fhir/Observation/_search", h, form, strlen(form));
    assert_status(&r, 200);
    got = matches(r.json);
    assert_string_equal(got, o2);
    resp_free(&r);
    free(got);
    free(auth);
    free(form);

    /* unknown parameters: ignored with a warning, or refused under handling=strict */
    r = call("GET", "/fhir/Observation?colour=red&_count=5", F->t_taro, NULL);
    assert_status(&r, 200);
    assert_non_null(strstr(r.body, "\"outcome\""));
    resp_free(&r);
    r = call_h("GET", "/fhir/Observation?colour=red", F->t_taro, NULL, "Prefer: handling=strict");
    assert_status(&r, 400);
    assert_string_equal(json_str(r.json, "resourceType"), "OperationOutcome");
    resp_free(&r);
    r = call("GET", "/fhir/Observation?date=yesterday", F->t_taro, NULL);
    assert_int_equal(r.status == 400 || r.status == 200, 1);
    resp_free(&r);
    r = call("GET", "/fhir/Observation?_count=0x10&_cursor=garbage", F->t_taro, NULL);
    assert_status(&r, 400);
    resp_free(&r);
    free(m1);
    free(mb);
    free(o1);
    free(o2);
    free(o3);
    free(oh);
    free(b1);
    free(b2);
    free(b3);
    free(h1);
}

static void capability_statement(void **state)
{
    (void)state;
    struct resp r = call("GET", "/fhir/metadata", NULL, NULL);
    assert_status(&r, 200);
    assert_string_equal(resp_header(&r, "Content-Type"), "application/fhir+json");
    assert_string_equal(json_str(r.json, "resourceType"), "CapabilityStatement");
    assert_string_equal(json_str(r.json, "fhirVersion"), "4.0.1");
    json_t *res = json_object_get(json_array_get(json_object_get(r.json, "rest"), 0), "resource");
    int obs = 0;
    size_t i;
    json_t *x;
    json_array_foreach(res, i, x)
    {
        if (strcmp(json_str(x, "type"), "Observation") != 0)
            continue;
        obs = 1;
        char *sp = json_dumps(json_object_get(x, "searchParam"), 0);
        assert_non_null(strstr(sp, "value-quantity"));
        free(sp);
    }
    assert_true(obs);
    resp_free(&r);
}

/* ---- batch and transaction ---- */

static long count_mine(const char *query)
{
    char *q = str_printf("%s&_summary=count", query);
    struct resp r = call("GET", q, F->t_taro, NULL);
    assert_status(&r, 200);
    long n = (long)json_integer_value(json_object_get(r.json, "total"));
    resp_free(&r);
    free(q);
    return n;
}

static char *entry_post(const char *full_url, const char *type, const char *res)
{
    return str_printf("{\"fullUrl\":\"%s\",\"resource\":%s,\"request\":{\"method\":\"POST\","
                      "\"url\":\"%s\"}}",
                      full_url, res, type);
}

static void transactions_are_all_or_nothing(void **state)
{
    (void)state;
    char *q = str_printf("/fhir/Observation?patient=%s&date=2026-09", F->taro);
    long before = count_mine(q);
    char *o1 = bp(F->taro, 131, 84, "2026-09-10T12:00:00+09:00");
    char *o2 = bp(F->taro, 129, 82, "2026-09-11T12:00:00+09:00");
    char *rep = str_printf(
        "{\"resourceType\":\"DiagnosticReport\",\"status\":\"final\",\"code\":{\"text\":"
        "\"home blood pressure\"},\"subject\":{\"reference\":\"Patient/%s\"},\"result\":["
        "{\"reference\":\"urn:uuid:6a1f1b2e-0000-4000-8000-000000000001\"},"
        "{\"reference\":\"urn:uuid:6a1f1b2e-0000-4000-8000-000000000002\"}]}",
        F->taro);
    char *e1 = entry_post("urn:uuid:6a1f1b2e-0000-4000-8000-000000000001", "Observation", o1);
    char *e2 = entry_post("urn:uuid:6a1f1b2e-0000-4000-8000-000000000002", "Observation", o2);
    char *e3 = entry_post("urn:uuid:6a1f1b2e-0000-4000-8000-000000000003", "DiagnosticReport", rep);
    char *tx = str_printf("{\"resourceType\":\"Bundle\",\"type\":\"transaction\","
                          "\"entry\":[%s,%s,%s]}",
                          e1, e2, e3);
    struct resp r = call("POST", "/fhir", F->t_taro, tx);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "type"), "transaction-response");
    json_t *entries = json_object_get(r.json, "entry");
    assert_int_equal(json_array_size(entries), 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(
            json_str(json_object_get(json_array_get(entries, i), "response"), "status"),
            "201 Created");
    /* the report's results now name the stored Observations */
    const char *id1 = json_str(json_object_get(json_array_get(entries, 0), "resource"), "id");
    json_t *report = json_object_get(json_array_get(entries, 2), "resource");
    char *want = str_printf("Observation/%s", id1);
    assert_string_equal(json_str(json_array_get(json_object_get(report, "result"), 0), "reference"),
                        want);
    free(want);
    resp_free(&r);
    assert_int_equal(count_mine(q), before + 2);

    /* one invalid entry: nothing of the three is stored, the issue names its place */
    char *bad = strdup(o2);
    memcpy(strstr(bad, "\"final\""), "\"fnord\"", 7);
    char *eb = entry_post("urn:uuid:6a1f1b2e-0000-4000-8000-000000000002", "Observation", bad);
    char *tx2 = str_printf("{\"resourceType\":\"Bundle\",\"type\":\"transaction\","
                           "\"entry\":[%s,%s,%s]}",
                           e1, eb, e3);
    r = call("POST", "/fhir", F->t_taro, tx2);
    assert_status(&r, 422);
    assert_non_null(strstr(r.body, "Bundle.entry[1].resource.status"));
    resp_free(&r);
    assert_int_equal(count_mine(q), before + 2);

    /* one entry for someone else: refused as a whole */
    char *hers = bp(F->hanako, 131, 84, "2026-09-10T12:00:00+09:00");
    char *eh = entry_post("urn:uuid:6a1f1b2e-0000-4000-8000-000000000009", "Observation", hers);
    char *tx3 = str_printf("{\"resourceType\":\"Bundle\",\"type\":\"transaction\","
                           "\"entry\":[%s,%s]}",
                           e1, eh);
    r = call("POST", "/fhir", F->t_taro, tx3);
    assert_outcome(&r, 403, "forbidden");
    resp_free(&r);
    assert_int_equal(count_mine(q), before + 2);

    /* a batch: each entry on its own */
    char *bt = str_printf("{\"resourceType\":\"Bundle\",\"type\":\"batch\","
                          "\"entry\":[%s,%s]}",
                          e1, eh);
    r = call("POST", "/fhir", F->t_taro, bt);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "type"), "batch-response");
    entries = json_object_get(r.json, "entry");
    assert_string_equal(json_str(json_object_get(json_array_get(entries, 0), "response"), "status"),
                        "201 Created");
    assert_string_equal(json_str(json_object_get(json_array_get(entries, 1), "response"), "status"),
                        "403 Forbidden");
    resp_free(&r);
    assert_int_equal(count_mine(q), before + 3);

    /* malformed Bundles */
    const char *bads[] = {
        "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[]}",
        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[]}",
        ("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"request\":"
         "{\"method\":\"PATCH\",\"url\":\"Observation/x\"}}]}"),
        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[7]}",
        "{\"resourceType\":\"Observation\"}",
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        r = call("POST", "/fhir", F->t_taro, bads[i]);
        assert_int_equal(r.status / 100, 4);
        assert_string_equal(json_str(r.json, "resourceType"), "OperationOutcome");
        resp_free(&r);
    }
    assert_int_equal(count_mine(q), before + 3);
    free(bt);
    free(tx3);
    free(eh);
    free(hers);
    free(tx2);
    free(eb);
    free(bad);
    free(tx);
    free(e1);
    free(e2);
    free(e3);
    free(rep);
    free(o1);
    free(o2);
    free(q);
}

static void conditional_create_can_be_repeated(void **state)
{
    (void)state;
    char *base = bp(F->taro, 133, 83, "2026-08-01T12:00:00+09:00");
    char *body = str_printf("{\"identifier\":[{\"system\":\"urn:example:device-reading\","
                            "\"value\":\"wrist-42-20260801\"}],%s",
                            base + 1);
    const char *cond = "If-None-Exist: identifier=urn:example:device-reading|wrist-42-20260801";
    struct resp r = call_h("POST", "/fhir/Observation", F->t_taro, body, cond);
    assert_status(&r, 201);
    char *loc = strdup(resp_header(&r, "Location"));
    resp_free(&r);
    r = call_h("POST", "/fhir/Observation", F->t_taro, body, cond);
    assert_status(&r, 200);
    assert_string_equal(resp_header(&r, "Location"), loc);
    resp_free(&r);
    /* the same in a transaction entry */
    char *tx = str_printf("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
                          "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
                          "\"Observation\",\"ifNoneExist\":\"identifier=urn:example:device-reading|"
                          "wrist-42-20260801\"}}]}",
                          body);
    r = call("POST", "/fhir", F->t_taro, tx);
    assert_status(&r, 200);
    const json_t *resp0 =
        json_object_get(json_array_get(json_object_get(r.json, "entry"), 0), "response");
    assert_string_equal(json_str(resp0, "status"), "200 OK");
    assert_non_null(strstr(loc, json_str(resp0, "location")));
    resp_free(&r);
    char *q = str_printf("/fhir/Observation?identifier=urn:example:device-reading|wrist-42-20260801"
                         "&_summary=count");
    r = call("GET", q, F->t_taro, NULL);
    assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 1);
    resp_free(&r);
    /* a condition that is not a search */
    r = call_h("POST", "/fhir/Observation", F->t_taro, body, "If-None-Exist: colour=red");
    assert_outcome(&r, 400, "invalid");
    resp_free(&r);
    free(q);
    free(tx);
    free(loc);
    free(body);
    free(base);
}

static void everything_of_a_patient(void **state)
{
    (void)state;
    char *path = str_printf("/fhir/Patient/%s/$everything?_count=500", F->taro);
    /* 太郎 sees his whole record; medications among it */
    struct resp r = call("GET", path, F->t_taro, NULL);
    assert_status(&r, 200);
    char *all = matches(r.json);
    assert_non_null(strstr(r.body, "\"MedicationRequest\""));
    assert_non_null(strstr(r.body, "\"Observation\""));
    resp_free(&r);
    /* his doctor: what he consented to (vitals), no medications */
    r = call("GET", path, F->t_doctor, NULL);
    assert_status(&r, 200);
    assert_null(strstr(r.body, "\"MedicationRequest\""));
    assert_non_null(strstr(r.body, "\"Observation\""));
    char *docs = matches(r.json);
    assert_true(count_of(docs) < count_of(all));
    resp_free(&r);
    assert_true(logged("everything", "MedicationRequest", "deny") >= 1);
    /* pages of 2 add up to the whole */
    char *next = str_printf("/fhir/Patient/%s/$everything?_count=2", F->taro);
    size_t total = 0;
    while (next != NULL) {
        r = call("GET", next, F->t_taro, NULL);
        assert_status(&r, 200);
        char *m = matches(r.json);
        total += count_of(m);
        free(m);
        free(next);
        next = NULL;
        size_t i;
        json_t *link;
        json_array_foreach(json_object_get(r.json, "link"), i, link)
        {
            if (strcmp(json_str(link, "relation"), "next") == 0)
                next = strdup(strstr(json_str(link, "url"), "/fhir/"));
        }
        resp_free(&r);
    }
    assert_int_equal(total, count_of(all));
    r = call("GET", "/fhir/Patient/nobody/$everything", F->t_taro, NULL);
    assert_outcome(&r, 404, "not-found");
    resp_free(&r);
    char *bad = str_printf("/fhir/Patient/%s/$everything?_type=Spaceship", F->taro);
    r = call("GET", bad, F->t_taro, NULL);
    assert_outcome(&r, 400, "invalid");
    resp_free(&r);
    free(bad);
    free(docs);
    free(all);
    free(path);
}

static char *document(const char *patient, const char *type, const char *data, int size)
{
    char *sz = size >= 0 ? str_printf(",\"size\":%d", size) : strdup("");
    char *d =
        str_printf("{\"resourceType\":\"DocumentReference\",\"status\":\"current\","
                   "\"subject\":{\"reference\":\"Patient/%s\"},\"description\":\"血液検査結果\","
                   "\"content\":[{\"attachment\":{\"contentType\":\"%s\",\"data\":\"%s\"%s}}]}",
                   patient, type, data, sz);
    free(sz);
    return d;
}

static void offline_reports_are_type_checked(void **state)
{
    (void)state;
    /* "%PDF-1.4\n%\xe2\xe3\n" and a PNG signature, in base64 */
    const char *pdf = "JVBERi0xLjQKJeLjCg==", *png = "iVBORw0KGgoAAAAN";
    char *ok = document(F->taro, "application/pdf", pdf, 13);
    char *id = create("DocumentReference", F->t_taro, ok);
    char *path = str_printf("/fhir/DocumentReference/%s", id);
    struct resp r = call("GET", path, F->t_taro, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    /* his doctor has no consent for clinical documents */
    r = call("GET", path, F->t_doctor, NULL);
    assert_outcome(&r, 403, "forbidden");
    resp_free(&r);
    char *png_ok = document(F->taro, "image/png", png, -1);
    free(create("DocumentReference", F->t_taro, png_ok));
    struct {
        const char *type, *data;
        int size;
        const char *where;
    } bad[] = {
        {"image/png", pdf, -1, "attachment.data"},        /* the bytes are a PDF */
        {"text/html", pdf, -1, "attachment.contentType"}, /* not a document type */
        {"application/pdf", "%%%not-base64", -1, "attachment.data"},
        {"application/pdf", pdf, 99, "attachment.size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *b = document(F->taro, bad[i].type, bad[i].data, bad[i].size);
        r = call("POST", "/fhir/DocumentReference", F->t_taro, b);
        assert_status(&r, 422);
        assert_non_null(strstr(r.body, bad[i].where));
        resp_free(&r);
        free(b);
    }
    free(png_ok);
    free(path);
    free(id);
    free(ok);
}

/* ---- set-up ---- */

static char *token(const char *email, const char *pass, const char *act_as, const char *scope)
{
    return oidc_token(F->s, F->app, APP_REDIRECT, email, pass, act_as, scope);
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
    free(out);
    free(cmd);
    F->s = server_start_with(&(struct server_config){.data_dir = F->dir});
    /* a PHR app that writes too, registered by the city (the demo's sample app only reads) */
    const char *client = "{\"name\":\"FHIR test app\",\"kind\":\"public\",\"scopes\":"
                         "\"openid launch/patient patient/*.cruds user/*.cruds\","
                         "\"grant_types\":[\"authorization_code\"],"
                         "\"redirect_uris\":[\"" APP_REDIRECT "\"]}";
    struct resp r = api(F->s, "POST", "/api/v1/admin/clients", LIST(AUTH_HEADER, JSON_HEADER),
                        client, strlen(client));
    assert_status(&r, 201);
    snprintf(F->app, sizeof F->app, "%s", json_str(r.json, "client_id"));
    resp_free(&r);
    F->t_taro = token(TARO_EMAIL, TARO_PASS, "self", PATIENT_SCOPE);
    F->t_hanako = token(HANAKO_EMAIL, HANAKO_PASS, "self", PATIENT_SCOPE " " USER_SCOPE);
    F->t_doctor = token(DOCTOR_EMAIL, DOCTOR_PASS, "role:", USER_SCOPE);
    F->t_cardio = token(CARDIO_EMAIL, CARDIO_PASS, "role:", USER_SCOPE);
    subject_of(F->t_taro, F->taro, sizeof F->taro);
    subject_of(F->t_hanako, F->hanako, sizeof F->hanako);
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
    free(F->t_doctor);
    free(F->t_cardio);
    free(F);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(citizen_keeps_own_readings),
        cmocka_unit_test(history_pages_with_a_cursor),
        cmocka_unit_test(doctor_reads_under_consent_only),
        cmocka_unit_test(emergency_access_is_recorded_and_told),
        cmocka_unit_test(bad_input_is_refused_and_stores_nothing),
        cmocka_unit_test(shared_directories),
        cmocka_unit_test(search_shows_only_what_the_caller_may_see),
        cmocka_unit_test(capability_statement),
        cmocka_unit_test(transactions_are_all_or_nothing),
        cmocka_unit_test(conditional_create_can_be_repeated),
        cmocka_unit_test(everything_of_a_patient),
        cmocka_unit_test(offline_reports_are_type_checked),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
