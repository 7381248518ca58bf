/* test_device.c - home device rows (migration 10): checks of a new device, the insert and its
 * limits, reads by id and by citizen, revocation (once, only by the owner), the device
 * principal, and the FHIR Device each kind is described by (valid R4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/actor.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "fhir/validate.h"
#include "identity/device.h"
#include "identity/person.h"
#include "identity/principal.h"
#include "support/fixture.h"

static char taro[IDS_LEN + 1], hanako[IDS_LEN + 1];

static void add_person(struct fx *f, const char *given, const char *kana, char id[IDS_LEN + 1])
{
    struct id_person_new in = {.family_name_kanji = "会津",
                               .given_name_kanji = given,
                               .family_name_kana = "アイヅ",
                               .given_name_kana = kana,
                               .birth_date = "1956-01-05",
                               .sex = ID_SEX_MALE,
                               .district = "湊町",
                               .assurance = ID_ASSURANCE_SELF};
    struct err e = {0};
    if (id_person_create(f->s, &in, id, &e) != 0)
        fail_msg("person: %s", e.msg);
}

static int setup(void **state)
{
    if (fx_setup_in(state, "device") != 0)
        return -1;
    add_person(*state, "太郎", "タロウ", taro);
    add_person(*state, "花子", "ハナコ", hanako);
    return 0;
}

static struct id_device_new new_device(const char *subject, const char *kind, const char *display)
{
    return (struct id_device_new){.subject_id = subject,
                                  .registered_by = subject,
                                  .kind = kind,
                                  .display = display,
                                  .now_ms = clock_now_ms()};
}

static int insert_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    return id_device_insert_tx(tx, ctx, e);
}

struct revoke {
    const char *id, *subject;
    int64_t now_ms;
};

static int revoke_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct revoke *r = ctx;
    return id_device_revoke_tx(tx, r->id, r->subject, r->now_ms, e);
}

static void checks_refuse_bad_devices(void **state)
{
    (void)state;
    snprintf(taro, sizeof taro, "%s", "01arz3ndektsv4rrffq69g5fav");
    struct err e = {0};
    struct id_device_new n = new_device(taro, "bp-wrist", "手首の血圧計");
    assert_int_equal(id_device_check(&n, &e), 0);
    assert_true(ids_valid(n.id));
    static const struct {
        const char *kind, *display, *manufacturer, *field;
    } bad[] = {
        {"toaster", "x", NULL, "kind"},
        {NULL, "x", NULL, "kind"},
        {"BP-WRIST", "x", NULL, "kind"},
        {"bp-wrist", "", NULL, "display"},
        {"bp-wrist", NULL, NULL, "display"},
        {"bp-wrist", " x", NULL, "display"},
        {"bp-wrist", "a\nb", NULL, "display"},
        {"bp-wrist", "x", "", "manufacturer"},
        {"bp-wrist", "x", "\x7f", "manufacturer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = new_device(taro, bad[i].kind, bad[i].display);
        n.manufacturer = bad[i].manufacturer;
        e = (struct err){0};
        assert_int_equal(id_device_check(&n, &e), ERR_INVALID);
        if (strncmp(e.msg, bad[i].field, strlen(bad[i].field)) != 0)
            fail_msg("case %zu: %s", i, e.msg);
    }
    char long_text[(ID_DEVICE_TEXT_MAX + 1) * 3 + 1];
    for (int i = 0; i <= ID_DEVICE_TEXT_MAX; i++)
        memcpy(long_text + 3 * i, "あ", 3);
    long_text[(ID_DEVICE_TEXT_MAX + 1) * 3] = '\0';
    n = new_device(taro, "scale", long_text);
    assert_int_equal(id_device_check(&n, &e), ERR_INVALID);
    n = new_device("not-an-id", "scale", "x");
    assert_int_equal(id_device_check(&n, &e), ERR_INVALID);
    for (const char *const *k = id_device_kinds(); *k != NULL; k++) {
        assert_true(id_device_kind_valid(*k));
        assert_non_null(id_device_kind_text(*k));
    }
    assert_false(id_device_kind_valid("toaster"));
    assert_null(id_device_kind_text("toaster"));
}

static void devices_are_stored_listed_and_revoked(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    struct id_device_new a = new_device(taro, "bp-wrist", "手首の血圧計");
    a.manufacturer = "Omron";
    a.model = "HEM-6232T";
    assert_int_equal(id_device_check(&a, &e), 0);
    assert_int_equal(store_write(f->s, insert_fn, &a, &e), 0);
    struct id_device_new b = new_device(taro, "pillbox", "お薬箱");
    b.now_ms = a.now_ms + 1;
    assert_int_equal(id_device_check(&b, &e), 0);
    assert_int_equal(store_write(f->s, insert_fn, &b, &e), 0);
    /* the same id twice: a conflict, nothing changed */
    assert_int_equal(store_write(f->s, insert_fn, &a, &e), ERR_CONFLICT);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM device"), 2);

    struct id_device d;
    assert_int_equal(id_device_find(f->s, a.id, &d, f->a, &e), 0);
    assert_string_equal(d.id, a.id);
    assert_string_equal(d.subject_id, taro);
    assert_string_equal(d.kind, "bp-wrist");
    assert_string_equal(d.display, "手首の血圧計");
    assert_string_equal(d.manufacturer, "Omron");
    assert_string_equal(d.model, "HEM-6232T");
    assert_string_equal(d.fhir_device_id, a.id);
    assert_string_equal(d.registered_by, taro);
    assert_int_equal(d.registered_ms, a.now_ms);
    assert_int_equal(d.bound_ms, a.now_ms);
    assert_int_equal(d.revoked_ms, 0);
    assert_true(id_device_active(&d));
    assert_int_equal(id_device_find(f->s, "01arz3ndektsv4rrffq69g5fav", &d, f->a, &e),
                     ERR_NOTFOUND);
    assert_int_equal(id_device_find(f->s, "bad id", &d, f->a, &e), ERR_NOTFOUND);
    assert_int_equal(id_device_find(f->s, NULL, &d, f->a, &e), ERR_NOTFOUND);

    struct id_device *list;
    size_t n;
    assert_int_equal(id_device_list(f->s, taro, &list, &n, f->a, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, b.id); /* newest first */
    assert_null(list[0].manufacturer);
    assert_string_equal(list[1].id, a.id);
    assert_int_equal(id_device_list(f->s, hanako, &list, &n, f->a, &e), 0);
    assert_int_equal(n, 0);

    /* someone else cannot revoke it; its owner can, once (the first time stays) */
    struct revoke r = {a.id, hanako, a.now_ms + 10};
    assert_int_equal(store_write(f->s, revoke_fn, &r, &e), ERR_NOTFOUND);
    r.subject = taro;
    assert_int_equal(store_write(f->s, revoke_fn, &r, &e), 0);
    r.now_ms += 1000;
    assert_int_equal(store_write(f->s, revoke_fn, &r, &e), 0);
    assert_int_equal(id_device_find(f->s, a.id, &d, f->a, &e), 0);
    assert_int_equal(d.revoked_ms, a.now_ms + 10);
    assert_false(id_device_active(&d));
    r.id = "01arz3ndektsv4rrffq69g5fav";
    assert_int_equal(store_write(f->s, revoke_fn, &r, &e), ERR_NOTFOUND);
}

static int fill_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    (void)ctx;
    for (int i = 0; i < ID_DEVICE_LIST_MAX; i++) {
        struct id_device_new n = new_device(hanako, "scale", "体重計");
        n.now_ms += i;
        int rc = id_device_check(&n, e);
        if (rc == 0)
            rc = id_device_insert_tx(tx, &n, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void a_citizen_holds_a_bounded_number_of_devices(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    assert_int_equal(store_write(f->s, fill_fn, NULL, &e), 0);
    struct id_device_new one = new_device(hanako, "scale", "もう一台");
    assert_int_equal(id_device_check(&one, &e), 0);
    assert_int_equal(store_write(f->s, insert_fn, &one, &e), ERR_CONFLICT);
    struct id_device *list;
    size_t n;
    assert_int_equal(id_device_list(f->s, hanako, &list, &n, f->a, &e), 0);
    assert_int_equal(n, ID_DEVICE_LIST_MAX);
    /* an unchecked device is refused by the insert itself */
    struct id_device_new raw = new_device(taro, "toaster", "x");
    memcpy(raw.id, one.id, sizeof raw.id);
    raw.id[0] = raw.id[0] == '0' ? '1' : '0';
    assert_int_equal(store_write(f->s, insert_fn, &raw, &e), ERR_INVALID);
}

static void the_device_principal(void **state)
{
    (void)state;
    snprintf(taro, sizeof taro, "%s", "01arz3ndektsv4rrffq69g5faw");
    struct id_device d = {.subject_id = taro, .kind = "bp-wrist", .bound_ms = 1};
    snprintf(d.id, sizeof d.id, "%s", "01arz3ndektsv4rrffq69g5fav");
    struct id_principal p;
    id_principal_for_device(&d, &p);
    assert_int_equal(p.kind, ID_PRINCIPAL_DEVICE);
    assert_string_equal(p.client_id, "");
    assert_string_equal(p.subject_id, d.id);
    assert_string_equal(p.acting_for, taro);
    assert_string_equal(p.role, "bp-wrist");
    assert_null(p.scope);
    assert_string_equal(id_principal_kind_name(ID_PRINCIPAL_DEVICE), "device");
    /* recorded as the device, with its kind, on behalf of the citizen */
    struct audit_event ev = {0};
    struct err e = {0};
    assert_int_equal(audit_event_from_principal(&p, &ev, &e), 0);
    assert_int_equal(ev.actor_kind, AUDIT_ACTOR_DEVICE);
    assert_string_equal(ev.actor_id, d.id);
    assert_string_equal(ev.actor_role, "bp-wrist");
    assert_string_equal(ev.on_behalf_of, taro);
    assert_null(ev.client_id);
    p.acting_for = NULL; /* an unbound device is no actor */
    assert_int_equal(audit_event_from_principal(&p, &ev, &e), ERR_INVALID);
    d.revoked_ms = 5;
    assert_false(id_device_active(&d));
    d.revoked_ms = 0;
    d.subject_id = NULL;
    assert_false(id_device_active(&d));
    assert_false(id_device_active(NULL));
}

static void every_kind_is_a_valid_fhir_device(void **state)
{
    (void)state;
    snprintf(taro, sizeof taro, "%s", "01arz3ndektsv4rrffq69g5fav");
    for (const char *const *k = id_device_kinds(); *k != NULL; k++) {
        struct id_device_new n = new_device(taro, *k, "機器");
        n.manufacturer = "Maker";
        n.model = "M-1";
        struct err e = {0};
        assert_int_equal(id_device_check(&n, &e), 0);
        for (int revoked = 0; revoked <= 1; revoked++) {
            json_t *d = id_device_fhir(&n, revoked);
            assert_non_null(d);
            static struct fhir_issues is;
            fhir_issues_init(&is, NULL, NULL);
            if (fhir_validate(d, "Device", &is) != 0 || is.nerrors != 0) {
                json_t *oo = fhir_issues_outcome(&is);
                fail_msg("%s: %s", *k, jsonx_dumps(oo, NULL));
            }
            assert_string_equal(json_string_value(json_object_get(d, "status")),
                                revoked ? "inactive" : "active");
            json_t *type = json_object_get(d, "type");
            json_t *coding = json_object_get(type, "coding");
            int bp = strncmp(*k, "bp-", 3) == 0;
            assert_int_equal(json_array_size(coding), bp ? 2 : 1);
            if (bp)
                assert_string_equal(
                    json_string_value(json_object_get(json_array_get(coding, 0), "code")),
                    "70665002");
            assert_string_equal(json_string_value(json_object_get(type, "text")),
                                id_device_kind_text(*k));
            json_decref(d);
        }
    }
    struct id_device_new bad = new_device(taro, "toaster", "x");
    assert_null(id_device_fhir(&bad, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checks_refuse_bad_devices),
        cmocka_unit_test_setup_teardown(devices_are_stored_listed_and_revoked, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_citizen_holds_a_bounded_number_of_devices, setup,
                                        fx_teardown),
        cmocka_unit_test(the_device_principal),
        cmocka_unit_test(every_kind_is_a_valid_fhir_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
