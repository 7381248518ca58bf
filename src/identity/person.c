/* person.c - people and family links in the store: strict validation of every field before a
 * write (names, kana, dates, e-mail, phone, coordinates), the writes and reads themselves. */
#include "identity/person.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/utf8.h"

#define DAY_MS      86400000LL
#define JST_MS      (9LL * 3600 * 1000) /* Japan: UTC+9 all year; the city's dates are Japanese */
#define MAJORITY    18                  /* Civil Code art. 4, since April 2022 */
#define BIRTH_YEAR0 1880

static const char *const sex_names[] = {"male", "female", "other", "unknown"};
static const char *const assurance_names[] = {"self", "in_person", "card"};
static const char *const link_kind_names[] = {"family", "guardian"};
static const char *const right_names[] = {"see_record", "see_alerts", "book_appointments",
                                          "manage_consents", "everything"};
#define NRIGHTS (sizeof right_names / sizeof right_names[0])

static int name_index(const char *const *names, size_t n, const char *text)
{
    for (size_t i = 0; text != NULL && i < n; i++)
        if (strcmp(names[i], text) == 0)
            return (int)i;
    return -1;
}

const char *id_sex_name(enum id_sex v)
{
    return (unsigned)v < 4 ? sex_names[v] : "?";
}

int id_sex_parse(const char *text, enum id_sex *out)
{
    int i = name_index(sex_names, 4, text);
    if (i < 0)
        return ERR_INVALID;
    *out = (enum id_sex)i;
    return 0;
}

const char *id_assurance_name(enum id_assurance v)
{
    return (unsigned)v < 3 ? assurance_names[v] : "?";
}

int id_assurance_parse(const char *text, enum id_assurance *out)
{
    int i = name_index(assurance_names, 3, text);
    if (i < 0)
        return ERR_INVALID;
    *out = (enum id_assurance)i;
    return 0;
}

const char *id_link_kind_name(enum id_link_kind v)
{
    return (unsigned)v < 2 ? link_kind_names[v] : "?";
}

int id_link_kind_parse(const char *text, enum id_link_kind *out)
{
    int i = name_index(link_kind_names, 2, text);
    if (i < 0)
        return ERR_INVALID;
    *out = (enum id_link_kind)i;
    return 0;
}

/* ---- field checks ---- */

/* Decodes the code point at s[*i] (valid UTF-8) and advances *i. */
static unsigned next_cp(const char *s, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s + *i;
    unsigned c = u[0];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    unsigned cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; k++)
        cp = (cp << 6) | (u[k] & 0x3F);
    *i += len;
    return cp;
}

static int is_space_cp(unsigned cp)
{
    return cp == ' ' || cp == 0x3000; /* ASCII and ideographic space */
}

int id__check_text(const char *field, const char *text, size_t min, size_t max, struct err *e)
{
    if (text == NULL)
        text = "";
    size_t n = strnlen(text, max * 4 + 1);
    if (n > max * 4 || !utf8_valid(text, n))
        return err_set(e, ERR_INVALID, "%s: must be UTF-8 text of at most %zu characters", field,
                       max);
    size_t chars = utf8_chars(text, n);
    if (chars < min || chars > max)
        return err_set(e, ERR_INVALID, "%s: must have %zu to %zu characters", field, min, max);
    unsigned first = 0, last = 0;
    for (size_t i = 0; i < n;) {
        unsigned cp = next_cp(text, &i);
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029)
            return err_set(e, ERR_INVALID, "%s: control characters are not allowed", field);
        if (first == 0)
            first = cp;
        last = cp;
    }
    if (n > 0 && (is_space_cp(first) || is_space_cp(last)))
        return err_set(e, ERR_INVALID, "%s: must not begin or end with a space", field);
    return 0;
}

/* Hiragana (U+3041-3096, marks U+3099-309F) or katakana (U+30A0-30FF with the middle dot and
 * the long-vowel mark, small Ainu kana U+31F0-31FF). Half-width katakana is refused: the
 * caller converts it to full width first. */
static int is_kana(unsigned cp)
{
    return (cp >= 0x3041 && cp <= 0x3096) || (cp >= 0x3099 && cp <= 0x309F) ||
           (cp >= 0x30A0 && cp <= 0x30FF) || (cp >= 0x31F0 && cp <= 0x31FF);
}

static int check_kana(const char *field, const char *text, struct err *e)
{
    int rc = id__check_text(field, text, 1, ID_NAME_MAX, e);
    if (rc != 0)
        return rc;
    for (size_t i = 0, n = strlen(text); i < n;)
        if (!is_kana(next_cp(text, &i)))
            return err_set(e, ERR_INVALID, "%s: only katakana or hiragana", field);
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Strict "YYYY-MM-DD" naming a real date. */
static int parse_date(const char *s, int *y, int *m, int *d)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return ERR_INVALID;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return ERR_INVALID;
    *y = atoi(s), *m = atoi(s + 5), *d = atoi(s + 8);
    if (*m < 1 || *m > 12 || *d < 1 || *d > mdays[*m - 1])
        return ERR_INVALID;
    int leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
    return (*m == 2 && *d == 29 && !leap) ? ERR_INVALID : 0;
}

static void japan_date(int64_t ms, int *y, int *m, int *d)
{
    int64_t t = ms + JST_MS;
    civil_from_days(t >= 0 ? t / DAY_MS : (t - DAY_MS + 1) / DAY_MS, y, m, d);
}

int id_age_at(const char *birth_date, int64_t at_ms)
{
    int by, bm, bd, y, m, d;
    if (parse_date(birth_date, &by, &bm, &bd) != 0)
        return -1;
    japan_date(at_ms, &y, &m, &d);
    return y - by - ((m < bm || (m == bm && d < bd)) ? 1 : 0);
}

/* The instant the person turns 18: the start of the (Japanese) 18th birthday. */
static int64_t majority_ms(const char *birth_date)
{
    int by, bm, bd;
    if (parse_date(birth_date, &by, &bm, &bd) != 0)
        return 0;
    return days_from_civil(by + MAJORITY, bm, bd) * DAY_MS - JST_MS; /* 29 Feb -> 1 Mar */
}

static int check_birth_date(const char *s, int64_t now_ms, struct err *e)
{
    int y, m, d, ty, tm, td;
    if (parse_date(s, &y, &m, &d) != 0)
        return err_set(e, ERR_INVALID, "birth_date: must be a real date as YYYY-MM-DD");
    japan_date(now_ms, &ty, &tm, &td);
    if (y < BIRTH_YEAR0 || days_from_civil(y, m, d) > days_from_civil(ty, tm, td))
        return err_set(e, ERR_INVALID, "birth_date: must lie between %d and today", BIRTH_YEAR0);
    return 0;
}

static int email_char(char c)
{
    return isalnum((unsigned char)c) || strchr("!#$%&'*+/=?^_`{|}~-.", c) != NULL;
}

/* Checks the shape of an address (an ASCII local part of RFC 5322 atoms, a DNS domain of two or
 * more labels) and writes it lower-cased into out. */
static int check_email(const char *s, char out[ID_EMAIL_MAX + 1], struct err *e)
{
    size_t n = strnlen(s, ID_EMAIL_MAX + 1);
    const char *at = strchr(s, '@');
    if (n > ID_EMAIL_MAX || at == NULL || strchr(at + 1, '@') != NULL)
        return err_set(e, ERR_INVALID, "email: must look like name@example.jp");
    size_t local = (size_t)(at - s);
    if (local < 1 || local > 64 || s[0] == '.' || at[-1] == '.' || strstr(s, "..") != NULL)
        return err_set(e, ERR_INVALID, "email: the part before @ is not valid");
    for (size_t i = 0; i < local; i++)
        if (!email_char(s[i]))
            return err_set(e, ERR_INVALID, "email: the part before @ is not valid");
    const char *label = at + 1;
    int labels = 0, digits_only = 1;
    for (const char *p = label;; p++) {
        if (*p == '.' || *p == '\0') {
            size_t len = (size_t)(p - label);
            if (len < 1 || len > 63 || label[0] == '-' || p[-1] == '-')
                return err_set(e, ERR_INVALID, "email: the domain is not valid");
            labels++;
            if (*p == '\0')
                break;
            label = p + 1;
            digits_only = 1;
        } else if (isalnum((unsigned char)*p) || *p == '-') {
            digits_only &= isdigit((unsigned char)*p) != 0;
        } else {
            return err_set(e, ERR_INVALID, "email: the domain is not valid");
        }
    }
    if (labels < 2 || digits_only)
        return err_set(e, ERR_INVALID, "email: the domain is not valid");
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    return 0;
}

/* Digits with an optional leading '+' and single '-' between digits; 6..15 digits (E.164). */
static int check_phone(const char *s, struct err *e)
{
    size_t n = strnlen(s, ID_PHONE_MAX + 1), digits = 0;
    if (n > ID_PHONE_MAX)
        return err_set(e, ERR_INVALID, "phone: at most %d characters", ID_PHONE_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (isdigit((unsigned char)c))
            digits++;
        else if (c == '+' && i == 0)
            continue;
        else if (c != '-' || i == 0 || i + 1 == n || !isdigit((unsigned char)s[i - 1]))
            return err_set(e, ERR_INVALID, "phone: only digits, a leading + and single -");
    }
    if (digits < 6 || digits > 15)
        return err_set(e, ERR_INVALID, "phone: must have 6 to 15 digits");
    return 0;
}

int id_coord_parse(const char *text, int limit_deg, int64_t *out_e6)
{
    const char *p = text;
    int neg = *p == '-';
    p += neg;
    int64_t whole = 0, frac = 0;
    int nw = 0, nf = 0;
    for (; isdigit((unsigned char)*p) && nw < 4; p++, nw++)
        whole = whole * 10 + (*p - '0');
    if (nw == 0)
        return ERR_INVALID;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p) && nf < 6; p++, nf++)
            frac = frac * 10 + (*p - '0');
        if (nf == 0)
            return ERR_INVALID;
    }
    if (*p != '\0')
        return ERR_INVALID;
    for (; nf < 6; nf++)
        frac *= 10;
    int64_t v = whole * 1000000 + frac;
    if (v > (int64_t)limit_deg * 1000000)
        return ERR_INVALID;
    *out_e6 = neg ? -v : v;
    return 0;
}

int id__check_coords(const struct id_coords *c, struct err *e)
{
    if (!c->set)
        return 0;
    if (c->lat_e6 < -90000000 || c->lat_e6 > 90000000)
        return err_set(e, ERR_INVALID, "lat: must lie between -90 and 90 degrees");
    if (c->lon_e6 < -180000000 || c->lon_e6 > 180000000)
        return err_set(e, ERR_INVALID, "lon: must lie between -180 and 180 degrees");
    return 0;
}

const char *id__row_text(const struct store_row *row, int col, struct arena *a, int *nomem)
{
    size_t len = 0;
    const char *t = store_row_text(row, col, &len);
    if (t == NULL || store_row_is_null(row, col))
        return NULL;
    char *copy = arena_strndup(a, t, len);
    if (copy == NULL)
        *nomem = 1;
    return copy;
}

static int empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* ---- people ---- */

_Static_assert(ID_LIST_MAX == 1000, "the list queries say LIMIT 1000");

static const char SQL_PERSON_INSERT[] =
    "INSERT INTO person (id, family_name_kanji, given_name_kanji, family_name_kana, "
    "given_name_kana, birth_date, sex, district, lat_e6, lon_e6, phone, email, assurance, "
    "password_hash, totp_secret, failed_logins, locked_until_ms, created_ms, updated_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, 0, ?, ?)";
static const char SQL_EMAIL_TAKEN[] = "SELECT 1 FROM person WHERE email = ?";
#define PERSON_COLUMNS                                                                             \
    "SELECT id, family_name_kanji, given_name_kanji, family_name_kana, given_name_kana, "          \
    "birth_date, sex, district, lat_e6, lon_e6, phone, email, assurance, "                         \
    "CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END, "                                          \
    "CASE WHEN totp_secret IS NULL THEN 0 ELSE 1 END, failed_logins, locked_until_ms, "            \
    "created_ms, updated_ms FROM person "
static const char SQL_PERSON_BY_ID[] = PERSON_COLUMNS "WHERE id = ?";
static const char SQL_PERSON_BY_EMAIL[] = PERSON_COLUMNS "WHERE email = ?";

static int found_row(const struct store_row *row, void *ctx)
{
    (void)row;
    *(int *)ctx = 1;
    return 1;
}

int id_person_insert_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct id_person_write *w = ctx;
    const struct id_person_new *in = w->in;
    if (w->email[0] != '\0') {
        int taken = 0;
        struct store_value q[] = {STORE_TEXT_V(w->email)};
        int rc = store_tx_query(tx, SQL_EMAIL_TAKEN, q, 1, found_row, &taken, e);
        if (rc != 0)
            return rc;
        if (taken)
            return err_set(e, ERR_CONFLICT, "email: already registered to another person");
    }
    struct store_value v[] = {
        STORE_TEXT_V(w->id),
        STORE_TEXT_V(in->family_name_kanji),
        STORE_TEXT_V(in->given_name_kanji),
        STORE_TEXT_V(in->family_name_kana),
        STORE_TEXT_V(in->given_name_kana),
        STORE_TEXT_V(in->birth_date),
        STORE_TEXT_V(sex_names[in->sex]),
        STORE_TEXT_V(in->district),
        in->coords.set ? STORE_INT_V(in->coords.lat_e6) : STORE_NULL_V,
        in->coords.set ? STORE_INT_V(in->coords.lon_e6) : STORE_NULL_V,
        empty(in->phone) ? STORE_NULL_V : STORE_TEXT_V(in->phone),
        w->email[0] ? STORE_TEXT_V(w->email) : STORE_NULL_V,
        STORE_TEXT_V(assurance_names[in->assurance]),
        w->hash[0] ? STORE_TEXT_V(w->hash) : STORE_NULL_V,
        STORE_INT_V(w->now_ms),
        STORE_INT_V(w->now_ms),
    };
    int rc = store_tx_exec(tx, SQL_PERSON_INSERT, v, sizeof v / sizeof v[0], e);
    if (rc == ERR_CONFLICT)
        return err_set(e, ERR_CONFLICT, "person: conflicts with a stored person");
    return rc < 0 ? rc : 0;
}

static int check_person(const struct id_person_new *in, int64_t now, char *email, struct err *e)
{
    int rc;
    if ((rc = id__check_text("family_name", in->family_name_kanji, 1, ID_NAME_MAX, e)) != 0 ||
        (rc = id__check_text("given_name", in->given_name_kanji, 1, ID_NAME_MAX, e)) != 0 ||
        (rc = check_kana("family_name_kana", in->family_name_kana, e)) != 0 ||
        (rc = check_kana("given_name_kana", in->given_name_kana, e)) != 0 ||
        (rc = check_birth_date(in->birth_date, now, e)) != 0)
        return rc;
    if ((unsigned)in->sex > ID_SEX_UNKNOWN)
        return err_set(e, ERR_INVALID, "sex: must be male, female, other or unknown");
    if ((rc = id__check_text("district", in->district, 1, ID_DISTRICT_MAX, e)) != 0 ||
        (rc = id__check_coords(&in->coords, e)) != 0)
        return rc;
    if (!empty(in->phone) && (rc = check_phone(in->phone, e)) != 0)
        return rc;
    if (!empty(in->email) && (rc = check_email(in->email, email, e)) != 0)
        return rc;
    if ((unsigned)in->assurance > ID_ASSURANCE_CARD)
        return err_set(e, ERR_INVALID, "assurance: must be self, in_person or card");
    return 0;
}

int id_person_prepare(struct id_person_write *w, const struct id_person_new *in, int64_t now_ms,
                      struct err *e)
{
    memset(w, 0, sizeof *w);
    w->in = in;
    w->now_ms = now_ms;
    int rc = check_person(in, now_ms, w->email, e);
    if (rc != 0)
        return rc;
    ids_new(w->id);
    if (in->password != NULL) {
        if ((rc = id_password_check_policy(in->password, w->email, w->id, e)) != 0 ||
            (rc = id_password_hash(in->password, w->hash, e)) != 0)
            return rc;
    }
    return 0;
}

int id_person_create(struct store *s, const struct id_person_new *in, char id_out[IDS_LEN + 1],
                     struct err *e)
{
    struct id_person_write w;
    int rc = id_person_prepare(&w, in, clock_now_ms(), e);
    if (rc == 0)
        rc = store_write(s, id_person_insert_fn, &w, e);
    if (rc == 0)
        memcpy(id_out, w.id, IDS_LEN + 1);
    return rc;
}

struct person_read {
    struct id_person *out;
    struct arena *a;
    int found, nomem, bad;
};

static int read_person(const struct store_row *row, void *ctx)
{
    struct person_read *r = ctx;
    struct id_person *p = r->out;
    size_t len = 0;
    const char *id = store_row_text(row, 0, &len);
    const char *birth = store_row_text(row, 5, NULL);
    if (id == NULL || len != IDS_LEN || birth == NULL || strlen(birth) != 10 ||
        id_sex_parse(store_row_text(row, 6, NULL), &p->sex) != 0 ||
        id_assurance_parse(store_row_text(row, 12, NULL), &p->assurance) != 0) {
        r->bad = 1;
        return 1;
    }
    memcpy(p->id, id, IDS_LEN + 1);
    memcpy(p->birth_date, birth, 11);
    p->family_name_kanji = id__row_text(row, 1, r->a, &r->nomem);
    p->given_name_kanji = id__row_text(row, 2, r->a, &r->nomem);
    p->family_name_kana = id__row_text(row, 3, r->a, &r->nomem);
    p->given_name_kana = id__row_text(row, 4, r->a, &r->nomem);
    p->district = id__row_text(row, 7, r->a, &r->nomem);
    p->coords.set = !store_row_is_null(row, 8) && !store_row_is_null(row, 9);
    p->coords.lat_e6 = p->coords.set ? store_row_int(row, 8) : 0;
    p->coords.lon_e6 = p->coords.set ? store_row_int(row, 9) : 0;
    p->phone = id__row_text(row, 10, r->a, &r->nomem);
    p->email = id__row_text(row, 11, r->a, &r->nomem);
    p->has_password = store_row_int(row, 13) != 0;
    p->has_totp = store_row_int(row, 14) != 0;
    p->login.failed = (int)store_row_int(row, 15);
    p->login.locked_until_ms = store_row_int(row, 16);
    p->created_ms = store_row_int(row, 17);
    p->updated_ms = store_row_int(row, 18);
    r->found = 1;
    return 1;
}

static int query_person(struct store *s, const char *sql, const char *key, struct id_person *out,
                        struct arena *a, struct err *e)
{
    struct person_read r = {.out = out, .a = a};
    struct store_value v[] = {STORE_TEXT_V(key)};
    memset(out, 0, sizeof *out);
    int rc = store_query(s, sql, v, 1, read_person, &r, e);
    if (rc != 0)
        return rc;
    if (r.bad)
        return err_set(e, ERR_INTERNAL, "person: a stored row is malformed");
    if (r.nomem)
        return err_set(e, ERR_NOMEM, "person: out of memory");
    if (!r.found)
        return err_set(e, ERR_NOTFOUND, "person: no such person");
    return 0;
}

int id_person_get(struct store *s, const char *id, struct id_person *out, struct arena *a,
                  struct err *e)
{
    if (id == NULL || !ids_valid(id))
        return err_set(e, ERR_INVALID, "id: not a well-formed regional ID");
    return query_person(s, SQL_PERSON_BY_ID, id, out, a, e);
}

int id_person_find_by_email(struct store *s, const char *email, struct id_person *out,
                            struct arena *a, struct err *e)
{
    char lower[ID_EMAIL_MAX + 1];
    int rc = check_email(email != NULL ? email : "", lower, e);
    if (rc != 0)
        return rc;
    return query_person(s, SQL_PERSON_BY_EMAIL, lower, out, a, e);
}

/* ---- family links ---- */

int id_rights_parse(const char *text, unsigned *out, struct err *e)
{
    unsigned bits = 0;
    const char *p = text != NULL ? text : "";
    if (*p == '\0')
        return err_set(e, ERR_INVALID,
                       "rights: name at least one of see_record, see_alerts, "
                       "book_appointments, manage_consents, everything");
    for (int guard = 0; guard <= (int)NRIGHTS; guard++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        size_t i = 0;
        while (i < NRIGHTS && (strlen(right_names[i]) != len || strncmp(right_names[i], p, len)))
            i++;
        if (i == NRIGHTS)
            return err_set(e, ERR_INVALID, "rights: unknown right \"%.*s\"",
                           (int)(len > 40 ? 40 : len), p);
        if (bits & (1u << i))
            return err_set(e, ERR_INVALID, "rights: \"%s\" is named twice", right_names[i]);
        bits |= 1u << i;
        if (comma == NULL) {
            if ((bits & ID_RIGHT_EVERYTHING) && bits != ID_RIGHT_EVERYTHING)
                return err_set(e, ERR_INVALID,
                               "rights: \"everything\" already includes the "
                               "others");
            *out = bits;
            return 0;
        }
        p = comma + 1;
    }
    return err_set(e, ERR_INVALID, "rights: too many names");
}

const char *id_rights_format(unsigned rights, char buf[ID_RIGHTS_TEXT_MAX])
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NRIGHTS; i++)
        if (rights & (1u << i))
            used += (size_t)snprintf(buf + used, ID_RIGHTS_TEXT_MAX - used, "%s%s", used ? "," : "",
                                     right_names[i]);
    return buf;
}

static const char SQL_LINK_INSERT[] =
    "INSERT INTO family_link (id, subject_id, delegate_id, rights, kind, valid_from_ms, "
    "valid_until_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

struct birth_read {
    char date[11];
    int found;
};

static int read_birth(const struct store_row *row, void *ctx)
{
    struct birth_read *b = ctx;
    const char *t = store_row_text(row, 0, NULL);
    snprintf(b->date, sizeof b->date, "%s", t != NULL ? t : "");
    b->found = 1;
    return 1;
}

static int birth_date_of(struct store_tx *tx, const char *field, const char *id,
                         struct birth_read *b, struct err *e)
{
    struct store_value q[] = {STORE_TEXT_V(id)};
    int rc =
        store_tx_query(tx, "SELECT birth_date FROM person WHERE id = ?", q, 1, read_birth, b, e);
    if (rc == 0 && !b->found)
        rc = err_set(e, ERR_NOTFOUND, "%s: no such person", field);
    return rc;
}

int id_family_link_insert_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct id_family_link_write *w = ctx;
    const struct id_family_link_new *in = w->in;
    struct birth_read subject = {0}, delegate = {0};
    int rc = birth_date_of(tx, "subject_id", in->subject_id, &subject, e);
    if (rc == 0)
        rc = birth_date_of(tx, "delegate_id", in->delegate_id, &delegate, e);
    if (rc != 0)
        return rc;
    if (in->kind == ID_LINK_GUARDIAN) {
        int64_t majority = majority_ms(subject.date);
        if (id_age_at(subject.date, w->now_ms) >= MAJORITY)
            return err_set(e, ERR_INVALID, "kind: a guardian link needs a subject under 18");
        if (id_age_at(delegate.date, w->now_ms) < MAJORITY)
            return err_set(e, ERR_INVALID, "delegate_id: a guardian must be 18 or older");
        if (w->until_ms == 0)
            w->until_ms = majority;
        else if (w->until_ms > majority)
            return err_set(e, ERR_INVALID,
                           "valid_until: guardianship ends at the subject's "
                           "18th birthday");
        if (w->until_ms <= w->from_ms)
            return err_set(e, ERR_INVALID, "valid_from: must lie before the 18th birthday");
    }
    struct store_value v[] = {
        STORE_TEXT_V(w->id),
        STORE_TEXT_V(in->subject_id),
        STORE_TEXT_V(in->delegate_id),
        STORE_TEXT_V(w->rights),
        STORE_TEXT_V(link_kind_names[in->kind]),
        STORE_INT_V(w->from_ms),
        w->until_ms ? STORE_INT_V(w->until_ms) : STORE_NULL_V,
        STORE_INT_V(w->now_ms),
    };
    rc = store_tx_exec(tx, SQL_LINK_INSERT, v, sizeof v / sizeof v[0], e);
    return rc < 0 ? rc : 0;
}

int id_family_link_prepare(struct id_family_link_write *w, const struct id_family_link_new *in,
                           int64_t now_ms, struct err *e)
{
    memset(w, 0, sizeof *w);
    w->in = in;
    w->now_ms = now_ms;
    unsigned r = in->rights;
    if (in->subject_id == NULL || !ids_valid(in->subject_id))
        return err_set(e, ERR_INVALID, "subject_id: not a well-formed regional ID");
    if (in->delegate_id == NULL || !ids_valid(in->delegate_id))
        return err_set(e, ERR_INVALID, "delegate_id: not a well-formed regional ID");
    if (strcmp(in->subject_id, in->delegate_id) == 0)
        return err_set(e, ERR_INVALID, "delegate_id: a person cannot be their own delegate");
    if (r == 0 || r >= (1u << NRIGHTS) || ((r & ID_RIGHT_EVERYTHING) && r != ID_RIGHT_EVERYTHING))
        return err_set(e, ERR_INVALID, "rights: not a valid set of rights");
    if ((unsigned)in->kind > ID_LINK_GUARDIAN)
        return err_set(e, ERR_INVALID, "kind: must be family or guardian");
    w->from_ms = in->valid_from_ms != 0 ? in->valid_from_ms : now_ms;
    w->until_ms = in->valid_until_ms;
    if (w->from_ms < 0 || w->until_ms < 0)
        return err_set(e, ERR_INVALID, "valid_from: times must be after 1970");
    if (w->until_ms != 0 && (w->until_ms <= w->from_ms || w->until_ms <= now_ms))
        return err_set(e, ERR_INVALID, "valid_until: must lie after valid_from and now");
    id_rights_format(r, w->rights);
    ids_new(w->id);
    return 0;
}

int id_family_link_add(struct store *s, const struct id_family_link_new *in,
                       char id_out[IDS_LEN + 1], struct err *e)
{
    struct id_family_link_write w;
    int rc = id_family_link_prepare(&w, in, clock_now_ms(), e);
    if (rc == 0)
        rc = store_write(s, id_family_link_insert_fn, &w, e);
    if (rc == 0)
        memcpy(id_out, w.id, IDS_LEN + 1);
    return rc;
}

struct link_list {
    struct arena *a;
    struct id_family_link *items;
    size_t n, cap;
    int nomem, bad;
};

static int read_link(const struct store_row *row, void *ctx)
{
    struct link_list *l = ctx;
    struct id_family_link *items =
        arena_array_reserve(l->a, l->items, l->n, &l->cap, sizeof *items);
    if (items == NULL) {
        l->nomem = 1;
        return 1;
    }
    l->items = items;
    struct id_family_link *k = &l->items[l->n];
    const char *id = store_row_text(row, 0, NULL), *sub = store_row_text(row, 1, NULL),
               *del = store_row_text(row, 2, NULL);
    if (id == NULL || sub == NULL || del == NULL || strlen(id) != IDS_LEN ||
        strlen(sub) != IDS_LEN || strlen(del) != IDS_LEN ||
        id_rights_parse(store_row_text(row, 3, NULL), &k->rights, NULL) != 0 ||
        id_link_kind_parse(store_row_text(row, 4, NULL), &k->kind) != 0) {
        l->bad = 1;
        return 1;
    }
    memcpy(k->id, id, IDS_LEN + 1);
    memcpy(k->subject_id, sub, IDS_LEN + 1);
    memcpy(k->delegate_id, del, IDS_LEN + 1);
    k->valid_from_ms = store_row_int(row, 5);
    k->valid_until_ms = store_row_is_null(row, 6) ? 0 : store_row_int(row, 6);
    k->created_ms = store_row_int(row, 7);
    l->n++;
    return 0;
}

#define LINK_COLUMNS                                                                               \
    "SELECT id, subject_id, delegate_id, rights, kind, valid_from_ms, valid_until_ms, "            \
    "created_ms FROM family_link WHERE delegate_id = ? "

int id_family_link_list_for_delegate(struct store *s, const char *delegate_id, int64_t at_ms,
                                     struct arena *a, struct id_family_link **out, size_t *n,
                                     struct err *e)
{
    *out = NULL;
    *n = 0;
    if (delegate_id == NULL || !ids_valid(delegate_id))
        return err_set(e, ERR_INVALID, "delegate_id: not a well-formed regional ID");
    struct link_list l = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(delegate_id), STORE_INT_V(at_ms), STORE_INT_V(at_ms)};
    int rc = at_ms == 0
                 ? store_query(s, LINK_COLUMNS "ORDER BY created_ms, id LIMIT 1000", v, 1,
                               read_link, &l, e)
                 : store_query(s,
                               LINK_COLUMNS "AND valid_from_ms <= ? AND (valid_until_ms IS NULL "
                                            "OR valid_until_ms > ?) ORDER BY created_ms, id "
                                            "LIMIT 1000",
                               v, 3, read_link, &l, e);
    if (rc == 0 && l.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0 && l.bad)
        rc = err_set(e, ERR_INTERNAL, "family_link: a stored row is malformed");
    if (rc == 0) {
        *out = l.items;
        *n = l.n;
    }
    return rc;
}
