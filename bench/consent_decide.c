/* consent_decide.c - benchmark of the access decision: consent_decide() in-process over an
 * index of 100,000 citizens with 5 consents each (and family links), decisions per second on
 * one core (median of 5 runs), and the latency of applying a withdrawal: in memory
 * (consent_index_remove_consent) and end to end through a durable store write
 * (consent_write_run). Not a test. Usage: consent_decide [citizens] [parent folder] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench_util.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/log.h"
#include "consent/consent.h"
#include "identity/person.h"

#define RUNS        5
#define PER_CITIZEN 5
#define ORGS        200
#define CLIENTS     50
#define QUERIES     (1 << 20)

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* The calling thread's CPU time: the rate per CPU-second does not drop when other processes
 * take the core away (the development VM is shared); cache pollution still shows. */
static double thread_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The resident set in bytes (Linux), or 0. */
static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

#define BATCH 256

static void idn(char *out, const char *prefix, long i)
{
    snprintf(out, IDS_LEN + 1, "%s%0*ld", prefix, (int)(IDS_LEN - strlen(prefix)), i);
}

/* idn() of a three-letter prefix without printf: the same text, for questions made inside the
 * timed loop. */
static void idn3(char *out, const char prefix[3], long i)
{
    memcpy(out, prefix, 3);
    for (int k = IDS_LEN - 1; k >= 3; k--, i /= 10)
        out[k] = (char)('0' + i % 10);
    out[IDS_LEN] = '\0';
}

/* Question number i of the benchmark's mix, drawn from next(): about a random citizen, asked in
 * turn by a practitioner, a client, a delegate and a person, about a random category. subj and
 * pers (IDS_LEN + 1 bytes each) hold the ids q points to. */
static void make_question(struct consent_query *q, char *subj, char *pers, long i, long citizens,
                          int64_t now, char orgs[][IDS_LEN + 1], char clients[][IDS_LEN + 1])
{
    long s = (long)(next() % (uint64_t)citizens);
    idn3(subj, "SUB", s);
    idn3(pers, "PER", (s + 1) % citizens);
    memset(q, 0, sizeof *q);
    q->subject = subj;
    q->category = (enum consent_category)(next() % CONSENT_CAT_COUNT);
    q->action = CONSENT_READ;
    q->now_ms = now;
    switch (i % 4) {
    case 0:
        q->actor_kind = ID_PRINCIPAL_PRACTITIONER, q->org_id = orgs[next() % ORGS];
        q->actor_id = pers, q->role = "doctor";
        break;
    case 1:
        q->actor_kind = ID_PRINCIPAL_CLIENT, q->client_id = clients[next() % CLIENTS];
        break;
    case 2:
        q->actor_kind = ID_PRINCIPAL_DELEGATE, q->actor_id = pers;
        q->acting_for = subj;
        break;
    default:
        q->actor_kind = ID_PRINCIPAL_PERSON, q->actor_id = pers;
    }
}

/* Reader threads deciding over the prepared questions (the rwlock's cost when shared). */
struct reader {
    const struct consent_index *ix;
    const struct consent_query *qs;
    long offset, n, permits;
    double seconds;
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;
    uint64_t a = clock_mono_ns();
    for (long i = 0; i < r->n; i++) {
        struct consent_decision d;
        consent_decide(r->ix, &r->qs[(r->offset + i) % QUERIES], &d);
        r->permits += d.effect == CONSENT_PERMIT;
    }
    r->seconds = (double)(clock_mono_ns() - a) / 1e9;
    return NULL;
}

static double threaded(const struct consent_index *ix, const struct consent_query *qs, int n)
{
    struct reader r[8];
    pthread_t th[8];
    uint64_t a = clock_mono_ns();
    for (int i = 0; i < n; i++) {
        r[i] = (struct reader){.ix = ix, .qs = qs, .offset = i * 7919L, .n = 2L * QUERIES};
        pthread_create(&th[i], NULL, read_loop, &r[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    return (double)n * 2.0 * QUERIES / ((double)(clock_mono_ns() - a) / 1e9);
}

int main(int argc, char **argv)
{
    long citizens = argc > 1 ? atol(argv[1]) : 100000;
    const char *parent = argc > 2 ? argv[2] : "/tmp";
    if (citizens < 1000 || sodium_init() < 0)
        return 2;
    log_set_level(LOGL_WARN);
    static char orgs[ORGS][IDS_LEN + 1], clients[CLIENTS][IDS_LEN + 1];
    for (int i = 0; i < ORGS; i++)
        idn(orgs[i], "ORG", i);
    for (int i = 0; i < CLIENTS; i++)
        idn(clients[i], "CLI", i);

    /* the index: 5 purposes with 20 registered organisations each; 5 consents per citizen
     * (organisation, client, purpose, person, and one expired); one family link per citizen */
    uint64_t t0 = clock_mono_ns();
    long rss0 = rss_bytes();
    struct consent_index *ix = consent_index_new();
    const char *codes[] = {"cardio", "homedoctor", "pharmacy", "research", "care"};
    for (int p = 0; p < 5; p++) {
        const char *r[20];
        for (int i = 0; i < 20; i++)
            r[i] = orgs[(p * 20 + i) % ORGS];
        consent_index_put_purpose(ix, codes[p], 1, CONSENT_CATS_ALL, r, 20);
        consent_index_put_purpose(ix, codes[p], 2, CONSENT_CATS_ALL & ~(1u << CONSENT_CAT_GENOME),
                                  r, 20);
    }
    for (int i = 0; i < ORGS; i += 10)
        consent_index_set_hospital(ix, orgs[i], 1);
    int64_t now = clock_now_ms();
    char sid[IDS_LEN + 1], cid[IDS_LEN + 1], other[IDS_LEN + 1], lid[IDS_LEN + 1];
    for (long s = 0; s < citizens; s++) {
        idn(sid, "SUB", s);
        for (int k = 0; k < PER_CITIZEN; k++) {
            idn(cid, "CON", s * PER_CITIZEN + k);
            idn(other, "PER", (s + 1) % citizens);
            struct consent_index_consent c = {.id = cid,
                                              .subject_id = sid,
                                              .purpose_code = codes[next() % 5],
                                              .purpose_version = 1 + (int64_t)(next() % 2),
                                              .cats = (consent_cats)next() & CONSENT_CATS_ALL,
                                              .actions = CONSENT_READ,
                                              .valid_from_ms = now - 1000,
                                              .valid_until_ms = k == 4 ? now - 1 : 0};
            c.recipient_kind = (enum consent_recipient_kind)(k % 4);
            c.recipient_id = k % 4 == 0   ? orgs[next() % ORGS]
                             : k % 4 == 1 ? clients[next() % CLIENTS]
                             : k % 4 == 2 ? other
                                          : NULL;
            if (consent_index_put_consent(ix, &c) != 0)
                return 1;
        }
        idn(lid, "LNK", s);
        struct consent_index_link l = {.id = lid,
                                       .subject_id = sid,
                                       .delegate_id = other,
                                       .rights = ID_RIGHT_SEE_ALERTS,
                                       .valid_from_ms = 0};
        consent_index_put_link(ix, &l);
    }
    struct consent_index_stats st;
    consent_index_stats(ix, &st);
    printf("index: %zu citizens, %zu consents, %zu links, %zu interned ids, built in %.2f s\n",
           st.subjects, st.consents, st.links, st.interned, (double)(clock_mono_ns() - t0) / 1e9);
    printf("index memory: %.0f bytes per citizen held (%.1f MB), resident set grew %.0f bytes "
           "per citizen\n",
           (double)st.bytes / (double)citizens, (double)st.bytes / 1e6,
           (double)(rss_bytes() - rss0) / (double)citizens);

    /* the questions, prepared before timing: subjects, actors and categories at random */
    struct consent_query *qs = calloc(QUERIES, sizeof *qs);
    char(*subj)[IDS_LEN + 1] = calloc(QUERIES, IDS_LEN + 1);
    char(*pers)[IDS_LEN + 1] = calloc(QUERIES, IDS_LEN + 1);
    if (qs == NULL || subj == NULL || pers == NULL)
        return 1;
    uint64_t questions_seed = rng; /* the hot-question runs below replay the same questions */
    for (long i = 0; i < QUERIES; i++)
        make_question(&qs[i], subj[i], pers[i], i, citizens, now, orgs, clients);

    double rates[RUNS], cpu_rates[RUNS];
    long permits = 0;
    for (int r = 0; r < RUNS; r++) {
        uint64_t a = clock_mono_ns();
        double c = thread_cpu_s();
        long n = 0;
        while (n < 5 * QUERIES) {
            for (long i = 0; i < QUERIES; i++, n++) {
                struct consent_decision d;
                consent_decide(ix, &qs[i], &d);
                permits += d.effect == CONSENT_PERMIT;
            }
        }
        rates[r] = (double)n / ((double)(clock_mono_ns() - a) / 1e9);
        cpu_rates[r] = (double)n / (thread_cpu_s() - c);
        printf("run %d: %.0f decisions/s (%.0f ns each); %.0f per CPU-second\n", r + 1, rates[r],
               1e9 / rates[r], cpu_rates[r]);
    }
    printf("consent_decide: median %.0f decisions/s on one thread (%.1f%% permits); per "
           "CPU-second %.0f\n",
           bench_median(rates, RUNS), 100.0 * (double)permits / (RUNS * 5.0 * QUERIES),
           bench_median(cpu_rates, RUNS));

    /* the same questions, each made just before it is asked in a small buffer that stays in
     * the cache, as a server builds a request's question, instead of read from the 150 MB of
     * prepared questions above (whose streaming evicts the index's tables from the cache). The
     * making (a random draw and two ids written without printf) is inside the timing. */
    long hpermits = 0;
    for (int r = 0; r < RUNS; r++) {
        uint64_t a = clock_mono_ns();
        double c = thread_cpu_s();
        long n = 0;
        while (n < 5 * QUERIES) {
            uint64_t saved = rng;
            rng = questions_seed;
            for (long i = 0; i < QUERIES; i++, n++) {
                struct consent_query q;
                char qsubj[IDS_LEN + 1], qpers[IDS_LEN + 1];
                make_question(&q, qsubj, qpers, i, citizens, now, orgs, clients);
                struct consent_decision d;
                consent_decide(ix, &q, &d);
                hpermits += d.effect == CONSENT_PERMIT;
            }
            rng = saved;
        }
        rates[r] = (double)n / ((double)(clock_mono_ns() - a) / 1e9);
        cpu_rates[r] = (double)n / (thread_cpu_s() - c);
    }
    printf("consent_decide, each question made in a hot buffer: median %.0f decisions/s on one "
           "thread (%s); per CPU-second %.0f\n",
           bench_median(rates, RUNS),
           hpermits == permits ? "the same answers" : "DIFFERENT ANSWERS",
           bench_median(cpu_rates, RUNS));

    /* the batch entry point, for callers that decide many questions at once: reported apart,
     * never in place of the single call */
    static struct consent_decision outs[BATCH];
    long bpermits = 0;
    for (int r = 0; r < RUNS; r++) {
        uint64_t a = clock_mono_ns();
        double c = thread_cpu_s();
        long n = 0;
        while (n < 5 * QUERIES) {
            for (long i = 0; i < QUERIES; i += BATCH, n += BATCH) {
                consent_decide_many(ix, &qs[i], BATCH, outs);
                for (int k = 0; k < BATCH; k++)
                    bpermits += outs[k].effect == CONSENT_PERMIT;
            }
        }
        rates[r] = (double)n / ((double)(clock_mono_ns() - a) / 1e9);
        cpu_rates[r] = (double)n / (thread_cpu_s() - c);
    }
    printf("consent_decide_many (%d at a time): median %.0f decisions/s on one thread (%.1f%% "
           "permits, %s); per CPU-second %.0f\n",
           BATCH, bench_median(rates, RUNS), 100.0 * (double)bpermits / (RUNS * 5.0 * QUERIES),
           bpermits == permits ? "the same answers" : "DIFFERENT ANSWERS",
           bench_median(cpu_rates, RUNS));

    for (int t = 2; t <= 4; t *= 2)
        printf("%d reader threads: %.0f decisions/s together\n", t, threaded(ix, qs, t));

    /* applying a withdrawal in memory (the step inside the store write) */
    double lat[RUNS];
    for (int r = 0; r < RUNS; r++) {
        uint64_t a = clock_mono_ns();
        for (int i = 0; i < 10000; i++) {
            long s = (long)(next() % (uint64_t)citizens);
            idn(sid, "SUB", s);
            idn(cid, "CON", s * PER_CITIZEN + (long)(next() % PER_CITIZEN));
            consent_index_remove_consent(ix, sid, cid);
        }
        lat[r] = (double)(clock_mono_ns() - a) / 10000.0;
    }
    printf("apply withdrawal in memory: median %.0f ns\n", bench_median(lat, RUNS));
    consent_index_free(ix);
    free(qs);
    free(subj);
    free(pers);

    /* end to end: a withdrawal through the store (check, write, commit, fsync, index) */
    char dir[256];
    snprintf(dir, sizeof dir, "%s/cityos-bench-consent-XXXXXX", parent);
    if (mkdtemp(dir) == NULL)
        return 1;
    struct store *s = NULL;
    struct store_options o = {.data_dir = dir};
    struct err e = {0};
    if (store_open(&s, &o, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    struct consent_index *live = consent_index_load(s, &e);
    /* one citizen, one organisation, one purpose */
    char citizen[IDS_LEN + 1];
    struct id_person_new pn = {.family_name_kanji = "会津",
                               .given_name_kanji = "太郎",
                               .family_name_kana = "アイヅ",
                               .given_name_kana = "タロウ",
                               .birth_date = "1955-04-12",
                               .sex = ID_SEX_MALE,
                               .district = "湊",
                               .assurance = ID_ASSURANCE_CARD};
    if (live == NULL || id_person_create(s, &pn, citizen, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    const char *none[1] = {NULL};
    struct consent_purpose_new pu = {.code = "cardio",
                                     .title_ja = "循環器",
                                     .title_en = "Cardio",
                                     .explanation_ja = "説明",
                                     .explanation_en = "Explanation",
                                     .cats = CONSENT_CATS_ALL,
                                     .recipients = none,
                                     .nrecipients = 0,
                                     .legal_basis = CONSENT_BASIS_CONSENT,
                                     .retention_days = 365,
                                     .published_by = "operator"};
    if (consent_purpose_publish(s, live, &pu, clock_now_ms(), NULL, NULL, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    struct consent_purpose p;
    struct arena *ar = arena_new(0);
    consent_purpose_get(s, "cardio", 1, &p, ar, &e);
    struct audit_event actor = {.actor_kind = AUDIT_ACTOR_PERSON, .actor_id = citizen};
    double wl[200];
    int nw = 0;
    for (int i = 0; i < 200; i++) {
        int64_t t = clock_now_ms();
        struct consent_write g = {.op = CONSENT_OP_GRANT,
                                  .store = s,
                                  .ix = live,
                                  .now_ms = t,
                                  .actor = &actor,
                                  .subject_id = citizen,
                                  .by = citizen,
                                  .recipient_kind = CONSENT_TO_PURPOSE,
                                  .purpose_code = "cardio",
                                  .purpose_version = 1,
                                  .cats = CONSENT_CATS_ALL,
                                  .actions = CONSENT_READ,
                                  .evidence = {.explanation_hash = p.explanation_hash,
                                               .shown_ms = t - 10,
                                               .agreed_ms = t,
                                               .channel = CONSENT_CHANNEL_PORTAL}};
        if (consent_write_run(&g, &e) != 0) {
            fprintf(stderr, "grant: %s\n", e.msg);
            return 1;
        }
        struct consent_write w = g;
        w.op = CONSENT_OP_WITHDRAW;
        w.consent_id = g.id;
        uint64_t a = clock_mono_ns();
        if (consent_write_run(&w, &e) != 0) {
            fprintf(stderr, "withdraw: %s\n", e.msg);
            return 1;
        }
        wl[nw++] = (double)(clock_mono_ns() - a) / 1e6;
    }
    qsort(wl, (size_t)nw, sizeof *wl, bench_cmp_double);
    printf("withdrawal through the store (durable, one at a time): median %.2f ms, p99 %.2f ms\n",
           wl[nw / 2], wl[nw * 99 / 100]);
    arena_free(ar);
    consent_index_free(live);
    store_close(s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
