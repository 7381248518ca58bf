/* consent.c - consents in the store: grant, narrow, withdraw and re-consent as one write each
 * (the consent row, its history event, the change sequence, the audit entry, and the index),
 * and reading a citizen's consents back. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "consent/consent.h"
#include "consent/internal.h"
#include "identity/person.h"

static const char *const op_names[] = {"grant", "narrow", "withdraw", "reconsent"};

/* ---- checks without the database ---- */

static int check_evidence(const struct consent_evidence *ev, int64_t now, struct err *e)
{
    if (!consent__is_hex64(ev->explanation_hash))
        return err_set(e, ERR_INVALID, "evidence.explanation_hash: 64 lower-case hex characters");
    if (consent_channel_name(ev->channel) == NULL)
        return err_set(e, ERR_INVALID, "evidence.channel: unknown");
    if (ev->shown_ms <= 0 || ev->agreed_ms <= 0)
        return err_set(e, ERR_INVALID, "evidence: shown_at and agreed_at are required");
    if (ev->shown_ms > ev->agreed_ms)
        return err_set(e, ERR_INVALID, "evidence.agreed_at: before shown_at");
    if (ev->agreed_ms > now + CONSENT_CLOCK_SKEW_MS)
        return err_set(e, ERR_INVALID, "evidence.agreed_at: in the future");
    if (ev->agreed_ms < now - CONSENT_EVIDENCE_AGE_MS)
        return err_set(e, ERR_INVALID, "evidence.agreed_at: more than a day ago");
    return 0;
}

int consent_write_check(const struct consent_write *w, struct err *e)
{
    if ((unsigned)w->op > CONSENT_OP_RECONSENT)
        return err_set(e, ERR_INVALID, "op: unknown");
    if (w->store == NULL || w->actor == NULL)
        return err_set(e, ERR_INVALID, "store and actor are required");
    if (w->subject_id == NULL || !ids_valid(w->subject_id))
        return err_set(e, ERR_INVALID, "subject: not a well-formed regional ID");
    if (w->by == NULL || !ids_valid(w->by))
        return err_set(e, ERR_INVALID, "by: not a well-formed regional ID");
    int rc = check_evidence(&w->evidence, w->now_ms, e);
    if (rc != 0)
        return rc;
    if (w->cats & ~CONSENT_CATS_ALL)
        return err_set(e, ERR_INVALID, "categories: unknown category");
    if (w->actions > (CONSENT_READ | CONSENT_WRITE))
        return err_set(e, ERR_INVALID, "actions: read and/or write");
    if (w->valid_from_ms < 0 || w->valid_until_ms < 0)
        return err_set(e, ERR_INVALID, "period: times must be after 1970");
    switch (w->op) {
    case CONSENT_OP_GRANT:
        if (consent_recipient_kind_name(w->recipient_kind) == NULL)
            return err_set(e, ERR_INVALID, "recipient.kind: unknown");
        if (w->recipient_kind == CONSENT_TO_PURPOSE
                ? w->recipient_id != NULL
                : (w->recipient_id == NULL || !ids_valid(w->recipient_id)))
            return err_set(e, ERR_INVALID,
                           w->recipient_kind == CONSENT_TO_PURPOSE
                               ? "recipient.id: none for kind purpose"
                               : "recipient.id: not a well-formed id");
        if (w->recipient_kind == CONSENT_TO_PERSON && strcmp(w->recipient_id, w->subject_id) == 0)
            return err_set(e, ERR_INVALID, "recipient.id: the citizen themselves");
        if ((rc = consent__check_code(w->purpose_code, e)) != 0)
            return rc;
        if (w->purpose_version < 1)
            return err_set(e, ERR_INVALID, "purpose.version: 1 or more");
        if (w->cats == 0)
            return err_set(e, ERR_INVALID, "categories: at least one");
        if (w->actions == 0)
            return err_set(e, ERR_INVALID, "actions: at least one");
        if (w->valid_until_ms != 0) {
            int64_t from = w->valid_from_ms ? w->valid_from_ms : w->now_ms;
            if (w->valid_until_ms <= from || w->valid_until_ms <= w->now_ms)
                return err_set(e, ERR_INVALID, "period.end: after the start and after now");
        }
        return 0;
    case CONSENT_OP_NARROW:
    case CONSENT_OP_WITHDRAW:
        if (w->consent_id == NULL || !ids_valid(w->consent_id))
            return err_set(e, ERR_INVALID, "id: not a well-formed consent id");
        return 0;
    case CONSENT_OP_RECONSENT:
        if (w->item_id == NULL || !ids_valid(w->item_id))
            return err_set(e, ERR_INVALID, "id: not a well-formed inbox item id");
        return 0;
    }
    return 0;
}

/* ---- reading rows inside the write ---- */

struct cur {
    int found, bad;
    char recipient_kind[16], recipient_id[IDS_LEN + 1], code[CONSENT_CODE_MAX + 1];
    char status[16], hash[CONSENT_HEX_LEN + 1];
    int64_t version, from, until, latest;
    consent_cats cats, vcats;
    unsigned actions;
};

static int copy_col(const struct store_row *row, int col, char *buf, size_t size)
{
    const char *t = store_row_text(row, col, NULL);
    if (t == NULL) {
        buf[0] = '\0';
        return store_row_is_null(row, col) ? 0 : -1;
    }
    size_t n = strlen(t);
    if (n >= size)
        return -1;
    memcpy(buf, t, n + 1);
    return 0;
}

/* a consent with its purpose version: recipient_kind, recipient_id, purpose_code,
 * purpose_version, categories, actions, valid_from_ms, valid_until_ms, status, the version's
 * explanation_hash and categories, the code's latest version */
static int read_cur(const struct store_row *row, void *ctx)
{
    struct cur *c = ctx;
    c->found = 1;
    if (copy_col(row, 0, c->recipient_kind, sizeof c->recipient_kind) != 0 ||
        copy_col(row, 1, c->recipient_id, sizeof c->recipient_id) != 0 ||
        copy_col(row, 2, c->code, sizeof c->code) != 0 ||
        copy_col(row, 8, c->status, sizeof c->status) != 0 ||
        copy_col(row, 9, c->hash, sizeof c->hash) != 0 ||
        consent_cats_parse(store_row_text(row, 4, NULL), &c->cats, NULL) != 0 ||
        consent_actions_parse(store_row_text(row, 5, NULL), &c->actions) != 0 ||
        consent_cats_parse(store_row_text(row, 10, NULL), &c->vcats, NULL) != 0)
        c->bad = 1;
    c->version = store_row_int(row, 3);
    c->from = store_row_int(row, 6);
    c->until = store_row_is_null(row, 7) ? 0 : store_row_int(row, 7);
    c->latest = store_row_int(row, 11);
    return 1;
}

static int load_consent(struct store_tx *tx, const struct consent_write *w, struct cur *c,
                        struct err *e)
{
    struct store_value v[] = {STORE_TEXT_V(w->consent_id), STORE_TEXT_V(w->subject_id)};
    int rc = store_tx_query(
        tx,
        "SELECT c.recipient_kind, c.recipient_id, c.purpose_code, c.purpose_version, "
        "c.categories, c.actions, c.valid_from_ms, c.valid_until_ms, c.status, "
        "p.explanation_hash, p.categories, (SELECT MAX(q.version) FROM consent_purpose_version q "
        "WHERE q.code = c.purpose_code) FROM consent c JOIN consent_purpose_version p ON "
        "p.code = c.purpose_code AND p.version = c.purpose_version WHERE c.id = ? AND "
        "c.subject_id = ?",
        v, 2, read_cur, c, e);
    if (rc != 0)
        return rc;
    if (!c->found)
        return err_set(e, ERR_NOTFOUND, "consent: no such consent of this citizen");
    if (c->bad)
        return err_set(e, ERR_INTERNAL, "consent: the stored consent is malformed");
    if (strcmp(c->status, "active") != 0)
        return err_set(e, ERR_CONFLICT, "consent: already withdrawn");
    return 0;
}

/* Is w->by the subject, or a delegate whose link (valid now) lets them manage consents? */
struct link_check {
    int64_t now;
    int ok;
};

static int read_link(const struct store_row *row, void *ctx)
{
    struct link_check *l = ctx;
    unsigned rights = 0;
    int64_t from = store_row_int(row, 1),
            until = store_row_is_null(row, 2) ? 0 : store_row_int(row, 2);
    if (id_rights_parse(store_row_text(row, 0, NULL), &rights, NULL) == 0 && from <= l->now &&
        (until == 0 || l->now < until) &&
        (rights & (ID_RIGHT_MANAGE_CONSENTS | ID_RIGHT_EVERYTHING)))
        l->ok = 1;
    return l->ok;
}

static int authorise(struct store_tx *tx, const struct consent_write *w, struct err *e)
{
    if (strcmp(w->by, w->subject_id) == 0)
        return 0;
    struct link_check l = {.now = w->now_ms};
    struct store_value v[] = {STORE_TEXT_V(w->subject_id), STORE_TEXT_V(w->by)};
    int rc = store_tx_query(tx,
                            "SELECT rights, valid_from_ms, valid_until_ms FROM family_link "
                            "WHERE subject_id = ? AND delegate_id = ?",
                            v, 2, read_link, &l, e);
    if (rc != 0)
        return rc;
    return l.ok ? 0
                : err_set(e, ERR_INVALID,
                          "by: not allowed to manage this citizen's consents (manage_consents)");
}

static int exists(struct store_tx *tx, const char *sql, const char *id, struct err *e)
{
    int64_t n = 0;
    struct store_value v[] = {STORE_TEXT_V(id)};
    int rc = store_tx_query(tx, sql, v, 1, consent__read_int, &n, e);
    return rc != 0 ? rc : n > 0;
}

/* ---- the pieces every change writes ---- */

static int write_event(struct store_tx *tx, struct consent_write *w, const char *consent_id,
                       int64_t version, consent_cats cats, unsigned actions, int64_t from,
                       int64_t until, struct err *e)
{
    int64_t seq = 0;
    struct store_value qv[] = {STORE_TEXT_V(consent_id)};
    int rc = store_tx_query(tx, "SELECT MAX(seq) FROM consent_event WHERE consent_id = ?", qv, 1,
                            consent__read_int, &seq, e);
    if (rc != 0)
        return rc;
    char ctext[CONSENT_CATS_TEXT_MAX];
    struct store_value v[] = {
        STORE_TEXT_V(consent_id),
        STORE_INT_V(seq + 1),
        STORE_TEXT_V(w->subject_id),
        STORE_TEXT_V(op_names[w->op]),
        STORE_INT_V(w->now_ms),
        STORE_TEXT_V(w->by),
        STORE_INT_V(version),
        STORE_TEXT_V(consent_cats_format(cats, ctext)),
        STORE_TEXT_V(consent_actions_name(actions)),
        STORE_INT_V(from),
        until ? STORE_INT_V(until) : STORE_NULL_V,
        STORE_TEXT_V(w->evidence.explanation_hash),
        STORE_INT_V(w->evidence.shown_ms),
        STORE_INT_V(w->evidence.agreed_ms),
        STORE_TEXT_V(consent_channel_name(w->evidence.channel)),
    };
    rc = store_tx_exec(tx,
                       "INSERT INTO consent_event (consent_id, seq, subject_id, kind, at_ms, "
                       "by_id, purpose_version, categories, actions, valid_from_ms, "
                       "valid_until_ms, explanation_hash, shown_ms, agreed_ms, channel) VALUES "
                       "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       v, 15, e);
    if (rc < 0)
        return rc;
    if ((rc = consent__next_change_seq(tx, &w->change_seq, e)) != 0)
        return rc;
    struct store_value cv[] = {STORE_INT_V(w->change_seq), STORE_TEXT_V(w->subject_id),
                               STORE_INT_V(w->now_ms)};
    rc = store_tx_exec(tx,
                       "INSERT INTO consent_change (seq, subject_id, purpose_code, at_ms) "
                       "VALUES (?, ?, NULL, ?)",
                       cv, 3, e);
    return rc < 0 ? rc : 0;
}

static int write_audit(struct store_tx *tx, const struct consent_write *w, const char *action,
                       const char *consent_id, const char *code, int64_t version, consent_cats cats,
                       struct err *e)
{
    char purpose[CONSENT_CODE_MAX + 24], ctext[CONSENT_CATS_TEXT_MAX];
    snprintf(purpose, sizeof purpose, "%s@%lld", code, (long long)version);
    struct audit_event ev = *w->actor;
    ev.time_ms = w->now_ms;
    ev.subject = w->subject_id;
    ev.action = action;
    ev.resource_type = "Consent";
    ev.resource_id = consent_id;
    ev.category = consent_cats_format(cats, ctext);
    ev.purpose = purpose;
    ev.decision = AUDIT_PERMIT;
    ev.decided_by = strcmp(w->by, w->subject_id) == 0 ? CONSENT_RULE_SELF : CONSENT_RULE_DELEGATE;
    ev.reason = op_names[w->op];
    return audit_append(tx, &ev, NULL, e);
}

static void set_applied(struct consent_write *w, const char *id, enum consent_recipient_kind k,
                        const char *recipient, const char *code, int64_t version, consent_cats cats,
                        unsigned actions, int64_t from, int64_t until)
{
    memcpy(w->id, id, IDS_LEN + 1);
    snprintf(w->applied_recipient, sizeof w->applied_recipient, "%s",
             recipient != NULL ? recipient : "");
    snprintf(w->applied_code, sizeof w->applied_code, "%s", code);
    w->applied = (struct consent_index_consent){
        .id = w->id,
        .subject_id = w->subject_id,
        .recipient_kind = k,
        .recipient_id = k == CONSENT_TO_PURPOSE ? NULL : w->applied_recipient,
        .purpose_code = w->applied_code,
        .purpose_version = version,
        .cats = cats,
        .actions = actions,
        .valid_from_ms = from,
        .valid_until_ms = until};
}

/* ---- the four changes ---- */

struct version_row {
    int found;
    char hash[CONSENT_HEX_LEN + 1];
    consent_cats cats;
    int64_t latest;
    int bad;
};

static int read_version(const struct store_row *row, void *ctx)
{
    struct version_row *v = ctx;
    v->found = 1;
    if (copy_col(row, 0, v->hash, sizeof v->hash) != 0 ||
        consent_cats_parse(store_row_text(row, 1, NULL), &v->cats, NULL) != 0)
        v->bad = 1;
    v->latest = store_row_int(row, 2);
    return 1;
}

static int load_version(struct store_tx *tx, const char *code, int64_t version,
                        struct version_row *vr, struct err *e)
{
    struct store_value v[] = {STORE_TEXT_V(code), STORE_INT_V(version)};
    int rc = store_tx_query(tx,
                            "SELECT p.explanation_hash, p.categories, (SELECT MAX(q.version) FROM "
                            "consent_purpose_version q WHERE q.code = p.code) FROM "
                            "consent_purpose_version p WHERE p.code = ? AND p.version = ?",
                            v, 2, read_version, vr, e);
    if (rc != 0)
        return rc;
    if (!vr->found)
        return err_set(e, ERR_NOTFOUND, "purpose: no such purpose version");
    if (vr->bad)
        return err_set(e, ERR_INTERNAL, "consent: the stored purpose is malformed");
    return 0;
}

static int grant_fn(struct store_tx *tx, struct consent_write *w, struct err *e)
{
    int rc = exists(tx, "SELECT COUNT(*) FROM person WHERE id = ?", w->subject_id, e);
    if (rc <= 0)
        return rc < 0 ? rc : err_set(e, ERR_NOTFOUND, "subject: no such person");
    if ((rc = authorise(tx, w, e)) != 0)
        return rc;
    struct version_row vr = {0};
    if ((rc = load_version(tx, w->purpose_code, w->purpose_version, &vr, e)) != 0)
        return rc;
    if (vr.latest != w->purpose_version)
        return err_set(e, ERR_INVALID, "purpose.version: not the current version (%lld)",
                       (long long)vr.latest);
    if (strcmp(vr.hash, w->evidence.explanation_hash) != 0)
        return err_set(e, ERR_INVALID,
                       "evidence.explanation_hash: not the explanation of this purpose version");
    if (w->cats & ~vr.cats)
        return err_set(e, ERR_INVALID, "categories: the purpose does not cover them all");
    static const char *const recipient_sql[] = {
        "SELECT COUNT(*) FROM organisation WHERE id = ?",
        "SELECT COUNT(*) FROM oauth_client WHERE id = ?",
        "SELECT COUNT(*) FROM person WHERE id = ?",
    };
    if (w->recipient_kind != CONSENT_TO_PURPOSE) {
        rc = exists(tx, recipient_sql[w->recipient_kind], w->recipient_id, e);
        if (rc <= 0)
            return rc < 0 ? rc
                          : err_set(e, ERR_NOTFOUND, "recipient.id: no such %s",
                                    consent_recipient_kind_name(w->recipient_kind));
    }
    char id[IDS_LEN + 1], ctext[CONSENT_CATS_TEXT_MAX];
    if (w->grant_id != NULL) { /* made by the caller, so a receipt could name it */
        if (!ids_valid(w->grant_id))
            return err_set(e, ERR_INVALID, "id: not a well-formed id");
        memcpy(id, w->grant_id, IDS_LEN + 1);
    } else {
        ids_new(id);
    }
    int64_t from = w->valid_from_ms ? w->valid_from_ms : w->now_ms;
    struct store_value v[] = {
        STORE_TEXT_V(id),
        STORE_TEXT_V(w->subject_id),
        STORE_TEXT_V(w->by),
        STORE_TEXT_V(consent_recipient_kind_name(w->recipient_kind)),
        w->recipient_id ? STORE_TEXT_V(w->recipient_id) : STORE_NULL_V,
        STORE_TEXT_V(w->purpose_code),
        STORE_INT_V(w->purpose_version),
        STORE_TEXT_V(consent_cats_format(w->cats, ctext)),
        STORE_TEXT_V(consent_actions_name(w->actions)),
        STORE_INT_V(from),
        w->valid_until_ms ? STORE_INT_V(w->valid_until_ms) : STORE_NULL_V,
        STORE_TEXT_V(w->evidence.explanation_hash),
        STORE_INT_V(w->evidence.shown_ms),
        STORE_INT_V(w->evidence.agreed_ms),
        STORE_TEXT_V(consent_channel_name(w->evidence.channel)),
        STORE_INT_V(w->now_ms),
        STORE_INT_V(w->now_ms),
    };
    rc = store_tx_exec(tx,
                       "INSERT INTO consent (id, subject_id, granted_by, recipient_kind, "
                       "recipient_id, purpose_code, purpose_version, categories, actions, "
                       "valid_from_ms, valid_until_ms, status, explanation_hash, shown_ms, "
                       "agreed_ms, channel, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, "
                       "?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)",
                       v, 17, e);
    if (rc < 0)
        return rc;
    rc =
        write_event(tx, w, id, w->purpose_version, w->cats, w->actions, from, w->valid_until_ms, e);
    if (rc == 0)
        rc = write_audit(tx, w, "create", id, w->purpose_code, w->purpose_version, w->cats, e);
    if (rc == 0)
        set_applied(w, id, w->recipient_kind, w->recipient_id, w->purpose_code, w->purpose_version,
                    w->cats, w->actions, from, w->valid_until_ms);
    return rc;
}

/* A narrowing or withdrawal changes memory before its commit: until consent_write_finish, a
 * reload of the citizen (another process's change, a new family link) must not put back what
 * the store said before it (consent_index_reload_subject defers). Once per write, even if the
 * writer runs the write function again. */
static void begin_in_memory(struct consent_write *w)
{
    if (!w->ix_pending) {
        consent__write_begin(w->ix, w->subject_id);
        w->ix_pending = 1;
    }
}

static int narrow_fn(struct store_tx *tx, struct consent_write *w, struct err *e)
{
    struct cur c = {0};
    int rc = load_consent(tx, w, &c, e);
    if (rc == 0)
        rc = authorise(tx, w, e);
    if (rc != 0)
        return rc;
    if (strcmp(c.hash, w->evidence.explanation_hash) != 0)
        return err_set(e, ERR_INVALID,
                       "evidence.explanation_hash: not the explanation of the consent's version");
    consent_cats cats = w->cats ? w->cats : c.cats;
    unsigned actions = w->actions ? w->actions : c.actions;
    int64_t from = w->valid_from_ms ? w->valid_from_ms : c.from;
    int64_t until = w->valid_until_ms ? w->valid_until_ms : c.until;
    if (cats & ~c.cats)
        return err_set(e, ERR_INVALID, "categories: a narrowing cannot add a category");
    if (actions & ~c.actions)
        return err_set(e, ERR_INVALID, "actions: a narrowing cannot add an action");
    if (from < c.from)
        return err_set(e, ERR_INVALID, "period.start: a narrowing cannot start earlier");
    if (c.until != 0 && (until == 0 || until > c.until))
        return err_set(e, ERR_INVALID, "period.end: a narrowing cannot end later");
    if (until != 0 && (until <= from || until <= w->now_ms))
        return err_set(e, ERR_INVALID, "period.end: after the start and after now (or withdraw)");
    if (cats == c.cats && actions == c.actions && from == c.from && until == c.until)
        return err_set(e, ERR_INVALID, "nothing to narrow: the scope is the same");
    enum consent_recipient_kind k;
    if (consent_recipient_kind_parse(c.recipient_kind, &k) != 0)
        return err_set(e, ERR_INTERNAL, "consent: the stored consent is malformed");
    char ctext[CONSENT_CATS_TEXT_MAX];
    struct store_value v[] = {
        STORE_TEXT_V(consent_cats_format(cats, ctext)),
        STORE_TEXT_V(consent_actions_name(actions)),
        STORE_INT_V(from),
        until ? STORE_INT_V(until) : STORE_NULL_V,
        STORE_INT_V(w->now_ms),
        STORE_TEXT_V(w->consent_id),
    };
    rc = store_tx_exec(tx,
                       "UPDATE consent SET categories = ?, actions = ?, valid_from_ms = ?, "
                       "valid_until_ms = ?, updated_ms = ? WHERE id = ? AND status = 'active'",
                       v, 6, e);
    if (rc < 0)
        return rc;
    rc = write_event(tx, w, w->consent_id, c.version, cats, actions, from, until, e);
    if (rc == 0)
        rc = write_audit(tx, w, "update", w->consent_id, c.code, c.version, cats, e);
    if (rc != 0)
        return rc;
    set_applied(w, w->consent_id, k, c.recipient_id[0] ? c.recipient_id : NULL, c.code, c.version,
                cats, actions, from, until);
    /* narrowing: into memory before the commit (seeing it early is the safe direction) */
    if (w->ix != NULL) {
        begin_in_memory(w);
        if (consent_index_put_consent(w->ix, &w->applied) != 0)
            return err_set(e, ERR_NOMEM, "consent index: out of memory");
        consent__note_change_seq(w->ix, w->change_seq);
    }
    return 0;
}

static int withdraw_fn(struct store_tx *tx, struct consent_write *w, struct err *e)
{
    struct cur c = {0};
    int rc = load_consent(tx, w, &c, e);
    if (rc == 0)
        rc = authorise(tx, w, e);
    if (rc != 0)
        return rc;
    if (strcmp(c.hash, w->evidence.explanation_hash) != 0)
        return err_set(e, ERR_INVALID,
                       "evidence.explanation_hash: not the explanation of the consent's version");
    struct store_value v[] = {
        STORE_INT_V(w->now_ms),
        STORE_TEXT_V(w->by),
        STORE_TEXT_V(w->evidence.explanation_hash),
        STORE_INT_V(w->evidence.shown_ms),
        STORE_INT_V(w->evidence.agreed_ms),
        STORE_TEXT_V(consent_channel_name(w->evidence.channel)),
        STORE_INT_V(w->now_ms),
        STORE_TEXT_V(w->consent_id),
    };
    rc = store_tx_exec(tx,
                       "UPDATE consent SET status = 'withdrawn', withdrawn_ms = ?, "
                       "withdrawn_by = ?, withdrawal_hash = ?, withdrawal_shown_ms = ?, "
                       "withdrawal_agreed_ms = ?, withdrawal_channel = ?, updated_ms = ? "
                       "WHERE id = ? AND status = 'active'",
                       v, 8, e);
    if (rc < 0)
        return rc;
    struct store_value iv[] = {STORE_INT_V(w->now_ms), STORE_TEXT_V(w->consent_id)};
    rc = store_tx_exec(tx,
                       "UPDATE inbox_item SET resolved_ms = ? WHERE consent_id = ? AND "
                       "resolved_ms IS NULL",
                       iv, 2, e);
    if (rc < 0)
        return rc;
    rc = write_event(tx, w, w->consent_id, c.version, c.cats, c.actions, c.from, c.until, e);
    if (rc == 0)
        rc = write_audit(tx, w, "delete", w->consent_id, c.code, c.version, c.cats, e);
    if (rc != 0)
        return rc;
    memcpy(w->id, w->consent_id, IDS_LEN + 1);
    /* withdrawal: out of memory before the commit (seeing it early is the safe direction) */
    if (w->ix != NULL) {
        begin_in_memory(w);
        consent_index_remove_consent(w->ix, w->subject_id, w->consent_id);
        consent__note_change_seq(w->ix, w->change_seq);
    }
    return 0;
}

struct item_row {
    int found, bad;
    char consent_id[IDS_LEN + 1];
    int64_t to_version, resolved;
};

static int read_item(const struct store_row *row, void *ctx)
{
    struct item_row *r = ctx;
    r->found = 1;
    if (copy_col(row, 0, r->consent_id, sizeof r->consent_id) != 0 || r->consent_id[0] == '\0')
        r->bad = 1;
    r->to_version = store_row_int(row, 1);
    r->resolved = store_row_is_null(row, 2) ? 0 : store_row_int(row, 2);
    return 1;
}

static int reconsent_fn(struct store_tx *tx, struct consent_write *w, struct err *e)
{
    struct item_row it = {0};
    struct store_value iv[] = {STORE_TEXT_V(w->item_id), STORE_TEXT_V(w->subject_id)};
    int rc = store_tx_query(tx,
                            "SELECT consent_id, to_version, resolved_ms FROM inbox_item WHERE "
                            "id = ? AND subject_id = ? AND kind = 'reconsent'",
                            iv, 2, read_item, &it, e);
    if (rc != 0)
        return rc;
    if (!it.found)
        return err_set(e, ERR_NOTFOUND, "item: no such re-consent item of this citizen");
    if (it.bad)
        return err_set(e, ERR_INTERNAL, "consent: the stored inbox item is malformed");
    if (it.resolved)
        return err_set(e, ERR_CONFLICT, "item: already resolved");
    w->consent_id = NULL; /* the item names it */
    struct consent_write tmp = *w;
    tmp.consent_id = it.consent_id;
    struct cur c = {0};
    if ((rc = load_consent(tx, &tmp, &c, e)) != 0 || (rc = authorise(tx, w, e)) != 0)
        return rc;
    struct version_row vr = {0};
    if ((rc = load_version(tx, c.code, it.to_version, &vr, e)) != 0)
        return rc;
    if (vr.latest != it.to_version)
        return err_set(e, ERR_CONFLICT, "item: the purpose changed again; reload the inbox");
    if (strcmp(vr.hash, w->evidence.explanation_hash) != 0)
        return err_set(e, ERR_INVALID,
                       "evidence.explanation_hash: not the explanation of the new version");
    consent_cats cats = w->cats ? w->cats : ((c.cats | (vr.cats & ~c.vcats)) & vr.cats);
    if (cats & ~vr.cats)
        return err_set(e, ERR_INVALID, "categories: the purpose does not cover them all");
    if (cats == 0)
        return err_set(e, ERR_INVALID,
                       "categories: the new version covers none of them; "
                       "withdraw instead");
    char ctext[CONSENT_CATS_TEXT_MAX];
    struct store_value v[] = {
        STORE_INT_V(it.to_version),
        STORE_TEXT_V(consent_cats_format(cats, ctext)),
        STORE_TEXT_V(w->evidence.explanation_hash),
        STORE_INT_V(w->evidence.shown_ms),
        STORE_INT_V(w->evidence.agreed_ms),
        STORE_TEXT_V(consent_channel_name(w->evidence.channel)),
        STORE_INT_V(w->now_ms),
        STORE_TEXT_V(it.consent_id),
    };
    rc = store_tx_exec(tx,
                       "UPDATE consent SET purpose_version = ?, categories = ?, "
                       "explanation_hash = ?, shown_ms = ?, agreed_ms = ?, channel = ?, "
                       "updated_ms = ? WHERE id = ? AND status = 'active'",
                       v, 8, e);
    if (rc < 0)
        return rc;
    struct store_value rv[] = {STORE_INT_V(w->now_ms), STORE_TEXT_V(w->item_id)};
    rc = store_tx_exec(tx, "UPDATE inbox_item SET resolved_ms = ? WHERE id = ?", rv, 2, e);
    if (rc < 0)
        return rc;
    rc = write_event(tx, w, it.consent_id, it.to_version, cats, c.actions, c.from, c.until, e);
    if (rc == 0)
        rc = write_audit(tx, w, "update", it.consent_id, c.code, it.to_version, cats, e);
    if (rc != 0)
        return rc;
    enum consent_recipient_kind k;
    if (consent_recipient_kind_parse(c.recipient_kind, &k) != 0)
        return err_set(e, ERR_INTERNAL, "consent: the stored consent is malformed");
    set_applied(w, it.consent_id, k, c.recipient_id[0] ? c.recipient_id : NULL, c.code,
                it.to_version, cats, c.actions, c.from, c.until);
    return 0;
}

int consent_write_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct consent_write *w = ctx;
    int rc = 0;
    /* a receipt made from the consent as it stood: refused if it changed since */
    if (w->receipt_jws != NULL && w->receipt_basis_ms != 0 &&
        (w->op == CONSENT_OP_NARROW || w->op == CONSENT_OP_WITHDRAW))
        rc = consent_receipt_check_basis(tx, w, e);
    if (rc != 0) {
        if (e != NULL)
            w->err = *e;
        return rc;
    }
    switch (w->op) {
    case CONSENT_OP_GRANT:
        rc = grant_fn(tx, w, e);
        break;
    case CONSENT_OP_NARROW:
        rc = narrow_fn(tx, w, e);
        break;
    case CONSENT_OP_WITHDRAW:
        rc = withdraw_fn(tx, w, e);
        break;
    case CONSENT_OP_RECONSENT:
        rc = reconsent_fn(tx, w, e);
        break;
    default:
        rc = err_set(e, ERR_INVALID, "op: unknown");
    }
    if (rc == 0) /* the receipt commits with the change, or neither does */
        rc = consent_receipt_insert(tx, w, e);
    if (rc != 0 && e != NULL)
        w->err = *e;
    return rc;
}

void consent_write_finish(struct consent_write *w, int status)
{
    if (w->ix == NULL)
        return;
    if (status == 0) {
        /* grants and re-consents widen: into memory only now that they are durable (a reload
         * reading the store meanwhile may have read it without them: it is deferred) */
        if (w->op == CONSENT_OP_GRANT || w->op == CONSENT_OP_RECONSENT) {
            consent__write_begin(w->ix, w->subject_id);
            if (consent_index_put_consent(w->ix, &w->applied) != 0)
                log_error("consent index: out of memory applying consent %s: it will be seen "
                          "after the next reload",
                          w->id);
            consent__note_change_seq(w->ix, w->change_seq);
            consent__write_end(w->ix, w->subject_id);
        }
        if (w->ix_pending) /* the change in memory is now the store's too */
            consent__write_end(w->ix, w->subject_id);
        w->ix_pending = 0;
        return;
    }
    if (w->ix_pending)
        consent__write_end(w->ix, w->subject_id);
    if (w->op == CONSENT_OP_NARROW || w->op == CONSENT_OP_WITHDRAW) {
        /* the change may be in memory without its commit: read the store's truth again (waiting
         * out another write of the same stripe of citizens, which defers the reload) */
        struct err e = {0};
        int rc = CONSENT_RELOAD_DEFERRED;
        for (int tries = 0; rc == CONSENT_RELOAD_DEFERRED && tries < 200; tries++) {
            if (tries > 0)
                nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
            rc = consent_index_reload_subject(w->ix, w->store, w->subject_id, &e);
        }
        if (rc != 0)
            log_error("consent index: reload after a failed %s: %s", op_names[w->op],
                      rc == CONSENT_RELOAD_DEFERRED ? "still deferred after 200 ms" : e.msg);
    }
    w->ix_pending = 0;
}

int consent_write_run(struct consent_write *w, struct err *e)
{
    int rc = consent_write_check(w, e);
    if (rc != 0)
        return rc;
    rc = store_write(w->store, consent_write_fn, w, e);
    consent_write_finish(w, rc);
    return rc;
}

int consent_may_manage(struct store *s, const char *delegate_id, const char *subject_id,
                       int64_t now_ms, struct err *e)
{
    struct link_check l = {.now = now_ms};
    struct store_value v[] = {STORE_TEXT_V(subject_id), STORE_TEXT_V(delegate_id)};
    int rc = store_query(s,
                         "SELECT rights, valid_from_ms, valid_until_ms FROM family_link WHERE "
                         "subject_id = ? AND delegate_id = ?",
                         v, 2, read_link, &l, e);
    return rc != 0 ? rc : l.ok;
}

/* ---- reading ---- */

struct record_list {
    struct arena *a;
    struct consent_record *items;
    size_t n, cap;
    int nomem, bad;
};

static const char *arena_col(struct record_list *l, const struct store_row *row, int col)
{
    if (store_row_is_null(row, col))
        return NULL;
    const char *t = arena_strdup(l->a, store_row_text(row, col, NULL));
    if (t == NULL)
        l->nomem = 1;
    return t;
}

static int read_record(const struct store_row *row, void *ctx)
{
    struct record_list *l = ctx;
    struct consent_record *items =
        arena_array_reserve(l->a, l->items, l->n, &l->cap, sizeof *items);
    if (items == NULL) {
        l->nomem = 1;
        return 1;
    }
    l->items = items;
    struct consent_record *r = &items[l->n];
    memset(r, 0, sizeof *r);
    const char *status = store_row_text(row, 11, NULL);
    if (copy_col(row, 0, r->id, sizeof r->id) != 0 ||
        copy_col(row, 1, r->subject_id, sizeof r->subject_id) != 0 ||
        copy_col(row, 2, r->granted_by, sizeof r->granted_by) != 0 ||
        copy_col(row, 5, r->purpose_code, sizeof r->purpose_code) != 0 ||
        consent_recipient_kind_parse(store_row_text(row, 3, NULL), &r->recipient_kind) != 0 ||
        consent_cats_parse(store_row_text(row, 7, NULL), &r->cats, NULL) != 0 ||
        consent_actions_parse(store_row_text(row, 8, NULL), &r->actions) != 0 ||
        consent_channel_parse(store_row_text(row, 15, NULL), &r->evidence.channel) != 0 ||
        status == NULL) {
        l->bad = 1;
        return 1;
    }
    r->recipient_id = arena_col(l, row, 4);
    r->purpose_version = store_row_int(row, 6);
    r->valid_from_ms = store_row_int(row, 9);
    r->valid_until_ms = store_row_is_null(row, 10) ? 0 : store_row_int(row, 10);
    r->withdrawn = strcmp(status, "withdrawn") == 0;
    r->evidence.explanation_hash = arena_col(l, row, 12);
    r->evidence.shown_ms = store_row_int(row, 13);
    r->evidence.agreed_ms = store_row_int(row, 14);
    if (r->withdrawn) {
        r->withdrawn_ms = store_row_int(row, 16);
        r->withdrawn_by = arena_col(l, row, 17);
        r->withdrawal.explanation_hash = arena_col(l, row, 18);
        r->withdrawal.shown_ms = store_row_int(row, 19);
        r->withdrawal.agreed_ms = store_row_int(row, 20);
        if (consent_channel_parse(store_row_text(row, 21, NULL), &r->withdrawal.channel) != 0)
            l->bad = 1;
    }
    r->created_ms = store_row_int(row, 22);
    r->updated_ms = store_row_int(row, 23);
    if (l->nomem || l->bad)
        return 1;
    l->n++;
    return l->n >= CONSENT_LIST_MAX;
}

#define RECORD_COLS                                                                                \
    "SELECT id, subject_id, granted_by, recipient_kind, recipient_id, purpose_code, "              \
    "purpose_version, categories, actions, valid_from_ms, valid_until_ms, status, "                \
    "explanation_hash, shown_ms, agreed_ms, channel, withdrawn_ms, withdrawn_by, "                 \
    "withdrawal_hash, withdrawal_shown_ms, withdrawal_agreed_ms, withdrawal_channel, "             \
    "created_ms, updated_ms FROM consent WHERE subject_id = ? "

static int record_status(struct record_list *l, int rc, struct err *e)
{
    if (rc != 0)
        return rc;
    if (l->nomem)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (l->bad)
        return err_set(e, ERR_INTERNAL, "consent: a stored consent is malformed");
    return 0;
}

int consent_get(struct store *s, const char *subject_id, const char *consent_id,
                struct consent_record *out, struct arena *a, struct err *e)
{
    if (subject_id == NULL || consent_id == NULL || !ids_valid(consent_id))
        return err_set(e, ERR_NOTFOUND, "consent: no such consent of this citizen");
    struct record_list l = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(subject_id), STORE_TEXT_V(consent_id)};
    int rc =
        record_status(&l, store_query(s, RECORD_COLS "AND id = ?", v, 2, read_record, &l, e), e);
    if (rc != 0)
        return rc;
    if (l.n == 0)
        return err_set(e, ERR_NOTFOUND, "consent: no such consent of this citizen");
    *out = l.items[0];
    return 0;
}

int consent_list_for_subject(struct store *s, const char *subject_id, struct arena *a,
                             struct consent_record **out, size_t *n, struct err *e)
{
    struct record_list l = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(subject_id)};
    int rc = record_status(
        &l,
        store_query(s, RECORD_COLS "ORDER BY created_ms DESC, id DESC", v, 1, read_record, &l, e),
        e);
    *out = rc == 0 ? l.items : NULL;
    *n = rc == 0 ? l.n : 0;
    return rc;
}

const char *consent_open_org_consent(struct store *s, const char *subject, const char *org,
                                     const char *purpose, enum consent_category category,
                                     struct arena *a, int *failed)
{
    struct consent_record *list = NULL;
    size_t n = 0;
    struct err e = {0};
    *failed = consent_list_for_subject(s, subject, a, &list, &n, &e) != 0;
    consent_cats want = (consent_cats)1u << category;
    for (size_t i = 0; !*failed && i < n; i++) {
        const struct consent_record *c = &list[i];
        if (!c->withdrawn && c->recipient_kind == CONSENT_TO_ORGANISATION &&
            c->recipient_id != NULL && strcmp(c->recipient_id, org) == 0 &&
            strcmp(c->purpose_code, purpose) == 0 && (c->cats & want) &&
            (c->actions & (CONSENT_READ | CONSENT_WRITE)) == (CONSENT_READ | CONSENT_WRITE) &&
            c->valid_until_ms == 0)
            return arena_strdup(a, c->id);
    }
    return NULL;
}
