/* person.h - the people of the region: the regional ID record (names in kanji and kana, birth
 * date, sex, district, contact, assurance), their password and sign-in state, and family links
 * (who may act for whom, with which rights; guardianship of minors). */
#ifndef COS_ID_PERSON_H
#define COS_ID_PERSON_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/ids.h"
#include "identity/password.h"
#include "store/store.h"

/* Bounds, in Unicode code points unless said otherwise. */
#define ID_NAME_MAX     50
#define ID_DISTRICT_MAX 64
#define ID_EMAIL_MAX    254  /* bytes (RFC 5321 path limit) */
#define ID_PHONE_MAX    20   /* bytes: digits, '+' first, '-' between digits */
#define ID_LIST_MAX     1000 /* most rows a list call returns */

enum id_sex { ID_SEX_MALE, ID_SEX_FEMALE, ID_SEX_OTHER, ID_SEX_UNKNOWN };
enum id_assurance { ID_ASSURANCE_SELF, ID_ASSURANCE_IN_PERSON, ID_ASSURANCE_CARD };

/* A point as integer micro-degrees (WGS 84), exact in both backends. */
struct id_coords {
    int set; /* 0: no coordinates (lat_e6 and lon_e6 are ignored) */
    int64_t lat_e6, lon_e6;
};

/* Input of id_person_create. Every pointer is borrowed for the call. */
struct id_person_new {
    const char *family_name_kanji, *given_name_kanji; /* 1..50 printable characters */
    const char *family_name_kana, *given_name_kana;   /* 1..50 katakana or hiragana */
    const char *birth_date;                           /* "YYYY-MM-DD", a real past date */
    enum id_sex sex;
    const char *district; /* 1..64 printable characters */
    struct id_coords coords;
    const char *phone; /* NULL or "": none */
    const char *email; /* NULL or "": none; stored lower-cased, unique */
    enum id_assurance assurance;
    const char *password; /* NULL: none yet; else checked by the policy, stored as Argon2id */
};

/* A stored person. Strings belong to the arena given to the call that filled it. */
struct id_person {
    char id[IDS_LEN + 1]; /* the regional ID */
    const char *family_name_kanji, *given_name_kanji, *family_name_kana, *given_name_kana;
    char birth_date[11];
    enum id_sex sex;
    const char *district;
    struct id_coords coords;
    const char *phone, *email; /* NULL when absent */
    enum id_assurance assurance;
    int has_password, has_totp;
    struct id_login_state login;
    int64_t created_ms, updated_ms;
};

/* Validates in (every field, before anything is written), hashes the password if one is given,
 * and stores a new person under a new random regional ID, written to id_out. Returns 0,
 * ERR_INVALID naming the field, ERR_CONFLICT when the e-mail address is taken (nothing is
 * stored), or the store's error. */
int id_person_create(struct store *s, const struct id_person_new *in, char id_out[IDS_LEN + 1],
                     struct err *e);

/* id_person_create() in two steps, for a caller that adds to the same transaction (the admin
 * API appends the audit record of the creation to it). */
struct id_person_write {
    const struct id_person_new *in;  /* borrowed until the write is done */
    char id[IDS_LEN + 1];            /* the new regional ID */
    char email[ID_EMAIL_MAX + 1];    /* lower-cased, "" for none */
    char hash[ID_PASSWORD_HASH_MAX]; /* Argon2id of the first password, "" for none */
    int64_t now_ms;
};

/* Validates in (everything that needs no database) and fills w: a new id, the lower-cased
 * e-mail, the password checked by the policy and hashed (about 40 ms: not on an HTTP worker's
 * hot path). Nothing is stored. Returns 0 or ERR_INVALID naming the field. */
int id_person_prepare(struct id_person_write *w, const struct id_person_new *in, int64_t now_ms,
                      struct err *e);

/* A store_write_fn inserting the prepared person ctx (a struct id_person_write). Returns 0,
 * ERR_CONFLICT when the e-mail address is taken, or the store's error. */
int id_person_insert_fn(struct store_tx *tx, void *ctx, struct err *e);

/* Reads a person. Returns 0, ERR_NOTFOUND, ERR_INVALID for a malformed id, or the store's error.
 * The password hash never leaves through this call. */
int id_person_get(struct store *s, const char *id, struct id_person *out, struct arena *a,
                  struct err *e);

/* Reads the person with this e-mail address (compared lower-cased). Same returns. */
int id_person_find_by_email(struct store *s, const char *email, struct id_person *out,
                            struct arena *a, struct err *e);

/* ---- password and sign-in state (implemented in password.c, next to the policy and hashing) */

/* Checks password against the policy (with the person's e-mail and ID), hashes it and replaces
 * the stored hash; a new password also clears the failure count and any lock. Returns 0,
 * ERR_INVALID, ERR_NOTFOUND, or the store's error. */
int id_person_set_password(struct store *s, const char *id, const char *password, struct err *e);

/* For the sign-in step: the stored Argon2id hash (copied into a; NULL when the person has no
 * password) and the failure state. Returns 0, ERR_NOTFOUND or the store's error. */
int id_person_get_login(struct store *s, const char *id, const char **hash_out,
                        struct id_login_state *state_out, struct arena *a, struct err *e);

/* Records one sign-in attempt's outcome at now_ms as a single write (read, update the state
 * with id_password_note_failure / _success, store), so concurrent attempts cannot lose a count.
 * *state_out (may be NULL) receives the new state. Returns 0, ERR_NOTFOUND or the store's
 * error. */
int id_person_note_login(struct store *s, const char *id, int succeeded, int64_t now_ms,
                         struct id_login_state *state_out, struct err *e);

/* Names as stored ("male", "in_person", ...) and back. parse returns 0 or ERR_INVALID. */
const char *id_sex_name(enum id_sex v);
int id_sex_parse(const char *text, enum id_sex *out);
const char *id_assurance_name(enum id_assurance v);
int id_assurance_parse(const char *text, enum id_assurance *out);

/* Decimal degrees ("37.494722", "-0.5") to micro-degrees, exactly (at most 6 decimals), within
 * +-limit_deg. Returns 0 or ERR_INVALID. */
int id_coord_parse(const char *text, int limit_deg, int64_t *out_e6);

/* Whole years between birth_date ("YYYY-MM-DD") and the Japanese calendar date of at_ms
 * (a Japanese age: it goes up at the start of the birthday; 29 February birthdays on 1 March
 * in common years). Returns the age, or -1 for a malformed date. */
int id_age_at(const char *birth_date, int64_t at_ms);

/* ---- family links: a delegate acts for a subject ---- */

#define ID_RIGHT_SEE_RECORD        1u
#define ID_RIGHT_SEE_ALERTS        2u
#define ID_RIGHT_BOOK_APPOINTMENTS 4u
#define ID_RIGHT_MANAGE_CONSENTS   8u
#define ID_RIGHT_EVERYTHING        16u /* alone: it already includes the others */
#define ID_RIGHTS_TEXT_MAX         80

enum id_link_kind { ID_LINK_FAMILY, ID_LINK_GUARDIAN };

struct id_family_link_new {
    const char *subject_id;  /* the person acted for */
    const char *delegate_id; /* the person who acts */
    unsigned rights;         /* ID_RIGHT_* bits */
    enum id_link_kind kind;  /* guardian: the subject must be under 18 today, the delegate 18+ */
    int64_t valid_from_ms;   /* 0: now */
    int64_t valid_until_ms;  /* 0: open-ended; for a guardian, the subject's 18th birthday */
};

struct id_family_link {
    char id[IDS_LEN + 1], subject_id[IDS_LEN + 1], delegate_id[IDS_LEN + 1];
    unsigned rights;
    enum id_link_kind kind;
    int64_t valid_from_ms, valid_until_ms; /* valid_until_ms 0: open-ended */
    int64_t created_ms;
};

/* Validates and stores a link; its new id goes to id_out. Returns 0, ERR_INVALID (field named;
 * also a guardian link for an adult subject), ERR_NOTFOUND when either person is missing, or
 * the store's error. */
int id_family_link_add(struct store *s, const struct id_family_link_new *in,
                       char id_out[IDS_LEN + 1], struct err *e);

/* id_family_link_add() in two steps, as for people. */
struct id_family_link_write {
    const struct id_family_link_new *in; /* borrowed until the write is done */
    char id[IDS_LEN + 1];                /* the new link's id */
    char rights[ID_RIGHTS_TEXT_MAX];
    int64_t now_ms, from_ms;
    int64_t until_ms; /* as asked; for a guardian the write sets the 18th birthday when 0 */
};

/* Validates in (ids, rights, kind, times) and fills w with a new id. Nothing is stored.
 * Returns 0 or ERR_INVALID naming the field. */
int id_family_link_prepare(struct id_family_link_write *w, const struct id_family_link_new *in,
                           int64_t now_ms, struct err *e);

/* A store_write_fn inserting the prepared link ctx (a struct id_family_link_write) after the
 * checks that need the database (both people exist; a guardian's ages). Returns 0,
 * ERR_NOTFOUND or ERR_INVALID naming the field, or the store's error. */
int id_family_link_insert_fn(struct store_tx *tx, void *ctx, struct err *e);

/* The links in which delegate_id acts for someone, oldest first, at most ID_LIST_MAX: all of
 * them when at_ms is 0, else those valid at at_ms. *out is an array in a (NULL when *n is 0). */
int id_family_link_list_for_delegate(struct store *s, const char *delegate_id, int64_t at_ms,
                                     struct arena *a, struct id_family_link **out, size_t *n,
                                     struct err *e);

/* "see_alerts,book_appointments" <-> bits. parse refuses unknown, repeated or empty names and
 * "everything" together with others (ERR_INVALID); format writes the canonical order. */
int id_rights_parse(const char *text, unsigned *out, struct err *e);
const char *id_rights_format(unsigned rights, char buf[ID_RIGHTS_TEXT_MAX]);
const char *id_link_kind_name(enum id_link_kind v);
int id_link_kind_parse(const char *text, enum id_link_kind *out);

/* ---- internal to identity/: checks shared by person.c, org.c and client.c ---- */

/* text must be valid UTF-8 of min..max code points, without control characters or leading or
 * trailing spaces. field names it in the error. */
int id__check_text(const char *field, const char *text, size_t min, size_t max, struct err *e);
int id__check_coords(const struct id_coords *c, struct err *e);

/* An arena copy of a text column, or NULL for SQL NULL; *nomem is set when the copy failed. */
const char *id__row_text(const struct store_row *row, int col, struct arena *a, int *nomem);

#endif
