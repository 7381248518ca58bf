/* fhir_call.c - the common start of every FHIR handler (fhir_call.h). */
#include "fhir/fhir_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "fhir/access.h"
#include "fhir/outcome.h"
#include "fhir/owner.h"
#include "fhir/request_parse.h"
#include "fhir/resource.h"
#include "fhir/validate.h"
#include "identity/person.h"

static int format_is_json(const char *f)
{
    static const char *const ok[] = {"json", "application/json", "application/fhir+json",
                                     "application/json+fhir", NULL};
    for (size_t i = 0; ok[i] != NULL; i++)
        if (strcmp(f, ok[i]) == 0)
            return 1;
    return 0;
}

static int begin(struct http_request *req, struct fhir_api *api, struct fhir_call *c,
                 const char *const *allowed, int search)
{
    memset(c, 0, sizeof *c);
    c->api = api;
    c->req = req;
    struct err e = {0};
    int rc = id_principal_from_request(req, api->store, &c->who, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID) {
        http_set_header(req, "WWW-Authenticate",
                        rc == ERR_NOTFOUND ? "Bearer realm=\"cityos\""
                                           : "Bearer realm=\"cityos\", error=\"invalid_token\"");
        fhir_outcome(req, 401, "login",
                     rc == ERR_NOTFOUND ? "a bearer access token is required"
                                        : "the access token is invalid, expired or revoked");
        return 0;
    }
    if (rc != 0) {
        http_set_header(req, "Retry-After", "1");
        fhir_outcome(req, 503, "transient", "the token store did not answer");
        return 0;
    }
    c->rtype =
        req->nparams > 0 && req->route != NULL && strncmp(req->route, "/fhir/{type}", 12) == 0
            ? req->params[0]
            : NULL;
    if (c->rtype != NULL && fhir_owner_kind(c->rtype, NULL) == FHIR_NOT_SERVED) {
        int ro = strcmp(c->rtype, "Consent") == 0 || strcmp(c->rtype, "AuditEvent") == 0;
        fhir_outcome(req, ro ? 405 : 404, "not-supported",
                     ro ? "%.64s is read-only here: consents change through /api/v1/me/consents"
                        : "resource type \"%.64s\" is not served here (see /fhir/metadata)",
                     c->rtype);
        return 0;
    }
    static const char *const none[] = {"_format", NULL};
    const char *const *names = allowed != NULL ? allowed : none;
    const char *bad = NULL;
    int repeated = 0;
    if (!search && !http_query_only(req, names, &bad, &repeated)) {
        fhir_outcome(req, 400, repeated ? "invalid" : "not-supported", "%s parameter \"%.40s\"",
                     repeated ? "repeated" : "unsupported", bad);
        return 0;
    }
    const char *format = http_query(req, "_format");
    if (format != NULL && !format_is_json(format)) {
        fhir_outcome(req, 406, "not-supported", "only JSON is served (_format=json)");
        return 0;
    }
    if (!fhir_access_headers(req, &c->purpose, &c->break_glass, &bad)) {
        fhir_outcome(req, 400, "invalid", "malformed %s header", bad);
        return 0;
    }
    return 1;
}

/* Keeps each literal reference for fhir_call_check_refs(): whether it exists and may be named
 * is known only once the resource's owner is. */
static int keep_ref(void *ctx, const struct fhir_ref *ref, struct fhir_issues *out)
{
    struct fhir_call *c = ctx;
    (void)out;
    struct arena *a = c->req->arena;
    struct fhir_call_ref *r = arena_zalloc(a, sizeof *r);
    if (r == NULL || (r->type = arena_strdup(a, ref->type)) == NULL ||
        (r->id = arena_strdup(a, ref->id)) == NULL ||
        (r->expression = arena_strdup(a, ref->expression != NULL ? ref->expression : "")) == NULL) {
        c->nomem = 1;
        return 0;
    }
    r->kind = (int)ref->kind;
    r->next = c->refs;
    c->refs = r;
    return 0;
}

/* The R4 structure checks (validate.c). Returns 1, 0 (422 set) or -1. */
static int fhir_call_validate(struct fhir_call *c, const json_t *v)
{
    struct fhir_issues *is = arena_alloc(c->req->arena, sizeof *is);
    if (is == NULL)
        return -1;
    fhir_issues_init(is, NULL, NULL);
    if (fhir_call_validate_into(c, v, c->rtype, NULL, is) != 0)
        return -1;
    if (is->nerrors == 0)
        return 1;
    http_respond_json(c->req, 422, fhir_issues_outcome(is));
    return 0;
}

/* Does rtype/id exist now, and whose is it? 1 yes (owner set, NULL for no one's), 0 no, -1 the
 * store failed. */
static int ref_target(struct fhir_call *c, const struct fhir_call_ref *r, const char **owner)
{
    struct err e = {0};
    *owner = NULL;
    if (strcmp(r->type, "Patient") == 0) {
        struct id_person p;
        int rc = ids_valid(r->id) ? id_person_get(c->api->store, r->id, &p, c->req->arena, &e)
                                  : ERR_NOTFOUND;
        *owner = r->id;
        return rc == 0 ? 1 : rc == ERR_NOTFOUND || rc == ERR_INVALID ? 0 : -1;
    }
    struct fhir_record rec;
    int rc = fhir_id_valid(r->id)
                 ? fhir_resource_read(c->api->store, r->type, r->id, &rec, c->req->arena, &e)
                 : ERR_NOTFOUND;
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return -1;
    *owner = rec.subject;
    return !rec.deleted;
}

void fhir_issue_where(char *expr, size_t cap, const char *where)
{
    if (where == NULL)
        return;
    const char *dot = strchr(expr, '.');
    char tmp[FHIR_ISSUE_EXPR];
    snprintf(tmp, sizeof tmp, "%s%s", where, dot != NULL ? dot : "");
    snprintf(expr, cap, "%s", tmp);
}

int fhir_refs_check(struct fhir_call *c, const struct fhir_call_ref *refs, const char *subject,
                    const struct fhir_pending *pending, size_t npending, const char *where,
                    struct fhir_issues *is)
{
    for (const struct fhir_call_ref *r = refs; r != NULL; r = r->next) {
        char expr[FHIR_ISSUE_EXPR];
        snprintf(expr, sizeof expr, "%s", r->expression);
        fhir_issue_where(expr, sizeof expr, where);
        if (r->kind == FHIR_REF_URN) {
            fhir_issues_add(is, FHIR_ERROR, "invalid", expr,
                            "a urn: reference must name the fullUrl of an entry of the same "
                            "transaction Bundle");
            continue;
        }
        if (r->kind != FHIR_REF_RELATIVE)
            continue; /* another server's resource: not ours to check */
        const char *owner = NULL;
        int found = 0;
        for (size_t i = 0; !found && i < npending; i++)
            if (strcmp(pending[i].type, r->type) == 0 && strcmp(pending[i].id, r->id) == 0) {
                found = 1;
                owner = pending[i].subject;
            }
        if (!found && (found = ref_target(c, r, &owner)) < 0)
            return ERR_UNAVAILABLE;
        if (!found)
            fhir_issues_add(is, FHIR_ERROR, "not-found", expr, "the referenced %s does not exist",
                            r->type);
        else if (owner != NULL && strcmp(r->type, "Patient") != 0 &&
                 (subject == NULL || strcmp(owner, subject) != 0))
            fhir_issues_add(is, FHIR_ERROR, "forbidden", expr,
                            "a record may refer to another citizen's records only through "
                            "their Patient");
    }
    return 0;
}

int fhir_call_check_refs(struct fhir_call *c, const char *subject)
{
    struct fhir_issues *is = arena_alloc(c->req->arena, sizeof *is);
    if (is == NULL)
        return -1;
    fhir_issues_init(is, NULL, NULL);
    if (fhir_refs_check(c, c->refs, subject, NULL, 0, NULL, is) != 0) {
        http_set_header(c->req, "Retry-After", "1");
        fhir_outcome(c->req, 503, "transient", "the store did not answer");
        return 0;
    }
    if (is->nerrors == 0)
        return 1;
    http_respond_json(c->req, 422, fhir_issues_outcome(is));
    return 0;
}

int fhir_call_validate_into(struct fhir_call *c, const json_t *v, const char *rtype,
                            const char *where, struct fhir_issues *is)
{
    c->refs = NULL;
    size_t before = is->n;
    void *saved_ctx = is->ref_ctx;
    fhir_ref_fn saved_fn = is->on_ref;
    is->on_ref = keep_ref;
    is->ref_ctx = c;
    fhir_validate(v, rtype, is);
    is->on_ref = saved_fn;
    is->ref_ctx = saved_ctx;
    for (size_t i = before; i < is->n; i++)
        fhir_issue_where(is->items[i].expression, sizeof is->items[i].expression, where);
    return c->nomem ? -1 : 0;
}

int fhir_call_begin(struct http_request *req, struct fhir_api *api, struct fhir_call *c,
                    const char *const *allowed)
{
    return begin(req, api, c, allowed, 0);
}

int fhir_call_begin_search(struct http_request *req, struct fhir_api *api, struct fhir_call *c)
{
    return begin(req, api, c, NULL, 1);
}

int fhir_call_body(struct fhir_call *c, json_t **doc)
{
    struct http_request *req = c->req;
    *doc = NULL;
    if (!http_content_type_is(req, "application/fhir+json") &&
        !http_content_type_is(req, "application/json")) {
        fhir_outcome(req, 415, "not-supported", "send the resource as application/fhir+json");
        return 0;
    }
    struct err e = {0};
    json_t *v = jsonx_parse(req->body != NULL ? req->body : "", req->body_len, &e);
    if (v == NULL) {
        if (e.code == ERR_NOMEM)
            return -1;
        fhir_outcome(req, 400, "structure", "the body is not JSON: %s", e.msg);
        return 0;
    }
    if (arena_defer(req->arena, jsonx_decref, v) != 0) {
        json_decref(v);
        return -1;
    }
    const char *rt = json_string_value(json_object_get(v, "resourceType"));
    if (!json_is_object(v) || rt == NULL) {
        fhir_outcome(req, 400, "structure", "the body is not a FHIR resource (no resourceType)");
        return 0;
    }
    if (strcmp(rt, c->rtype) != 0) {
        fhir_outcome(req, 400, "invalid", "resourceType is %.64s, the URL says %s", rt, c->rtype);
        return 0;
    }
    *doc = v;
    return 1;
}

int fhir_call_resource(struct fhir_call *c, json_t **doc, const char *url_id)
{
    struct http_request *req = c->req;
    json_t *v = NULL;
    int ok = fhir_call_body(c, &v);
    if (ok <= 0)
        return ok;
    if (url_id != NULL) {
        const char *id = json_string_value(json_object_get(v, "id"));
        if (id == NULL || strcmp(id, url_id) != 0) {
            fhir_outcome(req, 400, "invalid", "the resource's id must equal the id in the URL");
            return 0;
        }
        if (!fhir_id_valid(url_id)) {
            fhir_outcome(req, 400, "invalid", "not a valid resource id");
            return 0;
        }
    }
    ok = fhir_call_validate(c, v);
    if (ok <= 0)
        return ok;
    *doc = json_incref(v);
    return 1;
}

int fhir_call_if_match(struct fhir_call *c, int64_t *version)
{
    *version = 0;
    const char *h = http_header(c->req, "If-Match");
    if (h == NULL || fhir_parse_etag(h, version))
        return 1;
    fhir_outcome(c->req, 400, "invalid", "If-Match must be an ETag W/\"<version>\"");
    return 0;
}

int fhir_call_paging(struct fhir_call *c, size_t *count, int64_t *since_ms, int64_t *before_ms,
                     int64_t *before_version, const char **before_id)
{
    struct http_request *req = c->req;
    *count = FHIR_PAGE_DEFAULT;
    *since_ms = *before_ms = *before_version = 0;
    *before_id = NULL;
    const char *v = http_query(req, "_count");
    if (v != NULL) {
        int64_t n = 0;
        if (!fhir_parse_version(v, &n) || n > FHIR_PAGE_MAX) {
            fhir_outcome(req, 400, "invalid", "_count must be 1 to %d", FHIR_PAGE_MAX);
            return 0;
        }
        *count = (size_t)n;
    }
    v = http_query(req, "_since");
    if (v != NULL && clock_parse_rfc3339(v, since_ms) != 0) {
        fhir_outcome(req, 400, "invalid", "_since must be an instant (2024-05-01T00:00:00Z)");
        return 0;
    }
    v = http_query(req, "_cursor");
    if (v != NULL) {
        if (!fhir_parse_history_cursor(v, before_ms, before_version, before_id)) {
            fhir_outcome(req, 400, "invalid", "_cursor is not one this server gave out");
            return 0;
        }
    }
    return 1;
}

int fhir_call_store_failed(struct fhir_call *c, int rc, const struct err *e)
{
    if (rc == ERR_NOMEM)
        return -1;
    log_error("fhir %s: store: %s", c->req->path, e != NULL ? e->msg : "");
    http_set_header(c->req, "Retry-After", "1");
    fhir_outcome(c->req, 503, "transient", "the store did not answer");
    return 0;
}
