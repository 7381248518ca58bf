/* test_consent_changes.c - every change of a consent gives the citizen a signed receipt, as a
 * specification, on a demo town served with the city's controller set by options: 会津 太郎
 * narrows a consent (a receipt "narrow" naming only the categories left, verified against the
 * city's JWKS, the controller as configured), accepts a re-consent (a receipt "reconsent" on the
 * new version), and a refused narrowing (wider, the same, bad JSON, wrong media type) stores no
 * receipt; the FHIR Consent of the narrowed consent shows what he left out as nested deny
 * provisions; and a malformed controller option keeps the server from starting. */
#include "consent_support.h"
#include "oidc_flow.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ME             "/api/v1/me/consents"
#define PURPOSES       "/api/v1/purposes"
#define ADMIN_PURPOSES "/api/v1/admin/purposes"
#define CODE           "screening"
#define TARO_EMAIL     "taro.aizu@example.jp"
#define TARO_PASS      "Minato-Tsuru-7Kq3-Bx9w"
#define APP_REDIRECT   "http://127.0.0.1:8765/callback"
#define APP_SCOPE      "openid launch/patient patient/*.rs patient/Consent.cu"

/* the controller the server is started with (options controller-*) */
#define CTL_JA      "試験市"
#define CTL_EN      "Test City"
#define CTL_ADDRESS "〒965-0000 福島県試験市本町1番1号"
#define CTL_PHONE   "+81-242-00-0000"
#define CTL_EMAIL   "dpo@test-city.example.jp"

struct fixture {
    char *dir;
    struct server *s;
    char app[64], taro[32];
    char *t_taro;
};

static struct fixture *F;

/* ---- helpers (copied from test_consent.c, which another suite owns) ---- */

/* The authorization-code flow for the demo's city portal (it manages consents), acting as
 * oneself. */
static char *token(const char *email, const char *password)
{
    return oidc_token(F->s, F->app, APP_REDIRECT, email, password, "self", APP_SCOPE);
}

/* One exchange with a bearer token (NULL: none) and a body of content type ctype. */
static struct resp call_as(const char *method, const char *path, const char *tok, const char *body,
                           const char *ctype)
{
    char *auth = tok != NULL ? str_printf("Authorization: Bearer %s", tok) : NULL;
    const char *h[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (auth != NULL)
        h[n++] = auth;
    if (body != NULL)
        h[n++] = ctype;
    struct resp r = api(F->s, method, path, h, body, body != NULL ? strlen(body) : 0);
    free(auth);
    return r;
}

static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    return call_as(method, path, tok, body, JSON_HEADER);
}

/* Publishes the next version of CODE with the categories (a JSON array). */
static void publish(const char *cats)
{
    char *b = str_printf(
        "{\"code\":\"" CODE "\",\"title\":{\"ja\":\"健診結果の共有\",\"en\":\"Sharing "
        "check-up results\"},\"explanation\":{\"ja\":\"健診結果を共有します。\",\"en\":\"Your "
        "check-up results are shared.\"},\"categories\":%s,\"recipients\":[],"
        "\"legal_basis\":\"consent\",\"retention_days\":365}",
        cats);
    struct resp r = api(F->s, "POST", ADMIN_PURPOSES, LIST(AUTH_HEADER, JSON_HEADER), b, strlen(b));
    assert_status(&r, 201);
    resp_free(&r);
    free(b);
}

/* The current version of CODE and its explanation hash (malloc'ed). */
static char *current(json_int_t *version)
{
    struct resp r = call("GET", PURPOSES, NULL, NULL);
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, "purposes");
    char *h = NULL;
    for (size_t i = 0; h == NULL && i < json_array_size(list); i++) {
        json_t *p = json_array_get(list, i);
        if (strcmp(json_str(p, "code"), CODE) == 0) {
            h = strdup(json_str(p, "explanation_hash"));
            *version = json_integer_value(json_object_get(p, "version"));
        }
    }
    assert_non_null(h);
    resp_free(&r);
    return h;
}

/* 太郎 grants a broad opt-in to CODE's current version for the categories; the consent's id. */
static char *grant(const char *cats)
{
    json_int_t v = 0;
    char *h = current(&v), *ev = consent_evidence(h);
    char *b = str_printf("{\"purpose\":{\"code\":\"" CODE "\",\"version\":%lld},\"recipient\":{"
                         "\"kind\":\"purpose\"},\"categories\":%s,\"actions\":[\"read\"],"
                         "\"evidence\":%s}",
                         (long long)v, cats, ev);
    struct resp r = call("POST", ME, F->t_taro, b);
    assert_status(&r, 201);
    char *id = strdup(json_str(r.json, "id"));
    resp_free(&r);
    free(b);
    free(ev);
    free(h);
    return id;
}

/* The receipts of consent id, as listed for 太郎 (a new reference). */
static json_t *receipts_of(const char *id)
{
    char *path = str_printf(ME "/%s/receipts", id);
    struct resp r = call("GET", path, F->t_taro, NULL);
    assert_status(&r, 200);
    json_t *list = json_incref(json_object_get(r.json, "receipts"));
    assert_non_null(list);
    resp_free(&r);
    free(path);
    return list;
}

/* Base64url (no padding) of n characters at text into a malloc'ed buffer; *len its size. */
static unsigned char *b64url(const char *text, size_t n, size_t *len)
{
    unsigned char *out = malloc(n + 1);
    assert_non_null(out);
    assert_int_equal(sodium_base642bin(out, n + 1, text, n, NULL, len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    return out;
}

/* Verifies jws with the key of the server's JWKS named by its header's kid (EdDSA, Ed25519):
 * 1 good, 0 bad. *payload (when not NULL) gets its payload as JSON. */
static int jws_verifies(const char *jws, json_t **payload)
{
    struct resp jwks = call("GET", "/.well-known/jwks.json", NULL, NULL);
    assert_status(&jwks, 200);
    const char *dot1 = strchr(jws, '.'), *dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
    assert_non_null(dot2);
    size_t hlen, plen, slen, klen;
    unsigned char *h = b64url(jws, (size_t)(dot1 - jws), &hlen);
    json_t *header = json_loadb((const char *)h, hlen, 0, NULL);
    assert_non_null(header);
    assert_string_equal(json_str(header, "alg"), "EdDSA");
    const char *kid = json_str(header, "kid");
    assert_non_null(kid);
    const char *x = NULL;
    json_t *keys = json_object_get(jwks.json, "keys");
    for (size_t i = 0; x == NULL && i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        if (json_str(k, "kid") != NULL && strcmp(json_str(k, "kid"), kid) == 0) {
            assert_string_equal(json_str(k, "crv"), "Ed25519");
            x = json_str(k, "x");
        }
    }
    assert_non_null(x);
    unsigned char *pk = b64url(x, strlen(x), &klen);
    assert_int_equal(klen, crypto_sign_PUBLICKEYBYTES);
    unsigned char *sig = b64url(dot2 + 1, strlen(dot2 + 1), &slen);
    assert_int_equal(slen, crypto_sign_BYTES);
    int ok = crypto_sign_verify_detached(sig, (const unsigned char *)jws,
                                         (unsigned long long)(dot2 - jws), pk) == 0;
    if (payload != NULL) {
        unsigned char *p = b64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen);
        *payload = json_loadb((const char *)p, plen, 0, NULL);
        assert_non_null(*payload);
        free(p);
    }
    json_decref(header);
    free(h);
    free(pk);
    free(sig);
    resp_free(&jwks);
    return ok;
}

/* The first purpose of the receipt's first service. */
static json_t *purpose_of(json_t *payload)
{
    return json_array_get(
        json_object_get(json_array_get(json_object_get(payload, "services"), 0), "purposes"), 0);
}

/* The strings of a JSON array joined with ",", into buf. */
static const char *joined(json_t *a, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(a); i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "," : "",
                                json_string_value(json_array_get(a, i)));
    assert_true(len < cap);
    return buf;
}

static int group_setup(void **state)
{
    (void)state;
    assert_int_not_equal(sodium_init(), -1);
    F = calloc(1, sizeof *F);
    F->dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=10 --seed=1 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), F->dir);
    char *out = run_command(cmd);
    demo_client_id(out, "city portal", F->app, sizeof F->app);
    free(out);
    free(cmd);
    F->s = server_start_with(&(struct server_config){
        .data_dir = F->dir,
        .args = LIST("--controller-name-ja=" CTL_JA, "--controller-name-en=" CTL_EN,
                     "--controller-address=" CTL_ADDRESS, "--controller-phone=" CTL_PHONE),
        .env = LIST("CITYOS_CONTROLLER_EMAIL=" CTL_EMAIL)});
    F->t_taro = token(TARO_EMAIL, TARO_PASS);
    struct resp r = call("GET", ME, F->t_taro, NULL);
    assert_status(&r, 200);
    snprintf(F->taro, sizeof F->taro, "%s", json_str(r.json, "subject"));
    resp_free(&r);
    publish("[\"vitals\",\"checkups\",\"lab_results\"]");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_free(F->s);
    remove_tree(F->dir);
    free(F->dir);
    free(F->t_taro);
    free(F);
    return 0;
}

/* ---- narrowing ---- */

static void a_narrowing_gives_a_receipt_of_what_is_left(void **state)
{
    (void)state;
    char *id = grant("[\"vitals\",\"checkups\",\"lab_results\"]");
    json_int_t v = 0;
    char *h = current(&v), *ev = consent_evidence(h);
    char *end = rfc3339_from_now(30 * 86400);
    char *nb = str_printf("{\"categories\":[\"vitals\"],\"period\":{\"end\":\"%s\"},"
                          "\"evidence\":%s}",
                          end, ev);
    char *loc = str_printf(ME "/%s", id);
    struct resp r = call("PATCH", loc, F->t_taro, nb);
    assert_status(&r, 200);
    resp_free(&r);

    json_t *list = receipts_of(id);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_str(json_array_get(list, 0), "action"), "grant");
    json_t *rc = json_array_get(list, 1), *payload = NULL;
    assert_string_equal(json_str(rc, "action"), "narrow");
    assert_true(jws_verifies(json_str(rc, "jws"), &payload));
    assert_string_equal(json_str(payload, "action"), "narrow");
    assert_string_equal(json_str(payload, "consentReceiptID"), json_str(rc, "id"));
    assert_string_equal(json_str(payload, "consentId"), id);
    assert_string_equal(json_str(payload, "piiPrincipalId"), F->taro);
    /* the scope after the narrowing: one category, the new end, the same version */
    char buf[256];
    json_t *purpose = purpose_of(payload);
    assert_string_equal(joined(json_object_get(purpose, "piiCategory"), buf, sizeof buf), "vitals");
    assert_non_null(strstr(json_str(purpose, "termination"), "Ends on"));
    char *pcat = str_printf(CODE "@%lld", (long long)v);
    assert_string_equal(joined(json_object_get(purpose, "purposeCategory"), buf, sizeof buf), pcat);
    json_t *expl = json_object_get(payload, "explanation");
    assert_string_equal(json_str(expl, "version"), pcat);
    assert_string_equal(json_str(expl, "hash"), h);
    /* the controller as configured */
    json_t *ctl = json_array_get(json_object_get(payload, "piiControllers"), 0);
    assert_string_equal(json_str(ctl, "piiController"), CTL_JA " / " CTL_EN);
    assert_string_equal(json_str(json_object_get(ctl, "address"), "streetAddress"), CTL_ADDRESS);
    assert_string_equal(json_str(ctl, "phone"), CTL_PHONE);
    assert_string_equal(json_str(ctl, "email"), CTL_EMAIL);
    /* a changed byte and it no longer verifies */
    char *bad = strdup(json_str(rc, "jws"));
    char *p = strchr(bad, '.') + 5;
    *p = *p == 'A' ? 'B' : 'A';
    assert_false(jws_verifies(bad, NULL));
    free(bad);
    json_decref(payload);
    json_decref(list);
    free(pcat);
    free(loc);
    free(nb);
    free(end);
    free(ev);
    free(h);
    free(id);
}

static void a_refused_narrowing_stores_no_receipt(void **state)
{
    (void)state;
    char *id = grant("[\"vitals\",\"checkups\"]");
    json_int_t v = 0;
    char *h = current(&v), *ev = consent_evidence(h);
    char *loc = str_printf(ME "/%s", id);
    char *wider = str_printf("{\"categories\":[\"vitals\",\"checkups\",\"lab_results\"],"
                             "\"evidence\":%s}",
                             ev);
    char *same = str_printf("{\"categories\":[\"vitals\",\"checkups\"],\"evidence\":%s}", ev);
    char *old =
        consent_evidence("0000000000000000000000000000000000000000000000000000000000000000");
    char *wrong_text = str_printf("{\"categories\":[\"vitals\"],\"evidence\":%s}", old);
    char *no_evidence = strdup("{\"categories\":[\"vitals\"]}");
    static const struct {
        int which;
        long status;
        const char *slug;
    } cases[] = {
        {0, 422, "validation-failed"}, /* a narrowing cannot add a category */
        {1, 422, "validation-failed"}, /* nothing to narrow */
        {2, 422, "validation-failed"}, /* the text of no version */
        {3, 422, "validation-failed"}, /* no evidence */
        {4, 400, "malformed-json"},
    };
    const char *bodies[] = {wider, same, wrong_text, no_evidence, "{\"categories\":[\"vitals\""};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp r = call("PATCH", loc, F->t_taro, bodies[cases[i].which]);
        assert_problem(&r, cases[i].status, cases[i].slug);
        resp_free(&r);
    }
    struct resp r = call_as("PATCH", loc, F->t_taro, same, "Content-Type: text/plain");
    assert_problem(&r, 415, "unsupported-media-type");
    resp_free(&r);
    /* someone else's consent id, and no consent at all */
    r = call("PATCH", ME "/01JZZZZZZZZZZZZZZZZZZZZZZZ", F->t_taro, wider);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    /* only the grant's receipt, and the scope as granted */
    json_t *list = receipts_of(id);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_str(json_array_get(list, 0), "action"), "grant");
    json_decref(list);
    r = call("GET", loc, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "categories")), 2);
    resp_free(&r);
    free(no_evidence);
    free(wrong_text);
    free(old);
    free(same);
    free(wider);
    free(loc);
    free(ev);
    free(h);
    free(id);
}

/* ---- re-consent ---- */

static void accepting_a_re_consent_gives_a_receipt_of_the_new_version(void **state)
{
    (void)state;
    char *id = grant("[\"vitals\"]");
    json_int_t v1 = 0;
    free(current(&v1));
    publish("[\"vitals\",\"checkups\",\"lab_results\",\"claims\"]"); /* widens: claims */
    json_int_t v2 = 0;
    char *h2 = current(&v2);
    assert_int_equal(v2, v1 + 1);
    struct resp r = call("GET", "/api/v1/me/inbox", F->t_taro, NULL);
    assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    char *accept = NULL;
    for (size_t i = 0; accept == NULL && i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        if (strcmp(json_str(it, "kind"), "reconsent") == 0 && json_str(it, "consent_id") != NULL &&
            strcmp(json_str(it, "consent_id"), id) == 0)
            accept = str_printf("/api/v1/me/inbox/%s/accept", json_str(it, "id"));
    }
    assert_non_null(accept);
    resp_free(&r);
    /* the old version's text is refused, and leaves no receipt */
    char *ev = consent_evidence("0000000000000000000000000000000000000000000000000000000000000000");
    char *ab = str_printf("{\"evidence\":%s}", ev);
    r = call("POST", accept, F->t_taro, ab);
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    json_t *list = receipts_of(id);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    free(ab);
    free(ev);
    /* the new version's text: moved, with the old category plus the one the version added */
    ev = consent_evidence(h2);
    ab = str_printf("{\"evidence\":%s}", ev);
    r = call("POST", accept, F->t_taro, ab);
    assert_status(&r, 200);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r.json, "purpose"), "version")), v2);
    resp_free(&r);
    list = receipts_of(id);
    assert_int_equal(json_array_size(list), 2);
    json_t *rc = json_array_get(list, 1), *payload = NULL;
    assert_string_equal(json_str(rc, "action"), "reconsent");
    assert_true(jws_verifies(json_str(rc, "jws"), &payload));
    assert_string_equal(json_str(payload, "action"), "reconsent");
    assert_string_equal(json_str(payload, "consentId"), id);
    char *pcat = str_printf(CODE "@%lld", (long long)v2), buf[256];
    json_t *purpose = purpose_of(payload);
    assert_string_equal(joined(json_object_get(purpose, "purposeCategory"), buf, sizeof buf), pcat);
    assert_string_equal(joined(json_object_get(purpose, "piiCategory"), buf, sizeof buf),
                        "vitals,claims");
    assert_string_equal(json_str(json_object_get(payload, "explanation"), "version"), pcat);
    assert_string_equal(json_str(json_object_get(payload, "explanation"), "hash"), h2);
    json_decref(payload);
    json_decref(list);
    /* accepted twice: 409, no third receipt */
    r = call("POST", accept, F->t_taro, ab);
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    list = receipts_of(id);
    assert_int_equal(json_array_size(list), 2);
    json_decref(list);
    free(pcat);
    free(ab);
    free(ev);
    free(accept);
    free(h2);
    free(id);
}

/* ---- FHIR ---- */

static void a_narrowed_consent_shows_its_exceptions_in_fhir(void **state)
{
    (void)state;
    char *id = grant("[\"vitals\",\"checkups\",\"lab_results\"]");
    json_int_t v = 0;
    char *h = current(&v), *ev = consent_evidence(h);
    char *nb = str_printf("{\"categories\":[\"checkups\"],\"evidence\":%s}", ev);
    char *loc = str_printf(ME "/%s", id);
    struct resp r = call("PATCH", loc, F->t_taro, nb);
    assert_status(&r, 200);
    resp_free(&r);
    char *fpath = str_printf("/fhir/Consent/%s", id);
    r = call("GET", fpath, F->t_taro, NULL);
    assert_status(&r, 200);
    json_t *prov = json_object_get(r.json, "provision");
    assert_string_equal(json_str(prov, "type"), "permit");
    json_t *cls = json_object_get(prov, "class");
    assert_int_equal(json_array_size(cls), 1);
    assert_string_equal(json_str(json_array_get(cls, 0), "code"), "checkups");
    assert_non_null(json_object_get(prov, "actor"));
    assert_non_null(json_object_get(prov, "action"));
    assert_non_null(json_object_get(prov, "purpose"));
    assert_non_null(json_object_get(prov, "period"));
    /* the version covers five categories now (vitals, checkups, lab_results, claims after the
     * widening above) or three: whatever it covers beyond checkups is denied explicitly */
    json_t *nested = json_object_get(prov, "provision");
    assert_true(json_array_size(nested) >= 2);
    int vitals = 0, labs = 0;
    for (size_t i = 0; i < json_array_size(nested); i++) {
        json_t *d = json_array_get(nested, i);
        assert_string_equal(json_str(d, "type"), "deny");
        json_t *c = json_array_get(json_object_get(d, "class"), 0);
        assert_string_equal(json_str(c, "system"), "urn:cityos:category");
        assert_string_not_equal(json_str(c, "code"), "checkups");
        vitals |= strcmp(json_str(c, "code"), "vitals") == 0;
        labs |= strcmp(json_str(c, "code"), "lab_results") == 0;
    }
    assert_true(vitals && labs);
    resp_free(&r);
    free(fpath);
    free(loc);
    free(nb);
    free(ev);
    free(h);
    free(id);
}

/* ---- configuration ---- */

static void a_malformed_controller_option_stops_the_server(void **state)
{
    (void)state;
    static const char *const bad[] = {"--controller-email=not-an-address",
                                      "--controller-phone=0242-39-1111",
                                      "--controller-name-ja=", "--controller-address= 福島県"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct server *s = server_new(&(struct server_config){.args = LIST(bad[i])});
        assert_int_equal(server_launch(s), -1);
        assert_int_not_equal(server_exit_status(s), 0);
        assert_true(server_log_has(s, "--controller-"));
        server_free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_narrowing_gives_a_receipt_of_what_is_left),
        cmocka_unit_test(a_refused_narrowing_stores_no_receipt),
        cmocka_unit_test(accepting_a_re_consent_gives_a_receipt_of_the_new_version),
        cmocka_unit_test(a_narrowed_consent_shows_its_exceptions_in_fhir),
        cmocka_unit_test(a_malformed_controller_option_stops_the_server),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
