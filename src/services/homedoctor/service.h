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

/* Sets the inbox's alert source; then, when cfg names an MQTT broker (readings reach the
 * service only through ingest), finds or registers the service's OAuth client (a confidential
 * client whose secret nobody keeps: no token is ever issued to it; the service acts as it
 * in-process) and registers the consumer for EVENT_READING_STORED. Call once at start-up,
 * before event_worker_start(). Returns 0 or an ERR_* with e set. */
int homedoctor_service_register(struct store *s, const struct config *cfg, struct err *e);

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

/* The inbox's view of one stored home-doctor Communication (body: its JSON text): {"id",
 * "sent", "priority", "rule", "outcome", "text": {"ja", "en"}, "advice": [{"ja", "en"}],
 * "basis": [...], "guideline"}. NULL when the resource is not one (or out of memory). */
json_t *homedoctor_inbox_item(const json_t *communication);

#endif
