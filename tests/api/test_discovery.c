/* test_discovery.c - the provider's well-known documents as a specification: OpenID
 * configuration, JWKS and SMART configuration; the signing-key file and `cityos keys rotate`. */
#include "harness.h"

#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

#define ISSUER "https://id.city.example"

static int setup(void **state)
{
    *state = server_start(LIST("--issuer=" ISSUER));
    return 0;
}

static int teardown(void **state)
{
    server_free(*state);
    return 0;
}

/* Runs the cityos binary with args (NULL-terminated, after "cityos"); returns its exit code. */
static int run_cli(const char *const *args)
{
    const char *argv[16] = {getenv("CITYOS_BIN")};
    size_t n = 1;
    for (; args[n - 1] != NULL && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv, environ), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs a server that is expected not to come up; returns how it exited. */
static int run_failing(struct server *s)
{
    if (server_launch(s) == 0) {
        server_stop(s);
        fail_msg("cityos started although it should have failed");
    }
    return server_exit_status(s);
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Is every string of want in the array o[key]? */
static int has_all(const json_t *o, const char *key, const char *const *want)
{
    const json_t *a = json_object_get(o, key);
    if (!json_is_array(a))
        return 0;
    for (const char *const *w = want; *w != NULL; w++) {
        int found = 0;
        size_t i;
        const json_t *v;
        json_array_foreach(a, i, v) found |=
            json_is_string(v) && strcmp(json_string_value(v), *w) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

/* Is the array o[key] exactly want, in order? */
static int is_exactly(const json_t *o, const char *key, const char *const *want)
{
    const json_t *a = json_object_get(o, key);
    size_t n = 0;
    while (want[n] != NULL)
        n++;
    return json_is_array(a) && json_array_size(a) == n && has_all(o, key, want);
}

static void assert_cached_json(const struct resp *r)
{
    assert_status(r, 200);
    assert_header(r, "Content-Type", "application/json");
    assert_header(r, "Cache-Control", "public, max-age=3600");
    assert_header(r, "Access-Control-Allow-Origin", "*");
    assert_non_null(r->json);
}

static json_t *get_jwks(struct server *s)
{
    struct resp r = api_get(s, "/.well-known/jwks.json");
    assert_cached_json(&r);
    json_t *keys = json_incref(json_object_get(r.json, "keys"));
    resp_free(&r);
    assert_true(json_is_array(keys));
    return keys;
}

static const char *const grants[] = {"authorization_code", "client_credentials", "refresh_token",
                                     NULL};
static const char *const methods[] = {"client_secret_basic", "client_secret_post", "none", NULL};

/* GET /.well-known/openid-configuration -> OIDC Discovery 1.0 section 3 metadata for the issuer */
static void openid_configuration_announces_the_provider(void **state)
{
    struct server *s = *state;
    struct resp r = api_get(s, "/.well-known/openid-configuration");
    assert_cached_json(&r);
    const json_t *o = r.json;
    assert_string_equal(str(o, "issuer"), ISSUER);
    assert_string_equal(str(o, "authorization_endpoint"), ISSUER "/oauth/authorize");
    assert_string_equal(str(o, "token_endpoint"), ISSUER "/oauth/token");
    assert_string_equal(str(o, "userinfo_endpoint"), ISSUER "/oauth/userinfo");
    assert_string_equal(str(o, "jwks_uri"), ISSUER "/.well-known/jwks.json");
    assert_string_equal(str(o, "revocation_endpoint"), ISSUER "/oauth/revoke");
    assert_string_equal(str(o, "introspection_endpoint"), ISSUER "/oauth/introspect");
    assert_true(is_exactly(o, "response_types_supported", LIST("code")));
    assert_true(is_exactly(o, "grant_types_supported", grants));
    assert_true(is_exactly(o, "subject_types_supported", LIST("public")));
    assert_true(is_exactly(o, "id_token_signing_alg_values_supported", LIST("EdDSA")));
    assert_true(is_exactly(o, "token_endpoint_auth_methods_supported", methods));
    assert_true(is_exactly(o, "code_challenge_methods_supported", LIST("S256")));
    assert_true(is_exactly(o, "response_modes_supported", LIST("query")));
    assert_true(is_exactly(o, "ui_locales_supported", LIST("ja", "en")));
    assert_true(has_all(o, "scopes_supported",
                        LIST("openid", "profile", "fhirUser", "offline_access", "launch/patient",
                             "patient/*.rs", "user/*.rs", "system/*.rs")));
    assert_true(has_all(o, "claims_supported", LIST("sub", "iss", "aud", "exp", "iat")));
    assert_true(json_is_false(json_object_get(o, "request_parameter_supported")));
    assert_true(json_is_false(json_object_get(o, "request_uri_parameter_supported")));
    resp_free(&r);

    /* HEAD: the same headers, no body */
    r = api(s, "HEAD", "/.well-known/openid-configuration", NULL, NULL, 0);
    assert_status(&r, 200);
    assert_int_equal(r.len, 0);
    resp_free(&r);
}

/* GET /.well-known/jwks.json -> the public keys only: OKP, Ed25519, x, kid, alg EdDSA, use sig */
static void jwks_publishes_public_keys_only(void **state)
{
    struct server *s = *state;
    json_t *keys = get_jwks(s);
    assert_int_equal(json_array_size(keys), 1);
    const json_t *k = json_array_get(keys, 0);
    assert_string_equal(str(k, "kty"), "OKP");
    assert_string_equal(str(k, "crv"), "Ed25519");
    assert_string_equal(str(k, "alg"), "EdDSA");
    assert_string_equal(str(k, "use"), "sig");
    assert_int_equal(strlen(str(k, "x")), 43);
    assert_int_equal(strlen(str(k, "kid")), 43);
    assert_null(json_object_get(k, "d"));
    assert_int_equal(json_object_size(k), 6);
    json_decref(keys);
}

/* GET /fhir/.well-known/smart-configuration -> SMART App Launch v2 metadata */
static void smart_configuration_announces_the_capabilities(void **state)
{
    struct server *s = *state;
    struct resp r = api_get(s, "/fhir/.well-known/smart-configuration");
    assert_cached_json(&r);
    const json_t *o = r.json;
    assert_string_equal(str(o, "issuer"), ISSUER);
    assert_string_equal(str(o, "jwks_uri"), ISSUER "/.well-known/jwks.json");
    assert_string_equal(str(o, "authorization_endpoint"), ISSUER "/oauth/authorize");
    assert_string_equal(str(o, "token_endpoint"), ISSUER "/oauth/token");
    assert_string_equal(str(o, "introspection_endpoint"), ISSUER "/oauth/introspect");
    assert_string_equal(str(o, "revocation_endpoint"), ISSUER "/oauth/revoke");
    assert_true(is_exactly(o, "grant_types_supported", grants));
    assert_true(is_exactly(o, "token_endpoint_auth_methods_supported", methods));
    assert_true(is_exactly(o, "response_types_supported", LIST("code")));
    assert_true(is_exactly(o, "code_challenge_methods_supported", LIST("S256")));
    assert_true(has_all(o, "scopes_supported",
                        LIST("openid", "fhirUser", "launch/patient", "offline_access",
                             "patient/*.rs", "user/*.rs", "system/*.rs")));
    assert_true(has_all(o, "capabilities",
                        LIST("launch-standalone", "client-public", "client-confidential-symmetric",
                             "context-standalone-patient", "permission-v2", "permission-v1",
                             "permission-patient", "permission-user", "sso-openid-connect",
                             "permission-offline")));
    resp_free(&r);
}

/* the default issuer is http://localhost:8080 */
static void the_default_issuer_is_localhost(void **state)
{
    (void)state;
    struct server *s = server_start(NULL);
    struct resp r = api_get(s, "/.well-known/openid-configuration");
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "issuer"), "http://localhost:8080");
    assert_string_equal(str(r.json, "jwks_uri"), "http://localhost:8080/.well-known/jwks.json");
    resp_free(&r);
    server_free(s);
}

/* the key file is made 0600 on first start, and a restart serves the same kid */
static void the_signing_key_persists_across_restarts(void **state)
{
    struct server *s = *state;
    char *path = str_printf("%s/signing-keys.json", server_data_dir(s));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    json_t *before = get_jwks(s);
    server_restart(s);
    json_t *after = get_jwks(s);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    free(path);
}

/* `cityos keys rotate`, then a restart -> two keys (the new one first); with
 * --retire-older-than=0 only the newest remains */
static void rotation_adds_a_key_and_retirement_removes_old_ones(void **state)
{
    (void)state;
    struct server *s = server_start(NULL);
    json_t *one = get_jwks(s);
    const char *old_kid = str(json_array_get(one, 0), "kid");
    char *data = str_printf("--data-dir=%s", server_data_dir(s));

    assert_int_equal(run_cli(LIST("keys", "rotate", data)), 0);
    server_restart(s);
    json_t *two = get_jwks(s);
    assert_int_equal(json_array_size(two), 2);
    const char *new_kid = str(json_array_get(two, 0), "kid");
    assert_string_not_equal(new_kid, old_kid);
    assert_string_equal(str(json_array_get(two, 1), "kid"), old_kid);
    for (size_t i = 0; i < 2; i++)
        assert_null(json_object_get(json_array_get(two, i), "d"));

    assert_int_equal(run_cli(LIST("keys", "rotate", "--retire-older-than=0", data)), 0);
    server_restart(s);
    json_t *last = get_jwks(s);
    assert_int_equal(json_array_size(last), 1);
    const char *last_kid = str(json_array_get(last, 0), "kid");
    assert_string_not_equal(last_kid, old_kid);
    assert_string_not_equal(last_kid, new_kid);

    /* usage errors exit 2 */
    assert_int_equal(run_cli(LIST("keys", "rotate", "--retire-older-than=-1", data)), 2);
    assert_int_equal(run_cli(LIST("keys", "rotate", "--retire-older-than=soon", data)), 2);
    assert_int_equal(run_cli(LIST("keys", "spin", data)), 2);
    json_decref(one);
    json_decref(two);
    json_decref(last);
    free(data);
    server_free(s);
}

/* a bad --issuer (not https, trailing slash, query, fragment) -> exit 2 before anything opens */
static void a_bad_issuer_exits_2(void **state)
{
    (void)state;
    const char *const bad[] = {
        "--issuer=http://example.com",           "--issuer=https://id.city.example/",
        "--issuer=https://id.city.example?x=1",  "--issuer=https://id.city.example#top",
        "--issuer=http://localhost.example.com", "--issuer=https://",
        "--issuer=ftp://id.city.example"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct server *s = server_new(&(struct server_config){.args = LIST(bad[i])});
        assert_int_equal(run_failing(s), 2);
        if (!server_log_has(s, "--issuer")) {
            server_dump_log(s);
            fail_msg("no message names --issuer for %s", bad[i]);
        }
        server_free(s);
    }
    struct server *s = server_start(LIST("--issuer=http://127.0.0.1:9999/id"));
    struct resp r = api_get(s, "/.well-known/openid-configuration");
    assert_string_equal(str(r.json, "token_endpoint"), "http://127.0.0.1:9999/id/oauth/token");
    resp_free(&r);
    server_free(s);
}

/* a key file readable by group or others -> exit 1, the message naming the file; a malformed
 * key file -> exit 1 too, and the file is left alone */
static void an_unsafe_or_malformed_key_file_exits_1(void **state)
{
    (void)state;
    struct server *s = server_start(NULL);
    assert_int_equal(server_stop(s), 0);
    char *path = str_printf("%s/signing-keys.json", server_data_dir(s));
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(run_failing(s), 1);
    if (!server_log_has(s, path)) {
        server_dump_log(s);
        fail_msg("no message names %s", path);
    }

    write_file(path, "[{\"kty\":\"OKP\"}]");
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(run_failing(s), 1);
    assert_true(server_log_has(s, path));
    free(path);
    server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(openid_configuration_announces_the_provider),
        cmocka_unit_test(jwks_publishes_public_keys_only),
        cmocka_unit_test(smart_configuration_announces_the_capabilities),
        cmocka_unit_test(the_default_issuer_is_localhost),
        cmocka_unit_test(the_signing_key_persists_across_restarts),
        cmocka_unit_test(rotation_adds_a_key_and_retirement_removes_old_ones),
        cmocka_unit_test(a_bad_issuer_exits_2),
        cmocka_unit_test(an_unsafe_or_malformed_key_file_exits_1),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
