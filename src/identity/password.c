/* password.c - the password policy (NIST SP 800-63B), Argon2id hashing and verification through
 * libsodium, the back-off / lock-out schedule as pure functions, and a person's stored password
 * and sign-in state (the id_person_*password* and *login* calls of person.h). */
#include "identity/password.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/utf8.h"
#include "identity/person.h"

#define PASSWORD_MAX_BYTES (ID_PASSWORD_MAX_CHARS * 4)

/* Common passwords, lower-case. Written by hand for cityos from the top entries that widely
 * published lists agree on (the yearly "worst passwords" reports of SplashData and NordPass,
 * Wikipedia's "List of the most common passwords", the top of the UK NCSC's list of passwords
 * most seen in breaches), plus context-specific words (NIST 5.1.1.2: the service's own name,
 * the city). A password matches an entry when it equals it, or equals it once trailing digits
 * and punctuation are removed ("sunshine2024!" is "sunshine"). Short entries therefore still
 * catch longer passwords built on them. This is data, not copied code. */
static const char *const common_passwords[] = {
    "password",      "passw0rd",   "p@ssw0rd",   "p@ssword",   "passwort",      "motdepasse",
    "12345678",      "123456789",  "1234567890", "0987654321", "987654321",     "87654321",
    "11111111",      "00000000",   "88888888",   "66666666",   "12341234",      "11223344",
    "12344321",      "123123123",  "147258369",  "123654789",  "147852369",     "789456123",
    "741852963",     "159753",     "1q2w3e4r",   "1q2w3e4r5t", "1q2w3e",        "1qaz2wsx",
    "1qazxsw2",      "zaq12wsx",   "zaq1zaq1",   "q1w2e3r4",   "q1w2e3r4t5",    "qwerty",
    "qwertyuiop",    "qwertyui",   "qwertz",     "azerty",     "qwer1234",      "1234qwer",
    "qweasdzxc",     "qazwsxedc",  "qazwsx",     "123qwe",     "123qweasd",     "asdfghjkl",
    "asdfghjk",      "asdfasdf",   "asdf1234",   "zxcvbnm",    "abcd1234",      "abc123",
    "a1b2c3d4",      "1234abcd",   "aa123456",   "a123456789", "12qwaszx",      "iloveyou",
    "sunshine",      "princess",   "football",   "baseball",   "basketball",    "superman",
    "batman",        "starwars",   "whatever",   "trustno1",   "letmein",       "welcome",
    "computer",      "internet",   "michelle",   "jennifer",   "jonathan",      "passport",
    "charlie",       "master",     "dragon",     "monkey",     "shadow",        "killer",
    "freedom",       "access",     "mustang",    "soccer",     "hockey",        "ranger",
    "buster",        "hunter",     "jordan23",   "michael",    "liverpool",     "chelsea",
    "arsenal",       "samsung",    "pokemon",    "naruto",     "doraemon",      "pikachu",
    "sakura",        "hellokitty", "lovely",     "loveme",     "hello",         "admin",
    "administrator", "changeme",   "default",    "secret",     "testtest",      "test1234",
    "guest",         "login",      "cityos",     "supercity",  "aizuwakamatsu", "tokyo",
    "nippon",
};

/* ---- the policy ---- */

/* Does s contain needle, ignoring ASCII case? */
static int contains_nocase(const char *s, const char *needle)
{
    size_t n = strlen(needle), len = strlen(s);
    if (n == 0 || n > len)
        return n == 0;
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(s + i, needle, n) == 0)
            return 1;
    return 0;
}

/* Any C0 or C1 control character (or DEL) in valid UTF-8 s[0..n)? */
static int has_control(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        if (u[i] < 0x20 || u[i] == 0x7F)
            return 1;
        if (u[i] == 0xC2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F)
            return 1;
    }
    return 0;
}

/* Bytes of the UTF-8 sequence starting with lead byte c. */
static size_t seq_len(unsigned char c)
{
    return c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
}

/* Is s[0..n) one code point repeated ("aaaaaaaa", "ああああああああ")? */
static int one_repeated(const char *s, size_t n)
{
    size_t l = seq_len((unsigned char)s[0]);
    if (l > n || n % l != 0)
        return 0;
    for (size_t i = l; i < n; i += l)
        if (memcmp(s, s + i, l) != 0)
            return 0;
    return 1;
}

/* Is s an ASCII run going up or down by one ("23456789", "abcdefgh", "98765432")? */
static int ascii_run(const char *s, size_t n)
{
    int step = (int)(unsigned char)s[1] - (int)(unsigned char)s[0];
    if (step != 1 && step != -1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]))
            return 0;
        if (i > 0 && (int)(unsigned char)s[i] - (int)(unsigned char)s[i - 1] != step)
            return 0;
    }
    return 1;
}

static int on_list(const char *lower, size_t n)
{
    for (size_t i = 0; i < sizeof common_passwords / sizeof common_passwords[0]; i++)
        if (strlen(common_passwords[i]) == n && memcmp(common_passwords[i], lower, n) == 0)
            return 1;
    return 0;
}

int id_password_is_common(const char *password)
{
    char lower[PASSWORD_MAX_BYTES + 1];
    size_t n = strlen(password);
    if (n > PASSWORD_MAX_BYTES)
        return 0;
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)tolower((unsigned char)password[i]);
    lower[n] = '\0';
    if (on_list(lower, n))
        return 1;
    size_t stem = n;
    while (stem > 0 && (isdigit((unsigned char)lower[stem - 1]) ||
                        ispunct((unsigned char)lower[stem - 1]) || lower[stem - 1] == ' '))
        stem--;
    return stem > 0 && stem < n && on_list(lower, stem);
}

int id_password_check_policy(const char *password, const char *email, const char *regional_id,
                             struct err *e)
{
    size_t n = strnlen(password, PASSWORD_MAX_BYTES + 1);
    if (n > PASSWORD_MAX_BYTES)
        return err_set(e, ERR_INVALID, "password: at most %d characters", ID_PASSWORD_MAX_CHARS);
    if (!utf8_valid(password, n))
        return err_set(e, ERR_INVALID, "password: not valid UTF-8 text");
    if (has_control(password, n))
        return err_set(e, ERR_INVALID, "password: control characters are not allowed");
    size_t chars = utf8_chars(password, n);
    if (chars < ID_PASSWORD_MIN_CHARS)
        return err_set(e, ERR_INVALID, "password: at least %d characters", ID_PASSWORD_MIN_CHARS);
    if (chars > ID_PASSWORD_MAX_CHARS)
        return err_set(e, ERR_INVALID, "password: at most %d characters", ID_PASSWORD_MAX_CHARS);
    if (email != NULL && email[0] != '\0') {
        const char *at = strchr(email, '@');
        size_t local = at ? (size_t)(at - email) : strlen(email);
        if (strcasecmp(password, email) == 0 ||
            (local == n && strncasecmp(password, email, local) == 0))
            return err_set(e, ERR_INVALID, "password: must not be the e-mail address");
    }
    if (regional_id != NULL && regional_id[0] != '\0' && contains_nocase(password, regional_id))
        return err_set(e, ERR_INVALID, "password: must not contain the regional ID");
    if (one_repeated(password, n) || ascii_run(password, n))
        return err_set(e, ERR_INVALID,
                       "password: a repeated character or a simple run is easy "
                       "to guess");
    if (id_password_is_common(password))
        return err_set(e, ERR_INVALID, "password: this is one of the most common passwords");
    return 0;
}

/* ---- hashing ---- */

int id_password_hash(const char *password, char out[ID_PASSWORD_HASH_MAX], struct err *e)
{
    size_t n = strnlen(password, PASSWORD_MAX_BYTES + 1);
    if (n > PASSWORD_MAX_BYTES)
        return err_set(e, ERR_INVALID, "password: at most %d characters", ID_PASSWORD_MAX_CHARS);
    if (crypto_pwhash_str_alg(out, password, n, ID_PASSWORD_OPSLIMIT, ID_PASSWORD_MEMLIMIT,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return err_set(e, ERR_NOMEM, "password hashing: out of memory");
    return 0;
}

int id_password_verify(const char *hash, const char *password)
{
    size_t n = strnlen(password, PASSWORD_MAX_BYTES + 1);
    if (n > PASSWORD_MAX_BYTES || strnlen(hash, ID_PASSWORD_HASH_MAX) >= ID_PASSWORD_HASH_MAX)
        return ERR_INVALID;
    return crypto_pwhash_str_verify(hash, password, n) == 0 ? 0 : ERR_INVALID;
}

int id_password_needs_rehash(const char *hash)
{
    if (strnlen(hash, ID_PASSWORD_HASH_MAX) >= ID_PASSWORD_HASH_MAX)
        return 1;
    /* the Argon2id-specific call: it answers -1 (so: rehash) for an Argon2i string, where the
     * generic crypto_pwhash_str_needs_rehash would only compare the parameters */
    return crypto_pwhash_argon2id_str_needs_rehash(hash, ID_PASSWORD_OPSLIMIT,
                                                   ID_PASSWORD_MEMLIMIT) != 0;
}

/* ---- back-off and lock-out ---- */

int64_t id_password_wait_ms(const struct id_login_state *s, int64_t now_ms)
{
    return s->locked_until_ms > now_ms ? s->locked_until_ms - now_ms : 0;
}

void id_password_note_failure(struct id_login_state *s, int64_t now_ms)
{
    if (s->failed < 0)
        s->failed = 0;
    if (s->failed < ID_LOGIN_HARD_LIMIT)
        s->failed++;
    if (s->failed >= ID_LOGIN_HARD_LIMIT)
        s->locked_until_ms = ID_LOGIN_LOCKED_FOREVER;
    else if (s->failed >= ID_LOGIN_LOCK_AFTER)
        s->locked_until_ms = now_ms + ID_LOGIN_LOCK_MS;
    else if (s->failed >= ID_LOGIN_BACKOFF_AFTER)
        s->locked_until_ms =
            now_ms + ((int64_t)ID_LOGIN_BACKOFF_BASE_MS << (s->failed - ID_LOGIN_BACKOFF_AFTER));
    else
        s->locked_until_ms = 0;
}

void id_password_note_success(struct id_login_state *s)
{
    s->failed = 0;
    s->locked_until_ms = 0;
}

/* ---- a person's password and sign-in state in the store ---- */

struct login_write {
    const char *id;
    const char *hash; /* set_password */
    int succeeded;    /* note_login */
    int64_t now;
    struct id_login_state state;
    int found;
};

static int write_password(struct store_tx *tx, void *ctx, struct err *e)
{
    struct login_write *w = ctx;
    struct store_value v[] = {STORE_TEXT_V(w->hash), STORE_INT_V(w->now), STORE_TEXT_V(w->id)};
    int rc = store_tx_exec(tx,
                           "UPDATE person SET password_hash = ?, failed_logins = 0, "
                           "locked_until_ms = 0, updated_ms = ? WHERE id = ?",
                           v, 3, e);
    if (rc == 0)
        return err_set(e, ERR_NOTFOUND, "person: no such person");
    return rc < 0 ? rc : 0;
}

int id_person_set_password(struct store *s, const char *id, const char *password, struct err *e)
{
    struct arena *a = arena_new(0);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct id_person p;
    struct login_write w = {.id = id, .now = clock_now_ms()};
    char hash[ID_PASSWORD_HASH_MAX];
    int rc = id_person_get(s, id, &p, a, e);
    if (rc == 0 && password == NULL)
        rc = err_set(e, ERR_INVALID, "password: missing");
    if (rc == 0)
        rc = id_password_check_policy(password, p.email, p.id, e);
    if (rc == 0)
        rc = id_password_hash(password, hash, e);
    if (rc == 0) {
        w.hash = hash;
        rc = store_write(s, write_password, &w, e);
    }
    arena_free(a);
    return rc;
}

struct login_read {
    struct arena *a;
    const char *hash;
    struct id_login_state state;
    int found, nomem;
};

static int read_login(const struct store_row *row, void *ctx)
{
    struct login_read *r = ctx;
    r->found = 1;
    r->hash = r->a != NULL ? id__row_text(row, 0, r->a, &r->nomem) : NULL;
    r->state.failed = (int)store_row_int(row, 1);
    r->state.locked_until_ms = store_row_int(row, 2);
    return 1;
}

static const char SQL_LOGIN[] =
    "SELECT password_hash, failed_logins, locked_until_ms FROM person WHERE id = ?";

int id_person_get_login(struct store *s, const char *id, const char **hash_out,
                        struct id_login_state *state_out, struct arena *a, struct err *e)
{
    if (id == NULL || !ids_valid(id))
        return err_set(e, ERR_INVALID, "id: not a well-formed regional ID");
    struct login_read r = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(id)};
    int rc = store_query(s, SQL_LOGIN, v, 1, read_login, &r, e);
    if (rc == 0 && !r.found)
        rc = err_set(e, ERR_NOTFOUND, "person: no such person");
    if (rc == 0 && r.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0) {
        *hash_out = r.hash;
        *state_out = r.state;
    }
    return rc;
}

static int write_login(struct store_tx *tx, void *ctx, struct err *e)
{
    struct login_write *w = ctx;
    struct login_read r = {0};
    struct store_value q[] = {STORE_TEXT_V(w->id)};
    int rc = store_tx_query(tx, SQL_LOGIN, q, 1, read_login, &r, e);
    if (rc != 0)
        return rc;
    if (!r.found)
        return err_set(e, ERR_NOTFOUND, "person: no such person");
    w->state = r.state;
    if (w->succeeded)
        id_password_note_success(&w->state);
    else
        id_password_note_failure(&w->state, w->now);
    struct store_value v[] = {STORE_INT_V(w->state.failed), STORE_INT_V(w->state.locked_until_ms),
                              STORE_TEXT_V(w->id)};
    rc = store_tx_exec(tx, "UPDATE person SET failed_logins = ?, locked_until_ms = ? WHERE id = ?",
                       v, 3, e);
    return rc < 0 ? rc : 0;
}

int id_person_note_login(struct store *s, const char *id, int succeeded, int64_t now_ms,
                         struct id_login_state *state_out, struct err *e)
{
    if (id == NULL || !ids_valid(id))
        return err_set(e, ERR_INVALID, "id: not a well-formed regional ID");
    struct login_write w = {.id = id, .succeeded = succeeded, .now = now_ms};
    int rc = store_write(s, write_login, &w, e);
    if (rc == 0 && state_out != NULL)
        *state_out = w.state;
    return rc;
}
