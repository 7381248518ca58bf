/* test_router.c - path matching: literals, parameters, 404 versus 405 with Allow, HEAD as GET,
 * and paths that must not match (trailing slash, empty segment, extra segments). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "http/router.h"

static int h_list(struct http_request *req, void *ctx)
{
    (void)req;
    (void)ctx;
    return 0;
}
static int h_get(struct http_request *req, void *ctx)
{
    (void)req;
    (void)ctx;
    return 1;
}

static struct http_router router;

static int setup(void **state)
{
    (void)state;
    http_router_init(&router);
    assert_int_equal(http_router_add(&router, "GET", "/api/v1/notices", h_list, NULL), 0);
    assert_int_equal(http_router_add(&router, "POST", "/api/v1/notices", h_list, NULL), 0);
    assert_int_equal(http_router_add(&router, "GET", "/api/v1/notices/{id}", h_get, NULL), 0);
    assert_int_equal(http_router_add(&router, "GET", "/a/{x}/b/{y}", h_get, NULL), 0);
    return 0;
}

static void literal_and_parameter_routes_match(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct http_route_match m;
    assert_int_equal(http_router_match(&router, "GET", "/api/v1/notices", a, &m), HTTP_MATCHED);
    assert_string_equal(m.route->pattern, "/api/v1/notices");
    assert_int_equal(m.nparams, 0);
    assert_int_equal(http_router_match(&router, "POST", "/api/v1/notices", a, &m), HTTP_MATCHED);
    assert_string_equal(m.route->method, "POST");
    assert_int_equal(http_router_match(&router, "GET", "/api/v1/notices/abc", a, &m), HTTP_MATCHED);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "abc");
    assert_ptr_equal(m.route->handler, h_get);
    assert_int_equal(http_router_match(&router, "GET", "/a/1/b/22", a, &m), HTTP_MATCHED);
    assert_string_equal(m.params[0], "1");
    assert_string_equal(m.params[1], "22");
    assert_int_equal(http_router_match(&router, "HEAD", "/api/v1/notices/x", a, &m), HTTP_MATCHED);
    arena_free(a);
}

static void near_misses_do_not_match(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct http_route_match m;
    const char *paths[] = {"/",
                           "",
                           "/api/v1/notices/",
                           "/api/v1/notices//",
                           "/api/v1/notices/x/y",
                           "/api/v1/notice",
                           "/api/v1/noticesx",
                           "//api/v1/notices",
                           "/a//b/1",
                           "api/v1/notices"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        assert_int_equal(http_router_match(&router, "GET", paths[i], a, &m), HTTP_NO_PATH);
    arena_free(a);
}

static void wrong_method_lists_allowed_ones(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct http_route_match m;
    assert_int_equal(http_router_match(&router, "DELETE", "/api/v1/notices", a, &m),
                     HTTP_NO_METHOD);
    assert_string_equal(m.allow, "GET, HEAD, POST");
    assert_int_equal(http_router_match(&router, "PUT", "/api/v1/notices/1", a, &m), HTTP_NO_METHOD);
    assert_string_equal(m.allow, "GET, HEAD");
    arena_free(a);
}

static void table_bounds_are_enforced(void **state)
{
    (void)state;
    struct http_router *r = &router;
    assert_int_equal(http_router_add(r, "GET", "no-slash", h_get, NULL), ERR_INVALID);
    assert_int_equal(http_router_add(r, "GET", "/{a}/{b}/{c}/{d}/{e}", h_get, NULL), ERR_INVALID);
    while (r->nroutes < HTTP_MAX_ROUTES)
        assert_int_equal(http_router_add(r, "GET", "/filler", h_get, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/one-too-many", h_get, NULL), ERR_TOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(literal_and_parameter_routes_match, setup),
        cmocka_unit_test_setup(near_misses_do_not_match, setup),
        cmocka_unit_test_setup(wrong_method_lists_allowed_ones, setup),
        cmocka_unit_test_setup(table_bounds_are_enforced, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
