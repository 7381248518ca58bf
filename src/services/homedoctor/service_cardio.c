/* service_cardio.c - rule 4 in the running service: the Hisayama 10-year risk of a citizen
 * who consented to the "cardio" purpose, from their latest check-up (imported specific health
 * check-up Observations), questionnaire answers, age and sex, and their home blood pressure;
 * written as a RiskAssessment, and as an alert when the changeable factors add
 * HOMEDOCTOR_HISAYAMA_ALERT_GAIN or more to the risk (S1 step 6). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "consent/category.h"
#include "identity/person.h"
#include "services/homedoctor/service_internal.h"

/* the check-up's items and questionnaire answers; its blood pressure is searched on its own
 * (by the check-up category: the same LOINC code as every home reading) */
#define CHECKUP_CODES                                                                              \
    "http://loinc.org%%7C2085-9,http://loinc.org%%7C2089-1,http://loinc.org%%7C20454-5,"           \
    "http://loinc.org%%7C4548-4,http://loinc.org%%7C1558-6,http://loinc.org%%7C72166-2,"           \
    "http://loinc.org%%7C89574-8"
#define CHECKUP_BP      "http://loinc.org%%7C85354-9&category=urn:cityos:record-category%%7Ccheckup"
#define CHECKUP_MAX_OBS 200

struct checkup_walk {
    struct arena *a;
    struct homedoctor_hisayama_input *in;
    unsigned permitted;  /* consent_cats the service may read under cardio */
    char latest_day[11]; /* the date of the latest check-up ("" until one is seen) */
    int used, seen, nomem;
};

static int checkup_obs(const json_t *obs, void *ctx)
{
    struct checkup_walk *w = ctx;
    if (++w->seen > CHECKUP_MAX_OBS)
        return 1;
    enum consent_category cat = consent_category_of_resource(obs);
    if (cat == CONSENT_CAT_NONE || !(w->permitted & (1u << cat)))
        return 0; /* a category the citizen did not open to the service: not used */
    if (homedoctor_is_checkup(obs)) {
        /* the items of the latest check-up only (newest first: its date comes first) */
        const char *when = json_string_value(json_object_get(obs, "effectiveDateTime"));
        if (when == NULL || strlen(when) < 10)
            return 0;
        if (w->latest_day[0] == '\0')
            memcpy(w->latest_day, when, 10);
        else if (strncmp(w->latest_day, when, 10) != 0)
            return 0;
    }
    int rc = homedoctor_checkup_absorb(obs, w->a, w->in);
    if (rc < 0) {
        w->nomem = 1;
        return 1;
    }
    w->used += rc;
    return 0;
}

/* The verdict of the service's question under cardio. */
static int ask(const struct id_principal *p, const char *rtype, const char *subject,
               const char *cat, unsigned perm, struct arena *a, struct fhir_target *t,
               struct fhir_verdict *v)
{
    *t = (struct fhir_target){.rtype = rtype, .subject = subject, .category = cat};
    return fhir_access_decide(p, t, perm, HOMEDOCTOR_PURPOSE_CARDIO, NULL, a, v);
}

/* The alert: "somewhat high" when the changeable factors add at least the gain. */
static int mark_alert(struct arena *a, struct homedoctor_finding *f,
                      const struct homedoctor_hisayama_result *res)
{
    if (res->status != HOMEDOCTOR_HS_COMPUTED || res->risk_all_best < 0 ||
        res->risk - res->risk_all_best < HOMEDOCTOR_HISAYAMA_ALERT_GAIN)
        return 0;
    double gain = (res->risk - res->risk_all_best) * 100;
    char *en = arena_printf(
        a,
        "Your heart-disease risk is somewhat high: %s With every changeable factor at its best "
        "it would be %.1f%%, %.1f percentage points lower. (This alert is a cityos rule: it is "
        "raised when the changeable factors add %.0f points or more of 10-year risk; it is not a "
        "guideline risk category.)",
        f->text_en, res->risk_all_best * 100, gain, HOMEDOCTOR_HISAYAMA_ALERT_GAIN * 100);
    char *ja = arena_printf(
        a,
        "心臓病のリスクがやや高めです:%s 改善できる項目がすべて最良になれば %.1f%%"
        "(%.1fポイント低下)です。(このお知らせはシティOSの基準によるもので、改善できる項目が"
        "10年リスクを%.0fポイント以上押し上げているときに出します。ガイドラインのリスク区分では"
        "ありません。)",
        f->text_ja, res->risk_all_best * 100, gain, HOMEDOCTOR_HISAYAMA_ALERT_GAIN * 100);
    if (en == NULL || ja == NULL)
        return ERR_NOMEM;
    f->text_en = en;
    f->text_ja = ja;
    f->severity = HOMEDOCTOR_WARNING;
    f->outcome = "somewhat_high";
    return 0;
}

int hd_cardio_evaluate(struct store *s, struct arena *a, const struct id_principal *p,
                       const char *subject, int64_t now_ms, const struct hd_history *h,
                       const struct homedoctor_bp_result *bp, struct hd_outcome *o, struct err *e)
{
    struct fhir_target ck_t, lab_t, vit_t, pat_t, ra_t, cm_t;
    struct fhir_verdict ck, lab, vit, pat, ra, cm;
    if (ask(p, "Observation", subject, "checkups", ID_PERM_S, a, &ck_t, &ck) != 0 ||
        ask(p, "Observation", subject, "lab_results", ID_PERM_S, a, &lab_t, &lab) != 0 ||
        ask(p, "Observation", subject, "vitals", ID_PERM_S, a, &vit_t, &vit) != 0 ||
        ask(p, "Patient", subject, "contact", ID_PERM_R, a, &pat_t, &pat) != 0 ||
        ask(p, "RiskAssessment", subject, "alerts", ID_PERM_C, a, &ra_t, &ra) != 0 ||
        ask(p, "Communication", subject, "alerts", ID_PERM_C, a, &cm_t, &cm) != 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (!ck.permit || !pat.permit || !ra.permit || !cm.permit) {
        /* no cardio consent covering the service: nothing is read or written */
        log_debug("homedoctor: %s: no Hisayama risk: the cardio decisions refuse (%s)", subject,
                  !ck.permit    ? "check-ups"
                  : !pat.permit ? "age and sex"
                                : "alerts");
        return 0;
    }
    pat_t.id = subject;
    int rc = hd_record_decision(s, p, &ck_t, "search", &ck, e);
    if (rc == 0 && lab.permit)
        rc = hd_record_decision(s, p, &lab_t, "search", &lab, e);
    if (rc != 0)
        return rc;
    struct homedoctor_hisayama_input in;
    memset(&in, 0, sizeof in);
    in.patient_id = subject;
    in.age = -1;
    struct checkup_walk w = {.a = a, .in = &in};
    w.permitted = (1u << CONSENT_CAT_CHECKUPS) | (lab.permit ? 1u << CONSENT_CAT_LAB_RESULTS : 0);
    char from[40];
    clock_format_ms(now_ms - HOMEDOCTOR_CHECKUP_MAX_AGE, from, sizeof from);
    const char *q1 =
        arena_printf(a, "subject=Patient/%s&code=" CHECKUP_CODES "&date=ge%s&_sort=-date&_count=%d",
                     subject, from, CHECKUP_MAX_OBS);
    const char *q2 =
        arena_printf(a, "subject=Patient/%s&code=" CHECKUP_BP "&date=ge%s&_sort=-date&_count=%d",
                     subject, from, CHECKUP_MAX_OBS);
    if ((rc = hd_search_observations(s, a, q1, now_ms, checkup_obs, &w, e)) != 0)
        return rc;
    w.seen = 0;
    if ((rc = hd_search_observations(s, a, q2, now_ms, checkup_obs, &w, e)) != 0)
        return rc;
    if (w.nomem)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (w.latest_day[0] == '\0') {
        log_debug("homedoctor: %s: no Hisayama risk: no check-up", subject);
        return 0; /* no check-up: no risk to compute */
    }
    /* age and sex, from the regional ID (the Patient), read on the trail */
    if ((rc = hd_record_decision(s, p, &pat_t, "read", &pat, e)) != 0)
        return rc;
    struct id_person person;
    rc = id_person_get(s, subject, &person, a, e);
    if (rc != 0)
        return rc == ERR_NOTFOUND ? 0 : rc;
    in.age = id_age_at(person.birth_date, now_ms);
    in.sex = person.sex == ID_SEX_MALE     ? HOMEDOCTOR_SEX_MALE
             : person.sex == ID_SEX_FEMALE ? HOMEDOCTOR_SEX_FEMALE
                                           : HOMEDOCTOR_SEX_UNKNOWN;
    /* the 7-day home mean, when the vitals are open to the service under cardio too */
    const char **ids = NULL;
    size_t nids = 0;
    if (vit.permit && bp->status == HOMEDOCTOR_BP_CLASSIFIED && h->n > 0) {
        ids = arena_alloc(a, h->n * sizeof *ids);
        if (ids == NULL)
            return err_set(e, ERR_NOMEM, "out of memory");
        int64_t today = homedoctor_local_day(now_ms);
        for (size_t i = 0; i < h->n; i++) {
            int64_t d = homedoctor_local_day(h->r[i].time_ms);
            if (h->r[i].time_ms <= now_ms && d > today - HOMEDOCTOR_HOME_WINDOW_DAYS)
                ids[nids++] = h->r[i].obs_id;
        }
        if (nids > 0) {
            in.home_sbp = (struct homedoctor_measure){true, bp->mean_systolic, ids[0]};
            in.home_obs_ids = ids;
            in.n_home_obs = nids;
        }
    }
    log_info("homedoctor: %s: Hisayama from the check-up of %s (%d items used)", subject,
             w.latest_day, w.used);
    struct homedoctor_hisayama_result res;
    struct homedoctor_finding *f = NULL;
    rc = homedoctor_hisayama_evaluate(a, &in, now_ms, &res, &f, e);
    if (rc == ERR_INVALID) {
        log_warn("homedoctor: %s: the check-up could not be used: %s", subject, e->msg);
        err_clear(e);
        return 0;
    }
    if (rc != 0)
        return rc;
    if (mark_alert(a, f, &res) != 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    /* one alert per check-up and score: the same result is not announced every day */
    const char *scope =
        arena_printf(a, "checkup:%s;points:%d;outcome:%s", w.latest_day,
                     res.status == HOMEDOCTOR_HS_COMPUTED ? res.total : -1, f->outcome);
    if (scope == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct hd_publish how = {.ra_verdict = &ra, .comm_verdict = &cm, .comm_scope = scope};
    return hd_publish_finding(s, a, p, &how, subject, f, clock_now_ms(), o, e);
}
