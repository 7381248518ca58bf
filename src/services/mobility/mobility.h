/* mobility.h - the taxi to an in-person appointment (issue 7 part 6, STORY.md S1 step 10, S5):
 * the pickup time (pickup.c, pure), the order to the taxi company as a FHIR Task under the
 * citizen's "mobility" consent (taxi.c, an event consumer of appointment.booked/.cancelled), the
 * citizen's opt-in, the dispatcher's queue and status updates, and the weather (taxi_api.c).
 * docs/internals/mobility.md. */
#ifndef COS_SERVICES_MOBILITY_H
#define COS_SERVICES_MOBILITY_H

#include <jansson.h>
#include <stdint.h>

#include "base/config.h"
#include "base/err.h"
#include "http/router.h"
#include "identity/person.h"
#include "store/store.h"

#define MOBILITY_PURPOSE     "mobility" /* the consent purpose the pickup data flows under */
#define MOBILITY_CONSUMER    "mobility" /* the event consumer's name (delivery state key) */
#define MOBILITY_ORDER_SYS   "urn:cityos:taxi-order" /* Task.identifier system: the appointment */
#define MOBILITY_STEP_MIN    5 /* the lead time is rounded up to whole steps of this many minutes */
#define MOBILITY_TASK_ID_MAX 64

/* ---- the pickup time (pickup.c) ---- */

struct mobility_params {
    int speed_kmh;       /* 1..200 */
    int road_factor_pct; /* 100..400: road distance = great-circle distance * pct / 100 */
    int snow_pct;        /* 100..400: travel time * pct / 100 when it snows */
    int margin_min;      /* 0..240: minutes at the facility before the appointment */
    int snow;            /* 1: it snows */
};

struct mobility_pickup {
    int64_t distance_m; /* great-circle, rounded to the metre */
    int64_t road_m;     /* distance * road factor */
    int64_t travel_s;   /* road / speed (* snow), rounded up to the second */
    int lead_min;       /* travel + margin, rounded up to MOBILITY_STEP_MIN minutes */
    int64_t pickup_ms;  /* start_ms - lead_min minutes */
};

/* Great-circle distance in metres (haversine on a sphere of the mean Earth radius, 6371008.8 m)
 * between two points in micro-degrees. */
double mobility_distance_m(const struct id_coords *a, const struct id_coords *b);

/* The params of cfg (speed, road factor, snow factor, margin) with snow as given. */
void mobility_params_from_config(const struct config *cfg, int snow, struct mobility_params *out);

/* The pickup for an appointment starting at start_ms, from home to facility: travel time =
 * distance * road factor / speed (* snow factor when it snows), lead = travel + margin rounded
 * up to MOBILITY_STEP_MIN minutes, pickup = start - lead. Returns 0, or ERR_INVALID (params
 * out of bounds, coordinates missing or out of range, e names which). */
int mobility_pickup_compute(const struct mobility_params *p, const struct id_coords *home,
                            const struct id_coords *facility, int64_t start_ms,
                            struct mobility_pickup *out, struct err *e);

/* ---- request bodies (parse.c; pure, fuzzed) ---- */

/* PUT /api/v1/me/taxi: {"company": id, "evidence": {..}}. *company and *evidence borrowed from
 * in. */
int mobility_parse_optin(const json_t *in, const char **company, const json_t **evidence,
                         struct err *e);

enum mobility_status {
    MOBILITY_REQUESTED,
    MOBILITY_ACCEPTED,
    MOBILITY_EN_ROUTE,
    MOBILITY_PICKED_UP,
    MOBILITY_COMPLETED,
    MOBILITY_CANCELLED,
    MOBILITY_STATUS_COUNT
};
const char *mobility_status_name(enum mobility_status s);
int mobility_status_parse(const char *text, enum mobility_status *out);
/* May an order go from a to b (the dispatcher's updates; cancelled also by the appointment)? */
int mobility_status_next_ok(enum mobility_status a, enum mobility_status b);

/* POST /api/v1/taxi/orders/{id}/status: {"status": "accepted"|..., "note"?: text}. */
int mobility_parse_status(const json_t *in, enum mobility_status *status, const char **note,
                          struct err *e);

/* PUT /api/v1/admin/mobility/weather: {"weather": "normal"|"snow", "source"?: "admin"|"sensor",
 * "sensor"?: text}. */
int mobility_parse_weather(const json_t *in, int *snow, const char **source, const char **sensor,
                           struct err *e);

/* ---- the service (taxi.c, taxi_api.c) ---- */

/* Registers the consumers of "appointment.booked" and "appointment.cancelled" (call before
 * event_worker_start) and makes the service's client. Returns 0 or an ERR_*. */
int mobility_register(struct store *s, const struct config *cfg, struct err *e);

struct mobility_api {
    struct store *store;
    const struct config *cfg;
};

/* Registers the routes (docs/api.md "Taxi"). api must outlive the router. */
int mobility_api_register(struct http_router *r, struct mobility_api *api, struct store *s,
                          const struct config *cfg);

/* The demo's "mobility" purpose (recipients: every taxi company), and the persona's opt-in to
 * taxi_org unless he holds (or held) a mobility consent. taro, taxi_org: ids; taro NULL: the
 * purpose only. Idempotent. Blocks (for `cityos demo`). */
int mobility_demo_seed(struct store *s, const char *taro, const char *taxi_org, struct err *e);

/* ---- shared inside the module ---- */

/* Is it snowing for the taxi times: the last admin/sensor report, else cfg->weather. */
int mobility__snowing(struct store *s, const struct config *cfg, struct err *e);

/* The effective weather's source ("config", "admin", "sensor") and time, for the API. */
int mobility__weather(struct store *s, const struct config *cfg, int *snow, const char **source,
                      int64_t *updated_ms, struct arena *a, struct err *e);

/* Deterministic Task id of the order for an appointment: "taxi-" + 32 hex of its SHA-256. */
void mobility__task_id(const char *appointment, char out[MOBILITY_TASK_ID_MAX + 1]);

#endif
