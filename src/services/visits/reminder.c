/* reminder.c - the day-before reminder of every booked appointment (visits.h): a scan of the
 * appointments due (visits_reminder_due) that puts one inbox notice per appointment (its dedupe
 * key makes a repeated scan harmless) and marks it reminded, run every 60 s by the service's own
 * timer thread. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "consent/consent.h"
#include "services/visits/internal.h"

#define SCAN_EVERY_MS 60000
#define SCAN_MAX      500 /* appointments reminded per pass at most (the next pass goes on) */

struct due {
    char id[IDS_LEN + 1], subject[IDS_LEN + 1];
    int64_t start_ms;
    int mode;
};

struct scan {
    int64_t now_ms;
    struct due *d;
    size_t n, cap;
    int sent;
};

static int due_row(const struct store_row *row, void *ctx)
{
    struct scan *sc = ctx;
    int64_t start = store_row_int(row, 2);
    if (!visits_reminder_due(start, sc->now_ms))
        return 0;
    if (sc->n == sc->cap)
        return 1;
    struct due *d = &sc->d[sc->n++];
    snprintf(d->id, sizeof d->id, "%s", store_row_text(row, 0, NULL));
    snprintf(d->subject, sizeof d->subject, "%s", store_row_text(row, 1, NULL));
    d->start_ms = start;
    const char *m = store_row_text(row, 3, NULL);
    d->mode = visits_mode_parse(m);
    return 0;
}

static int remind_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct scan *sc = ctx;
    sc->sent = 0;
    for (size_t i = 0; i < sc->n; i++) {
        const struct due *d = &sc->d[i];
        char start[VISITS_INSTANT_LEN], day[VISITS_DATE_LEN], ref[IDS_LEN + 16], key[IDS_LEN + 48],
            ja[300], en[300];
        visits_instant_format(d->start_ms, start);
        visits_date_format(d->start_ms, day);
        snprintf(ref, sizeof ref, "Appointment/%s", d->id);
        snprintf(key, sizeof key, "visits.reminder.%s.%s", d->id, day);
        int online = d->mode == VISITS_ONLINE;
        snprintf(ja, sizeof ja, "明日 %.5s から%sの予約があります。", start + 11,
                 online ? "オンライン診療" : "受診");
        snprintf(en, sizeof en, "Reminder: your %s appointment is on %s at %.5s.",
                 online ? "online" : "in-person", day, start + 11);
        struct consent_inbox_notice n = {d->subject, "visits", ref, ja, en, key};
        int added = 0;
        int rc = consent_inbox_notify(tx, &n, sc->now_ms, &added, e);
        if (rc != 0)
            return rc;
        struct store_value v[] = {STORE_INT_V(sc->now_ms), STORE_TEXT_V(d->id)};
        rc = store_tx_exec(tx, "UPDATE visits_appointment SET reminded_ms = ? WHERE id = ?", v, 2,
                           e);
        if (rc < 0)
            return rc;
        sc->sent += added;
    }
    return 0;
}

int visits_reminder_scan(struct store *s, int64_t now_ms, int *sent, struct err *e)
{
    struct due *d = calloc(SCAN_MAX, sizeof *d);
    if (d == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct scan sc = {.now_ms = now_ms, .d = d, .cap = SCAN_MAX};
    /* due from 09:00 of the day before: every start within the next 48 hours is a candidate */
    struct store_value v[] = {STORE_INT_V(now_ms), STORE_INT_V(now_ms + 2 * VISITS_DAY_MS)};
    int rc = store_query(s,
                         "SELECT id, subject_id, start_ms, mode FROM visits_appointment WHERE "
                         "status = 'booked' AND start_ms > ? AND start_ms <= ? AND reminded_ms "
                         "IS NULL ORDER BY start_ms, id",
                         v, 2, due_row, &sc, e);
    if (rc == 0 && sc.n > 0)
        rc = store_write(s, remind_fn, &sc, e);
    if (rc == 0 && sent != NULL)
        *sent = sc.sent;
    free(d);
    return rc;
}

/* ---- the timer thread ---- */

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct store *store;
    int running, stopping;
} rem = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *reminder_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&rem.lock);
    while (!rem.stopping) {
        pthread_mutex_unlock(&rem.lock);
        struct err e = {0};
        int sent = 0;
        if (visits_reminder_scan(rem.store, clock_now_ms(), &sent, &e) != 0)
            log_warn("visits: reminder scan failed: %s", e.msg);
        else if (sent > 0)
            log_info("visits: %d appointment reminders sent", sent);
        pthread_mutex_lock(&rem.lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += SCAN_EVERY_MS / 1000;
        while (!rem.stopping && pthread_cond_timedwait(&rem.wake, &rem.lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&rem.lock);
    return NULL;
}

int visits__reminder_start(struct store *s, struct err *e)
{
    pthread_mutex_lock(&rem.lock);
    if (rem.running) {
        pthread_mutex_unlock(&rem.lock);
        return err_set(e, ERR_INVALID, "visits: the reminder thread already runs");
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rem.wake, &ca);
    pthread_condattr_destroy(&ca);
    rem.store = s;
    rem.stopping = 0;
    int rc = pthread_create(&rem.thread, NULL, reminder_main, NULL);
    rem.running = rc == 0;
    pthread_mutex_unlock(&rem.lock);
    if (rc != 0) {
        pthread_cond_destroy(&rem.wake);
        return err_set(e, ERR_NOMEM, "visits: cannot start the reminder thread");
    }
    return 0;
}

void visits_stop(void)
{
    pthread_mutex_lock(&rem.lock);
    if (!rem.running) {
        pthread_mutex_unlock(&rem.lock);
        return;
    }
    rem.stopping = 1;
    pthread_cond_signal(&rem.wake);
    pthread_mutex_unlock(&rem.lock);
    pthread_join(rem.thread, NULL);
    pthread_mutex_lock(&rem.lock);
    rem.running = 0;
    pthread_cond_destroy(&rem.wake);
    pthread_mutex_unlock(&rem.lock);
}
