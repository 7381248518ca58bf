/* test_static_files.c - the embedded portal: file names (traversal, encodings, NUL, case,
 * hidden files), lookup of every generated entry, If-None-Match, and the headers of an answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "web/static_files.h"

#define OK(s)  assert_true(web_name_ok((s), strlen(s)))
#define BAD(s) assert_false(web_name_ok((s), strlen(s)))

static void names_of_the_portal_are_accepted(void **state)
{
    (void)state;
    OK("index.html");
    OK("js/app.js");
    OK("css/portal.css");
    OK("a");
    OK("a-b_c.d/e.f");
}

static void traversal_and_odd_names_are_refused(void **state)
{
    (void)state;
    BAD("");
    BAD("..");
    BAD(".");
    BAD("../index.html");
    BAD("js/../index.html");
    BAD("js/..");
    BAD("./index.html");
    BAD(".hidden");
    BAD("js/.hidden");
    BAD("/index.html");
    BAD("js/");
    BAD("js//app.js");
    BAD("a/b/c.js"); /* three segments */
    BAD("js\\app.js");
    BAD("%2e%2e/index.html");
    BAD("Index.html");
    BAD("index.html?x");
    BAD("index html");
    BAD("index.html\n");
    BAD("\xe3\x81\x82.html");
    /* an embedded NUL: the length says there is more than the C string */
    assert_false(web_name_ok("index.html\0.js", 14));
    assert_false(web_name_ok(NULL, 0));
    char longseg[80];
    memset(longseg, 'a', sizeof longseg - 1);
    longseg[sizeof longseg - 1] = '\0';
    BAD(longseg);
    longseg[64] = '\0';
    OK(longseg);
    longseg[64] = 'a';
    longseg[65] = '\0';
    BAD(longseg);
}

static void every_generated_file_is_found_by_its_name(void **state)
{
    (void)state;
    size_t n = 0;
    const struct web_file *files = web_files(&n);
    assert_true(n >= 5);
    for (size_t i = 0; i < n; i++) {
        assert_true(web_name_ok(files[i].name, strlen(files[i].name)));
        assert_ptr_equal(web_file_find(files[i].name, strlen(files[i].name)), &files[i]);
        assert_non_null(files[i].type);
        assert_true(files[i].len > 0);
        assert_int_equal(strlen(files[i].etag), 34);
        if (i > 0)
            assert_true(strcmp(files[i - 1].name, files[i].name) < 0); /* sorted, unique */
    }
    const struct web_file *index = web_file_find("index.html", 10);
    assert_non_null(index);
    assert_string_equal(index->type, "text/html; charset=utf-8");
    const struct web_file *app = web_file_find("js/app.js", 9);
    assert_non_null(app);
    assert_string_equal(app->type, "text/javascript; charset=utf-8");
    assert_string_equal(web_file_find("css/portal.css", 14)->type, "text/css; charset=utf-8");
    assert_null(web_file_find("nothing.html", 12));
    assert_null(web_file_find("js/../index.html", 16));
    assert_null(web_file_find("index.html\0", 11)); /* NUL inside the length */
    assert_null(web_file_find("index.htm", 9));     /* a prefix is not a match */
    assert_null(web_file_find("index.html5", 11));
}

static void if_none_match_compares_entity_tags(void **state)
{
    (void)state;
    const char *etag = "\"abc\"";
    assert_true(web_etag_matches("\"abc\"", etag));
    assert_true(web_etag_matches("W/\"abc\"", etag));
    assert_true(web_etag_matches("\"x\", \"abc\"", etag));
    assert_true(web_etag_matches("  \"x\" ,\t\"abc\"  ", etag));
    assert_true(web_etag_matches("*", etag));
    assert_true(web_etag_matches(" * ", etag));
    assert_false(web_etag_matches(NULL, etag));
    assert_false(web_etag_matches("", etag));
    assert_false(web_etag_matches("abc", etag));
    assert_false(web_etag_matches("\"ab\"", etag));
    assert_false(web_etag_matches("\"abcd\"", etag));
    assert_false(web_etag_matches("\"x\" \"abc\"", etag)); /* no comma: malformed */
    assert_false(web_etag_matches("\"abc", etag));
    assert_false(web_etag_matches("*, \"abc\"", etag));
    assert_false(web_etag_matches("\"x\",", etag));
}

static const char *header(const struct http_request *req, const char *name)
{
    for (const struct http_header *h = req->resp_headers; h != NULL; h = h->next)
        if (strcmp(h->name, name) == 0)
            return h->value;
    return NULL;
}

static void an_answer_carries_type_validator_cache_and_security_headers(void **state)
{
    (void)state;
    const struct web_file *f = web_file_find("index.html", 10);
    struct http_request req;
    memset(&req, 0, sizeof req);
    req.arena = arena_new(0);
    web_file_respond(&req, f, NULL);
    assert_int_equal(req.status, 200);
    assert_string_equal(req.content_type, "text/html; charset=utf-8");
    assert_int_equal(req.resp_len, f->len);
    assert_memory_equal(req.resp_body, f->data, f->len);
    assert_string_equal(header(&req, "ETag"), f->etag);
    assert_string_equal(header(&req, "Cache-Control"), "no-cache");
    assert_string_equal(header(&req, "Content-Security-Policy"), web_csp);
    assert_non_null(strstr(web_csp, "script-src 'self';"));
    assert_non_null(strstr(web_csp, "connect-src 'self';"));
    assert_null(strstr(web_csp, "unsafe-inline"));
    assert_null(strstr(web_csp, "unsafe-eval"));
    assert_string_equal(header(&req, "X-Frame-Options"), "DENY");
    assert_string_equal(header(&req, "Referrer-Policy"), "no-referrer");
    arena_free(req.arena);

    memset(&req, 0, sizeof req);
    req.arena = arena_new(0);
    web_file_respond(&req, f, f->etag);
    assert_int_equal(req.status, 304);
    assert_int_equal(req.resp_len, 0);
    assert_string_equal(header(&req, "ETag"), f->etag);
    arena_free(req.arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_of_the_portal_are_accepted),
        cmocka_unit_test(traversal_and_odd_names_are_refused),
        cmocka_unit_test(every_generated_file_is_found_by_its_name),
        cmocka_unit_test(if_none_match_compares_entity_tags),
        cmocka_unit_test(an_answer_carries_type_validator_cache_and_security_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
