/* pharmacy.c - the pharmacy the citizen chose (rx_pharmacy_choice, migration 16) with the
 * consent it rests on, the decision for a pharmacy's staff under the "pharmacy" purpose, and
 * the demo's purpose, prescriber consent and choice (`cityos demo`, STORY.md S1 step 5). */
#include <stdio.h>
#include <string.h>

#define VISITS_RX_INTERNAL
#include "base/clock.h"
#include "consent/consent.h"
#include "identity/org.h"
#include "services/visits/prescription.h"

struct choice_row {
    struct visits_rx_choice *c;
};

static int choice_row(const struct store_row *row, void *ctx)
{
    struct visits_rx_choice *c = ctx;
    const char *p = store_row_text(row, 0, NULL), *k = store_row_text(row, 1, NULL);
    snprintf(c->pharmacy, sizeof c->pharmacy, "%s", p != NULL ? p : "");
    snprintf(c->consent, sizeof c->consent, "%s", k != NULL ? k : "");
    c->updated_ms = store_row_int(row, 2);
    c->found = 1;
    return 1;
}

int visits__rx_choice_get(struct store *s, const char *subject, struct visits_rx_choice *out,
                          struct err *e)
{
    memset(out, 0, sizeof *out);
    struct store_value v[] = {STORE_TEXT_V(subject)};
    return store_query(s,
                       "SELECT org_id, consent_id, updated_ms FROM rx_pharmacy_choice WHERE "
                       "subject_id = ?",
                       v, 1, choice_row, out, e);
}

int visits__rx_choice_put(struct store_tx *tx, const char *subject, const char *pharmacy,
                          const char *consent, int64_t now_ms, struct err *e)
{
    struct store_value v[] = {STORE_TEXT_V(subject), STORE_TEXT_V(pharmacy), STORE_TEXT_V(consent),
                              STORE_INT_V(now_ms)};
    int rc = store_tx_exec(tx,
                           "INSERT INTO rx_pharmacy_choice (subject_id, org_id, consent_id, "
                           "updated_ms) VALUES (?, ?, ?, ?) ON CONFLICT (subject_id) DO UPDATE "
                           "SET org_id = excluded.org_id, consent_id = excluded.consent_id, "
                           "updated_ms = excluded.updated_ms",
                           v, 4, e);
    return rc < 0 ? rc : 0;
}

int visits__rx_decide_pharmacy(const char *pharmacy, const char *subject, unsigned action,
                               int64_t now_ms, struct consent_decision *d)
{
    const struct consent_index *ix = consent_index_global();
    if (ix == NULL)
        return ERR_UNAVAILABLE;
    struct consent_query q;
    memset(&q, 0, sizeof q);
    q.actor_kind = ID_PRINCIPAL_PRACTITIONER;
    q.org_id = pharmacy;
    q.role = "pharmacist";
    q.subject = subject;
    q.category = CONSENT_CAT_MEDICATIONS;
    q.action = action;
    q.purpose = VISITS_RX_PURPOSE;
    q.now_ms = now_ms;
    return consent_decide(ix, &q, d) == 0 ? 0 : ERR_INVALID;
}

/* ---- the demo ---- */

static const char TITLE_JA[] = "電子処方箋とお薬の受け取り";
static const char TITLE_EN[] = "E-prescriptions and your pharmacy";
static const char TEXT_JA[] =
    "医師が発行した処方箋(お薬の名前、飲み方、量、日数)を、あなたが選んだ薬局に電子的に"
    "送ります。薬局はそれを見てお薬を準備し、オンラインでお薬の説明(服薬指導)をして、"
    "調剤の記録を残し、お届けします。処方する医療機関(あなたのかかりつけ医など)と、あなたが"
    "選んだ薬局が、この目的であなたのお薬の記録を書き、読みます。\n"
    "なぜ: 紙の処方箋を持って薬局に行かなくても、お薬を受け取れるようにするためです。\n"
    "共有しないもの: お薬の記録(処方・調剤)以外のデータ(血圧、検査結果、病名、位置など)は"
    "共有しません。あなたが選んでいない薬局には渡しません。\n"
    "保存期間: 処方と調剤の記録は、薬剤師法にあわせて最長5年間(1825日)保存され、その後"
    "消去されます。\n"
    "やめたいとき: ポータルの「同意の管理」からいつでも撤回できます。撤回したその時から、"
    "薬局は新しい処方箋を受け取れず、あなたのお薬の記録も見られなくなります。";
static const char TEXT_EN[] =
    "The prescriptions your doctor issues (the medicine's name, how to take it, how much and for "
    "how many days) are sent electronically to the pharmacy you chose. The pharmacy prepares "
    "your medicine, gives you the medication guidance online, records the dispensing and "
    "delivers it. The prescribing clinic or hospital (your family doctor, say) and the pharmacy "
    "you chose write and read your medication records for this purpose.\n"
    "Why: so that you get your medicine without taking a paper prescription to the pharmacy.\n"
    "Not shared: anything but your medication records (no blood pressure, test results, "
    "diagnoses or location), and nothing goes to a pharmacy you did not choose.\n"
    "How long: prescriptions and dispensing records are kept for at most 5 years (1825 days), "
    "as pharmacy law requires, then deleted.\n"
    "To stop: withdraw at any time under \"My consents\" in the portal. From that moment the "
    "pharmacy receives no new prescriptions and can no longer see your medication records.";

static int publish(struct store *s, struct arena *a, const char *clinic, const char *hospital,
                   struct err *e)
{
    struct consent_purpose have;
    int rc = consent_purpose_get(s, VISITS_RX_PURPOSE, 0, &have, a, e);
    if (rc != ERR_NOTFOUND)
        return rc; /* the demo never overrides the city */
    err_clear(e);
    const char **pharmacies = NULL;
    size_t np = 0;
    struct store_value v[] = {STORE_TEXT_V(id_org_kind_name(ID_ORG_PHARMACY))};
    rc = store_query_texts(s, "SELECT id FROM organisation WHERE kind = ? ORDER BY id", v, 1,
                           CONSENT_RECIPIENTS_MAX, a, &pharmacies, &np, e);
    const char **all = rc == 0 ? arena_zalloc(a, (np + 2) * sizeof *all) : NULL;
    if (rc == 0 && all == NULL)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc != 0)
        return rc;
    size_t n = 0;
    all[n++] = clinic;
    all[n++] = hospital;
    for (size_t i = 0; i < np && n < CONSENT_RECIPIENTS_MAX; i++)
        all[n++] = pharmacies[i];
    struct consent_purpose_new in = {
        .code = VISITS_RX_PURPOSE,
        .title_ja = TITLE_JA,
        .title_en = TITLE_EN,
        .explanation_ja = TEXT_JA,
        .explanation_en = TEXT_EN,
        .cats = (consent_cats)1u << CONSENT_CAT_MEDICATIONS,
        .recipients = all,
        .nrecipients = n,
        .legal_basis = CONSENT_BASIS_CONSENT,
        .retention_days = 1825,
        .published_by = "operator",
    };
    return consent_purpose_publish(s, NULL, &in, clock_now_ms(), NULL, NULL, e);
}

/* 太郎's consent for org under "pharmacy" (medications, read and write) unless he holds or
 * held one for it. *id (IDS_LEN + 1) gets the consent's id. */
static int grant(struct store *s, struct arena *a, const char *taro, const char *org,
                 const char *request_id, char *id, struct err *e)
{
    struct consent_record *list = NULL;
    size_t n = 0;
    int rc = consent_list_for_subject(s, taro, a, &list, &n, e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (strcmp(list[i].purpose_code, VISITS_RX_PURPOSE) == 0 && list[i].recipient_id &&
            strcmp(list[i].recipient_id, org) == 0) {
            memcpy(id, list[i].id, IDS_LEN + 1);
            return list[i].withdrawn ? 1 : 0; /* 1: withdrawn, never granted again */
        }
    struct consent_purpose cur;
    if (rc == 0)
        rc = consent_purpose_get(s, VISITS_RX_PURPOSE, 0, &cur, a, e);
    if (rc != 0)
        return rc;
    int64_t now = clock_now_ms();
    struct audit_event actor = {
        .actor_kind = AUDIT_ACTOR_PERSON, .actor_id = taro, .request_id = request_id};
    struct consent_write w = {
        .op = CONSENT_OP_GRANT,
        .store = s,
        .now_ms = now,
        .actor = &actor,
        .subject_id = taro,
        .by = taro,
        .recipient_kind = CONSENT_TO_ORGANISATION,
        .recipient_id = org,
        .purpose_code = VISITS_RX_PURPOSE,
        .purpose_version = cur.version,
        .cats = (consent_cats)1u << CONSENT_CAT_MEDICATIONS,
        .actions = CONSENT_READ | CONSENT_WRITE,
        .evidence = {.explanation_hash = cur.explanation_hash,
                     .shown_ms = now - 2 * 60 * 1000,
                     .agreed_ms = now - 60 * 1000,
                     .channel = CONSENT_CHANNEL_PORTAL},
    };
    rc = consent_write_run(&w, e);
    if (rc == 0)
        memcpy(id, w.id, IDS_LEN + 1);
    return rc;
}

struct choice_write {
    const char *taro, *pharmacy, *consent;
};

static int choice_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    const struct choice_write *c = ctx;
    return visits__rx_choice_put(tx, c->taro, c->pharmacy, c->consent, clock_now_ms(), e);
}

int visits_rx_demo_seed(struct store *s, const char *taro, const char *clinic, const char *hospital,
                        const char *pharmacy, struct err *e)
{
    struct arena *a = arena_new(8192);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    char clinic_consent[IDS_LEN + 1], pharmacy_consent[IDS_LEN + 1];
    int rc = publish(s, a, clinic, hospital, e);
    if (taro == NULL) { /* the city's side only */
        arena_free(a);
        return rc;
    }
    if (rc == 0) { /* his family doctor prescribes (1: he withdrew it once: left alone) */
        int r = grant(s, a, taro, clinic, "demo-s1-pharmacy-clinic", clinic_consent, e);
        rc = r < 0 ? r : 0;
    }
    int withdrawn = 0;
    if (rc == 0) {
        int r = grant(s, a, taro, pharmacy, "demo-s1-pharmacy-choice", pharmacy_consent, e);
        rc = r < 0 ? r : 0;
        withdrawn = r == 1;
    }
    struct visits_rx_choice have;
    if (rc == 0 && !withdrawn)
        rc = visits__rx_choice_get(s, taro, &have, e);
    if (rc == 0 && !withdrawn && !have.found) {
        struct choice_write c = {taro, pharmacy, pharmacy_consent};
        rc = store_write(s, choice_fn, &c, e);
    }
    arena_free(a);
    return rc;
}
