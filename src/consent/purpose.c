/* purpose.c - the city's purposes: versions with texts in Japanese and English, categories,
 * recipients, legal basis and retention; the explanation hash that evidence points to; the
 * widening/narrowing comparison; publishing (with the re-consent inbox items) and reading. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/utf8.h"
#include "consent/consent.h"
#include "consent/internal.h"

static const char *const basis_names[] = {"consent", "law", "vital_interest", "public_health",
                                          "academic_research"};
static const char *const channel_names[] = {"portal", "app", "in_person_proxy"};

const char *consent_legal_basis_name(enum consent_legal_basis b)
{
    return (unsigned)b < 5 ? basis_names[b] : NULL;
}

int consent_legal_basis_parse(const char *text, enum consent_legal_basis *out)
{
    for (unsigned i = 0; text != NULL && i < 5; i++)
        if (strcmp(text, basis_names[i]) == 0) {
            *out = (enum consent_legal_basis)i;
            return 0;
        }
    return ERR_INVALID;
}

const char *consent_channel_name(enum consent_channel c)
{
    return (unsigned)c < 3 ? channel_names[c] : NULL;
}

int consent_channel_parse(const char *text, enum consent_channel *out)
{
    for (unsigned i = 0; text != NULL && i < 3; i++)
        if (strcmp(text, channel_names[i]) == 0) {
            *out = (enum consent_channel)i;
            return 0;
        }
    return ERR_INVALID;
}

/* ---- checks shared by the module ---- */

int consent__check_text(const char *field, const char *text, size_t max_chars, int multiline,
                        struct err *e)
{
    if (text == NULL || *text == '\0')
        return err_set(e, ERR_INVALID, "%s: required", field);
    size_t len = strlen(text);
    if (!utf8_valid(text, len))
        return err_set(e, ERR_INVALID, "%s: not valid UTF-8", field);
    if (utf8_chars(text, len) > max_chars)
        return err_set(e, ERR_INVALID, "%s: longer than %zu characters", field, max_chars);
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        if ((*p < 0x20 && !(multiline && *p == '\n')) || *p == 0x7f)
            return err_set(e, ERR_INVALID, "%s: control characters are not allowed", field);
    if (text[0] == ' ' || text[len - 1] == ' ')
        return err_set(e, ERR_INVALID, "%s: leading or trailing spaces", field);
    return 0;
}

int consent__check_code(const char *code, struct err *e)
{
    size_t n = code != NULL ? strlen(code) : 0;
    if (n == 0 || n > CONSENT_CODE_MAX)
        return err_set(e, ERR_INVALID, "purpose: a code of 1 to %d characters", CONSENT_CODE_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = code[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return err_set(e, ERR_INVALID, "purpose: only a-z, 0-9, '_' and '-'");
    }
    return 0;
}

int consent__is_hex64(const char *s)
{
    if (s == NULL || strlen(s) != CONSENT_HEX_LEN)
        return 0;
    for (size_t i = 0; i < CONSENT_HEX_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The canonical recipients text: sorted, unique, comma-joined. */
static int recipients_text(const char *const *r, size_t n, char *buf, size_t size, struct err *e)
{
    const char *sorted[CONSENT_RECIPIENTS_MAX];
    if (n > CONSENT_RECIPIENTS_MAX)
        return err_set(e, ERR_INVALID, "recipients: at most %d", CONSENT_RECIPIENTS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (r[i] == NULL || !ids_valid(r[i]))
            return err_set(e, ERR_INVALID, "recipients: entry %zu is not a well-formed id", i);
        sorted[i] = r[i];
    }
    qsort(sorted, n, sizeof *sorted, cmp_str);
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0)
            return err_set(e, ERR_INVALID, "recipients: entry %zu repeated", i);
        if (at + IDS_LEN + 2 > size)
            return err_set(e, ERR_TOOBIG, "recipients: too long");
        if (at > 0)
            buf[at++] = ',';
        memcpy(buf + at, sorted[i], IDS_LEN + 1);
        at += IDS_LEN;
    }
    return 0;
}

void consent_explanation_hash(const struct consent_purpose_new *p, int64_t version,
                              const char *recipients, char out[CONSENT_HEX_LEN + 1])
{
    crypto_hash_sha256_state st;
    char num[24], cats[CONSENT_CATS_TEXT_MAX];
    static const unsigned char zero = 0;
    const char *parts[10];
    snprintf(num, sizeof num, "%lld", (long long)version);
    char days[24];
    snprintf(days, sizeof days, "%lld", (long long)p->retention_days);
    parts[0] = p->code;
    parts[1] = num;
    parts[2] = p->title_ja;
    parts[3] = p->explanation_ja;
    parts[4] = p->title_en;
    parts[5] = p->explanation_en;
    parts[6] = consent_cats_format(p->cats, cats);
    parts[7] = recipients;
    parts[8] = consent_legal_basis_name(p->legal_basis);
    parts[9] = days;
    crypto_hash_sha256_init(&st);
    const char *tag = "cityos.consent.explanation.v1";
    crypto_hash_sha256_update(&st, (const unsigned char *)tag, strlen(tag));
    for (size_t i = 0; i < 10; i++) {
        const char *t = parts[i] != NULL ? parts[i] : "";
        crypto_hash_sha256_update(&st, &zero, 1);
        crypto_hash_sha256_update(&st, (const unsigned char *)t, strlen(t));
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, CONSENT_HEX_LEN + 1, h, sizeof h);
}

/* Is every entry of the comma list a also in b? Both canonical (sorted) lists of ids. */
static int list_subset(const char *a, const char *b)
{
    for (const char *p = a; *p != '\0';) {
        size_t n = strcspn(p, ",");
        int found = 0;
        for (const char *q = b; *q != '\0' && !found;) {
            size_t m = strcspn(q, ",");
            found = m == n && memcmp(p, q, n) == 0;
            q += m + (q[m] == ',');
        }
        if (!found)
            return 0;
        p += n + (p[n] == ',');
    }
    return 1;
}

int consent_purpose_compare(consent_cats old_cats, const char *old_recipients,
                            consent_cats new_cats, const char *new_recipients)
{
    int r = 0;
    if ((new_cats & ~old_cats) || !list_subset(new_recipients, old_recipients))
        r |= CONSENT_WIDENS;
    if ((old_cats & ~new_cats) || !list_subset(old_recipients, new_recipients))
        r |= CONSENT_NARROWS;
    return r;
}

static const char *change_name(int change, int first)
{
    if (first)
        return "first";
    switch (change) {
    case CONSENT_WIDENS:
        return "widening";
    case CONSENT_NARROWS:
        return "narrowing";
    case CONSENT_WIDENS | CONSENT_NARROWS:
        return "mixed";
    default:
        return "same";
    }
}

static int change_parse(const char *t)
{
    if (t == NULL)
        return 0;
    if (strcmp(t, "widening") == 0)
        return CONSENT_WIDENS;
    if (strcmp(t, "narrowing") == 0)
        return CONSENT_NARROWS;
    if (strcmp(t, "mixed") == 0)
        return CONSENT_WIDENS | CONSENT_NARROWS;
    return 0;
}

/* ---- publishing ---- */

struct publish {
    const struct consent_purpose_new *in;
    struct consent_index *ix;
    int64_t now;
    char recipients[CONSENT_RECIPIENTS_MAX * (IDS_LEN + 1) + 1];
    int64_t version;
    int change;
};

struct prev_row {
    int found;
    int64_t version;
    consent_cats cats;
    char recipients[CONSENT_RECIPIENTS_MAX * (IDS_LEN + 1) + 1];
    int bad;
};

static int read_prev(const struct store_row *row, void *ctx)
{
    struct prev_row *p = ctx;
    const char *r = store_row_text(row, 2, NULL);
    p->found = 1;
    p->version = store_row_int(row, 0);
    if (r == NULL || strlen(r) >= sizeof p->recipients ||
        consent_cats_parse(store_row_text(row, 1, NULL), &p->cats, NULL) != 0) {
        p->bad = 1;
        return 1;
    }
    memcpy(p->recipients, r, strlen(r) + 1);
    return 1;
}

/* The consents that need a re-consent: active, on this code, at an older version. */
struct reconsent_rows {
    struct store_tx *tx;
    struct publish *pub;
    int64_t prev_version;
    consent_cats prev_cats;
    const char *prev_recipients;
    int rc;
    struct err *e;
    size_t n;
};

static int add_reconsent(const struct store_row *row, void *ctx)
{
    struct reconsent_rows *r = ctx;
    const char *consent_id = store_row_text(row, 0, NULL), *subject = store_row_text(row, 1, NULL);
    int64_t from = store_row_int(row, 2);
    char cid[IDS_LEN + 1], sid[IDS_LEN + 1];
    if (consent_id == NULL || subject == NULL || strlen(consent_id) != IDS_LEN ||
        strlen(subject) != IDS_LEN) {
        r->rc = err_set(r->e, ERR_INTERNAL, "consent: a stored consent is malformed");
        return 1;
    }
    memcpy(cid, consent_id, IDS_LEN + 1);
    memcpy(sid, subject, IDS_LEN + 1);
    /* an open item for this consent moves to the new version; else a new item */
    struct store_value uv[] = {STORE_INT_V(r->pub->version), STORE_TEXT_V(cid)};
    int changed = store_tx_exec(r->tx,
                                "UPDATE inbox_item SET to_version = ? WHERE consent_id = ? AND "
                                "kind = 'reconsent' AND resolved_ms IS NULL",
                                uv, 2, r->e);
    if (changed < 0) {
        r->rc = changed;
        return 1;
    }
    if (changed == 0) {
        char id[IDS_LEN + 1], detail[160];
        ids_new(id);
        snprintf(detail, sizeof detail,
                 "the purpose %s changed (version %lld): it asks for your consent again",
                 r->pub->in->code, (long long)r->pub->version);
        struct store_value v[] = {STORE_TEXT_V(id),         STORE_TEXT_V(sid),
                                  STORE_TEXT_V(cid),        STORE_TEXT_V(r->pub->in->code),
                                  STORE_INT_V(from),        STORE_INT_V(r->pub->version),
                                  STORE_INT_V(r->pub->now), STORE_TEXT_V(detail)};
        int rc = store_tx_exec(r->tx,
                               "INSERT INTO inbox_item (id, subject_id, kind, consent_id, "
                               "purpose_code, from_version, to_version, created_ms, detail) "
                               "VALUES (?, ?, 'reconsent', ?, ?, ?, ?, ?, ?)",
                               v, 8, r->e);
        if (rc < 0) {
            r->rc = rc;
            return 1;
        }
    }
    r->n++;
    return 0;
}

int consent__next_change_seq(struct store_tx *tx, int64_t *seq, struct err *e)
{
    *seq = 0;
    int rc = store_tx_query(tx, "SELECT MAX(seq) FROM consent_change", NULL, 0, consent__read_int,
                            seq, e);
    (*seq)++;
    return rc;
}

int consent__read_int(const struct store_row *row, void *ctx)
{
    *(int64_t *)ctx = store_row_is_null(row, 0) ? 0 : store_row_int(row, 0);
    return 1;
}

static int publish_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct publish *p = ctx;
    const struct consent_purpose_new *in = p->in;
    struct prev_row prev = {0};
    struct store_value cv[] = {STORE_TEXT_V(in->code)};
    int rc = store_tx_query(tx,
                            "SELECT version, categories, recipients FROM consent_purpose_version "
                            "WHERE code = ? ORDER BY version DESC LIMIT 1",
                            cv, 1, read_prev, &prev, e);
    if (rc != 0)
        return rc;
    if (prev.bad)
        return err_set(e, ERR_INTERNAL, "consent: the stored purpose is malformed");
    /* recipients must be registered organisations or clients */
    const char *const *r = in->recipients;
    for (size_t i = 0; i < in->nrecipients; i++) {
        int64_t found = 0;
        struct store_value v[] = {STORE_TEXT_V(r[i]), STORE_TEXT_V(r[i])};
        rc = store_tx_query(tx,
                            "SELECT (SELECT COUNT(*) FROM organisation WHERE id = ?) + "
                            "(SELECT COUNT(*) FROM oauth_client WHERE id = ?)",
                            v, 2, consent__read_int, &found, e);
        if (rc != 0)
            return rc;
        if (found == 0)
            return err_set(e, ERR_INVALID,
                           "recipients: entry %zu is no registered organisation or client", i);
    }
    p->version = prev.found ? prev.version + 1 : 1;
    p->change = prev.found
                    ? consent_purpose_compare(prev.cats, prev.recipients, in->cats, p->recipients)
                    : 0;
    char hash[CONSENT_HEX_LEN + 1], cats[CONSENT_CATS_TEXT_MAX];
    consent_explanation_hash(in, p->version, p->recipients, hash);
    struct store_value v[] = {
        STORE_TEXT_V(in->code),
        STORE_INT_V(p->version),
        STORE_TEXT_V(in->title_ja),
        STORE_TEXT_V(in->title_en),
        STORE_TEXT_V(in->explanation_ja),
        STORE_TEXT_V(in->explanation_en),
        STORE_TEXT_V(hash),
        STORE_TEXT_V(consent_cats_format(in->cats, cats)),
        STORE_TEXT_V(p->recipients),
        STORE_TEXT_V(consent_legal_basis_name(in->legal_basis)),
        STORE_INT_V(in->retention_days),
        STORE_TEXT_V(change_name(p->change, !prev.found)),
        STORE_INT_V(p->now),
        STORE_TEXT_V(in->published_by),
    };
    rc = store_tx_exec(tx,
                       "INSERT INTO consent_purpose_version (code, version, title_ja, title_en, "
                       "explanation_ja, explanation_en, explanation_hash, categories, recipients, "
                       "legal_basis, retention_days, scope_change, published_ms, published_by) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       v, 14, e);
    if (rc < 0)
        return rc;
    if (p->change & CONSENT_WIDENS) {
        struct reconsent_rows rr = {.tx = tx, .pub = p, .e = e};
        struct store_value qv[] = {STORE_TEXT_V(in->code), STORE_INT_V(p->version)};
        rc = store_tx_query(tx,
                            "SELECT id, subject_id, purpose_version FROM consent WHERE "
                            "purpose_code = ? AND purpose_version < ? AND status = 'active'",
                            qv, 2, add_reconsent, &rr, e);
        if (rc == 0)
            rc = rr.rc;
        if (rc != 0)
            return rc;
    }
    int64_t seq;
    if ((rc = consent__next_change_seq(tx, &seq, e)) != 0)
        return rc;
    struct store_value sv[] = {STORE_INT_V(seq), STORE_TEXT_V(in->code), STORE_INT_V(p->now)};
    rc = store_tx_exec(tx,
                       "INSERT INTO consent_change (seq, subject_id, purpose_code, at_ms) "
                       "VALUES (?, NULL, ?, ?)",
                       sv, 3, e);
    if (rc < 0)
        return rc;
    /* seen early on purpose: a version can only narrow what existing consents cover */
    if (p->ix != NULL) {
        const char *list[CONSENT_RECIPIENTS_MAX];
        for (size_t i = 0; i < in->nrecipients; i++)
            list[i] = in->recipients[i];
        if (consent_index_put_purpose(p->ix, in->code, p->version, in->cats, list,
                                      in->nrecipients) != 0)
            return err_set(e, ERR_NOMEM, "consent index: out of memory");
        consent__note_change_seq(p->ix, seq);
    }
    return 0;
}

int consent_purpose_publish(struct store *s, struct consent_index *ix,
                            const struct consent_purpose_new *in, int64_t now_ms,
                            int64_t *version_out, int *change_out, struct err *e)
{
    int rc = consent__check_code(in->code, e);
    if (rc == 0)
        rc = consent__check_text("title_ja", in->title_ja, CONSENT_TITLE_MAX, 0, e);
    if (rc == 0)
        rc = consent__check_text("title_en", in->title_en, CONSENT_TITLE_MAX, 0, e);
    if (rc == 0)
        rc = consent__check_text("explanation_ja", in->explanation_ja, CONSENT_EXPLANATION_MAX, 1,
                                 e);
    if (rc == 0)
        rc = consent__check_text("explanation_en", in->explanation_en, CONSENT_EXPLANATION_MAX, 1,
                                 e);
    if (rc != 0)
        return rc;
    if (in->cats == 0 || (in->cats & ~CONSENT_CATS_ALL))
        return err_set(e, ERR_INVALID, "categories: at least one known category");
    if (consent_legal_basis_name(in->legal_basis) == NULL)
        return err_set(e, ERR_INVALID, "legal_basis: unknown");
    if (in->retention_days < 1 || in->retention_days > CONSENT_RETENTION_MAX)
        return err_set(e, ERR_INVALID, "retention_days: 1 to %d", CONSENT_RETENTION_MAX);
    if (in->published_by == NULL || *in->published_by == '\0' || strlen(in->published_by) > 64)
        return err_set(e, ERR_INVALID, "published_by: required");
    struct publish *p = calloc(1, sizeof *p);
    if (p == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    p->in = in;
    p->ix = ix;
    p->now = now_ms;
    rc = recipients_text(in->recipients, in->nrecipients, p->recipients, sizeof p->recipients, e);
    if (rc == 0)
        rc = store_write(s, publish_fn, p, e);
    if (rc == 0) {
        if (version_out != NULL)
            *version_out = p->version;
        if (change_out != NULL)
            *change_out = p->change;
        log_info("consent: purpose %s version %lld published (%s)", in->code, (long long)p->version,
                 change_name(p->change, p->version == 1));
    } else if (ix != NULL && rc != ERR_INVALID) {
        /* the version may be in memory without its commit: read the store's truth again */
        struct err e2 = {0};
        if (consent_index_reload_purposes(ix, s, &e2) != 0)
            log_error("consent index: %s", e2.msg);
    }
    free(p);
    return rc;
}

/* ---- reading ---- */

struct purpose_list {
    struct arena *a;
    struct consent_purpose *items;
    size_t n, cap;
    int nomem, bad;
};

static const char *copy_text(struct purpose_list *l, const struct store_row *row, int col)
{
    const char *t = store_row_text(row, col, NULL);
    const char *c = arena_strdup(l->a, t != NULL ? t : "");
    if (c == NULL)
        l->nomem = 1;
    return c;
}

static int read_purpose(const struct store_row *row, void *ctx)
{
    struct purpose_list *l = ctx;
    struct consent_purpose *items =
        arena_array_reserve(l->a, l->items, l->n, &l->cap, sizeof *items);
    if (items == NULL || l->n >= CONSENT_LIST_MAX) {
        l->nomem = items == NULL;
        return 1;
    }
    l->items = items;
    struct consent_purpose *p = &items[l->n];
    memset(p, 0, sizeof *p);
    const char *code = store_row_text(row, 0, NULL), *hash = store_row_text(row, 6, NULL);
    if (code == NULL || strlen(code) > CONSENT_CODE_MAX || hash == NULL ||
        strlen(hash) != CONSENT_HEX_LEN ||
        consent_cats_parse(store_row_text(row, 7, NULL), &p->cats, NULL) != 0 ||
        consent_legal_basis_parse(store_row_text(row, 9, NULL), &p->legal_basis) != 0) {
        l->bad = 1;
        return 1;
    }
    memcpy(p->code, code, strlen(code) + 1);
    memcpy(p->explanation_hash, hash, CONSENT_HEX_LEN + 1);
    p->version = store_row_int(row, 1);
    p->title_ja = copy_text(l, row, 2);
    p->title_en = copy_text(l, row, 3);
    p->explanation_ja = copy_text(l, row, 4);
    p->explanation_en = copy_text(l, row, 5);
    p->recipients = copy_text(l, row, 8);
    p->retention_days = store_row_int(row, 10);
    p->change = change_parse(store_row_text(row, 11, NULL));
    p->published_ms = store_row_int(row, 12);
    p->published_by = copy_text(l, row, 13);
    p->current = store_row_int(row, 14) == p->version;
    if (l->nomem)
        return 1;
    l->n++;
    return 0;
}

#define PURPOSE_COLS                                                                               \
    "SELECT p.code, p.version, p.title_ja, p.title_en, p.explanation_ja, p.explanation_en, "       \
    "p.explanation_hash, p.categories, p.recipients, p.legal_basis, p.retention_days, "            \
    "p.scope_change, p.published_ms, p.published_by, (SELECT MAX(q.version) FROM "                 \
    "consent_purpose_version q WHERE q.code = p.code) FROM consent_purpose_version p "

static int list_status(struct purpose_list *l, int rc, struct err *e)
{
    if (rc != 0)
        return rc;
    if (l->nomem)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (l->bad)
        return err_set(e, ERR_INTERNAL, "consent: a stored purpose is malformed");
    return 0;
}

int consent_purpose_get(struct store *s, const char *code, int64_t version,
                        struct consent_purpose *out, struct arena *a, struct err *e)
{
    int rc = consent__check_code(code, e);
    if (rc != 0)
        return rc;
    struct purpose_list l = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(code), STORE_INT_V(version)};
    rc =
        list_status(&l,
                    version == 0 ? store_query(s,
                                               PURPOSE_COLS "WHERE p.code = ? ORDER BY "
                                                            "p.version DESC LIMIT 1",
                                               v, 1, read_purpose, &l, e)
                                 : store_query(s, PURPOSE_COLS "WHERE p.code = ? AND p.version = ?",
                                               v, 2, read_purpose, &l, e),
                    e);
    if (rc != 0)
        return rc;
    if (l.n == 0)
        return err_set(e, ERR_NOTFOUND, "purpose: no such purpose version");
    *out = l.items[0];
    return 0;
}

int consent_purpose_list(struct store *s, int current_only, struct arena *a,
                         struct consent_purpose **out, size_t *n, struct err *e)
{
    struct purpose_list l = {.a = a};
    int rc = list_status(&l,
                         store_query(s,
                                     current_only ? PURPOSE_COLS
                                         "WHERE p.version = (SELECT MAX(q.version) FROM "
                                         "consent_purpose_version q WHERE q.code = "
                                         "p.code) ORDER BY p.code"
                                                  : PURPOSE_COLS "ORDER BY p.code, p.version",
                                     NULL, 0, read_purpose, &l, e),
                         e);
    *out = rc == 0 ? l.items : NULL;
    *n = rc == 0 ? l.n : 0;
    return rc;
}
