/* test_audit_verify.c - the trail's integrity check over HTTP (src/audit/verify_api.c), as the
 * city view of the portal uses it: only the operator and city administrators; a check started
 * in the background finds the demo town's trail intact; one entry changed behind the server's
 * back is found by the next check, which names the chain, the entry and the failed check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "oidc_flow.h"

#define PATH          "/api/v1/admin/audit/verification"
#define APP_REDIRECT  "http://127.0.0.1:8765/callback"
#define PATIENT_SCOPE "openid launch/patient patient/*.cruds"
#define TARO_EMAIL    "taro.aizu@example.jp"
#define TARO_PASS     "Minato-Tsuru-7Kq3-Bx9w"

static struct server *S;
static char *dir;

static int group_setup(void **state)
{
    (void)state;
    dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=5 --seed=3 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), dir);
    free(run_command(cmd));
    free(cmd);
    S = server_start_with(&(struct server_config){.data_dir = dir});
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_free(S);
    remove_tree(dir);
    free(dir);
    return 0;
}

/* POSTs a check and waits (up to 20 s) until it is done; returns the state (caller decrefs). */
static json_t *check_now(void)
{
    struct resp r = api(S, "POST", PATH, LIST(AUTH_HEADER), NULL, 0);
    assert_status(&r, 202);
    assert_string_equal(resp_header(&r, "Location"), PATH);
    resp_free(&r);
    for (int i = 0; i < 200; i++) {
        r = api(S, "GET", PATH, LIST(AUTH_HEADER), NULL, 0);
        assert_status(&r, 200);
        if (strcmp(json_str(r.json, "state"), "done") == 0) {
            json_t *out = json_incref(r.json);
            resp_free(&r);
            return out;
        }
        assert_string_equal(json_str(r.json, "state"), "running");
        resp_free(&r);
        sleep_ms(100);
    }
    fail_msg("the check never finished");
    return NULL;
}

static void only_administrators(void **state)
{
    (void)state;
    struct resp r = api(S, "GET", PATH, NULL, NULL, 0);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    r = api(S, "POST", PATH, NULL, NULL, 0);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    struct resp c =
        api(S, "POST", "/api/v1/admin/clients", LIST(AUTH_HEADER, JSON_HEADER),
            "{\"name\":\"verify test\",\"kind\":\"public\",\"scopes\":\"" PATIENT_SCOPE
            "\",\"grant_types\":[\"authorization_code\"],\"redirect_uris\":[\"" APP_REDIRECT "\"]}",
            strlen("{\"name\":\"verify test\",\"kind\":\"public\",\"scopes\":"
                   "\"" PATIENT_SCOPE "\",\"grant_types\":[\"authorization_code\"],"
                   "\"redirect_uris\":[\"" APP_REDIRECT "\"]}"));
    assert_status(&c, 201);
    char *tok = oidc_token(S, json_str(c.json, "client_id"), APP_REDIRECT, TARO_EMAIL, TARO_PASS,
                           "self", PATIENT_SCOPE);
    resp_free(&c);
    char *auth = str_printf("Authorization: Bearer %s", tok);
    r = api(S, "GET", PATH, LIST(auth), NULL, 0);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = api(S, "POST", PATH, LIST(auth), NULL, 0);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    free(auth);
    free(tok);
    r = api(S, "GET", PATH "?x=1", LIST(AUTH_HEADER), NULL, 0);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    r = api(S, "GET", PATH, LIST(AUTH_HEADER), NULL, 0);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "state"), "never");
    resp_free(&r);
}

static void the_check_finds_a_changed_entry(void **state)
{
    (void)state;
    json_t *s = check_now();
    assert_true(json_is_true(json_object_get(s, "ok")));
    assert_true(json_integer_value(json_object_get(s, "chains")) >= 1);
    assert_true(json_integer_value(json_object_get(s, "entries")) >= 1);
    assert_string_equal(json_str(s, "started_by"), "operator");
    assert_null(json_object_get(s, "failure"));
    json_decref(s);

    /* someone with the database changes what one entry says */
    long n = harness_db_exec(dir,
                             "UPDATE audit_entry SET reason = 'nothing happened' WHERE seq = 1 "
                             "AND subject = (SELECT MIN(subject) FROM audit_entry)",
                             NULL);
    assert_int_equal(n, 1);
    s = check_now();
    assert_false(json_is_true(json_object_get(s, "ok")));
    json_t *f = json_object_get(s, "failure");
    assert_non_null(f);
    assert_string_equal(json_str(f, "check"), "entry_hash");
    assert_int_equal(json_integer_value(json_object_get(f, "seq")), 1);
    assert_true(strlen(json_str(f, "subject")) > 0);
    assert_non_null(json_str(s, "detail"));
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(only_administrators),
        cmocka_unit_test(the_check_finds_a_changed_entry),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
