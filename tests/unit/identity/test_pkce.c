/* test_pkce.c - RFC 7636: the Appendix B vector, S256 as the only method, verifier and
 * challenge syntax at their bounds, and refusal of every near miss. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "base/err.h"
#include "identity/jose.h"
#include "identity/pkce.h"

/* RFC 7636 Appendix B */
static const char rfc_verifier[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char rfc_challenge[] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

static void rfc7636_appendix_b(void **state)
{
    (void)state;
    char c[ID_PKCE_CHALLENGE_LEN + 1];
    assert_int_equal(id_pkce_s256(rfc_verifier, c), 0);
    assert_string_equal(c, rfc_challenge);
    assert_true(id_pkce_verifier_valid(rfc_verifier));
    assert_true(id_pkce_challenge_valid(rfc_challenge));
    assert_int_equal(id_pkce_check_s256(rfc_verifier, rfc_challenge), 0);
}

static void only_s256_is_allowed(void **state)
{
    (void)state;
    assert_true(id_pkce_method_allowed("S256"));
    const char *refused[] = {"plain", "s256", "S256 ", " S256", "S", "", "SHA256", "S512"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_false(id_pkce_method_allowed(refused[i]));
    assert_false(id_pkce_method_allowed(NULL));
}

static void verifier_syntax(void **state)
{
    (void)state;
    char v[ID_PKCE_VERIFIER_MAX + 2];
    memset(v, 'a', sizeof v);
    v[ID_PKCE_VERIFIER_MIN - 1] = '\0';
    assert_false(id_pkce_verifier_valid(v)); /* 42 */
    v[ID_PKCE_VERIFIER_MIN - 1] = 'a';
    v[ID_PKCE_VERIFIER_MIN] = '\0';
    assert_true(id_pkce_verifier_valid(v)); /* 43 */
    memset(v, 'a', sizeof v);
    v[ID_PKCE_VERIFIER_MAX] = '\0';
    assert_true(id_pkce_verifier_valid(v)); /* 128 */
    v[ID_PKCE_VERIFIER_MAX] = 'a';
    v[ID_PKCE_VERIFIER_MAX + 1] = '\0';
    assert_false(id_pkce_verifier_valid(v)); /* 129 */
    /* every unreserved character is allowed */
    assert_true(id_pkce_verifier_valid("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789-._~"));
    const char *bad = "+/= %\"\\\xc3\xa9\x7f\t";
    for (const char *b = bad; *b; b++) {
        char w[ID_PKCE_VERIFIER_MIN + 1];
        memcpy(w, rfc_verifier, sizeof w);
        w[20] = *b;
        assert_false(id_pkce_verifier_valid(w));
    }
    assert_false(id_pkce_verifier_valid(NULL));
    assert_false(id_pkce_verifier_valid(""));
}

static void challenge_syntax(void **state)
{
    (void)state;
    assert_false(id_pkce_challenge_valid(NULL));
    assert_false(id_pkce_challenge_valid(""));
    assert_false(id_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"));   /* 42 */
    assert_false(id_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMA")); /* 44 */
    assert_false(
        id_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=")); /* padded */
    assert_false(id_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM")); /* std */
    assert_false(id_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw/cM"));
    /* the last character carries two unused bits, which must be zero: M (12) is, N (13) not */
    assert_false(id_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
    /* a verifier-looking 43-character string with '.' or '~' is not a challenge */
    assert_false(id_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw.cM"));
}

static void near_misses_are_refused(void **state)
{
    (void)state;
    char v[sizeof rfc_verifier];
    memcpy(v, rfc_verifier, sizeof v);
    v[0] = 'e';
    assert_int_equal(id_pkce_check_s256(v, rfc_challenge), ERR_INVALID);
    char c[sizeof rfc_challenge];
    memcpy(c, rfc_challenge, sizeof c);
    c[0] = 'F';
    assert_int_equal(id_pkce_check_s256(rfc_verifier, c), ERR_INVALID);
    /* "plain": the verifier sent as its own challenge */
    assert_int_equal(id_pkce_check_s256(rfc_verifier, rfc_verifier), ERR_INVALID);
    assert_int_equal(id_pkce_check_s256(NULL, rfc_challenge), ERR_INVALID);
    assert_int_equal(id_pkce_check_s256(rfc_verifier, NULL), ERR_INVALID);
    /* a challenge honestly derived from a too-short verifier still fails on the verifier */
    const char shortv[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX";
    unsigned char d[32];
    char derived[ID_PKCE_CHALLENGE_LEN + 1];
    crypto_hash_sha256(d, (const unsigned char *)shortv, strlen(shortv));
    assert_int_equal(id_jose_b64url_encode(derived, sizeof derived, d, sizeof d), 0);
    assert_true(id_pkce_challenge_valid(derived));
    assert_int_equal(id_pkce_check_s256(shortv, derived), ERR_INVALID);
    assert_int_equal(id_pkce_s256(shortv, derived), ERR_INVALID);
    assert_string_equal(derived, "");
}

static void random_verifiers_round_trip(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    for (int i = 0; i < 200; i++) {
        /* 32 random bytes as base64url: the verifier RFC 7636 section 4.1 recommends */
        unsigned char raw[32];
        char v[ID_JOSE_B64URL_LEN(32) + 1], c[ID_PKCE_CHALLENGE_LEN + 1];
        randombytes_buf(raw, sizeof raw);
        assert_int_equal(id_jose_b64url_encode(v, sizeof v, raw, sizeof raw), 0);
        assert_true(id_pkce_verifier_valid(v));
        assert_int_equal(id_pkce_s256(v, c), 0);
        assert_true(id_pkce_challenge_valid(c));
        assert_int_equal(id_pkce_check_s256(v, c), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc7636_appendix_b),      cmocka_unit_test(only_s256_is_allowed),
        cmocka_unit_test(verifier_syntax),         cmocka_unit_test(challenge_syntax),
        cmocka_unit_test(near_misses_are_refused), cmocka_unit_test(random_verifiers_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
