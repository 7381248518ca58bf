/* list.c - the citizen's view of their own trail: one subject's entries, newest first, with
 * filters (period, actor, organisation, category, decision) and keyset paging by seq. */
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/internal.h"
#include "base/arena.h"

struct list_ctx {
    struct arena *a;
    struct audit_entry *items;
    size_t n, cap, want;
    int more;
    int failed;
};

static int list_row(const struct store_row *r, void *ctx)
{
    struct list_ctx *c = ctx;
    if (c->n == c->want) {
        c->more = 1;
        return 1;
    }
    struct audit_entry *items =
        arena_array_reserve(c->a, c->items, c->n, &c->cap, sizeof *c->items);
    if (items == NULL) {
        c->failed = 1;
        return 1;
    }
    c->items = items;
    struct audit_entry *x = &items[c->n];
    audit__entry_from_row(r, x);
    const char **m;
    for (size_t i = 0; (m = audit__event_text(&x->ev, i)) != NULL; i++) {
        if (*m != NULL && (*m = arena_strdup(c->a, *m)) == NULL) {
            c->failed = 1;
            return 1;
        }
    }
    c->n++;
    return 0;
}

/* Appends " AND <cond>" and its value when the filter is set. */
struct query {
    char sql[1024];
    size_t len;
    struct store_value v[10];
    size_t nv;
};

static void add(struct query *q, const char *cond, struct store_value v)
{
    int n = snprintf(q->sql + q->len, sizeof q->sql - q->len, "%s", cond);
    if (n > 0 && (size_t)n < sizeof q->sql - q->len) /* the fixed conditions always fit */
        q->len += (size_t)n;
    q->v[q->nv++] = v;
}

int audit_list_for_subject(struct store *s, const char *subject, const struct audit_filter *fl,
                           size_t limit, struct arena *a, struct audit_page *out, struct err *e)
{
    static const struct audit_filter none = {0};
    const struct audit_filter *f = fl != NULL ? fl : &none;
    memset(out, 0, sizeof *out);
    if (subject == NULL || subject[0] == '\0' || strlen(subject) > AUDIT_TEXT_MAX)
        return err_set(e, ERR_INVALID, "audit list: subject missing or too long");
    if (limit < 1 || limit > AUDIT_PAGE_MAX)
        return err_set(e, ERR_INVALID, "audit list: limit must be 1..%d", AUDIT_PAGE_MAX);
    if (f->from_ms < 0 || f->until_ms < 0 || f->before_seq < 0)
        return err_set(e, ERR_INVALID, "audit list: negative time or cursor");
    if (f->decision != AUDIT_DECISION_ANY && audit_decision_name(f->decision) == NULL)
        return err_set(e, ERR_INVALID, "audit list: decision filter is not permit or deny");

    struct query q = {.len = 0, .nv = 0};
    add(&q, "SELECT " AUDIT__ENTRY_COLUMNS " FROM audit_entry WHERE subject = ?",
        STORE_TEXT_V(subject));
    if (f->before_seq > 0)
        add(&q, " AND seq < ?", STORE_INT_V(f->before_seq));
    if (f->from_ms > 0)
        add(&q, " AND time_ms >= ?", STORE_INT_V(f->from_ms));
    if (f->until_ms > 0)
        add(&q, " AND time_ms < ?", STORE_INT_V(f->until_ms));
    if (f->actor_id != NULL && f->actor_id[0] != '\0')
        add(&q, " AND actor_id = ?", STORE_TEXT_V(f->actor_id));
    if (f->actor_org != NULL && f->actor_org[0] != '\0')
        add(&q, " AND actor_org = ?", STORE_TEXT_V(f->actor_org));
    if (f->category != NULL && f->category[0] != '\0')
        add(&q, " AND category = ?", STORE_TEXT_V(f->category));
    if (f->decision != AUDIT_DECISION_ANY)
        add(&q, " AND decision = ?", STORE_TEXT_V(audit_decision_name(f->decision)));
    add(&q, " ORDER BY seq DESC LIMIT ?", STORE_INT_V(limit + 1));

    struct list_ctx c = {.a = a, .want = limit};
    int rc = store_query(s, q.sql, q.v, q.nv, list_row, &c, e);
    if (rc != 0)
        return rc;
    if (c.failed)
        return err_set(e, ERR_NOMEM, "out of memory");
    out->items = c.items;
    out->n = c.n;
    out->next_before_seq = c.more && c.n > 0 ? c.items[c.n - 1].seq : 0;
    return 0;
}
