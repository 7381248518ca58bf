/* test_output.c - the advice catalogue and its selection table, the FHIR R4 RiskAssessment and
 * Communication renderings, and the explainability contract: every finding of a full S1-like
 * evaluation has a rule id, a citation, a basis and texts in both languages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "services/homedoctor/homedoctor.h"

#define NOW_MS 1795564800000LL
#define TODAY  20782LL

static int64_t at(int day, int hh, int mm)
{
    return (TODAY + day) * HOMEDOCTOR_DAY_MS - HOMEDOCTOR_TZ_OFFSET_MS + hh * 3600000LL +
           mm * 60000LL;
}

#define A(x) (1u << HOMEDOCTOR_ADV_##x)

static void advice_table(void **state)
{
    (void)state;
    static const unsigned want[HOMEDOCTOR_TRIG_COUNT] = {
        [HOMEDOCTOR_TRIG_BP_HIGH_NORMAL] = A(SALT) | A(DIET) | A(EXERCISE) | A(MEASURE_ROUTINE),
        [HOMEDOCTOR_TRIG_BP_ELEVATED_UP] = A(SALT) | A(DIET) | A(EXERCISE) | A(WEIGHT) |
                                           A(ALCOHOL) | A(MEASURE_ROUTINE) | A(TALK_TO_DOCTOR),
        [HOMEDOCTOR_TRIG_BP_RISE] = A(SALT) | A(MEASURE_ROUTINE) | A(TALK_TO_DOCTOR),
        [HOMEDOCTOR_TRIG_READINGS_MISSING] = A(MEASURE_ROUTINE),
        [HOMEDOCTOR_TRIG_WRIST_DEVICE] = A(UPPER_ARM_CUFF),
        [HOMEDOCTOR_TRIG_RISK_SBP] = A(SALT) | A(EXERCISE),
        [HOMEDOCTOR_TRIG_RISK_SMOKING] = A(SMOKING),
        [HOMEDOCTOR_TRIG_RISK_NO_EXERCISE] = A(EXERCISE),
        [HOMEDOCTOR_TRIG_RISK_LDL] = A(DIET) | A(WEIGHT),
        [HOMEDOCTOR_TRIG_RISK_HDL] = A(EXERCISE) | A(WEIGHT),
        [HOMEDOCTOR_TRIG_MISSED_DOSES] = A(MEDICATION_ROUTINE),
    };
    for (int t = 0; t < HOMEDOCTOR_TRIG_COUNT; t++) {
        if (homedoctor_advice_for_trigger((enum homedoctor_trigger)t) != want[t])
            fail_msg("trigger %d: got %#x want %#x", t,
                     homedoctor_advice_for_trigger((enum homedoctor_trigger)t), want[t]);
        assert_true(want[t] != 0); /* every trigger gets some advice */
    }
    assert_int_equal(homedoctor_advice_for_trigger(HOMEDOCTOR_TRIG_COUNT), 0);
    /* every advice item is reachable from some trigger */
    unsigned all = 0;
    for (int t = 0; t < HOMEDOCTOR_TRIG_COUNT; t++)
        all |= want[t];
    assert_int_equal(all, (1u << HOMEDOCTOR_ADV_COUNT) - 1);
}

static void advice_catalogue(void **state)
{
    (void)state;
    for (int i = 0; i < HOMEDOCTOR_ADV_COUNT; i++) {
        const struct homedoctor_advice *a = homedoctor_advice_get((enum homedoctor_advice_id)i);
        assert_non_null(a);
        assert_int_equal(a->id, i);
        assert_true(a->code[0] && a->text_ja[0] && a->text_en[0]);
        assert_true((unsigned char)a->text_ja[0] >= 0x80); /* Japanese text */
        assert_non_null(a->citation);
    }
    assert_null(homedoctor_advice_get(HOMEDOCTOR_ADV_COUNT));
    /* JSH2019's numbers, where the items use them */
    const struct homedoctor_advice *salt = homedoctor_advice_get(HOMEDOCTOR_ADV_SALT);
    assert_non_null(strstr(salt->text_en, "less than 6 g"));
    assert_non_null(strstr(salt->text_ja, "6g未満"));
    assert_non_null(strstr(salt->citation, "JSH2019"));
    const struct homedoctor_advice *ex = homedoctor_advice_get(HOMEDOCTOR_ADV_EXERCISE);
    assert_non_null(strstr(ex->text_en, "30 minutes"));
    assert_non_null(strstr(ex->text_en, "180 minutes a week"));
    assert_non_null(strstr(homedoctor_advice_get(HOMEDOCTOR_ADV_WEIGHT)->text_en, "BMI below 25"));
    assert_non_null(
        strstr(homedoctor_advice_get(HOMEDOCTOR_ADV_ALCOHOL)->text_en, "20-30 mL of ethanol"));
}

/* ---- an S1-like evaluation: every finding the rules can produce ---- */

struct scenario {
    struct arena *a;
    const struct homedoctor_finding *f[16];
    size_t n;
};

static void keep(struct scenario *s, struct homedoctor_finding *f)
{
    assert_non_null(f);
    assert_true(s->n < 16);
    s->f[s->n++] = f;
}

static void s1(struct scenario *s)
{
    struct err e;
    s->a = arena_new(0);
    s->n = 0;
    /* 35 days of morning and evening wrist readings: 128/78 then a rise to 152/92 */
    static struct homedoctor_bp_reading r[70];
    static char ids[70][16];
    size_t n = 0;
    for (int d = -34; d <= 0; d++)
        for (int k = 0; k < 2; k++) {
            snprintf(ids[n], 16, "bp-%zu", n);
            bool high = d >= -2;
            r[n] = (struct homedoctor_bp_reading){ids[n], at(d, k ? 21 : 7, 0), high ? 152 : 128,
                                                  high ? 92 : 78, HOMEDOCTOR_DEVICE_WRIST};
            n++;
        }
    n--; /* today's evening reading is after now (09:00) anyway: drop it */
    struct homedoctor_bp_result bp;
    struct homedoctor_finding *f;
    assert_int_equal(homedoctor_home_bp_evaluate(s->a, r, n, NOW_MS, 70, &bp, &f, &e), 0);
    keep(s, f);
    assert_int_equal(homedoctor_home_bp_evaluate(s->a, r + n - 6, 6, NOW_MS, 70, &bp, &f, &e), 0);
    keep(s, f); /* insufficient data (3 days) */
    assert_int_equal(homedoctor_office_bp_evaluate(s->a, r, 1, NOW_MS, 70, &bp, &f, &e), 0);
    keep(s, f);
    struct homedoctor_rise_result rr;
    assert_int_equal(homedoctor_rise_evaluate(s->a, r, n, NOW_MS, &rr, &f, &e), 0);
    keep(s, f);
    assert_int_equal(
        homedoctor_nudge_evaluate(s->a, "wrist-1", "bp-0", at(-5, 7, 0), NOW_MS, NULL, &f, &e), 0);
    keep(s, f);
    const char *home_ids[] = {"bp-60", "bp-61"};
    struct homedoctor_hisayama_input in = {
        .patient_id = "taro",
        .age = 70,
        .sex = HOMEDOCTOR_SEX_MALE,
        .office_sbp = {true, 148, "cu-sbp"},
        .home_sbp = {true, 133.2, NULL},
        .home_obs_ids = home_ids,
        .n_home_obs = 2,
        .diabetes = {true, false, "cu-dm"},
        .hdl = {true, 52, "cu-hdl"},
        .ldl = {true, 135, "cu-ldl"},
        .proteinuria = {true, false, "cu-up"},
        .smoking = {true, false, "q-smoke"},
        .regular_exercise = {true, false, "q-ex"},
    };
    struct homedoctor_hisayama_result hr;
    assert_int_equal(homedoctor_hisayama_evaluate(s->a, &in, NOW_MS, &hr, &f, &e), 0);
    keep(s, f);
    struct homedoctor_hisayama_input old = in;
    old.age = 86;
    assert_int_equal(homedoctor_hisayama_evaluate(s->a, &old, NOW_MS, &hr, &f, &e), 0);
    keep(s, f);
    struct homedoctor_hisayama_input gaps = in;
    gaps.ldl.known = false;
    assert_int_equal(homedoctor_hisayama_evaluate(s->a, &gaps, NOW_MS, &hr, &f, &e), 0);
    keep(s, f);
    const struct homedoctor_dose_schedule sch = {1, {8 * 60}};
    struct homedoctor_pillbox_event ev[] = {{"pb-1", at(-2, 8, 5)}};
    struct homedoctor_adherence_result ar;
    assert_int_equal(homedoctor_adherence_evaluate(s->a, "pill-1", &sch, ev, 1, at(-3, 0, 0),
                                                   NOW_MS, &ar, &f, &e),
                     0);
    keep(s, f);
}

static void every_finding_explains_itself(void **state)
{
    (void)state;
    struct scenario s;
    s1(&s);
    assert_int_equal(s.n, 9);
    for (size_t i = 0; i < s.n; i++) {
        const struct homedoctor_finding *f = s.f[i];
        assert_true(f->rule_id && f->rule_id[0]);
        assert_true(f->citation && f->citation[0]);
        assert_true(f->outcome && f->outcome[0]);
        assert_true(f->n_basis > 0);
        for (size_t k = 0; k < f->n_basis; k++)
            assert_non_null(strchr(f->basis[k], '/'));
        assert_true(f->n_numbers > 0);
        assert_true(f->text_en && strlen(f->text_en) > 20);
        assert_true(f->text_ja && strlen(f->text_ja) > 20);
        bool non_ascii = false;
        for (const char *p = f->text_ja; *p; p++)
            non_ascii |= (unsigned char)*p >= 0x80;
        assert_true(non_ascii);
        assert_true(f->recipients & HOMEDOCTOR_TO_CITIZEN);
        assert_true(f->evaluated_ms == NOW_MS);
    }
    /* the S1 slice: grade I at home from wrist readings, a rise, Hisayama 17.7% */
    assert_string_equal(s.f[0]->outcome, "grade_1");
    assert_non_null(strstr(s.f[0]->text_en, "wrist monitor"));
    assert_string_equal(s.f[3]->rule_id, "cityos.home_bp_rise");
    assert_non_null(strstr(s.f[5]->text_en, "17.7%"));
    /* the advice the findings call for */
    unsigned adv = homedoctor_advice_select(s.f, s.n);
    unsigned want = A(SALT) | A(DIET) | A(EXERCISE) | A(WEIGHT) | A(ALCOHOL) | A(MEASURE_ROUTINE) |
                    A(TALK_TO_DOCTOR) | A(UPPER_ARM_CUFF) | A(MEDICATION_ROUTINE);
    assert_int_equal(adv, want); /* not smoking: no smoking advice */
    assert_int_equal(homedoctor_advice_select(NULL, 0), 0);
    arena_free(s.a);
}

static char *dump(json_t *v)
{
    assert_non_null(v);
    char *s = jsonx_dumps(v, NULL);
    assert_non_null(s);
    json_decref(v);
    return s;
}

static void fhir_risk_assessment(void **state)
{
    (void)state;
    struct scenario s;
    s1(&s);
    struct err e;
    /* Hisayama: a probability over 10 years, basis = the resources used */
    json_t *ra = homedoctor_fhir_risk_assessment(s.f[5], "taro", &e);
    assert_non_null(ra);
    assert_string_equal(json_string_value(json_object_get(ra, "resourceType")), "RiskAssessment");
    assert_string_equal(json_string_value(json_object_get(ra, "status")), "final");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ra, "subject"), "reference")),
        "Patient/taro");
    json_t *pred = json_array_get(json_object_get(ra, "prediction"), 0);
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(pred, "outcome"), "text")),
               "atherothrombotic brain infarction"));
    assert_float_equal(json_real_value(json_object_get(pred, "probabilityDecimal")),
                       s.f[5]->probability, 1e-15);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(pred, "whenRange"), "high"), "value")),
                     10);
    json_t *basis = json_object_get(ra, "basis");
    assert_int_equal(json_array_size(basis), s.f[5]->n_basis);
    assert_string_equal(json_string_value(json_object_get(json_array_get(basis, 0), "reference")),
                        "Patient/taro");
    json_t *method = json_array_get(json_object_get(json_object_get(ra, "method"), "coding"), 0);
    assert_string_equal(json_string_value(json_object_get(method, "code")), "hisayama.ascvd_10y");
    assert_int_equal(json_array_size(json_object_get(ra, "note")), 2);
    assert_string_equal(json_string_value(json_object_get(ra, "occurrenceDateTime")),
                        "2026-11-25T00:00:00.000Z");
    char *text = dump(ra);
    struct err pe;
    json_t *back = jsonx_parse(text, strlen(text), &pe); /* valid, strict JSON */
    assert_non_null(back);
    json_decref(back);
    free(text);
    /* a category: a qualitative risk instead of a probability */
    ra = homedoctor_fhir_risk_assessment(s.f[0], "taro", &e);
    pred = json_array_get(json_object_get(ra, "prediction"), 0);
    assert_null(json_object_get(pred, "probabilityDecimal"));
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(pred, "qualitativeRisk"), "coding"), 0),
            "code")),
        "grade_1");
    assert_true(json_array_size(json_object_get(ra, "basis")) > 5);
    json_decref(ra);
    /* bad patient id */
    assert_null(homedoctor_fhir_risk_assessment(s.f[0], "bad id/", &e));
    assert_int_equal(e.code, ERR_INVALID);
    assert_null(homedoctor_fhir_risk_assessment(NULL, "taro", &e));
    arena_free(s.a);
}

static void fhir_communication(void **state)
{
    (void)state;
    struct scenario s;
    s1(&s);
    struct err e;
    /* missed doses: to the citizen and the carer */
    const struct homedoctor_finding *missed = s.f[8];
    json_t *c = homedoctor_fhir_communication(missed, "taro", "RelatedPerson/hanako", &e);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "resourceType")), "Communication");
    assert_string_equal(json_string_value(json_object_get(c, "priority")), "urgent");
    json_t *rec = json_object_get(c, "recipient");
    assert_int_equal(json_array_size(rec), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rec, 0), "reference")),
                        "Patient/taro");
    assert_string_equal(json_string_value(json_object_get(json_array_get(rec, 1), "reference")),
                        "RelatedPerson/hanako");
    json_t *payload = json_object_get(c, "payload");
    assert_int_equal(json_array_size(payload), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(payload, 0), "contentString")),
        missed->text_ja);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(payload, 1), "contentString")),
        missed->text_en);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(
                json_object_get(json_array_get(json_object_get(c, "reasonCode"), 0), "coding"), 0),
            "code")),
        "cityos.medication_missed");
    free(dump(c));
    /* for the carer but no carer named: refused */
    assert_null(homedoctor_fhir_communication(missed, "taro", NULL, &e));
    assert_int_equal(e.code, ERR_INVALID);
    assert_null(homedoctor_fhir_communication(missed, "taro", "hanako", &e));
    /* the nudge: the citizen only, a notification */
    c = homedoctor_fhir_communication(s.f[4], "taro", "RelatedPerson/hanako", &e);
    assert_int_equal(json_array_size(json_object_get(c, "recipient")), 1);
    assert_string_equal(json_string_value(json_object_get(c, "priority")), "routine");
    json_decref(c);
    arena_free(s.a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(advice_table),
        cmocka_unit_test(advice_catalogue),
        cmocka_unit_test(every_finding_explains_itself),
        cmocka_unit_test(fhir_risk_assessment),
        cmocka_unit_test(fhir_communication),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
