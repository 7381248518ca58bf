/* fhir_consent.c - a consent record as a FHIR R4 Consent: every member built here from the
 * record, so the portal's view (/api/v1/me/consents) and the FHIR view say the same thing. */
#include "consent/fhir_consent.h"

#include <stdio.h>

#include "base/clock.h"

#define SYS_SCOPE  "http://terminology.hl7.org/CodeSystem/consentscope"
#define SYS_LOINC  "http://loinc.org"
#define SYS_ACT    "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define SYS_PART   "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
#define SYS_ACTION "http://terminology.hl7.org/CodeSystem/consentaction"

static json_t *concept(const char *system, const char *code)
{
    return json_pack("{s:[{s:s, s:s}]}", "coding", "system", system, "code", code);
}

static json_t *ref(const char *type, const char *id)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s/%s", type, id);
    return json_pack("{s:s}", "reference", buf);
}

static json_t *actor_of(const struct consent_record *rec, const char *purpose)
{
    json_t *who;
    switch (rec->recipient_kind) {
    case CONSENT_TO_ORGANISATION:
        who = ref("Organization", rec->recipient_id);
        break;
    case CONSENT_TO_CLIENT:
        who = ref("Device", rec->recipient_id);
        break;
    case CONSENT_TO_PERSON:
        who = ref("Patient", rec->recipient_id);
        break;
    case CONSENT_TO_PURPOSE:
    default: {
        char display[CONSENT_CODE_MAX + 64];
        snprintf(display, sizeof display, "every recipient registered for %s", purpose);
        who = json_pack("{s:{s:s, s:s}, s:s}", "identifier", "system", CONSENT_FHIR_SYS_RECIPS,
                        "value", purpose, "display", display);
    }
    }
    return json_pack("{s:o, s:o}", "role", concept(SYS_PART, "IRCP"), "reference", who);
}

/* One class Coding: urn:cityos:category|<category>. */
static json_t *category_coding(int cat)
{
    return json_pack("{s:s, s:s}", "system", CONSENT_FHIR_SYS_CAT, "code",
                     consent_category_name((enum consent_category)cat));
}

/* The exceptions to the permit: one provision {type deny, class [category]} per category the
 * purpose version covers and the citizen left out. NULL: out of memory. An empty array when
 * there are none (the caller leaves the member out). */
static json_t *deny_provisions(consent_cats granted, consent_cats covered)
{
    json_t *a = json_array();
    for (int i = 0; a != NULL && i < CONSENT_CAT_COUNT; i++) {
        if (!(covered & (1u << i)) || (granted & (1u << i)))
            continue;
        if (json_array_append_new(
                a, json_pack("{s:s, s:[o]}", "type", "deny", "class", category_coding(i))) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

json_t *consent_fhir_resource(const struct consent_record *rec, consent_cats covered, struct err *e)
{
    if (rec->recipient_kind != CONSENT_TO_PURPOSE && rec->recipient_id == NULL) {
        err_set(e, ERR_INVALID, "consent: a recipient without an id");
        return NULL;
    }
    char purpose[CONSENT_CODE_MAX + 24], policy[CONSENT_CODE_MAX + 48];
    snprintf(purpose, sizeof purpose, "%s@%lld", rec->purpose_code,
             (long long)rec->purpose_version);
    snprintf(policy, sizeof policy, "%s:%s", CONSENT_FHIR_SYS_PURPOSE, purpose);
    char agreed[40], start[40], end[40];
    clock_format_ms(rec->evidence.agreed_ms, agreed, sizeof agreed);
    clock_format_ms(rec->valid_from_ms, start, sizeof start);
    json_t *period = json_pack("{s:s}", "start", start);
    if (period != NULL && rec->valid_until_ms > 0)
        json_object_set_new(period, "end",
                            json_string(clock_format_ms(rec->valid_until_ms, end, sizeof end)));
    json_t *actions = json_array(), *classes = json_array();
    if (actions != NULL && (rec->actions & CONSENT_READ))
        json_array_append_new(actions, concept(SYS_ACTION, "access"));
    if (actions != NULL && (rec->actions & CONSENT_WRITE))
        json_array_append_new(actions, concept(SYS_ACTION, "correct"));
    for (int i = 0; classes != NULL && i < CONSENT_CAT_COUNT; i++)
        if (rec->cats & (1u << i))
            json_array_append_new(classes, category_coding(i));
    json_t *provision =
        json_pack("{s:s, s:o, s:[o], s:o, s:[{s:s, s:s}], s:o}", "type", "permit", "period", period,
                  "actor", actor_of(rec, purpose), "action", actions, "purpose", "system",
                  CONSENT_FHIR_SYS_PURPOSE, "code", rec->purpose_code, "class", classes);
    /* provision.provision: the exceptions, so a reader sees what was left out */
    json_t *denies = deny_provisions(rec->cats, covered);
    if (denies == NULL || (provision != NULL && json_array_size(denies) > 0 &&
                           json_object_set(provision, "provision", denies) != 0)) {
        json_decref(provision); /* no half resource */
        provision = NULL;
    }
    json_decref(denies);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:o, s:[o], s:o, s:s, s:[o], s:[{s:s}], s:o, s:[{s:s}], s:o}",
        "resourceType", "Consent", "id", rec->id, "status", rec->withdrawn ? "inactive" : "active",
        "scope", concept(SYS_SCOPE, "patient-privacy"), "category", concept(SYS_LOINC, "59284-0"),
        "patient", ref("Patient", rec->subject_id), "dateTime", agreed, "performer",
        ref("Patient", rec->granted_by), "organization", "display", CONSENT_FHIR_CITY, "policyRule",
        concept(SYS_ACT, "OPTIN"), "policy", "uri", policy, "provision", provision);
    if (o == NULL)
        err_set(e, ERR_NOMEM, "out of memory");
    return o;
}
