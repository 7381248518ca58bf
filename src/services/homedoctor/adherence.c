/* adherence.c - rule 5: medication adherence from a pill-box device. A scheduled dose is taken
 * when the box was opened within +-2 h of its time; missed doses raise an alert to the citizen
 * and the carer the citizen named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/homedoctor/internal.h"

static const char CITE_ADHERENCE[] =
    "cityos rule: a dose counts as taken when the pill box was opened within +-2 h of its "
    "scheduled time (a timing window as used with electronic adherence monitors; no single "
    "published standard); alert to the named carer as in the city plan (STORY S7)";

static int cmp_ms(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

struct opening {
    int64_t ms;
    size_t index; /* into the caller's events */
};

static int cmp_opening(const void *x, const void *y)
{
    const struct opening *a = x, *b = y;
    return (a->ms > b->ms) - (a->ms < b->ms);
}

int homedoctor_adherence_evaluate(struct arena *a, const char *device_id,
                                  const struct homedoctor_dose_schedule *schedule,
                                  const struct homedoctor_pillbox_event *ev, size_t n,
                                  int64_t from_ms, int64_t now_ms,
                                  struct homedoctor_adherence_result *res,
                                  struct homedoctor_finding **out, struct err *e)
{
    *out = NULL;
    memset(res, 0, sizeof *res);
    if (device_id == NULL || device_id[0] == '\0')
        return err_set(e, ERR_INVALID, "adherence: no device id");
    if (schedule == NULL || schedule->n_times < 1 ||
        schedule->n_times > HOMEDOCTOR_MAX_DOSES_PER_DAY)
        return err_set(e, ERR_INVALID, "adherence: 1..%d doses a day",
                       HOMEDOCTOR_MAX_DOSES_PER_DAY);
    for (int i = 0; i < schedule->n_times; i++)
        if (schedule->minutes[i] < 0 || schedule->minutes[i] > 1439 ||
            (i > 0 && schedule->minutes[i] <= schedule->minutes[i - 1]))
            return err_set(e, ERR_INVALID, "adherence: dose times must be 0..1439, ascending");
    if (from_ms >= now_ms || now_ms - from_ms > HOMEDOCTOR_ADHERENCE_MAX_DAYS * HOMEDOCTOR_DAY_MS)
        return err_set(e, ERR_INVALID, "adherence: the window must be 0..%d days",
                       HOMEDOCTOR_ADHERENCE_MAX_DAYS);
    if (n > HOMEDOCTOR_MAX_READINGS || (n > 0 && ev == NULL))
        return err_set(e, ERR_INVALID, "adherence: bad events");

    /* the openings that can matter, in time order */
    struct opening *op = n ? arena_alloc(a, n * sizeof *op) : NULL;
    bool *used = n ? arena_zalloc(a, n * sizeof *used) : NULL;
    int max_doses = (HOMEDOCTOR_ADHERENCE_MAX_DAYS + 1) * HOMEDOCTOR_MAX_DOSES_PER_DAY;
    int64_t *doses = arena_alloc(a, (size_t)max_doses * sizeof *doses);
    if ((n && (op == NULL || used == NULL)) || doses == NULL)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    size_t n_op = 0;
    for (size_t i = 0; i < n; i++)
        if (ev[i].time_ms >= from_ms - HOMEDOCTOR_DOSE_TOLERANCE_MS && ev[i].time_ms <= now_ms)
            op[n_op++] = (struct opening){ev[i].time_ms, i};
    if (n_op > 1)
        qsort(op, n_op, sizeof *op, cmp_opening);

    /* the scheduled doses in [from_ms, now_ms), local times of each local day */
    int n_doses = 0;
    for (int64_t d = homedoctor_local_day(from_ms); d <= homedoctor_local_day(now_ms); d++)
        for (int k = 0; k < schedule->n_times && n_doses < max_doses; k++) {
            int64_t t = d * HOMEDOCTOR_DAY_MS - HOMEDOCTOR_TZ_OFFSET_MS +
                        (int64_t)schedule->minutes[k] * 60000;
            if (t >= from_ms && t < now_ms)
                doses[n_doses++] = t;
        }
    qsort(doses, (size_t)n_doses, sizeof *doses, cmp_ms);

    res->missed_ms = arena_alloc(a, (size_t)(n_doses ? n_doses : 1) * sizeof *res->missed_ms);
    if (res->missed_ms == NULL)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    /* doses in time order, each to the earliest unused opening within +-2 h: with windows of
     * equal width this greedy matching takes as many doses as any matching can */
    size_t lo = 0;
    for (int i = 0; i < n_doses; i++) {
        int64_t t = doses[i];
        while (lo < n_op && (used[lo] || op[lo].ms < t - HOMEDOCTOR_DOSE_TOLERANCE_MS))
            lo++;
        bool taken = false;
        for (size_t j = lo; j < n_op && op[j].ms <= t + HOMEDOCTOR_DOSE_TOLERANCE_MS; j++)
            if (!used[j]) {
                used[j] = true;
                taken = true;
                break;
            }
        if (taken) {
            res->scheduled++, res->taken++;
        } else if (t + HOMEDOCTOR_DOSE_TOLERANCE_MS > now_ms) {
            res->pending++; /* the window is still open: not (yet) missed */
        } else {
            res->scheduled++, res->missed++;
            res->missed_ms[res->missed - 1] = t;
        }
    }
    if (res->missed < HOMEDOCTOR_ADHERENCE_ALERT_MIN_MISSED)
        return 0;

    struct homedoctor__build b;
    if (homedoctor__start(&b, a, "cityos.medication_missed", CITE_ADHERENCE, "doses_missed",
                          now_ms) != 0)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    b.f->severity = HOMEDOCTOR_WARNING;
    b.f->recipients = HOMEDOCTOR_TO_CITIZEN | HOMEDOCTOR_TO_CARER;
    b.f->triggers = 1u << HOMEDOCTOR_TRIG_MISSED_DOSES;
    homedoctor__basis(&b, "Device", device_id);
    for (size_t j = 0; j < n_op; j++)
        homedoctor__basis(&b, "Observation", ev[op[j].index].id);
    homedoctor__number(&b, "doses_scheduled", res->scheduled, "");
    homedoctor__number(&b, "doses_taken", res->taken, "");
    homedoctor__number(&b, "doses_missed", res->missed, "");
    homedoctor__number(&b, "doses_pending", res->pending, "");
    homedoctor__number(&b, "tolerance", 120, "min");

    /* the first few missed times, local */
    char list[128] = "";
    size_t len = 0;
    for (int i = 0; i < res->missed && i < 5 && len < sizeof list; i++) {
        char when[24];
        homedoctor__local_hm(res->missed_ms[i], when, sizeof when);
        int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", when);
        if (w < 0 || (size_t)w >= sizeof list - len)
            break;
        len += (size_t)w;
    }
    const char *more = res->missed > 5 ? ", ..." : "";
    const char *more_ja = res->missed > 5 ? " ほか" : "";
    homedoctor__text_en(&b,
                        "Missed medicine: %d of %d scheduled doses had no pill-box opening within "
                        "2 hours of their time (%s%s). Sent to you and to the carer you named.",
                        res->missed, res->scheduled, list, more);
    homedoctor__text_ja(
        &b,
        "お薬の飲み忘れ:予定の%d回のうち%d回で、予定時刻の前後2時間にピルケース"
        "が開けられていません(%s%s)。ご本人と登録された介護者にお知らせしています。",
        res->scheduled, res->missed, list, more_ja);
    return homedoctor__finish(&b, out, e);
}
