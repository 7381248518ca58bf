/* test_demo.c - `cityos demo` as a specification: it seeds a town once (a second run seeds
 * nothing), the same seed gives the same town, and its back-end client gets a token. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define FORM_HEADER "Content-Type: application/x-www-form-urlencoded"

/* Runs `cityos demo` on dir; returns its stdout (malloc'ed) and sets *status to the exit code. */
static char *run_demo(const char *dir, int people, int seed, int *status)
{
    char *cmd = str_printf("'%s' demo --data-dir='%s' --people=%d --seed=%d 2>/dev/null",
                           getenv("CITYOS_BIN"), dir, people, seed);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    size_t got;
    while ((got = fread(out + n, 1, cap - 1 - n, p)) > 0)
        n += got;
    out[n] = '\0';
    int rc = pclose(p);
    *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    free(cmd);
    return out;
}

/* The text of the first line containing needle, from needle on (malloc'ed), or NULL. */
static char *line_from(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    if (p == NULL)
        return NULL;
    size_t n = strcspn(p, "\n");
    return str_printf("%.*s", (int)n, p);
}

/* The value after key= up to a space or the end of the line, in the line containing marker. */
static char *value_of(const char *text, const char *marker, const char *key)
{
    char *line = line_from(text, marker);
    assert_non_null(line);
    char *k = strstr(line, key);
    assert_non_null(k);
    k += strlen(key);
    char *v = str_printf("%.*s", (int)strcspn(k, " \n"), k);
    free(line);
    return v;
}

/* seed once, a second run seeds nothing; the sign-ins file is private; the printed back-end
 * client gets a client_credentials token from a server on that folder */
static void seeds_once_and_its_backend_client_works(void **state)
{
    (void)state;
    char *root = temp_dir();
    char *dir = str_printf("%s/data", root);
    int st = -1;
    char *out = run_demo(dir, 200, 7, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "seeded a demo town (seed 7): 208 people in "));
    assert_non_null(strstr(out, "5 organisations, 5 practitioner roles, 1 family link, 2 OAuth"));
    assert_non_null(strstr(out, "Demo sign-ins"));
    assert_non_null(strstr(out, "email=taro.aizu@example.jp password="));
    char *id = value_of(out, "back-end service", "client_id=");
    char *secret = value_of(out, "back-end service", "client_secret=");
    assert_int_equal(strlen(id), 26);
    assert_int_equal(strlen(secret), 43);
    char *app = value_of(out, "sample app", "client_id=");
    assert_int_equal(strlen(app), 26);
    free(app);

    char *file = str_printf("%s/demo-sign-ins.txt", dir);
    struct stat sb;
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    int st2 = -1;
    char *again = run_demo(dir, 200, 7, &st2);
    assert_int_equal(st2, 0);
    assert_non_null(strstr(again, "already has 208 people; nothing seeded"));
    assert_non_null(strstr(again, "already has 5 notices"));
    assert_null(strstr(again, "seeded a demo town"));

    struct server_config cfg = {.data_dir = dir};
    struct server *s = server_start_with(&cfg);
    char *auth = basic_auth_header(id, secret);
    const char *body = "grant_type=client_credentials";
    struct resp r = api(s, "POST", "/oauth/token", LIST(FORM_HEADER, auth), body, strlen(body));
    assert_status(&r, 200);
    const char *token = json_string_value(json_object_get(r.json, "access_token"));
    assert_non_null(token);
    char *bearer = str_printf("Authorization: Bearer %s", token);
    resp_free(&r);
    r = api(s, "GET", "/api/v1/me/token", LIST(bearer), NULL, 0);
    assert_status(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "client_id")), id);
    assert_string_equal(json_string_value(json_object_get(r.json, "scope")),
                        "system/Observation.rs system/Patient.rs");
    resp_free(&r);
    server_free(s);
    free(bearer);
    free(auth);
    free(file);
    free(again);
    free(secret);
    free(id);
    free(out);
    remove_tree(root);
    free(dir);
    free(root);
}

/* the content is a function of the seed (the regional ids are random by design) */
static void the_same_seed_gives_the_same_town(void **state)
{
    (void)state;
    char *roots[3], *outs[3];
    char *town[3], *first[3];
    const int seeds[3] = {7, 7, 8};
    for (int i = 0; i < 3; i++) {
        roots[i] = temp_dir();
        int st = -1;
        outs[i] = run_demo(roots[i], 200, seeds[i], &st);
        assert_int_equal(st, 0);
        town[i] = line_from(outs[i], "seeded a demo town");
        first[i] = line_from(outs[i], "first generated citizen");
        assert_non_null(town[i]);
        assert_non_null(first[i]);
    }
    /* the same seed: the same counts, the same first citizen, the same cast */
    char *t7 = strstr(town[0], "): "), *t7b = strstr(town[1], "): ");
    assert_string_equal(t7, t7b);
    assert_string_equal(first[0], first[1]);
    const char *cast[] = {"会津 太郎", "会津 花子", "佐藤 美咲", "山口 健一",
                          "渡部 誠",   "星 由美子", "小林 大輔", "斎藤 裕子"};
    for (size_t i = 0; i < sizeof cast / sizeof cast[0]; i++)
        for (int k = 0; k < 3; k++)
            assert_non_null(strstr(outs[k], cast[i]));
    /* another seed: another town */
    assert_true(strcmp(strstr(town[2], "): "), t7) != 0 || strcmp(first[2], first[0]) != 0);
    for (int i = 0; i < 3; i++) {
        remove_tree(roots[i]);
        free(roots[i]);
        free(outs[i]);
        free(town[i]);
        free(first[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seeds_once_and_its_backend_client_works),
        cmocka_unit_test(the_same_seed_gives_the_same_town),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
