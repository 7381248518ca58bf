/* device.c - home device rows (migration 10): kinds, checks, reads, the two writes (register,
 * revoke), the FHIR Device resource of a device, and the device principal. */
#include "identity/device.h"

#include <stdio.h>
#include <string.h>

#include "identity/person.h"
#include "identity/principal.h"

/* The kinds and how FHIR Device.type codes them: SNOMED CT where the code is certain, always
 * the cityos kind, and the kind in words. */
static const struct kind_row {
    const char *kind, *text, *snomed, *snomed_display;
} kinds[] = {
    {"bp-wrist", "wrist blood pressure monitor", "70665002", "Blood pressure cuff"},
    {"bp-upper-arm", "upper-arm blood pressure monitor", "70665002", "Blood pressure cuff"},
    {"pillbox", "connected pill box", NULL, NULL},
    {"scale", "body weight scale", NULL, NULL},
    {"thermometer", "body thermometer", NULL, NULL},
    {"pulse-oximeter", "pulse oximeter", NULL, NULL},
    {"glucose-meter", "blood glucose meter", NULL, NULL},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static const struct kind_row *kind_row(const char *kind)
{
    for (size_t i = 0; kind != NULL && i < NKINDS; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return &kinds[i];
    return NULL;
}

const char *const *id_device_kinds(void)
{
    static const char *const names[NKINDS + 1] = {
        "bp-wrist",    "bp-upper-arm",   "pillbox",       "scale",
        "thermometer", "pulse-oximeter", "glucose-meter", NULL,
    };
    return names;
}

int id_device_kind_valid(const char *kind)
{
    return kind_row(kind) != NULL;
}

const char *id_device_kind_text(const char *kind)
{
    const struct kind_row *k = kind_row(kind);
    return k != NULL ? k->text : NULL;
}

int id_device_active(const struct id_device *d)
{
    return d != NULL && d->subject_id != NULL && d->bound_ms > 0 && d->revoked_ms == 0;
}

void id_principal_for_device(const struct id_device *d, struct id_principal *out)
{
    memset(out, 0, sizeof *out);
    out->kind = ID_PRINCIPAL_DEVICE;
    out->subject_id = d->id;
    out->acting_for = d->subject_id;
    out->role = d->kind;
}

/* ---- reads ---- */

#define DEVICE_COLS                                                                                \
    "id, subject_id, kind, fhir_device_id, display, manufacturer, model, registered_by, "          \
    "registered_ms, bound_ms, revoked_ms"

struct device_read {
    struct id_device *one; /* a single row, or */
    struct id_device *many;
    size_t n, cap;
    struct arena *a;
    int nomem, bad;
};

static int64_t int_or_zero(const struct store_row *row, int col)
{
    return store_row_is_null(row, col) ? 0 : store_row_int(row, col);
}

static int fill(const struct store_row *row, struct id_device *d, struct device_read *r)
{
    size_t len = 0;
    const char *id = store_row_text(row, 0, &len);
    if (id == NULL || len != IDS_LEN) {
        r->bad = 1;
        return 1;
    }
    memset(d, 0, sizeof *d);
    memcpy(d->id, id, IDS_LEN + 1);
    d->subject_id = id__row_text(row, 1, r->a, &r->nomem);
    d->kind = id__row_text(row, 2, r->a, &r->nomem);
    d->fhir_device_id = id__row_text(row, 3, r->a, &r->nomem);
    d->display = id__row_text(row, 4, r->a, &r->nomem);
    d->manufacturer = id__row_text(row, 5, r->a, &r->nomem);
    d->model = id__row_text(row, 6, r->a, &r->nomem);
    d->registered_by = id__row_text(row, 7, r->a, &r->nomem);
    d->registered_ms = store_row_int(row, 8);
    d->bound_ms = int_or_zero(row, 9);
    d->revoked_ms = int_or_zero(row, 10);
    return r->nomem;
}

static int read_one(const struct store_row *row, void *ctx)
{
    struct device_read *r = ctx;
    r->n = 1;
    fill(row, r->one, r);
    return 1;
}

static int read_many(const struct store_row *row, void *ctx)
{
    struct device_read *r = ctx;
    struct id_device *m = arena_array_reserve(r->a, r->many, r->n, &r->cap, sizeof *m);
    if (m == NULL) {
        r->nomem = 1;
        return 1;
    }
    r->many = m;
    if (fill(row, &m[r->n], r) != 0 || r->bad)
        return 1;
    r->n++;
    return 0;
}

static int read_status(const struct device_read *r, struct err *e)
{
    if (r->bad)
        return err_set(e, ERR_INTERNAL, "device: a stored row is malformed");
    if (r->nomem)
        return err_set(e, ERR_NOMEM, "device: out of memory");
    return 0;
}

int id_device_find(struct store *s, const char *device_id, struct id_device *out, struct arena *a,
                   struct err *e)
{
    memset(out, 0, sizeof *out);
    if (device_id == NULL || !ids_valid(device_id))
        return err_set(e, ERR_NOTFOUND, "device: no such device");
    struct device_read r = {.one = out, .a = a};
    struct store_value v[] = {STORE_TEXT_V(device_id)};
    int rc =
        store_query(s, "SELECT " DEVICE_COLS " FROM device WHERE id = ?", v, 1, read_one, &r, e);
    if (rc != 0)
        return rc;
    if ((rc = read_status(&r, e)) != 0)
        return rc;
    if (r.n == 0)
        return err_set(e, ERR_NOTFOUND, "device: no such device");
    return 0;
}

int id_device_list(struct store *s, const char *subject_id, struct id_device **out, size_t *n,
                   struct arena *a, struct err *e)
{
    *out = NULL;
    *n = 0;
    struct device_read r = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(subject_id), STORE_INT_V(ID_DEVICE_LIST_MAX)};
    int rc = store_query(s,
                         "SELECT " DEVICE_COLS " FROM device WHERE subject_id = ? "
                         "ORDER BY registered_ms DESC, id DESC LIMIT ?",
                         v, 2, read_many, &r, e);
    if (rc != 0)
        return rc;
    if ((rc = read_status(&r, e)) != 0)
        return rc;
    *out = r.many;
    *n = r.n;
    return 0;
}

/* ---- checks ---- */

static int check_optional(const char *field, const char *text, struct err *e)
{
    return text == NULL ? 0 : id__check_text(field, text, 1, ID_DEVICE_TEXT_MAX, e);
}

int id_device_check(struct id_device_new *n, struct err *e)
{
    if (n->subject_id == NULL || !ids_valid(n->subject_id))
        return err_set(e, ERR_INVALID, "subject: not a well-formed regional ID");
    if (n->registered_by == NULL || !ids_valid(n->registered_by))
        return err_set(e, ERR_INVALID, "registered_by: not a well-formed regional ID");
    if (n->kind == NULL || !id_device_kind_valid(n->kind))
        return err_set(e, ERR_INVALID,
                       "kind: one of bp-wrist, bp-upper-arm, pillbox, scale, thermometer, "
                       "pulse-oximeter, glucose-meter");
    int rc = id__check_text("display", n->display, 1, ID_DEVICE_TEXT_MAX, e);
    if (rc == 0)
        rc = check_optional("manufacturer", n->manufacturer, e);
    if (rc == 0)
        rc = check_optional("model", n->model, e);
    if (rc != 0)
        return rc;
    if (n->now_ms <= 0)
        return err_set(e, ERR_INVALID, "now: not a time");
    if (n->id[0] == '\0')
        ids_new_ordered(n->id, n->now_ms);
    else if (!ids_valid(n->id))
        return err_set(e, ERR_INVALID, "id: not a well-formed device id");
    return 0;
}

/* ---- the FHIR Device ---- */

json_t *id_device_fhir(const struct id_device_new *n, int revoked)
{
    const struct kind_row *k = kind_row(n->kind);
    if (k == NULL)
        return NULL;
    json_t *codings = json_array();
    if (codings == NULL)
        return NULL;
    int bad = 0;
    if (k->snomed != NULL)
        bad |= json_array_append_new(codings, json_pack("{s:s, s:s, s:s}", "system",
                                                        "http://snomed.info/sct", "code", k->snomed,
                                                        "display", k->snomed_display));
    bad |= json_array_append_new(codings, json_pack("{s:s, s:s, s:s}", "system", ID_DEVICE_SYS_KIND,
                                                    "code", k->kind, "display", k->text));
    char ref[IDS_LEN + 16];
    snprintf(ref, sizeof ref, "Patient/%.*s", IDS_LEN, n->subject_id);
    json_t *d =
        json_pack("{s:s, s:[{s:s, s:s}], s:s, s:o, s:[{s:s, s:s}], s:{s:s}}", "resourceType",
                  "Device", "identifier", "system", ID_DEVICE_SYS_ID, "value", n->id, "status",
                  revoked ? "inactive" : "active", "type",
                  json_pack("{s:o, s:s}", "coding", codings, "text", k->text), "deviceName", "name",
                  n->display, "type", "user-friendly-name", "patient", "reference", ref);
    if (d == NULL || bad)
        goto fail;
    if (n->manufacturer != NULL &&
        json_object_set_new(d, "manufacturer", json_string(n->manufacturer)) != 0)
        goto fail;
    if (n->model != NULL && json_object_set_new(d, "modelNumber", json_string(n->model)) != 0)
        goto fail;
    return d;
fail:
    json_decref(d);
    return NULL;
}

/* ---- writes ---- */

static int count_row(const struct store_row *row, void *ctx)
{
    *(int64_t *)ctx = store_row_int(row, 0);
    return 1;
}

static struct store_value text_or_null(const char *s)
{
    return s != NULL ? STORE_TEXT_V(s) : STORE_NULL_V;
}

int id_device_insert_tx(struct store_tx *tx, const struct id_device_new *n, struct err *e)
{
    if (!ids_valid(n->id) || !id_device_kind_valid(n->kind) || n->subject_id == NULL ||
        n->registered_by == NULL || n->display == NULL)
        return err_set(e, ERR_INVALID, "device: not checked");
    int64_t held = 0;
    struct store_value q[] = {STORE_TEXT_V(n->subject_id)};
    int rc = store_tx_query(tx, "SELECT COUNT(*) FROM device WHERE subject_id = ?", q, 1, count_row,
                            &held, e);
    if (rc != 0)
        return rc;
    if (held >= ID_DEVICE_LIST_MAX)
        return err_set(e, ERR_CONFLICT, "devices: this citizen holds %d devices already",
                       ID_DEVICE_LIST_MAX);
    struct store_value v[] = {
        STORE_TEXT_V(n->id),      STORE_TEXT_V(n->subject_id),    STORE_TEXT_V(n->kind),
        STORE_TEXT_V(n->display), text_or_null(n->manufacturer),  text_or_null(n->model),
        STORE_TEXT_V(n->id),      STORE_TEXT_V(n->registered_by), STORE_INT_V(n->now_ms),
        STORE_INT_V(n->now_ms),
    };
    rc = store_tx_exec(tx,
                       "INSERT INTO device (id, subject_id, kind, display, manufacturer, model, "
                       "fhir_device_id, registered_by, registered_ms, bound_ms) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       v, sizeof v / sizeof v[0], e);
    if (rc == ERR_CONFLICT)
        return err_set(e, ERR_CONFLICT, "device: the id exists");
    return rc < 0 ? rc : 0;
}

int id_device_revoke_tx(struct store_tx *tx, const char *device_id, const char *subject_id,
                        int64_t now_ms, struct err *e)
{
    int64_t found = 0;
    struct store_value q[] = {STORE_TEXT_V(device_id), STORE_TEXT_V(subject_id)};
    int rc = store_tx_query(tx, "SELECT COUNT(*) FROM device WHERE id = ? AND subject_id = ?", q, 2,
                            count_row, &found, e);
    if (rc != 0)
        return rc;
    if (found == 0)
        return err_set(e, ERR_NOTFOUND, "device: no such device of this citizen");
    struct store_value v[] = {STORE_INT_V(now_ms), STORE_TEXT_V(device_id),
                              STORE_TEXT_V(subject_id)};
    rc = store_tx_exec(tx,
                       "UPDATE device SET revoked_ms = ? WHERE id = ? AND subject_id = ? "
                       "AND revoked_ms IS NULL",
                       v, 3, e);
    return rc < 0 ? rc : 0;
}
