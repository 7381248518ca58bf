/* test_bad_input.c - what the server does with bad requests, as a specification: each gets the
 * documented status and problem+json body, stores nothing, and leaves the server serving. */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* a notice that would be accepted: the requests below differ from it in one respect */
#define VALID_NOTICE                                                                               \
    "{\"category\":\"general\",\"title\":{\"en\":\"Hello\"},\"body\":{\"en\":\"World\"}}"

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

struct bad_case {
    const char *why;
    const char *body;
    long status;
    const char *slug;
};

/* POSTs each body as the operator with application/json; each must be rejected as stated. */
static void post_each(struct server *s, const struct bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct bad_case *c = &cases[i];
        long before = notice_count(s);
        struct resp r = notice_post(s, c->body);
        if (r.status != c->status)
            print_error("case: %s\n", c->why);
        assert_rejected(s, &r, c->status, c->slug, before);
        resp_free(&r);
    }
}

#define POST_EACH(s, cases) post_each((s), (cases), sizeof(cases) / sizeof((cases)[0]))

/* a body that is not JSON -> 400 malformed-json */
static void malformed_json_is_400(void **state)
{
    static const struct bad_case cases[] = {
        {"truncated", "{\"category\":", 400, "malformed-json"},
        {"not JSON at all", "category=general", 400, "malformed-json"},
        {"empty body", "", 400, "malformed-json"},
        {"trailing garbage", VALID_NOTICE "x", 400, "malformed-json"},
        {"two documents", VALID_NOTICE VALID_NOTICE, 400, "malformed-json"},
        {"duplicate member",
         "{\"category\":\"general\",\"category\":\"health\",\"title\":{\"en\":\"a\"},"
         "\"body\":{\"en\":\"b\"}}",
         400, "malformed-json"},
        {"invalid UTF-8",
         "{\"category\":\"general\",\"title\":{\"en\":\"\xff\xfe\"},\"body\":{\"en\":\"b\"}}", 400,
         "malformed-json"},
        {"NUL escape in a string",
         "{\"category\":\"general\",\"title\":{\"en\":\"a\\u0000b\"},\"body\":{\"en\":\"b\"}}", 400,
         "malformed-json"},
        {"single quotes", "{'category':'general'}", 400, "malformed-json"},
    };
    POST_EACH(*state, cases);
}

/* valid JSON that is not an object -> 422 validation-failed ("the body must be a JSON object") */
static void a_json_array_or_scalar_is_422(void **state)
{
    static const struct bad_case cases[] = {
        {"array of a notice", "[" VALID_NOTICE "]", 422, "validation-failed"},
        {"empty array", "[]", 422, "validation-failed"},
        {"string", "\"general\"", 422, "validation-failed"},
        {"number", "42", 422, "validation-failed"},
        {"null", "null", 422, "validation-failed"},
    };
    POST_EACH(*state, cases);
    struct resp r = notice_post(*state, "[]");
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "object"));
    resp_free(&r);
}

/* members of the wrong type -> 422 validation-failed, the detail naming the member */
static void wrong_member_types_are_422(void **state)
{
    static const struct bad_case cases[] = {
        {"category number", "{\"category\":5,\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\"}}",
         422, "validation-failed"},
        {"category null", "{\"category\":null,\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\"}}",
         422, "validation-failed"},
        {"title string", "{\"category\":\"general\",\"title\":\"a\",\"body\":{\"en\":\"b\"}}", 422,
         "validation-failed"},
        {"title array", "{\"category\":\"general\",\"title\":[\"a\"],\"body\":{\"en\":\"b\"}}", 422,
         "validation-failed"},
        {"title.en number",
         "{\"category\":\"general\",\"title\":{\"en\":5},\"body\":{\"en\":\"b\"}}", 422,
         "validation-failed"},
        {"body.ja boolean",
         "{\"category\":\"general\",\"title\":{\"ja\":\"a\"},\"body\":{\"ja\":true}}", 422,
         "validation-failed"},
        {"district number",
         "{\"category\":\"general\",\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\"},"
         "\"district\":7}",
         422, "validation-failed"},
        {"validUntil number",
         "{\"category\":\"general\",\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\"},"
         "\"validUntil\":20261201}",
         422, "validation-failed"},
    };
    POST_EACH(*state, cases);

    struct resp r = notice_post(
        *state, "{\"category\":\"general\",\"title\":{\"en\":5},\"body\":{\"en\":\"b\"}}");
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "/title/en"));
    resp_free(&r);
}

/* an unknown member, at the top level or nested -> 422 validation-failed */
static void unknown_members_are_422(void **state)
{
    static const struct bad_case cases[] = {
        {"top level",
         "{\"category\":\"general\",\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\"},"
         "\"priority\":1}",
         422, "validation-failed"},
        {"server-made member",
         "{\"id\":\"0123456789abcdefghjkmnpqrs\",\"category\":\"general\","
         "\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\"}}",
         422, "validation-failed"},
        {"in title",
         "{\"category\":\"general\",\"title\":{\"en\":\"a\",\"fr\":\"a\"},\"body\":{\"en\":\"b\"}}",
         422, "validation-failed"},
        {"in body",
         "{\"category\":\"general\",\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\",\"de\":\"b\"}}",
         422, "validation-failed"},
    };
    POST_EACH(*state, cases);

    struct resp r = notice_post(*state, "{\"category\":\"general\",\"title\":{\"en\":\"a\","
                                        "\"fr\":\"a\"},\"body\":{\"en\":\"b\"}}");
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "/title/fr"));
    resp_free(&r);
}

/* missing, empty or inconsistent members -> 422 validation-failed */
static void missing_and_empty_members_are_422(void **state)
{
    static const struct bad_case cases[] = {
        {"empty object", "{}", 422, "validation-failed"},
        {"no category", "{\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\"}}", 422,
         "validation-failed"},
        {"no title", "{\"category\":\"general\",\"body\":{\"en\":\"b\"}}", 422,
         "validation-failed"},
        {"no body", "{\"category\":\"general\",\"title\":{\"en\":\"a\"}}", 422,
         "validation-failed"},
        {"title without a language",
         "{\"category\":\"general\",\"title\":{},\"body\":{\"en\":\"b\"}}", 422,
         "validation-failed"},
        {"empty category", "{\"category\":\"\",\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\"}}",
         422, "validation-failed"},
        {"empty title",
         "{\"category\":\"general\",\"title\":{\"en\":\"\"},\"body\":{\"en\":\"b\"}}", 422,
         "validation-failed"},
        {"empty body", "{\"category\":\"general\",\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"\"}}",
         422, "validation-failed"},
        {"empty district",
         "{\"category\":\"general\",\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\"},"
         "\"district\":\"\"}",
         422, "validation-failed"},
        {"body in other languages than title",
         "{\"category\":\"general\",\"title\":{\"ja\":\"a\"},\"body\":{\"en\":\"b\"}}", 422,
         "validation-failed"},
        {"title in more languages than body",
         "{\"category\":\"general\",\"title\":{\"ja\":\"a\",\"en\":\"a\"},\"body\":{\"en\":\"b\"}}",
         422, "validation-failed"},
        {"unknown category",
         "{\"category\":\"weather\",\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\"}}", 422,
         "validation-failed"},
        {"category in capitals",
         "{\"category\":\"GENERAL\",\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\"}}", 422,
         "validation-failed"},
    };
    POST_EACH(*state, cases);
}

/* text over its limit (counted in characters) -> 422 validation-failed */
static void over_long_text_is_422(void **state)
{
    struct server *s = *state;
    char *ascii201 = str_repeat("a", 201), *ja201 = str_repeat("あ", 201);
    char *body8001 = str_repeat("b", 8001), *district65 = str_repeat("区", 65);
    char *bodies[4];
    bodies[0] = str_printf("{\"category\":\"general\",\"title\":{\"en\":\"%s\"},"
                           "\"body\":{\"en\":\"b\"}}",
                           ascii201);
    bodies[1] = str_printf("{\"category\":\"general\",\"title\":{\"ja\":\"%s\"},"
                           "\"body\":{\"ja\":\"b\"}}",
                           ja201);
    bodies[2] = str_printf("{\"category\":\"general\",\"title\":{\"en\":\"a\"},"
                           "\"body\":{\"en\":\"%s\"}}",
                           body8001);
    bodies[3] = str_printf("{\"category\":\"general\",\"title\":{\"en\":\"a\"},"
                           "\"body\":{\"en\":\"b\"},\"district\":\"%s\"}",
                           district65);
    const struct bad_case cases[] = {
        {"title of 201 ASCII characters", bodies[0], 422, "validation-failed"},
        {"title of 201 Japanese characters", bodies[1], 422, "validation-failed"},
        {"body of 8001 characters", bodies[2], 422, "validation-failed"},
        {"district of 65 characters", bodies[3], 422, "validation-failed"},
    };
    POST_EACH(s, cases);
    for (size_t i = 0; i < 4; i++)
        free(bodies[i]);
    free(ascii201);
    free(ja201);
    free(body8001);
    free(district65);
}

/* validUntil must be an RFC 3339 date-time with a zone -> else 422 validation-failed */
static void a_bad_valid_until_is_422(void **state)
{
#define WITH_UNTIL(v)                                                                              \
    "{\"category\":\"general\",\"title\":{\"en\":\"a\"},\"body\":{\"en\":\"b\"},"                  \
    "\"validUntil\":\"" v "\"}"
    static const struct bad_case cases[] = {
        {"no zone", WITH_UNTIL("2026-12-01T09:00:00"), 422, "validation-failed"},
        {"month 13", WITH_UNTIL("2026-13-01T09:00:00Z"), 422, "validation-failed"},
        {"30 February", WITH_UNTIL("2026-02-30T09:00:00Z"), 422, "validation-failed"},
        {"29 February of a common year", WITH_UNTIL("2027-02-29T09:00:00Z"), 422,
         "validation-failed"},
        {"hour 24", WITH_UNTIL("2026-12-01T24:00:00Z"), 422, "validation-failed"},
        {"date only", WITH_UNTIL("2026-12-01"), 422, "validation-failed"},
        {"space for T and no zone", WITH_UNTIL("2026-12-01 09:00:00"), 422, "validation-failed"},
        {"zone without colon", WITH_UNTIL("2026-12-01T09:00:00+0900"), 422, "validation-failed"},
        {"words", WITH_UNTIL("tomorrow"), 422, "validation-failed"},
        {"trailing text", WITH_UNTIL("2026-12-01T09:00:00Zjunk"), 422, "validation-failed"},
    };
#undef WITH_UNTIL
    POST_EACH(*state, cases);
}

/* a body that is not application/json -> 415 unsupported-media-type */
static void a_wrong_or_missing_content_type_is_415(void **state)
{
    struct server *s = *state;
    const char *const types[] = {
        "Content-Type: text/plain", "Content-Type: application/x-www-form-urlencoded",
        "Content-Type: application/jsonx", "Content-Type: application/merge-patch+json",
        "Content-Type:" /* none at all */};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        long before = notice_count(s);
        struct resp r = api(s, "POST", NOTICES, LIST(AUTH_HEADER, types[i]), VALID_NOTICE,
                            strlen(VALID_NOTICE));
        if (r.status != 415)
            print_error("case: %s\n", types[i]);
        assert_rejected(s, &r, 415, "unsupported-media-type", before);
        resp_free(&r);
    }
}

/* POST without the operator token, or with a wrong one -> 401 unauthorized and a
 * WWW-Authenticate: Bearer challenge (invalid_token when a token was sent) */
static void a_missing_or_wrong_token_is_401(void **state)
{
    struct server *s = *state;
    struct {
        const char *header;
        int invalid_token;
    } cases[] = {
        {"X-No-Auth: 1", 0},
        {"Authorization: Bearer wrong-token-wrong-token-wrong-token", 1},
        {"Authorization: Bearer " ADMIN_TOKEN "x", 1},
        {"Authorization: Bearer api-test-operator-token", 1}, /* a prefix of the token */
        {"Authorization: Bearer ", 1},
        {"Authorization: Basic YWRtaW46YWRtaW4=", 0},
        {"Authorization: " ADMIN_TOKEN, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long before = notice_count(s);
        struct resp r = api(s, "POST", NOTICES, LIST(cases[i].header, JSON_HEADER), VALID_NOTICE,
                            strlen(VALID_NOTICE));
        if (r.status != 401)
            print_error("case: %s\n", cases[i].header);
        assert_rejected(s, &r, 401, "unauthorized", before);
        const char *challenge = resp_header(&r, "WWW-Authenticate");
        assert_non_null(challenge);
        assert_true(strncmp(challenge, "Bearer ", 7) == 0);
        assert_true((strstr(challenge, "error=\"invalid_token\"") != NULL) ==
                    cases[i].invalid_token);
        resp_free(&r);
    }

    /* the token is checked before the content type */
    long before = notice_count(s);
    struct resp r = api(s, "POST", NOTICES, LIST("Content-Type: text/plain"), VALID_NOTICE,
                        strlen(VALID_NOTICE));
    assert_rejected(s, &r, 401, "unauthorized", before);
    resp_free(&r);
}

/* a server started without an operator token knows no operator: the token is just an unknown
 * bearer token -> 401 invalid_token, and no token at all -> 401 */
static void without_a_configured_token_writes_are_401(void **state)
{
    (void)state;
    struct server_config cfg = {.no_admin_token = 1};
    struct server *s = server_start_with(&cfg);
    struct resp r = notice_post(s, VALID_NOTICE);
    assert_rejected(s, &r, 401, "unauthorized", 0);
    assert_non_null(strstr(resp_header(&r, "WWW-Authenticate"), "invalid_token"));
    resp_free(&r);
    r = api(s, "POST", NOTICES, LIST(JSON_HEADER), VALID_NOTICE, strlen(VALID_NOTICE));
    assert_rejected(s, &r, 401, "unauthorized", 0);
    resp_free(&r);
    assert_int_equal(server_stop(s), 0);
    server_free(s);
}

/* a body over the limit (default 1 MiB) -> 413 body-too-large, whether announced by
 * Content-Length (refused before it is sent) or sent chunked without one */
static void a_body_over_the_limit_is_413(void **state)
{
    struct server *s = *state;
    char *filler = str_repeat("x", 1024 * 1024);
    char *big = str_printf("{\"category\":\"general\",\"title\":{\"en\":\"a\"},"
                           "\"body\":{\"en\":\"%s\"}}",
                           filler);
    free(filler);
    size_t len = strlen(big);

    /* Content-Length: the client waits for 100-continue and gets the 413 instead (without
     * Expect, a client still sending when the server closes may see a reset instead) */
    long before = notice_count(s);
    struct resp r =
        api(s, "POST", NOTICES, LIST(AUTH_HEADER, JSON_HEADER, "Expect: 100-continue"), big, len);
    assert_rejected(s, &r, 413, "body-too-large", before);
    assert_header(&r, "Connection", "close");
    resp_free(&r);

    /* the size is checked before the token */
    r = api(s, "POST", NOTICES, LIST(JSON_HEADER, "Expect: 100-continue"), big, len);
    assert_rejected(s, &r, 413, "body-too-large", before);
    resp_free(&r);

    /* chunked: the server reads on, discards, and answers 413 at the end */
    struct body_stream b = {.data = big, .len = len};
    struct request rq = {.method = "POST",
                         .path = NOTICES,
                         .headers = LIST(AUTH_HEADER, JSON_HEADER),
                         .read = body_stream_read,
                         .read_ctx = &b,
                         .read_len = -1};
    CURL *c = client_new();
    r = http_exchange(c, server_port(s), &rq);
    assert_rejected(s, &r, 413, "body-too-large", before);
    resp_free(&r);
    curl_easy_cleanup(c);

    /* the limit is inclusive: exactly 1 MiB is read (a valid notice padded with spaces),
     * one byte more is refused */
    size_t limit = 1024 * 1024;
    char *padded = str_repeat(" ", limit + 1);
    memcpy(padded, VALID_NOTICE, strlen(VALID_NOTICE));
    r = api(s, "POST", NOTICES, LIST(AUTH_HEADER, JSON_HEADER, "Expect: 100-continue"), padded,
            limit + 1);
    assert_rejected(s, &r, 413, "body-too-large", before);
    resp_free(&r);
    r = api(s, "POST", NOTICES, LIST(AUTH_HEADER, JSON_HEADER), padded, limit);
    assert_status(&r, 201);
    resp_free(&r);
    free(padded);
    free(big);
}

/* request line plus headers over the limit (default 16 KiB) -> 431 header-too-large */
static void a_huge_header_is_431(void **state)
{
    struct server *s = *state;
    char *filler = str_repeat("h", 32 * 1024);
    char *header = str_printf("X-Filler: %s", filler);
    long before = notice_count(s);
    struct resp r = api(s, "POST", NOTICES, LIST(AUTH_HEADER, JSON_HEADER, header), VALID_NOTICE,
                        strlen(VALID_NOTICE));
    assert_rejected(s, &r, 431, "header-too-large", before);
    assert_header(&r, "Connection", "close");
    resp_free(&r);

    /* the size is checked before the token */
    r = api(s, "POST", NOTICES, LIST(JSON_HEADER, header), VALID_NOTICE, strlen(VALID_NOTICE));
    assert_rejected(s, &r, 431, "header-too-large", before);
    resp_free(&r);

    /* many small headers add up the same way: 200 x 100 bytes */
    char *value = str_repeat("m", 90);
    const char *headers[203] = {AUTH_HEADER, JSON_HEADER};
    char *lines[200];
    for (int i = 0; i < 200; i++) {
        lines[i] = str_printf("X-Filler-%03d: %s", i, value);
        headers[i + 2] = lines[i];
    }
    headers[202] = NULL;
    r = api(s, "POST", NOTICES, headers, VALID_NOTICE, strlen(VALID_NOTICE));
    assert_rejected(s, &r, 431, "header-too-large", before);
    resp_free(&r);
    for (int i = 0; i < 200; i++)
        free(lines[i]);
    free(value);

    /* headers beyond libmicrohttpd's connection pool (2 x limit + 32 KiB) never reach cityos:
     * the library answers 431 itself, in HTML (see docs/api.md) */
    char *huge = str_repeat("h", 100 * 1024);
    char *huge_header = str_printf("X-Filler: %s", huge);
    r = api(s, "POST", NOTICES, LIST(AUTH_HEADER, JSON_HEADER, huge_header), VALID_NOTICE,
            strlen(VALID_NOTICE));
    assert_status(&r, 431);
    assert_int_equal(notice_count(s), before);
    assert_true(health_ok(s));
    resp_free(&r);
    free(huge_header);
    free(huge);
    free(header);
    free(filler);
}

/* a path that names nothing -> 404 not-found */
static void an_unknown_route_is_404(void **state)
{
    struct server *s = *state;
    const char *const paths[] = {"/api/v1/notice",   "/api/v2/notices", "/api/v1/notices/a/b",
                                 "/api/v1/notices/", "/nothing",        "/health/"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        long before = notice_count(s);
        struct resp r = api(s, "POST", paths[i], LIST(AUTH_HEADER, JSON_HEADER), VALID_NOTICE,
                            strlen(VALID_NOTICE));
        if (r.status != 404)
            print_error("case: POST %s\n", paths[i]);
        assert_rejected(s, &r, 404, "not-found", before);
        assert_string_equal(json_string_value(json_object_get(r.json, "instance")), paths[i]);
        resp_free(&r);
    }
}

/* Does the Allow header list exactly these methods (in any order)? */
static int allow_is(const char *allow, const char *const *methods)
{
    size_t listed = 1, want = 0;
    for (const char *p = allow; *p; p++)
        listed += *p == ',';
    for (; methods[want] != NULL; want++) {
        const char *hit = strstr(allow, methods[want]);
        size_t n = strlen(methods[want]);
        if (hit == NULL || (hit[n] != '\0' && hit[n] != ','))
            return 0;
    }
    return listed == want;
}

/* a method the path does not take -> 405 method-not-allowed with Allow */
static void a_wrong_method_is_405_with_allow(void **state)
{
    struct server *s = *state;
    struct {
        const char *method, *path;
        const char *const *allow;
    } cases[] = {
        {"PUT", NOTICES, LIST("GET", "HEAD", "POST")},
        {"DELETE", NOTICES, LIST("GET", "HEAD", "POST")},
        {"PATCH", NOTICES "/0123456789abcdefghjkmnpqrs", LIST("GET", "HEAD")},
        {"POST", "/health", LIST("GET", "HEAD")},
        {"DELETE", "/metrics", LIST("GET", "HEAD")},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long before = notice_count(s);
        struct resp r = api(s, cases[i].method, cases[i].path, LIST(AUTH_HEADER, JSON_HEADER),
                            VALID_NOTICE, strlen(VALID_NOTICE));
        if (r.status != 405)
            print_error("case: %s %s\n", cases[i].method, cases[i].path);
        assert_rejected(s, &r, 405, "method-not-allowed", before);
        const char *allow = resp_header(&r, "Allow");
        assert_non_null(allow);
        if (!allow_is(allow, cases[i].allow)) {
            print_error("%s %s: Allow: %s\n", cases[i].method, cases[i].path, allow);
            fail();
        }
        resp_free(&r);
    }
}

/* the authentication scheme is case-insensitive (RFC 9110 section 11.1) */
static void a_lower_case_bearer_scheme_is_accepted(void **state)
{
    struct server *s = *state;
    struct resp r = api(s, "POST", NOTICES, LIST("Authorization: bearer " ADMIN_TOKEN, JSON_HEADER),
                        VALID_NOTICE, strlen(VALID_NOTICE));
    assert_status(&r, 201);
    resp_free(&r);
}

/* bad query parameters on the list -> 400 invalid-parameter */
static void invalid_query_parameters_are_400(void **state)
{
    struct server *s = *state;
    char *long_district = str_repeat("%E5%8C%BA", 65); /* 65 x 区 */
    char *too_long = str_printf(NOTICES "?district=%s", long_district);
    const char *const paths[] = {
        NOTICES "?limit=0",
        NOTICES "?limit=101",
        NOTICES "?limit=-1",
        NOTICES "?limit=abc",
        NOTICES "?limit=5x",
        NOTICES "?limit=",
        NOTICES "?limit=99999999999999999999",
        NOTICES "?category=weather",
        NOTICES "?category=",
        NOTICES "?cursor=garbage",
        NOTICES "?cursor=123",
        NOTICES "?cursor=abc.0123456789abcdefghjkmnpqrs",
        NOTICES "?cursor=1700000000000.not-an-id",
        NOTICES "?district=",
        too_long,
        NOTICES "?district=%FF%FE", /* not UTF-8 */
        NOTICES "?page=2",
        NOTICES "?Limit=5",
        NOTICES "?limit=5&sort=asc",
        NOTICES "?limit=+5",
        NOTICES "?limit=%205",
        NOTICES "?limit=1&limit=2", /* repeated: which one would count? */
        NOTICES "?category=health&category=event",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        long before = notice_count(s);
        struct resp r = api_get(s, paths[i]);
        if (r.status != 400)
            print_error("case: GET %s\n", paths[i]);
        assert_rejected(s, &r, 400, "invalid-parameter", before);
        resp_free(&r);
    }
    free(too_long);
    free(long_district);
}

/* a client too slow to send its body (--request-timeout=1) -> 408 request-timeout, and the
 * connection is closed */
static void a_slow_body_is_408(void **state)
{
    (void)state;
    struct server *s = server_start(LIST("--request-timeout=1"));
    struct body_stream b = {
        .data = VALID_NOTICE, .len = strlen(VALID_NOTICE), .first = 10, .pause_ms = 1500};
    struct request rq = {.method = "POST",
                         .path = NOTICES,
                         .headers = LIST(AUTH_HEADER, JSON_HEADER),
                         .read = body_stream_read,
                         .read_ctx = &b,
                         .read_len = (long long)b.len};
    CURL *c = client_new();
    struct resp r = http_exchange(c, server_port(s), &rq);
    assert_rejected(s, &r, 408, "request-timeout", 0);
    assert_header(&r, "Connection", "close");
    resp_free(&r);
    curl_easy_cleanup(c);
    assert_int_equal(server_stop(s), 0);
    server_free(s);
}

/* Connects to 127.0.0.1:port, sends text, and returns the milliseconds until the server closes
 * the connection (-1 after timeout_ms); *answered tells whether any bytes came back. */
static long ms_until_closed(int port, const char *text, int timeout_ms, int *answered)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
    uint64_t start = now_ms();
    long elapsed = -1;
    *answered = 0;
    char buf[4096];
    while (now_ms() - start < (uint64_t)timeout_ms) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            *answered = 1;
            continue;
        }
        elapsed = (long)(now_ms() - start);
        break;
    }
    close(fd);
    return elapsed;
}

/* a client that stops sending in the middle of its body is disconnected after
 * --connection-timeout seconds of silence; nothing is stored */
static void a_stalled_client_is_disconnected(void **state)
{
    (void)state;
    struct server *s = server_start(LIST("--connection-timeout=1"));
    int answered = 0;
    long ms = ms_until_closed(server_port(s),
                              "POST " NOTICES " HTTP/1.1\r\nHost: x\r\n" AUTH_HEADER
                              "\r\n" JSON_HEADER "\r\nContent-Length: 100\r\n\r\n{\"category\":",
                              10000, &answered);
    assert_true(ms >= 0);   /* closed ... */
    assert_true(ms < 5000); /* ... about a second later */
    assert_false(answered);
    json_t *line = server_wait_log(s, "request", "end", "timeout", 5000);
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "path")), NOTICES);
    json_decref(line);
    assert_int_equal(notice_count(s), 0);
    assert_true(health_ok(s));
    assert_int_equal(server_stop(s), 0);
    server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(malformed_json_is_400),
        cmocka_unit_test(a_json_array_or_scalar_is_422),
        cmocka_unit_test(wrong_member_types_are_422),
        cmocka_unit_test(unknown_members_are_422),
        cmocka_unit_test(missing_and_empty_members_are_422),
        cmocka_unit_test(over_long_text_is_422),
        cmocka_unit_test(a_bad_valid_until_is_422),
        cmocka_unit_test(a_wrong_or_missing_content_type_is_415),
        cmocka_unit_test(a_missing_or_wrong_token_is_401),
        cmocka_unit_test(without_a_configured_token_writes_are_401),
        cmocka_unit_test(a_body_over_the_limit_is_413),
        cmocka_unit_test(a_huge_header_is_431),
        cmocka_unit_test(an_unknown_route_is_404),
        cmocka_unit_test(a_wrong_method_is_405_with_allow),
        cmocka_unit_test(invalid_query_parameters_are_400),
        cmocka_unit_test(a_lower_case_bearer_scheme_is_accepted),
        cmocka_unit_test(a_slow_body_is_408),
        cmocka_unit_test(a_stalled_client_is_disconnected),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
