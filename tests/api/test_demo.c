/* test_demo.c - `cityos demo` as a specification: it seeds a town once (a second run seeds
 * nothing), the same seed gives the same town, and its back-end client gets a token; it
 * publishes the S1 purposes and 会津 太郎's opt-in to them, which he sees in his consents and
 * his access log, once (a second run, even after he withdrew one, changes nothing). */
#include "oidc_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define TARO_EMAIL   "taro.aizu@example.jp"
#define TARO_PASS    "Minato-Tsuru-7Kq3-Bx9w"
#define APP_REDIRECT "http://127.0.0.1:8765/callback"
#define APP_SCOPE    "openid launch/patient patient/*.rs patient/Consent.cu"

/* Runs `cityos demo` on dir; returns its stdout (malloc'ed) and sets *status to the exit code. */
static char *run_demo(const char *dir, int people, int seed, int *status)
{
    char *cmd = str_printf("'%s' demo --data-dir='%s' --people=%d --seed=%d 2>/dev/null",
                           getenv("CITYOS_BIN"), dir, people, seed);
    char *run = harness_command(cmd); /* a PostgreSQL run: the folder's database */
    FILE *p = popen(run, "r");
    free(run);
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    size_t got;
    while ((got = fread(out + n, 1, cap - 1 - n, p)) > 0)
        n += got;
    out[n] = '\0';
    int rc = pclose(p);
    *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    free(cmd);
    return out;
}

/* The text of the first line containing needle, from needle on (malloc'ed), or NULL. */
static char *line_from(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    if (p == NULL)
        return NULL;
    size_t n = strcspn(p, "\n");
    return str_printf("%.*s", (int)n, p);
}

/* The value after key= up to a space or the end of the line, in the line containing marker. */
static char *value_of(const char *text, const char *marker, const char *key)
{
    char *line = line_from(text, marker);
    assert_non_null(line);
    char *k = strstr(line, key);
    assert_non_null(k);
    k += strlen(key);
    char *v = str_printf("%.*s", (int)strcspn(k, " \n"), k);
    free(line);
    return v;
}

/* seed once, a second run seeds nothing; the sign-ins file is private; the printed back-end
 * client gets a client_credentials token from a server on that folder */
static void seeds_once_and_its_backend_client_works(void **state)
{
    (void)state;
    char *root = temp_dir();
    char *dir = str_printf("%s/data", root);
    int st = -1;
    char *out = run_demo(dir, 200, 7, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "seeded a demo town (seed 7): 208 people in "));
    assert_non_null(strstr(out, "5 organisations, 5 practitioner roles, 1 family link, 2 OAuth"));
    assert_non_null(strstr(out, "Demo sign-ins"));
    assert_non_null(strstr(out, "email=taro.aizu@example.jp password="));
    char *id = value_of(out, "back-end service", "client_id=");
    char *secret = value_of(out, "back-end service", "client_secret=");
    assert_int_equal(strlen(id), 26);
    assert_int_equal(strlen(secret), 43);
    char *app = value_of(out, "sample app", "client_id=");
    assert_int_equal(strlen(app), 26);
    free(app);
    app = value_of(out, "city portal", "client_id=");
    assert_int_equal(strlen(app), 26);
    free(app);

    char *file = str_printf("%s/demo-sign-ins.txt", dir);
    struct stat sb;
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    int st2 = -1;
    char *again = run_demo(dir, 200, 7, &st2);
    assert_int_equal(st2, 0);
    assert_non_null(strstr(again, "already has 208 people; nothing seeded"));
    assert_non_null(strstr(again, "already has 5 notices"));
    assert_null(strstr(again, "seeded a demo town"));

    struct server_config cfg = {.data_dir = dir};
    struct server *s = server_start_with(&cfg);
    char *auth = basic_auth_header(id, secret);
    const char *body = "grant_type=client_credentials";
    struct resp r = api(s, "POST", "/oauth/token", LIST(FORM_HEADER, auth), body, strlen(body));
    assert_status(&r, 200);
    const char *token = json_string_value(json_object_get(r.json, "access_token"));
    assert_non_null(token);
    char *bearer = str_printf("Authorization: Bearer %s", token);
    resp_free(&r);
    r = api(s, "GET", "/api/v1/me/token", LIST(bearer), NULL, 0);
    assert_status(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "client_id")), id);
    assert_string_equal(json_string_value(json_object_get(r.json, "scope")),
                        "system/Observation.rs system/Patient.rs");
    resp_free(&r);
    server_free(s);
    free(bearer);
    free(auth);
    free(file);
    free(again);
    free(secret);
    free(id);
    free(out);
    remove_tree(root);
    free(dir);
    free(root);
}

/* the content is a function of the seed (the regional ids are random by design) */
static void the_same_seed_gives_the_same_town(void **state)
{
    (void)state;
    char *roots[3], *outs[3];
    char *town[3], *first[3];
    const int seeds[3] = {7, 7, 8};
    for (int i = 0; i < 3; i++) {
        roots[i] = temp_dir();
        int st = -1;
        outs[i] = run_demo(roots[i], 200, seeds[i], &st);
        assert_int_equal(st, 0);
        town[i] = line_from(outs[i], "seeded a demo town");
        first[i] = line_from(outs[i], "first generated citizen");
        assert_non_null(town[i]);
        assert_non_null(first[i]);
    }
    /* the same seed: the same counts, the same first citizen, the same cast */
    char *t7 = strstr(town[0], "): "), *t7b = strstr(town[1], "): ");
    assert_string_equal(t7, t7b);
    assert_string_equal(first[0], first[1]);
    const char *cast[] = {"会津 太郎", "会津 花子", "佐藤 美咲", "山口 健一",
                          "渡部 誠",   "星 由美子", "小林 大輔", "斎藤 裕子"};
    for (size_t i = 0; i < sizeof cast / sizeof cast[0]; i++)
        for (int k = 0; k < 3; k++)
            assert_non_null(strstr(outs[k], cast[i]));
    /* another seed: another town */
    assert_true(strcmp(strstr(town[2], "): "), t7) != 0 || strcmp(first[2], first[0]) != 0);
    for (int i = 0; i < 3; i++) {
        remove_tree(roots[i]);
        free(roots[i]);
        free(outs[i]);
        free(town[i]);
        free(first[i]);
    }
}

/* ---- the consent side of S1 ---- */

/* The authorization-code flow of the demo's sample app for a cast member acting for
 * themselves; returns the access token (malloc'ed). */
static char *sign_in(struct server *s, const char *app, const char *email, const char *password)
{
    return oidc_token(s, app, APP_REDIRECT, email, password, "self", APP_SCOPE);
}

static struct resp get_with(struct server *s, const char *path, const char *token)
{
    char *auth = str_printf("Authorization: Bearer %s", token);
    struct resp r = api(s, "GET", path, LIST(auth), NULL, 0);
    free(auth);
    return r;
}

/* The purpose of this code in a purposes list (borrowed), failing unless exactly one. */
static json_t *purpose_in(json_t *list, const char *code)
{
    json_t *found = NULL;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *p = json_array_get(list, i);
        if (strcmp(json_str(p, "code"), code) == 0) {
            assert_null(found);
            found = p;
        }
    }
    assert_non_null(found);
    return found;
}

/* "a,b,c" from a JSON array of strings (malloc'ed). */
static char *joined(const json_t *arr)
{
    char *out = strdup("");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char *next =
            str_printf("%s%s%s", out, i ? "," : "", json_string_value(json_array_get(arr, i)));
        free(out);
        out = next;
    }
    return out;
}

/* The other recipient of a purpose than those given (NULL: none), into out. */
static void other_recipient(json_t *recipients, const char *a, const char *b, char out[64])
{
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(recipients); i++) {
        const char *r = json_string_value(json_array_get(recipients, i));
        if ((a == NULL || strcmp(r, a) != 0) && (b == NULL || strcmp(r, b) != 0))
            snprintf(out, 64, "%s", r);
    }
}

static int has_recipient(json_t *recipients, const char *id)
{
    for (size_t i = 0; i < json_array_size(recipients); i++)
        if (strcmp(json_string_value(json_array_get(recipients, i)), id) == 0)
            return 1;
    return 0;
}

/* The published purposes as the public list shows them: homedoctor and cardio at version 1,
 * one version each (history), with their texts, categories and recipients (the AI home doctor's
 * client, service, in both). Returns the current list (caller decrefs). */
static json_t *check_purposes(struct server *s, const char *service, char clinic[64],
                              char hospital[64])
{
    struct resp r = api(s, "GET", "/api/v1/purposes?history=true", NULL, NULL, 0);
    assert_status(&r, 200);
    json_t *list = json_incref(json_object_get(r.json, "purposes"));
    assert_int_equal(json_array_size(list), 2); /* one version of each: nothing republished */
    resp_free(&r);
    json_decref(list);
    r = api(s, "GET", "/api/v1/purposes", NULL, NULL, 0);
    assert_status(&r, 200);
    list = json_incref(json_object_get(r.json, "purposes"));
    resp_free(&r);

    json_t *hd = purpose_in(list, "homedoctor");
    assert_int_equal(json_integer_value(json_object_get(hd, "version")), 1);
    assert_string_equal(json_str(json_object_get(hd, "title"), "ja"), "在宅AIホームドクター");
    assert_string_equal(json_str(json_object_get(hd, "title"), "en"), "AI home doctor");
    const char *ex_en = json_str(json_object_get(hd, "explanation"), "en");
    assert_non_null(strstr(ex_en, "Minato Family Clinic")); /* with whom */
    assert_non_null(strstr(ex_en, "1825 days"));            /* how long */
    assert_non_null(strstr(ex_en, "withdraw"));             /* how to stop */
    assert_non_null(strstr(ex_en, "AI home doctor"));       /* who else, and what it does */
    assert_non_null(strstr(json_str(json_object_get(hd, "explanation"), "ja"), "撤回"));
    char *cats = joined(json_object_get(hd, "categories"));
    assert_string_equal(cats, "vitals,alerts");
    free(cats);
    assert_string_equal(json_str(hd, "legal_basis"), "consent");
    assert_int_equal(json_integer_value(json_object_get(hd, "retention_days")), 1825);
    assert_int_equal(strlen(json_str(hd, "explanation_hash")), 64);
    json_t *hr = json_object_get(hd, "recipients");
    assert_int_equal(json_array_size(hr), 2);
    assert_true(has_recipient(hr, service));
    other_recipient(hr, service, NULL, clinic);

    json_t *cv = purpose_in(list, "cardio");
    assert_int_equal(json_integer_value(json_object_get(cv, "version")), 1);
    assert_string_equal(json_str(json_object_get(cv, "title"), "ja"), "循環器病予防");
    assert_string_equal(json_str(json_object_get(cv, "title"), "en"),
                        "Cardiovascular disease prevention");
    assert_non_null(strstr(json_str(json_object_get(cv, "explanation"), "en"), "3650 days"));
    cats = joined(json_object_get(cv, "categories"));
    assert_string_equal(cats, "vitals,checkups,lab_results,contact,alerts");
    free(cats);
    assert_string_equal(json_str(cv, "legal_basis"), "consent");
    json_t *cr = json_object_get(cv, "recipients");
    assert_int_equal(json_array_size(cr), 3);
    /* the clinic and the service of homedoctor and one more: the hospital */
    assert_true(has_recipient(cr, clinic));
    assert_true(has_recipient(cr, service));
    other_recipient(cr, clinic, service, hospital);
    assert_string_not_equal(hospital, clinic);
    assert_true(hospital[0] != '\0');
    return list;
}

/* 太郎's consent for code to the purpose's recipients in his list (borrowed), checked against
 * the purpose p: the categories want, read. */
static json_t *check_consent(json_t *consents, const char *taro, json_t *p, const char *want_cats)
{
    const char *code = json_str(p, "code");
    json_t *found = NULL;
    for (size_t i = 0; i < json_array_size(consents); i++) {
        json_t *c = json_array_get(consents, i);
        if (strcmp(json_str(json_object_get(c, "purpose"), "code"), code) == 0 &&
            strcmp(json_str(json_object_get(c, "recipient"), "kind"), "purpose") == 0) {
            assert_null(found);
            found = c;
        }
    }
    assert_non_null(found);
    assert_string_equal(json_str(found, "subject"), taro);
    assert_string_equal(json_str(found, "granted_by"), taro);
    assert_string_equal(json_str(json_object_get(found, "recipient"), "kind"), "purpose");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(found, "purpose"), "version")), 1);
    char *got = joined(json_object_get(found, "categories"));
    assert_string_equal(got, want_cats);
    free(got);
    char *actions = joined(json_object_get(found, "actions"));
    assert_string_equal(actions, "read");
    free(actions);
    json_t *ev = json_object_get(found, "evidence");
    assert_string_equal(json_str(ev, "explanation_hash"), json_str(p, "explanation_hash"));
    assert_string_equal(json_str(ev, "channel"), "portal");
    assert_non_null(json_str(ev, "shown_at"));
    assert_non_null(json_str(ev, "agreed_at"));
    assert_true(strcmp(json_str(ev, "shown_at"), json_str(ev, "agreed_at")) < 0);
    return found;
}

/* The grant of consent id on 太郎's access log: created by him, for himself, under the purpose
 * version, with the demo's request id. */
static void check_logged(json_t *items, const char *taro, const char *id, const char *code)
{
    json_t *found = NULL;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i), *what = json_object_get(it, "what");
        if (json_str(what, "resourceId") != NULL && strcmp(json_str(what, "resourceId"), id) == 0 &&
            strcmp(json_str(what, "action"), "create") == 0) {
            assert_null(found);
            found = it;
        }
    }
    assert_non_null(found);
    json_t *who = json_object_get(found, "who"), *why = json_object_get(found, "why");
    assert_string_equal(json_str(json_object_get(found, "what"), "resourceType"), "Consent");
    assert_string_equal(json_str(found, "decision"), "permit");
    assert_string_equal(json_str(who, "kind"), "person");
    assert_string_equal(json_str(who, "id"), taro);
    assert_string_equal(json_str(who, "name"), "会津 太郎");
    assert_string_equal(json_str(why, "decidedBy"), "rule:self");
    char *purpose = str_printf("%s@1", code);
    assert_string_equal(json_str(why, "purpose"), purpose);
    free(purpose);
    char *rid = str_printf("demo-s1-%s", code);
    assert_string_equal(json_str(found, "requestId"), rid);
    free(rid);
}

/* evidence for withdrawing under purpose p, "agree" pressed just now */
static char *withdrawal_body(json_t *p)
{
    time_t t = time(NULL);
    struct tm shown, agreed;
    time_t ts = t - 30, ta = t - 1;
    gmtime_r(&ts, &shown);
    gmtime_r(&ta, &agreed);
    char sb[32], ab[32];
    strftime(sb, sizeof sb, "%Y-%m-%dT%H:%M:%SZ", &shown);
    strftime(ab, sizeof ab, "%Y-%m-%dT%H:%M:%SZ", &agreed);
    return str_printf("{\"evidence\":{\"explanation_hash\":\"%s\",\"shown_at\":\"%s\","
                      "\"agreed_at\":\"%s\",\"channel\":\"portal\"}}",
                      json_str(p, "explanation_hash"), sb, ab);
}

static void seeds_the_s1_purposes_and_taros_consents_once(void **state)
{
    (void)state;
    char *root = temp_dir();
    char *dir = str_printf("%s/data", root);
    int st = -1;
    char *out = run_demo(dir, 20, 3, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "seeded the S1 consents: purposes homedoctor v1, cardio v1; "
                                "会津 太郎 granted 5 consents"));
    char *app = value_of(out, "city portal", "client_id="); /* it manages consents */
    char *service = value_of(out, "seeded the S1 consents", "AI home doctor client_id=");
    /* a second run changes nothing and says so */
    char *again = run_demo(dir, 20, 3, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(again, "already has the S1 purposes (homedoctor, cardio) and 会津 "
                                  "太郎's consents; nothing seeded"));
    assert_null(strstr(again, "seeded the S1 consents"));

    struct server_config cfg = {.data_dir = dir};
    struct server *s = server_start_with(&cfg);
    char clinic[64], hospital[64];
    json_t *purposes = check_purposes(s, service, clinic, hospital);
    json_t *hd = purpose_in(purposes, "homedoctor"), *cv = purpose_in(purposes, "cardio");

    char *token = sign_in(s, app, TARO_EMAIL, TARO_PASS);
    struct resp r = get_with(s, "/api/v1/me/consents", token);
    assert_status(&r, 200);
    char taro[64];
    snprintf(taro, sizeof taro, "%s", json_str(r.json, "subject"));
    json_t *consents = json_object_get(r.json, "consents");
    assert_int_equal(json_array_size(consents), 5); /* and three for the service (client) */
    char *hd_id = strdup(json_str(check_consent(consents, taro, hd, "vitals"), "id"));
    char *cv_id =
        strdup(json_str(check_consent(consents, taro, cv, "vitals,checkups,lab_results"), "id"));
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(json_str(json_array_get(consents, i), "status"), "active");
    resp_free(&r);

    r = get_with(s, "/api/v1/me/access-log?limit=100", token);
    assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    check_logged(items, taro, hd_id, "homedoctor");
    check_logged(items, taro, cv_id, "cardio");
    resp_free(&r);

    /* he withdraws the home doctor: a later `cityos demo` does not grant it again */
    char *path = str_printf("/api/v1/me/consents/%s", hd_id);
    char *wb = withdrawal_body(hd);
    char *auth = str_printf("Authorization: Bearer %s", token);
    r = api(s, "DELETE", path, LIST(auth, JSON_HEADER), wb, strlen(wb));
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "withdrawn");
    resp_free(&r);
    assert_int_equal(server_stop(s), 0);
    char *third = run_demo(dir, 20, 3, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(third, "nothing seeded\n"));
    assert_null(strstr(third, "seeded the S1 consents"));
    server_restart(s);
    json_decref(check_purposes(s, service, clinic, hospital));
    r = get_with(s, "/api/v1/me/consents", token);
    assert_status(&r, 200);
    consents = json_object_get(r.json, "consents");
    assert_int_equal(json_array_size(consents), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *c = json_array_get(consents, i);
        assert_string_equal(json_str(c, "status"),
                            strcmp(json_str(c, "id"), hd_id) == 0 ? "withdrawn" : "active");
    }
    resp_free(&r);

    server_free(s);
    json_decref(purposes);
    free(third);
    free(auth);
    free(wb);
    free(path);
    free(cv_id);
    free(hd_id);
    free(token);
    free(again);
    free(app);
    free(service);
    free(out);
    remove_tree(root);
    free(dir);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seeds_once_and_its_backend_client_works),
        cmocka_unit_test(the_same_seed_gives_the_same_town),
        cmocka_unit_test(seeds_the_s1_purposes_and_taros_consents_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
