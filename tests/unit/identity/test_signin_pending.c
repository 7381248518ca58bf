/* test_signin_pending.c - the half-finished sign-ins: found by their cookie value only, single
 * use, gone after 5 minutes, dropped after too many wrong codes, bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "identity/signin_pending.h"

#define T0     1790000000000LL
#define PERSON "01hzx3k4m5n6p7q8r9s0t1v2w3"

static void test_put_peek_take(void **state)
{
    (void)state;
    struct id_pending_table *t = id_pending_table_new();
    assert_non_null(t);
    char v[ID_SESSION_VALUE_LEN + 1];
    struct id_pending p;
    assert_int_equal(id_pending_put(t, PERSON, "/oauth/authorize?x=1", T0, v), 0);
    assert_true(id_session_value_valid(v));
    assert_int_equal(id_pending_peek(t, v, T0 + 1, &p), 0);
    assert_string_equal(p.person_id, PERSON);
    assert_string_equal(p.return_to, "/oauth/authorize?x=1");
    assert_int_equal(p.auth_time_ms, T0);
    assert_int_equal(id_pending_count(t, T0), 1);
    assert_int_equal(id_pending_take(t, v, T0 + 2, &p), 0);
    /* single use */
    assert_int_equal(id_pending_take(t, v, T0 + 3, &p), ERR_NOTFOUND);
    assert_int_equal(id_pending_peek(t, v, T0 + 3, &p), ERR_NOTFOUND);
    assert_int_equal(id_pending_count(t, T0), 0);
    /* other values never match */
    char other[ID_SESSION_VALUE_LEN + 1];
    assert_int_equal(id_pending_put(t, PERSON, "/", T0, v), 0);
    id_session_random(other);
    assert_int_equal(id_pending_peek(t, other, T0, &p), ERR_NOTFOUND);
    assert_int_equal(id_pending_peek(t, NULL, T0, &p), ERR_NOTFOUND);
    assert_int_equal(id_pending_peek(t, "", T0, &p), ERR_NOTFOUND);
    id_pending_table_free(t);
}

static void test_refuses_bad_input(void **state)
{
    (void)state;
    struct id_pending_table *t = id_pending_table_new();
    char v[ID_SESSION_VALUE_LEN + 1];
    assert_int_equal(id_pending_put(t, "nope", "/", T0, v), ERR_INVALID);
    assert_int_equal(id_pending_put(t, PERSON, "//evil.example", T0, v), ERR_INVALID);
    assert_int_equal(id_pending_put(t, PERSON, NULL, T0, v), ERR_INVALID);
    id_pending_table_free(t);
}

static void test_expiry(void **state)
{
    (void)state;
    struct id_pending_table *t = id_pending_table_new();
    char v[ID_SESSION_VALUE_LEN + 1];
    struct id_pending p;
    assert_int_equal(id_pending_put(t, PERSON, "/", T0, v), 0);
    assert_int_equal(id_pending_peek(t, v, T0 + ID_PENDING_TTL_MS - 1, &p), 0);
    assert_int_equal(id_pending_take(t, v, T0 + ID_PENDING_TTL_MS, &p), ERR_NOTFOUND);
    id_pending_table_free(t);
}

static void test_attempts(void **state)
{
    (void)state;
    struct id_pending_table *t = id_pending_table_new();
    char v[ID_SESSION_VALUE_LEN + 1];
    struct id_pending p;
    assert_int_equal(id_pending_put(t, PERSON, "/", T0, v), 0);
    int back = 0;
    for (int i = 0; i < 10; i++) {
        if (id_pending_take(t, v, T0, &p) != 0)
            break;
        if (id_pending_put_back(t, v, &p, T0) == 0)
            back++;
    }
    assert_int_equal(back, ID_PENDING_ATTEMPTS_MAX - 1);
    assert_int_equal(id_pending_peek(t, v, T0, &p), ERR_NOTFOUND);
    id_pending_table_free(t);
}

static void test_bounded(void **state)
{
    (void)state;
    struct id_pending_table *t = id_pending_table_new();
    char v[ID_SESSION_VALUE_LEN + 1];
    for (int i = 0; i < ID_PENDING_MAX; i++)
        assert_int_equal(id_pending_put(t, PERSON, "/", T0, v), 0);
    assert_int_equal(id_pending_put(t, PERSON, "/", T0, v), ERR_TOOBIG);
    /* expired records make room again */
    assert_int_equal(id_pending_put(t, PERSON, "/", T0 + ID_PENDING_TTL_MS, v), 0);
    assert_int_equal(id_pending_count(t, T0 + ID_PENDING_TTL_MS), 1);
    id_pending_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_peek_take), cmocka_unit_test(test_refuses_bad_input),
        cmocka_unit_test(test_expiry),        cmocka_unit_test(test_attempts),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
