/* demo_consent.c - the consent side of STORY.md S1 for `cityos demo`: the city's purposes
 * "homedoctor" (在宅AIホームドクター: his blood pressure to his family clinic) and "cardio"
 * (循環器病予防: vitals, check-ups and lab results to the clinic and the hospital), and 会津
 * 太郎's broad opt-in to each, written the way the portal writes them (consent_purpose_publish,
 * consent_write_run with his evidence and him as the audit actor). Idempotent item by item. */
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
#include "store/store.h"

#define CAT(c) ((consent_cats)1u << (c))

/* Who a purpose registers as its recipients. */
enum { TO_CLINIC = 1, TO_HOSPITAL = 2 };

/* One purpose version the demo publishes, and the consent 太郎 gives to it. */
struct purpose_spec {
    const char *code;
    const char *title_ja, *title_en;
    const char *explanation_ja, *explanation_en;
    consent_cats cats;
    unsigned recipients; /* TO_CLINIC | TO_HOSPITAL */
    int64_t retention_days;
    enum consent_channel channel; /* where 太郎 agreed */
    const char *request_id;       /* names the grant on his trail */
};

/* The texts a citizen reads before pressing "agree": what is shared, with whom, why, what is
 * not, for how long, how to stop. Their hash is the evidence of the grant, so a change of a
 * single byte here is a new purpose version in a fresh folder (never in an existing one: a
 * published code is left alone). */
static const struct purpose_spec purposes[] = {
    {"homedoctor", "在宅AIホームドクター", "AI home doctor",
     "手首式血圧計が毎日測る血圧と脈拍(バイタル)を、あなたのかかりつけ医の"
     "湊ファミリークリニックと共有します。\n"
     "なぜ: 医師が自宅での血圧の変化を見守り、3か月ごとのオンライン診療やお薬の調整に"
     "役立てるためです。AIは気になる変化を医師に知らせる手助けをしますが、判断するのは医師です。\n"
     "共有しないもの: 健診や検査の結果、お薬、位置情報など、バイタル以外のデータは共有しません。"
     "ほかの医療機関や会社には渡しません。\n"
     "保存期間: この目的で共有されたデータは最長5年間(1825日)保存され、その後消去されます。\n"
     "やめたいとき: ポータルの「同意の管理」からいつでも撤回できます。撤回したその時から、"
     "クリニックはシティOSを通してあなたのデータを見られなくなります。撤回しても診察は"
     "これまでどおり受けられます。\n"
     "共有先やデータの種類を市が増やすときは、ポータルの受信箱であらためてお尋ねします。"
     "同意されるまで新しいものは共有されません。誰がいつあなたのデータを見たかは、"
     "「わたしのデータを見た人」でいつでも確認できます。",
     "Every day your wrist monitor measures your blood pressure and pulse (vitals); they are "
     "shared with your family doctor's clinic, Minato Family Clinic.\n"
     "Why: so that your doctor can follow your blood pressure at home and use it in your "
     "three-monthly online consultations and to adjust your medicine. The AI helps by pointing "
     "out changes worth a look; your doctor decides.\n"
     "Not shared: anything but vitals (no check-up or test results, medicines or location), "
     "and nothing goes to any other clinic or company.\n"
     "How long: data shared for this purpose is kept for at most 5 years (1825 days), then "
     "deleted.\n"
     "To stop: withdraw at any time under \"My consents\" in the portal. From that moment the "
     "clinic can no longer see your data through the City OS. Withdrawing does not stop you "
     "from being treated.\n"
     "If the city ever adds a kind of data or a recipient, you are asked again in your portal "
     "inbox, and nothing new is shared until you agree. You can always see who looked at your "
     "data, and when, under \"Who saw my data\".",
     CAT(CONSENT_CAT_VITALS), TO_CLINIC, 1825, CONSENT_CHANNEL_PORTAL, "demo-s1-homedoctor"},
    {"cardio", "循環器病予防", "Cardiovascular disease prevention",
     "血圧と脈拍(バイタル)、毎年の健康診断の結果と問診票(健診)、血液検査などの検査結果を、"
     "湊ファミリークリニックと鶴ヶ城総合病院(循環器内科)と共有します。\n"
     "なぜ: 心臓病や脳卒中などの循環器病を防ぐためです。公開されたリスクモデルで心臓病の"
     "リスクを計算し、高いときは理由を添えてあなたと医師にお知らせし、精密検査の予約や"
     "自宅でできる運動のご提案に使います。\n"
     "共有しないもの: お薬、遺伝情報、位置情報、支払いなど、上記以外のデータは共有しません。"
     "上記の2つの医療機関以外には渡しません。\n"
     "保存期間: 年ごとの変化を見るため、この目的で共有されたデータは最長10年間(3650日)"
     "保存され、その後消去されます。\n"
     "やめたいとき: ポータルの「同意の管理」からいつでも撤回できます。撤回したその時から、"
     "どちらの医療機関もシティOSを通してあなたのデータを見られなくなります。撤回しても"
     "診察はこれまでどおり受けられます。\n"
     "共有先やデータの種類を市が増やすときは、ポータルの受信箱であらためてお尋ねします。"
     "同意されるまで新しいものは共有されません。",
     "Your blood pressure and pulse (vitals), your annual health check-ups and their "
     "questionnaires (check-ups) and your laboratory results such as blood tests are shared "
     "with Minato Family Clinic and Tsurugajo General Hospital (cardiology).\n"
     "Why: to prevent heart disease and stroke. Your heart-disease risk is computed with a "
     "published risk model; when it is high, you and your doctors are told, with the reasons, "
     "and it is used to book a cardiac examination and to suggest exercise you can do at "
     "home.\n"
     "Not shared: anything else (no medicines, genetic data, location or payments), and "
     "nothing goes to anyone but these two.\n"
     "How long: prevention looks at change over the years, so data shared for this purpose is "
     "kept for at most 10 years (3650 days), then deleted.\n"
     "To stop: withdraw at any time under \"My consents\" in the portal. From that moment "
     "neither can see your data through the City OS. Withdrawing does not stop you from being "
     "treated.\n"
     "If the city ever adds a kind of data or a recipient, you are asked again in your portal "
     "inbox, and nothing new is shared until you agree.",
     CAT(CONSENT_CAT_VITALS) | CAT(CONSENT_CAT_CHECKUPS) | CAT(CONSENT_CAT_LAB_RESULTS),
     TO_CLINIC | TO_HOSPITAL, 3650, CONSENT_CHANNEL_PORTAL, "demo-s1-cardio"},
};
#define N_PURPOSES (sizeof purposes / sizeof purposes[0])

/* The S1 cast as the store knows it. */
struct s1_cast {
    const char *taro, *clinic, *hospital;
};

/* The organisation of kind where the practitioner with this e-mail holds an active role. */
static int org_of(struct store *s, struct arena *a, const char *email, enum id_org_kind kind,
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
        rc = org_of(s, a, DEMO_EMAIL_DOCTOR, ID_ORG_CLINIC, &c->clinic, e);
    if (rc == 0)
        rc = org_of(s, a, DEMO_EMAIL_CARDIOLOGIST, ID_ORG_HOSPITAL, &c->hospital, e);
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
    const char *recipients[2];
    size_t n = 0;
    if (p->recipients & TO_CLINIC)
        recipients[n++] = c->clinic;
    if (p->recipients & TO_HOSPITAL)
        recipients[n++] = c->hospital;
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

/* Does subject hold (or did he ever hold) a consent for code? A withdrawn one counts: the
 * demo never grants again what the citizen took back. 1, 0 or an error. */
static int has_consent(struct store *s, struct arena *a, const char *subject, const char *code,
                       struct err *e)
{
    struct consent_record *list = NULL;
    size_t n = 0;
    int rc = consent_list_for_subject(s, subject, a, &list, &n, e);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].purpose_code, code) == 0)
            return 1;
    return 0;
}

/* 太郎's broad opt-in to the current version of p (every recipient registered for it, its
 * categories, read), with the evidence of the explanation he was shown a minute before he
 * pressed "agree". *granted: 1 when it wrote one. */
static int seed_grant(struct store *s, struct arena *a, const struct purpose_spec *p,
                      const struct s1_cast *c, int64_t now, int *granted, struct err *e)
{
    *granted = 0;
    int rc = has_consent(s, a, c->taro, p->code, e);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    struct consent_purpose cur;
    rc = consent_purpose_get(s, p->code, 0, &cur, a, e);
    if (rc != 0)
        return rc;
    struct audit_event actor = {
        .actor_kind = AUDIT_ACTOR_PERSON,
        .actor_id = c->taro,
        .request_id = p->request_id,
    };
    struct consent_write w = {
        .op = CONSENT_OP_GRANT,
        .store = s,
        .ix = NULL, /* no server here: a server builds its index from the store */
        .now_ms = now,
        .actor = &actor,
        .subject_id = c->taro,
        .by = c->taro,
        .recipient_kind = CONSENT_TO_PURPOSE,
        .purpose_code = p->code,
        .purpose_version = cur.version,
        .cats = cur.cats & p->cats, /* what the city covers now, never more than the demo asks */
        .actions = CONSENT_READ,
        .evidence = {.explanation_hash = cur.explanation_hash,
                     .shown_ms = now - 2 * 60 * 1000,
                     .agreed_ms = now - 60 * 1000,
                     .channel = p->channel},
    };
    if (w.cats == 0) /* the city narrowed the purpose to nothing the demo shares */
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
    int64_t now = clock_now_ms();
    int published[N_PURPOSES] = {0}, granted[N_PURPOSES] = {0};
    for (size_t i = 0; rc == 0 && i < N_PURPOSES; i++)
        rc = seed_purpose(s, a, &purposes[i], &c, now, &published[i], &e);
    for (size_t i = 0; rc == 0 && i < N_PURPOSES; i++)
        rc = seed_grant(s, a, &purposes[i], &c, now, &granted[i], &e);
    if (rc != 0) {
        log_error("demo: seeding the S1 consents failed: %s", e.msg);
        arena_free(a);
        return rc;
    }
    /* one line: "purposes homedoctor v1, cardio v1; 会津 太郎 opted in to homedoctor, cardio" */
    const char *pub = "", *gr = "";
    for (size_t i = 0; i < N_PURPOSES; i++) {
        if (published[i])
            pub = arena_printf(a, "%s%s%s v1", pub, pub[0] ? ", " : "", purposes[i].code);
        if (granted[i])
            gr = arena_printf(a, "%s%s%s", gr, gr[0] ? ", " : "", purposes[i].code);
        if (pub == NULL || gr == NULL) {
            log_error("demo: out of memory");
            arena_free(a);
            return ERR_NOMEM;
        }
    }
    if (pub[0] == '\0' && gr[0] == '\0')
        printf("%s: already has the S1 purposes (homedoctor, cardio) and 会津 太郎's consents; "
               "nothing seeded\n",
               cfg->data_dir);
    else
        printf("%s: seeded the S1 consents: purposes %s; 会津 太郎 opted in to %s (GET "
               "/api/v1/purposes; his consents and their entries in his access log)\n",
               cfg->data_dir, pub[0] ? pub : "none new", gr[0] ? gr : "nothing new");
    arena_free(a);
    return 0;
}
