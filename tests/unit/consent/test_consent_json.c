/* test_consent_json.c - the consent API's bodies: each reader's refusals name the member (a JSON
 * Pointer), accepted bodies fill the write as promised, and the served forms round-trip the
 * fields a portal shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "consent/consent_json.h"

#define HASH "0b63e4728135700ec7a2fd7ed3b5125d73e4918a8222ef33ed0275e2d83609d1"
#define EV                                                                                         \
    "\"evidence\":{\"explanation_hash\":\"" HASH "\",\"shown_at\":\"2026-11-24T23:00:00Z\","       \
    "\"agreed_at\":\"2026-11-25T08:01:00+09:00\",\"channel\":\"portal\"}"
#define ORG "0123456789abcdefghjkmnpqrs"

typedef int (*reader)(const json_t *, struct consent_write *, struct err *);

static int run(reader fn, const char *text, struct consent_write *w, struct err *e)
{
    json_t *v = jsonx_parse(text, strlen(text), e);
    assert_non_null(v);
    memset(w, 0, sizeof *w);
    int rc = fn(v, w, e);
    json_decref(v);
    return rc;
}

static void grant_accepted(void **state)
{
    (void)state;
    struct consent_write w;
    struct err e = {0};
    assert_int_equal(run(consent_json_grant,
                         "{\"purpose\":{\"code\":\"cardio\",\"version\":3},\"recipient\":{\"kind\":"
                         "\"organisation\",\"id\":\"" ORG "\"},\"categories\":[\"lab_results\","
                         "\"vitals\"],\"actions\":[\"write\",\"read\"],\"period\":{\"end\":"
                         "\"2027-01-01T00:00:00Z\"}," EV "}",
                         &w, &e),
                     0);
    assert_int_equal(w.purpose_version, 3);
    assert_int_equal(w.recipient_kind, CONSENT_TO_ORGANISATION);
    assert_int_equal(w.cats, (1u << CONSENT_CAT_VITALS) | (1u << CONSENT_CAT_LAB_RESULTS));
    assert_int_equal(w.actions, CONSENT_READ | CONSENT_WRITE);
    assert_int_equal(w.valid_from_ms, 0);
    assert_int_equal(w.valid_until_ms, 1798761600000LL);
    assert_int_equal(w.evidence.agreed_ms - w.evidence.shown_ms, 60000); /* +09:00 honoured */
    assert_int_equal(w.evidence.channel, CONSENT_CHANNEL_PORTAL);
}

static void refusals_name_the_member(void **state)
{
    (void)state;
    struct {
        reader fn;
        const char *body, *pointer;
    } cases[] = {
        {consent_json_grant, "[]", ": the body"},
        {consent_json_grant, "{\"x\":1}", "/x"},
        {consent_json_grant, "{" EV "}", "/purpose: required"},
        {consent_json_grant, "{\"purpose\":{\"code\":\"c\",\"version\":0}}", "/purpose/version"},
        {consent_json_grant, "{\"purpose\":{\"code\":\"c\",\"version\":1.5}}", "/purpose/version"},
        {consent_json_grant, "{\"purpose\":{\"code\":\"c\",\"version\":1,\"v\":2}}", "/purpose/v"},
        {consent_json_grant, "{\"purpose\":{\"code\":7,\"version\":1}}", "/purpose/code"},
        {consent_json_grant,
         "{\"purpose\":{\"code\":\"c\",\"version\":1},\"recipient\":{\"kind\":\"robot\"}}",
         "/recipient/kind"},
        {consent_json_grant,
         "{\"purpose\":{\"code\":\"c\",\"version\":1},\"recipient\":{\"kind\":\"purpose\","
         "\"id\":\"" ORG "\"}}",
         "/recipient/id"},
        {consent_json_grant,
         "{\"purpose\":{\"code\":\"c\",\"version\":1},\"recipient\":{\"kind\":\"client\"}}",
         "/recipient/id"},
        {consent_json_grant,
         "{\"purpose\":{\"code\":\"c\",\"version\":1},\"recipient\":{\"kind\":\"purpose\"},"
         "\"categories\":[]}",
         "/categories"},
        {consent_json_grant,
         "{\"purpose\":{\"code\":\"c\",\"version\":1},\"recipient\":{\"kind\":\"purpose\"},"
         "\"categories\":[\"vitals\",3]}",
         "/categories/1"},
        {consent_json_grant,
         "{\"purpose\":{\"code\":\"c\",\"version\":1},\"recipient\":{\"kind\":\"purpose\"},"
         "\"categories\":[\"vitals\"],\"actions\":[\"read\",\"read\"]}",
         "/actions/1"},
        {consent_json_grant,
         "{\"purpose\":{\"code\":\"c\",\"version\":1},\"recipient\":{\"kind\":\"purpose\"},"
         "\"categories\":[\"vitals\"],\"actions\":[\"read\"],\"period\":{}}",
         "/period"},
        {consent_json_grant,
         "{\"purpose\":{\"code\":\"c\",\"version\":1},\"recipient\":{\"kind\":\"purpose\"},"
         "\"categories\":[\"vitals\"],\"actions\":[\"read\"],\"period\":{\"end\":\"soon\"}}",
         "/period/end"},
        {consent_json_grant,
         "{\"purpose\":{\"code\":\"c\",\"version\":1},\"recipient\":{\"kind\":\"purpose\"},"
         "\"categories\":[\"vitals\"],\"actions\":[\"read\"],\"evidence\":{\"explanation_hash\":"
         "\"" HASH "\",\"shown_at\":\"2026-11-24T23:00:00Z\",\"agreed_at\":\"2026-11-24T23:00:"
         "00Z\",\"channel\":\"fax\"}}",
         "/evidence/channel"},
        {consent_json_grant,
         "{\"purpose\":{\"code\":\"c\",\"version\":1},\"recipient\":{\"kind\":\"purpose\"},"
         "\"categories\":[\"vitals\"],\"actions\":[\"read\"],\"evidence\":{\"explanation_hash\":"
         "\"" HASH "0\"}}",
         "/evidence/explanation_hash"},
        {consent_json_grant,
         "{\"purpose\":{\"code\":\"c\",\"version\":1},\"recipient\":{\"kind\":\"purpose\"},"
         "\"categories\":[\"vitals\"],\"actions\":[\"read\"],\"evidence\":{\"explanation_hash\":"
         "\"0B63E4728135700EC7A2FD7ED3B5125D73E4918A8222EF33ED0275E2D83609D1\"}}",
         "/evidence/explanation_hash"},
        {consent_json_narrow, "{" EV "}", ": categories, actions or period"},
        {consent_json_narrow, "{\"categories\":[\"vitals\"]}", "/evidence: required"},
        {consent_json_withdraw, "{" EV ",\"reason\":\"x\"}", "/reason"},
        {consent_json_accept, "{\"categories\":\"vitals\"," EV "}", "/categories"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct consent_write w;
        struct err e = {0};
        assert_int_equal(run(cases[i].fn, cases[i].body, &w, &e), ERR_INVALID);
        if (strncmp(e.msg, cases[i].pointer, strlen(cases[i].pointer)) != 0)
            fail_msg("case %zu: want %s, got %s", i, cases[i].pointer, e.msg);
    }
}

static void purpose_body(void **state)
{
    (void)state;
    const char *text =
        "{\"code\":\"cardio\",\"title\":{\"ja\":\"循環器\",\"en\":\"Cardio\"},\"explanation\":{"
        "\"ja\":\"説明\",\"en\":\"Text\"},\"categories\":[\"vitals\"],\"recipients\":[\"" ORG "\"],"
        "\"legal_basis\":\"public_health\",\"retention_days\":30}";
    struct err e = {0};
    json_t *v = jsonx_parse(text, strlen(text), &e);
    struct arena *a = arena_new(0);
    struct consent_purpose_new p;
    assert_int_equal(consent_json_purpose(v, &p, a, &e), 0);
    assert_string_equal(p.title_ja, "循環器");
    assert_int_equal(p.nrecipients, 1);
    assert_string_equal(p.recipients[0], ORG);
    assert_int_equal(p.legal_basis, CONSENT_BASIS_PUBLIC_HEALTH);
    assert_int_equal(p.retention_days, 30);
    json_object_set_new(v, "retention_days", json_integer(36501));
    assert_int_equal(consent_json_purpose(v, &p, a, &e), ERR_INVALID);
    assert_int_equal(strncmp(e.msg, "/retention_days", 15), 0);
    json_object_set_new(v, "retention_days", json_integer(30));
    json_object_set_new(v, "recipients", json_pack("[s]", "short"));
    assert_int_equal(consent_json_purpose(v, &p, a, &e), ERR_INVALID);
    assert_int_equal(strncmp(e.msg, "/recipients/0", 13), 0);
    json_decref(v);
    arena_free(a);
}

static void served_forms(void **state)
{
    (void)state;
    struct consent_record r = {.id = "CONSENT0000000000000000001",
                               .subject_id = "SUBJECT0000000000000000001",
                               .granted_by = "SUBJECT0000000000000000001",
                               .recipient_kind = CONSENT_TO_PURPOSE,
                               .purpose_code = "cardio",
                               .purpose_version = 2,
                               .cats = (1u << CONSENT_CAT_VITALS) | (1u << CONSENT_CAT_ALERTS),
                               .actions = CONSENT_READ,
                               .valid_from_ms = 1796083200000LL,
                               .withdrawn = 1,
                               .evidence = {.explanation_hash = HASH,
                                            .shown_ms = 1796083100000LL,
                                            .agreed_ms = 1796083200000LL,
                                            .channel = CONSENT_CHANNEL_APP},
                               .withdrawn_ms = 1796083300000LL,
                               .withdrawn_by = "SUBJECT0000000000000000001",
                               .withdrawal = {.explanation_hash = HASH,
                                              .shown_ms = 1,
                                              .agreed_ms = 2,
                                              .channel = CONSENT_CHANNEL_PORTAL},
                               .created_ms = 1796083200000LL,
                               .updated_ms = 1796083300000LL};
    json_t *o = consent_json_record(&r);
    assert_non_null(o);
    char *text = jsonx_dumps(o, NULL);
    assert_non_null(strstr(text, "\"categories\":[\"vitals\",\"alerts\"]"));
    assert_non_null(strstr(text, "\"recipient\":{\"kind\":\"purpose\",\"id\":null}"));
    assert_non_null(strstr(text, "\"status\":\"withdrawn\""));
    assert_non_null(strstr(text, "\"end\":null"));
    assert_non_null(strstr(text, "\"channel\":\"app\""));
    assert_non_null(strstr(text, "\"withdrawal\":{\"at\":\"2026-12-01T00:01:40.000Z\""));
    free(text);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grant_accepted),
        cmocka_unit_test(refusals_name_the_member),
        cmocka_unit_test(purpose_body),
        cmocka_unit_test(served_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
