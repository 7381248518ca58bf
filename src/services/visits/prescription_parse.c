/* prescription_parse.c - the e-prescription endpoints' request bodies, read strictly before
 * anything is looked up, and the order statuses with their one-way steps. */
#include <string.h>

#include "base/ids.h"
#include "base/jsonx.h"
#include "services/visits/prescription.h"

static const char *const names[VISITS_RX_STATUS_COUNT] = {"requested", "guidance-given",
                                                          "dispensed", "dispatched", "delivered"};

const char *visits_rx_status_name(enum visits_rx_status s)
{
    return (unsigned)s < VISITS_RX_STATUS_COUNT ? names[s] : NULL;
}

int visits_rx_status_parse(const char *text, enum visits_rx_status *out)
{
    for (int i = 0; text != NULL && i < VISITS_RX_STATUS_COUNT; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = (enum visits_rx_status)i;
            return 0;
        }
    return ERR_INVALID;
}

int visits_rx_next_ok(enum visits_rx_status a, enum visits_rx_status b)
{
    return (unsigned)b < VISITS_RX_STATUS_COUNT && b != VISITS_RX_REQUESTED && a + 1 == b;
}

static int object(const json_t *in, const char *where, struct err *e)
{
    if (!json_is_object(in))
        return err_set(e, ERR_INVALID, "%s: must be a JSON object", where[0] ? where : "/");
    return 0;
}

/* A required string of 1..max code points. */
static int need(const json_t *o, const char *key, size_t max, const char *where, const char **out,
                struct err *e)
{
    int rc = jsonx_get_string(o, key, max, where, out, e);
    if (rc == ERR_NOTFOUND)
        return err_set(e, ERR_INVALID, "%s/%s: required", where, key);
    return rc;
}

static int maybe(const json_t *o, const char *key, size_t max, const char *where, const char **out,
                 struct err *e)
{
    int rc = jsonx_get_string(o, key, max, where, out, e);
    return rc == ERR_NOTFOUND ? 0 : rc;
}

static int integer(const json_t *o, const char *key, int64_t lo, int64_t hi, const char *where,
                   int64_t *out, struct err *e)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return err_set(e, ERR_INVALID, "%s/%s: required", where, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return err_set(e, ERR_INVALID, "%s/%s: an integer %lld..%lld", where, key, (long long)lo,
                       (long long)hi);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* A code: printable ASCII without spaces, 1..64 bytes. */
static int code_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (s[n] <= ' ' || s[n] > '~')
            return 0;
    return n >= 1 && n <= 64;
}

int visits_rx_parse_new(const json_t *in, struct visits_rx_new *out, struct err *e)
{
    static const char *const keys[] = {"patient", "medication", "dosage", "quantity",
                                       "days",    "note",       NULL};
    static const char *const mkeys[] = {"system", "code", "display", NULL};
    static const char *const qkeys[] = {"value", "unit", NULL};
    memset(out, 0, sizeof *out);
    int rc = object(in, "", e);
    if (rc == 0)
        rc = jsonx_only_keys(in, keys, "", e);
    if (rc == 0)
        rc = need(in, "patient", IDS_LEN, "", &out->patient, e);
    if (rc == 0 && !ids_valid(out->patient))
        rc = err_set(e, ERR_INVALID, "/patient: not a well-formed regional ID");
    const json_t *m = json_object_get(in, "medication"), *q = json_object_get(in, "quantity");
    if (rc == 0 && m == NULL)
        rc = err_set(e, ERR_INVALID, "/medication: required");
    if (rc == 0)
        rc = object(m, "/medication", e);
    if (rc == 0)
        rc = jsonx_only_keys(m, mkeys, "/medication", e);
    if (rc == 0)
        rc = maybe(m, "system", 200, "/medication", &out->med_system, e);
    if (rc == 0 && out->med_system == NULL)
        out->med_system = VISITS_RX_MED_SYS;
    if (rc == 0 && strncmp(out->med_system, "urn:", 4) != 0 &&
        strncmp(out->med_system, "http://", 7) != 0 && strncmp(out->med_system, "https://", 8) != 0)
        rc = err_set(e, ERR_INVALID, "/medication/system: a URI (urn:, http:// or https://)");
    if (rc == 0)
        rc = need(m, "code", 64, "/medication", &out->med_code, e);
    if (rc == 0 && !code_ok(out->med_code))
        rc = err_set(e, ERR_INVALID, "/medication/code: 1..64 printable ASCII, no spaces");
    if (rc == 0)
        rc = need(m, "display", 200, "/medication", &out->med_display, e);
    if (rc == 0)
        rc = need(in, "dosage", VISITS_RX_TEXT_MAX, "", &out->dosage, e);
    if (rc == 0 && q == NULL)
        rc = err_set(e, ERR_INVALID, "/quantity: required");
    if (rc == 0)
        rc = object(q, "/quantity", e);
    if (rc == 0)
        rc = jsonx_only_keys(q, qkeys, "/quantity", e);
    if (rc == 0)
        rc = integer(q, "value", 1, 100000, "/quantity", &out->quantity, e);
    if (rc == 0)
        rc = need(q, "unit", 20, "/quantity", &out->unit, e);
    int64_t days = 0;
    if (rc == 0)
        rc = integer(in, "days", 1, 365, "", &days, e);
    out->days = (int)days;
    if (rc == 0)
        rc = maybe(in, "note", VISITS_RX_TEXT_MAX, "", &out->note, e);
    return rc;
}

int visits_rx_parse_guidance(const json_t *in, const char **text, const char **channel,
                             struct err *e)
{
    static const char *const keys[] = {"text", "channel", NULL};
    int rc = object(in, "", e);
    if (rc == 0)
        rc = jsonx_only_keys(in, keys, "", e);
    if (rc == 0)
        rc = need(in, "text", VISITS_RX_TEXT_MAX, "", text, e);
    if (rc == 0)
        rc = need(in, "channel", 16, "", channel, e);
    if (rc == 0 && strcmp(*channel, "online") != 0 && strcmp(*channel, "in-person") != 0)
        rc = err_set(e, ERR_INVALID, "/channel: online or in-person");
    return rc;
}

int visits_rx_parse_dispense(const json_t *in, int64_t *fee, const char **note, struct err *e)
{
    static const char *const keys[] = {"fee", "note", NULL};
    *note = NULL;
    int rc = object(in, "", e);
    if (rc == 0)
        rc = jsonx_only_keys(in, keys, "", e);
    if (rc == 0)
        rc = integer(in, "fee", 1, VISITS_RX_FEE_MAX, "", fee, e);
    if (rc == 0)
        rc = maybe(in, "note", VISITS_RX_TEXT_MAX, "", note, e);
    return rc;
}

int visits_rx_parse_delivery(const json_t *in, enum visits_rx_status *status, struct err *e)
{
    static const char *const keys[] = {"status", NULL};
    const char *s = NULL;
    int rc = object(in, "", e);
    if (rc == 0)
        rc = jsonx_only_keys(in, keys, "", e);
    if (rc == 0)
        rc = need(in, "status", 16, "", &s, e);
    if (rc == 0 && (visits_rx_status_parse(s, status) != 0 ||
                    (*status != VISITS_RX_DISPATCHED && *status != VISITS_RX_DELIVERED)))
        rc = err_set(e, ERR_INVALID, "/status: dispatched or delivered");
    return rc;
}

int visits_rx_parse_choice(const json_t *in, const char **pharmacy, const json_t **evidence,
                           struct err *e)
{
    static const char *const keys[] = {"pharmacy", "evidence", NULL};
    int rc = object(in, "", e);
    if (rc == 0)
        rc = jsonx_only_keys(in, keys, "", e);
    if (rc == 0)
        rc = need(in, "pharmacy", IDS_LEN, "", pharmacy, e);
    if (rc == 0 && !ids_valid(*pharmacy))
        rc = err_set(e, ERR_INVALID, "/pharmacy: not a well-formed organisation id");
    if (rc == 0) {
        *evidence = json_object_get(in, "evidence");
        if (!json_is_object(*evidence))
            rc = err_set(e, ERR_INVALID, "/evidence: required, an object");
    }
    return rc;
}
