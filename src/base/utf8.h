/* utf8.h - UTF-8 checks for text that arrives from outside (query values, headers) before it is
 * stored, compared or echoed in JSON. */
#ifndef COS_UTF8_H
#define COS_UTF8_H

#include <stddef.h>

/* Is s[0..n) well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF)?
 * NUL bytes count as invalid, since no text field may carry one. */
int utf8_valid(const char *s, size_t n);

/* Number of code points in s[0..n), which must be valid UTF-8. */
size_t utf8_chars(const char *s, size_t n);

#endif
