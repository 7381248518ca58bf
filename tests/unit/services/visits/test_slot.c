/* test_slot.c - the pure parts of the visits: Tokyo dates and times (+09:00, no daylight
 * saving), slot generation at every boundary, the reminder window, and the strict request
 * parsers (each bad field named, nothing half-read). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "services/visits/internal.h"

#define H (3600LL * 1000)
/* 2026-12-01T00:00:00+09:00 = 2026-11-30T15:00:00Z */
#define DEC1 1796050800000LL

static void dates_are_tokyo_days(void **state)
{
    (void)state;
    int64_t d = 0;
    assert_int_equal(visits_date_parse("2026-12-01", &d), 0);
    assert_int_equal(d, DEC1);
    assert_int_equal(visits_date_parse("2028-02-29", &d), 0); /* leap year */
    assert_int_equal(visits_date_parse("2027-02-29", &d), ERR_INVALID);
    assert_int_equal(visits_date_parse("2100-02-29", &d), ERR_INVALID); /* not a leap year */
    assert_int_equal(visits_date_parse("2000-02-29", &d), 0);           /* a leap year */
    static const char *const bad[] = {
        "",           "2026-12-1",  "2026-13-01",  "2026-00-10",     "2026-12-32", "2026/12/01",
        "1999-12-31", "3000-01-01", "2026-12-01T", "２０２６-12-01", "2026-12-0a", "+026-12-01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(visits_date_parse(bad[i], &d), ERR_INVALID);
    assert_int_equal(visits_date_parse(NULL, &d), ERR_INVALID);
}

static void times_and_instants(void **state)
{
    (void)state;
    int m = -1;
    assert_int_equal(visits_hm_parse("00:00", &m), 0);
    assert_int_equal(m, 0);
    assert_int_equal(visits_hm_parse("09:15", &m), 0);
    assert_int_equal(m, 555);
    assert_int_equal(visits_hm_parse("24:00", &m), 0);
    assert_int_equal(m, 1440);
    static const char *const bad[] = {"24:01", "25:00", "9:15", "09:60", "09-15", "", "09:1a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(visits_hm_parse(bad[i], &m), ERR_INVALID);
    char buf[VISITS_INSTANT_LEN], day[VISITS_DATE_LEN];
    assert_string_equal(visits_instant_format(DEC1 + 9 * H, buf), "2026-12-01T09:00:00+09:00");
    /* 23:59 UTC on 30 November is already 1 December 08:59 in Tokyo */
    assert_string_equal(visits_instant_format(DEC1 + 9 * H - 60000, buf),
                        "2026-12-01T08:59:00+09:00");
    assert_string_equal(visits_instant_format(DEC1 - 1000, buf), "2026-11-30T23:59:59+09:00");
    assert_string_equal(visits_date_format(DEC1 - 1, day), "2026-11-30");
    assert_string_equal(visits_date_format(DEC1, day), "2026-12-01");
    assert_int_equal(visits_day_start(DEC1 + 23 * H), DEC1);
    assert_int_equal(visits_day_start(DEC1 + 24 * H), DEC1 + 24 * H);
    assert_int_equal(visits_day_start(DEC1 - 1), DEC1 - 24 * H);
    assert_int_equal(visits_weekday(DEC1), 2);              /* a Tuesday */
    assert_int_equal(visits_weekday(DEC1 + 4 * 24 * H), 6); /* Saturday */
    assert_int_equal(visits_weekday(DEC1 + 5 * 24 * H), 0); /* Sunday */
    assert_int_equal(visits_weekday(0), 4);                 /* 1970-01-01 09:00 JST, Thursday */
}

static void slot_generation(void **state)
{
    (void)state;
    int64_t s[VISITS_SLOTS_MAX];
    assert_int_equal(visits_slot_starts(DEC1, 9 * 60, 12 * 60, 15, s, VISITS_SLOTS_MAX), 12);
    assert_int_equal(s[0], DEC1 + 9 * H);
    assert_int_equal(s[11], DEC1 + 11 * H + 45 * 60000);
    /* a slot must end by "to": 09:00-09:40 in 15 minutes is two slots */
    assert_int_equal(visits_slot_starts(DEC1, 540, 580, 15, s, VISITS_SLOTS_MAX), 2);
    /* a whole day of 5-minute slots is exactly the most one request opens */
    assert_int_equal(visits_slot_starts(DEC1, 0, 1440, 5, s, VISITS_SLOTS_MAX), 288);
    assert_int_equal(visits_slot_starts(DEC1, 0, 1440, 5, s, 287), ERR_INVALID);
    assert_int_equal(visits_slot_starts(DEC1, 540, 550, 15, s, VISITS_SLOTS_MAX), ERR_INVALID);
    assert_int_equal(visits_slot_starts(DEC1, 600, 540, 15, s, VISITS_SLOTS_MAX), ERR_INVALID);
    assert_int_equal(visits_slot_starts(DEC1, 540, 540, 15, s, VISITS_SLOTS_MAX), ERR_INVALID);
    assert_int_equal(visits_slot_starts(DEC1, 0, 1440, 4, s, VISITS_SLOTS_MAX), ERR_INVALID);
    assert_int_equal(visits_slot_starts(DEC1, 0, 1440, 241, s, VISITS_SLOTS_MAX), ERR_INVALID);
    assert_int_equal(visits_slot_starts(DEC1, -1, 60, 15, s, VISITS_SLOTS_MAX), ERR_INVALID);
    assert_int_equal(visits_slot_starts(DEC1, 0, 1441, 15, s, VISITS_SLOTS_MAX), ERR_INVALID);
}

static void reminder_window(void **state)
{
    (void)state;
    int64_t start = DEC1 + 10 * H;        /* 1 December 10:00 */
    int64_t from = DEC1 - 24 * H + 9 * H; /* 30 November 09:00 */
    assert_false(visits_reminder_due(start, from - 1));
    assert_true(visits_reminder_due(start, from));
    assert_true(visits_reminder_due(start, start - 1));
    assert_false(visits_reminder_due(start, start));
    /* an early-morning appointment: still from 09:00 the day before */
    assert_false(visits_reminder_due(DEC1 + 30 * 60000, DEC1 - 15 * H - 1));
    assert_true(visits_reminder_due(DEC1 + 30 * 60000, DEC1 - 15 * H));
}

static void modes_and_specialties(void **state)
{
    (void)state;
    assert_int_equal(visits_mode_parse("online"), VISITS_ONLINE);
    assert_int_equal(visits_mode_parse("in-person"), VISITS_IN_PERSON);
    assert_int_equal(visits_mode_parse("both"), VISITS_BOTH);
    assert_int_equal(visits_mode_parse("Online"), 0);
    assert_int_equal(visits_mode_parse(NULL), 0);
    assert_string_equal(visits_mode_name(VISITS_BOTH), "both");
    assert_null(visits_mode_name(0));
    assert_true(visits_specialty_valid("cardiology"));
    assert_true(visits_specialty_valid("internal-medicine"));
    assert_false(visits_specialty_valid(""));
    assert_false(visits_specialty_valid("-x"));
    assert_false(visits_specialty_valid("Cardiology"));
    assert_false(visits_specialty_valid("a b"));
    char long_one[VISITS_SPECIALTY_MAX + 2];
    memset(long_one, 'a', sizeof long_one - 1);
    long_one[sizeof long_one - 1] = '\0';
    assert_false(visits_specialty_valid(long_one));
}

static json_t *J(const char *text)
{
    struct err e = {0};
    json_t *v = jsonx_parse(text, strlen(text), &e);
    assert_non_null(v);
    return v;
}

#define PRAC "01jdzq5w6t8m4x2b9n7k3r1c0a"

static void open_request(void **state)
{
    (void)state;
    struct visits_open_req r;
    struct err e = {0};
    json_t *ok = J("{\"practitioner\":\"" PRAC "\",\"date\":\"2026-12-01\",\"from\":\"09:00\","
                   "\"to\":\"12:00\",\"mode\":\"online\",\"specialty\":\"internal-medicine\"}");
    int rc = visits_parse_open(ok, &r, &e);
    if (rc != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(r.step_min, 15);
    assert_int_equal(r.modes, VISITS_ONLINE);
    assert_int_equal(r.day_ms, DEC1);
    json_decref(ok);
    static const char *const bad[] = {
        "[]",
        "{}",
        "{\"practitioner\":\"x\",\"date\":\"2026-12-01\",\"from\":\"09:00\",\"to\":\"12:00\","
        "\"mode\":\"online\",\"specialty\":\"a\"}",
        "{\"practitioner\":\"" PRAC "\",\"date\":\"2026-02-30\",\"from\":\"09:00\",\"to\":"
        "\"12:00\",\"mode\":\"online\",\"specialty\":\"a\"}",
        "{\"practitioner\":\"" PRAC "\",\"date\":\"2026-12-01\",\"from\":\"12:00\",\"to\":"
        "\"09:00\",\"mode\":\"online\",\"specialty\":\"a\"}",
        "{\"practitioner\":\"" PRAC "\",\"date\":\"2026-12-01\",\"from\":\"09:00\",\"to\":"
        "\"12:00\",\"mode\":\"video\",\"specialty\":\"a\"}",
        "{\"practitioner\":\"" PRAC "\",\"date\":\"2026-12-01\",\"from\":\"09:00\",\"to\":"
        "\"12:00\",\"mode\":\"online\",\"specialty\":\"A B\"}",
        "{\"practitioner\":\"" PRAC "\",\"date\":\"2026-12-01\",\"from\":\"09:00\",\"to\":"
        "\"12:00\",\"mode\":\"online\",\"specialty\":\"a\",\"minutes\":4}",
        "{\"practitioner\":\"" PRAC "\",\"date\":\"2026-12-01\",\"from\":\"09:00\",\"to\":"
        "\"12:00\",\"mode\":\"online\",\"specialty\":\"a\",\"minutes\":\"15\"}",
        "{\"practitioner\":\"" PRAC "\",\"date\":\"2026-12-01\",\"from\":\"09:00\",\"to\":"
        "\"09:10\",\"mode\":\"online\",\"specialty\":\"a\",\"minutes\":15}",
        "{\"practitioner\":\"" PRAC "\",\"date\":\"2026-12-01\",\"from\":\"09:00\",\"to\":"
        "\"12:00\",\"mode\":\"online\",\"specialty\":\"a\",\"extra\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *b = J(bad[i]);
        assert_int_equal(visits_parse_open(b, &r, &e), ERR_INVALID);
        assert_true(e.msg[0] != '\0');
        json_decref(b);
    }
}

static void book_cancel_finish_requests(void **state)
{
    (void)state;
    struct visits_book_req b;
    struct err e = {0};
    json_t *v = J("{\"slot\":\"" PRAC "\",\"mode\":\"online\",\"questionnaire_response\":\"qr-1\","
                  "\"comment\":\"血圧の薬\"}");
    assert_int_equal(visits_parse_book(v, 0, &b, &e), 0);
    assert_int_equal(b.mode, VISITS_ONLINE);
    assert_string_equal(b.qr, "qr-1");
    /* a reschedule takes only the slot and the mode */
    assert_int_equal(visits_parse_book(v, 1, &b, &e), ERR_INVALID);
    json_decref(v);
    static const char *const bad[] = {"{\"slot\":1}",
                                      "{\"slot\":\"../x\"}",
                                      "{\"slot\":\"" PRAC "\",\"mode\":\"both\"}",
                                      "{\"slot\":\"" PRAC "\",\"questionnaire_response\":\"a/b\"}",
                                      "{\"slot\":\"" PRAC "\",\"comment\":\"\"}",
                                      "\"x\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *x = J(bad[i]);
        assert_int_equal(visits_parse_book(x, 0, &b, &e), ERR_INVALID);
        json_decref(x);
    }
    const char *reason = NULL;
    v = J("{}");
    assert_int_equal(visits_parse_cancel(v, &reason, &e), 0);
    assert_null(reason);
    json_decref(v);
    v = J("{\"reason\":5}");
    assert_int_equal(visits_parse_cancel(v, &reason, &e), ERR_INVALID);
    json_decref(v);
    struct visits_finish_req f;
    v = J("{\"notes\":\"BP stable\",\"fee\":1500}");
    assert_int_equal(visits_parse_finish(v, &f, &e), 0);
    assert_int_equal(f.fee, 1500);
    json_decref(v);
    static const char *const badf[] = {"{}",
                                       "{\"fee\":-1}",
                                       "{\"fee\":1.5}",
                                       "{\"fee\":100000001}",
                                       "{\"fee\":0,\"notes\":\"\"}",
                                       "{\"fee\":0,\"x\":1}"};
    for (size_t i = 0; i < sizeof badf / sizeof badf[0]; i++) {
        json_t *x = J(badf[i]);
        assert_int_equal(visits_parse_finish(x, &f, &e), ERR_INVALID);
        json_decref(x);
    }
}

static const char *const *query;
static const char *q_get(void *ctx, const char *name)
{
    (void)ctx;
    for (size_t i = 0; query[i] != NULL; i += 2)
        if (strcmp(query[i], name) == 0)
            return query[i + 1];
    return NULL;
}

static void search_request(void **state)
{
    (void)state;
    struct visits_search_req r;
    struct err e = {0};
    int64_t now = DEC1 - 30 * 24 * H;
    query = (const char *const[]){"from", "2026-12-01", "to", "2026-12-01", "mode", "online", NULL};
    assert_int_equal(visits_parse_search(q_get, NULL, now, &r, &e), 0);
    assert_int_equal(r.from_ms, DEC1);
    assert_int_equal(r.to_ms, DEC1 + 24 * H);
    assert_int_equal(r.mode, VISITS_ONLINE);
    /* default: from now for 14 days; a past "from" starts now */
    query = (const char *const[]){NULL};
    assert_int_equal(visits_parse_search(q_get, NULL, DEC1 + 5 * H, &r, &e), 0);
    assert_int_equal(r.from_ms, DEC1 + 5 * H);
    assert_int_equal(r.to_ms, DEC1 + 14 * 24 * H);
    const char *const *bad[] = {
        (const char *const[]){"from", "2026-12-02", "to", "2026-12-01", NULL},
        (const char *const[]){"from", "2026-12-01", "to", "2027-02-01", NULL},
        (const char *const[]){"from", "tomorrow", NULL},
        (const char *const[]){"mode", "both", NULL},
        (const char *const[]){"org", "x", NULL},
        (const char *const[]){"practitioner", "", NULL},
        (const char *const[]){"specialty", "Cardio", NULL},
        (const char *const[]){"from", "2016-12-14", NULL}, /* wholly in the past */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        query = bad[i];
        assert_int_equal(visits_parse_search(q_get, NULL, now, &r, &e), ERR_INVALID);
    }
}

static void meeting_links(void **state)
{
    (void)state;
    struct arena *a = arena_new(1024);
    assert_string_equal(visits__meeting_link(a, "https://meet.jit.si/cityos-{room}", "ab12"),
                        "https://meet.jit.si/cityos-ab12");
    assert_string_equal(visits__meeting_link(a, "https://x/{room}/{room}", "r"), "https://x/r/r");
    assert_string_equal(visits__meeting_link(a, "https://x/fixed", "r"), "https://x/fixed");
    char big[VISITS_URL_MAX + 8];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_null(visits__meeting_link(a, big, "r"));
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dates_are_tokyo_days),
        cmocka_unit_test(times_and_instants),
        cmocka_unit_test(slot_generation),
        cmocka_unit_test(reminder_window),
        cmocka_unit_test(modes_and_specialties),
        cmocka_unit_test(open_request),
        cmocka_unit_test(book_cancel_finish_requests),
        cmocka_unit_test(search_request),
        cmocka_unit_test(meeting_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
