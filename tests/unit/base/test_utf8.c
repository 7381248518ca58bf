/* test_utf8.c - UTF-8 validation against RFC 3629's edge cases, and code-point counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/utf8.h"

static void accepts_well_formed(void **state)
{
    (void)state;
    const char *good[] = {"",         "plain",        "湊地区",          "\xF0\x9F\x98\x80",
                          "\xC2\x80", "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(utf8_valid(good[i], strlen(good[i])));
}

static void refuses_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "\xff",             /* never valid */
        "\xC0\xAF",         /* overlong '/' */
        "\xE0\x80\xAF",     /* overlong */
        "\xED\xA0\x80",     /* surrogate */
        "\xF4\x90\x80\x80", /* past U+10FFFF */
        "\xE6\xB9",         /* truncated */
        "\x80",             /* lone continuation */
        "a\xC3(",           /* bad continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(utf8_valid(bad[i], strlen(bad[i])));
    assert_false(utf8_valid("a\0b", 3)); /* NUL inside text */
}

static void counts_code_points(void **state)
{
    (void)state;
    assert_int_equal(utf8_chars("湊地区", strlen("湊地区")), 3);
    assert_int_equal(utf8_chars("a\xF0\x9F\x98\x80z", 6), 3);
    assert_int_equal(utf8_chars("", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_well_formed),
        cmocka_unit_test(refuses_malformed),
        cmocka_unit_test(counts_code_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
