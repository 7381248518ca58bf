/* consent_api.c - the consent endpoints: who acts for whom (the citizen, or a delegate with
 * manage_consents), strict bodies, the consent writes queued on the group commit with their
 * audit entry, and the one place consent statuses become HTTP answers. */
#include "consent/consent_api.h"

#include <jansson.h>
#include <string.h>

#include "audit/actor.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/consent.h"
#include "consent/consent_json.h"
#include "http/problem.h"
#include "identity/principal.h"

#define ME_CONSENTS "/api/v1/me/consents"
#define ME_INBOX    "/api/v1/me/inbox"

/* ---- who acts ---- */

struct call {
    struct consent_api *api;
    struct id_principal who;
    const char *subject; /* whose consents */
    struct audit_event actor;
    json_t *body;
};

/* The principal, and whose consents it may handle: a person their own (or, with ?subject=,
 * those of someone whose family link gives them manage_consents); a delegate those of the
 * person they act for, with that right. Returns 1 (go on), 0 (answer set) or -1. */
static int begin(struct http_request *req, struct consent_api *api, struct call *c)
{
    static const char *const allowed[] = {"subject", NULL};
    const char *bad = NULL;
    int repeated = 0;
    c->api = api;
    int ok = id_principal_require(req, api->store, &c->who);
    if (ok <= 0)
        return ok;
    if (!http_query_only(req, allowed, &bad, &repeated)) {
        http_problem(req, "invalid-parameter", "%s parameter \"%.40s\"",
                     repeated ? "repeated" : "unknown", bad);
        return 0;
    }
    const char *q = http_query(req, "subject");
    const struct id_principal *p = &c->who;
    if (p->kind != ID_PRINCIPAL_PERSON && p->kind != ID_PRINCIPAL_DELEGATE) {
        http_problem(req, "forbidden", "only citizens and their delegates manage consents");
        return 0;
    }
    c->subject = q != NULL ? q : (p->kind == ID_PRINCIPAL_DELEGATE ? p->acting_for : p->subject_id);
    if (c->subject == NULL || !ids_valid(c->subject)) {
        http_problem(req, "invalid-parameter", "subject: not a well-formed regional ID");
        return 0;
    }
    if (p->kind == ID_PRINCIPAL_DELEGATE && strcmp(c->subject, p->acting_for) != 0) {
        http_problem(req, "forbidden", "this token acts for another person");
        return 0;
    }
    int self = p->kind == ID_PRINCIPAL_PERSON && strcmp(c->subject, p->subject_id) == 0;
    if (!self) {
        struct err e = {0};
        int may = consent_may_manage(api->store, p->subject_id, c->subject, clock_now_ms(), &e);
        if (may < 0) {
            http_problem(req, "unavailable", "the store is unavailable; try again");
            return 0;
        }
        if (!may) {
            http_problem(req, "forbidden",
                         "managing this person's consents needs a family link "
                         "with the right manage_consents");
            return 0;
        }
    }
    struct err e = {0};
    c->actor = (struct audit_event){0};
    if (audit_event_from_principal(p, &c->actor, &e) != 0) {
        http_problem(req, "unavailable", "the actor cannot be recorded");
        return 0;
    }
    audit_event_from_request(req, &c->actor);
    if (!self) { /* a person acting through ?subject= is a delegate for this write */
        c->actor.actor_kind = AUDIT_ACTOR_DELEGATE;
        c->actor.on_behalf_of = c->subject;
    }
    return 1;
}

static int read_body(struct http_request *req, struct call *c)
{
    if (!http_content_type_is(req, "application/json")) {
        http_problem(req, "unsupported-media-type", "send the body as application/json");
        return 0;
    }
    struct err e = {0};
    c->body = jsonx_parse(req->body != NULL ? req->body : "", req->body_len, &e);
    if (c->body == NULL) {
        if (e.code == ERR_NOMEM)
            http_problem(req, "unavailable", "the server is short of memory; try again");
        else
            http_problem(req, "malformed-json", "%s", e.msg);
        return 0;
    }
    if (arena_defer(req->arena, jsonx_decref, c->body) != 0) {
        json_decref(c->body);
        return -1;
    }
    return 1;
}

/* The one place a consent status becomes an HTTP answer. */
static void answer_error(struct http_request *req, int rc, const struct err *e)
{
    const char *msg = e != NULL ? e->msg : "";
    switch (rc) {
    case ERR_INVALID:
        if (strncmp(msg, "by:", 3) == 0)
            http_problem(req, "forbidden", "%s", msg);
        else
            http_problem(req, "validation-failed", "%s", msg);
        return;
    case ERR_NOTFOUND:
        if (strncmp(msg, "consent:", 8) == 0 || strncmp(msg, "item:", 5) == 0)
            http_problem(req, "not-found", "%s", msg);
        else
            http_problem(req, "validation-failed", "%s", msg);
        return;
    case ERR_CONFLICT:
        http_problem(req, "conflict", "%s", msg);
        return;
    case ERR_NOMEM:
    default:
        http_problem(req, "unavailable", "the consent could not be stored; try again");
        return;
    }
}

/* ---- writes ---- */

struct pending {
    struct consent_write w;
    struct call c;
    int status;
    int created;
    struct http_request *req;
};

static void written(int status, const struct err *e, void *ctx)
{
    struct pending *p = ctx;
    p->status = status;
    if (status != 0 && p->w.err.code == 0 && e != NULL)
        p->w.err = *e;
    if (status != 0 && status != ERR_INVALID && status != ERR_NOTFOUND && status != ERR_CONFLICT)
        log_warn("consent write failed: %s", e != NULL ? e->msg : err_name(status));
    consent_write_finish(&p->w, status);
    http_request_resume(p->req);
}

static int answer_written(struct http_request *req, void *ctx)
{
    struct pending *p = ctx;
    if (p->status != 0) {
        answer_error(req, p->status, &p->w.err);
        return 0;
    }
    struct consent_record rec;
    struct err e = {0};
    if (consent_get(p->c.api->store, p->c.subject, p->w.id, &rec, req->arena, &e) != 0) {
        http_problem(req, "unavailable", "the consent was stored but cannot be read back");
        return 0;
    }
    /* RECEIPT HOOK: a durable grant or withdrawal is where its signed consent receipt
     * (src/consent/receipt.h, the other half of issue 4) is issued from rec and p->w.evidence;
     * not wired yet: it needs the controller details, issuer and signing key from config. */
    if (p->created) {
        char *loc = arena_printf(req->arena, ME_CONSENTS "/%s", p->w.id);
        if (loc == NULL)
            return -1;
        http_set_header(req, "Location", loc);
    }
    http_respond_json(req, p->created ? 201 : 200, consent_json_record(&rec));
    return 0;
}

/* Parses the body with parse, checks, and queues the write. */
static int start_write(struct http_request *req, struct consent_api *api, enum consent_op op,
                       int (*parse)(const json_t *, struct consent_write *, struct err *))
{
    struct pending *p = arena_zalloc(req->arena, sizeof *p);
    if (p == NULL)
        return -1;
    int ok = begin(req, api, &p->c);
    if (ok > 0)
        ok = read_body(req, &p->c);
    if (ok <= 0)
        return ok;
    struct consent_write *w = &p->w;
    w->op = op;
    w->store = api->store;
    w->ix = consent_index_global();
    w->now_ms = clock_now_ms();
    w->actor = &p->c.actor;
    w->subject_id = p->c.subject;
    w->by = p->c.who.subject_id;
    if (op == CONSENT_OP_NARROW || op == CONSENT_OP_WITHDRAW)
        w->consent_id = req->params[0];
    if (op == CONSENT_OP_RECONSENT)
        w->item_id = req->params[0];
    struct err e = {0};
    if (parse(p->c.body, w, &e) != 0) {
        http_problem(req, e.code == ERR_NOMEM ? "unavailable" : "validation-failed", "%s", e.msg);
        return 0;
    }
    if ((op == CONSENT_OP_NARROW || op == CONSENT_OP_WITHDRAW) && !ids_valid(w->consent_id)) {
        http_problem(req, "not-found", "consent: no such consent of this citizen");
        return 0;
    }
    if (op == CONSENT_OP_RECONSENT && !ids_valid(w->item_id)) {
        http_problem(req, "not-found", "item: no such re-consent item of this citizen");
        return 0;
    }
    if (consent_write_check(w, &e) != 0) {
        answer_error(req, e.code, &e);
        return 0;
    }
    if (w->ix == NULL) {
        http_problem(req, "unavailable", "the consent index is not loaded");
        return 0;
    }
    p->created = op == CONSENT_OP_GRANT;
    p->req = req;
    http_request_suspend(req, answer_written, p);
    if (store_write_async(api->store, consent_write_fn, w, written, p) != 0) {
        p->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

static int post_consent(struct http_request *req, void *ctx)
{
    return start_write(req, ctx, CONSENT_OP_GRANT, consent_json_grant);
}

static int patch_consent(struct http_request *req, void *ctx)
{
    return start_write(req, ctx, CONSENT_OP_NARROW, consent_json_narrow);
}

static int withdraw_consent(struct http_request *req, void *ctx)
{
    return start_write(req, ctx, CONSENT_OP_WITHDRAW, consent_json_withdraw);
}

static int accept_item(struct http_request *req, void *ctx)
{
    return start_write(req, ctx, CONSENT_OP_RECONSENT, consent_json_accept);
}

/* ---- reads ---- */

static int get_consents(struct http_request *req, void *ctx)
{
    struct call c = {0};
    int ok = begin(req, ctx, &c);
    if (ok <= 0)
        return ok;
    struct consent_record *list;
    size_t n;
    struct err e = {0};
    if (consent_list_for_subject(c.api->store, c.subject, req->arena, &list, &n, &e) != 0) {
        http_problem(req, "unavailable", "the consents cannot be read; try again");
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, consent_json_record(&list[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    if (arr == NULL)
        return -1;
    http_respond_json(req, 200, json_pack("{s:s, s:o}", "subject", c.subject, "consents", arr));
    return 0;
}

static int get_consent(struct http_request *req, void *ctx)
{
    struct call c = {0};
    int ok = begin(req, ctx, &c);
    if (ok <= 0)
        return ok;
    struct consent_record rec;
    struct err e = {0};
    int rc = consent_get(c.api->store, c.subject, req->params[0], &rec, req->arena, &e);
    if (rc != 0) {
        answer_error(req, rc, &e);
        return 0;
    }
    http_respond_json(req, 200, consent_json_record(&rec));
    return 0;
}

static int get_inbox(struct http_request *req, void *ctx)
{
    struct call c = {0};
    int ok = begin(req, ctx, &c);
    if (ok <= 0)
        return ok;
    struct consent_inbox_item *items;
    size_t n;
    struct err e = {0};
    if (consent_inbox_list(c.api->store, c.subject, 0, req->arena, &items, &n, &e) != 0) {
        http_problem(req, "unavailable", "the inbox cannot be read; try again");
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, consent_json_item(&items[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    if (arr == NULL)
        return -1;
    http_respond_json(req, 200, json_pack("{s:s, s:o}", "subject", c.subject, "items", arr));
    return 0;
}

static int get_purposes(struct http_request *req, void *ctx)
{
    struct consent_api *api = ctx;
    static const char *const allowed[] = {"history", NULL};
    const char *bad = NULL;
    int repeated = 0;
    if (!http_query_only(req, allowed, &bad, &repeated)) {
        http_problem(req, "invalid-parameter", "%s parameter \"%.40s\"",
                     repeated ? "repeated" : "unknown", bad);
        return 0;
    }
    const char *h = http_query(req, "history");
    if (h != NULL && strcmp(h, "true") != 0 && strcmp(h, "false") != 0) {
        http_problem(req, "invalid-parameter", "history: true or false");
        return 0;
    }
    struct consent_purpose *list;
    size_t n;
    struct err e = {0};
    int history = h != NULL && strcmp(h, "true") == 0;
    if (consent_purpose_list(api->store, !history, req->arena, &list, &n, &e) != 0) {
        http_problem(req, "unavailable", "the purposes cannot be read; try again");
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, consent_json_purpose_out(&list[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    if (arr == NULL)
        return -1;
    http_respond_json(req, 200, json_pack("{s:o}", "purposes", arr));
    return 0;
}

/* Publishing waits for its commit on the worker thread (administrator traffic is rare, as in
 * the identity admin API): it also writes every re-consent item of a widening. */
static int post_purpose(struct http_request *req, void *ctx)
{
    struct consent_api *api = ctx;
    struct call c = {.api = api};
    int ok = id_principal_require_admin(req, api->store, &c.who);
    if (ok > 0)
        ok = read_body(req, &c);
    if (ok <= 0)
        return ok;
    struct consent_purpose_new in;
    struct err e = {0};
    if (consent_json_purpose(c.body, &in, req->arena, &e) != 0) {
        http_problem(req, e.code == ERR_NOMEM ? "unavailable" : "validation-failed", "%s", e.msg);
        return 0;
    }
    in.published_by = c.who.kind == ID_PRINCIPAL_OPERATOR ? "operator" : c.who.subject_id;
    int64_t version = 0;
    int change = 0;
    int rc = consent_purpose_publish(api->store, consent_index_global(), &in, clock_now_ms(),
                                     &version, &change, &e);
    if (rc != 0) {
        answer_error(req, rc, &e);
        return 0;
    }
    struct consent_purpose p;
    if (consent_purpose_get(api->store, in.code, version, &p, req->arena, &e) != 0) {
        http_problem(req, "unavailable", "the purpose was stored but cannot be read back");
        return 0;
    }
    http_respond_json(req, 201, consent_json_purpose_out(&p));
    return 0;
}

int consent_api_register(struct http_router *r, struct consent_api *api, struct store *s)
{
    api->store = s;
    struct {
        const char *method, *pattern;
        http_handler fn;
    } routes[] = {
        {"GET", "/api/v1/purposes", get_purposes},
        {"POST", "/api/v1/admin/purposes", post_purpose},
        {"GET", ME_CONSENTS, get_consents},
        {"POST", ME_CONSENTS, post_consent},
        {"GET", ME_CONSENTS "/{id}", get_consent},
        {"PATCH", ME_CONSENTS "/{id}", patch_consent},
        {"DELETE", ME_CONSENTS "/{id}", withdraw_consent},
        {"POST", ME_CONSENTS "/{id}/withdraw", withdraw_consent},
        {"GET", ME_INBOX, get_inbox},
        {"POST", ME_INBOX "/{id}/accept", accept_item},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].fn, api);
        if (rc != 0)
            return rc;
    }
    return 0;
}
