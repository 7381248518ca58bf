/* admin_json.c - strict reading of the identity admin API's bodies (members, types, enums,
 * coordinates, dates) and the served form of people, organisations, roles, links and clients. */
#include "identity/admin_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/ids.h"
#include "base/jsonx.h"

#define DAY_MS 86400000LL

/* ---- members ---- */

/* Requires a JSON object without members outside allowed. */
static int object_with(const json_t *in, const char *const *allowed, struct err *e)
{
    if (!json_is_object(in))
        return err_set(e, ERR_INVALID, "the body must be a JSON object");
    return jsonx_only_keys(in, allowed, "", e);
}

/* A string member: required ones answer "required" when absent; optional ones leave NULL. */
static int get_text(const json_t *in, const char *key, int required, const char **out,
                    struct err *e)
{
    int rc = jsonx_get_string(in, key, ID_ADMIN_TEXT_MAX, "", out, e);
    if (rc == ERR_NOTFOUND)
        return required ? err_set(e, ERR_INVALID, "/%s: required", key) : 0;
    return rc;
}

/* An enumeration member named by text and turned into an enum by parse. */
static int get_enum(const json_t *in, const char *key, int required,
                    int (*parse)(const char *, void *), void *out, const char *names, struct err *e)
{
    const char *text = NULL;
    int rc = get_text(in, key, required, &text, e);
    if (rc != 0 || text == NULL)
        return rc;
    if (parse(text, out) != 0)
        return err_set(e, ERR_INVALID, "/%s: must be %s", key, names);
    return 0;
}

/* The enum parsers with one signature (each takes a pointer to its own enum). */
static int parse_sex(const char *t, void *o)
{
    return id_sex_parse(t, o);
}
static int parse_assurance(const char *t, void *o)
{
    return id_assurance_parse(t, o);
}
static int parse_org_kind(const char *t, void *o)
{
    return id_org_kind_parse(t, o);
}
static int parse_role(const char *t, void *o)
{
    return id_role_parse(t, o);
}
static int parse_link_kind(const char *t, void *o)
{
    return id_link_kind_parse(t, o);
}
static int parse_client_kind(const char *t, void *o)
{
    return id_client_kind_parse(t, o);
}

/* A coordinate in decimal degrees, as a JSON number with at most six decimals, to micro-degrees.
 * Exact: v came from a decimal with at most six decimals exactly when the nearest such decimal,
 * r / 10^6, is v again (IEEE division and strtod both round correctly). The range is the
 * identity functions' check (id__check_coords). */
static int get_degrees(const json_t *in, const char *key, int64_t *out_e6, struct err *e)
{
    const json_t *v = json_object_get(in, key);
    if (!json_is_number(v))
        return err_set(e, ERR_INVALID, "/%s: must be a number of decimal degrees", key);
    double d = json_number_value(v);
    if (!isfinite(d) || fabs(d) > 1000.0)
        return err_set(e, ERR_INVALID, "/%s: out of range", key);
    double r = nearbyint(d * 1e6);
    if (r / 1e6 != d)
        return err_set(e, ERR_INVALID, "/%s: at most 6 decimals", key);
    *out_e6 = (int64_t)r;
    return 0;
}

static int get_coords(const json_t *in, struct id_coords *c, struct err *e)
{
    int has_lat = json_object_get(in, "lat") != NULL, has_lon = json_object_get(in, "lon") != NULL;
    memset(c, 0, sizeof *c);
    if (!has_lat && !has_lon)
        return 0;
    if (!has_lat || !has_lon)
        return err_set(e, ERR_INVALID, "/%s: lat and lon go together", has_lat ? "lon" : "lat");
    int rc = get_degrees(in, "lat", &c->lat_e6, e);
    if (rc == 0)
        rc = get_degrees(in, "lon", &c->lon_e6, e);
    c->set = rc == 0;
    return rc;
}

/* An array of names (rights, grant types) joined with commas into buf, for the identity
 * module's parser; the names themselves are checked there. Absent: buf = "". */
static int get_name_list(const json_t *in, const char *key, int required, char *buf, size_t size,
                         struct err *e)
{
    const json_t *a = json_object_get(in, key);
    buf[0] = '\0';
    if (a == NULL)
        return required ? err_set(e, ERR_INVALID, "/%s: required", key) : 0;
    if (!json_is_array(a))
        return err_set(e, ERR_INVALID, "/%s: must be an array of strings", key);
    size_t n = json_array_size(a), used = 0;
    if (n == 0)
        return err_set(e, ERR_INVALID, "/%s: must not be empty", key);
    if (n > ID_ADMIN_LIST_MAX)
        return err_set(e, ERR_INVALID, "/%s: at most %d names", key, ID_ADMIN_LIST_MAX);
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_array_get(a, i));
        size_t len = name != NULL ? json_string_length(json_array_get(a, i)) : 0;
        if (name == NULL || len == 0 || len > ID_ADMIN_NAME_MAX || strlen(name) != len ||
            strchr(name, ',') != NULL)
            return err_set(e, ERR_INVALID, "/%s/%zu: must be a name such as \"%s\"", key, i,
                           strcmp(key, "rights") == 0 ? "see_alerts" : "authorization_code");
        if (used + len + 2 > size)
            return err_set(e, ERR_INVALID, "/%s: too long", key);
        if (i > 0)
            buf[used++] = ',';
        memcpy(buf + used, name, len + 1);
        used += len;
    }
    return 0;
}

/* "YYYY-MM-DD" (the last day, in Japan: the link ends at the start of the next Japanese day)
 * or an RFC 3339 date-time with a zone (the instant). */
static int get_until(const json_t *in, int64_t *out, struct err *e)
{
    const char *text = NULL;
    int rc = get_text(in, "valid_until", 0, &text, e);
    if (rc != 0 || text == NULL)
        return rc;
    int64_t ms = 0;
    char stamp[32];
    if (strlen(text) == 10) {
        snprintf(stamp, sizeof stamp, "%.10sT00:00:00+09:00", text);
        rc = clock_parse_rfc3339(stamp, &ms);
        ms += DAY_MS;
    } else {
        rc = clock_parse_rfc3339(text, &ms);
    }
    if (rc != 0)
        return err_set(e, ERR_INVALID,
                       "/valid_until: must be a date as YYYY-MM-DD (the last day) or an RFC "
                       "3339 date-time with a zone");
    if (ms <= 0) /* 0 would mean open-ended to id_family_link_add */
        return err_set(e, ERR_INVALID, "/valid_until: must lie after now");
    *out = ms;
    return 0;
}

/* ---- the bodies ---- */

int id_admin_person_from_json(const json_t *in, struct id_person_new *out, struct err *e)
{
    static const char *const members[] = {"family_name",     "given_name", "family_name_kana",
                                          "given_name_kana", "birth_date", "sex",
                                          "district",        "lat",        "lon",
                                          "phone",           "email",      "assurance",
                                          "password",        NULL};
    memset(out, 0, sizeof *out);
    int rc = object_with(in, members, e);
    if (rc == 0)
        rc = get_text(in, "family_name", 1, &out->family_name_kanji, e);
    if (rc == 0)
        rc = get_text(in, "given_name", 1, &out->given_name_kanji, e);
    if (rc == 0)
        rc = get_text(in, "family_name_kana", 1, &out->family_name_kana, e);
    if (rc == 0)
        rc = get_text(in, "given_name_kana", 1, &out->given_name_kana, e);
    if (rc == 0)
        rc = get_text(in, "birth_date", 1, &out->birth_date, e);
    if (rc == 0)
        rc = get_enum(in, "sex", 1, parse_sex, &out->sex, "male, female, other or unknown", e);
    if (rc == 0)
        rc = get_text(in, "district", 1, &out->district, e);
    if (rc == 0)
        rc = get_coords(in, &out->coords, e);
    if (rc == 0)
        rc = get_text(in, "phone", 0, &out->phone, e);
    if (rc == 0)
        rc = get_text(in, "email", 0, &out->email, e);
    if (rc == 0)
        rc = get_enum(in, "assurance", 0, parse_assurance, &out->assurance,
                      "self, in_person or card", e);
    if (rc == 0)
        rc = get_text(in, "password", 0, &out->password, e);
    return rc;
}

int id_admin_org_from_json(const json_t *in, struct id_org_new *out, struct err *e)
{
    static const char *const members[] = {"kind",    "name_ja", "name_en", "district",
                                          "address", "lat",     "lon",     NULL};
    memset(out, 0, sizeof *out);
    int rc = object_with(in, members, e);
    if (rc == 0)
        rc = get_enum(in, "kind", 1, parse_org_kind, &out->kind,
                      "clinic, hospital, pharmacy, care_home, school, taxi_company, city_office "
                      "or research_body",
                      e);
    if (rc == 0)
        rc = get_text(in, "name_ja", 1, &out->name_ja, e);
    if (rc == 0)
        rc = get_text(in, "name_en", 0, &out->name_en, e);
    if (rc == 0)
        rc = get_text(in, "district", 1, &out->district, e);
    if (rc == 0)
        rc = get_text(in, "address", 0, &out->address, e);
    if (rc == 0)
        rc = get_coords(in, &out->coords, e);
    return rc;
}

int id_admin_role_from_json(const json_t *in, const char **org_id, enum id_role_kind *role,
                            struct err *e)
{
    static const char *const members[] = {"org_id", "role", NULL};
    *org_id = NULL;
    *role = ID_ROLE_DOCTOR;
    int rc = object_with(in, members, e);
    if (rc == 0)
        rc = get_text(in, "org_id", 1, org_id, e);
    if (rc == 0)
        rc = get_enum(in, "role", 1, parse_role, role,
                      "doctor, nurse, pharmacist, care_worker, dispatcher, clerk, "
                      "city_administrator or auditor",
                      e);
    return rc;
}

int id_admin_link_from_json(const json_t *in, struct id_family_link_new *out, struct err *e)
{
    static const char *const members[] = {"delegate_id", "rights", "kind", "valid_until", NULL};
    char rights[ID_ADMIN_LIST_MAX * (ID_ADMIN_NAME_MAX + 1) + 1];
    memset(out, 0, sizeof *out);
    int rc = object_with(in, members, e);
    if (rc == 0)
        rc = get_text(in, "delegate_id", 1, &out->delegate_id, e);
    if (rc == 0)
        rc = get_name_list(in, "rights", 1, rights, sizeof rights, e);
    if (rc == 0 && (rc = id_rights_parse(rights, &out->rights, e)) != 0)
        id_admin_pointer_error(e, e);
    if (rc == 0)
        rc = get_enum(in, "kind", 0, parse_link_kind, &out->kind, "family or guardian", e);
    if (rc == 0)
        rc = get_until(in, &out->valid_until_ms, e);
    return rc;
}

int id_admin_client_from_json(const json_t *in, struct id_client_new *out,
                              const char *uris[ID_CLIENT_REDIRECTS_MAX], struct err *e)
{
    static const char *const members[] = {"name",          "kind",   "scopes", "grant_types",
                                          "redirect_uris", "org_id", NULL};
    char grants[ID_ADMIN_LIST_MAX * (ID_ADMIN_NAME_MAX + 1) + 1];
    memset(out, 0, sizeof *out);
    out->redirect_uris = uris;
    int rc = object_with(in, members, e);
    if (rc == 0)
        rc = get_text(in, "name", 1, &out->name, e);
    if (rc == 0)
        rc = get_enum(in, "kind", 1, parse_client_kind, &out->kind, "public or confidential", e);
    if (rc == 0)
        rc = get_text(in, "scopes", 1, &out->scopes, e);
    if (rc == 0)
        rc = get_name_list(in, "grant_types", 1, grants, sizeof grants, e);
    if (rc == 0 && (rc = id_grant_types_parse(grants, &out->grant_types, e)) != 0)
        id_admin_pointer_error(e, e);
    if (rc == 0)
        rc = get_text(in, "org_id", 0, &out->org_id, e);
    if (rc != 0)
        return rc;
    const json_t *a = json_object_get(in, "redirect_uris");
    if (a == NULL)
        return 0;
    if (!json_is_array(a))
        return err_set(e, ERR_INVALID, "/redirect_uris: must be an array of strings");
    if (json_array_size(a) > ID_CLIENT_REDIRECTS_MAX)
        return err_set(e, ERR_INVALID, "/redirect_uris: at most %d", ID_CLIENT_REDIRECTS_MAX);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *u = json_array_get(a, i);
        struct err ue = {0};
        if (!json_is_string(u))
            return err_set(e, ERR_INVALID, "/redirect_uris/%zu: must be a string", i);
        if (id_client_check_uri(json_string_value(u), &ue) != 0) /* to name the element */
            return err_set(e, ERR_INVALID, "/redirect_uris/%zu%s", i,
                           strchr(ue.msg, ':') != NULL ? strchr(ue.msg, ':') : ": not valid");
        uris[out->n_redirect_uris++] = json_string_value(u);
    }
    return 0;
}

void id_admin_pointer_error(const struct err *in, struct err *out)
{
    static const struct {
        const char *from, *to;
    } renamed[] = {{"redirect_uri", "redirect_uris"}};
    char msg[sizeof in->msg];
    const char *colon = strchr(in->msg, ':');
    size_t flen = colon != NULL ? (size_t)(colon - in->msg) : 0;
    int is_field = flen > 0 && flen < 40 && in->msg[0] != '/';
    for (size_t i = 0; is_field && i < flen; i++)
        if (!((in->msg[i] >= 'a' && in->msg[i] <= 'z') || in->msg[i] == '_'))
            is_field = 0;
    int code = in->code;
    if (!is_field) {
        if (out != in)
            *out = *in;
        return;
    }
    const char *field = in->msg;
    for (size_t i = 0; i < sizeof renamed / sizeof renamed[0]; i++)
        if (strlen(renamed[i].from) == flen && strncmp(renamed[i].from, in->msg, flen) == 0) {
            field = renamed[i].to;
            flen = strlen(field);
        }
    snprintf(msg, sizeof msg, "/%.*s%s", (int)flen, field, colon);
    err_set(out, code, "%s", msg);
}

/* ---- the served forms ---- */

/* Adds key: string (skipped when s is NULL); returns non-zero when out of memory. */
static int put_text(json_t *o, const char *key, const char *s)
{
    return s != NULL ? json_object_set_new(o, key, json_string(s)) : 0;
}

static int put_time(json_t *o, const char *key, int64_t ms)
{
    char ts[32];
    return json_object_set_new(o, key, json_string(clock_format_ms(ms, ts, sizeof ts)));
}

static int put_coords(json_t *o, const struct id_coords *c)
{
    if (!c->set)
        return 0;
    return json_object_set_new(o, "lat", json_real((double)c->lat_e6 / 1e6)) |
           json_object_set_new(o, "lon", json_real((double)c->lon_e6 / 1e6));
}

/* An array of the comma-separated names in text. */
static json_t *name_array(const char *text)
{
    json_t *a = json_array();
    for (const char *p = text; a != NULL && *p != '\0';) {
        size_t len = strcspn(p, ",");
        if (json_array_append_new(a, json_stringn(p, len)) != 0) {
            json_decref(a);
            return NULL;
        }
        p += len + (p[len] == ',');
    }
    return a;
}

static json_t *finish(json_t *o, int bad)
{
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *id_admin_person_to_json(const struct id_person *p)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int bad = put_text(o, "id", p->id);
    bad |= put_text(o, "family_name", p->family_name_kanji);
    bad |= put_text(o, "given_name", p->given_name_kanji);
    bad |= put_text(o, "family_name_kana", p->family_name_kana);
    bad |= put_text(o, "given_name_kana", p->given_name_kana);
    bad |= put_text(o, "birth_date", p->birth_date);
    bad |= put_text(o, "sex", id_sex_name(p->sex));
    bad |= put_text(o, "district", p->district);
    bad |= put_coords(o, &p->coords);
    bad |= put_text(o, "phone", p->phone);
    bad |= put_text(o, "email", p->email);
    bad |= put_text(o, "assurance", id_assurance_name(p->assurance));
    bad |= json_object_set_new(o, "has_password", json_boolean(p->has_password));
    bad |= put_time(o, "created_at", p->created_ms);
    return finish(o, bad);
}

json_t *id_admin_org_to_json(const struct id_org *org)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int bad = put_text(o, "id", org->id);
    bad |= put_text(o, "kind", id_org_kind_name(org->kind));
    bad |= put_text(o, "name_ja", org->name_ja);
    bad |= put_text(o, "name_en", org->name_en);
    bad |= put_text(o, "district", org->district);
    bad |= put_text(o, "address", org->address);
    bad |= put_coords(o, &org->coords);
    bad |= put_time(o, "created_at", org->created_ms);
    return finish(o, bad);
}

json_t *id_admin_role_to_json(const struct id_role *r)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int bad = put_text(o, "id", r->id);
    bad |= put_text(o, "person_id", r->person_id);
    bad |= put_text(o, "org_id", r->org_id);
    bad |= put_text(o, "role", id_role_name(r->role));
    bad |= json_object_set_new(o, "active", json_boolean(r->active));
    bad |= put_time(o, "created_at", r->created_ms);
    return finish(o, bad);
}

json_t *id_admin_link_to_json(const struct id_family_link *l)
{
    char rights[ID_RIGHTS_TEXT_MAX];
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int bad = put_text(o, "id", l->id);
    bad |= put_text(o, "subject_id", l->subject_id);
    bad |= put_text(o, "delegate_id", l->delegate_id);
    bad |= json_object_set_new(o, "rights", name_array(id_rights_format(l->rights, rights)));
    bad |= put_text(o, "kind", id_link_kind_name(l->kind));
    bad |= put_time(o, "valid_from", l->valid_from_ms);
    if (l->valid_until_ms != 0)
        bad |= put_time(o, "valid_until", l->valid_until_ms);
    bad |= put_time(o, "created_at", l->created_ms);
    return finish(o, bad);
}

json_t *id_admin_client_to_json(const struct id_client *c, const char *secret)
{
    char grants[ID_GRANT_TYPES_TEXT_MAX];
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int bad = put_text(o, "client_id", c->id);
    if (secret != NULL && secret[0] != '\0')
        bad |= put_text(o, "client_secret", secret);
    bad |= put_text(o, "name", c->name);
    bad |= put_text(o, "kind", id_client_kind_name(c->kind));
    json_t *uris = json_array();
    for (size_t i = 0; uris != NULL && i < c->n_redirect_uris; i++)
        if (json_array_append_new(uris, json_string(c->redirect_uris[i])) != 0)
            json_decref(uris), uris = NULL;
    bad |= json_object_set_new(o, "redirect_uris", uris);
    bad |= put_text(o, "scopes", c->scopes);
    bad |= json_object_set_new(o, "grant_types",
                               name_array(id_grant_types_format(c->grant_types, grants)));
    bad |= put_text(o, "org_id", c->org_id);
    bad |= put_time(o, "created_at", c->created_ms);
    return finish(o, bad);
}
