/* capability.c - GET /fhir/metadata: the CapabilityStatement, made from what is served (the
 * owner table, the generated search parameters) so it states exactly what the server does. */
#include "fhir/capability.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/jsonx.h"
#include "fhir/defs.h"
#include "fhir/outcome.h"
#include "fhir/owner.h"

static const char *param_type_name(enum fhir_param_type t)
{
    static const char *const names[] = {"number",    "date",     "string", "token",  "reference",
                                        "composite", "quantity", "uri",    "special"};
    return (size_t)t < sizeof names / sizeof names[0] ? names[t] : "special";
}

/* The search parameters one type answers: its generated table, less composite and special
 * ones (search_parse.c refuses them). */
static json_t *search_params(const char *type)
{
    json_t *a = json_array();
    size_t n = 0;
    const struct fhir_search_param *ps = fhir_defs_search_params(type, &n);
    for (size_t i = 0; a != NULL && i < n; i++) {
        if (ps[i].type == FHIR_PARAM_COMPOSITE || ps[i].type == FHIR_PARAM_SPECIAL)
            continue;
        json_t *p =
            json_pack("{s:s, s:s, s:s}", "name", ps[i].name, "definition",
                      ps[i].url != NULL ? ps[i].url : "", "type", param_type_name(ps[i].type));
        if (p == NULL || json_array_append_new(a, p) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *interactions(void)
{
    static const char *const codes[] = {
        "read",         "vread",  "update",     "delete", "history-instance",
        "history-type", "create", "search-type"};
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < sizeof codes / sizeof codes[0]; i++)
        if (json_array_append_new(a, json_pack("{s:s}", "code", codes[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *resource(const char *type)
{
    json_t *sp = search_params(type), *in = interactions();
    return json_pack("{s:s, s:o*, s:s, s:b, s:b, s:b, s:s, s:s, s:o*}", "type", type, "interaction",
                     in, "versioning", "versioned-update", "readHistory", 1, "updateCreate", 1,
                     "conditionalCreate", 0, "conditionalDelete", "not-supported",
                     "conditionalRead", "not-supported", "searchParam", sp);
}

/* The security section: SMART on FHIR with our OAuth endpoints. */
static json_t *security(const char *issuer)
{
    char auth[512], token[512];
    snprintf(auth, sizeof auth, "%s/oauth/authorize", issuer);
    snprintf(token, sizeof token, "%s/oauth/token", issuer);
    return json_pack(
        "{s:[{s:[{s:s, s:s}]}], s:[{s:s, s:[{s:s, s:s}, {s:s, s:s}]}], s:b, s:s}", "service",
        "coding", "system", "http://terminology.hl7.org/CodeSystem/restful-security-service",
        "code", "SMART-on-FHIR", "extension", "url",
        "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris", "extension", "url",
        "authorize", "valueUri", auth, "url", "token", "valueUri", token, "cors", 0, "description",
        "Bearer tokens of the regional ID (OAuth 2.0, OpenID Connect, SMART App Launch v2 "
        "scopes). Every access to a citizen's data is decided by their consent and recorded "
        "on their audit trail; X-Purpose-Of-Use and X-Break-Glass-Reason are read.");
}

json_t *fhir_capability_statement(const char *issuer, const char *version)
{
    json_t *resources = json_array();
    for (const char *const *t = fhir_owner_types(); resources != NULL && *t != NULL; t++) {
        json_t *r = resource(*t);
        if (r == NULL || json_array_append_new(resources, r) != 0) {
            json_decref(resources);
            return NULL;
        }
    }
    /* Consent and AuditEvent: read and search by their own modules, read-only */
    static const char *const ro[] = {"Consent", "AuditEvent"};
    for (size_t i = 0; resources != NULL && i < 2; i++) {
        json_t *r = json_pack("{s:s, s:[{s:s}, {s:s}]}", "type", ro[i], "interaction", "code",
                              "read", "code", "search-type");
        if (r == NULL || json_array_append_new(resources, r) != 0) {
            json_decref(resources);
            return NULL;
        }
    }
    char url[512];
    snprintf(url, sizeof url, "%s/fhir", issuer);
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:s, s:[s, s], "
                     "s:[{s:s, s:o*, s:o*}]}",
                     "resourceType", "CapabilityStatement", "status", "active", "date",
                     "2026-11-25", "kind", "instance", "software", "name", "cityos", "version",
                     version, "implementation", "description", "cityos regional FHIR server", "url",
                     url, "fhirVersion", "4.0.1", "format", "json", "application/fhir+json", "rest",
                     "mode", "server", "security", security(issuer), "resource", resources);
}

static int get_metadata(struct http_request *req, void *ctx)
{
    const struct fhir_capability *cap = ctx;
    const char *bad = NULL;
    int repeated = 0;
    static const char *const allowed[] = {"_format", "mode", NULL};
    if (!http_query_only(req, allowed, &bad, &repeated)) {
        fhir_outcome(req, 400, "not-supported", "unsupported parameter \"%.40s\"", bad);
        return 0;
    }
    const char *mode = http_query(req, "mode");
    if (mode != NULL && strcmp(mode, "full") != 0) {
        fhir_outcome(req, 400, "not-supported", "mode=full is the only mode served");
        return 0;
    }
    json_t *doc = fhir_capability_statement(cap->issuer, cap->version);
    size_t len = 0;
    char *text = doc != NULL ? jsonx_dumps(doc, &len) : NULL;
    json_decref(doc);
    char *body = text != NULL ? arena_strndup(req->arena, text, len) : NULL;
    free(text);
    if (body == NULL)
        return -1;
    http_respond(req, 200, FHIR_JSON, body, len);
    return 0;
}

int fhir_capability_register(struct http_router *r, struct fhir_capability *cap, const char *issuer,
                             const char *version)
{
    cap->issuer = issuer;
    cap->version = version;
    return http_router_add(r, "GET", "/fhir/metadata", get_metadata, cap);
}
