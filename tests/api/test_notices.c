/* test_notices.c - city notices as a specification: create, read back, list newest first, page
 * with limit and next, filter by category and district, 404s, and survival of a restart. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

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

/* POSTs a notice with an English title and body, and the district when not NULL; asserts 201
 * and returns the created document (caller decrefs). */
static json_t *create(struct server *s, const char *category, const char *title,
                      const char *district)
{
    json_t *in = json_pack("{s:s, s:{s:s}, s:{s:s}}", "category", category, "title", "en", title,
                           "body", "en", "Details at the city office.");
    if (district != NULL)
        json_object_set_new(in, "district", json_string(district));
    char *text = json_dumps(in, JSON_COMPACT);
    json_decref(in);
    struct resp r = notice_post(s, text);
    free(text);
    assert_status(&r, 201);
    json_t *doc = json_incref(r.json);
    resp_free(&r);
    assert_non_null(doc);
    return doc;
}

/* Every item of a listing, following "next" from path; asserts 200 on every page. Also counts
 * the pages and checks that only the last one lacks "next". */
static json_t *list_all(struct server *s, const char *path, int *pages)
{
    json_t *all = json_array();
    char *next = strdup(path);
    int n = 0;
    while (next != NULL) {
        assert_true(++n < 1000);
        struct resp r = api_get(s, next);
        free(next);
        next = NULL;
        assert_status(&r, 200);
        assert_header(&r, "Content-Type", "application/json");
        json_t *items = json_object_get(r.json, "items");
        assert_true(json_is_array(items));
        json_array_extend(all, items);
        const char *link = json_string_value(json_object_get(r.json, "next"));
        if (link != NULL) {
            assert_true(strncmp(link, NOTICES "?", strlen(NOTICES "?")) == 0);
            assert_true(json_array_size(items) > 0);
            next = strdup(link);
        }
        resp_free(&r);
    }
    if (pages != NULL)
        *pages = n;
    return all;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int is_notice_id(const char *id)
{
    return id != NULL && strlen(id) == 26 && strspn(id, "0123456789abcdefghjkmnpqrstvwxyz") == 26;
}

/* "2026-01-02T03:04:05.678Z" */
static int is_utc_timestamp(const char *t)
{
    return t != NULL && strlen(t) == 24 && t[4] == '-' && t[7] == '-' && t[10] == 'T' &&
           t[13] == ':' && t[16] == ':' && t[19] == '.' && t[23] == 'Z';
}

/* POST /api/v1/notices -> 201, Location /api/v1/notices/{id}, the stored document; GET on the
 * Location -> 200, the same bytes */
static void create_answers_201_with_location_and_document(void **state)
{
    struct server *s = *state;
    const char *in = "{\"category\":\"disaster\","
                     "\"title\":{\"ja\":\"避難訓練のお知らせ\",\"en\":\"Evacuation drill\"},"
                     "\"body\":{\"ja\":\"12月1日に避難訓練を行います。\","
                     "\"en\":\"An evacuation drill takes place on 1 December.\"},"
                     "\"district\":\"中央区\",\"validUntil\":\"2026-12-01T09:00:00+09:00\"}";
    struct resp r = notice_post(s, in);
    assert_status(&r, 201);
    assert_header(&r, "Content-Type", "application/json");
    const char *id = str(r.json, "id");
    assert_true(is_notice_id(id));
    char *location = str_printf(NOTICES "/%s", id);
    assert_header(&r, "Location", location);
    assert_string_equal(str(r.json, "category"), "disaster");
    assert_string_equal(str(json_object_get(r.json, "title"), "ja"), "避難訓練のお知らせ");
    assert_string_equal(str(json_object_get(r.json, "title"), "en"), "Evacuation drill");
    assert_string_equal(str(json_object_get(r.json, "body"), "ja"),
                        "12月1日に避難訓練を行います。");
    assert_string_equal(str(json_object_get(r.json, "body"), "en"),
                        "An evacuation drill takes place on 1 December.");
    assert_string_equal(str(r.json, "district"), "中央区");
    assert_string_equal(str(r.json, "validUntil"), "2026-12-01T00:00:00.000Z"); /* UTC */
    assert_true(is_utc_timestamp(str(r.json, "createdAt")));
    assert_int_equal(json_object_size(r.json), 7);

    struct resp g = api_get(s, location);
    assert_status(&g, 200);
    assert_header(&g, "Content-Type", "application/json");
    assert_string_equal(g.body, r.body);
    resp_free(&g);
    resp_free(&r);
    free(location);
}

/* district and validUntil are optional and absent from the document when not given */
static void a_minimal_notice_has_no_district_or_valid_until(void **state)
{
    struct server *s = *state;
    struct resp r = notice_post(
        s, "{\"category\":\"general\",\"title\":{\"ja\":\"お知らせ\"},\"body\":{\"ja\":\"本文\"}}");
    assert_status(&r, 201);
    assert_null(json_object_get(r.json, "district"));
    assert_null(json_object_get(r.json, "validUntil"));
    assert_null(json_object_get(json_object_get(r.json, "title"), "en"));
    assert_int_equal(json_object_size(r.json), 5); /* id category title body createdAt */
    resp_free(&r);
}

/* Content-Type parameters are fine: application/json; charset=utf-8 */
static void json_with_a_charset_is_accepted(void **state)
{
    struct server *s = *state;
    const char *in =
        "{\"category\":\"event\",\"title\":{\"en\":\"Fair\"},\"body\":{\"en\":\"Sat\"}}";
    struct resp r =
        api(s, "POST", NOTICES, LIST(AUTH_HEADER, "Content-Type: application/json; charset=utf-8"),
            in, strlen(in));
    assert_status(&r, 201);
    resp_free(&r);
}

/* each of the six categories is accepted */
static void every_category_is_accepted(void **state)
{
    struct server *s = *state;
    const char *const categories[] = {"general",   "health", "disaster",
                                      "transport", "event",  "welfare"};
    for (size_t i = 0; i < 6; i++) {
        json_t *doc = create(s, categories[i], "Category check", NULL);
        assert_string_equal(str(doc, "category"), categories[i]);
        json_decref(doc);
    }
}

/* limits count characters, not bytes, and are inclusive: a 200-character Japanese title, an
 * 8000-character body and a 64-character district are accepted */
static void limits_are_characters_and_inclusive(void **state)
{
    struct server *s = *state;
    char *title = str_repeat("あ", 200), *body = str_repeat("本", 8000);
    char *district = str_repeat("区", 64);
    json_t *in = json_pack("{s:s, s:{s:s}, s:{s:s}, s:s}", "category", "general", "title", "ja",
                           title, "body", "ja", body, "district", district);
    char *text = json_dumps(in, JSON_COMPACT);
    struct resp r = notice_post(s, text);
    assert_status(&r, 201);
    assert_string_equal(str(json_object_get(r.json, "title"), "ja"), title);
    assert_string_equal(str(json_object_get(r.json, "body"), "ja"), body);
    assert_string_equal(str(r.json, "district"), district);
    resp_free(&r);
    free(text);
    json_decref(in);
    free(title);
    free(body);
    free(district);
}

/* validUntil is informational: a notice past it is still served and listed */
static void a_notice_past_valid_until_is_still_listed(void **state)
{
    struct server *s = *state;
    struct resp r = notice_post(s, "{\"category\":\"event\",\"title\":{\"en\":\"Past fair\"},"
                                   "\"body\":{\"en\":\"Over\"},"
                                   "\"validUntil\":\"2001-02-03T04:05:06.789-01:00\"}");
    assert_status(&r, 201);
    assert_string_equal(str(r.json, "validUntil"), "2001-02-03T05:05:06.789Z");
    struct resp l = api_get(s, NOTICES "?limit=1");
    assert_status(&l, 200);
    assert_true(json_equal(json_array_get(json_object_get(l.json, "items"), 0), r.json));
    resp_free(&l);
    resp_free(&r);
}

/* the Unix epoch is a date like any other, not "no end" */
static void a_valid_until_at_the_epoch_is_kept(void **state)
{
    struct server *s = *state;
    struct resp r = notice_post(s, "{\"category\":\"event\",\"title\":{\"en\":\"Epoch\"},"
                                   "\"body\":{\"en\":\"1970\"},"
                                   "\"validUntil\":\"1970-01-01T00:00:00Z\"}");
    assert_status(&r, 201);
    assert_string_equal(str(r.json, "validUntil"), "1970-01-01T00:00:00.000Z");
    resp_free(&r);
}

/* GET /api/v1/notices/{unknown} -> 404 not-found (well-formed or not) */
static void an_unknown_id_is_404(void **state)
{
    struct server *s = *state;
    struct resp r = api_get(s, NOTICES "/0123456789abcdefghjkmnpqrs");
    assert_problem(&r, 404, "not-found");
    assert_string_equal(str(r.json, "instance"), NOTICES "/0123456789abcdefghjkmnpqrs");
    resp_free(&r);
    r = api_get(s, NOTICES "/not-an-id");
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = api_get(s, NOTICES "/0123456789ABCDEFGHJKMNPQRS"); /* ids are lower case */
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
}

/* the listing is newest first */
static void the_list_is_newest_first(void **state)
{
    struct server *s = *state;
    json_t *a = create(s, "general", "first", NULL);
    sleep_ms(3); /* distinct creation times */
    json_t *b = create(s, "general", "second", NULL);
    sleep_ms(3);
    json_t *c = create(s, "general", "third", NULL);

    struct resp r = api_get(s, NOTICES "?limit=3");
    assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(str(json_array_get(items, 0), "id"), str(c, "id"));
    assert_string_equal(str(json_array_get(items, 1), "id"), str(b, "id"));
    assert_string_equal(str(json_array_get(items, 2), "id"), str(a, "id"));
    assert_true(json_equal(json_array_get(items, 0), c)); /* the whole document */
    resp_free(&r);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

/* paging with limit and next visits every notice exactly once, newest first; the last page
 * has no next; without limit a page holds 20 */
static void paging_visits_every_notice_exactly_once(void **state)
{
    (void)state;
    struct server *s = server_start(NULL); /* an empty store: the counts are exact */
    const char *ids[25];
    json_t *docs[25];
    for (int i = 0; i < 25; i++) {
        char title[32];
        snprintf(title, sizeof title, "notice %d", i);
        docs[i] = create(s, i % 2 ? "event" : "transport", title, NULL);
        ids[i] = str(docs[i], "id");
        sleep_ms(2);
    }

    int pages = 0;
    json_t *all = list_all(s, NOTICES "?limit=7", &pages);
    assert_int_equal(pages, 4); /* 7 + 7 + 7 + 4 */
    assert_int_equal(json_array_size(all), 25);
    for (int i = 0; i < 25; i++) /* newest first: the reverse of creation */
        assert_string_equal(str(json_array_get(all, (size_t)i), "id"), ids[24 - i]);
    json_decref(all);

    all = list_all(s, NOTICES "?limit=5", &pages); /* a full last page has no next either */
    assert_int_equal(pages, 5);
    assert_int_equal(json_array_size(all), 25);
    json_decref(all);

    struct resp r = api_get(s, NOTICES);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 20);
    const char *next = str(r.json, "next");
    assert_non_null(next);
    assert_true(strncmp(next, NOTICES "?limit=20&cursor=", strlen(NOTICES "?limit=20&cursor=")) ==
                0);
    resp_free(&r);

    r = api_get(s, NOTICES "?limit=100");
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 25);
    assert_null(json_object_get(r.json, "next"));
    resp_free(&r);

    for (int i = 0; i < 25; i++)
        json_decref(docs[i]);
    assert_int_equal(server_stop(s), 0);
    server_free(s);
}

/* ?category= lists only that category, and pages keep the filter */
static void the_category_filter_lists_only_that_category(void **state)
{
    struct server *s = *state;
    json_t *before = list_all(s, NOTICES "?category=welfare&limit=100", NULL);
    json_t *w1 = create(s, "welfare", "Meal delivery", NULL);
    json_t *e1 = create(s, "event", "Summer festival", NULL);
    json_t *w2 = create(s, "welfare", "Care consultation", NULL);

    int pages = 0;
    json_t *after = list_all(s, NOTICES "?category=welfare&limit=1", &pages);
    assert_int_equal(json_array_size(after), json_array_size(before) + 2);
    assert_int_equal(pages, (int)json_array_size(after));
    size_t i;
    for (i = 0; i < json_array_size(after); i++)
        assert_string_equal(str(json_array_get(after, i), "category"), "welfare");
    assert_string_equal(str(json_array_get(after, 0), "id"), str(w2, "id"));
    assert_string_equal(str(json_array_get(after, 1), "id"), str(w1, "id"));
    json_decref(before);
    json_decref(after);
    json_decref(w1);
    json_decref(w2);
    json_decref(e1);
}

/* ?district= (URL-encoded UTF-8) lists only that district; next links keep it encoded */
static void the_district_filter_takes_a_japanese_name(void **state)
{
    struct server *s = *state;
#define CHUO "%E4%B8%AD%E5%A4%AE%E5%8C%BA" /* 中央区 */
    json_t *before = list_all(s, NOTICES "?district=" CHUO, NULL);
    json_t *a = create(s, "transport", "Road works", "中央区");
    json_t *b = create(s, "transport", "Bus detour", "北区");
    json_t *c = create(s, "health", "Clinic hours", "中央区");
    json_t *d = create(s, "health", "Clinic hours", "中央区二丁目");
    json_t *e = create(s, "health", "City-wide check-ups", NULL);

    int pages = 0;
    json_t *after = list_all(s, NOTICES "?limit=1&district=" CHUO, &pages);
    assert_int_equal(json_array_size(after), json_array_size(before) + 2);
    size_t i;
    for (i = 0; i < json_array_size(after); i++)
        assert_string_equal(str(json_array_get(after, i), "district"), "中央区");
    assert_string_equal(str(json_array_get(after, 0), "id"), str(c, "id"));
    assert_string_equal(str(json_array_get(after, 1), "id"), str(a, "id"));

    /* both filters at once */
    json_t *both = list_all(s, NOTICES "?category=health&district=" CHUO "&limit=1", NULL);
    for (i = 0; i < json_array_size(both); i++) {
        assert_string_equal(str(json_array_get(both, i), "district"), "中央区");
        assert_string_equal(str(json_array_get(both, i), "category"), "health");
    }
    assert_string_equal(str(json_array_get(both, 0), "id"), str(c, "id"));
#undef CHUO
    json_decref(both);
    json_decref(before);
    json_decref(after);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(e);
}

/* notices survive a restart of the server on the same data folder */
static void notices_survive_a_restart(void **state)
{
    struct server *s = *state;
    json_t *a = create(s, "disaster", "Typhoon shelter open", "南区");
    json_t *b = create(s, "general", "Office closed on Monday", NULL);
    long count = notice_count(s);
    assert_true(count >= 2);

    server_restart(s);

    assert_int_equal(notice_count(s), count);
    json_t *docs[] = {a, b};
    for (size_t i = 0; i < 2; i++) {
        char *path = str_printf(NOTICES "/%s", str(docs[i], "id"));
        struct resp r = api_get(s, path);
        assert_status(&r, 200);
        assert_true(json_equal(r.json, docs[i]));
        resp_free(&r);
        free(path);
    }
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_answers_201_with_location_and_document),
        cmocka_unit_test(a_minimal_notice_has_no_district_or_valid_until),
        cmocka_unit_test(json_with_a_charset_is_accepted),
        cmocka_unit_test(every_category_is_accepted),
        cmocka_unit_test(limits_are_characters_and_inclusive),
        cmocka_unit_test(a_notice_past_valid_until_is_still_listed),
        cmocka_unit_test(a_valid_until_at_the_epoch_is_kept),
        cmocka_unit_test(an_unknown_id_is_404),
        cmocka_unit_test(the_list_is_newest_first),
        cmocka_unit_test(paging_visits_every_notice_exactly_once),
        cmocka_unit_test(the_category_filter_lists_only_that_category),
        cmocka_unit_test(the_district_filter_takes_a_japanese_name),
        cmocka_unit_test(notices_survive_a_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
