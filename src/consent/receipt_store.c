/* receipt_store.c - consent receipts in the store: stored inside the write of the change they
 * sign (so a change never commits without its receipt), and read back for the citizen. */
#include <string.h>

#include "consent/consent.h"
#include "consent/internal.h"
#include "consent/receipt.h"

static const char *const op_names[] = {"grant", "narrow", "withdraw", "reconsent"};

int consent_receipt_check_basis(struct store_tx *tx, const struct consent_write *w, struct err *e)
{
    int64_t updated = -1; /* stays -1 when there is no such consent: the change itself says so */
    struct store_value v[] = {STORE_TEXT_V(w->consent_id), STORE_TEXT_V(w->subject_id)};
    int rc = store_tx_query(tx, "SELECT updated_ms FROM consent WHERE id = ? AND subject_id = ?", v,
                            2, consent__read_int, &updated, e);
    if (rc != 0)
        return rc;
    if (updated == -1 || updated == w->receipt_basis_ms)
        return 0;
    return err_set(e, ERR_CONFLICT, "consent: changed while its receipt was being made; try again");
}

/* A re-consent names its consent through the inbox item, so its basis cannot be checked before
 * the change as a narrowing's is: after it, the consent's previous history event (every change
 * writes one, at the updated_ms it sets) must be the state the receipt was made from. */
static int check_reconsent_basis(struct store_tx *tx, const struct consent_write *w, struct err *e)
{
    int64_t before = -1;
    struct store_value v[] = {STORE_TEXT_V(w->id), STORE_TEXT_V(w->subject_id),
                              STORE_TEXT_V(w->id)};
    int rc = store_tx_query(tx,
                            "SELECT at_ms FROM consent_event WHERE consent_id = ? AND "
                            "subject_id = ? AND seq = (SELECT MAX(seq) - 1 FROM consent_event "
                            "WHERE consent_id = ?)",
                            v, 3, consent__read_int, &before, e);
    if (rc != 0)
        return rc;
    if (before == w->receipt_basis_ms)
        return 0;
    return err_set(e, ERR_CONFLICT, "consent: changed while its receipt was being made; try again");
}

int consent_receipt_insert(struct store_tx *tx, const struct consent_write *w, struct err *e)
{
    if (w->receipt_jws == NULL)
        return 0;
    if (w->receipt_id == NULL || strlen(w->receipt_id) != CONSENT_RECEIPT_ID_LEN)
        return err_set(e, ERR_INVALID, "receipt: the id is not a UUID");
    if ((unsigned)w->op > CONSENT_OP_RECONSENT)
        return err_set(e, ERR_INVALID, "op: unknown");
    if (w->op == CONSENT_OP_RECONSENT && w->receipt_basis_ms != 0) {
        int rc = check_reconsent_basis(tx, w, e);
        if (rc != 0)
            return rc;
    }
    struct store_value v[] = {STORE_TEXT_V(w->receipt_id),  STORE_TEXT_V(w->id),
                              STORE_TEXT_V(w->subject_id),  STORE_TEXT_V(op_names[w->op]),
                              STORE_TEXT_V(w->receipt_jws), STORE_INT_V(w->now_ms)};
    int rc = store_tx_exec(tx,
                           "INSERT INTO consent_receipt (id, consent_id, subject_id, action, jws, "
                           "created_ms) VALUES (?, ?, ?, ?, ?, ?)",
                           v, 6, e);
    return rc < 0 ? rc : 0;
}

struct receipt_list {
    struct arena *a;
    struct consent_receipt_row *items;
    size_t n, cap;
    int nomem, bad;
};

static int read_receipt(const struct store_row *row, void *ctx)
{
    struct receipt_list *l = ctx;
    struct consent_receipt_row *items =
        arena_array_reserve(l->a, l->items, l->n, &l->cap, sizeof *items);
    if (items == NULL) {
        l->nomem = 1;
        return 1;
    }
    l->items = items;
    struct consent_receipt_row *r = &items[l->n];
    const char *cols[4];
    for (int i = 0; i < 4; i++) {
        const char *t = store_row_text(row, i, NULL);
        if (t == NULL) {
            l->bad = 1;
            return 1;
        }
        if ((cols[i] = arena_strdup(l->a, t)) == NULL) {
            l->nomem = 1;
            return 1;
        }
    }
    r->id = cols[0];
    r->consent_id = cols[1];
    r->action = cols[2];
    r->jws = cols[3];
    r->created_ms = store_row_int(row, 4);
    l->n++;
    return l->n >= CONSENT_LIST_MAX;
}

int consent_receipt_list(struct store *s, const char *subject_id, const char *consent_id,
                         struct arena *a, struct consent_receipt_row **out, size_t *n,
                         struct err *e)
{
    *out = NULL;
    *n = 0;
    struct receipt_list l = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(subject_id), STORE_TEXT_V(consent_id)};
    int rc = store_query(s,
                         "SELECT id, consent_id, action, jws, created_ms FROM consent_receipt "
                         "WHERE subject_id = ? AND consent_id = ? ORDER BY created_ms, id",
                         v, 2, read_receipt, &l, e);
    if (rc != 0)
        return rc;
    if (l.nomem)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (l.bad)
        return err_set(e, ERR_INTERNAL, "consent: a stored receipt is malformed");
    *out = l.items;
    *n = l.n;
    return 0;
}
