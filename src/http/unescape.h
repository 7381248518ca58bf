/* unescape.h - percent-decoding of request paths and query arguments (the server's
 * MHD_OPTION_UNESCAPE_CALLBACK, server.c). libmicrohttpd's own decoder turns %00 into a NUL
 * that silently ends the string: `/portal/js/app.js%00.png` would reach the router as
 * `/portal/js/app.js`. Ours decodes exactly as RFC 3986 2.1 says, except that %00 stays as the
 * three characters "%00", so no decoded NUL can cut a path or a value short: a path with it
 * matches no route (404) and a value with it fails the value's own rules. */
#ifndef COS_HTTP_UNESCAPE_H
#define COS_HTTP_UNESCAPE_H

#include <stddef.h>

/* Decodes the %XX escapes of the NUL-terminated s in place (hex digits of either case), leaving
 * "%00" and any '%' not followed by two hex digits as they are. Returns the new length. */
size_t http_unescape(char *s);

#endif
