/* test_pwhash_pool.c - the sign-in pool: every job runs once on a pool thread, the queue is
 * bounded (a full queue refuses at once), stopping cancels what still waits and lets running
 * jobs finish, and a stopped pool takes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "identity/pwhash_pool.h"

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open, waiting;
};

struct tjob {
    struct id_pwpool_job job;
    struct gate *gate;
    _Atomic int ran, cancelled;
    pthread_t thread;
};

static void run(struct id_pwpool_job *j)
{
    struct tjob *t = (struct tjob *)j;
    t->thread = pthread_self();
    if (t->gate != NULL) {
        pthread_mutex_lock(&t->gate->mu);
        t->gate->waiting++;
        pthread_cond_broadcast(&t->gate->cv);
        while (!t->gate->open)
            pthread_cond_wait(&t->gate->cv, &t->gate->mu);
        pthread_mutex_unlock(&t->gate->mu);
    }
    atomic_fetch_add(&t->ran, 1);
}

static void cancel(struct id_pwpool_job *j)
{
    atomic_fetch_add(&((struct tjob *)j)->cancelled, 1);
}

static void init_job(struct tjob *t, struct gate *g)
{
    memset(t, 0, sizeof *t);
    t->job.run = run;
    t->job.cancel = cancel;
    t->gate = g;
}

static void wait_waiting(struct gate *g, int n)
{
    pthread_mutex_lock(&g->mu);
    while (g->waiting < n)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void open_gate(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Opens the gate after 200 ms: id_pwpool_stop has taken the queue by then. */
static void *open_later(void *arg)
{
    nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
    open_gate(arg);
    return NULL;
}

static void test_runs_every_job_once(void **state)
{
    (void)state;
    struct id_pwpool *p = NULL;
    struct err e = {0};
    assert_int_equal(id_pwpool_start(&p, 3, 200, &e), 0);
    assert_int_equal(id_pwpool_threads(p), 3);
    static struct tjob jobs[150];
    for (size_t i = 0; i < 150; i++) {
        init_job(&jobs[i], NULL);
        assert_int_equal(id_pwpool_submit(p, &jobs[i].job), 0);
    }
    for (int tries = 0; tries < 500; tries++) {
        if (id_pwpool_queued(p) == 0 && id_pwpool_running(p) == 0)
            break;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    id_pwpool_stop(p);
    for (size_t i = 0; i < 150; i++) {
        assert_int_equal(atomic_load(&jobs[i].ran), 1);
        assert_int_equal(atomic_load(&jobs[i].cancelled), 0);
        assert_false(pthread_equal(jobs[i].thread, pthread_self()));
    }
}

static void test_bounded_and_stop_cancels(void **state)
{
    (void)state;
    struct id_pwpool *p = NULL;
    struct err e = {0};
    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    assert_int_equal(id_pwpool_start(&p, 2, 4, &e), 0);
    static struct tjob busy[2], queued[4], extra;
    for (int i = 0; i < 2; i++) {
        init_job(&busy[i], &g);
        assert_int_equal(id_pwpool_submit(p, &busy[i].job), 0);
    }
    wait_waiting(&g, 2); /* both threads are held at the gate */
    for (int i = 0; i < 4; i++) {
        init_job(&queued[i], NULL);
        assert_int_equal(id_pwpool_submit(p, &queued[i].job), 0);
    }
    assert_int_equal(id_pwpool_queued(p), 4);
    assert_int_equal(id_pwpool_running(p), 2);
    init_job(&extra, NULL);
    assert_int_equal(id_pwpool_submit(p, &extra.job), ERR_UNAVAILABLE); /* full: refused */
    /* stop while the two run: the queued four are cancelled, the running two finish */
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_later, &g), 0);
    id_pwpool_stop(p);
    pthread_join(opener, NULL);
    int ran = 0, cancelled = 0;
    for (int i = 0; i < 4; i++) {
        ran += atomic_load(&queued[i].ran);
        cancelled += atomic_load(&queued[i].cancelled);
    }
    assert_int_equal(ran, 0);
    assert_int_equal(cancelled, 4); /* each exactly once */
    for (int i = 0; i < 2; i++)
        assert_int_equal(atomic_load(&busy[i].ran), 1);
    assert_int_equal(atomic_load(&extra.ran) + atomic_load(&extra.cancelled), 0);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct id_pwpool *p = NULL;
    struct err e = {0};
    assert_int_equal(id_pwpool_start(&p, -1, 4, &e), ERR_INVALID);
    assert_int_equal(id_pwpool_start(&p, ID_PWPOOL_THREADS_MAX + 1, 4, &e), ERR_INVALID);
    assert_int_equal(id_pwpool_start(&p, 1, 0, &e), ERR_INVALID);
    assert_null(p);
    assert_int_equal(id_pwpool_start(&p, 0, 4, &e), 0); /* 0: the online cores */
    assert_true(id_pwpool_threads(p) >= 1);
    id_pwpool_stop(p);
    id_pwpool_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_every_job_once),
        cmocka_unit_test(test_bounded_and_stop_cancels),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
