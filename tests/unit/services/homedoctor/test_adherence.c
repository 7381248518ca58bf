/* test_adherence.c - rule 6, medication adherence from a pill box's dose events (adherence.h):
 * the rule table, "missed in a row" at 1 and 2, the run broken by a taken or a late dose, the
 * proportion at exactly 80% and below it, the minimum of scheduled doses (6 vs 7), the 7-day
 * window edge, the episode that keys one alert (stable while it lasts, new after a recovery,
 * the week when it reaches back to the history's start), bad inputs, a finding that explains
 * itself, and a stored dose (as ingest maps it) read back as a dose. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/payload.h"
#include "services/homedoctor/adherence.h"

#define NOW_MS 1795564800000LL /* 2026-11-25 09:00 JST */
#define TODAY  20782LL
#define HIST   (NOW_MS - HOMEDOCTOR_DOSE_HISTORY_DAYS * HOMEDOCTOR_DAY_MS)

enum { IN_A_ROW = 0, PROPORTION = 1 };

static int64_t at(int day, int hh, int mm)
{
    return (TODAY + day) * HOMEDOCTOR_DAY_MS - HOMEDOCTOR_TZ_OFFSET_MS + hh * 3600000LL +
           mm * 60000LL;
}

static char g_ids[256][16];
static struct homedoctor_dose g_d[256];
static size_t g_n;

static void dose(int64_t t, enum homedoctor_dose_status st)
{
    snprintf(g_ids[g_n], sizeof g_ids[g_n], "ma%u", (unsigned)(g_n % 256u));
    g_d[g_n] = (struct homedoctor_dose){g_ids[g_n], t, st};
    g_n++;
}

/* Once a day at 08:00 for days from..to (inclusive), with the statuses of text: 't' taken,
 * 'l' late, 'm' missed (one letter per day). */
static void daily(int from, const char *text)
{
    for (int i = 0; text[i] != '\0'; i++)
        dose(at(from + i, 8, 0), text[i] == 'm'   ? HOMEDOCTOR_DOSE_MISSED
                                 : text[i] == 'l' ? HOMEDOCTOR_DOSE_LATE
                                                  : HOMEDOCTOR_DOSE_TAKEN);
}

static struct arena *g_a;
static struct homedoctor_adherence_eval g_res[HOMEDOCTOR_ADHERENCE_NRULES];
static struct homedoctor_finding *g_f[HOMEDOCTOR_ADHERENCE_NRULES];

static int eval_at(int64_t now)
{
    arena_free(g_a);
    g_a = arena_new(0);
    struct err e = {0};
    return homedoctor_adherence_doses_evaluate(
        g_a, g_d, g_n, now - HOMEDOCTOR_DOSE_HISTORY_DAYS * HOMEDOCTOR_DAY_MS, now, g_res, g_f, &e);
}

static int setup(void **state)
{
    (void)state;
    g_n = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(g_a);
    g_a = NULL;
    return 0;
}

static void the_rule_table_is_the_one_place(void **state)
{
    (void)state;
    size_t n = 0;
    const struct homedoctor_adherence_rule *t = homedoctor_adherence_rules(&n);
    assert_int_equal(n, HOMEDOCTOR_ADHERENCE_NRULES);
    assert_int_equal(t[IN_A_ROW].kind, HOMEDOCTOR_ADH_MISSED_IN_A_ROW);
    assert_int_equal(t[IN_A_ROW].threshold, 2);
    assert_int_equal(t[PROPORTION].kind, HOMEDOCTOR_ADH_TAKEN_PROPORTION);
    assert_int_equal(t[PROPORTION].threshold, 80);
    assert_int_equal(t[PROPORTION].window_days, 7);
    assert_int_equal(t[PROPORTION].min_scheduled, 7);
    for (size_t i = 0; i < n; i++) {
        /* cityos's own rule, said plainly, with its literature */
        assert_non_null(strstr(t[i].citation, "cityos rule, not a guideline"));
        assert_non_null(strstr(t[i].citation, "CLINICAL.md has no adherence rule"));
        assert_non_null(strstr(t[i].rule_id, "cityos."));
    }
    assert_non_null(strstr(t[PROPORTION].citation, "Osterberg"));
    assert_non_null(strstr(t[PROPORTION].citation, "N Engl J Med 2005;353:487-97"));
    assert_non_null(strstr(t[IN_A_ROW].citation, "Vrijens"));
}

static void missed_in_a_row_at_one_and_two(void **state)
{
    (void)state;
    daily(-9, "ttttttttm"); /* days -9..-1; the newest missed */
    assert_int_equal(eval_at(at(-1, 8, 0)), 0);
    assert_false(g_res[IN_A_ROW].fired);
    assert_int_equal(g_res[IN_A_ROW].in_a_row, 1);
    assert_null(g_f[IN_A_ROW]);
    daily(0, "m"); /* today 08:00: two in a row */
    assert_int_equal(eval_at(at(0, 8, 0)), 0);
    assert_true(g_res[IN_A_ROW].fired);
    assert_int_equal(g_res[IN_A_ROW].in_a_row, 2);
    assert_int_equal(g_res[IN_A_ROW].episode_ms, at(-1, 8, 0)); /* its first missed dose */
    assert_non_null(g_f[IN_A_ROW]);
    assert_int_equal(g_f[IN_A_ROW]->n_basis, 2);
    assert_string_equal(g_f[IN_A_ROW]->basis[0], "MedicationAdministration/ma8");
    assert_string_equal(g_f[IN_A_ROW]->basis[1], "MedicationAdministration/ma9");
    assert_true(homedoctor_finding_number(g_f[IN_A_ROW], "doses_missed_in_a_row") == 2);
    /* the doses after "now" do not count: as of yesterday it was one */
    assert_int_equal(eval_at(at(-1, 8, 0)), 0);
    assert_false(g_res[IN_A_ROW].fired);
}

static void a_taken_or_late_dose_breaks_the_run(void **state)
{
    (void)state;
    daily(-5, "tmtm"); /* missed, taken, missed: never two in a row */
    assert_int_equal(eval_at(at(-2, 9, 0)), 0);
    assert_false(g_res[IN_A_ROW].fired);
    g_n = 0;
    daily(-5, "mlm"); /* late is taken */
    assert_int_equal(eval_at(at(-3, 9, 0)), 0);
    assert_false(g_res[IN_A_ROW].fired);
    assert_int_equal(g_res[IN_A_ROW].in_a_row, 1);
}

static void one_run_is_one_episode(void **state)
{
    (void)state;
    daily(-10, "ttttttmmmm"); /* -4..-1 missed */
    int64_t first = at(-4, 8, 0);
    for (int day = -3; day <= -1; day++) {
        assert_int_equal(eval_at(at(day, 8, 0)), 0);
        assert_true(g_res[IN_A_ROW].fired);
        assert_int_equal(g_res[IN_A_ROW].episode_ms, first); /* the same key each time */
    }
    const char *scope = homedoctor_adherence_episode_scope(g_a, &g_res[IN_A_ROW]);
    char want[48];
    snprintf(want, sizeof want, "episode:%lld", (long long)first);
    assert_string_equal(scope, want);
    /* taken again, then a new run: a new episode */
    daily(0, "t");
    dose(at(0, 20, 0), HOMEDOCTOR_DOSE_MISSED);
    dose(at(1, 8, 0), HOMEDOCTOR_DOSE_MISSED);
    assert_int_equal(eval_at(at(1, 8, 0)), 0);
    assert_true(g_res[IN_A_ROW].fired);
    assert_int_equal(g_res[IN_A_ROW].episode_ms, at(0, 20, 0));
}

static void a_run_from_the_history_start_is_keyed_by_week(void **state)
{
    (void)state;
    /* every dose of the history missed, the first on its first day: it may have begun earlier */
    for (int day = -34; day <= 0; day++)
        dose(at(day, 8, 0), HOMEDOCTOR_DOSE_MISSED);
    assert_int_equal(eval_at(at(0, 8, 0)), 0);
    assert_true(g_res[IN_A_ROW].fired);
    assert_int_equal(g_res[IN_A_ROW].episode_ms, 0);
    assert_int_equal(g_res[IN_A_ROW].episode_week, TODAY / 7);
    char want[48];
    snprintf(want, sizeof want, "week:%lld", (long long)(TODAY / 7));
    assert_string_equal(homedoctor_adherence_episode_scope(g_a, &g_res[IN_A_ROW]), want);
    /* a new box whose first doses are missed: its first dose starts the episode */
    g_n = 0;
    daily(-3, "mmm");
    assert_int_equal(eval_at(at(-1, 8, 0)), 0);
    assert_int_equal(g_res[IN_A_ROW].episode_ms, at(-3, 8, 0));
}

/* Twice a day (08:00, 20:00) on days -4..0 (10 doses in the last 7 days), missing `missed`
 * of them (the first ones that are not the newest). */
static void ten_doses(int missed)
{
    g_n = 0;
    for (int day = -4; day <= 0; day++)
        for (int k = 0; k < 2; k++) {
            int i = (int)g_n;
            dose(at(day, k ? 20 : 8, 0),
                 i < missed * 2 && i % 2 == 0 ? HOMEDOCTOR_DOSE_MISSED : HOMEDOCTOR_DOSE_TAKEN);
        }
}

static void proportion_at_eighty_and_below(void **state)
{
    (void)state;
    ten_doses(2); /* 8 of 10: exactly 80% is not below */
    assert_int_equal(eval_at(at(0, 20, 0)), 0);
    assert_int_equal(g_res[PROPORTION].scheduled, 10);
    assert_true(g_res[PROPORTION].percent_taken == 80.0);
    assert_false(g_res[PROPORTION].fired);
    assert_false(g_res[IN_A_ROW].fired); /* never two in a row */
    ten_doses(3);                        /* 7 of 10: 70% */
    assert_int_equal(eval_at(at(0, 20, 0)), 0);
    assert_true(g_res[PROPORTION].fired);
    assert_true(g_res[PROPORTION].percent_taken == 70.0);
    assert_int_equal(g_res[PROPORTION].missed, 3);
    struct homedoctor_finding *f = g_f[PROPORTION];
    assert_non_null(f);
    assert_int_equal(f->n_basis, 10); /* every dose of the window */
    assert_true(homedoctor_finding_number(f, "percent_taken") == 70.0);
    assert_true(homedoctor_finding_number(f, "threshold_percent") == 80);
    /* 14 doses: 11 taken is 78.6% (below), 12 is 85.7% (not) */
    g_n = 0;
    daily(-6, "mmmtttt");
    for (int day = -6; day <= 0; day++)
        dose(at(day, 20, 0), HOMEDOCTOR_DOSE_TAKEN);
    assert_int_equal(eval_at(at(0, 20, 0)), 0);
    assert_int_equal(g_res[PROPORTION].scheduled, 14);
    assert_true(g_res[PROPORTION].percent_taken == 78.6);
    assert_true(g_res[PROPORTION].fired);
    g_d[0].status = HOMEDOCTOR_DOSE_LATE; /* late counts as taken: 12 of 14 */
    assert_int_equal(eval_at(at(0, 20, 0)), 0);
    assert_true(g_res[PROPORTION].percent_taken == 85.7);
    assert_int_equal(g_res[PROPORTION].late, 1);
    assert_false(g_res[PROPORTION].fired);
}

static void at_least_seven_scheduled(void **state)
{
    (void)state;
    daily(-5, "mtmtmm"); /* 6 scheduled, 2 taken: too few to judge the proportion */
    assert_int_equal(eval_at(at(0, 8, 0)), 0);
    assert_int_equal(g_res[PROPORTION].scheduled, 6);
    assert_true(g_res[PROPORTION].insufficient);
    assert_false(g_res[PROPORTION].fired);
    assert_true(g_res[IN_A_ROW].fired); /* the last two */
    g_n = 0;
    daily(-6, "tmttmtt"); /* 7 scheduled, 5 taken: 71.4% */
    assert_int_equal(eval_at(at(0, 8, 0)), 0);
    assert_false(g_res[PROPORTION].insufficient);
    assert_true(g_res[PROPORTION].percent_taken == 71.4);
    assert_true(g_res[PROPORTION].fired);
    assert_false(g_res[IN_A_ROW].fired);
}

static void the_window_is_seven_times_24_hours(void **state)
{
    (void)state;
    /* 7 doses in (now - 7 d, now] plus two missed ones at the edge */
    dose(at(-7, 8, 0), HOMEDOCTOR_DOSE_MISSED); /* exactly 7 days before now: outside */
    daily(-6, "ttttttt");
    assert_int_equal(eval_at(at(0, 8, 0)), 0);
    assert_int_equal(g_res[PROPORTION].scheduled, 7);
    assert_int_equal(g_res[PROPORTION].missed, 0);
    dose(at(-7, 8, 1), HOMEDOCTOR_DOSE_MISSED); /* a minute later: inside */
    dose(at(-7, 8, 2), HOMEDOCTOR_DOSE_MISSED);
    assert_int_equal(eval_at(at(0, 8, 0)), 0);
    assert_int_equal(g_res[PROPORTION].scheduled, 9);
    assert_int_equal(g_res[PROPORTION].missed, 2);
    assert_true(g_res[PROPORTION].fired); /* 7 of 9: 77.8% */
}

static void one_proportion_episode_alerts_once(void **state)
{
    (void)state;
    /* days -20..-8 all taken; -7..0 alternate missed and taken from -7 */
    daily(-20, "ttttttttttttt");
    daily(-7, "mtmtmtmt");
    int64_t first = 0;
    for (int day = -7; day <= 0; day++) {
        assert_int_equal(eval_at(at(day, 8, 0)), 0);
        if (!g_res[PROPORTION].fired)
            continue;
        if (first == 0)
            first = g_res[PROPORTION].episode_ms;
        assert_int_equal(g_res[PROPORTION].episode_ms, first); /* same key every day */
    }
    assert_true(first != 0);
    /* the first day at which it fell below: day -5 (days -11..-5: 5 of 7 taken) */
    assert_int_equal(first, at(-5, 8, 0));
    /* recovery: four days taken, then below again: a new episode */
    daily(1, "tttt");
    assert_int_equal(eval_at(at(4, 8, 0)), 0);
    assert_false(g_res[PROPORTION].fired);
    daily(5, "mmm");
    assert_int_equal(eval_at(at(7, 8, 0)), 0);
    assert_true(g_res[PROPORTION].fired);
    assert_true(g_res[PROPORTION].episode_ms > at(4, 8, 0));
}

static void bad_inputs_are_refused(void **state)
{
    (void)state;
    struct err e = {0};
    struct arena *a = arena_new(0);
    struct homedoctor_dose d[1] = {{NULL, at(-1, 8, 0), HOMEDOCTOR_DOSE_TAKEN}};
    assert_int_equal(homedoctor_adherence_doses_evaluate(a, d, 1, HIST, NOW_MS, g_res, g_f, &e),
                     ERR_INVALID);
    d[0].id = "x";
    d[0].status = (enum homedoctor_dose_status)7;
    assert_int_equal(homedoctor_adherence_doses_evaluate(a, d, 1, HIST, NOW_MS, g_res, g_f, &e),
                     ERR_INVALID);
    d[0].status = HOMEDOCTOR_DOSE_MISSED;
    assert_int_equal(homedoctor_adherence_doses_evaluate(a, d, HOMEDOCTOR_DOSE_MAX + 1, HIST,
                                                         NOW_MS, g_res, g_f, &e),
                     ERR_INVALID);
    assert_int_equal(homedoctor_adherence_doses_evaluate(a, d, 1, NOW_MS, NOW_MS, g_res, g_f, &e),
                     ERR_INVALID);
    /* no doses: nothing fires */
    assert_int_equal(homedoctor_adherence_doses_evaluate(a, NULL, 0, HIST, NOW_MS, g_res, g_f, &e),
                     0);
    assert_false(g_res[0].fired || g_res[1].fired);
    assert_null(homedoctor_adherence_episode_scope(a, &g_res[0]));
    arena_free(a);
}

static void the_alert_explains_itself(void **state)
{
    (void)state;
    daily(-6, "tttttmm");
    assert_int_equal(eval_at(at(0, 8, 0)), 0);
    for (int k = 0; k < HOMEDOCTOR_ADHERENCE_NRULES; k++) {
        struct homedoctor_finding *f = g_f[k];
        assert_non_null(f);
        assert_int_equal(f->severity, HOMEDOCTOR_WARNING);
        assert_int_equal(f->recipients, HOMEDOCTOR_TO_CITIZEN); /* carers: the service adds */
        assert_int_equal(f->triggers, 1u << HOMEDOCTOR_TRIG_MISSED_DOSES);
        assert_ptr_equal(f->citation, homedoctor_adherence_rules(NULL)[k].citation);
        assert_true(f->n_basis > 0 && f->n_numbers > 0);
        assert_non_null(strstr(f->text_en, "11/24 08:00")); /* the missed doses, local time */
        assert_non_null(strstr(f->text_en, "11/25 08:00"));
        assert_non_null(strstr(f->text_en, "not a diagnosis"));
        assert_non_null(strstr(f->text_en, "cityos"));
        assert_non_null(strstr(f->text_ja, "11/24 08:00"));
        assert_non_null(strstr(f->text_ja, "飲み忘れ"));
        assert_int_equal(f->evaluated_ms, at(0, 8, 0));
        /* the advice the catalogue has for missed doses */
        const struct homedoctor_finding *one[1] = {f};
        assert_true(homedoctor_advice_select(one, 1) & (1u << HOMEDOCTOR_ADV_MEDICATION_ROUTINE));
        json_t *c = homedoctor_fhir_communication(f, "p1", NULL, &(struct err){0});
        assert_non_null(c);
        json_decref(c);
    }
    assert_non_null(strstr(g_f[PROPORTION]->text_en, "71.4%"));
    assert_non_null(strstr(g_f[IN_A_ROW]->text_en, "2 times in a row"));
}

/* ---- a stored dose read back ---- */

static json_t *mapped(const char *payload)
{
    struct ingest_reading r;
    struct err e = {0};
    if (ingest_payload_parse(payload, strlen(payload), NOW_MS, &r, &e) != 0)
        fail_msg("%s: %s", payload, e.msg);
    struct ingest_source src = {"dev1", "pillbox", "p1", "fd1"};
    const char *rtype = NULL;
    json_t *o = ingest_map_resource(&r, &src, &rtype, &e);
    ingest_reading_release(&r);
    assert_non_null(o);
    assert_string_equal(rtype, "MedicationAdministration");
    json_object_set_new(o, "id", json_string("ma-1"));
    return o;
}

static void a_stored_dose_reads_back(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct err e = {0};
    struct homedoctor_dose d;
    json_t *o = mapped("{\"t\":\"2026-11-25T08:00:00+09:00\",\"dose\":\"missed\"}");
    assert_int_equal(homedoctor_dose_from_administration(o, a, &d, &e), 1);
    assert_int_equal(d.status, HOMEDOCTOR_DOSE_MISSED);
    assert_int_equal(d.scheduled_ms, at(0, 8, 0));
    assert_string_equal(d.id, "ma-1");
    /* the citizen marks the report as an error: no longer a dose */
    json_object_set_new(o, "status", json_string("entered-in-error"));
    assert_int_equal(homedoctor_dose_from_administration(o, a, &d, &e), 0);
    json_decref(o);
    o = mapped("{\"t\":\"2026-11-25T06:00:00+09:00\",\"dose\":\"late\",\"at\":"
               "\"2026-11-25T08:30:00+09:00\",\"slot\":\"morning\"}");
    assert_int_equal(homedoctor_dose_from_administration(o, a, &d, &e), 1);
    assert_int_equal(d.status, HOMEDOCTOR_DOSE_LATE);
    json_decref(o);
    o = mapped("{\"t\":\"2026-11-25T08:00:00+09:00\",\"dose\":\"taken\"}");
    assert_int_equal(homedoctor_dose_from_administration(o, a, &d, &e), 1);
    assert_int_equal(d.status, HOMEDOCTOR_DOSE_TAKEN);
    json_object_del(o, "id");
    assert_int_equal(homedoctor_dose_from_administration(o, a, &d, &e), 0);
    json_decref(o);
    /* a pill box's plain "opened" event is not a dose report */
    o = mapped("{\"t\":\"2026-11-25T08:03:00+09:00\",\"opened\":\"morning\"}");
    assert_int_equal(homedoctor_dose_from_administration(o, a, &d, &e), 0);
    json_decref(o);
    o = json_pack("{s:s}", "resourceType", "Observation");
    assert_int_equal(homedoctor_dose_from_administration(o, a, &d, &e), 0);
    json_decref(o);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_rule_table_is_the_one_place, setup, teardown),
        cmocka_unit_test_setup_teardown(missed_in_a_row_at_one_and_two, setup, teardown),
        cmocka_unit_test_setup_teardown(a_taken_or_late_dose_breaks_the_run, setup, teardown),
        cmocka_unit_test_setup_teardown(one_run_is_one_episode, setup, teardown),
        cmocka_unit_test_setup_teardown(a_run_from_the_history_start_is_keyed_by_week, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(proportion_at_eighty_and_below, setup, teardown),
        cmocka_unit_test_setup_teardown(at_least_seven_scheduled, setup, teardown),
        cmocka_unit_test_setup_teardown(the_window_is_seven_times_24_hours, setup, teardown),
        cmocka_unit_test_setup_teardown(one_proportion_episode_alerts_once, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_inputs_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(the_alert_explains_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(a_stored_dose_reads_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
