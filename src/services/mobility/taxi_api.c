/* taxi_api.c - the taxi endpoints: the directory of taxi companies, the citizen's opt-in (which
 * grants the "mobility" consent through the consent write, with evidence) and orders, the
 * dispatcher's queue and status updates (each read and write decided under the citizen's
 * consent and on their trail), and the weather (docs/api.md "Taxi"). */
#include <stdio.h>
#include <string.h>

#include "audit/actor.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/consent.h"
#include "consent/consent_json.h"
#include "consent/org_choice.h"
#include "fhir/access.h"
#include "http/problem.h"
#include "identity/org.h"
#include "identity/principal.h"
#include "services/mobility/internal.h"
#include "services/mobility/mobility.h"

#define ME_TAXI     "/api/v1/me/taxi"
#define TAXI_ORDERS "/api/v1/taxi/orders"
#define QUEUE_MAX   200

/* ---- shared pieces ---- */

static int read_body(struct http_request *req, json_t **out)
{
    if (!http_content_type_is(req, "application/json")) {
        http_problem(req, "unsupported-media-type", "send the body as application/json");
        return 0;
    }
    struct err e = {0};
    *out = jsonx_parse(req->body != NULL ? req->body : "", req->body_len, &e);
    if (*out == NULL) {
        if (e.code == ERR_NOMEM)
            return -1;
        http_problem(req, "malformed-json", "%s", e.msg);
        return 0;
    }
    if (arena_defer(req->arena, jsonx_decref, *out) != 0) {
        json_decref(*out);
        return -1;
    }
    return 1;
}

static int no_query(struct http_request *req)
{
    static const char *const none[] = {NULL};
    if (!http_query_only_or_problem(req, none))
        return 0;
    return 1;
}

/* The citizen acting for themselves, with a token that covers perm on rtype for the patient. */
static int begin_citizen(struct http_request *req, struct mobility_api *api, const char *rtype,
                         unsigned perm, struct id_principal *p)
{
    int ok = id_principal_require(req, api->store, p);
    if (ok <= 0)
        return ok;
    if (!no_query(req))
        return 0;
    if (p->kind != ID_PRINCIPAL_PERSON) {
        http_problem(req, "forbidden", "only the citizen themselves manages their taxis");
        return 0;
    }
    if (id_scope_allows(p->scope, ID_SCOPE_PATIENT, rtype, perm, NULL, 0) == NULL) {
        http_problem(req, "forbidden", "the token's scope does not cover this (patient/%s)", rtype);
        return 0;
    }
    return 1;
}

static int begin_dispatcher(struct http_request *req, struct mobility_api *api,
                            struct id_principal *p)
{
    int ok = id_principal_require(req, api->store, p);
    if (ok <= 0)
        return ok;
    if (!no_query(req))
        return 0;
    if (p->kind != ID_PRINCIPAL_PRACTITIONER || p->role == NULL ||
        strcmp(p->role, "dispatcher") != 0 || p->org_id == NULL) {
        http_problem(req, "forbidden", "only a taxi company's dispatcher reads its orders");
        return 0;
    }
    return 1;
}

static void store_failed(struct http_request *req)
{
    http_problem(req, "unavailable", "the store is unavailable; try again");
}

/* An asynchronous write and the handler that answers after it. */
struct job {
    struct http_request *req;
    struct mobility_api *api;
    int status;
    struct err err;
    struct consent_write *cw; /* a consent grant inside the write, finished after it */
    /* what the write needs and gives */
    struct audit_event *evs;
    size_t nevs;
    struct mobility_order o;
    enum mobility_status to;
    const char *note, *company, *consent_id, *sensor, *source;
    int snow, enabled, mine;
    struct id_principal who;
    json_t *out;
};

static void job_done(int status, const struct err *e, void *ctx)
{
    struct job *j = ctx;
    j->status = status;
    if (status != 0 && e != NULL)
        j->err = *e;
    if (j->cw != NULL)
        consent_write_finish(j->cw, status);
    http_request_resume(j->req);
}

static int job_start(struct http_request *req, struct job *j, store_write_fn fn,
                     http_handler answer)
{
    j->req = req;
    http_request_suspend(req, answer, j);
    if (store_write_async(j->api->store, fn, j, job_done, j) != 0) {
        j->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

static int audit_all_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct job *j = ctx;
    for (size_t i = 0; i < j->nevs; i++) {
        int rc = audit_record_fn(tx, &j->evs[i], e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The audit event of a decision on order o by p. */
static int order_event(struct http_request *req, const struct id_principal *p,
                       const struct mobility_order *o, const char *action,
                       const struct fhir_verdict *v, struct audit_event *ev)
{
    struct fhir_target t = {
        .rtype = "Task", .id = o->task_id, .subject = o->subject, .category = "location"};
    return fhir_access_event(req, p, &t, action, v, ev);
}

/* ---- the directory ---- */

static int company_row(const struct store_row *row, void *ctx)
{
    json_t *list = ctx;
    const char *en = store_row_text(row, 2, NULL);
    json_array_append_new(list,
                          json_pack("{s:s, s:s, s:s*, s:s}", "id", store_row_text(row, 0, NULL),
                                    "name_ja", store_row_text(row, 1, NULL), "name_en", en,
                                    "district", store_row_text(row, 3, NULL)));
    return 0;
}

static int get_companies(struct http_request *req, void *ctx)
{
    struct mobility_api *api = ctx;
    if (!no_query(req))
        return 0;
    json_t *list = json_array();
    if (list == NULL)
        return -1;
    struct err e = {0};
    struct store_value v[] = {STORE_TEXT_V(id_org_kind_name(ID_ORG_TAXI_COMPANY))};
    if (store_query(api->store,
                    "SELECT id, name_ja, name_en, district FROM organisation WHERE kind = ? "
                    "ORDER BY name_ja, id LIMIT 200",
                    v, 1, company_row, list, &e) != 0) {
        json_decref(list);
        store_failed(req);
        return 0;
    }
    http_respond_json(req, 200, json_pack("{s:o}", "companies", list));
    return 0;
}

/* ---- the citizen ---- */

static json_t *optin_json(const struct mobility_optin *o)
{
    char at[40];
    if (!o->found)
        return json_pack("{s:b, s:n, s:n}", "enabled", 0, "company", "consent");
    clock_format_ms(o->updated_ms, at, sizeof at);
    return json_pack("{s:b, s:s, s:s, s:s}", "enabled", o->enabled, "company", o->company,
                     "consent", o->consent, "updated", at);
}

static int get_me_taxi(struct http_request *req, void *ctx)
{
    struct mobility_api *api = ctx;
    struct id_principal *pa = arena_zalloc(req->arena, sizeof *pa);
    if (pa == NULL)
        return -1;
    int ok = begin_citizen(req, api, "Task", ID_PERM_R, pa);
    if (ok <= 0)
        return ok;
    struct mobility_optin o;
    struct err e = {0};
    if (mobility__optin_get(api->store, pa->subject_id, &o, &e) != 0) {
        store_failed(req);
        return 0;
    }
    http_respond_json(req, 200, optin_json(&o));
    return 0;
}

static int optin_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct job *j = ctx;
    int rc = 0;
    if (j->cw != NULL) {
        rc = consent_write_fn(tx, j->cw, e);
        if (rc == 0)
            j->consent_id = j->cw->id;
    }
    if (rc == 0)
        rc = mobility__optin_put(tx, j->who.subject_id, j->company, j->consent_id, j->enabled,
                                 clock_now_ms(), e);
    return rc;
}

static int answer_optin(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0) {
        const struct err *e = j->cw != NULL && j->cw->err.code != 0 ? &j->cw->err : &j->err;
        if (j->status == ERR_INVALID || j->status == ERR_NOTFOUND)
            http_problem(req, "validation-failed", "%s", e->msg);
        else if (j->status == ERR_CONFLICT)
            http_problem(req, "conflict", "%s", e->msg);
        else
            store_failed(req);
        return 0;
    }
    struct mobility_optin o;
    struct err e = {0};
    if (mobility__optin_get(j->api->store, j->who.subject_id, &o, &e) != 0) {
        store_failed(req);
        return 0;
    }
    http_respond_json(req, 200, optin_json(&o));
    return 0;
}

static int put_me_taxi(struct http_request *req, void *ctx)
{
    struct mobility_api *api = ctx;
    struct job *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    j->api = api;
    int ok = begin_citizen(req, api, "Consent", ID_PERM_C, &j->who);
    json_t *body = NULL;
    if (ok > 0)
        ok = read_body(req, &body);
    if (ok <= 0)
        return ok;
    const json_t *evidence = NULL;
    struct err e = {0};
    if (mobility_parse_optin(body, &j->company, &evidence, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    struct id_org org;
    int rc = id_org_get(api->store, j->company, &org, req->arena, &e);
    if (rc == ERR_NOTFOUND || (rc == 0 && org.kind != ID_ORG_TAXI_COMPANY)) {
        http_problem(req, "validation-failed", "/company: no such taxi company");
        return 0;
    }
    if (rc != 0) {
        store_failed(req);
        return 0;
    }
    struct consent_org_choice ch;
    ok = consent_org_choice_prepare(req, api->store, &j->who, j->company, MOBILITY_PURPOSE,
                                    CONSENT_CAT_LOCATION, evidence, &ch);
    if (ok <= 0)
        return ok;
    j->consent_id = ch.consent_id;
    j->cw = ch.grant;
    j->enabled = 1;
    return job_start(req, j, optin_fn, answer_optin);
}

static int delete_me_taxi(struct http_request *req, void *ctx)
{
    struct mobility_api *api = ctx;
    struct job *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    j->api = api;
    int ok = begin_citizen(req, api, "Consent", ID_PERM_U, &j->who);
    if (ok <= 0)
        return ok;
    struct mobility_optin o;
    struct err e = {0};
    if (mobility__optin_get(api->store, j->who.subject_id, &o, &e) != 0) {
        store_failed(req);
        return 0;
    }
    if (!o.found) {
        http_problem(req, "not-found", "no taxi opt-in to end");
        return 0;
    }
    j->company = arena_strdup(req->arena, o.company);
    j->consent_id = arena_strdup(req->arena, o.consent);
    j->enabled = 0; /* the consent itself is withdrawn under /api/v1/me/consents */
    if (j->company == NULL || j->consent_id == NULL)
        return -1;
    return job_start(req, j, optin_fn, answer_optin);
}

struct order_list {
    json_t *list;
    struct arena *a;
    struct mobility_order *orders;
    size_t n, cap;
    int nomem;
};

static int list_row(const struct store_row *row, void *ctx)
{
    struct order_list *l = ctx;
    struct mobility_order *arr = arena_array_reserve(l->a, l->orders, l->n, &l->cap, sizeof *arr);
    if (arr == NULL || mobility__order_row(row, &arr[l->n], l->a) != 0) {
        l->nomem = 1;
        return 1;
    }
    l->orders = arr;
    l->n++;
    return l->n >= QUEUE_MAX;
}

static int list_orders(struct store *s, const char *col, const char *value, const char *order,
                       struct order_list *l, struct err *e)
{
    const char *sql = arena_printf(l->a, "%sWHERE %s = ? ORDER BY %s LIMIT %d",
                                   mobility__order_select, col, order, QUEUE_MAX);
    if (sql == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct store_value v[] = {STORE_TEXT_V(value)};
    int rc = store_query(s, sql, v, 1, list_row, l, e);
    if (rc == 0 && l->nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    return rc;
}

static int get_me_orders(struct http_request *req, void *ctx)
{
    struct mobility_api *api = ctx;
    struct id_principal *pa = arena_zalloc(req->arena, sizeof *pa);
    if (pa == NULL)
        return -1;
    int ok = begin_citizen(req, api, "Task", ID_PERM_R, pa);
    if (ok <= 0)
        return ok;
    struct order_list l = {.a = req->arena};
    struct err e = {0};
    if (list_orders(api->store, "subject_id", pa->subject_id, "start_ms DESC", &l, &e) != 0) {
        store_failed(req);
        return 0;
    }
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < l.n; i++) {
        json_t *o = NULL;
        if (mobility__order_json(&l.orders[i], &o) != 0 || json_array_append_new(list, o) != 0) {
            json_decref(list);
            return -1;
        }
    }
    if (list == NULL)
        return -1;
    http_respond_json(req, 200, json_pack("{s:o}", "orders", list));
    return 0;
}

/* ---- the dispatcher ---- */

static int answer_queue(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0) {
        json_decref(j->out);
        store_failed(req); /* not on the trail: nothing is handed out */
        return 0;
    }
    http_respond_json(req, 200, j->out);
    return 0;
}

static int get_queue(struct http_request *req, void *ctx)
{
    struct mobility_api *api = ctx;
    struct job *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    j->api = api;
    int ok = begin_dispatcher(req, api, &j->who);
    if (ok <= 0)
        return ok;
    struct order_list l = {.a = req->arena};
    struct err e = {0};
    if (list_orders(api->store, "company_id", j->who.org_id, "pickup_ms, appointment_id", &l, &e) !=
        0) {
        store_failed(req);
        return 0;
    }
    j->evs = l.n > 0 ? arena_zalloc(req->arena, l.n * sizeof *j->evs) : NULL;
    json_t *list = json_array();
    if ((l.n > 0 && j->evs == NULL) || list == NULL) {
        json_decref(list);
        return -1;
    }
    size_t withheld = 0;
    for (size_t i = 0; i < l.n; i++) {
        const struct mobility_order *o = &l.orders[i];
        struct fhir_target t = {
            .rtype = "Task", .id = o->task_id, .subject = o->subject, .category = "location"};
        struct fhir_verdict v;
        if (fhir_access_decide(&j->who, &t, ID_PERM_S, MOBILITY_PURPOSE, NULL, req->arena, &v) !=
                0 ||
            order_event(req, &j->who, o, "search", &v, &j->evs[j->nevs++]) != 0) {
            json_decref(list);
            return -1;
        }
        if (v.scope_refused) {
            json_decref(list);
            http_problem(req, "forbidden", "the token's scope does not cover this (user/Task.s)");
            return 0;
        }
        if (!v.permit) {
            withheld++;
            continue;
        }
        json_t *oj = NULL;
        if (mobility__order_json(o, &oj) != 0 || json_array_append_new(list, oj) != 0) {
            json_decref(list);
            return -1;
        }
    }
    j->out = json_pack("{s:s, s:o, s:i}", "company", j->who.org_id, "orders", list, "withheld",
                       (int)withheld);
    if (j->out == NULL)
        return -1;
    if (j->nevs == 0)
        return answer_queue(req, j);
    return job_start(req, j, audit_all_fn, answer_queue);
}

/* The order of path parameter 0 for the dispatcher, decided for perm: 1 (go on, *v permit),
 * 0 (answer set; a refusal concerning a citizen is queued for the trail first), -1. */
static int dispatcher_order(struct http_request *req, struct job *j, unsigned perm,
                            const char *action, struct fhir_verdict *v, http_handler refused)
{
    const char *id = req->params[0];
    struct err e = {0};
    int rc = fhir_id_valid(id)
                 ? mobility__order_get(j->api->store, "task_id", id, &j->o, req->arena, &e)
                 : ERR_NOTFOUND;
    if (rc == ERR_NOTFOUND) {
        http_problem(req, "not-found", "no such taxi order");
        return 0;
    }
    if (rc != 0) {
        store_failed(req);
        return 0;
    }
    struct fhir_target t = {
        .rtype = "Task", .id = j->o.task_id, .subject = j->o.subject, .category = "location"};
    if (fhir_access_decide(&j->who, &t, perm, MOBILITY_PURPOSE, NULL, req->arena, v) != 0)
        return -1;
    int mine = strcmp(j->o.company, j->who.org_id) == 0;
    if (mine && v->permit)
        return 1;
    if (!mine) { /* another company's order: as if it did not exist, but on the trail */
        v->permit = 0;
        v->decided_by = "rule:default-deny";
        v->reason = "the order is another company's";
    }
    j->evs = arena_zalloc(req->arena, sizeof *j->evs);
    if (j->evs == NULL || order_event(req, &j->who, &j->o, action, v, j->evs) != 0)
        return -1;
    j->nevs = 1;
    j->mine = mine; /* for the answer: 403 when it is theirs, 404 when not */
    j->note = v->scope_refused ? "scope" : NULL;
    job_start(req, j, audit_all_fn, refused);
    return 0;
}

static int answer_refused(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0)
        store_failed(req);
    else if (!j->mine)
        http_problem(req, "not-found", "no such taxi order");
    else if (j->note != NULL)
        http_problem(req, "forbidden", "the token's scope does not cover this");
    else
        http_problem(req, "forbidden", "the citizen's consent does not cover this");
    return 0;
}

static int answer_order(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0) {
        if (j->status == ERR_CONFLICT)
            http_problem(req, "conflict", "%s", j->err.msg);
        else
            store_failed(req);
        return 0;
    }
    json_t *o = NULL;
    if (mobility__order_json(&j->o, &o) != 0)
        return -1;
    json_t *task = mobility__task_render(&j->o);
    if (task == NULL || json_object_set_new(o, "task_resource", task) != 0) {
        json_decref(o);
        return -1;
    }
    http_respond_json(req, 200, o);
    return 0;
}

static int get_order(struct http_request *req, void *ctx)
{
    struct job *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    j->api = ctx;
    int ok = begin_dispatcher(req, j->api, &j->who);
    if (ok <= 0)
        return ok;
    struct fhir_verdict v;
    if ((ok = dispatcher_order(req, j, ID_PERM_R, "read", &v, answer_refused)) <= 0)
        return ok;
    j->evs = arena_zalloc(req->arena, sizeof *j->evs);
    if (j->evs == NULL || order_event(req, &j->who, &j->o, "read", &v, j->evs) != 0)
        return -1;
    j->nevs = 1;
    return job_start(req, j, audit_all_fn, answer_order);
}

static int status_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct job *j = ctx;
    struct arena *a = j->req->arena;
    int rc = mobility__order_get_tx(tx, j->o.appointment, &j->o, a, e);
    if (rc != 0)
        return rc;
    if (!mobility_status_next_ok(j->o.status, j->to))
        return err_set(e, ERR_CONFLICT, "status: an order that is %s cannot become %s",
                       mobility_status_name(j->o.status), mobility_status_name(j->to));
    return mobility__order_update(tx, &j->o, j->to, j->note, clock_now_ms(), j->evs, a, e);
}

static int post_status(struct http_request *req, void *ctx)
{
    struct job *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    j->api = ctx;
    int ok = begin_dispatcher(req, j->api, &j->who);
    json_t *body = NULL;
    if (ok > 0)
        ok = read_body(req, &body);
    if (ok <= 0)
        return ok;
    struct err e = {0};
    if (mobility_parse_status(body, &j->to, &j->note, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    if (j->note != NULL && (j->note = arena_strdup(req->arena, j->note)) == NULL)
        return -1;
    struct fhir_verdict v;
    if ((ok = dispatcher_order(req, j, ID_PERM_U, "update", &v, answer_refused)) <= 0)
        return ok;
    j->evs = arena_zalloc(req->arena, sizeof *j->evs);
    if (j->evs == NULL || audit_event_from_principal(&j->who, j->evs, &e) != 0)
        return -1;
    audit_event_from_request(req, j->evs);
    j->evs->purpose = v.purpose;
    j->evs->decision = AUDIT_PERMIT;
    j->evs->decided_by = v.decided_by;
    return job_start(req, j, status_fn, answer_order);
}

/* ---- the weather ---- */

static int get_weather(struct http_request *req, void *ctx)
{
    struct mobility_api *api = ctx;
    if (!no_query(req))
        return 0;
    int snow = 0;
    const char *source = NULL;
    int64_t at = 0;
    struct err e = {0};
    if (mobility__weather(api->store, api->cfg, &snow, &source, &at, req->arena, &e) != 0) {
        store_failed(req);
        return 0;
    }
    char when[40] = "";
    if (at > 0)
        clock_format_ms(at, when, sizeof when);
    http_respond_json(req, 200,
                      json_pack("{s:s, s:s, s:s*, s:i, s:i, s:i, s:i, s:i}", "weather",
                                snow ? "snow" : "normal", "source", source, "updated",
                                at > 0 ? when : NULL, "speed_kmh", (int)api->cfg->taxi_speed_kmh,
                                "road_factor_pct", (int)api->cfg->taxi_road_factor_pct, "snow_pct",
                                (int)api->cfg->taxi_snow_pct, "margin_min",
                                (int)api->cfg->taxi_margin_min, "step_min", MOBILITY_STEP_MIN));
    return 0;
}

static int weather_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct job *j = ctx;
    const char *by = j->who.subject_id != NULL ? j->who.subject_id : "operator";
    struct store_value v[] = {STORE_INT_V(j->snow), STORE_TEXT_V(j->source),
                              j->sensor != NULL ? STORE_TEXT_V(j->sensor) : STORE_NULL_V,
                              STORE_TEXT_V(by), STORE_INT_V(clock_now_ms())};
    int rc = store_tx_exec(tx,
                           "INSERT INTO mobility_weather (id, snow, source, sensor, reported_by, "
                           "updated_ms) VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                           "snow = excluded.snow, source = excluded.source, sensor = "
                           "excluded.sensor, reported_by = excluded.reported_by, updated_ms = "
                           "excluded.updated_ms",
                           v, 5, e);
    return rc < 0 ? rc : 0;
}

static int answer_weather(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0) {
        store_failed(req);
        return 0;
    }
    log_info("mobility: the weather is now %s (%s%s%s)", j->snow ? "snow" : "normal", j->source,
             j->sensor != NULL ? " " : "", j->sensor != NULL ? j->sensor : "");
    return get_weather(req, j->api);
}

static int put_weather(struct http_request *req, void *ctx)
{
    struct job *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    j->api = ctx;
    int ok = id_principal_require_admin(req, j->api->store, &j->who);
    json_t *body = NULL;
    if (ok > 0)
        ok = no_query(req);
    if (ok > 0)
        ok = read_body(req, &body);
    if (ok <= 0)
        return ok;
    struct err e = {0};
    if (mobility_parse_weather(body, &j->snow, &j->source, &j->sensor, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    if ((j->source = arena_strdup(req->arena, j->source)) == NULL ||
        (j->sensor != NULL && (j->sensor = arena_strdup(req->arena, j->sensor)) == NULL))
        return -1;
    return job_start(req, j, weather_fn, answer_weather);
}

int mobility_api_register(struct http_router *r, struct mobility_api *api, struct store *s,
                          const struct config *cfg)
{
    api->store = s;
    api->cfg = cfg;
    struct {
        const char *method, *pattern;
        http_handler fn;
    } routes[] = {
        {"GET", "/api/v1/taxi-companies", get_companies},
        {"GET", ME_TAXI, get_me_taxi},
        {"PUT", ME_TAXI, put_me_taxi},
        {"DELETE", ME_TAXI, delete_me_taxi},
        {"GET", ME_TAXI "/orders", get_me_orders},
        {"GET", TAXI_ORDERS, get_queue},
        {"GET", TAXI_ORDERS "/{id}", get_order},
        {"POST", TAXI_ORDERS "/{id}/status", post_status},
        {"GET", "/api/v1/mobility/weather", get_weather},
        {"PUT", "/api/v1/admin/mobility/weather", put_weather},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].fn, api);
        if (rc != 0)
            return rc;
    }
    return 0;
}
