/* test_import.c - `cityos import` against the demo town, read back the way a citizen reads: the
 * operator imports a specific health check-up CSV, NDJSON readings and a transaction Bundle into
 * 会津 太郎's record; 太郎 then finds them through GET /fhir and sees in his access log that the
 * operator imported them and from which source; a rerun skips everything; an import killed with
 * SIGKILL in the middle of a large file is rerun to exactly the right count, without duplicates;
 * rejected records are reported with their place and reason, and make the exit status 1. */
#include "trail.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TARO_EMAIL    "taro.aizu@example.jp"
#define TARO_PASS     "Minato-Tsuru-7Kq3-Bx9w"
#define APP_REDIRECT  "http://127.0.0.1:8765/callback"
#define PATIENT_SCOPE "openid launch/patient patient/*.cruds"
#define SOURCE        "aizu-kenshin-2025"
#define BIG_LINES     6000

struct fixture {
    char *dir;
    struct server *s;
    char app[64], trail_app[64], taro[32];
    char *t_taro;
};

static struct fixture *F;

/* Runs `cityos import --data-dir=<dir> args...` with stderr into err_path; returns the exit
 * status, or the pid (when nowait) for the caller to kill. */
static int import_run(const char *const *args, const char *err_path, int nowait)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            _exit(127);
        dup2(fd, 2);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        const char *argv[16];
        size_t n = 0;
        argv[n++] = getenv("CITYOS_BIN");
        argv[n++] = "import";
        argv[n++] = "--data-dir";
        argv[n++] = F->dir;
        argv[n++] = "--log-level=warn";
        for (size_t i = 0; args[i] != NULL && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (nowait)
        return (int)pid;
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16, len = 0, n;
    char *out = malloc(cap);
    assert_non_null(out);
    while ((n = fread(out + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    fclose(f);
    return out;
}

static char *path_in(const char *name)
{
    return str_printf("%s/%s", F->dir, name);
}

static struct resp call(const char *path)
{
    char *auth = str_printf("Authorization: Bearer %s", F->t_taro);
    const char *h[2] = {auth, NULL};
    struct resp r = api(F->s, "GET", path, h, NULL, 0);
    free(auth);
    return r;
}

static long count_mine(const char *query)
{
    char *q = str_printf("/fhir/Observation?patient=%s&%s&_summary=count", F->taro, query);
    struct resp r = call(q);
    assert_status(&r, 200);
    long n = (long)json_integer_value(json_object_get(r.json, "total"));
    resp_free(&r);
    free(q);
    return n;
}

#define OBS_CAT "http://terminology.hl7.org/CodeSystem/observation-category"

static char *weight(const char *when, int kg)
{
    return str_printf(
        "{\"resourceType\":\"Observation\",\"status\":\"final\",\"category\":[{\"coding\":[{"
        "\"system\":\"" OBS_CAT "\",\"code\":\"vital-signs\"}]}],\"code\":{\"coding\":[{"
        "\"system\":\"http://loinc.org\",\"code\":\"29463-7\"}]},\"subject\":{\"reference\":"
        "\"Patient/%s\"},\"effectiveDateTime\":\"%s\",\"valueQuantity\":{\"value\":%d,"
        "\"unit\":\"kg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}}",
        F->taro, when, kg);
}

/* The three input files of the first import. */
static void write_inputs(void)
{
    char *csv = str_printf(
        "person_id,date,height_cm,weight_kg,bmi,waist_cm,systolic_mmhg,diastolic_mmhg,"
        "hba1c_ngsp_pct,fasting_glucose_mg_dl,triglycerides_mg_dl,hdl_mg_dl,ldl_mg_dl,ast_u_l,"
        "alt_u_l,ggt_u_l,urine_protein\n"
        "%s,2025-06-01,165.2,68.4,25.1,88,142,88,5.9,104,150,52,131,24,28,45,±\n"
        "%s,2025-06-02,165.2,,,,,,,,,,,,,,,\n", /* one cell too many */
        F->taro, F->taro);
    char *p = path_in("kenshin.csv");
    write_file(p, csv);
    free(p);
    free(csv);
    char *w1 = weight("2024-01-10", 69), *w2 = weight("2024-02-10", 68);
    char *nd = str_printf("%s\n%s\n", w1, w2);
    p = path_in("scale.ndjson");
    write_file(p, nd);
    free(p);
    free(nd);
    free(w1);
    free(w2);
    w1 = weight("2024-03-10", 67);
    char *b = str_printf(
        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
        "{\"fullUrl\":\"urn:uuid:0b5a5e6e-0000-4000-8000-000000000001\",\"resource\":%s,"
        "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}},"
        "{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":"
        "\"体重の記録\"},\"subject\":{\"reference\":\"Patient/%s\"},\"derivedFrom\":[{"
        "\"reference\":\"urn:uuid:0b5a5e6e-0000-4000-8000-000000000001\"}]},"
        "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]}",
        w1, F->taro);
    p = path_in("clinic.json");
    write_file(p, b);
    free(p);
    free(b);
    free(w1);
}

static void test_import_then_read_back_as_the_citizen(void **state)
{
    (void)state;
    write_inputs();
    char *csv = path_in("kenshin.csv"), *nd = path_in("scale.ndjson"),
         *bundle = path_in("clinic.json"), *err = path_in("import.err"),
         *report = path_in("report.jsonl");
    const char *args[] = {"--source", SOURCE, "--report", report, csv, nd, bundle, NULL};
    assert_int_equal(import_run(args, err, 0), 1); /* one row rejected */
    char *out = slurp(err);
    assert_non_null(strstr(out, "imported 4 (19 resources), skipped 0 already imported, "
                                "rejected 1"));
    assert_non_null(strstr(out, "kenshin.csv line 3: 18 cells, the header has 17"));
    free(out);
    out = slurp(report);
    assert_non_null(strstr(out, "\"where\":\"line 3\""));
    assert_null(strchr(strchr(out, '\n') + 1, '\n')); /* exactly one line */
    free(out);

    /* 太郎 reads them through FHIR */
    assert_int_equal(count_mine("code=http://loinc.org|4548-4"), 1);
    assert_int_equal(count_mine("code=http://loinc.org|85354-9&date=2025-06-01"), 1);
    assert_int_equal(count_mine("code=http://loinc.org|29463-7&date=2024"), 3);
    assert_int_equal(count_mine("date=2025-06-01"), 15);
    char *q = str_printf("/fhir/Observation?patient=%s&code=http://loinc.org|4548-4", F->taro);
    struct resp r = call(q);
    assert_status(&r, 200);
    assert_non_null(strstr(r.body, "\"value\":5.9"));
    assert_non_null(strstr(r.body, "\"code\":\"%\""));
    assert_non_null(strstr(r.body, "urn:cityos:record-category"));
    resp_free(&r);
    free(q);
    /* the transaction's urn:uuid reference now names the stored Observation */
    q = str_printf("/fhir/Observation?patient=%s&code:text=体重の記録", F->taro);
    r = call(q);
    if (r.status == 200 && strstr(r.body, "derivedFrom") != NULL)
        assert_non_null(strstr(r.body, "\"reference\":\"Observation/"));
    resp_free(&r);
    free(q);

    /* his access log: the operator imported into his record, and from where */
    char *tok = trail_token(F->s, F->trail_app, TARO_EMAIL, TARO_PASS);
    json_t *items = trail_items(F->s, tok, 100);
    assert_true(trail_count(items, "import", "Observation") >= 19);
    json_t *it = trail_find(items, "import", "Observation");
    assert_non_null(it);
    assert_string_equal(trail_text(it, "who.kind"), "operator");
    assert_string_equal(trail_text(it, "why.decidedBy"), "rule:import");
    json_decref(items);
    free(tok);

    /* a rerun of the good files: everything skipped, exit 0 */
    const char *again[] = {"--source", SOURCE, nd, bundle, NULL};
    assert_int_equal(import_run(again, err, 0), 0);
    out = slurp(err);
    assert_non_null(strstr(out, "imported 0 (0 resources), skipped 3 already imported, "
                                "rejected 0"));
    free(out);
    assert_int_equal(count_mine("code=http://loinc.org|29463-7&date=2024"), 3);
    free(csv);
    free(nd);
    free(bundle);
    free(err);
    free(report);
}

static void test_killed_import_is_rerun_to_the_exact_count(void **state)
{
    (void)state;
    char *big = path_in("big.ndjson"), *err = path_in("big.err");
    FILE *f = fopen(big, "w");
    assert_non_null(f);
    for (int i = 0; i < BIG_LINES; i++) {
        char when[32];
        snprintf(when, sizeof when, "2001-01-01T%02d:%02d:%02dZ", i / 3600, i / 60 % 60, i % 60);
        char *w = weight(when, 50 + i % 40);
        fprintf(f, "%s\n", w);
        free(w);
    }
    fclose(f);
    const char *args[] = {"--source", "bulk", big, NULL};
    pid_t pid = (pid_t)import_run(args, err, 1);
    /* wait for the first progress line (every 2 s when stderr is not a terminal), then kill */
    int seen = 0;
    for (int i = 0; i < 600 && !seen; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        char *out = slurp(err);
        seen = strstr(out, "import: big.ndjson") != NULL;
        free(out);
    }
    assert_true(seen);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st)); /* killed in the middle, not finished */
    long before = count_mine("code=http://loinc.org|29463-7&date=2001");
    assert_true(before > 0 && before < BIG_LINES);

    assert_int_equal(import_run(args, err, 0), 0);
    char *out = slurp(err);
    char *want = str_printf("import: %d records: imported %ld (%ld resources), skipped %ld "
                            "already imported, rejected 0",
                            BIG_LINES, BIG_LINES - before, BIG_LINES - before, before);
    if (strstr(out, want) == NULL)
        fail_msg("rerun said:\n%s\nwanted: %s", out, want);
    free(want);
    free(out);
    assert_int_equal(count_mine("code=http://loinc.org|29463-7&date=2001"), BIG_LINES);
    free(big);
    free(err);
}

static void test_usage_errors(void **state)
{
    (void)state;
    char *err = path_in("usage.err");
    const char *none[] = {NULL};
    assert_int_equal(import_run(none, err, 0), 2);
    const char *bad_source[] = {"--source", "two words", "x.json", NULL};
    assert_int_equal(import_run(bad_source, err, 0), 2);
    char *out = slurp(err);
    assert_non_null(strstr(out, "--source"));
    free(out);
    const char *missing[] = {"/nonexistent/file.ndjson", NULL};
    assert_int_equal(import_run(missing, err, 0), 1);
    out = slurp(err);
    assert_non_null(strstr(out, "cannot be opened"));
    free(out);
    free(err);
}

/* ---- set-up ---- */

static int group_setup(void **state)
{
    (void)state;
    F = calloc(1, sizeof *F);
    F->dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=10 --seed=1 --data-dir='%s' >/dev/null 2>&1",
                           getenv("CITYOS_BIN"), F->dir);
    char *run = harness_command(cmd); /* a PostgreSQL run: the folder's database */
    assert_int_equal(system(run), 0);
    free(run);
    free(cmd);
    F->s = server_start_with(&(struct server_config){.data_dir = F->dir});
    const char *client = "{\"name\":\"Import test app\",\"kind\":\"public\",\"scopes\":"
                         "\"openid launch/patient patient/*.cruds\","
                         "\"grant_types\":[\"authorization_code\"],"
                         "\"redirect_uris\":[\"" APP_REDIRECT "\"]}";
    struct resp r = api(F->s, "POST", "/api/v1/admin/clients", LIST(AUTH_HEADER, JSON_HEADER),
                        client, strlen(client));
    assert_status(&r, 201);
    snprintf(F->app, sizeof F->app, "%s", json_string_value(json_object_get(r.json, "client_id")));
    resp_free(&r);
    trail_client_add(F->s, F->trail_app);
    F->t_taro =
        oidc_token(F->s, F->app, APP_REDIRECT, TARO_EMAIL, TARO_PASS, "self", PATIENT_SCOPE);
    r = call("/api/v1/me/consents");
    assert_status(&r, 200);
    snprintf(F->taro, sizeof F->taro, "%s", json_string_value(json_object_get(r.json, "subject")));
    resp_free(&r);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_free(F->s);
    remove_tree(F->dir);
    free(F->dir);
    free(F->t_taro);
    free(F);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_then_read_back_as_the_citizen),
        cmocka_unit_test(test_killed_import_is_rerun_to_the_exact_count),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
