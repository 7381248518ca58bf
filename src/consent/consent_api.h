/* consent_api.h - the consent endpoints of the portal and the city's administration:
 *   GET    /api/v1/purposes                       the purposes, with their texts (public)
 *   POST   /api/v1/admin/purposes                 publish a new version (administrator)
 *   GET    /api/v1/me/consents                    the citizen's consents (?subject= for a
 *   POST   /api/v1/me/consents                      delegate with manage_consents) / grant
 *   GET    /api/v1/me/consents/{id}               one consent
 *   PATCH  /api/v1/me/consents/{id}               narrow it
 *   DELETE /api/v1/me/consents/{id}               withdraw it (evidence in the body); also
 *   POST   /api/v1/me/consents/{id}/withdraw        as a POST for clients that cannot DELETE
 *   GET    /api/v1/me/consents/{id}/receipts      the signed receipts of each of its changes
 *   GET    /fhir/Consent/{id}                     the same consents as FHIR R4 Consent
 *   GET    /fhir/Consent?patient=Patient/<id>       resources (reads recorded on the trail)
 *   GET    /api/v1/me/inbox                       re-consent requests and break-glass notices
 *                                                  (+ alerts and advice of an inbox source)
 *   POST   /api/v1/me/inbox/{id}/accept           accept a re-consent
 * Writes go through store_write_async (the connection sleeps until durable) and record their
 * audit entry in the same transaction; see docs/api.md. */
#ifndef COS_CONSENT_API_H
#define COS_CONSENT_API_H

#include <jansson.h>

#include "base/arena.h"
#include "base/err.h"
#include "http/router.h"
#include "store/store.h"

struct consent_api {
    struct store *store;
    const char *issuer; /* the city's public base URL: receipts' iss, policy and JWKS URLs */
    /* the controller every receipt names (options controller-*, src/base/config.c); NULL or
     * "": the option's default; email NULL or "": privacy@<issuer host> */
    const char *controller_name_ja, *controller_name_en, *controller_address, *controller_phone,
        *controller_email;
};

/* Registers the routes. api must outlive the router. The decision index is the process-wide
 * one (consent_index_open_global), looked up per request: 503 until it is loaded. Returns 0
 * or a negative ERR_*. */
int consent_api_register(struct http_router *r, struct consent_api *api, struct store *s);

/* A city service's messages to the citizen shown in the inbox beside its items (issue 6 part
 * 5: the home doctor's alerts and advice). Sets *out to a new JSON array of the subject's
 * entries, newest first, or returns an ERR_* (the inbox then answers 503). Called only when a
 * citizen reads their own inbox (rule:self); everyone else reads those resources through
 * /fhir under the normal decision. Allocations may use a (the request's arena). */
typedef int (*consent_inbox_source_fn)(struct store *s, const char *subject, struct arena *a,
                                       json_t **out, void *ctx, struct err *e);

/* Sets the one inbox source (call at start-up, before serving). Its entries are the response's
 * "alerts" member. Returns 0, or ERR_INVALID when one is already set. */
int consent_inbox_source_set(consent_inbox_source_fn fn, void *ctx);

#endif
