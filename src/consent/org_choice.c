/* org_choice.c - the consent a citizen's choice of an organisation rests on (org_choice.h). */
#include "consent/org_choice.h"

#include "audit/actor.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "consent/consent_json.h"
#include "http/problem.h"

int consent_org_choice_prepare(struct http_request *req, struct store *s,
                               const struct id_principal *who, const char *org, const char *purpose,
                               enum consent_category category, const json_t *evidence,
                               struct consent_org_choice *out)
{
    out->consent_id = NULL;
    out->grant = NULL;
    struct err e = {0};
    struct consent_purpose pu;
    int rc = consent_purpose_get(s, purpose, 0, &pu, req->arena, &e);
    if (rc == ERR_NOTFOUND) {
        http_problem(req, "conflict", "the city has not published the purpose \"%s\"", purpose);
        return 0;
    }
    int failed = 0;
    if (rc == 0)
        out->consent_id = consent_open_org_consent(s, who->subject_id, org, purpose, category,
                                                   req->arena, &failed);
    if (rc != 0 || failed) {
        http_problem(req, "unavailable", "the store is unavailable; try again");
        return 0;
    }
    if (out->consent_id != NULL) /* consented already: the choice alone is stored */
        return 1;
    struct consent_write *w = arena_zalloc(req->arena, sizeof *w);
    struct audit_event *actor = arena_zalloc(req->arena, sizeof *actor);
    json_t *wrap = json_pack("{s:O}", "evidence", evidence);
    if (w == NULL || actor == NULL || wrap == NULL ||
        arena_defer(req->arena, jsonx_decref, wrap) != 0) {
        json_decref(wrap);
        return -1;
    }
    if (consent_json_withdraw(wrap, w, &e) != 0) { /* reads {"evidence"} strictly */
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    if (audit_event_from_principal(who, actor, &e) != 0)
        return -1;
    audit_event_from_request(req, actor);
    w->op = CONSENT_OP_GRANT;
    w->store = s;
    w->ix = consent_index_global();
    w->now_ms = clock_now_ms();
    w->actor = actor;
    w->subject_id = who->subject_id;
    w->by = who->subject_id;
    w->recipient_kind = CONSENT_TO_ORGANISATION;
    w->recipient_id = org;
    w->purpose_code = purpose;
    w->purpose_version = pu.version;
    w->cats = (consent_cats)1u << category;
    w->actions = CONSENT_READ | CONSENT_WRITE;
    if (consent_write_check(w, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    if (w->ix == NULL) {
        http_problem(req, "unavailable", "the consent index is not loaded");
        return 0;
    }
    out->grant = w;
    return 1;
}
