/* bp_category.c - rule 1: the JSH2019 blood-pressure category (Table 2-5, office and home
 * columns), isolated systolic hypertension, the treatment target by age, and the home-BP
 * evaluation over the last 7 local days (at least 5 days with readings). */
#include <stdio.h>
#include <string.h>

#include "services/homedoctor/internal.h"

/* Umemura S, Arima H, Arima S, et al. The Japanese Society of Hypertension Guidelines for the
 * Management of Hypertension (JSH2019). Hypertens Res 2019;42:1235-1481 (PMC6875598). */
static const char CITE_HOME[] =
    "JSH2019 Table 2-5 (p.18), home BP column; measurement on >=5 days (ideally 7); treatment "
    "targets by age, chapter 3 (Umemura S et al., Hypertens Res 2019;42:1235-1481)";
static const char CITE_OFFICE[] =
    "JSH2019 Table 2-5 (p.18), office BP column; treatment targets by age, chapter 3 (Umemura S "
    "et al., Hypertens Res 2019;42:1235-1481)";

/* Table 2-5, as lower bounds of each band (a value >= bound[k] is at least category k+1).
 * Systolic: normal <120 | high-normal 120-129 | elevated 130-139 | grade I 140-159 |
 * grade II 160-179 | grade III >=180 (office); <115 | 115-124 | 125-134 | 135-144 | 145-159 |
 * >=160 (home). Diastolic has no high-normal band: normal and high-normal are both <80 (office)
 * / <75 (home); elevated 80-89 / 75-84; grade I 90-99 / 85-89; grade II 100-109 / 90-99;
 * grade III >=110 / >=100. */
static const double SYS_BOUNDS[2][5] = {
    [HOMEDOCTOR_BP_HOME] = {115, 125, 135, 145, 160},
    [HOMEDOCTOR_BP_OFFICE] = {120, 130, 140, 160, 180},
};
static const double DIA_BOUNDS[2][4] = {
    /* lower bounds of elevated, grade I, grade II, grade III */
    [HOMEDOCTOR_BP_HOME] = {75, 85, 90, 100},
    [HOMEDOCTOR_BP_OFFICE] = {80, 90, 100, 110},
};
/* Isolated systolic hypertension: home >=135 and <85; office >=140 and <90. */
static const double ISH_SYS[2] = {[HOMEDOCTOR_BP_HOME] = 135, [HOMEDOCTOR_BP_OFFICE] = 140};
static const double ISH_DIA[2] = {[HOMEDOCTOR_BP_HOME] = 85, [HOMEDOCTOR_BP_OFFICE] = 90};

void homedoctor_bp_classify(enum homedoctor_bp_setting setting, double systolic, double diastolic,
                            struct homedoctor_bp_class *out)
{
    int s = setting == HOMEDOCTOR_BP_OFFICE ? HOMEDOCTOR_BP_OFFICE : HOMEDOCTOR_BP_HOME;
    int sc = HOMEDOCTOR_BP_NORMAL;
    for (int k = 0; k < 5; k++)
        if (systolic >= SYS_BOUNDS[s][k])
            sc = k + 1;
    int dc = HOMEDOCTOR_BP_NORMAL;
    for (int k = 0; k < 4; k++)
        if (diastolic >= DIA_BOUNDS[s][k])
            dc = HOMEDOCTOR_BP_ELEVATED + k;
    out->systolic_category = (enum homedoctor_bp_category)sc;
    out->diastolic_category = (enum homedoctor_bp_category)dc;
    /* "the category is the higher of the systolic and diastolic categories" */
    out->category = (enum homedoctor_bp_category)(sc > dc ? sc : dc);
    out->isolated_systolic = systolic >= ISH_SYS[s] && diastolic < ISH_DIA[s];
}

const char *homedoctor_bp_category_code(enum homedoctor_bp_category c)
{
    static const char *const codes[] = {"normal",  "high_normal", "elevated",
                                        "grade_1", "grade_2",     "grade_3"};
    return (unsigned)c < 6 ? codes[c] : "unknown";
}

static const char *name_en(enum homedoctor_bp_category c)
{
    static const char *const n[] = {"normal BP",
                                    "high-normal BP",
                                    "elevated BP",
                                    "grade I hypertension",
                                    "grade II hypertension",
                                    "grade III hypertension"};
    return (unsigned)c < 6 ? n[c] : "?";
}

static const char *name_ja(enum homedoctor_bp_category c)
{
    static const char *const n[] = {"正常血圧",  "正常高値血圧", "高値血圧",
                                    "I度高血圧", "II度高血圧",   "III度高血圧"};
    return (unsigned)c < 6 ? n[c] : "?";
}

int homedoctor_bp_target(enum homedoctor_bp_setting setting, int age, double *sys, double *dia)
{
    if (age < 0)
        return ERR_INVALID;
    bool old = age >= 75;
    if (setting == HOMEDOCTOR_BP_OFFICE) {
        *sys = old ? 140 : 130;
        *dia = old ? 90 : 80;
    } else {
        *sys = old ? 135 : 125;
        *dia = old ? 85 : 75;
    }
    return 0;
}

/* The part shared by home and office: the finding for a classified (or insufficient) mean. */
static int bp_finding(struct arena *a, enum homedoctor_bp_setting setting,
                      const struct homedoctor_bp_reading *r, size_t n, const bool *used,
                      int64_t now_ms, int age, struct homedoctor_bp_result *res,
                      struct homedoctor_finding **out, struct err *e)
{
    bool home = setting == HOMEDOCTOR_BP_HOME;
    struct homedoctor__build b;
    const char *outcome = res->status == HOMEDOCTOR_BP_CLASSIFIED
                              ? homedoctor_bp_category_code(res->cls.category)
                              : "insufficient_data";
    if (homedoctor__start(&b, a, home ? "jsh2019.home_bp_category" : "jsh2019.office_bp_category",
                          home ? CITE_HOME : CITE_OFFICE, outcome, now_ms) != 0)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    for (size_t i = 0; i < n; i++)
        if (used[i])
            homedoctor__basis(&b, "Observation", r[i].obs_id);
    homedoctor__number(&b, "mean_systolic", res->mean_systolic, "mm[Hg]");
    homedoctor__number(&b, "mean_diastolic", res->mean_diastolic, "mm[Hg]");
    homedoctor__number(&b, "readings", (double)res->n_readings, "");
    if (home) {
        homedoctor__number(&b, "days_with_readings", res->days_with_readings, "d");
        homedoctor__number(&b, "wrist_readings", (double)res->n_wrist, "");
    }

    char what_en[96], what_ja[128];
    if (home) {
        snprintf(what_en, sizeof what_en, "%zu readings on %d of the last %d days", res->n_readings,
                 res->days_with_readings, HOMEDOCTOR_HOME_WINDOW_DAYS);
        snprintf(what_ja, sizeof what_ja, "直近%d日間のうち%d日・%zu回の測定",
                 HOMEDOCTOR_HOME_WINDOW_DAYS, res->days_with_readings, res->n_readings);
    } else {
        snprintf(what_en, sizeof what_en, "%zu check-up reading%s", res->n_readings,
                 res->n_readings == 1 ? "" : "s");
        snprintf(what_ja, sizeof what_ja, "健診での測定%zu回", res->n_readings);
    }

    /* the wrist-device note: JSH2019's home values assume an upper-arm cuff */
    char wrist_en[200] = "", wrist_ja[256] = "";
    if (home && res->n_wrist > 0) {
        b.f->triggers |= 1u << HOMEDOCTOR_TRIG_WRIST_DEVICE;
        snprintf(wrist_en, sizeof wrist_en,
                 " Note: %zu of these readings came from a wrist monitor; the guideline's home "
                 "values assume an upper-arm cuff, so read this result with care.",
                 res->n_wrist);
        snprintf(wrist_ja, sizeof wrist_ja,
                 "注意:このうち%zu回は手首式血圧計の測定です。ガイドラインの家庭血圧の基準は"
                 "上腕式血圧計を前提としているため、結果は参考値としてご覧ください。",
                 res->n_wrist);
    }
    if (home && res->n_unknown_device > 0) {
        size_t len_en = strlen(wrist_en), len_ja = strlen(wrist_ja);
        snprintf(wrist_en + len_en, sizeof wrist_en - len_en,
                 " The device type of %zu readings is not recorded.", res->n_unknown_device);
        snprintf(wrist_ja + len_ja, sizeof wrist_ja - len_ja, "%zu回は機器の種類が不明です。",
                 res->n_unknown_device);
    }

    if (res->status != HOMEDOCTOR_BP_CLASSIFIED) {
        homedoctor__text_en(&b,
                            "Home blood pressure: not enough readings to judge the category "
                            "(JSH2019 Table 2-5 asks for readings on at least %d days, ideally "
                            "%d): readings on %d day%s in the last %d days (%zu readings, mean "
                            "%.1f/%.1f mmHg).%s",
                            HOMEDOCTOR_HOME_MIN_DAYS, HOMEDOCTOR_HOME_WINDOW_DAYS,
                            res->days_with_readings, res->days_with_readings == 1 ? "" : "s",
                            HOMEDOCTOR_HOME_WINDOW_DAYS, res->n_readings, res->mean_systolic,
                            res->mean_diastolic, wrist_en);
        homedoctor__text_ja(&b,
                            "家庭血圧:測定日数が足りないため分類できません(JSH2019 表2-5:"
                            "%d日以上、できれば%d日の測定が必要)。直近%d日間で測定は%d日・"
                            "%zu回です(平均 %.1f/%.1f mmHg)。%s",
                            HOMEDOCTOR_HOME_MIN_DAYS, HOMEDOCTOR_HOME_WINDOW_DAYS,
                            HOMEDOCTOR_HOME_WINDOW_DAYS, res->days_with_readings, res->n_readings,
                            res->mean_systolic, res->mean_diastolic, wrist_ja);
        return homedoctor__finish(&b, out, e);
    }

    const struct homedoctor_bp_class *c = &res->cls;
    if (c->category == HOMEDOCTOR_BP_HIGH_NORMAL)
        b.f->triggers |= 1u << HOMEDOCTOR_TRIG_BP_HIGH_NORMAL;
    if (c->category >= HOMEDOCTOR_BP_ELEVATED)
        b.f->triggers |= 1u << HOMEDOCTOR_TRIG_BP_ELEVATED_UP;
    b.f->severity = c->category >= HOMEDOCTOR_BP_GRADE1 ? HOMEDOCTOR_WARNING : HOMEDOCTOR_INFO;
    homedoctor__number(&b, "isolated_systolic", c->isolated_systolic ? 1 : 0, "");

    char ish_en[160] = "", ish_ja[200] = "";
    if (c->isolated_systolic) {
        snprintf(ish_en, sizeof ish_en,
                 " This is isolated systolic hypertension (systolic >=%.0f and diastolic <%.0f "
                 "mmHg), a form of hypertension graded as above.",
                 ISH_SYS[setting], ISH_DIA[setting]);
        snprintf(ish_ja, sizeof ish_ja,
                 "収縮期血圧のみが高い「収縮期高血圧」(収縮期%.0f以上かつ拡張期%.0f未満)に"
                 "あたります(分類は上記のとおり)。",
                 ISH_SYS[setting], ISH_DIA[setting]);
    }
    char target_en[200] = "", target_ja[200] = "";
    double tsys, tdia;
    if (homedoctor_bp_target(setting, age, &tsys, &tdia) == 0) {
        res->target_met = res->mean_systolic < tsys && res->mean_diastolic < tdia;
        homedoctor__number(&b, "target_systolic", tsys, "mm[Hg]");
        homedoctor__number(&b, "target_diastolic", tdia, "mm[Hg]");
        homedoctor__number(&b, "target_met", res->target_met, "");
        snprintf(target_en, sizeof target_en,
                 " Treatment target for age %d (%s, JSH2019): below %.0f/%.0f mmHg: %s.", age,
                 age >= 75 ? "75 and over" : "under 75", tsys, tdia,
                 res->target_met ? "met" : "not met");
        snprintf(target_ja, sizeof target_ja, "降圧目標(%d歳、%s):%.0f/%.0f mmHg未満:%s。", age,
                 age >= 75 ? "75歳以上" : "75歳未満", tsys, tdia,
                 res->target_met ? "達成" : "未達成");
    }

    homedoctor__text_en(&b,
                        "%s blood pressure (JSH2019 Table 2-5, %s column): mean %.1f/%.1f mmHg "
                        "from %s -> %s (systolic: %s; diastolic: %s; the higher one counts).%s%s"
                        "%s This is not a diagnosis; talk to your doctor about it.",
                        home ? "Home" : "Check-up", home ? "home" : "office", res->mean_systolic,
                        res->mean_diastolic, what_en, name_en(c->category),
                        name_en(c->systolic_category), name_en(c->diastolic_category), ish_en,
                        target_en, wrist_en);
    homedoctor__text_ja(&b,
                        "%s(JSH2019 表2-5 %sの基準):平均 %.1f/%.1f mmHg(%s)→ %s"
                        "(収縮期:%s、拡張期:%s。高い方で分類)。%s%s%s"
                        "これは診断ではありません。かかりつけ医にご相談ください。",
                        home ? "家庭血圧" : "健診時血圧", home ? "家庭血圧" : "診察室血圧",
                        res->mean_systolic, res->mean_diastolic, what_ja, name_ja(c->category),
                        name_ja(c->systolic_category), name_ja(c->diastolic_category), ish_ja,
                        target_ja, wrist_ja);
    return homedoctor__finish(&b, out, e);
}

static int check_all(const struct homedoctor_bp_reading *r, size_t n, struct err *e)
{
    if (n > HOMEDOCTOR_MAX_READINGS)
        return err_set(e, ERR_INVALID, "more than %d readings", HOMEDOCTOR_MAX_READINGS);
    if (n > 0 && r == NULL)
        return err_set(e, ERR_INVALID, "no readings array");
    for (size_t i = 0; i < n; i++) {
        int rc = homedoctor_bp_reading_check(&r[i], i, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int homedoctor_home_bp_evaluate(struct arena *a, const struct homedoctor_bp_reading *r, size_t n,
                                int64_t now_ms, int age, struct homedoctor_bp_result *res,
                                struct homedoctor_finding **out, struct err *e)
{
    *out = NULL;
    memset(res, 0, sizeof *res);
    res->target_met = -1;
    int rc = check_all(r, n, e);
    if (rc != 0)
        return rc;
    bool *used = n ? arena_zalloc(a, n * sizeof *used) : NULL;
    if (n && used == NULL)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");

    /* the window: today (the local day of now) and the 6 local days before it */
    int64_t today = homedoctor_local_day(now_ms);
    int64_t first = today - (HOMEDOCTOR_HOME_WINDOW_DAYS - 1);
    unsigned days = 0;
    double sum_s = 0, sum_d = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t d = homedoctor_local_day(r[i].time_ms);
        if (r[i].time_ms > now_ms || d < first)
            continue;
        used[i] = true;
        days |= 1u << (unsigned)(d - first);
        sum_s += r[i].systolic;
        sum_d += r[i].diastolic;
        res->n_readings++;
        res->n_wrist += r[i].device == HOMEDOCTOR_DEVICE_WRIST;
        res->n_unknown_device += r[i].device == HOMEDOCTOR_DEVICE_UNKNOWN;
    }
    if (res->n_readings == 0) {
        res->status = HOMEDOCTOR_BP_NO_READINGS;
        return 0;
    }
    res->days_with_readings = __builtin_popcount(days);
    /* the mean of all readings of the window, rounded to 0.1 mmHg; the table's inequalities are
     * applied to these rounded means, so what the text shows is what was classified */
    res->mean_systolic = homedoctor__round1(sum_s / (double)res->n_readings);
    res->mean_diastolic = homedoctor__round1(sum_d / (double)res->n_readings);
    if (res->days_with_readings < HOMEDOCTOR_HOME_MIN_DAYS) {
        res->status = HOMEDOCTOR_BP_INSUFFICIENT;
    } else {
        res->status = HOMEDOCTOR_BP_CLASSIFIED;
        homedoctor_bp_classify(HOMEDOCTOR_BP_HOME, res->mean_systolic, res->mean_diastolic,
                               &res->cls);
    }
    return bp_finding(a, HOMEDOCTOR_BP_HOME, r, n, used, now_ms, age, res, out, e);
}

int homedoctor_office_bp_evaluate(struct arena *a, const struct homedoctor_bp_reading *r, size_t n,
                                  int64_t now_ms, int age, struct homedoctor_bp_result *res,
                                  struct homedoctor_finding **out, struct err *e)
{
    *out = NULL;
    memset(res, 0, sizeof *res);
    res->target_met = -1;
    if (n == 0)
        return err_set(e, ERR_INVALID, "no office reading");
    int rc = check_all(r, n, e);
    if (rc != 0)
        return rc;
    bool *used = arena_zalloc(a, n * sizeof *used);
    if (used == NULL)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    double sum_s = 0, sum_d = 0;
    for (size_t i = 0; i < n; i++) {
        used[i] = true;
        sum_s += r[i].systolic;
        sum_d += r[i].diastolic;
    }
    res->n_readings = n;
    res->mean_systolic = homedoctor__round1(sum_s / (double)n);
    res->mean_diastolic = homedoctor__round1(sum_d / (double)n);
    res->status = HOMEDOCTOR_BP_CLASSIFIED;
    homedoctor_bp_classify(HOMEDOCTOR_BP_OFFICE, res->mean_systolic, res->mean_diastolic,
                           &res->cls);
    return bp_finding(a, HOMEDOCTOR_BP_OFFICE, r, n, used, now_ms, age, res, out, e);
}
