/* test_receipt.c - consent receipts: a grant, a withdrawal, a narrowing and a re-consent signed
 * and verified against the key (and refused by another), every Kantara v1.1 field present and
 * exact, the golden payload, and refusals of incomplete input. */
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
#include "consent/receipt.h"
#include "identity/jose.h"

#define T_CONSENT 1796083200123LL /* 2026-12-01T00:00:00.123Z */

static const char *const purpose_cats[] = {"homedoctor@3"};
static const char *const pii_cats[] = {"vitals", "medications"};
static const struct consent_receipt_purpose purposes[] = {{
    .purpose = "かかりつけ医による見守り / Home doctor monitoring",
    .purpose_category = purpose_cats,
    .n_purpose_category = 1,
    .consent_type = "EXPLICIT",
    .pii_category = pii_cats,
    .n_pii_category = 2,
    .primary_purpose = 1,
    .termination = "until withdrawn, or 2027-12-01",
    .third_party_disclosure = 1,
    .third_party_name = "湊ファミリークリニック",
}};
static const struct consent_receipt_service services[] = {{"見守り / Home doctor", purposes, 1}};
static const struct consent_receipt_controller controllers[] = {{
    .name = "会津若松市 / Aizuwakamatsu City",
    .on_behalf = 0,
    .contact = "Personal data office",
    .address = "福島県会津若松市東栄町3-46",
    .email = "privacy@city.example.jp",
    .phone = "+81-242-39-1111",
    .url = "https://city.example.jp/",
}};

static struct consent_receipt_in input(void)
{
    return (struct consent_receipt_in){
        .receipt_id = "0b9e7c3a-5d2f-4e1b-9a8c-1f2e3d4c5b6a",
        .action = CONSENT_RECEIPT_GRANT,
        .consent_ms = T_CONSENT,
        .issued_ms = T_CONSENT + 2000,
        .collection_method = "portal",
        .language = "ja",
        .pii_principal_id = "01arz3ndektsv4rrffq69g5fav",
        .controllers = controllers,
        .n_controllers = 1,
        .policy_url = "https://city.example.jp/purposes/homedoctor/3",
        .services = services,
        .n_services = 1,
        .issuer = "https://city.example.jp",
        .jwks_url = "https://city.example.jp/.well-known/jwks.json",
        .consent_id = "01bx5zzkbkactav9wevgemmvrz",
        .explanation_version = "3",
        .explanation_hash =
            "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    };
}

static void key_of(struct id_jose_key *k, unsigned char fill)
{
    unsigned char seed[32];
    memset(seed, fill, sizeof seed);
    assert_int_equal(id_jose_key_from_seed(k, seed, 1), 0);
}

static json_t *verified(const char *jws, const struct id_jose_key *k)
{
    json_t *claims = NULL;
    struct err e = {0};
    int rc = id_jose_verify(jws, strlen(jws), k, 1, &claims, &e);
    if (rc != 0)
        fprintf(stderr, "verify: %s\n", e.msg);
    assert_int_equal(rc, 0);
    return claims;
}

static const char *s_of(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    assert_non_null(v);
    return v;
}

static void a_grant_is_signed_and_verifies(void **state)
{
    (void)state;
    struct id_jose_key k, other;
    key_of(&k, 7);
    key_of(&other, 8);
    struct consent_receipt_in in = input();
    struct err e = {0};
    char *jws = consent_receipt_make(&in, &k, &e);
    assert_non_null(jws);
    json_t *c = verified(jws, &k);
    /* Kantara v1.1 */
    assert_string_equal(s_of(c, "version"), "KI-CR-v1.1.0");
    assert_string_equal(s_of(c, "jurisdiction"), "JP");
    assert_int_equal(json_integer_value(json_object_get(c, "consentTimestamp")), 1796083200);
    assert_string_equal(s_of(c, "collectionMethod"), "portal");
    assert_string_equal(s_of(c, "consentReceiptID"), in.receipt_id);
    char pk[256];
    snprintf(pk, sizeof pk, "%s#%s", in.jwks_url, k.kid);
    assert_string_equal(s_of(c, "publicKey"), pk);
    assert_string_equal(s_of(c, "language"), "ja");
    assert_string_equal(s_of(c, "piiPrincipalId"), in.pii_principal_id);
    json_t *ctl = json_array_get(json_object_get(c, "piiControllers"), 0);
    assert_string_equal(s_of(ctl, "piiController"), controllers[0].name);
    assert_true(json_is_false(json_object_get(ctl, "onBehalf")));
    assert_string_equal(s_of(ctl, "contact"), controllers[0].contact);
    assert_string_equal(s_of(json_object_get(ctl, "address"), "streetAddress"),
                        controllers[0].address);
    assert_string_equal(s_of(json_object_get(ctl, "address"), "addressCountry"), "JP");
    assert_string_equal(s_of(ctl, "email"), controllers[0].email);
    assert_string_equal(s_of(ctl, "phone"), controllers[0].phone);
    assert_string_equal(s_of(ctl, "piiControllerUrl"), controllers[0].url);
    assert_string_equal(s_of(c, "policyUrl"), in.policy_url);
    json_t *svc = json_array_get(json_object_get(c, "services"), 0);
    assert_string_equal(s_of(svc, "service"), services[0].service);
    json_t *pur = json_array_get(json_object_get(svc, "purposes"), 0);
    assert_string_equal(s_of(pur, "purpose"), purposes[0].purpose);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(pur, "purposeCategory"), 0)),
        "homedoctor@3");
    assert_string_equal(s_of(pur, "consentType"), "EXPLICIT");
    assert_int_equal(json_array_size(json_object_get(pur, "piiCategory")), 2);
    assert_true(json_is_true(json_object_get(pur, "primaryPurpose")));
    assert_string_equal(s_of(pur, "termination"), purposes[0].termination);
    assert_true(json_is_true(json_object_get(pur, "thirdPartyDisclosure")));
    assert_string_equal(s_of(pur, "thirdPartyName"), purposes[0].third_party_name);
    assert_true(json_is_true(json_object_get(c, "sensitive")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "spiCat"), 0)),
                        "health");
    /* cityos and JWT */
    assert_string_equal(s_of(c, "action"), "grant");
    assert_string_equal(s_of(c, "consentId"), in.consent_id);
    assert_string_equal(s_of(json_object_get(c, "explanation"), "version"), "3");
    assert_string_equal(s_of(json_object_get(c, "explanation"), "hash"), in.explanation_hash);
    assert_string_equal(s_of(c, "iss"), in.issuer);
    assert_string_equal(s_of(c, "sub"), in.pii_principal_id);
    assert_string_equal(s_of(c, "jti"), in.receipt_id);
    assert_int_equal(json_integer_value(json_object_get(c, "iat")), 1796083202);
    json_decref(c);

    /* the header names the key; another key does not verify it */
    json_t *claims = NULL;
    assert_int_equal(id_jose_verify(jws, strlen(jws), &other, 1, &claims, &e), ERR_INVALID);
    assert_null(claims);
    /* one changed payload byte breaks the signature */
    char *dot = strchr(jws, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    assert_int_equal(id_jose_verify(jws, strlen(jws), &k, 1, &claims, &e), ERR_INVALID);
    free(jws);
}

static void a_withdrawal_says_so(void **state)
{
    (void)state;
    struct id_jose_key k;
    key_of(&k, 7);
    struct consent_receipt_in in = input();
    in.action = CONSENT_RECEIPT_WITHDRAW;
    in.issued_ms = 0; /* iat: the consent time */
    static const char *const spi[] = {"health", "genome"};
    in.spi_cat = spi;
    in.n_spi_cat = 2;
    struct err e = {0};
    char *jws = consent_receipt_make(&in, &k, &e);
    assert_non_null(jws);
    json_t *c = verified(jws, &k);
    assert_string_equal(s_of(c, "action"), "withdraw");
    assert_int_equal(json_integer_value(json_object_get(c, "iat")), 1796083200);
    assert_int_equal(json_array_size(json_object_get(c, "spiCat")), 2);
    json_decref(c);
    free(jws);
}

/* A narrowing and a re-consent name their action; the rest of the payload is what the caller
 * says the consent is after the change (here: one category left, a new purpose version). */
static void a_narrowing_and_a_re_consent_say_so(void **state)
{
    (void)state;
    struct id_jose_key k;
    key_of(&k, 7);
    static const char *const left[] = {"vitals"};
    static const char *const v4[] = {"homedoctor@4"};
    static const struct {
        enum consent_receipt_action action;
        const char *name, *pcat;
        const char *const *pcats, *const *cats;
    } cases[] = {
        {CONSENT_RECEIPT_NARROW, "narrow", "homedoctor@3", purpose_cats, left},
        {CONSENT_RECEIPT_RECONSENT, "reconsent", "homedoctor@4", v4, left},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct consent_receipt_in in = input();
        struct consent_receipt_purpose p = purposes[0];
        p.purpose_category = cases[i].pcats;
        p.pii_category = cases[i].cats;
        p.n_pii_category = 1;
        struct consent_receipt_service svc = {services[0].service, &p, 1};
        in.services = &svc;
        in.action = cases[i].action;
        in.explanation_version = cases[i].pcat;
        struct err e = {0};
        char *jws = consent_receipt_make(&in, &k, &e);
        assert_non_null(jws);
        json_t *c = verified(jws, &k);
        assert_string_equal(s_of(c, "action"), cases[i].name);
        assert_string_equal(s_of(json_object_get(c, "explanation"), "version"), cases[i].pcat);
        json_t *pur = json_array_get(
            json_object_get(json_array_get(json_object_get(c, "services"), 0), "purposes"), 0);
        json_t *cats = json_object_get(pur, "piiCategory");
        assert_int_equal(json_array_size(cats), 1);
        assert_string_equal(json_string_value(json_array_get(cats, 0)), "vitals");
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(pur, "purposeCategory"), 0)),
            cases[i].pcat);
        json_decref(c);
        free(jws);
    }
    assert_string_equal(consent_receipt_action_name(CONSENT_RECEIPT_GRANT), "grant");
    assert_string_equal(consent_receipt_action_name(CONSENT_RECEIPT_WITHDRAW), "withdraw");
    assert_null(consent_receipt_action_name((enum consent_receipt_action)9));
}

/* The exact payload: member names, order and values (a change here changes what citizens and
 * verifiers read: update docs/internals/consent-receipts.md with it). */
static void the_golden_payload(void **state)
{
    (void)state;
    struct consent_receipt_in in = input();
    struct consent_receipt_purpose p = purposes[0];
    p.third_party_disclosure = 0; /* no thirdPartyName then */
    struct consent_receipt_service svc = {services[0].service, &p, 1};
    struct consent_receipt_controller ctl = controllers[0];
    ctl.url = NULL;
    ctl.on_behalf = 1;
    in.services = &svc;
    in.controllers = &ctl;
    struct err e = {0};
    json_t *o = consent_receipt_payload(&in, "KID", &e);
    assert_non_null(o);
    char *s = jsonx_dumps(o, NULL);
    json_decref(o);
    static const char golden[] =
        "{\"version\":\"KI-CR-v1.1.0\",\"jurisdiction\":\"JP\",\"consentTimestamp\":1796083200,"
        "\"collectionMethod\":\"portal\","
        "\"consentReceiptID\":\"0b9e7c3a-5d2f-4e1b-9a8c-1f2e3d4c5b6a\","
        "\"publicKey\":\"https://city.example.jp/.well-known/jwks.json#KID\","
        "\"language\":\"ja\",\"piiPrincipalId\":\"01arz3ndektsv4rrffq69g5fav\","
        "\"piiControllers\":[{\"piiController\":\"会津若松市 / Aizuwakamatsu City\","
        "\"onBehalf\":true,\"contact\":\"Personal data office\","
        "\"address\":{\"streetAddress\":\"福島県会津若松市東栄町3-46\",\"addressCountry\":\"JP\"},"
        "\"email\":\"privacy@city.example.jp\",\"phone\":\"+81-242-39-1111\"}],"
        "\"policyUrl\":\"https://city.example.jp/purposes/homedoctor/3\","
        "\"services\":[{\"service\":\"見守り / Home doctor\",\"purposes\":[{"
        "\"purpose\":\"かかりつけ医による見守り / Home doctor monitoring\","
        "\"purposeCategory\":[\"homedoctor@3\"],\"consentType\":\"EXPLICIT\","
        "\"piiCategory\":[\"vitals\",\"medications\"],\"primaryPurpose\":true,"
        "\"termination\":\"until withdrawn, or 2027-12-01\",\"thirdPartyDisclosure\":false}]}],"
        "\"sensitive\":true,\"spiCat\":[\"health\"],\"action\":\"grant\","
        "\"consentId\":\"01bx5zzkbkactav9wevgemmvrz\",\"explanation\":{\"version\":\"3\","
        "\"hash\":\"sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\"},"
        "\"iss\":\"https://city.example.jp\",\"sub\":\"01arz3ndektsv4rrffq69g5fav\","
        "\"iat\":1796083202,\"jti\":\"0b9e7c3a-5d2f-4e1b-9a8c-1f2e3d4c5b6a\"}";
    assert_string_equal(s, golden);
    free(s);
    /* a narrowing's payload differs in its action only (the caller fills in the scope after it) */
    in.action = CONSENT_RECEIPT_NARROW;
    o = consent_receipt_payload(&in, "KID", &e);
    assert_non_null(o);
    s = jsonx_dumps(o, NULL);
    json_decref(o);
    const char *at = strstr(golden, "\"action\":\"grant\"");
    assert_non_null(at);
    char want[sizeof golden + 8];
    int n = snprintf(want, sizeof want, "%.*s\"action\":\"narrow\"%s", (int)(at - golden), golden,
                     at + strlen("\"action\":\"grant\""));
    assert_true(n > 0 && (size_t)n < sizeof want);
    assert_string_equal(s, want);
    free(s);
}

static void incomplete_input_is_refused(void **state)
{
    (void)state;
    struct id_jose_key k;
    key_of(&k, 7);
    struct consent_receipt_purpose p = purposes[0];
    struct consent_receipt_service svc = {services[0].service, &p, 1};
    struct consent_receipt_controller ctl = controllers[0];
    char big[CONSENT_RECEIPT_TEXT_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 16; i++) {
        struct consent_receipt_in in = input();
        p = purposes[0];
        ctl = controllers[0];
        svc = (struct consent_receipt_service){services[0].service, &p, 1};
        in.services = &svc;
        in.controllers = &ctl;
        const char *field = NULL;
        switch (i) {
        case 0:
            in.receipt_id = NULL;
            field = "consentReceiptID";
            break;
        case 1:
            in.collection_method = "";
            field = "collectionMethod";
            break;
        case 2:
            in.consent_ms = 0;
            field = "consentTimestamp";
            break;
        case 3:
            in.language = NULL;
            field = "language";
            break;
        case 4:
            in.n_controllers = 0;
            field = "piiControllers";
            break;
        case 5:
            ctl.email = NULL;
            field = "email";
            break;
        case 6:
            in.n_services = 33;
            field = "services";
            break;
        case 7:
            svc.n_purposes = 0;
            field = "purposes";
            break;
        case 8:
            p.n_pii_category = 0;
            field = "piiCategory";
            break;
        case 9:
            p.third_party_name = NULL;
            field = "thirdPartyName";
            break;
        case 10:
            in.policy_url = big;
            field = "policyUrl";
            break;
        case 11:
            in.pii_principal_id = "bad \xc3";
            field = "piiPrincipalId";
            break;
        case 12:
            in.jwks_url = NULL;
            field = "jwks_url";
            break;
        case 13:
            in.explanation_hash = "";
            field = "hash";
            break;
        case 14:
            in.action = (enum consent_receipt_action)7;
            field = "action";
            break;
        case 15:
            in.consent_id = NULL;
            field = "consentId";
            break;
        }
        struct err e = {0};
        char *jws = consent_receipt_make(&in, &k, &e);
        if (jws != NULL || e.code != ERR_INVALID || strstr(e.msg, field) == NULL) {
            fprintf(stderr, "case %d: %s\n", i, e.msg);
            fail();
        }
    }
}

static void receipt_ids_are_uuid_v4(void **state)
{
    (void)state;
    char a[CONSENT_RECEIPT_ID_LEN + 1], b[CONSENT_RECEIPT_ID_LEN + 1];
    consent_receipt_new_id(a);
    consent_receipt_new_id(b);
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    assert_int_equal(a[8], '-');
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_grant_is_signed_and_verifies),
        cmocka_unit_test(a_withdrawal_says_so),
        cmocka_unit_test(a_narrowing_and_a_re_consent_say_so),
        cmocka_unit_test(the_golden_payload),
        cmocka_unit_test(incomplete_input_is_refused),
        cmocka_unit_test(receipt_ids_are_uuid_v4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
