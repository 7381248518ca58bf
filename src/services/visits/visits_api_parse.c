/* visits_api_parse.c - the strict readers of the visits API's request bodies and search query
 * (internal.h): unknown members refused, every field typed and bounded, the first bad field
 * named in e. Pure: no store, no clock (the caller gives now). */
#include <string.h>

#include "base/ids.h"
#include "base/jsonx.h"
#include "base/utf8.h"
#include "fhir/resource.h"
#include "services/visits/internal.h"

static int get_str(const json_t *o, const char *key, size_t max, int required, const char **out,
                   struct err *e)
{
    int rc = jsonx_get_string(o, key, max, "", out, e);
    if (rc == ERR_NOTFOUND) {
        *out = NULL;
        return required ? err_set(e, ERR_INVALID, "/%s: required", key) : 0;
    }
    return rc;
}

static int get_id(const json_t *o, const char *key, int required, const char **out, struct err *e)
{
    int rc = get_str(o, key, IDS_LEN, required, out, e);
    if (rc == 0 && *out != NULL && !ids_valid(*out))
        return err_set(e, ERR_INVALID, "/%s: not a well-formed id", key);
    return rc;
}

static int object_only(const json_t *body, const char *const *allowed, struct err *e)
{
    if (!json_is_object(body))
        return err_set(e, ERR_INVALID, "the body must be a JSON object");
    return jsonx_only_keys(body, allowed, "", e);
}

int visits_parse_open(const json_t *body, struct visits_open_req *out, struct err *e)
{
    static const char *const allowed[] = {"practitioner", "date", "from",      "to",
                                          "minutes",      "mode", "specialty", NULL};
    memset(out, 0, sizeof *out);
    const char *date = NULL, *from = NULL, *to = NULL, *mode = NULL;
    int rc = object_only(body, allowed, e);
    if (rc == 0)
        rc = get_id(body, "practitioner", 1, &out->practitioner, e);
    if (rc == 0)
        rc = get_str(body, "date", 10, 1, &date, e);
    if (rc == 0 && visits_date_parse(date, &out->day_ms) != 0)
        rc = err_set(e, ERR_INVALID, "/date: a calendar day YYYY-MM-DD");
    if (rc == 0)
        rc = get_str(body, "from", 5, 1, &from, e);
    if (rc == 0 && visits_hm_parse(from, &out->from_min) != 0)
        rc = err_set(e, ERR_INVALID, "/from: a time HH:MM");
    if (rc == 0)
        rc = get_str(body, "to", 5, 1, &to, e);
    if (rc == 0 && visits_hm_parse(to, &out->to_min) != 0)
        rc = err_set(e, ERR_INVALID, "/to: a time HH:MM");
    if (rc == 0 && out->to_min <= out->from_min)
        rc = err_set(e, ERR_INVALID, "/to: must be after /from");
    const json_t *m = json_object_get(body, "minutes");
    if (rc == 0 && m == NULL)
        out->step_min = 15;
    else if (rc == 0 &&
             (!json_is_integer(m) || json_integer_value(m) < 5 || json_integer_value(m) > 240))
        rc = err_set(e, ERR_INVALID, "/minutes: an integer 5..240");
    else if (rc == 0)
        out->step_min = (int)json_integer_value(m);
    if (rc == 0)
        rc = get_str(body, "mode", 16, 1, &mode, e);
    if (rc == 0 && (out->modes = visits_mode_parse(mode)) == 0)
        rc = err_set(e, ERR_INVALID, "/mode: \"in-person\", \"online\" or \"both\"");
    if (rc == 0)
        rc = get_str(body, "specialty", VISITS_SPECIALTY_MAX, 1, &out->specialty, e);
    if (rc == 0 && !visits_specialty_valid(out->specialty))
        rc = err_set(e, ERR_INVALID, "/specialty: a code of a-z, 0-9 and '-' (\"cardiology\")");
    if (rc == 0 && (out->to_min - out->from_min) / out->step_min > VISITS_SLOTS_MAX)
        rc = err_set(e, ERR_INVALID, "/minutes: at most %d slots per request", VISITS_SLOTS_MAX);
    if (rc == 0 && (out->to_min - out->from_min) < out->step_min)
        rc = err_set(e, ERR_INVALID, "/minutes: longer than the time from /from to /to");
    return rc;
}

static int text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > 0 && n <= max && utf8_valid(s, n);
}

int visits_parse_book(const json_t *body, int reschedule, struct visits_book_req *out,
                      struct err *e)
{
    static const char *const book[] = {"slot", "mode", "questionnaire_response", "comment", NULL};
    static const char *const resched[] = {"slot", "mode", NULL};
    memset(out, 0, sizeof *out);
    const char *mode = NULL;
    int rc = object_only(body, reschedule ? resched : book, e);
    if (rc == 0)
        rc = get_id(body, "slot", 1, &out->slot, e);
    if (rc == 0)
        rc = get_str(body, "mode", 16, 0, &mode, e);
    if (rc == 0 && mode != NULL) {
        out->mode = visits_mode_parse(mode);
        if (out->mode != VISITS_IN_PERSON && out->mode != VISITS_ONLINE)
            rc = err_set(e, ERR_INVALID, "/mode: \"in-person\" or \"online\"");
    }
    if (rc == 0 && !reschedule)
        rc = get_str(body, "questionnaire_response", FHIR_ID_MAX, 0, &out->qr, e);
    if (rc == 0 && out->qr != NULL && !fhir_id_valid(out->qr))
        rc = err_set(e, ERR_INVALID, "/questionnaire_response: not a FHIR id");
    if (rc == 0 && !reschedule)
        rc = get_str(body, "comment", VISITS_REASON_MAX, 0, &out->comment, e);
    if (rc == 0 && out->comment != NULL && !text_ok(out->comment, VISITS_REASON_MAX))
        rc = err_set(e, ERR_INVALID, "/comment: 1..%d bytes", VISITS_REASON_MAX);
    return rc;
}

int visits_parse_cancel(const json_t *body, const char **reason, struct err *e)
{
    static const char *const allowed[] = {"reason", NULL};
    *reason = NULL;
    int rc = object_only(body, allowed, e);
    if (rc == 0)
        rc = get_str(body, "reason", VISITS_REASON_MAX, 0, reason, e);
    if (rc == 0 && *reason != NULL && !text_ok(*reason, VISITS_REASON_MAX))
        rc = err_set(e, ERR_INVALID, "/reason: 1..%d bytes", VISITS_REASON_MAX);
    return rc;
}

int visits_parse_finish(const json_t *body, struct visits_finish_req *out, struct err *e)
{
    static const char *const allowed[] = {"notes", "fee", NULL};
    memset(out, 0, sizeof *out);
    int rc = object_only(body, allowed, e);
    if (rc == 0)
        rc = get_str(body, "notes", VISITS_NOTES_MAX, 0, &out->notes, e);
    if (rc == 0 && out->notes != NULL && !text_ok(out->notes, VISITS_NOTES_MAX))
        rc = err_set(e, ERR_INVALID, "/notes: 1..%d bytes", VISITS_NOTES_MAX);
    const json_t *fee = json_object_get(body, "fee");
    if (rc == 0 && (!json_is_integer(fee) || json_integer_value(fee) < 0 ||
                    json_integer_value(fee) > VISITS_AMOUNT_MAX))
        rc = err_set(e, ERR_INVALID, "/fee: required, integer yen 0..%d", VISITS_AMOUNT_MAX);
    if (rc == 0)
        out->fee = (int64_t)json_integer_value(fee);
    return rc;
}

int visits_parse_search(const char *(*get)(void *ctx, const char *name), void *ctx, int64_t now_ms,
                        struct visits_search_req *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->org = get(ctx, "org");
    out->practitioner = get(ctx, "practitioner");
    out->specialty = get(ctx, "specialty");
    const char *mode = get(ctx, "mode"), *from = get(ctx, "from"), *to = get(ctx, "to");
    if (out->org != NULL && !ids_valid(out->org))
        return err_set(e, ERR_INVALID, "org: not a well-formed organisation id");
    if (out->practitioner != NULL && !ids_valid(out->practitioner))
        return err_set(e, ERR_INVALID, "practitioner: not a well-formed id");
    if (out->specialty != NULL && !visits_specialty_valid(out->specialty))
        return err_set(e, ERR_INVALID, "specialty: a code of a-z, 0-9 and '-'");
    if (mode != NULL) {
        out->mode = visits_mode_parse(mode);
        if (out->mode != VISITS_IN_PERSON && out->mode != VISITS_ONLINE)
            return err_set(e, ERR_INVALID, "mode: \"in-person\" or \"online\"");
    }
    int64_t today = visits_day_start(now_ms);
    out->from_ms = today;
    if (from != NULL && visits_date_parse(from, &out->from_ms) != 0)
        return err_set(e, ERR_INVALID, "from: a calendar day YYYY-MM-DD");
    int64_t last = out->from_ms + 13 * VISITS_DAY_MS;
    if (to != NULL && visits_date_parse(to, &last) != 0)
        return err_set(e, ERR_INVALID, "to: a calendar day YYYY-MM-DD");
    if (last < out->from_ms)
        return err_set(e, ERR_INVALID, "to: not before from");
    if ((last - out->from_ms) / VISITS_DAY_MS >= VISITS_RANGE_DAYS)
        return err_set(e, ERR_INVALID, "to: at most %d days after from", VISITS_RANGE_DAYS - 1);
    out->to_ms = last + VISITS_DAY_MS;
    if (out->to_ms <= now_ms)
        return err_set(e, ERR_INVALID, "to: the range has passed");
    if (out->from_ms < now_ms)
        out->from_ms = now_ms; /* past slots are never offered */
    return 0;
}
