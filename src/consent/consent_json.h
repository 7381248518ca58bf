/* consent_json.h - the JSON bodies of the consent API: strict reading of what the portal and the
 * city's administration send (members, types, lengths, enumerations, RFC 3339 times) into the
 * inputs of the consent writes, and the served form of purposes, consents and inbox items.
 * Only the shape is checked here; the rules that need the database (is the hash the purpose
 * version's, is the scope narrower) are the writes' own. Errors are ERR_INVALID with a message
 * that starts with the member's JSON Pointer ("/evidence/channel: ..."). */
#ifndef COS_CONSENT_JSON_H
#define COS_CONSENT_JSON_H

#include <jansson.h>

#include "base/arena.h"
#include "base/err.h"
#include "consent/consent.h"

/* A grant: {"purpose": {"code", "version"}, "recipient": {"kind", "id"?}, "categories": [..],
 * "actions": ["read", "write"], "period"?: {"start"?, "end"?}, "evidence": {..}}. Fills the
 * GRANT fields of w (strings borrowed from in). */
int consent_json_grant(const json_t *in, struct consent_write *w, struct err *e);

/* A narrowing: {"categories"?, "actions"?, "period"?: {"start"?, "end"?}, "evidence"}; at
 * least one of the first three. */
int consent_json_narrow(const json_t *in, struct consent_write *w, struct err *e);

/* A withdrawal: {"evidence"}. */
int consent_json_withdraw(const json_t *in, struct consent_write *w, struct err *e);

/* Accepting a re-consent: {"categories"?, "evidence"}. */
int consent_json_accept(const json_t *in, struct consent_write *w, struct err *e);

/* A purpose version: {"code", "title": {"ja", "en"}, "explanation": {"ja", "en"},
 * "categories": [..], "recipients": [ids], "legal_basis", "retention_days"}. The recipients'
 * array is made in a. published_by is left to the caller. */
int consent_json_purpose(const json_t *in, struct consent_purpose_new *out, struct arena *a,
                         struct err *e);

/* The served forms; NULL when out of memory. */
json_t *consent_json_record(const struct consent_record *r);
json_t *consent_json_purpose_out(const struct consent_purpose *p);
json_t *consent_json_item(const struct consent_inbox_item *it);

#endif
