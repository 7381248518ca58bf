/* mandate.c - payment mandates (wallet.h): a citizen lets an organisation collect up to a limit
 * per calendar month in Asia/Tokyo for one purpose; grant and revoke (effective on the next
 * collection, which re-reads the mandate inside its write) with the citizen's audit entry in the
 * same transaction; the list with this month's use. */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "services/wallet/internal.h"

int wallet_purpose_valid(const char *text)
{
    return text != NULL && (strcmp(text, "clinic-fees") == 0 || strcmp(text, "pharmacy-fees") == 0);
}

void wallet_month_tokyo(int64_t ms, char out[8])
{
    /* days since 1970-01-01 in Japan (UTC+9, no daylight saving), then the civil date
     * (H. Hinnant's days_from_civil inverse) */
    int64_t t = ms + 9LL * 3600 * 1000;
    int64_t days = t / 86400000LL - (t % 86400000LL < 0 ? 1 : 0);
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    snprintf(out, 8, "%04d-%02d", (int)y, (int)m);
}

static int count_active(struct store_tx *tx, const char *person, const char *org,
                        const char *purpose, int64_t *n, struct err *e)
{
    struct store_value v[] = {STORE_TEXT_V(person), STORE_TEXT_V(org), STORE_TEXT_V(purpose)};
    *n = 0;
    int rc =
        wallet__tx_int(tx,
                       org != NULL ? "SELECT COUNT(*) FROM wallet_mandate WHERE person = ? AND "
                                     "org = ? AND purpose = ? AND revoked_ms IS NULL"
                                   : "SELECT COUNT(*) FROM wallet_mandate WHERE person = ? "
                                     "AND revoked_ms IS NULL",
                       v, org != NULL ? 3 : 1, n, e);
    return rc < 0 ? rc : 0;
}

static int grant(struct store_tx *tx, struct wallet_mandate_write *w, struct err *e)
{
    if (w->person == NULL || !ids_valid(w->person))
        return err_set(e, ERR_INVALID, "person: not a regional ID");
    if (w->org == NULL || !ids_valid(w->org))
        return err_set(e, ERR_INVALID, "org: not an organisation id");
    if (!wallet_purpose_valid(w->purpose))
        return err_set(e, ERR_INVALID, "purpose: \"clinic-fees\" or \"pharmacy-fees\"");
    if (w->limit < 1 || w->limit > WALLET_AMOUNT_MAX)
        return err_set(e, ERR_INVALID, "limit: 1..%lld yen", (long long)WALLET_AMOUNT_MAX);
    int64_t one = 0, n = 0;
    struct store_value o[] = {STORE_TEXT_V(w->org)};
    int rc = wallet__tx_int(tx, "SELECT 1 FROM organisation WHERE id = ?", o, 1, &one, e);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return err_set(e, ERR_NOTFOUND, "org: no such organisation");
    if ((rc = count_active(tx, w->person, w->org, w->purpose, &n, e)) != 0)
        return rc;
    if (n > 0)
        return err_set(e, ERR_CONFLICT,
                       "mandate: one for this organisation and purpose is active; revoke it first");
    if ((rc = count_active(tx, w->person, NULL, NULL, &n, e)) != 0)
        return rc;
    if (n >= WALLET_MANDATES_MAX)
        return err_set(e, ERR_TOOBIG, "mandate: at most %d active", WALLET_MANDATES_MAX);
    ids_new_ordered(w->m.id, w->now_ms);
    struct store_value v[] = {STORE_TEXT_V(w->m.id), STORE_TEXT_V(w->person),
                              STORE_TEXT_V(w->org),  STORE_TEXT_V(w->purpose),
                              STORE_INT_V(w->limit), STORE_INT_V(w->now_ms)};
    rc = store_tx_exec(tx,
                       "INSERT INTO wallet_mandate (id, person, org, purpose, limit_month, "
                       "created_ms) VALUES (?, ?, ?, ?, ?, ?)",
                       v, 6, e);
    if (rc < 0)
        return rc;
    snprintf(w->m.person, sizeof w->m.person, "%s", w->person);
    snprintf(w->m.org, sizeof w->m.org, "%s", w->org);
    w->m.purpose =
        wallet_purpose_valid(w->purpose) && w->purpose[0] == 'c' ? "clinic-fees" : "pharmacy-fees";
    w->m.limit = w->limit;
    w->m.created_ms = w->now_ms;
    return 0;
}

struct one_mandate {
    struct wallet_mandate *m;
    int found;
};

static int mandate_fill(struct wallet_mandate *m, const struct store_row *row)
{
    snprintf(m->id, sizeof m->id, "%s", store_row_text(row, 0, NULL));
    snprintf(m->person, sizeof m->person, "%s", store_row_text(row, 1, NULL));
    snprintf(m->org, sizeof m->org, "%s", store_row_text(row, 2, NULL));
    const char *p = store_row_text(row, 3, NULL);
    m->purpose = p != NULL && strcmp(p, "clinic-fees") == 0 ? "clinic-fees" : "pharmacy-fees";
    m->limit = store_row_int(row, 4);
    m->created_ms = store_row_int(row, 5);
    m->revoked_ms = store_row_is_null(row, 6) ? 0 : store_row_int(row, 6);
    m->used = store_row_is_null(row, 7) ? 0 : store_row_int(row, 7);
    return 0;
}

static int one_row(const struct store_row *row, void *ctx)
{
    struct one_mandate *o = ctx;
    mandate_fill(o->m, row);
    o->found = 1;
    return 1;
}

#define MANDATE_COLS                                                                               \
    "m.id, m.person, m.org, m.purpose, m.limit_month, m.created_ms, m.revoked_ms, "                \
    "(SELECT u.used FROM wallet_mandate_use u WHERE u.mandate = m.id AND u.month = ?)"

static int revoke(struct store_tx *tx, struct wallet_mandate_write *w, struct err *e)
{
    if (w->id == NULL || !ids_valid(w->id) || w->person == NULL)
        return err_set(e, ERR_NOTFOUND, "mandate: no such mandate");
    char month[8];
    wallet_month_tokyo(w->now_ms, month);
    struct one_mandate o = {.m = &w->m};
    struct store_value v[] = {STORE_TEXT_V(month), STORE_TEXT_V(w->id), STORE_TEXT_V(w->person)};
    int rc = store_tx_query(tx,
                            "SELECT " MANDATE_COLS " FROM wallet_mandate m WHERE m.id = ? AND "
                            "m.person = ?",
                            v, 3, one_row, &o, e);
    if (rc != 0)
        return rc;
    if (!o.found)
        return err_set(e, ERR_NOTFOUND, "mandate: no such mandate");
    if (w->m.revoked_ms != 0)
        return err_set(e, ERR_CONFLICT, "mandate: already revoked");
    struct store_value u[] = {STORE_INT_V(w->now_ms), STORE_TEXT_V(w->id)};
    rc = store_tx_exec(tx,
                       "UPDATE wallet_mandate SET revoked_ms = ? WHERE id = ? AND revoked_ms IS "
                       "NULL",
                       u, 2, e);
    if (rc < 0)
        return rc;
    if (rc != 1)
        return err_set(e, ERR_CONFLICT, "mandate: already revoked");
    w->m.revoked_ms = w->now_ms;
    return 0;
}

int wallet_mandate_write_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct wallet_mandate_write *w = ctx;
    err_clear(&w->err);
    if (w->now_ms == 0)
        w->now_ms = clock_now_ms();
    int rc = w->revoke ? revoke(tx, w, &w->err) : grant(tx, w, &w->err);
    if (rc == 0 && w->audit != NULL) {
        struct audit_event ev = *w->audit;
        ev.resource_id = w->m.id;
        rc = audit_append(tx, &ev, NULL, &w->err);
    }
    if (rc != 0 && e != NULL)
        *e = w->err;
    return rc;
}

struct list_read {
    struct arena *a;
    struct wallet_mandate *m;
    size_t n, cap;
    int nomem;
};

static int list_row(const struct store_row *row, void *ctx)
{
    struct list_read *r = ctx;
    struct wallet_mandate *arr = arena_array_reserve(r->a, r->m, r->n, &r->cap, sizeof *arr);
    if (arr == NULL) {
        r->nomem = 1;
        return 1;
    }
    r->m = arr;
    memset(&arr[r->n], 0, sizeof arr[r->n]);
    mandate_fill(&arr[r->n++], row);
    return r->n >= 1000;
}

int wallet_mandate_list(struct store *s, const char *person, int64_t now_ms, struct arena *a,
                        struct wallet_mandate **out, size_t *n, struct err *e)
{
    char month[8];
    wallet_month_tokyo(now_ms, month);
    struct list_read r = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(month), STORE_TEXT_V(person)};
    int rc = store_query(s,
                         "SELECT " MANDATE_COLS " FROM wallet_mandate m WHERE m.person = ? "
                         "ORDER BY m.created_ms DESC, m.id DESC",
                         v, 2, list_row, &r, e);
    if (rc == 0 && r.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc != 0)
        return rc;
    *out = r.m;
    *n = r.n;
    return 0;
}
