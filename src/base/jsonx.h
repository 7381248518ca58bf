/* jsonx.h - strict JSON input helpers over jansson: bounded parsing of request bodies and field
 * checks that name the offending location (a JSON Pointer) in their error. */
#ifndef COS_JSONX_H
#define COS_JSONX_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

/* Routes jansson's allocations through a wrapper that counts failures per thread, so that
 * jsonx_parse() and jsonx_dumps() can refuse a result made while an allocation failed: jansson
 * 2.14 then silently drops a character of a string ("title" -> "itle") or an object key and
 * still returns the value. Idempotent and thread-safe; the jsonx functions call it themselves. */
void jsonx_init(void);

/* For tests: the allocator behind the wrapper (NULL: malloc again). */
void jsonx_set_malloc(void *(*fn)(size_t));

/* Parses exactly one JSON value from buf[0..len). Rejects duplicate keys, NUL characters,
 * invalid UTF-8 and trailing data. Returns a new reference (the caller decrefs) or NULL with e
 * saying why: ERR_INVALID where parsing failed, ERR_NOMEM when memory ran out (then the input
 * may be fine). Whether the value has the right shape (an object, say) is the validator's
 * question, answered with 422 rather than 400. */
json_t *jsonx_parse(const char *buf, size_t len, struct err *e);

/* Fails with ERR_INVALID naming the first member of obj not in allowed (NULL-terminated).
 * where is obj's JSON Pointer ("" for the root). */
int jsonx_only_keys(const json_t *obj, const char *const *allowed, const char *where,
                    struct err *e);

/* Reads obj[key] as a string of 1..max_chars Unicode characters. Returns 0 and sets *out
 * (borrowed from obj), or ERR_NOTFOUND when absent (and *out = NULL), or ERR_INVALID with e set
 * for a wrong type, an empty string or a string too long. */
int jsonx_get_string(const json_t *obj, const char *key, size_t max_chars, const char *where,
                     const char **out, struct err *e);

/* Serialises v compactly, members in insertion order, into a malloc'ed NUL-terminated string
 * (the caller frees it) and sets *len (may be NULL). Returns NULL when out of memory. Use this,
 * not json_dumps(): jansson 2.14's json_dumps() can drop an object key when an allocation
 * fails midway and still return the text; here the text is written in one pass into a buffer
 * that grows, and refused if any allocation failed meanwhile (tests/unit/base/test_jsonx.c). */
char *jsonx_dumps(const json_t *v, size_t *len);

/* json_decref for arena_defer(), which takes a void (*)(void *). */
void jsonx_decref(void *v);

#endif
