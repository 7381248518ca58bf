/* recipient_names.c - GET /api/v1/recipient-names?ids=<id>,<id>,... (public; patients_api.h):
 * the public names of the organisations and registered services that purposes, consents and
 * appointments name by id, so that the portal shows "湊ファミリークリニック" where the answers
 * carry an id. One call for both kinds (an organisation's id and a client's never collide: both
 * are random ids), no 404 for an id that names nothing (it is left out), no personal data:
 * only what a purpose's explanation and a service's approval page already show anyone. */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/ids.h"
#include "http/problem.h"
#include "consent/patients_api.h"
#include "identity/client.h"
#include "identity/org.h"

#define NAMES_IDS_MAX PATIENTS_NAMES_IDS_MAX

int patients_ids_split(struct arena *a, const char *text, const char **out)
{
    size_t len = strlen(text);
    if (len == 0 || len > NAMES_IDS_MAX * (IDS_LEN + 1))
        return -1;
    int n = 0;
    for (const char *p = text;;) {
        const char *comma = strchr(p, ',');
        size_t k = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (k != IDS_LEN || n >= NAMES_IDS_MAX)
            return -1;
        char *id = arena_strndup(a, p, k);
        if (id == NULL || !ids_valid(id))
            return -1;
        int dup = 0;
        for (int i = 0; i < n && !dup; i++)
            dup = strcmp(out[i], id) == 0;
        if (!dup)
            out[n++] = id;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return n;
}

static int get_names(struct http_request *req, void *ctx)
{
    struct patients_api *api = ctx;
    static const char *const allowed[] = {"ids", NULL};
    if (!http_query_only_or_problem(req, allowed))
        return 0;
    const char *text = http_query(req, "ids");
    const char **ids = arena_zalloc(req->arena, NAMES_IDS_MAX * sizeof *ids);
    if (ids == NULL)
        return -1;
    int n = text != NULL ? patients_ids_split(req->arena, text, ids) : -1;
    if (n < 0) {
        http_problem(req, "invalid-parameter", "ids: 1 to %d well-formed ids, comma-separated",
                     NAMES_IDS_MAX);
        return 0;
    }
    json_t *list = json_array();
    if (list == NULL)
        return -1;
    for (int i = 0; i < n; i++) {
        struct err e = {0};
        struct id_org o;
        struct id_client c;
        json_t *item = NULL;
        int rc = id_org_get(api->store, ids[i], &o, req->arena, &e);
        if (rc == 0) {
            item = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "id", ids[i], "kind", "organisation",
                             "org_kind", id_org_kind_name(o.kind), "name", "ja", o.name_ja, "en",
                             o.name_en != NULL ? o.name_en : o.name_ja);
        } else if (rc == ERR_NOTFOUND &&
                   (rc = id_client_get(api->store, ids[i], &c, req->arena, &e)) == 0) {
            item = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", ids[i], "kind", "service", "name",
                             "ja", c.name, "en", c.name);
        }
        if (rc != 0 && rc != ERR_NOTFOUND) {
            json_decref(list);
            http_problem(req, "unavailable", "the store did not answer");
            return 0;
        }
        if (rc == 0 && (item == NULL || json_array_append_new(list, item) != 0)) {
            json_decref(list);
            return -1;
        }
    }
    json_t *o = json_pack("{s:o}", "names", list);
    if (o == NULL)
        return -1;
    http_set_header(req, "Cache-Control", "no-cache");
    http_respond_json(req, 200, o);
    return 0;
}

int patients__names_register(struct http_router *r, struct patients_api *api)
{
    return http_router_add(r, "GET", "/api/v1/recipient-names", get_names, api);
}
