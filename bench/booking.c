/* booking.c - benchmark of booking under contention: C client threads race for S slots of one
 * practitioner's day, each going through the slots in its own random order the way the API does
 * (read the slot; if it looks free, queue the booking transaction: booking row, slot status,
 * appointment row, FHIR Appointment with its audit entry, FHIR Slot, "appointment.booked"
 * event, inbox notice), until every slot is taken. Bookings per second (S / time until the last
 * slot is booked) and attempts per second, median of 5 runs, each on a fresh store, each checked
 * exactly-once (one booking row, one booked appointment and one event per slot). Not a test.
 * Usage: booking [clients, default 64] [slots, default 256] [parent folder, default /tmp] */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/actor.h"
#include "base/clock.h"
#include "base/log.h"
#include "bench_util.h"
#include "identity/person.h"
#include "identity/principal.h"
#include "services/visits/internal.h"

#define RUNS     5
#define PATIENTS 16

struct run {
    struct store *s;
    char patients[PATIENTS][IDS_LEN + 1];
    char (*slot_ids)[IDS_LEN + 1];
    int nslots;
    _Atomic int booked, attempts, conflicts, failed;
};

struct client {
    struct run *r;
    int k;
    unsigned seed;
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct run *r = c->r;
    int n = r->nslots;
    int *order = malloc((size_t)n * sizeof *order);
    if (order == NULL)
        return NULL;
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(rand_r(&c->seed) % (unsigned)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    const char *patient = r->patients[c->k % PATIENTS];
    struct id_principal p;
    memset(&p, 0, sizeof p);
    p.kind = ID_PRINCIPAL_PERSON;
    ids_new(p.client_id);
    p.subject_id = patient;
    for (int i = 0; i < n && atomic_load(&r->booked) < n; i++) {
        struct err e = {0};
        struct visits_slot_row slot;
        if (visits__slot_get(r->s, NULL, r->slot_ids[order[i]], &slot, &e) != 1 || slot.busy)
            continue; /* the API answers 409 here without a write */
        struct visits__book b;
        memset(&b, 0, sizeof b);
        int64_t now = clock_now_ms();
        struct visits_appt_row *a = &b.appt;
        ids_new_ordered(a->id, now);
        snprintf(a->subject_id, sizeof a->subject_id, "%s", patient);
        memcpy(a->slot_id, slot.id, sizeof a->slot_id);
        a->mode = VISITS_IN_PERSON;
        snprintf(a->booked_by, sizeof a->booked_by, "%s", patient);
        b.do_book = 1;
        b.now_ms = now;
        audit_event_from_principal(&p, &b.ev, &e);
        b.ev.decision = AUDIT_PERMIT;
        b.ev.decided_by = "rule:self";
        atomic_fetch_add(&r->attempts, 1);
        int rc = store_write(r->s, visits__book_fn, &b, &e);
        if (rc == 0)
            atomic_fetch_add(&r->booked, 1);
        else if (rc == ERR_CONFLICT)
            atomic_fetch_add(&r->conflicts, 1);
        else {
            atomic_fetch_add(&r->failed, 1);
            fprintf(stderr, "booking failed: %s\n", e.msg);
        }
    }
    free(order);
    return NULL;
}

static int first_int(const struct store_row *row, void *ctx)
{
    *(long *)ctx = (long)store_row_int(row, 0);
    return 1;
}

static int count_of(struct store *s, const char *sql)
{
    long n = -1;
    struct err e;
    if (store_query(s, sql, NULL, 0, first_int, &n, &e) != 0)
        return -1;
    return (int)n;
}

static int one_run(const char *parent, int clients, int nslots, double *bps, double *aps,
                   int *conflicts)
{
    char base[256], data[300];
    snprintf(base, sizeof base, "%s/cityos-bench-booking-XXXXXX", parent);
    if (mkdtemp(base) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(data, sizeof data, "%s/data", base);
    struct run r;
    memset(&r, 0, sizeof r);
    struct store_options o = {.data_dir = data};
    struct err e = {0};
    if (store_open(&r.s, &o, &e) != 0) {
        fprintf(stderr, "store_open: %s\n", e.msg);
        return 1;
    }
    for (int i = 0; i < PATIENTS; i++) {
        struct id_person_new pn = {.family_name_kanji = "会津",
                                   .given_name_kanji = "太郎",
                                   .family_name_kana = "アイヅ",
                                   .given_name_kana = "タロウ",
                                   .birth_date = "1955-04-12",
                                   .sex = ID_SEX_MALE,
                                   .district = "湊",
                                   .assurance = ID_ASSURANCE_CARD};
        if (id_person_create(r.s, &pn, r.patients[i], &e) != 0) {
            fprintf(stderr, "person: %s\n", e.msg);
            return 1;
        }
    }
    /* one day of 5-minute slots from 00:00 tomorrow (Tokyo) */
    int64_t now = clock_now_ms();
    int64_t starts[VISITS_SLOTS_MAX];
    int n = visits_slot_starts(visits_day_start(now) + VISITS_DAY_MS, 0, nslots * 5, 5, starts,
                               VISITS_SLOTS_MAX);
    r.slot_ids = calloc((size_t)n, sizeof *r.slot_ids);
    char org[IDS_LEN + 1], doc[IDS_LEN + 1];
    ids_new(org);
    ids_new(doc);
    struct visits__open op = {.org = org,
                              .practitioner = doc,
                              .specialty = "cardiology",
                              .modes = VISITS_IN_PERSON,
                              .step_min = 5,
                              .starts = starts,
                              .n = (size_t)n,
                              .ids = r.slot_ids,
                              .now_ms = now};
    if (r.slot_ids == NULL || store_write(r.s, visits__open_fn, &op, &e) != 0) {
        fprintf(stderr, "open: %s\n", e.msg);
        return 1;
    }
    r.nslots = n;
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    struct client *cl = calloc((size_t)clients, sizeof *cl);
    uint64_t t0 = clock_mono_ns();
    for (int k = 0; k < clients; k++) {
        cl[k] = (struct client){&r, k, (unsigned)(k * 7919 + 17)};
        pthread_create(&th[k], NULL, client_main, &cl[k]);
    }
    for (int k = 0; k < clients; k++)
        pthread_join(th[k], NULL);
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    int ok = atomic_load(&r.booked) == n && atomic_load(&r.failed) == 0 &&
             count_of(r.s, "SELECT COUNT(*) FROM visits_booking") == n &&
             count_of(r.s, "SELECT COUNT(DISTINCT slot_id) FROM visits_appointment WHERE status "
                           "= 'booked'") == n &&
             count_of(r.s, "SELECT COUNT(*) FROM visits_appointment") == n &&
             count_of(r.s, "SELECT COUNT(*) FROM event_outbox WHERE kind = "
                           "'appointment.booked'") == n &&
             count_of(r.s, "SELECT COUNT(*) FROM visits_slot WHERE status = 'free'") == 0;
    *bps = n / secs;
    *aps = atomic_load(&r.attempts) / secs;
    *conflicts = atomic_load(&r.conflicts);
    printf("  run: %d slots booked by %d clients in %.3f s: %.0f bookings/s, %d transactions "
           "(%d refused 409 in the transaction), exactly once: %s\n",
           n, clients, secs, *bps, atomic_load(&r.attempts), *conflicts, ok ? "yes" : "NO");
    free(th);
    free(cl);
    free(r.slot_ids);
    store_close(r.s);
    bench_rm_data(base, data);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    int clients = argc > 1 ? atoi(argv[1]) : 64;
    int slots = argc > 2 ? atoi(argv[2]) : 256;
    const char *parent = argc > 3 ? argv[3] : "/tmp";
    if (clients < 1 || clients > 1024 || slots < 1 || slots > VISITS_SLOTS_MAX) {
        fprintf(stderr,
                "usage: booking [clients 1..1024, default 64] [slots 1..%d, default 256] "
                "[parent folder, default /tmp]\n",
                VISITS_SLOTS_MAX);
        return 2;
    }
    if (ids_init() != 0)
        return 1;
    log_set_level(LOGL_WARN);
    printf("cityos booking benchmark: %d clients racing for %d slots, %ld CPUs, data in %s\n",
           clients, slots, sysconf(_SC_NPROCESSORS_ONLN), parent);
    double b[RUNS], a[RUNS];
    int bad = 0;
    for (int i = 0; i < RUNS; i++) {
        int conflicts = 0;
        bad |= one_run(parent, clients, slots, &b[i], &a[i], &conflicts);
    }
    printf("median of %d: %.0f bookings/s, %.0f booking transactions/s; exactly once: %s\n", RUNS,
           bench_median(b, RUNS), bench_median(a, RUNS), bad ? "FAILED" : "every run");
    return bad;
}
