/* consent_support.h - what the consent API tests send as a citizen's evidence of agreement. */
#ifndef CITYOS_API_CONSENT_SUPPORT_H
#define CITYOS_API_CONSENT_SUPPORT_H

/* now + delta seconds as RFC 3339 UTC (malloc'ed). */
char *rfc3339_from_now(long delta);

/* The evidence JSON of a grant through the portal: the explanation's hash, shown two minutes
 * ago, agreed five seconds ago (malloc'ed). */
char *consent_evidence(const char *hash);

#endif
