/* test_html.c - the page builder escapes & < > " ' and nothing else, and html_lang_accept picks
 * Japanese or English from an Accept-Language value by q-values (RFC 9110 12.5.4), with
 * Japanese for ties, for nothing usable and for malformed parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/arena.h"
#include "http/html.h"

static int setup(void **state)
{
    struct arena *a = arena_new(0);
    *state = a;
    return a != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

/* html_text(text) alone in a fresh builder. */
static const char *escaped(struct arena *a, const char *text)
{
    struct html_buf b;
    html_init(&b, a);
    html_text(&b, text);
    assert_int_equal(b.nomem, 0);
    return b.p != NULL ? b.p : "";
}

static void text_escapes_the_five_characters(void **state)
{
    struct arena *a = *state;
    assert_string_equal(escaped(a, "&"), "&amp;");
    assert_string_equal(escaped(a, "<"), "&lt;");
    assert_string_equal(escaped(a, ">"), "&gt;");
    assert_string_equal(escaped(a, "\""), "&quot;");
    assert_string_equal(escaped(a, "'"), "&#39;");
    assert_string_equal(escaped(a, "<script>alert('x&y')</script>"),
                        "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;");
    assert_string_equal(escaped(a, "\" onfocus=\"x"), "&quot; onfocus=&quot;x");
    /* an entity in the input is text, escaped again */
    assert_string_equal(escaped(a, "&amp;"), "&amp;amp;");
    assert_string_equal(escaped(a, "<<>>"), "&lt;&lt;&gt;&gt;");
}

static void text_keeps_everything_else(void **state)
{
    struct arena *a = *state;
    assert_string_equal(escaped(a, "みなとPHR (sample app)"), "みなとPHR (sample app)");
    assert_string_equal(escaped(a, "a/b=c;d`e"), "a/b=c;d`e");
    assert_string_equal(escaped(a, ""), "");
    struct html_buf b;
    html_init(&b, a);
    html_text(&b, NULL); /* NULL appends nothing */
    assert_int_equal(b.len, 0);
    html_text(&b, "x<");
    html_raw(&b, "<b>");
    html_text(&b, "&");
    assert_string_equal(b.p, "x&lt;<b>&amp;");
    assert_int_equal(b.len, strlen(b.p));
}

/* more than the first chunk: the buffer grows and keeps what it had */
static void text_grows_past_the_first_chunk(void **state)
{
    struct arena *a = *state;
    struct html_buf b;
    html_init(&b, a);
    for (int i = 0; i < 2000; i++)
        html_text(&b, "<&>");
    assert_int_equal(b.nomem, 0);
    assert_int_equal(b.len, 2000 * strlen("&lt;&amp;&gt;"));
    for (int i = 0; i < 2000; i++)
        assert_memory_equal(b.p + i * 13, "&lt;&amp;&gt;", 13);
    assert_int_equal(b.p[b.len], '\0');
}

static void begin_escapes_the_title_and_names_the_language(void **state)
{
    struct arena *a = *state;
    struct html_buf b;
    html_init(&b, a);
    html_begin(&b, HTML_LANG_EN, "A <title> & \"more\"");
    html_end(&b);
    assert_non_null(strstr(b.p, "<html lang=\"en\">"));
    assert_non_null(strstr(b.p, "<title>A &lt;title&gt; &amp; &quot;more&quot;</title>"));
    assert_non_null(strstr(b.p, "</main></body></html>"));
    html_init(&b, a);
    html_begin(&b, HTML_LANG_JA, "x");
    assert_non_null(strstr(b.p, "<html lang=\"ja\">"));
    assert_string_equal(html_lang_code(HTML_LANG_JA), "ja");
    assert_string_equal(html_lang_code(HTML_LANG_EN), "en");
    assert_string_equal(HTML_T(HTML_LANG_EN, "日本語", "English"), "English");
    assert_string_equal(HTML_T(HTML_LANG_JA, "日本語", "English"), "日本語");
}

#define JA HTML_LANG_JA
#define EN HTML_LANG_EN

static void accept_single_languages(void **state)
{
    (void)state;
    assert_int_equal(html_lang_accept(NULL), JA);
    assert_int_equal(html_lang_accept(""), JA);
    assert_int_equal(html_lang_accept("ja"), JA);
    assert_int_equal(html_lang_accept("en"), EN);
    assert_int_equal(html_lang_accept("en-GB"), EN);
    assert_int_equal(html_lang_accept("en-US"), EN);
    assert_int_equal(html_lang_accept("EN-us"), EN);
    assert_int_equal(html_lang_accept("ja-JP"), JA);
    assert_int_equal(html_lang_accept("fr"), JA); /* neither: Japanese */
    assert_int_equal(html_lang_accept("de-CH"), JA);
    assert_int_equal(html_lang_accept("*"), JA); /* both equally: Japanese */
    assert_int_equal(html_lang_accept("  en  "), EN);
    /* a tag that only starts with the letters is another language */
    assert_int_equal(html_lang_accept("english"), JA);
    assert_int_equal(html_lang_accept("enx"), JA);
    assert_int_equal(html_lang_accept("e"), JA);
}

static void accept_by_q_values(void **state)
{
    (void)state;
    assert_int_equal(html_lang_accept("en;q=0.9, ja;q=0.8"), EN);
    assert_int_equal(html_lang_accept("ja;q=0.8, en;q=0.9"), EN);
    assert_int_equal(html_lang_accept("ja,en"), JA); /* a tie (both q=1): Japanese */
    assert_int_equal(html_lang_accept("en,ja"), JA); /* order does not matter, q does */
    assert_int_equal(html_lang_accept("en,ja;q=0.5"), EN);
    assert_int_equal(html_lang_accept("ja;q=0.5,en"), EN);
    assert_int_equal(html_lang_accept("fr, en;q=0.1"), EN);
    assert_int_equal(html_lang_accept("en;q=0.999, ja;q=0.998"), EN);
    assert_int_equal(html_lang_accept("en;q=0.998, ja;q=0.999"), JA);
    assert_int_equal(html_lang_accept("en-US,en;q=0.9,ja;q=0.8"), EN); /* a common browser */
    assert_int_equal(html_lang_accept("ja,en-US;q=0.9,en;q=0.8"), JA);
    assert_int_equal(html_lang_accept("en; q=0.8, ja; q=0.7"), EN); /* spaces */
    assert_int_equal(html_lang_accept("en;Q=0.8,ja;Q=0.7"), EN);    /* Q in capitals */
    assert_int_equal(html_lang_accept("en;q=1.0,ja;q=0.9"), EN);
    assert_int_equal(html_lang_accept("en;q=1,ja;q=0.9"), EN);
    /* the best q of a language counts */
    assert_int_equal(html_lang_accept("en;q=0.1, ja;q=0.5, en-GB;q=0.7"), EN);
    /* q=0 means "not acceptable": never English for it */
    assert_int_equal(html_lang_accept("en;q=0"), JA);
    assert_int_equal(html_lang_accept("en;q=0.0, ja;q=0"), JA);
    assert_int_equal(html_lang_accept("ja;q=0, en;q=0.001"), EN);
}

static void accept_with_the_wildcard(void **state)
{
    (void)state;
    assert_int_equal(html_lang_accept("*;q=0.5, en"), EN);
    assert_int_equal(html_lang_accept("*;q=0.5, ja"), JA);
    assert_int_equal(html_lang_accept("en;q=0.5, *"), JA); /* * gives ja q=1 too: a tie */
    assert_int_equal(html_lang_accept("fr, *;q=0.1"), JA);
}

static void accept_malformed_parts(void **state)
{
    (void)state;
    assert_int_equal(html_lang_accept(",,,en"), EN); /* empty elements are skipped */
    assert_int_equal(html_lang_accept("en,,,"), EN);
    assert_int_equal(html_lang_accept(","), JA);
    assert_int_equal(html_lang_accept(";;;"), JA);
    assert_int_equal(html_lang_accept("en;q=abc"), JA); /* not a q-value: q=0 */
    assert_int_equal(html_lang_accept("en;q=-1"), JA);
    assert_int_equal(html_lang_accept("en;q=00.9"), JA);
    assert_int_equal(html_lang_accept("ja;q=abc, en;q=0.1"), EN);
    assert_int_equal(html_lang_accept(";q=0.9"), JA); /* no tag */
    assert_int_equal(html_lang_accept("\t en"), JA);  /* a tab is not OWS here: no tag */
    /* many elements are bounded by the value itself */
    char many[4096];
    size_t n = 0;
    while (n + 6 < sizeof many) {
        memcpy(many + n, "fr,de,", 6);
        n += 6;
    }
    memcpy(many + n - 3, "en", 3);
    assert_int_equal(html_lang_accept(many), EN);
}

/* The header documents "malformed parts count as q=0". A q parameter with no value ("en;q=")
 * is malformed; html.c's qvalue() returns 1000 for any parameter text shorter than three
 * bytes, so "en;q=" counts as q=1 today. Written to the documented behaviour. */
static void accept_an_empty_q_counts_as_zero(void **state)
{
    (void)state;
    assert_int_equal(html_lang_accept("en;q="), JA);
    assert_int_equal(html_lang_accept("ja;q=0.5, en;q="), JA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(text_escapes_the_five_characters, setup, teardown),
        cmocka_unit_test_setup_teardown(text_keeps_everything_else, setup, teardown),
        cmocka_unit_test_setup_teardown(text_grows_past_the_first_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(begin_escapes_the_title_and_names_the_language, setup,
                                        teardown),
        cmocka_unit_test(accept_single_languages),
        cmocka_unit_test(accept_by_q_values),
        cmocka_unit_test(accept_with_the_wildcard),
        cmocka_unit_test(accept_malformed_parts),
        cmocka_unit_test(accept_an_empty_q_counts_as_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
