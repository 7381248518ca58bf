/* portal.c - serves the citizen portal (web/, embedded at build time) at "/" and under
 * "/portal/", and tells the page which OAuth client of the regional ID it signs in with. */
#include "web/portal.h"

#include <stdlib.h>
#include <string.h>

#include "http/problem.h"
#include "identity/client.h"
#include "web/static_files.h"

#define CANDIDATES_MAX 16

static int answer_file(struct http_request *req, const char *name, size_t len)
{
    const struct web_file *f = web_file_find(name, len);
    if (f == NULL) {
        http_problem(req, "not-found", "the portal has no such file");
        return 0;
    }
    web_file_respond(req, f, http_header(req, "If-None-Match"));
    return 0;
}

static int get_index(struct http_request *req, void *ctx)
{
    (void)ctx;
    return answer_file(req, "index.html", strlen("index.html"));
}

static int get_file(struct http_request *req, void *ctx)
{
    (void)ctx;
    const char *name = req->params[0];
    return answer_file(req, name, strlen(name));
}

static int get_file_in_dir(struct http_request *req, void *ctx)
{
    (void)ctx;
    const char *dir = req->params[0], *file = req->params[1];
    char *name = arena_printf(req->arena, "%s/%s", dir, file);
    if (name == NULL)
        return -1;
    return answer_file(req, name, strlen(name));
}

struct candidates {
    char ids[CANDIDATES_MAX][IDS_LEN + 1];
    size_t n;
};

static int candidate_row(const struct store_row *row, void *ctx)
{
    struct candidates *c = ctx;
    size_t len = 0;
    const char *id = store_row_text(row, 0, &len);
    if (id != NULL && len <= IDS_LEN && c->n < CANDIDATES_MAX) {
        memcpy(c->ids[c->n], id, len);
        c->ids[c->n][len] = '\0';
        c->n++;
    }
    return c->n >= CANDIDATES_MAX;
}

int web_portal_client(struct store *s, const char *redirect_uri, struct arena *a,
                      char id_out[IDS_LEN + 1], const char **scopes, struct err *e)
{
    /* LIKE narrows the search (its '_' and '%' may match more); the exact check is
     * id_client_redirect_registered on each candidate */
    char *pattern = arena_printf(a, "%%\"%s\"%%", redirect_uri);
    if (pattern == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct store_value v[] = {STORE_TEXT_V(pattern)};
    struct candidates c = {.n = 0};
    int rc = store_query(s,
                         "SELECT id FROM oauth_client WHERE kind = 'public' AND redirect_uris "
                         "LIKE ? ORDER BY created_ms, id",
                         v, 1, candidate_row, &c, e);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < c.n; i++) {
        struct id_client cl;
        if ((rc = id_client_get(s, c.ids[i], &cl, a, e)) != 0)
            return rc;
        if ((cl.grant_types & ID_GRANT_AUTHORIZATION_CODE) == 0 ||
            !id_client_redirect_registered(&cl, redirect_uri))
            continue;
        memcpy(id_out, cl.id, IDS_LEN + 1);
        *scopes = cl.scopes;
        return 0;
    }
    return err_set(e, ERR_NOTFOUND, "no public client has the redirect URI %s", redirect_uri);
}

static int get_config(struct http_request *req, void *ctx)
{
    struct web_portal *p = ctx;
    char id[IDS_LEN + 1];
    const char *scopes = NULL;
    struct err e = {0};
    int rc = web_portal_client(p->store, p->redirect_uri, req->arena, id, &scopes, &e);
    web_security_headers(req);
    http_set_header(req, "Cache-Control", "no-store");
    if (rc == ERR_NOTFOUND) {
        http_problem(req, "not-found",
                     "no OAuth client is registered for the portal: register a public client "
                     "with the authorization_code grant and the redirect URI %s",
                     p->redirect_uri);
        return 0;
    }
    if (rc != 0) {
        http_problem(req, "unavailable", "the store cannot answer");
        return 0;
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "issuer", p->issuer, "client_id", id,
                          "redirect_uri", p->redirect_uri, "scope", scopes);
    if (o == NULL)
        return -1;
    http_respond_json(req, 200, o);
    return 0;
}

int web_portal_register(struct http_router *r, struct web_portal *p, struct store *s,
                        const char *issuer)
{
    p->store = s;
    p->issuer = issuer;
    size_t n = strlen(issuer);
    char *uri = malloc(n + 2);
    if (uri == NULL)
        return ERR_NOMEM;
    memcpy(uri, issuer, n);
    uri[n] = '/';
    uri[n + 1] = '\0';
    p->redirect_uri = uri;
    int rc = http_router_add(r, "GET", "/", get_index, p);
    if (rc == 0) /* before /portal/{file}: the first matching route wins */
        rc = http_router_add(r, "GET", "/portal/config.json", get_config, p);
    if (rc == 0)
        rc = http_router_add(r, "GET", "/portal/{file}", get_file, p);
    if (rc == 0)
        rc = http_router_add(r, "GET", "/portal/{dir}/{file}", get_file_in_dir, p);
    return rc;
}

void web_portal_release(struct web_portal *p)
{
    free((char *)p->redirect_uri);
    p->redirect_uri = NULL;
}
