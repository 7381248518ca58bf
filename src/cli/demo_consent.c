/* demo_consent.c - the consent side of STORY.md S1 for `cityos demo`: the city's purposes
 * "homedoctor" (在宅AIホームドクター: his blood pressure to his family clinic and the AI home
 * doctor, which writes him alerts) and "cardio" (循環器病予防: vitals, check-ups and lab results
 * to the clinic, the hospital and the AI home doctor, which computes his Hisayama risk), the
 * home doctor's OAuth client they name, and 会津 太郎's grants, written the way the portal
 * writes them (consent_purpose_publish, consent_write_run with his evidence and him as the
 * audit actor). Idempotent item by item. */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/err.h"
#include "base/log.h"
#include "cli/demo.h"
#include "consent/consent.h"
#include "identity/org.h"
#include "identity/person.h"
#include "services/homedoctor/service.h"
#include "store/store.h"

#define CAT(c) ((consent_cats)1u << (c))

/* Who a purpose registers as its recipients: the family clinic, the hospital, and the city's
 * AI home doctor (the OAuth client "cityos home doctor", services/homedoctor/service.h). */
enum { TO_CLINIC = 1, TO_HOSPITAL = 2, TO_SERVICE = 4 };

/* One purpose version the demo publishes. */
struct purpose_spec {
    const char *code;
    const char *title_ja, *title_en;
    const char *explanation_ja, *explanation_en;
    consent_cats cats;
    unsigned recipients; /* TO_* bits */
    int64_t retention_days;
};

/* The texts a citizen reads before pressing "agree": what is shared, with whom, why, what is
 * not, for how long, how to stop. Their hash is the evidence of the grant, so a change of a
 * single byte here is a new purpose version in a fresh folder (never in an existing one: a
 * published code is left alone). They must stay true to what the grants below and the home
 * doctor service (docs/internals/homedoctor.md) do. */
static const struct purpose_spec purposes[] = {
    {"homedoctor", "在宅AIホームドクター", "AI home doctor",
     "手首式血圧計が毎日測る血圧と脈拍(バイタル)を、あなたのかかりつけ医の"
     "湊ファミリークリニックと、市のAIホームドクター(シティOSのサービス「cityos home "
     "doctor」)が見られるようにします。\n"
     "AIホームドクターがすること: 新しい測定値が届くたびに、直近7日間の家庭血圧の平均を"
     "日本高血圧学会のガイドライン(JSH2019)の分類に当てはめ、ふだんより急に上がっていないかを"
     "確かめ、3日以上測定がないときはお知らせします。結果は、使った測定値と根拠のガイドラインを"
     "添えた「お知らせ」(アラート)として、あなたの記録とポータルの受信箱に書き込みます。"
     "減塩や運動などのアドバイスも添えます。手首式の値は上腕式を前提とするガイドラインの値と"
     "異なることがあり、その旨もお知らせに書きます。AIの結果は診断ではありません。"
     "判断するのは医師です。\n"
     "お知らせを見られる人: あなた自身です。ご家族(「お知らせを見る」権限のある家族登録か、"
     "あなたがご家族を指定した同意)とクリニック(お知らせを含む同意)は、あなたが別に"
     "認めたときだけ見られます。この同意だけでは、クリニックはお知らせを見られません。\n"
     "共有しないもの: 健診や検査の結果、お薬、位置情報など、バイタル以外のデータは共有しません。"
     "ほかの医療機関や会社には渡しません。\n"
     "保存期間: この目的で共有・作成されたデータは最長5年間(1825日)保存され、その後消去されます。\n"
     "やめたいとき: ポータルの「同意の管理」からいつでも撤回できます。撤回したその時から、"
     "クリニックもAIホームドクターもシティOSを通してあなたのデータを見られなくなり、"
     "新しいお知らせは作られません。撤回しても診察はこれまでどおり受けられます。\n"
     "共有先やデータの種類を市が増やすときは、ポータルの受信箱であらためてお尋ねします。"
     "同意されるまで新しいものは共有されません。誰がいつあなたのデータを見たかは、"
     "「わたしのデータを見た人」でいつでも確認できます。",
     "Every day your wrist monitor measures your blood pressure and pulse (vitals); your family "
     "doctor's clinic, Minato Family Clinic, and the city's AI home doctor (the City OS service "
     "\"cityos home doctor\") may see them.\n"
     "What the AI home doctor does: each time a reading arrives it classifies the mean of your "
     "last 7 days of home readings by the Japanese Society of Hypertension guideline (JSH2019), "
     "checks for a sudden rise against your usual values, and reminds you when no reading came "
     "for 3 days. It writes the results as alerts into your record and your portal inbox, each "
     "with the readings it used and the guideline behind it, and with advice such as less salt "
     "and more exercise. Wrist readings can differ from the upper-arm values the guideline "
     "assumes, and the alerts say so. The AI does not diagnose; your doctor decides.\n"
     "Who sees the alerts: you. Your family (through a family registration with the right to "
     "see alerts, or a consent of yours naming them) and the clinic (a consent that includes "
     "alerts) see them only if you allow it separately. This consent alone does not show the "
     "alerts to the clinic.\n"
     "Not shared: anything but vitals (no check-up or test results, medicines or location), "
     "and nothing goes to any other clinic or company.\n"
     "How long: data shared or made for this purpose is kept for at most 5 years (1825 days), "
     "then deleted.\n"
     "To stop: withdraw at any time under \"My consents\" in the portal. From that moment "
     "neither the clinic nor the AI home doctor can see your data through the City OS, and no "
     "new alerts are made. Withdrawing does not stop you from being treated.\n"
     "If the city ever adds a kind of data or a recipient, you are asked again in your portal "
     "inbox, and nothing new is shared until you agree. You can always see who looked at your "
     "data, and when, under \"Who saw my data\".",
     CAT(CONSENT_CAT_VITALS) | CAT(CONSENT_CAT_ALERTS), TO_CLINIC | TO_SERVICE, 1825},
    {"cardio", "循環器病予防", "Cardiovascular disease prevention",
     "血圧と脈拍(バイタル)、毎年の健康診断の結果と問診票(健診)、血液検査などの検査結果を、"
     "湊ファミリークリニック、鶴ヶ城総合病院(循環器内科)と、市のAIホームドクター"
     "(シティOSのサービス「cityos home doctor」)が見られるようにします。"
     "AIホームドクターには、リスクの計算に使う年齢と性別のため、住民登録の基本情報も"
     "見られるようにします。\n"
     "なぜ: 心臓病や脳卒中などの循環器病を防ぐためです。AIホームドクターは、最新の健診結果と"
     "家庭血圧から、公開されたリスクモデル(久山町研究スコア)で10年以内の発症リスクを計算し、"
     "どの項目が何点になったか、どれを改善するとどれだけ下がるかを添えて、あなたの記録と"
     "受信箱にお知らせします。精密検査の予約や自宅でできる運動のご提案にも使います。"
     "計算は集団の研究からの推定で、診断ではありません。\n"
     "お知らせを見られる人: あなた自身です。ご家族や医療機関は、あなたが別に認めたとき"
     "(お知らせを含む同意、または家族登録の「お知らせを見る」権限)だけ見られます。\n"
     "共有しないもの: お薬、遺伝情報、位置情報、支払いなど、上記以外のデータは共有しません。"
     "医療機関には住所や電話番号などの基本情報も渡しません。上記以外の相手には渡しません。\n"
     "保存期間: 年ごとの変化を見るため、この目的で共有・作成されたデータは最長10年間(3650日)"
     "保存され、その後消去されます。\n"
     "やめたいとき: ポータルの「同意の管理」からいつでも撤回できます。撤回したその時から、"
     "どの共有先もシティOSを通してあなたのデータを見られなくなり、新しいお知らせは"
     "作られません。撤回しても診察はこれまでどおり受けられます。\n"
     "共有先やデータの種類を市が増やすときは、ポータルの受信箱であらためてお尋ねします。"
     "同意されるまで新しいものは共有されません。",
     "Your blood pressure and pulse (vitals), your annual health check-ups and their "
     "questionnaires (check-ups) and your laboratory results such as blood tests may be seen by "
     "Minato Family Clinic, Tsurugajo General Hospital (cardiology) and the city's AI home "
     "doctor (the City OS service \"cityos home doctor\"). The AI home doctor may also see your "
     "basic registration details, for the age and sex the risk model needs.\n"
     "Why: to prevent heart disease and stroke. From your latest check-up and your home blood "
     "pressure, the AI home doctor computes your 10-year risk with a published risk model (the "
     "Hisayama score) and tells you in your record and inbox, with the points each item added "
     "and how much each change would lower it. It is also used to book a cardiac examination "
     "and to suggest exercise you can do at home. The risk is an estimate from a population "
     "study, not a diagnosis.\n"
     "Who sees the alerts: you. Your family and the clinics see them only if you allow it "
     "separately (a consent that includes alerts, or a family registration with the right to "
     "see alerts).\n"
     "Not shared: anything else (no medicines, genetic data, location or payments); the clinics "
     "do not get your address or phone number; nothing goes to anyone but these three.\n"
     "How long: prevention looks at change over the years, so data shared or made for this "
     "purpose is kept for at most 10 years (3650 days), then deleted.\n"
     "To stop: withdraw at any time under \"My consents\" in the portal. From that moment none "
     "of them can see your data through the City OS, and no new alerts are made. Withdrawing "
     "does not stop you from being treated.\n"
     "If the city ever adds a kind of data or a recipient, you are asked again in your portal "
     "inbox, and nothing new is shared until you agree.",
     CAT(CONSENT_CAT_VITALS) | CAT(CONSENT_CAT_CHECKUPS) | CAT(CONSENT_CAT_LAB_RESULTS) |
         CAT(CONSENT_CAT_CONTACT) | CAT(CONSENT_CAT_ALERTS),
     TO_CLINIC | TO_HOSPITAL | TO_SERVICE, 3650},
};
#define N_PURPOSES (sizeof purposes / sizeof purposes[0])

/* 太郎's grants, each written the way the portal writes it. A consent holds one set of actions
 * for all its categories, so what the home doctor service reads and what it writes are two
 * consents: the purpose's recipients (the clinic, the hospital, the service) read, and the
 * service alone writes alerts (and, for the risk model, reads his age and sex). No grant here
 * opens his alerts to his doctors or his family: that is his separate choice. */
enum grant_to { G_PURPOSE, G_SERVICE };
struct grant_spec {
    const char *code;
    enum grant_to to;
    consent_cats cats;
    unsigned actions;
    const char *request_id; /* names the grant on his trail */
};

static const struct grant_spec grants[] = {
    {"homedoctor", G_PURPOSE, CAT(CONSENT_CAT_VITALS), CONSENT_READ, "demo-s1-homedoctor"},
    {"homedoctor", G_SERVICE, CAT(CONSENT_CAT_ALERTS), CONSENT_WRITE, "demo-s1-homedoctor-alerts"},
    {"cardio", G_PURPOSE,
     CAT(CONSENT_CAT_VITALS) | CAT(CONSENT_CAT_CHECKUPS) | CAT(CONSENT_CAT_LAB_RESULTS),
     CONSENT_READ, "demo-s1-cardio"},
    {"cardio", G_SERVICE, CAT(CONSENT_CAT_CONTACT), CONSENT_READ, "demo-s1-cardio-age-sex"},
    {"cardio", G_SERVICE, CAT(CONSENT_CAT_ALERTS), CONSENT_WRITE, "demo-s1-cardio-alerts"},
};
#define N_GRANTS (sizeof grants / sizeof grants[0])

/* The S1 cast as the store knows it, and the home doctor's client. */
struct s1_cast {
    const char *taro, *clinic, *hospital;
    char service[IDS_LEN + 1];
};

/* The organisation of kind where the practitioner with this e-mail holds an active role. */
int cli_demo_org_of(struct store *s, struct arena *a, const char *email, enum id_org_kind kind,
                    const char **out, struct err *e)
{
    struct id_person p;
    int rc = id_person_find_by_email(s, email, &p, a, e);
    if (rc == ERR_NOTFOUND)
        rc = err_set(e, ERR_NOTFOUND, "nobody has the e-mail %s", email);
    struct id_role *roles = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = id_role_list_for_person(s, p.id, a, &roles, &n, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct id_org o;
        if (!roles[i].active)
            continue;
        rc = id_org_get(s, roles[i].org_id, &o, a, e);
        if (rc == 0 && o.kind == kind) {
            *out = arena_strdup(a, o.id);
            return *out != NULL ? 0 : err_set(e, ERR_NOMEM, "out of memory");
        }
    }
    return rc != 0 ? rc
                   : err_set(e, ERR_NOTFOUND, "%s holds no role at a %s", email,
                             id_org_kind_name(kind));
}

static int find_cast(struct store *s, struct arena *a, struct s1_cast *c, struct err *e)
{
    struct id_person taro;
    int rc = id_person_find_by_email(s, DEMO_EMAIL_TARO, &taro, a, e);
    if (rc == ERR_NOTFOUND)
        rc = err_set(e, ERR_NOTFOUND, "nobody has the e-mail %s", DEMO_EMAIL_TARO);
    if (rc == 0 && (c->taro = arena_strdup(a, taro.id)) == NULL)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0)
        rc = cli_demo_org_of(s, a, DEMO_EMAIL_DOCTOR, ID_ORG_CLINIC, &c->clinic, e);
    if (rc == 0)
        rc = cli_demo_org_of(s, a, DEMO_EMAIL_CARDIOLOGIST, ID_ORG_HOSPITAL, &c->hospital, e);
    return rc;
}

/* Publishes version 1 of p unless its code exists (at any version: the city may have changed
 * it since, and the demo never overrides the city). *published: 1 when it did. */
static int seed_purpose(struct store *s, struct arena *a, const struct purpose_spec *p,
                        const struct s1_cast *c, int64_t now, int *published, struct err *e)
{
    struct consent_purpose have;
    *published = 0;
    int rc = consent_purpose_get(s, p->code, 0, &have, a, e);
    if (rc != ERR_NOTFOUND)
        return rc;
    err_clear(e);
    const char *recipients[3];
    size_t n = 0;
    if (p->recipients & TO_CLINIC)
        recipients[n++] = c->clinic;
    if (p->recipients & TO_HOSPITAL)
        recipients[n++] = c->hospital;
    if (p->recipients & TO_SERVICE)
        recipients[n++] = c->service;
    struct consent_purpose_new in = {
        .code = p->code,
        .title_ja = p->title_ja,
        .title_en = p->title_en,
        .explanation_ja = p->explanation_ja,
        .explanation_en = p->explanation_en,
        .cats = p->cats,
        .recipients = recipients,
        .nrecipients = n,
        .legal_basis = CONSENT_BASIS_CONSENT,
        .retention_days = p->retention_days,
        .published_by = "operator", /* the operator runs `cityos demo` */
    };
    int64_t version = 0;
    int change = 0;
    rc = consent_purpose_publish(s, NULL, &in, now, &version, &change, e);
    if (rc == 0)
        *published = 1;
    return rc;
}

/* Does subject hold (or did he ever hold) a consent for code to this recipient covering any of
 * cats? A withdrawn one counts: the demo never grants again what the citizen took back. 1, 0
 * or an error. */
static int has_consent(struct store *s, struct arena *a, const char *subject, const char *code,
                       enum consent_recipient_kind kind, const char *recipient, consent_cats cats,
                       struct err *e)
{
    struct consent_record *list = NULL;
    size_t n = 0;
    int rc = consent_list_for_subject(s, subject, a, &list, &n, e);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].purpose_code, code) == 0 && list[i].recipient_kind == kind &&
            (list[i].cats & cats) != 0 &&
            (recipient == NULL ||
             (list[i].recipient_id != NULL && strcmp(list[i].recipient_id, recipient) == 0)))
            return 1;
    return 0;
}

/* 太郎's grant g on the current version of its purpose, with the evidence of the explanation
 * he was shown a minute before he pressed "agree". *granted: 1 when it wrote one. */
static int seed_grant(struct store *s, struct arena *a, const struct grant_spec *g,
                      const struct s1_cast *c, int64_t now, int *granted, struct err *e)
{
    *granted = 0;
    enum consent_recipient_kind kind = g->to == G_SERVICE ? CONSENT_TO_CLIENT : CONSENT_TO_PURPOSE;
    const char *recipient = g->to == G_SERVICE ? c->service : NULL;
    int rc = has_consent(s, a, c->taro, g->code, kind, recipient, g->cats, e);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    struct consent_purpose cur;
    rc = consent_purpose_get(s, g->code, 0, &cur, a, e);
    if (rc != 0)
        return rc;
    struct audit_event actor = {
        .actor_kind = AUDIT_ACTOR_PERSON,
        .actor_id = c->taro,
        .request_id = g->request_id,
    };
    struct consent_write w = {
        .op = CONSENT_OP_GRANT,
        .store = s,
        .ix = NULL, /* no server here: a server builds its index from the store */
        .now_ms = now,
        .actor = &actor,
        .subject_id = c->taro,
        .by = c->taro,
        .recipient_kind = kind,
        .recipient_id = recipient,
        .purpose_code = g->code,
        .purpose_version = cur.version,
        .cats = cur.cats & g->cats, /* what the city covers now, never more than the demo asks */
        .actions = g->actions,
        .evidence = {.explanation_hash = cur.explanation_hash,
                     .shown_ms = now - 2 * 60 * 1000,
                     .agreed_ms = now - 60 * 1000,
                     .channel = CONSENT_CHANNEL_PORTAL},
    };
    if (w.cats == 0) /* the city narrowed the purpose to nothing this grant shares */
        return 0;
    rc = consent_write_run(&w, e);
    if (rc == 0)
        *granted = 1;
    return rc;
}

int cli_demo_consent_seed(struct store *s, const struct config *cfg)
{
    struct err e = {0};
    struct arena *a = arena_new(16384);
    if (a == NULL) {
        log_error("demo: out of memory");
        return ERR_NOMEM;
    }
    struct s1_cast c = {0};
    int rc = find_cast(s, a, &c, &e);
    if (rc == ERR_NOTFOUND) {
        printf("%s: not the demo's cast (%s); the S1 purposes and consents are not seeded\n",
               cfg->data_dir, e.msg);
        arena_free(a);
        return 0;
    }
    /* the home doctor's client: the one `cityos serve` acts as (found again by its name) */
    if (rc == 0)
        rc = homedoctor_service_client_ensure(s, c.service, &e);
    int64_t now = clock_now_ms();
    int published[N_PURPOSES] = {0}, granted[N_GRANTS] = {0};
    for (size_t i = 0; rc == 0 && i < N_PURPOSES; i++)
        rc = seed_purpose(s, a, &purposes[i], &c, now, &published[i], &e);
    for (size_t i = 0; rc == 0 && i < N_GRANTS; i++)
        rc = seed_grant(s, a, &grants[i], &c, now, &granted[i], &e);
    if (rc != 0) {
        log_error("demo: seeding the S1 consents failed: %s", e.msg);
        arena_free(a);
        return rc;
    }
    /* one line: "purposes homedoctor v1, cardio v1; 会津 太郎 granted 5 consents (...)" */
    const char *pub = "";
    int ngranted = 0;
    for (size_t i = 0; i < N_PURPOSES; i++)
        if (published[i] && (pub = arena_printf(a, "%s%s%s v1", pub, pub[0] ? ", " : "",
                                                purposes[i].code)) == NULL) {
            log_error("demo: out of memory");
            arena_free(a);
            return ERR_NOMEM;
        }
    for (size_t i = 0; i < N_GRANTS; i++)
        ngranted += granted[i];
    if (pub[0] == '\0' && ngranted == 0)
        printf("%s: already has the S1 purposes (homedoctor, cardio) and 会津 太郎's consents; "
               "nothing seeded\n",
               cfg->data_dir);
    else
        printf("%s: seeded the S1 consents: purposes %s; 会津 太郎 granted %d consents "
               "(homedoctor: vitals to the clinic and the AI home doctor, alerts written by it; "
               "cardio: vitals, check-ups and lab results to the clinic, the hospital and the AI "
               "home doctor, his age and sex and alerts for the AI home doctor); AI home doctor "
               "client_id=%s (GET /api/v1/purposes; his consents and their entries in his "
               "access log)\n",
               cfg->data_dir, pub[0] ? pub : "none new", ngranted, c.service);
    arena_free(a);
    return 0;
}
