/* search_api.c - FHIR search (GET /fhir/{type}, POST /fhir/{type}/_search): the parameters
 * parsed and turned into SQL by search_parse.c and search_sql.c, every matching resource decided
 * for the caller by fhir_access_decide(), only permitted ones in the Bundle (matches, totals and
 * includes alike), and the decisions on the citizens' trails before the answer. */
#include "fhir/search_api.h"

#include <sodium.h>
#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/log.h"
#include "fhir/access.h"
#include "fhir/bundle.h"
#include "fhir/defs.h"
#include "fhir/fhir_call.h"
#include "fhir/outcome.h"
#include "fhir/search_parse.h"
#include "fhir/search_sql.h"
#include "fhir/validate.h"
#include "identity/scope.h"

#define DECISIONS_CACHED 64
#define COUNT_MAX        10000 /* matches a total is counted over, at most */

/* The cursor MAC key: random per process, so a next link outlives neither a restart nor
 * tampering (search_parse.c). */
static unsigned char cursor_key[FHIR_SEARCH_CURSOR_KEY_LEN];

struct cached {
    const char *subject, *category;
    struct fhir_verdict v;
};

struct search_call {
    struct fhir_call c;
    struct fhir_search s;
    struct fhir_bundle b;
    struct cached cache[DECISIONS_CACHED];
    size_t ncached;
    /* the page being read */
    int row, more, failed, counting;
    size_t visible;
    const char *cursor;            /* made from the page's last row */
    char last_id[FHIR_ID_MAX + 1]; /* the id of the page's previous row */
    struct fhir_sql_key *keys;
    size_t nkeys;
    const char *mode; /* "match" or "include" */
};

static int same(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* The verdict on one resource, remembered per citizen and category for this request. */
static int decide(struct search_call *sc, const struct fhir_target *t, struct fhir_verdict *v)
{
    for (size_t i = 0; i < sc->ncached; i++)
        if (same(sc->cache[i].subject, t->subject) && same(sc->cache[i].category, t->category)) {
            *v = sc->cache[i].v;
            return 0;
        }
    if (fhir_access_decide(&sc->c.who, t, ID_PERM_R, sc->c.purpose, NULL, sc->c.req->arena, v) != 0)
        return -1;
    if (sc->ncached < DECISIONS_CACHED)
        sc->cache[sc->ncached++] = (struct cached){t->subject, t->category, *v};
    return 0;
}

static const char *col(const struct store_row *row, int i, size_t *len)
{
    return store_row_is_null(row, i) ? NULL : store_row_text(row, i, len);
}

/* One row of a page, include or count query: decided, noted for the trail, added when
 * permitted. */
static int take(struct search_call *sc, const struct store_row *row)
{
    struct fhir_record r = {0};
    r.rtype = col(row, FHIR_SQL_COL_RTYPE, NULL);
    r.id = col(row, FHIR_SQL_COL_ID, NULL);
    r.version = store_row_int(row, FHIR_SQL_COL_VERSION);
    r.updated_ms = store_row_int(row, FHIR_SQL_COL_UPDATED_MS);
    r.subject = col(row, FHIR_SQL_COL_SUBJECT, NULL);
    r.category = col(row, FHIR_SQL_COL_CATEGORY, NULL);
    r.body = col(row, FHIR_SQL_COL_BODY, &r.len);
    struct arena *a = sc->c.req->arena;
    /* row text lives only during the callback: what the trail and the cache keep is copied */
    struct fhir_target t = {.rtype = arena_strdup(a, r.rtype),
                            .id = NULL,
                            .subject = r.subject != NULL ? arena_strdup(a, r.subject) : NULL,
                            .category = r.category != NULL ? arena_strdup(a, r.category) : NULL};
    if (t.rtype == NULL || (r.subject != NULL && t.subject == NULL) ||
        (r.category != NULL && t.category == NULL))
        return -1;
    struct fhir_verdict v;
    if (decide(sc, &t, &v) != 0 || fhir_bundle_decided(&sc->b, &t, &v) != 0)
        return -1;
    if (!v.permit)
        return 0;
    sc->visible++;
    if (sc->counting)
        return 0;
    if (fhir_bundle_add_match(&sc->b, &r, sc->mode) != 0)
        return -1;
    if (sc->keys != NULL) {
        struct fhir_sql_key *k = &sc->keys[sc->nkeys++];
        k->rtype = t.rtype;
        if ((k->id = arena_strdup(a, r.id)) == NULL)
            return -1;
    }
    return 0;
}

/* Is row the page's previous row again? A page in id order driven by the token index
 * (search_sql.c) meets a resource once per matching token row, and rows stored before
 * fhir_index_rows() dropped repeated codes may hold one twice. */
static int repeats_previous(struct search_call *sc, const struct store_row *row)
{
    size_t len = 0;
    const char *id = col(row, FHIR_SQL_COL_ID, &len);
    if (id == NULL || len >= sizeof sc->last_id)
        return 0;
    if (sc->row > 0 && strlen(sc->last_id) == len && memcmp(sc->last_id, id, len) == 0)
        return 1;
    memcpy(sc->last_id, id, len);
    sc->last_id[len] = '\0';
    return 0;
}

static int page_row(const struct store_row *row, void *ctx)
{
    struct search_call *sc = ctx;
    if (sc->s.nsorts == 0 && repeats_previous(sc, row))
        return 0;
    if (sc->row == sc->s.count) {
        sc->more = 1;
        return 1;
    }
    if (take(sc, row) != 0) {
        sc->failed = 1;
        return 1;
    }
    if (!sc->counting && sc->row == sc->s.count - 1 &&
        (sc->cursor = fhir_search_sql_cursor(&sc->s, row, sc->c.req->arena)) == NULL) {
        sc->failed = 1;
        return 1;
    }
    sc->row++;
    return 0;
}

static int include_row(const struct store_row *row, void *ctx)
{
    struct search_call *sc = ctx;
    if (take(sc, row) != 0) {
        sc->failed = 1;
        return 1;
    }
    return 0;
}

/* Runs one page query of sc->s. Returns 0 or the store's error (-1 out of memory). */
static int run_page(struct search_call *sc, struct err *e)
{
    struct fhir_sql q;
    int rc = fhir_search_sql_page(&sc->s, sc->c.req->arena, &q, e);
    if (rc != 0)
        return rc;
    sc->row = 0;
    sc->more = 0;
    sc->cursor = NULL;
    rc = store_query(sc->c.api->store, q.sql, q.params, q.nparams, page_row, sc, e);
    return sc->failed ? ERR_NOMEM : rc;
}

/* The total the caller may see: every match decided, up to COUNT_MAX matches. Returns 1
 * (counted), 0 (too many to count: no total) or a negative error. */
static int count_visible(struct search_call *sc, struct err *e)
{
    struct fhir_search saved = sc->s;
    sc->s.count = COUNT_MAX;
    sc->s.cursor = NULL;
    sc->counting = 1;
    sc->visible = 0;
    int rc = run_page(sc, e);
    int complete = rc == 0 && !sc->more;
    sc->s = saved;
    sc->counting = 0;
    sc->more = 0;
    sc->cursor = NULL;
    return rc != 0 ? rc : complete;
}

/* The includes of the page, decided like the matches. */
static int run_includes(struct search_call *sc, struct err *e)
{
    struct fhir_sql q;
    sc->mode = "include";
    sc->keys = NULL;
    for (int rev = 0; rev < 2; rev++) {
        int rc =
            rev ? fhir_search_sql_revinclude(&sc->s, sc->b.keys, sc->b.nkeys, sc->c.req->arena, &q,
                                             e)
                : fhir_search_sql_include(&sc->s, sc->b.keys, sc->b.nkeys, sc->c.req->arena, &q, e);
        if (rc == ERR_NOTFOUND)
            continue;
        if (rc == 0)
            rc = store_query(sc->c.api->store, q.sql, q.params, q.nparams, include_row, sc, e);
        if (sc->failed)
            return ERR_NOMEM;
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The search's problems as an OperationOutcome (warnings, or the errors of a refusal). */
static json_t *issues_outcome(const struct fhir_search *s)
{
    struct fhir_issues is;
    fhir_issues_init(&is, NULL, NULL);
    for (size_t i = 0; i < s->nissues; i++)
        fhir_issues_add(&is, s->issues[i].error ? FHIR_ERROR : FHIR_WARNING, s->issues[i].code,
                        s->issues[i].param, "%s", s->issues[i].diagnostics);
    return fhir_issues_outcome(&is);
}

/* The pairs of the request: the query, and for POST _search the form body. */
static int read_pairs(struct search_call *sc, int post, struct fhir_search_pair **pairs, size_t *n)
{
    struct http_request *req = sc->c.req;
    struct err e = {0};
    const char *qs = http_query_string(req);
    if (qs == NULL)
        return -1;
    const char *text = qs;
    if (post) {
        if (!http_content_type_is(req, "application/x-www-form-urlencoded")) {
            fhir_outcome(req, 415, "not-supported",
                         "send the search as application/x-www-form-urlencoded");
            return 0;
        }
        text = arena_printf(req->arena, "%s%s%.*s", qs, qs[0] != '\0' ? "&" : "",
                            (int)req->body_len, req->body != NULL ? req->body : "");
        if (text == NULL)
            return -1;
    }
    int rc = fhir_search_pairs_parse(text, strlen(text), req->arena, pairs, n, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0) {
        fhir_outcome(req, 400, rc == ERR_TOOBIG ? "too-costly" : "invalid", "%s", e.msg);
        return 0;
    }
    return 1;
}

static int has_element(const char *rtype, const char *name)
{
    const char *type = NULL;
    const struct fhir_struct *st = fhir_defs_struct(rtype);
    return st != NULL && fhir_defs_member(st, name, &type) != NULL;
}

static int search(struct http_request *req, void *ctx, int post)
{
    struct search_call *sc = arena_zalloc(req->arena, sizeof *sc);
    if (sc == NULL)
        return -1;
    int ok = fhir_call_begin_search(req, ctx, &sc->c);
    if (ok <= 0)
        return ok;
    struct fhir_search_pair *pairs = NULL;
    size_t npairs = 0;
    if ((ok = read_pairs(sc, post, &pairs, &npairs)) <= 0)
        return ok;
    const char *prefer = http_header(req, "Prefer");
    static const struct fhir_search_defs defs = {fhir_defs_search_params, fhir_defs_search_param,
                                                 has_element};
    struct fhir_search_opts opt = {.defs = &defs,
                                   .strict =
                                       prefer != NULL && strstr(prefer, "handling=strict") != NULL,
                                   .now_ms = clock_now_ms(),
                                   .cursor_key = cursor_key};
    struct err e = {0};
    int rc = fhir_search_parse(sc->c.rtype, pairs, npairs, &opt, req->arena, &sc->s, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0) {
        http_respond_json(req, 400, issues_outcome(&sc->s));
        return 0;
    }
    if (sc->s.summary == FHIR_SUMMARY_TRUE || sc->s.summary == FHIR_SUMMARY_TEXT) {
        fhir_outcome(req, 400, "not-supported",
                     "_summary=true and _summary=text are not "
                     "supported; use _elements or _summary=data");
        return 0;
    }
    /* the token's scopes must allow searching the type where its results lie */
    const struct id_principal *p = &sc->c.who;
    enum id_scope_context where =
        p->kind == ID_PRINCIPAL_CLIENT                                       ? ID_SCOPE_SYSTEM
        : p->kind == ID_PRINCIPAL_PERSON || p->kind == ID_PRINCIPAL_DELEGATE ? ID_SCOPE_PATIENT
                                                                             : ID_SCOPE_USER;
    if (p->kind != ID_PRINCIPAL_OPERATOR &&
        (p->scope == NULL ||
         id_scope_allows(p->scope, where, sc->c.rtype, ID_PERM_S, NULL, 0) == NULL)) {
        http_set_header(req, "WWW-Authenticate",
                        "Bearer realm=\"cityos\", error=\"insufficient_scope\"");
        fhir_outcome(req, 403, "forbidden", "the token's scopes do not allow searching %s",
                     sc->c.rtype);
        return 0;
    }
    if (fhir_bundle_init(&sc->b, req, sc->c.api->issuer, "searchset") != 0)
        return -1;
    sc->b.elements = sc->s.elements;
    sc->b.nelements = sc->s.nelements;
    sc->b.summary_data = sc->s.summary == FHIR_SUMMARY_DATA;
    int want_total = sc->s.summary == FHIR_SUMMARY_COUNT || sc->s.total == FHIR_TOTAL_ACCURATE;
    if (want_total) {
        rc = count_visible(sc, &e);
        if (rc < 0)
            return rc == ERR_NOMEM ? -1 : fhir_call_store_failed(&sc->c, rc, &e);
        if (rc == 1 && fhir_bundle_total(&sc->b, sc->visible) != 0)
            return -1;
    }
    if (sc->s.summary != FHIR_SUMMARY_COUNT) {
        sc->mode = "match";
        sc->keys = arena_zalloc(req->arena, ((size_t)sc->s.count + 1) * sizeof *sc->keys);
        if (sc->keys == NULL)
            return -1;
        if ((rc = run_page(sc, &e)) != 0)
            return rc == ERR_NOMEM ? -1 : fhir_call_store_failed(&sc->c, rc, &e);
        sc->b.keys = sc->keys;
        sc->b.nkeys = sc->nkeys;
        if ((rc = run_includes(sc, &e)) != 0)
            return rc == ERR_NOMEM ? -1 : fhir_call_store_failed(&sc->c, rc, &e);
    }
    const char *self = fhir_search_link_query(&sc->s, NULL, req->arena);
    if (self == NULL || fhir_bundle_link(&sc->b, "self", self) != 0)
        return -1;
    if (sc->more) {
        const char *next = fhir_search_link_query(&sc->s, sc->cursor, req->arena);
        if (next == NULL || fhir_bundle_link(&sc->b, "next", next) != 0)
            return -1;
    }
    if (sc->s.nissues > 0 && fhir_bundle_add_outcome(&sc->b, issues_outcome(&sc->s)) != 0)
        return -1;
    return fhir_bundle_send(&sc->b, &sc->c, "search");
}

static int get_search(struct http_request *req, void *ctx)
{
    return search(req, ctx, 0);
}

static int post_search(struct http_request *req, void *ctx)
{
    return search(req, ctx, 1);
}

int fhir_search_condition_sql(const char *rtype, const char *query, struct arena *a,
                              struct fhir_sql **out, struct err *e)
{
    struct fhir_search_pair *pairs = NULL;
    size_t npairs = 0;
    int rc = fhir_search_pairs_parse(query, strlen(query), a, &pairs, &npairs, e);
    if (rc != 0)
        return rc;
    if (npairs == 0)
        return err_set(e, ERR_INVALID, "the condition names no search parameter");
    static const struct fhir_search_defs defs = {fhir_defs_search_params, fhir_defs_search_param,
                                                 has_element};
    struct fhir_search_opts opt = {.defs = &defs, .strict = 1, .now_ms = clock_now_ms()};
    struct fhir_search *s = arena_zalloc(a, sizeof *s);
    *out = arena_zalloc(a, sizeof **out);
    if (s == NULL || *out == NULL)
        return ERR_NOMEM;
    rc = fhir_search_parse(rtype, pairs, npairs, &opt, a, s, e);
    if (rc != 0)
        return rc;
    s->count = 1; /* one row more than the page: two matches are enough to refuse */
    s->nsorts = 0;
    return fhir_search_sql_page(s, a, *out, e);
}

int fhir_search_api_register(struct http_router *r, struct fhir_api *api)
{
    randombytes_buf(cursor_key, sizeof cursor_key);
    int rc = http_router_add(r, "POST", "/fhir/{type}/_search", post_search, api);
    if (rc == 0)
        rc = http_router_add(r, "GET", "/fhir/{type}", get_search, api);
    return rc;
}
