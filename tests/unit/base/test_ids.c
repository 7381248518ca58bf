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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ids_are_well_formed_and_unique),
        cmocka_unit_test(foreign_strings_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
