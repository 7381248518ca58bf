/* fhir_validate.c - benchmark of the FHIR R4 validator in-process: validations per second of a
 * blood-pressure Observation (LOINC 85354-9 with 8480-6 and 8462-4 components) and of a
 * 100-entry transaction Bundle of such Observations, already parsed (the parse is measured
 * apart), median of 5 runs of about 1 s each, one core. Not a test. Usage: fhir_validate [s] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "fhir/validate.h"

#define RUNS 5

#define BP                                                                                         \
    "{\"resourceType\":\"Observation\",\"status\":\"final\",\"category\":[{\"coding\":[{"          \
    "\"system\":\"http://terminology.hl7.org/CodeSystem/observation-category\",\"code\":"          \
    "\"vital-signs\",\"display\":\"Vital Signs\"}]}],\"code\":{\"coding\":[{\"system\":"           \
    "\"http://loinc.org\",\"code\":\"85354-9\",\"display\":\"Blood pressure panel with all "       \
    "children optional\"}],\"text\":\"Blood pressure\"},\"subject\":{\"reference\":"               \
    "\"Patient/p1\"},\"effectiveDateTime\":\"2026-11-25T09:30:00+09:00\",\"component\":[{"         \
    "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\",\"display\":"      \
    "\"Systolic blood pressure\"}]},\"valueQuantity\":{\"value\":128,\"unit\":\"mmHg\","           \
    "\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}},{\"code\":{\"coding\":[{"      \
    "\"system\":\"http://loinc.org\",\"code\":\"8462-4\",\"display\":\"Diastolic blood "           \
    "pressure\"}]},\"valueQuantity\":{\"value\":82,\"unit\":\"mmHg\",\"system\":"                  \
    "\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}]}"

static json_t *parse(const char *text)
{
    struct err e = {0};
    json_t *v = jsonx_parse(text, strlen(text), &e);
    if (v == NULL) {
        fprintf(stderr, "parse: %s\n", e.msg);
        exit(1);
    }
    return v;
}

static char *bundle_text(int entries)
{
    size_t cap = (size_t)entries * (sizeof BP + 200) + 200, n = 0;
    char *b = malloc(cap);
    if (b == NULL)
        exit(1);
    n += (size_t)snprintf(b + n, cap - n,
                          "{\"resourceType\":\"Bundle\",\"type\":\"transaction\","
                          "\"entry\":[");
    for (int i = 0; i < entries; i++)
        n += (size_t)snprintf(b + n, cap - n,
                              "%s{\"fullUrl\":\"urn:uuid:00000000-0000-4000-8000-%012d\","
                              "\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
                              "\"Observation\"}}",
                              i > 0 ? "," : "", i, BP);
    snprintf(b + n, cap - n, "]}");
    return b;
}

/* Validations per second of v over about seconds. */
static double rate(const json_t *v, const char *type, double seconds)
{
    struct fhir_issues is;
    long n = 0;
    uint64_t start = clock_mono_ns(), end = start + (uint64_t)(seconds * 1e9), now;
    do {
        for (int i = 0; i < 64; i++) {
            fhir_issues_init(&is, NULL, NULL);
            if (fhir_validate(v, type, &is) != 0) {
                fprintf(stderr, "not valid: %s %s\n", is.items[0].expression,
                        is.items[0].diagnostics);
                exit(1);
            }
        }
        n += 64;
        now = clock_mono_ns();
    } while (now < end);
    return (double)n / ((double)(now - start) / 1e9);
}

static double parse_rate(const char *text, double seconds)
{
    long n = 0;
    uint64_t start = clock_mono_ns(), end = start + (uint64_t)(seconds * 1e9), now;
    do {
        json_t *v = parse(text);
        json_decref(v);
        n++;
        now = clock_mono_ns();
    } while (now < end);
    return (double)n / ((double)(now - start) / 1e9);
}

static void report(const char *what, double *v, double per)
{
    double lo = v[0], hi = v[0];
    for (int i = 1; i < RUNS; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    double med = bench_median(v, RUNS);
    printf("%-44s %12.0f /s  (min %.0f, max %.0f)", what, med, lo, hi);
    if (per > 1)
        printf("  = %.0f Observations/s", med * per);
    printf("\n");
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (seconds <= 0)
        return 2;
    char *btext = bundle_text(100);
    json_t *obs = parse(BP), *bundle = parse(btext);
    double r[RUNS];

    for (int i = 0; i < RUNS; i++)
        r[i] = rate(obs, "Observation", seconds);
    report("validate blood-pressure Observation", r, 1);
    for (int i = 0; i < RUNS; i++)
        r[i] = rate(bundle, "Bundle", seconds);
    report("validate 100-entry transaction Bundle", r, 100);
    for (int i = 0; i < RUNS; i++)
        r[i] = parse_rate(BP, seconds);
    report("(for scale) jsonx_parse of the Observation", r, 1);
    for (int i = 0; i < RUNS; i++)
        r[i] = parse_rate(btext, seconds);
    report("(for scale) jsonx_parse of the Bundle", r, 1);

    json_decref(obs);
    json_decref(bundle);
    free(btext);
    return 0;
}
