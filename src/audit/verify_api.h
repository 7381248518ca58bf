/* verify_api.h - the trail's integrity check over HTTP, for the city's administrators (the
 * portal's city view; the same walk as `cityos audit verify`):
 *   POST /api/v1/admin/audit/verification   start a check in the background (202)
 *   GET  /api/v1/admin/audit/verification   the state of the last check and what it found
 * A check walks every citizen's chain and every signed checkpoint (audit_verify), which can
 * take long on a large store, so it runs on a thread of its own, one at a time, and the
 * administrator reads its result; see docs/api.md. */
#ifndef COS_AUDIT_VERIFY_API_H
#define COS_AUDIT_VERIFY_API_H

#include "http/router.h"
#include "store/store.h"

/* Registers the two routes. Returns 0 or ERR_NOMEM. */
int audit_verify_api_register(struct http_router *r, struct store *s);

/* Waits for a check still running (call after the HTTP server has stopped, before the store
 * closes). */
void audit_verify_api_stop(void);

#endif
