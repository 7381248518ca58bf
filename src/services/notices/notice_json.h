/* notice_json.h - city notices (public announcements from the city office: disaster drills,
 * clinic hours, road works) as JSON: validation of what operators send, and the served form. */
#ifndef COS_NOTICE_JSON_H
#define COS_NOTICE_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "base/ids.h"

#define NOTICE_TITLE_MAX    200  /* characters */
#define NOTICE_BODY_MAX     8000 /* characters */
#define NOTICE_DISTRICT_MAX 64   /* characters */
#define NOTICE_CURSOR_MAX   48   /* bytes of a paging cursor */

struct notice {
    const char *category;            /* one of notice_categories */
    const char *title_ja, *title_en; /* at least one of each pair */
    const char *body_ja, *body_en;
    const char *district;   /* NULL: the whole city */
    int has_valid_until;    /* 0: no end */
    int64_t valid_until_ms; /* when has_valid_until */
};

/* The allowed categories, NULL-terminated. */
extern const char *const notice_categories[];

/* Is s one of notice_categories? */
int notice_category_valid(const char *s);

/* Validates a notice body (already parsed) and fills n with pointers borrowed from in.
 * Returns 0, or ERR_INVALID with e naming the member at fault as a JSON Pointer. */
int notice_from_json(const json_t *in, struct notice *n, struct err *e);

/* The representation stored and served: id, category, title, body, district, validUntil,
 * createdAt. Returns a new reference or NULL when out of memory. */
json_t *notice_to_json(const struct notice *n, const char *id, int64_t created_ms);

/* Paging cursors name the last notice of a page: "<created_ms>.<id>". parse returns 0 or
 * ERR_INVALID; format writes at most NOTICE_CURSOR_MAX bytes including the NUL. */
int notice_cursor_parse(const char *s, int64_t *created_ms, char id[IDS_LEN + 1]);
void notice_cursor_format(int64_t created_ms, const char *id, char out[NOTICE_CURSOR_MAX]);

#endif
