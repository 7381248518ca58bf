/* admin_api.c - the identity admin endpoints: an administrator principal, a strict JSON body,
 * the identity module's validation and insert, and its status turned into HTTP here. Writes of
 * personal data (people, practitioner roles, family links) commit with their audit records. */
#include "identity/admin_api.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/actor.h"
#include "audit/audit.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/category.h"
#include "http/problem.h"
#include "identity/admin_json.h"
#include "identity/client.h"
#include "identity/org.h"
#include "identity/person.h"
#include "identity/principal.h"

#define PEOPLE  "/api/v1/admin/people"
#define ORGS    "/api/v1/admin/organisations"
#define CLIENTS "/api/v1/admin/clients"

/* Writes: the identity module checks what needs the database inside the write, and the worker
 * thread waits for it with store_write(): one group commit (and, for a person with a first
 * password, one Argon2id hash of about 40 ms). Admin traffic is rare; the public write paths use
 * store_write_async(). People, roles and family links are personal data: their write is the
 * identity module's insert (id_person_insert_fn, id_role_insert_fn, id_family_link_insert_fn)
 * followed by audit_append() of the creation on the chain of each person concerned, in the
 * same transaction, so the row and its record commit together or not at all. Organisations and
 * clients are not personal data and keep the CLI's one-call functions. */

/* Who decided that an administrator may register a person's data. */
#define RULE_ADMIN "rule:admin-registration"

/* At most two records: a family link is recorded on the subject's and the delegate's chain. */
#define ADMIN_RECORDS_MAX 2

/* ---- the common start and the one place identity statuses become HTTP answers ---- */

struct admin_call {
    struct id_principal who;
    json_t *body;
};

/* An administrator, then an application/json body that parses. Returns 1 (go on), 0 (the
 * answer is set) or -1 (out of memory). with_body 0: only the administrator. */
static int begin(struct http_request *req, struct admin_api *api, struct admin_call *c,
                 int with_body)
{
    int ok = id_principal_require_admin(req, api->store, &c->who);
    if (ok <= 0 || !with_body)
        return ok;
    if (!http_content_type_is(req, "application/json")) {
        http_problem(req, "unsupported-media-type", "send the body as application/json");
        return 0;
    }
    struct err e = {0};
    c->body = jsonx_parse(req->body != NULL ? req->body : "", req->body_len, &e);
    if (c->body == NULL) {
        if (e.code == ERR_NOMEM)
            http_problem(req, "unavailable", "the server is short of memory; try again");
        else
            http_problem(req, "malformed-json", "%s", e.msg);
        return 0;
    }
    if (arena_defer(req->arena, jsonx_decref, c->body) != 0) {
        json_decref(c->body);
        return -1;
    }
    return 1;
}

/* Does e's message name field ("field: ...")? */
static int names_field(const struct err *e, const char *field)
{
    size_t n = strlen(field);
    return strncmp(e->msg, field, n) == 0 && e->msg[n] == ':';
}

/* Answers a refused or failed identity call. path_field: the field that came from the path
 * (its absence is a 404), or NULL. */
static void answer_failure(struct http_request *req, int rc, const struct err *e,
                           const char *path_field)
{
    struct err p;
    id_admin_pointer_error(e, &p);
    switch (rc) {
    case ERR_INVALID:
        http_problem(req, "validation-failed", "%s", p.msg);
        return;
    case ERR_CONFLICT:
        http_problem(req, "conflict", "%s", p.msg);
        return;
    case ERR_NOTFOUND:
        if (path_field != NULL && names_field(e, path_field))
            http_problem(req, "not-found", "%s", p.msg);
        else
            http_problem(req, "validation-failed", "%s", p.msg);
        return;
    case ERR_NOMEM:
        http_problem(req, "unavailable", "the server is short of memory; try again");
        return;
    case ERR_IO:
    case ERR_UNAVAILABLE:
        http_problem(req, "unavailable", "the store did not answer");
        return;
    default:
        http_problem(req, "internal-error", "the record could not be stored");
        return;
    }
}

/* A 201 with the stored record, or with only its id when reading it back failed (the record is
 * stored: answering an error would invite a retry that then conflicts). Not for caches: it may
 * hold a citizen's details or a client secret. */
static void answer_created(struct http_request *req, json_t *record, const char *id_key,
                           const char *id, const char *location)
{
    if (record == NULL)
        record = json_pack("{s:s}", id_key, id);
    if (location != NULL)
        http_set_header(req, "Location", location);
    http_set_header(req, "Cache-Control", "no-store");
    http_respond_json(req, 201, record);
}

/* ---- a write of personal data with its audit records ---- */

struct admin_write {
    store_write_fn insert; /* the identity module's insert */
    void *insert_ctx;
    struct audit_event ev[ADMIN_RECORDS_MAX];
    size_t n;
};

static int admin_write_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct admin_write *w = ctx;
    int rc = w->insert(tx, w->insert_ctx, e);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < w->n; i++) {
        if ((rc = audit_append(tx, &w->ev[i], NULL, e)) != 0) {
            /* the row is refused with its record: not the caller's fault, never a 4xx */
            char why[sizeof e->msg];
            snprintf(why, sizeof why, "%s", e->msg);
            return err_set(e, rc == ERR_NOMEM ? ERR_NOMEM : ERR_UNAVAILABLE,
                           "the audit record could not be appended: %s", why);
        }
    }
    return 0;
}

/* Adds the record of creating resource_type resource_id about subject, by the administrator.
 * Returns 0, or -1 when the administrator cannot be recorded (the answer is then set). */
static int admin_record(struct http_request *req, const struct admin_call *c, struct admin_write *w,
                        const char *subject, const char *resource_type, const char *resource_id,
                        const char *category)
{
    struct audit_event *ev = &w->ev[w->n];
    *ev = (struct audit_event){0};
    struct err e = {0};
    if (w->n >= ADMIN_RECORDS_MAX || audit_event_from_principal(&c->who, ev, &e) != 0) {
        http_problem(req, "internal-error", "the administrator cannot be recorded");
        return -1;
    }
    audit_event_from_request(req, ev);
    ev->subject = subject;
    ev->action = "create";
    ev->resource_type = resource_type;
    ev->resource_id = resource_id;
    ev->category = category;
    ev->decision = AUDIT_PERMIT;
    ev->decided_by = RULE_ADMIN;
    w->n++;
    return 0;
}

static void note(const struct admin_call *c, const char *what, const char *id)
{
    log_info("admin: %s %s created by the %s%s%s", what, id, id_principal_kind_name(c->who.kind),
             c->who.client_id[0] != '\0' ? " through client " : "", c->who.client_id);
}

/* The path's id, or NULL with a 404 set. */
static const char *path_id(struct http_request *req, const char *what)
{
    const char *id = req->nparams > 0 ? req->params[0] : NULL;
    if (id == NULL || !ids_valid(id)) {
        http_problem(req, "not-found", "no %s with this id", what);
        return NULL;
    }
    return id;
}

/* ---- people ---- */

static int post_person(struct http_request *req, void *ctx)
{
    struct admin_api *api = ctx;
    struct admin_call c = {0};
    int ok = begin(req, api, &c, 1);
    if (ok <= 0)
        return ok;
    struct id_person_new in;
    struct err e = {0};
    if (id_admin_person_from_json(c.body, &in, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    struct id_person_write pw;
    int rc = id_person_prepare(&pw, &in, clock_now_ms(), &e);
    if (rc != 0) {
        answer_failure(req, rc, &e, NULL);
        return 0;
    }
    const char *id = pw.id;
    struct admin_write w = {.insert = id_person_insert_fn, .insert_ctx = &pw};
    if (admin_record(req, &c, &w, id, "Person", id, consent_category_name(CONSENT_CAT_CONTACT)) !=
        0)
        return 0;
    rc = store_write(api->store, admin_write_fn, &w, &e);
    sodium_memzero(pw.hash, sizeof pw.hash);
    if (rc != 0) {
        answer_failure(req, rc, &e, NULL);
        return 0;
    }
    note(&c, "person", id);
    struct id_person p;
    json_t *record = NULL;
    if (id_person_get(api->store, id, &p, req->arena, &e) == 0)
        record = id_admin_person_to_json(&p);
    answer_created(req, record, "id", id, arena_printf(req->arena, PEOPLE "/%s", id));
    return 0;
}

static int post_role(struct http_request *req, void *ctx)
{
    struct admin_api *api = ctx;
    struct admin_call c = {0};
    int ok = begin(req, api, &c, 1);
    if (ok <= 0)
        return ok;
    const char *person = path_id(req, "person");
    if (person == NULL)
        return 0;
    const char *org_id;
    enum id_role_kind role;
    struct err e = {0};
    if (id_admin_role_from_json(c.body, &org_id, &role, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    struct id_role_write rw;
    int rc = id_role_prepare(&rw, person, org_id, role, clock_now_ms(), &e);
    if (rc != 0) {
        answer_failure(req, rc, &e, "person_id");
        return 0;
    }
    const char *id = rw.id;
    struct admin_write w = {.insert = id_role_insert_fn, .insert_ctx = &rw};
    /* a role is about the person's work, not one of the citizen data categories */
    if (admin_record(req, &c, &w, person, "PractitionerRole", id, NULL) != 0)
        return 0;
    rc = store_write(api->store, admin_write_fn, &w, &e);
    if (rc != 0) {
        answer_failure(req, rc, &e, "person_id");
        return 0;
    }
    note(&c, "practitioner role", id);
    struct id_role *roles = NULL;
    size_t n = 0;
    json_t *record = NULL;
    if (id_role_list_for_person(api->store, person, req->arena, &roles, &n, &e) == 0)
        for (size_t i = 0; i < n && record == NULL; i++)
            if (strcmp(roles[i].id, id) == 0)
                record = id_admin_role_to_json(&roles[i]);
    answer_created(req, record, "id", id, NULL);
    return 0;
}

static int post_link(struct http_request *req, void *ctx)
{
    struct admin_api *api = ctx;
    struct admin_call c = {0};
    int ok = begin(req, api, &c, 1);
    if (ok <= 0)
        return ok;
    const char *subject = path_id(req, "person");
    if (subject == NULL)
        return 0;
    struct id_family_link_new in;
    struct err e = {0};
    if (id_admin_link_from_json(c.body, &in, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    in.subject_id = subject;
    struct id_family_link_write lw;
    int rc = id_family_link_prepare(&lw, &in, clock_now_ms(), &e);
    if (rc != 0) {
        answer_failure(req, rc, &e, "subject_id");
        return 0;
    }
    const char *id = lw.id;
    /* the link is about both people: each sees it on their own trail */
    const char *contact = consent_category_name(CONSENT_CAT_CONTACT);
    struct admin_write w = {.insert = id_family_link_insert_fn, .insert_ctx = &lw};
    if (admin_record(req, &c, &w, subject, "FamilyLink", id, contact) != 0 ||
        admin_record(req, &c, &w, in.delegate_id, "FamilyLink", id, contact) != 0)
        return 0;
    rc = store_write(api->store, admin_write_fn, &w, &e);
    if (rc != 0) {
        answer_failure(req, rc, &e, "subject_id");
        return 0;
    }
    note(&c, "family link", id);
    struct id_family_link *links = NULL;
    size_t n = 0;
    json_t *record = NULL;
    if (id_family_link_list_for_delegate(api->store, in.delegate_id, 0, req->arena, &links, &n,
                                         &e) == 0)
        for (size_t i = 0; i < n && record == NULL; i++)
            if (strcmp(links[i].id, id) == 0)
                record = id_admin_link_to_json(&links[i]);
    answer_created(req, record, "id", id, NULL);
    return 0;
}

/* ---- organisations ---- */

static int post_org(struct http_request *req, void *ctx)
{
    struct admin_api *api = ctx;
    struct admin_call c = {0};
    int ok = begin(req, api, &c, 1);
    if (ok <= 0)
        return ok;
    struct id_org_new in;
    struct err e = {0};
    if (id_admin_org_from_json(c.body, &in, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    char id[IDS_LEN + 1];
    int rc = id_org_create(api->store, &in, id, &e);
    if (rc != 0) {
        answer_failure(req, rc, &e, NULL);
        return 0;
    }
    note(&c, "organisation", id);
    struct id_org org;
    json_t *record = NULL;
    if (id_org_get(api->store, id, &org, req->arena, &e) == 0)
        record = id_admin_org_to_json(&org);
    answer_created(req, record, "id", id, arena_printf(req->arena, ORGS "/%s", id));
    return 0;
}

static int get_org(struct http_request *req, void *ctx)
{
    struct admin_api *api = ctx;
    struct admin_call c = {0};
    int ok = begin(req, api, &c, 0);
    if (ok <= 0)
        return ok;
    const char *id = path_id(req, "organisation");
    if (id == NULL)
        return 0;
    struct id_org org;
    struct err e = {0};
    int rc = id_org_get(api->store, id, &org, req->arena, &e);
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID) {
        http_problem(req, "not-found", "no organisation with this id");
        return 0;
    }
    if (rc != 0) {
        answer_failure(req, rc, &e, NULL);
        return 0;
    }
    http_respond_json(req, 200, id_admin_org_to_json(&org));
    return 0;
}

/* ---- clients ---- */

static int post_client(struct http_request *req, void *ctx)
{
    struct admin_api *api = ctx;
    struct admin_call c = {0};
    int ok = begin(req, api, &c, 1);
    if (ok <= 0)
        return ok;
    struct id_client_new in;
    const char *uris[ID_CLIENT_REDIRECTS_MAX];
    struct err e = {0};
    if (id_admin_client_from_json(c.body, &in, uris, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    char id[IDS_LEN + 1], secret[ID_CLIENT_SECRET_LEN + 1];
    int rc = id_client_create(api->store, &in, id, secret, &e);
    if (rc != 0) {
        answer_failure(req, rc, &e, NULL);
        return 0;
    }
    note(&c, "OAuth client", id);
    struct id_client client;
    json_t *record = NULL;
    if (id_client_get(api->store, id, &client, req->arena, &e) == 0)
        record = id_admin_client_to_json(&client, secret);
    else if (secret[0] != '\0') /* the secret must reach its owner: it exists nowhere else */
        record = json_pack("{s:s, s:s}", "client_id", id, "client_secret", secret);
    sodium_memzero(secret, sizeof secret);
    answer_created(req, record, "client_id", id, arena_printf(req->arena, CLIENTS "/%s", id));
    return 0;
}

static int get_client(struct http_request *req, void *ctx)
{
    struct admin_api *api = ctx;
    struct admin_call c = {0};
    int ok = begin(req, api, &c, 0);
    if (ok <= 0)
        return ok;
    const char *id = path_id(req, "client");
    if (id == NULL)
        return 0;
    struct id_client client;
    struct err e = {0};
    int rc = id_client_get(api->store, id, &client, req->arena, &e);
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID) {
        http_problem(req, "not-found", "no client with this id");
        return 0;
    }
    if (rc != 0) {
        answer_failure(req, rc, &e, NULL);
        return 0;
    }
    http_respond_json(req, 200, id_admin_client_to_json(&client, NULL));
    return 0;
}

int admin_api_register(struct http_router *r, struct admin_api *api, struct store *s)
{
    static const struct {
        const char *method, *pattern;
        http_handler fn;
    } routes[] = {
        {"POST", PEOPLE, post_person},
        {"POST", PEOPLE "/{id}/roles", post_role},
        {"POST", PEOPLE "/{id}/links", post_link},
        {"POST", ORGS, post_org},
        {"GET", ORGS "/{id}", get_org},
        {"POST", CLIENTS, post_client},
        {"GET", CLIENTS "/{id}", get_client},
    };
    api->store = s;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].fn, api);
        if (rc != 0)
            return rc;
    }
    return 0;
}
