/* test_events.c - the transactional outbox: events commit or roll back with their write, reach
 * every registered consumer at least once, in order per subject, survive a restart (store closed
 * and reopened, worker restarted), and a failing handler is retried with backoff while other
 * subjects go on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/clock.h"
#include "events/event.h"
#include "support/fixture.h"

static int setup(void **state)
{
    event_handlers_clear();
    return fx_setup_in(state, "events");
}

static int teardown(void **state)
{
    event_worker_stop();
    event_handlers_clear();
    return fx_teardown(state);
}

struct append {
    const char *kind, *subject, *payload;
    int fail_after; /* roll the write back after appending */
};

static int append_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct append *a = ctx;
    int rc =
        event_append(tx, a->kind, a->subject, "Observation/x", a->payload, clock_now_ms(), NULL, e);
    if (rc == 0 && a->fail_after)
        return err_set(e, ERR_CONFLICT, "rolled back on purpose");
    return rc;
}

static void append(struct fx *f, const char *kind, const char *subject, const char *payload)
{
    struct append a = {kind, subject, payload, 0};
    struct err e = {0};
    assert_int_equal(store_write(f->s, append_fn, &a, &e), 0);
}

/* What a consumer saw: "subject:payload" in order. */
struct seen {
    char log[64][32];
    int n;
    int fail_subject_a; /* fail every event of subject "a" this many times */
    int failures;
    int coalesced; /* the sum of ev->coalesced over the events handled */
};

static int record(const struct event *ev, void *ctx, struct err *e)
{
    struct seen *s = ctx;
    if (s->fail_subject_a > 0 && ev->subject != NULL && strcmp(ev->subject, "a") == 0) {
        s->fail_subject_a--;
        s->failures++;
        return err_set(e, ERR_UNAVAILABLE, "the consumer is down");
    }
    s->coalesced += ev->coalesced;
    int n = __atomic_load_n(&s->n, __ATOMIC_SEQ_CST);
    if (n < 64) {
        snprintf(s->log[n], sizeof s->log[0], "%s:%s", ev->subject ? ev->subject : "-",
                 ev->payload);
        __atomic_store_n(&s->n, n + 1, __ATOMIC_SEQ_CST);
    }
    return 0;
}

static void wait_for(struct seen *s, int n)
{
    for (int i = 0; i < 1000 && __atomic_load_n(&s->n, __ATOMIC_SEQ_CST) < n; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(__atomic_load_n(&s->n, __ATOMIC_SEQ_CST), n);
}

static void events_commit_with_their_write_only(void **state)
{
    struct fx *f = *state;
    append(f, "reading.stored", "a", "{\"n\":1}");
    struct append bad = {"reading.stored", "a", "{\"n\":2}", 1};
    struct err e = {0};
    assert_int_equal(store_write(f->s, append_fn, &bad, &e), ERR_CONFLICT);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM event_outbox"), 1);
    struct append badkind = {"Bad Kind", "a", "{}", 0};
    assert_int_equal(store_write(f->s, append_fn, &badkind, &e), ERR_INVALID);
    append(f, "reading.stored", "b", "{\"n\":3}");
    assert_int_equal(fx_count(f, "SELECT MAX(seq) FROM event_outbox"), 2);
}

static void every_consumer_gets_every_event_of_its_kind(void **state)
{
    struct fx *f = *state;
    static struct seen one, two, other;
    memset(&one, 0, sizeof one);
    memset(&two, 0, sizeof two);
    memset(&other, 0, sizeof other);
    assert_int_equal(event_handler_register("reading.stored", "one", record, &one), 0);
    assert_int_equal(event_handler_register("reading.stored", "two", record, &two), 0);
    assert_int_equal(event_handler_register("other.kind", "one", record, &other), 0);
    assert_int_equal(event_handler_register("reading.stored", "one", record, &one), ERR_INVALID);
    assert_int_equal(event_handler_register("reading.stored", "Bad Name", record, &one),
                     ERR_INVALID);
    append(f, "reading.stored", "a", "1");
    append(f, "other.kind", "a", "x");
    struct err e = {0};
    struct event_worker_options o = {.poll_ms = 50};
    assert_int_equal(event_worker_start(f->s, &o, &e), 0);
    assert_int_equal(event_worker_start(f->s, &o, &e), ERR_INVALID);
    append(f, "reading.stored", "b", "2");
    event_worker_notify();
    wait_for(&one, 2);
    wait_for(&two, 2);
    wait_for(&other, 1);
    assert_string_equal(one.log[0], "a:1");
    assert_string_equal(one.log[1], "b:2");
    assert_string_equal(other.log[0], "a:x");
    event_worker_stop();
    /* the watermarks are stored: nothing is delivered twice after a restart */
    assert_int_equal(fx_count(f, "SELECT done_seq FROM event_consumer WHERE consumer = 'one' AND "
                                 "kind = 'reading.stored'"),
                     3);
    assert_int_equal(event_worker_start(f->s, &o, &e), 0);
    append(f, "reading.stored", "c", "3");
    event_worker_notify();
    wait_for(&one, 3);
    wait_for(&two, 3);
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    event_worker_stop(); /* joined: the counts can be read plainly */
    assert_int_equal(one.n, 3);
    assert_int_equal(two.n, 3);
}

static void undelivered_events_survive_a_restart(void **state)
{
    struct fx *f = *state;
    /* written while no worker ran (as if cityos died before delivering them) */
    for (int i = 0; i < 5; i++) {
        char p[8];
        snprintf(p, sizeof p, "%d", i);
        append(f, "reading.stored", i % 2 ? "a" : "b", p);
    }
    /* the store is closed and opened again: a restart */
    char data[128];
    snprintf(data, sizeof data, "%s", f->data);
    store_close(f->s);
    struct store_options so = {.data_dir = data};
    struct err e = {0};
    assert_int_equal(store_open(&f->s, &so, &e), 0);
    static struct seen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(event_handler_register("reading.stored", "homedoctor", record, &s), 0);
    struct event_worker_options o = {.poll_ms = 50};
    assert_int_equal(event_worker_start(f->s, &o, &e), 0);
    wait_for(&s, 5);
    assert_string_equal(s.log[0], "b:0");
    assert_string_equal(s.log[4], "b:4");
}

static void a_failing_handler_is_retried_in_order_per_subject(void **state)
{
    struct fx *f = *state;
    static struct seen s;
    memset(&s, 0, sizeof s);
    s.fail_subject_a = 3;
    assert_int_equal(event_handler_register("reading.stored", "flaky", record, &s), 0);
    append(f, "reading.stored", "a", "a1");
    append(f, "reading.stored", "b", "b1");
    append(f, "reading.stored", "a", "a2");
    append(f, "reading.stored", "b", "b2");
    struct err e = {0};
    struct event_worker_options o = {.poll_ms = 20, .retry_min_ms = 20, .retry_max_ms = 100};
    assert_int_equal(event_worker_start(f->s, &o, &e), 0);
    wait_for(&s, 4);
    assert_int_equal(s.failures, 3);
    /* b's events were not held up by a's failures; a's kept their order */
    assert_string_equal(s.log[0], "b:b1");
    assert_string_equal(s.log[1], "b:b2");
    assert_string_equal(s.log[2], "a:a1");
    assert_string_equal(s.log[3], "a:a2");
    event_worker_stop();
    assert_int_equal(fx_count(f, "SELECT done_seq FROM event_consumer WHERE consumer = 'flaky'"),
                     4);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM event_delivery"), 0);
}

/* EVENT_NEWEST_PER_SUBJECT: a burst of one subject's events is one call with the newest; the
 * older ones are marked delivered; events about no one are each handed over; an EVENT_EACH
 * consumer of the same kind still gets every event. */
static void a_coalescing_consumer_gets_the_newest_event_of_each_subject(void **state)
{
    struct fx *f = *state;
    static struct seen each, newest;
    memset(&each, 0, sizeof each);
    memset(&newest, 0, sizeof newest);
    assert_int_equal(event_handler_register("reading.stored", "each", record, &each), 0);
    assert_int_equal(event_handler_register_mode("reading.stored", "newest", record, &newest,
                                                 EVENT_NEWEST_PER_SUBJECT),
                     0);
    assert_int_equal(
        event_handler_register_mode("reading.stored", "bad", record, &newest, (enum event_mode)7),
        ERR_INVALID);
    struct event_stats before;
    event_worker_stats(&before);
    append(f, "reading.stored", "a", "a1");
    append(f, "reading.stored", "b", "b1");
    append(f, "reading.stored", "a", "a2");
    append(f, "reading.stored", "a", "a3");
    append(f, "reading.stored", NULL, "n1");
    append(f, "reading.stored", NULL, "n2");
    append(f, "reading.stored", "b", "b2");
    struct err e = {0};
    struct event_worker_options o = {.poll_ms = 20, .retry_min_ms = 20, .retry_max_ms = 100};
    assert_int_equal(event_worker_start(f->s, &o, &e), 0);
    wait_for(&each, 7);
    wait_for(&newest, 4);
    event_worker_stop(); /* joined: the logs can be read plainly */
    assert_int_equal(newest.n, 4);
    assert_string_equal(newest.log[0], "a:a3");
    assert_string_equal(newest.log[1], "-:n1");
    assert_string_equal(newest.log[2], "-:n2");
    assert_string_equal(newest.log[3], "b:b2");
    assert_int_equal(newest.coalesced, 3);
    assert_int_equal(each.coalesced, 0);
    assert_string_equal(each.log[0], "a:a1");
    assert_string_equal(each.log[6], "b:b2");
    struct event_stats after;
    event_worker_stats(&after);
    assert_int_equal(after.coalesced - before.coalesced, 3);
    assert_int_equal(fx_count(f, "SELECT done_seq FROM event_consumer WHERE consumer = 'newest'"),
                     7);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM event_delivery"), 0);

    /* the newest failing: it is retried (never dropped), the older one stays superseded */
    newest.fail_subject_a = 1;
    append(f, "reading.stored", "a", "a4");
    append(f, "reading.stored", "a", "a5");
    assert_int_equal(event_worker_start(f->s, &o, &e), 0);
    wait_for(&newest, 5);
    event_worker_stop();
    assert_int_equal(newest.failures, 1);
    assert_string_equal(newest.log[4], "a:a5");
    assert_int_equal(newest.coalesced, 3); /* the retry stands for a5 alone: a4 is delivered */
    event_worker_stats(&after);
    assert_int_equal(after.coalesced - before.coalesced, 4);
    assert_int_equal(fx_count(f, "SELECT done_seq FROM event_consumer WHERE consumer = 'newest'"),
                     9);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM event_delivery WHERE consumer = 'newest' "
                                 "AND delivered_ms IS NULL"),
                     0);
}

static void a_failure_is_kept_on_its_delivery_row(void **state)
{
    struct fx *f = *state;
    static struct seen s;
    memset(&s, 0, sizeof s);
    s.fail_subject_a = 1000;
    assert_int_equal(event_handler_register("reading.stored", "down", record, &s), 0);
    append(f, "reading.stored", "a", "a1");
    struct err e = {0};
    struct event_worker_options o = {.poll_ms = 20, .retry_min_ms = 10000};
    assert_int_equal(event_worker_start(f->s, &o, &e), 0);
    for (int i = 0; i < 200 && fx_count(f, "SELECT COUNT(*) FROM event_delivery") == 0; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    event_worker_stop();
    assert_int_equal(s.failures, 1); /* not retried before its backoff */
    assert_int_equal(fx_count(f, "SELECT attempts FROM event_delivery WHERE consumer = 'down' AND "
                                 "delivered_ms IS NULL AND last_error = 'the consumer is down'"),
                     1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM event_consumer WHERE done_seq > 0"), 0);
}

/* A batch consumer: every due event in one call, in seq order; a failed event holds back its
 * subject's later events (whatever the handler said of them) while other subjects go on; a
 * skipped one is handed over again without an attempt counted. */
struct bseen {
    char log[64][40]; /* "call:subject:payload:attempt" for every event handed over */
    int n, calls;
    int sizes[16];
    int fail_a, skip_b; /* fail (skip) the next event of subject a (b) this many times */
};

static void record_batch(const struct event *evs, size_t n, struct event_result *out, void *ctx)
{
    struct bseen *s = ctx;
    int call = __atomic_load_n(&s->calls, __ATOMIC_SEQ_CST);
    if (call < 16)
        s->sizes[call] = (int)n;
    for (size_t i = 0; i < n; i++) {
        const struct event *ev = &evs[i];
        if (s->n < 64) {
            snprintf(s->log[s->n], sizeof s->log[0], "%d:%s:%s:%d", call,
                     ev->subject ? ev->subject : "-", ev->payload, ev->attempt);
            s->n++;
        }
        if (ev->subject != NULL && strcmp(ev->subject, "a") == 0 && s->fail_a > 0) {
            s->fail_a--;
            out[i].outcome = EVENT_OUTCOME_FAILED;
            err_set(&out[i].e, ERR_UNAVAILABLE, "the batch consumer is down");
        } else if (ev->subject != NULL && strcmp(ev->subject, "b") == 0 && s->skip_b > 0) {
            s->skip_b--;
            out[i].outcome = EVENT_OUTCOME_SKIPPED;
        }
    }
    __atomic_store_n(&s->calls, call + 1, __ATOMIC_SEQ_CST);
}

static void a_batch_consumer_gets_every_due_event_in_one_call(void **state)
{
    struct fx *f = *state;
    static struct bseen b;
    static struct seen each;
    memset(&b, 0, sizeof b);
    memset(&each, 0, sizeof each);
    b.fail_a = 1;
    b.skip_b = 1;
    assert_int_equal(event_handler_register_batch("reading.stored", "batch", record_batch, &b), 0);
    assert_int_equal(event_handler_register_batch("reading.stored", "batch", record_batch, &b),
                     ERR_INVALID);
    assert_int_equal(event_handler_register_batch("reading.stored", "nofn", NULL, &b), ERR_INVALID);
    assert_int_equal(event_handler_register("reading.stored", "each", record, &each), 0);
    append(f, "reading.stored", "a", "a1");
    append(f, "reading.stored", "b", "b1");
    append(f, "reading.stored", "a", "a2");
    append(f, "reading.stored", NULL, "n1");
    append(f, "reading.stored", "b", "b2");
    append(f, "reading.stored", "c", "c1");
    append(f, "reading.stored", "a", "a3");
    struct event_stats before;
    event_worker_stats(&before);
    struct err e = {0};
    struct event_worker_options o = {.poll_ms = 20, .retry_min_ms = 30};
    assert_int_equal(event_worker_start(f->s, &o, &e), 0);
    wait_for(&each, 7);
    for (int i = 0; i < 1000 && fx_count(f, "SELECT done_seq FROM event_consumer WHERE "
                                            "consumer = 'batch'") < 7;
         i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    event_worker_stop();
    /* the first call: all seven, in seq order */
    assert_int_equal(b.sizes[0], 7);
    assert_string_equal(b.log[0], "0:a:a1:1");
    assert_string_equal(b.log[1], "0:b:b1:1");
    assert_string_equal(b.log[2], "0:a:a2:1");
    assert_string_equal(b.log[3], "0:-:n1:1");
    assert_string_equal(b.log[4], "0:b:b2:1");
    assert_string_equal(b.log[5], "0:c:c1:1");
    assert_string_equal(b.log[6], "0:a:a3:1");
    /* b1 skipped: b1 and b2 again in the next pass, b1 with the same attempt number; a1 failed:
     * a1 (attempt 2), a2 and a3 only after its backoff, still in order; n1 and c1 once */
    int b1 = 0, b2 = 0, a1 = 0, n1 = 0, c1 = 0, last_a = 0;
    for (int i = 7; i < b.n; i++) {
        const char *x = strchr(b.log[i], ':') + 1;
        b1 += strcmp(x, "b:b1:1") == 0;
        b2 += strncmp(x, "b:b2:", 5) == 0;
        n1 += strncmp(x, "-:n1:", 5) == 0;
        c1 += strncmp(x, "c:c1:", 5) == 0;
        if (strncmp(x, "a:a", 3) == 0) {
            int k = x[3] - '0';
            assert_true(k == last_a + 1); /* a1, a2, a3 in order, once each after the failure */
            last_a = k;
            a1 += strcmp(x, "a:a1:2") == 0;
        }
    }
    assert_int_equal(b1, 1);
    assert_int_equal(b2, 1);
    assert_int_equal(a1, 1);
    assert_int_equal(last_a, 3);
    assert_int_equal(n1, 0);
    assert_int_equal(c1, 0);
    assert_true(b.calls >= 2 && b.calls <= 4);
    struct event_stats after;
    event_worker_stats(&after);
    assert_true(after.batches - before.batches >= 2);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM event_delivery WHERE consumer = 'batch' "
                                 "AND delivered_ms IS NULL"),
                     0);
    /* the per-event consumer of the same kind is not affected */
    assert_string_equal(each.log[0], "a:a1");
    assert_string_equal(each.log[6], "a:a3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(events_commit_with_their_write_only, setup, teardown),
        cmocka_unit_test_setup_teardown(every_consumer_gets_every_event_of_its_kind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(undelivered_events_survive_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failing_handler_is_retried_in_order_per_subject, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failure_is_kept_on_its_delivery_row, setup, teardown),
        cmocka_unit_test_setup_teardown(a_coalescing_consumer_gets_the_newest_event_of_each_subject,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_batch_consumer_gets_every_due_event_in_one_call, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
