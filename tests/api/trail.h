/* trail.h - reading a person's own audit trail in API tests, the way the person would: a public
 * client allowed patient/AuditEvent.rs, the authorization-code flow (which signs the person in,
 * and that sign-in is itself on the trail), then GET /api/v1/me/access-log. */
#ifndef CITYOS_API_TRAIL_H
#define CITYOS_API_TRAIL_H

#include "oidc_flow.h"

#define TRAIL_REDIRECT "http://127.0.0.1:8765/trail"
#define TRAIL_SCOPE    "openid patient/AuditEvent.rs"

/* Registers a public client for TRAIL_REDIRECT and TRAIL_SCOPE (`cityos client add` on s's data
 * folder) and writes its id into out. */
void trail_client_add(struct server *s, char out[64]);

/* The code flow for email through client, acting as themselves, scope TRAIL_SCOPE. Returns the
 * access token (malloc'ed). */
char *trail_token(struct server *s, const char *client, const char *email, const char *password);

/* The newest limit (1..100) entries of the token's own trail, newest first, as the access log
 * answers them (this read is recorded after it). Caller decrefs. */
json_t *trail_items(struct server *s, const char *token, int limit);

/* The newest item of items with this action and resource type, or NULL (borrowed). */
json_t *trail_find(json_t *items, const char *action, const char *resource_type);

/* How many items have this action and resource type. */
size_t trail_count(json_t *items, const char *action, const char *resource_type);

/* A member of an entry: "decision", "who.kind", "what.resourceId", "why.decidedBy" ... (NULL when
 * absent; borrowed). */
const char *trail_text(const json_t *item, const char *path);

#endif
