/* service_scan.c - rule 3 in the running service: the missing-readings scan. A thread of the
 * service's own (started by homedoctor_service_register, stopped by homedoctor_service_stop)
 * runs homedoctor_service_scan() HOMEDOCTOR_SCAN_FIRST_MS after start-up and then every
 * HOMEDOCTOR_SCAN_EVERY_MS; each citizen with an active blood-pressure device whose consent
 * lets the service read vitals and write alerts gets a gentle nudge after 3 full local days
 * without a reading, at most one a day (the keys are per local day). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "services/homedoctor/service_internal.h"

/* ---- one scan ---- */

struct owner {
    const char *subject, *device;
};

struct owners {
    struct arena *a;
    struct owner *v;
    size_t n, cap;
    int nomem;
};

static int owner_row(const struct store_row *row, void *ctx)
{
    struct owners *o = ctx;
    const char *subject = store_row_text(row, 0, NULL), *device = store_row_text(row, 1, NULL);
    if (subject == NULL || device == NULL)
        return 0;
    struct owner *arr = arena_array_reserve(o->a, o->v, o->n, &o->cap, sizeof *arr);
    if (arr == NULL) {
        o->nomem = 1;
        return 1;
    }
    o->v = arr;
    o->v[o->n].subject = arena_strdup(o->a, subject);
    o->v[o->n].device = arena_strdup(o->a, device);
    if (o->v[o->n].subject == NULL || o->v[o->n].device == NULL) {
        o->nomem = 1;
        return 1;
    }
    o->n++;
    return 0;
}

/* One citizen: 1 when a nudge was written now, 0 when none (refused, readings recent, no
 * readings in the window), or an ERR_*. */
static int scan_one(struct store *s, const struct owner *who, int64_t now_ms, struct err *e)
{
    struct arena *a = arena_new(64 * 1024);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct id_principal p;
    hd_service_principal(&p);
    const char *subject = who->subject;
    struct fhir_target rt = {.rtype = "Observation", .subject = subject, .category = "vitals"};
    struct fhir_target wt = {.rtype = "RiskAssessment", .subject = subject, .category = "alerts"};
    struct fhir_target ct = {.rtype = "Communication", .subject = subject, .category = "alerts"};
    struct fhir_verdict rv, wv, cv;
    int rc = 0;
    if (fhir_access_decide(&p, &rt, ID_PERM_S, HOMEDOCTOR_PURPOSE, NULL, a, &rv) != 0 ||
        fhir_access_decide(&p, &wt, ID_PERM_C, HOMEDOCTOR_PURPOSE, NULL, a, &wv) != 0 ||
        fhir_access_decide(&p, &ct, ID_PERM_C, HOMEDOCTOR_PURPOSE, NULL, a, &cv) != 0)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    /* without the consent the scan asks nothing more: it reads nothing, so nothing is refused */
    if (rc != 0 || !rv.permit || !wv.permit || !cv.permit)
        goto out;
    if ((rc = hd_record_decision(s, &p, &rt, "search", &rv, e)) != 0)
        goto out;
    struct hd_history h = {.a = a};
    if ((rc = hd_read_history(s, subject, now_ms, &h, e)) != 0)
        goto out;
    const struct homedoctor_bp_reading *last = NULL;
    for (size_t i = 0; i < h.n && last == NULL; i++)
        if (h.r[i].time_ms <= now_ms)
            last = &h.r[i];
    if (last == NULL)
        goto out; /* nothing for HOMEDOCTOR_HISTORY_DAYS: the device was given up, no nudge */
    struct homedoctor_finding *f = NULL;
    int days = 0;
    if ((rc = homedoctor_nudge_evaluate(a, who->device, last->obs_id, last->time_ms, now_ms, &days,
                                        &f, e)) != 0 ||
        f == NULL)
        goto out;
    char scope[40];
    snprintf(scope, sizeof scope, "day:%" PRId64, homedoctor_local_day(now_ms));
    struct hd_publish how = {.ra_verdict = &wv, .comm_verdict = &cv, .ra_scope = scope};
    struct hd_outcome o = {0};
    rc = hd_publish_finding(s, a, &p, &how, subject, f, now_ms, &o, e);
    if (rc == 0)
        rc = o.alerts > 0;
out:
    arena_free(a);
    return rc;
}

int homedoctor_service_scan(struct store *s, int64_t now_ms, int *nudged, struct err *e)
{
    if (nudged != NULL)
        *nudged = 0;
    if (homedoctor_service_client_id()[0] == '\0')
        return 0; /* the service is not running */
    struct arena *a = arena_new(16 * 1024);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct owners o = {.a = a};
    int rc = store_query(s,
                         "SELECT subject_id, MIN(id) FROM device WHERE subject_id IS NOT NULL AND "
                         "revoked_ms IS NULL AND kind IN ('bp-wrist', 'bp-upper-arm') "
                         "GROUP BY subject_id ORDER BY subject_id",
                         NULL, 0, owner_row, &o, e);
    if (rc == 0 && o.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    int count = 0, failed = 0;
    for (size_t i = 0; rc == 0 && i < o.n; i++) {
        struct err one = {0};
        int r = scan_one(s, &o.v[i], now_ms, &one);
        if (r < 0 || r > 1) { /* one citizen's failure does not stop the others */
            failed++;
            log_warn("homedoctor: scan of %s failed: %s", o.v[i].subject, one.msg);
        } else {
            count += r;
        }
    }
    if (rc == 0)
        LOG_AT(LOGL_INFO,
               json_pack("{s:I, s:i, s:i}", "citizens", (json_int_t)o.n, "nudged", count, "failed",
                         failed),
               "homedoctor: missing-readings scan done");
    if (nudged != NULL)
        *nudged = count;
    arena_free(a);
    return rc;
}

/* ---- the thread ---- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int running, stopping;
    struct store *store;
} scan = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Waits up to ms (monotonic) or until stopped. 1 when stopping. */
static int scan_wait(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&scan.lock);
    while (!scan.stopping && pthread_cond_timedwait(&scan.wake, &scan.lock, &ts) == 0)
        ;
    int stopping = scan.stopping;
    pthread_mutex_unlock(&scan.lock);
    return stopping;
}

static void *scan_main(void *arg)
{
    (void)arg;
    int64_t wait = HOMEDOCTOR_SCAN_FIRST_MS;
    while (!scan_wait(wait)) {
        struct err e = {0};
        if (homedoctor_service_scan(scan.store, clock_now_ms(), NULL, &e) != 0)
            log_warn("homedoctor: missing-readings scan failed: %s", e.msg);
        wait = HOMEDOCTOR_SCAN_EVERY_MS;
    }
    return NULL;
}

int hd_scan_start(struct store *s, struct err *e)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&scan.wake, &ca) != 0)
        return err_set(e, ERR_INTERNAL, "homedoctor: cannot make the scan's timer");
    pthread_condattr_destroy(&ca);
    scan.store = s;
    scan.stopping = 0;
    if (pthread_create(&scan.thread, NULL, scan_main, NULL) != 0) {
        pthread_cond_destroy(&scan.wake);
        return err_set(e, ERR_INTERNAL, "homedoctor: cannot start the scan thread");
    }
    scan.running = 1;
    return 0;
}

void homedoctor_service_stop(void)
{
    if (!scan.running)
        return;
    pthread_mutex_lock(&scan.lock);
    scan.stopping = 1;
    pthread_cond_broadcast(&scan.wake);
    pthread_mutex_unlock(&scan.lock);
    pthread_join(scan.thread, NULL);
    pthread_cond_destroy(&scan.wake);
    scan.running = 0;
}
