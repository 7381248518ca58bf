/* test_scope_cache.c - the shared parsed scope sets: one per distinct text, the same as
 * id_scope_parse() gives, errors as it reports them, a full cache falling back to the arena, and
 * racing first uses agreeing on one set. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "identity/scope_cache.h"

static void assert_same_as_parsed(const struct id_scope_set *got, const char *text)
{
    struct id_scope_set *want = malloc(sizeof *want);
    struct err e = {0};
    assert_non_null(want);
    assert_int_equal(id_scope_parse(text, want, &e), 0);
    assert_int_equal(got->n, want->n);
    assert_true(id_scope_subset(got, want, NULL) && id_scope_subset(want, got, NULL));
    free(want);
}

static void one_set_per_text(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096);
    struct err e = {0};
    const char *t1 = "openid launch/patient patient/*.cruds";
    const struct id_scope_set *s1 = id_scope_set_of(t1, a, &e);
    assert_non_null(s1);
    assert_same_as_parsed(s1, t1);
    assert_ptr_equal(id_scope_set_of(t1, a, &e), s1); /* the cached one again */
    char copy[64];
    snprintf(copy, sizeof copy, "%s", t1); /* by text, not by pointer */
    assert_ptr_equal(id_scope_set_of(copy, a, &e), s1);
    const struct id_scope_set *s2 = id_scope_set_of("openid patient/Observation.rs", a, &e);
    assert_non_null(s2);
    assert_ptr_not_equal(s2, s1);
    assert_same_as_parsed(s2, "openid patient/Observation.rs");
    const struct id_scope_set *empty = id_scope_set_of(NULL, a, &e);
    assert_non_null(empty);
    assert_int_equal(empty->n, 0);
    assert_ptr_equal(id_scope_set_of("", a, &e), empty);
    id_scope_cache_clear();
    arena_free(a);
}

static void errors_as_parse_reports_them(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096);
    struct err e = {0};
    assert_null(id_scope_set_of("openid  patient/Observation.rs", a, &e));
    assert_int_equal(e.code, ERR_INVALID);
    e = (struct err){0};
    assert_null(id_scope_set_of("patient/Observation.x", a, &e));
    assert_int_equal(e.code, ERR_INVALID);
    /* nothing cached for a bad text: the next good one still works */
    assert_non_null(id_scope_set_of("openid", a, &e));
    id_scope_cache_clear();
    arena_free(a);
}

static void full_cache_parses_into_the_arena(void **state)
{
    (void)state;
    struct arena *a = arena_new(1 << 20);
    struct err e = {0};
    char text[64];
    const struct id_scope_set *first = NULL;
    for (int i = 0; i < ID_SCOPE_CACHE_MAX + 8; i++) {
        snprintf(text, sizeof text, "openid cityos.extra%d", i);
        const struct id_scope_set *s = id_scope_set_of(text, a, &e);
        assert_non_null(s);
        assert_same_as_parsed(s, text);
        if (i == 0)
            first = s;
        if (i >= ID_SCOPE_CACHE_MAX) /* not cached: a fresh copy each time */
            assert_ptr_not_equal(id_scope_set_of(text, a, &e), s);
    }
    assert_ptr_equal(id_scope_set_of("openid cityos.extra0", a, &e), first);
    id_scope_cache_clear();
    arena_free(a);
}

struct racer {
    const struct id_scope_set *got[200];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct arena *a = arena_new(1 << 16);
    struct err e = {0};
    char text[64];
    for (int i = 0; i < 200; i++) {
        snprintf(text, sizeof text, "openid patient/Observation.r cityos.race%d", i % 40);
        r->got[i] = id_scope_set_of(text, a, &e);
    }
    arena_free(a);
    return NULL;
}

static void racing_first_uses_agree(void **state)
{
    (void)state;
    struct racer r[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < 200; i++) {
        assert_non_null(r[0].got[i]);
        for (int k = 1; k < 4; k++)
            assert_ptr_equal(r[k].got[i], r[0].got[i]);
    }
    id_scope_cache_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_set_per_text),
        cmocka_unit_test(errors_as_parse_reports_them),
        cmocka_unit_test(full_cache_parses_into_the_arena),
        cmocka_unit_test(racing_first_uses_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
