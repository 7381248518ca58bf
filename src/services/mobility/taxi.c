/* taxi.c - the taxi service: on "appointment.booked" (in person) for a citizen who opted in,
 * the access decision for the taxi company under the citizen's "mobility" consent, the pickup
 * time, and the order written as a FHIR Task with its row, inbox notice and event in one
 * transaction (idempotent by appointment); on "appointment.cancelled" the order is cancelled.
 * Also the weather the times assume, and the demo's purpose and opt-in. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/actor.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/consent.h"
#include "events/event.h"
#include "identity/client.h"
#include "identity/org.h"
#include "identity/principal.h"
#include "services/mobility/internal.h"
#include "services/mobility/mobility.h"

#define CLIENT_NAME  "cityos mobility service"
#define CLIENT_SCOPE "system/Task.cu"

static struct {
    char client_id[IDS_LEN + 1];
    const struct config *cfg;
} svc;

const char *mobility__client_id(void)
{
    return svc.client_id;
}

int mobility__service_actor(struct audit_event *ev, struct err *e)
{
    struct id_principal p;
    memset(&p, 0, sizeof p);
    p.kind = ID_PRINCIPAL_CLIENT;
    memcpy(p.client_id, svc.client_id, sizeof p.client_id);
    p.scope_text = CLIENT_SCOPE;
    memset(ev, 0, sizeof *ev);
    int rc = audit_event_from_principal(&p, ev, e);
    /* p is on this stack: point at the service's own copy */
    ev->actor_id = svc.client_id;
    ev->client_id = svc.client_id;
    ev->source_addr = "mobility";
    return rc;
}

/* ---- times in Japan for the notices ---- */

void mobility__jst_hm(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000) + 9 * 3600;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(out, cap, "?");
        return;
    }
    snprintf(out, cap, "%d/%d %02d:%02d", tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
}

/* ---- the weather ---- */

struct weather_row {
    int found, snow;
    const char *source;
    int64_t updated_ms;
    struct arena *a;
};

static int weather_row(const struct store_row *row, void *ctx)
{
    struct weather_row *w = ctx;
    w->found = 1;
    w->snow = store_row_int(row, 0) != 0;
    const char *src = store_row_text(row, 1, NULL);
    w->source = w->a != NULL && src != NULL ? arena_strdup(w->a, src) : NULL;
    w->updated_ms = store_row_int(row, 2);
    return 1;
}

int mobility__weather(struct store *s, const struct config *cfg, int *snow, const char **source,
                      int64_t *updated_ms, struct arena *a, struct err *e)
{
    struct weather_row w = {.a = a};
    int rc = store_query(s, "SELECT snow, source, updated_ms FROM mobility_weather WHERE id = 1",
                         NULL, 0, weather_row, &w, e);
    if (rc != 0)
        return rc;
    if (w.found) {
        *snow = w.snow;
        if (source != NULL)
            *source = w.source != NULL ? w.source : "admin";
        if (updated_ms != NULL)
            *updated_ms = w.updated_ms;
        return 0;
    }
    *snow = strcmp(cfg->weather, "snow") == 0;
    if (source != NULL)
        *source = "config";
    if (updated_ms != NULL)
        *updated_ms = 0;
    return 0;
}

int mobility__snowing(struct store *s, const struct config *cfg, struct err *e)
{
    int snow = 0;
    int rc = mobility__weather(s, cfg, &snow, NULL, NULL, NULL, e);
    return rc != 0 ? rc : snow;
}

/* ---- the opt-in ---- */

struct optin_row {
    int found, enabled;
    char company[IDS_LEN + 1], consent[IDS_LEN + 1];
    int64_t updated_ms;
};

static int optin_row(const struct store_row *row, void *ctx)
{
    struct optin_row *o = ctx;
    const char *c = store_row_text(row, 0, NULL), *k = store_row_text(row, 1, NULL);
    snprintf(o->company, sizeof o->company, "%s", c != NULL ? c : "");
    snprintf(o->consent, sizeof o->consent, "%s", k != NULL ? k : "");
    o->enabled = store_row_int(row, 2) != 0;
    o->updated_ms = store_row_int(row, 3);
    o->found = 1;
    return 1;
}

int mobility__optin_get(struct store *s, const char *subject, struct mobility_optin *out,
                        struct err *e)
{
    struct optin_row o = {0};
    struct store_value v[] = {STORE_TEXT_V(subject)};
    int rc = store_query(s,
                         "SELECT company_id, consent_id, enabled, updated_ms FROM mobility_optin "
                         "WHERE subject_id = ?",
                         v, 1, optin_row, &o, e);
    if (rc != 0)
        return rc;
    memset(out, 0, sizeof *out);
    if (!o.found)
        return 0;
    out->found = 1;
    out->enabled = o.enabled;
    memcpy(out->company, o.company, sizeof out->company);
    memcpy(out->consent, o.consent, sizeof out->consent);
    out->updated_ms = o.updated_ms;
    return 0;
}

int mobility__optin_put(struct store_tx *tx, const char *subject, const char *company,
                        const char *consent, int enabled, int64_t now_ms, struct err *e)
{
    struct store_value v[] = {STORE_TEXT_V(subject), STORE_TEXT_V(company), STORE_TEXT_V(consent),
                              STORE_INT_V(enabled), STORE_INT_V(now_ms)};
    int rc = store_tx_exec(tx,
                           "INSERT INTO mobility_optin (subject_id, company_id, consent_id, "
                           "enabled, updated_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (subject_id) "
                           "DO UPDATE SET company_id = excluded.company_id, consent_id = "
                           "excluded.consent_id, enabled = excluded.enabled, updated_ms = "
                           "excluded.updated_ms",
                           v, 5, e);
    return rc < 0 ? rc : 0;
}

/* ---- the decision for the taxi company ---- */

int mobility__decide_company(const char *company, const char *subject, unsigned action,
                             int64_t now_ms, struct consent_decision *d)
{
    const struct consent_index *ix = consent_index_global();
    if (ix == NULL)
        return ERR_UNAVAILABLE;
    struct consent_query q;
    memset(&q, 0, sizeof q);
    q.actor_kind = ID_PRINCIPAL_PRACTITIONER;
    q.org_id = company;
    q.role = "dispatcher";
    q.subject = subject;
    q.category = CONSENT_CAT_LOCATION;
    q.action = action;
    q.purpose = MOBILITY_PURPOSE;
    q.now_ms = now_ms;
    return consent_decide(ix, &q, d) == 0 ? 0 : ERR_INVALID;
}

/* ---- writing an order ---- */

struct order_write {
    struct mobility_order o;
    struct audit_event ev;
    struct arena *a;
    const char *text_ja, *text_en, *dedupe;
    int created; /* out */
};

static int order_create_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct order_write *w = ctx;
    struct mobility_order have;
    int rc = mobility__order_get_tx(tx, w->o.appointment, &have, w->a, e);
    if (rc == 0)
        return 0; /* ordered already: a redelivered event */
    if (rc != ERR_NOTFOUND)
        return rc;
    err_clear(e);
    const struct mobility_order *o = &w->o;
    struct store_value v[] = {STORE_TEXT_V(o->appointment),
                              STORE_TEXT_V(o->task_id),
                              STORE_TEXT_V(o->subject),
                              STORE_TEXT_V(o->company),
                              STORE_TEXT_V(o->facility),
                              STORE_INT_V(o->start_ms),
                              STORE_INT_V(o->pickup_ms),
                              STORE_INT_V(o->lead_min),
                              STORE_INT_V(o->distance_m),
                              STORE_INT_V(o->snow),
                              STORE_TEXT_V(o->pickup_place),
                              STORE_TEXT_V(o->facility_name),
                              STORE_TEXT_V(mobility_status_name(o->status)),
                              STORE_INT_V(o->created_ms),
                              STORE_INT_V(o->updated_ms)};
    rc = store_tx_exec(tx,
                       "INSERT INTO mobility_order (appointment_id, task_id, subject_id, "
                       "company_id, facility_id, start_ms, pickup_ms, lead_min, distance_m, snow, "
                       "pickup_place, facility_name, status, created_ms, updated_ms) VALUES (?, "
                       "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       v, sizeof v / sizeof v[0], e);
    if (rc < 0)
        return rc;
    if ((rc = mobility__task_write(tx, o, 1, &w->ev, w->a, e)) != 0)
        return rc;
    if ((rc = mobility__notify(tx, o, w->text_ja, w->text_en, w->dedupe, e)) != 0)
        return rc;
    char *pl = NULL;
    json_t *p = json_pack("{s:s, s:s, s:s, s:I, s:i}", "task", o->task_id, "appointment",
                          o->appointment, "company", o->company, "pickup_ms",
                          (json_int_t)o->pickup_ms, "lead_min", o->lead_min);
    if (p != NULL)
        pl = jsonx_dumps(p, NULL);
    json_decref(p);
    if (pl == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    char ref[MOBILITY_TASK_ID_MAX + 8];
    snprintf(ref, sizeof ref, "Task/%s", o->task_id);
    rc = event_append(tx, "taxi.ordered", o->subject, ref, pl, o->updated_ms, NULL, e);
    free(pl);
    if (rc == 0)
        w->created = 1;
    return rc;
}

int mobility__notify(struct store_tx *tx, const struct mobility_order *o, const char *ja,
                     const char *en, const char *dedupe, struct err *e)
{
    char ref[MOBILITY_TASK_ID_MAX + 8];
    snprintf(ref, sizeof ref, "Task/%s", o->task_id);
    struct consent_inbox_notice n = {.subject = o->subject,
                                     .source = "mobility",
                                     .ref = ref,
                                     .text_ja = ja,
                                     .text_en = en,
                                     .dedupe_key = dedupe};
    return consent_inbox_notify(tx, &n, o->updated_ms, NULL, e);
}

/* A refusal: the decision on the citizen's trail and a notice saying no taxi was ordered. */
struct refusal {
    struct audit_event ev;
    struct consent_inbox_notice n;
    int64_t now_ms;
};

static int refusal_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct refusal *r = ctx;
    int rc = audit_record_fn(tx, &r->ev, e);
    if (rc == 0)
        rc = consent_inbox_notify(tx, &r->n, r->now_ms, NULL, e);
    return rc;
}

/* ---- the handlers ---- */

struct booked {
    const char *appointment, *organization, *mode;
    int64_t start_ms;
};

static int read_booked(json_t *pl, struct booked *b)
{
    b->appointment = json_string_value(json_object_get(pl, "appointment"));
    b->organization = json_string_value(json_object_get(pl, "organization"));
    b->mode = json_string_value(json_object_get(pl, "mode"));
    json_t *st = json_object_get(pl, "start_ms");
    if (b->appointment == NULL || !fhir_id_valid(b->appointment) || b->organization == NULL ||
        !ids_valid(b->organization) || b->mode == NULL || !json_is_integer(st))
        return ERR_INVALID;
    b->start_ms = (int64_t)json_integer_value(st);
    return 0;
}

static int order_for(struct store *s, struct arena *a, const struct event *ev,
                     const struct booked *b, struct err *e)
{
    const char *subject = ev->subject;
    struct mobility_optin opt;
    int rc = mobility__optin_get(s, subject, &opt, e);
    if (rc != 0)
        return rc;
    if (!opt.found || !opt.enabled) {
        log_debug("mobility: %s: the citizen has not asked for taxis", b->appointment);
        return 0;
    }
    struct mobility_order have;
    if ((rc = mobility__order_get(s, "appointment_id", b->appointment, &have, a, e)) == 0)
        return 0; /* ordered already */
    if (rc != ERR_NOTFOUND)
        return rc;
    err_clear(e);
    int64_t now = clock_now_ms();
    struct consent_decision d;
    if ((rc = mobility__decide_company(opt.company, subject, CONSENT_READ, now, &d)) != 0)
        return err_set(e, rc, "mobility: the consent index is not ready");
    char task_id[MOBILITY_TASK_ID_MAX + 1];
    mobility__task_id(b->appointment, task_id);
    if (d.effect != CONSENT_PERMIT) {
        struct refusal r = {.now_ms = now};
        if ((rc = mobility__service_actor(&r.ev, e)) != 0)
            return rc;
        r.ev.subject = subject;
        r.ev.action = "create";
        r.ev.resource_type = "Task";
        r.ev.resource_id = task_id;
        r.ev.category = "location";
        r.ev.purpose = MOBILITY_PURPOSE;
        r.ev.decision = AUDIT_DENY;
        r.ev.decided_by = d.decided_by;
        r.ev.reason = d.reason;
        r.n = (struct consent_inbox_notice){
            .subject = subject,
            .source = "mobility",
            .ref = arena_printf(a, "Appointment/%s", b->appointment),
            .text_ja = "ご予約の通院タクシーは手配されませんでした。タクシー会社にお迎えの場所と"
                       "時刻を伝える同意(通院タクシー)が有効ではありません。ポータルの「同意の"
                       "管理」でご確認ください。",
            .text_en = "No taxi was ordered for your appointment: no valid consent lets the taxi "
                       "company have your pickup place and time (taxi to appointments). See "
                       "\"My consents\" in the portal.",
            .dedupe_key = arena_printf(a, "mobility.refused.%s", b->appointment)};
        if (r.n.ref == NULL || r.n.dedupe_key == NULL)
            return err_set(e, ERR_NOMEM, "out of memory");
        rc = store_write(s, refusal_fn, &r, e);
        if (rc == 0)
            log_info("mobility: %s: no taxi ordered (%s)", b->appointment,
                     d.decided_by != NULL ? d.decided_by : "?");
        return rc;
    }
    struct id_person p;
    struct id_org fac, company;
    if ((rc = id_person_get(s, subject, &p, a, e)) != 0 ||
        (rc = id_org_get(s, b->organization, &fac, a, e)) != 0 ||
        (rc = id_org_get(s, opt.company, &company, a, e)) != 0) {
        if (rc != ERR_NOTFOUND && rc != ERR_INVALID)
            return rc;
        log_warn("mobility: %s: %s", b->appointment, e->msg);
        return 0; /* the same data fails the same way on a retry */
    }
    int snow = mobility__snowing(s, svc.cfg, e);
    if (snow < 0)
        return snow;
    struct mobility_params mp;
    mobility_params_from_config(svc.cfg, snow, &mp);
    struct mobility_pickup pk;
    if (mobility_pickup_compute(&mp, &p.coords, &fac.coords, b->start_ms, &pk, e) != 0) {
        log_warn("mobility: %s: no pickup time: %s", b->appointment, e->msg);
        return 0; /* the same data fails the same way on a retry */
    }
    struct order_write w;
    memset(&w, 0, sizeof w);
    w.a = a;
    struct mobility_order *o = &w.o;
    snprintf(o->appointment, sizeof o->appointment, "%s", b->appointment);
    memcpy(o->task_id, task_id, sizeof o->task_id);
    memcpy(o->subject, subject, IDS_LEN + 1);
    memcpy(o->company, opt.company, sizeof o->company);
    memcpy(o->facility, b->organization, IDS_LEN + 1);
    o->start_ms = b->start_ms;
    o->pickup_ms = pk.pickup_ms;
    o->lead_min = pk.lead_min;
    o->distance_m = pk.distance_m;
    o->snow = snow;
    o->pickup_place = arena_printf(a, "%s (%.6f, %.6f)", p.district, (double)p.coords.lat_e6 / 1e6,
                                   (double)p.coords.lon_e6 / 1e6);
    o->facility_name = fac.name_ja;
    o->status = MOBILITY_REQUESTED;
    o->created_ms = o->updated_ms = now;
    if ((rc = mobility__service_actor(&w.ev, e)) != 0)
        return rc;
    w.ev.purpose = arena_printf(a, "%s@%lld", MOBILITY_PURPOSE, (long long)d.purpose_version);
    w.ev.decision = AUDIT_PERMIT;
    w.ev.decided_by = d.decided_by;
    char at[32], st[32];
    mobility__jst_hm(pk.pickup_ms, at, sizeof at);
    mobility__jst_hm(b->start_ms, st, sizeof st);
    w.text_ja = arena_printf(a,
                             "%sの%sのご予約に合わせて、%s(予約の%d分前)にご自宅へ%sのタクシーが"
                             "お迎えに行きます%s。",
                             st, fac.name_ja, at, pk.lead_min, company.name_ja,
                             snow ? "(雪のため早めの時刻です)" : "");
    w.text_en = arena_printf(a,
                             "A taxi of %s will pick you up at home at %s, %d minutes before your "
                             "appointment at %s at %s%s.",
                             company.name_en != NULL ? company.name_en : company.name_ja, at,
                             pk.lead_min, fac.name_en != NULL ? fac.name_en : fac.name_ja, st,
                             snow ? " (earlier because of the snow)" : "");
    w.dedupe = arena_printf(a, "mobility.ordered.%s", b->appointment);
    if (o->pickup_place == NULL || w.ev.purpose == NULL || w.text_ja == NULL || w.text_en == NULL ||
        w.dedupe == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    if ((rc = store_write(s, order_create_fn, &w, e)) != 0)
        return rc;
    if (w.created)
        LOG_AT(LOGL_INFO,
               json_pack("{s:s, s:s, s:I, s:i, s:I, s:b}", "task", o->task_id, "appointment",
                         o->appointment, "pickup_ms", (json_int_t)o->pickup_ms, "lead_min",
                         o->lead_min, "distance_m", (json_int_t)o->distance_m, "snow", snow),
               "mobility: taxi ordered");
    return 0;
}

static int on_booked(const struct event *ev, void *ctx, struct err *e)
{
    struct store *s = ctx;
    if (ev->subject == NULL || !ids_valid(ev->subject) || ev->payload == NULL)
        return 0;
    json_t *pl = jsonx_parse(ev->payload, strlen(ev->payload), e);
    if (pl == NULL)
        return e->code == ERR_NOMEM ? ERR_NOMEM : 0; /* malformed: never retried */
    struct booked b;
    int rc = 0;
    if (read_booked(pl, &b) != 0) {
        log_warn("mobility: an appointment.booked event (seq %" PRId64 ") is malformed", ev->seq);
    } else if (strcmp(b.mode, "in-person") == 0) {
        struct arena *a = arena_new(16 * 1024);
        rc = a != NULL ? order_for(s, a, ev, &b, e) : err_set(e, ERR_NOMEM, "out of memory");
        arena_free(a);
    }
    json_decref(pl);
    if (rc != 0)
        log_warn("mobility: appointment.booked seq %" PRId64 ": %s (retried)", ev->seq, e->msg);
    return rc;
}

/* A status change of an order inside a write (the dispatcher's update or the appointment's
 * cancellation): row, Task, notice and event. */
int mobility__order_update(struct store_tx *tx, struct mobility_order *o, enum mobility_status to,
                           const char *note, int64_t now_ms, const struct audit_event *ev,
                           struct arena *a, struct err *e)
{
    o->status = to;
    o->updated_ms = now_ms;
    if (note != NULL)
        o->note = note;
    struct store_value v[] = {STORE_TEXT_V(mobility_status_name(to)),
                              o->note != NULL ? STORE_TEXT_V(o->note) : STORE_NULL_V,
                              STORE_INT_V(now_ms), STORE_TEXT_V(o->appointment)};
    int rc = store_tx_exec(tx,
                           "UPDATE mobility_order SET status = ?, note = ?, updated_ms = ? "
                           "WHERE appointment_id = ?",
                           v, 4, e);
    if (rc < 0)
        return rc;
    if ((rc = mobility__task_write(tx, o, 0, ev, a, e)) != 0)
        return rc;
    static const char *const ja[MOBILITY_STATUS_COUNT] = {
        NULL,
        "タクシー会社が通院タクシーの配車を受け付けました。",
        "タクシーがご自宅に向かっています。",
        "タクシーにご乗車になりました。",
        "タクシーが目的地に到着しました。お大事になさってください。",
        "通院タクシーの手配が取り消されました。"};
    static const char *const en[MOBILITY_STATUS_COUNT] = {
        NULL,
        "The taxi company has accepted your taxi order.",
        "Your taxi is on its way to your home.",
        "You have been picked up.",
        "Your taxi has arrived at the facility. Take care.",
        "Your taxi order has been cancelled."};
    const char *dedupe =
        arena_printf(a, "mobility.status.%s.%s", o->appointment, mobility_status_name(to));
    if (dedupe == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    if ((rc = mobility__notify(tx, o, ja[to], en[to], dedupe, e)) != 0)
        return rc;
    json_t *p = json_pack("{s:s, s:s, s:s}", "task", o->task_id, "appointment", o->appointment,
                          "status", mobility_status_name(to));
    char *pl = p != NULL ? jsonx_dumps(p, NULL) : NULL;
    json_decref(p);
    if (pl == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    char ref[MOBILITY_TASK_ID_MAX + 8];
    snprintf(ref, sizeof ref, "Task/%s", o->task_id);
    rc = event_append(tx, "taxi.status", o->subject, ref, pl, now_ms, NULL, e);
    free(pl);
    return rc;
}

struct cancel_write {
    const char *appointment;
    struct audit_event ev;
    struct arena *a;
    int cancelled; /* out */
};

static int cancel_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct cancel_write *c = ctx;
    struct mobility_order o;
    int rc = mobility__order_get_tx(tx, c->appointment, &o, c->a, e);
    if (rc == ERR_NOTFOUND) {
        err_clear(e);
        return 0; /* no taxi for it */
    }
    if (rc != 0)
        return rc;
    if (!mobility_status_next_ok(o.status, MOBILITY_CANCELLED))
        return 0; /* already cancelled, or the ride is under way or done */
    c->ev.purpose = MOBILITY_PURPOSE;
    c->ev.decision = AUDIT_PERMIT;
    c->ev.decided_by = "rule:self";
    c->ev.reason = "the citizen's appointment was cancelled";
    rc = mobility__order_update(tx, &o, MOBILITY_CANCELLED, "appointment cancelled", clock_now_ms(),
                                &c->ev, c->a, e);
    if (rc == 0)
        c->cancelled = 1;
    return rc;
}

static int on_cancelled(const struct event *ev, void *ctx, struct err *e)
{
    struct store *s = ctx;
    if (ev->payload == NULL)
        return 0;
    json_t *pl = jsonx_parse(ev->payload, strlen(ev->payload), e);
    if (pl == NULL)
        return e->code == ERR_NOMEM ? ERR_NOMEM : 0;
    const char *appt = json_string_value(json_object_get(pl, "appointment"));
    int rc = 0;
    if (appt != NULL && fhir_id_valid(appt)) {
        struct cancel_write c = {.appointment = appt};
        c.a = arena_new(16 * 1024);
        if (c.a == NULL)
            rc = err_set(e, ERR_NOMEM, "out of memory");
        if (rc == 0)
            rc = mobility__service_actor(&c.ev, e);
        if (rc == 0)
            rc = store_write(s, cancel_fn, &c, e);
        if (rc == 0 && c.cancelled)
            log_info("mobility: the taxi for appointment %s is cancelled", appt);
        arena_free(c.a);
    }
    json_decref(pl);
    if (rc != 0)
        log_warn("mobility: appointment.cancelled seq %" PRId64 ": %s (retried)", ev->seq, e->msg);
    return rc;
}

/* ---- start-up ---- */

static int found_client(const struct store_row *row, void *ctx)
{
    const char *id = store_row_text(row, 0, NULL);
    if (id != NULL && ids_valid(id))
        memcpy(ctx, id, IDS_LEN + 1);
    return 1;
}

static int ensure_client(struct store *s, struct err *e)
{
    char id[IDS_LEN + 1] = "";
    struct store_value v[] = {STORE_TEXT_V(CLIENT_NAME)};
    int rc = store_query(s, "SELECT id FROM oauth_client WHERE name = ? ORDER BY created_ms, id", v,
                         1, found_client, id, e);
    if (rc != 0)
        return rc;
    if (id[0] == '\0') {
        char secret[ID_CLIENT_SECRET_LEN + 1];
        struct id_client_new in = {.name = CLIENT_NAME,
                                   .kind = ID_CLIENT_CONFIDENTIAL,
                                   .scopes = CLIENT_SCOPE,
                                   .grant_types = ID_GRANT_CLIENT_CREDENTIALS};
        rc = id_client_create(s, &in, id, secret, e);
        sodium_memzero(secret, sizeof secret); /* nobody signs in as the service */
        if (rc != 0)
            return rc;
    }
    memcpy(svc.client_id, id, sizeof id);
    return 0;
}

int mobility_register(struct store *s, const struct config *cfg, struct err *e)
{
    svc.cfg = cfg;
    int rc = ensure_client(s, e);
    if (rc == 0 &&
        event_handler_register("appointment.booked", MOBILITY_CONSUMER, on_booked, s) != 0)
        rc = err_set(e, ERR_INVALID, "mobility: cannot register the appointment.booked consumer");
    if (rc == 0 &&
        event_handler_register("appointment.cancelled", MOBILITY_CONSUMER, on_cancelled, s) != 0)
        rc =
            err_set(e, ERR_INVALID, "mobility: cannot register the appointment.cancelled consumer");
    if (rc != 0)
        return rc;
    LOG_AT(LOGL_INFO,
           json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:s}", "client_id", svc.client_id, "purpose",
                     MOBILITY_PURPOSE, "speed_kmh", (int)cfg->taxi_speed_kmh, "road_factor_pct",
                     (int)cfg->taxi_road_factor_pct, "snow_pct", (int)cfg->taxi_snow_pct,
                     "margin_min", (int)cfg->taxi_margin_min, "weather", cfg->weather),
           "mobility: service ready");
    return 0;
}
