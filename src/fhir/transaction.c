/* transaction.c - POST /fhir with a batch or transaction Bundle (FHIR R4 3.1.0.11.2). Every
 * entry goes through the same checks and access decision as the single-resource interactions.
 * A transaction is all or nothing: urn:uuid fullUrls are given ids and references to them
 * rewritten, every entry validated and decided first, then all written in one store write whose
 * failure stores none of them. A batch's entries stand alone: each gets its own answer. */
#include "fhir/transaction.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/held.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/category.h"
#include "fhir/access.h"
#include "fhir/fhir_call.h"
#include "fhir/outcome.h"
#include "fhir/owner.h"
#include "fhir/refs.h"
#include "fhir/request_parse.h"
#include "fhir/resource.h"
#include "fhir/search_api.h"
#include "fhir/validate.h"
#include "identity/person.h"
#include "identity/scope.h"

struct entry {
    size_t index;
    enum fhir_write_op op;
    const char *rtype;
    json_t *res; /* borrowed from the Bundle (create, update) */
    const char *full_url;
    int64_t if_match;
    const char *if_none_exist; /* request.ifNoneExist, or NULL */
    struct fhir_call_ref *refs;
    struct fhir_target t;
    struct fhir_verdict v;
    const char *action;
    struct fhir_write w;
    /* the entry's own answer (batch), or why the transaction failed here */
    int status;
    const char *code;
    char msg[256];
};

struct bundle_call {
    struct fhir_call c;
    json_t *doc;
    int transaction;
    struct entry *entries;
    size_t n;
    struct fhir_pending *pending;
    size_t npending;
    struct fhir_issues *is;
    /* the store writes */
    int status;
    struct err e;
    atomic_size_t outstanding; /* batch: writes not yet done */
    struct audit_event *denials;
    size_t ndenials;
};

static void release(void *p)
{
    struct bundle_call *bc = p;
    for (size_t i = 0; i < bc->n; i++)
        fhir_write_release(&bc->entries[i].w);
}

/* ---- reading the Bundle ---- */

static void entry_fail(struct entry *en, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void entry_fail(struct entry *en, int status, const char *code, const char *fmt, ...)
{
    if (en->status != 0)
        return; /* the first reason stays */
    en->status = status;
    en->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(en->msg, sizeof en->msg, fmt, ap);
    va_end(ap);
}

/* request.method and request.url of one entry: what it does to which resource. */
static void read_request(struct bundle_call *bc, struct entry *en, json_t *item)
{
    struct fhir_entry_request rq;
    const char *code = NULL;
    char msg[256];
    int status = fhir_entry_request_parse(item, &rq, &code, msg, sizeof msg);
    if (status != 0) {
        entry_fail(en, status, code, "%s", msg);
        return;
    }
    en->op = rq.op;
    en->rtype = arena_strdup(bc->c.req->arena, rq.rtype);
    if (en->rtype == NULL) {
        bc->c.nomem = 1;
        return;
    }
    snprintf(en->w.id, sizeof en->w.id, "%s", rq.id);
    en->res = rq.resource;
    en->full_url = rq.full_url;
    en->if_match = rq.if_match;
    en->if_none_exist = rq.if_none_exist;
    if (en->if_none_exist != NULL) {
        struct fhir_sql *q = NULL;
        struct err e = {0};
        int rc = fhir_search_condition_sql(en->rtype, en->if_none_exist, bc->c.req->arena, &q, &e);
        if (rc == ERR_NOMEM)
            bc->c.nomem = 1;
        else if (rc != 0)
            entry_fail(en, 400, "invalid", "request.ifNoneExist: %s", e.msg);
        en->w.if_none_exist = q;
    }
}

/* The new id of a create entry (a Patient's is the regional ID it carries). */
static void assign_id(struct entry *en)
{
    if (strcmp(en->rtype, "Patient") != 0) {
        ids_new_ordered(en->w.id, clock_now_ms());
        return;
    }
    size_t i;
    const json_t *ident;
    json_array_foreach(json_object_get(en->res, "identifier"), i, ident)
    {
        const char *sys = json_string_value(json_object_get(ident, "system"));
        const char *val = json_string_value(json_object_get(ident, "value"));
        if (sys != NULL && val != NULL && strcmp(sys, FHIR_SYS_REGIONAL_ID) == 0 &&
            ids_valid(val)) {
            snprintf(en->w.id, sizeof en->w.id, "%s", val);
            return;
        }
    }
    entry_fail(en, 422, "processing",
               "Patient.identifier: a Patient is a citizen: give their regional ID "
               "(system " FHIR_SYS_REGIONAL_ID ")");
}

/* The "Type/id" a create entry's fullUrl stands for (fhir_refs_rewrite's lookup). */
static const char *full_url_target(void *ctx, const char *ref, char *buf, size_t cap)
{
    struct bundle_call *bc = ctx;
    for (size_t i = 0; i < bc->n; i++) {
        struct entry *en = &bc->entries[i];
        if (en->op != FHIR_WRITE_CREATE || en->full_url == NULL || strcmp(en->full_url, ref) != 0)
            continue;
        snprintf(buf, cap, "%s/%s", en->rtype, en->w.id);
        return buf;
    }
    return NULL;
}

/* ---- checking and deciding each entry ---- */

static const char *where_of(struct bundle_call *bc, const struct entry *en)
{
    return arena_printf(bc->c.req->arena, "Bundle.entry[%zu].resource", en->index);
}

/* Validates a create/update entry's resource (issues into bc->is, located in the Bundle) and
 * finds its owner and category. Returns 0, or -1 out of memory / ERR_UNAVAILABLE. */
static int prepare(struct bundle_call *bc, struct entry *en)
{
    struct fhir_call *c = &bc->c;
    if (en->op == FHIR_WRITE_DELETE) {
        struct fhir_record cur;
        struct err e = {0};
        int rc = fhir_resource_read(c->api->store, en->rtype, en->w.id, &cur, c->req->arena, &e);
        if (rc == ERR_NOTFOUND) {
            entry_fail(en, 404, "not-found", "no %s with this id", en->rtype);
            return 0;
        }
        if (rc != 0)
            return rc == ERR_NOMEM ? -1 : ERR_UNAVAILABLE;
        en->t = (struct fhir_target){en->rtype, en->w.id, cur.subject, cur.category};
        return 0;
    }
    if (en->op == FHIR_WRITE_CREATE &&
        json_object_set_new(en->res, "id", json_string(en->w.id)) != 0)
        return -1;
    const char *where = where_of(bc, en);
    if (where == NULL)
        return -1;
    size_t before = bc->is->nerrors;
    if (fhir_call_validate_into(c, en->res, en->rtype, where, bc->is) != 0)
        return -1;
    en->refs = c->refs;
    if (bc->is->nerrors > before) {
        entry_fail(en, 422, "processing", "the resource is not valid R4 (see the issues)");
        return 0;
    }
    struct err e = {0};
    const char *subject = NULL;
    if (fhir_owner_of(en->rtype, en->res, &subject, &e) != 0) {
        entry_fail(en, 422, "processing", "%s", e.msg);
        return 0;
    }
    en->t = (struct fhir_target){en->rtype, en->w.id, subject, NULL};
    if (subject != NULL) {
        struct id_person person;
        int rc = id_person_get(c->api->store, subject, &person, c->req->arena, &e);
        if (rc == ERR_NOTFOUND || rc == ERR_INVALID) {
            entry_fail(en, 422, "processing",
                       "Patient/%s: no citizen of the regional ID has this id", subject);
            return 0;
        }
        if (rc != 0)
            return rc == ERR_NOMEM ? -1 : ERR_UNAVAILABLE;
        enum consent_category cat = consent_category_of_resource(en->res);
        en->t.category = cat == CONSENT_CAT_NONE ? NULL : consent_category_name(cat);
    }
    return 0;
}

/* The references and the access decision of a prepared entry. */
static int decide(struct bundle_call *bc, struct entry *en)
{
    struct fhir_call *c = &bc->c;
    if (en->op != FHIR_WRITE_DELETE) {
        size_t before = bc->is->nerrors;
        const char *where = where_of(bc, en);
        if (where == NULL)
            return -1;
        int rc = fhir_refs_check(c, en->refs, en->t.subject, bc->transaction ? bc->pending : NULL,
                                 bc->transaction ? bc->npending : 0, where, bc->is);
        if (rc != 0)
            return rc;
        if (bc->is->nerrors > before) {
            entry_fail(en, 422, "processing", "a reference cannot be followed (see the issues)");
            return 0;
        }
    }
    unsigned perm = en->op == FHIR_WRITE_CREATE   ? ID_PERM_C
                    : en->op == FHIR_WRITE_DELETE ? ID_PERM_D
                                                  : ID_PERM_U;
    en->action = en->op == FHIR_WRITE_CREATE   ? "create"
                 : en->op == FHIR_WRITE_DELETE ? "delete"
                                               : "update";
    if (en->op == FHIR_WRITE_UPDATE) {
        struct fhir_record cur;
        struct err e = {0};
        int rc = fhir_resource_read(c->api->store, en->rtype, en->w.id, &cur, c->req->arena, &e);
        if (rc != 0 && rc != ERR_NOTFOUND)
            return rc == ERR_NOMEM ? -1 : ERR_UNAVAILABLE;
        if (rc == ERR_NOTFOUND) {
            perm = ID_PERM_C;
            en->action = "create";
        } else if (!cur.deleted) {
            int same_owner = cur.subject == NULL || en->t.subject == NULL
                                 ? cur.subject == en->t.subject
                                 : strcmp(cur.subject, en->t.subject) == 0;
            if (!same_owner) {
                entry_fail(en, 422, "processing",
                           "%s/%s belongs to another citizen: an update cannot change whose it "
                           "is",
                           en->rtype, en->w.id);
                return 0;
            }
            /* the right over what it was, too, when its category changes */
            struct fhir_target old = {en->rtype, en->w.id, cur.subject, cur.category};
            int same_cat = cur.category == NULL || en->t.category == NULL
                               ? cur.category == en->t.category
                               : strcmp(cur.category, en->t.category) == 0;
            if (!same_cat) {
                if (fhir_access_decide(&c->who, &old, ID_PERM_U, c->purpose, NULL, c->req->arena,
                                       &en->v) != 0)
                    return -1;
                if (!en->v.permit) {
                    en->t = old;
                    entry_fail(en, 403, "forbidden", "%s", en->v.reason);
                    return 0;
                }
            }
        }
    }
    if (fhir_access_decide(&c->who, &en->t, perm, c->purpose, NULL, c->req->arena, &en->v) != 0)
        return -1;
    if (!en->v.permit)
        entry_fail(en, 403, "forbidden", "%s", en->v.reason);
    return 0;
}

/* Fills en->w for the store write. */
static int arm_write(struct bundle_call *bc, struct entry *en)
{
    struct fhir_write *w = &en->w;
    w->op = en->op;
    w->rtype = en->rtype;
    w->resource = en->res;
    w->if_match = en->if_match;
    w->create_missing = en->op == FHIR_WRITE_UPDATE;
    w->subject = en->t.subject;
    w->category = en->t.category;
    w->now_ms = clock_now_ms();
    w->record_audit = en->t.subject != NULL;
    if (w->record_audit &&
        fhir_access_event(bc->c.req, &bc->c.who, &en->t, en->action, &en->v, &w->ev) != 0)
        return -1;
    /* a plain create is stamped, serialised and indexed here, on this worker, so that the
     * store's single writer only inserts its rows (as POST /fhir/{type} does); should that
     * fail, the write is left as it was and fails the same way in the writer */
    if (w->op == FHIR_WRITE_CREATE && w->if_none_exist == NULL && w->resource != NULL) {
        struct err ignored = {0};
        (void)fhir_write_prepare_create(w, bc->c.req->arena, &ignored);
    }
    return 0;
}

/* ---- the answer ---- */

static const char *status_line(int status)
{
    switch (status) {
    case 200:
        return "200 OK";
    case 201:
        return "201 Created";
    case 204:
        return "204 No Content";
    case 400:
        return "400 Bad Request";
    case 403:
        return "403 Forbidden";
    case 404:
        return "404 Not Found";
    case 409:
        return "409 Conflict";
    case 412:
        return "412 Precondition Failed";
    case 422:
        return "422 Unprocessable Entity";
    default:
        return "503 Service Unavailable";
    }
}

/* The response entry of en (after its write, or its failure). */
static json_t *response_entry(struct bundle_call *bc, struct entry *en)
{
    if (en->status != 0 && en->status != 200 && en->status != 201 && en->status != 204) {
        json_t *oo = fhir_operation_outcome(FHIR_ERROR, en->code, en->msg);
        return json_pack("{s:{s:s, s:o*}}", "response", "status", status_line(en->status),
                         "outcome", oo);
    }
    struct fhir_write *w = &en->w;
    char etag[32], when[32];
    snprintf(etag, sizeof etag, "W/\"%lld\"", (long long)w->version);
    clock_format_ms(w->updated_ms, when, sizeof when);
    const char *loc = arena_printf(bc->c.req->arena, "%s/%s/_history/%lld", w->rtype, w->id,
                                   (long long)w->version);
    if (loc == NULL)
        return NULL;
    if (en->op == FHIR_WRITE_DELETE)
        return json_pack("{s:{s:s}}", "response", "status", status_line(204));
    if (w->existing) /* ifNoneExist matched: nothing created */
        return json_pack("{s:{s:s, s:s, s:s}}", "response", "status", status_line(200), "location",
                         loc, "etag", etag);
    int created = en->op == FHIR_WRITE_CREATE || w->created;
    json_t *e = json_pack(
        "{s:s, s:{s:s, s:s, s:s, s:s}}", "fullUrl",
        arena_printf(bc->c.req->arena, "%s/fhir/%s/%s", bc->c.api->issuer, w->rtype, w->id),
        "response", "status", status_line(created ? 201 : 200), "location", loc, "etag", etag,
        "lastModified", when);
    struct err er = {0};
    json_t *res = e != NULL && w->body != NULL ? jsonx_parse(w->body, w->len, &er) : NULL;
    if (res != NULL && json_object_set_new(e, "resource", res) != 0)
        return NULL;
    return e;
}

static int answer_bundle(struct http_request *req, void *ctx)
{
    struct bundle_call *bc = ctx;
    if (bc->transaction && bc->status != 0) {
        /* nothing was stored: name the entry that failed when the write did */
        switch (bc->status) {
        case ERR_NOTFOUND:
            fhir_outcome(req, 404, "not-found", "%s", bc->e.msg);
            return 0;
        case ERR_CONFLICT:
            fhir_outcome(req, strstr(bc->e.msg, "version") != NULL ? 412 : 409, "conflict", "%s",
                         bc->e.msg);
            return 0;
        case ERR_INVALID:
            fhir_outcome(req, 422, "processing", "%s", bc->e.msg);
            return 0;
        default:
            http_set_header(req, "Retry-After", "1");
            fhir_outcome(req, 503, "transient",
                         "the transaction could not be stored; nothing was changed");
            return 0;
        }
    }
    json_t *out = json_pack("{s:s, s:s, s:[]}", "resourceType", "Bundle", "type",
                            bc->transaction ? "transaction-response" : "batch-response", "entry");
    if (out == NULL || arena_defer(req->arena, jsonx_decref, out) != 0) {
        json_decref(out);
        return -1;
    }
    json_t *entries = json_object_get(out, "entry");
    for (size_t i = 0; i < bc->n; i++) {
        json_t *e = response_entry(bc, &bc->entries[i]);
        if (e == NULL || json_array_append_new(entries, e) != 0)
            return -1;
    }
    http_set_header(req, "Cache-Control", "no-store");
    http_respond_json(req, 200, json_incref(out));
    return 0;
}

/* ---- the writes ---- */

/* Transaction: every entry's write in one store write; the first failure undoes them all. */
static int write_all(struct store_tx *tx, void *ctx, struct err *e)
{
    struct bundle_call *bc = ctx;
    for (size_t i = 0; i < bc->n; i++) {
        int rc = fhir_resource_write_fn(tx, &bc->entries[i].w, e);
        if (rc != 0) {
            char why[sizeof e->msg];
            snprintf(why, sizeof why, "%s", e->msg);
            err_set(e, rc, "Bundle.entry[%zu]: %s", i, why);
            return rc;
        }
    }
    return 0;
}

static void all_written(int status, const struct err *e, void *ctx)
{
    struct bundle_call *bc = ctx;
    bc->status = status;
    if (e != NULL)
        bc->e = *e;
    http_request_resume(bc->c.req);
}

/* Batch: one write per entry; the last to finish resumes the request. */
struct one_write {
    struct bundle_call *bc;
    struct entry *en;
};

static void one_written(int status, const struct err *e, void *ctx)
{
    struct one_write *ow = ctx;
    struct entry *en = ow->en;
    if (status == 0) {
        en->status = en->op == FHIR_WRITE_DELETE                    ? 204
                     : en->op == FHIR_WRITE_CREATE || en->w.created ? 201
                                                                    : 200;
    } else {
        int code = status == ERR_NOTFOUND                                     ? 404
                   : status == ERR_CONFLICT && e && strstr(e->msg, "version") ? 412
                   : status == ERR_CONFLICT                                   ? 409
                   : status == ERR_INVALID                                    ? 422
                                                                              : 503;
        entry_fail(en, code, code == 503 ? "transient" : "processing", "%s",
                   e != NULL ? e->msg : "the write failed");
    }
    if (atomic_fetch_sub(&ow->bc->outstanding, 1) == 1)
        http_request_resume(ow->bc->c.req);
}

static int append_denials(struct store_tx *tx, void *ctx, struct err *e)
{
    struct bundle_call *bc = ctx;
    for (size_t i = 0; i < bc->ndenials; i++) {
        int rc = audit_append(tx, &bc->denials[i], NULL, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void denials_written(int status, const struct err *e, void *ctx)
{
    struct bundle_call *bc = ctx;
    if (status != 0)
        log_warn("refusals in a Bundle could not be recorded: %s", e != NULL ? e->msg : "");
    if (atomic_fetch_sub(&bc->outstanding, 1) == 1)
        http_request_resume(bc->c.req);
}

/* The refusals of the entries, for the citizens' trails. Returns 0 or -1. */
static int collect_denials(struct bundle_call *bc)
{
    struct http_request *req = bc->c.req;
    bc->denials = arena_zalloc(req->arena, (bc->n + 1) * sizeof *bc->denials);
    if (bc->denials == NULL)
        return -1;
    for (size_t i = 0; i < bc->n; i++) {
        struct entry *en = &bc->entries[i];
        if (en->status != 403 || en->t.subject == NULL)
            continue;
        if (fhir_access_event(req, &bc->c.who, &en->t, en->action, &en->v,
                              &bc->denials[bc->ndenials]) != 0)
            return -1;
        bc->ndenials++;
    }
    return 0;
}

static int run_batch(struct bundle_call *bc)
{
    struct http_request *req = bc->c.req;
    size_t todo = 0;
    for (size_t i = 0; i < bc->n; i++)
        todo += bc->entries[i].status == 0;
    if (collect_denials(bc) != 0)
        return -1;
    atomic_store(&bc->outstanding, todo + (bc->ndenials > 0) + 1);
    http_request_suspend(req, answer_bundle, bc);
    if (bc->ndenials > 0 &&
        store_write_async(bc->c.api->store, append_denials, bc, denials_written, bc) != 0)
        atomic_fetch_sub(&bc->outstanding, 1);
    for (size_t i = 0; i < bc->n; i++) {
        struct entry *en = &bc->entries[i];
        if (en->status != 0)
            continue;
        struct one_write *ow = arena_zalloc(req->arena, sizeof *ow);
        if (ow == NULL || arm_write(bc, en) != 0) {
            entry_fail(en, 503, "transient", "out of memory");
            atomic_fetch_sub(&bc->outstanding, 1);
            continue;
        }
        ow->bc = bc;
        ow->en = en;
        if (store_write_async(bc->c.api->store, fhir_resource_write_fn, &en->w, one_written, ow) !=
            0) {
            entry_fail(en, 503, "transient", "the store is not accepting writes");
            atomic_fetch_sub(&bc->outstanding, 1);
        }
    }
    if (atomic_fetch_sub(&bc->outstanding, 1) == 1)
        http_request_resume(req);
    return 0;
}

/* A transaction with failed entries: the first failure answers for all; refusals are recorded
 * before the 403. */
static int refuse_transaction(struct bundle_call *bc)
{
    struct http_request *req = bc->c.req;
    const struct entry *first = NULL;
    for (size_t i = 0; i < bc->n && first == NULL; i++)
        if (bc->entries[i].status != 0)
            first = &bc->entries[i];
    if (bc->is->nerrors > 0 && first->status == 422) {
        json_t *oo = fhir_issues_outcome(bc->is);
        http_respond_json(req, 422, oo);
        return 0;
    }
    if (first->status != 403) {
        fhir_outcome(req, first->status, first->code, "Bundle.entry[%zu]: %s", first->index,
                     first->msg);
        return 0;
    }
    if (collect_denials(bc) != 0)
        return -1;
    struct audit_held *h = arena_zalloc(req->arena, sizeof *h);
    const char *why = arena_printf(req->arena, "Bundle.entry[%zu]: %s", first->index, first->msg);
    if (h == NULL || why == NULL)
        return -1;
    h->fhir = 1;
    h->deny = why;
    h->what = "a refused transaction";
    if (bc->ndenials == 0) {
        fhir_outcome(req, 403, "forbidden", "%s", why);
        return 0;
    }
    return audit_answer_when_written(req, bc->c.api->store, append_denials, bc, h);
}

static int post_bundle(struct http_request *req, void *ctx)
{
    struct bundle_call *bc = arena_zalloc(req->arena, sizeof *bc);
    if (bc == NULL || arena_defer(req->arena, release, bc) != 0)
        return -1;
    int ok = fhir_call_begin(req, ctx, &bc->c, NULL);
    if (ok > 0) {
        bc->c.rtype = "Bundle";
        ok = fhir_call_body(&bc->c, &bc->doc);
    }
    if (ok <= 0)
        return ok;
    const char *type = json_string_value(json_object_get(bc->doc, "type"));
    bc->transaction = type != NULL && strcmp(type, "transaction") == 0;
    if (type == NULL || (!bc->transaction && strcmp(type, "batch") != 0)) {
        fhir_outcome(req, 400, "not-supported",
                     "POST /fhir takes a Bundle of type batch or transaction");
        return 0;
    }
    const json_t *items = json_object_get(bc->doc, "entry");
    bc->n = json_array_size(items);
    if (!json_is_array(items) || bc->n == 0 || bc->n > FHIR_BUNDLE_ENTRIES_MAX) {
        fhir_outcome(req, 400, "invalid", "Bundle.entry: 1 to %d entries", FHIR_BUNDLE_ENTRIES_MAX);
        return 0;
    }
    bc->entries = arena_zalloc(req->arena, bc->n * sizeof *bc->entries);
    bc->pending = arena_zalloc(req->arena, bc->n * sizeof *bc->pending);
    bc->is = arena_alloc(req->arena, sizeof *bc->is);
    if (bc->entries == NULL || bc->pending == NULL || bc->is == NULL)
        return -1;
    fhir_issues_init(bc->is, NULL, NULL);
    for (size_t i = 0; i < bc->n; i++) {
        struct entry *en = &bc->entries[i];
        en->index = i;
        read_request(bc, en, json_array_get(items, i));
        if (bc->c.nomem)
            return -1;
        if (en->status == 0 && en->op == FHIR_WRITE_CREATE)
            assign_id(en);
    }
    /* a transaction's entries may refer to each other by fullUrl; two entries may not change
     * one resource */
    if (bc->transaction) {
        for (size_t i = 0; i < bc->n; i++) {
            struct entry *en = &bc->entries[i];
            if (en->status == 0 && en->res != NULL &&
                fhir_refs_rewrite(en->res, full_url_target, bc) != 0)
                return -1;
            for (size_t k = 0; en->status == 0 && k < i; k++)
                if (bc->entries[k].status == 0 && strcmp(bc->entries[k].rtype, en->rtype) == 0 &&
                    strcmp(bc->entries[k].w.id, en->w.id) == 0)
                    entry_fail(en, 400, "invalid", "two entries change %s/%s", en->rtype, en->w.id);
        }
    }
    for (size_t i = 0; i < bc->n; i++) {
        struct entry *en = &bc->entries[i];
        if (en->status != 0)
            continue;
        int rc = prepare(bc, en);
        if (rc == -1)
            return -1;
        if (rc != 0)
            return fhir_call_store_failed(&bc->c, ERR_UNAVAILABLE, NULL);
        if (en->status == 0 && en->op != FHIR_WRITE_DELETE)
            bc->pending[bc->npending++] = (struct fhir_pending){en->rtype, en->w.id, en->t.subject};
    }
    size_t failed = 0;
    for (size_t i = 0; i < bc->n; i++) {
        struct entry *en = &bc->entries[i];
        if (en->status == 0) {
            int rc = decide(bc, en);
            if (rc == -1)
                return -1;
            if (rc != 0)
                return fhir_call_store_failed(&bc->c, ERR_UNAVAILABLE, NULL);
        }
        failed += en->status != 0;
    }
    if (!bc->transaction)
        return run_batch(bc);
    if (failed > 0)
        return refuse_transaction(bc);
    for (size_t i = 0; i < bc->n; i++)
        if (arm_write(bc, &bc->entries[i]) != 0)
            return -1;
    http_request_suspend(req, answer_bundle, bc);
    if (store_write_async(bc->c.api->store, write_all, bc, all_written, bc) != 0) {
        bc->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

int fhir_transaction_register(struct http_router *r, struct fhir_api *api)
{
    int rc = http_router_add(r, "POST", "/fhir", post_bundle, api);
    /* the base URL with its slash, as FHIR clients that join base and "" send it */
    return rc != 0 ? rc : http_router_add(r, "POST", "/fhir/", post_bundle, api);
}
