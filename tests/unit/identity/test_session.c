/* test_session.c - browser sessions in the store: made with a random value kept only as its
 * hash, found while active, not found when ended, expired, unknown or malformed; CSRF tokens
 * compared exactly; and the return_to rule of the sign-in page (no open redirects). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "identity/person.h"
#include "identity/return_to.h"
#include "identity/session.h"
#include "support/fixture.h"

#define T0 1790000000000LL

struct sfx {
    struct fx *fx;
    char person[IDS_LEN + 1];
};

static int setup(void **state)
{
    void *inner = NULL;
    if (fx_setup_in(&inner, "session") != 0)
        return -1;
    static struct sfx f;
    memset(&f, 0, sizeof f);
    f.fx = inner;
    struct id_person_new in = {.family_name_kanji = "会津",
                               .given_name_kanji = "太郎",
                               .family_name_kana = "アイヅ",
                               .given_name_kana = "タロウ",
                               .birth_date = "1955-04-01",
                               .sex = ID_SEX_MALE,
                               .district = "Minato",
                               .email = "taro@example.jp"};
    struct err e = {0};
    if (id_person_create(f.fx->s, &in, f.person, &e) != 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct sfx *f = *state;
    void *inner = f->fx;
    return fx_teardown(&inner);
}

/* Makes and stores a session at now; the cookie value goes to value. */
static void make(struct sfx *f, int64_t now, struct id_session *ss,
                 char value[ID_SESSION_VALUE_LEN + 1])
{
    struct err e = {0};
    assert_int_equal(id_session_new(ss, f->person, "pwd", now, now, value, &e), 0);
    assert_int_equal(store_write(f->fx->s, id_session_insert_fn, ss, &e), 0);
}

static void test_create_and_find(void **state)
{
    struct sfx *f = *state;
    struct id_session ss, got;
    char value[ID_SESSION_VALUE_LEN + 1];
    struct err e = {0};
    make(f, T0, &ss, value);
    assert_int_equal(strlen(value), ID_SESSION_VALUE_LEN);
    assert_true(id_session_value_valid(value));
    assert_int_equal(strlen(ss.csrf), ID_SESSION_CSRF_LEN);
    assert_string_not_equal(ss.csrf, value);
    assert_int_equal(ss.expires_ms, T0 + ID_SESSION_TTL_MS);
    assert_int_equal(id_session_find(f->fx->s, value, T0 + 1000, &got, &e), 0);
    assert_string_equal(got.person_id, f->person);
    assert_string_equal(got.csrf, ss.csrf);
    assert_string_equal(got.amr, "pwd");
    assert_string_equal(got.hash, ss.hash);
    assert_int_equal(got.auth_time_ms, T0);
    /* only the hash is stored, never the value */
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM web_session WHERE hash = '%s'", value);
    assert_int_equal(fx_count(f->fx, sql), 0);
    assert_int_equal(fx_count(f->fx, "SELECT COUNT(*) FROM web_session WHERE length(hash) = 64"),
                     1);
}

static void test_not_found(void **state)
{
    struct sfx *f = *state;
    struct id_session got;
    struct err e = {0};
    char other[ID_SESSION_VALUE_LEN + 1];
    id_session_random(other);
    assert_int_equal(id_session_find(f->fx->s, other, T0, &got, &e), ERR_NOTFOUND);
    assert_int_equal(id_session_find(f->fx->s, NULL, T0, &got, &e), ERR_NOTFOUND);
    assert_int_equal(id_session_find(f->fx->s, "", T0, &got, &e), ERR_NOTFOUND);
    assert_int_equal(id_session_find(f->fx->s, "short", T0, &got, &e), ERR_NOTFOUND);
    /* right length, a character outside base64url */
    char bad[ID_SESSION_VALUE_LEN + 1];
    memcpy(bad, other, sizeof bad);
    bad[10] = '+';
    assert_int_equal(id_session_find(f->fx->s, bad, T0, &got, &e), ERR_NOTFOUND);
    char longer[ID_SESSION_VALUE_LEN + 2];
    snprintf(longer, sizeof longer, "%sA", other);
    assert_int_equal(id_session_find(f->fx->s, longer, T0, &got, &e), ERR_NOTFOUND);
}

static void test_expiry(void **state)
{
    struct sfx *f = *state;
    struct id_session ss, got;
    char value[ID_SESSION_VALUE_LEN + 1];
    struct err e = {0};
    make(f, T0, &ss, value);
    assert_int_equal(id_session_find(f->fx->s, value, T0 + ID_SESSION_TTL_MS - 1, &got, &e), 0);
    assert_int_equal(id_session_find(f->fx->s, value, T0 + ID_SESSION_TTL_MS, &got, &e),
                     ERR_NOTFOUND);
}

static void test_end(void **state)
{
    struct sfx *f = *state;
    struct id_session ss, got;
    char value[ID_SESSION_VALUE_LEN + 1];
    struct err e = {0};
    make(f, T0, &ss, value);
    struct id_session_end x = {.now_ms = T0 + 5};
    memcpy(x.hash, ss.hash, sizeof x.hash);
    assert_int_equal(store_write(f->fx->s, id_session_end_fn, &x, &e), 0);
    assert_int_equal(x.ended, 1);
    assert_int_equal(id_session_find(f->fx->s, value, T0 + 10, &got, &e), ERR_NOTFOUND);
    x.ended = 0; /* a second end changes nothing */
    assert_int_equal(store_write(f->fx->s, id_session_end_fn, &x, &e), 0);
    assert_int_equal(x.ended, 0);
}

static void test_new_refuses(void **state)
{
    struct sfx *f = *state;
    struct id_session ss;
    char value[ID_SESSION_VALUE_LEN + 1];
    struct err e = {0};
    assert_int_equal(id_session_new(&ss, "not-an-id", "pwd", T0, T0, value, &e), ERR_INVALID);
    assert_int_equal(id_session_new(&ss, f->person, "sms", T0, T0, value, &e), ERR_INVALID);
    assert_int_equal(id_session_new(&ss, f->person, NULL, T0, T0, value, &e), ERR_INVALID);
    assert_int_equal(id_session_new(&ss, f->person, "pwd otp", T0, T0, value, &e), 0);
    /* two sessions never share a value */
    char other[ID_SESSION_VALUE_LEN + 1];
    struct id_session s2;
    assert_int_equal(id_session_new(&s2, f->person, "pwd", T0, T0, other, &e), 0);
    assert_string_not_equal(value, other);
    assert_string_not_equal(ss.csrf, s2.csrf);
}

static void test_csrf(void **state)
{
    (void)state;
    struct id_session ss;
    memset(&ss, 0, sizeof ss);
    id_session_random(ss.csrf);
    char copy[ID_SESSION_CSRF_LEN + 1];
    memcpy(copy, ss.csrf, sizeof copy);
    assert_true(id_session_csrf_valid(&ss, copy));
    copy[ID_SESSION_CSRF_LEN - 1] ^= 1;
    assert_false(id_session_csrf_valid(&ss, copy));
    assert_false(id_session_csrf_valid(&ss, NULL));
    assert_false(id_session_csrf_valid(&ss, ""));
    assert_false(id_session_csrf_valid(NULL, ss.csrf));
    char prefix[ID_SESSION_CSRF_LEN];
    memcpy(prefix, ss.csrf, ID_SESSION_CSRF_LEN - 1);
    prefix[ID_SESSION_CSRF_LEN - 1] = '\0';
    assert_false(id_session_csrf_valid(&ss, prefix));
    char longer[ID_SESSION_CSRF_LEN + 2];
    snprintf(longer, sizeof longer, "%sA", ss.csrf);
    assert_false(id_session_csrf_valid(&ss, longer));
    struct id_session empty;
    memset(&empty, 0, sizeof empty);
    assert_false(id_session_csrf_valid(&empty, ""));
}

static void test_return_to(void **state)
{
    (void)state;
    static const char *const good[] = {
        "/",
        "/signin/done",
        "/oauth/authorize?client_id=X&redirect_uri=https%3A%2F%2Fa.example%2Fcb",
        "/a//b",
        "/%2F%2Fevil.example",
        "/path?q=a/b#frag",
        NULL};
    static const char *const bad[] = {"",
                                      "//evil.example",
                                      "/\\evil.example",
                                      "https://evil.example/",
                                      "evil",
                                      "javascript:x",
                                      "/a b",
                                      "/a\tb",
                                      "/\t/evil.example",
                                      "/a\r\nSet-Cookie: x=y",
                                      "/caf\xc3\xa9",
                                      "/a\\b",
                                      " /a",
                                      "/\x7f",
                                      NULL};
    for (size_t i = 0; good[i] != NULL; i++) {
        assert_true(id_return_to_valid(good[i]));
        assert_string_equal(id_return_to_or_default(good[i]), good[i]);
    }
    for (size_t i = 0; bad[i] != NULL; i++) {
        assert_false(id_return_to_valid(bad[i]));
        assert_string_equal(id_return_to_or_default(bad[i]), ID_RETURN_TO_DEFAULT);
    }
    assert_false(id_return_to_valid(NULL));
    assert_string_equal(id_return_to_or_default(NULL), "/signin/done");
    char longest[ID_RETURN_TO_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[0] = '/';
    longest[ID_RETURN_TO_MAX] = '\0';
    assert_true(id_return_to_valid(longest));
    longest[ID_RETURN_TO_MAX] = 'a';
    longest[ID_RETURN_TO_MAX + 1] = '\0';
    assert_false(id_return_to_valid(longest));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_refuses, setup, teardown),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_return_to),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
