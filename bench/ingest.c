/* ingest.c - the MQTT ingest benchmark's driver (bench/ingest.sh runs it; see bench/README.md):
 *
 *   ingest seed DATA_DIR DEVICES
 *       binds DEVICES wrist monitors to the demo persona 会津 太郎 (rows only, as the device API
 *       would, without broker accounts: the bench publishes through one test account)
 *   ingest run DATA_DIR PORT USER PASSWORD DEVICES READINGS INFLIGHT
 *       one MQTT connection per device, each publishing READINGS blood-pressure readings at QoS 1
 *       (at most INFLIGHT unacknowledged per connection) on its device's topic, as fast as the
 *       broker takes them; prints when the broker acknowledged the last one and when the last
 *       one was durable in cityos' store (ingest_reading rows, read from DATA_DIR), and the
 *       sustained rate between 10% and 90% of the readings stored.
 *   ingest direct DATA_DIR THREADS DEVICES READINGS
 *       no broker: THREADS threads call ingest_handle() (what each MQTT connection's on_message
 *       does) on the bench devices' readings, in process: cityos' own capacity.
 */
#include <mosquitto.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/ids.h"
#include "consent/index.h"
#include "identity/device.h"
#include "ingest/ingest.h"
#include "store/store.h"

#define TARO_EMAIL "taro.aizu@example.jp"

static double now_s(void)
{
    return (double)clock_mono_ns() / 1e9;
}

/* ---- seed ---- */

static int read_text(const struct store_row *r, void *ctx)
{
    snprintf(ctx, 64, "%s", store_row_text(r, 0, NULL));
    return 1;
}

struct seed {
    const char *subject;
    int n;
};

static int seed_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct seed *s = ctx;
    for (int i = 0; i < s->n; i++) {
        struct id_device_new d = {.subject_id = s->subject,
                                  .registered_by = s->subject,
                                  .kind = "bp-wrist",
                                  .display = "bench wrist monitor",
                                  .now_ms = clock_now_ms()};
        int rc = id_device_check(&d, e);
        if (rc == 0)
            rc = id_device_insert_tx(tx, &d, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int seed(const char *dir, int n)
{
    struct store *s = NULL;
    struct err e = {0};
    struct store_options o = {.data_dir = dir};
    if (ids_init() != 0 || store_open(&s, &o, &e) != 0) {
        fprintf(stderr, "ingest seed: %s\n", e.msg);
        return 1;
    }
    char subject[64] = "";
    struct store_value p[] = {STORE_TEXT_V(TARO_EMAIL)};
    store_query(s, "SELECT id FROM person WHERE email = ?", p, 1, read_text, subject, &e);
    if (subject[0] == '\0') {
        fprintf(stderr, "ingest seed: no %s in %s (run cityos demo first)\n", TARO_EMAIL, dir);
        store_close(s);
        return 1;
    }
    struct seed sd = {subject, n};
    int rc = store_write(s, seed_fn, &sd, &e);
    if (rc != 0)
        fprintf(stderr, "ingest seed: %s\n", e.msg);
    store_close(s);
    return rc != 0;
}

/* ---- run ---- */

struct dev {
    char id[IDS_LEN + 1];
    char topic[96];
    struct mosquitto *m;
    pthread_mutex_t mu; /* sent: the main thread starts, the network thread goes on */
    int sent;
    _Atomic int acked;
    _Atomic int connected;
};

static struct dev *devs;
static int ndev, per_dev, inflight;
static _Atomic long acked_total;
static long total;
static double t_acked;

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
    (void)m;
    struct dev *d = ud;
    if (rc == 0)
        atomic_store(&d->connected, 1);
    else
        fprintf(stderr, "ingest run: %s refused: %s\n", d->id, mosquitto_connack_string(rc));
}

static void publish_next(struct dev *d)
{
    pthread_mutex_lock(&d->mu);
    if (d->sent >= per_dev) {
        pthread_mutex_unlock(&d->mu);
        return;
    }
    /* readings one second apart, ending a minute ago, distinct per device */
    time_t t = time(NULL) - 60 - (per_dev - d->sent) + 9 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    char ts[40], msg[128];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S+09:00", &tm);
    int n = snprintf(msg, sizeof msg, "{\"t\":\"%s\",\"sys\":%d,\"dia\":%d,\"pulse\":%d}", ts,
                     110 + d->sent % 60, 70 + d->sent % 20, 60 + d->sent % 30);
    d->sent++;
    pthread_mutex_unlock(&d->mu);
    int rc = mosquitto_publish(d->m, NULL, d->topic, n, msg, 1, false);
    if (rc != MOSQ_ERR_SUCCESS)
        fprintf(stderr, "ingest run: publish: %s\n", mosquitto_strerror(rc));
}

static void on_publish(struct mosquitto *m, void *ud, int mid)
{
    (void)m;
    (void)mid;
    struct dev *d = ud;
    atomic_fetch_add(&d->acked, 1);
    if (atomic_fetch_add(&acked_total, 1) + 1 == total)
        t_acked = now_s();
    publish_next(d); /* keeps INFLIGHT in flight: one out for each one acknowledged */
}

static int read_count(void *ctx, int ncol, char **vals, char **names)
{
    (void)names;
    if (ncol > 0 && vals[0] != NULL)
        *(long *)ctx = atol(vals[0]);
    return 0;
}

static long stored(sqlite3 *db)
{
    long n = -1;
    sqlite3_exec(db, "SELECT COUNT(*) FROM ingest_reading", read_count, &n, NULL);
    return n;
}

static int device_row(void *ctx, int ncol, char **vals, char **names)
{
    (void)ctx;
    (void)names;
    if (ncol > 0 && vals[0] != NULL && ndev < *(int *)ctx) {
        snprintf(devs[ndev].id, sizeof devs[ndev].id, "%s", vals[0]);
        ndev++;
    }
    return 0;
}

static int run(char **argv)
{
    const char *dir = argv[0], *user = argv[2], *pass = argv[3];
    int port = atoi(argv[1]), want = atoi(argv[4]);
    per_dev = atoi(argv[5]);
    inflight = atoi(argv[6]);
    if (want < 1 || per_dev < 1 || inflight < 1)
        return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/cityos.db", dir);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return 1;
    sqlite3_busy_timeout(db, 5000);
    devs = calloc((size_t)want, sizeof *devs);
    sqlite3_exec(db, "SELECT id FROM device WHERE display = 'bench wrist monitor' ORDER BY id",
                 device_row, &want, NULL);
    if (ndev < want) {
        fprintf(stderr, "ingest run: %d bench devices, want %d (ingest seed first)\n", ndev, want);
        return 1;
    }
    long base = stored(db);
    total = (long)ndev * per_dev;
    mosquitto_lib_init();
    for (int i = 0; i < ndev; i++) {
        struct dev *d = &devs[i];
        pthread_mutex_init(&d->mu, NULL);
        snprintf(d->topic, sizeof d->topic, "cityos/v1/devices/%s/readings", d->id);
        char cid[64];
        snprintf(cid, sizeof cid, "bench-%d", i);
        d->m = mosquitto_new(cid, true, d);
        mosquitto_int_option(d->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_username_pw_set(d->m, user, pass);
        mosquitto_max_inflight_messages_set(d->m, (unsigned)inflight);
        mosquitto_connect_callback_set(d->m, on_connect);
        mosquitto_publish_callback_set(d->m, on_publish);
        if (mosquitto_connect(d->m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS ||
            mosquitto_loop_start(d->m) != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "ingest run: cannot connect device %d\n", i);
            return 1;
        }
    }
    for (int i = 0; i < ndev; i++)
        while (!atomic_load(&devs[i].connected))
            nanosleep(&(struct timespec){0, 1000000L}, NULL);
    double t0 = now_s(), t10 = 0, t90 = 0, tend = 0;
    for (int i = 0; i < ndev; i++)
        for (int k = 0; k < inflight; k++)
            publish_next(&devs[i]);
    long last = 0;
    double last_change = t0;
    for (;;) {
        nanosleep(&(struct timespec){0, 50000000L}, NULL);
        long n = stored(db) - base;
        double t = now_s();
        if (t10 == 0 && n >= total / 10)
            t10 = t;
        if (t90 == 0 && n >= total * 9 / 10)
            t90 = t;
        if (n >= total) {
            tend = t;
            break;
        }
        if (n != last) {
            last = n;
            last_change = t;
        } else if (t - last_change > 30) {
            fprintf(stderr, "ingest run: stalled at %ld of %ld stored\n", n, total);
            break;
        }
    }
    long n = stored(db) - base;
    printf("devices %d, readings %ld (%d each), inflight %d per device\n", ndev, total, per_dev,
           inflight);
    printf("broker acknowledged all: %.2f s (%.0f readings/s)\n", t_acked > 0 ? t_acked - t0 : -1,
           t_acked > 0 ? (double)total / (t_acked - t0) : 0);
    printf("stored (durable in cityos): %ld of %ld in %.2f s: %.0f readings/s end to end\n", n,
           total, tend > 0 ? tend - t0 : -1, tend > 0 ? (double)total / (tend - t0) : 0);
    if (t90 > t10)
        printf("sustained (10%% -> 90%% stored): %.0f readings/s\n",
               (double)(total * 8 / 10) / (t90 - t10));
    for (int i = 0; i < ndev; i++) {
        mosquitto_disconnect(devs[i].m);
        mosquitto_loop_stop(devs[i].m, false);
        mosquitto_destroy(devs[i].m);
    }
    sqlite3_close(db);
    free(devs);
    return n == total ? 0 : 1;
}

/* ---- direct ---- */

struct worker {
    struct store *s;
    int first, n; /* devices [first, first + n) */
    long ok;
};

static void *direct_worker(void *arg)
{
    struct worker *w = arg;
    for (int k = 0; k < per_dev; k++)
        for (int i = w->first; i < w->first + w->n; i++) {
            time_t t = time(NULL) - 60 - (per_dev - k) + 9 * 3600;
            struct tm tm;
            gmtime_r(&t, &tm);
            char ts[40], msg[128], topic[96];
            strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S+09:00", &tm);
            int len = snprintf(msg, sizeof msg, "{\"t\":\"%s\",\"sys\":%d,\"dia\":%d}", ts,
                               110 + k % 60, 70 + k % 20);
            snprintf(topic, sizeof topic, "cityos/v1/devices/%s/readings", devs[i].id);
            struct err e = {0};
            if (ingest_handle(w->s, topic, msg, (size_t)len, &e) == INGEST_STORED)
                w->ok++;
            else if (w->ok == 0)
                fprintf(stderr, "ingest direct: %s\n", e.msg);
        }
    return NULL;
}

static int direct(char **argv)
{
    const char *dir = argv[0];
    int threads = atoi(argv[1]), want = atoi(argv[2]);
    per_dev = atoi(argv[3]);
    if (threads < 1 || want < threads || per_dev < 1)
        return 2;
    struct store *s = NULL;
    struct err e = {0};
    struct store_options o = {.data_dir = dir};
    if (ids_init() != 0 || store_open(&s, &o, &e) != 0 || consent_index_open_global(s, &e) != 0) {
        fprintf(stderr, "ingest direct: %s\n", e.msg);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/cityos.db", dir);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return 1;
    devs = calloc((size_t)want, sizeof *devs);
    sqlite3_exec(db, "SELECT id FROM device WHERE display = 'bench wrist monitor' ORDER BY id",
                 device_row, &want, NULL);
    sqlite3_close(db);
    if (ndev < want)
        return 1;
    pthread_t th[256];
    struct worker w[256];
    if (threads > 256)
        threads = 256;
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){.s = s, .first = i * (ndev / threads), .n = ndev / threads};
        pthread_create(&th[i], NULL, direct_worker, &w[i]);
    }
    long ok = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
    }
    double dt = now_s() - t0;
    const struct store_metrics *m = store_metrics(s);
    double batches = (double)atomic_load(&m->batch_size.count);
    printf("direct: %d threads, %ld readings stored in %.2f s: %.0f readings/s; %.0f batches, "
           "%.1f writes each, commit %.2f ms each\n",
           threads, ok, dt, (double)ok / dt, batches,
           batches > 0 ? (double)atomic_load(&m->batch_size.sum_micro) / 1e6 / batches : 0,
           batches > 0 ? (double)atomic_load(&m->commit_seconds.sum_micro) / 1e3 / batches : 0);
    consent_index_close_global();
    store_close(s);
    free(devs);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "direct") == 0)
        return direct(argv + 2);
    if (argc == 4 && strcmp(argv[1], "seed") == 0)
        return seed(argv[2], atoi(argv[3]));
    if (argc == 9 && strcmp(argv[1], "run") == 0)
        return run(argv + 2);
    fprintf(stderr, "usage: ingest seed DATA_DIR DEVICES\n"
                    "       ingest run DATA_DIR PORT USER PASSWORD DEVICES READINGS INFLIGHT\n"
                    "       ingest direct DATA_DIR THREADS DEVICES READINGS\n");
    return 2;
}
