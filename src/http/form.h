/* form.h - strict application/x-www-form-urlencoded bodies (the OAuth endpoints' input):
 * bounded field count and sizes, percent-decoding, valid UTF-8, repeated names refused. */
#ifndef COS_HTTP_FORM_H
#define COS_HTTP_FORM_H

#include <stddef.h>

#include "base/arena.h"
#include "base/err.h"

#define HTTP_FORM_FIELDS_MAX 16   /* fields in one body */
#define HTTP_FORM_NAME_MAX   64   /* bytes of a decoded name */
#define HTTP_FORM_VALUE_MAX  4096 /* bytes of a decoded value */

struct http_form_field {
    const char *name;  /* decoded, NUL-terminated, in the arena */
    const char *value; /* decoded, NUL-terminated, in the arena; may be "" */
};

struct http_form {
    size_t n;
    struct http_form_field fields[HTTP_FORM_FIELDS_MAX];
};

/* Parses body[0..len) as name=value pairs joined by '&' (the WHATWG urlencoded syntax, '+'
 * meaning a space), into out, with the decoded strings allocated in a. Strict: every pair needs
 * a non-empty name and an '=', no empty pairs ("a=1&&b=2"), '%' must start two hex digits,
 * decoded text must be valid UTF-8 without control characters (a value may hold none; the OAuth
 * parameters never need one), and a name may appear only once (RFC 6749 section 3.2). len 0 is
 * an empty form. Returns 0, ERR_INVALID (e says why, naming at most the field's name, never its
 * value), ERR_TOOBIG when a bound above is exceeded, or ERR_NOMEM. */
int http_form_parse(const char *body, size_t len, struct arena *a, struct http_form *out,
                    struct err *e);

/* The value of field name, or NULL when absent or empty: RFC 6749 section 3.1 says a parameter
 * sent without a value is treated as omitted. */
const char *http_form_get(const struct http_form *f, const char *name);

/* Percent-decodes s[0..len) ('+' as space) into a new NUL-terminated string in a, with the rules
 * of http_form_parse for one value, bounded by max bytes. Used for the id and secret inside HTTP
 * Basic credentials (RFC 6749 section 2.3.1). Returns the string or NULL (e says why). */
char *http_form_decode(const char *s, size_t len, size_t max, struct arena *a, struct err *e);

/* Percent-encodes s for a query or form value: every byte but the unreserved characters of
 * RFC 3986 (A-Z a-z 0-9 - . _ ~) becomes %XX. Returns the string in a, or NULL. */
char *http_form_encode(const char *s, struct arena *a);

#endif
