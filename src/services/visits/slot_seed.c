/* slot_seed.c - the demo town's slots (visits.h, visits_demo_seed): the S1 family doctor's online
 * mornings and the cardiologist's in-person afternoons on the weekdays ahead. */
#include <string.h>

#include "services/visits/internal.h"

static int open_day(struct store *s, const char *org, const char *doc, const char *specialty,
                    int modes, int64_t day, int from_min, int to_min, int step, int64_t now_ms,
                    int *slots, struct err *e)
{
    int64_t starts[VISITS_SLOTS_MAX];
    char ids[VISITS_SLOTS_MAX][IDS_LEN + 1];
    int n = visits_slot_starts(day, from_min, to_min, step, starts, VISITS_SLOTS_MAX);
    if (n <= 0)
        return err_set(e, ERR_INVALID, "visits: no slot fits the demo day");
    struct visits__open o = {.org = org,
                             .practitioner = doc,
                             .specialty = specialty,
                             .modes = modes,
                             .step_min = step,
                             .starts = starts,
                             .n = (size_t)n,
                             .ids = ids,
                             .now_ms = now_ms};
    int rc = store_write(s, visits__open_fn, &o, e);
    if (rc == 0)
        *slots += o.created + o.existing;
    return rc;
}

int visits_demo_seed(struct store *s, const char *clinic_id, const char *doctor_id,
                     const char *hospital_id, const char *cardio_id, int64_t now_ms, int days,
                     int *slots, struct err *e)
{
    if (!ids_valid(clinic_id) || !ids_valid(doctor_id) || !ids_valid(hospital_id) ||
        !ids_valid(cardio_id))
        return err_set(e, ERR_INVALID, "visits: the demo seed needs four ids");
    if (days < 1 || days > 366)
        return err_set(e, ERR_INVALID, "visits: days 1..366");
    int n = 0, rc = 0;
    int64_t day = visits_day_start(now_ms) + VISITS_DAY_MS;
    for (int i = 0; rc == 0 && i < days; i++, day += VISITS_DAY_MS) {
        int wd = visits_weekday(day);
        if (wd == 0 || wd == 6)
            continue;
        rc = open_day(s, clinic_id, doctor_id, "family-medicine", VISITS_ONLINE, day, 9 * 60,
                      12 * 60, 15, now_ms, &n, e);
        if (rc == 0)
            rc = open_day(s, hospital_id, cardio_id, "cardiology", VISITS_IN_PERSON, day, 13 * 60,
                          16 * 60, 30, now_ms, &n, e);
    }
    if (slots != NULL)
        *slots = n;
    return rc;
}
