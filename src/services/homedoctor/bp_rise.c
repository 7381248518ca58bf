/* bp_rise.c - rule 2: a rise of home blood pressure against the citizen's own baseline (the
 * last 3 local days against days -35..-8). No guideline publishes such a threshold; the size
 * of the step (20/10 mmHg) is the one epidemiology uses (see docs/internals/homedoctor.md). */
#include <string.h>

#include "services/homedoctor/internal.h"

static const char CITE_RISE[] =
    "cityos rule (no published threshold for a rise against a personal baseline): step of "
    "20 mmHg systolic / 10 mmHg diastolic after Lewington S et al., Lancet 2002;360:1903-13 "
    "(each 20/10 mmHg higher usual BP doubles vascular mortality at ages 40-69); home BP "
    "measurement per JSH2019 (Hypertens Res 2019;42:1235-1481)";

int homedoctor_rise_evaluate(struct arena *a, const struct homedoctor_bp_reading *r, size_t n,
                             int64_t now_ms, struct homedoctor_rise_result *res,
                             struct homedoctor_finding **out, struct err *e)
{
    *out = NULL;
    memset(res, 0, sizeof *res);
    if (n > HOMEDOCTOR_MAX_READINGS)
        return err_set(e, ERR_INVALID, "more than %d readings", HOMEDOCTOR_MAX_READINGS);
    if (n > 0 && r == NULL)
        return err_set(e, ERR_INVALID, "no readings array");
    for (size_t i = 0; i < n; i++) {
        int rc = homedoctor_bp_reading_check(&r[i], i, e);
        if (rc != 0)
            return rc;
    }
    int64_t today = homedoctor_local_day(now_ms);
    int64_t recent_first = today - (HOMEDOCTOR_RISE_RECENT_DAYS - 1);
    int64_t base_first = today - HOMEDOCTOR_RISE_BASELINE_FIRST;
    int64_t base_last = today - HOMEDOCTOR_RISE_BASELINE_LAST;
    double rs = 0, rd = 0, bs = 0, bd = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].time_ms > now_ms)
            continue;
        int64_t d = homedoctor_local_day(r[i].time_ms);
        if (d >= recent_first) {
            rs += r[i].systolic, rd += r[i].diastolic, res->n_recent++;
        } else if (d >= base_first && d <= base_last) {
            bs += r[i].systolic, bd += r[i].diastolic, res->n_baseline++;
        }
    }
    if (res->n_baseline < HOMEDOCTOR_RISE_BASELINE_MIN) {
        res->status = HOMEDOCTOR_RISE_NO_BASELINE;
        return 0;
    }
    if (res->n_recent < HOMEDOCTOR_RISE_RECENT_MIN) {
        res->status = HOMEDOCTOR_RISE_TOO_FEW_RECENT;
        return 0;
    }
    res->recent_sys = homedoctor__round1(rs / (double)res->n_recent);
    res->recent_dia = homedoctor__round1(rd / (double)res->n_recent);
    res->baseline_sys = homedoctor__round1(bs / (double)res->n_baseline);
    res->baseline_dia = homedoctor__round1(bd / (double)res->n_baseline);
    res->delta_sys = homedoctor__round1(res->recent_sys - res->baseline_sys);
    res->delta_dia = homedoctor__round1(res->recent_dia - res->baseline_dia);
    bool sys_rise = res->delta_sys >= HOMEDOCTOR_RISE_SYS_MMHG;
    bool dia_rise = res->delta_dia >= HOMEDOCTOR_RISE_DIA_MMHG;
    if (!sys_rise && !dia_rise) {
        res->status = HOMEDOCTOR_RISE_NONE;
        return 0;
    }
    res->status = HOMEDOCTOR_RISE_FOUND;

    struct homedoctor__build b;
    if (homedoctor__start(&b, a, "cityos.home_bp_rise", CITE_RISE,
                          sys_rise && dia_rise ? "rise_both"
                          : sys_rise           ? "rise_systolic"
                                               : "rise_diastolic",
                          now_ms) != 0)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    b.f->severity = HOMEDOCTOR_WARNING;
    b.f->triggers = 1u << HOMEDOCTOR_TRIG_BP_RISE;
    size_t n_wrist = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].time_ms > now_ms)
            continue;
        int64_t d = homedoctor_local_day(r[i].time_ms);
        if (d >= recent_first || (d >= base_first && d <= base_last)) {
            homedoctor__basis(&b, "Observation", r[i].obs_id);
            n_wrist += r[i].device == HOMEDOCTOR_DEVICE_WRIST;
        }
    }
    if (n_wrist > 0)
        b.f->triggers |= 1u << HOMEDOCTOR_TRIG_WRIST_DEVICE;
    homedoctor__number(&b, "recent_mean_systolic", res->recent_sys, "mm[Hg]");
    homedoctor__number(&b, "recent_mean_diastolic", res->recent_dia, "mm[Hg]");
    homedoctor__number(&b, "recent_readings", (double)res->n_recent, "");
    homedoctor__number(&b, "baseline_mean_systolic", res->baseline_sys, "mm[Hg]");
    homedoctor__number(&b, "baseline_mean_diastolic", res->baseline_dia, "mm[Hg]");
    homedoctor__number(&b, "baseline_readings", (double)res->n_baseline, "");
    homedoctor__number(&b, "rise_systolic", res->delta_sys, "mm[Hg]");
    homedoctor__number(&b, "rise_diastolic", res->delta_dia, "mm[Hg]");
    homedoctor__number(&b, "threshold_systolic", HOMEDOCTOR_RISE_SYS_MMHG, "mm[Hg]");
    homedoctor__number(&b, "threshold_diastolic", HOMEDOCTOR_RISE_DIA_MMHG, "mm[Hg]");
    homedoctor__text_en(
        &b,
        "Your home blood pressure has risen: the last %d days average %.1f/%.1f "
        "mmHg (%zu readings) against your usual %.1f/%.1f mmHg (%zu readings, "
        "days %d to %d before today), a change of %+.1f/%+.1f mmHg. This rule "
        "fires at +%.0f systolic or +%.0f diastolic; it is a cityos rule, not a "
        "guideline threshold.%s Keep measuring at the same times, and if it stays "
        "high, talk to your doctor.",
        HOMEDOCTOR_RISE_RECENT_DAYS, res->recent_sys, res->recent_dia, res->n_recent,
        res->baseline_sys, res->baseline_dia, res->n_baseline, HOMEDOCTOR_RISE_BASELINE_FIRST,
        HOMEDOCTOR_RISE_BASELINE_LAST, res->delta_sys, res->delta_dia, HOMEDOCTOR_RISE_SYS_MMHG,
        HOMEDOCTOR_RISE_DIA_MMHG, n_wrist ? " Some readings came from a wrist monitor." : "");
    homedoctor__text_ja(
        &b,
        "家庭血圧がふだんより上がっています:直近%d日間の平均 %.1f/%.1f mmHg"
        "(%zu回)、ふだん(%d日前〜%d日前、%zu回)の平均 %.1f/%.1f mmHg に対し"
        " %+.1f/%+.1f mmHg です。この通知は収縮期+%.0f または拡張期+%.0f mmHg "
        "以上で出る cityos 独自の目安で、ガイドラインの基準値ではありません。%s"
        "同じ時間帯に測定を続け、高い状態が続くときはかかりつけ医にご相談ください。",
        HOMEDOCTOR_RISE_RECENT_DAYS, res->recent_sys, res->recent_dia, res->n_recent,
        HOMEDOCTOR_RISE_BASELINE_FIRST, HOMEDOCTOR_RISE_BASELINE_LAST, res->n_baseline,
        res->baseline_sys, res->baseline_dia, res->delta_sys, res->delta_dia,
        HOMEDOCTOR_RISE_SYS_MMHG, HOMEDOCTOR_RISE_DIA_MMHG,
        n_wrist ? "一部は手首式血圧計の測定です。" : "");
    return homedoctor__finish(&b, out, e);
}
