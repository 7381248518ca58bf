/* notices_api.c - the notices endpoints: administrator authorisation, strict body validation, a
 * durable write through the store's group commit (the connection sleeps meanwhile), and reads
 * that serve the stored JSON as it is. */
#include "services/notices/notices_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "base/utf8.h"
#include "http/problem.h"
#include "identity/principal.h"

#define NOTICES_LIMIT_DEFAULT 20
#define NOTICES_LIMIT_MAX     100

static const char SQL_INSERT[] =
    "INSERT INTO notice (id, created_ms, category, district, doc) VALUES (?, ?, ?, ?, ?)";
static const char SQL_GET[] = "SELECT doc FROM notice WHERE id = ?";

/* ---- the write ---- */

struct notice_write {
    char id[IDS_LEN + 1];
    int64_t created_ms;
    const char *category, *district;
    char *doc;
    size_t doc_len;
    int status;
    struct err e;
    struct http_request *req; /* NULL for direct (CLI) inserts */
};

static int write_notice(struct store_tx *tx, void *ctx, struct err *e)
{
    struct notice_write *w = ctx;
    struct store_value v[] = {
        STORE_TEXT_V(w->id),
        STORE_INT_V(w->created_ms),
        STORE_TEXT_V(w->category),
        w->district ? STORE_TEXT_V(w->district) : STORE_NULL_V,
        STORE_TEXTN_V(w->doc, w->doc_len),
    };
    int rc = store_tx_exec(tx, SQL_INSERT, v, sizeof v / sizeof v[0], e);
    return rc < 0 ? rc : 0;
}

/* Fills w from n: a new id, the time, and the serialised document (malloc'ed). */
static int prepare_write(struct notice_write *w, const struct notice *n)
{
    ids_new(w->id);
    w->created_ms = clock_now_ms();
    w->category = n->category;
    w->district = n->district;
    json_t *doc = notice_to_json(n, w->id, w->created_ms);
    w->doc = jsonx_dumps(doc, &w->doc_len);
    json_decref(doc);
    if (w->doc == NULL)
        return ERR_NOMEM;
    return 0;
}

int notices_insert(struct store *s, const struct notice *n, char id[IDS_LEN + 1], struct err *e)
{
    struct notice_write w = {0};
    int rc = prepare_write(&w, n);
    if (rc == 0)
        rc = store_write(s, write_notice, &w, e);
    if (rc == 0)
        memcpy(id, w.id, IDS_LEN + 1);
    free(w.doc);
    return rc;
}

static void notice_written(int status, const struct err *e, void *ctx)
{
    struct notice_write *w = ctx;
    w->status = status;
    if (e != NULL)
        w->e = *e;
    http_request_resume(w->req);
}

static int answer_created(struct http_request *req, void *ctx)
{
    struct notice_write *w = ctx;
    if (w->status != 0) {
        http_problem(req, w->status == ERR_UNAVAILABLE ? "unavailable" : "internal-error",
                     "the notice could not be stored");
        return 0;
    }
    http_set_header(req, "Location", arena_printf(req->arena, "/api/v1/notices/%s", w->id));
    http_respond(req, 201, "application/json", w->doc, w->doc_len);
    return 0;
}

static int post_notice(struct http_request *req, void *ctx)
{
    struct notices_api *api = ctx;
    struct id_principal p;
    int ok = id_principal_require_admin(req, api->store, &p);
    if (ok <= 0)
        return ok;
    if (!http_content_type_is(req, "application/json")) {
        http_problem(req, "unsupported-media-type", "send the notice as application/json");
        return 0;
    }
    struct err e = {0};
    json_t *body = jsonx_parse(req->body, req->body_len, &e);
    if (body == NULL) {
        if (e.code == ERR_NOMEM)
            http_problem(req, "unavailable", "the server is short of memory; try again");
        else
            http_problem(req, "malformed-json", "%s", e.msg);
        return 0;
    }
    if (arena_defer(req->arena, jsonx_decref, body) != 0) {
        json_decref(body);
        return -1;
    }
    struct notice n;
    if (notice_from_json(body, &n, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    struct notice_write *w = arena_zalloc(req->arena, sizeof *w);
    if (w == NULL || prepare_write(w, &n) != 0)
        return -1;
    if (arena_defer(req->arena, free, w->doc) != 0) {
        free(w->doc);
        return -1;
    }
    w->req = req;
    http_request_suspend(req, answer_created, w);
    if (store_write_async(api->store, write_notice, w, notice_written, w) != 0) {
        w->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

/* ---- the reads ---- */

struct doc_copy {
    struct arena *arena;
    char *doc;
    size_t len;
};

static int copy_doc(const struct store_row *row, void *ctx)
{
    struct doc_copy *d = ctx;
    const char *text = store_row_text(row, 0, &d->len);
    d->doc = arena_strndup(d->arena, text, d->len);
    return 1;
}

static int get_notice(struct http_request *req, void *ctx)
{
    struct notices_api *api = ctx;
    const char *id = req->params[0];
    if (!ids_valid(id)) {
        http_problem(req, "not-found", "no notice with this id");
        return 0;
    }
    struct doc_copy d = {req->arena, NULL, 0};
    struct store_value v[] = {STORE_TEXT_V(id)};
    struct err e;
    if (store_query(api->store, SQL_GET, v, 1, copy_doc, &d, &e) != 0) {
        http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    if (d.doc == NULL) {
        http_problem(req, "not-found", "no notice with this id");
        return 0;
    }
    http_respond(req, 200, "application/json", d.doc, d.len);
    return 0;
}

/* Collects a page of documents into one JSON array text without re-parsing them. */
struct page {
    FILE *out;
    long want, seen;
    int64_t last_ms;
    char last_id[IDS_LEN + 1];
};

static int add_to_page(const struct store_row *row, void *ctx)
{
    struct page *p = ctx;
    if (p->seen == p->want) {
        p->seen++; /* one more than asked: there is a next page */
        return 1;
    }
    size_t len;
    const char *doc = store_row_text(row, 0, &len);
    if (p->seen > 0)
        fputc(',', p->out);
    fwrite(doc, 1, len, p->out);
    p->last_ms = store_row_int(row, 1);
    const char *id = store_row_text(row, 2, NULL);
    snprintf(p->last_id, sizeof p->last_id, "%s", id ? id : "");
    p->seen++;
    return 0;
}

static void put_query_value(FILE *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.' || *c == '~')
            fputc(*c, out);
        else
            fprintf(out, "%%%c%c", hex[*c >> 4], hex[*c & 15]);
    }
}

static int list_notices(struct http_request *req, void *ctx)
{
    static const char *const allowed[] = {"limit", "cursor", "category", "district", NULL};
    struct notices_api *api = ctx;
    if (!http_query_only_or_problem(req, allowed))
        return 0;
    long limit = NOTICES_LIMIT_DEFAULT;
    const char *s = http_query(req, "limit");
    if (s != NULL) {
        limit = 0;
        size_t i = 0;
        for (; s[i] >= '0' && s[i] <= '9' && i < 4; i++)
            limit = limit * 10 + (s[i] - '0');
        if (i == 0 || s[i] != '\0' || limit < 1 || limit > NOTICES_LIMIT_MAX) {
            http_problem(req, "invalid-parameter", "limit must be 1..%d", NOTICES_LIMIT_MAX);
            return 0;
        }
    }
    const char *category = http_query(req, "category");
    if (category != NULL && !notice_category_valid(category)) {
        http_problem(req, "invalid-parameter", "unknown category");
        return 0;
    }
    const char *district = http_query(req, "district");
    size_t dlen = district ? strlen(district) : 0;
    if (district != NULL && (dlen == 0 || !utf8_valid(district, dlen) ||
                             utf8_chars(district, dlen) > NOTICE_DISTRICT_MAX)) {
        http_problem(req, "invalid-parameter", "district must be 1..%d characters of UTF-8",
                     NOTICE_DISTRICT_MAX);
        return 0;
    }
    const char *cursor = http_query(req, "cursor");
    int64_t after_ms = 0;
    char after_id[IDS_LEN + 1] = "";
    if (cursor != NULL && notice_cursor_parse(cursor, &after_ms, after_id) != 0) {
        http_problem(req, "invalid-parameter", "cursor is not one this server made");
        return 0;
    }

    /* at most 8 distinct statements, each prepared once per connection */
    char sql[320];
    struct store_value v[6];
    size_t nv = 0;
    int len = snprintf(sql, sizeof sql, "SELECT doc, created_ms, id FROM notice WHERE 1 = 1");
    if (category != NULL) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND category = ?");
        v[nv++] = STORE_TEXT_V(category);
    }
    if (district != NULL) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND district = ?");
        v[nv++] = STORE_TEXT_V(district);
    }
    if (cursor != NULL) {
        len += snprintf(sql + len, sizeof sql - (size_t)len,
                        " AND (created_ms < ? OR (created_ms = ? AND id < ?))");
        v[nv++] = STORE_INT_V(after_ms);
        v[nv++] = STORE_INT_V(after_ms);
        v[nv++] = STORE_TEXT_V(after_id);
    }
    snprintf(sql + len, sizeof sql - (size_t)len, " ORDER BY created_ms DESC, id DESC LIMIT ?");
    v[nv++] = STORE_INT_V(limit + 1);

    char *text = NULL;
    size_t text_len = 0;
    struct page p = {open_memstream(&text, &text_len), limit, 0, 0, ""};
    if (p.out == NULL)
        return -1;
    fputs("{\"items\":[", p.out);
    struct err e;
    int rc = store_query(api->store, sql, v, nv, add_to_page, &p, &e);
    fputc(']', p.out);
    if (p.seen > limit) {
        char next[NOTICE_CURSOR_MAX];
        notice_cursor_format(p.last_ms, p.last_id, next);
        fprintf(p.out, ",\"next\":\"/api/v1/notices?limit=%ld&cursor=%s", limit, next);
        if (category != NULL)
            fprintf(p.out, "&category=%s", category);
        if (district != NULL) {
            fputs("&district=", p.out);
            put_query_value(p.out, district);
        }
        fputc('"', p.out);
    }
    fputc('}', p.out);
    fclose(p.out);
    if (text == NULL || arena_defer(req->arena, free, text) != 0) {
        free(text);
        return -1;
    }
    if (rc != 0) {
        http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    http_respond(req, 200, "application/json", text, text_len);
    return 0;
}

int notices_api_register(struct http_router *r, struct notices_api *api, struct store *s)
{
    api->store = s;
    int rc = http_router_add(r, "POST", "/api/v1/notices", post_notice, api);
    if (rc == 0)
        rc = http_router_add(r, "GET", "/api/v1/notices", list_notices, api);
    if (rc == 0)
        rc = http_router_add(r, "GET", "/api/v1/notices/{id}", get_notice, api);
    return rc;
}
