/* device.h - a citizen's home devices (migration 10, docs/internals/devices.md): the kinds
 * cityos knows, the device rows (bound to a citizen, revoked once), the FHIR Device resource that
 * describes one, and the device principal its readings are written as. The MQTT credentials are
 * not here: the broker keeps them (ingest/dynsec.h); cityos stores no device password. */
#ifndef COS_ID_DEVICE_H
#define COS_ID_DEVICE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/ids.h"
#include "store/store.h"

#define ID_DEVICE_TEXT_MAX 100 /* display, manufacturer, model: Unicode characters */
#define ID_DEVICE_LIST_MAX 100 /* most devices one citizen may hold (active or revoked) */

/* The system of the FHIR Device identifier that carries the cityos device id (its MQTT
 * username), and of the coding that carries its kind. */
#define ID_DEVICE_SYS_ID   "urn:cityos:device-id"
#define ID_DEVICE_SYS_KIND "urn:cityos:device-kind"

/* A stored device. Strings belong to the arena given to the call that filled it. */
struct id_device {
    char id[IDS_LEN + 1];
    const char *subject_id; /* the citizen it is bound to; NULL: unbound */
    const char *kind;       /* one of id_device_kinds() */
    const char *fhir_device_id;
    const char *display;
    const char *manufacturer, *model; /* NULL when not given */
    const char *registered_by;        /* the person who registered it (citizen or delegate) */
    int64_t registered_ms;
    int64_t bound_ms;   /* 0: unbound */
    int64_t revoked_ms; /* 0: not revoked */
};

/* The kinds, NULL-terminated: "bp-wrist", "bp-upper-arm", "pillbox", "scale", "thermometer",
 * "pulse-oximeter", "glucose-meter". */
const char *const *id_device_kinds(void);

/* Is kind one of them? */
int id_device_kind_valid(const char *kind);

/* The kind in words, in English ("wrist blood pressure monitor") or NULL for an unknown kind. */
const char *id_device_kind_text(const char *kind);

/* The device id_device; 0, ERR_NOTFOUND (also for a malformed id), or the store's error. */
int id_device_find(struct store *s, const char *device_id, struct id_device *out, struct arena *a,
                   struct err *e);

/* Bound to a citizen and not revoked. */
int id_device_active(const struct id_device *d);

/* The devices bound to subject_id, newest first (at most ID_DEVICE_LIST_MAX), as an array in a
 * (*out, *n). Returns 0 or the store's error. */
int id_device_list(struct store *s, const char *subject_id, struct id_device **out, size_t *n,
                   struct arena *a, struct err *e);

/* Input of id_device_check and id_device_insert_tx; pointers borrowed. */
struct id_device_new {
    char id[IDS_LEN + 1];   /* set by id_device_check when empty */
    const char *subject_id; /* the citizen (a person id) */
    const char *registered_by;
    const char *kind;
    const char *display;              /* 1..ID_DEVICE_TEXT_MAX printable characters */
    const char *manufacturer, *model; /* NULL or the same bounds */
    int64_t now_ms;
};

/* Checks n (ERR_INVALID with e naming the member: "kind", "display" ...) and gives it a new id
 * when it has none. */
int id_device_check(struct id_device_new *n, struct err *e);

/* The FHIR R4 Device resource describing n (no id or meta: the FHIR write sets them), status
 * "active" (or "inactive" when revoked is set): identifier (ID_DEVICE_SYS_ID, the id), type
 * (SNOMED CT 70665002 for blood pressure monitors, always the kind's ID_DEVICE_SYS_KIND coding,
 * and the kind in words), deviceName, manufacturer, modelNumber, patient Patient/<subject>.
 * A new reference, or NULL when out of memory. */
json_t *id_device_fhir(const struct id_device_new *n, int revoked);

/* Inside a write: inserts the row of n (checked), bound to n->subject_id at n->now_ms, with
 * fhir_device_id = n->id. Returns 0, ERR_CONFLICT (the id exists, or the citizen holds
 * ID_DEVICE_LIST_MAX devices already: e says which), or the store's error. */
int id_device_insert_tx(struct store_tx *tx, const struct id_device_new *n, struct err *e);

/* Inside a write: marks device_id of subject_id revoked at now_ms. Returns 0 (also when it was
 * revoked before: the first time stays), ERR_NOTFOUND (no such device of that citizen), or the
 * store's error. */
int id_device_revoke_tx(struct store_tx *tx, const char *device_id, const char *subject_id,
                        int64_t now_ms, struct err *e);

#endif
