/* store_write.c - benchmark of the store: acknowledged durable writes/s for 1..64 concurrent
 * writers (group commit at work), and primary-key reads/s from 1 and 2 threads. Not a test. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <sqlite3.h>

#include "bench_util.h"
#include "base/clock.h"
#include "base/log.h"
#include "store/store.h"

#define RUNS      5
#define DOC_BYTES 480 /* with the other columns, a row of about 500 bytes */

static const int write_threads[] = {1, 4, 16, 64};
static const int read_threads[] = {1, 2};

struct bench {
    struct store *s;
    double seconds;
    atomic_int stop;
    int conc;    /* writer threads in this run */
    int run;     /* run number within this concurrency */
    long ids_c1; /* ids "c1-r0-t0-<n>" known to exist, for the read benchmark */
};

struct worker {
    struct bench *b;
    int t;
    long done;
    long failed;
    uint64_t rng;
};

struct row {
    const char *id;
    const char *doc;
};

static int insert_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    const struct row *r = ctx;
    struct store_value v[5] = {STORE_TEXT_V(r->id), STORE_INT_V(clock_now_ms()),
                               STORE_TEXT_V("bench"), STORE_TEXT_V("chuo"), STORE_TEXT_V(r->doc)};
    int rc = store_tx_exec(
        tx, "INSERT INTO notice (id, created_ms, category, district, doc) VALUES (?, ?, ?, ?, ?)",
        v, 5, e);
    return rc < 0 ? rc : 0;
}

static void *write_worker(void *p)
{
    struct worker *w = p;
    char id[64], doc[DOC_BYTES + 1];
    memset(doc, 'x', DOC_BYTES);
    memcpy(doc, "{\"title\":\"", 10);
    doc[DOC_BYTES - 2] = '"';
    doc[DOC_BYTES - 1] = '}';
    doc[DOC_BYTES] = '\0';
    for (long i = 0; !atomic_load_explicit(&w->b->stop, memory_order_relaxed); i++) {
        struct err e;
        snprintf(id, sizeof id, "c%d-r%d-t%d-%ld", w->b->conc, w->b->run, w->t, i);
        memcpy(doc + 10, id, strlen(id)); /* every row a little different */
        struct row r = {.id = id, .doc = doc};
        if (store_write(w->b->s, insert_fn, &r, &e) == 0) {
            w->done++;
        } else {
            w->failed++;
            fprintf(stderr, "write failed: %s\n", e.msg);
        }
    }
    return NULL;
}

static int found_fn(const struct store_row *r, void *ctx)
{
    size_t len = 0;
    store_row_text(r, 0, &len);
    *(int *)ctx = len > 0;
    return 1;
}

static int count_fn(const struct store_row *r, void *ctx)
{
    *(long *)ctx = (long)store_row_int(r, 0);
    return 1;
}

static void *read_worker(void *p)
{
    struct worker *w = p;
    char id[64];
    while (!atomic_load_explicit(&w->b->stop, memory_order_relaxed)) {
        struct err e;
        int found = 0;
        w->rng ^= w->rng << 13, w->rng ^= w->rng >> 7, w->rng ^= w->rng << 17; /* xorshift64 */
        snprintf(id, sizeof id, "c1-r0-t0-%ld", (long)(w->rng % (uint64_t)w->b->ids_c1));
        struct store_value v = STORE_TEXT_V(id);
        if (store_query(w->b->s, "SELECT doc FROM notice WHERE id = ?", &v, 1, found_fn, &found,
                        &e) == 0 &&
            found)
            w->done++;
        else
            w->failed++;
    }
    return NULL;
}

/* Runs n threads of fn for b->seconds. Returns operations per second; *total (OUT) the count. */
static double run_threads(struct bench *b, int n, void *(*fn)(void *), long *total, long *failed)
{
    pthread_t th[64];
    struct worker w[64];
    atomic_store(&b->stop, 0);
    uint64_t t0 = clock_mono_ns();
    for (int t = 0; t < n; t++) {
        w[t] = (struct worker){.b = b, .t = t, .rng = 0x9e3779b97f4a7c15u * (uint64_t)(t + 1)};
        if (pthread_create(&th[t], NULL, fn, &w[t]) != 0) {
            fprintf(stderr, "cannot start thread %d\n", t);
            exit(1);
        }
    }
    struct timespec ts = {.tv_sec = (time_t)b->seconds,
                          .tv_nsec = (long)((b->seconds - (double)(time_t)b->seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&b->stop, 1);
    *total = *failed = 0;
    for (int t = 0; t < n; t++) {
        pthread_join(th[t], NULL);
        *total += w[t].done;
        *failed += w[t].failed;
    }
    return (double)*total / ((double)(clock_mono_ns() - t0) / 1e9);
}

int main(int argc, char **argv)
{
    struct bench b = {.seconds = argc > 1 ? atof(argv[1]) : 2.0};
    const char *parent = argc > 2 ? argv[2] : "/tmp";
    char base[256], data[300];
    struct err e;
    if (b.seconds <= 0 || b.seconds > 60) {
        fprintf(stderr, "usage: store_write [seconds per run, default 2] [parent folder]\n");
        return 2;
    }
    snprintf(base, sizeof base, "%s/cityos-bench-XXXXXX", parent);
    if (mkdtemp(base) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(data, sizeof data, "%s/data", base);
    log_set_level(LOGL_WARN);
    struct store_options o = {.data_dir = data};
    if (store_open(&b.s, &o, &e) != 0) {
        fprintf(stderr, "store_open: %s\n", e.msg);
        return 1;
    }
    const struct store_metrics *m = store_metrics(b.s);
    printf("cityos store benchmark: SQLite %s, WAL, synchronous=FULL, %ld CPUs, data in %s\n",
           sqlite3_libversion(), sysconf(_SC_NPROCESSORS_ONLN), parent);
    printf("%d runs of %.1f s each; medians (min-max of the runs for writes/s)\n\n", RUNS,
           b.seconds);
    printf("%-9s %12s %21s %11s %11s\n", "writers", "writes/s", "(min-max)", "batch size",
           "commit ms");

    for (size_t c = 0; c < sizeof write_threads / sizeof write_threads[0]; c++) {
        double rate[RUNS], batch[RUNS], commit_ms[RUNS];
        b.conc = write_threads[c];
        for (int r = 0; r < RUNS; r++) {
            long total, failed;
            uint64_t n0 = atomic_load(&m->batch_size.count);
            uint64_t s0 = atomic_load(&m->batch_size.sum_micro);
            uint64_t cn0 = atomic_load(&m->commit_seconds.count);
            uint64_t cs0 = atomic_load(&m->commit_seconds.sum_micro);
            b.run = r;
            rate[r] = run_threads(&b, b.conc, write_worker, &total, &failed);
            if (failed > 0)
                fprintf(stderr, "%ld writes failed\n", failed);
            if (b.conc == 1 && r == 0)
                b.ids_c1 = total;
            uint64_t n = atomic_load(&m->batch_size.count) - n0;
            uint64_t cn = atomic_load(&m->commit_seconds.count) - cn0;
            batch[r] = n ? (double)(atomic_load(&m->batch_size.sum_micro) - s0) / 1e6 / n : 0;
            commit_ms[r] =
                cn ? (double)(atomic_load(&m->commit_seconds.sum_micro) - cs0) / 1e3 / cn : 0;
        }
        double lo = rate[0], hi = rate[0];
        for (int r = 1; r < RUNS; r++) {
            lo = rate[r] < lo ? rate[r] : lo;
            hi = rate[r] > hi ? rate[r] : hi;
        }
        double med = bench_median(rate, RUNS);
        printf("%-9d %12.0f %10.0f-%-10.0f %11.1f %11.2f\n", b.conc, med, lo, hi,
               bench_median(batch, RUNS), bench_median(commit_ms, RUNS));
        fflush(stdout);
    }

    long rows = 0;
    if (store_query(b.s, "SELECT count(*) FROM notice", NULL, 0, count_fn, &rows, &e) != 0)
        fprintf(stderr, "count: %s\n", e.msg);
    printf("\n%-9s %12s %21s   (SELECT doc FROM notice WHERE id = ?, %ld rows)\n", "readers",
           "reads/s", "(min-max)", rows);
    for (size_t c = 0; c < sizeof read_threads / sizeof read_threads[0]; c++) {
        double rate[RUNS];
        for (int r = 0; r < RUNS; r++) {
            long total, failed;
            rate[r] = run_threads(&b, read_threads[c], read_worker, &total, &failed);
            if (failed > 0)
                fprintf(stderr, "%ld reads failed\n", failed);
        }
        double lo = rate[0], hi = rate[0];
        for (int r = 1; r < RUNS; r++) {
            lo = rate[r] < lo ? rate[r] : lo;
            hi = rate[r] > hi ? rate[r] : hi;
        }
        double med = bench_median(rate, RUNS);
        printf("%-9d %12.0f %10.0f-%-10.0f\n", read_threads[c], med, lo, hi);
        fflush(stdout);
    }
    store_close(b.s);
    bench_rm_data(base, data);
    return 0;
}
