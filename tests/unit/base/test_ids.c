/* test_ids.c - random ids: shape, alphabet, uniqueness, and validation of foreign strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/ids.h"

static void ids_are_well_formed_and_unique(void **state)
{
    (void)state;
    assert_int_equal(ids_init(), 0);
    enum { N = 2000 };
    static char seen[N][IDS_LEN + 1];
    for (int i = 0; i < N; i++) {
        ids_new(seen[i]);
        assert_int_equal(strlen(seen[i]), IDS_LEN);
        assert_true(ids_valid(seen[i]));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
    }
}

static void foreign_strings_are_refused(void **state)
{
    (void)state;
    assert_false(ids_valid(""));
    assert_false(ids_valid("0123456789abcdefghjkmnpqr"));   /* 25 */
    assert_false(ids_valid("0123456789abcdefghjkmnpqrst")); /* 27 */
    assert_false(ids_valid("0123456789abcdefghjkmnpqrI"));  /* upper case */
    assert_false(ids_valid("0123456789abcdefghjkmnpqru"));  /* u is not Crockford */
    assert_false(ids_valid("../../etc/passwd0123456789"));
    assert_true(ids_valid("0123456789abcdefghjkmnpqrs"));
}

/* Ordered ids: well formed, sorted by their time, unique within one millisecond. */
static void ordered_ids_sort_by_time(void **state)
{
    (void)state;
    char a[IDS_LEN + 1], b[IDS_LEN + 1], c[IDS_LEN + 1];
    ids_new_ordered(a, 1764000000000);
    ids_new_ordered(b, 1764000000001);
    ids_new_ordered(c, 1764000000001);
    assert_true(ids_valid(a) && ids_valid(b) && ids_valid(c));
    assert_true(strcmp(a, b) < 0);
    assert_memory_equal(b, c, 10); /* the same millisecond: the same time part ... */
    assert_string_not_equal(b, c); /* ... and different randomness */
    /* each step of the time part sorts, across a character boundary too */
    for (int64_t t = 31; t < 40; t++) {
        ids_new_ordered(a, 1764000000000 + t);
        ids_new_ordered(b, 1764000000000 + t + 1);
        assert_true(strncmp(a, b, 10) < 0);
    }
    ids_new_ordered(a, 0);
    assert_memory_equal(a, "0000000000", 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ids_are_well_formed_and_unique),
        cmocka_unit_test(foreign_strings_are_refused),
        cmocka_unit_test(ordered_ids_sort_by_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
