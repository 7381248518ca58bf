/* test_totp.c - TOTP: the RFC 6238 Appendix B SHA-1 vectors through liboath (8 digits, and the
 * 6-digit codes they end in), the +-1 step window, replay refusal, code syntax, sealing under
 * the key file (created 0600 once, refused when readable by others or a symbolic link), the
 * otpauth URI, and the person's columns (store, load, accept a newer step only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity/person.h"
#include "identity/totp.h"
#include "support/fixture.h"

static const unsigned char RFC_SECRET[] = "12345678901234567890"; /* 20 bytes, SHA-1 vectors */

static void test_rfc6238_vectors(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        const char *code8;
    } v[] = {
        {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
        {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000LL, "65353130"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[9];
        int64_t step = id_totp_step_at(v[i].t * 1000);
        assert_int_equal(id_totp_code(RFC_SECRET, 20, step, 8, out), 0);
        assert_string_equal(out, v[i].code8);
        assert_int_equal(id_totp_code(RFC_SECRET, 20, step, 6, out), 0);
        assert_string_equal(out, v[i].code8 + 2); /* the low 6 digits */
        /* and verification accepts the 6-digit code at that instant */
        int64_t got = 0;
        assert_int_equal(id_totp_verify(RFC_SECRET, 20, v[i].code8 + 2, v[i].t * 1000, 0, &got), 0);
        assert_int_equal(got, step);
    }
}

static void test_window(void **state)
{
    (void)state;
    int64_t now = 1111111111LL * 1000, step = id_totp_step_at(now), got = 0;
    char code[9];
    for (int d = -2; d <= 2; d++) {
        assert_int_equal(id_totp_code(RFC_SECRET, 20, step + d, 6, code), 0);
        int rc = id_totp_verify(RFC_SECRET, 20, code, now, 0, &got);
        if (d >= -1 && d <= 1) {
            assert_int_equal(rc, 0);
            assert_int_equal(got, step + d);
        } else {
            assert_int_equal(rc, ERR_INVALID);
        }
    }
    assert_int_equal(id_totp_verify(RFC_SECRET, 20, "000000", now, 0, &got), ERR_INVALID);
}

static void test_replay(void **state)
{
    (void)state;
    int64_t now = 1234567890LL * 1000, step = id_totp_step_at(now), got = 0;
    char code[9];
    assert_int_equal(id_totp_code(RFC_SECRET, 20, step, 6, code), 0);
    assert_int_equal(id_totp_verify(RFC_SECRET, 20, code, now, step - 1, &got), 0);
    assert_int_equal(got, step);
    /* the same step again: refused as a replay */
    assert_int_equal(id_totp_verify(RFC_SECRET, 20, code, now, step, &got), ERR_CONFLICT);
    /* an older step than the last accepted: refused too */
    assert_int_equal(id_totp_code(RFC_SECRET, 20, step - 1, 6, code), 0);
    assert_int_equal(id_totp_verify(RFC_SECRET, 20, code, now, step, &got), ERR_CONFLICT);
    /* the next step is still fine */
    assert_int_equal(id_totp_code(RFC_SECRET, 20, step + 1, 6, code), 0);
    assert_int_equal(id_totp_verify(RFC_SECRET, 20, code, now, step, &got), 0);
    assert_int_equal(got, step + 1);
}

static void test_syntax(void **state)
{
    (void)state;
    int64_t got = 0;
    assert_true(id_totp_code_syntax_valid("012345"));
    static const char *const bad[] = {"",       "12345",        "1234567", "12345a", " 12345",
                                      "12 345", "１２３４５６", "-12345",  NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        assert_false(id_totp_code_syntax_valid(bad[i]));
        assert_int_equal(id_totp_verify(RFC_SECRET, 20, bad[i], 0, 0, &got), ERR_INVALID);
    }
    assert_false(id_totp_code_syntax_valid(NULL));
}

static void test_seal(void **state)
{
    (void)state;
    unsigned char key[ID_TOTP_KEY_BYTES], other[ID_TOTP_KEY_BYTES];
    memset(key, 7, sizeof key);
    memset(other, 8, sizeof other);
    char sealed[ID_TOTP_SEALED_MAX], again[ID_TOTP_SEALED_MAX];
    assert_int_equal(id_totp_seal(key, RFC_SECRET, 20, sealed), 0);
    assert_int_equal(id_totp_seal(key, RFC_SECRET, 20, again), 0);
    assert_string_not_equal(sealed, again); /* a fresh nonce each time */
    assert_int_equal(strncmp(sealed, "v1.", 3), 0);
    assert_null(strstr(sealed, "1234567890"));
    unsigned char out[ID_TOTP_SECRET_BYTES];
    size_t len = 0;
    assert_int_equal(id_totp_open(key, sealed, out, &len), 0);
    assert_int_equal(len, 20);
    assert_memory_equal(out, RFC_SECRET, 20);
    assert_int_equal(id_totp_open(other, sealed, out, &len), ERR_INVALID);
    sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
    assert_int_equal(id_totp_open(key, sealed, out, &len), ERR_INVALID);
    assert_int_equal(id_totp_open(key, "12345678901234567890", out, &len), ERR_INVALID);
    assert_int_equal(id_totp_open(key, "v1.", out, &len), ERR_INVALID);
    assert_int_equal(id_totp_open(key, NULL, out, &len), ERR_INVALID);
    assert_int_equal(id_totp_seal(key, RFC_SECRET, 0, sealed), ERR_INVALID);
    assert_int_equal(id_totp_seal(key, RFC_SECRET, 21, sealed), ERR_INVALID);
}

static void test_key_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/cityos-totpkey-XXXXXX";
    assert_non_null(mkdtemp(dir));
    unsigned char k1[ID_TOTP_KEY_BYTES], k2[ID_TOTP_KEY_BYTES];
    struct err e = {0};
    assert_int_equal(id_totp_key_load(dir, k1, &e), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/totp-key", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, ID_TOTP_KEY_BYTES);
    assert_int_equal(id_totp_key_load(dir, k2, &e), 0);
    assert_memory_equal(k1, k2, sizeof k1); /* loaded, not replaced */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(id_totp_key_load(dir, k2, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "chmod 600"));
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(truncate(path, 10), 0);
    assert_int_equal(id_totp_key_load(dir, k2, &e), ERR_INVALID);
    assert_int_equal(unlink(path), 0);
    char target[160];
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    FILE *fp = fopen(target, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(id_totp_key_load(dir, k2, &e), ERR_INVALID);
    fx_rm_tree(dir);
}

static void test_uri(void **state)
{
    (void)state;
    char uri[ID_TOTP_URI_MAX];
    assert_int_equal(id_totp_uri("taro+x@example.jp", RFC_SECRET, 20, uri), 0);
    assert_string_equal(uri, "otpauth://totp/cityos:taro%2Bx@example.jp?secret="
                             "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=cityos&algorithm=SHA1&"
                             "digits=6&period=30");
}

static void test_person_columns(void **state)
{
    (void)state;
    void *inner = NULL;
    assert_int_equal(fx_setup_in(&inner, "totp"), 0);
    struct fx *f = inner;
    struct id_person_new in = {.family_name_kanji = "会津",
                               .given_name_kanji = "花子",
                               .family_name_kana = "アイヅ",
                               .given_name_kana = "ハナコ",
                               .birth_date = "1960-01-01",
                               .sex = ID_SEX_FEMALE,
                               .district = "Minato",
                               .email = "hanako@example.jp"};
    char id[IDS_LEN + 1], sealed[ID_TOTP_SEALED_MAX];
    struct err e = {0};
    int64_t last = -1;
    assert_int_equal(id_person_create(f->s, &in, id, &e), 0);
    assert_int_equal(id_totp_load(f->s, id, sealed, &last, &e), ERR_NOTFOUND);
    assert_int_equal(id_totp_store(f->s, id, "v1.abc", &e), 0);
    assert_int_equal(id_totp_load(f->s, id, sealed, &last, &e), 0);
    assert_string_equal(sealed, "v1.abc");
    assert_int_equal(last, 0);
    struct id_person p;
    assert_int_equal(id_person_get(f->s, id, &p, f->a, &e), 0);
    assert_true(p.has_totp);
    assert_int_equal(id_totp_store(f->s, "00000000000000000000000000", "v1.x", &e), ERR_NOTFOUND);
    assert_int_equal(id_totp_store(f->s, id, NULL, &e), 0);
    assert_int_equal(id_totp_load(f->s, id, sealed, &last, &e), ERR_NOTFOUND);
    fx_teardown(&inner);
}

struct accept {
    const char *id;
    int64_t step;
};

static int accept_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct accept *a = ctx;
    return id_totp_accept_step(tx, a->id, a->step, e);
}

static void test_accept_step(void **state)
{
    (void)state;
    void *inner = NULL;
    assert_int_equal(fx_setup_in(&inner, "totpstep"), 0);
    struct fx *f = inner;
    struct id_person_new in = {.family_name_kanji = "会津",
                               .given_name_kanji = "一郎",
                               .family_name_kana = "アイヅ",
                               .given_name_kana = "イチロウ",
                               .birth_date = "1970-01-01",
                               .sex = ID_SEX_MALE,
                               .district = "Minato"};
    char id[IDS_LEN + 1], sealed[ID_TOTP_SEALED_MAX];
    struct err e = {0};
    int64_t last = 0;
    assert_int_equal(id_person_create(f->s, &in, id, &e), 0);
    assert_int_equal(id_totp_store(f->s, id, "v1.abc", &e), 0);
    struct accept a = {id, 100};
    assert_int_equal(store_write(f->s, accept_fn, &a, &e), 0);
    assert_int_equal(store_write(f->s, accept_fn, &a, &e), ERR_CONFLICT);
    a.step = 99;
    assert_int_equal(store_write(f->s, accept_fn, &a, &e), ERR_CONFLICT);
    a.step = 101;
    assert_int_equal(store_write(f->s, accept_fn, &a, &e), 0);
    assert_int_equal(id_totp_load(f->s, id, sealed, &last, &e), 0);
    assert_int_equal(last, 101);
    fx_teardown(&inner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vectors),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_seal),
        cmocka_unit_test(test_key_file),
        cmocka_unit_test(test_uri),
        cmocka_unit_test(test_person_columns),
        cmocka_unit_test(test_accept_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
