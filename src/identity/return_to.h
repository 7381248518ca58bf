/* return_to.h - where the sign-in page sends the browser afterwards: only a path on this server
 * (never another origin), so the sign-in page cannot be used as an open redirector. */
#ifndef COS_ID_RETURN_TO_H
#define COS_ID_RETURN_TO_H

#define ID_RETURN_TO_MAX     2048           /* bytes */
#define ID_RETURN_TO_DEFAULT "/signin/done" /* when none or a refused one was given */

/* Is s a local path we may redirect to: 1..ID_RETURN_TO_MAX bytes of printable ASCII (no
 * spaces, no control characters, no bytes >= 0x80: browsers strip or reinterpret them),
 * starting with "/" but not "//" or "/\" (both mean another host to a browser), and without a
 * backslash anywhere (browsers read it as "/")? NULL: no. */
int id_return_to_valid(const char *s);

/* s when id_return_to_valid(s), else ID_RETURN_TO_DEFAULT. */
const char *id_return_to_or_default(const char *s);

#endif
