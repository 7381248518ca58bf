/* admin_json.h - the JSON bodies of the identity admin API: strict reading of what an
 * administrator sends (members, types, enumerations, coordinates, dates) into the inputs of
 * id_person_create / id_org_create / id_role_add / id_family_link_add / id_client_create, and
 * the served form of the stored records (never a password, secret hash or sign-in state).
 *
 * Only the shape is checked here: lengths, character rules, e-mail and phone syntax, the
 * password policy, grant-type and redirect-URI rules, and whether referenced records exist are
 * the identity functions' checks, run when the record is created. Every error is ERR_INVALID
 * with a message that starts with the member's JSON Pointer ("/email: ..."). */
#ifndef COS_ID_ADMIN_JSON_H
#define COS_ID_ADMIN_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "identity/client.h"
#include "identity/org.h"
#include "identity/person.h"

/* A bound on every string member, in characters, far above any field's own limit: the
 * identity functions give the precise limit; this only keeps absurd values out of them. */
#define ID_ADMIN_TEXT_MAX 1024
#define ID_ADMIN_LIST_MAX 16 /* elements of rights / grant_types (each name at most once) */
#define ID_ADMIN_NAME_MAX 32 /* bytes of one right or grant-type name */

/* The person body: family_name, given_name, family_name_kana, given_name_kana, birth_date, sex,
 * district (required); lat and lon (numbers, together), phone, email, assurance, password.
 * Fills out with pointers borrowed from in. Returns 0 or ERR_INVALID. */
int id_admin_person_from_json(const json_t *in, struct id_person_new *out, struct err *e);

/* The organisation body: kind, name_ja, district (required); name_en, address, lat, lon. */
int id_admin_org_from_json(const json_t *in, struct id_org_new *out, struct err *e);

/* The role body: org_id and role, both required. *org_id is borrowed from in. */
int id_admin_role_from_json(const json_t *in, const char **org_id, enum id_role_kind *role,
                            struct err *e);

/* The family-link body: delegate_id and rights (an array of names) required; kind (family,
 * guardian); valid_until: "YYYY-MM-DD", the last day of the link in Japan, or an RFC 3339
 * date-time with a zone, the instant it ends. Fills out except subject_id (the path's). */
int id_admin_link_from_json(const json_t *in, struct id_family_link_new *out, struct err *e);

/* The client body: name, kind, scopes (space-separated text), grant_types (an array of names)
 * required; redirect_uris (an array of strings), org_id. out->redirect_uris points into uris,
 * which the caller provides. */
int id_admin_client_from_json(const json_t *in, struct id_client_new *out,
                              const char *uris[ID_CLIENT_REDIRECTS_MAX], struct err *e);

/* Rewrites an identity function's message "field: reason" into "/field: reason" (the
 * member's JSON Pointer; redirect_uri becomes /redirect_uris) so that a refusal names the
 * member the client sent. out may be in. */
void id_admin_pointer_error(const struct err *in, struct err *out);

/* The served forms; each returns a new reference, or NULL when out of memory. */
json_t *id_admin_person_to_json(const struct id_person *p);
json_t *id_admin_org_to_json(const struct id_org *o);
json_t *id_admin_role_to_json(const struct id_role *r);
json_t *id_admin_link_to_json(const struct id_family_link *l);
/* secret: the client_secret to show once (NULL or "": none). */
json_t *id_admin_client_to_json(const struct id_client *c, const char *secret);

#endif
