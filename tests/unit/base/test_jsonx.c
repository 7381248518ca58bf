/* test_jsonx.c - strict JSON input (duplicates, NUL, trailing data), member checks that name
 * the member, and serialisation that fails whole or not at all under allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"

static void parse_is_strict(void **state)
{
    (void)state;
    struct err e = {0};
    json_t *v = jsonx_parse("{\"a\":[1,2]}", 11, &e);
    assert_non_null(v);
    json_decref(v);
    v = jsonx_parse("[1]", 3, &e); /* any value parses; its shape is the validator's question */
    assert_true(json_is_array(v));
    json_decref(v);
    const char *bad[] = {"{\"a\":1,\"a\":2}", "{\"a\":\"\\u0000\"}", "{} {}", "{", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(jsonx_parse(bad[i], strlen(bad[i]), &e));
        assert_int_equal(e.code, ERR_INVALID);
        assert_non_null(strstr(e.msg, "line 1"));
    }
}

static void members_are_checked_by_name(void **state)
{
    (void)state;
    static const char *const allowed[] = {"ja", "en", NULL};
    struct err e = {0};
    json_t *o = json_pack("{s:s, s:s, s:i}", "ja", "湊", "en", "", "n", 1);
    assert_int_equal(jsonx_only_keys(o, allowed, "/title", &e), ERR_INVALID);
    assert_string_equal(e.msg, "/title/n: unknown member");
    const char *s = NULL;
    assert_int_equal(jsonx_get_string(o, "ja", 1, "/title", &s, &e), 0);
    assert_string_equal(s, "湊"); /* one character, three bytes */
    assert_int_equal(jsonx_get_string(o, "en", 5, "/title", &s, &e), ERR_INVALID);
    assert_string_equal(e.msg, "/title/en: must not be empty");
    assert_int_equal(jsonx_get_string(o, "n", 5, "/title", &s, &e), ERR_INVALID);
    assert_string_equal(e.msg, "/title/n: must be a string");
    assert_int_equal(jsonx_get_string(o, "fr", 5, "/title", &s, &e), ERR_NOTFOUND);
    assert_null(s);
    json_decref(o);
}

static long fail_at = -1, count;
static void *failing_malloc(size_t size)
{
    if (fail_at >= 0 && count++ == fail_at)
        return NULL;
    return malloc(size);
}

/* jansson 2.14 drops a character of a long string when its buffer cannot grow, and returns the
 * value anyway; jsonx_parse() must refuse such a value instead */
static void parse_fails_whole_under_allocation_failure(void **state)
{
    (void)state;
    const char *text = "{\"title\":{\"en\":\"A rather long title that needs the buffer to "
                       "grow\"},\"n\":123456789012345678,\"list\":[\"one\",\"two\"]}";
    json_t *reference = jsonx_parse(text, strlen(text), NULL);
    assert_non_null(reference);
    jsonx_set_malloc(failing_malloc);
    int refused = 0;
    for (long n = 0; n < 64; n++) {
        fail_at = n;
        count = 0;
        struct err e = {0};
        json_t *v = jsonx_parse(text, strlen(text), &e);
        fail_at = -1;
        if (v == NULL) {
            assert_int_equal(e.code, ERR_NOMEM);
            refused++;
        } else {
            assert_true(json_equal(v, reference));
        }
        json_decref(v);
    }
    jsonx_set_malloc(NULL);
    assert_true(refused > 0);
    json_decref(reference);
}

static void dumps_fails_whole_under_allocation_failure(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s, s:{s:s, s:s}, s:s, s:[i,i]}", "id", "0123", "title", "ja", "避難",
                          "en", "Drill", "createdAt", "2026-12-01T00:00:00.000Z", "n", 1, 2);
    size_t len = 0;
    char *reference = jsonx_dumps(o, &len);
    assert_string_equal(reference, "{\"id\":\"0123\",\"title\":{\"ja\":\"避難\",\"en\":\"Drill\"},"
                                   "\"createdAt\":\"2026-12-01T00:00:00.000Z\",\"n\":[1,2]}");
    assert_int_equal(len, strlen(reference));
    jsonx_set_malloc(failing_malloc);
    for (long n = 0; n < 64; n++) {
        fail_at = n;
        count = 0;
        char *d = jsonx_dumps(o, NULL);
        fail_at = -1;
        if (d != NULL)
            assert_string_equal(d, reference);
        free(d);
    }
    jsonx_set_malloc(NULL);
    assert_null(jsonx_dumps(NULL, NULL));
    free(reference);
    json_decref(o);
}

/* Texts longer than the first buffer grow it: the same text json_dumps() writes, at every
 * length from a few bytes to many times the first buffer. */
static void dumps_grows_for_long_texts(void **state)
{
    (void)state;
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15);
    json_t *a = json_array();
    for (int i = 0; i < 600; i++) {
        json_array_append_new(a,
                              json_pack("{s:i, s:s, s:f}", "i", i, "s", "血圧 mmHg", "v", 37.4947));
        size_t len = 0;
        char *d = jsonx_dumps(a, &len);
        char *want = json_dumps(a, flags);
        assert_non_null(d);
        assert_string_equal(d, want);
        assert_int_equal(len, strlen(want));
        free(d);
        free(want);
    }
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_is_strict),
        cmocka_unit_test(members_are_checked_by_name),
        cmocka_unit_test(parse_fails_whole_under_allocation_failure),
        cmocka_unit_test(dumps_fails_whole_under_allocation_failure),
        cmocka_unit_test(dumps_grows_for_long_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
