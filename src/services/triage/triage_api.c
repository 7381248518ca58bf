/* triage_api.c - the triage endpoints (docs/api.md "Triage"): the questionnaire in Japanese or
 * English; a citizen's (or their delegate's) answers checked, evaluated and stored as a FHIR
 * QuestionnaireResponse in the citizen's record through the access decision and the audit trail,
 * answered with the level, department and reasons; and that result read again. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/actor.h"
#include "audit/held.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "consent/category.h"
#include "consent/index.h"
#include "fhir/access.h"
#include "fhir/outcome.h"
#include "fhir/resource.h"
#include "fhir/validate.h"
#include "http/metrics.h"
#include "http/problem.h"
#include "identity/principal.h"
#include "services/triage/triage_api.h"

#define QR "QuestionnaireResponse"

static _Atomic uint64_t results[TRIAGE_LEVELS];
static _Atomic uint64_t refused_input;

static void metrics_render(FILE *out, void *ctx)
{
    (void)ctx;
    fprintf(out, "# HELP cityos_triage_results_total Triage answers evaluated and stored, by "
                 "level.\n# TYPE cityos_triage_results_total counter\n");
    for (int i = TRIAGE_LEVELS - 1; i >= 0; i--)
        fprintf(out, "cityos_triage_results_total{level=\"%s\"} %" PRIu64 "\n",
                triage_level_name((enum triage_level)i), atomic_load(&results[i]));
    fprintf(out,
            "# HELP cityos_triage_refused_total Triage answers refused as invalid (422).\n"
            "# TYPE cityos_triage_refused_total counter\ncityos_triage_refused_total %" PRIu64 "\n",
            atomic_load(&refused_input));
}

/* ---- who answers for whom ---- */

/* The principal, and the citizen whose triage it is: a person their own, a delegate the person
 * they act for (whether they may is the access decision's question). 1, 0 (answer set), -1. */
static int begin(struct http_request *req, struct store *s, struct id_principal *who,
                 const char **subject)
{
    int ok = id_principal_require(req, s, who);
    if (ok <= 0)
        return ok;
    static const char *const none[] = {NULL};
    if (!http_query_only_or_problem(req, none))
        return 0;
    if (who->kind != ID_PRINCIPAL_PERSON && who->kind != ID_PRINCIPAL_DELEGATE) {
        http_problem(req, "forbidden",
                     "only a citizen, or a family member acting for them, answers the triage");
        return 0;
    }
    *subject = who->kind == ID_PRINCIPAL_DELEGATE ? who->acting_for : who->subject_id;
    if (*subject == NULL || !ids_valid(*subject)) {
        http_problem(req, "forbidden", "this token names no citizen");
        return 0;
    }
    return 1;
}

/* A refusal on the citizen's trail first, then the answer: 403 with the reason, or (for
 * someone else's answers, whose existence is not told) 404. */
static int refuse(struct http_request *req, struct store *s, const struct id_principal *who,
                  const struct fhir_target *t, const char *action, const struct fhir_verdict *v,
                  int as_not_found)
{
    struct audit_event ev;
    struct audit_held *h = arena_zalloc(req->arena, sizeof *h);
    if (h == NULL || fhir_access_event(req, who, t, action, v, &ev) != 0)
        return -1;
    h->what = "a refused triage access";
    if (!as_not_found) {
        h->deny = v->reason;
        if (v->scope_refused)
            h->deny_challenge = "Bearer realm=\"cityos\", error=\"insufficient_scope\"";
        return audit_answer_when_recorded(req, s, &ev, h);
    }
    char *body = http_problem_body("not-found", "no triage answers with this id", req->path,
                                   req->request_id);
    if (body == NULL)
        return -1;
    h->body = arena_strdup(req->arena, body);
    free(body);
    if (h->body == NULL)
        return -1;
    h->len = strlen(h->body);
    h->type = "application/problem+json";
    h->http_status = 404;
    return audit_answer_when_recorded(req, s, &ev, h);
}

/* ---- GET /api/v1/triage/questionnaire ---- */

static int get_questionnaire(struct http_request *req, void *ctx)
{
    struct triage_api *api = ctx;
    struct id_principal who;
    int ok = id_principal_require(req, api->store, &who);
    if (ok <= 0)
        return ok;
    static const char *const allowed[] = {"lang", NULL};
    if (!http_query_only_or_problem(req, allowed))
        return 0;
    const char *lang = http_query(req, "lang");
    if (lang == NULL)
        lang = "ja";
    if (strcmp(lang, "ja") != 0 && strcmp(lang, "en") != 0) {
        http_problem(req, "invalid-parameter", "lang: ja or en");
        return 0;
    }
    const struct triage_table *t = triage_table_current();
    if (t == NULL) {
        http_problem(req, "unavailable", "the triage tables are not loaded");
        return 0;
    }
    json_t *q = triage_questionnaire_fhir(t, lang);
    if (q == NULL)
        return -1;
    size_t len = 0;
    char *text = jsonx_dumps(q, &len);
    json_decref(q);
    char *body = text != NULL ? arena_strndup(req->arena, text, len) : NULL;
    free(text);
    if (body == NULL)
        return -1;
    http_set_header(req, "Content-Language", lang);
    http_respond(req, 200, FHIR_JSON, body, len);
    return 0;
}

/* ---- POST /api/v1/me/triage ---- */

struct post_call {
    struct triage_api *api;
    struct http_request *req;
    struct fhir_write w;
    json_t *body, *result;
    enum triage_level level;
    int status;
    struct err e;
};

static void release_post(void *p)
{
    struct post_call *pc = p;
    fhir_write_release(&pc->w);
    json_decref(pc->body);
    json_decref(pc->result);
    json_decref(pc->w.resource);
}

static void post_done(int status, const struct err *e, void *ctx)
{
    struct post_call *pc = ctx;
    pc->status = status;
    if (e != NULL)
        pc->e = *e;
    http_request_resume(pc->req);
}

static int answer_post(struct http_request *req, void *ctx)
{
    struct post_call *pc = ctx;
    if (pc->status != 0) {
        http_set_header(req, "Retry-After", "1");
        http_problem(req, "unavailable", "the answers could not be stored; nothing was stored");
        return 0;
    }
    atomic_fetch_add(&results[pc->level], 1);
    char authored[40];
    clock_format_ms(pc->w.now_ms, authored, sizeof authored);
    if (json_object_set_new(pc->result, "questionnaire_response", json_string(pc->w.id)) != 0 ||
        json_object_set_new(pc->result, "authored", json_string(authored)) != 0)
        return -1;
    const char *loc = arena_printf(req->arena, "/api/v1/me/triage/%s", pc->w.id);
    if (loc == NULL)
        return -1;
    http_set_header(req, "Location", loc);
    http_respond_json(req, 201, json_incref(pc->result));
    return 0;
}

/* Parses, checks and evaluates the body into pc (the resource to store and the result).
 * 1, 0 (answer set) or -1. */
static int evaluate_body(struct post_call *pc, const struct triage_table *t, const char *subject)
{
    struct http_request *req = pc->req;
    if (!http_content_type_is(req, "application/json") && !http_content_type_is(req, FHIR_JSON)) {
        http_problem(req, "unsupported-media-type",
                     "send the QuestionnaireResponse as application/fhir+json or "
                     "application/json");
        return 0;
    }
    struct err e = {0};
    pc->body = jsonx_parse(req->body != NULL ? req->body : "", req->body_len, &e);
    if (pc->body == NULL) {
        if (e.code == ERR_NOMEM)
            return -1;
        http_problem(req, "malformed-json", "%s", e.msg);
        return 0;
    }
    struct triage_answer *ans = NULL;
    int rc = triage_answers_parse(t, pc->body, subject, req->arena, &ans, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0) {
        atomic_fetch_add(&refused_input, 1);
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    struct triage_result r;
    if (triage_evaluate(t, ans, req->arena, &r, &e) != 0) {
        http_problem(req, "internal-error", "the triage tables gave no result");
        return 0;
    }
    pc->level = r.level;
    pc->result = triage_result_json(t, ans, &r);
    if (pc->result == NULL)
        return -1;
    pc->w.now_ms = clock_now_ms();
    ids_new_ordered(pc->w.id, pc->w.now_ms);
    pc->w.resource =
        triage_response_resource(t, ans, pc->w.id, subject, pc->w.now_ms, &r, pc->result);
    if (pc->w.resource == NULL)
        return -1;
    struct fhir_issues *is = arena_alloc(req->arena, sizeof *is);
    if (is == NULL)
        return -1;
    fhir_issues_init(is, NULL, NULL);
    if (fhir_validate(pc->w.resource, QR, is) != 0 || is->nerrors > 0) {
        http_problem(req, "internal-error", "the stored answers would not be valid FHIR (%.100s)",
                     is->n > 0 ? is->items[0].expression : "");
        return 0;
    }
    return 1;
}

static int post_triage(struct http_request *req, void *ctx)
{
    struct triage_api *api = ctx;
    struct post_call *pc = arena_zalloc(req->arena, sizeof *pc);
    if (pc == NULL || arena_defer(req->arena, release_post, pc) != 0)
        return -1;
    pc->api = api;
    pc->req = req;
    struct id_principal *who = arena_zalloc(req->arena, sizeof *who);
    const char *subject = NULL;
    if (who == NULL)
        return -1;
    int ok = begin(req, api->store, who, &subject);
    if (ok <= 0)
        return ok;
    const struct triage_table *t = triage_table_current();
    if (t == NULL) {
        http_problem(req, "unavailable", "the triage tables are not loaded");
        return 0;
    }
    /* may this principal write to this citizen's record? decided before the body is read */
    struct fhir_target target = {
        .rtype = QR, .subject = subject, .category = consent_category_name(CONSENT_CAT_CLINICAL)};
    struct fhir_verdict v;
    if (fhir_access_decide(who, &target, ID_PERM_C, NULL, NULL, req->arena, &v) != 0)
        return -1;
    if (!v.permit)
        return refuse(req, api->store, who, &target, "create", &v, 0);
    if ((ok = evaluate_body(pc, t, subject)) <= 0)
        return ok;
    struct fhir_write *w = &pc->w;
    w->op = FHIR_WRITE_CREATE;
    w->rtype = QR;
    w->subject = subject;
    w->category = target.category;
    w->record_audit = 1;
    target.id = w->id;
    if (fhir_access_event(req, who, &target, "create", &v, &w->ev) != 0)
        return -1;
    http_request_suspend(req, answer_post, pc);
    if (store_write_async(api->store, fhir_resource_write_fn, w, post_done, pc) != 0) {
        pc->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

/* ---- GET /api/v1/me/triage/{id} ---- */

static int not_found(struct http_request *req)
{
    http_problem(req, "not-found", "no triage answers with this id");
    return 0;
}

static int get_triage(struct http_request *req, void *ctx)
{
    struct triage_api *api = ctx;
    struct id_principal *who = arena_zalloc(req->arena, sizeof *who);
    const char *subject = NULL;
    if (who == NULL)
        return -1;
    int ok = begin(req, api->store, who, &subject);
    if (ok <= 0)
        return ok;
    const char *id = req->params[0];
    if (id == NULL || !fhir_id_valid(id))
        return not_found(req);
    struct fhir_record rec;
    struct err e = {0};
    int rc = fhir_resource_read(api->store, QR, id, &rec, req->arena, &e);
    if (rc == ERR_NOTFOUND || (rc == 0 && (rec.deleted || rec.body == NULL)))
        return not_found(req);
    if (rc != 0) {
        http_set_header(req, "Retry-After", "1");
        http_problem(req, "unavailable", "the store is unavailable; try again");
        return 0;
    }
    struct fhir_target target = {
        .rtype = QR, .id = rec.id, .subject = rec.subject, .category = rec.category};
    if (rec.subject == NULL || strcmp(rec.subject, subject) != 0) {
        /* someone else's: not told apart from a missing id, and on the owner's trail */
        if (rec.subject == NULL)
            return not_found(req);
        struct fhir_verdict no = {.permit = 0,
                                  .decided_by = CONSENT_RULE_DEFAULT,
                                  .reason = "triage answers are read here only by their citizen "
                                            "or a delegate acting for them"};
        return refuse(req, api->store, who, &target, "read", &no, 1);
    }
    struct fhir_verdict v;
    if (fhir_access_decide(who, &target, ID_PERM_R, NULL, NULL, req->arena, &v) != 0)
        return -1;
    if (!v.permit)
        return refuse(req, api->store, who, &target, "read", &v, 0);
    json_t *qr = jsonx_parse(rec.body, rec.len, &e);
    json_t *result = qr != NULL ? triage_response_result_json(qr) : NULL;
    const char *authored = json_string_value(json_object_get(qr, "authored"));
    int bad = result == NULL ||
              json_object_set_new(result, "questionnaire_response", json_string(rec.id)) != 0 ||
              json_object_set_new(result, "authored",
                                  authored != NULL ? json_string(authored) : json_null()) != 0;
    json_decref(qr);
    if (bad) {
        json_decref(result);
        if (result == NULL && e.code != ERR_NOMEM)
            return not_found(req); /* a QuestionnaireResponse that is not a triage */
        return -1;
    }
    struct audit_held *h = arena_zalloc(req->arena, sizeof *h);
    struct audit_event ev;
    if (h == NULL || fhir_access_event(req, who, &target, "read", &v, &ev) != 0 ||
        audit_held_json(req, h, result, "application/json") != 0) {
        json_decref(result);
        return -1;
    }
    json_decref(result);
    h->what = "a triage read";
    return audit_answer_when_recorded(req, api->store, &ev, h);
}

/* ---- registration ---- */

int triage_api_register(struct http_router *r, struct triage_api *api, struct store *s)
{
    api->store = s;
    static const struct {
        const char *method, *pattern;
        http_handler fn;
    } routes[] = {
        {"GET", "/api/v1/triage/questionnaire", get_questionnaire},
        {"POST", "/api/v1/me/triage", post_triage},
        {"GET", "/api/v1/me/triage/{id}", get_triage},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].fn, api);
        if (rc != 0)
            return rc;
    }
    return http_metrics_add(metrics_render, NULL) != 0 ? ERR_NOMEM : 0;
}
