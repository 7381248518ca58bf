/* resource.c - FHIR resources in the store: reads, history, and the one write (resource.h). */
#include "fhir/resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "fhir/defs.h"
#include "fhir/index_rows.h"
#include "fhir/search_sql.h"

int fhir_id_valid(const char *id)
{
    size_t n = 0;
    for (const char *p = id; p != NULL && *p != '\0'; p++, n++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.') ||
            n >= FHIR_ID_MAX)
            return 0;
    }
    return n > 0;
}

/* ---- reads ---- */

#define COLS "rtype, id, version, updated_ms, subject, category, "
/* A version row with its body: fhir_version keeps the bodies of superseded versions only; the
 * current version's is fhir_resource's (migration 18, docs/internals/fhir.md "Storage"). */
#define VCOLS                                                                                      \
    "v.rtype, v.id, v.version, v.updated_ms, v.subject, v.category, v.method, "                    \
    "COALESCE(v.body, r.body) FROM fhir_version v LEFT JOIN fhir_resource r "                      \
    "ON r.rtype = v.rtype AND r.id = v.id AND r.version = v.version AND v.body IS NULL "

struct read_ctx {
    struct arena *a;
    struct fhir_record *out;
    int found, nomem, history;
    fhir_record_fn fn;
    void *fn_ctx;
};

static const char *col_dup(struct arena *a, const struct store_row *row, int col, int *nomem,
                           size_t *len)
{
    if (store_row_is_null(row, col)) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    size_t n = 0;
    const char *t = store_row_text(row, col, &n);
    char *c = arena_strndup(a, t, n);
    *nomem |= c == NULL;
    if (len != NULL)
        *len = n;
    return c;
}

/* Columns: rtype, id, version, updated_ms, subject, category, deleted|method, body */
static int fill(struct read_ctx *c, const struct store_row *row, struct fhir_record *r)
{
    memset(r, 0, sizeof *r);
    r->rtype = col_dup(c->a, row, 0, &c->nomem, NULL);
    r->id = col_dup(c->a, row, 1, &c->nomem, NULL);
    r->version = store_row_int(row, 2);
    r->updated_ms = store_row_int(row, 3);
    r->subject = col_dup(c->a, row, 4, &c->nomem, NULL);
    r->category = col_dup(c->a, row, 5, &c->nomem, NULL);
    if (c->history) {
        r->method = col_dup(c->a, row, 6, &c->nomem, NULL);
        r->deleted = r->method != NULL && strcmp(r->method, "delete") == 0;
    } else {
        r->deleted = store_row_int(row, 6) != 0;
    }
    r->body = r->deleted ? NULL : col_dup(c->a, row, 7, &c->nomem, &r->len);
    return c->nomem;
}

static int one_row(const struct store_row *row, void *ctx)
{
    struct read_ctx *c = ctx;
    c->found = 1;
    return fill(c, row, c->out);
}

static int finish_read(int rc, struct read_ctx *c, struct err *e)
{
    if (rc != 0)
        return rc;
    if (c->nomem)
        return err_set(e, ERR_NOMEM, "out of memory reading a resource");
    return c->found ? 0 : ERR_NOTFOUND;
}

int fhir_resource_read(struct store *s, const char *rtype, const char *id, struct fhir_record *out,
                       struct arena *a, struct err *e)
{
    struct read_ctx c = {.a = a, .out = out};
    struct store_value p[] = {STORE_TEXT_V(rtype), STORE_TEXT_V(id)};
    int rc = store_query(s,
                         "SELECT " COLS "deleted, body FROM fhir_resource "
                         "WHERE rtype = ? AND id = ?",
                         p, 2, one_row, &c, e);
    return finish_read(rc, &c, e);
}

int fhir_resource_vread(struct store *s, const char *rtype, const char *id, int64_t version,
                        struct fhir_record *out, struct arena *a, struct err *e)
{
    struct read_ctx c = {.a = a, .out = out, .history = 1};
    struct store_value p[] = {STORE_TEXT_V(rtype), STORE_TEXT_V(id), STORE_INT_V(version)};
    int rc = store_query(s, "SELECT " VCOLS "WHERE v.rtype = ? AND v.id = ? AND v.version = ?", p,
                         3, one_row, &c, e);
    return finish_read(rc, &c, e);
}

static int each_row(const struct store_row *row, void *ctx)
{
    struct read_ctx *c = ctx;
    struct fhir_record r;
    if (fill(c, row, &r) != 0)
        return 1;
    return c->fn(&r, c->fn_ctx);
}

int fhir_resource_history(struct store *s, const struct fhir_history_q *q, fhir_record_fn fn,
                          void *ctx, struct arena *a, struct err *e)
{
    struct read_ctx c = {.a = a, .history = 1, .fn = fn, .fn_ctx = ctx};
    struct store_value p[10];
    size_t n = 0;
    const char *sql;
    int64_t limit = (int64_t)(q->limit > 0 ? q->limit : 1);
    if (q->id != NULL) {
        /* one resource: versions are its order */
        p[n++] = STORE_TEXT_V(q->rtype);
        p[n++] = STORE_TEXT_V(q->id);
        p[n++] = STORE_INT_V(q->since_ms);
        p[n++] = STORE_INT_V(q->before_version > 0 ? q->before_version : INT64_MAX);
        p[n++] = STORE_INT_V(limit);
        sql = "SELECT " VCOLS "WHERE v.rtype = ? AND v.id = ? "
              "AND v.updated_ms >= ? AND v.version < ? ORDER BY v.version DESC LIMIT ?";
    } else if (q->before_ms > 0) {
        p[n++] = STORE_TEXT_V(q->rtype);
        p[n++] = STORE_INT_V(q->since_ms);
        p[n++] = STORE_INT_V(q->before_ms);
        p[n++] = STORE_INT_V(q->before_ms);
        p[n++] = STORE_TEXT_V(q->before_id != NULL ? q->before_id : "");
        p[n++] = STORE_INT_V(q->before_ms);
        p[n++] = STORE_TEXT_V(q->before_id != NULL ? q->before_id : "");
        p[n++] = STORE_INT_V(q->before_version);
        p[n++] = STORE_INT_V(limit);
        sql = "SELECT " VCOLS "WHERE v.rtype = ? "
              "AND v.updated_ms >= ? AND (v.updated_ms < ? OR (v.updated_ms = ? AND v.id < ?) OR "
              "(v.updated_ms = ? AND v.id = ? AND v.version < ?)) "
              "ORDER BY v.updated_ms DESC, v.id DESC, v.version DESC LIMIT ?";
    } else {
        p[n++] = STORE_TEXT_V(q->rtype);
        p[n++] = STORE_INT_V(q->since_ms);
        p[n++] = STORE_INT_V(limit);
        sql = "SELECT " VCOLS "WHERE v.rtype = ? "
              "AND v.updated_ms >= ? ORDER BY v.updated_ms DESC, v.id DESC, v.version DESC LIMIT ?";
    }
    int rc = store_query(s, sql, p, n, each_row, &c, e);
    if (rc == 0 && c.nomem)
        return err_set(e, ERR_NOMEM, "out of memory reading history");
    return rc;
}

/* ---- the write ---- */

struct current {
    int found;
    int64_t version;
    int deleted;
    char subject[FHIR_ID_MAX + 1];
    int has_subject;
};

static int current_row(const struct store_row *row, void *ctx)
{
    struct current *c = ctx;
    c->found = 1;
    c->version = store_row_int(row, 0);
    c->deleted = store_row_int(row, 1) != 0;
    if (!store_row_is_null(row, 2)) {
        const char *t = store_row_text(row, 2, NULL);
        size_t n = strlen(t);
        if (n > FHIR_ID_MAX)
            n = FHIR_ID_MAX;
        memcpy(c->subject, t, n);
        c->subject[n] = '\0';
        c->has_subject = 1;
    }
    return 1;
}

/* Sets id and meta.versionId / meta.lastUpdated of w->resource, keeping any other meta. */
static int stamp(struct fhir_write *w, struct err *e)
{
    json_t *meta = json_object_get(w->resource, "meta");
    char ver[24], when[32];
    snprintf(ver, sizeof ver, "%lld", (long long)w->version);
    clock_format_ms(w->updated_ms, when, sizeof when);
    if (!json_is_object(meta)) {
        meta = json_object();
        if (meta == NULL || json_object_set_new(w->resource, "meta", meta) != 0)
            return err_set(e, ERR_NOMEM, "out of memory");
    }
    if (json_object_set_new(w->resource, "id", json_string(w->id)) != 0 ||
        json_object_set_new(meta, "versionId", json_string(ver)) != 0 ||
        json_object_set_new(meta, "lastUpdated", json_string(when)) != 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    free(w->body);
    w->body = jsonx_dumps(w->resource, &w->len);
    return w->body != NULL ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

/* The write's rows: the superseded current body (superseded: 1 when an update or delete
 * replaces a live version) moves into its version row, then the resource row and the new
 * version row, which has no body (the current body is the resource row's). */
static int put_rows(struct store_tx *tx, struct fhir_write *w, const char *method, int superseded,
                    int64_t prev_version, struct err *e)
{
    if (superseded) {
        struct store_value k[] = {STORE_TEXT_V(w->rtype), STORE_TEXT_V(w->id),
                                  STORE_INT_V(prev_version)};
        int urc = store_tx_exec(tx,
                                "UPDATE fhir_version SET body = (SELECT r.body FROM fhir_resource "
                                "r WHERE r.rtype = fhir_version.rtype AND r.id = fhir_version.id) "
                                "WHERE rtype = ? AND id = ? AND version = ? AND body IS NULL",
                                k, 3, e);
        if (urc < 0)
            return urc;
    }
    struct store_value subj = w->subject != NULL ? STORE_TEXT_V(w->subject) : STORE_NULL_V;
    struct store_value cat = w->category != NULL ? STORE_TEXT_V(w->category) : STORE_NULL_V;
    struct store_value body =
        w->op == FHIR_WRITE_DELETE ? STORE_NULL_V : STORE_TEXTN_V(w->body, w->len);
    int deleted = w->op == FHIR_WRITE_DELETE;
    struct store_value r[] = {STORE_TEXT_V(w->rtype),
                              STORE_TEXT_V(w->id),
                              STORE_INT_V(w->version),
                              STORE_INT_V(w->updated_ms),
                              subj,
                              cat,
                              STORE_INT_V(deleted),
                              deleted ? STORE_TEXT_V("") : body};
    int rc = store_tx_exec(tx,
                           "INSERT INTO fhir_resource (rtype, id, version, updated_ms, subject, "
                           "category, deleted, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT (rtype, id) DO UPDATE SET version = excluded.version, "
                           "updated_ms = excluded.updated_ms, subject = excluded.subject, "
                           "category = excluded.category, deleted = excluded.deleted, "
                           "body = excluded.body",
                           r, 8, e);
    if (rc < 0)
        return rc;
    struct store_value v[] = {STORE_TEXT_V(w->rtype),
                              STORE_TEXT_V(w->id),
                              STORE_INT_V(w->version),
                              STORE_INT_V(w->updated_ms),
                              STORE_TEXT_V(method),
                              subj,
                              cat,
                              STORE_NULL_V};
    rc = store_tx_exec(tx,
                       "INSERT INTO fhir_version (rtype, id, version, updated_ms, method, "
                       "subject, category, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       v, 8, e);
    return rc < 0 ? rc : 0;
}

/* The search index rows of the current version: dropped, and made again from w->resource. */
static int index_delete(struct store_tx *tx, struct fhir_write *w, struct err *e)
{
    return fhir_index_rows_delete(tx, w->rtype, w->id, e);
}

static int index_put(struct store_tx *tx, struct fhir_write *w, struct err *e)
{
    if (w->prepared && w->ix_rows != NULL)
        return fhir_index_rows_insert(tx, w->rtype, w->id, w->subject, w->ix_rows, e);
    struct arena *a = arena_new(16384);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct fhir_ix_rows rows = {0};
    int rc = fhir_index_rows(w->resource, fhir_defs_search_params, a, &rows, e);
    if (rc == 0)
        rc = fhir_index_rows_insert(tx, w->rtype, w->id, w->subject, &rows, e);
    arena_free(a);
    return rc;
}

/* If-None-Exist: the matches of the same citizen (or, for shared data, of no one). */
struct match_ctx {
    struct fhir_write *w;
    int n;
};

static int match_row(const struct store_row *row, void *ctx)
{
    struct match_ctx *m = ctx;
    struct fhir_write *w = m->w;
    const char *subject = store_row_is_null(row, FHIR_SQL_COL_SUBJECT)
                              ? NULL
                              : store_row_text(row, FHIR_SQL_COL_SUBJECT, NULL);
    if (subject == NULL ? w->subject != NULL
                        : w->subject == NULL || strcmp(subject, w->subject) != 0)
        return 0;
    if (m->n++ == 0) {
        snprintf(w->id, sizeof w->id, "%s", store_row_text(row, FHIR_SQL_COL_ID, NULL));
        w->version = store_row_int(row, FHIR_SQL_COL_VERSION);
        w->updated_ms = store_row_int(row, FHIR_SQL_COL_UPDATED_MS);
    }
    return m->n > 1;
}

static int find_existing(struct store_tx *tx, struct fhir_write *w, struct err *e)
{
    struct match_ctx m = {w, 0};
    const struct fhir_sql *q = w->if_none_exist;
    int rc = store_tx_query(tx, q->sql, q->params, q->nparams, match_row, &m, e);
    if (rc != 0)
        return rc;
    if (m.n > 1)
        return err_set(e, ERR_CONFLICT, "if-none-exist: more than one %s matches", w->rtype);
    w->existing = m.n == 1;
    return 0;
}

/* The owner may point into the resource (a Patient's own id), which stamp() replaces: keep a
 * copy in w->owner. */
static void keep_subject(struct fhir_write *w)
{
    if (w->subject != NULL && w->subject != w->owner) {
        snprintf(w->owner, sizeof w->owner, "%s", w->subject);
        w->subject = w->owner;
    }
}

int fhir_resource_write_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct fhir_write *w = ctx;
    keep_subject(w);
    if (w->op == FHIR_WRITE_CREATE && w->if_none_exist != NULL) {
        int rc = find_existing(tx, w, e);
        if (rc != 0 || w->existing)
            return rc;
    }
    struct current cur = {0};
    struct store_value key[] = {STORE_TEXT_V(w->rtype), STORE_TEXT_V(w->id)};
    int rc = store_tx_query(tx,
                            "SELECT version, deleted, subject FROM fhir_resource "
                            "WHERE rtype = ? AND id = ?",
                            key, 2, current_row, &cur, e);
    if (rc != 0)
        return rc;
    w->current_version = cur.version;
    switch (w->op) {
    case FHIR_WRITE_CREATE:
        if (cur.found)
            return err_set(e, ERR_CONFLICT, "%s/%s exists already", w->rtype, w->id);
        break;
    case FHIR_WRITE_UPDATE:
        if (!cur.found && !w->create_missing)
            return err_set(e, ERR_NOTFOUND, "no %s with this id", w->rtype);
        w->created = !cur.found;
        break;
    case FHIR_WRITE_DELETE:
        if (!cur.found)
            return err_set(e, ERR_NOTFOUND, "no %s with this id", w->rtype);
        if (cur.deleted) {
            w->unchanged = 1;
            w->version = cur.version;
            return 0;
        }
        break;
    }
    if (w->if_match > 0 && (!cur.found || w->if_match != cur.version))
        return err_set(e, ERR_CONFLICT, "version: the resource is at version %lld, not %lld",
                       (long long)cur.version, (long long)w->if_match);
    /* a resource stays with its citizen: moving it would slip past the first one's consent */
    if (cur.found && !cur.deleted && w->op == FHIR_WRITE_UPDATE &&
        (cur.has_subject != (w->subject != NULL) ||
         (w->subject != NULL && strcmp(cur.subject, w->subject) != 0)))
        return err_set(e, ERR_INVALID,
                       "%s/%s belongs to another citizen: an update cannot change whose it is",
                       w->rtype, w->id);
    if (w->op == FHIR_WRITE_DELETE) {
        memcpy(w->owner, cur.subject, sizeof w->owner);
        w->subject = cur.has_subject ? w->owner : NULL;
    }
    w->version = cur.version + 1;
    w->updated_ms = w->now_ms;
    /* a prepared create is stamped as version 1 already (a create has no current version) */
    int stamped = w->prepared && w->op == FHIR_WRITE_CREATE && w->body != NULL;
    if (w->op != FHIR_WRITE_DELETE && !stamped && (rc = stamp(w, e)) != 0)
        return rc;
    static const char *const methods[] = {"create", "update", "delete"};
    int superseded = cur.found && !cur.deleted && w->op != FHIR_WRITE_CREATE;
    if ((rc = put_rows(tx, w, methods[w->op], superseded, cur.version, e)) != 0)
        return rc;
    /* index rows exist only for a resource's row: none to drop when it has none yet */
    if (cur.found && (rc = index_delete(tx, w, e)) != 0)
        return rc;
    if (w->op != FHIR_WRITE_DELETE && (rc = index_put(tx, w, e)) != 0)
        return rc;
    if (!w->record_audit || w->subject == NULL)
        return 0;
    w->ev.subject = w->subject;
    w->ev.resource_type = w->rtype;
    w->ev.resource_id = w->id;
    w->ev.time_ms = w->now_ms;
    return audit_append(tx, &w->ev, NULL, e);
}

int fhir_write_prepare_create(struct fhir_write *w, struct arena *a, struct err *e)
{
    if (w->op != FHIR_WRITE_CREATE || w->if_none_exist != NULL || w->resource == NULL ||
        w->rtype == NULL || w->prepared)
        return err_set(e, ERR_INVALID, "fhir_write_prepare_create: not a plain create");
    struct fhir_ix_rows *rows = arena_alloc(a, sizeof *rows);
    if (rows == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    keep_subject(w);
    w->version = 1;
    w->updated_ms = w->now_ms;
    int rc = stamp(w, e);
    if (rc == 0)
        rc = fhir_index_rows(w->resource, fhir_defs_search_params, a, rows, e);
    if (rc != 0) {
        free(w->body);
        w->body = NULL;
        w->version = w->updated_ms = 0;
        return rc;
    }
    w->ix_rows = rows;
    w->prepared = 1;
    return 0;
}

void fhir_write_release(struct fhir_write *w)
{
    free(w->body);
    w->body = NULL;
}
