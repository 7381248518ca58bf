/* homedoctor.c - benchmark of the home doctor's rules: one evaluation = a citizen's 35 days of
 * home readings (2 a day, 70 readings) through the home category, the baseline rise, the
 * missing-readings nudge, the Hisayama risk and the advice selection, with every finding's
 * texts built, in a fresh arena. Evaluations per second on one core, median of 5 runs (thread
 * CPU time and wall time). Not a test. Usage: homedoctor [evaluations per run] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "base/clock.h"
#include "services/homedoctor/homedoctor.h"

#define RUNS 5
#define DAYS 35

static double thread_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct homedoctor_bp_reading readings[2 * DAYS];
static char ids[2 * DAYS][16];

/* one evaluation of one citizen; returns the number of findings (kept so the work is used) */
static int evaluate(int64_t now_ms)
{
    struct arena *a = arena_new(16384);
    struct err e;
    const struct homedoctor_finding *f[8];
    size_t n = 0;
    struct homedoctor_finding *x;
    struct homedoctor_bp_result bp;
    if (homedoctor_home_bp_evaluate(a, readings, 2 * DAYS, now_ms, 70, &bp, &x, &e) == 0 && x)
        f[n++] = x;
    struct homedoctor_rise_result rr;
    if (homedoctor_rise_evaluate(a, readings, 2 * DAYS, now_ms, &rr, &x, &e) == 0 && x)
        f[n++] = x;
    if (homedoctor_nudge_evaluate(a, "wrist-1", ids[2 * DAYS - 1], readings[2 * DAYS - 1].time_ms,
                                  now_ms, NULL, &x, &e) == 0 &&
        x)
        f[n++] = x;
    const char *home_ids[] = {ids[0], ids[1]};
    struct homedoctor_hisayama_input in = {
        .patient_id = "taro",
        .age = 70,
        .sex = HOMEDOCTOR_SEX_MALE,
        .office_sbp = {true, 148, "cu-sbp"},
        .home_sbp = {true, bp.mean_systolic, NULL},
        .home_obs_ids = home_ids,
        .n_home_obs = 2,
        .diabetes = {true, false, "cu-dm"},
        .hdl = {true, 52, "cu-hdl"},
        .ldl = {true, 135, "cu-ldl"},
        .proteinuria = {true, false, "cu-up"},
        .smoking = {true, false, "q-smoke"},
        .regular_exercise = {true, false, "q-ex"},
    };
    struct homedoctor_hisayama_result hr;
    if (homedoctor_hisayama_evaluate(a, &in, now_ms, &hr, &x, &e) == 0 && x)
        f[n++] = x;
    unsigned adv = homedoctor_advice_select(f, n);
    arena_free(a);
    return (int)n + (adv != 0);
}

int main(int argc, char **argv)
{
    long per_run = argc > 1 ? atol(argv[1]) : 200000;
    if (per_run < 1000)
        return 2;
    /* 2026-11-25 09:00 JST; readings at 07:00 and 21:00 JST for the 35 days before, a rise in
     * the last 3 days, wrist monitor */
    int64_t now = 1795564800000LL, today = homedoctor_local_day(now);
    size_t n = 0;
    for (int d = -DAYS; d < 0; d++)
        for (int k = 0; k < 2; k++) {
            snprintf(ids[n], sizeof ids[n], "bp-%zu", n);
            int high = d >= -3;
            readings[n] = (struct homedoctor_bp_reading){
                ids[n],
                (today + d) * HOMEDOCTOR_DAY_MS - HOMEDOCTOR_TZ_OFFSET_MS +
                    (k ? 21 : 7) * 3600000LL,
                high ? 152.0 : 126.0 + (double)(n % 7), high ? 92.0 : 77.0 + (double)(n % 5),
                HOMEDOCTOR_DEVICE_WRIST};
            n++;
        }
    printf("check: %d findings+advice per evaluation\n", evaluate(now));
    double cpu_rate[RUNS], wall_rate[RUNS];
    long sink = 0;
    for (int r = 0; r < RUNS; r++) {
        double c0 = thread_cpu_s();
        uint64_t w0 = clock_mono_ns();
        for (long i = 0; i < per_run; i++)
            sink += evaluate(now);
        double cpu = thread_cpu_s() - c0, wall = (double)(clock_mono_ns() - w0) / 1e9;
        cpu_rate[r] = (double)per_run / cpu;
        wall_rate[r] = (double)per_run / wall;
        printf("run %d: %.0f evaluations/s per CPU-second, %.0f/s wall (%.2f us each)\n", r + 1,
               cpu_rate[r], wall_rate[r], cpu / (double)per_run * 1e6);
    }
    double mc = bench_median(cpu_rate, RUNS), mw = bench_median(wall_rate, RUNS);
    printf("median of %d runs of %ld: %.0f evaluations/s per CPU-second, %.0f/s wall; "
           "%.0f readings/s through all rules (sink %ld)\n",
           RUNS, per_run, mc, mw, mc * 2 * DAYS, sink);
    return 0;
}
