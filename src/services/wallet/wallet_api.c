/* wallet_api.c - the wallet's endpoints (wallet_api.h): who may see and move which account
 * (the one access decision for a citizen's wallet, every access on their trail), strict bodies,
 * idempotency keys (replay, 422 on another request, 409 while in flight), the ledger writes
 * queued on the group commit, and the one place wallet statuses become HTTP answers. */
#include "services/wallet/wallet_api.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/actor.h"
#include "audit/held.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/index.h"
#include "http/problem.h"
#include "identity/org.h"
#include "identity/principal.h"
#include "identity/scope.h"
#include "services/wallet/internal.h"

#define BASE             "/api/v1/wallet"
#define RULE_CREDIT      "rule:wallet-credit" /* a credit to a citizen's account by another */
#define RULE_ISSUANCE    "rule:city-issuance" /* the city issues into a citizen's account */
#define RULE_ORG_STAFF   "rule:org-staff"     /* staff of the organisation owning the account */
#define RULE_CITY_ISSUER "rule:city-issuer"   /* the operator or a city administrator */
#define CALLER_MAX       (3 * IDS_LEN + 32)

/* ---- who acts on which account ---- */

struct access {
    struct wallet_api *api;
    struct id_principal who;
    char account[WALLET_ACCOUNT_MAX + 1];
    int kind;            /* 'p', 'o', 'c' */
    const char *owner;   /* the person or organisation id ("" for the city) */
    const char *subject; /* the citizen whose data it is ('p'), else NULL */
    const char *rule;    /* what permitted it */
    struct audit_event actor;
    char caller[CALLER_MAX];
};

static int is_city_issuer(struct http_request *req, struct store *s, const struct id_principal *p)
{
    if (p->kind == ID_PRINCIPAL_OPERATOR)
        return 1;
    if (p->kind != ID_PRINCIPAL_PRACTITIONER || p->role == NULL || p->org_id == NULL ||
        strcmp(p->role, "city_administrator") != 0)
        return 0;
    struct id_org org;
    struct err e = {0};
    return id_org_get(s, p->org_id, &org, req->arena, &e) == 0 && org.kind == ID_ORG_CITY_OFFICE;
}

static void caller_of(const struct id_principal *p, char out[CALLER_MAX])
{
    switch (p->kind) {
    case ID_PRINCIPAL_PERSON:
        snprintf(out, CALLER_MAX, "person:%s", p->subject_id);
        break;
    case ID_PRINCIPAL_DELEGATE:
        snprintf(out, CALLER_MAX, "delegate:%s:%s", p->subject_id, p->acting_for);
        break;
    case ID_PRINCIPAL_PRACTITIONER:
        snprintf(out, CALLER_MAX, "staff:%s@%s", p->subject_id, p->org_id);
        break;
    case ID_PRINCIPAL_OPERATOR:
        snprintf(out, CALLER_MAX, "operator");
        break;
    default:
        snprintf(out, CALLER_MAX, "client:%s", p->client_id);
        break;
    }
}

static int person_exists(struct store *s, const char *id)
{
    int64_t one = 0;
    struct store_value v[] = {STORE_TEXT_V(id)};
    return wallet__q_int(s, "SELECT 1 FROM person WHERE id = ?", v, 1, &one, NULL);
}

/* A refusal about a citizen's wallet: on their trail, then 403. */
static int refuse_recorded(struct http_request *req, struct access *c, const char *action,
                           const char *resource_type, const char *rule, const char *detail)
{
    struct audit_held *h = arena_zalloc(req->arena, sizeof *h);
    if (h == NULL)
        return -1;
    struct audit_event ev = c->actor;
    ev.subject = c->subject;
    ev.action = action;
    ev.resource_type = resource_type;
    ev.category = "payments";
    ev.decision = AUDIT_DENY;
    ev.decided_by = rule;
    ev.reason = detail;
    h->deny = detail;
    h->what = "a refused wallet access";
    return audit_answer_when_recorded(req, c->api->store, &ev, h);
}

/* Resolves the account named by text for the request's principal and decides. write: moving
 * money out of it (or changing mandates). Returns 1 (go on), 0 (answered) or -1. */
static int decide(struct http_request *req, struct wallet_api *api, const char *text, int write,
                  const char *resource_type, struct access *c)
{
    memset(c, 0, sizeof *c);
    c->api = api;
    int ok = id_principal_require(req, api->store, &c->who);
    if (ok <= 0)
        return ok;
    const struct id_principal *p = &c->who;
    struct err e = {0};
    if (audit_event_from_principal(p, &c->actor, &e) != 0) {
        http_problem(req, "unavailable", "the actor cannot be recorded");
        return 0;
    }
    audit_event_from_request(req, &c->actor);
    c->actor.source_addr = c->actor.source_addr != NULL ? c->actor.source_addr : WALLET_SOURCE;
    caller_of(p, c->caller);
    if (text == NULL || strcmp(text, "me") == 0) {
        if (p->kind == ID_PRINCIPAL_PERSON)
            snprintf(c->account, sizeof c->account, "person:%s", p->subject_id);
        else if (p->kind == ID_PRINCIPAL_DELEGATE)
            snprintf(c->account, sizeof c->account, "person:%s", p->acting_for);
        else if (p->kind == ID_PRINCIPAL_PRACTITIONER && text != NULL)
            snprintf(c->account, sizeof c->account, "org:%s", p->org_id);
        else {
            http_problem(req, "forbidden", "this principal has no wallet of its own here");
            return 0;
        }
    } else if (strlen(text) > WALLET_ACCOUNT_MAX || !wallet_account_valid(text)) {
        http_problem(req, "not-found", "account: no such account");
        return 0;
    } else {
        snprintf(c->account, sizeof c->account, "%s", text);
    }
    c->kind = wallet__account_owner(c->account, &c->owner);
    /* the token's scopes: SMART v2 on "Account" (patient/ for one's own or the person acted
     * for, user/ for staff); the operator has none */
    if (p->kind != ID_PRINCIPAL_OPERATOR) {
        enum id_scope_context ctx =
            p->kind == ID_PRINCIPAL_PERSON || p->kind == ID_PRINCIPAL_DELEGATE ? ID_SCOPE_PATIENT
                                                                               : ID_SCOPE_USER;
        unsigned perm = write ? ID_PERM_C : ID_PERM_R;
        if (p->scope == NULL || id_scope_allows(p->scope, ctx, "Account", perm, NULL, 0) == NULL) {
            const char *need = ctx == ID_SCOPE_PATIENT
                                   ? (write ? "patient/Account.c" : "patient/Account.r")
                                   : (write ? "user/Account.c" : "user/Account.r");
            http_set_header(req, "WWW-Authenticate",
                            arena_printf(req->arena,
                                         "Bearer realm=\"cityos\", error=\"insufficient_scope\", "
                                         "scope=\"%s\"",
                                         need));
            http_problem(req, "forbidden", "the token's scope does not cover this (%s)", need);
            return 0;
        }
    }
    if (c->kind == 'o') {
        if (p->kind == ID_PRINCIPAL_PRACTITIONER && p->org_id != NULL &&
            strcmp(p->org_id, c->owner) == 0) {
            c->rule = RULE_ORG_STAFF;
            return 1;
        }
        if (p->kind == ID_PRINCIPAL_OPERATOR && !write) {
            c->rule = RULE_CITY_ISSUER;
            return 1;
        }
        http_problem(req, "forbidden", "only the organisation's staff use its account");
        return 0;
    }
    if (c->kind == 'c') {
        if (is_city_issuer(req, api->store, p)) {
            c->rule = RULE_CITY_ISSUER;
            return 1;
        }
        http_problem(req, "forbidden", "only the city's administrators use the city's account");
        return 0;
    }
    /* a citizen's wallet: personal data, the one decision */
    int exists = person_exists(api->store, c->owner);
    if (exists < 0) {
        http_problem(req, "unavailable", "the store is unavailable; try again");
        return 0;
    }
    if (exists == 0) {
        http_problem(req, "not-found", "account: no such account");
        return 0;
    }
    c->subject = c->owner;
    struct consent_index *ix = consent_index_global();
    if (ix == NULL) {
        http_problem(req, "unavailable", "the consent index is not loaded");
        return 0;
    }
    struct consent_query q = {0};
    consent_query_from_principal(&q, p);
    q.subject = c->subject;
    q.category = CONSENT_CAT_PAYMENTS;
    q.action = write ? CONSENT_WRITE : CONSENT_READ;
    q.now_ms = clock_now_ms();
    struct consent_decision d;
    consent_decide(ix, &q, &d);
    int permit = d.effect == CONSENT_PERMIT;
    /* money leaves a citizen's account only by the citizen or a family member whose link
     * gives that right; a consent to an organisation lets it read, never pay */
    if (permit && write && strcmp(d.decided_by, CONSENT_RULE_SELF) != 0 &&
        strcmp(d.decided_by, CONSENT_RULE_DELEGATE) != 0 &&
        strcmp(d.decided_by, CONSENT_RULE_GUARDIAN) != 0)
        permit = 0;
    if (!permit)
        return refuse_recorded(req, c, write ? "create" : "read", resource_type,
                               d.effect == CONSENT_PERMIT ? CONSENT_RULE_DEFAULT : d.decided_by,
                               "this wallet is not yours to use");
    c->rule = arena_strdup(req->arena, d.decided_by);
    if (c->rule == NULL)
        return -1;
    return 1;
}

/* Answers v (consumed): for a citizen's account once the read is on their trail. */
static int answer_read(struct http_request *req, struct access *c, const char *resource_type,
                       json_t *v)
{
    if (v == NULL)
        return -1;
    if (c->subject == NULL) {
        http_set_header(req, "Cache-Control", "no-store");
        http_respond_json(req, 200, v);
        return 0;
    }
    struct audit_held *h = arena_zalloc(req->arena, sizeof *h);
    int bad = h == NULL || audit_held_json(req, h, v, "application/json") != 0;
    json_decref(v);
    if (bad)
        return -1;
    h->what = "the read of a wallet";
    struct audit_event ev = c->actor;
    ev.subject = c->subject;
    ev.action = "read";
    ev.resource_type = resource_type;
    ev.category = "payments";
    ev.decision = AUDIT_PERMIT;
    ev.decided_by = c->rule;
    return audit_answer_when_recorded(req, c->api->store, &ev, h);
}

/* ---- request bodies ---- */

static int read_body(struct http_request *req, int may_be_empty, json_t **out)
{
    *out = NULL;
    if (req->body_len > WALLET_BODY_MAX) {
        http_problem(req, "body-too-large", "the body may have at most %d bytes", WALLET_BODY_MAX);
        return 0;
    }
    if (may_be_empty && req->body_len == 0)
        return 1;
    if (!http_content_type_is(req, "application/json")) {
        http_problem(req, "unsupported-media-type", "send the body as application/json");
        return 0;
    }
    struct err e = {0};
    json_t *b = jsonx_parse(req->body != NULL ? req->body : "", req->body_len, &e);
    if (b == NULL) {
        if (e.code == ERR_NOMEM)
            http_problem(req, "unavailable", "the server is short of memory; try again");
        else
            http_problem(req, "malformed-json", "%s", e.msg);
        return 0;
    }
    if (arena_defer(req->arena, jsonx_decref, b) != 0) {
        json_decref(b);
        return -1;
    }
    *out = b;
    return 1;
}

/* The one place a wallet status becomes an HTTP answer. */
static void answer_error(struct http_request *req, int rc, const struct err *e)
{
    const char *msg = e != NULL && e->msg[0] != '\0' ? e->msg : err_name(rc);
    switch (rc) {
    case ERR_INVALID:
    case ERR_TOOBIG:
        http_problem(req, "validation-failed", "%s", msg);
        return;
    case ERR_NOTFOUND:
        http_problem(req, "not-found", "%s", msg);
        return;
    case ERR_CONFLICT:
        http_problem(req, "conflict", "%s", msg);
        return;
    default:
        log_warn("wallet: a write failed: %s", msg);
        http_problem(req, "unavailable", "the wallet could not be changed; try again");
        return;
    }
}

/* ---- ledger writes with an idempotency key ---- */

struct pending {
    struct wallet_op op;
    struct access c;
    struct audit_event evs[2];
    char hash[WALLET_HASH_HEX + 1];
    const char *key;
    char payee_subject[IDS_LEN + 1];
    int status;
    struct err err;
    struct http_request *req;
};

static void op_done(int status, const struct err *e, void *ctx)
{
    struct pending *p = ctx;
    p->status = status;
    p->err = p->op.err.code != 0 ? p->op.err : (e != NULL ? *e : (struct err){0});
    wallet__inflight_release(p->op.idem_caller, p->key);
    http_request_resume(p->req);
}

static int respond_text(struct http_request *req, int status, const char *text, int replayed)
{
    char *body = arena_strdup(req->arena, text);
    if (body == NULL)
        return -1;
    if (replayed)
        http_set_header(req, "Idempotent-Replayed", "true");
    http_set_header(req, "Cache-Control", "no-store");
    http_respond(req, status, "application/json", body, strlen(body));
    return 0;
}

static int op_answer(struct http_request *req, void *ctx)
{
    struct pending *p = ctx;
    int rc = 0;
    if (p->status != 0)
        answer_error(req, p->status, &p->err);
    else
        rc = respond_text(req, p->op.status != 0 ? p->op.status : 201, p->op.response,
                          p->op.replayed);
    wallet_op_release(&p->op);
    return rc;
}

static void release_op(void *ctx)
{
    wallet_op_release(ctx);
}

/* The key, its earlier answer (replayed, or 422 for another request), the claim (409 while in
 * flight), then the write. The op's fields and audits are set by the caller. */
static int start_op(struct http_request *req, struct pending *p, const char *const *fields)
{
    const char *key = http_header(req, "Idempotency-Key");
    if (key == NULL) {
        http_problem(req, "invalid-parameter",
                     "the Idempotency-Key header is required (a unique value per request)");
        return 0;
    }
    if (!wallet_json_key_valid(key)) {
        http_problem(req, "invalid-parameter", "Idempotency-Key: 1..%d printable ASCII characters",
                     WALLET_KEY_MAX);
        return 0;
    }
    p->key = key;
    wallet_json_request_hash(fields, p->hash);
    p->op.idem_caller = arena_strdup(req->arena, p->c.caller);
    p->op.idem_key = key;
    p->op.idem_hash = p->hash;
    if (p->op.idem_caller == NULL || arena_defer(req->arena, release_op, &p->op) != 0)
        return -1;
    struct wallet_idem_row row;
    struct err e = {0};
    int found = wallet__idem_get(p->c.api->store, p->op.idem_caller, key, req->arena, &row, &e);
    if (found < 0) {
        http_problem(req, "unavailable", "the wallet cannot be read; try again");
        return 0;
    }
    if (found) {
        if (strcmp(row.hash, p->hash) != 0) {
            http_problem(req, "validation-failed",
                         "Idempotency-Key: already used for a different request");
            return 0;
        }
        return respond_text(req, row.status, row.response, 1);
    }
    int claim = wallet__inflight_claim(p->op.idem_caller, key);
    if (claim == 0) {
        http_set_header(req, "Retry-After", "1");
        http_problem(req, "conflict", "Idempotency-Key: a request with this key is in flight");
        return 0;
    }
    if (claim < 0) {
        http_set_header(req, "Retry-After", "1");
        http_problem(req, "unavailable", "too many payments in flight; try again");
        return 0;
    }
    p->op.now_ms = clock_now_ms();
    p->req = req;
    http_request_suspend(req, op_answer, p);
    if (store_write_async(p->c.api->store, wallet_op_fn, &p->op, op_done, p) != 0) {
        wallet__inflight_release(p->op.idem_caller, key);
        p->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

/* The actor's entry on the payer's trail (a citizen's account), and a credit's entry on the
 * payee's (when the payee is a citizen other than the actor's subject). */
static void add_audits(struct pending *p, const char *payer_subject, const char *payer_rule,
                       const char *payee_account, const char *payee_rule)
{
    size_t n = 0;
    if (payer_subject != NULL) {
        struct audit_event ev = p->c.actor;
        ev.subject = payer_subject;
        ev.action = "create";
        ev.resource_type = "WalletTransfer";
        ev.category = "payments";
        ev.decision = AUDIT_PERMIT;
        ev.decided_by = payer_rule;
        p->evs[n++] = ev;
    }
    const char *id = NULL;
    if (payee_account != NULL && wallet__account_owner(payee_account, &id) == 'p' &&
        (payer_subject == NULL || strcmp(id, payer_subject) != 0)) {
        snprintf(p->payee_subject, sizeof p->payee_subject, "%s", id);
        struct audit_event ev = p->c.actor;
        ev.subject = p->payee_subject;
        ev.action = "update";
        ev.resource_type = "WalletTransfer";
        ev.category = "payments";
        ev.decision = AUDIT_PERMIT;
        ev.decided_by = payee_rule;
        p->evs[n++] = ev;
    }
    p->op.audits = p->evs;
    p->op.naudits = n;
}

static const char *memo_field(struct http_request *req, const char *memo)
{
    return memo != NULL ? arena_printf(req->arena, "m%s", memo) : "n";
}

static const char *int_field(struct http_request *req, int64_t v)
{
    return arena_printf(req->arena, "%" PRId64, v);
}

static int post_transfer(struct http_request *req, void *ctx)
{
    struct pending *p = arena_zalloc(req->arena, sizeof *p);
    if (p == NULL)
        return -1;
    int ok = decide(req, ctx, req->params[0], 1, "WalletTransfer", &p->c);
    json_t *body = NULL;
    if (ok > 0)
        ok = read_body(req, 0, &body);
    if (ok <= 0)
        return ok;
    struct wallet_req_transfer in;
    struct err e = {0};
    if (wallet_json_transfer(body, &in, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    if (strcmp(in.to, p->c.account) == 0) {
        http_problem(req, "validation-failed", "to: the same account as the payer");
        return 0;
    }
    p->op.kind = WALLET_TRANSFER;
    p->op.from = p->c.account;
    p->op.to = arena_strdup(req->arena, in.to);
    p->op.amount = in.amount;
    p->op.memo = in.memo != NULL ? arena_strdup(req->arena, in.memo) : NULL;
    p->op.by = p->c.caller;
    add_audits(p, p->c.subject, p->c.rule, p->op.to, RULE_CREDIT);
    const char *fields[] = {
        "transfer", p->c.account, p->op.to, int_field(req, in.amount), memo_field(req, in.memo),
        NULL};
    for (size_t i = 0; i < 5; i++)
        if (fields[i] == NULL)
            return -1;
    return start_op(req, p, fields);
}

static int post_refund(struct http_request *req, void *ctx)
{
    struct pending *p = arena_zalloc(req->arena, sizeof *p);
    if (p == NULL)
        return -1;
    int ok = decide(req, ctx, req->params[0], 1, "WalletTransfer", &p->c);
    json_t *body = NULL;
    if (ok > 0)
        ok = read_body(req, 0, &body);
    if (ok <= 0)
        return ok;
    struct wallet_req_refund in;
    struct err e = {0};
    if (wallet_json_refund(body, &in, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    /* the payee of the refund is the original's payer: read it for its trail entry (the write
     * checks everything again) */
    struct wallet_transfer_row orig;
    int rc = wallet_transfer_get(p->c.api->store, in.transfer, req->arena, &orig, &e);
    if (rc == ERR_NOTFOUND || (rc == 0 && strcmp(orig.to, p->c.account) != 0)) {
        http_problem(req, "not-found", "transfer: no such transfer to this account");
        return 0;
    }
    if (rc != 0) {
        http_problem(req, "unavailable", "the wallet cannot be read; try again");
        return 0;
    }
    p->op.kind = WALLET_REFUND;
    p->op.from = p->c.account;
    p->op.refund_of = arena_strdup(req->arena, in.transfer);
    p->op.amount = in.amount;
    p->op.memo = in.memo != NULL ? arena_strdup(req->arena, in.memo) : NULL;
    p->op.by = p->c.caller;
    add_audits(p, p->c.subject, p->c.rule, orig.from, RULE_CREDIT);
    const char *fields[] = {"refund",
                            p->c.account,
                            p->op.refund_of,
                            int_field(req, in.amount),
                            memo_field(req, in.memo),
                            NULL};
    for (size_t i = 0; i < 5; i++)
        if (fields[i] == NULL)
            return -1;
    return start_op(req, p, fields);
}

static int post_issuance(struct http_request *req, void *ctx)
{
    struct wallet_api *api = ctx;
    struct pending *p = arena_zalloc(req->arena, sizeof *p);
    if (p == NULL)
        return -1;
    p->c.api = api;
    int ok = id_principal_require(req, api->store, &p->c.who);
    if (ok <= 0)
        return ok;
    if (!is_city_issuer(req, api->store, &p->c.who)) {
        http_problem(req, "forbidden",
                     "only the city issues money (a city administrator of the city office)");
        return 0;
    }
    struct err e = {0};
    if (audit_event_from_principal(&p->c.who, &p->c.actor, &e) != 0) {
        http_problem(req, "unavailable", "the actor cannot be recorded");
        return 0;
    }
    audit_event_from_request(req, &p->c.actor);
    caller_of(&p->c.who, p->c.caller);
    json_t *body = NULL;
    if ((ok = read_body(req, 0, &body)) <= 0)
        return ok;
    struct wallet_req_issue in;
    if (wallet_json_issue(body, clock_now_ms(), &in, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    const char *id = NULL;
    if (wallet__account_owner(in.to, &id) == 'p') {
        int exists = person_exists(api->store, id);
        if (exists <= 0) {
            if (exists < 0)
                http_problem(req, "unavailable", "the store is unavailable; try again");
            else
                http_problem(req, "not-found", "account: no such account");
            return 0;
        }
    }
    p->op.kind = WALLET_ISSUE;
    p->op.to = arena_strdup(req->arena, in.to);
    p->op.amount = in.amount;
    p->op.expires_ms = in.expires_ms;
    p->op.memo = in.memo != NULL ? arena_strdup(req->arena, in.memo) : NULL;
    p->op.by = p->c.caller;
    add_audits(p, NULL, NULL, p->op.to, RULE_ISSUANCE);
    const char *fields[] = {"issue",
                            p->op.to,
                            int_field(req, in.amount),
                            int_field(req, in.expires_ms),
                            memo_field(req, in.memo),
                            NULL};
    for (size_t i = 0; i < 5; i++)
        if (fields[i] == NULL)
            return -1;
    return start_op(req, p, fields);
}

static int post_pay_invoice(struct http_request *req, void *ctx)
{
    struct pending *p = arena_zalloc(req->arena, sizeof *p);
    if (p == NULL)
        return -1;
    int ok = decide(req, ctx, NULL, 1, "WalletTransfer", &p->c);
    json_t *body = NULL;
    if (ok > 0)
        ok = read_body(req, 1, &body);
    if (ok <= 0)
        return ok;
    struct err e = {0};
    if (wallet_json_empty(body, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    struct wallet_invoice inv;
    int rc =
        wallet_invoice_get(p->c.api->store, p->c.subject, req->params[0], req->arena, &inv, &e);
    if (rc != 0) {
        if (rc == ERR_NOTFOUND)
            http_problem(req, "not-found", "invoice: no such invoice");
        else
            http_problem(req, "unavailable", "the wallet cannot be read; try again");
        return 0;
    }
    char *ref = arena_printf(req->arena, "Invoice/%s", inv.id);
    char *dkey = arena_printf(req->arena, "wallet.paid.%s", inv.id);
    char *ja = arena_printf(req->arena, "%.300s の代金 %" PRId64 "円 をお支払いしました。",
                            inv.description, inv.amount);
    char *en =
        arena_printf(req->arena, "Paid %" PRId64 " yen for %.300s.", inv.amount, inv.description);
    char *invoice = arena_strdup(req->arena, inv.id);
    if (ref == NULL || dkey == NULL || ja == NULL || en == NULL || invoice == NULL)
        return -1;
    p->op.kind = WALLET_PAYMENT;
    p->op.from = p->c.account;
    p->op.invoice = invoice;
    p->op.by = p->c.caller;
    p->op.note_subject = p->c.subject;
    p->op.note_ref = ref;
    p->op.note_ja = ja;
    p->op.note_en = en;
    p->op.note_dedupe = dkey;
    add_audits(p, p->c.subject, p->c.rule, NULL, NULL);
    const char *fields[] = {"pay", p->c.account, invoice, NULL};
    return start_op(req, p, fields);
}

/* ---- reads ---- */

static json_t *lots_json(const struct wallet_account_view *v)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < v->nlots; i++) {
        char t[40];
        const struct wallet_lot *l = &v->lots[i];
        json_t *o = json_pack(
            "{s:s, s:I, s:s?}", "issue", l->issue, "remaining", (json_int_t)l->remaining, "expires",
            l->expires_ms == WALLET_NO_EXPIRY ? NULL : clock_format_ms(l->expires_ms, t, sizeof t));
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int get_account(struct http_request *req, void *ctx)
{
    static const char *const none[] = {NULL};
    if (!http_query_only_or_problem(req, none))
        return 0;
    struct access c;
    int ok = decide(req, ctx, req->params[0], 0, "WalletAccount", &c);
    if (ok <= 0)
        return ok;
    struct wallet_account_view v;
    struct err e = {0};
    if (wallet_account_get(c.api->store, c.account, clock_now_ms(), req->arena, &v, &e) != 0) {
        http_problem(req, "unavailable", "the wallet cannot be read; try again");
        return 0;
    }
    json_t *lots = lots_json(&v);
    if (lots == NULL)
        return -1;
    return answer_read(req, &c, "WalletAccount",
                       json_pack("{s:s, s:I, s:I, s:s, s:o}", "account", c.account, "balance",
                                 (json_int_t)v.balance, "available", (json_int_t)v.available,
                                 "currency", "JPY", "lots", lots));
}

static int parse_int_param(struct http_request *req, const char *name, int64_t lo, int64_t hi,
                           int64_t dflt, int64_t *out)
{
    const char *t = http_query(req, name);
    *out = dflt;
    if (t == NULL)
        return 1;
    char *end = NULL;
    long long v = strtoll(t, &end, 10);
    if (t[0] == '\0' || t[0] == '-' || t[0] == '+' || *end != '\0' || v < lo || v > hi ||
        strlen(t) > 19) {
        http_problem(req, "invalid-parameter", "%s: an integer %lld..%lld", name, (long long)lo,
                     (long long)hi);
        return 0;
    }
    *out = v;
    return 1;
}

static int get_statement(struct http_request *req, void *ctx)
{
    static const char *const allowed[] = {"limit", "before", NULL};
    if (!http_query_only_or_problem(req, allowed))
        return 0;
    int64_t limit = 0, before = 0;
    if (!parse_int_param(req, "limit", 1, WALLET_PAGE_MAX, 50, &limit) ||
        !parse_int_param(req, "before", 1, INT64_MAX, 0, &before))
        return 0;
    struct access c;
    int ok = decide(req, ctx, req->params[0], 0, "WalletStatement", &c);
    if (ok <= 0)
        return ok;
    struct wallet_line *lines;
    size_t n;
    int64_t next = 0;
    struct err e = {0};
    if (wallet_statement(c.api->store, c.account, before, (size_t)limit, req->arena, &lines, &n,
                         &next, &e) != 0) {
        http_problem(req, "unavailable", "the wallet cannot be read; try again");
        return 0;
    }
    json_t *items = json_array();
    for (size_t i = 0; items != NULL && i < n; i++) {
        char t[40];
        const struct wallet_line *l = &lines[i];
        json_t *o = json_pack("{s:I, s:s, s:s?, s:s?, s:I, s:I, s:s, s:s?, s:s?, s:s?}", "seq",
                              (json_int_t)l->seq, "transfer", l->transfer, "kind", l->kind,
                              "counterparty", l->counterparty, "amount", (json_int_t)l->amount,
                              "balance_after", (json_int_t)l->balance_after, "created",
                              clock_format_ms(l->created_ms, t, sizeof t), "memo", l->memo,
                              "refund_of", l->refund_of, "invoice", l->invoice);
        if (o == NULL || json_array_append_new(items, o) != 0) {
            json_decref(items);
            items = NULL;
        }
    }
    if (items == NULL)
        return -1;
    json_t *out = json_pack("{s:s, s:o}", "account", c.account, "items", items);
    if (out != NULL && next > 0) {
        char *link = arena_printf(req->arena, BASE "/accounts/%s/statement?limit=%lld&before=%lld",
                                  req->params[0], (long long)limit, (long long)next);
        if (link == NULL || json_object_set_new(out, "next", json_string(link)) != 0) {
            json_decref(out);
            return -1;
        }
    }
    return answer_read(req, &c, "WalletStatement", out);
}

/* ---- the city's administration ---- */

static int city_only(struct http_request *req, struct wallet_api *api, struct id_principal *who)
{
    int ok = id_principal_require(req, api->store, who);
    if (ok <= 0)
        return ok;
    if (!is_city_issuer(req, api->store, who)) {
        http_problem(req, "forbidden", "only the city's administrators run this");
        return 0;
    }
    return 1;
}

static int post_expire(struct http_request *req, void *ctx)
{
    struct wallet_api *api = ctx;
    struct id_principal who;
    int ok = city_only(req, api, &who);
    json_t *body = NULL;
    if (ok > 0)
        ok = read_body(req, 1, &body);
    if (ok <= 0)
        return ok;
    struct err e = {0};
    if (wallet_json_empty(body, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    /* administrator traffic is rare: wait for the sweep here (as publishing a purpose does) */
    int64_t total = 0, moved = 0;
    int rounds = 0;
    do {
        if (wallet_expire_due(api->store, clock_now_ms(), &moved, &e) != 0) {
            http_problem(req, "unavailable", "the sweep failed; try again");
            return 0;
        }
        total += moved;
    } while (moved > 0 && ++rounds < 100);
    http_respond_json(req, 200, json_pack("{s:I}", "expired", (json_int_t)total));
    return 0;
}

static int get_verify(struct http_request *req, void *ctx)
{
    struct wallet_api *api = ctx;
    static const char *const none[] = {NULL};
    if (!http_query_only_or_problem(req, none))
        return 0;
    struct id_principal who;
    int ok = city_only(req, api, &who);
    if (ok <= 0)
        return ok;
    struct wallet_verify_report r;
    struct err e = {0};
    if (wallet_verify(api->store, &r, &e) != 0) {
        http_problem(req, "unavailable", "the ledger cannot be read; try again");
        return 0;
    }
    json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "ok", r.ok, "issued",
                          (json_int_t)r.issued, "expired", (json_int_t)r.expired, "balances",
                          (json_int_t)r.balances, "accounts", (json_int_t)r.accounts, "transfers",
                          (json_int_t)r.transfers, "entries", (json_int_t)r.entries, "lots",
                          (json_int_t)r.lots);
    if (o != NULL && !r.ok)
        json_object_set_new(o, "detail", json_string(r.detail));
    http_respond_json(req, 200, o);
    return 0;
}

/* ---- mandates ---- */

static json_t *mandate_json(const struct wallet_mandate *m)
{
    char c[40], r[40];
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s?}", "id", m->id, "org", m->org,
                     "purpose", m->purpose, "limit", (json_int_t)m->limit, "used_this_month",
                     (json_int_t)m->used, "status", m->revoked_ms != 0 ? "revoked" : "active",
                     "created", clock_format_ms(m->created_ms, c, sizeof c), "revoked",
                     m->revoked_ms != 0 ? clock_format_ms(m->revoked_ms, r, sizeof r) : NULL);
}

static int get_mandates(struct http_request *req, void *ctx)
{
    static const char *const none[] = {NULL};
    if (!http_query_only_or_problem(req, none))
        return 0;
    struct access c;
    int ok = decide(req, ctx, NULL, 0, "WalletMandate", &c);
    if (ok <= 0)
        return ok;
    struct wallet_mandate *list;
    size_t n;
    struct err e = {0};
    if (wallet_mandate_list(c.api->store, c.subject, clock_now_ms(), req->arena, &list, &n, &e) !=
        0) {
        http_problem(req, "unavailable", "the mandates cannot be read; try again");
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, mandate_json(&list[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    if (arr == NULL)
        return -1;
    return answer_read(req, &c, "WalletMandate",
                       json_pack("{s:s, s:o}", "subject", c.subject, "mandates", arr));
}

struct mandate_pending {
    struct wallet_mandate_write w;
    struct access c;
    struct audit_event ev;
    int status;
    struct http_request *req;
};

static void mandate_done(int status, const struct err *e, void *ctx)
{
    struct mandate_pending *p = ctx;
    p->status = status;
    if (status != 0 && p->w.err.code == 0 && e != NULL)
        p->w.err = *e;
    http_request_resume(p->req);
}

static int mandate_answer(struct http_request *req, void *ctx)
{
    struct mandate_pending *p = ctx;
    if (p->status != 0) {
        answer_error(req, p->status, &p->w.err);
        return 0;
    }
    if (!p->w.revoke) {
        char *loc = arena_printf(req->arena, BASE "/mandates/%s", p->w.m.id);
        if (loc == NULL)
            return -1;
        http_set_header(req, "Location", loc);
    }
    http_respond_json(req, p->w.revoke ? 200 : 201, mandate_json(&p->w.m));
    return 0;
}

static int mandate_write(struct http_request *req, struct wallet_api *api, int revoke)
{
    struct mandate_pending *p = arena_zalloc(req->arena, sizeof *p);
    if (p == NULL)
        return -1;
    int ok = decide(req, api, NULL, 1, "WalletMandate", &p->c);
    json_t *body = NULL;
    if (ok > 0)
        ok = read_body(req, revoke, &body);
    if (ok <= 0)
        return ok;
    struct err e = {0};
    struct wallet_req_mandate in = {0};
    if ((revoke ? wallet_json_empty(body, &e) : wallet_json_mandate(body, &in, &e)) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    p->w.revoke = revoke;
    p->w.person = p->c.subject;
    p->w.org = in.org != NULL ? arena_strdup(req->arena, in.org) : NULL;
    p->w.purpose = in.purpose != NULL ? arena_strdup(req->arena, in.purpose) : NULL;
    p->w.limit = in.limit;
    p->w.id = revoke ? req->params[0] : NULL;
    p->w.now_ms = clock_now_ms();
    p->ev = p->c.actor;
    p->ev.subject = p->c.subject;
    p->ev.action = revoke ? "delete" : "create";
    p->ev.resource_type = "WalletMandate";
    p->ev.category = "payments";
    p->ev.purpose = p->w.purpose;
    p->ev.decision = AUDIT_PERMIT;
    p->ev.decided_by = p->c.rule;
    p->w.audit = &p->ev;
    p->req = req;
    http_request_suspend(req, mandate_answer, p);
    if (store_write_async(api->store, wallet_mandate_write_fn, &p->w, mandate_done, p) != 0) {
        p->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

static int post_mandate(struct http_request *req, void *ctx)
{
    return mandate_write(req, ctx, 0);
}

static int delete_mandate(struct http_request *req, void *ctx)
{
    return mandate_write(req, ctx, 1);
}

/* ---- invoices ---- */

static int get_invoices(struct http_request *req, void *ctx)
{
    static const char *const none[] = {NULL};
    if (!http_query_only_or_problem(req, none))
        return 0;
    struct access c;
    int ok = decide(req, ctx, NULL, 0, "WalletInvoice", &c);
    if (ok <= 0)
        return ok;
    struct wallet_invoice *list;
    size_t n;
    struct err e = {0};
    if (wallet_invoice_list(c.api->store, c.subject, req->arena, &list, &n, &e) != 0) {
        http_problem(req, "unavailable", "the invoices cannot be read; try again");
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        char t[40], pt[40];
        const struct wallet_invoice *v = &list[i];
        json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?}", "id", v->id,
                              "issuer", v->issuer, "amount", (json_int_t)v->amount, "currency",
                              "JPY", "purpose", v->purpose, "description", v->description, "status",
                              v->status, "transfer", v->transfer, "mandate", v->mandate, "paid",
                              v->paid_ms != 0 ? clock_format_ms(v->paid_ms, pt, sizeof pt) : NULL);
        if (o != NULL)
            json_object_set_new(o, "created",
                                json_string(clock_format_ms(v->created_ms, t, sizeof t)));
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (arr == NULL)
        return -1;
    return answer_read(req, &c, "WalletInvoice",
                       json_pack("{s:s, s:o}", "subject", c.subject, "invoices", arr));
}

int wallet_api_register(struct http_router *r, struct wallet_api *api, struct store *s)
{
    api->store = s;
    int rc = http_router_add(r, "GET", BASE "/accounts/{account}", get_account, api);
    if (rc == 0)
        rc = http_router_add(r, "GET", BASE "/accounts/{account}/statement", get_statement, api);
    if (rc == 0)
        rc = http_router_add(r, "POST", BASE "/accounts/{account}/transfers", post_transfer, api);
    if (rc == 0)
        rc = http_router_add(r, "POST", BASE "/accounts/{account}/refunds", post_refund, api);
    if (rc == 0)
        rc = http_router_add(r, "POST", BASE "/issuances", post_issuance, api);
    if (rc == 0)
        rc = http_router_add(r, "POST", BASE "/expire", post_expire, api);
    if (rc == 0)
        rc = http_router_add(r, "GET", BASE "/verify", get_verify, api);
    if (rc == 0)
        rc = http_router_add(r, "GET", BASE "/mandates", get_mandates, api);
    if (rc == 0)
        rc = http_router_add(r, "POST", BASE "/mandates", post_mandate, api);
    if (rc == 0)
        rc = http_router_add(r, "DELETE", BASE "/mandates/{id}", delete_mandate, api);
    if (rc == 0)
        rc = http_router_add(r, "GET", BASE "/invoices", get_invoices, api);
    if (rc == 0)
        rc = http_router_add(r, "POST", BASE "/invoices/{id}/pay", post_pay_invoice, api);
    return rc;
}
