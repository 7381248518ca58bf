/* test_oauth.c - the OAuth endpoints as a specification: client credentials -> token -> the
 * principal at /api/v1/me/token -> introspection -> revocation, and every refusal with its
 * RFC 6749 / 6750 / 7009 / 7662 answer, storing nothing. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORM_HEADER "Content-Type: application/x-www-form-urlencoded"

struct client {
    char id[64];
    char secret[64];
};

/* The clients every test uses, registered with the CLI in the server's data folder. */
struct fixture {
    struct server *s;
    struct client svc;    /* confidential, client_credentials, two scopes */
    struct client other;  /* confidential, client_credentials, another client */
    struct client web;    /* confidential, authorization_code only */
    struct client public; /* public, authorization_code */
};

/* Runs `cityos client add` with args on s's data folder; fills c from its stdout. */
static void add_client(struct server *s, const char *args, struct client *c)
{
    char *cmd = str_printf("'%s' client add --data-dir='%s' %s 2>/dev/null", getenv("CITYOS_BIN"),
                           server_data_dir(s), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256];
    memset(c, 0, sizeof *c);
    while (fgets(line, sizeof line, p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "client_id=", 10) == 0)
            snprintf(c->id, sizeof c->id, "%.*s", (int)sizeof c->id - 1, line + 10);
        else if (strncmp(line, "client_secret=", 14) == 0)
            snprintf(c->secret, sizeof c->secret, "%.*s", (int)sizeof c->secret - 1, line + 14);
    }
    assert_int_equal(pclose(p), 0);
    assert_true(strlen(c->id) == 26);
    free(cmd);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->s = server_start(NULL);
    add_client(f->s,
               "--name=Service --kind=confidential --grant-types=client_credentials "
               "--scopes='system/Observation.rs system/Patient.r cityos.notices.write'",
               &f->svc);
    add_client(f->s,
               "--name=Other --kind=confidential --grant-types=client_credentials "
               "--scopes='system/Observation.rs cityos.introspect'",
               &f->other);
    add_client(f->s,
               "--name=Web --kind=confidential --grant-types=authorization_code "
               "--redirect-uri=https://web.example/cb --scopes='patient/Observation.rs'",
               &f->web);
    add_client(f->s,
               "--name=App --kind=public --grant-types=authorization_code "
               "--redirect-uri=https://app.example/cb --scopes='patient/Observation.rs'",
               &f->public);
    assert_true(strlen(f->svc.secret) == 43 && strlen(f->public.secret) == 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    server_free(f->s);
    free(f);
    return 0;
}

/* POST path with a form body and, when auth is not NULL, that Authorization header line. */
static struct resp form_post(struct server *s, const char *path, const char *auth, const char *body)
{
    return api(s, "POST", path, auth ? LIST(FORM_HEADER, auth) : LIST(FORM_HEADER), body,
               strlen(body));
}

static struct resp token_basic(struct server *s, const struct client *c, const char *body)
{
    char *auth = basic_auth_header(c->id, c->secret);
    struct resp r = form_post(s, "/oauth/token", auth, body);
    free(auth);
    return r;
}

/* Durable writes the server made so far (ok and failed). */
static double writes(struct server *s)
{
    struct resp r = api_get(s, "/metrics");
    assert_status(&r, 200);
    double ok = metric_value(r.body, "cityos_store_writes_total{outcome=\"ok\"}");
    double failed = metric_value(r.body, "cityos_store_writes_total{outcome=\"failed\"}");
    resp_free(&r);
    return ok + failed;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* An RFC 6749 5.2 error: status, JSON {error, error_description}, no-store; and nothing was
 * written. A 401 challenges with Basic. */
#define assert_oauth_error(s, r, st, code, before)                                                 \
    assert_oauth_error_at((s), (r), (st), (code), (before), __LINE__)
static void assert_oauth_error_at(struct server *s, struct resp *r, long status, const char *code,
                                  double before, int line)
{
    if (r->status != status || r->json == NULL || str(r->json, "error") == NULL ||
        strcmp(str(r->json, "error"), code) != 0) {
        fprintf(stderr, "line %d: got %ld %s\n", line, r->status, r->body);
        fail();
    }
    assert_header(r, "Content-Type", "application/json");
    assert_header(r, "Cache-Control", "no-store");
    assert_header(r, "Pragma", "no-cache");
    const char *desc = str(r->json, "error_description");
    assert_non_null(desc);
    for (const char *p = desc; *p; p++) /* RFC 6749 5.2: %x20-21 / %x23-5B / %x5D-7E */
        assert_true(*p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\\');
    assert_int_equal(json_object_size(r->json), 2);
    if (status == 401)
        assert_header(r, "WWW-Authenticate", "Basic realm=\"cityos\"");
    else
        assert_null(resp_header(r, "WWW-Authenticate"));
    assert_true(writes(s) == before);
    resp_free(r);
}

/* A token for c (asserting 200); caller frees. */
static char *get_token(struct server *s, const struct client *c, const char *body)
{
    struct resp r = token_basic(s, c, body);
    assert_status(&r, 200);
    char *t = strdup(str(r.json, "access_token"));
    resp_free(&r);
    return t;
}

static struct resp me(struct server *s, const char *auth_line)
{
    return api(s, "GET", "/api/v1/me/token", auth_line ? LIST(auth_line) : NULL, NULL, 0);
}

/* client credentials -> token -> /api/v1/me/token -> introspect active -> revoke -> introspect
 * inactive -> /api/v1/me/token 401 invalid_token */
static void the_whole_client_credentials_flow(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->s;
    double w0 = writes(s);
    struct resp r = token_basic(s, &f->svc, "grant_type=client_credentials");
    assert_status(&r, 200);
    assert_header(&r, "Content-Type", "application/json");
    assert_header(&r, "Cache-Control", "no-store");
    assert_header(&r, "Pragma", "no-cache");
    const char *token = str(r.json, "access_token");
    assert_non_null(token);
    assert_int_equal(strlen(token), 43);
    assert_string_equal(str(r.json, "token_type"), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(r.json, "expires_in")), 900);
    /* no scope asked: the client's system/ scopes, not its service scope */
    assert_string_equal(str(r.json, "scope"), "system/Observation.rs system/Patient.r");
    assert_int_equal(json_object_size(r.json), 4);
    assert_true(writes(s) == w0 + 1);
    char *bearer = str_printf("Authorization: Bearer %s", token);
    char *tok = strdup(token);
    resp_free(&r);

    r = me(s, bearer);
    assert_status(&r, 200);
    assert_header(&r, "Cache-Control", "no-store");
    assert_string_equal(str(r.json, "kind"), "client");
    assert_string_equal(str(r.json, "client_id"), f->svc.id);
    assert_string_equal(str(r.json, "scope"), "system/Observation.rs system/Patient.r");
    assert_string_equal(str(r.json, "aud"), "cityos");
    json_int_t exp = json_integer_value(json_object_get(r.json, "exp"));
    json_int_t iat = json_integer_value(json_object_get(r.json, "iat"));
    assert_true(exp - iat == 900);
    assert_null(json_object_get(r.json, "sub"));
    resp_free(&r);

    /* the introspecting caller is another confidential client, by client_secret_post */
    char *body =
        str_printf("token=%s&client_id=%s&client_secret=%s", tok, f->other.id, f->other.secret);
    r = form_post(s, "/oauth/introspect", NULL, body);
    assert_status(&r, 200);
    assert_header(&r, "Cache-Control", "no-store");
    assert_true(json_is_true(json_object_get(r.json, "active")));
    assert_string_equal(str(r.json, "scope"), "system/Observation.rs system/Patient.r");
    assert_string_equal(str(r.json, "client_id"), f->svc.id);
    assert_string_equal(str(r.json, "aud"), "cityos");
    assert_string_equal(str(r.json, "token_type"), "Bearer");
    assert_true(json_integer_value(json_object_get(r.json, "exp")) == exp);
    assert_true(json_integer_value(json_object_get(r.json, "iat")) == iat);
    assert_null(json_object_get(r.json, "sub"));
    resp_free(&r);

    char *rbody = str_printf("token=%s&token_type_hint=access_token", tok);
    char *auth = basic_auth_header(f->svc.id, f->svc.secret);
    r = form_post(s, "/oauth/revoke", auth, rbody);
    assert_status(&r, 200);
    assert_int_equal(r.len, 0);
    resp_free(&r);
    assert_true(writes(s) == w0 + 2);

    r = form_post(s, "/oauth/introspect", NULL, body);
    assert_status(&r, 200);
    assert_true(json_is_false(json_object_get(r.json, "active")));
    assert_int_equal(json_object_size(r.json), 1);
    resp_free(&r);

    r = me(s, bearer);
    assert_problem(&r, 401, "unauthorized");
    assert_non_null(strstr(resp_header(&r, "WWW-Authenticate"), "error=\"invalid_token\""));
    resp_free(&r);

    /* revoking again, or a token never issued, is still 200 and writes nothing */
    double w1 = writes(s);
    r = form_post(s, "/oauth/revoke", auth, rbody);
    assert_status(&r, 200);
    resp_free(&r);
    r = form_post(s, "/oauth/revoke", auth, "token=never-issued");
    assert_status(&r, 200);
    resp_free(&r);
    assert_true(writes(s) == w1);
    free(auth);
    free(rbody);
    free(body);
    free(bearer);
    free(tok);
}

/* client_secret_post, a narrower scope, a service scope and an RFC 8707 resource */
static void secret_post_scope_and_resource(void **state)
{
    struct fixture *f = *state;
    char *body = str_printf("grant_type=client_credentials&client_id=%s&client_secret=%s&"
                            "scope=cityos.notices.write+system%%2FObservation.r&"
                            "resource=https%%3A%%2F%%2Fcity.example%%2Ffhir",
                            f->svc.id, f->svc.secret);
    struct resp r = form_post(f->s, "/oauth/token", NULL, body);
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "scope"), "system/Observation.r cityos.notices.write");
    char *bearer = str_printf("Authorization: bearer   %s", str(r.json, "access_token"));
    resp_free(&r);
    /* the token is meant for another resource server: cityos itself refuses it (the scheme in
     * any case, several spaces), and that server learns its audience by introspection */
    r = me(f->s, bearer);
    assert_problem(&r, 401, "unauthorized");
    assert_non_null(strstr(resp_header(&r, "WWW-Authenticate"), "error=\"invalid_token\""));
    resp_free(&r);
    char *other = basic_auth_header(f->other.id, f->other.secret);
    char *intro = str_printf("token=%s", bearer + strlen("Authorization: bearer   "));
    r = form_post(f->s, "/oauth/introspect", other, intro);
    assert_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "active")));
    assert_string_equal(str(r.json, "aud"), "https://city.example/fhir");
    assert_string_equal(str(r.json, "scope"), "system/Observation.r cityos.notices.write");
    resp_free(&r);
    free(intro);
    free(other);
    free(bearer);
    free(body);

    /* the same without a resource: cityos's own audience, accepted */
    body = str_printf("grant_type=client_credentials&client_id=%s&client_secret=%s&"
                      "scope=system%%2FObservation.r",
                      f->svc.id, f->svc.secret);
    r = form_post(f->s, "/oauth/token", NULL, body);
    assert_status(&r, 200);
    bearer = str_printf("Authorization: bearer   %s", str(r.json, "access_token"));
    resp_free(&r);
    r = me(f->s, bearer);
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "aud"), "cityos");
    resp_free(&r);
    free(bearer);
    free(body);
}

/* each refusal of the token endpoint, with its RFC 6749 error code, storing nothing */
static void token_refusals(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->s;
    double w = writes(s);
    struct client unknown = {"0123456789abcdefghjkmnpqrs", "x"};
    struct client wrong = f->svc;
    wrong.secret[0] = wrong.secret[0] == 'A' ? 'B' : 'A';
    const char *cc = "grant_type=client_credentials";

    struct resp r = token_basic(s, &unknown, cc);
    assert_oauth_error(s, &r, 401, "invalid_client", w);
    r = token_basic(s, &wrong, cc);
    assert_oauth_error(s, &r, 401, "invalid_client", w);
    r = form_post(s, "/oauth/token", NULL, cc); /* no client authentication */
    assert_oauth_error(s, &r, 401, "invalid_client", w);
    r = form_post(s, "/oauth/token", "Authorization: Basic !!!", cc);
    assert_oauth_error(s, &r, 401, "invalid_client", w);
    r = form_post(s, "/oauth/token", "Authorization: Bearer abc", cc);
    assert_oauth_error(s, &r, 401, "invalid_client", w);
    char *body = str_printf("%s&client_id=%s&client_secret=nope", cc, f->svc.id);
    r = form_post(s, "/oauth/token", NULL, body); /* wrong secret by client_secret_post */
    assert_oauth_error(s, &r, 401, "invalid_client", w);
    free(body);

    body = str_printf("%s&client_id=%s", cc, f->public.id);
    r = form_post(s, "/oauth/token", NULL, body);
    assert_oauth_error(s, &r, 400, "unauthorized_client", w);
    free(body);
    r = token_basic(s, &f->web, cc); /* confidential, but not registered for this grant */
    assert_oauth_error(s, &r, 400, "unauthorized_client", w);

    r = token_basic(s, &f->svc, "scope=system%2FObservation.rs");
    assert_oauth_error(s, &r, 400, "invalid_request", w);
    r = token_basic(s, &f->svc, "grant_type=&scope=x"); /* empty is absent */
    assert_oauth_error(s, &r, 400, "invalid_request", w);
    r = token_basic(s, &f->svc, "grant_type=client_credentials&grant_type=client_credentials");
    assert_oauth_error(s, &r, 400, "invalid_request", w);
    r = token_basic(s, &f->svc, "grant_type=client_credentials&&scope=x");
    assert_oauth_error(s, &r, 400, "invalid_request", w);
    r = token_basic(s, &f->svc, "grant_type=client%zzcredentials");
    assert_oauth_error(s, &r, 400, "invalid_request", w);
    char *auth = basic_auth_header(f->svc.id, f->svc.secret);
    body = str_printf("%s&client_secret=%s", cc, f->svc.secret); /* two methods */
    r = form_post(s, "/oauth/token", auth, body);
    assert_oauth_error(s, &r, 400, "invalid_request", w);
    free(body);
    r = api(s, "POST", "/oauth/token", LIST(auth, JSON_HEADER), "{}", 2);
    assert_oauth_error(s, &r, 400, "invalid_request", w);
    r = api(s, "POST", "/oauth/token", LIST(auth, "Content-Type: text/plain"), cc, strlen(cc));
    assert_oauth_error(s, &r, 400, "invalid_request", w);
    free(auth);

    static const char *const unsupported[] = {
        "grant_type=password&username=a&password=b", "grant_type=implicit",
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"};
    for (size_t i = 0; i < 3; i++) {
        r = token_basic(s, &f->svc, unsupported[i]);
        assert_oauth_error(s, &r, 400, "unsupported_grant_type", w);
    }
    /* grants the server has but this client is not registered for */
    static const char *const unregistered[] = {
        "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&"
        "code_verifier=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ",
        "grant_type=refresh_token&refresh_token=abc"};
    for (size_t i = 0; i < 2; i++) {
        r = token_basic(s, &f->svc, unregistered[i]);
        assert_oauth_error(s, &r, 400, "unauthorized_client", w);
    }

    static const char *const beyond[] = {
        "grant_type=client_credentials&scope=system%2FPatient.rs",      /* more permissions */
        "grant_type=client_credentials&scope=system%2F*.rs",            /* every type */
        "grant_type=client_credentials&scope=cityos.admin",             /* not registered */
        "grant_type=client_credentials&scope=patient%2FObservation.rs", /* needs a user */
        "grant_type=client_credentials&scope=openid",                   /* needs a user */
        "grant_type=client_credentials&scope=system%2FObservation.xyz", /* malformed */
        "grant_type=client_credentials&scope=a++b",                     /* malformed */
    };
    for (size_t i = 0; i < sizeof beyond / sizeof beyond[0]; i++) {
        r = token_basic(s, &f->svc, beyond[i]);
        assert_oauth_error(s, &r, 400, "invalid_scope", w);
    }
    r = token_basic(s, &f->svc, "grant_type=client_credentials&resource=not-a-uri");
    assert_oauth_error(s, &r, 400, "invalid_target", w);
    r = token_basic(s, &f->svc,
                    "grant_type=client_credentials&resource=https%3A%2F%2Fa.example&"
                    "audience=b");
    assert_oauth_error(s, &r, 400, "invalid_request", w);

    /* the token endpoint takes POST only */
    r = api_get(s, "/oauth/token");
    assert_int_equal(r.status, 405);
    resp_free(&r);
    assert_true(health_ok(s));
}

/* Bearer credentials that are absent, of another scheme, malformed, unknown or garbage */
static void bearer_refusals(void **state)
{
    struct fixture *f = *state;
    struct resp r = me(f->s, NULL);
    assert_problem(&r, 401, "unauthorized");
    assert_header(&r, "WWW-Authenticate", "Bearer realm=\"cityos\"");
    resp_free(&r);
    char *auth = basic_auth_header(f->svc.id, f->svc.secret);
    r = me(f->s, auth);
    assert_problem(&r, 401, "unauthorized");
    assert_header(&r, "WWW-Authenticate", "Bearer realm=\"cityos\"");
    resp_free(&r);
    free(auth);

    static const char *const garbage[] = {
        "Authorization: Bearer abc",
        "Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Authorization: Bearer",
        "Authorization: Bearer a b",
        "Authorization: Bearer ä",
        "Authorization: Bearer ==",
    };
    /* the operator token is a principal of its own kind, not an access token */
    r = me(f->s, AUTH_HEADER);
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "kind"), "operator");
    resp_free(&r);
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        r = me(f->s, garbage[i]);
        assert_problem(&r, 401, "unauthorized");
        const char *h = resp_header(&r, "WWW-Authenticate");
        assert_non_null(h);
        assert_true(strncmp(h, "Bearer realm=\"cityos\", error=\"invalid_token\"", 44) == 0);
        resp_free(&r);
    }
}

/* introspection needs an authenticated confidential client, revocation an authenticated client
 * (a public one names itself, RFC 7009 2.1); garbage is inactive; a client cannot revoke another
 * client's token, and sees it inactive unless it is registered for cityos.introspect */
static void introspection_and_revocation_rules(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->s;
    char *tok = get_token(s, &f->svc, "grant_type=client_credentials");
    char *body = str_printf("token=%s", tok);
    double w = writes(s);

    struct resp r = form_post(s, "/oauth/introspect", NULL, body); /* no client */
    assert_null(strstr(r.body, "active"));
    assert_oauth_error(s, &r, 401, "invalid_client", w);
    char *pub = str_printf("%s&client_id=%s", body, f->public.id);
    r = form_post(s, "/oauth/introspect", NULL, pub);
    assert_oauth_error(s, &r, 401, "invalid_client", w);
    r = form_post(s, "/oauth/revoke", NULL, pub);
    assert_oauth_error(s, &r, 400, "unauthorized_client", w);
    free(pub);

    /* svc has no cityos.introspect: its own token is visible, other's is not */
    char *svc_auth = basic_auth_header(f->svc.id, f->svc.secret);
    char *other_tok = get_token(s, &f->other, "grant_type=client_credentials");
    char *other_body = str_printf("token=%s", other_tok);
    w = writes(s);
    r = form_post(s, "/oauth/introspect", svc_auth, body);
    assert_true(json_is_true(json_object_get(r.json, "active")));
    resp_free(&r);
    r = form_post(s, "/oauth/introspect", svc_auth, other_body);
    assert_status(&r, 200);
    assert_true(json_is_false(json_object_get(r.json, "active")));
    assert_int_equal(json_object_size(r.json), 1);
    resp_free(&r);
    free(other_body);
    free(other_tok);
    free(svc_auth);

    char *other = basic_auth_header(f->other.id, f->other.secret);
    r = form_post(s, "/oauth/introspect", other, "token_type_hint=access_token");
    assert_oauth_error(s, &r, 400, "invalid_request", w);
    static const char *const inactive[] = {"token=abc", "token=%E3%81%82",
                                           "token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < 3; i++) {
        r = form_post(s, "/oauth/introspect", other, inactive[i]);
        assert_status(&r, 200);
        assert_true(json_is_false(json_object_get(r.json, "active")));
        assert_int_equal(json_object_size(r.json), 1);
        resp_free(&r);
    }

    /* another client's token: refused, and it stays active */
    r = form_post(s, "/oauth/revoke", other, body);
    assert_oauth_error(s, &r, 400, "unauthorized_client", w);
    r = form_post(s, "/oauth/introspect", other, body);
    assert_true(json_is_true(json_object_get(r.json, "active")));
    resp_free(&r);
    r = form_post(s, "/oauth/revoke", other, "token_type_hint=access_token");
    assert_oauth_error(s, &r, 400, "invalid_request", w);

    /* the hint is only a hint: an unusual one still revokes */
    char *auth = basic_auth_header(f->svc.id, f->svc.secret);
    char *hinted = str_printf("%s&token_type_hint=refresh_token", body);
    r = form_post(s, "/oauth/revoke", auth, hinted);
    assert_status(&r, 200);
    resp_free(&r);
    r = form_post(s, "/oauth/introspect", other, body);
    assert_true(json_is_false(json_object_get(r.json, "active")));
    resp_free(&r);
    free(hinted);
    free(auth);
    free(other);
    free(body);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_whole_client_credentials_flow),
        cmocka_unit_test(secret_post_scope_and_resource),
        cmocka_unit_test(token_refusals),
        cmocka_unit_test(bearer_refusals),
        cmocka_unit_test(introspection_and_revocation_rules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
