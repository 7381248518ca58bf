/* seed_audit.c - test setup for test_access_log.c, run on a demo town's data folder before the
 * server starts: an auditor at the city office, a family link with the right to see the record,
 * a staff client with user/ scopes, and a known audit trail for 会津 太郎 written with
 * audit_append (the writers of the product record through the same call). Prints key=value
 * lines. Usage: api_seed_audit <data-dir> (CITYOS_DATABASE_URL: that database instead of the
 * folder's SQLite file). Test code, not part of cityos. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "base/arena.h"
#include "identity/client.h"
#include "identity/org.h"
#include "identity/person.h"
#include "store/store.h"

#define AUDITOR_EMAIL "kansa@city-office.example.jp"
#define AUDITOR_PASS  "Kansa-Tsuruga-4Xp8-Lm2q"
#define T0            1767225600000LL /* 2026-01-01T00:00:00Z */
#define HOUR          3600000LL

static struct store *s;
static struct arena *a;

static void die(const char *what, const struct err *e)
{
    fprintf(stderr, "seed_audit: %s: %s\n", what, e->msg);
    exit(1);
}

static const char *person(const char *email)
{
    struct id_person p;
    struct err e = {0};
    if (id_person_find_by_email(s, email, &p, a, &e) != 0)
        die(email, &e);
    return arena_strdup(a, p.id);
}

static const char *org_of(const char *person_id)
{
    struct id_role *roles;
    size_t n;
    struct err e = {0};
    if (id_role_list_for_person(s, person_id, a, &roles, &n, &e) != 0 || n == 0)
        die("roles", &e);
    return arena_strdup(a, roles[0].org_id);
}

static void append(const struct audit_event *ev)
{
    struct err e = {0};
    if (store_write(s, audit_record_fn, (void *)ev, &e) != 0)
        die("audit append", &e);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <data-dir>\n", argv[0]);
        return 2;
    }
    struct err e = {0};
    /* a PostgreSQL run (suite pg): the harness exports the folder's database */
    const char *url = getenv("CITYOS_DATABASE_URL");
    struct store_options opt = {.data_dir = argv[1], .database_url = url};
    if (store_open(&s, &opt, &e) != 0)
        die("open", &e);
    a = arena_new(0);
    const char *taro = person("taro.aizu@example.jp");
    const char *hanako = person("hanako.aizu@example.jp");
    const char *misaki = person("misaki.sato@example.jp");
    const char *doctor = person("dr.yamaguchi@minato-clinic.example.jp");
    const char *pharmacist = person("hoshi@minato-pharmacy.example.jp");
    const char *clinic = org_of(doctor);
    const char *pharmacy = org_of(pharmacist);
    const char *office = org_of(person("saito@city-office.example.jp"));

    /* the auditor of the city office */
    char auditor[IDS_LEN + 1], role_id[IDS_LEN + 1];
    struct id_person_new pn = {
        "監査", "一郎", "カンサ", "イチロウ",    "1980-04-01",      ID_SEX_MALE,
        "中央", {0},    NULL,     AUDITOR_EMAIL, ID_ASSURANCE_CARD, AUDITOR_PASS};
    if (id_person_create(s, &pn, auditor, &e) != 0 ||
        id_role_add(s, auditor, office, ID_ROLE_AUDITOR, role_id, &e) != 0)
        die("auditor", &e);
    /* 花子 may see her husband's record */
    struct id_family_link_new link = {taro, hanako, ID_RIGHT_SEE_RECORD, ID_LINK_FAMILY, 0, 0};
    char link_id[IDS_LEN + 1];
    if (id_family_link_add(s, &link, link_id, &e) != 0)
        die("link", &e);
    /* a staff app for practitioners */
    static const char *const staff_uris[] = {"http://127.0.0.1:8765/staff"};
    struct id_client_new staff = {"窓口アプリ (staff desk)",
                                  ID_CLIENT_PUBLIC,
                                  staff_uris,
                                  1,
                                  "openid fhirUser user/*.rs",
                                  ID_GRANT_AUTHORIZATION_CODE,
                                  NULL};
    char staff_id[IDS_LEN + 1], secret[ID_CLIENT_SECRET_LEN + 1];
    if (id_client_create(s, &staff, staff_id, secret, &e) != 0)
        die("client", &e);

    /* 会津 太郎's trail: 3 clinic reads of vitals, 2 pharmacy reads of medications (the second
     * refused), a refused read by his daughter, a read of his own; one hour apart */
    struct audit_event doc = {.actor_kind = AUDIT_ACTOR_PRACTITIONER,
                              .actor_id = doctor,
                              .actor_org = clinic,
                              .actor_role = "doctor",
                              .client_id = staff_id,
                              .subject = taro,
                              .action = "read",
                              .resource_type = "Observation",
                              .category = "vitals",
                              .purpose = "homedoctor@1",
                              .decision = AUDIT_PERMIT,
                              .decided_by = "consent-1",
                              .request_id = "seed-doctor",
                              .source_addr = "192.0.2.10"};
    static const char *const obs[] = {"obs-1", "obs-2", "obs-3"};
    for (int i = 0; i < 3; i++) {
        doc.time_ms = T0 + i * HOUR;
        doc.resource_id = obs[i];
        append(&doc);
    }
    struct audit_event ph = doc;
    ph.actor_id = pharmacist;
    ph.actor_org = pharmacy;
    ph.actor_role = "pharmacist";
    ph.resource_type = "MedicationRequest";
    ph.resource_id = "mr-1";
    ph.category = "medications";
    ph.purpose = "dispensing@1";
    ph.request_id = "seed-pharmacy";
    ph.time_ms = T0 + 3 * HOUR;
    append(&ph);
    ph.time_ms = T0 + 4 * HOUR;
    ph.decision = AUDIT_DENY;
    ph.decided_by = "rule:default-deny";
    ph.reason = "no consent covers this pharmacy";
    append(&ph);
    struct audit_event fam = {.time_ms = T0 + 5 * HOUR,
                              .actor_kind = AUDIT_ACTOR_DELEGATE,
                              .actor_id = misaki,
                              .on_behalf_of = taro,
                              .subject = taro,
                              .action = "read",
                              .resource_type = "Observation",
                              .category = "vitals",
                              .decision = AUDIT_DENY,
                              .decided_by = "rule:delegate",
                              .reason = "the link does not give see_record"};
    append(&fam);
    struct audit_event self = {.time_ms = T0 + 6 * HOUR,
                               .actor_kind = AUDIT_ACTOR_PERSON,
                               .actor_id = taro,
                               .subject = taro,
                               .action = "read",
                               .resource_type = "Observation",
                               .category = "vitals",
                               .decision = AUDIT_PERMIT,
                               .decided_by = "rule:self"};
    append(&self);

    printf("taro=%s\nhanako=%s\nmisaki=%s\ndoctor=%s\npharmacist=%s\nclinic=%s\n"
           "pharmacy=%s\noffice=%s\nauditor=%s\nstaff_client=%s\n",
           taro, hanako, misaki, doctor, pharmacist, clinic, pharmacy, office, auditor, staff_id);
    arena_free(a);
    store_close(s);
    return 0;
}
