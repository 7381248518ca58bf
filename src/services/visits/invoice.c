/* invoice.c - every charge of the city's services as a FHIR Invoice (visits.h): issued once per
 * idempotency key with its audit entry, inbox notice and "invoice.issued" event in one
 * transaction, and set "balanced" when the wallet reports it paid ("invoice.paid"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/actor.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "base/utf8.h"
#include "consent/consent.h"
#include "events/event.h"
#include "fhir/validate.h"
#include "services/visits/internal.h"

static int key_valid(const char *k)
{
    size_t n = k != NULL ? strlen(k) : 0;
    if (n == 0 || n > VISITS_KEY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x21 || k[i] > 0x7e)
            return 0;
    return 1;
}

static int purpose_valid(const char *p)
{
    return p != NULL && (strcmp(p, "clinic-fees") == 0 || strcmp(p, "pharmacy-fees") == 0);
}

static json_t *render(const struct visits_invoice_new *in, const char *id)
{
    char date[40], subj[IDS_LEN + 16], org[IDS_LEN + 16];
    clock_format_ms(in->now_ms, date, sizeof date);
    snprintf(subj, sizeof subj, "Patient/%s", in->subject);
    snprintf(org, sizeof org, "Organization/%s", in->issuer_org);
    return json_pack("{s:s, s:s, s:[{s:s, s:s}], s:s, s:{s:[{s:s, s:s}]}, s:{s:s}, s:s, "
                     "s:{s:s}, s:[{s:i, s:{s:s}, s:[{s:s, s:{s:I, s:s}}]}], s:{s:I, s:s}, "
                     "s:{s:I, s:s}}",
                     "resourceType", "Invoice", "id", id, "identifier", "system",
                     VISITS_INVOICE_KEY_SYS, "value", in->key, "status", "issued", "type", "coding",
                     "system", VISITS_PURPOSE_SYS, "code", in->purpose, "subject", "reference",
                     subj, "date", date, "issuer", "reference", org, "lineItem", "sequence", 1,
                     "chargeItemCodeableConcept", "text", in->description, "priceComponent", "type",
                     "base", "amount", "value", (json_int_t)in->amount, "currency", "JPY",
                     "totalNet", "value", (json_int_t)in->amount, "currency", "JPY", "totalGross",
                     "value", (json_int_t)in->amount, "currency", "JPY");
}

int visits_invoice_prepare(struct visits_invoice_write *w, const struct visits_invoice_new *in,
                           struct err *e)
{
    memset(w, 0, sizeof *w);
    if (in->subject == NULL || !ids_valid(in->subject))
        return err_set(e, ERR_INVALID, "subject: not a regional ID");
    if (in->issuer_org == NULL || !ids_valid(in->issuer_org))
        return err_set(e, ERR_INVALID, "issuer_org: not an organisation id");
    if (in->amount < 1 || in->amount > VISITS_AMOUNT_MAX)
        return err_set(e, ERR_INVALID, "amount: integer yen 1..%d", VISITS_AMOUNT_MAX);
    if (!purpose_valid(in->purpose))
        return err_set(e, ERR_INVALID, "purpose: \"clinic-fees\" or \"pharmacy-fees\"");
    size_t dl = in->description != NULL ? strlen(in->description) : 0;
    if (dl == 0 || dl > VISITS_DESC_MAX || !utf8_valid(in->description, dl))
        return err_set(e, ERR_INVALID, "description: 1..%d bytes of UTF-8", VISITS_DESC_MAX);
    if (!key_valid(in->key))
        return err_set(e, ERR_INVALID, "key: 1..%d printable ASCII characters", VISITS_KEY_MAX);
    w->in = *in;
    if (w->in.now_ms == 0)
        w->in.now_ms = clock_now_ms();
    struct id_principal svc;
    const struct id_principal *p = in->actor;
    if (p == NULL) {
        visits__service_principal(&svc);
        p = &svc;
    }
    int rc = audit_event_from_principal(p, &w->actor_ev, e);
    if (rc != 0)
        return rc;
    w->actor_ev.request_id = in->request_id;
    ids_new_ordered(w->id, w->in.now_ms);
    w->resource = render(&w->in, w->id);
    if (w->resource == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct fhir_issues is;
    fhir_issues_init(&is, NULL, NULL);
    if (fhir_validate(w->resource, "Invoice", &is) != 0 || is.nerrors > 0) {
        rc = err_set(e, ERR_INVALID, "the invoice is not valid FHIR: %.100s: %.100s",
                     is.n > 0 ? is.items[0].expression : "",
                     is.n > 0 ? is.items[0].diagnostics : "");
        visits_invoice_release(w);
        return rc;
    }
    return 0;
}

void visits_invoice_release(struct visits_invoice_write *w)
{
    json_decref(w->resource);
    w->resource = NULL;
}

struct existing {
    int found;
    char id[FHIR_ID_MAX + 1];
    char subject[IDS_LEN + 1], issuer[IDS_LEN + 1], purpose[32];
    int64_t amount;
};

static int existing_row(const struct store_row *row, void *ctx)
{
    struct existing *x = ctx;
    x->found = 1;
    snprintf(x->id, sizeof x->id, "%s", store_row_text(row, 0, NULL));
    snprintf(x->subject, sizeof x->subject, "%s", store_row_text(row, 1, NULL));
    snprintf(x->issuer, sizeof x->issuer, "%s", store_row_text(row, 2, NULL));
    x->amount = store_row_int(row, 3);
    snprintf(x->purpose, sizeof x->purpose, "%s", store_row_text(row, 4, NULL));
    return 1;
}

int visits_invoice_write_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct visits_invoice_write *w = ctx;
    const struct visits_invoice_new *in = &w->in;
    struct existing x = {0};
    struct store_value k[] = {STORE_TEXT_V(in->key)};
    int rc = store_tx_query(tx,
                            "SELECT invoice_id, subject_id, issuer_org, amount, purpose FROM "
                            "visits_invoice WHERE key = ?",
                            k, 1, existing_row, &x, e);
    if (rc != 0)
        return rc;
    if (x.found) {
        if (strcmp(x.subject, in->subject) != 0 || strcmp(x.issuer, in->issuer_org) != 0 ||
            x.amount != in->amount || strcmp(x.purpose, in->purpose) != 0)
            return err_set(e, ERR_CONFLICT,
                           "key: an invoice with this key was issued with other details");
        memcpy(w->id, x.id, sizeof w->id);
        w->created = 0;
        return 0;
    }
    struct audit_event ev = w->actor_ev;
    ev.decision = AUDIT_PERMIT;
    ev.decided_by = "rule:issuer-bills";
    ev.purpose = NULL;
    rc = visits__fhir_put(tx, "Invoice", w->id, w->resource, 1, in->subject, "payments", &ev,
                          in->now_ms, e);
    if (rc != 0)
        return rc;
    struct store_value v[] = {STORE_TEXT_V(in->key),     STORE_TEXT_V(w->id),
                              STORE_TEXT_V(in->subject), STORE_TEXT_V(in->issuer_org),
                              STORE_INT_V(in->amount),   STORE_TEXT_V(in->purpose),
                              STORE_INT_V(in->now_ms)};
    rc = store_tx_exec(
        tx,
        "INSERT INTO visits_invoice (key, invoice_id, subject_id, issuer_org, amount, "
        "purpose, status, created_ms) VALUES (?, ?, ?, ?, ?, ?, 'issued', ?)",
        v, 7, e);
    if (rc < 0)
        return rc;
    json_t *pl = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "invoice", w->id, "issuer",
                           in->issuer_org, "amount", (json_int_t)in->amount, "currency", "JPY",
                           "purpose", in->purpose, "description", in->description);
    char *text = pl != NULL ? jsonx_dumps(pl, NULL) : NULL;
    json_decref(pl);
    if (text == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    char ref[FHIR_ID_MAX + 16];
    snprintf(ref, sizeof ref, "Invoice/%s", w->id);
    rc = event_append(tx, VISITS_EV_INVOICE, in->subject, ref, text, in->now_ms, NULL, e);
    free(text);
    if (rc != 0)
        return rc;
    char ja[VISITS_DESC_MAX + 128], en[VISITS_DESC_MAX + 128], key[FHIR_ID_MAX + 32];
    snprintf(ja, sizeof ja, "請求書が発行されました: %s (%" PRId64 "円)", in->description,
             in->amount);
    snprintf(en, sizeof en, "An invoice was issued: %s (JPY %" PRId64 ")", in->description,
             in->amount);
    snprintf(key, sizeof key, "visits.invoice.%s", w->id);
    struct consent_inbox_notice n = {in->subject, "visits", ref, ja, en, key};
    rc = consent_inbox_notify(tx, &n, in->now_ms, NULL, e);
    if (rc != 0)
        return rc;
    w->created = 1;
    return 0;
}

int visits_invoice_issue(struct store *s, const struct visits_invoice_new *in,
                         char id_out[FHIR_ID_MAX + 1], struct err *e)
{
    struct visits_invoice_write w;
    int rc = visits_invoice_prepare(&w, in, e);
    if (rc != 0)
        return rc;
    rc = store_write(s, visits_invoice_write_fn, &w, e);
    if (rc == 0) {
        memcpy(id_out, w.id, sizeof w.id);
        event_worker_notify();
    }
    visits_invoice_release(&w);
    return rc;
}

/* ---- invoice.paid ---- */

struct paid {
    const char *invoice, *issuer, *transfer;
    int64_t amount, now_ms;
    struct audit_event actor;
    int changed;
    const char *ignored; /* why nothing was done */
};

struct inv_row {
    int found, balanced;
    char subject[IDS_LEN + 1], issuer[IDS_LEN + 1];
    int64_t amount;
};

static int inv_row(const struct store_row *row, void *ctx)
{
    struct inv_row *r = ctx;
    r->found = 1;
    snprintf(r->subject, sizeof r->subject, "%s", store_row_text(row, 0, NULL));
    snprintf(r->issuer, sizeof r->issuer, "%s", store_row_text(row, 1, NULL));
    r->amount = store_row_int(row, 2);
    const char *st = store_row_text(row, 3, NULL);
    r->balanced = st != NULL && strcmp(st, "balanced") == 0;
    return 1;
}

struct body_copy {
    char *text;
};

static int body_row(const struct store_row *row, void *ctx)
{
    struct body_copy *b = ctx;
    size_t n = 0;
    const char *t = store_row_text(row, 0, &n);
    b->text = t != NULL ? strndup(t, n) : NULL;
    return 1;
}

static int paid_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct paid *p = ctx;
    struct inv_row r = {0};
    struct store_value v[] = {STORE_TEXT_V(p->invoice)};
    int rc = store_tx_query(tx,
                            "SELECT subject_id, issuer_org, amount, status FROM visits_invoice "
                            "WHERE invoice_id = ?",
                            v, 1, inv_row, &r, e);
    if (rc != 0)
        return rc;
    if (!r.found) {
        p->ignored = "not an invoice of this service";
        return 0;
    }
    if (strcmp(r.issuer, p->issuer) != 0 || r.amount != p->amount) {
        p->ignored = "the issuer or amount does not match the invoice";
        return 0;
    }
    if (r.balanced) {
        p->ignored = "already balanced";
        return 0;
    }
    struct body_copy b = {0};
    rc = store_tx_query(tx,
                        "SELECT body FROM fhir_resource WHERE rtype = 'Invoice' AND id = ? AND "
                        "deleted = 0",
                        v, 1, body_row, &b, e);
    if (rc != 0)
        return rc;
    json_t *res = b.text != NULL ? jsonx_parse(b.text, strlen(b.text), e) : NULL;
    free(b.text);
    if (res == NULL)
        return e->code == ERR_NOMEM ? ERR_NOMEM : err_set(e, ERR_INTERNAL, "invoice body lost");
    json_object_del(res, "meta");
    int bad = json_object_set_new(res, "status", json_string("balanced")) != 0;
    if (!bad && p->transfer != NULL) {
        char note[200];
        snprintf(note, sizeof note, "Paid from the regional wallet (transfer %.64s)", p->transfer);
        bad = json_object_set_new(res, "paymentTerms", json_string(note)) != 0;
    }
    if (bad) {
        json_decref(res);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    struct audit_event ev = p->actor;
    ev.decision = AUDIT_PERMIT;
    ev.decided_by = "rule:issuer-bills";
    rc = visits__fhir_put(tx, "Invoice", p->invoice, res, 0, r.subject, "payments", &ev, p->now_ms,
                          e);
    json_decref(res);
    if (rc != 0)
        return rc;
    struct store_value u[] = {STORE_INT_V(p->now_ms),
                              p->transfer != NULL ? STORE_TEXT_V(p->transfer) : STORE_NULL_V,
                              STORE_TEXT_V(p->invoice)};
    rc = store_tx_exec(tx,
                       "UPDATE visits_invoice SET status = 'balanced', paid_ms = ?, transfer = ? "
                       "WHERE invoice_id = ?",
                       u, 3, e);
    if (rc < 0)
        return rc;
    p->changed = 1;
    return 0;
}

int visits_on_invoice_paid(const struct event *ev, void *ctx, struct err *e)
{
    struct store *s = ctx;
    if (ev->payload == NULL)
        return 0;
    json_t *pl = jsonx_parse(ev->payload, strlen(ev->payload), e);
    if (pl == NULL)
        return e->code == ERR_NOMEM ? ERR_NOMEM : 0; /* malformed: never retried */
    struct paid p = {0};
    p.invoice = json_string_value(json_object_get(pl, "invoice"));
    p.issuer = json_string_value(json_object_get(pl, "issuer"));
    p.transfer = json_string_value(json_object_get(pl, "transfer"));
    const json_t *amount = json_object_get(pl, "amount");
    p.amount = json_is_integer(amount) ? (int64_t)json_integer_value(amount) : -1;
    p.now_ms = clock_now_ms();
    int rc = 0;
    if (p.invoice == NULL || !fhir_id_valid(p.invoice) || p.issuer == NULL || p.amount < 1 ||
        (p.transfer != NULL && strlen(p.transfer) > 64)) {
        log_warn("visits: invoice.paid event %" PRId64 " is malformed: ignored", ev->seq);
        json_decref(pl);
        return 0;
    }
    struct id_principal svc;
    visits__service_principal(&svc);
    if (audit_event_from_principal(&svc, &p.actor, e) != 0) {
        json_decref(pl);
        return e->code;
    }
    rc = store_write(s, paid_fn, &p, e);
    if (rc == 0 && p.changed)
        log_info("visits: Invoice/%s balanced (event %" PRId64 ")", p.invoice, ev->seq);
    else if (rc == 0)
        log_info("visits: invoice.paid %" PRId64 " for Invoice/%s: %s", ev->seq, p.invoice,
                 p.ignored != NULL ? p.ignored : "nothing to do");
    json_decref(pl);
    return rc;
}
