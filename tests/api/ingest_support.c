/* ingest_support.c - shared steps of the ingest's API tests (ingest_support.h). */
#include "ingest_support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oidc_flow.h"

#define TARO_EMAIL   "taro.aizu@example.jp"
#define TARO_PASS    "Minato-Tsuru-7Kq3-Bx9w"
#define APP_REDIRECT "http://127.0.0.1:8765/callback"
#define APP_SCOPE    "openid launch/patient patient/*.rs"
#define PUB          "/usr/bin/mosquitto_pub"

struct resp api_get_bearer(struct ingest_fixture *f, const char *path)
{
    char *auth = str_printf("Authorization: Bearer %s", f->t_taro);
    const char *h[] = {auth, NULL};
    struct resp r = api(f->s, "GET", path, h, NULL, 0);
    free(auth);
    return r;
}

void ingest_wait_subscribed(struct ingest_fixture *f)
{
    for (int i = 0; i < f->connections; i++) {
        char *msg = str_printf("ingest: cityos-ingest-%d subscribed", i);
        /* a restarted session's backlog comes before the SUBACK, each message stored in turn:
         * on a slow store (PostgreSQL on a busy machine) that takes a while */
        json_t *line = server_wait_log(f->s, msg, NULL, NULL, 120000);
        if (line == NULL) {
            server_dump_log(f->s);
            fail_msg("%s: not seen", msg);
        }
        json_decref(line);
        free(msg);
    }
}

struct ingest_fixture *ingest_fixture_start(int connections)
{
    struct ingest_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->connections = connections;
    f->b = broker_start();
    f->dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=10 --seed=1 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), f->dir);
    char *out = run_command(cmd);
    demo_client_id(out, "sample app", f->app, sizeof f->app);
    free(out);
    free(cmd);
    char *port = str_printf("--mqtt-port=%d", broker_port(f->b));
    char *pwfile = str_printf("--mqtt-admin-password-file=%s", broker_admin_password_file(f->b));
    char *conns = str_printf("--ingest-connections=%d", connections);
    f->s = server_start_with(
        &(struct server_config){.data_dir = f->dir, .args = LIST(port, pwfile, conns)});
    free(port);
    free(pwfile);
    free(conns);
    ingest_wait_subscribed(f);
    f->t_taro = oidc_token(f->s, f->app, APP_REDIRECT, TARO_EMAIL, TARO_PASS, "self", APP_SCOPE);
    struct resp r = api_get_bearer(f, "/oauth/userinfo");
    assert_status(&r, 200);
    snprintf(f->taro_id, sizeof f->taro_id, "%s", json_str(r.json, "sub"));
    resp_free(&r);
    return f;
}

void ingest_fixture_stop(struct ingest_fixture *f)
{
    if (f == NULL)
        return;
    server_free(f->s);
    broker_stop(f->b);
    remove_tree(f->dir);
    free(f->dir);
    free(f->t_taro);
    free(f);
}

struct ingest_device ingest_device_register(struct ingest_fixture *f, const char *kind,
                                            const char *display)
{
    char *auth = str_printf("Authorization: Bearer %s", f->t_taro);
    char *body = str_printf("{\"kind\":\"%s\",\"display\":\"%s\"}", kind, display);
    const char *h[] = {auth, JSON_HEADER, NULL};
    struct resp r = api(f->s, "POST", "/api/v1/me/devices", h, body, strlen(body));
    assert_status(&r, 201);
    json_t *mqtt = json_object_get(r.json, "mqtt"), *dev = json_object_get(r.json, "device");
    struct ingest_device d;
    memset(&d, 0, sizeof d);
    snprintf(d.id, sizeof d.id, "%s", json_str(dev, "id"));
    snprintf(d.password, sizeof d.password, "%s", json_str(mqtt, "password"));
    snprintf(d.topic, sizeof d.topic, "%s", json_str(mqtt, "topic"));
    const char *fhir = json_str(dev, "fhir");
    assert_non_null(fhir);
    assert_true(strncmp(fhir, "Device/", 7) == 0);
    snprintf(d.fhir_id, sizeof d.fhir_id, "%s", fhir + 7);
    resp_free(&r);
    free(body);
    free(auth);
    return d;
}

void ingest_device_revoke(struct ingest_fixture *f, const struct ingest_device *d)
{
    char *auth = str_printf("Authorization: Bearer %s", f->t_taro);
    char *path = str_printf("/api/v1/me/devices/%s", d->id);
    const char *h[] = {auth, NULL};
    struct resp r = api(f->s, "DELETE", path, h, NULL, 0);
    if (r.status != 200 && r.status != 204)
        fail_msg("revoke: %ld %s", r.status, r.body);
    resp_free(&r);
    free(path);
    free(auth);
}

static void pub(const char *args, const char *payload)
{
    char path[] = "/tmp/cityos-ingest-msg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fputs(payload, fp);
    fclose(fp);
    char *cmd = str_printf(PUB " %s -q 1 -f '%s' 2>&1; echo \"exit=$?\"", args, path);
    char *out = run_command(cmd);
    remove(path);
    const char *x = strstr(out, "exit=");
    if (x == NULL || atoi(x + 5) != 0 || strstr(out, "ailed") != NULL) {
        fprintf(stderr, "mosquitto_pub: %s\n", out);
        free(out);
        free(cmd);
        fail_msg("mosquitto_pub failed");
    }
    free(out);
    free(cmd);
}

void ingest_publish(struct ingest_fixture *f, const struct ingest_device *d, const char *payload)
{
    char *args = str_printf("-h 127.0.0.1 -p %d -V mqttv5 -u '%s' -P '%s' -i '%s' -t '%s'",
                            broker_port(f->b), d->id, d->password, d->id, d->topic);
    pub(args, payload);
    free(args);
}

/* A broker client that may publish on every device topic, as no real device can: what a queued
 * message of a since revoked device, or a topic no device owns, looks like to cityos. Made
 * once per broker with mosquitto_ctrl as the administrator. */
static void ensure_injector(struct ingest_fixture *f)
{
    if (f->injector)
        return;
    static const char *const steps[] = {
        "createRole test-injector",
        "addRoleACL test-injector publishClientSend cityos/v1/devices/# allow",
        "createClient test-injector -p injector-secret",
        "addClientRole test-injector test-injector",
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char *cmd = str_printf("/usr/bin/mosquitto_ctrl -h 127.0.0.1 -p %d -u cityos-admin "
                               "-P '%s' dynsec %s 2>&1",
                               broker_port(f->b), broker_admin_password(f->b), steps[i]);
        free(run_command(cmd));
        free(cmd);
    }
    f->injector = 1;
}

void ingest_publish_as_admin(struct ingest_fixture *f, const char *topic, const char *payload)
{
    ensure_injector(f);
    char *args = str_printf("-h 127.0.0.1 -p %d -V mqttv5 -u test-injector -P injector-secret "
                            "-t '%s'",
                            broker_port(f->b), topic);
    pub(args, payload);
    free(args);
}

void ingest_time(char *out, size_t cap, long ago_s)
{
    time_t t = time(NULL) - ago_s + 9 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%S+09:00", &tm);
}

double ingest_metric(struct ingest_fixture *f, const char *result)
{
    struct resp r = api_get(f->s, "/metrics");
    assert_status(&r, 200);
    char *series = str_printf("cityos_ingest_messages_total{result=\"%s\"}", result);
    double v = metric_value(r.body, series);
    free(series);
    resp_free(&r);
    return v;
}

void ingest_wait_metric(struct ingest_fixture *f, const char *result, double want)
{
    double v = 0;
    for (int i = 0; i < 400; i++) {
        if ((v = ingest_metric(f, result)) >= want)
            return;
        sleep_ms(50);
    }
    server_dump_log(f->s);
    fail_msg("cityos_ingest_messages_total{result=\"%s\"} is %g, want %g", result, v, want);
}

json_t *ingest_find(struct ingest_fixture *f, const struct ingest_device *d, const char *time)
{
    char *enc = form_encode(time);
    char *path = str_printf("/fhir/Observation?device=Device/%s&date=%s", d->fhir_id, enc);
    struct resp r = api_get_bearer(f, path);
    free(path);
    free(enc);
    assert_status(&r, 200);
    json_t *entry = json_array_get(json_object_get(r.json, "entry"), 0);
    json_t *res = json_object_get(entry, "resource");
    json_t *out = res != NULL ? json_incref(res) : NULL;
    if (out == NULL)
        fprintf(stderr, "no Observation: %s\n", r.body);
    resp_free(&r);
    return out;
}

long ingest_count(struct ingest_fixture *f, const struct ingest_device *d)
{
    char *path = str_printf("/fhir/Observation?device=Device/%s&_summary=count", d->fhir_id);
    struct resp r = api_get_bearer(f, path);
    free(path);
    assert_status(&r, 200);
    long n = (long)json_integer_value(json_object_get(r.json, "total"));
    resp_free(&r);
    return n;
}

long ingest_db_count(struct ingest_fixture *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char sql[1024];
    int n = vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof sql);
    return harness_db_int(f->dir, sql, NULL);
}
