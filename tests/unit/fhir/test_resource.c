/* test_resource.c - FHIR resources in a real store: the one write (resource row, version, index
 * rows and the owner's audit entry, all or nothing), If-Match, owners that cannot move,
 * logical deletion, vread and history paging; and the owner table (owner.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "fhir/owner.h"
#include "fhir/resource.h"
#include "support/fixture.h"

#define TARO "000000000000000000000000t0"
#define HANA "000000000000000000000000h0"

static json_t *obs(const char *patient, const char *status)
{
    char ref[64];
    snprintf(ref, sizeof ref, "Patient/%s", patient);
    return json_pack("{s:s, s:s, s:[{s:[{s:s, s:s}]}], s:{s:[{s:s, s:s}]}, s:{s:s}, s:s}",
                     "resourceType", "Observation", "status", status, "category", "coding",
                     "system", "http://terminology.hl7.org/CodeSystem/observation-category", "code",
                     "vital-signs", "code", "coding", "system", "http://loinc.org", "code",
                     "85354-9", "subject", "reference", ref, "effectiveDateTime",
                     "2026-11-20T07:30:00+09:00");
}

static int write(struct fx *f, struct fhir_write *w, struct err *e)
{
    return store_write(f->s, fhir_resource_write_fn, w, e);
}

static void arm(struct fhir_write *w, enum fhir_write_op op, const char *id, json_t *res,
                const char *subject)
{
    memset(w, 0, sizeof *w);
    w->op = op;
    w->rtype = "Observation";
    snprintf(w->id, sizeof w->id, "%s", id);
    w->resource = res;
    w->subject = subject;
    w->category = "vitals";
    w->record_audit = 1;
    w->now_ms = 1764000000000;
    w->ev.actor_kind = AUDIT_ACTOR_PERSON;
    w->ev.actor_id = TARO;
    w->ev.action = op == FHIR_WRITE_CREATE   ? "create"
                   : op == FHIR_WRITE_UPDATE ? "update"
                                             : "delete";
    w->ev.decision = AUDIT_PERMIT;
    w->ev.decided_by = "rule:self";
}

static void write_commits_row_version_index_and_audit(void **state)
{
    struct fx *f = *state;
    json_t *r = obs(TARO, "final");
    struct fhir_write w;
    arm(&w, FHIR_WRITE_CREATE, "obs-1", r, TARO);
    struct err e = {0};
    assert_int_equal(write(f, &w, &e), 0);
    assert_int_equal(w.version, 1);
    assert_non_null(strstr(w.body, "\"versionId\":\"1\""));
    assert_non_null(strstr(w.body, "\"id\":\"obs-1\""));
    fhir_write_release(&w);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_resource"), 1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_version"), 1);
    assert_true(fx_count(f, "SELECT COUNT(*) FROM fhir_ix_token WHERE id = 'obs-1' AND "
                            "code = '85354-9'") >= 1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry WHERE subject = '" TARO "'"), 1);

    /* the same id again is a conflict, and nothing more is stored */
    arm(&w, FHIR_WRITE_CREATE, "obs-1", r, TARO);
    assert_int_equal(write(f, &w, &e), ERR_CONFLICT);
    fhir_write_release(&w);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry"), 1);

    struct fhir_record rec;
    assert_int_equal(fhir_resource_read(f->s, "Observation", "obs-1", &rec, f->a, &e), 0);
    assert_int_equal(rec.version, 1);
    assert_string_equal(rec.subject, TARO);
    assert_string_equal(rec.category, "vitals");
    assert_int_equal(fhir_resource_read(f->s, "Observation", "obs-2", &rec, f->a, &e),
                     ERR_NOTFOUND);
    json_decref(r);
}

static void updates_check_the_version_and_the_owner(void **state)
{
    struct fx *f = *state;
    json_t *r = obs(TARO, "final");
    struct fhir_write w;
    struct err e = {0};
    arm(&w, FHIR_WRITE_CREATE, "obs-1", r, TARO);
    assert_int_equal(write(f, &w, &e), 0);
    fhir_write_release(&w);

    json_t *u = obs(TARO, "amended");
    arm(&w, FHIR_WRITE_UPDATE, "obs-1", u, TARO);
    w.if_match = 7;
    assert_int_equal(write(f, &w, &e), ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "version"));
    assert_int_equal(w.current_version, 1);
    fhir_write_release(&w);
    arm(&w, FHIR_WRITE_UPDATE, "obs-1", u, TARO);
    w.if_match = 1;
    assert_int_equal(write(f, &w, &e), 0);
    assert_int_equal(w.version, 2);
    fhir_write_release(&w);

    /* moving it to another citizen is refused, and changes nothing */
    json_t *h = obs(HANA, "final");
    arm(&w, FHIR_WRITE_UPDATE, "obs-1", h, HANA);
    assert_int_equal(write(f, &w, &e), ERR_INVALID);
    fhir_write_release(&w);
    struct fhir_record rec;
    assert_int_equal(fhir_resource_read(f->s, "Observation", "obs-1", &rec, f->a, &e), 0);
    assert_int_equal(rec.version, 2);
    assert_string_equal(rec.subject, TARO);

    /* update of a missing one: refused, or created when asked */
    arm(&w, FHIR_WRITE_UPDATE, "obs-9", u, TARO);
    assert_int_equal(write(f, &w, &e), ERR_NOTFOUND);
    fhir_write_release(&w);
    arm(&w, FHIR_WRITE_UPDATE, "obs-9", u, TARO);
    w.create_missing = 1;
    assert_int_equal(write(f, &w, &e), 0);
    assert_true(w.created);
    assert_int_equal(w.version, 1);
    fhir_write_release(&w);
    json_decref(h);
    json_decref(u);
    json_decref(r);
}

static size_t rows;
static int count_row(const struct fhir_record *r, void *ctx)
{
    (void)r;
    (void)ctx;
    rows++;
    return 0;
}

static void delete_is_logical_and_history_keeps_it(void **state)
{
    struct fx *f = *state;
    json_t *r = obs(TARO, "final");
    struct fhir_write w;
    struct err e = {0};
    arm(&w, FHIR_WRITE_CREATE, "obs-1", r, TARO);
    assert_int_equal(write(f, &w, &e), 0);
    fhir_write_release(&w);
    arm(&w, FHIR_WRITE_DELETE, "obs-1", NULL, NULL);
    assert_int_equal(write(f, &w, &e), 0);
    assert_int_equal(w.version, 2);
    assert_string_equal(w.subject, TARO); /* the stored owner's trail */
    fhir_write_release(&w);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_ix_token WHERE id = 'obs-1'"), 0);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry WHERE subject = '" TARO "'"), 2);
    /* deleting again changes nothing */
    arm(&w, FHIR_WRITE_DELETE, "obs-1", NULL, NULL);
    assert_int_equal(write(f, &w, &e), 0);
    assert_true(w.unchanged);
    fhir_write_release(&w);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_version"), 2);

    struct fhir_record rec;
    assert_int_equal(fhir_resource_read(f->s, "Observation", "obs-1", &rec, f->a, &e), 0);
    assert_true(rec.deleted);
    assert_null(rec.body);
    assert_int_equal(fhir_resource_vread(f->s, "Observation", "obs-1", 1, &rec, f->a, &e), 0);
    assert_false(rec.deleted);
    assert_non_null(strstr(rec.body, "\"final\""));
    assert_int_equal(fhir_resource_vread(f->s, "Observation", "obs-1", 2, &rec, f->a, &e), 0);
    assert_true(rec.deleted);
    assert_string_equal(rec.method, "delete");
    rows = 0;
    struct fhir_history_q q = {.rtype = "Observation", .id = "obs-1", .limit = 10};
    assert_int_equal(fhir_resource_history(f->s, &q, count_row, NULL, f->a, &e), 0);
    assert_int_equal(rows, 2);
    json_decref(r);
}

/* The body is stored once (migration 18): the current version's in fhir_resource, a superseded
 * version's in its fhir_version row; vread and history answer every version alike. */
struct bodies {
    size_t n;
    char seen[8][64];
};

static int body_row(const struct fhir_record *r, void *ctx)
{
    struct bodies *b = ctx;
    const char *st = r->body != NULL ? strstr(r->body, "\"status\":\"") : NULL;
    if (b->n < 8)
        snprintf(b->seen[b->n++], 64, "%lld:%s:%.*s", (long long)r->version,
                 r->method != NULL ? r->method : "?", st != NULL ? 12 : 4,
                 st != NULL ? st + 10 : "none");
    return 0;
}

static void body_stored_once_history_unchanged(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    struct fhir_write w;
    static const char *const status[] = {"preliminary", "final", "amended"};
    for (int i = 0; i < 3; i++) {
        json_t *r = obs(TARO, status[i]);
        arm(&w, i == 0 ? FHIR_WRITE_CREATE : FHIR_WRITE_UPDATE, "obs-1", r, TARO);
        w.now_ms += i;
        assert_int_equal(write(f, &w, &e), 0);
        assert_int_equal(w.version, i + 1);
        fhir_write_release(&w);
        json_decref(r);
        /* only superseded versions keep a body of their own */
        assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_version WHERE body IS NOT NULL"),
                         i);
        assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_version WHERE body IS NULL"), 1);
    }
    arm(&w, FHIR_WRITE_DELETE, "obs-1", NULL, NULL);
    w.now_ms += 3;
    assert_int_equal(write(f, &w, &e), 0);
    fhir_write_release(&w);
    json_t *r = obs(TARO, "corrected");
    arm(&w, FHIR_WRITE_UPDATE, "obs-1", r, TARO);
    w.now_ms += 4;
    w.create_missing = 1;
    assert_int_equal(write(f, &w, &e), 0);
    assert_int_equal(w.version, 5);
    fhir_write_release(&w);
    json_decref(r);
    /* 1-3 superseded with bodies, 4 a delete, 5 current (its body is the resource row's) */
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_version WHERE body IS NOT NULL"), 3);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_version WHERE version = 5 AND "
                                 "body IS NULL"),
                     1);

    struct fhir_record rec;
    for (int v = 1; v <= 5; v++) {
        assert_int_equal(fhir_resource_vread(f->s, "Observation", "obs-1", v, &rec, f->a, &e), 0);
        assert_int_equal(rec.version, v);
        if (v == 4) {
            assert_true(rec.deleted);
            assert_null(rec.body);
            continue;
        }
        char want[48];
        snprintf(want, sizeof want, "\"versionId\":\"%d\"", v);
        assert_non_null(strstr(rec.body, want));
        assert_non_null(strstr(rec.body, v == 5 ? "\"corrected\"" : status[v - 1]));
    }
    assert_int_equal(fhir_resource_read(f->s, "Observation", "obs-1", &rec, f->a, &e), 0);
    assert_non_null(strstr(rec.body, "\"versionId\":\"5\""));
    struct bodies b = {0};
    struct fhir_history_q q = {.rtype = "Observation", .id = "obs-1", .limit = 10};
    assert_int_equal(fhir_resource_history(f->s, &q, body_row, &b, f->a, &e), 0);
    assert_int_equal(b.n, 5);
    assert_string_equal(b.seen[0], "5:update:corrected\",\"");
    assert_string_equal(b.seen[1], "4:delete:none");
    assert_string_equal(b.seen[2], "3:update:amended\",\"ca");
    assert_string_equal(b.seen[4], "1:create:preliminary\"");
    struct bodies t = {0};
    struct fhir_history_q tq = {.rtype = "Observation", .limit = 10};
    assert_int_equal(fhir_resource_history(f->s, &tq, body_row, &t, f->a, &e), 0);
    assert_int_equal(t.n, 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(t.seen[i], b.seen[i]);
}

/* type history pages by (updated_ms, id, version) without losing or repeating a version */
struct page {
    int64_t ms, version;
    char id[FHIR_ID_MAX + 1];
    size_t n;
    char seen[64][16];
};

static int page_row(const struct fhir_record *r, void *ctx)
{
    struct page *p = ctx;
    p->ms = r->updated_ms;
    p->version = r->version;
    snprintf(p->id, sizeof p->id, "%s", r->id);
    snprintf(p->seen[p->n++], 16, "%s/%lld", r->id, (long long)r->version);
    return 0;
}

static void type_history_pages(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    for (int i = 0; i < 7; i++) {
        char id[16];
        snprintf(id, sizeof id, "o%d", i % 3);
        json_t *r = obs(TARO, "final");
        struct fhir_write w;
        arm(&w, i < 3 ? FHIR_WRITE_CREATE : FHIR_WRITE_UPDATE, id, r, TARO);
        w.now_ms = 1764000000000 + (i / 2); /* ties in time */
        assert_int_equal(write(f, &w, &e), 0);
        fhir_write_release(&w);
        json_decref(r);
    }
    struct page p = {0};
    struct fhir_history_q q = {.rtype = "Observation", .limit = 2};
    for (int guard = 0; guard < 10; guard++) {
        size_t before = p.n;
        assert_int_equal(fhir_resource_history(f->s, &q, page_row, &p, f->a, &e), 0);
        if (p.n == before)
            break;
        q.before_ms = p.ms;
        q.before_version = p.version;
        q.before_id = arena_strdup(f->a, p.id);
    }
    assert_int_equal(p.n, 7);
    for (size_t i = 0; i < p.n; i++)
        for (size_t k = i + 1; k < p.n; k++)
            assert_string_not_equal(p.seen[i], p.seen[k]);
}

static void owners_of_each_kind(void **state)
{
    (void)state;
    const char *who = NULL;
    struct err e = {0};
    json_t *o = obs(TARO, "final");
    assert_int_equal(fhir_owner_of("Observation", o, &who, &e), 0);
    assert_string_equal(who, TARO);
    json_object_set_new(o, "subject", json_pack("{s:s}", "reference", "Group/1"));
    assert_int_equal(fhir_owner_of("Observation", o, &who, &e), ERR_INVALID);
    json_object_del(o, "subject");
    assert_int_equal(fhir_owner_of("Observation", o, &who, &e), ERR_INVALID);
    json_decref(o);

    json_t *p = json_pack("{s:s, s:s}", "resourceType", "Patient", "id", TARO);
    assert_int_equal(fhir_owner_of("Patient", p, &who, &e), 0);
    assert_string_equal(who, TARO);
    json_object_set_new(p, "id", json_string("x"));
    assert_int_equal(fhir_owner_of("Patient", p, &who, &e), ERR_INVALID);
    json_decref(p);

    json_t *org = json_pack("{s:s}", "resourceType", "Organization");
    assert_int_equal(fhir_owner_of("Organization", org, &who, &e), 0);
    assert_null(who);
    json_decref(org);
    json_t *dev = json_pack("{s:s}", "resourceType", "Device");
    assert_int_equal(fhir_owner_of("Device", dev, &who, &e), 0);
    assert_null(who);
    json_object_set_new(dev, "patient", json_pack("{s:s}", "reference", "Patient/" TARO));
    assert_int_equal(fhir_owner_of("Device", dev, &who, &e), 0);
    assert_string_equal(who, TARO);
    json_decref(dev);

    /* an Appointment: exactly one Patient among the participants */
    json_t *ap =
        json_pack("{s:s, s:[{s:{s:s}}, {s:{s:s}}]}", "resourceType", "Appointment", "participant",
                  "actor", "reference", "Practitioner/dr", "actor", "reference", "Patient/" TARO);
    assert_int_equal(fhir_owner_of("Appointment", ap, &who, &e), 0);
    assert_string_equal(who, TARO);
    json_array_append_new(json_object_get(ap, "participant"),
                          json_pack("{s:{s:s}}", "actor", "reference", "Patient/" HANA));
    assert_int_equal(fhir_owner_of("Appointment", ap, &who, &e), ERR_INVALID);
    json_decref(ap);

    assert_int_equal(fhir_owner_kind("Spaceship", NULL), FHIR_NOT_SERVED);
    assert_int_equal(fhir_owner_kind("Consent", NULL), FHIR_NOT_SERVED);
    size_t n = 0;
    for (const char *const *t = fhir_owner_types(); *t != NULL; t++, n++)
        assert_int_not_equal(fhir_owner_kind(*t, NULL), FHIR_NOT_SERVED);
    assert_int_equal(n, 26);
}

static void ids(void **state)
{
    (void)state;
    assert_true(fhir_id_valid("a"));
    assert_true(fhir_id_valid("A-1.b"));
    assert_false(fhir_id_valid(""));
    assert_false(fhir_id_valid(NULL));
    assert_false(fhir_id_valid("a/b"));
    assert_false(fhir_id_valid("a b"));
    char long_id[70];
    memset(long_id, 'x', 65);
    long_id[65] = '\0';
    assert_false(fhir_id_valid(long_id));
    long_id[64] = '\0';
    assert_true(fhir_id_valid(long_id));
}

static int setup(void **state)
{
    return sodium_init() < 0 ? -1 : fx_setup_in(state, "fhir-resource");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(write_commits_row_version_index_and_audit, setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(updates_check_the_version_and_the_owner, setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(delete_is_logical_and_history_keeps_it, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(type_history_pages, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(body_stored_once_history_unchanged, setup, fx_teardown),
        cmocka_unit_test(owners_of_each_kind),
        cmocka_unit_test(ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
