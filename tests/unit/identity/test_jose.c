/* test_jose.c - RFC 8037 Appendix A vectors, sign/verify round trips, every refusal of the
 * strict JWS verifier, claim checks, the JWKS, key storage, and allocation-failure loops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "base/jsonx.h"
#include "identity/jose.h"

/* RFC 8037 Appendix A */
static const char rfc_d[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
static const char rfc_x[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
static const char rfc_thumbprint[] = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
static const char rfc_jws[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

static struct id_jose_key rfc_key, key2;
#define KID rfc_key.kid

static int setup(void **state)
{
    (void)state;
    unsigned char seed[32];
    size_t n = 0;
    if (id_jose_b64url_decode(seed, sizeof seed, rfc_d, strlen(rfc_d), &n) != 0 || n != 32)
        return -1;
    if (id_jose_key_from_seed(&rfc_key, seed, 1796083200000LL) != 0)
        return -1;
    return id_jose_key_generate(&key2, 1796083200001LL);
}

/* ---- helpers ---- */

/* Signs payload and the header made from fmt (printf-style) with the RFC key, as given. */
static char *raw(const char *payload, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *raw(const char *payload, const char *fmt, ...)
{
    char h[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h, sizeof h, fmt, ap);
    va_end(ap);
    struct err e = {0};
    char *t = id_jose_sign_raw(&rfc_key, h, strlen(h), payload, strlen(payload), &e);
    assert_non_null(t);
    return t;
}

/* Appends "." and a valid signature by the RFC key to the signing input si, whatever it is. */
static char *sign_text(const char *si)
{
    unsigned char sig[64];
    char b64[87];
    crypto_sign_ed25519_detached(sig, NULL, (const unsigned char *)si, strlen(si), rfc_key.sk);
    assert_int_equal(id_jose_b64url_encode(b64, sizeof b64, sig, sizeof sig), 0);
    size_t n = strlen(si) + 1 + strlen(b64) + 1;
    char *t = malloc(n);
    assert_non_null(t);
    snprintf(t, n, "%s.%s", si, b64);
    return t;
}

/* id_jose_verify(t) against both keys must refuse with ERR_INVALID and a message containing
 * why. */
static void refused(const char *t, size_t len, const char *why)
{
    const struct id_jose_key keys[] = {key2, rfc_key};
    struct err e = {0};
    json_t *claims = (json_t *)1;
    int rc = id_jose_verify(t, len, keys, 2, &claims, &e);
    if (rc != ERR_INVALID || strstr(e.msg, why) == NULL)
        fail_msg("token %.80s: rc %d, \"%s\", wanted \"%s\"", t, rc, e.msg, why);
    assert_null(claims);
}

static void refused_s(const char *t, const char *why)
{
    refused(t, strlen(t), why);
}

static void refused_free(char *t, const char *why)
{
    refused_s(t, why);
    free(t);
}

static json_t *verified(const char *t)
{
    const struct id_jose_key keys[] = {key2, rfc_key};
    struct err e = {0};
    json_t *claims = NULL;
    if (id_jose_verify(t, strlen(t), keys, 2, &claims, &e) != 0)
        fail_msg("token %.80s refused: %s", t, e.msg);
    assert_true(json_is_object(claims));
    return claims;
}

/* ---- base64url ---- */

static void b64url_is_strict(void **state)
{
    (void)state;
    /* RFC 4648 section 10, unpadded */
    const char *bin[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *txt[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        unsigned char back[16];
        size_t n = 99;
        assert_int_equal(id_jose_b64url_encode(out, sizeof out, bin[i], strlen(bin[i])), 0);
        assert_string_equal(out, txt[i]);
        assert_int_equal(strlen(out), ID_JOSE_B64URL_LEN(strlen(bin[i])));
        assert_int_equal(id_jose_b64url_decode(back, sizeof back, txt[i], strlen(txt[i]), &n), 0);
        assert_int_equal(n, strlen(bin[i]));
        assert_memory_equal(back, bin[i], n);
    }
    unsigned char b[8];
    size_t n;
    assert_int_equal(id_jose_b64url_decode(b, sizeof b, "-_8", 3, &n), 0); /* URL alphabet */
    assert_int_equal(b[0], 0xfb);
    assert_int_equal(b[1], 0xff);
    const char *bad[] = {"Zg=", "Zg==", "Zm9v=", "Z",      "Zm9vY",     "Zh",
                         "Zm9", "+/8",  "Zm 9v", "Zm9v\n", "Zm\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (id_jose_b64url_decode(b, sizeof b, bad[i], strlen(bad[i]), &n) != ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(id_jose_b64url_decode(b, sizeof b, "Zm\0v", 4, &n), ERR_INVALID);
    assert_int_equal(id_jose_b64url_decode(b, 2, "Zm9v", 4, &n), ERR_TOOBIG);
    char small[5];
    assert_int_equal(id_jose_b64url_encode(small, 4, "foo", 3), ERR_TOOBIG);
    assert_int_equal(id_jose_b64url_encode(small, sizeof small, "foo", 3), 0);
    assert_string_equal(small, "Zm9v");
}

/* ---- RFC 8037 Appendix A ---- */

static void rfc8037_appendix_a(void **state)
{
    (void)state;
    /* A.1 / A.2: the private seed gives the published public key */
    char x[44];
    assert_int_equal(id_jose_b64url_encode(x, sizeof x, rfc_key.pk, 32), 0);
    assert_string_equal(x, rfc_x);
    /* A.3: the JWK thumbprint is the kid */
    assert_string_equal(rfc_key.kid, rfc_thumbprint);
    /* A.4: Ed25519 is deterministic, so the signature matches byte for byte */
    const char payload[] = "Example of Ed25519 signing";
    struct err e = {0};
    char *t = id_jose_sign_raw(&rfc_key, "{\"alg\":\"EdDSA\"}", 15, payload, strlen(payload), &e);
    assert_non_null(t);
    assert_string_equal(t, rfc_jws);
    free(t);
    /* A.5: the signature validates with the public key alone */
    unsigned char sig[64];
    size_t n = 0;
    const char *dot2 = strrchr(rfc_jws, '.');
    assert_int_equal(id_jose_b64url_decode(sig, sizeof sig, dot2 + 1, strlen(dot2 + 1), &n), 0);
    assert_int_equal(n, 64);
    assert_int_equal(crypto_sign_ed25519_verify_detached(sig, (const unsigned char *)rfc_jws,
                                                         (size_t)(dot2 - rfc_jws), rfc_key.pk),
                     0);
    /* ... but id_jose_verify wants a kid and a JSON object payload */
    refused_s(rfc_jws, "no \"kid\"");
    char *with_kid = raw(payload, "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", KID);
    refused_free(with_kid, "payload: not JSON");
}

/* ---- sign and verify ---- */

static json_t *sample_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:[i,b,n]}", "iss", "https://id.city.example",
                     "sub", "0123456789abcdefghjkmnpqrs", "aud", "portal", "exp",
                     (json_int_t)1796083500, "iat", (json_int_t)1796083200, "name", "湊 太郎", "x",
                     1, 1);
}

static void sign_verify_round_trip(void **state)
{
    (void)state;
    json_t *c = sample_claims();
    struct err e = {0};
    char *t = id_jose_sign(&rfc_key, c, &e);
    assert_non_null(t);
    /* the header is exactly what we promise */
    char expect[128];
    snprintf(expect, sizeof expect, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
             rfc_key.kid);
    unsigned char h[256];
    size_t n = 0;
    assert_int_equal(id_jose_b64url_decode(h, sizeof h, t, (size_t)(strchr(t, '.') - t), &n), 0);
    assert_int_equal(n, strlen(expect));
    assert_memory_equal(h, expect, n);
    /* deterministic: the same claims give the same token */
    char *again = id_jose_sign(&rfc_key, c, &e);
    assert_string_equal(again, t);
    free(again);
    json_t *back = verified(t);
    assert_true(json_equal(back, c));
    json_decref(back);
    /* the second key signs too, and its tokens verify with the set */
    char *t2 = id_jose_sign(&key2, c, &e);
    assert_non_null(t2);
    back = verified(t2);
    assert_true(json_equal(back, c));
    json_decref(back);
    /* ... but not against the first key alone */
    json_t *cl = NULL;
    assert_int_equal(id_jose_verify(t2, strlen(t2), &rfc_key, 1, &cl, &e), ERR_INVALID);
    assert_string_equal(e.msg, "header: unknown \"kid\"");
    assert_int_equal(id_jose_verify(t2, strlen(t2), NULL, 0, &cl, &e), ERR_INVALID);
    /* a key that only verifies (no secret part) verifies but cannot sign */
    struct id_jose_key pub = rfc_key;
    memset(pub.sk, 0, sizeof pub.sk);
    assert_int_equal(id_jose_verify(t, strlen(t), &pub, 1, &cl, &e), 0);
    json_decref(cl);
    assert_null(id_jose_sign(&pub, c, &e));
    assert_int_equal(e.code, ERR_INVALID);
    /* claims must be an object; the key must have a kid */
    json_t *arr = json_array();
    assert_null(id_jose_sign(&rfc_key, arr, &e));
    assert_int_equal(e.code, ERR_INVALID);
    json_decref(arr);
    struct id_jose_key nokid = rfc_key;
    nokid.kid[0] = '\0';
    assert_null(id_jose_sign(&nokid, c, &e));
    assert_int_equal(e.code, ERR_INVALID);
    free(t2);
    free(t);
    json_decref(c);
}

static void sizes_are_bounded(void **state)
{
    (void)state;
    /* the largest token sign() makes verifies; one byte of claims more is ERR_TOOBIG */
    enum { FILL = 13000 };
    char *fill = malloc(FILL + 1);
    assert_non_null(fill);
    memset(fill, 'a', FILL);
    struct err e = {0};
    size_t last_len = 0;
    for (size_t n = 12000; n <= FILL; n++) {
        fill[n] = '\0';
        json_t *c = json_pack("{s:s}", "f", fill);
        fill[n] = 'a';
        char *t = id_jose_sign(&rfc_key, c, &e);
        json_decref(c);
        if (t == NULL) {
            assert_int_equal(e.code, ERR_TOOBIG);
            break;
        }
        last_len = strlen(t);
        assert_true(last_len <= ID_JOSE_MAX_LEN);
        if (last_len > ID_JOSE_MAX_LEN - 4) {
            json_t *back = verified(t);
            json_decref(back);
        }
        free(t);
    }
    assert_true(last_len > ID_JOSE_MAX_LEN - 4);
    free(fill);
    /* verify refuses longer input before looking at it */
    char *big = malloc(ID_JOSE_MAX_LEN + 2);
    assert_non_null(big);
    memset(big, 'A', ID_JOSE_MAX_LEN + 1);
    big[ID_JOSE_MAX_LEN + 1] = '\0';
    refused(big, ID_JOSE_MAX_LEN + 1, "longer than 16384");
    free(big);
}

static void header_refusals(void **state)
{
    (void)state;
    const char *p = "{\"sub\":\"x\"}";
    refused_free(raw(p, "{\"alg\":\"none\",\"kid\":\"%s\"}", KID), "\"alg\" must be \"EdDSA\"");
    refused_free(raw(p, "{\"alg\":\"HS256\",\"kid\":\"%s\"}", KID), "\"alg\" must be \"EdDSA\"");
    refused_free(raw(p, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", KID), "\"alg\" must be \"EdDSA\"");
    refused_free(raw(p, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", KID), "\"alg\" must be \"EdDSA\"");
    refused_free(raw(p, "{\"alg\":\"Ed25519\",\"kid\":\"%s\"}", KID), "\"alg\" must be \"EdDSA\"");
    refused_free(raw(p, "{\"alg\":\"eddsa\",\"kid\":\"%s\"}", KID), "\"alg\" must be \"EdDSA\"");
    refused_free(raw(p, "{\"alg\":\"EdDSA \",\"kid\":\"%s\"}", KID), "\"alg\" must be \"EdDSA\"");
    refused_free(raw(p, "{\"alg\":[\"EdDSA\"],\"kid\":\"%s\"}", KID), "\"alg\" must be \"EdDSA\"");
    refused_free(raw(p, "{\"kid\":\"%s\"}", KID), "no \"alg\"");
    refused_free(raw(p, "{\"alg\":\"EdDSA\"}"), "no \"kid\"");
    refused_free(raw(p, "{\"alg\":\"EdDSA\",\"kid\":\"%.42s\"}", KID), "unknown \"kid\"");
    refused_free(raw(p, "{\"alg\":\"EdDSA\",\"kid\":\"%sA\"}", KID), "unknown \"kid\"");
    refused_free(raw(p, "{\"alg\":\"EdDSA\",\"kid\":\"\"}"), "unknown \"kid\"");
    refused_free(raw(p, "{\"alg\":\"EdDSA\",\"kid\":7}"), "\"kid\" must be a string");
    refused_free(raw(p, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"crit\":[\"exp\"],\"exp\":1}", KID),
                 "\"crit\" is not supported");
    refused_free(raw(p, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"crit\":[]}", KID), "\"crit\"");
    refused_free(raw(p, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"jku\":\"https://evil.example\"}", KID),
                 "a member other than alg, kid, typ");
    refused_free(raw(p, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"jwk\":{\"kty\":\"OKP\"}}", KID),
                 "a member other than");
    refused_free(raw(p, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", KID),
                 "\"typ\" must be \"JWT\"");
    refused_free(raw(p, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":null}", KID), "\"typ\"");
    /* duplicate members are refused, whichever comes last */
    refused_free(raw(p, "{\"alg\":\"none\",\"alg\":\"EdDSA\",\"kid\":\"%s\"}", KID),
                 "header: not JSON");
    refused_free(raw(p, "{\"alg\":\"EdDSA\",\"alg\":\"none\",\"kid\":\"%s\"}", KID),
                 "header: not JSON");
    /* headers that are not objects */
    refused_free(raw(p, "[\"EdDSA\",\"%s\"]", KID), "header: not a JSON object");
    refused_free(raw(p, "\"EdDSA%s\"", KID), "header: not a JSON object");
    refused_free(raw(p, "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}{}", KID), "header: not JSON");
    struct err e = {0};
    refused_free(id_jose_sign_raw(&rfc_key, "", 0, p, strlen(p), &e), "empty part");
    /* what is accepted: typ JWT or no typ, any member order */
    char *fine[] = {raw(p, "{\"kid\":\"%s\",\"alg\":\"EdDSA\"}", KID),
                    raw(p, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"%s\"}", KID),
                    raw(p, " {\"alg\" : \"EdDSA\", \"kid\":\"%s\"}\n", KID)};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        json_t *c = verified(fine[i]);
        json_decref(c);
        free(fine[i]);
    }
}

static void structure_refusals(void **state)
{
    (void)state;
    json_t *claims = json_pack("{s:s}", "sub", "x");
    struct err e = {0};
    char *good = id_jose_sign(&rfc_key, claims, &e);
    json_decref(claims);
    assert_non_null(good);
    size_t len = strlen(good);
    char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    size_t sig_at = (size_t)(dot2 + 1 - good);
    char buf[1024];

    refused(good, 0, "empty token");
    refused(NULL, 5, "empty token");
    refused_s("abc", "fewer than three parts");
    refused_s("abc.def", "fewer than three parts");
    refused_s("..", "empty part");
    refused_s("a..c", "empty part");
    snprintf(buf, sizeof buf, "%s.", good);
    refused_s(buf, "more than three parts");
    snprintf(buf, sizeof buf, "%s.%s", good, dot2 + 1);
    refused_s(buf, "more than three parts");
    snprintf(buf, sizeof buf, "%.*s", (int)(dot2 - good + 1), good);
    refused_s(buf, "empty part"); /* alg "none" style: no signature */

    /* tampered payload: one base64url character changed in the middle */
    memcpy(buf, good, len + 1);
    size_t mid = (size_t)(dot1 - good) + 4;
    buf[mid] = buf[mid] == 'A' ? 'B' : 'A';
    refused_s(buf, "signature does not verify");
    /* tampered signature, in the middle and in the last character's used bits */
    memcpy(buf, good, len + 1);
    buf[sig_at + 10] = buf[sig_at + 10] == 'A' ? 'B' : 'A';
    refused_s(buf, "signature does not verify");
    memcpy(buf, good, len + 1);
    buf[len - 1] = buf[len - 1] == 'A' ? 'Q' : 'A'; /* 4 unused bits stay zero */
    refused_s(buf, "signature does not verify");
    memcpy(buf, good, len + 1);
    buf[len - 1] = buf[len - 1] == 'B' ? 'C' : 'B'; /* unused bits set: not canonical */
    refused_s(buf, "signature: not unpadded base64url");
    /* signature lengths */
    refused(good, len - 2, "signature: not 64 bytes");
    snprintf(buf, sizeof buf, "%sAA", good);
    refused_s(buf, "signature: not 64 bytes");
    snprintf(buf, sizeof buf, "%s==", good);
    refused_s(buf, "signature: not 64 bytes");
    snprintf(buf, sizeof buf, "%.*s%.86s", (int)sig_at, good,
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
             "AAAAAAAAAAAAAAAAAAAAAA");
    refused_s(buf, "signature does not verify"); /* all zero */
    /* padding and foreign characters in the header */
    snprintf(buf, sizeof buf, "%.*s=%s", (int)(dot1 - good), good, dot1);
    refused_s(buf, "header: not unpadded base64url");
    memcpy(buf, good, len + 1);
    buf[3] = '+';
    refused_s(buf, "header: not unpadded base64url");
    memcpy(buf, good, len + 1);
    buf[3] = '\0';
    refused(buf, len, "header: not unpadded base64url");
    free(good);
}

static void payload_refusals(void **state)
{
    (void)state;
    /* the signature is valid in each case: the payload itself is refused */
    char h[128], si[512];
    snprintf(h, sizeof h, "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", rfc_key.kid);
    char hb[256];
    assert_int_equal(id_jose_b64url_encode(hb, sizeof hb, h, strlen(h)), 0);
    struct {
        const char *payload_b64, *why;
    } cases[] = {
        {"eyJzdWIiOiJ4In0=", "payload: not unpadded base64url"}, /* {"sub":"x"} padded */
        {"eyJzdWIiOiJ4In0==", "payload: not unpadded base64url"},
        {"eyJzdWIiOiJ4In+", "payload: not unpadded base64url"},
        {"WzFd", "payload: not a JSON object"},                      /* [1] */
        {"MQ", "payload: not a JSON object"},                        /* 1 */
        {"bnVsbA", "payload: not a JSON object"},                    /* null */
        {"eyJhIjoxLCJhIjoyfQ", "payload: not JSON"},                 /* {"a":1,"a":2} */
        {"eyJhIjoxfSB7fQ", "payload: not JSON"},                     /* {"a":1} {} */
        {"eyJhIjoiXHUwMDAwIn0", "payload: not JSON"},                /* {"a":"\u0000"} */
        {"eyJhIjoi_yJ9", "payload: not JSON"},                       /* {"a":"\xff"} */
        {"eyJzdWIiOiAieCJ9", "payload: not in the compact form"},    /* {"sub": "x"} */
        {"eyJhIjoxLjBlMX0", "payload: not in the compact form"},     /* {"a":1.0e1} */
        {"eyJhIjoiXHUwMGU5In0", "payload: not in the compact form"}, /* {"a":"\u00e9"} */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(si, sizeof si, "%s.%s", hb, cases[i].payload_b64);
        char *t = sign_text(si);
        refused_s(t, cases[i].why);
        free(t);
    }
    snprintf(si, sizeof si, "%s.%s", hb, "eyJzdWIiOiJ4In0");
    char *t = sign_text(si);
    json_t *c = verified(t);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "x");
    json_decref(c);
    free(t);
}

/* ---- claims ---- */

enum { NOW = 1796083200, LEEWAY = 30 };

static int check(const char *claims_json, const char *iss, const char *aud, int64_t leeway,
                 struct err *e)
{
    json_t *c = json_loads(claims_json, 0, NULL);
    assert_non_null(c);
    int rc = id_jose_check_claims(c, iss, aud, NOW, leeway, e);
    json_decref(c);
    return rc;
}

static void claims_ok(const char *claims_json)
{
    struct err e = {0};
    if (check(claims_json, "https://id", "app", LEEWAY, &e) != 0)
        fail_msg("%s refused: %s", claims_json, e.msg);
}

static void claims_bad(const char *claims_json, const char *why)
{
    struct err e = {0};
    int rc = check(claims_json, "https://id", "app", LEEWAY, &e);
    if (rc != ERR_INVALID || strstr(e.msg, why) == NULL)
        fail_msg("%s: rc %d \"%s\", wanted \"%s\"", claims_json, rc, e.msg, why);
}

static void claims_are_checked(void **state)
{
    (void)state;
#define C(rest) "{\"iss\":\"https://id\",\"aud\":\"app\"" rest "}"
    claims_ok(C(",\"exp\":1796083260,\"iat\":1796083200,\"nbf\":1796083200"));
    claims_ok(C(",\"exp\":1796083171"));             /* expired 29 s ago: within the leeway */
    claims_bad(C(",\"exp\":1796083170"), "expired"); /* 30 s ago: now >= exp + leeway */
    claims_bad(C(",\"exp\":1000"), "expired");
    claims_bad(C(",\"exp\":-1"), "expired");
    claims_bad(C(""), "\"exp\" is missing");
    claims_bad(C(",\"exp\":\"1796083260\""), "\"exp\" must be an integer");
    claims_bad(C(",\"exp\":1796083260.5"), "\"exp\" must be an integer");
    claims_bad(C(",\"exp\":null"), "\"exp\" must be an integer");
    claims_ok(C(",\"exp\":9223372036854775807"));
    claims_ok(C(",\"exp\":1796083260,\"nbf\":1796083230")); /* 30 s ahead: within leeway */
    claims_bad(C(",\"exp\":1796083260,\"nbf\":1796083231"), "not yet valid");
    claims_bad(C(",\"exp\":1796083260,\"nbf\":\"0\""), "\"nbf\" must be an integer");
    claims_ok(C(",\"exp\":1796083260,\"iat\":1796083230"));
    claims_bad(C(",\"exp\":1796083260,\"iat\":1796083231"), "issued in the future");
    claims_bad(C(",\"exp\":1796083260,\"iat\":9223372036854775807"), "issued in the future");
    claims_bad(C(",\"exp\":1796083260,\"iat\":true"), "\"iat\" must be an integer");
#undef C
    const char *e60 = "\"exp\":1796083260";
    char buf[256];
#define T(fmt) (snprintf(buf, sizeof buf, fmt, e60), buf)
    claims_bad(T("{%s,\"aud\":\"app\"}"), "\"iss\" is missing");
    claims_bad(T("{%s,\"aud\":\"app\",\"iss\":\"https://id/\"}"), "\"iss\"");
    claims_bad(T("{%s,\"aud\":\"app\",\"iss\":[\"https://id\"]}"), "\"iss\"");
    claims_bad(T("{%s,\"iss\":\"https://id\"}"), "\"aud\" is missing");
    claims_bad(T("{%s,\"iss\":\"https://id\",\"aud\":\"app2\"}"), "\"aud\"");
    claims_bad(T("{%s,\"iss\":\"https://id\",\"aud\":\"APP\"}"), "\"aud\"");
    claims_ok(T("{%s,\"iss\":\"https://id\",\"aud\":[\"other\",\"app\"]}"));
    claims_ok(T("{%s,\"iss\":\"https://id\",\"aud\":[\"app\"]}"));
    claims_bad(T("{%s,\"iss\":\"https://id\",\"aud\":[\"other\",\"app2\"]}"), "\"aud\"");
    claims_bad(T("{%s,\"iss\":\"https://id\",\"aud\":[]}"), "\"aud\"");
    claims_bad(T("{%s,\"iss\":\"https://id\",\"aud\":[\"app\",1]}"), "\"aud\"");
    claims_bad(T("{%s,\"iss\":\"https://id\",\"aud\":{\"app\":1}}"), "\"aud\"");
#undef T
    /* the caller must name issuer and audience, and a sane leeway */
    struct err e = {0};
    const char *ok = "{\"iss\":\"https://id\",\"aud\":\"app\",\"exp\":1796083260}";
    assert_int_equal(check(ok, NULL, "app", LEEWAY, &e), ERR_INVALID);
    assert_int_equal(check(ok, "https://id", NULL, LEEWAY, &e), ERR_INVALID);
    assert_int_equal(check(ok, "https://id", "app", -1, &e), ERR_INVALID);
    assert_int_equal(check(ok, "https://id", "app", ID_JOSE_MAX_LEEWAY + 1, &e), ERR_INVALID);
    assert_int_equal(check(ok, "https://id", "app", 0, &e), 0);
    json_t *arr = json_array();
    assert_int_equal(id_jose_check_claims(arr, "https://id", "app", NOW, 0, &e), ERR_INVALID);
    json_decref(arr);
}

/* ---- JWKS and key storage ---- */

static void jwks_is_public_only(void **state)
{
    (void)state;
    const struct id_jose_key keys[] = {rfc_key, key2};
    char *doc = id_jose_jwks(keys, 2);
    assert_non_null(doc);
    char expect[512];
    snprintf(expect, sizeof expect,
             "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"%s\",\"use\":\"sig\","
             "\"alg\":\"EdDSA\"}",
             rfc_x, rfc_thumbprint);
    assert_non_null(strstr(doc, expect));
    assert_null(strstr(doc, "\"d\""));
    assert_null(strstr(doc, rfc_d));
    json_t *j = json_loads(doc, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(j);
    json_t *arr = json_object_get(j, "keys");
    assert_int_equal(json_array_size(arr), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *k = json_array_get(arr, i);
        assert_int_equal(json_object_size(k), 6);
        assert_string_equal(json_string_value(json_object_get(k, "kid")), keys[i].kid);
        /* no 32-byte window of the secret seed appears, in any encoding we use */
        char d[44];
        id_jose_b64url_encode(d, sizeof d, keys[i].sk, 32);
        assert_null(strstr(doc, d));
    }
    assert_int_equal(json_object_size(j), 1);
    json_decref(j);
    free(doc);
    doc = id_jose_jwks(NULL, 0);
    assert_string_equal(doc, "{\"keys\":[]}");
    free(doc);
    assert_null(id_jose_jwks(NULL, 1));
}

static void key_storage_round_trip(void **state)
{
    (void)state;
    char *s = id_jose_key_to_json(&rfc_key);
    assert_non_null(s);
    char expect[512];
    snprintf(expect, sizeof expect,
             "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"%s\",\"x\":\"%s\",\"d\":\"%s\","
             "\"created_ms\":1796083200000}",
             rfc_thumbprint, rfc_x, rfc_d);
    assert_string_equal(s, expect);
    struct id_jose_key k;
    struct err e = {0};
    assert_int_equal(id_jose_key_from_json(s, strlen(s), &k, &e), 0);
    assert_memory_equal(&k, &rfc_key, sizeof k);
    id_jose_secret_free(s);
    /* a generated key round-trips too */
    s = id_jose_key_to_json(&key2);
    assert_int_equal(id_jose_key_from_json(s, strlen(s), &k, &e), 0);
    assert_memory_equal(&k, &key2, sizeof k);
    id_jose_secret_free(s);
    id_jose_secret_free(NULL);
    /* two generated keys differ */
    struct id_jose_key a, b;
    assert_int_equal(id_jose_key_generate(&a, 0), 0);
    assert_int_equal(id_jose_key_generate(&b, 0), 0);
    assert_string_not_equal(a.kid, b.kid);
    id_jose_key_wipe(&a);
    unsigned char zero[sizeof a];
    memset(zero, 0, sizeof zero);
    assert_memory_equal(&a, zero, sizeof a);
}

static void key_storage_refusals(void **state)
{
    (void)state;
    const char *other_x = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char buf[512];
    struct {
        const char *kty, *crv, *kid, *x, *d, *created, *extra, *why;
    } cases[] = {
        {"OKP", "Ed25519", rfc_thumbprint, other_x, rfc_d, "0", "", "not the public key"},
        {"OKP", "Ed25519", other_x, rfc_x, rfc_d, "0", "", "thumbprint"},
        {"EC", "Ed25519", rfc_thumbprint, rfc_x, rfc_d, "0", "", "not an Ed25519 key"},
        {"OKP", "X25519", rfc_thumbprint, rfc_x, rfc_d, "0", "", "not an Ed25519 key"},
        {"OKP", "Ed25519", rfc_thumbprint, rfc_x, "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2", "0",
         "", "\"d\" is not 32 bytes"},
        {"OKP", "Ed25519", rfc_thumbprint, rfc_x, "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2B",
         "0", "", "\"d\" is not 32 bytes"}, /* non-canonical last character */
        {"OKP", "Ed25519", rfc_thumbprint, rfc_x, rfc_d, "-1", "", "created_ms"},
        {"OKP", "Ed25519", rfc_thumbprint, rfc_x, rfc_d, "\"0\"", "", "created_ms"},
        {"OKP", "Ed25519", rfc_thumbprint, rfc_x, rfc_d, "0", ",\"use\":\"sig\"", "unknown member"},
        {"OKP", "Ed25519", rfc_thumbprint, rfc_x, rfc_d, "0", ",\"d\":\"x\"", "not JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(buf, sizeof buf,
                 "{\"kty\":\"%s\",\"crv\":\"%s\",\"kid\":\"%s\",\"x\":\"%s\",\"d\":\"%s\","
                 "\"created_ms\":%s%s}",
                 cases[i].kty, cases[i].crv, cases[i].kid, cases[i].x, cases[i].d, cases[i].created,
                 cases[i].extra);
        struct id_jose_key k;
        struct err e = {0};
        int rc = id_jose_key_from_json(buf, strlen(buf), &k, &e);
        if (rc != ERR_INVALID || strstr(e.msg, cases[i].why) == NULL)
            fail_msg("case %zu: rc %d \"%s\", wanted \"%s\"", i, rc, e.msg, cases[i].why);
        assert_null(strstr(e.msg, rfc_d));
        unsigned char zero[sizeof k];
        memset(zero, 0, sizeof zero);
        assert_memory_equal(&k, zero, sizeof k); /* wiped */
    }
    struct id_jose_key k;
    struct err e = {0};
    const char *missing = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"x\"}";
    assert_int_equal(id_jose_key_from_json(missing, strlen(missing), &k, &e), ERR_INVALID);
    assert_int_equal(id_jose_key_from_json("[]", 2, &k, &e), ERR_INVALID);
    assert_int_equal(id_jose_key_from_json("", 0, &k, &e), ERR_INVALID);
}

/* ---- allocation failures ---- */

static long fail_at = -1, count;
static void *failing_malloc(size_t size)
{
    if (fail_at >= 0 && count++ == fail_at)
        return NULL;
    return malloc(size);
}

static void allocation_failures_fail_whole(void **state)
{
    (void)state;
    json_t *c = sample_claims();
    struct err e = {0};
    char *ref = id_jose_sign(&rfc_key, c, &e);
    char *ref_jwks = id_jose_jwks(&rfc_key, 1);
    char *ref_key = id_jose_key_to_json(&rfc_key);
    assert_non_null(ref);
    assert_non_null(ref_jwks);
    assert_non_null(ref_key);
    int done = 0, steps = 0, nomem = 0, lossy = 0;
    jsonx_set_malloc(failing_malloc);
    for (long n = 0; !done && n < 10000; n++, steps++) {
        done = 1;
        fail_at = n;

        count = 0;
        char *t = id_jose_sign(&rfc_key, c, &e);
        done &= count <= n;
        if (t != NULL)
            assert_string_equal(t, ref);
        else
            assert_int_equal(e.code, ERR_NOMEM);
        free(t);

        /* verify: the claims exactly, or no claims; jansson reports some allocation failures
         * as syntax errors (ERR_INVALID) and silently drops a character on others, which the
         * write-back comparison turns into ERR_INVALID too */
        count = 0;
        json_t *back = NULL;
        int rc = id_jose_verify(ref, strlen(ref), &rfc_key, 1, &back, &e);
        done &= count <= n;
        if (rc == 0) {
            assert_true(json_equal(back, c));
        } else {
            if (rc != ERR_NOMEM && rc != ERR_INVALID)
                fail_msg("verify, allocation %ld failed: rc %d \"%s\"", n, rc, e.msg);
            assert_null(back);
            nomem += rc == ERR_NOMEM;
            lossy += strstr(e.msg, "compact form") != NULL;
        }
        json_decref(back);

        count = 0;
        char *j = id_jose_jwks(&rfc_key, 1);
        done &= count <= n;
        if (j != NULL)
            assert_string_equal(j, ref_jwks);
        free(j);

        count = 0;
        struct id_jose_key k;
        rc = id_jose_key_from_json(ref_key, strlen(ref_key), &k, &e);
        done &= count <= n;
        if (rc == 0)
            assert_memory_equal(&k, &rfc_key, sizeof k);
        else if (rc != ERR_NOMEM && rc != ERR_INVALID)
            fail_msg("key, allocation %ld failed: rc %d \"%s\"", n, rc, e.msg);
    }
    fprintf(stderr,
            "allocation failures: %d steps, verify: %d out of memory, %d lossy parses "
            "caught\n",
            steps, nomem, lossy);
    fail_at = -1;
    jsonx_set_malloc(NULL);
    assert_true(done);
    assert_true(nomem > 0);
    id_jose_secret_free(ref_key);
    free(ref_jwks);
    free(ref);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(b64url_is_strict),       cmocka_unit_test(rfc8037_appendix_a),
        cmocka_unit_test(sign_verify_round_trip), cmocka_unit_test(sizes_are_bounded),
        cmocka_unit_test(header_refusals),        cmocka_unit_test(structure_refusals),
        cmocka_unit_test(payload_refusals),       cmocka_unit_test(claims_are_checked),
        cmocka_unit_test(jwks_is_public_only),    cmocka_unit_test(key_storage_round_trip),
        cmocka_unit_test(key_storage_refusals),   cmocka_unit_test(allocation_failures_fail_whole),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
