/* ingest.c - the MQTT ingest benchmark's driver (bench/ingest.sh runs it; see bench/README.md):
 *
 *   ingest seed DATA_DIR DEVICES [SUBJECT]
 *       binds DEVICES wrist monitors (the load) to the demo's people other than 会津 太郎, round
 *       robin (SUBJECT "taro": all to him), and PROBES (4) wrist monitors to 会津 太郎, whose
 *       demo consents let the home doctor read his vitals and write his alerts (rows only, as
 *       the device API would, without broker accounts: the bench publishes through one test
 *       account)
 *   ingest run DATA_DIR PORT USER PASSWORD DEVICES READINGS INFLIGHT
 *       first, a probe monitor publishes 10 days of 会津 太郎's readings (2 a day, grade II home
 *       hypertension) ending yesterday; then one MQTT connection per load device, each
 *       publishing READINGS blood-pressure readings at QoS 1 (at most INFLIGHT unacknowledged
 *       per connection) on its device's topic, as fast as the broker takes them; prints when
 *       the broker acknowledged the last one and when the last one was durable in cityos' store
 *       (ingest_reading rows, read from DATA_DIR), and the sustained rate between 10% and 90%
 *       of the readings stored. Meanwhile the probes publish one reading of 会津 太郎 every
 *       250 ms (times of now): the reading-to-alert latency is from its publish to the moment
 *       the home doctor's RiskAssessment whose basis names its Observation is in the store
 *       (polled every 10 ms), p50/p99 over the probes published while the load ran. With RATE
 *       set (environment), the load is offered at RATE readings/s in all (open loop) instead of
 *       as fast as acknowledged: latency is meaningful below the capacity, where no queue grows.
 *   ingest direct DATA_DIR THREADS DEVICES READINGS
 *       no broker: THREADS threads call ingest_handle() (what each MQTT connection's on_message
 *       does) on the bench devices' readings, in process: cityos' own capacity.
 *
 * With CITYOS_DATABASE_URL set (as for cityos itself), every command uses that PostgreSQL
 * database instead of DATA_DIR/cityos.db: the store through store_open(), the driver's own
 * read-only polling through libpq.
 */
#include <libpq-fe.h>
#include <mosquitto.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/resource.h>
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

#define PROBES     4
#define PEOPLE_MAX 64

struct seed {
    const char *subject; /* 会津 太郎 */
    char people[PEOPLE_MAX][64];
    int npeople; /* the load's citizens */
    int n;
};

static int read_person(const struct store_row *r, void *ctx)
{
    struct seed *sd = ctx;
    if (sd->npeople < PEOPLE_MAX)
        snprintf(sd->people[sd->npeople++], 64, "%s", store_row_text(r, 0, NULL));
    return 0;
}

static int seed_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct seed *s = ctx;
    for (int i = 0; i < s->n + PROBES; i++) {
        int probe = i >= s->n;
        const char *who = probe ? s->subject : s->people[i % s->npeople];
        struct id_device_new d = {.subject_id = who,
                                  .registered_by = who,
                                  .kind = "bp-wrist",
                                  .display = probe ? "bench probe monitor" : "bench wrist monitor",
                                  .now_ms = clock_now_ms()};
        int rc = id_device_check(&d, e);
        if (rc == 0)
            rc = id_device_insert_tx(tx, &d, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int seed(const char *dir, int n, const char *load_subject)
{
    struct store *s = NULL;
    struct err e = {0};
    struct store_options o = {.data_dir = dir, .database_url = getenv("CITYOS_DATABASE_URL")};
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
    static struct seed sd;
    sd.subject = subject;
    sd.n = n;
    if (strcmp(load_subject, "taro") == 0) {
        snprintf(sd.people[0], 64, "%s", subject);
        sd.npeople = 1;
    } else {
        store_query(s, "SELECT id FROM person WHERE id <> ? ORDER BY id",
                    (struct store_value[]){STORE_TEXT_V(subject)}, 1, read_person, &sd, &e);
    }
    if (sd.npeople == 0) {
        fprintf(stderr, "ingest seed: no other people in %s\n", dir);
        store_close(s);
        return 1;
    }
    int rc = store_write(s, seed_fn, &sd, &e);
    if (rc != 0)
        fprintf(stderr, "ingest seed: %s\n", e.msg);
    store_close(s);
    return rc != 0;
}

/* ---- the driver's own read-only view of cityos' database, beside the server ---- */

/* SQLite's file in DATA_DIR, or the PostgreSQL database CITYOS_DATABASE_URL names. The SQL
 * given is portable (both dialects) and built from the driver's own ids. */
struct rdb {
    sqlite3 *lite;
    PGconn *pg;
};

typedef int (*rdb_row_fn)(void *ctx, int ncol, char **vals, char **names);

static int rdb_open(struct rdb *d, const char *dir)
{
    const char *url = getenv("CITYOS_DATABASE_URL");
    *d = (struct rdb){0};
    if (url != NULL && url[0] != '\0') {
        /* named, so that bench/ingest.sh leaves this polling out of the server's CPU */
        const char *const keys[] = {"dbname", "application_name", NULL};
        const char *const vals[] = {url, "cityos-bench-ingest", NULL};
        d->pg = PQconnectdbParams(keys, vals, 1);
        if (PQstatus(d->pg) != CONNECTION_OK) {
            fprintf(stderr, "ingest: %s", PQerrorMessage(d->pg));
            PQfinish(d->pg);
            d->pg = NULL;
            return 1;
        }
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/cityos.db", dir);
    if (sqlite3_open_v2(path, &d->lite, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "ingest: cannot open %s\n", path);
        sqlite3_close(d->lite);
        d->lite = NULL;
        return 1;
    }
    sqlite3_busy_timeout(d->lite, 5000);
    return 0;
}

/* The SQLite polling's prepared statements (probes_poll_lite, stored) and where each resumes. */
static struct {
    sqlite3_stmt *obs, *ra;
    sqlite3_int64 ra_rowid; /* the highest RiskAssessment rowid looked at */
} lite_poll;
static struct {
    sqlite3_stmt *st;
    long n;              /* load readings counted so far */
    sqlite3_int64 rowid; /* the highest ingest_reading rowid counted */
} lite_stored;

static void rdb_close(struct rdb *d)
{
    if (d->pg != NULL)
        PQfinish(d->pg);
    if (d->lite != NULL) {
        sqlite3_finalize(lite_poll.obs);
        sqlite3_finalize(lite_poll.ra);
        sqlite3_finalize(lite_stored.st);
        memset(&lite_poll, 0, sizeof lite_poll);
        memset(&lite_stored, 0, sizeof lite_stored);
        sqlite3_close(d->lite);
    }
    *d = (struct rdb){0};
}

/* Runs sql, calling fn for each row as sqlite3_exec does (a non-zero return stops). */
static void rdb_exec(struct rdb *d, const char *sql, rdb_row_fn fn, void *ctx)
{
    if (d->lite != NULL) {
        sqlite3_exec(d->lite, sql, fn, ctx, NULL);
        return;
    }
    PGresult *r = PQexec(d->pg, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "ingest: %s", PQerrorMessage(d->pg));
        PQclear(r);
        return;
    }
    int nrow = PQntuples(r), ncol = PQnfields(r);
    char *vals[8], *names[8];
    if (ncol > 8)
        ncol = 8;
    for (int i = 0; i < ncol; i++)
        names[i] = PQfname(r, i);
    for (int row = 0; row < nrow; row++) {
        for (int i = 0; i < ncol; i++)
            vals[i] = PQgetisnull(r, row, i) ? NULL : PQgetvalue(r, row, i);
        if (fn(ctx, ncol, vals, names) != 0)
            break;
    }
    PQclear(r);
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
static double rate; /* readings/s offered in all (RATE); 0: as fast as the broker takes them */
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
    if (rate <= 0)
        publish_next(d); /* keeps INFLIGHT in flight: one out for each one acknowledged */
}

/* RATE: publishes rate readings a second in all, round robin over the devices (a device whose
 * INFLIGHT window is full queues it in libmosquitto). */
static void *pacer_main(void *arg)
{
    (void)arg;
    double t0 = now_s();
    long sent = 0;
    while (sent < total) {
        long due = (long)((now_s() - t0) * rate);
        for (; sent < due && sent < total; sent++)
            publish_next(&devs[sent % ndev]);
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    }
    return NULL;
}

/* ---- the probes: 会津 太郎's readings, and when the home doctor's assessment names each ---- */

#define PROBE_MAX 4096

struct probe {
    int dev;         /* index into probe_ids */
    int64_t time_ms; /* its measurement time (the duplicate key) */
    double t_pub;    /* publish, monotonic */
    double t_alert;  /* its RiskAssessment seen; 0: not yet */
    char obs[64];    /* its Observation id once stored */
};

static char probe_ids[PROBES][IDS_LEN + 1];
static int nprobe_dev;
static struct mosquitto *probe_m;
static struct probe probes[PROBE_MAX];
static _Atomic int nprobes;
static _Atomic int probe_stop;
static _Atomic long probe_acked;

static void probe_on_publish(struct mosquitto *m, void *ud, int mid)
{
    (void)m;
    (void)ud;
    (void)mid;
    atomic_fetch_add(&probe_acked, 1);
}

static int probe_publish(int dev, time_t t, int sys, int dia)
{
    time_t local = t + 9 * 3600;
    struct tm tm;
    gmtime_r(&local, &tm);
    char ts[40], msg[128], topic[96];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S+09:00", &tm);
    int n = snprintf(msg, sizeof msg, "{\"t\":\"%s\",\"sys\":%d,\"dia\":%d,\"pulse\":%d}", ts, sys,
                     dia, 76);
    snprintf(topic, sizeof topic, "cityos/v1/devices/%s/readings", probe_ids[dev]);
    return mosquitto_publish(probe_m, NULL, topic, n, msg, 1, false);
}

/* One reading of 会津 太郎 every 250 ms, each probe device once a second (distinct times). */
static void *probe_main(void *arg)
{
    (void)arg;
    time_t last[PROBES] = {0};
    for (int k = 0; !atomic_load(&probe_stop) && atomic_load(&nprobes) < PROBE_MAX; k++) {
        int dev = k % nprobe_dev;
        time_t t = time(NULL);
        if (t > last[dev]) {
            struct probe *p = &probes[atomic_load(&nprobes)];
            p->dev = dev;
            p->time_ms = (int64_t)t * 1000;
            p->t_pub = now_s();
            if (probe_publish(dev, t, 172, 106) == MOSQ_ERR_SUCCESS) {
                last[dev] = t;
                atomic_fetch_add(&nprobes, 1);
            }
        }
        nanosleep(&(struct timespec){0, 250000000L}, NULL);
    }
    return NULL;
}

static int read_text_cb(void *ctx, int ncol, char **vals, char **names)
{
    (void)names;
    if (ncol > 0 && vals[0] != NULL)
        snprintf(ctx, 64, "%s", vals[0]);
    return 0;
}

/* SQLite: the new RiskAssessments since the last poll, by rowid (the home doctor only creates
 * them, and cityos' single writer gives new rows rising rowids in commit order), each matched
 * against the probes still waiting. One read transaction and prepared statements per poll: the
 * driver shares the 2 cores with what it measures, so its polling must stay cheap (it was a
 * query per waiting probe every 10 ms, parsed each time, with a scan of every assessment's
 * body: 0.15-0.7 ms of the driver's CPU per reading). */

static void probes_poll_lite(sqlite3 *db, int n)
{
    if (lite_poll.obs == NULL &&
        (sqlite3_prepare_v2(db,
                            "SELECT resource_id FROM ingest_reading WHERE device_id = ? AND "
                            "time_ms = ?",
                            -1, &lite_poll.obs, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(db,
                            "SELECT rowid, body FROM fhir_resource WHERE rowid > ? AND "
                            "rtype = 'RiskAssessment'",
                            -1, &lite_poll.ra, NULL) != SQLITE_OK)) {
        fprintf(stderr, "ingest run: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return;
    int open = 0;
    for (int i = 0; i < n; i++) {
        struct probe *p = &probes[i];
        if (p->t_alert > 0 || p->obs[0] != '\0')
            continue;
        sqlite3_bind_text(lite_poll.obs, 1, probe_ids[p->dev], -1, SQLITE_STATIC);
        sqlite3_bind_int64(lite_poll.obs, 2, p->time_ms);
        if (sqlite3_step(lite_poll.obs) == SQLITE_ROW &&
            sqlite3_column_text(lite_poll.obs, 0) != NULL)
            snprintf(p->obs, sizeof p->obs, "%s",
                     (const char *)sqlite3_column_text(lite_poll.obs, 0));
        sqlite3_reset(lite_poll.obs);
    }
    for (int i = 0; i < n; i++)
        open += probes[i].t_alert == 0 && probes[i].obs[0] != '\0';
    sqlite3_bind_int64(lite_poll.ra, 1, lite_poll.ra_rowid);
    while (sqlite3_step(lite_poll.ra) == SQLITE_ROW) {
        lite_poll.ra_rowid = sqlite3_column_int64(lite_poll.ra, 0);
        const char *body = (const char *)sqlite3_column_text(lite_poll.ra, 1);
        for (int i = 0; open > 0 && body != NULL && i < n; i++) {
            struct probe *p = &probes[i];
            char needle[96];
            if (p->t_alert == 0 && p->obs[0] != '\0' &&
                snprintf(needle, sizeof needle, "Observation/%s", p->obs) > 0 &&
                strstr(body, needle) != NULL) {
                p->t_alert = now_s();
                open--;
            }
        }
    }
    sqlite3_reset(lite_poll.ra);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}

/* Looks for the assessments of the probes not yet seen. */
static void probes_poll(struct rdb *db, int n)
{
    if (db->lite != NULL) {
        probes_poll_lite(db->lite, n);
        return;
    }
    for (int i = 0; i < n; i++) {
        struct probe *p = &probes[i];
        if (p->t_alert > 0)
            continue;
        char sql[512];
        if (p->obs[0] == '\0') {
            snprintf(sql, sizeof sql,
                     "SELECT resource_id FROM ingest_reading WHERE device_id = '%s' AND "
                     "time_ms = %lld",
                     probe_ids[p->dev], (long long)p->time_ms);
            rdb_exec(db, sql, read_text_cb, p->obs);
            if (p->obs[0] == '\0')
                continue;
        }
        char hit[64] = "";
        snprintf(sql, sizeof sql,
                 "SELECT id FROM fhir_resource WHERE rtype = 'RiskAssessment' AND "
                 "body LIKE '%%Observation/%s%%' LIMIT 1",
                 p->obs);
        rdb_exec(db, sql, read_text_cb, hit);
        if (hit[0] != '\0')
            p->t_alert = now_s();
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void probes_report(int n)
{
    double *lat = calloc((size_t)n + 1, sizeof *lat);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (probes[i].t_alert > 0)
            lat[k++] = (probes[i].t_alert - probes[i].t_pub) * 1000;
    qsort(lat, (size_t)k, sizeof *lat, cmp_double);
    if (k == 0)
        printf("reading-to-alert: %d probes, no assessment seen for any\n", n);
    else
        printf("reading-to-alert (publish -> RiskAssessment naming it stored): %d of %d probes, "
               "p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
               k, n, lat[(k - 1) / 2], lat[(int)((k - 1) * 0.99)], lat[k - 1]);
    free(lat);
}

static int probe_row(void *ctx, int ncol, char **vals, char **names)
{
    (void)ctx;
    (void)names;
    if (ncol > 0 && vals[0] != NULL && nprobe_dev < PROBES)
        snprintf(probe_ids[nprobe_dev++], IDS_LEN + 1, "%s", vals[0]);
    return 0;
}

/* 10 days of 会津 太郎's readings ending yesterday, 07:00 and 19:00 local: the history the home
 * doctor's 7-day category needs. Waits until they are stored. */
static int probes_history(struct rdb *db, const char *user, const char *pass, int port)
{
    probe_m = mosquitto_new("bench-probe", true, NULL);
    mosquitto_int_option(probe_m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_username_pw_set(probe_m, user, pass);
    mosquitto_publish_callback_set(probe_m, probe_on_publish);
    if (mosquitto_connect(probe_m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(probe_m) != MOSQ_ERR_SUCCESS)
        return 1;
    time_t now = time(NULL);
    time_t today = (now + 9 * 3600) / 86400 * 86400 - 9 * 3600; /* local midnight */
    int sent = 0;
    for (int d = 10; d >= 1; d--)
        for (int h = 0; h < 2; h++, sent++)
            if (probe_publish(0, today - (time_t)d * 86400 + (h ? 19 : 7) * 3600, 166 + d % 4,
                              102 + h) != MOSQ_ERR_SUCCESS)
                return 1;
    char sql[256], got[64];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM ingest_reading WHERE device_id = '%s'",
             probe_ids[0]);
    for (int i = 0; i < 600; i++) {
        got[0] = '\0';
        rdb_exec(db, sql, read_text_cb, got);
        if (atol(got) >= sent)
            return 0;
        nanosleep(&(struct timespec){0, 50000000L}, NULL);
    }
    fprintf(stderr, "ingest run: the probe history was not stored\n");
    return 1;
}

static int read_count(void *ctx, int ncol, char **vals, char **names)
{
    (void)names;
    if (ncol > 0 && vals[0] != NULL)
        *(long *)ctx = atol(vals[0]);
    return 0;
}

/* SQLite: the count so far plus the rows with a higher rowid than the last seen (cityos' single
 * writer gives new rows rising rowids in commit order), instead of counting the whole table every
 * 50 ms (a join over every reading stored: it grew with the run). */

static long stored(struct rdb *db)
{
    if (db->lite != NULL) {
        sqlite3_stmt **st = &lite_stored.st;
        if (*st == NULL &&
            sqlite3_prepare_v2(db->lite,
                               "SELECT COALESCE(SUM(d.display = 'bench wrist monitor'), 0), "
                               "MAX(r.rowid) FROM ingest_reading r JOIN device d ON d.id = "
                               "r.device_id WHERE r.rowid > ?",
                               -1, st, NULL) != SQLITE_OK)
            return -1;
        sqlite3_bind_int64(*st, 1, lite_stored.rowid);
        if (sqlite3_step(*st) == SQLITE_ROW && sqlite3_column_type(*st, 1) != SQLITE_NULL) {
            lite_stored.n += (long)sqlite3_column_int64(*st, 0);
            lite_stored.rowid = sqlite3_column_int64(*st, 1);
        }
        sqlite3_reset(*st);
        return lite_stored.n;
    }
    long n = -1;
    rdb_exec(db,
             "SELECT COUNT(*) FROM ingest_reading r JOIN device d ON d.id = r.device_id "
             "WHERE d.display = 'bench wrist monitor'",
             read_count, &n);
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
    rate = getenv("RATE") != NULL ? atof(getenv("RATE")) : 0;
    struct rdb rdb, *db = &rdb;
    if (rdb_open(db, dir) != 0)
        return 1;
    devs = calloc((size_t)want, sizeof *devs);
    rdb_exec(db, "SELECT id FROM device WHERE display = 'bench wrist monitor' ORDER BY id",
             device_row, &want);
    if (ndev < want) {
        fprintf(stderr, "ingest run: %d bench devices, want %d (ingest seed first)\n", ndev, want);
        return 1;
    }
    rdb_exec(db, "SELECT id FROM device WHERE display = 'bench probe monitor' ORDER BY id",
             probe_row, NULL);
    mosquitto_lib_init();
    if (nprobe_dev > 0 && probes_history(db, user, pass, port) != 0)
        return 1;
    long base = stored(db);
    total = (long)ndev * per_dev;
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
    pthread_t pth;
    int probing = nprobe_dev > 0 && pthread_create(&pth, NULL, probe_main, NULL) == 0;
    pthread_t pacer;
    if (rate > 0) {
        if (pthread_create(&pacer, NULL, pacer_main, NULL) != 0)
            return 1;
        pthread_detach(pacer);
    } else {
        for (int i = 0; i < ndev; i++)
            for (int k = 0; k < inflight; k++)
                publish_next(&devs[i]);
    }
    long last = 0;
    double last_change = t0;
    for (int tick = 0;; tick++) {
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
        if (probing)
            probes_poll(db, atomic_load(&nprobes));
        if (tick % 5 != 0)
            continue;
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
    int np = 0;
    if (probing) {
        atomic_store(&probe_stop, 1);
        pthread_join(pth, NULL);
        np = atomic_load(&nprobes);
        /* the probes published while the load ran: give their assessments 10 s more */
        for (int i = 0; i < 1000; i++) {
            probes_poll(db, np);
            int open = 0;
            for (int k = 0; k < np; k++)
                open += probes[k].t_alert == 0;
            if (open == 0)
                break;
            nanosleep(&(struct timespec){0, 10000000L}, NULL);
        }
    }
    long n = stored(db) - base;
    printf("devices %d, readings %ld (%d each), inflight %d per device, offered %s\n", ndev, total,
           per_dev, inflight, rate > 0 ? getenv("RATE") : "as fast as acknowledged");
    printf("broker acknowledged all: %.2f s (%.0f readings/s)\n", t_acked > 0 ? t_acked - t0 : -1,
           t_acked > 0 ? (double)total / (t_acked - t0) : 0);
    printf("stored (durable in cityos): %ld of %ld in %.2f s: %.0f readings/s end to end\n", n,
           total, tend > 0 ? tend - t0 : -1, tend > 0 ? (double)total / (tend - t0) : 0);
    if (t90 > t10)
        printf("sustained (10%% -> 90%% stored): %.0f readings/s\n",
               (double)(total * 8 / 10) / (t90 - t10));
    if (probing)
        probes_report(np);
    if (probe_m != NULL) {
        mosquitto_disconnect(probe_m);
        mosquitto_loop_stop(probe_m, false);
        mosquitto_destroy(probe_m);
    }
    for (int i = 0; i < ndev; i++) {
        mosquitto_disconnect(devs[i].m);
        mosquitto_loop_stop(devs[i].m, false);
        mosquitto_destroy(devs[i].m);
    }
    rdb_close(db);
    free(devs);
    return n == total ? 0 : 1;
}

/* ---- direct ---- */

static double load_now(void)
{
    double l = 0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &l) != 1)
            l = 0;
        fclose(f);
    }
    return l;
}

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
    struct store_options o = {.data_dir = dir, .database_url = getenv("CITYOS_DATABASE_URL")};
    if (ids_init() != 0 || store_open(&s, &o, &e) != 0 || consent_index_open_global(s, &e) != 0) {
        fprintf(stderr, "ingest direct: %s\n", e.msg);
        return 1;
    }
    struct rdb db;
    if (rdb_open(&db, dir) != 0)
        return 1;
    devs = calloc((size_t)want, sizeof *devs);
    rdb_exec(&db, "SELECT id FROM device WHERE display = 'bench wrist monitor' ORDER BY id",
             device_row, &want);
    rdb_close(&db);
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
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    const struct store_metrics *m = store_metrics(s);
    double batches = (double)atomic_load(&m->batch_size.count);
    printf("direct: %d threads, %ld readings stored in %.2f s: %.0f readings/s; %.0f batches, "
           "%.1f writes each, commit %.2f ms each; CPU %.2f s (%.0f readings per CPU-second); "
           "load %.2f\n",
           threads, ok, dt, (double)ok / dt, batches,
           batches > 0 ? (double)atomic_load(&m->batch_size.sum_micro) / 1e6 / batches : 0,
           batches > 0 ? (double)atomic_load(&m->commit_seconds.sum_micro) / 1e3 / batches : 0, cpu,
           (double)ok / cpu, load_now());
    consent_index_close_global();
    store_close(s);
    free(devs);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "direct") == 0)
        return direct(argv + 2);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "seed") == 0)
        return seed(argv[2], atoi(argv[3]), argc == 5 ? argv[4] : "others");
    if (argc == 9 && strcmp(argv[1], "run") == 0)
        return run(argv + 2);
    fprintf(stderr, "usage: ingest seed DATA_DIR DEVICES [taro|others]\n"
                    "       ingest run DATA_DIR PORT USER PASSWORD DEVICES READINGS INFLIGHT\n"
                    "       ingest direct DATA_DIR THREADS DEVICES READINGS\n");
    return 2;
}
