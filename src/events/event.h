/* event.h - the transactional outbox (migration 11, docs/internals/ingest.md "Events"): a change
 * appends its event inside its own store transaction (event_append), so the event exists iff
 * the change committed; one worker thread hands each event to every consumer registered for
 * its kind, at least once, in order per subject, retrying failures with backoff, and picks up
 * whatever was not delivered when cityos starts again. Handlers must therefore be idempotent. */
#ifndef COS_EVENTS_EVENT_H
#define COS_EVENTS_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define EVENT_KIND_MAX     64 /* bytes of a kind ("reading.stored") */
#define EVENT_CONSUMER_MAX 64 /* bytes of a consumer name ("homedoctor") */
#define EVENT_HANDLERS_MAX 32 /* registrations */
#define EVENT_PAYLOAD_MAX  (64 * 1024)

/* The event of a stored device reading: ref "Observation/<id>" (or MedicationAdministration);
 * payload {"device","kind","code","effective","effective_ms","resource"}. */
#define EVENT_READING_STORED "reading.stored"

/* One event as a handler sees it. Strings are valid during the call only. */
struct event {
    int64_t seq; /* 1, 2, 3 ... in commit order, across kinds */
    const char *kind;
    const char *subject; /* the citizen it is about, or NULL */
    const char *ref;     /* what it is about ("Observation/<id>"), or NULL */
    const char *payload; /* JSON text */
    int64_t created_ms;
    int attempt; /* 1 on the first delivery to this consumer, 2 on the first retry ... */
    /* EVENT_NEWEST_PER_SUBJECT: how many older events of the same subject this one stands for
     * (they are marked delivered with it, never handed over themselves); 0 otherwise */
    int coalesced;
};

/* Appends an event inside the caller's write (a store_write_fn's tx): it commits or rolls back
 * with the change beside it. kind: [a-z0-9._-]{1,64}; payload: JSON text of at most
 * EVENT_PAYLOAD_MAX bytes (not re-checked). seq (may be NULL) receives the event's number.
 * Returns 0, ERR_INVALID, or the store's error. */
int event_append(struct store_tx *tx, const char *kind, const char *subject, const char *ref,
                 const char *payload, int64_t now_ms, int64_t *seq, struct err *e);

/* A consumer's handler: returns 0 when the event is handled (it is then marked delivered and
 * never handed to this consumer again), non-zero to have it retried later (with e saying why,
 * kept on the delivery row). Runs on the worker thread; may read and write the store (through
 * store_write, never from inside a write). May be called more than once for one event (a crash
 * between its return and the delivery mark): it must be idempotent. */
typedef int (*event_handler_fn)(const struct event *ev, void *ctx, struct err *e);

/* Registers fn as consumer for events of kind. Call before event_worker_start(). A consumer
 * name is the key of its delivery state: keep it stable across releases; one (kind, consumer)
 * pair once. Returns 0, ERR_INVALID (bad names, already registered, worker running) or
 * ERR_TOOBIG (EVENT_HANDLERS_MAX). */
int event_handler_register(const char *kind, const char *consumer, event_handler_fn fn, void *ctx);

/* How a consumer's events are handed over. */
enum event_mode {
    /* every event, once each (at least once), in order per subject */
    EVENT_EACH = 0,
    /* only the newest pending event of each subject: when a pass finds several undelivered
     * events of one subject (a burst of readings of one citizen), the handler gets the newest
     * (ev->coalesced says how many older ones it stands for) and the older ones are marked
     * delivered without being handed over (counted in cityos_events_deliveries_total
     * {outcome="coalesced"}). For a consumer that recomputes from the record as of its event
     * (the home doctor): it then evaluates a citizen once per burst, not once per reading. The
     * newest is still delivered at least once: if it fails, it is retried, and a newer event
     * of the subject that arrives meanwhile supersedes it in turn. Events about no one
     * (subject NULL) are handed over each. */
    EVENT_NEWEST_PER_SUBJECT = 1,
};

/* event_handler_register with a delivery mode. */
int event_handler_register_mode(const char *kind, const char *consumer, event_handler_fn fn,
                                void *ctx, enum event_mode mode);

/* ---- batches ---- */

/* What became of one event of a batch (event_batch_fn). */
enum event_outcome {
    EVENT_OUTCOME_OK = 0,  /* handled (durably): marked delivered */
    EVENT_OUTCOME_FAILED,  /* retried with backoff (e says why); later events of its subject wait */
    EVENT_OUTCOME_SKIPPED, /* not handled and not tried: handed over again in the next pass, with
                            * the same attempt number; later events of its subject wait */
};
struct event_result {
    enum event_outcome outcome;
    struct err e; /* FAILED: why (kept on the delivery row) */
};

/* A batch consumer's handler: evs[0..n-1] are every event of the consumer's kind that is due
 * in this pass (up to EVENT_BATCH_MAX), in seq order, at most the ones a subject's order
 * allows (an event waiting for a retry holds back the later events of its subject: they are
 * not in the batch). It fills out[i] for each (zeroed before the call: OK). Only what is
 * durable when it returns may be reported OK: the watermark moves over the OK events right
 * after. Order per subject is kept by the worker: once an event of a subject is FAILED or
 * SKIPPED, the subject's later events of the batch count as SKIPPED whatever out says (a
 * handler should not act on them). At least once, as for event_handler_fn: idempotent. */
typedef void (*event_batch_fn)(const struct event *evs, size_t n, struct event_result *out,
                               void *ctx);
#define EVENT_BATCH_MAX 1024

/* Registers a batch consumer (EVENT_EACH's guarantees, one call per pass: a consumer that
 * gathers its writes for many events into one store write). Same rules and returns as
 * event_handler_register. */
int event_handler_register_batch(const char *kind, const char *consumer, event_batch_fn fn,
                                 void *ctx);

/* Forgets every registration (tests; the worker must be stopped). */
void event_handlers_clear(void);

struct event_worker_options {
    int poll_ms;      /* look for new events at least this often; <= 0: 1000 */
    int retry_min_ms; /* first retry delay; doubles per attempt; <= 0: 200 */
    int retry_max_ms; /* cap of the delay; <= 0: 60000 */
};

/* Starts the one worker for store s (process-wide; a second start is ERR_INVALID). It delivers
 * what earlier runs left undelivered first. Returns 0 or an ERR_*. */
int event_worker_start(struct store *s, const struct event_worker_options *opt, struct err *e);

/* Wakes the worker: events were committed (cheap; a no-op when no worker runs). */
void event_worker_notify(void);

/* Stops the worker after the handler call in progress. Safe when none runs. */
void event_worker_stop(void);

/* Counters for /metrics. */
struct event_stats {
    uint64_t delivered, failed;
    uint64_t coalesced; /* marked delivered as superseded (EVENT_NEWEST_PER_SUBJECT) */
    uint64_t batches;   /* calls of batch handlers */
};
void event_worker_stats(struct event_stats *out);

#endif
