/* parse.c - the taxi endpoints' request bodies, read strictly (members, types, lengths,
 * enumerations) before anything is looked up; and the order statuses with their transitions.
 * Errors are ERR_INVALID with a message that starts with the member's JSON Pointer. */
#include <string.h>

#include "base/ids.h"
#include "base/jsonx.h"
#include "services/mobility/mobility.h"

static const char *const status_names[MOBILITY_STATUS_COUNT] = {
    "requested", "accepted", "en-route", "picked-up", "completed", "cancelled"};

const char *mobility_status_name(enum mobility_status s)
{
    return (unsigned)s < MOBILITY_STATUS_COUNT ? status_names[s] : NULL;
}

int mobility_status_parse(const char *text, enum mobility_status *out)
{
    for (int i = 0; text != NULL && i < MOBILITY_STATUS_COUNT; i++)
        if (strcmp(text, status_names[i]) == 0) {
            *out = (enum mobility_status)i;
            return 0;
        }
    return ERR_INVALID;
}

int mobility_status_next_ok(enum mobility_status a, enum mobility_status b)
{
    switch (b) {
    case MOBILITY_ACCEPTED:
        return a == MOBILITY_REQUESTED;
    case MOBILITY_EN_ROUTE:
        return a == MOBILITY_ACCEPTED;
    case MOBILITY_PICKED_UP:
        return a == MOBILITY_EN_ROUTE;
    case MOBILITY_COMPLETED:
        return a == MOBILITY_PICKED_UP;
    case MOBILITY_CANCELLED: /* before the citizen is in the car */
        return a == MOBILITY_REQUESTED || a == MOBILITY_ACCEPTED || a == MOBILITY_EN_ROUTE;
    default:
        return 0;
    }
}

static int need_object(const json_t *in, struct err *e)
{
    if (!json_is_object(in))
        return err_set(e, ERR_INVALID, ": the body must be a JSON object");
    return 0;
}

int mobility_parse_optin(const json_t *in, const char **company, const json_t **evidence,
                         struct err *e)
{
    static const char *const keys[] = {"company", "evidence", NULL};
    int rc = need_object(in, e);
    if (rc == 0)
        rc = jsonx_only_keys(in, keys, "", e);
    if (rc == 0) {
        rc = jsonx_get_string(in, "company", IDS_LEN, "", company, e);
        if (rc == ERR_NOTFOUND)
            rc = err_set(e, ERR_INVALID, "/company: required");
    }
    if (rc == 0 && !ids_valid(*company))
        rc = err_set(e, ERR_INVALID, "/company: not a well-formed organisation id");
    if (rc == 0) {
        *evidence = json_object_get(in, "evidence");
        if (!json_is_object(*evidence))
            rc = err_set(e, ERR_INVALID, "/evidence: required, an object");
    }
    return rc;
}

int mobility_parse_status(const json_t *in, enum mobility_status *status, const char **note,
                          struct err *e)
{
    static const char *const keys[] = {"status", "note", NULL};
    const char *text = NULL;
    *note = NULL;
    int rc = need_object(in, e);
    if (rc == 0)
        rc = jsonx_only_keys(in, keys, "", e);
    if (rc == 0) {
        rc = jsonx_get_string(in, "status", 16, "", &text, e);
        if (rc == ERR_NOTFOUND)
            rc = err_set(e, ERR_INVALID, "/status: required");
    }
    if (rc == 0 && (mobility_status_parse(text, status) != 0 || *status == MOBILITY_REQUESTED))
        rc = err_set(e, ERR_INVALID,
                     "/status: accepted, en-route, picked-up, completed or cancelled");
    if (rc == 0) {
        rc = jsonx_get_string(in, "note", 500, "", note, e);
        if (rc == ERR_NOTFOUND)
            rc = 0;
    }
    return rc;
}

int mobility_parse_weather(const json_t *in, int *snow, const char **source, const char **sensor,
                           struct err *e)
{
    static const char *const keys[] = {"weather", "source", "sensor", NULL};
    const char *w = NULL;
    *source = "admin";
    *sensor = NULL;
    int rc = need_object(in, e);
    if (rc == 0)
        rc = jsonx_only_keys(in, keys, "", e);
    if (rc == 0) {
        rc = jsonx_get_string(in, "weather", 16, "", &w, e);
        if (rc == ERR_NOTFOUND)
            rc = err_set(e, ERR_INVALID, "/weather: required");
    }
    if (rc == 0 && strcmp(w, "normal") != 0 && strcmp(w, "snow") != 0)
        rc = err_set(e, ERR_INVALID, "/weather: normal or snow");
    if (rc == 0)
        *snow = strcmp(w, "snow") == 0;
    if (rc == 0) {
        rc = jsonx_get_string(in, "source", 16, "", source, e);
        if (rc == ERR_NOTFOUND) {
            *source = "admin";
            rc = 0;
        } else if (rc == 0 && strcmp(*source, "admin") != 0 && strcmp(*source, "sensor") != 0) {
            rc = err_set(e, ERR_INVALID, "/source: admin or sensor");
        }
    }
    if (rc == 0) {
        rc = jsonx_get_string(in, "sensor", 64, "", sensor, e);
        if (rc == ERR_NOTFOUND)
            rc = 0;
    }
    if (rc == 0 && strcmp(*source, "sensor") == 0 && *sensor == NULL)
        rc = err_set(e, ERR_INVALID, "/sensor: required for a sensor report (its name)");
    return rc;
}
