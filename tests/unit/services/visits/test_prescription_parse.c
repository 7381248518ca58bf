/* test_prescription_parse.c - the e-prescription's request bodies and statuses
 * (prescription_parse.c) at their boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "services/visits/prescription.h"

#define P "\"patient\":\"01hzzzzzzzzzzzzzzzzzzzzzzz\""

static int parse_new(const char *text, struct visits_rx_new *out)
{
    struct err e = {0};
    json_t *v = jsonx_parse(text, strlen(text), &e);
    int rc = v != NULL ? visits_rx_parse_new(v, out, &e) : -1;
    json_decref(v);
    return rc;
}

static int rx(const char *qty, const char *days)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{" P ",\"medication\":{\"code\":\"2149039F1020\",\"display\":\"アムロジピン\"},"
             "\"dosage\":\"1日1回\",\"quantity\":{\"value\":%s,\"unit\":\"錠\"},\"days\":%s}",
             qty, days);
    struct visits_rx_new out;
    return parse_new(buf, &out);
}

static void new_prescription_bounds(void **state)
{
    (void)state;
    assert_int_equal(rx("1", "1"), 0);
    assert_int_equal(rx("100000", "365"), 0);
    assert_int_equal(rx("0", "1"), ERR_INVALID);
    assert_int_equal(rx("100001", "1"), ERR_INVALID);
    assert_int_equal(rx("1", "0"), ERR_INVALID);
    assert_int_equal(rx("1", "366"), ERR_INVALID);
    assert_int_equal(rx("1.0", "1"), ERR_INVALID);
    assert_int_equal(rx("\"1\"", "1"), ERR_INVALID);
    struct visits_rx_new out;
    assert_int_equal(parse_new("{" P ",\"medication\":{\"code\":\"1\",\"display\":\"x\"},"
                               "\"dosage\":\"d\",\"quantity\":{\"value\":2,\"unit\":\"錠\"},"
                               "\"days\":3}",
                               &out),
                     0);
    assert_string_equal(out.med_system, VISITS_RX_MED_SYS); /* the default code system */
    assert_null(out.note);
    assert_int_equal(out.quantity, 2);
    assert_int_equal(out.days, 3);
    assert_int_equal(parse_new("{\"patient\":\"short\"}", &out), ERR_INVALID);
    assert_int_equal(parse_new("null", &out), ERR_INVALID);
}

static int one(int (*fn)(const json_t *, void *), const char *text, void *ctx)
{
    struct err e = {0};
    json_t *v = jsonx_parse(text, strlen(text), &e);
    int rc = v != NULL ? fn(v, ctx) : -1;
    json_decref(v);
    return rc;
}

static int guidance(const json_t *v, void *ctx)
{
    (void)ctx;
    const char *t, *c;
    struct err e = {0};
    return visits_rx_parse_guidance(v, &t, &c, &e);
}

static int dispense(const json_t *v, void *ctx)
{
    int64_t *fee = ctx;
    const char *note;
    struct err e = {0};
    return visits_rx_parse_dispense(v, fee, &note, &e);
}

static int delivery(const json_t *v, void *ctx)
{
    struct err e = {0};
    return visits_rx_parse_delivery(v, ctx, &e);
}

static void step_bodies(void **state)
{
    (void)state;
    assert_int_equal(one(guidance, "{\"text\":\"食後に\",\"channel\":\"online\"}", NULL), 0);
    assert_int_equal(one(guidance, "{\"text\":\"食後に\",\"channel\":\"phone\"}", NULL),
                     ERR_INVALID);
    assert_int_equal(one(guidance, "{\"text\":\"\",\"channel\":\"online\"}", NULL), ERR_INVALID);
    int64_t fee = 0;
    assert_int_equal(one(dispense, "{\"fee\":1}", &fee), 0);
    assert_int_equal(one(dispense, "{\"fee\":1000000}", &fee), 0);
    assert_int_equal(fee, VISITS_RX_FEE_MAX);
    assert_int_equal(one(dispense, "{\"fee\":1000001}", &fee), ERR_INVALID);
    assert_int_equal(one(dispense, "{\"fee\":-1}", &fee), ERR_INVALID);
    assert_int_equal(one(dispense, "{}", &fee), ERR_INVALID);
    enum visits_rx_status s;
    assert_int_equal(one(delivery, "{\"status\":\"dispatched\"}", &s), 0);
    assert_int_equal(s, VISITS_RX_DISPATCHED);
    assert_int_equal(one(delivery, "{\"status\":\"dispensed\"}", &s), ERR_INVALID);
}

static void statuses_go_one_step_at_a_time(void **state)
{
    (void)state;
    assert_true(visits_rx_next_ok(VISITS_RX_REQUESTED, VISITS_RX_GUIDANCE_GIVEN));
    assert_false(visits_rx_next_ok(VISITS_RX_REQUESTED, VISITS_RX_DISPENSED));
    assert_true(visits_rx_next_ok(VISITS_RX_DISPATCHED, VISITS_RX_DELIVERED));
    assert_false(visits_rx_next_ok(VISITS_RX_DELIVERED, VISITS_RX_DELIVERED));
    assert_false(visits_rx_next_ok(VISITS_RX_DELIVERED, VISITS_RX_STATUS_COUNT));
    enum visits_rx_status s;
    assert_int_equal(visits_rx_status_parse("guidance-given", &s), 0);
    assert_string_equal(visits_rx_status_name(s), "guidance-given");
    assert_int_equal(visits_rx_status_parse("", &s), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_prescription_bounds),
        cmocka_unit_test(step_bodies),
        cmocka_unit_test(statuses_go_one_step_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
