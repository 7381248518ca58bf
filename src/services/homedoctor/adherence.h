/* adherence.h - rule 6: medication adherence from the dose events a pill box reports (issue 6,
 * STORY.md S7 "missed medication raises an alert to the carer the citizen named").
 *
 * ../shared/CLINICAL.md has no adherence rule: these are cityos's own rules, with thresholds
 * taken from the published literature each rule cites, kept in ONE table
 * (homedoctor_adherence_rules(), adherence_dose.c). A pill box reports each scheduled dose as
 * taken, taken late, or missed (ingest stores it as a MedicationAdministration whose
 * effectiveDateTime is the scheduled time); the rules count those reports, they never infer a
 * dose from a schedule of their own. Pure functions over in-memory inputs, like homedoctor.h.
 * docs/internals/homedoctor.md, "Rule 6". */
#ifndef COS_HOMEDOCTOR_ADHERENCE_H
#define COS_HOMEDOCTOR_ADHERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/arena.h"
#include "base/err.h"
#include "events/event.h"
#include "services/homedoctor/homedoctor.h"
#include "store/store.h"

enum homedoctor_dose_status {
    HOMEDOCTOR_DOSE_TAKEN = 0,  /* taken on time */
    HOMEDOCTOR_DOSE_LATE = 1,   /* taken, late: counts as taken */
    HOMEDOCTOR_DOSE_MISSED = 2, /* not taken */
};

/* One scheduled dose as the pill box reported it. */
struct homedoctor_dose {
    const char *id;       /* the MedicationAdministration id (required) */
    int64_t scheduled_ms; /* the scheduled time, UTC ms */
    enum homedoctor_dose_status status;
};

enum homedoctor_adherence_kind {
    /* threshold or more scheduled doses in a row, the newest included, reported missed */
    HOMEDOCTOR_ADH_MISSED_IN_A_ROW = 0,
    /* fewer than threshold percent of the doses scheduled in the last window_days x 24 h taken
     * (on time or late), when at least min_scheduled doses were scheduled */
    HOMEDOCTOR_ADH_TAKEN_PROPORTION = 1,
};

/* One row of the rule table. */
struct homedoctor_adherence_rule {
    enum homedoctor_adherence_kind kind;
    const char *rule_id;  /* stable: "cityos.medication_missed_in_a_row" ... */
    const char *outcome;  /* the finding's outcome code */
    int threshold;        /* in a row: missed doses (>=); proportion: percent taken (<) */
    int window_days;      /* proportion: the rolling window; 0 otherwise */
    int min_scheduled;    /* proportion: doses scheduled in the window needed; 0 otherwise */
    const char *citation; /* the source of the threshold, and that it is cityos's own rule */
};

/* The rule table (the one place the thresholds live) and its length. */
const struct homedoctor_adherence_rule *homedoctor_adherence_rules(size_t *n);
#define HOMEDOCTOR_ADHERENCE_NRULES 2

/* Bounds: the doses looked at (the service reads this many days back) and how many at most. */
#define HOMEDOCTOR_DOSE_HISTORY_DAYS 35
#define HOMEDOCTOR_DOSE_MAX          2000
#define HOMEDOCTOR_DOSE_LIST_MAX     10 /* dose times listed in a text (all are in the basis) */

/* What one rule found as of now. */
struct homedoctor_adherence_eval {
    const struct homedoctor_adherence_rule *rule;
    bool fired;
    bool insufficient; /* proportion: fewer than min_scheduled doses in the window */
    int in_a_row;      /* missed doses in a row ending at the newest dose */
    int scheduled;     /* doses counted: the window (proportion) or the run (in a row) */
    int taken, late, missed;
    double percent_taken; /* proportion: 100 * (taken + late) / scheduled, rounded to 0.1 */
    /* When fired: the episode, so that one episode alerts once. episode_ms is the scheduled
     * time of its first dose (the first missed dose of the run; the first dose at which the
     * proportion fell below the threshold and stayed there). When the episode reaches back
     * to the start of the history (it may have begun earlier), episode_ms is 0 and the episode
     * is keyed by the local week of now instead (at most one alert a week). */
    int64_t episode_ms;
    int64_t episode_week; /* floor(local day of now / 7) when episode_ms is 0 */
};

/* Evaluates every rule of the table as of now_ms over the doses reported (any order; those
 * scheduled after now_ms or at/before history_from_ms are ignored): res[i] and out[i] for rule
 * i of the table (both arrays of HOMEDOCTOR_ADHERENCE_NRULES). out[i] is a finding (a warning
 * to the citizen, triggers HOMEDOCTOR_TRIG_MISSED_DOSES, basis the doses used, texts listing
 * them) when rule i fired, else NULL. Returns 0, ERR_INVALID (a dose without an id, an unknown
 * status, more than HOMEDOCTOR_DOSE_MAX doses, history_from_ms >= now_ms) or ERR_NOMEM. */
int homedoctor_adherence_doses_evaluate(struct arena *a, const struct homedoctor_dose *d, size_t n,
                                        int64_t history_from_ms, int64_t now_ms,
                                        struct homedoctor_adherence_eval *res,
                                        struct homedoctor_finding **out, struct err *e);

/* The key scope of a fired rule's episode ("episode:<ms>" or "week:<n>"), in a; NULL when not
 * fired or out of memory. */
const char *homedoctor_adherence_episode_scope(struct arena *a,
                                               const struct homedoctor_adherence_eval *r);

/* ---- the service side (adherence_service.c) ---- */

/* The purpose under which the home doctor reads a citizen's dose events (category
 * medications) and writes adherence alerts: a purpose of its own, so that opting in to
 * medication monitoring is a separate choice from blood pressure. */
#define HOMEDOCTOR_PURPOSE_ADHERENCE "adherence"

/* One stored MedicationAdministration as a dose: one with the pill-box dose extension
 * (urn:cityos:pillbox-dose), an id and an effectiveDateTime; its FHIR status decides
 * (completed: taken, or late when the extension says so; not-done: missed; anything else, e.g.
 * entered-in-error: not a dose). The id is copied into a. Returns 1 (out filled), 0 (not a
 * dose: e says why) or ERR_NOMEM. */
int homedoctor_dose_from_administration(const json_t *ma, struct arena *a,
                                        struct homedoctor_dose *out, struct err *e);

/* Is code (the "code" of a reading.stored event's payload) a pill box's dose event? */
bool hd_adherence_is_dose(const char *code);

/* Handles one dose event as of now_ms (its scheduled time): hd_adherence_evaluate() for its
 * citizen (*refused: the consent refused it). The home doctor's consumer (service.c,
 * on_readings) calls it for the events hd_adherence_is_dose() names, so that each event is
 * still delivered once to one consumer, in order per citizen with the blood pressures; in a
 * batch its writes are queued with the batch's. Returns 0 (handled) or an ERR_* (retried). */
int hd_adherence_on_dose(struct store *s, const struct event *ev, int64_t now_ms, int *refused,
                         struct err *e);

/* Counts one dose event in /metrics once what it wrote is durable: failed, or else refused or
 * evaluated. */
void hd_adherence_count(int failed, int refused);

/* Adds the adherence metrics; homedoctor_service_register() calls it once. Returns 0 or
 * ERR_NOMEM. */
int hd_adherence_register(struct err *e);

/* Evaluates the citizen's adherence as of now_ms, under their consent for
 * HOMEDOCTOR_PURPOSE_ADHERENCE (search medications, create alerts): nothing read or written
 * without it (the refusal on their trail; *refused, may be NULL, says so). *alerts (may be
 * NULL): Communications newly written. Returns 0 or an ERR_* (retry). (The consumer runs it;
 * exposed for tests.) */
int hd_adherence_evaluate(struct store *s, const char *subject, int64_t now_ms, int *refused,
                          int *alerts, struct err *e);

#endif
