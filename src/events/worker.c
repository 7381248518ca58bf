/* worker.c - the handler registry and the one delivery thread of the outbox (event.h). Each
 * (kind, consumer) has a watermark (event_consumer.done_seq: every event of the kind up to it
 * is delivered) and, above it, delivery rows for events delivered out of order or failing
 * (event_delivery). A pass reads a window of events above the watermark, hands each to the
 * handler in seq order, skips the later events of a subject whose earlier event failed or
 * waits for its retry (order per subject), then records the outcomes and the new watermark in
 * one write. */
#include "events/event.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/log.h"
#include "events/internal.h"

#define WINDOW           512  /* events read per pass and consumer */
#define WINDOW_COALESCED 4096 /* the same for EVENT_NEWEST_PER_SUBJECT: one call per subject */
#define WINDOW_BATCH     EVENT_BATCH_MAX /* the same for a batch consumer: one call per pass */

struct handler {
    char kind[EVENT_KIND_MAX + 1];
    char consumer[EVENT_CONSUMER_MAX + 1];
    event_handler_fn fn;
    event_batch_fn bfn; /* a batch consumer (fn NULL) */
    void *ctx;
    enum event_mode mode;
    int64_t done_seq;
    int loaded;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct handler handlers[EVENT_HANDLERS_MAX];
static size_t nhandlers;
static int running, stopping, kicked;
static pthread_t thread;
static struct store *store;
static struct event_worker_options opts;
static _Atomic uint64_t n_delivered, n_failed, n_coalesced, n_batches;

static int add_handler(const char *kind, const char *consumer, event_handler_fn fn,
                       event_batch_fn bfn, void *ctx, enum event_mode mode);

int event_handler_register(const char *kind, const char *consumer, event_handler_fn fn, void *ctx)
{
    return event_handler_register_mode(kind, consumer, fn, ctx, EVENT_EACH);
}

int event_handler_register_mode(const char *kind, const char *consumer, event_handler_fn fn,
                                void *ctx, enum event_mode mode)
{
    if (fn == NULL)
        return ERR_INVALID;
    return add_handler(kind, consumer, fn, NULL, ctx, mode);
}

int event_handler_register_batch(const char *kind, const char *consumer, event_batch_fn fn,
                                 void *ctx)
{
    if (fn == NULL)
        return ERR_INVALID;
    return add_handler(kind, consumer, NULL, fn, ctx, EVENT_EACH);
}

static int add_handler(const char *kind, const char *consumer, event_handler_fn fn,
                       event_batch_fn bfn, void *ctx, enum event_mode mode)
{
    if (!event__token_ok(kind, EVENT_KIND_MAX) || !event__token_ok(consumer, EVENT_CONSUMER_MAX) ||
        (mode != EVENT_EACH && mode != EVENT_NEWEST_PER_SUBJECT))
        return ERR_INVALID;
    pthread_mutex_lock(&mu);
    int rc = 0;
    if (running)
        rc = ERR_INVALID;
    for (size_t i = 0; rc == 0 && i < nhandlers; i++)
        if (strcmp(handlers[i].kind, kind) == 0 && strcmp(handlers[i].consumer, consumer) == 0)
            rc = ERR_INVALID;
    if (rc == 0 && nhandlers == EVENT_HANDLERS_MAX)
        rc = ERR_TOOBIG;
    if (rc == 0) {
        struct handler *h = &handlers[nhandlers++];
        memset(h, 0, sizeof *h);
        memcpy(h->kind, kind, strlen(kind) + 1);
        memcpy(h->consumer, consumer, strlen(consumer) + 1);
        h->fn = fn;
        h->bfn = bfn;
        h->ctx = ctx;
        h->mode = mode;
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

void event_handlers_clear(void)
{
    pthread_mutex_lock(&mu);
    if (!running)
        nhandlers = 0;
    pthread_mutex_unlock(&mu);
}

void event_worker_stats(struct event_stats *out)
{
    out->delivered = atomic_load(&n_delivered);
    out->failed = atomic_load(&n_failed);
    out->coalesced = atomic_load(&n_coalesced);
    out->batches = atomic_load(&n_batches);
}

/* ---- one pass ---- */

struct row {
    struct event ev;
    int newer;     /* EVENT_NEWEST_PER_SUBJECT: index of a later due row of the subject, or -1 */
    int delivered; /* before this pass, or now */
    int tried;     /* handed to the handler in this pass */
    int ok;
    int64_t next_ms;
    char error[160];
};

struct window {
    struct arena *a;
    struct row *rows;
    size_t n, cap;
    int nomem;
};

static int read_row(const struct store_row *r, void *ctx)
{
    struct window *w = ctx;
    struct row *rows = arena_array_reserve(w->a, w->rows, w->n, &w->cap, sizeof *rows);
    if (rows == NULL) {
        w->nomem = 1;
        return 1;
    }
    w->rows = rows;
    struct row *x = &rows[w->n];
    memset(x, 0, sizeof *x);
    x->ev.seq = store_row_int(r, 0);
    x->ev.kind = arena_strdup(w->a, store_row_text(r, 1, NULL));
    x->ev.subject = store_row_is_null(r, 2) ? NULL : arena_strdup(w->a, store_row_text(r, 2, NULL));
    x->ev.ref = store_row_is_null(r, 3) ? NULL : arena_strdup(w->a, store_row_text(r, 3, NULL));
    x->ev.payload = arena_strdup(w->a, store_row_text(r, 4, NULL));
    x->ev.created_ms = store_row_int(r, 5);
    x->ev.attempt = (store_row_is_null(r, 6) ? 0 : (int)store_row_int(r, 6)) + 1;
    x->delivered = !store_row_is_null(r, 7);
    x->next_ms = store_row_is_null(r, 8) ? 0 : store_row_int(r, 8);
    if (x->ev.kind == NULL || x->ev.payload == NULL) {
        w->nomem = 1;
        return 1;
    }
    w->n++;
    return 0;
}

static int read_done(const struct store_row *r, void *ctx)
{
    *(int64_t *)ctx = store_row_int(r, 0);
    return 0;
}

struct marks {
    const struct handler *h;
    const struct window *w;
    int64_t done_seq; /* new watermark */
    int64_t now_ms;
};

/* Records the outcomes of a pass and moves the watermark: one write. */
static int marks_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct marks *m = ctx;
    const struct handler *h = m->h;
    for (size_t i = 0; i < m->w->n; i++) {
        const struct row *x = &m->w->rows[i];
        if (!x->tried || x->ev.seq <= m->done_seq)
            continue;
        struct store_value p[] = {
            STORE_TEXT_V(h->consumer),
            STORE_TEXT_V(h->kind),
            STORE_INT_V(x->ev.seq),
            STORE_INT_V(x->ev.attempt),
            x->ok ? STORE_INT_V(m->now_ms) : STORE_NULL_V,
            STORE_INT_V(x->next_ms),
            x->ok ? STORE_NULL_V : STORE_TEXT_V(x->error),
        };
        int rc = store_tx_exec(tx,
                               "DELETE FROM event_delivery WHERE consumer = ? AND kind = ? "
                               "AND seq = ?",
                               p, 3, e);
        if (rc >= 0)
            rc = store_tx_exec(tx,
                               "INSERT INTO event_delivery (consumer, kind, seq, attempts, "
                               "delivered_ms, next_ms, last_error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               p, 7, e);
        if (rc < 0)
            return rc;
    }
    struct store_value w[] = {STORE_TEXT_V(h->consumer), STORE_TEXT_V(h->kind),
                              STORE_INT_V(m->done_seq)};
    int rc = store_tx_exec(tx,
                           "DELETE FROM event_delivery WHERE consumer = ? AND kind = ? AND "
                           "seq <= ?",
                           w, 3, e);
    /* the watermark only moves forward: a worker of another process (several processes on one
     * store) may have moved it further meanwhile */
    struct store_value up[] = {STORE_INT_V(m->done_seq), STORE_TEXT_V(h->consumer),
                               STORE_TEXT_V(h->kind), STORE_INT_V(m->done_seq)};
    if (rc >= 0)
        rc = store_tx_exec(tx,
                           "UPDATE event_consumer SET done_seq = ? WHERE consumer = ? AND kind = ? "
                           "AND done_seq < ?",
                           up, 4, e);
    struct store_value in[] = {STORE_TEXT_V(h->consumer), STORE_TEXT_V(h->kind),
                               STORE_INT_V(m->done_seq), STORE_TEXT_V(h->consumer),
                               STORE_TEXT_V(h->kind)};
    if (rc >= 0)
        rc = store_tx_exec(tx,
                           "INSERT INTO event_consumer (consumer, kind, done_seq) SELECT ?, ?, ? "
                           "WHERE NOT EXISTS (SELECT 1 FROM event_consumer WHERE consumer = ? AND "
                           "kind = ?)",
                           in, 5, e);
    return rc < 0 ? rc : 0;
}

static int64_t backoff_ms(int attempt)
{
    int64_t d = opts.retry_min_ms;
    for (int i = 1; i < attempt && d < opts.retry_max_ms; i++)
        d *= 2;
    return d < opts.retry_max_ms ? d : opts.retry_max_ms;
}

static int is_stopping(void)
{
    pthread_mutex_lock(&mu);
    int s = stopping;
    pthread_mutex_unlock(&mu);
    return s;
}

/* Is subject among the blocked ones (rows before i that failed or wait)? */
static int blocked(const struct window *w, size_t i, const char *subject)
{
    if (subject == NULL)
        return 0; /* events about no one are not ordered among themselves */
    for (size_t j = 0; j < i; j++) {
        const struct row *x = &w->rows[j];
        if (!x->delivered && x->ev.subject != NULL && strcmp(x->ev.subject, subject) == 0)
            return 1;
    }
    return 0;
}

static uint64_t subject_hash(const char *subject)
{
    uint64_t hsh = 1469598103934665603ULL;
    for (const char *c = subject; *c != '\0'; c++)
        hsh = (hsh ^ (unsigned char)*c) * 1099511628211ULL;
    return hsh;
}

/* A set of subjects (open addressing; room for n of them). */
struct subject_set {
    const char **slot;
    size_t cap;
};

static int subject_set_init(struct subject_set *ss, struct arena *a, size_t n)
{
    ss->cap = 1;
    while (ss->cap < 2 * n)
        ss->cap *= 2;
    ss->slot = arena_zalloc(a, ss->cap * sizeof *ss->slot);
    return ss->slot != NULL ? 0 : ERR_NOMEM;
}

/* Adds subject (add = 1) or only looks for it; returns 1 when it was there. */
static int subject_set_find(struct subject_set *ss, const char *subject, int add)
{
    size_t at = (size_t)subject_hash(subject) & (ss->cap - 1);
    while (ss->slot[at] != NULL) {
        if (strcmp(ss->slot[at], subject) == 0)
            return 1;
        at = (at + 1) & (ss->cap - 1);
    }
    if (add)
        ss->slot[at] = subject;
    return 0;
}

/* EVENT_NEWEST_PER_SUBJECT: links each row to the last undelivered, due row of its subject in
 * the window (rows[i].newer; -1 for the last one itself, for events about no one, and for rows
 * delivered or waiting for a retry). A hash of the subjects keeps it linear. */
static int link_newest(struct window *w, int64_t now)
{
    size_t cap = 1;
    while (cap < 2 * w->n)
        cap *= 2;
    int *slot = arena_alloc(w->a, cap * sizeof *slot);
    if (slot == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < cap; i++)
        slot[i] = -1;
    for (size_t i = 0; i < w->n; i++)
        w->rows[i].newer = -1;
    /* from the newest: the first row seen of a subject is its last */
    for (size_t k = w->n; k-- > 0;) {
        struct row *x = &w->rows[k];
        if (x->delivered || x->ev.subject == NULL || x->next_ms > now)
            continue;
        size_t at = (size_t)subject_hash(x->ev.subject) & (cap - 1);
        while (slot[at] >= 0 && strcmp(w->rows[slot[at]].ev.subject, x->ev.subject) != 0)
            at = (at + 1) & (cap - 1);
        if (slot[at] < 0)
            slot[at] = (int)k;
        else
            x->newer = slot[at];
    }
    return 0;
}

static void mark_failed(const struct handler *h, struct row *x, const struct err *he, int64_t now,
                        int64_t *due)
{
    atomic_fetch_add(&n_failed, 1);
    x->next_ms = now + backoff_ms(x->ev.attempt);
    if (x->next_ms < *due)
        *due = x->next_ms;
    snprintf(x->error, sizeof x->error, "%.150s", he->msg[0] != '\0' ? he->msg : "failed");
    log_warn("events: %s: event %lld (%s) failed (attempt %d, retry in %lld ms): %s", h->consumer,
             (long long)x->ev.seq, x->ev.kind, x->ev.attempt, (long long)(x->next_ms - now),
             x->error);
}

/* A batch consumer's pass over the window: every due event a subject's order allows, in one
 * call; then the outcomes, holding back a subject's events after its first failed or skipped
 * one. Returns the number of rows tried (-1: no memory); *now is moved to after the call. */
static long deliver_batch(struct handler *h, struct window *w, int64_t *now, int64_t *due)
{
    struct subject_set held; /* subjects whose later events wait */
    struct event *evs = arena_alloc(w->a, (w->n > 0 ? w->n : 1) * sizeof *evs);
    size_t *at = arena_alloc(w->a, (w->n > 0 ? w->n : 1) * sizeof *at);
    if (evs == NULL || at == NULL || subject_set_init(&held, w->a, w->n) != 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++) {
        struct row *x = &w->rows[i];
        const char *subj = x->ev.subject;
        if (x->delivered || (subj != NULL && subject_set_find(&held, subj, 0)))
            continue;
        if (x->next_ms > *now) {
            if (x->next_ms < *due)
                *due = x->next_ms;
            if (subj != NULL)
                subject_set_find(&held, subj, 1);
            continue;
        }
        evs[n] = x->ev;
        at[n++] = i;
    }
    if (n == 0)
        return 0;
    struct event_result *out = arena_zalloc(w->a, n * sizeof *out);
    if (out == NULL)
        return -1;
    h->bfn(evs, n, out, h->ctx);
    atomic_fetch_add(&n_batches, 1);
    *now = clock_now_ms();
    long tried = 0;
    for (size_t k = 0; k < n; k++) {
        struct row *x = &w->rows[at[k]];
        const char *subj = x->ev.subject;
        enum event_outcome o = out[k].outcome;
        if (subj != NULL && subject_set_find(&held, subj, 0))
            o = EVENT_OUTCOME_SKIPPED; /* an earlier event of the subject did not go through */
        if (o == EVENT_OUTCOME_OK) {
            x->tried = x->ok = x->delivered = 1;
            atomic_fetch_add(&n_delivered, 1);
            tried++;
            continue;
        }
        if (o == EVENT_OUTCOME_FAILED) {
            x->tried = 1;
            tried++;
            mark_failed(h, x, &out[k].e, *now, due);
        }
        if (subj != NULL)
            subject_set_find(&held, subj, 1);
    }
    return tried;
}

/* One pass for h. Returns 1 when more may be waiting right away, 0 otherwise; *due is lowered
 * to the earliest retry time seen. */
static int pass(struct handler *h, int64_t *due)
{
    struct err e = {0};
    if (!h->loaded) {
        int64_t done = 0;
        struct store_value p[] = {STORE_TEXT_V(h->consumer), STORE_TEXT_V(h->kind)};
        if (store_query(store,
                        "SELECT done_seq FROM event_consumer WHERE consumer = ? AND kind = ?", p, 2,
                        read_done, &done, &e) != 0) {
            log_warn("events: %s: cannot read its watermark: %s", h->consumer, e.msg);
            return 0;
        }
        h->done_seq = done;
        h->loaded = 1;
    }
    struct window w = {.a = arena_new(64 * 1024)};
    if (w.a == NULL)
        return 0;
    int coalesce = h->mode == EVENT_NEWEST_PER_SUBJECT;
    int window = h->bfn != NULL ? WINDOW_BATCH : coalesce ? WINDOW_COALESCED : WINDOW;
    struct store_value p[] = {STORE_TEXT_V(h->consumer), STORE_TEXT_V(h->kind),
                              STORE_TEXT_V(h->kind), STORE_INT_V(h->done_seq), STORE_INT_V(window)};
    int rc = store_query(store,
                         "SELECT o.seq, o.kind, o.subject_id, o.ref, o.payload, o.created_ms, "
                         "d.attempts, d.delivered_ms, d.next_ms FROM event_outbox o "
                         "LEFT JOIN event_delivery d ON d.consumer = ? AND d.kind = ? AND "
                         "d.seq = o.seq WHERE o.kind = ? AND o.seq > ? ORDER BY o.seq LIMIT ?",
                         p, 5, read_row, &w, &e);
    if (rc != 0 || w.nomem) {
        log_warn("events: %s: cannot read the outbox: %s", h->consumer,
                 w.nomem ? "no memory" : e.msg);
        arena_free(w.a);
        return 0;
    }
    int64_t now = clock_now_ms();
    size_t tried = 0;
    if (coalesce && link_newest(&w, now) != 0) {
        log_warn("events: %s: no memory", h->consumer);
        arena_free(w.a);
        return 0;
    }
    if (h->bfn != NULL) {
        long bt = deliver_batch(h, &w, &now, due);
        if (bt < 0) {
            log_warn("events: %s: no memory", h->consumer);
            arena_free(w.a);
            return 0;
        }
        tried = (size_t)bt;
    }
    size_t undelivered = 0; /* rows before i not delivered: only then can a subject be blocked */
    for (size_t i = 0; h->bfn == NULL && i < w.n && !is_stopping(); i++) {
        struct row *x = &w.rows[i];
        if (i > 0 && !w.rows[i - 1].delivered)
            undelivered++;
        if (x->delivered || (undelivered > 0 && blocked(&w, i, x->ev.subject)))
            continue;
        if (x->next_ms > now) {
            if (x->next_ms < *due)
                *due = x->next_ms;
            continue;
        }
        if (coalesce && x->newer >= 0) {
            /* superseded by a newer event of the subject, handed over below */
            x->tried = x->ok = x->delivered = 1;
            w.rows[x->newer].ev.coalesced++;
            tried++;
            atomic_fetch_add(&n_coalesced, 1);
            continue;
        }
        struct err he = {0};
        x->tried = 1;
        tried++;
        x->ok = h->fn(&x->ev, h->ctx, &he) == 0;
        now = clock_now_ms();
        if (x->ok) {
            x->delivered = 1;
            atomic_fetch_add(&n_delivered, 1);
        } else {
            mark_failed(h, x, &he, now, due);
        }
    }
    struct marks m = {.h = h, .w = &w, .done_seq = h->done_seq, .now_ms = now};
    for (size_t i = 0; i < w.n && w.rows[i].delivered; i++)
        m.done_seq = w.rows[i].ev.seq;
    int more = 0;
    if (tried > 0 || m.done_seq != h->done_seq) {
        rc = store_write(store, marks_fn, &m, &e);
        if (rc != 0) {
            /* the handlers ran; they will run again (at least once) */
            log_warn("events: %s: cannot record deliveries: %s", h->consumer, e.msg);
        } else {
            more = w.n == (size_t)window && m.done_seq > h->done_seq;
            h->done_seq = m.done_seq;
        }
    }
    arena_free(w.a);
    return more;
}

static void *run(void *arg)
{
    (void)arg;
    for (;;) {
        int64_t due = clock_now_ms() + opts.poll_ms;
        int more = 0;
        pthread_mutex_lock(&mu);
        size_t n = nhandlers;
        pthread_mutex_unlock(&mu);
        for (size_t i = 0; i < n && !is_stopping(); i++)
            more |= pass(&handlers[i], &due);
        pthread_mutex_lock(&mu);
        while (!more && !kicked && !stopping) {
            int64_t now = clock_now_ms();
            if (now >= due)
                break;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t wait_ms = due - now;
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
                break;
        }
        kicked = 0;
        int stop = stopping;
        pthread_mutex_unlock(&mu);
        if (stop)
            return NULL;
    }
}

int event_worker_start(struct store *s, const struct event_worker_options *opt, struct err *e)
{
    pthread_mutex_lock(&mu);
    if (running) {
        pthread_mutex_unlock(&mu);
        return err_set(e, ERR_INVALID, "the event worker runs already");
    }
    store = s;
    opts.poll_ms = opt != NULL && opt->poll_ms > 0 ? opt->poll_ms : 1000;
    opts.retry_min_ms = opt != NULL && opt->retry_min_ms > 0 ? opt->retry_min_ms : 200;
    opts.retry_max_ms = opt != NULL && opt->retry_max_ms > 0 ? opt->retry_max_ms : 60000;
    for (size_t i = 0; i < nhandlers; i++)
        handlers[i].loaded = 0;
    stopping = 0;
    kicked = 1;
    int rc = pthread_create(&thread, NULL, run, NULL);
    if (rc == 0)
        running = 1;
    pthread_mutex_unlock(&mu);
    return rc == 0 ? 0 : err_set(e, ERR_INTERNAL, "cannot start the event worker");
}

void event_worker_notify(void)
{
    pthread_mutex_lock(&mu);
    if (running) {
        kicked = 1;
        pthread_cond_signal(&cv);
    }
    pthread_mutex_unlock(&mu);
}

void event_worker_stop(void)
{
    pthread_mutex_lock(&mu);
    if (!running) {
        pthread_mutex_unlock(&mu);
        return;
    }
    stopping = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    pthread_mutex_lock(&mu);
    running = 0;
    stopping = 0;
    store = NULL;
    pthread_mutex_unlock(&mu);
}
