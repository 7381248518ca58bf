/* test_admin_json.c - the admin API's bodies: what validates and what it becomes, every shape
 * refusal naming its member, identity refusals renamed to the member sent, and the served forms
 * (without secrets) reading back as valid bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "identity/admin_json.h"
#include "support/fixture.h"

static int fx_setup(void **state)
{
    return fx_setup_in(state, "admin_json");
}

/* Parses text (which must be valid JSON; the test fails otherwise). Caller decrefs. */
static json_t *parse(const char *text)
{
    struct err e = {0};
    json_t *v = jsonx_parse(text, strlen(text), &e);
    if (v == NULL)
        fprintf(stderr, "test JSON does not parse: %s\n%s\n", e.msg, text);
    assert_non_null(v);
    return v;
}

#define PERSON_BASE                                                                                \
    "\"family_name\":\"会津\",\"given_name\":\"太郎\",\"family_name_kana\":\"アイヅ\","     \
    "\"given_name_kana\":\"タロウ\",\"birth_date\":\"1955-04-12\",\"sex\":\"male\","            \
    "\"district\":\"湊\""

/* Asserts that msg starts with want. */
#define assert_prefix(msg, want) assert_prefix_at((msg), (want), __LINE__)
static void assert_prefix_at(const char *msg, const char *want, int line)
{
    if (strncmp(msg, want, strlen(want)) != 0) {
        fprintf(stderr, "line %d: error \"%s\" does not start with \"%s\"\n", line, msg, want);
        fail();
    }
}

/* ---- people ---- */

static void person_body_fills_the_input(void **state)
{
    (void)state;
    json_t *in =
        parse("{" PERSON_BASE ",\"lat\":37.4947,\"lon\":139.9297,\"phone\":\"0242-27-1234\","
              "\"email\":\"Taro@Example.jp\",\"assurance\":\"in_person\","
              "\"password\":\"correct horse battery\"}");
    struct id_person_new p;
    struct err e = {0};
    assert_int_equal(id_admin_person_from_json(in, &p, &e), 0);
    assert_string_equal(p.family_name_kanji, "会津");
    assert_string_equal(p.given_name_kanji, "太郎");
    assert_string_equal(p.family_name_kana, "アイヅ");
    assert_string_equal(p.given_name_kana, "タロウ");
    assert_string_equal(p.birth_date, "1955-04-12");
    assert_int_equal(p.sex, ID_SEX_MALE);
    assert_string_equal(p.district, "湊");
    assert_true(p.coords.set);
    assert_int_equal(p.coords.lat_e6, 37494700);
    assert_int_equal(p.coords.lon_e6, 139929700);
    assert_string_equal(p.phone, "0242-27-1234");
    assert_string_equal(p.email, "Taro@Example.jp"); /* lower-cased by id_person_create */
    assert_int_equal(p.assurance, ID_ASSURANCE_IN_PERSON);
    assert_string_equal(p.password, "correct horse battery");
    json_decref(in);

    in = parse("{" PERSON_BASE "}");
    assert_int_equal(id_admin_person_from_json(in, &p, &e), 0);
    assert_false(p.coords.set);
    assert_null(p.phone);
    assert_null(p.email);
    assert_null(p.password);
    assert_int_equal(p.assurance, ID_ASSURANCE_SELF);
    json_decref(in);
}

static void coordinates_are_exact_micro_degrees(void **state)
{
    (void)state;
    static const struct {
        const char *lat, *lon;
        int64_t lat_e6, lon_e6;
    } ok[] = {
        {"0", "0", 0, 0},
        {"-0.5", "180", -500000, 180000000},
        {"37.494722", "139.929722", 37494722, 139929722},
        {"0.000001", "-0.000001", 1, -1},
        {"1e-6", "12.5e1", 1, 125000000},
        {"-89.999999", "-179.999999", -89999999, -179999999},
        {"95", "200", 95000000, 200000000}, /* the range is id__check_coords's check */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "{" PERSON_BASE ",\"lat\":%s,\"lon\":%s}", ok[i].lat,
                 ok[i].lon);
        json_t *in = parse(text);
        struct id_person_new p;
        struct err e = {0};
        if (id_admin_person_from_json(in, &p, &e) != 0)
            fprintf(stderr, "%s %s: %s\n", ok[i].lat, ok[i].lon, e.msg);
        assert_int_equal(p.coords.lat_e6, ok[i].lat_e6);
        assert_int_equal(p.coords.lon_e6, ok[i].lon_e6);
        json_decref(in);
    }
}

static void person_shape_refusals_name_the_member(void **state)
{
    (void)state;
    /* ID_ADMIN_TEXT_MAX + 1 characters of 3 bytes each */
    size_t n = ID_ADMIN_TEXT_MAX + 1, len = 3 * n;
    char *long_name = malloc(len + 1);
    assert_non_null(long_name);
    for (size_t i = 0; i < n; i++)
        memcpy(long_name + 3 * i, "湊", 3);
    long_name[len] = '\0';
    static const struct {
        const char *body, *error;
    } bad[] = {
        {"[]", "the body must be a JSON object"},
        {"\"person\"", "the body must be a JSON object"},
        {"null", "the body must be a JSON object"},
        {"{" PERSON_BASE ",\"nickname\":\"タロ\"}", "/nickname: unknown member"},
        {"{" PERSON_BASE ",\"id\":\"0123456789abcdefghjkmnpqrs\"}", "/id: unknown member"},
        {"{" PERSON_BASE ",\"password_hash\":\"x\"}", "/password_hash: unknown member"},
        {"{\"given_name\":\"太郎\"}", "/family_name: required"},
        {"{\"family_name\":\"会津\",\"given_name\":\"太郎\",\"family_name_kana\":\"アイヅ\","
         "\"given_name_kana\":\"タロウ\",\"sex\":\"male\",\"district\":\"湊\"}",
         "/birth_date: required"},
        {"{\"family_name\":7}", "/family_name: must be a string"},
        {"{\"family_name\":null}", "/family_name: must be a string"},
        {"{\"family_name\":[\"会津\"]}", "/family_name: must be a string"},
        {"{\"family_name\":\"\"}", "/family_name: must not be empty"},
        {"{\"family_name\":\"会津\",\"given_name\":\"太郎\",\"family_name_kana\":\"アイヅ\","
         "\"given_name_kana\":\"タロウ\",\"birth_date\":\"1955-04-12\",\"sex\":1}",
         "/sex: must be a string"},
        {"{\"family_name\":\"会津\",\"given_name\":\"太郎\",\"family_name_kana\":\"アイヅ\","
         "\"given_name_kana\":\"タロウ\",\"birth_date\":\"1955-04-12\",\"sex\":\"m\","
         "\"district\":\"湊\"}",
         "/sex: must be male, female, other or unknown"},
        {"{" PERSON_BASE ",\"assurance\":\"passport\"}", "/assurance: must be self, in_person"},
        {"{" PERSON_BASE ",\"lat\":37.5}", "/lon: lat and lon go together"},
        {"{" PERSON_BASE ",\"lon\":139.9}", "/lat: lat and lon go together"},
        {"{" PERSON_BASE ",\"lat\":\"37.5\",\"lon\":139.9}", "/lat: must be a number"},
        {"{" PERSON_BASE ",\"lat\":37.5,\"lon\":null}", "/lon: must be a number"},
        {"{" PERSON_BASE ",\"lat\":true,\"lon\":139.9}", "/lat: must be a number"},
        {"{" PERSON_BASE ",\"lat\":37.4947221,\"lon\":139.9}", "/lat: at most 6 decimals"},
        {"{" PERSON_BASE ",\"lat\":37.5,\"lon\":1e300}", "/lon: out of range"},
        {"{" PERSON_BASE ",\"lat\":-1e308,\"lon\":0}", "/lat: out of range"},
        {"{" PERSON_BASE ",\"email\":false}", "/email: must be a string"},
        {"{" PERSON_BASE ",\"phone\":242271234}", "/phone: must be a string"},
        {"{" PERSON_BASE ",\"password\":{}}", "/password: must be a string"},
        {"{" PERSON_BASE ",\"email\":\"\"}", "/email: must not be empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *in = parse(bad[i].body);
        struct id_person_new p;
        struct err e = {0};
        if (id_admin_person_from_json(in, &p, &e) != ERR_INVALID) {
            fprintf(stderr, "accepted: %s\n", bad[i].body);
            fail();
        }
        assert_prefix(e.msg, bad[i].error);
        json_decref(in);
    }
    json_t *in;
    struct id_person_new p;
    struct err e = {0};
    char *body = malloc(strlen(long_name) + 512);
    snprintf(body, strlen(long_name) + 512,
             "{\"family_name\":\"会津\",\"given_name\":\"太郎\",\"family_name_kana\":\"アイヅ\","
             "\"given_name_kana\":\"タロウ\",\"birth_date\":\"1955-04-12\",\"sex\":\"male\","
             "\"district\":\"%s\"}",
             long_name);
    in = parse(body);
    assert_int_equal(id_admin_person_from_json(in, &p, &e), ERR_INVALID);
    assert_prefix(e.msg, "/district: longer than 1024 characters");
    json_decref(in);
    free(body);
    free(long_name);
}

/* The identity functions' own refusals, renamed to the member that was sent. */
static void identity_refusals_name_the_member_sent(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *extra, *error;
    } bad[] = {
        {",\"email\":\"not-an-address\"", "/email: "},
        {",\"phone\":\"call me\"", "/phone: "},
        {",\"lat\":91,\"lon\":0", "/lat: must lie between -90 and 90"},
        {",\"lat\":0,\"lon\":-180.000001", "/lon: must lie between -180 and 180"},
        {",\"password\":\"password1\"", "/password: "},
        {",\"password\":\"short\"", "/password: "},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "{" PERSON_BASE "%s}", bad[i].extra);
        json_t *in = parse(text);
        struct id_person_new p;
        struct err e = {0};
        char id[IDS_LEN + 1];
        assert_int_equal(id_admin_person_from_json(in, &p, &e), 0);
        assert_int_equal(id_person_create(f->s, &p, id, &e), ERR_INVALID);
        id_admin_pointer_error(&e, &e);
        assert_prefix(e.msg, bad[i].error);
        json_decref(in);
    }
    json_t *in = parse("{\"family_name\":\"会津\",\"given_name\":\" 太郎\","
                       "\"family_name_kana\":\"アイヅ\",\"given_name_kana\":\"ﾀﾛｳ\","
                       "\"birth_date\":\"1955-02-29\",\"sex\":\"male\",\"district\":\"湊\"}");
    struct id_person_new p;
    struct err e = {0};
    char id[IDS_LEN + 1];
    assert_int_equal(id_admin_person_from_json(in, &p, &e), 0);
    assert_int_equal(id_person_create(f->s, &p, id, &e), ERR_INVALID);
    id_admin_pointer_error(&e, &e);
    assert_prefix(e.msg, "/given_name: must not begin or end with a space");
    json_decref(in);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM person"), 0);
}

static void pointer_error_rewrites_only_field_messages(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *in, *out;
    } cases[] = {
        {ERR_CONFLICT, "email: already registered to another person",
         "/email: already registered to another person"},
        {ERR_INVALID, "redirect_uri: must not have a fragment (#)",
         "/redirect_uris: must not have a fragment (#)"},
        {ERR_NOTFOUND, "org_id: no such organisation", "/org_id: no such organisation"},
        {ERR_NOMEM, "out of memory", "out of memory"},
        {ERR_INVALID, "/lat: out of range", "/lat: out of range"},
        {ERR_INVALID, "Grant Types: x", "Grant Types: x"},
        {ERR_INVALID, "the body must be a JSON object", "the body must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct err in = {0}, out = {0};
        err_set(&in, cases[i].code, "%s", cases[i].in);
        id_admin_pointer_error(&in, &out);
        assert_int_equal(out.code, cases[i].code);
        assert_string_equal(out.msg, cases[i].out);
        id_admin_pointer_error(&in, &in); /* in place */
        assert_string_equal(in.msg, cases[i].out);
    }
}

/* A created person served and read back: no secrets, and the served form is a valid body. */
static void person_served_without_secrets(void **state)
{
    struct fx *f = *state;
    json_t *in = parse("{" PERSON_BASE ",\"lat\":37.4947,\"lon\":139.9297,"
                       "\"email\":\"Taro@Example.jp\",\"password\":\"correct horse battery\"}");
    struct id_person_new p;
    struct err e = {0};
    char id[IDS_LEN + 1];
    assert_int_equal(id_admin_person_from_json(in, &p, &e), 0);
    assert_int_equal(id_person_create(f->s, &p, id, &e), 0);
    json_decref(in);
    struct id_person got;
    assert_int_equal(id_person_get(f->s, id, &got, f->a, &e), 0);
    json_t *out = id_admin_person_to_json(&got);
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "id")), id);
    assert_string_equal(json_string_value(json_object_get(out, "email")), "taro@example.jp");
    assert_true(json_is_true(json_object_get(out, "has_password")));
    assert_null(json_object_get(out, "password"));
    assert_null(json_object_get(out, "password_hash"));
    assert_null(json_object_get(out, "failed_logins"));
    char *text = jsonx_dumps(out, NULL);
    assert_non_null(text);
    assert_null(strstr(text, "argon2"));
    assert_null(strstr(text, "correct horse"));
    free(text);
    /* minus the server's members, the served form is a valid body for the same person */
    json_object_del(out, "id");
    json_object_del(out, "has_password");
    json_object_del(out, "created_at");
    struct id_person_new again;
    assert_int_equal(id_admin_person_from_json(out, &again, &e), 0);
    assert_int_equal(again.coords.lat_e6, 37494700);
    assert_int_equal(again.coords.lon_e6, 139929700);
    assert_string_equal(again.family_name_kana, "アイヅ");
    json_decref(out);
}

/* ---- organisations and roles ---- */

static void org_body_and_refusals(void **state)
{
    struct fx *f = *state;
    json_t *in =
        parse("{\"kind\":\"care_home\",\"name_ja\":\"湊の家\",\"name_en\":\"Minato House\","
              "\"district\":\"湊\",\"address\":\"湊町 1-2\",\"lat\":37.4751,"
              "\"lon\":140.0102}");
    struct id_org_new o;
    struct err e = {0};
    assert_int_equal(id_admin_org_from_json(in, &o, &e), 0);
    assert_int_equal(o.kind, ID_ORG_CARE_HOME);
    assert_string_equal(o.name_en, "Minato House");
    assert_int_equal(o.coords.lat_e6, 37475100);
    char id[IDS_LEN + 1];
    assert_int_equal(id_org_create(f->s, &o, id, &e), 0);
    json_decref(in);
    struct id_org got;
    assert_int_equal(id_org_get(f->s, id, &got, f->a, &e), 0);
    json_t *out = id_admin_org_to_json(&got);
    assert_string_equal(json_string_value(json_object_get(out, "kind")), "care_home");
    assert_string_equal(json_string_value(json_object_get(out, "id")), id);
    json_object_del(out, "id");
    json_object_del(out, "created_at");
    assert_int_equal(id_admin_org_from_json(out, &o, &e), 0);
    json_decref(out);

    static const struct {
        const char *body, *error;
    } bad[] = {
        {"{\"kind\":\"bank\",\"name_ja\":\"x\",\"district\":\"湊\"}", "/kind: must be clinic"},
        {"{\"name_ja\":\"x\",\"district\":\"湊\"}", "/kind: required"},
        {"{\"kind\":\"clinic\",\"district\":\"湊\"}", "/name_ja: required"},
        {"{\"kind\":\"clinic\",\"name_ja\":\"x\"}", "/district: required"},
        {"{\"kind\":\"clinic\",\"name_ja\":\"x\",\"district\":\"湊\",\"phone\":\"1\"}",
         "/phone: unknown member"},
        {"{\"kind\":\"clinic\",\"name_ja\":\"x\",\"district\":\"湊\",\"address\":5}",
         "/address: must be a string"},
        {"[{\"kind\":\"clinic\"}]", "the body must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in = parse(bad[i].body);
        assert_int_equal(id_admin_org_from_json(in, &o, &e), ERR_INVALID);
        assert_prefix(e.msg, bad[i].error);
        json_decref(in);
    }
}

static void role_body_and_refusals(void **state)
{
    (void)state;
    json_t *in =
        parse("{\"org_id\":\"0123456789abcdefghjkmnpqrs\",\"role\":\"city_administrator\"}");
    const char *org = NULL;
    enum id_role_kind role;
    struct err e = {0};
    assert_int_equal(id_admin_role_from_json(in, &org, &role, &e), 0);
    assert_string_equal(org, "0123456789abcdefghjkmnpqrs");
    assert_int_equal(role, ID_ROLE_CITY_ADMINISTRATOR);
    json_decref(in);
    static const struct {
        const char *body, *error;
    } bad[] = {
        {"{\"role\":\"doctor\"}", "/org_id: required"},
        {"{\"org_id\":\"x\"}", "/role: required"},
        {"{\"org_id\":\"x\",\"role\":\"surgeon\"}", "/role: must be doctor"},
        {"{\"org_id\":\"x\",\"role\":[\"doctor\"]}", "/role: must be a string"},
        {"{\"org_id\":1,\"role\":\"doctor\"}", "/org_id: must be a string"},
        {"{\"org_id\":\"x\",\"role\":\"doctor\",\"active\":true}", "/active: unknown member"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in = parse(bad[i].body);
        assert_int_equal(id_admin_role_from_json(in, &org, &role, &e), ERR_INVALID);
        assert_prefix(e.msg, bad[i].error);
        json_decref(in);
    }
}

/* ---- family links ---- */

static void link_body_and_dates(void **state)
{
    (void)state;
    json_t *in = parse("{\"delegate_id\":\"0123456789abcdefghjkmnpqrs\","
                       "\"rights\":[\"see_alerts\",\"book_appointments\"],\"kind\":\"family\","
                       "\"valid_until\":\"2027-03-31\"}");
    struct id_family_link_new l;
    struct err e = {0};
    assert_int_equal(id_admin_link_from_json(in, &l, &e), 0);
    assert_string_equal(l.delegate_id, "0123456789abcdefghjkmnpqrs");
    assert_int_equal(l.rights, ID_RIGHT_SEE_ALERTS | ID_RIGHT_BOOK_APPOINTMENTS);
    assert_int_equal(l.kind, ID_LINK_FAMILY);
    assert_null(l.subject_id);
    /* the whole last day in Japan: until 2027-04-01T00:00:00+09:00 = 2027-03-31T15:00:00Z */
    assert_int_equal(l.valid_until_ms, 1806505200000LL);
    json_decref(in);

    in = parse("{\"delegate_id\":\"d\",\"rights\":[\"everything\"],\"kind\":\"guardian\","
               "\"valid_until\":\"2027-03-31T15:00:00Z\"}");
    assert_int_equal(id_admin_link_from_json(in, &l, &e), 0);
    assert_int_equal(l.rights, ID_RIGHT_EVERYTHING);
    assert_int_equal(l.kind, ID_LINK_GUARDIAN);
    assert_int_equal(l.valid_until_ms, 1806505200000LL);
    json_decref(in);

    in = parse("{\"delegate_id\":\"d\",\"rights\":[\"see_record\"]}");
    assert_int_equal(id_admin_link_from_json(in, &l, &e), 0);
    assert_int_equal(l.valid_until_ms, 0);
    assert_int_equal(l.kind, ID_LINK_FAMILY);
    json_decref(in);

    static const struct {
        const char *body, *error;
    } bad[] = {
        {"{\"rights\":[\"see_record\"]}", "/delegate_id: required"},
        {"{\"delegate_id\":\"d\"}", "/rights: required"},
        {"{\"delegate_id\":\"d\",\"rights\":\"see_record\"}", "/rights: must be an array"},
        {"{\"delegate_id\":\"d\",\"rights\":[]}", "/rights: must not be empty"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_record\",3]}", "/rights/1: must be a name"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"\"]}", "/rights/0: must be a name"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_record,see_alerts\"]}",
         "/rights/0: must be a name"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_everything_and_more_than_that_x\"]}",
         "/rights/0: must be a name"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"fly\"]}", "/rights: unknown right \"fly\""},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_alerts\",\"see_alerts\"]}",
         "/rights: \"see_alerts\" is named twice"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"everything\",\"see_alerts\"]}", "/rights: "},
        {"{\"delegate_id\":\"d\",\"rights\":[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
         "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}",
         "/rights: at most 16 names"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_record\"],\"kind\":\"friend\"}",
         "/kind: must be family or guardian"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_record\"],\"valid_until\":\"2027-02-29\"}",
         "/valid_until: must be a date"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_record\"],\"valid_until\":\"2027-13-01\"}",
         "/valid_until: must be a date"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_record\"],\"valid_until\":\"tomorrow!!\"}",
         "/valid_until: must be a date"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_record\"],\"valid_until\":\"2027-03-31T12:00\"}",
         "/valid_until: must be a date"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_record\"],\"valid_until\":20270331}",
         "/valid_until: must be a string"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_record\"],"
         "\"valid_until\":\"1970-01-01T00:00:00Z\"}",
         "/valid_until: must lie after now"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_record\"],\"valid_from\":\"2027-01-01\"}",
         "/valid_from: unknown member"},
        {"{\"delegate_id\":\"d\",\"rights\":[\"see_record\"],\"subject_id\":\"s\"}",
         "/subject_id: unknown member"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in = parse(bad[i].body);
        if (id_admin_link_from_json(in, &l, &e) != ERR_INVALID) {
            fprintf(stderr, "accepted: %s\n", bad[i].body);
            fail();
        }
        assert_prefix(e.msg, bad[i].error);
        json_decref(in);
    }
}

/* ---- clients ---- */

static void client_body_and_refusals(void **state)
{
    struct fx *f = *state;
    json_t *in = parse("{\"name\":\"Clinic app\",\"kind\":\"confidential\","
                       "\"redirect_uris\":[\"https://app.example/cb\",\"http://127.0.0.1/cb\"],"
                       "\"scopes\":\"openid fhirUser patient/Observation.rs\","
                       "\"grant_types\":[\"authorization_code\",\"refresh_token\","
                       "\"client_credentials\"]}");
    struct id_client_new c;
    const char *uris[ID_CLIENT_REDIRECTS_MAX];
    struct err e = {0};
    assert_int_equal(id_admin_client_from_json(in, &c, uris, &e), 0);
    assert_int_equal(c.kind, ID_CLIENT_CONFIDENTIAL);
    assert_int_equal(c.n_redirect_uris, 2);
    assert_string_equal(c.redirect_uris[1], "http://127.0.0.1/cb");
    assert_int_equal(c.grant_types, ID_GRANT_AUTHORIZATION_CODE | ID_GRANT_REFRESH_TOKEN |
                                        ID_GRANT_CLIENT_CREDENTIALS);
    assert_null(c.org_id);
    char id[IDS_LEN + 1], secret[ID_CLIENT_SECRET_LEN + 1];
    assert_int_equal(id_client_create(f->s, &c, id, secret, &e), 0);
    json_decref(in);
    struct id_client got;
    assert_int_equal(id_client_get(f->s, id, &got, f->a, &e), 0);
    json_t *out = id_admin_client_to_json(&got, NULL);
    assert_null(json_object_get(out, "client_secret"));
    assert_null(json_object_get(out, "secret_hash"));
    char *text = jsonx_dumps(out, NULL);
    assert_null(strstr(text, secret));
    free(text);
    assert_string_equal(json_string_value(json_object_get(out, "client_id")), id);
    assert_int_equal(json_array_size(json_object_get(out, "grant_types")), 3);
    json_object_del(out, "client_id");
    json_object_del(out, "created_at");
    assert_int_equal(id_admin_client_from_json(out, &c, uris, &e), 0); /* reads back */
    json_decref(out);
    out = id_admin_client_to_json(&got, secret);
    assert_string_equal(json_string_value(json_object_get(out, "client_secret")), secret);
    json_decref(out);

    static const struct {
        const char *body, *error;
    } bad[] = {
        {"{\"kind\":\"public\",\"scopes\":\"openid\",\"grant_types\":[\"authorization_code\"]}",
         "/name: required"},
        {"{\"name\":\"a\",\"kind\":\"secret\",\"scopes\":\"openid\",\"grant_types\":[]}",
         "/kind: must be public or confidential"},
        {"{\"name\":\"a\",\"kind\":\"public\",\"scopes\":[\"openid\"],\"grant_types\":[]}",
         "/scopes: must be a string"},
        {"{\"name\":\"a\",\"kind\":\"public\",\"scopes\":\"openid\","
         "\"grant_types\":\"authorization_code\"}",
         "/grant_types: must be an array"},
        {"{\"name\":\"a\",\"kind\":\"public\",\"scopes\":\"openid\",\"grant_types\":[\"implicit\"]"
         "}",
         "/grant_types: unknown grant type \"implicit\""},
        {"{\"name\":\"a\",\"kind\":\"public\",\"scopes\":\"openid\",\"grant_types\":[\"password\"]"
         "}",
         "/grant_types: unknown grant type"},
        {"{\"name\":\"a\",\"kind\":\"public\",\"scopes\":\"openid\","
         "\"grant_types\":[\"authorization_code\"],\"redirect_uris\":\"https://a.example/cb\"}",
         "/redirect_uris: must be an array"},
        {"{\"name\":\"a\",\"kind\":\"public\",\"scopes\":\"openid\","
         "\"grant_types\":[\"authorization_code\"],\"redirect_uris\":[\"https://a.example/cb\",1]}",
         "/redirect_uris/1: must be a string"},
        {"{\"name\":\"a\",\"kind\":\"public\",\"scopes\":\"openid\","
         "\"grant_types\":[\"authorization_code\"],"
         "\"redirect_uris\":[\"https://a.example/cb\",\"https://a.example/cb#x\"]}",
         "/redirect_uris/1: must not have a fragment"},
        {"{\"name\":\"a\",\"kind\":\"public\",\"scopes\":\"openid\","
         "\"grant_types\":[\"authorization_code\"],\"redirect_uris\":[\"http://a.example/cb\"]}",
         "/redirect_uris/0: "},
        {"{\"name\":\"a\",\"kind\":\"public\",\"scopes\":\"openid\","
         "\"grant_types\":[\"authorization_code\"],\"redirect_uris\":[\"https://a/1\","
         "\"https://a/2\",\"https://a/3\",\"https://a/4\",\"https://a/5\",\"https://a/6\","
         "\"https://a/7\",\"https://a/8\",\"https://a/9\",\"https://a/10\",\"https://a/11\"]}",
         "/redirect_uris: at most 10"},
        {"{\"name\":\"a\",\"kind\":\"public\",\"scopes\":\"openid\","
         "\"grant_types\":[\"authorization_code\"],\"client_secret\":\"mine\"}",
         "/client_secret: unknown member"},
        {"{\"name\":\"a\",\"kind\":\"public\",\"scopes\":\"openid\","
         "\"grant_types\":[\"authorization_code\"],\"org_id\":null}",
         "/org_id: must be a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in = parse(bad[i].body);
        if (id_admin_client_from_json(in, &c, uris, &e) != ERR_INVALID) {
            fprintf(stderr, "accepted: %s\n", bad[i].body);
            fail();
        }
        assert_prefix(e.msg, bad[i].error);
        json_decref(in);
    }
    /* rules of id_client_create, renamed to the member */
    in = parse("{\"name\":\"a\",\"kind\":\"public\",\"scopes\":\"openid\","
               "\"grant_types\":[\"client_credentials\"]}");
    assert_int_equal(id_admin_client_from_json(in, &c, uris, &e), 0);
    assert_int_equal(id_client_create(f->s, &c, id, secret, &e), ERR_INVALID);
    id_admin_pointer_error(&e, &e);
    assert_prefix(e.msg, "/grant_types: client_credentials needs a confidential client");
    json_decref(in);
    in = parse("{\"name\":\"a\",\"kind\":\"public\",\"scopes\":\"openid\","
               "\"grant_types\":[\"authorization_code\"]}");
    assert_int_equal(id_admin_client_from_json(in, &c, uris, &e), 0);
    assert_int_equal(id_client_create(f->s, &c, id, secret, &e), ERR_INVALID);
    id_admin_pointer_error(&e, &e);
    assert_prefix(e.msg, "/redirect_uris: authorization_code needs at least one");
    json_decref(in);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM oauth_client"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(person_body_fills_the_input),
        cmocka_unit_test(coordinates_are_exact_micro_degrees),
        cmocka_unit_test(person_shape_refusals_name_the_member),
        cmocka_unit_test_setup_teardown(identity_refusals_name_the_member_sent, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(pointer_error_rewrites_only_field_messages),
        cmocka_unit_test_setup_teardown(person_served_without_secrets, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(org_body_and_refusals, fx_setup, fx_teardown),
        cmocka_unit_test(role_body_and_refusals),
        cmocka_unit_test(link_body_and_dates),
        cmocka_unit_test_setup_teardown(client_body_and_refusals, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
