/* order.h - inside the mobility module: a taxi order row (mobility_order, migration 16) and
 * its FHIR Task (order.c). */
#ifndef COS_SERVICES_MOBILITY_ORDER_H
#define COS_SERVICES_MOBILITY_ORDER_H

#include <jansson.h>

#include "audit/audit.h"
#include "base/arena.h"
#include "base/ids.h"
#include "fhir/resource.h"
#include "services/mobility/mobility.h"

struct mobility_order {
    char appointment[FHIR_ID_MAX + 1], task_id[MOBILITY_TASK_ID_MAX + 1];
    char subject[IDS_LEN + 1], company[IDS_LEN + 1], facility[IDS_LEN + 1];
    int64_t start_ms, pickup_ms, distance_m, created_ms, updated_ms;
    int lead_min, snow;
    const char *pickup_place, *facility_name,
        *note; /* in the arena of the read; note may be NULL */
    enum mobility_status status;
};

extern const char *const mobility__order_select; /* "SELECT <columns> FROM mobility_order " */

/* One row of mobility__order_select into o (strings in a). 0, ERR_NOMEM or ERR_INTERNAL. */
int mobility__order_row(const struct store_row *row, struct mobility_order *o, struct arena *a);

/* The order whose where_col ("task_id", "appointment_id") is value. 0 or ERR_NOTFOUND. */
int mobility__order_get(struct store *s, const char *where_col, const char *value,
                        struct mobility_order *o, struct arena *a, struct err *e);
/* The same inside a write, by appointment. */
int mobility__order_get_tx(struct store_tx *tx, const char *appointment, struct mobility_order *o,
                           struct arena *a, struct err *e);

/* The Task of o (new reference), or NULL when out of memory. */
json_t *mobility__task_render(const struct mobility_order *o);

/* Creates (create: conditional on its identifier) or updates o's Task inside tx, with ev (actor,
 * purpose, decision) on the citizen's trail. */
int mobility__task_write(struct store_tx *tx, const struct mobility_order *o, int create,
                         const struct audit_event *ev, struct arena *a, struct err *e);

/* The API's form of an order. 0 or ERR_NOMEM. */
int mobility__order_json(const struct mobility_order *o, json_t **out);

#endif
