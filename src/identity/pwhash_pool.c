/* pwhash_pool.c - the sign-in work pool: a bounded FIFO of intrusive jobs served by a fixed
 * number of threads, with cancellation of what is still queued at shutdown. */
#include "identity/pwhash_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct id_pwpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct id_pwpool_job *head, *tail;
    size_t queued, queue_max, running;
    int stopping;
    int nthreads;
    pthread_t threads[ID_PWPOOL_THREADS_MAX];
};

static void *worker(void *arg)
{
    struct id_pwpool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->head == NULL) /* stopping and nothing left (id_pwpool_stop cancels the rest) */
            break;
        struct id_pwpool_job *job = p->head;
        p->head = job->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued--;
        p->running++;
        pthread_mutex_unlock(&p->mu);
        job->next = NULL;
        job->run(job); /* job may be gone after this */
        pthread_mutex_lock(&p->mu);
        p->running--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int id_pwpool_start(struct id_pwpool **out, int threads, size_t queue_max, struct err *e)
{
    *out = NULL;
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores < 1                       ? 1
                  : cores > ID_PWPOOL_THREADS_MAX ? ID_PWPOOL_THREADS_MAX
                                                  : (int)cores;
    }
    if (threads < 1 || threads > ID_PWPOOL_THREADS_MAX || queue_max < 1)
        return err_set(e, ERR_INVALID, "the sign-in pool needs 1..%d threads and a queue",
                       ID_PWPOOL_THREADS_MAX);
    struct id_pwpool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->queue_max = queue_max;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            id_pwpool_stop(p);
            return err_set(e, ERR_INTERNAL, "cannot start a sign-in pool thread");
        }
        p->nthreads++;
    }
    *out = p;
    return 0;
}

int id_pwpool_submit(struct id_pwpool *p, struct id_pwpool_job *job)
{
    pthread_mutex_lock(&p->mu);
    if (p->stopping || p->queued >= p->queue_max) {
        pthread_mutex_unlock(&p->mu);
        return ERR_UNAVAILABLE;
    }
    job->next = NULL;
    if (p->tail != NULL)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

size_t id_pwpool_queued(struct id_pwpool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->queued;
    pthread_mutex_unlock(&p->mu);
    return n;
}

size_t id_pwpool_running(struct id_pwpool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->running;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int id_pwpool_threads(const struct id_pwpool *p)
{
    return p->nthreads;
}

void id_pwpool_stop(struct id_pwpool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    struct id_pwpool_job *left = p->head;
    p->head = p->tail = NULL;
    p->queued = 0;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    while (left != NULL) {
        struct id_pwpool_job *next = left->next;
        left->next = NULL;
        left->cancel(left); /* left may be gone after this */
        left = next;
    }
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
