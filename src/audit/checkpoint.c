/* checkpoint.c - signed checkpoints: a Merkle root over every chain head, signed with the
 * server's Ed25519 key, stored with the heads that moved since the previous checkpoint. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "audit/hash.h"
#include "audit/internal.h"
#include "identity/jose.h"

/* ---- the head list, shared with verify.c ---- */

void audit__heads_release(struct audit__heads *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->v[i].subject);
    free(h->v);
    memset(h, 0, sizeof *h);
}

int audit__heads_push(struct audit__heads *h, const char *subject, int64_t seq,
                      const unsigned char head[AUDIT_HASH_LEN])
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct audit__head *v = realloc(h->v, cap * sizeof *v);
        if (v == NULL)
            return ERR_NOMEM;
        h->v = v;
        h->cap = cap;
    }
    char *s = strdup(subject);
    if (s == NULL)
        return ERR_NOMEM;
    struct audit__head *x = &h->v[h->n++];
    x->subject = s;
    x->seq = seq;
    if (head != NULL)
        memcpy(x->head, head, AUDIT_HASH_LEN);
    else
        memset(x->head, 0, AUDIT_HASH_LEN);
    return 0;
}

static int head_cmp(const void *a, const void *b)
{
    return audit_subject_cmp(((const struct audit__head *)a)->subject,
                             ((const struct audit__head *)b)->subject);
}

void audit__heads_sort(struct audit__heads *h)
{
    if (h->n > 1)
        qsort(h->v, h->n, sizeof *h->v, head_cmp);
}

int audit__heads_root(const struct audit__heads *h, unsigned char root[AUDIT_HASH_LEN],
                      int64_t *entries)
{
    unsigned char(*leaves)[AUDIT_HASH_LEN] = malloc((h->n ? h->n : 1) * AUDIT_HASH_LEN);
    if (leaves == NULL)
        return ERR_NOMEM;
    int64_t sum = 0;
    for (size_t i = 0; i < h->n; i++) {
        audit_hash_leaf(h->v[i].subject, h->v[i].seq, h->v[i].head, leaves[i]);
        sum += h->v[i].seq;
    }
    audit_hash_root((const unsigned char(*)[AUDIT_HASH_LEN])leaves, h->n, root);
    free(leaves);
    if (entries != NULL)
        *entries = sum;
    return 0;
}

/* ---- reading ---- */

struct read_ctx {
    struct audit__heads *h;
    int rc;
};

/* Rows of (subject, seq[, head hex]). */
static int heads_row(const struct store_row *r, void *ctx)
{
    struct read_ctx *c = ctx;
    const char *subject = store_row_text(r, 0, NULL);
    unsigned char head[AUDIT_HASH_LEN];
    const unsigned char *hp = NULL;
    if (subject == NULL) {
        c->rc = ERR_INVALID;
        return 1;
    }
    if (store_row_columns(r) > 2) {
        if (audit_hash_from_hex(store_row_text(r, 2, NULL), head) != 0) {
            c->rc = ERR_INVALID;
            return 1;
        }
        hp = head;
    }
    if ((c->rc = audit__heads_push(c->h, subject, store_row_int(r, 1), hp)) != 0)
        return 1;
    return 0;
}

int audit__heads_read(struct store *s, const char *sql, const struct store_value *params,
                      size_t nparams, struct audit__heads *h, struct err *e)
{
    struct read_ctx c = {h, 0};
    int rc = store_query(s, sql, params, nparams, heads_row, &c, e);
    if (rc == 0 && c.rc == ERR_NOMEM)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    else if (rc == 0 && c.rc != 0)
        rc = err_set(e, ERR_INVALID, "audit: a chain head row is malformed");
    if (rc == 0)
        audit__heads_sort(h);
    return rc;
}

static int int_row(const struct store_row *r, void *ctx)
{
    *(int64_t *)ctx = store_row_is_null(r, 0) ? 0 : store_row_int(r, 0);
    return 1;
}

/* ---- writing ---- */

struct write_ctx {
    int64_t base; /* the checkpoint this one follows (0: none) */
    const struct audit_checkpoint *cp;
    const struct audit__heads *heads;
    const size_t *changed; /* indexes into heads */
    size_t nchanged;
};

static int write_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct write_ctx *w = ctx;
    int64_t last = 0;
    int rc = store_tx_query(tx, "SELECT MAX(id) FROM audit_checkpoint", NULL, 0, int_row, &last, e);
    if (rc != 0)
        return rc;
    if (last != w->base)
        return err_set(e, ERR_CONFLICT, "audit: another checkpoint was written meanwhile");
    const struct audit_checkpoint *cp = w->cp;
    struct store_value v[7] = {STORE_INT_V(cp->id),        STORE_INT_V(cp->created_ms),
                               STORE_TEXT_V(cp->root),     STORE_INT_V(cp->chains),
                               STORE_INT_V(cp->entries),   STORE_TEXT_V(cp->key_id),
                               STORE_TEXT_V(cp->signature)};
    rc = store_tx_exec(tx,
                       "INSERT INTO audit_checkpoint (id, created_ms, root, chains, entries, "
                       "key_id, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       v, 7, e);
    for (size_t i = 0; rc >= 0 && i < w->nchanged; i++) {
        const struct audit__head *h = &w->heads->v[w->changed[i]];
        struct store_value hv[3] = {STORE_INT_V(cp->id), STORE_TEXT_V(h->subject),
                                    STORE_INT_V(h->seq)};
        rc = store_tx_exec(tx,
                           "INSERT INTO audit_checkpoint_head (checkpoint_id, subject, seq) "
                           "VALUES (?, ?, ?)",
                           hv, 3, e);
    }
    return rc < 0 ? rc : 0;
}

int audit_checkpoint_create(struct store *s, const struct id_jose_key *key, int64_t now_ms,
                            struct audit_checkpoint *out, struct err *e)
{
    struct audit__heads heads = {0}, prev = {0};
    size_t *changed = NULL;
    struct audit_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    int rc;
    if (key == NULL || memcmp(key->sk + 32, key->pk, 32) != 0 || key->kid[0] == '\0')
        return err_set(e, ERR_INVALID, "audit checkpoint: the key has no secret part");

    /* The base first: if a checkpoint lands after this read, write_fn refuses (ERR_CONFLICT) */
    int64_t base = 0;
    if ((rc = store_query(s, "SELECT MAX(id) FROM audit_checkpoint", NULL, 0, int_row, &base, e)) !=
        0)
        goto out;
    if ((rc = audit__heads_read(s,
                                "SELECT subject, MAX(seq) FROM audit_checkpoint_head "
                                "GROUP BY subject",
                                NULL, 0, &prev, e)) != 0 ||
        (rc = audit__heads_read(s, "SELECT subject, seq, head FROM audit_head", NULL, 0, &heads,
                                e)) != 0) {
        if (rc == ERR_INVALID)
            rc = err_set(e, ERR_INTERNAL,
                         "audit checkpoint: a chain head is malformed (run "
                         "`cityos audit verify`)");
        goto out;
    }

    /* The heads that moved since the previous checkpoint: a merge of two sorted lists */
    changed = malloc((heads.n ? heads.n : 1) * sizeof *changed);
    if (changed == NULL) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    size_t nchanged = 0, j = 0;
    for (size_t i = 0; i < heads.n; i++) {
        while (j < prev.n && audit_subject_cmp(prev.v[j].subject, heads.v[i].subject) < 0)
            j++; /* a subject committed before has no head now: verify will say so */
        int64_t before = 0;
        if (j < prev.n && audit_subject_cmp(prev.v[j].subject, heads.v[i].subject) == 0)
            before = prev.v[j].seq;
        if (heads.v[i].seq < before) {
            rc = err_set(e, ERR_INTERNAL,
                         "audit checkpoint: a chain head is behind the last checkpoint (run "
                         "`cityos audit verify`)");
            goto out;
        }
        if (heads.v[i].seq > before)
            changed[nchanged++] = i;
    }

    unsigned char root[AUDIT_HASH_LEN];
    if ((rc = audit__heads_root(&heads, root, &cp.entries)) != 0) {
        err_set(e, rc, "out of memory");
        goto out;
    }
    cp.id = base + 1;
    cp.created_ms = now_ms;
    cp.chains = (int64_t)heads.n;
    cp.changed = (int64_t)nchanged;
    audit_hash_to_hex(root, cp.root);
    memcpy(cp.key_id, key->kid, sizeof key->kid);
    unsigned char msg[256], sig[crypto_sign_ed25519_BYTES];
    size_t mlen = audit_hash_checkpoint_msg(cp.id, cp.created_ms, cp.chains, cp.entries, root, msg,
                                            sizeof msg);
    crypto_sign_ed25519_detached(sig, NULL, msg, mlen, key->sk);
    sodium_bin2hex(cp.signature, sizeof cp.signature, sig, sizeof sig);

    struct write_ctx w = {base, &cp, &heads, changed, nchanged};
    if ((rc = store_write(s, write_fn, &w, e)) != 0)
        goto out;
    if (out != NULL)
        *out = cp;
out:
    free(changed);
    audit__heads_release(&heads);
    audit__heads_release(&prev);
    return rc;
}
