/* wallet.c - benchmark of the wallet: acknowledged transfers/s through the real write path
 * (wallet_op_run: idempotency key, expiry sweep, conditional balance updates, lots, double
 * entries, all on the store's single writer with group commit) from 1, 16 and 64 client
 * threads between 1,000 citizens, 5 runs each, the median printed; the ledger invariant
 * (wallet_verify) checked after every run. Not a test.
 *   ./build/bench/wallet [seconds per run (default 5)] [folder (default /tmp)] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "bench_util.h"
#include "identity/person.h"
#include "services/wallet/internal.h"
#include "services/wallet/wallet.h"
#include "store/store.h"

#define RUNS   5
#define PEOPLE 1000

static const int threads[] = {1, 16, 64};

struct bench {
    struct store *s;
    char acct[PEOPLE][WALLET_ACCOUNT_MAX + 1];
    double seconds;
    atomic_int stop;
    int run, conc;
};

struct worker {
    struct bench *b;
    int t;
    long done, refused, failed;
    uint64_t rng;
};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct bench *b = w->b;
    long n = 0;
    while (!atomic_load(&b->stop)) {
        int from = (int)(next(&w->rng) % PEOPLE), to = (int)(next(&w->rng) % PEOPLE);
        if (from == to)
            continue;
        char key[64], hash[WALLET_HASH_HEX + 1], amt[24];
        snprintf(key, sizeof key, "b%d-c%d-t%d-%ld", b->run, b->conc, w->t, n++);
        snprintf(amt, sizeof amt, "%d", 1 + (int)(next(&w->rng) % 500));
        const char *fields[] = {"transfer", b->acct[from], b->acct[to], amt, "n", NULL};
        wallet_json_request_hash(fields, hash);
        struct wallet_op op = {.kind = WALLET_TRANSFER,
                               .from = b->acct[from],
                               .to = b->acct[to],
                               .amount = atoi(amt),
                               .by = b->acct[from],
                               .idem_caller = b->acct[from],
                               .idem_key = key,
                               .idem_hash = hash};
        struct err e = {0};
        int rc = wallet_op_run(b->s, &op, &e);
        wallet_op_release(&op);
        if (rc == 0)
            w->done++;
        else if (rc == ERR_CONFLICT)
            w->refused++; /* too little money: the check at work */
        else
            w->failed++;
    }
    return NULL;
}

static int seed(struct bench *b)
{
    struct err e = {0};
    for (int i = 0; i < PEOPLE; i++) {
        char id[IDS_LEN + 1];
        struct id_person_new in = {.family_name_kanji = "会津",
                                   .given_name_kanji = "太郎",
                                   .family_name_kana = "アイヅ",
                                   .given_name_kana = "タロウ",
                                   .birth_date = "1956-01-05",
                                   .sex = ID_SEX_MALE,
                                   .district = "湊",
                                   .assurance = ID_ASSURANCE_CARD};
        if (id_person_create(b->s, &in, id, &e) != 0) {
            fprintf(stderr, "seed: %s\n", e.msg);
            return -1;
        }
        snprintf(b->acct[i], sizeof b->acct[i], "person:%s", id);
        struct wallet_op op = {
            .kind = WALLET_ISSUE, .to = b->acct[i], .amount = 100000, .by = "operator"};
        if (wallet_op_run(b->s, &op, &e) != 0) {
            fprintf(stderr, "seed: %s\n", e.msg);
            return -1;
        }
        wallet_op_release(&op);
    }
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 5;
    const char *where = argc > 2 ? argv[2] : "/tmp";
    log_set_level(LOGL_WARN);
    char base[256], data[300];
    snprintf(base, sizeof base, "%s/cityos-bench-wallet-XXXXXX", where);
    if (mkdtemp(base) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(data, sizeof data, "%s/data", base);
    static struct bench b;
    struct store_options o = {.data_dir = data};
    struct err e = {0};
    if (store_open(&b.s, &o, &e) != 0) {
        fprintf(stderr, "store: %s\n", e.msg);
        return 1;
    }
    if (seed(&b) != 0)
        return 1;
    printf("wallet transfers through the real write path (%d citizens, %.0f s per run, %d runs, "
           "median)\n",
           PEOPLE, seconds, RUNS);
    int bad = 0;
    for (size_t c = 0; c < sizeof threads / sizeof threads[0]; c++) {
        double rate[RUNS];
        long refused = 0;
        for (int run = 0; run < RUNS; run++) {
            static struct worker w[64];
            pthread_t th[64];
            b.conc = threads[c];
            b.run = run;
            atomic_store(&b.stop, 0);
            uint64_t t0 = clock_mono_ns();
            for (int t = 0; t < threads[c]; t++) {
                w[t] =
                    (struct worker){.b = &b, .t = t, .rng = 0x9e3779b97f4a7c15ULL * (t + 1 + run)};
                pthread_create(&th[t], NULL, work, &w[t]);
            }
            usleep((useconds_t)(seconds * 1e6));
            atomic_store(&b.stop, 1);
            long done = 0, failed = 0;
            for (int t = 0; t < threads[c]; t++) {
                pthread_join(th[t], NULL);
                done += w[t].done;
                refused += w[t].refused;
                failed += w[t].failed;
            }
            double secs = (double)(clock_mono_ns() - t0) / 1e9;
            rate[run] = (double)done / secs;
            struct wallet_verify_report r;
            if (wallet_verify(b.s, &r, &e) != 0 || !r.ok || failed != 0) {
                fprintf(stderr, "run %d: invariant: %s (%ld failed)\n", run, r.detail, failed);
                bad = 1;
            }
        }
        double med = bench_median(rate, RUNS);
        printf("  %2d client threads: %8.0f transfers/s (runs: %.0f %.0f %.0f %.0f %.0f sorted), "
               "%ld refused for funds; invariant %s\n",
               threads[c], med, rate[0], rate[1], rate[2], rate[3], rate[4], refused,
               bad ? "BROKEN" : "holds");
    }
    struct wallet_verify_report r;
    if (wallet_verify(b.s, &r, &e) == 0)
        printf("  ledger: %lld transfers, %lld entries; issued %lld = balances %lld + expired "
               "%lld\n",
               (long long)r.transfers, (long long)r.entries, (long long)r.issued,
               (long long)r.balances, (long long)r.expired);
    store_close(b.s);
    bench_rm_data(base, data);
    return bad;
}
