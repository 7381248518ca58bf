/* test_portal.c - the citizen portal as served by the real binary: GET / and the embedded
 * files with their media types, validators and security headers; 304 on If-None-Match; HEAD;
 * directory traversal (plain, percent-encoded, with a NUL, with backslashes) and unknown files
 * answered 404 problem+json; /portal/config.json before and after the portal's OAuth client is
 * registered. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int setup(void **state)
{
    *state = server_start(NULL);
    return 0;
}

static int teardown(void **state)
{
    server_free(*state);
    return 0;
}

static void assert_security_headers(const struct resp *r)
{
    const char *csp = resp_header(r, "Content-Security-Policy");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "default-src 'none'"));
    assert_non_null(strstr(csp, "script-src 'self';"));
    assert_non_null(strstr(csp, "connect-src 'self';"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_non_null(strstr(csp, "require-trusted-types-for 'script'"));
    assert_null(strstr(csp, "unsafe"));
    assert_header(r, "X-Frame-Options", "DENY");
    assert_header(r, "Referrer-Policy", "no-referrer");
    assert_header(r, "X-Content-Type-Options", "nosniff");
}

/* GET / -> 200 the page, text/html, no-cache + ETag, the security headers; the page loads its
 * module and style from /portal/ and has no inline script or style */
static void the_page_is_served_at_the_root(void **state)
{
    struct server *s = *state;
    struct resp r = api_get(s, "/");
    assert_status(&r, 200);
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    assert_header(&r, "Cache-Control", "no-cache");
    assert_non_null(resp_header(&r, "ETag"));
    assert_security_headers(&r);
    assert_non_null(strstr(r.body, "<script type=\"module\" src=\"/portal/js/app.js\"></script>"));
    assert_non_null(strstr(r.body, "/portal/css/portal.css"));
    assert_null(strstr(r.body, "<style"));
    assert_null(strstr(r.body, "style="));
    assert_null(strstr(r.body, "<script>"));
    resp_free(&r);

    /* the code comes back to / with a query: the same page */
    r = api_get(s, "/?code=abc&state=xyz&iss=http%3A%2F%2Flocalhost%3A8080");
    assert_status(&r, 200);
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    resp_free(&r);
}

static void each_kind_of_file_has_its_media_type(void **state)
{
    struct server *s = *state;
    static const struct {
        const char *path, *type;
    } files[] = {
        {"/portal/js/app.js", "text/javascript; charset=utf-8"},
        {"/portal/js/auth.js", "text/javascript; charset=utf-8"},
        {"/portal/css/portal.css", "text/css; charset=utf-8"},
        {"/portal/icon.svg", "image/svg+xml"},
        {"/portal/index.html", "text/html; charset=utf-8"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct resp r = api_get(s, files[i].path);
        assert_status(&r, 200);
        assert_header(&r, "Content-Type", files[i].type);
        assert_header(&r, "Cache-Control", "no-cache");
        assert_security_headers(&r);
        assert_true(r.len > 0);
        resp_free(&r);
    }
}

/* If-None-Match with the ETag -> 304, no body; another tag -> 200; HEAD -> headers only */
static void a_cached_copy_is_revalidated(void **state)
{
    struct server *s = *state;
    struct resp r = api_get(s, "/portal/js/app.js");
    assert_status(&r, 200);
    char *etag = strdup(resp_header(&r, "ETag"));
    size_t len = r.len;
    resp_free(&r);
    assert_int_equal(etag[0], '"');

    char inm[128];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    r = api(s, "GET", "/portal/js/app.js", LIST(inm), NULL, 0);
    assert_status(&r, 304);
    assert_int_equal(r.len, 0);
    assert_header(&r, "ETag", etag);
    resp_free(&r);

    snprintf(inm, sizeof inm, "If-None-Match: \"other\", W/%s", etag);
    r = api(s, "GET", "/portal/js/app.js", LIST(inm), NULL, 0);
    assert_status(&r, 304);
    resp_free(&r);

    r = api(s, "GET", "/portal/js/app.js", LIST("If-None-Match: \"other\""), NULL, 0);
    assert_status(&r, 200);
    assert_int_equal(r.len, len);
    resp_free(&r);

    r = api(s, "HEAD", "/portal/js/app.js", NULL, NULL, 0);
    assert_status(&r, 200);
    assert_header(&r, "Content-Type", "text/javascript; charset=utf-8");
    assert_int_equal(r.len, 0);
    resp_free(&r);
    free(etag);
}

/* Every way out of the portal's files, and every file it does not have: 404 problem+json */
static void traversal_and_unknown_files_are_not_found(void **state)
{
    struct server *s = *state;
    static const char *const paths[] = {
        "/portal/nothing.js",
        "/portal/js/nothing.js",
        "/portal/../health",
        "/portal/js/../index.html",
        "/portal/%2e%2e/%2e%2e/etc/passwd",
        "/portal/..%2f..%2fetc%2fpasswd",
        "/portal/js/%2e%2e",
        "/portal/%2E%2E/index.html",
        "/portal/..%5c..%5cetc%5cpasswd",
        "/portal/js%5capp.js",
        "/portal/.hidden",
        "/portal/js/.app.js",
        "/portal/%00",
        "/portal/%00/index.html",
        "/portal/js/%00app.js",
        "/portal/..%00/index.html",
        "/portal/js/app.js%00.png", /* a decoded NUL would have cut this to app.js */
        "/portal/index.html%00",
        "/portal/%252e%252e/index.html",
        "/portal/JS/APP.JS",
        "/portal/a/b/c.js",
        "/portal/js//app.js",
        "/portal/index.html%20",
        "/portal/%e3%81%82.html",
        "/index.html",
        "/favicon.ico",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct resp r = api_get(s, paths[i]);
        if (r.status != 404)
            fprintf(stderr, "path %s answered %ld\n", paths[i], r.status);
        assert_problem(&r, 404, "not-found");
        assert_null(strstr(r.body, "root:"));
        resp_free(&r);
    }
    /* other methods: 405 with Allow, never a write */
    struct resp r = api(s, "POST", "/portal/js/app.js", NULL, "x", 1);
    assert_problem(&r, 405, "method-not-allowed");
    resp_free(&r);
    r = api(s, "DELETE", "/", NULL, NULL, 0);
    assert_problem(&r, 405, "method-not-allowed");
    resp_free(&r);
    assert_true(health_ok(s));
}

/* /portal/config.json: 404 until a public client with the authorization-code grant has the
 * redirect URI <issuer>/, then its id and scopes; never cached */
static void the_config_names_the_registered_portal_client(void **state)
{
    struct server *s = *state;
    struct resp r = api_get(s, "/portal/config.json");
    assert_problem(&r, 404, "not-found");
    assert_non_null(strstr(r.body, "http://localhost:8080/"));
    assert_header(&r, "Cache-Control", "no-store");
    resp_free(&r);

    /* a client whose redirect URI only starts with the portal's does not count */
    const char *other = "{\"name\":\"other app\",\"kind\":\"public\",\"scopes\":\"openid\","
                        "\"grant_types\":[\"authorization_code\"],"
                        "\"redirect_uris\":[\"http://localhost:8080/x\"]}";
    r = api(s, "POST", "/api/v1/admin/clients", LIST(AUTH_HEADER, JSON_HEADER), other,
            strlen(other));
    assert_status(&r, 201);
    resp_free(&r);
    r = api_get(s, "/portal/config.json");
    assert_problem(&r, 404, "not-found");
    resp_free(&r);

    const char *portal =
        "{\"name\":\"city portal\",\"kind\":\"public\","
        "\"scopes\":\"openid profile launch/patient patient/*.rs\","
        "\"grant_types\":[\"authorization_code\"],"
        "\"redirect_uris\":[\"http://127.0.0.1:9/cb\",\"http://localhost:8080/\"]}";
    r = api(s, "POST", "/api/v1/admin/clients", LIST(AUTH_HEADER, JSON_HEADER), portal,
            strlen(portal));
    assert_status(&r, 201);
    char *id = strdup(json_string_value(json_object_get(r.json, "client_id")));
    resp_free(&r);

    r = api_get(s, "/portal/config.json");
    assert_status(&r, 200);
    assert_header(&r, "Content-Type", "application/json");
    assert_header(&r, "Cache-Control", "no-store");
    assert_security_headers(&r);
    assert_string_equal(json_str(r.json, "client_id"), id);
    assert_string_equal(json_str(r.json, "issuer"), "http://localhost:8080");
    assert_string_equal(json_str(r.json, "redirect_uri"), "http://localhost:8080/");
    assert_non_null(strstr(json_str(r.json, "scope"), "launch/patient"));
    resp_free(&r);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_page_is_served_at_the_root),
        cmocka_unit_test(each_kind_of_file_has_its_media_type),
        cmocka_unit_test(a_cached_copy_is_revalidated),
        cmocka_unit_test(traversal_and_unknown_files_are_not_found),
        cmocka_unit_test(the_config_names_the_registered_portal_client),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
