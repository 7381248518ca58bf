/* counts.c - the citizen's view: how many entries of one subject each organisation left, by
 * decision, over the filtered period. One GROUP BY over the subject's rows, bounded. */
#include <stdio.h>
#include <string.h>

#include "audit/view.h"
#include "base/arena.h"

struct count_ctx {
    struct arena *a;
    struct audit_org_count *items;
    size_t n, cap;
    int more, failed;
};

/* Rows come as (org, permits, denies), the most active first: one row per organisation. */
static int count_row(const struct store_row *r, void *ctx)
{
    struct count_ctx *c = ctx;
    if (c->n == AUDIT_COUNTS_MAX) {
        c->more = 1;
        return 1;
    }
    struct audit_org_count *items =
        arena_array_reserve(c->a, c->items, c->n, &c->cap, sizeof *c->items);
    if (items == NULL) {
        c->failed = 1;
        return 1;
    }
    c->items = items;
    struct audit_org_count *x = &items[c->n];
    const char *org = store_row_is_null(r, 0) ? NULL : store_row_text(r, 0, NULL);
    x->org = org != NULL ? arena_strdup(c->a, org) : NULL;
    if (org != NULL && x->org == NULL) {
        c->failed = 1;
        return 1;
    }
    x->permit = store_row_int(r, 1);
    x->deny = store_row_int(r, 2);
    c->n++;
    return 0;
}

struct cquery {
    char sql[1024];
    size_t len;
    struct store_value v[10];
    size_t nv;
};

static void cadd(struct cquery *q, const char *frag, const struct store_value *v)
{
    int n = snprintf(q->sql + q->len, sizeof q->sql - q->len, "%s", frag);
    if (n > 0 && (size_t)n < sizeof q->sql - q->len) /* the fixed fragments always fit */
        q->len += (size_t)n;
    if (v != NULL)
        q->v[q->nv++] = *v;
}

int audit_count_by_org(struct store *s, const char *subject, const struct audit_filter *f,
                       struct arena *a, struct audit_org_count **out, size_t *n, int *more,
                       struct err *e)
{
    static const struct audit_filter none = {0};
    if (f == NULL)
        f = &none;
    *out = NULL;
    *n = 0;
    *more = 0;
    if (subject == NULL || subject[0] == '\0' || strlen(subject) > AUDIT_TEXT_MAX)
        return err_set(e, ERR_INVALID, "audit counts: subject missing or too long");
    if (f->from_ms < 0 || f->until_ms < 0)
        return err_set(e, ERR_INVALID, "audit counts: negative time");
    if (f->decision != AUDIT_DECISION_ANY && audit_decision_name(f->decision) == NULL)
        return err_set(e, ERR_INVALID, "audit counts: decision filter is not permit or deny");

    struct cquery q = {.len = 0, .nv = 0};
    struct store_value v;
    v = STORE_TEXT_V(subject);
    cadd(&q,
         "SELECT actor_org, SUM(CASE WHEN decision = 'permit' THEN 1 ELSE 0 END), "
         "SUM(CASE WHEN decision = 'deny' THEN 1 ELSE 0 END) FROM audit_entry WHERE subject = ?",
         &v);
    if (f->from_ms > 0) {
        v = STORE_INT_V(f->from_ms);
        cadd(&q, " AND time_ms >= ?", &v);
    }
    if (f->until_ms > 0) {
        v = STORE_INT_V(f->until_ms);
        cadd(&q, " AND time_ms < ?", &v);
    }
    if (f->actor_id != NULL && f->actor_id[0] != '\0') {
        v = STORE_TEXT_V(f->actor_id);
        cadd(&q, " AND actor_id = ?", &v);
    }
    if (f->actor_org != NULL && f->actor_org[0] != '\0') {
        v = STORE_TEXT_V(f->actor_org);
        cadd(&q, " AND actor_org = ?", &v);
    }
    if (f->category != NULL && f->category[0] != '\0') {
        v = STORE_TEXT_V(f->category);
        cadd(&q, " AND category = ?", &v);
    }
    if (f->decision != AUDIT_DECISION_ANY) {
        v = STORE_TEXT_V(audit_decision_name(f->decision));
        cadd(&q, " AND decision = ?", &v);
    }
    /* NULL organisations sort first in SQLite and last in PostgreSQL; the count decides first,
     * and COALESCE gives both the same tie order */
    v = STORE_INT_V(AUDIT_COUNTS_MAX + 1);
    cadd(&q, " GROUP BY actor_org ORDER BY COUNT(*) DESC, COALESCE(actor_org, '') LIMIT ?", &v);

    struct count_ctx c = {.a = a};
    int rc = store_query(s, q.sql, q.v, q.nv, count_row, &c, e);
    if (rc != 0)
        return rc;
    if (c.failed)
        return err_set(e, ERR_NOMEM, "out of memory");
    *out = c.items;
    *n = c.n;
    *more = c.more;
    return 0;
}
