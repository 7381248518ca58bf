/* dynsec.c - the dynamic-security control connection: sign-in as the broker's administrator,
 * one command batch at a time matched to its answer by correlationData, the device accounts,
 * the ingest service account and its secret file, and the process-wide connection. */
#include "ingest/dynsec.h"

#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "base/log.h"

#define TOPIC_CONTROL  "$CONTROL/dynamic-security/v1"
#define TOPIC_RESPONSE "$CONTROL/dynamic-security/v1/response"
#define SECRET_MAX     127 /* bytes of a password read from a file */
#define KEEPALIVE_S    30

struct ingest_dynsec {
    struct mosquitto *mosq;
    pthread_mutex_t call_lock; /* one batch in flight */
    pthread_mutex_t lock;      /* guards what follows */
    pthread_cond_t cond;
    int ready;         /* connected and subscribed to the responses */
    int connect_rc;    /* the last CONNACK's refusal (0: none) */
    int subscribe_mid; /* the SUBSCRIBE we wait for */
    char waiting[48];  /* the correlation prefix of the batch in flight ("" none) */
    json_t *answer;    /* its "responses", once it came */
    int answer_bad;    /* an answer for it came but could not be read */
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    mosquitto_lib_init();
}

/* ---- secrets ---- */

/* Reads a password file: its text up to the first newline, at most SECRET_MAX bytes. */
static int read_secret(const char *path, char *out, size_t cap, struct err *e)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path, strerror(errno));
    char buf[SECRET_MAX + 2];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed)
        return err_set(e, ERR_IO, "%s: cannot be read", path);
    buf[n] = '\0';
    n = strcspn(buf, "\r\n");
    if (n == 0 || n > SECRET_MAX || n >= cap)
        return err_set(e, ERR_INVALID, "%s: holds no password of 1 to %d bytes", path, SECRET_MAX);
    memcpy(out, buf, n);
    out[n] = '\0';
    return 0;
}

/* A new random password: 32 bytes from the CSPRNG in URL-safe base64 (43 characters). */
static void new_secret(char out[64])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, 64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

/* Writes a new secret file (0600) atomically unless one exists: a temporary file of this
 * process, fsync, then link() to the name, which fails when another process sharing the data
 * folder made the file meanwhile (that one is kept: 0 is returned, read it again). */
static int write_secret(const char *path, const char *secret, struct err *e)
{
    char tmp[CONFIG_STR_MAX + 48];
    int tn = snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    if (tn < 0 || tn >= (int)sizeof tmp)
        return err_set(e, ERR_INVALID, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(e, ERR_IO, "%s: %s", tmp, strerror(errno));
    size_t n = strlen(secret);
    int ok = write(fd, secret, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || (link(tmp, path) != 0 && errno != EEXIST)) {
        unlink(tmp);
        return err_set(e, ERR_IO, "%s: cannot be written", path);
    }
    unlink(tmp);
    return 0;
}

static int secret_path(const char *data_dir, char *out, size_t cap, struct err *e)
{
    if (snprintf(out, cap, "%s/%s", data_dir, INGEST_SERVICE_SECRET) >= (int)cap)
        return err_set(e, ERR_INVALID, "data folder path too long");
    return 0;
}

int ingest_dynsec_service_login(const struct config *c, char user[64], char pass[128],
                                struct err *e)
{
    char path[CONFIG_STR_MAX + 32];
    int rc = secret_path(c->data_dir, path, sizeof path, e);
    if (rc == 0)
        rc = read_secret(path, pass, 128, e);
    if (rc != 0)
        return rc;
    snprintf(user, 64, "%s", INGEST_SERVICE_USER);
    return 0;
}

/* ---- the connection (callbacks run on libmosquitto's thread) ---- */

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct ingest_dynsec *d = obj;
    pthread_mutex_lock(&d->lock);
    d->connect_rc = rc;
    if (rc == 0) {
        int mid = 0;
        if (mosquitto_subscribe(mosq, &mid, TOPIC_RESPONSE, 1) == MOSQ_ERR_SUCCESS)
            d->subscribe_mid = mid;
    } else {
        log_warn("mqtt: the broker refused the administrator: %s", mosquitto_connack_string(rc));
    }
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
    (void)mosq;
    struct ingest_dynsec *d = obj;
    pthread_mutex_lock(&d->lock);
    if (mid == d->subscribe_mid && n == 1 && granted[0] <= 2) {
        d->ready = 1;
        pthread_cond_broadcast(&d->cond);
    }
    pthread_mutex_unlock(&d->lock);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    struct ingest_dynsec *d = obj;
    pthread_mutex_lock(&d->lock);
    d->ready = 0;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    if (rc != 0)
        log_warn("mqtt: the administrator's connection was lost (%s); reconnecting",
                 mosquitto_strerror(rc));
}

/* Does the first response's correlationData start with prefix? */
static int answers(const json_t *responses, const char *prefix)
{
    const json_t *first = json_array_get(responses, 0);
    const char *cd = json_string_value(json_object_get(first, "correlationData"));
    return cd != NULL && strncmp(cd, prefix, strlen(prefix)) == 0;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
    (void)mosq;
    struct ingest_dynsec *d = obj;
    if (m->topic == NULL || strcmp(m->topic, TOPIC_RESPONSE) != 0 || m->payloadlen <= 0)
        return;
    struct err e = {0};
    json_t *doc = jsonx_parse(m->payload, (size_t)m->payloadlen, &e);
    json_t *responses = doc != NULL ? json_object_get(doc, "responses") : NULL;
    pthread_mutex_lock(&d->lock);
    if (d->waiting[0] != '\0' && d->answer == NULL) {
        if (json_is_array(responses) && answers(responses, d->waiting)) {
            /* a copy of its own: no JSON value is shared between this thread and the caller */
            d->answer = json_deep_copy(responses);
            d->answer_bad = d->answer == NULL;
            pthread_cond_broadcast(&d->cond);
        } else if (doc == NULL && strstr(m->payload, d->waiting) != NULL) {
            d->answer_bad = 1; /* ours, but not JSON we can read */
            pthread_cond_broadcast(&d->cond);
        }
    }
    pthread_mutex_unlock(&d->lock);
    json_decref(doc);
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int ingest_dynsec_open(struct ingest_dynsec **out, const struct config *c, struct err *e)
{
    *out = NULL;
    if (c->mqtt_port <= 0)
        return err_set(e, ERR_INVALID, "mqtt-port: no broker is configured");
    if (c->mqtt_admin_password_file[0] == '\0')
        return err_set(e, ERR_INVALID, "mqtt-admin-password-file: needed when mqtt-port is set");
    char password[SECRET_MAX + 1];
    int rc = read_secret(c->mqtt_admin_password_file, password, sizeof password, e);
    if (rc != 0)
        return rc == ERR_NOTFOUND ? err_set(e, ERR_INVALID, "%s", e->msg) : rc;
    pthread_once(&lib_once, lib_init);
    struct ingest_dynsec *d = calloc(1, sizeof *d);
    if (d == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->call_lock, NULL);
    /* a client id of our own, so that two cityos processes never take over each other */
    char cid[IDS_LEN + 16];
    char rnd[IDS_LEN + 1];
    ids_new(rnd);
    snprintf(cid, sizeof cid, "cityos-admin-%.*s", IDS_LEN, rnd);
    d->mosq = mosquitto_new(cid, true, d);
    if (d->mosq == NULL) {
        ingest_dynsec_close(d);
        return err_set(e, ERR_NOMEM, "mqtt: cannot make a client");
    }
    mosquitto_connect_callback_set(d->mosq, on_connect);
    mosquitto_subscribe_callback_set(d->mosq, on_subscribe);
    mosquitto_disconnect_callback_set(d->mosq, on_disconnect);
    mosquitto_message_callback_set(d->mosq, on_message);
    mosquitto_reconnect_delay_set(d->mosq, 1, 10, true);
    rc = mosquitto_username_pw_set(d->mosq, c->mqtt_admin_user, password);
    sodium_memzero(password, sizeof password);
    if (rc != MOSQ_ERR_SUCCESS) {
        ingest_dynsec_close(d);
        return err_set(e, ERR_NOMEM, "mqtt: %s", mosquitto_strerror(rc));
    }
    rc = mosquitto_connect_async(d->mosq, c->mqtt_host, (int)c->mqtt_port, KEEPALIVE_S);
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_ERRNO) {
        ingest_dynsec_close(d);
        return err_set(e, ERR_INVALID, "mqtt: %s:%lld: %s", c->mqtt_host, c->mqtt_port,
                       mosquitto_strerror(rc));
    }
    if (mosquitto_loop_start(d->mosq) != MOSQ_ERR_SUCCESS) {
        ingest_dynsec_close(d);
        return err_set(e, ERR_INTERNAL, "mqtt: cannot start the network thread");
    }
    struct timespec until;
    deadline_in(&until, INGEST_DYNSEC_TIMEOUT_MS);
    pthread_mutex_lock(&d->lock);
    while (!d->ready && d->connect_rc == 0 &&
           pthread_cond_timedwait(&d->cond, &d->lock, &until) != ETIMEDOUT) {
    }
    int ready = d->ready, refused = d->connect_rc;
    pthread_mutex_unlock(&d->lock);
    if (!ready) {
        ingest_dynsec_close(d);
        if (refused != 0)
            return err_set(e, ERR_UNAVAILABLE, "mqtt: %s:%lld refused %s: %s", c->mqtt_host,
                           c->mqtt_port, c->mqtt_admin_user, mosquitto_connack_string(refused));
        return err_set(e, ERR_UNAVAILABLE, "mqtt: no answer from %s:%lld within %d ms",
                       c->mqtt_host, c->mqtt_port, INGEST_DYNSEC_TIMEOUT_MS);
    }
    *out = d;
    return 0;
}

void ingest_dynsec_close(struct ingest_dynsec *d)
{
    if (d == NULL)
        return;
    if (d->mosq != NULL) {
        mosquitto_disconnect(d->mosq);
        /* not forced: a cancelled loop thread may hold one of libmosquitto's mutexes, which
         * mosquitto_destroy() would then destroy locked (ThreadSanitizer, api/roles); after the
         * disconnect the loop ends by itself and is joined (as ingest.c stops its own) */
        mosquitto_loop_stop(d->mosq, false);
        mosquitto_destroy(d->mosq);
    }
    json_decref(d->answer);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->call_lock);
    free(d);
}

/* ---- commands ---- */

int ingest_dynsec_run(struct ingest_dynsec *d, json_t *commands, json_t **responses, int timeout_ms,
                      struct err *e)
{
    if (responses != NULL)
        *responses = NULL;
    if (d == NULL)
        return err_set(e, ERR_UNAVAILABLE, "mqtt: no broker connection");
    if (!json_is_array(commands) || json_array_size(commands) == 0)
        return err_set(e, ERR_INVALID, "dynsec: no commands");
    pthread_mutex_lock(&d->call_lock);
    char prefix[48];
    char rnd[IDS_LEN + 1];
    ids_new(rnd);
    snprintf(prefix, sizeof prefix, "cityos-%.*s-", IDS_LEN, rnd);
    int rc = 0;
    size_t i;
    json_t *cmd;
    json_array_foreach(commands, i, cmd)
    {
        char cd[96];
        snprintf(cd, sizeof cd, "%.47s%zu", prefix, i);
        if (json_object_set_new(cmd, "correlationData", json_string(cd)) != 0)
            rc = err_set(e, ERR_NOMEM, "out of memory");
    }
    json_t *msg = rc == 0 ? json_pack("{s:O}", "commands", commands) : NULL;
    size_t len = 0;
    char *text = msg != NULL ? jsonx_dumps(msg, &len) : NULL;
    json_decref(msg);
    if (rc == 0 && text == NULL)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc != 0)
        goto out;
    pthread_mutex_lock(&d->lock);
    snprintf(d->waiting, sizeof d->waiting, "%s", prefix);
    json_decref(d->answer);
    d->answer = NULL;
    d->answer_bad = 0;
    int ready = d->ready;
    pthread_mutex_unlock(&d->lock);
    if (!ready) {
        rc = err_set(e, ERR_UNAVAILABLE, "mqtt: not connected to the broker");
        goto done;
    }
    int prc = mosquitto_publish(d->mosq, NULL, TOPIC_CONTROL, (int)len, text, 1, false);
    if (prc != MOSQ_ERR_SUCCESS) {
        rc = err_set(e, prc == MOSQ_ERR_NOMEM ? ERR_NOMEM : ERR_UNAVAILABLE, "mqtt: %s",
                     mosquitto_strerror(prc));
        goto done;
    }
    struct timespec until;
    deadline_in(&until, timeout_ms > 0 ? timeout_ms : INGEST_DYNSEC_TIMEOUT_MS);
    pthread_mutex_lock(&d->lock);
    while (d->answer == NULL && !d->answer_bad &&
           pthread_cond_timedwait(&d->cond, &d->lock, &until) != ETIMEDOUT) {
    }
    json_t *answer = d->answer;
    int bad = d->answer_bad;
    d->answer = NULL;
    pthread_mutex_unlock(&d->lock);
    if (answer == NULL)
        rc = bad ? err_set(e, ERR_INVALID, "dynsec: an answer that could not be read")
                 : err_set(e, ERR_UNAVAILABLE, "dynsec: no answer from the broker in time");
    else if (json_array_size(answer) != json_array_size(commands))
        rc = err_set(e, ERR_INVALID, "dynsec: %zu answers to %zu commands", json_array_size(answer),
                     json_array_size(commands));
    if (rc == 0 && responses != NULL)
        *responses = answer;
    else
        json_decref(answer);
done:
    pthread_mutex_lock(&d->lock);
    d->waiting[0] = '\0';
    pthread_mutex_unlock(&d->lock);
out:
    free(text);
    pthread_mutex_unlock(&d->call_lock);
    return rc;
}

/* The error text of response i, or NULL when it succeeded. */
static const char *error_of(const json_t *responses, size_t i)
{
    return json_string_value(json_object_get(json_array_get(responses, i), "error"));
}

/* Runs cmds (consumed) and fails with ERR_CONFLICT / ERR_INVALID naming the first command that
 * failed, unless its error is one of ok_errors (NULL-terminated; NULL: none). */
static int run_all(struct ingest_dynsec *d, json_t *cmds, const char *const *ok_errors,
                   struct err *e)
{
    if (cmds == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    json_t *res = NULL;
    int rc = ingest_dynsec_run(d, cmds, &res, INGEST_DYNSEC_TIMEOUT_MS, e);
    for (size_t i = 0; rc == 0 && i < json_array_size(res); i++) {
        const char *err = error_of(res, i);
        if (err == NULL)
            continue;
        int ok = 0;
        for (size_t k = 0; ok_errors != NULL && ok_errors[k] != NULL; k++)
            ok = strstr(err, ok_errors[k]) != NULL;
        if (ok)
            continue;
        const char *what = json_string_value(json_object_get(json_array_get(cmds, i), "command"));
        rc = err_set(e, strstr(err, "already") != NULL ? ERR_CONFLICT : ERR_INVALID,
                     "dynsec %s: %s", what != NULL ? what : "?", err);
    }
    json_decref(res);
    json_decref(cmds);
    return rc;
}

static int device_names(const char *device_id, char role[64], char topic[96], struct err *e)
{
    if (device_id == NULL || !ids_valid(device_id))
        return err_set(e, ERR_INVALID, "device: not a well-formed device id");
    snprintf(role, 64, INGEST_DEVICE_ROLE_PFX "%.*s", IDS_LEN, device_id);
    snprintf(topic, 96, INGEST_TOPIC_PREFIX "%.*s" INGEST_TOPIC_SUFFIX, IDS_LEN, device_id);
    return 0;
}

int ingest_dynsec_add_device(struct ingest_dynsec *d, const char *device_id, const char *password,
                             struct err *e)
{
    char role[64], topic[96];
    int rc = device_names(device_id, role, topic, e);
    if (rc != 0)
        return rc;
    if (password == NULL || password[0] == '\0')
        return err_set(e, ERR_INVALID, "device: no password");
    json_t *cmds = json_pack("[{s:s, s:s, s:s, s:[{s:s, s:s, s:b, s:i}]},"
                             " {s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:i}]}]",
                             "command", "createRole", "rolename", role, "textname", "cityos device",
                             "acls", "acltype", "publishClientSend", "topic", topic, "allow", 1,
                             "priority", 0, "command", "createClient", "username", device_id,
                             "password", password, "clientid", device_id, "textname",
                             "cityos device", "roles", "rolename", role, "priority", 0);
    rc = run_all(d, cmds, NULL, e);
    if (rc != 0 && rc != ERR_UNAVAILABLE && rc != ERR_NOMEM) {
        /* one of the two failed: take back what the other made, if it was ours to make */
        struct err ignored = {0};
        if (rc != ERR_CONFLICT)
            ingest_dynsec_remove_device(d, device_id, &ignored);
    }
    return rc;
}

int ingest_dynsec_remove_device(struct ingest_dynsec *d, const char *device_id, struct err *e)
{
    char role[64], topic[96];
    int rc = device_names(device_id, role, topic, e);
    if (rc != 0)
        return rc;
    static const char *const missing[] = {"not found", NULL};
    json_t *cmds = json_pack("[{s:s, s:s}, {s:s, s:s}]", "command", "deleteClient", "username",
                             device_id, "command", "deleteRole", "rolename", role);
    return run_all(d, cmds, missing, e);
}

int ingest_shared_filter(const char *group, char *out, size_t cap, struct err *e)
{
    if (group == NULL || group[0] == '\0' || strpbrk(group, "/+#") != NULL)
        return err_set(e, ERR_INVALID,
                       "ingest: the share group must be a non-empty name without "
                       "'/', '+' or '#'");
    int n = snprintf(out, cap, "$share/%s/%s", group, INGEST_TOPIC_READINGS);
    if (n < 0 || (size_t)n >= cap)
        return err_set(e, ERR_INVALID, "ingest: the share group is too long");
    return 0;
}

int ingest_dynsec_ensure_service(struct ingest_dynsec *d, const char *data_dir,
                                 const char *share_group, struct err *e)
{
    char path[CONFIG_STR_MAX + 32], secret[SECRET_MAX + 1], shared[160];
    int rc = secret_path(data_dir, path, sizeof path, e);
    if (rc == 0)
        rc = ingest_shared_filter(share_group != NULL ? share_group : INGEST_SHARE_GROUP, shared,
                                  sizeof shared, e);
    if (rc != 0)
        return rc;
    rc = read_secret(path, secret, sizeof secret, e);
    if (rc == ERR_NOTFOUND) {
        char made[64];
        new_secret(made);
        rc = write_secret(path, made, e);
        sodium_memzero(made, sizeof made);
        /* another process sharing the folder may have made it first: its secret is the one */
        if (rc == 0)
            rc = read_secret(path, secret, sizeof secret, e);
    }
    if (rc != 0)
        return rc;
    chmod(path, 0600);
    /* the role: made when missing, its ACLs (re)added (present ones are fine); the client: made
     * when missing, its password set to the file's; then the role given unless it has it */
    static const char *const exists[] = {"already", NULL};
    json_t *cmds = json_pack(
        "[{s:s, s:s, s:s},"
        " {s:s, s:s, s:s, s:s, s:b, s:i},"
        " {s:s, s:s, s:s, s:s, s:b, s:i},"
        " {s:s, s:s, s:s, s:s, s:b, s:i},"
        " {s:s, s:s, s:s, s:s},"
        " {s:s, s:s, s:s}]",
        "command", "createRole", "rolename", INGEST_SERVICE_USER, "textname", "cityos ingest",
        "command", "addRoleACL", "rolename", INGEST_SERVICE_USER, "acltype", "subscribePattern",
        "topic", shared, "allow", 1, "priority", 0, "command", "addRoleACL", "rolename",
        INGEST_SERVICE_USER, "acltype", "subscribePattern", "topic", INGEST_TOPIC_READINGS, "allow",
        1, "priority", 0, "command", "addRoleACL", "rolename", INGEST_SERVICE_USER, "acltype",
        "publishClientReceive", "topic", INGEST_TOPIC_READINGS, "allow", 1, "priority", 0,
        "command", "createClient", "username", INGEST_SERVICE_USER, "password", secret, "textname",
        "cityos ingest", "command", "setClientPassword", "username", INGEST_SERVICE_USER,
        "password", secret);
    sodium_memzero(secret, sizeof secret);
    rc = run_all(d, cmds, exists, e);
    if (rc != 0)
        return rc;
    /* Mosquitto 2.0.11 answers "Internal error" to addClientRole for a role the client holds,
     * so look first */
    json_t *res = NULL;
    cmds = json_pack("[{s:s, s:s}]", "command", "getClient", "username", INGEST_SERVICE_USER);
    if (cmds == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    rc = ingest_dynsec_run(d, cmds, &res, INGEST_DYNSEC_TIMEOUT_MS, e);
    json_decref(cmds);
    if (rc != 0)
        return rc;
    const json_t *roles = json_object_get(
        json_object_get(json_object_get(json_array_get(res, 0), "data"), "client"), "roles");
    int has = 0;
    for (size_t i = 0; i < json_array_size(roles); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(roles, i), "rolename"));
        has |= name != NULL && strcmp(name, INGEST_SERVICE_USER) == 0;
    }
    int missing = error_of(res, 0) != NULL;
    json_decref(res);
    if (missing)
        return err_set(e, ERR_INVALID, "dynsec getClient: the service account is missing");
    if (has)
        return 0;
    return run_all(d,
                   json_pack("[{s:s, s:s, s:s, s:i}]", "command", "addClientRole", "username",
                             INGEST_SERVICE_USER, "rolename", INGEST_SERVICE_USER, "priority", 0),
                   NULL, e);
}

/* ---- the process-wide connection ---- */

static struct ingest_dynsec *global;

int ingest_dynsec_start(const struct config *c, struct err *e)
{
    if (c->mqtt_port == 0)
        return 0;
    struct ingest_dynsec *d = NULL;
    int rc = ingest_dynsec_open(&d, c, e);
    if (rc == 0)
        rc = ingest_dynsec_ensure_service(d, c->data_dir, c->ingest_share_group, e);
    if (rc != 0) {
        ingest_dynsec_close(d);
        return rc;
    }
    global = d;
    log_info("mqtt: managing the broker at %s:%lld as %s", c->mqtt_host, c->mqtt_port,
             c->mqtt_admin_user);
    return 0;
}

struct ingest_dynsec *ingest_dynsec_global(void)
{
    return global;
}

void ingest_dynsec_stop(void)
{
    ingest_dynsec_close(global);
    global = NULL;
}
