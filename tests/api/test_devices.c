/* test_devices.c - home devices over MQTT (issue 6) as a specification, with a real Mosquitto
 * broker per run (broker.h) on a demo town: 会津 太郎 registers a wrist blood-pressure monitor
 * and gets its MQTT credentials once; with them mosquitto_pub publishes to the device's own
 * topic and nothing else; a wrong password or client id is refused; revoking removes the
 * account at once; bad bodies store nothing and make no broker account; other citizens
 * neither see nor revoke his devices; his daughter, whose link gives no such right, is refused
 * and that refusal is on his trail; every access is on his trail; the ingest's service account
 * may only take the readings; with no broker, registration answers 503. */
#include "broker.h"
#include "oidc_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ME           "/api/v1/me/devices"
#define TARO_EMAIL   "taro.aizu@example.jp"
#define TARO_PASS    "Minato-Tsuru-7Kq3-Bx9w"
#define HANAKO_EMAIL "hanako.aizu@example.jp"
#define HANAKO_PASS  "Hanako-Yuki-4Rm8-Zp2v"
#define MISAKI_EMAIL "misaki.sato@example.jp"
#define MISAKI_PASS  "Misaki-Kaki-9Tn5-Hc3j"
#define APP_REDIRECT "http://127.0.0.1:8765/callback"
#define APP_SCOPE    "openid launch/patient patient/*.rs"
#define PUB          "/usr/bin/mosquitto_pub"
#define SUB          "/usr/bin/mosquitto_sub"
#define CTRL         "/usr/bin/mosquitto_ctrl"

struct fixture {
    char *dir;
    struct broker *b;
    struct server *s;
    char app[64];
    char *t_taro, *t_hanako, *t_misaki_for_taro;
};

static struct fixture *F;

static char *token(const char *email, const char *password, const char *act_as)
{
    return oidc_token(F->s, F->app, APP_REDIRECT, email, password, act_as, APP_SCOPE);
}

static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    char *auth = tok != NULL ? str_printf("Authorization: Bearer %s", tok) : NULL;
    const char *h[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (auth != NULL)
        h[n++] = auth;
    if (body != NULL)
        h[n++] = JSON_HEADER;
    struct resp r = api(F->s, method, path, h, body, body != NULL ? strlen(body) : 0);
    free(auth);
    return r;
}

/* A registered device's credentials (copied out of the 201 answer). */
struct creds {
    char id[32], password[64], topic[96];
};

static struct creds register_device(const char *tok, const char *body)
{
    struct resp r = call("POST", ME, tok, body);
    assert_status(&r, 201);
    assert_header(&r, "Cache-Control", "no-store");
    json_t *mqtt = json_object_get(r.json, "mqtt"), *dev = json_object_get(r.json, "device");
    struct creds c;
    snprintf(c.id, sizeof c.id, "%s", json_str(dev, "id"));
    snprintf(c.password, sizeof c.password, "%s", json_str(mqtt, "password"));
    snprintf(c.topic, sizeof c.topic, "%s", json_str(mqtt, "topic"));
    assert_int_equal(strlen(c.id), 26);
    assert_string_equal(json_str(mqtt, "username"), c.id);
    assert_string_equal(json_str(mqtt, "client_id"), c.id);
    assert_int_equal(json_integer_value(json_object_get(mqtt, "port")), broker_port(F->b));
    assert_true(strlen(c.password) >= 40);
    char *want = str_printf("cityos/v1/devices/%s/readings", c.id);
    assert_string_equal(c.topic, want);
    free(want);
    char *loc = str_printf(ME "/%s", c.id);
    assert_header(&r, "Location", loc);
    free(loc);
    resp_free(&r);
    return c;
}

/* mosquitto_pub (MQTT 5, QoS 1) as user/password/client id to topic; its output and exit code
 * (in *rc). A refused publish shows as "Publish 1 failed: Not authorized" (the PUBACK's reason). */
static char *publish(const char *user, const char *password, const char *cid, const char *topic,
                     int *rc)
{
    char *cmd = str_printf(PUB " -h 127.0.0.1 -p %d -V mqttv5 -q 1 -u '%s' -P '%s' -i '%s' -t '%s' "
                               "-m '{\"sys\":128}' 2>&1; echo \"exit=$?\"",
                           broker_port(F->b), user, password, cid, topic);
    char *out = run_command(cmd);
    free(cmd);
    const char *x = strstr(out, "exit=");
    assert_non_null(x);
    *rc = atoi(x + 5);
    return out;
}

/* A subscriber as the broker's administrator to every device topic, printing what arrives
 * into a file; returns the file's path once the broker acknowledged the subscription. */
static char *watch_readings(void)
{
    char *path = str_printf("%s/watch-%d.txt", F->dir, rand());
    char *cmd =
        str_printf("(stdbuf -oL -eL " SUB " -h 127.0.0.1 -p %d -u cityos-admin -P '%s' -d -v -W 6 "
                   "-t 'cityos/v1/devices/#' > '%s' 2>&1 &) ; echo started",
                   broker_port(F->b), broker_admin_password(F->b), path);
    free(run_command(cmd));
    free(cmd);
    for (int i = 0; i < 100; i++) {
        char *cat = str_printf("cat '%s' 2>/dev/null; true", path);
        char *out = run_command(cat);
        free(cat);
        int ready = strstr(out, "SUBACK") != NULL;
        free(out);
        if (ready)
            return path;
        sleep_ms(50);
    }
    fail_msg("the administrator's subscription was not acknowledged");
    return NULL;
}

/* What the watcher saw within wait_ms (malloc'ed). */
static char *watched(const char *path, long wait_ms)
{
    sleep_ms(wait_ms);
    char *cat = str_printf("cat '%s'", path);
    char *out = run_command(cat);
    free(cat);
    return out;
}

/* The broker's clients, as the administrator lists them. */
static char *broker_clients(void)
{
    char *cmd = str_printf(CTRL " -h 127.0.0.1 -p %d -u cityos-admin -P '%s' dynsec listClients "
                                "2>/dev/null",
                           broker_port(F->b), broker_admin_password(F->b));
    char *out = run_command(cmd);
    free(cmd);
    return out;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

static size_t device_count(const char *tok)
{
    struct resp r = call("GET", ME, tok, NULL);
    assert_status(&r, 200);
    size_t n = json_array_size(json_object_get(r.json, "devices"));
    resp_free(&r);
    return n;
}

/* Does 太郎's access log hold, among its newest entries, action on Device/id (any id: NULL)
 * with this decision and decided_by (NULL: any)? */
static int logged(const char *action, const char *id, const char *decision, const char *by)
{
    struct resp r = call("GET", "/api/v1/me/access-log?limit=30", F->t_taro, NULL);
    assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    int found = 0;
    for (size_t i = 0; !found && i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i), *what = json_object_get(it, "what");
        const char *a = json_str(what, "action"), *t = json_str(what, "resourceType");
        const char *rid = json_str(what, "resourceId"), *d = json_str(it, "decision");
        const char *why = json_str(json_object_get(it, "why"), "decidedBy");
        found = a != NULL && strcmp(a, action) == 0 && t != NULL && strcmp(t, "Device") == 0 &&
                (id == NULL || (rid != NULL && strcmp(rid, id) == 0)) && d != NULL &&
                strcmp(d, decision) == 0 && (by == NULL || (why != NULL && strcmp(why, by) == 0));
    }
    if (!found)
        fprintf(stderr, "access log: %s\n", r.body);
    resp_free(&r);
    return found;
}

static int group_setup(void **state)
{
    (void)state;
    F = calloc(1, sizeof *F);
    F->b = broker_start();
    F->dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=10 --seed=1 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), F->dir);
    char *out = run_command(cmd);
    demo_client_id(out, "sample app", F->app, sizeof F->app);
    free(out);
    free(cmd);
    char *port = str_printf("--mqtt-port=%d", broker_port(F->b));
    char *pwfile = str_printf("--mqtt-admin-password-file=%s", broker_admin_password_file(F->b));
    F->s =
        server_start_with(&(struct server_config){.data_dir = F->dir, .args = LIST(port, pwfile)});
    free(port);
    free(pwfile);
    F->t_taro = token(TARO_EMAIL, TARO_PASS, "self");
    F->t_hanako = token(HANAKO_EMAIL, HANAKO_PASS, "self");
    F->t_misaki_for_taro = token(MISAKI_EMAIL, MISAKI_PASS, "for:");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_free(F->s);
    broker_stop(F->b);
    remove_tree(F->dir);
    free(F->dir);
    free(F->t_taro);
    free(F->t_hanako);
    free(F->t_misaki_for_taro);
    free(F);
    return 0;
}

/* ---- registration and the broker ---- */

static void a_registered_device_publishes_to_its_own_topic_only(void **state)
{
    (void)state;
    size_t before = device_count(F->t_taro);
    struct creds d = register_device(
        F->t_taro,
        "{\"kind\":\"bp-wrist\",\"display\":\"手首の血圧計\",\"manufacturer\":\"Omron\"}");
    struct creds other = register_device(F->t_taro, "{\"kind\":\"scale\",\"display\":\"体重計\"}");
    assert_int_equal(device_count(F->t_taro), before + 2);

    /* its own topic: accepted, and it reaches a subscriber */
    char *w = watch_readings();
    int rc;
    char *out = publish(d.id, d.password, d.id, d.topic, &rc);
    assert_int_equal(rc, 0);
    assert_null(strstr(out, "ot authori"));
    free(out);
    out = watched(w, 300);
    assert_non_null(strstr(out, d.topic));
    free(out);
    free(w);

    /* another device's topic, or anything else: refused (PUBACK "not authorized"), and nothing
     * reaches the subscriber */
    w = watch_readings();
    out = publish(d.id, d.password, d.id, other.topic, &rc);
    assert_non_null(strstr(out, "Not authorized"));
    free(out);
    out = publish(d.id, d.password, d.id, "cityos/v1/devices/x/commands", &rc);
    assert_non_null(strstr(out, "Not authorized"));
    free(out);
    out = watched(w, 500);
    assert_null(strstr(out, other.topic));
    assert_null(strstr(out, "commands"));
    free(out);
    free(w);

    /* a wrong password, another client id, another device's name: refused at CONNECT */
    out = publish(d.id, "not-the-password", d.id, d.topic, &rc);
    assert_int_not_equal(rc, 0);
    free(out);
    out = publish(d.id, d.password, "some-other-client", d.topic, &rc);
    assert_int_not_equal(rc, 0);
    free(out);
    out = publish(other.id, d.password, other.id, other.topic, &rc);
    assert_int_not_equal(rc, 0);
    free(out);

    /* the FHIR Device describes it, for him */
    char *path = str_printf("/fhir/Device/%s", d.id);
    struct resp r = call("GET", path, F->t_taro, NULL);
    assert_status(&r, 200);
    json_t *type = json_object_get(r.json, "type");
    json_t *c0 = json_array_get(json_object_get(type, "coding"), 0);
    assert_string_equal(json_str(c0, "system"), "http://snomed.info/sct");
    assert_string_equal(json_str(c0, "code"), "70665002");
    assert_non_null(strstr(json_str(type, "text"), "wrist"));
    assert_string_equal(json_str(r.json, "status"), "active");
    assert_string_equal(json_str(r.json, "manufacturer"), "Omron");
    json_t *ident = json_array_get(json_object_get(r.json, "identifier"), 0);
    assert_string_equal(json_str(ident, "value"), d.id);
    const char *patient = json_str(json_object_get(r.json, "patient"), "reference");
    assert_non_null(patient);
    assert_int_equal(strncmp(patient, "Patient/", 8), 0);
    resp_free(&r);
    free(path);

    /* on his trail: the creation, permitted by rule:self */
    assert_true(logged("create", d.id, "permit", "rule:self"));
    /* the password is nowhere in the data folder */
    char *grep = str_printf("grep -rl '%s' '%s' | wc -l", d.password, F->dir);
    out = run_command(grep);
    assert_int_equal(atoi(out), 0);
    free(out);
    free(grep);
}

static void revoking_a_device_removes_its_account_at_once(void **state)
{
    (void)state;
    struct creds d = register_device(F->t_taro, "{\"kind\":\"pillbox\",\"display\":\"お薬箱\"}");
    int rc;
    char *out = publish(d.id, d.password, d.id, d.topic, &rc);
    assert_int_equal(rc, 0);
    free(out);
    char *path = str_printf(ME "/%s", d.id);
    struct resp r = call("DELETE", path, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "revoked");
    assert_true(json_is_string(json_object_get(r.json, "revoked_at")));
    resp_free(&r);
    out = publish(d.id, d.password, d.id, d.topic, &rc);
    assert_int_not_equal(rc, 0);
    free(out);
    char *clients = broker_clients();
    assert_null(strstr(clients, d.id));
    free(clients);
    /* listed as revoked; the FHIR Device is inactive; a second DELETE is fine */
    r = call("GET", ME, F->t_taro, NULL);
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, "devices");
    int seen = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *it = json_array_get(list, i);
        if (strcmp(json_str(it, "id"), d.id) == 0) {
            seen = 1;
            assert_string_equal(json_str(it, "status"), "revoked");
        }
    }
    assert_true(seen);
    resp_free(&r);
    char *fpath = str_printf("/fhir/Device/%s", d.id);
    r = call("GET", fpath, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "inactive");
    resp_free(&r);
    free(fpath);
    r = call("DELETE", path, F->t_taro, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    assert_true(logged("update", d.id, "permit", "rule:self"));
    assert_true(logged("search", NULL, "permit", "rule:self"));
    free(path);
}

static void a_device_connected_before_revocation_gets_nothing_through_after_it(void **state)
{
    (void)state;
    struct creds d = register_device(F->t_taro, "{\"kind\":\"bp-upper-arm\",\"display\":\"居間\"}");
    char *w = watch_readings();
    /* a device that stays connected and publishes one reading 3 s later */
    char *log = str_printf("%s/held-%d.txt", F->dir, rand());
    char *cmd = str_printf("(sh -c '(sleep 3; echo late-reading) | stdbuf -oL " PUB
                           " -h 127.0.0.1 -p %d -V mqttv5 -q 1 -u %s -P %s -i %s -t %s -l -d' "
                           "> '%s' 2>&1 < /dev/null &) ; echo started",
                           broker_port(F->b), d.id, d.password, d.id, d.topic, log);
    free(run_command(cmd));
    free(cmd);
    int connected = 0;
    for (int i = 0; i < 100 && !connected; i++) {
        char *cat = str_printf("cat '%s' 2>/dev/null; true", log);
        char *out = run_command(cat);
        connected = strstr(out, "CONNACK") != NULL;
        free(out);
        free(cat);
        if (!connected)
            sleep_ms(20);
    }
    assert_true(connected);
    char *path = str_printf(ME "/%s", d.id);
    struct resp r = call("DELETE", path, F->t_taro, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    /* the broker closed its connection when the account went */
    char *grep = str_printf("grep -c 'Client %s been disconnected by administrative action' "
                            "'%s/mosquitto.log'; true",
                            d.id, broker_dir(F->b));
    int kicked = 0;
    for (int i = 0; i < 50 && !kicked; i++) {
        char *n = run_command(grep);
        kicked = atoi(n) > 0;
        free(n);
        if (!kicked)
            sleep_ms(20);
    }
    free(grep);
    assert_true(kicked);
    char *out = watched(w, 4000);
    if (strstr(out, "late-reading") != NULL) {
        char *cat = str_printf("cat '%s' '%s/mosquitto.log' 1>&2", log, broker_dir(F->b));
        free(run_command(cat));
        free(cat);
        fprintf(stderr, "watcher:\n%s\n", out);
    }
    assert_null(strstr(out, "late-reading"));
    free(out);
    free(w);
    free(path);
    free(log);
}

/* ---- bad input ---- */

static void bad_bodies_store_nothing_and_make_no_broker_account(void **state)
{
    (void)state;
    size_t before = device_count(F->t_taro);
    char *clients = broker_clients();
    size_t accounts = count_lines(clients);
    free(clients);
    static const struct {
        const char *body;
        long status;
        const char *slug;
    } cases[] = {
        {"not json", 400, "malformed-json"},
        {"{\"kind\":\"bp-wrist\",", 400, "malformed-json"},
        {"{\"kind\":\"bp-wrist\",\"kind\":\"scale\",\"display\":\"x\"}", 400, "malformed-json"},
        {"[]", 422, "validation-failed"},
        {"{}", 422, "validation-failed"},
        {"{\"display\":\"x\"}", 422, "validation-failed"},
        {"{\"kind\":\"toaster\",\"display\":\"x\"}", 422, "validation-failed"},
        {"{\"kind\":\"bp-wrist\"}", 422, "validation-failed"},
        {"{\"kind\":\"bp-wrist\",\"display\":\"\"}", 422, "validation-failed"},
        {"{\"kind\":\"bp-wrist\",\"display\":\" padded\"}", 422, "validation-failed"},
        {"{\"kind\":\"bp-wrist\",\"display\":\"a\\u0007b\"}", 422, "validation-failed"},
        {"{\"kind\":\"bp-wrist\",\"display\":7}", 422, "validation-failed"},
        {"{\"kind\":\"bp-wrist\",\"display\":\"x\",\"model\":null}", 422, "validation-failed"},
        {"{\"kind\":\"bp-wrist\",\"display\":\"x\",\"owner\":\"someone\"}", 422,
         "validation-failed"},
        {"{\"kind\":\"bp-wrist\",\"display\":\"x\",\"subject_id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"}",
         422, "validation-failed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp r = call("POST", ME, F->t_taro, cases[i].body);
        if (r.status != cases[i].status)
            fprintf(stderr, "case %zu: %s\n", i, cases[i].body);
        assert_problem(&r, cases[i].status, cases[i].slug);
        resp_free(&r);
    }
    char *long_name = str_repeat("あ", 101);
    char *body = str_printf("{\"kind\":\"bp-wrist\",\"display\":\"%s\"}", long_name);
    struct resp r = call("POST", ME, F->t_taro, body);
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    free(body);
    free(long_name);
    /* the wrong media type, no token, a query parameter */
    const char *ok = "{\"kind\":\"bp-wrist\",\"display\":\"x\"}";
    char *auth = str_printf("Authorization: Bearer %s", F->t_taro);
    r = api(F->s, "POST", ME, LIST(auth, "Content-Type: text/plain"), ok, strlen(ok));
    assert_problem(&r, 415, "unsupported-media-type");
    resp_free(&r);
    free(auth);
    r = call("POST", ME, NULL, ok);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    r = call("POST", ME "?subject=x", F->t_taro, ok);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    r = call("DELETE", ME "/not-an-id", F->t_taro, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);

    assert_int_equal(device_count(F->t_taro), before);
    clients = broker_clients();
    assert_int_equal(count_lines(clients), accounts);
    free(clients);
}

/* ---- other people ---- */

static void other_citizens_neither_see_nor_revoke_his_devices(void **state)
{
    (void)state;
    struct creds d =
        register_device(F->t_taro, "{\"kind\":\"thermometer\",\"display\":\"体温計\"}");
    struct resp r = call("GET", ME, F->t_hanako, NULL);
    assert_status(&r, 200);
    assert_null(strstr(r.body, d.id));
    resp_free(&r);
    char *path = str_printf(ME "/%s", d.id);
    r = call("DELETE", path, F->t_hanako, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    int rc;
    char *out = publish(d.id, d.password, d.id, d.topic, &rc);
    assert_int_equal(rc, 0);
    assert_null(strstr(out, "ot authori"));
    free(out);
    /* her own device is hers; his list does not show it */
    struct creds h =
        register_device(F->t_hanako, "{\"kind\":\"bp-upper-arm\",\"display\":\"血圧計\"}");
    r = call("GET", ME, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_null(strstr(r.body, h.id));
    resp_free(&r);
    free(path);
}

static void his_daughter_without_the_right_is_refused_and_that_is_on_his_trail(void **state)
{
    (void)state;
    size_t before = device_count(F->t_taro);
    struct resp r = call("POST", ME, F->t_misaki_for_taro,
                         "{\"kind\":\"bp-wrist\",\"display\":\"父の血圧計\"}");
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_int_equal(device_count(F->t_taro), before);
    assert_true(logged("create", NULL, "deny", "rule:default-deny"));
    /* and she cannot list them either (her link lets her see alerts only) */
    r = call("GET", ME, F->t_misaki_for_taro, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_true(logged("search", NULL, "deny", "rule:default-deny"));
}

/* ---- the ingest's service account ---- */

static void the_ingest_account_may_only_take_the_readings(void **state)
{
    (void)state;
    char *file = str_printf("%s/mqtt-ingest.secret", F->dir);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *cat = str_printf("head -n1 '%s'", file);
    char *secret = run_command(cat);
    secret[strcspn(secret, "\n")] = '\0';
    free(cat);
    /* the shared subscription is granted; '#' and another topic are not (MQTT 5 SUBACK) */
    const char *filters[] = {"$share/cityos-ingest/cityos/v1/devices/+/readings", "#",
                             "cityos/v1/devices/+/commands"};
    for (size_t i = 0; i < 3; i++) {
        char *cmd = str_printf(SUB " -h 127.0.0.1 -p %d -V mqttv5 -u cityos-ingest -P '%s' "
                                   "-i ingest-test -d -W 1 -t '%s' 2>&1; true",
                               broker_port(F->b), secret, filters[i]);
        char *out = run_command(cmd);
        int granted = strstr(out, "SUBACK") != NULL &&
                      strstr(out, "All subscription requests were denied") == NULL;
        if (granted != (i == 0))
            fprintf(stderr, "%s:\n%s\n", filters[i], out);
        assert_int_equal(granted, i == 0);
        free(out);
        free(cmd);
    }
    /* and it cannot publish */
    int rc;
    char *out = publish("cityos-ingest", secret, "ingest-test",
                        "cityos/v1/devices/01ARZ3NDEKTSV4RRFFQ69G5FAV/readings", &rc);
    assert_non_null(strstr(out, "Not authorized"));
    free(out);
    free(secret);
    free(file);
}

/* ---- no broker ---- */

static void without_a_broker_registration_answers_503(void **state)
{
    (void)state;
    server_stop(F->s);
    struct server *plain = server_start_with(&(struct server_config){.data_dir = F->dir});
    char *auth = str_printf("Authorization: Bearer %s", F->t_taro);
    const char *body = "{\"kind\":\"bp-wrist\",\"display\":\"x\"}";
    struct resp r = api(plain, "POST", ME, LIST(auth, JSON_HEADER), body, strlen(body));
    assert_problem(&r, 503, "unavailable");
    assert_non_null(strstr(r.body, "mqtt-port"));
    resp_free(&r);
    r = api(plain, "GET", ME, LIST(auth), NULL, 0);
    assert_status(&r, 200);
    resp_free(&r);
    free(auth);
    server_free(plain);
    server_restart(F->s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_registered_device_publishes_to_its_own_topic_only),
        cmocka_unit_test(revoking_a_device_removes_its_account_at_once),
        cmocka_unit_test(a_device_connected_before_revocation_gets_nothing_through_after_it),
        cmocka_unit_test(bad_bodies_store_nothing_and_make_no_broker_account),
        cmocka_unit_test(other_citizens_neither_see_nor_revoke_his_devices),
        cmocka_unit_test(his_daughter_without_the_right_is_refused_and_that_is_on_his_trail),
        cmocka_unit_test(the_ingest_account_may_only_take_the_readings),
        cmocka_unit_test(without_a_broker_registration_answers_503),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
