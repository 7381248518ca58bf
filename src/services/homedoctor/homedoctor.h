/* homedoctor.h - the home doctor's clinical rules as pure functions over in-memory inputs (no
 * store, no HTTP): JSH2019 blood-pressure categories, a rise against the personal baseline, a
 * nudge when readings stop, the Hisayama 10-year ASCVD risk, pill-box adherence, the advice
 * catalogue, and FHIR R4 RiskAssessment / Communication renderings of the findings.
 *
 * Every rule that fires (or reports a status) produces one struct homedoctor_finding that
 * explains itself: the rule id, the guideline citation, the resources used (basis), the numbers
 * computed, and a text in Japanese and in English. Findings and everything they point to are
 * allocated in the arena the caller passes and die with it; static strings (rule ids, citations,
 * advice texts) are owned by the library. See docs/internals/homedoctor.md. */
#ifndef COS_HOMEDOCTOR_H
#define COS_HOMEDOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/arena.h"
#include "base/err.h"

/* ---- time: days are local calendar days in Asia/Tokyo (UTC+9, no daylight saving) ---- */

#define HOMEDOCTOR_TZ_OFFSET_MS (9LL * 3600 * 1000)
#define HOMEDOCTOR_DAY_MS       (24LL * 3600 * 1000)

/* The local (UTC+9) day number of an instant: days since 1970-01-01 in Tokyo. */
int64_t homedoctor_local_day(int64_t utc_ms);

/* ---- findings ---- */

enum homedoctor_severity {
    HOMEDOCTOR_INFO = 0,    /* a status report (category, risk, not enough data) */
    HOMEDOCTOR_NOTICE = 1,  /* a gentle nudge */
    HOMEDOCTOR_WARNING = 2, /* an alert: a rise, missed doses, a high category */
};

/* Who the finding is addressed to, before consent filtering (the caller applies consent:
 * family members and the family doctor only with the matching consent). */
enum homedoctor_recipient {
    HOMEDOCTOR_TO_CITIZEN = 1u << 0,
    HOMEDOCTOR_TO_CARER = 1u << 1, /* the carer the citizen named */
};

/* What a finding says that advice can respond to (homedoctor_advice_select). */
enum homedoctor_trigger {
    HOMEDOCTOR_TRIG_BP_HIGH_NORMAL = 0, /* home/office category high-normal */
    HOMEDOCTOR_TRIG_BP_ELEVATED_UP = 1, /* category elevated or any hypertension grade */
    HOMEDOCTOR_TRIG_BP_RISE = 2,        /* rise against the personal baseline */
    HOMEDOCTOR_TRIG_READINGS_MISSING = 3,
    HOMEDOCTOR_TRIG_WRIST_DEVICE = 4, /* readings used came from a wrist monitor */
    HOMEDOCTOR_TRIG_RISK_SBP = 5,     /* Hisayama: SBP points > 0 */
    HOMEDOCTOR_TRIG_RISK_SMOKING = 6,
    HOMEDOCTOR_TRIG_RISK_NO_EXERCISE = 7,
    HOMEDOCTOR_TRIG_RISK_LDL = 8, /* LDL-C points > 0 */
    HOMEDOCTOR_TRIG_RISK_HDL = 9, /* HDL-C points > 0 */
    HOMEDOCTOR_TRIG_MISSED_DOSES = 10,
    HOMEDOCTOR_TRIG_COUNT = 11,
};

/* One number a rule computed or used, for the explanation ("mean_systolic", 138.4, "mm[Hg]"). */
struct homedoctor_number {
    const char *name; /* static */
    double value;
    const char *unit; /* static UCUM unit, "" when none */
};

struct homedoctor_finding {
    const char *rule_id;  /* static, e.g. "jsh2019.home_bp_category" */
    const char *citation; /* static: the guideline or paper, with table and page */
    const char
        *outcome; /* static machine code of the result, e.g. "grade_1", "insufficient_data" */
    enum homedoctor_severity severity;
    unsigned recipients; /* enum homedoctor_recipient bits */
    unsigned triggers;   /* 1u << enum homedoctor_trigger */
    char *text_ja;       /* arena */
    char *text_en;       /* arena */
    const char **basis;  /* arena: "Observation/<id>", "Device/<id>", "Patient/<id>" */
    size_t n_basis;
    struct homedoctor_number *numbers; /* arena */
    size_t n_numbers;
    double probability;   /* a predicted probability 0..1 (RiskAssessment), or -1 when none */
    const char *predicts; /* static: the event the probability is for, or NULL */
    int64_t evaluated_ms; /* the "now" of the evaluation */
};

/* The value of the number called name in f, or NAN when f has none. */
double homedoctor_finding_number(const struct homedoctor_finding *f, const char *name);

/* ---- blood pressure readings ---- */

enum homedoctor_device {
    HOMEDOCTOR_DEVICE_UPPER_ARM = 0, /* an upper-arm cuff: what JSH2019's home values assume */
    HOMEDOCTOR_DEVICE_WRIST = 1,     /* a wrist monitor: labelled in every text that uses it */
    HOMEDOCTOR_DEVICE_UNKNOWN = 2,
};

struct homedoctor_bp_reading {
    const char *obs_id; /* the Observation id (without "Observation/"); required */
    int64_t time_ms;    /* effective time, UTC milliseconds */
    double systolic;    /* mmHg, 40..300 */
    double diastolic;   /* mmHg, 20..250, below systolic */
    enum homedoctor_device device;
};

/* Bounds on inputs (loops over caller data are bounded). */
#define HOMEDOCTOR_MAX_READINGS 100000

/* Checks one reading: an id, plausible values (systolic 40..300, diastolic 20..250, systolic >
 * diastolic), a known device kind. Returns 0 or ERR_INVALID with e naming index i. */
int homedoctor_bp_reading_check(const struct homedoctor_bp_reading *r, size_t i, struct err *e);

/* ---- rule 1: JSH2019 blood-pressure category (Table 2-5) ---- */

enum homedoctor_bp_setting {
    HOMEDOCTOR_BP_HOME = 0,   /* home column of Table 2-5 */
    HOMEDOCTOR_BP_OFFICE = 1, /* office (clinic, check-up) column */
};

enum homedoctor_bp_category {
    HOMEDOCTOR_BP_NORMAL = 0,
    HOMEDOCTOR_BP_HIGH_NORMAL = 1,
    HOMEDOCTOR_BP_ELEVATED = 2,
    HOMEDOCTOR_BP_GRADE1 = 3,
    HOMEDOCTOR_BP_GRADE2 = 4,
    HOMEDOCTOR_BP_GRADE3 = 5,
};

struct homedoctor_bp_class {
    enum homedoctor_bp_category category; /* the higher of the two below */
    enum homedoctor_bp_category systolic_category;
    enum homedoctor_bp_category diastolic_category; /* never HIGH_NORMAL: the table has no
                                                     * diastolic high-normal band */
    bool isolated_systolic; /* home: SBP >= 135 and DBP < 85; office: >= 140 and < 90 */
};

/* Classifies one (mean) value pair by the column of Table 2-5 for setting. Pure. */
void homedoctor_bp_classify(enum homedoctor_bp_setting setting, double systolic, double diastolic,
                            struct homedoctor_bp_class *out);

/* "normal", "high_normal", "elevated", "grade_1", "grade_2", "grade_3". */
const char *homedoctor_bp_category_code(enum homedoctor_bp_category c);

/* The JSH2019 treatment target for age and setting: *sys / *dia are the upper limits (exclusive)
 * (home: <125/75 under 75 years, <135/85 at 75 and over; office: <130/80 and <140/90). Returns
 * 0, or ERR_INVALID when age < 0 (unknown). */
int homedoctor_bp_target(enum homedoctor_bp_setting setting, int age, double *sys, double *dia);

/* The home-BP rule's constants (JSH2019: at least 5 days, ideally 7). */
#define HOMEDOCTOR_HOME_WINDOW_DAYS 7
#define HOMEDOCTOR_HOME_MIN_DAYS    5

enum homedoctor_bp_status {
    HOMEDOCTOR_BP_CLASSIFIED = 0,
    HOMEDOCTOR_BP_INSUFFICIENT = 1, /* readings on fewer than HOMEDOCTOR_HOME_MIN_DAYS days */
    HOMEDOCTOR_BP_NO_READINGS = 2,  /* nothing in the window: no finding */
};

struct homedoctor_bp_result {
    enum homedoctor_bp_status status;
    int days_with_readings; /* distinct local days in the window with a reading */
    size_t n_readings;      /* readings used */
    double mean_systolic;   /* rounded to 0.1 mmHg; classification uses these */
    double mean_diastolic;
    struct homedoctor_bp_class cls; /* valid when CLASSIFIED */
    int target_met;                 /* 1 met, 0 not met, -1 unknown (no age, or not classified) */
    size_t n_wrist;                 /* readings used that came from a wrist monitor */
    size_t n_unknown_device;
};

/* Home BP: the mean of every reading in the last HOMEDOCTOR_HOME_WINDOW_DAYS local days (today,
 * the day of now_ms, and the 6 before it; readings after now_ms are ignored), classified when
 * readings exist on at least HOMEDOCTOR_HOME_MIN_DAYS distinct days. age (years, -1 unknown)
 * selects the treatment target. Fills *res; sets *out to a finding in a (or NULL when the window
 * has no reading). Returns 0, ERR_INVALID (a reading failed homedoctor_bp_reading_check, or
 * n too large), or ERR_NOMEM. */
int homedoctor_home_bp_evaluate(struct arena *a, const struct homedoctor_bp_reading *r, size_t n,
                                int64_t now_ms, int age, struct homedoctor_bp_result *res,
                                struct homedoctor_finding **out, struct err *e);

/* Office BP (a check-up): the mean of the n >= 1 readings given, classified by the office
 * column, target by age. Same ownership and errors as homedoctor_home_bp_evaluate. */
int homedoctor_office_bp_evaluate(struct arena *a, const struct homedoctor_bp_reading *r, size_t n,
                                  int64_t now_ms, int age, struct homedoctor_bp_result *res,
                                  struct homedoctor_finding **out, struct err *e);

/* ---- rule 2: a rise against the personal baseline (no published threshold; see the docs) ---- */

#define HOMEDOCTOR_RISE_SYS_MMHG       20.0 /* Lewington et al., Lancet 2002: 20/10 mmHg */
#define HOMEDOCTOR_RISE_DIA_MMHG       10.0
#define HOMEDOCTOR_RISE_RECENT_DAYS    3  /* today and the 2 days before */
#define HOMEDOCTOR_RISE_RECENT_MIN     2  /* readings needed in the recent window */
#define HOMEDOCTOR_RISE_BASELINE_FIRST 35 /* baseline: local days today-35 .. today-8 */
#define HOMEDOCTOR_RISE_BASELINE_LAST  8
#define HOMEDOCTOR_RISE_BASELINE_MIN   10 /* readings needed in the baseline */

enum homedoctor_rise_status {
    HOMEDOCTOR_RISE_NONE = 0,           /* evaluated, no rise */
    HOMEDOCTOR_RISE_FOUND = 1,          /* rise: a finding */
    HOMEDOCTOR_RISE_NO_BASELINE = 2,    /* fewer than HOMEDOCTOR_RISE_BASELINE_MIN */
    HOMEDOCTOR_RISE_TOO_FEW_RECENT = 3, /* fewer than HOMEDOCTOR_RISE_RECENT_MIN */
};

struct homedoctor_rise_result {
    enum homedoctor_rise_status status;
    size_t n_recent, n_baseline;
    double recent_sys, recent_dia;     /* means, rounded to 0.1 mmHg */
    double baseline_sys, baseline_dia; /* means, rounded to 0.1 mmHg */
    double delta_sys, delta_dia;       /* recent - baseline, from the rounded means */
};

/* Sets *out to a finding only when the recent mean systolic >= baseline + 20 mmHg or the recent
 * mean diastolic >= baseline + 10 mmHg; otherwise *out = NULL and res says why. Returns 0,
 * ERR_INVALID or ERR_NOMEM. */
int homedoctor_rise_evaluate(struct arena *a, const struct homedoctor_bp_reading *r, size_t n,
                             int64_t now_ms, struct homedoctor_rise_result *res,
                             struct homedoctor_finding **out, struct err *e);

/* ---- rule 3: readings missing (a gentle nudge) ---- */

#define HOMEDOCTOR_NUDGE_DAYS 3 /* full local days without a reading */

/* device_id: the measuring device; last_obs_id and last_ms: its latest reading (the history).
 * A nudge when at least HOMEDOCTOR_NUDGE_DAYS full local days lie between the day of the last
 * reading and today. *days_missing (may be NULL) gets that count. *out = NULL when no nudge.
 * Returns 0, ERR_INVALID (missing ids) or ERR_NOMEM. */
int homedoctor_nudge_evaluate(struct arena *a, const char *device_id, const char *last_obs_id,
                              int64_t last_ms, int64_t now_ms, int *days_missing,
                              struct homedoctor_finding **out, struct err *e);

/* ---- rule 4: Hisayama 10-year ASCVD risk (Honda et al., J Atheroscler Thromb 2022) ---- */

enum homedoctor_sex { HOMEDOCTOR_SEX_UNKNOWN = 0, HOMEDOCTOR_SEX_MALE, HOMEDOCTOR_SEX_FEMALE };

struct homedoctor_measure {
    bool known;
    double value;
    const char *obs_id; /* the Observation it came from (required when known) */
};

struct homedoctor_flag {
    bool known;
    bool yes;
    const char *obs_id; /* the Observation (or questionnaire answer) it came from */
};

enum homedoctor_hisayama_factor {
    HOMEDOCTOR_HF_AGE = 0,
    HOMEDOCTOR_HF_SEX,
    HOMEDOCTOR_HF_SBP,
    HOMEDOCTOR_HF_DIABETES,
    HOMEDOCTOR_HF_HDL,
    HOMEDOCTOR_HF_LDL,
    HOMEDOCTOR_HF_PROTEINURIA,
    HOMEDOCTOR_HF_SMOKING,
    HOMEDOCTOR_HF_NO_EXERCISE,
    HOMEDOCTOR_HF_COUNT,
};

struct homedoctor_hisayama_input {
    const char *patient_id; /* required: age and sex come from the Patient */
    int age;                /* completed years, -1 unknown */
    enum homedoctor_sex sex;
    struct homedoctor_measure office_sbp; /* the check-up's systolic BP (preferred) */
    struct homedoctor_measure home_sbp;   /* the 7-day home mean (used only without office_sbp) */
    const char *const *home_obs_ids;      /* the home readings behind home_sbp */
    size_t n_home_obs;
    struct homedoctor_flag diabetes;
    struct homedoctor_measure hdl; /* mg/dL */
    struct homedoctor_measure ldl; /* mg/dL */
    struct homedoctor_flag proteinuria;
    struct homedoctor_flag smoking;          /* current smoking */
    struct homedoctor_flag regular_exercise; /* yes = exercises regularly (0 points) */
};

enum homedoctor_hisayama_status {
    HOMEDOCTOR_HS_COMPUTED = 0,
    HOMEDOCTOR_HS_AGE_OUT_OF_RANGE = 1, /* the model covers ages 40-84 */
    HOMEDOCTOR_HS_MISSING_INPUTS = 2,   /* missing_mask says which */
};

enum homedoctor_sbp_source { HOMEDOCTOR_SBP_NONE = 0, HOMEDOCTOR_SBP_OFFICE, HOMEDOCTOR_SBP_HOME };

struct homedoctor_hisayama_result {
    enum homedoctor_hisayama_status status;
    unsigned missing_mask; /* 1u << enum homedoctor_hisayama_factor */
    enum homedoctor_sbp_source sbp_source;
    double sbp_used;
    int points[HOMEDOCTOR_HF_COUNT];
    int total;
    double risk; /* 0..1 */
    /* for each modifiable factor (SBP, HDL, LDL, smoking, exercise) with points > 0: the risk if
     * it moved to its best band, others unchanged; -1 otherwise */
    double risk_if_best[HOMEDOCTOR_HF_COUNT];
    double risk_all_best; /* every modifiable factor at its best band */
};

/* The points tables (CLINICAL.md, from the paper's score sheet). Age: -1 outside 40-84. */
int homedoctor_hisayama_age_points(int age);
int homedoctor_hisayama_sbp_points(double sbp);
int homedoctor_hisayama_hdl_points(double hdl);
int homedoctor_hisayama_ldl_points(double ldl);

/* 10-year risk = 1 - 0.9696 ^ exp(0.144 * total - 2.4767). */
double homedoctor_hisayama_risk(int total);

/* true for the factors a citizen can change by lifestyle or treatment (SBP, HDL, LDL, smoking,
 * exercise); age, sex, diabetes and proteinuria are not counted as modifiable (see the docs). */
bool homedoctor_hisayama_modifiable(enum homedoctor_hisayama_factor f);

/* "age", "sex", "sbp", "diabetes", "hdl", "ldl", "proteinuria", "smoking", "no_exercise". */
const char *homedoctor_hisayama_factor_code(enum homedoctor_hisayama_factor f);

/* Always sets *out to a finding (computed, not applicable, or missing inputs). Returns 0,
 * ERR_INVALID (no patient_id, a known value without its obs_id, an implausible value) or
 * ERR_NOMEM. */
int homedoctor_hisayama_evaluate(struct arena *a, const struct homedoctor_hisayama_input *in,
                                 int64_t now_ms, struct homedoctor_hisayama_result *res,
                                 struct homedoctor_finding **out, struct err *e);

/* ---- rule 5: medication adherence from a pill-box device ---- */

#define HOMEDOCTOR_DOSE_TOLERANCE_MS          (2LL * 3600 * 1000) /* an opening within +-2 h counts */
#define HOMEDOCTOR_MAX_DOSES_PER_DAY          8
#define HOMEDOCTOR_ADHERENCE_MAX_DAYS         31
#define HOMEDOCTOR_ADHERENCE_ALERT_MIN_MISSED 1

struct homedoctor_dose_schedule {
    int n_times;                               /* 1..HOMEDOCTOR_MAX_DOSES_PER_DAY */
    int minutes[HOMEDOCTOR_MAX_DOSES_PER_DAY]; /* local time of day, 0..1439, ascending */
};

struct homedoctor_pillbox_event {
    const char *id; /* the event's Observation id, or NULL */
    int64_t time_ms;
};

struct homedoctor_adherence_result {
    int scheduled; /* doses whose +-2 h window closed within [from_ms, now_ms] */
    int taken;
    int missed;
    int pending;        /* doses in the window whose +-2 h window is still open */
    int64_t *missed_ms; /* arena: the scheduled times of the missed doses */
};

/* Counts the doses of schedule scheduled in [from_ms, now_ms) (at most
 * HOMEDOCTOR_ADHERENCE_MAX_DAYS days) against the pill-box openings: a dose is taken when an
 * opening not already used by another dose lies within +-2 h of its time (doses matched in time
 * order, each to the earliest such opening). *out gets an alert to the citizen and the carer
 * when missed >= HOMEDOCTOR_ADHERENCE_ALERT_MIN_MISSED, else NULL. Returns 0, ERR_INVALID or
 * ERR_NOMEM. */
int homedoctor_adherence_evaluate(struct arena *a, const char *device_id,
                                  const struct homedoctor_dose_schedule *schedule,
                                  const struct homedoctor_pillbox_event *ev, size_t n,
                                  int64_t from_ms, int64_t now_ms,
                                  struct homedoctor_adherence_result *res,
                                  struct homedoctor_finding **out, struct err *e);

/* ---- advice catalogue ---- */

enum homedoctor_advice_id {
    HOMEDOCTOR_ADV_SALT = 0,
    HOMEDOCTOR_ADV_DIET,
    HOMEDOCTOR_ADV_EXERCISE,
    HOMEDOCTOR_ADV_WEIGHT,
    HOMEDOCTOR_ADV_ALCOHOL,
    HOMEDOCTOR_ADV_SMOKING,
    HOMEDOCTOR_ADV_MEASURE_ROUTINE,
    HOMEDOCTOR_ADV_UPPER_ARM_CUFF,
    HOMEDOCTOR_ADV_MEDICATION_ROUTINE,
    HOMEDOCTOR_ADV_TALK_TO_DOCTOR,
    HOMEDOCTOR_ADV_COUNT,
};

struct homedoctor_advice {
    enum homedoctor_advice_id id;
    const char *code; /* stable: "salt", "diet", ... */
    const char *text_ja;
    const char *text_en;
    const char *citation; /* where its numbers come from, "" when it has none */
};

/* The catalogue entry, or NULL for an id out of range. */
const struct homedoctor_advice *homedoctor_advice_get(enum homedoctor_advice_id id);

/* The selection table: the advice (1u << id bits) a trigger calls for. */
unsigned homedoctor_advice_for_trigger(enum homedoctor_trigger t);

/* The advice for a set of findings: the union of the table rows of their triggers. */
unsigned homedoctor_advice_select(const struct homedoctor_finding *const *f, size_t n);

/* ---- FHIR R4 renderings (new jansson references; the caller decrefs) ---- */

/* A RiskAssessment for f: status final, subject Patient/<patient_id>, occurrence = evaluated
 * time, method = the rule, basis = f->basis, prediction (probabilityDecimal when f has one,
 * else qualitativeRisk = f->outcome), note = the two texts. NULL with e set on failure. */
json_t *homedoctor_fhir_risk_assessment(const struct homedoctor_finding *f, const char *patient_id,
                                        struct err *e);

/* A Communication carrying f's texts: status completed, subject Patient/<patient_id>,
 * recipient Patient/<patient_id> (always) and carer_ref (e.g. "RelatedPerson/<id>") when the
 * finding is addressed to the carer; ERR_INVALID when it is and carer_ref is NULL. */
json_t *homedoctor_fhir_communication(const struct homedoctor_finding *f, const char *patient_id,
                                      const char *carer_ref, struct err *e);

#endif
