/* adherence_service.c - rule 6 as part of the running home doctor (adherence.h): on each dose
 * event a pill box reports (handed over by the home doctor's consumer), the access decision as the
 * service's client under the citizen's "adherence" consent, the read of their last 35 days of dose
 * events, the rules of the table, and each alert written once per episode as a RiskAssessment and a
 * Communication (recipients and advice exactly as the other home-doctor alerts: service.c,
 * service_recipients.c). */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "events/event.h"
#include "fhir/defs.h"
#include "fhir/search_api.h"
#include "fhir/search_sql.h"
#include "http/metrics.h"
#include "ingest/payload.h"
#include "services/homedoctor/adherence.h"
#include "services/homedoctor/service_internal.h"

enum { AD_EVALUATED, AD_REFUSED, AD_FAILED, AD_COUNT };
static const char *const ad_names[AD_COUNT] = {"evaluated", "refused", "failed"};
static _Atomic uint64_t ad_counts[AD_COUNT], ad_alerts;

static void metrics_render(FILE *out, void *ctx)
{
    (void)ctx;
    fprintf(out, "# HELP cityos_homedoctor_adherence_events_total Pill-box dose events handed to "
                 "the home doctor's adherence rules, by what became of them.\n# TYPE "
                 "cityos_homedoctor_adherence_events_total counter\n");
    for (int i = 0; i < AD_COUNT; i++)
        fprintf(out, "cityos_homedoctor_adherence_events_total{result=\"%s\"} %" PRIu64 "\n",
                ad_names[i], atomic_load(&ad_counts[i]));
    fprintf(out,
            "# HELP cityos_homedoctor_adherence_alerts_total Adherence alerts (Communications) "
            "written.\n# TYPE cityos_homedoctor_adherence_alerts_total counter\n"
            "cityos_homedoctor_adherence_alerts_total %" PRIu64 "\n",
            atomic_load(&ad_alerts));
}

/* ---- reading the dose events ---- */

struct dose_list {
    struct arena *a;
    struct homedoctor_dose *d;
    size_t n, cap, skipped;
    int nomem;
};

static int dose_row(const struct store_row *row, void *ctx)
{
    struct dose_list *l = ctx;
    size_t len = 0;
    const char *body = store_row_text(row, FHIR_SQL_COL_BODY, &len);
    struct err e = {0};
    json_t *ma = body != NULL ? jsonx_parse(body, len, &e) : NULL;
    if (ma == NULL) {
        l->nomem |= e.code == ERR_NOMEM;
        return l->nomem;
    }
    struct homedoctor_dose d;
    int rc = homedoctor_dose_from_administration(ma, l->a, &d, &e);
    json_decref(ma);
    if (rc < 0) {
        l->nomem = 1;
        return 1;
    }
    if (rc == 0) {
        l->skipped++;
        return 0;
    }
    struct homedoctor_dose *arr = arena_array_reserve(l->a, l->d, l->n, &l->cap, sizeof *arr);
    if (arr == NULL) {
        l->nomem = 1;
        return 1;
    }
    l->d = arr;
    l->d[l->n++] = d;
    return l->n >= FHIR_SEARCH_COUNT_MAX;
}

/* The citizen's dose events scheduled from from_ms to a day after now_ms, newest first (at
 * most FHIR_SEARCH_COUNT_MAX), through the FHIR search's own SQL. The upper bound is loose on
 * purpose: a date search compares the value's whole precision range, so "le now" could leave
 * out the dose scheduled at now itself; the rule drops what lies after now. */
static int read_doses(struct store *s, const char *subject, int64_t from_ms, int64_t now_ms,
                      struct dose_list *l, struct err *e)
{
    char from[40], to[40];
    clock_format_ms(from_ms, from, sizeof from);
    clock_format_ms(now_ms + HOMEDOCTOR_DAY_MS, to, sizeof to);
    const char *q = arena_printf(l->a,
                                 "subject=Patient/%s&effective-time=ge%s&effective-time=le%s"
                                 "&_sort=-effective-time&_count=%d",
                                 subject, from, to, FHIR_SEARCH_COUNT_MAX);
    struct fhir_search *srch = arena_zalloc(l->a, sizeof *srch);
    if (q == NULL || srch == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct fhir_search_pair *pairs = NULL;
    size_t npairs = 0;
    static const struct fhir_search_defs defs = {fhir_defs_search_params, fhir_defs_search_param,
                                                 NULL};
    struct fhir_search_opts opt = {.defs = &defs, .strict = 1, .now_ms = now_ms};
    struct fhir_sql sql;
    int rc = fhir_search_pairs_parse(q, strlen(q), l->a, &pairs, &npairs, e);
    if (rc == 0)
        rc = fhir_search_parse("MedicationAdministration", pairs, npairs, &opt, l->a, srch, e);
    if (rc == 0)
        rc = fhir_search_sql_page(srch, l->a, &sql, e);
    if (rc == 0)
        rc = store_query(s, sql.sql, sql.params, sql.nparams, dose_row, l, e);
    if (rc == 0 && l->nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    return rc;
}

/* ---- the evaluation ---- */

int hd_adherence_evaluate(struct store *s, const char *subject, int64_t now_ms, int *refused,
                          int *alerts, struct err *e)
{
    if (refused != NULL)
        *refused = 0;
    if (alerts != NULL)
        *alerts = 0;
    struct arena *a = arena_new(64 * 1024);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct id_principal p;
    hd_service_principal(&p);
    /* may the service read the dose events and write alerts, for this purpose? */
    struct fhir_target wt = {.rtype = "RiskAssessment", .subject = subject, .category = "alerts"};
    struct fhir_target ct = {.rtype = "Communication", .subject = subject, .category = "alerts"};
    struct fhir_target rt = {
        .rtype = "MedicationAdministration", .subject = subject, .category = "medications"};
    struct fhir_verdict wv, cv, rv;
    int rc = 0;
    if (fhir_access_decide(&p, &wt, ID_PERM_C, HOMEDOCTOR_PURPOSE_ADHERENCE, NULL, a, &wv) != 0 ||
        fhir_access_decide(&p, &ct, ID_PERM_C, HOMEDOCTOR_PURPOSE_ADHERENCE, NULL, a, &cv) != 0 ||
        fhir_access_decide(&p, &rt, ID_PERM_S, HOMEDOCTOR_PURPOSE_ADHERENCE, NULL, a, &rv) != 0) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!wv.permit || !cv.permit || !rv.permit) {
        /* nothing is read or written; the (first) refusal goes on the citizen's trail */
        const struct fhir_target *t = !rv.permit ? &rt : !wv.permit ? &wt : &ct;
        const struct fhir_verdict *v = !rv.permit ? &rv : !wv.permit ? &wv : &cv;
        rc = hd_record_decision(s, &p, t, t == &rt ? "search" : "create", v, e);
        if (refused != NULL)
            *refused = 1;
        goto out;
    }
    /* the read is on the trail before its data is used */
    if ((rc = hd_record_decision(s, &p, &rt, "search", &rv, e)) != 0)
        goto out;
    int64_t from_ms = now_ms - HOMEDOCTOR_DOSE_HISTORY_DAYS * HOMEDOCTOR_DAY_MS;
    struct dose_list l = {.a = a};
    if ((rc = read_doses(s, subject, from_ms, now_ms, &l, e)) != 0)
        goto out;
    struct homedoctor_adherence_eval res[HOMEDOCTOR_ADHERENCE_NRULES];
    struct homedoctor_finding *found[HOMEDOCTOR_ADHERENCE_NRULES];
    rc = homedoctor_adherence_doses_evaluate(a, l.d, l.n, from_ms, now_ms, res, found, e);
    if (rc != 0)
        goto out;
    struct hd_outcome o = {0};
    int64_t run_ms = clock_now_ms();
    for (size_t i = 0; i < HOMEDOCTOR_ADHERENCE_NRULES; i++) {
        if (found[i] == NULL)
            continue;
        /* one episode: one assessment and one alert, whatever number of doses it spans */
        const char *scope = homedoctor_adherence_episode_scope(a, &res[i]);
        if (scope == NULL) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto out;
        }
        struct hd_publish how = {.ra_verdict = &wv,
                                 .comm_verdict = &cv,
                                 .on_alert = &ad_alerts,
                                 .ra_scope = scope,
                                 .comm_scope = scope};
        if ((rc = hd_publish_finding(s, a, &p, &how, subject, found[i], run_ms, &o, e)) != 0)
            goto out;
    }
    if (alerts != NULL)
        *alerts = o.alerts;
    /* in a batch (the events worker) the findings are only queued here: counted when written */
    log_debug("homedoctor: adherence of %s evaluated: %zu doses (%zu skipped), %d assessments and "
              "%d alerts written at once",
              subject, l.n, l.skipped, o.assessments, o.alerts);
out:
    arena_free(a);
    return rc;
}

bool hd_adherence_is_dose(const char *code)
{
    return code != NULL && strcmp(code, INGEST_CODE_DOSE) == 0;
}

int hd_adherence_on_dose(struct store *s, const struct event *ev, int64_t now_ms, int *refused,
                         struct err *e)
{
    *refused = 0;
    if (ev->subject == NULL || !ids_valid(ev->subject))
        return 0; /* about no citizen: nothing to do */
    int rc = hd_adherence_evaluate(s, ev->subject, now_ms, refused, NULL, e);
    if (rc != 0)
        log_warn("homedoctor: adherence of %s: %s (retried)", ev->ref != NULL ? ev->ref : "?",
                 e->msg);
    else if (*refused)
        log_debug("homedoctor: %s: adherence refused by the citizen's consents: nothing "
                  "evaluated",
                  ev->ref != NULL ? ev->ref : "a dose");
    return rc;
}

void hd_adherence_count(int failed, int refused)
{
    atomic_fetch_add(&ad_counts[failed ? AD_FAILED : refused ? AD_REFUSED : AD_EVALUATED], 1);
}

int hd_adherence_register(struct err *e)
{
    if (http_metrics_add(metrics_render, NULL) != 0)
        return err_set(e, ERR_NOMEM, "homedoctor: cannot add the adherence metrics");
    return 0;
}
