/* test_org.c - organisations (round trips, every validation refusal) and practitioner roles
 * (duplicates, missing people or organisations, listing) in the store. */
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
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "identity/org.h"
#include "identity/person.h"
#include "support/fixture.h"

/* ---- fixture: a fresh store in a temporary folder per test ---- */

static int fx_setup(void **state)
{
    return fx_setup_in(state, "org");
}

static struct id_org_new clinic(void)
{
    struct id_org_new o = {
        .kind = ID_ORG_CLINIC,
        .name_ja = "湊ファミリークリニック",
        .name_en = "Minato Family Clinic",
        .district = "湊",
        .address = "会津若松市湊町大字共和字西田面 1-2",
        .coords = {1, 37475100, 140010200},
    };
    return o;
}

static void org_create(struct fx *f, const struct id_org_new *o, char id[IDS_LEN + 1])
{
    struct err e = {0};
    int rc = id_org_create(f->s, o, id, &e);
    if (rc != 0)
        fprintf(stderr, "org: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_true(ids_valid(id));
}

static void person_create(struct fx *f, char id[IDS_LEN + 1])
{
    struct id_person_new p = {
        "会津", "一郎", "アイヅ", "イチロウ", "1970-01-31",           ID_SEX_MALE,
        "湊",   {0},    NULL,     NULL,       ID_ASSURANCE_IN_PERSON, NULL};
    struct err e = {0};
    assert_int_equal(id_person_create(f->s, &p, id, &e), 0);
}

static void create_and_get_round_trip(void **state)
{
    struct fx *f = *state;
    struct id_org_new in = clinic();
    char id[IDS_LEN + 1];
    int64_t before = clock_now_ms();
    org_create(f, &in, id);
    struct id_org o;
    struct err e = {0};
    assert_int_equal(id_org_get(f->s, id, &o, f->a, &e), 0);
    assert_string_equal(o.id, id);
    assert_int_equal(o.kind, ID_ORG_CLINIC);
    assert_string_equal(o.name_ja, "湊ファミリークリニック");
    assert_string_equal(o.name_en, "Minato Family Clinic");
    assert_string_equal(o.district, "湊");
    assert_string_equal(o.address, "会津若松市湊町大字共和字西田面 1-2");
    assert_true(o.coords.set);
    assert_int_equal(o.coords.lat_e6, 37475100);
    assert_int_equal(o.coords.lon_e6, 140010200);
    assert_true(o.created_ms >= before);

    struct id_org_new bare = {ID_ORG_CITY_OFFICE, "会津若松市役所", NULL, "栄町", "", {0}};
    org_create(f, &bare, id);
    assert_int_equal(id_org_get(f->s, id, &o, f->a, &e), 0);
    assert_int_equal(o.kind, ID_ORG_CITY_OFFICE);
    assert_null(o.name_en);
    assert_null(o.address);
    assert_false(o.coords.set);

    ids_new(id);
    assert_int_equal(id_org_get(f->s, id, &o, f->a, &e), ERR_NOTFOUND);
    assert_int_equal(id_org_get(f->s, "x", &o, f->a, &e), ERR_INVALID);
}

static void every_kind_and_role_has_a_name(void **state)
{
    (void)state;
    static const char *const kinds[] = {"clinic", "hospital",     "pharmacy",    "care_home",
                                        "school", "taxi_company", "city_office", "research_body"};
    static const char *const roles[] = {"doctor",     "nurse", "pharmacist",         "care_worker",
                                        "dispatcher", "clerk", "city_administrator", "auditor"};
    for (int i = 0; i < 8; i++) {
        enum id_org_kind k;
        enum id_role_kind r;
        assert_int_equal(id_org_kind_parse(kinds[i], &k), 0);
        assert_int_equal((int)k, i);
        assert_string_equal(id_org_kind_name(k), kinds[i]);
        assert_int_equal(id_role_parse(roles[i], &r), 0);
        assert_int_equal((int)r, i);
        assert_string_equal(id_role_name(r), roles[i]);
    }
    enum id_org_kind k;
    enum id_role_kind r;
    assert_int_equal(id_org_kind_parse("bank", &k), ERR_INVALID);
    assert_int_equal(id_org_kind_parse("Clinic", &k), ERR_INVALID);
    assert_int_equal(id_org_kind_parse(NULL, &k), ERR_INVALID);
    assert_int_equal(id_role_parse("surgeon", &r), ERR_INVALID);
    assert_string_equal(id_org_kind_name((enum id_org_kind)99), "?");
}

static void every_invalid_field_is_refused_and_nothing_stored(void **state)
{
    struct fx *f = *state;
    char long_name[ID_ORG_NAME_MAX * 3 + 4] = "";
    for (int i = 0; i <= ID_ORG_NAME_MAX; i++)
        memcpy(long_name + i * 3, "院", 4); /* 201 characters */
    struct {
        const char *field;
        struct id_org_new o;
    } cases[] = {
        {"kind:", clinic()},    {"name_ja:", clinic()}, {"name_ja:", clinic()},
        {"name_ja:", clinic()}, {"name_en:", clinic()}, {"district:", clinic()},
        {"address:", clinic()}, {"lat:", clinic()},     {"lon:", clinic()},
        {"name_ja:", clinic()},
    };
    cases[0].o.kind = (enum id_org_kind)8;
    cases[1].o.name_ja = "";
    cases[2].o.name_ja = long_name;
    cases[3].o.name_ja = "湊\tクリニック";
    cases[4].o.name_en = "Minato Clinic ";
    cases[5].o.district = NULL;
    cases[6].o.address = "\x80\x80";
    cases[7].o.coords.lat_e6 = -90000001;
    cases[8].o.coords.lon_e6 = 180000001;
    cases[9].o.name_ja = NULL;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[IDS_LEN + 1] = "";
        struct err e = {0};
        int rc = id_org_create(f->s, &cases[i].o, id, &e);
        if (rc != ERR_INVALID || strncmp(e.msg, cases[i].field, strlen(cases[i].field)) != 0)
            fail_msg("case %zu (%s): rc %d, \"%s\"", i, cases[i].field, rc, e.msg);
        assert_string_equal(id, "");
    }
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM organisation"), 0);
}

static void roles_link_people_to_organisations(void **state)
{
    struct fx *f = *state;
    char doctor[IDS_LEN + 1], clinic_id[IDS_LEN + 1], office[IDS_LEN + 1], role[IDS_LEN + 1];
    person_create(f, doctor);
    struct id_org_new in = clinic();
    org_create(f, &in, clinic_id);
    in.kind = ID_ORG_CITY_OFFICE, in.name_ja = "会津若松市役所";
    org_create(f, &in, office);
    struct err e = {0};
    assert_int_equal(id_role_add(f->s, doctor, clinic_id, ID_ROLE_DOCTOR, role, &e), 0);
    assert_true(ids_valid(role));
    char role2[IDS_LEN + 1];
    assert_int_equal(id_role_add(f->s, doctor, office, ID_ROLE_AUDITOR, role2, &e), 0);
    assert_int_equal(id_role_add(f->s, doctor, clinic_id, ID_ROLE_CLERK, role2, &e), 0);

    /* the same role twice is a conflict; nothing is added */
    assert_int_equal(id_role_add(f->s, doctor, clinic_id, ID_ROLE_DOCTOR, role2, &e), ERR_CONFLICT);
    assert_string_equal(e.msg, "role: the person already holds it in this organisation");
    char ghost[IDS_LEN + 1];
    ids_new(ghost);
    assert_int_equal(id_role_add(f->s, ghost, clinic_id, ID_ROLE_NURSE, role2, &e), ERR_NOTFOUND);
    assert_string_equal(e.msg, "person_id: no such person");
    assert_int_equal(id_role_add(f->s, doctor, ghost, ID_ROLE_NURSE, role2, &e), ERR_NOTFOUND);
    assert_string_equal(e.msg, "org_id: no such organisation");
    assert_int_equal(id_role_add(f->s, "nope", clinic_id, ID_ROLE_NURSE, role2, &e), ERR_INVALID);
    assert_int_equal(id_role_add(f->s, doctor, NULL, ID_ROLE_NURSE, role2, &e), ERR_INVALID);
    assert_int_equal(id_role_add(f->s, doctor, clinic_id, (enum id_role_kind)8, role2, &e),
                     ERR_INVALID);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM practitioner_role"), 3);

    struct id_role *roles = NULL;
    size_t n = 0;
    assert_int_equal(id_role_list_for_person(f->s, doctor, f->a, &roles, &n, &e), 0);
    assert_int_equal(n, 3);
    int doctors = 0;
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(roles[i].person_id, doctor);
        assert_true(roles[i].active);
        assert_true(i == 0 || roles[i - 1].created_ms <= roles[i].created_ms);
        if (strcmp(roles[i].id, role) == 0) {
            assert_string_equal(roles[i].org_id, clinic_id);
            assert_int_equal(roles[i].role, ID_ROLE_DOCTOR);
            doctors++;
        }
    }
    assert_int_equal(doctors, 1);
    int auditor = 0, clerk = 0;
    for (size_t i = 0; i < n; i++) {
        auditor += roles[i].role == ID_ROLE_AUDITOR && strcmp(roles[i].org_id, office) == 0;
        clerk += roles[i].role == ID_ROLE_CLERK && strcmp(roles[i].org_id, clinic_id) == 0;
    }
    assert_int_equal(auditor, 1);
    assert_int_equal(clerk, 1);
    assert_int_equal(id_role_list_for_person(f->s, ghost, f->a, &roles, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_null(roles);
    assert_int_equal(id_role_list_for_person(f->s, "??", f->a, &roles, &n, &e), ERR_INVALID);
}

/* id_role_prepare / id_role_insert_fn: the role in a caller's write, rolled back with it */
static int role_then_fail(struct store_tx *tx, void *ctx, struct err *e)
{
    int rc = id_role_insert_fn(tx, ctx, e);
    return rc != 0 ? rc : err_set(e, ERR_UNAVAILABLE, "the caller's part failed");
}

static void role_prepare_and_insert(void **state)
{
    struct fx *f = *state;
    char nurse[IDS_LEN + 1], clinic_id[IDS_LEN + 1];
    person_create(f, nurse);
    struct id_org_new in = clinic();
    org_create(f, &in, clinic_id);
    struct id_role_write w;
    struct err e = {0};
    assert_int_equal(id_role_prepare(&w, nurse, clinic_id, ID_ROLE_NURSE, 1234, &e), 0);
    assert_true(ids_valid(w.id));
    assert_string_equal(w.role, "nurse");
    assert_int_equal(store_write(f->s, role_then_fail, &w, &e), ERR_UNAVAILABLE);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM practitioner_role"), 0);
    assert_int_equal(store_write(f->s, id_role_insert_fn, &w, &e), 0);
    struct id_role *roles = NULL;
    size_t n = 0;
    assert_int_equal(id_role_list_for_person(f->s, nurse, f->a, &roles, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(roles[0].id, w.id);
    assert_int_equal(roles[0].created_ms, 1234);
    /* the same role again: refused inside the write */
    assert_int_equal(id_role_prepare(&w, nurse, clinic_id, ID_ROLE_NURSE, 1235, &e), 0);
    assert_int_equal(store_write(f->s, id_role_insert_fn, &w, &e), ERR_CONFLICT);
    assert_int_equal(id_role_prepare(&w, nurse, "x", ID_ROLE_NURSE, 1235, &e), ERR_INVALID);
    assert_string_equal(e.msg, "org_id: not a well-formed organisation id");
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM practitioner_role"), 1);
}

int main(void)
{
    log_set_level(LOGL_WARN);
    if (ids_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_and_get_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test(every_kind_and_role_has_a_name),
        cmocka_unit_test_setup_teardown(every_invalid_field_is_refused_and_nothing_stored, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(roles_link_people_to_organisations, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(role_prepare_and_insert, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
