/* seed.c - the demo's side of the taxi (`cityos demo`, STORY.md S1 step 10): the city's
 * "mobility" purpose with its texts, every taxi company as its recipient, and the persona's
 * opt-in to his taxi company, granted the way the portal grants (his evidence, him as the
 * actor). Idempotent. */
#include <string.h>

#include "base/clock.h"
#include "consent/consent.h"
#include "identity/org.h"
#include "services/mobility/internal.h"
#include "services/mobility/mobility.h"

static const char TITLE_JA[] = "通院タクシー";
static const char TITLE_EN[] = "Taxi to your appointments";
static const char TEXT_JA[] =
    "病院や診療所に行く予約(対面の診察)をしたとき、予約の時刻に間に合うようにタクシーを"
    "手配します。そのため、お迎えの場所(ご自宅の地区と位置)と時刻、行き先の医療機関と予約の"
    "時刻を、あなたが選んだタクシー会社と共有します。\n"
    "なぜ: 公共交通がなくても、雪の日でも、通院できるようにするためです。お迎えの時刻は、"
    "ご自宅から医療機関までの距離と道路の状況、天候(雪)から計算します。\n"
    "共有しないもの: 病名、診察の内容、お薬、検査の結果など、位置と時刻以外の情報は共有しません。"
    "あなたが選んだ会社以外には渡しません。\n"
    "保存期間: 送迎の記録は最長1年間(365日)保存され、その後消去されます。\n"
    "やめたいとき: ポータルの「同意の管理」からいつでも撤回できます。撤回したその時から、"
    "タクシー会社はあなたの送迎情報を見られなくなり、新しい手配もされません。";
static const char TEXT_EN[] =
    "When you book an in-person visit at a hospital or clinic, a taxi is ordered to get you there "
    "on time. For that, your pickup place (your home district and location) and time, and the "
    "facility and time of your appointment, are shared with the taxi company you chose.\n"
    "Why: so that you can reach your doctor without public transport, and on snowy days too. The "
    "pickup time is computed from the distance between your home and the facility, the roads "
    "and the weather (snow).\n"
    "Not shared: anything but places and times (no illnesses, consultations, medicines or test "
    "results), and nothing goes to any company but the one you chose.\n"
    "How long: the records of your rides are kept for at most 1 year (365 days), then deleted.\n"
    "To stop: withdraw at any time under \"My consents\" in the portal. From that moment the taxi "
    "company can no longer see your rides and no new taxi is ordered.";

static int publish(struct store *s, struct arena *a, struct err *e)
{
    struct consent_purpose have;
    int rc = consent_purpose_get(s, MOBILITY_PURPOSE, 0, &have, a, e);
    if (rc != ERR_NOTFOUND)
        return rc; /* published already (the demo never overrides the city) */
    err_clear(e);
    const char **companies = NULL;
    size_t n = 0;
    struct store_value v[] = {STORE_TEXT_V(id_org_kind_name(ID_ORG_TAXI_COMPANY))};
    rc = store_query_texts(s, "SELECT id FROM organisation WHERE kind = ? ORDER BY id", v, 1,
                           CONSENT_RECIPIENTS_MAX, a, &companies, &n, e);
    if (rc != 0)
        return rc;
    struct consent_purpose_new in = {
        .code = MOBILITY_PURPOSE,
        .title_ja = TITLE_JA,
        .title_en = TITLE_EN,
        .explanation_ja = TEXT_JA,
        .explanation_en = TEXT_EN,
        .cats = (consent_cats)1u << CONSENT_CAT_LOCATION,
        .recipients = companies,
        .nrecipients = n,
        .legal_basis = CONSENT_BASIS_CONSENT,
        .retention_days = 365,
        .published_by = "operator",
    };
    return consent_purpose_publish(s, NULL, &in, clock_now_ms(), NULL, NULL, e);
}

static int optin_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    const struct consent_write *w = ctx;
    return mobility__optin_put(tx, w->subject_id, w->recipient_id, w->id, 1, w->now_ms, e);
}

int mobility_demo_seed(struct store *s, const char *taro, const char *taxi_org, struct err *e)
{
    struct arena *a = arena_new(8192);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    int rc = publish(s, a, e);
    if (taro == NULL) { /* the city's side only */
        arena_free(a);
        return rc;
    }
    struct consent_record *list = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = consent_list_for_subject(s, taro, a, &list, &n, e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (strcmp(list[i].purpose_code, MOBILITY_PURPOSE) == 0) {
            arena_free(a); /* he holds (or held) one: never granted again */
            return 0;
        }
    struct consent_purpose cur;
    if (rc == 0)
        rc = consent_purpose_get(s, MOBILITY_PURPOSE, 0, &cur, a, e);
    if (rc != 0) {
        arena_free(a);
        return rc;
    }
    int64_t now = clock_now_ms();
    struct audit_event actor = {
        .actor_kind = AUDIT_ACTOR_PERSON, .actor_id = taro, .request_id = "demo-s1-mobility"};
    struct consent_write w = {
        .op = CONSENT_OP_GRANT,
        .store = s,
        .now_ms = now,
        .actor = &actor,
        .subject_id = taro,
        .by = taro,
        .recipient_kind = CONSENT_TO_ORGANISATION,
        .recipient_id = taxi_org,
        .purpose_code = MOBILITY_PURPOSE,
        .purpose_version = cur.version,
        .cats = (consent_cats)1u << CONSENT_CAT_LOCATION,
        .actions = CONSENT_READ | CONSENT_WRITE,
        .evidence = {.explanation_hash = cur.explanation_hash,
                     .shown_ms = now - 2 * 60 * 1000,
                     .agreed_ms = now - 60 * 1000,
                     .channel = CONSENT_CHANNEL_PORTAL},
    };
    rc = consent_write_run(&w, e);
    if (rc == 0)
        rc = store_write(s, optin_fn, &w, e);
    arena_free(a);
    return rc;
}
