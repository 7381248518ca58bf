/* test_clock.c - RFC 3339 parsing and formatting: zones, fractions, leap days, and rejects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/err.h"

static void parses_zones_and_fractions(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(clock_parse_rfc3339("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(clock_parse_rfc3339("2026-12-01T09:00:00+09:00", &ms), 0);
    assert_int_equal(ms, 1796083200000LL); /* 2026-12-01T00:00:00Z */
    assert_int_equal(clock_parse_rfc3339("2026-12-01T00:00:00.5Z", &ms), 0);
    assert_int_equal(ms, 1796083200500LL);
    assert_int_equal(clock_parse_rfc3339("2024-02-29T12:00:00.123456-05:30", &ms), 0);
    assert_int_equal(ms, 1709227800123LL);
    assert_int_equal(clock_parse_rfc3339("1969-12-31T23:59:59Z", &ms), 0);
    assert_int_equal(ms, -1000);
}

static void rejects_malformed(void **state)
{
    (void)state;
    int64_t ms;
    const char *bad[] = {"",
                         "2026-12-01",
                         "2026-12-01T09:00:00",      /* no zone */
                         "2026-13-01T09:00:00Z",     /* month */
                         "2025-02-29T09:00:00Z",     /* not a leap year */
                         "2026-12-01T24:00:00Z",     /* hour */
                         "2026-12-01T09:00:00.Z",    /* empty fraction */
                         "2026-12-01T09:00:00+9:00", /* offset digits */
                         "2026-12-01T09:00:00Zjunk", /* trailing */
                         "2026-12-01 09:00:00Z",     /* separator */
                         "+2026-12-01T09:00:00Z",
                         "0000-01-01T00:00:00+01:00", /* before year 0000 in UTC */
                         "9999-12-31T23:00:00-01:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(clock_parse_rfc3339(bad[i], &ms), ERR_INVALID);
}

static void formats_round_trip(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(clock_format_ms(1796083200500LL, buf, sizeof buf),
                        "2026-12-01T00:00:00.500Z");
    assert_string_equal(clock_format_ms(-1, buf, sizeof buf), "1969-12-31T23:59:59.999Z");
    int64_t ms, now = clock_now_ms();
    assert_int_equal(clock_parse_rfc3339(clock_format_ms(now, buf, sizeof buf), &ms), 0);
    assert_int_equal(ms, now);
    uint64_t a = clock_mono_ns(), b = clock_mono_ns();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_zones_and_fractions),
        cmocka_unit_test(rejects_malformed),
        cmocka_unit_test(formats_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
