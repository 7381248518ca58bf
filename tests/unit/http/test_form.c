/* test_form.c - the strict form parser: decoding ('+', percent escapes), empty values, bounds,
 * and every refusal (repeated names, empty pairs, missing '=', bad escapes, controls, UTF-8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/form.h"

static int parse(const char *body, struct http_form *f, struct arena *a, struct err *e)
{
    return http_form_parse(body, strlen(body), a, f, e);
}

/* a typical token request decodes; '+' is a space; %XX in either case */
static void decodes_a_token_request(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct http_form f;
    struct err e = {0};
    assert_int_equal(parse("grant_type=client_credentials&scope=system%2FObservation.rs+"
                           "system/Patient.r&x%3d=%e3%81%82",
                           &f, a, &e),
                     0);
    assert_int_equal(f.n, 3);
    assert_string_equal(http_form_get(&f, "grant_type"), "client_credentials");
    assert_string_equal(http_form_get(&f, "scope"), "system/Observation.rs system/Patient.r");
    assert_string_equal(http_form_get(&f, "x="), "あ");
    assert_null(http_form_get(&f, "missing"));
    arena_free(a);
}

/* "a=" is present but empty, and reads as absent (RFC 6749 3.1); an empty body is no fields;
 * '=' inside a value is kept */
static void empty_values_and_bodies(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct http_form f;
    struct err e = {0};
    assert_int_equal(parse("scope=&b=x=y", &f, a, &e), 0);
    assert_int_equal(f.n, 2);
    assert_null(http_form_get(&f, "scope"));
    assert_string_equal(http_form_get(&f, "b"), "x=y");
    assert_int_equal(parse("", &f, a, &e), 0);
    assert_int_equal(f.n, 0);
    arena_free(a);
}

/* each malformed body is refused with ERR_INVALID and a reason */
static void malformed_bodies_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "a=1&a=2",     /* repeated (RFC 6749 3.2) */
        "a=1&a=",      /* repeated, even empty */
        "a=1&&b=2",    /* empty pair */
        "&a=1",        /* leading & */
        "a=1&",        /* trailing & */
        "a",           /* no '=' */
        "=1",          /* no name */
        "a=%2",        /* short escape */
        "a=%zz",       /* not hex */
        "a=%00",       /* NUL */
        "a=%0a",       /* control */
        "a=b c",       /* raw space */
        "a=\x01",      /* raw control */
        "a=%ff%fe",    /* not UTF-8 */
        "a=%c0%af",    /* overlong UTF-8 */
        "a%3D=1&a==2", /* "a=" twice is fine? no: names "a=" and "a" differ, value "=2" */
    };
    struct arena *a = arena_new(0);
    struct http_form f;
    for (size_t i = 0; i + 1 < sizeof bad / sizeof bad[0]; i++) {
        struct err e = {0};
        int rc = parse(bad[i], &f, a, &e);
        if (rc != ERR_INVALID)
            fail_msg("\"%s\" gave %d", bad[i], rc);
        assert_true(e.msg[0] != '\0');
    }
    struct err e = {0};
    assert_int_equal(parse("a=1&a=2", &f, a, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "\"a\" is repeated"));
    assert_int_equal(parse(bad[sizeof bad / sizeof bad[0] - 1], &f, a, &e), 0);
    assert_string_equal(http_form_get(&f, "a"), "=2");
    arena_free(a);
}

/* bounds: 16 fields, 64-byte names, 4096-byte values (after decoding) */
static void bounds_are_enforced(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct http_form f;
    struct err e = {0};
    char body[16 * 8 + 16] = "";
    size_t n = 0;
    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%sf%02d=1", i ? "&" : "", i);
    assert_int_equal(parse(body, &f, a, &e), 0);
    assert_int_equal(f.n, 16);
    snprintf(body + n, sizeof body - n, "&f16=1");
    assert_int_equal(parse(body, &f, a, &e), ERR_TOOBIG);

    char *big = malloc(3 * 4097 + 8);
    memcpy(big, "v=", 2);
    memset(big + 2, 'x', 4096);
    big[4098] = '\0';
    assert_int_equal(parse(big, &f, a, &e), 0);
    big[4098] = 'x';
    big[4099] = '\0';
    assert_int_equal(parse(big, &f, a, &e), ERR_TOOBIG);
    for (size_t i = 0; i < 4097; i++)
        memcpy(big + 2 + 3 * i, "%41", 3);
    big[2 + 3 * 4097] = '\0';
    assert_int_equal(parse(big, &f, a, &e), ERR_TOOBIG);
    memset(big, 'n', 65);
    memcpy(big + 65, "=1", 3);
    assert_int_equal(parse(big, &f, a, &e), ERR_TOOBIG);
    memcpy(big + 64, "=1", 3);
    assert_int_equal(parse(big, &f, a, &e), 0);
    free(big);
    arena_free(a);
}

/* a body that is not NUL-terminated is read only up to len */
static void reads_only_len_bytes(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct http_form f;
    struct err e = {0};
    const char body[] = "a=1&b=2";
    assert_int_equal(http_form_parse(body, 3, a, &f, &e), 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(http_form_get(&f, "a"), "1");
    assert_string_equal(http_form_decode("id%3Ax+y", 8, 64, a, &e), "id:x y");
    assert_null(http_form_decode("abcdef", 6, 5, a, &e));
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_a_token_request),      cmocka_unit_test(empty_values_and_bodies),
        cmocka_unit_test(malformed_bodies_are_refused), cmocka_unit_test(bounds_are_enforced),
        cmocka_unit_test(reads_only_len_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
