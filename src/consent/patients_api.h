/* patients_api.h - the organisation's side of the citizens' consents (issue 8, docs/api.md
 * "Patients who consented"):
 *   GET /api/v1/org/patients?_count=&cursor=   the citizens whose open consents let the
 *                                              practitioner's organisation read their data
 *   GET /api/v1/recipient-names?ids=           public names of organisations and services
 * A practitioner's token only (user/Consent.s). Candidates come from the store (active consents
 * naming the organisation, or broad purpose opt-ins whose purpose names it); whether each one
 * lets this practitioner read is decided by consent_decide() alone, category by category, so
 * the list can never say more than a read would be allowed. Every listed citizen's trail gets
 * the listing (one entry per consent, and one for the name when shown) before the answer is
 * sent: no record, no list. */
#ifndef COS_CONSENT_PATIENTS_API_H
#define COS_CONSENT_PATIENTS_API_H

#include "http/router.h"
#include "store/store.h"

#define PATIENTS_COUNT_DEFAULT 20
#define PATIENTS_COUNT_MAX     50 /* citizens per page */
#define PATIENTS_CONSENTS_MAX  10 /* consents listed per citizen */
#define PATIENTS_PATH          "/api/v1/org/patients"

struct patients_api {
    struct store *store;
};

/* Registers the route. api must outlive the router. Returns 0 or a negative ERR_*. */
int patients_api_register(struct http_router *r, struct patients_api *api, struct store *s);

/* GET /api/v1/recipient-names?ids=a,b,... (public, recipient_names.c): {"names": [{"id", "kind":
 * "organisation" (with "org_kind") | "service", "name": {"ja", "en"}}]} for the ids that name an
 * organisation or a registered client; others are left out. 400 for a malformed list. Registered
 * by patients_api_register(). */
int patients__names_register(struct http_router *r, struct patients_api *api);

/* ---- the query parsers (exposed for the fuzz target fuzz/fuzz_patients_query.c) ---- */

/* _count: NULL -> PATIENTS_COUNT_DEFAULT; else 1..3 decimal digits whose value is 1 ..
 * PATIENTS_COUNT_MAX. Returns 0 with *out set, or -1. */
int patients_count_parse(const char *text, int *out);

#define PATIENTS_NAMES_IDS_MAX 100
/* ids of /api/v1/recipient-names: 1..PATIENTS_NAMES_IDS_MAX well-formed ids (ids_valid) separated
 * by single commas; out (PATIENTS_NAMES_IDS_MAX slots) gets each distinct id once, copied into
 * a. Returns the count, or -1 for anything else (empty, an empty or malformed member, too many,
 * out of memory). */
struct arena;
int patients_ids_split(struct arena *a, const char *text, const char **out);

/* patients_api_register() with the module's own struct (one line in serve.c). */
int patients_api_routes(struct http_router *r, struct store *s);

#endif
