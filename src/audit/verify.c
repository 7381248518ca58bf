/* verify.c - `cityos audit verify`: every chain walked from its genesis, the head table held
 * against the chains, and every checkpoint's root recomputed and its signature checked. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "audit/hash.h"
#include "audit/internal.h"
#include "identity/keys.h"

struct verify {
    struct store *s;
    struct audit_verify_report *r;
    struct err *e;
    int rc; /* an error that stopped the walk (not a finding) */
    /* the chain being walked */
    char subject[AUDIT_TEXT_MAX + 1];
    int have_subject;
    int64_t expect;
    unsigned char prev[AUDIT_HASH_LEN];
    struct audit__heads ends; /* each chain's last (seq, hash) */
};

/* Records the first finding. Returns 1 (stop the row loop). */
__attribute__((format(printf, 6, 7))) static int fail(struct verify *v, const char *check,
                                                      const char *subject, int64_t seq,
                                                      int64_t checkpoint, const char *fmt, ...)
{
    struct audit_verify_report *r = v->r;
    if (!r->ok)
        return 1;
    r->ok = 0;
    r->check = check;
    r->seq = seq;
    r->checkpoint_id = checkpoint;
    r->subject[0] = '\0';
    if (subject != NULL)
        snprintf(r->subject, sizeof r->subject, "%.*s", AUDIT_TEXT_MAX, subject);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    return 1;
}

static int end_chain(struct verify *v)
{
    if (!v->have_subject)
        return 0;
    int rc = audit__heads_push(&v->ends, v->subject, v->expect - 1, v->prev);
    if (rc != 0)
        v->rc = err_set(v->e, rc, "out of memory");
    return rc;
}

/* An integer column must read back as exactly its decimal text (not 12.5, not '12 '). */
static int int_exact(const struct store_row *row, int col, int64_t *out)
{
    char want[32];
    size_t n = 0;
    const char *t = store_row_text(row, col, &n);
    *out = store_row_int(row, col);
    int w = snprintf(want, sizeof want, "%" PRId64, *out);
    return t != NULL && w > 0 && (size_t)w == n && memcmp(t, want, n) == 0;
}

static int entry_row(const struct store_row *row, void *ctx)
{
    struct verify *v = ctx;
    struct audit_entry x;
    audit__entry_from_row(row, &x);
    const char *subject = x.ev.subject;
    if (subject == NULL || subject[0] == '\0' || strlen(subject) > AUDIT_TEXT_MAX)
        return fail(v, "field", subject, x.seq, 0, "an entry's subject is missing or too long");
    if (!v->have_subject || strcmp(subject, v->subject) != 0) {
        if (end_chain(v) != 0)
            return 1;
        memcpy(v->subject, subject, strlen(subject) + 1);
        v->have_subject = 1;
        v->expect = 1;
        audit_hash_genesis(subject, v->prev);
    }
    int64_t seq = 0, t = 0;
    if (!int_exact(row, 1, &seq) || !int_exact(row, 2, &t))
        return fail(v, "field", subject, x.seq, 0, "seq or time_ms is not a whole number");
    if (seq != v->expect)
        return fail(v, "seq", subject, v->expect, 0,
                    "entry %" PRId64 " is missing: the chain goes from %" PRId64 " to %" PRId64,
                    v->expect, v->expect - 1, seq);
    for (int col = 0; col < 21; col++) {
        size_t n = 0;
        const char *s = store_row_text(row, col, &n);
        if (col != 1 && col != 2 && s != NULL && (n == 0 || strlen(s) != n))
            return fail(v, "field", subject, seq, 0,
                        "column %d is empty or holds a NUL byte (never written so)", col);
    }
    if (x.ev.actor_kind == AUDIT_ACTOR_NONE || x.ev.decision == AUDIT_DECISION_ANY)
        return fail(v, "field", subject, seq, 0, "actor_kind or decision is not a known name");
    unsigned char prev[AUDIT_HASH_LEN], stored[AUDIT_HASH_LEN], hash[AUDIT_HASH_LEN];
    if (audit_hash_from_hex(x.prev_hash, prev) != 0 || sodium_memcmp(prev, v->prev, 32) != 0)
        return fail(v, "prev_hash", subject, seq, 0,
                    "prev_hash is not the hash of the entry before (or of the genesis)");
    if (audit_hash_entry(v->prev, &x.ev, seq, hash) != 0)
        return fail(v, "field", subject, seq, 0, "the entry is too long to encode");
    if (audit_hash_from_hex(x.entry_hash, stored) != 0 || sodium_memcmp(stored, hash, 32) != 0)
        return fail(v, "entry_hash", subject, seq, 0,
                    "the entry's fields do not hash to its entry_hash (altered)");
    memcpy(v->prev, hash, AUDIT_HASH_LEN);
    v->expect++;
    v->r->entries++;
    return 0;
}

/* The head table must hold exactly each chain's last entry. */
static int check_heads(struct verify *v)
{
    struct audit__heads heads = {0};
    struct audit__heads *ends = &v->ends;
    int rc = 0;
    if ((rc = audit__heads_read(v->s, "SELECT subject, seq, head FROM audit_head", NULL, 0, &heads,
                                v->e)) != 0) {
        if (rc == ERR_INVALID) { /* a malformed row: a finding, not an error */
            err_clear(v->e);
            fail(v, "head", NULL, 0, 0, "the head table holds a malformed row");
            rc = 0;
        }
        goto out;
    }
    audit__heads_sort(ends);
    size_t i = 0, j = 0;
    while (i < ends->n || j < heads.n) {
        int c = i == ends->n   ? 1
                : j == heads.n ? -1
                               : audit_subject_cmp(ends->v[i].subject, heads.v[j].subject);
        if (c < 0) {
            fail(v, "head", ends->v[i].subject, ends->v[i].seq, 0,
                 "the chain has no row in the head table");
            goto out;
        }
        if (c > 0) {
            fail(v, "head", heads.v[j].subject, heads.v[j].seq, 0,
                 "the head table names entry %" PRId64 " of a chain that has no entries (cut?)",
                 heads.v[j].seq);
            goto out;
        }
        if (ends->v[i].seq != heads.v[j].seq ||
            memcmp(ends->v[i].head, heads.v[j].head, AUDIT_HASH_LEN) != 0) {
            fail(v, "head", ends->v[i].subject, ends->v[i].seq, 0,
                 "the chain ends at entry %" PRId64 " but the head table says %" PRId64
                 " (entries cut or head altered)",
                 ends->v[i].seq, heads.v[j].seq);
            goto out;
        }
        i++, j++;
    }
out:
    audit__heads_release(&heads);
    return rc;
}

/* ---- checkpoints ---- */

struct cp_row {
    int64_t id, created_ms, chains, entries;
    char root[AUDIT_HEX_LEN + 1];
    char key_id[64];
    char sig[AUDIT_SIG_HEX_LEN + 1];
};

struct cp_list {
    struct cp_row *v;
    size_t n, cap;
    int rc;
};

static void copy_col(const struct store_row *r, int col, char *out, size_t cap)
{
    size_t n = 0;
    const char *s = store_row_text(r, col, &n);
    if (s == NULL || n >= cap)
        n = 0; /* too long or missing: reads as "", which fails its check */
    memcpy(out, s != NULL ? s : "", n);
    out[n] = '\0';
}

static int cp_row(const struct store_row *r, void *ctx)
{
    struct cp_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct cp_row *nv = realloc(l->v, cap * sizeof *nv);
        if (nv == NULL) {
            l->rc = ERR_NOMEM;
            return 1;
        }
        l->v = nv;
        l->cap = cap;
    }
    struct cp_row *c = &l->v[l->n++];
    c->id = store_row_int(r, 0);
    c->created_ms = store_row_int(r, 1);
    copy_col(r, 2, c->root, sizeof c->root);
    c->chains = store_row_int(r, 3);
    c->entries = store_row_int(r, 4);
    copy_col(r, 5, c->key_id, sizeof c->key_id);
    copy_col(r, 6, c->sig, sizeof c->sig);
    return 0;
}

struct hash_ctx {
    int found;
    char hex[AUDIT_HEX_LEN + 1];
};

static int hash_row(const struct store_row *r, void *ctx)
{
    struct hash_ctx *h = ctx;
    h->found = 1;
    copy_col(r, 0, h->hex, sizeof h->hex);
    return 1;
}

/* cum := cum with deltas applied (both sorted by subject; a delta must move a head forward).
 * Returns 0, ERR_NOMEM, or 1 after recording a finding. */
static int apply_deltas(struct verify *v, int64_t cp, struct audit__heads *cum,
                        struct audit__heads *deltas)
{
    struct audit__heads out = {0};
    size_t i = 0, j = 0;
    int rc = 0;
    while (rc == 0 && (i < cum->n || j < deltas->n)) {
        int c = i == cum->n      ? 1
                : j == deltas->n ? -1
                                 : audit_subject_cmp(cum->v[i].subject, deltas->v[j].subject);
        if (c == 0 && deltas->v[j].seq <= cum->v[i].seq) {
            fail(v, "checkpoint_entry", deltas->v[j].subject, deltas->v[j].seq, cp,
                 "checkpoint %" PRId64 " moves a chain head back from %" PRId64, cp, cum->v[i].seq);
            rc = 1;
            break;
        }
        if (j + 1 < deltas->n && c >= 0 &&
            audit_subject_cmp(deltas->v[j].subject, deltas->v[j + 1].subject) == 0) {
            fail(v, "checkpoint_entry", deltas->v[j].subject, deltas->v[j].seq, cp,
                 "checkpoint %" PRId64 " names one chain twice", cp);
            rc = 1;
            break;
        }
        const struct audit__head *h = c < 0 ? &cum->v[i] : &deltas->v[j];
        if (audit__heads_push(&out, h->subject, h->seq, h->head) != 0)
            rc = err_set(v->e, ERR_NOMEM, "out of memory");
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
    }
    if (rc != 0) {
        audit__heads_release(&out);
        return rc;
    }
    audit__heads_release(cum);
    *cum = out;
    return 0;
}

static const struct id_jose_key *find_key(const struct id_keys *keys, const char *kid)
{
    for (size_t i = 0; keys != NULL && i < keys->n; i++)
        if (strcmp(keys->keys[i].kid, kid) == 0)
            return &keys->keys[i];
    return NULL;
}

/* One checkpoint against the cumulative heads before it. Returns 0, an ERR_*, or 1 after a
 * finding. */
static int check_checkpoint(struct verify *v, const struct id_keys *keys, const struct cp_row *c,
                            int64_t want_id, struct audit__heads *cum)
{
    if (c->id != want_id)
        return fail(v, "checkpoint_id", NULL, 0, want_id,
                    "checkpoint %" PRId64 " is missing (the next stored is %" PRId64 ")", want_id,
                    c->id);
    const struct id_jose_key *k = find_key(keys, c->key_id);
    if (k == NULL)
        return fail(v, "key", NULL, 0, c->id,
                    "checkpoint %" PRId64 " is signed by a key not in the key file", c->id);
    unsigned char root[AUDIT_HASH_LEN], sig[crypto_sign_ed25519_BYTES], msg[256];
    size_t n = 0;
    if (audit_hash_from_hex(c->root, root) != 0)
        return fail(v, "root", NULL, 0, c->id, "checkpoint %" PRId64 "'s root is malformed", c->id);
    if (strlen(c->sig) != AUDIT_SIG_HEX_LEN ||
        sodium_hex2bin(sig, sizeof sig, c->sig, AUDIT_SIG_HEX_LEN, NULL, &n, NULL) != 0 ||
        n != sizeof sig)
        return fail(v, "signature", NULL, 0, c->id,
                    "checkpoint %" PRId64 "'s signature is malformed", c->id);
    size_t mlen =
        audit_hash_checkpoint_msg(c->id, c->created_ms, c->chains, c->entries, root, msg, 256);
    if (crypto_sign_ed25519_verify_detached(sig, msg, mlen, k->pk) != 0)
        return fail(v, "signature", NULL, 0, c->id,
                    "checkpoint %" PRId64 "'s signature does not verify (altered or replaced)",
                    c->id);

    /* the heads it moved: each must be an entry of a verified chain */
    struct audit__heads deltas = {0};
    struct store_value id = STORE_INT_V(c->id);
    int rc = audit__heads_read(
        v->s, "SELECT subject, seq FROM audit_checkpoint_head WHERE checkpoint_id = ?", &id, 1,
        &deltas, v->e);
    for (size_t i = 0; rc == 0 && i < deltas.n; i++) {
        struct hash_ctx h = {0};
        struct store_value kv[2] = {STORE_TEXT_V(deltas.v[i].subject),
                                    STORE_INT_V(deltas.v[i].seq)};
        rc = store_query(v->s, "SELECT entry_hash FROM audit_entry WHERE subject = ? AND seq = ?",
                         kv, 2, hash_row, &h, v->e);
        if (rc == 0 && (!h.found || audit_hash_from_hex(h.hex, deltas.v[i].head) != 0))
            rc = fail(v, "checkpoint_entry", deltas.v[i].subject, deltas.v[i].seq, c->id,
                      "checkpoint %" PRId64 " commits to entry %" PRId64
                      ", which is not there (deleted or cut)",
                      c->id, deltas.v[i].seq);
    }
    if (rc == ERR_INVALID) { /* a malformed delta row */
        err_clear(v->e);
        rc = fail(v, "checkpoint_entry", NULL, 0, c->id,
                  "checkpoint %" PRId64 " has a malformed head row", c->id);
    }
    if (rc == 0)
        rc = apply_deltas(v, c->id, cum, &deltas);
    audit__heads_release(&deltas);
    if (rc != 0)
        return rc;

    unsigned char again[AUDIT_HASH_LEN];
    int64_t entries = 0;
    if ((rc = audit__heads_root(cum, again, &entries)) != 0)
        return err_set(v->e, rc, "out of memory");
    if (sodium_memcmp(again, root, AUDIT_HASH_LEN) != 0)
        return fail(v, "root", NULL, 0, c->id,
                    "checkpoint %" PRId64 "'s root is not the root of the heads it commits to",
                    c->id);
    if (c->chains != (int64_t)cum->n || c->entries != entries)
        return fail(v, "count", NULL, 0, c->id,
                    "checkpoint %" PRId64 " counts %" PRId64 " chains and %" PRId64
                    " entries; its heads give %zu and %" PRId64,
                    c->id, c->chains, c->entries, cum->n, entries);
    v->r->checkpoints++;
    return 0;
}

static int check_checkpoints(struct verify *v, const struct id_keys *keys)
{
    struct cp_list l = {0};
    struct audit__heads cum = {0};
    int rc = store_query(v->s,
                         "SELECT id, created_ms, root, chains, entries, key_id, signature "
                         "FROM audit_checkpoint ORDER BY id",
                         NULL, 0, cp_row, &l, v->e);
    if (rc == 0 && l.rc != 0)
        rc = err_set(v->e, l.rc, "out of memory");
    for (size_t i = 0; rc == 0 && i < l.n && v->r->ok; i++)
        rc = check_checkpoint(v, keys, &l.v[i], (int64_t)i + 1, &cum);
    free(l.v);
    audit__heads_release(&cum);
    return rc < 0 ? rc : 0;
}

int audit_verify(struct store *s, const struct id_keys *keys, struct audit_verify_report *r,
                 struct err *e)
{
    memset(r, 0, sizeof *r);
    r->ok = 1;
    struct verify v = {.s = s, .r = r, .e = e};
    int rc =
        store_query(s, "SELECT " AUDIT__ENTRY_COLUMNS " FROM audit_entry ORDER BY subject, seq",
                    NULL, 0, entry_row, &v, e);
    if (rc == 0 && v.rc != 0)
        rc = v.rc;
    if (rc == 0 && r->ok && end_chain(&v) != 0)
        rc = v.rc;
    r->chains = (int64_t)v.ends.n;
    if (rc == 0 && r->ok)
        rc = check_heads(&v);
    if (rc == 0 && r->ok)
        rc = check_checkpoints(&v, keys);
    audit__heads_release(&v.ends);
    if (r->ok)
        r->check = NULL;
    return rc;
}
