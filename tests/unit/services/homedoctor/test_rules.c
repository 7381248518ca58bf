/* test_rules.c - rules 2, 3 and 5: the rise against the personal baseline at threshold-0.1 and
 * threshold, the baseline and recent minimums, the nudge at 2 vs 3 full local days, and
 * pill-box adherence (the +-2 h window edges, one opening per dose, pending doses, the carer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "services/homedoctor/homedoctor.h"

#define NOW_MS 1795564800000LL /* 2026-11-25 09:00 JST */
#define TODAY  20782LL

static int64_t at(int day, int hh, int mm)
{
    return (TODAY + day) * HOMEDOCTOR_DAY_MS - HOMEDOCTOR_TZ_OFFSET_MS + hh * 3600000LL +
           mm * 60000LL;
}

static char g_ids[64][16];
static struct homedoctor_bp_reading g_r[64];
static size_t g_n;

static void add(int day, double sys, double dia)
{
    snprintf(g_ids[g_n], 16, "r%zu", g_n);
    g_r[g_n] = (struct homedoctor_bp_reading){g_ids[g_n], at(day, 7, 30), sys, dia,
                                              HOMEDOCTOR_DEVICE_WRIST};
    g_n++;
}

/* 14 baseline readings at 120/75 (every other day from -35 to -9), then recent ones */
static void baseline(int count)
{
    g_n = 0;
    for (int i = 0; i < count; i++)
        add(-35 + 2 * i, 120, 75);
}

static int rise(struct homedoctor_rise_result *res, struct homedoctor_finding **f)
{
    static struct arena *a;
    arena_free(a);
    a = NULL;
    if (res == NULL)
        return 0;
    a = arena_new(0);
    struct err e;
    return homedoctor_rise_evaluate(a, g_r, g_n, NOW_MS, res, f, &e);
}

static void rise_thresholds(void **state)
{
    (void)state;
    struct homedoctor_rise_result res;
    struct homedoctor_finding *f;
    /* systolic: +19.9 no, +20.0 yes */
    baseline(14);
    add(-2, 139.9, 80), add(-1, 139.9, 80), add(0, 139.9, 80);
    assert_int_equal(rise(&res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_RISE_NONE);
    assert_true(res.delta_sys == 19.9);
    assert_null(f);
    baseline(14);
    add(-2, 140, 80), add(-1, 140, 80), add(0, 140, 80);
    assert_int_equal(rise(&res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_RISE_FOUND);
    assert_int_equal(res.n_baseline, 14);
    assert_int_equal(res.n_recent, 3);
    assert_true(res.baseline_sys == 120 && res.recent_sys == 140 && res.delta_sys == 20);
    assert_non_null(f);
    assert_string_equal(f->outcome, "rise_systolic");
    assert_string_equal(f->rule_id, "cityos.home_bp_rise");
    assert_non_null(strstr(f->citation, "no published threshold"));
    assert_non_null(strstr(f->text_en, "+20.0/+5.0 mmHg"));
    assert_non_null(strstr(f->text_en, "not a guideline threshold"));
    assert_non_null(strstr(f->text_en, "wrist monitor"));
    assert_non_null(strstr(f->text_ja, "ガイドラインの基準値ではありません"));
    assert_int_equal(f->n_basis, 17);
    assert_true(homedoctor_finding_number(f, "rise_systolic") == 20);
    /* diastolic: +9.9 no, +10.0 yes */
    baseline(14);
    add(-2, 125, 84.9), add(-1, 125, 84.9), add(0, 125, 84.9);
    assert_int_equal(rise(&res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_RISE_NONE);
    baseline(14);
    add(-2, 125, 85), add(-1, 125, 85), add(0, 125, 85);
    assert_int_equal(rise(&res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_RISE_FOUND);
    assert_string_equal(f->outcome, "rise_diastolic");
    baseline(14);
    add(-1, 150, 90), add(0, 150, 90);
    assert_int_equal(rise(&res, &f), 0);
    assert_string_equal(f->outcome, "rise_both");
    assert_true(f->triggers & (1u << HOMEDOCTOR_TRIG_BP_RISE));
}

static void rise_windows_and_minimums(void **state)
{
    (void)state;
    struct homedoctor_rise_result res;
    struct homedoctor_finding *f;
    /* 9 baseline readings: no baseline */
    baseline(9);
    add(-1, 160, 100), add(0, 160, 100);
    assert_int_equal(rise(&res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_RISE_NO_BASELINE);
    assert_null(f);
    /* 10 is enough */
    baseline(10);
    add(-1, 160, 100), add(0, 160, 100);
    assert_int_equal(rise(&res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_RISE_FOUND);
    /* one recent reading is not enough */
    baseline(14);
    add(0, 160, 100);
    assert_int_equal(rise(&res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_RISE_TOO_FEW_RECENT);
    /* the gap days -7..-3 belong to neither window; day -3 is not recent */
    baseline(14);
    add(-7, 200, 120), add(-5, 200, 120), add(-3, 200, 120), add(-2, 121, 75), add(0, 121, 75);
    assert_int_equal(rise(&res, &f), 0);
    assert_int_equal(res.status, HOMEDOCTOR_RISE_NONE);
    assert_int_equal(res.n_recent, 2);
    assert_int_equal(res.n_baseline, 14);
    /* day -36 is outside the baseline, day -8 inside */
    g_n = 0;
    for (int i = 0; i < 9; i++)
        add(-36, 120, 75);
    add(-8, 120, 75);
    add(-1, 160, 100), add(0, 160, 100);
    assert_int_equal(rise(&res, &f), 0);
    assert_int_equal(res.n_baseline, 1);
    assert_int_equal(res.status, HOMEDOCTOR_RISE_NO_BASELINE);
    rise(NULL, NULL);
}

static void nudge_after_three_full_days(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct homedoctor_finding *f;
    struct err e;
    int days = -1;
    /* last reading day -3 at 23:59: full days -2 and -1 -> 2 -> no nudge */
    assert_int_equal(
        homedoctor_nudge_evaluate(a, "dev-1", "r-last", at(-3, 23, 59), NOW_MS, &days, &f, &e), 0);
    assert_int_equal(days, 2);
    assert_null(f);
    /* last reading day -4 at 00:00: full days -3, -2, -1 -> nudge */
    assert_int_equal(
        homedoctor_nudge_evaluate(a, "dev-1", "r-last", at(-4, 0, 0), NOW_MS, &days, &f, &e), 0);
    assert_int_equal(days, 3);
    assert_non_null(f);
    assert_string_equal(f->rule_id, "cityos.readings_missing");
    assert_int_equal(f->severity, HOMEDOCTOR_NOTICE);
    assert_string_equal(f->basis[0], "Device/dev-1");
    assert_string_equal(f->basis[1], "Observation/r-last");
    assert_non_null(strstr(f->text_en, "for 3 days"));
    assert_non_null(strstr(f->text_en, "11/21 00:00"));
    assert_non_null(strstr(f->text_ja, "3日間"));
    /* a reading today: 0 */
    assert_int_equal(homedoctor_nudge_evaluate(a, "dev-1", "r", at(0, 7, 0), NOW_MS, &days, &f, &e),
                     0);
    assert_int_equal(days, 0);
    assert_null(f);
    /* no history: refused */
    assert_int_equal(homedoctor_nudge_evaluate(a, "dev-1", NULL, 0, NOW_MS, &days, &f, &e),
                     ERR_INVALID);
    arena_free(a);
}

static const struct homedoctor_dose_schedule TWICE = {2, {8 * 60, 20 * 60}};

static void adherence_windows(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct homedoctor_adherence_result res;
    struct homedoctor_finding *f;
    struct err e;
    /* doses: day -2 08:00, 20:00; day -1 08:00, 20:00; day 0 08:00 (open until 10:00: pending) */
    struct homedoctor_pillbox_event ev[] = {
        {"o1", at(-2, 6, 0)},   /* exactly -2 h: taken */
        {"o2", at(-2, 22, 0)},  /* exactly +2 h: taken */
        {"o3", at(-1, 5, 59)},  /* -2 h 1 min: too early for day -1 08:00 */
        {"o4", at(-1, 10, 1)},  /* +2 h 1 min: too late */
        {"o5", at(-1, 19, 30)}, /* taken */
    };
    assert_int_equal(homedoctor_adherence_evaluate(a, "pill-1", &TWICE, ev, 5, at(-2, 0, 0), NOW_MS,
                                                   &res, &f, &e),
                     0);
    assert_int_equal(res.scheduled, 4);
    assert_int_equal(res.taken, 3);
    assert_int_equal(res.missed, 1);
    assert_int_equal(res.pending, 1);
    assert_true(res.missed_ms[0] == at(-1, 8, 0));
    assert_non_null(f);
    assert_string_equal(f->rule_id, "cityos.medication_missed");
    assert_int_equal(f->recipients, HOMEDOCTOR_TO_CITIZEN | HOMEDOCTOR_TO_CARER);
    assert_string_equal(f->basis[0], "Device/pill-1");
    assert_non_null(strstr(f->text_en, "1 of 4 scheduled doses"));
    assert_non_null(strstr(f->text_en, "11/24 08:00"));
    assert_non_null(strstr(f->text_en, "carer"));
    assert_non_null(strstr(f->text_ja, "介護者"));
    assert_true(homedoctor_finding_number(f, "doses_missed") == 1);
    /* the 08:00 dose of today taken at 08:30: no alert when everything else is taken */
    struct homedoctor_pillbox_event all[] = {
        {"a", at(-1, 8, 0)}, {"b", at(-1, 20, 0)}, {"c", at(0, 8, 30)}};
    assert_int_equal(homedoctor_adherence_evaluate(a, "pill-1", &TWICE, all, 3, at(-1, 0, 0),
                                                   NOW_MS, &res, &f, &e),
                     0);
    assert_int_equal(res.missed, 0);
    assert_int_equal(res.taken, 3);
    assert_int_equal(res.pending, 0);
    assert_null(f);
    arena_free(a);
}

static void one_opening_one_dose(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct homedoctor_adherence_result res;
    struct homedoctor_finding *f;
    struct err e;
    const struct homedoctor_dose_schedule close = {2, {8 * 60, 9 * 60}};
    struct homedoctor_pillbox_event ev[] = {{"x", at(-1, 8, 30)}};
    assert_int_equal(homedoctor_adherence_evaluate(a, "pill-1", &close, ev, 1, at(-1, 0, 0),
                                                   at(-1, 23, 0), &res, &f, &e),
                     0);
    assert_int_equal(res.taken, 1);
    assert_int_equal(res.missed, 1);
    assert_non_null(f);
    /* no openings at all: every dose missed, basis still names the device */
    assert_int_equal(homedoctor_adherence_evaluate(a, "pill-1", &TWICE, NULL, 0, at(-3, 0, 0),
                                                   NOW_MS, &res, &f, &e),
                     0);
    assert_int_equal(res.missed, 6);
    assert_int_equal(f->n_basis, 1);
    assert_non_null(strstr(f->text_en, ", ..."));
    arena_free(a);
}

static void adherence_bad_input(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct homedoctor_adherence_result res;
    struct homedoctor_finding *f;
    struct err e;
    const struct homedoctor_dose_schedule none = {0, {0}};
    const struct homedoctor_dose_schedule unsorted = {2, {600, 300}};
    const struct homedoctor_dose_schedule late = {1, {1440}};
    assert_int_equal(
        homedoctor_adherence_evaluate(a, "p", &none, NULL, 0, at(-1, 0, 0), NOW_MS, &res, &f, &e),
        ERR_INVALID);
    assert_int_equal(homedoctor_adherence_evaluate(a, "p", &unsorted, NULL, 0, at(-1, 0, 0), NOW_MS,
                                                   &res, &f, &e),
                     ERR_INVALID);
    assert_int_equal(
        homedoctor_adherence_evaluate(a, "p", &late, NULL, 0, at(-1, 0, 0), NOW_MS, &res, &f, &e),
        ERR_INVALID);
    assert_int_equal(
        homedoctor_adherence_evaluate(a, "p", &TWICE, NULL, 0, at(-40, 0, 0), NOW_MS, &res, &f, &e),
        ERR_INVALID);
    assert_int_equal(
        homedoctor_adherence_evaluate(a, NULL, &TWICE, NULL, 0, at(-1, 0, 0), NOW_MS, &res, &f, &e),
        ERR_INVALID);
    assert_int_equal(
        homedoctor_adherence_evaluate(a, "p", &TWICE, NULL, 0, NOW_MS, NOW_MS, &res, &f, &e),
        ERR_INVALID);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rise_thresholds),
        cmocka_unit_test(rise_windows_and_minimums),
        cmocka_unit_test(nudge_after_three_full_days),
        cmocka_unit_test(adherence_windows),
        cmocka_unit_test(one_opening_one_dose),
        cmocka_unit_test(adherence_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
