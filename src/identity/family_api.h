/* family_api.h - the citizen's own family links (docs/api.md "Family", internals/identity.md):
 *   GET    /api/v1/me/family                       my delegates, whom I act for, my invitations
 *   POST   /api/v1/me/family/invitations           an invitation code with rights (201)
 *   DELETE /api/v1/me/family/invitations/{id}      cancel a pending invitation
 *   POST   /api/v1/me/family/accept                {"code"}: I become the inviter's delegate
 *   PATCH  /api/v1/me/family/links/{id}            {"rights"}: the person acted for changes them
 *   DELETE /api/v1/me/family/links/{id}            either person ends the link
 * A person's own token only (not a delegate's, a practitioner's or a client's), with
 * patient/RelatedPerson scopes (.r to list, .c to invite and accept, .u to change, .d to end).
 * Adding a family member never names an e-mail address: the citizen hands the code to the
 * family member, who accepts it signed in, so nothing tells whether an address has an account.
 * Every change is on the trail of each person concerned, in the same transaction. */
#ifndef COS_ID_FAMILY_API_H
#define COS_ID_FAMILY_API_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "http/router.h"
#include "store/store.h"

#define ID_FAMILY_CODE_LEN      32 /* 160 random bits in base32 (Crockford, lower case) */
#define ID_FAMILY_INVITE_TTL_MS (7LL * 24 * 3600 * 1000)
#define ID_FAMILY_INVITES_MAX   10 /* pending invitations per citizen */

struct family_api {
    struct store *store;
};

/* Registers the routes. api must outlive the router. Returns 0 or a negative ERR_*. */
int family_api_register(struct http_router *r, struct family_api *api, struct store *s);

/* family_api_register() with the module's own struct (one line in serve.c). */
int family_api_routes(struct http_router *r, struct store *s);

/* ---- the bodies (strict: unknown members, wrong types -> ERR_INVALID naming the member as a
 * JSON Pointer) ---- */

/* {"rights": [...], "valid_until"?: "YYYY-MM-DD" (the last day, Japan) | RFC 3339}; the end
 * must lie after now_ms (0 in *until_ms: open-ended). */
int id_family_invite_from_json(const json_t *in, int64_t now_ms, unsigned *rights,
                               int64_t *until_ms, struct err *e);

/* {"rights": [...]} */
int id_family_rights_from_json(const json_t *in, unsigned *rights, struct err *e);

/* {"code": "..."}: case, spaces and hyphens ignored; out gets the 32 canonical characters. */
int id_family_code_from_json(const json_t *in, char out[ID_FAMILY_CODE_LEN + 1], struct err *e);

#endif
