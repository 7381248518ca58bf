/* hisayama.c - rule 4: the Hisayama 10-year risk of atherosclerotic cardiovascular disease
 * (Honda T et al., J Atheroscler Thromb 2022;29(3):345-361, doi:10.5551/jat.61960; adopted by
 * the Japan Atherosclerosis Society guideline 2022): points per factor, the risk, and what the
 * risk would be if each modifiable factor moved to its best band. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "services/homedoctor/internal.h"

static const char CITE_HISAYAMA[] =
    "Hisayama ASCVD score: Honda T et al., J Atheroscler Thromb 2022;29(3):345-361 "
    "(doi:10.5551/jat.61960), ages 40-84; adopted by the Japan Atherosclerosis Society "
    "Guidelines for Prevention of Atherosclerotic Cardiovascular Diseases 2022";

/* age 40-49 / 50-59 / 60-69 / 70-79 / 80-84: 0 / 5 / 11 / 16 / 20 */
int homedoctor_hisayama_age_points(int age)
{
    if (age < 40 || age > 84)
        return -1;
    if (age < 50)
        return 0;
    if (age < 60)
        return 5;
    if (age < 70)
        return 11;
    if (age < 80)
        return 16;
    return 20;
}

/* systolic <120 / 120-129 / 130-139 / 140-159 / >=160: 0 / 1 / 2 / 3 / 4 */
int homedoctor_hisayama_sbp_points(double sbp)
{
    if (sbp < 120)
        return 0;
    if (sbp < 130)
        return 1;
    if (sbp < 140)
        return 2;
    if (sbp < 160)
        return 3;
    return 4;
}

/* HDL-C <40 / 40-59 / >=60 mg/dL: 2 / 1 / 0 */
int homedoctor_hisayama_hdl_points(double hdl)
{
    if (hdl < 40)
        return 2;
    if (hdl < 60)
        return 1;
    return 0;
}

/* LDL-C <120 / 120-139 / 140-159 / >=160 mg/dL: 0 / 1 / 2 / 3 */
int homedoctor_hisayama_ldl_points(double ldl)
{
    if (ldl < 120)
        return 0;
    if (ldl < 140)
        return 1;
    if (ldl < 160)
        return 2;
    return 3;
}

/* 10-year risk = 1 - 0.9696 ^ exp(0.144 * total - 2.4767) */
double homedoctor_hisayama_risk(int total)
{
    return 1.0 - pow(0.9696, exp(0.144 * (double)total - 2.4767));
}

bool homedoctor_hisayama_modifiable(enum homedoctor_hisayama_factor f)
{
    return f == HOMEDOCTOR_HF_SBP || f == HOMEDOCTOR_HF_HDL || f == HOMEDOCTOR_HF_LDL ||
           f == HOMEDOCTOR_HF_SMOKING || f == HOMEDOCTOR_HF_NO_EXERCISE;
}

const char *homedoctor_hisayama_factor_code(enum homedoctor_hisayama_factor f)
{
    static const char *const c[] = {"age", "sex",         "sbp",     "diabetes",   "hdl",
                                    "ldl", "proteinuria", "smoking", "no_exercise"};
    return (unsigned)f < HOMEDOCTOR_HF_COUNT ? c[f] : "?";
}

static const char *const NAME_EN[HOMEDOCTOR_HF_COUNT] = {
    "age",         "male sex",        "systolic BP",
    "diabetes",    "HDL cholesterol", "LDL cholesterol",
    "proteinuria", "smoking",         "no regular exercise"};
static const char *const NAME_JA[HOMEDOCTOR_HF_COUNT] = {
    "年齢",       "男性", "収縮期血圧",      "糖尿病", "HDLコレステロール", "LDLコレステロール",
    "尿たんぱく", "喫煙", "定期的な運動なし"};
/* what "the best band" means for each modifiable factor */
static const char *const BEST_EN[HOMEDOCTOR_HF_COUNT] = {
    [HOMEDOCTOR_HF_SBP] = "systolic BP below 120",
    [HOMEDOCTOR_HF_HDL] = "HDL 60 mg/dL or more",
    [HOMEDOCTOR_HF_LDL] = "LDL below 120 mg/dL",
    [HOMEDOCTOR_HF_SMOKING] = "not smoking",
    [HOMEDOCTOR_HF_NO_EXERCISE] = "regular exercise"};
static const char *const BEST_JA[HOMEDOCTOR_HF_COUNT] = {[HOMEDOCTOR_HF_SBP] = "収縮期血圧120未満",
                                                         [HOMEDOCTOR_HF_HDL] = "HDL 60 mg/dL以上",
                                                         [HOMEDOCTOR_HF_LDL] = "LDL 120 mg/dL未満",
                                                         [HOMEDOCTOR_HF_SMOKING] = "禁煙",
                                                         [HOMEDOCTOR_HF_NO_EXERCISE] =
                                                             "定期的な運動"};

static int check_measure(const struct homedoctor_measure *m, const char *what, double lo, double hi,
                         struct err *e)
{
    if (!m->known)
        return 0;
    if (m->obs_id == NULL || m->obs_id[0] == '\0')
        return err_set(e, ERR_INVALID, "hisayama: %s without its Observation id", what);
    if (!(m->value >= lo && m->value <= hi))
        return err_set(e, ERR_INVALID, "hisayama: %s outside %.0f..%.0f", what, lo, hi);
    return 0;
}

static int check_flag(const struct homedoctor_flag *f, const char *what, struct err *e)
{
    if (f->known && (f->obs_id == NULL || f->obs_id[0] == '\0'))
        return err_set(e, ERR_INVALID, "hisayama: %s without its Observation id", what);
    return 0;
}

static int check_input(const struct homedoctor_hisayama_input *in, struct err *e)
{
    if (in->patient_id == NULL || in->patient_id[0] == '\0')
        return err_set(e, ERR_INVALID, "hisayama: no patient id");
    if (in->age > 150)
        return err_set(e, ERR_INVALID, "hisayama: age outside 0..150");
    if (in->sex != HOMEDOCTOR_SEX_UNKNOWN && in->sex != HOMEDOCTOR_SEX_MALE &&
        in->sex != HOMEDOCTOR_SEX_FEMALE)
        return err_set(e, ERR_INVALID, "hisayama: unknown sex code");
    int rc;
    if ((rc = check_measure(&in->office_sbp, "office systolic BP", 40, 300, e)) != 0 ||
        (rc = check_measure(&in->hdl, "HDL-C", 1, 300, e)) != 0 ||
        (rc = check_measure(&in->ldl, "LDL-C", 1, 1000, e)) != 0 ||
        (rc = check_flag(&in->diabetes, "diabetes", e)) != 0 ||
        (rc = check_flag(&in->proteinuria, "proteinuria", e)) != 0 ||
        (rc = check_flag(&in->smoking, "smoking", e)) != 0 ||
        (rc = check_flag(&in->regular_exercise, "exercise", e)) != 0)
        return rc;
    if (in->home_sbp.known) {
        if (!(in->home_sbp.value >= 40 && in->home_sbp.value <= 300))
            return err_set(e, ERR_INVALID, "hisayama: home systolic BP outside 40..300");
        if (in->n_home_obs == 0 || in->home_obs_ids == NULL)
            return err_set(e, ERR_INVALID, "hisayama: home systolic BP without its readings");
    }
    if (in->n_home_obs > HOMEDOCTOR_MAX_READINGS)
        return err_set(e, ERR_INVALID, "hisayama: too many home readings");
    return 0;
}

static void add_basis(struct homedoctor__build *b, const struct homedoctor_hisayama_input *in,
                      const struct homedoctor_hisayama_result *res)
{
    homedoctor__basis(b, "Patient", in->patient_id);
    if (res->sbp_source == HOMEDOCTOR_SBP_OFFICE)
        homedoctor__basis(b, "Observation", in->office_sbp.obs_id);
    if (res->sbp_source == HOMEDOCTOR_SBP_HOME)
        for (size_t i = 0; i < in->n_home_obs; i++)
            homedoctor__basis(b, "Observation", in->home_obs_ids[i]);
    const struct homedoctor_flag *flags[] = {&in->diabetes, &in->proteinuria, &in->smoking,
                                             &in->regular_exercise};
    for (size_t i = 0; i < 4; i++)
        if (flags[i]->known)
            homedoctor__basis(b, "Observation", flags[i]->obs_id);
    if (in->hdl.known)
        homedoctor__basis(b, "Observation", in->hdl.obs_id);
    if (in->ldl.known)
        homedoctor__basis(b, "Observation", in->ldl.obs_id);
}

int homedoctor_hisayama_evaluate(struct arena *a, const struct homedoctor_hisayama_input *in,
                                 int64_t now_ms, struct homedoctor_hisayama_result *res,
                                 struct homedoctor_finding **out, struct err *e)
{
    *out = NULL;
    memset(res, 0, sizeof *res);
    for (int f = 0; f < HOMEDOCTOR_HF_COUNT; f++)
        res->risk_if_best[f] = -1;
    res->risk_all_best = -1;
    int rc = check_input(in, e);
    if (rc != 0)
        return rc;

    /* SBP: the check-up's (office) value, as the model was derived on examination BP; the home
     * 7-day mean only when the check-up has none, and the text says so */
    if (in->office_sbp.known) {
        res->sbp_source = HOMEDOCTOR_SBP_OFFICE;
        res->sbp_used = in->office_sbp.value;
    } else if (in->home_sbp.known) {
        res->sbp_source = HOMEDOCTOR_SBP_HOME;
        res->sbp_used = in->home_sbp.value;
    }

    struct homedoctor__build b;
    /* ages outside 40-84: the model does not apply (its cohort was 40-84) */
    if (in->age >= 0 && homedoctor_hisayama_age_points(in->age) < 0) {
        res->status = HOMEDOCTOR_HS_AGE_OUT_OF_RANGE;
        if (homedoctor__start(&b, a, "hisayama.ascvd_10y", CITE_HISAYAMA, "not_applicable_age",
                              now_ms) != 0)
            return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
        homedoctor__basis(&b, "Patient", in->patient_id);
        homedoctor__number(&b, "age", in->age, "a");
        homedoctor__text_en(&b,
                            "The Hisayama 10-year cardiovascular risk is not calculated: it was "
                            "developed on people aged 40 to 84, and you are %d.",
                            in->age);
        homedoctor__text_ja(&b,
                            "久山町研究の10年リスクは計算していません。このモデルは40〜84歳の方"
                            "のデータから作られており、%d歳には当てはまらないためです。",
                            in->age);
        return homedoctor__finish(&b, out, e);
    }

    /* missing inputs: say which, never guess */
    if (in->age < 0)
        res->missing_mask |= 1u << HOMEDOCTOR_HF_AGE;
    if (in->sex == HOMEDOCTOR_SEX_UNKNOWN)
        res->missing_mask |= 1u << HOMEDOCTOR_HF_SEX;
    if (res->sbp_source == HOMEDOCTOR_SBP_NONE)
        res->missing_mask |= 1u << HOMEDOCTOR_HF_SBP;
    if (!in->diabetes.known)
        res->missing_mask |= 1u << HOMEDOCTOR_HF_DIABETES;
    if (!in->hdl.known)
        res->missing_mask |= 1u << HOMEDOCTOR_HF_HDL;
    if (!in->ldl.known)
        res->missing_mask |= 1u << HOMEDOCTOR_HF_LDL;
    if (!in->proteinuria.known)
        res->missing_mask |= 1u << HOMEDOCTOR_HF_PROTEINURIA;
    if (!in->smoking.known)
        res->missing_mask |= 1u << HOMEDOCTOR_HF_SMOKING;
    if (!in->regular_exercise.known)
        res->missing_mask |= 1u << HOMEDOCTOR_HF_NO_EXERCISE;
    if (res->missing_mask) {
        res->status = HOMEDOCTOR_HS_MISSING_INPUTS;
        char list_en[256] = "", list_ja[320] = "";
        size_t le = 0, lj = 0;
        for (int f = 0; f < HOMEDOCTOR_HF_COUNT; f++) {
            if (!(res->missing_mask & (1u << f)))
                continue;
            const char *en = f == HOMEDOCTOR_HF_SEX           ? "sex"
                             : f == HOMEDOCTOR_HF_NO_EXERCISE ? "exercise habit"
                                                              : NAME_EN[f];
            const char *ja = f == HOMEDOCTOR_HF_SEX           ? "性別"
                             : f == HOMEDOCTOR_HF_NO_EXERCISE ? "運動習慣"
                                                              : NAME_JA[f];
            int we = snprintf(list_en + le, sizeof list_en - le, "%s%s", le ? ", " : "", en);
            int wj = snprintf(list_ja + lj, sizeof list_ja - lj, "%s%s", lj ? "、" : "", ja);
            if (we > 0 && (size_t)we < sizeof list_en - le)
                le += (size_t)we;
            if (wj > 0 && (size_t)wj < sizeof list_ja - lj)
                lj += (size_t)wj;
        }
        if (homedoctor__start(&b, a, "hisayama.ascvd_10y", CITE_HISAYAMA, "missing_inputs",
                              now_ms) != 0)
            return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
        add_basis(&b, in, res);
        homedoctor__number(&b, "missing_inputs", (double)__builtin_popcount(res->missing_mask), "");
        homedoctor__text_en(&b,
                            "The Hisayama 10-year cardiovascular risk cannot be calculated yet: "
                            "missing %s. It is not estimated without them.",
                            list_en);
        homedoctor__text_ja(&b,
                            "久山町研究の10年リスクはまだ計算できません。不足している項目:%s。"
                            "推測では計算しません。",
                            list_ja);
        return homedoctor__finish(&b, out, e);
    }

    /* the points (CLINICAL.md table, from the paper's score sheet) */
    int *p = res->points;
    p[HOMEDOCTOR_HF_AGE] = homedoctor_hisayama_age_points(in->age);
    p[HOMEDOCTOR_HF_SEX] = in->sex == HOMEDOCTOR_SEX_MALE ? 7 : 0;
    p[HOMEDOCTOR_HF_SBP] = homedoctor_hisayama_sbp_points(res->sbp_used);
    p[HOMEDOCTOR_HF_DIABETES] = in->diabetes.yes ? 3 : 0;
    p[HOMEDOCTOR_HF_HDL] = homedoctor_hisayama_hdl_points(in->hdl.value);
    p[HOMEDOCTOR_HF_LDL] = homedoctor_hisayama_ldl_points(in->ldl.value);
    p[HOMEDOCTOR_HF_PROTEINURIA] = in->proteinuria.yes ? 4 : 0;
    p[HOMEDOCTOR_HF_SMOKING] = in->smoking.yes ? 2 : 0;
    p[HOMEDOCTOR_HF_NO_EXERCISE] = in->regular_exercise.yes ? 0 : 2;
    res->total = 0;
    for (int f = 0; f < HOMEDOCTOR_HF_COUNT; f++)
        res->total += p[f];
    res->risk = homedoctor_hisayama_risk(res->total);
    /* the best band of every modifiable factor is worth 0 points */
    int all_best = res->total;
    for (int f = 0; f < HOMEDOCTOR_HF_COUNT; f++)
        if (homedoctor_hisayama_modifiable((enum homedoctor_hisayama_factor)f) && p[f] > 0) {
            res->risk_if_best[f] = homedoctor_hisayama_risk(res->total - p[f]);
            all_best -= p[f];
        }
    if (all_best != res->total)
        res->risk_all_best = homedoctor_hisayama_risk(all_best);

    if (homedoctor__start(&b, a, "hisayama.ascvd_10y", CITE_HISAYAMA, "computed", now_ms) != 0)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    b.f->probability = res->risk;
    b.f->predicts = "first atherosclerotic cardiovascular disease event (coronary heart disease "
                    "or atherothrombotic brain infarction) within 10 years";
    add_basis(&b, in, res);
    static const char *const POINT_NAMES[HOMEDOCTOR_HF_COUNT] = {
        "points_age", "points_sex",         "points_sbp",     "points_diabetes",   "points_hdl",
        "points_ldl", "points_proteinuria", "points_smoking", "points_no_exercise"};
    static const char *const IF_BEST_NAMES[HOMEDOCTOR_HF_COUNT] = {
        [HOMEDOCTOR_HF_SBP] = "risk_if_best_sbp",
        [HOMEDOCTOR_HF_HDL] = "risk_if_best_hdl",
        [HOMEDOCTOR_HF_LDL] = "risk_if_best_ldl",
        [HOMEDOCTOR_HF_SMOKING] = "risk_if_best_smoking",
        [HOMEDOCTOR_HF_NO_EXERCISE] = "risk_if_best_exercise"};
    for (int f = 0; f < HOMEDOCTOR_HF_COUNT; f++)
        homedoctor__number(&b, POINT_NAMES[f], p[f], "");
    homedoctor__number(&b, "points_total", res->total, "");
    homedoctor__number(&b, "risk_10y", res->risk, "1");
    homedoctor__number(&b, "sbp_used", res->sbp_used, "mm[Hg]");
    homedoctor__number(&b, "sbp_from_home", res->sbp_source == HOMEDOCTOR_SBP_HOME, "");
    if (in->home_sbp.known)
        homedoctor__number(&b, "home_sbp_mean", in->home_sbp.value, "mm[Hg]");
    for (int f = 0; f < HOMEDOCTOR_HF_COUNT; f++)
        if (res->risk_if_best[f] >= 0)
            homedoctor__number(&b, IF_BEST_NAMES[f], res->risk_if_best[f], "1");
    if (res->risk_all_best >= 0)
        homedoctor__number(&b, "risk_if_all_best", res->risk_all_best, "1");
    if (p[HOMEDOCTOR_HF_SBP] > 0)
        b.f->triggers |= 1u << HOMEDOCTOR_TRIG_RISK_SBP;
    if (p[HOMEDOCTOR_HF_SMOKING] > 0)
        b.f->triggers |= 1u << HOMEDOCTOR_TRIG_RISK_SMOKING;
    if (p[HOMEDOCTOR_HF_NO_EXERCISE] > 0)
        b.f->triggers |= 1u << HOMEDOCTOR_TRIG_RISK_NO_EXERCISE;
    if (p[HOMEDOCTOR_HF_LDL] > 0)
        b.f->triggers |= 1u << HOMEDOCTOR_TRIG_RISK_LDL;
    if (p[HOMEDOCTOR_HF_HDL] > 0)
        b.f->triggers |= 1u << HOMEDOCTOR_TRIG_RISK_HDL;

    /* the explanation: each contributing factor's points, then what each change would do */
    char pts_en[512] = "", pts_ja[640] = "", chg_en[512] = "", chg_ja[640] = "";
    size_t le = 0, lj = 0, ce = 0, cj = 0;
    for (int f = 0; f < HOMEDOCTOR_HF_COUNT; f++) {
        if (p[f] > 0) {
            int we = snprintf(pts_en + le, sizeof pts_en - le, "%s%s +%d", le ? ", " : "",
                              NAME_EN[f], p[f]);
            int wj = snprintf(pts_ja + lj, sizeof pts_ja - lj, "%s%s +%d", lj ? "、" : "",
                              NAME_JA[f], p[f]);
            if (we > 0 && (size_t)we < sizeof pts_en - le)
                le += (size_t)we;
            if (wj > 0 && (size_t)wj < sizeof pts_ja - lj)
                lj += (size_t)wj;
        }
        if (res->risk_if_best[f] >= 0) {
            int we = snprintf(chg_en + ce, sizeof chg_en - ce, "%s%s: %.1f%%", ce ? "; " : "",
                              BEST_EN[f], res->risk_if_best[f] * 100);
            int wj = snprintf(chg_ja + cj, sizeof chg_ja - cj, "%s%s:%.1f%%", cj ? "、" : "",
                              BEST_JA[f], res->risk_if_best[f] * 100);
            if (we > 0 && (size_t)we < sizeof chg_en - ce)
                ce += (size_t)we;
            if (wj > 0 && (size_t)wj < sizeof chg_ja - cj)
                cj += (size_t)wj;
        }
    }
    char sbp_en[200], sbp_ja[240];
    if (res->sbp_source == HOMEDOCTOR_SBP_OFFICE) {
        snprintf(sbp_en, sizeof sbp_en, "systolic BP %.0f mmHg from your check-up", res->sbp_used);
        snprintf(sbp_ja, sizeof sbp_ja, "収縮期血圧は健診の値 %.0f mmHg を使用", res->sbp_used);
    } else {
        snprintf(sbp_en, sizeof sbp_en,
                 "systolic BP %.1f mmHg is your 7-day home mean, used because the check-up has "
                 "none; the model was built on examination BP, which usually reads higher, so "
                 "the risk may be underestimated",
                 res->sbp_used);
        snprintf(sbp_ja, sizeof sbp_ja,
                 "健診の血圧がないため家庭血圧の7日平均 %.1f mmHg を使用(モデルは健診時の血圧で"
                 "作られており、家庭血圧は低めに出るため、リスクは低めに出ている可能性があります)",
                 res->sbp_used);
    }
    char all_en[64] = "", all_ja[64] = "";
    if (res->risk_all_best >= 0) {
        snprintf(all_en, sizeof all_en, "; all of these: %.1f%%", res->risk_all_best * 100);
        snprintf(all_ja, sizeof all_ja, "、すべて改善:%.1f%%", res->risk_all_best * 100);
    }
    homedoctor__text_en(&b,
                        "Estimated 10-year risk of heart attack or atherothrombotic stroke "
                        "(Hisayama score, Honda et al. 2022): %.1f%% (%d points: %s; %s). "
                        "If a factor improved, others unchanged: %s%s. An estimate from a "
                        "population study, not a diagnosis.",
                        res->risk * 100, res->total, le ? pts_en : "none", sbp_en,
                        ce ? chg_en : "no changeable factor adds points", all_en);
    homedoctor__text_ja(&b,
                        "10年以内に心筋梗塞やアテローム血栓性脳梗塞を起こす確率の推定(久山町研究"
                        "スコア、Honda et al. 2022):%.1f%%(%d点:%s。%s)。"
                        "改善した場合(他は同じ):%s%s。集団の研究からの推定で、診断ではありません。",
                        res->risk * 100, res->total, lj ? pts_ja : "該当なし", sbp_ja,
                        cj ? chg_ja : "改善で点数が下がる項目はありません", all_ja);
    return homedoctor__finish(&b, out, e);
}
