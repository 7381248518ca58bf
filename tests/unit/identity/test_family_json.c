/* test_family_json.c - the family API's bodies (src/identity/family_api.c): what validates and
 * what it becomes (rights as bits, the last day in Japan as an instant, the code canonical),
 * and every refusal naming its member as a JSON Pointer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "identity/family_api.h"
#include "identity/person.h"

static json_t *parse(const char *text)
{
    struct err e = {0};
    json_t *v = jsonx_parse(text, strlen(text), &e);
    if (v == NULL)
        fprintf(stderr, "test JSON does not parse: %s\n%s\n", e.msg, text);
    assert_non_null(v);
    return v;
}

/* 2026-11-25T00:00:00Z */
static const int64_t NOW = 1795564800000LL;

static void invitations_validate(void **state)
{
    (void)state;
    unsigned rights = 0;
    int64_t until = -1;
    struct err e = {0};
    json_t *v = parse("{\"rights\":[\"see_alerts\",\"book_appointments\"]}");
    assert_int_equal(id_family_invite_from_json(v, NOW, &rights, &until, &e), 0);
    assert_int_equal(rights, ID_RIGHT_SEE_ALERTS | ID_RIGHT_BOOK_APPOINTMENTS);
    assert_int_equal(until, 0); /* open-ended */
    json_decref(v);

    /* the last day in Japan: the link ends at the next midnight, UTC+9 */
    v = parse("{\"rights\":[\"everything\"],\"valid_until\":\"2027-03-31\"}");
    assert_int_equal(id_family_invite_from_json(v, NOW, &rights, &until, &e), 0);
    assert_int_equal(rights, ID_RIGHT_EVERYTHING);
    int64_t end = 0;
    assert_int_equal(clock_parse_rfc3339("2027-04-01T00:00:00+09:00", &end), 0);
    assert_int_equal(until, end);
    json_decref(v);

    v = parse("{\"rights\":[\"see_record\"],\"valid_until\":\"2026-12-01T12:30:00Z\"}");
    assert_int_equal(id_family_invite_from_json(v, NOW, &rights, &until, &e), 0);
    assert_int_equal(clock_parse_rfc3339("2026-12-01T12:30:00Z", &end), 0);
    assert_int_equal(until, end);
    json_decref(v);
}

static void refusals_name_the_member(void **state)
{
    (void)state;
    static const struct {
        const char *body, *pointer;
    } cases[] = {
        {"[]", "the body"},
        {"{}", "/rights"},
        {"{\"rights\":[]}", "/rights"},
        {"{\"rights\":\"see_alerts\"}", "/rights"},
        {"{\"rights\":[true]}", "/rights/0"},
        {"{\"rights\":[\"see_alerts\",\"\"]}", "/rights/1"},
        {"{\"rights\":[\"See_alerts\"]}", "/rights/0"},
        {"{\"rights\":[\"fly\"]}", "/rights"},
        {"{\"rights\":[\"see_alerts\",\"see_alerts\"]}", "/rights"},
        {"{\"rights\":[\"everything\",\"see_record\"]}", "/rights"},
        {"{\"rights\":[\"see_alerts\"],\"kind\":\"guardian\"}", "/kind"},
        {"{\"rights\":[\"see_alerts\"],\"valid_until\":\"2026-11-24\"}", "/valid_until"},
        {"{\"rights\":[\"see_alerts\"],\"valid_until\":\"2026-11-25T08:59:59+09:00\"}",
         "/valid_until"},
        {"{\"rights\":[\"see_alerts\"],\"valid_until\":\"next week\"}", "/valid_until"},
        {"{\"rights\":[\"see_alerts\"],\"valid_until\":null}", "/valid_until"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = parse(cases[i].body);
        unsigned rights = 0;
        int64_t until = 0;
        struct err e = {0};
        assert_int_equal(id_family_invite_from_json(v, NOW, &rights, &until, &e), ERR_INVALID);
        if (strncmp(e.msg, cases[i].pointer, strlen(cases[i].pointer)) != 0)
            fail_msg("%s: \"%s\" does not start with %s", cases[i].body, e.msg, cases[i].pointer);
        json_decref(v);
    }
    /* the rights body alone: no other member */
    json_t *v = parse("{\"rights\":[\"see_alerts\"],\"valid_until\":\"2030-01-01\"}");
    unsigned rights = 0;
    struct err e = {0};
    assert_int_equal(id_family_rights_from_json(v, &rights, &e), ERR_INVALID);
    assert_string_equal(e.msg, "/valid_until: unknown member");
    json_decref(v);
    v = parse("{\"rights\":[\"manage_consents\"]}");
    assert_int_equal(id_family_rights_from_json(v, &rights, &e), 0);
    assert_int_equal(rights, ID_RIGHT_MANAGE_CONSENTS);
    json_decref(v);
}

static void codes_are_canonical(void **state)
{
    (void)state;
    char code[ID_FAMILY_CODE_LEN + 1];
    struct err e = {0};
    json_t *v = parse("{\"code\":\"0123-4567-89AB-cdef-GHJK-mnpq-rstv-WXYZ\"}");
    assert_int_equal(id_family_code_from_json(v, code, &e), 0);
    assert_string_equal(code, "0123456789abcdefghjkmnpqrstvwxyz");
    json_decref(v);
    v = parse("{\"code\":\" 0123 4567 89ab cdef ghjk mnpq rstv wxyz \"}");
    assert_int_equal(id_family_code_from_json(v, code, &e), 0);
    json_decref(v);
    static const char *const bad[] = {
        "{}",
        "{\"code\":7}",
        "{\"code\":\"\"}",
        "{\"code\":\"0123456789abcdefghjkmnpqrstvwxy\"}",   /* 31 */
        "{\"code\":\"0123456789abcdefghjkmnpqrstvwxyz0\"}", /* 33 */
        "{\"code\":\"0123456789abcdefghjkmnpqrstvwxyi\"}",  /* i: not in the alphabet */
        "{\"code\":\"0123456789abcdefghjkmnpqrstvwxyz\",\"rights\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = parse(bad[i]);
        assert_int_equal(id_family_code_from_json(v, code, &e), ERR_INVALID);
        assert_true(e.msg[0] == '/');
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(invitations_validate),
        cmocka_unit_test(refusals_name_the_member),
        cmocka_unit_test(codes_are_canonical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
