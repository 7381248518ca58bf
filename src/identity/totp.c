/* totp.c - RFC 6238 codes through liboath, the replay-refusing verification window, the
 * secretbox sealing of secrets under <data-dir>/totp-key, and the person's TOTP columns. */
#include "identity/totp.h"

#include <errno.h>
#include <fcntl.h>
#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEAL_PREFIX "v1."
#define SEAL_RAW    (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + ID_TOTP_SECRET_BYTES)
#define PATH_MAX_   4096

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_status = -1;

static void oath_start(void)
{
    oath_status = oath_init() == OATH_OK ? 0 : -1;
}

int id_totp_init(void)
{
    pthread_once(&oath_once, oath_start);
    return oath_status == 0 ? 0 : ERR_INTERNAL;
}

int64_t id_totp_step_at(int64_t now_ms)
{
    return now_ms / 1000 / ID_TOTP_PERIOD_S;
}

int id_totp_code(const unsigned char *secret, size_t len, int64_t step, unsigned digits,
                 char out[9])
{
    out[0] = '\0';
    if (id_totp_init() != 0 || digits < 6 || digits > 8 || step < 0)
        return ERR_INTERNAL;
    /* liboath takes the instant; the start of the step gives exactly that step */
    if (oath_totp_generate2((const char *)secret, len, (time_t)(step * ID_TOTP_PERIOD_S),
                            ID_TOTP_PERIOD_S, 0, digits, 0, out) != OATH_OK) {
        out[0] = '\0';
        return ERR_INTERNAL;
    }
    return 0;
}

int id_totp_code_syntax_valid(const char *code)
{
    if (code == NULL)
        return 0;
    for (int i = 0; i < ID_TOTP_DIGITS; i++)
        if (code[i] < '0' || code[i] > '9')
            return 0;
    return code[ID_TOTP_DIGITS] == '\0';
}

int id_totp_verify(const unsigned char *secret, size_t len, const char *code, int64_t now_ms,
                   int64_t last_step, int64_t *step_out)
{
    if (!id_totp_code_syntax_valid(code))
        return ERR_INVALID;
    int64_t now = id_totp_step_at(now_ms);
    int replay = 0, found = 0;
    int64_t best = 0;
    /* every step of the window is computed and compared, whatever matched before */
    for (int64_t d = -ID_TOTP_WINDOW; d <= ID_TOTP_WINDOW; d++) {
        char want[9];
        if (id_totp_code(secret, len, now + d, ID_TOTP_DIGITS, want) != 0)
            return ERR_INVALID;
        int same = sodium_memcmp(want, code, ID_TOTP_DIGITS) == 0;
        sodium_memzero(want, sizeof want);
        if (same && now + d > last_step) {
            found = 1;
            best = now + d;
        } else if (same) {
            replay = 1;
        }
    }
    if (found) {
        *step_out = best;
        return 0;
    }
    return replay ? ERR_CONFLICT : ERR_INVALID;
}

/* ---- the key file ---- */

static int read_key(const char *path, unsigned char key[ID_TOTP_KEY_BYTES], struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return err_set(e,
                       errno == ENOENT  ? ERR_NOTFOUND
                       : errno == ELOOP ? ERR_INVALID
                                        : ERR_IO,
                       "cannot open TOTP key file %s: %s", path,
                       errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    struct stat st;
    int ret = 0;
    unsigned char buf[ID_TOTP_KEY_BYTES + 1];
    ssize_t got = 0;
    if (fstat(fd, &st) != 0) {
        ret = err_set(e, ERR_IO, "cannot stat TOTP key file %s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        ret = err_set(e, ERR_INVALID, "TOTP key file %s is not a regular file", path);
    } else if ((st.st_mode & 077) != 0) {
        ret = err_set(e, ERR_INVALID,
                      "TOTP key file %s has mode %04o: group and others must have no access "
                      "(chmod 600 %s)",
                      path, (unsigned)(st.st_mode & 07777), path);
    } else {
        do
            got = read(fd, buf, sizeof buf);
        while (got < 0 && errno == EINTR);
        if (got != ID_TOTP_KEY_BYTES)
            ret = err_set(e, ERR_INVALID, "TOTP key file %s must hold exactly %d bytes", path,
                          ID_TOTP_KEY_BYTES);
        else
            memcpy(key, buf, ID_TOTP_KEY_BYTES);
    }
    sodium_memzero(buf, sizeof buf);
    close(fd);
    return ret;
}

/* Writes a new random key to a private temporary file and links it into place: link() fails
 * with EEXIST when another process won the race, and then its key is the one used. */
static int create_key(const char *dir, const char *path, struct err *e)
{
    char tmp[PATH_MAX_];
    char rnd[17];
    unsigned char r[8];
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(rnd, sizeof rnd, r, sizeof r);
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.%s.tmp", dir, ID_TOTP_KEY_FILE, rnd);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return err_set(e, ERR_INVALID, "data folder path too long for the TOTP key file");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return err_set(e, ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    unsigned char key[ID_TOTP_KEY_BYTES];
    randombytes_buf(key, sizeof key);
    ssize_t put = write(fd, key, sizeof key);
    sodium_memzero(key, sizeof key);
    int ret = 0;
    if (put != (ssize_t)sizeof key || fsync(fd) != 0)
        ret = err_set(e, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    close(fd);
    if (ret == 0 && link(tmp, path) != 0 && errno != EEXIST)
        ret = err_set(e, ERR_IO, "cannot create TOTP key file %s: %s", path, strerror(errno));
    unlink(tmp);
    if (ret == 0) { /* make the new name durable */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return ret;
}

int id_totp_key_load(const char *data_dir, unsigned char key[ID_TOTP_KEY_BYTES], struct err *e)
{
    char path[PATH_MAX_];
    int n = snprintf(path, sizeof path, "%s/%s", data_dir, ID_TOTP_KEY_FILE);
    if (n < 0 || (size_t)n >= sizeof path)
        return err_set(e, ERR_INVALID, "data folder path too long for the TOTP key file");
    int rc = read_key(path, key, e);
    if (rc != ERR_NOTFOUND)
        return rc;
    if ((rc = create_key(data_dir, path, e)) != 0)
        return rc;
    return read_key(path, key, e);
}

/* ---- sealing ---- */

int id_totp_seal(const unsigned char key[ID_TOTP_KEY_BYTES], const unsigned char *secret,
                 size_t len, char out[ID_TOTP_SEALED_MAX])
{
    out[0] = '\0';
    if (len == 0 || len > ID_TOTP_SECRET_BYTES)
        return ERR_INVALID;
    unsigned char raw[SEAL_RAW];
    randombytes_buf(raw, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES, secret, len, raw, key);
    size_t rawlen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
    memcpy(out, SEAL_PREFIX, sizeof SEAL_PREFIX);
    sodium_bin2base64(out + strlen(SEAL_PREFIX), ID_TOTP_SEALED_MAX - strlen(SEAL_PREFIX), raw,
                      rawlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int id_totp_open(const unsigned char key[ID_TOTP_KEY_BYTES], const char *sealed,
                 unsigned char secret[ID_TOTP_SECRET_BYTES], size_t *len)
{
    *len = 0;
    size_t plen = strlen(SEAL_PREFIX);
    if (sealed == NULL || strncmp(sealed, SEAL_PREFIX, plen) != 0 ||
        strlen(sealed) >= ID_TOTP_SEALED_MAX)
        return ERR_INVALID;
    unsigned char raw[SEAL_RAW];
    size_t rawlen = 0;
    const char *end = NULL;
    const char *b64 = sealed + plen;
    if (sodium_base642bin(raw, sizeof raw, b64, strlen(b64), NULL, &rawlen, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        *end != '\0' || rawlen <= crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return ERR_INVALID;
    size_t clen = rawlen - crypto_secretbox_NONCEBYTES;
    if (crypto_secretbox_open_easy(secret, raw + crypto_secretbox_NONCEBYTES, clen, raw, key) != 0)
        return ERR_INVALID;
    *len = clen - crypto_secretbox_MACBYTES;
    return 0;
}

int id_totp_uri(const char *email, const unsigned char *secret, size_t len,
                char out[ID_TOTP_URI_MAX])
{
    out[0] = '\0';
    if (id_totp_init() != 0)
        return ERR_INTERNAL;
    char *b32 = NULL;
    size_t b32len = 0;
    if (oath_base32_encode((const char *)secret, len, &b32, &b32len) != OATH_OK)
        return ERR_NOMEM;
    while (b32len > 0 && b32[b32len - 1] == '=') /* authenticator apps want it unpadded */
        b32len--;
    char label[3 * 254 + 1];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)email; *p != '\0'; p++) {
        if (n + 4 > sizeof label) {
            free(b32);
            return ERR_TOOBIG;
        }
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~@", *p) != NULL)
            label[n++] = (char)*p;
        else
            n += (size_t)snprintf(label + n, 4, "%%%02X", *p);
    }
    label[n] = '\0';
    int w = snprintf(out, ID_TOTP_URI_MAX,
                     "otpauth://totp/cityos:%s?secret=%.*s&issuer=cityos&algorithm=SHA1&digits=%d"
                     "&period=%d",
                     label, (int)b32len, b32, ID_TOTP_DIGITS, ID_TOTP_PERIOD_S);
    sodium_memzero(b32, b32len);
    free(b32);
    if (w < 0 || w >= ID_TOTP_URI_MAX) {
        out[0] = '\0';
        return ERR_TOOBIG;
    }
    return 0;
}

/* ---- the person's columns ---- */

struct store_secret {
    const char *person_id;
    const char *sealed;
};

static int write_secret(struct store_tx *tx, void *ctx, struct err *e)
{
    struct store_secret *w = ctx;
    struct store_value v[] = {w->sealed != NULL ? STORE_TEXT_V(w->sealed) : STORE_NULL_V,
                              STORE_TEXT_V(w->person_id)};
    int rc = store_tx_exec(tx, "UPDATE person SET totp_secret = ?, totp_last_step = 0 WHERE id = ?",
                           v, 2, e);
    if (rc < 0)
        return rc;
    return rc == 0 ? err_set(e, ERR_NOTFOUND, "no such person") : 0;
}

int id_totp_store(struct store *s, const char *person_id, const char *sealed, struct err *e)
{
    struct store_secret w = {person_id, sealed};
    return store_write(s, write_secret, &w, e);
}

struct load_ctx {
    char *sealed;
    int64_t last_step;
    int found, bad;
};

static int read_secret(const struct store_row *row, void *ctx)
{
    struct load_ctx *l = ctx;
    if (store_row_is_null(row, 0))
        return 1;
    size_t len = 0;
    const char *t = store_row_text(row, 0, &len);
    if (t == NULL || len >= ID_TOTP_SEALED_MAX) {
        l->bad = 1;
        return 1;
    }
    memcpy(l->sealed, t, len);
    l->sealed[len] = '\0';
    l->last_step = store_row_int(row, 1);
    l->found = 1;
    return 1;
}

int id_totp_load(struct store *s, const char *person_id, char sealed[ID_TOTP_SEALED_MAX],
                 int64_t *last_step, struct err *e)
{
    sealed[0] = '\0';
    struct load_ctx l = {sealed, 0, 0, 0};
    struct store_value v[] = {STORE_TEXT_V(person_id)};
    int rc = store_query(s, "SELECT totp_secret, totp_last_step FROM person WHERE id = ?", v, 1,
                         read_secret, &l, e);
    if (rc != 0)
        return rc;
    if (l.bad)
        return err_set(e, ERR_INVALID, "the stored TOTP secret is malformed");
    if (!l.found)
        return err_set(e, ERR_NOTFOUND, "no TOTP secret");
    *last_step = l.last_step;
    return 0;
}

int id_totp_accept_step(struct store_tx *tx, const char *person_id, int64_t step, struct err *e)
{
    struct store_value v[] = {STORE_INT_V(step), STORE_TEXT_V(person_id), STORE_INT_V(step)};
    int rc = store_tx_exec(
        tx, "UPDATE person SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?", v, 3, e);
    if (rc < 0)
        return rc;
    return rc == 0 ? err_set(e, ERR_CONFLICT, "the TOTP step was already used") : 0;
}
