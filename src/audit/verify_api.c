/* verify_api.c - the trail's integrity check over HTTP (verify_api.h). */
#include "audit/verify_api.h"

#include <pthread.h>
#include <string.h>

#include "audit/audit.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "http/problem.h"
#include "identity/keys.h"
#include "identity/principal.h"

#define PATH "/api/v1/admin/audit/verification"

enum run_state { RUN_NEVER, RUN_RUNNING, RUN_DONE, RUN_FAILED };

/* The one check of this process: at most one runs at a time. */
static struct {
    pthread_mutex_t mu;
    struct store *store;
    enum run_state state;
    int thread_live; /* a thread to join */
    pthread_t thread;
    int64_t started_ms, finished_ms;
    char started_by[96];
    struct audit_verify_report report;
    char error[sizeof((struct err *)0)->msg];
} run = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char *state_name(enum run_state s)
{
    static const char *const names[] = {"never", "running", "done", "failed"};
    return names[s];
}

static void *check_thread(void *arg)
{
    (void)arg;
    struct audit_verify_report r;
    memset(&r, 0, sizeof r);
    struct err e = {0};
    int rc = audit_verify(run.store, id_keys_get(), &r, &e);
    pthread_mutex_lock(&run.mu);
    run.finished_ms = clock_now_ms();
    run.report = r;
    run.state = rc == 0 ? RUN_DONE : RUN_FAILED;
    snprintf(run.error, sizeof run.error, "%s", rc == 0 ? "" : e.msg);
    pthread_mutex_unlock(&run.mu);
    if (rc != 0)
        log_error("audit verification could not run: %s", e.msg);
    else if (!r.ok)
        log_error("audit verification FAILED: %s", r.detail);
    else
        log_info("audit verification: intact (%lld chains, %lld entries, %lld checkpoints)",
                 (long long)r.chains, (long long)r.entries, (long long)r.checkpoints);
    return NULL;
}

/* The state as JSON (call with run.mu held). */
static json_t *state_json(void)
{
    char s[40], f[40];
    json_t *o = json_pack("{s:s}", "state", state_name(run.state));
    if (o == NULL || run.state == RUN_NEVER)
        return o;
    json_object_set_new(o, "started", json_string(clock_format_ms(run.started_ms, s, sizeof s)));
    json_object_set_new(o, "started_by", json_string(run.started_by));
    if (run.state == RUN_FAILED)
        json_object_set_new(o, "error", json_string(run.error));
    if (run.state != RUN_DONE)
        return o;
    const struct audit_verify_report *r = &run.report;
    json_object_set_new(o, "finished", json_string(clock_format_ms(run.finished_ms, f, sizeof f)));
    json_object_set_new(o, "ok", json_boolean(r->ok));
    json_object_set_new(o, "chains", json_integer(r->chains));
    json_object_set_new(o, "entries", json_integer(r->entries));
    json_object_set_new(o, "checkpoints", json_integer(r->checkpoints));
    if (!r->ok) {
        json_t *at = json_pack("{s:s, s:s, s:I, s:I}", "check", r->check != NULL ? r->check : "",
                               "subject", r->subject, "seq", (json_int_t)r->seq, "checkpoint",
                               (json_int_t)r->checkpoint_id);
        json_object_set_new(o, "failure", at);
        json_object_set_new(o, "detail", json_string(r->detail));
    }
    return o;
}

static int admin_without_query(struct http_request *req, struct store *s, struct id_principal *p)
{
    static const char *const none[] = {NULL};
    if (!http_query_only_or_problem(req, none))
        return 0;
    return id_principal_require_admin(req, s, p);
}

static int get_verification(struct http_request *req, void *ctx)
{
    struct id_principal p;
    int ok = admin_without_query(req, ctx, &p);
    if (ok <= 0)
        return ok;
    pthread_mutex_lock(&run.mu);
    json_t *o = state_json();
    pthread_mutex_unlock(&run.mu);
    http_respond_json(req, 200, o);
    return 0;
}

static int post_verification(struct http_request *req, void *ctx)
{
    struct id_principal p;
    int ok = admin_without_query(req, ctx, &p);
    if (ok <= 0)
        return ok;
    pthread_mutex_lock(&run.mu);
    int started = 0;
    if (run.state != RUN_RUNNING) {
        if (run.thread_live) /* the previous check's thread has ended: collect it */
            pthread_join(run.thread, NULL);
        run.thread_live = 0;
        run.store = ctx;
        run.state = RUN_RUNNING;
        run.started_ms = clock_now_ms();
        snprintf(run.started_by, sizeof run.started_by, "%s",
                 p.kind == ID_PRINCIPAL_OPERATOR ? "operator" : p.subject_id);
        if (pthread_create(&run.thread, NULL, check_thread, NULL) != 0) {
            run.state = RUN_FAILED;
            snprintf(run.error, sizeof run.error, "no thread for the check");
        } else {
            run.thread_live = 1;
            started = 1;
        }
    }
    json_t *o = state_json();
    int failed = run.state == RUN_FAILED && !started;
    pthread_mutex_unlock(&run.mu);
    if (failed) {
        json_decref(o);
        http_problem(req, "unavailable", "the check could not start; try again");
        return 0;
    }
    http_set_header(req, "Location", PATH);
    http_respond_json(req, 202, o);
    return 0;
}

int audit_verify_api_register(struct http_router *r, struct store *s)
{
    int rc = http_router_add(r, "GET", PATH, get_verification, s);
    if (rc == 0)
        rc = http_router_add(r, "POST", PATH, post_verification, s);
    return rc;
}

void audit_verify_api_stop(void)
{
    pthread_mutex_lock(&run.mu);
    int live = run.thread_live;
    run.thread_live = 0;
    pthread_mutex_unlock(&run.mu);
    if (live)
        pthread_join(run.thread, NULL);
}
