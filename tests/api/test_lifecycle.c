/* test_lifecycle.c - the server process as a specification: start-up failures and their exit
 * codes, configuration precedence, graceful SIGTERM/SIGINT, and no acknowledged write lost. */
#include "harness.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTICE_JSON                                                                                \
    "{\"category\":\"general\",\"title\":{\"en\":\"Lifecycle\"},\"body\":{\"en\":\"Test\"}}"

/* Runs a server that is expected not to come up; returns how it exited. */
static int run_failing(struct server *s)
{
    int rc = server_launch(s);
    if (rc == 0) {
        server_stop(s);
        print_error("cityos started although it should have failed\n");
        fail();
    }
    return server_exit_status(s);
}

/* a port another server listens on -> exit 1, "cannot listen on 127.0.0.1:PORT: Address already
 * in use"; the first server keeps serving */
static void a_taken_port_exits_1(void **state)
{
    (void)state;
    struct server *first = server_start(NULL);
    char *port = str_printf("--port=%d", server_port(first));
    struct server *second = server_new(&(struct server_config){.args = LIST(port)});
    assert_int_equal(run_failing(second), 1);
    char *msg =
        str_printf("cannot listen on 127.0.0.1:%d: Address already in use", server_port(first));
    if (!server_log_has(second, msg)) {
        server_dump_log(second);
        fail_msg("no log line says \"%s\"", msg);
    }
    json_t *line = server_wait_log(second, "cannot listen on", NULL, NULL, 0);
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "level")), "error");
    json_decref(line);
    assert_true(health_ok(first));
    free(msg);
    free(port);
    server_free(second);
    assert_int_equal(server_stop(first), 0);
    server_free(first);
}

/* a data folder that cannot be created (its parent is a regular file) -> exit 1, and the error
 * names the folder */
static void an_unusable_data_folder_exits_1_naming_it(void **state)
{
    (void)state;
    char *root = temp_dir();
    char *file = str_printf("%s/plain-file", root);
    write_file(file, "not a folder\n");
    char *data = str_printf("%s/data", file);
    struct server *s = server_new(&(struct server_config){.data_dir = data});
    assert_int_equal(run_failing(s), 1);
    json_t *line = server_wait_log(s, NULL, "level", "error", 0);
    assert_non_null(line);
    const char *msg = json_string_value(json_object_get(line, "msg"));
    if (msg == NULL || strstr(msg, data) == NULL) {
        server_dump_log(s);
        fail_msg("the error does not name %s", data);
    }
    json_decref(line);
    server_free(s);
    remove_tree(root);
    free(data);
    free(file);
    free(root);
}

/* a bad option value, an unknown option or an unreadable config file -> exit 2 with
 * "cityos: <what is wrong>" on stderr, before anything is opened */
static void bad_configuration_exits_2(void **state)
{
    (void)state;
    char *root = temp_dir();
    char *bad_section = str_printf("%s/bad-section.ini", root);
    write_file(bad_section, "[server]\nport = 8080\n");
    char *bad_value = str_printf("%s/bad-value.ini", root);
    write_file(bad_value, "[cityos]\nbody_limit = lots\n");
    char *opt_section = str_printf("--config=%s", bad_section);
    char *opt_value = str_printf("--config=%s", bad_value);
    char *opt_missing = str_printf("--config=%s/missing.ini", root);
    struct {
        const char *const *args;
        const char *const *env;
        const char *says;
    } cases[] = {
        {LIST("--port=70000"), NULL, "cityos: flag: --port must be between 0 and 65535, not 70000"},
        {LIST("--port=http"), NULL, "cityos: flag: --port needs a number"},
        {LIST("--body-limit=lots"), NULL, "cityos: flag: --body-limit needs a number"},
        {LIST("--body-limit=1"), NULL, "--body-limit must be between"},
        {LIST("--log-level=loud"), NULL, "--log-level must be one of debug|info|warn|error"},
        {LIST("--admin-token=too-short"), NULL,
         "cityos: --admin-token must have at least 32 characters"},
        {LIST("--no-such-option=1"), NULL, "cityos: unknown option --no-such-option"},
        {LIST("stray"), NULL, "cityos: unexpected argument \"stray\""},
        {NULL, LIST("CITYOS_PORT=abc"), "cityos: env CITYOS_PORT: --port needs a number"},
        {LIST(opt_section), NULL, "unknown section [server]"},
        {LIST(opt_value), NULL, "--body-limit needs a number"},
        {LIST(opt_missing), NULL, "missing.ini: No such file or directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct server_config cfg = {.args = cases[i].args, .env = cases[i].env};
        struct server *s = server_new(&cfg);
        int status = run_failing(s);
        if (status != 2 || !server_log_has(s, cases[i].says)) {
            server_dump_log(s);
            fail_msg("case %zu: exit %d, expected 2 and \"%s\"", i, status, cases[i].says);
        }
        assert_false(server_log_has(s, "listening"));
        server_free(s);
    }
    remove_tree(root);
    free(opt_section);
    free(opt_value);
    free(opt_missing);
    free(bad_section);
    free(bad_value);
    free(root);
}

/* POSTs a notice whose English body has n characters; returns the status. */
static long post_sized(struct server *s, size_t n)
{
    char *text = str_repeat("a", n);
    char *json = str_printf("{\"category\":\"general\",\"title\":{\"en\":\"sized\"},"
                            "\"body\":{\"en\":\"%s\"}}",
                            text);
    struct resp r = notice_post(s, json);
    long status = r.status;
    if (status != 201 && status != 413)
        print_error("POST of %zu characters: %ld %s\n", n, r.status, r.body);
    resp_free(&r);
    free(json);
    free(text);
    return status;
}

/* options come from flags over CITYOS_* variables over the config file over defaults */
static void flags_beat_env_beat_config_file(void **state)
{
    (void)state;
    char *root = temp_dir();
    int p_file = free_port(), p_env = free_port(), p_flag = free_port();
    while (p_env == p_file)
        p_env = free_port();
    while (p_flag == p_file || p_flag == p_env)
        p_flag = free_port();
    char *ini = str_printf("%s/cityos.ini", root);
    char *data = str_printf("%s/from-file", root);
    char *text = str_printf("; test configuration\n[cityos]\nlisten = 127.0.0.1\nport = %d\n"
                            "data_dir = %s\nbody-limit = 2K\nadmin_token = %s\n",
                            p_file, data, ADMIN_TOKEN);
    write_file(ini, text);
    char *opt_config = str_printf("--config=%s", ini);
    char *env_config = str_printf("CITYOS_CONFIG=%s", ini);
    char *env_port = str_printf("CITYOS_PORT=%d", p_env);
    char *opt_port = str_printf("--port=%d", p_flag);

    /* file + env + flag: the flag's port, the env's body limit (4K), the file's data folder */
    struct server_config all = {.bare = 1,
                                .args = LIST(opt_config, opt_port),
                                .env = LIST(env_port, "CITYOS_BODY_LIMIT=4K")};
    struct server *s = server_start_with(&all);
    assert_int_equal(server_port(s), p_flag);
    json_t *line = server_wait_log(s, "listening on", NULL, NULL, 0);
    assert_string_equal(json_string_value(json_object_get(line, "data_dir")), data);
    json_decref(line);
    assert_int_equal(post_sized(s, 3000), 201); /* over the file's 2K: the env's 4K rules */
    assert_int_equal(post_sized(s, 5000), 413);
    assert_int_equal(server_stop(s), 0);
    server_free(s);

    /* file (named by CITYOS_CONFIG) + env: the env's port */
    struct server_config env = {.bare = 1, .env = LIST(env_config, env_port)};
    s = server_start_with(&env);
    assert_int_equal(server_port(s), p_env);
    assert_int_equal(notice_count(s), 1);       /* the same data folder, from the file */
    assert_int_equal(post_sized(s, 3000), 413); /* the file's 2K */
    assert_int_equal(server_stop(s), 0);
    server_free(s);

    /* file only: the file's port */
    struct server_config file = {.bare = 1, .args = LIST(opt_config)};
    s = server_start_with(&file);
    assert_int_equal(server_port(s), p_file);
    assert_int_equal(post_sized(s, 1000), 201);
    assert_int_equal(notice_count(s), 2);
    assert_int_equal(server_stop(s), 0);
    server_free(s);

    remove_tree(root);
    free(opt_port);
    free(env_port);
    free(env_config);
    free(opt_config);
    free(text);
    free(data);
    free(ini);
    free(root);
}

/* SIGINT stops an idle server like SIGTERM: exit 0, "stopped" logged */
static void sigint_stops_cleanly(void **state)
{
    (void)state;
    struct server *s = server_start(NULL);
    server_send_signal(s, SIGINT);
    assert_int_equal(server_wait_exit(s, 20000), 0);
    assert_true(server_log_has(s, "received SIGINT"));
    assert_true(server_log_has(s, "stopped"));
    server_free(s);
}

struct slow_post {
    struct server *s;
    struct body_stream body;
    long status;
    int closes; /* the answer said Connection: close (it came while draining) */
    char *id;
};

static void *slow_post_thread(void *arg)
{
    struct slow_post *p = arg;
    struct request rq = {.method = "POST",
                         .path = NOTICES,
                         .headers = LIST(AUTH_HEADER, JSON_HEADER),
                         .read = body_stream_read,
                         .read_ctx = &p->body,
                         .read_len = (long long)p->body.len,
                         .timeout_ms = 30000};
    CURL *c = client_new();
    struct resp r = http_exchange(c, server_port(p->s), &rq);
    p->status = r.status;
    const char *conn = resp_header(&r, "Connection");
    p->closes = conn != NULL && strcmp(conn, "close") == 0;
    const char *id = json_string_value(json_object_get(r.json, "id"));
    p->id = id ? str_printf("%s", id) : NULL;
    resp_free(&r);
    curl_easy_cleanup(c);
    return NULL;
}

enum { IN_FLIGHT = 4, SPARE_CONNECTIONS = 3 };

/* What the test saw around a SIGTERM; gathered without asserting, so that the clients waiting
 * at the gate are always released and joined before anything can fail. */
struct drain_seen {
    int clients_waiting; /* every client sent headers and part of its body */
    double inflight;     /* the server's gauge before the SIGTERM */
    int draining_logged;
    struct resp health; /* the first non-200 /health answer on an open connection */
    int refused;        /* a new connection was refused */
};

static struct resp get_on(CURL *c, struct server *s, const char *path)
{
    struct request rq = {.method = "GET", .path = path, .timeout_ms = 5000};
    return http_exchange(c, server_port(s), &rq);
}

static void observe_drain(struct server *s, struct gate *gate, CURL **spare, struct drain_seen *d)
{
    d->clients_waiting = gate_await_waiters(gate, IN_FLIGHT, 10000);
    if (!d->clients_waiting)
        return;
    for (uint64_t until = now_ms() + 10000; d->inflight < IN_FLIGHT + 1 && now_ms() < until;) {
        struct resp m = get_on(spare[0], s, "/metrics");
        d->inflight = metric_value(m.body, "cityos_http_inflight_requests"); /* + this scrape */
        resp_free(&m);
        if (d->inflight < IN_FLIGHT + 1)
            sleep_ms(10);
    }
    if (d->inflight < IN_FLIGHT + 1)
        return;
    for (int i = 1; i < SPARE_CONNECTIONS; i++) { /* open, and keep open */
        struct resp h = get_on(spare[i], s, "/health");
        resp_free(&h);
    }

    server_send_signal(s, SIGTERM);
    json_t *line = server_wait_log(s, "received SIGTERM", NULL, NULL, 10000);
    d->draining_logged = line != NULL;
    json_decref(line);

    /* /health on the open connections until it is no longer 200; a 200 that raced with the
     * start of the drain may close its connection, so move on to the next one then */
    int k = 0;
    for (uint64_t until = now_ms() + 5000; k < SPARE_CONNECTIONS && now_ms() < until;) {
        resp_free(&d->health);
        d->health = get_on(spare[k], s, "/health");
        if (d->health.status != 200)
            break;
        const char *conn = resp_header(&d->health, "Connection");
        if (conn != NULL && strcmp(conn, "close") == 0)
            k++;
        sleep_ms(5);
    }

    for (uint64_t until = now_ms() + 5000; !d->refused && now_ms() < until; sleep_ms(5)) {
        CURL *c = client_new();
        struct resp n = get_on(c, s, "/health");
        d->refused = n.status == 0 && strstr(n.error, "Failed to connect") != NULL;
        resp_free(&n);
        curl_easy_cleanup(c);
    }
}

/* SIGTERM while POSTs are in flight: the server refuses new connections, answers /health with
 * 503 on open ones, lets the POSTs complete with 201, logs "stopped" and exits 0; after a
 * restart every one of those notices is there */
static void sigterm_lets_in_flight_posts_finish(void **state)
{
    (void)state;
    struct server *s = server_start(NULL);
    struct gate gate;
    gate_init(&gate);
    struct slow_post posts[IN_FLIGHT];
    pthread_t threads[IN_FLIGHT];
    for (int i = 0; i < IN_FLIGHT; i++) {
        posts[i] = (struct slow_post){
            .s = s,
            .body = {.data = NOTICE_JSON, .len = strlen(NOTICE_JSON), .first = 20, .gate = &gate}};
        assert_int_equal(pthread_create(&threads[i], NULL, slow_post_thread, &posts[i]), 0);
    }
    CURL *spare[SPARE_CONNECTIONS];
    for (int i = 0; i < SPARE_CONNECTIONS; i++)
        spare[i] = client_new();
    struct drain_seen seen = {0};
    observe_drain(s, &gate, spare, &seen);
    gate_open(&gate); /* the rest of each body */
    for (int i = 0; i < IN_FLIGHT; i++)
        pthread_join(threads[i], NULL);
    gate_release(&gate);
    for (int i = 0; i < SPARE_CONNECTIONS; i++)
        curl_easy_cleanup(spare[i]);

    assert_true(seen.clients_waiting);
    assert_true(seen.inflight >= IN_FLIGHT + 1);
    assert_true(seen.draining_logged);
    assert_problem(&seen.health, 503, "unavailable");
    assert_header(&seen.health, "Connection", "close");
    resp_free(&seen.health);
    assert_true(seen.refused);

    assert_int_equal(server_wait_exit(s, 20000), 0);
    assert_true(server_log_has(s, "stopped"));
    for (int i = 0; i < IN_FLIGHT; i++) {
        if (posts[i].status != 201)
            server_dump_log(s);
        assert_int_equal(posts[i].status, 201);
        assert_true(posts[i].closes); /* answered while draining */
        assert_non_null(posts[i].id);
    }

    server_restart(s);
    assert_int_equal(notice_count(s), IN_FLIGHT);
    for (int i = 0; i < IN_FLIGHT; i++) {
        char *path = str_printf(NOTICES "/%s", posts[i].id);
        struct resp r = api_get(s, path);
        assert_status(&r, 200);
        resp_free(&r);
        free(path);
        free(posts[i].id);
    }
    assert_int_equal(server_stop(s), 0);
    server_free(s);
}

/* ---- kill -9 under load ---- */

enum { WRITERS = 4, MAX_ACKED = 100000 };

struct load {
    struct server *s;
    atomic_int stop;
    atomic_int acked;
    pthread_mutex_t lock;
    char **ids;  /* acknowledged ids */
    char **docs; /* and the documents the 201s carried */
    size_t n;
    int unexpected; /* a status other than 201 before the kill */
};

static void *writer_thread(void *arg)
{
    struct load *l = arg;
    CURL *c = client_new();
    int port = server_port(l->s);
    for (int i = 0; !atomic_load(&l->stop); i++) {
        char *json = str_printf("{\"category\":\"event\",\"title\":{\"en\":\"load %d\"},"
                                "\"body\":{\"en\":\"written under load\"}}",
                                i);
        struct request rq = {.method = "POST",
                             .path = NOTICES,
                             .headers = LIST(AUTH_HEADER, JSON_HEADER),
                             .body = json,
                             .len = strlen(json),
                             .timeout_ms = 10000};
        struct resp r = http_exchange(c, port, &rq);
        free(json);
        const char *id = json_string_value(json_object_get(r.json, "id"));
        if (r.status == 201 && id != NULL) {
            pthread_mutex_lock(&l->lock);
            if (l->n < MAX_ACKED) {
                l->ids[l->n] = str_printf("%s", id);
                l->docs[l->n] = str_printf("%s", r.body);
                l->n++;
            }
            pthread_mutex_unlock(&l->lock);
            atomic_fetch_add(&l->acked, 1);
        } else if (!atomic_load(&l->stop)) {
            l->unexpected = 1;
            resp_free(&r);
            break;
        }
        resp_free(&r);
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* kill -9 during a stream of concurrent POSTs: after a restart every notice whose POST was
 * answered 201 is there, byte for byte */
static void kill9_loses_no_acknowledged_write(void **state)
{
    (void)state;
    struct server *s = server_start(NULL);
    struct load l = {.s = s};
    atomic_init(&l.stop, 0);
    atomic_init(&l.acked, 0);
    pthread_mutex_init(&l.lock, NULL);
    l.ids = calloc(MAX_ACKED, sizeof *l.ids);
    l.docs = calloc(MAX_ACKED, sizeof *l.docs);
    assert_non_null(l.ids);
    assert_non_null(l.docs);
    pthread_t threads[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, writer_thread, &l), 0);
    for (uint64_t until = now_ms() + 5000; atomic_load(&l.acked) < 200 && now_ms() < until;)
        sleep_ms(5);
    atomic_store(&l.stop, 1);
    int killed = server_kill9(s);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(killed, 128 + SIGKILL);
    assert_false(l.unexpected);
    assert_true(l.n >= 20);

    server_restart(s);
    long count = notice_count(s);
    print_message("acknowledged before kill -9: %zu; present after restart: %ld\n", l.n, count);
    assert_true(count >= (long)l.n);
    for (size_t i = 0; i < l.n; i++) {
        char *path = str_printf(NOTICES "/%s", l.ids[i]);
        struct resp r = api_get(s, path);
        if (r.status != 200)
            print_error("acknowledged notice %s (%zu of %zu) is lost\n", l.ids[i], i, l.n);
        assert_status(&r, 200);
        assert_string_equal(r.body, l.docs[i]);
        resp_free(&r);
        free(path);
        free(l.ids[i]);
        free(l.docs[i]);
    }
    free(l.ids);
    free(l.docs);
    pthread_mutex_destroy(&l.lock);
    assert_int_equal(server_stop(s), 0);
    server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_taken_port_exits_1),
        cmocka_unit_test(an_unusable_data_folder_exits_1_naming_it),
        cmocka_unit_test(bad_configuration_exits_2),
        cmocka_unit_test(flags_beat_env_beat_config_file),
        cmocka_unit_test(sigint_stops_cleanly),
        cmocka_unit_test(sigterm_lets_in_flight_posts_finish),
        cmocka_unit_test(kill9_loses_no_acknowledged_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
