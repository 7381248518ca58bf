/* userinfo.c - the OpenID Connect UserInfo endpoint (OIDC Core 5.3): GET or POST with a bearer
 * access token that holds openid; answers the claims its scope releases about the person who
 * signed in (profile, fhirUser), never more, and only once the read is recorded on that
 * person's audit trail ("no record, no read", docs/internals/audit.md). */
#include <jansson.h>
#include <stdlib.h>

#include "audit/actor.h"
#include "audit/audit.h"
#include "audit/held.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/category.h"
#include "consent/index.h"
#include "http/problem.h"
#include "identity/id_token.h"
#include "identity/oauth_internal.h"
#include "identity/principal.h"

/* The profile a client reads here, as the audit trail names it. */
#define PROFILE_TYPE "Patient"

#define INSUFFICIENT_SCOPE "Bearer realm=\"cityos\", error=\"insufficient_scope\", scope=\"openid\""

static int insufficient_scope(struct http_request *req, const char *detail)
{
    http_set_header(req, "WWW-Authenticate", INSUFFICIENT_SCOPE);
    http_problem(req, "forbidden", "%s", detail);
    return 0;
}

/* May p read its own profile? The person who signed in reads the claims about themselves,
 * whatever capacity the token acts in (OIDC Core 5.3: userinfo is about the End-User who
 * authenticated), so the question asked is the person's own: rule:self. With no index the
 * built-in rule answers alone. */
static void decide(const struct oauth_api *api, const struct id_principal *p,
                   enum consent_category cat, struct consent_decision *out)
{
    if (api->consent == NULL) {
        *out = (struct consent_decision){.effect = CONSENT_PERMIT,
                                         .decided_by = CONSENT_RULE_SELF,
                                         .reason = "citizens see their own record"};
        return;
    }
    struct consent_query q = {0};
    consent_query_from_principal(&q, p);
    q.actor_kind = ID_PRINCIPAL_PERSON; /* the End-User as themselves, not for another */
    q.acting_for = NULL;
    q.org_id = NULL;
    q.role = NULL;
    q.subject = p->subject_id;
    q.category = cat;
    q.action = CONSENT_READ;
    q.now_ms = clock_now_ms();
    consent_decide(api->consent, &q, out); /* a malformed query is a deny */
}

static int userinfo(struct http_request *req, void *ctx)
{
    struct oauth_api *api = ctx;
    struct id_principal p;
    int ok = id_principal_require(req, api->store, &p);
    if (ok <= 0)
        return ok;
    /* The refusals below touch no personal data and name no subject whose data was read: they
     * leave no audit record (a client token has no person; a token without openid was not
     * given the profile). */
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
    enum consent_category cat = consent_category_of(PROFILE_TYPE, NULL, 0);
    struct consent_decision d;
    decide(api, &p, cat, &d);

    struct audit_held *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    j->retry_after = 1;
    j->what = "a userinfo read";
    if (d.effect == CONSENT_PERMIT) {
        json_t *o = json_pack("{s:s}", "sub", p.subject_id);
        int bad = o == NULL ||
                  id_claims_person(o, &person, &cs, api->issuer,
                                   p.kind == ID_PRINCIPAL_PRACTITIONER) != 0 ||
                  audit_held_json(req, j, o, "application/json") != 0;
        json_decref(o);
        if (bad)
            return -1;
    } else {
        j->deny = "the profile may not be read with this token";
        j->deny_challenge = INSUFFICIENT_SCOPE;
    }
    struct audit_event ev = {0};
    if (audit_event_from_principal(&p, &ev, &e) != 0) {
        http_problem(req, "internal-error", "the principal cannot be recorded");
        return 0;
    }
    audit_event_from_request(req, &ev);
    ev.subject = p.subject_id;
    ev.action = "read";
    ev.resource_type = PROFILE_TYPE;
    ev.resource_id = p.subject_id;
    ev.category = consent_category_name(cat);
    ev.decision = j->deny == NULL ? AUDIT_PERMIT : AUDIT_DENY;
    ev.decided_by = d.decided_by;
    ev.reason = j->deny == NULL ? NULL : d.reason;
    return audit_answer_when_recorded(req, api->store, &ev, j);
}

int oauth_userinfo_register(struct http_router *r, struct oauth_api *api)
{
    int rc = http_router_add(r, "GET", "/oauth/userinfo", userinfo, api);
    return rc == 0 ? http_router_add(r, "POST", "/oauth/userinfo", userinfo, api) : rc;
}
