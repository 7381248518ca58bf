/* test_password.c - the password policy, Argon2id hashing, verification and rehash decisions,
 * and the back-off / lock-out schedule driven by a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "base/err.h"
#include "base/ids.h"
#include "identity/password.h"

#define REGIONAL_ID "hpfqq0bb31p0f63r4vdvncxc8w"
#define EMAIL       "taro.aizu@example.jp"

static void refused(const char *password, const char *why)
{
    struct err e = {0};
    assert_int_equal(id_password_check_policy(password, EMAIL, REGIONAL_ID, &e), ERR_INVALID);
    assert_int_equal(e.code, ERR_INVALID);
    assert_non_null(strstr(e.msg, "password: "));
    assert_non_null(strstr(e.msg, why));
}

static void accepted(const char *password)
{
    struct err e = {0};
    assert_int_equal(id_password_check_policy(password, EMAIL, REGIONAL_ID, &e), 0);
}

static void policy_accepts_long_and_unicode_passwords(void **state)
{
    (void)state;
    accepted("correct horse battery staple");
    accepted("tsuruga-jo 1868");
    accepted("Kq8#vL2m");                  /* exactly 8 */
    accepted("あいうえおかきく");          /* 8 code points, 24 bytes */
    accepted("合言葉は鶴ヶ城の桜");        /* no composition rules: kanji and kana only */
    accepted("password is not my secret"); /* contains a common word: fine */
    char longest[ID_PASSWORD_MAX_CHARS + 1];
    for (int i = 0; i < ID_PASSWORD_MAX_CHARS; i++)
        longest[i] = (char)('a' + (i * 7) % 26);
    longest[ID_PASSWORD_MAX_CHARS] = '\0';
    accepted(longest);
    accepted("x7-mountain"); /* no e-mail or id given: those rules are skipped */
    assert_int_equal(id_password_check_policy("x7-mountain", NULL, NULL, NULL), 0);
}

static void policy_refusals_name_the_rule(void **state)
{
    (void)state;
    refused("Kq8#vL2", "at least 8");
    refused("あいうえおかき", "at least 8"); /* 7 code points, 21 bytes */
    refused("", "at least 8");
    char too_long[ID_PASSWORD_MAX_CHARS + 2];
    memset(too_long, 'q', sizeof too_long - 1);
    too_long[0] = 'Z';
    too_long[sizeof too_long - 1] = '\0';
    refused(too_long, "at most 128");
    char way_too_long[2000];
    memset(way_too_long, 'k', sizeof way_too_long - 1);
    way_too_long[sizeof way_too_long - 1] = '\0';
    refused(way_too_long, "at most 128");
    refused("abc\xff\xfe"
            "defgh",
            "UTF-8");
    refused("tab\tinside it", "control");
    refused("line\nbreak here", "control");
    refused("c1\xc2\x85"
            "control!",
            "control");
    refused(EMAIL, "e-mail");
    refused("TARO.AIZU@EXAMPLE.JP", "e-mail");
    refused("taro.aizu", "e-mail");
    refused("my id " REGIONAL_ID, "regional ID");
    refused("HPFQQ0BB31P0F63R4VDVNCXC8W!", "regional ID");
    refused("password", "common");
    refused("Password123!", "common");
    refused("qwertyuiop", "common");
    refused("Sunshine2024", "common");
    refused("iloveyou!!", "common");
    refused("cityos2026", "common");
    refused("11223344", "common");
    refused("12345678", "run");
    refused("aaaaaaaa", "repeated");
    refused("ああああああああ", "repeated");
    refused("23456789", "run");
    refused("abcdefgh", "run");
    refused("HGFEDCBA", "run");
    assert_true(id_password_is_common("PASSWORD"));
    assert_true(id_password_is_common("monkey12"));
    assert_false(id_password_is_common("monkey-business-7"));
    assert_false(id_password_is_common("2024"));
}

static void hash_and_verify(void **state)
{
    (void)state;
    char h1[ID_PASSWORD_HASH_MAX], h2[ID_PASSWORD_HASH_MAX];
    struct err e = {0};
    assert_int_equal(id_password_hash("correct horse battery staple", h1, &e), 0);
    assert_int_equal(id_password_hash("correct horse battery staple", h2, &e), 0);
    assert_non_null(strstr(h1, "$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_string_not_equal(h1, h2); /* a fresh salt each time */
    assert_null(strstr(h1, "correct"));
    assert_int_equal(id_password_verify(h1, "correct horse battery staple"), 0);
    assert_int_equal(id_password_verify(h1, "correct horse battery stapler"), ERR_INVALID);
    assert_int_equal(id_password_verify(h1, ""), ERR_INVALID);
    assert_int_equal(id_password_verify("not a hash", "correct horse battery staple"), ERR_INVALID);
    assert_int_equal(id_password_needs_rehash(h1), 0);
}

static void old_hashes_need_a_rehash(void **state)
{
    (void)state;
    char weak[crypto_pwhash_STRBYTES], argon2i[crypto_pwhash_STRBYTES];
    /* Argon2id with less memory and time than today's parameters */
    assert_int_equal(crypto_pwhash_str_alg(weak, "old secret!", 11, 1, 8u * 1024 * 1024,
                                           crypto_pwhash_ALG_ARGON2ID13),
                     0);
    assert_int_equal(id_password_verify(weak, "old secret!"), 0);
    assert_int_equal(id_password_needs_rehash(weak), 1);
    /* Argon2i (libsodium's older default) still verifies, and is always upgraded */
    assert_int_equal(crypto_pwhash_str_alg(argon2i, "old secret!", 11, 3, 8u * 1024 * 1024,
                                           crypto_pwhash_ALG_ARGON2I13),
                     0);
    assert_int_equal(id_password_verify(argon2i, "old secret!"), 0);
    assert_int_equal(id_password_needs_rehash(argon2i), 1);
    assert_int_equal(id_password_needs_rehash("$2y$10$bcrypt-style"), 1);
    assert_int_equal(id_password_needs_rehash(""), 1);
}

static void backoff_and_lockout_follow_the_schedule(void **state)
{
    (void)state;
    struct id_login_state s = {0};
    int64_t t = 1767225600000; /* 2026-01-01T00:00:00Z; the clock is ours */
    assert_int_equal(id_password_wait_ms(&s, t), 0);
    for (int i = 1; i <= 4; i++) { /* four free failures */
        id_password_note_failure(&s, t);
        assert_int_equal(s.failed, i);
        assert_int_equal(id_password_wait_ms(&s, t), 0);
    }
    int64_t expect = 1000; /* then 1, 2, 4, 8, 16 s */
    for (int i = 5; i <= 9; i++, expect *= 2) {
        t += 100;
        id_password_note_failure(&s, t);
        assert_int_equal(s.failed, i);
        assert_int_equal(id_password_wait_ms(&s, t), expect);
        assert_int_equal(id_password_wait_ms(&s, t + expect - 1), 1);
        assert_int_equal(id_password_wait_ms(&s, t + expect), 0);
        t += expect; /* the caller waits as told */
    }
    id_password_note_failure(&s, t); /* the 10th: locked for 15 minutes */
    assert_int_equal(s.failed, 10);
    assert_int_equal(id_password_wait_ms(&s, t), ID_LOGIN_LOCK_MS);
    assert_int_equal(id_password_wait_ms(&s, t + 14 * 60 * 1000), 60 * 1000);
    t += ID_LOGIN_LOCK_MS;
    assert_int_equal(id_password_wait_ms(&s, t), 0);
    id_password_note_failure(&s, t); /* each further failure locks again */
    assert_int_equal(id_password_wait_ms(&s, t), ID_LOGIN_LOCK_MS);
    t += ID_LOGIN_LOCK_MS;
    id_password_note_success(&s);
    assert_int_equal(s.failed, 0);
    assert_int_equal(id_password_wait_ms(&s, t), 0);
    id_password_note_failure(&s, t); /* the count starts again from one */
    assert_int_equal(s.failed, 1);
    assert_int_equal(id_password_wait_ms(&s, t), 0);
}

static void the_hard_limit_locks_until_reset(void **state)
{
    (void)state;
    struct id_login_state s = {0};
    int64_t t = 1767225600000;
    for (int i = 0; i < ID_LOGIN_HARD_LIMIT - 1; i++) {
        t += id_password_wait_ms(&s, t);
        id_password_note_failure(&s, t);
    }
    assert_int_equal(s.failed, ID_LOGIN_HARD_LIMIT - 1);
    assert_int_equal(id_password_wait_ms(&s, t), ID_LOGIN_LOCK_MS);
    t += ID_LOGIN_LOCK_MS;
    id_password_note_failure(&s, t);
    assert_int_equal(s.failed, ID_LOGIN_HARD_LIMIT);
    assert_true(id_password_wait_ms(&s, t + 10LL * 365 * 86400000) > 0);
    id_password_note_failure(&s, INT64_MAX - 1); /* no overflow past the cap */
    assert_int_equal(s.failed, ID_LOGIN_HARD_LIMIT);
    id_password_note_success(&s);
    assert_int_equal(id_password_wait_ms(&s, t), 0);
}

int main(void)
{
    if (ids_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(policy_accepts_long_and_unicode_passwords),
        cmocka_unit_test(policy_refusals_name_the_rule),
        cmocka_unit_test(hash_and_verify),
        cmocka_unit_test(old_hashes_need_a_rehash),
        cmocka_unit_test(backoff_and_lockout_follow_the_schedule),
        cmocka_unit_test(the_hard_limit_locks_until_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
