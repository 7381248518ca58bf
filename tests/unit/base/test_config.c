/* test_config.c - the option table: defaults, bounds, suffixes, and the precedence
 * flag > environment > file > default; --help generated from the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/config.h"

static void clear_env(void)
{
    for (const struct config_option *o = config_options; o->name != NULL; o++)
        unsetenv(o->env);
}

static void defaults_come_from_the_table(void **state)
{
    (void)state;
    struct config c;
    config_defaults(&c);
    assert_int_equal(c.port, 8080);
    assert_int_equal(c.body_limit, 1024 * 1024);
    assert_int_equal(c.header_limit, 16 * 1024);
    assert_string_equal(c.data_dir, "data");
    assert_string_equal(c.log_level, "info");
    assert_string_equal(c.admin_token, "");
}

static void values_are_checked_against_bounds(void **state)
{
    (void)state;
    struct config c;
    struct err e;
    config_defaults(&c);
    assert_int_equal(config_set(&c, "port", "65536", "flag", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "between 0 and 65535"));
    assert_int_equal(config_set(&c, "port", "80x", "flag", &e), ERR_INVALID);
    assert_int_equal(config_set(&c, "body-limit", "2M", "flag", &e), 0);
    assert_int_equal(c.body_limit, 2 * 1024 * 1024);
    assert_int_equal(config_set(&c, "body-limit", "512KiB", "flag", &e), 0);
    assert_int_equal(c.body_limit, 512 * 1024);
    assert_int_equal(config_set(&c, "body-limit", "1G", "flag", &e), ERR_INVALID);
    assert_int_equal(config_set(&c, "body-limit", "-1M", "flag", &e), ERR_INVALID);
    assert_int_equal(config_set(&c, "log-level", "loud", "flag", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "debug|info|warn|error"));
    assert_int_equal(config_set(&c, "data_dir", "/srv/cityos", "file x", &e), 0);
    assert_string_equal(c.data_dir, "/srv/cityos");
    assert_int_equal(config_set(&c, "data-dir", "", "flag", &e), ERR_INVALID);
    assert_int_equal(config_set(&c, "no-such", "1", "flag", &e), ERR_INVALID);
}

static void flag_beats_env_beats_file(void **state)
{
    (void)state;
    clear_env();
    char path[] = "/tmp/cityos-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char ini[] = "[cityos]\nport = 7000\nthreads = 3\nbody_limit = 64K\nlog-level = warn\n";
    assert_int_equal(write(fd, ini, sizeof ini - 1), (ssize_t)(sizeof ini - 1));
    close(fd);
    setenv("CITYOS_THREADS", "5", 1);
    setenv("CITYOS_PORT", "7001", 1);
    char a0[] = "--config", a2[] = "--port=7002";
    char *argv[] = {a0, path, a2};
    struct config c;
    struct err e = {0};
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 3, argv, stdout, &e), 0);
    assert_int_equal(c.port, 7002);            /* flag */
    assert_int_equal(c.threads, 5);            /* env over file */
    assert_int_equal(c.body_limit, 64 * 1024); /* file */
    assert_string_equal(c.log_level, "warn");  /* file */
    assert_int_equal(c.request_timeout, 60);   /* default */
    clear_env();
    unlink(path);
}

static void bad_sources_are_named(void **state)
{
    (void)state;
    clear_env();
    struct config c;
    struct err e = {0};
    setenv("CITYOS_PORT", "http", 1);
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 0, NULL, stdout, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "env CITYOS_PORT"));
    clear_env();

    char a0[] = "--threads";
    char *argv1[] = {a0};
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 1, argv1, stdout, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "needs a value"));

    char b0[] = "--port=1"; /* migrate does not listen */
    char *argv2[] = {b0};
    assert_int_equal(config_load(&c, CONFIG_CMD_MIGRATE, 1, argv2, stdout, &e), ERR_INVALID);

    char c0[] = "--admin-token=short";
    char *argv3[] = {c0};
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 1, argv3, stdout, &e), ERR_INVALID);

    char d0[] = "--config=/nonexistent/cityos.ini";
    char *argv4[] = {d0};
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 1, argv4, stdout, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "/nonexistent/cityos.ini"));

    char path[] = "/tmp/cityos-config-XXXXXX";
    int fd = mkstemp(path);
    const char ini[] = "[other]\nport = 1\n";
    assert_int_equal(write(fd, ini, sizeof ini - 1), (ssize_t)(sizeof ini - 1));
    close(fd);
    char e0[] = "--config";
    char *argv5[] = {e0, path};
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 2, argv5, stdout, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "unknown section"));
    unlink(path);
}

/* config_load for serve with one flag; 0 or the error (message in e). */
static int serve_with(const char *flag, struct config *c, struct err *e)
{
    char a0[512];
    snprintf(a0, sizeof a0, "%s", flag);
    char *argv[] = {a0};
    return config_load(c, CONFIG_CMD_SERVE, 1, argv, stdout, e);
}

static void controller_options_are_read_and_checked(void **state)
{
    (void)state;
    clear_env();
    struct config c;
    struct err e = {0};
    /* the defaults: the city of Aizuwakamatsu; no e-mail (the issuer's host is used) */
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 0, NULL, stdout, &e), 0);
    assert_string_equal(c.controller_name_ja, "会津若松市");
    assert_string_equal(c.controller_name_en, "Aizuwakamatsu City");
    assert_string_equal(c.controller_phone, "+81-242-39-1111");
    assert_non_null(strstr(c.controller_address, "会津若松市"));
    assert_string_equal(c.controller_email, "");
    /* from a file key, the environment and a flag */
    char path[] = "/tmp/cityos-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char ini[] = "[cityos]\ncontroller_name_en = Test City\ncontroller-phone = +81 3 1234 "
                       "5678\n";
    assert_int_equal(write(fd, ini, sizeof ini - 1), (ssize_t)(sizeof ini - 1));
    close(fd);
    setenv("CITYOS_CONTROLLER_NAME_JA", "試験市", 1);
    char a0[] = "--config", a2[] = "--controller-email=Privacy.Office+cr@city.example.jp";
    char *argv[] = {a0, path, a2};
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 3, argv, stdout, &e), 0);
    assert_string_equal(c.controller_name_en, "Test City");
    assert_string_equal(c.controller_phone, "+81 3 1234 5678");
    assert_string_equal(c.controller_name_ja, "試験市");
    assert_string_equal(c.controller_email, "Privacy.Office+cr@city.example.jp");
    clear_env();
    unlink(path);
    /* refusals, each naming its option */
    static const struct {
        const char *flag, *option;
    } bad[] = {
        {"--controller-name-ja=", "controller-name-ja"},
        {"--controller-name-en= Test City", "controller-name-en"},
        {"--controller-name-en=Test City ", "controller-name-en"},
        {"--controller-name-en=Test\tCity", "controller-name-en"},
        {"--controller-name-ja=\xe4\xbc", "controller-name-ja"}, /* cut UTF-8 */
        {"--controller-address=\x7f", "controller-address"},
        {"--controller-phone=0242-39-1111", "controller-phone"},
        {"--controller-phone=+81--242", "controller-phone"},
        {"--controller-phone=+81-242-", "controller-phone"},
        {"--controller-phone=+0-242-39-1111", "controller-phone"},
        {"--controller-phone=+81-2", "controller-phone"},
        {"--controller-phone=+1234567890123456", "controller-phone"},
        {"--controller-phone=+81-242-39-1111 ext 2", "controller-phone"},
        {"--controller-email=privacy", "controller-email"},
        {"--controller-email=@city.example.jp", "controller-email"},
        {"--controller-email=privacy@localhost", "controller-email"},
        {"--controller-email=privacy@@city.example.jp", "controller-email"},
        {"--controller-email=a@b@city.example.jp", "controller-email"},
        {"--controller-email=.privacy@city.example.jp", "controller-email"},
        {"--controller-email=pri..vacy@city.example.jp", "controller-email"},
        {"--controller-email=privacy@-city.example.jp", "controller-email"},
        {"--controller-email=privacy@city..example.jp", "controller-email"},
        {"--controller-email=privacy@city.example.jp.", "controller-email"},
        {"--controller-email=pri vacy@city.example.jp", "controller-email"},
        {"--controller-email=プライバシー@city.example.jp", "controller-email"},
        {"--controller-email=privacy@city_hall.example.jp", "controller-email"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e = (struct err){0};
        if (serve_with(bad[i].flag, &c, &e) != ERR_INVALID)
            fail_msg("accepted: %s", bad[i].flag);
        if (strstr(e.msg, bad[i].option) == NULL)
            fail_msg("%s: %s", bad[i].flag, e.msg);
    }
    /* too long: the table's bound */
    char long_name[300];
    memset(long_name, 'a', sizeof long_name);
    memcpy(long_name, "--controller-name-en=", 21);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(serve_with(long_name, &c, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "longer than 200"));
    /* other commands do not take them */
    char m0[] = "--controller-phone=+81-3-1234-5678";
    char *argv2[] = {m0};
    assert_int_equal(config_load(&c, CONFIG_CMD_MIGRATE, 1, argv2, stdout, &e), ERR_INVALID);
}

static void help_lists_every_option_of_the_command(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    char h[] = "--help";
    char *argv[] = {h};
    struct config c;
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 1, argv, out, NULL), 1);
    fclose(out);
    for (const struct config_option *o = config_options; o->name != NULL; o++) {
        if (o->commands & CONFIG_CMD_SERVE) {
            assert_non_null(strstr(text, o->name));
            assert_non_null(strstr(text, o->env));
        }
    }
    free(text);
}

static void roles_are_a_set_of_api_ingest_worker(void **state)
{
    (void)state;
    clear_env();
    struct config c;
    struct err e;
    unsigned r = 0;
    config_defaults(&c);
    assert_int_equal(c.roles, CONFIG_ROLE_ALL);
    static const struct {
        const char *text;
        unsigned bits;
    } good[] = {{"all", CONFIG_ROLE_ALL},
                {"api", CONFIG_ROLE_API},
                {"ingest", CONFIG_ROLE_INGEST},
                {"worker", CONFIG_ROLE_WORKER},
                {"worker,api", CONFIG_ROLE_API | CONFIG_ROLE_WORKER},
                {"api,ingest,worker", CONFIG_ROLE_ALL},
                {"api,all", CONFIG_ROLE_ALL},
                {"ingest,ingest", CONFIG_ROLE_INGEST}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(config_roles_parse(good[i].text, &r, &e), 0);
        assert_int_equal(r, good[i].bits);
    }
    static const char *const bad[] = {"",    ",",          "api,", ",api", "api,,worker",
                                      "API", "api worker", "web",  "apis", "api;worker"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = 99;
        assert_int_equal(config_roles_parse(bad[i], &r, &e), ERR_INVALID);
        assert_non_null(strstr(e.msg, "--role"));
        assert_int_equal(r, 99);
    }
    /* through config_load: parsed for serve, refused with the option named */
    char *ok[] = {"--role=ingest,worker"};
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 1, ok, stdout, &e), 0);
    assert_int_equal(c.roles, CONFIG_ROLE_INGEST | CONFIG_ROLE_WORKER);
    char *no[] = {"--role=ingest,web"};
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 1, no, stdout, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "\"web\" is not a role"));
    /* the MQTT names: no '/', '+', '#' or anything but letters, digits, - _ . */
    char *group[] = {"--ingest-share-group=a/b"};
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 1, group, stdout, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "--ingest-share-group"));
    char *cid[] = {"--ingest-client-id=ingest+1"};
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 1, cid, stdout, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "--ingest-client-id"));
    char *fine[] = {"--ingest-client-id=ingest-a.1_x", "--ingest-share-group=g-2"};
    assert_int_equal(config_load(&c, CONFIG_CMD_SERVE, 2, fine, stdout, &e), 0);
    assert_string_equal(c.ingest_client_id, "ingest-a.1_x");
    assert_string_equal(c.ingest_share_group, "g-2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_come_from_the_table),
        cmocka_unit_test(values_are_checked_against_bounds),
        cmocka_unit_test(flag_beats_env_beats_file),
        cmocka_unit_test(bad_sources_are_named),
        cmocka_unit_test(controller_options_are_read_and_checked),
        cmocka_unit_test(help_lists_every_option_of_the_command),
        cmocka_unit_test(roles_are_a_set_of_api_ingest_worker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
