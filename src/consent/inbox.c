/* inbox.c - the citizen's inbox: re-consent requests (written when a purpose widens), notices
 * of emergency (break-glass) access, and the city services' notices, listed for the portal. */
#include <stdio.h>
#include <string.h>

#include "base/utf8.h"

#include "consent/consent.h"
#include "consent/internal.h"

struct item_list {
    struct arena *a;
    struct consent_inbox_item *items;
    size_t n, cap;
    int nomem, bad;
};

static const char *col(struct item_list *l, const struct store_row *row, int c)
{
    if (store_row_is_null(row, c))
        return NULL;
    const char *t = arena_strdup(l->a, store_row_text(row, c, NULL));
    if (t == NULL)
        l->nomem = 1;
    return t;
}

static int read_item(const struct store_row *row, void *ctx)
{
    struct item_list *l = ctx;
    struct consent_inbox_item *items =
        arena_array_reserve(l->a, l->items, l->n, &l->cap, sizeof *items);
    if (items == NULL) {
        l->nomem = 1;
        return 1;
    }
    l->items = items;
    struct consent_inbox_item *it = &items[l->n];
    memset(it, 0, sizeof *it);
    const char *id = store_row_text(row, 0, NULL);
    if (id == NULL || strlen(id) != IDS_LEN) {
        l->bad = 1;
        return 1;
    }
    memcpy(it->id, id, IDS_LEN + 1);
    it->kind = col(l, row, 1);
    it->consent_id = col(l, row, 2);
    it->purpose_code = col(l, row, 3);
    it->from_version = store_row_is_null(row, 4) ? 0 : store_row_int(row, 4);
    it->to_version = store_row_is_null(row, 5) ? 0 : store_row_int(row, 5);
    it->created_ms = store_row_int(row, 6);
    it->resolved_ms = store_row_is_null(row, 7) ? 0 : store_row_int(row, 7);
    it->detail = col(l, row, 8);
    it->source = col(l, row, 9);
    it->ref = col(l, row, 10);
    it->text_ja = col(l, row, 11);
    if (l->nomem || it->kind == NULL)
        return 1;
    l->n++;
    return l->n >= CONSENT_LIST_MAX;
}

int consent_inbox_list(struct store *s, const char *subject_id, int open_only, struct arena *a,
                       struct consent_inbox_item **out, size_t *n, struct err *e)
{
    struct item_list l = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(subject_id)};
    int rc =
        store_query(s,
                    open_only ? "SELECT id, kind, consent_id, purpose_code, from_version, "
                                "to_version, created_ms, resolved_ms, detail, source, ref, text_ja "
                                "FROM inbox_item WHERE subject_id = ? AND resolved_ms IS NULL "
                                "ORDER BY created_ms DESC, id DESC"
                              : "SELECT id, kind, consent_id, purpose_code, from_version, "
                                "to_version, created_ms, resolved_ms, detail, source, ref, text_ja "
                                "FROM inbox_item WHERE subject_id = ? ORDER BY created_ms "
                                "DESC, id DESC",
                    v, 1, read_item, &l, e);
    if (rc == 0 && l.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0 && l.bad)
        rc = err_set(e, ERR_INTERNAL, "consent: a stored inbox item is malformed");
    *out = rc == 0 ? l.items : NULL;
    *n = rc == 0 ? l.n : 0;
    return rc;
}

int consent_inbox_break_glass(struct store_tx *tx, const char *subject_id, const char *actor_desc,
                              const char *reason, int64_t now_ms, struct err *e)
{
    char id[IDS_LEN + 1], detail[1400];
    ids_new(id);
    int n =
        snprintf(detail, sizeof detail,
                 "emergency access to your record by %.200s; the stated reason: %.1024s",
                 actor_desc != NULL ? actor_desc : "a practitioner", reason != NULL ? reason : "");
    if (n < 0)
        return err_set(e, ERR_INTERNAL, "inbox: cannot format the notice");
    struct store_value v[] = {STORE_TEXT_V(id), STORE_TEXT_V(subject_id), STORE_INT_V(now_ms),
                              STORE_TEXT_V(detail)};
    int rc = store_tx_exec(tx,
                           "INSERT INTO inbox_item (id, subject_id, kind, created_ms, detail) "
                           "VALUES (?, ?, 'break_glass_notice', ?, ?)",
                           v, 4, e);
    return rc < 0 ? rc : 0;
}

int consent_break_glass_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    const struct consent_break_glass *b = ctx;
    int rc = audit_append(tx, b->ev, NULL, e);
    if (rc == 0)
        rc = consent_inbox_break_glass(tx, b->ev->subject, b->actor_desc, b->ev->reason,
                                       b->ev->time_ms, e);
    return rc;
}

static int notice_text_ok(const char *t)
{
    size_t n = t != NULL ? strlen(t) : 0;
    return n >= 1 && n <= 1000 && utf8_valid(t, n);
}

static int source_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n < 1 || n > 32 || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

static int short_text_ok(const char *t)
{
    size_t n = t != NULL ? strlen(t) : 0;
    return t == NULL || (n >= 1 && n <= 200 && utf8_valid(t, n));
}

int consent_inbox_notify(struct store_tx *tx, const struct consent_inbox_notice *n, int64_t now_ms,
                         int *added, struct err *e)
{
    if (added != NULL)
        *added = 0;
    if (n == NULL || n->subject == NULL || strlen(n->subject) != IDS_LEN)
        return err_set(e, ERR_INVALID, "inbox notice: subject must be a person id");
    if (!source_ok(n->source))
        return err_set(e, ERR_INVALID, "inbox notice: source must match [a-z][a-z0-9-]{0,31}");
    if (!notice_text_ok(n->text_ja) || !notice_text_ok(n->text_en))
        return err_set(e, ERR_INVALID, "inbox notice: text_ja and text_en: 1..1000 bytes of UTF-8");
    if (!short_text_ok(n->ref) || !short_text_ok(n->dedupe_key))
        return err_set(e, ERR_INVALID, "inbox notice: ref and dedupe_key: at most 200 bytes");
    char id[IDS_LEN + 1];
    ids_new_ordered(id, now_ms);
    struct store_value v[] = {
        STORE_TEXT_V(id),
        STORE_TEXT_V(n->subject),
        STORE_INT_V(now_ms),
        STORE_TEXT_V(n->text_en),
        STORE_TEXT_V(n->source),
        n->ref != NULL ? STORE_TEXT_V(n->ref) : STORE_NULL_V,
        STORE_TEXT_V(n->text_ja),
        n->dedupe_key != NULL ? STORE_TEXT_V(n->dedupe_key) : STORE_NULL_V,
    };
    int rc = store_tx_exec(tx,
                           "INSERT INTO inbox_item (id, subject_id, kind, created_ms, detail, "
                           "source, ref, text_ja, dedupe_key) "
                           "VALUES (?, ?, 'notice', ?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT (dedupe_key) DO NOTHING",
                           v, 8, e);
    if (rc < 0)
        return rc;
    if (added != NULL)
        *added = rc > 0;
    return 0;
}
