/* test_notice_json.c - notice validation: the accepted shape, and each way a body is refused,
 * with the JSON Pointer of the member at fault; cursors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "services/notices/notice_json.h"

static int check(const char *text, struct notice *n, struct err *e)
{
    json_t *in = jsonx_parse(text, strlen(text), e);
    if (in == NULL)
        return -100; /* malformed: not a validation result */
    int rc = notice_from_json(in, n, e);
    json_decref(in);
    return rc;
}

static void a_full_notice_is_accepted_and_served(void **state)
{
    (void)state;
    const char *text =
        "{\"category\":\"disaster\",\"title\":{\"ja\":\"避難訓練\",\"en\":\"Drill\"},"
        "\"body\":{\"ja\":\"9時開始\",\"en\":\"Starts 9:00\"},\"district\":\"湊\","
        "\"validUntil\":\"2026-12-07T12:00:00+09:00\"}";
    json_t *in = jsonx_parse(text, strlen(text), NULL);
    struct notice n;
    struct err e = {0};
    assert_int_equal(notice_from_json(in, &n, &e), 0);
    assert_string_equal(n.category, "disaster");
    assert_string_equal(n.title_ja, "避難訓練");
    assert_string_equal(n.district, "湊");
    json_t *out = notice_to_json(&n, "0123456789abcdefghjkmnpqrs", 1796083200000LL);
    assert_string_equal(json_string_value(json_object_get(out, "validUntil")),
                        "2026-12-07T03:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(out, "createdAt")),
                        "2026-12-01T00:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(out, "id")),
                        "0123456789abcdefghjkmnpqrs");
    json_decref(out);
    json_decref(in);
}

static void each_fault_is_named(void **state)
{
    (void)state;
    struct {
        const char *body;
        const char *where;
    } cases[] = {
        {"{}", "/category: required"},
        {"{\"category\":1}", "/category: must be a string"},
        {"{\"category\":\"party\"}", "/category: must be"},
        {"{\"category\":\"general\"}", "/title: required"},
        {"{\"category\":\"general\",\"title\":\"x\"}", "/title: must be an object"},
        {"{\"category\":\"general\",\"title\":{}}", "/title: needs"},
        {"{\"category\":\"general\",\"title\":{\"fr\":\"x\"}}", "/title/fr: unknown member"},
        {"{\"category\":\"general\",\"title\":{\"en\":\"\"}}", "/title/en: must not be empty"},
        {"{\"category\":\"general\",\"title\":{\"en\":\"x\"},\"body\":{\"en\":5}}",
         "/body/en: must be a string"},
        {"{\"category\":\"general\",\"title\":{\"en\":\"x\"},\"body\":{\"ja\":\"y\"}}",
         "/body: must be in the same languages"},
        {"{\"category\":\"general\",\"title\":{\"en\":\"x\"},\"body\":{\"en\":\"y\"},\"extra\":1}",
         "/extra: unknown member"},
        {"{\"category\":\"general\",\"title\":{\"en\":\"x\"},\"body\":{\"en\":\"y\"},"
         "\"validUntil\":\"tomorrow\"}",
         "/validUntil: must be an RFC 3339"},
        {"{\"category\":\"general\",\"title\":{\"en\":\"x\"},\"body\":{\"en\":\"y\"},"
         "\"district\":\"\"}",
         "/district: must not be empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct notice n;
        struct err e = {0};
        int rc = check(cases[i].body, &n, &e);
        if (rc != ERR_INVALID || strstr(e.msg, cases[i].where) == NULL)
            fail_msg("case %zu: rc %d, \"%s\" lacks \"%s\"", i, rc, e.msg, cases[i].where);
    }
}

static void lengths_count_characters_not_bytes(void **state)
{
    (void)state;
    /* 200 kanji (600 bytes) fit; 201 do not */
    char body[2048];
    char title[700] = "";
    size_t used = 0;
    for (int i = 0; i < 200; i++) {
        memcpy(title + used, "湊", 3);
        used += 3;
    }
    title[used] = '\0';
    snprintf(body, sizeof body,
             "{\"category\":\"general\",\"title\":{\"ja\":\"%s\"},\"body\":{\"ja\":\"y\"}}", title);
    struct notice n;
    struct err e = {0};
    assert_int_equal(check(body, &n, &e), 0);
    snprintf(body, sizeof body,
             "{\"category\":\"general\",\"title\":{\"ja\":\"%s湊\"},\"body\":{\"ja\":\"y\"}}",
             title);
    assert_int_equal(check(body, &n, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "longer than 200"));
}

static void malformed_bodies_fail_to_parse(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "{", "{\"a\":1,\"a\":2}", "{\"a\":\"\\u0000\"}", "{} trailing", "{\"a\":\"\xff\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct err e = {0};
        json_t *v = jsonx_parse(bad[i], strlen(bad[i]), &e);
        if (v != NULL)
            fail_msg("case %zu parsed", i);
        assert_int_equal(e.code, ERR_INVALID);
    }
}

static void json_that_is_not_an_object_is_invalid(void **state)
{
    (void)state;
    const char *shapes[] = {"[]", "[{\"category\":\"general\"}]", "\"general\"", "42", "null"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        struct notice n;
        struct err e = {0};
        assert_int_equal(check(shapes[i], &n, &e), ERR_INVALID);
        assert_non_null(strstr(e.msg, "must be a JSON object"));
    }
}

static void cursors_round_trip_and_refuse_garbage(void **state)
{
    (void)state;
    char c[NOTICE_CURSOR_MAX], id[IDS_LEN + 1];
    int64_t ms;
    notice_cursor_format(1796083200000LL, "0123456789abcdefghjkmnpqrs", c);
    assert_int_equal(notice_cursor_parse(c, &ms, id), 0);
    assert_int_equal(ms, 1796083200000LL);
    assert_string_equal(id, "0123456789abcdefghjkmnpqrs");
    const char *bad[] = {"",
                         ".",
                         "12",
                         "x.0123456789abcdefghjkmnpqrs",
                         "1.0123456789abcdefghjkmnpqr",
                         "1234567890123456.0123456789abcdefghjkmnpqrs",
                         "-1.0123456789abcdefghjkmnpqrs"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(notice_cursor_parse(bad[i], &ms, id), ERR_INVALID);
}

/* jansson's allocator, failing the n-th allocation from now on (-1: never) */
static long alloc_fail_at = -1, alloc_count;
static void *failing_malloc(size_t size)
{
    if (alloc_fail_at >= 0 && alloc_count++ == alloc_fail_at)
        return NULL;
    return malloc(size);
}

/* Parse, validate, build and serialise with every allocation failing in turn: each run either fails
 * cleanly (NULL, no leak: ASan checks) or yields exactly the document of the run without
 * failures, never a half-built one. */
static void survives_every_allocation_failure(void **state)
{
    (void)state;
    const char *text = "{\"category\":\"disaster\",\"title\":{\"ja\":\"避難\",\"en\":\"Drill\"},"
                       "\"body\":{\"ja\":\"9時\",\"en\":\"Walk to the shelter of your district "
                       "when the siren sounds at nine\"},\"district\":\"湊\","
                       "\"validUntil\":\"2026-12-07T12:00:00+09:00\"}";
    jsonx_set_malloc(failing_malloc);
    char *reference = NULL;
    int completed = 0;
    for (long n = -1; !completed && n < 1000; n++) {
        alloc_fail_at = n;
        alloc_count = 0;
        struct err e = {0};
        json_t *in = jsonx_parse(text, strlen(text), &e);
        if (in == NULL)
            continue;
        struct notice nt;
        json_t *out = NULL;
        if (notice_from_json(in, &nt, &e) == 0)
            out = notice_to_json(&nt, "0123456789abcdefghjkmnpqrs", 1796083200000LL);
        char *dump = out ? jsonx_dumps(out, NULL) : NULL; /* as the stored document is made */
        long used = alloc_count;
        if (n == -1) {
            assert_non_null(dump);
            reference = strdup(dump);
        } else if (dump != NULL) {
            assert_string_equal(dump, reference);
            completed = used <= n; /* no allocation was failed: every point is covered */
        }
        free(dump);
        json_decref(out);
        json_decref(in);
    }
    jsonx_set_malloc(NULL);
    assert_true(completed);
    free(reference);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_full_notice_is_accepted_and_served),
        cmocka_unit_test(each_fault_is_named),
        cmocka_unit_test(lengths_count_characters_not_bytes),
        cmocka_unit_test(malformed_bodies_fail_to_parse),
        cmocka_unit_test(json_that_is_not_an_object_is_invalid),
        cmocka_unit_test(cursors_round_trip_and_refuse_garbage),
        cmocka_unit_test(survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
