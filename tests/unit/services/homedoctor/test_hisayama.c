/* test_hisayama.c - rule 4: the Hisayama points at every band edge, the risk formula against
 * hand-computed values, the evaluation (contributing points, what each modifiable factor would
 * change, which SBP was used), ages outside 40-84, missing inputs, bad input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "services/homedoctor/homedoctor.h"

#define NOW_MS 1795564800000LL

struct band {
    double x;
    int points;
};

static void age_bands(void **state)
{
    (void)state;
    static const struct band c[] = {{39, -1}, {40, 0},  {49, 0},  {50, 5},  {59, 5},
                                    {60, 11}, {69, 11}, {70, 16}, {79, 16}, {80, 20},
                                    {84, 20}, {85, -1}, {0, -1},  {120, -1}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (homedoctor_hisayama_age_points((int)c[i].x) != c[i].points)
            fail_msg("age %.0f: got %d want %d", c[i].x,
                     homedoctor_hisayama_age_points((int)c[i].x), c[i].points);
}

static void sbp_bands(void **state)
{
    (void)state;
    static const struct band c[] = {{90, 0},  {119, 0}, {119.9, 0}, {120, 1},   {129, 1}, {130, 2},
                                    {139, 2}, {140, 3}, {159, 3},   {159.9, 3}, {160, 4}, {220, 4}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (homedoctor_hisayama_sbp_points(c[i].x) != c[i].points)
            fail_msg("sbp %.1f: got %d want %d", c[i].x, homedoctor_hisayama_sbp_points(c[i].x),
                     c[i].points);
}

static void lipid_bands(void **state)
{
    (void)state;
    static const struct band hdl[] = {{20, 2}, {39, 2}, {39.9, 2}, {40, 1},
                                      {59, 1}, {60, 0}, {95, 0}};
    for (size_t i = 0; i < sizeof hdl / sizeof hdl[0]; i++)
        if (homedoctor_hisayama_hdl_points(hdl[i].x) != hdl[i].points)
            fail_msg("hdl %.1f: want %d", hdl[i].x, hdl[i].points);
    static const struct band ldl[] = {{60, 0},  {119, 0}, {120, 1}, {139, 1},
                                      {140, 2}, {159, 2}, {160, 3}, {250, 3}};
    for (size_t i = 0; i < sizeof ldl / sizeof ldl[0]; i++)
        if (homedoctor_hisayama_ldl_points(ldl[i].x) != ldl[i].points)
            fail_msg("ldl %.1f: want %d", ldl[i].x, ldl[i].points);
}

static void risk_formula(void **state)
{
    (void)state;
    /* 1 - 0.9696 ^ exp(0.144 * total - 2.4767), computed by hand (python, double) */
    static const struct {
        int total;
        double risk;
    } c[] = {{0, 0.0025904771614174704}, {10, 0.010888093171074864}, {20, 0.045156038762930284},
             {23, 0.06870090698781195},  {27, 0.1189258123812662},   {30, 0.17718767359458587},
             {40, 0.5609536256408005},   {50, 0.9690154552163676}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        assert_float_equal(homedoctor_hisayama_risk(c[i].total), c[i].risk, 1e-12);
    /* monotone over the score's whole range (0..47 points) */
    for (int t = 1; t <= 47; t++)
        assert_true(homedoctor_hisayama_risk(t) > homedoctor_hisayama_risk(t - 1));
}

/* The S1 persona: 70, male, check-up SBP 148, no diabetes, HDL 52, LDL 135, no proteinuria,
 * non-smoker, no regular exercise. */
static struct homedoctor_hisayama_input persona(void)
{
    static const char *const home_ids[] = {"bp-1", "bp-2"};
    return (struct homedoctor_hisayama_input){
        .patient_id = "taro",
        .age = 70,
        .sex = HOMEDOCTOR_SEX_MALE,
        .office_sbp = {true, 148, "cu-sbp"},
        .home_sbp = {true, 138.4, NULL},
        .home_obs_ids = home_ids,
        .n_home_obs = 2,
        .diabetes = {true, false, "cu-dm"},
        .hdl = {true, 52, "cu-hdl"},
        .ldl = {true, 135, "cu-ldl"},
        .proteinuria = {true, false, "cu-up"},
        .smoking = {true, false, "q-smoke"},
        .regular_exercise = {true, false, "q-ex"},
    };
}

static bool has_basis(const struct homedoctor_finding *f, const char *ref)
{
    for (size_t i = 0; i < f->n_basis; i++)
        if (strcmp(f->basis[i], ref) == 0)
            return true;
    return false;
}

static void persona_points_and_changes(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct homedoctor_hisayama_input in = persona();
    struct homedoctor_hisayama_result res;
    struct homedoctor_finding *f;
    struct err e;
    assert_int_equal(homedoctor_hisayama_evaluate(a, &in, NOW_MS, &res, &f, &e), 0);
    assert_int_equal(res.status, HOMEDOCTOR_HS_COMPUTED);
    static const int want[HOMEDOCTOR_HF_COUNT] = {16, 7, 3, 0, 1, 1, 0, 0, 2};
    for (int i = 0; i < HOMEDOCTOR_HF_COUNT; i++)
        assert_int_equal(res.points[i], want[i]);
    assert_int_equal(res.total, 30);
    assert_float_equal(res.risk, 0.17718767359458587, 1e-12);
    assert_int_equal(res.sbp_source, HOMEDOCTOR_SBP_OFFICE);
    /* what each modifiable factor would change: SBP -3, HDL -1, LDL -1, exercise -2 */
    assert_float_equal(res.risk_if_best[HOMEDOCTOR_HF_SBP], homedoctor_hisayama_risk(27), 1e-12);
    assert_float_equal(res.risk_if_best[HOMEDOCTOR_HF_HDL], homedoctor_hisayama_risk(29), 1e-12);
    assert_float_equal(res.risk_if_best[HOMEDOCTOR_HF_LDL], homedoctor_hisayama_risk(29), 1e-12);
    assert_float_equal(res.risk_if_best[HOMEDOCTOR_HF_NO_EXERCISE], homedoctor_hisayama_risk(28),
                       1e-12);
    assert_true(res.risk_if_best[HOMEDOCTOR_HF_SMOKING] < 0);          /* 0 points already */
    assert_true(res.risk_if_best[HOMEDOCTOR_HF_AGE] < 0);              /* not modifiable */
    assert_true(res.risk_if_best[HOMEDOCTOR_HF_DIABETES] < 0);         /* not modifiable */
    assert_float_equal(res.risk_all_best, 0.06870090698781195, 1e-12); /* 23 points */
    /* the finding explains itself */
    assert_string_equal(f->rule_id, "hisayama.ascvd_10y");
    assert_non_null(strstr(f->citation, "10.5551/jat.61960"));
    assert_float_equal(f->probability, res.risk, 1e-15);
    assert_non_null(strstr(f->text_en, "17.7%"));
    assert_non_null(strstr(f->text_en, "30 points"));
    assert_non_null(strstr(f->text_en, "age +16"));
    assert_non_null(strstr(f->text_en, "no regular exercise +2"));
    assert_non_null(strstr(f->text_en, "regular exercise: 13.6%"));
    assert_non_null(strstr(f->text_en, "all of these: 6.9%"));
    assert_non_null(strstr(f->text_en, "from your check-up"));
    assert_non_null(strstr(f->text_ja, "17.7%"));
    assert_true(homedoctor_finding_number(f, "points_total") == 30);
    assert_true(homedoctor_finding_number(f, "points_sbp") == 3);
    assert_true(has_basis(f, "Patient/taro"));
    assert_true(has_basis(f, "Observation/cu-sbp"));
    assert_true(has_basis(f, "Observation/cu-ldl"));
    assert_false(has_basis(f, "Observation/bp-1")); /* home SBP not used */
    assert_true(f->triggers & (1u << HOMEDOCTOR_TRIG_RISK_NO_EXERCISE));
    assert_false(f->triggers & (1u << HOMEDOCTOR_TRIG_RISK_SMOKING));
    arena_free(a);
}

static void home_sbp_when_check_up_has_none(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct homedoctor_hisayama_input in = persona();
    in.office_sbp.known = false;
    struct homedoctor_hisayama_result res;
    struct homedoctor_finding *f;
    struct err e;
    assert_int_equal(homedoctor_hisayama_evaluate(a, &in, NOW_MS, &res, &f, &e), 0);
    assert_int_equal(res.sbp_source, HOMEDOCTOR_SBP_HOME);
    assert_true(res.sbp_used == 138.4);
    assert_int_equal(res.points[HOMEDOCTOR_HF_SBP], 2);
    assert_non_null(strstr(f->text_en, "7-day home mean"));
    assert_non_null(strstr(f->text_ja, "家庭血圧の7日平均"));
    assert_true(has_basis(f, "Observation/bp-1") && has_basis(f, "Observation/bp-2"));
    assert_true(homedoctor_finding_number(f, "sbp_from_home") == 1);
    arena_free(a);
}

static void ages_outside_the_model(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    int ages[] = {39, 85, 90};
    for (size_t i = 0; i < 3; i++) {
        struct homedoctor_hisayama_input in = persona();
        in.age = ages[i];
        struct homedoctor_hisayama_result res;
        struct homedoctor_finding *f;
        struct err e;
        assert_int_equal(homedoctor_hisayama_evaluate(a, &in, NOW_MS, &res, &f, &e), 0);
        assert_int_equal(res.status, HOMEDOCTOR_HS_AGE_OUT_OF_RANGE);
        assert_string_equal(f->outcome, "not_applicable_age");
        assert_non_null(strstr(f->text_en, "aged 40 to 84"));
        assert_non_null(strstr(f->text_ja, "40〜84歳"));
        assert_true(f->probability < 0);
        assert_true(has_basis(f, "Patient/taro"));
    }
    arena_free(a);
}

static void missing_inputs_named(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct homedoctor_hisayama_input in = persona();
    in.ldl.known = false;
    in.smoking.known = false;
    in.office_sbp.known = false;
    in.home_sbp.known = false;
    struct homedoctor_hisayama_result res;
    struct homedoctor_finding *f;
    struct err e;
    assert_int_equal(homedoctor_hisayama_evaluate(a, &in, NOW_MS, &res, &f, &e), 0);
    assert_int_equal(res.status, HOMEDOCTOR_HS_MISSING_INPUTS);
    assert_int_equal(res.missing_mask, (1u << HOMEDOCTOR_HF_LDL) | (1u << HOMEDOCTOR_HF_SMOKING) |
                                           (1u << HOMEDOCTOR_HF_SBP));
    assert_string_equal(f->outcome, "missing_inputs");
    assert_non_null(strstr(f->text_en, "missing systolic BP, LDL cholesterol, smoking"));
    assert_non_null(strstr(f->text_ja, "LDLコレステロール"));
    assert_true(f->probability < 0);
    assert_true(has_basis(f, "Observation/cu-hdl"));
    /* unknown age and sex are missing too (not "out of range") */
    in = persona();
    in.age = -1;
    in.sex = HOMEDOCTOR_SEX_UNKNOWN;
    assert_int_equal(homedoctor_hisayama_evaluate(a, &in, NOW_MS, &res, &f, &e), 0);
    assert_int_equal(res.status, HOMEDOCTOR_HS_MISSING_INPUTS);
    assert_non_null(strstr(f->text_en, "missing age, sex"));
    arena_free(a);
}

static void female_smoker_best_case(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct homedoctor_hisayama_input in = persona();
    in.sex = HOMEDOCTOR_SEX_FEMALE;
    in.age = 45;
    in.office_sbp.value = 110;
    in.hdl.value = 65;
    in.ldl.value = 100;
    in.regular_exercise.yes = true;
    in.smoking.yes = true;
    in.diabetes.yes = true;
    in.proteinuria.yes = true;
    struct homedoctor_hisayama_result res;
    struct homedoctor_finding *f;
    struct err e;
    assert_int_equal(homedoctor_hisayama_evaluate(a, &in, NOW_MS, &res, &f, &e), 0);
    assert_int_equal(res.total, 3 + 4 + 2); /* diabetes, proteinuria, smoking */
    assert_float_equal(res.risk_if_best[HOMEDOCTOR_HF_SMOKING], homedoctor_hisayama_risk(7), 1e-12);
    assert_float_equal(res.risk_all_best, homedoctor_hisayama_risk(7), 1e-12);
    assert_non_null(strstr(f->text_en, "not smoking"));
    assert_true(f->triggers & (1u << HOMEDOCTOR_TRIG_RISK_SMOKING));
    arena_free(a);
}

static void bad_input_refused(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct homedoctor_hisayama_result res;
    struct homedoctor_finding *f;
    struct err e;
    struct homedoctor_hisayama_input in = persona();
    in.patient_id = NULL;
    assert_int_equal(homedoctor_hisayama_evaluate(a, &in, NOW_MS, &res, &f, &e), ERR_INVALID);
    in = persona();
    in.ldl.obs_id = NULL;
    assert_int_equal(homedoctor_hisayama_evaluate(a, &in, NOW_MS, &res, &f, &e), ERR_INVALID);
    in = persona();
    in.hdl.value = -5;
    assert_int_equal(homedoctor_hisayama_evaluate(a, &in, NOW_MS, &res, &f, &e), ERR_INVALID);
    in = persona();
    in.home_obs_ids = NULL;
    in.n_home_obs = 0;
    assert_int_equal(homedoctor_hisayama_evaluate(a, &in, NOW_MS, &res, &f, &e), ERR_INVALID);
    assert_null(f);
    assert_false(homedoctor_hisayama_modifiable(HOMEDOCTOR_HF_PROTEINURIA));
    assert_true(homedoctor_hisayama_modifiable(HOMEDOCTOR_HF_HDL));
    assert_string_equal(homedoctor_hisayama_factor_code(HOMEDOCTOR_HF_NO_EXERCISE), "no_exercise");
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(age_bands),
        cmocka_unit_test(sbp_bands),
        cmocka_unit_test(lipid_bands),
        cmocka_unit_test(risk_formula),
        cmocka_unit_test(persona_points_and_changes),
        cmocka_unit_test(home_sbp_when_check_up_has_none),
        cmocka_unit_test(ages_outside_the_model),
        cmocka_unit_test(missing_inputs_named),
        cmocka_unit_test(female_smoker_best_case),
        cmocka_unit_test(bad_input_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
