/* test_bp_category.c - rule 1: JSH2019 Table 2-5 (home and office columns) at every boundary,
 * the higher-of-two rule, isolated systolic hypertension, treatment targets by age, and the
 * home evaluation: the 5-day minimum, the 7-day window edges in local time, the mean of all
 * readings, wrist-device labelling, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "services/homedoctor/homedoctor.h"

/* 2026-11-25 09:00 JST (00:00Z): local day 20782 */
#define NOW_MS 1795564800000LL
#define TODAY  20782LL

/* An instant on local day TODAY + day at hh:mm (JST). */
static int64_t at(int day, int hh, int mm)
{
    return (TODAY + day) * HOMEDOCTOR_DAY_MS - HOMEDOCTOR_TZ_OFFSET_MS + hh * 3600000LL +
           mm * 60000LL;
}

struct bp_case {
    double sys, dia;
    enum homedoctor_bp_category want;
    bool ish;
};

static void check_cases(enum homedoctor_bp_setting s, const struct bp_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct homedoctor_bp_class cls;
        homedoctor_bp_classify(s, c[i].sys, c[i].dia, &cls);
        if (cls.category != c[i].want || cls.isolated_systolic != c[i].ish)
            fail_msg("%s %.1f/%.1f: got %s ish=%d, want %s ish=%d",
                     s == HOMEDOCTOR_BP_HOME ? "home" : "office", c[i].sys, c[i].dia,
                     homedoctor_bp_category_code(cls.category), cls.isolated_systolic,
                     homedoctor_bp_category_code(c[i].want), c[i].ish);
    }
}

static void home_table(void **state)
{
    (void)state;
    static const struct bp_case c[] = {
        /* systolic boundaries (diastolic kept in the same or a lower band) */
        {114, 74, HOMEDOCTOR_BP_NORMAL, false},
        {115, 74, HOMEDOCTOR_BP_HIGH_NORMAL, false},
        {124, 74, HOMEDOCTOR_BP_HIGH_NORMAL, false},
        {125, 74, HOMEDOCTOR_BP_ELEVATED, false},
        {134, 84, HOMEDOCTOR_BP_ELEVATED, false},
        {135, 84, HOMEDOCTOR_BP_GRADE1, true},
        {144, 89, HOMEDOCTOR_BP_GRADE1, false},
        {145, 89, HOMEDOCTOR_BP_GRADE2, false},
        {159, 99, HOMEDOCTOR_BP_GRADE2, false},
        {160, 99, HOMEDOCTOR_BP_GRADE3, false},
        /* diastolic boundaries with a normal systolic */
        {110, 74, HOMEDOCTOR_BP_NORMAL, false},
        {110, 75, HOMEDOCTOR_BP_ELEVATED, false},
        {110, 84, HOMEDOCTOR_BP_ELEVATED, false},
        {110, 85, HOMEDOCTOR_BP_GRADE1, false},
        {110, 89, HOMEDOCTOR_BP_GRADE1, false},
        {110, 90, HOMEDOCTOR_BP_GRADE2, false},
        {110, 99, HOMEDOCTOR_BP_GRADE2, false},
        {110, 100, HOMEDOCTOR_BP_GRADE3, false},
        /* the higher of the two */
        {120, 76, HOMEDOCTOR_BP_ELEVATED, false},
        {150, 70, HOMEDOCTOR_BP_GRADE2, true},
        {116, 95, HOMEDOCTOR_BP_GRADE2, false},
        {170, 80, HOMEDOCTOR_BP_GRADE3, true},
        /* isolated systolic: >=135 and <85 */
        {135, 85, HOMEDOCTOR_BP_GRADE1, false},
        {134, 60, HOMEDOCTOR_BP_ELEVATED, false},
        /* fractional means against the inequalities */
        {114.9, 74.9, HOMEDOCTOR_BP_NORMAL, false},
        {134.9, 70, HOMEDOCTOR_BP_ELEVATED, false},
    };
    check_cases(HOMEDOCTOR_BP_HOME, c, sizeof c / sizeof c[0]);
}

static void office_table(void **state)
{
    (void)state;
    static const struct bp_case c[] = {
        {119, 79, HOMEDOCTOR_BP_NORMAL, false},      {120, 79, HOMEDOCTOR_BP_HIGH_NORMAL, false},
        {129, 79, HOMEDOCTOR_BP_HIGH_NORMAL, false}, {130, 79, HOMEDOCTOR_BP_ELEVATED, false},
        {139, 89, HOMEDOCTOR_BP_ELEVATED, false},    {140, 89, HOMEDOCTOR_BP_GRADE1, true},
        {159, 99, HOMEDOCTOR_BP_GRADE1, false},      {160, 99, HOMEDOCTOR_BP_GRADE2, false},
        {179, 109, HOMEDOCTOR_BP_GRADE2, false},     {180, 109, HOMEDOCTOR_BP_GRADE3, false},
        {110, 79, HOMEDOCTOR_BP_NORMAL, false},      {110, 80, HOMEDOCTOR_BP_ELEVATED, false},
        {110, 89, HOMEDOCTOR_BP_ELEVATED, false},    {110, 90, HOMEDOCTOR_BP_GRADE1, false},
        {110, 99, HOMEDOCTOR_BP_GRADE1, false},      {110, 100, HOMEDOCTOR_BP_GRADE2, false},
        {110, 109, HOMEDOCTOR_BP_GRADE2, false},     {110, 110, HOMEDOCTOR_BP_GRADE3, false},
        {140, 90, HOMEDOCTOR_BP_GRADE1, false},      {139, 60, HOMEDOCTOR_BP_ELEVATED, false},
        {185, 85, HOMEDOCTOR_BP_GRADE3, true},
    };
    check_cases(HOMEDOCTOR_BP_OFFICE, c, sizeof c / sizeof c[0]);
}

static void sub_categories(void **state)
{
    (void)state;
    struct homedoctor_bp_class cls;
    homedoctor_bp_classify(HOMEDOCTOR_BP_HOME, 120, 86, &cls);
    assert_int_equal(cls.systolic_category, HOMEDOCTOR_BP_HIGH_NORMAL);
    assert_int_equal(cls.diastolic_category, HOMEDOCTOR_BP_GRADE1);
    assert_int_equal(cls.category, HOMEDOCTOR_BP_GRADE1);
    assert_string_equal(homedoctor_bp_category_code(HOMEDOCTOR_BP_GRADE3), "grade_3");
}

static void targets(void **state)
{
    (void)state;
    double s, d;
    assert_int_equal(homedoctor_bp_target(HOMEDOCTOR_BP_HOME, 74, &s, &d), 0);
    assert_true(s == 125 && d == 75);
    assert_int_equal(homedoctor_bp_target(HOMEDOCTOR_BP_HOME, 75, &s, &d), 0);
    assert_true(s == 135 && d == 85);
    assert_int_equal(homedoctor_bp_target(HOMEDOCTOR_BP_OFFICE, 74, &s, &d), 0);
    assert_true(s == 130 && d == 80);
    assert_int_equal(homedoctor_bp_target(HOMEDOCTOR_BP_OFFICE, 75, &s, &d), 0);
    assert_true(s == 140 && d == 90);
    assert_int_equal(homedoctor_bp_target(HOMEDOCTOR_BP_HOME, -1, &s, &d), ERR_INVALID);
}

/* n_days days (ending today) of one reading each at 07:00 with the given values */
static size_t week(struct homedoctor_bp_reading *r, char ids[][16], int n_days, double sys,
                   double dia)
{
    for (int i = 0; i < n_days; i++) {
        snprintf(ids[i], 16, "bp-%d", i);
        r[i] = (struct homedoctor_bp_reading){ids[i], at(-i, 7, 0), sys, dia,
                                              HOMEDOCTOR_DEVICE_UPPER_ARM};
    }
    return (size_t)n_days;
}

static struct arena *g_arena; /* the findings of the latest home_eval() */

static int home_eval(const struct homedoctor_bp_reading *r, size_t n, int age,
                     struct homedoctor_bp_result *res, struct homedoctor_finding **f)
{
    arena_free(g_arena);
    g_arena = arena_new(0);
    struct err e;
    return homedoctor_home_bp_evaluate(g_arena, r, n, NOW_MS, age, res, f, &e);
}

static void target_met_at_the_edge(void **state)
{
    (void)state;
    struct homedoctor_bp_reading r[7];
    char ids[7][16];
    struct homedoctor_bp_result res;
    struct homedoctor_finding *f;
    size_t n = week(r, ids, 7, 124, 74);
    assert_int_equal(home_eval(r, n, 74, &res, &f), 0);
    assert_int_equal(res.target_met, 1);
    n = week(r, ids, 7, 125, 74);
    assert_int_equal(home_eval(r, n, 74, &res, &f), 0);
    assert_int_equal(res.target_met, 0);
    n = week(r, ids, 7, 124, 75);
    assert_int_equal(home_eval(r, n, 74, &res, &f), 0);
    assert_int_equal(res.target_met, 0);
    n = week(r, ids, 7, 134, 84);
    assert_int_equal(home_eval(r, n, 75, &res, &f), 0);
    assert_int_equal(res.target_met, 1);
    assert_non_null(strstr(f->text_en, "75 and over"));
    n = week(r, ids, 7, 135, 84);
    assert_int_equal(home_eval(r, n, 75, &res, &f), 0);
    assert_int_equal(res.target_met, 0);
    assert_non_null(strstr(f->text_ja, "未達成"));
    assert_int_equal(home_eval(r, n, -1, &res, &f), 0);
    assert_int_equal(res.target_met, -1);
    assert_null(strstr(f->text_en, "target"));
}

static void five_days_minimum(void **state)
{
    (void)state;
    struct homedoctor_bp_reading r[7];
    char ids[7][16];
    struct homedoctor_bp_result res;
    struct homedoctor_finding *f;
    size_t n = week(r, ids, 4, 140, 88);
    assert_int_equal(home_eval(r, n, 70, &res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_BP_INSUFFICIENT);
    assert_int_equal(res.days_with_readings, 4);
    assert_non_null(f);
    assert_string_equal(f->outcome, "insufficient_data");
    assert_non_null(strstr(f->text_en, "readings on 4 days"));
    assert_non_null(strstr(f->text_ja, "測定は4日"));
    assert_int_equal(f->n_basis, 4);
    assert_true(f->probability < 0);

    n = week(r, ids, 5, 140, 88);
    assert_int_equal(home_eval(r, n, 70, &res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_BP_CLASSIFIED);
    assert_int_equal(res.days_with_readings, 5);
    assert_string_equal(f->outcome, "grade_1");
    assert_int_equal(f->severity, HOMEDOCTOR_WARNING);
    assert_string_equal(f->rule_id, "jsh2019.home_bp_category");
    assert_non_null(strstr(f->citation, "Table 2-5"));
}

static void two_readings_a_day_count_once(void **state)
{
    (void)state;
    /* 4 days (-4..-1) with morning and evening readings: 8 readings, still 4 days */
    struct homedoctor_bp_reading r[8];
    char ids[8][16];
    for (int i = 0; i < 8; i++) {
        snprintf(ids[i], 16, "me-%d", i);
        r[i] = (struct homedoctor_bp_reading){ids[i], at(-(i / 2) - 1, i % 2 ? 21 : 7, 0), 130, 80,
                                              HOMEDOCTOR_DEVICE_UPPER_ARM};
    }
    struct homedoctor_bp_result res;
    struct homedoctor_finding *f;
    assert_int_equal(home_eval(r, 8, 70, &res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_BP_INSUFFICIENT);
    assert_int_equal(res.n_readings, 8);
    assert_int_equal(res.days_with_readings, 4);
}

static void window_edges_in_local_time(void **state)
{
    (void)state;
    struct homedoctor_bp_reading r[8];
    const char *ids[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    int n = 0;
    /* day -7 23:59 JST is outside; day -6 00:00 JST is inside */
    r[n++] = (struct homedoctor_bp_reading){ids[0], at(-7, 23, 59), 200, 120, 0};
    r[n++] = (struct homedoctor_bp_reading){ids[1], at(-6, 0, 0), 120, 70, 0};
    r[n++] = (struct homedoctor_bp_reading){ids[2], at(-5, 7, 0), 120, 70, 0};
    r[n++] = (struct homedoctor_bp_reading){ids[3], at(-4, 7, 0), 120, 70, 0};
    r[n++] = (struct homedoctor_bp_reading){ids[4], at(-3, 7, 0), 120, 70, 0};
    /* after now (09:00 today): ignored */
    r[n++] = (struct homedoctor_bp_reading){ids[5], at(0, 9, 1), 200, 120, 0};
    struct homedoctor_bp_result res;
    struct homedoctor_finding *f;
    assert_int_equal(home_eval(r, (size_t)n, 70, &res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_BP_INSUFFICIENT);
    assert_int_equal(res.days_with_readings, 4);
    assert_int_equal(res.n_readings, 4);
    /* today 00:00 JST is 15:00Z of the previous UTC day: it belongs to today */
    r[n++] = (struct homedoctor_bp_reading){ids[6], at(0, 0, 0), 120, 70, 0};
    assert_int_equal(homedoctor_local_day(at(0, 0, 0)), TODAY);
    assert_int_equal(homedoctor_local_day(at(0, 0, 0) - 1), TODAY - 1);
    assert_int_equal(home_eval(r, (size_t)n, 70, &res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_BP_CLASSIFIED);
    assert_int_equal(res.days_with_readings, 5);
    assert_string_equal(f->outcome, "high_normal");
    for (size_t i = 0; i < f->n_basis; i++) {
        assert_string_not_equal(f->basis[i], "Observation/a");
        assert_string_not_equal(f->basis[i], "Observation/f");
    }
}

static void mean_of_all_readings(void **state)
{
    (void)state;
    /* 5 days at 130/80 plus a second reading on day 0 at 160/100: the mean of all 6 readings
     * (135.0/83.3) is grade I; the mean of per-day means (133.0/82.0) would be elevated */
    struct homedoctor_bp_reading r[6];
    char ids[6][16];
    week(r, ids, 5, 130, 80);
    r[5] = (struct homedoctor_bp_reading){"extra", at(0, 8, 0), 160, 100, 0};
    struct homedoctor_bp_result res;
    struct homedoctor_finding *f;
    assert_int_equal(home_eval(r, 6, 70, &res, &f), 0);
    assert_true(res.mean_systolic == 135.0);
    assert_true(res.mean_diastolic == 83.3);
    assert_int_equal(res.cls.category, HOMEDOCTOR_BP_GRADE1);
    assert_true(res.cls.isolated_systolic);
    assert_non_null(strstr(f->text_en, "isolated systolic hypertension"));
    assert_non_null(strstr(f->text_ja, "収縮期高血圧"));
    assert_true(homedoctor_finding_number(f, "mean_systolic") == 135.0);
    assert_true(homedoctor_finding_number(f, "isolated_systolic") == 1);
    /* the rounded mean is what is classified: 134.96 -> 135.0 -> grade I */
    struct homedoctor_bp_reading q[5];
    char qid[5][16];
    week(q, qid, 5, 135, 70);
    q[0].systolic = 134.8; /* mean 134.96 */
    assert_int_equal(home_eval(q, 5, 70, &res, &f), 0);
    assert_true(res.mean_systolic == 135.0);
    assert_int_equal(res.cls.category, HOMEDOCTOR_BP_GRADE1);
}

static void wrist_readings_are_labelled(void **state)
{
    (void)state;
    struct homedoctor_bp_reading r[7];
    char ids[7][16];
    size_t n = week(r, ids, 7, 128, 78);
    r[2].device = HOMEDOCTOR_DEVICE_WRIST;
    r[3].device = HOMEDOCTOR_DEVICE_WRIST;
    r[4].device = HOMEDOCTOR_DEVICE_UNKNOWN;
    struct homedoctor_bp_result res;
    struct homedoctor_finding *f;
    assert_int_equal(home_eval(r, n, 70, &res, &f), 0);
    assert_int_equal(res.n_wrist, 2);
    assert_non_null(strstr(f->text_en, "2 of these readings came from a wrist monitor"));
    assert_non_null(strstr(f->text_en, "upper-arm cuff"));
    assert_non_null(strstr(f->text_ja, "手首式"));
    assert_non_null(strstr(f->text_en, "device type of 1 readings is not recorded"));
    assert_true(f->triggers & (1u << HOMEDOCTOR_TRIG_WRIST_DEVICE));
    /* the insufficient-data text says so too */
    assert_int_equal(home_eval(r + 3, 4, 70, &res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_BP_INSUFFICIENT);
    assert_non_null(strstr(f->text_en, "wrist monitor"));
    /* upper-arm only: no note */
    n = week(r, ids, 7, 128, 78);
    assert_int_equal(home_eval(r, n, 70, &res, &f), 0);
    assert_null(strstr(f->text_en, "wrist"));
    assert_false(f->triggers & (1u << HOMEDOCTOR_TRIG_WRIST_DEVICE));
}

static void no_readings_no_finding(void **state)
{
    (void)state;
    struct homedoctor_bp_reading r[1] = {{"old", at(-10, 7, 0), 150, 95, 0}};
    struct homedoctor_bp_result res;
    struct homedoctor_finding *f = (void *)1;
    assert_int_equal(home_eval(r, 1, 70, &res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_BP_NO_READINGS);
    assert_null(f);
    assert_int_equal(home_eval(NULL, 0, 70, &res, &f), 0);
    assert_null(f);
}

static void bad_readings_refused(void **state)
{
    (void)state;
    struct homedoctor_bp_reading bad[] = {
        {"x", at(0, 7, 0), 30, 20, 0},   /* systolic too low */
        {"x", at(0, 7, 0), 120, 130, 0}, /* systolic below diastolic */
        {"", at(0, 7, 0), 120, 80, 0},   /* no id */
        {NULL, at(0, 7, 0), 120, 80, 0}, /* no id */
        {"x", at(0, 7, 0), 120, 10, 0},  /* diastolic too low */
        {"x", at(0, 7, 0), 320, 80, 0},  /* systolic too high */
        {"x", at(0, 7, 0), 120, 80, 7},  /* device kind */
    };
    struct arena *a = arena_new(0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct homedoctor_bp_result res;
        struct homedoctor_finding *f;
        struct err e;
        err_clear(&e);
        assert_int_equal(homedoctor_home_bp_evaluate(a, &bad[i], 1, NOW_MS, 70, &res, &f, &e),
                         ERR_INVALID);
        assert_non_null(strstr(e.msg, "reading 0"));
        assert_null(f);
    }
    arena_free(a);
}

static void office_check_up(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct homedoctor_bp_reading r[2] = {{"cu-1", at(-30, 10, 0), 144, 88, 0},
                                         {"cu-2", at(-30, 10, 2), 140, 86, 0}};
    struct homedoctor_bp_result res;
    struct homedoctor_finding *f;
    struct err e;
    assert_int_equal(homedoctor_office_bp_evaluate(a, r, 2, NOW_MS, 70, &res, &f, &e), 0);
    assert_true(res.mean_systolic == 142 && res.mean_diastolic == 87);
    assert_int_equal(res.cls.category, HOMEDOCTOR_BP_GRADE1);
    assert_true(res.cls.isolated_systolic);
    assert_int_equal(res.target_met, 0);
    assert_string_equal(f->rule_id, "jsh2019.office_bp_category");
    assert_non_null(strstr(f->text_en, "office column"));
    assert_int_equal(f->n_basis, 2);
    assert_int_equal(homedoctor_office_bp_evaluate(a, r, 0, NOW_MS, 70, &res, &f, &e), ERR_INVALID);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(home_table),
        cmocka_unit_test(office_table),
        cmocka_unit_test(sub_categories),
        cmocka_unit_test(targets),
        cmocka_unit_test(target_met_at_the_edge),
        cmocka_unit_test(five_days_minimum),
        cmocka_unit_test(two_readings_a_day_count_once),
        cmocka_unit_test(window_edges_in_local_time),
        cmocka_unit_test(mean_of_all_readings),
        cmocka_unit_test(wrist_readings_are_labelled),
        cmocka_unit_test(no_readings_no_finding),
        cmocka_unit_test(bad_readings_refused),
        cmocka_unit_test(office_check_up),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    arena_free(g_arena);
    return rc;
}
