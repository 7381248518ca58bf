/* demo_town.c - the synthetic town of `cityos demo`: districts of Aizuwakamatsu, generated
 * households from a seed, the cast of STORY.md S1 with demo sign-ins, and two OAuth clients. */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "cli/demo.h"
#include "base/config.h"
#include "base/log.h"
#include "identity/client.h"
#include "identity/org.h"
#include "identity/person.h"
#include "store/store.h"

/* Called by demo.c (the one caller, so no header): seeds the town unless people exist. */

/* ---- the generator: splitmix64, not for secrets, only for reproducible content ---- */

struct rng {
    uint64_t state;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A number in lo..hi (inclusive); the tiny modulo bias does not matter for demo content. */
static int rng_range(struct rng *r, int lo, int hi)
{
    return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* ---- the town's content ---- */

/* Approximate centres (micro-degrees, WGS 84) of districts of Aizuwakamatsu, and a weight for
 * how many generated households live there. */
struct district {
    const char *name;
    int64_t lat_e6, lon_e6;
    int weight;
};

static const struct district districts[] = {
    {"湊町", 37470000, 140000000, 2},     {"中央", 37494800, 139929800, 20},
    {"城東町", 37488000, 139940000, 12},  {"一箕町", 37510000, 139965000, 12},
    {"門田町", 37460000, 139925000, 12},  {"町北町", 37530000, 139930000, 8},
    {"神指町", 37505000, 139895000, 8},   {"高野町", 37525000, 139905000, 6},
    {"北会津町", 37485000, 139870000, 8}, {"河東町", 37560000, 139990000, 6},
    {"東山町", 37480000, 139975000, 4},   {"大戸町", 37400000, 139940000, 2},
};
#define N_DISTRICTS (sizeof districts / sizeof districts[0])
enum { D_MINATO = 0, D_CHUO = 1, D_JOTO = 2, D_IKKI = 3 };

struct name {
    const char *kanji, *kana;
};

static const struct name family_names[] = {
    {"佐藤", "サトウ"},     {"鈴木", "スズキ"},   {"高橋", "タカハシ"}, {"田中", "タナカ"},
    {"渡部", "ワタナベ"},   {"星", "ホシ"},       {"斎藤", "サイトウ"}, {"佐々木", "ササキ"},
    {"遠藤", "エンドウ"},   {"伊藤", "イトウ"},   {"小林", "コバヤシ"}, {"五十嵐", "イガラシ"},
    {"長谷川", "ハセガワ"}, {"山口", "ヤマグチ"}, {"加藤", "カトウ"},   {"菅野", "カンノ"},
    {"吉田", "ヨシダ"},     {"阿部", "アベ"},     {"渡辺", "ワタナベ"}, {"橋本", "ハシモト"},
    {"石田", "イシダ"},     {"小野", "オノ"},     {"菊地", "キクチ"},   {"武田", "タケダ"},
    {"松本", "マツモト"},   {"森", "モリ"},       {"大竹", "オオタケ"}, {"荒井", "アライ"},
    {"目黒", "メグロ"},     {"猪俣", "イノマタ"}, {"二瓶", "ニヘイ"},   {"室井", "ムロイ"},
    {"酒井", "サカイ"},     {"山田", "ヤマダ"},   {"清水", "シミズ"},   {"中村", "ナカムラ"},
    {"小池", "コイケ"},     {"原", "ハラ"},       {"蓮沼", "ハスヌマ"}, {"穴沢", "アナザワ"},
};

static const struct name male_names[] = {
    {"一郎", "イチロウ"}, {"健一", "ケンイチ"}, {"誠", "マコト"},       {"浩", "ヒロシ"},
    {"茂", "シゲル"},     {"博", "ヒロシ"},     {"勝", "マサル"},       {"清", "キヨシ"},
    {"進", "ススム"},     {"実", "ミノル"},     {"修", "オサム"},       {"隆", "タカシ"},
    {"和夫", "カズオ"},   {"正雄", "マサオ"},   {"秀樹", "ヒデキ"},     {"直樹", "ナオキ"},
    {"大輔", "ダイスケ"}, {"拓也", "タクヤ"},   {"翔太", "ショウタ"},   {"健太", "ケンタ"},
    {"蓮", "レン"},       {"陽翔", "ハルト"},   {"悠真", "ユウマ"},     {"湊", "ミナト"},
    {"大和", "ヤマト"},   {"蒼", "アオイ"},     {"悠斗", "ユウト"},     {"陸", "リク"},
    {"颯太", "ソウタ"},   {"和也", "カズヤ"},   {"達也", "タツヤ"},     {"康弘", "ヤスヒロ"},
    {"義男", "ヨシオ"},   {"幸男", "ユキオ"},   {"俊介", "シュンスケ"}, {"亮", "リョウ"},
    {"智也", "トモヤ"},   {"裕太", "ユウタ"},   {"光男", "ミツオ"},     {"昭", "アキラ"},
};

static const struct name female_names[] = {
    {"和子", "カズコ"}, {"幸子", "サチコ"},   {"節子", "セツコ"},   {"恵子", "ケイコ"},
    {"洋子", "ヨウコ"}, {"京子", "キョウコ"}, {"久美子", "クミコ"}, {"由美子", "ユミコ"},
    {"直美", "ナオミ"}, {"真由美", "マユミ"}, {"裕子", "ユウコ"},   {"智子", "トモコ"},
    {"美香", "ミカ"},   {"愛", "アイ"},       {"恵", "メグミ"},     {"陽子", "ヨウコ"},
    {"美穂", "ミホ"},   {"麻衣", "マイ"},     {"彩", "アヤ"},       {"結衣", "ユイ"},
    {"陽菜", "ヒナ"},   {"美咲", "ミサキ"},   {"葵", "アオイ"},     {"凛", "リン"},
    {"結菜", "ユイナ"}, {"芽依", "メイ"},     {"さくら", "サクラ"}, {"千尋", "チヒロ"},
    {"香織", "カオリ"}, {"舞", "マイ"},       {"紀子", "ノリコ"},   {"文子", "フミコ"},
    {"良子", "ヨシコ"}, {"静子", "シズコ"},   {"春美", "ハルミ"},   {"悦子", "エツコ"},
    {"典子", "ノリコ"}, {"明美", "アケミ"},   {"美紀", "ミキ"},     {"紗希", "サキ"},
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* One generated citizen, ready for id_person_create. */
struct citizen {
    const struct name *family, *given;
    char birth[40]; /* "YYYY-MM-DD"; room for gcc's worst case of the ints */
    enum id_sex sex;
    unsigned char district;
    struct id_coords coords;
    enum id_assurance assurance;
    int age;
};

struct town {
    struct citizen *people;
    size_t n, cap;
    size_t households, over_65;
    int year; /* the Japanese calendar year ages are counted from */
};

/* Adds one member of the household being generated (when room is left): sex (ANY_SEX: drawn)
 * and an age in lo..hi. Every draw is its own statement, in a fixed order: C leaves the order
 * of function arguments and initialisers open, and the town must not depend on the compiler. */
#define ANY_SEX (-1)
static void add_member(struct town *t, struct rng *r, const struct name *family, size_t d,
                       struct id_coords c, int sex, int lo, int hi)
{
    if (t->n >= t->cap)
        return;
    struct citizen *p = &t->people[t->n++];
    if (sex == ANY_SEX)
        sex = rng_range(r, 0, 1) ? ID_SEX_MALE : ID_SEX_FEMALE;
    int age = rng_range(r, lo < 0 ? 0 : lo, hi < 0 ? 0 : hi);
    p->family = family;
    p->sex = (enum id_sex)sex;
    if (sex == ID_SEX_MALE)
        p->given = &male_names[rng_range(r, 0, COUNT(male_names) - 1)];
    else
        p->given = &female_names[rng_range(r, 0, COUNT(female_names) - 1)];
    int month = rng_range(r, 1, 12);
    int day = rng_range(r, 1, 28);
    /* born the year before (year - age): always a past date, aged age or age + 1 now */
    snprintf(p->birth, sizeof p->birth, "%04d-%02d-%02d", (t->year - 1 - age) % 10000, month, day);
    p->district = (unsigned char)d;
    p->coords = c;
    p->assurance = rng_range(r, 0, 9) < 6 ? ID_ASSURANCE_CARD : ID_ASSURANCE_IN_PERSON;
    p->age = age;
    t->over_65 += age >= 65;
}

/* One household of 1..5 people sharing a family name, a district and a front door. The mix
 * of kinds is tuned so that about a third of the town is over 65, like Aizuwakamatsu. */
static void add_household(struct town *t, struct rng *r)
{
    int total = 0;
    for (size_t i = 0; i < N_DISTRICTS; i++)
        total += districts[i].weight;
    int pick = rng_range(r, 0, total - 1);
    size_t d = 0;
    while (pick >= districts[d].weight)
        pick -= districts[d++].weight;
    struct id_coords c = {1, districts[d].lat_e6, districts[d].lon_e6};
    c.lat_e6 += rng_range(r, -8000, 8000);
    c.lon_e6 += rng_range(r, -8000, 8000);
    const struct name *fam = &family_names[rng_range(r, 0, COUNT(family_names) - 1)];
    int kind = rng_range(r, 0, 99);
    t->households++;
    if (kind < 28) { /* someone living alone, most often an elderly widow or widower */
        if (rng_range(r, 0, 99) < 65)
            add_member(t, r, fam, d, c, ANY_SEX, 65, 96);
        else
            add_member(t, r, fam, d, c, ANY_SEX, 19, 64);
    } else if (kind < 52) { /* an elderly couple */
        int age = rng_range(r, 65, 90);
        add_member(t, r, fam, d, c, ID_SEX_MALE, age, age);
        add_member(t, r, fam, d, c, ID_SEX_FEMALE, age - 5, age + 2);
    } else if (kind < 82) { /* parents and one to three children */
        int age = rng_range(r, 28, 55);
        int kids = rng_range(r, 1, 3);
        add_member(t, r, fam, d, c, ID_SEX_MALE, age, age);
        add_member(t, r, fam, d, c, ID_SEX_FEMALE, age - 4, age + 3);
        for (int k = 0; k < kids; k++)
            add_member(t, r, fam, d, c, ANY_SEX, 0, age - 24 < 22 ? age - 24 : 22);
    } else { /* three generations under one roof */
        int age = rng_range(r, 38, 60);
        int elders = rng_range(r, 1, 2);
        for (int k = 0; k < elders; k++)
            add_member(t, r, fam, d, c, ANY_SEX, age + 24, age + 34);
        add_member(t, r, fam, d, c, ID_SEX_MALE, age, age);
        add_member(t, r, fam, d, c, ID_SEX_FEMALE, age - 4, age + 3);
        add_member(t, r, fam, d, c, ANY_SEX, 0, 20);
    }
}

/* ---- writing many people: id_person_create from several threads, so that the store's one
 * writer commits their writes in groups (one fsync per group instead of one per person) ---- */

#define WRITERS 32

struct pool {
    struct store *s;
    const struct town *t;
    atomic_size_t next;
    atomic_int failed;
    struct err e; /* the first failure, under lock */
    pthread_mutex_t lock;
};

static void *write_people(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->t->n || atomic_load(&p->failed))
            return NULL;
        const struct citizen *c = &p->t->people[i];
        struct id_person_new in = {
            .family_name_kanji = c->family->kanji,
            .given_name_kanji = c->given->kanji,
            .family_name_kana = c->family->kana,
            .given_name_kana = c->given->kana,
            .birth_date = c->birth,
            .sex = c->sex,
            .district = districts[c->district].name,
            .coords = c->coords,
            .assurance = c->assurance,
        };
        char id[IDS_LEN + 1];
        struct err e = {0};
        if (id_person_create(p->s, &in, id, &e) != 0) {
            pthread_mutex_lock(&p->lock);
            if (!atomic_exchange(&p->failed, 1))
                p->e = e;
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
    }
}

static int write_town(struct store *s, const struct town *t, struct err *e)
{
    struct pool p = {.s = s, .t = t};
    atomic_init(&p.next, 0);
    atomic_init(&p.failed, 0);
    pthread_mutex_init(&p.lock, NULL);
    pthread_t th[WRITERS];
    size_t started = 0;
    for (; started < WRITERS; started++)
        if (pthread_create(&th[started], NULL, write_people, &p) != 0)
            break;
    if (started == 0)
        write_people(&p);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&p.lock);
    if (atomic_load(&p.failed)) {
        *e = p.e;
        return e->code != 0 ? e->code : ERR_INTERNAL;
    }
    return 0;
}

/* ---- the cast of STORY.md S1: fixed e-mails and demo passwords (demonstration credentials,
 * published in the documentation; never use them for anything real) ---- */

struct cast_member {
    const char *role; /* shown in the sign-ins block */
    struct name family, given;
    int age; /* in the seeding year */
    enum id_sex sex;
    size_t district;
    const char *email, *password;
    char id[IDS_LEN + 1];
};

enum { C_TARO, C_HANAKO, C_DAUGHTER, C_DOCTOR, C_CARDIO, C_PHARMACIST, C_DISPATCHER, C_ADMIN };

static struct cast_member cast[] = {
    {"S1 persona, 70, hypertension",
     {"会津", "アイヅ"},
     {"太郎", "タロウ"},
     70,
     ID_SEX_MALE,
     D_MINATO,
     DEMO_EMAIL_TARO,
     "Minato-Tsuru-7Kq3-Bx9w",
     ""},
    {"his wife",
     {"会津", "アイヅ"},
     {"花子", "ハナコ"},
     68,
     ID_SEX_FEMALE,
     D_MINATO,
     DEMO_EMAIL_HANAKO,
     "Hanako-Yuki-4Rm8-Zp2v",
     ""},
    {"his daughter (nearby, sees his alerts)",
     {"佐藤", "サトウ"},
     {"美咲", "ミサキ"},
     42,
     ID_SEX_FEMALE,
     D_JOTO,
     DEMO_EMAIL_MISAKI,
     "Misaki-Kaki-9Tn5-Hc3j",
     ""},
    {"family doctor, 湊ファミリークリニック",
     {"山口", "ヤマグチ"},
     {"健一", "ケンイチ"},
     52,
     ID_SEX_MALE,
     D_MINATO,
     DEMO_EMAIL_DOCTOR,
     "Clinic-Inawa-3Wf7-Ld8s",
     ""},
    {"cardiologist, 鶴ヶ城総合病院",
     {"渡部", "ワタナベ"},
     {"誠", "マコト"},
     47,
     ID_SEX_MALE,
     D_CHUO,
     DEMO_EMAIL_CARDIOLOGIST,
     "Cardio-Bandai-6Jx2-Qe5n",
     ""},
    {"pharmacist, みなと調剤薬局",
     {"星", "ホシ"},
     {"由美子", "ユミコ"},
     39,
     ID_SEX_FEMALE,
     D_MINATO,
     DEMO_EMAIL_PHARMACIST,
     "Pharma-Sazae-8Gv4-Ky7r",
     ""},
    {"dispatcher, 会津みなとタクシー",
     {"小林", "コバヤシ"},
     {"大輔", "ダイスケ"},
     45,
     ID_SEX_MALE,
     D_IKKI,
     DEMO_EMAIL_DISPATCHER,
     "Taxi-Akabe-5Np9-Ws4t",
     ""},
    {"city administrator, 会津若松市役所",
     {"斎藤", "サイトウ"},
     {"裕子", "ユウコ"},
     50,
     ID_SEX_FEMALE,
     D_CHUO,
     "saito@city-office.example.jp",
     "Office-Byakko-2Hd6-Mu8x",
     ""},
};
#define N_CAST COUNT(cast)

struct org_spec {
    enum id_org_kind kind;
    const char *name_ja, *name_en;
    size_t district;
    size_t practitioner; /* index into cast */
    enum id_role_kind role;
};

static const struct org_spec orgs[] = {
    {ID_ORG_CLINIC, "湊ファミリークリニック", "Minato Family Clinic", D_MINATO, C_DOCTOR,
     ID_ROLE_DOCTOR},
    {ID_ORG_HOSPITAL, "鶴ヶ城総合病院", "Tsurugajo General Hospital (cardiology)", D_CHUO, C_CARDIO,
     ID_ROLE_DOCTOR},
    {ID_ORG_PHARMACY, "みなと調剤薬局", "Minato Pharmacy", D_MINATO, C_PHARMACIST,
     ID_ROLE_PHARMACIST},
    {ID_ORG_TAXI_COMPANY, "会津みなとタクシー", "Aizu Minato Taxi", D_IKKI, C_DISPATCHER,
     ID_ROLE_DISPATCHER},
    {ID_ORG_CITY_OFFICE, "会津若松市役所", "Aizuwakamatsu City Office", D_CHUO, C_ADMIN,
     ID_ROLE_CITY_ADMINISTRATOR},
};
#define N_ORGS COUNT(orgs)

/* The cast's people (with passwords: one Argon2id hash each), organisations, roles and link. */
static int seed_cast(struct store *s, int year, char clinic_id[IDS_LEN + 1], struct err *e)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < N_CAST; i++) {
        struct cast_member *m = &cast[i];
        char birth[40];
        /* born on 5 January: the age above for nearly the whole seeding year */
        snprintf(birth, sizeof birth, "%04d-01-05", (year - m->age) % 10000);
        const struct district *d = &districts[m->district];
        struct id_person_new in = {
            .family_name_kanji = m->family.kanji,
            .given_name_kanji = m->given.kanji,
            .family_name_kana = m->family.kana,
            .given_name_kana = m->given.kana,
            .birth_date = birth,
            .sex = m->sex,
            .district = d->name,
            .coords = {1, d->lat_e6 + 1000 * (int64_t)i, d->lon_e6 - 1000 * (int64_t)i},
            .email = m->email,
            .assurance = ID_ASSURANCE_CARD,
            .password = m->password,
        };
        if (i == C_HANAKO) /* the wife lives at her husband's address */
            in.coords =
                (struct id_coords){1, districts[D_MINATO].lat_e6, districts[D_MINATO].lon_e6};
        rc = id_person_create(s, &in, m->id, e);
    }
    for (size_t i = 0; rc == 0 && i < N_ORGS; i++) {
        const struct district *d = &districts[orgs[i].district];
        struct id_org_new in = {orgs[i].kind,
                                orgs[i].name_ja,
                                orgs[i].name_en,
                                d->name,
                                NULL,
                                {1, d->lat_e6 + 500, d->lon_e6 + 500}};
        char org_id[IDS_LEN + 1], role_id[IDS_LEN + 1];
        rc = id_org_create(s, &in, org_id, e);
        if (rc == 0)
            rc = id_role_add(s, cast[orgs[i].practitioner].id, org_id, orgs[i].role, role_id, e);
        if (rc == 0 && i == 0)
            memcpy(clinic_id, org_id, IDS_LEN + 1);
    }
    if (rc == 0) {
        struct id_family_link_new link = {cast[C_TARO].id,
                                          cast[C_DAUGHTER].id,
                                          ID_RIGHT_SEE_ALERTS | ID_RIGHT_BOOK_APPOINTMENTS,
                                          ID_LINK_FAMILY,
                                          0,
                                          0};
        char link_id[IDS_LEN + 1];
        rc = id_family_link_add(s, &link, link_id, e);
    }
    return rc;
}

struct clients {
    char app_id[IDS_LEN + 1], portal_id[IDS_LEN + 1], backend_id[IDS_LEN + 1];
    char backend_secret[ID_CLIENT_SECRET_LEN + 1];
};

static int seed_clients(struct store *s, const char *clinic_id, struct clients *c, struct err *e)
{
    static const char *const redirects[] = {"http://127.0.0.1:8765/callback",
                                            "https://phr.example.jp/callback"};
    struct id_client_new app = {
        "みなとPHR (sample app)",
        ID_CLIENT_PUBLIC,
        redirects,
        COUNT(redirects),
        "openid profile fhirUser offline_access launch/patient patient/*.rs",
        ID_GRANT_AUTHORIZATION_CODE | ID_GRANT_REFRESH_TOKEN,
        NULL};
    /* the city's own portal: the citizen manages their consents there (patient/Consent.cu), which
     * a third-party app like the one above cannot, and answers the triage, books and pays
     * (QuestionnaireResponse.c, Appointment.cu, Account.c: the citizen journey's views), invites
     * family (RelatedPerson.cud); staff sign in to it too (user/ scopes, cityos.admin): the portal
     * asks only the scopes of the kind of sign-in; user/ scopes act only in a practitioner's role
     * (chosen at sign-in) and cityos.admin counts only for a city administrator */
    /* the portal served by cityos itself (web/, docs/internals/portal.md) comes back to the
     * issuer's root: the default --issuer http://localhost:8080 and its loopback twin; the
     * sample app's URIs stay for the API tests that sign in through this client */
    static const char *const portal_redirects[] = {
        "http://localhost:8080/", "http://127.0.0.1:8080/", "http://127.0.0.1:8765/callback",
        "https://phr.example.jp/callback"};
    struct id_client_new portal = {"会津若松市 市民ポータル (city portal)",
                                   ID_CLIENT_PUBLIC,
                                   portal_redirects,
                                   COUNT(portal_redirects),
                                   "openid profile fhirUser launch/patient patient/*.rs "
                                   "patient/Consent.cu patient/QuestionnaireResponse.c "
                                   "patient/Appointment.cu patient/Account.c "
                                   "patient/RelatedPerson.cud user/*.cruds cityos.admin",
                                   ID_GRANT_AUTHORIZATION_CODE,
                                   NULL};
    struct id_client_new backend = {
        "湊ファミリークリニック back-end service", ID_CLIENT_CONFIDENTIAL,      NULL,     0,
        "system/Observation.rs system/Patient.rs", ID_GRANT_CLIENT_CREDENTIALS, clinic_id};
    char unused[ID_CLIENT_SECRET_LEN + 1];
    int rc = id_client_create(s, &app, c->app_id, unused, e);
    if (rc == 0)
        rc = id_client_create(s, &portal, c->portal_id, unused, e);
    if (rc == 0)
        rc = id_client_create(s, &backend, c->backend_id, c->backend_secret, e);
    return rc;
}

/* The sign-ins block, to the terminal and to the file beside the data. */
static void print_sign_ins(FILE *out, const char *data_dir, const struct clients *c)
{
    fprintf(out, "Demo sign-ins (demonstration credentials only; also in %s/demo-sign-ins.txt):\n",
            data_dir);
    for (size_t i = 0; i < N_CAST; i++)
        fprintf(out, "  %s %s (%s, %s)\n      email=%s password=%s\n", cast[i].family.kanji,
                cast[i].given.kanji, cast[i].role, districts[cast[i].district].name, cast[i].email,
                cast[i].password);
    fprintf(out, "  sample app (public, authorization_code + PKCE): client_id=%s\n", c->app_id);
    fprintf(out,
            "  city portal (public, authorization_code + PKCE; manages consents): client_id=%s\n",
            c->portal_id);
    fprintf(out,
            "  back-end service (confidential, client_credentials): client_id=%s "
            "client_secret=%s\n",
            c->backend_id, c->backend_secret);
}

static void write_sign_ins(const char *data_dir, const struct clients *c)
{
    char path[CONFIG_STR_MAX + 32];
    snprintf(path, sizeof path, "%.*s/demo-sign-ins.txt", CONFIG_STR_MAX, data_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        log_warn("demo: could not write %s", path);
        return;
    }
    print_sign_ins(f, data_dir, c);
    if (fclose(f) != 0)
        log_warn("demo: could not write %s", path);
}

static int count_row(const struct store_row *row, void *ctx)
{
    *(long long *)ctx = (long long)store_row_int(row, 0);
    return 0;
}

/* The calendar year in Japan (UTC+9) now. */
static int japan_year(void)
{
    time_t t = (time_t)(clock_now_ms() / 1000) + 9 * 3600;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return 2025;
    return tm.tm_year + 1900;
}

int cli_demo_town_seed(struct store *s, const struct config *cfg)
{
    struct err e = {0};
    long long existing = 0;
    int rc = store_query(s, "SELECT COUNT(*) FROM person", NULL, 0, count_row, &existing, &e);
    if (rc != 0) {
        log_error("demo: %s", e.msg);
        return rc;
    }
    if (existing > 0) {
        printf("%s: already has %lld people; nothing seeded (demo sign-ins, if the demo seeded "
               "them: %s/demo-sign-ins.txt)\n",
               cfg->data_dir, existing, cfg->data_dir);
        return 0;
    }
    uint64_t t0 = clock_mono_ns();
    struct town t = {.cap = (size_t)cfg->people, .year = japan_year()};
    t.people = calloc(t.cap + 1, sizeof *t.people);
    if (t.people == NULL) {
        log_error("demo: out of memory for %zu people", t.cap);
        return ERR_NOMEM;
    }
    struct rng r = {(uint64_t)cfg->seed};
    while (t.n < t.cap)
        add_household(&t, &r);
    char clinic_id[IDS_LEN + 1] = "";
    struct clients c = {0};
    rc = seed_cast(s, t.year, clinic_id, &e);
    if (rc == 0)
        rc = seed_clients(s, clinic_id, &c, &e);
    if (rc == 0)
        rc = write_town(s, &t, &e);
    if (rc != 0) {
        log_error("demo seeding failed: %s", e.msg);
        free(t.people);
        return rc;
    }
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    /* the cast: the Aizu couple, the daughter, five practitioners each in a household */
    size_t households = t.households + N_CAST - 1, people = t.n + N_CAST;
    printf("%s: seeded a demo town (seed %lld): %zu people in %zu households, %zu over 65; "
           "%zu organisations, %zu practitioner roles, 1 family link, 2 OAuth clients\n",
           cfg->data_dir, cfg->seed, people, households, t.over_65 + 2 /* the Aizu couple */,
           N_ORGS, N_ORGS);
    if (t.n > 0)
        printf("%s: first generated citizen: %s %s (%s %s), born %s, %s\n", cfg->data_dir,
               t.people[0].family->kanji, t.people[0].given->kanji, t.people[0].family->kana,
               t.people[0].given->kana, t.people[0].birth, districts[t.people[0].district].name);
    printf("%s: took %.2f s (only the %zu cast members have passwords; generated citizens have "
           "none)\n",
           cfg->data_dir, secs, N_CAST);
    print_sign_ins(stdout, cfg->data_dir, &c);
    write_sign_ins(cfg->data_dir, &c);
    free(t.people);
    return 0;
}
