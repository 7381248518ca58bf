/* consent_json.c - strict reading of the consent API's bodies and the served JSON of purposes,
 * consents and inbox items. */
#include "consent/consent_json.h"

#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "base/utf8.h"
#include "consent/internal.h"

#define TEXT_MAX 1024 /* a bound on short string members (ids, codes, names, times) */

static int get_object(const json_t *in, const char *key, const char *where, int required,
                      const json_t **out, struct err *e)
{
    *out = json_object_get(in, key);
    if (*out == NULL)
        return required ? err_set(e, ERR_INVALID, "%s/%s: required", where, key) : ERR_NOTFOUND;
    if (!json_is_object(*out))
        return err_set(e, ERR_INVALID, "%s/%s: must be an object", where, key);
    return 0;
}

static int get_string(const json_t *in, const char *key, const char *where, int required,
                      size_t max, const char **out, struct err *e)
{
    int rc = jsonx_get_string(in, key, max, where, out, e);
    if (rc == ERR_NOTFOUND && required)
        return err_set(e, ERR_INVALID, "%s/%s: required", where, key);
    return rc;
}

static int get_time(const json_t *in, const char *key, const char *where, int required,
                    int64_t *out, struct err *e)
{
    const char *t;
    *out = 0;
    int rc = get_string(in, key, where, required, 40, &t, e);
    if (rc != 0)
        return rc;
    if (clock_parse_rfc3339(t, out) != 0 || *out <= 0)
        return err_set(e, ERR_INVALID, "%s/%s: an RFC 3339 date-time after 1970", where, key);
    return 0;
}

static int get_names(const json_t *in, const char *key, int required, consent_cats *cats,
                     unsigned *actions, struct err *e)
{
    const json_t *arr = json_object_get(in, key);
    if (arr == NULL)
        return required ? err_set(e, ERR_INVALID, "/%s: required", key) : ERR_NOTFOUND;
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > CONSENT_CAT_COUNT)
        return err_set(e, ERR_INVALID, "/%s: a non-empty array of names", key);
    size_t i;
    const json_t *v;
    unsigned m = 0;
    json_array_foreach(arr, i, v)
    {
        const char *name = json_string_value(v);
        unsigned bit = 0;
        if (name == NULL)
            return err_set(e, ERR_INVALID, "/%s/%zu: must be a string", key, i);
        if (cats != NULL) {
            enum consent_category c = consent_category_parse(name);
            if (c == CONSENT_CAT_NONE)
                return err_set(e, ERR_INVALID, "/%s/%zu: not a data category", key, i);
            bit = 1u << c;
        } else {
            bit = strcmp(name, "read") == 0    ? CONSENT_READ
                  : strcmp(name, "write") == 0 ? CONSENT_WRITE
                                               : 0;
            if (bit == 0)
                return err_set(e, ERR_INVALID, "/%s/%zu: read or write", key, i);
        }
        if (m & bit)
            return err_set(e, ERR_INVALID, "/%s/%zu: repeated", key, i);
        m |= bit;
    }
    if (cats != NULL)
        *cats = m;
    else
        *actions = m;
    return 0;
}

static int get_evidence(const json_t *in, struct consent_evidence *ev, struct err *e)
{
    static const char *const keys[] = {"explanation_hash", "shown_at", "agreed_at", "channel",
                                       NULL};
    const json_t *o;
    const char *channel;
    int rc = get_object(in, "evidence", "", 1, &o, e);
    if (rc == 0)
        rc = jsonx_only_keys(o, keys, "/evidence", e);
    if (rc == 0)
        rc = get_string(o, "explanation_hash", "/evidence", 1, CONSENT_HEX_LEN,
                        &ev->explanation_hash, e);
    if (rc == 0 && !consent__is_hex64(ev->explanation_hash))
        rc = err_set(e, ERR_INVALID, "/evidence/explanation_hash: 64 lower-case hex characters");
    if (rc == 0)
        rc = get_time(o, "shown_at", "/evidence", 1, &ev->shown_ms, e);
    if (rc == 0)
        rc = get_time(o, "agreed_at", "/evidence", 1, &ev->agreed_ms, e);
    if (rc == 0)
        rc = get_string(o, "channel", "/evidence", 1, 32, &channel, e);
    if (rc == 0 && consent_channel_parse(channel, &ev->channel) != 0)
        rc = err_set(e, ERR_INVALID, "/evidence/channel: portal, app or in_person_proxy");
    return rc;
}

static int get_period(const json_t *in, int64_t *from, int64_t *until, struct err *e)
{
    static const char *const keys[] = {"start", "end", NULL};
    const json_t *o;
    int rc = get_object(in, "period", "", 0, &o, e);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc == 0)
        rc = jsonx_only_keys(o, keys, "/period", e);
    if (rc == 0 && (rc = get_time(o, "start", "/period", 0, from, e)) == ERR_NOTFOUND)
        rc = 0;
    if (rc == 0 && (rc = get_time(o, "end", "/period", 0, until, e)) == ERR_NOTFOUND)
        rc = 0;
    if (rc == 0 && json_object_size(o) == 0)
        rc = err_set(e, ERR_INVALID, "/period: start or end");
    return rc;
}

static int root(const json_t *in, const char *const *keys, struct err *e)
{
    if (!json_is_object(in))
        return err_set(e, ERR_INVALID, ": the body must be a JSON object");
    return jsonx_only_keys(in, keys, "", e);
}

int consent_json_grant(const json_t *in, struct consent_write *w, struct err *e)
{
    static const char *const keys[] = {"purpose", "recipient", "categories", "actions",
                                       "period",  "evidence",  NULL};
    static const char *const pkeys[] = {"code", "version", NULL};
    static const char *const rkeys[] = {"kind", "id", NULL};
    const json_t *p, *r;
    const char *kind;
    int rc = root(in, keys, e);
    if (rc == 0)
        rc = get_object(in, "purpose", "", 1, &p, e);
    if (rc == 0)
        rc = jsonx_only_keys(p, pkeys, "/purpose", e);
    if (rc == 0)
        rc = get_string(p, "code", "/purpose", 1, CONSENT_CODE_MAX, &w->purpose_code, e);
    if (rc == 0) {
        const json_t *v = json_object_get(p, "version");
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > INT32_MAX)
            rc = err_set(e, ERR_INVALID, "/purpose/version: an integer from 1");
        else
            w->purpose_version = json_integer_value(v);
    }
    if (rc == 0)
        rc = get_object(in, "recipient", "", 1, &r, e);
    if (rc == 0)
        rc = jsonx_only_keys(r, rkeys, "/recipient", e);
    if (rc == 0)
        rc = get_string(r, "kind", "/recipient", 1, 16, &kind, e);
    if (rc == 0 && consent_recipient_kind_parse(kind, &w->recipient_kind) != 0)
        rc = err_set(e, ERR_INVALID, "/recipient/kind: organisation, client, person or purpose");
    if (rc == 0) {
        int required = w->recipient_kind != CONSENT_TO_PURPOSE;
        rc = get_string(r, "id", "/recipient", required, IDS_LEN, &w->recipient_id, e);
        if (rc == 0 && !required)
            rc = err_set(e, ERR_INVALID, "/recipient/id: none for kind purpose");
        else if (rc == ERR_NOTFOUND)
            rc = 0;
        if (rc == 0 && required && !ids_valid(w->recipient_id))
            rc = err_set(e, ERR_INVALID, "/recipient/id: not a well-formed id");
    }
    if (rc == 0)
        rc = get_names(in, "categories", 1, &w->cats, NULL, e);
    if (rc == 0)
        rc = get_names(in, "actions", 1, NULL, &w->actions, e);
    if (rc == 0)
        rc = get_period(in, &w->valid_from_ms, &w->valid_until_ms, e);
    if (rc == 0)
        rc = get_evidence(in, &w->evidence, e);
    return rc;
}

int consent_json_narrow(const json_t *in, struct consent_write *w, struct err *e)
{
    static const char *const keys[] = {"categories", "actions", "period", "evidence", NULL};
    int rc = root(in, keys, e);
    if (rc == 0 && (rc = get_names(in, "categories", 0, &w->cats, NULL, e)) == ERR_NOTFOUND)
        rc = 0;
    if (rc == 0 && (rc = get_names(in, "actions", 0, NULL, &w->actions, e)) == ERR_NOTFOUND)
        rc = 0;
    if (rc == 0)
        rc = get_period(in, &w->valid_from_ms, &w->valid_until_ms, e);
    if (rc == 0)
        rc = get_evidence(in, &w->evidence, e);
    if (rc == 0 && json_object_size(in) < 2)
        rc = err_set(e, ERR_INVALID, ": categories, actions or period to narrow");
    return rc;
}

int consent_json_withdraw(const json_t *in, struct consent_write *w, struct err *e)
{
    static const char *const keys[] = {"evidence", NULL};
    int rc = root(in, keys, e);
    return rc == 0 ? get_evidence(in, &w->evidence, e) : rc;
}

int consent_json_accept(const json_t *in, struct consent_write *w, struct err *e)
{
    static const char *const keys[] = {"categories", "evidence", NULL};
    int rc = root(in, keys, e);
    if (rc == 0 && (rc = get_names(in, "categories", 0, &w->cats, NULL, e)) == ERR_NOTFOUND)
        rc = 0;
    return rc == 0 ? get_evidence(in, &w->evidence, e) : rc;
}

static int get_texts(const json_t *in, const char *key, size_t max, const char **ja,
                     const char **en, struct err *e)
{
    static const char *const keys[] = {"ja", "en", NULL};
    const json_t *o;
    char where[32];
    snprintf(where, sizeof where, "/%s", key);
    int rc = get_object(in, key, "", 1, &o, e);
    if (rc == 0)
        rc = jsonx_only_keys(o, keys, where, e);
    if (rc == 0)
        rc = get_string(o, "ja", where, 1, max, ja, e);
    if (rc == 0)
        rc = get_string(o, "en", where, 1, max, en, e);
    return rc;
}

int consent_json_purpose(const json_t *in, struct consent_purpose_new *out, struct arena *a,
                         struct err *e)
{
    static const char *const keys[] = {"code",       "title",       "explanation",    "categories",
                                       "recipients", "legal_basis", "retention_days", NULL};
    const char *basis;
    memset(out, 0, sizeof *out);
    int rc = root(in, keys, e);
    if (rc == 0)
        rc = get_string(in, "code", "", 1, CONSENT_CODE_MAX, &out->code, e);
    if (rc == 0)
        rc = get_texts(in, "title", CONSENT_TITLE_MAX, &out->title_ja, &out->title_en, e);
    if (rc == 0)
        rc = get_texts(in, "explanation", CONSENT_EXPLANATION_MAX, &out->explanation_ja,
                       &out->explanation_en, e);
    if (rc == 0)
        rc = get_names(in, "categories", 1, &out->cats, NULL, e);
    if (rc == 0) {
        const json_t *arr = json_object_get(in, "recipients");
        if (!json_is_array(arr) || json_array_size(arr) > CONSENT_RECIPIENTS_MAX) {
            rc = err_set(e, ERR_INVALID, "/recipients: an array of at most %d ids",
                         CONSENT_RECIPIENTS_MAX);
        } else {
            size_t n = json_array_size(arr), i;
            const char **r = arena_alloc(a, (n ? n : 1) * sizeof *r);
            const json_t *v;
            if (r == NULL)
                return err_set(e, ERR_NOMEM, "out of memory");
            json_array_foreach(arr, i, v)
            {
                r[i] = json_string_value(v);
                if (r[i] == NULL || !ids_valid(r[i]))
                    return err_set(e, ERR_INVALID, "/recipients/%zu: not a well-formed id", i);
            }
            out->recipients = r;
            out->nrecipients = n;
        }
    }
    if (rc == 0)
        rc = get_string(in, "legal_basis", "", 1, 32, &basis, e);
    if (rc == 0 && consent_legal_basis_parse(basis, &out->legal_basis) != 0)
        rc = err_set(e, ERR_INVALID,
                     "/legal_basis: consent, law, vital_interest, public_health "
                     "or academic_research");
    if (rc == 0) {
        const json_t *v = json_object_get(in, "retention_days");
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > CONSENT_RETENTION_MAX)
            rc = err_set(e, ERR_INVALID, "/retention_days: an integer from 1 to %d",
                         CONSENT_RETENTION_MAX);
        else
            out->retention_days = json_integer_value(v);
    }
    return rc;
}

/* ---- served forms ---- */

static json_t *time_or_null(int64_t ms)
{
    char buf[32];
    return ms > 0 ? json_string(clock_format_ms(ms, buf, sizeof buf)) : json_null();
}

static json_t *names(consent_cats m, int actions)
{
    json_t *arr = json_array();
    for (int i = 0; arr != NULL && i < (actions ? 2 : CONSENT_CAT_COUNT); i++)
        if (m & (1u << i))
            json_array_append_new(
                arr, json_string(actions ? (i ? "write" : "read")
                                         : consent_category_name((enum consent_category)i)));
    return arr;
}

static json_t *id_list(const char *comma_list)
{
    json_t *arr = json_array();
    for (const char *p = comma_list; arr != NULL && p != NULL && *p != '\0';) {
        size_t n = strcspn(p, ",");
        json_array_append_new(arr, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return arr;
}

static json_t *evidence(const struct consent_evidence *ev)
{
    return json_pack("{s:s?, s:o, s:o, s:s?}", "explanation_hash", ev->explanation_hash, "shown_at",
                     time_or_null(ev->shown_ms), "agreed_at", time_or_null(ev->agreed_ms),
                     "channel", consent_channel_name(ev->channel));
}

json_t *consent_json_record(const struct consent_record *r)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:s?}, s:{s:s, s:I}, s:o, s:o, s:{s:o, s:o}, s:s, s:o, "
        "s:o, s:o}",
        "id", r->id, "subject", r->subject_id, "granted_by", r->granted_by, "recipient", "kind",
        consent_recipient_kind_name(r->recipient_kind), "id", r->recipient_id, "purpose", "code",
        r->purpose_code, "version", (json_int_t)r->purpose_version, "categories", names(r->cats, 0),
        "actions", names(r->actions, 1), "period", "start", time_or_null(r->valid_from_ms), "end",
        time_or_null(r->valid_until_ms), "status", r->withdrawn ? "withdrawn" : "active",
        "evidence", evidence(&r->evidence), "created_at", time_or_null(r->created_ms), "updated_at",
        time_or_null(r->updated_ms));
    if (o != NULL && r->withdrawn)
        json_object_set_new(o, "withdrawal",
                            json_pack("{s:o, s:s?, s:o}", "at", time_or_null(r->withdrawn_ms), "by",
                                      r->withdrawn_by, "evidence", evidence(&r->withdrawal)));
    return o;
}

static const char *change_text(const struct consent_purpose *p)
{
    if (p->version == 1)
        return "first";
    switch (p->change) {
    case CONSENT_WIDENS:
        return "widening";
    case CONSENT_NARROWS:
        return "narrowing";
    case CONSENT_WIDENS | CONSENT_NARROWS:
        return "mixed";
    default:
        return "same";
    }
}

json_t *consent_json_purpose_out(const struct consent_purpose *p)
{
    return json_pack("{s:s, s:I, s:b, s:{s:s, s:s}, s:{s:s, s:s}, s:s, s:o, s:o, s:s, s:I, s:s, "
                     "s:o, s:s}",
                     "code", p->code, "version", (json_int_t)p->version, "current", p->current,
                     "title", "ja", p->title_ja, "en", p->title_en, "explanation", "ja",
                     p->explanation_ja, "en", p->explanation_en, "explanation_hash",
                     p->explanation_hash, "categories", names(p->cats, 0), "recipients",
                     id_list(p->recipients), "legal_basis",
                     consent_legal_basis_name(p->legal_basis), "retention_days",
                     (json_int_t)p->retention_days, "change", change_text(p), "published_at",
                     time_or_null(p->published_ms), "published_by", p->published_by);
}

json_t *consent_json_item(const struct consent_inbox_item *it)
{
    json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:o, s:o, s:s?}", "id", it->id, "kind", it->kind,
                          "consent_id", it->consent_id, "purpose", it->purpose_code, "created_at",
                          time_or_null(it->created_ms), "resolved_at",
                          time_or_null(it->resolved_ms), "detail", it->detail);
    if (o != NULL && it->source != NULL) {
        json_object_set_new(o, "source", json_string(it->source));
        if (it->ref != NULL)
            json_object_set_new(o, "ref", json_string(it->ref));
        json_object_set_new(o, "text",
                            json_pack("{s:s?, s:s?}", "ja", it->text_ja, "en", it->detail));
    }
    if (o != NULL && it->to_version > 0) {
        json_object_set_new(o, "from_version", json_integer(it->from_version));
        json_object_set_new(o, "to_version", json_integer(it->to_version));
    }
    return o;
}
