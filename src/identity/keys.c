/* keys.c - the signing-key file (<data-dir>/signing-keys.json): strict loading with a permission
 * check, atomic writing, rotation and retirement, and the key set the serving process owns. */
#include "identity/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/jsonx.h"

static struct id_keys process_keys; /* id_keys_open() .. id_keys_close() */

static int key_path(char *out, size_t cap, const char *dir, const char *suffix, struct err *e)
{
    int n = snprintf(out, cap, "%s/%s%s", dir, ID_KEYS_FILE, suffix);
    if (n < 0 || (size_t)n >= cap)
        return err_set(e, ERR_INVALID, "data folder path too long for the signing key file");
    return 0;
}

/* Reads the whole of fd (at most ID_KEYS_FILE_MAX bytes) into a malloc'ed, NUL-terminated
 * buffer of *len bytes. The caller wipes and frees it. */
static int read_all(int fd, const char *path, char **out, size_t *len, struct err *e)
{
    size_t cap = ID_KEYS_FILE_MAX + 1, used = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL)
        return err_set(e, ERR_NOMEM, "out of memory reading %s", path);
    for (;;) {
        ssize_t got = read(fd, buf + used, cap - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int ret =
                err_set(e, ERR_IO, "cannot read signing key file %s: %s", path, strerror(errno));
            sodium_memzero(buf, used);
            free(buf);
            return ret;
        }
        if (got == 0)
            break;
        used += (size_t)got;
        if (used > ID_KEYS_FILE_MAX) {
            sodium_memzero(buf, used);
            free(buf);
            return err_set(e, ERR_INVALID, "signing key file %s is larger than %d bytes", path,
                           ID_KEYS_FILE_MAX);
        }
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return 0;
}

/* Zeroes every "d" string of the parsed key array before it is freed. */
static void wipe_parsed(json_t *arr)
{
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        json_t *d = json_object_get(item, "d");
        if (json_is_string(d))
            sodium_memzero((char *)json_string_value(d), json_string_length(d));
    }
}

/* Orders keys newest first; insertion sort, stable, so equal created_ms keep their order. */
static void sort_newest_first(struct id_keys *ks)
{
    for (size_t i = 1; i < ks->n; i++) {
        struct id_jose_key k = ks->keys[i];
        size_t j = i;
        while (j > 0 && ks->keys[j - 1].created_ms < k.created_ms) {
            ks->keys[j] = ks->keys[j - 1];
            j--;
        }
        ks->keys[j] = k;
        sodium_memzero(&k, sizeof k);
    }
}

/* Parses the file's text into ks. */
static int parse_keys(struct id_keys *ks, const char *text, size_t len, const char *path,
                      struct err *e)
{
    struct err pe = {0};
    int ret = 0;
    json_t *arr = jsonx_parse(text, len, &pe);
    if (arr == NULL) {
        ret = err_set(e, pe.code == ERR_NOMEM ? ERR_NOMEM : ERR_INVALID,
                      "signing key file %s is not valid JSON: %s", path, pe.msg);
        goto out;
    }
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > ID_KEYS_MAX) {
        ret = err_set(e, ERR_INVALID, "signing key file %s must be a JSON array of 1 to %d keys",
                      path, ID_KEYS_MAX);
        goto out;
    }
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        if (!json_is_object(item)) {
            ret = err_set(e, ERR_INVALID, "signing key file %s: key %zu is not an object", path, i);
            goto out;
        }
        size_t tlen = 0;
        char *one = jsonx_dumps(item, &tlen);
        if (one == NULL) {
            ret = err_set(e, ERR_NOMEM, "out of memory reading %s", path);
            goto out;
        }
        struct err ke = {0};
        int rc = id_jose_key_from_json(one, tlen, &ks->keys[ks->n], &ke);
        id_jose_secret_free(one);
        if (rc != 0) {
            ret = err_set(e, rc == ERR_NOMEM ? ERR_NOMEM : ERR_INVALID,
                          "signing key file %s: key %zu: %s", path, i, ke.msg);
            goto out;
        }
        for (size_t j = 0; j < ks->n; j++) {
            if (strcmp(ks->keys[j].kid, ks->keys[ks->n].kid) == 0) {
                ret = err_set(e, ERR_INVALID, "signing key file %s: key %zu repeats kid %s", path,
                              i, ks->keys[j].kid);
                id_jose_key_wipe(&ks->keys[ks->n]);
                goto out;
            }
        }
        ks->n++;
    }
    sort_newest_first(ks);
out:
    if (arr != NULL) {
        wipe_parsed(arr);
        json_decref(arr);
    }
    if (ret != 0)
        id_keys_release(ks);
    return ret;
}

int id_keys_load(struct id_keys *ks, const char *dir, int create, int64_t now_ms, struct err *e)
{
    char path[ID_KEYS_PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    int ret = 0, fd = -1;
    id_keys_release(ks);
    if ((ret = key_path(path, sizeof path, dir, "", e)) != 0)
        return ret;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        if (!create)
            return err_set(e, ERR_NOTFOUND, "no signing key file %s", path);
        if ((ret = id_keys_rotate(ks, now_ms, e)) == 0)
            ret = id_keys_save(ks, dir, e);
        if (ret != 0)
            id_keys_release(ks);
        return ret;
    }
    if (fd < 0)
        return err_set(e, errno == ELOOP ? ERR_INVALID : ERR_IO,
                       "cannot open signing key file %s: %s", path,
                       errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ret = err_set(e, ERR_IO, "cannot stat signing key file %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = err_set(e, ERR_INVALID, "signing key file %s is not a regular file", path);
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        ret = err_set(e, ERR_INVALID,
                      "signing key file %s has mode %04o: group and others must have no access "
                      "(chmod 600 %s)",
                      path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    if ((ret = read_all(fd, path, &text, &len, e)) != 0)
        goto out;
    ret = parse_keys(ks, text, len, path, e);
out:
    if (text != NULL) {
        sodium_memzero(text, len);
        free(text);
    }
    close(fd);
    return ret;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes the array: "[\n" key ",\n" key ... "\n]\n", each key as id_jose_key_to_json() gives it
 * (already serialised by jsonx_dumps), so the secret is never copied into another JSON tree. */
static int write_keys(int fd, const struct id_keys *ks, const char *path, struct err *e)
{
    if (write_all(fd, "[\n", 2) != 0)
        return err_set(e, ERR_IO, "cannot write %s: %s", path, strerror(errno));
    for (size_t i = 0; i < ks->n; i++) {
        char *one = id_jose_key_to_json(&ks->keys[i]);
        if (one == NULL)
            return err_set(e, ERR_NOMEM, "out of memory writing %s", path);
        const char *sep = i + 1 < ks->n ? ",\n" : "\n]\n";
        int rc = write_all(fd, one, strlen(one));
        id_jose_secret_free(one);
        if (rc != 0 || write_all(fd, sep, strlen(sep)) != 0)
            return err_set(e, ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return 0;
}

int id_keys_save(const struct id_keys *ks, const char *dir, struct err *e)
{
    char path[ID_KEYS_PATH_MAX], tmp[ID_KEYS_PATH_MAX];
    int ret = 0, fd = -1;
    if (ks->n == 0 || ks->n > ID_KEYS_MAX)
        return err_set(e, ERR_INVALID, "a signing key file holds 1 to %d keys", ID_KEYS_MAX);
    if ((ret = key_path(path, sizeof path, dir, "", e)) != 0 ||
        (ret = key_path(tmp, sizeof tmp, dir, ".tmp", e)) != 0)
        return ret;
    /* a .tmp left by a crash is garbage: the rename that would have published it never ran */
    if (unlink(tmp) != 0 && errno != ENOENT)
        return err_set(e, ERR_IO, "cannot remove %s: %s", tmp, strerror(errno));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return err_set(e, ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    if (fchmod(fd, 0600) != 0) {
        ret = err_set(e, ERR_IO, "cannot chmod %s: %s", tmp, strerror(errno));
        goto out;
    }
    if ((ret = write_keys(fd, ks, tmp, e)) != 0)
        goto out;
    if (fsync(fd) != 0) {
        ret = err_set(e, ERR_IO, "cannot fsync %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        ret = err_set(e, ERR_IO, "cannot close %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        ret = err_set(e, ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        ret = err_set(e, ERR_IO, "cannot fsync folder %s: %s", dir, strerror(errno));
    if (dfd >= 0)
        close(dfd);
    return ret;
out:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return ret;
}

int id_keys_rotate(struct id_keys *ks, int64_t now_ms, struct err *e)
{
    if (ks->n >= ID_KEYS_MAX)
        return err_set(e, ERR_TOOBIG,
                       "already %d signing keys: retire old ones (--retire-older-than=DAYS)",
                       ID_KEYS_MAX);
    struct id_jose_key k;
    if (id_jose_key_generate(&k, now_ms) != 0)
        return err_set(e, ERR_INTERNAL, "cannot generate a signing key (libsodium)");
    memmove(&ks->keys[1], &ks->keys[0], ks->n * sizeof ks->keys[0]);
    ks->keys[0] = k;
    ks->n++;
    id_jose_key_wipe(&k);
    return 0;
}

size_t id_keys_retire(struct id_keys *ks, int64_t cutoff_ms)
{
    size_t kept = ks->n > 0 ? 1 : 0, removed = 0;
    for (size_t i = 1; i < ks->n; i++) {
        if (ks->keys[i].created_ms < cutoff_ms) {
            removed++;
            continue;
        }
        if (kept != i)
            ks->keys[kept] = ks->keys[i];
        kept++;
    }
    for (size_t i = kept; i < ks->n; i++)
        id_jose_key_wipe(&ks->keys[i]);
    ks->n = kept;
    return removed;
}

const struct id_jose_key *id_keys_signing(const struct id_keys *ks)
{
    return ks->n > 0 ? &ks->keys[0] : NULL;
}

void id_keys_release(struct id_keys *ks)
{
    for (size_t i = 0; i < ID_KEYS_MAX; i++)
        id_jose_key_wipe(&ks->keys[i]);
    ks->n = 0;
}

int id_keys_open(const char *dir, struct err *e)
{
    return id_keys_load(&process_keys, dir, 1, clock_now_ms(), e);
}

const struct id_keys *id_keys_get(void)
{
    return &process_keys;
}

void id_keys_close(void)
{
    id_keys_release(&process_keys);
}
