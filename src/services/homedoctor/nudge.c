/* nudge.c - rule 3: a gentle nudge when a device with a history of readings has sent none for
 * 3 full local days (Asia/Tokyo). */
#include "services/homedoctor/internal.h"

static const char CITE_NUDGE[] =
    "cityos rule: regular home measurement as JSH2019 recommends (home BP judged on readings "
    "over >=5 days, Umemura S et al., Hypertens Res 2019;42:1235-1481); 3 full days without a "
    "reading";

int homedoctor_nudge_evaluate(struct arena *a, const char *device_id, const char *last_obs_id,
                              int64_t last_ms, int64_t now_ms, int *days_missing,
                              struct homedoctor_finding **out, struct err *e)
{
    *out = NULL;
    if (device_id == NULL || device_id[0] == '\0' || last_obs_id == NULL || last_obs_id[0] == '\0')
        return err_set(e, ERR_INVALID, "nudge: a device id and its last reading are required");
    /* full local days strictly between the last reading's day and today */
    int64_t gap = homedoctor_local_day(now_ms) - homedoctor_local_day(last_ms) - 1;
    if (gap < 0)
        gap = 0; /* a reading today (or a clock ahead of now) */
    if (days_missing)
        *days_missing = gap > 100000 ? 100000 : (int)gap;
    if (gap < HOMEDOCTOR_NUDGE_DAYS)
        return 0;
    struct homedoctor__build b;
    if (homedoctor__start(&b, a, "cityos.readings_missing", CITE_NUDGE, "readings_missing",
                          now_ms) != 0)
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory");
    b.f->severity = HOMEDOCTOR_NOTICE;
    b.f->triggers = 1u << HOMEDOCTOR_TRIG_READINGS_MISSING;
    homedoctor__basis(&b, "Device", device_id);
    homedoctor__basis(&b, "Observation", last_obs_id);
    homedoctor__number(&b, "days_without_reading", (double)gap, "d");
    homedoctor__number(&b, "threshold_days", HOMEDOCTOR_NUDGE_DAYS, "d");
    char when[24];
    homedoctor__local_hm(last_ms, when, sizeof when);
    homedoctor__text_en(&b,
                        "We have not received a blood-pressure reading for %lld days (the last "
                        "was on %s). When you have a moment, please measure at your usual time; "
                        "regular readings are what make the home values meaningful.",
                        (long long)gap, when);
    homedoctor__text_ja(&b,
                        "%lld日間、血圧の測定が届いていません(最後の測定:%s)。"
                        "ご都合のよいときに、いつもの時間に測ってみませんか。"
                        "毎日続けて測ることで家庭血圧が役立ちます。",
                        (long long)gap, when);
    return homedoctor__finish(&b, out, e);
}
