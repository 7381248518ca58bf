/* visits_api.c - the visits' HTTP API (docs/api.md "Visits"): staff open slots, citizens (and
 * delegates with the right) search free slots and book, cancel and reschedule, the doctor lists
 * the organisation's day and runs the consultation. Every access to personal data is decided by
 * fhir_access_decide() and recorded on the patient's trail; every write is one transaction
 * through store_write_async() while the connection sleeps. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/actor.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "events/event.h"
#include "fhir/access.h"
#include "http/problem.h"
#include "identity/principal.h"
#include "identity/scope.h"
#include "services/visits/internal.h"

#define ME_APPTS  "/api/v1/me/appointments"
#define ORG_APPTS "/api/v1/org/appointments"

/* ---- answering after a write or an audit record ---- */

/* What a suspended request waits for. */
struct pending {
    struct http_request *req;
    struct visits_api *api;
    int status;
    struct err e;
    /* after an audit record: the answer prepared before */
    int http;
    json_t *answer;     /* a JSON body (owned; deferred to the arena) */
    const char *slug;   /* or a problem */
    const char *detail; /* in the arena */
    /* after a write */
    int (*then)(struct http_request *req, struct pending *p);
    void *w;
};

static void written(int status, const struct err *e, void *ctx)
{
    struct pending *p = ctx;
    p->status = status;
    if (e != NULL)
        p->e = *e;
    http_request_resume(p->req);
}

static int answer_prepared(struct http_request *req, void *ctx)
{
    struct pending *p = ctx;
    if (p->status != 0) {
        http_problem(req, "unavailable", "the access could not be recorded; try again");
        return 0;
    }
    if (p->answer != NULL) {
        json_t *a = p->answer;
        p->answer = NULL;
        http_respond_json(req, p->http, a);
    } else {
        http_problem(req, p->slug, "%s", p->detail);
    }
    return 0;
}

static void pending_free_answer(void *v)
{
    struct pending *p = v;
    json_decref(p->answer);
}

static struct pending *pending_new(struct http_request *req, struct visits_api *api)
{
    struct pending *p = arena_zalloc(req->arena, sizeof *p);
    if (p == NULL || arena_defer(req->arena, pending_free_answer, p) != 0)
        return NULL;
    p->req = req;
    p->api = api;
    return p;
}

/* Records evs[0..n) on their subjects' trails, then answers answer (stolen) with http, or the
 * problem slug/detail. Returns 0 or -1. */
static int answer_audited(struct http_request *req, struct visits_api *api,
                          const struct audit_event *evs, size_t n, int http, json_t *answer,
                          const char *slug, const char *detail)
{
    struct pending *p = pending_new(req, api);
    if (p == NULL) {
        json_decref(answer);
        return -1;
    }
    p->http = http;
    p->answer = answer;
    p->slug = slug;
    p->detail = detail != NULL ? arena_strdup(req->arena, detail) : "";
    if (n == 0) {
        p->status = 0;
        return answer_prepared(req, p);
    }
    struct err e = {0};
    http_request_suspend(req, answer_prepared, p);
    if (audit_record_many_async(api->store, evs, n, written, p, &e) != 0) {
        p->status = e.code != 0 ? e.code : ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

static int after_write(struct http_request *req, void *ctx)
{
    struct pending *p = ctx;
    return p->then(req, p);
}

/* Queues fn(w) and calls then(req, p) on a server thread once it is durable or failed. */
static int run_write(struct http_request *req, struct visits_api *api, store_write_fn fn, void *w,
                     int (*then)(struct http_request *, struct pending *))
{
    struct pending *p = pending_new(req, api);
    if (p == NULL)
        return -1;
    p->then = then;
    p->w = w;
    http_request_suspend(req, after_write, p);
    if (store_write_async(api->store, fn, w, written, p) != 0) {
        p->status = ERR_UNAVAILABLE;
        snprintf(p->e.msg, sizeof p->e.msg, "the store is busy");
        http_request_resume(req);
    }
    return 0;
}

/* The answer to a failed write: 404 / 409 / 422 for refusals, 503 for the store. */
static void write_failed(struct http_request *req, const struct pending *p, const char *refusal)
{
    const char *why = refusal != NULL ? refusal : p->e.msg;
    switch (p->status) {
    case ERR_NOTFOUND:
        http_problem(req, "not-found", "%s", why);
        break;
    case ERR_CONFLICT:
        http_problem(req, "conflict", "%s", why);
        break;
    case ERR_INVALID:
        http_problem(req, "validation-failed", "%s", why);
        break;
    default:
        http_problem(req, "unavailable", "the change could not be stored; try again");
    }
}

/* ---- the request's body and query ---- */

static json_t *read_body(struct http_request *req, int optional)
{
    if (optional && req->body_len == 0) {
        json_t *empty = json_object();
        if (empty == NULL || arena_defer(req->arena, jsonx_decref, empty) != 0) {
            json_decref(empty);
            http_problem(req, "unavailable", "the server is short of memory; try again");
            return NULL;
        }
        return empty;
    }
    if (!http_content_type_is(req, "application/json")) {
        http_problem(req, "unsupported-media-type", "send the body as application/json");
        return NULL;
    }
    struct err e = {0};
    json_t *b = jsonx_parse(req->body != NULL ? req->body : "", req->body_len, &e);
    if (b == NULL) {
        if (e.code == ERR_NOMEM)
            http_problem(req, "unavailable", "the server is short of memory; try again");
        else
            http_problem(req, "malformed-json", "%s", e.msg);
        return NULL;
    }
    if (arena_defer(req->arena, jsonx_decref, b) != 0) {
        json_decref(b);
        http_problem(req, "unavailable", "the server is short of memory; try again");
        return NULL;
    }
    return b;
}

static int query_only(struct http_request *req, const char *const *allowed)
{
    if (!http_query_only_or_problem(req, allowed))
        return 0;
    return 1;
}

/* ---- who acts ---- */

/* A citizen (for themselves) or a delegate (for the person they act for): *subject is whose
 * appointments. Returns 1, 0 (answer set) or -1. */
static int begin_citizen(struct http_request *req, struct visits_api *api, struct id_principal *p,
                         const char **subject)
{
    int ok = id_principal_require(req, api->store, p);
    if (ok <= 0)
        return ok;
    if (p->kind == ID_PRINCIPAL_PERSON)
        *subject = p->subject_id;
    else if (p->kind == ID_PRINCIPAL_DELEGATE)
        *subject = p->acting_for;
    else {
        http_problem(req, "forbidden", "only citizens and their delegates book appointments");
        return 0;
    }
    if (*subject == NULL || !ids_valid(*subject)) {
        http_problem(req, "forbidden", "this token names no citizen");
        return 0;
    }
    return 1;
}

/* A practitioner acting for an organisation. Returns 1, 0 (answer set) or -1. */
static int begin_staff(struct http_request *req, struct visits_api *api, struct id_principal *p)
{
    int ok = id_principal_require(req, api->store, p);
    if (ok <= 0)
        return ok;
    if (p->kind != ID_PRINCIPAL_PRACTITIONER || p->org_id == NULL) {
        http_problem(req, "forbidden", "only practitioners acting for an organisation do this");
        return 0;
    }
    return 1;
}

static void scope_refused(struct http_request *req, const char *need)
{
    http_set_header(req, "WWW-Authenticate",
                    arena_printf(req->arena,
                                 "Bearer realm=\"cityos\", error=\"insufficient_scope\", "
                                 "scope=\"%s\"",
                                 need));
    http_problem(req, "forbidden", "the token's scope does not cover this (%s)", need);
}

/* Decides p's access to rtype of subject (id may be NULL); on a refusal answers 403 (after
 * recording the refusal on the subject's trail) and returns 0. Returns 1 with *v and *ev (the
 * permit's audit event, action set) filled, or -1. */
static int decide(struct http_request *req, struct visits_api *api, const struct id_principal *p,
                  const char *rtype, const char *id, const char *subject, const char *category,
                  unsigned perm, const char *action, struct fhir_verdict *v, struct audit_event *ev)
{
    const char *purpose = NULL, *bg = NULL, *bad = NULL;
    if (!fhir_access_headers(req, &purpose, &bg, &bad)) {
        http_problem(req, "invalid-parameter", "header %s is malformed", bad);
        return 0;
    }
    struct fhir_target t = {rtype, id, subject, category};
    if (fhir_access_decide(p, &t, perm, purpose, NULL, req->arena, v) != 0)
        return -1;
    if (v->scope_refused) {
        const char *ctx = p->kind == ID_PRINCIPAL_PRACTITIONER ? "user" : "patient";
        const char *perms = perm == ID_PERM_C   ? "c"
                            : perm == ID_PERM_U ? "u"
                            : perm == ID_PERM_S ? "s"
                                                : "r";
        scope_refused(req, arena_printf(req->arena, "%s/%s.%s", ctx, rtype, perms));
        return 0;
    }
    if (fhir_access_event(req, p, &t, action, v, ev) != 0)
        return -1;
    if (!v->permit) {
        if (subject == NULL) {
            http_problem(req, "forbidden", "%s", v->reason != NULL ? v->reason : "not allowed");
            return 0;
        }
        int rc = answer_audited(req, api, ev, 1, 0, NULL, "forbidden",
                                arena_printf(req->arena, "refused by %s: %s",
                                             v->decided_by != NULL ? v->decided_by : "consent",
                                             v->reason != NULL ? v->reason : "no consent"));
        return rc < 0 ? -1 : 0;
    }
    return 1;
}

/* ---- the JSON of an appointment ---- */

static json_t *appt_json(struct visits_api *api, struct arena *a, const struct visits_appt_row *r,
                         int with_patient)
{
    char start[VISITS_INSTANT_LEN], end[VISITS_INSTANT_LEN];
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "id", r->id, "status", r->status,
        "mode", visits_mode_name(r->mode), "start", visits_instant_format(r->start_ms, start),
        "end", visits_instant_format(r->end_ms, end), "start_ms", (json_int_t)r->start_ms, "end_ms",
        (json_int_t)r->end_ms, "slot", r->slot_id, "organization", r->org_id, "practitioner",
        r->practitioner_id);
    int bad = o == NULL;
    if (!bad && with_patient)
        bad = json_object_set_new(o, "patient", json_string(r->subject_id)) != 0;
    if (!bad && r->qr_id[0] != '\0')
        bad = json_object_set_new(o, "questionnaire_response", json_string(r->qr_id)) != 0;
    if (!bad && r->mode == VISITS_ONLINE && r->room[0] != '\0' &&
        strcmp(r->status, "cancelled") != 0) {
        char *link = visits__meeting_link(a, api->meeting_url, r->room);
        bad = link == NULL || json_object_set_new(o, "meeting_url", json_string(link)) != 0;
    }
    if (!bad && r->encounter_id[0] != '\0')
        bad = json_object_set_new(o, "encounter", json_string(r->encounter_id)) != 0;
    if (!bad && r->report_id[0] != '\0')
        bad = json_object_set_new(o, "report", json_string(r->report_id)) != 0;
    if (!bad && r->invoice_id[0] != '\0')
        bad = json_object_set_new(o, "invoice", json_string(r->invoice_id)) != 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- staff: opening slots ---- */

static int answer_opened(struct http_request *req, struct pending *p)
{
    struct visits__open *o = p->w;
    if (p->status != 0) {
        write_failed(req, p, NULL);
        return 0;
    }
    json_t *slots = json_array();
    for (size_t i = 0; slots != NULL && i < o->n; i++) {
        if (o->ids[i][0] == '\0')
            continue;
        char start[VISITS_INSTANT_LEN];
        json_array_append_new(slots, json_pack("{s:s, s:s}", "id", o->ids[i], "start",
                                               visits_instant_format(o->starts[i], start)));
    }
    json_t *ans = json_pack("{s:s, s:s, s:s, s:i, s:i, s:o}", "schedule", o->schedule_id,
                            "organization", o->org, "practitioner", o->practitioner, "created",
                            o->created, "existing", o->existing, "slots", slots);
    if (ans == NULL)
        return -1;
    http_respond_json(req, o->created > 0 ? 201 : 200, ans);
    return 0;
}

static int post_slots(struct http_request *req, void *ctx)
{
    struct visits_api *api = ctx;
    struct id_principal *pa = arena_zalloc(req->arena, sizeof *pa);
    if (pa == NULL)
        return -1;
    int ok = begin_staff(req, api, pa);
    if (ok <= 0 || !query_only(req, NULL))
        return ok < 0 ? -1 : 0;
    struct fhir_verdict v;
    struct audit_event ev;
    ok = decide(req, api, pa, "Slot", NULL, NULL, NULL, ID_PERM_C, "create", &v, &ev);
    if (ok <= 0)
        return ok;
    json_t *body = read_body(req, 0);
    if (body == NULL)
        return 0;
    struct visits_open_req in;
    struct err e = {0};
    if (visits_parse_open(body, &in, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    int doc = visits__is_doctor(api->store, in.practitioner, pa->org_id, &e);
    if (doc < 0) {
        http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    if (!doc) {
        http_problem(req, "validation-failed",
                     "/practitioner: not a doctor of the organisation this token acts for");
        return 0;
    }
    struct visits__open *o = arena_zalloc(req->arena, sizeof *o);
    int64_t *starts = arena_alloc(req->arena, VISITS_SLOTS_MAX * sizeof *starts);
    if (o == NULL || starts == NULL)
        return -1;
    int n = visits_slot_starts(in.day_ms, in.from_min, in.to_min, in.step_min, starts,
                               VISITS_SLOTS_MAX);
    if (n <= 0) {
        http_problem(req, "validation-failed", "/minutes: no slot fits between /from and /to");
        return 0;
    }
    int64_t now = clock_now_ms();
    if (starts[n - 1] <= now) {
        http_problem(req, "validation-failed", "/date: every slot of this day has passed");
        return 0;
    }
    o->ids = arena_zalloc(req->arena, (size_t)n * sizeof *o->ids);
    if (o->ids == NULL)
        return -1;
    o->org = pa->org_id;
    o->practitioner = in.practitioner;
    o->specialty = in.specialty;
    o->modes = in.modes;
    o->step_min = in.step_min;
    o->starts = starts;
    o->n = (size_t)n;
    o->now_ms = now;
    return run_write(req, api, visits__open_fn, o, answer_opened);
}

/* ---- the free-slot search ---- */

static const char *query_get(void *ctx, const char *name)
{
    return http_query(ctx, name);
}

struct slot_page {
    json_t *items;
    int nomem;
    size_t n;
};

static int slot_item(const struct store_row *row, void *ctx)
{
    struct slot_page *pg = ctx;
    struct visits_slot_row s;
    visits__slot_from_row(row, &s);
    const char *org_name = store_row_text(row, 9, NULL);
    char start[VISITS_INSTANT_LEN], end[VISITS_INSTANT_LEN];
    json_t *modes = json_array();
    if (modes != NULL && (s.modes & VISITS_IN_PERSON))
        json_array_append_new(modes, json_string("in-person"));
    if (modes != NULL && (s.modes & VISITS_ONLINE))
        json_array_append_new(modes, json_string("online"));
    json_t *it = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I}", "id", s.id, "organization", s.org_id,
        "organization_name", org_name != NULL ? org_name : "", "practitioner", s.practitioner_id,
        "specialty", s.specialty, "modes", modes, "start", visits_instant_format(s.start_ms, start),
        "end", visits_instant_format(s.end_ms, end), "start_ms", (json_int_t)s.start_ms);
    if (it == NULL || json_array_append_new(pg->items, it) != 0) {
        pg->nomem = 1;
        return 1;
    }
    return ++pg->n >= VISITS_LIST_MAX;
}

static int get_slots(struct http_request *req, void *ctx)
{
    static const char *const allowed[] = {"org",  "practitioner", "specialty", "mode",
                                          "from", "to",           NULL};
    struct visits_api *api = ctx;
    struct id_principal *pa = arena_zalloc(req->arena, sizeof *pa);
    if (pa == NULL)
        return -1;
    int ok = id_principal_require(req, api->store, pa);
    if (ok <= 0 || !query_only(req, allowed))
        return ok < 0 ? -1 : 0;
    struct fhir_verdict v;
    struct audit_event ev;
    ok = decide(req, api, pa, "Slot", NULL, NULL, NULL, ID_PERM_S, "search", &v, &ev);
    if (ok <= 0)
        return ok;
    struct visits_search_req q;
    struct err e = {0};
    if (visits_parse_search(query_get, req, clock_now_ms(), &q, &e) != 0) {
        http_problem(req, "invalid-parameter", "%s", e.msg);
        return 0;
    }
    char sql[700];
    struct store_value pv[8];
    size_t np = 0;
    int len = snprintf(sql, sizeof sql,
                       "SELECT s.id, s.schedule_id, s.org_id, s.practitioner_id, s.specialty, "
                       "s.modes, s.start_ms, s.end_ms, s.status, o.name_ja FROM visits_slot s "
                       "LEFT JOIN organisation o ON o.id = s.org_id WHERE s.status = 'free' AND "
                       "s.start_ms >= ? AND s.start_ms < ?");
    pv[np++] = STORE_INT_V(q.from_ms);
    pv[np++] = STORE_INT_V(q.to_ms);
    if (q.org != NULL) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND s.org_id = ?");
        pv[np++] = STORE_TEXT_V(q.org);
    }
    if (q.practitioner != NULL) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND s.practitioner_id = ?");
        pv[np++] = STORE_TEXT_V(q.practitioner);
    }
    if (q.specialty != NULL) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND s.specialty = ?");
        pv[np++] = STORE_TEXT_V(q.specialty);
    }
    if (q.mode != 0) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND s.modes IN (?, 'both')");
        pv[np++] = STORE_TEXT_V(visits_mode_name(q.mode));
    }
    snprintf(sql + len, sizeof sql - (size_t)len, " ORDER BY s.start_ms, s.id LIMIT %d",
             VISITS_LIST_MAX);
    struct slot_page pg = {json_array(), 0, 0};
    if (pg.items == NULL)
        return -1;
    int rc = store_query(api->store, sql, pv, np, slot_item, &pg, &e);
    if (rc != 0 || pg.nomem) {
        json_decref(pg.items);
        if (pg.nomem)
            return -1;
        http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    http_respond_json(req, 200, json_pack("{s:o}", "items", pg.items));
    return 0;
}

/* ---- citizens: booking ---- */

struct book_ctx {
    struct visits__book b;
    struct visits_appt_row old;
    struct visits_slot_row slot;
};

static int answer_booked(struct http_request *req, struct pending *p)
{
    struct book_ctx *c = p->w;
    if (p->status != 0) {
        write_failed(req, p, c->b.refusal);
        return 0;
    }
    if (!c->b.do_book) { /* a cancellation */
        snprintf(c->old.status, sizeof c->old.status, "cancelled");
        http_respond_json(req, 200, appt_json(p->api, req->arena, &c->old, 0));
        return 0;
    }
    event_worker_notify();
    json_t *o = appt_json(p->api, req->arena, &c->b.appt, 0);
    if (o == NULL)
        return -1;
    if (c->b.old != NULL)
        json_object_set_new(o, "replaces", json_string(c->old.id));
    http_set_header(req, "Location", arena_printf(req->arena, ME_APPTS "/%s", c->b.appt.id));
    http_respond_json(req, 201, o);
    return 0;
}

/* The slot of a booking request, checked against the mode asked for: 1 (go on), 0 (answer
 * set), -1. */
static int booking_slot(struct http_request *req, struct visits_api *api,
                        const struct visits_book_req *in, struct visits_slot_row *slot, int *mode)
{
    struct err e = {0};
    int rc = visits__slot_get(api->store, NULL, in->slot, slot, &e);
    if (rc < 0) {
        http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    if (rc == 0) {
        http_problem(req, "not-found", "no such slot");
        return 0;
    }
    *mode = in->mode;
    if (*mode == 0 && slot->modes == VISITS_BOTH) {
        http_problem(req, "validation-failed",
                     "/mode: this slot is offered in person and online: say which");
        return 0;
    }
    if (*mode == 0)
        *mode = slot->modes;
    if ((slot->modes & *mode) == 0) {
        http_problem(req, "validation-failed", "/mode: this slot is not offered %s",
                     *mode == VISITS_ONLINE ? "online" : "in person");
        return 0;
    }
    if (slot->busy) {
        http_problem(req, "conflict", "the slot is already booked");
        return 0;
    }
    if (slot->start_ms <= clock_now_ms()) {
        http_problem(req, "conflict", "the slot has already started");
        return 0;
    }
    return 1;
}

/* The new appointment of a booking: ids, the room of an online one. */
static void new_appt(struct book_ctx *c, const char *subject, const struct id_principal *p,
                     const struct visits_slot_row *slot, int mode, const char *qr, int64_t now)
{
    struct visits_appt_row *a = &c->b.appt;
    memset(a, 0, sizeof *a);
    ids_new_ordered(a->id, now);
    snprintf(a->subject_id, sizeof a->subject_id, "%s", subject);
    memcpy(a->slot_id, slot->id, sizeof a->slot_id);
    memcpy(a->org_id, slot->org_id, sizeof a->org_id);
    memcpy(a->practitioner_id, slot->practitioner_id, sizeof a->practitioner_id);
    a->mode = mode;
    a->start_ms = slot->start_ms;
    a->end_ms = slot->end_ms;
    if (qr != NULL)
        snprintf(a->qr_id, sizeof a->qr_id, "%s", qr);
    if (mode == VISITS_ONLINE) {
        unsigned char rnd[VISITS_ROOM_LEN / 2];
        randombytes_buf(rnd, sizeof rnd);
        sodium_bin2hex(a->room, sizeof a->room, rnd, sizeof rnd);
    }
    snprintf(a->booked_by, sizeof a->booked_by, "%s", p->subject_id);
    c->b.do_book = 1;
    c->b.now_ms = now;
}

/* Is qr a QuestionnaireResponse of subject? 1, 0 (answer set) */
static int check_qr(struct http_request *req, struct visits_api *api, const char *qr,
                    const char *subject)
{
    struct fhir_record r;
    struct err e = {0};
    int rc = fhir_resource_read(api->store, "QuestionnaireResponse", qr, &r, req->arena, &e);
    if (rc != 0 && rc != ERR_NOTFOUND) {
        http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    if (rc == ERR_NOTFOUND || r.deleted || r.subject == NULL || strcmp(r.subject, subject) != 0) {
        http_problem(req, "validation-failed",
                     "/questionnaire_response: no QuestionnaireResponse of this patient");
        return 0;
    }
    return 1;
}

static int post_appointment(struct http_request *req, void *ctx)
{
    struct visits_api *api = ctx;
    struct id_principal *pa = arena_zalloc(req->arena, sizeof *pa);
    if (pa == NULL)
        return -1;
    const char *subject = NULL;
    int ok = begin_citizen(req, api, pa, &subject);
    if (ok <= 0 || !query_only(req, NULL))
        return ok < 0 ? -1 : 0;
    json_t *body = read_body(req, 0);
    if (body == NULL)
        return 0;
    struct visits_book_req in;
    struct err e = {0};
    if (visits_parse_book(body, 0, &in, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    struct fhir_verdict v;
    struct book_ctx *c = arena_zalloc(req->arena, sizeof *c);
    if (c == NULL)
        return -1;
    ok = decide(req, api, pa, "Appointment", NULL, subject, "appointments", ID_PERM_C, "create", &v,
                &c->b.ev);
    if (ok <= 0)
        return ok;
    int mode = 0;
    if ((ok = booking_slot(req, api, &in, &c->slot, &mode)) <= 0)
        return ok;
    if (in.qr != NULL && !check_qr(req, api, in.qr, subject))
        return 0;
    new_appt(c, subject, pa, &c->slot, mode, in.qr, clock_now_ms());
    c->b.comment = in.comment;
    return run_write(req, api, visits__book_fn, &c->b, answer_booked);
}

/* The citizen's appointment id (params[0]) of subject, or 404 (someone else's is recorded on
 * its owner's trail as a refusal). Returns 1, 0 or -1. */
static int own_appt(struct http_request *req, struct visits_api *api, const struct id_principal *p,
                    const char *subject, const char *action, struct visits_appt_row *a)
{
    const char *id = req->params[0];
    struct err e = {0};
    int rc = ids_valid(id) ? visits__appt_get(api->store, NULL, id, a, &e) : 0;
    if (rc < 0) {
        http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    if (rc == 0) {
        http_problem(req, "not-found", "no such appointment of yours");
        return 0;
    }
    if (strcmp(a->subject_id, subject) != 0) {
        struct fhir_target t = {"Appointment", a->id, a->subject_id, "appointments"};
        struct fhir_verdict v = {0};
        v.decided_by = "rule:visits-own-appointments";
        v.reason = "not an appointment of the person this token acts for";
        struct audit_event ev;
        if (fhir_access_event(req, p, &t, action, &v, &ev) != 0)
            return -1;
        ev.decision = AUDIT_DENY;
        int r =
            answer_audited(req, api, &ev, 1, 0, NULL, "not-found", "no such appointment of yours");
        return r < 0 ? -1 : 0;
    }
    return 1;
}

static int change_appointment(struct http_request *req, struct visits_api *api, int reschedule)
{
    struct id_principal *pa = arena_zalloc(req->arena, sizeof *pa);
    if (pa == NULL)
        return -1;
    const char *subject = NULL;
    int ok = begin_citizen(req, api, pa, &subject);
    if (ok <= 0 || !query_only(req, NULL))
        return ok < 0 ? -1 : 0;
    json_t *body = read_body(req, !reschedule);
    if (body == NULL)
        return 0;
    struct visits_book_req in;
    const char *reason = NULL;
    struct err e = {0};
    int rc =
        reschedule ? visits_parse_book(body, 1, &in, &e) : visits_parse_cancel(body, &reason, &e);
    if (rc != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    struct book_ctx *c = arena_zalloc(req->arena, sizeof *c);
    if (c == NULL)
        return -1;
    if ((ok = own_appt(req, api, pa, subject, "update", &c->old)) <= 0)
        return ok;
    struct fhir_verdict v;
    ok = decide(req, api, pa, "Appointment", c->old.id, subject, "appointments", ID_PERM_U,
                "update", &v, &c->b.ev);
    if (ok <= 0)
        return ok;
    if (strcmp(c->old.status, "booked") != 0) {
        http_problem(req, "conflict", "the appointment is %s: only a booked one can change",
                     c->old.status);
        return 0;
    }
    c->b.old = &c->old;
    c->b.cancel_reason = reason;
    c->b.now_ms = clock_now_ms();
    if (reschedule) {
        int mode = 0;
        if (in.mode == 0 && c->old.mode != 0)
            in.mode = c->old.mode; /* the same mode as before unless told */
        if ((ok = booking_slot(req, api, &in, &c->slot, &mode)) <= 0)
            return ok;
        if (strcmp(c->slot.id, c->old.slot_id) == 0) {
            http_problem(req, "conflict", "the appointment already has this slot");
            return 0;
        }
        new_appt(c, subject, pa, &c->slot, mode, c->old.qr_id[0] ? c->old.qr_id : NULL,
                 c->b.now_ms);
    }
    return run_write(req, api, visits__book_fn, &c->b, answer_booked);
}

static int post_cancel(struct http_request *req, void *ctx)
{
    return change_appointment(req, ctx, 0);
}

static int post_reschedule(struct http_request *req, void *ctx)
{
    return change_appointment(req, ctx, 1);
}

/* ---- citizens: reading their appointments ---- */

struct appt_list {
    struct visits_api *api;
    struct arena *a;
    json_t *items;
    struct visits_appt_row *rows;
    size_t n, cap;
    int nomem;
};

static int appt_item(const struct store_row *row, void *ctx)
{
    struct appt_list *l = ctx;
    struct visits_appt_row *arr = arena_array_reserve(l->a, l->rows, l->n, &l->cap, sizeof *arr);
    if (arr == NULL) {
        l->nomem = 1;
        return 1;
    }
    l->rows = arr;
    visits__appt_from_row(row, &l->rows[l->n++]);
    return l->n >= VISITS_LIST_MAX;
}

static int get_appointment(struct http_request *req, void *ctx)
{
    struct visits_api *api = ctx;
    struct id_principal *pa = arena_zalloc(req->arena, sizeof *pa);
    if (pa == NULL)
        return -1;
    const char *subject = NULL;
    int ok = begin_citizen(req, api, pa, &subject);
    if (ok <= 0 || !query_only(req, NULL))
        return ok < 0 ? -1 : 0;
    struct visits_appt_row a;
    if ((ok = own_appt(req, api, pa, subject, "read", &a)) <= 0)
        return ok;
    struct fhir_verdict v;
    struct audit_event ev;
    ok = decide(req, api, pa, "Appointment", a.id, subject, "appointments", ID_PERM_R, "read", &v,
                &ev);
    if (ok <= 0)
        return ok;
    json_t *o = appt_json(api, req->arena, &a, 0);
    if (o == NULL)
        return -1;
    return answer_audited(req, api, &ev, 1, 200, o, NULL, NULL);
}

static int get_appointments(struct http_request *req, void *ctx)
{
    struct visits_api *api = ctx;
    struct id_principal *pa = arena_zalloc(req->arena, sizeof *pa);
    if (pa == NULL)
        return -1;
    const char *subject = NULL;
    int ok = begin_citizen(req, api, pa, &subject);
    if (ok <= 0 || !query_only(req, NULL))
        return ok < 0 ? -1 : 0;
    struct fhir_verdict v;
    struct audit_event ev;
    ok = decide(req, api, pa, "Appointment", NULL, subject, "appointments", ID_PERM_S, "search", &v,
                &ev);
    if (ok <= 0)
        return ok;
    struct appt_list l = {api, req->arena, NULL, NULL, 0, 0, 0};
    struct store_value pv[] = {STORE_TEXT_V(subject)};
    struct err e = {0};
    int rc = store_query(api->store,
                         "SELECT " VISITS_APPT_COLS " FROM visits_appointment WHERE subject_id = "
                         "? ORDER BY start_ms DESC, id LIMIT 200",
                         pv, 1, appt_item, &l, &e);
    if (l.nomem)
        return -1;
    if (rc != 0) {
        http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    json_t *items = json_array();
    for (size_t i = 0; items != NULL && i < l.n; i++)
        if (json_array_append_new(items, appt_json(api, req->arena, &l.rows[i], 0)) != 0) {
            json_decref(items);
            return -1;
        }
    json_t *o = json_pack("{s:o}", "items", items);
    if (o == NULL)
        return -1;
    return answer_audited(req, api, &ev, 1, 200, o, NULL, NULL);
}

/* ---- the doctor's side ---- */

static int get_org_appointments(struct http_request *req, void *ctx)
{
    static const char *const allowed[] = {"date", "mode", "practitioner", NULL};
    struct visits_api *api = ctx;
    struct id_principal *pa = arena_zalloc(req->arena, sizeof *pa);
    if (pa == NULL)
        return -1;
    int ok = begin_staff(req, api, pa);
    if (ok <= 0 || !query_only(req, allowed))
        return ok < 0 ? -1 : 0;
    const char *date = http_query(req, "date"), *mode_s = http_query(req, "mode"),
               *prac = http_query(req, "practitioner");
    int64_t day = visits_day_start(clock_now_ms());
    if (date != NULL && visits_date_parse(date, &day) != 0) {
        http_problem(req, "invalid-parameter", "date: a calendar day YYYY-MM-DD");
        return 0;
    }
    int mode = mode_s != NULL ? visits_mode_parse(mode_s) : 0;
    if (mode_s != NULL && mode != VISITS_IN_PERSON && mode != VISITS_ONLINE) {
        http_problem(req, "invalid-parameter", "mode: \"in-person\" or \"online\"");
        return 0;
    }
    if (prac != NULL && !ids_valid(prac)) {
        http_problem(req, "invalid-parameter", "practitioner: not a well-formed id");
        return 0;
    }
    struct store_value pv[5];
    size_t np = 0;
    char sql[600];
    int len = snprintf(sql, sizeof sql,
                       "SELECT " VISITS_APPT_COLS " FROM visits_appointment WHERE org_id = ? AND "
                       "start_ms >= ? AND start_ms < ? AND status <> 'cancelled'");
    pv[np++] = STORE_TEXT_V(pa->org_id);
    pv[np++] = STORE_INT_V(day);
    pv[np++] = STORE_INT_V(day + VISITS_DAY_MS);
    if (mode != 0) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND mode = ?");
        pv[np++] = STORE_TEXT_V(visits_mode_name(mode));
    }
    if (prac != NULL) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND practitioner_id = ?");
        pv[np++] = STORE_TEXT_V(prac);
    }
    snprintf(sql + len, sizeof sql - (size_t)len, " ORDER BY start_ms, id LIMIT %d",
             VISITS_LIST_MAX);
    struct appt_list l = {api, req->arena, NULL, NULL, 0, 0, 0};
    struct err e = {0};
    int rc = store_query(api->store, sql, pv, np, appt_item, &l, &e);
    if (l.nomem)
        return -1;
    if (rc != 0) {
        http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    /* each appointment booked with this organisation is listed to it (the citizen addressed the
     * booking to it) and the listing goes on each patient's trail; the record itself stays
     * behind the patient's consent (/fhir) */
    struct audit_event *evs = l.n > 0 ? arena_zalloc(req->arena, l.n * sizeof *evs) : NULL;
    json_t *items = json_array();
    if ((l.n > 0 && evs == NULL) || items == NULL) {
        json_decref(items);
        return -1;
    }
    for (size_t i = 0; i < l.n; i++) {
        struct fhir_target t = {"Appointment", l.rows[i].id, l.rows[i].subject_id, "appointments"};
        struct fhir_verdict v = {.permit = 1,
                                 .decided_by = "rule:visits-booked-with",
                                 .reason = "the patient booked this appointment with the "
                                           "organisation"};
        if (fhir_access_event(req, pa, &t, "search", &v, &evs[i]) != 0 ||
            json_array_append_new(items, appt_json(api, req->arena, &l.rows[i], 1)) != 0) {
            json_decref(items);
            return -1;
        }
    }
    char d[VISITS_DATE_LEN];
    json_t *o = json_pack("{s:s, s:o}", "date", visits_date_format(day, d), "items", items);
    if (o == NULL)
        return -1;
    return answer_audited(req, api, evs, l.n, 200, o, NULL, NULL);
}

/* The organisation's appointment params[0] for a practitioner, or 404 (another organisation's is
 * not disclosed). Returns 1, 0 or -1. */
static int org_appt(struct http_request *req, struct visits_api *api, const struct id_principal *p,
                    struct visits_appt_row *a)
{
    const char *id = req->params[0];
    struct err e = {0};
    int rc = ids_valid(id) ? visits__appt_get(api->store, NULL, id, a, &e) : 0;
    if (rc < 0) {
        http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    if (rc == 0 || strcmp(a->org_id, p->org_id) != 0) {
        http_problem(req, "not-found", "no such appointment at this organisation");
        return 0;
    }
    return 1;
}

struct consult_ctx {
    struct visits__consult c;
    struct visits_invoice_write inv;
};

static void consult_release(void *v)
{
    struct consult_ctx *c = v;
    if (c->c.invoice != NULL)
        visits_invoice_release(&c->inv);
}

static int answer_consult(struct http_request *req, struct pending *p)
{
    struct consult_ctx *cc = p->w;
    struct visits__consult *c = &cc->c;
    if (p->status != 0) {
        write_failed(req, p, c->refusal);
        return 0;
    }
    event_worker_notify();
    struct visits_appt_row *a = &c->appt;
    if (c->start) {
        snprintf(a->status, sizeof a->status, "arrived");
        memcpy(a->encounter_id, c->encounter_id, sizeof a->encounter_id);
    } else {
        snprintf(a->status, sizeof a->status, "fulfilled");
        if (c->notes != NULL)
            memcpy(a->report_id, c->report_id, sizeof a->report_id);
        if (c->invoice != NULL)
            memcpy(a->invoice_id, cc->inv.id, sizeof a->invoice_id);
    }
    json_t *o = appt_json(p->api, req->arena, a, 1);
    if (o == NULL)
        return -1;
    http_respond_json(req, 200, o);
    return 0;
}

static int consult_step(struct http_request *req, struct visits_api *api, int start)
{
    struct id_principal *pa = arena_zalloc(req->arena, sizeof *pa);
    if (pa == NULL)
        return -1;
    int ok = begin_staff(req, api, pa);
    if (ok <= 0 || !query_only(req, NULL))
        return ok < 0 ? -1 : 0;
    struct visits_finish_req fin = {0};
    if (!start) {
        json_t *body = read_body(req, 0);
        if (body == NULL)
            return 0;
        struct err e = {0};
        if (visits_parse_finish(body, &fin, &e) != 0) {
            http_problem(req, "validation-failed", "%s", e.msg);
            return 0;
        }
    }
    struct consult_ctx *cc = arena_zalloc(req->arena, sizeof *cc);
    if (cc == NULL || arena_defer(req->arena, consult_release, cc) != 0)
        return -1;
    struct visits__consult *c = &cc->c;
    if ((ok = org_appt(req, api, pa, &c->appt)) <= 0)
        return ok;
    struct fhir_verdict v;
    ok = decide(req, api, pa, start ? "Encounter" : "DiagnosticReport", NULL, c->appt.subject_id,
                "clinical", start ? ID_PERM_C : (fin.notes != NULL ? ID_PERM_C : ID_PERM_U),
                start ? "create" : "update", &v, &c->ev);
    if (ok <= 0)
        return ok;
    const char *need = start ? "booked" : "arrived";
    if (strcmp(c->appt.status, need) != 0) {
        http_problem(req, "conflict", "the appointment is %s: this step needs it %s",
                     c->appt.status, need);
        return 0;
    }
    c->start = start;
    c->now_ms = clock_now_ms();
    if (start) {
        ids_new_ordered(c->encounter_id, c->now_ms);
    } else {
        c->notes = fin.notes;
        ids_new_ordered(c->report_id, c->now_ms);
        if (fin.fee > 0) {
            char *desc = arena_printf(
                req->arena, "%s %s", c->appt.mode == VISITS_ONLINE ? "オンライン診療" : "外来診療",
                c->appt.mode == VISITS_ONLINE ? "(online consultation)" : "(consultation)");
            char *key = arena_printf(req->arena, "visits.consult.%s", c->appt.id);
            if (desc == NULL || key == NULL)
                return -1;
            struct visits_invoice_new in = {.subject = c->appt.subject_id,
                                            .issuer_org = c->appt.org_id,
                                            .amount = fin.fee,
                                            .purpose = "clinic-fees",
                                            .description = desc,
                                            .key = key,
                                            .now_ms = c->now_ms,
                                            .actor = pa,
                                            .request_id = req->request_id};
            struct err e = {0};
            if (visits_invoice_prepare(&cc->inv, &in, &e) != 0) {
                http_problem(req, e.code == ERR_INVALID ? "validation-failed" : "unavailable", "%s",
                             e.msg);
                return 0;
            }
            c->invoice = &cc->inv;
        }
    }
    return run_write(req, api, visits__consult_fn, c, answer_consult);
}

static int post_start(struct http_request *req, void *ctx)
{
    return consult_step(req, ctx, 1);
}

static int post_finish(struct http_request *req, void *ctx)
{
    return consult_step(req, ctx, 0);
}

int visits_api_register(struct http_router *r, struct visits_api *api, struct store *s,
                        const struct config *cfg)
{
    api->store = s;
    snprintf(api->meeting_url, sizeof api->meeting_url, "%s", cfg->meeting_url);
    static const struct {
        const char *method, *pattern;
        http_handler fn;
    } routes[] = {
        {"POST", "/api/v1/org/slots", post_slots},
        {"GET", "/api/v1/slots", get_slots},
        {"POST", ME_APPTS, post_appointment},
        {"GET", ME_APPTS, get_appointments},
        {"GET", ME_APPTS "/{id}", get_appointment},
        {"POST", ME_APPTS "/{id}/cancel", post_cancel},
        {"POST", ME_APPTS "/{id}/reschedule", post_reschedule},
        {"GET", ORG_APPTS, get_org_appointments},
        {"POST", ORG_APPTS "/{id}/start", post_start},
        {"POST", ORG_APPTS "/{id}/finish", post_finish},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].fn, api);
        if (rc != 0)
            return rc;
    }
    return 0;
}
