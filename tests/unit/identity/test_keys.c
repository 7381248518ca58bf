/* test_keys.c - the signing-key file: create, load and reload round trips, refusal of loose
 * permissions and malformed files, rotation order, retirement, wiping, the process key set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "identity/keys.h"

#define T0 1796083200000LL /* a fixed "now" (ms) */

static char dir[256];
static char path[512];

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/cityos-keys-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/" ID_KEYS_FILE, dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    rmdir(dir);
    return 0;
}

/* Each test starts without a key file. */
static int fresh(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void put_file(const char *text, mode_t mode)
{
    unlink(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

/* absent file: create makes one key, writes it 0600, and a reload gives the same key */
static void create_then_reload_gives_the_same_key(void **state)
{
    (void)state;
    struct id_keys a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    struct err e = {0};
    assert_int_equal(id_keys_load(&a, dir, 0, T0, &e), ERR_NOTFOUND);
    assert_int_equal(a.n, 0);
    assert_int_equal(id_keys_load(&a, dir, 1, T0, &e), 0);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.keys[0].created_ms, T0);
    assert_int_equal(strlen(a.keys[0].kid), ID_JOSE_KID_LEN);
    assert_ptr_equal(id_keys_signing(&a), &a.keys[0]);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(id_keys_load(&b, dir, 1, T0 + 5, &e), 0); /* exists: no new key */
    assert_int_equal(b.n, 1);
    assert_string_equal(b.keys[0].kid, a.keys[0].kid);
    assert_memory_equal(b.keys[0].sk, a.keys[0].sk, 64);
    assert_memory_equal(b.keys[0].pk, a.keys[0].pk, 32);
    assert_int_equal(b.keys[0].created_ms, T0);
    id_keys_release(&a);
    id_keys_release(&b);
}

/* save then load keeps every key, in order, and leaves no temporary file */
static void save_and_load_round_trip_several_keys(void **state)
{
    (void)state;
    struct id_keys a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    struct err e = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(id_keys_rotate(&a, T0 + i, &e), 0);
    assert_int_equal(id_keys_save(&a, dir, &e), 0);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);
    assert_int_equal(id_keys_load(&b, dir, 0, T0, &e), 0);
    assert_int_equal(b.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(b.keys[i].kid, a.keys[i].kid);
        assert_memory_equal(b.keys[i].sk, a.keys[i].sk, 64);
    }
    assert_int_equal(b.keys[0].created_ms, T0 + 2);
    id_keys_release(&a);
    id_keys_release(&b);
}

/* a key file readable by group or others is refused, the message naming the file */
static void loose_permissions_are_refused(void **state)
{
    (void)state;
    struct id_keys a;
    memset(&a, 0, sizeof a);
    struct err e = {0};
    assert_int_equal(id_keys_load(&a, dir, 1, T0, &e), 0);
    id_keys_release(&a);
    const mode_t loose[] = {0644, 0640, 0604, 0660, 0601};
    for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
        assert_int_equal(chmod(path, loose[i]), 0);
        assert_int_equal(id_keys_load(&a, dir, 1, T0, &e), ERR_INVALID);
        assert_non_null(strstr(e.msg, path));
        assert_non_null(strstr(e.msg, "mode"));
        assert_int_equal(a.n, 0);
    }
    assert_int_equal(chmod(path, 0400), 0); /* read-only for the owner is fine */
    assert_int_equal(id_keys_load(&a, dir, 1, T0, &e), 0);
    assert_int_equal(a.n, 1);
    id_keys_release(&a);
}

/* malformed files are refused (never replaced by a new key), naming the file */
static void malformed_files_are_refused(void **state)
{
    (void)state;
    struct id_keys a;
    memset(&a, 0, sizeof a);
    struct err e = {0};
    assert_int_equal(id_keys_rotate(&a, T0, &e), 0);
    char *good = id_jose_key_to_json(&a.keys[0]);
    assert_non_null(good);
    size_t glen = strlen(good);
    char twice[1024], extra[1024];
    snprintf(twice, sizeof twice, "[%s,%s]", good, good);
    /* a member more than the storage form */
    snprintf(extra, sizeof extra, "[%.*s,\"use\":\"sig\"}]", (int)(glen - 1), good);
    char secret[ID_JOSE_KID_LEN + 1]; /* "d": 43 characters of base64url, like a kid */
    memcpy(secret, strstr(good, "\"d\":\"") + 5, ID_JOSE_KID_LEN);
    secret[ID_JOSE_KID_LEN] = '\0';
    char bad_d[1024];
    snprintf(bad_d, sizeof bad_d, "[%s]", good);
    char *d = strstr(bad_d, "\"d\":\"");
    assert_non_null(d);
    d[5] = d[5] == 'A' ? 'B' : 'A'; /* d no longer matches x */
    const char *const bad[] = {
        "",    "not json",           "{}", "[]", "[1]", "[null]", "[{}]", twice, extra,
        bad_d, "[{\"kty\":\"RSA\"}]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put_file(bad[i], 0600);
        assert_int_equal(id_keys_load(&a, dir, 1, T0, &e), ERR_INVALID);
        assert_non_null(strstr(e.msg, path));
        assert_null(strstr(e.msg, secret)); /* never quotes the private seed */
        assert_int_equal(a.n, 0);
        assert_true(all_zero(&a, sizeof a));
    }
    /* the file was left as it was: the operator decides */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((size_t)st.st_size, strlen(bad[sizeof bad / sizeof bad[0] - 1]));

    /* a file written by hand in the storage form, one key, is fine */
    char ok[1024];
    snprintf(ok, sizeof ok, "[%s]", good);
    put_file(ok, 0600);
    assert_int_equal(id_keys_load(&a, dir, 0, T0, &e), 0);
    assert_int_equal(a.n, 1);
    id_jose_secret_free(good);
    id_keys_release(&a);
}

/* a file larger than the bound is refused before parsing */
static void an_oversized_file_is_refused(void **state)
{
    (void)state;
    char *big = malloc(ID_KEYS_FILE_MAX + 2);
    assert_non_null(big);
    memset(big, ' ', ID_KEYS_FILE_MAX + 1);
    big[ID_KEYS_FILE_MAX + 1] = '\0';
    put_file(big, 0600);
    free(big);
    struct id_keys a;
    memset(&a, 0, sizeof a);
    struct err e = {0};
    assert_int_equal(id_keys_load(&a, dir, 0, T0, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "larger"));
}

/* rotation puts the new key first; the file keeps that order; a full set asks for retirement */
static void rotation_puts_the_newest_first(void **state)
{
    (void)state;
    struct id_keys a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    struct err e = {0};
    assert_int_equal(id_keys_load(&a, dir, 1, T0, &e), 0);
    char first[ID_JOSE_KID_LEN + 1];
    memcpy(first, a.keys[0].kid, sizeof first);
    assert_int_equal(id_keys_rotate(&a, T0 + ID_KEYS_DAY_MS, &e), 0);
    assert_int_equal(a.n, 2);
    assert_string_not_equal(a.keys[0].kid, first);
    assert_string_equal(a.keys[1].kid, first);
    assert_string_equal(id_keys_signing(&a)->kid, a.keys[0].kid);
    assert_int_equal(id_keys_save(&a, dir, &e), 0);
    assert_int_equal(id_keys_load(&b, dir, 0, T0, &e), 0);
    assert_int_equal(b.n, 2);
    assert_string_equal(b.keys[0].kid, a.keys[0].kid);
    assert_string_equal(b.keys[1].kid, first);

    /* a file listing the keys oldest first still loads newest first */
    char *k0 = id_jose_key_to_json(&a.keys[0]), *k1 = id_jose_key_to_json(&a.keys[1]);
    char text[1024];
    snprintf(text, sizeof text, "[%s,%s]", k1, k0);
    id_jose_secret_free(k0);
    id_jose_secret_free(k1);
    put_file(text, 0600);
    assert_int_equal(id_keys_load(&b, dir, 0, T0, &e), 0);
    assert_string_equal(b.keys[0].kid, a.keys[0].kid);
    sodium_memzero(text, sizeof text);

    while (a.n < ID_KEYS_MAX)
        assert_int_equal(id_keys_rotate(&a, T0 + 2 * ID_KEYS_DAY_MS, &e), 0);
    assert_int_equal(id_keys_rotate(&a, T0 + 3 * ID_KEYS_DAY_MS, &e), ERR_TOOBIG);
    assert_int_equal(a.n, ID_KEYS_MAX);
    id_keys_release(&a);
    id_keys_release(&b);
}

/* retirement removes old keys but never the signing key, and wipes what it removes */
static void retire_removes_old_keys_but_never_the_signing_key(void **state)
{
    (void)state;
    struct id_keys a;
    memset(&a, 0, sizeof a);
    struct err e = {0};
    const int64_t day = ID_KEYS_DAY_MS;
    assert_int_equal(id_keys_rotate(&a, T0, &e), 0);            /* 40 days before "now" */
    assert_int_equal(id_keys_rotate(&a, T0 + 20 * day, &e), 0); /* 20 days */
    assert_int_equal(id_keys_rotate(&a, T0 + 35 * day, &e), 0); /* 5 days */
    assert_int_equal(id_keys_rotate(&a, T0 + 40 * day, &e), 0); /* now */
    char newest[ID_JOSE_KID_LEN + 1], five[ID_JOSE_KID_LEN + 1];
    memcpy(newest, a.keys[0].kid, sizeof newest);
    memcpy(five, a.keys[1].kid, sizeof five);

    assert_int_equal(id_keys_retire(&a, T0 + 40 * day - 10 * day), 2); /* older than 10 days */
    assert_int_equal(a.n, 2);
    assert_string_equal(a.keys[0].kid, newest);
    assert_string_equal(a.keys[1].kid, five);
    for (size_t i = a.n; i < ID_KEYS_MAX; i++)
        assert_true(all_zero(&a.keys[i], sizeof a.keys[i]));

    assert_int_equal(id_keys_retire(&a, T0 + 100 * day), 1); /* everything old: signer stays */
    assert_int_equal(a.n, 1);
    assert_string_equal(a.keys[0].kid, newest);
    assert_true(all_zero(&a.keys[1], sizeof a.keys[1]));
    assert_int_equal(id_keys_retire(&a, T0 + 100 * day), 0);

    struct id_keys none;
    memset(&none, 0, sizeof none);
    assert_int_equal(id_keys_retire(&none, T0), 0);
    assert_null(id_keys_signing(&none));
    id_keys_release(&a);
}

/* release wipes every key, secret included */
static void release_wipes_the_keys(void **state)
{
    (void)state;
    struct id_keys a;
    memset(&a, 0, sizeof a);
    struct err e = {0};
    assert_int_equal(id_keys_rotate(&a, T0, &e), 0);
    assert_int_equal(id_keys_rotate(&a, T0 + 1, &e), 0);
    assert_false(all_zero(a.keys[0].sk, 64));
    id_keys_release(&a);
    assert_int_equal(a.n, 0);
    assert_true(all_zero(&a, sizeof a));
}

/* saving an empty set is refused; so is a folder that does not exist (no partial file) */
static void save_refuses_empty_sets_and_missing_folders(void **state)
{
    (void)state;
    struct id_keys a;
    memset(&a, 0, sizeof a);
    struct err e = {0};
    assert_int_equal(id_keys_save(&a, dir, &e), ERR_INVALID);
    assert_int_equal(id_keys_rotate(&a, T0, &e), 0);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no/such", dir);
    assert_int_equal(id_keys_save(&a, missing, &e), ERR_IO);
    assert_int_equal(id_keys_load(&a, missing, 1, T0, &e), ERR_IO);
    assert_int_equal(a.n, 0);
    id_keys_release(&a);
}

/* the process set: open creates and loads, get sees it, close wipes it */
static void the_process_set_opens_and_closes(void **state)
{
    (void)state;
    struct err e = {0};
    assert_int_equal(id_keys_get()->n, 0);
    assert_int_equal(id_keys_open(dir, &e), 0);
    const struct id_keys *ks = id_keys_get();
    assert_int_equal(ks->n, 1);
    char kid[ID_JOSE_KID_LEN + 1];
    memcpy(kid, ks->keys[0].kid, sizeof kid);
    id_keys_close();
    assert_int_equal(ks->n, 0);
    assert_true(all_zero(ks, sizeof *ks));
    assert_int_equal(id_keys_open(dir, &e), 0);
    assert_string_equal(id_keys_get()->keys[0].kid, kid);
    id_keys_close();

    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(id_keys_open(dir, &e), ERR_INVALID);
    assert_int_equal(id_keys_get()->n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(create_then_reload_gives_the_same_key, fresh),
        cmocka_unit_test_setup(save_and_load_round_trip_several_keys, fresh),
        cmocka_unit_test_setup(loose_permissions_are_refused, fresh),
        cmocka_unit_test_setup(malformed_files_are_refused, fresh),
        cmocka_unit_test_setup(an_oversized_file_is_refused, fresh),
        cmocka_unit_test_setup(rotation_puts_the_newest_first, fresh),
        cmocka_unit_test_setup(retire_removes_old_keys_but_never_the_signing_key, fresh),
        cmocka_unit_test_setup(release_wipes_the_keys, fresh),
        cmocka_unit_test_setup(save_refuses_empty_sets_and_missing_folders, fresh),
        cmocka_unit_test_setup(the_process_set_opens_and_closes, fresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
