/* adherence_dose.c - rule 6 (adherence.h): the table of cityos's adherence rules, and their
 * evaluation over the dose events a pill box reported (missed doses in a row; the proportion
 * of scheduled doses taken over the last 7 days), with the episode each alert belongs to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/homedoctor/adherence.h"
#include "services/homedoctor/internal.h"

/* THE table. CLINICAL.md has no adherence rule: these are cityos's own rules; each citation says
 * where its number comes from and that the rule is not a guideline's. */
static const struct homedoctor_adherence_rule RULES[HOMEDOCTOR_ADHERENCE_NRULES] = {
    {HOMEDOCTOR_ADH_MISSED_IN_A_ROW, "cityos.medication_missed_in_a_row", "missed_in_a_row", 2, 0,
     0,
     "cityos rule, not a guideline (CLINICAL.md has no adherence rule): 2 or more scheduled "
     "doses in a row reported missed by the pill box. Electronic dosing histories show that "
     "missed doses come in runs and that runs of missed days precede stopping treatment (Vrijens "
     "B et al., BMJ 2008;336:1114-7); 2 in a row is cityos's choice of an early prompt, not a "
     "validated clinical threshold"},
    {HOMEDOCTOR_ADH_TAKEN_PROPORTION, "cityos.medication_taken_proportion", "below_80_percent", 80,
     7, 7,
     "cityos rule, not a guideline (CLINICAL.md has no adherence rule): fewer than 80% of the "
     "doses scheduled in the last 7 days (at least 7 scheduled) reported taken. Adherence is "
     "the percentage of the prescribed doses taken over a period, and 80% is the level trials "
     "commonly treat as acceptable (Osterberg L, Blaschke T. Adherence to medication. N Engl J "
     "Med 2005;353:487-97)"},
};

const struct homedoctor_adherence_rule *homedoctor_adherence_rules(size_t *n)
{
    if (n != NULL)
        *n = HOMEDOCTOR_ADHERENCE_NRULES;
    return RULES;
}

static int cmp_dose(const void *x, const void *y)
{
    const struct homedoctor_dose *a = x, *b = y;
    if (a->scheduled_ms != b->scheduled_ms)
        return (a->scheduled_ms > b->scheduled_ms) - (a->scheduled_ms < b->scheduled_ms);
    return strcmp(a->id, b->id); /* a total order: the same input gives the same text */
}

static bool is_taken(const struct homedoctor_dose *d)
{
    return d->status != HOMEDOCTOR_DOSE_MISSED;
}

/* The first index in d[0..n) (sorted) with scheduled_ms > t. */
static size_t upper(const struct homedoctor_dose *d, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d[mid].scheduled_ms <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* "MM/DD HH:MM missed, ..." of the doses d[from..to) with the given status filter (all when
 * only_missed is false), at most HOMEDOCTOR_DOSE_LIST_MAX, "..." after. In the arena. */
static const char *dose_list(struct arena *a, const struct homedoctor_dose *d, size_t from,
                             size_t to, bool only_missed, bool ja)
{
    char buf[HOMEDOCTOR_DOSE_LIST_MAX * 40 + 16];
    size_t len = 0;
    int listed = 0, more = 0;
    buf[0] = '\0';
    for (size_t i = from; i < to; i++) {
        if (only_missed && is_taken(&d[i]))
            continue;
        if (listed == HOMEDOCTOR_DOSE_LIST_MAX) {
            more = 1;
            break;
        }
        char when[24];
        homedoctor__local_hm(d[i].scheduled_ms, when, sizeof when);
        const char *what = d[i].status == HOMEDOCTOR_DOSE_MISSED ? (ja ? "飲み忘れ" : "missed")
                           : d[i].status == HOMEDOCTOR_DOSE_LATE ? (ja ? "遅れて服用" : "late")
                                                                 : (ja ? "服用" : "taken");
        const char *sep = listed ? (ja ? "、" : ", ") : "";
        int w = only_missed ? snprintf(buf + len, sizeof buf - len, "%s%s", sep, when)
                            : snprintf(buf + len, sizeof buf - len, "%s%s %s", sep, when, what);
        if (w < 0 || (size_t)w >= sizeof buf - len)
            break;
        len += (size_t)w;
        listed++;
    }
    return arena_printf(a, "%s%s", buf, more ? (ja ? " ほか" : ", ...") : "");
}

/* ---- rule: missed in a row ---- */

static int eval_in_a_row(struct arena *a, const struct homedoctor_adherence_rule *rule,
                         const struct homedoctor_dose *d, size_t n, int64_t history_from_ms,
                         int64_t now_ms, struct homedoctor_adherence_eval *r,
                         struct homedoctor_finding **out, struct err *e)
{
    size_t start = n;
    while (start > 0 && !is_taken(&d[start - 1]))
        start--;
    r->in_a_row = (int)(n - start);
    r->scheduled = r->missed = r->in_a_row;
    if (r->in_a_row < rule->threshold)
        return 0;
    r->fired = true;
    /* the run's first dose starts the episode, unless the run reaches back to the start of
     * the history (it may have begun earlier: keyed by the week of now) */
    if (start == 0 && d[0].scheduled_ms <= history_from_ms + HOMEDOCTOR_DAY_MS)
        r->episode_week = homedoctor_local_day(now_ms) / 7;
    else
        r->episode_ms = d[start].scheduled_ms;
    struct homedoctor__build b;
    if (homedoctor__start(&b, a, rule->rule_id, rule->citation, rule->outcome, now_ms) != 0)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    b.f->severity = HOMEDOCTOR_WARNING;
    b.f->triggers = 1u << HOMEDOCTOR_TRIG_MISSED_DOSES;
    for (size_t i = start; i < n; i++)
        homedoctor__basis(&b, "MedicationAdministration", d[i].id);
    homedoctor__number(&b, "doses_missed_in_a_row", r->in_a_row, "");
    homedoctor__number(&b, "threshold_in_a_row", rule->threshold, "");
    const char *en = dose_list(a, d, start, n, true, false);
    const char *ja = dose_list(a, d, start, n, true, true);
    if (en == NULL || ja == NULL)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    homedoctor__text_en(
        &b,
        "Medicine missed %d times in a row: the pill box reported these scheduled doses not "
        "taken: %s. cityos alerts at %d or more in a row (its own rule, not a guideline; "
        "the pill box cannot see a tablet swallowed). This is not a diagnosis. Sent to you and "
        "to those you allowed to see your alerts.",
        r->in_a_row, en, rule->threshold);
    homedoctor__text_ja(&b,
                        "お薬が%d回続けて飲まれていません:ピルケースが次の服用予定を「飲み忘れ」"
                        "と報告しました:%s。cityosは%d回以上続いたときにお知らせします(ガイ"
                        "ドラインではなくcityos独自の基準です。ピルケースは実際に飲み込んだかま"
                        "では分かりません)。診断ではありません。ご本人と、お知らせの閲覧を許可"
                        "された方にお届けしています。",
                        r->in_a_row, ja, rule->threshold);
    return homedoctor__finish(&b, out, e);
}

/* ---- rule: proportion taken over the window ---- */

struct window {
    int scheduled, taken, late, missed;
    size_t lo, hi; /* d[lo..hi) */
};

/* The doses of the window (t - days, t]. */
static void window_at(const struct homedoctor_dose *d, size_t n, int days, int64_t t,
                      struct window *w)
{
    memset(w, 0, sizeof *w);
    w->hi = upper(d, n, t);
    w->lo = upper(d, n, t - days * HOMEDOCTOR_DAY_MS);
    for (size_t i = w->lo; i < w->hi; i++) {
        w->scheduled++;
        w->taken += d[i].status == HOMEDOCTOR_DOSE_TAKEN;
        w->late += d[i].status == HOMEDOCTOR_DOSE_LATE;
        w->missed += d[i].status == HOMEDOCTOR_DOSE_MISSED;
    }
}

static bool below(const struct homedoctor_adherence_rule *rule, const struct window *w)
{
    return w->scheduled >= rule->min_scheduled &&
           (int64_t)(w->taken + w->late) * 100 < (int64_t)rule->threshold * w->scheduled;
}

static int eval_proportion(struct arena *a, const struct homedoctor_adherence_rule *rule,
                           const struct homedoctor_dose *d, size_t n, int64_t history_from_ms,
                           int64_t now_ms, struct homedoctor_adherence_eval *r,
                           struct homedoctor_finding **out, struct err *e)
{
    struct window w;
    window_at(d, n, rule->window_days, now_ms, &w);
    r->scheduled = w.scheduled;
    r->taken = w.taken;
    r->late = w.late;
    r->missed = w.missed;
    r->percent_taken =
        w.scheduled > 0 ? homedoctor__round1(100.0 * (w.taken + w.late) / w.scheduled) : 0;
    r->insufficient = w.scheduled < rule->min_scheduled;
    if (!below(rule, &w))
        return 0;
    r->fired = true;
    /* the episode: walk back over the earlier doses' times while the proportion stayed below;
     * a point whose window reaches before the history cannot be judged (keyed by the week) */
    int64_t start = now_ms;
    bool open = false;
    for (size_t i = w.hi; i > 0; i--) {
        int64_t t = d[i - 1].scheduled_ms;
        if (t >= start)
            continue; /* the same instant as one judged already */
        if (t - rule->window_days * HOMEDOCTOR_DAY_MS < history_from_ms) {
            open = true;
            break;
        }
        struct window prev;
        window_at(d, n, rule->window_days, t, &prev);
        if (!below(rule, &prev))
            break;
        start = t;
    }
    if (open)
        r->episode_week = homedoctor_local_day(now_ms) / 7;
    else
        r->episode_ms = start;
    struct homedoctor__build b;
    if (homedoctor__start(&b, a, rule->rule_id, rule->citation, rule->outcome, now_ms) != 0)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    b.f->severity = HOMEDOCTOR_WARNING;
    b.f->triggers = 1u << HOMEDOCTOR_TRIG_MISSED_DOSES;
    for (size_t i = w.lo; i < w.hi; i++)
        homedoctor__basis(&b, "MedicationAdministration", d[i].id);
    homedoctor__number(&b, "doses_scheduled", w.scheduled, "");
    homedoctor__number(&b, "doses_taken", w.taken, "");
    homedoctor__number(&b, "doses_late", w.late, "");
    homedoctor__number(&b, "doses_missed", w.missed, "");
    homedoctor__number(&b, "percent_taken", r->percent_taken, "%");
    homedoctor__number(&b, "threshold_percent", rule->threshold, "%");
    homedoctor__number(&b, "window_days", rule->window_days, "d");
    homedoctor__number(&b, "min_scheduled", rule->min_scheduled, "");
    const char *en = dose_list(a, d, w.lo, w.hi, true, false);
    const char *ja = dose_list(a, d, w.lo, w.hi, true, true);
    if (en == NULL || ja == NULL)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    homedoctor__text_en(
        &b,
        "Medicine taken less often: of the %d doses scheduled in the last %d days the pill box "
        "reported %d taken (%d of them late) and %d missed: %.1f%%, below %d%%. Missed: %s. "
        "Adherence under %d%% of prescribed doses is commonly counted as too low (Osterberg & "
        "Blaschke, N Engl J Med 2005); the alert is cityos's own rule, not a guideline, and not "
        "a diagnosis. Sent to you and to those you allowed to see your alerts.",
        w.scheduled, rule->window_days, w.taken + w.late, w.late, w.missed, r->percent_taken,
        rule->threshold, en, rule->threshold);
    homedoctor__text_ja(
        &b,
        "お薬の服用が減っています:過去%d日間の服用予定%d回のうち、ピルケースの報告では服用"
        "%d回(うち遅れて%d回)、飲み忘れ%d回で、服用率は%.1f%%(基準%d%%未満)です。飲み忘れ:"
        "%s。処方どおりの服用が%d%%未満は一般に不十分とされます(Osterberg & Blaschke, N Engl J "
        "Med 2005)。ガイドラインではなくcityos独自の基準によるお知らせで、診断ではありません。"
        "ご本人と、お知らせの閲覧を許可された方にお届けしています。",
        rule->window_days, w.scheduled, w.taken + w.late, w.late, w.missed, r->percent_taken,
        rule->threshold, ja, rule->threshold);
    return homedoctor__finish(&b, out, e);
}

int homedoctor_adherence_doses_evaluate(struct arena *a, const struct homedoctor_dose *d, size_t n,
                                        int64_t history_from_ms, int64_t now_ms,
                                        struct homedoctor_adherence_eval *res,
                                        struct homedoctor_finding **out, struct err *e)
{
    for (size_t k = 0; k < HOMEDOCTOR_ADHERENCE_NRULES; k++) {
        memset(&res[k], 0, sizeof res[k]);
        res[k].rule = &RULES[k];
        out[k] = NULL;
    }
    if (n > HOMEDOCTOR_DOSE_MAX || (n > 0 && d == NULL))
        return err_set(e, ERR_INVALID, "adherence: at most %d doses", HOMEDOCTOR_DOSE_MAX);
    if (history_from_ms >= now_ms)
        return err_set(e, ERR_INVALID, "adherence: the history must start before now");
    struct homedoctor_dose *s = arena_alloc(a, (n ? n : 1) * sizeof *s);
    if (s == NULL)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i].id == NULL || d[i].id[0] == '\0')
            return err_set(e, ERR_INVALID, "adherence: dose %zu has no id", i);
        if (d[i].status != HOMEDOCTOR_DOSE_TAKEN && d[i].status != HOMEDOCTOR_DOSE_LATE &&
            d[i].status != HOMEDOCTOR_DOSE_MISSED)
            return err_set(e, ERR_INVALID, "adherence: dose %zu has an unknown status", i);
        if (d[i].scheduled_ms > history_from_ms && d[i].scheduled_ms <= now_ms)
            s[m++] = d[i];
    }
    if (m > 1)
        qsort(s, m, sizeof *s, cmp_dose);
    for (size_t k = 0; k < HOMEDOCTOR_ADHERENCE_NRULES; k++) {
        int rc =
            RULES[k].kind == HOMEDOCTOR_ADH_MISSED_IN_A_ROW
                ? eval_in_a_row(a, &RULES[k], s, m, history_from_ms, now_ms, &res[k], &out[k], e)
                : eval_proportion(a, &RULES[k], s, m, history_from_ms, now_ms, &res[k], &out[k], e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

const char *homedoctor_adherence_episode_scope(struct arena *a,
                                               const struct homedoctor_adherence_eval *r)
{
    if (r == NULL || !r->fired)
        return NULL;
    if (r->episode_ms != 0)
        return arena_printf(a, "episode:%lld", (long long)r->episode_ms);
    return arena_printf(a, "week:%lld", (long long)r->episode_week);
}
