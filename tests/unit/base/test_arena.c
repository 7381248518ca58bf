/* test_arena.c - the request arena: alignment, growth past a chunk, huge requests, deferred
 * cleanups in reverse order, and printf helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"

static void allocations_are_aligned_and_distinct(void **state)
{
    (void)state;
    struct arena *a = arena_new(64);
    assert_non_null(a);
    char *prev = NULL;
    for (int i = 1; i < 200; i++) {
        char *p = arena_alloc(a, (size_t)i);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        memset(p, 0xAB, (size_t)i); /* ASan flags any overlap or overflow */
        assert_ptr_not_equal(p, prev);
        prev = p;
    }
    assert_true(arena_used(a) >= 199 * 200 / 2);
    arena_free(a);
}

static void large_allocation_gets_its_own_chunk(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    char *small = arena_alloc(a, 16);
    char *big = arena_alloc(a, 5 * 1024 * 1024);
    assert_non_null(big);
    memset(big, 1, 5 * 1024 * 1024);
    char *after = arena_alloc(a, 16); /* still served from the first chunk's free space */
    assert_non_null(after);
    assert_true(after > small && after - small < 4096);
    assert_null(arena_alloc(a, ((size_t)1 << 30) + 1));
    arena_free(a);
}

static int order[4];
static int norder;
static void record(void *p)
{
    order[norder++] = *(int *)p;
}

static void deferred_cleanups_run_last_first(void **state)
{
    (void)state;
    static int one = 1, two = 2, three = 3;
    struct arena *a = arena_new(0);
    norder = 0;
    assert_int_equal(arena_defer(a, record, &one), 0);
    assert_int_equal(arena_defer(a, record, &two), 0);
    assert_int_equal(arena_defer(a, record, &three), 0);
    arena_free(a);
    assert_int_equal(norder, 3);
    assert_int_equal(order[0], 3);
    assert_int_equal(order[2], 1);
    arena_free(NULL);
}

static void printf_and_strdup_copy(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    assert_string_equal(arena_printf(a, "%s-%d", "req", 42), "req-42");
    assert_string_equal(arena_strndup(a, "abcdef", 3), "abc");
    assert_string_equal(arena_strdup(a, "湊"), "湊");
    char *z = arena_zalloc(a, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(z[i], 0);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allocations_are_aligned_and_distinct),
        cmocka_unit_test(large_allocation_gets_its_own_chunk),
        cmocka_unit_test(deferred_cleanups_run_last_first),
        cmocka_unit_test(printf_and_strdup_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
