/* audit.c - benchmark of the data tracker: records appended per second through the group
 * commit (audit_record_async with many in flight, as suspended HTTP requests would have them),
 * a checkpoint over every chain, and audit_verify's entries per second. Not a test. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <sodium.h>
#include <sqlite3.h>

#include "bench_util.h"
#include "audit/audit.h"
#include "base/clock.h"
#include "base/log.h"
#include "identity/jose.h"
#include "identity/keys.h"
#include "store/store.h"

#define RUNS     5
#define SUBJECTS 10000

struct window {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long in_flight, done, failed;
};

static void rec_done(int status, const struct err *e, void *ctx)
{
    struct window *w = ctx;
    pthread_mutex_lock(&w->mu);
    w->in_flight--;
    w->done++;
    if (status != 0) {
        w->failed++;
        fprintf(stderr, "record failed: %s\n", e != NULL ? e->msg : "?");
    }
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Appends for `seconds` keeping up to `window` records in flight. Returns entries/s. */
static double append_run(struct store *s, double seconds, long window, uint64_t *rng, long *total)
{
    struct window w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};
    char subject[32], rid[32];
    uint64_t t0 = clock_mono_ns(), stop = t0 + (uint64_t)(seconds * 1e9);
    long i = 0;
    while (clock_mono_ns() < stop) {
        pthread_mutex_lock(&w.mu);
        while (w.in_flight >= window)
            pthread_cond_wait(&w.cv, &w.mu);
        w.in_flight++;
        pthread_mutex_unlock(&w.mu);
        *rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;
        snprintf(subject, sizeof subject, "person-%05lu", (unsigned long)(*rng % SUBJECTS));
        snprintf(rid, sizeof rid, "req-%ld", i++);
        struct audit_event ev = {
            .actor_kind = AUDIT_ACTOR_PRACTITIONER,
            .actor_id = "person-doctor-0001",
            .actor_org = "org-aizu-clinic",
            .actor_role = "doctor",
            .client_id = "client-ehr",
            .subject = subject,
            .action = "read",
            .resource_type = "Observation",
            .resource_id = "obs-0123456789",
            .category = "vitals",
            .purpose = "homedoctor@1",
            .decision = AUDIT_PERMIT,
            .decided_by = "consent-0123456789",
            .request_id = rid,
            .source_addr = "192.0.2.10",
        };
        struct err e;
        if (audit_record_async(s, &ev, rec_done, &w, &e) != 0) {
            fprintf(stderr, "record not queued: %s\n", e.msg);
            pthread_mutex_lock(&w.mu);
            w.in_flight--;
            pthread_mutex_unlock(&w.mu);
        }
    }
    pthread_mutex_lock(&w.mu);
    while (w.in_flight > 0)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    *total += w.done - w.failed;
    return (double)(w.done - w.failed) / secs;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    long window = argc > 2 ? atol(argv[2]) : 256;
    const char *parent = argc > 3 ? argv[3] : "/tmp";
    char base[256], data[300];
    struct err e;
    if (seconds <= 0 || seconds > 60 || window < 1 || window > 50000) {
        fprintf(stderr, "usage: audit [seconds per run, default 2] [records in flight, default "
                        "256] [parent folder, default /tmp]\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    snprintf(base, sizeof base, "%s/cityos-bench-audit-XXXXXX", parent);
    if (mkdtemp(base) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(data, sizeof data, "%s/data", base);
    log_set_level(LOGL_WARN);
    struct store *s = NULL;
    struct store_options o = {.data_dir = data};
    if (store_open(&s, &o, &e) != 0) {
        fprintf(stderr, "store_open: %s\n", e.msg);
        return 1;
    }
    printf("cityos audit benchmark: SQLite %s, WAL, synchronous=FULL, %ld CPUs, data in %s\n",
           sqlite3_libversion(), sysconf(_SC_NPROCESSORS_ONLN), parent);
    printf("%d runs of %.1f s, %ld records in flight, %d subjects; medians (min-max)\n\n", RUNS,
           seconds, window, SUBJECTS);

    const struct store_metrics *m = store_metrics(s);
    double rate[RUNS], batch[RUNS];
    uint64_t rng = 0x9e3779b97f4a7c15u;
    long total = 0;
    for (int r = 0; r < RUNS; r++) {
        uint64_t c0 = m->batch_size.count, w0 = m->writes_ok;
        rate[r] = append_run(s, seconds, window, &rng, &total);
        uint64_t commits = m->batch_size.count - c0;
        batch[r] = commits ? (double)(m->writes_ok - w0) / (double)commits : 0;
    }
    double lo = rate[0], hi = rate[0];
    for (int r = 1; r < RUNS; r++) {
        lo = rate[r] < lo ? rate[r] : lo;
        hi = rate[r] > hi ? rate[r] : hi;
    }
    printf("append (audit_record_async):  %9.0f entries/s (%.0f-%.0f), %.1f entries per "
           "commit\n",
           bench_median(rate, RUNS), lo, hi, bench_median(batch, RUNS));

    struct id_jose_key key;
    struct audit_checkpoint cp;
    id_jose_key_generate(&key, clock_now_ms());
    uint64_t t0 = clock_mono_ns();
    if (audit_checkpoint_create(s, &key, clock_now_ms(), &cp, &e) != 0) {
        fprintf(stderr, "checkpoint: %s\n", e.msg);
        return 1;
    }
    printf("checkpoint over %lld chains: %.1f ms\n", (long long)cp.chains,
           (double)(clock_mono_ns() - t0) / 1e6);

    struct id_keys ks = {.n = 1};
    ks.keys[0] = key;
    double vrate[RUNS];
    struct audit_verify_report rep;
    for (int r = 0; r < RUNS; r++) {
        t0 = clock_mono_ns();
        if (audit_verify(s, &ks, &rep, &e) != 0 || !rep.ok) {
            fprintf(stderr, "verify failed: %s %s\n", e.msg, rep.detail);
            return 1;
        }
        vrate[r] = (double)rep.entries / ((double)(clock_mono_ns() - t0) / 1e9);
    }
    lo = hi = vrate[0];
    for (int r = 1; r < RUNS; r++) {
        lo = vrate[r] < lo ? vrate[r] : lo;
        hi = vrate[r] > hi ? vrate[r] : hi;
    }
    printf("verify (audit_verify):        %9.0f entries/s (%.0f-%.0f) over %lld entries, "
           "%lld chains, %lld checkpoint\n",
           bench_median(vrate, RUNS), lo, hi, (long long)rep.entries, (long long)rep.chains,
           (long long)rep.checkpoints);
    id_keys_release(&ks);
    id_jose_key_wipe(&key);
    store_close(s);
    bench_rm_data(base, data);
    return total > 0 ? 0 : 1;
}
