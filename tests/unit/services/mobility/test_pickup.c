/* test_pickup.c - the taxi's pickup time (pickup.c) at its boundaries: the S1 persona's 40
 * minutes on a normal day and 50 when it snows with the default config, the margin, the
 * rounding up to 5 minutes, the distance, and refused inputs; and the order statuses and
 * request bodies (parse.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "services/mobility/mobility.h"

/* The demo town: 湊町's centre (太郎's home) and 鶴ヶ城総合病院 (中央's centre + 500 micro-deg). */
static const struct id_coords HOME = {1, 37470000, 140000000};
static const struct id_coords HOSPITAL = {1, 37495300, 139930300};
#define START_MS 1800000000000LL

/* The defaults proposed for config.c: 30 km/h, road factor 130 %, snow 150 %, margin 20 min. */
static struct mobility_params defaults(int snow)
{
    return (struct mobility_params){30, 130, 150, 20, snow};
}

static void persona_normal_day_is_40_minutes(void **state)
{
    (void)state;
    struct mobility_params p = defaults(0);
    struct mobility_pickup out;
    struct err e = {0};
    assert_int_equal(mobility_pickup_compute(&p, &HOME, &HOSPITAL, START_MS, &out, &e), 0);
    assert_true(out.distance_m > 6700 && out.distance_m < 6800); /* 6763 m */
    assert_int_equal(out.road_m, (out.distance_m * 130 + 50) / 100);
    assert_int_equal(out.travel_s, 1056); /* 8792 m at 30 km/h: 17 min 36 s */
    assert_int_equal(out.lead_min, 40);   /* 37.6 min, up to 40 */
    assert_int_equal(out.pickup_ms, START_MS - 40 * 60000LL);
}

static void persona_snow_is_50_minutes(void **state)
{
    (void)state;
    struct mobility_params p = defaults(1);
    struct mobility_pickup out;
    struct err e = {0};
    assert_int_equal(mobility_pickup_compute(&p, &HOME, &HOSPITAL, START_MS, &out, &e), 0);
    assert_int_equal(out.travel_s, 1583); /* x 1.5, rounded up */
    assert_int_equal(out.lead_min, 50);   /* 46.4 min, up to 50 */
}

static void old_default_margin_would_be_30(void **state)
{
    (void)state;
    struct mobility_params p = defaults(0);
    p.margin_min = 10; /* config.c's first default: the persona would get 30 minutes */
    struct mobility_pickup out;
    struct err e = {0};
    assert_int_equal(mobility_pickup_compute(&p, &HOME, &HOSPITAL, START_MS, &out, &e), 0);
    assert_int_equal(out.lead_min, 30);
}

static void rounding_at_the_step(void **state)
{
    (void)state;
    /* the same place: travel 0, margin alone decides; exact multiples are not rounded up */
    struct mobility_params p = {30, 100, 100, 15, 0};
    struct mobility_pickup out;
    struct err e = {0};
    assert_int_equal(mobility_pickup_compute(&p, &HOME, &HOME, START_MS, &out, &e), 0);
    assert_int_equal(out.distance_m, 0);
    assert_int_equal(out.lead_min, 15);
    p.margin_min = 0; /* never zero: at least one step */
    assert_int_equal(mobility_pickup_compute(&p, &HOME, &HOME, START_MS, &out, &e), 0);
    assert_int_equal(out.lead_min, MOBILITY_STEP_MIN);
    /* 1 km at 60 km/h is exactly 60 s: 60 s + 4 min = 5 min, not 10 */
    struct id_coords a = {1, 0, 0}, b = {1, 8993, 0}; /* 8993 micro-deg of latitude ~ 1000 m */
    p = (struct mobility_params){60, 100, 100, 4, 0};
    assert_int_equal(mobility_pickup_compute(&p, &a, &b, START_MS, &out, &e), 0);
    assert_int_equal(out.distance_m, 1000);
    assert_int_equal(out.travel_s, 60);
    assert_int_equal(out.lead_min, 5);
    /* one second more is the next step */
    p.margin_min = 4;
    struct id_coords c = {1, 9003, 0}; /* 1001 m: 60.06 s -> 61 s */
    assert_int_equal(mobility_pickup_compute(&p, &a, &c, START_MS, &out, &e), 0);
    assert_int_equal(out.travel_s, 61);
    assert_int_equal(out.lead_min, 10);
}

static void refused_inputs(void **state)
{
    (void)state;
    struct mobility_pickup out;
    struct err e = {0};
    struct mobility_params bad[] = {
        {0, 130, 150, 20, 0}, {201, 130, 150, 20, 0}, {30, 99, 150, 20, 0},  {30, 401, 150, 20, 0},
        {30, 130, 99, 20, 0}, {30, 130, 150, -1, 0},  {30, 130, 150, 241, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(mobility_pickup_compute(&bad[i], &HOME, &HOSPITAL, START_MS, &out, &e),
                         ERR_INVALID);
    struct mobility_params p = defaults(0);
    struct id_coords none = {0, 0, 0}, off = {1, 91000000, 0};
    assert_int_equal(mobility_pickup_compute(&p, &none, &HOSPITAL, START_MS, &out, &e),
                     ERR_INVALID);
    assert_int_equal(mobility_pickup_compute(&p, &HOME, &off, START_MS, &out, &e), ERR_INVALID);
}

static void statuses_go_one_way(void **state)
{
    (void)state;
    enum mobility_status s;
    assert_int_equal(mobility_status_parse("en-route", &s), 0);
    assert_int_equal(s, MOBILITY_EN_ROUTE);
    assert_int_equal(mobility_status_parse("En-route", &s), ERR_INVALID);
    assert_true(mobility_status_next_ok(MOBILITY_REQUESTED, MOBILITY_ACCEPTED));
    assert_false(mobility_status_next_ok(MOBILITY_REQUESTED, MOBILITY_EN_ROUTE));
    assert_true(mobility_status_next_ok(MOBILITY_PICKED_UP, MOBILITY_COMPLETED));
    assert_false(mobility_status_next_ok(MOBILITY_PICKED_UP, MOBILITY_CANCELLED));
    assert_false(mobility_status_next_ok(MOBILITY_COMPLETED, MOBILITY_CANCELLED));
    assert_false(mobility_status_next_ok(MOBILITY_CANCELLED, MOBILITY_CANCELLED));
}

static int parse_status(const char *text)
{
    struct err e = {0};
    json_t *v = jsonx_parse(text, strlen(text), &e);
    enum mobility_status s;
    const char *note;
    int rc = v != NULL ? mobility_parse_status(v, &s, &note, &e) : -1;
    json_decref(v);
    return rc;
}

static int parse_weather(const char *text, int *snow)
{
    struct err e = {0};
    json_t *v = jsonx_parse(text, strlen(text), &e);
    const char *src, *sensor;
    int rc = v != NULL ? mobility_parse_weather(v, snow, &src, &sensor, &e) : -1;
    json_decref(v);
    return rc;
}

static void bodies(void **state)
{
    (void)state;
    assert_int_equal(parse_status("{\"status\":\"accepted\"}"), 0);
    assert_int_equal(parse_status("{\"status\":\"accepted\",\"note\":\"5分遅れます\"}"), 0);
    assert_int_equal(parse_status("{\"status\":\"requested\"}"), ERR_INVALID);
    assert_int_equal(parse_status("{\"status\":1}"), ERR_INVALID);
    assert_int_equal(parse_status("{\"note\":\"x\"}"), ERR_INVALID);
    assert_int_equal(parse_status("[]"), ERR_INVALID);
    int snow = -1;
    assert_int_equal(parse_weather("{\"weather\":\"snow\"}", &snow), 0);
    assert_int_equal(snow, 1);
    assert_int_equal(
        parse_weather("{\"weather\":\"normal\",\"source\":\"sensor\",\"sensor\":\"s1\"}", &snow),
        0);
    assert_int_equal(snow, 0);
    assert_int_equal(parse_weather("{\"weather\":\"snow\",\"source\":\"sensor\"}", &snow),
                     ERR_INVALID);
    assert_int_equal(parse_weather("{\"weather\":\"hail\"}", &snow), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(persona_normal_day_is_40_minutes),
        cmocka_unit_test(persona_snow_is_50_minutes),
        cmocka_unit_test(old_default_margin_would_be_30),
        cmocka_unit_test(rounding_at_the_step),
        cmocka_unit_test(refused_inputs),
        cmocka_unit_test(statuses_go_one_way),
        cmocka_unit_test(bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
