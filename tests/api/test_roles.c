/* test_roles.c - `cityos serve --role` and the MQTT shared subscription across processes
 * (issue 9 part 4; docs/operations.md "Roles", docs/internals/ingest.md "Several ingest
 * processes"). A real Mosquitto broker, the demo town, and several cityos processes on one data
 * folder (one SQLite file): an api process, one or two ingest processes (each with its own
 * --ingest-client-id, all in the default share group) and a worker.
 *
 * - a --role that is not a set of api, ingest, worker, all is refused at start-up (exit 2);
 * - an api-only process serves the API but takes nothing from the broker: a reading published
 *   while only it runs is stored once an ingest process is back;
 * - N readings of several devices, split between two ingest processes, are stored exactly
 *   once, each process took a share (its /metrics), and the worker's home doctor consumed every
 *   reading's event;
 * - kill -9 of one ingest process in the middle of a stream loses no reading: the other goes on
 *   with its share, and the killed one, started again with the same client ids, resumes its
 *   persistent sessions and stores what the broker kept for them. */
#include "broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_support.h"
#include "oidc_flow.h"

#define CONNS        2 /* MQTT connections per ingest process */
#define TARO_EMAIL   "taro.aizu@example.jp"
#define TARO_PASS    "Minato-Tsuru-7Kq3-Bx9w"
#define APP_REDIRECT "http://127.0.0.1:8765/callback"
#define APP_SCOPE    "openid launch/patient patient/*.rs"

/* ROLES_N readings per device in the kill test (default 200; 100 with CITYOS_SKIP_SLOW_TESTS). */
static long kill_readings(void)
{
    const char *n = getenv("ROLES_N");
    long v = n != NULL ? atol(n) : getenv("CITYOS_SKIP_SLOW_TESTS") != NULL ? 100 : 200;
    return v >= 20 ? v : 20;
}

/* ---- the deployment ---- */

struct deploy {
    struct ingest_fixture f; /* f.s is the api process; f.b the broker; f.dir the data folder */
    int conns;               /* --ingest-connections of the ingest processes (CONNS) */
    struct server *worker;
    struct server *ingest[2];
};

/* A process of the deployment on its data folder: --role=role, the broker's port (every role
 * is given it: the worker's home doctor registers only when there is a broker), the broker's
 * administrator only when with_admin, client ids <client_id>-<i> when client_id is not NULL. */
static struct server *start_role(struct deploy *d, const char *role, const char *client_id,
                                 int with_admin)
{
    char *owned[5];
    const char *args[7];
    int n = 0;
    owned[n++] = str_printf("--role=%s", role);
    owned[n++] = str_printf("--mqtt-port=%d", broker_port(d->f.b));
    owned[n++] = str_printf("--ingest-connections=%d", d->conns > 0 ? d->conns : CONNS);
    if (with_admin)
        owned[n++] =
            str_printf("--mqtt-admin-password-file=%s", broker_admin_password_file(d->f.b));
    if (client_id != NULL)
        owned[n++] = str_printf("--ingest-client-id=%s", client_id);
    for (int i = 0; i < n; i++)
        args[i] = owned[i];
    args[n] = "--threads=2";
    args[n + 1] = NULL;
    struct server *s =
        server_start_with(&(struct server_config){.data_dir = d->f.dir, .args = args});
    for (int i = 0; i < n; i++)
        free(owned[i]);
    return s;
}

/* Waits until every connection of an ingest process (client ids <prefix>-<i>) is subscribed. */
static void wait_subscribed(struct server *s, const char *prefix, int conns)
{
    for (int i = 0; i < conns; i++) {
        char *msg = str_printf("ingest: %s-%d subscribed to $share/cityos-ingest/", prefix, i);
        json_t *line = server_wait_log(s, msg, NULL, NULL, 30000);
        if (line == NULL) {
            server_dump_log(s);
            fail_msg("%s: not seen", msg);
        }
        json_decref(line);
        free(msg);
    }
}

static struct server *start_ingest(struct deploy *d, const char *prefix)
{
    /* no broker administrator: an ingest process signs in with the service secret the api
     * process keeps in the data folder */
    struct server *s = start_role(d, "ingest", prefix, 0);
    wait_subscribed(s, prefix, d->conns > 0 ? d->conns : CONNS);
    return s;
}

/* Broker, demo town, a worker and an api process (in that order: the worker registers the
 * services' clients), 太郎's token from the api process. */
static struct deploy *deploy_start(void)
{
    struct deploy *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->f.b = broker_start();
    d->f.dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=10 --seed=1 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), d->f.dir);
    char *out = run_command(cmd);
    demo_client_id(out, "sample app", d->f.app, sizeof d->f.app);
    free(out);
    free(cmd);
    d->worker = start_role(d, "worker", NULL, 0);
    d->f.s = start_role(d, "api", NULL, 1);
    d->f.t_taro =
        oidc_token(d->f.s, d->f.app, APP_REDIRECT, TARO_EMAIL, TARO_PASS, "self", APP_SCOPE);
    return d;
}

static void deploy_stop(struct deploy *d)
{
    for (int i = 0; i < 2; i++)
        server_free(d->ingest[i]);
    server_free(d->worker);
    server_free(d->f.s);
    broker_stop(d->f.b);
    remove_tree(d->f.dir);
    free(d->f.dir);
    free(d->f.t_taro);
    free(d);
}

/* cityos_ingest_messages_total{result} of one process (-1: the process has no such series). */
static double metric_of(struct server *s, const char *series)
{
    struct resp r = api_get(s, "/metrics");
    assert_status(&r, 200);
    double v = metric_value(r.body, series);
    resp_free(&r);
    return v;
}

static double stored_by(struct server *s)
{
    return metric_of(s, "cityos_ingest_messages_total{result=\"stored\"}");
}

/* One reading per line for mosquitto_pub -l: n readings one second apart, the last ago_s
 * seconds ago, with sys/dia varied by salt so devices differ. */
static char *write_stream(const char *dir, const char *name, long n, long ago_s, int salt)
{
    char *path = str_printf("%s/%s.txt", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (long i = 0; i < n; i++) {
        char t[40];
        ingest_time(t, sizeof t, ago_s + (n - i));
        fprintf(fp, "{\"t\":\"%s\",\"sys\":%ld,\"dia\":%ld,\"pulse\":%ld}\n", t,
                110 + (i + salt) % 40, 70 + (i + salt) % 15, 60 + i % 30);
    }
    fclose(fp);
    return path;
}

/* The shell text that publishes a stream as device dv (QoS 1, one connection). */
static char *pub_cmd(struct deploy *d, const struct ingest_device *dv, const char *stream)
{
    return str_printf("/usr/bin/mosquitto_pub -h 127.0.0.1 -p %d -V mqttv5 -u '%s' -P '%s' "
                      "-i '%s' -t '%s' -q 1 -l < '%s'",
                      broker_port(d->f.b), dv->id, dv->password, dv->id, dv->topic, stream);
}

/* Rows of ingest_reading (the duplicate keys: one per stored reading) of one device. */
static long db_readings(struct deploy *d, const struct ingest_device *dv)
{
    return ingest_db_count(&d->f, "SELECT COUNT(*) FROM ingest_reading WHERE device_id = '%s'",
                           dv->id);
}

/* Outbox events of one device's readings. */
static long db_events(struct deploy *d, const struct ingest_device *dv)
{
    return ingest_db_count(&d->f,
                           "SELECT COUNT(*) FROM event_outbox WHERE kind = 'reading.stored' AND "
                           "payload LIKE '%%\"device\":\"%s\"%%'",
                           dv->id);
}

/* Waits (up to timeout_ms) until the devices' stored readings add up to want. */
static long wait_db_readings(struct deploy *d, const struct ingest_device *dv, int ndev, long want,
                             int timeout_ms)
{
    long have = 0;
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        have = 0;
        for (int i = 0; i < ndev; i++)
            have += db_readings(d, &dv[i]);
        if (have >= want)
            return have;
        sleep_ms(200);
    }
    return have;
}

/* reading.stored events the home doctor has not consumed yet (0 once the worker caught up). */
static long homedoctor_pending(struct deploy *d)
{
    return ingest_db_count(&d->f, "SELECT COUNT(*) FROM event_outbox WHERE kind = "
                                  "'reading.stored' AND seq > (SELECT COALESCE(MAX(done_seq), 0) "
                                  "FROM event_consumer WHERE consumer = 'homedoctor' AND kind = "
                                  "'reading.stored')");
}

static void wait_homedoctor_caught_up(struct deploy *d)
{
    long left = -1;
    for (int i = 0; i < 300 && (left = homedoctor_pending(d)) != 0; i++)
        sleep_ms(200);
    if (left != 0) {
        server_dump_log(d->worker);
        fail_msg("the worker's home doctor left %ld reading events", left);
    }
}

/* ---- the tests ---- */

static void an_unknown_role_is_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"--role=web", "--role=api,", "--role=api worker",
                                      "--role=", "--role=API"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct server *s = server_new(&(struct server_config){.args = LIST(bad[i])});
        assert_int_equal(server_launch(s), -1);
        assert_int_equal(server_exit_status(s), 2);
        assert_true(server_log_has(s, "--role"));
        server_free(s);
    }
    /* the accepted spellings come up, and say what they run */
    struct server *s = server_start(LIST("--role=worker,api"));
    json_t *line = server_wait_log(s, "listening on", "role", "api,worker", 5000);
    assert_non_null(line);
    json_decref(line);
    assert_true(health_ok(s));
    server_free(s);
    s = server_start(LIST("--role=all"));
    line = server_wait_log(s, "listening on", "role", "api,ingest,worker", 5000);
    assert_non_null(line);
    json_decref(line);
    server_free(s);
}

static void an_api_process_takes_nothing_from_the_broker(void **state)
{
    (void)state;
    struct deploy *d = deploy_start();
    /* the ingest process makes its sessions at the broker once; then it stops */
    d->ingest[0] = start_ingest(d, "ingest-a");
    assert_int_equal(server_stop(d->ingest[0]), 0);
    struct ingest_device dv = ingest_device_register(&d->f, "bp-wrist", "手首の血圧計");

    char t[40];
    ingest_time(t, sizeof t, 30);
    char *payload = str_printf("{\"t\":\"%s\",\"sys\":128,\"dia\":82,\"pulse\":70}", t);
    ingest_publish(&d->f, &dv, payload);
    free(payload);
    sleep_ms(2500);
    /* the api process serves FHIR, has no ingest at all, and nothing was stored */
    assert_int_equal(ingest_count(&d->f, &dv), 0);
    assert_int_equal(db_readings(d, &dv), 0);
    assert_true(stored_by(d->f.s) < 0); /* no cityos_ingest_messages_total series */
    assert_false(server_log_has(d->f.s, "subscribed to"));
    struct resp r = api_get(d->worker, "/fhir/metadata");
    assert_status(&r, 404); /* the worker serves /health and /metrics only */
    resp_free(&r);
    assert_true(health_ok(d->worker));

    /* the ingest process back with the same client ids: the broker kept the reading for its
     * sessions */
    if (server_launch(d->ingest[0]) != 0)
        fail_msg("the ingest process did not come back");
    assert_int_equal(wait_db_readings(d, &dv, 1, 1, 30000), 1);
    json_t *obs = ingest_find(&d->f, &dv, t);
    assert_non_null(obs);
    json_decref(obs);
    assert_true(health_ok(d->ingest[0]));
    r = api_get(d->ingest[0], "/fhir/metadata");
    assert_status(&r, 404);
    resp_free(&r);
    deploy_stop(d);
}

static void two_ingest_processes_share_the_readings(void **state)
{
    (void)state;
    enum { NDEV = 3, PER = 50 };
    struct deploy *d = deploy_start();
    d->ingest[0] = start_ingest(d, "ingest-a");
    d->ingest[1] = start_ingest(d, "ingest-b");
    struct ingest_device dv[NDEV];
    char *cmd = str_printf("true");
    for (int i = 0; i < NDEV; i++) {
        dv[i] = ingest_device_register(&d->f, "bp-wrist", "手首の血圧計");
        char name[16];
        snprintf(name, sizeof name, "stream%d", i);
        char *stream = write_stream(d->f.dir, name, PER, 120, i * 7);
        char *one = pub_cmd(d, &dv[i], stream);
        char *all = str_printf("%s & %s", cmd, one); /* the devices publish at the same time */
        free(cmd);
        cmd = all;
        free(one);
        free(stream);
    }
    char *run = str_printf("( %s & wait ) 2>&1", cmd);
    free(run_command(run));
    free(run);
    free(cmd);

    long n = (long)NDEV * PER;
    long have = wait_db_readings(d, dv, NDEV, n, 60000);
    if (have != n) {
        server_dump_log(d->ingest[0]);
        server_dump_log(d->ingest[1]);
    }
    assert_int_equal(have, n);
    sleep_ms(500); /* anything stored twice would show now */
    double a = stored_by(d->ingest[0]), b = stored_by(d->ingest[1]);
    fprintf(stderr, "roles: %ld readings stored: %.0f by ingest-a, %.0f by ingest-b\n", n, a, b);
    assert_true(a > 0 && b > 0);
    assert_true(a + b == (double)n); /* exactly once: no process stored one twice */
    for (int i = 0; i < 2; i++)
        assert_true(metric_of(d->ingest[i], "cityos_ingest_messages_total{result=\"duplicate\"}") ==
                    0);
    for (int i = 0; i < NDEV; i++) {
        assert_int_equal(db_readings(d, &dv[i]), PER);
        assert_int_equal(ingest_count(&d->f, &dv[i]), PER); /* through the api process */
        assert_int_equal(db_events(d, &dv[i]), PER);
    }
    /* the worker, not the ingest processes, handed the events to the home doctor */
    wait_homedoctor_caught_up(d);
    assert_true(metric_of(d->worker, "cityos_events_deliveries_total{outcome=\"delivered\"}") +
                    metric_of(d->worker, "cityos_events_deliveries_total{outcome=\"coalesced\"}") >=
                (double)n);
    for (int i = 0; i < 2; i++)
        assert_true(
            metric_of(d->ingest[i], "cityos_events_deliveries_total{outcome=\"delivered\"}") == 0);
    assert_true(server_log_has(d->worker, "homedoctor: service ready"));
    assert_false(server_log_has(d->f.s, "homedoctor: service ready"));
    deploy_stop(d);
}

static void killing_one_ingest_process_loses_no_reading(void **state)
{
    (void)state;
    enum { NDEV = 2 };
    long per = kill_readings(), n = per * NDEV;
    struct deploy *d = deploy_start();
    d->ingest[0] = start_ingest(d, "ingest-a");
    d->ingest[1] = start_ingest(d, "ingest-b");
    struct ingest_device dv[NDEV];
    char *streams[NDEV];
    for (int i = 0; i < NDEV; i++) {
        dv[i] = ingest_device_register(&d->f, "bp-wrist", "手首の血圧計");
        char name[16];
        snprintf(name, sizeof name, "kstream%d", i);
        streams[i] = write_stream(d->f.dir, name, per, 60, i * 11);
    }
    char *done = str_printf("%s/publishers.done", d->f.dir);
    char *p0 = pub_cmd(d, &dv[0], streams[0]), *p1 = pub_cmd(d, &dv[1], streams[1]);
    char *cmd = str_printf("( ( %s & %s & wait ) > '%s.out' 2>&1; touch '%s' ) > /dev/null 2>&1 &",
                           p0, p1, done, done);
    free(run_command(cmd));
    free(cmd);
    free(p0);
    free(p1);

    /* kill -9 ingest-a once about a fifth of the stream is stored */
    long have = wait_db_readings(d, dv, NDEV, n / 5, 60000);
    assert_true(have >= n / 5);
    assert_int_equal(server_kill9(d->ingest[0]), 128 + 9);
    fprintf(stderr, "roles: kill -9 of ingest-a with %ld of %ld readings stored\n", have, n);
    /* ingest-b goes on with its share meanwhile */
    double b0 = stored_by(d->ingest[1]);
    sleep_ms(1500);
    double b1 = stored_by(d->ingest[1]);
    long during = wait_db_readings(d, dv, NDEV, 0, 0);
    fprintf(stderr, "roles: while ingest-a was down ingest-b stored %.0f more (%ld in all)\n",
            b1 - b0, during);

    /* the publishers finish; ingest-a comes back with the same client ids and takes what the
     * broker kept for its sessions */
    for (int i = 0; i < 1200; i++) {
        FILE *fp = fopen(done, "r");
        if (fp != NULL) {
            fclose(fp);
            break;
        }
        sleep_ms(100);
    }
    if (server_launch(d->ingest[0]) != 0)
        fail_msg("ingest-a did not come back after kill -9");
    /* (not waiting for "subscribed": a resumed session gets its queued readings first, and the
     * SUBACK is read after them, one stored reading at a time) */
    have = wait_db_readings(d, dv, NDEV, n, 300000);
    sleep_ms(1000); /* a reading stored twice would show now */
    have = wait_db_readings(d, dv, NDEV, n, 0);
    fprintf(stderr, "roles: after the kill: %ld of %ld readings stored\n", have, n);
    if (have != n) {
        char *out = str_printf("cat '%s.out'", done);
        fprintf(stderr, "publishers: %s\n", run_command(out));
        free(out);
    }
    assert_int_equal(have, n);
    for (int i = 0; i < NDEV; i++) {
        assert_int_equal(db_readings(d, &dv[i]), per);
        assert_int_equal(ingest_count(&d->f, &dv[i]), per);
        assert_int_equal(db_events(d, &dv[i]), per);
        assert_int_equal(ingest_db_count(&d->f,
                                         "SELECT COUNT(DISTINCT time_ms) FROM ingest_reading "
                                         "WHERE device_id = '%s'",
                                         dv[i].id),
                         per);
        free(streams[i]);
    }
    /* (the home doctor's catching up is two_ingest_processes_share_the_readings': it evaluates
     * each of these 2 x ROLES_N readings on its own, about a second each in the ASan build) */
    free(done);
    deploy_stop(d);
}

/* Publishes per readings from each of the devices at once (times ending ago_s seconds ago) and
 * returns the readings stored per second from the first publish until all are durable. */
static double timed_stream(struct deploy *d, const struct ingest_device *dv, int ndev, long per,
                           long ago_s, long before)
{
    char *cmd = str_printf("true");
    for (int i = 0; i < ndev; i++) {
        char name[32];
        snprintf(name, sizeof name, "rate%ld-%d", ago_s, i);
        char *stream = write_stream(d->f.dir, name, per, ago_s, i * 5);
        char *one = pub_cmd(d, &dv[i], stream);
        char *all = str_printf("%s & %s", cmd, one);
        free(cmd);
        cmd = all;
        free(one);
        free(stream);
    }
    char *run = str_printf("( ( %s & wait ) > /dev/null 2>&1 & )", cmd);
    uint64_t t0 = now_ms();
    free(run_command(run));
    long want = before + per * ndev;
    long have = wait_db_readings(d, dv, ndev, want, 600000);
    uint64_t t1 = now_ms();
    free(run);
    free(cmd);
    assert_int_equal(have, want);
    return (double)(per * ndev) / ((double)(t1 - t0) / 1000.0);
}

/* Not a check: the rate of one ingest process, then of two, on one SQLite file (ROLES_RATE_N
 * readings per device from 8 devices; run alone when ROLES_RATE_N is set). */
static void ingest_rate_one_and_two_processes(void **state)
{
    (void)state;
    const char *env = getenv("ROLES_RATE_N");
    enum { NDEV = 8 };
    long per = atol(env) > 0 ? atol(env) : 200;
    const char *conns = getenv("ROLES_RATE_CONNS");
    struct deploy *d = deploy_start();
    d->conns = conns != NULL && atoi(conns) > 0 ? atoi(conns) : 16;
    d->ingest[0] = start_ingest(d, "ingest-a");
    struct ingest_device dv[NDEV];
    for (int i = 0; i < NDEV; i++)
        dv[i] = ingest_device_register(&d->f, "bp-wrist", "手首の血圧計");
    /* the worker would compete for the same write lock: stopped for the measurement */
    assert_int_equal(server_stop(d->worker), 0);
    double one = timed_stream(d, dv, NDEV, per, 2 * per + 120, 0);
    d->ingest[1] = start_ingest(d, "ingest-b");
    double two = timed_stream(d, dv, NDEV, per, per + 60, (long)NDEV * per);
    fprintf(stderr,
            "roles: %ld readings from %d devices, %d connections per process: one ingest process "
            "%.0f readings/s, two %.0f readings/s (%.0f + %.0f stored)\n",
            (long)NDEV * per, NDEV, d->conns, one, two,
            stored_by(d->ingest[0]) - (double)NDEV * per, stored_by(d->ingest[1]));
    deploy_stop(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_unknown_role_is_refused),
        cmocka_unit_test(an_api_process_takes_nothing_from_the_broker),
        cmocka_unit_test(two_ingest_processes_share_the_readings),
        cmocka_unit_test(killing_one_ingest_process_loses_no_reading),
    };
    /* ROLES_RATE_N set: only the measurement (scripts run it on a release build) */
    const struct CMUnitTest rate[] = {
        cmocka_unit_test(ingest_rate_one_and_two_processes),
    };
    if (getenv("ROLES_RATE_N") != NULL)
        return cmocka_run_group_tests(rate, NULL, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
