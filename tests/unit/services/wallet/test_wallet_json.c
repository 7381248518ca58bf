/* test_wallet_json.c - the wallet's request bodies: every member checked (type, bounds, unknown
 * members, account references, expiries), Idempotency-Key syntax, and the canonical request
 * hash (the same request hashes the same; any field changed, or moved between fields, does
 * not). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "services/wallet/internal.h"

#define NOW 1764000000000LL
#define ID  "01knzb5z3q8y9a0b1c2d3e4f5g"

static json_t *parse(const char *text)
{
    struct err e = {0};
    json_t *v = jsonx_parse(text, strlen(text), &e);
    if (v == NULL)
        fail_msg("test body does not parse: %s: %s", text, e.msg);
    return v;
}

static int transfer(const char *text, struct err *e)
{
    json_t *v = parse(text);
    struct wallet_req_transfer out;
    int rc = wallet_json_transfer(v, &out, e);
    json_decref(v);
    return rc;
}

static void transfers(void **state)
{
    (void)state;
    struct err e = {0};
    assert_int_equal(transfer("{\"to\":\"person:" ID "\",\"amount\":1}", &e), 0);
    assert_int_equal(transfer("{\"to\":\"org:" ID "\",\"amount\":100000000,\"memo\":\"診察\"}", &e),
                     0);
    assert_int_equal(transfer("{\"to\":\"city\",\"amount\":5,\"memo\":null}", &e), 0);
    static const char *const bad[] = {
        "[]",
        "\"x\"",
        "{}",
        "{\"to\":\"city\"}",
        "{\"amount\":5}",
        "{\"to\":\"city\",\"amount\":0}",
        "{\"to\":\"city\",\"amount\":-1}",
        "{\"to\":\"city\",\"amount\":100000001}",
        "{\"to\":\"city\",\"amount\":9223372036854775807}",
        "{\"to\":\"city\",\"amount\":1.5}",
        "{\"to\":\"city\",\"amount\":1.0}",
        "{\"to\":\"city\",\"amount\":1e3}",
        "{\"to\":\"city\",\"amount\":\"5\"}",
        "{\"to\":\"city\",\"amount\":true}",
        "{\"to\":\"city\",\"amount\":null}",
        "{\"to\":\"mint\",\"amount\":5}",
        "{\"to\":\"expired\",\"amount\":5}",
        "{\"to\":\"person:abc\",\"amount\":5}",
        "{\"to\":\"person:" ID "x\",\"amount\":5}",
        "{\"to\":\"\",\"amount\":5}",
        "{\"to\":5,\"amount\":5}",
        "{\"to\":\"city\",\"amount\":5,\"from\":\"city\"}",
        "{\"to\":\"city\",\"amount\":5,\"memo\":\"\"}",
        "{\"to\":\"city\",\"amount\":5,\"memo\":\"a\\nb\"}",
        "{\"to\":\"city\",\"amount\":5,\"memo\":7}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e = (struct err){0};
        if (transfer(bad[i], &e) != ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
        assert_true(e.msg[0] != '\0');
    }
    char memo[400];
    memset(memo, 'a', 201);
    memo[201] = '\0';
    char *text = NULL;
    json_t *v = json_pack("{s:s, s:i, s:s}", "to", "city", "amount", 5, "memo", memo);
    struct wallet_req_transfer out;
    assert_int_equal(wallet_json_transfer(v, &out, &e), ERR_INVALID);
    json_object_set_new(v, "memo", json_string(memo + 1)); /* 200 characters */
    assert_int_equal(wallet_json_transfer(v, &out, &e), 0);
    assert_int_equal(out.amount, 5);
    assert_string_equal(out.to, "city");
    json_decref(v);
    (void)text;
}

static void issuances(void **state)
{
    (void)state;
    struct err e = {0};
    struct wallet_req_issue out;
    json_t *v = parse("{\"to\":\"person:" ID
                      "\",\"amount\":1000,\"expires\":\"2030-03-31T23:59:59+09:00\"}");
    assert_int_equal(wallet_json_issue(v, NOW, &out, &e), 0);
    assert_true(out.expires_ms > NOW);
    json_decref(v);
    v = parse("{\"to\":\"city\",\"amount\":1000,\"expires\":null}");
    assert_int_equal(wallet_json_issue(v, NOW, &out, &e), 0);
    assert_int_equal(out.expires_ms, 0);
    json_decref(v);
    static const char *const bad[] = {
        "{\"to\":\"city\",\"amount\":1000,\"expires\":\"2020-01-01T00:00:00Z\"}",
        "{\"to\":\"city\",\"amount\":1000,\"expires\":\"2030-03-31\"}",
        "{\"to\":\"city\",\"amount\":1000,\"expires\":\"tomorrow\"}",
        "{\"to\":\"city\",\"amount\":1000,\"expires\":1900000000000}",
        "{\"to\":\"city\",\"amount\":1000,\"expiry\":null}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = parse(bad[i]);
        if (wallet_json_issue(v, NOW, &out, &e) != ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
        json_decref(v);
    }
}

static void refunds_and_mandates(void **state)
{
    (void)state;
    struct err e = {0};
    struct wallet_req_refund r;
    json_t *v = parse("{\"transfer\":\"" ID "\",\"amount\":10}");
    assert_int_equal(wallet_json_refund(v, &r, &e), 0);
    json_decref(v);
    v = parse("{\"transfer\":\"nope\",\"amount\":10}");
    assert_int_equal(wallet_json_refund(v, &r, &e), ERR_INVALID);
    json_decref(v);
    v = parse("{\"amount\":10}");
    assert_int_equal(wallet_json_refund(v, &r, &e), ERR_INVALID);
    json_decref(v);
    struct wallet_req_mandate m;
    v = parse("{\"org\":\"" ID "\",\"purpose\":\"clinic-fees\",\"limit\":20000}");
    assert_int_equal(wallet_json_mandate(v, &m, &e), 0);
    assert_int_equal(m.limit, 20000);
    json_decref(v);
    static const char *const bad[] = {
        "{\"org\":\"" ID "\",\"purpose\":\"taxi-fees\",\"limit\":20000}",
        "{\"org\":\"" ID "\",\"purpose\":\"clinic-fees\",\"limit\":0}",
        "{\"org\":\"" ID "\",\"purpose\":\"clinic-fees\"}",
        "{\"org\":\"org:" ID "\",\"purpose\":\"clinic-fees\",\"limit\":5}",
        "{\"org\":\"" ID "\",\"purpose\":\"clinic-fees\",\"limit\":5,\"x\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = parse(bad[i]);
        if (wallet_json_mandate(v, &m, &e) != ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
        json_decref(v);
    }
    assert_int_equal(wallet_json_empty(NULL, &e), 0);
    v = parse("{}");
    assert_int_equal(wallet_json_empty(v, &e), 0);
    json_decref(v);
    v = parse("{\"a\":1}");
    assert_int_equal(wallet_json_empty(v, &e), ERR_INVALID);
    json_decref(v);
}

static void keys_and_hashes(void **state)
{
    (void)state;
    assert_true(wallet_json_key_valid("a"));
    assert_true(wallet_json_key_valid("550e8400-e29b-41d4-a716-446655440000"));
    assert_false(wallet_json_key_valid(""));
    assert_false(wallet_json_key_valid(NULL));
    assert_false(wallet_json_key_valid("a b"));
    assert_false(wallet_json_key_valid("鍵"));
    char k[300];
    memset(k, 'k', 255);
    k[255] = '\0';
    assert_true(wallet_json_key_valid(k));
    k[255] = 'k';
    k[256] = '\0';
    assert_false(wallet_json_key_valid(k));
    char h1[65], h2[65], h3[65];
    const char *f1[] = {"transfer", "person:x", "city", "5", "n", NULL};
    const char *f2[] = {"transfer", "person:x", "city", "5", "n", NULL};
    const char *f3[] = {"transfer", "person:x", "city", "5n", "", NULL};
    wallet_json_request_hash(f1, h1);
    wallet_json_request_hash(f2, h2);
    wallet_json_request_hash(f3, h3);
    assert_string_equal(h1, h2);
    assert_string_not_equal(h1, h3);
    assert_int_equal(strlen(h1), 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transfers),
        cmocka_unit_test(issuances),
        cmocka_unit_test(refunds_and_mandates),
        cmocka_unit_test(keys_and_hashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
