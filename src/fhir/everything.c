/* everything.c - GET /fhir/Patient/{id}/$everything (FHIR R4 Patient-everything): every
 * current resource of the citizen's record, paged, each kind of data decided for the caller
 * like any read (a doctor gets what the citizen consented to, the citizen everything), the
 * decisions on the citizen's trail before the Bundle is handed out. Parameters: _count, _since,
 * _type (a comma-separated list of types) and the paging cursor. */
#include "fhir/everything.h"

#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/ids.h"
#include "fhir/access.h"
#include "fhir/bundle.h"
#include "fhir/fhir_call.h"
#include "fhir/outcome.h"
#include "fhir/owner.h"
#include "fhir/request_parse.h"
#include "fhir/resource.h"
#include "identity/person.h"

#define TYPES_MAX 32

struct everything_call {
    struct fhir_call c;
    struct fhir_bundle b;
    const char *patient;
    size_t count, rows;
    int more, failed;
    char last_type[FHIR_TYPE_MAX + 1], last_id[FHIR_ID_MAX + 1];
    struct {
        const char *category;
        struct fhir_verdict v;
    } cache[24];
    size_t ncached;
};

static const char *col(const struct store_row *row, int i, size_t *len)
{
    return store_row_is_null(row, i) ? NULL : store_row_text(row, i, len);
}

static int same(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static int row_fn(const struct store_row *row, void *ctx)
{
    struct everything_call *ec = ctx;
    if (ec->rows == ec->count) {
        ec->more = 1;
        return 1;
    }
    ec->rows++;
    struct fhir_record r = {0};
    r.rtype = col(row, 0, NULL);
    r.id = col(row, 1, NULL);
    r.version = store_row_int(row, 2);
    r.updated_ms = store_row_int(row, 3);
    r.subject = ec->patient;
    const char *category = col(row, 5, NULL);
    r.body = col(row, 6, &r.len);
    snprintf(ec->last_type, sizeof ec->last_type, "%s", r.rtype);
    snprintf(ec->last_id, sizeof ec->last_id, "%s", r.id);
    struct arena *a = ec->c.req->arena;
    struct fhir_target t = {.rtype = arena_strdup(a, r.rtype),
                            .subject = ec->patient,
                            .category = category != NULL ? arena_strdup(a, category) : NULL};
    if (t.rtype == NULL || (category != NULL && t.category == NULL)) {
        ec->failed = 1;
        return 1;
    }
    struct fhir_verdict v;
    size_t k = 0;
    while (k < ec->ncached && !same(ec->cache[k].category, t.category))
        k++;
    if (k < ec->ncached) {
        v = ec->cache[k].v;
    } else {
        if (fhir_access_decide(&ec->c.who, &t, ID_PERM_R, ec->c.purpose, NULL, a, &v) != 0) {
            ec->failed = 1;
            return 1;
        }
        if (ec->ncached < sizeof ec->cache / sizeof ec->cache[0]) {
            ec->cache[ec->ncached].category = t.category;
            ec->cache[ec->ncached++].v = v;
        }
    }
    if (fhir_bundle_decided(&ec->b, &t, &v) != 0 ||
        (v.permit && fhir_bundle_add_match(&ec->b, &r, "match") != 0)) {
        ec->failed = 1;
        return 1;
    }
    return 0;
}

/* _type: known, served types, at most TYPES_MAX. Returns the count, or -1 when malformed. */
static int parse_types(struct arena *a, const char *text, const char **types)
{
    if (text == NULL)
        return 0;
    char *copy = arena_strdup(a, text);
    int n = 0;
    for (char *p = copy, *next; p != NULL && *p != '\0'; p = next) {
        next = strchr(p, ',');
        if (next != NULL)
            *next++ = '\0';
        if (n == TYPES_MAX || fhir_owner_kind(p, NULL) == FHIR_NOT_SERVED)
            return -1;
        types[n++] = p;
    }
    return copy != NULL && n > 0 ? n : -1;
}

static int get_everything(struct http_request *req, void *ctx)
{
    struct everything_call *ec = arena_zalloc(req->arena, sizeof *ec);
    if (ec == NULL)
        return -1;
    static const char *const allowed[] = {"_count", "_since", "_type", "_cursor", "_format", NULL};
    int ok = fhir_call_begin(req, ctx, &ec->c, allowed);
    if (ok <= 0)
        return ok;
    ec->c.rtype = "Patient";
    ec->patient = req->params[0];
    struct id_person person;
    struct err e = {0};
    int rc = ids_valid(ec->patient)
                 ? id_person_get(ec->c.api->store, ec->patient, &person, req->arena, &e)
                 : ERR_NOTFOUND;
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID) {
        fhir_outcome(req, 404, "not-found", "no Patient with this id");
        return 0;
    }
    if (rc != 0)
        return fhir_call_store_failed(&ec->c, rc, &e);
    const char *types[TYPES_MAX];
    int ntypes = parse_types(req->arena, http_query(req, "_type"), types);
    if (ntypes < 0) {
        fhir_outcome(req, 400, "invalid", "_type: a comma-separated list of served types");
        return 0;
    }
    /* paging: _count and _since as for history; the cursor is "<type>.<id>" */
    ec->count = FHIR_PAGE_DEFAULT;
    const char *v = http_query(req, "_count");
    int64_t n = 0;
    if (v != NULL && (!fhir_parse_version(v, &n) || n > FHIR_PAGE_MAX)) {
        fhir_outcome(req, 400, "invalid", "_count must be 1 to %d", FHIR_PAGE_MAX);
        return 0;
    }
    if (v != NULL)
        ec->count = (size_t)n;
    int64_t since = 0;
    v = http_query(req, "_since");
    if (v != NULL && clock_parse_rfc3339(v, &since) != 0) {
        fhir_outcome(req, 400, "invalid", "_since must be an instant (2024-05-01T00:00:00Z)");
        return 0;
    }
    const char *ctype = "", *cid = "";
    v = http_query(req, "_cursor");
    if (v != NULL) {
        const char *dot = strchr(v, '.');
        char *t = dot != NULL ? arena_strndup(req->arena, v, (size_t)(dot - v)) : NULL;
        if (t == NULL || fhir_owner_kind(t, NULL) == FHIR_NOT_SERVED || !fhir_id_valid(dot + 1)) {
            fhir_outcome(req, 400, "invalid", "_cursor is not one this server gave out");
            return 0;
        }
        ctype = t;
        cid = dot + 1;
    }
    /* the query: the citizen's current resources after the cursor, by type and id */
    char *sql = arena_printf(req->arena,
                             "SELECT rtype, id, version, updated_ms, subject, category, body "
                             "FROM fhir_resource WHERE subject = ? AND deleted = 0 "
                             "AND updated_ms >= ? AND (rtype > ? OR (rtype = ? AND id > ?))%s",
                             ntypes > 0 ? " AND rtype IN (?" : "");
    for (int i = 1; sql != NULL && i < ntypes; i++)
        sql = arena_printf(req->arena, "%s, ?", sql);
    if (sql != NULL)
        sql =
            arena_printf(req->arena, "%s%s ORDER BY rtype, id LIMIT ?", sql, ntypes > 0 ? ")" : "");
    struct store_value p[5 + TYPES_MAX + 1];
    size_t np = 0;
    p[np++] = STORE_TEXT_V(ec->patient);
    p[np++] = STORE_INT_V(since);
    p[np++] = STORE_TEXT_V(ctype);
    p[np++] = STORE_TEXT_V(ctype);
    p[np++] = STORE_TEXT_V(cid);
    for (int i = 0; i < ntypes; i++)
        p[np++] = STORE_TEXT_V(types[i]);
    p[np++] = STORE_INT_V((int64_t)ec->count + 1);
    if (sql == NULL || fhir_bundle_init(&ec->b, req, ec->c.api->issuer, "searchset") != 0)
        return -1;
    rc = store_query(ec->c.api->store, sql, p, np, row_fn, ec, &e);
    if (ec->failed)
        return -1;
    if (rc != 0)
        return fhir_call_store_failed(&ec->c, rc, &e);
    if (ec->more) {
        const char *cursor = arena_printf(req->arena, "%s.%s", ec->last_type, ec->last_id);
        const char *count = arena_printf(req->arena, "%zu", ec->count);
        const char *params[7] = {"_count", count, NULL};
        size_t k = 2;
        if ((v = http_query(req, "_since")) != NULL)
            params[k++] = "_since", params[k++] = v;
        if ((v = http_query(req, "_type")) != NULL)
            params[k++] = "_type", params[k++] = v;
        params[k] = NULL;
        if (cursor == NULL || count == NULL || fhir_bundle_next(&ec->b, params, cursor) != 0)
            return -1;
    }
    return fhir_bundle_send(&ec->b, &ec->c, "everything");
}

int fhir_everything_register(struct http_router *r, struct fhir_api *api)
{
    return http_router_add(r, "GET", "/fhir/Patient/{id}/$everything", get_everything, api);
}
