/* prescription_api.c - the e-prescription endpoints: the doctor issues, the citizen chooses a
 * pharmacy (granting the "pharmacy" consent through the consent write, with evidence) and
 * follows their prescriptions, the pharmacist works through the pharmacy's queue (guidance,
 * dispense, delivery). Every read and write of a citizen's data is decided under their consent
 * and on their trail before anything is handed out (docs/api.md "E-prescription"). */
#include <stdio.h>
#include <string.h>

#define VISITS_RX_INTERNAL
#include "audit/actor.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/consent.h"
#include "consent/consent_json.h"
#include "consent/org_choice.h"
#include "fhir/access.h"
#include "http/problem.h"
#include "identity/org.h"
#include "identity/principal.h"
#include "services/visits/prescription.h"

#define ME_PHARMACY "/api/v1/me/pharmacy"
#define RX_TASKS    "/api/v1/pharmacy/tasks"
#define QUEUE_MAX   200

/* ---- shared pieces ---- */

static int read_body(struct http_request *req, json_t **out)
{
    if (!http_content_type_is(req, "application/json")) {
        http_problem(req, "unsupported-media-type", "send the body as application/json");
        return 0;
    }
    struct err e = {0};
    *out = jsonx_parse(req->body != NULL ? req->body : "", req->body_len, &e);
    if (*out == NULL) {
        if (e.code == ERR_NOMEM)
            return -1;
        http_problem(req, "malformed-json", "%s", e.msg);
        return 0;
    }
    if (arena_defer(req->arena, jsonx_decref, *out) != 0) {
        json_decref(*out);
        return -1;
    }
    return 1;
}

static int no_query(struct http_request *req)
{
    static const char *const none[] = {NULL};
    if (!http_query_only_or_problem(req, none))
        return 0;
    return 1;
}

static void store_failed(struct http_request *req)
{
    http_problem(req, "unavailable", "the store is unavailable; try again");
}

static int begin(struct http_request *req, struct visits_rx_api *api, struct id_principal *p)
{
    int ok = id_principal_require(req, api->store, p);
    return ok > 0 ? no_query(req) : ok;
}

static int begin_citizen(struct http_request *req, struct visits_rx_api *api, const char *rtype,
                         unsigned perm, struct id_principal *p)
{
    int ok = begin(req, api, p);
    if (ok <= 0)
        return ok;
    if (p->kind != ID_PRINCIPAL_PERSON) {
        http_problem(req, "forbidden", "only the citizen themselves chooses their pharmacy");
        return 0;
    }
    if (id_scope_allows(p->scope, ID_SCOPE_PATIENT, rtype, perm, NULL, 0) == NULL) {
        http_problem(req, "forbidden", "the token's scope does not cover this (patient/%s)", rtype);
        return 0;
    }
    return 1;
}

static int begin_role(struct http_request *req, struct visits_rx_api *api, const char *role,
                      struct id_principal *p)
{
    int ok = begin(req, api, p);
    if (ok <= 0)
        return ok;
    if (p->kind != ID_PRINCIPAL_PRACTITIONER || p->role == NULL || strcmp(p->role, role) != 0 ||
        p->org_id == NULL) {
        http_problem(req, "forbidden", "this is for a %s acting for their organisation", role);
        return 0;
    }
    return 1;
}

/* An asynchronous write and the handler that answers after it. */
struct job {
    struct http_request *req;
    struct visits_rx_api *api;
    struct id_principal who;
    int status;
    struct err err;
    struct consent_write *cw;
    struct audit_event *evs; /* audit_all_fn */
    size_t nevs;
    int refusal; /* answer_refused: 404, 403 consent, 403 scope, 409 pharmacy consent */
    const char *pharmacy, *consent_id;
    struct visits_rx_order o;
    struct visits_rx_issue *issue;
    struct visits_rx_step *step;
    json_t *out;
};

enum { REFUSE_NOT_FOUND = 1, REFUSE_CONSENT, REFUSE_SCOPE, REFUSE_PHARMACY };

static void job_done(int status, const struct err *e, void *ctx)
{
    struct job *j = ctx;
    j->status = status;
    if (status != 0 && e != NULL)
        j->err = *e;
    if (j->cw != NULL)
        consent_write_finish(j->cw, status);
    http_request_resume(j->req);
}

static int job_start(struct http_request *req, struct job *j, store_write_fn fn, void *ctx,
                     http_handler answer)
{
    j->req = req;
    http_request_suspend(req, answer, j);
    if (store_write_async(j->api->store, fn, ctx, job_done, j) != 0) {
        j->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

static int audit_all_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct job *j = ctx;
    for (size_t i = 0; i < j->nevs; i++) {
        int rc = audit_record_fn(tx, &j->evs[i], e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int answer_refused(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0)
        store_failed(req);
    else if (j->refusal == REFUSE_NOT_FOUND)
        http_problem(req, "not-found", "no such prescription of this pharmacy");
    else if (j->refusal == REFUSE_SCOPE)
        http_problem(req, "forbidden", "the token's scope does not cover this");
    else if (j->refusal == REFUSE_PHARMACY)
        http_problem(req, "conflict",
                     "the patient's consent does not let the chosen pharmacy receive "
                     "prescriptions (purpose \"%s\")",
                     VISITS_RX_PURPOSE);
    else
        http_problem(req, "forbidden", "the patient's consent does not cover this");
    return 0;
}

/* Queues one refusal's audit entry, then answers it. */
static int refuse(struct http_request *req, struct job *j, struct audit_event *ev, int kind)
{
    j->evs = ev;
    j->nevs = 1;
    j->refusal = kind;
    return job_start(req, j, audit_all_fn, j, answer_refused);
}

static int org_row(const struct store_row *row, void *ctx)
{
    const char *en = store_row_text(row, 2, NULL);
    json_array_append_new(ctx,
                          json_pack("{s:s, s:s, s:s*, s:s}", "id", store_row_text(row, 0, NULL),
                                    "name_ja", store_row_text(row, 1, NULL), "name_en", en,
                                    "district", store_row_text(row, 3, NULL)));
    return 0;
}

static int get_pharmacies(struct http_request *req, void *ctx)
{
    struct visits_rx_api *api = ctx;
    if (!no_query(req))
        return 0;
    json_t *list = json_array();
    if (list == NULL)
        return -1;
    struct err e = {0};
    struct store_value v[] = {STORE_TEXT_V(id_org_kind_name(ID_ORG_PHARMACY))};
    if (store_query(api->store,
                    "SELECT id, name_ja, name_en, district FROM organisation WHERE kind = ? "
                    "ORDER BY name_ja, id LIMIT 200",
                    v, 1, org_row, list, &e) != 0) {
        json_decref(list);
        store_failed(req);
        return 0;
    }
    http_respond_json(req, 200, json_pack("{s:o}", "pharmacies", list));
    return 0;
}

/* ---- the citizen's choice ---- */

static json_t *choice_json(const struct visits_rx_choice *c)
{
    char at[40];
    if (!c->found)
        return json_pack("{s:n, s:n}", "pharmacy", "consent");
    clock_format_ms(c->updated_ms, at, sizeof at);
    return json_pack("{s:s, s:s, s:s}", "pharmacy", c->pharmacy, "consent", c->consent, "updated",
                     at);
}

static int get_me_pharmacy(struct http_request *req, void *ctx)
{
    struct visits_rx_api *api = ctx;
    struct id_principal *pa = arena_zalloc(req->arena, sizeof *pa);
    if (pa == NULL)
        return -1;
    int ok = begin_citizen(req, api, "Task", ID_PERM_R, pa);
    if (ok <= 0)
        return ok;
    struct visits_rx_choice c;
    struct err e = {0};
    if (visits__rx_choice_get(api->store, pa->subject_id, &c, &e) != 0) {
        store_failed(req);
        return 0;
    }
    http_respond_json(req, 200, choice_json(&c));
    return 0;
}

static int choice_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct job *j = ctx;
    int rc = 0;
    if (j->cw != NULL) {
        rc = consent_write_fn(tx, j->cw, e);
        if (rc == 0)
            j->consent_id = j->cw->id;
    }
    if (rc == 0)
        rc = visits__rx_choice_put(tx, j->who.subject_id, j->pharmacy, j->consent_id,
                                   clock_now_ms(), e);
    return rc;
}

static int answer_choice(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0) {
        const struct err *e = j->cw != NULL && j->cw->err.code != 0 ? &j->cw->err : &j->err;
        if (j->status == ERR_INVALID || j->status == ERR_NOTFOUND)
            http_problem(req, "validation-failed", "%s", e->msg);
        else if (j->status == ERR_CONFLICT)
            http_problem(req, "conflict", "%s", e->msg);
        else
            store_failed(req);
        return 0;
    }
    struct visits_rx_choice c;
    struct err e = {0};
    if (visits__rx_choice_get(j->api->store, j->who.subject_id, &c, &e) != 0) {
        store_failed(req);
        return 0;
    }
    http_respond_json(req, 200, choice_json(&c));
    return 0;
}

static int put_me_pharmacy(struct http_request *req, void *ctx)
{
    struct visits_rx_api *api = ctx;
    struct job *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    j->api = api;
    int ok = begin_citizen(req, api, "Consent", ID_PERM_C, &j->who);
    json_t *body = NULL;
    if (ok > 0)
        ok = read_body(req, &body);
    if (ok <= 0)
        return ok;
    const json_t *evidence = NULL;
    struct err e = {0};
    if (visits_rx_parse_choice(body, &j->pharmacy, &evidence, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    struct id_org org;
    int rc = id_org_get(api->store, j->pharmacy, &org, req->arena, &e);
    if (rc == ERR_NOTFOUND || (rc == 0 && org.kind != ID_ORG_PHARMACY)) {
        http_problem(req, "validation-failed", "/pharmacy: no such pharmacy");
        return 0;
    }
    if (rc != 0) {
        store_failed(req);
        return 0;
    }
    struct consent_org_choice ch;
    ok = consent_org_choice_prepare(req, api->store, &j->who, j->pharmacy, VISITS_RX_PURPOSE,
                                    CONSENT_CAT_MEDICATIONS, evidence, &ch);
    if (ok <= 0)
        return ok;
    j->consent_id = ch.consent_id;
    j->cw = ch.grant;
    return job_start(req, j, choice_fn, j, answer_choice);
}

/* ---- lists ---- */

struct order_list {
    struct arena *a;
    struct visits_rx_order *orders;
    size_t n, cap;
    int nomem;
};

static int list_row(const struct store_row *row, void *ctx)
{
    struct order_list *l = ctx;
    struct visits_rx_order *arr = arena_array_reserve(l->a, l->orders, l->n, &l->cap, sizeof *arr);
    if (arr == NULL || visits__rx_row(row, &arr[l->n], l->a) != 0) {
        l->nomem = 1;
        return 1;
    }
    l->orders = arr;
    l->n++;
    return l->n >= QUEUE_MAX;
}

static int list_orders(struct store *s, const char *col, const char *value, struct order_list *l,
                       struct err *e)
{
    const char *sql =
        arena_printf(l->a, "%sWHERE %s = ? ORDER BY created_ms DESC, task_id LIMIT %d",
                     visits__rx_select, col, QUEUE_MAX);
    if (sql == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct store_value v[] = {STORE_TEXT_V(value)};
    int rc = store_query(s, sql, v, 1, list_row, l, e);
    return rc == 0 && l->nomem ? err_set(e, ERR_NOMEM, "out of memory") : rc;
}

static int get_me_prescriptions(struct http_request *req, void *ctx)
{
    struct visits_rx_api *api = ctx;
    struct id_principal *pa = arena_zalloc(req->arena, sizeof *pa);
    if (pa == NULL)
        return -1;
    int ok = begin_citizen(req, api, "Task", ID_PERM_R, pa);
    if (ok <= 0)
        return ok;
    struct order_list l = {.a = req->arena};
    struct err e = {0};
    if (list_orders(api->store, "subject_id", pa->subject_id, &l, &e) != 0) {
        store_failed(req);
        return 0;
    }
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < l.n; i++) {
        json_t *o = NULL;
        if (visits__rx_json(&l.orders[i], &o) != 0 || json_array_append_new(list, o) != 0) {
            json_decref(list);
            return -1;
        }
    }
    if (list == NULL)
        return -1;
    http_respond_json(req, 200, json_pack("{s:o}", "prescriptions", list));
    return 0;
}

/* ---- the doctor ---- */

static int answer_issued(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0) {
        if (j->status != ERR_NOMEM && j->status != ERR_UNAVAILABLE)
            log_warn("pharmacy: a prescription could not be stored: %s", j->err.msg);
        store_failed(req);
        return 0;
    }
    const struct visits_rx_order *o = &j->issue->o;
    const char *loc = arena_printf(req->arena, RX_TASKS "/%s", o->task_id);
    if (loc == NULL)
        return -1;
    http_set_header(req, "Location", loc);
    http_respond_json(req, 201,
                      json_pack("{s:s, s:s, s:s, s:s}", "prescription", o->request_id, "task",
                                o->task_id, "pharmacy", o->pharmacy, "status",
                                visits_rx_status_name(o->status)));
    return 0;
}

static int post_prescription(struct http_request *req, void *ctx)
{
    struct visits_rx_api *api = ctx;
    struct job *j = arena_zalloc(req->arena, sizeof *j);
    struct visits_rx_issue *w = arena_zalloc(req->arena, sizeof *w);
    if (j == NULL || w == NULL)
        return -1;
    j->api = api;
    j->issue = w;
    w->a = req->arena;
    int ok = begin_role(req, api, "doctor", &j->who);
    json_t *body = NULL;
    if (ok > 0)
        ok = read_body(req, &body);
    if (ok <= 0)
        return ok;
    struct err e = {0};
    if (visits_rx_parse_new(body, &w->in, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    const char *patient = w->in.patient;
    struct id_person person;
    int rc = id_person_get(api->store, patient, &person, req->arena, &e);
    if (rc == ERR_NOTFOUND) {
        http_problem(req, "validation-failed", "/patient: no such person");
        return 0;
    }
    if (rc != 0) {
        store_failed(req);
        return 0;
    }
    struct visits_rx_order *o = &w->o;
    int64_t now = clock_now_ms();
    ids_new_ordered(o->request_id, now);
    ids_new_ordered(o->task_id, now);
    /* may this doctor write the patient's medications? */
    struct fhir_target mt = {.rtype = "MedicationRequest",
                             .id = o->request_id,
                             .subject = patient,
                             .category = "medications"};
    struct fhir_verdict mv;
    if (fhir_access_decide(&j->who, &mt, ID_PERM_C, NULL, NULL, req->arena, &mv) != 0 ||
        fhir_access_event(req, &j->who, &mt, "create", &mv, &w->ev_request) != 0)
        return -1;
    if (!mv.permit)
        return refuse(req, j, &w->ev_request, mv.scope_refused ? REFUSE_SCOPE : REFUSE_CONSENT);
    /* the pharmacy the patient chose, and their consent that it receives prescriptions */
    struct visits_rx_choice choice;
    if (visits__rx_choice_get(api->store, patient, &choice, &e) != 0) {
        store_failed(req);
        return 0;
    }
    if (!choice.found) {
        http_problem(req, "conflict",
                     "the patient has not chosen a pharmacy (PUT " ME_PHARMACY ")");
        return 0;
    }
    struct consent_decision d;
    if (visits__rx_decide_pharmacy(choice.pharmacy, patient, CONSENT_READ, now, &d) != 0) {
        http_problem(req, "unavailable", "the consent index is not loaded");
        return 0;
    }
    struct fhir_target tt = {
        .rtype = "Task", .id = o->task_id, .subject = patient, .category = "medications"};
    struct fhir_verdict tv = {
        .permit = d.effect == CONSENT_PERMIT, .decided_by = d.decided_by, .reason = d.reason};
    if (d.purpose != NULL)
        tv.purpose = arena_printf(req->arena, "%s@%lld", d.purpose, (long long)d.purpose_version);
    if (fhir_access_event(req, &j->who, &tt, "create", &tv, &w->ev_task) != 0)
        return -1;
    if (!tv.permit) {
        w->ev_task.reason = "the patient's consent does not let the chosen pharmacy receive "
                            "prescriptions";
        return refuse(req, j, &w->ev_task, REFUSE_PHARMACY);
    }
    struct id_org pharmacy, clinic;
    if ((rc = id_org_get(api->store, choice.pharmacy, &pharmacy, req->arena, &e)) != 0 ||
        (rc = id_org_get(api->store, j->who.org_id, &clinic, req->arena, &e)) != 0) {
        store_failed(req);
        return 0;
    }
    w->pharmacy_name = pharmacy.name_ja;
    w->clinic_name = clinic.name_ja;
    memcpy(o->subject, patient, IDS_LEN + 1);
    memcpy(o->pharmacy, choice.pharmacy, sizeof o->pharmacy);
    snprintf(o->prescriber_org, sizeof o->prescriber_org, "%s", j->who.org_id);
    snprintf(o->prescriber, sizeof o->prescriber, "%s", j->who.subject_id);
    json_t *med =
        json_pack("{s:[{s:s, s:s, s:s}], s:s}", "coding", "system", w->in.med_system, "code",
                  w->in.med_code, "display", w->in.med_display, "text", w->in.med_display);
    char *mtext = med != NULL ? jsonx_dumps(med, NULL) : NULL;
    json_decref(med);
    if (mtext == NULL)
        return -1;
    o->medication = arena_strdup(req->arena, mtext);
    free(mtext);
    if (o->medication == NULL)
        return -1;
    o->status = VISITS_RX_REQUESTED;
    o->created_ms = o->updated_ms = now;
    return job_start(req, j, visits__rx_issue_fn, w, answer_issued);
}

/* ---- the pharmacist ---- */

static int answer_json(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0) {
        json_decref(j->out);
        store_failed(req); /* not on the trail: nothing is handed out */
        return 0;
    }
    http_respond_json(req, 200, j->out);
    return 0;
}

static int get_queue(struct http_request *req, void *ctx)
{
    struct visits_rx_api *api = ctx;
    struct job *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    j->api = api;
    int ok = begin_role(req, api, "pharmacist", &j->who);
    if (ok <= 0)
        return ok;
    struct order_list l = {.a = req->arena};
    struct err e = {0};
    if (list_orders(api->store, "pharmacy_id", j->who.org_id, &l, &e) != 0) {
        store_failed(req);
        return 0;
    }
    j->evs = l.n > 0 ? arena_zalloc(req->arena, l.n * sizeof *j->evs) : NULL;
    json_t *list = json_array();
    if ((l.n > 0 && j->evs == NULL) || list == NULL) {
        json_decref(list);
        return -1;
    }
    size_t withheld = 0;
    for (size_t i = 0; i < l.n; i++) {
        const struct visits_rx_order *o = &l.orders[i];
        struct fhir_target t = {
            .rtype = "Task", .id = o->task_id, .subject = o->subject, .category = "medications"};
        struct fhir_verdict v;
        if (fhir_access_decide(&j->who, &t, ID_PERM_S, VISITS_RX_PURPOSE, NULL, req->arena, &v) !=
                0 ||
            fhir_access_event(req, &j->who, &t, "search", &v, &j->evs[j->nevs++]) != 0) {
            json_decref(list);
            return -1;
        }
        if (v.scope_refused) {
            json_decref(list);
            http_problem(req, "forbidden", "the token's scope does not cover this (user/Task.s)");
            return 0;
        }
        if (!v.permit) {
            withheld++;
            continue;
        }
        json_t *oj = NULL;
        if (visits__rx_json(o, &oj) != 0 || json_array_append_new(list, oj) != 0) {
            json_decref(list);
            return -1;
        }
    }
    j->out = json_pack("{s:s, s:o, s:i}", "pharmacy", j->who.org_id, "tasks", list, "withheld",
                       (int)withheld);
    if (j->out == NULL)
        return -1;
    if (j->nevs == 0)
        return answer_json(req, j);
    return job_start(req, j, audit_all_fn, j, answer_json);
}

/* The order of path parameter 0, for the pharmacist, decided for perm on its Task: 1 (go on:
 * *v permits and *ev is its audit entry), 0 (answered, or a refusal queued: another pharmacy's
 * order is a 404 on the citizen's trail), -1. */
static int pharmacist_order(struct http_request *req, struct job *j, unsigned perm,
                            const char *action, struct fhir_verdict *v, struct audit_event *ev)
{
    const char *id = req->params[0];
    struct err e = {0};
    int rc =
        fhir_id_valid(id) ? visits__rx_get(j->api->store, id, &j->o, req->arena, &e) : ERR_NOTFOUND;
    if (rc == ERR_NOTFOUND) {
        http_problem(req, "not-found", "no such prescription of this pharmacy");
        return 0;
    }
    if (rc != 0) {
        store_failed(req);
        return 0;
    }
    struct fhir_target t = {
        .rtype = "Task", .id = j->o.task_id, .subject = j->o.subject, .category = "medications"};
    if (fhir_access_decide(&j->who, &t, perm, VISITS_RX_PURPOSE, NULL, req->arena, v) != 0)
        return -1;
    int mine = strcmp(j->o.pharmacy, j->who.org_id) == 0;
    if (!mine) { /* another pharmacy's prescription: as if it did not exist, but on the trail */
        v->permit = 0;
        v->decided_by = "rule:default-deny";
        v->reason = "the prescription went to another pharmacy";
    }
    if (fhir_access_event(req, &j->who, &t, action, v, ev) != 0)
        return -1;
    if (v->permit)
        return 1;
    refuse(req, j, ev, !mine ? REFUSE_NOT_FOUND : v->scope_refused ? REFUSE_SCOPE : REFUSE_CONSENT);
    return 0;
}

static int get_task(struct http_request *req, void *ctx)
{
    struct job *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    j->api = ctx;
    int ok = begin_role(req, j->api, "pharmacist", &j->who);
    if (ok <= 0)
        return ok;
    j->evs = arena_zalloc(req->arena, 2 * sizeof *j->evs);
    if (j->evs == NULL)
        return -1;
    struct fhir_verdict v, mv;
    if ((ok = pharmacist_order(req, j, ID_PERM_R, "read", &v, &j->evs[0])) <= 0)
        return ok;
    j->nevs = 1;
    /* the prescription it is about, under the same consent */
    struct fhir_target mt = {.rtype = "MedicationRequest",
                             .id = j->o.request_id,
                             .subject = j->o.subject,
                             .category = "medications"};
    if (fhir_access_decide(&j->who, &mt, ID_PERM_R, VISITS_RX_PURPOSE, NULL, req->arena, &mv) !=
            0 ||
        fhir_access_event(req, &j->who, &mt, "read", &mv, &j->evs[1]) != 0)
        return -1;
    j->nevs = 2;
    struct fhir_record rec;
    struct err e = {0};
    json_t *mr = NULL;
    if (mv.permit &&
        fhir_resource_read(j->api->store, "MedicationRequest", j->o.request_id, &rec, req->arena,
                           &e) == 0 &&
        !rec.deleted)
        mr = jsonx_parse(rec.body, rec.len, &e);
    json_t *oj = NULL;
    if (visits__rx_json(&j->o, &oj) != 0) {
        json_decref(mr);
        return -1;
    }
    json_t *task = visits__rx_task_render(&j->o);
    if (task == NULL || json_object_set_new(oj, "task_resource", task) != 0 ||
        (mr != NULL && json_object_set_new(oj, "prescription_resource", mr) != 0)) {
        json_decref(oj);
        return -1;
    }
    j->out = oj;
    return job_start(req, j, audit_all_fn, j, answer_json);
}

static int answer_step(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0) {
        if (j->status == ERR_CONFLICT)
            http_problem(req, "conflict", "%s", j->err.msg);
        else
            store_failed(req);
        return 0;
    }
    json_t *oj = NULL;
    if (visits__rx_json(&j->step->o, &oj) != 0)
        return -1;
    http_respond_json(req, 200, oj);
    return 0;
}

static int post_step(struct http_request *req, struct visits_rx_api *api, enum visits_rx_status to)
{
    struct job *j = arena_zalloc(req->arena, sizeof *j);
    struct visits_rx_step *w = arena_zalloc(req->arena, sizeof *w);
    if (j == NULL || w == NULL)
        return -1;
    j->api = api;
    j->step = w;
    w->a = req->arena;
    int ok = begin_role(req, api, "pharmacist", &j->who);
    json_t *body = NULL;
    if (ok > 0)
        ok = read_body(req, &body);
    if (ok <= 0)
        return ok;
    struct err e = {0};
    int rc = 0;
    if (to == VISITS_RX_GUIDANCE_GIVEN)
        rc = visits_rx_parse_guidance(body, &w->text, &w->channel, &e);
    else if (to == VISITS_RX_DISPENSED)
        rc = visits_rx_parse_dispense(body, &w->fee, &w->note, &e);
    else
        rc = visits_rx_parse_delivery(body, &to, &e);
    if (rc != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    w->to = to;
    w->actor_id = j->who.subject_id;
    struct fhir_verdict v;
    if ((ok = pharmacist_order(req, j, ID_PERM_U, "update", &v, &w->ev)) <= 0)
        return ok;
    memcpy(w->task_id, j->o.task_id, sizeof w->task_id);
    if (to == VISITS_RX_DISPENSED || to == VISITS_RX_DELIVERED) {
        struct fhir_target dt = {.rtype = "MedicationDispense",
                                 .id = j->o.dispense_id[0] ? j->o.dispense_id : NULL,
                                 .subject = j->o.subject,
                                 .category = "medications"};
        struct fhir_verdict dv;
        unsigned perm = to == VISITS_RX_DISPENSED ? ID_PERM_C : ID_PERM_U;
        if (fhir_access_decide(&j->who, &dt, perm, VISITS_RX_PURPOSE, NULL, req->arena, &dv) != 0 ||
            fhir_access_event(req, &j->who, &dt, to == VISITS_RX_DISPENSED ? "create" : "update",
                              &dv, &w->ev_dispense) != 0)
            return -1;
        if (!dv.permit)
            return refuse(req, j, &w->ev_dispense,
                          dv.scope_refused ? REFUSE_SCOPE : REFUSE_CONSENT);
    }
    return job_start(req, j, visits__rx_step_fn, w, answer_step);
}

static int post_guidance(struct http_request *req, void *ctx)
{
    return post_step(req, ctx, VISITS_RX_GUIDANCE_GIVEN);
}

static int post_dispense(struct http_request *req, void *ctx)
{
    return post_step(req, ctx, VISITS_RX_DISPENSED);
}

static int post_delivery(struct http_request *req, void *ctx)
{
    return post_step(req, ctx, VISITS_RX_DISPATCHED); /* or delivered, as the body says */
}

int visits_rx_api_register(struct http_router *r, struct visits_rx_api *api, struct store *s,
                           const struct config *cfg)
{
    api->store = s;
    api->cfg = cfg;
    struct {
        const char *method, *pattern;
        http_handler fn;
    } routes[] = {
        {"GET", "/api/v1/pharmacies", get_pharmacies},
        {"GET", ME_PHARMACY, get_me_pharmacy},
        {"PUT", ME_PHARMACY, put_me_pharmacy},
        {"GET", "/api/v1/me/prescriptions", get_me_prescriptions},
        {"POST", "/api/v1/prescriptions", post_prescription},
        {"GET", RX_TASKS, get_queue},
        {"GET", RX_TASKS "/{id}", get_task},
        {"POST", RX_TASKS "/{id}/guidance", post_guidance},
        {"POST", RX_TASKS "/{id}/dispense", post_dispense},
        {"POST", RX_TASKS "/{id}/delivery", post_delivery},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].fn, api);
        if (rc != 0)
            return rc;
    }
    return 0;
}
