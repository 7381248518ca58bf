/* userinfo.c - the OpenID Connect UserInfo endpoint (OIDC Core 5.3): GET or POST with a bearer
 * access token that holds openid; answers the claims its scope releases about the person who
 * signed in (profile, fhirUser), never more. */
#include <jansson.h>

#include "base/log.h"
#include "http/problem.h"
#include "identity/id_token.h"
#include "identity/oauth_internal.h"
#include "identity/principal.h"

static int insufficient_scope(struct http_request *req, const char *detail)
{
    http_set_header(req, "WWW-Authenticate",
                    "Bearer realm=\"cityos\", error=\"insufficient_scope\", scope=\"openid\"");
    http_problem(req, "forbidden", "%s", detail);
    return 0;
}

static int userinfo(struct http_request *req, void *ctx)
{
    struct oauth_api *api = ctx;
    struct id_principal p;
    int ok = id_principal_require(req, api->store, &p);
    if (ok <= 0)
        return ok;
    if (p.subject_id == NULL)
        return insufficient_scope(req, "userinfo needs a token a person approved");
    struct id_claims_scope cs = {
        .openid = id_scope_find(p.scope, ID_SCOPE_OPENID, NULL) != NULL,
        .profile = id_scope_find(p.scope, ID_SCOPE_PROFILE, NULL) != NULL,
        .fhiruser = id_scope_find(p.scope, ID_SCOPE_FHIRUSER, NULL) != NULL,
    };
    if (!cs.openid)
        return insufficient_scope(req, "userinfo needs the openid scope");
    struct id_person person;
    struct err e = {0};
    int rc = id_person_get(api->store, p.subject_id, &person, req->arena, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0) {
        /* a token whose person is gone is as good as revoked */
        http_set_header(req, "WWW-Authenticate",
                        "Bearer realm=\"cityos\", error=\"invalid_token\"");
        http_problem(req, rc == ERR_NOTFOUND ? "unauthorized" : "unavailable",
                     "the person could not be read");
        return 0;
    }
    json_t *o = json_pack("{s:s}", "sub", p.subject_id);
    if (o == NULL ||
        id_claims_person(o, &person, &cs, api->issuer, p.kind == ID_PRINCIPAL_PRACTITIONER) != 0) {
        json_decref(o);
        return -1;
    }
    http_set_header(req, "Cache-Control", "no-store");
    http_respond_json(req, 200, o);
    return 0;
}

int oauth_userinfo_register(struct http_router *r, struct oauth_api *api)
{
    int rc = http_router_add(r, "GET", "/oauth/userinfo", userinfo, api);
    return rc == 0 ? http_router_add(r, "POST", "/oauth/userinfo", userinfo, api) : rc;
}
