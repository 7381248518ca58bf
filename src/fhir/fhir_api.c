/* fhir_api.c - the FHIR R4 REST interactions on single resources: create, read, vread, update,
 * delete and history (fhir_api.h). Every access to a citizen's resource is decided by
 * fhir_access_decide() and recorded on their trail: reads are answered only once the record is
 * durable, writes commit with theirs, refusals are recorded before the 403. */
#include "fhir/fhir_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/held.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/category.h"
#include "consent/consent.h"
#include "fhir/access.h"
#include "fhir/bundle.h"
#include "fhir/capability.h"
#include "fhir/everything.h"
#include "fhir/fhir_call.h"
#include "fhir/outcome.h"
#include "fhir/owner.h"
#include "fhir/request_parse.h"
#include "fhir/resource.h"
#include "fhir/search_api.h"
#include "fhir/transaction.h"
#include "identity/person.h"

/* ---- answers ---- */

/* "Tue, 01 Oct 2024 09:30:00 GMT" (RFC 9110 IMF-fixdate) */
static const char *http_date(struct arena *a, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[40];
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
        return NULL;
    return arena_strdup(a, buf);
}

/* ETag, Last-Modified and, for a create, Location. */
static void version_headers(struct http_request *req, struct fhir_api *api, const char *rtype,
                            const char *id, int64_t version, int64_t updated_ms, int location)
{
    char etag[32];
    snprintf(etag, sizeof etag, "W/\"%lld\"", (long long)version);
    http_set_header(req, "ETag", etag);
    const char *lm = http_date(req->arena, updated_ms);
    if (lm != NULL)
        http_set_header(req, "Last-Modified", lm);
    if (location) {
        const char *url = arena_printf(req->arena, "%s/fhir/%s/%s/_history/%lld", api->issuer,
                                       rtype, id, (long long)version);
        if (url != NULL)
            http_set_header(req, "Location", url);
    }
}

/* A refusal: on the owner's trail first (when the resource is someone's), then 403; a scope
 * refusal names the scope wanted. */
static int refuse(struct fhir_call *c, const struct fhir_target *t, const char *action,
                  const struct fhir_verdict *v)
{
    struct http_request *req = c->req;
    const char *challenge = NULL;
    if (v->scope_refused)
        challenge = "Bearer realm=\"cityos\", error=\"insufficient_scope\"";
    if (t->subject == NULL) {
        if (challenge != NULL)
            http_set_header(req, "WWW-Authenticate", challenge);
        fhir_outcome(req, 403, "forbidden", "%s", v->reason);
        return 0;
    }
    struct audit_event ev;
    struct audit_held *h = arena_zalloc(req->arena, sizeof *h);
    if (h == NULL || fhir_access_event(req, &c->who, t, action, v, &ev) != 0)
        return -1;
    h->fhir = 1;
    h->deny = v->reason;
    h->deny_challenge = challenge;
    h->what = "a refused FHIR access";
    return audit_answer_when_recorded(req, c->api->store, &ev, h);
}

/* A permitted read of body: on the owner's trail before the answer (with the citizen's inbox
 * notice for emergency access), or at once for data about no one. */
static int hand_out(struct fhir_call *c, const struct fhir_target *t, const char *action,
                    const struct fhir_verdict *v, const char *body, size_t len)
{
    struct http_request *req = c->req;
    if (t->subject == NULL) {
        http_respond(req, 200, FHIR_JSON, body, len);
        return 0;
    }
    struct audit_held *h = arena_zalloc(req->arena, sizeof *h);
    struct audit_event *ev = arena_zalloc(req->arena, sizeof *ev);
    if (h == NULL || ev == NULL || fhir_access_event(req, &c->who, t, action, v, ev) != 0)
        return -1;
    h->fhir = 1;
    h->type = FHIR_JSON;
    h->body = (char *)body;
    h->len = len;
    h->what = "a FHIR read";
    if (!v->break_glass)
        return audit_answer_when_recorded(req, c->api->store, ev, h);
    struct consent_break_glass *bg = arena_zalloc(req->arena, sizeof *bg);
    if (bg == NULL)
        return -1;
    bg->ev = ev;
    bg->actor_desc = c->who.role != NULL ? c->who.role : "practitioner";
    return audit_answer_when_written(req, c->api->store, consent_break_glass_fn, bg, h);
}

/* ---- read, vread ---- */

static int target_of(const struct fhir_record *r, struct fhir_target *t)
{
    *t = (struct fhir_target){
        .rtype = r->rtype, .id = r->id, .subject = r->subject, .category = r->category};
    return 0;
}

static int read_common(struct http_request *req, void *ctx, int vread)
{
    struct fhir_call c;
    int ok = fhir_call_begin(req, ctx, &c, NULL);
    if (ok <= 0)
        return ok;
    const char *id = req->params[1];
    int64_t version = 0;
    if (vread && !fhir_parse_version(req->params[2], &version)) {
        fhir_outcome(req, 404, "not-found", "no such version");
        return 0;
    }
    struct fhir_record rec;
    struct err e = {0};
    int rc = !fhir_id_valid(id) ? ERR_NOTFOUND
             : vread ? fhir_resource_vread(c.api->store, c.rtype, id, version, &rec, req->arena, &e)
                     : fhir_resource_read(c.api->store, c.rtype, id, &rec, req->arena, &e);
    if (rc == ERR_NOTFOUND) {
        fhir_outcome(req, 404, "not-found", "no %s with this id%s", c.rtype,
                     vread ? " and version" : "");
        return 0;
    }
    if (rc != 0)
        return fhir_call_store_failed(&c, rc, &e);
    struct fhir_target t;
    target_of(&rec, &t);
    struct fhir_verdict v;
    if (fhir_access_decide(&c.who, &t, ID_PERM_R, c.purpose, c.break_glass, req->arena, &v) != 0)
        return -1;
    const char *action = vread ? "vread" : "read";
    if (!v.permit)
        return refuse(&c, &t, action, &v);
    if (rec.deleted) {
        version_headers(req, c.api, c.rtype, id, rec.version, rec.updated_ms, 0);
        fhir_outcome(req, 410, "deleted", "%s/%s was deleted", c.rtype, id);
        return 0;
    }
    version_headers(req, c.api, c.rtype, id, rec.version, rec.updated_ms, 0);
    return hand_out(&c, &t, action, &v, rec.body, rec.len);
}

/* The token, the resource and whatever the decision reads, in one read transaction: SQLite
 * empties a reader's page cache whenever the writer committed since its last read, which under
 * the audit records of other reads is nearly every statement (store_read_begin). */
static int read_scoped(struct http_request *req, void *ctx, int vread)
{
    struct store *s = ((struct fhir_api *)ctx)->store;
    store_read_begin(s);
    int rc = read_common(req, ctx, vread);
    store_read_end(s);
    return rc;
}

static int get_read(struct http_request *req, void *ctx)
{
    return read_scoped(req, ctx, 0);
}

static int get_vread(struct http_request *req, void *ctx)
{
    return read_scoped(req, ctx, 1);
}

/* ---- create, update, delete ---- */

struct write_call {
    struct fhir_call c;
    struct fhir_write w;
    json_t *doc;
    int status; /* of the store write */
    struct err e;
    int prefer_minimal;
};

static void write_done(int status, const struct err *e, void *ctx)
{
    struct write_call *wc = ctx;
    wc->status = status;
    if (e != NULL)
        wc->e = *e;
    http_request_resume(wc->c.req);
}

static void release_write(void *p)
{
    struct write_call *wc = p;
    fhir_write_release(&wc->w);
    json_decref(wc->doc);
}

static int answer_write(struct http_request *req, void *ctx)
{
    struct write_call *wc = ctx;
    struct fhir_write *w = &wc->w;
    switch (wc->status) {
    case 0:
        break;
    case ERR_NOTFOUND:
        fhir_outcome(req, 404, "not-found", "no %s with this id", w->rtype);
        return 0;
    case ERR_CONFLICT:
        if ((w->if_match > 0 && strncmp(wc->e.msg, "version", 7) == 0) ||
            strncmp(wc->e.msg, "if-none-exist", 13) == 0) {
            fhir_outcome(req, 412, "conflict", "%s", wc->e.msg);
            return 0;
        }
        fhir_outcome(req, 409, "conflict", "%s", wc->e.msg);
        return 0;
    case ERR_INVALID:
        fhir_outcome(req, 422, "processing", "%s", wc->e.msg);
        return 0;
    default:
        http_set_header(req, "Retry-After", "1");
        fhir_outcome(req, 503, "transient", "the change could not be stored; nothing was changed");
        return 0;
    }
    if (w->op == FHIR_WRITE_DELETE) {
        http_respond(req, 204, NULL, "", 0);
        return 0;
    }
    if (w->existing) {
        version_headers(req, wc->c.api, w->rtype, w->id, w->version, w->updated_ms, 1);
        json_t *oo = fhir_operation_outcome(FHIR_INFORMATION, "duplicate",
                                            "a resource matching If-None-Exist exists: nothing "
                                            "was created (see Location)");
        if (oo == NULL)
            return -1;
        http_respond_json(req, 200, oo);
        return 0;
    }
    int created = w->op == FHIR_WRITE_CREATE || w->created;
    version_headers(req, wc->c.api, w->rtype, w->id, w->version, w->updated_ms, created);
    if (wc->prefer_minimal) {
        http_respond(req, created ? 201 : 200, NULL, "", 0);
        return 0;
    }
    char *body = arena_strndup(req->arena, w->body, w->len);
    if (body == NULL)
        return -1;
    http_respond(req, created ? 201 : 200, FHIR_JSON, body, w->len);
    return 0;
}

/* Queues wc's write; the answer follows when it is durable. */
static int start_write(struct write_call *wc, const struct fhir_verdict *v, const char *action,
                       const struct fhir_target *t)
{
    struct http_request *req = wc->c.req;
    struct fhir_write *w = &wc->w;
    w->now_ms = clock_now_ms();
    w->record_audit = t->subject != NULL;
    if (w->record_audit && fhir_access_event(req, &wc->c.who, t, action, v, &w->ev) != 0)
        return -1;
    const char *prefer = http_header(req, "Prefer");
    wc->prefer_minimal = prefer != NULL && strstr(prefer, "return=minimal") != NULL;
    /* a plain create is stamped, serialised and indexed here, on this worker, so that the
     * store's single writer only inserts its rows; anything else (or a create this fails for)
     * is done inside the write, the same way */
    struct err not_plain = {0};
    (void)fhir_write_prepare_create(w, req->arena, &not_plain);
    http_request_suspend(req, answer_write, wc);
    if (store_write_async(wc->c.api->store, fhir_resource_write_fn, w, write_done, wc) != 0) {
        wc->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

static struct write_call *new_write(struct http_request *req)
{
    struct write_call *wc = arena_zalloc(req->arena, sizeof *wc);
    if (wc == NULL || arena_defer(req->arena, release_write, wc) != 0)
        return NULL;
    return wc;
}

/* The Patient's id on create: the regional ID its identifier carries. */
static const char *patient_regional_id(const json_t *doc)
{
    size_t i;
    const json_t *ident;
    json_array_foreach(json_object_get(doc, "identifier"), i, ident)
    {
        const char *sys = json_string_value(json_object_get(ident, "system"));
        const char *val = json_string_value(json_object_get(ident, "value"));
        if (sys != NULL && val != NULL && strcmp(sys, FHIR_SYS_REGIONAL_ID) == 0)
            return val;
    }
    return NULL;
}

/* Owner and category of a parsed, validated resource, with the owner checked to be a citizen
 * of the regional ID. Returns 1, 0 (answer set) or -1. */
static int owner_and_category(struct fhir_call *c, const json_t *doc, struct fhir_target *t)
{
    struct err e = {0};
    if (fhir_owner_of(c->rtype, doc, &t->subject, &e) != 0) {
        fhir_outcome(c->req, 422, "processing", "%s", e.msg);
        return 0;
    }
    int ok = fhir_call_check_refs(c, t->subject);
    if (ok <= 0)
        return ok;
    if (t->subject != NULL) {
        struct id_person person;
        int rc = id_person_get(c->api->store, t->subject, &person, c->req->arena, &e);
        if (rc == ERR_NOTFOUND || rc == ERR_INVALID) {
            fhir_outcome(c->req, 422, "processing",
                         "Patient/%s: no citizen of the regional ID has this id", t->subject);
            return 0;
        }
        if (rc != 0)
            return fhir_call_store_failed(c, rc, &e);
        enum consent_category cat = consent_category_of_resource(doc);
        t->category = cat == CONSENT_CAT_NONE ? NULL : consent_category_name(cat);
    }
    return 1;
}

static int post_create(struct http_request *req, void *ctx)
{
    struct write_call *wc = new_write(req);
    if (wc == NULL)
        return -1;
    int ok = fhir_call_begin(req, ctx, &wc->c, NULL);
    if (ok > 0)
        ok = fhir_call_resource(&wc->c, &wc->doc, NULL);
    if (ok <= 0)
        return ok;
    struct fhir_write *w = &wc->w;
    w->op = FHIR_WRITE_CREATE;
    w->rtype = wc->c.rtype;
    w->resource = wc->doc;
    if (strcmp(w->rtype, "Patient") == 0) {
        const char *rid = patient_regional_id(wc->doc);
        if (rid == NULL || !ids_valid(rid)) {
            fhir_outcome(req, 422, "processing",
                         "Patient.identifier: a Patient is a citizen: give their regional ID "
                         "(system " FHIR_SYS_REGIONAL_ID ")");
            return 0;
        }
        snprintf(w->id, sizeof w->id, "%s", rid);
    } else {
        ids_new_ordered(w->id, clock_now_ms());
    }
    if (json_object_set_new(wc->doc, "id", json_string(w->id)) != 0)
        return -1;
    struct fhir_target t = {.rtype = w->rtype};
    if ((ok = owner_and_category(&wc->c, wc->doc, &t)) <= 0)
        return ok;
    t.id = w->id;
    w->subject = t.subject;
    w->category = t.category;
    struct fhir_verdict v;
    if (fhir_access_decide(&wc->c.who, &t, ID_PERM_C, wc->c.purpose, NULL, req->arena, &v) != 0)
        return -1;
    if (!v.permit)
        return refuse(&wc->c, &t, "create", &v);
    /* conditional create: uploads can be repeated safely (FHIR R4 3.1.0.8.1) */
    const char *cond = http_header(req, "If-None-Exist");
    if (cond != NULL) {
        struct fhir_sql *q = NULL;
        struct err e = {0};
        int rc = fhir_search_condition_sql(w->rtype, cond, req->arena, &q, &e);
        if (rc == ERR_NOMEM)
            return -1;
        if (rc != 0) {
            fhir_outcome(req, 400, "invalid", "If-None-Exist: %s", e.msg);
            return 0;
        }
        w->if_none_exist = q;
    }
    return start_write(wc, &v, "create", &t);
}

/* Both NULL, or equal text. */
static int same_text(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static int put_update(struct http_request *req, void *ctx)
{
    struct write_call *wc = new_write(req);
    if (wc == NULL)
        return -1;
    int ok = fhir_call_begin(req, ctx, &wc->c, NULL);
    if (ok > 0)
        ok = fhir_call_resource(&wc->c, &wc->doc, req->params[1]);
    if (ok <= 0)
        return ok;
    struct fhir_write *w = &wc->w;
    w->op = FHIR_WRITE_UPDATE;
    w->rtype = wc->c.rtype;
    w->resource = wc->doc;
    w->create_missing = 1;
    snprintf(w->id, sizeof w->id, "%s", req->params[1]);
    if (!fhir_call_if_match(&wc->c, &w->if_match))
        return 0;
    struct fhir_target t = {.rtype = w->rtype, .id = w->id};
    if ((ok = owner_and_category(&wc->c, wc->doc, &t)) <= 0)
        return ok;
    w->subject = t.subject;
    w->category = t.category;
    /* the writer needs the right over what the resource is now and what it becomes */
    struct fhir_record cur;
    struct err e = {0};
    int rc = fhir_resource_read(wc->c.api->store, w->rtype, w->id, &cur, req->arena, &e);
    if (rc != 0 && rc != ERR_NOTFOUND)
        return fhir_call_store_failed(&wc->c, rc, &e);
    struct fhir_verdict v;
    if (rc == 0 && !cur.deleted && !same_text(cur.subject, t.subject)) {
        fhir_outcome(req, 422, "processing",
                     "%s/%s belongs to another citizen: an update cannot change whose it is",
                     w->rtype, w->id);
        return 0;
    }
    if (rc == 0 && !cur.deleted && !same_text(cur.category, t.category)) {
        struct fhir_target old;
        target_of(&cur, &old);
        if (fhir_access_decide(&wc->c.who, &old, ID_PERM_U, wc->c.purpose, NULL, req->arena, &v) !=
            0)
            return -1;
        if (!v.permit)
            return refuse(&wc->c, &old, "update", &v);
    }
    unsigned perm = rc == ERR_NOTFOUND ? ID_PERM_C : ID_PERM_U;
    if (fhir_access_decide(&wc->c.who, &t, perm, wc->c.purpose, NULL, req->arena, &v) != 0)
        return -1;
    const char *action = rc == ERR_NOTFOUND ? "create" : "update";
    if (!v.permit)
        return refuse(&wc->c, &t, action, &v);
    return start_write(wc, &v, action, &t);
}

static int delete_resource(struct http_request *req, void *ctx)
{
    struct write_call *wc = new_write(req);
    if (wc == NULL)
        return -1;
    int ok = fhir_call_begin(req, ctx, &wc->c, NULL);
    if (ok <= 0)
        return ok;
    struct fhir_write *w = &wc->w;
    w->op = FHIR_WRITE_DELETE;
    w->rtype = wc->c.rtype;
    if (!fhir_id_valid(req->params[1])) {
        fhir_outcome(req, 404, "not-found", "no %s with this id", w->rtype);
        return 0;
    }
    snprintf(w->id, sizeof w->id, "%s", req->params[1]);
    if (!fhir_call_if_match(&wc->c, &w->if_match))
        return 0;
    struct fhir_record cur;
    struct err e = {0};
    int rc = fhir_resource_read(wc->c.api->store, w->rtype, w->id, &cur, req->arena, &e);
    if (rc == ERR_NOTFOUND) {
        fhir_outcome(req, 404, "not-found", "no %s with this id", w->rtype);
        return 0;
    }
    if (rc != 0)
        return fhir_call_store_failed(&wc->c, rc, &e);
    struct fhir_target t;
    target_of(&cur, &t);
    struct fhir_verdict v;
    if (fhir_access_decide(&wc->c.who, &t, ID_PERM_D, wc->c.purpose, NULL, req->arena, &v) != 0)
        return -1;
    if (!v.permit)
        return refuse(&wc->c, &t, "delete", &v);
    if (cur.deleted) {
        http_respond(req, 204, NULL, "", 0);
        return 0;
    }
    w->subject = t.subject;
    w->category = t.category;
    return start_write(wc, &v, "delete", &t);
}

/* ---- history ---- */

struct history_call {
    struct fhir_call c;
    struct fhir_bundle b;
    size_t count;
    int more;
    int64_t last_ms, last_version;
    const char *last_id;
    int failed;
};

static int history_row(const struct fhir_record *r, void *ctx)
{
    struct history_call *h = ctx;
    if (h->b.nentries >= h->count) {
        h->more = 1;
        return 1;
    }
    h->last_ms = r->updated_ms;
    h->last_version = r->version;
    h->last_id = r->id;
    struct fhir_target t;
    target_of(r, &t);
    struct fhir_verdict v;
    if (fhir_access_decide(&h->c.who, &t, ID_PERM_R, h->c.purpose, NULL, h->c.req->arena, &v) !=
        0) {
        h->failed = 1;
        return 1;
    }
    if (fhir_bundle_decided(&h->b, &t, &v) != 0 ||
        (v.permit && fhir_bundle_add_version(&h->b, r) != 0)) {
        h->failed = 1;
        return 1;
    }
    return 0;
}

static int get_history(struct http_request *req, void *ctx, int instance)
{
    struct history_call *h = arena_zalloc(req->arena, sizeof *h);
    if (h == NULL)
        return -1;
    static const char *const allowed[] = {"_count", "_since", "_cursor", "_format", NULL};
    int ok = fhir_call_begin(req, ctx, &h->c, allowed);
    if (ok <= 0)
        return ok;
    struct fhir_history_q q = {.rtype = h->c.rtype};
    if (instance) {
        q.id = req->params[1];
        struct fhir_record cur;
        struct err e = {0};
        int rc = !fhir_id_valid(q.id)
                     ? ERR_NOTFOUND
                     : fhir_resource_read(h->c.api->store, q.rtype, q.id, &cur, req->arena, &e);
        if (rc == ERR_NOTFOUND) {
            fhir_outcome(req, 404, "not-found", "no %s with this id", q.rtype);
            return 0;
        }
        if (rc != 0)
            return fhir_call_store_failed(&h->c, rc, &e);
    }
    if (!fhir_call_paging(&h->c, &h->count, &q.since_ms, &q.before_ms, &q.before_version,
                          &q.before_id))
        return 0;
    q.limit = h->count + 1;
    if (fhir_bundle_init(&h->b, req, h->c.api->issuer, "history") != 0)
        return -1;
    struct err e = {0};
    int rc = fhir_resource_history(h->c.api->store, &q, history_row, h, req->arena, &e);
    if (h->failed)
        return -1;
    if (rc != 0)
        return fhir_call_store_failed(&h->c, rc, &e);
    if (h->more) {
        const char *cursor = arena_printf(req->arena, "%lld.%lld.%s", (long long)h->last_ms,
                                          (long long)h->last_version, h->last_id);
        const char *count = arena_printf(req->arena, "%zu", h->count);
        const char *since = http_query(req, "_since");
        const char *params[] = {"_count", count, since != NULL ? "_since" : NULL, since, NULL};
        if (cursor == NULL || count == NULL || fhir_bundle_next(&h->b, params, cursor) != 0)
            return -1;
    }
    return fhir_bundle_send(&h->b, &h->c, instance ? "history" : "history-type");
}

static int get_instance_history(struct http_request *req, void *ctx)
{
    return get_history(req, ctx, 1);
}

static int get_type_history(struct http_request *req, void *ctx)
{
    return get_history(req, ctx, 0);
}

/* ---- registration ---- */

int fhir_api_register(struct http_router *r, struct fhir_api *api, struct store *s,
                      const char *issuer)
{
    api->store = s;
    api->issuer = issuer;
    int rc = fhir_capability_register(r, &api->capability, issuer, CITYOS_VERSION);
    if (rc != 0)
        return rc;
    if ((rc = fhir_everything_register(r, api)) != 0)
        return rc;
    static const struct {
        const char *method, *pattern;
        http_handler fn;
    } routes[] = {
        {"GET", "/fhir/{type}/_history", get_type_history},
        {"GET", "/fhir/{type}/{id}/_history", get_instance_history},
        {"GET", "/fhir/{type}/{id}/_history/{vid}", get_vread},
        {"POST", "/fhir/{type}", post_create},
        {"GET", "/fhir/{type}/{id}", get_read},
        {"PUT", "/fhir/{type}/{id}", put_update},
        {"DELETE", "/fhir/{type}/{id}", delete_resource},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].fn, api);
        if (rc != 0)
            return rc;
    }
    rc = fhir_transaction_register(r, api);
    return rc != 0 ? rc : fhir_search_api_register(r, api);
}
