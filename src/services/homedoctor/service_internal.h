/* service_internal.h - what the home doctor service's files share (service.c: start-up, the
 * reading handler and the writes; service_recipients.c: who an alert goes to; service_cardio.c:
 * the Hisayama risk; service_scan.c: the missing-readings scan). Not part of the public API. */
#ifndef COS_HOMEDOCTOR_SERVICE_INTERNAL_H
#define COS_HOMEDOCTOR_SERVICE_INTERNAL_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "events/event.h"
#include "fhir/access.h"
#include "fhir/resource.h"
#include "identity/principal.h"
#include "services/homedoctor/service.h"

/* The principal the service acts as (its client, its system scopes). */
void hd_service_principal(struct id_principal *p);

/* Records a decision that changes no data (a search, a read, a refusal) on t's subject's
 * trail, actor the service. */
int hd_record_decision(struct store *s, const struct id_principal *p, const struct fhir_target *t,
                       const char *action, const struct fhir_verdict *v, struct err *e);

/* The citizen's home blood-pressure readings of the last HOMEDOCTOR_HISTORY_DAYS (+1) days up to
 * now_ms, newest first (check-up readings skipped). */
struct hd_history {
    struct arena *a;
    struct homedoctor_bp_reading *r;
    size_t n, cap;
    size_t skipped;
    int nomem;
};
int hd_read_history(struct store *s, const char *subject, int64_t now_ms, struct hd_history *h,
                    struct err *e);

/* Runs an Observation search (a FHIR query string for subject's Observations) through the FHIR
 * search's own SQL, handing each stored resource (parsed; borrowed for the call) to fn, which
 * returns nonzero to stop. */
typedef int (*hd_obs_fn)(const json_t *obs, void *ctx);
int hd_search_observations(struct store *s, struct arena *a, const char *query, int64_t now_ms,
                           hd_obs_fn fn, void *ctx, struct err *e);

/* What publishing a finding writes, and under which verdicts. */
struct hd_outcome {
    int assessments, alerts; /* created now */
};
struct hd_publish {
    const struct fhir_verdict *ra_verdict, *comm_verdict; /* the permits for the two writes */
    _Atomic uint64_t *on_alert; /* counted once per Communication created (durably); or NULL */
    const char *ra_scope;       /* NULL: the default key (evaluation time + basis) */
    const char *comm_scope;     /* NULL: the default key (the local day) */
};
/* Writes the finding's RiskAssessment and, when it is a fresh notice or warning, its
 * Communication (recipients: hd_recipients), both conditional creates. */
int hd_publish_finding(struct store *s, struct arena *a, const struct id_principal *p,
                       const struct hd_publish *how, const char *subject,
                       const struct homedoctor_finding *f, int64_t run_ms, struct hd_outcome *o,
                       struct err *e);

/* Communication.recipient: the citizen first, then every family member, person and
 * organisation that may read the citizen's alerts at now_ms under the one access decision
 * (consent_decide on the category alerts, action read, any purpose): a family link whose rights
 * cover alerts, a consent naming a person, an organisation, or a purpose whose registered
 * organisations include it. A new array, or NULL with e set. */
json_t *hd_recipients(struct store *s, struct arena *a, const char *subject, int64_t now_ms,
                      struct err *e);

/* The Hisayama part of an evaluation (service_cardio.c): under the citizen's cardio consent,
 * the latest check-up, age and sex and the home mean -> a RiskAssessment (and an alert when the
 * changeable factors add HOMEDOCTOR_HISAYAMA_ALERT_GAIN or more). Nothing when the decisions
 * refuse or no check-up exists. */
int hd_cardio_evaluate(struct store *s, struct arena *a, const struct id_principal *p,
                       const char *subject, int64_t now_ms, const struct hd_history *h,
                       const struct homedoctor_bp_result *bp, struct hd_outcome *o, struct err *e);

/* ---- batches (service_batch.c) ----
 * While a batch is current on the calling thread, hd_record_decision() and
 * hd_publish_finding() queue their writes in it instead of writing each at once; hd_batch_flush()
 * then writes them all, in the order queued, in one store write. Without a current batch (the
 * scan thread, tests) they write at once, as before. */
struct hd_batch;
/* Starts a batch and makes it the calling thread's current one (NULL: out of memory). */
struct hd_batch *hd_batch_begin(void);
/* The calling thread's current batch, or NULL. */
struct hd_batch *hd_batch_current(void);
/* Memory that lives as long as the batch (a queued write's search query). */
struct arena *hd_batch_arena(struct hd_batch *b);
/* The writes queued from now on belong to event index event of the batch. */
void hd_batch_event(struct hd_batch *b, size_t event);
/* The number of writes queued; hd_batch_truncate() drops those queued after mark (the writes
 * of an evaluation that failed half-way). */
size_t hd_batch_mark(const struct hd_batch *b);
void hd_batch_truncate(struct hd_batch *b, size_t mark);
/* Queues an audit entry (copied). */
int hd_batch_add_decision(struct hd_batch *b, const struct audit_event *ev, struct err *e);
/* Queues w, a create of a finding with If-None-Exist (copied; w->resource referenced;
 * w->if_none_exist must live in hd_batch_arena()). about: the op of the RiskAssessment whose
 * id goes into the resource's about[0] when written (SIZE_MAX: none). *op: this write's op. */
int hd_batch_add_finding(struct hd_batch *b, const struct fhir_write *w, size_t about,
                         _Atomic uint64_t *on_created, size_t *op, struct err *e);
struct hd_batch_written {
    int assessments, alerts; /* created (durably) */
};
/* Writes everything queued in one store write. If that fails, writes each event's writes
 * alone, in order: an event whose write fails becomes FAILED in out, a later event of the same
 * subject SKIPPED. Returns 0 when the one write went through, 1 when it fell back. */
int hd_batch_flush(struct store *s, struct hd_batch *b, const struct event *evs, size_t n,
                   struct event_result *out, struct hd_batch_written *written);
/* Ends the batch (what is still queued is dropped) and clears the current one. */
void hd_batch_end(struct hd_batch *b);

/* The scan thread (service_scan.c). */
int hd_scan_start(struct store *s, struct err *e);

#endif
