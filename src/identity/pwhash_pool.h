/* pwhash_pool.h - a small dedicated thread pool for the sign-in steps that cost CPU (Argon2id:
 * 19 MiB and ~40 ms each) or wait for the store, so that HTTP workers never run them. Bounded:
 * a full queue refuses at once (the caller answers 503) instead of letting work pile up. */
#ifndef COS_ID_PWHASH_POOL_H
#define COS_ID_PWHASH_POOL_H

#include <stddef.h>

#include "base/err.h"

#define ID_PWPOOL_QUEUE_DEFAULT 64
#define ID_PWPOOL_THREADS_MAX   64

struct id_pwpool;

/* One job, embedded in the caller's own state (no allocation here). The pool calls exactly one
 * of run (on a pool thread) or cancel (from id_pwpool_stop, for a job still queued then), once,
 * and never touches the job after that call has begun; so run and cancel may end by handing
 * the job's memory away (e.g. resuming the suspended request that owns it). */
struct id_pwpool_job {
    void (*run)(struct id_pwpool_job *job);
    void (*cancel)(struct id_pwpool_job *job);
    struct id_pwpool_job *next; /* the pool's */
};

/* Starts threads workers (1..ID_PWPOOL_THREADS_MAX; 0: the online cores) with room for
 * queue_max waiting jobs (>= 1). *out is owned by the caller (id_pwpool_stop). Returns 0,
 * ERR_INVALID, ERR_NOMEM, or ERR_INTERNAL when a thread cannot be started. */
int id_pwpool_start(struct id_pwpool **out, int threads, size_t queue_max, struct err *e);

/* Queues job. Returns 0 (run or cancel will be called), or ERR_UNAVAILABLE when queue_max jobs
 * are already waiting or the pool is stopping (neither will be called then). */
int id_pwpool_submit(struct id_pwpool *p, struct id_pwpool_job *job);

/* Jobs waiting (not yet running) and jobs running, at this instant. */
size_t id_pwpool_queued(struct id_pwpool *p);
size_t id_pwpool_running(struct id_pwpool *p);
int id_pwpool_threads(const struct id_pwpool *p);

/* Stops taking jobs, cancels the waiting ones, waits for the running ones, joins the threads
 * and frees p. NULL is fine. */
void id_pwpool_stop(struct id_pwpool *p);

#endif
