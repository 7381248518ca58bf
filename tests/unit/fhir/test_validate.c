/* test_validate.c - the FHIR R4 validator and the generated definitions: valid Patient,
 * blood-pressure Observation, Condition, MedicationRequest and transaction Bundle pass; every
 * failure class is refused with its issue code and FHIRPath location; the generated tables are
 * spot-checked against known R4 facts. JSON below is written with ' for " (see parse()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "fhir/defs.h"
#include "fhir/validate.h"

/* Parses text with every ' turned into ". */
static json_t *parse(const char *text)
{
    size_t n = strlen(text);
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    for (size_t i = 0; i <= n; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    struct err e = {0};
    json_t *v = jsonx_parse(buf, n, &e);
    free(buf);
    if (v == NULL)
        fail_msg("test JSON does not parse: %s", e.msg);
    return v;
}

static struct fhir_issues issues;

static void dump(const struct fhir_issues *is)
{
    for (size_t i = 0; i < is->n; i++)
        print_message("  issue %s %s: %s\n", is->items[i].code, is->items[i].expression,
                      is->items[i].diagnostics);
}

/* Validates text (as expect) into issues; returns fhir_validate's result. */
static int run(const char *text, const char *expect)
{
    json_t *v = parse(text);
    fhir_issues_init(&issues, NULL, NULL);
    int rc = fhir_validate(v, expect, &issues);
    json_decref(v);
    return rc;
}

static void assert_valid(const char *text, const char *expect)
{
    int rc = run(text, expect);
    if (rc != 0 || issues.n != 0) {
        dump(&issues);
        fail_msg("expected valid");
    }
}

/* text is refused with an issue of code at expression (NULL: any location). */
static void assert_issue(const char *text, const char *code, const char *expression)
{
    int rc = run(text, NULL);
    assert_int_equal(rc, ERR_INVALID);
    for (size_t i = 0; i < issues.n; i++)
        if (strcmp(issues.items[i].code, code) == 0 &&
            (expression == NULL || strcmp(issues.items[i].expression, expression) == 0))
            return;
    dump(&issues);
    fail_msg("no issue %s at %s", code, expression != NULL ? expression : "(any)");
}

/* ---- valid resources -------------------------------------------------------------------- */

#define PATIENT                                                                                    \
    "{'resourceType':'Patient','id':'p1','meta':{'lastUpdated':'2026-11-25T00:00:00Z'},"           \
    "'text':{'status':'generated','div':'<div xmlns=\\'http://www.w3.org/1999/xhtml\\'>Taro</"     \
    "div>'},"                                                                                      \
    "'identifier':[{'system':'urn:oid:1.2.392.100495.20.3.51','value':'12345'}],'active':true,"    \
    "'name':[{'use':'official','family':'Yamada','given':['Taro']}],'gender':'male',"              \
    "'birthDate':'1980-04-01','_birthDate':{'extension':[{'url':"                                  \
    "'http://hl7.org/fhir/StructureDefinition/patient-birthTime','valueDateTime':"                 \
    "'1980-04-01T10:15:00+09:00'}]},'address':[{'city':'Kobe','country':'JP'}],"                   \
    "'telecom':[{'system':'phone','value':'+81-78-000-0000'}],"                                    \
    "'generalPractitioner':[{'reference':'Practitioner/dr1'}]}"

#define BP_COMPONENTS                                                                              \
    "'component':[{'code':{'coding':[{'system':'http://loinc.org','code':'8480-6'}]},"             \
    "'valueQuantity':{'value':128,'unit':'mmHg','system':'http://unitsofmeasure.org',"             \
    "'code':'mm[Hg]'}},{'code':{'coding':[{'system':'http://loinc.org','code':'8462-4'}]},"        \
    "'valueQuantity':{'value':82,'unit':'mmHg','system':'http://unitsofmeasure.org',"              \
    "'code':'mm[Hg]'}}]"

#define VITAL_CATEGORY                                                                             \
    "'category':[{'coding':[{'system':'http://terminology.hl7.org/CodeSystem/"                     \
    "observation-category','code':'vital-signs'}]}]"

#define BP_OBSERVATION                                                                             \
    "{'resourceType':'Observation','id':'bp','status':'final'," VITAL_CATEGORY ","                 \
    "'code':{'coding':[{'system':'http://loinc.org','code':'85354-9','display':'Blood pressure "   \
    "panel'}],'text':'Blood pressure'},'subject':{'reference':'Patient/p1'},"                      \
    "'effectiveDateTime':'2026-11-25T09:30:00+09:00'," BP_COMPONENTS "}"

#define CONDITION                                                                                  \
    "{'resourceType':'Condition','clinicalStatus':{'coding':[{'system':"                           \
    "'http://terminology.hl7.org/CodeSystem/condition-clinical','code':'active'}]},"               \
    "'category':[{'coding':[{'system':'http://terminology.hl7.org/CodeSystem/condition-category'," \
    "'code':'problem-list-item'}]}],'code':{'coding':[{'system':'http://snomed.info/sct',"         \
    "'code':'38341003','display':'Hypertension'}]},'subject':{'reference':'Patient/p1'},"          \
    "'onsetDateTime':'2020-05','recordedDate':'2020-06-01'}"

#define MEDICATION_REQUEST                                                                         \
    "{'resourceType':'MedicationRequest','status':'active','intent':'order',"                      \
    "'medicationCodeableConcept':{'coding':[{'system':'http://www.nlm.nih.gov/research/umls/"      \
    "rxnorm','code':'314076'}]},'subject':{'reference':'Patient/p1'},'authoredOn':'2026-11-01',"   \
    "'requester':{'reference':'Practitioner/dr1'},'dosageInstruction':[{'text':'10 mg daily',"     \
    "'timing':{'repeat':{'frequency':1,'period':1,'periodUnit':'d'}},'doseAndRate':[{"             \
    "'doseQuantity':{'value':10,'unit':'mg','system':'http://"                                     \
    "unitsofmeasure.org','code':'mg'}}]}]}"

#define UUID_P "urn:uuid:6f1c2a3e-0b4d-4c5e-8f60-7a8b9c0d1e2f"
#define UUID_O "urn:uuid:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

static void valid_resources(void **state)
{
    (void)state;
    assert_valid(PATIENT, "Patient");
    assert_valid(BP_OBSERVATION, "Observation");
    assert_valid(CONDITION, NULL);
    assert_valid(MEDICATION_REQUEST, "MedicationRequest");
    assert_valid("{'resourceType':'Bundle','type':'transaction','entry':[{'fullUrl':'" UUID_P
                 "','resource':" PATIENT ",'request':{'method':'POST','url':'Patient'}},"
                 "{'fullUrl':'" UUID_O "','resource':{'resourceType':'Observation','status':"
                 "'final','code':{'text':'note'},'subject':{'reference':'" UUID_P "'},"
                 "'valueString':'ok'},'request':{'method':'POST','url':'Observation'}}]}",
                 "Bundle");
    /* a contained resource referenced by #id; a primitive array with a null beside _given */
    assert_valid("{'resourceType':'MedicationRequest','contained':[{'resourceType':'Medication',"
                 "'id':'med1','code':{'text':'aspirin'}}],'status':'active','intent':'order',"
                 "'medicationReference':{'reference':'#med1'},'subject':{'reference':"
                 "'https://other.example/fhir/Patient/9'}}",
                 NULL);
    assert_valid("{'resourceType':'Patient','name':[{'given':['A',null],'_given':[null,{"
                 "'extension':[{'url':'http://example.org/x','valueString':'B'}]}]}]}",
                 NULL);
    /* a versioned reference and a logical one */
    assert_valid("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
                 "'subject':{'reference':'Patient/p1/_history/3'},'performer':[{'identifier':"
                 "{'value':'x'}}]}",
                 NULL);
}

/* ---- failure classes -------------------------------------------------------------------- */

static void resource_type(void **state)
{
    (void)state;
    assert_issue("{'resourceType':'Patientx'}", "invalid", NULL);
    assert_issue("{'id':'x'}", "required", NULL);
    assert_issue("[1]", "structure", NULL);
    assert_int_equal(run(PATIENT, "Observation"), ERR_INVALID);
    assert_string_equal(issues.items[0].code, "invalid");
    assert_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
                 "'contained':[{'resourceType':'Nope'}]}",
                 "invalid", "Observation.contained[0]");
}

static void unknown_members(void **state)
{
    (void)state;
    assert_issue("{'resourceType':'Patient','foo':1}", "structure", "Patient.foo");
    assert_issue("{'resourceType':'Patient','name':[{'family':'x','nick':'y'}]}", "structure",
                 "Patient.name[0].nick");
    /* _x only beside a primitive */
    assert_issue("{'resourceType':'Patient','_name':{}}", "structure", "Patient._name");
    assert_valid("{'resourceType':'Patient','_active':{'extension':[{'url':'http://e.org/a',"
                 "'valueBoolean':true}]}}",
                 NULL);
    assert_issue("{'resourceType':'Patient','_active':[{}]}", "structure", "Patient._active");
    /* "_" and "" name nothing (found by the fuzzer: "_" read past the end) */
    assert_issue("{'resourceType':'Patient','_':1}", "structure", "Patient._");
    assert_issue("{'resourceType':'Patient','':1}", "structure", "Patient.");
    /* a choice member whose type is not allowed */
    assert_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
                 "'valueAddress':{'city':'x'}}",
                 "structure", "Observation.valueAddress");
}

static void json_types(void **state)
{
    (void)state;
    assert_issue("{'resourceType':'Patient','active':'yes'}", "structure", "Patient.active");
    assert_issue("{'resourceType':'Patient','gender':3}", "structure", "Patient.gender");
    assert_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
                 "'valueInteger':2147483648}",
                 "value", "Observation.valueInteger");
    assert_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
                 "'valueInteger':1.5}",
                 "structure", "Observation.valueInteger");
    assert_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
                 "'valueQuantity':{'value':'12'}}",
                 "structure", "Observation.valueQuantity.value");
    assert_issue("{'resourceType':'Patient','name':[{'family':''}]}", "value",
                 "Patient.name[0].family");
    assert_issue("{'resourceType':'Patient','id':'a b'}", "value", "Patient.id");
    assert_issue("{'resourceType':'Patient','id':'"
                 "12345678901234567890123456789012345678901234567890123456789012345'}",
                 "value", "Patient.id");
    assert_issue("{'resourceType':'Patient','gender':' male'}", "value", "Patient.gender");
    assert_issue("{'resourceType':'Patient','birthDate':'1980-02-30'}", "value",
                 "Patient.birthDate");
    assert_valid("{'resourceType':'Patient','birthDate':'2000-02-29'}", NULL);
    assert_issue("{'resourceType':'Patient','birthDate':'0000'}", "value", "Patient.birthDate");
    assert_issue("{'resourceType':'Patient','deceasedDateTime':'2020-01-01T10:00'}", "value",
                 "Patient.deceasedDateTime");
    assert_issue("{'resourceType':'Patient','meta':{'lastUpdated':'2020-01-01'}}", "value",
                 "Patient.meta.lastUpdated");
    assert_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
                 "'valueTime':'25:00:00'}",
                 "value", "Observation.valueTime");
    assert_issue("{'resourceType':'Patient','photo':[{'data':'abc'}]}", "value",
                 "Patient.photo[0].data");
    assert_valid("{'resourceType':'Patient','photo':[{'data':'aGVsbG8='}]}", NULL);
    assert_issue("{'resourceType':'Patient','identifier':[{'system':'http://x y'}]}", "value",
                 "Patient.identifier[0].system");
    assert_issue("{'resourceType':'MedicationRequest','status':'active','intent':'order',"
                 "'medicationCodeableConcept':{'text':'x'},'subject':{'reference':'Patient/p1'},"
                 "'dosageInstruction':[{'timing':{'repeat':{'frequency':0}}}]}",
                 "value", "MedicationRequest.dosageInstruction[0].timing.repeat.frequency");
    assert_issue("{'resourceType':'Patient','multipleBirthInteger':null}", "structure",
                 "Patient.multipleBirthInteger");
}

static void cardinality(void **state)
{
    (void)state;
    assert_issue("{'resourceType':'Patient','name':{'family':'x'}}", "structure", "Patient.name");
    assert_issue("{'resourceType':'Patient','gender':['male']}", "structure", "Patient.gender");
    assert_issue("{'resourceType':'Patient','identifier':[]}", "structure", "Patient.identifier");
    assert_issue("{'resourceType':'Patient','meta':{}}", "structure", "Patient.meta");
    /* required elements, in the resource and nested */
    assert_issue("{'resourceType':'Observation','code':{'text':'x'}}", "required",
                 "Observation.status");
    assert_issue("{'resourceType':'Observation','status':'final'}", "required", "Observation.code");
    assert_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
                 "'component':[{'valueString':'x'}]}",
                 "required", "Observation.component[0].code");
    assert_issue("{'resourceType':'MedicationRequest','status':'active','intent':'order',"
                 "'subject':{'reference':'Patient/p1'}}",
                 "required", "MedicationRequest.medication[x]");
    /* one member of a choice */
    assert_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
                 "'valueString':'a','valueBoolean':true}",
                 "structure", "Observation.valueBoolean");
}

static void bindings(void **state)
{
    (void)state;
    assert_issue("{'resourceType':'Observation','status':'done','code':{'text':'x'}}",
                 "code-invalid", "Observation.status");
    assert_issue("{'resourceType':'Patient','gender':'m'}", "code-invalid", "Patient.gender");
    assert_issue("{'resourceType':'Bundle','type':'transaction','entry':[{'request':{'method':"
                 "'FETCH','url':'Patient'}}]}",
                 "code-invalid", "Bundle.entry[0].request.method");
}

static int refs_seen;

static int on_ref(void *ctx, const struct fhir_ref *ref, struct fhir_issues *out)
{
    (void)ctx;
    refs_seen++;
    if (ref->kind == FHIR_REF_RELATIVE && strcmp(ref->id, "gone") == 0) {
        fhir_issues_add(out, FHIR_ERROR, "not-found", ref->expression, "no %s/%s", ref->type,
                        ref->id);
        return -1;
    }
    if (ref->kind == FHIR_REF_RELATIVE && strcmp(ref->type, "Patient") == 0)
        assert_string_equal(ref->expression, "Observation.subject");
    return 0;
}

static void references(void **state)
{
    (void)state;
    const char *head = "{'resourceType':'Observation','status':'final','code':{'text':'x'},";
    char buf[512];
    snprintf(buf, sizeof buf, "%s'subject':{'reference':'Patient'}}", head);
    assert_issue(buf, "value", "Observation.subject.reference");
    snprintf(buf, sizeof buf, "%s'subject':{'reference':'Medication/m1'}}", head);
    assert_issue(buf, "invalid", "Observation.subject.reference");
    snprintf(buf, sizeof buf, "%s'subject':{'reference':'Nope/m1'}}", head);
    assert_issue(buf, "value", "Observation.subject.reference");
    snprintf(buf, sizeof buf, "%s'subject':{'reference':'urn:uuid:not-a-uuid'}}", head);
    assert_issue(buf, "value", "Observation.subject.reference");
    snprintf(buf, sizeof buf, "%s'subject':{'reference':'https://x.example/fhir/Medication/1'}}",
             head);
    assert_issue(buf, "invalid", "Observation.subject.reference");
    snprintf(buf, sizeof buf, "%s'subject':{'reference':'#nothere'}}", head);
    assert_issue(buf, "not-found", "Observation.subject.reference");
    snprintf(buf, sizeof buf, "%s'subject':{'reference':'Patient/a b'}}", head);
    assert_issue(buf, "value", "Observation.subject.reference");

    /* the callback sees every literal reference and may refuse one */
    json_t *v = parse("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
                      "'subject':{'reference':'Patient/p1'},'performer':[{'reference':"
                      "'Practitioner/gone'},{'reference':'" UUID_P "'}]}");
    refs_seen = 0;
    fhir_issues_init(&issues, on_ref, NULL);
    assert_int_equal(fhir_validate(v, NULL, &issues), ERR_INVALID);
    json_decref(v);
    assert_int_equal(refs_seen, 3);
    assert_int_equal(issues.n, 1);
    assert_string_equal(issues.items[0].code, "not-found");
    assert_string_equal(issues.items[0].expression, "Observation.performer[0]");
}

static void contained_and_extensions(void **state)
{
    (void)state;
    assert_issue("{'resourceType':'MedicationRequest','contained':[{'resourceType':'Medication',"
                 "'id':'m','status':'bad'}],'status':'active','intent':'order',"
                 "'medicationReference':{'reference':'#m'},'subject':{'reference':'Patient/1'}}",
                 "code-invalid", "MedicationRequest.contained[0].status");
    assert_issue("{'resourceType':'Patient','contained':[{'resourceType':'Patient','contained':"
                 "[{'resourceType':'Patient'}]}]}",
                 "structure", "Patient.contained[0]");
    assert_issue("{'resourceType':'Patient','extension':[{'url':'http://e.org/x'}]}", "structure",
                 "Patient.extension[0]");
    assert_issue("{'resourceType':'Patient','extension':[{'valueString':'x'}]}", "required",
                 "Patient.extension[0].url");
    assert_issue("{'resourceType':'Patient','extension':[{'url':'http://e.org/x','valueString':"
                 "'x','valueBoolean':true}]}",
                 "structure", NULL);
    assert_issue("{'resourceType':'Patient','extension':[{'url':'http://e.org/x','valueString':"
                 "'x','extension':[{'url':'http://e.org/y','valueString':'y'}]}]}",
                 "structure", "Patient.extension[0]");
    assert_issue("{'resourceType':'Bundle','type':'collection','entry':[{'resource':"
                 "{'resourceType':'Observation','code':{'text':'x'}}}]}",
                 "required", "Bundle.entry[0].resource.status");
}

static void bounded_sizes(void **state)
{
    (void)state;
    /* nesting: extensions in extensions, 40 deep */
    char deep[4096];
    size_t n = 0;
    n += (size_t)snprintf(deep + n, sizeof deep - n, "{'resourceType':'Patient'");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, ",'extension':[{'url':'http://e.org/x'");
    n += (size_t)snprintf(deep + n, sizeof deep - n, ",'valueString':'x'");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "}]");
    snprintf(deep + n, sizeof deep - n, "}");
    assert_issue(deep, "too-costly", NULL);

    /* a string over R4's 1 MB */
    size_t big = FHIR_STRING_MAX_BYTES + 1;
    char *s = malloc(big + 64);
    assert_non_null(s);
    int w = snprintf(s, 64, "{'resourceType':'Patient','name':[{'text':'");
    memset(s + w, 'a', big);
    memcpy(s + w + big, "'}]}", 5);
    assert_issue(s, "too-long", "Patient.name[0].text");
    free(s);

    /* the issue list is capped; the rest is counted */
    char many[2048];
    n = (size_t)snprintf(many, sizeof many, "{'resourceType':'Patient'");
    for (int i = 0; i < 30; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, ",'x%d':1", i);
    snprintf(many + n, sizeof many - n, "}");
    assert_int_equal(run(many, NULL), ERR_INVALID);
    assert_int_equal(issues.n, FHIR_ISSUES_MAX);
    assert_int_equal(issues.dropped, 30 - FHIR_ISSUES_MAX);
    assert_int_equal(issues.nerrors, 30);
    json_t *o = fhir_issues_outcome(&issues);
    assert_non_null(o);
    const json_t *list = json_object_get(o, "issue");
    assert_int_equal(json_array_size(list), FHIR_ISSUES_MAX + 1);
    const json_t *last = json_array_get(list, FHIR_ISSUES_MAX);
    assert_string_equal(json_string_value(json_object_get(last, "code")), "too-costly");
    json_decref(o);
}

static void vital_signs(void **state)
{
    (void)state;
    assert_issue("{'resourceType':'Observation','status':'final'," VITAL_CATEGORY ",'code':{"
                 "'coding':[{'system':'http://snomed.info/sct','code':'75367002'}]}}",
                 "required", "Observation.code.coding");
    assert_issue("{'resourceType':'Observation','status':'final'," VITAL_CATEGORY ",'code':{"
                 "'coding':[{'system':'http://loinc.org','code':'85354-9'}]},'component':[{"
                 "'code':{'coding':[{'system':'http://loinc.org','code':'8480-6'}]},"
                 "'valueQuantity':{'value':120,'system':'http://unitsofmeasure.org','code':"
                 "'mm[Hg]'}}]}",
                 "required", "Observation.component");
    assert_issue("{'resourceType':'Observation','status':'final'," VITAL_CATEGORY ",'code':{"
                 "'coding':[{'system':'http://loinc.org','code':'85354-9'}]},'component':[{"
                 "'code':{'coding':[{'system':'http://loinc.org','code':'8480-6'}]},"
                 "'valueQuantity':{'value':120,'system':'http://unitsofmeasure.org','code':"
                 "'mmHg'}},{'code':{'coding':[{'system':'http://loinc.org','code':'8462-4'}]},"
                 "'valueQuantity':{'value':80,'system':'http://unitsofmeasure.org','code':"
                 "'mm[Hg]'}}]}",
                 "code-invalid", "Observation.component[0].valueQuantity.code");
    assert_issue("{'resourceType':'Observation','status':'final'," VITAL_CATEGORY ",'code':{"
                 "'coding':[{'system':'http://loinc.org','code':'29463-7'}]},"
                 "'valueQuantity':{'value':60,'unit':'kg'}}",
                 "required", "Observation.valueQuantity");
    /* the same codes outside vital-signs are not this rule's business */
    assert_valid("{'resourceType':'Observation','status':'final','code':{"
                 "'coding':[{'system':'http://snomed.info/sct','code':'75367002'}]}}",
                 NULL);
}

static void outcome(void **state)
{
    (void)state;
    assert_int_equal(run("{'resourceType':'Patient','gender':'m'}", "Patient"), ERR_INVALID);
    json_t *o = fhir_issues_outcome(&issues);
    char *s = jsonx_dumps(o, NULL);
    assert_string_equal(s, "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":"
                           "\"error\",\"code\":\"code-invalid\",\"diagnostics\":\"code not in "
                           "the required value set of gender\",\"expression\":[\"Patient."
                           "gender\"]}]}");
    free(s);
    json_decref(o);
    fhir_issues_init(&issues, NULL, NULL);
    o = fhir_issues_outcome(&issues);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(o, "issue"), 0), "code")),
        "informational");
    json_decref(o);
}

static void primitives(void **state)
{
    (void)state;
    assert_true(fhir_primitive_string_ok("dateTime", "2026", 4));
    assert_true(fhir_primitive_string_ok("dateTime", "2026-11-25T10:00:00.123+14:00", 29));
    assert_false(fhir_primitive_string_ok("dateTime", "2026-11-25T10:00:00+14:30", 25));
    assert_false(fhir_primitive_string_ok("dateTime", "2026-11-25T", 11));
    assert_true(fhir_primitive_string_ok("instant", "2026-11-25T10:00:60Z", 20));
    assert_false(fhir_primitive_string_ok("instant", "2026-11-25T10:00Z", 17));
    assert_false(fhir_primitive_string_ok("date", "2026-13", 7));
    assert_false(fhir_primitive_string_ok("date", "1900-02-29", 10));
    assert_true(fhir_primitive_string_ok("time", "23:59:59.5", 10));
    assert_false(fhir_primitive_string_ok("time", "23:59", 5));
    assert_true(fhir_primitive_string_ok("code", "a b", 3));
    assert_false(fhir_primitive_string_ok("code", "a  b", 4));
    assert_true(fhir_primitive_string_ok("oid", "urn:oid:1.2.3", 13));
    assert_false(fhir_primitive_string_ok("oid", "urn:oid:1.02", 12));
    assert_true(fhir_primitive_string_ok("uuid", UUID_P, strlen(UUID_P)));
    assert_false(
        fhir_primitive_string_ok("uuid", "urn:uuid:6F1C2A3E-0b4d-4c5e-8f60-7a8b9c0d1e2f", 45));
    assert_true(fhir_primitive_string_ok("base64Binary", "aGVs bG8=", 9));
    assert_false(fhir_primitive_string_ok("base64Binary", "aG=s", 4));
    assert_true(fhir_primitive_string_ok("positiveInt", "2147483647", 10));
    assert_false(fhir_primitive_string_ok("positiveInt", "0", 1));
    assert_false(fhir_primitive_string_ok("unsignedInt", "2147483648", 10));
    assert_false(fhir_primitive_string_ok("boolean", "true", 4)); /* not string-valued */
}

/* ---- the generated tables against R4 facts ---------------------------------------------- */

static const struct fhir_element *element(const char *type, const char *name)
{
    const struct fhir_struct *s = fhir_defs_struct(type);
    assert_non_null(s);
    for (size_t i = 0; i < s->nelements; i++)
        if (strcmp(s->elements[i].name, name) == 0)
            return &s->elements[i];
    fail_msg("no %s.%s", type, name);
    return NULL;
}

static int list_has(const char *const *list, const char *s)
{
    for (; list != NULL && *list != NULL; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

static size_t list_len(const char *const *list)
{
    size_t n = 0;
    while (list != NULL && list[n] != NULL)
        n++;
    return n;
}

static void tables(void **state)
{
    (void)state;
    const struct fhir_element *e = element("Observation", "status");
    assert_int_equal(e->min, 1);
    assert_int_equal(e->max, 1);
    assert_true(e->modifier);
    const char *status[] = {"registered", "preliminary",      "final",  "amended", "corrected",
                            "cancelled",  "entered-in-error", "unknown"};
    assert_int_equal(list_len(e->codes), 8);
    for (size_t i = 0; i < 8; i++)
        assert_true(list_has(e->codes, status[i]));

    e = element("Observation", "value");
    assert_true(e->choice);
    assert_int_equal(e->min, 0);
    const char *value_types[] = {"Quantity", "CodeableConcept", "string", "boolean",
                                 "integer",  "Range",           "Ratio",  "SampledData",
                                 "time",     "dateTime",        "Period"};
    assert_int_equal(list_len(e->types), 11);
    for (size_t i = 0; i < 11; i++)
        assert_true(list_has(e->types, value_types[i]));

    e = element("Patient", "name");
    assert_int_equal(e->min, 0);
    assert_int_equal(e->max, FHIR_MAX_UNBOUNDED);
    assert_string_equal(e->types[0], "HumanName");
    assert_non_null(e->type_def);

    e = element("Observation", "subject");
    assert_int_equal(list_len(e->targets), 4);
    assert_true(list_has(e->targets, "Patient") && list_has(e->targets, "Group") &&
                list_has(e->targets, "Device") && list_has(e->targets, "Location"));
    assert_null(element("Observation", "focus")->targets); /* Reference(Any) */
    assert_non_null(element("Observation", "component")->backbone);
    assert_ptr_equal(element("Observation.component", "referenceRange")->backbone,
                     element("Observation", "referenceRange")->backbone);

    const char *type;
    const struct fhir_struct *obs = fhir_defs_struct("Observation");
    assert_true(obs->is_resource);
    assert_non_null(fhir_defs_member(obs, "valueQuantity", &type));
    assert_string_equal(type, "Quantity");
    assert_non_null(fhir_defs_member(obs, "valueDateTime", &type));
    assert_string_equal(type, "dateTime");
    assert_non_null(fhir_defs_member(obs, "effectiveInstant", &type));
    assert_string_equal(type, "instant");
    assert_null(fhir_defs_member(obs, "valueAddress", &type));
    assert_null(fhir_defs_member(obs, "value", &type));
    assert_null(fhir_defs_member(obs, "valuequantity", &type));
    assert_non_null(fhir_defs_member(obs, "status", &type));
    assert_string_equal(type, "code");
    assert_true(fhir_defs_is_primitive("dateTime"));
    assert_false(fhir_defs_is_primitive("Quantity"));
    assert_false(fhir_defs_struct("CodeableConcept")->is_resource);
    assert_null(fhir_defs_struct("Nope"));

    size_t n;
    const char *const *types = fhir_defs_resource_types(&n);
    assert_int_equal(n, 147);
    assert_null(types[n]);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(types[i - 1], types[i]) < 0);
    assert_true(list_has(types, "Observation") && !list_has(types, "DomainResource"));
}

static void search_params(void **state)
{
    (void)state;
    const struct fhir_search_param *p = fhir_defs_search_param("Observation", "code");
    assert_non_null(p);
    assert_int_equal(p->type, FHIR_PARAM_TOKEN);
    assert_int_equal(list_len(p->paths), 1);
    assert_string_equal(p->paths[0], "code");
    assert_string_equal(p->url, "http://hl7.org/fhir/SearchParameter/clinical-code");

    p = fhir_defs_search_param("Observation", "patient");
    assert_int_equal(p->type, FHIR_PARAM_REFERENCE);
    assert_string_equal(p->paths[0], "subject");
    assert_int_equal(list_len(p->targets), 1);
    assert_string_equal(p->targets[0], "Patient");

    p = fhir_defs_search_param("Observation", "subject");
    assert_int_equal(list_len(p->targets), 4);
    p = fhir_defs_search_param("Observation", "value-quantity");
    assert_int_equal(list_len(p->paths), 2);
    assert_string_equal(p->paths[0], "valueQuantity");
    assert_string_equal(p->paths[1], "valueSampledData");
    p = fhir_defs_search_param("Observation", "date");
    assert_string_equal(p->paths[0], "effective[x]");
    p = fhir_defs_search_param("Observation", "combo-code");
    assert_int_equal(list_len(p->paths), 2);
    assert_string_equal(p->paths[1], "component.code");
    p = fhir_defs_search_param("Observation", "value-string");
    assert_string_equal(p->paths[1], "valueCodeableConcept.text");
    p = fhir_defs_search_param("Patient", "death-date");
    assert_string_equal(p->paths[0], "deceasedDateTime");
    p = fhir_defs_search_param("Condition", "_lastUpdated");
    assert_int_equal(p->type, FHIR_PARAM_DATE);
    assert_string_equal(p->paths[0], "meta.lastUpdated");
    assert_string_equal(fhir_defs_search_param("Patient", "_id")->paths[0], "id");
    assert_null(fhir_defs_search_param("Observation", "nope"));
    assert_null(fhir_defs_search_param("Observation", "code-value-quantity")); /* composite */

    size_t n;
    const struct fhir_search_param *all = fhir_defs_search_params("Observation", &n);
    assert_true(n > 30);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(all[i - 1].name, all[i].name) < 0);
    assert_null(fhir_defs_search_params("Nope", &n));
    assert_int_equal(n, 0);

    const char *const *comp = fhir_defs_patient_compartment("Observation");
    assert_true(list_has(comp, "subject") && list_has(comp, "performer"));
    assert_true(list_has(fhir_defs_patient_compartment("Patient"), "link"));
    assert_null(fhir_defs_patient_compartment("Organization"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_resources), cmocka_unit_test(resource_type),
        cmocka_unit_test(unknown_members), cmocka_unit_test(json_types),
        cmocka_unit_test(cardinality),     cmocka_unit_test(bindings),
        cmocka_unit_test(references),      cmocka_unit_test(contained_and_extensions),
        cmocka_unit_test(bounded_sizes),   cmocka_unit_test(vital_signs),
        cmocka_unit_test(outcome),         cmocka_unit_test(primitives),
        cmocka_unit_test(tables),          cmocka_unit_test(search_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
