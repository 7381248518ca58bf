/* service.c - the home doctor service (service.h): on each stored blood-pressure reading, the
 * access decision as the service's client under the citizen's "homedoctor" consent, the read
 * of their last 35 days of home readings, the rules, and the findings written as FHIR
 * RiskAssessment and Communication with deterministic identifiers, each write audited. */
#include <inttypes.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/actor.h"
#include "base/clock.h"
#include "base/histogram.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/consent_api.h"
#include "consent/index.h"
#include "events/event.h"
#include "fhir/access.h"
#include "fhir/defs.h"
#include "fhir/resource.h"
#include "fhir/search_api.h"
#include "fhir/search_sql.h"
#include "fhir/validate.h"
#include "http/metrics.h"
#include "identity/client.h"
#include "identity/principal.h"
#include "identity/scope.h"
#include "services/homedoctor/adherence.h"
#include "services/homedoctor/service_internal.h"

/* What the service's client may do (SMART v2 system scopes): search blood pressures and
 * check-ups, read a Patient (age and sex for the Hisayama score), search a pill box's dose
 * events (adherence_service.c), create and search its findings. Consent still decides per
 * citizen. */
#define SERVICE_SCOPE                                                                              \
    "system/Observation.s system/Patient.r system/MedicationAdministration.s "                     \
    "system/RiskAssessment.cs system/Communication.cs"

static struct {
    char client_id[IDS_LEN + 1];
    struct id_scope_set scope;
} svc;

/* ---- counters for /metrics ---- */

enum ev_result { EV_EVALUATED, EV_REFUSED, EV_IGNORED, EV_FAILED, EV_COUNT };
static const char *const ev_names[EV_COUNT] = {"evaluated", "refused", "ignored", "failed"};
static _Atomic uint64_t ev_counts[EV_COUNT];
static _Atomic uint64_t written_ra, written_comm;
static struct histogram lag; /* event committed -> its evaluation done, seconds */

static void metrics_render(FILE *out, void *ctx)
{
    (void)ctx;
    fprintf(out, "# HELP cityos_homedoctor_events_total Readings handed to the home doctor, by "
                 "what became of them.\n# TYPE cityos_homedoctor_events_total counter\n");
    for (int i = 0; i < EV_COUNT; i++)
        fprintf(out, "cityos_homedoctor_events_total{result=\"%s\"} %" PRIu64 "\n", ev_names[i],
                atomic_load(&ev_counts[i]));
    fprintf(out,
            "# HELP cityos_homedoctor_findings_total Findings the home doctor wrote (new "
            "resources).\n# TYPE cityos_homedoctor_findings_total counter\n"
            "cityos_homedoctor_findings_total{resource=\"RiskAssessment\"} %" PRIu64 "\n"
            "cityos_homedoctor_findings_total{resource=\"Communication\"} %" PRIu64 "\n",
            atomic_load(&written_ra), atomic_load(&written_comm));
    fprintf(out, "# HELP cityos_homedoctor_lag_seconds From a reading's commit to the end of its "
                 "evaluation (its findings durable).\n# TYPE cityos_homedoctor_lag_seconds "
                 "histogram\n");
    http_metrics_histogram(out, "cityos_homedoctor_lag_seconds", "", &lag);
}

const char *homedoctor_service_client_id(void)
{
    return svc.client_id;
}

void hd_service_principal(struct id_principal *p)
{
    memset(p, 0, sizeof *p);
    p->kind = ID_PRINCIPAL_CLIENT;
    memcpy(p->client_id, svc.client_id, sizeof p->client_id);
    p->scope_text = SERVICE_SCOPE;
    p->scope = &svc.scope;
}

/* ---- the audit entries of a decision without a data change ---- */

int hd_record_decision(struct store *s, const struct id_principal *p, const struct fhir_target *t,
                       const char *action, const struct fhir_verdict *v, struct err *e)
{
    struct audit_event ev;
    memset(&ev, 0, sizeof ev);
    if (audit_event_from_principal(p, &ev, e) != 0)
        return e->code;
    ev.subject = t->subject;
    ev.action = action;
    ev.resource_type = t->rtype;
    ev.resource_id = t->id;
    ev.category = t->category;
    ev.purpose = v->purpose;
    ev.decision = v->permit ? AUDIT_PERMIT : AUDIT_DENY;
    ev.decided_by = v->decided_by;
    ev.reason = v->permit ? NULL : v->reason;
    ev.source_addr = "homedoctor";
    struct hd_batch *b = hd_batch_current();
    if (b != NULL)
        return hd_batch_add_decision(b, &ev, e); /* written with the batch's other writes */
    return store_write(s, audit_record_fn, &ev, e);
}

/* ---- reading Observations ---- */

struct obs_walk {
    hd_obs_fn fn;
    void *ctx;
};

static int obs_row(const struct store_row *row, void *ctx)
{
    struct obs_walk *w = ctx;
    size_t len = 0;
    const char *body = store_row_text(row, FHIR_SQL_COL_BODY, &len);
    struct err e = {0};
    json_t *obs = body != NULL ? jsonx_parse(body, len, &e) : NULL;
    if (obs == NULL)
        return 0;
    int stop = w->fn(obs, w->ctx);
    json_decref(obs);
    return stop;
}

int hd_search_observations(struct store *s, struct arena *a, const char *q, int64_t now_ms,
                           hd_obs_fn fn, void *ctx, struct err *e)
{
    struct fhir_search_pair *pairs = NULL;
    size_t npairs = 0;
    struct fhir_search *srch = arena_zalloc(a, sizeof *srch);
    struct fhir_sql sql;
    if (q == NULL || srch == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    int rc = fhir_search_pairs_parse(q, strlen(q), a, &pairs, &npairs, e);
    static const struct fhir_search_defs defs = {fhir_defs_search_params, fhir_defs_search_param,
                                                 NULL};
    struct fhir_search_opts opt = {.defs = &defs, .strict = 1, .now_ms = now_ms};
    if (rc == 0)
        rc = fhir_search_parse("Observation", pairs, npairs, &opt, a, srch, e);
    if (rc == 0)
        rc = fhir_search_sql_page(srch, a, &sql, e);
    struct obs_walk w = {fn, ctx};
    if (rc == 0)
        rc = store_query(s, sql.sql, sql.params, sql.nparams, obs_row, &w, e);
    return rc;
}

static int history_obs(const json_t *obs, void *ctx)
{
    struct hd_history *h = ctx;
    struct err e = {0};
    struct homedoctor_bp_reading r;
    int rc = homedoctor_reading_from_observation(obs, h->a, &r, &e);
    if (rc < 0) {
        h->nomem = 1;
        return 1;
    }
    if (rc == 0) {
        h->skipped++;
        return 0;
    }
    struct homedoctor_bp_reading *arr = arena_array_reserve(h->a, h->r, h->n, &h->cap, sizeof *arr);
    if (arr == NULL) {
        h->nomem = 1;
        return 1;
    }
    h->r = arr;
    h->r[h->n++] = r;
    return h->n >= HOMEDOCTOR_HISTORY_MAX;
}

int hd_read_history(struct store *s, const char *subject, int64_t now_ms, struct hd_history *h,
                    struct err *e)
{
    char from[40];
    clock_format_ms(now_ms - (HOMEDOCTOR_HISTORY_DAYS + 1) * HOMEDOCTOR_DAY_MS, from, sizeof from);
    const char *q = arena_printf(h->a,
                                 "subject=Patient/%s&code=http://loinc.org%%7C%s&date=ge%s"
                                 "&_sort=-date&_count=%d",
                                 subject, HOMEDOCTOR_LOINC_BP, from, HOMEDOCTOR_HISTORY_MAX);
    int rc = hd_search_observations(s, h->a, q, now_ms, history_obs, h, e);
    if (rc == 0 && h->nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    return rc;
}

/* ---- writing a finding ---- */

/* Creates res (RiskAssessment or Communication) unless one with the identifier key exists;
 * *id_out gets the id of the new or the existing one. With a current batch (hd_batch_current)
 * the create is queued instead: *id_out is then the id it will have if new, *created 0, and *op
 * the queued write (its about[0] is filled in from the write about_op when it runs). */
static int write_finding(struct store *s, struct arena *a, const struct id_principal *p,
                         const struct fhir_verdict *v, const char *rtype, const char *subject,
                         json_t *res, const char *key, char id_out[FHIR_ID_MAX + 1], int *created,
                         size_t about_op, _Atomic uint64_t *on_created, size_t *op, struct err *e)
{
    int rc = 0;
    struct hd_batch *b = hd_batch_current();
    if (b != NULL)
        a = hd_batch_arena(b); /* the condition's query is run when the batch is written */
    struct fhir_write w;
    memset(&w, 0, sizeof w);
    json_t *ident = json_pack("[{s:s, s:s}]", "system", HOMEDOCTOR_FINDING_SYS, "value", key);
    if (ident == NULL || json_object_set_new(res, "identifier", ident) != 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct fhir_issues is;
    fhir_issues_init(&is, NULL, NULL);
    if (fhir_validate(res, rtype, &is) != 0 || is.nerrors > 0)
        return err_set(e, ERR_INTERNAL, "homedoctor: a rendered %s is not valid: %.100s: %.100s",
                       rtype, is.n > 0 ? is.items[0].expression : "",
                       is.n > 0 ? is.items[0].diagnostics : "");
    const char *cond = arena_printf(a, "identifier=%s%%7C%s", HOMEDOCTOR_FINDING_SYS, key);
    struct fhir_sql *q = NULL;
    if (cond == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    if ((rc = fhir_search_condition_sql(rtype, cond, a, &q, e)) != 0)
        return rc;
    w.op = FHIR_WRITE_CREATE;
    w.rtype = rtype;
    w.now_ms = clock_now_ms();
    ids_new_ordered(w.id, w.now_ms);
    if (json_object_set_new(res, "id", json_string(w.id)) != 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    w.resource = res;
    w.subject = subject;
    w.category = "alerts";
    w.record_audit = 1;
    w.if_none_exist = q;
    if ((rc = audit_event_from_principal(p, &w.ev, e)) != 0)
        return rc;
    w.ev.subject = subject;
    w.ev.action = "create";
    w.ev.resource_type = rtype;
    w.ev.resource_id = w.id;
    w.ev.category = "alerts";
    w.ev.purpose = v->purpose;
    w.ev.decision = AUDIT_PERMIT;
    w.ev.decided_by = v->decided_by;
    w.ev.source_addr = "homedoctor";
    if (b != NULL) {
        *created = 0;
        memcpy(id_out, w.id, sizeof w.id);
        return hd_batch_add_finding(b, &w, about_op, on_created, op, e);
    }
    rc = store_write(s, fhir_resource_write_fn, &w, e);
    if (rc == 0) {
        memcpy(id_out, w.id, sizeof w.id);
        *created = !w.existing;
        if (*created && on_created != NULL)
            atomic_fetch_add(on_created, 1);
    }
    fhir_write_release(&w);
    return rc;
}

/* The Communication of an alert or nudge: the library's rendering, plus what it is about (the
 * RiskAssessment it comes from first, then the readings used) and the advice its triggers call
 * for (payload, after the finding's two texts: ja then en for each). */
static json_t *alert_resource(struct store *s, struct arena *a, const struct homedoctor_finding *f,
                              const char *subject, const char *ra_id, int64_t run_ms, struct err *e)
{
    json_t *c = homedoctor_fhir_communication(f, subject, NULL, e);
    if (c == NULL)
        return NULL;
    /* who it goes to: the citizen, and whoever else may read the citizen's alerts now */
    json_t *to = hd_recipients(s, a, subject, run_ms, e);
    if (to == NULL || json_object_set_new(c, "recipient", to) != 0) {
        json_decref(c);
        if (to != NULL)
            err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    int bad = 0;
    char ref[FHIR_ID_MAX + 32];
    snprintf(ref, sizeof ref, "RiskAssessment/%s", ra_id);
    json_t *about = json_array();
    bad |= about == NULL || json_array_append_new(about, json_pack("{s:s}", "reference", ref));
    for (size_t i = 0; about != NULL && i < f->n_basis; i++)
        bad |= json_array_append_new(about, json_pack("{s:s}", "reference", f->basis[i]));
    bad |= about == NULL || json_object_set_new(c, "about", about) != 0;
    const struct homedoctor_finding *one[1] = {f};
    unsigned advice = homedoctor_advice_select(one, 1);
    json_t *payload = json_object_get(c, "payload");
    for (int i = 0; !bad && i < HOMEDOCTOR_ADV_COUNT; i++) {
        const struct homedoctor_advice *adv = homedoctor_advice_get((enum homedoctor_advice_id)i);
        if (!(advice & (1u << i)) || adv == NULL)
            continue;
        bad |= json_array_append_new(payload, json_pack("{s:s}", "contentString", adv->text_ja));
        bad |= json_array_append_new(payload, json_pack("{s:s}", "contentString", adv->text_en));
    }
    if (bad) {
        json_decref(c);
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    return c;
}

int hd_publish_finding(struct store *s, struct arena *a, const struct id_principal *p,
                       const struct hd_publish *how, const char *subject,
                       const struct homedoctor_finding *f, int64_t run_ms, struct hd_outcome *o,
                       struct err *e)
{
    char key[65], ra_id[FHIR_ID_MAX + 1];
    int created = 0;
    if (homedoctor_service_finding_key_scoped(f, "RiskAssessment", subject, how->ra_scope, key,
                                              e) != 0)
        return e->code;
    json_t *ra = homedoctor_fhir_risk_assessment(f, subject, e);
    if (ra == NULL)
        return e->code;
    size_t ra_op = SIZE_MAX, c_op = SIZE_MAX;
    int rc = write_finding(s, a, p, how->ra_verdict, "RiskAssessment", subject, ra, key, ra_id,
                           &created, SIZE_MAX, NULL, &ra_op, e);
    json_decref(ra);
    if (rc != 0)
        return rc;
    o->assessments += created;
    if (f->severity < HOMEDOCTOR_NOTICE || run_ms - f->evaluated_ms > HOMEDOCTOR_ALERT_FRESH_MS)
        return 0;
    if (homedoctor_service_finding_key_scoped(f, "Communication", subject, how->comm_scope, key,
                                              e) != 0)
        return e->code;
    json_t *c = alert_resource(s, a, f, subject, ra_id, run_ms, e);
    if (c == NULL)
        return e->code;
    char c_id[FHIR_ID_MAX + 1];
    rc = write_finding(s, a, p, how->comm_verdict, "Communication", subject, c, key, c_id, &created,
                       ra_op, how->on_alert, &c_op, e);
    json_decref(c);
    if (rc == 0)
        o->alerts += created;
    return rc;
}

/* ---- the handler ---- */

/* What a batch learned of one citizen, once: the decisions (on the consent index synced when
 * the batch began) and the home readings read. Each of the
 * citizen's readings in the batch is then evaluated as of its own time on the part of those
 * readings its own read would have returned (see citizen_history). */
struct hd_citizen {
    const char *subject;
    int64_t from_ms; /* the earliest effective time of the citizen's readings in the batch */
    int decided, refused, read;
    struct fhir_verdict wv, cv, rv;
    struct hd_history h; /* read as of from_ms: every reading from 36 days before it on */
};

/* The citizen's decisions, made once per batch; the refusal (or the permitted search) is
 * recorded on the trail for every reading, as when each was evaluated alone. */
static int citizen_decide(struct store *s, const struct id_principal *p, struct hd_citizen *c,
                          struct arena *a, struct err *e)
{
    const char *subject = c->subject;
    /* may the service write findings, and read the readings, for this citizen? */
    struct fhir_target wt = {.rtype = "RiskAssessment", .subject = subject, .category = "alerts"};
    struct fhir_target ct = {.rtype = "Communication", .subject = subject, .category = "alerts"};
    struct fhir_target rt = {.rtype = "Observation", .subject = subject, .category = "vitals"};
    if (!c->decided &&
        (fhir_access_decide(p, &wt, ID_PERM_C, HOMEDOCTOR_PURPOSE, NULL, a, &c->wv) != 0 ||
         fhir_access_decide(p, &ct, ID_PERM_C, HOMEDOCTOR_PURPOSE, NULL, a, &c->cv) != 0 ||
         fhir_access_decide(p, &rt, ID_PERM_S, HOMEDOCTOR_PURPOSE, NULL, a, &c->rv) != 0))
        return err_set(e, ERR_NOMEM, "out of memory");
    c->decided = 1;
    int rc;
    if (!c->wv.permit || !c->cv.permit || !c->rv.permit) {
        /* nothing is read or written; the (first) refusal goes on the citizen's trail */
        const struct fhir_target *t = !c->wv.permit ? &wt : !c->cv.permit ? &ct : &rt;
        const struct fhir_verdict *v = !c->wv.permit ? &c->wv : !c->cv.permit ? &c->cv : &c->rv;
        rc = hd_record_decision(s, p, t, t == &rt ? "search" : "create", v, e);
        c->refused = 1;
    } else {
        /* the read is on the trail before its data is used (in the same write as anything
         * derived from it, and before anything leaves the service) */
        rc = hd_record_decision(s, p, &rt, "search", &c->rv, e);
    }
    return rc;
}

/* The readings the citizen's per-reading read (hd_read_history as of now_ms: every reading from
 * 36 days before now_ms on, newest first, at most HOMEDOCTOR_HISTORY_MAX) would return, from
 * the one read of the batch: its newest-first prefix down to now_ms' lower bound. When the
 * batch's read was cut at HOMEDOCTOR_HISTORY_MAX, the reading's own read is made instead. */
static int citizen_history(struct store *s, struct hd_citizen *c, struct arena *a,
                           struct arena *batch_a, int64_t now_ms, struct hd_history *out,
                           struct err *e)
{
    if (!c->read) {
        memset(&c->h, 0, sizeof c->h);
        c->h.a = batch_a;
        int rc = hd_read_history(s, c->subject, c->from_ms, &c->h, e);
        if (rc != 0)
            return rc;
        c->read = 1;
    }
    if (c->h.n + c->h.skipped >= HOMEDOCTOR_HISTORY_MAX) {
        memset(out, 0, sizeof *out);
        out->a = a;
        return hd_read_history(s, c->subject, now_ms, out, e);
    }
    int64_t from = now_ms - (HOMEDOCTOR_HISTORY_DAYS + 1) * HOMEDOCTOR_DAY_MS;
    *out = c->h;
    while (out->n > 0 && out->r[out->n - 1].time_ms < from)
        out->n--;
    return 0;
}

static int evaluate(struct store *s, struct arena *a, const struct event *ev, int64_t now_ms,
                    struct hd_citizen *c, enum ev_result *result, struct err *e)
{
    const char *subject = ev->subject;
    struct id_principal p;
    hd_service_principal(&p);
    struct arena *batch_a = hd_batch_arena(hd_batch_current());
    int rc = citizen_decide(s, &p, c, batch_a, e);
    if (rc != 0)
        return rc;
    if (c->refused) {
        *result = EV_REFUSED;
        log_debug("homedoctor: %s of %s refused: nothing evaluated",
                  ev->ref != NULL ? ev->ref : "a reading", subject);
        return 0;
    }
    struct hd_history h;
    if ((rc = citizen_history(s, c, a, batch_a, now_ms, &h, e)) != 0)
        return rc;
    const struct fhir_verdict wv = c->wv, cv = c->cv;
    struct homedoctor_finding *found[2] = {NULL, NULL};
    struct homedoctor_bp_result bp;
    struct homedoctor_rise_result rise;
    if ((rc = homedoctor_home_bp_evaluate(a, h.r, h.n, now_ms, -1, &bp, &found[0], e)) != 0 ||
        (rc = homedoctor_rise_evaluate(a, h.r, h.n, now_ms, &rise, &found[1], e)) != 0) {
        if (rc != ERR_INVALID)
            return rc;
        /* every reading passed the same check: a retry would fail the same way */
        log_warn("homedoctor: %s: the rules refused the readings: %s",
                 ev->ref != NULL ? ev->ref : "a reading", e->msg);
        *result = EV_FAILED;
        return 0;
    }
    struct hd_outcome o = {0};
    int64_t run_ms = clock_now_ms();
    struct hd_publish how = {.ra_verdict = &wv, .comm_verdict = &cv};
    for (size_t i = 0; i < 2; i++)
        if (found[i] != NULL &&
            (rc = hd_publish_finding(s, a, &p, &how, subject, found[i], run_ms, &o, e)) != 0)
            return rc;
    /* rule 4, under the citizen's cardio consent (nothing when it does not permit) */
    if ((rc = hd_cardio_evaluate(s, a, &p, subject, now_ms, &h, &bp, &o, e)) != 0)
        return rc;
    /* written at once only without a batch; a batch counts what it writes */
    atomic_fetch_add(&written_ra, (uint64_t)o.assessments);
    atomic_fetch_add(&written_comm, (uint64_t)o.alerts);
    *result = EV_EVALUATED;
    log_debug("homedoctor: %s evaluated: %zu readings (%zu skipped)",
              ev->ref != NULL ? ev->ref : "?", h.n, h.skipped);
    return 0;
}

/* What an event is, from its payload (parsed once per batch). */
enum rd_kind { RD_NONE, RD_BP, RD_DOSE, RD_OTHER };
struct rd {
    enum rd_kind kind;
    int64_t now_ms;       /* the evaluation is "as of" the reading: a redelivery evaluates the
                           * same window */
    struct hd_citizen *c; /* RD_BP: the citizen's state in the batch */
    int dose_refused;     /* RD_DOSE: the adherence consent refused it */
};

static int reading_of(const struct event *ev, struct rd *r, struct err *e)
{
    memset(r, 0, sizeof *r);
    if (ev->subject == NULL || !ids_valid(ev->subject) || ev->payload == NULL)
        return 0; /* about no citizen: nothing to do */
    json_t *pl = jsonx_parse(ev->payload, strlen(ev->payload), e);
    if (pl == NULL)
        return e->code == ERR_NOMEM ? ERR_NOMEM : 0; /* a malformed payload is never retried */
    const char *code = json_string_value(json_object_get(pl, "code"));
    const json_t *eff = json_object_get(pl, "effective_ms");
    r->kind = code != NULL && strcmp(code, HOMEDOCTOR_LOINC_BP) == 0 ? RD_BP
              : hd_adherence_is_dose(code)                           ? RD_DOSE
                                                                     : RD_OTHER;
    r->now_ms = json_is_integer(eff) ? (int64_t)json_integer_value(eff) : ev->created_ms;
    json_decref(pl);
    return 0;
}

/* One event of a batch (its writes queued in the thread's current batch). *result: what to
 * count once the batch is written (EV_COUNT: nothing, e.g. a dose, counted by adherence). */
static int handle_reading(struct store *s, const struct event *ev, struct rd *r,
                          enum ev_result *result, struct err *e)
{
    *result = EV_COUNT;
    if (r->kind == RD_NONE)
        return 0;
    if (r->kind == RD_DOSE)
        return hd_adherence_on_dose(s, ev, r->now_ms, &r->dose_refused,
                                    e); /* rule 6: adherence_service.c */
    if (r->kind != RD_BP) {
        *result = EV_IGNORED;
        return 0; /* not a blood pressure, not a dose */
    }
    struct arena *a = arena_new(64 * 1024);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    *result = EV_FAILED;
    int rc = evaluate(s, a, ev, r->now_ms, r->c, result, e);
    arena_free(a);
    return rc;
}

/* The payloads of the batch, and one hd_citizen per citizen with blood pressures in it. */
static int readings_of(const struct event *evs, size_t n, struct arena *a, struct rd *rd,
                       struct event_result *out)
{
    struct hd_citizen **cs = NULL;
    size_t nc = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (reading_of(&evs[i], &rd[i], &out[i].e) != 0) {
            out[i].outcome = EVENT_OUTCOME_FAILED;
            continue;
        }
        if (rd[i].kind != RD_BP)
            continue;
        struct hd_citizen *c = NULL;
        for (size_t k = 0; k < nc && c == NULL; k++)
            if (strcmp(cs[k]->subject, evs[i].subject) == 0)
                c = cs[k];
        if (c == NULL) {
            struct hd_citizen **more = arena_array_reserve(a, cs, nc, &cap, sizeof *cs);
            if (more == NULL || (c = arena_zalloc(a, sizeof *c)) == NULL)
                return ERR_NOMEM;
            cs = more;
            cs[nc++] = c;
            c->subject = evs[i].subject;
            c->from_ms = rd[i].now_ms;
        }
        if (rd[i].now_ms < c->from_ms)
            c->from_ms = rd[i].now_ms;
        rd[i].c = c;
    }
    return 0;
}

/* Is subject the subject of an event before i whose outcome is not OK? */
static int subject_held(const struct event *evs, const struct event_result *out, size_t i)
{
    if (evs[i].subject == NULL)
        return 0;
    for (size_t k = 0; k < i; k++)
        if (out[k].outcome != EVENT_OUTCOME_OK && evs[k].subject != NULL &&
            strcmp(evs[k].subject, evs[i].subject) == 0)
            return 1;
    return 0;
}

/* The consumer (a batch: event.h): each event evaluated in seq order, exactly as alone (the
 * rules see every reading and every dose, in order, as of its own time), every write of the
 * batch queued and then made in one store write; an event is reported handled only once that
 * write is durable. docs/internals/homedoctor.md, "Batches". */
static void on_readings(const struct event *evs, size_t n, struct event_result *out, void *ctx)
{
    struct store *s = ctx;
    struct err e = {0};
    /* decide on an index as new as every consent change committed before, by any process (a
     * withdrawal through another process binds this evaluation too); unreadable: retried */
    struct consent_index *ix = consent_index_global();
    struct hd_batch *b = NULL;
    enum ev_result *res = NULL;
    struct rd *rd = NULL;
    int rc = ix != NULL ? consent_index_sync(ix, s, &e) : 0;
    if (rc != 0 && e.code == 0)
        err_set(&e, ERR_IO, "the consent index cannot be read");
    if (rc == 0 && ((b = hd_batch_begin()) == NULL ||
                    (res = arena_alloc(hd_batch_arena(b), n * sizeof *res)) == NULL ||
                    (rd = arena_alloc(hd_batch_arena(b), n * sizeof *rd)) == NULL ||
                    readings_of(evs, n, hd_batch_arena(b), rd, out) != 0))
        rc = err_set(&e, ERR_NOMEM, "out of memory");
    if (rc != 0) {
        for (size_t i = 0; i < n; i++) {
            out[i].outcome = EVENT_OUTCOME_FAILED;
            out[i].e = e;
        }
        hd_batch_end(b);
        return;
    }
    size_t held = 0; /* events not OK so far: only then can a subject be held */
    for (size_t i = 0; i < n; i++) {
        res[i] = EV_COUNT;
        if (out[i].outcome != EVENT_OUTCOME_OK) { /* its payload could not be read */
            held++;
            continue;
        }
        if (held > 0 && subject_held(evs, out, i)) {
            out[i].outcome = EVENT_OUTCOME_SKIPPED; /* an earlier reading of theirs failed */
            held++;
            continue;
        }
        hd_batch_event(b, i);
        size_t mark = hd_batch_mark(b);
        if (handle_reading(s, &evs[i], &rd[i], &res[i], &out[i].e) != 0) {
            hd_batch_truncate(b, mark); /* nothing of a failed evaluation is written */
            out[i].outcome = EVENT_OUTCOME_FAILED;
            held++;
            log_warn("homedoctor: %s: %s (retried)", evs[i].ref != NULL ? evs[i].ref : "?",
                     out[i].e.msg);
        }
    }
    struct hd_batch_written w;
    hd_batch_flush(s, b, evs, n, out, &w);
    atomic_fetch_add(&written_ra, (uint64_t)w.assessments);
    atomic_fetch_add(&written_comm, (uint64_t)w.alerts);
    int64_t done = clock_now_ms();
    size_t counted[EV_COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
        if (out[i].outcome != EVENT_OUTCOME_SKIPPED && rd[i].kind == RD_DOSE)
            hd_adherence_count(out[i].outcome == EVENT_OUTCOME_FAILED, rd[i].dose_refused);
        if (out[i].outcome == EVENT_OUTCOME_SKIPPED || res[i] == EV_COUNT)
            continue; /* a dose (counted above), about no one, or not handled yet */
        enum ev_result r = out[i].outcome == EVENT_OUTCOME_FAILED ? EV_FAILED : res[i];
        atomic_fetch_add(&ev_counts[r], 1);
        counted[r]++;
        if (r == EV_EVALUATED)
            histogram_observe(&lag, (double)(done - evs[i].created_ms) / 1e3);
    }
    hd_batch_end(b);
    log_info("homedoctor: %zu events: %zu evaluated, %zu refused, %zu ignored, %zu failed; %d "
             "assessments and %d alerts written",
             n, counted[EV_EVALUATED], counted[EV_REFUSED], counted[EV_IGNORED], counted[EV_FAILED],
             w.assessments, w.alerts);
}

/* ---- start-up ---- */

static int found_client(const struct store_row *row, void *ctx)
{
    const char *id = store_row_text(row, 0, NULL);
    if (id != NULL && ids_valid(id))
        memcpy(ctx, id, IDS_LEN + 1);
    return 1;
}

int homedoctor_service_client_ensure(struct store *s, char id[IDS_LEN + 1], struct err *e)
{
    id[0] = '\0';
    struct store_value v[] = {STORE_TEXT_V(HOMEDOCTOR_CLIENT_NAME)};
    int rc = store_query(s, "SELECT id FROM oauth_client WHERE name = ? ORDER BY created_ms, id", v,
                         1, found_client, id, e);
    if (rc != 0)
        return rc;
    if (id[0] == '\0') {
        char secret[ID_CLIENT_SECRET_LEN + 1];
        struct id_client_new in = {.name = HOMEDOCTOR_CLIENT_NAME,
                                   .kind = ID_CLIENT_CONFIDENTIAL,
                                   .scopes = SERVICE_SCOPE,
                                   .grant_types = ID_GRANT_CLIENT_CREDENTIALS};
        rc = id_client_create(s, &in, id, secret, e);
        sodium_memzero(secret, sizeof secret); /* nobody signs in as the service */
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int ensure_client(struct store *s, struct err *e)
{
    char id[IDS_LEN + 1];
    int rc = homedoctor_service_client_ensure(s, id, e);
    if (rc == 0)
        memcpy(svc.client_id, id, sizeof id);
    return rc;
}

int homedoctor_service_register(struct store *s, const struct config *cfg, struct err *e)
{
    /* the alerts already written are the citizen's, whether or not readings arrive now */
    int rc = consent_inbox_source_set(homedoctor_inbox_alerts, s);
    if (rc != 0)
        return err_set(e, rc, "homedoctor: an inbox source is already set");
    if (cfg->mqtt_port == 0) {
        log_info("homedoctor: no MQTT broker configured: no readings to evaluate");
        return 0;
    }
    histogram_init(&lag, histogram_latency_bounds, histogram_latency_nbounds);
    rc = id_scope_parse(SERVICE_SCOPE, &svc.scope, e);
    if (rc == 0)
        rc = ensure_client(s, e);
    if (rc == 0)
        rc =
            event_handler_register_batch(EVENT_READING_STORED, HOMEDOCTOR_CONSUMER, on_readings, s);
    if (rc == 0)
        rc = hd_adherence_register(e); /* rule 6: the pill box's dose events (its metrics) */
    if (rc == 0 && http_metrics_add(metrics_render, NULL) != 0)
        rc = err_set(e, ERR_NOMEM, "homedoctor: cannot add the metrics");
    if (rc == 0)
        rc = hd_scan_start(s, e); /* rule 3: the missing-readings scan */
    if (rc != 0)
        return rc == ERR_INVALID && e->msg[0] == '\0'
                   ? err_set(e, rc, "homedoctor: cannot register the consumer")
                   : rc;
    LOG_AT(LOGL_INFO,
           json_pack("{s:s, s:s}", "client_id", svc.client_id, "purpose", HOMEDOCTOR_PURPOSE),
           "homedoctor: service ready");
    return 0;
}
