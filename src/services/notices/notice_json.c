/* notice_json.c - strict validation of notice bodies (unknown members, types, lengths, dates)
 * and their canonical stored form. Every error names the member as a JSON Pointer. */
#include "services/notices/notice_json.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"

const char *const notice_categories[] = {"general", "health",  "disaster", "transport",
                                         "event",   "welfare", NULL};

int notice_category_valid(const char *s)
{
    for (const char *const *c = notice_categories; *c != NULL; c++)
        if (strcmp(*c, s) == 0)
            return 1;
    return 0;
}

/* Reads a {"ja": ..., "en": ...} text pair; at least one language is required. */
static int get_text_pair(const json_t *in, const char *key, size_t max_chars, const char **ja,
                         const char **en, struct err *e)
{
    static const char *const langs[] = {"ja", "en", NULL};
    char where[32];
    snprintf(where, sizeof where, "/%s", key);
    const json_t *pair = json_object_get(in, key);
    if (pair == NULL)
        return err_set(e, ERR_INVALID, "%s: required (an object with \"ja\" and/or \"en\")", where);
    if (!json_is_object(pair))
        return err_set(e, ERR_INVALID, "%s: must be an object with \"ja\" and/or \"en\"", where);
    int rc = jsonx_only_keys(pair, langs, where, e);
    if (rc != 0)
        return rc;
    rc = jsonx_get_string(pair, "ja", max_chars, where, ja, e);
    if (rc == ERR_INVALID)
        return rc;
    rc = jsonx_get_string(pair, "en", max_chars, where, en, e);
    if (rc == ERR_INVALID)
        return rc;
    if (*ja == NULL && *en == NULL)
        return err_set(e, ERR_INVALID, "%s: needs \"ja\" or \"en\"", where);
    return 0;
}

int notice_from_json(const json_t *in, struct notice *n, struct err *e)
{
    static const char *const members[] = {"category", "title",      "body",
                                          "district", "validUntil", NULL};
    memset(n, 0, sizeof *n);
    if (!json_is_object(in))
        return err_set(e, ERR_INVALID, "the body must be a JSON object");
    int rc = jsonx_only_keys(in, members, "", e);
    if (rc != 0)
        return rc;
    rc = jsonx_get_string(in, "category", 32, "", &n->category, e);
    if (rc == ERR_NOTFOUND)
        return err_set(e, ERR_INVALID, "/category: required");
    if (rc != 0)
        return rc;
    if (!notice_category_valid(n->category))
        return err_set(e, ERR_INVALID,
                       "/category: must be general, health, disaster, transport, event or "
                       "welfare");
    if ((rc = get_text_pair(in, "title", NOTICE_TITLE_MAX, &n->title_ja, &n->title_en, e)) != 0)
        return rc;
    if ((rc = get_text_pair(in, "body", NOTICE_BODY_MAX, &n->body_ja, &n->body_en, e)) != 0)
        return rc;
    if ((n->title_ja == NULL) != (n->body_ja == NULL) ||
        (n->title_en == NULL) != (n->body_en == NULL))
        return err_set(e, ERR_INVALID, "/body: must be in the same languages as /title");
    rc = jsonx_get_string(in, "district", NOTICE_DISTRICT_MAX, "", &n->district, e);
    if (rc == ERR_INVALID)
        return rc;
    const char *until = NULL;
    rc = jsonx_get_string(in, "validUntil", 40, "", &until, e);
    if (rc == ERR_INVALID)
        return rc;
    n->has_valid_until = until != NULL;
    if (until != NULL && clock_parse_rfc3339(until, &n->valid_until_ms) != 0)
        return err_set(e, ERR_INVALID,
                       "/validUntil: must be an RFC 3339 date-time with a zone, e.g. "
                       "2026-12-01T09:00:00+09:00");
    return 0;
}

/* {"ja": ja, "en": en} without the absent ones; NULL when out of memory (never half-built). */
static json_t *text_pair(const char *ja, const char *en)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    if ((ja != NULL && json_object_set_new(o, "ja", json_string(ja)) != 0) ||
        (en != NULL && json_object_set_new(o, "en", json_string(en)) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *notice_to_json(const struct notice *n, const char *id, int64_t created_ms)
{
    char ts[32];
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int bad = 0;
    bad |= json_object_set_new(o, "id", json_string(id));
    bad |= json_object_set_new(o, "category", json_string(n->category));
    bad |= json_object_set_new(o, "title", text_pair(n->title_ja, n->title_en));
    bad |= json_object_set_new(o, "body", text_pair(n->body_ja, n->body_en));
    if (n->district != NULL)
        bad |= json_object_set_new(o, "district", json_string(n->district));
    if (n->has_valid_until)
        bad |= json_object_set_new(o, "validUntil",
                                   json_string(clock_format_ms(n->valid_until_ms, ts, sizeof ts)));
    bad |= json_object_set_new(o, "createdAt",
                               json_string(clock_format_ms(created_ms, ts, sizeof ts)));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int notice_cursor_parse(const char *s, int64_t *created_ms, char id[IDS_LEN + 1])
{
    size_t len = strnlen(s, NOTICE_CURSOR_MAX);
    if (len >= NOTICE_CURSOR_MAX)
        return ERR_INVALID;
    const char *dot = memchr(s, '.', len);
    if (dot == NULL || dot == s || dot - s > 15)
        return ERR_INVALID;
    int64_t ms = 0;
    for (const char *p = s; p < dot; p++) {
        if (*p < '0' || *p > '9')
            return ERR_INVALID;
        ms = ms * 10 + (*p - '0');
    }
    if (!ids_valid(dot + 1))
        return ERR_INVALID;
    *created_ms = ms;
    memcpy(id, dot + 1, IDS_LEN + 1);
    return 0;
}

void notice_cursor_format(int64_t created_ms, const char *id, char out[NOTICE_CURSOR_MAX])
{
    snprintf(out, NOTICE_CURSOR_MAX, "%lld.%s", (long long)created_ms, id);
}
