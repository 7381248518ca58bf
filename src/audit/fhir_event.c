/* fhir_event.c - one audit entry as a FHIR R4 AuditEvent: type rest, the interaction as subtype
 * and action, the outcome, the agents (who asked, for which organisation, through which client,
 * on whose behalf), the entities (what was touched, and the patient with the chain's seq and
 * hashes), and the purpose. The mapping is specified in docs/internals/audit.md. */
#include <stdio.h>
#include <string.h>

#include "audit/view.h"
#include "base/clock.h"

#define SYS_EVENT_TYPE  "http://terminology.hl7.org/CodeSystem/audit-event-type"
#define SYS_INTERACTION "http://hl7.org/fhir/restful-interaction"
#define SYS_ENTITY_TYPE "http://terminology.hl7.org/CodeSystem/audit-entity-type"
#define SYS_OBJECT_ROLE "http://terminology.hl7.org/CodeSystem/object-role"
#define SYS_SOURCE_TYPE "http://terminology.hl7.org/CodeSystem/security-source-type"
#define SYS_DICOM       "http://dicom.nema.org/resources/ontology/DCM"

int audit_fhir_id(const struct audit_entry *x, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s.%lld", x->ev.subject ? x->ev.subject : "", (long long)x->seq);
    return n > 0 && (size_t)n < cap ? 0 : ERR_TOOBIG;
}

/* FHIR restful-interaction code and AuditEvent.action (C R U D E) of an audit action. */
static void interaction_of(const char *action, const char **code, const char **act)
{
    static const struct {
        const char *action, *code, *act;
    } map[] = {
        {"read", "read", "R"},          {"vread", "vread", "R"},
        {"search", "search-type", "E"}, {"create", "create", "C"},
        {"update", "update", "U"},      {"patch", "patch", "U"},
        {"delete", "delete", "D"},      {"history", "history-instance", "R"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].action, action) == 0) {
            *code = map[i].code;
            *act = map[i].act;
            return;
        }
    *code = NULL;
    *act = strcmp(action, "export") == 0 ? "R" : "E";
}

static json_t *coding(const char *system, const char *code, const char *display)
{
    json_t *c = json_pack("{s:s, s:s}", "system", system, "code", code);
    if (c != NULL && display != NULL)
        json_object_set_new(c, "display", json_string(display));
    return c;
}

static json_t *concept(const char *system, const char *code, const char *display)
{
    return json_pack("{s:[o]}", "coding", coding(system, code, display));
}

static const char *name_of(audit_name_fn names, void *ctx, enum audit_name_kind k, const char *id)
{
    return names != NULL && id != NULL ? names(ctx, k, id) : NULL;
}

/* {reference?, identifier?, display?} */
static json_t *reference(const char *ref_type, const char *id_system, const char *id,
                         const char *display)
{
    json_t *r = json_object();
    if (r == NULL)
        return NULL;
    if (ref_type != NULL) {
        char buf[AUDIT_TEXT_MAX + 64];
        snprintf(buf, sizeof buf, "%s/%s", ref_type, id);
        json_object_set_new(r, "reference", json_string(buf));
    }
    if (id_system != NULL)
        json_object_set_new(r, "identifier",
                            json_pack("{s:s, s:s}", "system", id_system, "value", id));
    if (display != NULL)
        json_object_set_new(r, "display", json_string(display));
    return r;
}

/* The agent who asked (requestor true). */
static json_t *actor_agent(const struct audit_event *ev, audit_name_fn names, void *ctx)
{
    const char *kind = audit_actor_kind_name(ev->actor_kind);
    json_t *who;
    switch (ev->actor_kind) {
    case AUDIT_ACTOR_PERSON:
        who = reference("Patient", AUDIT_FHIR_SYS_PERSON, ev->actor_id,
                        name_of(names, ctx, AUDIT_NAME_PERSON, ev->actor_id));
        break;
    case AUDIT_ACTOR_PRACTITIONER:
        who = reference("Practitioner", AUDIT_FHIR_SYS_PERSON, ev->actor_id,
                        name_of(names, ctx, AUDIT_NAME_PERSON, ev->actor_id));
        break;
    case AUDIT_ACTOR_DELEGATE: /* a person acting for another: no FHIR resource of their own */
        who = reference(NULL, AUDIT_FHIR_SYS_PERSON, ev->actor_id,
                        name_of(names, ctx, AUDIT_NAME_PERSON, ev->actor_id));
        break;
    case AUDIT_ACTOR_CLIENT:
        who = reference(NULL, AUDIT_FHIR_SYS_CLIENT, ev->actor_id,
                        name_of(names, ctx, AUDIT_NAME_CLIENT, ev->actor_id));
        break;
    case AUDIT_ACTOR_DEVICE:
        who = reference("Device", NULL, ev->actor_id, NULL);
        break;
    default:
        who = reference(NULL, NULL, ev->actor_id, "cityos operator");
        break;
    }
    json_t *a = json_pack("{s:o, s:o, s:b}", "type", concept(AUDIT_FHIR_SYS_KIND, kind, NULL),
                          "who", who, "requestor", 1);
    if (a == NULL)
        return NULL;
    if (ev->actor_role != NULL)
        json_object_set_new(a, "role", json_pack("[{s:s}]", "text", ev->actor_role));
    if (ev->decided_by != NULL) {
        char policy[AUDIT_TEXT_MAX + 32];
        snprintf(policy, sizeof policy, "%s%s", AUDIT_FHIR_POLICY_PREFIX, ev->decided_by);
        json_object_set_new(a, "policy", json_pack("[s]", policy));
    }
    if (ev->source_addr != NULL) /* network type 2: an IP address */
        json_object_set_new(a, "network",
                            json_pack("{s:s, s:s}", "address", ev->source_addr, "type", "2"));
    return a;
}

static int set_agents(json_t *o, const struct audit_event *ev, audit_name_fn names, void *ctx)
{
    json_t *agents = json_array();
    if (agents == NULL || json_object_set_new(o, "agent", agents) != 0)
        return -1;
    if (json_array_append_new(agents, actor_agent(ev, names, ctx)) != 0)
        return -1;
    if (ev->actor_org != NULL &&
        json_array_append_new(
            agents, json_pack("{s:o, s:o, s:b}", "type",
                              concept(AUDIT_FHIR_SYS_KIND, "organization", NULL), "who",
                              reference("Organization", NULL, ev->actor_org,
                                        name_of(names, ctx, AUDIT_NAME_ORG, ev->actor_org)),
                              "requestor", 0)) != 0)
        return -1;
    if (ev->on_behalf_of != NULL &&
        json_array_append_new(
            agents, json_pack("{s:o, s:o, s:b}", "type",
                              concept(AUDIT_FHIR_SYS_KIND, "on-behalf-of", NULL), "who",
                              reference("Patient", AUDIT_FHIR_SYS_PERSON, ev->on_behalf_of,
                                        name_of(names, ctx, AUDIT_NAME_PERSON, ev->on_behalf_of)),
                              "requestor", 0)) != 0)
        return -1;
    /* the OAuth client the request came through, when it is not itself the actor */
    if (ev->client_id != NULL && ev->actor_kind != AUDIT_ACTOR_CLIENT &&
        json_array_append_new(
            agents,
            json_pack("{s:o, s:o, s:b}", "type", concept(SYS_DICOM, "110150", "Application"), "who",
                      reference(NULL, AUDIT_FHIR_SYS_CLIENT, ev->client_id,
                                name_of(names, ctx, AUDIT_NAME_CLIENT, ev->client_id)),
                      "requestor", 0)) != 0)
        return -1;
    return 0;
}

static json_t *detail(const char *type, const char *value)
{
    return json_pack("{s:s, s:s}", "type", type, "valueString", value);
}

static int set_entities(json_t *o, const struct audit_entry *x, audit_name_fn names, void *ctx)
{
    const struct audit_event *ev = &x->ev;
    json_t *entities = json_array();
    if (entities == NULL || json_object_set_new(o, "entity", entities) != 0)
        return -1;
    /* what was touched (type 2: a system object) */
    if (ev->resource_type != NULL) {
        json_t *what = ev->resource_id != NULL
                           ? reference(ev->resource_type, NULL, ev->resource_id, NULL)
                           : json_pack("{s:s}", "type", ev->resource_type);
        json_t *ent = json_pack("{s:o, s:o}", "what", what, "type",
                                concept(SYS_ENTITY_TYPE, "2", "System Object"));
        if (ent != NULL && ev->category != NULL)
            json_object_set_new(ent, "securityLabel",
                                json_pack("[{s:s, s:s}]", "system", "urn:cityos:data-category",
                                          "code", ev->category));
        if (json_array_append_new(entities, ent) != 0)
            return -1;
    }
    /* the patient whose trail it is, with the entry's place in their chain */
    char seq[24];
    snprintf(seq, sizeof seq, "%lld", (long long)x->seq);
    json_t *details = json_array();
    json_array_append_new(details, detail("cityos-audit-seq", seq));
    json_array_append_new(details, detail("cityos-audit-prev-hash", x->prev_hash));
    json_array_append_new(details, detail("cityos-audit-entry-hash", x->entry_hash));
    if (ev->request_id != NULL)
        json_array_append_new(details, detail("cityos-request-id", ev->request_id));
    json_t *patient = json_pack("{s:o, s:o, s:o, s:o}", "what",
                                reference("Patient", AUDIT_FHIR_SYS_PERSON, ev->subject,
                                          name_of(names, ctx, AUDIT_NAME_PERSON, ev->subject)),
                                "type", concept(SYS_ENTITY_TYPE, "1", "Person"), "role",
                                concept(SYS_OBJECT_ROLE, "1", "Patient"), "detail", details);
    return json_array_append_new(entities, patient) != 0 ? -1 : 0;
}

json_t *audit_entry_to_fhir(const struct audit_entry *x, audit_name_fn names, void *names_ctx)
{
    const struct audit_event *ev = &x->ev;
    char id[AUDIT_TEXT_MAX + 32], recorded[40];
    if (audit_fhir_id(x, id, sizeof id) != 0)
        return NULL;
    clock_format_ms(ev->time_ms, recorded, sizeof recorded);
    const char *sub = NULL, *act = "E";
    interaction_of(ev->action ? ev->action : "", &sub, &act);

    json_t *o = json_pack("{s:s, s:s, s:o}", "resourceType", "AuditEvent", "id", id, "type",
                          coding(SYS_EVENT_TYPE, "rest", "RESTful Operation"));
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "subtype",
                        json_pack("[o]", sub != NULL ? coding(SYS_INTERACTION, sub, NULL)
                                                     : coding(AUDIT_FHIR_SYS_ACTION,
                                                              ev->action ? ev->action : "", NULL)));
    json_object_set_new(o, "action", json_string(act));
    json_object_set_new(o, "recorded", json_string(recorded));
    /* 0 success; 4 minor failure: a refused access (the HTTP 4xx kind of failure) */
    json_object_set_new(o, "outcome", json_string(ev->decision == AUDIT_PERMIT ? "0" : "4"));
    if (ev->reason != NULL)
        json_object_set_new(o, "outcomeDesc", json_string(ev->reason));
    if (ev->purpose != NULL)
        json_object_set_new(o, "purposeOfEvent",
                            json_pack("[o]", concept(AUDIT_FHIR_SYS_PURPOSE, ev->purpose, NULL)));
    if (set_agents(o, ev, names, names_ctx) != 0)
        goto fail;
    json_object_set_new(o, "source",
                        json_pack("{s:s, s:{s:s}, s:[o]}", "site", "cityos", "observer", "display",
                                  "cityos", "type",
                                  coding(SYS_SOURCE_TYPE, "4", "Application Server")));
    if (set_entities(o, x, names, names_ctx) != 0)
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}
