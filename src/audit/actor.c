/* actor.c - the actor fields of an audit event from a principal, and the request's id and
 * source address: the one place that says how each kind of principal is recorded. */
#include "audit/actor.h"

#include <string.h>

#include "identity/principal.h"

static const char *text_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static void clear_actor(struct audit_event *ev)
{
    ev->actor_kind = AUDIT_ACTOR_NONE;
    ev->actor_id = NULL;
    ev->actor_org = NULL;
    ev->actor_role = NULL;
    ev->client_id = NULL;
    ev->on_behalf_of = NULL;
}

int audit_event_from_principal(const struct id_principal *p, struct audit_event *ev, struct err *e)
{
    clear_actor(ev);
    const char *person = text_or_null(p->subject_id);
    const char *client = text_or_null(p->client_id);
    switch (p->kind) {
    case ID_PRINCIPAL_PERSON:
        if (person == NULL)
            return err_set(e, ERR_INVALID, "audit actor: a person principal without a person");
        ev->actor_kind = AUDIT_ACTOR_PERSON;
        ev->actor_id = person;
        break;
    case ID_PRINCIPAL_DELEGATE:
        if (person == NULL || text_or_null(p->acting_for) == NULL)
            return err_set(e, ERR_INVALID,
                           "audit actor: a delegate principal needs the delegate and acting_for");
        ev->actor_kind = AUDIT_ACTOR_DELEGATE;
        ev->actor_id = person;
        ev->on_behalf_of = p->acting_for;
        break;
    case ID_PRINCIPAL_PRACTITIONER:
        if (person == NULL || text_or_null(p->org_id) == NULL || text_or_null(p->role) == NULL)
            return err_set(e, ERR_INVALID,
                           "audit actor: a practitioner principal needs person, org and role");
        ev->actor_kind = AUDIT_ACTOR_PRACTITIONER;
        ev->actor_id = person;
        ev->actor_org = p->org_id;
        ev->actor_role = p->role;
        break;
    case ID_PRINCIPAL_CLIENT:
        if (client == NULL)
            return err_set(e, ERR_INVALID, "audit actor: a client principal without client_id");
        ev->actor_kind = AUDIT_ACTOR_CLIENT;
        ev->actor_id = client;
        break;
    case ID_PRINCIPAL_OPERATOR:
        ev->actor_kind = AUDIT_ACTOR_OPERATOR;
        ev->actor_id = AUDIT_OPERATOR_ID;
        break;
    case ID_PRINCIPAL_DEVICE: /* its id, its kind as the role, the citizen it writes for */
        if (person == NULL || text_or_null(p->acting_for) == NULL)
            return err_set(e, ERR_INVALID,
                           "audit actor: a device principal needs the device and acting_for");
        ev->actor_kind = AUDIT_ACTOR_DEVICE;
        ev->actor_id = person;
        ev->actor_role = text_or_null(p->role);
        ev->on_behalf_of = p->acting_for;
        break;
    default:
        return err_set(e, ERR_INVALID, "audit actor: unknown principal kind");
    }
    ev->client_id = client;
    return 0;
}

void audit_event_from_request(const struct http_request *req, struct audit_event *ev)
{
    ev->request_id = text_or_null(req->request_id);
    ev->source_addr = http_client_addr(req);
}
