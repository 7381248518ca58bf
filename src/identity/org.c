/* org.c - organisations and practitioner roles in the store: validation before the write, the
 * writes through the group-commit writer, and the reads. */
#include "identity/org.h"

#include <string.h>

#include "base/clock.h"

static const char *const kind_names[] = {"clinic", "hospital",     "pharmacy",    "care_home",
                                         "school", "taxi_company", "city_office", "research_body"};
static const char *const role_names[] = {"doctor",     "nurse", "pharmacist",         "care_worker",
                                         "dispatcher", "clerk", "city_administrator", "auditor"};
#define NKINDS (sizeof kind_names / sizeof kind_names[0])
#define NROLES (sizeof role_names / sizeof role_names[0])

static int name_index(const char *const *names, size_t n, const char *text)
{
    for (size_t i = 0; text != NULL && i < n; i++)
        if (strcmp(names[i], text) == 0)
            return (int)i;
    return -1;
}

const char *id_org_kind_name(enum id_org_kind v)
{
    return (unsigned)v < NKINDS ? kind_names[v] : "?";
}

int id_org_kind_parse(const char *text, enum id_org_kind *out)
{
    int i = name_index(kind_names, NKINDS, text);
    if (i < 0)
        return ERR_INVALID;
    *out = (enum id_org_kind)i;
    return 0;
}

const char *id_role_name(enum id_role_kind v)
{
    return (unsigned)v < NROLES ? role_names[v] : "?";
}

int id_role_parse(const char *text, enum id_role_kind *out)
{
    int i = name_index(role_names, NROLES, text);
    if (i < 0)
        return ERR_INVALID;
    *out = (enum id_role_kind)i;
    return 0;
}

static int empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* ---- organisations ---- */

static const char SQL_ORG_INSERT[] =
    "INSERT INTO organisation (id, kind, name_ja, name_en, district, address, lat_e6, lon_e6, "
    "created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_ORG_GET[] = "SELECT id, kind, name_ja, name_en, district, address, lat_e6, "
                                  "lon_e6, created_ms FROM organisation WHERE id = ?";

struct org_write {
    const struct id_org_new *in;
    char id[IDS_LEN + 1];
    int64_t now;
};

static int write_org(struct store_tx *tx, void *ctx, struct err *e)
{
    struct org_write *w = ctx;
    const struct id_org_new *in = w->in;
    struct store_value v[] = {
        STORE_TEXT_V(w->id),
        STORE_TEXT_V(kind_names[in->kind]),
        STORE_TEXT_V(in->name_ja),
        empty(in->name_en) ? STORE_NULL_V : STORE_TEXT_V(in->name_en),
        STORE_TEXT_V(in->district),
        empty(in->address) ? STORE_NULL_V : STORE_TEXT_V(in->address),
        in->coords.set ? STORE_INT_V(in->coords.lat_e6) : STORE_NULL_V,
        in->coords.set ? STORE_INT_V(in->coords.lon_e6) : STORE_NULL_V,
        STORE_INT_V(w->now),
    };
    int rc = store_tx_exec(tx, SQL_ORG_INSERT, v, sizeof v / sizeof v[0], e);
    return rc < 0 ? rc : 0;
}

int id_org_create(struct store *s, const struct id_org_new *in, char id_out[IDS_LEN + 1],
                  struct err *e)
{
    int rc;
    if ((unsigned)in->kind >= NKINDS)
        return err_set(e, ERR_INVALID,
                       "kind: must be one of clinic, hospital, pharmacy, "
                       "care_home, school, taxi_company, city_office, "
                       "research_body");
    if ((rc = id__check_text("name_ja", in->name_ja, 1, ID_ORG_NAME_MAX, e)) != 0 ||
        (!empty(in->name_en) &&
         (rc = id__check_text("name_en", in->name_en, 1, ID_ORG_NAME_MAX, e)) != 0) ||
        (rc = id__check_text("district", in->district, 1, ID_DISTRICT_MAX, e)) != 0 ||
        (!empty(in->address) &&
         (rc = id__check_text("address", in->address, 1, ID_ORG_ADDRESS_MAX, e)) != 0) ||
        (rc = id__check_coords(&in->coords, e)) != 0)
        return rc;
    struct org_write w = {.in = in, .now = clock_now_ms()};
    ids_new(w.id);
    rc = store_write(s, write_org, &w, e);
    if (rc == 0)
        memcpy(id_out, w.id, IDS_LEN + 1);
    return rc;
}

struct org_read {
    struct id_org *out;
    struct arena *a;
    int found, nomem, bad;
};

static int read_org(const struct store_row *row, void *ctx)
{
    struct org_read *r = ctx;
    struct id_org *o = r->out;
    size_t len = 0;
    const char *id = store_row_text(row, 0, &len);
    if (id == NULL || len != IDS_LEN || id_org_kind_parse(store_row_text(row, 1, NULL), &o->kind)) {
        r->bad = 1;
        return 1;
    }
    memcpy(o->id, id, IDS_LEN + 1);
    o->name_ja = id__row_text(row, 2, r->a, &r->nomem);
    o->name_en = id__row_text(row, 3, r->a, &r->nomem);
    o->district = id__row_text(row, 4, r->a, &r->nomem);
    o->address = id__row_text(row, 5, r->a, &r->nomem);
    o->coords.set = !store_row_is_null(row, 6) && !store_row_is_null(row, 7);
    o->coords.lat_e6 = o->coords.set ? store_row_int(row, 6) : 0;
    o->coords.lon_e6 = o->coords.set ? store_row_int(row, 7) : 0;
    o->created_ms = store_row_int(row, 8);
    r->found = 1;
    return 1;
}

int id_org_get(struct store *s, const char *id, struct id_org *out, struct arena *a, struct err *e)
{
    if (id == NULL || !ids_valid(id))
        return err_set(e, ERR_INVALID, "id: not a well-formed organisation id");
    struct org_read r = {.out = out, .a = a};
    struct store_value v[] = {STORE_TEXT_V(id)};
    memset(out, 0, sizeof *out);
    int rc = store_query(s, SQL_ORG_GET, v, 1, read_org, &r, e);
    if (rc != 0)
        return rc;
    if (r.bad)
        return err_set(e, ERR_INTERNAL, "organisation: a stored row is malformed");
    if (r.nomem)
        return err_set(e, ERR_NOMEM, "organisation: out of memory");
    if (!r.found)
        return err_set(e, ERR_NOTFOUND, "organisation: no such organisation");
    return 0;
}

/* ---- practitioner roles ---- */

_Static_assert(ID_LIST_MAX == 1000, "SQL_ROLE_LIST says LIMIT 1000");

static const char SQL_ROLE_INSERT[] =
    "INSERT INTO practitioner_role (id, person_id, org_id, role, active, created_ms) "
    "VALUES (?, ?, ?, ?, 1, ?)";
static const char SQL_ROLE_EXISTS[] =
    "SELECT 1 FROM practitioner_role WHERE person_id = ? AND org_id = ? AND role = ?";
static const char SQL_ROLE_LIST[] =
    "SELECT id, person_id, org_id, role, active, created_ms FROM practitioner_role "
    "WHERE person_id = ? ORDER BY created_ms, id LIMIT 1000";

static int found_row(const struct store_row *row, void *ctx)
{
    (void)row;
    *(int *)ctx = 1;
    return 1;
}

/* Does `sql` (one `?`: the key) find a row? 0 found, ERR_NOTFOUND naming field, or the error. */
static int must_exist(struct store_tx *tx, const char *sql, const char *key, const char *field,
                      struct err *e)
{
    int found = 0;
    struct store_value v[] = {STORE_TEXT_V(key)};
    int rc = store_tx_query(tx, sql, v, 1, found_row, &found, e);
    if (rc == 0 && !found)
        rc = err_set(e, ERR_NOTFOUND, "%s: no such %s", field,
                     field[0] == 'p' ? "person" : "organisation");
    return rc;
}

int id_role_insert_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct id_role_write *w = ctx;
    int rc = must_exist(tx, "SELECT 1 FROM person WHERE id = ?", w->person_id, "person_id", e);
    if (rc == 0)
        rc = must_exist(tx, "SELECT 1 FROM organisation WHERE id = ?", w->org_id, "org_id", e);
    if (rc != 0)
        return rc;
    int taken = 0;
    struct store_value q[] = {STORE_TEXT_V(w->person_id), STORE_TEXT_V(w->org_id),
                              STORE_TEXT_V(w->role)};
    if ((rc = store_tx_query(tx, SQL_ROLE_EXISTS, q, 3, found_row, &taken, e)) != 0)
        return rc;
    if (taken)
        return err_set(e, ERR_CONFLICT, "role: the person already holds it in this organisation");
    struct store_value v[] = {STORE_TEXT_V(w->id), STORE_TEXT_V(w->person_id),
                              STORE_TEXT_V(w->org_id), STORE_TEXT_V(w->role),
                              STORE_INT_V(w->now_ms)};
    rc = store_tx_exec(tx, SQL_ROLE_INSERT, v, sizeof v / sizeof v[0], e);
    return rc < 0 ? rc : 0;
}

int id_role_prepare(struct id_role_write *w, const char *person_id, const char *org_id,
                    enum id_role_kind role, int64_t now_ms, struct err *e)
{
    memset(w, 0, sizeof *w);
    if (person_id == NULL || !ids_valid(person_id))
        return err_set(e, ERR_INVALID, "person_id: not a well-formed regional ID");
    if (org_id == NULL || !ids_valid(org_id))
        return err_set(e, ERR_INVALID, "org_id: not a well-formed organisation id");
    if ((unsigned)role >= NROLES)
        return err_set(e, ERR_INVALID,
                       "role: must be one of doctor, nurse, pharmacist, "
                       "care_worker, dispatcher, clerk, city_administrator, "
                       "auditor");
    w->person_id = person_id;
    w->org_id = org_id;
    w->role = role_names[role];
    w->now_ms = now_ms;
    ids_new(w->id);
    return 0;
}

int id_role_add(struct store *s, const char *person_id, const char *org_id, enum id_role_kind role,
                char id_out[IDS_LEN + 1], struct err *e)
{
    struct id_role_write w;
    int rc = id_role_prepare(&w, person_id, org_id, role, clock_now_ms(), e);
    if (rc == 0)
        rc = store_write(s, id_role_insert_fn, &w, e);
    if (rc == 0)
        memcpy(id_out, w.id, IDS_LEN + 1);
    return rc;
}

struct role_list {
    struct arena *a;
    struct id_role *items;
    size_t n, cap;
    int nomem, bad;
};

static int read_role(const struct store_row *row, void *ctx)
{
    struct role_list *l = ctx;
    struct id_role *items = arena_array_reserve(l->a, l->items, l->n, &l->cap, sizeof *items);
    if (items == NULL) {
        l->nomem = 1;
        return 1;
    }
    l->items = items;
    struct id_role *r = &l->items[l->n];
    const char *id = store_row_text(row, 0, NULL), *person = store_row_text(row, 1, NULL),
               *org = store_row_text(row, 2, NULL);
    if (id == NULL || person == NULL || org == NULL || strlen(id) != IDS_LEN ||
        strlen(person) != IDS_LEN || strlen(org) != IDS_LEN ||
        id_role_parse(store_row_text(row, 3, NULL), &r->role) != 0) {
        l->bad = 1;
        return 1;
    }
    memcpy(r->id, id, IDS_LEN + 1);
    memcpy(r->person_id, person, IDS_LEN + 1);
    memcpy(r->org_id, org, IDS_LEN + 1);
    r->active = store_row_int(row, 4) != 0;
    r->created_ms = store_row_int(row, 5);
    l->n++;
    return 0;
}

int id_role_list_for_person(struct store *s, const char *person_id, struct arena *a,
                            struct id_role **out, size_t *n, struct err *e)
{
    *out = NULL;
    *n = 0;
    if (person_id == NULL || !ids_valid(person_id))
        return err_set(e, ERR_INVALID, "person_id: not a well-formed regional ID");
    struct role_list l = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(person_id)};
    int rc = store_query(s, SQL_ROLE_LIST, v, 1, read_role, &l, e);
    if (rc == 0 && l.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0 && l.bad)
        rc = err_set(e, ERR_INTERNAL, "practitioner_role: a stored row is malformed");
    if (rc == 0) {
        *out = l.items;
        *n = l.n;
    }
    return rc;
}
