/* service.h - the home doctor as a running city service (issue 6 parts 4 and 5): a consumer of
 * the outbox's "reading.stored" events that reads a citizen's home blood pressures under their
 * consent, runs the rules of homedoctor.h, and writes the findings as FHIR RiskAssessment and
 * Communication through the same access decision and audit as any FHIR write; and the alerts
 * it sent, listed for the citizen's inbox. docs/internals/homedoctor.md, "Service". */
#ifndef COS_HOMEDOCTOR_SERVICE_H
#define COS_HOMEDOCTOR_SERVICE_H

#include <jansson.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/err.h"
#include "base/ids.h"
#include "services/homedoctor/homedoctor.h"
#include "store/store.h"

/* The consumer name (the key of its delivery state: never change it), the purpose the service
 * reads and writes for, the name of the OAuth client it acts as, and the identifier system of
 * its findings (the value is homedoctor_service_finding_key()). */
#define HOMEDOCTOR_CONSUMER     "homedoctor"
#define HOMEDOCTOR_PURPOSE      "homedoctor"
#define HOMEDOCTOR_CLIENT_NAME  "cityos home doctor (AIホームドクター)"
#define HOMEDOCTOR_FINDING_SYS  "urn:cityos:homedoctor-finding"
#define HOMEDOCTOR_LOINC_BP     "85354-9"
#define HOMEDOCTOR_HISTORY_DAYS 35   /* the rise rule's baseline reaches back 35 local days */
#define HOMEDOCTOR_HISTORY_MAX  1000 /* readings read at most (newest first) */
/* An alert (Communication) is sent only for an evaluation at most this old when it runs: a
 * backfill of old readings updates the assessments but does not alert about the past. */
#define HOMEDOCTOR_ALERT_FRESH_MS (48LL * 3600 * 1000)
#define HOMEDOCTOR_INBOX_MAX      50 /* alerts listed in the inbox, newest first */
/* The Hisayama risk (rule 4) is computed under this purpose, from check-ups this old at most. */
#define HOMEDOCTOR_PURPOSE_CARDIO  "cardio"
#define HOMEDOCTOR_CHECKUP_MAX_AGE (400LL * 24 * 3600 * 1000) /* about 13 months */
/* A Hisayama risk becomes an alert ("somewhat high") when the changeable factors add at least
 * this much absolute 10-year risk (risk - risk with every changeable factor at its best band):
 * a cityos rule, not a guideline band (docs/internals/homedoctor.md, "Service", rule 4). */
#define HOMEDOCTOR_HISAYAMA_ALERT_GAIN 0.05
/* The missing-readings scan (rule 3): first run this long after start-up, then this often. */
#define HOMEDOCTOR_SCAN_FIRST_MS (2LL * 1000)
#define HOMEDOCTOR_SCAN_EVERY_MS (3600LL * 1000)

/* Sets the inbox's alert source; then, when cfg names an MQTT broker (readings reach the
 * service only through ingest), finds or registers the service's OAuth client (a confidential
 * client whose secret nobody keeps: no token is ever issued to it; the service acts as it
 * in-process) and registers the consumer for EVENT_READING_STORED. Call once at start-up,
 * before event_worker_start(). Returns 0 or an ERR_* with e set. */
int homedoctor_service_register(struct store *s, const struct config *cfg, struct err *e);

/* Finds the service's OAuth client by its name (HOMEDOCTOR_CLIENT_NAME), or registers it (a
 * confidential client with client_credentials and the service's system scopes, whose secret
 * is thrown away). `cityos demo` calls it too, so that the demo's purposes can name the
 * service as a recipient before the server first starts. Returns 0 with id filled, or an
 * ERR_*. */
int homedoctor_service_client_ensure(struct store *s, char id[IDS_LEN + 1], struct err *e);

/* Stops the missing-readings scan thread that homedoctor_service_register() started (waits for
 * a scan in progress). Call before the store closes. Safe when none runs. */
void homedoctor_service_stop(void);

/* One missing-readings scan (rule 3) at now_ms: for every citizen with an active blood-pressure
 * device, under their homedoctor consent, a nudge when no reading came for
 * HOMEDOCTOR_NUDGE_DAYS full local days (and at most HOMEDOCTOR_HISTORY_DAYS: a device given
 * up is not nudged forever). Idempotent per local day. *nudged (may be NULL): nudges newly
 * written. Returns 0 or an ERR_*. (The thread runs it; exposed for the lead's ticker and
 * tests.) */
int homedoctor_service_scan(struct store *s, int64_t now_ms, int *nudged, struct err *e);

/* The client id the service acts as ("" before homedoctor_service_register()). */
const char *homedoctor_service_client_id(void);

/* The inbox source (consent_inbox_source_fn, ctx: the store): the subject's Communications
 * from the home doctor, newest first, at most HOMEDOCTOR_INBOX_MAX, each as
 * homedoctor_inbox_item() shows it. Returns 0 with *out a new array, or an ERR_*. */
int homedoctor_inbox_alerts(struct store *s, const char *subject, struct arena *a, json_t **out,
                            void *ctx, struct err *e);

/* ---- pure glue (service_map.c), unit-tested ---- */

/* One stored Observation as a home blood-pressure reading: a final/amended/corrected
 * Observation with the LOINC code 85354-9, an id, effectiveDateTime, the systolic (8480-6) and
 * diastolic (8462-4) components in mm[Hg]; the device kind from bodySite (SNOMED 8205005
 * wrist, 40983000 upper arm; else unknown). Strings are copied into a. Returns 1 (out filled and
 * homedoctor_bp_reading_check passed), 0 (not a usable reading: e says why), or ERR_NOMEM. */
int homedoctor_reading_from_observation(const json_t *obs, struct arena *a,
                                        struct homedoctor_bp_reading *out, struct err *e);

/* The deterministic identifier value of a finding's resource (64 lower-case hex: SHA-256 of
 * "cityos.homedoctor.finding.v1", the resource type, the rule, the outcome, the citizen, and
 * then for a RiskAssessment its evaluation time and every basis reference, for a Communication
 * the local day (Asia/Tokyo) of the evaluation: one alert per rule and outcome a day). Each
 * field is followed by a 0x00 byte. Returns 0, or ERR_INVALID for a missing field. */
int homedoctor_service_finding_key(const struct homedoctor_finding *f, const char *rtype,
                                   const char *subject, char out[65], struct err *e);

/* Like homedoctor_service_finding_key(), but with the text scope in place of the time part
 * (the local day of a Communication, the instant of a RiskAssessment): the nudge's assessment
 * is keyed by its day ("day:<n>"), the Hisayama alert by its check-up and score. */
int homedoctor_service_finding_key_scoped(const struct homedoctor_finding *f, const char *rtype,
                                          const char *subject, const char *scope, char out[65],
                                          struct err *e);

/* Is this stored blood-pressure Observation a check-up's (office) reading rather than a home
 * one (a category coding urn:cityos:record-category|checkup)? homedoctor_reading_from_observation
 * skips those. */
int homedoctor_is_checkup(const json_t *obs);

/* What one stored Observation tells the Hisayama score (newest first: only a factor still
 * unknown is filled): a check-up's blood pressure (office SBP), HDL-C 2085-9 and LDL-C 2089-1
 * (mg/dL), urine protein 20454-5 (SNOMED CT: 1+ or more is proteinuria; trace is not), HbA1c
 * 4548-4 (%) and fasting glucose 1558-6 (mg/dL) for diabetes (HbA1c >= 6.5 or fasting glucose
 * >= 126: yes; measured below: no), smoking status 72166-2 (SNOMED CT current / former /
 * never), exercise days per week 89574-8 (regular: >= 2). Ids are copied into a. Returns 1
 * when it used the Observation, 0 when not (not one of these, or a value it cannot read), or
 * ERR_NOMEM. */
int homedoctor_checkup_absorb(const json_t *obs, struct arena *a,
                              struct homedoctor_hisayama_input *in);

/* The inbox's view of one stored home-doctor Communication (body: its JSON text): {"id",
 * "sent", "priority", "rule", "outcome", "text": {"ja", "en"}, "advice": [{"ja", "en"}],
 * "basis": [...], "guideline"}. NULL when the resource is not one (or out of memory). */
json_t *homedoctor_inbox_item(const json_t *communication);

#endif
