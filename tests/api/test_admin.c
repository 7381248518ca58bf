/* test_admin.c - the identity admin API as a specification: people, roles, family links,
 * organisations and OAuth clients created over HTTP by the operator, really stored (the CLI and
 * the token endpoint see them), and every refusal (401, 403, 415, 400, 422, 409, 404, 413)
 * answered with a problem that names the member at fault, storing nothing; each write of
 * personal data committed with its audit record on the trail of every person it concerns. */
#include "harness.h"
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define PEOPLE      "/api/v1/admin/people"
#define ORGS        "/api/v1/admin/organisations"
#define CLIENTS     "/api/v1/admin/clients"
#define FORM_HEADER "Content-Type: application/x-www-form-urlencoded"

/* The person body of the S1 persona, with a chosen e-mail address. */
#define TARO(email)                                                                                \
    "{\"family_name\":\"会津\",\"given_name\":\"太郎\",\"family_name_kana\":\"アイヅ\","    \
    "\"given_name_kana\":\"タロウ\",\"birth_date\":\"1955-04-12\",\"sex\":\"male\","            \
    "\"district\":\"湊\",\"lat\":37.4947,\"lon\":139.9297,\"phone\":\"0242-27-1234\","            \
    "\"email\":\"" email "\",\"assurance\":\"in_person\",\"password\":\"correct horse battery\"}"
#define PERSON_MIN                                                                                 \
    "\"family_name\":\"会津\",\"given_name\":\"花子\",\"family_name_kana\":\"アイヅ\","     \
    "\"given_name_kana\":\"ハナコ\",\"sex\":\"female\",\"district\":\"湊\""
#define CLINIC     "{\"kind\":\"clinic\",\"name_ja\":\"湊ファミリークリニック\",\"district\":\"湊\"}"
#define NO_SUCH_ID "00000000000000000000000000"

struct fixture {
    struct server *s;
    char svc_id[64], svc_secret[64]; /* a confidential client made with the CLI */
    char *svc_bearer;                /* "Authorization: Bearer <its client-credentials token>" */
};

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* ---- talking to the server ---- */

static struct resp admin_post(struct server *s, const char *path, const char *json)
{
    return api(s, "POST", path, LIST(AUTH_HEADER, JSON_HEADER), json, strlen(json));
}

static struct resp admin_get(struct server *s, const char *path)
{
    return api(s, "GET", path, LIST(AUTH_HEADER), NULL, 0);
}

/* Writes the store has committed (a refused write that rolled back is not one). */
static double writes_ok(struct server *s)
{
    struct resp r = api_get(s, "/metrics");
    assert_status(&r, 200);
    double ok = metric_value(r.body, "cityos_store_writes_total{outcome=\"ok\"}");
    resp_free(&r);
    return ok;
}

/* A problem of this type whose detail contains needle (NULL: any), with nothing written since
 * before and the server still healthy; frees r. */
#define assert_refused(s, r, st, slug, needle, before)                                             \
    assert_refused_at((s), (r), (st), (slug), (needle), (before), __FILE__, __LINE__)
static void assert_refused_at(struct server *s, struct resp *r, long status, const char *slug,
                              const char *needle, double before, const char *file, int line)
{
    assert_problem_at(r, status, slug, file, line);
    const char *detail = str(r->json, "detail");
    if (needle != NULL && (detail == NULL || strstr(detail, needle) == NULL)) {
        fprintf(stderr, "%s:%d: detail \"%s\" does not name \"%s\"\n", file, line,
                detail ? detail : "(none)", needle);
        fail();
    }
    if (writes_ok(s) != before) {
        fprintf(stderr, "%s:%d: something was stored by a refused request\n", file, line);
        fail();
    }
    assert_true(health_ok(s));
    resp_free(r);
}

/* POSTs json and returns the new record's id (asserting 201). Caller frees. */
static char *create(struct server *s, const char *path, const char *json, const char *id_key)
{
    struct resp r = admin_post(s, path, json);
    assert_status(&r, 201);
    assert_non_null(str(r.json, id_key));
    char *id = strdup(str(r.json, id_key));
    assert_int_equal(strlen(id), 26);
    resp_free(&r);
    return id;
}

/* Runs the cityos CLI on the server's data folder; returns its exit code. */
static int cli(struct server *s, const char *args)
{
    char *cmd = str_printf("'%s' %s --data-dir='%s' >/dev/null 2>&1", getenv("CITYOS_BIN"), args,
                           server_data_dir(s));
    int rc = system(cmd);
    free(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* ---- fixture ---- */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->s = server_start(LIST("--body-limit=16K"));
    char *cmd = str_printf("'%s' client add --data-dir='%s' --name=Service --kind=confidential "
                           "--grant-types=client_credentials "
                           "--scopes='system/Patient.r cityos.admin' 2>/dev/null",
                           getenv("CITYOS_BIN"), server_data_dir(f->s));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256];
    while (fgets(line, sizeof line, p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "client_id=", 10) == 0)
            snprintf(f->svc_id, sizeof f->svc_id, "%.60s", line + 10);
        else if (strncmp(line, "client_secret=", 14) == 0)
            snprintf(f->svc_secret, sizeof f->svc_secret, "%.60s", line + 14);
    }
    assert_int_equal(pclose(p), 0);
    free(cmd);
    /* even a token carrying cityos.admin does not make a service client an administrator */
    char *auth = basic_auth_header(f->svc_id, f->svc_secret);
    const char *body = "grant_type=client_credentials&scope=cityos.admin";
    struct resp r = api(f->s, "POST", "/oauth/token", LIST(FORM_HEADER, auth), body, strlen(body));
    assert_status(&r, 200);
    f->svc_bearer = str_printf("Authorization: Bearer %s", str(r.json, "access_token"));
    resp_free(&r);
    free(auth);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    server_free(f->s);
    free(f->svc_bearer);
    free(f);
    return 0;
}

/* ---- people ---- */

static void a_person_is_created_and_really_stored(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->s;
    double w0 = writes_ok(s);
    struct resp r = admin_post(s, PEOPLE, TARO("Taro.Aizu@Example.jp"));
    assert_status(&r, 201);
    assert_header(&r, "Content-Type", "application/json");
    assert_header(&r, "Cache-Control", "no-store");
    const char *id = str(r.json, "id");
    assert_non_null(id);
    assert_int_equal(strlen(id), 26);
    char *location = str_printf(PEOPLE "/%s", id);
    assert_header(&r, "Location", location);
    free(location);
    assert_string_equal(str(r.json, "family_name"), "会津");
    assert_string_equal(str(r.json, "given_name_kana"), "タロウ");
    assert_string_equal(str(r.json, "birth_date"), "1955-04-12");
    assert_string_equal(str(r.json, "sex"), "male");
    assert_string_equal(str(r.json, "email"), "taro.aizu@example.jp"); /* stored lower-cased */
    assert_string_equal(str(r.json, "assurance"), "in_person");
    assert_true(json_real_value(json_object_get(r.json, "lat")) == 37.4947);
    assert_true(json_real_value(json_object_get(r.json, "lon")) == 139.9297);
    assert_true(json_is_true(json_object_get(r.json, "has_password")));
    assert_null(json_object_get(r.json, "password"));
    assert_null(strstr(r.body, "correct horse"));
    assert_null(strstr(r.body, "argon2"));
    assert_non_null(str(r.json, "created_at"));
    assert_true(writes_ok(s) == w0 + 1);
    char *person = strdup(id);
    resp_free(&r);

    /* stored: the CLI finds the person, and the e-mail address is now taken, in any case */
    char *org = create(s, ORGS, CLINIC, "id");
    char *args = str_printf("user role --person=%s --org=%s --role=doctor", person, org);
    assert_int_equal(cli(s, args), 0);
    free(args);
    args = str_printf("user role --person=" NO_SUCH_ID " --org=%s --role=doctor", org);
    assert_int_equal(cli(s, args), 1);
    free(args);
    double w1 = writes_ok(s);
    r = admin_post(s, PEOPLE, TARO("TARO.AIZU@example.JP"));
    assert_refused(s, &r, 409, "conflict", "/email", w1);

    /* no GET of a person (issue 4: consent and audit first) */
    char *path = str_printf(PEOPLE "/%s", person);
    r = admin_get(s, path);
    assert_true(r.status == 404 || r.status == 405);
    resp_free(&r);
    free(path);
    free(person);
    free(org);
}

static void a_person_with_only_the_required_members(void **state)
{
    struct fixture *f = *state;
    struct resp r = admin_post(f->s, PEOPLE, "{" PERSON_MIN ",\"birth_date\":\"2016-02-29\"}");
    assert_status(&r, 201);
    assert_false(json_is_true(json_object_get(r.json, "has_password")));
    assert_null(json_object_get(r.json, "email"));
    assert_null(json_object_get(r.json, "lat"));
    assert_string_equal(str(r.json, "assurance"), "self");
    resp_free(&r);
}

static void person_refusals_store_nothing(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->s;
    double w = writes_ok(s);
    const char *good = TARO("refused@example.jp");
    struct resp r;

    /* the media type, the JSON */
    r = api(s, "POST", PEOPLE, LIST(AUTH_HEADER, "Content-Type: text/plain"), good, strlen(good));
    assert_refused(s, &r, 415, "unsupported-media-type", NULL, w);
    r = api(s, "POST", PEOPLE, LIST(AUTH_HEADER, FORM_HEADER), good, strlen(good));
    assert_refused(s, &r, 415, "unsupported-media-type", NULL, w);
    r = api(s, "POST", PEOPLE, LIST(AUTH_HEADER), good, strlen(good));
    assert_refused(s, &r, 415, "unsupported-media-type", NULL, w);
    static const char *const malformed[] = {
        "",
        "{",
        "{\"family_name\":\"会津\",}",
        "{\"family_name\":\"会津\",\"family_name\":\"会津\"}",
        "{\"family_name\":\"\\ud800\"}",
        "{} {}",
        "{\"family_name\":'会津'}",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        r = admin_post(s, PEOPLE, malformed[i]);
        assert_refused(s, &r, 400, "malformed-json", NULL, w);
    }
    r = api(s, "POST", PEOPLE, LIST(AUTH_HEADER, JSON_HEADER), "{\"a\":\"\xff\"}", 9);
    assert_refused(s, &r, 400, "malformed-json", NULL, w);

    /* the shape: wrong types, unknown members, enumerations, coordinates */
    static const struct {
        const char *body, *names;
    } shape[] = {
        {"[]", "JSON object"},
        {"{" PERSON_MIN ",\"birth_date\":19550412}", "/birth_date"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"email\":[\"a@example.jp\"]}", "/email"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"password\":12345678}", "/password"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"lat\":\"37.5\",\"lon\":139.9}", "/lat"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"lat\":37.5}", "/lon"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"lat\":37.1234567,\"lon\":139.9}", "/lat"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"lat\":91,\"lon\":139.9}", "/lat"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"lat\":37.5,\"lon\":-181}", "/lon"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"nickname\":\"ハナ\"}", "/nickname"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"id\":\"" NO_SUCH_ID "\"}", "/id"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"assurance\":\"passport\"}", "/assurance"},
        {"{" PERSON_MIN "}", "/birth_date"},
        {"{\"family_name\":\"会津\"}", "/given_name"},
        /* dates */
        {"{" PERSON_MIN ",\"birth_date\":\"1955-02-30\"}", "/birth_date"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-4-12\"}", "/birth_date"},
        {"{" PERSON_MIN ",\"birth_date\":\"2099-01-01\"}", "/birth_date"},
        {"{" PERSON_MIN ",\"birth_date\":\"1800-01-01\"}", "/birth_date"},
        {"{" PERSON_MIN ",\"birth_date\":\"12 April 1955\"}", "/birth_date"},
        /* the identity module's own rules, named by member */
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"email\":\"no-at-sign\"}", "/email"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"phone\":\"call me\"}", "/phone"},
        {"{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"password\":\"password1\"}", "/password"},
        {"{\"family_name\":\"会津\",\"given_name\":\"花子\",\"family_name_kana\":\"Aizu\","
         "\"given_name_kana\":\"ハナコ\",\"sex\":\"female\",\"district\":\"湊\","
         "\"birth_date\":\"1955-04-12\"}",
         "/family_name_kana"},
    };
    for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++) {
        r = admin_post(s, PEOPLE, shape[i].body);
        assert_refused(s, &r, 422, "validation-failed", shape[i].names, w);
    }

    /* oversized strings: beyond the field's limit (50) and beyond any member's (1024) */
    char *name51 = str_repeat("湊", 51), *name2000 = str_repeat("a", 2000);
    char *body = str_printf("{\"family_name\":\"%s\",\"given_name\":\"花子\",\"family_name_kana\":"
                            "\"アイヅ\",\"given_name_kana\":\"ハナコ\",\"sex\":\"female\","
                            "\"district\":\"湊\",\"birth_date\":\"1955-04-12\"}",
                            name51);
    r = admin_post(s, PEOPLE, body);
    assert_refused(s, &r, 422, "validation-failed", "/family_name: must have 1 to 50", w);
    free(body);
    body = str_printf("{" PERSON_MIN ",\"birth_date\":\"1955-04-12\",\"phone\":\"%s\"}", name2000);
    r = admin_post(s, PEOPLE, body);
    assert_refused(s, &r, 422, "validation-failed", "/phone: longer than 1024", w);
    free(body);
    free(name51);
    free(name2000);

    /* beyond the server's body limit (16 KiB here) */
    char *big = str_repeat(" ", 20000);
    char *huge = str_printf("{" PERSON_MIN ",\"birth_date\":\"1955-04-12\"%s}", big);
    r = admin_post(s, PEOPLE, huge);
    assert_refused(s, &r, 413, "body-too-large", NULL, w);
    free(big);
    free(huge);

    /* and none of it was stored: the address is still free */
    r = admin_post(s, PEOPLE, good);
    assert_status(&r, 201);
    resp_free(&r);
    assert_true(writes_ok(s) == w + 1);
}

/* ---- organisations and roles ---- */

static void organisations_are_created_and_read(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->s;
    struct resp r = admin_post(s, ORGS,
                               "{\"kind\":\"hospital\",\"name_ja\":\"会津中央病院\","
                               "\"name_en\":\"Aizu Central Hospital\",\"district\":\"鶴賀\","
                               "\"address\":\"鶴賀町 1-1\",\"lat\":37.4921,\"lon\":139.9411}");
    assert_status(&r, 201);
    char *id = strdup(str(r.json, "id"));
    char *location = str_printf(ORGS "/%s", id);
    assert_header(&r, "Location", location);
    assert_string_equal(str(r.json, "kind"), "hospital");
    resp_free(&r);

    r = admin_get(s, location);
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "id"), id);
    assert_string_equal(str(r.json, "name_ja"), "会津中央病院");
    assert_string_equal(str(r.json, "name_en"), "Aizu Central Hospital");
    assert_string_equal(str(r.json, "address"), "鶴賀町 1-1");
    assert_true(json_real_value(json_object_get(r.json, "lat")) == 37.4921);
    resp_free(&r);

    double w = writes_ok(s);
    r = admin_get(s, ORGS "/" NO_SUCH_ID);
    assert_refused(s, &r, 404, "not-found", NULL, w);
    r = admin_get(s, ORGS "/not-an-id");
    assert_refused(s, &r, 404, "not-found", NULL, w);
    r = admin_post(s, ORGS, "{\"kind\":\"bank\",\"name_ja\":\"銀行\",\"district\":\"湊\"}");
    assert_refused(s, &r, 422, "validation-failed", "/kind", w);
    r = admin_post(s, ORGS, "{\"kind\":\"clinic\",\"name_ja\":\" 湊\",\"district\":\"湊\"}");
    assert_refused(s, &r, 422, "validation-failed", "/name_ja", w);
    r = admin_post(s, ORGS,
                   "{\"kind\":\"clinic\",\"name_ja\":\"湊\",\"district\":\"湊\","
                   "\"phone\":\"0242\"}");
    assert_refused(s, &r, 422, "validation-failed", "/phone: unknown member", w);
    free(location);
    free(id);
}

static void roles_are_given_once(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->s;
    char *person = create(s, PEOPLE, "{" PERSON_MIN ",\"birth_date\":\"1980-06-01\"}", "id");
    char *org = create(s, ORGS, CLINIC, "id");
    char *path = str_printf(PEOPLE "/%s/roles", person);
    char *body = str_printf("{\"org_id\":\"%s\",\"role\":\"doctor\"}", org);
    struct resp r = admin_post(s, path, body);
    assert_status(&r, 201);
    assert_int_equal(strlen(str(r.json, "id")), 26);
    assert_string_equal(str(r.json, "person_id"), person);
    assert_string_equal(str(r.json, "org_id"), org);
    assert_string_equal(str(r.json, "role"), "doctor");
    assert_true(json_is_true(json_object_get(r.json, "active")));
    resp_free(&r);

    double w = writes_ok(s);
    r = admin_post(s, path, body); /* the same role again */
    assert_refused(s, &r, 409, "conflict", "/role", w);
    r = admin_post(s, path, "{\"org_id\":\"" NO_SUCH_ID "\",\"role\":\"nurse\"}");
    assert_refused(s, &r, 422, "validation-failed", "/org_id: no such organisation", w);
    r = admin_post(s, path, "{\"org_id\":\"clinic-1\",\"role\":\"nurse\"}");
    assert_refused(s, &r, 422, "validation-failed", "/org_id", w);
    free(body);
    body = str_printf("{\"org_id\":\"%s\",\"role\":\"surgeon\"}", org);
    r = admin_post(s, path, body);
    assert_refused(s, &r, 422, "validation-failed", "/role", w);
    free(body);
    body = str_printf("{\"org_id\":\"%s\",\"role\":\"nurse\",\"active\":false}", org);
    r = admin_post(s, path, body);
    assert_refused(s, &r, 422, "validation-failed", "/active", w);
    free(body);
    body = str_printf("{\"org_id\":\"%s\",\"role\":\"nurse\"}", org);
    r = admin_post(s, PEOPLE "/" NO_SUCH_ID "/roles", body);
    assert_refused(s, &r, 404, "not-found", NULL, w);
    r = admin_post(s, PEOPLE "/someone/roles", body);
    assert_refused(s, &r, 404, "not-found", NULL, w);
    /* another role at the same place is fine */
    r = admin_post(s, path, body);
    assert_status(&r, 201);
    resp_free(&r);
    free(body);
    free(path);
    free(org);
    free(person);
}

/* ---- family links ---- */

static void family_links_are_added(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->s;
    char *father = create(s, PEOPLE, "{" PERSON_MIN ",\"birth_date\":\"1955-04-12\"}", "id");
    char *daughter = create(s, PEOPLE, "{" PERSON_MIN ",\"birth_date\":\"1985-08-20\"}", "id");
    char *child = create(s, PEOPLE, "{" PERSON_MIN ",\"birth_date\":\"2018-05-05\"}", "id");
    char *path = str_printf(PEOPLE "/%s/links", father);
    char *body = str_printf("{\"delegate_id\":\"%s\",\"rights\":[\"book_appointments\","
                            "\"see_alerts\"],\"valid_until\":\"2099-03-31\"}",
                            daughter);
    struct resp r = admin_post(s, path, body);
    assert_status(&r, 201);
    assert_string_equal(str(r.json, "subject_id"), father);
    assert_string_equal(str(r.json, "delegate_id"), daughter);
    assert_string_equal(str(r.json, "kind"), "family");
    json_t *rights = json_object_get(r.json, "rights");
    assert_int_equal(json_array_size(rights), 2);
    assert_string_equal(json_string_value(json_array_get(rights, 0)), "see_alerts");
    assert_string_equal(json_string_value(json_array_get(rights, 1)), "book_appointments");
    /* the whole last day in Japan */
    assert_string_equal(str(r.json, "valid_until"), "2099-03-31T15:00:00.000Z");
    assert_non_null(str(r.json, "valid_from"));
    resp_free(&r);
    free(body);

    /* a guardian for the child: the end defaults to the 18th birthday */
    char *child_path = str_printf(PEOPLE "/%s/links", child);
    body = str_printf("{\"delegate_id\":\"%s\",\"rights\":[\"everything\"],\"kind\":\"guardian\"}",
                      daughter);
    r = admin_post(s, child_path, body);
    assert_status(&r, 201);
    assert_string_equal(str(r.json, "valid_until"), "2036-05-04T15:00:00.000Z");
    resp_free(&r);
    free(body);

    double w = writes_ok(s);
    static const struct {
        const char *tail, *names;
    } bad[] = {
        {"\"rights\":[\"fly\"]}", "/rights"},
        {"\"rights\":\"see_alerts\"}", "/rights"},
        {"\"rights\":[]}", "/rights"},
        {"\"rights\":[\"everything\",\"see_alerts\"]}", "/rights"},
        {"\"rights\":[\"see_alerts\"],\"kind\":\"friend\"}", "/kind"},
        {"\"rights\":[\"see_alerts\"],\"kind\":\"guardian\"}", "/kind"}, /* adult subject */
        {"\"rights\":[\"see_alerts\"],\"valid_until\":\"2027-02-30\"}", "/valid_until"},
        {"\"rights\":[\"see_alerts\"],\"valid_until\":\"31/03/2027\"}", "/valid_until"},
        {"\"rights\":[\"see_alerts\"],\"valid_until\":\"2020-01-01\"}", "/valid_until"},
        {"\"rights\":[\"see_alerts\"],\"valid_until\":\"2030-01-01T00:00:00\"}", "/valid_until"},
        {"\"rights\":[\"see_alerts\"],\"valid_until\":true}", "/valid_until"},
        {"\"rights\":[\"see_alerts\"],\"valid_from\":\"2027-01-01\"}", "/valid_from"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        body = str_printf("{\"delegate_id\":\"%s\",%s", daughter, bad[i].tail);
        r = admin_post(s, path, body);
        assert_refused(s, &r, 422, "validation-failed", bad[i].names, w);
        free(body);
    }
    r = admin_post(s, path, "{\"delegate_id\":\"" NO_SUCH_ID "\",\"rights\":[\"see_alerts\"]}");
    assert_refused(s, &r, 422, "validation-failed", "/delegate_id: no such person", w);
    body = str_printf("{\"delegate_id\":\"%s\",\"rights\":[\"see_alerts\"]}", father);
    r = admin_post(s, path, body); /* oneself */
    assert_refused(s, &r, 422, "validation-failed", "/delegate_id", w);
    free(body);
    body = str_printf("{\"delegate_id\":\"%s\",\"rights\":[\"see_alerts\"]}", daughter);
    r = admin_post(s, PEOPLE "/" NO_SUCH_ID "/links", body);
    assert_refused(s, &r, 404, "not-found", NULL, w);
    free(body);
    free(child_path);
    free(path);
    free(father);
    free(daughter);
    free(child);
}

/* ---- the audit trail ---- */

/* The entry of items for creating resource_type resource_id: by the operator, permitted by the
 * registration rule. */
static void assert_created(json_t *items, const char *resource_type, const char *resource_id,
                           const char *category)
{
    size_t found = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        const char *type = trail_text(it, "what.resourceType");
        if (strcmp(trail_text(it, "what.action"), "create") != 0 || type == NULL ||
            strcmp(type, resource_type) != 0)
            continue;
        found++;
        assert_string_equal(trail_text(it, "what.resourceId"), resource_id);
        if (category != NULL)
            assert_string_equal(trail_text(it, "what.category"), category);
        else
            assert_null(trail_text(it, "what.category"));
        assert_string_equal(trail_text(it, "who.kind"), "operator");
        assert_string_equal(trail_text(it, "who.id"), "operator");
        assert_string_equal(trail_text(it, "decision"), "permit");
        assert_string_equal(trail_text(it, "why.decidedBy"), "rule:admin-registration");
        assert_string_equal(trail_text(it, "sourceAddress"), "127.0.0.1");
        assert_non_null(trail_text(it, "requestId"));
    }
    if (found != 1) {
        fprintf(stderr, "%zu entries for creating %s %s\n", found, resource_type, resource_id);
        fail();
    }
}

/* A person, a role and a family link created over HTTP: each row committed in one write with
 * its record (one write each, as the metrics count them), on the person's trail, the link on
 * both people's; a refused creation stores neither. */
static void personal_data_writes_are_on_the_trails(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->s;
    double w0 = writes_ok(s);
    char *a = create(s, PEOPLE, TARO("trail-a@example.jp"), "id");
    assert_true(writes_ok(s) == w0 + 1); /* the row and its record: one transaction */
    char *b = create(s, PEOPLE, TARO("trail-b@example.jp"), "id");
    char *org = create(s, ORGS, CLINIC, "id");
    char *path = str_printf(PEOPLE "/%s/roles", a);
    char *body = str_printf("{\"org_id\":\"%s\",\"role\":\"doctor\"}", org);
    double w1 = writes_ok(s);
    char *role = create(s, path, body, "id");
    assert_true(writes_ok(s) == w1 + 1);
    double w2 = writes_ok(s);
    struct resp r = admin_post(s, path, body); /* the same role again: refused, not recorded */
    assert_refused(s, &r, 409, "conflict", "/role", w2);
    free(path);
    free(body);
    path = str_printf(PEOPLE "/%s/links", a);
    body = str_printf("{\"delegate_id\":\"%s\",\"rights\":[\"see_alerts\"]}", b);
    w2 = writes_ok(s);
    char *link = create(s, path, body, "id");
    assert_true(writes_ok(s) == w2 + 1); /* the link and both records: one transaction */
    /* a refused person: nothing stored, no record */
    w2 = writes_ok(s);
    r = admin_post(s, PEOPLE, TARO("trail-a@example.jp"));
    assert_refused(s, &r, 409, "conflict", NULL, w2);

    char client[64];
    trail_client_add(s, client);
    char *ta = trail_token(s, client, "trail-a@example.jp", "correct horse battery");
    json_t *items = trail_items(s, ta, 20);
    assert_created(items, "Person", a, "contact");
    assert_created(items, "PractitionerRole", role, NULL);
    assert_created(items, "FamilyLink", link, "contact");
    /* the person's trail: the code flow's sign-in and those three, nothing else */
    assert_int_equal(json_array_size(items), 4);
    json_decref(items);
    char *tb = trail_token(s, client, "trail-b@example.jp", "correct horse battery");
    items = trail_items(s, tb, 20);
    assert_created(items, "Person", b, "contact");
    assert_created(items, "FamilyLink", link, "contact");
    assert_int_equal(json_array_size(items), 3);
    json_decref(items);
    free(tb);
    free(ta);
    free(link);
    free(body);
    free(path);
    free(role);
    free(org);
    free(b);
    free(a);
}

/* ---- clients ---- */

static void a_confidential_client_gets_its_secret_once(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->s;
    char *org = create(s, ORGS, CLINIC, "id");
    char *body = str_printf("{\"name\":\"Clinic back end\",\"kind\":\"confidential\","
                            "\"scopes\":\"system/Observation.rs\","
                            "\"grant_types\":[\"client_credentials\"],\"org_id\":\"%s\"}",
                            org);
    struct resp r = admin_post(s, CLIENTS, body);
    free(body);
    assert_status(&r, 201);
    assert_header(&r, "Cache-Control", "no-store");
    char *id = strdup(str(r.json, "client_id"));
    char *secret = strdup(str(r.json, "client_secret"));
    assert_int_equal(strlen(secret), 43);
    char *location = str_printf(CLIENTS "/%s", id);
    assert_header(&r, "Location", location);
    assert_string_equal(str(r.json, "kind"), "confidential");
    assert_string_equal(str(r.json, "org_id"), org);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(r.json, "grant_types"), 0)),
        "client_credentials");
    assert_int_equal(json_array_size(json_object_get(r.json, "redirect_uris")), 0);
    resp_free(&r);

    /* never again: not in GET, not as a hash */
    r = admin_get(s, location);
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "client_id"), id);
    assert_string_equal(str(r.json, "scopes"), "system/Observation.rs");
    assert_null(json_object_get(r.json, "client_secret"));
    assert_null(json_object_get(r.json, "secret_hash"));
    assert_null(strstr(r.body, secret));
    assert_null(strstr(r.body, "secret"));
    resp_free(&r);

    /* stored and working: the secret gets a token */
    char *auth = basic_auth_header(id, secret);
    const char *form = "grant_type=client_credentials";
    r = api(s, "POST", "/oauth/token", LIST(FORM_HEADER, auth), form, strlen(form));
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "scope"), "system/Observation.rs");
    resp_free(&r);
    free(auth);

    /* a public app has no secret */
    r = admin_post(s, CLIENTS,
                   "{\"name\":\"市民アプリ\",\"kind\":\"public\",\"scopes\":\"openid fhirUser\","
                   "\"grant_types\":[\"authorization_code\",\"refresh_token\"],"
                   "\"redirect_uris\":[\"https://app.example/cb\",\"http://127.0.0.1/cb\"]}");
    assert_status(&r, 201);
    assert_null(json_object_get(r.json, "client_secret"));
    assert_int_equal(json_array_size(json_object_get(r.json, "redirect_uris")), 2);
    resp_free(&r);

    double w = writes_ok(s);
    r = admin_get(s, CLIENTS "/" NO_SUCH_ID);
    assert_refused(s, &r, 404, "not-found", NULL, w);
    static const struct {
        const char *body, *names;
    } bad[] = {
        {"{\"name\":\"x\",\"kind\":\"confidential\",\"scopes\":\"system/Patient.r\","
         "\"grant_types\":[\"client_credentials\"],\"org_id\":\"" NO_SUCH_ID "\"}",
         "/org_id: no such organisation"},
        {"{\"name\":\"x\",\"kind\":\"public\",\"scopes\":\"system/Patient.r\","
         "\"grant_types\":[\"client_credentials\"]}",
         "/grant_types"},
        {"{\"name\":\"x\",\"kind\":\"public\",\"scopes\":\"openid\","
         "\"grant_types\":[\"implicit\"],\"redirect_uris\":[\"https://a.example/cb\"]}",
         "/grant_types"},
        {"{\"name\":\"x\",\"kind\":\"public\",\"scopes\":\"openid\","
         "\"grant_types\":[\"authorization_code\"],\"redirect_uris\":[\"http://a.example/cb\"]}",
         "/redirect_uris/0"},
        {"{\"name\":\"x\",\"kind\":\"public\",\"scopes\":\"openid\","
         "\"grant_types\":[\"authorization_code\"]}",
         "/redirect_uris"},
        {"{\"name\":\"x\",\"kind\":\"public\",\"scopes\":\"\","
         "\"grant_types\":[\"authorization_code\"],\"redirect_uris\":[\"https://a.example/cb\"]}",
         "/scopes"},
        {"{\"name\":\"x\",\"kind\":\"public\",\"scopes\":\"patient/Observation.zz\","
         "\"grant_types\":[\"authorization_code\"],\"redirect_uris\":[\"https://a.example/cb\"]}",
         "/scopes"},
        {"{\"name\":\"x\",\"kind\":\"confidential\",\"scopes\":\"system/Patient.r\","
         "\"grant_types\":[\"client_credentials\"],\"client_secret\":\"mine\"}",
         "/client_secret: unknown member"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = admin_post(s, CLIENTS, bad[i].body);
        assert_refused(s, &r, 422, "validation-failed", bad[i].names, w);
    }
    free(location);
    free(secret);
    free(id);
    free(org);
}

/* ---- who may ---- */

static void only_administrators_may(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->s;
    static const struct {
        const char *method, *path, *body;
    } routes[] = {
        {"POST", PEOPLE, TARO("forbidden@example.jp")},
        {"POST", PEOPLE "/" NO_SUCH_ID "/roles",
         "{\"org_id\":\"" NO_SUCH_ID "\",\"role\":\"clerk\"}"},
        {"POST", PEOPLE "/" NO_SUCH_ID "/links",
         "{\"delegate_id\":\"x\",\"rights\":[\"see_alerts\"]}"},
        {"POST", ORGS, CLINIC},
        {"GET", ORGS "/" NO_SUCH_ID, NULL},
        {"POST", CLIENTS,
         "{\"name\":\"x\",\"kind\":\"confidential\",\"scopes\":\"system/Patient.r\","
         "\"grant_types\":[\"client_credentials\"]}"},
        {"GET", CLIENTS "/" NO_SUCH_ID, NULL},
    };
    double w = writes_ok(s);
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const char *b = routes[i].body;
        size_t n = b != NULL ? strlen(b) : 0;
        /* no token */
        struct resp r = api(s, routes[i].method, routes[i].path, LIST(JSON_HEADER), b, n);
        assert_non_null(resp_header(&r, "WWW-Authenticate"));
        assert_refused(s, &r, 401, "unauthorized", NULL, w);
        /* a token nobody issued */
        r = api(s, routes[i].method, routes[i].path,
                LIST(JSON_HEADER, "Authorization: Bearer not-a-token-anyone-issued"), b, n);
        assert_refused(s, &r, 401, "unauthorized", NULL, w);
        /* a scheme other than Bearer */
        r = api(s, routes[i].method, routes[i].path,
                LIST(JSON_HEADER, "Authorization: Basic b3BlcmF0b3I6eA=="), b, n);
        assert_refused(s, &r, 401, "unauthorized", NULL, w);
        /* a service client's token, even with cityos.admin: not an administrator */
        r = api(s, routes[i].method, routes[i].path, LIST(JSON_HEADER, f->svc_bearer), b, n);
        assert_refused(s, &r, 403, "forbidden", NULL, w);
        /* authorization comes before the body: a bad body from a stranger is still 401 */
        r = api(s, routes[i].method, routes[i].path, LIST("Content-Type: text/plain"), "{", 1);
        assert_refused(s, &r, 401, "unauthorized", NULL, w);
    }
    /* the operator may: the forbidden address was never stored */
    struct resp r = admin_post(s, PEOPLE, TARO("forbidden@example.jp"));
    assert_status(&r, 201);
    resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_person_is_created_and_really_stored),
        cmocka_unit_test(a_person_with_only_the_required_members),
        cmocka_unit_test(person_refusals_store_nothing),
        cmocka_unit_test(organisations_are_created_and_read),
        cmocka_unit_test(roles_are_given_once),
        cmocka_unit_test(family_links_are_added),
        cmocka_unit_test(a_confidential_client_gets_its_secret_once),
        cmocka_unit_test(only_administrators_may),
        cmocka_unit_test(personal_data_writes_are_on_the_trails),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
