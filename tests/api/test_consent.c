/* test_consent.c - the consent API as a specification, on a demo town (which has the S1
 * purposes and 太郎's consents to them already; the test publishes its own): the city publishes a
 * purpose; 会津 太郎 grants, reads, narrows and withdraws consents with the evidence of what he
 * was shown; each write leaves its entry in his access log; his wife, given manage_consents,
 * manages them for him; his daughter, without that right, is refused; someone else's consent
 * is not found; a widening version asks him to re-consent through his inbox; every grant and
 * withdrawal gives him a receipt signed with the key of the city's JWKS; and every bad body is
 * refused with problem+json and stores nothing. */
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
#define TARO_EMAIL     "taro.aizu@example.jp"
#define TARO_PASS      "Minato-Tsuru-7Kq3-Bx9w"
#define HANAKO_EMAIL   "hanako.aizu@example.jp"
#define HANAKO_PASS    "Hanako-Yuki-4Rm8-Zp2v"
#define MISAKI_EMAIL   "misaki.sato@example.jp"
#define MISAKI_PASS    "Misaki-Kaki-9Tn5-Hc3j"
#define APP_REDIRECT   "http://127.0.0.1:8765/callback"
#define APP_SCOPE      "openid launch/patient patient/*.rs patient/Consent.cu"
#define SAMPLE_SCOPE   "openid launch/patient patient/*.rs"
/* The purpose this test publishes and changes: its own code, since the demo town already has
 * the S1 purposes (homedoctor, cardio) and 太郎's consents to them, which it leaves alone. */
#define CODE "api-cardio"

struct fixture {
    char *dir;
    struct server *s;
    char app[64], sample_app[64], taro[32], hanako[32];
    char *t_taro, *t_hanako_self, *t_hanako_for_taro, *t_misaki_for_taro;
};

static struct fixture *F;

/* The authorization-code flow: sign in, approve acting as the option starting with act_as,
 * for scope. */
static char *token_for(const char *email, const char *password, const char *act_as,
                       const char *scope)
{
    return oidc_token(F->s, F->app, APP_REDIRECT, email, password, act_as, scope);
}

static char *token(const char *email, const char *password, const char *act_as)
{
    return token_for(email, password, act_as, APP_SCOPE);
}

/* One exchange with a bearer token (NULL: none) and, for a body, application/json. */
static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    char *auth = tok != NULL ? str_printf("Authorization: Bearer %s", tok) : NULL;
    const char *h[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (auth != NULL)
        h[n++] = auth;
    if (body != NULL)
        h[n++] = JSON_HEADER;
    struct resp r = api(F->s, method, path, h, body, body != NULL ? strlen(body) : 0);
    free(auth);
    return r;
}

static char *purpose_body(const char *cats, const char *recipients)
{
    return str_printf("{\"code\":\"" CODE
                      "\",\"title\":{\"ja\":\"循環器病予防\",\"en\":\"Cardiovascular "
                      "prevention\"},\"explanation\":{\"ja\":\"血圧を共有します。\",\"en\":\"Your "
                      "blood pressure is shared.\"},\"categories\":%s,\"recipients\":%s,"
                      "\"legal_basis\":\"consent\",\"retention_days\":1825}",
                      cats, recipients);
}

/* The purposes of the public list (or its history) with this test's code: how many, and the
 * first (borrowed from r, NULL when none). */
static json_t *this_purpose(const struct resp *r, size_t *count)
{
    json_t *list = json_object_get(r->json, "purposes"), *first = NULL;
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *p = json_array_get(list, i);
        if (strcmp(json_str(p, "code"), CODE) == 0 && n++ == 0)
            first = p;
    }
    if (count != NULL)
        *count = n;
    return first;
}

/* The current explanation hash of CODE (malloc'ed). */
static char *current_hash(void)
{
    struct resp r = call("GET", PURPOSES, NULL, NULL);
    assert_status(&r, 200);
    json_t *p = this_purpose(&r, NULL);
    assert_non_null(p);
    char *h = strdup(json_str(p, "explanation_hash"));
    resp_free(&r);
    return h;
}

static json_int_t current_version(void)
{
    struct resp r = call("GET", PURPOSES, NULL, NULL);
    json_t *p = this_purpose(&r, NULL);
    assert_non_null(p);
    json_int_t v = json_integer_value(json_object_get(p, "version"));
    resp_free(&r);
    return v;
}

static size_t consent_count(const char *tok, const char *query)
{
    char *path = str_printf(ME "%s", query != NULL ? query : "");
    struct resp r = call("GET", path, tok, NULL);
    assert_status(&r, 200);
    size_t n = json_array_size(json_object_get(r.json, "consents"));
    resp_free(&r);
    free(path);
    return n;
}

/* A grant body for recipient kind/id with categories, at the current version. */
static char *grant_body(const char *recipient, const char *cats)
{
    char *h = current_hash(), *ev = consent_evidence(h);
    char *b = str_printf("{\"purpose\":{\"code\":\"" CODE "\",\"version\":%lld},\"recipient\":%s,"
                         "\"categories\":%s,\"actions\":[\"read\"],\"evidence\":%s}",
                         (long long)current_version(), recipient, cats, ev);
    free(h);
    free(ev);
    return b;
}

/* Does 太郎's access log hold, among its newest entries, this action on the consent id? */
static int logged(const char *action, const char *consent_id, const char *decided_by)
{
    struct resp r = call("GET", "/api/v1/me/access-log?limit=20", F->t_taro, NULL);
    assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    int found = 0;
    for (size_t i = 0; !found && i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i), *what = json_object_get(it, "what");
        const char *rid = json_str(what, "resourceId");
        found = json_str(what, "action") != NULL && strcmp(json_str(what, "action"), action) == 0 &&
                rid != NULL && strcmp(rid, consent_id) == 0 &&
                strcmp(json_str(json_object_get(it, "why"), "decidedBy"), decided_by) == 0;
    }
    if (!found)
        fprintf(stderr, "access log: %s\n", r.body);
    resp_free(&r);
    return found;
}

static int group_setup(void **state)
{
    (void)state;
    F = calloc(1, sizeof *F);
    F->dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=10 --seed=1 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), F->dir);
    char *out = run_command(cmd);
    /* the city's portal manages consents; the sample app (a third party) may only read them */
    demo_client_id(out, "city portal", F->app, sizeof F->app);
    demo_client_id(out, "sample app", F->sample_app, sizeof F->sample_app);
    free(out);
    free(cmd);
    F->s = server_start_with(&(struct server_config){.data_dir = F->dir});
    F->t_taro = token(TARO_EMAIL, TARO_PASS, "self");
    F->t_hanako_self = token(HANAKO_EMAIL, HANAKO_PASS, "self");
    F->t_misaki_for_taro = token(MISAKI_EMAIL, MISAKI_PASS, "for:");
    struct resp r = call("GET", ME, F->t_taro, NULL);
    assert_status(&r, 200);
    snprintf(F->taro, sizeof F->taro, "%s", json_str(r.json, "subject"));
    resp_free(&r);
    r = call("GET", ME, F->t_hanako_self, NULL);
    assert_status(&r, 200);
    snprintf(F->hanako, sizeof F->hanako, "%s", json_str(r.json, "subject"));
    resp_free(&r);
    /* 太郎's wife may manage his consents (the administration adds the link) */
    char *path = str_printf("/api/v1/admin/people/%s/links", F->taro);
    char *body = str_printf("{\"delegate_id\":\"%s\",\"rights\":[\"manage_consents\"]}", F->hanako);
    r = api(F->s, "POST", path, LIST(AUTH_HEADER, JSON_HEADER), body, strlen(body));
    assert_status(&r, 201);
    resp_free(&r);
    free(path);
    free(body);
    F->t_hanako_for_taro = token(HANAKO_EMAIL, HANAKO_PASS, "for:");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_free(F->s);
    remove_tree(F->dir);
    free(F->dir);
    free(F->t_taro);
    free(F->t_hanako_self);
    free(F->t_hanako_for_taro);
    free(F->t_misaki_for_taro);
    free(F);
    return 0;
}

/* ---- purposes ---- */

static void the_city_publishes_a_purpose(void **state)
{
    (void)state;
    struct resp r = call("GET", PURPOSES, NULL, NULL);
    assert_status(&r, 200);
    size_t n = 9;
    assert_null(this_purpose(&r, &n));
    assert_int_equal(n, 0);
    /* the demo town's own purposes are there, and stay as they are */
    size_t demo = json_array_size(json_object_get(r.json, "purposes"));
    assert_int_equal(demo, 2);
    resp_free(&r);
    char *b = purpose_body("[\"vitals\",\"checkups\"]", "[]");
    /* refusals first: nothing is published */
    r = call("POST", ADMIN_PURPOSES, NULL, b);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    r = call("POST", ADMIN_PURPOSES, F->t_taro, b);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    const char *bad[] = {
        "{",
        "[]",
        "{\"code\":\"" CODE "\"}",
        "{\"code\":\"Cardio!\",\"title\":{\"ja\":\"a\",\"en\":\"b\"},\"explanation\":{\"ja\":\"a\","
        "\"en\":\"b\"},\"categories\":[\"vitals\"],\"recipients\":[],\"legal_basis\":\"consent\","
        "\"retention_days\":1}",
        "{\"code\":\"x\",\"title\":{\"ja\":\"a\",\"en\":\"b\",\"fr\":\"c\"},\"explanation\":{"
        "\"ja\":"
        "\"a\",\"en\":\"b\"},\"categories\":[\"vitals\"],\"recipients\":[],\"legal_basis\":"
        "\"consent\",\"retention_days\":1}",
        "{\"code\":\"x\",\"title\":{\"ja\":\"a\",\"en\":\"b\"},\"explanation\":{\"ja\":\"a\","
        "\"en\":\"b\"},\"categories\":[\"dna\"],\"recipients\":[],\"legal_basis\":\"consent\","
        "\"retention_days\":1}",
        "{\"code\":\"x\",\"title\":{\"ja\":\"a\",\"en\":\"b\"},\"explanation\":{\"ja\":\"a\","
        "\"en\":\"b\"},\"categories\":[\"vitals\"],\"recipients\":[\"nope\"],\"legal_basis\":"
        "\"consent\",\"retention_days\":1}",
        "{\"code\":\"x\",\"title\":{\"ja\":\"a\",\"en\":\"b\"},\"explanation\":{\"ja\":\"a\","
        "\"en\":\"b\"},\"categories\":[\"vitals\"],\"recipients\":[],\"legal_basis\":\"whim\","
        "\"retention_days\":1}",
        "{\"code\":\"x\",\"title\":{\"ja\":\"a\",\"en\":\"b\"},\"explanation\":{\"ja\":\"a\","
        "\"en\":\"b\"},\"categories\":[\"vitals\"],\"recipients\":[],\"legal_basis\":\"consent\","
        "\"retention_days\":\"1\"}",
        "{\"code\":\"x\",\"title\":{\"ja\":\"a\",\"en\":\"b\"},\"explanation\":{\"ja\":\"a\","
        "\"en\":\"b\"},\"categories\":[\"vitals\"],\"recipients\":[\"00000000000000000000000000\"],"
        "\"legal_basis\":\"consent\",\"retention_days\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = api(F->s, "POST", ADMIN_PURPOSES, LIST(AUTH_HEADER, JSON_HEADER), bad[i],
                strlen(bad[i]));
        if (i == 0)
            assert_problem(&r, 400, "malformed-json");
        else
            assert_problem(&r, 422, "validation-failed");
        resp_free(&r);
    }
    r = api(F->s, "POST", ADMIN_PURPOSES, LIST(AUTH_HEADER), b, strlen(b));
    assert_problem(&r, 415, "unsupported-media-type");
    resp_free(&r);
    r = call("GET", PURPOSES "?history=true", NULL, NULL);
    assert_null(this_purpose(&r, &n));
    assert_int_equal(json_array_size(json_object_get(r.json, "purposes")), demo);
    resp_free(&r);
    /* the operator publishes version 1 */
    r = api(F->s, "POST", ADMIN_PURPOSES, LIST(AUTH_HEADER, JSON_HEADER), b, strlen(b));
    assert_status(&r, 201);
    assert_int_equal(json_integer_value(json_object_get(r.json, "version")), 1);
    assert_string_equal(json_str(r.json, "change"), "first");
    assert_int_equal(strlen(json_str(r.json, "explanation_hash")), 64);
    resp_free(&r);
    r = call("GET", PURPOSES, NULL, NULL);
    json_t *p = this_purpose(&r, &n);
    assert_int_equal(n, 1);
    assert_string_equal(json_str(json_object_get(p, "title"), "ja"), "循環器病予防");
    assert_string_equal(json_str(p, "legal_basis"), "consent");
    assert_int_equal(json_array_size(json_object_get(r.json, "purposes")), demo + 1);
    resp_free(&r);
    r = call("GET", PURPOSES "?bogus=1", NULL, NULL);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    free(b);
}

/* ---- grants and refusals ---- */

static void a_citizen_grants_reads_narrows_and_withdraws(void **state)
{
    (void)state;
    size_t before = consent_count(F->t_taro, NULL);
    char *b = grant_body("{\"kind\":\"purpose\"}", "[\"vitals\",\"checkups\"]");
    struct resp r = call("POST", ME, F->t_taro, b);
    assert_status(&r, 201);
    char *id = strdup(json_str(r.json, "id"));
    char *loc = str_printf(ME "/%s", id);
    assert_header(&r, "Location", loc);
    assert_string_equal(json_str(r.json, "status"), "active");
    assert_string_equal(json_str(r.json, "granted_by"), F->taro);
    assert_string_equal(json_str(json_object_get(r.json, "evidence"), "channel"), "portal");
    resp_free(&r);
    free(b);
    assert_int_equal(consent_count(F->t_taro, NULL), before + 1);
    assert_true(logged("create", id, "rule:self"));
    r = call("GET", loc, F->t_taro, NULL);
    assert_status(&r, 200);
    /* reading one's own consent is an access too: on the trail before the answer came */
    assert_true(logged("read", id, "rule:self"));
    assert_string_equal(json_str(r.json, "id"), id);
    resp_free(&r);

    /* narrowing: only narrower */
    char *h = current_hash(), *ev = consent_evidence(h);
    char *nb = str_printf("{\"categories\":[\"vitals\"],\"evidence\":%s}", ev);
    r = call("PATCH", loc, F->t_taro, nb);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "categories")), 1);
    resp_free(&r);
    assert_true(logged("update", id, "rule:self"));
    char *wb = str_printf("{\"categories\":[\"vitals\",\"checkups\"],\"evidence\":%s}", ev);
    r = call("PATCH", loc, F->t_taro, wb);
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    char *only = str_printf("{\"evidence\":%s}", ev);
    r = call("PATCH", loc, F->t_taro, only);
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);

    /* someone else's consent is not found */
    r = call("GET", loc, F->t_hanako_self, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = call("PATCH", loc, F->t_hanako_self, nb);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = call("DELETE", loc, F->t_hanako_self, only);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = call("GET", ME "/not-an-id", F->t_taro, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);

    /* withdrawal, with the same evidence; twice is a conflict */
    r = call("DELETE", loc, F->t_taro, only);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "withdrawn");
    assert_string_equal(json_str(json_object_get(r.json, "withdrawal"), "by"), F->taro);
    resp_free(&r);
    assert_true(logged("delete", id, "rule:self"));
    char *wpath = str_printf("%s/withdraw", loc);
    r = call("POST", wpath, F->t_taro, only);
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    free(wpath);
    free(wb);
    free(only);
    free(nb);
    free(ev);
    free(h);
    free(loc);
    free(id);
}

/* ---- receipts ---- */

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

/* Verifies jws with the key of the server's JWKS named by its header's kid: 1 good, 0 bad.
 * *payload (when not NULL) gets its payload as JSON. */
static int jws_verifies(const char *jws, json_t *jwks, json_t **payload)
{
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
    json_t *keys = json_object_get(jwks, "keys");
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
    return ok;
}

static void receipts_are_signed_and_listed(void **state)
{
    (void)state;
    assert_int_not_equal(sodium_init(), -1);
    char *b = grant_body("{\"kind\":\"purpose\"}", "[\"vitals\",\"checkups\"]");
    struct resp r = call("POST", ME, F->t_taro, b);
    assert_status(&r, 201);
    char *id = strdup(json_str(r.json, "id"));
    resp_free(&r);
    free(b);
    char *loc = str_printf(ME "/%s", id), *rpath = str_printf(ME "/%s/receipts", id);
    r = call("GET", rpath, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "receipts")), 1);
    resp_free(&r);
    /* the narrowing and the withdrawal have one each */
    char *h = current_hash(), *ev = consent_evidence(h);
    char *nb = str_printf("{\"categories\":[\"vitals\"],\"evidence\":%s}", ev);
    r = call("PATCH", loc, F->t_taro, nb);
    assert_status(&r, 200);
    resp_free(&r);
    char *only = str_printf("{\"evidence\":%s}", ev);
    r = call("DELETE", loc, F->t_taro, only);
    assert_status(&r, 200);
    resp_free(&r);

    struct resp jwks = call("GET", "/.well-known/jwks.json", NULL, NULL);
    assert_status(&jwks, 200);
    r = call("GET", rpath, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "consent"), id);
    json_t *list = json_object_get(r.json, "receipts");
    assert_int_equal(json_array_size(list), 3);
    static const char *const actions[] = {"grant", "narrow", "withdraw"};
    static const size_t ncats[] = {2, 1, 1};
    for (size_t i = 0; i < 3; i++) {
        json_t *rc = json_array_get(list, i), *payload = NULL;
        assert_string_equal(json_str(rc, "action"), actions[i]);
        assert_non_null(json_str(rc, "created_at"));
        const char *jws = json_str(rc, "jws");
        assert_true(jws_verifies(jws, jwks.json, &payload));
        assert_string_equal(json_str(payload, "action"), actions[i]);
        assert_string_equal(json_str(payload, "consentReceiptID"), json_str(rc, "id"));
        assert_string_equal(json_str(payload, "jti"), json_str(rc, "id"));
        assert_string_equal(json_str(payload, "consentId"), id);
        assert_string_equal(json_str(payload, "piiPrincipalId"), F->taro);
        assert_string_equal(json_str(payload, "version"), "KI-CR-v1.1.0");
        assert_string_equal(json_str(payload, "collectionMethod"), "portal");
        json_t *ctl = json_array_get(json_object_get(payload, "piiControllers"), 0);
        assert_string_equal(json_str(ctl, "piiController"), "会津若松市 / Aizuwakamatsu City");
        const char *policy = json_str(payload, "policyUrl");
        assert_non_null(policy);
        assert_non_null(strstr(policy, "/api/v1/purposes"));
        json_t *purpose = json_array_get(
            json_object_get(json_array_get(json_object_get(payload, "services"), 0), "purposes"),
            0);
        /* the grant's categories; the narrowing's scope after it; the withdrawal names what
         * was withdrawn (after narrowing) */
        assert_int_equal(json_array_size(json_object_get(purpose, "piiCategory")), ncats[i]);
        assert_non_null(
            strstr(json_str(purpose, "termination"), id)); /* how to withdraw this one */
        assert_string_equal(json_str(json_object_get(payload, "explanation"), "hash"), h);
        /* one changed byte of the payload and the signature no longer verifies */
        char *bad = strdup(jws);
        char *p = strchr(bad, '.') + 5;
        *p = *p == 'A' ? 'B' : 'A';
        assert_false(jws_verifies(bad, jwks.json, NULL));
        free(bad);
        json_decref(payload);
    }
    assert_string_not_equal(json_str(json_array_get(list, 0), "id"),
                            json_str(json_array_get(list, 1), "id"));
    assert_string_not_equal(json_str(json_array_get(list, 1), "id"),
                            json_str(json_array_get(list, 2), "id"));
    resp_free(&r);
    resp_free(&jwks);

    /* his wife with manage_consents sees them; someone else's consent is not found; a delegate
     * without the right is refused; no token, no receipts */
    r = call("GET", rpath, F->t_hanako_for_taro, NULL);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "receipts")), 3);
    resp_free(&r);
    r = call("GET", rpath, F->t_hanako_self, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = call("GET", rpath, F->t_misaki_for_taro, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = call("GET", rpath, NULL, NULL);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    r = call("GET", ME "/not-an-id/receipts", F->t_taro, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(only);
    free(nb);
    free(ev);
    free(h);
    free(rpath);
    free(loc);
    free(id);
}

/* ---- FHIR R4 Consent ---- */

static void assert_outcome(struct resp *r, long status, const char *code)
{
    assert_int_equal(r->status, status);
    assert_non_null(strstr(resp_header(r, "Content-Type"), "application/fhir+json"));
    assert_string_equal(json_str(r->json, "resourceType"), "OperationOutcome");
    assert_string_equal(json_str(json_array_get(json_object_get(r->json, "issue"), 0), "code"),
                        code);
}

/* Does 太郎's access log hold, among its newest entries, a search of Consent decided so? */
static int searched(const char *decision)
{
    struct resp r = call("GET", "/api/v1/me/access-log?limit=20", F->t_taro, NULL);
    assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    int found = 0;
    for (size_t i = 0; !found && i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i), *what = json_object_get(it, "what");
        const char *d = json_str(it, "decision");
        found = json_str(what, "action") != NULL &&
                strcmp(json_str(what, "action"), "search") == 0 &&
                strcmp(json_str(what, "resourceType"), "Consent") == 0 && d != NULL &&
                strcmp(d, decision) == 0;
    }
    if (!found)
        fprintf(stderr, "access log: %s\n", r.body);
    resp_free(&r);
    return found;
}

static void consents_as_fhir_resources(void **state)
{
    (void)state;
    char *b = grant_body("{\"kind\":\"purpose\"}", "[\"vitals\"]");
    struct resp r = call("POST", ME, F->t_taro, b);
    assert_status(&r, 201);
    char *id = strdup(json_str(r.json, "id"));
    resp_free(&r);
    free(b);
    char *path = str_printf("/fhir/Consent/%s", id);
    char *patient = str_printf("Patient/%s", F->taro);
    r = call("GET", path, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_non_null(strstr(resp_header(&r, "Content-Type"), "application/fhir+json"));
    assert_string_equal(json_str(r.json, "resourceType"), "Consent");
    assert_string_equal(json_str(r.json, "id"), id);
    assert_string_equal(json_str(r.json, "status"), "active");
    assert_string_equal(json_str(json_object_get(r.json, "patient"), "reference"), patient);
    json_t *prov = json_object_get(r.json, "provision");
    assert_string_equal(json_str(prov, "type"), "permit");
    assert_string_equal(json_str(json_array_get(json_object_get(prov, "class"), 0), "code"),
                        "vitals");
    resp_free(&r);
    assert_true(logged("read", id, "rule:self"));
    /* his wife, acting for him with manage_consents */
    r = call("GET", path, F->t_hanako_for_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "id"), id);
    resp_free(&r);
    assert_true(logged("read", id, "rule:delegate"));

    char *search = str_printf("/fhir/Consent?patient=%s", patient);
    r = call("GET", search, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "resourceType"), "Bundle");
    assert_string_equal(json_str(r.json, "type"), "searchset");
    json_t *entries = json_object_get(r.json, "entry");
    assert_int_equal(json_integer_value(json_object_get(r.json, "total")),
                     json_array_size(entries));
    assert_int_equal(json_array_size(entries), consent_count(F->t_taro, NULL));
    int seen = 0;
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *res = json_object_get(json_array_get(entries, i), "resource");
        assert_string_equal(json_str(res, "resourceType"), "Consent");
        seen |= strcmp(json_str(res, "id"), id) == 0;
    }
    assert_true(seen);
    resp_free(&r);
    assert_true(searched("permit"));

    /* someone else's consent is not found; their search is refused (and recorded) */
    r = call("GET", path, F->t_hanako_self, NULL);
    assert_outcome(&r, 404, "not-found");
    resp_free(&r);
    r = call("GET", search, F->t_hanako_self, NULL);
    assert_outcome(&r, 403, "forbidden");
    resp_free(&r);
    assert_true(searched("deny"));
    r = call("GET", path, F->t_misaki_for_taro, NULL);
    assert_outcome(&r, 403, "forbidden");
    resp_free(&r);
    /* a token without a Consent scope */
    char *narrow = token_for(TARO_EMAIL, TARO_PASS, "self",
                             "openid launch/patient "
                             "patient/Observation.rs");
    r = call("GET", path, narrow, NULL);
    assert_outcome(&r, 403, "forbidden");
    assert_non_null(strstr(resp_header(&r, "WWW-Authenticate"), "insufficient_scope"));
    resp_free(&r);
    free(narrow);
    r = call("GET", path, NULL, NULL);
    assert_outcome(&r, 401, "login");
    resp_free(&r);
    r = call("GET", "/fhir/Consent/not-an-id", F->t_taro, NULL);
    assert_outcome(&r, 404, "not-found");
    resp_free(&r);
    r = call("GET", "/fhir/Consent", F->t_taro, NULL);
    assert_outcome(&r, 400, "required");
    resp_free(&r);
    r = call("GET", "/fhir/Consent?patient=Patient/nope", F->t_taro, NULL);
    assert_outcome(&r, 400, "value");
    resp_free(&r);
    char *extra = str_printf("%s&status=active", search);
    r = call("GET", extra, F->t_taro, NULL);
    assert_outcome(&r, 400, "not-supported");
    resp_free(&r);
    /* after the withdrawal: inactive */
    char *h = current_hash(), *ev = consent_evidence(h),
         *only = str_printf("{\"evidence\":%s}", ev);
    char *loc = str_printf(ME "/%s", id);
    r = call("DELETE", loc, F->t_taro, only);
    assert_status(&r, 200);
    resp_free(&r);
    r = call("GET", path, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "inactive");
    resp_free(&r);
    free(loc);
    free(only);
    free(ev);
    free(h);
    free(extra);
    free(search);
    free(patient);
    free(path);
    free(id);
}

static void bad_grants_are_refused_and_store_nothing(void **state)
{
    (void)state;
    size_t before = consent_count(F->t_taro, NULL);
    char *h = current_hash(), *ev = consent_evidence(h);
    char *zero_ev =
        consent_evidence("0000000000000000000000000000000000000000000000000000000000000000");
    char *old_ev = str_printf("{\"explanation_hash\":\"%s\",\"shown_at\":\"2020-01-01T00:00:00Z\","
                              "\"agreed_at\":\"2020-01-01T00:01:00Z\",\"channel\":\"portal\"}",
                              h);
    char *long_code = malloc(200);
    memset(long_code, 'a', 199);
    long_code[199] = '\0';
    struct {
        const char *body;
        long status;
        const char *slug;
    } cases[] = {
        {"{", 400, "malformed-json"},
        {"[1]", 422, "validation-failed"},
        {str_printf("{\"purpose\":{\"code\":\"" CODE "\",\"version\":1},\"recipient\":{\"kind\":"
                    "\"purpose\"},\"categories\":[\"vitals\"],\"actions\":[\"read\"],"
                    "\"evidence\":%s,\"extra\":1}",
                    ev),
         422, "validation-failed"},
        {str_printf("{\"purpose\":{\"code\":\"" CODE
                    "\",\"version\":\"1\"},\"recipient\":{\"kind\":"
                    "\"purpose\"},\"categories\":[\"vitals\"],\"actions\":[\"read\"],"
                    "\"evidence\":%s}",
                    ev),
         422, "validation-failed"},
        {str_printf("{\"purpose\":{\"code\":\"%s\",\"version\":1},\"recipient\":{\"kind\":"
                    "\"purpose\"},\"categories\":[\"vitals\"],\"actions\":[\"read\"],"
                    "\"evidence\":%s}",
                    long_code, ev),
         422, "validation-failed"},
        {str_printf("{\"purpose\":{\"code\":\"" CODE "\",\"version\":1},\"recipient\":{\"kind\":"
                    "\"purpose\"},\"categories\":[\"genome\"],\"actions\":[\"read\"],"
                    "\"evidence\":%s}",
                    ev),
         422, "validation-failed"},
        {str_printf("{\"purpose\":{\"code\":\"" CODE "\",\"version\":1},\"recipient\":{\"kind\":"
                    "\"purpose\"},\"categories\":[\"vitals\",\"vitals\"],\"actions\":[\"read\"],"
                    "\"evidence\":%s}",
                    ev),
         422, "validation-failed"},
        {str_printf("{\"purpose\":{\"code\":\"" CODE "\",\"version\":1},\"recipient\":{\"kind\":"
                    "\"purpose\"},\"categories\":[\"vitals\"],\"actions\":[\"erase\"],"
                    "\"evidence\":%s}",
                    ev),
         422, "validation-failed"},
        {str_printf("{\"purpose\":{\"code\":\"" CODE "\",\"version\":1},\"recipient\":{\"kind\":"
                    "\"purpose\"},\"categories\":[\"vitals\"],\"actions\":[\"read\"],"
                    "\"evidence\":%s}",
                    zero_ev),
         422, "validation-failed"},
        {str_printf("{\"purpose\":{\"code\":\"" CODE "\",\"version\":1},\"recipient\":{\"kind\":"
                    "\"purpose\"},\"categories\":[\"vitals\"],\"actions\":[\"read\"],"
                    "\"evidence\":%s}",
                    old_ev),
         422, "validation-failed"},
        {str_printf("{\"purpose\":{\"code\":\"" CODE "\",\"version\":1},\"recipient\":{\"kind\":"
                    "\"organisation\",\"id\":\"00000000000000000000000000\"},\"categories\":"
                    "[\"vitals\"],\"actions\":[\"read\"],\"evidence\":%s}",
                    ev),
         422, "validation-failed"},
        {str_printf("{\"purpose\":{\"code\":\"" CODE "\",\"version\":1},\"recipient\":{\"kind\":"
                    "\"person\",\"id\":\"%s\"},\"categories\":[\"vitals\"],\"actions\":[\"read\"],"
                    "\"evidence\":%s}",
                    F->taro, ev),
         422, "validation-failed"},
        {str_printf("{\"purpose\":{\"code\":\"" CODE "\",\"version\":9},\"recipient\":{\"kind\":"
                    "\"purpose\"},\"categories\":[\"vitals\"],\"actions\":[\"read\"],"
                    "\"evidence\":%s}",
                    ev),
         422, "validation-failed"},
        {str_printf("{\"purpose\":{\"code\":\"" CODE "\",\"version\":1},\"recipient\":{\"kind\":"
                    "\"purpose\"},\"categories\":[\"vitals\"],\"actions\":[\"read\"],"
                    "\"period\":{\"end\":\"2001-01-01T00:00:00Z\"},\"evidence\":%s}",
                    ev),
         422, "validation-failed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp r = call("POST", ME, F->t_taro, cases[i].body);
        if (r.status != cases[i].status)
            fprintf(stderr, "case %zu: %s\n", i, r.body);
        assert_problem(&r, cases[i].status, cases[i].slug);
        resp_free(&r);
        if (i >= 2)
            free((char *)cases[i].body);
    }
    char *good = grant_body("{\"kind\":\"purpose\"}", "[\"vitals\"]");
    struct resp r = api(F->s, "POST", ME, LIST("Authorization: Bearer x"), good, strlen(good));
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    r = api(F->s, "POST", ME, LIST(AUTH_HEADER, JSON_HEADER), good, strlen(good));
    assert_problem(&r, 403, "forbidden"); /* the operator has no personal data */
    resp_free(&r);
    char *auth = str_printf("Authorization: Bearer %s", F->t_taro);
    r = api(F->s, "POST", ME, LIST(auth), good, strlen(good));
    assert_problem(&r, 415, "unsupported-media-type");
    resp_free(&r);
    r = call("GET", ME "?subject=bad", F->t_taro, NULL);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    r = call("GET", ME "?limit=1", F->t_taro, NULL);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    assert_int_equal(consent_count(F->t_taro, NULL), before);
    free(auth);
    free(good);
    free(long_code);
    free(old_ev);
    free(zero_ev);
    free(ev);
    free(h);
}

/* ---- delegates ---- */

/* An app the citizen signed in to for their record reads their consents but changes none: that
 * needs patient/Consent.c (grant) or .u (narrow, withdraw, accept), which the sample app was
 * never registered for; nothing is stored. */
static void an_app_needs_a_consent_scope_to_change_consents(void **state)
{
    (void)state;
    char *sample =
        oidc_token(F->s, F->sample_app, APP_REDIRECT, TARO_EMAIL, TARO_PASS, "self", SAMPLE_SCOPE);
    size_t before = consent_count(F->t_taro, NULL);
    struct resp r = call("GET", ME, sample, NULL);
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, "consents"), *active = NULL;
    for (size_t i = 0; active == NULL && i < json_array_size(list); i++)
        if (strcmp(json_str(json_array_get(list, i), "status"), "active") == 0)
            active = json_array_get(list, i);
    assert_non_null(active);
    char *id = strdup(json_str(active, "id"));
    resp_free(&r);
    char *b = grant_body("{\"kind\":\"purpose\"}", "[\"vitals\"]");
    r = call("POST", ME, sample, b);
    assert_problem(&r, 403, "forbidden");
    assert_non_null(strstr(resp_header(&r, "WWW-Authenticate"), "insufficient_scope"));
    assert_non_null(strstr(resp_header(&r, "WWW-Authenticate"), "patient/Consent.c"));
    resp_free(&r);
    char *path = str_printf(ME "/%s", id);
    r = call("PATCH", path, sample, "{\"categories\":[\"vitals\"]}");
    assert_problem(&r, 403, "forbidden");
    assert_non_null(strstr(resp_header(&r, "WWW-Authenticate"), "patient/Consent.u"));
    resp_free(&r);
    r = call("DELETE", path, sample, "{}");
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_int_equal(consent_count(F->t_taro, NULL), before);
    r = call("GET", path, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "active");
    resp_free(&r);
    /* a token of the portal without the consent scope is refused the same way */
    char *narrow = token_for(TARO_EMAIL, TARO_PASS, "self", SAMPLE_SCOPE);
    r = call("POST", ME, narrow, b);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    free(narrow);
    free(path);
    free(b);
    free(id);
    free(sample);
}

static void a_delegate_needs_manage_consents(void **state)
{
    (void)state;
    size_t before = consent_count(F->t_taro, NULL);
    /* the daughter sees alerts and books appointments: no consents */
    struct resp r = call("GET", ME, F->t_misaki_for_taro, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    char *b = grant_body("{\"kind\":\"purpose\"}", "[\"vitals\"]");
    r = call("POST", ME, F->t_misaki_for_taro, b);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    /* hanako, acting for herself, names 太郎 as the subject: refused without a link to... she
     * has one (manage_consents), so it works; a stranger's subject is refused */
    char *q = str_printf(ME "?subject=%s", F->taro);
    r = call("GET", q, F->t_hanako_self, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    r = call("GET", ME "?subject=00000000000000000000000000", F->t_hanako_self, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    /* her delegate token: grants for him, recorded as a delegate's act */
    r = call("POST", ME, F->t_hanako_for_taro, b);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "subject"), F->taro);
    assert_string_equal(json_str(r.json, "granted_by"), F->hanako);
    char *id = strdup(json_str(r.json, "id"));
    resp_free(&r);
    assert_true(logged("create", id, "rule:delegate"));
    assert_int_equal(consent_count(F->t_taro, NULL), before + 1);
    /* her token acts for 太郎 only */
    char *other = str_printf(ME "?subject=%s", F->hanako);
    r = call("GET", other, F->t_hanako_for_taro, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    free(other);
    free(id);
    free(q);
    free(b);
}

/* ---- re-consent ---- */

static void a_widening_version_asks_for_re_consent(void **state)
{
    (void)state;
    char *b = grant_body("{\"kind\":\"purpose\"}", "[\"vitals\"]");
    struct resp r = call("POST", ME, F->t_taro, b);
    assert_status(&r, 201);
    char *id = strdup(json_str(r.json, "id"));
    resp_free(&r);
    free(b);
    /* version 2 adds lab_results */
    char *pb = purpose_body("[\"vitals\",\"checkups\",\"lab_results\"]", "[]");
    r = api(F->s, "POST", ADMIN_PURPOSES, LIST(AUTH_HEADER, JSON_HEADER), pb, strlen(pb));
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "change"), "widening");
    resp_free(&r);
    free(pb);
    r = call("GET", "/api/v1/me/inbox", F->t_taro, NULL);
    assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    const char *item = NULL;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        if (strcmp(json_str(it, "kind"), "reconsent") == 0 && json_str(it, "consent_id") != NULL &&
            strcmp(json_str(it, "consent_id"), id) == 0)
            item = json_str(it, "id");
    }
    assert_non_null(item);
    char *accept = str_printf("/api/v1/me/inbox/%s/accept", item);
    resp_free(&r);
    /* accepting with the old text's hash is refused */
    char *old =
        consent_evidence("0000000000000000000000000000000000000000000000000000000000000000");
    char *ab = str_printf("{\"evidence\":%s}", old);
    r = call("POST", accept, F->t_taro, ab);
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    r = call("POST", accept, F->t_hanako_self, ab); /* not her item */
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(ab);
    char *h = current_hash(), *ev = consent_evidence(h);
    ab = str_printf("{\"categories\":[\"vitals\",\"lab_results\"],\"evidence\":%s}", ev);
    r = call("POST", accept, F->t_taro, ab);
    assert_status(&r, 200);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r.json, "purpose"), "version")), 2);
    assert_int_equal(json_array_size(json_object_get(r.json, "categories")), 2);
    resp_free(&r);
    r = call("POST", accept, F->t_taro, ab);
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    assert_true(logged("update", id, "rule:self"));
    free(ab);
    free(ev);
    free(h);
    free(old);
    free(accept);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_city_publishes_a_purpose),
        cmocka_unit_test(a_citizen_grants_reads_narrows_and_withdraws),
        cmocka_unit_test(receipts_are_signed_and_listed),
        cmocka_unit_test(consents_as_fhir_resources),
        cmocka_unit_test(bad_grants_are_refused_and_store_nothing),
        cmocka_unit_test(an_app_needs_a_consent_scope_to_change_consents),
        cmocka_unit_test(a_delegate_needs_manage_consents),
        cmocka_unit_test(a_widening_version_asks_for_re_consent),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
