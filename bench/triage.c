/* triage.c - benchmark of the triage engine: one evaluation = a citizen's QuestionnaireResponse
 * (JSON text, as POST /api/v1/me/triage receives it) parsed strictly, read against the
 * questionnaire (R4 shape, types, enableWhen, required), every rule of the table evaluated and
 * the result JSON built, in a fresh arena; cycling through four answer sets (the S1 routine
 * follow-up, chest pain with a cold sweat, a fever, a minor injury). Evaluations per second on
 * one core, median of 5 runs; also the engine alone (answers already read). Not a test.
 * Usage: triage [evaluations per run] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "base/jsonx.h"
#include "services/triage/triage.h"

#define RUNS 5

#define B(link, v) "{\"linkId\":\"" link "\",\"answer\":[{\"valueBoolean\":" #v "}]}"
#define C(link, code)                                                                              \
    "{\"linkId\":\"" link "\",\"answer\":[{\"valueCoding\":{\"code\":\"" code "\"}}]}"
#define GENERAL                                                                                    \
    B("rf.unresponsive", false)                                                                    \
    "," B("rf.breathing", false) "," B("rf.stroke", false) "," B("rf.seizure", false) "," B(       \
        "rf.bleeding", false) ","                                                                  \
                              "{\"linkId\":\"age\",\"answer\":[{\"valueInteger\":70}]}," B(        \
                                  "risk.hypertension",                                             \
                                  true) "," B("risk.diabetes",                                     \
                                              false) "," B("risk.kidney",                          \
                                                           false) "," B("risk.smoking", false)
#define HEAD                                                                                       \
    "{\"resourceType\":\"QuestionnaireResponse\",\"questionnaire\":"                               \
    "\"urn:cityos:questionnaire:triage\",\"status\":\"completed\",\"item\":["

static const char *const cases[] = {
    HEAD GENERAL "," B("rf.pale", false) "," C("purpose", "routine") "]}",
    HEAD GENERAL "," B("rf.pale", true) "," C("purpose", "symptom") "," C("symptom", "chest") "," B(
        "chest.sudden", false) "," B("chest.pressure",
                                     true) "," B("chest.breath_cough",
                                                 false) "," B("chest.fever",
                                                              false) "," B("chest.local",
                                                                           false) "]}",
    HEAD GENERAL "," B("rf.pale", false) "," C("purpose", "symptom") "," C(
        "symptom", "fever") ",{\"linkId\":\"fever.temp\",\"answer\":[{\"valueDecimal\":38.4}]"
                            "}," B("fever.stiff_neck", false) "," B("fever.breath", true) "]}",
    HEAD GENERAL
    "," B("rf.pale", false) "," C("purpose", "symptom") "," C("symptom", "injury") "," B(
        "inj.high_energy",
        false) "," B("inj.head", false) "," B("inj.deformity",
                                              false) "," B("inj.wound", false) "," B("inj.burn",
                                                                                     false) "]}",
};
#define NCASES (sizeof cases / sizeof cases[0])

static double now_s(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The whole path for one request body; returns the level (kept so the work is used). */
static int full(const struct triage_table *t, const char *text)
{
    struct err e = {0};
    struct arena *a = arena_new(16 * 1024);
    json_t *in = jsonx_parse(text, strlen(text), &e);
    struct triage_answer *ans = NULL;
    struct triage_result r;
    if (a == NULL || in == NULL || triage_answers_parse(t, in, NULL, a, &ans, &e) != 0 ||
        triage_evaluate(t, ans, a, &r, &e) != 0) {
        fprintf(stderr, "triage bench: %s\n", e.msg);
        exit(1);
    }
    json_t *out = triage_result_json(t, ans, &r);
    if (out == NULL)
        exit(1);
    json_decref(out);
    json_decref(in);
    arena_free(a);
    return (int)r.level;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    if (n <= 0)
        n = 20000;
    struct triage_table *t = NULL;
    struct err e = {0};
    if (triage_table_load(triage_embedded_files(), &t, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    /* the answers of each case, read once, for the engine-only runs */
    struct arena *keep = arena_new(64 * 1024);
    struct triage_answer *answers[NCASES];
    for (size_t i = 0; i < NCASES; i++) {
        json_t *in = jsonx_parse(cases[i], strlen(cases[i]), &e);
        if (in == NULL || triage_answers_parse(t, in, NULL, keep, &answers[i], &e) != 0) {
            fprintf(stderr, "case %zu: %s\n", i, e.msg);
            return 1;
        }
        json_decref(in);
    }
    double full_cpu[RUNS], full_wall[RUNS], eng[RUNS];
    long sink = 0;
    for (int run = 0; run < RUNS; run++) {
        double c0 = now_s(CLOCK_THREAD_CPUTIME_ID), w0 = now_s(CLOCK_MONOTONIC);
        for (long i = 0; i < n; i++)
            sink += full(t, cases[i % NCASES]);
        double c1 = now_s(CLOCK_THREAD_CPUTIME_ID), w1 = now_s(CLOCK_MONOTONIC);
        full_cpu[run] = (double)n / (c1 - c0);
        full_wall[run] = (double)n / (w1 - w0);
        struct arena *a = arena_new(64 * 1024);
        double e0 = now_s(CLOCK_THREAD_CPUTIME_ID);
        for (long i = 0; i < 10 * n; i++) {
            struct triage_result r;
            if (triage_evaluate(t, answers[i % NCASES], a, &r, &e) != 0)
                return 1;
            sink += (long)r.level;
            if (i % 1024 == 1023) { /* the reasons accumulate in the arena */
                arena_free(a);
                a = arena_new(64 * 1024);
            }
        }
        double e1 = now_s(CLOCK_THREAD_CPUTIME_ID);
        arena_free(a);
        eng[run] = (double)(10 * n) / (e1 - e0);
    }
    printf("triage: %zu questions, %zu rules, tables %s, %ld evaluations per run, %d runs\n",
           t->nitems, t->nrules, t->version, n, RUNS);
    printf("  full request (parse + check + evaluate + result JSON): median %.0f/s CPU, %.0f/s "
           "wall (one core)\n",
           bench_median(full_cpu, RUNS), bench_median(full_wall, RUNS));
    printf("  engine alone (every rule on read answers): median %.0f/s CPU\n",
           bench_median(eng, RUNS));
    printf("  (checksum %ld)\n", sink);
    arena_free(keep);
    triage_table_free(t);
    return 0;
}
