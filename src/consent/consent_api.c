/* consent_api.c - the consent endpoints: who acts for whom (the citizen, or a delegate with
 * manage_consents), strict bodies, the consent writes queued on the group commit with their
 * audit entry, and the one place consent statuses become HTTP answers. */
#include "consent/consent_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/actor.h"
#include "audit/held.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/consent.h"
#include "consent/consent_json.h"
#include "consent/fhir_consent.h"
#include "consent/receipt.h"
#include "fhir/outcome.h"
#include "http/problem.h"
#include "identity/keys.h"
#include "identity/person.h"
#include "identity/principal.h"

#define ME_CONSENTS  "/api/v1/me/consents"
#define ME_INBOX     "/api/v1/me/inbox"
#define FHIR_CONSENT "/fhir/Consent"

/* ---- who acts ---- */

struct call {
    struct consent_api *api;
    struct id_principal who;
    const char *subject; /* whose consents */
    struct audit_event actor;
    json_t *body;
};

static int answer_read(struct http_request *req, struct call *c, const char *resource_type,
                       const char *resource_id, json_t *v);

/* The principal, and whose consents it may handle: a person their own (or, with ?subject=,
 * those of someone whose family link gives them manage_consents); a delegate those of the
 * person they act for, with that right. The token must carry perm on Consent in the patient
 * context (SMART v2: patient/Consent.r for reading consents, receipts and the inbox, .c to
 * grant, .u to narrow, withdraw or accept a re-consent; the wildcard patient/\*.cruds too), so
 * an app the citizen signed in to for their record cannot change their consents unless they
 * approved that. Returns 1 (go on), 0 (answer set) or -1. */
static int begin(struct http_request *req, struct consent_api *api, unsigned perm, struct call *c)
{
    static const char *const allowed[] = {"subject", NULL};
    c->api = api;
    int ok = id_principal_require(req, api->store, &c->who);
    if (ok <= 0)
        return ok;
    if (!http_query_only_or_problem(req, allowed))
        return 0;
    const char *q = http_query(req, "subject");
    const struct id_principal *p = &c->who;
    if (p->kind != ID_PRINCIPAL_PERSON && p->kind != ID_PRINCIPAL_DELEGATE) {
        http_problem(req, "forbidden", "only citizens and their delegates manage consents");
        return 0;
    }
    if (id_scope_allows(p->scope, ID_SCOPE_PATIENT, "Consent", perm, NULL, 0) == NULL) {
        const char *need = perm == ID_PERM_C   ? "patient/Consent.c"
                           : perm == ID_PERM_U ? "patient/Consent.u"
                                               : "patient/Consent.r";
        http_set_header(req, "WWW-Authenticate",
                        arena_printf(req->arena,
                                     "Bearer realm=\"cityos\", error=\"insufficient_scope\", "
                                     "scope=\"%s\"",
                                     need));
        http_problem(req, "forbidden", "the token's scope does not cover this (%s)", need);
        return 0;
    }
    c->subject = q != NULL ? q : (p->kind == ID_PRINCIPAL_DELEGATE ? p->acting_for : p->subject_id);
    if (c->subject == NULL || !ids_valid(c->subject)) {
        http_problem(req, "invalid-parameter", "subject: not a well-formed regional ID");
        return 0;
    }
    if (p->kind == ID_PRINCIPAL_DELEGATE && strcmp(c->subject, p->acting_for) != 0) {
        http_problem(req, "forbidden", "this token acts for another person");
        return 0;
    }
    int self = p->kind == ID_PRINCIPAL_PERSON && strcmp(c->subject, p->subject_id) == 0;
    if (!self) {
        struct err e = {0};
        int may = consent_may_manage(api->store, p->subject_id, c->subject, clock_now_ms(), &e);
        if (may < 0) {
            http_problem(req, "unavailable", "the store is unavailable; try again");
            return 0;
        }
        if (!may) {
            http_problem(req, "forbidden",
                         "managing this person's consents needs a family link "
                         "with the right manage_consents");
            return 0;
        }
    }
    struct err e = {0};
    c->actor = (struct audit_event){0};
    if (audit_event_from_principal(p, &c->actor, &e) != 0) {
        http_problem(req, "unavailable", "the actor cannot be recorded");
        return 0;
    }
    audit_event_from_request(req, &c->actor);
    if (!self) { /* a person acting through ?subject= is a delegate for this write */
        c->actor.actor_kind = AUDIT_ACTOR_DELEGATE;
        c->actor.on_behalf_of = c->subject;
    }
    return 1;
}

static int read_body(struct http_request *req, struct call *c)
{
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

/* The one place a consent status becomes an HTTP answer. */
static void answer_error(struct http_request *req, int rc, const struct err *e)
{
    const char *msg = e != NULL ? e->msg : "";
    switch (rc) {
    case ERR_INVALID:
        if (strncmp(msg, "by:", 3) == 0)
            http_problem(req, "forbidden", "%s", msg);
        else
            http_problem(req, "validation-failed", "%s", msg);
        return;
    case ERR_NOTFOUND:
        if (strncmp(msg, "consent:", 8) == 0 || strncmp(msg, "item:", 5) == 0)
            http_problem(req, "not-found", "%s", msg);
        else
            http_problem(req, "validation-failed", "%s", msg);
        return;
    case ERR_CONFLICT:
        http_problem(req, "conflict", "%s", msg);
        return;
    case ERR_NOMEM:
    default:
        http_problem(req, "unavailable", "the consent could not be stored; try again");
        return;
    }
}

/* ---- receipts ---- */

/* What a receipt is made from: the change and the purpose version it is about. */
struct receipt_src {
    enum consent_receipt_action action;
    const char *consent_id;
    enum consent_recipient_kind recipient_kind;
    const char *recipient_id; /* NULL for "purpose" */
    const struct consent_purpose *purpose;
    consent_cats cats;
    int64_t valid_until_ms;
    const struct consent_evidence *evidence; /* of this change */
};

static const char *collection_method(enum consent_channel c)
{
    switch (c) {
    case CONSENT_CHANNEL_APP:
        return "app";
    case CONSENT_CHANNEL_IN_PERSON_PROXY:
        return "in person by proxy";
    case CONSENT_CHANNEL_PORTAL:
    default:
        return "portal";
    }
}

/* text, or dflt when it is NULL or empty. */
static const char *or_default(const char *text, const char *dflt)
{
    return text != NULL && text[0] != '\0' ? text : dflt;
}

/* The host of an http(s) URL, into buf ("" when there is none). */
static const char *url_host(const char *url, char *buf, size_t size)
{
    const char *p = strstr(url, "://");
    p = p != NULL ? p + 3 : url;
    size_t n = strcspn(p, "/:?#");
    snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), p);
    return buf;
}

/* Builds and signs the receipt of src for the subject of c, into w->receipt_id and
 * w->receipt_jws (in req->arena). Returns 1 (go on), 0 (answer set) or -1. */
static int make_receipt(struct http_request *req, struct call *c, const struct receipt_src *src,
                        struct consent_write *w, char receipt_id[CONSENT_RECEIPT_ID_LEN + 1])
{
    struct consent_api *api = c->api;
    const struct id_jose_key *key = id_keys_signing(id_keys_get());
    if (key == NULL || api->issuer == NULL || api->issuer[0] == '\0') {
        http_problem(req, "unavailable", "the receipt cannot be signed: no signing key");
        return 0;
    }
    const struct consent_purpose *pu = src->purpose;
    struct arena *a = req->arena;
    char host[256];
    char *policy = arena_printf(a, "%s/api/v1/purposes", api->issuer);
    char *jwks = arena_printf(a, "%s/.well-known/jwks.json", api->issuer);
    /* the controller: the city, as configured (options controller-*, docs/operations.md) */
    const char *name_ja = or_default(api->controller_name_ja, CONFIG_CONTROLLER_NAME_JA);
    const char *name_en = or_default(api->controller_name_en, CONFIG_CONTROLLER_NAME_EN);
    char *name = arena_printf(a, "%s / %s", name_ja, name_en);
    char *email = api->controller_email != NULL && api->controller_email[0] != '\0'
                      ? arena_strdup(a, api->controller_email)
                      : arena_printf(a, "privacy@%s", url_host(api->issuer, host, sizeof host));
    char *pcat = arena_printf(a, "%s@%lld", pu->code, (long long)pu->version);
    char *until = NULL;
    if (src->valid_until_ms > 0) {
        char tbuf[40];
        until =
            arena_printf(a, "Ends on %s, or earlier when withdrawn (DELETE " ME_CONSENTS "/%s).",
                         clock_format_ms(src->valid_until_ms, tbuf, sizeof tbuf), src->consent_id);
    } else {
        until = arena_printf(a, "Until withdrawn (DELETE " ME_CONSENTS "/%s).", src->consent_id);
    }
    const char *cats[CONSENT_CAT_COUNT];
    size_t ncats = 0;
    int genome = 0;
    for (int i = 0; i < CONSENT_CAT_COUNT; i++)
        if (src->cats & (1u << i)) {
            cats[ncats++] = consent_category_name((enum consent_category)i);
            genome |= i == CONSENT_CAT_GENOME;
        }
    /* who receives: one named recipient, or every one registered for the purpose version */
    const char *third = NULL;
    if (src->recipient_kind != CONSENT_TO_PURPOSE)
        third = arena_printf(a, "%s %s", consent_recipient_kind_name(src->recipient_kind),
                             src->recipient_id);
    else if (pu->recipients != NULL && pu->recipients[0] != '\0')
        third = strlen(pu->recipients) <= CONSENT_RECEIPT_TEXT_MAX / 2
                    ? arena_printf(a, "every recipient registered for %s: %s", pcat, pu->recipients)
                    : arena_printf(a, "every recipient registered for %s (see policyUrl)", pcat);
    if (policy == NULL || jwks == NULL || name == NULL || email == NULL || pcat == NULL ||
        until == NULL || (src->recipient_kind != CONSENT_TO_PURPOSE && third == NULL))
        return -1;
    const char *const pcats[] = {pcat};
    static const char *const spi_health[] = {"health"}, *const spi_genome[] = {"health", "genome"};
    struct consent_receipt_purpose purpose = {
        .purpose = pu->title_ja,
        .purpose_category = pcats,
        .n_purpose_category = 1,
        .consent_type = "EXPLICIT",
        .pii_category = cats,
        .n_pii_category = ncats,
        .primary_purpose = 1,
        .termination = until,
        .third_party_disclosure = third != NULL,
        .third_party_name = third,
    };
    struct consent_receipt_service service = {
        .service = pu->title_en != NULL ? pu->title_en : pu->code,
        .purposes = &purpose,
        .n_purposes = 1,
    };
    struct consent_receipt_controller city = {
        .name = name,
        .contact = api->issuer,
        .address = or_default(api->controller_address, CONFIG_CONTROLLER_ADDRESS),
        .email = email,
        .phone = or_default(api->controller_phone, CONFIG_CONTROLLER_PHONE),
        .url = api->issuer,
    };
    consent_receipt_new_id(receipt_id);
    struct consent_receipt_in in = {
        .receipt_id = receipt_id,
        .action = src->action,
        .consent_ms = src->evidence->agreed_ms,
        .issued_ms = w->now_ms,
        .collection_method = collection_method(src->evidence->channel),
        .language = "ja",
        .pii_principal_id = c->subject,
        .controllers = &city,
        .n_controllers = 1,
        .policy_url = policy,
        .services = &service,
        .n_services = 1,
        .spi_cat = genome ? spi_genome : spi_health,
        .n_spi_cat = genome ? 2 : 1,
        .issuer = api->issuer,
        .jwks_url = jwks,
        .consent_id = src->consent_id,
        .explanation_version = pcat,
        .explanation_hash = src->evidence->explanation_hash,
    };
    struct err e = {0};
    char *jws = consent_receipt_make(&in, key, &e);
    if (jws == NULL) {
        if (e.code == ERR_NOMEM)
            return -1;
        log_error("consent receipt: %s", e.msg);
        http_problem(req, "internal-error", "the consent receipt cannot be made");
        return 0;
    }
    if (arena_defer(a, free, jws) != 0) {
        free(jws);
        return -1;
    }
    w->receipt_id = receipt_id;
    w->receipt_jws = jws;
    return 1;
}

/* ---- writes ---- */

struct pending {
    struct consent_write w;
    struct call c;
    int status;
    int created;
    struct http_request *req;
    char grant_id[IDS_LEN + 1];
    char receipt_id[CONSENT_RECEIPT_ID_LEN + 1];
};

/* A re-consent's receipt: the inbox item (open, the citizen's), the consent it moves (active),
 * and the scope after the move, computed as the write will (consent.c, reconsent_fn): the
 * categories asked for, or the old ones plus those the new version added, within the new
 * version. The evidence must be the new version's explanation, so an item moved to a later
 * version in between makes the write refuse rather than contradict the receipt. */
static int reconsent_source(struct http_request *req, struct consent_write *w,
                            struct consent_record *rec, struct consent_purpose *pu,
                            struct receipt_src *src, struct err *e)
{
    struct consent_inbox_item *items;
    size_t n;
    int rc = consent_inbox_list(w->store, w->subject_id, 0, req->arena, &items, &n, e);
    if (rc != 0)
        return rc;
    const struct consent_inbox_item *it = NULL;
    for (size_t i = 0; it == NULL && i < n; i++)
        if (strcmp(items[i].id, w->item_id) == 0 && strcmp(items[i].kind, "reconsent") == 0)
            it = &items[i];
    if (it == NULL || it->consent_id == NULL)
        return err_set(e, ERR_NOTFOUND, "item: no such re-consent item of this citizen");
    if (it->resolved_ms != 0)
        return err_set(e, ERR_CONFLICT, "item: already resolved");
    if ((rc = consent_get(w->store, w->subject_id, it->consent_id, rec, req->arena, e)) != 0)
        return rc == ERR_NOTFOUND ? err_set(e, ERR_INTERNAL, "item: its consent is missing") : rc;
    if (rec->withdrawn)
        return err_set(e, ERR_CONFLICT, "consent: already withdrawn");
    struct consent_purpose old;
    rc =
        consent_purpose_get(w->store, rec->purpose_code, rec->purpose_version, &old, req->arena, e);
    if (rc == 0)
        rc = consent_purpose_get(w->store, rec->purpose_code, it->to_version, pu, req->arena, e);
    if (rc != 0)
        return rc == ERR_NOTFOUND
                   ? err_set(e, ERR_INTERNAL, "consent: its purpose version is missing")
                   : rc;
    if (strcmp(pu->explanation_hash, w->evidence.explanation_hash) != 0)
        return err_set(e, ERR_INVALID,
                       "evidence.explanation_hash: not the explanation of the new version");
    consent_cats cats = w->cats ? w->cats : ((rec->cats | (pu->cats & ~old.cats)) & pu->cats);
    if (cats & ~pu->cats)
        return err_set(e, ERR_INVALID, "categories: the purpose does not cover them all");
    if (cats == 0)
        return err_set(e, ERR_INVALID,
                       "categories: the new version covers none of them; "
                       "withdraw instead");
    src->cats = cats;
    return 0;
}

/* Every change gets its signed receipt before it is queued (the consent's id is made here for
 * a grant), and the write stores it in the same transaction. A receipt describes the consent
 * as it stands after the change; for a narrowing, re-consent or withdrawal it is made from the
 * consent as read now, and the write refuses with 409 (nothing stored) when the consent changed
 * in between (receipt_basis_ms). Returns 1 (go on), 0 (answer set), -1. */
static int prepare_receipt(struct http_request *req, struct pending *p)
{
    struct consent_write *w = &p->w;
    struct consent_purpose pu;
    struct consent_record rec;
    struct receipt_src src = {.evidence = &w->evidence};
    struct err e = {0};
    int rc;
    if (w->op == CONSENT_OP_GRANT) {
        ids_new(p->grant_id);
        w->grant_id = p->grant_id;
        src.action = CONSENT_RECEIPT_GRANT;
        src.consent_id = p->grant_id;
        src.recipient_kind = w->recipient_kind;
        src.recipient_id = w->recipient_id;
        src.cats = w->cats;
        src.valid_until_ms = w->valid_until_ms;
        rc =
            consent_purpose_get(w->store, w->purpose_code, w->purpose_version, &pu, req->arena, &e);
        if (rc == ERR_NOTFOUND) /* as the write would answer */
            rc = err_set(&e, ERR_NOTFOUND, "purpose: no such purpose version");
    } else if (w->op == CONSENT_OP_RECONSENT) {
        rc = reconsent_source(req, w, &rec, &pu, &src, &e);
        if (rc == 0) {
            src.action = CONSENT_RECEIPT_RECONSENT;
            src.consent_id = rec.id;
            src.recipient_kind = rec.recipient_kind;
            src.recipient_id = rec.recipient_id;
            src.valid_until_ms = rec.valid_until_ms;
            w->receipt_basis_ms = rec.updated_ms;
        }
    } else { /* narrowing, withdrawal: the consent as it stands */
        rc = consent_get(w->store, w->subject_id, w->consent_id, &rec, req->arena, &e);
        if (rc == 0 && rec.withdrawn)
            rc = err_set(&e, ERR_CONFLICT, "consent: already withdrawn");
        if (rc == 0) {
            int narrow = w->op == CONSENT_OP_NARROW;
            src.action = narrow ? CONSENT_RECEIPT_NARROW : CONSENT_RECEIPT_WITHDRAW;
            src.consent_id = rec.id;
            src.recipient_kind = rec.recipient_kind;
            src.recipient_id = rec.recipient_id;
            /* a narrowing: the scope after it (0 in the body: unchanged), as narrow_fn sets it */
            src.cats = narrow && w->cats != 0 ? w->cats : rec.cats;
            src.valid_until_ms =
                narrow && w->valid_until_ms != 0 ? w->valid_until_ms : rec.valid_until_ms;
            w->receipt_basis_ms = rec.updated_ms;
            rc = consent_purpose_get(w->store, rec.purpose_code, rec.purpose_version, &pu,
                                     req->arena, &e);
            if (rc == ERR_NOTFOUND)
                rc = err_set(&e, ERR_INTERNAL, "consent: its purpose version is missing");
        }
    }
    if (rc != 0) {
        answer_error(req, rc, &e);
        return 0;
    }
    src.purpose = &pu;
    return make_receipt(req, &p->c, &src, w, p->receipt_id);
}

static void written(int status, const struct err *e, void *ctx)
{
    struct pending *p = ctx;
    p->status = status;
    if (status != 0 && p->w.err.code == 0 && e != NULL)
        p->w.err = *e;
    if (status != 0 && status != ERR_INVALID && status != ERR_NOTFOUND && status != ERR_CONFLICT)
        log_warn("consent write failed: %s", e != NULL ? e->msg : err_name(status));
    consent_write_finish(&p->w, status);
    http_request_resume(p->req);
}

static int answer_written(struct http_request *req, void *ctx)
{
    struct pending *p = ctx;
    if (p->status != 0) {
        answer_error(req, p->status, &p->w.err);
        return 0;
    }
    struct consent_record rec;
    struct err e = {0};
    if (consent_get(p->c.api->store, p->c.subject, p->w.id, &rec, req->arena, &e) != 0) {
        http_problem(req, "unavailable", "the consent was stored but cannot be read back");
        return 0;
    }
    if (p->created) {
        char *loc = arena_printf(req->arena, ME_CONSENTS "/%s", p->w.id);
        if (loc == NULL)
            return -1;
        http_set_header(req, "Location", loc);
    }
    http_respond_json(req, p->created ? 201 : 200, consent_json_record(&rec));
    return 0;
}

/* Parses the body with parse, checks, and queues the write. */
static int start_write(struct http_request *req, struct consent_api *api, enum consent_op op,
                       int (*parse)(const json_t *, struct consent_write *, struct err *))
{
    struct pending *p = arena_zalloc(req->arena, sizeof *p);
    if (p == NULL)
        return -1;
    int ok = begin(req, api, op == CONSENT_OP_GRANT ? ID_PERM_C : ID_PERM_U, &p->c);
    if (ok > 0)
        ok = read_body(req, &p->c);
    if (ok <= 0)
        return ok;
    struct consent_write *w = &p->w;
    w->op = op;
    w->store = api->store;
    w->ix = consent_index_global();
    w->now_ms = clock_now_ms();
    w->actor = &p->c.actor;
    w->subject_id = p->c.subject;
    w->by = p->c.who.subject_id;
    if (op == CONSENT_OP_NARROW || op == CONSENT_OP_WITHDRAW)
        w->consent_id = req->params[0];
    if (op == CONSENT_OP_RECONSENT)
        w->item_id = req->params[0];
    struct err e = {0};
    if (parse(p->c.body, w, &e) != 0) {
        http_problem(req, e.code == ERR_NOMEM ? "unavailable" : "validation-failed", "%s", e.msg);
        return 0;
    }
    if ((op == CONSENT_OP_NARROW || op == CONSENT_OP_WITHDRAW) && !ids_valid(w->consent_id)) {
        http_problem(req, "not-found", "consent: no such consent of this citizen");
        return 0;
    }
    if (op == CONSENT_OP_RECONSENT && !ids_valid(w->item_id)) {
        http_problem(req, "not-found", "item: no such re-consent item of this citizen");
        return 0;
    }
    if (consent_write_check(w, &e) != 0) {
        answer_error(req, e.code, &e);
        return 0;
    }
    if (w->ix == NULL) {
        http_problem(req, "unavailable", "the consent index is not loaded");
        return 0;
    }
    if ((ok = prepare_receipt(req, p)) <= 0)
        return ok;
    p->created = op == CONSENT_OP_GRANT;
    p->req = req;
    http_request_suspend(req, answer_written, p);
    if (store_write_async(api->store, consent_write_fn, w, written, p) != 0) {
        p->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

static int post_consent(struct http_request *req, void *ctx)
{
    return start_write(req, ctx, CONSENT_OP_GRANT, consent_json_grant);
}

static int patch_consent(struct http_request *req, void *ctx)
{
    return start_write(req, ctx, CONSENT_OP_NARROW, consent_json_narrow);
}

static int withdraw_consent(struct http_request *req, void *ctx)
{
    return start_write(req, ctx, CONSENT_OP_WITHDRAW, consent_json_withdraw);
}

static int accept_item(struct http_request *req, void *ctx)
{
    return start_write(req, ctx, CONSENT_OP_RECONSENT, consent_json_accept);
}

/* ---- reads ---- */

static int get_consents(struct http_request *req, void *ctx)
{
    struct call c = {0};
    int ok = begin(req, ctx, ID_PERM_R, &c);
    if (ok <= 0)
        return ok;
    struct consent_record *list;
    size_t n;
    struct err e = {0};
    if (consent_list_for_subject(c.api->store, c.subject, req->arena, &list, &n, &e) != 0) {
        http_problem(req, "unavailable", "the consents cannot be read; try again");
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, consent_json_record(&list[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    if (arr == NULL)
        return -1;
    return answer_read(req, &c, "Consent", NULL,
                       json_pack("{s:s, s:o}", "subject", c.subject, "consents", arr));
}

static int get_consent(struct http_request *req, void *ctx)
{
    struct call c = {0};
    int ok = begin(req, ctx, ID_PERM_R, &c);
    if (ok <= 0)
        return ok;
    struct consent_record rec;
    struct err e = {0};
    int rc = consent_get(c.api->store, c.subject, req->params[0], &rec, req->arena, &e);
    if (rc != 0) {
        answer_error(req, rc, &e);
        return 0;
    }
    return answer_read(req, &c, "Consent", rec.id, consent_json_record(&rec));
}

/* The signed receipts of one consent, oldest first; someone else's consent is not found. */
static int get_receipts(struct http_request *req, void *ctx)
{
    struct call c = {0};
    int ok = begin(req, ctx, ID_PERM_R, &c);
    if (ok <= 0)
        return ok;
    struct consent_record rec;
    struct err e = {0};
    int rc = consent_get(c.api->store, c.subject, req->params[0], &rec, req->arena, &e);
    if (rc != 0) {
        answer_error(req, rc, &e);
        return 0;
    }
    struct consent_receipt_row *list;
    size_t n;
    if (consent_receipt_list(c.api->store, c.subject, rec.id, req->arena, &list, &n, &e) != 0) {
        http_problem(req, "unavailable", "the receipts cannot be read; try again");
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        char tbuf[40];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", list[i].id, "action", list[i].action,
                              "created_at", clock_format_ms(list[i].created_ms, tbuf, sizeof tbuf),
                              "jws", list[i].jws);
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (arr == NULL)
        return -1;
    return answer_read(
        req, &c, "ConsentReceipt", rec.id,
        json_pack("{s:s, s:s, s:o}", "subject", c.subject, "consent", rec.id, "receipts", arr));
}

/* The inbox's other source (consent_api.h): set once at start-up, read-only afterwards. */
static consent_inbox_source_fn inbox_source;
static void *inbox_source_ctx;

int consent_inbox_source_set(consent_inbox_source_fn fn, void *ctx)
{
    if (inbox_source != NULL && fn != NULL)
        return ERR_INVALID;
    inbox_source = fn;
    inbox_source_ctx = ctx;
    return 0;
}

static int get_inbox(struct http_request *req, void *ctx)
{
    struct call c = {0};
    int ok = begin(req, ctx, ID_PERM_R, &c);
    if (ok <= 0)
        return ok;
    struct consent_inbox_item *items;
    size_t n;
    struct err e = {0};
    if (consent_inbox_list(c.api->store, c.subject, 0, req->arena, &items, &n, &e) != 0) {
        http_problem(req, "unavailable", "the inbox cannot be read; try again");
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, consent_json_item(&items[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    if (arr == NULL)
        return -1;
    json_t *alerts = NULL;
    int self = c.who.kind == ID_PRINCIPAL_PERSON && strcmp(c.subject, c.who.subject_id) == 0;
    if (inbox_source != NULL && self &&
        inbox_source(c.api->store, c.subject, req->arena, &alerts, inbox_source_ctx, &e) != 0) {
        json_decref(arr);
        if (e.code == ERR_NOMEM)
            return -1;
        http_problem(req, "unavailable", "the inbox cannot be read; try again");
        return 0;
    }
    return answer_read(
        req, &c, "InboxItem", NULL,
        json_pack("{s:s, s:o, s:o*}", "subject", c.subject, "items", arr, "alerts", alerts));
}

static int get_purposes(struct http_request *req, void *ctx)
{
    struct consent_api *api = ctx;
    static const char *const allowed[] = {"history", NULL};
    if (!http_query_only_or_problem(req, allowed))
        return 0;
    const char *h = http_query(req, "history");
    if (h != NULL && strcmp(h, "true") != 0 && strcmp(h, "false") != 0) {
        http_problem(req, "invalid-parameter", "history: true or false");
        return 0;
    }
    struct consent_purpose *list;
    size_t n;
    struct err e = {0};
    int history = h != NULL && strcmp(h, "true") == 0;
    if (consent_purpose_list(api->store, !history, req->arena, &list, &n, &e) != 0) {
        http_problem(req, "unavailable", "the purposes cannot be read; try again");
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, consent_json_purpose_out(&list[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    if (arr == NULL)
        return -1;
    http_respond_json(req, 200, json_pack("{s:o}", "purposes", arr));
    return 0;
}

/* Publishing waits for its commit on the worker thread (administrator traffic is rare, as in
 * the identity admin API): it also writes every re-consent item of a widening. */
static int post_purpose(struct http_request *req, void *ctx)
{
    struct consent_api *api = ctx;
    struct call c = {.api = api};
    int ok = id_principal_require_admin(req, api->store, &c.who);
    if (ok > 0)
        ok = read_body(req, &c);
    if (ok <= 0)
        return ok;
    struct consent_purpose_new in;
    struct err e = {0};
    if (consent_json_purpose(c.body, &in, req->arena, &e) != 0) {
        http_problem(req, e.code == ERR_NOMEM ? "unavailable" : "validation-failed", "%s", e.msg);
        return 0;
    }
    in.published_by = c.who.kind == ID_PRINCIPAL_OPERATOR ? "operator" : c.who.subject_id;
    int64_t version = 0;
    int change = 0;
    int rc = consent_purpose_publish(api->store, consent_index_global(), &in, clock_now_ms(),
                                     &version, &change, &e);
    if (rc != 0) {
        answer_error(req, rc, &e);
        return 0;
    }
    struct consent_purpose p;
    if (consent_purpose_get(api->store, in.code, version, &p, req->arena, &e) != 0) {
        http_problem(req, "unavailable", "the purpose was stored but cannot be read back");
        return 0;
    }
    http_respond_json(req, 201, consent_json_purpose_out(&p));
    return 0;
}

/* ---- FHIR R4 Consent: reads recorded on the citizen's trail before the answer ---- */

/* A citizen's (or their delegate's) read of their consent records through the /api/v1 edge:
 * answered with v (consumed) only once the read is durably on the citizen's trail, as every
 * access to their data is (503 and nothing handed out otherwise). */
static int answer_read(struct http_request *req, struct call *c, const char *resource_type,
                       const char *resource_id, json_t *v)
{
    struct audit_held *j = arena_zalloc(req->arena, sizeof *j);
    int bad = j == NULL || audit_held_json(req, j, v, "application/json") != 0;
    json_decref(v);
    if (bad)
        return -1;
    j->what = "the read of consents";
    struct audit_event ev = c->actor;
    int self = c->who.kind == ID_PRINCIPAL_PERSON && strcmp(c->subject, c->who.subject_id) == 0;
    ev.subject = c->subject;
    ev.action = "read";
    ev.resource_type = resource_type;
    ev.resource_id = resource_id;
    ev.decision = AUDIT_PERMIT;
    ev.decided_by = self ? CONSENT_RULE_SELF : CONSENT_RULE_DELEGATE;
    return audit_answer_when_recorded(req, c->api->store, &ev, j);
}

/* Who reads whose consents: the principal, the citizen whose consents they are, the rule. */
struct fhir_call {
    struct consent_api *api;
    struct id_principal who;
    const char *subject, *rule;
};

/* The principal's event for subject's trail, or -1. */
static int fhir_event(struct http_request *req, struct fhir_call *c, struct audit_event *ev,
                      const char *action, enum audit_decision decision, const char *rule)
{
    struct err e = {0};
    *ev = (struct audit_event){0};
    if (audit_event_from_principal(&c->who, ev, &e) != 0)
        return -1;
    audit_event_from_request(req, ev);
    ev->subject = c->subject;
    ev->action = action;
    ev->resource_type = "Consent";
    ev->decision = decision;
    ev->decided_by = rule;
    return 0;
}

/* A refusal about subject's consents: recorded on their trail when they exist, then 403. */
static int fhir_refuse(struct http_request *req, struct fhir_call *c, const char *action,
                       const char *detail)
{
    struct id_person person;
    struct err e = {0};
    int rc = c->subject != NULL ? id_person_get(c->api->store, c->subject, &person, req->arena, &e)
                                : ERR_NOTFOUND;
    if (rc != 0 && rc != ERR_NOTFOUND && rc != ERR_INVALID) {
        fhir_outcome(req, 503, "transient", "the store did not answer");
        return 0;
    }
    struct audit_event ev;
    if (rc != 0 || fhir_event(req, c, &ev, action, AUDIT_DENY, CONSENT_RULE_DEFAULT) != 0) {
        fhir_outcome(req, 403, "forbidden", "%s", detail);
        return 0;
    }
    ev.reason = detail;
    struct audit_held *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    j->fhir = 1;
    j->deny = detail;
    j->what = "a refused read of consents";
    return audit_answer_when_recorded(req, c->api->store, &ev, j);
}

/* The principal (401 as OperationOutcome), no other query parameter than allowed, and whose
 * consents it reads: a person their own, a delegate those of the person they act for when the
 * link gives manage_consents; the token's scope must grant perm on Consent in the patient
 * context (patient/Consent.rs, or the patient wildcard scope).
 * Returns 1 (go on), 0 (answer set or queued) or -1. */
static int fhir_begin(struct http_request *req, struct consent_api *api, const char *const *allowed,
                      unsigned perm, const char *action, struct fhir_call *c)
{
    c->api = api;
    struct err e = {0};
    int rc = id_principal_from_request(req, api->store, &c->who, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID) {
        http_set_header(req, "WWW-Authenticate",
                        rc == ERR_NOTFOUND ? "Bearer realm=\"cityos\""
                                           : "Bearer realm=\"cityos\", error=\"invalid_token\"");
        fhir_outcome(req, 401, "login",
                     rc == ERR_NOTFOUND ? "a bearer access token is required"
                                        : "the access token is invalid, expired or revoked");
        return 0;
    }
    if (rc != 0) {
        fhir_outcome(req, 503, "transient", "the token store did not answer");
        return 0;
    }
    const char *bad = NULL;
    int repeated = 0;
    if (!http_query_only(req, allowed, &bad, &repeated)) {
        fhir_outcome(req, 400, repeated ? "invalid" : "not-supported",
                     "%s search parameter \"%.40s\"", repeated ? "repeated" : "unsupported", bad);
        return 0;
    }
    const struct id_principal *p = &c->who;
    if (p->kind != ID_PRINCIPAL_PERSON && p->kind != ID_PRINCIPAL_DELEGATE) {
        fhir_outcome(req, 403, "forbidden",
                     "Consent resources are read by the citizen and their delegates");
        return 0;
    }
    c->subject = p->kind == ID_PRINCIPAL_DELEGATE ? p->acting_for : p->subject_id;
    c->rule = p->kind == ID_PRINCIPAL_DELEGATE ? CONSENT_RULE_DELEGATE : CONSENT_RULE_SELF;
    if (id_scope_allows(p->scope, ID_SCOPE_PATIENT, "Consent", perm, NULL, 0) == NULL) {
        http_set_header(req, "WWW-Authenticate",
                        "Bearer realm=\"cityos\", error=\"insufficient_scope\", "
                        "scope=\"patient/Consent.rs\"");
        return fhir_refuse(req, c, action,
                           "the token's scope does not cover Consent (patient/Consent.rs)");
    }
    if (p->kind == ID_PRINCIPAL_DELEGATE) {
        int may = consent_may_manage(api->store, p->subject_id, c->subject, clock_now_ms(), &e);
        if (may < 0) {
            fhir_outcome(req, 503, "transient", "the store did not answer");
            return 0;
        }
        if (!may)
            return fhir_refuse(req, c, action,
                               "reading this person's consents needs a family link with the "
                               "right manage_consents");
    }
    return 1;
}

/* The categories rec's purpose version covers, into *out: what the Consent resource shows as
 * nested deny provisions when the citizen granted fewer. Returns 0 or the store's error. */
static int purpose_cats_of(struct http_request *req, struct store *s,
                           const struct consent_record *rec, consent_cats *out)
{
    struct consent_purpose pu;
    struct err e = {0};
    int rc = consent_purpose_get(s, rec->purpose_code, rec->purpose_version, &pu, req->arena, &e);
    if (rc != 0) {
        log_error("consent %s: its purpose version: %s", rec->id, e.msg);
        return rc;
    }
    *out = pu.cats;
    return 0;
}

/* The resource or Bundle doc (a new reference, consumed), recorded then answered. */
static int fhir_send(struct http_request *req, struct fhir_call *c, json_t *doc,
                     struct audit_event *ev)
{
    if (doc == NULL || arena_defer(req->arena, jsonx_decref, doc) != 0) {
        json_decref(doc);
        return -1;
    }
    struct audit_held *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL || audit_held_json(req, j, doc, FHIR_JSON) != 0)
        return -1;
    j->fhir = 1;
    j->what = "the read of consents";
    return audit_answer_when_recorded(req, c->api->store, ev, j);
}

static int fhir_read(struct http_request *req, void *ctx)
{
    static const char *const allowed[] = {NULL};
    struct fhir_call c = {0};
    int ok = fhir_begin(req, ctx, allowed, ID_PERM_R, "read", &c);
    if (ok <= 0)
        return ok;
    struct consent_record rec;
    struct err e = {0};
    int rc = consent_get(c.api->store, c.subject, req->params[0], &rec, req->arena, &e);
    if (rc == ERR_NOTFOUND) {
        fhir_outcome(req, 404, "not-found", "no such Consent of this patient");
        return 0;
    }
    if (rc != 0) {
        fhir_outcome(req, 503, "transient", "the consents cannot be read; try again");
        return 0;
    }
    consent_cats covered = 0;
    if (purpose_cats_of(req, c.api->store, &rec, &covered) != 0) {
        fhir_outcome(req, 503, "transient", "the consents cannot be read; try again");
        return 0;
    }
    json_t *res = consent_fhir_resource(&rec, covered, &e);
    if (res == NULL)
        return -1;
    struct audit_event ev;
    char purpose[CONSENT_CODE_MAX + 24], ctext[CONSENT_CATS_TEXT_MAX];
    if (fhir_event(req, &c, &ev, "read", AUDIT_PERMIT, c.rule) != 0) {
        json_decref(res);
        return -1;
    }
    snprintf(purpose, sizeof purpose, "%s@%lld", rec.purpose_code, (long long)rec.purpose_version);
    ev.resource_id = rec.id;
    ev.category = consent_cats_format(rec.cats, ctext);
    ev.purpose = purpose;
    return fhir_send(req, &c, res, &ev);
}

static int fhir_search(struct http_request *req, void *ctx)
{
    static const char *const allowed[] = {"patient", NULL};
    struct fhir_call c = {0};
    int ok = fhir_begin(req, ctx, allowed, ID_PERM_S, "search", &c);
    if (ok <= 0)
        return ok;
    const char *pv = http_query(req, "patient");
    if (pv == NULL) {
        fhir_outcome(req, 400, "required", "the patient search parameter is required");
        return 0;
    }
    const char *patient = strncmp(pv, "Patient/", 8) == 0 ? pv + 8 : pv;
    if (!ids_valid(patient)) {
        fhir_outcome(req, 400, "value", "patient must be Patient/<regional ID> or the ID");
        return 0;
    }
    if (strcmp(patient, c.subject) != 0) {
        c.subject = patient; /* the refusal is a decision about that patient's data */
        return fhir_refuse(req, &c, "search", "this token reads only its own patient's consents");
    }
    struct consent_record *list;
    size_t n;
    struct err e = {0};
    if (consent_list_for_subject(c.api->store, c.subject, req->arena, &list, &n, &e) != 0) {
        fhir_outcome(req, 503, "transient", "the consents cannot be read; try again");
        return 0;
    }
    const char *base = c.api->issuer != NULL ? c.api->issuer : "";
    json_t *entries = json_array();
    char *self = arena_printf(req->arena, "%s" FHIR_CONSENT "?patient=Patient/%s", base, c.subject);
    json_t *bundle = self == NULL
                         ? NULL
                         : json_pack("{s:s, s:s, s:I, s:[{s:s, s:s}], s:o}", "resourceType",
                                     "Bundle", "type", "searchset", "total", (json_int_t)n, "link",
                                     "relation", "self", "url", self, "entry", entries);
    if (bundle == NULL) {
        if (self == NULL)
            json_decref(entries);
        return -1;
    }
    consent_cats covered = 0;
    for (size_t i = 0; i < n; i++) {
        /* consecutive consents often share a purpose version: read it once for them */
        int same = i > 0 && list[i].purpose_version == list[i - 1].purpose_version &&
                   strcmp(list[i].purpose_code, list[i - 1].purpose_code) == 0;
        if (!same && purpose_cats_of(req, c.api->store, &list[i], &covered) != 0) {
            json_decref(bundle);
            fhir_outcome(req, 503, "transient", "the consents cannot be read; try again");
            return 0;
        }
        json_t *res = consent_fhir_resource(&list[i], covered, &e);
        char *full = arena_printf(req->arena, "%s" FHIR_CONSENT "/%s", base, list[i].id);
        if (res == NULL || full == NULL ||
            json_array_append_new(entries, json_pack("{s:s, s:o, s:{s:s}}", "fullUrl", full,
                                                     "resource", res, "search", "mode", "match")) !=
                0) {
            json_decref(bundle);
            return -1;
        }
    }
    struct audit_event ev;
    if (fhir_event(req, &c, &ev, "search", AUDIT_PERMIT, c.rule) != 0) {
        json_decref(bundle);
        return -1;
    }
    return fhir_send(req, &c, bundle, &ev);
}

int consent_api_register(struct http_router *r, struct consent_api *api, struct store *s)
{
    api->store = s;
    struct {
        const char *method, *pattern;
        http_handler fn;
    } routes[] = {
        {"GET", "/api/v1/purposes", get_purposes},
        {"POST", "/api/v1/admin/purposes", post_purpose},
        {"GET", ME_CONSENTS, get_consents},
        {"POST", ME_CONSENTS, post_consent},
        {"GET", ME_CONSENTS "/{id}", get_consent},
        {"PATCH", ME_CONSENTS "/{id}", patch_consent},
        {"DELETE", ME_CONSENTS "/{id}", withdraw_consent},
        {"POST", ME_CONSENTS "/{id}/withdraw", withdraw_consent},
        {"GET", ME_CONSENTS "/{id}/receipts", get_receipts},
        {"GET", ME_INBOX, get_inbox},
        {"POST", ME_INBOX "/{id}/accept", accept_item},
        {"GET", FHIR_CONSENT, fhir_search},
        {"GET", FHIR_CONSENT "/{id}", fhir_read},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].fn, api);
        if (rc != 0)
            return rc;
    }
    return 0;
}
