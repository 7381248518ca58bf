/* test_scope.c - the SMART v2 scope grammar: every example of the spec's scope tables, the v1
 * mapping, each refusal and its message, allows() per context, canonical text, subset, intersect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "identity/scope.h"

/* Sets are about 96 KiB each: keep them off the test stack. */
static struct id_scope_set set_a, set_b, set_c;
static char text[ID_SCOPE_FORMAT_MAX];

/* Parses s into set_a (asserting success) and returns its canonical text. */
static const char *canon_form(const char *s, enum id_scope_form form)
{
    struct err e = {0};
    int rc = id_scope_parse(s, &set_a, &e);
    if (rc != 0)
        print_error("parse(%s): %s\n", s, e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(id_scope_format(&set_a, form, text, sizeof text), 0);
    return text;
}

static const char *canon(const char *s)
{
    return canon_form(s, ID_SCOPE_FORM_KEEP_V1);
}

/* Asserts that s is refused with ERR_INVALID, a message containing want, and an empty set. */
static void refused(const char *s, const char *want)
{
    struct err e = {0};
    set_a.n = 7;
    assert_int_equal(id_scope_parse(s, &set_a, &e), ERR_INVALID);
    assert_int_equal(e.code, ERR_INVALID);
    if (strstr(e.msg, want) == NULL)
        print_error("parse(%s): message '%s' lacks '%s'\n", s, e.msg, want);
    assert_non_null(strstr(e.msg, want));
    assert_int_equal(set_a.n, 0);
    /* messages can go into an OAuth error_description: %x20-21 / %x23-5B / %x5D-7E only */
    for (const char *p = e.msg; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        assert_true(c >= 0x20 && c <= 0x7E && c != '"' && c != '\\');
    }
}

/* The single clinical scope s parses to. */
static const struct id_scope_clinical *clinical(const char *s)
{
    struct err e = {0};
    assert_int_equal(id_scope_parse(s, &set_a, &e), 0);
    assert_int_equal(set_a.n, 1);
    assert_int_equal(set_a.items[0].kind, ID_SCOPE_CLINICAL);
    return &set_a.items[0].clinical;
}

static void spec_quick_start_and_identity_scopes(void **state)
{
    (void)state;
    struct err e;
    const char *s = "patient/*.rs user/*.cruds openid fhirUser launch launch/patient "
                    "offline_access online_access profile launch/encounter";
    assert_int_equal(id_scope_parse(s, &set_a, &e), 0);
    assert_int_equal(set_a.n, 10);
    static const enum id_scope_kind kinds[] = {
        ID_SCOPE_OPENID,         ID_SCOPE_FHIRUSER,       ID_SCOPE_PROFILE,
        ID_SCOPE_LAUNCH,         ID_SCOPE_LAUNCH_PATIENT, ID_SCOPE_LAUNCH_ENCOUNTER,
        ID_SCOPE_OFFLINE_ACCESS, ID_SCOPE_ONLINE_ACCESS,
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        assert_non_null(id_scope_find(&set_a, kinds[i], NULL));
        assert_int_equal(set_a.items[i].kind, kinds[i]); /* canonical order */
        assert_string_equal(set_a.items[i].text, "");
    }
    assert_string_equal(canon(s), "openid fhirUser profile launch launch/patient launch/encounter "
                                  "offline_access online_access patient/*.rs user/*.cruds");
    const struct id_scope_clinical *c = &set_a.items[8].clinical;
    assert_int_equal(c->context, ID_SCOPE_PATIENT);
    assert_string_equal(c->resource, "*");
    assert_int_equal(c->perms, ID_PERM_R | ID_PERM_S);
    assert_int_equal(c->v1, 0);
    assert_int_equal(c->nparams, 0);
    c = &set_a.items[9].clinical;
    assert_int_equal(c->context, ID_SCOPE_USER);
    assert_int_equal(c->perms, ID_PERM_ALL);
    assert_null(id_scope_find(&set_a, ID_SCOPE_CLINICAL, NULL));
    assert_int_equal(id_scope_parse("openid", &set_a, &e), 0);
    assert_null(id_scope_find(&set_a, ID_SCOPE_FHIRUSER, NULL));
}

static void spec_patient_user_system_tables(void **state)
{
    (void)state;
    static const struct {
        const char *scope;
        enum id_scope_context context;
        const char *resource;
        unsigned perms;
    } rows[] = {
        /* patient-specific scopes */
        {"patient/Observation.rs", ID_SCOPE_PATIENT, "Observation", ID_PERM_R | ID_PERM_S},
        {"patient/Patient.r", ID_SCOPE_PATIENT, "Patient", ID_PERM_R},
        {"patient/Observation.c", ID_SCOPE_PATIENT, "Observation", ID_PERM_C},
        {"patient/*.cruds", ID_SCOPE_PATIENT, "*", ID_PERM_ALL},
        {"patient/Observation.cu", ID_SCOPE_PATIENT, "Observation", ID_PERM_C | ID_PERM_U},
        /* user-level scopes */
        {"user/Observation.rs", ID_SCOPE_USER, "Observation", ID_PERM_R | ID_PERM_S},
        {"user/Appointment.cruds", ID_SCOPE_USER, "Appointment", ID_PERM_ALL},
        {"user/*.cruds", ID_SCOPE_USER, "*", ID_PERM_ALL},
        {"user/Patient.rs", ID_SCOPE_USER, "Patient", ID_PERM_R | ID_PERM_S},
        /* system-level scopes */
        {"system/Observation.rs", ID_SCOPE_SYSTEM, "Observation", ID_PERM_R | ID_PERM_S},
        {"system/*.rs", ID_SCOPE_SYSTEM, "*", ID_PERM_R | ID_PERM_S},
        {"system/Encounter.cud", ID_SCOPE_SYSTEM, "Encounter", ID_PERM_C | ID_PERM_U | ID_PERM_D},
        /* the wildcard section's granted scopes */
        {"patient/AllergyIntolerance.cruds", ID_SCOPE_PATIENT, "AllergyIntolerance", ID_PERM_ALL},
        {"patient/AllergyIntolerance.rs", ID_SCOPE_PATIENT, "AllergyIntolerance",
         ID_PERM_R | ID_PERM_S},
        {"patient/AllergyIntolerance.cud", ID_SCOPE_PATIENT, "AllergyIntolerance",
         ID_PERM_C | ID_PERM_U | ID_PERM_D},
        {"patient/*.rs", ID_SCOPE_PATIENT, "*", ID_PERM_R | ID_PERM_S},
        {"user/Condition.d", ID_SCOPE_USER, "Condition", ID_PERM_D},
        {"user/Condition.s", ID_SCOPE_USER, "Condition", ID_PERM_S},
        {"user/Condition.u", ID_SCOPE_USER, "Condition", ID_PERM_U},
        {"user/Condition.crds", ID_SCOPE_USER, "Condition", ID_PERM_ALL & ~ID_PERM_U},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct id_scope_clinical *c = clinical(rows[i].scope);
        assert_int_equal(c->context, rows[i].context);
        assert_string_equal(c->resource, rows[i].resource);
        assert_int_equal(c->perms, rows[i].perms);
        assert_int_equal(c->v1, 0);
        assert_string_equal(canon(rows[i].scope), rows[i].scope);
    }
    /* two explicit scopes are one scope; the empty string grants nothing */
    assert_string_equal(canon("patient/AllergyIntolerance.rs patient/AllergyIntolerance.cud"),
                        "patient/AllergyIntolerance.cruds");
    assert_string_equal(canon("patient/Observation.r patient/Observation.s"),
                        "patient/Observation.rs");
    assert_string_equal(canon(""), "");
    assert_int_equal(set_a.n, 0);
    struct err e;
    assert_int_equal(id_scope_parse(NULL, &set_a, &e), 0);
    assert_int_equal(set_a.n, 0);
}

static void v1_forms_map_to_v2(void **state)
{
    (void)state;
    const struct id_scope_clinical *c = clinical("patient/*.read");
    assert_int_equal(c->perms, ID_PERM_R | ID_PERM_S);
    assert_int_equal(c->v1, 1);
    c = clinical("user/Observation.write");
    assert_int_equal(c->perms, ID_PERM_C | ID_PERM_U | ID_PERM_D);
    assert_int_equal(c->v1, 1);
    c = clinical("user/*.*");
    assert_int_equal(c->perms, ID_PERM_ALL);
    assert_int_equal(c->v1, 1);
    c = clinical("system/Patient.read");
    assert_int_equal(c->context, ID_SCOPE_SYSTEM);
    assert_int_equal(c->v1, 1);

    /* v2 text by default form, v1 kept on request (as a token response to a v1 request) */
    assert_string_equal(canon_form("patient/*.read", ID_SCOPE_FORM_V2), "patient/*.rs");
    assert_string_equal(canon_form("patient/Observation.write", ID_SCOPE_FORM_V2),
                        "patient/Observation.cud");
    assert_string_equal(canon_form("user/*.*", ID_SCOPE_FORM_V2), "user/*.cruds");
    assert_string_equal(canon("patient/*.read"), "patient/*.read");
    assert_string_equal(canon("patient/Observation.write"), "patient/Observation.write");
    assert_string_equal(canon("user/*.*"), "user/*.*");
    /* merging: v1 when a part was v1 and the union is still a v1 word, in any order */
    assert_string_equal(canon("patient/Patient.read patient/Patient.write"), "patient/Patient.*");
    assert_string_equal(canon("patient/Patient.read patient/Patient.rs"), "patient/Patient.read");
    assert_string_equal(canon("patient/Patient.r patient/Patient.read"), "patient/Patient.read");
    assert_string_equal(canon("patient/Patient.s patient/Patient.read patient/Patient.cud"),
                        "patient/Patient.*");
    assert_string_equal(canon("patient/Patient.c patient/Patient.read patient/Patient.s"),
                        "patient/Patient.crs");
    assert_string_equal(canon("patient/Patient.read patient/Patient.c"), "patient/Patient.crs");
}

static void permissions_are_an_in_order_subset_of_cruds(void **state)
{
    (void)state;
    static const char *const ok[] = {"c",   "r",    "u",    "d",    "s",    "cr",   "cu",   "cd",
                                     "cs",  "ru",   "rd",   "rs",   "ud",   "us",   "ds",   "cru",
                                     "crd", "crs",  "cud",  "cus",  "cds",  "rud",  "rus",  "rds",
                                     "uds", "crud", "crus", "crds", "cuds", "ruds", "cruds"};
    char buf[64];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(buf, sizeof buf, "patient/Observation.%s", ok[i]);
        const struct id_scope_clinical *c = clinical(buf);
        assert_int_not_equal(c->perms, 0);
        assert_string_equal(canon(buf), buf);
    }
    assert_int_equal(sizeof ok / sizeof ok[0], 31); /* every non-empty subset */
    static const char *const order[] = {"rc",     "rr",     "dus", "sr", "src",
                                        "ccruds", "crudss", "rsc", "ur"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        snprintf(buf, sizeof buf, "patient/Observation.%s", order[i]);
        refused(buf, "in the order c r u d s, each at most once");
    }
    refused("patient/Observation.x", "read, write, * or letters of cruds");
    refused("patient/Observation.Read", "read, write, * or letters of cruds");
    refused("patient/Observation.rd*", "read, write, * or letters of cruds");
    refused("patient/Observation.readwrite", "read, write, * or letters of cruds");
    refused("patient/Observation.", "no permissions after '.'");
    refused("patient/Observation.?category=x", "no permissions after '.'");
}

static void granular_scopes_keep_decoded_parameters(void **state)
{
    (void)state;
    const struct id_scope_clinical *c =
        clinical("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
                 "observation-category|laboratory");
    assert_int_equal(c->perms, ID_PERM_R | ID_PERM_S);
    assert_int_equal(c->nparams, 1);
    assert_string_equal(c->params[0].name, "category");
    assert_string_equal(c->params[0].value,
                        "http://terminology.hl7.org/CodeSystem/observation-category|laboratory");
    c = clinical("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
                 "observation-category|vital-signs");
    assert_string_equal(c->params[0].value,
                        "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs");
    /* the spec's experimental modifier and chaining forms parse (and never match facts) */
    c = clinical("user/Observation.rs?code:in=http://valueset.example.org/ValueSet/diabetes-codes");
    assert_string_equal(c->params[0].name, "code:in");
    c = clinical("user/Observation.rs?patient.birthdate=1990");
    assert_string_equal(c->params[0].name, "patient.birthdate");
    assert_string_equal(c->params[0].value, "1990");
    c = clinical("patient/*.rs?_tag=a");
    assert_string_equal(c->resource, "*");

    /* percent-decoding; parameters sorted and de-duplicated; at most four */
    c = clinical("patient/Condition.rs?code=http%3A%2F%2Fsnomed.info%2Fsct%7C44054006&category="
                 "problem-list-item&code=http%3a//snomed.info/sct|44054006");
    assert_int_equal(c->nparams, 2);
    assert_string_equal(c->params[0].name, "category");
    assert_string_equal(c->params[1].name, "code");
    assert_string_equal(c->params[1].value, "http://snomed.info/sct|44054006");
    c = clinical("patient/Observation.rs?a=1&b=2&c=3&d=4");
    assert_int_equal(c->nparams, 4);
    c = clinical("patient/Observation.rs?x=%E6%97%A5%20%25%26%22%5C+");
    assert_string_equal(c->params[0].value, "\xe6\x97\xa5 %&\"\\+");
    assert_string_equal(canon("patient/Observation.rs?x=%E6%97%A5%20%25%26%22%5C+"),
                        "patient/Observation.rs?x=%E6%97%A5%20%25%26%22%5C+");
    assert_string_equal(canon("patient/Observation.rs?code=a=b?c#d"),
                        "patient/Observation.rs?code=a=b?c#d");
    /* a granular scope and its unrestricted sibling with the same permissions: one is enough */
    assert_string_equal(canon("patient/Observation.rs?category=laboratory patient/Observation.rs"),
                        "patient/Observation.rs");
    assert_string_equal(canon("patient/Observation.rs?category=laboratory patient/Observation.r"),
                        "patient/Observation.r patient/Observation.rs?category=laboratory");
}

static void refusals_name_the_token(void **state)
{
    (void)state;
    char big[ID_SCOPE_TEXT_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    refused(big, "longer than 2048 bytes");
    big[ID_SCOPE_TEXT_MAX] = '\0'; /* exactly at the bound: one unknown token, too long for one */
    refused(big, "unrecognised scope longer than 255 bytes");
    memset(big, 'a', 255);
    big[255] = '\0';
    struct err e;
    assert_int_equal(id_scope_parse(big, &set_a, &e), 0);
    assert_int_equal(set_a.items[0].kind, ID_SCOPE_OTHER);
    assert_int_equal(strlen(set_a.items[0].text), 255);

    /* 64 scopes are fine, 65 are not (duplicates count) */
    char many[65 * 7 + 1];
    size_t o = 0;
    for (int i = 0; i < 64; i++)
        o += (size_t)snprintf(many + o, sizeof many - o, "%sopenid", i ? " " : "");
    assert_int_equal(id_scope_parse(many, &set_a, &e), 0);
    assert_int_equal(set_a.n, 1);
    snprintf(many + o, sizeof many - o, " openid");
    refused(many, "more than 64 scopes");

    refused(" openid", "empty scope at byte 0");
    refused("openid ", "empty scope at byte 7");
    refused("openid  profile", "empty scope at byte 7");
    refused(" ", "empty scope at byte 0");
    refused("openid\tprofile", "scope 'openid%09profile': character 0x09 is not allowed");
    refused("open\"id", "scope 'open%22id': character 0x22");
    refused("open\\id", "scope 'open%5Cid': character 0x5C");
    refused("launch\x7f", "character 0x7F");
    refused("caf\xc3\xa9", "scope 'caf%C3%A9': character 0xC3");
    refused("openid profile\r\n", "scope 'profile%0D%0A'");
    assert_int_equal(id_scope_parse_n("openid\0x", 8, &set_a, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "scope 'openid%00x': character 0x00"));
    assert_int_equal(id_scope_parse_n("openid profile", 6, &set_a, &e), 0);
    assert_int_equal(set_a.n, 1);

    /* clinical-looking tokens must be valid clinical scopes */
    refused("patient/Observation", "scope 'patient/Observation': no '.' and permissions");
    refused("user/.rs", "no resource type");
    refused("user/observation.rs", "resource type must be * or match [A-Z][A-Za-z]*");
    refused("user/Observation2.rs", "resource type must be");
    refused("user/**.rs", "resource type must be");
    refused("system/Obs-ervation.rs", "resource type must be");
    char type[128];
    memset(type, 'A', sizeof type);
    memcpy(type, "user/", 5);
    memcpy(type + 5 + 65, ".rs", 4);
    refused(type, "resource type longer than 64 bytes");
    memcpy(type + 5 + 64, ".rs", 4);
    assert_int_equal(id_scope_parse(type, &set_a, &e), 0);
    refused("patient/", "no '.' and permissions");
    refused("patient/Observation.read?category=x", "search parameters need v2 permissions");
    refused("patient/Observation.rs?", "nothing after '?'");
    refused("patient/Observation.rs?a=1&", "empty search parameter (stray '&')");
    refused("patient/Observation.rs?a=1&&b=2", "empty search parameter");
    refused("patient/Observation.rs?category", "search parameter without '=value'");
    refused("patient/Observation.rs?=x", "search parameter without a name");
    refused("patient/Observation.rs?category=", "search parameter 'category' without a value");
    refused("patient/Observation.rs?1cat=x", "search parameter name must match");
    refused("patient/Observation.rs?ca/t=x", "search parameter name must match");
    assert_int_equal(
        id_scope_parse("patient/Observation.rs?a234567890123456789012345678901=x", &set_a, &e), 0);
    refused("patient/Observation.rs?a2345678901234567890123456789012=x",
            "name longer than 31 bytes");
    refused("patient/Observation.rs?a=1&b=2&c=3&d=4&e=5", "more than 4 search parameters");
    refused("patient/Observation.rs?code=%", "bad percent-encoding in the value of 'code'");
    refused("patient/Observation.rs?code=%4", "bad percent-encoding");
    refused("patient/Observation.rs?code=%G1", "bad percent-encoding");
    refused("patient/Observation.rs?code=a%00b", "control character in the value of 'code'");
    refused("patient/Observation.rs?code=a%0Ab", "control character");
    refused("patient/Observation.rs?code=%7F", "control character");
    refused("patient/Observation.rs?code=%C3%28", "value of 'code' is not UTF-8");
    refused("patient/Observation.rs?code=%ED%A0%80", "not UTF-8");
    char val[400];
    int n = snprintf(val, sizeof val, "patient/Observation.rs?code=");
    memset(val + n, 'v', 256);
    val[n + 256] = '\0';
    refused(val, "value of 'code' longer than 255 bytes");
    val[n + 255] = '\0';
    assert_int_equal(id_scope_parse(val, &set_a, &e), 0);

    /* long tokens are cut in messages; the message still fits and stays printable */
    char longtok[300];
    n = snprintf(longtok, sizeof longtok, "user/Observation.rs?code=");
    memset(longtok + n, 'x', 100);
    memcpy(longtok + n + 100, "&&", 3);
    refused(longtok, "scope 'user/Observation.rs?code=xxxxxxxxxxxxxxxxxxxxxxx...': empty");
}

static void other_scopes_are_kept_as_text(void **state)
{
    (void)state;
    struct err e;
    const char *s = "launch/patient patient/*.rs __profilePhoto.manage cityos.admin "
                    "https://ehr.example.org/scopes/profilePhoto.manage launch/diagnosticreport "
                    "launch/list?role=https://example.org/med-list-at-home "
                    "launch/relatedperson?role=friend Patient/*.rs openID";
    assert_int_equal(id_scope_parse(s, &set_a, &e), 0);
    assert_int_equal(set_a.n, 10);
    assert_non_null(id_scope_find(&set_a, ID_SCOPE_OTHER, "cityos.admin"));
    assert_non_null(id_scope_find(&set_a, ID_SCOPE_OTHER, "__profilePhoto.manage"));
    assert_non_null(id_scope_find(&set_a, ID_SCOPE_OTHER, "Patient/*.rs"));
    assert_non_null(id_scope_find(&set_a, ID_SCOPE_OTHER, "openID"));
    assert_null(id_scope_find(&set_a, ID_SCOPE_OTHER, "cityos"));
    assert_null(id_scope_find(&set_a, ID_SCOPE_OTHER, NULL));
    assert_null(id_scope_find(&set_a, ID_SCOPE_OPENID, NULL));
    assert_string_equal(canon(s), "launch/patient patient/*.rs Patient/*.rs "
                                  "__profilePhoto.manage cityos.admin "
                                  "https://ehr.example.org/scopes/profilePhoto.manage "
                                  "launch/diagnosticreport "
                                  "launch/list?role=https://example.org/med-list-at-home "
                                  "launch/relatedperson?role=friend openID");
    assert_string_equal(canon("cityos.admin openid cityos.admin openid"), "openid cityos.admin");
}

static const struct id_scope *allows(enum id_scope_context ctx, const char *type, unsigned perm)
{
    return id_scope_allows(&set_a, ctx, type, perm, NULL, 0);
}

static void allows_follows_context_type_and_permission(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(id_scope_parse("patient/Observation.rs patient/Patient.r", &set_a, &e), 0);
    const struct id_scope *g = allows(ID_SCOPE_PATIENT, "Observation", ID_PERM_R);
    assert_non_null(g);
    assert_string_equal(g->clinical.resource, "Observation");
    assert_non_null(allows(ID_SCOPE_PATIENT, "Observation", ID_PERM_S));
    assert_null(allows(ID_SCOPE_PATIENT, "Observation", ID_PERM_C)); /* write is not read */
    assert_null(allows(ID_SCOPE_PATIENT, "Patient", ID_PERM_S));
    assert_null(allows(ID_SCOPE_PATIENT, "Condition", ID_PERM_R));
    assert_null(allows(ID_SCOPE_USER, "Observation", ID_PERM_R)); /* outside the patient */
    assert_null(allows(ID_SCOPE_SYSTEM, "Observation", ID_PERM_R));
    assert_null(allows(ID_SCOPE_PATIENT, "*", ID_PERM_R)); /* across types needs a wildcard */
    assert_null(allows(ID_SCOPE_PATIENT, "Observation", ID_PERM_R | ID_PERM_S)); /* one bit */
    assert_null(allows(ID_SCOPE_PATIENT, "Observation", 0));
    assert_null(allows(ID_SCOPE_PATIENT, "Observation", 32));
    assert_null(allows(ID_SCOPE_PATIENT, NULL, ID_PERM_R));

    /* user/ covers what the user may see, the patient in context included */
    assert_int_equal(id_scope_parse("user/*.cruds", &set_a, &e), 0);
    for (unsigned p = 1; p <= ID_PERM_S; p <<= 1) {
        assert_non_null(allows(ID_SCOPE_USER, "Appointment", p));
        assert_non_null(allows(ID_SCOPE_PATIENT, "Appointment", p));
        assert_non_null(allows(ID_SCOPE_USER, "*", p));
        assert_null(allows(ID_SCOPE_SYSTEM, "Appointment", p));
    }
    /* system/ only for back-end clients */
    assert_int_equal(id_scope_parse("system/*.rs system/Encounter.cud", &set_a, &e), 0);
    assert_non_null(allows(ID_SCOPE_SYSTEM, "Observation", ID_PERM_R));
    assert_non_null(allows(ID_SCOPE_SYSTEM, "*", ID_PERM_S));
    assert_non_null(allows(ID_SCOPE_SYSTEM, "Encounter", ID_PERM_U));
    assert_null(allows(ID_SCOPE_SYSTEM, "Observation", ID_PERM_U));
    assert_null(allows(ID_SCOPE_USER, "Observation", ID_PERM_R));
    assert_null(allows(ID_SCOPE_PATIENT, "Observation", ID_PERM_R));
    /* v1 scopes grant their v2 meaning */
    assert_int_equal(id_scope_parse("patient/*.read", &set_a, &e), 0);
    assert_non_null(allows(ID_SCOPE_PATIENT, "Observation", ID_PERM_S));
    assert_null(allows(ID_SCOPE_PATIENT, "Observation", ID_PERM_D));
    assert_int_equal(id_scope_parse("patient/*.write", &set_a, &e), 0);
    assert_non_null(allows(ID_SCOPE_PATIENT, "Observation", ID_PERM_D));
    assert_null(allows(ID_SCOPE_PATIENT, "Observation", ID_PERM_R));
    /* nothing clinical, nothing allowed */
    assert_int_equal(id_scope_parse("openid fhirUser launch/patient", &set_a, &e), 0);
    assert_null(allows(ID_SCOPE_PATIENT, "Patient", ID_PERM_R));
}

static void granular_scopes_match_facts_or_are_walked(void **state)
{
    (void)state;
    struct err e;
    const char *cat = "http://terminology.hl7.org/CodeSystem/observation-category";
    assert_int_equal(
        id_scope_parse("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
                       "observation-category|laboratory,http://terminology.hl7.org/CodeSystem/"
                       "observation-category|vital-signs",
                       &set_a, &e),
        0);
    struct id_scope_fact lab = {"category", cat, "laboratory"};
    struct id_scope_fact vs = {"category", cat, "vital-signs"};
    struct id_scope_fact social = {"category", cat, "social-history"};
    struct id_scope_fact other_system = {"category", "http://example.org", "laboratory"};
    struct id_scope_fact code = {"code", "http://loinc.org", "laboratory"};
    const struct id_scope_fact *const yes[] = {&lab, &vs};
    for (size_t i = 0; i < 2; i++)
        assert_non_null(
            id_scope_allows(&set_a, ID_SCOPE_PATIENT, "Observation", ID_PERM_R, yes[i], 1));
    const struct id_scope_fact *const no[] = {&social, &other_system, &code};
    for (size_t i = 0; i < 3; i++)
        assert_null(id_scope_allows(&set_a, ID_SCOPE_PATIENT, "Observation", ID_PERM_R, no[i], 1));
    struct id_scope_fact two[] = {{"code", "http://loinc.org", "8867-4"}, vs};
    assert_non_null(id_scope_allows(&set_a, ID_SCOPE_PATIENT, "Observation", ID_PERM_R, two, 2));
    /* no facts (a search): the restricted scope does not match, but is walked as a filter */
    assert_null(id_scope_allows(&set_a, ID_SCOPE_PATIENT, "Observation", ID_PERM_S, NULL, 0));
    const struct id_scope *g =
        id_scope_next_grant(&set_a, NULL, ID_SCOPE_PATIENT, "Observation", ID_PERM_S);
    assert_non_null(g);
    assert_int_equal(g->clinical.nparams, 1);
    assert_null(id_scope_next_grant(&set_a, g, ID_SCOPE_PATIENT, "Observation", ID_PERM_S));
    assert_null(id_scope_next_grant(&set_a, NULL, ID_SCOPE_PATIENT, "Observation", ID_PERM_C));
    assert_null(id_scope_next_grant(&set_a, NULL, ID_SCOPE_PATIENT, "Observation", 3));

    /* token forms: code alone, |code (no system), system| (any code); all parameters must hold */
    assert_int_equal(id_scope_parse("user/Condition.r?code=44054006&category=|problem "
                                    "user/Condition.s?category=http://snomed.info/sct|",
                                    &set_a, &e),
                     0);
    struct id_scope_fact f1[] = {{"code", "http://snomed.info/sct", "44054006"},
                                 {"category", NULL, "problem"}};
    assert_non_null(id_scope_allows(&set_a, ID_SCOPE_USER, "Condition", ID_PERM_R, f1, 2));
    assert_null(id_scope_allows(&set_a, ID_SCOPE_USER, "Condition", ID_PERM_R, f1, 1));
    f1[1].system = "http://example.org";
    assert_null(id_scope_allows(&set_a, ID_SCOPE_USER, "Condition", ID_PERM_R, f1, 2));
    f1[1].system = "";
    assert_non_null(id_scope_allows(&set_a, ID_SCOPE_USER, "Condition", ID_PERM_R, f1, 2));
    struct id_scope_fact f2 = {"category", "http://snomed.info/sct", "anything"};
    assert_non_null(id_scope_allows(&set_a, ID_SCOPE_USER, "Condition", ID_PERM_S, &f2, 1));
    f2.system = NULL;
    assert_null(id_scope_allows(&set_a, ID_SCOPE_USER, "Condition", ID_PERM_S, &f2, 1));
    struct id_scope_fact nameless = {NULL, NULL, "44054006"};
    assert_null(id_scope_allows(&set_a, ID_SCOPE_USER, "Condition", ID_PERM_R, &nameless, 1));

    /* an unrestricted scope is preferred; modifiers never match a fact */
    assert_int_equal(id_scope_parse("user/Observation.r?code:in=http://x.org/vs user/*.r "
                                    "user/Observation.s?category=a user/Observation.s?category=b",
                                    &set_a, &e),
                     0);
    struct id_scope_fact in = {"code:in", NULL, "http://x.org/vs"};
    g = id_scope_allows(&set_a, ID_SCOPE_USER, "Observation", ID_PERM_R, &in, 1);
    assert_non_null(g);
    assert_int_equal(g->clinical.nparams, 0);
    size_t walked = 0;
    for (g = NULL;
         (g = id_scope_next_grant(&set_a, g, ID_SCOPE_USER, "Observation", ID_PERM_S)) != NULL;)
        walked++;
    assert_int_equal(walked, 2);
}

static void format_is_canonical_and_round_trips(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "user/Observation.rs openid patient/Patient.r fhirUser launch/patient offline_access",
        ("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
         "observation-category|vital-signs"),
        "patient/*.read user/*.* system/Encounter.write cityos.admin",
        "system/*.rs system/Observation.rs system/Observation.c",
        "patient/Observation.s?code=b&category=a patient/Observation.r?category=a&code=b",
        "patient/Observation.rs?x=%41%2c%7C%25 profile online_access launch",
        "user/Appointment.cruds user/Appointment.cruds user/Appointment.r",
        "",
    };
    char once[ID_SCOPE_TEXT_MAX + 1];
    struct err e;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        for (int form = ID_SCOPE_FORM_V2; form <= ID_SCOPE_FORM_KEEP_V1; form++) {
            assert_int_equal(id_scope_parse(inputs[i], &set_b, &e), 0);
            assert_int_equal(id_scope_format(&set_b, (enum id_scope_form)form, once, sizeof once),
                             0);
            assert_true(strlen(once) <= strlen(inputs[i]) + 4 * 2);
            assert_int_equal(id_scope_parse(once, &set_c, &e), 0);
            if (form == ID_SCOPE_FORM_KEEP_V1)
                assert_true(id_scope_set_equal(&set_b, &set_c));
            assert_int_equal(id_scope_format(&set_c, (enum id_scope_form)form, text, sizeof text),
                             0);
            assert_string_equal(text, once); /* idempotent */
        }
    }
    assert_string_equal(canon(inputs[0]), "openid fhirUser launch/patient offline_access "
                                          "patient/Patient.r user/Observation.rs");
    /* Observation.c is not granted elsewhere, so the merged scope stays whole */
    assert_string_equal(canon(inputs[3]), "system/*.rs system/Observation.crs");
    assert_string_equal(canon(inputs[4]), "patient/Observation.rs?category=a&code=b");
    assert_string_equal(canon(inputs[5]),
                        "profile launch online_access patient/Observation.rs?x=A,|%25");
    assert_string_equal(canon(inputs[6]), "user/Appointment.cruds");

    /* equality sees v1 flags and every field */
    assert_int_equal(id_scope_parse("patient/*.read", &set_b, &e), 0);
    assert_int_equal(id_scope_parse("patient/*.rs", &set_c, &e), 0);
    assert_false(id_scope_set_equal(&set_b, &set_c));
    assert_int_equal(id_scope_parse("patient/*.rs?a=b", &set_c, &e), 0);
    assert_false(id_scope_set_equal(&set_b, &set_c));
    assert_int_equal(id_scope_parse("openid", &set_c, &e), 0);
    assert_false(id_scope_set_equal(&set_b, &set_c));

    /* a buffer too small is refused, with an empty string */
    assert_int_equal(id_scope_parse("openid profile", &set_b, &e), 0);
    char small[14];
    assert_int_equal(id_scope_format(&set_b, ID_SCOPE_FORM_V2, small, sizeof small), ERR_TOOBIG);
    assert_string_equal(small, "");
    char fits[15];
    assert_int_equal(id_scope_format(&set_b, ID_SCOPE_FORM_V2, fits, sizeof fits), 0);
    assert_string_equal(fits, "openid profile");
    assert_int_equal(id_scope_format(&set_b, ID_SCOPE_FORM_V2, NULL, 0), ERR_TOOBIG);
}

static int subset(const char *requested, const char *allowed, const char **uncovered_text)
{
    struct err e;
    assert_int_equal(id_scope_parse(requested, &set_b, &e), 0);
    assert_int_equal(id_scope_parse(allowed, &set_c, &e), 0);
    static const struct id_scope sentinel;
    const struct id_scope *u = &sentinel;
    int r = id_scope_subset(&set_b, &set_c, &u);
    if (r) {
        assert_null(u);
    } else {
        assert_non_null(u);
        if (uncovered_text != NULL) {
            set_a.n = 1;
            set_a.items[0] = *u;
            assert_int_equal(id_scope_format(&set_a, ID_SCOPE_FORM_KEEP_V1, text, sizeof text), 0);
            *uncovered_text = text;
        }
    }
    assert_int_equal(id_scope_subset(&set_b, &set_c, NULL), r);
    return r;
}

static void subset_checks_what_a_client_may_ask_for(void **state)
{
    (void)state;
    const char *u = NULL;
    assert_true(subset("", "", NULL));
    assert_true(subset("", "openid", NULL));
    assert_true(subset("patient/Observation.rs", "patient/*.rs", NULL));
    assert_true(subset("patient/Observation.r", "patient/Observation.rs", NULL));
    assert_true(subset("patient/Observation.rs", "patient/Observation.r patient/*.s", NULL));
    assert_true(subset("patient/*.read", "patient/*.rs", NULL));
    assert_true(subset("patient/*.rs", "patient/*.read", NULL));
    assert_true(subset("patient/*.cruds", "patient/*.read patient/*.write", NULL));
    assert_true(subset("openid fhirUser launch/patient cityos.admin offline_access",
                       "offline_access cityos.admin openid fhirUser launch/patient launch", NULL));
    /* a granular request is within a broader grant; not the other way round */
    assert_true(
        subset("patient/Observation.rs?category=laboratory", "patient/Observation.rs", NULL));
    assert_true(subset("patient/Observation.rs?category=laboratory&code=x",
                       "patient/*.rs?category=laboratory", NULL));
    assert_false(
        subset("patient/Observation.rs", "patient/Observation.rs?category=laboratory", &u));
    assert_string_equal(u, "patient/Observation.rs");
    assert_false(subset("patient/Observation.rs?category=vital-signs",
                        "patient/Observation.rs?category=laboratory", NULL));

    assert_false(subset("patient/*.rs", "patient/Observation.rs", &u));
    assert_string_equal(u, "patient/*.rs");
    assert_false(subset("patient/Observation.rs openid", "patient/Observation.r openid", &u));
    assert_string_equal(u, "patient/Observation.rs");
    assert_false(subset("openid fhirUser", "openid", &u));
    assert_string_equal(u, "fhirUser");
    assert_false(subset("cityos.admin", "cityos.adminx", &u));
    assert_string_equal(u, "cityos.admin");
    assert_false(subset("patient/*.write", "patient/*.read", &u));
    assert_string_equal(u, "patient/*.write");
    /* contexts never cover each other */
    assert_false(subset("patient/Observation.r", "user/*.cruds", NULL));
    assert_false(subset("user/Observation.r", "system/*.cruds", NULL));
    assert_false(subset("system/Observation.r", "patient/*.cruds user/*.cruds", NULL));
}

static const char *intersect(const char *a, const char *b)
{
    struct err e;
    assert_int_equal(id_scope_parse(a, &set_a, &e), 0);
    assert_int_equal(id_scope_parse(b, &set_b, &e), 0);
    assert_int_equal(id_scope_intersect(&set_a, &set_b, &set_c, &e), 0);
    assert_int_equal(id_scope_format(&set_c, ID_SCOPE_FORM_KEEP_V1, text, sizeof text), 0);
    /* the result is within both */
    assert_true(id_scope_subset(&set_c, &set_a, NULL));
    assert_true(id_scope_subset(&set_c, &set_b, NULL));
    return text;
}

static void intersect_narrows_to_what_both_grant(void **state)
{
    (void)state;
    assert_string_equal(intersect("patient/*.cruds openid", "patient/Observation.rs openid"),
                        "openid patient/Observation.rs");
    assert_string_equal(intersect("patient/Observation.rs", "patient/*.cruds"),
                        "patient/Observation.rs");
    assert_string_equal(intersect("patient/AllergyIntolerance.cruds", "patient/*.rs"),
                        "patient/AllergyIntolerance.rs");
    assert_string_equal(intersect("patient/*.read launch/patient", "patient/*.cruds"),
                        "patient/*.read"); /* requested in v1, granted whole: answered in v1 */
    assert_string_equal(intersect("patient/*.*", "patient/*.rs"), "patient/*.rs");
    assert_string_equal(intersect("patient/*.r patient/Observation.read", "patient/*.cruds"),
                        "patient/*.r patient/Observation.read");
    assert_string_equal(
        intersect("patient/*.r patient/Observation.read", "patient/*.r patient/Observation.read"),
        "patient/*.r patient/Observation.read");
    assert_string_equal(intersect("patient/Observation.rs", "user/*.cruds system/*.cruds"), "");
    assert_string_equal(intersect("patient/Observation.rs", "patient/Condition.rs"), "");
    assert_string_equal(intersect("patient/Observation.c", "patient/Observation.rs"), "");
    assert_string_equal(intersect("cityos.admin profile", "cityos.admin openid"), "cityos.admin");
    /* parameters of both sides restrict */
    assert_string_equal(intersect("patient/Observation.rs", "patient/*.rs?category=laboratory"),
                        "patient/Observation.rs?category=laboratory");
    assert_string_equal(intersect("patient/*.rs?code=x", "patient/Observation.r?category=y"),
                        "patient/Observation.r?category=y&code=x");
    assert_string_equal(intersect("patient/*.rs?a=1&b=2&c=3", "patient/*.rs?d=4&e=5"), "");
    assert_string_equal(intersect("patient/*.rs?a=1&b=2&c=3", "patient/*.rs?d=4&a=1"),
                        "patient/*.rs?a=1&b=2&c=3&d=4");
    /* several pairs merge */
    assert_string_equal(intersect("user/*.cruds", "user/Observation.r user/Observation.s "
                                                  "user/Condition.rs user/*.c"),
                        "user/*.c user/Condition.rs user/Observation.rs");

    /* a result beyond ID_SCOPE_MAX scopes is refused */
    static char a[ID_SCOPE_TEXT_MAX + 1], b[ID_SCOPE_TEXT_MAX + 1];
    size_t oa = 0, ob = 0;
    for (int i = 0; i < 9; i++)
        oa += (size_t)snprintf(a + oa, sizeof a - oa, "%suser/*.rs?p=%d", i ? " " : "", i);
    for (int i = 0; i < 8; i++)
        ob += (size_t)snprintf(b + ob, sizeof b - ob, "%suser/T%c.r", i ? " " : "", 'a' + i);
    struct err e;
    assert_int_equal(id_scope_parse(a, &set_a, &e), 0);
    assert_int_equal(id_scope_parse(b, &set_b, &e), 0);
    assert_int_equal(set_a.n, 9);
    assert_int_equal(set_b.n, 8);
    set_c.n = 3;
    assert_int_equal(id_scope_intersect(&set_a, &set_b, &set_c, &e), ERR_TOOBIG);
    assert_int_equal(set_c.n, 0);
    assert_non_null(strstr(e.msg, "more than 64"));
    assert_int_equal(id_scope_intersect(&set_b, &set_b, &set_c, &e), 0);
    assert_true(id_scope_set_equal(&set_b, &set_c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_quick_start_and_identity_scopes),
        cmocka_unit_test(spec_patient_user_system_tables),
        cmocka_unit_test(v1_forms_map_to_v2),
        cmocka_unit_test(permissions_are_an_in_order_subset_of_cruds),
        cmocka_unit_test(granular_scopes_keep_decoded_parameters),
        cmocka_unit_test(refusals_name_the_token),
        cmocka_unit_test(other_scopes_are_kept_as_text),
        cmocka_unit_test(allows_follows_context_type_and_permission),
        cmocka_unit_test(granular_scopes_match_facts_or_are_walked),
        cmocka_unit_test(format_is_canonical_and_round_trips),
        cmocka_unit_test(subset_checks_what_a_client_may_ask_for),
        cmocka_unit_test(intersect_narrows_to_what_both_grant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
