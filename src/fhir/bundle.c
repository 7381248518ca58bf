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

/* Appends entry (stolen) with raw, the stored text of its resource (copied; NULL: none to
 * splice). A stored resource is already the JSON the answer shows (id and meta included), so it
 * is spliced into the answer as it is: parsing and re-serialising each one was half the CPU of a
 * search page. Returns 0 or -1. */
static int append_entry(struct fhir_bundle *b, json_t *entry, const struct fhir_record *raw)
{
    if (entry == NULL)
        return -1;
    const char *copy = NULL;
    if (raw != NULL && (copy = arena_strndup(b->req->arena, raw->body, raw->len)) == NULL) {
        json_decref(entry);
        return -1;
    }
    if (b->nraw == b->raw_cap) {
        size_t cap = b->raw_cap < 16 ? 16 : 2 * b->raw_cap;
        const char **t = arena_alloc(b->req->arena, cap * sizeof *t);
        size_t *l = arena_alloc(b->req->arena, cap * sizeof *l);
        if (t == NULL || l == NULL) {
            json_decref(entry);
            return -1;
        }
        if (b->nraw > 0) {
            memcpy(t, b->raw, b->nraw * sizeof *t);
            memcpy(l, b->raw_len, b->nraw * sizeof *l);
        }
        b->raw = t;
        b->raw_len = l;
        b->raw_cap = cap;
    }
    if (json_array_append_new(b->entries, entry) != 0)
        return -1;
    b->raw[b->nraw] = copy;
    b->raw_len[b->nraw] = copy != NULL ? raw->len : 0;
    b->nraw++;
    return 0;
}

/* Writes s[0..n) to f; returns 0 or -1. */
static int put_text(FILE *f, const char *s, size_t n)
{
    return fwrite(s, 1, n, f) == n ? 0 : -1;
}

/* The Bundle's text: doc without its entries, then "entry" with each entry's own members and
 * its stored resource spliced in as "resource". In the arena; NULL when out of memory. */
static char *bundle_text(struct fhir_bundle *b, size_t *len)
{
    char *buf = NULL, *head = NULL, *out = NULL;
    size_t size = 0, hlen = 0;
    json_t *entries = json_incref(b->entries);
    FILE *f = open_memstream(&buf, &size);
    int bad = f == NULL || json_object_del(b->doc, "entry") != 0 ||
              (head = jsonx_dumps(b->doc, &hlen)) == NULL || hlen < 2 ||
              put_text(f, head, hlen - 1) != 0 || put_text(f, ",\"entry\":[", 10) != 0;
    for (size_t i = 0; !bad && i < json_array_size(entries); i++) {
        size_t elen = 0;
        char *et = jsonx_dumps(json_array_get(entries, i), &elen);
        const char *raw = i < b->nraw ? b->raw[i] : NULL;
        bad = et == NULL || elen < 2 || (i > 0 && put_text(f, ",", 1) != 0);
        if (!bad && raw == NULL)
            bad = put_text(f, et, elen) != 0;
        else if (!bad) /* {"fullUrl":...,"search":{...}} -> {...,"resource":<raw>} */
            bad = put_text(f, et, elen - 1) != 0 || put_text(f, ",\"resource\":", 12) != 0 ||
                  put_text(f, raw, b->raw_len[i]) != 0 || put_text(f, "}", 1) != 0;
        free(et);
    }
    if (!bad)
        bad = put_text(f, "]}", 2) != 0;
    if (f != NULL && fclose(f) != 0)
        bad = 1;
    if (!bad && (out = arena_strndup(b->req->arena, buf, size)) != NULL)
        *len = size;
    free(buf);
    free(head);
    if (json_object_set_new(b->doc, "entry", entries) != 0) /* the doc as it was */
        out = NULL;
    return out;
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
    if (entry == NULL || (!del && r->body == NULL) || append_entry(b, entry, del ? NULL : r) != 0)
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
    if (url == NULL || r->body == NULL)
        return -1;
    if (b->nelements == 0 && !b->summary_data) { /* the whole resource, as stored */
        if (append_entry(b, json_pack("{s:s, s:{s:s}}", "fullUrl", url, "search", "mode", mode),
                         r) != 0)
            return -1;
    } else {
        json_t *res = resource_of(r);
        if (res == NULL || subset(b, res) != 0) {
            json_decref(res);
            return -1;
        }
        if (append_entry(b,
                         json_pack("{s:s, s:o, s:{s:s}}", "fullUrl", url, "resource", res, "search",
                                   "mode", mode),
                         NULL) != 0)
            return -1;
    }
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
    return append_entry(b, entry, NULL);
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
    size_t len = 0;
    char *text = bundle_text(b, &len);
    if (text == NULL)
        return -1;
    if (b->nevents == 0) {
        http_set_header(req, "Cache-Control", "no-store");
        http_respond(req, 200, FHIR_JSON, text, len);
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
    h->body = text;
    h->len = len;
    h->type = FHIR_JSON;
    h->fhir = 1;
    h->what = "a FHIR Bundle";
    return audit_answer_when_written(req, c->api->store, append_all, w, h);
}
