/* family_api.c - the citizen's own family links (family_api.h): list, invite with a code,
 * accept a code, change the rights, end a link. Reads run on the worker; every write goes
 * through store_write_async with its audit records in the same transaction, and the answer is
 * sent once it is durable. A change of rights ends the link and starts a new one (the history
 * of who could do what, when, stays in family_link and on both trails). */
#include "identity/family_api.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/actor.h"
#include "audit/audit.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/category.h"
#include "consent/index.h"
#include "http/problem.h"
#include "identity/person.h"
#include "identity/principal.h"
#include "identity/scope.h"

#define FAMILY     "/api/v1/me/family"
#define RULE_SELF  "rule:self"
#define DAY_MS     (24LL * 3600 * 1000)
#define RIGHTS_MAX 8  /* names in a rights array */
#define RIGHT_LEN  32 /* characters of one name */
#define CODE_BYTES 20
#define CODE_HASH  65 /* hex of BLAKE2b-256 and its NUL */
#define CODE_INPUT 80 /* characters accepted in "code" before spaces and hyphens go */
#define ALPHABET   "0123456789abcdefghjkmnpqrstvwxyz"
/* A write's refusal answered 403: the delegate asked for what only the subject may change. */
#define ERR_NOT_YOURS ERR_TOOBIG

/* ---- the bodies ---- */

static int only_members(const json_t *in, const char *const *members, struct err *e)
{
    if (!json_is_object(in))
        return err_set(e, ERR_INVALID, "the body must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        int known = 0;
        for (size_t i = 0; members[i] != NULL && !known; i++)
            known = strcmp(members[i], key) == 0;
        if (!known)
            return err_set(e, ERR_INVALID, "/%.64s: unknown member", key);
    }
    return 0;
}

static int rights_of(const json_t *in, unsigned *rights, struct err *e)
{
    const json_t *a = json_object_get(in, "rights");
    if (a == NULL)
        return err_set(e, ERR_INVALID, "/rights: required");
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > RIGHTS_MAX)
        return err_set(e, ERR_INVALID, "/rights: must be an array of 1 to %d names", RIGHTS_MAX);
    char text[RIGHTS_MAX * (RIGHT_LEN + 1) + 1];
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *s = json_array_get(a, i);
        const char *name = json_string_value(s);
        size_t len = name != NULL ? json_string_length(s) : 0;
        if (name == NULL || len == 0 || len > RIGHT_LEN || strlen(name) != len)
            return err_set(e, ERR_INVALID, "/rights/%zu: must be the name of a right", i);
        for (size_t k = 0; k < len; k++)
            if (!(islower((unsigned char)name[k]) || name[k] == '_'))
                return err_set(e, ERR_INVALID, "/rights/%zu: must be the name of a right", i);
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", i > 0 ? "," : "", name);
    }
    struct err pe = {0};
    if (id_rights_parse(text, rights, &pe) != 0) /* "rights: ..." */
        return err_set(e, ERR_INVALID, "/%s", pe.msg);
    return 0;
}

int id_family_rights_from_json(const json_t *in, unsigned *rights, struct err *e)
{
    static const char *const members[] = {"rights", NULL};
    *rights = 0;
    int rc = only_members(in, members, e);
    return rc != 0 ? rc : rights_of(in, rights, e);
}

int id_family_invite_from_json(const json_t *in, int64_t now_ms, unsigned *rights,
                               int64_t *until_ms, struct err *e)
{
    static const char *const members[] = {"rights", "valid_until", NULL};
    *rights = 0;
    *until_ms = 0;
    int rc = only_members(in, members, e);
    if (rc == 0)
        rc = rights_of(in, rights, e);
    const json_t *u = json_object_get(in, "valid_until");
    if (rc != 0 || u == NULL)
        return rc;
    const char *text = json_string_value(u);
    if (text == NULL || strlen(text) != json_string_length(u) || strlen(text) > 40)
        return err_set(e, ERR_INVALID, "/valid_until: must be a string");
    int64_t ms = 0;
    if (strlen(text) == 10) { /* the last day, in Japan: ends at the next Japanese midnight */
        char stamp[32];
        snprintf(stamp, sizeof stamp, "%.10sT00:00:00+09:00", text);
        rc = clock_parse_rfc3339(stamp, &ms);
        ms += DAY_MS;
    } else {
        rc = clock_parse_rfc3339(text, &ms);
    }
    if (rc != 0)
        return err_set(e, ERR_INVALID,
                       "/valid_until: must be a date as YYYY-MM-DD (the last day) or an RFC 3339 "
                       "date-time with a zone");
    if (ms <= now_ms)
        return err_set(e, ERR_INVALID, "/valid_until: must lie after now");
    *until_ms = ms;
    return 0;
}

int id_family_code_from_json(const json_t *in, char out[ID_FAMILY_CODE_LEN + 1], struct err *e)
{
    static const char *const members[] = {"code", NULL};
    out[0] = '\0';
    int rc = only_members(in, members, e);
    if (rc != 0)
        return rc;
    const json_t *c = json_object_get(in, "code");
    const char *text = json_string_value(c);
    if (c == NULL)
        return err_set(e, ERR_INVALID, "/code: required");
    if (text == NULL || strlen(text) != json_string_length(c) || strlen(text) > CODE_INPUT)
        return err_set(e, ERR_INVALID, "/code: must be the invitation code (32 characters)");
    size_t n = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '-' || *p == ' ')
            continue;
        char ch = (char)tolower((unsigned char)*p);
        if (strchr(ALPHABET, ch) == NULL || ch == '\0' || n >= ID_FAMILY_CODE_LEN)
            return err_set(e, ERR_INVALID, "/code: must be the invitation code (32 characters)");
        out[n++] = ch;
    }
    if (n != ID_FAMILY_CODE_LEN)
        return err_set(e, ERR_INVALID, "/code: must be the invitation code (32 characters)");
    out[n] = '\0';
    return 0;
}

/* ---- codes ---- */

static void code_new(char out[ID_FAMILY_CODE_LEN + 1])
{
    unsigned char raw[CODE_BYTES];
    randombytes_buf(raw, sizeof raw);
    /* 160 bits -> 32 groups of 5 bits */
    for (size_t i = 0; i < ID_FAMILY_CODE_LEN; i++) {
        size_t bit = i * 5;
        unsigned v =
            ((unsigned)raw[bit / 8] << 8 | (bit / 8 + 1 < CODE_BYTES ? raw[bit / 8 + 1] : 0));
        out[i] = ALPHABET[(v >> (11 - bit % 8)) & 31u];
    }
    out[ID_FAMILY_CODE_LEN] = '\0';
    sodium_memzero(raw, sizeof raw);
}

static void code_hash(const char *code, char out[CODE_HASH])
{
    unsigned char h[32];
    static const char tag[] = "cityos.family.invitation.v1";
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)tag, sizeof tag);
    crypto_generichash_update(&st, (const unsigned char *)code, strlen(code));
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(out, CODE_HASH, h, sizeof h);
}

/* "abcd-efgh-..." for reading aloud or copying; the hyphens are ignored on the way back. */
static char *code_display(struct arena *a, const char *code)
{
    char buf[ID_FAMILY_CODE_LEN + ID_FAMILY_CODE_LEN / 4];
    size_t n = 0;
    for (size_t i = 0; i < ID_FAMILY_CODE_LEN; i++) {
        if (i > 0 && i % 4 == 0)
            buf[n++] = '-';
        buf[n++] = code[i];
    }
    buf[n] = '\0';
    return arena_strdup(a, buf);
}

/* ---- the common start ---- */

enum op { OP_LIST, OP_INVITE, OP_CANCEL, OP_ACCEPT, OP_CHANGE, OP_END };

static const unsigned op_perm[] = {ID_PERM_R, ID_PERM_C, ID_PERM_C,
                                   ID_PERM_C, ID_PERM_U, ID_PERM_D};
static const char op_letter[] = {'r', 'c', 'c', 'c', 'u', 'd'};

/* The citizen themselves with the scope for op, no query. 1: go on; 0: answered; -1: no memory */
static int begin(struct http_request *req, struct family_api *api, enum op op,
                 struct id_principal *p)
{
    int ok = id_principal_require(req, api->store, p);
    if (ok <= 0)
        return ok;
    static const char *const none[] = {NULL};
    if (!http_query_only_or_problem(req, none))
        return 0;
    if (p->kind != ID_PRINCIPAL_PERSON || p->subject_id == NULL) {
        http_problem(req, "forbidden",
                     "only a person signed in for themselves manages their family links");
        return 0;
    }
    if (id_scope_allows(p->scope, ID_SCOPE_PATIENT, "RelatedPerson", op_perm[op], NULL, 0) ==
        NULL) {
        char *challenge = arena_printf(req->arena,
                                       "Bearer realm=\"cityos\", error=\"insufficient_scope\", "
                                       "scope=\"patient/RelatedPerson.%c\"",
                                       op_letter[op]);
        if (challenge != NULL)
            http_set_header(req, "WWW-Authenticate", challenge);
        http_problem(req, "forbidden",
                     "the token's scope does not cover this (patient/RelatedPerson.%c)",
                     op_letter[op]);
        return 0;
    }
    return 1;
}

/* The body as JSON (415, 400 answered here). NULL when answered. */
static json_t *body_of(struct http_request *req)
{
    if (!http_content_type_is(req, "application/json")) {
        http_problem(req, "unsupported-media-type", "send the body as application/json");
        return NULL;
    }
    struct err e = {0};
    json_t *body = jsonx_parse(req->body != NULL ? req->body : "", req->body_len, &e);
    if (body == NULL) {
        if (e.code == ERR_NOMEM)
            http_problem(req, "unavailable", "the server is short of memory; try again");
        else
            http_problem(req, "malformed-json", "%s", e.msg);
        return NULL;
    }
    if (arena_defer(req->arena, jsonx_decref, body) != 0) {
        json_decref(body);
        http_problem(req, "unavailable", "the server is short of memory; try again");
        return NULL;
    }
    return body;
}

/* The path's id, or NULL with a 404 set. */
static const char *path_id(struct http_request *req, const char *what)
{
    const char *id = req->nparams > 0 ? req->params[0] : NULL;
    if (id == NULL || !ids_valid(id)) {
        http_problem(req, "not-found", "no %s with this id", what);
        return NULL;
    }
    return id;
}

static json_t *rights_json(unsigned rights)
{
    char buf[ID_RIGHTS_TEXT_MAX];
    const char *text = id_rights_format(rights, buf);
    json_t *a = json_array();
    if (a == NULL || text == NULL)
        return a;
    const char *p = text;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, len));
        p += len + (comma != NULL);
    }
    return a;
}

static json_t *time_json(int64_t ms)
{
    char buf[32];
    return ms > 0 ? json_string(clock_format_ms(ms, buf, sizeof buf)) : json_null();
}

/* ---- GET /api/v1/me/family ---- */

struct list {
    json_t *arr;
    int bad;
};

static const char *txt(const struct store_row *row, int col)
{
    const char *t = store_row_text(row, col, NULL);
    return t != NULL ? t : "";
}

/* id, other person, rights, kind, from, until, family name, given name */
static int link_row(const struct store_row *row, void *ctx)
{
    struct list *l = ctx;
    unsigned rights = 0;
    if (id_rights_parse(store_row_text(row, 2, NULL), &rights, NULL) != 0) {
        l->bad = 1;
        return 1;
    }
    char name[256];
    snprintf(name, sizeof name, "%s %s", txt(row, 6), txt(row, 7));
    json_t *o =
        json_pack("{s:s, s:{s:s, s:s}, s:o, s:s, s:o, s:o}", "id", txt(row, 0), "person", "id",
                  txt(row, 1), "name", name, "rights", rights_json(rights), "kind", txt(row, 3),
                  "valid_from", time_json(store_row_int(row, 4)), "valid_until",
                  time_json(store_row_is_null(row, 5) ? 0 : store_row_int(row, 5)));
    if (o == NULL || json_array_append_new(l->arr, o) != 0) {
        l->bad = 1;
        return 1;
    }
    return 0;
}

/* id, rights, until, created, expires */
static int invite_row(const struct store_row *row, void *ctx)
{
    struct list *l = ctx;
    unsigned rights = 0;
    if (id_rights_parse(store_row_text(row, 1, NULL), &rights, NULL) != 0) {
        l->bad = 1;
        return 1;
    }
    json_t *o =
        json_pack("{s:s, s:o, s:o, s:o, s:o}", "id", txt(row, 0), "rights", rights_json(rights),
                  "valid_until", time_json(store_row_is_null(row, 2) ? 0 : store_row_int(row, 2)),
                  "created_at", time_json(store_row_int(row, 3)), "expires_at",
                  time_json(store_row_int(row, 4)));
    if (o == NULL || json_array_append_new(l->arr, o) != 0) {
        l->bad = 1;
        return 1;
    }
    return 0;
}

#define LINK_SELECT(other, me)                                                                     \
    "SELECT l.id, l." other ", l.rights, l.kind, l.valid_from_ms, l.valid_until_ms, "              \
    "p.family_name_kanji, p.given_name_kanji FROM family_link l JOIN person p ON p.id = l." other  \
    " WHERE l." me " = ? AND (l.valid_until_ms IS NULL OR l.valid_until_ms > ?) "                  \
    "ORDER BY l.created_ms, l.id"

static int get_family(struct http_request *req, void *ctx)
{
    struct family_api *api = ctx;
    struct id_principal p;
    int ok = begin(req, api, OP_LIST, &p);
    if (ok <= 0)
        return ok;
    int64_t now = clock_now_ms();
    struct store_value v[] = {STORE_TEXT_V(p.subject_id), STORE_INT_V(now)};
    struct list delegates = {json_array(), 0}, acting = {json_array(), 0},
                invites = {json_array(), 0};
    json_t *out = json_pack("{s:s, s:o, s:o, s:o}", "subject", p.subject_id, "delegates",
                            delegates.arr, "acting_for", acting.arr, "invitations", invites.arr);
    if (out == NULL) {
        http_problem(req, "unavailable", "the server is short of memory; try again");
        return 0;
    }
    struct err e = {0};
    int rc = store_query(api->store, LINK_SELECT("delegate_id", "subject_id"), v, 2, link_row,
                         &delegates, &e);
    if (rc == 0)
        rc = store_query(api->store, LINK_SELECT("subject_id", "delegate_id"), v, 2, link_row,
                         &acting, &e);
    if (rc == 0)
        rc = store_query(api->store,
                         "SELECT id, rights, valid_until_ms, created_ms, expires_ms FROM "
                         "family_invitation WHERE subject_id = ? AND accepted_ms IS NULL AND "
                         "cancelled_ms IS NULL AND expires_ms > ? ORDER BY created_ms, id",
                         v, 2, invite_row, &invites, &e);
    if (rc != 0 || delegates.bad || acting.bad || invites.bad) {
        json_decref(out);
        http_problem(req, "unavailable", "the family links cannot be read; try again");
        return 0;
    }
    http_set_header(req, "Cache-Control", "no-store");
    http_respond_json(req, 200, out);
    return 0;
}

/* ---- writes ---- */

struct job {
    struct http_request *req;
    struct family_api *api;
    struct id_principal who;
    enum op op;
    int64_t now;
    int status;
    struct err err;
    /* inputs */
    const char *target; /* the invitation or link id of the path */
    unsigned rights;
    int64_t until_ms;
    char code[ID_FAMILY_CODE_LEN + 1], hash[CODE_HASH];
    /* what the write found and made */
    char id[IDS_LEN + 1];                             /* the new invitation or link */
    char subject[IDS_LEN + 1], delegate[IDS_LEN + 1]; /* of the link */
    char old_rights[ID_RIGHTS_TEXT_MAX], kind[16];
    int64_t from_ms, old_until_ms;
    struct id_family_link_new ln;
    struct id_family_link_write lw;
    struct audit_event ev[2];
};

static void job_done(int status, const struct err *e, void *ctx)
{
    struct job *j = ctx;
    j->status = status;
    if (status != 0 && e != NULL)
        j->err = *e;
    http_request_resume(j->req);
}

static int job_start(struct http_request *req, struct job *j, store_write_fn fn, http_handler then)
{
    http_request_suspend(req, then, j);
    if (store_write_async(j->api->store, fn, j, job_done, j) != 0) {
        j->status = ERR_UNAVAILABLE;
        err_set(&j->err, ERR_UNAVAILABLE, "the store is not taking writes");
        http_request_resume(req);
    }
    return 0;
}

static struct job *job_new(struct http_request *req, struct family_api *api, enum op op)
{
    struct job *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL) {
        http_problem(req, "unavailable", "the server is short of memory; try again");
        return NULL;
    }
    j->req = req;
    j->api = api;
    j->op = op;
    j->now = clock_now_ms();
    return j;
}

/* job_new() and begin() (who may do op): the job, or NULL with *ok what the handler returns (the
 * answer has been sent, or -1). */
static struct job *job_begin(struct http_request *req, struct family_api *api, enum op op, int *ok)
{
    struct job *j = job_new(req, api, op);
    if (j == NULL) {
        *ok = 0;
        return NULL;
    }
    *ok = begin(req, api, op, &j->who);
    return *ok > 0 ? j : NULL;
}

/* The record of action on resource about chain's owner, by the signed-in person. */
static int record(struct store_tx *tx, struct job *j, int i, const char *chain, const char *action,
                  const char *rtype, const char *rid, const char *reason, struct err *e)
{
    struct audit_event *ev = &j->ev[i];
    *ev = (struct audit_event){0};
    int rc = audit_event_from_principal(&j->who, ev, e);
    if (rc != 0)
        return err_set(e, ERR_INTERNAL, "the person cannot be recorded");
    audit_event_from_request(j->req, ev);
    ev->time_ms = j->now;
    ev->subject = chain;
    ev->action = action;
    ev->resource_type = rtype;
    ev->resource_id = rid;
    ev->category = consent_category_name(CONSENT_CAT_CONTACT);
    ev->decision = AUDIT_PERMIT;
    ev->decided_by = RULE_SELF;
    ev->reason = reason;
    if ((rc = audit_append(tx, ev, NULL, e)) != 0) {
        char why[sizeof e->msg];
        snprintf(why, sizeof why, "%s", e->msg);
        return err_set(e, rc == ERR_NOMEM ? ERR_NOMEM : ERR_UNAVAILABLE,
                       "the audit record could not be appended: %s", why);
    }
    return 0;
}

static int count_row(const struct store_row *row, void *ctx)
{
    *(int64_t *)ctx = store_row_int(row, 0);
    return 1;
}

/* A row of consent_change naming the subject, in the link's write: every process's consent
 * index reloads that citizen at its next poll (or request), so an ended link or a narrowed
 * right binds them too, not only the process that served the change (consent.md, "Several
 * processes"). */
static int note_change(struct store_tx *tx, const char *subject, int64_t now, struct err *e)
{
    int64_t seq = 0;
    int rc = store_tx_query(tx, "SELECT COALESCE(MAX(seq), 0) FROM consent_change", NULL, 0,
                            count_row, &seq, e);
    if (rc != 0)
        return rc;
    struct store_value v[] = {STORE_INT_V(seq + 1), STORE_TEXT_V(subject), STORE_INT_V(now)};
    rc = store_tx_exec(tx,
                       "INSERT INTO consent_change (seq, subject_id, purpose_code, at_ms) "
                       "VALUES (?, ?, NULL, ?)",
                       v, 3, e);
    return rc < 0 ? rc : 0;
}

/* Tells the decision index of this process about the subject's links at once (other
 * processes: new links by their poll; see docs/internals/identity.md). */
static void reindex(const char *subject, struct store *s)
{
    struct consent_index *ix = consent_index_global();
    struct err e = {0};
    if (ix != NULL && consent_index_reload_subject(ix, s, subject, &e) < 0)
        log_warn("family: the consent index could not reload a subject: %s", e.msg);
}

/* One answer for the write's failures. what: the thing of the path. */
static int answer_failed(struct http_request *req, struct job *j, const char *what)
{
    switch (j->status) {
    case ERR_NOTFOUND:
        http_problem(req, "not-found", "%s", j->err.msg[0] ? j->err.msg : what);
        break;
    case ERR_INVALID:
        http_problem(req, "validation-failed", "%s", j->err.msg);
        break;
    case ERR_CONFLICT:
        http_problem(req, "conflict", "%s", j->err.msg);
        break;
    case ERR_NOT_YOURS:
        http_problem(req, "forbidden", "%s", j->err.msg);
        break;
    default:
        log_warn("family: a write failed: %s", j->err.msg);
        http_problem(req, "unavailable", "the change could not be stored; try again");
        break;
    }
    return 0;
}

/* -- POST /invitations -- */

static int invite_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct job *j = ctx;
    int64_t pending = 0;
    struct store_value c[] = {STORE_TEXT_V(j->who.subject_id), STORE_INT_V(j->now)};
    int rc = store_tx_query(tx,
                            "SELECT COUNT(*) FROM family_invitation WHERE subject_id = ? AND "
                            "accepted_ms IS NULL AND cancelled_ms IS NULL AND expires_ms > ?",
                            c, 2, count_row, &pending, e);
    if (rc != 0)
        return rc;
    if (pending >= ID_FAMILY_INVITES_MAX)
        return err_set(e, ERR_CONFLICT,
                       "%d invitations are pending: cancel one or wait until one is used or "
                       "expires",
                       ID_FAMILY_INVITES_MAX);
    char rights[ID_RIGHTS_TEXT_MAX];
    struct store_value v[] = {
        STORE_TEXT_V(j->id),
        STORE_TEXT_V(j->who.subject_id),
        STORE_TEXT_V(j->hash),
        STORE_TEXT_V(id_rights_format(j->rights, rights)),
        j->until_ms > 0 ? STORE_INT_V(j->until_ms) : STORE_NULL_V,
        STORE_INT_V(j->now),
        STORE_INT_V(j->now + ID_FAMILY_INVITE_TTL_MS),
    };
    rc = store_tx_exec(tx,
                       "INSERT INTO family_invitation (id, subject_id, code_hash, rights, "
                       "valid_until_ms, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       v, 7, e);
    if (rc < 0)
        return rc;
    return record(tx, j, 0, j->who.subject_id, "create", "FamilyInvitation", j->id, NULL, e);
}

static int answer_invite(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0)
        return answer_failed(req, j, "no such invitation");
    const char *display = code_display(req->arena, j->code);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", j->id, "code", j->code,
                  "code_display", display != NULL ? display : j->code, "rights",
                  rights_json(j->rights), "valid_until", time_json(j->until_ms), "created_at",
                  time_json(j->now), "expires_at", time_json(j->now + ID_FAMILY_INVITE_TTL_MS));
    char *loc = arena_printf(req->arena, FAMILY "/invitations/%s", j->id);
    if (loc != NULL)
        http_set_header(req, "Location", loc);
    http_set_header(req, "Cache-Control", "no-store");
    http_respond_json(req, 201, o);
    return 0;
}

static int post_invitation(struct http_request *req, void *ctx)
{
    struct family_api *api = ctx;
    int ok = 0;
    struct job *j = job_begin(req, api, OP_INVITE, &ok);
    if (j == NULL)
        return ok;
    json_t *body = body_of(req);
    if (body == NULL)
        return 0;
    struct err e = {0};
    if (id_family_invite_from_json(body, j->now, &j->rights, &j->until_ms, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    ids_new_ordered(j->id, j->now);
    code_new(j->code);
    code_hash(j->code, j->hash);
    return job_start(req, j, invite_fn, answer_invite);
}

/* -- DELETE /invitations/{id} -- */

static int cancel_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct job *j = ctx;
    struct store_value v[] = {STORE_INT_V(j->now), STORE_TEXT_V(j->target),
                              STORE_TEXT_V(j->who.subject_id), STORE_INT_V(j->now)};
    int rc = store_tx_exec(tx,
                           "UPDATE family_invitation SET cancelled_ms = ? WHERE id = ? AND "
                           "subject_id = ? AND accepted_ms IS NULL AND cancelled_ms IS NULL AND "
                           "expires_ms > ?",
                           v, 4, e);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return err_set(e, ERR_NOTFOUND, "no pending invitation of yours with this id");
    return record(tx, j, 0, j->who.subject_id, "delete", "FamilyInvitation", j->target, NULL, e);
}

static int answer_cancel(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0)
        return answer_failed(req, j, "no such invitation");
    http_set_header(req, "Cache-Control", "no-store");
    http_respond_json(req, 200,
                      json_pack("{s:s, s:s, s:o}", "id", j->target, "status", "cancelled",
                                "cancelled_at", time_json(j->now)));
    return 0;
}

static int delete_invitation(struct http_request *req, void *ctx)
{
    struct family_api *api = ctx;
    int ok = 0;
    struct job *j = job_begin(req, api, OP_CANCEL, &ok);
    if (j == NULL)
        return ok;
    if ((j->target = path_id(req, "invitation")) == NULL)
        return 0;
    return job_start(req, j, cancel_fn, answer_cancel);
}

/* -- POST /accept -- */

struct found_invite {
    char id[IDS_LEN + 1], subject[IDS_LEN + 1];
    unsigned rights;
    int64_t until_ms;
    int found, bad;
};

static int found_invite_row(const struct store_row *row, void *ctx)
{
    struct found_invite *f = ctx;
    const char *id = store_row_text(row, 0, NULL), *subject = store_row_text(row, 1, NULL);
    if (id == NULL || subject == NULL || !ids_valid(id) || !ids_valid(subject) ||
        id_rights_parse(store_row_text(row, 2, NULL), &f->rights, NULL) != 0) {
        f->bad = 1;
        return 1;
    }
    memcpy(f->id, id, IDS_LEN + 1);
    memcpy(f->subject, subject, IDS_LEN + 1);
    f->until_ms = store_row_is_null(row, 3) ? 0 : store_row_int(row, 3);
    f->found = 1;
    return 1;
}

static int accept_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct job *j = ctx;
    struct found_invite f = {0};
    struct store_value q[] = {STORE_TEXT_V(j->hash), STORE_INT_V(j->now)};
    int rc = store_tx_query(tx,
                            "SELECT id, subject_id, rights, valid_until_ms FROM family_invitation "
                            "WHERE code_hash = ? AND accepted_ms IS NULL AND cancelled_ms IS NULL "
                            "AND expires_ms > ?",
                            q, 2, found_invite_row, &f, e);
    if (rc != 0)
        return rc;
    if (f.bad)
        return err_set(e, ERR_INTERNAL, "a stored invitation is malformed");
    /* one answer for a wrong, used, cancelled or expired code: nothing to tell apart */
    if (!f.found)
        return err_set(e, ERR_NOTFOUND, "no pending invitation with this code");
    if (strcmp(f.subject, j->who.subject_id) == 0)
        return err_set(e, ERR_INVALID,
                       "/code: this is your own invitation; give it to the "
                       "family member who will act for you");
    if (f.until_ms > 0 && f.until_ms <= j->now)
        return err_set(e, ERR_CONFLICT, "the link this invitation offers has already ended");
    int64_t have = 0;
    struct store_value p[] = {STORE_TEXT_V(f.subject), STORE_TEXT_V(j->who.subject_id),
                              STORE_INT_V(j->now)};
    rc = store_tx_query(tx,
                        "SELECT COUNT(*) FROM family_link WHERE subject_id = ? AND delegate_id = ? "
                        "AND (valid_until_ms IS NULL OR valid_until_ms > ?)",
                        p, 3, count_row, &have, e);
    if (rc != 0)
        return rc;
    if (have > 0)
        return err_set(e, ERR_CONFLICT,
                       "you already act for this person; they can change the rights instead");
    memcpy(j->subject, f.subject, IDS_LEN + 1);
    memcpy(j->delegate, j->who.subject_id, IDS_LEN + 1);
    j->rights = f.rights;
    j->until_ms = f.until_ms;
    j->ln = (struct id_family_link_new){j->subject,     j->delegate, f.rights,
                                        ID_LINK_FAMILY, j->now,      f.until_ms};
    if ((rc = id_family_link_prepare(&j->lw, &j->ln, j->now, e)) != 0)
        return rc;
    if ((rc = id_family_link_insert_fn(tx, &j->lw, e)) != 0)
        return rc;
    memcpy(j->id, j->lw.id, IDS_LEN + 1);
    j->from_ms = j->now;
    struct store_value u[] = {STORE_INT_V(j->now), STORE_TEXT_V(j->delegate), STORE_TEXT_V(j->id),
                              STORE_TEXT_V(f.id)};
    rc = store_tx_exec(tx,
                       "UPDATE family_invitation SET accepted_ms = ?, accepted_by = ?, link_id = ? "
                       "WHERE id = ? AND accepted_ms IS NULL",
                       u, 4, e);
    if (rc < 0)
        return rc;
    if (rc != 1)
        return err_set(e, ERR_NOTFOUND, "no pending invitation with this code");
    if ((rc = note_change(tx, j->subject, j->now, e)) != 0)
        return rc;
    /* the link is about both people: each sees it on their own trail */
    rc = record(tx, j, 0, j->subject, "create", "FamilyLink", j->id, "invitation accepted", e);
    if (rc == 0)
        rc = record(tx, j, 1, j->delegate, "create", "FamilyLink", j->id, "invitation accepted", e);
    return rc;
}

/* The link as the answers show it, naming the other person. */
static json_t *link_json(struct http_request *req, struct family_api *api, const struct job *j,
                         const char *other)
{
    struct id_person person;
    struct err e = {0};
    char *name = NULL;
    if (id_person_get(api->store, other, &person, req->arena, &e) == 0)
        name = arena_printf(req->arena, "%s %s", person.family_name_kanji, person.given_name_kanji);
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:o, s:o}", "id", j->id, "subject",
                     j->subject, "delegate", j->delegate, "person", "id", other, "name",
                     name != NULL ? name : "", "rights", rights_json(j->rights), "kind",
                     j->kind[0] ? j->kind : "family", "valid_from", time_json(j->from_ms),
                     "valid_until", time_json(j->until_ms));
}

static int answer_accept(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0)
        return answer_failed(req, j, "no pending invitation with this code");
    reindex(j->subject, j->api->store);
    log_info("family: link %s made by an accepted invitation", j->id);
    http_set_header(req, "Cache-Control", "no-store");
    http_respond_json(req, 201, link_json(req, j->api, j, j->subject));
    return 0;
}

static int post_accept(struct http_request *req, void *ctx)
{
    struct family_api *api = ctx;
    int ok = 0;
    struct job *j = job_begin(req, api, OP_ACCEPT, &ok);
    if (j == NULL)
        return ok;
    json_t *body = body_of(req);
    if (body == NULL)
        return 0;
    struct err e = {0};
    if (id_family_code_from_json(body, j->code, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    code_hash(j->code, j->hash);
    return job_start(req, j, accept_fn, answer_accept);
}

/* -- PATCH and DELETE /links/{id} -- */

struct found_link {
    char subject[IDS_LEN + 1], delegate[IDS_LEN + 1], rights[ID_RIGHTS_TEXT_MAX], kind[16];
    int64_t from_ms, until_ms;
    int found, bad;
};

static int found_link_row(const struct store_row *row, void *ctx)
{
    struct found_link *f = ctx;
    const char *s = store_row_text(row, 0, NULL), *d = store_row_text(row, 1, NULL);
    const char *r = store_row_text(row, 2, NULL), *k = store_row_text(row, 3, NULL);
    if (s == NULL || d == NULL || r == NULL || k == NULL || !ids_valid(s) || !ids_valid(d) ||
        strlen(r) >= sizeof f->rights || strlen(k) >= sizeof f->kind) {
        f->bad = 1;
        return 1;
    }
    memcpy(f->subject, s, IDS_LEN + 1);
    memcpy(f->delegate, d, IDS_LEN + 1);
    snprintf(f->rights, sizeof f->rights, "%s", r);
    snprintf(f->kind, sizeof f->kind, "%s", k);
    f->from_ms = store_row_int(row, 4);
    f->until_ms = store_row_is_null(row, 5) ? 0 : store_row_int(row, 5);
    f->found = 1;
    return 1;
}

/* The link of the path, valid now, with the signed-in person as its subject (or, when
 * delegate_ok, its delegate). */
static int find_link(struct store_tx *tx, struct job *j, int delegate_ok, struct found_link *f,
                     struct err *e)
{
    struct store_value q[] = {STORE_TEXT_V(j->target), STORE_INT_V(j->now)};
    int rc = store_tx_query(tx,
                            "SELECT subject_id, delegate_id, rights, kind, valid_from_ms, "
                            "valid_until_ms FROM family_link WHERE id = ? AND (valid_until_ms IS "
                            "NULL OR valid_until_ms > ?)",
                            q, 2, found_link_row, f, e);
    if (rc != 0)
        return rc;
    if (f->bad)
        return err_set(e, ERR_INTERNAL, "a stored family link is malformed");
    int mine = f->found && (strcmp(f->subject, j->who.subject_id) == 0 ||
                            (delegate_ok && strcmp(f->delegate, j->who.subject_id) == 0));
    if (!mine) {
        if (f->found && strcmp(f->delegate, j->who.subject_id) == 0)
            return err_set(e, ERR_NOT_YOURS, "only the person acted for changes the rights");
        return err_set(e, ERR_NOTFOUND, "no current family link of yours with this id");
    }
    if (strcmp(f->kind, "family") != 0)
        return err_set(e, ERR_CONFLICT, "a guardianship is changed at the city office");
    memcpy(j->subject, f->subject, IDS_LEN + 1);
    memcpy(j->delegate, f->delegate, IDS_LEN + 1);
    snprintf(j->old_rights, sizeof j->old_rights, "%s", f->rights);
    snprintf(j->kind, sizeof j->kind, "%s", f->kind);
    j->old_until_ms = f->until_ms;
    return 0;
}

/* Ends the link of the path now (at the earliest 1 ms after it started). */
static int end_link(struct store_tx *tx, struct job *j, const struct found_link *f, struct err *e)
{
    int64_t end = j->now > f->from_ms ? j->now : f->from_ms + 1;
    struct store_value v[] = {STORE_INT_V(end), STORE_TEXT_V(j->target)};
    int rc = store_tx_exec(tx, "UPDATE family_link SET valid_until_ms = ? WHERE id = ?", v, 2, e);
    if (rc < 0)
        return rc;
    return rc == 1 ? 0 : err_set(e, ERR_NOTFOUND, "no current family link of yours with this id");
}

static int change_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct job *j = ctx;
    struct found_link f = {0};
    int rc = find_link(tx, j, 0, &f, e);
    if (rc != 0)
        return rc;
    unsigned old = 0;
    if (id_rights_parse(f.rights, &old, NULL) != 0)
        return err_set(e, ERR_INTERNAL, "a stored family link is malformed");
    if (old == j->rights)
        return err_set(e, ERR_INVALID, "/rights: the link already has exactly these rights");
    if ((rc = end_link(tx, j, &f, e)) != 0)
        return rc;
    j->until_ms = f.until_ms;
    j->ln = (struct id_family_link_new){j->subject,     j->delegate, j->rights,
                                        ID_LINK_FAMILY, j->now,      f.until_ms};
    if ((rc = id_family_link_prepare(&j->lw, &j->ln, j->now, e)) != 0)
        return rc;
    if ((rc = id_family_link_insert_fn(tx, &j->lw, e)) != 0)
        return rc;
    memcpy(j->id, j->lw.id, IDS_LEN + 1);
    j->from_ms = j->now;
    if ((rc = note_change(tx, j->subject, j->now, e)) != 0)
        return rc;
    const char *why = arena_printf(j->req->arena, "replaces %s (%s)", j->target, f.rights);
    if (why == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    rc = record(tx, j, 0, j->subject, "update", "FamilyLink", j->id, why, e);
    if (rc == 0)
        rc = record(tx, j, 1, j->delegate, "update", "FamilyLink", j->id, why, e);
    return rc;
}

static int answer_change(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0)
        return answer_failed(req, j, "no such family link");
    reindex(j->subject, j->api->store);
    json_t *o = link_json(req, j->api, j, j->delegate);
    if (o != NULL)
        json_object_set_new(o, "replaces", json_string(j->target));
    http_set_header(req, "Cache-Control", "no-store");
    http_respond_json(req, 200, o);
    return 0;
}

static int patch_link(struct http_request *req, void *ctx)
{
    struct family_api *api = ctx;
    int ok = 0;
    struct job *j = job_begin(req, api, OP_CHANGE, &ok);
    if (j == NULL)
        return ok;
    if ((j->target = path_id(req, "family link")) == NULL)
        return 0;
    json_t *body = body_of(req);
    if (body == NULL)
        return 0;
    struct err e = {0};
    if (id_family_rights_from_json(body, &j->rights, &e) != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    return job_start(req, j, change_fn, answer_change);
}

static int end_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct job *j = ctx;
    struct found_link f = {0};
    int rc = find_link(tx, j, 1, &f, e);
    if (rc == 0)
        rc = end_link(tx, j, &f, e);
    if (rc == 0)
        rc = note_change(tx, j->subject, j->now, e);
    if (rc == 0)
        rc = record(tx, j, 0, j->subject, "delete", "FamilyLink", j->target, NULL, e);
    if (rc == 0)
        rc = record(tx, j, 1, j->delegate, "delete", "FamilyLink", j->target, NULL, e);
    return rc;
}

static int answer_end(struct http_request *req, void *ctx)
{
    struct job *j = ctx;
    if (j->status != 0)
        return answer_failed(req, j, "no such family link");
    reindex(j->subject, j->api->store);
    http_set_header(req, "Cache-Control", "no-store");
    http_respond_json(req, 200,
                      json_pack("{s:s, s:s, s:s, s:o}", "id", j->target, "status", "ended",
                                "subject", j->subject, "ended_at", time_json(j->now)));
    return 0;
}

static int delete_link(struct http_request *req, void *ctx)
{
    struct family_api *api = ctx;
    int ok = 0;
    struct job *j = job_begin(req, api, OP_END, &ok);
    if (j == NULL)
        return ok;
    if ((j->target = path_id(req, "family link")) == NULL)
        return 0;
    return job_start(req, j, end_fn, answer_end);
}

int family_api_register(struct http_router *r, struct family_api *api, struct store *s)
{
    api->store = s;
    static const struct {
        const char *method, *pattern;
        http_handler fn;
    } routes[] = {
        {"GET", FAMILY, get_family},
        {"POST", FAMILY "/invitations", post_invitation},
        {"DELETE", FAMILY "/invitations/{id}", delete_invitation},
        {"POST", FAMILY "/accept", post_accept},
        {"PATCH", FAMILY "/links/{id}", patch_link},
        {"DELETE", FAMILY "/links/{id}", delete_link},
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof routes / sizeof routes[0]; i++)
        rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].fn, api);
    return rc;
}

int family_api_routes(struct http_router *r, struct store *s)
{
    static struct family_api api;
    return family_api_register(r, &api, s);
}
