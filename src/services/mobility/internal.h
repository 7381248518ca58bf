/* internal.h - shared inside the mobility module (taxi.c, taxi_api.c, seed.c): the service's
 * audit actor, the opt-in row, the company's consent decision, order status changes and
 * notices. */
#ifndef COS_SERVICES_MOBILITY_INTERNAL_H
#define COS_SERVICES_MOBILITY_INTERNAL_H

#include "consent/index.h"
#include "services/mobility/order.h"

/* The service's OAuth client (made at registration). */
const char *mobility__client_id(void);

/* ev cleared and filled with the service's actor fields. */
int mobility__service_actor(struct audit_event *ev, struct err *e);

/* "11/25 09:20" in Japan time. */
void mobility__jst_hm(int64_t ms, char *out, size_t cap);

struct mobility_optin {
    int found, enabled;
    char company[IDS_LEN + 1], consent[IDS_LEN + 1];
    int64_t updated_ms;
};

/* The citizen's opt-in (out->found 0 when none). */
int mobility__optin_get(struct store *s, const char *subject, struct mobility_optin *out,
                        struct err *e);
/* Inside a write: sets it. */
int mobility__optin_put(struct store_tx *tx, const char *subject, const char *company,
                        const char *consent, int enabled, int64_t now_ms, struct err *e);

/* consent_decide for the practitioners of company (a dispatcher) on subject's location data
 * under the "mobility" purpose. 0 with d filled, ERR_UNAVAILABLE before the index is loaded. */
int mobility__decide_company(const char *company, const char *subject, unsigned action,
                             int64_t now_ms, struct consent_decision *d);

/* Inside a write: o goes to status to (row, Task with ev on the trail, the citizen's notice,
 * the event "taxi.status"). note (may be NULL) replaces the order's note. */
int mobility__order_update(struct store_tx *tx, struct mobility_order *o, enum mobility_status to,
                           const char *note, int64_t now_ms, const struct audit_event *ev,
                           struct arena *a, struct err *e);

/* Inside a write: a notice about o to its citizen. */
int mobility__notify(struct store_tx *tx, const struct mobility_order *o, const char *ja,
                     const char *en, const char *dedupe, struct err *e);

#endif
