/* org.h - organisations of the region (clinics, hospitals, pharmacies, care homes, schools, the
 * taxi company, the city office, research bodies) and the roles practitioners hold in them. */
#ifndef COS_ID_ORG_H
#define COS_ID_ORG_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/ids.h"
#include "identity/person.h"
#include "store/store.h"

#define ID_ORG_NAME_MAX    200 /* code points */
#define ID_ORG_ADDRESS_MAX 300

enum id_org_kind {
    ID_ORG_CLINIC,
    ID_ORG_HOSPITAL,
    ID_ORG_PHARMACY,
    ID_ORG_CARE_HOME,
    ID_ORG_SCHOOL,
    ID_ORG_TAXI_COMPANY,
    ID_ORG_CITY_OFFICE,
    ID_ORG_RESEARCH_BODY,
};

enum id_role_kind {
    ID_ROLE_DOCTOR,
    ID_ROLE_NURSE,
    ID_ROLE_PHARMACIST,
    ID_ROLE_CARE_WORKER,
    ID_ROLE_DISPATCHER,
    ID_ROLE_CLERK,
    ID_ROLE_CITY_ADMINISTRATOR,
    ID_ROLE_AUDITOR,
};

/* Input of id_org_create; pointers borrowed for the call. */
struct id_org_new {
    enum id_org_kind kind;
    const char *name_ja;  /* 1..200 printable characters */
    const char *name_en;  /* NULL or "": none; else 1..200 */
    const char *district; /* 1..64 */
    const char *address;  /* NULL or "": none; else 1..300 */
    struct id_coords coords;
};

/* A stored organisation; strings belong to the arena given to id_org_get. */
struct id_org {
    char id[IDS_LEN + 1];
    enum id_org_kind kind;
    const char *name_ja, *name_en, *district, *address; /* name_en, address: NULL when absent */
    struct id_coords coords;
    int64_t created_ms;
};

/* A practitioner's role in an organisation. */
struct id_role {
    char id[IDS_LEN + 1], person_id[IDS_LEN + 1], org_id[IDS_LEN + 1];
    enum id_role_kind role;
    int active;
    int64_t created_ms;
};

/* Validates in and stores a new organisation under a new random id (written to id_out).
 * Returns 0, ERR_INVALID naming the field, or the store's error. */
int id_org_create(struct store *s, const struct id_org_new *in, char id_out[IDS_LEN + 1],
                  struct err *e);

/* Reads an organisation. Returns 0, ERR_NOTFOUND, ERR_INVALID for a malformed id, or the
 * store's error. */
int id_org_get(struct store *s, const char *id, struct id_org *out, struct arena *a, struct err *e);

/* Gives person_id the role in org_id (active from now). Returns 0 and the role's id, ERR_INVALID
 * for malformed ids or role, ERR_NOTFOUND when the person or the organisation is missing,
 * ERR_CONFLICT when the person already holds that role there. */
int id_role_add(struct store *s, const char *person_id, const char *org_id, enum id_role_kind role,
                char id_out[IDS_LEN + 1], struct err *e);

/* id_role_add() in two steps, for a caller that adds to the same transaction (the admin API
 * appends the audit record of the new role to it). */
struct id_role_write {
    const char *person_id, *org_id; /* borrowed until the write is done */
    const char *role;               /* its stored name (static) */
    char id[IDS_LEN + 1];           /* the new role's id */
    int64_t now_ms;
};

/* Validates the ids and the role and fills w with a new id. Nothing is stored. Returns 0 or
 * ERR_INVALID naming the field. */
int id_role_prepare(struct id_role_write *w, const char *person_id, const char *org_id,
                    enum id_role_kind role, int64_t now_ms, struct err *e);

/* A store_write_fn inserting the prepared role ctx (a struct id_role_write) after checking that
 * the person and the organisation exist and the role is not held yet. Returns 0, ERR_NOTFOUND
 * naming the field, ERR_CONFLICT, or the store's error. */
int id_role_insert_fn(struct store_tx *tx, void *ctx, struct err *e);

/* Every role of person_id (active or not), oldest first, at most ID_LIST_MAX. *out is an array
 * in a (NULL when *n is 0). Returns 0, ERR_INVALID or the store's error. */
int id_role_list_for_person(struct store *s, const char *person_id, struct arena *a,
                            struct id_role **out, size_t *n, struct err *e);

/* Names as stored ("care_home", "city_administrator", ...) and back (0 or ERR_INVALID). */
const char *id_org_kind_name(enum id_org_kind v);
int id_org_kind_parse(const char *text, enum id_org_kind *out);
const char *id_role_name(enum id_role_kind v);
int id_role_parse(const char *text, enum id_role_kind *out);

#endif
