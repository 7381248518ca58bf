/* ticker.c - the serve-time timer thread: a timed wait on a condition variable (CLOCK_MONOTONIC),
 * then whatever duty is due. Every duty is logged when it does something or fails. */
#include "cli/ticker.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "audit/audit.h"
#include "base/clock.h"
#include "base/log.h"
#include "consent/index.h"
#include "identity/keys.h"
#include "identity/purge.h"
#include "store/store.h"

struct ticker {
    struct store *store;
    int64_t checkpoint_every_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
};

static int64_t mono_ms(void)
{
    return (int64_t)(clock_mono_ns() / 1000000u);
}

static void purge_expired(struct ticker *t)
{
    struct id_purge p = {.now_ms = clock_now_ms()};
    struct err e = {0};
    if (store_write(t->store, id_purge_fn, &p, &e) != 0)
        log_warn("purge of expired tokens failed: %s", e.msg);
    else if (p.removed > 0)
        log_info("purged %lld expired tokens, codes and sessions", (long long)p.removed);
}

static void checkpoint_audit(struct ticker *t)
{
    struct audit_checkpoint cp;
    struct err e = {0};
    const struct id_jose_key *key = id_keys_signing(id_keys_get());
    if (key == NULL)
        return;
    if (audit_checkpoint_create(t->store, key, clock_now_ms(), &cp, &e) != 0)
        log_warn("audit checkpoint failed: %s", e.msg);
    else if (cp.changed > 0)
        log_info("audit checkpoint %lld: %lld chains, %lld entries", (long long)cp.id,
                 (long long)cp.chains, (long long)cp.entries);
}

/* Picks up consent, purpose and family-link changes written by other processes sharing the
 * store (and by the admin API), so the decision index stays current (internals/consent.md). */
static void poll_consents(struct ticker *t)
{
    struct consent_index *ix = consent_index_global();
    struct err e = {0};
    if (ix != NULL && consent_index_poll(ix, t->store, &e) < 0)
        log_warn("consent index poll failed: %s", e.msg);
}

/* Waits until deadline (monotonic ms) or a stop. Returns 1 when stopping. */
static int wait_until(struct ticker *t, int64_t deadline_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t left = deadline_ms - mono_ms();
    if (left < 0)
        left = 0;
    ts.tv_sec += (time_t)(left / 1000);
    ts.tv_nsec += (long)(left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->lock);
    while (!t->stopping && pthread_cond_timedwait(&t->wake, &t->lock, &ts) == 0)
        ;
    int stopping = t->stopping;
    pthread_mutex_unlock(&t->lock);
    return stopping;
}

static void *ticker_main(void *arg)
{
    struct ticker *t = arg;
    int64_t next_purge = mono_ms() + TICKER_PURGE_EVERY_MS;
    int64_t next_poll = mono_ms() + TICKER_POLL_EVERY_MS;
    int64_t next_checkpoint =
        t->checkpoint_every_ms > 0 ? mono_ms() + t->checkpoint_every_ms : INT64_MAX;
    for (;;) {
        int64_t next = next_purge < next_checkpoint ? next_purge : next_checkpoint;
        next = next_poll < next ? next_poll : next;
        if (wait_until(t, next))
            break;
        int64_t now = mono_ms();
        if (now >= next_poll) {
            poll_consents(t);
            next_poll = now + TICKER_POLL_EVERY_MS;
        }
        if (now >= next_purge) {
            purge_expired(t);
            next_purge = now + TICKER_PURGE_EVERY_MS;
        }
        if (now >= next_checkpoint) {
            checkpoint_audit(t);
            next_checkpoint = now + t->checkpoint_every_ms;
        }
    }
    if (t->checkpoint_every_ms > 0)
        checkpoint_audit(t); /* the entries of the last interval get committed too */
    return NULL;
}

struct ticker *ticker_start(struct store *s, int64_t checkpoint_every_ms)
{
    struct ticker *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->store = s;
    t->checkpoint_every_ms = checkpoint_every_ms;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
        log_error("cannot start the ticker thread");
        pthread_cond_destroy(&t->wake);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return NULL;
    }
    return t;
}

void ticker_stop(struct ticker *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = 1;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t);
}
