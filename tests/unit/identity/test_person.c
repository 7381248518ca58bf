/* test_person.c - people in the store (round trips with Japanese names, every validation
 * refusal, unique e-mail, passwords, sign-in state) and family links (guardianship rules);
 * the prepare / insert steps callers use to add their own rows to the same transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "identity/person.h"
#include "support/fixture.h"

/* ---- fixture: a fresh store in a temporary folder per test ---- */

static int fx_setup(void **state)
{
    return fx_setup_in(state, "person");
}

/* The S1 persona: a 70-year-old man in Minato. */
static struct id_person_new taro(void)
{
    struct id_person_new p = {
        .family_name_kanji = "会津",
        .given_name_kanji = "太郎",
        .family_name_kana = "アイヅ",
        .given_name_kana = "タロウ",
        .birth_date = "1955-04-12",
        .sex = ID_SEX_MALE,
        .district = "湊",
        .coords = {1, 37494722, 139929722},
        .phone = "0242-39-1111",
        .email = "Taro.Aizu@Example.JP",
        .assurance = ID_ASSURANCE_CARD,
    };
    return p;
}

/* "YYYY-MM-DD" of the Japanese date years ago (+ days). */
static void date_ago(char out[11], int years, int days)
{
    time_t t = (time_t)((clock_now_ms() + 9LL * 3600 * 1000) / 1000) + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    int leap_day = tm.tm_mon == 1 && tm.tm_mday == 29; /* becomes 1 March */
    char buf[48];
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900 - years,
             leap_day ? 3 : tm.tm_mon + 1, leap_day ? 1 : tm.tm_mday);
    memcpy(out, buf, 10);
    out[10] = '\0';
}

static void create(struct fx *f, const struct id_person_new *p, char id[IDS_LEN + 1])
{
    struct err e = {0};
    int rc = id_person_create(f->s, p, id, &e);
    if (rc != 0)
        fprintf(stderr, "create: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_true(ids_valid(id));
}

/* ---- people ---- */

static void create_and_get_round_trip(void **state)
{
    struct fx *f = *state;
    struct id_person_new in = taro();
    char id[IDS_LEN + 1];
    int64_t before = clock_now_ms();
    create(f, &in, id);
    struct id_person p;
    struct err e = {0};
    assert_int_equal(id_person_get(f->s, id, &p, f->a, &e), 0);
    assert_string_equal(p.id, id);
    assert_string_equal(p.family_name_kanji, "会津");
    assert_string_equal(p.given_name_kanji, "太郎");
    assert_string_equal(p.family_name_kana, "アイヅ");
    assert_string_equal(p.given_name_kana, "タロウ");
    assert_string_equal(p.birth_date, "1955-04-12");
    assert_int_equal(p.sex, ID_SEX_MALE);
    assert_string_equal(p.district, "湊");
    assert_true(p.coords.set);
    assert_int_equal(p.coords.lat_e6, 37494722);
    assert_int_equal(p.coords.lon_e6, 139929722);
    assert_string_equal(p.phone, "0242-39-1111");
    assert_string_equal(p.email, "taro.aizu@example.jp"); /* lower-cased */
    assert_int_equal(p.assurance, ID_ASSURANCE_CARD);
    assert_false(p.has_password);
    assert_false(p.has_totp);
    assert_int_equal(p.login.failed, 0);
    assert_int_equal(p.login.locked_until_ms, 0);
    assert_true(p.created_ms >= before && p.created_ms == p.updated_ms);

    struct id_person q;
    assert_int_equal(id_person_find_by_email(f->s, "TARO.aizu@example.jp", &q, f->a, &e), 0);
    assert_string_equal(q.id, id);
    assert_int_equal(id_person_find_by_email(f->s, "hanako@example.jp", &q, f->a, &e),
                     ERR_NOTFOUND);
    assert_int_equal(id_person_find_by_email(f->s, "not an address", &q, f->a, &e), ERR_INVALID);

    /* a second person with only the required fields, hiragana kana, and no e-mail */
    struct id_person_new min = {
        "山田",   "花子", "やまだ", "はなこ", "1990-02-28",      ID_SEX_FEMALE,
        "一箕町", {0},    NULL,     "",       ID_ASSURANCE_SELF, NULL};
    char id2[IDS_LEN + 1], id3[IDS_LEN + 1];
    create(f, &min, id2);
    create(f, &min, id3); /* no e-mail twice is no conflict */
    assert_string_not_equal(id2, id3);
    assert_int_equal(id_person_get(f->s, id2, &p, f->a, &e), 0);
    assert_null(p.email);
    assert_null(p.phone);
    assert_false(p.coords.set);
    assert_int_equal(p.assurance, ID_ASSURANCE_SELF);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM person"), 3);
}

static void unknown_and_malformed_ids(void **state)
{
    struct fx *f = *state;
    struct id_person p;
    struct err e = {0};
    char id[IDS_LEN + 1];
    ids_new(id);
    assert_int_equal(id_person_get(f->s, id, &p, f->a, &e), ERR_NOTFOUND);
    assert_int_equal(id_person_get(f->s, "not-an-id", &p, f->a, &e), ERR_INVALID);
    assert_int_equal(id_person_get(f->s, NULL, &p, f->a, &e), ERR_INVALID);
}

struct refusal {
    const char *field; /* the message must start with this */
    void (*mutate)(struct id_person_new *p);
};

#define MUT(name, body)                                                                            \
    static void name(struct id_person_new *p)                                                      \
    {                                                                                              \
        body;                                                                                      \
    }
MUT(no_family, p->family_name_kanji = "")
MUT(null_family, p->family_name_kanji = NULL)
MUT(long_family, p->family_name_kanji = "寿限無寿限無五劫の擦り切れ海砂利水魚の水行末雲来末風来末"
                                        "食う寝る処に住む処藪ら柑子の藪柑子パイポパイポパイポのシュ"
                                        "ーリンガン")
MUT(ctrl_family, p->family_name_kanji = "会\n津")
MUT(space_family, p->family_name_kanji = " 会津")
MUT(wide_space_given, p->given_name_kanji = "太郎\u3000")
MUT(bad_utf8_given, p->given_name_kanji = "\xe5\xa4")
MUT(no_given, p->given_name_kanji = "")
MUT(kanji_kana, p->family_name_kana = "会津")
MUT(latin_kana, p->family_name_kana = "Aizu")
MUT(halfwidth_kana, p->given_name_kana = "ﾀﾛｳ")
MUT(spaced_kana, p->given_name_kana = "タ ロウ")
MUT(no_kana, p->given_name_kana = "")
MUT(not_leap, p->birth_date = "1955-02-29")
MUT(month13, p->birth_date = "1955-13-01")
MUT(short_date, p->birth_date = "1955-4-12")
MUT(slash_date, p->birth_date = "1955/04/12")
MUT(future_date, p->birth_date = "2999-01-01")
MUT(ancient_date, p->birth_date = "1800-01-01")
MUT(no_date, p->birth_date = NULL)
MUT(bad_sex, p->sex = (enum id_sex)7)
MUT(no_district, p->district = "")
MUT(lat_out, p->coords.lat_e6 = 90000001)
MUT(lon_out, p->coords.lon_e6 = -180000001)
MUT(letters_phone, p->phone = "0242-CALL-ME")
MUT(double_dash_phone, p->phone = "0242--39-1111")
MUT(plus_inside_phone, p->phone = "0242+391111")
MUT(short_phone, p->phone = "12345")
MUT(long_phone, p->phone = "+81-242-39-1111-2222-3")
MUT(no_at, p->email = "taro.example.jp")
MUT(two_at, p->email = "taro@aizu@example.jp")
MUT(one_label, p->email = "taro@localhost")
MUT(dots, p->email = "taro..aizu@example.jp")
MUT(leading_dot, p->email = ".taro@example.jp")
MUT(dash_label, p->email = "taro@-aizu.example.jp")
MUT(numeric_tld, p->email = "taro@10.0.0.1")
MUT(space_email, p->email = "taro aizu@example.jp")
MUT(idn_email, p->email = "taro@会津.jp")
MUT(bad_assurance, p->assurance = (enum id_assurance)9)
MUT(weak_password, p->password = "password1")
MUT(short_password, p->password = "aizu")

static void every_invalid_field_is_refused_and_nothing_stored(void **state)
{
    struct fx *f = *state;
    static const struct refusal cases[] = {
        {"family_name:", no_family},
        {"family_name:", null_family},
        {"family_name:", long_family},
        {"family_name:", ctrl_family},
        {"family_name:", space_family},
        {"given_name:", wide_space_given},
        {"given_name:", bad_utf8_given},
        {"given_name:", no_given},
        {"family_name_kana:", kanji_kana},
        {"family_name_kana:", latin_kana},
        {"given_name_kana:", halfwidth_kana},
        {"given_name_kana:", spaced_kana},
        {"given_name_kana:", no_kana},
        {"birth_date:", not_leap},
        {"birth_date:", month13},
        {"birth_date:", short_date},
        {"birth_date:", slash_date},
        {"birth_date:", future_date},
        {"birth_date:", ancient_date},
        {"birth_date:", no_date},
        {"sex:", bad_sex},
        {"district:", no_district},
        {"lat:", lat_out},
        {"lon:", lon_out},
        {"phone:", letters_phone},
        {"phone:", double_dash_phone},
        {"phone:", plus_inside_phone},
        {"phone:", short_phone},
        {"phone:", long_phone},
        {"email:", no_at},
        {"email:", two_at},
        {"email:", one_label},
        {"email:", dots},
        {"email:", leading_dot},
        {"email:", dash_label},
        {"email:", numeric_tld},
        {"email:", space_email},
        {"email:", idn_email},
        {"assurance:", bad_assurance},
        {"password:", weak_password},
        {"password:", short_password},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct id_person_new p = taro();
        cases[i].mutate(&p);
        char id[IDS_LEN + 1] = "";
        struct err e = {0};
        int rc = id_person_create(f->s, &p, id, &e);
        if (rc != ERR_INVALID || strncmp(e.msg, cases[i].field, strlen(cases[i].field)) != 0)
            fail_msg("case %zu (%s): rc %d, \"%s\"", i, cases[i].field, rc, e.msg);
        assert_string_equal(id, "");
    }
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM person"), 0);
}

static void duplicate_email_is_a_conflict(void **state)
{
    struct fx *f = *state;
    struct id_person_new a = taro(), b = taro();
    b.family_name_kanji = "別人";
    b.email = "TARO.AIZU@example.jp"; /* same address, other case */
    char id[IDS_LEN + 1], id2[IDS_LEN + 1] = "";
    create(f, &a, id);
    struct err e = {0};
    assert_int_equal(id_person_create(f->s, &b, id2, &e), ERR_CONFLICT);
    assert_string_equal(e.msg, "email: already registered to another person");
    assert_string_equal(id2, "");
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM person"), 1);
}

static void passwords_are_stored_as_argon2id(void **state)
{
    struct fx *f = *state;
    struct id_person_new in = taro();
    in.password = "tsurugajo castle 1384";
    char id[IDS_LEN + 1];
    create(f, &in, id); /* hash 1 */
    struct id_person p;
    struct err e = {0};
    assert_int_equal(id_person_get(f->s, id, &p, f->a, &e), 0);
    assert_true(p.has_password);
    const char *hash = NULL;
    struct id_login_state st;
    assert_int_equal(id_person_get_login(f->s, id, &hash, &st, f->a, &e), 0);
    assert_non_null(strstr(hash, "$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_int_equal(id_password_verify(hash, "tsurugajo castle 1384"), 0); /* hash 2 */

    /* the policy knows this person's e-mail and regional ID */
    char with_id[64];
    snprintf(with_id, sizeof with_id, "x%sx", id);
    assert_int_equal(id_person_set_password(f->s, id, with_id, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "regional ID"));
    assert_int_equal(id_person_set_password(f->s, id, "Taro.Aizu@example.jp", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "e-mail"));
    char other[IDS_LEN + 1];
    ids_new(other);
    assert_int_equal(id_person_set_password(f->s, other, "a fine password", &e), ERR_NOTFOUND);

    /* a new password replaces the hash and clears a lock */
    struct id_login_state locked;
    for (int i = 0; i < ID_LOGIN_LOCK_AFTER; i++)
        assert_int_equal(id_person_note_login(f->s, id, 0, clock_now_ms(), &locked, &e), 0);
    assert_int_equal(locked.failed, ID_LOGIN_LOCK_AFTER);
    assert_int_equal(id_person_set_password(f->s, id, "aizu bandai-san 1819", &e), 0); /* 3 */
    const char *hash2 = NULL;
    assert_int_equal(id_person_get_login(f->s, id, &hash2, &st, f->a, &e), 0);
    assert_string_not_equal(hash, hash2);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.locked_until_ms, 0);
    assert_int_equal(id_password_verify(hash2, "tsurugajo castle 1384"), ERR_INVALID); /* 4 */

    /* no password: no hash */
    struct id_person_new bare = taro();
    bare.email = NULL;
    char id2[IDS_LEN + 1];
    create(f, &bare, id2);
    assert_int_equal(id_person_get_login(f->s, id2, &hash, &st, f->a, &e), 0);
    assert_null(hash);
}

static void failed_sign_ins_are_counted_in_the_store(void **state)
{
    struct fx *f = *state;
    struct id_person_new in = taro();
    char id[IDS_LEN + 1];
    create(f, &in, id);
    struct err e = {0};
    struct id_login_state st;
    int64_t t = 1767225600000; /* a fake clock */
    for (int i = 0; i < ID_LOGIN_BACKOFF_AFTER; i++)
        assert_int_equal(id_person_note_login(f->s, id, 0, t, &st, &e), 0);
    assert_int_equal(st.failed, ID_LOGIN_BACKOFF_AFTER);
    assert_int_equal(st.locked_until_ms, t + ID_LOGIN_BACKOFF_BASE_MS);
    struct id_person p;
    assert_int_equal(id_person_get(f->s, id, &p, f->a, &e), 0);
    assert_int_equal(p.login.failed, ID_LOGIN_BACKOFF_AFTER);
    assert_int_equal(p.login.locked_until_ms, t + ID_LOGIN_BACKOFF_BASE_MS);
    assert_int_equal(id_person_note_login(f->s, id, 1, t + 5000, &st, &e), 0);
    assert_int_equal(st.failed, 0);
    assert_int_equal(id_person_get(f->s, id, &p, f->a, &e), 0);
    assert_int_equal(p.login.failed, 0);
    assert_int_equal(p.login.locked_until_ms, 0);
    char other[IDS_LEN + 1];
    ids_new(other);
    assert_int_equal(id_person_note_login(f->s, other, 0, t, &st, &e), ERR_NOTFOUND);
}

/* ---- dates, ages and coordinates ---- */

static void ages_follow_the_japanese_calendar(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(clock_parse_rfc3339("2026-04-11T23:59:59+09:00", &ms), 0);
    assert_int_equal(id_age_at("1955-04-12", ms), 70);
    assert_int_equal(id_age_at("1955-04-12", ms + 1000), 71);
    /* born on 29 February: 18 on 1 March of a common year, at midnight in Japan */
    assert_int_equal(clock_parse_rfc3339("2026-02-28T14:59:59Z", &ms), 0);
    assert_int_equal(id_age_at("2008-02-29", ms), 17);
    assert_int_equal(id_age_at("2008-02-29", ms + 1000), 18);
    assert_int_equal(id_age_at("2008-02-30", ms), -1);
    int64_t v;
    assert_int_equal(id_coord_parse("37.494722", 90, &v), 0);
    assert_int_equal(v, 37494722);
    assert_int_equal(id_coord_parse("-0.5", 90, &v), 0);
    assert_int_equal(v, -500000);
    assert_int_equal(id_coord_parse("180", 180, &v), 0);
    assert_int_equal(v, 180000000);
    assert_int_equal(id_coord_parse("180.000001", 180, &v), ERR_INVALID);
    assert_int_equal(id_coord_parse("90.5", 90, &v), ERR_INVALID);
    assert_int_equal(id_coord_parse("1.1234567", 90, &v), ERR_INVALID);
    assert_int_equal(id_coord_parse("", 90, &v), ERR_INVALID);
    assert_int_equal(id_coord_parse(".5", 90, &v), ERR_INVALID);
    assert_int_equal(id_coord_parse("1.", 90, &v), ERR_INVALID);
    assert_int_equal(id_coord_parse("1e3", 90, &v), ERR_INVALID);
    assert_int_equal(id_coord_parse("12345", 180, &v), ERR_INVALID);
}

/* ---- family links ---- */

static void rights_parse_and_format(void **state)
{
    (void)state;
    unsigned r = 0;
    char buf[ID_RIGHTS_TEXT_MAX];
    struct err e = {0};
    assert_int_equal(id_rights_parse("book_appointments,see_alerts", &r, &e), 0);
    assert_int_equal(r, ID_RIGHT_SEE_ALERTS | ID_RIGHT_BOOK_APPOINTMENTS);
    assert_string_equal(id_rights_format(r, buf), "see_alerts,book_appointments");
    assert_int_equal(id_rights_parse("everything", &r, &e), 0);
    assert_int_equal(r, ID_RIGHT_EVERYTHING);
    assert_int_equal(
        id_rights_parse("see_record,see_alerts,book_appointments,manage_consents", &r, &e), 0);
    assert_int_equal(r, 15);
    assert_int_equal(id_rights_parse("", &r, &e), ERR_INVALID);
    assert_int_equal(id_rights_parse(NULL, &r, &e), ERR_INVALID);
    assert_int_equal(id_rights_parse("see_alerts,", &r, &e), ERR_INVALID);
    assert_int_equal(id_rights_parse("read_mail", &r, &e), ERR_INVALID);
    assert_string_equal(e.msg, "rights: unknown right \"read_mail\"");
    assert_int_equal(id_rights_parse("see_alerts,see_alerts", &r, &e), ERR_INVALID);
    assert_int_equal(id_rights_parse("everything,see_alerts", &r, &e), ERR_INVALID);
    assert_int_equal(id_rights_parse("see_alerts ,book_appointments", &r, &e), ERR_INVALID);
}

static const struct id_family_link *by_subject(const struct id_family_link *links, size_t n,
                                               const char *subject)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(links[i].subject_id, subject) == 0)
            return &links[i];
    fail_msg("no link for subject %s", subject);
    return NULL;
}

static void family_links_and_guardianship(void **state)
{
    struct fx *f = *state;
    char father[IDS_LEN + 1], daughter[IDS_LEN + 1], child[IDS_LEN + 1], teen[IDS_LEN + 1];
    char child_birth[11], teen_birth[11], link[IDS_LEN + 1];
    struct id_person_new p = taro();
    create(f, &p, father);
    p.email = NULL;
    p.given_name_kanji = "花子", p.given_name_kana = "ハナコ", p.birth_date = "1985-06-01";
    create(f, &p, daughter);
    date_ago(child_birth, 10, 0);
    p.given_name_kanji = "健", p.given_name_kana = "ケン", p.birth_date = child_birth;
    create(f, &p, child);
    date_ago(teen_birth, 18, 1); /* turns 18 tomorrow */
    p.given_name_kanji = "翔", p.given_name_kana = "ショウ", p.birth_date = teen_birth;
    create(f, &p, teen);
    struct err e = {0};

    /* the daughter may see her father's alerts and book for him */
    struct id_family_link_new in = {
        father, daughter, ID_RIGHT_SEE_ALERTS | ID_RIGHT_BOOK_APPOINTMENTS, ID_LINK_FAMILY, 0, 0};
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), 0);
    /* guardianship of an adult is refused */
    in.kind = ID_LINK_GUARDIAN, in.rights = ID_RIGHT_EVERYTHING;
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), ERR_INVALID);
    assert_string_equal(e.msg, "kind: a guardian link needs a subject under 18");
    /* the daughter is the child's guardian until the 18th birthday */
    in.subject_id = child;
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), 0);
    in.subject_id = teen; /* still 17 today */
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), 0);
    /* a minor cannot be a guardian; nobody is their own delegate */
    in.subject_id = child, in.delegate_id = teen;
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), ERR_INVALID);
    assert_string_equal(e.msg, "delegate_id: a guardian must be 18 or older");
    in.delegate_id = child;
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), ERR_INVALID);
    /* guardianship cannot outlast the 18th birthday */
    in.delegate_id = daughter, in.valid_until_ms = clock_now_ms() + 20LL * 365 * 86400000;
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "valid_until:"));
    in.valid_until_ms = clock_now_ms() - 1000; /* already over */
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), ERR_INVALID);
    in.valid_until_ms = 0;
    in.rights = 0;
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), ERR_INVALID);
    in.rights = ID_RIGHT_EVERYTHING | ID_RIGHT_SEE_ALERTS;
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), ERR_INVALID);
    in.rights = ID_RIGHT_EVERYTHING, in.kind = (enum id_link_kind)5;
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), ERR_INVALID);
    char ghost[IDS_LEN + 1];
    ids_new(ghost);
    in.kind = ID_LINK_FAMILY, in.subject_id = ghost;
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), ERR_NOTFOUND);
    assert_string_equal(e.msg, "subject_id: no such person");
    in.subject_id = "bad";
    assert_int_equal(id_family_link_add(f->s, &in, link, &e), ERR_INVALID);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM family_link"), 3);

    struct id_family_link *links = NULL;
    size_t n = 0;
    assert_int_equal(id_family_link_list_for_delegate(f->s, daughter, 0, f->a, &links, &n, &e), 0);
    assert_int_equal(n, 3);
    /* oldest first, but links made in the same millisecond may come in either order */
    const struct id_family_link *fam = by_subject(links, n, father);
    const struct id_family_link *guard = by_subject(links, n, child);
    assert_int_equal(fam->kind, ID_LINK_FAMILY);
    assert_string_equal(fam->delegate_id, daughter);
    assert_int_equal(fam->rights, ID_RIGHT_SEE_ALERTS | ID_RIGHT_BOOK_APPOINTMENTS);
    assert_int_equal(fam->valid_until_ms, 0);
    assert_true(fam->created_ms <= guard->created_ms);
    assert_int_equal(guard->kind, ID_LINK_GUARDIAN);
    assert_int_equal(guard->rights, ID_RIGHT_EVERYTHING);
    assert_true(guard->valid_until_ms > clock_now_ms());
    assert_int_equal(id_age_at(child_birth, guard->valid_until_ms - 1), 17);
    assert_int_equal(id_age_at(child_birth, guard->valid_until_ms), 18);
    assert_int_equal(by_subject(links, n, teen)->kind, ID_LINK_GUARDIAN);
    /* the teenager's guardianship ends tomorrow: valid now, not in two days */
    int64_t later = clock_now_ms() + 2 * 86400000LL;
    assert_int_equal(
        id_family_link_list_for_delegate(f->s, daughter, clock_now_ms(), f->a, &links, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(id_family_link_list_for_delegate(f->s, daughter, later, f->a, &links, &n, &e),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(id_family_link_list_for_delegate(f->s, father, 0, f->a, &links, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_null(links);
}

/* ---- prepare and insert: a caller's own rows in the same transaction ---- */

/* A write: the prepared insert, then (after) a row of the caller's, or a failure. */
struct two_step {
    store_write_fn insert;
    void *ctx;
    int fail_after; /* 1: the caller's part fails after the insert */
};

static int two_step_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct two_step *t = ctx;
    int rc = t->insert(tx, t->ctx, e);
    if (rc != 0)
        return rc;
    if (t->fail_after)
        return err_set(e, ERR_UNAVAILABLE, "the caller's part failed");
    return 0;
}

static void person_prepare_and_insert(void **state)
{
    struct fx *f = *state;
    struct id_person_new in = taro();
    in.password = "correct horse battery";
    struct id_person_write w;
    struct err e = {0};
    assert_int_equal(id_person_prepare(&w, &in, clock_now_ms(), &e), 0);
    assert_true(ids_valid(w.id));
    assert_string_equal(w.email, "taro.aizu@example.jp");
    assert_non_null(strstr(w.hash, "$argon2id$"));
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM person"), 0); /* nothing stored yet */
    /* the caller's part fails: the person is rolled back with it */
    struct two_step t = {id_person_insert_fn, &w, 1};
    assert_int_equal(store_write(f->s, two_step_fn, &t, &e), ERR_UNAVAILABLE);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM person"), 0);
    t.fail_after = 0;
    assert_int_equal(store_write(f->s, two_step_fn, &t, &e), 0);
    struct id_person p;
    assert_int_equal(id_person_get(f->s, w.id, &p, f->a, &e), 0);
    assert_string_equal(p.given_name_kanji, "太郎");
    assert_true(p.has_password);
    /* the same address again: the insert refuses it inside the caller's write */
    struct id_person_write w2;
    assert_int_equal(id_person_prepare(&w2, &in, clock_now_ms(), &e), 0);
    assert_string_not_equal(w2.id, w.id);
    t.ctx = &w2;
    assert_int_equal(store_write(f->s, two_step_fn, &t, &e), ERR_CONFLICT);
    assert_string_equal(e.msg, "email: already registered to another person");
    /* prepare refuses what id_person_create refuses, with the same words */
    in.birth_date = "1955-02-30";
    assert_int_equal(id_person_prepare(&w2, &in, clock_now_ms(), &e), ERR_INVALID);
    assert_string_equal(e.msg, "birth_date: must be a real date as YYYY-MM-DD");
    in = taro();
    in.password = "short";
    assert_int_equal(id_person_prepare(&w2, &in, clock_now_ms(), &e), ERR_INVALID);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM person"), 1);
}

static void family_link_prepare_and_insert(void **state)
{
    struct fx *f = *state;
    char mother[IDS_LEN + 1], child[IDS_LEN + 1], child_birth[11];
    struct id_person_new p = taro();
    p.given_name_kanji = "花子", p.given_name_kana = "ハナコ", p.birth_date = "1985-06-01";
    create(f, &p, mother);
    date_ago(child_birth, 10, 0);
    p.email = NULL, p.given_name_kanji = "健", p.given_name_kana = "ケン";
    p.birth_date = child_birth;
    create(f, &p, child);
    struct id_family_link_new in = {child, mother, ID_RIGHT_EVERYTHING, ID_LINK_GUARDIAN, 0, 0};
    struct id_family_link_write w;
    struct err e = {0};
    int64_t now = clock_now_ms();
    assert_int_equal(id_family_link_prepare(&w, &in, now, &e), 0);
    assert_true(ids_valid(w.id));
    assert_string_equal(w.rights, "everything");
    assert_int_equal(w.from_ms, now);
    assert_int_equal(w.until_ms, 0);
    struct two_step t = {id_family_link_insert_fn, &w, 1};
    assert_int_equal(store_write(f->s, two_step_fn, &t, &e), ERR_UNAVAILABLE);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM family_link"), 0);
    t.fail_after = 0;
    assert_int_equal(store_write(f->s, two_step_fn, &t, &e), 0);
    /* the insert set a guardianship's end: the 18th birthday */
    assert_int_equal(id_age_at(child_birth, w.until_ms - 1), 17);
    assert_int_equal(id_age_at(child_birth, w.until_ms), 18);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM family_link"), 1);
    /* the checks that need the database run in the insert: a missing person */
    char ghost[IDS_LEN + 1];
    ids_new(ghost);
    in.delegate_id = ghost;
    assert_int_equal(id_family_link_prepare(&w, &in, now, &e), 0);
    assert_int_equal(store_write(f->s, two_step_fn, &t, &e), ERR_NOTFOUND);
    assert_string_equal(e.msg, "delegate_id: no such person");
    /* and the rest in prepare */
    in.delegate_id = child;
    assert_int_equal(id_family_link_prepare(&w, &in, now, &e), ERR_INVALID);
    assert_string_equal(e.msg, "delegate_id: a person cannot be their own delegate");
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM family_link"), 1);
}

int main(void)
{
    log_set_level(LOGL_WARN);
    if (ids_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_and_get_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(unknown_and_malformed_ids, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(every_invalid_field_is_refused_and_nothing_stored, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(duplicate_email_is_a_conflict, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(passwords_are_stored_as_argon2id, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(failed_sign_ins_are_counted_in_the_store, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(ages_follow_the_japanese_calendar),
        cmocka_unit_test(rights_parse_and_format),
        cmocka_unit_test_setup_teardown(family_links_and_guardianship, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(person_prepare_and_insert, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(family_link_prepare_and_insert, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
