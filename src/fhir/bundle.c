/* bundle.c - history and search Bundles with their audit records (bundle.h). */
#include "fhir/bundle.h"

#include <stdio.h>
#include <string.h>

#include "audit/held.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "fhir/fhir_call.h"
#include "fhir/outcome.h"
#include "http/form.h"

int fhir_bundle_init(struct fhir_bundle *b, struct http_request *req, const char *issuer,
                     const char *type)
{
    memset(b, 0, sizeof *b);
    b->req = req;
    b->issuer = issuer;
    b->type = type;
    b->doc = json_pack("{s:s, s:s, s:[]}", "resourceType", "Bundle", "type", type, "entry");
    if (b->doc == NULL || arena_defer(req->arena, jsonx_decref, b->doc) != 0) {
        json_decref(b->doc);
        b->doc = NULL;
        return -1;
    }
    b->entries = json_object_get(b->doc, "entry");
    return 0;
}

static int same(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

int fhir_bundle_decided(struct fhir_bundle *b, const struct fhir_target *t,
                        const struct fhir_verdict *v)
{
    if (t->subject == NULL)
        return 0;
    for (size_t i = 0; i < b->nevents; i++) {
        struct fhir_bundle_event *x = &b->events[i];
        if (x->v.permit == v->permit && same(x->t.subject, t->subject) &&
            same(x->t.category, t->category) && same(x->v.decided_by, v->decided_by)) {
            x->n++;
            return 0;
        }
    }
    if (b->nevents == FHIR_BUNDLE_EVENTS_MAX) {
        b->overflow = 1; /* answered 503 by fhir_bundle_send: never an unrecorded read */
        return 0;
    }
    if (b->events == NULL) {
        b->events = arena_zalloc(b->req->arena, FHIR_BUNDLE_EVENTS_MAX * sizeof *b->events);
        if (b->events == NULL)
            return -1;
    }
    struct fhir_bundle_event *x = &b->events[b->nevents++];
    x->t = *t;
    x->t.id = NULL;
    x->v = *v;
    x->n = 1;
    return 0;
}

static json_t *resource_of(const struct fhir_record *r)
{
    struct err e = {0};
    return r->body != NULL ? jsonx_parse(r->body, r->len, &e) : NULL;
}

static const char *full_url(struct fhir_bundle *b, const struct fhir_record *r)
{
    return arena_printf(b->req->arena, "%s/fhir/%s/%s", b->issuer, r->rtype, r->id);
}

int fhir_bundle_add_version(struct fhir_bundle *b, const struct fhir_record *r)
{
    const char *url = full_url(b, r);
    char etag[32], when[32];
    snprintf(etag, sizeof etag, "W/\"%lld\"", (long long)r->version);
    clock_format_ms(r->updated_ms, when, sizeof when);
    int del = r->deleted, created = !del && r->version == 1 && same(r->method, "create");
    const char *method = del ? "DELETE" : created ? "POST" : "PUT";
    const char *rurl = created ? r->rtype : arena_printf(b->req->arena, "%s/%s", r->rtype, r->id);
    if (url == NULL || rurl == NULL)
        return -1;
    json_t *entry = json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "fullUrl", url, "request",
                              "method", method, "url", rurl, "response", "status",
                              del       ? "204 No Content"
                              : created ? "201 Created"
                                        : "200 OK",
                              "etag", etag, "lastModified", when);
    if (entry == NULL)
        return -1;
    if (!del) {
        json_t *res = resource_of(r);
        if (res == NULL || json_object_set_new(entry, "resource", res) != 0) {
            json_decref(entry);
            return -1;
        }
    }
    if (json_array_append_new(b->entries, entry) != 0)
        return -1;
    b->nentries++;
    return 0;
}

/* _elements and _summary=data: the parts asked for, marked SUBSETTED (FHIR R4 3.1.1.5.9). */
static int subset(struct fhir_bundle *b, json_t *res)
{
    if (b->nelements == 0 && !b->summary_data)
        return 0;
    if (b->summary_data) {
        json_object_del(res, "text");
    } else {
        const char *key;
        json_t *v, *tmp;
        json_object_foreach_safe(res, tmp, key, v)
        {
            int keep = strcmp(key, "resourceType") == 0 || strcmp(key, "id") == 0 ||
                       strcmp(key, "meta") == 0;
            for (size_t i = 0; !keep && i < b->nelements; i++)
                keep = strcmp(key, b->elements[i]) == 0;
            if (!keep)
                json_object_del(res, key);
        }
    }
    json_t *meta = json_object_get(res, "meta");
    json_t *tag =
        json_pack("{s:s, s:s}", "system",
                  "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code", "SUBSETTED");
    if (tag == NULL || meta == NULL)
        return -1;
    json_t *tags = json_object_get(meta, "tag");
    if (tags == NULL && json_object_set_new(meta, "tag", tags = json_array()) != 0)
        tags = NULL;
    return tags != NULL && json_array_append_new(tags, tag) == 0 ? 0 : -1;
}

int fhir_bundle_add_match(struct fhir_bundle *b, const struct fhir_record *r, const char *mode)
{
    const char *url = full_url(b, r);
    json_t *res = resource_of(r);
    if (url == NULL || res == NULL || subset(b, res) != 0) {
        json_decref(res);
        return -1;
    }
    json_t *entry =
        json_pack("{s:s, s:o, s:{s:s}}", "fullUrl", url, "resource", res, "search", "mode", mode);
    if (entry == NULL || json_array_append_new(b->entries, entry) != 0)
        return -1;
    if (strcmp(mode, "match") == 0)
        b->nentries++;
    return 0;
}

int fhir_bundle_total(struct fhir_bundle *b, size_t total)
{
    return json_object_set_new(b->doc, "total", json_integer((json_int_t)total)) == 0 ? 0 : -1;
}

static int add_link(struct fhir_bundle *b, const char *relation, const char *url)
{
    json_t *links = json_object_get(b->doc, "link");
    if (links == NULL) {
        links = json_array();
        if (links == NULL || json_object_set_new(b->doc, "link", links) != 0)
            return -1;
    }
    json_t *l = json_pack("{s:s, s:s}", "relation", relation, "url", url);
    return l != NULL && json_array_append_new(links, l) == 0 ? 0 : -1;
}

int fhir_bundle_next(struct fhir_bundle *b, const char *const *params, const char *cursor)
{
    struct arena *a = b->req->arena;
    char *url = arena_printf(a, "%s%s", b->issuer, b->req->path);
    char sep = '?';
    for (size_t i = 0; url != NULL && params != NULL && params[i] != NULL; i += 2) {
        const char *v = http_form_encode(params[i + 1], a);
        url = v != NULL ? arena_printf(a, "%s%c%s=%s", url, sep, params[i], v) : NULL;
        sep = '&';
    }
    const char *c = url != NULL ? http_form_encode(cursor, a) : NULL;
    url = c != NULL ? arena_printf(a, "%s%c_cursor=%s", url, sep, c) : NULL;
    return url != NULL ? add_link(b, "next", url) : -1;
}

int fhir_bundle_link(struct fhir_bundle *b, const char *relation, const char *query)
{
    int q = query != NULL && query[0] != '\0';
    const char *url = arena_printf(b->req->arena, "%s%s%s%s", b->issuer, b->req->path, q ? "?" : "",
                                   q ? query : "");
    return url != NULL ? add_link(b, relation, url) : -1;
}

int fhir_bundle_add_outcome(struct fhir_bundle *b, json_t *outcome)
{
    json_t *entry = outcome != NULL ? json_pack("{s:o, s:{s:s}}", "resource", outcome, "search",
                                                "mode", "outcome")
                                    : NULL;
    return entry != NULL && json_array_append_new(b->entries, entry) == 0 ? 0 : -1;
}

/* ---- the answer, once recorded ---- */

struct trail_write {
    struct audit_event *evs;
    size_t n;
};

static int append_all(struct store_tx *tx, void *ctx, struct err *e)
{
    struct trail_write *w = ctx;
    for (size_t i = 0; i < w->n; i++) {
        int rc = audit_append(tx, &w->evs[i], NULL, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int fhir_bundle_send(struct fhir_bundle *b, struct fhir_call *c, const char *action)
{
    struct http_request *req = b->req;
    if (b->overflow) {
        fhir_outcome(req, 503, "too-costly",
                     "this page touches too many citizens' records to record at once: ask for "
                     "fewer with _count");
        return 0;
    }
    if (b->nevents == 0) {
        http_set_header(req, "Cache-Control", "no-store");
        http_respond_json(req, 200, json_incref(b->doc));
        return 0;
    }
    struct trail_write *w = arena_zalloc(req->arena, sizeof *w);
    struct audit_held *h = arena_zalloc(req->arena, sizeof *h);
    if (w == NULL || h == NULL)
        return -1;
    w->evs = arena_zalloc(req->arena, b->nevents * sizeof *w->evs);
    if (w->evs == NULL)
        return -1;
    for (size_t i = 0; i < b->nevents; i++) {
        struct fhir_bundle_event *x = &b->events[i];
        if (fhir_access_event(req, &c->who, &x->t, action, &x->v, &w->evs[i]) != 0)
            return -1;
        if (x->n > 1 || x->v.permit) {
            /* how many resources this one decision covered, for the citizen's view */
            const char *why = arena_printf(req->arena, "%s%s%zu %s", x->v.permit ? "" : x->v.reason,
                                           x->v.permit ? "" : "; ", x->n, x->t.rtype);
            if (why == NULL)
                return -1;
            w->evs[i].reason = why;
        }
    }
    w->n = b->nevents;
    if (audit_held_json(req, h, b->doc, FHIR_JSON) != 0)
        return -1;
    h->fhir = 1;
    h->what = "a FHIR Bundle";
    return audit_answer_when_written(req, c->api->store, append_all, w, h);
}
