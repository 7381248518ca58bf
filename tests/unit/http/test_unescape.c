/* test_unescape.c - percent-decoding of paths and query values (src/http/unescape.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/unescape.h"

static void check(const char *in, const char *want)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", in);
    size_t n = http_unescape(buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void decodes_escapes_of_either_case(void **state)
{
    (void)state;
    check("", "");
    check("/plain/path", "/plain/path");
    check("%2e%2E%2f%2F", "..//");
    check("a%20b", "a b");
    check("%E4%BC%9A%E6%B4%A5", "会津");
    check("100%25", "100%");
    check("%2525", "%25"); /* decoded once, not twice */
    check("+", "+");       /* '+' is a query matter, not a percent escape */
}

static void never_decodes_a_nul(void **state)
{
    (void)state;
    check("/portal/js/app.js%00.png", "/portal/js/app.js%00.png");
    check("%00", "%00");
    check("a%00b%41", "a%00bA");
    check("%0%00", "%0%00");
}

static void leaves_malformed_escapes(void **state)
{
    (void)state;
    check("%", "%");
    check("%4", "%4");
    check("%zz", "%zz");
    check("%4g%41", "%4gA");
    check("50%", "50%");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_escapes_of_either_case),
        cmocka_unit_test(never_decodes_a_nul),
        cmocka_unit_test(leaves_malformed_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
