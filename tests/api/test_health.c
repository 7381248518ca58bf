/* test_health.c - the operations surface as a specification: GET /health, GET /metrics, the
 * X-Request-Id header, HEAD on GET routes, keep-alive and the access log. */
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

static int valid_request_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 64)
        return 0;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* GET /health -> 200 {"status":"ok","version":"...","schema":N} */
static void health_says_ok_with_version_and_schema(void **state)
{
    struct server *s = *state;
    struct resp r = api_get(s, "/health");
    assert_status(&r, 200);
    assert_header(&r, "Content-Type", "application/json");
    assert_header(&r, "Cache-Control", "no-store");
    assert_header(&r, "X-Content-Type-Options", "nosniff");
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
    const char *version = json_string_value(json_object_get(r.json, "version"));
    assert_non_null(version);
    assert_true(strlen(version) > 0);
    assert_true(json_is_integer(json_object_get(r.json, "schema")));
    assert_true(json_integer_value(json_object_get(r.json, "schema")) >= 1);
    resp_free(&r);
}

/* HEAD on a GET route -> the GET's status and headers, no body */
static void head_on_a_get_route_answers_without_a_body(void **state)
{
    struct server *s = *state;
    struct resp r = api(s, "HEAD", "/health", NULL, NULL, 0);
    assert_status(&r, 200);
    assert_header(&r, "Content-Type", "application/json");
    assert_non_null(resp_header(&r, "X-Request-Id"));
    assert_int_equal(r.len, 0);
    resp_free(&r);

    r = api(s, "HEAD", NOTICES "?limit=1", NULL, NULL, 0);
    assert_status(&r, 200);
    assert_int_equal(r.len, 0);
    resp_free(&r);
}

/* X-Request-Id: a valid one ([A-Za-z0-9._-]{1,64}) is echoed and names the access-log line */
static void a_valid_request_id_is_echoed_and_logged(void **state)
{
    struct server *s = *state;
    struct resp r = api(s, "GET", "/health", LIST("X-Request-Id: client-42.A_b"), NULL, 0);
    assert_status(&r, 200);
    assert_header(&r, "X-Request-Id", "client-42.A_b");
    resp_free(&r);

    json_t *line = server_access_log(s, "client-42.A_b");
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "msg")), "request");
    assert_string_equal(json_string_value(json_object_get(line, "method")), "GET");
    assert_string_equal(json_string_value(json_object_get(line, "path")), "/health");
    assert_string_equal(json_string_value(json_object_get(line, "route")), "/health");
    assert_int_equal(json_integer_value(json_object_get(line, "status")), 200);
    assert_true(json_integer_value(json_object_get(line, "bytes")) > 0);
    assert_true(json_is_integer(json_object_get(line, "duration_us")));
    assert_true(json_integer_value(json_object_get(line, "duration_us")) >= 0);
    assert_string_equal(json_string_value(json_object_get(line, "remote")), "127.0.0.1");
    assert_string_equal(json_string_value(json_object_get(line, "end")), "ok");
    assert_string_equal(json_string_value(json_object_get(line, "level")), "info");
    assert_non_null(json_string_value(json_object_get(line, "ts")));
    json_decref(line);

    /* the path is logged without its query string */
    r = api(s, "GET", NOTICES "?limit=1&category=health", LIST("X-Request-Id: with-query"), NULL,
            0);
    assert_status(&r, 200);
    resp_free(&r);
    line = server_access_log(s, "with-query");
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "path")), NOTICES);
    assert_string_equal(json_string_value(json_object_get(line, "route")), NOTICES);
    json_decref(line);

    char *longest = str_repeat("a", 64);
    char *header = str_printf("X-Request-Id: %s", longest);
    r = api(s, "GET", "/health", LIST(header), NULL, 0);
    assert_header(&r, "X-Request-Id", longest);
    resp_free(&r);
    free(header);
    free(longest);
}

/* no X-Request-Id, or an invalid one -> the server makes a new, unique one */
static void a_missing_or_invalid_request_id_is_replaced(void **state)
{
    struct server *s = *state;
    struct resp a = api_get(s, "/health");
    struct resp b = api_get(s, "/health");
    const char *ida = resp_header(&a, "X-Request-Id"), *idb = resp_header(&b, "X-Request-Id");
    assert_true(valid_request_id(ida));
    assert_true(valid_request_id(idb));
    assert_string_not_equal(ida, idb);
    resp_free(&a);
    resp_free(&b);

    char *too_long = str_repeat("a", 65);
    char *too_long_header = str_printf("X-Request-Id: %s", too_long);
    const char *const invalid[] = {"has space", "a/b", "<script>", "tab\there", too_long};
    const char *const headers[] = {"X-Request-Id: has space", "X-Request-Id: a/b",
                                   "X-Request-Id: <script>", "X-Request-Id: tab\there",
                                   too_long_header};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        struct resp r = api(s, "GET", "/health", LIST(headers[i]), NULL, 0);
        assert_status(&r, 200);
        const char *id = resp_header(&r, "X-Request-Id");
        assert_true(valid_request_id(id));
        assert_string_not_equal(id, invalid[i]);
        resp_free(&r);
    }
    free(too_long_header);
    free(too_long);
}

/* error responses carry the request id in the header and in the problem body */
static void problems_carry_the_request_id(void **state)
{
    struct server *s = *state;
    struct resp r = api(s, "GET", "/no/such/thing", LIST("X-Request-Id: trace-7"), NULL, 0);
    assert_problem(&r, 404, "not-found");
    assert_header(&r, "X-Request-Id", "trace-7");
    assert_string_equal(json_string_value(json_object_get(r.json, "requestId")), "trace-7");
    assert_string_equal(json_string_value(json_object_get(r.json, "instance")), "/no/such/thing");
    resp_free(&r);
}

/* several requests on one client reuse one connection, error responses included */
static void keep_alive_reuses_the_connection(void **state)
{
    struct server *s = *state;
    CURL *c = client_new();
    const char *const paths[] = {"/health", "/no/such/thing", NOTICES, "/health", "/metrics"};
    long connects = 0;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct request rq = {.method = "GET", .path = paths[i]};
        struct resp r = http_exchange(c, server_port(s), &rq);
        assert_true(r.status == 200 || r.status == 404);
        assert_int_equal(r.connects, i == 0 ? 1 : 0);
        const char *conn = resp_header(&r, "Connection");
        assert_true(conn == NULL || strcasecmp(conn, "close") != 0);
        connects += r.connects;
        resp_free(&r);
    }
    assert_int_equal(connects, 1);
    curl_easy_cleanup(c);
}

static void wait_logged(struct server *s, struct resp *r)
{
    json_t *line = server_access_log(s, resp_header(r, "X-Request-Id"));
    assert_non_null(line);
    json_decref(line);
    resp_free(r);
}

/* Every sample line of a Prometheus text exposition is `name{labels} number`. */
static void assert_exposition_format(const char *text)
{
    const char *p = text;
    while (*p != '\0') {
        const char *end = strchr(p, '\n');
        assert_non_null(end); /* every line ends with a newline */
        if (*p != '#') {
            const char *space = memchr(p, ' ', (size_t)(end - p));
            assert_non_null(space);
            char *num_end = NULL;
            strtod(space + 1, &num_end);
            assert_ptr_equal(num_end, end);
        }
        p = end + 1;
    }
}

/* GET /metrics -> Prometheus text: requests by method, route and status; latency histograms;
 * in-flight gauge; store batch and commit histograms; store writes by outcome */
static void metrics_count_requests_by_route_and_status(void **state)
{
    (void)state;
    struct server *s = server_start(NULL); /* fresh, so every count is exact */
    /* the services' own writes at start-up (the triage questionnaire, ...), before any request */
    struct resp first = api_get(s, "/metrics");
    assert_status(&first, 200);
    double writes_at_start = metric_value(first.body, "cityos_store_writes_total{outcome=\"ok\"}");
    wait_logged(s, &first);
    resp_free(&first);
    for (int i = 0; i < 3; i++) {
        struct resp r = api_get(s, "/health");
        assert_status(&r, 200);
        wait_logged(s, &r);
    }
    struct resp r = api_get(s, "/nothing/here");
    assert_status(&r, 404);
    wait_logged(s, &r);
    r = api(s, "DELETE", "/health", NULL, NULL, 0);
    assert_status(&r, 405);
    wait_logged(s, &r);
    r = api_get(s, NOTICES "/0000000000000000000000000a");
    assert_status(&r, 404);
    wait_logged(s, &r);
    r = notice_post(s,
                    "{\"category\":\"general\",\"title\":{\"en\":\"t\"},\"body\":{\"en\":\"b\"}}");
    assert_status(&r, 201);
    wait_logged(s, &r);

    r = api_get(s, "/health");
    char *build_info = str_printf("cityos_build_info{version=\"%s\"}",
                                  json_string_value(json_object_get(r.json, "version")));
    wait_logged(s, &r);

    r = api_get(s, "/metrics");
    assert_status(&r, 200);
    assert_header(&r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    const char *m = r.body;
    assert_exposition_format(m);
    assert_true(metric_value(m, build_info) == 1);
    assert_true(metric_value(m, "cityos_uptime_seconds") >= 0);
    assert_true(metric_value(m, "cityos_http_requests_total{method=\"GET\",route=\"/health\","
                                "status=\"200\"}") == 4);
    assert_true(metric_value(m, "cityos_http_requests_total{method=\"any\",route=\"(unmatched)\","
                                "status=\"404\"}") == 1);
    assert_true(metric_value(m, "cityos_http_requests_total{method=\"any\",route=\"(unmatched)\","
                                "status=\"405\"}") == 1);
    assert_true(metric_value(m, "cityos_http_requests_total{method=\"GET\",route=\"/api/v1/"
                                "notices/{id}\",status=\"404\"}") == 1);
    assert_true(metric_value(m, "cityos_http_requests_total{method=\"POST\",route=\"/api/v1/"
                                "notices\",status=\"201\"}") == 1);
    assert_non_null(strstr(m, "# TYPE cityos_http_requests_total counter\n"));
    assert_non_null(strstr(m, "# TYPE cityos_http_request_duration_seconds histogram\n"));
    assert_true(metric_value(m, "cityos_http_request_duration_seconds_count{method=\"GET\","
                                "route=\"/health\"}") == 4);
    assert_true(metric_value(m, "cityos_http_request_duration_seconds_bucket{method=\"GET\","
                                "route=\"/health\",le=\"+Inf\"}") == 4);
    assert_true(metric_value(m, "cityos_http_request_duration_seconds_sum{method=\"GET\","
                                "route=\"/health\"}") >= 0);
    assert_non_null(strstr(m, "# TYPE cityos_http_inflight_requests gauge\n"));
    assert_true(metric_value(m, "cityos_http_inflight_requests") == 1); /* this request */
    assert_non_null(strstr(m, "# TYPE cityos_store_batch_size histogram\n"));
    assert_true(metric_value(m, "cityos_store_batch_size_count") >= 1);
    assert_non_null(strstr(m, "# TYPE cityos_store_commit_seconds histogram\n"));
    assert_true(metric_value(m, "cityos_store_commit_seconds_count") >= 1);
    assert_true(metric_value(m, "cityos_store_writes_total{outcome=\"ok\"}") ==
                writes_at_start + 1); /* the notice */
    assert_true(metric_value(m, "cityos_store_writes_total{outcome=\"failed\"}") == 0);
    wait_logged(s, &r);

    /* the scrape itself is counted by the next one (after the first one above) */
    r = api_get(s, "/metrics");
    assert_true(metric_value(r.body, "cityos_http_requests_total{method=\"GET\","
                                     "route=\"/metrics\",status=\"200\"}") == 2);
    resp_free(&r);
    free(build_info);
    assert_int_equal(server_stop(s), 0);
    server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_says_ok_with_version_and_schema),
        cmocka_unit_test(head_on_a_get_route_answers_without_a_body),
        cmocka_unit_test(a_valid_request_id_is_echoed_and_logged),
        cmocka_unit_test(a_missing_or_invalid_request_id_is_replaced),
        cmocka_unit_test(problems_carry_the_request_id),
        cmocka_unit_test(keep_alive_reuses_the_connection),
        cmocka_unit_test(metrics_count_requests_by_route_and_status),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
