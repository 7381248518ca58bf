/* actor.h - who and where, for an audit event: the actor fields from any principal kind, and the
 * request id and source address from the HTTP request (docs/internals/audit.md, "Actors"). */
#ifndef COS_AUDIT_ACTOR_H
#define COS_AUDIT_ACTOR_H

#include "audit/audit.h"
#include "base/err.h"
#include "http/request.h"

struct id_principal;

/* The actor id recorded for the bootstrap operator token, which names nobody. */
#define AUDIT_OPERATOR_ID "operator"

/* Sets ev's actor_kind, actor_id, actor_org, actor_role, client_id and on_behalf_of from p, and
 * nothing else (subject, action, decision ... stay as they were). The pointers are borrowed
 * from p (the request's arena):
 *   person       -> person, actor = the person
 *   delegate     -> delegate, actor = the delegate person, on_behalf_of = the person acted for
 *   practitioner -> practitioner, actor = the person, actor_org and actor_role
 *   client       -> client, actor = the client id
 *   device       -> device, actor = the device id, actor_role = its kind, on_behalf_of = the
 *                   citizen it is bound to
 *   operator     -> operator, actor = AUDIT_OPERATOR_ID
 * client_id is the OAuth client behind the token ("" is NULL: the operator has none).
 * Returns 0, or ERR_INVALID when p lacks what its kind needs (a person without subject_id, a
 * practitioner without organisation or role ...); ev's actor fields are cleared then. */
int audit_event_from_principal(const struct id_principal *p, struct audit_event *ev, struct err *e);

/* Sets ev's request_id (X-Request-Id, as the server answers it) and source_addr
 * (http_client_addr, NULL when unknown) from req. Nothing else changes. */
void audit_event_from_request(const struct http_request *req, struct audit_event *ev);

#endif
