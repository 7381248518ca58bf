/* test_problem.c - RFC 9457 bodies: members, status from the type table, unknown types, and a
 * detail quoting invalid UTF-8 from a client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/problem.h"

static json_t *respond(const char *slug, const char *detail, struct http_request *req)
{
    memset(req, 0, sizeof *req);
    req->arena = arena_new(0);
    req->path = "/api/v1/notices";
    req->request_id = "abc-1";
    http_problem(req, slug, "%s", detail);
    assert_string_equal(req->content_type, "application/problem+json");
    json_error_t je;
    json_t *o = json_loadb(req->resp_body, req->resp_len, 0, &je);
    assert_non_null(o);
    return o;
}

static void body_has_every_member(void **state)
{
    (void)state;
    struct http_request req;
    json_t *o = respond("body-too-large", "at most 1048576 bytes", &req);
    assert_int_equal(req.status, 413);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "/problems/body-too-large");
    assert_string_equal(json_string_value(json_object_get(o, "title")),
                        "The request body is too large");
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 413);
    assert_string_equal(json_string_value(json_object_get(o, "detail")), "at most 1048576 bytes");
    assert_string_equal(json_string_value(json_object_get(o, "instance")), "/api/v1/notices");
    assert_string_equal(json_string_value(json_object_get(o, "requestId")), "abc-1");
    json_decref(o);
    arena_free(req.arena);
}

static void every_type_has_a_4xx_or_5xx_status(void **state)
{
    (void)state;
    const char *slugs[] = {"malformed-json",    "invalid-parameter",
                           "unauthorized",      "forbidden",
                           "not-found",         "method-not-allowed",
                           "request-timeout",   "conflict",
                           "body-too-large",    "unsupported-media-type",
                           "validation-failed", "header-too-large",
                           "internal-error",    "unavailable"};
    for (size_t i = 0; i < sizeof slugs / sizeof slugs[0]; i++) {
        int s = http_problem_status(slugs[i]);
        assert_true(s >= 400 && s < 600);
    }
    assert_int_equal(http_problem_status("no-such-type"), 0);
}

static void unknown_type_becomes_internal_error(void **state)
{
    (void)state;
    struct http_request req;
    json_t *o = respond("no-such-type", "x", &req);
    assert_int_equal(req.status, 500);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "/problems/internal-error");
    json_decref(o);
    arena_free(req.arena);
}

static void invalid_utf8_detail_is_replaced(void **state)
{
    (void)state;
    struct http_request req;
    json_t *o = respond("invalid-parameter", "unknown parameter \"\xff\xfe\"", &req);
    assert_int_equal(req.status, 400);
    assert_string_equal(json_string_value(json_object_get(o, "detail")),
                        "(detail not valid UTF-8)");
    json_decref(o);
    arena_free(req.arena);
    char *body = http_problem_body("not-found", "gone", NULL, NULL);
    assert_non_null(strstr(body, "\"status\":404"));
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(body_has_every_member),
        cmocka_unit_test(every_type_has_a_4xx_or_5xx_status),
        cmocka_unit_test(unknown_type_becomes_internal_error),
        cmocka_unit_test(invalid_utf8_detail_is_replaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
